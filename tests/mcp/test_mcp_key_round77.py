"""`rlmx mcp --http`, round 77: a bearer key, as `rlmx serve` has one. The default sandbox tier reaches 127.0.0.1, so
without a key a cell of any question (a prompt injection) could call the server's own tools and read the granted
folders; with --server-api-key-env (or RLMX_SERVER_API_KEY) every request needs `Authorization: Bearer KEY`."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, mcp_http, repl, script

HELLO = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
KEY = "mcp-key-77"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post(port: int, body: object, headers: dict[str, str]) -> tuple[int, dict[str, str], list[Any]]:
    """A POST to /mcp: its status, headers and JSON-RPC messages (an SSE body's events, or a JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers}
        connection.request("POST", "/mcp", body=json.dumps(body).encode(), headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    events = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return response.status, found, events or ([json.loads(text)] if text.strip() else [])


def ask(port: int, arguments: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """rlm_ask over a fresh MCP session; its tool result."""
    status, found, _ = post(port, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}, headers)
    assert status == 200, status
    session = {**headers, "Mcp-Session-Id": found["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
    post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    call = {"name": "rlm_ask", "arguments": arguments}
    _, _, replies = post(port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}, session)
    (answer,) = [reply for reply in replies if reply.get("id") == 2]
    result: dict[str, Any] = answer["result"]
    return result


def knock(url: str) -> str:
    """A cell that calls the server it runs under, with no key, and answers with the HTTP status it got."""
    hello = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO})
    return repl(
        "import urllib.request, urllib.error\n"
        f"request = urllib.request.Request({url!r}, data={hello!r}.encode(), headers={{'Content-Type': "
        "'application/json', 'Accept': 'application/json, text/event-stream'})\n"
        "try:\n"
        "    status = urllib.request.urlopen(request, timeout=20).status\n"
        "except urllib.error.HTTPError as refused:\n"
        "    status = refused.code\n"
        "FINAL(str(status))"
    )


@pytest.mark.slow
def test_a_sandboxed_cell_cannot_call_the_servers_own_tools_once_it_has_a_key(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    keyed = {"Authorization": f"Bearer {KEY}"}
    flags = ("--port", str(port), "--server-api-key-env", "MCP_KEY")
    with mcp_http(tmp_path, [knock(url)], *flags, env={"MCP_KEY": KEY}) as server:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}
        bare, wrong = post(port, hello, {}), post(port, hello, {"Authorization": "Bearer nope"})
        lowercase = post(port, hello, {"Authorization": f"bearer {KEY}"})
        answer = ask(port, {"query": "q", "text": "a harmless note"}, keyed)
    for status, headers, replies in (bare, wrong):
        assert status == 401 and headers["www-authenticate"] == "Bearer", (status, headers)
        (error,) = replies
        assert error["error"]["code"] == -32600 and "Authorization: Bearer <key>" in error["error"]["message"]
    assert "no API key was sent" in bare[2][0]["error"]["message"]
    assert "not this server's" in wrong[2][0]["error"]["message"]
    assert lowercase[0] == 200
    assert answer["structuredContent"]["answer"] == "401", answer  # the cell was refused
    assert "no authentication" not in server.said


@pytest.mark.slow
def test_without_a_key_it_warns_in_one_line_and_reads_rlmx_server_api_key(tmp_path: Path) -> None:
    with mcp_http(tmp_path, [repl("FINAL('ran')")]) as server:
        pass
    (warning,) = [line for line in server.said.splitlines() if "warning" in line]
    assert "rlmx's own sandboxes included" in warning and "--server-api-key-env VAR" in warning
    port = free_port()
    with mcp_http(tmp_path, [repl("FINAL('ran')")], "--port", str(port), env={"RLMX_SERVER_API_KEY": KEY}) as server:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}
        assert post(port, hello, {})[0] == 401
        assert post(port, hello, {"Authorization": f"Bearer {KEY}"})[0] == 200
        rebound = post(port, hello, {"Authorization": f"Bearer {KEY}", "Host": f"evil.example:{port}"})
    assert "warning" not in server.said
    assert rebound[0] == 421 and "DNS rebinding" in rebound[2][0]["error"]["message"]  # a JSON-RPC error now


def test_the_key_flags_are_for_http_and_an_unset_variable_is_a_usage_error(tmp_path: Path) -> None:
    def rlmx_mcp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, ["FINAL(1)"])), *args]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
        return subprocess.run(
            command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env={**base, **(env or {})}
        )

    over_stdio = rlmx_mcp("--server-api-key-env", "MCP_KEY", env={"MCP_KEY": KEY})
    assert over_stdio.returncode == 2 and "are for --http" in over_stdio.stderr, over_stdio.stderr
    unset = rlmx_mcp("--http", "--port", "0", "--server-api-key-env", "NO_SUCH_KEY_77")
    assert unset.returncode == 2 and "NO_SUCH_KEY_77: that env var is unset or empty" in unset.stderr, unset.stderr
    assert "Traceback" not in over_stdio.stderr + unset.stderr
