"""`rlmx serve` holds what a request's bytes cost, not its parsed form, while it waits for a run slot (audit 84
V05); a finished Idempotency-Key run keeps its answer for retries, never its request's context (V04); a request
head has a deadline and open connections a bound (V01); --allow-host names a same-host proxy's Host (V03)."""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from rlmx.server import ServerOptions
from server.server_harness import MODEL, Served, ask, start
from server.test_serve_command import environ, serve_command, serving

COMPLETIONS = "/v1/chat/completions"
ITEMS = 20_000
"""Objects in each request's JSON context: a list this long is what a parsed (held) context looks like."""


def long_lists() -> int:
    """How many lists of at least ITEMS items this process holds (each one a parsed context still alive)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is list and len(o) >= ITEMS)


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[Served]:
    """One run slot, held 4 s by each run (the scripted LM's delay), and a patient queue."""
    yield from start(tmp_path, max_concurrent_runs=1, delay=4, options=ServerOptions(queue_timeout=60))


def test_requests_waiting_for_a_slot_hold_their_bytes_not_their_parsed_json(one_slot: Served) -> None:
    # 100 queued requests of 250 KB `[{},{},...]` contexts held their parsed dicts: 585 MiB for 24 MiB sent.
    context = "[" + ",".join(["{}"] * ITEMS) + "]"
    payload = '{"model": "' + MODEL + '", "messages": [{"role": "user", "content": "q"}], "context": ' + context + "}"
    waiting = 6

    async def scenario() -> tuple[int, list[int]]:
        async with httpx.AsyncClient(base_url=one_slot.url, timeout=60) as client:
            first = asyncio.ensure_future(client.post(COMPLETIONS, json={"model": MODEL, "messages": ask("q")}))
            while (await client.get("/health")).json()["running"] < 1:
                await asyncio.sleep(0.05)
            queued = [
                asyncio.ensure_future(
                    client.post(COMPLETIONS, content=payload, headers={"Content-Type": "application/json"})
                )
                for _ in range(waiting)
            ]
            deadline = time.monotonic() + 20
            while (await client.get("/health")).json()["queued"] < waiting:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            held = long_lists()
            answers = await asyncio.gather(first, *queued)
            return held, [answer.status_code for answer in answers]

    held, statuses = asyncio.run(scenario())
    assert held == 0  # none of the waiting requests holds its parsed context
    assert statuses == [200] * (waiting + 1)  # each is mapped again when its slot comes, and answered


def test_a_finished_keyed_run_keeps_no_context(tmp_path: Path) -> None:
    # Each keyed run kept its whole request (10 MiB contexts: +10 MiB a request) for the 10 minutes of retries.
    for served in start(tmp_path):
        context = [{"n": i} for i in range(ITEMS)]
        key = str(uuid.uuid4())
        with httpx.Client(base_url=served.url, timeout=30) as client:
            body = {"model": MODEL, "messages": ask("How long is the context?"), "context": context}
            first = client.post(COMPLETIONS, json=body, headers={"Idempotency-Key": key})
            assert first.status_code == 200
            del body, context
            assert long_lists() == 0  # the run is kept for retries, its context is not
            again = client.post(
                COMPLETIONS,
                json={
                    "model": MODEL,
                    "messages": ask("How long is the context?"),
                    "context": [{"n": i} for i in range(ITEMS)],
                },
                headers={"Idempotency-Key": key},
            )
        assert again.json()["choices"][0]["message"]["content"] == first.json()["choices"][0]["message"]["content"]
        assert again.headers["x-rlmx-trace-id"] == first.headers["x-rlmx-trace-id"]  # a replay, not a new run


def closed_within(connection: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing `connection`, or None when it was still open after `seconds`."""
    connection.settimeout(seconds)
    data = b""
    try:
        while piece := connection.recv(65536):
            data += piece
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return data


def test_a_connection_that_never_completes_its_head_is_closed_and_connections_are_bounded(tmp_path: Path) -> None:
    # A connection that sent nothing, or half a request head, was held open for ever (uvicorn arms no timer before
    # a head is whole), and nothing bounded how many: local processes could hold every descriptor.
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--header-timeout", "1", "--max-connections", "3")
    with serving(command) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        silent = socket.create_connection(("127.0.0.1", port))
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        third = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.2)
        past = socket.create_connection(("127.0.0.1", port))
        refused = closed_within(past, 5)
        past.close()
        assert refused is not None and refused.startswith(b"HTTP/1.1 503")  # one past --max-connections
        began = time.monotonic()
        answers = [closed_within(connection, 5) for connection in (silent, half, third)]  # after --header-timeout
        for connection in (silent, half, third):
            connection.close()
        assert answers[0] == answers[2] == b""  # closed unanswered
        assert answers[1] is not None and answers[1].startswith(b"HTTP/1.1 408")  # a head begun is told why
        assert time.monotonic() - began < 4
        answer = httpx.get(f"{url}/v1/models", timeout=10)  # once they are gone, a client is served
        assert answer.status_code == 200


def test_a_host_allowed_by_name_is_served_behind_a_same_host_proxy(tmp_path: Path) -> None:
    # Behind nginx's `proxy_set_header Host $host`, every request got 421 with the advice to bind wider.
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--allow-host", "rlmx.example.com")
    with serving(command) as (url, _):
        proxied = httpx.get(f"{url}/v1/models", headers={"Host": "RLMX.example.com:443"}, timeout=10)
        other = httpx.get(f"{url}/v1/models", headers={"Host": "evil.example"}, timeout=10)
    assert proxied.status_code == 200
    assert other.status_code == 421 and "--allow-host NAME" in other.json()["error"]["message"]


def test_allow_host_refuses_what_is_no_host_name(tmp_path: Path) -> None:
    finished = subprocess.run(
        serve_command(tmp_path, ["FINAL(ok)"], "--allow-host", "https://rlmx.example.com/"),
        capture_output=True,
        text=True,
        env=environ(),
        timeout=60,
    )
    assert finished.returncode == 2 and "not a host name" in finished.stderr
