"""Typed answers: an output schema described to the model, checked at the finish, fed back when wrong."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from rlmx import RLM, Budget, InputError
from rlmx.lm import Message, ScriptedLM
from scripting import last_user, repl, router


class Landing(BaseModel):
    mission: str = Field(description="mission name")
    year: int


async def test_wrong_type_gets_feedback_and_the_fixed_submit_passes() -> None:
    lm = ScriptedLM(
        [
            repl("SUBMIT(mission='Apollo 11', year='the late sixties')"),
            repl("SUBMIT(mission='Apollo 11', year=1969)"),
        ]
    )
    result = await RLM(lm).acompletion("Which mission landed first, and when?", context="...", output=Landing)
    feedback = last_user(lm.calls[1])
    assert "does not match the required format" in feedback and "year" in feedback
    assert isinstance(result.value, Landing) and result.value == Landing(mission="Apollo 11", year=1969)
    assert json.loads(result.answer) == {"mission": "Apollo 11", "year": 1969}
    assert (result.status, result.iterations) == ("finished", 2)


async def test_the_system_prompt_lists_the_fields() -> None:
    lm = ScriptedLM([repl("SUBMIT(mission='x', year=1)")])
    await RLM(lm).acompletion("q", context="c", output=Landing)
    system = lm.calls[0][0]["content"]
    assert "mission (string, required) - mission name" in system and "year (integer, required)" in system
    assert "SUBMIT(field=value" in system


async def test_json_schema_dict_with_final_dict_and_final_text() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}
    lm = ScriptedLM([repl("FINAL({'n': -1})"), 'FINAL({"n": 3})'])
    result = await RLM(lm).acompletion("q", context="c", output=schema)
    assert "n: -1 is less than the minimum of 0" in last_user(lm.calls[1])
    assert result.value == {"n": 3} and result.answer_source == "prose"


async def test_budget_exhausted_typed_run_keeps_a_valid_buffer_as_value() -> None:
    lm = ScriptedLM([repl("answer['content'] = {'mission': 'Luna 2', 'year': 1959}"), repl("print(1)")])
    result = await RLM(lm, budget=Budget(max_iterations=1)).acompletion("q", context="c", output=Landing)
    assert result.status == "budget_exhausted"
    assert result.value == Landing(mission="Luna 2", year=1959)


def test_a_bad_schema_is_refused_before_any_call() -> None:
    lm = ScriptedLM(["x"])
    with pytest.raises(InputError, match="not a valid JSON Schema"):
        RLM(lm).completion("q", context="c", output={"type": "nonsense"})
    with pytest.raises(InputError, match=r"pydantic\.BaseModel subclass or a JSON Schema dict"):
        RLM(lm).completion("q", context="c", output=int)  # type: ignore[arg-type]
    assert lm.calls == []


@pytest.mark.parametrize(
    "field_map",
    [
        {"city": "string", "population": "integer"},
        {"city": str, "population": int},
        {"type": "object", "city": "string"},  # fields beside the keywords, no "properties"
        {"name": "answer", "schema": {"type": "object"}, "strict": True},  # a chat API's wrapper
    ],
)
def test_a_dict_that_is_no_json_schema_is_refused_before_any_call(field_map: dict[str, object]) -> None:
    # jsonschema ignores unknown keywords, so a field map was a schema that every answer matched (a plain string
    # came back as the value), and Python types in it broke the system prompt with a TypeError mid-run.
    lm = ScriptedLM(["x"])
    with pytest.raises(InputError, match="is not a JSON Schema") as refused:
        RLM(lm).completion("q", context="c", output=field_map)
    assert lm.calls == []
    if "population" in field_map:
        assert '"properties": {"city": {"type": "string"}, "population": {"type": "integer"}}' in str(refused.value)


def test_schemas_with_annotations_and_vendor_keywords_are_still_taken() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T", "x-note": 1, "type": "integer"}
    result = RLM(ScriptedLM([repl("FINAL(42)")])).completion("q", context="c", output=schema)
    assert result.value == 42


@pytest.mark.parametrize(
    "extra",
    [
        {"propertyOrdering": ["city", "population"]},  # Gemini's
        {"example": {"city": "Oslo", "population": 709000}},  # OpenAPI's, from pydantic's json_schema_extra
        {"id": "https://example.com/city.json"},  # draft-04's $id
    ],
)
def test_a_schema_with_keys_json_schema_ignores_is_taken(extra: dict[str, object]) -> None:
    # a valid schema with one vendor key was refused as a field map, its own keywords offered back as fields
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], **extra}
    result = RLM(ScriptedLM([repl("FINAL({'city': 'Oslo'})")])).completion("q", context="c", output=schema)
    assert result.value == {"city": "Oslo"}


def test_openais_response_format_object_is_told_which_part_is_the_schema() -> None:
    wrapper = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}}
    with pytest.raises(InputError, match=r'pass its "json_schema"\."schema" value'):
        RLM(ScriptedLM(["x"])).completion("q", context="c", output=wrapper)


async def test_llm_query_with_a_schema_returns_the_validated_value() -> None:
    replies = iter(['{"city": "Oslo"', 'Sure! ```json\n{"city": "Oslo", "population": 709000}\n```'])

    def sub(messages: list[Message]) -> str:
        return next(replies)

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    root = [repl(f"info = llm_query('Capital of Norway?', schema={schema!r})\nFINAL(info['population'])")]
    lm = ScriptedLM(router(root=root, sub=sub))
    result = await RLM(lm).acompletion("q", context="c")
    assert result.answer == "709000"
    sub_prompts = [c[0]["content"] for c in lm.calls if len(c) == 1]
    assert "matches this JSON Schema" in sub_prompts[0] and "did not match the schema" in sub_prompts[1]


async def test_llm_query_batched_with_a_schema_fails_only_the_bad_items() -> None:
    def sub(messages: list[Message]) -> str:
        return '{"ok": true}' if "good" in messages[0]["content"] else "no json here"

    schema = {"type": "object", "required": ["ok"]}
    root = [repl(f"FINAL(llm_query_batched(['good', 'bad'], schema={schema!r}))")]
    result = await RLM(ScriptedLM(router(root=root, sub=sub))).acompletion("q", context="c")
    good, bad = json.loads(result.answer)
    assert good == {"ok": True} and bad.startswith("Error: the sub-LM's reply did not match the schema")
    # the mismatch, not the retry's words meant for the sub-LM ("Reply again with only the JSON value")
    assert "no JSON object found" in bad and "Reply again" not in bad


async def test_a_prose_final_holding_a_python_dict_is_that_dict() -> None:
    lm = ScriptedLM(["FINAL({'mission': 'Apollo 11', 'year': 1969})"])
    result = await RLM(lm).acompletion("Which mission, and when?", context="...", output=Landing)
    assert result.value == Landing(mission="Apollo 11", year=1969) and result.iterations == 1


def test_a_typed_answer_with_the_guided_root_is_refused_before_any_call() -> None:
    # The CLI and serve refused this up front; the Python API ran it to a failed run whose stop reason quoted
    # rlmx's own turn prompt as "the REPL failed".
    from rlmx.lm import GuidedRoot

    class Code(BaseModel):
        code: str

    reader = ScriptedLM(["7391"] * 4)
    rlm = RLM(GuidedRoot(reader))
    with pytest.raises(InputError, match="output= needs a model that writes its own code"):
        rlm.completion("What is the code?", context="The code is 7391.", output=Code)
    with rlm.session(context="The code is 7391.") as session, pytest.raises(InputError, match="guided root"):
        session.ask("What is the code?", output={"type": "string"})
    assert reader.calls == []
