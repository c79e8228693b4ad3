"""The server's runs: each one a task that any number of requests can follow, found again by idempotency key.

A request without an `Idempotency-Key` owns its run: when it leaves, the run is cancelled at once. A request with
a key shares its run with later requests carrying the same key (an SDK retry after a client timeout, say): the
run survives a client leaving for `grace` seconds so that the retry can pick it up, and its Result is kept for
`keep` seconds after it ends so that a late retry gets the answer instead of starting the run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlmx.deadline import time_limit
from rlmx.events import Event
from rlmx.result import Result
from rlmx.server.openai_compat import SHUTTING_DOWN, ChatCall, RunCancelled

Item = Event | Result
MAX_KEPT = 1024
"""Finished keyed runs and trace paths remembered at most (the oldest are forgotten first)."""
MAX_KEPT_BYTES = 64 * 1024 * 1024
"""The answers of finished keyed runs kept for retries hold at most this many bytes in all (`answer_bytes`; the
oldest are forgotten first): 1024 runs of long answers must not hold gigabytes for `keep` seconds."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a request (or a keyed retry) needs of its call to answer from a run: never the call's context, so
    that a finished run kept for retries holds its answer, not its request (10 MiB contexts kept for 10 minutes
    each grew the server by 10 MiB a keyed request)."""

    stream: bool = False
    include_usage: bool = False
    structured: bool = False

    @classmethod
    def of(cls, call: ChatCall) -> Reply:
        """`call`'s reply: one of 8 shared ones, so that taking it allocates nothing (see server.app `_read`)."""
        return _reply(call.stream, call.include_usage, call.output is not None)


@functools.cache
def _reply(stream: bool, include_usage: bool, structured: bool) -> Reply:
    return Reply(stream=stream, include_usage=include_usage, structured=structured)


def answer_bytes(result: Result) -> int:
    """About what a kept Result holds, in bytes: its answer's and stop reason's text (the rest is a few fields)."""
    return sys.getsizeof(result.answer) + sys.getsizeof(result.stop_reason) + 1024


class Run:
    """One RLM run: its items so far (events, then the Result), or the exception it crashed with. It holds its
    request's `Reply` only, never the request (its context is the running task's, dropped when the run ends)."""

    def __init__(self, reply: Reply, *, key: str | None, fingerprint: str) -> None:
        self.reply = reply
        self.key = key
        self.fingerprint = fingerprint
        self.items: list[Item] = []
        self.error: BaseException | None = None
        self.finished = False
        self.cancelled = False
        self.watchers = 0
        self.run_id: str | None = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._grace: asyncio.TimerHandle | None = None

    def push(self, item: Item) -> None:
        if self.run_id is None:
            self.run_id = item.run_id
        self.items.append(item)
        self._notify()

    def close(self, error: BaseException | None = None, *, cancelled: bool = False) -> None:
        self.finished, self.error, self.cancelled, self.ended = True, error, cancelled, time.monotonic()
        self._notify()

    @property
    def result(self) -> Result | None:
        last = self.items[-1] if self.items else None
        return last if isinstance(last, Result) else None

    async def follow(self) -> AsyncGenerator[Item, None]:
        """Every item from the first, as they come; raises the run's exception if it crashed (RunCancelled if it
        was cancelled before it ended: the server is shutting down, or every client left)."""
        index = 0
        while True:
            while index < len(self.items):
                yield self.items[index]
                index += 1
            if self.finished:
                if self.error is not None:
                    raise self.error
                if self.cancelled:
                    raise RunCancelled(f"the run was cancelled before it finished: {SHUTTING_DOWN}")
                return
            await self._wake.wait()

    async def outcome(self) -> Result:
        """The Result once the run ends (or its exception)."""
        async for item in self.follow():
            if isinstance(item, Result):
                return item
        raise RuntimeError("the run ended without a Result")

    def _notify(self) -> None:
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(slots=True)
class _Promise:
    run_id: str
    waiting: int = 0
    started: bool = False


class WaitingKeys:
    """The run ids promised to keyed requests still waiting for their run, whose early headers name it: a retry
    with the same key that waits too is promised the same id, so that its headers name the run it will follow
    (whichever of them starts the run starts it under that id; the other finds it and follows it)."""

    def __init__(self) -> None:
        self._promised: dict[str, _Promise] = {}

    def enter(self, key: str) -> str:
        """The run id promised to a request with `key` that now starts to wait; pair it with `leave`."""
        promise = self._promised.setdefault(key, _Promise(new_run_id()))
        promise.waiting += 1
        return promise.run_id

    def claim(self, key: str, run_id: str) -> str:
        """The id to start `key`'s run under: the promised `run_id` the first time, a new one after that (a run
        cancelled before a retry came is started afresh, never under a trace id already used)."""
        promise = self._promised.get(key)
        if promise is None or promise.run_id != run_id or promise.started:
            return new_run_id()
        promise.started = True
        return run_id

    def leave(self, key: str) -> None:
        promise = self._promised[key]
        promise.waiting -= 1
        if promise.waiting == 0:
            del self._promised[key]


class Runs:
    """The runs of one server. `grace` and `keep` are in seconds (see the module docstring)."""

    def __init__(self, *, grace: float = 30.0, keep: float = 600.0) -> None:
        self.grace = grace
        self.keep = keep
        self._keyed: OrderedDict[str, Run] = OrderedDict()
        self._active: set[Run] = set()
        self._traces: OrderedDict[str, Path] = OrderedDict()

    def find(self, key: str) -> Run | None:
        self._expire()
        return self._keyed.get(key)

    def start(self, run: Run, work: Coroutine[Any, Any, Result], release: Callable[[], None]) -> None:
        """Run `work` as `run`'s task; `release` (the admission slot) is called when it ends, however it ends."""
        if run.key is not None:
            self._keyed[run.key] = run
            self._trim(self._keyed)
        self._active.add(run)
        run.task = asyncio.get_running_loop().create_task(self._produce(run, work, release))

    async def _produce(self, run: Run, work: Coroutine[Any, Any, Result], release: Callable[[], None]) -> None:
        try:
            result = await work
        except asyncio.CancelledError:
            run.close(cancelled=True)
            if run.key is not None:
                self._keyed.pop(run.key, None)  # a retry starts afresh rather than finding a cancelled run
        except Exception as exc:
            run.close(exc)
        else:
            run.push(result)
            run.close()
            if result.trace_path is not None:
                self._traces[result.run_id] = result.trace_path
                self._trim(self._traces)
        finally:
            self._active.discard(run)
            run.task = None  # the task's frame held the request's context: a kept run holds its answer only
            release()
            self._expire()

    def watch(self, run: Run) -> Callable[[], None]:
        """Count a follower of `run`; the returned leave() (safe to call twice) cancels the run when its last
        follower leaves before it ends: at once without a key, after `grace` seconds with one."""
        run.watchers += 1
        if run._grace is not None:
            run._grace.cancel()
            run._grace = None
        left = False

        def leave() -> None:
            nonlocal left
            if left:
                return
            left = True
            run.watchers -= 1
            if run.finished:
                self._expire()  # its last follower has its answer: its events need not be kept
                return
            if run.watchers or run.task is None:
                return
            if run.key is None or self.grace <= 0:
                run.task.cancel()
            else:
                run._grace = asyncio.get_running_loop().call_later(self.grace, self._abandon, run)

        return leave

    def _abandon(self, run: Run) -> None:
        run._grace = None
        if not run.watchers and not run.finished and run.task is not None:
            run.task.cancel()

    def trace_path(self, run_id: str) -> Path | None:
        return self._traces.get(run_id)

    @property
    def running(self) -> int:
        return len(self._active)

    async def cancel_all(self, timeout: float = 5.0) -> None:
        """Cancel every run still going and wait (at most `timeout` s) for their workers to be stopped."""
        tasks = [run.task for run in self._active if run.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                async with time_limit(timeout):
                    await asyncio.gather(*tasks, return_exceptions=True)

    def _expire(self) -> None:
        """Forget kept runs older than `keep` seconds, trim the finished ones nobody follows to their answer, and
        forget the oldest finished ones while their answers hold over MAX_KEPT_BYTES."""
        now = time.monotonic()
        held = 0
        for key, run in reversed(list(self._keyed.items())):  # the newest first: the oldest are forgotten first
            if run.ended is not None and now - run.ended > self.keep:
                del self._keyed[key]
                continue
            if run.result is not None and not run.watchers and len(run.items) > 1:
                run.items = [run.result]  # a kept run needs only its answer: the events are in its trace
            if run.finished and not run.watchers:
                held += answer_bytes(run.result) if run.result is not None else 1024
                if held > MAX_KEPT_BYTES:
                    del self._keyed[key]

    @staticmethod
    def _trim(kept: OrderedDict[str, Any]) -> None:
        while len(kept) > MAX_KEPT:
            kept.popitem(last=False)
