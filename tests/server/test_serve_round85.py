"""A request head that began and did not arrive whole within --header-timeout is answered `408 Request Timeout`
before the connection closes (RFC 9110 15.5.9): the connection was closed without a word, which clients report as a
reset rather than a timeout (one that sent nothing is still closed silently: test_serve_round84)."""

from __future__ import annotations

import socket
from pathlib import Path

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
