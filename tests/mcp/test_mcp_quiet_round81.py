"""Audit 81 (a newcomer's path): each refused tool call over stdio printed the MCP SDK's INFO log box ("Tool 'rlm_ask'
failed: ...") on the server's stderr, which MCP clients show or keep as the server's log. The refusal already
reaches the client as a tool error that says what to fix; the server's stderr keeps warnings and errors only."""

from __future__ import annotations

from pathlib import Path

from mcp_harness import connect, repl, script


async def test_refused_tool_calls_leave_the_servers_stderr_quiet(tmp_path: Path) -> None:
    async with connect(tmp_path, "--scripted", str(script(tmp_path, [repl("FINAL(1)")]))) as (client, errlog):
        missing = await client.call_tool("rlm_ask", {"text": "x"})
        wrong = await client.call_tool("rlm_ask", {"query": 5, "text": "x"})
        empty = await client.call_tool("rlm_ask", {"query": "", "text": "x"})
    assert missing.is_error and wrong.is_error and empty.is_error
    said = errlog.read_text(encoding="utf-8")
    assert "INFO" not in said and "failed" not in said and "rejected arguments" not in said, said
