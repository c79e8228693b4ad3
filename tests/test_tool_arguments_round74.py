"""A tool's arguments that JSON would merge are refused in the cell, never sent (audit 74 docs v09): `{1: 'a', '1':
'b'}` reached the tool as `{'1': 'b'}`, one entry lost without a word, though the same value as a tool's result or
FINAL's value is refused. The real subprocess worker, at any depth, positional or keyword."""

from __future__ import annotations

from typing import Any

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from scripting import repl

CATCHING = "try:\n    out = [{call}]\nexcept Exception as e:\n    out = [type(e).__name__, str(e)]\nFINAL(out)"

received: list[Any] = []


def echo(value: Any = None, **options: Any) -> str:
    """Records what it was given."""
    received.append((value, options))
    return "ok"


@pytest.mark.parametrize(
    "call",
    [
        "echo({1: 'a', '1': 'b'})",
        "echo([{'n': {True: 1, 'true': 2}}])",
        "echo(flags={None: 0, 'null': 1})",
        "echo({1.5: 'x', '1.5': 'y'})",
    ],
)
async def test_arguments_json_would_merge_are_refused_before_the_tool_runs(call: str) -> None:
    received.clear()
    rlm = RLM(ScriptedLM([repl(CATCHING.format(call=call))]), sandbox="subprocess", tools=[echo])
    result = await rlm.acompletion("go", context="c")
    assert result.value[0] == "ValueError", result.value
    assert "call_tool('echo'): the arguments cannot be sent" in result.value[1]
    assert "so one entry would be lost" in result.value[1]
    assert received == []


async def test_distinct_keys_of_other_types_still_reach_the_tool() -> None:
    received.clear()
    rlm = RLM(ScriptedLM([repl(CATCHING.format(call="echo({1: 'a', 2: 'b'})"))]), sandbox="subprocess", tools=[echo])
    result = await rlm.acompletion("go", context="c")
    assert result.value == ["ok"]
    assert received == [({"1": "a", "2": "b"}, {})]
