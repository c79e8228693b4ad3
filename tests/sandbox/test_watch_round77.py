"""The usage watcher's thread outlives a poll that fails (audit 77: "Exception in thread rlmx-usage-watch" reached
an `rlmx ask` user's stderr once, a worker or folder gone mid-read as a run ended, and the watch died with it)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from rlmx.sandbox import harden
from rlmx.sandbox import subprocess as sandbox


def test_a_failed_poll_is_polled_again_and_a_later_breach_still_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    polls: list[int] = []

    def flaky(pids: list[int], limit: int, reports: object = None) -> tuple[int, int]:
        polls.append(1)
        if len(polls) < 3:
            raise FileNotFoundError("/proc/4242/smaps_rollup")  # a process that ended mid-read
        return (limit + 1, 4242)

    monkeypatch.setattr(harden, "trees_memory_over", flaky)
    escaped: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)

    async def watch() -> tuple[str, int, int]:
        over: asyncio.Future[tuple[str, int, int]] = asyncio.get_running_loop().create_future()
        stop = threading.Event()
        args = ([], None, lambda: 0, lambda: [4242, 4343], (10**9, 100), stop, over)
        thread = threading.Thread(target=sandbox._watch_usage, args=args, daemon=True)
        thread.start()
        try:
            return await asyncio.wait_for(over, 30)
        finally:
            stop.set()
            thread.join(5)

    assert asyncio.run(watch()) == ("memory", 101, 4242)
    assert len(polls) == 3 and escaped == []
