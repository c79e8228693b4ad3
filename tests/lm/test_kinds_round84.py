"""Audit 84's kinds, each through the public API: a prose FINAL that names a REPL variable (ScriptedLM); content
filters, cap refusals and provider-billed overshoots through OpenAICompatibleLM on a real HTTP server on 127.0.0.1
(tests/fake_openai_server.py)."""

from __future__ import annotations

from typing import Any

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, completion_body, error_body, usage
from rlmx import RLM, Budget
from rlmx.errors import LMBadResponse, LMRequestError
from rlmx.lm import OpenAICompatibleLM, ScriptedLM
from rlmx.protocol import parse_reply

WORDS = "alpha beta gamma"


def _root(*replies: str, iterations: int = 4) -> object:
    return RLM(ScriptedLM(list(replies)), budget=Budget(max_iterations=iterations)).completion(
        "Which word comes last?", context=WORDS
    )


# --- a prose FINAL of one bare name --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line", ["FINAL(tail)", "FINAL( tail )", "FINAL(`tail`)", "**Final answer:** FINAL(tail)", "FINAL(tail)."]
)
def test_a_prose_final_naming_a_bound_variable_gives_its_value(line: str) -> None:
    result = _root("```repl\ntail = context.split()[-1]\nprint(tail)\n```", line)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_a_value_that_is_not_text_comes_back_as_the_value() -> None:
    result = _root("```repl\ncounted = len(context.split())\nprint(counted)\n```", "FINAL(counted)")
    assert (result.answer, result.value) == ("3", 3)


@pytest.mark.parametrize(
    ("line", "answer"),
    [("FINAL(Paris)", "Paris"), ("FINAL(42)", "42"), ('FINAL("tail")', "tail"), ("FINAL(“tail”)", "tail")],
)
def test_real_prose_answers_and_quoted_names_stay_text(line: str, answer: str) -> None:
    result = _root("```repl\ntail = context.split()[-1]\nprint(tail)\n```", line)
    assert (result.answer, result.answer_source) == (answer, "prose")


@pytest.mark.parametrize(
    ("setup", "line", "answer"),
    [
        ("def shout(x):\n    return x.upper()", "FINAL(shout)", "shout"),
        ("import re", "FINAL(re)", "re"),
        ("x = 1", "FINAL(llm_query)", "llm_query"),
        ("x = 1", "FINAL(True)", "True"),
    ],
)
def test_a_name_bound_to_code_or_no_variable_stays_text(setup: str, line: str, answer: str) -> None:
    result = _root(f"```repl\n{setup}\nprint('ok')\n```", line)
    assert (result.answer, result.answer_source) == (answer, "prose")


def test_a_bare_name_after_the_code_that_binds_it_in_the_same_reply_gives_its_value() -> None:
    result = _root("```repl\nlast = context.split()[-1]\nprint(last)\n```\nFINAL(last)")
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_an_unbound_name_next_to_code_is_still_held_to_its_output() -> None:
    result = _root("```repl\nprint(context.split()[-1])\n```\nFINAL(delta)", "FINAL(gamma)")
    assert result.answer == "gamma" and result.iterations == 2


def test_on_the_last_turn_a_bare_name_is_read_after_the_replys_blocks_ran() -> None:
    result = _root(
        "```repl\nprint(len(context))\n```",
        "```repl\nlast = context.split()[-1]\n```\nFINAL(last)",
        iterations=1,
    )
    assert result.answer == "gamma", result.stop_reason


def test_the_parser_marks_which_finals_name_a_variable() -> None:
    def names(text: str) -> bool:
        final = parse_reply(text).final
        return final is not None and final.names_variable

    assert names("FINAL(result)") and names("FINAL( result )") and names("FINAL(`result`)")
    assert not names('FINAL("result")') and not names("FINAL(New York)") and not names("FINAL(None)")
    assert not names("FINAL_VAR(result)") and not names("FINAL(42)")


# --- a content filter's stop or refusal of a sub-call is withheld, not a broken LM ---------------------------------
ASK_THEN_FINISH = [
    "```repl\ntry:\n    said = llm_query('Sum up: ' + context)\nexcept RuntimeError as exc:\n    said = str(exc)\n"
    "print(said[:60])\n```",
    "```repl\nFINAL(context.split()[-1])\n```",
]
AZURE_PROMPT_FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {"hate": {"filtered": True}}},
    }
}
OPENAI_INVALID_PROMPT = {
    "error": {
        "message": "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_prompt",
    }
}
OPENROUTER_MODERATION = {
    "error": {
        "code": 403,
        "message": 'openai/gpt-4o requires moderation on OpenAI. Your input was flagged for "violence". No credits '
        "were charged.",
        "metadata": {"reasons": ["violence"], "provider_name": "OpenAI"},
    }
}


def _asking_run(server: FakeOpenAIServer) -> Any:
    sub = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, api_key="sk-test", max_retries=1)
    return RLM(ScriptedLM(list(ASK_THEN_FINISH)), sub_lm=sub).completion("Last word?", context=WORDS)


@pytest.mark.parametrize("stop", ["content_filter", "guardrail_intervened", "sensitive"])
def test_a_sub_call_a_filter_stopped_part_way_leaves_a_finished_run_finished(
    server: FakeOpenAIServer, stop: str
) -> None:
    server.script(Reply(body=completion_body("The summary begins wi", usage=usage(20, 5), finish_reason=stop)))
    result = _asking_run(server)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, AZURE_PROMPT_FILTERED),
        (400, OPENAI_INVALID_PROMPT),
        (403, OPENROUTER_MODERATION),
        (200, OPENROUTER_MODERATION),
    ],
)
def test_a_sub_call_whose_prompt_a_filter_refused_leaves_a_finished_run_finished(
    server: FakeOpenAIServer, status: int, body: dict[str, Any]
) -> None:
    server.script(Reply(status, body))
    result = _asking_run(server)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason
    assert len(server.requests) == 1  # refused once, not sent again


async def test_a_filter_refusal_keeps_its_class_and_says_it_was_withheld(server: FakeOpenAIServer) -> None:
    lm = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, api_key="sk-test", max_retries=0)
    server.script(Reply(400, AZURE_PROMPT_FILTERED))
    with pytest.raises(LMRequestError, match="content filter") as refused:
        await lm.complete([{"role": "user", "content": "q"}])
    assert refused.value.withheld
    server.script(Reply(body=completion_body("Half a sent", usage=usage(9, 3), finish_reason="content_filter")))
    with pytest.raises(LMBadResponse) as cut:
        await lm.complete([{"role": "user", "content": "q"}])
    assert cut.value.withheld and cut.value.reasoning_only is not None


@pytest.mark.parametrize(
    "said",
    ["The request is blocked.", "Invalid value for 'temperature': must be at most 2", "model not found"],
)
async def test_other_refusals_are_not_withheld(server: FakeOpenAIServer, said: str) -> None:
    server.script(Reply(400, error_body(said)))
    lm = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(LMRequestError) as refused:
        await lm.complete([{"role": "user", "content": "q"}])
    assert not refused.value.withheld


def test_a_sub_lm_that_rejects_every_request_still_fails_the_run(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("Invalid value for 'temperature': must be at most 2")))
    result = _asking_run(server)
    assert (result.answer, result.status) == ("gamma", "error")


# --- root replies a content filter stopped are not blamed on the output cap ----------------------------------------
def _root_over_http(server: FakeOpenAIServer, iterations: int) -> Any:
    root = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, api_key="sk-test", max_retries=0)
    return RLM(root, budget=Budget(max_iterations=iterations)).completion("Last word?", context=WORDS)


def test_root_replies_a_filter_stopped_are_named_as_filtered_not_as_cut_at_the_cap(server: FakeOpenAIServer) -> None:
    block = "Looking.\n```repl\nprint(context.split()[-1])\n```"
    server.script(
        *[Reply(body=completion_body(block, usage=usage(30, 12), finish_reason="content_filter")) for _ in range(2)],
        Reply(body=completion_body("gamma", usage=usage(40, 2))),
    )
    result = _root_over_http(server, 2)
    assert result.answer == "gamma"
    assert "content filter" in result.stop_reason
    assert "output cap" not in result.stop_reason and "max_tokens" not in result.stop_reason


def test_replies_a_filter_stopped_before_any_code_stop_the_turns_early_and_say_why(server: FakeOpenAIServer) -> None:
    server.script(
        *[Reply(body=completion_body("I will sta", usage=usage(30, 3), finish_reason="content_filter")) for _ in "abc"],
        Reply(body=completion_body("FINAL(gamma)", usage=usage(40, 2))),
    )
    result = _root_over_http(server, 8)
    assert result.answer == "gamma" and result.iterations == 3
    assert result.stop_reason.startswith("content filter:") and "max_tokens" not in result.stop_reason


def test_replies_cut_at_the_cap_still_get_the_cap_advice(server: FakeOpenAIServer) -> None:
    block = "Looking.\n```repl\nprint(context.split()[-1])\n```"
    server.script(
        Reply(body=completion_body(block, usage=usage(30, 12), finish_reason="length")),
        Reply(body=completion_body(block, usage=usage(30, 12), finish_reason="content_filter")),
        Reply(body=completion_body("gamma", usage=usage(40, 2))),
    )
    result = _root_over_http(server, 2)
    assert "1 of the root's 2 replies stopped at the output cap" in result.stop_reason
    assert "1 of the root's 2 replies were stopped part-way by the server's content filter" in result.stop_reason


# --- SambaNova's refusal of the generation length is a cap to fit ---------------------------------------------------
@pytest.mark.parametrize(
    "said",
    [
        "Requested generation length 4096 is not possible! The provided prompt is 140 tokens long, so generating 4096 "
        "tokens requires a sequence length of 4236, but the maximum supported sequence length is just 4096!",
        "The maximum context length of Meta-Llama-3.1-8B-Instruct is 4096. However, answering your request will take "
        "4236 tokens. Please reduce the length of the messages or the specified max_completion_tokens value.",
    ],
)
async def test_a_generation_length_the_window_cannot_hold_is_lowered_to_fit(
    server: FakeOpenAIServer, said: str
) -> None:
    server.script(Reply(400, error_body(said)), Reply(body=completion_body("fine", usage=usage(140, 2))))
    lm = OpenAICompatibleLM(
        "sambanova-model", base_url=server.base_url, api_key="sk-test", max_retries=0, max_tokens=4096
    )
    assert (await lm.complete([{"role": "user", "content": "q"}])).text == "fine"
    assert [r.body.get("max_tokens") for r in server.requests] == [4096, 4096 - 140]


async def test_a_prompt_longer_than_the_sequence_length_is_named_as_such(server: FakeOpenAIServer) -> None:
    said = (
        "Requested generation length 1 is not possible! The provided prompt is 4309 tokens long, so generating 1 "
        "tokens requires a sequence length of 4310, but the maximum supported sequence length is just 4096!"
    )
    server.script(Reply(400, error_body(said)))
    lm = OpenAICompatibleLM(
        "sambanova-model", base_url=server.base_url, api_key="sk-test", max_retries=0, max_tokens=64
    )
    with pytest.raises(LMRequestError, match=r"prompt alone \(4,?309 tokens\)"):
        await lm.complete([{"role": "user", "content": "q"}])
    assert len(server.requests) == 1


# --- a USD overshoot the provider's own cost caused names the price, not the tokens --------------------------------
def test_a_provider_cost_above_the_list_price_is_named_as_the_overshoots_cause(server: FakeOpenAIServer) -> None:
    billed = {**usage(1000, 100), "cost": 0.02}
    server.script(
        Reply(body=completion_body("```repl\nprint(len(context))\n```", model="openai/gpt-4o-mini", usage=billed))
    )
    root = OpenAICompatibleLM("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", max_retries=0)
    result = RLM(root, budget=Budget(max_usd=1, max_iterations=4)).completion("Length?", context=WORDS)
    assert result.usage.cost_usd >= 0.02 and result.status == "budget_exhausted"
    assert "provider reported that cost" in result.stop_reason and "per_request" in result.stop_reason
    assert "ignored the cap" not in result.stop_reason and "upper bound" not in result.stop_reason


def test_tokens_over_the_reservation_still_blame_the_tokens(server: FakeOpenAIServer) -> None:
    server.script(
        Reply(body=completion_body("```repl\nprint(1)\n```", model="openai/gpt-4o-mini", usage=usage(90_000, 10)))
    )
    root = OpenAICompatibleLM("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", max_retries=0)
    result = RLM(root, budget=Budget(max_usd=1, max_iterations=4)).completion("Length?", context=WORDS)
    assert "90,000 input" in result.stop_reason and "counts more than rlmx's upper bound" in result.stop_reason


@pytest.mark.parametrize("name", ["final_answer", "answer_text", "my_answer"])
def test_a_bound_name_that_reads_like_the_placeholder_is_the_variable(name: str) -> None:
    result = _root(f"```repl\n{name} = context.split()[-1]\nprint({name})\n```", f"FINAL({name})", iterations=2)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_the_placeholder_with_nothing_bound_under_it_is_still_sent_back() -> None:
    result = _root("```repl\nprint(len(context))\n```", "FINAL(final_answer)", "FINAL(gamma)")
    assert result.answer == "gamma" and result.iterations == 3


class _FilteredThoughtFirst(ScriptedLM):
    """The first reply is reasoning a content filter stopped (no text); the rest are scripted."""

    async def complete(self, messages: Any, **params: Any) -> Any:
        from rlmx.lm.base import Completion, Usage

        if not self.calls:
            self.calls.append(list(messages))
            return Completion("", Usage(20, 8), "m", "content_filter", reasoning="Let me think about th")
        return await super().complete(messages, **params)


def test_reasoning_a_filter_stopped_is_told_to_the_model_as_the_filters_not_the_limits() -> None:
    root = _FilteredThoughtFirst(["FINAL(gamma)"])
    result = RLM(root, budget=Budget(max_iterations=4)).completion("Last word?", context=WORDS)
    told = root.calls[1][-1]["content"]
    assert result.answer == "gamma"
    assert "content filter" in told and "output limit" not in told
