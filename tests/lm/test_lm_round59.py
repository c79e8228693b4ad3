"""Token counts under names other than OpenAI's: Ollama's `prompt_eval_count` / `eval_count` (inside `usage` as Open
WebUI relays them, at the top of a reply or of its last stream chunk as Ollama adapters pass them through) and
camelCase gateways' names. Missed, a call is booked at its upper bounds and flagged estimated; read twice, at double.
Each reply comes over HTTP from the fake server and is read by OpenAICompatibleLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, completion_body
from rlmx.lm.openai import OpenAICompatibleLM

pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
EVENTS = {"content-type": "text/event-stream"}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


async def _counts(server: FakeOpenAIServer, reply: Reply) -> tuple[int, int, bool]:
    server.script(reply)
    lm = OpenAICompatibleLM("llama3.2", server.base_url)
    got = (await lm.complete(MESSAGES)).usage
    await lm.aclose()
    return got.input_tokens, got.output_tokens, got.estimated


@pytest.mark.parametrize(
    "reported",
    [
        # Open WebUI's usage for an Ollama model: Ollama's counts with its timings, no OpenAI names
        {"prompt_eval_count": 431, "eval_count": 57, "response_token/s": 41.2, "total_duration": 2_318_000_000},
        # a gateway that writes its counts in camelCase
        {"promptTokens": 431, "completionTokens": 57, "totalTokens": 488},
        {"inputTokens": 431, "outputTokens": 57, "totalTokens": 488},
        # OpenAI's names there but null, the counts under other names (each said twice: read once)
        {"prompt_tokens": None, "completion_tokens": None, "input_tokens": 431, "prompt_eval_count": 431,
         "output_tokens": 57, "eval_count": 57},
    ],
    ids=["ollama-in-usage", "camel-prompt", "camel-input", "null-openai-names"],
)  # fmt: skip
async def test_counts_under_other_names_in_usage_are_booked(server: FakeOpenAIServer, reported: dict[str, Any]) -> None:
    reply = Reply(body=completion_body("Paris", model="llama3.2", usage=reported))
    assert await _counts(server, reply) == (431, 57, False)


async def test_ollamas_counts_at_the_top_of_a_whole_reply_are_booked(server: FakeOpenAIServer) -> None:
    body = {**completion_body("Paris", model="llama3.2"), "prompt_eval_count": 431, "eval_count": 57, "done": True}
    assert await _counts(server, Reply(body=body)) == (431, 57, False)
    # a usage object beside them is the reply's count: Open WebUI's newer one says each count under three names
    reported = {"prompt_tokens": 431, "input_tokens": 431, "prompt_eval_count": 431, "completion_tokens": 57,
                "output_tokens": 57, "eval_count": 57, "total_tokens": 488, "totalTokens": 488}  # fmt: skip
    body = {**completion_body("Paris", model="llama3.2", usage=reported), "prompt_eval_count": 9, "eval_count": 9}
    assert await _counts(server, Reply(body=body)) == (431, 57, False)


async def test_ollamas_counts_in_the_last_stream_chunk_are_booked(server: FakeOpenAIServer) -> None:
    chunks: list[dict[str, Any]] = [
        {"model": "llama3.2", "choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": None}]},
        {"model": "llama3.2", "choices": [{"index": 0, "delta": {"content": "is"}, "finish_reason": "stop"}]},
        {"model": "llama3.2", "choices": [], "prompt_eval_count": 431, "eval_count": 57},
    ]
    stream = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    assert await _counts(server, Reply(body=stream, headers=EVENTS)) == (431, 57, False)
