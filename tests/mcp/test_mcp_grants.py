"""`rlmx mcp` as real clients meet it: what a server grants when the client grants nothing usable or the launcher
starts it in `/`, names that are not UTF-8, `file://` paths, failed runs as tool errors, schemas without `$ref`,
and sessions that belong to the client that opened them."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the [mcp] extra")

from mcp_harness import connect, payload, repl, script, text_of
from mcp_types import ListRootsResult, Root

from rlmx import RLM
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from rlmx.mcp.roots import PathRefused, Roots
from rlmx.mcp.service import RLMService


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("# Demo\nThe app prints a launch code.\n", encoding="utf-8")
    return root


async def test_a_client_that_grants_no_usable_folder_gets_every_path_refused(tmp_path: Path, project: Path) -> None:
    # VS Code with no workspace answers roots/list with []; a devcontainer's root does not exist here. rlmx read
    # the folder it was started in instead.
    replies = script(tmp_path, [repl("FINAL(context[:6])"), repl("FINAL(context[:4])")])

    async def no_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[])

    async def moved_root(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri="file:///workspaces/elsewhere", name="devcontainer")])

    for roots in (no_roots, moved_root):
        async with connect(
            tmp_path, "--scripted", str(replies), cwd=project, mode="legacy", list_roots_callback=roots
        ) as (
            client,
            _,
        ):
            refused = await client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"]})
            assert refused.is_error and "granted no folder" in text_of(refused)
            text_only = await client.call_tool("rlm_ask", {"query": "q", "text": "plain words"})
            assert payload(text_only)["status"] == "finished"  # a text needs no folder


async def test_a_server_started_in_the_root_folder_grants_nothing_by_itself(tmp_path: Path) -> None:
    # Claude Desktop starts stdio servers in `/`: with no --allow and no client roots, /etc/passwd was readable.
    replies = script(tmp_path, [repl("FINAL(context[:4])")])
    async with connect(tmp_path, "--scripted", str(replies), cwd=Path("/")) as (client, _):
        refused = await client.call_tool("rlm_ask", {"query": "q", "paths": ["/etc/passwd"]})
        tools = await client.list_tools()
    assert refused.is_error and "--allow" in text_of(refused) and "root:" not in text_of(refused)
    description = next(t.description for t in tools.tools if t.name == "rlm_ask") or ""
    assert "none else" in description


async def test_a_file_name_that_is_not_utf8_is_listed_printably_and_the_server_stays_up(tmp_path: Path) -> None:
    # A name from an old zip or a Samba share: the SDK could not write it, and the server exited.
    folder = tmp_path / "data"
    folder.mkdir()
    Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.bin")).write_bytes(b"\x00\x01binary")
    replies = script(tmp_path, [repl("FINAL(1)")])
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(folder)) as (client, _):
        alone = await client.call_tool("rlm_ask", {"query": "q", "paths": [str(folder)]})
        (folder / "notes.txt").write_text("some notes", encoding="utf-8")
        estimate = await client.call_tool("rlm_estimate", {"query": "q", "paths": [str(folder)]})
        still = await client.call_tool("rlm_ask", {"query": "q", "text": "x"})
    assert alone.is_error and "caf\\udce9.bin" in text_of(alone)  # as the folder's keys and `paths` name it
    assert payload(estimate)["files_skipped"][0].startswith("caf\\udce9.bin")
    assert payload(still)["answer"] == "1"


async def test_a_file_uri_names_its_path(tmp_path: Path, project: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(context[:6])")])
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(project)) as (client, _):
        by_uri = await client.call_tool("rlm_ask", {"query": "q", "paths": [(project / "README.md").as_uri()]})
        remote = await client.call_tool("rlm_ask", {"query": "q", "paths": ["file://otherhost/etc/passwd"]})
    assert payload(by_uri)["answer"] == "# Demo"
    assert remote.is_error and "local path" in text_of(remote)


async def test_a_file_uri_names_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    # Path.as_uri() writes such a name's bytes as percent-escapes (caf%E9.txt); they were decoded as UTF-8, so the
    # URI named caf\ufffd.txt, which does not exist, and a client root like it granted nothing.
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xe9p"))
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("Latin-1 named notes", encoding="utf-8")
    replies = script(tmp_path, [repl("FINAL(context[:7])"), repl("FINAL(context[:7])")])

    async def latin1_root(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=folder.as_uri(), name="data")])

    uri = (folder / os.fsdecode(b"caf\xe9.txt")).as_uri()
    assert "%E9" in uri
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(tmp_path)) as (client, _):
        allowed = await client.call_tool("rlm_ask", {"query": "q", "paths": [uri]})
    async with connect(tmp_path, "--scripted", str(replies), mode="legacy", list_roots_callback=latin1_root) as (
        client,
        _,
    ):
        granted = await client.call_tool("rlm_ask", {"query": "q", "paths": [uri]})
    assert payload(allowed)["answer"] == "Latin-1", text_of(allowed)
    assert payload(granted)["answer"] == "Latin-1", text_of(granted)


async def test_a_run_that_fails_is_a_tool_error_with_its_reply(tmp_path: Path, project: Path) -> None:
    # The model server down: the reply said status "error" with an empty answer, and isError false.
    env_url = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    async with connect(tmp_path, "--model", "m", "--base-url", env_url, "--allow", str(project)) as (client, _):
        failed = await client.call_tool("rlm_ask", {"query": "q", "text": "x"})
    assert failed.is_error
    assert failed.structured_content is not None and failed.structured_content["status"] == "error"
    assert "127.0.0.1:9" in text_of(failed)


async def test_tool_schemas_hold_no_references(tmp_path: Path, project: Path) -> None:
    # Gemini CLI, Copilot CLI and autogen fail on, or drop, `$ref`s into `$defs` (the call budget's object).
    replies = script(tmp_path, [repl("FINAL(1)")])
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(project)) as (client, _):
        tools = await client.list_tools()
        limited = await client.call_tool("rlm_ask", {"query": "q", "text": "x", "budget": {"max_iterations": 2}})
    for tool in tools.tools:
        written = json.dumps(tool.input_schema)
        assert "$ref" not in written and "$defs" not in written, tool.name
    ask = next(t for t in tools.tools if t.name == "rlm_ask")
    budget = json.dumps(ask.input_schema["properties"]["budget"])
    assert "max_iterations" in budget and "max_usd" in budget
    assert payload(limited)["answer"] == "1"


# --- sessions belong to their client -------------------------------------------------------------------------


class Client:
    """Stands for one MCP client connection (the owner of its sessions)."""


async def test_a_session_is_seen_and_used_only_by_the_client_that_opened_it(tmp_path: Path) -> None:
    rlm = RLM(ScriptedLM([repl("FINAL(context)")]), trace_dir=tmp_path)
    service = RLMService(rlm)
    roots = Roots([tmp_path], "test")
    alice, bob = Client(), Client()
    opened = await service.session_start(roots, None, "alice's notes", owner=alice)
    session_id = opened["session_id"]
    try:
        with pytest.raises(InputError) as refused:
            await service.session_ask(roots, session_id, "q", None, None, None, owner=bob)
        assert "open sessions" not in str(refused.value)  # not even listed to another client
        with pytest.raises(InputError):
            await service.session_end(session_id, owner=bob)
        reply = await service.session_ask(roots, session_id, "q", None, None, None, owner=alice)
        assert reply["answer"] == "alice's notes"
    finally:
        await service.aclose()


async def test_sessions_of_a_client_that_left_are_ended_when_a_new_one_starts(tmp_path: Path) -> None:
    # Eight HTTP clients that opened a session and left held every slot: the ninth was refused for good.
    service = RLMService(RLM(ScriptedLM([repl("FINAL(1)")]), trace_dir=tmp_path), max_sessions=2)
    roots = Roots([tmp_path], "test")
    departed: list[Any] = [Client(), Client()]
    for index in range(2):
        await service.session_start(roots, None, "x", owner=departed[index])
    staying = Client()
    try:
        with pytest.raises(InputError, match="the limit"):
            await service.session_start(roots, None, "x", owner=staying)
        departed.clear()
        gc.collect()
        opened = await service.session_start(roots, None, "x", owner=staying)
        assert list(service.sessions) == [opened["session_id"]]
    finally:
        await service.aclose()


def test_roots_granting_nothing_refuse_paths_with_the_reason() -> None:
    roots = Roots.none("the client granted no folder")
    with pytest.raises(PathRefused, match="the client granted no folder"):
        roots.read(["README.md"])


async def test_at_the_limit_the_session_unused_longest_makes_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Clients of the single-exchange protocol have no connection whose end says they left: their sessions are
    # ended when unused for a while and another one needs the place.
    service = RLMService(RLM(ScriptedLM([repl("FINAL(1)")]), trace_dir=tmp_path), max_sessions=2)
    roots = Roots([tmp_path], "test")
    first = (await service.session_start(roots, None, "x"))["session_id"]
    second = (await service.session_start(roots, None, "x"))["session_id"]
    try:
        with pytest.raises(InputError, match="unused for 10 minutes"):
            await service.session_start(roots, None, "x")
        monkeypatch.setattr("rlmx.mcp.service.SESSION_IDLE_SECONDS", 0.0)
        await service.session_ask(roots, first, "q", None, None, None)  # used: the second is now the oldest
        third = (await service.session_start(roots, None, "x"))["session_id"]
        assert set(service.sessions) == {first, third} and second not in service.sessions
    finally:
        await service.aclose()


async def test_a_session_whose_client_left_is_no_one_elses(tmp_path: Path) -> None:
    service = RLMService(RLM(ScriptedLM([repl("FINAL(context)")]), trace_dir=tmp_path))
    roots = Roots([tmp_path], "test")
    leaving, other = Client(), Client()
    session_id = (await service.session_start(roots, None, "the leaver's notes", owner=leaving))["session_id"]
    del leaving
    gc.collect()
    try:
        with pytest.raises(InputError, match="no open session"):
            await service.session_ask(roots, session_id, "q", None, None, None, owner=other)
    finally:
        await service.aclose()


async def test_a_client_that_never_answers_roots_list_holds_up_no_call(tmp_path: Path, project: Path) -> None:
    # A client that advertises roots and never answers roots/list (telegram-mcp PR #220): every tool call waited
    # for the answer, a text-only one too, with no end.
    replies = script(tmp_path, [repl("FINAL(context[:5])")])

    async def never_answers(context: object) -> ListRootsResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async with connect(
        tmp_path, "--scripted", str(replies), cwd=project, mode="legacy", list_roots_callback=never_answers
    ) as (client, _):
        text_only = await asyncio.wait_for(client.call_tool("rlm_ask", {"query": "q", "text": "plain words"}), 20)
        started = time.monotonic()
        with_paths = await asyncio.wait_for(client.call_tool("rlm_ask", {"query": "q", "paths": ["README.md"]}), 30)
        waited = time.monotonic() - started
    assert payload(text_only)["answer"] == "plain"
    assert with_paths.is_error and "did not answer" in text_of(with_paths) and "--allow" in text_of(with_paths)
    assert waited < 15
