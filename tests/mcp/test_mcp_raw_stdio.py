"""`rlmx mcp` over stdio fed raw JSON-RPC lines, as a client in any language may write them: a lone-surrogate
escape in a tool call's arguments is answered (with U+FFFD in its place), not silently dropped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, repl, script

from rlmx.mcp.server import replace_lone_surrogates


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (rb'{"a":"half \ud83d"}', rb'{"a":"half \ufffd"}'),
        (rb'{"a":"low \udc00 first"}', rb'{"a":"low \ufffd first"}'),
        (rb'{"a":"pair \ud83d\ude00 kept"}', rb'{"a":"pair \ud83d\ude00 kept"}'),
        (rb'{"a":"a backslash then text \\ud83d"}', rb'{"a":"a backslash then text \\ud83d"}'),
        (rb'{"a":"plain \u00e9"}', rb'{"a":"plain \u00e9"}'),
    ],
)
def test_only_lone_surrogate_escapes_change(line: bytes, expected: bytes) -> None:
    assert replace_lone_surrogates(line) == expected
    json.loads(replace_lone_surrogates(line))


def test_a_call_with_a_lone_surrogate_escape_is_answered(tmp_path: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(context[:6])")])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(replies), "--trace-dir", str(tmp_path / "t")]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path, env=env
    )
    assert server.stdin is not None and server.stdout is not None

    def send(message: dict[str, Any] | bytes) -> None:
        assert server.stdin is not None
        server.stdin.write((message if isinstance(message, bytes) else json.dumps(message).encode()) + b"\n")
        server.stdin.flush()

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
        assert json.loads(server.stdout.readline())["id"] == 1
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send(
            b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rlm_ask",'
            b'"arguments":{"query":"what \\ud83d?","text":"half \\ud83d and more"}}}'
        )
        answer = json.loads(server.stdout.readline())  # before the fix: no line ever came
        assert answer["id"] == 2 and not answer["result"].get("isError")
        assert "half \ufffd" in answer["result"]["structuredContent"]["answer"]
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()


async def test_streamable_http_bodies_get_the_same_replacement_read_whole() -> None:
    from rlmx.mcp.server import LoneSurrogatesReplaced

    seen: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])

    parts = [b'{"q": "half \\ud8', b'3d", "ok": "\\\\ud83d"}']  # an escape split across two reads
    messages = [{"type": "http.request", "body": part, "more_body": i == 0} for i, part in enumerate(parts)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    await LoneSurrogatesReplaced(app)({"type": "http", "method": "POST"}, receive, None)
    assert seen == [b'{"q": "half \\ufffd", "ok": "\\\\ud83d"}']
    assert json.loads(seen[0]) == {"q": "half \ufffd", "ok": "\\ud83d"}
