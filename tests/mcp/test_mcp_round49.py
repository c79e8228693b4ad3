"""`rlmx mcp`, round 49: tool hints that match what each tool does, the browser Origin guard for every bind address,
a GET stream resumed with Last-Event-ID, and prompts/get of an unknown prompt."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_harness import MAIN, connect, payload, repl, script
from mcp_types import ToolAnnotations

HELLO = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}


async def test_each_tools_hints_say_what_calling_it_does(tmp_path: Path) -> None:
    # rlm_session_start was annotated idempotent (and read-only): a client retrying it on a timeout opened a session
    # each time until the limit locked it out. Here each tool is called twice with the same arguments, and what the
    # calls did is held against what the tool's hints promise.
    replies = script(tmp_path, [repl(f"FINAL('{answer}')") for answer in ("first", "second", "s1", "s2")])
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(tmp_path)) as (client, _):
        hints = {tool.name: tool.annotations or ToolAnnotations() for tool in (await client.list_tools()).tools}
        # rlm_estimate calls no model: the scripted replies are all still there for rlm_ask afterwards
        estimates = [payload(await client.call_tool("rlm_estimate", {"query": "q", "text": "abc"})) for _ in "12"]
        asks = [payload(await client.call_tool("rlm_ask", {"query": "q", "text": "abc"}))["answer"] for _ in "12"]
        starts = [payload(await client.call_tool("rlm_session_start", {"text": "notes"})) for _ in "12"]
        session = starts[0]["session_id"]
        question = {"session_id": session, "query": "q"}
        turns = [payload(await client.call_tool("rlm_session_ask", question)) for _ in "12"]
        ends = [await client.call_tool("rlm_session_end", {"session_id": session}) for _ in "12"]

    assert estimates[0] == estimates[1] and asks == ["first", "second"]
    assert [(turn["answer"], turn["turn"]) for turn in turns] == [("s1", 1), ("s2", 2)]
    seen = {
        # tool: (changes the server's state, a repeat has a further effect, calls a model, deletes state)
        "rlm_estimate": (False, False, False, False),
        "rlm_ask": (False, asks[0] != asks[1], True, False),  # each run spends, and answers anew
        "rlm_session_start": (True, starts[0]["session_id"] != starts[1]["session_id"], False, False),
        "rlm_session_ask": (True, turns[0]["turn"] != turns[1]["turn"], True, False),  # a turn added, nothing lost
        # the first end killed the session's REPL (its variables gone); the second found it ended, and no error
        "rlm_session_end": (True, not payload(ends[1]).get("already_ended"), False, not ends[0].is_error),
    }
    assert set(hints) == set(seen)
    for name, (changes, repeat_acts, calls_model, deletes) in seen.items():
        hint = hints[name]
        said = (hint.read_only_hint, hint.idempotent_hint, hint.open_world_hint, hint.destructive_hint)
        assert said == (not changes, not repeat_acts, calls_model, deletes), f"{name}: {hint}"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unknown_prompt_is_invalid_params(tmp_path: Path, mode: str) -> None:
    # The SDK answered prompts/get of an unknown name with error code 0 (handshake protocol; over 2026-07-28 the
    # client saw the connection close); the spec says -32602.
    async with connect(tmp_path, "--scripted", str(script(tmp_path, ["FINAL(1)"])), mode=mode) as (client, _):
        assert (await client.list_prompts()).prompts == []
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("summarize")
    assert refused.value.error.code == -32602
    assert "Unknown prompt: summarize" in refused.value.error.message


@contextmanager
def http_server(tmp_path: Path, *flags: str) -> Iterator[int]:
    """`rlmx mcp --http --port 0 FLAGS` with a scripted model; yields its port (reached on 127.0.0.1)."""
    errlog = tmp_path / f"http-stderr-{len(list(tmp_path.glob('http-stderr-*')))}.txt"
    replies = script(tmp_path, [repl("FINAL('ran')")] * 4)
    command = [sys.executable, "-c", MAIN, "mcp", "--http", "--port", "0", "--scripted", str(replies), *flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    with errlog.open("w") as err:
        server = subprocess.Popen(
            [*command, "--trace-dir", str(tmp_path / "t")], stderr=err, stdin=subprocess.DEVNULL, cwd=tmp_path, env=env
        )
    try:
        deadline = time.monotonic() + 120
        while "streamable HTTP at " not in (said := errlog.read_text()):
            assert server.poll() is None and time.monotonic() < deadline, said
            time.sleep(0.05)
        url = said.split("streamable HTTP at ", 1)[1].split()[0]
        yield int(url.rsplit(":", 1)[1].split("/")[0])
    finally:
        server.terminate()
        server.wait(timeout=30)


def exchange(port: int, method: str, headers: dict[str, str], body: object = None) -> tuple[int, dict[str, str], bytes]:
    """One request's status, headers and body; an open GET stream's body is left unread (it never ends)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers}
        connection.request(method, "/mcp", body=None if body is None else json.dumps(body).encode(), headers=sent)
        response = connection.getresponse()
        found = {k.lower(): v for k, v in response.getheaders()}
        streaming = method == "GET" and response.status == 200
        return response.status, found, b"" if streaming else response.read()
    finally:
        connection.close()


def initialize(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return exchange(port, "POST", headers, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO})


def session_headers(port: int) -> dict[str, str]:
    status, headers, _ = initialize(port, {})
    assert status == 200
    return {"Mcp-Session-Id": headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}


def answers(body: bytes) -> list[Any]:
    return [
        json.loads(line[5:]) for line in body.decode().splitlines() if line.startswith("data:") and line[5:].strip()
    ]


@pytest.mark.slow
def test_a_web_page_origin_is_refused_on_a_wide_bind_and_cli_clients_still_served(tmp_path: Path) -> None:
    # With --host 0.0.0.0 nothing checked Origin: a page the user opened (a rebound name) could run the tools.
    arguments = {"query": "q", "text": "t"}
    ask = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "rlm_ask", "arguments": arguments}}
    with http_server(tmp_path, "--host", "0.0.0.0") as port:
        foreign = initialize(port, {"Origin": "http://evil.example"})
        rebound = initialize(port, {"Origin": f"http://evil.example:{port}", "Host": f"evil.example:{port}"})
        sandboxed = initialize(port, {"Origin": "null"})
        local_page = initialize(port, {"Origin": f"http://localhost:{port}"})
        remote_client = initialize(port, {"Host": f"devbox.internal:{port}"})  # no Origin: not a browser
        good = session_headers(port)
        call = exchange(port, "POST", {**good, "Origin": "http://evil.example"}, ask)
        stream = exchange(port, "GET", {**good, "Origin": "http://evil.example"})
        served = exchange(port, "POST", good, ask)
    for status, _, body in (foreign, rebound, sandboxed, call, stream):
        assert status == 403, (status, body)
        error = json.loads(body)["error"]
        assert error["code"] == -32600 and "is not allowed" in error["message"] and "--allow-origin" in error["message"]
    assert local_page[0] == 200 and remote_client[0] == 200
    assert answers(served[2])[-1]["result"]["structuredContent"]["answer"] == "ran"


@pytest.mark.slow
def test_allow_origin_lets_a_named_page_in_on_loopback_and_bad_values_are_usage_errors(tmp_path: Path) -> None:
    with http_server(
        tmp_path, "--allow-origin", "https://App.example/", "--allow-origin", "http://tools.lan:*"
    ) as port:
        named = initialize(port, {"Origin": "https://app.example"})
        any_port = initialize(port, {"Origin": "http://tools.lan:3000"})
        other = initialize(port, {"Origin": "https://app.example.evil"})
        rebound_host = initialize(port, {"Host": f"evil.example:{port}"})  # the loopback bind still checks Host
    assert named[0] == 200 and any_port[0] == 200, (named, any_port)
    assert other[0] == 403 and rebound_host[0] == 421

    def rlmx_mcp(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, ["FINAL(1)"])), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    for bad in ("app.example", "https://app.example/path", "ftp://app.example", "http://host:port"):
        refused = rlmx_mcp("--http", "--port", "0", "--allow-origin", bad)
        assert refused.returncode == 2 and "is not an origin: give scheme://host[:port]" in refused.stderr, bad
    over_stdio = rlmx_mcp("--allow-origin", "https://app.example")
    assert over_stdio.returncode == 2 and "--allow-origin is for --http" in over_stdio.stderr


@pytest.mark.slow
def test_a_get_stream_resumed_with_last_event_id_gets_a_fresh_stream(tmp_path: Path) -> None:
    # There is no event store: the SDK answered 500 "ASGI callable returned without starting response", and a
    # reconnecting TypeScript-SDK client (VS Code, Claude Code, Cursor) lost its server-to-client stream.
    with http_server(tmp_path) as port:
        good = session_headers(port)
        resumed = exchange(port, "GET", {**good, "Accept": "text/event-stream", "Last-Event-ID": "gone-42"})
        ping = exchange(port, "POST", good, {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert resumed[0] == 200 and resumed[1]["content-type"].startswith("text/event-stream"), resumed
    assert answers(ping[2]) == [{"jsonrpc": "2.0", "id": 2, "result": {}}]
