"""Labelled-list counts (review 84 D): people added by number count, an open end ('others', 'etc.') leaves the
count unknown, and a person marked absent is no attendee."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

ASKED = "How many participants were there?"


@pytest.mark.parametrize(
    ("value", "count"),
    [("Mia, Leo + 3", "5"), ("Mia, Leo, plus one guest", "3"), ("Mia, Leo and 2 others", "4")],
)
def test_people_added_by_number_are_counted(value: str, count: str) -> None:
    assert first_line(ask(f"Workshop notes\nParticipants: {value}\n", ASKED)) == count


@pytest.mark.parametrize(
    "value", ["Mia, Leo, Ria, others", "Mia, Leo, Ria, etc.", "Mia, Leo, Ria et al.", "Mia, Leo..."]
)
def test_a_list_that_goes_on_unnamed_has_no_count(value: str) -> None:
    got = first_line(ask(f"Workshop notes\nParticipants: {value}\n", ASKED))
    assert not got.isdigit()


@pytest.mark.parametrize("mark", ["(absent)", "(declined)", "(sent apologies)", "(did not come)"])
def test_a_participant_marked_absent_is_not_counted(mark: str) -> None:
    got = ask(f"Workshop notes\nParticipants: Mia, Leo, Ria {mark}, Sam\n", ASKED)
    assert first_line(got) == "3"
    bulleted = ask(f"Workshop notes\nParticipants:\n- Mia\n- Leo {mark}\n- Ria\n", ASKED)
    assert first_line(bulleted) == "2"


def test_a_member_marked_away_is_still_on_the_team() -> None:
    got = first_line(ask("Team: Mia, Leo (away), Ria\n", "How many people are on the team?"))
    assert got != "2"
