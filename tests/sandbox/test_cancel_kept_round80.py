"""A cancellation the sandbox's host side accepts while it waits, with a time limit, for a reply from the REPL is
never lost. Python 3.11's `asyncio.wait_for` returned the awaited result when it completed in the loop turn that
cancelled the waiting task (CPython gh-86296): the cancel was gone. Measured: about one run in 40 cancelled 40 ms
after `acompletion()` started (its REPL starting) ran its first cell to the end instead; `rlmx mcp --http` kept a
tool call whose client had left running, and then did not stop on SIGTERM. Waits use `asyncio.timeout` instead
(ruff bans `asyncio.wait_for` in the project: pyproject's banned-api)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, cast

from rlmx.sandbox import frames
from rlmx.sandbox.zygote import Zygote


def _zygote_with_a_reply_waiting() -> tuple[Zygote, socket.socket]:
    host_end, zygote_end = socket.socketpair()
    host_end.setblocking(False)
    zygote_end.sendall(frames.encode({"t": "forked", "id": 1, "pid": 4242}))
    return Zygote(cast(Any, None), host_end, cast(Any, None)), zygote_end


async def test_a_cancel_accepted_while_the_zygote_reply_is_already_there_ends_the_wait() -> None:
    zygote, zygote_end = _zygote_with_a_reply_waiting()
    with zygote_end, zygote.ctl:
        waiting = asyncio.ensure_future(zygote._checked_reply(1, 30.0))
        await asyncio.sleep(0)  # the wait has begun (and, with wait_for, its reader task is due to run)
        accepted = waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        # A task that took the cancel must end cancelled; one that had already finished may keep its reply.
        assert waiting.cancelled() if accepted else waiting.result()["pid"] == 4242


async def test_a_cancel_that_lands_with_the_reply_ends_the_wait() -> None:
    host_end, zygote_end = socket.socketpair()
    host_end.setblocking(False)
    zygote = Zygote(cast(Any, None), host_end, cast(Any, None))
    with zygote_end, host_end:
        waiting = asyncio.ensure_future(zygote._checked_reply(1, 30.0))
        await asyncio.sleep(0.05)  # waiting on the socket
        zygote_end.sendall(frames.encode({"t": "forked", "id": 1, "pid": 4242}))
        await asyncio.sleep(0)
        assert waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        assert waiting.cancelled()
