"""Audit 79b: the non-root zygote's pid namespace (round 79) on a kernel without Landlock's signal scope.

1. Its init (pid 1) kept Python's SIGINT handler, and the kernel delivers a signal sent from inside the namespace to
   its init wherever init handles it: a cell's `os.kill(1, SIGINT)` ended init, and with it the zygote and every
   REPL of the run. Init now leaves every signal at its default (which the kernel ignores from inside), and the
   light filter refuses signals to pid 1.
2. The filter still refused the host's pid and group as numbered outside the namespace: inside, that number is one
   of the cell's own processes, which it then could not terminate (a host with a small pid: a container's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from hostile.test_signal_thread_id_round79 import _copy_without_signal_scope, _non_root_command

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux pid namespaces")

_SIGNALS_INIT = r"""
import sys
from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
cells = ["import os, signal\nfor sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n    try:\n"
         "        os.kill(1, sig)\n    except OSError as exc:\n        print('refused', type(exc).__name__)",
         "print('second cell ran')"]
events = []
def reply(messages):
    n = sum(1 for m in messages if m.get("role") == "assistant")
    return "```repl\n" + (cells[n] if n < len(cells) else "FINAL('done')") + "\n```"
rlm = RLM(ScriptedLM(reply), sandbox="subprocess", sandbox_options={"python": sys.executable}, on_event=events.append,
          budget=Budget(max_iterations=4, cell_timeout=20))
rlm.completion("q", context="x")
print("CELLS", " || ".join(e.data["output"].replace("\n", " | ") for e in events if e.type == "cell"))
"""

_OWN_CHILDREN = r"""
import os, sys
from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
cell = ("import subprocess\nout = []\nfor i in range(8):\n    p = subprocess.Popen(['sleep', '30'])\n"
        "    try:\n        p.terminate(); p.wait(); out.append('ok')\n"
        "    except OSError as exc:\n        p.kill(); out.append(type(exc).__name__)\nprint(out)")
events = []
def reply(messages):
    n = sum(1 for m in messages if m.get("role") == "assistant")
    return "```repl\n" + (cell if n == 0 else "FINAL('done')") + "\n```"
rlm = RLM(ScriptedLM(reply), sandbox="subprocess", sandbox_options={"python": sys.executable}, on_event=events.append,
          budget=Budget(max_iterations=3, cell_timeout=20))
rlm.completion("q", context="x")
print("CELL", [e.data["output"] for e in events if e.type == "cell"][0])
"""


def _run_as_non_root(script_text: str, *, small_host_pid: bool = False) -> str:
    home = Path(tempfile.mkdtemp(prefix="rlmx-r79b-"))
    try:
        os.chmod(home, 0o777)
        _copy_without_signal_scope(home)
        script = home / "host.py"
        script.write_text(script_text)
        for path in home.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        env = {**os.environ, "HOME": str(home), "PYTHONPATH": f"{home}:{sysconfig.get_paths()['purelib']}"}
        command = _non_root_command(script)
        if small_host_pid:  # the host in a pid namespace of its own too, started early: a pid of a few
            if os.getuid() != 0 or shutil.which("unshare") is None:
                pytest.skip("needs a root runner with unshare to give the host a small pid")
            early = '/bin/true; /bin/true; /bin/true; "$@"; exit $?'  # three pids taken: the host's is a few
            command = ["unshare", "-pf", "--mount-proc", "bash", "-c", early, "-", *command]
        done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
    return done.stdout


def test_signals_to_the_namespaces_init_end_nothing() -> None:
    out = _run_as_non_root(_SIGNALS_INIT)
    cells = next(line for line in out.splitlines() if line.startswith("CELLS"))
    assert "second cell ran" in cells and "restarted" not in cells, cells


def test_a_cell_terminates_its_own_children_whatever_their_pid_numbers() -> None:
    out = _run_as_non_root(_OWN_CHILDREN, small_host_pid=True)
    cell = next(line for line in out.splitlines() if line.startswith("CELL"))
    assert cell.count("'ok'") == 8, cell


_DOCTOR = "import sys\nsys.argv = ['rlmx', 'doctor']\nfrom rlmx.cli import main\nsys.exit(main())\n"


def test_doctor_names_the_namespaces_the_non_root_sandbox_runs_in() -> None:
    # the report took the namespaces before the zygote entered its own: "namespaces: none" beside "a pid namespace
    # of its own" on one line
    out = _run_as_non_root(_DOCTOR)
    line = next((line for line in out.splitlines() if line.strip().startswith("subprocess")), "")
    assert line, out
    if "a pid namespace of its own" in line:
        assert "namespaces: none" not in line, line
