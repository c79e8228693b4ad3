"""A cell's own processes and threads may renice, pin and limit themselves and each other by pid where the kernel
keeps the host out of their reach (a separate uid, or a pid namespace of the worker's own): round 78 held every
such call to pid 0 or the worker's own pid on every host, so a subprocess setting its own nice value by its pid
(what psutil and renice do), `resource.prlimit(child.pid, ...)` on a tool the cell started, and a thread pinning
itself by its thread id all failed with a bare EPERM."""

from __future__ import annotations

import os
import sys

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult, harden
from rlmx.sandbox.subprocess import SubprocessSandbox

SYSTEM_PYTHON = "/usr/bin/python3"  # one the sandbox's own uid may run (a pyenv under /root is closed to it)

CELL = f"""
import os, resource, subprocess, threading
child = subprocess.run([{SYSTEM_PYTHON!r}, "-c",
    "import os; os.setpriority(os.PRIO_PROCESS, os.getpid(), 5); "
    "os.sched_setaffinity(os.getpid(), os.sched_getaffinity(0)); print('child ok')"],
    capture_output=True, text=True)
print(child.stdout.strip() or child.stderr.strip().splitlines()[-1])
tool = subprocess.Popen(["sleep", "30"])
try:
    resource.prlimit(tool.pid, resource.RLIMIT_CPU, (100, 100))
    print("prlimit ok")
except OSError as exc:
    print("prlimit", exc)
finally:
    tool.kill()
    tool.wait()
said = []
def pin():
    try:
        os.sched_setaffinity(threading.get_native_id(), os.sched_getaffinity(0))
        said.append("thread ok")
    except OSError as exc:
        said.append(f"thread {{exc}}")
worker = threading.Thread(target=pin)
worker.start()
worker.join()
print(said[0])
"""


async def _no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls here")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp filters are Linux's")
@pytest.mark.skipif(os.geteuid() != 0, reason="a root host runs the worker under a uid of its own (out of reach)")
@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="the cell's child runs the system's python3")
async def test_a_cells_own_processes_and_threads_act_on_each_other_by_pid() -> None:
    box = SubprocessSandbox(hard_timeout_grace=1.0, python=sys.executable)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(CELL, calls=_no_calls, timeout=60)
    finally:
        await box.close()
    assert result.status == "ok", result.error
    assert result.stdout.splitlines() == ["child ok", "prlimit ok", "thread ok"], result.stdout


def test_out_of_reach_is_told_by_uid_or_pid_namespace() -> None:
    me = harden.host_identity()
    assert not harden.host_out_of_reach(me)  # this very process: same uid, same namespace
    assert not harden.host_out_of_reach(None)
    assert harden.host_out_of_reach({"uid": me["uid"] + 1, "pidns": me["pidns"]})
    if me["pidns"]:
        assert harden.host_out_of_reach({"uid": me["uid"], "pidns": me["pidns"] + 1})
