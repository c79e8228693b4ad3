"""What the MCP tools do, in process: budgets that only tighten, and a cap on questions answered at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rlmx.budget import Budget
from rlmx.errors import InputError
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.roots import Roots
from rlmx.mcp.service import RLMService, tightened
from rlmx.rlm import RLM


def test_a_call_budget_only_tightens_the_server_budget() -> None:
    rlm = RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_iterations=10, max_tokens=1_000))
    budget = tightened(rlm, {"max_iterations": 50, "max_tokens": 200, "max_seconds": 30})
    assert (budget.max_iterations, budget.max_tokens, budget.max_seconds) == (10, 200, 30)
    with pytest.raises(InputError, match="unknown budget field"):
        tightened(rlm, {"max_depth": 3})
    with pytest.raises(InputError, match="positive number"):
        tightened(rlm, {"max_tokens": -1})
    unpriced = RLM(ScriptedLM(["FINAL(1)"], model="my-private-model"))
    with pytest.raises(InputError, match="no price is known for my-private-model"):
        tightened(unpriced, {"max_usd": 1.0})


async def test_questions_beyond_the_cap_are_refused_not_queued(tmp_path: Path) -> None:
    slow = ScriptedLM(["```repl\nFINAL('first')\n```", "```repl\nFINAL('third')\n```"], delay=1.0)
    service = RLMService(RLM(slow, sandbox="inprocess"), max_running=1)
    roots = Roots([tmp_path], "--allow")
    first = asyncio.create_task(service.ask(roots, "q", None, "text", None))
    while not service.running:
        await asyncio.sleep(0.01)
    with pytest.raises(InputError, match="1 questions are being answered"):
        await service.ask(roots, "q", None, "text", None)
    assert (await first)["answer"] == "first"
    assert service.running == 0
    assert (await service.ask(roots, "q", None, "text", None))["answer"] == "third"
