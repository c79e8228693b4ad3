"""Which request parameters a server accepts, round 3: refusals in the shapes vLLM (its error list written as Python
text), Bedrock and Anthropic (pydantic's "FIELD: Extra inputs are not permitted"), Cerebras (a `param` that is no
field, a `body.` prefix) and llama.cpp (a 500 refusing a parameter) write them. Each refusal is served by the loopback
server whenever the refused field is in the request, as the real servers do, and read by OpenAICompatibleLM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply
from rlmx.errors import LMRequestError, LMServerError
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM

MESSAGES: list[Message] = [{"role": "user", "content": "Say hi."}]
Refusal = Callable[[dict[str, Any]], dict[str, Any]]


pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")


@contextlib.contextmanager
def refusing(fields: set[str], status: int, refusal: Refusal, delay: float = 0.0) -> Iterator[FakeOpenAIServer]:
    """A server refusing every request that carries one of `fields` with `refusal(request body)`."""

    def route(body: dict[str, Any]) -> Reply | None:
        return Reply(status, refusal(body), delay=delay) if fields & set(body) else None

    with FakeOpenAIServer(Behaviour(text="ok", route=route)) as server:
        yield server


def sent(server: FakeOpenAIServer, names: set[str]) -> list[list[str]]:
    return [sorted(names & set(request.body)) for request in server.requests]


# --- 1. an error list written as Python text: its `loc` is refused, never a name in the echoed value ---------------


def _repr_list(body: dict[str, Any]) -> str:
    return str([{"type": "extra_forbidden", "loc": ("body", "metadata"), "msg": "Extra inputs are not permitted",
                 "input": body["metadata"]}])  # fmt: skip


_PYTHON_WRITTEN: dict[str, Refusal] = {
    "vllm": lambda body: {"object": "error", "message": _repr_list(body), "type": "BadRequestError", "param": None},
    "behind a gateway": lambda body: {
        "error": {"message": f"litellm.BadRequestError: Hosted_vllmException - {_repr_list(body)}", "param": None}
    },
    "printed by pydantic": lambda body: {
        "object": "error",
        "message": "1 validation error for ChatCompletionRequest\nmetadata\n  Extra inputs are not permitted "
        f"[type=extra_forbidden, input_value={body['metadata']!r}, input_type=dict]",
    },
    "a value Python cannot read back": lambda body: {
        "object": "error",
        "message": "[{'type': 'extra_forbidden', 'loc': ('body', 'metadata'), 'msg': 'Extra inputs are not "
        "permitted', 'input': Metadata({'temperature': '0.2', 'seed': '7'})}]",
    },
}


@pytest.mark.parametrize("shape", sorted(_PYTHON_WRITTEN))
async def test_only_the_refused_field_is_left_out_whatever_its_echoed_value_names(shape: str) -> None:
    # the user's metadata names sampling settings that rlmx also sent: they must stay in every later request
    with refusing({"metadata"}, 400, _PYTHON_WRITTEN[shape]) as server:
        lm = OpenAICompatibleLM("Qwen/Qwen2.5-7B-Instruct", server.base_url, max_retries=0, temperature=0.2, seed=7,
                                metadata={"temperature": "0.2", "seed": "7"})  # fmt: skip
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {"metadata", "temperature", "seed"}) == [
            ["metadata", "seed", "temperature"],
            ["seed", "temperature"],
            ["seed", "temperature"],
        ]
        assert lm.unsupported_params == {"metadata"}


# --- 2. "FIELD: Extra inputs are not permitted" refuses FIELD ------------------------------------------------------


_FIELD_COLON: dict[str, tuple[str, Refusal]] = {
    "bedrock behind litellm": (
        "reasoning",
        lambda _: {
            "error": {
                "message": 'litellm.BadRequestError: BedrockException - {"message":"The model returned '
                'the following errors: reasoning: Extra inputs are not permitted"}. Received Model Group=claude',
                "param": None,
                "code": "400",
            }
        },
    ),
    "anthropic": (
        "top_k",
        lambda _: {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "top_k: Extra inputs are not permitted"},
        },
    ),
    "pydantic v1": ("guardrails", lambda _: {"error": {"message": "guardrails: extra fields not permitted"}}),
}


@pytest.mark.parametrize("shape", sorted(_FIELD_COLON))
async def test_a_field_named_before_extra_inputs_are_not_permitted_is_left_out(shape: str) -> None:
    field, refusal = _FIELD_COLON[shape]
    with refusing({field}, 400, refusal) as server:
        lm = OpenAICompatibleLM("claude-opus-4-1", server.base_url, max_retries=0, temperature=0.3,
                                extra_body={field: {"effort": "low"}})  # fmt: skip
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {field, "temperature"}) == [
            sorted([field, "temperature"]),
            ["temperature"],
            ["temperature"],
        ]
        assert lm.unsupported_params == {field}


# --- 3. a `param` that is no field of the request, and a `body.` prefix --------------------------------------------


@pytest.mark.parametrize("spelled", ["enable_thinking", "enableThinking"])
async def test_cerebras_refusal_of_a_body_field_is_read_from_its_text(spelled: str) -> None:
    def refusal(_: dict[str, Any]) -> dict[str, Any]:
        return {"code": "wrong_api_format", "message": f"body.{spelled}: property 'body.{spelled}' is unsupported",
                "param": "validation_error", "type": "invalid_request_error"}  # fmt: skip

    with refusing({"enable_thinking"}, 400, refusal) as server:
        lm = OpenAICompatibleLM("qwen-3-235b", server.base_url, max_retries=0, temperature=0.7, enable_thinking=False)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {"enable_thinking", "temperature"}) == [["enable_thinking", "temperature"], ["temperature"]]
        assert lm.unsupported_params == {"enable_thinking"}


async def test_a_param_naming_a_field_of_the_request_still_wins_over_the_text() -> None:
    # the structured name counts when it is one of the request's fields (or a path into one): the text's other
    # quoted name is not dropped
    def refusal(_: dict[str, Any]) -> dict[str, Any]:
        return {"error": {"message": "'top_k' is not supported; neither is 'temperature'", "param": "body.top_k"}}

    with refusing({"top_k"}, 400, refusal) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, temperature=0.2, top_k=5)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert lm.unsupported_params == {"top_k"} and "temperature" in server.requests[1].body


# --- 4. a 5xx refusing a parameter by name is not resent as it is --------------------------------------------------


def _llama_server(field: str) -> Refusal:
    return lambda _: {"error": {"code": 500, "message": f"Unsupported param: {field}", "type": "server_error"}}


async def test_a_500_refusing_a_param_that_must_stay_fails_at_once_quoting_the_server() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    with refusing({"tools"}, 500, _llama_server("tools")) as server:
        lm = OpenAICompatibleLM("qwen2.5-1.5b-instruct", server.base_url, tools=tools)  # default max_retries=2
        with pytest.raises(LMRequestError) as caught:
            await lm.complete(MESSAGES)
        said = str(caught.value)
        assert len(server.requests) == 1
        assert "HTTP 500" in said and "Unsupported param: tools" in said and "not resent" in said
        assert "Remove tools from the request" in said and lm.unsupported_params == set()


async def test_a_500_refusing_a_droppable_param_is_cured_by_one_resend_without_it() -> None:
    with refusing({"echo"}, 500, _llama_server("echo")) as server:
        lm = OpenAICompatibleLM("qwen2.5-1.5b-instruct", server.base_url, temperature=0.1, echo=False)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {"echo", "temperature"}) == [["echo", "temperature"], ["temperature"], ["temperature"]]
        assert lm.unsupported_params == {"echo"}


async def test_a_500_naming_no_param_sent_is_still_retried() -> None:
    # a passing fault, or a refusal of a field this request did not carry: asking again may help
    with refusing({"temperature"}, 500, _llama_server("echo")) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=2, temperature=0.1)
        with pytest.raises(LMServerError, match="after 3 attempts"):
            await lm.complete(MESSAGES)
        assert len(server.requests) == 3


async def test_concurrent_calls_each_judge_a_500_by_their_own_request() -> None:
    # only the call that sent `echo` reads the 500 as final; the other call, in flight at the same time, is answered
    with refusing({"echo"}, 500, _llama_server("echo"), delay=0.2) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=2)
        with_echo, plain = await asyncio.gather(lm.complete(MESSAGES, echo=False), lm.complete(MESSAGES))
        assert with_echo.text == plain.text == "ok"
        assert sum("echo" in request.body for request in server.requests) == 1 and len(server.requests) == 3


# --- also: a 422 naming two fields drops both in one resend --------------------------------------------------------


async def test_a_validation_error_listing_two_fields_leaves_both_out_at_once() -> None:
    def refusal(body: dict[str, Any]) -> dict[str, Any]:
        listed = [{"type": "extra_forbidden", "loc": ["body", field], "msg": "Extra inputs are not permitted",
                   "input": body[field]} for field in ("seed", "top_k") if field in body]  # fmt: skip
        return {"detail": listed}

    with refusing({"seed", "top_k"}, 422, refusal) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, temperature=0.2, seed=1, top_k=3)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {"seed", "top_k", "temperature"}) == [["seed", "temperature", "top_k"], ["temperature"]]
        assert lm.unsupported_params == {"seed", "top_k"}


# --- audit 46: a schema's property named like a parameter; a long list of refused names --------------------------


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        (
            {"response_format": {"type": "json_schema"}, "temperature": 0.2},
            "response_format 'forecast': In context=('properties', 'temperature'), 'propertyNames' is not permitted.",
        ),
        (
            {"tools": [{"type": "function"}], "stop": ["\n"]},
            "function 'route': In context=('properties', 'stop'), 'patternProperties' is not permitted.",
        ),
    ],
)
async def test_a_schema_property_named_like_a_parameter_is_not_that_parameter(asked: dict[str, Any], said: str) -> None:
    """OpenAI's strict-schema 400 (`param: null`) names a property of the schema by its path: the user's
    `temperature` (or `stop`) is not refused, so nothing is dropped and the error quotes the server at once."""
    refusal = {"error": {"message": f"Invalid schema for {said}", "type": "invalid_request_error", "param": None}}
    with refusing(set(asked), 400, lambda body: refusal) as server:
        lm = OpenAICompatibleLM("m", server.base_url, api_key="k", max_retries=0)
        with pytest.raises(LMRequestError, match="Invalid schema"):
            await lm.complete(MESSAGES, **asked)
        assert len(server.requests) == 1 and not lm.unsupported_params


def test_a_long_list_of_refused_names_is_read_in_one_pass() -> None:
    """OpenAI's "Unrecognized request arguments supplied: a, b, ..." and zod's "Unrecognized key(s) in object": such a
    list was read by a pattern that backtracked exponentially on the event loop (22 names: 1 s per parameter; each
    name more doubles it). Read apart: a relapse does not finish within the bound (minutes against
    milliseconds) instead of hanging the suite."""
    import subprocess
    import sys

    script = (
        "from rlmx.lm.http import HTTPReply\nfrom rlmx.lm.openai import _refusal_of\n"
        "listed = [f'x_{i}' for i in range(22)]\n"
        "said = ('Unrecognized key(s) in object: ' + ', '.join(listed)).encode()\n"
        "reply = HTTPReply(400, {'content-type': 'text/plain'}, said)\n"
        "asked = ['temperature', 'top_p', 'seed', 'x_0', 'x_10', *(f'param_{i}' for i in range(35))]\n"
        "print(sum(_refusal_of(reply, name) > 0 for name in asked))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr  # x_0 and x_10, listed; the rest not


async def test_a_passing_5xx_that_names_a_field_is_retried_not_read_as_a_refusal() -> None:
    """A 503 "Tools are currently not available, please try again later" names `tools` in a fault that passes: it is
    retried as any 5xx, and nothing is dropped or refused for good."""
    passing = {"error": {"message": "Tools are currently not available, please try again later.", "code": 503}}
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    with refusing({"tools"}, 503, lambda body: passing) as server:
        lm = OpenAICompatibleLM("m", server.base_url, api_key="k", max_retries=1, tools=tools)
        with pytest.raises(LMServerError):
            await lm.complete(MESSAGES)
        assert len(server.requests) == 2 and not lm.unsupported_params


async def test_a_500_saying_a_param_is_currently_not_supported_is_a_refusal_not_a_passing_fault() -> None:
    # "currently" reads as passing in "currently unavailable", but "X is currently not supported" is a refusal:
    # cured by one resend without X, not max_retries resends of the same request
    message = "Parameter 'logprobs' is currently not supported"
    said = {"error": {"code": 500, "message": message, "type": "server_error"}}
    with refusing({"logprobs"}, 500, lambda _: said) as server:
        lm = OpenAICompatibleLM("m", server.base_url, logprobs=True)
        assert (await lm.complete(MESSAGES)).text == "ok"
        assert sent(server, {"logprobs"}) == [["logprobs"], []] and lm.unsupported_params == {"logprobs"}
