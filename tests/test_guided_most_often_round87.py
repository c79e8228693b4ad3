"""'Most often' over rows that give how many times, round 87 (an adversarial review's bookings log).

"Which room was booked most often?" counted the rows per room, each row one booking, though a `bookings` column
gave each day's number: room B's three rows (0, 0 and 1 bookings) beat room A's two (3 and 2). Now a number column
the question's verb names is summed per value, and a `count` or `times` column no verb names makes the rows no
count at all (no answer from code)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

BOOKINGS = "date,room,bookings\nMon,A,3\nTue,B,0\nWed,B,0\nThu,A,2\nFri,B,1\n"
COUNTED = "date,room,count\nMon,A,3\nTue,B,0\nWed,B,0\nThu,A,2\nFri,B,1\n"
CARS = "date,car,km\nMon,Golf,30\nTue,Polo,200\nWed,Golf,10\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (BOOKINGS, "Which room was booked most often?", "A"),
        (BOOKINGS, "Which room was booked least often?", "B"),
        (CARS, "Which car was used most often?", "Golf"),  # no column of uses: each row is one use
    ],
)
def test_a_column_of_the_verb_counts_the_times(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_count_column_no_verb_names_leaves_no_row_count() -> None:
    assert first_line(ask(COUNTED, "Which room was booked most often?", "NOT FOUND")) != "B"
