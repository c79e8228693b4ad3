"""rlm.stream(): events as they happen, the Result last; leaving early cancels the run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

from rlmx import RLM, Event, Result
from rlmx.lm import ScriptedLM
from scripting import repl


async def test_stream_yields_events_then_the_result() -> None:
    lm = ScriptedLM([repl("x = 6 * 7"), repl("FINAL(x)")])
    items = [item async for item in RLM(lm).stream("q", context="c")]
    assert isinstance(items[-1], Result) and items[-1].answer == "42"
    types = [i.type for i in items[:-1] if isinstance(i, Event)]
    assert types[0] == "run_start" and types[-1] == "run_end"
    assert types.count("cell") == 2 and types.count("lm_call") == 2


async def test_leaving_the_stream_early_cancels_the_run() -> None:
    lm = ScriptedLM([repl("import time\ntime.sleep(30)"), repl("FINAL('never')")])
    started = time.monotonic()
    seen: list[str] = []
    async for item in RLM(lm).stream("q", context="c"):
        assert isinstance(item, Event)
        seen.append(item.type)
        if item.type == "cell_start":
            break
    assert time.monotonic() - started < 5
    assert len(lm.calls) == 1 and "cell" not in seen


async def test_cancelling_while_the_repl_starts_leaves_nothing_behind() -> None:
    import contextlib
    import gc
    import warnings

    lm = ScriptedLM([repl("import time\ntime.sleep(30)")])
    gc.collect()  # earlier tests' garbage (a local model's /dev/null file) is not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            async with contextlib.aclosing(RLM(lm).stream("q", context="c")) as events:
                async for item in events:
                    if isinstance(item, Event) and item.type == "node_start":
                        break
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_a_cancelled_run_still_ends_its_trace(tmp_path: Path) -> None:
    rlm = RLM(ScriptedLM([repl("x = 1"), repl("import time; time.sleep(30)")]), trace_dir=tmp_path)
    task = asyncio.create_task(rlm.acompletion("slow", context="x"))
    while not list(tmp_path.glob("*.jsonl")) or next(tmp_path.glob("*.jsonl")).read_text().count("cell_start") < 2:
        await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    records = [json.loads(line) for line in next(tmp_path.glob("*.jsonl")).read_text().splitlines()]
    assert records[-1]["type"] == "run_end"
    assert (records[-1]["status"], records[-1]["error"]) == ("cancelled", None)
    assert records[-1]["iterations"] == 2  # the turns the root started, the one cut short included
