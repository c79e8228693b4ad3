"""Audit 82b (the offline default on a newcomer's files), kinds fixed in the guided root. Every text is made up;
the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import detect_shape, split_units

# --- F4: a short list under a title set off by a blank line is a list, not one paragraph ---------------------------

CLUB = """Chess club

Ines - 0161 555 0101 - captain
Marek Nowak - 0161 555 0177 - treasurer
Oduya (coach) - 0161 555 0190
Pia - pia.k@example.net - joined in March
"""
CLUB_MD = """# Allotment jobs

- turn the compost
- net the brassicas
- fix the water butt
"""
PROSE = """Notes

The boiler was serviced on Monday.
It now needs a new pressure valve.
"""


@pytest.mark.parametrize("text", [CLUB, CLUB_MD])
def test_a_title_a_blank_line_then_a_list_is_a_list(text: str) -> None:
    assert detect_shape(text) == "lines"
    units, _ = split_units([("context", text)])
    assert len(units) == len([line for line in text.split("\n") if line.strip()])


def test_a_heading_over_sentences_stays_prose() -> None:
    assert detect_shape(PROSE) == "paragraphs"


def test_a_neighbour_lines_value_is_no_answer() -> None:
    answer = ask(CLUB, "Who is the coach?", reply="Pia")
    assert first_line(answer) != "Pia" and "Oduya (coach)" in answer, answer


def test_the_right_line_answers() -> None:
    answer = ask(CLUB, "Who is the treasurer?", reply="Marek Nowak")
    assert first_line(answer) == "Marek Nowak", answer


def test_a_set_off_title_is_no_item() -> None:
    answer = ask(CLUB_MD, "How many items are there?")
    assert first_line(answer) == "3", answer
