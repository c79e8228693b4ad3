"""The guided root's cells on the host (they are plain functions), and the root through the engine with a
scripted reader: units and locations, ranking, verification, counting, honest answers and honest failures."""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.errors import LMError
from rlmx.lm import GuidedRoot, Message, ScriptedLM
from rlmx.lm.base import Completion, Usage
from rlmx.lm.guided_cells import (
    NOT_FOUND,
    Index,
    _paragraph,
    build_index,
    collect_sources,
    count_answer,
    detect_shape,
    expected_type,
    guided_answer,
    rank,
    salient_terms,
    search_terms,
    setting_value,
    split_units,
    subject_term,
    unnamed_attribute,
    verified_span,
)

SCRIPTURE = "\n".join(
    ["Genesis 1", ""]
    + [f"  {n} And the filler verse number {n} spoke of fields and rivers." for n in range(1, 30)]
    + ["", "Genesis 2", "", "  1 Thus the heavens and the earth were finished,", "and all the host of them."]
    + [f"  {n} Another verse {n} about the garden and the trees." for n in range(2, 25)]
    + ["  25 And Methuselah lived nine hundred sixty and nine years, and begat Lamech."]
)
GLOSSARY = "\n\n".join(
    f"   :{name}: n.\n\n   {body}"
    for name, body in [(f"word{n}", f"A filler definition number {n} about computers.") for n in range(30)]
    + [
        ("quux", "A metasyntactic variable, after foo and bar, invented by Guy Steele."),
        ("quine", "A program that prints its own source code."),
        ("kludge", "A clever but clumsy fix."),
    ]
)
RECORDS = "\n".join(
    [f"{0x41 + n:04X};LATIN CAPITAL LETTER {chr(0x41 + n)};Lu;0;L;;;;;N;;;;{0x61 + n:04X};" for n in range(26)]
    + ["00DF;LATIN SMALL LETTER SHARP S;Ll;0;L;;;;;N;;;1E9E;;1E9E", "0020;SPACE;Zs;0;WS;;;;;N;;;;;"]
)
MANUAL = (
    "Configuration\n=============\n\nThe server reads its settings at start.\n\n"
    "Timeouts\n--------\n\nThe default request timeout is 45 seconds. The idle timeout is longer.\n\n"
    + "\n\n".join(f"Filler paragraph {n} about logging and rotation of files." for n in range(30))
)


def state_of(text: str) -> dict[str, Any]:
    return build_index([("context", text)])


def never(prompts: list[str]) -> list[str]:
    raise AssertionError(f"no sub-call expected, got {len(prompts)}")


@pytest.mark.parametrize(
    ("text", "shape"), [(SCRIPTURE, "verses"), (GLOSSARY, "entries"), (RECORDS, "records"), (MANUAL, "paragraphs")]
)
def test_the_shape_of_the_text_is_recognised(text: str, shape: str) -> None:
    assert detect_shape(text) == shape


def test_units_keep_their_locations() -> None:
    verses, _ = split_units([("bible", SCRIPTURE)])
    first = next(u for u in verses if u["name"] == "Genesis 2:1")
    assert first["text"] == "Thus the heavens and the earth were finished, and all the host of them."  # wrapped line
    assert first["line"] == 35 and first["where"].startswith("Genesis 2:1")
    entries, _ = split_units([("jargon", GLOSSARY)])
    assert any(u["name"] == "quux" and "Guy Steele" in u["text"] and u["kind"] == "entry" for u in entries)
    records, _ = split_units([("ucd", RECORDS)])
    sharp = next(u for u in records if "SHARP S" in u["text"])
    assert (sharp["name"], sharp["line"], sharp["kind"]) == ("00DF", 27, "line")
    paragraphs, _ = split_units([("manual", MANUAL)])
    timeout = next(u for u in paragraphs if "45 seconds" in u["text"])
    assert timeout["name"] == "Timeouts" and "under 'Timeouts'" in timeout["where"]


def test_several_sources_name_their_file_in_the_location() -> None:
    units, _ = split_units([("a.txt", "alpha\n\nbeta"), ("b.txt", "gamma")])
    assert [u["where"] for u in units] == ["a.txt, line 1", "a.txt, line 3", "b.txt, line 1"]


def test_ranking_stems_words_and_prefers_the_unit_holding_the_rare_terms() -> None:
    state = state_of(MANUAL)
    best = rank(state, search_terms("What is the default timeout of requests?"))[0]
    assert "45 seconds" in best["text"] and best["cover"] == 1.0  # "requests" matched "request"


def test_a_bm25_of_its_own_ranks_alike_when_sqlite_has_no_fts5(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fts5(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("no such module: fts5")

    monkeypatch.setattr(sqlite3, "connect", no_fts5)
    units, _ = split_units([("manual", MANUAL)])
    index = Index(units)
    assert index.engine == "bm25-python"
    row, _ = index.search(["timeouts", "request"])[0]
    assert "45 seconds" in units[row]["text"]


def test_questions_in_other_scripts_find_their_terms() -> None:
    assert search_terms("Wie lautet der Startcode für das Projekt Aurora?") == [
        "lautet",
        "startcode",
        "projekt",
        "aurora",
    ]
    assert "发射" in search_terms("奥罗拉项目的发射代码是什么？")
    state = state_of("Der Bericht.\n\nDer Startcode für das Projekt Aurora lautet 7391-KESTREL.\n\nEnde.")
    assert "7391" in rank(state, search_terms("Wie lautet der Startcode für Aurora?"))[0]["text"]
    chinese = state_of("天气很好。\n\n奥罗拉项目的发射代码是7391。\n\n会议在周一。")
    assert "7391" in rank(chinese, search_terms("奥罗拉项目的发射代码是什么？"))[0]["text"]


UNIT = {"name": "Genesis 5:27", "text": "And all the days of Methuselah were nine hundred sixty and nine years."}
FREQUENT = {"and", "the", "lord", "god"}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Nine hundred sixty and nine years.", "nine hundred sixty and nine years"),
        ("Methuselah", None),  # a word of the question
        ("The LORD", None),  # a frequent word of the text
        ("He lived 969 years.", None),  # not in the unit
        # a copy of the verse: what it adds to the question, of the question's type (a number)
        ("And all the days of Methuselah were nine hundred sixty and nine years.", "nine hundred sixty and nine years"),
        ("NOT FOUND", None),
        ("Error: budget exhausted", None),
    ],
)
def test_a_reply_counts_only_as_a_fitting_span_of_its_unit(reply: str, expected: str | None) -> None:
    span = verified_span(reply, UNIT, "How old was Methuselah when he died?", FREQUENT)
    assert (span.lower() if span else None) == expected


def test_a_copied_passage_is_no_answer_to_a_what_question() -> None:
    unit = {
        "name": "",
        "text": "Another feature of the system was a digital clock on the dispatch board, a wonder then.",
    }
    copy = "Another feature of the system was a digital clock on the dispatch board, a wonder then."
    assert verified_span(copy, unit, "What does the system feature?", set()) is None
    assert verified_span("a digital clock", unit, "What does the system feature?", set()) == "digital clock"


def test_hex_prefixes_and_record_fields() -> None:
    record = {"name": "2603", "text": "2603;SNOWMAN;So;0;ON;;;;;N;;;;;", "kind": "line"}
    question = "What is the code point of SNOWMAN?"
    frequent = {"0", "on", "n"}  # as in the whole character table
    assert verified_span("The code point of SNOWMAN is 0x2603.", record, question, frequent) == "2603"
    assert verified_span("SNOWMAN;So;0;ON;;;;N;;;;", record, question, frequent) is None  # a copy of the line
    assert verified_span("It is SNOWMAN So", record, "What is the name of 2603?", frequent) == "SNOWMAN"
    assert verified_span("OWMA", record, question, frequent) is None  # inside a field


def test_part_of_a_compound_of_the_question_is_no_answer() -> None:
    unit = {"name": "", "text": "The launch code for the Aurora project is 7391-KESTREL."}
    question = "Wie lautet der Startcode des Aurora-Projekts?"
    assert verified_span("code", unit, question, set()) is None
    assert verified_span("Der Code ist 7391-KESTREL", unit, question, set()) == "7391-KESTREL"


def test_the_answer_must_fit_the_question_type() -> None:
    unit = {"name": "", "text": "The quux variable was invented by Guy Steele at the lab."}
    assert verified_span("Guy Steele", unit, "Who invented quux?", set()) == "Guy Steele"
    assert verified_span("the lab", unit, "Who invented quux?", set()) is None  # "who" wants a name
    assert verified_span("the lab", unit, "How many labs invented quux?", set()) is None  # a number


VOYAGE = {
    "name": "",
    "text": "The crew waited three weeks in port, then sailed for eleven days and eleven nights to the island.",
}
RELEASES = {"name": "", "text": "Format version 2 was introduced in release 6.2. It added compression."}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("eleven", "eleven"),  # beside "days and nights", which the question asks about
        ("eleven days and eleven nights", "eleven"),
        ("three", None),  # a number of the unit, but beside "weeks in port": not what the question counts
    ],
)
def test_a_how_many_answer_is_the_number_the_unit_places_beside_what_is_asked(reply: str, expected: str | None) -> None:
    assert verified_span(reply, VOYAGE, "How many days and nights did they sail to the island?", set()) == expected


def test_two_numbers_placed_alike_give_no_short_answer() -> None:
    unit = {"name": "", "text": "Ann keeps 3 cats and Bob keeps 5 cats."}
    assert verified_span("3", unit, "How many cats are kept?", set()) is None  # each beside "cats" alone


def test_a_part_of_a_longer_number_is_answered_as_the_unit_writes_it_or_not_at_all() -> None:
    question = "In which release was format version 2 introduced?"
    assert verified_span("6", RELEASES, question, set()) == "6.2"  # the unit's only number holding "6"
    assert verified_span("release 6.2", RELEASES, question, set()) == "6.2"
    both = {"name": "", "text": "It shipped in 6.2 and was fixed in 6.4."}
    assert verified_span("6", both, "In which release was it fixed?", set()) is None  # 6.2 or 6.4


def test_a_one_digit_number_in_the_question_must_be_in_the_unit_that_answers() -> None:
    text = "\n\n".join(
        [
            "Format version 1 was introduced in release 5.0. It was plain text.",
            "Format version 2 was introduced in release 6.2. It added compression.",
            "Format version 3 was introduced in release 7.1. It added checksums.",
        ]
        + [f"Filler paragraph {n} about logging and rotation." for n in range(20)]
    )
    question = "In which release was format version 3 introduced?"
    assert "3" in search_terms(question)
    best = rank(state_of(text), search_terms(question), salient=["3"])[0]
    assert "release 7.1" in best["text"]


FORTUNES = "\n%\n".join(
    [f"Filler saying number {n} about patience and\nthe weather in spring." for n in range(12)]
    + [
        "A banker is a fellow who lends you his umbrella\nwhen the sun is shining.\n\t\t-- Mark Twain",
        "Q: What do you call a sleeping bull?\nA: A bulldozer.\n"
        "Q: What do you call a cow with no legs?\nA: Ground beef.",
    ]
)
OUTLINE = "\n".join(
    ["# vendors and their devices", "# (an outline: devices are indented under their vendor)"]
    + [line for v in range(30) for line in (f"{v:04x}  Vendor Number {v} Inc", f"\t{v:04x}  Widget {v} basic")]
    + ["10de  NVIDIA Corporation", "\t2684  AD102 [GeForce RTX 4090]", "\t2704  AD103 [GeForce RTX 4080]"]
)


def test_entries_between_percent_lines_are_units_with_their_attribution() -> None:
    state = state_of(FORTUNES)
    assert state["shapes"] == ["separated"]
    quote = next(u for u in state["units"] if "umbrella" in u["text"])
    assert quote["text"].endswith("-- Mark Twain") and quote["where"] == "entry 13 (line 37)"
    assert count_answer(state, "How many entries are there?") == (
        "14\nCounted: entries of the text (units of kind 'entry')."
    )


def test_an_indented_line_carries_the_lines_it_sits_under() -> None:
    state = state_of(OUTLINE)
    device = next(u for u in state["units"] if u["text"].startswith("2684"))
    assert device["name"] == "10de NVIDIA Corporation"
    assert device["where"] == "line 64 (2684, under '10de NVIDIA Corporation')"
    terms = search_terms("What is NVIDIA device 2684?")
    assert rank(state, terms, salient=["nvidia", "2684"])[0]["text"] == "2684 AD102 [GeForce RTX 4090]"


def test_an_abbreviation_for_the_kind_of_value_asked_is_not_a_name_the_answer_needs() -> None:
    question = "Which vendor has the ID 10de?"
    assert salient_terms(question, search_terms(question)) == ["10de"]


@pytest.mark.parametrize(
    ("reply", "text", "question", "expected"),
    [
        (
            "'/usr/local'",
            "The default prefix should be /usr/local when building.",
            "What should the prefix be?",
            "/usr/local",
        ),
        (
            "LCK..ttyS0",
            "To lock /dev/ttyS0 the file LCK..ttyS0 is created.",
            "Which file locks /dev/ttyS0?",
            "LCK..ttyS0",
        ),
        ("the libc6-dev package", "Install libc6-dev to build programs.", "What do you install to build?", "libc6-dev"),
        (
            'The gid of 65534 is "nobody"',
            'Uid 65534: user "nobody", with no files.',
            "Which user has uid 65534?",
            "nobody",
        ),
    ],
)
def test_an_identifier_or_path_is_answered_whole_and_a_quoted_reply_is_what_it_answers(
    reply: str, text: str, question: str, expected: str
) -> None:
    assert verified_span(reply, {"name": "", "text": text}, question, set()) == expected


def test_a_label_number_is_no_count_and_an_answer_sits_by_what_is_asked() -> None:
    label = {"name": "", "text": "FORTUNE PROVIDES QUESTIONS FOR THE GREAT ANSWERS: #13"}
    assert verified_span("13", label, "How many fortunes are there?", set()) is None
    riddles = {"name": "", "text": FORTUNES.rsplit("%\n", 1)[1].replace("\n", " ")}
    question = "What do you call a sleeping bull?"
    assert verified_span("Ground beef.", riddles, question, set()) is None  # the other riddle's answer
    assert verified_span("A bulldozer.", riddles, question, set()) == "bulldozer"


def test_a_verified_answer_comes_with_its_unit_and_location() -> None:
    state = state_of(SCRIPTURE)
    prompts_seen: list[str] = []

    def reader(prompts: list[str]) -> list[str]:
        prompts_seen.extend(prompts)
        return ["nine hundred sixty and nine years" if "Methuselah" in p else "NOT FOUND" for p in prompts]

    result = guided_answer(state, "How many years did Methuselah live?", reader)
    assert result["kind"] == "answer"
    first, source = result["answer"].split("\n", 1)
    assert first == "nine hundred sixty and nine"  # "years" is a word of the question
    assert source.startswith("From [Genesis 2:25 (line 60)]") and "begat Lamech" in source
    assert prompts_seen[0].index("Text:") < prompts_seen[0].index("Question:")  # text first
    assert len(prompts_seen) == len(set(prompts_seen))
    assert "phase search" in result["report"] and "phase read" in result["report"]


def test_two_readings_that_disagree_give_no_short_answer() -> None:
    state = state_of(SCRIPTURE)

    def reader(prompts: list[str]) -> list[str]:
        return ["Lamech" if p.startswith("Read") else "nine hundred sixty" for p in prompts]

    result = guided_answer(state, "What did Methuselah beget?", reader)
    assert result["kind"] == "evidence" and "disagree" in result["report"]


def test_without_a_verified_reply_the_best_units_are_quoted_and_labelled() -> None:
    state = state_of(SCRIPTURE)
    result = guided_answer(state, "How many years did Methuselah live?", lambda ps: ["The LORD"] * len(ps))
    assert result["kind"] == "evidence"
    assert result["answer"].startswith("No short answer could be verified. The best matching passages:")
    assert "[Genesis 2:25 (line 60)] And Methuselah lived nine hundred" in result["answer"]


def test_an_absent_fact_is_not_found_without_reading() -> None:
    state = state_of(SCRIPTURE)
    assert guided_answer(state, "Who was the king of Norway in 1905?", never)["answer"] == NOT_FOUND


def test_a_tiny_context_is_read_once_in_each_wording() -> None:
    state = state_of("The launch code for the Aurora project is 7391-KESTREL.")
    calls: list[list[str]] = []

    def reader(prompts: list[str]) -> list[str]:
        calls.append(prompts)
        return ["7391-KESTREL"] * len(prompts)

    result = guided_answer(state, "What is the launch code for the Aurora project?", reader)
    assert result["answer"].split("\n")[0] == "7391-KESTREL"
    assert [len(c) for c in calls] == [2] and len(set(calls[0])) == 2  # two wordings, no repeated sub-call


@pytest.mark.parametrize(
    ("text", "question", "count", "says"),
    [
        (SCRIPTURE, "How many times does the word 'garden' occur?", "23", "whole-word, case-insensitive"),
        (SCRIPTURE, "How often does Methuselah appear?", "1", "'Methuselah'"),
        (SCRIPTURE, "How many verses mention rivers?", "29", "verses whose text holds 'rivers'"),
        (SCRIPTURE, "How many verses are there?", "54", "verses"),
        (GLOSSARY, "How many entries begin with Q?", "2", "whose name begins with 'Q'"),
        (GLOSSARY, "How many entries are in the lexicon?", "33", "entries"),
        (RECORDS, "How many lines contain Lu?", "26", "lines holding 'Lu'"),
        (SCRIPTURE, "Which chapter mentions garden the most?", "Genesis 2", "per chapter"),
    ],
)
def test_counting_questions_are_answered_by_code(text: str, question: str, count: str, says: str) -> None:
    result = guided_answer(state_of(text), question, never)
    first, detail = result["answer"].split("\n", 1)
    assert (result["kind"], first) == ("count", count)
    assert says in detail


def test_listing_names_the_units() -> None:
    answer = count_answer(state_of(GLOSSARY), "List the entries that begin with qu")
    assert answer is not None and answer.startswith("2 entries") and "- quux" in answer and "- quine" in answer


def test_a_lookup_that_says_how_many_is_not_a_count() -> None:
    assert count_answer(state_of(SCRIPTURE), "How many years did Methuselah live?") is None


# --- through the engine ------------------------------------------------------------------------------------


def reader_of(answer: str) -> ScriptedLM:
    def reply(messages: list[Message]) -> str:
        return answer if "7391-KESTREL" in messages[0]["content"] else "NOT FOUND"

    return ScriptedLM(reply, model="reader")


TEXT = "\n\n".join(
    ["Quarterly notes on the harbour works and the weather." for _ in range(200)]
    + ["The launch code for the Aurora project is 7391-KESTREL."]
    + ["More notes on supplies, crews and timetables." for _ in range(200)]
)


async def test_guided_root_answers_through_the_engine_with_the_source() -> None:
    root = GuidedRoot(reader_of("7391-KESTREL"))
    result = await RLM(root, sub_lm=root.reader).acompletion(
        "What is the launch code for the Aurora project? 🚀", context=TEXT
    )
    assert result.status == "finished"
    assert result.answer.split("\n")[0] == "7391-KESTREL"
    assert "line 401" in result.answer
    assert (result.iterations, result.usage.sub.calls) == (2, 2)


async def test_a_guided_cell_that_fails_ends_the_run_with_an_error() -> None:
    root = GuidedRoot(reader_of("7391-KESTREL"), reads="three")  # type: ignore[arg-type]  # crashes the cell
    result = await RLM(root, sub_lm=root.reader).acompletion("What is the launch code?", context=TEXT)
    assert result.status == "error"
    assert "guided root's cell to answer failed" in result.stop_reason and "TypeError" in result.stop_reason
    assert NOT_FOUND not in result.answer


async def test_a_failed_index_cell_ends_the_run_before_any_reading() -> None:
    class BrokenIndex(GuidedRoot):
        def _index(self) -> str:
            return "```repl\nraise MemoryError('the text did not fit')\n```"

    sub = reader_of("7391-KESTREL")
    root = BrokenIndex(sub)
    result = await RLM(root, sub_lm=root.reader).acompletion("What is the launch code?", context=TEXT)
    assert result.status == "error" and result.iterations == 2
    assert "cell to index the context failed: MemoryError: the text did not fit" in result.stop_reason
    assert sub.calls == []


async def test_a_reader_that_always_fails_makes_the_run_fail() -> None:
    broken = ScriptedLM(lambda messages: LMError("llama.cpp could not load /etc/passwd"), model="local:passwd")
    root = GuidedRoot(broken)
    result = await RLM(root, sub_lm=root.reader).acompletion("What is the launch code for Aurora?", context=TEXT)
    assert result.status == "error"
    assert "every sub-call failed" in result.stop_reason and "could not load" in result.stop_reason


async def test_a_local_reader_gets_a_short_reply_budget() -> None:
    seen: list[dict[str, Any]] = []

    class Recorder:
        model = "local:tiny"

        async def complete(self, messages: Any, **params: Any) -> Any:
            seen.append(params)
            return await ScriptedLM(["ok"]).complete(messages)

    root = GuidedRoot(Recorder())
    await root.reader.complete([{"role": "user", "content": "hi"}], max_tokens=4096)
    await root.reader.complete([{"role": "user", "content": "hi"}])
    assert [p["max_tokens"] for p in seen] == [32, 32]


class WordCapped:
    """A local reader that stops at `max_tokens` words, with llama.cpp's finish_reason "length" when it stops."""

    model = "local:words"
    max_tokens = 256

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def complete(self, messages: Any, **params: Any) -> Completion:
        cap, words = int(params["max_tokens"]), re.findall(r"\S+\s*", self.reply)
        text, cut = "".join(words[:cap]).rstrip(), len(words) > cap
        return Completion(text, Usage(50, min(len(words), cap)), self.model, "length" if cut else "stop")


@pytest.mark.parametrize("per_call", [None, 3])
async def test_a_reading_cut_at_a_cap_the_user_set_says_so_one_cut_at_the_readers_own_does_not(
    per_call: int | None,
) -> None:
    # --max-tokens-per-call 4 cut both readings to "The launch code for": the answer said only that nothing could be
    # verified (LocalLM dropped llama.cpp's finish_reason); the reader's own cap of 32 is its design, not a cut.
    verbose = "The code is 7391-KESTREL.\n" + "As the report says, " * 20
    root = GuidedRoot(WordCapped(verbose))
    budget = Budget(max_tokens_per_call=per_call, max_tokens=100_000) if per_call else None
    result = await RLM(root, sub_lm=root.reader, budget=budget).acompletion(
        "What is the launch code for the Aurora project?", context=TEXT
    )
    if per_call is None:
        assert result.answer.split("\n")[0] == "7391-KESTREL"
    else:
        assert result.answer.startswith(
            "No short answer could be verified (the readings were cut short at the output cap per call: raise "
            "--max-tokens-per-call (Budget.max_tokens_per_call))"
        )
        assert "7391-KESTREL" in result.answer  # the passage, quoted


# --- structured contexts: one unit per record --------------------------------------------------------------

TEAM = [
    {"name": "Maria Lindqvist", "role": "goalkeeper", "team": "Blue Herons"},
    {"name": "Tom Berg", "role": "striker", "team": "Blue Herons"},
]
CSV_TEXT = "name,role,team\nMaria Lindqvist,goalkeeper,Blue Herons\nTom Berg,striker,Blue Herons\n"
GOALKEEPER = "Who is the goalkeeper of the Blue Herons?"


def naming(answer: str) -> ScriptedLM:
    return ScriptedLM(lambda messages: answer, model="reader")


@pytest.mark.parametrize(
    ("context", "where"),
    [
        (TEAM, "[record 1 (Maria Lindqvist)]"),
        ({"players": TEAM, "league": "North"}, "['players'][0]"),
        (CSV_TEXT, "[line 2 (Maria Lindqvist)]"),
        (CSV_TEXT.replace(",", "\t"), "[line 2 (Maria Lindqvist)]"),
        (
            '{"name": "Maria Lindqvist", "role": "goalkeeper", "team": "Blue Herons"}\n'
            '{"name": "Tom Berg", "role": "striker", "team": "Blue Herons"}',
            "[line 1 (Maria Lindqvist)]",
        ),
        ("Team notes for the season.\n\n" + CSV_TEXT + "\nThe season starts in May.", "[line 4 (Maria"),
    ],
    ids=["list-of-dicts", "json-object", "csv-text", "tsv-text", "jsonl-text", "table-in-prose"],
)
async def test_a_table_is_one_unit_per_record_and_another_record_is_no_answer(context: Any, where: str) -> None:
    # a reader that names the wrong player: the name is in the table, but not in the record that matches
    root = GuidedRoot(naming("Tom Berg"))
    wrong = await RLM(root, sub_lm=root.reader).acompletion(GOALKEEPER, context=context)
    assert wrong.status == "finished"
    assert wrong.answer.startswith("No short answer could be verified") and where in wrong.answer
    root = GuidedRoot(naming("Maria Lindqvist"))
    right = await RLM(root, sub_lm=root.reader).acompletion(GOALKEEPER, context=context)
    first, source = right.answer.split("\n", 1)
    assert first == "Maria Lindqvist" and source.startswith("From ") and where in source
    assert "Tom Berg" not in source.split("\n")[0]  # the quoted unit is Maria's record alone


async def test_a_column_name_is_no_answer_from_a_piped_table() -> None:
    root = GuidedRoot(naming("city"))
    text = "name,city\nMaria Lindqvist,Oslo\nTom Berg,Bergen"
    result = await RLM(root, sub_lm=root.reader).acompletion("Which city does Maria Lindqvist live in?", context=text)
    assert not result.answer.startswith("city")
    assert "[line 2 (Maria Lindqvist)] name: Maria Lindqvist; city: Oslo" in result.answer


async def test_a_csv_file_says_record_numbers_not_file_lines(tmp_path: Any) -> None:
    rows = [f"Player {n:03d},{'goalkeeper' if n == 43 else 'defender'},Club {n:03d}" for n in range(1, 201)]
    rows[42] = "Player 043,goalkeeper,Blue Herons"
    path = tmp_path / "squad.csv"
    path.write_text("name,role,team\n" + "\n".join(rows) + "\n")
    root = GuidedRoot(naming("Player 043"))  # a name that is not in the question
    result = await RLM(root, sub_lm=root.reader).acompletion(GOALKEEPER, context=path)
    first, source = result.answer.split("\n", 1)
    assert first == "Player 043"
    assert source.startswith("From [record 43 (Player 043)] name: Player 043; role: goalkeeper")  # file line 44


def test_records_count_as_lines_of_the_table() -> None:
    state = build_index(collect_sources({"context": TEAM}))
    assert [u["where"] for u in state["units"]] == ["record 1 (Maria Lindqvist)", "record 2 (Tom Berg)"]
    assert count_answer(state, "How many records contain Blue Herons?") is not None
    assert (count_answer(state, "How many rows are there?") or "").startswith("2\n")


# --- tiers and budgets -------------------------------------------------------------------------------------


async def test_the_index_answers_when_cells_run_on_other_threads() -> None:
    root = GuidedRoot(reader_of("7391-KESTREL"))
    for _ in range(3):  # the inprocess tier runs each cell on a worker thread of its own choosing
        result = await RLM(root, sub_lm=root.reader, sandbox="inprocess").acompletion(
            "What is the launch code for the Aurora project?", context=TEXT
        )
        assert (result.status, result.answer.split("\n")[0]) == ("finished", "7391-KESTREL")


def test_the_index_serves_a_thread_other_than_its_builder() -> None:
    index = Index(split_units([("manual", MANUAL)])[0])
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(index.search(["timeouts", "request"])))
    worker.start()
    worker.join()
    assert found and "45 seconds" in index.units[found[0][0][0]]["text"]


@pytest.mark.parametrize("allowed", [0, 1])
async def test_a_subcall_budget_that_stops_the_reading_ends_as_budget_exhausted_with_the_evidence(
    allowed: int,
) -> None:
    root = GuidedRoot(reader_of("7391-KESTREL"))
    result = await RLM(root, sub_lm=root.reader, budget=Budget(max_subcalls=allowed)).acompletion(
        "What is the launch code for the Aurora project?", context=TEXT
    )
    assert result.status == "budget_exhausted" and "sub-call budget" in result.stop_reason
    assert "Work with" not in result.stop_reason  # the engine's advice to a model is no reason for a user
    assert result.answer.startswith("No short answer could be verified (the budget refused the reading)")
    assert "[line 401] The launch code for the Aurora project is 7391-KESTREL." in result.answer


async def test_counting_needs_no_subcall_budget() -> None:
    root = GuidedRoot(reader_of("7391-KESTREL"))
    result = await RLM(root, sub_lm=root.reader, budget=Budget(max_subcalls=0)).acompletion(
        "How many times does the word 'harbour' occur?", context=TEXT
    )
    assert (result.status, result.answer.split("\n")[0]) == ("finished", "200")


@pytest.mark.parametrize(
    ("context", "where"),
    [
        (
            ["Maria Lindqvist keeps goal for the Blue Herons.", "Tom Berg plays striker for the Blue Herons."],
            "record 1",
        ),
        ("Squad notes.\n\n- Maria Lindqvist: goalkeeper, Blue Herons\n- Tom Berg: striker, Blue Herons\n", "line 3"),
    ],
    ids=["list-of-strings", "bulleted-list"],
)
async def test_items_of_a_list_are_units_of_their_own(context: Any, where: str) -> None:
    for name, verified in (("Tom Berg", False), ("Maria Lindqvist", True)):
        root = GuidedRoot(naming(name))
        result = await RLM(root, sub_lm=root.reader).acompletion("Who keeps goal for the Blue Herons?", context=context)
        first, quoted = result.answer.split("\n", 2)[:2]
        assert (first == "Maria Lindqvist") is verified
        assert quoted.startswith(("From [" + where, "[" + where)) and "Tom Berg" not in quoted


def test_pages_of_a_document_are_sources_with_their_index() -> None:
    pages = ["Intro page. " * 60, "Chapter one.\n\nThe launch code for the Aurora project is 7391-KESTREL."]
    state = build_index(collect_sources({"context": pages}))
    best = rank(state, search_terms("What is the launch code for the Aurora project?"))[0]
    assert best["where"] == "context[1], line 3"


RELEASES_CSV = "version,codename,series,release\n" + "\n".join(
    [
        "12.04 LTS,Precise Pangolin,precise,2012-04-26",
        "13.04,Raring Ringtail,raring,2013-04-25",
        "14.04 LTS,Trusty Tahr,trusty,2014-04-17",
        "24.04 LTS,Noble Numbat,noble,2024-04-25",
    ]
)
CHANGELOG = "\n".join(
    [
        "hello (2.1-1) unstable; urgency=medium",
        "",
        "  [ Ann Author ]",
        "  * New upstream release.",
        "  * Fix the greeting when LANG is unset, which printed",
        "    nothing at all.",
        "",
        " -- Maria Maintainer <maria@example.org>  Tue, 03 Mar 2026 10:00:00 +0100",
        "",
    ]
    + [
        line
        for n in range(20, 0, -1)
        for line in (
            f"hello (1.{n}-1) unstable; urgency=low",
            "",
            f"  * Upload number {n} with small fixes.",
            "",
            f" -- Other Person <other@example.org>  Mon, 0{n % 9 + 1} Jan 2024 09:00:00 +0000",
            "",
        )
    ]
)


def test_a_version_in_the_question_is_one_term_never_its_pieces_in_dates() -> None:
    question = "What is the codename of version 27.04?"
    terms = search_terms(question)
    assert "27.04" in terms and "27" not in terms and salient_terms(question, terms) == ["27.04"]
    assert guided_answer(state_of(RELEASES_CSV), question, never)["answer"] == NOT_FOUND


def test_a_table_answer_is_the_value_of_the_column_the_question_names() -> None:
    state = state_of(RELEASES_CSV)
    noble = next(u for u in state["units"] if "Noble" in u["text"])
    assert verified_span("2024-04-25", noble, "What is the kernel version of Noble Numbat?", set()) is None
    assert verified_span("Noble Numbat", noble, "What is the codename of version 24.04 LTS?", set()) == "Noble Numbat"
    assert count_answer(state, "How many rows are in the table?") == (
        "4\nCounted: records of the table (its header row aside)."
    )


@pytest.mark.parametrize(
    ("reply", "text", "question", "expected"),
    [
        (
            "June 29, 2007",
            "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
            "What is the date of version 3?",
            "29 June 2007",
        ),
        (
            "posted to the newsgroup gnu.bash.bash.bug",
            "Mail bug-bash@gnu.org or post to gnu.bash.bug.",
            "Where do reports go?",
            None,
        ),
        (
            "the number of seconds since the epoch",
            "EPOCHSECONDS expands to the number of seconds since the epoch, each time it is read.",
            "What does EPOCHSECONDS expand to?",
            "number of seconds since the epoch",
        ),
    ],
)
def test_a_span_is_a_whole_date_never_a_piece_of_an_address_and_may_hold_parts_of_a_compound(
    reply: str, text: str, question: str, expected: str | None
) -> None:
    assert verified_span(reply, {"name": "", "text": text}, question, set()) == expected


def test_a_debian_changelog_keeps_each_change_and_upload_under_its_version() -> None:
    state = state_of(CHANGELOG)
    assert state["shapes"] == ["changelog"]
    wrapped = next(u for u in state["units"] if "greeting" in u["text"])
    assert (
        wrapped["text"].endswith("which printed nothing at all.")
        and wrapped["where"] == "line 5, under 'hello (2.1-1)'"
    )
    question = "Who uploaded hello 2.1-1?"
    best = rank(state, search_terms(question), salient=salient_terms(question, search_terms(question)))[0]
    assert best["text"].startswith("-- Maria Maintainer")
    assert count_answer(state, "How many entries are in the changelog?") == (
        "21\nCounted: entries of the text (units of kind 'entry')."
    )


CURRENCIES = [
    {"alpha_3": code, "name": name, "numeric": number}
    for code, name, number in [
        ("EUR", "Euro", "978"),
        ("TWD", "New Taiwan Dollar", "901"),
        ("XAU", "Gold", "959"),
        ("XXX", "The codes assigned for transactions where no currency is involved", "999"),
        ("XTS", "Codes specifically reserved for testing purposes", "963"),
    ]
    + [(f"Q{n:02d}", f"Filler money {n}", f"{100 + n}") for n in range(30)]
]


def test_the_rarest_word_of_what_the_question_is_about_is_named() -> None:
    state = build_index(collect_sources({"context": CURRENCIES}))
    question = "What is the currency code for gold?"
    terms = search_terms(question)
    assert subject_term(question, terms, state["index"]) == "gold"
    assert "XAU" in guided_answer(state, question, lambda ps: ["999"] * len(ps))["answer"]  # never the XXX record
    assert subject_term("What is the price of a bitcoin?", search_terms("price of a bitcoin"), state["index"]) is None


def test_an_answer_has_the_shape_the_question_asks_and_a_quoted_term_stands() -> None:
    twd = {"name": "", "text": "alpha_3: TWD; name: New Taiwan Dollar; numeric: 901"}
    question = "What is the three-letter code of the New Taiwan Dollar?"
    assert verified_span("It is 901", twd, question, set()) is None
    assert verified_span("TWD", twd, question, set()) == "TWD"
    license_text = {"name": "", "text": 'Licensor provides the Work on an "AS IS" BASIS, WITHOUT WARRANTIES.'}
    reply = 'on an "AS IS" BASIS, WITHOUT warranties'
    assert verified_span(reply, license_text, "On what basis does the Licensor provide the Work?", set()) == "AS IS"


def test_how_many_items_a_collection_lists_is_its_records_or_entries() -> None:
    table = build_index(collect_sources({"context": CURRENCIES}))
    assert count_answer(table, "How many currencies are listed?") == (
        "35\nCounted: the records of the table (its header row aside), each taken as one of the currencies listed."
    )
    assert count_answer(state_of(FORTUNES), "How many fortunes are there?") == (
        "14\nCounted: the entries between separator lines, each taken as one of the fortunes listed."
    )
    assert count_answer(state_of(MANUAL), "How many settings are there?") is None  # prose lists nothing countable


def test_a_question_for_an_attribute_the_text_never_names_is_not_found() -> None:
    state = build_index(collect_sources({"context": CURRENCIES}))
    question = "What is the international dialing prefix of the New Taiwan Dollar?"
    assert unnamed_attribute(question, state["index"]) == "international dialing prefix"
    result = guided_answer(state, question, lambda ps: ["901"] * len(ps))
    assert result["answer"] == NOT_FOUND and "never names" in result["report"]
    assert unnamed_attribute("What is the currency code for gold?", state["index"]) is None  # "code" is used


def test_a_quoted_answer_is_taken_whole_and_a_signed_piece_is_no_answer() -> None:
    code = {"name": "", "text": "parser.add_argument('--version', action='version', help=\"show program's version\")"}
    reply = 'The help text is "show program\'s version".'
    assert verified_span(reply, code, "What is the help text of the version action?", set()) == "show program's version"
    zone = {"name": "AU", "text": "AU -4253+14719 Australia/Hobart Tasmania", "kind": "line"}
    assert verified_span("UTC-4253+14719", zone, "Which timezone is listed for Tasmania?", set()) is None


def test_a_line_under_a_heading_cannot_answer_what_only_the_heading_names() -> None:
    outline = "\n".join(
        ["# vendors and their devices", "# devices are indented under their vendor"]
        + [line for v in range(30) for line in (f"{v:04x}  Filler Vendor {v}", f"\t{v:04x}  Gadget {v}")]
        + ["28de  Valve Software", "\t1102  Wired Controller", "\t1142  Wireless Steam Controller"]
    )
    state = state_of(outline)
    device = next(u for u in state["units"] if u["text"].startswith("1102"))
    vendor = next(u for u in state["units"] if u["text"].startswith("28de"))
    question = "What is the vendor ID of Valve Software?"
    assert verified_span("The vendor ID is 1102", device, question, set()) is None  # the device's, not the vendor's
    assert verified_span("28de", vendor, question, set()) == "28de"
    assert verified_span("Wired Controller", device, "What is Valve device 1102?", set()) == "Wired Controller"


def test_two_named_things_are_quoted_not_answered_with_one_value() -> None:
    protocols = "\n".join(
        [f"proto{n}\t{n}\tPROTO{n}\t# filler protocol {n}" for n in range(40)]
        + ["udp\t17\tUDP\t# user datagram protocol", "udplite\t136\tUDPLite\t# UDP-Lite [RFC3828]"]
    )
    result = guided_answer(state_of(protocols), "What are the protocol numbers of UDP and of UDP-Lite?", never)
    assert result["kind"] == "evidence" and "udp 17" in result["answer"] and "udplite 136" in result["answer"]


def test_a_name_keeps_the_texts_frequent_words_inside_it() -> None:
    lines = "\n".join([f"{n:04x}  Controller {n} Pro" for n in range(200)] + ["2009  Switch Pro Controller"])
    state = state_of(lines)
    unit = next(u for u in state["units"] if u["text"].startswith("2009"))
    assert verified_span("It is the Switch Pro Controller", unit, "What is device 2009?", state["frequent"]) == (
        "Switch Pro Controller"
    )


def test_a_name_the_questions_own_word_would_cut_short_is_no_answer() -> None:
    unit = {"name": "", "text": "You may combine the work with the GNU Affero General Public License, version 3."}
    question = "Which license may the work be combined with?"
    assert verified_span("the GNU Affero General Public License", unit, question, set()) is None


def test_a_why_question_is_answered_with_the_reason_the_text_gives() -> None:
    # the reply's phrase stands for the whole reason, the question's own words inside it included ("Less")
    unit = {
        "name": "",
        "text": "We call this licence the Smaller Licence because it does Less to keep the user's rights than the "
        "ordinary licence. It applies to libraries.",
    }
    question = "Why is this licence called the Smaller Licence?"
    reply = "It is called so because it is a variant used to keep the user's rights."
    expected = "it does Less to keep the user's rights than the ordinary licence"
    assert verified_span(reply, unit, question, set()) == expected
    # the reason may follow the sentence that names what it explains
    unit = {"name": "", "text": "Never reuse a ticket. That fails, because tickets expire after 9 days (see below)."}
    assert verified_span("tickets expire", unit, "Why should a ticket not be reused?", set()) == (
        "tickets expire after 9 days (see below)"
    )
    # no reason in the unit, or one the reply does not share, or a reason for something else: no answer
    assert verified_span("to keep the rights", {"name": "", "text": "It keeps the rights."}, question, set()) is None
    assert verified_span("It is blue.", unit, "Why should a ticket not be reused?", set()) is None
    other = {"name": "", "text": "Cats sleep a lot because they hunt at night."}
    assert verified_span("they hunt at night", other, "Why should a ticket not be reused?", set()) is None


def test_capitals_after_this_name_the_text_itself_not_a_subject() -> None:
    question = "Which court has jurisdiction over disputes under this Agreement?"
    assert salient_terms(question, search_terms(question)) == []
    assert salient_terms("Which rules does this Open Data Agreement add to Annex B?", ["rules", "annex"]) == ["annex"]
    # so the question's words that the text never uses count, and a clause on court orders is no answer
    paragraphs = [
        f"Section {n}. You may copy this Agreement and hand it to others, with notice {n} kept." for n in range(1, 9)
    ]
    paragraphs.append("If a court order or any other reason imposes conditions on you under this Agreement, stop.")
    state = state_of("\n\n".join(paragraphs))
    assert guided_answer(state, question, never)["answer"] == NOT_FOUND


CONFIG = """#
# /etc/shipyard.conf - settings of the shipyard daemon
#
# DOCK_COUNT is how many docks are opened at start.
DOCK_COUNT\t\t12
#
# The hashing scheme for crane passwords. MD5-based hashing is obsolete;
# the default hashes crane passwords with BLAKE2.
CRANE_HASH BLAKE2
#
# Welcome text shown to new sailors
#WELCOME_TEXT Ahoy
HARBOUR_HOME yes
LOG_LEVEL = info
MAX_SHIPS 40
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which scheme is used to hash crane passwords?", "BLAKE2"),
        ("How many docks are opened, by the dock count?", "12"),
        ("What is the log level?", "info"),
        ("What is the welcome text?", None),  # commented out: not a setting
        ("What is the default harbour directory for new captains?", None),  # HARBOUR_HOME's comments say nothing of it
        ("Who sets the crane hash?", None),
    ],
)
def test_a_configuration_files_setting_line_answers_what_its_key_names(question: str, expected: str | None) -> None:
    found = setting_value(state_of(CONFIG), question)
    assert (found[0] if found else None) == expected


def test_a_setting_answers_without_reading_and_prose_has_no_settings() -> None:
    result = guided_answer(state_of(CONFIG), "Which scheme is used to hash crane passwords?", never)
    assert result["answer"].startswith("BLAKE2\nFrom [line 9] CRANE_HASH BLAKE2")
    prose = "\n\n".join(f"Section {n}. The crane hash is kept by the harbour master, twice a year." for n in range(9))
    assert setting_value(state_of(prose), "What is the crane hash?") is None


METADATA = """Metadata-Version: 2.4
Name: kettle
Version: 4.1.0
Summary: Boil water over HTTP.
License: MIT
Project-URL: Documentation, https://kettle.example/docs
Project-URL: Source, https://example.org/kettle
Classifier: Programming Language :: Python :: 3.12
Classifier: Programming Language :: Python :: Implementation :: CPython
Classifier: Programming Language :: Python :: Implementation :: PyPy
Requires-Python: >=3.11
Requires-Dist: spout>=2
Description-Content-Type: text/markdown

# kettle

Kettle boils water for you. It supports Python 3.11 and later, on CPython and PyPy.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # the field whose name holds most of the question, not "Version:", nor a classifier the reader liked
        ("Which Python version does kettle require?", ">=3.11"),
        ("What version of kettle is this?", "4.1.0"),  # "kettle" is said by the record's Name field
        ("What is the metadata version?", "2.4"),
        ("Which Python version does teapot require?", None),  # the record is not about a teapot
        ("Which URL is the project's source?", None),  # Project-URL has two values: neither is the field's
    ],
)
def test_a_header_field_answers_what_its_name_names(question: str, expected: str | None) -> None:
    """Package metadata (RFC 5322-style header fields, as in a wheel's METADATA, a Debian control file, mail
    headers): a field whose name the question names is read by code, its record's other fields saying what the
    question's remaining words name."""
    found = setting_value(state_of(METADATA), question)
    assert (found[0] if found else None) == expected
    if expected is not None:
        assert guided_answer(state_of(METADATA), question, never)["answer"].startswith(f"{expected}\nFrom [line ")


def test_a_name_that_starts_with_a_dot_keeps_it() -> None:
    unit = {"name": "", "text": 'Users may add their own types by creating a ".mime.types" file in their home.'}
    reply = 'You can create a ".mime.types" file.'
    assert verified_span(reply, unit, "Where can users add their own types?", set()) == ".mime.types"
    # a reply that names a piece of the name (without its dot) answers nothing
    assert (
        verified_span('Add them to the "mime.types" file.', unit, "Where can users add their own types?", set()) is None
    )


FROB_MANUAL = """FROB(1)                      User Commands                      FROB(1)

NAME
       frob - twist widgets

OPTIONS
       -q, --quiet
              print nothing but errors.  Useful in scripts.

       -t SECONDS, --timeout=SECONDS
              give up after SECONDS; the default is 30.

       --color[=WHEN]
              colour the output; WHEN is never, always or auto.

       -x     cross no filesystem boundaries.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does the -q option do?", "-q, --quiet: print nothing but errors."),
        # an entry's first sentence runs to its full stop, over its semicolons (audit 81b kind F)
        ("What is the long form of -t?", "-t SECONDS, --timeout=SECONDS: give up after SECONDS; the default is 30."),
        (
            "What do --color and -q do?",
            "--color[=WHEN]: colour the output; WHEN is never, always or auto.; -q, --quiet: print nothing but errors.",
        ),
        ("What does -x do?", "-x: cross no filesystem boundaries."),
        ("Which option is another name for -x?", None),  # asks which option: -x is only the reference
        ("What does -z do?", None),  # no entry
    ],
)
def test_a_manuals_option_entry_answers_what_the_option_does(question: str, expected: str | None) -> None:
    result = guided_answer(state_of(FROB_MANUAL), question, lambda prompts: ["NOT FOUND"] * len(prompts))
    if expected is None:
        assert result["kind"] != "answer" or not result["answer"].startswith("-")
    else:
        assert result["answer"].split("\nFrom ")[0] == expected


# --- round 7: lists inside blocks, patterns, pointers, commands, two questions, what a thing does -----------------

SETTINGS_FILE = """# Settings of the account tool.

# New names are checked against this pattern.
# Default: NAME_PATTERN="^[a-z][-a-z0-9_]*\\$?$"
#NAME_PATTERN="^[a-z][-a-z0-9_]*\\$?$"

# Files in the template folder matching this pattern are not copied.
# Default: SKIP_PATTERN="dpkg-(old|new)"
#SKIP_PATTERN="dpkg-(old|new)"

# Quotas are copied from this user with `setquota -p TEMPLATE newuser'.
# Default: TEMPLATE=""
#TEMPLATE=""
"""

CODES = '''class Status:
    """Codes of the protocol.

    Sources:

        * NOTE 101: Basic replies
        * NOTE 202: Replies for moved objects
        * NOTE 303: A reply to report blocked content
    """
    def __new__(cls, value, phrase):
        return value

    # moves
    GONE_FOR_GOOD = 301, 'Gone For Good', 'moved for ever'
    GONE_FOR_NOW = 302, 'Gone For Now', 'moved for a while'
    LOOK_ELSEWHERE = 303, 'Look Elsewhere', 'see the other place'
'''


def test_a_lists_items_inside_a_block_are_units_of_their_own() -> None:
    # Bullets followed by code without a blank line, and `NAME = value` members: one unit per item, so that an
    # answer read from one item is never a neighbour's ("302" was given 301's phrase).
    units = state_of(CODES)["units"]
    texts = [u["text"] for u in units]
    assert "NOTE 303: A reply to report blocked content" in texts
    assert "GONE_FOR_NOW = 302, 'Gone For Now', 'moved for a while'" in texts
    assert not any("NOTE 101" in t and "NOTE 202" in t for t in texts)


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [
        # a pattern is answered whole, as written, or not at all (its letters were cut out of it)
        ("Which pattern are new names checked against?", 'It is "^[a-z][-a-z0-9_]*\\$?$"', "^[a-z][-a-z0-9_]*\\$?$"),
        ("Which pattern are new names checked against?", "It is ^[a-z][-a-z0-9_]*$", None),
        # "this pattern" points at a pattern named elsewhere
        ("Which files in the template folder are not copied?", "Files matching this pattern are not copied.", None),
        # "which command" is not answered by an option of the command
        ("Which command copies quotas?", "The command `-p TEMPLATE` copies them.", None),
    ],
)
def test_a_reply_names_the_thing_asked_for_or_nothing(question: str, reply: str, expected: str | None) -> None:
    state = state_of(SETTINGS_FILE)
    unit = rank(state, search_terms(question), salient=[], limit=1)[0]
    assert verified_span(reply, unit, question, state["frequent"]) == expected


def test_lines_that_begin_with_a_prefix_are_counted_as_the_text_writes_them() -> None:
    said = count_answer(state_of(SETTINGS_FILE), "How many lines begin with # Default:?")
    assert said is not None and said.startswith("3\n")


def test_two_questions_in_one_are_quoted_not_half_answered() -> None:
    result = guided_answer(state_of(CODES), "What is the phrase for status 302, and what is its meaning?", never)
    assert result["kind"] == "evidence" and "Gone For Now" in result["answer"]


def test_what_a_thing_does_is_the_predicate_the_text_writes_after_its_name() -> None:
    news = (
        "Changes.\n\n"
        + "\n\n".join(f"{n}. Filler change number {n} about the parser." for n in range(20))
        + "\n\nx. The new `skipdots' shell option forces name expansion never to return `.' unless asked. It is on.\n"
    )
    result = guided_answer(
        state_of(news), "What does the skipdots shell option do?", lambda ps: ["name expansion"] * len(ps)
    )
    assert result["answer"].split("\n")[0] == "forces name expansion never to return `.' unless asked"
    assert expected_type("What is the reason phrase for status 418?") == "any"  # HTTP's phrase, not a "why"
    assert expected_type("What is the reason for the change?") == "reason"


def test_a_file_whose_settings_are_all_commented_out_is_read_from_its_default_lines() -> None:
    # Every setting is commented out at its default, and the keys are abbreviations the question cannot name:
    # the setting whose own comments hold the question's words answers it.
    conf = "\n\n".join(
        [
            "# Settings of the account tool. A commented-out setting is the default in the code.",
            "# The login shell to be used for all new users.\n# Default: DSHELL=/bin/bash\n#DSHELL=/bin/bash",
            "# The directory in which new home directories are created.\n# Default: DHOME=/home\n#DHOME=/home",
            "# Files matching this pattern are not copied into a new home directory.\n"
            '# Default: SKIP_REGEX="\\.(dpkg|ucf)-old$"\n#SKIP_REGEX="\\.(dpkg|ucf)-old$"',
            "# Set to something other than 0 to add new users to the extra groups.\n#ADD_EXTRA_GROUPS=0",
            "# The first user id handed out.\n#FIRST_ID=1000",
        ]
    )
    state = state_of(conf)
    shell = setting_value(state, "What is the default login shell for new users?")
    assert shell is not None and shell[0] == "/bin/bash"
    skipped = setting_value(state, "Which files are not copied into a new home directory?")
    assert skipped is not None and skipped[0] == "\\.(dpkg|ucf)-old$"  # the value, without its quotes
    assert setting_value(state, "What does setting ADD_EXTRA_GROUPS to something other than 0 do?") is None
    assert setting_value(state, "Where is the mail spool directory for new users?") is None


PACKAGE_METADATA = (
    "Metadata-Version: 2.4\nName: gadget\nVersion: 4.1.0\nSummary: Draw gadgets on the terminal\n"
    "Author: Ada Example\nRequires-Python: >=3.9.0\nClassifier: Development Status :: 5 - Production/Stable\n"
    "Classifier: Environment :: Console\n\nInstalling\n==========\n\n```sh\npython -m pip install gadget\n```\n\n"
    + "\n\n".join(f"Filler paragraph {n} about drawing boxes and colours." for n in range(30))
    + "\n\nGadget License Version 2.0, January 2004.\n"
)


def test_header_fields_are_the_sentences_of_their_block() -> None:
    # A block of `Name: value` fields was one run-on sentence, so a number from any field passed for the answer
    # to a question about another ("Which Python version does it require?" -> "5", of "Development Status :: 5").
    state = state_of(PACKAGE_METADATA)
    question = "Which Python version does gadget require?"
    unit = rank(state, search_terms(question), salient=[], limit=1)[0]
    assert "Requires-Python: >=3.9.0; Classifier: Development Status :: 5" in unit["text"]
    assert verified_span("5", unit, question, state["frequent"]) is None


def test_a_code_fence_language_is_no_word_of_its_unit() -> None:
    units, _ = split_units([("context", PACKAGE_METADATA)])
    command = next(u for u in units if "pip install" in u["text"])
    assert command["text"] == "python -m pip install gadget"


def test_a_month_and_a_year_are_one_date() -> None:
    state = state_of(PACKAGE_METADATA)
    question = "When was version 2.0 of the license published?"
    unit = rank(state, search_terms(question), salient=[], limit=1)[0]
    assert verified_span("January", unit, question, state["frequent"]) == "January 2004"


@pytest.mark.parametrize(
    "reply",
    ["python -m pip", "Run `python -m pip install gadget`.", "Use pip: python -m pip install gadget", "pip"],
)
def test_a_how_do_i_question_is_answered_by_the_whole_method(reply: str) -> None:
    # The question's own words were cut out of the reply as if they framed it: "How do I install rich?" was
    # answered "python -m pip", a command that does nothing.
    state = state_of(PACKAGE_METADATA)
    question = "How do I install gadget?"
    unit = rank(state, search_terms(question), salient=[], limit=1)[0]
    assert unit["text"] == "python -m pip install gadget"
    assert verified_span(reply, unit, question, state["frequent"]) == "python -m pip install gadget"


def test_a_how_do_i_reply_that_only_echoes_the_question_answers_nothing() -> None:
    state = state_of(PACKAGE_METADATA)
    question = "How do I install gadget?"
    unit = rank(state, search_terms(question), salient=[], limit=1)[0]
    assert verified_span("You install gadget.", unit, question, state["frequent"]) is None
    assert verified_span("NOT FOUND", unit, question, state["frequent"]) is None


def test_a_method_is_the_sentence_of_the_unit_that_holds_the_reply() -> None:
    text = "Boxes are drawn with box(). To change the colour, call paint() with a colour name. Colours are named."
    unit = _paragraph("Colours", text, 1, "paragraph", False)
    question = "How can I change the colour of a box?"
    method = "To change the colour, call paint() with a colour name"
    assert verified_span("call paint()", unit, question, set()) == method
    # not a method question: how something is, not how to do it
    assert verified_span("call paint()", unit, "How does the box look?", set()) != method


def test_a_method_is_taken_only_from_beside_the_question_it_answers() -> None:
    # A riddle list: the second riddle's answer is no answer to the first (it was, as a "how do you" method).
    text = "Q: How do you open a stuck jar? A: Tap the lid! Q: How do you open a locked door? A: With the key!"
    unit = _paragraph("", text, 1, "paragraph", False)
    question = "How do you open a stuck jar?"
    assert verified_span("With the key", unit, question, set()) is None
    assert verified_span("Tap the lid", unit, question, set()) == "A: Tap the lid!"


def test_a_sentence_that_introduces_the_method_is_not_the_method() -> None:
    # Python's http.server docs: the command is in the block after this sentence, not in it.
    unit = _paragraph(
        "", "For example, the following command causes the server to bind to localhost only::", 1, "paragraph", False
    )
    reply = "the following command causes the server to bind to localhost only"
    assert verified_span(reply, unit, "How can I make the server bind to localhost only?", set()) is None


def test_a_line_that_a_colon_introduces_is_no_title() -> None:
    # itertools' docs: "... can be installed from the Python Package Index::" then the command alone on its line.
    # Read as a title, the command labelled the recipes after it and was never read as a method.
    text = (
        "Recipes\n\nThe recipes can be installed from the Python Package Index::\n\n"
        "    python -m pip install more-gadgets\n\nThe recipes are fast.\n"
    )
    units, _ = split_units([("context", text)])
    command = next(u for u in units if "pip install" in u["text"])
    assert command["name"] == "Recipes" and command["text"] == "python -m pip install more-gadgets"
    assert next(u for u in units if "fast" in u["text"])["name"] == "Recipes"


def test_the_offline_default_answers_how_do_i_with_the_command() -> None:
    def reader(messages: list[Message]) -> str:
        return "python -m pip\n\nThat installs it."

    root = GuidedRoot(ScriptedLM(reader))
    result = RLM(root, sub_lm=root.reader).completion("How do I install gadget?", context=PACKAGE_METADATA)
    assert result.answer.splitlines()[0] == "python -m pip install gadget"


def test_a_guided_root_without_a_sub_lm_has_its_reader_answer_the_sub_calls() -> None:
    # RLM(GuidedRoot(lm)) sent every sub-call to the guided root itself, which answered with its own code.
    root = GuidedRoot(ScriptedLM(lambda messages: "7391-KESTREL"))
    rlm = RLM(root)
    assert rlm.sub_lm is root.reader
    result = rlm.completion("What is the launch code?", context="The launch code is 7391-KESTREL.")
    assert result.answer.splitlines()[0] == "7391-KESTREL"
    plain = RLM(ScriptedLM(["x"]))
    assert plain.sub_lm is plain.lm  # an ordinary LM still reads for itself


def test_sections_are_not_counted_as_paragraphs() -> None:
    # a section is a heading and what it holds; counting paragraphs answered "33" of a license with 9
    assert count_answer(state_of(PACKAGE_METADATA), "How many sections does the text have?") is None
    assert count_answer(state_of(PACKAGE_METADATA), "How many paragraphs does the text have?") is not None


def test_the_guided_librarys_code_is_kept_once_in_a_trace(tmp_path: Any) -> None:
    # It was in the first turn's reply and again in its cell: about 250 KB a question, for a 1 KB context.
    import json
    from pathlib import Path

    from rlmx.lm.guided import library

    def reader(messages: list[Message]) -> str:
        return "NOT FOUND"

    result = RLM(GuidedRoot(ScriptedLM(reader)), trace_dir=tmp_path).completion("Who holds it?", context="A text.")
    assert result.trace_path is not None
    events = [json.loads(line) for line in Path(result.trace_path).read_text("utf-8").splitlines()]
    first = next(e for e in events if e["type"] == "lm_call")
    cell = next(e for e in events if e["type"] == "cell_start")
    # neither holds it whole now: both name it by its sha256 (audit 85 v03: it was 364,520 characters a trace)
    assert "def build_index" not in first["response"] and "guided library" in first["response"]
    code = cell["code"]
    assert "def build_index" not in code and "guided library" in code
    assert Path(result.trace_path).stat().st_size < len(library()) / 5
