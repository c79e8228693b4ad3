"""Table questions asked by a verb, round 87 (an adversarial review's league tables and sales sheet).

"Which team won the most?" and "Who sold the least?" name no noun after the verb, and a verb of an amount ('won',
'sold') counts no rows, so no rule took them and the answer was NOT FOUND even with the reader's right reply. Now
the verb's number column ranks the rows when each row is one thing. And a whitespace-aligned table whose header
puts one blank between two names ('Pos Team') was no table at all; now it is read word by word when every line
below has as many words."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

LEAGUE = "Team,P,W,D,L,GF,GA,Pts\nRovers,10,7,2,1,20,8,23\nCity,10,6,1,3,18,12,19\nUnited,10,2,3,5,9,15,9\n"
ALIGNED = (
    "Pos Team      P  W  D  L  Pts\n"
    "1   Rovers   10  7  2  1  23\n"
    "2   City     10  6  1  3  19\n"
    "3   United   10  2  3  5   9\n"
    "4   Athletic 10  1  2  7   5\n"
)
SALES = "Employee,Sold,Returned\nAna,40,5\nBo,35,9\nCy,50,2\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (LEAGUE, "Which team won the most?", "Rovers"),
        (LEAGUE, "Which team lost the most?", "United"),
        (SALES, "Who sold the least?", "Bo"),
        (SALES, "Who sold the most?", "Cy"),
        (ALIGNED, "Which team lost the most games?", "Athletic"),
        (ALIGNED, "Which team is in 3rd place?", "United"),
    ],
)
def test_a_verb_of_an_amount_ranks_its_column(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, answer)) == answer


def test_names_over_several_rows_leave_the_sum_to_the_reader() -> None:
    goals = "player,match,goals\nAna,1,2\nBo,1,3\nAna,2,2\n"
    assert first_line(ask(goals, "Who scored the most?", "NOT FOUND")) != "Bo"
