"""A 200 reply in another API's shape, through OpenAICompatibleLM on a real HTTP server on 127.0.0.1: a base_url that
leads to a provider's native API (Ollama's /api, Anthropic's Messages, Gemini's generateContent, ...) answers with
a body, a JSON-lines stream or an event stream that is no chat completion. rlmx says which API answered and which
base_url fixes it, once, without asking again for the same shape; chat chunks sent one a line are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, error_body
from rlmx.errors import LMBadResponse
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM

pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")

MESSAGES: list[Message] = [{"role": "user", "content": "Capital of France? One word."}]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


async def refused(server: FakeOpenAIServer) -> LMBadResponse:
    """The error `complete` raises with two retries allowed."""
    with pytest.raises(LMBadResponse) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    return caught.value


def advises_base_url(error: LMBadResponse, api: str) -> None:
    said = str(error)
    assert api in said, said
    assert "base_url" in said and "/v1" in said, said
    assert "no choices" not in said and "ended before" not in said and "not JSON" not in said, said
    assert not error.retryable


_TEXT = [{"type": "text", "text": "Paris"}]
WHOLE: dict[str, tuple[Any, str]] = {
    "responses": (
        {
            "id": "resp_9",
            "object": "response",
            "status": "completed",
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris"}]}],
        },
        "Responses API",
    ),
    "anthropic": ({"id": "msg_9", "type": "message", "content": _TEXT, "stop_reason": "end_turn"}, "Anthropic"),
    "ollama_chat": ({"model": "m", "message": {"role": "assistant", "content": "Paris"}, "done": True}, "Ollama"),
    "ollama_generate": ({"model": "m", "response": "Paris", "done": True}, "Ollama"),
    "cohere_v2": (
        {"id": "c", "message": {"role": "assistant", "content": _TEXT}, "finish_reason": "COMPLETE"},
        "Cohere",
    ),
    "gemini": ({"candidates": [{"content": {"parts": [{"text": "Paris"}], "role": "model"}}]}, "Gemini"),
    "tgi": ({"generated_text": "Paris"}, "TGI"),
    "hf_inference_list": ([{"generated_text": "Paris"}], "TGI"),
    "gemini_array": ([{"candidates": [{"content": {"parts": [{"text": "Paris"}]}}]}], "Gemini"),
    "bedrock": ({"output": {"message": {"role": "assistant", "content": _TEXT}}, "stopReason": "end_turn"}, "Bedrock"),
}


@pytest.mark.parametrize("shape", list(WHOLE))
async def test_a_whole_body_of_another_api_is_named_with_the_base_url_fix_and_asked_once(
    server: FakeOpenAIServer, shape: str
) -> None:
    body, api = WHOLE[shape]
    server.script(Reply(body=json.dumps(body)))
    advises_base_url(await refused(server), api)
    assert len(server.requests) == 1


def lines(*objects: dict[str, Any]) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objects).encode()


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def test_chat_chunks_one_a_line_without_sse_framing_are_read_as_a_stream(server: FakeOpenAIServer) -> None:
    body = lines(
        chat_chunk({"role": "assistant", "content": "Par"}),
        chat_chunk({"content": "is"}, "stop"),
        {
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2},
        },
    )
    server.script(Reply(body=body, headers={"content-type": "application/x-ndjson"}))
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert (completion.text, completion.finish_reason) == ("Paris", "stop")
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (9, 2)
    assert len(server.requests) == 1


async def test_ollamas_native_json_lines_stream_is_named_once_not_called_not_json(server: FakeOpenAIServer) -> None:
    body = lines(
        {"model": "m", "message": {"role": "assistant", "content": "Par"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": "is"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
    )
    server.script(Reply(body=body, headers={"content-type": "application/x-ndjson"}))
    error = await refused(server)
    advises_base_url(error, "Ollama")
    assert "JSON lines" in str(error)
    assert len(server.requests) == 1


def sse(*events: tuple[str | None, dict[str, Any]]) -> bytes:
    return "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n" for name, data in events
    ).encode()


STREAMS: dict[str, tuple[bytes, str]] = {
    "responses": (
        sse(
            ("response.created", {"type": "response.created", "response": {"object": "response", "output": []}}),
            ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Paris"}),
            ("response.completed", {"type": "response.completed", "response": {"object": "response", "output": []}}),
        ),
        "Responses API",
    ),
    "anthropic": (
        sse(
            ("message_start", {"type": "message_start", "message": {"type": "message", "content": []}}),
            ("content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Paris"}}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
            ("message_stop", {"type": "message_stop"}),
        ),
        "Anthropic",
    ),
    "gemini": (
        sse((None, {"candidates": [{"content": {"parts": [{"text": "Paris"}]}, "finishReason": "STOP"}]})),
        "Gemini",
    ),
    "tgi": (sse((None, {"token": {"id": 1, "text": "Paris"}, "generated_text": "Paris"})), "TGI"),
}


@pytest.mark.parametrize("shape", list(STREAMS))
async def test_a_stream_only_models_stream_of_another_apis_events_is_named_not_resent(
    server: FakeOpenAIServer, shape: str
) -> None:
    events, api = STREAMS[shape]
    server.script(
        Reply(400, error_body("This model only support stream mode, please enable the stream parameter")),
        Reply(body=events, headers={"content-type": "text/event-stream"}),
    )
    advises_base_url(await refused(server), api)
    assert len(server.requests) == 2  # the plain request, then the one stream
    assert server.requests[1].body.get("stream") is True


# --- what is NOT another API's shape (audit 58) -------------------------------------------------------------


async def test_a_chat_stream_with_pings_that_ends_in_an_error_says_its_error(server: FakeOpenAIServer) -> None:
    # Claude's OpenAI-compatible endpoint sends {"type": "ping"} in chat streams: a stream cut by an error after one
    # was named "Anthropic's Messages API" (not resent, the error's own words lost)
    events = sse(
        ("ping", {"type": "ping"}),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded, try later"}}),
    )
    server.script(
        Reply(400, error_body("This model only support stream mode, please enable the stream parameter")),
        Reply(body=events, headers={"content-type": "text/event-stream"}),
    )
    with pytest.raises(Exception, match="Overloaded, try later") as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert "Anthropic" not in str(caught.value)


async def test_chunk_lines_keeping_their_end_marker_and_keepalives_are_read(server: FakeOpenAIServer) -> None:
    # a proxy that strips `data: ` leaves `[DONE]` and `: OPENROUTER PROCESSING`: called "not JSON", sent 3 times
    body = b": OPENROUTER PROCESSING\n" + lines(chat_chunk({"content": "Paris"}, "stop")) + b"[DONE]\n"
    body = lines(chat_chunk({"role": "assistant", "content": ""})) + body
    server.script(Reply(body=body, headers={"content-type": "application/x-ndjson"}))
    completion = await OpenAICompatibleLM("m", server.base_url, max_retries=2).complete(MESSAGES)
    assert (completion.text, completion.finish_reason) == ("Paris", "stop") and len(server.requests) == 1


async def test_an_array_wrapped_error_keeps_its_message(server: FakeOpenAIServer) -> None:
    # Google's OpenAI endpoint wraps errors in a list: "JSON list, not a chat completion object", the quota lost
    quota = [{"error": {"code": 429, "message": "Quota exceeded for metric generate_content", "status": "EXHAUSTED"}}]
    server.script(Reply(body=json.dumps(quota).encode()))
    with pytest.raises(Exception, match="Quota exceeded for metric generate_content"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_an_output_list_of_strings_is_not_named_the_responses_api(server: FakeOpenAIServer) -> None:
    # Replicate's prediction (`output`: a list of strings) was named "the OpenAI Responses API"
    prediction = {"id": "p1", "status": "succeeded", "output": ["Par", "is"]}
    server.script(Reply(body=json.dumps(prediction).encode()))
    with pytest.raises(Exception) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert "Responses" not in str(caught.value)
