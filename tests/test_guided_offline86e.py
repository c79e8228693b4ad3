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


# v02: an amount answers when it is tied to the asked rate or bound

TARIFF = (
    "Gas bill\n\nCharges\n  Gas: 820 kWh at 6.10p per kWh     £50.02\n  Daily charge: 30 days at 31p   £9.30\n"
    "  Subtotal    £59.32\n  Total charges    £62.29\n\nPay by 3 May."
)
LATE = "Late returns cost 10p per day per disc, up to a maximum of £3.50 per disc. Games are free."


def test_a_rate_is_the_amount_written_before_per_its_unit() -> None:
    assert first_line(ask(TARIFF, "What is the price per kWh?", reply="£62.29")) != "£62.29"
    assert first_line(ask(TARIFF, "What is the price per kWh?", reply="6.10p")) == "6.10p"


def test_a_maximum_is_the_amount_written_after_maximum() -> None:
    assert first_line(ask(LATE, "What is the maximum cost per disc?", reply="10p")) != "10p"
    assert first_line(ask(LATE, "What is the maximum cost per disc?", reply="£3.50")) == "£3.50"


def test_an_amount_of_no_rate_is_still_an_answer() -> None:
    assert first_line(ask(TARIFF, "What are the total charges?", reply="£62.29")) == "£62.29"


# v04: the highest value of a column is the greatest of its cells

LOG = "day,km,price_per_kg,stall\n2024-01-05,12,3.20,North\n2024-01-12,15,3.75,East\n2024-01-19,11,3.40,North\n"


def test_the_highest_of_a_column_named_by_its_identifier() -> None:
    got = ask(LOG, "What was the highest price_per_kg?", reply="3.20", name="log.csv")
    assert first_line(got) == "3.75"


def test_the_lowest_of_a_column_named_by_its_words() -> None:
    got = ask(LOG, "What was the lowest price per kg?", reply="3.20", name="log.csv")
    assert first_line(got) == "3.20"
    assert "line 2" in got


# v05: a form's fields, one a line, each keep their own value

FORM = (
    "PARKING NOTICE\nIssued under the Roads Act\n\nNotice number: PN7731\nAuthority: Eastvale Borough Council\n"
    "Vehicle registration: AB12 CDE\nVehicle colour: Blue, with roof rack\nDate issued: 3 March 2024\n"
    "Street name: Mill Lane (near the school)\nReason: 12 - Parked on a yellow line at a busy time\n"
    "Issued by: Officer 88\n\nPay within 14 days."
)


def test_the_value_of_the_next_label_is_no_answer() -> None:
    assert first_line(ask(FORM, "What is the vehicle registration?", reply="Blue")) != "Blue"
    assert first_line(ask(FORM, "What is the vehicle registration?", reply="AB12 CDE")) == "AB12 CDE"
    assert first_line(ask(FORM, "What is the vehicle colour?", reply="Blue")) == "Blue"


def test_a_word_is_no_answer_where_the_bound_is_an_amount() -> None:
    assert first_line(ask(LATE, "What is the maximum cost per disc?", reply="10p per day")) not in ("day", "10p")


# v06: a markdown table's header under its rule row may hold digits

BIKES = (
    "# Bikes on our list\n\n| Shop | Model | Gears | 2024 price | E-bike |\n|---|---|---|---|---|\n"
    "| Spokes | Tourer | 21 | £540 | No |\n| Spokes | Volt 2 | 8 | £1,450 | Yes |\n"
    "| Pedal Co | Urban | 3 | £390 | No |\n"
)


def test_a_markdown_header_with_digits_is_still_a_header() -> None:
    got = ask(BIKES, "Which model is the cheapest?", name="bikes.md")
    assert first_line(got) == "Urban"


# v10: "most often" over a log counts the rows of each value

SHOPS = (
    "day,km,price_per_kg,shop\n2024-02-01,10,2.10,Corner\n2024-02-08,12,2.40,Market\n"
    "2024-02-15,9,2.20,Corner\n2024-02-22,14,2.30,Depot\n"
)


def test_the_value_used_most_often_is_the_commonest_in_its_column() -> None:
    got = ask(SHOPS, "Which shop was used most often?", name="shops.csv")
    assert first_line(got) == "Corner"
    assert first_line(ask(SHOPS, "Which shop was visited most often?", name="shops.csv")) == "Corner"
