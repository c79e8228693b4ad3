"""Review 84b V06: a folder a cell made and took its owner's permissions from (`os.chmod('locked', 0)`) is a disk
breach by design (the host cannot measure it), but its removal opened it first, which failed for its (non-root)
owner: it stayed, and each restarted worker was killed again for it, cell after cell, and the run folder stayed in
/dev/shm. Removal now gives the owner's rwx back (through an O_PATH descriptor, never a link) before it descends;
and a folder that still cannot be removed ends the run with one error instead of a restart loop.

The cases run as an unprivileged user (nobody, through setpriv, when the tests run as root): root reads any
folder, so it never met the fault."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rlmx.sandbox import rundir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers and /proc/self/fd are Linux's")

SRC = str(Path(rundir.__file__).resolve().parents[2])


def _as_unprivileged(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new Python as nobody (root: through setpriv), or as this user where it is not root."""
    command = [sys.executable, "-c", textwrap.dedent(code)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": SRC, "HOME": "/tmp"}
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no unprivileged user to test with")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd="/tmp")


def test_empty_removes_folders_their_owner_cannot_read_search_or_write() -> None:
    done = _as_unprivileged(
        """
        import os, tempfile
        from pathlib import Path
        from rlmx.sandbox import rundir
        top = Path(tempfile.mkdtemp())
        work = top / "work"
        work.mkdir()
        (work / "locked").mkdir()                      # empty, mode 000
        os.chmod(work / "locked", 0)
        deep = work / "a" / "b" / "c"                   # a tree with 000, 300 (no read) and 500 (no write) levels
        deep.mkdir(parents=True)
        (deep / "f.txt").write_text("x" * 5000)
        (work / "a" / "b" / "g.txt").write_text("y")
        os.chmod(deep, 0o500)
        os.chmod(work / "a" / "b", 0)
        os.chmod(work / "a", 0o300)
        os.symlink("/etc", work / "link")               # a link goes as a link
        walk = rundir.Walk()
        rundir.usage([work], None, 0, None, walk)
        print("unmeasured before:", bool(walk.unmeasured))
        os.chmod(work, 0)                                # the work folder itself too
        rundir.empty([work])
        print("left:", sorted(os.listdir(work)), oct(os.stat(work).st_mode & 0o777))
        walk = rundir.Walk()
        rundir.usage([work], None, 0, None, walk)
        print("unmeasured after:", repr(walk.unmeasured))
        os.rmdir(work)
        os.rmdir(top)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "unmeasured before: True" in done.stdout
    assert "left: [] 0o700" in done.stdout
    assert "unmeasured after: ''" in done.stdout


def test_unlock_never_changes_what_a_link_points_to(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir(mode=0o500)
    os.symlink(target, tmp_path / "link")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        rundir._unlock(fd, "link", os.stat(target))  # judged as the folder, then found to be a link: left alone
    finally:
        os.close(fd)
    assert target.stat().st_mode & 0o777 == 0o500


_RUN = """
import os, sys
from rlmx import RLM, Budget
from rlmx.lm.scripted import ScriptedLM
from rlmx.sandbox import rundir
{patch}
seen = []
def root(messages):
    turn = 1 + sum(m["role"] == "assistant" for m in messages)
    seen.append(messages[-1]["content"])
    if turn == 1:
        return ("```repl\\nimport os\\nos.makedirs('locked/inner')\\nos.chmod('locked/inner', 0)\\n"
                "os.chmod('locked', 0)\\n```")
    if turn in (2, 3, 4):
        return "```repl\\nimport os, time\\ntime.sleep(0.8)\\nprint('alive', sorted(os.listdir('.')))\\n```"
    return "```repl\\nFINAL('ok')\\n```"
res = RLM(lm=ScriptedLM(root), sub_lm=ScriptedLM(["x"]), sandbox="subprocess", trace_dir=None,
          budget=Budget(max_iterations=6)).completion("q", "c")
print("STATUS", res.status)
print("KILLS", sum("could not measure" in text for text in seen))
print("ALIVE", sum("alive" in text for text in seen))
print("ERROR", res.stop_reason)
"""


def test_a_chmod_000_folder_breaches_once_and_the_repl_goes_on() -> None:
    done = _as_unprivileged(_RUN.format(patch=""))
    assert done.returncode == 0, done.stderr
    assert "STATUS finished" in done.stdout
    assert "KILLS 1" in done.stdout, done.stdout
    assert "ALIVE 2" in done.stdout or "ALIVE 3" in done.stdout, done.stdout


def test_a_folder_that_cannot_be_removed_ends_the_run_once_not_in_a_loop() -> None:
    # removal made to fail (as for a folder the host cannot delete): no worker is started to be killed again
    done = _as_unprivileged(_RUN.format(patch="rundir.empty = lambda folders: None"))
    assert done.returncode == 0, done.stderr
    assert "STATUS error" in done.stdout, done.stdout
    assert "KILLS 0" in done.stdout or "KILLS 1" in done.stdout, done.stdout
    assert "The REPL cannot be restarted" in done.stdout, done.stdout
