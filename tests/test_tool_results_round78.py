"""A host tool's result is read in bounded time whatever its shape: one that holds itself, a list shared at every
level, an `__iter__` or `items()` that never ends, or one whose reading raises fails its own cell with a
RuntimeError naming the tool, and the run goes on (audit 78, faults 2 and 6)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

import pytest

import rlmx.tools
from rlmx import RLM
from rlmx.json_ready import ShapeProblem, json_ready
from rlmx.lm import ScriptedLM
from rlmx.tools import ToolBox, ToolFailure
from scripting import repl


def _outcome_within(function: Any, seconds: float = 20.0) -> tuple[str, Any]:
    """Run tool `function` through ToolBox.call on a loop of its own thread: ("value", v), ("failure", message), or
    ("hung", None) when it has not returned in `seconds` (the old walk spun for ever on the event loop)."""
    box = ToolBox([function], reserved=())
    found: list[tuple[str, Any]] = []

    def run() -> None:
        try:
            value, _ = asyncio.run(box.call(function.__name__, [], {}))
            found.append(("value", value))
        except ToolFailure as exc:
            found.append(("failure", str(exc)))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return found[0] if found else ("hung", None)


def node_tree() -> dict[str, Any]:
    root: dict[str, Any] = {"name": "root", "children": []}
    root["children"].append({"name": "leaf", "parent": root})
    return root


def doubled() -> list[Any]:
    value: list[Any] = [0]
    for _ in range(150):  # 2**150 leaves once written out, though only 151 lists exist
        value = [value, value]
    return value


class Endless(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return itertools.count()


def endless() -> list[Any]:
    return Endless()


class LostRow(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise ConnectionError("the connection dropped while the row loaded")


def lost_row() -> dict[str, Any]:
    return LostRow(id=1)


def shared() -> list[Any]:
    row = {"v": 1}
    return [row, row, (row,)]


def deep() -> list[Any]:
    value: list[Any] = []
    for _ in range(300):
        value = [value]
    return value


def test_a_result_that_holds_itself_is_refused_not_walked_for_ever() -> None:
    kind, message = _outcome_within(node_tree)
    assert kind == "failure", kind
    assert "tool node_tree" in message and "circular" in message


def test_a_list_shared_at_every_level_is_refused_before_it_is_written_out() -> None:
    kind, message = _outcome_within(doubled)
    assert kind == "failure", kind
    assert "items written out" in message


def test_an_iter_that_never_ends_is_read_only_up_to_the_bound() -> None:
    with pytest.raises(ShapeProblem, match="items written out"):
        json_ready(endless(), max_items=1000)


def test_a_tool_whose_result_never_ends_fails_its_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # a lower bound, the same rule: at the real one (2**26) the 67M-item copy took 4 s and its release slowed the
    # next test on the worker past its 20 s (CI1 of session 36, at load ~20)
    monkeypatch.setattr(rlmx.tools, "TOOL_RESULT_ITEMS", 100_000)
    kind, message = _outcome_within(endless, 120)
    assert kind == "failure" and "items written out" in message


def test_deep_nesting_is_refused_with_its_depth() -> None:
    kind, message = _outcome_within(deep)
    assert kind == "failure" and "nested more than 256 levels" in message


def test_a_shared_value_that_is_no_cycle_still_crosses() -> None:
    assert _outcome_within(shared) == ("value", [{"v": 1}, {"v": 1}, [{"v": 1}]])


def test_reading_that_raises_fails_the_call_naming_the_tool() -> None:
    kind, message = _outcome_within(lost_row)
    assert kind == "failure"
    assert message.startswith("tool lost_row returned a value that could not be written as JSON")
    assert "ConnectionError: the connection dropped" in message


CELL = """try:
    out = [{call}]
except RuntimeError as e:
    out = ["refused", str(e)]
FINAL(out)"""


async def test_in_a_run_each_bad_result_fails_its_cell_and_the_run_finishes() -> None:
    replies = [repl(CELL.format(call="node_tree()")), repl(CELL.format(call="lost_row()"))]
    rlm = RLM(ScriptedLM(replies), sandbox="subprocess", tools=[node_tree, lost_row])
    first = await asyncio.wait_for(rlm.acompletion("go", context="c"), 60)
    assert first.status == "finished" and first.value[0] == "refused" and "circular" in first.value[1]
    second = await asyncio.wait_for(rlm.acompletion("go", context="c"), 60)
    assert second.status == "finished" and second.value[0] == "refused" and "ConnectionError" in second.value[1]
