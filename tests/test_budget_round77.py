"""A price the user gave a deployment or alias does not hide a dearer model answering it (audit 77, held-back kinds
v03): `prices={"prod-chat": mini's rate}` with gpt-4o answering every call ran nine calls, $0.09 at gpt-4o's list
price, under `max_usd=0.02`, booked $0.0054. The user's rate still wins for a snapshot of the model they priced
(a negotiated discount on gpt-4o-mini, answered as gpt-4o-mini-2024-07-18)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx import RLM, Budget
from rlmx.budget import same_model
from rlmx.lm.openai import OpenAICompatibleLM
from scripting import repl

MINI_RATE = (0.15, 0.60)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def test_a_dearer_model_answering_a_priced_deployment_is_booked_at_its_list_price(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=repl("print(len(context))"), model="gpt-4o-2024-08-06")
    lm = OpenAICompatibleLM("prod-chat", server.base_url, max_retries=0)
    budget = Budget(max_usd=0.02, max_iterations=30, max_tokens_per_call=2000)
    result = RLM(lm, prices={"prod-chat": MINI_RATE}, budget=budget).completion("How long?", context="abcd" * 500)
    assert result.stop_reason.startswith("max_usd"), result.stop_reason
    assert "a call to prod-chat was answered by gpt-4o-2024-08-06, whose list price is higher" in result.stop_reason
    assert len(server.requests) == 1


def test_the_users_rate_still_wins_for_a_snapshot_of_the_model_they_priced(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=repl("FINAL(len(context))"), model="gpt-4o-mini-2024-07-18")
    lm = OpenAICompatibleLM("gpt-4o-mini", server.base_url, max_retries=0)
    discount = (0.01, 0.02)
    result = RLM(lm, prices={"gpt-4o-mini": discount}, budget=Budget(max_usd=1.0)).completion("q", context="abcd")
    billed = sum(b.prompt_tokens * discount[0] + b.completion_tokens * discount[1] for b in server.billed) / 1e6
    assert result.answer == "4" and result.usage.cost_usd == pytest.approx(billed)


@pytest.mark.parametrize(
    ("priced", "served", "same"),
    [
        ("gpt-4o", "gpt-4o-2024-08-06", True),
        ("claude-3-5-sonnet", "claude-3-5-sonnet-20241022", True),
        ("gemini-1.5-pro", "gemini-1.5-pro-002", True),
        ("llama3", "llama3:latest", True),
        ("openai/gpt-4o", "GPT-4o-2024-05-13", True),
        ("prod-chat", "gpt-4o-2024-08-06", False),
        ("gpt-4o-mini", "gpt-4o", False),
        ("gpt-4", "gpt-4-32k", False),
        ("gpt-4", "gpt-4.1", False),
    ],
)
def test_same_model_tells_a_snapshot_from_another_model(priced: str, served: str, same: bool) -> None:
    assert same_model(priced, served) is same
