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
