"""rlmx.lm.http's JSONPoster against a raw socket server: how a reply whose connection ends early is read."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, error_body
from rlmx.lm.http import JSONPoster, TransportError


def _event(data: object) -> bytes:
    return b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n"


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


USAGE = {"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
WHOLE_STREAM = [_chunk({"content": "Hi"}), _chunk({"content": " there"}, "stop"), USAGE]


Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _listening(answer: Answer) -> AsyncIterator[str]:
    """A raw server on 127.0.0.1 answering each connection with `answer`; yields its chat-completions URL."""
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1/chat/completions"
    finally:
        server.close()


async def _read_request(reader: asyncio.StreamReader) -> None:
    """Read one POST: its head, then as many body bytes as its Content-Length says."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    await reader.readexactly(length)


@asynccontextmanager
async def _cut_server(body: bytes, content_type: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers every POST with `body` as one chunk of a chunked reply, then closes the connection
    without the chunked encoding's terminator (`0\\r\\n\\r\\n`). Yields its URL and the count of requests."""
    requests = [0]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        requests[0] += 1
        writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n".encode()
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n"
        )
        await writer.drain()
        writer.close()

    async with _listening(answer) as url:
        yield url, requests


def _poster(url: str) -> JSONPoster:
    return JSONPoster(url, {}, timeout=5, connect_timeout=5, max_retries=0)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"".join(_event(chunk) for chunk in WHOLE_STREAM) + _event(b"[DONE]"), "text/event-stream"),
        (b"".join(_event(chunk) for chunk in WHOLE_STREAM), "text/event-stream"),  # finish_reason and usage, no [DONE]
        (json.dumps({"object": "chat.completion", "choices": []}).encode(), "application/json"),
    ],
    ids=["stream-done", "stream-finished-and-counted", "whole-json"],
)
async def test_a_reply_that_came_whole_is_kept_when_only_its_chunked_terminator_is_lost(
    body: bytes, content_type: str
) -> None:
    async with _cut_server(body, content_type) as (url, requests):
        poster = _poster(url)
        reply, attempts = await poster.post({"model": "m"})
        await poster.aclose()
    assert (reply.status, reply.body, attempts, requests[0]) == (200, body, 1, 1)


@pytest.mark.parametrize(
    "body",
    [
        _event(_chunk({"content": "Hi"})),  # no finish_reason yet
        b"".join(_event(chunk) for chunk in WHOLE_STREAM[:2]),  # finished, but the usage never came
        _event(_chunk({"content": "Hi"}, "null")),  # ai00's "null" while it streams is no finish
        b'{"object": "chat.completion", "choices": [',
    ],
)
async def test_a_reply_cut_before_it_was_whole_is_still_a_broken_reply(body: bytes) -> None:
    async with _cut_server(body, "text/event-stream") as (url, requests):
        poster = _poster(url)
        with pytest.raises(TransportError) as caught:
            await poster.post({"model": "m"})
        await poster.aclose()
    assert caught.value.kind == "broken" and requests[0] == 1


async def test_a_429_for_a_request_over_a_token_allowance_alone_is_not_sent_again() -> None:
    # a passing limit names what was used already; one without it is the request's own size, which waiting won't cure
    alone = "Request too large for gpt-4o on tokens per min (TPM): Limit 30000, Requested 36278."
    passing = "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000."
    with FakeOpenAIServer() as server:
        server.script(Reply(429, error_body(alone)), Reply(429, error_body(passing), {"retry-after": "0"}))
        poster = JSONPoster(server.base_url + "chat/completions", {}, timeout=5, connect_timeout=5, max_retries=1)
        reply, attempts = await poster.post({"model": "m", "messages": []})
        assert (reply.status, attempts) == (429, 1)
        reply, attempts = await poster.post({"model": "m", "messages": []})
        assert attempts == 2
        await poster.aclose()


# --- keep-alive bytes: a reply's end, and a wait they do not extend ---------------------------------------------


@asynccontextmanager
async def _lingering_server(
    pieces: list[bytes], content_type: str, *, ping: bytes | None, every: float = 0.05
) -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers every POST with `pieces` as chunks of a chunked reply, then keeps the connection open,
    sending `ping` (a keep-alive comment, or whitespace; None: nothing) every `every` seconds until the client goes
    away: vLLM's and llama.cpp's SSE pings, OpenRouter's `: OPENROUTER PROCESSING`. Yields its URL and the count of
    requests."""
    requests = [0]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        requests[0] += 1
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n".encode())
        try:
            for piece in itertools.chain(pieces, itertools.repeat(ping)):  # the pieces, then pings without end
                if piece is not None:
                    writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    await writer.drain()
                await asyncio.sleep(every)
        except (ConnectionError, OSError):  # the client went away
            pass
        finally:
            writer.close()

    async with _listening(answer) as url:
        yield url, requests


async def test_a_stream_ends_at_its_done_line_though_the_server_keeps_pinging() -> None:
    # earendil-works/pi#7954: a gateway delivers the whole stream, then lingers on the connection; the reply is done
    stream = [_event(chunk) for chunk in WHOLE_STREAM] + [_event(b"[DONE]")]
    async with _lingering_server(stream, "text/event-stream", ping=b": ping\n\n") as (url, requests):
        poster = JSONPoster(url, {}, timeout=60, connect_timeout=5, max_retries=0)  # patience far above the wait
        reply, attempts = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert (reply.status, attempts, requests[0]) == (200, 1, 1)
    assert reply.body == b"".join(stream)  # up to [DONE], no ping after it


async def test_keep_alive_bytes_before_a_reply_hold_the_attempt_open_past_the_read_timeout() -> None:
    # DeepSeek sends blank lines while a request waits to be scheduled (its API docs); the SDK waits on, and so
    # does rlmx: one request, not an attempt timed out and billed again
    body = json.dumps({"object": "chat.completion", "choices": []}).encode()
    async with _lingering_server([b"\n"] * 12 + [body], "application/json", ping=b"\n", every=0.1) as (url, requests):
        poster = JSONPoster(url, {}, timeout=0.5, connect_timeout=5, max_retries=2)
        reply, attempts = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert (reply.status, attempts, requests[0]) == (200, 1, 1) and json.loads(reply.body)["choices"] == []


@pytest.mark.parametrize(
    "end",
    [[b"data: [DO", b"NE]\n\n"], [b"d", b"ata: ", b"[DONE]", b"\n\n"]],
    ids=["split-in-the-marker", "split-before-it"],
)
async def test_a_done_line_split_between_pieces_ends_the_stream(end: list[bytes]) -> None:
    stream = [_event(chunk) for chunk in WHOLE_STREAM] + end
    async with _lingering_server(stream, "text/event-stream", ping=b": ping\n\n", every=0.05) as (url, _):
        poster = JSONPoster(url, {}, timeout=60, connect_timeout=5, max_retries=0)
        reply, _ = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert reply.body.rstrip() == b"".join(stream).rstrip()  # the blank line after [DONE] may come apart


async def test_usage_a_gateway_sends_after_done_is_read_and_a_quiet_connection_after_it_ends_the_read() -> None:
    # against the spec (usage comes before [DONE]), but read as the previous reader read it; then the server
    # keeps the connection without a word: the reply is whole, so the read ends after a moment's quiet
    stream = [_event(chunk) for chunk in WHOLE_STREAM[:2]] + [_event(b"[DONE]"), _event(USAGE)]
    async with _lingering_server(stream, "text/event-stream", ping=None) as (url, _):
        poster = JSONPoster(url, {}, timeout=60, connect_timeout=5, max_retries=0)
        reply, _ = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert reply.body == b"".join(stream)


async def test_keep_alive_bytes_before_a_reply_within_the_timeout_are_no_fault() -> None:
    # OpenRouter pads a reply it is still waiting for with comments, then sends it
    stream = [b": OPENROUTER PROCESSING\n\n"] * 4 + [_event(chunk) for chunk in WHOLE_STREAM] + [_event(b"[DONE]")]
    async with _lingering_server(stream, "text/event-stream", ping=b": ping\n\n", every=0.1) as (url, requests):
        poster = JSONPoster(url, {}, timeout=5, connect_timeout=5, max_retries=0)
        reply, attempts = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert (reply.status, attempts, requests[0]) == (200, 1, 1) and reply.body.endswith(b"data: [DONE]\n\n")


async def test_a_whole_json_reply_followed_by_keep_alive_bytes_is_the_reply() -> None:
    body = json.dumps({"object": "chat.completion", "choices": []}).encode()
    async with _lingering_server([b"\n\n", body], "application/json", ping=b"\n") as (url, requests):
        poster = JSONPoster(url, {}, timeout=0.5, connect_timeout=5, max_retries=1)
        reply, attempts = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await poster.aclose()
    assert (reply.status, attempts, requests[0]) == (200, 1, 1) and json.loads(reply.body)["choices"] == []


def _whole_reply(text: str) -> bytes:
    body = json.dumps({"object": "chat.completion", "choices": [{"index": 0, "message": {"content": text}}]}).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_bytes_a_server_sends_after_a_stream_it_ended_never_answer_the_next_request(framing: str) -> None:
    # A gateway lingering after `data: [DONE]`: its pings, the body's end and more bytes in one write. The connection
    # went back to the pool with those bytes unread, and the next request read them as its reply (here a reply
    # saying "STALE"): every later answer shifted by one, with no error
    stream = b"".join(_event(chunk) for chunk in WHOLE_STREAM) + _event(b"[DONE]")
    answered = [0]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await _read_request(reader)
                answered[0] += 1
                if answered[0] > 1:
                    writer.write(_whole_reply(f"fresh {answered[0]}"))
                elif framing == "chunked":
                    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                    writer.write(head + b"%x\r\n" % len(stream) + stream + b"\r\n")
                    await writer.drain()
                    await asyncio.sleep(0.1)
                    writer.write(b"8\r\n: ping\n\n\r\n0\r\n\r\n" + _whole_reply("STALE"))
                else:
                    tail = b": ping\n\n" * 3
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"
                        % (len(stream) + len(tail))
                        + stream
                    )
                    await writer.drain()
                    await asyncio.sleep(0.1)
                    writer.write(tail + _whole_reply("STALE"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async with _listening(answer) as url:
        poster = JSONPoster(url, {}, timeout=5, connect_timeout=5, max_retries=0)
        first, _ = await asyncio.wait_for(poster.post({"model": "m"}), 20)
        await asyncio.sleep(0.3)
        later = [(await asyncio.wait_for(poster.post({"model": "m"}), 20))[0].body for _ in range(2)]
        await poster.aclose()
    assert first.body.startswith(stream[:40])
    assert [json.loads(body)["choices"][0]["message"]["content"] for body in later] == ["fresh 2", "fresh 3"]
