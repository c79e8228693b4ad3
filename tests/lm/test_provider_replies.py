"""What particular OpenAI-compatible servers send and refuse, through OpenAICompatibleLM on a real HTTP server on
127.0.0.1: counts of zero that were never made, a standard tier under a provider's own name, reasoning parts with
a summary list, credentials in base_url, refusals of `response_format`, of the output cap and of temperature in
their wordings, and a 303 See Other to a result URL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, completion_body, error_body, usage
from rlmx import RLM, Budget
from rlmx.errors import InputError, LMRequestError, LMServerError
from rlmx.lm.base import Message, message_token_bound
from rlmx.lm.openai import OpenAICompatibleLM

MESSAGES: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hi."},
]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


# --- usage counts of zero ---------------------------------------------------------------------------


async def test_zero_counts_for_a_prompt_and_a_reply_with_text_are_read_as_missing(server: FakeOpenAIServer) -> None:
    # LocalAI (llama.cpp and vLLM backends) and OpenVINO GenAI answer every call with 0, 0, 0: booked as they
    # stood, a token budget never bound.
    server.script(Reply(body=completion_body("Hello there, friend.", usage=usage(0, 0))))
    completion = await OpenAICompatibleLM("m", server.base_url, max_tokens=64).complete(MESSAGES)
    assert completion.usage.estimated
    assert completion.usage.input_tokens == message_token_bound(MESSAGES)
    assert completion.usage.output_tokens == 64  # the cap sent: the bound of what the reply may have cost


async def test_a_zero_reply_count_with_a_total_that_says_more_is_taken_from_the_total(
    server: FakeOpenAIServer,
) -> None:
    body = completion_body("Hi.", usage={"prompt_tokens": 12, "completion_tokens": 0, "total_tokens": 15})
    server.script(Reply(body=body))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 3)
    assert not completion.usage.estimated


async def test_a_zero_reply_count_for_an_empty_reply_stands(server: FakeOpenAIServer) -> None:
    body = completion_body("", usage=usage(12, 0), refusal="I can't help with that.")
    server.script(Reply(body=body))
    with pytest.raises(Exception, match="refus"):
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)


def test_a_token_budget_binds_a_fan_out_over_a_server_reporting_zeros(server: FakeOpenAIServer) -> None:
    def route(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("Summarise part"):  # a sub-call
            return Reply(body=completion_body("A summary of the part. " * 20, usage=usage(0, 0)))
        code = "parts = llm_query_batched(['Summarise part %d' % i for i in range(30)])\nFINAL(len(parts))"
        return Reply(body=completion_body(repl(code), usage=usage(0, 0)))

    server.behaviour = Behaviour(route=route)
    result = RLM(OpenAICompatibleLM("m", server.base_url), budget=Budget(max_tokens=3000)).completion(
        "Summarise every part.", context="part " * 200
    )
    assert result.usage.total.estimated_calls >= 1 and result.usage.total_tokens > 0  # no zeros booked as counts
    subcalls = [r for r in server.requests if r.body["messages"][-1]["content"].startswith("Summarise part")]
    assert len(subcalls) < 30  # the budget refused what it could not hold


# --- service tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["on_demand", "On-Demand", "batch"])
def test_a_providers_standard_tier_is_priced_at_the_models_price(server: FakeOpenAIServer, tier: str) -> None:
    # Groq tags every reply "service_tier": "on_demand" (its pay-as-you-go tier at list price): priced as a
    # dearer tier nobody had a price for, every USD-budgeted run stopped after its first call.
    replies = [repl("x = 6 * 7"), repl("FINAL(x)")]

    def route(body: dict[str, Any]) -> Reply:
        reply = completion_body(replies.pop(0) if replies else repl("FINAL(0)"), usage=usage(1000, 20))
        return Reply(body={**reply, "service_tier": tier})

    server.behaviour = Behaviour(route=route)
    lm = OpenAICompatibleLM("llama-3.3-70b-versatile", server.base_url)
    rlm = RLM(lm, prices={"llama-3.3-70b-versatile": (0.59, 0.79)}, budget=Budget(max_usd=1.0))
    result = rlm.completion("What is six times seven?", context="numbers")
    assert result.answer == "42" and result.status == "finished"
    assert result.usage.cost_usd == pytest.approx(2 * (1000 * 0.59 + 20 * 0.79) / 1e6)


def test_a_dearer_tiers_unknown_price_names_the_cli_flag_too(server: FakeOpenAIServer) -> None:
    def route(body: dict[str, Any]) -> Reply:
        return Reply(body={**completion_body(repl("print(1)"), usage=usage(10, 2)), "service_tier": "performance"})

    server.behaviour = Behaviour(route=route)
    result = RLM(OpenAICompatibleLM("m", server.base_url), prices={"m": (1, 1)}, budget=Budget(max_usd=1.0)).completion(
        "q", context="c"
    )
    assert "m[performance]" in result.stop_reason and "--price 'm[performance]=IN,OUT'" in result.stop_reason


# --- reasoning parts ------------------------------------------------------------------------------------


def databricks_reasoning(summary: str) -> dict[str, Any]:
    return {"type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}


async def test_a_reasoning_part_with_a_summary_list_is_read_as_reasoning(server: FakeOpenAIServer) -> None:
    # Databricks' Foundation Model API (Claude with thinking, gpt-oss): the reasoning is under "summary".
    content = [databricks_reasoning("Two and two make four."), {"type": "text", "text": "4"}]
    server.script(Reply(body=completion_body(content, usage=usage(10, 5))))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.text == "4" and completion.reasoning == "Two and two make four."


def test_a_root_reply_of_a_summary_reasoning_part_alone_is_a_turn(server: FakeOpenAIServer) -> None:
    replies: list[Any] = [
        completion_body([databricks_reasoning("I should count the words first.")], finish_reason="length"),
        completion_body(repl("FINAL(len(context.split()))")),
    ]
    server.behaviour = Behaviour(route=lambda body: Reply(body=replies.pop(0)))
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("How many words?", context="one two three four")
    assert result.status == "finished" and result.answer == "4"


# --- credentials in base_url ------------------------------------------------------------------------


async def test_credentials_in_base_url_are_sent_as_basic_auth_and_kept_out_of_messages(
    server: FakeOpenAIServer,
) -> None:
    # A reverse proxy with Basic auth in front of Ollama: aiohttp refused the URL beside rlmx's own
    # Authorization header with a bare ValueError (a traceback from the CLI).
    url = server.base_url.replace("http://", "http://ada:s%40cret@")
    lm = OpenAICompatibleLM("m", url)
    await lm.complete(MESSAGES)
    sent = server.requests[0].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(b"ada:s@cret").decode()
    assert "cret" not in lm.base_url and "ada" not in lm.base_url
    server.script(Reply(400, error_body("bad request")))
    with pytest.raises(LMRequestError) as refused:
        await lm.complete(MESSAGES)
    assert "cret" not in str(refused.value)


def test_the_cli_takes_credentials_in_base_url(server: FakeOpenAIServer, tmp_path: Any) -> None:
    import subprocess
    import sys

    server.behaviour = Behaviour(route=lambda body: Reply(body=completion_body(repl("FINAL('fine')"))))
    url = server.base_url.replace("http://", "http://ada:secret@")
    done = subprocess.run(
        [sys.executable, "-m", "rlmx", "ask", "How is it?", "--context", "-", "--model", "m", "--base-url", url],
        input="some text",
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "fine" and "Traceback" not in done.stderr
    assert server.requests[0].headers["authorization"].startswith("Basic ")


# --- refusals in more wordings ------------------------------------------------------------------------


async def test_a_refused_response_format_is_never_dropped_whatever_the_wording(server: FakeOpenAIServer) -> None:
    # Volcengine Ark: "`json_schema` is not supported by this model", param "response_format.type". Dropped, the
    # call "succeeded" with prose where a JSON schema was required.
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    lm = OpenAICompatibleLM("m", server.base_url, response_format=schema)
    said = (
        "The parameter `response_format.type` specified in the request is not valid: `json_schema` is not supported "
        "by this model."
    )
    server.script(Reply(400, error_body(said, param="response_format.type")))
    with pytest.raises(LMRequestError, match="json_schema` is not supported"):
        await lm.complete(MESSAGES)
    server.script(Reply(400, error_body("Unrecognized request argument supplied: response_format")))
    with pytest.raises(LMRequestError, match="Unrecognized request argument"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 2 and all("response_format" in r.body for r in server.requests)


async def test_moonshots_window_refusal_is_resent_at_what_fits(server: FakeOpenAIServer) -> None:
    said = "Invalid request: Your request exceeded model token limit: 8192 (requested: 9096)"
    server.script(Reply(400, error_body(said)))
    lm = OpenAICompatibleLM("moonshot-v1-8k", server.base_url, max_tokens=4096)
    await lm.complete(MESSAGES)
    assert [r.body["max_tokens"] for r in server.requests] == [4096, 4096 - (9096 - 8192)]


async def test_moonshots_older_wording_says_where_the_cap_came_from(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("model max length exceeded, max length:8192")))
    lm = OpenAICompatibleLM("moonshot-v1-8k", server.base_url, max_tokens=4096)
    with pytest.raises(LMRequestError, match="max_tokens=4096: the call's output cap"):
        await lm.complete(MESSAGES)


@pytest.mark.parametrize(
    "refusal",
    [
        "invalid temperature: only 1 is allowed for this model",  # Kimi K2 with thinking
        "invalid temperature: only 0.6 is allowed for this model",  # Kimi K2.5 without
        "`temperature` may only be set to 1 when thinking is enabled.",  # Anthropic, extended thinking
    ],
)
async def test_a_temperature_only_one_value_allows_is_left_out(server: FakeOpenAIServer, refusal: str) -> None:
    server.script(Reply(400, error_body(refusal)))
    lm = OpenAICompatibleLM("kimi-k2-thinking", server.base_url, temperature=0.2)
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    assert "temperature" in server.requests[0].body
    assert all("temperature" not in r.body for r in server.requests[1:])


@pytest.mark.parametrize(("param", "asked"), [("stop", ["END"]), ("reasoningEffort", "low")])
async def test_xais_does_not_support_parameter_leaves_it_out(server: FakeOpenAIServer, param: str, asked: Any) -> None:
    server.script(Reply(400, error_body(f"Model grok-4.5 does not support parameter {param}.")))
    name = "stop" if param == "stop" else "reasoning_effort"
    lm = OpenAICompatibleLM("grok-4.5", server.base_url, **{name: asked})
    assert (await lm.complete(MESSAGES)).text == "hi"
    assert name in server.requests[0].body and name not in server.requests[1].body


@pytest.mark.parametrize(
    ("stop", "text"), [(["</answer>", "\n\n"], "A"), ("B", "A</answer>"), (["ZZZ"], "A</answer>B")]
)
async def test_stop_sequences_a_server_refuses_are_applied_to_the_reply(
    server: FakeOpenAIServer, stop: Any, text: str
) -> None:
    # "Stop sequences are not supported": `stop` was left out, and the reply ran past where the caller asked it to
    # end ("A</answer>B" for stop="</answer>"). It is cut there instead, as the server would have cut it
    server.script(
        Reply(400, error_body("Stop sequences are not supported for this model.")),
        Reply(body=completion_body("A</answer>B", usage=usage(10, 4))),
        Reply(body=completion_body("A</answer>B", usage=usage(10, 4))),
    )
    lm = OpenAICompatibleLM("m", server.base_url, stop=stop)
    for _ in range(2):  # the refusal remembered: the next call is cut the same way
        completion = await lm.complete(MESSAGES)
        assert (completion.text, completion.finish_reason) == (text, "stop")
    assert "stop" in server.requests[0].body and all("stop" not in r.body for r in server.requests[1:])


async def test_a_value_a_parameter_does_not_support_is_still_the_callers_to_fix(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("'reasoning_effort' does not support 'minimal' with this model.")))
    with pytest.raises(LMRequestError, match="does not support 'minimal'"):
        await OpenAICompatibleLM("m", server.base_url, reasoning_effort="minimal").complete(MESSAGES)


# --- 303 See Other ---------------------------------------------------------------------------------------


async def test_a_same_origin_see_other_is_fetched_with_a_get(server: FakeOpenAIServer) -> None:
    # Modal's web endpoints answer a request running past 150 s with a 303 to a result URL (and again from there
    # while it still runs); the SDK and `curl -L` fetch it. rlmx said "set base_url to where the server lives".
    result_url = "/v1/results/abc?__modal_function_call_id=fc-1"
    server.script(
        Reply(303, "", {"location": result_url}),
        Reply(303, "", {"location": result_url}),
        Reply(body=completion_body("done", usage=usage(10, 1))),
    )
    lm = OpenAICompatibleLM("m", server.base_url, api_key="sk-test")
    completion = await lm.complete(MESSAGES)
    assert completion.text == "done"
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/v1/chat/completions"),
        ("GET", result_url),
        ("GET", result_url),
    ]
    assert server.requests[1].headers["authorization"] == "Bearer sk-test"


async def test_a_see_other_to_another_origin_is_an_error_that_counts_the_request(server: FakeOpenAIServer) -> None:
    server.script(Reply(303, "", {"location": "https://results.example.com/abc"}))
    lm = OpenAICompatibleLM("m", server.base_url, api_key="sk-test")
    with pytest.raises(LMRequestError, match="See Other") as raised:
        await lm.complete(MESSAGES)
    assert raised.value.unanswered == 1 and len(server.requests) == 1
    assert "set base_url to where the server lives" not in str(raised.value)


def test_the_fake_servers_get_is_recorded() -> None:
    with FakeOpenAIServer() as running:
        import urllib.request

        running.script(Reply(body={"ok": True}))
        with urllib.request.urlopen(running.base_url + "/anything") as reply:
            assert json.loads(reply.read()) == {"ok": True}
        assert running.requests[0].method == "GET"


# --- spending -------------------------------------------------------------------------------------------


async def test_moonshots_top_level_cached_tokens_are_cache_reads(server: FakeOpenAIServer) -> None:
    # Moonshot's API reference: "usage": {..., "cached_tokens": N}; billed at the cache rate, booked as fresh input.
    reported = {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010, "cached_tokens": 800}
    server.script(Reply(body=completion_body("ok", usage=reported)))
    completion = await OpenAICompatibleLM("kimi-k2", server.base_url).complete(MESSAGES)
    assert completion.usage.cache_read_tokens == 800


def test_every_reply_of_a_batch_billed_at_a_dearer_tier_is_booked_at_it(server: FakeOpenAIServer) -> None:
    # Sub-calls served at the priority tier (a project default) while the root's were not: only the first reply
    # back was booked at [priority], the 15 admitted before it came back at the standard price.
    def route(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("part"):
            delay = 0.02 * int(prompt.split()[1])  # they come back one by one, the first while the rest run
            return Reply(body={**completion_body("ok", usage=usage(100, 10)), "service_tier": "priority"}, delay=delay)
        code = "r = llm_query_batched(['part %d' % i for i in range(16)])\nFINAL(len(r))"
        return Reply(body=completion_body(repl(code), usage=usage(100, 10)))

    server.behaviour = Behaviour(route=route)
    prices = {"gpt-5-mini": (0.25, 2.0), "gpt-5-mini[priority]": (0.45, 3.6)}
    lm = OpenAICompatibleLM("gpt-5-mini", server.base_url)
    result = RLM(lm, prices=prices, budget=Budget(max_usd=1.0)).completion("q", context="c")
    assert result.answer == "16"
    assert result.usage.by_model["gpt-5-mini[priority]"].calls == 16


async def test_a_reply_without_usage_books_the_structured_fields_admission_reserved(server: FakeOpenAIServer) -> None:
    # tools and a response_format schema are billed as prompt; admission reserved them, but a reply without usage
    # was booked at the messages' bound alone, and the rest was handed to the next call.
    tools = [{"type": "function", "function": {"name": f"tool_{i}", "description": "d " * 40}} for i in range(10)]
    lm = OpenAICompatibleLM("m", server.base_url, tools=tools)
    server.script(Reply(body=completion_body("ok")))  # no usage at all
    completion = await lm.complete(MESSAGES)
    bound = await lm.count_tokens(MESSAGES)
    assert completion.usage.estimated and completion.usage.input_tokens == bound
    assert bound >= message_token_bound(MESSAGES) + 400  # the tools' JSON and the provider's tool prompt


# --- audio tokens -----------------------------------------------------------------------------------------


def audio_reply(transcript: str, audio_tokens: int) -> dict[str, Any]:
    body = completion_body(None, usage=usage(100, audio_tokens + 20), audio={"transcript": transcript, "data": "AAAA"})
    body["usage"]["completion_tokens_details"] = {"audio_tokens": audio_tokens, "text_tokens": 20}
    return body


async def test_audio_output_tokens_are_read_and_priced_at_the_audio_rate(server: FakeOpenAIServer) -> None:
    # gpt-audio bills audio output at $64 per million against $10 for text; booked at the text rate, a USD budget
    # let 6x its limit through.
    from rlmx.lm.prices import PriceTable

    server.script(Reply(body=audio_reply("Paris", 300)))
    completion = await OpenAICompatibleLM("gpt-audio", server.base_url, modalities=["text", "audio"]).complete(MESSAGES)
    assert completion.text == "Paris" and completion.usage.audio_output_tokens == 300
    cost = PriceTable().cost("gpt-audio", completion.usage)
    assert cost == pytest.approx((100 * 2.5 + 20 * 10 + 300 * 64) / 1e6)


async def test_image_output_tokens_are_read_and_priced_at_the_image_rate(server: FakeOpenAIServer) -> None:
    # Gemini 2.5 Flash Image (through OpenRouter) bills an image's 1,290 tokens at $30 per million, not the $2.50
    # of text: read as text, a USD budget let 8x its limit through.
    from rlmx.lm.prices import PriceTable

    body = completion_body("Here it is.", usage=usage(300, 1300))
    body["usage"]["completion_tokens_details"] = {"image_tokens": 1290, "reasoning_tokens": 0}
    server.script(Reply(body=body))
    lm = OpenAICompatibleLM("gemini-2.5-flash-image", server.base_url, modalities=["image", "text"])
    completion = await lm.complete(MESSAGES)
    assert completion.usage.image_output_tokens == 1290
    cost = PriceTable().cost("gemini-2.5-flash-image", completion.usage)
    assert cost == pytest.approx((300 * 0.3 + 10 * 2.5 + 1290 * 30.0) / 1e6)


def test_a_model_that_may_speak_is_admitted_at_its_audio_rate() -> None:
    from rlmx.lm.prices import PriceTable

    price = PriceTable().lookup("gpt-audio")
    assert price is not None and price.output_audio_per_million == 64
    assert price.most(0, 1_000_000) == pytest.approx(64)


def test_audio_tokens_at_a_rate_nobody_knows_stop_a_usd_budget(server: FakeOpenAIServer) -> None:
    replies = [repl("r = llm_query('say it')\nprint(r)"), repl("FINAL(r)")]

    def route(body: dict[str, Any]) -> Reply:
        if body["messages"][-1]["content"] == "say it":
            return Reply(body=audio_reply("spoken", 500))
        return Reply(body=completion_body(replies.pop(0) if replies else repl("FINAL(0)"), usage=usage(100, 10)))

    server.behaviour = Behaviour(route=route)
    lm = OpenAICompatibleLM("talker", server.base_url)
    result = RLM(lm, prices={"talker": (1.0, 2.0)}, budget=Budget(max_usd=1.0)).completion("q", context="c")
    assert "audio tokens, whose price is not known" in result.stop_reason


def test_a_model_that_searches_on_every_call_carries_the_search_fee() -> None:
    # gpt-4o-mini-search-preview searches the web on every request; the database gives it gpt-4o-mini's row, whose
    # $10 per thousand searches was never charged: 40 calls billed $0.40 were booked $0.0004.
    from rlmx.lm.prices import PriceTable

    table = PriceTable()
    searching, plain = table.lookup("gpt-4o-mini-search-preview"), table.lookup("gpt-4o-mini")
    assert searching is not None and plain is not None
    assert searching.per_request == pytest.approx(plain.per_request + 0.01)
    assert plain.per_request == 0.0


def test_a_usd_budget_admits_a_speaking_model_at_its_audio_rate() -> None:
    # The affordable output was worked out at the text rate: a call could hold 6x what was left.
    from rlmx.budget import Ledger
    from rlmx.lm.prices import Price, PriceTable

    prices = PriceTable({"talker": Price(1.0, 10.0, output_audio_per_million=64.0)})
    held = Ledger(Budget(max_usd=0.01), prices=prices).reserve("talker", 0, 10_000)
    assert held.output_tokens <= 0.01 / 64e-6 + 1 and held.usd <= 0.01 + 1e-9


def test_a_usd_budget_refuses_up_front_an_lm_asked_for_audio_without_an_audio_rate(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("talker", server.base_url, modalities=["text", "audio"])
    with pytest.raises(InputError, match="audio output rate"):
        RLM(lm, prices={"talker": (1.0, 2.0)}, budget=Budget(max_usd=1.0))
    from rlmx.lm.prices import Price

    priced = {"talker": Price(1.0, 2.0, output_audio_per_million=20.0)}
    assert RLM(lm, prices=priced, budget=Budget(max_usd=1.0)).unpriced_models() == []


@pytest.mark.parametrize(
    ("model", "modalities", "missing"),
    [
        ("drawer", ["image", "text"], "image"),  # the user's own price, text rates only
        ("drawer", ["text", "video"], "video"),
        ("drawer", ["audio", "image"], "audio and image"),
        ("gpt-4o-mini", ["text", "image"], "image"),  # a list price with no image rate
    ],
)
def test_a_usd_budget_refuses_up_front_an_lm_asked_for_any_medium_its_price_has_no_rate_for(
    server: FakeOpenAIServer, model: str, modalities: list[str], missing: str
) -> None:
    # Only audio was checked: a sub-LM asked to draw, whose price had no image rate, was admitted at its text rate,
    # and one batch of sub-calls was billed 10x max_usd before the first reply showed its image tokens.
    from rlmx.lm.guided import ShortReader
    from rlmx.lm.prices import Price
    from rlmx.lm.scripted import ScriptedLM

    lm = OpenAICompatibleLM(model, server.base_url, modalities=modalities)
    texts = {"drawer": (1.0, 2.0)}
    with pytest.raises(InputError, match=rf"{model} \(its {missing} output rate\).*output_image_per_million=\.\.\."):
        RLM(ScriptedLM(["x"]), sub_lm=lm, prices=texts, budget=Budget(max_usd=1.0))
    with pytest.raises(InputError, match=rf"{model} \(its {missing} output rate\)"):  # behind a wrapper too
        RLM(ScriptedLM(["x"]), sub_lm=ShortReader(lm), prices=texts, budget=Budget(max_usd=1.0))
    # serve's and MCP's USD limits ask the same RLM the same question
    assert RLM(lm, prices=texts).unpriced_models() == [f"{model} (its {missing} output rate)"]
    assert server.requests == []
    every_rate = Price(
        1.0, 2.0, output_audio_per_million=20.0, output_image_per_million=30.0, output_video_per_million=9.0
    )
    assert RLM(lm, prices={model: every_rate}, budget=Budget(max_usd=1.0)).unpriced_models() == []


async def test_output_a_reply_does_not_split_by_kind_is_priced_at_the_dearest_rate_the_lm_may_have_used(
    server: FakeOpenAIServer,
) -> None:
    # A gateway that drops completion_tokens_details (or only its image count) left every output token of an image
    # model booked at the $2.50 text rate: each settle freed most of the $30/M reservation, and a run billed 8x
    # max_usd. A count the reply does not give is not a count of 0.
    from rlmx.lm.prices import PriceTable

    lm = OpenAICompatibleLM("gemini-2.5-flash-image", server.base_url, modalities=["image", "text"])
    table = PriceTable()

    def reply(details: dict[str, int] | None) -> Reply:
        body = completion_body("Here it is.", usage=usage(300, 1300))
        if details is not None:
            body["usage"]["completion_tokens_details"] = details
        return Reply(body=body)

    drawing, writing = (300 * 0.3 + 1300 * 30.0) / 1e6, (300 * 0.3 + 1300 * 2.5) / 1e6
    splits = [
        (None, drawing),
        ({"reasoning_tokens": 0}, drawing),
        ({"image_tokens": 0}, writing),
        ({"reasoning_tokens": 0, "text_tokens": 1300}, writing),  # LiteLLM's text-only reply: the counts add up
        ({"text_tokens": 300}, drawing),  # a text count short of the whole: the rest may be images
    ]
    for details, cost in splits:
        server.script(reply(details))
        said = (await lm.complete(MESSAGES)).usage
        assert table.cost("gemini-2.5-flash-image", said) == pytest.approx(cost), details
    server.script(Reply(body=completion_body("Here it is.")))  # no usage at all: its upper bound, at the image rate
    guessed = (await lm.complete(MESSAGES)).usage
    assert guessed.estimated
    bound = (guessed.input_tokens * 0.3 + guessed.output_tokens * 30.0) / 1e6
    assert table.cost("gemini-2.5-flash-image", guessed) == pytest.approx(bound)


# --- OpenRouter's wrapper around the provider's own error -------------------------------------------------------


def openrouter_wrapped(status: int, raw: Any, provider: str | None = "OpenAI") -> Reply:
    """OpenRouter's error when the provider behind it failed: its own words say little, the provider's are in `raw`."""
    metadata: dict[str, Any] = {"raw": raw}
    if provider is not None:
        metadata["provider_name"] = provider
    return Reply(status, {"error": {"message": "Provider returned error", "code": status, "metadata": metadata}})


@pytest.mark.parametrize("as_text", [True, False], ids=["raw-as-json-text", "raw-as-object"])
async def test_a_parameter_the_provider_behind_openrouter_refuses_is_left_out(
    server: FakeOpenAIServer, as_text: bool
) -> None:
    refused = error_body("Unsupported parameter: 'top_p' is not supported with this model.", param="top_p")
    server.script(openrouter_wrapped(400, json.dumps(refused, indent=2) if as_text else refused))
    lm = OpenAICompatibleLM("openai/o3", server.base_url, max_retries=0, top_p=0.5)
    assert (await lm.complete(MESSAGES)).text == "hi"
    assert ["top_p" in r.body for r in server.requests] == [True, False]
    assert lm.unsupported_params == {"top_p"}


async def test_a_cap_name_the_provider_behind_openrouter_refuses_is_renamed(server: FakeOpenAIServer) -> None:
    said = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
    server.script(openrouter_wrapped(400, json.dumps(error_body(said, param="max_tokens"))))
    lm = OpenAICompatibleLM("openai/o3", server.base_url, max_retries=0)
    assert (await lm.complete(MESSAGES, max_tokens=50)).text == "hi"
    assert [sorted(set(r.body) & {"max_tokens", "max_completion_tokens"}) for r in server.requests] == [
        ["max_tokens"],
        ["max_completion_tokens"],
    ]


@pytest.mark.parametrize(
    ("raw", "provider", "quoted"),
    [
        (
            '{\n  "error": {\n    "code": 500,\n    "message": "An internal error has occurred.",\n'
            '    "status": "INTERNAL"\n  }\n}\n',
            "Google AI Studio",
            "Provider returned error (Google AI Studio said: An internal error has occurred.)",
        ),
        ("upstream connect error or disconnect/reset before headers", "Chutes", "(Chutes said: upstream connect error"),
        ({"message": "Model overloaded"}, None, "Provider returned error (the provider said: Model overloaded)"),
    ],
)
async def test_openrouters_wrapped_error_quotes_the_provider_and_its_reason(
    server: FakeOpenAIServer, raw: Any, provider: str | None, quoted: str
) -> None:
    server.script(openrouter_wrapped(502, raw, provider))
    with pytest.raises(LMServerError) as caught:
        await OpenAICompatibleLM("google/gemini-2.5-pro", server.base_url, max_retries=0).complete(MESSAGES)
    assert quoted in str(caught.value)


# --- the cost a provider reports -------------------------------------------------------------------------------


def test_a_byok_reply_that_reports_only_openrouters_fee_is_priced_at_the_list_price(server: FakeOpenAIServer) -> None:
    # With the user's own key, OpenRouter's `cost` is its fee alone (0 for the first million requests a month); with
    # no upstream cost beside it, the reply does not say what the call cost, and $0 was booked.
    fee_only = {**usage(1000, 100), "cost": 0, "is_byok": True}
    server.behaviour = Behaviour(route=lambda body: Reply(body=completion_body(repl("FINAL('done')"), usage=fee_only)))
    rlm = RLM(OpenAICompatibleLM("openai/gpt-4o", server.base_url), prices={"openai/gpt-4o": (2.5, 10.0)})
    result = rlm.completion("q", context="c")
    assert result.answer == "done"
    assert result.usage.cost_usd == pytest.approx((1000 * 2.5 + 100 * 10.0) / 1e6)


async def test_xais_cost_in_ticks_is_the_calls_cost(server: FakeOpenAIServer) -> None:
    # xAI reports the exact charge, server-side tool calls included, in ticks of 1e-10 USD
    charged = {**usage(1200, 60), "num_sources_used": 8, "cost_in_usd_ticks": 429_000_000}
    server.script(Reply(body=completion_body("news", usage=charged)))
    completion = await OpenAICompatibleLM("grok-4", server.base_url).complete(MESSAGES)
    assert completion.usage.cost_usd == pytest.approx(0.0429)


# --- what an error body says, wherever it says it -----------------------------------------------------------


async def test_geminis_penalty_not_enabled_leaves_both_penalties_out(server: FakeOpenAIServer) -> None:
    # "Penalty is not enabled for models/..." names neither presence_penalty nor frequency_penalty
    refused = Reply(400, [{"error": {"code": 400, "message": "Penalty is not enabled for models/gemini-2.5-flash"}}])
    server.script(refused, refused)
    lm = OpenAICompatibleLM("gemini-2.5-flash", server.base_url, presence_penalty=0.5, frequency_penalty=0.5)
    assert (await lm.complete(MESSAGES)).text == "hi"
    assert lm.unsupported_params == {"presence_penalty", "frequency_penalty"} and len(server.requests) == 3


async def test_a_reason_given_in_a_list_of_details_is_read_and_quoted(server: FakeOpenAIServer) -> None:
    # Azure AI model inference: the message says only "invalid input error"; which input is in error.details
    def envelope(field: str) -> Reply:
        detail = {"type": "extra_forbidden", "loc": ["body", field], "msg": "Extra inputs are not permitted"}
        error = {"code": "Invalid input", "status": 422, "message": "invalid input error", "details": [detail]}
        return Reply(422, {"error": error})

    server.script(envelope("seed"))
    lm = OpenAICompatibleLM("DeepSeek-R1", server.base_url, seed=7)
    assert (await lm.complete(MESSAGES)).text == "hi" and "seed" not in server.requests[1].body
    server.script(Reply(422, {"errors": [{"code": 7003, "message": "No route for that URI"}], "success": False}))
    with pytest.raises(LMRequestError, match=r"No route for that URI"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_cloudflares_envelope_is_quoted_in_a_reply_without_choices(server: FakeOpenAIServer) -> None:
    envelope = {"result": None, "success": False, "errors": [{"code": 7009, "message": "Upstream service unavailable"}]}
    server.script(Reply(body=envelope), Reply(body=envelope))
    from rlmx.errors import LMBadResponse

    with pytest.raises(LMBadResponse, match="it says: Upstream service unavailable"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


@pytest.mark.parametrize(
    "url", ["https://eu.api.openai.com/v1", "https://us.api.openai.com/v1", "https://API.OpenAI.com/v1"]
)
def test_openais_every_host_is_sent_max_completion_tokens(url: str) -> None:
    assert OpenAICompatibleLM("gpt-5-mini", url, api_key="k").cap_param == "max_completion_tokens"


async def test_a_reply_carrying_an_image_its_counts_file_as_text_is_booked_as_one_that_may_be_images(
    server: FakeOpenAIServer,
) -> None:
    # LiteLLM before PR #16912 reported Gemini's image tokens as text_tokens: booked at $2.50/M, a run billed 7x.
    from rlmx.lm.prices import PriceTable

    image = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    body = completion_body("Here it is.", usage=usage(300, 1300), images=image)
    body["usage"]["completion_tokens_details"] = {"text_tokens": 1300, "reasoning_tokens": 0}
    server.script(Reply(body=body))
    lm = OpenAICompatibleLM("gemini-2.5-flash-image", server.base_url, modalities=["image", "text"])
    said = (await lm.complete(MESSAGES)).usage
    assert "image" in said.unreported_output_media
    assert PriceTable().cost("gemini-2.5-flash-image", said) == pytest.approx((300 * 0.3 + 1300 * 30.0) / 1e6)


# --- reasoning, tool calls, images and usage in the shapes providers send them (audit 37) -----------------------


def sse(*chunks: dict[str, Any], done: bool = True) -> Reply:
    """A server-sent-events reply of chat.completion.chunk objects."""
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + ("data: [DONE]\n\n" if done else "")
    return Reply(body=body, headers={"content-type": "text/event-stream"})


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


async def test_reasoning_sent_under_both_field_names_is_read_once(server: FakeOpenAIServer) -> None:
    # vLLM since PR #27752 sends the same reasoning as `reasoning_content` and as `reasoning`: it came back twice,
    # and streamed its pieces alternated ("WeWe weigh weigh...").
    thought = "We weigh the options, then pick Paris."
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    server.script(
        Reply(body=completion_body("Paris", usage=usage(20, 30), reasoning_content=thought, reasoning=thought))
    )
    assert (await lm.complete(MESSAGES)).reasoning == thought
    pieces = ["We weigh ", "the options, ", "then pick Paris."]
    server.script(sse(*(delta(reasoning_content=p, reasoning=p) for p in pieces), delta("stop", content="Paris")))
    streamed = await lm.complete(MESSAGES)
    assert (streamed.text, streamed.reasoning) == ("Paris", thought)


async def test_reasoning_fields_that_say_different_things_are_each_kept_whole(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    server.script(Reply(body=completion_body("Paris", reasoning_content="Long thought.", reasoning="Short one.")))
    said = (await lm.complete(MESSAGES)).reasoning
    assert said is not None and said.count("Long thought.") == 1 and said.count("Short one.") == 1
    server.script(
        sse(
            delta(reasoning_content="First the map, ", reasoning="Summary: "),
            delta(reasoning_content="then the capital.", reasoning="Paris."),
            delta("stop", content="Paris"),
        )
    )
    streamed = (await lm.complete(MESSAGES)).reasoning
    assert streamed is not None
    assert "First the map, then the capital." in streamed and "Summary: Paris." in streamed


async def test_a_reply_streamed_as_tool_calls_alone_is_a_tool_call_and_its_arguments_are_counted(
    server: FakeOpenAIServer,
) -> None:
    # Streamed tool calls were dropped: the reply read as empty ("the server sent an empty reply") and, with no
    # usage reported, its output was booked at one token however long the arguments were.
    from rlmx.errors import LMBadResponse
    from rlmx.lm.base import token_bound
    from rlmx.lm.openai_reply import parse_body

    arguments = json.dumps({"query": "capital of France " * 40, "limit": 5})
    pieces = [arguments[i : i + 50] for i in range(0, len(arguments), 50)]
    chunks = [
        delta(role="assistant", tool_calls=[{"index": 0, "id": "call_a", "type": "function",
                                             "function": {"name": "search", "arguments": ""}}]),
        *(delta(tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in pieces),
        delta(tool_calls=[{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "lookup", "arguments": '{"id": 7}'}}]),
        delta("tool_calls"),
    ]  # fmt: skip
    server.script(sse(*chunks))
    with pytest.raises(LMBadResponse, match="answered with a tool call") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.usage is not None and caught.value.usage.estimated
    assert caught.value.usage.output_tokens >= token_bound(arguments)

    raw = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
    joined = parse_body(raw, status=200, content_type="text/event-stream")["choices"][0]["message"]["tool_calls"]
    assert joined == [
        {"id": "call_a", "type": "function", "function": {"name": "search", "arguments": arguments}},
        {"id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": '{"id": 7}'}},
    ]


async def test_a_whole_tool_call_replys_arguments_are_counted_without_usage(server: FakeOpenAIServer) -> None:
    from rlmx.errors import LMBadResponse
    from rlmx.lm.base import token_bound

    arguments = json.dumps({"text": "words " * 300})
    call = {"id": "c", "type": "function", "function": {"name": "write", "arguments": arguments}}
    server.script(Reply(body=completion_body(None, finish_reason="tool_calls", tool_calls=[call])))
    with pytest.raises(LMBadResponse, match="tool call") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.usage is not None and caught.value.usage.output_tokens >= token_bound(arguments)


def streamed_image(counts: dict[str, int], prompt: int = 300, output: int = 1300) -> Reply:
    """OpenRouter's image output streamed: the image in `delta.images`, counts that file it all as text."""
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    reported = {**usage(prompt, output), "completion_tokens_details": counts}
    return sse(
        delta(content="Here it is."),
        delta(images=[image]),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": reported},
    )


async def test_a_streamed_image_is_booked_as_a_reply_that_may_be_images(server: FakeOpenAIServer) -> None:
    # `delta.images` was dropped: the reply was priced as text at $2.50/M, not the $30/M of image output.
    from rlmx.lm.prices import PriceTable

    server.script(streamed_image({"text_tokens": 1300, "reasoning_tokens": 0}))
    lm = OpenAICompatibleLM("gemini-2.5-flash-image", server.base_url, modalities=["image", "text"])
    said = (await lm.complete(MESSAGES)).usage
    assert "image" in said.unreported_output_media
    assert PriceTable().cost("gemini-2.5-flash-image", said) == pytest.approx((300 * 0.3 + 1300 * 30.0) / 1e6)


async def test_a_streamed_image_is_booked_as_the_same_reply_sent_whole_is(server: FakeOpenAIServer) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    lm = OpenAICompatibleLM("drawer", server.base_url, modalities=["image", "text"])
    for counts in ({"text_tokens": 40}, {"image_tokens": 30, "text_tokens": 10}, {"reasoning_tokens": 0}):
        whole = completion_body("Here it is.", usage={**usage(20, 40), "completion_tokens_details": counts})
        server.script(Reply(body={**whole, "choices": [{**whole["choices"][0], "message": {
            **whole["choices"][0]["message"], "images": [image]}}]}))  # fmt: skip
        server.script(streamed_image(counts, prompt=20, output=40))
        sent_whole, streamed = (await lm.complete(MESSAGES)).usage, (await lm.complete(MESSAGES)).usage
        assert streamed == sent_whole, counts
        assert "image" in streamed.unreported_output_media or streamed.image_output_tokens == 30, counts


SUMMARY_ONLY = [
    {"type": "reasoning.summary", "summary": "Compared the two cities.", "format": "openai-responses-v1"},
    {"type": "reasoning.encrypted", "data": "gAAAAABoZ2l2ZW5vbmx5", "format": "openai-responses-v1"},
]


async def test_openrouters_reasoning_summary_is_read_as_reasoning(server: FakeOpenAIServer) -> None:
    # reasoning_details of type reasoning.summary were ignored: a reply that only reasoned read as "empty reply".
    from rlmx.errors import LMBadResponse

    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    server.script(Reply(body=completion_body("Paris", reasoning_details=SUMMARY_ONLY)))
    assert (await lm.complete(MESSAGES)).reasoning == "Compared the two cities."
    text = [{"type": "reasoning.text", "text": "Step one."}, {"type": "reasoning.summary", "summary": " Done."}]
    server.script(
        sse(delta(reasoning_details=text), delta(reasoning_details=SUMMARY_ONLY), delta("stop", content="Paris"))
    )
    streamed = (await lm.complete(MESSAGES)).reasoning
    assert streamed is not None and "Step one." in streamed and "Compared the two cities." in streamed
    assert "gAAAA" not in streamed  # encrypted reasoning is no text

    server.script(Reply(body=completion_body(None, usage=usage(40, 300), reasoning_details=SUMMARY_ONLY)))
    with pytest.raises(LMBadResponse, match="only reasoned") as caught:
        await lm.complete(MESSAGES)
    assert caught.value.reasoning_only is not None
    assert caught.value.reasoning_only.reasoning == "Compared the two cities."
    server.script(sse(delta(reasoning_details=SUMMARY_ONLY), delta("stop")))
    with pytest.raises(LMBadResponse, match="only reasoned"):
        await lm.complete(MESSAGES)


@pytest.mark.parametrize(
    ("reported", "input_tokens", "read", "written"),
    [
        # nagobot#85: a Claude gateway's prompt_tokens is the uncached input, the cache read beside it
        ({"prompt_tokens": 13780, "completion_tokens": 500, "total_tokens": 14280, "cache_read_input_tokens": 10869},
         24649, 10869, 0),
        ({"prompt_tokens": 13780, "completion_tokens": 500, "cache_read_input_tokens": 10869,
          "cache_creation_input_tokens": 2000}, 26649, 10869, 2000),
        # LiteLLM (`calculate_usage`): reads and writes are in prompt_tokens, which it says with OpenAI's
        # cached_tokens and a total of prompt and completion
        ({"prompt_tokens": 24649, "completion_tokens": 500, "total_tokens": 25149, "cache_read_input_tokens": 10869,
          "cache_creation_input_tokens": 2000, "prompt_tokens_details": {"cached_tokens": 10869}}, 24649, 10869, 2000),
        # ... without that total, the writes may be beside it: the larger reading
        ({"prompt_tokens": 24649, "completion_tokens": 500, "cache_read_input_tokens": 10869,
          "cache_creation_input_tokens": 2000, "prompt_tokens_details": {"cached_tokens": 10869}}, 26649, 10869, 2000),
        # the same with the total that says so
        ({"prompt_tokens": 13780, "completion_tokens": 500, "total_tokens": 25149, "cache_read_input_tokens": 10869},
         24649, 10869, 0),
        # OpenAI: cached_tokens are part of prompt_tokens; DeepSeek's hits too
        ({"prompt_tokens": 13780, "completion_tokens": 500, "prompt_tokens_details": {"cached_tokens": 10869}},
         13780, 10869, 0),
        ({"prompt_tokens": 13780, "completion_tokens": 500, "prompt_cache_hit_tokens": 10869,
          "prompt_cache_miss_tokens": 2911}, 13780, 10869, 0),
    ],
)  # fmt: skip
async def test_cache_counts_under_anthropics_names_are_beside_the_prompt_count(
    server: FakeOpenAIServer, reported: dict[str, Any], input_tokens: int, read: int, written: int
) -> None:
    from rlmx.lm.prices import PriceTable

    server.script(Reply(body=completion_body("ok", usage=reported)))
    said = (await OpenAICompatibleLM("claude-haiku-4-5", server.base_url).complete(MESSAGES)).usage
    assert (said.input_tokens, said.cache_read_tokens, said.cache_write_tokens) == (input_tokens, read, written)
    uncached = input_tokens - read - written
    cost = (uncached * 1.0 + read * 0.1 + written * 1.25 + 500 * 5.0) / 1e6
    assert PriceTable().cost("claude-haiku-4-5", said) == pytest.approx(cost)


@pytest.mark.parametrize(
    ("model", "reported", "output_tokens"),
    [
        # xAI: reasoning_tokens on top of completion_tokens, its own total holding both
        ("grok-4-fast-reasoning", {"prompt_tokens": 279, "completion_tokens": 600, "total_tokens": 968,
                                   "completion_tokens_details": {"reasoning_tokens": 89}, "num_sources_used": 0}, 689),
        # ... with no total, or one a gateway summed from prompt and completion alone
        ("grok-4-fast-reasoning", {"prompt_tokens": 279, "completion_tokens": 600,
                                   "completion_tokens_details": {"reasoning_tokens": 89}}, 689),
        ("grok-3-mini", {"prompt_tokens": 279, "completion_tokens": 600, "total_tokens": 879,
                         "completion_tokens_details": {"reasoning_tokens": 89}}, 689),
        ("m", {"prompt_tokens": 279, "completion_tokens": 600, "total_tokens": 879, "num_sources_used": 2,
               "completion_tokens_details": {"reasoning_tokens": 89}}, 689),
        # no total and no provider said: the larger reading
        ("m", {"prompt_tokens": 279, "completion_tokens": 600, "completion_tokens_details": {"reasoning_tokens": 89}},
         689),
        # OpenAI: a total of prompt and completion says the reasoning is part of the completion
        ("o4-mini", {"prompt_tokens": 279, "completion_tokens": 600, "total_tokens": 879,
                     "completion_tokens_details": {"reasoning_tokens": 89}}, 600),
        ("o4-mini", {"prompt_tokens": 279, "completion_tokens": 600, "total_tokens": 879,
                     "completion_tokens_details": {"reasoning_tokens": 0}}, 600),
    ],
)  # fmt: skip
async def test_reasoning_tokens_are_read_on_top_of_the_completion_unless_the_shape_says_they_are_in_it(
    server: FakeOpenAIServer, model: str, reported: dict[str, Any], output_tokens: int
) -> None:
    server.script(Reply(body=completion_body("ok", model=model, usage=reported)))
    said = (await OpenAICompatibleLM(model, server.base_url).complete(MESSAGES)).usage
    assert (said.input_tokens, said.output_tokens) == (279, output_tokens)


# --- reasoning from several sources, images as content parts, indexless tool calls (audit 37, round 2) -------------
THOUGHT = "Weigh the two cities, then pick the capital."


@pytest.mark.parametrize(
    ("whole", "streamed"),
    [
        # a <think> block in content and the same text in reasoning_content (DeepSeek-R1 templates on vLLM)
        (
            {"content": f"<think>{THOUGHT}</think>Paris", "reasoning_content": THOUGHT},
            [delta(reasoning_content=THOUGHT[:12]), delta(content="<think>" + THOUGHT[:20]),
             delta(reasoning_content=THOUGHT[12:]), delta(content=THOUGHT[20:] + "</think>"), delta(content="Paris")],
        ),
        # a Magistral thinking part and the same text under a reasoning field
        (
            {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT}]},
                         {"type": "text", "text": "Paris"}], "reasoning": THOUGHT},
            [delta(content=[{"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT[:9]}]}]),
             delta(reasoning=THOUGHT[:9]), delta(reasoning=THOUGHT[9:]),
             delta(content=[{"type": "thinking", "thinking": [{"type": "text", "text": THOUGHT[9:]}]}]),
             delta(content=[{"type": "text", "text": "Paris"}])],
        ),
        # two reasoning fields, each in chunks of its own, one a start of the other
        (
            {"content": "Paris", "reasoning_content": THOUGHT, "reasoning": THOUGHT[:20]},
            [delta(reasoning_content=THOUGHT[:15]), delta(reasoning=THOUGHT[:8]), delta(reasoning_content=THOUGHT[15:]),
             delta(reasoning=THOUGHT[8:20]), delta(content="Paris")],
        ),
        # a thinking part whose text lies within the field's
        (
            {"content": [{"type": "thinking", "thinking": THOUGHT[5:30]}, {"type": "text", "text": "Paris"}],
             "reasoning_content": THOUGHT},
            [delta(content=[{"type": "thinking", "thinking": THOUGHT[5:30]}]), delta(reasoning_content=THOUGHT),
             delta(content="Paris")],
        ),
    ],
)  # fmt: skip
async def test_the_same_reasoning_from_two_sources_is_read_once_whole_and_streamed(
    server: FakeOpenAIServer, whole: dict[str, Any], streamed: list[dict[str, Any]]
) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    content = whole.pop("content")
    server.script(Reply(body=completion_body(content, usage=usage(20, 30), **whole)))
    server.script(sse(*streamed, delta("stop")))
    for _ in range(2):
        reply = await lm.complete(MESSAGES)
        assert (reply.text, reply.reasoning) == ("Paris", THOUGHT)


async def test_reasoning_sources_that_differ_are_each_kept_whole_in_both_paths(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    server.script(Reply(body=completion_body("<think>Block words.</think>Paris", reasoning_content="Field words.")))
    server.script(
        sse(delta(reasoning_content="Field "), delta(content="<think>Block "), delta(reasoning_content="words."),
            delta(content="words.</think>Paris"), delta("stop"))
    )  # fmt: skip
    whole, streamed = (await lm.complete(MESSAGES)).reasoning, (await lm.complete(MESSAGES)).reasoning
    assert whole == streamed == "Field words.\nBlock words."


@pytest.mark.parametrize("kind", ["image_url", "image", "output_image"])
async def test_an_image_as_a_content_part_is_booked_as_a_reply_that_may_be_images(
    server: FakeOpenAIServer, kind: str
) -> None:
    # LiteLLM's Gemini image models put the image in `content` (litellm#27277): its tokens filed as text were
    # priced at $2.50/M, not the $30/M billed.
    from rlmx.lm.prices import PriceTable

    image = {"type": kind, kind: {"url": "data:image/png;base64,iVBORw0KGgo="}}
    reported = {**usage(300, 1300), "completion_tokens_details": {"text_tokens": 1300}}
    server.script(Reply(body=completion_body([{"type": "text", "text": "Here it is."}, image], usage=reported)))
    server.script(
        sse(delta(content=[{"type": "text", "text": "Here it is."}]), delta(content=[image]),
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": reported})
    )  # fmt: skip
    lm = OpenAICompatibleLM("gemini-2.5-flash-image", server.base_url, modalities=["image", "text"])
    whole, streamed = (await lm.complete(MESSAGES)).usage, (await lm.complete(MESSAGES)).usage
    assert whole == streamed and "image" in whole.unreported_output_media
    assert PriceTable().cost("gemini-2.5-flash-image", whole) == pytest.approx((300 * 0.3 + 1300 * 30.0) / 1e6)


def joined_calls(*pieces: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The tool calls a stream of `tool_calls` deltas joins into: (id, name, arguments) each."""
    from rlmx.lm.openai_reply import parse_body

    chunks = [delta(tool_calls=piece) for piece in pieces] + [delta("tool_calls")]
    raw = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks)
    message = parse_body(raw, status=200, content_type="text/event-stream")["choices"][0]["message"]
    return [(c.get("id", ""), c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]]


def whole_call(name: str, arguments: str, **fields: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "arguments": arguments}, **fields}


@pytest.mark.parametrize(
    ("pieces", "calls"),
    [
        # Gemini through gateways: every call whole, no index, an empty id or none at all
        ([[whole_call("find", '{"q":"a"}', id="")], [whole_call("open", '{"n":1}', id="")]],
         [("", "find", '{"q":"a"}'), ("", "open", '{"n":1}')]),
        ([[whole_call("find", '{"q":"a"}', id=""), whole_call("open", '{"n":1}', id="")]],
         [("", "find", '{"q":"a"}'), ("", "open", '{"n":1}')]),
        ([[whole_call("find", '{"q":"a"}')], [whole_call("find", '{"q":"b"}')]],
         [("", "find", '{"q":"a"}'), ("", "find", '{"q":"b"}')]),
        # every parallel call as index 0 with an id of its own; later pieces of index 0 go to the latest call
        ([[whole_call("find", '{"q":', id="c1", index=0)], [{"index": 0, "function": {"arguments": '"a"}'}}],
          [whole_call("open", '{"n":', id="c2", index=0)], [{"index": 0, "function": {"arguments": "1}"}}]],
         [("c1", "find", '{"q":"a"}'), ("c2", "open", '{"n":1}')]),
        # a name repeated in every delta of one call is still one call, and so is an id minted for every delta
        ([[whole_call("find", '{"q":', id="c1", index=0)],
          [{"index": 0, "id": "c9", "function": {"arguments": '"a"}'}}]],
         [("c1", "find", '{"q":"a"}')]),
        ([[whole_call("find", '{"q":', id="c1", index=0)], [whole_call("find", '"a"}', index=0)]],
         [("c1", "find", '{"q":"a"}')]),
    ],
)  # fmt: skip
def test_streamed_tool_calls_without_a_usable_index_are_kept_apart(
    pieces: list[list[dict[str, Any]]], calls: list[tuple[str, str, str]]
) -> None:
    assert joined_calls(*pieces) == calls


@pytest.mark.parametrize("character", ["\U0001f600", "\U0001d11e", "\U00010348"])
def test_tool_call_arguments_split_inside_a_surrogate_pair_are_joined_whole(character: str) -> None:
    # A JS gateway cuts UTF-16 units: each delta's JSON carries one half of the pair as an escape of its own.
    arguments = json.dumps({"say": f"hi {character}"}, ensure_ascii=False)
    units = arguments.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    escaped = json.dumps(units)[1:-1]  # \udxxx\udxxx
    cut = escaped.index("\\ud") + 6
    first, second = (json.loads(f'"{part}"') for part in (escaped[:cut], escaped[cut:]))
    got = joined_calls(
        [whole_call("say", "", id="c", index=0)],
        [{"index": 0, "function": {"arguments": first}}],
        [{"index": 0, "function": {"arguments": second}}],
    )
    assert got == [("c", "say", arguments)]


# --- a whole reply's choice: no message, several choices, an untyped text part -----------------------------------


@pytest.mark.parametrize("message", [None, "absent"], ids=["null", "absent"])
async def test_a_content_filtered_choice_without_a_message_is_told_as_filtered(
    server: FakeOpenAIServer, message: str | None
) -> None:
    # Gemini through OpenAI-compatible gateways: a blocked candidate comes as {"finish_reason": "content_filter",
    # "message": null} (bespokelabsai/curator#261); it is the filter, not a malformed body, and asking again won't pass
    from rlmx.errors import LMBadResponse

    body = completion_body(usage=usage(40, 0), finish_reason="content_filter")
    if message is None:
        body["choices"][0]["message"] = None
    else:
        del body["choices"][0]["message"]
    server.script(Reply(body=body), Reply(body=body))
    with pytest.raises(LMBadResponse, match="content filter withheld the reply") as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert not caught.value.retryable and len(server.requests) == 1


async def test_of_several_choices_in_a_whole_reply_the_one_numbered_0_is_read(server: FakeOpenAIServer) -> None:
    # the API numbers choices by `index` and promises no order (LiteLLM gathers an emulated n from parallel calls);
    # a streamed reply is read the same way
    body = completion_body("Lyon", usage=usage(10, 2))
    body["choices"] = [{**body["choices"][0], "index": 1}, {**body["choices"][0], "index": 0}]
    body["choices"][1]["message"] = {"role": "assistant", "content": "Paris"}
    server.script(Reply(body=body))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"


async def test_content_as_one_untyped_text_object_is_its_text(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body({"text": "Paris"}, usage=usage(10, 2))))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"


# --- a think tag a reasoning parser left in the text -------------------------------------------------------------


async def test_a_think_tag_left_at_the_start_of_text_whose_reasoning_came_apart_is_stray(
    server: FakeOpenAIServer,
) -> None:
    # Xinference / Dynamo's reasoning parsers took the thought into reasoning_content and left "<think>" in the
    # content: what follows is the answer, not a thought never closed
    text = "<think>\n\n" + repl("print('ran')")
    server.script(Reply(body=completion_body(text, usage=usage(20, 9), reasoning_content="Print it.")))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.text == repl("print('ran')") and completion.reasoning == "Print it."
    server.script(Reply(body=completion_body(text, usage=usage(20, 9))))  # no reasoning apart: a thought never closed
    with pytest.raises(Exception, match="only reasoned and wrote no answer text"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


def test_a_run_whose_server_leaves_a_stray_think_tag_runs_the_block_after_it(server: FakeOpenAIServer) -> None:
    stray = "<think>\n" + repl("FINAL('from the block')")
    server.script(Reply(body=completion_body(stray, usage=usage(20, 9), reasoning_content="Finish now.")))
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "from the block")
