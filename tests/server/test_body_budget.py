"""`rlmx serve`'s budget of body bytes held by requests not yet running: booked as bytes arrive, not as declared, so
a stalled or chunked upload holds only what it sent; a request waiting for room is seen leaving; retries share it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from rlmx.server import ServerOptions
from rlmx.server.body import WaitingBytes
from scripting import worker_pidfile
from server.server_harness import MODEL, SLEEP, Served, ask, start
from server.test_serve_round49 import COMPLETIONS, DOCUMENT, body, open_upload, response_of

HOG = 9 << 20
"""Bytes a stalled upload sends: past the whole budget (8 MiB), so bigger bodies after it must wait for room."""


def stalled_upload(served: Served, declared: int, sent: int, headers: bytes = b"") -> socket.socket:
    """A raw POST that declared a `declared`-byte body and sent `sent` bytes of it (spaces: JSON's blanks)."""
    host, port = served.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
    connection.sendall(head % (COMPLETIONS.encode(), declared, headers))
    if sent:
        threading.Thread(target=_send_quietly, args=(connection, b" " * sent), daemon=True).start()
    return connection


def _send_quietly(connection: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the test closed it, or the server answered and left
        connection.sendall(data)


def health_reaches(served: Served, **counts: int) -> None:
    deadline = time.monotonic() + 15
    while not all(served.health()[name] == value for name, value in counts.items()):
        assert time.monotonic() < deadline, f"health stayed {served.health()}, expected {counts}"
        time.sleep(0.05)


@pytest.fixture
def patient(tmp_path: Path) -> Iterator[Served]:
    """A server whose body timeout (10 s) is far longer than any answer these tests wait for."""
    yield from start(tmp_path, options=ServerOptions(body_timeout=10, queue_timeout=30))


def test_a_stalled_upload_holds_only_the_bytes_it_sent(patient: Served) -> None:
    # Booked by its declared 20 MiB, an upload that sent 8 bytes and stopped held the whole budget: a 1 MB request
    # from the SDK waited the stalled one's whole --body-timeout.
    stalled = stalled_upload(patient, 20 << 20, 8)
    try:
        time.sleep(0.3)
        began = time.monotonic()
        with patient.client(timeout=20) as client:
            reply = client.chat.completions.create(
                model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "w" * 1_000_000}
            )
        took = time.monotonic() - began
    finally:
        stalled.close()
    assert reply.choices[0].message.content == "length 1000000"
    assert took < 5  # at once, not at the stalled upload's 10 s body timeout


def test_a_chunked_body_is_booked_as_it_arrives(patient: Served) -> None:
    # A chunked body (httpx and requests send generators so, Node fetch streams) was booked at --max-request-bytes
    # (32 MiB, over the whole budget): it waited until no other body held any room, here a half-sent 300 KB one.
    half_sent = open_upload(patient, json.dumps(body(context=DOCUMENT)).encode(), chunked=False, first=280_000)
    payload = json.dumps(body(context="c" * 400_000)).encode()
    try:
        time.sleep(0.3)
        began = time.monotonic()
        answer = httpx.post(
            f"{patient.url}{COMPLETIONS}",
            content=iter([payload[start_at : start_at + 65536] for start_at in range(0, len(payload), 65536)]),
            timeout=20,
        )
        took = time.monotonic() - began
    finally:
        half_sent.close()
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "length 400000"
    assert took < 5


def test_a_client_leaving_while_its_body_waits_for_room_gives_its_place_back(tmp_path: Path) -> None:
    # Nothing watched a request waiting for room: a client that gave up kept its /health "queued" place, and its
    # --max-queued place, until room came or --queue-timeout (120 s) ran out.
    for served in start(tmp_path, options=ServerOptions(body_timeout=20, queue_timeout=60, max_queued=3)):
        hog = stalled_upload(served, 20 << 20, HOG)
        time.sleep(1)  # read past the budget, then stalled
        leaving = [stalled_upload(served, 1 << 20, 1000) for _ in range(3)]  # then an SDK timeout, say
        try:
            health_reaches(served, queued=3)
            for connection in leaving:
                connection.close()
            health_reaches(served, queued=0)
        finally:
            hog.close()
        health_reaches(served, queued=0, running=0)
        answer = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context=DOCUMENT), timeout=20)
        assert answer.status_code == 200


async def test_a_keyed_retry_reads_its_body_under_the_same_budget(tmp_path: Path) -> None:
    # A retry with the Idempotency-Key of a running run read its body outside the budget: eight stalled 20 MiB
    # retries grew the server by 360 MB.
    for served in start(tmp_path, options=ServerOptions(body_timeout=20, queue_timeout=60)):
        pidfile = worker_pidfile()
        key = f"retry-{uuid.uuid4()}"
        async with httpx.AsyncClient(timeout=30) as http:
            running = asyncio.create_task(
                http.post(
                    f"{served.url}{COMPLETIONS}", json=body(f"{SLEEP}{pidfile}"), headers={"Idempotency-Key": key}
                )
            )
            while not pidfile.exists():
                await asyncio.sleep(0.05)
            hog = stalled_upload(served, 20 << 20, HOG)
            await asyncio.sleep(1)
            retry = stalled_upload(served, 1 << 20, 300 << 10, headers=b"Idempotency-Key: %s\r\n" % key.encode())
            try:
                await asyncio.to_thread(health_reaches, served, queued=1)  # it waits for room like any body
            finally:
                retry.close()
                hog.close()
                running.cancel()


def test_a_request_waiting_for_room_is_refused_after_the_queue_timeout_with_what_it_read(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(body_timeout=20, queue_timeout=1)):
        hog = stalled_upload(served, 20 << 20, HOG)
        time.sleep(1)
        waiting = stalled_upload(served, 1 << 20, 1000)
        try:
            status, answer, head = response_of(waiting, timeout=10)
        finally:
            waiting.close()
            hog.close()
    assert status == 429 and "retry-after: 20" in head.lower()  # a stalled upload frees it at its --body-timeout
    message = answer["error"]["message"]
    assert "--queue-timeout" in message and "for room to read its body" in message and "1,000 bytes received" in message
    # the advice names what frees the room (it named --max-concurrent-runs and --max-queued, which change nothing)
    assert "--body-timeout (20 s)" in message and "a lower --body-timeout" in message
    assert "--max-queued" not in message


# --- the budget's rules, on its own -----------------------------------------------------------------------


async def test_at_most_one_body_reads_past_the_budget_and_none_while_a_whole_one_waits() -> None:
    budget = WaitingBytes(100)
    first, second, third = budget.claim(), budget.claim(), budget.claim()
    first.add(60)
    second.add(50)  # two half-read bodies fill the budget
    assert not third.may_read() and not first.may_read()
    third.add(1)
    third_room = asyncio.ensure_future(third.room())
    first_room = asyncio.ensure_future(first.room())
    await asyncio.sleep(0)
    # every holder is half-read, so the first in line may read past the cap (else all would wait for ever)...
    assert third_room.done() and third.may_read()
    assert not first_room.done()  # ... but only one at a time
    third.add(500)
    third.finish()  # read whole: it waits for its run, and holds its bytes until then
    await asyncio.sleep(0)
    assert not first_room.done()  # a whole body waiting for its run frees room as it starts: no second overdraft
    third()  # its run started
    second()  # given up
    await asyncio.sleep(0)
    assert first_room.done() and budget.held == 60 and budget.whole == 0
    first()
    assert budget.held == 0 and budget.queued == 0


async def test_a_body_that_leaves_the_line_lets_the_next_in() -> None:
    budget = WaitingBytes(100)
    holder, big, small = budget.claim(), budget.claim(), budget.claim()
    holder.add(100)
    holder.finish()
    big.add(10)
    small.add(10)
    big_room = asyncio.ensure_future(big.room())
    small_room = asyncio.ensure_future(small.room())
    await asyncio.sleep(0)
    assert budget.queued == 2 and not small_room.done()  # in order: the small one does not pass the big one
    big_room.cancel()
    await asyncio.gather(big_room, return_exceptions=True)
    holder()
    await asyncio.sleep(0)
    assert small_room.done() and budget.queued == 0


async def test_an_async_client_still_sending_its_body_gets_the_413_not_a_reset(tmp_path: Path) -> None:
    # Refused before its body was read, the connection closed with the upload unread: the kernel reset it, and
    # AsyncOpenAI (httpx's async transport) and openai-node saw "Connection error." instead of the 413 (3 of 3 tries)
    import openai

    for served in start(tmp_path, options=ServerOptions(max_request_bytes=1 << 20)):
        async with served.async_client(timeout=30) as client:
            for _ in range(3):
                with pytest.raises(openai.APIStatusError) as refused:
                    await client.chat.completions.create(
                        model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "x" * (6 << 20)}
                    )
                assert refused.value.status_code == 413 and "--max-request-bytes" in refused.value.message


async def test_an_async_client_with_a_wrong_key_and_a_big_context_gets_the_401(tmp_path: Path) -> None:
    # the 401 closed the connection with the body unread: AsyncOpenAI said "Connection error.", not the wrong key
    import openai

    for served in start(tmp_path, options=ServerOptions(api_key="s3cret"), api_key="nope"):
        async with served.async_client(timeout=30) as client:
            with pytest.raises(openai.AuthenticationError) as refused:
                await client.chat.completions.create(
                    model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "x" * (6 << 20)}
                )
            assert refused.value.code == "invalid_api_key"


@pytest.mark.parametrize("key", [None, "nope"], ids=["over-the-limit", "wrong-key"])
def test_a_refusal_to_a_client_awaiting_100_continue_comes_before_any_body(tmp_path: Path, key: str | None) -> None:
    # draining the refused body asked for it: uvicorn answered "100 Continue", and curl sent all 40 MB before the 413
    options = ServerOptions(max_request_bytes=1 << 20, api_key="s3cret" if key else None)
    for served in start(tmp_path, options=options):
        host, port = served.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as connection:
            auth = b"Authorization: Bearer %s\r\n" % key.encode() if key else b""
            head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s"
            connection.sendall(head % (COMPLETIONS.encode(), 40 << 20, auth) + b"Expect: 100-continue\r\n\r\n")
            connection.settimeout(10)
            first = connection.recv(4096)
        assert first.startswith(b"HTTP/1.1 401" if key else b"HTTP/1.1 413"), first[:80]


async def test_draining_a_refused_body_ends_when_the_server_stops() -> None:
    # a wrong-key client still sending when the server began to stop was drained until uvicorn cancelled it: a 500
    from rlmx.server.body import Inbox

    async def endless() -> dict[str, object]:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    stopping = asyncio.get_running_loop().time() + 0.3
    began = asyncio.get_running_loop().time()
    await Inbox(endless).drain(1 << 30, 10, stop=lambda: asyncio.get_running_loop().time() > stopping)
    assert asyncio.get_running_loop().time() - began < 2  # not the 10 s a client still sending may be given
