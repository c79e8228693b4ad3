"""A run cancelled while the isolated tier probes the machine ends the probe's commands: they were left running
(5 of 24 cancels in a run's first 115 ms, audit 80), and their exits were logged against a closed event loop. Each
probe command runs in a process group of its own, which a cancel kills, with every descendant, before it is raised
again."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import pytest

from rlmx.sandbox import isolated

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_cancelled_probe_command_ends_with_its_children() -> None:
    # Found by their command lines, not as this process's new descendants: a process an earlier test of this xdist
    # worker left to start children meanwhile (a Ray cluster's) was taken for the probe's and not ended by it
    script = "sleep 60.5 & sleep 60.75; wait"
    command = ["/bin/sh", "-c", script]
    running = asyncio.ensure_future(isolated._run(command))
    wanted = (b"/bin/sh\x00-c\x00" + script.encode() + b"\x00", b"sleep\x0060.5\x00", b"sleep\x0060.75\x00")
    deadline = time.monotonic() + 10
    while not all(found := [_processes(cmdline) for cmdline in wanted]):
        assert time.monotonic() < deadline, "the probe command never started"
        await asyncio.sleep(0.02)
    await _cancelled_and_ended(running, [pid for pids in found for pid in pids])


async def test_a_probe_command_still_reports_its_exit_and_output() -> None:
    assert await isolated._run(["/bin/sh", "-c", "echo probed; exit 3"]) == (3, "probed")


async def test_a_cancel_after_the_command_exited_still_ends_the_child_it_left() -> None:
    # The command exits at once; the child it started keeps the output pipe open, so the probe waits on. The child
    # is an orphan then (no descendant of this process): found by its own command line.
    command = ["/bin/sh", "-c", "sleep 61.25 & exit 0"]
    running = asyncio.ensure_future(isolated._run(command))
    deadline = time.monotonic() + 10
    while not (left := _processes(b"sleep\x0061.25\x00")):
        assert time.monotonic() < deadline, "the probe command's child never started"
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # the command itself has exited and been reaped
    await _cancelled_and_ended(running, left)


async def _cancelled_and_ended(running: asyncio.Future[Any], pids: Iterable[int]) -> None:
    """Cancel the probe `running`, which must raise CancelledError; then every one of `pids` must end (10 s)."""
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    deadline = time.monotonic() + 10
    while alive := [pid for pid in pids if _alive(pid)]:
        assert time.monotonic() < deadline, f"left running: {alive}"
        await asyncio.sleep(0.02)


def _processes(cmdline: bytes) -> list[int]:
    """The pids of the processes whose command line is `cmdline` (NUL-separated, as /proc gives it)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as seen:
                    if seen.read() == cmdline:
                        found.append(int(name))
            except OSError:
                continue
    return found


async def test_a_probe_cancelled_while_its_pipes_connect_ends_the_children_it_started() -> None:
    # CI on 8ab2475: the cancel came while asyncio still connected the new process's pipes; cancelled there, the
    # spawn killed the shell alone and its two sleeps ran on, 60 s, in a group nobody knew
    script = "sleep 60.25 & sleep 60.5; wait"
    running = asyncio.ensure_future(isolated._run(["/bin/sh", "-c", script]))
    while not any("_connect_pipes" in repr(task.get_coro()) and not task.done() for task in asyncio.all_tasks()):
        assert not running.done(), running
        await asyncio.sleep(0)
    wanted = (b"sleep\x0060.25\x00", b"sleep\x0060.5\x00")
    deadline = time.monotonic() + 10
    while not all(found := [_processes(cmdline) for cmdline in wanted]):  # sh has started them, in its group
        assert time.monotonic() < deadline, "the probe command's children never started"
        time.sleep(0.01)  # not the loop: the pipes must still be connecting when the cancel comes
    await _cancelled_and_ended(running, [pid for pids in found for pid in pids])
