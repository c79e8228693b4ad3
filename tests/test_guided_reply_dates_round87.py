"""A reply's date against the unit's, round 87 (an adversarial review's diary).

The reader's reply is cut to the words the unit holds, and a month alone is grown to the unit's whole date around
it. So the reply "Mon 3 June", read against a diary line "Wed 5 June: Dentist follow-up", kept "June" and grew it to
"5 June": a date the reader never said, given with confidence. Now a month, day or year that the reply writes inside
a date of its own grows only into a date that holds all of that date's numbers."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

DIARY = (
    "Mon 3 June: Dentist at 9:30. Gym at 18:00.\n"
    "Tue 4 June: Team lunch at 12:30.\n"
    "Wed 5 June: Dentist follow-up at 14:00.\n"
    "Thu 6 June: Day off.\n"
)
TRIPS = "We fly out on 2 August 2024 and stay with Ana.\nThe flat is booked from 9 August 2024 for a week.\n"


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        (DIARY, "When is the dentist?", "Mon 3 June"),
        (DIARY, "When is the dentist?", "June 3"),
        (TRIPS, "When is the flat booked from?", "2 August 2024"),
        (TRIPS, "When is the flat booked from?", "9 August 2023"),
    ],
)
def test_a_month_of_another_date_is_no_leave_to_give_the_units_date(text: str, question: str, reply: str) -> None:
    answer = first_line(ask(text, question, reply))
    assert answer not in ("5 June", "Wed 5 June", "9 August 2024")


@pytest.mark.parametrize(
    ("text", "question", "reply", "answer"),
    [
        (DIARY, "When is the team lunch?", "Tue 4 June", "Tue 4 June"),
        (TRIPS, "When is the flat booked from?", "9 August", "9 August 2024"),
    ],
)
def test_the_same_date_is_still_given_whole(text: str, question: str, reply: str, answer: str) -> None:
    assert first_line(ask(text, question, reply)) == answer
