"""Admission: at most `limit` runs at once, and a bounded, time-limited queue in front of them.

A request waits here once its body is read (bodies are read under a memory budget of their own and a deadline,
`body.WaitingBytes` and `--body-timeout`, so a slow upload holds no run slot). It gets a 429 only when the queue is
full or its wait passes `queue_timeout`; the 429's Retry-After is the expected wait
(recent run time x runs ahead / limit), which the OpenAI SDKs honour up to 60 s. Once the server shuts down
(`close`), every waiting request and every later one gets a 503 `server_shutting_down` at once: none starts a run
that the shutdown would cancel, and none is left for the ASGI server to cancel (its text/plain 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable

from rlmx.deadline import time_limit
from rlmx.server.openai_compat import RequestError, shutting_down

Release = Callable[[], None]


class Admission:
    """Slots for `limit` runs and a FIFO queue of at most `max_queued` waiting requests.

    There is no lock: every request runs on the server's one event loop, and each check-and-change has no await
    inside it. A slot is handed straight to the first waiter when released, so a newcomer cannot overtake it.
    """

    def __init__(self, limit: int, *, max_queued: int, queue_timeout: float) -> None:
        self.limit = limit
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.running = 0
        self.closed = False
        """Set by `close`: the server is shutting down, and no run starts any more."""
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._on_close: list[Callable[[], None]] = []
        self._run_seconds = 10.0
        """A moving average of recent runs' durations (s), for Retry-After; 10 s until a run has finished."""

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free for a request arriving now: 1 to 60."""
        rounds = math.ceil((self.queued + 1) / self.limit)
        return max(1, min(60, math.ceil(self._run_seconds * rounds)))

    async def enter(self) -> Release:
        """Wait for a slot and return its release (safe to call more than once), or raise a 429 RequestError (a 503
        once the server is shutting down)."""
        free = self.take_free()
        if free is not None:
            return free
        if len(self._waiters) >= self.max_queued:
            raise self._busy(
                f"this rlmx server is running {self.running} completions (--max-concurrent-runs {self.limit}) and "
                f"{self.queued} more are waiting, its queue's limit (--max-queued {self.max_queued})"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with time_limit(self.queue_timeout):
                await waiter
        except TimeoutError:
            if not _granted(waiter):
                self._forget(waiter)
                raise self._busy(
                    f"this request waited {self.queue_timeout:g} s (--queue-timeout) for one of the "
                    f"{self.limit} run slots (--max-concurrent-runs) without getting one"
                ) from None
            # else the slot came just as the wait ran out
        except asyncio.CancelledError:
            if _granted(waiter):
                self._hand_on()  # it was given a slot it will not use
            else:
                self._forget(waiter)
            raise
        release = self._release_once()
        if self.closed:  # the slot came as the shutdown began: give it back unused
            release()
            self.check_open()
        return release

    @property
    def free(self) -> bool:
        """Whether a request arriving now gets a slot without waiting."""
        return self.running < self.limit and not self._waiters

    def take_free(self) -> Release | None:
        """A slot's release when one is free now and nobody waits for one, without waiting; else None. Raises the
        503 once the server is shutting down."""
        self.check_open()
        if self.free:
            self.running += 1
            return self._release_once()
        return None

    def check_open(self) -> None:
        """Raise the 503 `server_shutting_down` once the server is shutting down: a request admitted before then
        must not start its run either."""
        if self.closed:
            raise shutting_down("this request did not start")

    def close(self) -> None:
        """The server is shutting down: every waiting request gets its 503 now, and so does every later one (those
        waiting for room to read their bodies too: `on_close`)."""
        self.closed = True
        for closing in self._on_close:
            closing()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(shutting_down("this request was waiting for a run slot and did not start"))

    def on_close(self, closing: Callable[[], None]) -> None:
        """Call `closing` when the server starts shutting down (`close`)."""
        self._on_close.append(closing)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _release_once(self) -> Release:
        started = time.monotonic()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._run_seconds = 0.8 * self._run_seconds + 0.2 * (time.monotonic() - started)
                self._hand_on()

        return release

    def _hand_on(self) -> None:
        """A slot is free: give it to the first live waiter, else count it free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1

    def _busy(self, what: str) -> RequestError:
        error = RequestError(
            f"{what}: retry after the Retry-After seconds, or start the server with a higher "
            "--max-concurrent-runs or --max-queued",
            code="too_many_runs",
            status=429,
            kind="rate_limit_error",
        )
        error.headers["Retry-After"] = str(self.retry_after())
        return error


def _granted(waiter: asyncio.Future[None]) -> bool:
    """Whether `waiter` was handed a slot (not cancelled, nor failed by `close`)."""
    return waiter.done() and not waiter.cancelled() and waiter.exception() is None
