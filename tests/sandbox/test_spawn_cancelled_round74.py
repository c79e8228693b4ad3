"""A process spawn cancelled at any point ends (CPython 3.11's gh-125502): asyncio.run cancels every task once its
main one ends, asyncio's own pipe-connecting task among them, and a spawn whose pipes task never ran waited for ever
for an exit it was not told of. `asyncio.run(rlm.acompletion(...))` with a model client raising KeyboardInterrupt
(the first LM call is in flight while the REPL's process starts) hung in asyncio.run's cleanup. Each case runs in a
child process with a time limit, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail("still running after 60 s: the cancelled spawn never ended")


CANCEL_ALL_WHILE_PIPES_CONNECT = textwrap.dedent(
    """
    import asyncio, os
    from rlmx.sandbox.channel import start_process

    def connecting_pipes(task):
        return "_connect_pipes" in repr(task.get_coro())

    async def main():
        spawn = asyncio.create_task(start_process(["sleep", "30"], pass_fd=0, spawn={}))
        while not any(connecting_pipes(t) and not t.done() for t in asyncio.all_tasks()):
            if spawn.done():
                raise SystemExit(f"the spawn ended before its pipes task was seen: {spawn.exception()!r}")
            await asyncio.sleep(0)
        for task in asyncio.all_tasks():  # as asyncio.run does once its main task has ended
            if task is not asyncio.current_task():
                task.cancel()
        done, _ = await asyncio.wait([spawn], timeout=20)
        print("spawn ended" if done else "spawn still waiting")

    asyncio.run(main())
    print("left:", sorted(os.popen(f"ps -o comm= --ppid {os.getpid()}").read().split()))
    """
)


def test_a_spawn_cancelled_with_asyncios_pipe_task_ends_and_leaves_no_process(tmp_path: Path) -> None:
    done = _run(CANCEL_ALL_WHILE_PIPES_CONNECT, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "spawn ended"
    assert "sleep" not in done.stdout.splitlines()[1]  # the process started meanwhile was killed and reaped
    assert "Unknown child process" not in done.stderr


MODEL_RAISES = textwrap.dedent(
    """
    import asyncio
    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    async def model(messages):
        raise RAISED

    try:
        asyncio.run(RLM(ScriptedLM(model)).acompletion("q", context="c"))
    except BaseException as exc:
        print("raised", type(exc).__name__)
    """
)


@pytest.mark.parametrize("raised", ["KeyboardInterrupt", "SystemExit"])
def test_asyncio_run_of_acompletion_ends_when_the_first_lm_call_raises_a_base_exception(
    tmp_path: Path, raised: str
) -> None:
    done = _run(MODEL_RAISES.replace("RAISED", raised), tmp_path)
    assert done.stdout.strip() == f"raised {raised}", done.stderr[-2000:]
