"""Replies that came whole but cannot be read as sent, and event streams that end or fail in ways the chunks alone do
not say: each over HTTP from the fake server, read by OpenAICompatibleLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.compression_utils import HAS_BROTLI

from fake_openai_server import FakeOpenAIServer, Reply, completion_body
from rlmx.errors import LMBadResponse
from rlmx.lm.openai import OpenAICompatibleLM

pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
EVENTS = {"content-type": "text/event-stream"}
PART = {"choices": [{"index": 0, "delta": {"content": "The capital is"}}]}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def _events(*chunks: dict[str, Any], tail: str = "") -> str:
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + tail


@pytest.mark.parametrize(
    ("encoding", "advice"),
    [
        ("gzip", "a proxy in between may have decompressed it and kept the header"),  # plain JSON labelled gzip
        # an encoding this install cannot decode, sent unasked (with Brotli installed: plain JSON labelled br)
        ("br", "a proxy in between" if HAS_BROTLI else "install the library named"),
    ],
)
async def test_a_whole_reply_whose_body_cannot_be_decoded_is_said_so_and_not_sent_again(
    server: FakeOpenAIServer, encoding: str, advice: str
) -> None:
    body = json.dumps(completion_body("Paris", model="m"))
    server.script(*[Reply(body=body, headers={"content-encoding": encoding, "content-type": "application/json"})] * 3)
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=2)
    with pytest.raises(LMBadResponse) as caught:
        await lm.complete(MESSAGES)
    said = str(caught.value)
    assert "cannot be decoded as its Content-Encoding header says" in said and advice in said
    assert "broke off" not in said and "\n" not in said
    assert not caught.value.retryable and caught.value.unanswered == 1  # answered in full: booked, not re-sent
    assert len(server.requests) == 1


async def test_a_stream_that_just_stops_is_told_as_cut_not_as_an_error_the_server_said(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(body=_events(PART), headers=EVENTS))
    with pytest.raises(LMBadResponse) as caught:
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    said = str(caught.value)
    assert "event stream ended before the reply did" in said and "answered HTTP 200 with an error" not in said
    assert caught.value.retryable


@pytest.mark.parametrize(
    "data",
    [
        {"message": "Internal server error", "code": 500},
        {"error": {"message": "Internal server error", "type": "server_error"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Internal server error"}},
    ],
)
@pytest.mark.parametrize("done", ["", "data: [DONE]\n\n"])
async def test_an_event_typed_error_is_the_reply_whatever_its_data_holds(
    server: FakeOpenAIServer, data: dict[str, Any], done: str
) -> None:
    # The SSE `event:` line names the event's type; the data of an `error` event need not say "error" again.
    body = _events(PART) + f"event: error\ndata: {json.dumps(data)}\n\n" + done
    server.script(Reply(body=body, headers=EVENTS))
    with pytest.raises(LMBadResponse, match=r"with an error: Internal server error$"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)


async def test_events_of_other_types_are_read_as_before(server: FakeOpenAIServer) -> None:
    finished = {"choices": [{"index": 0, "delta": {"content": " Paris"}, "finish_reason": "stop"}]}
    body = "event: message\n" + _events(PART) + "event: completion\n" + _events(finished) + "data: [DONE]\n\n"
    server.script(Reply(body=body, headers=EVENTS))
    reply = await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert reply.text == "The capital is Paris"
