"""Audit 51's two guided-root faults, as kinds: a "how do I" answer taken from a sentence of the unit that shares
none of the question's words while another sentence does, and a count of the records one entity made ("How many
posts did ana write?") that fell through to NOT FOUND."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rlmx import RLM
from rlmx.lm import GuidedRoot, Message, ScriptedLM
from rlmx.lm.guided_cells import NOT_FOUND, _paragraph, build_index, count_answer, verified_span

GUIDE = (
    "# Tidepool\n\n## About\n\nTidepool mirrors shared folders between laptops. It works offline.\n\n"
    "## Setting up\n\nTo set up the sync daemon, run `brew install tidepool` from a shell. "
    "It requires macOS 13 or newer.\n\n## Removing\n\nDelete it with `brew uninstall tidepool`.\n"
)
QUESTION = "How do I set up the sync daemon?"
UNIT_TEXT = "To set up the sync daemon, run `brew install tidepool` from a shell. It requires macOS 13 or newer."


def test_a_method_sentence_sharing_none_of_the_question_is_no_answer_when_another_does() -> None:
    unit = _paragraph("Setting up", UNIT_TEXT, 9, "paragraph", False)
    # the reader echoes the question, then gives the sentence beside the one that answers it
    reply = "To set up the sync daemon, you need macOS 13 or newer."
    assert verified_span(reply, unit, QUESTION, set()) is None
    # a reply pointing into the sentence that holds the question's words still gives that whole sentence
    expected = "To set up the sync daemon, run `brew install tidepool` from a shell"
    assert verified_span("run brew install tidepool", unit, QUESTION, set()) == expected
    # both runs in the reply: the sentence tied to the question wins over the longer run beside it
    both = "It requires macOS 13 or newer, so run brew install tidepool."
    assert verified_span(both, unit, QUESTION, set()) == expected


def test_an_answer_right_after_the_question_it_answers_still_counts() -> None:
    # a FAQ: the answer shares none of the question's words but follows the sentence that asks it
    text = "Q: How do I reset the password? A: Hold the side button for ten seconds. Q: Is it waterproof? A: No."
    unit = _paragraph("FAQ", text, 1, "paragraph", False)
    answer = verified_span("Hold the side button", unit, "How do I reset the password?", set())
    assert answer == "A: Hold the side button for ten seconds"


def test_the_offline_default_quotes_the_unit_instead_of_a_sentence_beside_the_method() -> None:
    def reader(messages: list[Message]) -> str:
        return "To set up the sync daemon, you need macOS 13 or newer."

    root = GuidedRoot(ScriptedLM(reader))
    answer = RLM(root, sub_lm=root.reader).completion(QUESTION, context=GUIDE).answer
    assert answer.startswith("No short answer could be verified"), answer
    assert "brew install tidepool" in answer and not answer.startswith("It requires")


ORDERS = [
    {"customer": "Kestrel Foods", "item": "flour", "status": "open"},
    {"customer": "bo", "item": "salt", "status": "shipped"},
    {"customer": "Kestrel Foods", "item": "yeast", "status": "shipped"},
    {"customer": "Mira", "item": "sugar", "status": "open"},
    {"customer": "kestrel foods", "item": "oats", "status": "open"},
    {"customer": "bo", "item": "rice", "status": "open"},
    {"customer": "Mira", "item": "tea", "status": "shipped"},
]
ORDERS_JSONL = "\n".join(json.dumps(row) for row in ORDERS) + "\n"
ORDERS_CSV = "customer,item,status\n" + "\n".join(",".join(row.values()) for row in ORDERS) + "\n"


@pytest.mark.parametrize("text", [ORDERS_JSONL, ORDERS_CSV], ids=["jsonl", "csv"])
@pytest.mark.parametrize(
    ("question", "count", "who"),
    [
        ("How many orders did Kestrel Foods place?", "3", "kestrel foods"),
        ("How many orders has Mira placed?", "2", "mira"),
        ("How many orders does bo make in total?", "2", "bo"),
        ("How many orders by mira?", "2", "mira"),
        ("How many orders came from BO?", "2", "bo"),
        ("Number of orders from Kestrel Foods", "3", "kestrel foods"),
        ("How many orders were placed by Mira?", "2", "mira"),
        ("How many open orders did Kestrel Foods place?", "2", "kestrel foods"),
    ],
)
def test_records_of_a_named_entity_are_counted_and_the_answer_says_what(
    text: str, question: str, count: str, who: str
) -> None:
    answer = count_answer(build_index([("context", text)]), question)
    assert answer is not None, question
    first, said = answer.split("\n", 1)
    assert first == count
    assert f"whose customer is '{who}'" in said and "among 7 records" in said


@pytest.mark.parametrize(
    "question",
    [
        "How many orders did Kestrel Foods place for bread?",  # asks more than the entity: not a plain count
        "How many words did Mira write?",  # a sum, not a number of records
        "How many items does Mira have?",  # an attribute, not the records one made
        "How many orders did Dana place?",  # no record names Dana
    ],
)
def test_a_question_that_is_not_a_count_of_an_entitys_records_is_left_alone(question: str) -> None:
    answer = count_answer(build_index([("context", ORDERS_JSONL)]), question)
    assert answer is None or "whose customer is" not in answer


async def test_the_offline_default_counts_an_entitys_records_instead_of_not_found() -> None:
    posts = [("lena", "morning all"), ("ravi", "hi"), ("lena", "lunch?"), ("otto", "back"), ("lena", "done")]
    context = "\n".join(json.dumps({"author": a, "body": b}) for a, b in posts) + "\n"
    root = GuidedRoot(ScriptedLM(lambda messages: NOT_FOUND))
    result: Any = await RLM(root, sub_lm=root.reader).acompletion("How many posts did lena write?", context=context)
    assert result.answer.splitlines()[0] == "3", result.answer
    assert "whose author is 'lena'" in result.answer
