"""Which request parameters a server accepts, round 4: a reason given outside the error's `message` (a sentence in
`param`, `detail` or `cause`; a provider's error nested, as an object or as JSON text, in a gateway's `cause`,
`error` or `details`), the output cap refused under both of its names (Azure o1 on an old api-version), and a cap's
limit written with thousands separators. Served by the loopback server, read by OpenAICompatibleLM."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply
from rlmx.errors import LMRequestError
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM

MESSAGES: list[Message] = [{"role": "user", "content": "Say hi."}]


pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")


@contextlib.contextmanager
def serving(route: Callable[[dict[str, Any]], Reply | None]) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(Behaviour(text="ok", route=route)) as server:
        yield server


def cap_of(body: dict[str, Any]) -> int:
    return int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)


# --- 1. the reason in a field other than `message` -----------------------------------------------------------------

_TOO_LARGE = (
    "max_tokens is too large: {cap}. This model supports at most 4096 completion tokens, whereas you gave {cap}."
)


@pytest.mark.parametrize("key", ["param", "detail", "cause"])
async def test_a_cap_limit_given_only_beside_a_bare_message_fits_the_cap(key: str) -> None:
    def route(body: dict[str, Any]) -> Reply | None:
        cap = cap_of(body)
        if cap <= 4096:
            return None
        return Reply(
            400, {"error": {"message": "Param Incorrect", "type": "upstream_error", key: _TOO_LARGE.format(cap=cap)}}
        )

    with serving(route) as server:
        lm = OpenAICompatibleLM("deepseek-v3", server.base_url, max_tokens=50_000)
        completion = await lm.complete(MESSAGES)
        assert completion.text == "ok"
        assert [cap_of(r.body) for r in server.requests] == [50_000, 4096]
        assert lm.output_limit == 4096


async def test_a_sentence_beside_a_bare_message_is_quoted_in_the_error() -> None:
    reason = "the account's group has no channel serving this model, ask the administrator"

    def route(body: dict[str, Any]) -> Reply:
        return Reply(400, {"error": {"message": "Param Incorrect", "param": reason, "code": "400"}})

    with serving(route) as server:
        lm = OpenAICompatibleLM("deepseek-v3", server.base_url, max_tokens=100)
        with pytest.raises(LMRequestError) as caught:
            await lm.complete(MESSAGES)
        assert "Param Incorrect" in str(caught.value) and reason in str(caught.value)
        assert len(server.requests) == 1


_OPENAI_TEMPERATURE = {
    "error": {
        "message": "Unsupported value: 'temperature' does not support 0.1 with this model. Only the default (1) "
        "value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
}
_WRAPPED: dict[str, Callable[[], dict[str, Any]]] = {
    "cause as JSON text": lambda: {"cause": json.dumps(_OPENAI_TEMPERATURE, indent=1), "message": "模型服务调用失败"},
    "cause as an object": lambda: {"cause": _OPENAI_TEMPERATURE, "message": "upstream call failed"},
    "error inside error": lambda: {"error": _OPENAI_TEMPERATURE["error"], "message": "Bad Request"},
    "details as JSON text": lambda: {"details": json.dumps(_OPENAI_TEMPERATURE), "message": "provider error"},
}


@pytest.mark.parametrize("shape", sorted(_WRAPPED))
async def test_a_providers_refusal_nested_in_a_gateways_error_is_read(shape: str) -> None:
    def route(body: dict[str, Any]) -> Reply | None:
        if body.get("temperature", 1) != 1:
            return Reply(400, {"error": {**_WRAPPED[shape](), "code": 400}, "requestId": "x", "result": None})
        return None

    with serving(route) as server:
        lm = OpenAICompatibleLM("gpt-5-mini", server.base_url, temperature=0.1, max_tokens=300)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert lm.unsupported_params == {"temperature"}
        assert ["temperature" in r.body for r in server.requests] == [True, False, False]


async def test_a_nested_providers_reason_is_quoted_when_nothing_can_be_left_out() -> None:
    inner = {"error": {"message": "The model `gpt-9` does not exist or you do not have access to it.", "param": None}}

    def route(body: dict[str, Any]) -> Reply:
        return Reply(400, {"error": {"cause": json.dumps(inner), "message": "模型服务调用失败", "code": 400}})

    with serving(route) as server:
        lm = OpenAICompatibleLM("gpt-9", server.base_url)
        with pytest.raises(LMRequestError) as caught:
            await lm.complete(MESSAGES)
        assert "模型服务调用失败" in str(caught.value) and "does not exist" in str(caught.value)


# --- 2. the output cap refused under both of its names ---------------------------------------------------------------


def _azure_old_api_version(body: dict[str, Any]) -> Reply | None:
    if "max_tokens" in body:
        return Reply(400, {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                                     "Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
                                     "param": "max_tokens", "code": "unsupported_parameter"}})  # fmt: skip
    if "max_completion_tokens" in body:
        return Reply(400, {"error": {"message": "Unrecognized request argument supplied: max_completion_tokens",
                                     "type": "invalid_request_error", "param": None, "code": None}})  # fmt: skip
    return None


async def test_both_cap_names_refused_is_one_clear_error_and_remembered() -> None:
    accepting = False

    def route(body: dict[str, Any]) -> Reply | None:
        return None if accepting else _azure_old_api_version(body)

    with serving(route) as server:
        lm = OpenAICompatibleLM("o1", server.base_url + "?api-version=2024-08-01-preview", max_tokens=500)
        errors = []
        for _ in range(3):
            with pytest.raises(LMRequestError) as caught:
                await lm.complete(MESSAGES)
            errors.append(str(caught.value))
        assert len(server.requests) == 4  # two names tried once, then one request a call
        for error in errors:
            assert "both of its names" in error and "max_tokens" in error and "max_completion_tokens" in error
            assert "api-version" in error  # what to do
            assert "set it to what the server accepts" not in error
        assert lm.cap_refused
        accepting = True  # the server's deployment is upgraded: the cap is taken again, and the memory goes
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert not lm.cap_refused
        assert cap_of(server.requests[-1].body) == 500


# --- 3. a cap's limit written with thousands separators ------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "max_tokens must be <= {limit:,}",
        "This model supports at most {limit:,} completion tokens, whereas you provided {cap:,}.",
        "max_tokens: expected a value <= {limit:,}, got {cap:,}",
        "max_completion_tokens is too large: {cap}. This model supports at most {limit}",  # Cloudflare AI Gateway
    ],
)
async def test_a_cap_limit_with_thousands_separators_is_read_whole(said: str) -> None:
    def route(body: dict[str, Any]) -> Reply | None:
        cap = cap_of(body)
        if cap <= 8192:
            return None
        return Reply(400, {"error": {"message": said.format(limit=8192, cap=cap), "type": "invalid_request_error"}})

    with serving(route) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_tokens=100_000)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert [cap_of(r.body) for r in server.requests] == [100_000, 8192]


# --- round 5: what a bare message leaves out ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "told"),
    [
        ({"message": "Invalid input", "param": "response_format"}, "Invalid input (param: response_format)"),
        (  # Vercel AI Gateway: zod's issues, each with its `path`, in `param`
            {"message": "Invalid input", "param": [{"path": ["messages", 0, "role"], "message": "Invalid enum"}]},
            "Invalid input (messages.0.role: Invalid enum)",
        ),
        (  # a message that names its field already is quoted as it is
            {"message": "Unsupported value: 'seed' must be an integer", "param": "seed"},
            "Unsupported value: 'seed' must be an integer",
        ),
    ],
)
async def test_a_bare_message_is_told_with_the_field_or_issues_the_error_gives_beside_it(
    error: dict[str, Any], told: str
) -> None:
    with serving(lambda body: Reply(400, {"error": {**error, "type": "invalid_request_error"}})) as server:
        lm = OpenAICompatibleLM("m", server.base_url, response_format={"type": "json_object"})
        with pytest.raises(LMRequestError) as caught:
            await lm.complete(MESSAGES)
    assert told in str(caught.value) and f"{told} (" not in str(caught.value)
