"""The first root call is sent while the default sandbox starts, and a start that fails still ends cleanly."""

from __future__ import annotations

from typing import Any

from rlmx import RLM
from rlmx.events import Event
from rlmx.lm import ScriptedLM

CELLS = ["```repl\nprint(len(context))\n```", "```repl\nFINAL('done')\n```"]


def _recording_root(order: list[str]) -> ScriptedLM:
    replies = iter(CELLS)

    def reply(messages: Any) -> str:
        order.append("lm_called")
        return next(replies)

    return ScriptedLM(reply)


def test_first_root_call_goes_out_before_the_sandbox_is_ready() -> None:
    order: list[str] = []

    def on_event(event: Event) -> None:
        if event.depth == 0 and event.type in ("sandbox_ready", "iteration", "cell"):
            order.append(event.type)

    result = RLM(_recording_root(order), on_event=on_event).completion("q", context="x" * 1000)
    assert result.status == "finished" and result.answer == "done"
    assert order.index("lm_called") < order.index("sandbox_ready") < order.index("cell")
    assert order.count("iteration") == 2 and order.count("lm_called") == 2


def test_a_sandbox_that_cannot_start_fails_the_run_once_and_cancels_the_early_call() -> None:
    order: list[str] = []
    rlm = RLM(_recording_root(order))
    # set past RLM(...)'s check (which refuses it before any call): the start itself fails here
    rlm.sandbox_options = {"python": "/nonexistent/python3"}
    result = rlm.completion("q", context="hello")
    assert result.status == "error" and "the REPL failed" in result.stop_reason
    assert "/nonexistent/python3" in str(result.error)
    assert order.count("lm_called") <= 1 and result.usage.calls <= 1


def test_setup_code_still_runs_before_the_first_call() -> None:
    order: list[str] = []
    rlm = RLM(_recording_root(order), setup_code="helper = 41 + 1")
    events: list[str] = []
    rlm.on_event = lambda e: events.append(e.type) if e.depth == 0 else None
    result = rlm.completion("q", context="hello")
    assert result.status == "finished"
    assert events.index("setup") < events.index("iteration")
