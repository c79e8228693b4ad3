"""Rules of round 85's branches meeting: a yes/no question that names an identifier with a number ("order 55") is
no equality question about that number, so a date in the line ("on 4 May") does not make the line a rival value
(it hedged "Was order 55 delivered?"); a value question's number still meets its rivals in the same unit."""

from __future__ import annotations

from guided_stub import ask, first_line


def test_an_identifier_number_is_no_value_a_date_rivals() -> None:
    text = "Order 55 was delivered on 4 May. The customer returned order 55 on 9 May."
    assert first_line(ask(text, "Was order 55 delivered?", "NOT FOUND")) == "Yes"
    assert first_line(ask("Room 12 was cleaned on 3 June.", "Was room 12 cleaned?", "NOT FOUND")) == "Yes"


def test_a_value_in_the_same_unit_still_rivals() -> None:
    text = "Fee: 30 EUR (members 20 EUR)."
    assert first_line(ask(text, "Is the fee 20 EUR?", "NOT FOUND")) != "Yes"
