"""What the MCP tools do, in process: budgets that only tighten, and a cap on questions answered at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from rlmx.budget import Budget
from rlmx.context import prepare_all
from rlmx.errors import InputError
from rlmx.lm.prices import Price
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.roots import Roots
from rlmx.mcp.service import RLMService, SessionEnded, forecast, tightened
from rlmx.rlm import RLM
from rlmx.sandbox.frames import RESERVED_NAMES
from scripting import worker_pidfile


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


async def test_ending_a_session_stops_the_question_it_is_answering(tmp_path: Path) -> None:
    # rlm_session_end on a session still answering waited for the whole question (up to --max-seconds), then said
    # `ended: true`, and the question came back as if nothing had happened.
    pidfile = worker_pidfile()
    cell = f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\nFINAL('late')"
    service = RLMService(RLM(ScriptedLM([f"```repl\n{cell}\n```"]), trace_dir=tmp_path))
    roots = Roots([tmp_path], "--allow")
    session_id = (await service.session_start(roots, None, "notes"))["session_id"]
    asking = asyncio.create_task(service.session_ask(roots, session_id, "q", None, None, None))
    for _ in range(600):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.05)
    worker = int(pidfile.read_text())
    started = time.monotonic()
    ended = await service.session_end(session_id)
    assert time.monotonic() - started < 10
    assert ended == {"session_id": session_id, "ended": True, "questions": 0}
    with pytest.raises(SessionEnded, match=f"session {session_id} was ended"):
        await asking
    deadline = time.monotonic() + 5  # SIGKILLed: dying takes the kernel a moment on a loaded machine
    while _alive(worker) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not _alive(worker), "the session's REPL outlived its end"
    assert (service.sessions, service.running) == ({}, 0)


async def test_ending_a_session_again_is_no_error_for_the_client_that_ended_it(tmp_path: Path) -> None:
    # rlm_session_end is annotated idempotent, so clients retry it on a timeout: the retry got "no open session".
    service = RLMService(RLM(ScriptedLM(["```repl\nFINAL(1)\n```"]), sandbox="inprocess"))
    roots = Roots([tmp_path], "--allow")
    mine, theirs = _Client(), _Client()
    session_id = (await service.session_start(roots, None, "notes", owner=mine))["session_id"]
    first = await service.session_end(session_id, owner=mine)
    assert first == {"session_id": session_id, "ended": True, "questions": 0}
    again = await service.session_end(session_id, owner=mine)
    assert again == {"session_id": session_id, "ended": True, "questions": 0, "already_ended": True}
    with pytest.raises(InputError, match="no open session"):  # another client learns nothing of it
        await service.session_end(session_id, owner=theirs)
    with pytest.raises(InputError, match="no open session"):  # and asking it stays an error
        await service.session_ask(roots, session_id, "q", None, None, None, owner=mine)
    with pytest.raises(InputError, match="no open session"):
        await service.session_end("never-opened", owner=mine)


class _Client:
    """Stands for an MCP client's connection (sessions hold a weak reference to the one that opened them)."""


def _alive(pid: int) -> bool:
    """As mcp_harness.alive, which this file does not import: the service runs without the [mcp] extra."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_forecasts_high_end_prices_output_at_the_dearest_rate_the_model_may_use() -> None:
    # an image model's forecast priced every output token at its $2.50 text rate, ~12x under a reply that draws
    def forecast_with(price: Price) -> dict[str, Any]:
        rlm = RLM(ScriptedLM(["FINAL(1)"], model="image-model"), prices={"image-model": price})
        return forecast(rlm, prepare_all("a short text " * 4_000, None, RESERVED_NAMES))

    drawing = forecast_with(Price(0.30, 2.50, output_image_per_million=30.0))
    text = forecast_with(Price(0.30, 2.50))
    assert drawing["cost_usd"]["low"] == text["cost_usd"]["low"]  # the low end prices text alone
    assert drawing["cost_usd"]["high"] > 3 * text["cost_usd"]["high"]
    as_admitted = forecast_with(Price(0.30, 30.0))  # admission bounds every output token at $30/M
    assert drawing["cost_usd"]["high"] == as_admitted["cost_usd"]["high"]
