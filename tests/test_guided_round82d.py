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


# --- F11: everyday questions over a table of expenses: the costliest value, the grand total, who paid for a thing --

COSTS = """day,person,kind,price,memo
Mon,Rui,ferry,18.50,
Mon,Lotte,groceries,42.10,market
Tue,Rui,groceries,12.40,bakery
Tue,Lotte,bikes,30.00,two bikes
Wed,Rui,ferry,18.50,
"""


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Which kind cost the most?", "groceries"),
        ("What did we spend the most on?", "groceries"),
        ("Which kind cost the least?", "bikes"),
        ("Who spent the most?", "Lotte"),
        ("What is the total of all expenses?", "121.50"),
        ("How much did we spend altogether?", "121.50"),
        ("Who paid for the bakery?", "Rui"),
        ("Who paid for bikes?", "Lotte"),
    ],
)
def test_a_table_of_expenses_answers_by_code(question: str, answer: str) -> None:
    got = ask(COSTS, question, name="costs.csv")
    assert first_line(got) == answer, got


@pytest.mark.parametrize(
    "question",
    [
        "What is the total for taxis?",  # a value the table lacks
        "Who paid for groceries?",  # two people
        "Who paid for the bakery on Sunday?",  # a condition the table cannot check
        "Who paid for parking?",
    ],
)
def test_a_table_question_it_cannot_settle_is_no_sum_or_name(question: str) -> None:
    got = first_line(ask(COSTS, question, name="costs.csv"))
    assert got not in ("Rui", "Lotte", "121.50", "18.50", "30.00"), got


# --- F6: 'Which section covers X?' over unnumbered headings names the heading, never a word under it --------------

NOTES = """# kettle-cli

A command line tool to boil water remotely.

## Installation

    pip install kettle-cli

## Configuration

Set KETTLE_HOST to the kettle's address.

## Contributing

Pull requests are welcome.
"""


@pytest.mark.parametrize(
    ("question", "heading"),
    [
        ("Which section covers installing?", "Installation"),
        ("Which section covers configuring the host?", None),  # 'host' is in no heading
        ("Which section explains configuration?", "Configuration"),
        ("Which section covers contributions?", "Contributing"),
    ],
)
def test_which_section_covers_an_unnumbered_heading(question: str, heading: str | None) -> None:
    answer = ask(NOTES, question, reply="pip")
    if heading is None:
        assert first_line(answer) != "pip", answer
    else:
        assert first_line(answer) == heading, answer


def test_which_section_covers_what_no_heading_says_names_none() -> None:
    answer = ask(NOTES, "Which section covers uninstalling?", reply="pip")
    assert first_line(answer) not in ("pip", "Installation"), answer


# --- F9/F10: a def's kind word and a name written as two words no longer sink the def --------------------------------

SOURCE = '''class Spool:
    """A reel of thread."""

    maxlength = 400
    spin_rate = 12

    def rewind(self, turns):
        self.turns -= turns
        return self.turns

    def label(self):
        return "spool"
'''


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("What does the rewind method do?", "def rewind(self, turns)"),
        ("What does the rewind function do?", "def rewind(self, turns)"),
        ("What is the max length?", "maxlength = 400"),
        ("What is the spin rate?", "spin_rate = 12"),
    ],
)
def test_the_def_is_found(question: str, line: str) -> None:
    answer = ask(SOURCE, question, name="spool.py")
    assert first_line(answer) != "NOT FOUND" and line in answer, answer


@pytest.mark.parametrize("question", ["What does the unwind method do?", "What is the max width?"])
def test_an_absent_def_stays_not_found(question: str) -> None:
    assert first_line(ask(SOURCE, question, name="spool.py")) == "NOT FOUND"
