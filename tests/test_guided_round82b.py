"""Audit 82 (the offline default on a newcomer's files): a list's title without '#' or ':' ("TODO", "Shopping
list") was counted as an item, and everyday wordings of "how many items" ("on my list", "tasks", "things to do")
were NOT FOUND. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

ERRANDS = """ERRANDS
- post the letter to Gdansk
- return the library books
- collect the dry cleaning
"""
PACKING = """Packing list
* tent
* stove
* head torch
* rope
* map
"""
NUMBERED = """Garden jobs for spring
1. prune the roses
2. sow the carrots
"""
UNBULLETED = """CAMPING GEAR
tent
stove
rope
"""
PLAIN = """tent
stove
rope
"""


@pytest.mark.parametrize(
    ("text", "n"), [(ERRANDS, "3"), (PACKING, "5"), (NUMBERED, "2"), (UNBULLETED, "3"), (PLAIN, "3")]
)
@pytest.mark.parametrize("question", ["How many items are there?", "How many items are in the list?"])
def test_a_lists_title_is_no_item_of_it(text: str, n: str, question: str) -> None:
    answer = ask(text, question)
    assert first_line(answer) == n, answer


def test_the_title_set_aside_is_said() -> None:
    assert "'ERRANDS' aside" in ask(ERRANDS, "How many items are there?")


@pytest.mark.parametrize(
    "question",
    [
        "How many items are on my list?",
        "How many items are on the list?",
        "How many tasks are there?",
        "How many errands are there?",
        "How many things do I have to do?",
        "How many things are on the list?",
    ],
)
def test_everyday_wordings_of_how_many_items_count_the_list(question: str) -> None:
    answer = ask(ERRANDS, question)
    assert first_line(answer) == "3", answer


def test_tasks_that_mention_a_word_are_counted_among_the_items() -> None:
    answer = ask(ERRANDS, "How many tasks mention the library?")
    assert first_line(answer) == "1" and "among 3" in answer, answer
