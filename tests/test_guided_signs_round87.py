"""Numbers below zero, round 87 (an adversarial review's forecasts).

A forecast's day extremes read 'High -4°C' with a gap of up to three non-word characters between the label and the
number, and the gap took the minus sign: -1, 3 and -4 °C were read as 1, 3 and 4, so the coldest day was named the
warmest and a low of -2°C was given as 2°C. Now every temperature is read with its sign (a hyphen, the Unicode
minus, 'minus'), and a list of costs that holds a credit ('-£20') no longer reads it as a cost of £20."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

FROST = "Mon: Cloudy. High -1°C, low -6°C\nTue: Sunny. High 3°C, low -2°C\nWed: Snow. High −4 °C, low −9°C\n"
MILD = "Fri: High 21°C, low -2°C\nSat: High 18°C, low 4°C\nSun: High 25°C, low 3°C\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (FROST, "Which day will be the warmest?", "Tue"),
        (FROST, "Which day will be the coldest?", "Wed"),
        (FROST, "What is the highest temperature of the week?", "3°C"),
        (FROST, "What is the lowest temperature of the week?", "−9°C"),
        (MILD, "What is the lowest temperature of the week?", "-2°C"),
        (MILD, "What is the highest temperature of the week?", "25°C"),
    ],
)
def test_a_temperature_below_zero_keeps_its_sign(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_credit_in_a_list_of_costs_is_no_cheapest_cost() -> None:
    costs = "Car costs\n2024-01-10: Service £390\n2024-03-02: Refund -£20\n2024-05-05: Tyres £240\n"
    assert "£20" not in first_line(ask(costs, "What was the cheapest visit?", "NOT FOUND"))
