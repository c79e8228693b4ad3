"""`rlmx mcp --http`, round 84 (audit 84 V06, V02, V01, V03): a request whose id is in flight in its MCP session is
refused with -32600 and not run, as over stdio (it took the first call's answer stream, whose client then waited
for ever); a client that hangs up before its body came leaves no traceback in the log; a connection that never
completes its request head is closed; --allow-host lets a same-host reverse proxy's Host in."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from mcp_harness import mcp_http, repl
from test_mcp_gone_round78 import HELLO, _answer, _post, open_session

SLOW_CELL = repl("import time\ntime.sleep(3)\nFINAL('slow answer')")


def _replies(answer: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC replies in an HTTP answer (SSE events or one JSON body)."""
    body = answer.split(b"\r\n\r\n", 1)[1]
    lines = [line[5:] for line in body.splitlines() if line.startswith(b"data:")] or [body]
    found = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and ("result" in message or "error" in message):
            found.append(message)
    return found


def test_a_request_whose_id_is_in_flight_is_refused_and_the_first_still_answered(tmp_path: Path) -> None:
    with mcp_http(tmp_path, [SLOW_CELL]) as http:
        session = open_session(http.port)
        ask = {"name": "rlm_ask", "arguments": {"query": "q", "text": "abc"}}
        first = _post(http.port, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": ask}, session)
        time.sleep(0.7)
        estimate = {"name": "rlm_estimate", "arguments": {"text": "abc"}}
        # "7" is the same id as 7 to the server (the SDK coerces it): refused too
        second = _answer(
            _post(http.port, {"jsonrpc": "2.0", "id": "7", "method": "tools/call", "params": estimate}, session)
        )
        [refused] = _replies(second)
        assert refused["id"] == "7" and refused["error"]["code"] == -32600
        assert "already in flight" in refused["error"]["message"]
        first.settimeout(30)
        [answered] = _replies(_answer(first))  # answered, where it used to wait for ever
        assert answered["id"] == 7 and "slow answer" in json.dumps(answered["result"])
        # settled: the id may be used again
        again = _answer(
            _post(http.port, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": estimate}, session)
        )
        [estimated] = _replies(again)
        assert "result" in estimated


def test_a_client_that_leaves_mid_body_leaves_no_traceback(tmp_path: Path) -> None:
    with mcp_http(tmp_path, [repl("FINAL('x')")]) as http:
        session = open_session(http.port)
        for _ in range(3):
            connection = socket.create_connection(("127.0.0.1", http.port))
            head = "".join(f"{name}: {value}\r\n" for name, value in session.items())
            connection.sendall(
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{http.port}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json, text/event-stream\r\n{head}Content-Length: 141\r\n\r\n"
                '{"jsonrpc": "2.0", '.encode()
            )
            time.sleep(0.2)
            connection.close()
        time.sleep(1)
        said = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in said and "ClientDisconnect" not in said and "Error handling" not in said, said


def test_a_half_sent_head_is_closed_and_an_allowed_host_is_served(tmp_path: Path) -> None:
    flags = ("--header-timeout", "1", "--allow-host", "mcp.example.com")
    with mcp_http(tmp_path, [repl("FINAL('x')")], *flags) as http:
        half = socket.create_connection(("127.0.0.1", http.port))
        half.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        half.settimeout(5)
        assert half.recv(100).startswith(b"HTTP/1.1 408")  # closed after --header-timeout, not held for ever
        half.close()
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}
        proxied = _answer(_post(http.port, hello, {"Host": "mcp.example.com"}))
        other = _answer(_post(http.port, hello, {"Host": "other.example"}))
    assert proxied.startswith(b"HTTP/1.1 200")
    assert other.startswith(b"HTTP/1.1 421") and b"--allow-host NAME" in other
