"""Every node that starts ends in the events, whatever its model raises (audit 72 stream v03): a custom LM client's
own RuntimeError or ConnectionError (no rlmx LMError) left a child RLM's events at node_start, iteration,
sandbox_ready, with no error and no node_end, so a tree rebuilt from the trace showed it open for ever."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM, Event
from rlmx.lm import ScriptedLM
from rlmx.lm.base import Message
from scripting import repl


async def broken_client(messages: list[Message]) -> str:
    raise ConnectionError("child LM down")


def ends(events: list[Event]) -> dict[str, list[str]]:
    """Per node id: the types of its events, in order."""
    nodes: dict[str, list[str]] = {}
    for event in events:
        nodes.setdefault(event.node_id, []).append(event.type)
    return nodes


def test_a_child_whose_client_raises_its_own_error_ends_with_an_error() -> None:
    events: list[Event] = []
    root = ScriptedLM([repl("try:\n    rlm_query('look')\nexcept RuntimeError as exc:\n    FINAL(str(exc))")])
    result = RLM(root, depth_lms={1: ScriptedLM(broken_client)}, max_depth=2, on_event=events.append).completion(
        "q", context="c"
    )
    assert "ConnectionError: child LM down" in result.answer
    for node, types in ends(events).items():
        assert types.count("node_start") == types.count("node_end") == 1, (node, types)
    child_end = next(e for e in events if e.type == "node_end" and e.depth == 1)
    assert child_end.data["status"] == "error" and "child LM down" in child_end.data["stop_reason"]
    assert any(e.type == "error" and e.depth == 1 and e.data["error_type"] == "ConnectionError" for e in events)


def test_a_root_whose_client_raises_ends_its_node_and_raises_on(tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(ConnectionError, match="child LM down"):
        RLM(ScriptedLM(broken_client), on_event=events.append).completion("q", context="c")
    types = [e.type for e in events]
    assert types.index("error") < types.index("node_end") < types.index("run_end")
