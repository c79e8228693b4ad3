"""rlmx on a caller's uvloop loop (uvicorn picks uvloop when it is installed): uvloop's subprocess_exec has no
user=/group= arguments, so a tier that starts its launcher under another uid must still start there."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.scripting import repl

from rlmx import RLM
from rlmx.lm import ScriptedLM

uvloop = pytest.importorskip("uvloop")


def test_the_isolated_tier_starts_under_its_own_uid_on_uvloop(
    tmp_path: Path, require_isolated: Callable[..., None]
) -> None:
    require_isolated()
    lm = ScriptedLM([repl("import os\nFINAL(f'{len(context)} {os.getuid()}')")])
    rlm = RLM(lm, sandbox="isolated", trace_dir=tmp_path)

    async def ask() -> tuple[str, str]:
        assert type(asyncio.get_running_loop()).__module__ == "uvloop"
        result = await rlm.acompletion("How long, and as whom?", context="four")
        return str(result.answer), result.status

    answer, status = uvloop.run(ask())
    assert status == "finished"
    length, uid = answer.split()
    assert length == "4" and int(uid) != 0  # root hosts run it under a uid of its own


def test_the_default_tier_runs_on_uvloop() -> None:
    lm = ScriptedLM([repl("FINAL(len(context))")])

    async def ask() -> str:
        return str((await RLM(lm).acompletion("How long?", context="four")).answer)

    assert uvloop.run(ask()) == "4"


def test_uvloop_loops_on_several_threads_start_their_repls_together() -> None:
    # uvloop lets one loop at a time spawn a process ("Racing with another loop to spawn a process").
    rlm = RLM(ScriptedLM(lambda messages: repl("FINAL(len(context))")))

    def ask(index: int) -> str:
        async def one() -> str:
            return str((await rlm.acompletion("How long?", context="x" * index)).answer)

        return str(uvloop.run(one()))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(1, 25)))
    assert answers == [str(index) for index in range(1, 25)]


def test_runs_cancelled_while_waiting_to_spawn_leave_the_spawn_lock_free() -> None:
    # The wait for the lock ran on a thread; a waiter cancelled meanwhile had its thread take the lock anyway, and
    # nothing released it: every later run on uvloop (and the process's exit) hung.
    from rlmx.sandbox.channel import _SPAWNING

    rlm = RLM(ScriptedLM(lambda messages: repl("FINAL(len(context))")))

    async def burst() -> str:
        runs = [asyncio.ensure_future(rlm.acompletion("q", context="four")) for _ in range(8)]
        await asyncio.sleep(0.005)
        for run in runs[1:]:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        assert not _SPAWNING.locked()
        return str((await asyncio.wait_for(rlm.acompletion("q", context="four"), 20)).answer)

    assert uvloop.run(burst()) == "4"


def test_a_process_forked_while_a_repl_is_being_started_starts_its_own() -> None:
    # The spawn lock came into the child held (by a spawn that goes on only in the parent): the child's first run
    # on uvloop waited for it for ever (multiprocessing's fork start method, a request forking a worker).
    from rlmx.sandbox import channel

    channel._SPAWNING.acquire()  # a spawn in progress, as another thread of this process would hold it
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports by its exit code
            answered = False
            try:

                async def ask() -> str:
                    run = RLM(ScriptedLM([repl("FINAL(len(context))")])).acompletion("q", context="four")
                    return str((await asyncio.wait_for(run, 10)).answer)

                answered = uvloop.run(ask()) == "4"
            finally:
                os._exit(0 if answered else 1)
    finally:
        channel._SPAWNING.release()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
