"""The guided root over a newcomer's bills, notices and logs (audit 86c v01-v05): a number's thousands comma, a count
that is a number, an amount tied to the rate or bound the question names, a column's greatest value, and a form's
fields each with its own value."""

from __future__ import annotations

from guided_stub import ask, first_line

METER = "Water bill\n\nReadings\n  Start: 10,870\n  End: 13,275\n  Litres used: 2,405 litres\n\nPay by 3 June."


# v01: a thousands comma splits no list


def test_a_thousands_comma_is_no_list_of_two() -> None:
    got = ask(METER, "How many litres were used?")
    assert first_line(got) != "2"
    assert "Counted: the items" not in got


def test_a_list_of_names_still_counts() -> None:
    text = "Trip\n\nDrivers: Ola, Ben, Cy\n\nLeave at 9."
    assert first_line(ask(text, "How many drivers are there?")) == "3"
