"""Audit 83 (guided root, kinds A, D, E, F, H): a yes/no verdict only from a sentence that asserts its state
plainly; a date in digits is no phone or order number; ..."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import _of_the_asked_type, _whole_date, build_index, guided_answer, yes_no_answer


def _verdict(sentence: str, question: str) -> str | None:
    decided = yes_no_answer([{"text": sentence, "where": "line 1"}], question)
    return decided[0] if decided else None


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        ("The water bill has yet to be settled.", "Was the water bill settled?"),
        ("The fence is yet to be painted.", "Was the fence painted?"),
        ("The contract remains to be signed.", "Was the contract signed?"),
        ("The deposit was supposed to be returned in May.", "Was the deposit returned?"),
        ("The boiler was meant to be serviced last week.", "Was the boiler serviced?"),
        ("Omar must renew the parking permit.", "Did Omar renew the parking permit?"),
        ("Omar reportedly renewed the parking permit.", "Did Omar renew the parking permit?"),
        ("Omar supposedly renewed the parking permit.", "Did Omar renew the parking permit?"),
        ("We hoped the deposit was returned.", "Was the deposit returned?"),
        ("Omar claims he renewed the parking permit.", "Did Omar renew the parking permit?"),
        ("In theory the scanner reads barcodes.", "Does the scanner read barcodes?"),
        ("The scanner reads barcodes, but only in bright light.", "Does the scanner read barcodes?"),
        ("The scanner reads barcodes. However, it fails on curved labels.", "Does the scanner read barcodes?"),
    ],
)
def test_a_sentence_that_does_not_assert_its_state_decides_nothing(sentence: str, question: str) -> None:
    assert _verdict(sentence, question) is None


@pytest.mark.parametrize(
    ("sentence", "question", "verdict"),
    [
        ("The water bill was settled on Friday.", "Was the water bill settled?", "Yes"),
        ("The water bill has not yet been settled.", "Was the water bill settled?", "No"),
        ("Omar renewed the parking permit last week.", "Did Omar renew the parking permit?", "Yes"),
        ("The scanner reads barcodes and QR codes.", "Does the scanner read barcodes?", "Yes"),
        ("The deposit was returned to Omar in May.", "Was the deposit returned?", "Yes"),
    ],
)
def test_a_plain_statement_still_decides(sentence: str, question: str, verdict: str) -> None:
    assert _verdict(sentence, question) == verdict


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ("1990-02-28", "What is Nadia's phone number?"),
        ("2023-11-05", "What is the booking number?"),
        ("28/02/1990", "What is the booking number?"),
        ("28.02.1990", "What is her mobile number?"),
        ("10.1.2.256", "What is the IP address of the printer?"),
    ],
)
def test_a_date_in_digits_is_no_phone_or_order_number(answer: str, question: str) -> None:
    assert not _of_the_asked_type(answer, question)


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ("+33 6 12 34 56 78", "What is Nadia's phone number?"),
        ("02.98.76.54.32", "What is Nadia's phone number?"),
        ("BK-2023-11-05-114", "What is the booking number?"),
        ("10.1.2.254", "What is the IP address of the printer?"),
        ("1990-02-28", "When was Nadia born?"),
    ],
)
def test_numbers_of_the_asked_type_still_pass(answer: str, question: str) -> None:
    assert _of_the_asked_type(answer, question)


@pytest.mark.parametrize(
    ("month", "text"),
    [
        ("October", "The ferry leaves on 3 October and returns in late October."),
        ("March", "Filters are changed every March. Last change: 21 March."),
        ("July", "Our wedding day is the 9th of July. We bought the house in July 2015."),
    ],
)
def test_a_month_written_twice_is_not_grown_to_one_mention_s_day(month: str, text: str) -> None:
    assert _whole_date(month, text) == month


@pytest.mark.parametrize(
    ("core", "text", "grown"),
    [
        ("October", "Her name day is 3 October.", "3 October"),
        ("2011", "The mill closed on 14 March 2011.", "14 March 2011"),
    ],
)
def test_a_month_of_one_date_still_grows(core: str, text: str, grown: str) -> None:
    assert _whole_date(core, text) == grown


def _answer(text: str, question: str, reply: str) -> str:
    state = build_index([("notes", text)])
    return str(guided_answer(state, question, lambda prompts: [reply for _ in prompts])["answer"]).split("\n")[0]


def test_a_passive_doer_answers_no_what_question_on_its_verb() -> None:
    text = "# quickdiff\n\nquickdiff was written by Arno Vidal in 2021. It is written in Go.\n"
    assert "Arno" not in _answer(text, "What is quickdiff written in?", "Arno Vidal")
    assert _answer(text, "What is quickdiff written in?", "Go") == "Go"
    assert _answer(text, "Who wrote quickdiff?", "Arno Vidal") == "Arno Vidal"


def test_a_time_after_by_is_no_doer() -> None:
    text = "Workshop log\nThe drill was repaired by Friday.\nThe saw was sharpened by Ines Kerr.\n"
    assert _answer(text, "Who repaired the drill?", "Friday") != "Friday"
    assert _answer(text, "Who sharpened the saw?", "Ines Kerr") == "Ines Kerr"


def test_how_long_something_takes_is_a_duration() -> None:
    text = "Hikes\nThe ridge trail is 8 km long and takes 3 hours.\n"
    assert _answer(text, "How long does the ridge trail take?", "8 km") != "8 km"
    assert _answer(text, "How long does the ridge trail take?", "3 hours") == "3 hours"
    assert _answer(text, "How long is the ridge trail?", "8 km") == "8 km"


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        ("Plants\nThe fern is watered twice a week.\n", "How often is the fern watered?", "twice a week"),
        ("Bills\nThe water bill is paid every quarter.\n", "How often is the water bill paid?", "every quarter"),
    ],
)
def test_a_frequency_without_a_digit_answers_how_often(text: str, question: str, reply: str) -> None:
    assert _answer(text, question, reply) == reply
