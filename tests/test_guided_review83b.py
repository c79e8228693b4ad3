"""Audit 83 (an adversarial review of the guided root's newest rules): labelled-list counts that miscounted
('Attendees: 12' counted as one item, a note indented under a bullet ending the list), expense tables that only
CSV-shaped text reached (a markdown table, a titled CSV), a total row read as an item, amounts of different
currencies or a unit price summed as money spent, and a numbered title run into the line below it. Every text is
made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

# --- C: labelled-list counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question", "n"),
    [
        ("Weekly review\n\nParticipants: 9\n", "How many participants were there?", "9"),
        ("Site visit\nAttendees: 4 people\n", "How many people attended?", "4"),
        ("Budget call\nIn attendance: nobody\n", "How many attendees were there?", "0"),
        ("Retro\nPresent: none\n", "How many people were present?", "0"),
    ],
)
def test_a_label_that_states_the_count_gives_it(text: str, question: str, n: str) -> None:
    assert first_line(ask(text, question)) == n


def test_a_stated_count_is_no_attendee_name() -> None:
    assert first_line(ask("Offsite\nAttendees: 14\n", "Who attended?")) != "14"


@pytest.mark.parametrize(
    "line",
    [
        "Attendees: Mira, Olaf, Petra (apologies: Quinn, Rosa)",
        "Attendees: Mira, Olaf, Petra; absent: Quinn, Rosa",
        "Attendees: Mira (chair, notes), Olaf, Petra",
    ],
)
def test_a_second_label_or_an_aside_adds_no_attendee(line: str) -> None:
    assert first_line(ask(f"Planning\n\n{line}\n", "How many attendees were there?")) == "3"


def test_who_attended_stops_at_the_apologies() -> None:
    answer = ask("Planning\n\nAttendees: Mira, Olaf (apologies: Quinn)\n", "Who attended?")
    assert "Quinn" not in first_line(answer) and "Mira" in first_line(answer)


@pytest.mark.parametrize(
    ("text", "question", "n"),
    [
        ("Standup\nAttendees:\n- Mira\n  (joined late)\n- Olaf\n- Petra\n", "How many attendees were there?", "3"),
        ("Standup\nAttendees:\n* Mira\n    - remote\n* Olaf\n", "How many attendees were there?", "2"),
        (
            "Flatbread\n\nDirections:\n1. Mix flour and water.\n   Note: the dough should be soft.\n"
            "2. Rest it for ten minutes.\n3. Roll it thin.\n4. Cook on a dry pan.\n",
            "How many steps are there?",
            "4",
        ),
    ],
)
def test_a_note_indented_under_an_item_ends_no_list(text: str, question: str, n: str) -> None:
    assert first_line(ask(text, question)) == n


# --- G: a numbered title alone on its line ---------------------------------------------------------------------

GUIDE = """HANDBOOK

1. Welcome
This handbook explains the basics.

2. Getting Started
Download the installer. Billing questions are answered in part 5.

3. Daily use
Open the dashboard each morning.

5. Billing and invoices
Invoices go out monthly.
"""


def test_a_numbered_title_is_not_run_into_the_line_below() -> None:
    assert first_line(ask(GUIDE, "Which section covers daily use?")) == "Section 3: Daily use"


def test_a_title_in_sentence_case_heads_its_part() -> None:
    assert first_line(ask(GUIDE, "Which part covers billing?")).startswith("Part 5: Billing and invoices")


def test_numbered_steps_stay_a_list() -> None:
    steps = "Method:\n1. Heat the oil\n2. Add the onions\n3. Stir well\n"
    assert first_line(ask(steps, "How many steps are there?")) == "3"
