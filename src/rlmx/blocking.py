"""The one way rlmx runs async code for a sync caller (`RLM.completion`, `Session.ask`, `with rlm.session()`).

asyncio refuses to start a loop inside a running one (a Jupyter cell, an async web handler), so:

* no loop runs on the caller's thread: an `asyncio.Runner` on that thread (Ctrl-C cancels the run cleanly);
* a loop already runs there: a private loop on a helper thread, the caller blocking until it is done.

Either way the coroutine runs in a copy of the caller's `contextvars` context, as a plain call would see them
(request ids, tracing spans, logging context), and its exception reaches the caller unchanged. A runner keeps its
loop between calls, because a session's REPL is bound to the loop that started it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _LoopThread:
    """An event loop running forever on its own daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rlmx-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        tasks: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coro, context=context)
            tasks.append(task)
            task.add_done_callback(lambda t: _settle(done, t))

        self.loop.call_soon_threadsafe(start)
        try:
            return done.result()
        except BaseException:
            if not done.done():  # the caller was interrupted (KeyboardInterrupt): cancel the run and wait for it
                self.loop.call_soon_threadsafe(lambda: [t.cancel() for t in tasks])
                concurrent.futures.wait([done], timeout=30)
            raise

    def close(self) -> None:
        async def shutdown() -> None:
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
        self.loop.close()


def _settle(done: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    if task.cancelled():
        done.set_exception(asyncio.CancelledError())
    elif (error := task.exception()) is not None:
        done.set_exception(error)
    else:
        done.set_result(task.result())


class BlockingRunner:
    """Runs coroutines to completion for sync code, on one loop for its whole life. Use as a context manager, or
    call `close()`. Whether it needs a helper thread is decided at the first `run()`."""

    def __init__(self) -> None:
        self._runner: asyncio.Runner | None = None
        self._thread: _LoopThread | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` in a copy of the caller's context; returns its result or raises its exception."""
        context = contextvars.copy_context()
        if self._runner is None and self._thread is None:
            if _loop_running():
                self._thread = _LoopThread()
            else:
                self._runner = asyncio.Runner()
        if self._thread is not None:
            return self._thread.run(coro, context)
        assert self._runner is not None
        if _loop_running():  # first used outside a loop, now inside one: its loop cannot be entered from here
            coro.close()
            raise RuntimeError("this rlmx object was first used outside an event loop; use it there, or its async form")
        return self._runner.run(coro, context=context)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._thread is not None:
            self._thread.close()
            self._thread = None

    def __enter__(self) -> BlockingRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion from sync code, inside a running event loop or not."""
    with BlockingRunner() as runner:
        return runner.run(coro)
