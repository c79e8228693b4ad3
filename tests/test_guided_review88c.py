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
FORECAST = "Outlook\nWed: High 2°C, Low -3°C\nThu: High -2°C, Low -8°C\nFri: High −5°C, Low −11°C\n"


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


@pytest.mark.parametrize(
    ("question", "reply", "answer"),
    [
        ("What is the high on Thursday?", "-2°C", "-2°C"),
        ("What is the high on Thursday?", "2°C", "-2°C"),  # the reader dropped the sign; the text has only -2
        ("What is the low on Friday?", "−11°C", "−11°C"),  # a Unicode minus, as written
        ("What is the low on Friday?", "5°C", "−11°C"),  # the high, its sign dropped: the line's 'Low' answers
        ("What is the lowest temperature on Thursday?", "-2°C", "-8°C"),
        ("What is the high on Wednesday?", "3°C", "2°C"),
    ],
)
def test_a_value_below_zero_keeps_its_sign_and_its_label(question: str, reply: str, answer: str) -> None:
    assert first_line(ask(FORECAST, question, reply)) == answer


def test_a_sign_is_kept_in_a_table_cell_and_before_a_currency() -> None:
    table = "Day,High,Low\nWed,2,-3\nThu,-2,-8\n"
    assert first_line(ask(table, "What is the low on Thursday?", "8")) == "-8"
    balance = "Statement\nOpening balance: £1,200\nClosing balance: -£35.50\n"
    assert first_line(ask(balance, "What is the closing balance?", "£35.50")) == "-£35.50"


def test_a_dash_that_is_no_sign_stays_out() -> None:
    assert first_line(ask("Final score: Rovers 3-1 City.\n", "What was the final score?", "3-1")) == "3-1"
    mixed = "Set the offset to -5 and the gain to 5.\n"
    assert first_line(ask(mixed, "What is the gain?", "5")) == "5"  # written bare too: the reply's bare 5 stays


def test_a_degree_scale_alone_is_no_temperature() -> None:
    fields = "Station: Alpha\nMinimum temperature: -12°C\nMaximum temperature: -3°C\n"
    assert first_line(ask(fields, "What is the maximum temperature?", "-12°C")) in ("-3°C", "NOT FOUND")
