"""What a run leaves behind: run directories, context files, processes, after a clean close and after a host that
was killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult, harden, rundir
from rlmx.sandbox.subprocess import SubprocessSandbox


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls expected")


HOST = textwrap.dedent(
    """
    import asyncio, sys
    from rlmx.context import prepare
    from rlmx.sandbox.subprocess import SubprocessSandbox

    async def main():
        box = SubprocessSandbox()
        await box.start([prepare("context", "the context")])
        await box.run_cell(f"open({sys.argv[1]!r}, 'w').write('left')", calls=None, timeout=5)
        print(box._dir, box._zygote.process.pid, flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


async def test_a_host_killed_with_sigkill_leaves_nothing_after_the_next_start() -> None:
    left = Path(f"/tmp/rlmx-left-{os.getpid()}")  # a file the worker wrote outside its run dir
    host = subprocess.Popen([sys.executable, "-c", HOST, str(left)], stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    line = host.stdout.readline().split()
    run_dir, zygote = Path(line[0]), int(line[1])
    assert run_dir.is_dir() and not list((run_dir / "ctx").iterdir())  # the context file is gone once loaded
    host.send_signal(signal.SIGKILL)
    host.wait()
    host.stdout.close()
    deadline = time.monotonic() + 5
    while not _gone(zygote) and time.monotonic() < deadline:  # the zygote sees its channel close and exits
        time.sleep(0.02)
    assert _gone(zygote)
    # Nobody cleaned up, the host died: the run dir stays until a start sweeps it (in the parallel suite, another
    # test's start may be the one that does, before this one's).
    box = SubprocessSandbox()
    await box.start([prepare("context", "x")])
    try:
        assert not run_dir.exists()  # the next start found its owner gone and removed it
        if os.geteuid() == 0:  # the dead run's uid was its own: what that uid wrote in /tmp went too
            assert not left.exists()
        left.unlink(missing_ok=True)
        assert box._dir is not None and box._dir.is_dir()
    finally:
        await box.close()


def test_a_live_run_directory_is_kept(tmp_path: Path) -> None:
    live = tmp_path / "rlmx-live"
    live.mkdir()
    (live / "owner").write_text(f"{os.getpid()} {rundir._start_time(os.getpid())}\n")
    reused = tmp_path / "rlmx-reused"  # a live pid, but another process's start time: the owner is gone
    reused.mkdir()
    (reused / "owner").write_text(f"{os.getpid()} 1\n")
    foreign = tmp_path / "rlmx-no-owner"
    foreign.mkdir()
    assert rundir.sweep_stale(str(tmp_path)) == [str(reused)]
    assert live.is_dir() and foreign.is_dir()


async def test_context_files_are_written_again_for_a_new_zygote() -> None:
    """Once loaded, the context files are unlinked; a zygote that dies is started again from the host's copy,
    and whatever a cell put at a context's path meanwhile is replaced."""
    box = SubprocessSandbox()
    await box.start([prepare("context", "the context")])
    try:
        assert box._dir is not None and box._zygote is not None
        assert not list((box._dir / "ctx").iterdir())
        box._zygote.kill_now()
        result = await box.run_cell("print(context)", calls=no_calls, timeout=5)
        if result.status == "restarted":
            result = await box.run_cell("print(context)", calls=no_calls, timeout=5)
        assert result.stdout == "the context\n"
        assert not list((box._dir / "ctx").iterdir())
    finally:
        await box.close()


def test_kill_tree_reaches_a_process_in_a_new_session() -> None:
    """The tree walk behind close(): a grandchild in its own session, re-parented to a subreaper, is found."""
    code = (
        "import os, sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from rlmx.sandbox import harden\n"
        "harden.become_subreaper()\n"
        "r, w = os.pipe()\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\n"
        "os.wait()\nprint('ready', flush=True)\ntime.sleep(60)"
    )
    src = str(Path(harden.__file__).parents[2])
    parent = subprocess.Popen([sys.executable, "-c", code, src], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
    daemons = harden.descendants(parent.pid)
    assert len(daemons) == 1 and os.getsid(daemons[0]) != os.getsid(parent.pid)
    assert harden.kill_tree(parent.pid) == 2
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while not _gone(daemons[0]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(daemons[0])
