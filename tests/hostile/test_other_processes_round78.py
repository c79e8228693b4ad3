"""Round 78: calls that act on another process by its id without being a signal (prlimit64, setpriority,
ioprio_set, sched_setaffinity and the rest of `harden._PID_FIRST`). The kernel allows each on any process of the
caller's uid, so on a non-root host a cell could set the host's RLIMIT_NOFILE (or RLIMIT_CPU, which kills it) and
its nice value; the seccomp filter now allows them on the worker itself only, on every tier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from hostile.harness import open_sandbox, run

# Walks worker -> zygote -> host by /proc/<pid>/stat (world-readable) and tries to change the host.
_ON_THE_HOST = r'''
import asyncio, ctypes, json, os, resource, sys
from rlmx.context import prepare
from rlmx.sandbox.subprocess import SubprocessSandbox

CELL = """
import ctypes, os
def parent(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
host = parent(parent(os.getpid()))
print("named", host)
libc = ctypes.CDLL(None, use_errno=True)
class Limit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]
print("prlimit", libc.prlimit64(host, 7, ctypes.byref(Limit(16, 16)), None), ctypes.get_errno())
print("setpriority", libc.setpriority(0, host, 19), ctypes.get_errno())
print("affinity", libc.sched_setaffinity(host, 8, ctypes.byref(ctypes.c_uint64(1))), ctypes.get_errno())
"""

async def calls(call):
    raise AssertionError("no sub-calls here")

async def main():
    box = SubprocessSandbox(hard_timeout_grace=1.0, python=sys.executable)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(CELL, calls=calls, timeout=10)
    finally:
        await box.close()
    return result.stdout + (result.error or "")

def state():
    return [list(resource.getrlimit(resource.RLIMIT_NOFILE)), os.getpriority(os.PRIO_PROCESS, 0),
            sorted(os.sched_getaffinity(0))]

before = state()
output = asyncio.run(main())
print(json.dumps({"before": before, "after": state(), "output": output, "host": os.getpid()}))
'''


def _open_to_others(path: str) -> bool:
    """Whether any user may run the program `path`: it and every folder above its real path are open to others
    (a pyenv under /root, mode 0700, is not)."""
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & 0o001 for p in (real, *real.parents))


def _as_a_normal_user(script: str, home: Path) -> dict[str, object]:
    """Run `script` as uid 65534 where this host is root (a stand-in for a laptop's user: the worker then runs
    under the host's own uid), else as ourselves, with this Python or the system's of the same version. Returns the
    JSON it printed last."""
    paths = [str(Path(__file__).resolve().parents[2] / "src"), *sysconfig.get_paths()["purelib"].split(os.pathsep)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": os.pathsep.join(paths)}
    python = sys.executable
    if os.geteuid() == 0:
        if not Path("/usr/bin/setpriv").exists():
            pytest.skip("a root host without setpriv: no way to run the host as a normal user here")
        system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        python = next((p for p in (sys.executable, system) if os.path.exists(p) and _open_to_others(p)), "")
        if not python:
            pytest.skip(f"neither {sys.executable} nor {system} can be run by uid 65534 here")
        os.chown(home, 65534, 65534)
    argv = [python, "-c", script]
    if os.geteuid() == 0:
        argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    done = subprocess.run(argv, env=env, cwd=home, capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AssertionError(f"the host script failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-2000:]}")
    parsed: dict[str, object] = json.loads(lines[-1])
    return parsed


def test_a_cell_of_the_hosts_own_uid_cannot_change_the_hosts_limits_priority_or_cpus() -> None:
    """prlimit64(host, RLIMIT_NOFILE, 16), setpriority(PRIO_PROCESS, host, 19) and sched_setaffinity(host, CPU 0)
    from a worker running under the host's uid: each succeeded (the kernel checks the uid only), leaving the host
    unable to open a 17th descriptor and at the lowest priority."""
    if sys.platform != "linux":
        pytest.skip("the default tier's seccomp filter is Linux-only")
    with tempfile.TemporaryDirectory(prefix="rlmx-r78-host-") as home:
        found = _as_a_normal_user(_ON_THE_HOST, Path(home))
    assert found["after"] == found["before"], found
    if f"named {found['host']}\n" not in str(found["output"]):
        return  # the worker runs in a pid namespace of its own (round 79): the host has no pid there to name
    for call in ("prlimit", "setpriority", "affinity"):
        assert f"{call} -1 1" in str(found["output"]), found  # -1, EPERM


# Each call on the caller itself (id 0, or its own pid) and on the worker's parent (its zygote, same uid).
_PROBE = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
class Limit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]
me, parent = os.getpid(), os.getppid()
nice = os.getpriority(os.PRIO_PROCESS, 0)
def errno_of(result):
    return 0 if result == 0 else ctypes.get_errno()
def prlimit(pid):
    old = Limit()
    libc.prlimit64(0, 7, None, ctypes.byref(old))
    return errno_of(libc.prlimit64(pid, 7, ctypes.byref(old), None))  # the same value: changes nothing
cpus = ctypes.c_uint64(sum(1 << c for c in os.sched_getaffinity(0) if c < 64))
out = {
    "prlimit self 0": prlimit(0), "prlimit self pid": prlimit(me), "prlimit parent": prlimit(parent),
    "nice self": errno_of(libc.setpriority(0, 0, nice)), "nice self pid": errno_of(libc.setpriority(0, me, nice)),
    "nice parent": errno_of(libc.setpriority(0, parent, nice)),
    "nice own group": errno_of(libc.setpriority(1, 0, nice)),
    "affinity self": errno_of(libc.sched_setaffinity(0, 8, ctypes.byref(cpus))),
    "affinity parent": errno_of(libc.sched_setaffinity(parent, 8, ctypes.byref(cpus))),
    "ioprio parent": errno_of(libc.syscall(251, 1, parent, 0)),
    "ioprio self": errno_of(libc.syscall(251, 1, 0, 0)),
    "robust list parent": errno_of(libc.syscall(274, parent, ctypes.byref(ctypes.c_void_p()),
                                                ctypes.byref(ctypes.c_size_t()))),
}
print(json.dumps(out))
"""


async def test_the_calls_that_name_a_process_work_on_the_worker_itself_only(tier: str) -> None:
    """On every tier the worker's parent is a process of its own uid (the zygote, or bubblewrap's launcher): a
    cell may still set its own limits, nice value and CPUs (id 0 or its pid), but on its parent each call is refused
    with EPERM, whatever the kernel's uid check would have allowed."""
    async with open_sandbox(tier) as box:
        result = await run(box, _PROBE, timeout=10)
    assert result.status == "ok", result.error
    found = json.loads(result.stdout.strip().splitlines()[-1])
    allowed = ("prlimit self 0", "prlimit self pid", "nice self", "nice self pid", "affinity self", "ioprio self")
    assert {name: found[name] for name in allowed} == dict.fromkeys(allowed, 0), found
    refused = ("prlimit parent", "nice parent", "nice own group", "affinity parent", "ioprio parent")
    assert {name: found[name] for name in refused} == dict.fromkeys(refused, 1), found  # EPERM
    assert found["robust list parent"] != 0, found
