"""Review 85a: yes/no questions that compare the asked thing's value with a number, and "what time" questions.

Each case is a made-up text and question in our own words, asked of the guided root with a stub reader
(`guided_stub.ask`); the reader's reply is given where the rule checks a reading, else NOT FOUND.
"""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

NF = "NOT FOUND"


# --- yes/no against a number: the asked thing's value, not any number of its line (v04, v05) ---


@pytest.mark.parametrize(
    ("text", "question", "want"),
    [
        # a second number of the line (an extra charge, a former price, another group's fee) is not the value
        ("The flat costs 980 a month, plus 75 for the garage.", "Is the flat below 75 a month?", "No"),
        ("Entry: 12 GBP (children 6 GBP)", "Is the entry under 8 GBP?", "No"),
        ("Entry: 12 GBP (children 6 GBP)", "Is the entry 6 GBP?", "No"),
        ("Ticket: 35 EUR (was 50 EUR)", "Is the ticket over 50 EUR?", "No"),
        ("Ticket: 35 EUR (was 50 EUR)", "Is the ticket over 35 EUR?", "No"),
        ("Ticket: 35 EUR (was 50 EUR)", "Is the ticket over 30 EUR?", "Yes"),
        ("The flat costs 980 a month, plus 75 for the garage.", "Is the flat above 1,000 a month?", "No"),
        ("Top speed: 70 km/h (50 km/h in town)", "Is the top speed above 60 km/h?", "Yes"),
        # a maximum settles a comparison every value under it fails, or passes
        ("Range: up to 300 km\nWeight: 18 kg", "Is the range at least 400 km?", "No"),
        ("Range: up to 300 km\nWeight: 18 kg", "Is the range under 350 km?", "Yes"),
        # long-format records: the row naming both the person and the subject
        (
            "Pupil,Topic,Score\nIvo Brand,Geography,71\nIvo Brand,Physics,93\n",
            "Is Ivo Brand's geography score above 80?",
            "No",
        ),
    ],
)
def test_a_comparison_reads_the_asked_things_value(text: str, question: str, want: str) -> None:
    assert first_line(ask(text, question)) == want


@pytest.mark.parametrize(
    ("text", "question"),
    [
        # two numbers for the one thing: which is asked is a guess, so neither a yes nor a no
        ("The fare went from 3 to 4 dollars in May.", "Is the fare below 3 dollars?"),
        ("Range: up to 300 km\nWeight: 18 kg", "Is the range at least 250 km?"),
    ],
)
def test_no_verdict_where_the_value_is_a_guess(text: str, question: str) -> None:
    assert first_line(ask(text, question)) not in ("Yes", "No")


def test_a_lone_mark_word_over_subject_columns_is_quoted_not_absent() -> None:
    got = first_line(ask("Pupil,Geography,Physics\nIvo Brand,71,93\nUma Roy,85,60\n", "Is Uma Roy's score above 80?"))
    assert got not in (NF, "Yes", "No")


# --- "what time": the clock forms texts write, and the asked event's own clock (v01, v02) ---


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        ("The quiz night begins at 20.15 in the back room.", "What time does the quiz night begin?", "20.15"),
        ("The ferry sails at quarter past six.", "What time does the ferry sail?", "quarter past six"),
        ("Choir practice begins at 7 o'clock sharp.", "What time does choir practice begin?", "7 o'clock"),
        ("Lights out: 2200 hrs", "What time is lights out?", "2200 hrs"),
        ("The briefing is at 9. Coffee is served at 10:45.", "What time is the briefing?", "9"),
        ("Runners gather at 8, the race starts at 8:30.", "What time do runners gather?", "8"),
    ],
)
def test_what_time_accepts_the_clock_forms_texts_write(text: str, question: str, reply: str) -> None:
    assert first_line(ask(text, question, reply)) == reply


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        ("The briefing is at 9. Coffee is served at 10:45.", "What time is the briefing?", "10:45"),
        ("Doors open at 6pm and the concert starts at 7pm.", "What time does the concert start?", "6pm"),
        (
            "Drop-off is at 8:15 for the infants; the juniors are dropped off at 8:40.",
            "What time is the juniors drop-off?",
            "8:15",
        ),
        ("Lunch costs 11.50 per head.", "What time is lunch?", "11.50"),
    ],
)
def test_what_time_refuses_another_events_clock(text: str, question: str, reply: str) -> None:
    assert first_line(ask(text, question, reply)) != reply
