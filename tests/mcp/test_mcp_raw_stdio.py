"""`rlmx mcp` over stdio fed raw JSON-RPC lines, as a client in any language may write them: a lone-surrogate
escape in a tool call's arguments is answered (with U+FFFD in its place), not silently dropped; a line that is no
message gets its JSON-RPC error; a very long line holds up no other message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, RawClient, alive, descendants, repl, script

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


def _server_env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_", "XDG_"))}
    return {**env, **changes}


def _line(server: subprocess.Popen[bytes], request_id: int) -> dict[str, Any]:
    """The reply to `request_id`, read from the server's stdout on this thread (other messages dropped)."""
    assert server.stdout is not None
    while True:
        message = json.loads(server.stdout.readline())
        if message.get("id") == request_id:
            return dict(message)


def _send(server: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert server.stdin is not None
    server.stdin.write(json.dumps(message).encode() + b"\n")
    server.stdin.flush()


def test_a_client_that_stops_reading_stdout_ends_the_server_and_its_repls_quietly(tmp_path: Path) -> None:
    # A client whose reader died (stdout closed, stdin left open): the server kept its session's REPL alive until
    # stdin closed, then exited 1 with a BrokenPipeError traceback on stderr, the client's log.
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, [repl("FINAL('one')")]))]
    server = subprocess.Popen(
        [*command, "--trace-dir", str(tmp_path / "t")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_server_env(),
    )
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    try:
        hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        _send(server, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        _line(server, 0)
        _send(server, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        start = {"name": "rlm_session_start", "arguments": {"text": "abc"}}
        _send(server, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": start})
        session = _line(server, 1)["result"]["structuredContent"]["session_id"]
        question = {"name": "rlm_session_ask", "arguments": {"session_id": session, "query": "q"}}
        _send(server, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": question})
        assert _line(server, 2)["result"]["structuredContent"]["answer"] == "one"
        repls = descendants(server.pid)
        assert repls, "the session's REPL runs"
        server.stdout.close()
        _send(server, {"jsonrpc": "2.0", "id": 3, "method": "ping"})  # its reply breaks the pipe; stdin stays open
        code = server.wait(timeout=15)
        stderr = server.stderr.read().decode()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdin.close()
        server.stderr.close()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "the client stopped reading stdout" in stderr
    assert not [pid for pid in repls if alive(pid)], "the session's REPL outlived the server"


MODERN = "2026-07-28"


def _modern_call(request_id: int, arguments: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A tools/call of the single-exchange protocol, from a client that offers roots."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"roots": {}},
    }
    params = {"name": "rlm_ask", "arguments": arguments, "_meta": meta, **more}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def test_a_2026_07_28_client_is_asked_for_its_roots_the_protocols_way(tmp_path: Path) -> None:
    # That protocol has no server-to-client requests: every paths call of a client that offered roots failed with
    # "roots/list failed: NoBackChannelError: ...". The call now returns the roots/list request as an input
    # request, and the client's retry with its answer is read against those roots.
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("the code is 7421", encoding="utf-8")
    with raw_server(tmp_path, [repl("FINAL(context[-4:])")]) as client:
        client.send(_modern_call(1, {"query": "q", "paths": ["notes.txt"]}))
        first = client.until(1)[-1]["result"]
        assert first["resultType"] == "input_required", first
        [(key, request)] = first["inputRequests"].items()
        assert request["method"] == "roots/list"
        answer = {key: {"roots": [{"uri": project.as_uri(), "name": "p"}]}}
        client.send(_modern_call(2, {"query": "q", "paths": ["notes.txt"]}, inputResponses=answer))
        answered = client.until(2)[-1]
    assert answered["result"]["structuredContent"]["answer"] == "7421", answered


def test_a_root_that_is_one_file_grants_that_file(tmp_path: Path) -> None:
    # An editor opened on a single file lists it as the root: every path was refused with "the client granted no
    # folder that exists on this machine", though the file exists.
    (tmp_path / "README.md").write_text("# Demo 7391", encoding="utf-8")
    with raw_server(tmp_path, [repl("FINAL(context[-4:])")]) as client:
        hello = {
            "protocolVersion": "2025-03-26",
            "capabilities": {"roots": {}},
            "clientInfo": {"name": "c", "version": "1"},
        }
        client.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        client.until(0)
        client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        client.send(ask(1, {"query": "q", "paths": ["README.md"]}))
        asked = client.received.get(timeout=60)
        assert asked["method"] == "roots/list"
        listed = {"roots": [{"uri": (tmp_path / "README.md").as_uri()}]}
        client.send({"jsonrpc": "2.0", "id": asked["id"], "result": listed})
        answered = client.until(1)[-1]
    assert answered["result"]["structuredContent"]["answer"] == "7391", answered


def test_a_trace_folder_that_cannot_be_made_is_known_at_start_up(tmp_path: Path) -> None:
    # HOME unusable (a service account, a container's non-root user): the server started, then every call failed
    # with "cannot write traces ...; pass another trace_dir", an argument no tool takes. The default folder now
    # costs only the traces, said at start-up; a --trace-dir that cannot be made refuses to start.
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    home = tmp_path / "a_file" / "home"
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, [repl("FINAL('served')")]))]
    refused = subprocess.run(
        [*command, "--trace-dir", str(home / "traces")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_server_env(HOME=str(home)),
        timeout=60,
    )
    assert refused.returncode == 2 and f"--trace-dir {home / 'traces'}: cannot write traces there" in refused.stderr
    server = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_server_env(HOME=str(home)),
    )
    try:
        client = RawClient(server)
        client.initialize()
        client.send(ask(1, {"query": "q", "text": "x"}))
        answered = client.until(1)[-1]
    finally:
        assert server.stdin is not None and server.stderr is not None
        server.stdin.close()
        server.wait(timeout=30)
        client.collecting.join(timeout=30)
        assert server.stdout is not None
        server.stdout.close()
        stderr = server.stderr.read().decode()
        server.stderr.close()
    assert answered["result"]["structuredContent"]["answer"] == "served", answered
    assert answered["result"]["structuredContent"]["trace_path"] is None
    assert "cannot create the trace folder" in stderr and "--trace-dir DIR" in stderr


def test_the_cli_is_told_its_flag_when_traces_cannot_be_written(tmp_path: Path) -> None:
    # `rlmx ask` said "pass another trace_dir", the Python parameter's name, not its --trace-dir.
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    command = [sys.executable, "-c", MAIN, "ask", "q", "--context", str(tmp_path / "a_file")]
    done = subprocess.run(
        [
            *command,
            "--scripted",
            str(script(tmp_path, [repl("FINAL(1)")])),
            "--trace-dir",
            str(tmp_path / "a_file" / "t"),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_server_env(),
        timeout=60,
    )
    assert done.returncode == 2 and f"--trace-dir {tmp_path / 'a_file' / 't'}: cannot write" in done.stderr, done.stderr


def test_sigterm_as_soon_as_the_http_port_accepts_ends_the_server_cleanly(tmp_path: Path) -> None:
    # The port listened before the signal handlers were installed: a SIGTERM right after a health check connected
    # killed the process (-15), no clean shutdown, where `rlmx serve` exits 0.
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", MAIN, "mcp", "--http", "--port", str(port), "--allow", str(tmp_path)]
    server = subprocess.Popen(
        [*command, "--scripted", str(script(tmp_path, [repl("FINAL(1)")])), "--trace-dir", str(tmp_path / "t")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_server_env(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.005)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    assert server.stderr is not None
    assert "MCP server stopped (SIGTERM)" in server.stderr.read().decode()
    server.stderr.close()


def test_bad_arguments_nested_in_budget_or_paths_are_told_in_one_readable_line(tmp_path: Path) -> None:
    # Pydantic's own dump went out for these ("[type=extra_forbidden, ...]" and an errors.pydantic.dev URL), and a
    # misspelt limit inside budget got no "did you mean" while a misspelt top-level argument did.
    calls = [
        {"query": "q", "text": "x", "budget": {"max_iteratons": 2}},
        {"query": "q", "text": "x", "budget": {"max_seconds": -1}},
        {"query": "q", "paths": "notes.txt"},
        {"query": "q", "text": "x", "budget": {"max_tokens": "lots"}},
    ]
    with raw_server(tmp_path, [repl("FINAL(1)")]) as client:
        client.initialize()
        replies = []
        for request_id, arguments in enumerate(calls, start=1):
            client.send(ask(request_id, arguments))
            replies.append(client.until(request_id)[-1]["result"])
    texts = [reply["content"][0]["text"] for reply in replies]
    assert all(reply["isError"] for reply in replies)
    for text in texts:
        assert "[type=" not in text and "pydantic" not in text and "\n" not in text, text
    assert "budget.max_iteratons (did you mean max_iterations?)" in texts[0]
    assert "budget.max_seconds: Input should be greater than 0" in texts[1]
    assert 'paths: expected a list, as ["notes.txt"]' in texts[2]
    assert "budget.max_tokens:" in texts[3] and '"lots"' in texts[3]


def test_a_2026_07_28_client_answering_roots_with_plain_paths_is_read_or_told_the_file_uri_form(
    tmp_path: Path,
) -> None:
    # Cursor lists roots as plain paths. In the single-exchange answer the SDK refused them before rlmx saw them,
    # with a -32602 about CreateMessageResult's missing fields.
    project = tmp_path / "my project é"
    project.mkdir()
    (project / "notes.txt").write_text("the code is 7421", encoding="utf-8")
    with raw_server(tmp_path, [repl("FINAL(context[-4:])")] * 2) as client:
        client.send(_modern_call(1, {"query": "q", "paths": ["notes.txt"]}))
        [key] = client.until(1)[-1]["result"]["inputRequests"]
        for request_id, uri in ((2, str(project)), (3, f"{project}/")):
            answer = {key: {"roots": [{"uri": uri, "name": "p"}]}}
            client.send(_modern_call(request_id, {"query": "q", "paths": ["notes.txt"]}, inputResponses=answer))
            answered = client.until(request_id)[-1]
            assert answered["result"]["structuredContent"]["answer"] == "7421", answered
        answer = {key: {"roots": [{"uri": "my project", "name": "p"}]}}
        client.send(_modern_call(4, {"query": "q", "paths": ["notes.txt"]}, inputResponses=answer))
        refused = client.until(4)[-1]["error"]["message"]
    assert "file:///abs/path" in refused and "'my project'" in refused and "CreateMessageResult" not in refused


def test_a_request_whose_id_is_no_string_or_integer_is_told_so_not_dropped(tmp_path: Path) -> None:
    # The SDK read each as a notification (it dropped the id) and answered nothing: the client waited for good.
    unusable = [None, 2.5, 3.0, 1e3, False, {"n": 1}, ["x"]]
    with raw_server(tmp_path, [repl("FINAL(1)")]) as client:
        client.initialize()
        for request_id in unusable:
            client.send({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
        client.send({"jsonrpc": "2.0", "method": "ping"})  # no id at all: a notification, nothing to answer
        client.send(b'{"jsonrpc": "2.0", "id" :  null, "method": "tools/list", "params": {}}')
        client.send({"jsonrpc": "2.0", "id": -7, "method": "tools/list", "params": {"_meta": {"id": None}}})
        client.send({"jsonrpc": "2.0", "id": 99, "method": "ping"})
        seen = client.until(99)
    errors = [m for m in seen if "error" in m]
    assert [(m["id"], m["error"]["code"]) for m in errors] == [(None, -32600)] * (len(unusable) + 1)
    told = [m["error"]["message"] for m in errors]
    assert told[0].startswith('Invalid Request: the "id" null is not a string or an integer')
    assert '"id" 2.5 ' in told[1] and '"id" false ' in told[4] and '"id" {"n": 1} ' in told[5]
    assert [m["id"] for m in seen if "result" in m] == [-7, 99]  # a nested "id": null is no request's id
