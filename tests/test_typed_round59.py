"""Typed answers, round 59: a typed answer's JSON uses the schema's names (aliases); SUBMIT and FINAL send the values
Python holds that JSON lacks (dates, Decimal, UUID, Enum, sets) as JSON, at any depth; a sub-LM's JSON reply is
found in what models really write (any fence tag, prose with braces, trailing commas)."""

from __future__ import annotations

import datetime
import json

import pytest
from pydantic import BaseModel, Field

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from scripting import repl


def _said_after(lm: ScriptedLM, turn: int) -> str:
    return lm.calls[turn][-1]["content"] if len(lm.calls) > turn else ""


# --- Kind A: result.answer is JSON by alias, so the user's own model reads it back ---------------------------------


class Incident(BaseModel):
    owner: str
    opened_at: int = Field(alias="openedAt", ge=0)
    tags: list[str] = Field(default_factory=list, alias="tagList")


def test_a_typed_answer_with_aliases_round_trips_through_the_users_model() -> None:
    lm = ScriptedLM([repl("SUBMIT(owner='ana', openedAt=7, tagList=['db'])")])
    result = RLM(lm).completion("who?", context="log", output=Incident)
    assert result.status == "finished"
    assert Incident.model_validate_json(result.answer) == result.value


def test_a_pydantic_instance_made_in_the_repl_is_sent_by_its_aliases() -> None:
    # The REPL's own copy of the model dumped by field name: the host's model (aliases) found `openedAt` missing.
    code = (
        "from pydantic import BaseModel, Field\n"
        "class Incident(BaseModel):\n    owner: str\n    opened_at: int = Field(alias='openedAt')\n"
        "FINAL(Incident(owner='ana', openedAt=7))"
    )
    lm = ScriptedLM([repl(code), repl("SUBMIT(owner='x', openedAt=0)")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("who?", context="log", output=Incident)
    assert (result.iterations, result.value.opened_at) == (1, 7), _said_after(lm, 1)


# --- Kind B: values JSON lacks, nested anywhere, cross as JSON -------------------------------------------------------


class Shift(BaseModel):
    day: datetime.date
    starts: datetime.time
    logged: datetime.datetime
    ticket: str
    hours: float
    crew: list[str]
    level: int


class Roster(BaseModel):
    shifts: list[Shift]
    by_day: dict[str, int]


def test_dates_decimals_uuids_enums_and_sets_deep_in_a_submit_validate_first_time() -> None:
    code = (
        "import datetime, decimal, enum, uuid\n"
        "class Level(enum.Enum):\n    HIGH = 3\n"
        "d = datetime.date(2024, 3, 9)\n"
        "row = {'day': d, 'starts': datetime.time(8, 30), 'logged': datetime.datetime(2024, 3, 9, 17, 5),\n"
        "       'ticket': uuid.UUID(int=5), 'hours': decimal.Decimal('7.25'), 'crew': frozenset({'kim'}),\n"
        "       'level': Level.HIGH}\n"
        "SUBMIT(shifts=(row,), by_day={d: decimal.Decimal('1')})"
    )
    lm = ScriptedLM([repl(code), repl("SUBMIT(shifts=[], by_day={})")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("roster?", context="c", output=Roster)
    assert result.iterations == 1, _said_after(lm, 1)
    shift = result.value.shifts[0]
    assert (shift.day, shift.starts, shift.hours, shift.level) == (
        datetime.date(2024, 3, 9),
        datetime.time(8, 30),
        7.25,
        3,
    )
    assert shift.ticket == "00000000-0000-0000-0000-000000000005" and shift.crew == ["kim"]
    assert result.value.by_day == {"2024-03-09": 1}


def test_a_decimal_is_a_json_number_for_a_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"total": {"type": "number"}, "count": {"type": "integer"}},
        "required": ["total", "count"],
    }
    code = "from decimal import Decimal\nSUBMIT(total=Decimal('1.10') + Decimal('2.20'), count=Decimal('4.00'))"
    lm = ScriptedLM([repl(code), repl("SUBMIT(total=0, count=0)")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("sum?", context="c", output=schema)
    assert (result.iterations, result.value) == (1, {"total": 3.3, "count": 4}), _said_after(lm, 1)


def test_an_item_json_cannot_hold_is_refused_and_the_model_sees_what_it_sent() -> None:
    # Never its str() behind the schema's back (a `list[str]` would take "<re.Match object ...>"): the value is
    # refused, and the problem shows what the model sent
    class Ev(BaseModel):
        when: datetime.date
        what: str

    class Timeline(BaseModel):
        events: list[Ev]

    code = "class Stamp:\n    pass\nSUBMIT(events=[{'when': Stamp(), 'what': 'deploy'}])"
    lm = ScriptedLM([repl(code), repl("SUBMIT(events=[{'when': '2024-01-05', 'what': 'deploy'}])")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("when?", context="c", output=Timeline)
    said = _said_after(lm, 1)
    assert result.status == "finished" and result.iterations == 2 and "Stamp object" in said, said


class Emails(BaseModel):
    found: list[str]


def test_a_match_object_in_a_list_of_str_is_refused_not_read_as_its_repr() -> None:
    code = "import re\nSUBMIT(found=[re.search(r'\\S+@\\S+', 'mail a@x.org now')])"
    lm = ScriptedLM([repl(code), repl("SUBMIT(found=['a@x.org'])")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("emails?", context="c", output=Emails)
    assert (result.iterations, result.value) == (2, Emails(found=["a@x.org"])), _said_after(lm, 1)


def test_keys_that_would_become_one_refuse_the_value_and_sets_cross_sorted() -> None:
    counts = {"type": "object", "properties": {"by_day": {"type": "object"}, "tags": {"type": "array"}}}
    code = (
        "import datetime\nFINAL({'by_day': {datetime.date(2024, 1, 5): 3, '2024-01-05': 4}, 'tags': {'b', 'c', 'a'}})"
    )
    lm = ScriptedLM([repl(code), repl("FINAL({'by_day': {'2024-01-05': 7}, 'tags': {'b', 'c', 'a'}})")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("count?", context="c", output=counts)
    assert result.iterations == 2 and result.value == {"by_day": {"2024-01-05": 7}, "tags": ["a", "b", "c"]}
    mixed = ScriptedLM([repl("FINAL({'by_day': {}, 'tags': {'b', 2, 'a', 1}})")])
    result = RLM(mixed).completion("count?", context="c", output=counts)
    assert result.value["tags"] == [1, 2, "a", "b"]  # by kind, then text: the same from run to run


@pytest.mark.parametrize(
    ("literal", "sent"), [("Decimal('1E+400')", 10**400), ("Decimal('1E-400')", "1E-400")], ids=["huge", "tiny"]
)
def test_a_decimal_past_a_floats_range_is_exact_or_its_text_never_a_silent_zero(literal: str, sent: object) -> None:
    lm = ScriptedLM([repl(f"from decimal import Decimal\nFINAL([{literal}])")])
    result = RLM(lm).completion("q", context="c", output={"type": "array"})
    assert result.value == [sent]


# --- Kind C: a JSON reply in the shapes models write, through llm_query(schema=) over HTTP ---------------------------

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "capital": {"type": "boolean"}, "note": {"type": ["string", "null"]}},
    "required": ["city", "capital"],
}


def _sub_reply(reply: str) -> tuple[str, int]:
    """What the cell saw of llm_query(schema=CITY) when the sub-LM (a loopback server) replies `reply`, and how
    many times it was asked."""
    from fake_openai_server import Behaviour, FakeOpenAIServer
    from rlmx.lm import OpenAICompatibleLM

    ask = f"llm_query('Oslo?', schema={CITY!r})"
    code = f"try:\n    print('VALUE', {ask})\nexcept RuntimeError as e:\n    print('ERROR', e)"
    with FakeOpenAIServer(Behaviour(text=reply)) as server:
        sub = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=0)
        root = ScriptedLM([repl(code), "FINAL(done)"])
        RLM(root, sub_lm=sub).completion("q", context="c")
        return _said_after(root, 1), len(server.requests)


OSLO = "{'city': 'Oslo', 'capital': True, 'note': None}"


@pytest.mark.parametrize(
    "reply",
    [
        '{"city": "Oslo", "capital": true, "note": null}\n\nThe {note} field is for the {municipality}.',
        'Sure, here you go {as asked}: {"city": "Oslo", "capital": true, "note": null} -- done {really}.',
        'Answer:\n```JSON\n{"city": "Oslo", "capital": true, "note": null}\n```\nUses the {2023} data.',
        '``` json\n{"city": "Oslo", "capital": true, "note": null}\n```\n(see {ref})',
        '```Json5\n{"city": "Oslo", "capital": true, "note": null}\n```\n(see {ref})',
        '```jsonc\n{"city": "Oslo", "capital": true, "note": null,}\n```',
        '```json\n{\n  "city": "Oslo",\n  "capital": true,\n  "note": null,\n}\n```',
        'Here: {"city": "Oslo", "capital": true, "note": null, } and {that} is all',
    ],
    ids=["prose-after", "prose-around", "upper-fence", "spaced-tag", "json5", "jsonc-comma", "comma", "comma-prose"],
)
def test_a_sub_lms_json_is_found_in_what_models_write(reply: str) -> None:
    said, asked = _sub_reply(reply)
    assert f"VALUE {OSLO}" in said and asked == 1, said


def test_a_comma_inside_a_string_is_kept() -> None:
    said, _ = _sub_reply('{"city": "Oslo, ]", "capital": true, "note": "a,}",}')
    assert "VALUE {'city': 'Oslo, ]', 'capital': True, 'note': 'a,}'}" in said, said


def test_a_reply_with_no_json_is_told_so_not_quoted_whole_as_the_wrong_type() -> None:
    said, asked = _sub_reply("I could not find the population of {city}, sorry.")
    assert asked == 2 and "no JSON object found in the reply" in said and "is not of type" not in said, said


def test_the_roots_text_answer_is_read_the_same_way() -> None:
    answer = '```JSON\n{"city": "Oslo", "capital": true,}\n``` per the {2023} census'
    lm = ScriptedLM([repl(f"FINAL({answer!r})")])
    result = RLM(lm, budget=Budget(max_iterations=1)).completion("q", context="c", output=CITY)
    assert result.value == {"city": "Oslo", "capital": True}, (result.status, result.stop_reason)


@pytest.mark.parametrize(
    "reply",
    [
        'The list [1] was empty, so the answer is {"city": "Oslo", "capital": true, "note": null}',
        '```json\n{"city": "Bergen", "capital": true}\n```\nSorry, corrected:\n```json\n'
        '{"city": "Oslo", "capital": true, "note": null}\n```',
    ],
    ids=["list-in-prose-first", "corrected-block-last"],
)
def test_the_answers_json_is_read_not_a_value_before_it(reply: str) -> None:
    said, asked = _sub_reply(reply)
    assert f"VALUE {OSLO}" in said and asked == 1, said


@pytest.mark.parametrize(
    "reply",
    [
        'Format example: {"city": "Paris", "capital": true}. For Norway: {"city": "Oslo", "capital": true}',
        # cut, marked stop: its inner object alone fits the schema, and is no answer
        '{"city": "Oslo", "capital": true, "twin": {"city": "Bergen", "capital": false}, "note": "see',
    ],
    ids=["two-candidates", "cut-mid-json"],
)
def test_an_ambiguous_or_cut_reply_is_asked_again_not_guessed(reply: str) -> None:
    said, asked = _sub_reply(reply)
    assert asked == 2 and "VALUE" not in said, said


def test_a_text_answer_holding_json_is_taken_as_text_by_a_string_schema() -> None:
    answer = "The culprits are the users [1, 2] in build {7}."
    lm = ScriptedLM([repl(f"FINAL({answer!r})")])
    result = RLM(lm, budget=Budget(max_iterations=1)).completion("q", context="c", output={"type": "string"})
    assert (result.status, result.value) == ("finished", answer)


def test_prose_full_of_broken_json_is_read_in_linear_time() -> None:
    from rlmx.schema import parse_json_reply

    reply = '{"a": ' * 200 + "[" + ", ".join(["1"] * 100_000)  # 1 MB, cut mid-JSON: each start read to the end
    assert parse_json_reply(reply, default="none") == "none"


def test_nan_or_infinity_in_a_typed_answer_is_refused_not_written_as_invalid_json() -> None:
    # `{"avg": NaN}` reached result.answer and serve's `content`: Python reads it, JSON.parse throws
    stats = {"type": "object", "properties": {"avg": {"type": "number"}, "n": {"type": "integer"}}}
    for bad in ("{'avg': float('nan'), 'n': 0}", '\'{"avg": Infinity, "n": 0}\''):
        lm = ScriptedLM([repl(f"FINAL({bad})"), repl("FINAL({'avg': 0.0, 'n': 0})")])
        result = RLM(lm, budget=Budget(max_iterations=2)).completion("mean?", context="c", output=stats)
        said = _said_after(lm, 1)
        assert "avg: NaN or Infinity is no JSON number" in said, said
        assert result.iterations == 2 and json.loads(result.answer) == {"avg": 0.0, "n": 0}


def test_several_objects_in_a_text_answer_are_told_as_several_not_as_none() -> None:
    answer = 'Format: {"city": "Paris", "capital": true}. Answer: {"city": "Oslo", "capital": true}'
    lm = ScriptedLM([repl(f"FINAL({answer!r})"), repl("FINAL({'city': 'Oslo', 'capital': True})")])
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("q", context="c", output=CITY)
    said = _said_after(lm, 1)
    assert "holds 2 JSON objects and does not say which is the answer" in said and "no JSON" not in said, said
    assert result.value == {"city": "Oslo", "capital": True}
