"""The one way rlmx runs async code for a sync caller (`RLM.completion`, `Session.ask`, `with rlm.session()`).

asyncio refuses to start a loop inside a running one (a Jupyter cell, an async web handler), and a session's REPL
is bound to the loop that started it, so a `BlockingRunner` keeps ONE loop for its whole life and runs it where it
can:

* on the caller's thread while a single thread with no running loop uses it (an `asyncio.Runner`: Ctrl-C cancels
  the run cleanly);
* on a private helper thread from the first call made by another thread or inside a running loop on, for good: the
  same loop moves there, and every later call, from any thread, waits for its run on that loop.

Either way the coroutine runs in a copy of the caller's `contextvars` context, as a plain call would see them
(request ids, tracing spans, logging context), its exception reaches the caller unchanged, and the thread's
current event loop (`asyncio.get_event_loop()`) is left as it was.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rlmx.errors import InputError

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

_POLL = 0.1
"""Seconds between looks at whether a task of the caller's loop was cancelled, while it blocks on a helper thread."""


def _green_threads() -> bool:
    """Whether gevent's monkey-patching replaced threads with greenlets in this process."""
    monkey = sys.modules.get("gevent.monkey")
    try:
        return monkey is not None and bool(monkey.is_module_patched("threading"))
    except Exception:
        return False


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _BlockedLoop:
    """The caller's own event loop, which a blocking call keeps from running. A cancellation requested meanwhile
    (asyncio.run's first Ctrl-C cancels its main task, from the SIGINT handler) cannot be delivered by that loop, so
    the call looks for one now and then, whether it blocks in a task or in a plain callback (`loop.call_soon`, a GUI
    slot), and ends itself. Only a signal handler (or another thread) can ask for one while the loop is blocked."""

    def __init__(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain sync code: Ctrl-C is a KeyboardInterrupt raised in the wait itself
            loop = None
        self.caller = asyncio.current_task() if loop is not None else None
        self.tasks = {task: task.cancelling() for task in asyncio.all_tasks(loop)} if loop is not None else {}
        self.poll = _POLL if loop is not None else None
        """Seconds between looks; None: no loop to watch, wait for the result alone."""

    def check(self) -> None:
        """CancelledError when the caller's task was cancelled; KeyboardInterrupt when another of the loop's tasks
        was (the caller, a callback or another task, cannot be cancelled: it stops as sync code does on Ctrl-C)."""
        asked = [task for task, before in self.tasks.items() if task.cancelling() > before]
        if self.caller in asked:
            raise asyncio.CancelledError
        if asked:
            raise KeyboardInterrupt


class _LoopThread:
    """An event loop (a new one, or an idle one taken over) running forever on its own daemon thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.Thread(target=self.loop.run_forever, name="rlmx-loop", daemon=True)
        self.thread.start()

    def _refuse_own_thread(self) -> None:
        if threading.current_thread() is self.thread:
            raise RuntimeError("a blocking rlmx call on the loop it waits for would deadlock; await the async form")

    def run(self, coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
        try:
            self._refuse_own_thread()
        except RuntimeError:
            coro.close()
            raise
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        tasks: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self.loop.create_task(coro, context=context)
            tasks.append(task)
            task.add_done_callback(lambda t: _settle(done, t))

        blocked = _BlockedLoop()
        self.loop.call_soon_threadsafe(start)
        try:
            while True:
                with contextlib.suppress(concurrent.futures.TimeoutError):
                    return done.result(timeout=blocked.poll)
                blocked.check()
        except BaseException:
            if not done.done():  # the caller was interrupted (Ctrl-C, cancelled): cancel the run and wait for it
                self.loop.call_soon_threadsafe(lambda: [t.cancel() for t in tasks])
                concurrent.futures.wait([done], timeout=30)
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        if asyncio.get_running_loop() is self.loop:
            return await coro
        # run_coroutine_threadsafe starts the task in a copy of this context; cancelling the wait cancels it.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self._refuse_own_thread()

        async def shutdown() -> None:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
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
    """Runs coroutines to completion for sync code, all on one event loop for its whole life, from any thread
    (see the module's docstring for where that loop runs). Calls from several threads wait their turn for the
    loop while it runs on a caller's thread; on the helper thread their coroutines run side by side. Use it as a
    context manager, or call `close()`. `loop_factory` makes its loop (default: asyncio's own; uvloop.new_event_loop
    for uvloop)."""

    def __init__(self, loop_factory: LoopFactory = asyncio.new_event_loop) -> None:
        self._loop_factory = loop_factory
        self._lock = threading.Lock()
        """Held while the fields change, and for the whole run while the loop runs on a caller's thread."""
        self._runner: asyncio.Runner | None = None
        self._owner: int | None = None
        """The thread the loop runs on while it is `_runner`'s."""
        self._running_here: int | None = None
        self._thread: _LoopThread | None = None
        self._closed = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` in a copy of the caller's context; returns its result or raises its exception.

        RuntimeError when the runner is closed, or when called from a coroutine this runner is running (it would
        wait for itself)."""
        context = contextvars.copy_context()
        try:
            thread = self._take()
        except BaseException:
            coro.close()
            raise
        if thread is not None:
            return thread.run(coro, context)
        assert self._runner is not None
        held: list[asyncio.Task[Any]] = []

        async def tracked() -> T:
            task = asyncio.current_task()
            if task is not None:
                held.append(task)
            return await coro

        try:
            return self._runner.run(tracked(), context=context)
        except BaseException:
            # An exception a signal handler raised (SIGTERM -> SystemExit, an app's own KeyboardInterrupt) stops the
            # loop with the run still on it; asyncio.Runner cancels it only for its own Ctrl-C. Cancel it and let
            # it finish, so the REPL, the calls and the locks it holds are let go before the exception goes on.
            if not held:
                coro.close()  # never started (the loop refused the run)
            elif not held[0].done():
                held[0].cancel()
                with contextlib.suppress(BaseException):
                    self._runner.get_loop().run_until_complete(held[0])
            raise
        finally:
            self._running_here = None
            self._lock.release()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on this runner's loop from any event loop. The loop moves to its helper thread first (after
        a run in progress on another caller's thread, which this waits for), so the caller's loop goes on. Same
        errors as `run`."""
        if self._running_here == threading.get_ident():
            return await coro  # called by a coroutine of a run on this thread: already on the loop
        try:
            while not self._lock.acquire(blocking=False):  # a run on a caller's thread holds it: wait, not block
                await asyncio.sleep(_POLL / 10)
            try:
                self._check_open()
                thread = self._to_thread()
            finally:
                self._lock.release()
        except BaseException:
            coro.close()
            raise
        return await thread.arun(coro)

    def _take(self) -> _LoopThread | None:
        """The helper thread to run on, or None with `_lock` held: run on this thread."""
        me = threading.get_ident()
        if self._running_here == me:
            raise RuntimeError("a blocking rlmx call on the loop it waits for would deadlock; await the async form")
        self._lock.acquire()
        try:
            self._check_open()
            if self._thread is None and self._owner in (None, me) and not _loop_running():
                if self._runner is None:
                    # loop_factory: a Runner that neither sets nor clears the thread's current event loop.
                    self._runner, self._owner = asyncio.Runner(loop_factory=self._loop_factory), me
                self._running_here = me
                return None
            if _green_threads():  # the helper "thread" would be a greenlet of this very thread, its loop beside ours
                raise InputError(
                    "rlmx's sync API runs its event loop on a helper thread here (a second caller, or one inside a "
                    "running loop), and gevent's monkey-patching made threads greenlets of one thread; call it "
                    "through gevent's pool of real threads, gevent.get_hub().threadpool.apply(rlm.completion, "
                    "(query,), {...}), or await the async API"
                )
            thread = self._to_thread()
        except BaseException:
            self._lock.release()
            raise
        self._lock.release()
        return thread

    def _to_thread(self) -> _LoopThread:
        """The helper thread, started on first need with the loop so far (idle: `_lock` is held)."""
        if self._thread is None:
            self._thread = _LoopThread(self._runner.get_loop() if self._runner is not None else self._loop_factory())
            self._runner = self._owner = None
        return self._thread

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this rlmx object is closed (its `with` block has ended); start a new one")

    def close(self) -> None:
        """Cancel what still runs on the loop, then close it. Callable from any thread, a thread whose own loop is
        running included; it waits for a run in progress on a caller's thread. Closing twice does nothing.
        RuntimeError when called from a coroutine this runner is running."""
        if self._running_here == threading.get_ident():
            raise RuntimeError("an rlmx object cannot be closed from inside one of its own runs")
        with self._lock:
            self._closed = True
            if self._runner is not None and _loop_running():  # Runner.close would run the loop here: it cannot
                self._to_thread()
            runner, thread = self._runner, self._thread
            self._runner = self._owner = self._thread = None
        if runner is not None:
            runner.close()
        if thread is not None:
            thread.close()

    def __enter__(self) -> BlockingRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_blocking(coro: Coroutine[Any, Any, T], loop_factory: LoopFactory = asyncio.new_event_loop) -> T:
    """Run one coroutine to completion from sync code, inside a running event loop or not, on a loop that
    `loop_factory` makes."""
    with BlockingRunner(loop_factory) as runner:
        return runner.run(coro)
