"""`rlmx serve` under what real clients send: big and bad bodies, long runs, retries, load, unsupported
parameters, keys, traces. A real uvicorn server on 127.0.0.1, the official openai SDK and httpx."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest

from rlmx.prompts import query_from
from rlmx.server import ServerOptions
from rlmx.server.admission import Admission
from rlmx.server.app import FAREWELL_SECONDS, EventStream
from rlmx.server.openai_compat import RequestError
from scripting import worker_pidfile
from server.server_harness import MODEL, NAP, SLEEP, Served, ask, ended, start, started

COMPLETIONS = "/v1/chat/completions"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from start(tmp_path)


def body(question: str = "How long is the context?", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": ask(question), **fields}


def sse_events(text: str) -> list[str]:
    return [event for event in text.split("\n\n") if event]


# --- big bodies ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_from_its_content_length(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(max_request_bytes=100_000)):
        big = json.dumps(body(context="x" * 200_000)).encode()
        response = httpx.post(f"{served.url}{COMPLETIONS}", content=big, headers={"Content-Type": "application/json"})
        error = response.json()["error"]
        assert response.status_code == 413 and error["code"] == "request_too_large"
        assert "100,000 bytes" in error["message"] and "--max-request-bytes" in error["message"]
        small = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context="x" * 1000))
        assert small.status_code == 200 and small.json()["choices"][0]["message"]["content"] == "length 1000"
        assert len(served.lm.calls) == 1


def test_a_chunked_body_is_refused_once_it_passes_the_limit(tmp_path: Path) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "rlmx-test", "context": "'
        for _ in range(64):  # 4 MiB in all, with no Content-Length
            sent.append(1)
            yield b"x" * 65536
        yield b'", "messages": [{"role": "user", "content": "How long is the context?"}]}'

    for served in start(tmp_path, options=ServerOptions(max_request_bytes=256 * 1024)):
        try:
            response = httpx.post(f"{served.url}{COMPLETIONS}", content=chunks(), timeout=10)
        except httpx.TransportError:  # the server may close before the client has sent it all
            assert served.lm.calls == []
        else:
            assert response.status_code == 413 and "262,144 bytes" in response.json()["error"]["message"]
        assert served.lm.calls == [] and served.health()["running"] == 0


async def test_a_request_beyond_the_queue_is_refused_and_its_client_sees_the_429(tmp_path: Path) -> None:
    # Refused before its body was read, it is not kept: its rest is read and dropped (a bounded lingering close, as
    # nginx's), so that the client, still sending, reads the 429 rather than a reset connection.
    pulled = []

    async def chunks() -> Any:
        yield json.dumps(body())[:-1].encode() + b', "context": "'
        for _ in range(400):  # 100 MiB, never kept
            pulled.append(1)
            yield b"x" * 262144
        yield b'"}'

    options = ServerOptions(max_concurrent_runs=1, max_queued=0, max_request_bytes=200 * 1024 * 1024)
    for served in start(tmp_path, options=options):
        pidfile = worker_pidfile()
        async with served.async_client() as client, httpx.AsyncClient(timeout=20) as http:
            stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
            async with stream:
                await started(pidfile)
                response = await http.post(f"{served.url}{COMPLETIONS}", content=chunks())
                assert response.status_code == 429
                assert "--max-queued" in response.json()["error"]["message"]
        await ended(served, int(pidfile.read_text()))
    assert len(pulled) == 400


def where_bodies_are_mapped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where each request body is mapped from now on ("the event loop" or "a worker thread"), in order."""
    from rlmx.server import openai_compat

    mapped_on: list[str] = []
    parse = openai_compat.parse

    def recording(body: object, **options: Any) -> Any:
        try:
            asyncio.get_running_loop()
            mapped_on.append("the event loop")
        except RuntimeError:
            mapped_on.append("a worker thread")
        return parse(body, **options)

    monkeypatch.setattr(openai_compat, "parse", recording)
    return mapped_on


def test_a_big_request_is_mapped_off_the_event_loop(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading a 29 MB message (finding its question) held the loop for a second: /health and every other client
    # waited.
    mapped_on = where_bodies_are_mapped(monkeypatch)
    log = "\n".join(f"12:00 van {i % 9} left" for i in range(40_000))
    with served.client() as client:
        reply = client.chat.completions.create(model=MODEL, messages=ask(f"{log}\n\nHow long is the context?"))
        client.chat.completions.create(
            model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "c"}
        )
    assert reply.model_extra is not None and reply.model_extra["rlmx"]["status"] == "finished"
    assert mapped_on == ["a worker thread", "the event loop"]  # a small one is not worth a thread


def test_an_attached_file_is_read_off_the_event_loop_however_small_its_body(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 9 KB PDF can unpack to millions of characters: reading it on the loop held /health for 10 s.
    import base64

    read_on = where_bodies_are_mapped(monkeypatch)
    data = base64.b64encode(b"The door code is 4471.").decode()
    part = {"type": "file", "file": {"filename": "manual.txt", "file_data": f"data:text/plain;base64,{data}"}}
    asked = {"role": "user", "content": [{"type": "text", "text": "How long is the context?"}, part]}
    with httpx.Client(timeout=30) as http:
        response = http.post(f"{served.url}{COMPLETIONS}", json={"model": MODEL, "messages": [asked]})
    assert response.status_code == 200 and response.json()["rlmx"]["status"] == "finished"
    assert read_on == ["a worker thread"]


async def test_queued_big_bodies_are_read_early_only_within_one_server_wide_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read (and mapped) while they waited, 8 queued plain requests with 6 MB contexts grew the server by 124 MB
    # before any got a run slot: 128 of 32 MB each could hold gigabytes.
    from rlmx.server import body as bodies
    from rlmx.server import openai_compat

    document = "12:00 worker-3 finished job 17\n" * 10_000  # 310 KB: a body past the read-before-the-wait size
    room_for_two = 2 * len(json.dumps(body(context=document)))
    monkeypatch.setattr(bodies, "WAITING_BYTES", room_for_two, raising=False)
    mapped: list[int] = []
    parse = openai_compat.parse

    def recording(body: object, **options: Any) -> Any:
        if isinstance(body, dict) and body.get("context") == document:
            mapped.append(1)
        return parse(body, **options)

    monkeypatch.setattr(openai_compat, "parse", recording)
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1)):
        pidfile = worker_pidfile()
        async with httpx.AsyncClient(timeout=30) as http:
            busy = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(f"{SLEEP}{pidfile}")))
            await started(pidfile)
            queued = []
            for _ in range(5):  # one after another: bodies that all start at once may each bring a message over it
                queued.append(asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(context=document))))
                await asyncio.sleep(0.2)
            while served.health()["queued"] < 5:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # time enough to read and map every queued body, were they read
            read_while_queued = len(mapped)
            busy.cancel()  # its client leaves: the slot goes to the queue
            answers = await asyncio.gather(*queued)
        await ended(served, int(pidfile.read_text()))
    assert read_while_queued == 2  # the rest waited unread
    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(answer.json()["choices"][0]["message"]["content"] == f"length {len(document)}" for answer in answers)


async def test_slow_attached_files_leave_the_shared_thread_pool_to_other_requests(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read on the default pool, as many slow PDFs as it has threads held every other request's preparation: a
    # one-line question took 26 s instead of 0.1 s.
    import base64
    import os
    import threading

    from rlmx.server import openai_compat

    pool_size = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor
    slow_reads = threading.Event()
    parse = openai_compat.parse

    def slow_files(body: object, **options: Any) -> Any:
        if openai_compat.has_file_parts(body):
            slow_reads.wait(30)  # a PDF that unpacks for a long time
        return parse(body, **options)

    monkeypatch.setattr(openai_compat, "parse", slow_files)
    data = base64.b64encode(b"The door code is 4471.").decode()
    part = {"type": "file", "file": {"filename": "manual.txt", "file_data": f"data:text/plain;base64,{data}"}}
    attached = {"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text", "text": "Code?"}, part]}]}
    async with httpx.AsyncClient(timeout=60) as http:
        files = [asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=attached)) for _ in range(pool_size)]
        try:
            await asyncio.sleep(0.5)  # every file request is being read
            other = await asyncio.wait_for(
                http.post(f"{served.url}{COMPLETIONS}", json=body(context="abc")), timeout=10
            )
        finally:
            slow_reads.set()
        answered = await asyncio.gather(*files)
    assert other.status_code == 200 and other.json()["choices"][0]["message"]["content"] == "length 3"
    assert [answer.status_code for answer in answered] == [200] * pool_size


# --- bad requests -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "param", "words"),
    [
        ('{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": 5}', "context", "a number"),
        ('{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": true}', "context", "bool"),
        ('{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": 1e400}', "context", "inf"),
        ('{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": NaN}', None, "NaN"),
        (
            '{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": [1E+400]}',
            "context",
            "inf",
        ),
        ('{"messages": [{"role": "user", "content": "q"}], "context": [' + "9" * 5000 + "]}", None, "number"),
        ('{"messages": [{"role": "user", "content": "q"}], "context": [' + "9" * 400 + ".0]}", "context", "inf"),
        (
            '{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "contexts": {"a": 7}}',
            "contexts.a",
            "",
        ),
    ],
)
def test_bad_values_are_400s_that_say_what_is_wrong(served: Served, raw: str, param: str | None, words: str) -> None:
    response = httpx.post(
        f"{served.url}{COMPLETIONS}", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    error = response.json()["error"]
    assert response.status_code == 400 and error["type"] == "invalid_request_error" and error["param"] == param
    assert words.lower() in error["message"].lower() or words == "bool"
    assert served.lm.calls == []


@pytest.mark.parametrize("depth", [200, 1000, 5000])
def test_deeply_nested_json_is_a_400(served: Served, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    raw = '{"model": "rlmx-test", "messages": [{"role": "user", "content": "q"}], "context": ' + nested + "}"
    response = httpx.post(
        f"{served.url}{COMPLETIONS}", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "128 levels" in response.json()["error"]["message"]
    assert served.health()["status"] == "ok"


def test_a_stream_whose_run_crashes_ends_with_an_error_event_and_done(served: Served) -> None:
    with httpx.stream("POST", f"{served.url}{COMPLETIONS}", json=body("Crash", stream=True), timeout=30) as response:
        assert response.status_code == 200
        events = sse_events(response.read().decode())
    assert events[-1] == "data: [DONE]"
    error = json.loads(events[-2].removeprefix("data: "))["error"]
    assert error["type"] == "server_error" and "a bug outside rlmx" in error["message"]
    with served.client() as client, pytest.raises(openai.APIError, match="a bug outside rlmx"):
        for _ in client.chat.completions.create(model=MODEL, messages=ask("Crash"), stream=True):
            pass
    plain = httpx.post(f"{served.url}{COMPLETIONS}", json=body("Crash"), timeout=30)
    assert plain.status_code == 500 and "a bug outside rlmx" in plain.json()["error"]["message"]
    assert plain.headers["x-should-retry"] == "false" and plain.headers["X-Rlmx-Trace-Id"]


# --- long runs ----------------------------------------------------------------------------------------


async def test_a_stream_whose_handler_the_shutdown_cancels_ends_with_its_farewell() -> None:
    # uvicorn cancelling a stream's handler (its deadline, a second Ctrl-C) cut the body mid-stream, no [DONE].
    sent: list[dict[str, Any]] = []
    closed: list[bool] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def never_leaves() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def chunks() -> AsyncIterator[str]:
        yield "data: progress\n\n"
        await asyncio.Event().wait()  # a run busy in a long cell

    async def close() -> None:
        closed.append(True)

    async def cancelled_midway(farewell: str | None) -> asyncio.Task[None]:
        sent.clear()
        stream = EventStream(chunks(), close, headers={}, farewell=lambda: farewell)
        task = asyncio.ensure_future(stream({"type": "http"}, never_leaves, send))
        while len(sent) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task

    answered = await cancelled_midway("data: bye\n\ndata: [DONE]\n\n")
    assert not answered.cancelled() and closed  # answered, and the run was left
    assert [m.get("body") for m in sent] == [None, b"data: progress\n\n", b"data: bye\n\ndata: [DONE]\n\n"]
    assert sent[-1]["more_body"] is False
    assert (await cancelled_midway(None)).cancelled()  # not the server's shutdown: the cancellation goes on


async def test_a_streams_farewell_to_a_client_that_stopped_reading_is_given_up() -> None:
    # A client that stopped reading (its socket full) held the farewell send at shutdown; the loop's end then
    # cancelled that send, and uvicorn logged "Exception in ASGI application" with a traceback.
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if len(sent) == 2:  # the headers and the first chunk went out; the socket is full from now on
            await asyncio.Event().wait()
        sent.append(message)

    async def never_leaves() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def chunks() -> AsyncIterator[str]:
        yield "data: progress\n\n"
        await asyncio.Event().wait()

    async def close() -> None:
        pass

    async def stalled(cancellations: int) -> asyncio.Task[None]:
        sent.clear()
        stream = EventStream(chunks(), close, headers={}, farewell=lambda: "data: bye\n\ndata: [DONE]\n\n")
        task = asyncio.ensure_future(stream({"type": "http"}, never_leaves, send))
        while len(sent) < 2:
            await asyncio.sleep(0.01)
        for _ in range(cancellations):  # uvicorn's deadline, then the loop's end
            task.cancel()
            await asyncio.sleep(0.05)
        await asyncio.wait({task}, timeout=FAREWELL_SECONDS + 2)
        return task

    for cancellations in (1, 2):
        task = await stalled(cancellations)
        assert task.done() and not task.cancelled() and task.exception() is None
        assert len(sent) == 2  # the farewell was given up, not sent


def test_a_quiet_stream_gets_keepalive_comments_and_still_parses(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(keepalive=0.2)):
        question = f"{NAP}{worker_pidfile()}"
        with httpx.stream("POST", f"{served.url}{COMPLETIONS}", json=body(question, stream=True), timeout=30) as r:
            events = sse_events(r.read().decode())
        assert ": keep-alive" in events and events[-1] == "data: [DONE]"
        Path(question.removeprefix(NAP)).unlink()
        with served.client() as client:
            chunks = list(client.chat.completions.create(model=MODEL, messages=ask(question), stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "rested"


async def test_a_retry_with_the_same_idempotency_key_finds_the_run(served: Served, tmp_path: Path) -> None:
    pidfile = worker_pidfile()
    question = f"{NAP}{pidfile}"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    async with served.async_client() as client:
        first = asyncio.create_task(
            client.chat.completions.create(model=MODEL, messages=ask(question), extra_headers=key)
        )
        await started(pidfile)
        first.cancel()  # a client timeout: the SDK gives up on this attempt and sends the request again
        with pytest.raises(asyncio.CancelledError):
            await first
        retried = await client.chat.completions.create(model=MODEL, messages=ask(question), extra_headers=key)
        again = await client.chat.completions.create(model=MODEL, messages=ask(question), extra_headers=key)
        with pytest.raises(openai.UnprocessableEntityError, match="different request body"):
            await client.chat.completions.create(model=MODEL, messages=ask("Count as JSON"), extra_headers=key)
    assert retried.choices[0].message.content == again.choices[0].message.content == "rested"
    assert retried.id == again.id
    roots = [call for call in served.lm.calls if query_from(call) == question]
    assert len(roots) == 2  # two turns of one run, not a run per attempt


def test_a_keyed_request_encoded_again_by_another_client_is_the_same_request(served: Served) -> None:
    # A job queue's retry, or a second HTTP library, sends the same JSON with other spacing and key order: it was
    # refused as "a different request body" (the fingerprint was of the bytes).
    key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    request = body("How long is the context?", context="abc", temperature=1.0, top_p=1.0)
    compact = json.dumps(request, separators=(",", ":")).encode()
    # parsed and written again by JavaScript: `1.0` comes back as `1`, the same number (RFC 8785)
    spaced = json.dumps({**dict(reversed(list(request.items()))), "temperature": 1, "top_p": 1}, indent=2).encode()
    with httpx.Client(timeout=30) as http:
        first = http.post(f"{served.url}{COMPLETIONS}", content=compact, headers=key)
        again = http.post(f"{served.url}{COMPLETIONS}", content=spaced, headers=key)
        other = http.post(f"{served.url}{COMPLETIONS}", content=json.dumps(body("Count as JSON")).encode(), headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["choices"][0]["message"]["content"] == "length 3"
    assert other.status_code == 422 and "different request body" in other.text


def test_a_retried_stream_with_a_key_replays_the_same_run(served: Served) -> None:
    key = {"Idempotency-Key": "stream-1"}
    with served.client() as client:
        answers = []
        for _ in range(2):
            chunks = list(
                client.chat.completions.create(
                    model=MODEL, messages=ask("Count in two turns"), stream=True, extra_headers=key
                )
            )
            answers.append(("".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[0].id))
    assert answers[0] == answers[1] and answers[0][0] == "42"
    assert len(served.lm.calls) == 2  # the two turns of one run


async def test_without_a_key_a_client_leaving_cancels_its_run(served: Served, tmp_path: Path) -> None:
    pidfile = worker_pidfile()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(handler)
    try:
        async with served.async_client() as client:
            request = asyncio.create_task(
                client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"))
            )
            worker = await started(pidfile)
            request.cancel()
            with pytest.raises(asyncio.CancelledError):
                await request
        await ended(served, worker)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert any(record.args and 499 in record.args for record in records)  # type: ignore[operator]


# --- load ---------------------------------------------------------------------------------------------


async def many_at_once(served: Served, count: int) -> None:
    """`count` concurrent SDK requests (its default 2 retries): every one gets its own answer."""
    async with served.async_client(max_retries=2) as client:
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "x" * n}
                )
                for n in range(count)
            ),
            return_exceptions=True,
        )
    assert [r for r in replies if isinstance(r, BaseException)] == []
    assert [r.choices[0].message.content for r in replies] == [f"length {n}" for n in range(count)]  # type: ignore[union-attr]
    assert served.health() == {"status": "ok", "running": 0, "max_running": served.health()["max_running"], "queued": 0}


@pytest.mark.slow
async def test_a_hundred_concurrent_sdk_requests_all_get_their_answer(tmp_path: Path) -> None:
    for served in start(tmp_path, delay=0.02):  # the default limits: 4 running, 128 queued
        await many_at_once(served, 100)


async def test_requests_beyond_the_running_limit_wait_in_the_queue(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=2), delay=0.02):
        await many_at_once(served, 12)


async def test_the_queue_has_a_limit_and_a_wait_limit_with_a_retry_after(tmp_path: Path) -> None:
    options = ServerOptions(max_concurrent_runs=1, max_queued=1, queue_timeout=0.5)
    for served in start(tmp_path, options=options):
        pidfile = worker_pidfile()
        async with served.async_client() as client, httpx.AsyncClient(timeout=20) as http:
            stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
            async with stream:
                await started(pidfile)
                waiting = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body()))
                while served.health()["queued"] == 0:
                    await asyncio.sleep(0.01)
                full = await http.post(f"{served.url}{COMPLETIONS}", json=body())
                timed_out = await waiting
        await ended(served, int(pidfile.read_text()))
    assert full.status_code == 429 and "--max-queued 1" in full.json()["error"]["message"]
    assert int(full.headers["Retry-After"]) >= 1
    assert timed_out.status_code == 429 and "--queue-timeout" in timed_out.json()["error"]["message"]
    assert int(timed_out.headers["Retry-After"]) >= 1


async def test_a_stream_waiting_for_a_run_slot_gets_its_headers_and_keepalives_then_its_answer(
    tmp_path: Path,
) -> None:
    # A queued stream sent nothing at all until its run started: a proxy's idle timeout (nginx, an ALB: 60 s) cut
    # it while it waited for a slot, for up to --queue-timeout.
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, keepalive=0.2)):
        pidfile = worker_pidfile()
        async with httpx.AsyncClient(timeout=30) as http:
            busy = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(f"{NAP}{pidfile}")))
            await started(pidfile)
            queued = body(stream=True, context="abcd")
            async with http.stream("POST", f"{served.url}{COMPLETIONS}", json=queued) as response:
                assert response.status_code == 200  # sent while the slot is still taken
                assert served.health()["queued"] == 1
                events = sse_events((await response.aread()).decode())
            assert (await busy).status_code == 200
    first_data = next(i for i, event in enumerate(events) if event.startswith("data:"))
    assert ": keep-alive" in events[:first_data]
    answer = "".join(
        json.loads(event.removeprefix("data: "))["choices"][0]["delta"].get("content") or ""
        for event in events
        if event.startswith("data: {")
    )
    assert answer == "length 4" and events[-1] == "data: [DONE]"


async def test_a_queued_stream_with_a_long_document_gets_its_headers_and_keepalives(tmp_path: Path) -> None:
    # A body over 256 KiB waited unread for its slot, so nobody knew it was a stream: nothing at all was sent
    # while it waited, and the long documents rlmx is for are exactly such bodies.
    document = "12:00 worker-3 finished job 17\n" * 12_000  # 372 KB
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, keepalive=0.2)):
        pidfile = worker_pidfile()
        async with httpx.AsyncClient(timeout=30) as http:
            busy = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(f"{NAP}{pidfile}")))
            await started(pidfile)
            queued = body(context=document, stream=True)  # "stream" after the document, as dicts keep their order
            async with http.stream("POST", f"{served.url}{COMPLETIONS}", json=queued) as response:
                assert response.status_code == 200 and served.health()["queued"] == 1  # sent while it waits
                events = sse_events((await response.aread()).decode())
            assert (await busy).status_code == 200
    first_data = next(i for i, event in enumerate(events) if event.startswith("data:"))
    assert ": keep-alive" in events[:first_data]
    assert f'"content": "length {len(document)}"' in "".join(events) and events[-1] == "data: [DONE]"


async def test_a_waiting_streams_early_headers_name_the_run_it_gets(tmp_path: Path) -> None:
    # Sent before the run existed, a waiting stream's headers had no X-Rlmx-Trace-Id, and its x-request-id led to
    # no trace: the id of a run is now decided when its request arrives.
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, keepalive=0.2)):
        pidfile = worker_pidfile()
        async with httpx.AsyncClient(timeout=30) as http:
            busy = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(f"{NAP}{pidfile}")))
            await started(pidfile)
            async with http.stream("POST", f"{served.url}{COMPLETIONS}", json=body(stream=True, context="ab")) as r:
                assert served.health()["queued"] == 1  # the headers came while it waited
                events = sse_events((await r.aread()).decode())
            assert (await busy).status_code == 200
            trace_id = r.headers["x-rlmx-trace-id"]
            assert r.headers["x-request-id"] == trace_id
            assert json.loads(events[-2].removeprefix("data: "))["rlmx"]["trace_id"] == trace_id
            assert f'"id": "chatcmpl-{trace_id}"' in events[-2]
            assert (await http.get(f"{served.url}/v1/traces/{trace_id}")).status_code == 200


async def test_a_keyed_retry_waiting_beside_its_twin_names_the_run_it_will_follow(tmp_path: Path) -> None:
    # Both waiting for a slot, a keyed stream and its retry (same key, same body) each named a run of its own in
    # their early headers, while both then streamed the first one's run: the retry's id led to no trace.
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, keepalive=0.2)):
        pidfile = worker_pidfile()
        async with httpx.AsyncClient(timeout=30) as http:
            busy = asyncio.create_task(http.post(f"{served.url}{COMPLETIONS}", json=body(f"{NAP}{pidfile}")))
            await started(pidfile)
            keyed = {"Idempotency-Key": f"twin-{uuid.uuid4()}"}

            async def stream(url: str, headers: dict[str, str]) -> tuple[str, list[str]]:
                request = body(stream=True, context="ab")
                async with http.stream("POST", f"{url}{COMPLETIONS}", json=request, headers=headers) as r:
                    return r.headers["x-rlmx-trace-id"], sse_events((await r.aread()).decode())

            first = asyncio.create_task(stream(served.url, keyed))
            while served.health()["queued"] < 1:
                await asyncio.sleep(0.02)
            retry = asyncio.create_task(stream(served.url, keyed))
            (first_id, first_events), (retry_id, retry_events) = await asyncio.gather(first, retry)
            assert (await busy).status_code == 200
    assert retry_id == first_id
    for events in (first_events, retry_events):
        assert f'"id": "chatcmpl-{first_id}"' in events[-2] and events[-1] == "data: [DONE]"


async def test_a_refusal_after_a_waiting_streams_headers_is_its_error_event(tmp_path: Path) -> None:
    options = ServerOptions(max_concurrent_runs=1, queue_timeout=0.8, keepalive=0.2)
    for served in start(tmp_path, options=options):
        pidfile = worker_pidfile()
        async with served.async_client() as client, httpx.AsyncClient(timeout=20) as http:
            stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
            async with stream:
                await started(pidfile)
                async with http.stream("POST", f"{served.url}{COMPLETIONS}", json=body(stream=True)) as response:
                    events = sse_events((await response.aread()).decode())
        await ended(served, int(pidfile.read_text()))
    assert response.status_code == 200 and ": keep-alive" in events
    error = json.loads(events[-2].removeprefix("data: "))["error"]
    assert error["code"] == "too_many_runs" and "--queue-timeout" in error["message"]
    assert events[-1] == "data: [DONE]"


async def test_a_shutdown_answers_the_waiting_requests_and_starts_no_run() -> None:
    # At SIGTERM the queued requests were left to uvicorn's cancelling (a text/plain 500), and the slot the
    # cancelled run freed could start a queued request's run during the shutdown.
    def assert_shutting_down(error: BaseException | None) -> None:
        assert isinstance(error, RequestError) and (error.status, error.code) == (503, "server_shutting_down")
        assert error.headers["x-should-retry"] == "true"

    admission = Admission(1, max_queued=4, queue_timeout=30)
    release = await admission.enter()
    left, handed, waiting = (asyncio.ensure_future(admission.enter()) for _ in range(3))
    await asyncio.sleep(0)
    assert admission.queued == 3
    left.cancel()  # its client left: forgotten, not answered
    await asyncio.gather(left, return_exceptions=True)
    release()  # the slot goes to the next waiter, which has not run yet when the shutdown begins
    admission.close()
    for waiter in (handed, waiting):
        await asyncio.gather(waiter, return_exceptions=True)
        assert_shutting_down(waiter.exception())
    assert (admission.running, admission.queued) == (0, 0)  # the handed slot was given back unused
    with pytest.raises(RequestError) as later:
        await admission.enter()
    assert_shutting_down(later.value)


# --- parameters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "tool_choice"),
        ({"stop": ["\n"]}, "stop"),
        ({"logprobs": True}, "logprobs"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"temperature": 3}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
def test_parameters_an_rlm_cannot_honour_are_refused(served: Served, options: dict[str, Any], param: str) -> None:
    with served.client() as client, pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, messages=ask("q"), **options)
    assert raised.value.body["param"] == param and len(raised.value.body["message"]) > 30  # type: ignore[index]
    assert served.lm.calls == []


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"modalities": ["text", "audio"], "audio": {"voice": "verse", "format": "mp3"}}, "modalities"),
        ({"modalities": ["audio"]}, "modalities"),
        ({"audio": {"voice": "verse", "format": "pcm16"}}, "audio"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"prediction": {"type": "content", "content": "def f(): pass"}}, "prediction"),
        ({"modalities": "text"}, "modalities"),
    ],
)
def test_asking_for_another_output_than_text_is_refused(served: Served, options: dict[str, Any], param: str) -> None:
    # An audio app got a 200 with no `message.audio`, a search-preview app an answer it took for a web search.
    with served.client() as client, pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, messages=ask("q"), extra_body=options)
    assert raised.value.body["param"] == param and param in raised.value.body["message"]  # type: ignore[index]
    assert served.lm.calls == []
    # what clients send by default, or that changes nothing here, is still served
    defaults = {"modalities": ["text"], "store": False, "metadata": {"app": "x"}, "user": "u", "audio": None}
    with served.client() as client:
        answer = client.chat.completions.create(model=MODEL, messages=ask("q"), extra_body=defaults)
    assert answer.choices[0].message.content == "unscripted"


def test_an_unknown_model_is_a_404_model_not_found(served: Served) -> None:
    with served.client() as client, pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=ask("q"))
    assert raised.value.code == "model_not_found" and MODEL in raised.value.message


def test_sampling_params_and_max_tokens_reach_every_lm_call(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL,
            messages=ask("Count in two turns"),
            temperature=0.3,
            seed=7,
            max_tokens=64,
            tools=[{"type": "function", "function": {"name": "unused"}}],
        )
    assert response.choices[0].message.content == "42"
    assert len(served.lm.params) == 2
    for params in served.lm.params:
        assert params["temperature"] == 0.3 and params["seed"] == 7 and params["max_tokens"] <= 64


def test_system_messages_reach_the_root_when_the_context_is_sent_apart(served: Served) -> None:
    with served.client() as client:
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": "Answer in French."}, *ask("How long is the context?")],
            extra_body={"context": "abc"},
        )
    assert query_from(served.lm.calls[0]) == "Answer in French.\n\nHow long is the context?"


# --- keys, traces, CORS -------------------------------------------------------------------------------


def test_an_api_key_is_required_when_set(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(api_key="s3cret"), api_key="s3cret"):
        with served.client() as client:
            assert client.chat.completions.create(model=MODEL, messages=ask("q")).choices[0].message.content
        wrong = openai.OpenAI(base_url=f"{served.url}/v1", api_key="nope", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError) as raised:
            wrong.models.list()
        assert raised.value.code == "invalid_api_key" and "Authorization: Bearer" in raised.value.message
        assert "401 - Incorrect API key provided" in raised.value.message  # litellm: an AuthenticationError
        assert httpx.post(f"{served.url}{COMPLETIONS}", json=body()).status_code == 401
        assert served.health()["status"] == "ok"  # health stays open for load balancers
        assert len(served.lm.calls) == 1


def test_every_response_carries_a_request_id_as_openais_api_does(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(model=MODEL, messages=ask("q"), extra_body={"context": "ab"})
        assert response._request_id == (response.model_extra or {})["rlmx"]["trace_id"]
        with pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(model="other", messages=ask("q"))
        assert raised.value.request_id and raised.value.request_id.startswith("req_")
    assert httpx.get(f"{served.url}/v1/models").headers["x-request-id"].startswith("req_")


def test_the_bearer_scheme_is_matched_in_any_case(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(api_key="s3cret"), api_key="s3cret"):
        for scheme in ("bearer", "BEARER"):
            assert httpx.get(f"{served.url}/v1/models", headers={"Authorization": f"{scheme} s3cret"}).is_success
        assert httpx.get(f"{served.url}/v1/models", headers={"Authorization": "Basic s3cret"}).status_code == 401


def test_every_answer_names_its_trace_which_the_server_returns(served: Served) -> None:
    with served.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "ab"}
        )
        response = raw.parse()
    trace_id = (response.model_extra or {})["rlmx"]["trace_id"]
    assert raw.headers["X-Rlmx-Trace-Id"] == trace_id
    events = httpx.get(f"{served.url}/v1/traces/{trace_id}").json()
    assert events[0]["type"] == "run_start" and events[-1]["type"] == "run_end"
    assert {event["run_id"] for event in events} == {trace_id}
    lines = httpx.get(f"{served.url}/v1/traces/{trace_id}", params={"format": "jsonl"}).text.splitlines()
    assert [json.loads(line)["type"] for line in lines] == [event["type"] for event in events]
    with httpx.stream("POST", f"{served.url}{COMPLETIONS}", json=body(stream=True, context="a")) as streamed:
        assert streamed.read() and httpx.get(f"{served.url}/v1/traces/{streamed.headers['X-Rlmx-Trace-Id']}").is_success
    missing = httpx.get(f"{served.url}/v1/traces/0123456789ab")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "trace_not_found"
    assert httpx.get(f"{served.url}/v1/traces/..%2F..%2Fetc").status_code == 404


def test_cors_lets_a_named_origin_call_the_api(tmp_path: Path) -> None:
    origin = "http://page.example"
    for served in start(tmp_path, options=ServerOptions(cors_origins=(origin,))):
        preflight = httpx.options(
            f"{served.url}{COMPLETIONS}",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                # what the openai JS SDK sends from a browser, besides authorization and content-type
                "Access-Control-Request-Headers": "authorization,content-type,x-stainless-lang,"
                "x-stainless-package-version,x-stainless-retry-count,x-stainless-timeout,openai-organization",
            },
        )
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
        answer = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context="a"), headers={"Origin": origin})
        assert answer.headers["access-control-allow-origin"] == origin
        assert "X-Rlmx-Trace-Id".lower() in answer.headers["access-control-expose-headers"].lower()
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        other = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context="a"), headers={"Origin": "http://evil"})
        assert "access-control-allow-origin" not in other.headers


def test_a_streamed_answer_with_unicode_line_separators_reads_whole_line_by_line(served: Served) -> None:
    # U+2028, U+2029 and U+0085 are valid in JSON strings, but str.splitlines ends a line at each: a client reading the
    # stream with httpx's iter_lines (httpx-sse#34, dify#39008) lost the chunk that held one
    request = body("Write the line separators", stream=True)
    with httpx.Client(timeout=30) as http, http.stream("POST", f"{served.url}{COMPLETIONS}", json=request) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: {")]
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "a\u2028b\u2029c\x85d"
