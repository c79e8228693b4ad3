"""Counts stated by a verb (review 84 E): a choice of counts is no one count, people added with 'plus' are
counted, and a rate ('per 200 g') states no count."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


@pytest.mark.parametrize(
    "line",
    [
        "Serves 2 as a lunch or 3 as a side.",
        "Serves 2 hungry people or four small eaters.",
        "Seats 8, or 10 with the leaf.",
    ],
)
def test_a_choice_of_counts_gives_no_one_count(line: str) -> None:
    verb = "seat" if line.startswith("Seats") else "serve"
    got = first_line(ask(f"Dish of the day\n{line}\n", f"How many people does it {verb}?"))
    assert got not in ("2", "8")


@pytest.mark.parametrize(
    ("line", "count"),
    [("Sleeps 2 in the loft, plus 2 in the bunk room.", "4"), ("Sleeps 5 + 1 on the camp bed.", "6")],
)
def test_people_added_with_plus_are_counted(line: str, count: str) -> None:
    assert first_line(ask(f"Mountain hut\n{line}\n", "How many people does it sleep?")) == count


@pytest.mark.parametrize("line", ["Serves 1 person per 150 g of rice.", "Serves 2 for every litre made."])
def test_a_rate_states_no_count(line: str) -> None:
    got = first_line(ask(f"Rice salad\n{line}\n", "How many people does it serve?"))
    assert got not in ("1", "2")


def test_a_plain_stated_count_still_answers() -> None:
    assert first_line(ask("Rice salad\nServes 4.\n", "How many people does it serve?")) == "4"
