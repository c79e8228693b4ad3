"""Round 87: host-wide and per-user kernel pools (audit 87).

* V15: the legacy Linux AIO calls were open on every tier: one `io_setup(65536)` took the host's whole pool
  (fs.aio-max-nr, one count for the whole host) and every other process's `io_setup` failed with EAGAIN while the
  REPL lived. They are refused now (EPERM, as io_uring), with the other pools of the kind the default tier's filter
  left open: bpf, perf_event_open, userfaultfd, fanotify_init; and F_SETPIPE_SZ (64 pipes grown to 1 MiB reached the
  uid's pipe-user-pages-soft).
* V16: on the isolated tier (both modes) a refused pseudo-terminal said "Permission denied" / "out of pty devices";
  it is named now, with the note the default tier gives.
* V17: a worker under the host's own uid (a non-root host) took the user's 128 inotify instances and ~96,000 POSIX
  timers (RLIMIT_SIGPENDING), so the user's own inotify_init1 (EMFILE) and timer_create (EAGAIN) failed. inotify is
  refused where the worker shares the host's uid, and RLIMIT_SIGPENDING is 256 in every worker.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, harden

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers are Linux's")

SRC = str(Path(harden.__file__).resolve().parents[2])

# Each kind's calls, made with arguments the kernel refuses without side effects where nothing filters them (EINVAL,
# EFAULT, ...), so that EPERM is the filter's answer. (name, syscall number, arguments)
_CALLS: dict[str, list[tuple[str, int, tuple[int, ...]]]] = {
    "aio": [
        ("io_setup", 206, (0, 0)),
        ("io_destroy", 207, (0,)),
        ("io_getevents", 208, (0, 0, 0, 0, 0)),
        ("io_submit", 209, (0, 0, 0)),
        ("io_cancel", 210, (0, 0, 0)),
        ("io_pgetevents", 333, (0, 0, 0, 0, 0, 0)),
    ],
    "bpf": [("bpf", 321, (9999, 0, 0))],
    "perf_event_open": [("perf_event_open", 298, (0, 0, -1, -1, 0))],
    "userfaultfd": [("userfaultfd", 323, (0xFFFF,))],
    "fanotify": [("fanotify_init", 300, (0xFFFFFFFF, 0))],
    "inotify": [("inotify_init1", 294, (0x7FFFFFFF,))],
}

_PROBE = r"""
import ctypes, fcntl, json, os, sys
from rlmx.sandbox import harden
stage, shared = sys.argv[1], sys.argv[2] == "1"
calls = json.loads(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
harden.prctl(harden.PR_SET_NO_NEW_PRIVS, 1)
try:
    harden.install_filter(stage, [], shared)
except TypeError:  # a filter that knows no shared uid (the code before round 87)
    harden.install_filter(stage, [])
found = {}
for name, number, args in calls:
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
    found[name] = ctypes.get_errno() if result < 0 else 0
read, write = os.pipe()
try:
    fcntl.fcntl(write, 1031, 1 << 16)  # F_SETPIPE_SZ
    found["F_SETPIPE_SZ"] = 0
except OSError as exc:
    found["F_SETPIPE_SZ"] = exc.errno
print(json.dumps(found))
"""


def _errnos(stage: str, shared_uid: bool) -> dict[str, int]:
    """name -> errno (0: it worked) of each call of `_CALLS` and F_SETPIPE_SZ, in a new Python under `stage`'s
    filter."""
    calls = [call for kind in _CALLS.values() for call in kind]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, stage, "1" if shared_uid else "0", json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, int] = json.loads(done.stdout)
    return found


@pytest.fixture(scope="module")
def errnos() -> dict[tuple[str, bool], dict[str, int]]:
    if not harden.seccomp_supported():
        pytest.skip("no seccomp filters here")
    return {(stage, shared): _errnos(stage, shared) for stage in ("light", "zygote") for shared in (False, True)}


@pytest.mark.parametrize("kind", ["aio", "bpf", "perf_event_open", "userfaultfd", "fanotify"])
@pytest.mark.parametrize("stage", ["light", "zygote"])
def test_every_tiers_filter_refuses_the_host_wide_pools(
    kind: str, stage: str, errnos: dict[tuple[str, bool], dict[str, int]]
) -> None:
    for shared in (False, True):
        for name, _, _ in _CALLS[kind]:
            assert errnos[stage, shared][name] == errno.EPERM, (stage, shared, name, errnos[stage, shared])


@pytest.mark.parametrize("stage", ["light", "zygote"])
def test_inotify_is_refused_only_where_the_worker_shares_the_hosts_uid(
    stage: str, errnos: dict[tuple[str, bool], dict[str, int]]
) -> None:
    assert errnos[stage, True]["inotify_init1"] == errno.EPERM
    assert errnos[stage, False]["inotify_init1"] == errno.EINVAL  # the kernel's own answer to the bad flags


@pytest.mark.parametrize("stage", ["light", "zygote"])
def test_no_tier_grows_a_pipe_past_its_default(stage: str, errnos: dict[tuple[str, bool], dict[str, int]]) -> None:
    assert errnos[stage, False]["F_SETPIPE_SZ"] == errno.EPERM


def test_the_report_names_what_is_refused() -> None:
    for stage in ("light", "worker"):
        names = harden.denied_syscalls(stage)
        assert {"io_setup", "io_submit", "io_pgetevents", "bpf", "perf_event_open", "fanotify_init"} <= set(names)
        assert not any(name.startswith("inotify") for name in names)
        assert any(name.startswith("inotify_init1") for name in harden.denied_syscalls(stage, shared_uid=True))


def test_bound_user_counts_lowers_pending_signals_for_good() -> None:
    code = (
        "import resource\nfrom rlmx.sandbox import harden\nprint(harden.bound_user_counts())\n"
        "print(resource.getrlimit(resource.RLIMIT_SIGPENDING), resource.getrlimit(resource.RLIMIT_MSGQUEUE))\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_SIGPENDING, (10**6, 10**6))\n    print('raised')\n"
        "except (ValueError, OSError):\n    print('kept')\n"
    )
    env = {"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:  # root may raise a hard limit: the check that it stays needs an unprivileged user
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd="/tmp")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    soft, hard = (int(n) for n in lines[1].split(")")[0].strip("(").split(","))
    assert soft == hard <= harden.PENDING_SIGNALS_MOST and lines[1].endswith("(0, 0)"), lines
    assert lines[2] == "kept"


def test_an_isolated_rule_set_grants_no_pty_unless_it_names_one() -> None:
    assert harden.grants_ptys(["/usr", "/tmp", "/dev/null", "/dev/shm", "/dev/urandom"]) is False
    assert harden.grants_ptys(["/dev"]) is True
    assert harden.grants_ptys(["/"]) is True
    if os.path.exists("/dev/ptmx"):
        assert harden.grants_ptys(["/dev/ptmx"]) is True


# --- end to end --------------------------------------------------------------------------------------------
async def _no_calls(call: object) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)  # type: ignore[attr-defined]


_TIERS = [("subprocess", {}), ("isolated", {"mode": "bwrap"}), ("isolated", {"mode": "landlock"})]


def _open(tier: str, options: dict[str, str], require_isolated: Callable[..., None]) -> object:
    if not harden.seccomp_supported():
        pytest.skip("no seccomp filters here")
    if tier == "isolated":
        require_isolated(options["mode"])
    return create_sandbox(tier, hard_timeout_grace=1.0, **options)


_AIO_CELL = r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
context = ctypes.c_ulong(0)
print(libc.syscall(206, ctypes.c_uint(4096), ctypes.byref(context)), ctypes.get_errno())
"""


@pytest.mark.parametrize(("tier", "options"), _TIERS, ids=["subprocess", "bwrap", "landlock"])
async def test_a_cell_takes_nothing_of_the_hosts_aio_pool(
    tier: str, options: dict[str, str], require_isolated: Callable[..., None]
) -> None:
    box = _open(tier, options, require_isolated)
    await box.start([prepare("context", "the context")])  # type: ignore[attr-defined]
    try:
        result = await box.run_cell(_AIO_CELL, calls=_no_calls, timeout=20)  # type: ignore[attr-defined]
    finally:
        await box.close()  # type: ignore[attr-defined]
    assert result.status == "ok" and result.stdout.split() == ["-1", str(errno.EPERM)], result


@pytest.mark.parametrize(("tier", "options"), _TIERS[1:], ids=["bwrap", "landlock"])
async def test_the_isolated_tier_names_a_refused_pty(
    tier: str, options: dict[str, str], require_isolated: Callable[..., None]
) -> None:
    if harden.landlock_abi() is None:
        pytest.skip("no Landlock here: bubblewrap's own /dev/pts is the wall")
    box = _open(tier, options, require_isolated)
    await box.start([prepare("context", "the context")])  # type: ignore[attr-defined]
    try:
        opened = await box.run_cell("import os\nos.openpty()", calls=_no_calls, timeout=20)  # type: ignore[attr-defined]
        forked = await box.run_cell("import pty\npty.fork()", calls=_no_calls, timeout=20)  # type: ignore[attr-defined]
    finally:
        await box.close()  # type: ignore[attr-defined]
    assert "PseudoTerminalRefused" in opened.error and "may not open a pseudo-terminal" in opened.error, opened
    assert "retrying will not help" in forked.error, forked


_USER_COUNTS_SCRIPT = r"""
import asyncio, ctypes, json, sys
from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox
from rlmx.sandbox.isolated import probe

CELL = '''
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
ctypes.set_errno(0)
inotify = libc.inotify_init1(0)
inotify_errno = ctypes.get_errno()
class Event(ctypes.Structure):
    _fields_ = [("value", ctypes.c_long), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("pad", ctypes.c_char * 48)]
event = Event(0, 0, 1)  # SIGEV_NONE
timers = 0
while timers < 3000:
    timer = ctypes.c_void_p()
    if libc.syscall(222, 1, ctypes.byref(event), ctypes.byref(timer)) != 0:
        break
    timers += 1
print(json.dumps({"inotify": inotify, "inotify_errno": inotify_errno, "timers": timers}))
'''

async def no_calls(call):
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)

async def main():
    found = {}
    tiers = [("subprocess", {})]
    if (await probe()).mode("bwrap") is not None:
        tiers.append(("isolated", {"mode": "bwrap"}))
    for tier, options in tiers:
        box = create_sandbox(tier, hard_timeout_grace=1.0, **options)
        await box.start([prepare("context", "c")])
        try:
            result = await box.run_cell(CELL, calls=no_calls, timeout=30)
            libc = ctypes.CDLL(None, use_errno=True)
            mine = libc.inotify_init1(0)
            found[tier] = {"cell": result.stdout.strip() or result.error, "host_inotify": mine}
        finally:
            await box.close()
    print(json.dumps(found))

asyncio.run(main())
"""


def test_a_worker_under_the_hosts_uid_leaves_the_users_quotas() -> None:
    if not harden.seccomp_supported():
        pytest.skip("no seccomp filters here")
    command = [sys.executable, "-c", textwrap.dedent(_USER_COUNTS_SCRIPT)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no unprivileged user to test with")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd="/tmp")
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    for tier, seen in found.items():
        cell = json.loads(seen["cell"])
        assert cell["inotify"] == -1 and cell["inotify_errno"] == errno.EPERM, (tier, cell)
        assert 0 < cell["timers"] <= harden.PENDING_SIGNALS_MOST, (tier, cell)
        assert seen["host_inotify"] >= 0, (tier, seen)


async def test_a_worker_under_a_uid_of_its_own_keeps_inotify() -> None:
    if os.geteuid() != 0 or not harden.seccomp_supported():
        pytest.skip("a separate uid needs a root host")
    box = create_sandbox("subprocess", hard_timeout_grace=1.0)
    await box.start([prepare("context", "the context")])
    try:
        cell = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.inotify_init1(0) >= 0)"
        result = await box.run_cell(cell, calls=_no_calls, timeout=20)
    finally:
        await box.close()
    assert result.status == "ok" and result.stdout.strip() == "True", result
