"""Audit 74 of `rlmx mcp`, driven over real stdio: an unknown tool is a protocol error (-32602), SIGTERM stops the
server as stdin's EOF does, a request id already in flight is refused, array params are told MCP's are an object;
and in process: each file of a call is read once, under a key relative to its root that names the root when the
call's paths lie in several."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import MAIN, RawClient, alive, connect, descendants, repl, script
from mcp_types import TextContent

from mcp import MCPError
from rlmx.mcp.roots import Roots
from scripting import sigint_delivered

SLEEPING = repl("import time\ntime.sleep(60)\nFINAL('slept')")


class Raw(RawClient):
    """Raw JSON-RPC lines to an `rlmx mcp` server's stdin (`RawClient`), replies told apart by their id's type."""

    def reply(self, request_id: Any, timeout: float = 60) -> dict[str, Any]:
        """The next reply whose id is `request_id`, exactly (4 is not "4"); other messages are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.received.get(timeout=max(deadline - time.monotonic(), 0.01))
            same_type = type(message.get("id")) is type(request_id)
            if "method" not in message and same_type and message["id"] == request_id:
                return dict(message)

    def replies(self, seconds: float) -> list[dict[str, Any]]:
        """Every reply (no notifications) that comes within `seconds`."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.received.get(timeout=left)
            except queue.Empty:
                break
            if "method" not in message:
                seen.append(message)
        return seen

    def initialize(self) -> None:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        self.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": hello})
        self.reply("init")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}


@contextmanager
def raw_server(tmp_path: Path, replies: list[str]) -> Iterator[Raw]:
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, replies))]
    server = subprocess.Popen(
        [*command, "--trace-dir", str(tmp_path / "t")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_env(),
        preexec_fn=sigint_delivered,  # a CI under nohup starts it with SIGHUP ignored, which rlmx then keeps
    )
    try:
        yield Raw(server)
    finally:
        assert server.stdin is not None and server.stdout is not None and server.stderr is not None
        with contextlib.suppress(BrokenPipeError):
            server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()
        server.stderr.close()


def call(request_id: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": "rlm_ask", "arguments": arguments}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def cancel(request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}}


def _running(tmp_path: Path, cells: int = 1, timeout: float = 60) -> None:
    """Wait until `cells` cells have started, as the traces under tmp_path/t say."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = sum(p.read_text().count('"cell_start"') for p in (tmp_path / "t").glob("*.jsonl"))
        if started >= cells:
            return
        time.sleep(0.05)
    raise AssertionError("no cell started")


# v01 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unknown_tool_is_invalid_params_naming_the_tools(tmp_path: Path, mode: str) -> None:
    # The SDK's "Unknown tool" came back as a tool result with isError: a client could not tell a tool that does not
    # exist from one that ran and failed. The spec's tools page names -32602, as the server answers unknown prompts.
    async with connect(tmp_path, "--scripted", str(script(tmp_path, [repl("FINAL(1)")])), mode=mode) as (client, _):
        with pytest.raises(MCPError) as misspelt:
            await client.call_tool("rlm_askk", {"query": "q", "text": "x"})
        with pytest.raises(MCPError) as unlike:
            await client.call_tool("grep", {})
        known = await client.call_tool("rlm_ask", {"query": "q", "text": "x"})
    assert misspelt.value.error.code == unlike.value.error.code == -32602
    told = misspelt.value.error.message
    assert told.startswith("Unknown tool: rlm_askk (did you mean rlm_ask?); this server's tools: rlm_ask, ")
    assert "rlm_session_end" in told
    assert unlike.value.error.message.startswith("Unknown tool: grep; this server's tools: rlm_ask, ")
    assert not known.is_error and isinstance(known.content[0], TextContent)


# v02 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_over_stdio_stops_the_running_question_and_closes_its_trace(
    tmp_path: Path, signum: signal.Signals
) -> None:
    # SIGTERM (a supervisor's stop; Node's child.kill(); what the MCP spec has a client send after closing stdin)
    # killed the stdio server outright: exit -15, and the running question's trace ended at its cell_start. SIGHUP
    # (the terminal or ssh session the client ran in closed; audit 77) did the same, exit -1.
    with raw_server(tmp_path, [SLEEPING]) as client:
        client.initialize()
        client.send(call(1, {"query": "q", "text": "x"}))
        _running(tmp_path)
        workers = descendants(client.server.pid)
        assert workers
        client.server.send_signal(signum)
        assert client.server.wait(timeout=30) == 0
        assert client.server.stderr is not None
        said = client.server.stderr.read().decode()
    assert f"rlmx: MCP server stopped ({signum.name})" in said and "Traceback" not in said
    (trace,) = (tmp_path / "t").glob("*.jsonl")
    assert json.loads(trace.read_text().splitlines()[-1])["type"] == "run_end"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)


def test_sigterm_before_the_server_serves_ends_it_as_soon_as_it_starts(tmp_path: Path) -> None:
    command = [sys.executable, "-c", MAIN, "mcp", "--scripted", str(script(tmp_path, [repl("FINAL(1)")]))]
    server = subprocess.Popen(
        [*command, "--trace-dir", str(tmp_path / "t")],
        stdin=subprocess.PIPE,  # left open: only the signal can end it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_env(),
    )
    assert server.stderr is not None and server.stdin is not None
    assert server.stderr.readline().startswith(b"rlmx: model:")  # _prepare is done; serving has not started yet
    server.send_signal(signal.SIGTERM)
    try:
        assert server.wait(timeout=30) == 0
    finally:
        server.stdin.close()
        server.kill()
        server.wait()
    assert b"MCP server stopped (SIGTERM)" in server.stderr.read()
    server.stderr.close()


# v04 -------------------------------------------------------------------------------------------------------------


def test_a_request_whose_id_is_in_flight_is_refused_and_a_cancel_stops_the_one_in_flight(tmp_path: Path) -> None:
    # The SDK files 4 and "4" as one id: the later request took the earlier one's place, and a cancel naming 4
    # stopped the request "4", while the run meant kept spending. A reused id in flight was taken the same way.
    with raw_server(tmp_path, [SLEEPING, repl("FINAL('second')")]) as client:
        client.initialize()
        client.send(call(4, {"query": "int id", "text": "x"}))
        _running(tmp_path)
        client.send(call("4", {"query": "str id", "text": "x"}))
        refused = client.reply("4")
        client.send(call(4, {"query": "the same id again", "text": "x"}))
        again = client.reply(4)
        client.send(cancel("4"))  # names the one request in flight as 4
        assert client.replies(1.5) == []  # a cancelled request gets no reply
        client.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})  # 4 is free again: the cancel settled it
        assert client.reply(4) == {"jsonrpc": "2.0", "id": 4, "result": {}}
        client.send(call("4", {"query": "now free", "text": "x"}))
        answered = client.reply("4")
    for reply in (refused, again):
        assert reply["error"]["code"] == -32600, reply
        assert "is already in flight" in reply["error"]["message"]
    assert refused["error"]["message"].startswith('Invalid Request: request id "4" is already in flight')
    assert answered["result"]["structuredContent"]["answer"] == "second"
    traces = sorted((tmp_path / "t").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    first_end = json.loads(traces[0].read_text().splitlines()[-1])
    assert first_end["type"] == "run_end" and first_end.get("status") != "finished"  # the sleeper was stopped


def test_a_lone_surrogate_id_in_flight_is_refused_and_its_cancel_still_finds_the_first(tmp_path: Path) -> None:
    with raw_server(tmp_path, [SLEEPING]) as client:
        client.initialize()
        line = json.dumps(call("ID", {"query": "q", "text": "x"})).replace('"ID"', '"id-\\ud83d"').encode()
        client.send(line)
        _running(tmp_path)
        client.send(line)
        refused = client.reply("id-\ud83d")
        client.send(json.dumps(cancel("ID")).replace('"ID"', '"id-\\ud83d"').encode())
        traces = list((tmp_path / "t").glob("*.jsonl"))
        deadline = time.monotonic() + 20
        while '"run_end"' not in traces[0].read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"run_end"' in traces[0].read_text()  # the cancel reached the first request, not the refused one
    assert refused["error"]["code"] == -32600 and "already in flight" in refused["error"]["message"]


# v05 -------------------------------------------------------------------------------------------------------------


def test_params_given_as_an_array_are_invalid_params_not_an_invalid_message(tmp_path: Path) -> None:
    # They were answered -32600 "not a JSON-RPC 2.0 message", which they are: JSON-RPC 2.0 takes params by position.
    with raw_server(tmp_path, [repl("FINAL(1)")]) as client:
        client.initialize()
        client.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": []})
        client.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": ["rlm_ask", {"query": "q"}]})
        client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]})  # a notification: no reply
        client.send({"jsonrpc": "2.0", "id": 3, "method": "ping", "params": "x"})  # not JSON-RPC: -32600 stands
        client.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
        replies = [client.reply(n) for n in (1, 2, 3, 4)]
        assert client.replies(0.5) == []
    for reply, method in zip(replies[:2], ("tools/list", "tools/call"), strict=True):
        assert reply["error"]["code"] == -32602, reply
        told = reply["error"]["message"]
        assert told.startswith(f'Invalid params: "{method}" got its params as an array (by position)')
        assert "MCP's params are an object" in told and "not a JSON-RPC 2.0 message" not in told
    assert replies[2]["error"]["code"] == -32600 and replies[3]["result"] == {}


# v03 -------------------------------------------------------------------------------------------------------------


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    for name, word in (("projA", "alpha"), ("projB", "beta")):
        (tmp_path / name / "docs").mkdir(parents=True)
        (tmp_path / name / "README.md").write_text(f"{word} readme", encoding="utf-8")
        (tmp_path / name / "docs" / "x.txt").write_text(f"{word} x", encoding="utf-8")
    return tmp_path


def test_files_from_several_roots_are_keyed_by_their_root_never_a_host_path(projects: Path) -> None:
    # projA's files got bare relative keys and projB's, taken, their absolute host paths.
    roots = Roots.grant([projects / "projA", projects / "projB"], "--allow")
    loaded = roots.read([str(projects / "projA"), str(projects / "projB")])
    assert loaded.value == {
        "projA/README.md": "alpha readme",
        "projA/docs/x.txt": "alpha x",
        "projB/README.md": "beta readme",
        "projB/docs/x.txt": "beta x",
    }
    assert roots.read([str(projects / "projA"), str(projects / "projB" / "docs" / "x.txt")]).value == {
        "projA/README.md": "alpha readme",
        "projA/docs/x.txt": "alpha x",
        "projB/docs/x.txt": "beta x",
    }
    assert roots.read([str(projects / "projB")]).value == {"README.md": "beta readme", "docs/x.txt": "beta x"}


def test_roots_of_one_name_are_told_apart_by_more_of_their_path(tmp_path: Path) -> None:
    for side in ("a", "b"):
        (tmp_path / side / "proj").mkdir(parents=True)
        (tmp_path / side / "proj" / "notes.txt").write_text(side, encoding="utf-8")
    folders = [tmp_path / "a" / "proj", tmp_path / "b" / "proj"]
    loaded = Roots.grant(folders, "--allow").read([str(folder) for folder in folders])
    assert loaded.value == {"a/proj/notes.txt": "a", "b/proj/notes.txt": "b"}
    assert not any(key.startswith("/") or str(tmp_path) in key for key in loaded.value)


def test_each_file_is_read_once_however_many_paths_reach_it(projects: Path) -> None:
    # A file named twice, or a folder and a file inside it, was read twice (counted twice against the limits), its
    # second copy keyed by its absolute host path.
    project = projects / "projA"
    roots = Roots.grant([project], "--allow")
    twice = roots.read([str(project / "README.md"), "README.md"])
    assert (twice.value, twice.files, twice.chars) == ("alpha readme", 1, len("alpha readme"))
    for paths in (["docs", "docs/x.txt"], ["docs/x.txt", "docs"], ["docs", str(project / "docs")]):
        loaded = roots.read(paths)
        assert (loaded.value, loaded.files, loaded.chars) == ({"docs/x.txt": "alpha x"}, 1, 7), paths
    (project / "docs" / "same.txt").symlink_to(project / "README.md")
    linked = roots.read([str(project)])
    assert linked.value == {"README.md": "alpha readme", "docs/same.txt": "alpha readme", "docs/x.txt": "alpha x"}
    assert linked.files == 2  # the link is a key of its own; its file was read once


def test_each_file_counts_once_against_the_file_limit(projects: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlmx.mcp import roots as roots_module

    monkeypatch.setattr(roots_module, "MAX_FILES", 2)
    project = projects / "projA"
    loaded = Roots.grant([project], "--allow").read([str(project), "docs/x.txt", "README.md", "docs"])
    assert loaded.files == 2
