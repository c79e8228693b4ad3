"""Counts and lists over short texts (review 83e: record lines, total rows, name suffixes, list titles)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


@pytest.mark.parametrize(
    "text",
    [
        "Invitees\nMaria Lopez\nTom Hale\nIda Frost\n",
        "Do not forget the keys.\nMaria Lopez\nTom Hale\nIda Frost\n",
    ],
)
def test_a_name_list_without_a_separator_never_counts_its_first_line(text: str) -> None:
    # a tab separator stripped to "" was held by every line: the first line was counted as a person
    assert first_line(ask(text, "How many people are there?")) != "4"


def test_a_comma_record_list_keeps_its_title_aside() -> None:
    text = "Invitees\nMaria Lopez, gluten free\nTom Hale, none\nIda Frost, nuts\n"
    assert first_line(ask(text, "How many people are on the list?")) == "3"


def test_tab_separated_records_are_counted_under_their_title() -> None:
    text = "Team\nMaria Lopez\t07700 900001\nTom Hale\t07700 900002\nIda Frost\t07700 900003\n"
    assert first_line(ask(text, "How many people are on the list?")) == "3"
