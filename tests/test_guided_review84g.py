"""Review 84c v01-v05: yes/no undo by a later sentence, compound nouns in a question, ended states, and the record
field that stands for a question's unwritten verb (our own made-up texts)."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("The leak was patched on Tuesday. The patch was rolled back on Thursday.", "Was the leak patched?"),
        ("The room was reserved for Friday. The reservation fell through.", "Was the room reserved?"),
        ("The hall was rented for the party. The renting was cancelled in March.", "Was the hall rented?"),
        ("The laptop was rebooted at noon. The reboot failed.", "Was the laptop rebooted?"),
    ],
)
def test_a_later_noun_of_the_act_undoes_it(text: str, question: str) -> None:
    # the noun spelled as its verb ("the reboot") or its -ing form ("the renting") ties the undo to the question
    assert first_line(ask(text, question)) not in ("Yes", "No")


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (
            "The wire transfer was confirmed. A week later the transfer was recalled.",
            "Was the wire transfer confirmed?",
        ),
        ("The bank loan payment was sent on 2 June. The payment bounced.", "Was the bank loan payment sent?"),
    ],
)
def test_a_compound_noun_is_no_verb_of_the_question(text: str, question: str) -> None:
    assert first_line(ask(text, question)) not in ("Yes", "No")


def test_a_compound_subject_keeps_its_pronoun_sentence() -> None:
    text = "The cleanup task is started by systemd. It runs every Sunday at 4:00."
    assert first_line(ask(text, "How often does the cleanup task run?", "every Sunday")) == "every Sunday"


def test_a_plain_passive_still_answers_yes() -> None:
    assert first_line(ask("The wire transfer was confirmed on Monday.", "Was the wire transfer confirmed?")) == "Yes"
    assert first_line(ask("The rent was paid last month.", "Was the rent paid last month?")) == "Yes"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("The licence was suspended in March. It was reinstated in April.", "Is the licence suspended?"),
        ("The mailbox was disabled on Monday. It was re-enabled on Wednesday.", "Is the mailbox disabled?"),
        ("The shop was closed in winter. The shop is open again since April.", "Is the shop closed?"),
        ("The player was blocked by the admins. The block was lifted a week later.", "Is the player blocked?"),
    ],
)
def test_a_state_put_back_is_no_present_yes(text: str, question: str) -> None:
    assert first_line(ask(text, question)) != "Yes"  # "No" is right too ("is open again" says it is not closed)


def test_a_state_put_back_still_held_in_the_past() -> None:
    text = "The licence was suspended in March. It was reinstated in April."
    assert first_line(ask(text, "Was the licence suspended?")) == "Yes"


def test_an_open_bound_ends_nothing() -> None:
    assert first_line(ask("The bridge was closed until further notice.", "Is the bridge closed?")) == "Yes"
    assert first_line(ask("The bridge was closed until 3 May 2021.", "Is the bridge closed?")) not in ("Yes", "No")


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        ("The sofa was delivered on 2 May. We returned the sofa on 6 May.", "Was the sofa delivered?", "Yes"),
        ("The book was borrowed from the library. It was returned in June.", "Was the book borrowed?", "Yes"),
    ],
)
def test_a_return_presupposes_the_delivery(text: str, question: str, expected: str) -> None:
    assert first_line(ask(text, question)) == expected


def test_a_returned_payment_is_still_undone() -> None:
    text = "The deposit was paid on Monday. The deposit was returned by the bank."
    assert first_line(ask(text, "Was the deposit paid?")) not in ("Yes", "No")


def test_a_return_to_sender_still_undoes_the_delivery() -> None:
    text = "The letter was posted on 2 May. It was returned to sender on 9 May."
    assert first_line(ask(text, "Was the letter posted?")) != "Yes"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("name,home town,work town\nMia Holt,Tarn,Vale\n", "Vale"),
        ("name,hometown,address\nMia Holt,Tarn,3 Hill Road Vale\n", "Tarn"),
        ("name,former address,address\nMia Holt,7 Low Street Tarn,3 Hill Road Vale\n", "7 Low Street Tarn"),
    ],
)
def test_only_the_field_that_says_the_verb_answers(text: str, reply: str) -> None:
    # "Where does Mia live?": the address, not where she works, grew up or lived before
    assert first_line(ask(text, "Where does Mia live?", reply)) != reply


def test_the_field_that_says_the_verb_still_answers() -> None:
    text = "name,former address,address\nMia Holt,7 Low Street Tarn,3 Hill Road Vale\n"
    assert first_line(ask(text, "Where does Mia live?", "3 Hill Road Vale")) == "3 Hill Road Vale"
    text = "title,author,editor\nLow Tide,Ruth Park,Sam Ng\n"
    assert first_line(ask(text, "Who wrote Low Tide?", "Ruth Park")) == "Ruth Park"
    assert first_line(ask(text, "Who wrote Low Tide?", "Sam Ng")) != "Sam Ng"
