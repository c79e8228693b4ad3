"""`rlmx mcp`, round 78: a client that is gone stops what it started. Over stdio, a reader of stdout that died while
stdin stays open is noticed while nothing is written (an idle session, a silent cell), not at the next write; over
--http, a tool call whose client dropped its connection before the answer is cancelled, as a
`notifications/cancelled` would cancel it, for clients on the initialize handshake too."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from mcp_harness import MAIN, descendants, mcp_http, repl, script

HELLO = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
SILENT_CELL = repl("import time\nfor _ in range(1200):\n    time.sleep(0.05)\nFINAL('late')")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _run_ends(traces: Path) -> int:
    return sum(
        1
        for trace in traces.rglob("*.jsonl")
        for line in trace.read_text().splitlines()
        if line.strip() and json.loads(line).get("type") == "run_end"
    )


# --- stdio: the reader of stdout is gone ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(select, "poll"), reason="poll() is POSIX")
def test_reader_gone_tells_a_pipe_or_socket_nobody_reads_from_one_still_read() -> None:
    from rlmx.mcp.server import reader_gone

    read, write = os.pipe()
    try:
        assert not reader_gone(write)
        os.close(read)
        assert reader_gone(write)
    finally:
        os.close(write)
    ours, theirs = socket.socketpair()
    with ours:
        assert not reader_gone(ours.fileno())
        theirs.close()
        assert reader_gone(ours.fileno())
    with open(os.devnull, "wb") as null:
        assert not reader_gone(null.fileno())


def _line(stdout: BinaryIO, request_id: int) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(stdout.readline())
        if message.get("id") == request_id:
            return message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the REPL's processes through /proc")
def test_a_client_that_stops_reading_stdout_ends_an_idle_server_and_its_repl_while_stdin_stays_open(
    tmp_path: Path,
) -> None:
    # The session's REPL is alive and idle, nothing is being written: the server waited for its next write (never)
    # and kept its workers, however long the client kept stdin open.
    read, write = os.pipe()
    replies = [repl("x = 1\nFINAL('ok')")]
    with (tmp_path / "stderr.txt").open("wb") as err:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                MAIN,
                "mcp",
                "--scripted",
                str(script(tmp_path, replies)),
                "--trace-dir",
                str(tmp_path),
            ],
            stdin=subprocess.PIPE,
            stdout=write,
            stderr=err,
            cwd=tmp_path,
            env=_env(),
        )
    os.close(write)
    stdout = os.fdopen(read, "rb")
    assert server.stdin is not None

    def send(message: dict[str, Any]) -> None:
        assert server.stdin is not None
        server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.flush()

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO})
        _line(stdout, 1)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        start = {"name": "rlm_session_start", "arguments": {"text": "abc"}}
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": start})
        session_id = json.loads(_line(stdout, 2)["result"]["content"][0]["text"])["session_id"]
        question = {"name": "rlm_session_ask", "arguments": {"session_id": session_id, "query": "q"}}
        send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": question})
        assert not _line(stdout, 3)["result"]["isError"]
        workers = descendants(server.pid)
        assert workers, "the session's REPL should be alive between questions"
        stdout.close()  # the client's reader is gone; its stdin stays open
        assert server.wait(timeout=20) == 0
        assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
        said = (tmp_path / "stderr.txt").read_text()
        assert said.count("the client stopped reading stdout") == 1, said
        assert "Traceback" not in said, said
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdin.close()


# --- HTTP: the client dropped its connection before the answer ----------------------------------------------------


def _post(port: int, body: dict[str, Any], headers: dict[str, str]) -> socket.socket:
    """A POST to /mcp written on a socket of its own, left open for the caller to read or drop."""
    raw = json.dumps(body).encode()
    sent = {
        "Host": f"127.0.0.1:{port}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Content-Length": str(len(raw)),
        **headers,
    }
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = "".join(f"{name}: {value}\r\n" for name, value in sent.items())
    connection.sendall(f"POST /mcp HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode() + raw)
    return connection


def _answer(connection: socket.socket) -> bytes:
    with connection:
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def open_session(port: int) -> dict[str, str]:
    """Open an MCP session over HTTP with the initialize handshake: the headers each later request of it carries."""
    opened = _answer(_post(port, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}, {}))
    session_id = next(
        line.split(b":", 1)[1].strip().decode()
        for line in opened.split(b"\r\n\r\n")[0].split(b"\r\n")
        if line.lower().startswith(b"mcp-session-id:")
    )
    session = {"Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-06-18"}
    _answer(_post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session))
    return session


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the REPL's processes through /proc")
def test_a_tool_call_whose_http_client_went_away_is_cancelled_for_a_handshake_client(tmp_path: Path) -> None:
    # With the initialize handshake the call ran in the MCP session's task, which outlives the POST: the run went on
    # (its REPL alive, its LM calls spent) for an answer no one could receive.
    with mcp_http(tmp_path, [SILENT_CELL, repl("FINAL('second')")]) as http:
        server, port = http.process, http.port
        session = open_session(port)
        call = {"name": "rlm_ask", "arguments": {"query": "q", "text": "abc"}}
        running = _post(port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}, session)
        _wait_for(lambda: descendants(server.pid), 60, "the call's REPL never started")
        running.close()  # the agent died mid-call
        _wait_for(lambda: not descendants(server.pid), 15, "the run went on after its client went away")
        _wait_for(lambda: _run_ends(tmp_path / "t") == 1, 15, "the cancelled run's trace has no run_end")
        # The MCP session itself still serves its client's next call.
        again = _answer(_post(port, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": call}, session))
        assert b"second" in again, again[-500:]
