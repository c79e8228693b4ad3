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
import functools
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

from rlmx.errors import InputError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

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


_ANSWER_CTRL_C: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()
"""rlmx's own SIGINT handlers that answer a Ctrl-C through the run itself (see `answers_ctrl_c`)."""


def answers_ctrl_c(handler: F) -> F:
    """Register `handler` (a function, or a method: for every instance) as one of rlmx's SIGINT handlers that answer
    a Ctrl-C through the run itself, on the helper loop (`rlmx.cli`'s cancels the run, `rlmx serve`'s stops its
    server gracefully): a sync call blocked in a loop that finds it chained leaves the Ctrl-C to it."""
    _ANSWER_CTRL_C.add(handler)
    return handler


def _answers_through_the_run(handler: Callable[..., Any]) -> bool:
    return getattr(handler, "__func__", handler) in _ANSWER_CTRL_C


def _pythons_own_ctrl_c(handler: Callable[..., Any]) -> bool:
    """Whether `handler` is Python's own Ctrl-C: `default_int_handler`, or asyncio.Runner's (asyncio.run's), which
    cancels the main task and raises KeyboardInterrupt itself once that has ended."""
    if isinstance(handler, functools.partial):  # asyncio.Runner installs partial(self._on_sigint, main_task=...)
        handler = handler.func
    if handler is signal.default_int_handler:
        return True
    return isinstance(getattr(handler, "__self__", None), asyncio.Runner) and handler.__name__ == "_on_sigint"


class _HeldCtrlC:
    """One Ctrl-C noted in a blocked turn of a loop, pending for it until the app's handler has had its turn."""

    __slots__ = ("answered",)

    def __init__(self) -> None:
        self.answered: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        """Tasks whose blocked call it stopped already: answered once, their next call runs."""


_ctrl_c_pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_HeldCtrlC]] = weakref.WeakKeyDictionary()
"""Loops with a Ctrl-C that a blocked call noted and the app's own handler may not have had its turn for yet."""

_TURNS_FOR_AN_APPS_HANDLER = 3
"""Loop turns until an app's handler of a Ctrl-C noted in a blocked turn has surely run: the next turn runs what
was ready already, the one after reads the signal from the loop's wakeup pipe (`loop.add_signal_handler`) and the
third runs the handler it scheduled."""


def _hold_ctrl_c(loop: asyncio.AbstractEventLoop) -> _HeldCtrlC:
    """Keep a Ctrl-C noted in `loop`'s blocked turn pending for it until the app's handler has had its turn: a task
    or callback already ready would otherwise start its own blocking call first, and the app could not act on the
    Ctrl-C until that call ends."""
    held = _HeldCtrlC()
    _ctrl_c_pending.setdefault(loop, []).append(held)

    def release(turns_left: int) -> None:
        if turns_left:
            loop.call_soon(release, turns_left - 1)
        else:
            _let_go(loop, held)

    loop.call_soon_threadsafe(release, _TURNS_FOR_AN_APPS_HANDLER - 1)
    return held


def _let_go(loop: asyncio.AbstractEventLoop, held: _HeldCtrlC) -> None:
    """`held` is pending no more (its app's handler had its turn, or raised it as an exception: delivered)."""
    holds = _ctrl_c_pending.get(loop, [])
    if held in holds:
        holds.remove(held)
        if not holds:
            del _ctrl_c_pending[loop]


_STOPPED_BY_CTRL_C = (asyncio.CancelledError, KeyboardInterrupt)


def _trio_worker() -> bool:
    """Whether this thread runs a `trio.to_thread.run_sync` call (trio's cancellation reaches it only if asked)."""
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.from_thread.check_cancelled()
    except (RuntimeError, AttributeError):  # not trio's worker; a trio too old to tell
        return False
    except BaseException:  # cancelled already: the wait's first look raises it again
        pass
    return True


class _TrioCancel:
    """The cancellation (a Ctrl-C's KeyboardInterrupt, a cancel scope's Cancelled) of the `trio.to_thread.run_sync`
    call this thread runs, once trio asked for it."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def came(self) -> bool:
        try:
            sys.modules["trio"].from_thread.check_cancelled()
        except BaseException as exc:
            self.error = exc
            return True
        return False


_run_stopped: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("rlmx_run_stopped", default=None)
"""In the context of a blocking run (and so of its tasks, event handlers and tools, a sync tool's own thread
included): set once its caller was interrupted. A sync call nested in that run cannot be reached by the run's
cancellation (it blocks the very loop that would deliver it, or runs on a tool's thread on a loop of its own), so it
looks here too."""


class _BlockedLoop:
    """The caller's own event loop, which a blocking call keeps from running. A cancellation requested meanwhile
    cannot be delivered by that loop, so the call looks for one now and then, whether it blocks in a task or in a
    plain callback (`loop.call_soon`, a GUI slot), and ends itself. Only a signal handler (or another thread) can ask
    for one while the loop is blocked. Enter it around the wait: on the main thread it notes each SIGINT, its handler
    chained, to tell a Ctrl-C from other cancellations, and to see a Ctrl-C that the app's own handler only passed
    on to the blocked loop (`loop.add_signal_handler`, ipykernel's, uvicorn's flag).

    The handler is chained per call rather than once for all calls: blocked calls on the main thread nest strictly,
    so each puts back what it found, and a handler set by code nested in the call (`rlmx.cli.main` in a notebook)
    is chained by the calls nested in it, where one shared handler would be replaced and deaf.

    On a thread of trio's (`trio.to_thread.run_sync`) it looks for trio's cancellation too."""

    def __init__(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain sync code: Ctrl-C is a KeyboardInterrupt raised in the wait itself
            loop = None
        self.loop = loop
        self.in_loop = loop is not None
        """Whether a loop of the caller's runs (blocked) on this thread."""
        self.caller = asyncio.current_task() if loop is not None else None
        self.tasks = {task: task.cancelling() for task in asyncio.all_tasks(loop)} if loop is not None else {}
        self.outer = _run_stopped.get()
        """The stop of the rlmx run this call is nested in (an on_event handler's or a tool's call), if any."""
        self.trio = loop is None and _trio_worker()
        self.poll = _POLL if loop is not None or self.outer is not None or self.trio else None
        """Seconds between looks; None: nothing to watch, wait for the result alone."""
        caller = self.caller
        self.sigint = loop is not None and any(
            caller is None or caller not in held.answered for held in _ctrl_c_pending.get(loop, ())
        )
        """Whether SIGINT's handler ran since the call began, or before it, in a turn of the loop that the app's
        own handler has not had since (`_hold_ctrl_c`): then the call stops at once."""
        self._unanswered = 1 if self.sigint else 0
        """Looks since the SIGINT was noted during which nothing turned it into a cancellation."""
        self._handler: Callable[..., Any] | None = None
        """The SIGINT handler the call found, seen through the notes of the blocked calls it is nested in."""
        self._previous: Callable[..., Any] | None = None
        self._noted: Callable[..., Any] | None = None

    @property
    def _answered_by_run(self) -> bool:
        return self._handler is not None and _answers_through_the_run(self._handler)

    def __enter__(self) -> _BlockedLoop:
        previous = signal.getsignal(signal.SIGINT)
        if self.in_loop and threading.current_thread() is threading.main_thread() and callable(previous):
            handler = previous
            while isinstance(outer := getattr(handler, "__self__", None), _BlockedLoop) and outer._handler:
                handler = outer._handler  # an outer blocked call's note (a call made in a signal handler)
            self._handler, self._previous, noted = handler, previous, self._note  # before a SIGINT can come
            try:
                signal.signal(signal.SIGINT, noted)
                self._noted = noted
            except ValueError:  # not the main interpreter
                self._handler = None
        return self

    def _note(self, signum: int, frame: FrameType | None) -> Any:
        self.sigint = True
        loop = self.loop
        held = _hold_ctrl_c(loop) if loop is not None and not self._answered_by_run else None
        assert self._previous is not None
        try:
            return self._previous(signum, frame)
        except BaseException:
            # Raised (Python's default_int_handler: Jupyter, IPython, a plain loop): the Ctrl-C is delivered, as
            # this call's KeyboardInterrupt. Left pending, it stopped the caller's next call at once.
            if loop is not None and held is not None:
                _let_go(loop, held)
            raise

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self._noted is not None and signal.getsignal(signal.SIGINT) is self._noted:
            signal.signal(signal.SIGINT, self._previous)  # unless a handler set another one meanwhile
        if (
            self.sigint
            and self.loop is not None
            and self.caller is not None
            and kind is not None
            and issubclass(kind, _STOPPED_BY_CTRL_C)
        ):
            # This task has its answer to the Ctrl-Cs pending: a call it makes next (after catching it, or in a
            # `with` block's exit) runs; other tasks' calls stop until the app's handler has had its turn.
            for held in _ctrl_c_pending.get(self.loop, ()):
                held.answered.add(self.caller)

    def check(self, run: list[asyncio.Task[Any]]) -> None:
        """CancelledError when the caller's task was cancelled, or the run it is nested in was stopped; trio's
        cancellation on a trio worker thread. When another of the loop's tasks was cancelled by a Ctrl-C:
        KeyboardInterrupt if Python's own handler did it (asyncio.run's first one cancels its main task: the
        caller, a callback or another task, cannot be cancelled, and stops as sync code does on Ctrl-C), else as
        the app's handler meant it (`_stop_as_ctrl_c`). Any other task's cancellation (a SIGTERM handler's
        shutdown, another thread's) is the loop's to deliver once the call returns. A Ctrl-C that nothing turned
        into a cancellation by the next look (the app's handler left it to the blocked loop, or only set a flag)
        stops the call too, or the app could not act on it until the run ends; unless it cancelled `run`, this
        call's own tasks, or the handler is one of rlmx's that answers it through the run (`answers_ctrl_c`)."""
        if self.outer is not None and self.outer.is_set():
            raise asyncio.CancelledError
        asked = [task for task, before in self.tasks.items() if task.cancelling() > before]
        if self.caller in asked:
            raise asyncio.CancelledError
        if self.trio:
            sys.modules["trio"].from_thread.check_cancelled()
        if not self.sigint or self._answered_by_run:
            return
        if asked:
            if self._handler is not None and _pythons_own_ctrl_c(self._handler):
                raise KeyboardInterrupt
            self._stop_as_ctrl_c()
        if not any(task.cancelling() for task in run):
            self._unanswered += 1
            if self._unanswered > 1:
                self._stop_as_ctrl_c()

    def _stop_as_ctrl_c(self) -> None:
        """A task is stopped as if cancelled: a KeyboardInterrupt out of a task would end its whole loop (the
        server, the kernel) where the app's own handler meant to stop one request or cell, or to shut down
        gracefully. A plain callback stops as sync code does on Ctrl-C."""
        if self.caller is not None:
            raise asyncio.CancelledError
        raise KeyboardInterrupt


class _LoopThread:
    """An event loop (a new one, or an idle one taken over) running forever on its own daemon thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.Thread(target=self._serve, name="rlmx-loop", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        """Run the loop until `close` stops it. A KeyboardInterrupt or SystemExit raised in a task here (a model's
        client, an `on_event` callback, an async tool) is the task's exception, and asyncio raises it out of
        `run_forever` too: the loop then goes on, so that the task's done callback hands it to the caller (the
        thread ending there left the caller waiting for ever)."""
        while True:
            try:
                self.loop.run_forever()
            except (KeyboardInterrupt, SystemExit):
                continue
            return

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
        stopped = threading.Event()
        context.run(_run_stopped.set, stopped)

        def start() -> None:
            task = self.loop.create_task(coro, context=context)
            tasks.append(task)
            task.add_done_callback(lambda t: _settle(done, t))

        with _BlockedLoop() as blocked:
            try:
                blocked.check(tasks)  # a Ctrl-C still pending for the caller's loop, a nested-in run stopped
            except BaseException:
                coro.close()
                raise
            self.loop.call_soon_threadsafe(start)
            try:
                while True:
                    with contextlib.suppress(concurrent.futures.TimeoutError):
                        return done.result(timeout=blocked.poll)
                    blocked.check(tasks)
            except BaseException:
                if not done.done():  # the caller was interrupted (Ctrl-C, cancelled): cancel the run and wait for it
                    stopped.set()  # for a sync call nested in the run, which keeps the loop from cancelling it
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


def _cancel_when(stopped: Callable[[], bool], task: asyncio.Task[Any]) -> None:
    """Cancel `task`, a run on this thread's loop, once `stopped()` says so (the outer run's stop, for a run nested
    in another on a loop of its own; trio's cancellation). Looked at every `_POLL` seconds on the task's loop
    (neither a threading.Event nor trio can wake it), until the task ends."""

    def look() -> None:
        if task.done():
            return
        if stopped():
            task.cancel()
        else:
            task.get_loop().call_later(_POLL, look)

    look()


def _settle(done: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    if task.cancelled():
        done.set_exception(asyncio.CancelledError())
    elif (error := task.exception()) is not None:
        done.set_exception(error)
    else:
        done.set_result(task.result())


class RunnerClosed(RuntimeError):
    """A sync call on an rlmx object whose runner is closed (its `with` block ended, or another thread closed it
    while the call waited its turn); a session turns it into its own "this session is closed"."""


class BlockingRunner:
    """Runs coroutines to completion for sync code, all on one event loop for its whole life, from any thread
    (see the module's docstring for where that loop runs). Calls from several threads wait their turn for the
    loop while it runs on a caller's thread; on the helper thread their coroutines run side by side. Use it as a
    context manager, or call `close()`. `loop_factory` makes its loop (default: asyncio's own; uvloop.new_event_loop
    for uvloop)."""

    def __init__(self, loop_factory: LoopFactory = asyncio.new_event_loop, *, on_a_thread: bool = False) -> None:
        self._loop_factory = loop_factory
        self._on_a_thread = on_a_thread
        """Run the loop on the helper thread from the first call on: what one call starts goes on between calls (a
        stream stepped from sync code: its run must not stall while the caller handles an item)."""
        self._lock = threading.Lock()
        """Held while the fields change, and for the whole run while the loop runs on a caller's thread."""
        self._runner: asyncio.Runner | None = None
        self._owner: int | None = None
        """The thread the loop runs on while it is `_runner`'s."""
        self._running_here: int | None = None
        self._thread: _LoopThread | None = None
        self._closed = False

    def _drop_unstarted(self, wrapper: Coroutine[Any, Any, Any]) -> None:
        """A run's coroutine that never took its first step: its task, if the runner made one, is cancelled on the
        loop (a later run would otherwise start it); else the coroutine is closed ("coroutine ... was never
        awaited" was printed for a Ctrl-C right as a sync call began, about 1 in 150, audit 80)."""
        assert self._runner is not None
        loop = self._runner.get_loop()
        task = next((t for t in asyncio.all_tasks(loop) if t.get_coro() is wrapper), None)
        if task is None:
            wrapper.close()
            return
        task.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(task)

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
        outer = _run_stopped.get()
        stopped = threading.Event()
        context.run(_run_stopped.set, stopped)
        trio_cancel = _TrioCancel() if _trio_worker() else None

        async def tracked() -> T:
            task = asyncio.current_task()
            if task is not None:
                held.append(task)
                if outer is not None:
                    _cancel_when(outer.is_set, task)
                if trio_cancel is not None:
                    _cancel_when(trio_cancel.came, task)
            return await coro

        wrapper = tracked()
        try:
            return self._runner.run(wrapper, context=context)
        except BaseException:
            # An exception a signal handler raised (SIGTERM -> SystemExit, an app's own KeyboardInterrupt) stops the
            # loop with the run still on it; asyncio.Runner cancels it only for its own Ctrl-C. Cancel it and let
            # it finish, so the REPL, the calls and the locks it holds are let go before the exception goes on.
            if not held:  # never started (the loop refused the run, or a Ctrl-C came before its first step)
                self._drop_unstarted(wrapper)
                coro.close()
                raise
            if not held[0].done() or held[0].cancelled():  # interrupted, not failed by itself
                stopped.set()  # for a sync call nested in the run (a sync tool's), on a loop of its own
            if not held[0].done():
                held[0].cancel()
                with contextlib.suppress(BaseException):
                    self._runner.get_loop().run_until_complete(held[0])
            if trio_cancel is not None and trio_cancel.error is not None:
                raise trio_cancel.error from None  # trio's own, for the trio task awaiting this thread
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
            if self._thread is None and self._owner in (None, me) and not self._on_a_thread and not _loop_running():
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
            raise RunnerClosed("this rlmx object is closed (its `with` block has ended); start a new one")

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
