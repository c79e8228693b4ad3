"""Host tools and setup code at the REPL boundary (real subprocess worker): a tool's failure stays in its cell, a
big result crosses once, and setup code cannot replace what the first prompt describes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
from typing import Any

import pytest

from rlmx import RLM, Budget, Event, SetupError
from rlmx.lm import ScriptedLM
from scripting import repl

CATCHING = "try:\n    out = [{call}]\nexcept Exception as e:\n    out = [type(e).__name__, str(e)]\nFINAL(out)"


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("formatting a missing attribute")


class QuotaError(Exception):
    pass


def unprintable() -> str:
    """Raises an exception whose message cannot be formatted."""
    raise _Unprintable()


def quota() -> str:
    """Raises with no message."""
    raise QuotaError()


def ratio() -> float:
    """Returns NaN."""
    return math.nan


async def tool_value(call: str, *tools: object) -> object:
    rlm = RLM(ScriptedLM([repl(CATCHING.format(call=call))]), sandbox="subprocess", tools=list(tools))
    result = await rlm.acompletion("go", context="c")
    assert result.status == "finished", result.stop_reason
    return result.value


async def test_a_tool_exception_that_cannot_be_printed_fails_its_cell_not_the_run() -> None:
    out = await tool_value("unprintable()", unprintable)
    assert out[0] == "RuntimeError" and out[1].startswith("tool unprintable raised _Unprintable (its message")


async def test_an_empty_message_and_nan_read_plainly() -> None:
    assert await tool_value("quota()", quota) == ["RuntimeError", "tool quota raised QuotaError"]
    out = await tool_value("ratio()", ratio)
    assert out[0] == "RuntimeError" and "NaN or Infinity" in out[1]


def forty_mib() -> str:
    """A big table as text."""
    return "x" * (40 * 1024 * 1024)


def seventy_mib() -> str:
    """A bigger table as text."""
    return "x" * (70 * 1024 * 1024)


async def test_a_result_under_the_frame_cap_crosses_once() -> None:
    assert await tool_value("len(forty_mib())", forty_mib) == [40 * 1024 * 1024]


async def test_a_result_over_the_frame_cap_names_the_tool_and_its_size() -> None:
    out = await tool_value("len(seventy_mib())", seventy_mib)
    assert out[0] == "RuntimeError"
    assert out[1].startswith("tool seventy_mib returned a result of 73,400,322 bytes") and "67,108,864" in out[1]
    assert "batches" not in out[1]


@pytest.mark.parametrize(
    "setup",
    ["context = 'SHADOW'", "import json as context", "globals()['context'] = 1", "answer = {}", "def history(): pass"],
)
async def test_setup_code_binding_a_run_name_is_refused_before_any_lm_call(setup: str) -> None:
    lm = ScriptedLM(["never"])
    with pytest.raises(SetupError, match="use another name"):
        await RLM(lm, sandbox="subprocess", setup_code=setup).acompletion("q", context="real")
    assert lm.calls == []


async def test_setup_code_may_use_those_names_locally() -> None:
    setup = "def shout(context):\n    return [c.upper() for c in context]\n"
    result = await RLM(ScriptedLM([repl("FINAL(''.join(shout(context)))")]), setup_code=setup).acompletion(
        "q", context="real"
    )
    assert result.answer == "REAL"


async def stubborn() -> str:
    """Retries through cancellation, as some retry wrappers do."""
    for _ in range(16):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.4)
    return "late"


async def test_an_async_tool_ignoring_cancellation_does_not_hold_the_run_past_max_seconds() -> None:
    started = time.monotonic()
    rlm = RLM(ScriptedLM([repl("FINAL(stubborn())")]), tools=[stubborn], budget=Budget(max_seconds=1))
    result = await rlm.acompletion("go", context="c")
    assert result.status == "budget_exhausted" and time.monotonic() - started < 4.5


async def test_setup_code_text_follows_rlmxs_rule_for_text() -> None:
    # a lone surrogate (half an emoji, from JSON cut short) raised a bare UnicodeEncodeError out of RLM(); a byte
    # order mark a file's read left at the start was refused; a NUL said "(line None)"
    lm = ScriptedLM([repl("FINAL(label + '|' + str(ord(label[-1])))")])
    rlm = RLM(lm, setup_code="\ufefflabel = 'half \ud83d'\n")
    result = await rlm.acompletion("q", context="c")
    assert result.answer == "half \ufffd|65533"
    with pytest.raises(SetupError) as refused:
        RLM(ScriptedLM(["x"]), setup_code="x = 1\x00\n")
    assert "None" not in str(refused.value) and "null" in str(refused.value)


def test_the_time_budget_ends_a_tool_call_as_it_ends_an_lm_call() -> None:
    # The cell waited on the host until the run's backstop (a second past max_seconds): the tool call was never
    # answered nor traced as stopped
    release = threading.Event()

    def stuck(item: str) -> str:
        release.wait(30)
        return item

    events: list[Event] = []
    try:
        rlm = RLM(
            ScriptedLM([repl("stuck('x')")] * 3),
            tools=[stuck],
            budget=Budget(max_seconds=1.5),
            on_event=events.append,
        )
        result = rlm.completion("q", context="c")
    finally:
        release.set()
    assert result.status == "budget_exhausted"
    (call,) = [e.data for e in events if e.type == "tool_call"]
    assert not call["ok"] and "time budget (Budget(max_seconds)) ran out" in call["result"]


async def test_a_trace_shows_bytes_a_tool_took_and_gave_as_python_writes_them_not_as_they_crossed() -> None:
    # The viewer showed {"__rlmx_bytes__": "iVBORw0..."} for a tool's bytes result and arguments
    def thumbnail(data: bytes, size: int) -> dict[str, object]:
        return {"png": b"\x89PNG\r\n" + data[:size], "big": bytes(1000)}

    events: list[Any] = []
    cell = repl("out = thumbnail(b'\\x00\\x01pixels', 3)\nFINAL(len(out['big']))")
    rlm = RLM(ScriptedLM([cell]), tools=[thumbnail], on_event=events.append)
    assert (await rlm.acompletion("q", context="c")).answer == "1000"
    (call,) = [event.data for event in events if event.type == "tool_call"]
    assert "__rlmx_bytes__" not in call["arguments"] + call["result"]
    assert json.loads(call["arguments"]) == {"args": ["b'\\x00\\x01pixels'", 3], "kwargs": {}}
    shown = json.loads(call["result"])
    assert shown["png"] == "b'\\x89PNG\\r\\n\\x00\\x01p'"
    assert shown["big"] == repr(bytes(200)) + "... (1,000 bytes)"
