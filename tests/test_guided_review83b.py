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


# --- B: expense tables -----------------------------------------------------------------------------------------

MARKDOWN = """| Date | What | Category | Cost | Paid by |
|------|------|----------|-----:|---------|
| 3 May | Campsite | Lodging | 96.00 | Ines |
| 3 May | Groceries | Food | 41.20 | Jonas |
| 4 May | Ferry | Transport | 38.00 | Ines |
| 4 May | Pizza | Food | 29.80 | Karl |
"""


@pytest.mark.parametrize("name", ["camping.md", "notes.txt"])
@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("Who paid the most?", "Ines"),
        ("What is the total?", "205.00"),
        ("Which category cost the most?", "Lodging"),
        ("How much did we spend on food?", "71.00"),
        ("Who paid for the ferry?", "Ines"),
    ],
)
def test_a_markdown_table_is_read_as_a_table(name: str, question: str, want: str) -> None:
    answer = first_line(ask(MARKDOWN, question, name=name))
    assert answer == want and "|" not in answer


TITLED = """Camping weekend costs

What,Category,Cost,Paid by
Campsite,Lodging,96.00,Ines
Groceries,Food,41.20,Jonas
Ferry,Transport,38.00,Ines
"""


@pytest.mark.parametrize(
    ("question", "want"), [("What is the total?", "175.20"), ("Which category cost the most?", "Lodging")]
)
def test_a_title_above_a_csv_leaves_it_a_table(question: str, want: str) -> None:
    assert first_line(ask(TITLED, question, name="costs.txt")) == want


@pytest.mark.parametrize("total", ["Total", "TOTAL", "Grand total", "Subtotal"])
def test_a_total_row_is_no_item(total: str) -> None:
    table = f"What,Cost,Paid by\nCampsite,96,Ines\nGroceries,41,Jonas\nFerry,38,Ines\n{total},175,\n"
    assert first_line(ask(table, "What did we spend the most on?", name="costs.csv")) == "Campsite"
    assert first_line(ask(table, "What is the total?", name="costs.csv")) == "175"


MIXED = "What,Cost,Currency,Paid by\nCampsite,96,EUR,Ines\nFerry,38,SEK,Ines\nGroceries,41,EUR,Jonas\n"


def test_amounts_in_different_currencies_are_never_added_into_one() -> None:
    answer = first_line(ask(MIXED, "How much did we spend altogether?", name="costs.csv"))
    assert answer != "175" and "137 EUR" in answer and "38 SEK" in answer


def test_no_one_payer_is_most_across_currencies() -> None:
    assert first_line(ask(MIXED, "Who paid the most?", name="costs.csv")) not in ("Ines", "Jonas")


QUANTITIES = "Item,Qty,Unit price,Paid by\nTent peg,12,0.50,Ines\nGas can,2,7.25,Jonas\nLantern,1,19.00,Ines\n"


def test_a_quantity_times_a_unit_price_is_what_was_spent() -> None:
    assert first_line(ask(QUANTITIES, "How much did we spend in total?", name="kit.csv")) == "39.50"
    assert first_line(ask(QUANTITIES, "Who paid the most?", name="kit.csv")) == "Ines"
    assert first_line(ask(QUANTITIES, "How much did we spend on gas can?", name="kit.csv")) == "14.50"


def test_airport_codes_are_no_currencies() -> None:
    flights = "From,To,Fare,Paid by\nLHR,OSL,120,Ines\nOSL,ARN,80,Jonas\nARN,LHR,140,Ines\n"
    assert first_line(ask(flights, "What is the total?", name="flights.csv")) == "340"


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
