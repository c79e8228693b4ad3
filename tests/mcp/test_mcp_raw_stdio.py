"""`rlmx mcp` over stdio fed raw JSON-RPC lines, as a client in any language may write them: a lone-surrogate
escape in a tool call's arguments is answered (with U+FFFD in its place), not silently dropped; a line that is no
message gets its JSON-RPC error; a very long line holds up no other message."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, repl, script

from rlmx.mcp.server import lines_of, replace_lone_surrogates


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


class RawClient:
    """Writes raw lines to an `rlmx mcp` server's stdin; a thread collects the JSON lines of its stdout."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.server = server
        self.received: queue.Queue[Any] = queue.Queue()
        self.collecting = threading.Thread(target=self._collect, daemon=True)
        self.collecting.start()

    def _collect(self) -> None:
        assert self.server.stdout is not None
        for line in self.server.stdout:
            self.received.put(json.loads(line))

    def send(self, message: Any) -> None:
        assert self.server.stdin is not None
        self.server.stdin.write((message if isinstance(message, bytes) else json.dumps(message).encode()) + b"\n")
        self.server.stdin.flush()

    def until(self, request_id: int, timeout: float = 60) -> list[Any]:
        """Every message received up to (and with) the reply to `request_id`."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while not (seen and isinstance(seen[-1], dict) and seen[-1].get("id") == request_id):
            seen.append(self.received.get(timeout=max(deadline - time.monotonic(), 0.01)))
        return seen

    def initialize(self) -> None:
        hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        self.until(0)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


@contextmanager
def raw_server(tmp_path: Path, replies: list[str]) -> Iterator[RawClient]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, replies))]
    server = subprocess.Popen(
        [*command, "--trace-dir", str(tmp_path / "t")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=env,
    )
    client = RawClient(server)
    try:
        yield client
    finally:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.close()
        server.wait(timeout=30)
        client.collecting.join(timeout=30)
        server.stdout.close()


def ask(request_id: int, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": "rlm_ask", "arguments": arguments}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def test_a_line_that_is_no_message_gets_its_json_rpc_error_and_the_server_serves_on(tmp_path: Path) -> None:
    # The SDK's stdio transport dropped such a line without a word: a client whose serializer broke one message
    # waited for its reply for good. Over HTTP the SDK answers them.
    with raw_server(tmp_path, [repl("FINAL('served')")]) as client:
        client.initialize()
        client.send(b"this is not JSON")
        client.send(b'{"jsonrpc": "2.0", "id": 3, "method": "tools/li')  # cut short
        client.send(b"  ")  # a blank line: nothing to answer
        batch = [
            {"jsonrpc": "2.0", "id": "b1", "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}},  # a notification: no reply
            {"jsonrpc": "2.0", "id": "b2", "method": "tools/list"},
        ]
        client.send(batch)
        client.send({"id": 4, "method": "ping"})  # no "jsonrpc": "2.0"
        client.send(ask(5, {"query": "q", "text": "x"}))
        seen = client.until(5)
    errors = [(m["id"], m["error"]["code"], m["error"]["message"]) for m in seen if "error" in m]
    assert [error[:2] for error in errors] == [
        (None, -32700),
        (None, -32700),
        ("b1", -32600),
        ("b2", -32600),
        (4, -32600),
    ]
    assert errors[0][2].startswith("Parse error: Invalid JSON")
    assert "batches" in errors[2][2] and "not a JSON-RPC 2.0 message" in errors[4][2]
    assert seen[-1]["result"]["structuredContent"]["answer"] == "served"


def test_a_request_with_bad_params_is_told_what_is_wrong(tmp_path: Path) -> None:
    # The SDK answered both with -32602 "Invalid request parameters" and nothing more.
    with raw_server(tmp_path, [repl("FINAL(1)")]) as client:
        client.send(ask(1, {"query": "q", "text": "x"}))
        early = client.until(1)[-1]["error"]
        client.initialize()
        client.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "rlm_ask", "arguments": []}})
        listed = client.until(2)[-1]["error"]
    assert early["code"] == -32602 and "tools/call came before initialize; send initialize first" in early["message"]
    assert listed["code"] == -32602 and "params.arguments: Input should be a valid dictionary" in listed["message"]


def test_a_long_argument_holds_up_no_message_behind_it(tmp_path: Path) -> None:
    # stdin was copied one byte per system call: a 12 MB `text` took 10-19 s to arrive, and a ping behind it as long.
    text = "0123456789abcdef" * 1_000_000 + "END"
    with raw_server(tmp_path, [repl("FINAL(f'{len(context)} {context[-3:]}')")]) as client:
        client.initialize()
        sent = time.monotonic()  # writing the line returns only once the server has read nearly all of it
        client.send(ask(1, {"query": "q", "text": text}))
        client.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
        seen = client.until(2)
        ping_took = time.monotonic() - sent
        answer = seen[-2] if len(seen) > 1 and seen[-2].get("id") == 1 else client.until(1)[-1]
    assert ping_took < 5, f"the ping waited {ping_took:.1f} s behind the long line"
    assert answer["result"]["structuredContent"]["answer"] == f"{len(text)} END"


def test_lines_come_out_whole_however_the_reads_cut_them() -> None:
    # A UTF-8 sequence (é, 😀) and a lone-surrogate escape, each split between two reads at some block size.
    data = '{"a": "café \\ud83d"}\n{"b": "😀 \\\\ud83d"}\n\n{"c": 1}'.encode()
    expected = [b'{"a": "caf\xc3\xa9 \\ufffd"}\n', b'{"b": "\xf0\x9f\x98\x80 \\\\ud83d"}\n', b"\n", b'{"c": 1}']
    for size in range(1, len(data) + 1):
        blocks = iter([data[i : i + size] for i in range(0, len(data), size)])
        lines = [replace_lone_surrogates(line) for line in lines_of(partial(next, blocks, b""))]
        assert lines == expected, size


def test_a_bom_before_a_message_and_roots_listed_as_plain_paths_are_read(tmp_path: Path) -> None:
    # Some Windows tools write a UTF-8 BOM before the first message: initialize got a parse error with id null and
    # the handshake hung. Cursor lists its roots as plain paths, not file:// URIs: every path was refused, with a
    # validation dump cut mid-word.
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("the code is 7421", encoding="utf-8")
    with raw_server(tmp_path, [repl("FINAL(context[-4:])")]) as client:
        hello = {
            "protocolVersion": "2025-03-26",
            "capabilities": {"roots": {}},
            "clientInfo": {"name": "c", "version": "1"},
        }
        client.send(
            b"\xef\xbb\xbf" + json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}).encode()
        )
        assert "result" in client.until(0)[-1]
        client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        client.send(ask(1, {"query": "q", "paths": ["notes.txt"]}))
        asked = client.received.get(timeout=60)
        assert asked["method"] == "roots/list"
        client.send({"jsonrpc": "2.0", "id": asked["id"], "result": {"roots": [{"uri": str(project), "name": "p"}]}})
        answered = client.until(1)[-1]
    assert answered["result"]["structuredContent"]["answer"] == "7421", answered
