"""`time_limit`: `asyncio.timeout` with one rule on every Python 3.11 release.

rlmx waits with a time limit on REPL replies, processes and sockets, often while cleaning up after a cancel. Two
standard ways to do it lose something on 3.11:

* `asyncio.wait_for` returns the awaited result when it completes in the loop turn that cancels the waiting task,
  and the cancel is gone (CPython gh-86296; fixed in 3.12): a run cancelled while its REPL started ran on.
* `asyncio.timeout` before 3.11.3 (Debian 12's python3 is 3.11.2) raises `CancelledError`, not `TimeoutError`,
  when its limit passes in a task that is already being cancelled (`Timeout.__aexit__` asks `uncancel() == 0`;
  3.11.3 compares with the count at entry, CPython gh-102780): a cleanup after a cancel that bounds a wait with
  `suppress(TimeoutError)` was cut short at its first slow step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def time_limit(seconds: float | None = None, *, at: float | None = None) -> AsyncIterator[asyncio.Timeout]:
    """Run the body for at most `seconds` (or until loop time `at`; neither: no limit): past it, the body is
    cancelled and `TimeoutError` raised. A cancel of the task from elsewhere, before or during the body, still raises
    `CancelledError`. Yields the `asyncio.Timeout` (`expired()`, `reschedule()`)."""
    task = asyncio.current_task()
    assert task is not None, "time_limit is for code running in an asyncio task"
    pending = task.cancelling()
    scope = asyncio.timeout_at(at) if at is not None else asyncio.timeout(seconds)
    try:
        async with scope:
            yield scope
    except asyncio.CancelledError:
        # 3.11.0-3.11.2 let the limit's own cancel out when the task was already cancelling: no other cancel came
        # meanwhile if the count is back where it was.
        if scope.expired() and task.cancelling() <= pending:
            raise TimeoutError from None
        raise
