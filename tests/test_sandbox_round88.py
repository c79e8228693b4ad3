"""Audit 88x: the memory bound of a REPL's processes on a host that may not read their /proc (a non-root host).

The watcher sums the worker's and its children's Pss (each shared page divided among its sharers). A host without
CAP_SYS_PTRACE may not open a non-dumpable process's smaps_rollup, so it summed resident sizes, counting each page a
forked child shares copy-on-write with its parent once per process: a worker holding 250 MB with three idle
children read as 1.08 GB and was killed under a 600 MB bound, and a fork pool reading 1.2 GB was killed under the
default 4 GiB. Each process now opens its own smaps_rollup and sends the descriptor to the host (SCM_RIGHTS), which
reads the kernel's Pss through it once it has checked that the descriptor is the sender's own.

The REPL cases run as an unprivileged user (nobody, through setpriv, when the tests run as root): root reads any
process's smaps_rollup, so it never met the fault."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlmx.sandbox import harden

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers and /proc are Linux's")

SRC = str(Path(harden.__file__).resolve().parents[2])
TESTS = str(Path(__file__).resolve().parent)

_RUN = r"""
import sys
from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from scripting import repl, router
events = []
rlm = RLM(
    ScriptedLM(router(root=[repl(sys.argv[1]), *[repl("FINAL('done')")] * 3])),
    budget=Budget(max_iterations=6, cell_timeout=30),
    sandbox_options={"memory_limit_bytes": int(sys.argv[2])},
    on_event=events.append,
)
rlm.completion("q", context="c")
print("\n----\n".join(e.data["output"] for e in events if e.type == "cell"))
"""


def _cell_as_unprivileged(cell: str, limit: int) -> str:
    """The output of `cell` run in a REPL under memory bound `limit`, by a host that is not root (nobody, through
    setpriv, where the tests run as root)."""
    home = tempfile.mkdtemp(prefix="rlmx-r88-")
    os.chmod(home, 0o777)
    command = [sys.executable, "-c", _RUN, cell, str(limit)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": f"{SRC}:{TESTS}", "HOME": home}
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no unprivileged user to test with")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


_SHARED = """
import os, time
data = bytearray(200 << 20)
data[::4096] = b"\\x01" * (len(data) // 4096)
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        time.sleep(1.5)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("kept", len(data))
"""


def test_children_sharing_their_parents_pages_count_them_once_without_root() -> None:
    # 200 MiB held once (resident sizes summed: 800 MiB), under a 450 MiB bound
    out = _cell_as_unprivileged(_SHARED, 450 << 20)
    assert "kept 209715200" in out, out


_PRIVATE = """
import os, time
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        own = bytearray(200 << 20)
        own[::4096] = b"\\x02" * (len(own) // 4096)
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
time.sleep(4)  # not waitpid: the watcher ends the children first, and this process would answer before its end
print("all ran")
"""


def test_children_allocating_their_own_memory_are_still_stopped_without_root() -> None:
    out = _cell_as_unprivileged(_PRIVATE, 450 << 20)  # 600 MiB really held
    assert out.startswith("REPL restarted") and "memory_limit_bytes" in out, out
    assert "all ran" not in out


_REWRITTEN = """
import os, time
data = bytearray(200 << 20)
data[::4096] = b"\\x01" * (len(data) // 4096)
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        data[::4096] = b"\\x03" * (len(data) // 4096)   # each page copied: the child's own from now on
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
time.sleep(4)  # not waitpid: the watcher ends the children first, and this process would answer before its end
print("all ran")
"""


def test_children_rewriting_the_pages_they_shared_are_stopped_without_root() -> None:
    out = _cell_as_unprivileged(_REWRITTEN, 450 << 20)  # 600 MiB really held, and resident sizes as before
    assert out.startswith("REPL restarted") and "memory_limit_bytes" in out, out


# --- the host's end: only a process's own smaps_rollup is read ------------------------------------------------
@pytest.fixture
def reports() -> Iterator[harden.MemoryReports]:
    opened = harden.MemoryReports()
    yield opened
    opened.close()


def _child(reports: harden.MemoryReports, send: str) -> int:
    """A forked child that sends one descriptor to `reports` and then sleeps: `send` is "own" (its smaps_rollup),
    "parent" (its parent's, opened by the parent), "file" (a file that reads like one) or "exec" (its own, then it
    runs another program)."""
    parent = os.open("/proc/self/smaps_rollup", os.O_RDONLY)
    fake = tempfile.NamedTemporaryFile("w", suffix="smaps_rollup", delete=False)  # noqa: SIM115
    fake.write("Rss: 4 kB\nPss: 1 kB\n")
    fake.close()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            sock = socket.socket(fileno=reports.worker_fd)  # the worker's end, inherited
            fd = {
                "own": lambda: os.open("/proc/self/smaps_rollup", os.O_RDONLY),
                "exec": lambda: os.open("/proc/self/smaps_rollup", os.O_RDONLY),
                "parent": lambda: parent,
                "file": lambda: os.open(fake.name, os.O_RDONLY),
            }[send]()
            socket.send_fds(sock, [b"m"], [fd])
            if send == "exec":
                os.execv("/bin/sleep", ["sleep", "5"])
            time.sleep(5)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(parent)
    time.sleep(0.5)
    os.unlink(fake.name)
    return pid


@pytest.mark.parametrize("send", ["parent", "file", "exec"])
def test_a_descriptor_that_is_not_the_senders_own_memory_is_never_read(
    reports: harden.MemoryReports, send: str
) -> None:
    pid = _child(reports, send)
    try:
        reports.drain()
        assert reports.proportional(pid) is None
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_processs_own_descriptor_reads_its_pss(reports: harden.MemoryReports) -> None:
    pid = _child(reports, "own")
    try:
        reports.drain()
        pss = reports.proportional(pid)
        assert pss is not None and 0 < pss <= harden._resident_bytes(pid)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert reports.proportional(pid) is None  # ended: its descriptor reads nothing, and is let go
    assert harden._reports_held == [0]


def test_the_descriptors_held_leave_the_host_most_of_its_open_files_limit(
    reports: harden.MemoryReports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harden, "REPORTS_HELD_SHARE", 1 << 30)  # room for none: every process by its resident size
    monkeypatch.setattr(harden, "REPORTS_HELD_LEAST", 0)
    pid = _child(reports, "own")
    try:
        reports.drain()
        assert reports.proportional(pid) is None
        assert harden._reports_held == [0]
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_the_worker_side_sends_its_own_and_its_forked_childrens(reports: harden.MemoryReports) -> None:
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from rlmx.sandbox import harden
        assert harden.connect_memory_reports({reports.worker_fd})
        os.register_at_fork(after_in_child=harden.report_own_memory)
        harden.report_own_memory()
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        print(pid, flush=True)
        time.sleep(5)
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    worker = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, pass_fds=(reports.worker_fd,)
    )
    child = 0
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        time.sleep(0.2)
        reports.drain()
        # the worker exec'd (python -c): its report is refused; its forked child's is read
        assert reports.proportional(worker.pid) is None
        assert reports.proportional(child) is not None
    finally:
        worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()
        if child:
            os.kill(child, 9)
