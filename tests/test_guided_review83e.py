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


@pytest.mark.parametrize(
    "text",
    ["Directions\n1. Heat the pan.\n2. Fry the onions.\n", "Ingredients:\n- rice\n- peas\n\nMethod:\nBoil it all.\n"],
)
def test_a_section_heading_on_the_first_line_is_no_title_of_the_text(text: str) -> None:
    assert first_line(ask(text, "What is the recipe called?")) not in {"Directions", "Ingredients"}


def test_a_recipe_title_over_its_items_is_still_read() -> None:
    text = "Pea risotto\n- rice\n- peas\n- stock\n"
    assert first_line(ask(text, "What is the recipe called?")) == "Pea risotto"


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Serves 3 adults and 1 child.", "4"),
        ("Sleeps 2 adults + 3 kids", "5"),
        ("Serves 6 people and keeps for two days.", "6"),
        ("Serves 6 people and 1 dog.", "6"),
    ],
)
def test_a_verbs_count_of_several_groups_is_their_sum(line: str, want: str) -> None:
    verb = "sleep" if line.startswith("Sleeps") else "serve"
    assert first_line(ask(f"Chalet stew\n{line}\n", f"How many people does it {verb}?")) == want


def test_a_choice_between_groups_states_no_one_count() -> None:
    assert first_line(ask("Chalet stew\nServes 3 adults or 5 children.\n", "How many people does it serve?")) != "3"


@pytest.mark.parametrize(
    ("text", "question", "want"),
    [
        ("Kick-off\nParticipants: 2 designers and 5 developers\n", "How many participants were there?", "7"),
        ("Kick-off\nParticipants:\n- 1 lead\n- 3 testers\n", "How many people attended?", "4"),
        ("Market\nItems: 6 eggs, 2 apples\n", "How many items are there?", "2"),  # no people: one item each
    ],
)
def test_a_list_of_counted_groups_counts_their_people(text: str, question: str, want: str) -> None:
    assert first_line(ask(text, question)) == want


def test_counted_groups_beside_a_name_give_no_count() -> None:
    assert first_line(ask("Kick-off\nParticipants: 2 designers, Ann\n", "How many participants were there?")) != "2"


@pytest.mark.parametrize(
    "text",
    [
        "Errands\n- Post office\n  - stamps\n  - parcel\n- Bank\n- Dentist\n",
        "Errands\n1. Post office\n   * stamps\n   * parcel\n2. Bank\n3. Dentist\n",
    ],
)
def test_sub_bullets_under_an_item_are_not_items(text: str) -> None:
    assert first_line(ask(text, "How many tasks are there?")) == "3"


def test_a_lists_title_above_its_sections_is_not_an_item() -> None:
    text = "Camping gear\nTent:\n- poles\n- pegs\nCooking:\n- stove\n- pot\n- mugs\n"
    assert first_line(ask(text, "How many items are there?")) == "5"


def test_notes_under_numbered_agenda_titles_are_not_items() -> None:
    text = "Agenda\n1. Roadmap\nLina walks us through Q3.\n2. Budget\nPiet has the latest figures.\n3. AOB\n"
    assert first_line(ask(text, "How many items are on the agenda?")) == "3"


def test_an_unnumbered_short_item_after_numbered_ones_still_counts() -> None:
    assert first_line(ask("Agenda\n1. Roadmap\n2. Budget\nAOB\n", "How many items are on the agenda?")) == "3"
