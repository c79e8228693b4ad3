"""Counts and lists over short texts (review 83e: record lines, total rows, name suffixes, list titles)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


@pytest.mark.parametrize(
    "text",
    [
        "Invitees\nMaria Lopez\nTom Hale\nIda Frost\n",
        "Do not forget the keys.\nMaria Lopez\nTom Hale\nIda Frost\n",
    ],
)
def test_a_name_list_without_a_separator_never_counts_its_first_line(text: str) -> None:
    # a tab separator stripped to "" was held by every line: the first line was counted as a person
    assert first_line(ask(text, "How many people are there?")) != "4"


def test_a_comma_record_list_keeps_its_title_aside() -> None:
    text = "Invitees\nMaria Lopez, gluten free\nTom Hale, none\nIda Frost, nuts\n"
    assert first_line(ask(text, "How many people are on the list?")) == "3"


def test_tab_separated_records_are_counted_under_their_title() -> None:
    text = "Team\nMaria Lopez\t07700 900001\nTom Hale\t07700 900002\nIda Frost\t07700 900003\n"
    assert first_line(ask(text, "How many people are on the list?")) == "3"


def test_a_payee_named_total_something_is_an_item_not_a_total_row() -> None:
    text = "Date,Payee,Amount\n1 Jun,Aldi,21.50\n2 Jun,Total Gym,60.00\n3 Jun,Boots,30.00\n"
    assert first_line(ask(text, "How much did I spend in total?", name="june.csv")) == "111.50"
    text = "category,amount\nTotal insurance,600\nGas,200\nWater,50\n"
    assert first_line(ask(text, "Which expense was the largest?", name="bills.csv")) == "Total insurance"


@pytest.mark.parametrize("label", ["Total", "Grand total (GBP)", "Total due", "Subtotal"])
def test_a_row_labelled_a_total_is_still_no_item_of_a_sum(label: str) -> None:
    text = f"Item,Cost\nLamp,20\nRug,70\n{label},90\n"
    assert first_line(ask(text, "What is the total cost?", name="room.csv")) == "90"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("| Thing | Price |\n|---|---|\n| Lamp | 20 |\n| Rug | 70 |\n| Total | 90 |\n", "room.md"),
        ("Thing,Price\nLamp,20\nRug,70\nTotal,90\n", "room.csv"),
    ],
)
def test_a_tables_total_row_is_not_counted_as_an_item(text: str, name: str) -> None:
    assert first_line(ask(text, "How many items are there?", name=name)) == "2"
    assert first_line(ask(text, "How many rows are there?", name=name)) == "2"


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Present: LW, PG, KC, MD, ST", "5"),  # people written by their initials: KC and MD are two of them
        ("Present: Lina, Piet, Kc, Oscar", "4"),  # 'Kc' after a first name is a person, no suffix
        ("Present: Lina Wu, KC, MD, ST", "4"),  # ST is initials: so are KC and MD
        ("Present: Lina Wu, PhD, Piet Gray, QC, Oscar Hale", "3"),  # suffixes after full names stay with them
        ("Present: Piet Gray, Jr., Lina Wu", "2"),
    ],
)
def test_initials_are_people_and_suffixes_follow_full_names(line: str, want: str) -> None:
    assert first_line(ask(f"Board call 2 June\n{line}\n", "How many people were present?", name="call.txt")) == want


@pytest.mark.parametrize(
    "text",
    [
        "Lina Wu - 07700 900501\nPiet Gray - 07700 900502\nOscar Hale - 07700 900503\nUpdated - 12 March 2025\n",
        "Work - numbers\nLina Wu - 07700 900501\nPiet Gray - 07700 900502\nOscar Hale - 07700 900503\n",
        "Work - numbers\nLina Wu - 07700 900501\nPiet Gray - 07700 900502\nOscar Hale - 07700 900503\n"
        "Checked - 2025-03-12\n",
    ],
)
def test_a_title_or_footer_written_with_the_records_separator_is_no_record(text: str) -> None:
    assert first_line(ask(text, "How many contacts are there?", name="numbers.txt")) == "3"


@pytest.mark.parametrize(
    "text",
    [
        "Lina Wu - 07700 900501\nPiet Gray - 07700 900502\nOscar Hale - ask Lina\n",  # a record without its number
        "Lina Wu - 2 kids\nPiet Gray - none\nOscar Hale - none\n",
    ],
)
def test_a_record_with_another_kind_of_value_is_still_counted(text: str) -> None:
    assert first_line(ask(text, "How many contacts are there?", name="numbers.txt")) == "3"
