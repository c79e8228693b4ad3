"""Connection-level refusals speak each server's language (audit 85 serve): a request head that began and did not
arrive whole within --header-timeout is answered `408 Request Timeout` before the connection closes (RFC 9110
15.5.9; it was closed without a word, which clients report as a reset; one that sent nothing is still closed
silently: test_serve_round84); a connection past --max-connections gets an OpenAI error object (a JSON-RPC error
from `rlmx mcp --http`) with Retry-After and x-request-id, where it got plain text; an "any port" origin includes the
scheme's default port, which browsers leave out of Origin."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from rlmx.http_access import Origins
from server.test_serve_command import serve_command, serving
from server.test_serve_round84 import closed_within


def health(connection: socket.socket) -> bytes:
    """Ask /health on a kept-alive `connection` and read its whole reply (head and JSON body)."""
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    connection.settimeout(5)
    reply = b""
    while not reply.endswith(b"}"):
        reply += connection.recv(65536)
    return reply


def test_a_late_head_on_a_kept_alive_connection_is_answered_408(tmp_path: Path) -> None:
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--header-timeout", "1")
    with serving(command) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        kept = socket.create_connection(("127.0.0.1", port))
        assert health(kept).startswith(b"HTTP/1.1 200")
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the second request's head, never finished
        late = closed_within(kept, 5)
        kept.close()
    assert late is not None and late.startswith(b"HTTP/1.1 408 Request Timeout")
    assert b"connection: close" in late.lower()


def refused_past_the_bound(port: int, held: int) -> bytes:
    """What a connection gets once `held` others are open (the server's --max-connections)."""
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(held)]
    try:
        past = socket.create_connection(("127.0.0.1", port))
        past.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        said = closed_within(past, 10)
        past.close()
    finally:
        for connection in idle:
            connection.close()
    assert said is not None
    return said


def test_a_connection_past_the_bound_gets_an_openai_error_with_retry_after(tmp_path: Path) -> None:
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--max-connections", "2")
    with serving(command) as (url, _):
        said = refused_past_the_bound(int(url.rsplit(":", 1)[1]), 2)
    head, _, body = said.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    assert lines[0] == "http/1.1 503 service unavailable"
    assert "content-type: application/json; charset=utf-8" in lines and "retry-after: 1" in lines
    assert any(line.startswith("x-request-id: req_") for line in lines)
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_connections" and "--max-connections 2" in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("allowed", "origin", "allows"),
    [
        ("http://localhost:*", "http://localhost", True),  # a page on port 80: browsers send no port
        ("http://[::1]:*", "http://[::1]", True),
        ("https://app.example:*", "https://app.example", True),
        ("http://localhost:*", "http://localhost:5173", True),
        ("https://app.example", "https://app.example:443", True),  # the default port written out
        ("http://app.example:80", "http://app.example", True),
        ("https://app.example", "https://app.example:8443", False),
        ("http://localhost:*", "http://localhost.evil", False),
        ("http://localhost:*", "https://localhost", False),
    ],
)
def test_any_port_includes_the_default_one(allowed: str, origin: str, allows: bool) -> None:
    assert Origins([allowed]).allows(origin) is allows
