"""Round 86d (audit 86b, newcomer audit 86): the offline default's guided root on small files a newcomer writes.

Each block of tests holds one kind of fault: rows lined up by blanks with no header (F1), `git log` output (F2),
a question for a reference number (F3), a forecast's day lines (F4), a statement's balance rows (F5), a column's
measure said in one word (newcomer v02) and a Markdown task list (newcomer v03)."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import split_units

# F1: rows lined up by blanks, 2 or 3 cells each, under a title line: each row is a unit of its own.
VOTES = """Riverside Rowing Club - captain ballot

Men's captain (1 place)
  Tomasz Nowak        57   SELECTED
  Graham Pell         22

Women's crew places (2 places)
  Aisha Bello         61   SELECTED
  Freya Lund          48   SELECTED
  Priya Shah          30
  Olga Kim            12

Votes counted by the secretary on 4 May.
"""


def test_rows_lined_up_by_blanks_under_a_title_are_a_unit_each() -> None:
    units, _ = split_units([("ballot.txt", VOTES)])
    texts = [u["text"] for u in units]
    assert "Priya Shah 30" in texts
    assert "Freya Lund 48 SELECTED" in texts
    shah = next(u for u in units if u["text"] == "Priya Shah 30")
    assert shah["name"] == "Women's crew places (2 places)"


def test_a_status_of_another_row_answers_no_yes_no_question() -> None:
    for name in ("Priya Shah", "Olga Kim", "Graham Pell"):
        assert first_line(ask(VOTES, f"Was {name} selected?", reply="Yes")) != "Yes"
    assert first_line(ask(VOTES, "Was Aisha Bello selected?", reply="Yes")) == "Yes"


def test_lines_of_prose_with_two_blanks_stay_one_paragraph() -> None:
    prose = "Notes\n\nWe met at noon.  Ana chaired it.\nBo took minutes.  It ran late.\n"
    units, _ = split_units([("notes.txt", prose)])
    assert any("Ana chaired it" in u["text"] and "Bo took minutes" in u["text"] for u in units)
