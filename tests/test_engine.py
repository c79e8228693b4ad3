"""Engine behaviour with a ScriptedLM and the real subprocess sandbox."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget, LMServerError, Result
from rlmx import context as context_module
from rlmx.lm import Completion, Message, ScriptedLM
from rlmx.prompts import FORCED_SYSTEM
from scripting import last_user, repl, router, turn_of


async def run(replies: list[str], *, context: object = "hello world", **options: object) -> tuple[Result, ScriptedLM]:
    lm = ScriptedLM(replies)
    rlm = RLM(lm, **options)  # type: ignore[arg-type]
    return await rlm.acompletion("What is asked?", context=context), lm


@pytest.mark.parametrize(
    ("reply", "source"),
    [
        (repl("answer['content'] = context.upper()\nanswer['ready'] = True"), "answer"),
        (repl("FINAL(context.upper())"), "final"),
        (repl("shout = context.upper()\nFINAL_VAR('shout')"), "final_var"),
        ("```python\nFINAL(context.upper())\n```", "final"),
        ("```py\nFINAL(context.upper())\n```", "final"),
        ("I know it.\nFINAL(HELLO WORLD)", "prose"),
    ],
)
async def test_every_finishing_protocol(reply: str, source: str) -> None:
    result, _ = await run([reply])
    assert (result.answer, result.status, result.answer_source) == ("HELLO WORLD", "finished", source)


async def test_final_var_in_prose_reads_the_repl_variable() -> None:
    result, _ = await run([repl("shout = context.upper()"), "FINAL_VAR(shout)"])
    assert (result.answer, result.answer_source, result.iterations) == ("HELLO WORLD", "final_var", 2)


async def test_prose_final_after_cells_runs_the_cells_first() -> None:
    result, lm = await run([repl("n = len(context)") + "\nFINAL_VAR(n)"])
    assert (result.answer, len(lm.calls)) == ("11", 1)


async def test_a_prose_final_after_a_failing_cell_is_not_taken() -> None:
    """A FINAL written in the same reply as code that then fails was a guess: the model sees the error instead."""
    result, lm = await run([repl("w = context.split()[5]") + "\nFINAL(delta)", repl("FINAL(context.split()[-1])")])
    assert (result.answer, result.iterations) == ("world", 2)
    told = last_user(lm.calls[1])
    assert "IndexError" in told and "FINAL(...) line was not accepted" in told


async def test_a_prose_submit_runs_as_the_call_it_is() -> None:
    result, _ = await run([repl("n = len(context)") + "\nSUBMIT(word='hello', count=n)"])
    assert (result.answer_source, result.value, result.iterations) == ("submit", {"word": "hello", "count": 11}, 1)


async def test_submit_returns_fields() -> None:
    result, _ = await run([repl("SUBMIT(word=context.split()[0], count=2)")])
    assert result.answer_source == "submit"
    assert result.value == {"word": "hello", "count": 2}
    assert json.loads(result.answer) == {"word": "hello", "count": 2}


async def test_answer_without_ready_does_not_finish() -> None:
    result, lm = await run([repl("answer['content'] = 'draft'"), repl("answer['ready'] = True")])
    assert (result.answer, len(lm.calls)) == ("draft", 2)


async def test_final_var_of_a_missing_variable_is_reported_to_the_model() -> None:
    result, lm = await run([repl("FINAL_VAR('nope')"), repl("FINAL(1)")])
    assert "no variable named 'nope'" in last_user(lm.calls[1])
    assert result.answer == "1"


async def test_reply_without_code_gets_explicit_feedback() -> None:
    result, lm = await run(["Let me think about it.", repl("FINAL('ok')")])
    feedback = last_user(lm.calls[1])
    assert "no ```repl block" in feedback and "FINAL(" in feedback
    assert result.answer == "ok"


async def test_cell_errors_come_back_with_the_failing_line() -> None:
    _, lm = await run([repl("x = 1\ny = x / 0"), repl("FINAL(x)")])
    feedback = last_user(lm.calls[1])
    assert "ZeroDivisionError" in feedback and "y = x / 0" in feedback


async def test_last_expression_is_shown_and_state_persists() -> None:
    _, lm = await run([repl("words = context.split()\nlen(words)"), repl("FINAL(words[1])")])
    assert "2" in last_user(lm.calls[1])


async def test_iterations_exhausted_asks_once_for_the_answer_and_never_returns_code() -> None:
    loop = repl("print('still looking')")
    result, lm = await run(
        [loop, loop, "```repl\nprint('more code')\n```\nThe answer is 42."], budget=Budget(max_iterations=2)
    )
    assert len(lm.calls) == 3
    assert "FINAL(your answer)" in last_user(lm.calls[2])
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_iterations")
    assert result.answer == "The answer is 42."
    assert "```" not in result.answer and "print(" not in result.answer


async def test_iterations_exhausted_prefers_the_answer_buffer_over_code() -> None:
    loop = repl("answer['content'] = 'partial 7'")
    result, _ = await run([loop, "```repl\nprint('x')\n```"], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("partial 7", "answer_buffer")


async def test_output_is_truncated_keeping_head_and_tail() -> None:
    _, lm = await run([repl("print('A' * 5000 + 'B' * 100_000 + 'C' * 5000)"), repl("FINAL(1)")])
    feedback = last_user(lm.calls[1])
    assert feedback.count("A") >= 5000 and feedback.count("C") >= 5000
    cut = int(re.search(r"\[([\d,]+) characters cut\]", feedback).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert cut == 110_001 - 20_000  # print adds a newline
    assert len(feedback) < 21_000


async def test_repl_environment_holds_no_host_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-123")
    monkeypatch.setenv("RLM_FAKE_API_KEY", "fake-secret-456")
    result, _ = await run(
        [repl("import os\nFINAL(json.dumps(dict(os.environ)) if (json := __import__('json')) else '')")]
    )
    environment = json.loads(result.answer)
    assert "OPENAI_API_KEY" not in environment and "RLM_FAKE_API_KEY" not in environment
    assert "secret" not in result.answer
    assert os.environ["OPENAI_API_KEY"] == "sk-host-secret-123"


async def test_python_loop_hits_the_soft_timeout_and_keeps_variables() -> None:
    started = time.monotonic()
    result, lm = await run(
        [repl("kept = 41\nwhile True:\n    pass"), repl("FINAL(kept + 1)")], budget=Budget(cell_timeout=1)
    )
    assert "TimeoutError" in last_user(lm.calls[1])
    assert result.answer == "42"
    assert time.monotonic() - started < 10


@pytest.mark.slow
async def test_c_level_loop_is_hard_killed_and_the_worker_restarts_with_the_context() -> None:
    result, lm = await run(
        [
            repl("lost = 1\nsum(range(10**12))"),
            repl("print(len(context))\nprint('lost' in globals())"),
            repl("FINAL(1)"),
        ],
        budget=Budget(cell_timeout=1),
    )
    restart_note = last_user(lm.calls[1])
    assert "REPL restarted" in restart_note and "variables you defined are lost" in restart_note
    after = last_user(lm.calls[2])
    assert "11\nFalse" in after
    assert result.status == "finished"


async def test_max_seconds_preempts_a_long_cell() -> None:
    started = time.monotonic()
    result, _ = await run(
        [repl("answer['content'] = 'early'"), repl("import time\ntime.sleep(10)")],
        budget=Budget(max_seconds=1),
    )
    assert time.monotonic() - started < 2
    assert result.status == "budget_exhausted" and "max_seconds" in result.stop_reason
    assert result.answer == "early"


async def test_llm_query_batched_runs_concurrently() -> None:
    script = router(
        root=[repl("outs = llm_query_batched([f'item {i}' for i in range(16)])\nFINAL(','.join(outs))")],
        sub=lambda m: m[0]["content"].upper(),
    )
    lm = ScriptedLM(script, delay=0.5)
    started = time.monotonic()
    result = await RLM(lm).acompletion("q", context="c")
    elapsed = time.monotonic() - started
    assert result.answer == ",".join(f"ITEM {i}" for i in range(16))
    assert elapsed < 2, f"16 sub-calls of 0.5 s took {elapsed:.2f} s"
    assert result.usage.sub.calls == 16 and result.usage.root.calls == 1


async def test_llm_query_sends_the_prompt_as_one_user_message() -> None:
    seen: list[list[Message]] = []

    def sub(messages: list[Message]) -> str:
        seen.append(messages)
        return "sub says hi"

    lm = ScriptedLM(router(root=[repl("FINAL(llm_query('hello ' + context))")], sub=sub))
    result = await RLM(lm).acompletion("q", context="there")
    assert result.answer == "sub says hi"
    assert seen == [[{"role": "user", "content": "hello there"}]]


@pytest.mark.parametrize(
    "sub_reply",
    [
        "It ends with gamma.<|eot_id|>",  # a leaked end token
        "It ends with gamma.<|im_end|>\n<|im_start|>user\nAnd it starts with?<|im_end|>\n<|im_start|>assistant\nalpha",
        "It ends with gamma.</s><s>[INST] And it starts with? [/INST] alpha",
    ],
)
async def test_a_sub_reply_comes_back_tidied_as_a_root_reply_is_read(sub_reply: str) -> None:
    # no reasoning tag in it, yet its leaked token and the turn it made up are not the sub-LM's answer
    lm = ScriptedLM(router(root=[repl("FINAL(llm_query('How does it end? ' + context))")], sub=lambda m: sub_reply))
    result = await RLM(lm).acompletion("q", context="alpha beta gamma")
    assert result.answer == "It ends with gamma."


async def test_a_failed_item_in_a_batch_fails_only_that_item() -> None:
    def sub(messages: list[Message]) -> str | Exception:
        if "bad" in messages[0]["content"]:
            return LMServerError("upstream 503")
        if "broken" in messages[0]["content"]:
            raise KeyError("client bug")
        return "fine"

    lm = ScriptedLM(router(root=[repl("FINAL(llm_query_batched(['good', 'bad', 'broken', 'good']))")], sub=sub))
    result = await RLM(lm).acompletion("q", context="c")
    items = json.loads(result.answer)
    assert items[0] == items[3] == "fine"
    assert items[1] == "Error: sub-LM call failed: upstream 503"
    assert items[2].startswith("Error: sub-call failed: KeyError")


async def test_a_childs_model_failing_is_named_as_that_model_not_the_root() -> None:
    # "child RLM failed: the root LM call failed: 429 ..." for depth_lms[1]'s 429: the root had not failed
    coder = ScriptedLM([LMServerError("HTTP 429 from the server: slow down")], model="coder-d1")
    root = ScriptedLM([repl("print(rlm_query('look', context='x'))"), repl("FINAL('done')")])
    result = await RLM(root, max_depth=2, depth_lms={1: coder}).acompletion("q", context="c")
    told = last_user(root.calls[1])
    assert "the depth-1 LM (coder-d1) of this child RLM call failed: HTTP 429" in told
    assert "the root LM" not in told and result.answer == "done"


async def test_max_depth_1_makes_rlm_query_a_plain_sub_call() -> None:
    lm = ScriptedLM(router(root=[repl("FINAL(rlm_query('child task'))")], sub=lambda m: "plain answer"))
    result = await RLM(lm, max_depth=1).acompletion("q", context="c")
    assert result.answer == "plain answer" and result.usage.child_rlms == 0
    assert "no child RLM can start" in lm.calls[0][0]["content"]


async def test_depth_2_starts_a_child_rlm_with_its_own_repl(tmp_path: Path) -> None:
    def child(messages: list[Message]) -> str:
        if turn_of(messages) == 1:
            return repl("import os\nFINAL(f'{os.getpid()}:{context}')")
        raise AssertionError("child should finish in one turn")

    lm = ScriptedLM(
        router(
            root=[
                repl("import os\nroot_pid = os.getpid()\nreply = rlm_query('sub task', context='child data')"),
                repl("FINAL(f'{root_pid}|{reply}')"),
            ],
            child=child,
        )
    )
    result = await RLM(lm, max_depth=2, trace_dir=tmp_path).acompletion("q", context="root data")
    root_pid, child_reply = result.answer.split("|")
    child_pid, child_context = child_reply.split(":")
    assert child_context == "child data" and child_pid != root_pid
    assert result.usage.child_rlms == 1 and result.usage.by_depth[1].calls == 1
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]  # type: ignore[arg-type]
    child_nodes = [e for e in events if e["type"] == "node_start" and e["depth"] == 1]
    assert len(child_nodes) == 1 and child_nodes[0]["parent_id"] == "0"


async def test_concurrent_children_each_see_only_their_own_output() -> None:
    def child(messages: list[Message]) -> str:
        if turn_of(messages) == 1:
            return repl("import time\nfor i in range(20):\n    print('I am', context)\n    time.sleep(0.01)")
        seen = sorted(set(re.findall(r"I am (CHILD\d)", last_user(messages))))
        return f"FINAL(saw {','.join(seen)})"

    lm = ScriptedLM(
        router(
            root=[
                repl("FINAL('|'.join(rlm_query_batched(['task'] * 4, contexts=[f'CHILD{i}' for i in range(1, 5)])))")
            ],
            child=child,
        )
    )
    result = await RLM(lm, max_depth=2).acompletion("q", context="c")
    assert result.answer.split("|") == [f"saw CHILD{i}" for i in range(1, 5)]
    assert result.usage.child_rlms == 4


async def test_trace_of_a_1mb_context_stays_small(tmp_path: Path) -> None:
    context = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000]
    replies = [repl(f"print(len(context), context[:{100 * i}])") for i in range(1, 5)] + [repl("FINAL('done')")]
    result, _ = await run(replies, context=context, trace_dir=tmp_path)
    assert result.iterations == 5
    trace = Path(result.trace_path)  # type: ignore[arg-type]
    size = trace.stat().st_size
    assert size < 64 * 1024, f"trace is {size:,} bytes"
    text = trace.read_text()
    assert context[:2000] not in text
    start = json.loads(text.splitlines()[0])
    assert start["type"] == "run_start" and start["contexts"][0]["chars"] == 1_000_000
    ready = next(json.loads(line) for line in text.splitlines() if '"sandbox_ready"' in line)
    assert ready["contexts_sha256"] == {"context": hashlib.sha256(context.encode()).hexdigest()}


async def test_a_large_ascii_context_is_hashed_from_its_own_bytes(tmp_path: Path) -> None:
    context = "0123456789 abcdef\n" * 120_000  # over 2 MB: hashed without an encoded copy (rlmx.strbuffer)
    result, _ = await run([repl("print(len(context))"), repl("FINAL('done')")], context=context, trace_dir=tmp_path)
    text = Path(result.trace_path).read_text()  # type: ignore[arg-type]
    ready = next(json.loads(line) for line in text.splitlines() if '"sandbox_ready"' in line)
    assert ready["contexts_sha256"] == {"context": hashlib.sha256(context.encode()).hexdigest()}


async def test_a_run_nobody_records_never_hashes_its_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[str] = []
    original = context_module._Digest.result

    def counting(self: context_module._Digest) -> str:
        hashed.append("x")
        return original(self)

    monkeypatch.setattr(context_module._Digest, "result", counting)
    result = await RLM(ScriptedLM([repl("FINAL('ok')")])).acompletion("q", context="some text " * 1000)
    assert result.answer == "ok" and hashed == []
    seen: list[str] = []
    recorded = await RLM(ScriptedLM([repl("FINAL('ok')")]), on_event=lambda e: seen.append(e.type)).acompletion(
        "q", context="some text " * 1000
    )
    assert recorded.answer == "ok" and "sandbox_ready" in seen and hashed


async def test_trace_records_tree_events_with_ids(tmp_path: Path) -> None:
    lm = ScriptedLM(router(root=[repl("x = llm_query('hi')"), repl("FINAL(x)")], sub=lambda m: "yo"))
    result = await RLM(lm, trace_dir=tmp_path).acompletion("q", context="c")
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]  # type: ignore[arg-type]
    types = [e["type"] for e in events]
    for expected in (
        "run_start",
        "node_start",
        "iteration",
        "lm_call",
        "cell",
        "subcall_start",
        "subcall_end",
        "node_end",
        "run_end",
    ):
        assert expected in types
    assert all(e["run_id"] == result.run_id and "node_id" in e and "depth" in e for e in events)
    sub_end = next(e for e in events if e["type"] == "subcall_end")
    assert sub_end["input_tokens"] > 0 and sub_end["text"] == "yo"
    second_call = [e for e in events if e["type"] == "lm_call"][1]
    assert [m["role"] for m in second_call["new_messages"]] == ["user"]


async def test_subcall_budget_refuses_extra_calls_inside_the_repl() -> None:
    lm = ScriptedLM(router(root=[repl("FINAL(llm_query_batched(['a', 'b', 'c']))")], sub=lambda m: "ok"))
    result = await RLM(lm, budget=Budget(max_subcalls=2)).acompletion("q", context="c")
    items = json.loads(result.answer)
    assert items[:2] == ["ok", "ok"] and items[2].startswith("Error: max_subcalls: sub-call budget spent")
    assert result.usage.sub.calls == 2


async def test_token_budget_stops_the_run_with_the_buffer() -> None:
    lm = ScriptedLM([repl("answer['content'] = 'so far'")] * 10, input_tokens=400, output_tokens=100)
    result = await RLM(lm, budget=Budget(max_tokens=1600)).acompletion("q", context="c")
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_tokens")
    assert result.answer == "so far"
    assert result.usage.total.total_tokens <= 1600


async def test_completion_works_from_sync_code() -> None:
    def call() -> Result:
        return RLM(ScriptedLM([repl("FINAL(2)")])).completion("q", context="c")

    import asyncio

    result = await asyncio.to_thread(call)
    assert result.answer == "2"


def test_completion_inside_a_running_loop_uses_a_thread() -> None:
    import asyncio

    async def inner() -> Result:
        return RLM(ScriptedLM([repl("FINAL(3)")])).completion("q", context="c")

    assert asyncio.run(inner()).answer == "3"


async def test_max_seconds_also_stops_child_rlms_and_their_workers() -> None:
    def child(messages: list[Message]) -> str:
        return repl("import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(10)")

    lm = ScriptedLM(
        router(root=[repl("answer['content'] = 'root draft'"), repl("rlm_query_batched(['a', 'b'])")], child=child)
    )
    started = time.monotonic()
    result = await RLM(lm, max_depth=2, budget=Budget(max_seconds=1.5)).acompletion("q", context="c")
    assert time.monotonic() - started < 3
    assert (result.status, result.answer) == ("budget_exhausted", "root draft")
    assert result.usage.child_rlms == 2


async def test_rlm_query_at_max_depth_appends_the_context_to_a_plain_call() -> None:
    seen: list[str] = []

    def sub(messages: list[Message]) -> str:
        seen.append(messages[0]["content"])
        return "ok"

    lm = ScriptedLM(router(root=[repl("FINAL(rlm_query('Summarize.', context=['x', 'y']))")], sub=sub))
    await RLM(lm, max_depth=1).acompletion("q", context="c")
    assert seen == ['Summarize.\n\nContext:\n["x", "y"]']


async def test_a_child_given_a_whole_context_shares_it_by_name(tmp_path: Path) -> None:
    def child(messages: list[Message]) -> str:
        return repl("FINAL(f'{type(docs).__name__}:{len(docs)}')")

    lm = ScriptedLM(router(root=[repl("FINAL(rlm_query('count the docs', context=docs))")], child=child))
    result = await RLM(lm, max_depth=2, trace_dir=tmp_path).acompletion(
        "q", context="main", contexts={"docs": ["a", "b", "c"]}
    )
    assert result.answer == "list:3"
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]  # type: ignore[arg-type]
    (child_start,) = [e for e in events if e["type"] == "node_start" and e["depth"] == 1]
    assert [c["name"] for c in child_start["contexts"]] == ["docs"]
    assert "`docs`: list" in lm.calls[1][1]["content"]


async def test_plain_rlm_query_with_a_shared_context_sends_its_content() -> None:
    seen: list[str] = []

    def sub(messages: list[Message]) -> str:
        seen.append(messages[0]["content"])
        return "ok"

    lm = ScriptedLM(router(root=[repl("FINAL(rlm_query('Summarize.', context=context))")], sub=sub))
    await RLM(lm, max_depth=1).acompletion("q", context="the whole text")
    assert seen == ["Summarize.\n\nContext:\nthe whole text"]


def test_a_prose_final_in_a_reply_cut_at_its_output_cap_finishes_nothing() -> None:
    # reasoning whose <think> the chat template opened, cut by the cap before its </think> (Qwen3-Thinking on vLLM
    # sends it all as content, finish_reason "length"): a FINAL it drafted and was about to take back
    draft = (
        "The user wants the last word. I might just say\nFINAL(alpha)\nbut wait, alpha is the first word. I should "
        "split the text in the REPL and look at its last element, minding the punctuation, because " + "so " * 300
    )
    events: list[Any] = []
    root = ScriptedLM([draft, repl("FINAL(context.split()[-1])")])
    budget = Budget(max_tokens=100_000, max_tokens_per_call=120)  # a token budget: every call is sent its cap
    result = RLM(root, budget=budget, on_event=events.append).completion("Last word?", context="alpha beta gamma")
    assert result.answer == "gamma" and result.iterations == 2
    rejected = [e.data for e in events if e.type == "answer_rejected"]
    assert rejected and rejected[0]["source"] == "prose" and "output limit" in rejected[0]["problems"]
    assert "FINAL written in its text was not taken" in last_user(root.calls[1])


CUT = "<cut>"


class CutShort(ScriptedLM):
    """A ScriptedLM whose replies that begin with CUT come back cut short (marker dropped) with `finish_reason`."""

    def __init__(self, responses: Any, *, finish_reason: str, **options: Any) -> None:
        super().__init__(responses, **options)
        self.finish_reason = finish_reason

    async def complete(self, messages: Any, **params: Any) -> Completion:
        completion = await super().complete(messages, **params)
        if not completion.text.startswith(CUT):
            return completion
        return dataclasses.replace(completion, text=completion.text[len(CUT) :], finish_reason=self.finish_reason)


def answer_asked_for(path: str, reply: str, finish_reason: str, **options: Any) -> tuple[Result, list[Any]]:
    """A run whose last call asks for the answer and gets `reply`: the last-turn request, or the forced extraction
    after a token budget stops the run."""
    events: list[Any] = []
    if path == "last turn":
        lm = CutShort([repl("last = context.split()[-1]\nprint(last)"), reply], finish_reason=finish_reason)
        budget = Budget(max_iterations=1)
    else:

        def root(messages: list[Message]) -> str:
            if messages[0]["content"] == FORCED_SYSTEM:
                return reply
            return repl("last = context.split()[-1]\nprint(last, 'x' * 19000)")

        lm = CutShort(root, finish_reason=finish_reason)
        budget = Budget(max_tokens=4000, max_tokens_per_call=100)
    rlm = RLM(lm, budget=budget, on_event=events.append, **options)
    return rlm.completion("Last word?", context="alpha beta gamma"), events


CUT_DRAFTS = {
    # reasoning whose <think> the chat template opened, cut before its </think>: no tag marks it as reasoning
    "a drafted FINAL line": "All turns are used. I might just say\nFINAL(alpha)\nbut wait, alpha is the first word",
    "a FINAL mid-sentence": "My first thought was FINAL(alpha) since alpha is in the text, but the output showed",
    "reasoning only": "So the user asks for the last word. The block printed it, and I believe it was the",
    "a labelled answer": "Let me draft it.\nFinal answer: alpha\nHmm, no: alpha is the first word, the last is",
}


@pytest.mark.parametrize("finish_reason", ["length", "content_filter"])
@pytest.mark.parametrize("path", ["last turn", "forced extraction"])
@pytest.mark.parametrize("draft", list(CUT_DRAFTS.values()), ids=list(CUT_DRAFTS))
def test_a_reply_asked_for_the_answer_but_cut_short_gives_none(draft: str, path: str, finish_reason: str) -> None:
    result, _ = answer_asked_for(path, CUT + draft, finish_reason)
    assert (result.answer, result.answer_source, result.status) == ("", "none", "budget_exhausted")
    assert "so it gave none" in result.stop_reason
    assert ("content filter" in result.stop_reason) == (finish_reason == "content_filter")


@pytest.mark.parametrize(
    ("path", "source"), [("last turn", "final_request"), ("forced extraction", "forced_extraction")]
)
def test_a_reply_cut_short_still_finishes_by_a_closed_final_block(path: str, source: str) -> None:
    # as mid-run: a model that answers in a block and then rambles on to the cap is common
    result, _ = answer_asked_for(path, CUT + repl("FINAL(last)") + "\nThat should be it, since the", "length")
    assert (result.answer, result.answer_source) == ("gamma", source)
    left_open, _ = answer_asked_for(path, CUT + "Checking once more:\n```repl\nFINAL('alpha')", "length")
    assert (left_open.answer, left_open.answer_source) == ("", "none")  # the block left open was cut short


def test_a_last_turn_reply_cut_short_leaves_the_answer_buffer_as_the_answer() -> None:
    lm = CutShort(
        [repl("answer['content'] = 'gamma?'"), CUT + "I might say\nFINAL(alpha)\nbut"], finish_reason="length"
    )
    result = RLM(lm, budget=Budget(max_iterations=1)).completion("Last word?", context="alpha beta gamma")
    assert (result.answer, result.answer_source) == ("gamma?", "answer_buffer")
    assert "so it gave none" in result.stop_reason


def test_a_sub_call_reply_cut_at_its_cap_says_so_in_the_text_the_cell_gets() -> None:
    # a sub-LM whose chat template opened <think>: cut by the cap mid-thought, with no tag to mark it as reasoning
    thinking = "Okay, the user wants to know what kind of words these are. Alpha, beta, hmm, " * 20
    sub = lambda messages: thinking if "kind" in messages[0]["content"] else "Greek letters"  # noqa: E731
    code = "kind = llm_query('What kind of words? ' + context)\nwhole = llm_query('Name them.')\nFINAL([kind, whole])"
    lm = ScriptedLM(router(root=[repl(code)], sub=sub))
    result = RLM(lm, budget=Budget(max_tokens=10**6, max_tokens_per_call=60)).completion("Kind?", context="alpha")
    kind, whole = result.value
    assert kind.startswith("Okay, the user wants") and "cut short here (finish_reason 'length')" in kind
    assert whole == "Greek letters"  # a reply that ended by itself is the answer, as it was


def test_a_schema_sub_call_reply_cut_at_its_cap_is_no_value() -> None:
    # the cut reasoning parses as no JSON, and a string schema took the raw text as the value
    thinking = "Okay, the user wants to know what kind of words these are. Alpha, beta, hmm, " * 20
    code = (
        "try:\n    kind = llm_query('Kind?', schema={'type': 'string'})\nexcept RuntimeError as e:\n    kind = str(e)"
    )
    lm = ScriptedLM(router(root=[repl(code + "\nFINAL(kind)")], sub=lambda messages: thinking))
    result = RLM(lm, budget=Budget(max_tokens=10**6, max_tokens_per_call=60)).completion("Kind?", context="alpha")
    assert result.answer.startswith("the sub-LM's reply was cut short (finish_reason 'length')")
