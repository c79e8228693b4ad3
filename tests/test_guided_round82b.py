"""Audit 82 (the offline default on a newcomer's files): a list's title without '#' or ':' ("TODO", "Shopping
list") was counted as an item, and everyday wordings of "how many items" ("on my list", "tasks", "things to do")
were NOT FOUND. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

ERRANDS = """ERRANDS
- post the letter to Gdansk
- return the library books
- collect the dry cleaning
"""
PACKING = """Packing list
* tent
* stove
* head torch
* rope
* map
"""
NUMBERED = """Garden jobs for spring
1. prune the roses
2. sow the carrots
"""
UNBULLETED = """CAMPING GEAR
tent
stove
rope
"""
PLAIN = """tent
stove
rope
"""


@pytest.mark.parametrize(
    ("text", "n"), [(ERRANDS, "3"), (PACKING, "5"), (NUMBERED, "2"), (UNBULLETED, "3"), (PLAIN, "3")]
)
@pytest.mark.parametrize("question", ["How many items are there?", "How many items are in the list?"])
def test_a_lists_title_is_no_item_of_it(text: str, n: str, question: str) -> None:
    answer = ask(text, question)
    assert first_line(answer) == n, answer


def test_the_title_set_aside_is_said() -> None:
    assert "'ERRANDS' aside" in ask(ERRANDS, "How many items are there?")


@pytest.mark.parametrize(
    "question",
    [
        "How many items are on my list?",
        "How many items are on the list?",
        "How many tasks are there?",
        "How many errands are there?",
        "How many things do I have to do?",
        "How many things are on the list?",
    ],
)
def test_everyday_wordings_of_how_many_items_count_the_list(question: str) -> None:
    answer = ask(ERRANDS, question)
    assert first_line(answer) == "3", answer


def test_tasks_that_mention_a_word_are_counted_among_the_items() -> None:
    answer = ask(ERRANDS, "How many tasks mention the library?")
    assert first_line(answer) == "1" and "among 3" in answer, answer


# --- a word that only frames the question, which a small text never writes, no longer sinks the line ---------------

CHORES = """Weekend
- repaint the shed door
- book the vet for Biscuit
- return the drill to Sam
"""


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("When must I repaint the shed door?", "repaint the shed door"),
        ("Do I need to book the vet?", "book the vet for Biscuit"),
        ("Should I return the drill?", "return the drill to Sam"),
        ("Is returning the drill on my list?", "return the drill to Sam"),
    ],
)
def test_a_frame_word_the_text_lacks_leaves_the_line_found(question: str, line: str) -> None:
    answer = ask(CHORES, question)
    assert not first_line(answer).startswith("NOT FOUND") and line in answer, answer


@pytest.mark.parametrize(
    "question", ["When must I renew my passport?", "Do I need to feed the goldfish?", "Is the dentist on the list?"]
)
def test_an_absent_errand_stays_not_found(question: str) -> None:
    assert first_line(ask(CHORES, question)) == "NOT FOUND"


# --- numbered sections: a title run into its text, and "which section covers X" --------------------------------

TERMS = """SERVICE TERMS

1. Definitions. "Provider" means the company that runs the service, and "Member" means anyone who
signs up for an account with it under these terms.

2. Refunds and Cancellation. A Member may cancel at any time, and fees paid for the current month are
refunded in part, as set out on the pricing page at the time of cancellation.

3. Governing Law.

The laws of the Republic of Ireland govern these terms and every dispute arising from them, and the
courts of Dublin alone may hear such a dispute.
"""


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What is the title of section 2?", "Refunds and Cancellation"),
        ("What is section 1 called?", "Definitions"),
        ("What is the title of section 3?", "Governing Law"),
    ],
)
def test_a_numbered_title_run_into_its_text_is_read(question: str, title: str) -> None:
    assert first_line(ask(TERMS, question)) == title


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("Which section covers cancellation?", "2"),
        ("Which section deals with the governing law?", "3"),
        ("What section is about refunds?", "2"),
    ],
)
def test_which_section_covers_a_subject_is_the_one_whose_title_names_it(question: str, number: str) -> None:
    answer = ask(TERMS, question)
    assert first_line(answer).startswith(f"Section {number}:"), answer


def test_which_section_covers_a_subject_no_title_names_is_no_guess() -> None:
    assert not first_line(ask(TERMS, "Which section covers data retention?")).startswith("Section")


# --- an abbreviation glued to its number ------------------------------------------------------------------------

STANDARDS = """# name      code  notes
railcab     41    Rolling stock electronics [EN50155]
timestamps  42    Date and time interchange [ISO8601]
mailbox     43    Internet message format [RFC5322]
"""


@pytest.mark.parametrize(
    ("question", "glued"),
    [
        ("Which RFC describes mailbox?", "RFC5322"),
        ("What is the ISO standard for timestamps?", "ISO8601"),
        ("Which EN standard covers railcab?", "EN50155"),
    ],
)
def test_an_abbreviation_glued_to_its_number_is_found_by_the_abbreviation(question: str, glued: str) -> None:
    answer = ask(STANDARDS, question)
    assert not first_line(answer).startswith("NOT FOUND") and glued in answer, answer


def test_an_abbreviation_the_text_never_writes_stays_not_found() -> None:
    assert first_line(ask(STANDARDS, "Which IEEE standard covers railcab?")) == "NOT FOUND"


# --- a sum over the rows a value names ------------------------------------------------------------------------------

BILLS = """paid_on,payee,kind,euros
2024-02-01,City Power,utilities,61.40
2024-02-03,Greenfield Farm,food,23.10
2024-02-09,Water Board,utilities,18.25
2024-02-14,Greenfield Farm,food,31.00
2024-02-20,Rail Pass,travel,45
"""


def ask_csv(question: str) -> str:
    return ask(BILLS, question, name="bills.csv")


@pytest.mark.parametrize(
    ("question", "total"),
    [
        ("How much did I spend on utilities in total?", "79.65"),
        ("What is the total amount spent on food?", "54.10"),
        ("How much was paid to Greenfield Farm altogether?", "54.10"),
        ("How much did I spend on travel?", "45"),
    ],
)
def test_a_total_over_the_rows_a_value_names_is_summed(question: str, total: str) -> None:
    answer = ask_csv(question)
    assert first_line(answer) == total, answer
    assert "summed" in answer


@pytest.mark.parametrize(
    "question",
    [
        "How much did I spend on utilities and food in total?",  # two values: which sum is a guess
        "What is the total spent on clothes?",  # no row has it
        "How much did I spend on utilities other than City Power?",  # an exclusion no sum reads
    ],
)
def test_a_total_that_names_no_one_value_is_no_sum(question: str) -> None:
    assert "summed" not in ask_csv(question)
