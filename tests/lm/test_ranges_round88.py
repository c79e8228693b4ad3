"""What rlmx learns from a server's refusal of a sampling value (audit 88l). The range learned kept an exclusive bound
only as a value 0.01 inside it, so a later value the server takes was moved (TGI's "< 1.0": 0.995 went out as 0.99);
a bound written for another field of the same message was read as the knob's (pydantic's one-line error list, a
gateway's comma-joined errors); a range known on one side hid the other ("no bound" read as "inside"); a range the
server named under a condition was kept for every later call; and two wordings were not read at all (OpenAI's with
no `param`, FastChat's bound before the name). Each server here judges the values it gets, as the real one does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM

MESSAGES: list[Message] = [{"role": "user", "content": "Say hi."}]
Judge = Callable[[dict[str, Any]], Reply | None]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def _sent(server: FakeOpenAIServer, name: str, since: int = 0) -> list[Any]:
    return [request.body.get(name, "absent") for request in server.requests[since:]]


def _tgi(body: dict[str, Any]) -> Reply | None:
    top_p = body.get("top_p")
    if top_p is not None and not 0 < top_p < 1:
        return Reply(
            422, {"error": "Input validation error: `top_p` must be > 0.0 and < 1.0", "error_type": "validation"}
        )
    return None


def _vertex(body: dict[str, Any]) -> Reply | None:
    value = body.get("temperature")
    if value is not None and not 0 <= value < 2.0001:
        said = (
            f"Unable to submit request because it has a temperature value of {value} but the supported range is from 0 "
            "(inclusive) to 2.0001 (exclusive). Update the value and try again."
        )
        return Reply(400, json.dumps([{"error": {"code": 400, "message": said, "status": "INVALID_ARGUMENT"}}]))
    return None


@pytest.mark.parametrize(
    ("judge", "name", "refused", "sent_for_it", "later"),
    [
        (_tgi, "top_p", 1.0, "absent", 0.995),  # the off value left out; 0.995 lies inside "< 1.0"
        (_tgi, "top_p", 1.5, 0.99, 0.995),
        (_vertex, "temperature", 3, 2, 2.0),  # 2.0 lies inside "to 2.0001 (exclusive)"
        (_vertex, "temperature", 2.5, 2.0, 1.9999),
    ],
)
async def test_a_learned_exclusive_bound_keeps_a_later_value_inside_it_as_asked(
    server: FakeOpenAIServer, judge: Judge, name: str, refused: float, sent_for_it: Any, later: float
) -> None:
    server.behaviour = Behaviour(route=judge)
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    await lm.complete(MESSAGES, **{name: refused})
    assert _sent(server, name) == [refused, sent_for_it]
    await lm.complete(MESSAGES, **{name: later})
    assert _sent(server, name, 2) == [later]  # sent as asked, and taken: no second request


def _pydantic_list(body: dict[str, Any]) -> Reply | None:
    """vLLM's and SGLang's validation error: pydantic's list as one line of Python, every field's error in it."""
    errors = []
    if body.get("temperature", 0) > 2:
        errors.append(
            {
                "type": "less_than_equal",
                "loc": ("body", "temperature"),
                "msg": "Input should be less than or equal to 2",
                "input": body["temperature"],
                "ctx": {"le": 2.0},
            }
        )
    if body.get("seed", 0) < 0:
        errors.append(
            {
                "type": "greater_than_equal",
                "loc": ("body", "seed"),
                "msg": "Input should be greater than or equal to 0",
                "input": body["seed"],
                "ctx": {"ge": 0},
            }
        )
    if body.get("top_k", 1) < 1:
        errors.append(
            {
                "type": "greater_than_equal",
                "loc": ("body", "top_k"),
                "msg": "Input should be greater than or equal to 1",
                "input": body["top_k"],
                "ctx": {"ge": 1},
            }
        )
    return (
        Reply(400, {"object": "error", "message": str(errors), "type": "BadRequestError", "code": 400})
        if errors
        else None
    )


def _joined(body: dict[str, Any]) -> Reply | None:
    """A gateway listing every failure in one sentence, comma-joined."""
    failures = []
    if body.get("frequency_penalty", 0) > 2:
        failures.append("frequency_penalty must be less than or equal to 2")
    if body.get("top_k", 1) < 1:
        failures.append("top_k must be greater than or equal to 1")
    return Reply(400, error_body("Validation failed: " + ", ".join(failures))) if failures else None


@pytest.mark.parametrize(
    ("judge", "name", "first", "later"),
    [
        (_pydantic_list, "temperature", {"temperature": 3, "top_k": 0}, [0.2, 1.5]),
        (_pydantic_list, "temperature", {"temperature": 3, "seed": -1}, [-0.5]),  # not raised to seed's 0
        (_joined, "frequency_penalty", {"frequency_penalty": 3, "top_k": 0}, [0.5, -0.5]),
    ],
)
async def test_a_bound_written_for_another_field_of_the_message_is_not_the_knobs(
    server: FakeOpenAIServer, judge: Judge, name: str, first: dict[str, Any], later: list[float]
) -> None:
    server.behaviour = Behaviour(route=judge)
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    with pytest.raises(Exception):  # noqa: B017 - the other field stays the caller's to fix
        await lm.complete(MESSAGES, **first)
    assert lm.value_ranges == {name: (None, 2.0)}
    since = len(server.requests)
    for value in later:
        await lm.complete(MESSAGES, **{name: value})
    assert _sent(server, name, since) == later


def _openai(body: dict[str, Any]) -> Reply | None:
    for name, least, most in (("temperature", 0, 2), ("frequency_penalty", -2, 2)):
        value = body.get(name)
        if value is not None and not least <= value <= most:
            side, sign, bound = ("above maximum", "<=", most) if value > most else ("below minimum", ">=", least)
            said = f"Invalid '{name}': decimal {side} value. Expected a value {sign} {bound}, but got {value} instead."
            return Reply(400, error_body(said, param=name))
    return None


@pytest.mark.parametrize(
    ("name", "high", "low", "sent_low"), [("temperature", 3, -0.5, 0), ("frequency_penalty", 3, -3, -2)]
)
async def test_a_side_with_no_bound_yet_is_learned_from_a_refusal_past_it(
    server: FakeOpenAIServer, name: str, high: float, low: float, sent_low: float
) -> None:
    server.behaviour = Behaviour(route=_openai)
    lm = OpenAICompatibleLM("gpt-4o", server.base_url, max_retries=0)
    await lm.complete(MESSAGES, **{name: high})
    await lm.complete(MESSAGES, **{name: low})  # was an error: (None, 2) "held" the value
    assert _sent(server, name) == [high, 2, low, sent_low]
    assert lm.value_ranges[name] == (sent_low, 2)


async def test_a_refusal_naming_ever_narrower_ranges_still_ends(server: FakeOpenAIServer) -> None:
    narrower = iter(range(100, 0, -1))
    server.behaviour = Behaviour(
        route=lambda body: Reply(400, error_body(f"temperature must be at most {next(narrower) / 100}"))
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    with pytest.raises(Exception, match="at most"):
        await lm.complete(MESSAGES, temperature=1.5)
    assert len(server.requests) == 2  # a learned side is never moved: refused again inside it, an error


def _thinking(body: dict[str, Any]) -> Reply | None:
    if body.get("thinking") and body.get("top_p", 1) < 0.95:
        said = "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled"
        return Reply(400, {"type": "error", "error": {"type": "invalid_request_error", "message": said}})
    return None


async def test_a_range_named_under_a_condition_holds_for_that_call_only(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(route=_thinking)
    lm = OpenAICompatibleLM("claude-sonnet-4-5", server.base_url, max_retries=0)
    await lm.complete(MESSAGES, top_p=0.9, extra_body={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    assert _sent(server, "top_p") == [0.9, 0.95]
    await lm.complete(MESSAGES, top_p=0.9)
    assert _sent(server, "top_p", 2) == [0.9] and lm.value_ranges == {}


def _litellm(body: dict[str, Any]) -> Reply | None:
    value = body.get("temperature")
    if value is None or value <= 2:
        return None
    said = f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {value} instead."
    inner = {"error": {"message": said, "type": "invalid_request_error", "param": "temperature"}}
    relayed = f"litellm.BadRequestError: OpenAIException - Error code: 400 - {inner}\nReceived Model Group=gpt-4o"
    return Reply(400, {"error": {"message": relayed, "type": None, "param": None, "code": "400"}})


def _fastchat(body: dict[str, Any]) -> Reply | None:
    for name, least, most in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(name)
        if value is not None and value > most:
            return Reply(
                400,
                {
                    "object": "error",
                    "message": f"{float(value)} is greater than the maximum of {most} - '{name}'",
                    "code": 40302,
                },
            )
        if value is not None and value < least:
            return Reply(
                400,
                {
                    "object": "error",
                    "message": f"{float(value)} is less than the minimum of {least} - '{name}'",
                    "code": 40302,
                },
            )
    return None


@pytest.mark.parametrize(
    ("judge", "name", "value", "sent_again"),
    [
        (_litellm, "temperature", 3, 2),
        (
            lambda body: (
                Reply(
                    400,
                    error_body(
                        "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead."
                    ),
                )
                if body.get("top_p", 0) > 1
                else None
            ),
            "top_p",
            1.5,
            1.0,
        ),
        (_fastchat, "temperature", 3.0, 2.0),
        (_fastchat, "top_p", 1.5, 1.0),
        (_fastchat, "temperature", -1.0, 0.0),
    ],
)
async def test_openais_wording_without_its_param_and_a_bound_before_the_name_are_read(
    server: FakeOpenAIServer, judge: Judge, name: str, value: float, sent_again: float
) -> None:
    server.behaviour = Behaviour(route=judge)
    lm = OpenAICompatibleLM("gpt-4o", server.base_url, max_retries=0)
    await lm.complete(MESSAGES, **{name: value})
    assert _sent(server, name) == [value, sent_again]
