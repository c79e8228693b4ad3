"""A yes/no question that states a value the text states otherwise (audit 84b F11): the text's value settles it,
equal is Yes, different (or on the wrong side of a comparison) is No; a question whose subject or attribute is not
surely matched is left alone."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

MARKS = "pupil,class,history,art\nNoah Fry,7B,64,91\nLina Moss,7C,83,70\n"
TALLY = "Season tally\nWon: 11\nLost: 5\nDrawn: 3\n"
TRIP = "Family notes\n\nWe are saving up for a ski trip in February. The car needs new tyres.\n"
LIMITS = "Plan limits\n\n- Folders can be shared with up to five people.\n"


@pytest.mark.parametrize(
    ("question", "verdict"),
    [
        ("Did Noah Fry get over 70 in history?", "No"),
        ("Did Noah Fry get over 60 in history?", "Yes"),
        ("Did Lina Moss score less than 75 in art?", "Yes"),
        ("Did Lina Moss score 83 in history?", "Yes"),
        ("Did Lina Moss score 80 in history?", "No"),
    ],
)
def test_a_row_cell_settles_a_stated_value(question: str, verdict: str) -> None:
    answer = ask(MARKS, question)
    assert first_line(answer) == verdict
    assert "Noah Fry" in answer or "Lina Moss" in answer


def test_a_column_the_table_lacks_is_not_compared() -> None:
    assert first_line(ask(MARKS, "Did Noah Fry score above 60 in music?")) not in ("Yes", "No")


@pytest.mark.parametrize(
    ("question", "verdict", "value"),
    [("Did they lose 8 games?", "No", "5"), ("Did they win more than 10 games?", "Yes", "11")],
)
def test_a_labelled_line_settles_a_stated_number(question: str, verdict: str, value: str) -> None:
    answer = ask(TALLY, question)
    assert first_line(answer) == verdict
    assert f"The text gives: {value}" in answer


@pytest.mark.parametrize(
    ("question", "verdict"), [("Is the ski trip in March?", "No"), ("Is the ski trip planned for February?", "Yes")]
)
def test_a_sentence_settles_a_stated_month(question: str, verdict: str) -> None:
    answer = ask(TRIP, question)
    assert first_line(answer) == verdict
    assert "February" in answer


@pytest.mark.parametrize(
    ("question", "verdict"),
    [("Can folders be shared with seven people?", "No"), ("Can folders be shared with three people?", "Yes")],
)
def test_a_stated_maximum_settles_can(question: str, verdict: str) -> None:
    assert first_line(ask(LIMITS, question)) == verdict


def test_another_subject_is_not_compared() -> None:
    text = "Notes\n\nTom scored 88 in the final test.\n"
    assert first_line(ask(text, "Did Anna score above 90 in the final test?")) not in ("Yes", "No")


def test_a_negated_or_hedged_sentence_settles_nothing() -> None:
    text = "Notes\n\nThe trip might be in June.\n"
    assert first_line(ask(text, "Is the trip in July?")) not in ("Yes", "No")


THREAD = (
    "From: Ana Ruiz <ana@example.org>\nTo: Ben Cole <ben@example.org>\nSubject: Re: Re: Van hire\n\nHi Ben,\n\n"
    "Saturday is fine.\n\nAna\n\n> On Mon, 3 Mar 2025 at 10:02, Ben Cole wrote:\n> Can we move it to Saturday?\n"
    "> Ben\n>\n>> On Sun, 2 Mar 2025 at 18:40, Ana Ruiz wrote:\n>> The van is booked for Friday.\n>> Ana\n"
)


@pytest.mark.parametrize("question", ["How many emails are in the thread?", "How many messages are there?"])
def test_the_mails_of_a_thread_are_counted_with_its_quoted_replies(question: str) -> None:
    assert first_line(ask(THREAD, question)) == "3"


def test_a_count_of_one_senders_mails_is_not_the_thread_count() -> None:
    assert first_line(ask(THREAD, "How many messages did Ben send?")) != "3"


PILLS = (
    "Dosing plan - Arthur Penn\n\nAmlodipine 5 mg - 1 tablet in the morning, with water\n"
    "Omeprazole 20 mg - 1 capsule before breakfast\nSertraline 50 mg - 1 tablet daily, at night\n"
    "Vitamin B12 1000 mcg - 1 tablet daily, with lunch\n\nNotes:\nAvoid grapefruit.\n"
)


@pytest.mark.parametrize("question", ["How many medications are on the plan?", "How many medications are there?"])
def test_the_lines_of_a_dose_schedule_are_counted(question: str) -> None:
    assert first_line(ask(PILLS, question)) == "4"


def test_a_schedule_line_is_a_unit_of_its_own() -> None:
    answer = ask(PILLS, "When is Omeprazole taken?")
    assert "Amlodipine" not in answer and "Sertraline" not in answer


def test_a_count_of_tablets_is_not_the_count_of_lines() -> None:
    assert first_line(ask(PILLS, "How many tablets are on the plan?")) != "4"


RECEIPT = (
    "RECEIPT 2291\n\nSold to: Pine Cafe\n\nProduct              Qty   Price\nOat milk 1L            6   £9.00\n"
    "Coffee beans 1kg       2   £36.00\nPaper cups (x100)      3   £12.00\n\nTotal: £57.00\n"
)


@pytest.mark.parametrize(
    "question", ["How many line items are on the receipt?", "How many products are on the receipt?"]
)
def test_the_rows_of_a_whitespace_aligned_table_are_counted(question: str) -> None:
    assert first_line(ask(RECEIPT, question)) == "3"


@pytest.mark.parametrize(
    ("question", "verdict"),
    [("Is Noah Fry in class 7C?", "No"), ("Is Noah Fry in class 7B?", "Yes"), ("Is Lina Moss in 7B?", "No")],
)
def test_a_row_cell_settles_a_stated_code(question: str, verdict: str) -> None:
    answer = ask(MARKS, question)
    assert first_line(answer) == verdict


def test_a_stated_code_with_an_unknown_word_is_not_compared() -> None:
    assert first_line(ask(MARKS, "Is Noah Fry head of 7C?")) not in ("Yes", "No")


NOTES = "Club meeting\n\nHost: Priya Nair\nPresent: Priya Nair, Sam Cole, Jo Park\n"


@pytest.mark.parametrize(
    ("question", "verdict"),
    [
        ("Is the host Priya Nair?", "Yes"),
        ("Was Sam Cole the host?", "No"),
        ("Was Dev Shah present?", "No"),
        ("Was Jo Park present?", "Yes"),
    ],
)
def test_a_labelled_line_settles_a_stated_name(question: str, verdict: str) -> None:
    assert first_line(ask(NOTES, question)) == verdict


def test_an_open_list_settles_no_name() -> None:
    text = "Club meeting\n\nPresent: Priya Nair, Sam Cole and others\n"
    assert first_line(ask(text, "Was Dev Shah present?")) != "No"


def test_a_row_named_with_a_possessive_is_compared() -> None:
    answer = ask(MARKS, "Is Lina Moss's history mark above 90?")
    assert first_line(answer) == "No"
    assert "The text gives: 83" in answer
