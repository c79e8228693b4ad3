"""A cost a server writes in a string (`"usage": {"cost": "0.30"}`: gateways that quote their numbers, as they quote
token counts) is the call's cost. It was read as no cost: the call was priced from the price table, far below what
the provider said it charged, and a run under `Budget(max_usd=0.50)` made 9 calls the server billed $2.70 for."""

from __future__ import annotations

from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, completion_body, usage
from rlmx import RLM, Budget
from rlmx.lm import OpenAICompatibleLM
from rlmx.lm.openai_reply import _dollars

MESSAGES: Any = [{"role": "user", "content": "hi"}]
pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")


@pytest.mark.parametrize(
    ("field", "written", "cost"),
    [
        ("cost", "0.30", 0.30),
        ("cost", " 2.5e-4 ", 0.00025),
        ("cost", ".5", 0.5),
        ("cost_in_usd_ticks", "3000000000", 0.3),  # xAI's
        ("cost", {"total_cost": "1"}, 1.0),  # Perplexity's object
    ],
)
async def test_a_quoted_cost_is_the_calls_cost(server: FakeOpenAIServer, field: str, written: Any, cost: float) -> None:
    server.script(Reply(body=completion_body(usage={**usage(100, 20), field: written})))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.usage.cost_usd == pytest.approx(cost)


@pytest.mark.parametrize("written", ["-0.3", "nan", "inf", "0.3 USD", "", "1e999", "٣"])
def test_what_is_no_cost_is_not_read_as_one(written: str) -> None:
    assert _dollars(written) is None
    assert _dollars(float("inf")) is None and _dollars(True) is None and _dollars(10**400) is None


def test_a_usd_budget_binds_on_quoted_costs(server: FakeOpenAIServer) -> None:
    body = completion_body("```repl\nprint(len(context))\n```", usage={**usage(10, 10), "cost": "0.30"})
    for _ in range(9):
        server.script(Reply(body=body))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    result = RLM(lm, prices={"m": (0.01, 0.01)}, budget=Budget(max_usd=0.50, max_iterations=8)).completion(
        "How long?", context="abcd"
    )
    assert len(server.requests) <= 2, result.stop_reason
    assert result.usage.cost_usd >= 0.30 * len(server.requests) * 0.99
