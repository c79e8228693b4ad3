"""Round 87 (review f): the offline guided root over small newcomer files (audit 87b).

A markdown pipe table amid prose (a title above it, notes below) was no table with columns: only a record file's
rows or a blank-aligned table were, so lookups, superlatives and month extremes over it fell to quotes or NOT
FOUND while the same rows as a CSV file were answered. Now the one pipe table of a text is read into the same
columns, its rows numbered by line as its units are."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line, replying
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer, split_units


def ask_rows(csv_text: str, question: str) -> str:
    """The answer over a CSV file as the CLI loads it: one dict a row, keyed by the header's cells."""
    lines = [line.split(",") for line in csv_text.strip().split("\n")]
    records = [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]
    index = build_index(collect_sources({"context": records}))
    return str(guided_answer(index, question, replying("NOT FOUND"))["answer"])


SEEDS = (
    "# Seed swap list 2026\n"
    "\n"
    "| Plant | Sow | Transplant | Pick | Row |\n"
    "|---|---|---|---|---|\n"
    "| Peas | March | - | June | North |\n"
    "| Squash | April (indoors) | late May | September | South |\n"
    "| Kale | May | July | December | East |\n"
    "| Radish | April | - | May | North |\n"
    "\n"
    "Notes:\n"
    "- Bring labelled envelopes.\n"
    "- Swaps start at ten.\n"
)

BOOKS = (
    "# Books I read this winter\n"
    "\n"
    "Score out of 10.\n"
    "\n"
    "| Book | Author | Finished | Score |\n"
    "|---|---|---|---|\n"
    "| Piranesi | Susanna Clarke | 4 Dec | 9 |\n"
    "| Hamnet: A Novel | Maggie O'Farrell | 19 Dec | 7 |\n"
    "| Klara and the Sun | Kazuo Ishiguro | 8 Jan | 6 |\n"
    "| Stoner | John Williams | 30 Jan | 10 |\n"
    "\n"
    "Next: something short.\n"
)


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (SEEDS, "When is squash transplanted?", "late May"),
        (SEEDS, "Which row is the kale in?", "East"),
        (SEEDS, "When is kale picked?", "December"),
        (BOOKS, "When did I finish Hamnet: A Novel?", "19 Dec"),
        (BOOKS, "What score did Piranesi get?", "9"),
    ],
)
def test_a_pipe_table_cell_is_looked_up_by_its_row_and_column(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question)) == answer


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Which book got the lowest score?", "Klara and the Sun"),
        ("Which book got the highest score?", "Stoner"),
    ],
)
def test_a_pipe_table_number_column_has_its_extremes(question: str, answer: str) -> None:
    assert first_line(ask(BOOKS, question)) == answer


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Which plant is picked last?", "Kale"),
        ("Which plant is picked first?", "Radish"),
        ("Which plant is sown first?", "Peas"),
    ],
)
def test_a_month_column_orders_by_month(question: str, answer: str) -> None:
    out = ask(SEEDS, question)
    assert first_line(out) == answer
    assert "line" in out.split("\n")[1]  # the table's rows are lines of the text, not records


READING = (
    "# Reading list\n"
    "\n"
    "| Book | Shelf | Finished |\n"
    "|---|---|---|\n"
    "| Middlemarch | B | 2 Feb |\n"
    "| Beloved | A | |\n"
    "| Ulysses | B | - |\n"
    "| Emma | A | 14 Mar |\n"
    "\n"
    "Blank = still to read.\n"
)


def test_rows_where_a_column_holds_a_value_are_named() -> None:
    out = ask(READING, "Which books are kept on shelf B?")
    assert first_line(out) == "Middlemarch, Ulysses"
    assert "line 5" in out and "line 7" in out


def test_rows_whose_verb_column_is_blank_are_the_ones_not_done() -> None:
    out = ask(READING, "Which books haven't I finished yet?")
    assert first_line(out) == "Beloved, Ulysses"  # '-' writes no value, as a blank cell
    assert first_line(ask(READING, "Which books have I not finished?")) == "Beloved, Ulysses"


def test_two_pipe_tables_are_no_one_table() -> None:
    # which of two tables a question means is a guess: no columns are read, and no row answers by code
    two = SEEDS + "\n" + BOOKS
    assert first_line(ask(two, "Which book got the lowest score?")) != "Klara and the Sun"
    assert first_line(ask(two, "When is kale picked?")) != "December"


# --- a field's label named word for word: its value is the answer (audit 87b v04) ---

TICKET = (
    "RAIL TICKET - NORTHLINK\n"
    "\n"
    "Ticket number: RT-55120-K\n"
    "Issued on: 2 June 2025\n"
    "Traveller: Mr Jonas Berg\n"
    "\n"
    "Outward journey\n"
    "Train: NL 301\n"
    "Coach: C   Seat: 42A\n"
    "Leaves: 08:10\n"
    "\n"
    "Return journey\n"
    "Train: NL 318\n"
    "Coach: F   Seat: 7D\n"
    "Leaves: 17:40\n"
    "\n"
    "Refund fee: £10 per ticket\n"
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is the ticket number?", "RT-55120-K"),
        ("How much is the refund fee?", "£10 per ticket"),
        ("Which seat do I have on the return journey?", "7D"),
        ("What is the train on the outward journey?", "NL 301"),
    ],
)
def test_a_label_named_word_for_word_gives_its_value(question: str, answer: str) -> None:
    assert first_line(ask(TICKET, question)) == answer


@pytest.mark.parametrize(
    "question",
    [
        "Which seat do I have?",  # two blocks write a seat and nothing picks one
        "What is the train?",
        "What is the ticket price?",  # no such label
    ],
)
def test_a_label_of_several_blocks_or_none_gives_no_value(question: str) -> None:
    assert first_line(ask(TICKET, question)) not in ("42A", "7D", "NL 301", "NL 318", "RT-55120-K")


# --- a title line with no colon titles the bullets right below it (audit 87b v08) ---

WARRANTY = (
    "BIKE WARRANTY SUMMARY\n"
    "Frame warranty: 5 years\n"
    "\n"
    "Exclusions\n"
    "- Punctures\n"
    "- Worn brake pads\n"
    "\n"
    "What is not included\n"
    "- Lights and locks\n"
    "- Delivery\n"
    "\n"
    "What is included\n"
    "- Gear cables\n"
    "- A first service\n"
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Are punctures covered?", "No"),
        ("Are worn brake pads covered?", "No"),
        ("Are lights and locks included?", "No"),
        ("Are gear cables included?", "Yes"),
    ],
)
def test_an_item_under_a_title_that_denies_the_state_is_no(question: str, answer: str) -> None:
    out = ask(WARRANTY, question)
    assert first_line(out) == answer
    assert "under '" in out.split("\n")[1]


def test_a_title_with_no_colon_labels_the_items_below() -> None:
    units, _ = split_units([("warranty.txt", WARRANTY)])
    where = {u["text"]: u["where"] for u in units}
    assert where["Lights and locks"].endswith("under 'What is not included'")
    assert where["Gear cables"].endswith("under 'What is included'")
    assert first_line(ask(WARRANTY, "Are brake pads covered?")) != "Yes"  # not the whole item: unsettled


# --- one cell of a table of marks, a day named by its column's short form (audit 87b v09) ---

REGISTER = (
    "Pupil,Mon 3 Mar,Tue 4 Mar,Wed 5 Mar\n"
    "Noor Haddad,Present,Absent,Present\n"
    "Owen Price,Late,Present,Present\n"
    "Priya Shah,Present,Present,Present\n"
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Was Noor Haddad present on Tuesday?", "No"),
        ("Was Noor Haddad absent on Tuesday?", "Yes"),
        ("Was Owen Price late on Monday?", "Yes"),
        ("Was Owen Price late on Wednesday?", "No"),
        ("Was Priya Shah ever absent?", "No"),
        ("Was Noor Haddad ever absent?", "Yes"),
    ],
)
def test_a_register_cell_settles_a_yes_no_question(question: str, answer: str) -> None:
    assert first_line(ask_rows(REGISTER, question)) == answer


def test_a_day_with_no_column_settles_nothing() -> None:
    assert first_line(ask_rows(REGISTER, "Was Noor Haddad present on Friday?")) not in ("Yes", "No")


# --- a blank-aligned table whose header names its columns with numbers (audit 87b v10) ---

LABEL = (
    "Seeded Rye Crackers - Nutrition\n"
    "\n"
    "Typical values        Per 100 g    Per 30 g portion\n"
    "Energy                1720 kJ      516 kJ\n"
    "Fat                   12.5 g       3.8 g\n"
    "  of which saturates  1.4 g        0.4 g\n"
    "Fibre                 14.0 g       4.2 g\n"
    "Salt                  1.10 g       0.33 g\n"
    "\n"
    "Box contains about 8 portions.\n"
)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How much fibre is in a portion?", "4.2 g"),
        ("How much salt is in 100 g?", "1.10 g"),
        ("How much saturates is in 100 g?", "1.4 g"),
    ],
)
def test_a_table_headed_per_100_g_is_read_by_column(question: str, answer: str) -> None:
    assert first_line(ask(LABEL, question)) == answer


@pytest.mark.parametrize("question", ["Who had full attendance?", "Who was present every day?"])
def test_the_rows_marked_present_throughout_are_named(question: str) -> None:
    out = ask_rows(REGISTER, question)
    assert first_line(out) == "Priya Shah"
    assert "record 3" in out
