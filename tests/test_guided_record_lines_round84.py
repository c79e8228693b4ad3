"""Record lines (review 84 F): a note or footer written with the records' separator ('Updated - March', 'Note -
call Ben first') is no record, and a count never includes it."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

PHONES = "Gran - 01632 960111\nUncle Rob - 01632 960222\nPriya - 01632 960333\n"
MAILS = "Lena Holt - lena@example.org\nOmar Said - omar@example.org\n"


@pytest.mark.parametrize("footer", ["Updated - April", "Checked - Sept 2025", "Note - Rob moved in June"])
def test_a_footer_line_below_phone_records_is_not_counted(footer: str) -> None:
    assert first_line(ask(PHONES + footer + "\n", "How many contacts are there?")) == "3"


def test_a_note_line_below_mail_records_is_not_a_person() -> None:
    got = first_line(ask(MAILS + "NB - ask Omar for the new one\n", "How many people are on the list?"))
    assert got == "2"


def test_a_note_among_the_records_gives_no_count_with_it() -> None:
    text = "Gran - 01632 960111\nNote - call after six\nUncle Rob - 01632 960222\nPriya - 01632 960333\n"
    assert first_line(ask(text, "How many contacts are there?")) != "4"


def test_a_last_record_with_no_number_yet_is_still_a_record() -> None:
    assert first_line(ask(PHONES + "Cy - tbc\n", "How many contacts are there?")) == "4"
