"""OpenAICompatibleLM against a real OpenAI-compatible HTTP server on 127.0.0.1 (tests/fake_openai_server.py).

Covers the HTTP boundary: retries and error mapping, event loops (sync API, threads, shared LMs), normalising
what servers send (content parts, reasoning, null or missing usage, bodies that are not JSON, replies without
text), and the output cap's parameter name.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, completion_body, error_body, fault, usage
from rlmx import RLM, Budget, Event
from rlmx.errors import (
    InputError,
    LMBadResponse,
    LMConnectionError,
    LMError,
    LMRateLimited,
    LMRequestError,
    LMServerError,
    LMTimeout,
)
from rlmx.lm import ScriptedLM
from rlmx.lm.base import LM, RESEND_GATE, Message, message_token_bound, token_bound
from rlmx.lm.openai import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, OpenAICompatibleLM
from rlmx.lm.prices import list_price

MESSAGES: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hi."},
]
FINISH_LENGTH = "```repl\nFINAL(len(context))\n```"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- requests, retries, errors -----------------------------------------------------------------------------


async def test_plain_call_returns_text_usage_and_sends_merged_params(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body("hello there", usage=usage(12, 3))))
    lm = OpenAICompatibleLM("my-model", server.base_url, temperature=0.2, max_tokens=50, top_k=5)

    completion = await lm.complete(MESSAGES, max_tokens=7)

    assert isinstance(lm, LM)
    assert (completion.text, completion.model, completion.finish_reason) == ("hello there", "served-model", "stop")
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 3)
    assert completion.usage.cost_usd is None and not completion.usage.estimated
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "my-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 7  # the call's own cap wins over the default
    assert request.body["top_k"] == 5  # unknown to the SDK: sent as an extra body field
    assert "max_completion_tokens" not in request.body


async def test_explicit_api_key_is_sent(server: FakeOpenAIServer) -> None:
    await OpenAICompatibleLM("m", server.base_url, api_key="sk-local-123").complete(MESSAGES)
    assert server.requests[0].headers["authorization"] == "Bearer sk-local-123"


async def test_rate_limit_is_retried_then_succeeds(server: FakeOpenAIServer) -> None:
    server.script(fault.rate_limited())
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert completion.text == "hi" and len(server.requests) == 2


async def test_rate_limit_after_all_retries_raises_lm_rate_limited(server: FakeOpenAIServer) -> None:
    server.script(*[fault.rate_limited()] * 3)
    with pytest.raises(LMRateLimited, match="slow down"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)
    assert len(server.requests) == 2


async def test_server_errors_are_retried_then_succeed(server: FakeOpenAIServer) -> None:
    server.script(fault.server_error(), fault.server_error(502))
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert completion.text == "hi" and len(server.requests) == 3


async def test_server_errors_after_all_retries_raise_lm_server_error(server: FakeOpenAIServer) -> None:
    server.script(*[fault.server_error(503)] * 3)
    with pytest.raises(LMServerError, match=r"503.*the server had an error"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert len(server.requests) == 3


async def test_bad_request_is_not_retried_and_a_too_large_cap_is_not_renamed(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("max_tokens is too large: 9000 > 4096", param="max_tokens")))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=3)
    with pytest.raises(LMRequestError, match=r"HTTP 400.*max_tokens is too large") as caught:
        await lm.complete(MESSAGES, max_tokens=9000)
    assert "attempts" not in str(caught.value)  # a 400 is the server's final word: sent once
    assert len(server.requests) == 1 and lm.cap_param == "max_tokens"


@pytest.mark.parametrize("status", [504, 524])
async def test_a_gateway_timeout_counts_as_a_request_that_may_have_been_billed(
    server: FakeOpenAIServer, status: int
) -> None:
    # The gateway stopped waiting; the model behind it may have run to the end (and billed it).
    server.script(Reply(status=status, body=error_body("upstream timed out")))
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)
    assert completion.text == "hi" and completion.unanswered == 1
    server.script(Reply(status=status, body=error_body("upstream timed out")))
    with pytest.raises(LMServerError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.unanswered == 1


async def test_a_connection_reset_after_sending_is_a_reply_broken_off_not_an_unreachable_server(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(reset=True), Reply(reset=True))
    with pytest.raises(LMConnectionError, match="broke off") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)
    assert caught.value.sent == 2 and len(server.requests) == 2  # each may have been billed


async def test_unreachable_server_raises_lm_connection_error(server: FakeOpenAIServer) -> None:
    port = closed_port()
    with pytest.raises(LMConnectionError, match=rf"127\.0\.0\.1:{port}.*unreachable"):
        await OpenAICompatibleLM("m", f"http://127.0.0.1:{port}/v1", max_retries=0).complete(MESSAGES)


async def test_a_server_that_never_answers_fails_each_attempt_at_the_timeout(server: FakeOpenAIServer) -> None:
    server.script(fault.hang(), fault.hang())
    with pytest.raises(LMTimeout, match=r"did not answer within 0\.2 s \(2 attempts\)"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=1, timeout=0.2).complete(MESSAGES)
    assert len(server.requests) == 2


def test_defaults_bound_the_wait() -> None:
    lm = OpenAICompatibleLM("m", "http://127.0.0.1:9/v1")
    assert (lm.timeout, lm.max_retries) == (DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES) == (120.0, 2)
    assert DEFAULT_CONNECT_TIMEOUT == 10.0


def test_missing_api_key_without_base_url_raises_input_error() -> None:
    with pytest.raises(InputError, match="OPENAI_API_KEY") as caught:
        OpenAICompatibleLM("gpt-4o-mini")
    assert "--api-key-env" in str(caught.value)


def test_api_key_is_read_from_the_environment_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    lm = OpenAICompatibleLM("gpt-4o-mini")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert lm.api_key == "sk-from-env"
    assert lm.cap_param == "max_completion_tokens"  # what OpenAI's own API takes for every model


@pytest.mark.parametrize("bad", ["localhost:8000/v1", "ftp://example.com/v1", ""])
def test_base_url_without_http_scheme_raises_input_error(bad: str) -> None:
    with pytest.raises(InputError, match="http://"):
        OpenAICompatibleLM("m", bad)


@pytest.mark.parametrize("params", [{"max_tokens": 0}, {"max_completion_tokens": "100"}, {"messages": []}])
def test_bad_params_raise_input_error(params: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        OpenAICompatibleLM("m", "http://127.0.0.1:9/v1", **params)


async def test_provider_cost_lands_in_usage(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body(usage={**usage(100, 20), "cost": 0.00042})))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.usage.cost_usd == pytest.approx(0.00042) and completion.usage.total_tokens == 120


# --- event loops: the sync API, shared LMs, threads ----------------------------------------------------------


@pytest.mark.slow
def test_twenty_sync_completions_in_a_row_on_one_rlm(
    server: FakeOpenAIServer, capfd: pytest.CaptureFixture[str]
) -> None:
    server.behaviour = Behaviour(text=FINISH_LENGTH)
    rlm = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0))
    answers = [rlm.completion("How long?", context="abcd") for _ in range(20)]
    assert [(r.answer, r.status) for r in answers] == [("4", "finished")] * 20
    del rlm, answers
    gc.collect()
    assert capfd.readouterr().err == ""


def test_rlms_and_threads_share_one_lm(server: FakeOpenAIServer, capfd: pytest.CaptureFixture[str]) -> None:
    server.behaviour = Behaviour(text=FINISH_LENGTH)
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    answers = [RLM(lm).completion("How long?", context="x" * n).answer for n in (1, 2, 3)]
    threaded: list[str] = []

    def ask(n: int) -> None:
        threaded.append(RLM(lm).completion("How long?", context="y" * n).answer)

    threads = [threading.Thread(target=ask, args=(n,)) for n in (5, 6, 7, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["1", "2", "3"] and sorted(threaded) == ["5", "6", "7", "8"]
    gc.collect()
    assert capfd.readouterr().err == ""


def test_one_lm_across_event_loops_leaves_no_client_behind(
    server: FakeOpenAIServer, capfd: pytest.CaptureFixture[str]
) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    sessions = []

    async def call_and_report() -> bool:
        await lm.complete(MESSAGES)
        sessions.append(_session_on_this_loop(lm))
        return not sessions[-1].closed

    assert [asyncio.run(call_and_report()) for _ in range(3)] == [True] * 3  # open while its loop runs
    assert all(session.closed for session in sessions)  # closed when that loop shut down
    gc.collect()
    assert capfd.readouterr().err == ""


def _session_on_this_loop(lm: OpenAICompatibleLM) -> Any:
    """The HTTP session `lm` keeps on the running loop, or None."""
    from rlmx.lm.http import _ON_THE_LOOP

    bound = getattr(asyncio.get_running_loop(), _ON_THE_LOOP, {}).get(id(lm._http))
    return None if bound is None else bound.session


def test_loops_a_server_makes_per_request_and_drops_are_not_kept_alive(server: FakeOpenAIServer) -> None:
    # Flask and Django views run `new_event_loop().run_until_complete(...)` per request and may never close the
    # loop: the LM's table of sessions held every such loop, with its open connections (5 descriptors a request).
    import warnings
    import weakref

    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    dropped = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the view's own unclosed loop and its session
        for _ in range(3):
            loop = asyncio.new_event_loop()
            assert loop.run_until_complete(lm.complete(MESSAGES)).text == "hi"
            dropped.append(weakref.ref(loop))
            del loop
        gc.collect()
    assert [ref() for ref in dropped] == [None, None, None]


async def test_aclose_closes_this_loops_client_and_a_later_call_opens_another(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    await lm.complete(MESSAGES)
    await lm.aclose()
    assert _session_on_this_loop(lm) is None
    assert (await lm.complete(MESSAGES)).text == "hi"


# --- normalising replies ---------------------------------------------------------------------------------------


async def test_content_as_a_list_of_parts_gives_the_text_and_keeps_thinking_apart(server: FakeOpenAIServer) -> None:
    server.script(fault.content_parts("Paris", thinking="The capital is Paris."))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.text == "Paris"
    assert completion.reasoning == "The capital is Paris."


def test_content_parts_work_for_the_root_and_for_sub_calls(server: FakeOpenAIServer) -> None:
    server.script(fault.content_parts(FINISH_LENGTH))
    root = RLM(OpenAICompatibleLM("magistral", server.base_url, max_retries=0)).completion("q", context="abcd")
    assert (root.answer, root.status) == ("4", "finished")

    server.script(fault.content_parts("Paris"))
    sub = OpenAICompatibleLM("magistral", server.base_url, max_retries=0)
    scripted = ScriptedLM(["```repl\nFINAL(llm_query('Capital of France?'))\n```"])
    assert RLM(scripted, sub_lm=sub).completion("q", context="x").answer == "Paris"


async def test_reasoning_fields_and_think_blocks_go_to_reasoning_not_text(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    server.script(Reply(body=completion_body("42", usage=usage(5, 5), reasoning_content="6 times 7")))
    first = await lm.complete(MESSAGES)
    server.script(Reply(body=completion_body("<think>\nadd them\n</think>\n\n42", usage=usage(5, 5))))
    second = await lm.complete(MESSAGES)
    server.script(Reply(body=completion_body("the template opened it</think>42", usage=usage(5, 5))))
    third = await lm.complete(MESSAGES)
    assert [(c.text, c.reasoning) for c in (first, second, third)] == [
        ("42", "6 times 7"),
        ("42", "add them"),
        ("42", "the template opened it"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # reasoning whose draft quotes the closing tag: it ends at the real one
        "<think>\nDraft: o.split('</think>')[-1]\n```repl\nllm_query_batched(['x'] * 5)\n```\n</think>\n"
        + FINISH_LENGTH,
        # no reasoning at all: a closing tag in the code of a block, or in prose after one
        "```repl\nimport re\nclean = re.sub(r'(?s)^.*?</think>\\s*', '', context)\nFINAL(len(context))\n```",
        FINISH_LENGTH + "\nThe sub-model's reply may carry a </think> marker.",
    ],
    ids=["quoted-in-reasoning", "in-code", "in-prose"],
)
def test_a_closing_tag_is_read_over_http_exactly_as_in_the_reply_grammar(server: FakeOpenAIServer, text: str) -> None:
    server.script(Reply(body=completion_body(text, usage=usage(5, 5))))
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("q", context="abcd")
    assert (result.answer, result.iterations) == ("4", 1)


def test_a_root_reply_of_reasoning_only_tells_the_model_instead_of_ending_the_run(server: FakeOpenAIServer) -> None:
    # An unclosed <think> (finish "stop") or reasoning_content with empty content: nothing to run, so the next
    # turn says so (it was asked the same again, and then the run failed).
    server.script(
        Reply(body=completion_body("<think>\nI will count the characters.", usage=usage(5, 9))),
        Reply(body=completion_body("", usage=usage(5, 9), reasoning_content="Count them.")),
        Reply(body=completion_body(FINISH_LENGTH, usage=usage(5, 5))),
    )
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("q", context="abcd")
    assert (result.answer, result.iterations, len(server.requests)) == ("4", 3, 3)
    told = server.requests[2].body["messages"][-1]["content"]
    assert "Your reply was all reasoning" in told and result.usage.root.output_tokens == 23
    # the reasoning-only turns stand in the conversation with text (Anthropic and Gemini refuse an empty message)
    assert all(m["content"] for m in server.requests[2].body["messages"])


async def test_a_streamed_reply_keeps_the_service_tier_it_was_billed_at(server: FakeOpenAIServer) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}], "service_tier": "priority"}
    server.script(_stream(chunk, {"choices": [], "usage": usage(5, 1)}, tail="data: [DONE]\n\n"))
    completion = await OpenAICompatibleLM("gpt-4o", server.base_url).complete(MESSAGES)
    assert completion.billed_as == "gpt-4o[priority]"


def test_a_server_that_files_every_reply_as_reasoning_stops_the_run_saying_so(server: FakeOpenAIServer) -> None:
    # vLLM's deepseek_r1 parser over Qwen3 with thinking off: every reply, code and all, in reasoning_content. It
    # was 30 silent turns and an empty answer ("max_iterations")
    filed = completion_body(None, usage=usage(5, 9), reasoning_content="I will look.\n```repl\nprint(1)\n```")
    server.script(*[Reply(body=filed) for _ in range(10)])
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("q", context="abcd")
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("reasoning only: the root's last 3")
    assert "--reasoning-parser" in result.stop_reason and len(server.requests) == 4  # 3 turns, then the answer asked


@pytest.mark.parametrize(
    "text",
    [
        "[THINK]\nadd them\n[/THINK]\n42",  # Magistral
        "<seed:think>add them</seed:think>42",  # Seed-OSS
        "<|START_THINKING|>add them<|END_THINKING|>\n42",  # Command A Reasoning
        "\u25c1think\u25b7add them\u25c1/think\u25b7\n42",  # Kimi
    ],
)
async def test_every_models_reasoning_markup_goes_to_reasoning(server: FakeOpenAIServer, text: str) -> None:
    server.script(Reply(body=completion_body(text, usage=usage(5, 5))))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == ("42", "add them")


async def test_null_token_counts_are_replaced_by_their_upper_bound(server: FakeOpenAIServer) -> None:
    server.script(fault.null_counts("the answer"))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.text == "the answer"
    assert completion.usage.input_tokens == 41  # the count the server did report
    assert completion.usage.output_tokens == token_bound("the answer") + 1
    assert completion.usage.estimated


async def test_missing_usage_counts_the_reply_bytes_or_the_cap_sent(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text="字" * 100, usage="none")
    lm = OpenAICompatibleLM("m", server.base_url)
    full = await lm.complete(MESSAGES)
    capped = await lm.complete(MESSAGES, max_tokens=50)
    assert full.usage.input_tokens == message_token_bound(MESSAGES)
    assert full.usage.output_tokens == 301  # 100 characters of 3 UTF-8 bytes, and the end of turn
    assert capped.usage.output_tokens == 50 and capped.finish_reason == "length"
    assert all(c.usage.output_tokens >= b.completion_tokens for c, b in zip([full, capped], server.billed, strict=True))
    assert full.usage.estimated and capped.usage.estimated


async def test_missing_usage_with_a_cap_counts_the_cap_hidden_reasoning_may_have_spent(
    server: FakeOpenAIServer,
) -> None:
    """A reasoning model that reports no usage may have billed its whole cap on reasoning it never showed."""
    server.behaviour = Behaviour(text="ok", usage="none", overbill=40)
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES, max_tokens=64)
    assert completion.usage.output_tokens == 64 >= server.billed[0].completion_tokens == 40


async def test_a_body_that_is_not_json_is_retried_then_succeeds(server: FakeOpenAIServer) -> None:
    server.script(fault.not_json())
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)
    assert completion.text == "hi" and len(server.requests) == 2


async def test_a_body_that_is_never_json_raises_lm_bad_response(server: FakeOpenAIServer) -> None:
    server.script(*[fault.not_json()] * 3)
    with pytest.raises(LMBadResponse, match=r"not JSON.*text/html.*502 Bad Gateway.*after 3 attempts") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert len(server.requests) == 3 and not caught.value.retryable


async def test_reasoning_only_reply_is_a_retryable_error_with_its_billed_usage(server: FakeOpenAIServer) -> None:
    server.script(fault.reasoning_only("hmm, let me see"))
    with pytest.raises(LMBadResponse, match="only reasoned and wrote no answer") as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert caught.value.retryable
    assert caught.value.usage is not None and caught.value.usage.output_tokens == 200


@pytest.mark.parametrize("content", [None, ""])
async def test_no_text_at_the_length_cap_is_an_error_that_says_what_to_raise(
    server: FakeOpenAIServer, content: str | None
) -> None:
    server.script(fault.length_no_text(content))
    with pytest.raises(LMBadResponse, match=r"output cap of 256 tokens.*Budget\.max_tokens_per_call") as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES, max_tokens=256)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"choices": []}, "no choices"),
        ({"choices": [{"message": "hi"}]}, r"choices\[0\]\.message is str"),
        (completion_body(42), "message.content is int"),
        (completion_body([{"type": "text", "text": 7}]), r"content\[0\] holds int"),
        (completion_body("hi", finish_reason=3), "finish_reason is int"),  # type: ignore[arg-type]
        ({"error": {"message": "upstream timed out"}}, "HTTP 200 with an error: upstream timed out"),
        (completion_body(None, refusal="I can't help with that."), "refused: I can't help"),
    ],
)
async def test_malformed_replies_raise_lm_bad_response_never_a_type_error(
    server: FakeOpenAIServer, body: dict[str, Any], message: str
) -> None:
    server.script(Reply(body=body))
    with pytest.raises(LMBadResponse, match=message):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_odd_usage_fields_are_estimated_not_trusted(server: FakeOpenAIServer) -> None:
    odd = {"prompt_tokens": "twelve", "completion_tokens": -1, "cost": "free"}
    server.script(Reply(body=completion_body("ok", usage=odd)))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert completion.usage.estimated and completion.usage.cost_usd is None
    assert completion.usage.input_tokens == message_token_bound(MESSAGES)


def test_a_sub_call_that_only_reasoned_fails_with_a_clear_error_and_is_counted(server: FakeOpenAIServer) -> None:
    server.script(fault.reasoning_only("private thoughts"), fault.reasoning_only("more private thoughts"))
    root = ScriptedLM(["```repl\nr = llm_query('q')\n```", "```repl\nFINAL('gave up')\n```"])
    sub = OpenAICompatibleLM("thinker", server.base_url, max_retries=0)
    events: list[Event] = []
    result = RLM(root, sub_lm=sub, on_event=events.append).completion("q", context="c")
    [first_cell] = [e for e in events if e.type == "cell"][:1]
    assert "sub-LM call failed" in first_cell.data["output"] and "only reasoned" in first_cell.data["output"]
    assert "private thoughts" not in first_cell.data["output"]
    assert len(server.requests) == 2  # asked once more: a retryable failure
    assert [e.data["retried"] for e in events if e.type == "lm_reply_rejected"] == [True, False]
    assert result.usage.sub.output_tokens == 400  # both replies were billed, and counted


def test_the_trace_holds_reasoning_and_finish_reason_of_root_calls(server: FakeOpenAIServer, tmp_path: Path) -> None:
    body = completion_body(FINISH_LENGTH, usage=usage(30, 10), reasoning_content="use len")
    server.script(Reply(body=body))
    result = RLM(OpenAICompatibleLM("m", server.base_url), trace_dir=tmp_path).completion("q", context="ab")
    assert result.answer == "2" and result.trace_path is not None
    [call] = [json.loads(x) for x in result.trace_path.read_text().splitlines() if '"lm_call"' in x]
    assert (call["finish_reason"], call["reasoning"]) == ("stop", "use len")
    assert "use len" not in call["response"]


# --- the output cap's name -------------------------------------------------------------------------------------


async def test_a_server_that_rejects_max_tokens_gets_max_completion_tokens_from_then_on(
    server: FakeOpenAIServer,
) -> None:
    server.behaviour = Behaviour(reject_param="max_tokens")
    lm = OpenAICompatibleLM("gpt-5-mini", server.base_url, max_retries=0)
    first = await lm.complete(MESSAGES, max_tokens=100)
    second = await lm.complete(MESSAGES, max_tokens=100)
    assert first.text == second.text == "hi"
    sent = [sorted(k for k in r.body if "tokens" in k) for r in server.requests]
    assert sent == [["max_tokens"], ["max_completion_tokens"], ["max_completion_tokens"]]
    assert server.requests[1].body["max_completion_tokens"] == 100


async def test_a_server_that_rejects_max_completion_tokens_gets_max_tokens(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(reject_param="max_completion_tokens")
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    lm.cap_param = "max_completion_tokens"  # as for api.openai.com: a proxy in front of an older server
    assert (await lm.complete(MESSAGES, max_completion_tokens=64)).text == "hi"
    assert [sorted(k for k in r.body if "tokens" in k) for r in server.requests] == [
        ["max_completion_tokens"],
        ["max_tokens"],
    ]


def test_a_budgeted_run_works_on_a_server_that_rejects_max_tokens(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=FINISH_LENGTH, reject_param="max_tokens")
    lm = OpenAICompatibleLM("gpt-5-mini", server.base_url, max_retries=0)
    result = RLM(lm, budget=Budget(max_tokens=50_000)).completion("How long?", context="abcd")
    assert (result.answer, result.status) == ("4", "finished")


async def test_without_a_cap_no_cap_is_sent(server: FakeOpenAIServer) -> None:
    await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert not [k for k in server.requests[0].body if "tokens" in k]


# --- the fake server is a faithful OpenAI-compatible server -----------------------------------------------------


def test_the_official_sdk_reads_the_fake_servers_replies(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text="pong", model="alias-target")
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}], max_tokens=5)
    assert reply.choices[0].message.content == "pong" and reply.model == "alias-target"
    assert reply.usage is not None and reply.usage.completion_tokens == server.billed[0].completion_tokens == 1


async def test_a_sampling_param_the_server_refuses_is_left_out_from_then_on(server: FakeOpenAIServer) -> None:
    refusal = (
        "Unsupported value: 'temperature' does not support 0.0 with this model. Only the default (1) is supported."
    )
    server.script(Reply(400, error_body(refusal, param="temperature")))
    lm = OpenAICompatibleLM("o-model", server.base_url, max_retries=0, temperature=0.0)
    assert (await lm.complete(MESSAGES, max_tokens=10)).text == "hi"
    assert (await lm.complete(MESSAGES, max_tokens=10)).text == "hi"
    assert ["temperature" in r.body for r in server.requests] == [True, False, False]
    assert all(r.body["max_tokens"] == 10 for r in server.requests)  # the cap is never dropped
    assert lm.unsupported_params == {"temperature"}


@pytest.mark.parametrize(
    ("body", "text", "reasoning"),
    [
        ({"choices": [{"index": 0, "text": "legacy", "finish_reason": "stop"}]}, "legacy", None),
        (  # a proxy that answers a plain request with its stream's one chunk
            {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": "whole", "reasoning_content": "first"}}],
            },
            "whole",
            "first",
        ),
        (completion_body([{"type": "text", "text": {"value": "annotated", "annotations": []}}]), "annotated", None),
        (
            completion_body("ok", reasoning_details=[{"type": "reasoning.text", "text": "routed thought"}]),
            "ok",
            "routed thought",
        ),
    ],
)
async def test_other_reply_shapes_servers_send(
    server: FakeOpenAIServer, body: dict[str, Any], text: str, reasoning: str | None
) -> None:
    server.script(Reply(body=body))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == (text, reasoning)


@pytest.mark.parametrize(
    ("reported", "counts"),
    [
        ({"prompt_tokens": "3012", "completion_tokens": "2", "total_tokens": 3014}, (3012, 2)),  # quoted numbers
        ({"prompt_tokens": "n/a", "completion_tokens": None, "total_tokens": 3014}, (None, None)),  # only the sum
    ],
)
async def test_usage_a_gateway_writes_oddly_is_read_or_bounded_by_its_total(
    server: FakeOpenAIServer, reported: dict[str, Any], counts: tuple[int | None, int | None]
) -> None:
    server.script(Reply(body=completion_body("ok", usage=reported)))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    got = completion.usage
    if counts == (None, None):  # split, output first, but never below what the server says it billed
        assert got.total_tokens == 3014 and not got.estimated
    else:
        assert (got.input_tokens, got.output_tokens, got.estimated) == (*counts, False)


@pytest.mark.parametrize(
    "reported",
    [
        {"prompt_tokens": None, "completion_tokens": None, "total_tokens": 540},
        {"prompt_tokens": 500.5, "completion_tokens": 39.5, "total_tokens": 540},  # counts no tokenizer makes
    ],
    ids=["null-counts", "fractional-counts"],
)
async def test_a_total_read_alone_is_split_output_first_so_its_cost_is_an_upper_bound(
    server: FakeOpenAIServer, reported: dict[str, Any]
) -> None:
    # Split prompt first, a total of 540 (500 in, 40 out) was booked as 540 input tokens and no output: a reply with
    # text at 0 output tokens, and under max_usd a cost 18% below the bill (up to 4x with a long reply).
    server.script(Reply(body=completion_body("ok", usage=reported)))
    lm = OpenAICompatibleLM("gpt-4o-2024-08-06", server.base_url, max_tokens=1000)
    got = (await lm.complete(MESSAGES)).usage
    assert (got.input_tokens, got.output_tokens) == (0, 540)  # all of it fits the 1,000-token cap sent
    price = list_price("gpt-4o-2024-08-06")
    assert price is not None
    assert price.cost(got.input_tokens, got.output_tokens) >= price.cost(500, 40)
    capped = OpenAICompatibleLM("gpt-4o-2024-08-06", server.base_url, max_tokens=100)
    server.script(Reply(body=completion_body("ok", usage=reported)))
    assert ((await capped.complete(MESSAGES)).usage.output_tokens) == 100  # no more than the server may have written


async def test_a_closing_tag_quoted_in_code_does_not_cut_the_reply(server: FakeOpenAIServer) -> None:
    """`split('</think>')` in a reply mentions the tag: the reply is not cut there into reasoning and text."""
    code = "```repl\nlast = context.split('</think>')[-1]\nprint(last)\n```"
    server.script(Reply(body=completion_body(code)))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == (code, None)


async def test_usage_named_input_and_output_tokens_is_read(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body("ok", usage={"input_tokens": 9, "output_tokens": 2})))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.usage.input_tokens, completion.usage.output_tokens, completion.usage.estimated) == (9, 2, False)


async def test_a_streamed_body_to_a_plain_request_is_joined(server: FakeOpenAIServer) -> None:
    chunks = [
        {"model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "hmm "}}]},
        {"model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"model": "m", "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"model": "m", "choices": [], "usage": usage(7, 2)},
    ]
    stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    server.script(Reply(body=stream, headers={"content-type": "text/event-stream"}))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning, completion.finish_reason) == ("Hello", "hmm ", "stop")
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (7, 2)


def test_a_fan_out_queues_on_a_server_with_few_slots_and_every_item_is_answered() -> None:
    with FakeOpenAIServer(Behaviour(text="done", latency=0.05), slots=2) as server:
        sub = OpenAICompatibleLM("reader", server.base_url, max_retries=0)
        root = ScriptedLM(
            ["```repl\nouts = llm_query_batched([f'q{i}' for i in range(8)])\nFINAL(','.join(outs))\n```"]
        )
        result = RLM(root, sub_lm=sub).completion("q", context="c")
    assert result.answer == ",".join(["done"] * 8)
    assert server.max_in_flight == 2 and len(server.requests) == 8


async def test_a_validation_error_listing_the_cap_as_an_extra_input_renames_it(server: FakeOpenAIServer) -> None:
    detail = {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "max_completion_tokens"],
                "msg": "Extra inputs are not permitted",
            }
        ]
    }
    server.script(Reply(422, detail))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    lm.cap_param = "max_completion_tokens"
    assert (await lm.complete(MESSAGES, max_tokens=32)).text == "hi"
    assert server.requests[1].body["max_tokens"] == 32 and lm.cap_param == "max_tokens"


def test_a_run_against_a_server_that_never_answers_ends_at_max_seconds(server: FakeOpenAIServer) -> None:
    server.script(*[fault.hang()] * 4)
    root = ScriptedLM(["```repl\nprint(llm_query('x'))\n```", "```repl\nFINAL('unreached')\n```"])
    sub = OpenAICompatibleLM("m", server.base_url)  # the default 120 s timeout: the run's budget ends it first
    result = RLM(root, sub_lm=sub, budget=Budget(max_seconds=1.5)).completion("q", context="c")
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_seconds")


# --- replies as providers and gateways really send them -------------------------------------------------------------


async def test_a_think_block_cut_by_the_cap_is_reasoning_not_the_answer(server: FakeOpenAIServer) -> None:
    cut = "<think>\nThe capital... it could be Lyon? No, I recall it is"
    server.script(Reply(body=completion_body(cut, finish_reason="length", usage=usage(40, 16))))
    with pytest.raises(LMBadResponse, match="spent its output cap of 16 tokens on reasoning"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES, max_tokens=16)


async def test_an_error_body_in_a_list_is_quoted_and_its_parameter_dropped(server: FakeOpenAIServer) -> None:
    """Gemini's OpenAI-compatible endpoint wraps its error object in a list."""
    said = 'Invalid JSON payload received. Unknown name "top_k": Cannot find field.'
    server.script(Reply(status=400, body=json.dumps([{"error": {"code": 400, "message": said}}])))
    lm = OpenAICompatibleLM("m", server.base_url, top_k=5)
    assert (await lm.complete(MESSAGES)).text == "hi"
    assert "top_k" in server.requests[0].body and "top_k" not in server.requests[1].body


@pytest.mark.parametrize("reason", ["error", "insufficient_system_resource"])
async def test_a_reply_the_server_broke_off_is_retried_not_taken(server: FakeOpenAIServer, reason: str) -> None:
    server.script(Reply(body=completion_body("The capital of France is", finish_reason=reason, usage=usage(9, 5))))
    with pytest.raises(LMBadResponse, match=f"ended the reply early \\(finish_reason '{reason}'\\)") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.retryable and caught.value.usage is not None and caught.value.usage.output_tokens == 5


async def test_an_empty_reply_that_says_stop_is_retried_not_taken(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body(None, usage=usage(9, 0))))
    with pytest.raises(LMBadResponse, match="empty reply") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.retryable


async def test_an_error_inside_an_unrequested_stream_is_reported(server: FakeOpenAIServer) -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": [{"type": "text", "text": "The capital of"}]}}]},
        {
            "error": {"message": "Provider disconnected"},
            "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
        },
    ]
    stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    server.script(Reply(body=stream, headers={"Content-Type": "text/event-stream"}))
    with pytest.raises(LMBadResponse, match="Provider disconnected"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_stream_deltas_given_as_parts_are_joined(server: FakeOpenAIServer) -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": [{"type": "text", "text": t}]}}]} for t in ("Pa", "ris")]
    stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    server.script(Reply(body=stream, headers={"Content-Type": "text/event-stream"}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"


@pytest.mark.parametrize(
    ("reported", "input_tokens", "output_tokens", "cost"),
    [
        # reasoning counted only in the total (Gemini through some gateways)
        ({"prompt_tokens": 20, "completion_tokens": 151, "total_tokens": 553}, 20, 533, None),
        # Anthropic's shape: cache reads and writes are input too
        (
            {
                "input_tokens": 50,
                "output_tokens": 7,
                "cache_read_input_tokens": 4000,
                "cache_creation_input_tokens": 50,
            },
            4100,
            7,
            None,
        ),
        # OpenRouter with the user's own key: `cost` is the fee, the inference is upstream
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "cost": 0.0004,
                "cost_details": {"upstream_inference_cost": 0.008},
            },
            10,
            2,
            0.0084,
        ),
        # OpenRouter on its own key: the upstream cost repeats the charge (added, every call was booked twice)
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "cost": 0.00054,
                "is_byok": False,
                "cost_details": {"upstream_inference_cost": 0.00054},
            },
            10,
            2,
            0.00054,
        ),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "cost": 0.0005,
                "cost_details": {"upstream_inference_cost": 0.0005},
            },
            10,
            2,
            0.0005,
        ),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "cost": 0.001,
                "is_byok": True,
                "cost_details": {"upstream_inference_cost": 0.001},
            },
            10,
            2,
            0.002,
        ),
    ],
)
async def test_usage_is_read_as_each_provider_means_it(
    server: FakeOpenAIServer, reported: dict[str, Any], input_tokens: int, output_tokens: int, cost: float | None
) -> None:
    server.script(Reply(body=completion_body("ok", usage=reported)))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (input_tokens, output_tokens)
    assert completion.usage.cost_usd == pytest.approx(cost) if cost is not None else completion.usage.cost_usd is None


@pytest.mark.parametrize(
    ("reported", "prompt", "read", "written"),
    [
        # a Claude gateway's prompt_tokens is Anthropic's uncached input_tokens; its cache counts come beside it
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 40,
                "total_tokens": 52,
                "prompt_tokens_details": {"cached_tokens": 1240},
                "cache_read_input_tokens": 1240,
                "cache_creation_input_tokens": 0,
            },
            1252,
            1240,
            0,
        ),
        ({"prompt_tokens": 12, "completion_tokens": 40, "cache_creation_input_tokens": 3000}, 3012, 0, 3000),
        ({"prompt_tokens": 9, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 500}}, 509, 500, 0),
        # OpenAI's own meaning: cached tokens are part of the prompt
        (
            {"prompt_tokens": 1300, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 1024}},
            1300,
            1024,
            0,
        ),
        # LiteLLM's spelling of a cache write, part of the prompt
        (
            {"prompt_tokens": 2000, "completion_tokens": 4, "prompt_tokens_details": {"cache_creation_tokens": 1800}},
            2000,
            0,
            1800,
        ),
    ],
)
async def test_cache_counts_larger_than_the_prompt_are_added_to_it(
    server: FakeOpenAIServer, reported: dict[str, Any], prompt: int, read: int, written: int
) -> None:
    # booked as 12 prompt tokens with the cache cut down to them, each call freed almost all it reserved and a
    # token or USD budget was overshot 2-3x unnoticed
    server.script(Reply(body=completion_body("ok", usage=reported)))
    usage = (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (prompt, read, written)


async def test_a_value_the_parameter_does_not_take_is_an_error_not_a_silent_drop(server: FakeOpenAIServer) -> None:
    said = (
        "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: "
        "'low', 'medium', and 'high'."
    )
    server.script(Reply(status=400, body=error_body(said, param="reasoning_effort")))
    lm = OpenAICompatibleLM("m", server.base_url, reasoning_effort="minimal", max_retries=0)
    with pytest.raises(LMRequestError, match="does not support 'minimal'"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1 and lm.unsupported_params == set()


async def test_vllms_error_object_in_a_200_is_quoted(server: FakeOpenAIServer) -> None:
    server.script(Reply(body={"object": "error", "message": "The model `x` does not exist.", "code": 404}))
    with pytest.raises(LMBadResponse, match="does not exist"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_no_choices_with_usage_still_reports_what_was_billed(server: FakeOpenAIServer) -> None:
    server.script(Reply(body={"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}))
    with pytest.raises(LMBadResponse, match="no choices") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.usage is not None
    assert (caught.value.usage.input_tokens, caught.value.usage.output_tokens) == (12, 3)


# --- what real servers send, second audit -------------------------------------------------------------------------
def test_a_count_left_out_is_the_total_minus_the_other(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    shapes = [
        {"prompt_tokens": 30, "completion_tokens": None, "total_tokens": 49},
        {"prompt_tokens": None, "completion_tokens": 19, "total_tokens": 49},
        {"total_tokens": 49},
    ]
    for shape in shapes:
        server.script(Reply(body=completion_body("Paris", usage=shape)))
    counted = [asyncio.run(lm.complete(MESSAGES)).usage for _ in shapes]
    assert [(u.input_tokens + u.output_tokens, u.estimated) for u in counted] == [(49, False)] * 3
    assert (counted[0].output_tokens, counted[1].input_tokens) == (19, 30)


async def test_a_body_with_bad_bytes_or_trailing_junk_is_still_read(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    good = json.dumps(completion_body("caf\u00e9 \u2028 ok", usage=usage(5, 5))).encode()
    server.script(
        Reply(body=good.replace(b"caf\\u00e9", b"caf\xe9")),  # Latin-1 inside a UTF-8 body
        Reply(body=good + b"\n\ndata: [DONE]\n"),
        Reply(body=good + b"\x00\x00\x00"),
    )
    texts = [(await lm.complete(MESSAGES)).text for _ in range(3)]
    assert texts == ["caf\ufffd \u2028 ok", "caf\u00e9 \u2028 ok", "caf\u00e9 \u2028 ok"]


async def test_a_stream_keeps_line_separators_inside_its_text(server: FakeOpenAIServer) -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": part}}]} for part in ("one\u2028", "two")]
    stream = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    server.script(Reply(body=stream, headers={"content-type": "text/event-stream"}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "one\u2028two"


@pytest.mark.parametrize(
    ("line_end", "start"),
    [("\r", ""), ("\r\n", ""), ("\n", "\ufeff"), ("\r", "\ufeff")],
    ids=["cr", "crlf", "bom", "bom-cr"],
)
async def test_an_event_stream_is_read_by_its_own_grammar(server: FakeOpenAIServer, line_end: str, start: str) -> None:
    # Lines ending in CR alone were "not JSON"; a leading byte order mark (.NET's UTF-8 preamble) hid the first
    # event, and its text was lost without a word.
    chunks = [{"choices": [{"index": 0, "delta": {"content": part}}]} for part in ("A", "\u00e9 end")]
    events = [f"data: {json.dumps(c, ensure_ascii=False)}" for c in chunks] + ["data: [DONE]"]
    stream = start + "".join(event + line_end * 2 for event in events)
    server.script(Reply(body=stream.encode("utf-8"), headers={"content-type": "text/event-stream"}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "A\u00e9 end"


async def test_a_sub_calls_leaked_harmony_markup_is_read_like_the_roots(server: FakeOpenAIServer) -> None:
    leaked = (
        "<|channel|>analysis<|message|>The user asks the capital.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Paris"
    )
    server.script(Reply(body=completion_body(leaked, usage=usage(5, 5))))
    completion = await OpenAICompatibleLM("gpt-oss", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == ("Paris", "The user asks the capital.")


async def test_a_body_without_choices_is_quoted(server: FakeOpenAIServer) -> None:
    server.script(Reply(body={"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}))
    with pytest.raises(LMBadResponse, match="insufficient balance"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"choices": [], "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "blockReason PROHIBITED_CONTENT"),
        ({"choices": [], "prompt_feedback": {"block_reason": "SAFETY"}}, "blockReason SAFETY"),
        (
            {
                "choices": [],
                "prompt_filter_results": [
                    {
                        "prompt_index": 0,
                        "content_filter_results": {
                            "hate": {"filtered": False, "severity": "safe"},
                            "violence": {"filtered": True, "severity": "high"},
                        },
                    }
                ],
            },
            "violence, severity high",
        ),
    ],
)
async def test_a_prompt_the_servers_filter_blocked_is_said_and_not_asked_again(
    server: FakeOpenAIServer, body: dict[str, Any], named: str
) -> None:
    # Gemini's compatibility layer and Azure answer 200 with no choices and why: retried, it was blocked again
    server.script(Reply(body=body), Reply(body=body))
    with pytest.raises(LMBadResponse, match=re.escape(f"content filter blocked the prompt ({named})")) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)
    assert not caught.value.retryable and len(server.requests) == 1


async def test_a_reply_that_breaks_off_is_reported_and_booked(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=1)
    server.script(Reply(body=completion_body("Paris", usage=usage(5, 5)), broken=True), Reply(broken=True))
    with pytest.raises(LMConnectionError, match="broke off") as caught:
        await lm.complete(MESSAGES)
    assert caught.value.sent == 2  # both requests went out: both may be billed
    server.script(Reply(body=completion_body("Paris", usage=usage(5, 5)), broken=True))
    answered = await lm.complete(MESSAGES)  # the retry is answered (by the server's default behaviour)
    assert (answered.text, answered.unanswered) == ("hi", 1)


def test_a_run_books_what_broken_replies_may_have_cost(server: FakeOpenAIServer) -> None:
    sub = OpenAICompatibleLM("m", server.base_url, max_retries=1)
    server.script(Reply(broken=True), Reply(broken=True))
    root = ScriptedLM(["```repl\ntry:\n    llm_query('q')\nexcept Exception as e:\n    print(e)\n```", "FINAL(done)"])
    result = RLM(root, sub_lm=sub, budget=Budget(max_tokens=100_000, max_tokens_per_call=500)).completion(
        "q", context="x"
    )
    assert result.answer == "done"
    booked = result.usage.by_model.get("m")
    assert booked is not None and booked.output_tokens >= 2 * 500  # two requests sent, each booked at its cap


async def test_a_400_refusing_the_system_role_folds_it_into_the_first_user_message(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("gemma-2-9b-it", server.base_url)
    server.script(Reply(400, error_body("System role not supported")))
    assert (await lm.complete(MESSAGES)).text
    await lm.complete(MESSAGES)  # remembered: no second refusal needed
    sent = [r.body["messages"] for r in server.requests]
    assert sent[0][0]["role"] == "system"
    assert sent[1] == sent[2] == [{"role": "user", "content": "You are terse.\n\nSay hi."}]


@pytest.mark.parametrize(
    ("said", "kept", "dropped"),
    [
        ("property 'store' is unsupported, did you mean 'stop'?", "stop", "store"),  # Groq
        ("Argument not supported on this model: presencePenalty", "stop", "presence_penalty"),  # xAI
        # serde (Rust servers): the list after "expected one of" is what the server takes, not what it refused
        (
            "Failed to deserialize the JSON body: unknown field `presence_penalty`, expected one of `model`, "
            "`messages`, `max_tokens`, `stop`, `temperature`, `top_p`",
            "stop",
            "presence_penalty",
        ),
    ],
)
async def test_the_parameter_a_400_names_is_the_one_dropped(
    server: FakeOpenAIServer, said: str, kept: str, dropped: str
) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, stop=["END"], store=True, presence_penalty=0.5)
    server.script(Reply(400, error_body(said)))
    await lm.complete(MESSAGES)
    assert dropped in server.requests[0].body and dropped not in server.requests[1].body
    assert kept in server.requests[1].body and len(server.requests) == 2
    assert {k: v for k, v in server.requests[1].body.items() if k != dropped} == {
        k: v for k, v in server.requests[0].body.items() if k != dropped
    }  # nothing else dropped or renamed


async def test_a_refused_response_format_type_is_an_error_not_dropped(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, response_format={"type": "json_object"})
    said = "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model."
    server.script(Reply(400, error_body(said, param="response_format")))
    with pytest.raises(LMRequestError, match="of type 'json_object'"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1


async def test_a_base_url_with_a_query_string_keeps_it_after_the_path(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("gpt-4o", server.base_url + "?api-version=2024-10-21")
    await lm.complete(MESSAGES)
    assert server.requests[0].path == "/v1/chat/completions?api-version=2024-10-21"


async def test_errors_that_retrying_cannot_cure_say_what_to_do(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    quota = error_body(
        "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota"
    )
    server.script(Reply(429, quota, {"retry-after": "0"}))
    with pytest.raises(LMRequestError, match="out of quota or credit"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1  # not retried
    server.script(Reply(404, "404 page not found", {"content-type": "text/plain"}))
    with pytest.raises(LMRequestError, match="ending in /v1"):
        await lm.complete(MESSAGES)
    server.script(Reply(301, "", {"location": "https://elsewhere.example/v1/chat/completions"}))
    with pytest.raises(LMRequestError, match=r"redirected the request .* to https://elsewhere\.example"):
        await lm.complete(MESSAGES)


def test_requests_sent_before_a_failure_are_booked(server: FakeOpenAIServer) -> None:
    code = "```repl\ntry:\n    llm_query('q')\nexcept Exception as e:\n    print(e)\n```"
    sub = OpenAICompatibleLM("m", server.base_url, max_retries=2, timeout=0.3)
    budget = Budget(max_tokens=100_000, max_tokens_per_call=500)
    for failing in (
        [Reply(hang=True), fault.server_error(), fault.server_error()],  # a timeout, then error statuses
        [fault.not_json(), fault.not_json(), fault.not_json()],  # every reply unreadable
    ):
        server.script(*failing)
        result = RLM(ScriptedLM([code, "FINAL(done)"]), sub_lm=sub, budget=budget).completion("q", context="x")
        assert result.answer == "done"
        assert result.usage.by_model["m"].output_tokens >= 500, failing  # booked at the reservation, not released


async def test_usage_read_the_ways_providers_report_it(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    reasoning_apart = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                       "completion_tokens_details": {"reasoning_tokens": 50}}  # fmt: skip
    cost_object = {**usage(10, 5), "cost": {"total_cost": 0.0123}}  # Perplexity
    server.script(
        Reply(body=completion_body("a", usage=reasoning_apart)), Reply(body=completion_body("b", usage=cost_object))
    )
    first, second = await lm.complete(MESSAGES), await lm.complete(MESSAGES)
    assert first.usage.output_tokens == 55
    assert second.usage.cost_usd == 0.0123


# --- what real servers send, third audit ---------------------------------------------------------------------------
async def test_an_empty_error_object_beside_a_good_reply_is_no_error(server: FakeOpenAIServer) -> None:
    blank = {"message": "", "type": "", "param": "", "code": None}  # LiteLLM and MiniMax send this with a reply
    server.script(*(Reply(body={**completion_body("Paris"), "error": e}) for e in (blank, {})))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    assert [(await lm.complete(MESSAGES)).text for _ in range(2)] == ["Paris", "Paris"]


def _stream(*chunks: dict[str, Any], tail: str = "") -> Reply:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + tail
    return Reply(body=body, headers={"content-type": "text/event-stream"})


async def test_a_stream_that_fails_or_stops_short_is_no_reply(server: FakeOpenAIServer) -> None:
    part = {"choices": [{"index": 0, "delta": {"content": "The capital of Fr"}}]}
    server.script(
        _stream(part, {"object": "error", "message": "CUDA out of memory", "code": 500}),  # vLLM's error chunk
        _stream(part, tail='error: {"code": 500, "message": "Context size has been exceeded."}\n\n'),  # llama.cpp's
        _stream(part),  # neither a finish_reason nor [DONE]: cut off
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    for said in ("CUDA out of memory", "Context size has been exceeded", "event stream ended before the reply did"):
        with pytest.raises(LMBadResponse, match=said):
            await lm.complete(MESSAGES)
    finished = {"choices": [{"index": 0, "delta": {"content": "Paris"}, "finish_reason": "stop"}]}
    server.script(
        _stream(finished), _stream({"choices": [{"index": 0, "delta": {"content": "Rome"}}]}, tail="data: [DONE]\n\n")
    )
    assert [(await lm.complete(MESSAGES)).text for _ in range(2)] == ["Paris", "Rome"]


async def test_a_choices_own_error_is_quoted(server: FakeOpenAIServer) -> None:
    failed = completion_body("", finish_reason="error")
    failed["choices"][0]["error"] = {"code": 502, "message": "Upstream error from Chutes: Request timed out"}
    server.script(Reply(body=failed))
    with pytest.raises(LMBadResponse, match="Upstream error from Chutes") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.retryable


@pytest.mark.parametrize("reason", ["content_filter", "sensitive", "SAFETY", "PROHIBITED_CONTENT", "RECITATION"])
async def test_every_content_filters_finish_reason_is_named_and_not_asked_again(
    server: FakeOpenAIServer, reason: str
) -> None:
    server.script(Reply(body=completion_body("", finish_reason=reason, usage=usage(10, 3))))
    with pytest.raises(LMBadResponse, match=f"content filter withheld the reply \\(finish_reason '{reason}'\\)") as c:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert not c.value.retryable and len(server.requests) == 1


@pytest.mark.parametrize("reason", ["model_length", "model_context_window_exceeded"])
def test_every_servers_cap_reached_reason_keeps_a_cut_block_from_running(server: FakeOpenAIServer, reason: str) -> None:
    cut = "```repl\nprint('STEP-ONE-RAN')\nx = 1 +"  # Mistral's and Z.ai's names for a reply cut at the cap
    server.script(Reply(body=completion_body(cut, finish_reason=reason)), Reply(body=completion_body("FINAL(ok)")))
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("q", context="x")
    assert result.answer == "ok"
    fed_back = json.dumps(server.requests[1].body["messages"][-1])
    assert "STEP-ONE-RAN" not in fed_back and "output limit" in fed_back


async def test_a_body_in_its_declared_charset_is_read_in_it(server: FakeOpenAIServer) -> None:
    body = json.dumps(completion_body("北京"), ensure_ascii=False)
    utf8_labelled_latin1 = json.dumps(completion_body("Zürich"), ensure_ascii=False).encode()
    server.script(
        Reply(body=body.encode("gbk"), headers={"content-type": "application/json; charset=gbk"}),
        Reply(body=utf8_labelled_latin1, headers={"content-type": "application/json; charset=ISO-8859-1"}),
    )
    lm = OpenAICompatibleLM("m", server.base_url)
    assert [(await lm.complete(MESSAGES)).text for _ in range(2)] == ["北京", "Zürich"]


@pytest.mark.parametrize(
    ("status", "charset", "body", "said"),
    [
        (
            400,
            "gbk",
            json.dumps({"error": {"message": "模型不存在: qwen-max"}}, ensure_ascii=False),
            "模型不存在: qwen-max",
        ),
        (
            404,
            "shift_jis",
            json.dumps({"error": {"message": "モデルが見つかりません"}}, ensure_ascii=False),
            "モデルが見つかりません",
        ),
        (401, "gb2312", "认证失败：无效的令牌", "认证失败：无效的令牌"),
    ],
)
async def test_an_error_body_in_its_declared_charset_is_quoted_as_written(
    server: FakeOpenAIServer, status: int, charset: str, body: str, said: str
) -> None:
    # a Chinese or Japanese gateway's error, labelled in its charset, was read as UTF-8: mojibake, a JSON error not
    # read as JSON (its whole body quoted), and a 404 "model not found" taken for a wrong address
    labelled = "text/plain" if body == said else "application/json"
    server.script(
        Reply(status=status, body=body.encode(charset), headers={"content-type": f"{labelled}; charset={charset}"})
    )
    with pytest.raises(LMError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    message = str(caught.value)
    assert said in message and "\ufffd" not in message
    assert "address" not in message
    if body != said:
        assert "{" not in message  # the message, not the whole JSON body


# --- which request parameters a server accepts, third audit ---------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "fits"),
    [
        (  # vLLM --max-model-len
            "This model's maximum context length is 4096 tokens. However, you requested 6196 tokens (2100 in the "
            "messages, 4096 in the completion). Please reduce the length of the messages or completion.",
            1996,
        ),
        (  # SGLang
            "Requested token count exceeds the model's maximum context length of 8192 tokens. You requested a total "
            "of 9096 tokens: 5000 tokens from the input messages and 4096 tokens for the completion.",
            3192,
        ),
        (
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 5000 `inputs` tokens "
            "and 4096 `max_new_tokens`",
            3192,
        ),
        (
            "max_tokens is too large: 4096. This model supports at most 2048 completion tokens, whereas you provided "
            "4096.",
            2048,
        ),
        (
            "`max_tokens` must be less than or equal to `1024`, the maximum value for `max_tokens` is less than the "
            "`context_window` for this model",
            1024,
        ),
    ],
)
async def test_a_cap_the_server_says_is_too_large_is_sent_again_at_the_size_it_names(
    server: FakeOpenAIServer, said: str, fits: int
) -> None:
    server.script(Reply(400, error_body(said)), Reply(body=completion_body("Paris")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096)
    assert (await lm.complete(MESSAGES)).text == "Paris"
    assert [r.body["max_tokens"] for r in server.requests] == [4096, fits]


@pytest.mark.parametrize(
    ("status", "said", "fits"),
    [
        (400, "This endpoint's maximum context length is 8192 tokens. However, you requested about 9096 tokens "
              "(5000 of text input, 4096 in the output).", 3192),  # OpenRouter
        (402, "This request requires more credits, or fewer max_tokens. You requested up to 4096 tokens, but can "
              "only afford 1533.", 1533),  # OpenRouter
        (413, "Request too large for model `llama-3.1-8b-instant` on tokens per minute (TPM): Limit 6000, "
              "Requested 9096, please reduce your message size and try again.", 1000),  # Groq's free tier
        (400, "Please reduce the length of the messages or completion. Current length is 9096 while limit is 8192",
         3192),  # Cerebras
        (400, "maxOutputTokens value of 4096 but the supported range is from 1 (inclusive) to 2049 (exclusive)",
         2048),  # Vertex behind LiteLLM
        (400, "The maximum tokens you requested exceeds the model limit of 2048", 2048),  # Bedrock behind LiteLLM
        (400, "Range of max_tokens should be [1, 2048]", 2048),  # DashScope, NIM
        (400, "max_tokens (current value: 4096) must be between 0 and 4000", 4000),
        (400, "invalid max_tokens: expected a value <= 2048, but got 4096", 2048),  # Volcengine Ark
    ],
)  # fmt: skip
async def test_every_wording_of_a_cap_too_large_is_fitted(
    server: FakeOpenAIServer, status: int, said: str, fits: int
) -> None:
    server.script(Reply(status, error_body(said)), Reply(body=completion_body("Paris")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "Paris"
    assert [r.body["max_tokens"] for r in server.requests] == [4096, fits]


async def test_a_models_output_limit_is_kept_for_later_calls_and_a_window_is_not(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096)
    server.script(Reply(400, error_body("This model supports at most 2048 completion tokens")), Reply(body=None))
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    assert [r.body["max_tokens"] for r in server.requests] == [4096, 2048, 2048]
    window = "maximum context length is 4096 tokens. However, you requested 6196 tokens (2100 in the messages, 4096 "
    window += "in the completion)"
    server.script(Reply(400, error_body(window)), Reply(body=None))
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    assert [r.body["max_tokens"] for r in server.requests[3:]] == [2048, 1996, 2048]


async def test_a_cap_that_cannot_fit_says_where_it_came_from(server: FakeOpenAIServer) -> None:
    said = "`max_tokens` must be greater than `thinking.budget_tokens`"  # Anthropic, with thinking on
    server.script(Reply(400, error_body(said)), Reply(400, error_body("max_tokens: 9000 is above this model's 8192")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096)
    for _ in range(2):
        with pytest.raises(LMRequestError, match=r"rlmx sent max_tokens=4096: .*--max-tokens-per-call"):
            await lm.complete(MESSAGES)
    assert len(server.requests) == 2


async def test_o1s_refusal_of_the_system_role_folds_it_into_the_user_message(server: FakeOpenAIServer) -> None:
    said = "Unsupported value: 'messages[0].role' does not support 'system' with this model."
    server.script(Reply(400, {"error": {"message": said, "code": "unsupported_value", "param": "messages[0].role"}}))
    assert (await OpenAICompatibleLM("o1-mini", server.base_url).complete(MESSAGES)).text == "hi"
    assert [m["role"] for m in server.requests[1].body["messages"]] == ["user"]


@pytest.mark.parametrize(
    "said",
    [
        "This model only support stream mode, please enable the stream parameter to access the model. ",
        "parameter.enable_thinking must be set to false for non-streaming calls",
    ],
)
async def test_a_model_served_only_as_a_stream_is_asked_for_one(server: FakeOpenAIServer, said: str) -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in ("Par", "is")]
    events.append({"choices": [], "usage": usage(9, 2)})
    stream = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    as_events = {"content-type": "text/event-stream"}
    server.script(
        Reply(400, error_body(said)), Reply(body=stream, headers=as_events), Reply(body=stream, headers=as_events)
    )
    lm = OpenAICompatibleLM("qwq-plus", server.base_url)
    first, second = await lm.complete(MESSAGES), await lm.complete(MESSAGES)
    assert (first.text, second.text, first.usage.input_tokens, first.usage.estimated) == ("Paris", "Paris", 9, False)
    sent = [(r.body.get("stream"), r.body.get("stream_options")) for r in server.requests]
    assert sent == [(None, None), (True, {"include_usage": True}), (True, {"include_usage": True})]


async def test_calls_in_flight_when_the_lm_learns_a_servers_rule_are_resent_by_it_too(
    server: FakeOpenAIServer,
) -> None:
    # A batch's first calls all go out before the first refusal comes back: each is re-sent the way the server
    # asked (they failed with "request rejected" once a sibling had switched the LM).
    events = [{"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}]
    stream = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def route(body: dict[str, Any]) -> Reply | None:
        if body["messages"][0]["role"] == "system":
            return Reply(400, error_body("System role not supported"), delay=0.2)
        if not body.get("stream"):
            return Reply(400, error_body("This model only support stream mode"), delay=0.2)
        return Reply(body=stream, headers={"content-type": "text/event-stream"})

    server.behaviour = Behaviour(route=route)
    lm = OpenAICompatibleLM("gemma-qwq", server.base_url, max_retries=0)
    answers = await asyncio.gather(*(lm.complete(MESSAGES) for _ in range(4)))
    assert [a.text for a in answers] == ["ok"] * 4


@pytest.mark.parametrize(
    "events",
    [
        # one chunk's JSON over several data: lines (SSE joins them with newlines)
        ['data: {"choices": [{"index": 0,\ndata: "delta": {"content": "Paris"}, "finish_reason": "stop"}],\n'
         'data: "usage": {"prompt_tokens": 9, "completion_tokens": 2}}'],
        # whole message objects as events, and the usage under Groq's x_groq
        ['data: {"choices": [{"index": 0, "message": {"content": "Par"}}]}',
         'data: {"choices": [{"index": 0, "message": {"content": "Paris"}, "finish_reason": "stop"}], '
         '"x_groq": {"usage": {"prompt_tokens": 9, "completion_tokens": 2}}}'],
        # the usage inside the choice (Moonshot)
        ['data: {"choices": [{"index": 0, "delta": {"content": "Paris"}, "finish_reason": "stop", '
         '"usage": {"prompt_tokens": 9, "completion_tokens": 2}}]}'],
    ],
    ids=["multi-line-data", "message-events", "usage-in-choice"],
)  # fmt: skip
async def test_streams_are_joined_however_servers_shape_their_events(
    server: FakeOpenAIServer, events: list[str]
) -> None:
    stream = "\n\n".join([*events, "data: [DONE]"]) + "\n\n"
    server.script(Reply(body=stream, headers={"content-type": "text/event-stream"}))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.usage.input_tokens, completion.usage.estimated) == ("Paris", 9, False)


async def test_a_reply_that_came_but_cannot_be_parsed_is_not_an_unreachable_server(server: FakeOpenAIServer) -> None:
    # A proxy sending both Transfer-Encoding and Content-Length: the server answered (and may have billed it).
    server.script(Reply(body=completion_body("hi"), headers={"transfer-encoding": "chunked"}))
    with pytest.raises(LMConnectionError, match="broke off") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.sent == 1 and "unreachable" not in str(caught.value)


async def test_an_audio_replys_transcript_is_its_text(server: FakeOpenAIServer) -> None:
    body = completion_body("", usage=usage(9, 2))
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "audio": {"id": "a", "transcript": "Paris"}}
    server.script(Reply(body=body))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"


async def test_a_request_accepted_for_later_is_an_error_and_not_sent_again(server: FakeOpenAIServer) -> None:
    server.script(Reply(202, {"id": "job-1", "status": "IN_QUEUE"}))
    with pytest.raises(LMRequestError, match=r"HTTP 202 .* took the request without answering it") as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert caught.value.unanswered == 1 and len(server.requests) == 1


async def test_an_azure_deployment_gets_its_key_in_the_api_key_header(server: FakeOpenAIServer) -> None:
    url = f"{server.base_url.rstrip('/').removesuffix('/v1')}/openai/deployments/gpt-4o?api-version=2024-10-21"
    await OpenAICompatibleLM("gpt-4o", url, api_key="k-123").complete(MESSAGES)
    received = server.requests[0]
    assert received.path == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    assert received.headers.get("api-key") == "k-123" and "authorization" not in received.headers


async def test_a_refusal_of_the_placeholder_key_says_no_key_was_given(server: FakeOpenAIServer) -> None:
    server.script(Reply(401, {"error": "Unauthorized"}), Reply(401, {"error": "Unauthorized"}))
    with pytest.raises(LMRequestError, match=r"no API key was given for it.*--api-key-env"):
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, api_key="wrong").complete(MESSAGES)
    assert "no API key was given" not in str(caught.value)


async def test_a_refused_key_is_said_to_be_refused_and_set_variables_are_not_asked_for(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 401 after a real key read as any rejected request; with RLMX_API_KEY exported, the placeholder's advice
    # was to set RLMX_API_KEY (only the CLI reads it)
    server.script(Reply(401, {"error": "Unauthorized"}), Reply(401, {"error": "Unauthorized"}))
    with pytest.raises(LMRequestError, match=r"refused the API key rlmx sent for model m .*this server's key"):
        await OpenAICompatibleLM("m", server.base_url, api_key="wrong").complete(MESSAGES)
    monkeypatch.setenv("RLMX_API_KEY", "set-for-the-cli")
    with pytest.raises(LMRequestError, match="RLMX_API_KEY is set, but only the command line reads it"):
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)


@pytest.mark.parametrize(
    ("variable", "said"),
    [
        ("OPENAI_ORG_ID", "OpenAI-Organization header should match organization for API key"),
        ("OPENAI_PROJECT_ID", "OpenAI-Project header should match project for API key"),
    ],
)
async def test_a_401_about_the_account_header_names_the_variable_it_came_from(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, variable: str, said: str
) -> None:
    # OpenAI's mismatched_organization was read as a refused key ("not expired or revoked"): users recreate keys
    # when the header rlmx sent from OPENAI_ORG_ID is what the server refused
    monkeypatch.setenv(variable, "org-or-proj-of-another-account")
    server.script(Reply(401, error_body(said, kind="invalid_request_error")))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, api_key="sk-good", max_retries=0).complete(MESSAGES)
    assert f"from {variable} in the environment" in str(caught.value) and "revoked" not in str(caught.value)


async def test_a_404_that_says_what_is_missing_gets_no_advice_about_the_address(server: FakeOpenAIServer) -> None:
    said = "No endpoints found matching your data policy (Free model publication)."
    server.script(Reply(404, error_body(said)), Reply(404, error_body("The model `x` does not exist")))
    lm = OpenAICompatibleLM("m", server.base_url)
    with pytest.raises(LMRequestError) as caught:
        await lm.complete(MESSAGES)
    assert said in str(caught.value) and "base_url" not in str(caught.value)
    with pytest.raises(LMRequestError, match="ending in /v1"):
        await lm.complete(MESSAGES)


def test_a_run_whose_every_reply_was_cut_at_the_cap_says_so_and_takes_no_cut_prose(server: FakeOpenAIServer) -> None:
    cut = "I'll count the characters.\n```repl\nimport collections\ncounts = collections.Counter(context)\nfor ch"
    server.behaviour = Behaviour(text=cut)
    server.script(*(Reply(body=completion_body(cut, finish_reason="length")) for _ in range(4)))
    result = RLM(OpenAICompatibleLM("m", server.base_url), budget=Budget(max_iterations=3)).completion("q", context="x")
    assert (result.status, result.answer, result.answer_source) == ("budget_exhausted", "", "none")
    assert "3 of the root's 3 replies stopped at the output cap" in result.stop_reason
    assert "larger max_tokens" in result.stop_reason


def test_replies_cut_at_a_tiny_cap_end_the_run_after_three_turns_not_thirty(server: FakeOpenAIServer) -> None:
    # LiteLLM proxy's health check sends max_tokens 16: every root reply was cut, and a probe spent all 30 turns.
    cut = "```repl\nprint(len(cont"
    server.behaviour = Behaviour(text=cut)
    server.script(*(Reply(body=completion_body(cut, finish_reason="length")) for _ in range(3)))
    server.script(Reply(body=completion_body("ok", finish_reason="stop")))
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_tokens=16)).completion("test from litellm", context="x")
    assert len(server.requests) == 4  # three cut turns, then the final request
    assert result.answer == "ok" and "last 3 replies stopped at the output cap" in result.stop_reason


async def test_a_lone_surrogate_in_a_request_is_sent_as_u_fffd(server: FakeOpenAIServer) -> None:
    await OpenAICompatibleLM("m\udcff", server.base_url).complete([{"role": "user", "content": "Is 5 > 3\ud83d"}])
    received = server.requests[0].body
    assert (received["model"], received["messages"][0]["content"]) == ("m\ufffd", "Is 5 > 3\ufffd")


# --- spending, third audit ------------------------------------------------------------------------------------------
async def test_a_rejected_reply_that_generated_text_is_booked_at_its_bound(server: FakeOpenAIServer) -> None:
    part = {"choices": [{"index": 0, "delta": {"content": "The capital of Fr"}}]}
    beside = {**completion_body("The capital of Fr"), "error": {"message": "upstream timed out"}}
    server.script(_stream(part, {"object": "error", "message": "CUDA out of memory"}), Reply(body=beside))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    for _ in range(2):
        with pytest.raises(LMBadResponse) as caught:
            await lm.complete(MESSAGES, max_tokens=300)
        assert caught.value.usage is not None and caught.value.usage.output_tokens == 300
    server.script(Reply(body={"object": "error", "message": "The model `x` does not exist."}))
    with pytest.raises(LMBadResponse) as caught:  # nothing was generated: nothing to book
        await lm.complete(MESSAGES, max_tokens=300)
    assert caught.value.usage is None


async def test_usage_left_out_after_a_cap_was_fitted_is_bounded_by_the_cap_sent(server: FakeOpenAIServer) -> None:
    server.script(
        Reply(400, error_body("This model supports at most 1024 completion tokens")),
        Reply(body=completion_body("Paris")),  # no usage
    )
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES, max_tokens=4096)
    assert (completion.usage.output_tokens, completion.usage.estimated) == (1024, True)


@pytest.mark.parametrize("name", ["n", "best_of"])
def test_several_choices_per_reply_are_refused(name: str) -> None:
    with pytest.raises(InputError, match=f"{name}=3: rlmx reads one choice"):
        OpenAICompatibleLM("m", "http://127.0.0.1:9/v1", **{name: 3})


async def test_an_lm_dropped_while_its_loop_runs_on_closes_its_session(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)  # one LM per request, as a server might make them
    await lm.complete(MESSAGES)
    session = _session_on_this_loop(lm)
    del lm
    gc.collect()
    await asyncio.sleep(0.05)
    assert session is not None and session.closed


async def test_anthropic_cache_writes_kept_an_hour_are_read_apart(server: FakeOpenAIServer) -> None:
    reported = {**usage(1000, 10), "cache_creation_input_tokens": 600}
    reported["cache_creation"] = {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 400}
    server.script(Reply(body=completion_body("ok", usage=reported)))
    got = (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).usage
    assert (got.cache_write_tokens, got.cache_write_1h_tokens) == (600, 400)


async def test_a_key_read_with_its_line_end_is_sent_without_it(server: FakeOpenAIServer) -> None:
    # `KEY="$(cat key.txt)"` from a file with Windows line ends: the header could not be sent at all, and the error
    # (aiohttp's "header injection") never named the key.
    await OpenAICompatibleLM("m", server.base_url, api_key=" sk-x\r\n").complete(MESSAGES)
    assert server.requests[0].headers.get("authorization") == "Bearer sk-x"
    with pytest.raises(InputError, match="API key holds a control character"):
        OpenAICompatibleLM("m", server.base_url, api_key="sk-\nx")


@pytest.mark.parametrize(
    "given",
    [
        "\ufeffsk-x",  # $(cat key.txt) of a file Notepad saved as "UTF-8 with BOM"
        "sk-x\u200b",  # a zero-width space copied from a web page along with the key
        "\u201csk-x\u201d",  # curly quotes from a chat or a document
        '"sk-x"\n',  # a .env line's quotes
        "\u00a0sk-x ",  # a no-break space
    ],
)
async def test_what_a_copy_or_a_key_file_brings_around_a_key_is_not_sent(server: FakeOpenAIServer, given: str) -> None:
    # sent as raw UTF-8 bytes, the server said only "Incorrect API key provided": the key looked right when printed
    await OpenAICompatibleLM("m", server.base_url, api_key=given).complete(MESSAGES)
    assert server.requests[0].headers.get("authorization") == "Bearer sk-x"


@pytest.mark.parametrize(
    ("given", "named"),
    [("sk-\u200bx", "U+200B (ZERO WIDTH SPACE) at character 4 of 5"), ("sk-\u201cx", "U+201C"), ("sk- x", "U+0020")],
)
def test_an_invisible_mark_or_a_quote_inside_a_key_is_named_before_any_request(
    server: FakeOpenAIServer, given: str, named: str
) -> None:
    with pytest.raises(InputError, match=re.escape(f"the API key holds {named}")):
        OpenAICompatibleLM("m", server.base_url, api_key=given)
    with pytest.raises(InputError, match=re.escape(f"default_headers['api-key'] holds {named}")):
        OpenAICompatibleLM("m", server.base_url, default_headers={"api-key": given})
    assert server.requests == []


async def test_default_headers_go_with_every_request_and_replace_rlmx_own(server: FakeOpenAIServer) -> None:
    headers = {"HTTP-Referer": "https://example.org", "X-Title": "demo", "Authorization": "Bearer gateway-key"}
    await OpenAICompatibleLM("m", server.base_url, api_key="k", default_headers=headers).complete(MESSAGES)
    received = server.requests[0].headers
    assert received.get("http-referer") == "https://example.org" and received.get("x-title") == "demo"
    assert received.get("authorization") == "Bearer gateway-key" and "default_headers" not in server.requests[0].body
    for bad, says in (({"X Title": "a"}, "not an HTTP header name"), ({"X-Title": "a\r\nb"}, "text on one line")):
        with pytest.raises(InputError, match=says):
            OpenAICompatibleLM("m", server.base_url, default_headers=bad)


async def test_an_entra_id_token_for_azure_goes_in_the_bearer_header(server: FakeOpenAIServer) -> None:
    url = f"{server.base_url.rstrip('/').removesuffix('/v1')}/openai/deployments/gpt-4o?api-version=2024-10-21"
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzIn0.c2lnbmF0dXJl"
    await OpenAICompatibleLM("gpt-4o", url, api_key=token).complete(MESSAGES)
    received = server.requests[0].headers
    assert received.get("authorization") == f"Bearer {token}" and "api-key" not in received


async def test_an_html_error_page_is_told_in_a_line_with_where_to_look(server: FakeOpenAIServer) -> None:
    # A base_url that is a web server, not an API (python -m http.server: 501 for a POST): its whole HTML page was
    # quoted, in the progress line and again in the error, with no word about the address.
    page = (
        "<!DOCTYPE HTML>\n<html lang='en'><head><title>Error response</title><style>p {}</style></head>\n"
        "<body><h1>Error response</h1><p>Error code: 501</p><p>Message: Unsupported method ('POST').</p></body></html>"
    )
    server.script(Reply(501, page, headers={"content-type": "text/html"}))
    with pytest.raises(LMServerError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    said = str(caught.value)
    assert "an HTML page, not an API's reply: Error response Error code: 501 Message: Unsupported method" in said
    assert "check that base_url is the root of an OpenAI-compatible API" in said
    assert "<" not in said and "{}" not in said


async def test_a_long_reply_is_read_off_the_event_loop_and_its_reasoning_split_once(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 3 MB reasoning reply was parsed on the caller's loop (0.5-1 s during which every other request on it waited),
    # and a sub-call's text was searched for reasoning twice: by the HTTP reader and again by the engine.
    import rlmx.engine
    import rlmx.lm.openai_reply

    where: list[str] = []
    split, split_counted = rlmx.engine.split_thoughts, rlmx.lm.openai_reply.split_thoughts_counted

    def recorded(text: str) -> tuple[str, list[str]]:
        where.append(threading.current_thread().name)
        return split(text)

    def recorded_counted(text: str) -> tuple[str, list[str], int]:  # the HTTP reader's (it counts what it cut)
        where.append(threading.current_thread().name)
        return split_counted(text)

    monkeypatch.setattr(rlmx.lm.openai_reply, "split_thoughts_counted", recorded_counted)
    monkeypatch.setattr(rlmx.engine, "split_thoughts", recorded)
    loop_thread = threading.current_thread().name
    long_answer = "<think>" + "weighing it. " * 40_000 + "</think>" + "the answer " * 10_000
    server.script(Reply(body=completion_body(long_answer)), Reply(body=completion_body("<think>hm</think>short")))
    lm = OpenAICompatibleLM("m", server.base_url)
    long_reply, short_reply = await lm.complete(MESSAGES), await lm.complete(MESSAGES)
    assert long_reply.text.startswith("the answer") and short_reply.text == "short"
    assert len(where) == 2 and where[0] != loop_thread and where[1] == loop_thread
    where.clear()
    server.script(Reply(body=completion_body(long_answer)))
    cells = ScriptedLM(["```repl\nFINAL(llm_query('go')[:10])\n```"])
    assert (await RLM(cells, sub_lm=lm).acompletion("q", context="c")).answer == "the answer"
    assert len(where) == 1  # the HTTP reader's split only


# --- what a reply that ends oddly means -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    ["content_filter", "SAFETY", "sensitive", "prohibited_content", "guardrail_intervened", "content_filtered"],
)
def test_a_reply_a_content_filter_stopped_part_way_is_cut_short_for_the_root(
    server: FakeOpenAIServer, reason: str
) -> None:
    # Azure and Gemini keep the text sent before the filter tripped: the open block there is as cut as at the cap.
    partial = "I will look first.\n```repl\nprint('HALF-A-BLOCK')\n"
    server.script(
        Reply(body=completion_body(partial, finish_reason=reason, usage=usage(30, 12))),
        Reply(body=completion_body("FINAL(ok)")),
    )
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("q", context="x")
    assert result.answer == "ok" and len(server.requests) == 2
    told = json.dumps(server.requests[1].body["messages"][-1])
    assert "HALF-A-BLOCK" not in told and "content filter stopped your reply part-way" in told  # not "the cap"
    assert result.usage.root.output_tokens >= 12  # what the filtered reply billed is booked


async def test_a_refusal_said_by_the_finish_reason_is_a_refusal_not_an_empty_reply(server: FakeOpenAIServer) -> None:
    # Claude's stop_reason "refusal" passed through a gateway: "empty reply", retryable, so it was sent again
    server.script(
        Reply(body=completion_body("", finish_reason="refusal", usage=usage(20, 5))),
        Reply(body=completion_body("I can help with the first", finish_reason="refusal", usage=usage(20, 5))),
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=1)
    with pytest.raises(LMBadResponse, match="the model refused and withheld the reply") as caught:
        await lm.complete(MESSAGES)
    assert not caught.value.retryable and len(server.requests) == 1
    with pytest.raises(LMBadResponse, match="the model refused and stopped the reply part-way"):
        await lm.complete(MESSAGES)


def test_a_sub_calls_reply_a_content_filter_stopped_part_way_is_no_answer(server: FakeOpenAIServer) -> None:
    fragment = "The recipe has three steps: first mix the"
    filtered = {"choices": [{"index": 0, "delta": {"content": fragment}, "finish_reason": "content_filter"}]}
    server.script(
        Reply(body=completion_body(fragment, finish_reason="content_filter", usage=usage(20, 9))),
        _stream(filtered, tail="data: [DONE]\n\n"),  # the same, streamed
    )
    code = "```repl\ntry:\n    said = llm_query('steps?')\nexcept Exception as e:\n    said = f'failed: {e}'\n"
    code += "FINAL(said)\n```"
    for _ in range(2):
        sub = OpenAICompatibleLM("m", server.base_url)
        answer = RLM(ScriptedLM([code]), sub_lm=sub).completion("q", context="x").answer
        assert answer.startswith("failed:") and "content filter stopped the reply part-way" in answer
    assert len(server.requests) == 2  # each asked once: the filter would trip again


async def test_a_refusal_streamed_in_pieces_reads_as_the_unstreamed_refusal(server: FakeOpenAIServer) -> None:
    server.script(
        _stream(
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None, "refusal": ""}}]},
            {"choices": [{"index": 0, "delta": {"refusal": "I can't "}}]},
            {"choices": [{"index": 0, "delta": {"content": [{"type": "refusal", "refusal": "assist with that."}]}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": usage(12, 6)},
            tail="data: [DONE]\n\n",
        )
    )
    with pytest.raises(LMBadResponse, match=r"the model refused: I can't assist with that\.") as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert not caught.value.retryable and len(server.requests) == 1
    assert caught.value.usage is not None and caught.value.usage.output_tokens == 6


@pytest.mark.parametrize("keep_alive", ["data:", "data: ", "data: : OPENROUTER PROCESSING", 'data: ""', "data: ping"])
async def test_keep_alives_sent_as_data_between_chunks_are_skipped(server: FakeOpenAIServer, keep_alive: str) -> None:
    first = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Par"}}]}
    last = {"choices": [{"index": 0, "delta": {"content": "is"}, "finish_reason": "stop"}]}
    body = f"{keep_alive}\n\ndata: {json.dumps(first)}\n\n{keep_alive}\n\ndata: {json.dumps(last)}\n\ndata: [DONE]\n\n"
    server.script(Reply(body=body, headers={"content-type": "text/event-stream"}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"
    assert len(server.requests) == 1


async def test_a_stream_with_no_chunk_at_all_is_still_no_reply(server: FakeOpenAIServer) -> None:
    lines = Reply(body="data: Paris\n\ndata: is the capital\n\n", headers={"content-type": "text/event-stream"})
    garbled = _stream(
        {"choices": [{"index": 0, "delta": {"content": "Par"}}]}, tail='data: {"choices": [{"index": 0, "del\n\n'
    )
    for reply in (lines, garbled):
        server.script(reply)
        with pytest.raises(LMBadResponse, match="not JSON"):
            await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


@pytest.mark.parametrize(
    ("status", "title", "means"),
    [
        (413, "Request Entity Too Large", "larger than the server, or a proxy in front of it, accepts"),
        (502, "Bad Gateway", "got no valid reply from it"),
        (503, "Service Temporarily Unavailable", "unavailable for now"),
        (504, "Gateway Time-out", "timed out waiting for its reply"),
        (405, "Not Allowed", "check that base_url is the root of an OpenAI-compatible API"),
    ],
)
async def test_a_proxys_html_error_page_says_what_its_status_means(
    server: FakeOpenAIServer, status: int, title: str, means: str
) -> None:
    # nginx's stock pages, in front of a correct base_url: only a web server refusing the POST blames the address
    page = f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n<center><h1>{status} {title}</h1>"
    page += "</center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
    server.script(Reply(status, page, {"content-type": "text/html"}))
    with pytest.raises((LMRequestError, LMServerError)) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    said = str(caught.value)
    assert f"{status} {title} nginx/1.24.0 (" in said and means in said
    assert ("check that base_url" in said) == (status == 405)


@pytest.mark.parametrize("streamed", [False, True])
def test_content_that_only_repeats_the_reasoning_is_reasoning_not_an_answer(
    server: FakeOpenAIServer, streamed: bool
) -> None:
    # oMLX re-sends thinking cut at the cap as `content`, byte for byte: the FINAL drafted in it is not the answer.
    thought = "Guessing first:\nFINAL('draft')\nNo, I should count the characters with code, checking the"
    if streamed:
        pieces = [thought[i : i + 20] for i in range(0, len(thought), 20)]
        reply = _stream(
            *({"choices": [{"index": 0, "delta": {"reasoning_content": p}}]} for p in pieces),
            {"choices": [{"index": 0, "delta": {"content": thought}, "finish_reason": "length"}]},
            tail="data: [DONE]\n\n",
        )
    else:
        reply = Reply(body=completion_body(thought, finish_reason="length", reasoning_content=thought))
    server.script(reply, Reply(body=completion_body(FINISH_LENGTH)))
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("q", context="abcd")
    assert (result.answer, result.iterations) == ("4", 2)
    assert "output limit while still reasoning" in server.requests[1].body["messages"][-1]["content"]


async def test_an_answer_that_differs_from_the_reasoning_stays_the_answer(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body("42", reasoning_content="6 times 7 is 42")))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == ("42", "6 times 7 is 42")


# --- errors inside a 200, and stream chunks of every reply shape ---------------------------------------------------

_UNSERVED_PATH = "Unexpected endpoint or method. (POST /chat/completions)"  # LM Studio, at a base_url without /v1


@pytest.mark.parametrize(
    ("body", "wrong_address"),
    [
        ({"error": _UNSERVED_PATH}, True),
        ({"statusCode": 404, "message": "Cannot POST /chat/completions", "error": "Not Found"}, True),  # NestJS
        ({"detail": "Not Found"}, True),  # FastAPI's stock answer, without choices
        ({"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}, True),
        ({"error": 'model "llama9" not found, try pulling it first'}, True),
        ({"error": {"message": "Incorrect API key provided: sk-...", "code": "invalid_api_key"}}, False),
        (
            {"object": "error", "message": "prompt too long for the window", "type": "BadRequestError", "code": 400},
            False,
        ),
    ],
)
async def test_an_error_in_a_200_that_asking_again_cannot_cure_is_not_retried(
    server: FakeOpenAIServer, body: dict[str, Any], wrong_address: bool
) -> None:
    server.script(Reply(body=body), Reply(body=body))
    with pytest.raises(LMBadResponse) as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert not caught.value.retryable and len(server.requests) == 1
    assert ("check that base_url is the API's root, usually ending in /v1" in str(caught.value)) == wrong_address


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "Provider disconnected", "code": "server_error"}},
        {"error": {"type": "overloaded_error", "message": "Overloaded"}},
        {"error": {"code": 502, "message": "Upstream error: the model was not found in the cache"}},
        {"error": "something went wrong"},
    ],
)
async def test_an_error_in_a_200_that_may_pass_is_still_retried(server: FakeOpenAIServer, body: dict[str, Any]) -> None:
    server.script(Reply(body=body))
    with pytest.raises(LMBadResponse) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert caught.value.retryable and "check that base_url" not in str(caught.value)


def test_a_run_at_a_base_url_lm_studio_does_not_serve_asks_once_and_says_where_to_look(
    server: FakeOpenAIServer,
) -> None:
    server.behaviour = Behaviour(route=lambda body: Reply(body={"error": _UNSERVED_PATH}))
    result = RLM(OpenAICompatibleLM("m", server.base_url)).completion("q", context="abcd")
    assert result.status == "error" and isinstance(result.error, LMBadResponse)
    assert re.search(r"Unexpected endpoint or method.*check that base_url is the API's root", str(result.error))
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 404])
async def test_a_wrong_endpoint_said_with_an_error_status_gets_the_same_advice(
    server: FakeOpenAIServer, status: int
) -> None:
    server.script(Reply(status, {"error": _UNSERVED_PATH}))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    said = str(caught.value)
    assert f"HTTP {status} from" in said and f": {_UNSERVED_PATH} (posted to " in said
    assert "check that base_url is the API's root, usually ending in /v1" in said


@pytest.mark.parametrize(
    ("chunks", "finish"),
    [
        (  # TGI 1.4: each chunk's one choice numbered by its token
            [{"index": i, "delta": {"role": "assistant", "content": t}} for i, t in ((1, "Par"), (2, "is"))]
            + [{"index": 3, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}],
            "stop",
        ),
        (  # an index that is null, or missing
            [{"index": None, "delta": {"content": "Par"}}, {"delta": {"content": "is"}, "finish_reason": "stop"}],
            "stop",
        ),
        (  # text-completion chunks (vLLM's /v1/completions, llama-cpp-python servers)
            [
                {"index": 0, "text": "Par"},
                {"index": 0, "text": "is"},
                {"index": 0, "text": "", "finish_reason": "length"},
            ],
            "length",
        ),
        (  # a text chunk beside an empty delta
            [{"index": 0, "text": "Paris", "delta": {}, "finish_reason": "stop"}],
            "stop",
        ),
    ],
)
async def test_a_stream_is_read_in_every_choice_shape_a_whole_reply_is(
    server: FakeOpenAIServer, chunks: list[dict[str, Any]], finish: str
) -> None:
    server.script(_stream(*({"object": "text_completion", "choices": [c]} for c in chunks), tail="data: [DONE]\n\n"))
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert (completion.text, completion.finish_reason, len(server.requests)) == ("Paris", finish, 1)


async def test_a_chunk_of_several_choices_is_read_for_its_first_reply_only(server: FakeOpenAIServer) -> None:
    both = [{"index": 1, "delta": {"content": "Rome"}}, {"index": 0, "delta": {"content": "Paris"}}]
    server.script(_stream({"choices": both}, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "Paris"


@pytest.mark.parametrize("first", [0, 1])
async def test_choices_streamed_in_turns_one_a_chunk_are_read_for_the_one_numbered_0(
    server: FakeOpenAIServer, first: int
) -> None:
    # A gateway that sets its own `n` (a LiteLLM proxy's config) streams each choice's pieces in turn, one a chunk,
    # as OpenAI and vLLM do for n > 1: they were joined into one garbled text ("PaLyrison")
    words = {0: ("Pa", "ris"), 1: ("Ly", "on")}
    second = 1 - first
    chunks = [
        {"choices": [{"index": index, "delta": {"content": words[index][piece]}}]}
        for piece in (0, 1)
        for index in (first, second)
    ]
    ends = [{"choices": [{"index": index, "delta": {}, "finish_reason": "stop"}]} for index in (first, second)]
    server.script(_stream(*chunks, *ends, tail="data: [DONE]\n\n"))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.finish_reason) == ("Paris", "stop")


async def test_a_stream_whose_every_chunk_holds_the_text_so_far_is_read_once(server: FakeOpenAIServer) -> None:
    # DashScope's incremental_output=false relayed as OpenAI chunks (one-api#856): "The capitalThe capital is..."
    so_far = ["The capital", "The capital is", "The capital is Paris."]
    chunks = [{"choices": [{"index": 0, "delta": {"content": text}}]} for text in so_far]
    server.script(_stream(*chunks, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "The capital is Paris."
    pieces = ["Ha", "Hah", "a!"]  # an incremental stream whose pieces happen to begin alike is joined as ever
    chunks = [{"choices": [{"index": 0, "delta": {"content": text}}]} for text in pieces]
    server.script(_stream(*chunks, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == "HaHaha!"


@pytest.mark.parametrize(
    ("indices", "closing", "text"),
    [
        ([0, 1, 2, 3], 0, "Hello world"),  # TGI's per-token numbering, a relay's own closing chunk at 0: no turns
        ([1, 2, 1, 2], 1, "Hello"),  # choices in turns with none numbered 0: the lowest is the reply
    ],
    ids=["tgi-closed-at-0", "turns-without-0"],
)
async def test_a_closing_chunk_is_no_turn_and_turns_without_0_keep_the_first(
    server: FakeOpenAIServer, indices: list[int], closing: int, text: str
) -> None:
    words = ["Hel", "lo", " wor", "ld"] if indices[0] == 0 else ["Hel", "Bon", "lo", "jour"]
    chunks = [{"choices": [{"index": i, "delta": {"content": w}}]} for i, w in zip(indices, words, strict=True)]
    server.script(_stream(*chunks, {"choices": [{"index": closing, "delta": {}, "finish_reason": "stop"}]}))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.finish_reason) == (text, "stop")


@pytest.mark.parametrize(("pieces", "text"), [(["a", "ab", "abc"], "aababc"), (["=", "==", "==="], "======")])
async def test_a_short_real_reply_whose_tokens_extend_each_other_is_joined(
    server: FakeOpenAIServer, pieces: list[str], text: str
) -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": piece}}]} for piece in pieces]
    server.script(_stream(*chunks, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert (await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)).text == text


async def test_a_model_served_only_as_a_stream_of_text_chunks_is_read(server: FakeOpenAIServer) -> None:
    chunks = [{"choices": [{"index": i, "text": t}]} for i, t in enumerate(("Par", "is"), start=1)]
    stream = _stream(*chunks, {"choices": [{"index": 3, "text": "", "finish_reason": "stop"}]}, tail="data: [DONE]\n\n")
    server.script(Reply(400, error_body("This model only support stream mode")), stream)
    completion = await OpenAICompatibleLM("qwq-plus", server.base_url).complete(MESSAGES)
    assert completion.text == "Paris" and server.requests[1].body["stream"] is True


async def test_a_stream_carries_what_a_whole_message_would(server: FakeOpenAIServer) -> None:
    # OpenRouter's reasoning only as reasoning_details; an audio reply's transcript; a choice's own error
    def thought(text: str) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text", "text": text}]}}]}

    def spoken(text: str, finish: str | None = None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"audio": {"transcript": text}}, "finish_reason": finish}]}

    failed = {"index": 0, "delta": {}, "finish_reason": "error", "error": {"code": 502, "message": "Chutes timed out"}}
    server.script(
        _stream(thought("weigh "), thought("it"), spoken("Par"), spoken("is", "stop")),
        _stream({"choices": [{"index": 0, "delta": {"content": "Par"}}]}, {"choices": [failed]}),
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    completion = await lm.complete(MESSAGES)
    assert (completion.text, completion.reasoning) == ("Paris", "weigh it")
    with pytest.raises(LMBadResponse, match=r"ended the reply with an error .*Chutes timed out") as caught:
        await lm.complete(MESSAGES)
    assert caught.value.retryable


async def test_a_character_whose_surrogate_pair_a_stream_split_between_chunks_is_whole(
    server: FakeOpenAIServer,
) -> None:
    # A JS gateway cuts text by UTF-16 units: 🇺🇸's escapes arrived in two chunks and were joined as four lone
    # surrogates (print() of the text raised UnicodeEncodeError).
    flag = "\U0001f1fa\U0001f1f8"
    halves = json.dumps(flag)[1:-1]  # "\ud83c\uddfa\ud83c\uddf8"
    cut = halves.index("\\", 1)
    pieces = [halves[:cut], halves[cut:]]

    def chunk(field: str, piece: str) -> str:
        return 'data: {"choices": [{"index": 0, "delta": {"' + field + '": "' + piece + '"}}]}\n\n'

    body = "".join(chunk(f, p) for f in ("reasoning_content", "content") for p in pieces)
    body += 'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
    server.script(Reply(body=body, headers={"content-type": "text/event-stream"}))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES)
    assert (completion.text, completion.reasoning) == (flag, flag)
    completion.text.encode("utf-8")


@pytest.mark.parametrize(
    ("spent", "finish"),
    [(40, "length"), (41, "length"), (39, "stop"), (None, "stop"), (120, "stop")],  # 120: the server ignored the cap
)
async def test_a_reply_said_to_stop_that_spent_the_whole_cap_was_cut(
    server: FakeOpenAIServer, spent: int | None, finish: str
) -> None:
    # LiteLLM's Ollama adapter reports "stop" for a reply cut at max_tokens: its open block ran as if whole.
    body = completion_body("```repl\nprint('step one')\nfor row in", usage=None if spent is None else usage(50, spent))
    server.script(Reply(body=body))
    completion = await OpenAICompatibleLM("m", server.base_url).complete(MESSAGES, max_tokens=40)
    assert completion.finish_reason == finish  # no usage: an estimate, which proves nothing


async def test_minimaxs_content_review_is_a_filter_not_a_fault_to_ask_again(server: FakeOpenAIServer) -> None:
    # base_resp 1026/1027 "new_sensitive" in a 200: asked again, the same review blocks it again.
    for code in (1026, 1027):
        body = {"choices": None, "base_resp": {"status_code": code, "status_msg": "input new_sensitive"}}
        server.script(Reply(body=body))
        before = len(server.requests)
        with pytest.raises(LMBadResponse, match="content filter blocked") as caught:
            await OpenAICompatibleLM("MiniMax-M1", server.base_url).complete(MESSAGES)
        assert not caught.value.retryable and len(server.requests) == before + 1


async def test_a_finish_reason_written_as_the_string_null_finishes_nothing(server: FakeOpenAIServer) -> None:
    # ai00_server streams "finish_reason": "null" in every chunk: a stream broken off after one was taken as whole.
    part = {"choices": [{"index": 0, "delta": {"content": "The capital of Fr"}, "finish_reason": "null"}]}
    server.script(_stream(part))
    with pytest.raises(LMBadResponse, match="event stream ended before the reply did"):
        await OpenAICompatibleLM("rwkv", server.base_url, max_retries=0).complete(MESSAGES)


def test_a_root_reply_over_http_that_ran_into_a_made_up_turn_is_marked_and_the_model_told(
    server: FakeOpenAIServer,
) -> None:
    # The HTTP reader cuts the run-on before the engine reads the reply: the turn was not marked, nor the model told.
    ran_on = (
        "```repl\nprint(7)\n```<|im_end|>\n<|im_start|>user\nThanks! Finish.<|im_end|>\n<|im_start|>assistant\nFINAL(9)"
    )
    server.script(Reply(body=completion_body(ran_on)), Reply(body=completion_body("FINAL(7)")))
    events: list[Event] = []
    result = RLM(OpenAICompatibleLM("m", server.base_url), on_event=events.append).completion("q", context="c")
    assert result.answer == "7"
    (overran,) = [e for e in events if e.type == "reply_overran"]
    assert overran.data["ignored_chars"] > 0
    assert "went on past the end of your turn" in server.requests[1].body["messages"][-1]["content"]


# --- a prompt over the window, a web page at 200, errors nested in `message` (audit 33) ------------------------------
@pytest.mark.parametrize(
    ("cap", "error", "prompt", "window"),
    [
        (8000, error_body("This model's maximum context length is 32768 tokens. However, you requested 48000 tokens "
                          "(40000 in the messages, 8000 in the completion). Please reduce the length of the messages "
                          "or completion.", param="messages"), 40000, 32768),  # OpenAI, vLLM, DeepSeek
        (500, {"object": "error", "message": "Requested token count exceeds the model's maximum context length of "
               "2048 tokens. You requested a total of 3500 tokens: 3000 tokens from the input messages and 500 "
               "tokens for the completion.", "code": 400}, 3000, 2048),  # SGLang
        (50, error_body("Please reduce the length of the messages or completion. Current length is 4200 while limit "
                        "is 4096"), 4150, 4096),  # Cerebras: the excess (104) is more than the whole cap
        (256, error_body("This model's maximum context length is 8192 tokens. However, your messages resulted in "
                         "9000 tokens. Please reduce the length of the messages."), 9000, 8192),
        (256, {"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it",
                         "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096}},
         5000, 4096),  # llama.cpp
    ],
)  # fmt: skip
async def test_a_prompt_alone_over_the_window_is_told_as_such_not_blamed_on_the_cap(
    server: FakeOpenAIServer, cap: int, error: dict[str, Any], prompt: int, window: int
) -> None:
    server.script(Reply(400, error), Reply(body=completion_body("unreached")))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_tokens=cap, max_retries=0).complete(MESSAGES)
    said = str(caught.value)
    assert f"the prompt alone ({prompt} tokens)" in said and f"the {window} tokens the model's context window" in said
    assert "send less per call" in said
    assert "max-tokens-per-call" not in said and "set it to what the server accepts" not in said
    assert len(server.requests) == 1  # no cap was tried: none fits


async def test_a_web_apps_page_at_200_is_not_asked_again_and_points_at_base_url(server: FakeOpenAIServer) -> None:
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="modulepreload" href="/assets/app.js">'
        "<title>Open WebUI</title></head><body><div id='root'></div><script src='/assets/app.js'></script></body>"
        "</html>"
    )
    server.script(*[Reply(200, page, {"content-type": "text/html"})] * 3)
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    said = str(caught.value)
    assert "HTTP 200" in said and "an HTML page, not an API's reply: Open WebUI" in said
    assert "check that base_url is the root of an OpenAI-compatible API" in said
    assert "<" not in said and "modulepreload" not in said
    assert len(server.requests) == 1


@pytest.mark.parametrize("page", ["<html><body>OK</body></html>", "<body>It works!</body>\n"])
async def test_a_bare_page_without_a_head_at_200_points_at_base_url_too(server: FakeOpenAIServer, page: str) -> None:
    # a web server's own index (Apache's "It works!", a health page) answered at base_url: asked three times, and
    # told only "a body that is not JSON"
    server.script(*[Reply(200, page, {"content-type": "text/html"})] * 3)
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert "check that base_url is the root of an OpenAI-compatible API" in str(caught.value)
    assert len(server.requests) == 1


async def test_a_proxys_fault_page_at_200_is_still_asked_again(server: FakeOpenAIServer) -> None:
    page = "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>"
    server.script(Reply(200, page, {"content-type": "text/html"}), Reply(body=completion_body("Paris")))
    assert (await OpenAICompatibleLM("m", server.base_url, max_retries=1).complete(MESSAGES)).text == "Paris"


_PYDANTIC_DETAIL = {
    "detail": [
        {
            "type": "greater_than_equal",
            "loc": ["body", "top_p"],
            "msg": "Input should be greater than or equal to 0",
            "input": -0.5,
            "url": "https://errors.pydantic.dev/2.9/v/greater_than_equal",
        }
    ]
}


@pytest.mark.parametrize(
    "body",
    [
        {"object": "error", "message": _PYDANTIC_DETAIL, "type": "invalid_request_error", "code": None},  # Mistral
        {"object": "error", "message": json.dumps(_PYDANTIC_DETAIL), "type": "invalid_request_error"},  # as a string
        {"error": _PYDANTIC_DETAIL},  # an `error` object holding only `detail`
        {"message": _PYDANTIC_DETAIL["detail"]},  # a list where the message goes
    ],
)
async def test_an_error_nested_in_the_message_is_read_as_its_reasons(
    server: FakeOpenAIServer, body: dict[str, Any]
) -> None:
    # refused twice: the first is read as top_p's range (sent again at 0, round 86), the second is the error
    server.script(Reply(422, body), Reply(422, body))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES, top_p=-0.5)
    assert [request.body["top_p"] for request in server.requests] == [-0.5, 0.0]
    said = str(caught.value)
    assert said.endswith(": body.top_p: Input should be greater than or equal to 0")
    assert "pydantic.dev" not in said and "{" not in said


async def test_a_param_refused_in_a_nested_message_is_the_one_left_out(server: FakeOpenAIServer) -> None:
    # A validator's `input` may hold the whole request: only the refused field's own name decides what is left out.
    refused = {"detail": [{"type": "extra_forbidden", "loc": ["body", "seed"], "msg": "Extra inputs are not permitted",
                           "input": {"temperature": 0.2, "seed": 7}}]}  # fmt: skip
    server.script(Reply(422, {"object": "error", "message": refused}), Reply(body=completion_body("ok")))
    lm = OpenAICompatibleLM("m", server.base_url, temperature=0.2, seed=7)
    assert (await lm.complete(MESSAGES)).text == "ok"
    assert [sorted(set(r.body) & {"temperature", "seed"}) for r in server.requests] == [
        ["seed", "temperature"],
        ["temperature"],
    ]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    """The port of a server that speaks TLS with a self-signed certificate (no CA here trusts it)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, check=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        stop = threading.Event()

        def serve() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn, contextlib.suppress(OSError):  # a client that refuses the certificate, or plain HTTP
                    context.wrap_socket(conn, server_side=True).close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        stop.set()
        thread.join()


async def test_a_tls_mistake_is_named_with_its_fix_not_taken_for_a_server_that_is_down(
    server: FakeOpenAIServer, tls_server: int
) -> None:
    # https:// before a local server that speaks plain HTTP, a self-signed certificate, http:// to a TLS port: each
    # read "unreachable (is it running?)" or "the reply broke off", with aiohttp's `<ssl.SSLContext object at 0x...>`.
    def said(caught: pytest.ExceptionInfo[LMConnectionError]) -> str:
        message = str(caught.value)
        assert "object at 0x" not in message and "is it running" not in message, message
        return message

    with pytest.raises(LMConnectionError) as caught:
        await OpenAICompatibleLM("m", server.base_url.replace("http://", "https://"), max_retries=0).complete(MESSAGES)
    assert "TLS handshake failed" in said(caught) and "use http://" in said(caught)
    with pytest.raises(LMConnectionError) as caught:
        await OpenAICompatibleLM("m", f"https://127.0.0.1:{tls_server}/v1", max_retries=0).complete(MESSAGES)
    assert "certificate is not trusted here (self-signed" in said(caught) and "SSL_CERT_FILE" in said(caught)
    with pytest.raises(LMConnectionError) as caught:
        await OpenAICompatibleLM("m", f"http://127.0.0.1:{tls_server}/v1", max_retries=0).complete(MESSAGES)
    assert "use https://" in said(caught)


@pytest.mark.parametrize(
    ("said", "fits"),
    [
        ("input length and `max_tokens` exceed context limit: 6000 + 4096 > 8192, decrease input length or "
         "`max_tokens` and try again", 2192),  # Anthropic (and Bedrock, LiteLLM, OpenRouter passing it on)
        ("prompt of 6000 tokens + 4096 tokens = 10096 > 8192 tokens allowed", 2192),
        ("max_tokens 4096 + 6000 > 8192", 2192),  # the cap first: told by its number
        ("you requested 4096 output tokens and your prompt contains at least 6000 input tokens, for a total of at "
         "least 10096 tokens. However, the model's context length is only 8192 tokens", 2192),  # vLLM's newer words
    ],
)  # fmt: skip
async def test_a_prompt_and_cap_summed_over_the_window_are_read_as_prompt_and_window(
    server: FakeOpenAIServer, said: str, fits: int
) -> None:
    server.script(Reply(400, error_body(said)), Reply(body=completion_body("Paris")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "Paris"
    assert [r.body["max_tokens"] for r in server.requests] == [4096, fits]


async def test_a_summed_refusal_whose_prompt_fills_the_window_says_so_after_one_request(
    server: FakeOpenAIServer,
) -> None:
    said = "input length and `max_tokens` exceed context limit: 9000 + 4096 > 8192, decrease input length"
    server.script(Reply(400, error_body(said)))
    with pytest.raises(LMRequestError, match=r"the prompt alone \(9000 tokens\) is longer than the 8192 tokens"):
        await OpenAICompatibleLM("m", server.base_url, max_tokens=4096).complete(MESSAGES)
    assert len(server.requests) == 1


TOO_LARGE_FOR_THE_MINUTE = (
    "Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested {}. The "
    "input or output tokens must be reduced in order to run successfully."
)


async def test_a_429_for_a_request_over_the_minutes_allowance_is_fitted_not_waited_on(
    server: FakeOpenAIServer,
) -> None:
    # OpenAI's 429 "Request too large ... (TPM)": resent unchanged as a passing rate limit, then "rate-limited"
    too_large = {"error": {"message": TOO_LARGE_FOR_THE_MINUTE.format(34000), "code": "rate_limit_exceeded"}}
    server.script(Reply(429, too_large), Reply(body=completion_body("Paris")))
    lm = OpenAICompatibleLM("gpt-4o", server.base_url, max_tokens=8000)
    assert (await lm.complete(MESSAGES)).text == "Paris"
    assert [r.body["max_tokens"] for r in server.requests] == [8000, 4000]


async def test_a_429_for_a_prompt_over_the_minutes_allowance_says_waiting_cannot_help(
    server: FakeOpenAIServer,
) -> None:
    too_large = {"error": {"message": TOO_LARGE_FOR_THE_MINUTE.format(40000), "code": "rate_limit_exceeded"}}
    server.script(*[Reply(429, too_large)] * 3)
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("gpt-4o", server.base_url, max_tokens=8000).complete(MESSAGES)
    assert not isinstance(caught.value, LMRateLimited)
    message = str(caught.value)
    assert "request alone (40000 tokens against 30000)" in message and "tokens per minute" in message
    assert "waiting cannot help" in message and "context window" not in message
    assert len(server.requests) == 1


BASIC_AUTH_PAGE = "<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>"


@pytest.mark.parametrize("api_key", ["sk-real", None])
async def test_a_401_asking_for_basic_credentials_says_how_to_give_them(
    server: FakeOpenAIServer, api_key: str | None
) -> None:
    asks = {"content-type": "text/html", "www-authenticate": 'Basic realm="Ollama"'}
    server.script(Reply(401, BASIC_AUTH_PAGE, asks))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, api_key=api_key, max_retries=0).complete(MESSAGES)
    message = str(caught.value)
    assert "asks for a user name and password" in message and "Basic" in message
    assert "http://USER:PASSWORD@host/v1" in message
    assert "expired or revoked" not in message and "pass api_key=" not in message


async def test_a_401_after_the_user_and_password_in_base_url_says_those_were_refused(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(401, BASIC_AUTH_PAGE, {"content-type": "text/html", "www-authenticate": "Basic"}))
    url = server.base_url.replace("http://", "http://alice:not-her-password@")
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", url, api_key="sk-x", max_retries=0).complete(MESSAGES)
    message = str(caught.value)
    assert "refused the user name and password given in base_url" in message
    assert "API key rlmx sent" not in message and "not-her-password" not in message


# --- a prompt over the window in every provider's words (audit 37) ---------------------------------------------------
@pytest.mark.parametrize(
    ("cap", "status", "error", "prompt", "window"),
    [
        (4096, 400, error_body("prompt is too long: 215000 tokens > 200000 maximum"), 215000, 200000),  # Anthropic
        (4096, 400, [{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "The input token count "
         "(1200000) exceeds the maximum number of tokens allowed (1048576)."}}], 1200000, 1048576),  # Gemini
        (4096, 400, error_body("This model's maximum prompt length is 131072 but the request contains 136973 "
                               "tokens."), 136973, 131072),  # xAI
        (4096, 400, {"object": "error", "message": "Prompt contains 40000 tokens and 0 draft tokens, too large for "
         "model with 32768 maximum context length", "type": "invalid_request_invalid_args", "code": "3051"},
         40000, 32768),  # Mistral
        (None, 400, {"object": "error", "message": "This model's maximum context length is 32768 tokens. However, "
         "you requested 40000 tokens. Please reduce the length of the messages.", "code": 400}, 40000, 32768),  # vLLM
        (4000, 400, {"object": "error", "message": "This model's maximum context length is 32768 tokens. However, "
         "you requested 40000 tokens. Please reduce the length of the messages or completion.", "code": 400},
         36000, 32768),  # vLLM, the cap counted in what was requested
        (4096, 400, error_body("prompt is too long: 215,000 tokens > 200,000 maximum"), 215000, 200000),
    ],
)  # fmt: skip
async def test_every_providers_wording_of_a_prompt_over_the_window_is_explained(
    server: FakeOpenAIServer, cap: int | None, status: int, error: Any, prompt: int, window: int
) -> None:
    server.script(Reply(status, error), Reply(body=completion_body("unreached")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=cap, max_retries=0)
    with pytest.raises(LMRequestError) as caught:
        await lm.complete(MESSAGES)
    said = str(caught.value)
    assert f"the prompt alone ({prompt} tokens)" in said and f"the {window} tokens the model's context window" in said
    assert "send less per call" in said
    assert len(server.requests) == 1  # no smaller cap was tried: none fits


async def test_vllms_window_and_all_it_was_asked_for_fit_the_cap_when_the_prompt_fits(
    server: FakeOpenAIServer,
) -> None:
    said = "This model's maximum context length is 8192 tokens. However, you requested 9096 tokens. "
    said += "Please reduce the length of the messages or completion."
    server.script(Reply(400, {"object": "error", "message": said, "code": 400}), Reply(body=completion_body("Paris")))
    lm = OpenAICompatibleLM("m", server.base_url, max_tokens=4096, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "Paris"
    assert [r.body["max_tokens"] for r in server.requests] == [4096, 3192]  # the window less the prompt's 5000


# --- a prompt over the window in wordings not listed: a general rule (audit 37, round 2) ----------------------------
@pytest.mark.parametrize(
    ("status", "error", "prompt", "window"),
    [
        (400, error_body("Input tokens exceed the configured limit of 128000 tokens. Your messages resulted in "
                         "150002 tokens. Please reduce the length of the messages."), 150002, 128000),  # OpenAI
        (400, {"object": "error", "message": "The decoder prompt (length 9001) is longer than the maximum model "
         "length of 8192. Make sure that `max_model_len` is no smaller than the number of text tokens.",
         "code": 400}, 9001, 8192),  # vLLM V1
        (400, {"error": "Trying to keep the first 20480 tokens when context the overflows. However, the model is "
         "loaded with context length of only 4096 tokens, which is not enough."}, 20480, 4096),  # LM Studio
        (400, {"error": "The number of tokens to keep from the initial prompt is greater than the context length "
         "(n_keep: 9999>= n_ctx: 8192)."}, 9999, 8192),  # LM Studio 0.4
        (400, {"object": "error", "message": "The input (33000 tokens) is longer than the model's context length "
         "(32768 tokens).", "code": 400}, 33000, 32768),  # SGLang
        (400, {"object": "error", "message": "Input length (70000 tokens) exceeds the maximum allowed length "
         "(65536 tokens).", "code": 400}, 70000, 65536),  # SGLang
        (422, {"error": "Input validation error: `inputs` must have less than 2048 tokens. Given: 2049",
               "error_type": "validation"}, 2049, 2048),  # TGI
        (400, error_body("Requested tokens (12000) exceed context window of 8192"), 12000, 8192),  # llama-cpp-python
        # wordings no pattern names: the general rule places the numbers it can
        (400, error_body("The prompt is 70,000 tokens, over the context window of 65,536."), 70000, 65536),
        (413, error_body("Too many input tokens: 5000 (limit 4096)"), 5000, 4096),
        (400, error_body("The number of tokens in the prompt (5000) exceeds the limit (4096)."), 5000, 4096),
        # a 500 carrying such words (xinference forwarding vLLM): the same prompt is over the same window again
        (500, {"detail": "The decoder prompt (length 66501) is longer than the maximum model length of 65536."},
         66501, 65536),
    ],
)  # fmt: skip
async def test_a_prompt_over_the_window_is_explained_in_wordings_of_any_server(
    server: FakeOpenAIServer, status: int, error: Any, prompt: int, window: int
) -> None:
    server.script(Reply(status, error), Reply(body=completion_body("unreached")))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_tokens=1000, max_retries=0).complete(MESSAGES)
    said = str(caught.value)
    assert f"the prompt alone ({prompt} tokens)" in said and f"the {window} tokens the model's context window" in said
    assert "send less per call" in said and not isinstance(caught.value, LMServerError)
    assert len(server.requests) == 1  # no smaller cap was tried: none fits


@pytest.mark.parametrize("cap", [None, 500])
@pytest.mark.parametrize(
    "said", ["max_tokens must be at least 1, got 0.", "max_tokens must be at least 1, got -7584."]
)  # fmt: skip
async def test_vllms_own_room_left_below_one_is_a_prompt_that_fills_the_window(
    server: FakeOpenAIServer, cap: int | None, said: str
) -> None:
    # vLLM sets the cap it was not sent (or sets aside) to its window less the prompt (vllm-project/vllm#36789): 0 or
    # less is no cap of rlmx's, which sends none below 1; "set it to what the server accepts" sent the user astray
    server.script(Reply(400, {"object": "error", "message": said, "code": 400}))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_tokens=cap, max_retries=0).complete(MESSAGES)
    assert "the prompt alone is longer than what the model's context window" in str(caught.value)
    assert "set it to what the server accepts" not in str(caught.value) and len(server.requests) == 1


@pytest.mark.parametrize(
    "said",
    [
        "input length exceeds the context length",  # no numbers: still the prompt over the window
        "Input tokens exceed the configured limit.",
        "prompt_too_long: the input is longer than the model's maximum number of tokens",
    ],
)
async def test_a_prompt_over_the_window_without_numbers_is_still_explained(server: FakeOpenAIServer, said: str) -> None:
    server.script(Reply(400, error_body(said)))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_tokens=1000, max_retries=0).complete(MESSAGES)
    assert "the prompt alone is longer than what the model's context window" in str(caught.value)
    assert "send less per call" in str(caught.value)


@pytest.mark.parametrize(
    "said",
    [
        "Invalid 'messages[1].content': string too long. Expected a string with maximum length 10485760, but got a "
        "string with length 20000000 instead.",  # characters, not tokens
        "Input should be less than or equal to 2",  # pydantic on a sampling value
        "messages: at least one message is required",
    ],
)
async def test_other_refusals_about_the_input_are_not_read_as_a_prompt_over_the_window(
    server: FakeOpenAIServer, said: str
) -> None:
    server.script(Reply(400, error_body(said)))
    with pytest.raises(LMRequestError) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_tokens=1000, max_retries=0).complete(MESSAGES)
    assert "prompt alone" not in str(caught.value)


# --- parameters refused in words, the SDK's extra_* arguments, resends the budget refused, hopeless 500s -------

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize(
    ("said", "given", "dropped"),
    [
        ("Parallel tool calls are not supported.", {"parallel_tool_calls": True}, "parallel_tool_calls"),
        ("Top P is not supported for this model.", {"top_p": 0.9}, "top_p"),
        ("This model does not support log probabilities.", {"logprobs": True}, "logprobs"),
        ("Stop sequences are not supported by this endpoint", {"stop": ["END"]}, "stop"),
        ("Presence penalty isn't supported: not allowed for this model", {"presence_penalty": 0.5}, "presence_penalty"),
        ("Reasoning effort is not supported by this model.", {"reasoning_effort": "low"}, "reasoning_effort"),
        ("Temperature is not supported with this model.", {"temperature": 0.2}, "temperature"),
        ("The model does not accept a seed", {"seed": 7}, "seed"),
        ("Logit bias: unknown option", {"logit_bias": {"50256": -100}}, "logit_bias"),
        ("Top logprobs are not supported.", {"logprobs": True, "top_logprobs": 2}, "top_logprobs"),
    ],
)
async def test_a_parameter_refused_in_plain_words_is_left_out_like_one_refused_by_name(
    server: FakeOpenAIServer, said: str, given: dict[str, Any], dropped: str
) -> None:
    """Gemini wraps its error in a list and names the parameter in words, not by its field name."""
    body = json.dumps([{"error": {"code": 400, "message": said, "status": "INVALID_ARGUMENT"}}])
    server.script(Reply(400, body))
    lm = OpenAICompatibleLM("gemini-2.0-flash", server.base_url, tools=TOOLS, max_retries=0, **given)
    assert (await lm.complete(MESSAGES)).text == "hi"
    await lm.complete(MESSAGES)  # remembered: sent without it from then on
    assert [dropped in r.body for r in server.requests] == [True, False, False]
    assert all(r.body["tools"] == TOOLS for r in server.requests)  # what the reply means is never dropped
    assert lm.unsupported_params == {dropped}


async def test_a_refusal_in_words_of_a_parameter_that_changes_the_reply_is_still_an_error(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(400, error_body("Tool choice is not supported. Response format is not supported.")))
    lm = OpenAICompatibleLM(
        "m", server.base_url, tools=TOOLS, tool_choice="auto", response_format={"type": "json_object"}
    )
    with pytest.raises(LMRequestError, match="Tool choice is not supported"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1


async def test_the_sdks_extra_body_is_merged_into_the_request_not_sent_as_a_field(server: FakeOpenAIServer) -> None:
    thinking_off = {"chat_template_kwargs": {"enable_thinking": False}}
    lm = OpenAICompatibleLM(
        "Qwen/Qwen3-8B",
        server.base_url,
        temperature=0.7,
        extra_body={**thinking_off, "top_k": 20},
        extra_headers={"X-Trace": "run-1"},
        extra_query={"tenant": "a b"},
    )
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES, extra_body={"top_k": 5, "min_p": 0.1})
    first, second = (r.body for r in server.requests)
    assert "extra_body" not in first and "extra_headers" not in first and "extra_query" not in first
    assert first["chat_template_kwargs"] == {"enable_thinking": False} and first["top_k"] == 20
    assert first["temperature"] == 0.7
    assert (second["top_k"], second["min_p"], "extra_body" in second) == (5, 0.1, False)  # the call's own win
    assert server.requests[0].headers["x-trace"] == "run-1"
    assert server.requests[0].path == "/v1/chat/completions?tenant=a+b"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"extra_body": "enable_thinking=false"}, "extra_body must be a dict"),
        ({"extra_body": {"model": "other"}}, "sets model itself"),
        ({"extra_body": {"extra_body": {}}}, "not inside it"),
    ],
)
def test_an_unusable_extra_body_is_refused_before_any_request(given: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says):
        OpenAICompatibleLM("m", "http://127.0.0.1:9/v1", **given)


async def test_headers_or_a_query_for_one_call_are_refused_saying_where_they_go(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("m", server.base_url)
    with pytest.raises(InputError, match="default_headers"):
        await lm.complete(MESSAGES, extra_headers={"x-trace": "1"})
    assert server.requests == []


@pytest.mark.parametrize("status", [504, 524])
async def test_a_gateway_timeout_the_budget_will_not_resend_says_so(server: FakeOpenAIServer, status: int) -> None:
    async def no_room() -> bool:
        return False

    page = f"<html><head><title>{status}</title></head><body>error code: {status}</body></html>"
    server.script(Reply(status, page, {"content-type": "text/html", "retry-after": "0"}))
    token = RESEND_GATE.set(no_room)
    try:
        with pytest.raises(LMServerError) as caught:
            await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    finally:
        RESEND_GATE.reset(token)
    assert "not sent again: the budget has no room" in str(caught.value)
    assert caught.value.unanswered == 1 and len(server.requests) == 1


@pytest.mark.parametrize(
    "said",
    [
        "[address=0.0.0.0:4321, pid=77] The decoder prompt (length 66501) is longer than the maximum model length of "
        "65536. Make sure that `max_model_len` is no smaller than the number of text tokens.",
        "Input length (160062 tokens) exceeds the maximum allowed length (59862 tokens)",
    ],
)
async def test_a_server_error_saying_the_prompt_is_over_the_window_is_not_retried(
    server: FakeOpenAIServer, said: str
) -> None:
    server.behaviour = Behaviour(route=lambda body: Reply(500, error_body(said, "server_error"), {"retry-after": "0"}))
    with pytest.raises(LMRequestError, match="prompt alone") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert len(server.requests) == 1 and "attempts" not in str(caught.value)
    server.behaviour = Behaviour()
    server.script(*[Reply(500, error_body("the server had an error", "server_error"), {"retry-after": "0"})] * 3)
    with pytest.raises(LMServerError):
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert len(server.requests) == 4  # any other 500 is still retried


# --- a parameter counts as refused only where the error ties the refusal to it (audit 40) ---------------------------


def _wrapped_by_a_gateway(said: str) -> dict[str, Any]:
    """A gateway's own words ("Provider returned error") around the provider's refusal, OpenRouter's shape."""
    raw = json.dumps(error_body(said))
    return {
        "error": {"message": "Provider returned error", "code": 400, "metadata": {"raw": raw, "provider_name": "X"}}
    }


@pytest.mark.parametrize(
    ("refusal", "given", "dropped"),
    [
        (  # the gateway's "Provider ..." is no refusal of the user's `provider` routing
            _wrapped_by_a_gateway("Unrecognized request argument supplied: min_p"),
            {"min_p": 0.05, "extra_body": {"provider": {"order": ["a", "b"], "allow_fallbacks": False}}},
            "min_p",
        ),
        (  # a value echoed back holds the user's words, never the server's naming of a parameter
            error_body("Extra inputs are not permitted, field: 'metadata', value: {'about': 'presence penalty'}"),
            {"metadata": {"about": "presence penalty"}, "presence_penalty": 0.3},
            "metadata",
        ),
        (  # the server's structured `param` wins over a longer name its words mention
            error_body("'top_k' is not supported; temperature is fine", param="top_k"),
            {"top_k": 20, "temperature": 0.4},
            "top_k",
        ),
    ],
)
async def test_only_the_parameter_the_error_ties_to_its_refusal_is_left_out(
    server: FakeOpenAIServer, refusal: dict[str, Any], given: dict[str, Any], dropped: str
) -> None:
    server.script(Reply(400, refusal))
    lm = OpenAICompatibleLM("vendor/model-1", server.base_url, max_retries=0, **given)
    assert (await lm.complete(MESSAGES)).text == "hi"
    first, second = (r.body for r in server.requests)
    assert set(first) - set(second) == {dropped} and lm.unsupported_params == {dropped}


@pytest.mark.parametrize(
    ("said", "model", "given"),
    [
        (  # a content policy naming the prompt's topic
            "Your prompt was flagged by our usage policy: content about 'seed banks' is not allowed.",
            "m",
            {"seed": 11},
        ),
        ("Requests about seed vaults are not allowed in this region.", "m", {"seed": 11}),
        (  # the parameter's word inside the model's name, and inside a URL
            "Tool calling is not supported for models/acme-thinking-7b, see https://docs.example/thinking",
            "acme-thinking-7b",
            {"tools": TOOLS, "extra_body": {"thinking": {"type": "enabled"}}},
        ),
    ],
)
async def test_a_name_merely_mentioned_near_a_refusal_is_not_dropped_nor_remembered(
    server: FakeOpenAIServer, said: str, model: str, given: dict[str, Any]
) -> None:
    server.script(Reply(400, error_body(said)))
    lm = OpenAICompatibleLM(model, server.base_url, max_retries=0, **given)
    with pytest.raises(LMRequestError, match=r"not (?:allowed|supported)"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1 and lm.unsupported_params == set()
    await lm.complete(MESSAGES)  # the next call still carries every parameter
    assert set(server.requests[1].body) == set(server.requests[0].body)


async def test_extra_query_replaces_a_key_already_in_base_urls_query(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM(
        "gpt-4o", server.base_url + "?api-version=2024-02-01&tenant=a%20b", extra_query={"api-version": "2024-10-21"}
    )
    await lm.complete(MESSAGES)
    assert server.requests[0].path == "/v1/chat/completions?tenant=a%20b&api-version=2024-10-21"
