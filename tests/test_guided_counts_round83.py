"""Counts over short files (round 83, found beside round 83d's fixes): a first line without the separator every
line below it divides its fields by is their title, not one of them ("Family & friends" over "Mum - 07700 ..."
lines counted 5 items for 4); "How many times does it run?" asks how often something happens, not how often the
words "it run" occur (it answered 0)."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer

CONTACTS = (
    "Family & friends\n"
    "Mum - 07700 900123 - mum@example.org\n"
    "Jake Ross - 07700 900456 - lives in Leeds\n"
    "Dr. Amira Haddad (dentist) - 0113 496 0001\n"
    "Sophie - sophie.l@example.com - birthday 12 June\n"
)


def _first_line(text: str, question: str, name: str = "contacts.txt") -> str:
    result = guided_answer(build_index([(name, text)]), question, lambda prompts: ["NOT FOUND"] * len(prompts))
    return str(result["answer"]).split("\n", 1)[0]


@pytest.mark.parametrize("question", ["How many items are there?", "How many contacts are there?"])
def test_a_title_without_the_items_separator_is_no_item(question: str) -> None:
    assert _first_line(CONTACTS, question) == "4"


def test_a_first_line_with_the_separator_is_an_item() -> None:
    plain = CONTACTS.replace("Family & friends\n", "Dad - 07700 900999 - dad@example.org\n")
    assert _first_line(plain, "How many items are there?") == "5"


def test_how_many_times_something_happens_is_no_count_of_its_words() -> None:
    assert _first_line(CONTACTS, "How many times does it run?") != "0"
    notes = "Backup job\nThe backup runs every night at 2 am.\nIn winter it runs 3 times a week.\n"
    assert _first_line(notes, "How many times does the backup run?", "notes.txt") != "0"


def test_how_many_times_a_term_is_in_the_text_still_counts_it() -> None:
    text = "Jerusalem is old.\nThey went up to Jerusalem.\nRome is far.\n"
    assert _first_line(text, "How many times is Jerusalem in the text?", "t.txt") == "2"
    assert _first_line(text, "How many times does Jerusalem occur?", "t.txt") == "2"
