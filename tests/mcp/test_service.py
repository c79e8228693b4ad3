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


async def test_a_reply_says_the_cost_of_calls_to_a_model_with_no_price_is_unknown_not_free(tmp_path: Path) -> None:
    # rlm_ask answered "cost_usd": 0.0, overall and for the model, after a paid call to a model rlmx cannot price
    service = RLMService(RLM(ScriptedLM(["```repl\nFINAL('42')\n```"], model="an-unlisted-model"), sandbox="inprocess"))
    reply = await service.ask(Roots([tmp_path], "--allow"), "What is 6*7?", None, "some text", None)
    usage = reply["usage"]
    assert reply["answer"] == "42" and usage["lm_calls"] == 1 and usage["unpriced_calls"] == 1
    assert usage["cost_usd"] is None and usage["by_model"]["an-unlisted-model"]["cost_usd"] is None
