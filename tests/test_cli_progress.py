"""The progress summary of a run cut short: a real run, cancelled inside its turn as Ctrl-C cancels it, says
which turn it stopped in instead of "0 turns"."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from rlmx import RLM, Event
from rlmx.lm import ScriptedLM
from rlmx.progress import Progress, format_usd

SLOW_CELL = "```repl\nprint(llm_query('a'))\nprint(llm_query('b'))\nimport time\ntime.sleep(60)\n```"


async def cancelled_in_turn_two(rlm: RLM, events: list[Event]) -> None:
    run = asyncio.create_task(rlm.acompletion("q", context="abc"))
    while sum(1 for e in events if e.type == "subcall_end") < 2:  # turn 2's cell has made its sub-calls
        await asyncio.sleep(0.02)
    run.cancel()
    try:
        await run
    except asyncio.CancelledError:
        return
    raise AssertionError("the run was not cancelled")


def test_a_cancelled_run_says_the_turn_it_stopped_in() -> None:
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    events: list[Event] = []

    def listen(event: Event) -> None:
        events.append(event)
        progress(event)

    replies = ["```repl\nx = 1\nprint(x)\n```", SLOW_CELL, "one", "two"]
    rlm = RLM(ScriptedLM(replies), on_event=listen)
    asyncio.run(asyncio.wait_for(cancelled_in_turn_two(rlm, events), 60))
    (end,) = [e for e in events if e.type == "run_end"]
    assert end.data["status"] == "cancelled"
    summary = out.getvalue().splitlines()[-1]
    assert "cancelled · cancelled before it finished · stopped in turn 2 · 2 sub-calls · tokens" in summary
    assert "0 turns" not in summary


def test_a_finished_run_counts_its_turns() -> None:
    out = io.StringIO()
    rlm = RLM(ScriptedLM(["```repl\nx = 1\n```", "```repl\nFINAL(x)\n```"]), on_event=Progress(Console(file=out)))
    assert rlm.completion("q", context="abc").answer == "1"
    assert "finished · " in out.getvalue() and " · 2 turns · 0 sub-calls · " in out.getvalue()


def test_the_summary_shows_what_the_ledger_booked_not_only_the_answered_calls() -> None:
    # A sub-call's first reply was empty but billed, and asked again: only the answer's cost was in an lm_call or
    # subcall_end event, so the summary said a tenth of the bill that --json reported.
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    answered = {"input_tokens": 100, "output_tokens": 5, "cost_usd": 0.0004}
    progress(Event("subcall_end", "r", "0.1", "0", 1, {"ok": True, **answered}))
    booked = {"input_tokens": 1_600, "output_tokens": 905, "cost_usd": 0.0104}
    summary = {"status": "finished", "stop_reason": "finished by final", "iterations": 2, "usage": booked}
    progress(Event("run_end", "r", "0", None, 0, summary))
    assert "tokens 1,600 in / 905 out · $0.0104" in out.getvalue().splitlines()[-1]


def test_the_summary_of_a_run_with_an_unpriced_call_shows_the_priced_part_and_says_so() -> None:
    # The ledger reports cost_usd null when a call had no price: the summary showed no cost at all.
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    booked = {"input_tokens": 10, "output_tokens": 5, "cost_usd": None, "priced_cost_usd": 0.002, "unpriced_calls": 1}
    summary = {"status": "finished", "stop_reason": "finished by final", "iterations": 1, "usage": booked}
    progress(Event("run_end", "r", "0", None, 0, summary))
    assert "tokens 10 in / 5 out · $0.0020 + 1 unpriced call" in out.getvalue().splitlines()[-1]


def test_the_line_mid_run_says_some_calls_are_unpriced_once_one_was() -> None:
    # Until the run's end the line showed the priced calls' dollars alone, as if they were the whole cost.
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    progress(Event("lm_call", "r", "0", None, 0, {"input_tokens": 100, "output_tokens": 5, "cost_usd": 0.002}))
    unpriced = {"ok": True, "input_tokens": 40, "output_tokens": 5, "cost_usd": None}
    progress(Event("subcall_end", "r", "0.1", "0", 1, unpriced))
    cached = {"ok": True, "input_tokens": 0, "output_tokens": 0, "cost_usd": None}  # a cache hit: nothing billed
    progress(Event("subcall_end", "r", "0.2", "0", 1, cached))
    progress(Event("cell", "r", "0", None, 0, {"cell_id": "r.c1", "status": "ok", "turn": 1, "seconds": 0.5}))
    assert "tokens 140 in / 10 out · $0.0020 + 1 unpriced call" in out.getvalue().splitlines()[-1]


def test_money_reads_as_its_amount_and_zero_only_when_free() -> None:
    # The end line and the live tree printed a $0.0000045 call as "$0.0000": the page said "$0.0000045".
    shown = {0: "$0", 4.5e-06: "$0.0000045", 1e-06: "$0.000001", 3e-08: "<$0.000001", 0.00012345: "$0.00012"}
    shown |= {0.005: "$0.0050", 0.0123: "$0.0123", 0.0099999: "$0.0100", 2.5: "$2.5000"}  # halves up, as the page
    assert {amount: format_usd(amount) for amount in shown} == shown


def test_the_end_line_of_a_run_that_cost_a_fraction_of_a_cent_shows_that_fraction() -> None:
    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    booked = {"input_tokens": 10, "output_tokens": 5, "cost_usd": 4.5e-06}
    summary = {"status": "finished", "stop_reason": "finished by final", "iterations": 1, "usage": booked}
    progress(Event("run_end", "r", "0", None, 0, summary))
    assert "tokens 10 in / 5 out · $0.0000045" in out.getvalue().splitlines()[-1]
