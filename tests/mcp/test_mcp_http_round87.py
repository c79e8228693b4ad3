"""Stopping `rlmx mcp --http` (audit 87 serve): a client that stops reading a big answer no longer makes the server
ignore SIGTERM (a lock held across its blocked write made the shutdown wait for ever: only SIGKILL ended it); a
request whose body is still arriving at SIGTERM gets a 503 with a JSON-RPC -32000 error, as `rlmx serve` answers it
(it got uvicorn's text/plain 500 and the log a traceback); a second Ctrl-C with a call running ends the server with
no traceback on the terminal (the SDK's lifespan task, which uvicorn skips then, logged one)."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from mcp_harness import mcp_http, repl

from server.test_serve_round84 import closed_within
from server.test_serve_round86 import parts

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _session(client: httpx.Client) -> dict[str, str]:
    """The headers of a fresh, initialized MCP session (2025-03-26) through `client`."""
    hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    opened = client.post(
        "/mcp", headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}
    )
    session = {**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-03-26"}
    client.post("/mcp", headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return session


def _ask(request_id: int) -> dict[str, Any]:
    call = {"name": "rlm_ask", "arguments": {"query": "q", "text": "hello"}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call}


def _exited_within(process: Any, seconds: float) -> bool:
    try:
        process.wait(seconds)
    except Exception:  # subprocess.TimeoutExpired
        return False
    return True


def test_sigterm_stops_the_server_while_a_client_reads_nothing_of_its_big_answer(tmp_path: Path) -> None:
    big = [repl("big = 'x' * 10_000_000"), "FINAL_VAR(big)"]
    with mcp_http(tmp_path, big, "--shutdown-timeout", "1") as http:
        with httpx.Client(base_url=f"http://127.0.0.1:{http.port}", timeout=60) as client:
            session = _session(client)
        head = "".join(f"{name}: {value}\r\n" for name, value in session.items())
        body = json.dumps(_ask(5)).encode()
        with socket.socket() as reader:  # a client that reads nothing of its answer: a small window, never read
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.connect(("127.0.0.1", http.port))
            reader.sendall(
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
            )
            reader.sendall(body)
            deadline = time.monotonic() + 60
            while not any('"run_end"' in f.read_text() for f in (tmp_path / "t").glob("*.jsonl")):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            time.sleep(1.0)
            http.process.send_signal(signal.SIGTERM)
            stopped = _exited_within(http.process, 40)  # it waited for ever: only SIGKILL ended it
    assert stopped and http.process.returncode == 0, http.process.returncode


def test_a_body_still_arriving_at_sigterm_gets_a_jsonrpc_503_and_no_traceback(tmp_path: Path) -> None:
    with mcp_http(tmp_path, ["FINAL('x')"], "--shutdown-timeout", "1") as http:
        with httpx.Client(base_url=f"http://127.0.0.1:{http.port}", timeout=60) as client:
            session = _session(client)
        head = "".join(f"{name}: {value}\r\n" for name, value in session.items())
        with socket.create_connection(("127.0.0.1", http.port)) as upload:
            upload.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: 100\r\n\r\n".encode())
            upload.sendall(b'{"jsonrpc":')  # and nothing more: the body is still arriving
            time.sleep(1.0)
            http.process.send_signal(signal.SIGTERM)
            said = closed_within(upload, 30)
        assert _exited_within(http.process, 30) and http.process.returncode == 0
        log = (tmp_path / "stderr.txt").read_text()
    assert said is not None
    status, headers, body = parts(said)
    assert status == "HTTP/1.1 503 Service Unavailable", said[:300]  # was a text/plain 500
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert error["jsonrpc"] == "2.0" and error["id"] is None and error["error"]["code"] == -32000
    assert "shutting down" in error["error"]["message"]
    assert "Traceback" not in log, log


def test_a_second_ctrl_c_with_a_call_running_prints_no_traceback(tmp_path: Path) -> None:
    slow = [repl("import time\ntime.sleep(20)\nprint('x')"), "FINAL(done)"]
    with mcp_http(tmp_path, slow, "--shutdown-timeout", "30") as http:
        base = f"http://127.0.0.1:{http.port}"
        got: dict[str, str] = {}

        def calling() -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                got["call"] = client.post("/mcp", headers=_session(client), json=_ask(3)).text

        caller = threading.Thread(target=calling)
        caller.start()
        time.sleep(4.0)  # the call's 20 s cell runs
        http.process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        http.process.send_signal(signal.SIGINT)
        assert _exited_within(http.process, 30)
        caller.join(30)
        log = (tmp_path / "stderr.txt").read_text()
    assert http.process.returncode == 130
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "MCP server stopped (Ctrl-C)" in log, log
    data = [json.loads(line[5:]) for line in got["call"].splitlines() if line.startswith("data:")]
    assert data and data[-1]["id"] == 3 and data[-1]["error"]["code"] == -32000, got["call"]
