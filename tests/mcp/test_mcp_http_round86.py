"""`rlmx mcp --http`'s connection-level refusals (audit 86 serve): each has its own `x-request-id`, and a request
head that began and did not arrive within --header-timeout gets a 408 whose body is a JSON-RPC error with no id (it
was plain text), as every refusal on this transport is one."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_harness import mcp_http, repl

from server.test_serve_round86 import late_head, refused_ids


def test_mcp_http_refusals_are_jsonrpc_errors_each_with_its_own_request_id(tmp_path: Path) -> None:
    flags = ("--max-connections", "1", "--header-timeout", "1")
    with mcp_http(tmp_path, [repl("FINAL('x')")], *flags) as http:
        ids = refused_ids(http.port, 1, 3)
        status, headers, body = late_head(http.port, b"/mcp")
    assert len(set(ids)) == 3, ids
    assert status == "HTTP/1.1 408 Request Timeout" and headers["x-request-id"].startswith("req_")
    answer = json.loads(body)
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None and answer["error"]["code"] == -32600
    assert "--header-timeout" in answer["error"]["message"]


def _post(url: str, headers: dict[str, str], message: dict[str, object]) -> tuple[int, dict[str, str], str]:
    """POST one JSON-RPC message: the status, headers (lower-case names) and body of the answer."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, json.dumps(message).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, {k.lower(): v for k, v in refused.headers.items()}, refused.read().decode()


def _session(url: str) -> dict[str, str]:
    """The headers of a fresh MCP session (2025-03-26) on `url`, initialized."""
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    _, opened, _ = _post(url, headers, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
    session = {**headers, "mcp-session-id": opened["mcp-session-id"], "mcp-protocol-version": "2025-03-26"}
    _post(url, session, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return session


def _call_during_sigterm(tmp_path: Path, grace: str) -> tuple[str, str, float]:
    """SIGTERM 1 s into a 3 s tools/call on `rlmx mcp --http --shutdown-timeout GRACE`: the call's answer (its SSE
    body), what a request sent during the shutdown got, and the seconds to exit."""
    import signal
    import threading
    import time

    slow = [repl("import time\ntime.sleep(3)\nprint('x')"), "FINAL(done)"]
    with mcp_http(tmp_path, slow, "--shutdown-timeout", grace) as http:
        url = f"http://127.0.0.1:{http.port}/mcp"
        session = _session(url)
        got: dict[str, str] = {}
        call = {"name": "rlm_ask", "arguments": {"query": "q", "text": "hello"}}

        def calling() -> None:
            message = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": call}
            got["call"] = _post(url, session, message)[2]

        caller = threading.Thread(target=calling)
        caller.start()
        time.sleep(1.0)
        began = time.monotonic()
        http.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        try:  # a new request meanwhile: refused (the listening socket is closed, or a 503)
            status, _, text = _post(url, session, {"jsonrpc": "2.0", "id": 10, "method": "tools/list"})
            got["late"] = f"{status} {text}"
        except OSError as error:
            got["late"] = f"refused: {error!r}"
        caller.join(60)
        http.process.wait(30)
        took = time.monotonic() - began
        assert http.process.returncode == 0
    return got["call"], got["late"], took


def test_sigterm_lets_a_running_call_finish_within_the_shutdown_timeout(tmp_path: Path) -> None:
    answer, late, _ = _call_during_sigterm(tmp_path, "10")
    assert '"id":9,"result"' in answer.replace(" ", "") and "done" in answer
    assert late.startswith("refused") or (late.startswith("503") and "shutting down" in late), late


def test_a_call_still_running_after_the_shutdown_timeout_gets_a_shutting_down_error(tmp_path: Path) -> None:
    answer, _, took = _call_during_sigterm(tmp_path, "0.5")
    data = [json.loads(line[5:]) for line in answer.splitlines() if line.startswith("data:")]
    assert data and data[-1]["id"] == 9 and data[-1]["error"]["code"] == -32000, answer
    assert "shutting down" in data[-1]["error"]["message"]
    assert took < 10
