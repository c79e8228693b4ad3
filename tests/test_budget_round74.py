"""Budgets and prices hold what they say (audit 74 budget v01-v03): a field with no unlimited setting refuses None
(`Budget(cell_timeout=None)` crashed every run with a TypeError); every figure of a user's price is a finite number
>= 0, whatever form the price is given in (NaN crashed admission, a negative price let a USD budget send every
call); and a run whose time budget ran out while its cell waited on `llm_query_batched` ends budget_exhausted, not
"finished" with the budget errors as its answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from rlmx import RLM, Budget, InputError
from rlmx.lm import ScriptedLM
from rlmx.lm.prices import Price, PriceTable, Tier
from scripting import repl

NAN, INF = float("nan"), float("inf")


# --- v01: None only where a field is typed `... | None` -----------------------------------------------------------


@pytest.mark.parametrize("name", ["cell_timeout", "max_iterations", "max_tokens_per_call"])
def test_a_budget_field_with_no_unlimited_setting_refuses_none(name: str) -> None:
    with pytest.raises(InputError, match=rf"Budget\.{name} cannot be None: .*the default is"):
        Budget(**{name: None})


def test_every_field_typed_optional_still_takes_none_for_unlimited() -> None:
    optional = [f.name for f in dataclasses.fields(Budget) if "None" in str(f.type)]
    assert {"max_usd", "max_seconds", "max_tokens", "max_subcalls"} <= set(optional)
    assert "cell_timeout" not in optional
    budget = Budget(**dict.fromkeys(optional))
    assert all(getattr(budget, name) is None for name in optional)


def test_a_run_never_starts_with_a_cell_timeout_of_none() -> None:
    # the TypeError came from the sandbox (`timeout + ...`), or with max_seconds from `_cell_time`
    for extra in ({}, {"max_seconds": 5}):
        with pytest.raises(InputError, match="cell_timeout"):
            RLM(ScriptedLM([repl("FINAL(1)")]), budget=Budget(cell_timeout=None, **extra))  # type: ignore[arg-type]


# --- v02: every figure of a user's price ---------------------------------------------------------------------------

BAD_PRICES: list[tuple[Any, str]] = [
    (Price(NAN, 1.0), "input_per_million"),
    (Price(1.0, INF), "output_per_million"),
    (Price(-1.0, -2.0), "input_per_million"),
    (Price(1.0, 1.0, per_request=-1.0), "per_request"),
    (Price(1.0, 1.0, per_request=NAN), "per_request"),
    (Price(1.0, 1.0, cache_read_per_million=-0.5), "cache_read_per_million"),
    (Price(1.0, 1.0, cache_write_per_million=INF), "cache_write_per_million"),
    (Price(1.0, 1.0, output_audio_per_million=NAN), "output_audio_per_million"),
    (Price(1.0, 1.0, input_image_per_million=-3.0), "input_image_per_million"),
    (Price(1.0, 1.0, tiers=(Tier(200_000, 2.0, INF),)), r"tiers\[0\]\.output_per_million"),
    (Price(1.0, 1.0, tiers=(Tier(-1, 2.0, 3.0),)), r"tiers\[0\]\.above_input_tokens"),
    (Price("1", 2.0), "input_per_million"),  # type: ignore[arg-type]
    ((1.0, INF), "two finite numbers"),
    ((NAN, 1.0), "two finite numbers"),
    ((-1.0, 2.0), "two finite numbers"),
    ([0.5, -INF], "two finite numbers"),
    ("12", r"must be \(input USD"),  # unpacked, it read as (1, 2)
    ((True, 1.0), r"must be \(input USD"),
    ((10**400, 1.0), r"must be \(input USD"),
]


@pytest.mark.parametrize(("price", "named"), BAD_PRICES)
def test_a_bad_price_figure_is_refused_when_the_rlm_is_built(price: Any, named: str) -> None:
    root = ScriptedLM([repl("FINAL(1)")], model="m")
    for budget in (Budget(), Budget(max_usd=0.003)):  # refused whether or not a USD budget would use it
        with pytest.raises(InputError, match=rf"price for 'm'.*{named}"):
            RLM(root, prices={"m": price}, budget=budget)


def test_prices_must_be_a_mapping_of_model_names() -> None:
    with pytest.raises(InputError, match="prices must be a dict"):
        PriceTable([("m", (1.0, 2.0))])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="keyed by model name"):
        PriceTable({1: (1.0, 2.0)})  # type: ignore[dict-item]


def test_good_prices_in_every_form_are_kept_as_floats() -> None:
    tiered = Price(1, 2, tiers=[Tier(100, 3, 4)], per_request=0, output_audio_per_million=64)  # type: ignore[arg-type]
    table = PriceTable({"a": (1, 2), "b": [0.0, "2.5"], "c": tiered})  # type: ignore[dict-item]
    assert (table.prices["a"].input_per_million, table.prices["b"].output_per_million) == (1.0, 2.5)
    assert table.prices["c"].tiers == (Tier(100, 3.0, 4.0),)
    assert table.prices["c"].output_audio_per_million == 64.0 and table.prices["c"].cache_read_per_million is None
    assert isinstance(table.prices["c"].input_per_million, float)


def test_a_free_price_still_runs_under_a_usd_budget() -> None:
    root = ScriptedLM([repl("FINAL(len(llm_query_batched(['a'] * 3)))")], model="m")
    sub = ScriptedLM(lambda messages: "ok", model="m")
    rlm = RLM(root, sub_lm=sub, prices={"m": Price(0, 0)}, budget=Budget(max_usd=0.003))
    result = rlm.completion("q", context="c")
    assert (result.status, result.answer, result.usage.cost_usd) == ("finished", "3", 0.0)


# --- v03: a finish reached after the time budget ran out -----------------------------------------------------------

LATE_FINISHES = [
    "outs = llm_query_batched(['a', 'b'])\nFINAL('got: ' + ' / '.join(outs))",
    "outs = rlm_query_batched(['a', 'b'])\nFINAL('got: ' + ' / '.join(outs))",
    "outs = llm_query_batched(['a', 'b'])\nanswer['content'] = ' / '.join(outs)\nanswer['ready'] = True",
]


@pytest.mark.parametrize("cell", LATE_FINISHES)
async def test_a_finish_after_the_time_budget_ran_out_is_no_finished_run(cell: str) -> None:
    slow = ScriptedLM(lambda messages: "slow", delay=10)
    rlm = RLM(ScriptedLM([repl(cell)]), sub_lm=slow, budget=Budget(max_seconds=1))
    result = await rlm.acompletion("q", context="c")
    assert (result.status, result.ok) == ("budget_exhausted", False), result.stop_reason
    assert result.stop_reason.startswith("max_seconds: the 1 s time budget"), result.stop_reason
    # with no answer buffer, what the cell finished with is the best answer so far, the budget errors in it
    assert "Error: budget exhausted: max_seconds" in result.answer


async def test_a_late_finish_leaves_the_answer_buffer_as_the_answer() -> None:
    # as when the cell is stopped at the deadline: the draft the model kept, not what it made of the budget errors
    cell = "answer['content'] = 'draft'\nouts = llm_query_batched(['a', 'b'])\nFINAL('|'.join(outs))"
    slow = ScriptedLM(lambda messages: "slow", delay=10)
    result = await RLM(ScriptedLM([repl(cell)]), sub_lm=slow, budget=Budget(max_seconds=1)).acompletion("q")
    assert (result.status, result.answer, result.answer_source) == ("budget_exhausted", "draft", "answer_buffer")
    assert result.stop_reason.startswith("max_seconds"), result.stop_reason


async def test_a_finish_within_the_time_budget_still_finishes() -> None:
    fast = ScriptedLM(lambda messages: "quick", delay=0.05)
    cell = "outs = llm_query_batched(['a', 'b'])\nFINAL(' / '.join(outs))"
    result = await RLM(ScriptedLM([repl(cell)]), sub_lm=fast, budget=Budget(max_seconds=30)).acompletion("q")
    assert (result.status, result.answer, result.stop_reason) == ("finished", "quick / quick", "finished by final")


async def test_items_a_spending_limit_refused_leave_the_models_finish_standing() -> None:
    # documented: batched items a token, USD or sub-call limit refused come back as error strings for the model to
    # work around; it spent nothing past the limit, so its finish is a finish (only time runs out on its own)
    cell = "outs = llm_query_batched(['a'] * 4)\nFINAL(sum(not o.startswith('Error') for o in outs))"
    sub = ScriptedLM(lambda messages: "fine")
    result = await RLM(ScriptedLM([repl(cell)]), sub_lm=sub, budget=Budget(max_subcalls=2)).acompletion("q")
    assert (result.status, result.answer) == ("finished", "2")
