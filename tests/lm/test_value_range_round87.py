"""Exclusive bounds in a server's range refusal (audit 87, kinds v01-v02). Text-generation-inference refuses top_p=1.0
with "`top_p` must be > 0.0 and < 1.0" and temperature=0 with "`temperature` must be strictly positive"; vLLM's
"(0, 1]" excludes 0. An exclusive bound gave no value to send, so every call failed. Now a knob refused at the value
that turns it off (top_p 1, penalties 0) is left out, and any other value is sent just inside the open bound."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, error_body
from rlmx.errors import LMRequestError
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM

MESSAGES: list[Message] = [{"role": "user", "content": "Say hi."}]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def _tgi(message: str) -> dict[str, Any]:
    return {"error": f"Input validation error: {message}", "error_type": "validation"}


async def test_a_knob_refused_at_its_off_value_is_left_out_of_this_and_later_calls(server: FakeOpenAIServer) -> None:
    server.script(Reply(422, _tgi("`top_p` must be > 0.0 and < 1.0")))
    lm = OpenAICompatibleLM("tgi", server.base_url, max_retries=0, top_p=1.0, temperature=0.4)
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    first, *later = [request.body for request in server.requests]
    assert first["top_p"] == 1.0
    assert len(later) == 2
    assert all("top_p" not in request and request["temperature"] == 0.4 for request in later)


@pytest.mark.parametrize(
    ("status", "body", "params", "sent_again"),
    [
        (422, _tgi("`temperature` must be strictly positive"), {"temperature": 0}, {"temperature": 0.01}),
        (400, error_body("top_p must be in (0, 1], got 0."), {"top_p": 0.0}, {"top_p": 0.01}),
        (400, error_body("temperature must be less than 2"), {"temperature": 2.0}, {"temperature": 1.99}),
        (
            422,
            {
                "detail": [
                    {"type": "greater_than", "loc": ["body", "temperature"], "msg": "Input should be greater than 0"}
                ]
            },
            {"temperature": 0.0},
            {"temperature": 0.01},
        ),
        (400, error_body("top_p must be > 0.0 and < 1.0"), {"top_p": 1.5}, {"top_p": 0.99}),  # not off: kept inside
        (400, error_body("temperature must not be greater than 2"), {"temperature": 3.0}, {"temperature": 2.0}),
    ],
)
async def test_a_value_past_an_exclusive_bound_is_sent_just_inside_it(
    server: FakeOpenAIServer, status: int, body: dict[str, Any], params: dict[str, Any], sent_again: dict[str, Any]
) -> None:
    server.script(Reply(status, body))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, **params)
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    later = [request.body for request in server.requests][1:]
    assert len(later) == 2
    for request in later:
        for name, value in sent_again.items():
            assert request[name] == pytest.approx(value), (name, request[name])


async def test_a_penalty_refused_at_zero_is_left_out(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("presence_penalty must be in (0, 2]")))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, presence_penalty=0)
    await lm.complete(MESSAGES)
    assert "presence_penalty" not in server.requests[-1].body and len(server.requests) == 2


@pytest.mark.parametrize(
    ("refusal", "params"),
    [
        # the refused side, not the allowed one (review 87 v03)
        ("temperature > 1 is not allowed for this model; set it below 1", {"temperature": 1.5}),
        # another knob's condition: temperature stays 0
        ("top_p is only supported when temperature > 0", {"temperature": 0, "top_p": 0.5}),
        # just inside "strictly positive" means the opposite of what 0 meant for a multiplicative penalty (v04)
        ("`repetition_penalty` must be strictly positive", {"repetition_penalty": 0}),
    ],
)
async def test_an_exclusive_bound_read_wrongly_would_change_the_callers_value_so_it_stays_an_error(
    server: FakeOpenAIServer, refusal: str, params: dict[str, Any]
) -> None:
    server.script(Reply(400, error_body(refusal)))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, **params)
    with pytest.raises(LMRequestError):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1
