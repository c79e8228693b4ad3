"""A server that takes two sampling parameters one at a time says so in a 400 ("`temperature` and `top_p` cannot
both be specified for this model. Please use only one.": Anthropic's models behind an OpenAI-compatible layer,
LiteLLM, OpenRouter). rlmx read no such wording: every call with both set failed. Now the narrower knob is left out
and the request sent again, once; a conflict naming what a reply means or the output cap is still an error."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.mark.parametrize(
    ("refusal", "params", "left_out"),
    [
        (
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
            {"temperature": 0.2, "top_p": 0.9},
            "top_p",
        ),
        (
            "Parameters 'top_p' and 'temperature' are mutually exclusive.",
            {"top_p": 0.9, "temperature": 0.2},
            "top_p",
        ),
        (
            "frequency_penalty cannot be used together with presence_penalty",
            {"presence_penalty": 0.1, "frequency_penalty": 0.3},
            "frequency_penalty",
        ),
        ("Specify only one of seed and top_k.", {"seed": 7, "top_k": 40}, "top_k"),
    ],
)
async def test_one_of_two_conflicting_parameters_is_left_out(
    server: FakeOpenAIServer, refusal: str, params: dict[str, object], left_out: str
) -> None:
    server.script(Reply(400, error_body(refusal)))
    lm = OpenAICompatibleLM("claude-sonnet-4-5", server.base_url, max_retries=0, **params)  # type: ignore[arg-type]
    await lm.complete(MESSAGES)
    await lm.complete(MESSAGES)
    first, *later = [r.body for r in server.requests]
    assert set(params) <= set(first)
    assert len(later) == 2  # one resend, then the next call goes without it from the start
    for body in later:
        assert left_out not in body and set(params) - {left_out} <= set(body)


async def test_a_conflict_over_what_a_reply_means_is_an_error(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("response_format and tools cannot both be specified for this model.")))
    lm = OpenAICompatibleLM(
        "claude-sonnet-4-5",
        server.base_url,
        max_retries=0,
        response_format={"type": "json_object"},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    )
    with pytest.raises(LMRequestError, match="cannot both be specified"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 1


async def test_a_400_naming_two_parameters_without_a_conflict_is_not_read_as_one(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("temperature must be at most 1 when top_p is below 1.")))
    lm = OpenAICompatibleLM("some-model", server.base_url, max_retries=0, temperature=1.5, top_p=0.5)
    await lm.complete(MESSAGES)
    # no conflict read: both are sent again, the temperature at the bound the server names (round 86)
    assert [(r.body["temperature"], r.body["top_p"]) for r in server.requests] == [(1.5, 0.5), (1.0, 0.5)]
