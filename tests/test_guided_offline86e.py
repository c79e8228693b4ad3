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


# v03: a "how many" answer is a count, never a row of a date and an amount

GIFTS = (
    "Club account\n\nMember: J. Holt\n\nFees paid\n  Bank transfer 4 Feb          £40.00\n"
    "  Bank transfer 4 Mar          £40.00\n  Bank transfer 4 Apr          £40.00\n\nBalance: £0.00\n"
)


def test_a_count_is_not_answered_by_a_date_and_an_amount() -> None:
    got = ask(GIFTS, "How many bank transfers were paid?", reply="4 Feb £40.00")
    assert first_line(got) != "4 Feb £40.00"
    assert "£40.00" not in first_line(got)


def test_a_count_of_money_may_be_money() -> None:
    text = "Jar\n\nThe jar holds 40 coins, worth £12 in all.\n"
    assert first_line(ask(text, "How many coins does the jar hold?", reply="40 coins")).startswith("40")
