"""`rlmx mcp --http`, review 81b: request bodies are read as `rlmx serve` reads them.

A body must arrive within --body-timeout (60 s): a stalled upload gets a 408 JSON-RPC error and its connection is
closed (6 uploads that sent 30 MiB each and stalled held 179 MiB for as long as they stayed). The bodies being read
share one budget (8 MiB, one body at a time past it), so stalled uploads cannot pin N x --max-request-bytes. A gzip
or deflate body is decoded (it got a parse error blaming UTF-16), another coding is a 415 naming it. And a server
started with SIGINT ignored (a script's `rlmx mcp --http &`) keeps it ignored, as `rlmx serve` does."""

from __future__ import annotations

import contextlib
import gzip
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from mcp_harness import MAIN, mcp_http, script
from test_mcp_bodies_round81 import _init, raw_post, rss_mib, status_and_json

JSON = {"Content-Type": "application/json"}


def stalled(port: int, declared: int, sent: bytes) -> socket.socket:
    """A POST /mcp that declared `declared` body bytes and sends `sent` (on a thread: it may block), then stalls."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % declared
    )
    sock.sendall(head)

    def send() -> None:
        with contextlib.suppress(OSError):  # the test closed it, or the server refused it and closed
            sock.sendall(sent)

    threading.Thread(target=send, daemon=True).start()
    return sock


def answer_of(sock: socket.socket, timeout: float) -> bytes:
    """What the server sent on `sock` until it closed it (or `timeout` seconds passed)."""
    sock.settimeout(timeout)
    answer = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while piece := sock.recv(65536):
            answer += piece
    return answer


def test_a_stalled_upload_gets_a_408_at_the_body_timeout(tmp_path: Path) -> None:
    with mcp_http(tmp_path, ["FINAL(1)"], "--body-timeout", "1.5") as server:
        sock = stalled(server.port, 10_000, b'{"jsonrpc":"2.0",')
        began = time.monotonic()
        try:
            answer = answer_of(sock, 20)
        finally:
            sock.close()
        took = time.monotonic() - began
    status, headers, error = status_and_json(answer)
    assert status == 408 and headers["connection"] == "close", answer[:300]
    assert error["jsonrpc"] == "2.0" and error["id"] is None
    assert "1.5 s (--body-timeout)" in error["error"]["message"]
    assert 1 <= took < 10


@pytest.mark.slow
def test_stalled_uploads_share_one_budget(tmp_path: Path) -> None:
    # each declares 20 MiB and sends 16 MiB: one may read past the 8 MiB budget, the others wait unread
    with mcp_http(tmp_path, ["FINAL(1)"]) as server:
        time.sleep(0.5)
        before = rss_mib(server.process.pid)
        uploads = [stalled(server.port, 20 << 20, b" " * (16 << 20)) for _ in range(5)]
        try:
            time.sleep(4)
            grew = rss_mib(server.process.pid) - before
            for sock in uploads:  # each still waits: for the rest of its body, or for room to read it
                sock.settimeout(0.05)
                with pytest.raises(TimeoutError):
                    sock.recv(100)
            # a small request still goes through meanwhile
            body = json.dumps(_init()).encode()
            small, _ = raw_post(server.port, {**JSON, "Content-Length": str(len(body))}, [body])
        finally:
            for sock in uploads:
                sock.close()
    assert grew < 45, f"5 stalled uploads of 16 MiB grew the server by {grew} MiB (they held 80 and more)"
    assert small.startswith(b"HTTP/1.1 200"), small[:300]


def test_compressed_bodies_are_decoded_and_other_codings_named(tmp_path: Path) -> None:
    body = json.dumps(_init()).encode()
    with mcp_http(tmp_path, ["FINAL(1)"], "--max-request-bytes", "1M") as server:
        answers = {
            coding: raw_post(
                server.port, {**JSON, "Content-Encoding": coding, "Content-Length": str(len(sent))}, [sent]
            )[0]
            for coding, sent in (
                ("gzip", gzip.compress(body)),
                ("deflate", zlib.compress(body)),
                ("br", body),
            )
        }
        bomb = gzip.compress(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"p":"' + b" " * (4 << 20))
        bombed, _ = raw_post(
            server.port, {**JSON, "Content-Encoding": "gzip", "Content-Length": str(len(bomb))}, [bomb]
        )
        bad, _ = raw_post(server.port, {**JSON, "Content-Encoding": "gzip", "Content-Length": str(len(body))}, [body])
    for coding in ("gzip", "deflate"):
        assert answers[coding].startswith(b"HTTP/1.1 200"), answers[coding][:300]
    status, _, error = status_and_json(answers["br"])
    assert status == 415 and "'br'" in error["error"]["message"] and "gzip" in error["error"]["message"]
    status, _, error = status_and_json(bombed)
    assert status == 413 and "once its gzip Content-Encoding is decoded" in error["error"]["message"], bombed[:300]
    assert "1,048,576 bytes (--max-request-bytes)" in error["error"]["message"]
    status, _, error = status_and_json(bad)
    assert status == 400 and "not valid gzip data" in error["error"]["message"], bad[:300]
    assert "UTF-16" not in error["error"]["message"]


def test_a_sigint_ignored_at_start_stays_ignored(tmp_path: Path) -> None:
    # A script's `rlmx mcp --http &` starts it with SIGINT ignored; uvicorn's handler replaced that, so a Ctrl-C meant
    # for the script's foreground command stopped the server.
    errlog = tmp_path / "stderr.txt"
    command = [sys.executable, "-c", MAIN, "mcp", "--http", "--port", "0", "--scripted", str(script(tmp_path, ["x"]))]
    command += ["--trace-dir", str(tmp_path / "t"), "--allow", str(tmp_path)]

    def ignoring() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with errlog.open("w") as err:
        server = subprocess.Popen(command, stderr=err, stdin=subprocess.DEVNULL, cwd=tmp_path, preexec_fn=ignoring)
    try:
        deadline = time.monotonic() + 120
        while "streamable HTTP at " not in (said := errlog.read_text()):
            assert server.poll() is None and time.monotonic() < deadline, said
            time.sleep(0.05)
        port = int(said.split("streamable HTTP at http://")[1].split(":")[1].split("/")[0])
        server.send_signal(signal.SIGINT)
        time.sleep(1)
        assert server.poll() is None, errlog.read_text()
        body = json.dumps(_init()).encode()
        answer, _ = raw_post(port, {**JSON, "Content-Length": str(len(body))}, [body])
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    said = errlog.read_text()
    assert "SIGINT is ignored" in said and "MCP server stopped (SIGTERM)" in said, said


def test_a_body_waiting_for_room_is_read_once_the_stalled_upload_before_it_times_out(tmp_path: Path) -> None:
    ping = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"pad":"' + b"a" * (1 << 20) + b'"}}}'
    with mcp_http(tmp_path, ["FINAL(1)"], "--body-timeout", "2") as server:
        hog = stalled(server.port, 20 << 20, b" " * (9 << 20))  # past the whole budget, then stalled
        time.sleep(0.5)
        began = time.monotonic()
        waiting = stalled(server.port, len(ping), ping)  # sent whole, but read only once there is room
        try:
            hogged = answer_of(hog, 20)
            answer = answer_of(waiting, 20)
        finally:
            hog.close()
            waiting.close()
        took = time.monotonic() - began
    assert hogged.startswith(b"HTTP/1.1 408"), hogged[:300]
    # read whole and handed on: the SDK's own answer (a ping outside a session), not a 408 or 429
    assert answer.startswith(b"HTTP/1.1 400") and b"Missing session ID" in answer, answer[:300]
    assert 1 < took < 15
