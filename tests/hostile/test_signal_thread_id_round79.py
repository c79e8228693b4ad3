"""Audit 79, faults 1 and 3: a cell of the host's uid signals the host by one of its thread ids, and one child RLM takes
the run's whole process count.

1. On a non-root host whose kernel has no Landlock signal scope (before 6.12), the light seccomp filter knew only the
   host's pid and group: `kill(<a host thread id>, SIGKILL)` ended the host. The worker now runs in a pid namespace of
   its own where the kernel allows one (no host pid or thread id is in it), and the protections report says which
   guard holds, or that none does.
2. On a root host every REPL of a run shares one uid, whose count the kernel compares with each process's own limit:
   a child RLM could take it all. A child's RLIMIT_NPROC now stops `max_processes` short of its parent's, and the
   usage watcher ends a child RLM whose REPL runs more than `max_processes` threads and processes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.sandbox import harden
from rlmx.sandbox.doctor import summary
from rlmx.sandbox.subprocess import SubprocessSandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux process semantics")

SRC = Path(__file__).resolve().parents[2] / "src" / "rlmx"

# Runs as a non-root user, on a copy of rlmx whose harden.scope_signals() says the kernel has no Landlock signal scope
# (what it says before Linux 6.12). The model's cell gets the host's own thread ids, read by the host as it replies.
_HOST = r"""
import os, sys, threading, time
from rlmx import RLM
from rlmx.lm import ScriptedLM

threading.Thread(target=time.sleep, args=(30,), daemon=True).start()  # a host thread besides the main one
events = []
turns = []

def reply(messages):
    turns.append(1)
    if len(turns) > 1:
        return "```repl\nFINAL('done')\n```"
    tids = [int(t) for t in os.listdir("/proc/self/task") if int(t) != os.getpid()]
    code = (
        "import os, signal\n"
        f"for tid in {tids!r}:\n"
        "    try:\n"
        "        os.kill(tid, signal.SIGKILL)\n"
        "        print('signalled', tid)\n"
        "    except OSError as exc:\n"
        "        print('refused', tid, type(exc).__name__)\n"
    )
    return f"```repl\n{code}```"

rlm = RLM(ScriptedLM(reply), sandbox="subprocess", sandbox_options={"python": sys.executable}, on_event=events.append)
result = rlm.completion("q", context="the context")
cells = [e.data["output"] for e in events if e.type == "cell"] or [repr(result)[:800]]
print("OUTPUT", cells[0].replace("\n", " | "))
print("SURVIVED")
"""


def _non_root_command(script: Path) -> list[str]:
    if os.getuid() != 0:
        return [os.path.realpath(sys.executable), str(script)]
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("the test runner is root and has no setpriv to run the host as another user")
    # The runner's own Python may live where another user cannot run it (a pyenv under /root): the system's one of
    # the same version, with this environment's packages on the path.
    python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system Python of the runner's version for another user to run")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, str(script)]


def _copy_without_signal_scope(into: Path) -> None:
    shutil.copytree(SRC, into / "rlmx", ignore=shutil.ignore_patterns("__pycache__"))
    harden_file = into / "rlmx" / "sandbox" / "harden.py"
    text = harden_file.read_text()
    marker = "    abi = landlock_abi()\n    if abi is None or abi < 6:\n        return False\n    _restrict_self("
    assert marker in text, "scope_signals() changed: update this test's patch"
    harden_file.write_text(text.replace(marker, "    return False  # a kernel before 6.12\n" + marker, 1))


def test_a_cell_cannot_kill_a_non_root_host_by_its_thread_id_without_a_signal_scope() -> None:
    home = Path(tempfile.mkdtemp(prefix="rlmx-r79-"))
    try:
        os.chmod(home, 0o777)
        _copy_without_signal_scope(home)
        script = home / "host.py"
        script.write_text(_HOST)
        for path in home.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        site = sysconfig.get_paths()["purelib"]
        env = {**os.environ, "HOME": str(home), "PYTHONPATH": f"{home}:{site}"}
        done = subprocess.run(_non_root_command(script), env=env, cwd=home, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode != -9, f"a cell killed the host by a thread id: {done.stdout[-500:]} {done.stderr[-500:]}"
    assert done.returncode == 0 and "SURVIVED" in done.stdout, done.stdout[-1000:] + done.stderr[-2000:]
    output = next(line for line in done.stdout.splitlines() if line.startswith("OUTPUT"))
    assert "signalled" not in output and "refused" in output, output


def test_the_report_says_which_guard_keeps_a_cell_from_signalling_the_host() -> None:
    box = SubprocessSandbox()
    assert "pid namespace of its own" in box.describe({"pid_namespace": True})["signals"]
    assert "Landlock" in box.describe({"signals_scoped": True})["signals"]
    unguarded = box.describe({"seccomp_light_rules": 9, "signals_scoped": False, "pid_namespace": False})["signals"]
    assert unguarded.startswith("NOT STOPPED by thread id") and "isolated" in unguarded
    assert "signals to the host: NOT STOPPED by thread id" in summary(box.describe({"seccomp_light_rules": 9}))
    assert "signals to the host: a pid namespace of its own;" not in summary(box.describe({"pid_namespace": True}))
    assert summary(box.describe({"pid_namespace": True})).endswith("signals to the host: a pid namespace of its own")
    box.separate_uid = True
    assert "separate uid" in box.describe({"seccomp_light_rules": 9})["signals"]


def test_a_started_non_root_sandbox_reports_its_pid_namespace_or_the_gap() -> None:
    if os.getuid() == 0:
        pytest.skip("a root host runs the worker under a separate uid")

    async def main() -> dict[str, object]:
        from rlmx.context import prepare

        box = SubprocessSandbox()
        try:
            await box.start([prepare("context", "x")])
            return box.protections
        finally:
            await box.close()

    signals = str(asyncio.run(main())["signals"])
    assert "pid namespace" in signals or "Landlock" in signals or signals.startswith("NOT STOPPED"), signals


# --- a child RLM and the run's process count -----------------------------------------------------------------
def test_each_level_of_child_rlms_stops_max_processes_short_of_the_one_above() -> None:
    root = SubprocessSandbox(max_processes=10, max_live_children=4)
    root.plan_children(2)
    tree = root.tree_processes()
    assert tree == 10 * (1 + 4 * 2)
    assert root.process_ceiling() == tree
    child = SubprocessSandbox(max_processes=10, max_live_children=4)
    child._family, child._generation = root._family, 1
    grandchild = SubprocessSandbox(max_processes=10, max_live_children=4)
    grandchild._family, grandchild._generation = root._family, 2
    assert child.process_ceiling() == tree - 10
    assert grandchild.process_ceiling() == tree - 20
    child.separate_uid = True
    assert child._fork_settings()["limits"] == {"processes": tree - 10}


def test_the_task_count_of_a_tree_counts_threads_of_every_process() -> None:
    code = "import threading, time\nfor _ in range(7): threading.Thread(target=time.sleep, args=(30,)).start()\n"
    code += "import os\nos.write(1, b'r')\ntime.sleep(30)\n"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.read(1) == b"r"
        deadline = time.monotonic() + 5
        count, pid = harden.trees_tasks_over([child.pid], 5)
        while count < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
            count, pid = harden.trees_tasks_over([child.pid], 5)
        assert (count, pid) == (8, child.pid)
        assert harden.trees_tasks_over([child.pid], 8) == (0, 0)
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


_ROOT_CELL = """
import threading, time
got = {}
worker = threading.Thread(target=lambda: got.update(r=rlm_query("CHILDTASK")))
worker.start()
time.sleep(3)
try:
    threads = [threading.Thread(target=time.sleep, args=(0.2,)) for _ in range(40)]
    for t in threads:
        t.start()
    print("ROOT_THREADS_OK")
except RuntimeError as exc:
    print("ROOT_THREADS_FAILED", exc)
import subprocess
print("ROOT_SUBPROCESS", subprocess.run(["true"]).returncode)
worker.join()
print("CHILD_SAID", str(got.get("r"))[:300])
"""

_CHILD_CELL = """
import threading, time
threading.stack_size(65536)
started = 0
for _ in range(100_000):
    try:
        threading.Thread(target=time.sleep, args=(4,), daemon=True).start()
        started += 1
    except RuntimeError:
        break
time.sleep(4)
print("child started", started)
"""


def test_one_child_rlm_cannot_take_the_root_repls_share_of_the_process_count() -> None:
    if os.getuid() != 0:
        pytest.skip("the shared per-uid process count exists on a root host (a separate uid for the run's REPLs)")
    events: list = []
    lock = threading.Lock()
    turns: dict[str, int] = {}

    def reply(messages: list[dict[str, str]]) -> str:
        first_user = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
        key = "child" if "CHILDTASK" in first_user else "root"
        with lock:
            turns[key] = turns.get(key, 0) + 1
            turn = turns[key]
        if key == "child":
            return f"```repl\n{_CHILD_CELL}```" if turn == 1 else "```repl\nFINAL('child done')\n```"
        return f"```repl\n{_ROOT_CELL}```" if turn == 1 else "```repl\nFINAL('done')\n```"

    rlm = RLM(ScriptedLM(reply), sandbox="subprocess", max_depth=2, on_event=events.append)
    rlm.completion("q", context="x")
    root_out = "".join(e.data["output"] for e in events if e.type == "cell" and e.node_id == "0")
    child = [e.data for e in events if e.type == "cell" and e.node_id != "0"]
    assert "ROOT_THREADS_OK" in root_out and "ROOT_SUBPROCESS 0" in root_out, root_out
    assert any("over its share of the run's process count" in str(c.get("output")) for c in child), [
        str(c.get("output"))[:300] for c in child
    ]
