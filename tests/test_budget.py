"""Tree-wide budgets: worst-case reservation before each call, so no fan-out or chain overshoots."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, completion_body, fault, usage
from rlmx import RLM, Budget, Event, InputError
from rlmx.budget import BudgetExhausted, Ledger, UsageReport
from rlmx.lm import GuidedRoot, Message, OpenAICompatibleLM, ScriptedLM
from rlmx.lm.base import (
    CALL_OVERHEAD_TOKENS,
    DEFAULT_SYSTEM_PROMPT_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    Usage,
    message_token_bound,
    token_bound,
)
from rlmx.lm.prices import Price, PriceTable, Tier
from scripting import depth_of, is_sub_call, repl, turn_of

FANOUT = repl(
    "answer['content'] = 'draft'\n"
    "outs = llm_query_batched([f'q{i}' for i in range(64)])\n"
    "answer['content'] = f\"{sum(not o.startswith('Error') for o in outs)} ok\"\n"
    "print(outs[-1])"
)


def fixed_lms(root_replies: list[str]) -> tuple[ScriptedLM, ScriptedLM]:
    root = ScriptedLM(root_replies, model="gpt-test-root", input_tokens=1000, output_tokens=50)
    sub = ScriptedLM(lambda m: "fine", model="gpt-test-sub", input_tokens=100, output_tokens=50)
    return root, sub


PRICES = {"gpt-test-root": (1.0, 2.0), "gpt-test-sub": (1.0, 2.0)}  # USD per million tokens


async def test_64_way_fan_out_sends_only_what_the_token_budget_fits() -> None:
    root, sub = fixed_lms([FANOUT, repl("FINAL('never')")])
    budget = Budget(max_tokens=1050 + 10 * 150, max_tokens_per_call=50)  # the first root call + 10 sub-calls
    result = await RLM(root, sub_lm=sub, budget=budget).acompletion("q", context="c")
    assert len(sub.calls) == 10
    assert result.usage.total.total_tokens == 2550  # to the token
    assert (result.status, result.answer, result.answer_source) == ("budget_exhausted", "10 ok", "answer_buffer")
    assert result.stop_reason.startswith("max_tokens")


async def test_64_way_fan_out_stays_within_a_usd_budget_to_the_cent() -> None:
    root, sub = fixed_lms([FANOUT, repl("FINAL('never')")])
    # root call: 1000 in + 50 out = $0.0011; each sub-call: 100 in + 50 out = $0.0002
    budget = Budget(max_usd=0.0011 + 10 * 0.0002, max_tokens_per_call=50)
    result = await RLM(root, sub_lm=sub, budget=budget, prices=PRICES).acompletion("q", context="c")
    assert len(sub.calls) == 10
    assert result.usage.total.cost_usd == pytest.approx(0.0031, abs=1e-9)
    assert result.usage.total.cost_usd <= 0.0031 + 1e-12
    assert result.answer == "10 ok"
    assert result.usage.by_model["gpt-test-sub"].cost_usd == pytest.approx(0.002)


async def test_refused_items_tell_the_model_why() -> None:
    root, sub = fixed_lms([FANOUT, repl("FINAL('never')")])
    events: list[Event] = []
    budget = Budget(max_tokens=1050 + 10 * 150, max_tokens_per_call=50)
    await RLM(root, sub_lm=sub, budget=budget, on_event=events.append).acompletion("q", context="c")
    (cell,) = [e for e in events if e.type == "cell"]
    assert (
        "Error: budget exhausted: max_tokens: token budget: 2,550 of 2,550 tokens used or reserved"
        in cell.data["output"]
    )


def chain_script(messages: list[Message]) -> str:
    if is_sub_call(messages):
        return "leaf"
    depth, turn = depth_of(messages), turn_of(messages)
    if depth < 2:
        return [repl("r = rlm_query('go deeper')\nanswer['content'] = r"), repl("FINAL(r)")][min(turn, 2) - 1]
    return [repl("r = llm_query('leaf question')"), repl("FINAL(r + '!')")][min(turn, 2) - 1]


async def test_a_3_deep_chain_shares_one_token_budget() -> None:
    lm = ScriptedLM(chain_script, input_tokens=300, output_tokens=20)
    unlimited = await RLM(lm, max_depth=3, budget=Budget(max_tokens_per_call=20)).acompletion("q", context="c")
    assert unlimited.answer == "leaf!" and unlimited.usage.child_rlms == 2
    full = unlimited.usage.total.total_tokens  # 7 calls of 320 tokens
    assert full == 7 * 320 and set(unlimited.usage.by_depth) == {0, 1, 2, 3}

    lm = ScriptedLM(chain_script, input_tokens=300, output_tokens=20)
    budget = Budget(max_tokens=5 * 320 + 100, max_tokens_per_call=20)  # the 6th call's prompt does not fit
    result = await RLM(lm, max_depth=3, budget=budget).acompletion("q", context="c")
    assert len(lm.calls) == 5 and result.usage.total.total_tokens == 5 * 320
    # the depth-1 child was stopped with "leaf!" in its buffer: handed up marked unfinished (README, Budgets)
    assert (result.status, result.answer_source) == ("budget_exhausted", "answer_buffer")
    assert result.answer.startswith("[unfinished: this child RLM was stopped (budget exhausted: max_tokens")
    assert result.answer.endswith("its answer so far]\nleaf!") and "1 child RLM did not finish" in result.stop_reason


async def test_a_3_deep_chain_shares_one_usd_budget() -> None:
    lm = ScriptedLM(chain_script, model="gpt-test", input_tokens=300, output_tokens=20)
    budget = Budget(max_usd=0.001, max_tokens_per_call=20)  # each call: 300 * $1/M + 20 * $2/M = $0.00034
    result = await RLM(lm, max_depth=3, budget=budget, prices={"gpt-test": (1.0, 2.0)}).acompletion("q", context="c")
    # Two full calls, then a third whose reply is capped at the 10 tokens the last $0.00002 buys.
    assert len(lm.calls) == 3 and result.usage.total.output_tokens == 20 + 20 + 10
    assert result.usage.total.cost_usd == pytest.approx(0.001) and result.usage.total.cost_usd <= 0.001 + 1e-12
    assert result.status == "budget_exhausted"


async def test_output_cap_is_sent_to_the_lm_and_shrinks_to_fit() -> None:
    seen: list[int] = []

    class Recording(ScriptedLM):
        async def complete(self, messages, **params):  # type: ignore[no-untyped-def]
            seen.append(params["max_tokens"])
            return await super().complete(messages, **params)

    lm = Recording([repl("x = 1"), repl("FINAL(x)")], input_tokens=100, output_tokens=500)
    result = await RLM(lm, budget=Budget(max_tokens=1000, max_tokens_per_call=600)).acompletion("q", context="c")
    assert seen == [600, 1000 - 600 - 100]  # the second call only gets what is left
    assert result.usage.total.total_tokens <= 1000


async def test_forced_extraction_when_the_buffer_is_empty() -> None:
    def root(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("You were answering"):
            return "FINAL(the partial answer)"
        return repl("print('x' * 19000)") if turn_of(messages) == 1 else repl("FINAL('unreached')")

    lm = ScriptedLM(root)
    result = await RLM(lm, budget=Budget(max_tokens=4000, max_tokens_per_call=100)).acompletion("q", context="c")
    assert (result.answer, result.answer_source, result.status) == (
        "the partial answer",
        "forced_extraction",
        "budget_exhausted",
    )
    assert result.usage.total.total_tokens <= 4000
    assert "run was stopped" in lm.calls[-1][1]["content"]


def test_usd_budget_needs_prices_for_every_model() -> None:
    with pytest.raises(InputError, match="no price is known for mystery-model"):
        RLM(ScriptedLM(["x"], model="mystery-model"), budget=Budget(max_usd=1.0))


def test_price_table_matches_dated_and_routed_names() -> None:
    table = PriceTable({"my-model": (1.0, 3.0)})
    assert table.lookup("gpt-4o-2024-08-06") == table.lookup("gpt-4o")
    assert table.lookup("openai/gpt-5-mini") == table.lookup("gpt-5-mini")
    assert table.lookup("local:SmolLM2") is not None and table.lookup("local:SmolLM2").cost(10**6, 10**6) == 0  # type: ignore[union-attr]
    assert table.lookup("my-model").cost(1_000_000, 1_000_000) == 4.0  # type: ignore[union-attr]
    assert table.lookup("unknown-model") is None


async def test_provider_cost_wins_over_the_table() -> None:
    lm = ScriptedLM([repl("FINAL(1)")], model="gpt-4o", cost_usd=0.5)
    result = await RLM(lm).acompletion("q", context="c")
    assert result.usage.total.cost_usd == 0.5


async def test_depth_lms_pick_the_model_at_each_depth() -> None:
    root = ScriptedLM([repl("FINAL(rlm_query('child') + '|' + llm_query('plain'))")], model="root-model")
    child_root = ScriptedLM(lambda m: repl("FINAL(llm_query('leaf'))"), model="depth1-model")
    leaf = ScriptedLM(lambda m: "from depth 2", model="depth2-model")
    rlm = RLM(root, depth_lms={1: child_root, 2: leaf}, max_depth=2)
    result = await rlm.acompletion("q", context="c")
    assert result.answer == "from depth 2|" + "```repl\nFINAL(llm_query('leaf'))\n```"
    assert set(result.usage.by_model) == {"root-model", "depth1-model", "depth2-model"}


# --- against a real OpenAI-compatible server (tests/fake_openai_server.py) -------------------------------------


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def halves_script(pieces: int) -> str:
    return repl(
        f"step = -(-len(context) // {pieces})\n"
        f"parts = [context[i:i + step] for i in range(0, len(context), step)]\n"
        "outs = llm_query_batched(['Summarise: ' + p for p in parts])\n"
        "answer['content'] = f\"{sum(not o.startswith('Error') for o in outs)} ok\""
    )


@pytest.mark.parametrize("per_char", [1.0, 2.0, 3.0])
def test_a_cjk_fan_out_never_exceeds_max_input_tokens(server: FakeOpenAIServer, per_char: float) -> None:
    server.behaviour = Behaviour(text="摘要", non_ascii_per_char=per_char)
    document = "今天天气很好我们去公园散步然后一起吃饭" * 400  # 8,000 CJK characters
    root = ScriptedLM([halves_script(16), repl("FINAL(answer['content'])")], input_tokens=500, output_tokens=50)
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
    budget = Budget(max_input_tokens=6_000)
    result = RLM(root, sub_lm=sub, budget=budget).completion("总结", context=document)
    billed_input = sum(b.prompt_tokens for b in server.billed)
    assert 0 < len(server.billed) < 16  # some pieces fit, the rest were refused before being sent
    assert result.usage.input_tokens == 2 * 500 + billed_input <= 6_000  # counted = billed, within the budget
    assert result.usage.overshoot_tokens == 0


def test_an_emoji_and_code_fan_out_never_exceeds_max_tokens(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text="ok", non_ascii_per_char=4.0)
    document = "👨‍👩‍👧 def f(x): return x[::-1]  # 🎉\n" * 300
    root = ScriptedLM([halves_script(32), repl("FINAL(answer['content'])")], input_tokens=500, output_tokens=50)
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
    budget = Budget(max_tokens=12_000, max_tokens_per_call=64)
    result = RLM(root, sub_lm=sub, budget=budget).completion("q", context=document)
    assert result.usage.total_tokens == 2 * 550 + server.billed_tokens <= 12_000
    assert result.usage.overshoot_tokens == 0 and len(server.billed) > 0


def test_without_usage_the_ledger_counts_at_least_what_the_server_billed(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text="A fairly ordinary summary sentence. " * 3, usage="none")
    root = ScriptedLM([halves_script(8), repl("FINAL(answer['content'])")], input_tokens=500, output_tokens=50)
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
    result = RLM(root, sub_lm=sub, budget=Budget(max_tokens=200_000)).completion("q", context="lorem ipsum " * 800)
    assert len(server.billed) == 8
    assert result.usage.sub.total_tokens >= server.billed_tokens
    assert result.usage.sub.estimated_calls == 8 and result.usage.overshoot_tokens == 0


def test_an_alias_is_priced_under_the_name_it_was_admitted_as(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=repl("print(len(context))"), model="vendor/the-routed-model")
    lm = OpenAICompatibleLM("auto", server.base_url, max_retries=0)
    rlm = RLM(lm, prices={"auto": (3.0, 15.0)}, budget=Budget(max_usd=0.01, max_iterations=30, max_tokens_per_call=200))
    result = rlm.completion("How long?", context="abcd")
    billed = sum(b.prompt_tokens * 3.0 + b.completion_tokens * 15.0 for b in server.billed) / 1e6
    assert result.usage.cost_usd == pytest.approx(billed) and 0 < billed <= 0.01
    assert set(result.usage.by_model) == {"auto"} and result.usage.total.unpriced_calls == 0
    assert result.stop_reason.startswith("max_usd") and len(server.requests) < 30


def test_an_unpriced_model_under_a_usd_budget_is_refused_before_any_request(server: FakeOpenAIServer) -> None:
    with pytest.raises(InputError, match="no price is known for auto"):
        RLM(OpenAICompatibleLM("auto", server.base_url), budget=Budget(max_usd=1.0))
    with pytest.raises(InputError, match="no price is known for mystery"):
        sub = OpenAICompatibleLM("mystery", server.base_url)
        RLM(ScriptedLM(["x"]), models={"other": sub}, budget=Budget(max_usd=1.0))
    assert server.requests == []


def test_a_model_that_searches_on_every_call_is_not_priced_without_its_search_fee(server: FakeOpenAIServer) -> None:
    # OpenAI bills gpt-4o-search-preview and gpt-5-search-api a web search on every call; the price database holds
    # their tokens' rates and no fee: priced at tokens alone, a $0.05 budget let through calls billed 3x it
    for model in ("gpt-4o-search-preview", "gpt-5-search-api"):
        with pytest.raises(InputError, match=rf"no price is known for {model}.*search fee per call"):
            RLM(OpenAICompatibleLM(model, server.base_url), budget=Budget(max_usd=0.05))
    assert server.requests == []
    server.behaviour = Behaviour(text=repl("FINAL('done')"))
    searching = {"gpt-4o-search-preview": Price(2.5, 10.0, per_request=0.03)}
    lm = OpenAICompatibleLM("gpt-4o-search-preview", server.base_url)
    result = RLM(lm, prices=searching, budget=Budget(max_usd=0.05)).completion("q", context="c")
    billed = sum(b.prompt_tokens * 2.5 + b.completion_tokens * 10.0 for b in server.billed) / 1e6 + 0.03
    assert result.answer == "done" and result.usage.cost_usd == pytest.approx(billed)


@pytest.mark.parametrize(
    ("asked", "served", "beyond_the_reservation"),
    [("gpt-4o-mini", "gpt-4o", True), ("gpt-4o", "gpt-4o-2024-05-13", False)],
)
def test_a_reply_a_dearer_known_model_served_is_booked_at_its_price(
    server: FakeOpenAIServer, asked: str, served: str, beyond_the_reservation: bool
) -> None:
    # a gateway's fallback (asked gpt-4o-mini, answered by gpt-4o), an Azure deployment named gpt-4o running the
    # older, dearer snapshot: the bill is at the model that answered, 2x-16x what the asked name's price booked
    served_price, asked_price = PriceTable().lookup(served), PriceTable().lookup(asked)
    assert served_price is not None and asked_price is not None
    assert served_price.output_per_million > asked_price.output_per_million
    server.behaviour = Behaviour(text=repl("print(len(context))"), model=served)
    lm = OpenAICompatibleLM(asked, server.base_url, max_retries=0)
    budget = Budget(max_usd=0.05, max_iterations=30, max_tokens_per_call=300)
    result = RLM(lm, budget=budget).completion("How long?", context="abcd")
    billed = sum(served_price.cost(b.prompt_tokens, b.completion_tokens) for b in server.billed)
    assert result.usage.cost_usd == pytest.approx(billed) and set(result.usage.by_model) == {asked}
    if beyond_the_reservation:  # 16x: the first reply costs more than its reservation held, and the run stops
        assert result.stop_reason.startswith("max_usd: overshoot") and len(server.requests) == 1
        assert f"a call to {asked} was answered by {served}, whose list price is higher" in result.stop_reason
    else:  # 2x: within what each call reserved (an upper bound), so the budget stops it in time, booked right
        assert result.stop_reason.startswith("max_usd") and billed <= 0.05 and len(server.requests) > 1


@pytest.mark.parametrize(
    "model", ["o3-deep-research", "openai/o4-mini-deep-research", "perplexity/sonar-deep-research"]
)
def test_a_model_that_searches_many_times_a_call_is_not_priced(server: FakeOpenAIServer, model: str) -> None:
    # a deep-research call runs as many searches as its task takes (5-30 seen): booked at tokens, a $0.05 budget let
    # through calls billed 6x it
    with pytest.raises(InputError, match=rf"no price is known for {re.escape(model)}.*search fee"):
        RLM(OpenAICompatibleLM(model, server.base_url), budget=Budget(max_usd=0.05))


def test_one_model_reached_through_a_gateways_name_keeps_its_makers_fee() -> None:
    # genai-prices' OpenRouter row for Perplexity's sonar has no per-request fee; Perplexity's own row has $0.012
    table = PriceTable()
    direct, routed = table.lookup("perplexity/sonar"), table.lookup("openrouter/perplexity/sonar")
    assert direct is not None and routed is not None and direct.per_request > 0
    assert routed.per_request == direct.per_request


@pytest.mark.parametrize(
    ("routed", "maker"),
    [
        ("openrouter/google/gemini-2.5-flash-image", "google/gemini-2.5-flash-image"),
        ("openrouter/google/gemini-3-pro-image-preview", "google/gemini-3-pro-image-preview"),
        ("openrouter/openai/gpt-audio", "openai/gpt-audio"),
    ],
)
def test_one_model_reached_through_a_gateways_name_keeps_its_makers_media_rates(routed: str, maker: str) -> None:
    # OpenRouter's row ties with the maker's on text and lists no image or audio rate: taken whole, it left the
    # gateway's spelling of an image model unpriceable (its run stopped at the first reply), or refused up front
    table = PriceTable()
    via, own = table.lookup(routed), table.lookup(maker)
    assert via is not None and own is not None
    media = [own.media_rate(kind, "output") for kind in ("audio", "image")]
    assert any(media) and [via.media_rate(kind, "output") for kind in ("audio", "image")] == media
    assert via.most(300, 1400) == pytest.approx(own.most(300, 1400))


@pytest.mark.parametrize(
    ("routed", "maker"),
    [
        ("openrouter/google/gemini-2.5-pro-preview-03-25", "google/gemini-2.5-pro-preview-03-25"),
        ("openrouter/anthropic/claude-3.7-sonnet", "anthropic/claude-3.7-sonnet"),
    ],
)
def test_one_model_reached_through_a_gateways_name_keeps_its_makers_tiers_and_cache_rates(
    routed: str, maker: str
) -> None:
    # the gateway's row ties with the maker's on text but lists no >200k tier (Gemini 2.5 Pro: $2.50/$15 above it) or
    # no cache-write rate (Claude: 1.25x input): taken whole, long prompts were booked at half and writes at 0.8x,
    # and a USD budget was overshot unnoticed
    table = PriceTable()
    via, own = table.lookup(routed), table.lookup(maker)
    assert via is not None and own is not None and (own.tiers or own.cache_write_per_million)
    assert (via.tiers, via.cache_write_per_million) == (own.tiers, own.cache_write_per_million)
    assert via.most(250_000, 1_000) == pytest.approx(own.most(250_000, 1_000))


PAID_TOOLS = [
    ("grok-3", {"search_parameters": {"mode": "on", "max_search_results": 20}}, "search_parameters"),
    ("grok-3", {"search_parameters": {}}, "search_parameters"),  # xAI's default mode is "auto"
    ("grok-3", {"tools": [{"type": "live_search"}]}, "tools"),
    ("gpt-4o", {"web_search_options": {"search_context_size": "low"}}, "web_search_options"),
    ("openai/gpt-4o", {"plugins": [{"id": "web", "max_results": 5}]}, "plugins"),
    ("gemini-2.5-flash", {"tools": [{"google_search": {}}]}, "tools"),
    ("claude-sonnet-4-5", {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools"),
    ("openai/gpt-4o:online", {}, ":online"),
]


@pytest.mark.parametrize(("model", "params", "tool"), PAID_TOOLS)
def test_a_request_that_turns_on_a_paid_tool_needs_a_price_holding_its_fee(
    server: FakeOpenAIServer, model: str, params: dict[str, Any], tool: str
) -> None:
    # grok-3 sent with Live Search on was admitted at its tokens' price ($0.06 a call) while each call was billed
    # $0.50 for its 20 sources: a batch spent 6x max_usd before the first reply came back. A tool the provider runs
    # is billed per use, a fee no price row holds, however the request turns it on.
    lm = OpenAICompatibleLM(model, server.base_url, **params)
    with pytest.raises(InputError, match=rf"{re.escape(model)} \(its {re.escape(tool)} fee\).*per_request=USD"):
        RLM(ScriptedLM(["x"]), sub_lm=lm, budget=Budget(max_usd=1.0))
    assert server.requests == []
    stated = RLM(lm, prices={model: Price(3.0, 15.0, per_request=0.5)}, budget=Budget(max_usd=1.0))
    assert stated.unpriced_models() == []
    assert Ledger(stated.budget, prices=stated.prices).reserve(model, 1000, 100).usd >= 0.5  # the fee is reserved


def test_request_settings_that_bill_nothing_more_leave_a_model_priced_at_its_tokens(server: FakeOpenAIServer) -> None:
    function = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    for params in (
        {"search_parameters": {"mode": "off"}},
        {"tools": [function]},
        {"plugins": [{"id": "response-healing"}]},
        {"modalities": ["text"]},
    ):
        lm = OpenAICompatibleLM("grok-3", server.base_url, **params)
        assert RLM(lm, budget=Budget(max_usd=1.0)).unpriced_models() == []


def test_output_a_reply_does_not_split_by_kind_is_booked_at_the_rate_admission_assumed() -> None:
    # Admission bounds an image model's output at $30/M; a reply without an image count was settled at $2.50/M,
    # freeing most of each reservation for the next call while the bill ran to 8x max_usd.
    ledger = Ledger(Budget(max_usd=0.05), prices=PriceTable())
    held = ledger.reserve("gemini-2.5-flash-image", 300, 1400)
    unsplit = Usage(300, held.output_tokens, unreported_output_media=frozenset({"image"}))
    assert ledger.settle(held, unsplit, role="root", depth=0).cost_usd == pytest.approx(held.usd)
    told = Usage(300, 1300, unreported_output_media=frozenset({"audio", "video"}))  # images counted: none
    assert PriceTable().cost("gemini-2.5-flash-image", told) == pytest.approx((300 * 0.3 + 1300 * 2.5) / 1e6)
    both = Price(1.0, 10.0, output_audio_per_million=64.0, output_image_per_million=30.0)
    assert both.cost(0, 1000, unreported={"image"}) == pytest.approx(1000 * 30.0 / 1e6)  # only the kinds left out
    assert both.cost(0, 1000, unreported={"audio", "image"}) == pytest.approx(1000 * 64.0 / 1e6)


def test_the_users_price_wins_over_the_list_price_of_the_model_that_answered(server: FakeOpenAIServer) -> None:
    # an Azure deployment priced by its owner ("prod-4o" at their discount) that answers as gpt-4o-2024-11-20: the
    # discount is given for the name that answers too (a deployment's price alone no longer hides a dearer model
    # answering it: test_budget_round77)
    server.behaviour = Behaviour(text=repl("FINAL('done')"), model="gpt-4o-2024-11-20")
    lm = OpenAICompatibleLM("prod-4o", server.base_url)
    discount = {"prod-4o": (1.25, 5.0), "gpt-4o-2024-11-20": (1.25, 5.0)}
    result = RLM(lm, prices=discount, budget=Budget(max_usd=0.05)).completion("q", context="c")
    billed = sum(b.prompt_tokens * 1.25 + b.completion_tokens * 5.0 for b in server.billed) / 1e6
    assert result.answer == "done" and result.usage.cost_usd == pytest.approx(billed)


@pytest.mark.parametrize("path", ["after a gateway's 504", "a rejected reply"])
def test_a_dearer_model_that_answered_is_booked_at_its_price_on_every_path(server: FakeOpenAIServer, path: str) -> None:
    # the price of the model a reply names was applied to a plain reply only: a re-send's answer or a rejected
    # (empty, billed) reply was booked at the asked model's price, 3-20x under the bill
    gpt_4o = PriceTable().lookup("gpt-4o")
    assert gpt_4o is not None
    if path == "a rejected reply":
        server.script(Reply(body=completion_body("", model="gpt-4o", usage=usage(20, 300))))
    else:
        server.script(fault.server_error(504), Reply(body=completion_body("ok", model="gpt-4o", usage=usage(20, 300))))
    lm = OpenAICompatibleLM("gpt-4o-mini", server.base_url, max_retries=1)
    root = ScriptedLM([repl("print(llm_query('q'))\nFINAL('done')")])
    result = RLM(root, sub_lm=lm, prices={"scripted": (0.0, 0.0)}, budget=Budget(max_usd=1.0)).completion("q", "c")
    assert result.usage.by_model["gpt-4o-mini"].cost_usd >= gpt_4o.cost(20, 300)


@pytest.mark.parametrize("path", ["a rejected reply", "the answer to a re-send after a 504"])
def test_a_reply_billed_at_a_dearer_service_tier_is_booked_so_on_every_path(
    server: FakeOpenAIServer, path: str
) -> None:
    # the tier was read from an accepted reply only: a rejected (empty, billed) reply or a re-send's answer at the
    # priority tier was booked at the standard rate and the run went on past its budget
    billed = {
        **completion_body("" if path == "a rejected reply" else "ok", usage=usage(20, 300)),
        "service_tier": "priority",
    }
    replies = [Reply(body=billed)] if path == "a rejected reply" else [fault.server_error(504), Reply(body=billed)]
    server.script(*replies)
    lm = OpenAICompatibleLM("gpt-4o", server.base_url, max_retries=1)
    root = ScriptedLM([repl("print(llm_query('q'))"), repl("print(llm_query('q'))"), repl("FINAL('done')")])
    result = RLM(root, sub_lm=lm, prices={"scripted": (0.0, 0.0)}, budget=Budget(max_usd=1.0)).completion("q", "c")
    assert result.stop_reason.startswith("max_usd: overshoot: a call was billed as gpt-4o[priority]"), (
        result.stop_reason
    )
    assert lm.price_name == "gpt-4o[priority]" and len(server.requests) == len(replies)  # no call after it


def test_a_reply_a_cheaper_model_served_is_booked_at_the_price_it_was_admitted_at(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=repl("FINAL('done')"), model="gpt-4o-mini")
    result = RLM(OpenAICompatibleLM("gpt-4o", server.base_url), budget=Budget(max_usd=0.05)).completion("q", "c")
    price = PriceTable().lookup("gpt-4o")
    assert price is not None
    billed = sum(price.cost(b.prompt_tokens, b.completion_tokens) for b in server.billed)
    assert result.answer == "done" and result.usage.cost_usd == pytest.approx(billed)


def test_a_service_tier_billed_above_list_price_is_priced_only_by_the_users_rate(server: FakeOpenAIServer) -> None:
    # OpenAI bills service_tier="priority" at about 1.8x the list price genai-prices holds; flex at half is safe.
    priority = OpenAICompatibleLM("gpt-4o", server.base_url, service_tier="priority")
    with pytest.raises(InputError, match=r"gpt-4o\[priority\].*service tier billed above the list price"):
        RLM(priority, budget=Budget(max_usd=1.0))
    assert server.requests == []
    assert RLM(OpenAICompatibleLM("gpt-4o", server.base_url, service_tier="flex"), budget=Budget(max_usd=1.0))
    server.behaviour = Behaviour(text=repl("FINAL('done')"))
    rlm = RLM(priority, prices={"gpt-4o[priority]": (4.25, 17.0)}, budget=Budget(max_usd=1.0))
    result = rlm.completion("q", context="c")
    billed = sum(b.prompt_tokens * 4.25 + b.completion_tokens * 17.0 for b in server.billed) / 1e6
    assert result.answer == "done" and billed > 0 and result.usage.cost_usd == pytest.approx(billed)
    assert set(result.usage.by_model) == {"gpt-4o[priority]"}
    assert server.requests[0].body["service_tier"] == "priority" and server.requests[0].body["model"] == "gpt-4o"
    unbudgeted = RLM(priority).completion("q", context="c")  # no USD limit: run, and say the cost is unknown
    assert unbudgeted.usage.total.unpriced_calls == 1
    guided = GuidedRoot(priority)  # wrapped as the guided root's reader, it is still the priority tier's
    with pytest.raises(InputError, match=r"gpt-4o\[priority\]"):
        RLM(guided, sub_lm=guided.reader, budget=Budget(max_usd=1.0))


@pytest.mark.parametrize("behaviour", [Behaviour(overbill=3.0), Behaviour(ignore_cap=True)])
def test_a_server_that_bills_past_its_cap_is_caught_and_stops_the_run(
    server: FakeOpenAIServer, behaviour: Behaviour
) -> None:
    behaviour.text = "word " * 400  # 500 tokens by the server's count, far past the cap of 50
    server.behaviour = behaviour
    root = ScriptedLM(
        [repl("a = llm_query('one')"), repl("b = llm_query('two')"), repl("FINAL('done')")],
        input_tokens=200,
        output_tokens=20,
    )
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
    result = RLM(root, sub_lm=sub, budget=Budget(max_tokens=5_000, max_tokens_per_call=50)).completion("q", context="c")
    assert len(server.billed) == 1  # nothing was admitted after the overshoot
    assert result.usage.overshoot_tokens == server.billed[0].completion_tokens - 50 > 0
    assert result.usage.sub.total_tokens == server.billed_tokens  # booked as billed
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_tokens: overshoot")
    assert result.usage.to_dict()["overshoot_tokens"] == result.usage.overshoot_tokens


def test_token_bound_is_the_utf8_byte_count_for_every_script() -> None:
    assert [token_bound(t) for t in ("abc", "字", "é", "🎉", "👨‍👩‍👧")] == [3, 3, 2, 4, 18]
    messages: list[Message] = [{"role": "user", "content": "字" * 10}]
    alone = CALL_OVERHEAD_TOKENS + DEFAULT_SYSTEM_PROMPT_TOKENS + 30 + MESSAGE_OVERHEAD_TOKENS
    assert message_token_bound(messages) == alone  # no system message: the template's default one may come instead
    system: list[Message] = [{"role": "system", "content": "abc"}, *messages]
    assert message_token_bound(system) == CALL_OVERHEAD_TOKENS + 3 + 30 + 2 * MESSAGE_OVERHEAD_TOKENS


# A chat template's default system prompt, rendered when a request carries no system message (Mistral Small 3.1's
# is about 640 characters, Devstral Small 2's about 2,400): the server bills it as prompt.
TEMPLATE_DEFAULT_SYSTEM = (
    "You are a helpful assistant built by a lab in a large city. Your knowledge was last updated some time ago. "
    "When you are unsure, say so and invent nothing; when a question is unclear, ask what is meant. "
) * 12  # about 2,400 characters


@pytest.mark.parametrize("repeat", [3, 12])
def test_a_template_default_system_prompt_billed_on_short_sub_calls_stays_within_the_bound(
    server: FakeOpenAIServer, repeat: int
) -> None:
    """Sub-calls send one user message; a template then adds its default system prompt, and the bound holds."""
    injected = TEMPLATE_DEFAULT_SYSTEM[: len(TEMPLATE_DEFAULT_SYSTEM) * repeat // 12]

    def template(body: dict[str, Any]) -> Reply | None:
        messages = body["messages"]
        shown = "".join(m["content"] for m in messages)
        if messages[0]["role"] != "system":
            shown = injected + shown
        return Reply(body=completion_body("chat", usage=usage(server.behaviour.tokens(shown), 1)))

    server.behaviour = Behaviour(route=template)
    sub = OpenAICompatibleLM("mistral-small", server.base_url, max_retries=0)
    script = repl("outs = llm_query_batched(['French for cat?'] * 6)\nFINAL(outs[0])")
    root = ScriptedLM([script], input_tokens=500, output_tokens=50)
    result = RLM(root, sub_lm=sub, budget=Budget(max_tokens=200_000, max_tokens_per_call=64)).completion("q")
    assert len(server.requests) == 6 and result.answer == "chat"
    assert result.usage.overshoot_tokens == 0 and result.status == "finished"


def test_list_prices_come_from_genai_prices_and_the_users_win() -> None:
    table = PriceTable({"gpt-4o": (1.0, 1.0)})
    listed = PriceTable().lookup("gpt-4o-mini")
    assert listed is not None and listed.source.startswith("genai-prices")
    assert (listed.input_per_million, listed.output_per_million) == (0.15, 0.6)
    assert table.lookup("gpt-4o") == Price(1.0, 1.0)
    assert PriceTable().lookup("gpt-4o-made-up-variant") is None  # no guess from a resembling name
    tiered = PriceTable().lookup("gemini-2.5-pro")
    assert tiered is not None and tiered.cost(300_000, 0) > 300_000 * tiered.input_per_million / 1e6
    per_call = PriceTable().lookup("perplexity/sonar")  # tokens and a fee per request
    assert per_call is not None and per_call.per_request > 0 and per_call.cost(0, 0) == per_call.per_request


def test_a_price_that_changes_with_the_hour_is_its_dearest_at_any_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as real_dt

    from rlmx.lm import prices

    def looked_up_at(hour: int, minute: int) -> Price | None:
        class At(real_dt.datetime):
            @classmethod
            def now(cls, tz: real_dt.tzinfo | None = None) -> real_dt.datetime:
                return real_dt.datetime(2026, 12, 1, hour, minute, tzinfo=real_dt.UTC)

        with monkeypatch.context() as patch:
            patch.setattr(prices.dt, "datetime", At)
            return prices._database_price("deepseek-chat")

    # 20:00 UTC is in DeepSeek's discount hours (genai-prices 0.2.3): a lookup then holds the peak rates too
    assert looked_up_at(20, 0) == looked_up_at(12, 0) is not None


def test_prompt_cache_writes_kept_an_hour_are_priced_at_their_rate() -> None:
    price = Price(1.0, 5.0, cache_write_per_million=1.25, cache_write_1h_per_million=2.0)
    assert price.cost(1_000_000, 0, cache_write=1_000_000, cache_write_1h=400_000) == pytest.approx(0.75 + 0.8)
    assert price.most(1_000_000, 0) == pytest.approx(1.25)  # rlmx never asks for an hour's writes
    listed = PriceTable().lookup("claude-sonnet-4-5")
    assert listed is not None and listed.cache_write_1h_per_million == 2 * listed.input_per_million


def test_prompt_cache_reads_and_writes_are_priced_at_their_own_rates() -> None:
    price = Price(1.0, 5.0, cache_read_per_million=0.1, cache_write_per_million=1.25)
    assert price.cost(1_000_000, 0) == pytest.approx(1.0)
    assert price.cost(1_000_000, 0, cache_read=800_000) == pytest.approx(0.2 + 0.08)
    assert price.cost(1_000_000, 0, cache_write=1_000_000) == pytest.approx(1.25)
    assert price.cost(10, 0, cache_read=50, cache_write=50) == pytest.approx(10 * 0.1 / 1e6)  # never above the prompt
    assert price.most(1_000_000, 1_000_000) == pytest.approx(1.25 + 5.0)  # admission: the dearer input rate
    assert Price(1.0, 5.0).cost(100, 0, cache_read=100) == Price(1.0, 5.0).cost(100, 0)  # no cache rate: input's
    tiered = Price(1.0, 5.0, (Tier(100, 2.0, 10.0),), cache_read_per_million=0.1, cache_write_per_million=1.25)
    assert tiered.cost(1_000, 0, cache_read=1_000) == pytest.approx(1_000 * 0.2 / 1e6)  # the tier doubles it too
    listed = PriceTable().lookup("claude-haiku-4-5")
    assert listed is not None and (listed.cache_read_per_million, listed.cache_write_per_million) == (0.1, 1.25)


@pytest.mark.parametrize(
    ("reported", "read", "write"),
    [
        ({"prompt_tokens": 1000, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": 900}}, 900, 0),
        (  # Anthropic's own names: the prompt is the three counts together
            {
                "input_tokens": 100,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 900,
                "output_tokens": 10,
            },
            0,
            900,
        ),
        ({"prompt_tokens": 1000, "completion_tokens": 10, "prompt_cache_hit_tokens": 600}, 600, 0),  # DeepSeek
    ],
)
def test_a_cached_prompt_is_billed_as_the_provider_reports_it(
    server: FakeOpenAIServer, reported: dict[str, object], read: int, write: int
) -> None:
    server.script(Reply(body=completion_body("```repl\nFINAL('ok')\n```", usage=reported)))
    root = OpenAICompatibleLM("claude-haiku-4-5", server.base_url, max_retries=0)
    result = RLM(root, budget=Budget(max_usd=1.0)).completion("q", context="c")
    assert result.answer == "ok"
    expected = (1000 - read - write) * 1.0 + read * 0.1 + write * 1.25 + 10 * 5.0
    assert result.usage.cost_usd == pytest.approx(expected / 1e6)


def test_a_usd_budget_admits_a_prompt_at_the_cache_write_rate() -> None:
    """Anthropic bills a prompt written to its cache at 1.25x input: admission's bound holds that, so such a bill
    is no overshoot, and a budget that only covers the input rate refuses the call before it is sent."""
    ledger = Ledger(Budget(max_usd=1.0), prices=PriceTable())
    reservation = ledger.reserve("claude-haiku-4-5", 100_000, 1_000)
    assert reservation.usd == pytest.approx((100_000 * 1.25 + 1_000 * 5.0) / 1e6)
    billed = Usage(100_000, 1_000, cache_write_tokens=100_000)
    settled = ledger.settle(reservation, billed, role="root", depth=0)
    assert settled.cost_usd == pytest.approx(reservation.usd) and ledger.usage.overshoot_usd == 0
    tight = Ledger(Budget(max_usd=0.11), prices=PriceTable())  # 0.1 at the input rate, 0.125 as cache writes
    with pytest.raises(BudgetExhausted):
        tight.reserve("claude-haiku-4-5", 100_000, 1)


def test_a_usd_refusal_says_what_the_call_needs_as_the_token_refusal_does() -> None:
    # "and this call needs more" left the user guessing what to raise max_usd to; the token refusal gives a number
    ledger = Ledger(Budget(max_usd=0.01), prices=PriceTable())
    with pytest.raises(BudgetExhausted) as refused:
        ledger.reserve("gpt-4o", 20_000, 500)  # the prompt alone: 20,000 x $2.50/M = $0.05
    need = PriceTable().lookup("gpt-4o")
    assert need is not None
    least = need.at(20_000).most(20_000, 1)
    assert refused.value.limit == "max_usd"
    assert f"needs at least ${least:.6f} more (20,000 prompt tokens)" in refused.value.detail


def test_a_refused_sub_call_names_max_subcalls_first_as_every_refusal_names_its_limit() -> None:
    lm = ScriptedLM([repl("outs = llm_query_batched(['a', 'b', 'c'])\nFINAL(outs[2])")])
    result = RLM(lm, sub_lm=ScriptedLM(lambda m: "ok"), budget=Budget(max_subcalls=2)).completion("q", context="c")
    assert result.answer.startswith("Error: max_subcalls: sub-call budget spent: all 2 sub-calls")


def test_a_fan_out_waits_for_calls_in_flight_instead_of_refusing_on_their_upper_bounds(
    server: FakeOpenAIServer,
) -> None:
    server.behaviour = Behaviour(text="A short summary.", latency=0.02)
    document = "plain english words for the reader " * 400  # 14,000 ASCII characters: bound ~4x the real count
    root = ScriptedLM([halves_script(16), repl("FINAL(answer['content'])")], input_tokens=500, output_tokens=50)
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
    limit = 5_200 + 2 * DEFAULT_SYSTEM_PROMPT_TOKENS  # room for the last piece's bound after 15 real counts
    budget = Budget(max_tokens=limit, max_tokens_per_call=64)
    result = RLM(root, sub_lm=sub, budget=budget, max_concurrency=16).completion("q", context=document)
    per_call_bound = message_token_bound([{"role": "user", "content": "Summarise: " + document[:875]}]) + 64
    assert (limit - 2 * 550) // per_call_bound < 4  # admitted on upper bounds alone, at most 3 would run
    assert len(server.billed) == 16 and result.answer == "16 ok"  # the real counts let every piece through
    assert result.usage.total_tokens == 2 * 550 + server.billed_tokens <= limit


def test_calls_queued_for_a_slot_are_not_sent_after_an_overshoot(server: FakeOpenAIServer) -> None:
    """64 sub-calls admitted, 4 at a time: the first reply bills far past its cap, and the 60 still waiting for a
    slot never reach the server (only the calls already in flight were billed)."""
    server.behaviour = Behaviour(text="word " * 3000, ignore_cap=True, latency=0.2)
    sub = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=0)
    root = ScriptedLM(
        [repl("r = llm_query_batched(['q%d' % i for i in range(64)])\nprint(len(r))"), repl("FINAL('done')")]
    )
    budget = Budget(max_tokens=20_000, max_tokens_per_call=256)
    result = RLM(root, sub_lm=sub, max_concurrency=4, budget=budget).completion("go", context="x")
    assert len(server.requests) <= 4
    assert result.usage.to_dict()["overshoot_tokens"] > 0 and "overshoot" in result.stop_reason


def test_a_call_that_timed_out_is_booked_at_its_reservation_for_each_request(server: FakeOpenAIServer) -> None:
    """The server may bill a request it never answered: a timed-out call (sent twice, a retry) counts twice its
    reservation, never nothing, so the budget holds against what was billed."""
    server.behaviour = Behaviour(text="ok", latency=1.5)
    sub = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", timeout=0.5, max_retries=1)
    root = ScriptedLM([repl("try:\n    llm_query('q')\nexcept Exception as e:\n    print(e)"), repl("FINAL('x')")])
    result = RLM(root, sub_lm=sub, budget=Budget(max_tokens=100_000, max_tokens_per_call=256)).completion(
        "go", context="x"
    )
    sub_usage = result.usage.to_dict()["sub"]
    assert len(server.requests) == 2
    assert sub_usage["output_tokens"] == 2 * 256 and sub_usage["estimated_calls"] >= 1


def test_a_reply_rejected_as_malformed_still_books_the_usage_it_reported(server: FakeOpenAIServer) -> None:
    from fake_openai_server import Reply

    malformed = {
        "choices": [{"index": 0, "message": {"content": 42}}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 800},
    }
    server.script(Reply(body=malformed))
    server.behaviour = Behaviour(text=repl("FINAL('done')"))
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=0)
    result = RLM(lm, budget=Budget(max_tokens=100_000)).completion("q", context="c")
    assert result.answer == "done" and result.usage.total_tokens >= 1700 + server.billed_tokens


def test_requests_that_timed_out_before_the_answered_one_are_booked(server: FakeOpenAIServer) -> None:
    """The client re-sent a request whose reply was late: the server billed both, the ledger books both."""
    from fake_openai_server import Reply

    server.behaviour = Behaviour(text=repl("FINAL('done')") + "\n" + "word " * 5000)
    server.script(Reply(delay=1.0))
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=1, timeout=0.4)
    result = RLM(lm, budget=Budget(max_tokens=1_000_000, max_tokens_per_call=512)).completion("q", context="c")
    time.sleep(0.8)  # the late reply is billed when the server finishes it
    assert len(server.requests) == 2 and result.answer == "done"
    assert result.usage.total_tokens >= server.billed_tokens and result.usage.to_dict()["root"]["estimated_calls"] >= 1


@pytest.mark.parametrize("failure", ["timeout", "not_json", "gateway_timeout"])
def test_a_re_send_is_admitted_like_a_call_and_never_spends_past_the_budget(
    server: FakeOpenAIServer, failure: str
) -> None:
    """A request that timed out or came back unreadable may have been billed: sending it again needs budget for
    another request, and where there is none the call fails with that said, within the limit."""
    from fake_openai_server import Reply, fault

    first = Reply(delay=1.0) if failure == "timeout" else fault.not_json()
    if failure == "gateway_timeout":  # Cloudflare's 524: the origin got the request and may bill it
        first = Reply(
            524, "<html><body>error code: 524</body></html>", {"content-type": "text/html", "retry-after": "0"}
        )
    server.script(first, first, first)
    server.behaviour = Behaviour(text=repl("FINAL('done')"))
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=3, timeout=0.3)
    tokens = message_token_bound([{"role": "user", "content": "x" * 4000}])  # about one request's reservation
    result = RLM(lm, budget=Budget(max_tokens=int(tokens * 2.2), max_tokens_per_call=200)).completion("q", context="c")
    assert len(server.requests) < 4  # the retries the client allows, cut short by the budget
    assert result.status == "error" and "not sent again: the budget has no room" in result.stop_reason
    assert result.usage.total_tokens <= int(tokens * 2.2) and result.usage.overshoot_tokens == 0


def test_re_sends_the_budget_can_hold_go_out_and_are_booked_within_it(server: FakeOpenAIServer) -> None:
    from fake_openai_server import fault

    server.script(fault.not_json(), fault.not_json())
    server.behaviour = Behaviour(text=repl("FINAL('done')"))
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=2)
    result = RLM(lm, budget=Budget(max_tokens=200_000, max_tokens_per_call=200)).completion("q", context="c")
    assert (len(server.requests), result.answer, result.usage.overshoot_tokens) == (3, "done", 0)
    assert result.usage.total_tokens >= 2 * 200  # the two unreadable replies, booked at their reservations


def test_a_call_cut_off_while_re_sending_books_every_request_it_sent(server: FakeOpenAIServer) -> None:
    from fake_openai_server import Reply

    server.script(*[Reply(delay=3.0)] * 8)
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=6, timeout=0.3)
    budget = Budget(max_seconds=1.5, max_tokens=1_000_000, max_tokens_per_call=200)
    result = RLM(lm, budget=budget).completion("q", context="c")
    sent = len(server.requests)
    assert result.status != "finished" and sent >= 2
    assert result.usage.output_tokens == sent * 200  # the cap of each request, the one cut off included


def test_a_call_cut_off_by_max_seconds_is_booked_not_released(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text="late", latency=3.0)
    lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k")
    result = RLM(lm, budget=Budget(max_seconds=1, max_tokens=100_000)).completion("q", context="c")
    assert result.status != "finished" and result.usage.total_tokens > 0 and result.usage.calls == 1


def test_requests_that_got_no_answer_are_each_priced_as_a_request_of_their_own() -> None:
    # A per-request fee and a long-prompt tier: two timed-out requests and the answered one are three requests of
    # 150k tokens each (under the 200k tier, one fee each), never one request of their summed 450k tokens.
    price = Price(1.0, 5.0, (Tier(200_000, 2.0, 10.0),), per_request=0.01)
    ledger = Ledger(Budget(max_usd=5.0), prices=PriceTable({"m": price}))
    reservation = ledger.reserve("m", 150_000, 1_000)
    answered = Usage(150_000, 200)
    booked = ledger.unanswered(reservation, 2, answered)
    assert booked.cost_usd == pytest.approx(price.cost(150_000, 200) + 2 * price.most(150_000, 1_000))
    assert (booked.input_tokens, booked.estimated) == (450_000, True)
    # a provider that reported more than the list price for the answered request: each lost one may have cost that
    dear = ledger.unanswered(reservation, 1, Usage(150_000, 200, cost_usd=0.5))
    assert dear.cost_usd == pytest.approx(1.0)


async def test_structured_request_fields_count_in_the_prompts_bound(server: FakeOpenAIServer) -> None:
    # Providers bill a response_format schema and tools as prompt: a 7k-token schema on small calls was admitted
    # at the messages' bound alone and billed 18x the input budget.
    schema = {"type": "json_schema", "json_schema": {"name": "s", "schema": {"description": "field " * 1_000}}}
    tools = [{"type": "function", "function": {"name": "f", "description": "tool " * 500}}]
    plain = OpenAICompatibleLM("m", server.base_url)
    shaped = OpenAICompatibleLM("m", server.base_url, response_format=schema, tools=tools, temperature=0.0)
    messages: list[Message] = [{"role": "user", "content": "hi"}]
    extra = await shaped.count_tokens(messages) - await plain.count_tokens(messages)
    assert extra >= len("field " * 1_000) + len("tool " * 500)
    assert await plain.count_tokens(messages) == message_token_bound(messages)


def test_text_that_tokenizers_normalise_first_is_bounded_by_its_longest_form() -> None:
    # Qwen's tokenizer applies NFC (a musical symbol's 4 bytes become 8), SentencePiece's nmt_nfkc NFKC (U+FDFA's
    # 3 bytes become 33): the byte count of the text as written was under what they tokenize.
    assert token_bound("\U0001d15f" * 10) == 80
    assert token_bound("\ufdfa") == 33
    assert token_bound("caf\u00e9 \u65e5\u672c") == len("caf\u00e9 \u65e5\u672c".encode())  # already normal


async def test_a_resend_waits_for_sibling_calls_to_settle_instead_of_being_refused() -> None:
    # A batch's calls hold their upper bounds; one reply broke off and its re-send did not fit beside them: it
    # was refused at once (that sub-call failed) though the siblings spent a fraction of their bounds.
    import asyncio

    ledger = Ledger(Budget(max_tokens=350), prices=PriceTable())
    broken, sibling = ledger.reserve("m", 100, 50), ledger.reserve("m", 100, 50)  # 300 held: a third 150 waits
    resend = asyncio.ensure_future(ledger.extend_waiting(broken))
    await asyncio.sleep(0.01)
    assert not resend.done()  # waiting, not refused
    ledger.settle(sibling, Usage(10, 5), role="sub", depth=1)
    assert await asyncio.wait_for(resend, 1) is True and broken.copies == 2
    alone = Ledger(Budget(max_tokens=200), prices=PriceTable())
    assert await alone.extend_waiting(alone.reserve("m", 100, 50)) is False  # nothing else held: no room, no wait


def test_a_reply_billed_at_a_dearer_service_tier_than_asked_is_booked_at_it(server: FakeOpenAIServer) -> None:
    # An OpenAI project set to the priority tier answers every request "service_tier": "priority" and bills ~1.8x;
    # rlmx had booked it at the list (standard) price.
    def billed_priority(replies: list[str]) -> Any:
        def route(body: dict[str, Any]) -> Reply:
            reply = completion_body(replies.pop(0) if replies else repl("FINAL('ok')"), usage=usage(1000, 20))
            return Reply(body={**reply, "service_tier": "priority"})

        return route

    server.behaviour = Behaviour(route=billed_priority([repl("print(1)"), repl("FINAL('ok')")]))
    unknown = RLM(OpenAICompatibleLM("gpt-4o-mini", server.base_url), budget=Budget(max_usd=1.0))
    stopped = unknown.completion("q", context="c")
    assert "billed as gpt-4o-mini[priority], whose price is not known" in stopped.stop_reason
    assert len(server.requests) == 1
    server.behaviour = Behaviour(route=billed_priority([repl("print(1)"), repl("FINAL('ok')")]))
    priced = RLM(
        OpenAICompatibleLM("gpt-4o-mini", server.base_url),
        prices={"gpt-4o-mini[priority]": (0.3, 1.2)},
        budget=Budget(max_usd=1.0),
    ).completion("q", context="c")
    assert priced.answer == "ok" and set(priced.usage.by_model) == {"gpt-4o-mini[priority]"}
    assert priced.usage.cost_usd == pytest.approx(2 * (1000 * 0.3 + 20 * 1.2) / 1e6)


def test_a_child_the_budget_stops_with_nothing_is_a_failed_call_not_an_empty_answer() -> None:
    def reply(messages: list[Message]) -> str:
        if depth_of(messages) > 0:
            return repl("import time\ntime.sleep(5)")
        code = "r = rlm_query_batched(['a', 'b'])\ntry:\n    rlm_query('c')\n"
        return repl(code + "except RuntimeError as exc:\n    r.append(str(exc))\nFINAL(r)")

    result = RLM(ScriptedLM(reply), max_depth=2, budget=Budget(max_seconds=1.5)).completion("q", context="c")
    answers = json.loads(result.answer)
    assert len(answers) == 3 and all("budget exhausted" in a for a in answers), answers
    assert answers[0].startswith("Error: budget exhausted: max_seconds"), answers


def test_a_cut_off_call_of_an_lm_that_bills_nothing_is_released_not_booked() -> None:
    # A local model's reads cut off by Ctrl-C or the time budget were booked at their whole reservation: "8,192
    # tokens out" that no one produced (an HTTP server may have billed a request it got, so those stay booked).
    class Local(ScriptedLM):
        bills_cancelled_calls = False

    for lm, booked in ((ScriptedLM(["never"], delay=5), True), (Local(["never"], delay=5), False)):
        budget = Budget(max_seconds=0.5, max_tokens=100_000, max_tokens_per_call=4096)
        result = RLM(lm, budget=budget).completion("q", context="c")
        assert result.status == "budget_exhausted"
        assert (result.usage.total.output_tokens >= 4096) is booked, result.usage.total


def _trace_sums(events: list[Event]) -> tuple[int, int, float]:
    """Input tokens, output tokens and USD over the events that carry a call's usage (what the viewer adds up)."""
    carrying = [e.data for e in events if e.type in ("lm_call", "subcall_end", "lm_reply_rejected")]
    counted = [d for d in carrying if "input_tokens" in d]
    return (
        sum(d["input_tokens"] for d in counted),
        sum(d["output_tokens"] for d in counted),
        sum(d["cost_usd"] or 0.0 for d in counted),
    )


def test_every_billed_request_is_in_the_traces_sums(server: FakeOpenAIServer) -> None:
    # a schema sub-call whose first reply is prose is asked again, and an empty reply is rejected and asked again:
    # the trace carried only the second ask of each, so the viewer's per-node totals fell short of result.usage
    cell = "x = llm_query('rate it', schema={'type': 'object'})\nprint(x)\nFINAL(llm_query('and again?'))"
    replies = [
        Reply(body=completion_body(repl(cell), usage=usage(400, 60))),
        Reply(body=completion_body("It is fine, I would say.", usage=usage(60, 40))),  # not JSON: asked again
        Reply(body=completion_body('{"score": 3}', usage=usage(90, 10))),
        Reply(body=completion_body("", usage=usage(20, 500))),  # empty and billed: rejected, asked again
        Reply(body=completion_body("yes", usage=usage(20, 5))),
    ]
    server.script(*replies)
    events: list[Event] = []
    lm = OpenAICompatibleLM("gpt-4o-mini", server.base_url, max_retries=0)
    result = RLM(lm, budget=Budget(max_usd=1.0), on_event=events.append).completion("q", context="c")
    assert result.answer == "yes" and len(server.requests) == 5
    total = result.usage.total
    assert (total.input_tokens, total.output_tokens) == (590, 615)
    assert _trace_sums(events) == (590, 615, pytest.approx(total.cost_usd))
    rejected = [e.data for e in events if e.type == "lm_reply_rejected"]
    assert [(d["input_tokens"], d["output_tokens"]) for d in rejected] == [(20, 500)]


# --- a total with unpriced calls ------------------------------------------------------------------------------


def test_a_total_that_holds_an_unpriced_call_reports_its_cost_as_unknown_not_as_the_priced_part() -> None:
    # every usage dict (Result.to_dict, MCP replies, `rlmx ask --json`, the trace's run_end) said "cost_usd": 0.0, or
    # the priced calls' sum, for a run with a paid call rlmx could not price
    report = UsageReport()
    report.add(Usage(100, 10, 0.002), role="root", depth=0, model="priced")
    report.add(Usage(100, 10, None), role="sub", depth=1, model="unpriced")
    totals = report.to_dict()
    assert totals["cost_usd"] is None and totals["unpriced_calls"] == 1 and totals["priced_cost_usd"] == 0.002
    assert (totals["root"]["cost_usd"], totals["sub"]["cost_usd"]) == (0.002, None)
    assert totals["by_model"]["priced"]["cost_usd"] == 0.002 and totals["by_model"]["unpriced"]["cost_usd"] is None
    assert totals["by_depth"]["1"]["cost_usd"] is None
    result = RLM(ScriptedLM([repl("FINAL('ok')")], model="a-model-with-no-price")).completion("q", context="c")
    assert result.to_dict()["usage"]["cost_usd"] is None


# --- image output tokens ---------------------------------------------------------------------------------------


DRAWN = Usage(300, 1300, image_output_tokens=1290)
"""One 1024px image from Gemini 2.5 Flash Image: 1,290 output tokens, and 10 of text."""


def test_image_output_tokens_are_priced_at_the_image_rate_and_admitted_at_it() -> None:
    # booked at the $2.50 text rate, a run of Gemini 2.5 Flash Image spent 8x its max_usd ($30/M for images)
    price = PriceTable().lookup("gemini-2.5-flash-image")
    assert price is not None and (price.output_per_million, price.output_image_per_million) == (2.5, 30.0)
    cost = PriceTable().cost("gemini-2.5-flash-image", DRAWN)
    assert cost == pytest.approx((300 * 0.3 + 10 * 2.5 + 1290 * 30.0) / 1e6)
    assert price.most(0, 1_000_000) == pytest.approx(30.0)  # a model that may draw: every output token at 30
    ledger = Ledger(Budget(max_usd=0.05), prices=PriceTable())
    reservation = ledger.reserve("gemini-2.5-flash-image", 300, 1400)
    assert reservation.usd == pytest.approx((300 * 0.3 + 1400 * 30.0) / 1e6)
    settled = ledger.settle(reservation, DRAWN, role="root", depth=0)
    assert settled.cost_usd == pytest.approx(cost) and ledger.overshoot is None
    assert ledger.reserve("gemini-2.5-flash-image", 300, 1400).output_tokens < 1290  # the rest buys no image


def test_image_tokens_at_a_rate_nobody_knows_leave_the_cost_unknown_and_stop_a_usd_budget() -> None:
    ledger = Ledger(Budget(max_usd=1.0), prices=PriceTable({"drawer": Price(0.3, 2.5)}))
    settled = ledger.settle(ledger.reserve("drawer", 300, 1400), DRAWN, role="root", depth=0)
    assert settled.cost_usd is None and ledger.usage.total.unpriced_calls == 1
    with pytest.raises(BudgetExhausted, match=r"image tokens, whose price is not known.*output_image_per_million"):
        ledger.reserve("drawer", 10, 10)


def test_a_price_names_the_kinds_of_output_asked_for_that_it_has_no_rate_for() -> None:
    assert Price(0.3, 2.5).unpriced_outputs(["image", "text"]) == ["image"]
    drawer = Price(0.3, 2.5, output_image_per_million=30.0)
    assert drawer.unpriced_outputs(["text", "image", "audio"]) == ["audio"] and drawer.unpriced_outputs(["text"]) == []
    assert drawer.cost(0, 100, media={"image": (0, 1_000)}) == pytest.approx(100 * 30.0 / 1e6)  # never above output


def test_a_cost_of_0_reported_for_a_call_that_used_tokens_is_the_list_price_when_there_is_one() -> None:
    # A LiteLLM-style proxy reports cost 0.0 for a model it cannot price: a run of codestral-latest billed 3x max_usd
    # while rlmx booked $0 with no call unpriced.
    table = PriceTable()
    listed = table.cost("codestral-latest", Usage(1_000, 100))
    assert listed is not None and listed > 0
    assert table.cost("codestral-latest", Usage(1_000, 100, 0.0)) == pytest.approx(listed)
    assert table.cost("codestral-latest", Usage(1_000, 100, 0.5)) == 0.5  # a cost above 0 is the provider's word
    assert table.cost("codestral-latest", Usage(0, 0, 0.0)) == 0.0  # no tokens, nothing to bill
    assert table.cost("meta-llama/llama-3.3-8b-instruct:free", Usage(1_000, 100, 0.0)) == 0.0  # free, no price


def test_a_cost_of_0_said_beside_a_dearer_served_model_or_an_unpriced_tier_says_nothing() -> None:
    # A proxy that says cost 0 and falls back to gpt-4o was booked at gpt-4o-mini's price (2x max_usd unseen); a
    # priority-tier reply with cost 0 was booked as a priced $0.
    # Looked up first: with no USD budget the served model's price is fetched in the background when not at hand
    # (PriceTable.served_cost), so with an empty price cache (a fresh CI machine) the booking depended on test order.
    listed = PriceTable().cost("gpt-4o", Usage(1_000, 500))
    ledger = Ledger(Budget(), prices=PriceTable())
    used = Usage(1_000, 500, 0.0)
    served = ledger.settle(ledger.reserve("gpt-4o-mini", 1_000, 500), used, role="root", depth=0, served="gpt-4o")
    assert served.cost_usd == pytest.approx(listed)
    tier = ledger.settle(ledger.reserve("gpt-4o", 1_000, 500), used, role="root", depth=0, billed_as="gpt-4o[priority]")
    assert tier.cost_usd is None and ledger.usage.to_dict()["unpriced_calls"] == 1


@pytest.mark.parametrize("cap", ["max_tokens", "max_completion_tokens"])
def test_a_budget_never_raises_the_lms_own_output_cap(server: FakeOpenAIServer, cap: str) -> None:
    # The budget's per-call cap was sent as the call's own max_tokens, replacing the user's smaller one (300 -> 800),
    # and reserved 800 tokens a call where 300 can come
    server.behaviour = Behaviour(text="ok")
    sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0, **{cap: 300})

    def sent_cap(per_call: int) -> int:
        root = ScriptedLM([repl("FINAL(llm_query('summarise'))")], input_tokens=100, output_tokens=20)
        budget = Budget(max_tokens=50_000, max_tokens_per_call=per_call)
        assert RLM(root, sub_lm=sub, budget=budget).completion("q", context="c").answer == "ok"
        body = server.requests[-1].body
        return int(body.get("max_tokens", body.get("max_completion_tokens")))

    assert sent_cap(800) == 300
    assert sent_cap(100) == 100  # a smaller budget cap still binds


async def test_an_lm_keeping_its_cap_as_an_attribute_is_not_asked_for_more() -> None:
    # LocalLM keeps max_tokens as an attribute, not in params: the budget's 4096 was reserved and sent, replacing
    # the user's 256
    seen: list[int] = []

    class Capped(ScriptedLM):
        max_tokens = 256

        async def complete(self, messages, **params):  # type: ignore[no-untyped-def]
            seen.append(params["max_tokens"])
            return await super().complete(messages, **params)

    lm = Capped([repl("FINAL(1)")], input_tokens=100, output_tokens=20)
    await RLM(lm, budget=Budget(max_tokens=50_000, max_tokens_per_call=4096)).acompletion("q", context="c")
    assert seen == [256]


def test_the_guided_root_runs_under_a_token_budget(tmp_path: Any) -> None:
    # The offline default's second turn was refused: its conversation holds the guided library (~137k tokens by
    # estimate), which no LM reads
    reader = ScriptedLM(lambda messages: "nothing to read", input_tokens=50, output_tokens=5)
    text = "\n".join(f"line {i}: the Aurora project is on schedule" for i in range(836))
    result = RLM(GuidedRoot(reader), budget=Budget(max_tokens=20_000)).completion(
        "How many lines are there?", context=text
    )
    assert result.status == "finished" and "836" in result.answer, (result.status, result.stop_reason)


def test_the_guided_roots_stop_names_the_limit_that_refused_its_reading() -> None:
    # `--max-tokens 150` offline stopped with "max_subcalls: ..." though no sub-call limit was set
    reader = ScriptedLM(lambda messages: "7391-KESTREL", input_tokens=120, output_tokens=5)
    lines = [f"Line {i}: the weavers borrowed the benches." for i in range(200)]
    lines[120] = "The launch code for the Aurora project is 7391-KESTREL."
    result = RLM(GuidedRoot(reader), budget=Budget(max_tokens=150)).completion(
        "What is the launch code for the Aurora project?", context="\n".join(lines)
    )
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_tokens: token budget"), (
        result.stop_reason
    )


def test_a_local_reading_stopped_by_the_time_limit_is_not_booked_at_the_budgets_cap() -> None:
    # The guided root's reader wrapper had neither the local model's cap nor its "bills nothing cut off": two
    # readings stopped by --max-seconds were booked as 8,192 output tokens
    class Local(ScriptedLM):
        bills_cancelled_calls = False
        max_tokens = 512

    reader = Local(["never"], delay=5)
    reader.model = "local:test"
    result = RLM(GuidedRoot(reader), budget=Budget(max_seconds=0.8, max_tokens=100_000)).completion(
        "What is the launch code for the Aurora project?", context="The launch code for Aurora is 7391-KESTREL."
    )
    assert result.status == "budget_exhausted" and result.usage.total.output_tokens == 0, result.usage.total


def test_sub_calls_a_usd_limit_refused_before_sending_are_not_counted_as_made() -> None:
    # 26 "sub-calls" reported for a run that made 10: each refused one was counted, and took a max_subcalls slot
    cell = "outs = llm_query_batched(['a'] * 5)\nfine = sum(not o.startswith('Error') for o in outs)\n"
    cell += "FINAL(f'{fine} {llm_query_batched([\"short\"])[0]}')"
    root = ScriptedLM([repl(cell)], model="root-m")
    sub = ScriptedLM(lambda m: "ok", model="sub-m")
    prices = {"root-m": (0.0, 0.0), "sub-m": (100_000.0, 100_000.0)}  # no sub-call fits $0.50
    rlm = RLM(root, sub_lm=sub, prices=prices, budget=Budget(max_usd=0.5, max_subcalls=5))
    result = rlm.completion("q", context="c")
    assert result.usage.subcalls == 0 and sub.calls == []
    assert result.answer.startswith("0 Error: budget exhausted: max_usd")  # the 6th was not refused by max_subcalls
