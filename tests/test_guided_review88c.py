"""Whitespace tables and signed values, review 88c (an adversarial audit's opening hours, league table, forecast).

A title of four words over lines of as many words ('Opening hours this week' over 'Mon 9am to 5pm') was read as
a word-by-word table whose columns were the title's words, so "the opening hours on Tuesday" became its 'hours'
cell, '9am'. A table lined up by runs of blanks whose cell holds two words ('Aston Villa') had rows of different
word counts and was no table at all. And a value below zero lost its minus sign when one value was looked up
('High -1°C' answered '1°C'), or came from the line's other label ('Low' asked, 'High' read)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import aligned_table

HOURS = "Library hours this week\nMon 9am to 5pm\nThu 9am to 1pm\nFri 10am to 4pm\n"
CLASSES = "Pool timetable for next term\nJuniors Tue 4pm to 5pm\nAdults Thu 7pm to 8pm\nSeniors Fri 10am to 11am\n"
LEAGUE = (
    "Rank Club           P  W   L  Pts\n"
    "1    Forest Green  12  9   3   27\n"
    "2    Rovers        12  7   5   21\n"
    "3    Port Vale     12  5   7   15\n"
    "4    Albion        12  2  10    6\n"
)


def test_a_title_over_lines_of_as_many_words_is_no_table() -> None:
    assert aligned_table(HOURS.strip().split("\n")) is None
    assert aligned_table(CLASSES.strip().split("\n")) is None
    names = aligned_table(["Name Age City Score", "Ann 34 York 12", "Bob 41 Leeds 9"])  # names, one a word
    assert names is not None and names[0] == ["Name", "Age", "City", "Score"]


@pytest.mark.parametrize(
    ("text", "question", "reply", "answer"),
    [
        (HOURS, "What are the library hours on Thursday?", "9am to 1pm", "9am to 1pm"),
        (HOURS, "What are the library hours on Friday?", "10am to 4pm", "10am to 4pm"),
        (CLASSES, "When are the adults on?", "Thu 7pm to 8pm", "Thu 7pm to 8pm"),
    ],
)
def test_a_line_under_a_title_is_read_as_written(text: str, question: str, reply: str, answer: str) -> None:
    said = ask(text, question, reply)
    assert first_line(said) == answer and "hours:" not in said and "for:" not in said


def test_a_two_word_cell_of_a_table_lined_up_by_blanks_is_one_cell() -> None:
    read = aligned_table(LEAGUE.strip().split("\n"))
    assert read is not None and read[0] == ["Rank", "Club", "P", "W", "L", "Pts"]
    assert [row[1] for row in read[1]] == ["Forest Green", "Rovers", "Port Vale", "Albion"]
    assert first_line(ask(LEAGUE, "Which club is in 3rd place?", "NOT FOUND")) == "Port Vale"
    assert first_line(ask(LEAGUE, "Which club lost the most games?", "Albion")) == "Albion"
