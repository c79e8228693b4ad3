"""Rows that sum up the others, round 87 (an adversarial review's tables).

The greatest value of a named column ('What is the maximum age?') and the grouped superlatives ('Which player
scored the most goals?') ranked every row, so a 'Total' row, a 'Team total' row or a text list's 'Total: £650'
line was the greatest item. The sums and counts set such rows aside already; now every ranking does too, and an
average, mean or median row, or a balance row, is set aside with them (the first cell of the row says so: a
rating column's 'average' is a value, not a summary)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

AGES = "name,age\nAna,34\nBo,41\nCy,29\nTotal,104\n"
PRICES = "item,price\nTea,2.50\nCake,3.20\nSoup,4.10\nTotal,9.80\n"
GOALS = "player,goals\nAna,3\nBo,5\nCy,2\nTeam total,10\n"
SCORES = "| Name | Score |\n|---|---|\n| Ana | 34 |\n| Bo | 41 |\n| Average | 37.5 |\n| Total | 75 |\n"
COSTS = "Car costs\n2024-01-10: Service £390\n2024-03-02: Wipers £20\n2024-05-05: Tyres £240\nTotal: £650\n"
GRADING = "Grading\nCoursework: 30%\nExam: 60%\nQuiz: 10%\nTotal: 100%\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (AGES, "What is the maximum age?", "41"),
        (PRICES, "What is the highest price?", "4.10"),
        (GOALS, "What is the maximum goals?", "5"),
        (GOALS, "Which player scored the most goals?", "Bo"),
        (SCORES, "What is the highest score?", "41"),
        (COSTS, "What was the most expensive visit?", "2024-01-10 (£390)"),
        (GRADING, "Which part of the grade is the largest?", "Exam (60%)"),
    ],
)
def test_a_total_or_average_row_is_no_item_of_a_ranking(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_rating_of_average_is_a_value_not_a_summary_row() -> None:
    ratings = "name,age,rating\nAna,34,good\nBo,41,average\nCy,29,poor\n"
    assert first_line(ask(ratings, "What is the maximum age?", "NOT FOUND")) == "41"
