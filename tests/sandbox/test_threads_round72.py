"""A cell ends once the sub-calls its threads sent are answered, on every tier (audit 72 threads v01): the in-process
tier ended the cell at once, the thread got "the REPL closed while this sub-call was in flight", the trace kept a
subcall_start with no end, and the usage booked the call's whole reservation (4,102 tokens for 7)."""

from __future__ import annotations

import asyncio
import json

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from rlmx.lm.base import Message
from scripting import repl

STARTED = """
import threading, time
got = []
def ask():
    try:
        got.append(llm_query("slow one"))
    except BaseException as exc:
        got.append(f"{type(exc).__name__}: {exc}")
threading.Thread(target=ask, daemon=True).start()
time.sleep(0.05)
"""


async def slow_reply(messages: list[Message]) -> str:
    await asyncio.sleep(0.4)
    return "answered: " + str(messages[-1]["content"])


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
@pytest.mark.parametrize("ending", ["FINAL('done')", "print('cell over')"])
def test_a_cell_ends_once_its_threads_calls_are_answered(tier: str, ending: str, tmp_path: object) -> None:
    root = ScriptedLM([repl(STARTED + ending), repl("FINAL(repr(got))")])
    sub = ScriptedLM(slow_reply)
    rlm = RLM(root, sub_lm=sub, sandbox=tier, budget=Budget(cell_timeout=20), trace_dir=tmp_path)
    result = rlm.completion("q", context="c")
    if ending.startswith("print"):  # the next cell sees the thread's answer: the call ended in the cell that sent it
        assert result.answer == repr(["answered: slow one"])
    assert result.usage.sub.calls == 1 and result.usage.sub.estimated_calls == 0
    assert result.usage.sub.output_tokens < 100  # what the reply cost, not the call's reservation
    assert result.trace_path is not None
    types = [json.loads(line)["type"] for line in result.trace_path.read_text("utf-8").splitlines()]
    assert types.count("subcall_start") == types.count("subcall_end") == 1
    assert types.index("subcall_end") < types.index("cell")  # inside the first cell, the one that sent it
