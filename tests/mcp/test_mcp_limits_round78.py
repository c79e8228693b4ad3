"""`rlmx mcp`, round 78: the forecast refuses what the call would refuse, and refusals point at what the user can
change. `rlm_estimate` forecast an ordinary run for a context over the server's --max-context-bytes, which `rlm_ask`
then refused; that refusal told an MCP user to use `RLM(max_context_bytes=...)` or `rlmx ask`; and a budget key
`max_turns` was answered "did you mean max_usd?" (the shared `max_` made every limit look alike)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_harness import connect, repl, script, text_of

from rlmx.context import SizeLimit
from rlmx.documents import TEXT_LEFT, _too_big, text_over_limit
from rlmx.errors import InputError
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.roots import Roots
from rlmx.mcp.server import _where_it_belongs
from rlmx.mcp.service import LIMIT_NAMES, RLMService, tightened
from rlmx.rlm import RLM

SERVER_FLAG = "rlmx mcp --max-context-bytes"


def _service(limit: int) -> RLMService:
    return RLMService(RLM(ScriptedLM([repl("FINAL('ran')")] * 4), sandbox="inprocess", max_context_bytes=limit))


async def test_estimate_refuses_a_context_over_the_server_limit_as_ask_does_naming_the_servers_flag(
    tmp_path: Path,
) -> None:
    service = _service(1_000)
    roots = Roots([tmp_path], "--allow")
    (tmp_path / "big.txt").write_text("z" * 5_000)
    for paths, text in ((None, "z" * 5_000), (["big.txt"], None)):
        with pytest.raises(InputError) as estimated:
            service.estimate(roots, "q", paths, text)
        with pytest.raises(InputError) as asked:
            await service.ask(roots, "q", paths, text, None)
        for refusal in (str(estimated.value), str(asked.value)):
            assert "over the limit of 1,000 context bytes" in refusal, refusal
            assert SERVER_FLAG in refusal and "RLM(" not in refusal and "rlmx ask" not in refusal, refusal
    with pytest.raises(InputError, match=SERVER_FLAG):
        await service.session_start(roots, None, "z" * 5_000)
    opened = await service.session_start(roots, None, "small")
    with pytest.raises(InputError, match=SERVER_FLAG):
        await service.session_ask(roots, opened["session_id"], "q", None, "z" * 5_000, None)
    await service.aclose()
    # under the limit the forecast is as before
    assert service.estimate(roots, "q", None, "z" * 500)["kind"] == "forecast"


async def test_over_mcp_the_estimate_of_a_refused_context_is_a_tool_error(tmp_path: Path) -> None:
    replies = script(tmp_path, [repl("FINAL('ran')")])
    async with connect(tmp_path, "--scripted", str(replies), "--max-context-bytes", "1KB") as (client, _):
        arguments = {"query": "q", "text": "z" * 5_000}
        estimated = await client.call_tool("rlm_estimate", arguments)
        asked = await client.call_tool("rlm_ask", arguments)
    assert estimated.is_error and asked.is_error
    assert SERVER_FLAG in text_of(estimated) and SERVER_FLAG in text_of(asked)


def test_every_size_refusal_says_how_to_raise_the_limit_in_the_words_a_front_end_replaces(tmp_path: Path) -> None:
    # The MCP service swaps RAISE_LIMIT_HINT for its own flag: each place that refuses by size must use those words.
    from rlmx.context import RAISE_LIMIT_HINT
    from rlmx.mcp.service import MCP_RAISE_LIMIT_HINT

    refusals = [_too_big(tmp_path / "a.pdf", 10, 5)]
    with pytest.raises(InputError) as limited:
        SizeLimit(5).check("context `context`", 10)
    refusals.append(limited.value)
    token = TEXT_LEFT.set(5)
    try:
        over = text_over_limit(tmp_path / "a.pdf", 10, "page 2")
    finally:
        TEXT_LEFT.reset(token)
    assert over is not None
    refusals.append(over)
    for refusal in refusals:
        assert RAISE_LIMIT_HINT in str(refusal), refusal
    assert RAISE_LIMIT_HINT not in MCP_RAISE_LIMIT_HINT and SERVER_FLAG in MCP_RAISE_LIMIT_HINT


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("max_turns", "max_iterations"),
        ("max_steps", "max_iterations"),
        ("max_iteratons", "max_iterations"),
        ("maxTokens", "max_tokens"),
        ("max_token", "max_tokens"),
        ("timeout", "max_seconds"),
        ("max_time", "max_seconds"),
        ("max_cost", "max_usd"),
        ("max_dollars", "max_usd"),
        ("max_sub_calls", "max_subcalls"),
        ("max_calls", "max_subcalls"),
        ("max_depth", None),
        ("max_retries", None),
        ("max_items", None),
    ],
)
def test_an_unknown_limit_is_matched_by_what_it_says_not_by_the_max_all_limits_share(given: str, meant: str) -> None:
    from rlmx.mcp.service import limit_meant

    assert limit_meant(given) == meant
    inside = _where_it_belongs(given, LIMIT_NAMES)
    assert inside == (f"{given} (did you mean {meant}?)" if meant else given)


def test_a_misnamed_limit_beside_budget_is_sent_into_budget_under_its_right_name() -> None:
    known = ("query", "paths", "text", "budget")
    assert '{"budget": {"max_iterations": ...}}' in _where_it_belongs("max_turns", known)
    assert "did you mean paths?" in _where_it_belongs("path", known)


def test_a_budget_given_in_python_names_the_limit_an_unknown_key_means() -> None:
    with pytest.raises(InputError, match=r"max_turns \(did you mean max_iterations\?\)"):
        tightened(RLM(ScriptedLM(["FINAL(1)"])), {"max_turns": 3})


async def test_over_mcp_max_turns_in_budget_suggests_max_iterations(tmp_path: Path) -> None:
    replies = script(tmp_path, [repl("FINAL('ran')")])
    async with connect(tmp_path, "--scripted", str(replies)) as (client, _):
        refused = await client.call_tool("rlm_ask", {"query": "q", "text": "x", "budget": {"max_turns": 3}})
    assert refused.is_error
    assert "budget.max_turns (did you mean max_iterations?)" in text_of(refused), text_of(refused)
