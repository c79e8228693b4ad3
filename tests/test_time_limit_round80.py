"""`rlmx.deadline.time_limit`, the one way src waits with a time limit, keeps the same rule on every Python 3.11:
its own limit raises TimeoutError even in a task already being cancelled (a cleanup after a cancel), where 3.11.0-2's
`asyncio.timeout` (Debian 12's python3 is 3.11.2) raised CancelledError and cut the cleanup short; a cancel from
elsewhere raises CancelledError. Run under this interpreter and, where it exists, the system's python3.11."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rlmx.deadline

SCENARIOS = """
import asyncio, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("deadline", sys.argv[1])
deadline = importlib.util.module_from_spec(spec); spec.loader.exec_module(deadline)

async def cleanup_after_a_cancel(limit):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:  # a cleanup: the task is cancelling (count 1) and goes on to bound a wait
        try:
            async with limit(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            return "TimeoutError"
        except asyncio.CancelledError:
            return "CancelledError"
    return "not cancelled"

async def cancelled_from_elsewhere():
    async def body():
        async with deadline.time_limit(10):
            await asyncio.sleep(10)
    task = asyncio.ensure_future(body())
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "CancelledError"
    except TimeoutError:
        return "TimeoutError"
    return "finished"

async def main():
    seen = {}
    for name, limit in (("time_limit", deadline.time_limit), ("asyncio.timeout", asyncio.timeout)):
        task = asyncio.ensure_future(cleanup_after_a_cancel(limit))
        await asyncio.sleep(0.01)
        task.cancel()
        seen[name] = await task
    seen["elsewhere"] = await cancelled_from_elsewhere()
    async with deadline.time_limit(None):
        await asyncio.sleep(0)
    async with deadline.time_limit(at=asyncio.get_running_loop().time() + 5) as scope:
        pass
    seen["at_expired"] = scope.expired()
    print(json.dumps({"version": list(sys.version_info[:3]), **seen}))

asyncio.run(main())
"""

PYTHONS = [sys.executable] + [p for p in ("/usr/bin/python3.11",) if os.access(p, os.X_OK)]


@pytest.mark.parametrize("python", PYTHONS)
def test_a_limit_in_a_cancelling_task_is_a_timeout_and_a_cancel_from_elsewhere_is_a_cancel(
    python: str, tmp_path: Path
) -> None:
    script = tmp_path / "scenarios.py"
    script.write_text(SCENARIOS)
    done = subprocess.run(
        [python, str(script), rlmx.deadline.__file__], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["time_limit"] == "TimeoutError", seen
    assert seen["elsewhere"] == "CancelledError", seen
    assert seen["at_expired"] is False
    if tuple(seen["version"]) < (3, 11, 3):  # what the helper is for: the standard one fails this there
        assert seen["asyncio.timeout"] == "CancelledError", seen
