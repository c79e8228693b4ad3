"""Audit 81, a newcomer's first files: a one-line file that states the answer got NOT FOUND for "How often does the
server password rotate?" (and "How old is bob?" over a name,age CSV): the degree word after "how" was a search term
the text need not write, and on a small file its absence outweighed every word held. It is no term now."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

_PASSWORD = "The server password rotates every 90 days.\n"


@pytest.mark.parametrize(
    ("text", "question", "reply", "expected"),
    [
        (_PASSWORD, "How often does the server password rotate?", "every 90 days", "every 90 days"),
        (_PASSWORD, "How frequently does the server password rotate?", "every 90 days", "every 90 days"),
        ("The warranty lasts two years from the date of purchase.\n", "How long is the warranty?", "two years",
         "two years"),
        ("The station is 3 km from the hotel.\n", "How far is the station from the hotel?", "3 km", "3 km"),
    ],
)  # fmt: skip
def test_the_degree_word_after_how_is_not_searched_for(text: str, question: str, reply: str, expected: str) -> None:
    assert first_line(ask(text, question, reply)) == expected


def test_how_old_reads_the_age_column_of_the_named_row() -> None:
    answer = ask("name,age\nalice,30\nbob,41\n", "How old is bob?", "41", name="people.csv")
    assert first_line(answer) == "41"


def test_an_absent_fact_is_still_not_found() -> None:
    assert first_line(ask(_PASSWORD, "How often is the backup tape replaced?")) == "NOT FOUND"
