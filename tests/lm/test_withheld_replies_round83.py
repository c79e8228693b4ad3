"""A sub-call the model refused, or a content filter stopped, is the model's answer to that prompt, not a broken
LM: a run its root then finishes is finished, through OpenAICompatibleLM on a real HTTP server on 127.0.0.1. A run
whose every sub-call met a server that cannot answer is still an LM failure."""

from __future__ import annotations

from fake_openai_server import FakeOpenAIServer, Reply, completion_body, usage
from rlmx import RLM
from rlmx.errors import LMBadResponse
from rlmx.lm import OpenAICompatibleLM, ScriptedLM

ASK_THEN_FINISH = [
    "```repl\ntry:\n    said = llm_query('Summarise: ' + context)\nexcept RuntimeError as exc:\n    said = str(exc)\n"
    "print(said[:80])\n```",
    "```repl\nFINAL(context.split()[-1])\n```",
]


def _run(server: FakeOpenAIServer) -> object:
    sub = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, max_retries=0)
    return RLM(ScriptedLM(list(ASK_THEN_FINISH)), sub_lm=sub).completion(
        "What is the last word?", context="alpha beta gamma"
    )


def test_a_run_whose_only_sub_call_was_refused_is_finished_with_the_roots_answer(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body(None, usage=usage(9, 4), refusal="I'm sorry, I can't help with that.")))
    result = _run(server)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_a_content_filter_stop_is_the_models_answer_too(server: FakeOpenAIServer) -> None:
    server.script(Reply(body=completion_body(None, usage=usage(9, 0), finish_reason="content_filter")))
    result = _run(server)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_a_prompt_the_filter_blocked_is_withheld(server: FakeOpenAIServer) -> None:
    blocked = {"id": "x", "object": "chat.completion", "choices": [], "promptFeedback": {"blockReason": "SAFETY"}}
    server.script(Reply(body=blocked))
    result = _run(server)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_a_sub_lm_that_cannot_answer_still_makes_the_run_an_lm_failure(server: FakeOpenAIServer) -> None:
    server.script(Reply(status=500, body={"error": {"message": "model not loaded"}}))
    result = _run(server)
    assert (result.answer, result.status) == ("gamma", "error")
    assert "every sub-call failed" in result.stop_reason


async def test_the_error_says_it_was_withheld_and_survives_pickling(server: FakeOpenAIServer) -> None:
    import pickle

    server.script(Reply(body=completion_body(None, usage=usage(9, 4), refusal="No.")))
    lm = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, max_retries=0)
    try:
        await lm.complete([{"role": "user", "content": "q"}])
    except LMBadResponse as exc:
        assert exc.withheld and "refused" in str(exc)
        assert pickle.loads(pickle.dumps(exc)).withheld
    else:
        raise AssertionError("a refusal must raise LMBadResponse")
    finally:
        await lm.aclose()
