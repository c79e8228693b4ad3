"""Every node, cell and sub-call of a cancelled run ends in the events (audit 76 stream v01): a task cancelled
(task.cancel, wait_for, a stream closed early) left the root and a child RLM at node_start, their cells at
cell_start and the child's sub-call at subcall_start, so the viewer showed the stopped run as still running ("no
end"). Nodes and cells end with status "cancelled", the sub-call with ok false."""

from __future__ import annotations

import asyncio

from rlmx import RLM, Event
from rlmx.lm import ScriptedLM
from scripting import repl


async def test_a_cancelled_run_ends_each_of_its_nodes_as_cancelled() -> None:
    events: list[Event] = []
    root = ScriptedLM([repl("rlm_query('look')\nFINAL(1)")])
    child = ScriptedLM([repl("import time\ntime.sleep(30)\nFINAL(2)")])
    rlm = RLM(root, depth_lms={1: child}, max_depth=2, on_event=events.append)
    task = asyncio.create_task(rlm.acompletion("q", context="c"))
    while not any(e.type == "cell_start" and e.depth == 1 for e in events):
        await asyncio.sleep(0.02)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=20)
    assert done and task.cancelled()
    starts = {e.node_id for e in events if e.type == "node_start"}
    ends = {e.node_id: e.data for e in events if e.type == "node_end"}
    assert len(starts) == 2 and set(ends) == starts
    assert {data["status"] for data in ends.values()} == {"cancelled"}
    assert all(data["stop_reason"].startswith("cancelled") for data in ends.values())
    assert events[-1].type == "run_end" and events[-1].data["status"] == "cancelled"
    types = [e.type for e in events]
    assert types.count("cell_start") == types.count("cell") == 2
    assert {e.data["status"] for e in events if e.type == "cell"} == {"cancelled"}
    assert types.count("subcall_start") == types.count("subcall_end") == 1
    (sub_end,) = (e for e in events if e.type == "subcall_end")
    assert sub_end.data["ok"] is False and sub_end.data["text"].startswith("cancelled")
