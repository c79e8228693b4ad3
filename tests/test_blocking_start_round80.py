"""A Ctrl-C that lands as a sync call starts, before its run took a step, leaves no coroutine unawaited: the
runner's wrapper around the run was never closed and Python printed "coroutine ... was never awaited" (about 1 in
150 Ctrl-Cs right at `completion()`'s start, audit 80). The runner stays usable for the next call."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from rlmx.blocking import BlockingRunner


async def _answer() -> int:
    return 42


def test_an_interrupt_before_the_first_step_leaves_nothing_unawaited(monkeypatch: pytest.MonkeyPatch) -> None:
    with BlockingRunner() as runner:
        assert runner.run(_answer()) == 42  # the loop exists: a later interrupt comes as a call starts
        assert runner._runner is not None
        real = runner._runner.run

        def interrupted(coro: Any, *, context: Any = None) -> Any:
            raise KeyboardInterrupt  # as a signal handler's exception does, before any task takes a step

        monkeypatch.setattr(runner._runner, "run", interrupted)
        with pytest.raises(KeyboardInterrupt):
            runner.run(_answer())
        monkeypatch.setattr(runner._runner, "run", real)
        gc.collect()  # an unawaited coroutine warns when collected (an error under the suite's filterwarnings)
        assert runner.run(_answer()) == 42


def test_an_interrupt_after_the_task_was_made_cancels_that_task(monkeypatch: pytest.MonkeyPatch) -> None:
    with BlockingRunner() as runner:
        assert runner.run(_answer()) == 42
        assert runner._runner is not None
        loop = runner._runner.get_loop()
        real = runner._runner.run
        made: list[asyncio.Task[Any]] = []

        def interrupted(coro: Any, *, context: Any = None) -> Any:
            made.append(loop.create_task(coro, context=context))  # the task exists, but never ran
            raise KeyboardInterrupt

        monkeypatch.setattr(runner._runner, "run", interrupted)
        with pytest.raises(KeyboardInterrupt):
            runner.run(_answer())
        monkeypatch.setattr(runner._runner, "run", real)
        assert made[0].cancelled()
        gc.collect()
        assert runner.run(_answer()) == 42
