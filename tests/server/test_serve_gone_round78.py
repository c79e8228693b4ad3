"""`rlmx serve`: a client that leaves before its answer gets no run, or has its run cancelled, whatever step its
request was at (audit 78, server v02).

The requests here are driven at the ASGI level, so that the moment the client leaves is exact: its body arrives
whole, then its `http.disconnect`, told once (as a server may tell it: only the first receive to ask gets it). The
request's `Inbox` is the one place that knows the client is gone; every step (decoding and mapping the body, waiting
for a run slot, preparing the run, the run's answer and its stream) must ask it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.types import Message

from rlmx import RLM, Budget, Event
from rlmx.server import body as bodies
from rlmx.server import create_app
from scripting import worker_pidfile
from server.server_harness import MODEL, SLEEP, RecordingLM, reply, started


class _Connection:
    """One client connection as the app sees it: the body in 64 KiB messages, then, once `leave` is set (or the
    response is sent, as ASGI servers do), one `http.disconnect`; a receive after that waits for ever (the
    disconnect was told already)."""

    def __init__(self, body: bytes, *, leaves: bool) -> None:
        step = 64 * 1024
        chunks = [body[start : start + step] for start in range(0, len(body), step)] or [b""]
        self._messages: deque[Message] = deque(
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks)
        )
        self.leave = asyncio.Event()
        if leaves:
            self.leave.set()
        self._told = False
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self._messages:
            return self._messages.popleft()
        await self.leave.wait()
        if not self._told:
            self._told = True
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.leave.set()

    def status(self) -> int | None:
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


class _App:
    """The app on a scripted RLM, counting the runs it starts."""

    def __init__(self, tmp_path: Path) -> None:
        self.lm = RecordingLM(reply)
        self.events: list[Event] = []
        rlm = RLM(self.lm, trace_dir=tmp_path / "traces", on_event=self.events.append, budget=Budget(cell_timeout=60))
        self.app: Starlette = create_app(rlm, model_name=MODEL)
        runs = self.app.state.server.runs
        self.started = 0
        start = runs.start

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.started += 1
            return start(*args, **kwargs)

        runs.start = counted

    async def call(self, connection: _Connection, body: bytes) -> None:
        await self.app(_scope(body), connection.receive, connection.send)

    async def close(self) -> None:
        await self.app.state.server.runs.cancel_all()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[_App]:
    app = _App(tmp_path)
    yield app
    await app.close()


def _request(question: str, *, padding: int = 0, stream: bool = False) -> bytes:
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": stream}
    if padding:
        body["context"] = "x" * padding  # a big body: decoded and mapped on worker threads
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "padding",
    [0, 4 * bodies.THREAD_THRESHOLD],
    ids=["small body, free slot: the slot is won before the watch looked", "big body: left while decoded"],
)
async def test_a_client_gone_before_its_run_starts_gets_no_run(served: _App, padding: int) -> None:
    body = _request("How long is the context?", padding=padding)
    connection = _Connection(body, leaves=True)  # the body, then at once the disconnect
    await asyncio.wait_for(served.call(connection, body), 10)
    assert served.started == 0, "a run was started for a client already gone"
    assert served.lm.calls == [] and not [e for e in served.events if e.type == "run_start"]
    assert connection.status() in (None, 499)  # nobody reads it; never a 200 for a client that is gone


async def test_a_client_that_stays_still_gets_its_answer(served: _App) -> None:
    body = _request("How long is the context?", padding=4 * bodies.THREAD_THRESHOLD)
    connection = _Connection(body, leaves=False)
    await asyncio.wait_for(served.call(connection, body), 30)
    assert connection.status() == 200 and served.started == 1
    answer = json.loads(b"".join(m.get("body", b"") for m in connection.sent if m["type"] == "http.response.body"))
    assert answer["choices"][0]["message"]["content"] == f"length {4 * bodies.THREAD_THRESHOLD}"


async def test_a_stream_sees_a_disconnect_its_request_read_ahead(served: _App) -> None:
    """The request's inbox asked for the client's next message while it waited for a run slot; the disconnect told
    once went to that read, not to the stream's own receive: the stream must still end, and its run be cancelled."""
    pidfile = worker_pidfile()
    body = _request(f"{SLEEP}{pidfile}", stream=True)
    connection = _Connection(body, leaves=False)
    call = asyncio.ensure_future(served.call(connection, body))
    try:
        await started(pidfile)  # the run is in its 30 s cell
        connection.leave.set()
        await asyncio.wait_for(asyncio.shield(call), 10)
    finally:
        if not call.done():
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
    for _ in range(100):  # the run's end is reported as its task unwinds
        if any(e.type == "run_end" for e in served.events):
            break
        await asyncio.sleep(0.05)
    assert [e.data["status"] for e in served.events if e.type == "run_end"] == ["cancelled"]
    assert served.started == 1 and len(served.lm.calls) == 1


async def test_inbox_knows_of_a_disconnect_a_read_ahead_left_behind() -> None:
    told = False

    async def receive() -> Message:
        nonlocal told
        if not told:
            told = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        return {"type": "http.disconnect"}

    inbox = bodies.Inbox(receive)
    assert (await inbox())["type"] == "http.request"
    watch = asyncio.ensure_future(inbox.leaving())
    await asyncio.sleep(0)  # the watch asks for the next message ...
    watch.cancel()  # ... and gives up before taking it: the disconnect waits in the inbox
    await asyncio.gather(watch, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)
    assert inbox.gone
    work = asyncio.ensure_future(asyncio.sleep(30))
    with pytest.raises(bodies.ClientLeft):
        await inbox.unless_left(work)
    assert work.cancelled()
    assert (await inbox())["type"] == "http.disconnect"


async def test_a_keyed_retry_of_a_big_body_is_the_same_request_and_a_change_is_not() -> None:
    from rlmx.server.app import _fingerprint

    long_text = "ab" * 300_000  # a string fingerprinted by its own digest
    first = json.dumps({"model": MODEL, "context": long_text, "n": 1.0}).encode()
    again = json.dumps({"n": 1, "context": long_text, "model": MODEL}, indent=1).encode()
    changed = json.dumps({"model": MODEL, "context": long_text[:-1] + "c", "n": 1.0}).encode()
    assert await _fingerprint(first) == await _fingerprint(again) != await _fingerprint(changed)
