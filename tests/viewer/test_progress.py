"""The live view of a run: plain lines when stderr is not a terminal, a tree redrawn in place when it is."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from rlmx.events import Event
from rlmx.progress import LiveTree, Progress, progress_view


def replay(path: Path) -> list[Event]:
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record: dict[str, Any] = json.loads(line)
        common = [record.pop(k) for k in ("type", "run_id", "node_id", "parent_id", "depth")]
        record.pop("v")
        ts = record.pop("ts")
        events.append(Event(*common, data=record, ts=ts))
    return events


def test_the_view_follows_the_terminal() -> None:
    assert type(progress_view(Console(file=io.StringIO(), force_terminal=False))) is Progress
    assert type(progress_view(Console(file=io.StringIO(), force_terminal=True))) is LiveTree


def test_plain_lines_tell_the_whole_run(depth2_trace: Path) -> None:
    out = io.StringIO()
    progress = Progress(Console(file=out, force_terminal=False, width=200))
    for event in replay(depth2_trace):
        progress(event)
    text = out.getvalue()
    assert "\x1b[" not in text  # no colour, no cursor movement
    assert "<- 0/s1 failed" in text and "overloaded" in text
    assert "child RLM 0.1 starts: find the code in section A" in text
    assert "4 sub-calls refused: max_subcalls: sub-call budget spent" in text
    assert "0.2 turn 1 · cell 1 error" in text
    assert "all turns used: asking for a final answer" in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .split("] ", 1)[1]
        .startswith("budget_exhausted · max_iterations: all 3 turns used · 3 turns · 9 sub-calls (1 failed)")
    )


def test_the_live_tree_shows_nodes_cells_and_subcalls_in_flight(depth2_trace: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    live = LiveTree(console, refresh_per_second=1)
    events = replay(depth2_trace)
    # Shown where both child RLMs are running: the root's cell 2 waits on them; each child runs its first cell. The
    # children run at once, so the trace may hold child 0.1's end before child 0.2's first cell (a busy machine):
    # each child's later events are held back until both have begun that cell, as they could have come.
    first, rest = _until_both_children_run(events)
    try:
        for event in first:
            live(event)
        frame = _render(console, live)
        assert "root  turn 2 · running cell 2: kids = rlm_query_batched" in frame
        assert "2 sub-calls in flight" in frame  # the root's two child RLMs
        assert "child 0.1" in frame and "child 0.2" in frame and "running cell 1: part = llm_query" in frame
        started = sum(e.type == "subcall_start" for e in first)
        running = started - sum(e.type == "subcall_end" for e in first)
        assert f"sub-calls {started} ({running} in flight) · 1 failed" in frame
        for event in rest:
            live(event)
    finally:
        live.close()
    assert not live._live.is_started
    text = out.getvalue()
    # Lasting lines stay in the scrollback; ok sub-calls get no line of their own, failed ones do.
    assert "child RLM 0.2 finished" in text and "<- 0/s1 failed" in text
    assert "<- 0/s0 ok" not in text and "-> 0/s0" not in text
    assert "budget_exhausted · max_iterations" in text


def _until_both_children_run(events: list[Any]) -> tuple[list[Any], list[Any]]:
    """`events` split where both child RLMs (0.1, 0.2) have begun their first cell, each child's events after that
    cell's start, and the root's sub-call ends meanwhile (a child RLM's end), held back into the second part (in
    their order)."""
    first: list[Any] = []
    rest: list[Any] = []
    running: set[str] = set()
    for event in events:
        child_ended = running and event.node_id == "0" and event.type == "subcall_end"
        if len(running) == 2 or event.node_id in running or child_ended:
            rest.append(event)
            continue
        first.append(event)
        if event.node_id in ("0.1", "0.2") and event.type == "cell_start":
            running.add(event.node_id)
    return first, rest


def _render(console: Console, live: LiveTree) -> str:
    capture = Console(file=io.StringIO(), width=160, color_system=None, force_terminal=False)
    capture.print(live)
    return capture.file.getvalue()  # type: ignore[attr-defined]


def test_tool_calls_get_lines_and_the_live_tree_keeps_only_failures(every_event_traces: list[Path]) -> None:
    trace = next(p for p in every_event_traces if '"query": "tools?"' in p.read_text(encoding="utf-8"))
    plain, live_out = io.StringIO(), io.StringIO()
    progress = Progress(Console(file=plain, force_terminal=False, width=200))
    live = LiveTree(Console(file=live_out, force_terminal=True, width=200, color_system=None))
    try:
        for event in replay(trace):
            progress(event)
            live(event)
    finally:
        live.close()
    assert "tool lookup ok" in plain.getvalue() and "tool lookup failed" in plain.getvalue()
    assert "KeyError" in plain.getvalue()
    assert "tool lookup failed" in live_out.getvalue() and "tool lookup ok" not in live_out.getvalue()


def test_a_cell_before_any_spending_shows_no_token_line() -> None:
    out = io.StringIO()
    progress = Progress(Console(file=out, force_terminal=False, width=200))
    progress(Event("run_start", "r", "0", None, 0, data={"contexts": [], "root_model": "g", "sub_model": "s"}, ts=0.0))
    progress(Event("cell", "r", "0", None, 0, data={"cell_id": "0/c1", "turn": 1, "status": "ok", "seconds": 0.1}))
    assert "cell 1 ok" in out.getvalue() and "0 in / 0 out" not in out.getvalue()
