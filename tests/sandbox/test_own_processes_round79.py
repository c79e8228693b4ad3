"""Calls that name a process by pid (prlimit, setpriority, sched_setaffinity, ...) stay held to pid 0 or the worker's
own on every host: the run's REPLs share one uid (and, on a non-root host, one pid namespace), so letting a cell's
processes name each other by pid let a child RLM's cell set the root REPL's RLIMIT_CPU (audit 79c). What a cell
meets instead is a note saying why, and that pid 0 works: Python's bare EPERM said neither."""

from __future__ import annotations

import sys

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox, _self_only_note

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp filters are Linux's")

BY_ITS_PID = """
import resource, subprocess
tool = subprocess.Popen(["sleep", "30"])
try:
    resource.prlimit(tool.pid, resource.RLIMIT_CPU, (100, 100))
finally:
    tool.kill()
    tool.wait()
"""

BY_PID_ZERO = """
import os, resource
os.sched_setaffinity(0, os.sched_getaffinity(0))
os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0))
resource.setrlimit(resource.RLIMIT_CPU, resource.getrlimit(resource.RLIMIT_CPU))
print("pid 0 ok")
"""


async def _no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls here")


async def test_naming_a_child_by_pid_is_refused_with_a_note_and_pid_zero_works() -> None:
    box = SubprocessSandbox(hard_timeout_grace=1.0, python=sys.executable)
    await box.start([prepare("context", "c")])
    try:
        refused = await box.run_cell(BY_ITS_PID, calls=_no_calls, timeout=30)
        allowed = await box.run_cell(BY_PID_ZERO, calls=_no_calls, timeout=30)
    finally:
        await box.close()
    assert refused.status == "error" and "Operation not permitted" in (refused.error or "")
    assert "named by pid 0" in (refused.error or ""), refused.error
    assert allowed.status == "ok" and allowed.stdout == "pid 0 ok\n", allowed.error


def test_the_note_is_for_those_calls_only() -> None:
    other = "Traceback ...\nPermissionError: [Errno 1] Operation not permitted: '/etc/shadow'"
    assert _self_only_note(other) == other
    assert _self_only_note(None) is None
