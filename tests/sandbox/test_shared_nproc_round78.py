"""Round 78: every REPL of a run sees one process ceiling. The kernel checks each process's RLIMIT_NPROC against
the count of its whole uid, which a run's REPL shares with its child RLMs' (forked from one zygote under one uid).
The run's own worker kept `max_processes` while its children had the whole tree's ceiling, so two children holding
100 threads each (inside what each was given) left the run's REPL unable to start a thread or a subprocess."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import repl, router, turn_of

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers' limits are Linux's")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC applies under the separate uid of a root host")


def test_the_ceiling_counts_every_level_of_children_and_the_runs_own_repl() -> None:
    box = SubprocessSandbox(max_processes=10, max_live_children=3)
    box.separate_uid = True  # as prepare() sets it on a root host
    assert box.limits()["processes"] == 10  # no children said or started: the run's REPL alone
    box.plan_children(1)
    assert box.limits()["processes"] == box.tree_processes() == 40  # max_depth=2: 1 + 3 REPLs at once
    box.plan_children(0)
    assert box.limits()["processes"] == 10
    box.plan_children(2)
    assert box.limits()["processes"] == box.tree_processes() == 70  # 1 + 3 x 2 REPLs at once
    box._reach_level(3)  # a deeper level than planned started: the ceiling follows it
    assert box.tree_processes() == 100
    with pytest.raises(InputError, match="plan_children"):
        box.plan_children(-1)


_ROOT = """
import json, threading, time
results = {}
def children():
    results['r'] = rlm_query_batched(['CHILD'] * 2)
batch = threading.Thread(target=children)
batch.start()
time.sleep(2.5)  # both children hold their threads now
found = {}
try:
    threading.Thread(target=lambda: None).start()
    found['thread'] = 'ok'
except RuntimeError as exc:
    found['thread'] = str(exc)
try:
    import subprocess
    subprocess.run(['true'], check=True)
    found['process'] = 'ok'
except OSError as exc:
    found['process'] = str(exc)
batch.join()
print(json.dumps(found))
"""

_CHILD = """
import threading, time
started = 0
for _ in range(15):
    try:
        threading.Thread(target=time.sleep, args=(4,), daemon=True).start()
        started += 1
    except RuntimeError:
        break
time.sleep(4)
print(started)
"""


class PlannedSandbox(SubprocessSandbox):
    """The default tier told, before its start, that the run may have one level of child RLMs (max_depth=2), as
    the engine says it with `plan_children(max_depth - 1)`."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.plan_children(1)


class UnplannedSandbox(SubprocessSandbox):
    """The default tier that ignores what the engine plans: its run's worker is raised when the first child starts."""

    def plan_children(self, levels: int) -> None:
        pass


def _may_raise_hard_limits() -> bool:
    """Whether this process holds CAP_SYS_RESOURCE (a Docker container's root does not)."""
    status = Path("/proc/self/status").read_text()
    effective = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
    return bool(int(effective, 16) >> 24 & 1)


@ROOT_ONLY
@pytest.mark.parametrize(
    "how", ["planned before the start", "raised at the first child", "planned by the engine", "planned by a session"]
)
def test_the_runs_own_repl_keeps_its_share_while_children_hold_theirs(how: str) -> None:
    # max_processes 20: the run's REPL had 20 while each child had 60 (20 x (1 + 2)); two children of ~20 threads
    # each then took the uid's count past the run's own 20.
    if how == "raised at the first child" and not _may_raise_hard_limits():
        pytest.skip("this root lacks CAP_SYS_RESOURCE: a running worker's limit cannot be raised here")
    sandbox = {
        "planned before the start": f"{__name__}:PlannedSandbox",
        "raised at the first child": f"{__name__}:UnplannedSandbox",
    }.get(how, "subprocess")

    def child(messages: list) -> str:
        return repl(_CHILD) if turn_of(messages) == 1 else repl("FINAL('child-ok')")

    root = [repl(_ROOT), repl("FINAL('done')")]
    events: list = []
    rlm = RLM(
        ScriptedLM(router(root=root, child=child)),
        max_depth=2,
        on_event=events.append,
        sandbox=sandbox,
        sandbox_options={"max_processes": 20, "max_live_children": 2},
    )
    if how == "planned by a session":
        with rlm.session(context="c") as session:
            session.ask("q")
    else:
        rlm.completion("q", context="c")
    output = next(e.data["output"] for e in events if e.type == "cell" and e.data["cell_id"] == "0/c1")
    assert json.loads(output.strip().splitlines()[-1]) == {"thread": "ok", "process": "ok"}, output


@ROOT_ONLY
def test_a_thread_the_shared_count_refuses_says_the_children_share_it() -> None:
    root = [
        repl("print(rlm_query('CHILD'))"),
        repl(
            "import threading, time\nfor _ in range(200):\n    threading.Thread(target=time.sleep, args=(2,)).start()"
        ),
        repl("FINAL('done')"),
    ]
    events: list = []
    rlm = RLM(
        ScriptedLM(router(root=root, child=lambda messages: repl("FINAL('child-ok')"))),
        max_depth=2,
        on_event=events.append,
        sandbox_options={"max_processes": 20, "max_live_children": 2},
    )
    rlm.completion("q", context="c")
    cell = next(e.data for e in events if e.type == "cell" and e.data["cell_id"] == "0/c2")
    text = json.dumps(cell)
    assert "can't start new thread" in text, text
    assert "child RLMs" in text and "max_live_children" in text and "60" in text, text
