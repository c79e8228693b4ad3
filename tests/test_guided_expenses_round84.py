"""Expense tables (review 84 C): a total row qualified by a period, a note or an estimate is no item, and amounts
written with their currency ('€300', '40 EUR') are amounts."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

SHOP = "Date,Description,Amount\n2024-06-02,Bakery,12.40\n2024-06-05,Hardware store,30.00\n{row}"


@pytest.mark.parametrize(
    "label",
    ["Weekly total", "Total June", "Total: June (approx.)", "June total", "Total Q2", "Running total", "Total - June"],
)
def test_a_total_row_with_a_period_or_note_is_no_expense(label: str) -> None:
    text = SHOP.format(row=f",{label},42.40\n")
    assert first_line(ask(text, "How much did I spend in total?", name="june.csv")) == "42.40"
    assert first_line(ask(text, "What did I spend the most on?", name="june.csv")) == "Hardware store"


@pytest.mark.parametrize("label", ["Total Wine", "Total rent", "Total Mayhem"])
def test_an_item_that_only_starts_with_total_is_still_an_item(label: str) -> None:
    text = SHOP.format(row=f"2024-06-07,{label},5.00\n")
    assert first_line(ask(text, "How much did I spend in total?", name="june.csv")) == "47.40"


@pytest.mark.parametrize(("sign", "after"), [("£", False), ("$", False), (" GBP", True), ("€", True)])
def test_amounts_written_with_a_currency_are_summed_and_ranked(sign: str, after: bool) -> None:
    cells = [f"{n}{sign}" if after else f"{sign}{n}" for n in ("120", "45", "18")]
    text = f"what,paid\nFerry,{cells[0]}\nLunch,{cells[1]}\nBus,{cells[2]}\n"
    assert first_line(ask(text, "How much did we spend in total?", name="trip.csv")) == "183"
    assert first_line(ask(text, "What did we spend the most on?", name="trip.csv")) == "Ferry"


def test_amounts_in_two_currencies_are_never_one_sum() -> None:
    text = "what,paid\nFerry,£120\nLunch,€45\nBus,£18\n"
    got = first_line(ask(text, "How much did we spend in total?", name="trip.csv"))
    assert "138" in got and "45" in got and "183" not in got
    assert first_line(ask(text, "What did we spend the most on?", name="trip.csv")) == "NOT FOUND"
