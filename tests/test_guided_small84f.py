"""A yes/no question that states a value the text states otherwise (audit 84b F11): the text's value settles it,
equal is Yes, different (or on the wrong side of a comparison) is No; a question whose subject or attribute is not
surely matched is left alone."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

MARKS = "pupil,class,history,art\nNoah Fry,7B,64,91\nLina Moss,7C,83,70\n"
TALLY = "Season tally\nWon: 11\nLost: 5\nDrawn: 3\n"
TRIP = "Family notes\n\nWe are saving up for a ski trip in February. The car needs new tyres.\n"
LIMITS = "Plan limits\n\n- Folders can be shared with up to five people.\n"


@pytest.mark.parametrize(
    ("question", "verdict"),
    [
        ("Did Noah Fry get over 70 in history?", "No"),
        ("Did Noah Fry get over 60 in history?", "Yes"),
        ("Did Lina Moss score less than 75 in art?", "Yes"),
        ("Did Lina Moss score 83 in history?", "Yes"),
        ("Did Lina Moss score 80 in history?", "No"),
    ],
)
def test_a_row_cell_settles_a_stated_value(question: str, verdict: str) -> None:
    answer = ask(MARKS, question)
    assert first_line(answer) == verdict
    assert "Noah Fry" in answer or "Lina Moss" in answer


def test_a_column_the_table_lacks_is_not_compared() -> None:
    assert first_line(ask(MARKS, "Did Noah Fry score above 60 in music?")) not in ("Yes", "No")


@pytest.mark.parametrize(
    ("question", "verdict", "value"),
    [("Did they lose 8 games?", "No", "5"), ("Did they win more than 10 games?", "Yes", "11")],
)
def test_a_labelled_line_settles_a_stated_number(question: str, verdict: str, value: str) -> None:
    answer = ask(TALLY, question)
    assert first_line(answer) == verdict
    assert f"The text gives: {value}" in answer


@pytest.mark.parametrize(
    ("question", "verdict"), [("Is the ski trip in March?", "No"), ("Is the ski trip planned for February?", "Yes")]
)
def test_a_sentence_settles_a_stated_month(question: str, verdict: str) -> None:
    answer = ask(TRIP, question)
    assert first_line(answer) == verdict
    assert "February" in answer


@pytest.mark.parametrize(
    ("question", "verdict"),
    [("Can folders be shared with seven people?", "No"), ("Can folders be shared with three people?", "Yes")],
)
def test_a_stated_maximum_settles_can(question: str, verdict: str) -> None:
    assert first_line(ask(LIMITS, question)) == verdict


def test_another_subject_is_not_compared() -> None:
    text = "Notes\n\nTom scored 88 in the final test.\n"
    assert first_line(ask(text, "Did Anna score above 90 in the final test?")) not in ("Yes", "No")


def test_a_negated_or_hedged_sentence_settles_nothing() -> None:
    text = "Notes\n\nThe trip might be in June.\n"
    assert first_line(ask(text, "Is the trip in July?")) not in ("Yes", "No")
