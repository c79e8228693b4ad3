"""Counts of the offline default's guided root (audit 87, kinds v05-v10): lists of numbers, kinds of people,
marks of absence, roles held by no one, org-chart names and the filled cells of a column."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


def _no_number(answer: str) -> bool:
    return not first_line(answer)[:1].isdigit()


# v05: a number alone in a list is an amount or a label, never a group of people added by number


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Raffle\nAwards: 2,500, 300, 75\n", "How many awards are there?"),
        ("Box office\nSeats sold: 40, 38, 1,150\n", "How many seats were sold?"),
        ("Bake sale\nCakes baked: 6, 9\n", "How many cakes were baked?"),
    ],
)
def test_a_list_of_bare_numbers_adds_no_people(text: str, question: str) -> None:
    got = ask(text, question, "3")
    assert _no_number(got), got


def test_a_number_added_by_a_plus_still_adds_people() -> None:
    assert first_line(ask("Dinner\nGuests: Ines, Karl +2\n", "How many guests are there?")) == "4"
