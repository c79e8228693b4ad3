"""`rlmx mcp --http`, round 81 (audit 81): request bodies are bounded as they arrive, and every refusal of the
transport is a JSON-RPC error.

rlmx's middlewares read a POST's body whole before the SDK's 4 MiB limit saw it, so one big POST grew the server by
its size; the SDK's limit, in turn, failed any `text` over 4 MiB with a bare text/plain 413 (the SDK's client said
"Server returned an error response") although stdio took it. Now one bound, --max-request-bytes (32M by default, as
`rlmx serve`'s), refuses a declared length at once and a chunked body once it passes the limit, with a JSON-RPC
error naming the flag; and the SDK's text/plain refusals (a body not declared as JSON) are JSON-RPC errors too."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, mcp_http, script

from mcp import Client

HELLO = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
ACCEPT = "application/json, text/event-stream"


def rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def raw_post(port: int, head: dict[str, str], pieces: Any, *, chunked: bool = False) -> tuple[bytes, int]:
    """POST /mcp with the headers `head`, sending the byte strings `pieces` yields (as chunks when `chunked`) while
    watching for an answer. Returns (what came back, once the server closed or a few seconds passed; body bytes sent
    before the first byte of it came)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = ["POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Accept: {ACCEPT}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    sent = 0
    sent_before_answer = -1
    sock.setblocking(False)
    try:
        for piece in pieces:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                sent_before_answer = sent
                break
            data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            sock.setblocking(True)
            sock.sendall(data)
            sock.setblocking(False)
            sent += len(piece)
        else:
            if chunked:
                sock.setblocking(True)
                sock.sendall(b"0\r\n\r\n")
        sock.settimeout(10)
        if sent_before_answer < 0:
            sent_before_answer = sent
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _whole(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    return answer, sent_before_answer


def _whole(answer: bytes) -> bool:
    """Whether `answer` holds a refusal whole (its Content-Length's bytes), or a success's head (its stream stays)."""
    head, ended, body = answer.partition(b"\r\n\r\n")
    if ended and head.startswith(b"HTTP/1.1 2"):
        return True
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_and_json(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(body)


def pad(total: int, step: int = 1 << 20) -> Any:
    """A `ping` whose body (`total` bytes long, in pieces of `step`) is one JSON-RPC message."""
    prefix = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"pad":"'
    suffix = b'"}}}'
    yield prefix
    left = total - len(prefix) - len(suffix)
    while left > 0:
        yield b"a" * min(step, left)
        left -= step
    yield suffix


@pytest.mark.slow
def test_a_body_over_the_limit_is_refused_as_it_arrives_and_never_held(tmp_path: Path) -> None:
    with mcp_http(tmp_path, ["FINAL(1)"], "--max-request-bytes", "1M") as server:
        time.sleep(0.3)
        before = rss_mib(server.process.pid)
        # 150 MiB declared: the refusal comes before any of it is kept, while the client is still sending (a socket's
        # buffers hold a few MiB: what was sent before the answer came is more than the server read).
        declared, sent = raw_post(
            server.port, {"Content-Type": "application/json", "Content-Length": str(150 << 20)}, pad(150 << 20)
        )
        # chunked, no length: counted as it arrives, refused once past 1 MiB.
        counted, sent_chunked = raw_post(
            server.port, {"Content-Type": "application/json"}, pad(150 << 20, 1 << 18), chunked=True
        )
        after = rss_mib(server.process.pid)
        # a body within the limit is served, the same connection setup, the same middlewares.
        small, _ = raw_post(
            server.port,
            {"Content-Type": "application/json", "Content-Length": str(len(json.dumps(_init())))},
            [json.dumps(_init()).encode()],
        )
    status, headers, error = status_and_json(declared)
    assert status == 413 and headers["content-type"] == "application/json", declared[:300]
    message = error["error"]["message"]
    assert "1,048,576 bytes (--max-request-bytes)" in message and "157,286,400 bytes declared" in message
    assert "`paths`" in message and "--max-request-bytes SIZE" in message
    assert sent < 16 << 20, f"the answer came only after {sent:,} bytes were sent"
    assert after - before < 40, f"the server's RSS grew from {before} to {after} MiB"
    status, headers, error = status_and_json(counted)
    assert status == 413 and "1,048,576 bytes (--max-request-bytes)" in error["error"]["message"], counted[:300]
    assert sent_chunked < 32 << 20, f"the answer came only after {sent_chunked:,} bytes were sent"
    assert small.startswith(b"HTTP/1.1 200"), small[:300]


def _init() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}


@pytest.mark.slow
async def test_a_text_over_4_mib_works_over_http_and_one_over_the_limit_says_which_flag(tmp_path: Path) -> None:
    text = "log line\n" * 600_000  # 5.4 MB: over the SDK's own 4 MiB, under the default 32M
    with mcp_http(tmp_path, ["FINAL(1)"]) as server:
        url = f"http://127.0.0.1:{server.port}/mcp"
        for mode in ("legacy", "auto"):
            async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
                estimate = await client.call_tool("rlm_estimate", {"query": "How many lines?", "text": text})
            assert not estimate.is_error and estimate.structured_content is not None, mode
            assert estimate.structured_content["chars_read"] == len(text), mode
    with mcp_http(tmp_path, ["FINAL(1)"], "--max-request-bytes", "2M") as server:
        url = f"http://127.0.0.1:{server.port}/mcp"
        async with Client(url, mode="legacy") as client:
            with pytest.raises(Exception) as refused:
                await client.call_tool("rlm_estimate", {"query": "How many lines?", "text": text})
            fits = await client.call_tool("rlm_estimate", {"query": "How many lines?", "text": text[:1_000_000]})
    said = str(refused.value)
    assert "Request body too large" in said and "2,097,152 bytes (--max-request-bytes)" in said, said
    assert not fits.is_error  # the session goes on after the refusal


@pytest.mark.slow
def test_refusals_of_the_sdk_are_json_rpc_errors_that_say_what_to_send(tmp_path: Path) -> None:
    body = json.dumps(_init()).encode()
    with mcp_http(tmp_path, ["FINAL(1)"]) as server:
        plain, _ = raw_post(server.port, {"Content-Type": "text/plain", "Content-Length": str(len(body))}, [body])
        form, _ = raw_post(
            server.port,
            {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))},
            [body],
        )
        untyped, _ = raw_post(server.port, {"Content-Length": str(len(body))}, [body])
        typed, _ = raw_post(
            server.port, {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body))}, [body]
        )
    for answer, given in ((plain, "'text/plain'"), (form, "'application/x-www-form-urlencoded'"), (untyped, "no")):
        status, headers, error = status_and_json(answer)
        assert status == 415 and headers["content-type"] == "application/json", answer[:300]
        assert error["jsonrpc"] == "2.0" and error["id"] is None and error["error"]["code"] == -32600
        message = error["error"]["message"]
        assert f"with {given} Content-Type" in message or f"as Content-Type {given}" in message, message
        assert "`Content-Type: application/json`" in message
    assert typed.startswith(b"HTTP/1.1 200"), typed[:300]


def test_max_request_bytes_is_for_http(tmp_path: Path) -> None:
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, ["FINAL(1)"]))]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    over_stdio = subprocess.run(
        [*command, "--max-request-bytes", "1M"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=base,
    )
    assert over_stdio.returncode == 2 and "--max-request-bytes is for --http" in over_stdio.stderr, over_stdio.stderr
    assert "Traceback" not in over_stdio.stderr
