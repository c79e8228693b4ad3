"""The record of a worker's files with no name (`rundir.MappedFiles`, whose RAM-growth baseline walks the tmpfs
folders on a host that cannot read the worker's /proc) is made before the sandbox's start returns, so before any
cell can write (CI on dc0fe7c: made late by the watcher thread, it took a cell's 56 MiB into its baseline), and off
the event loop (audit 81b: on the loop, a non-root host with 100k files on /dev/shm stalled it 215 ms a start)."""

from __future__ import annotations

import threading

import pytest

from hostile.harness import open_sandbox
from rlmx.sandbox import rundir


async def test_the_baseline_is_taken_off_the_loop_before_start_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[threading.Thread] = []
    real = rundir.MappedFiles.__init__

    def recording(self: rundir.MappedFiles, *args: object, **kwargs: object) -> None:
        made.append(threading.current_thread())
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rundir.MappedFiles, "__init__", recording)
    async with open_sandbox("subprocess", disk_limit_bytes=64 << 20):
        started = list(made)
    assert len(started) == 1, started
    assert started[0] is not threading.current_thread()  # the event loop's
