"""A server that requires an output cap (an Anthropic-style backend behind a pydantic proxy: 400 "max_tokens: Field
required") gets one. With no budget rlmx sends no cap, and every call failed on the server's error; now the request
is sent again with a roomy cap (lowered where the server names a lower limit), and later calls send it at once."""

from __future__ import annotations

from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, completion_body, error_body
from rlmx import RLM
from rlmx.errors import LMError
from rlmx.lm import OpenAICompatibleLM
from rlmx.lm.openai import REQUIRED_CAP_TOKENS

pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")
MESSAGES: Any = [{"role": "user", "content": "hi"}]
PYDANTIC = {"detail": [{"type": "missing", "loc": ["body", "max_tokens"], "msg": "Field required", "input": None}]}


@pytest.mark.parametrize(
    "refusal",
    [PYDANTIC, error_body("max_tokens: Field required"), error_body("Missing required parameter: 'max_tokens'.")],
)
async def test_a_server_that_requires_a_cap_gets_one_and_keeps_getting_it(
    server: FakeOpenAIServer, refusal: dict[str, Any]
) -> None:
    server.script(
        Reply(status=400, body=refusal),
        Reply(body=completion_body("one")),
        Reply(body=completion_body("two")),
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "one"
    assert (await lm.complete(MESSAGES)).text == "two"
    sent = [request.body.get("max_tokens") for request in server.requests]
    assert sent == [None, REQUIRED_CAP_TOKENS, REQUIRED_CAP_TOKENS]


async def test_the_cap_is_lowered_to_the_limit_the_server_names(server: FakeOpenAIServer) -> None:
    server.script(
        Reply(status=400, body=PYDANTIC),
        Reply(status=400, body=error_body("max_tokens must be <= 4096")),
        Reply(body=completion_body("ok")),
    )
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "ok"
    assert [request.body.get("max_tokens") for request in server.requests] == [None, REQUIRED_CAP_TOKENS, 4096]


async def test_a_field_required_about_something_else_is_still_the_servers_error(server: FakeOpenAIServer) -> None:
    server.script(Reply(status=400, body=error_body("messages.0.role: Field required")))
    with pytest.raises(LMError, match="Field required"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
    assert len(server.requests) == 1


def test_a_run_with_no_budget_works_on_such_a_server(server: FakeOpenAIServer) -> None:
    server.script(Reply(status=400, body=PYDANTIC), Reply(body=completion_body("```repl\nFINAL(len(context))\n```")))
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("How long?", context="abcd")
    assert result.answer == "4"


async def test_the_cap_goes_under_the_name_the_server_asks_for(server: FakeOpenAIServer) -> None:
    missing = {"detail": [{"type": "missing", "loc": ["body", "max_completion_tokens"], "msg": "Field required"}]}
    server.script(Reply(status=422, body=missing), Reply(body=completion_body("ok")))
    lm = OpenAICompatibleLM("m", server.base_url, max_retries=0)
    assert (await lm.complete(MESSAGES)).text == "ok"
    sent = [sorted(k for k in request.body if k.endswith("tokens")) for request in server.requests]
    assert sent == [[], ["max_completion_tokens"]]


async def test_a_refusal_of_the_chosen_cap_says_rlmx_chose_it(server: FakeOpenAIServer) -> None:
    too_large = error_body("The value of max_tokens is too large; the maximum for this model is 1024.")
    server.script(Reply(status=400, body=PYDANTIC), Reply(status=400, body=too_large))
    with pytest.raises(LMError, match="rlmx chose because the server requires a cap and none was set"):
        await OpenAICompatibleLM("m", server.base_url, max_retries=0).complete(MESSAGES)
