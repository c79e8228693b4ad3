"""A server refusing a sampling value outside its range (Anthropic's models take temperature 0..1 where OpenAI's take
0..2; vLLM's top_p is (0, 1]) ended every call: rlmx read such a 400 neither as a refused parameter (rightly: leaving
it out would run at the server's default) nor as anything else (audit 86, kinds v01). Now the value is brought to the
nearest one the server names, the request sent again once, and later calls send their values within that range."""

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


def _openai_shaped(message: str, param: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def _pydantic_shaped(field: str, message: str) -> dict[str, Any]:
    return {"detail": [{"type": "less_than_equal", "loc": ["body", field], "msg": message, "input": 9}]}


@pytest.mark.parametrize(
    ("status", "body", "params", "sent_again"),
    [
        (400, error_body("temperature: range: 0..1"), {"temperature": 1.5}, {"temperature": 1.0}),
        (
            400,
            _openai_shaped(
                "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.7 instead.",
                "temperature",
                "decimal_above_max_value",
            ),
            {"temperature": 2.7},
            {"temperature": 2.0},
        ),
        (
            400,
            _openai_shaped(
                "Invalid 'presence_penalty': decimal below minimum value. Expected a value >= -2, but got -3 instead.",
                "presence_penalty",
                "decimal_below_min_value",
            ),
            {"presence_penalty": -3},
            {"presence_penalty": -2},
        ),
        (400, error_body("top_p must be in (0, 1], got 1.2."), {"top_p": 1.2, "temperature": 0.3}, {"top_p": 1.0}),
        (400, error_body("temperature must be non-negative, got -0.5."), {"temperature": -0.5}, {"temperature": 0.0}),
        (422, _pydantic_shaped("temperature", "Input should be less than or equal to 2"), {"temperature": 9}, None),
        (400, error_body("'min_p' : value must be between 0 and 1"), {"min_p": 5}, {"min_p": 1}),
        (
            422,
            {
                "detail": [
                    {
                        "type": "less_than_equal",
                        "loc": ["body", "top_p"],
                        "msg": "Input should be less than or equal to 1",
                    },
                    {
                        "type": "less_than_equal",
                        "loc": ["body", "temperature"],
                        "msg": "Input should be less than or equal to 2",
                    },
                ]
            },
            {"top_p": 1.5, "temperature": 3.0},
            {"temperature": 2.0},  # its own bound, not top_p's, which is sent again at 1 on the next refusal
        ),
    ],
)
async def test_a_value_past_the_servers_range_is_sent_at_its_nearest_bound(
    server: FakeOpenAIServer,
    status: int,
    body: dict[str, Any],
    params: dict[str, Any],
    sent_again: dict[str, Any] | None,
) -> None:
    server.script(Reply(status, body))
    lm = OpenAICompatibleLM("claude-haiku-4-5", server.base_url, max_retries=0, **params)
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    first, *later = [request.body for request in server.requests]
    assert all(first[name] == value for name, value in params.items())
    assert len(later) == 2  # one resend, then the next call goes within the range from the start
    expected = sent_again or {"temperature": 2}  # an int asked stays an int
    for request in later:
        for name, value in expected.items():
            assert request[name] == value and type(request[name]) is type(value), (name, request[name])
        assert all(name in request for name in params)  # nothing left out: each was brought into range


async def test_a_call_asking_a_value_inside_the_range_sends_it_unchanged(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("temperature: range: 0..1")))
    lm = OpenAICompatibleLM("claude-haiku-4-5", server.base_url, max_retries=0, temperature=1.4)
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES, temperature=0.2)
    assert [request.body["temperature"] for request in server.requests] == [1.4, 1.0, 0.2]


async def test_a_value_refused_again_inside_the_named_range_is_an_error_not_a_loop(server: FakeOpenAIServer) -> None:
    server.script(
        Reply(400, error_body("temperature: range: 0..1")), Reply(400, error_body("temperature: range: 0..1"))
    )
    lm = OpenAICompatibleLM("claude-haiku-4-5", server.base_url, max_retries=0, temperature=1.5)
    with pytest.raises(LMRequestError, match="range"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 2


async def test_a_bound_is_the_range_of_the_knob_it_is_written_after(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("top_p must be in (0, 1] when temperature is set, got 1.5.")))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, temperature=1.2, top_p=1.5)
    await lm.complete(MESSAGES)
    assert [(r.body["temperature"], r.body["top_p"]) for r in server.requests] == [(1.2, 1.5), (1.2, 1.0)]


@pytest.mark.parametrize(
    "refusal",
    [
        "Invalid value for temperature.",  # no bound named: the caller's to fix
        "temperature must be -1 (disable), or at least 0.1, got 0.",  # a value of its own meaning: no bound taken
        "temperature: the supported range is from 0 (inclusive) to 2 (exclusive)",  # 1.5 lies inside it
        "Model gpt-4-0613 does not allow temperature above its limit.",  # the model's digits are no range
    ],
)
async def test_a_refusal_naming_no_usable_bound_stays_an_error(server: FakeOpenAIServer, refusal: str) -> None:
    server.script(Reply(400, error_body(refusal)))
    lm = OpenAICompatibleLM(
        "gpt-4-0613", server.base_url, max_retries=0, temperature=1.5 if "got 0" not in refusal else 0
    )
    with pytest.raises(LMRequestError):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1


async def test_top_k_is_never_brought_into_a_range(server: FakeOpenAIServer) -> None:
    # vLLM: 0 and -1 mean "off" elsewhere (llama.cpp, Ollama), and its nearest bound, 1, is greedy decoding
    server.script(Reply(400, error_body("top_k must be -1 (disable), or at least 1, got 0.")))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, top_k=0)
    with pytest.raises(LMRequestError, match="top_k"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1
