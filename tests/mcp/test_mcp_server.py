"""`rlmx mcp` driven by the `mcp` SDK's own client over stdio, as an agent would: a real server subprocess with a
scripted model (and the embedded one), real sandbox workers, real files."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the [mcp] extra")

from mcp_harness import MAIN, alive, connect, descendants, payload, repl, script, server_pid, text_of
from mcp_types import ListRootsResult, Root

from mcp import Client
from scripting import missing_embedded_model, worker_pidfile

TOOLS = {"rlm_ask", "rlm_estimate", "rlm_session_start", "rlm_session_ask", "rlm_session_end"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A granted folder with a few text files, a binary one and a link that leads outside it."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 'launch code 7391-KESTREL'\n", encoding="utf-8")
    (root / "README.md").write_text("# Demo\nThe app prints a launch code.\n", encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\x00\x00binary")
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2", encoding="utf-8")
    (root / "src" / "leak.txt").symlink_to(secret)
    return root


async def test_lists_the_tools_with_schemas_an_agent_can_fill(tmp_path: Path, project: Path) -> None:
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(script(tmp_path, ["FINAL(1)"]))) as (
        client,
        _,
    ):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    ask = tools["rlm_ask"]
    assert ask.input_schema["required"] == ["query"]
    properties = ask.input_schema["properties"]
    assert {"query", "paths", "text", "budget"} <= set(properties)
    assert "granted" in str(properties["paths"])
    assert "max_usd" in str(properties["budget"]) or "max_usd" in str(ask.input_schema.get("$defs"))
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40
    assert "forecast" in (tools["rlm_estimate"].description or "")
    assert f"Readable folders: {project}. Models: scripted writes the code." in (ask.description or "")


async def test_rlm_ask_answers_over_a_folder_with_progress(tmp_path: Path, project: Path) -> None:
    code = "files = sorted(context)\ncode = context['src/app.py'].split(\"'\")[1]\nFINAL(f'{code} from {files}')"
    replies = script(tmp_path, [repl(code)])
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies)) as (client, _):
        result = await client.call_tool(
            "rlm_ask",
            {"query": "What is the launch code?", "paths": [str(project)]},
            progress_callback=on_progress,
        )
    reply = payload(result)
    assert reply["answer"] == "launch code 7391-KESTREL from ['README.md', 'src/app.py']"
    assert reply["status"] == "finished"
    assert reply["usage"]["lm_calls"] == 1
    assert reply["usage"]["cost_usd"] == 0
    assert reply["files_read"] == 2
    skipped = " ".join(reply["files_skipped"])
    assert "logo.png (binary)" in skipped
    assert "src/leak.txt (links outside the granted folders)" in skipped
    assert Path(reply["trace_path"]).is_file() and reply["trace_id"] in reply["trace_path"]
    assert any(line.startswith("[") and "start" in line for line in progress), progress
    assert progress[-1].startswith("[") and "finished" in progress[-1], progress  # the run's last line too


async def test_paths_outside_the_roots_are_refused_before_any_spending(tmp_path: Path, project: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(context)")])
    outside = tmp_path / "secret.txt"
    link = project / "up"
    link.symlink_to(tmp_path)
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies)) as (client, _):
        direct = await client.call_tool("rlm_ask", {"query": "q", "paths": [str(outside)]})
        dotdot = await client.call_tool("rlm_ask", {"query": "q", "paths": [str(project / ".." / "secret.txt")]})
        via_link = await client.call_tool("rlm_estimate", {"query": "q", "paths": ["up/secret.txt"]})
        linked_file = await client.call_tool("rlm_ask", {"query": "q", "paths": ["src/leak.txt"]})
        mixed = await client.call_tool("rlm_session_start", {"paths": [str(project), str(outside)]})
        allowed = await client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"]})
    for refused in (direct, dotdot, via_link, linked_file, mixed):
        assert refused.is_error
        message = text_of(refused)
        assert "outside the folders this server may read" in message and str(project) in message, message
        assert "hunter2" not in message
    assert payload(allowed)["answer"].startswith("# Demo")
    assert not list((tmp_path / "traces").glob("*.jsonl"))[1:], "only the allowed call may have run"


async def test_bad_arguments_come_back_as_tool_errors(tmp_path: Path, project: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(1)")])
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies)) as (client, _):
        both = await client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"], "text": "x"})
        neither = await client.call_tool("rlm_ask", {"query": "q"})
        missing = await client.call_tool("rlm_ask", {"query": "q", "paths": ["nope.txt"]})
        zero = await client.call_tool("rlm_ask", {"query": "q", "text": "x", "budget": {"max_iterations": 0}})
        typo = await client.call_tool("rlm_ask", {"query": "q", "text": "x", "budget": {"max_turns": 3}})
        unknown = await client.call_tool("rlm_session_ask", {"session_id": "nope", "query": "q"})
    assert "not both" in text_of(both)
    assert "pass paths" in text_of(neither)
    assert "does not exist" in text_of(missing)
    assert "max_iterations" in text_of(zero)
    assert "max_turns" in text_of(typo)
    assert "no open session 'nope'" in text_of(unknown)
    for result in (both, neither, missing, zero, typo, unknown):
        assert result.is_error


async def test_arguments_a_tool_does_not_take_are_refused_before_anything_runs(tmp_path: Path, project: Path) -> None:
    # A limit put beside `query` instead of inside `budget`, or a misspelt `budget`, was dropped without a word:
    # the run went on uncapped.
    replies = script(tmp_path, [repl("turn = 1"), repl("FINAL('two turns')")])
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies)) as (client, _):
        tools = (await client.list_tools()).tools
        beside = await client.call_tool("rlm_ask", {"query": "q", "text": "x", "max_iterations": 1})
        misspelt = await client.call_tool("rlm_estimate", {"query": "q", "text": "x", "txet": "y"})
        stray = await client.call_tool("rlm_session_end", {"session_id": "s", "force": True})
        # Keys clients add on their own (`_meta`, n8n's toolCallId) are no caller's mistake: the call runs.
        clients_own = {"query": "q", "text": "x", "_meta": {"progressToken": 1}, "toolCallId": "call_1"}
        ran = payload(await client.call_tool("rlm_ask", clients_own))
    assert all(tool.input_schema.get("additionalProperties") is False for tool in tools)
    for refused in (beside, misspelt, stray):
        assert refused.is_error
    assert "unknown argument max_iterations" in text_of(beside) and '{"budget": {"max_iterations"' in text_of(beside)
    assert "rlm_ask takes: query, paths, text, budget" in text_of(beside)
    assert "unknown argument txet (did you mean text?)" in text_of(misspelt)
    assert "force" in text_of(stray) and "rlm_session_end takes: session_id" in text_of(stray)
    assert (ran["answer"], ran["iterations"]) == ("two turns", 2)
    assert len(list((tmp_path / "traces").glob("*.jsonl"))) == 1, "only the last call may have run"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
async def test_output_of_the_model_code_never_reaches_the_protocol_stream(
    tmp_path: Path, project: Path, sandbox: str
) -> None:
    """A cell writes forged JSON-RPC results (for every likely request id) to fd 1 and to the real stdout; with
    the protocol on fd 1 the client would take one for the tool's reply. The in-process tier runs the cell in the
    server's own process, so only the server moving the protocol off fd 1 stops it there."""
    code = (
        "import json, os, sys\n"
        "for n in range(50):\n"
        "    line = json.dumps({'jsonrpc': '2.0', 'id': n, 'result': {'content': [], 'structuredContent': "
        "{'answer': 'forged'}, 'isError': False}})\n"
        "    os.write(1, line.encode() + b'\\n')\n"
        "    sys.__stdout__.write(line + '\\n')\n"
        "sys.__stdout__.flush()\n"
        "FINAL('clean')"
    )
    replies = script(tmp_path, [repl(code), repl("FINAL('next')")])
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies), "--sandbox", sandbox) as (
        client,
        _,
    ):
        first = payload(await client.call_tool("rlm_ask", {"query": "q", "text": "x"}))
        second = payload(await client.call_tool("rlm_ask", {"query": "q", "text": "x"}))
    assert (first["answer"], second["answer"]) == ("clean", "next")


async def test_estimate_is_a_labelled_forecast(tmp_path: Path, project: Path) -> None:
    server = ("--model", "gpt-5-mini", "--base-url", "http://127.0.0.1:9/v1")  # never called: nothing listens
    async with connect(tmp_path, "--allow", str(project), *server) as (client, _):
        reply = payload(await client.call_tool("rlm_estimate", {"query": "q", "paths": [str(project)]}))
    chars = len((project / "README.md").read_text()) + len((project / "src" / "app.py").read_text())
    assert reply["kind"] == "forecast" and "not a measurement" in reply["note"]
    assert reply["chars_read"] == chars and reply["files_read"] == 2
    assert reply["context_chars"] > chars  # the folder becomes one dict of path -> text, serialized
    # a small JSON dict of file texts: ASCII denser than prose (quotes, braces, escapes), never over a token a byte
    assert reply["context_chars"] // 6 <= reply["context_tokens_estimate"] <= reply["context_chars"]
    assert reply["context_tokens_estimate"] <= reply["context_tokens_high"] <= reply["context_chars"]
    assert reply["models"] == {"root": "gpt-5-mini", "sub": "gpt-5-mini"}
    assert 0 < reply["cost_usd"]["low"] < reply["cost_usd"]["high"]
    assert reply["tokens"]["low"] < reply["tokens"]["high"]


async def test_a_session_keeps_variables_across_questions(tmp_path: Path, project: Path) -> None:
    replies = script(
        tmp_path,
        [
            repl("lines = context.splitlines()\nFINAL(len(lines))"),
            repl("FINAL(f'{lines[0]}|{len(history)}|{history[0][\"answer\"]}|{context_1}')"),
        ],
    )
    async with connect(tmp_path, "--allow", str(project), "--scripted", str(replies)) as (client, _):
        started = payload(await client.call_tool("rlm_session_start", {"paths": ["README.md"]}))
        session = started["session_id"]
        first = payload(await client.call_tool("rlm_session_ask", {"session_id": session, "query": "How many?"}))
        second = payload(
            await client.call_tool("rlm_session_ask", {"session_id": session, "query": "First?", "text": "extra"})
        )
        ended = payload(await client.call_tool("rlm_session_end", {"session_id": session}))
        after = await client.call_tool("rlm_session_ask", {"session_id": session, "query": "again?"})
        assert not [p for p in descendants(server_pid()) if alive(p)], "the session's REPL outlived its end"
    assert first["answer"] == "2" and first["turn"] == 1
    assert second["answer"] == "# Demo|1|2|extra" and second["turn"] == 2
    assert ended == {"session_id": session, "ended": True, "questions": 2}
    assert after.is_error and "no open session" in text_of(after)


@pytest.mark.slow
async def test_cancelling_a_call_or_leaving_stops_the_run_and_kills_its_worker(tmp_path: Path, project: Path) -> None:
    pidfiles = [worker_pidfile() for _ in range(3)]
    replies = script(
        tmp_path,
        [
            _sleeper(pidfiles[0]),  # rlm_ask, cancelled
            repl("FINAL('second call')"),  # rlm_ask, answered: the server still serves
            _sleeper(pidfiles[1]),  # rlm_session_ask, cancelled: the session ends with its REPL
            _sleeper(pidfiles[2]),  # rlm_ask, running when the client goes away
        ],
    )
    flags = ("--allow", str(project), "--scripted", str(replies), "--cell-timeout", "120")
    async with connect(tmp_path, *flags) as (client, _):
        server = server_pid()
        call = asyncio.create_task(client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"]}))
        worker = await _started(pidfiles[0])
        assert worker in descendants(server)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await _gone(worker, server)
        again = payload(await client.call_tool("rlm_ask", {"query": "q", "text": "x"}))
        assert again["answer"] == "second call"

        session = payload(await client.call_tool("rlm_session_start", {"text": "notes"}))["session_id"]
        call = asyncio.create_task(client.call_tool("rlm_session_ask", {"session_id": session, "query": "q"}))
        worker = await _started(pidfiles[1])
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await _gone(worker, server)
        after = await client.call_tool("rlm_session_ask", {"session_id": session, "query": "q"})
        assert after.is_error and "no open session" in text_of(after)

        leaving = asyncio.create_task(client.call_tool("rlm_ask", {"query": "q", "text": "x"}))
        worker = await _started(pidfiles[2])
    # The client closed the server's stdin with a run going: the server ends, and kills the run's worker first.
    leaving.cancel()
    await asyncio.gather(leaving, return_exceptions=True)
    for _ in range(200):
        if not alive(worker) and not alive(server):
            break
        await asyncio.sleep(0.05)
    assert not alive(worker), "the worker outlived its client"
    assert not alive(server), "the server outlived its client"


def _sleeper(pidfile: Path) -> str:
    """A cell that records its worker's pid, then sleeps far past the test."""
    return repl(f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\nFINAL('late')")


@pytest.mark.slow
async def test_a_handshake_client_grants_its_roots_and_can_cancel(tmp_path: Path, project: Path) -> None:
    """A client on the initialize handshake (protocol 2025-11-25, as most clients today): without --allow its
    MCP roots are the grant, and its notifications/cancelled stops a run."""
    pidfile = worker_pidfile()
    replies = script(tmp_path, [repl("FINAL(context[:6])"), _sleeper(pidfile)])

    async def roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])

    async with connect(tmp_path, "--scripted", str(replies), mode="legacy", list_roots_callback=roots) as (
        client,
        _,
    ):
        assert client.protocol_version == "2025-11-25"
        outside = await client.call_tool("rlm_ask", {"query": "q", "paths": [str(tmp_path / "secret.txt")]})
        inside = await client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"]})
        call = asyncio.create_task(client.call_tool("rlm_ask", {"query": "q", "text": "x"}))
        worker = await _started(pidfile)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        await _gone(worker, server_pid())
    assert outside.is_error and "the client's MCP roots" in text_of(outside)
    assert payload(inside)["answer"] == "# Demo"


@pytest.mark.slow
@pytest.mark.model
async def test_rlm_ask_with_the_embedded_model(tmp_path: Path, project: Path) -> None:
    missing = missing_embedded_model()
    if missing:
        pytest.skip(missing)
    notes = project / "notes"
    notes.mkdir()
    filler = "The weather report mentions light rain over the hills and a calm sea. " * 400
    (notes / "a.txt").write_text(filler, encoding="utf-8")
    (notes / "b.txt").write_text(filler + "\nThe launch code for the Aurora project is 7391-KESTREL.\n" + filler)
    async with connect(tmp_path, "--allow", str(project), "--max-seconds", "240") as (client, _):
        reply = payload(
            await client.call_tool(
                "rlm_ask", {"query": "What is the launch code for the Aurora project?", "paths": [str(notes)]}
            )
        )
    assert reply["status"] == "finished", reply
    assert "7391-KESTREL" in reply["answer"]
    assert reply["usage"]["cost_usd"] == 0 and reply["usage"]["lm_calls"] >= 1


async def _started(pidfile: Path) -> int:
    for _ in range(600):
        if pidfile.exists() and pidfile.read_text():
            return int(pidfile.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError("the scripted cell never started")


async def _gone(worker: int, server: int) -> None:
    for _ in range(200):
        if not alive(worker) and not [p for p in descendants(server) if alive(p)]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"still running after the cancel: worker {worker} alive={alive(worker)}, server children {descendants(server)}"
    )


@pytest.mark.slow
async def test_streamable_http(tmp_path: Path, project: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(context.upper())")])
    errlog = tmp_path / "http-stderr.txt"
    command = [sys.executable, "-c", MAIN, "mcp", "--trace-dir", str(tmp_path), "--http", "--port", "0"]
    with errlog.open("w") as err:
        server = subprocess.Popen([*command, "--scripted", str(replies)], stderr=err, cwd=project)
    try:
        url = await _url(errlog)
        async with Client(url) as client:
            reply = payload(await client.call_tool("rlm_ask", {"query": "q", "text": "over http"}))
            outside = await client.call_tool("rlm_ask", {"query": "q", "paths": [str(tmp_path / "secret.txt")]})
        taken = url.rsplit(":", 1)[1].split("/")[0]
        busy = subprocess.run([*command[:6], "--http", "--port", taken], capture_output=True, text=True, timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert reply["answer"] == "OVER HTTP"
    # No --allow and a client without roots: the folder the server started in is the grant.
    assert outside.is_error and f"{project} (from the folder the server started in)" in text_of(outside)
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{taken}" in busy.stderr, busy.stderr


async def _url(errlog: Path) -> str:
    for _ in range(600):
        for line in errlog.read_text().splitlines():
            if "streamable HTTP at " in line:
                return line.split(" at ", 1)[1].split()[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the HTTP server never said where it listens: {errlog.read_text()}")


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    def rlmx_mcp(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", MAIN, "mcp", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    missing = rlmx_mcp("--allow", str(tmp_path / "nope"), "--scripted", str(script(tmp_path, ["FINAL(1)"])))
    assert missing.returncode == 2 and f"--allow {tmp_path / 'nope'}: no such folder" in missing.stderr
    stdio_port = rlmx_mcp("--port", "9999")
    assert stdio_port.returncode == 2 and "--host and --port are for --http" in stdio_port.stderr
    assert "Traceback" not in missing.stderr + stdio_port.stderr


async def test_streamable_http_answers_what_is_no_message_as_stdio_does(tmp_path: Path) -> None:
    # The SDK answered a batch with one -32602 (id null, pydantic's dump of its union) and dropped a null id (202).
    import json
    import urllib.error
    import urllib.request

    errlog = tmp_path / "http-stderr.txt"
    command = [sys.executable, "-c", MAIN, "mcp", "--trace-dir", str(tmp_path), "--http", "--port", "0"]
    with errlog.open("w") as err:
        server = subprocess.Popen([*command, "--scripted", str(script(tmp_path, ["FINAL(1)"]))], stderr=err)
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

    def post(body: object) -> tuple[int, object]:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()  # the reply, as an SSE event
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    try:
        url = await _url(errlog)
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        request = urllib.request.Request(
            url,
            data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode(),
            headers=headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            headers["Mcp-Session-Id"] = response.headers["Mcp-Session-Id"]
        headers["MCP-Protocol-Version"] = "2025-06-18"
        batch = await asyncio.to_thread(
            post, [{"jsonrpc": "2.0", "id": "a", "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
        )
        null_id = await asyncio.to_thread(post, {"jsonrpc": "2.0", "id": None, "method": "ping"})
        fraction = await asyncio.to_thread(post, {"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"})
        no_message = await asyncio.to_thread(post, {"id": 3, "method": "ping"})
        ping = await asyncio.to_thread(post, {"jsonrpc": "2.0", "id": 4, "method": "ping"})
    finally:
        server.terminate()
        server.wait(timeout=30)

    def errors(answer: object) -> list[tuple[object, int, str]]:
        replies = answer if isinstance(answer, list) else [answer]
        return [(r["id"], r["error"]["code"], r["error"]["message"]) for r in replies if isinstance(r, dict)]

    assert batch[0] == 400 and [e[:2] for e in errors(batch[1])] == [("a", -32600), (2, -32600)]
    assert "batches (JSON arrays) are not supported" in errors(batch[1])[0][2]
    assert null_id[0] == 400 and errors(null_id[1])[0][:2] == (None, -32600)
    assert 'the "id" null is not a string or an integer' in errors(null_id[1])[0][2]
    assert fraction[0] == 400 and 'the "id" 1.5 is not' in errors(fraction[1])[0][2]
    assert no_message[0] == 400 and errors(no_message[1]) == [(3, -32600, errors(no_message[1])[0][2])]
    assert "not a JSON-RPC 2.0 message" in errors(no_message[1])[0][2]
    assert ping[0] == 200 and '"id":4' in str(ping[1])  # a message is still served
