"""A model's calls on a turn that is not the assistant's are a 400 naming the field (carried from audit 72 serve):
only an assistant turn's `tool_calls` and `function_call` reach the transcript, so a user or tool turn's calls were
dropped without a word while the request answered 200. An empty list is as good as absent, as clients send."""

from __future__ import annotations

from typing import Any

import pytest

from rlmx.server.openai_compat import RequestError, parse

CALL = {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
QUESTION = {"role": "user", "content": "weather?"}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": "hi", "tool_calls": [CALL]}, "tool_calls"),
        ({"role": "system", "content": "be brief", "tool_calls": [CALL]}, "tool_calls"),
        ({"role": "tool", "content": "sunny", "tool_call_id": "c1", "tool_calls": [CALL]}, "tool_calls"),
        ({"role": "user", "content": "hi", "function_call": {"name": "w", "arguments": "{}"}}, "function_call"),
        ({"role": "user", "content": "hi", "tool_calls": "w"}, "tool_calls"),
    ],
)
def test_calls_on_a_turn_of_another_role_are_a_400(message: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse({"messages": [QUESTION, message]})
    assert raised.value.status == 400 and raised.value.param == f"messages[1].{field}"
    assert f"messages[1].{field} belongs on an assistant message" in raised.value.message
    assert f"not a {message['role']} message" in raised.value.message


def test_an_empty_or_null_call_list_on_a_user_turn_is_as_good_as_none() -> None:
    for extra in ({"tool_calls": []}, {"tool_calls": None}, {"function_call": None}):
        parse({"messages": [{**QUESTION, **extra}]})
    parse({"messages": [QUESTION, {"role": "assistant", "content": None, "tool_calls": [CALL]}]})
