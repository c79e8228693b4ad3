"""Round 85 (audit 85, the Python API): what a user's own LM raises is that call's failure, never the run's own
control flow; a child RLM cut short is marked as such; the sub-call cache keys each LM object a run names; the
sandbox's `python` is checked before any token is spent; a typed last answer's schema problems stay in the Result."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx import RLM, Budget
from rlmx.engine import StrayCancelledError
from rlmx.errors import InputError
from rlmx.lm import Completion, Message, OpenAICompatibleLM, ScriptedLM, Usage


def _block(code: str) -> str:
    return f"```repl\n{code}\n```"


TRY_ONE = _block("try:\n    r = llm_query('x')\nexcept Exception as e:\n    r = 'ERR ' + str(e)\nFINAL(r)")


class _Raising:
    """A custom LM whose client raises `error` itself (its own read timeout, its own shutdown)."""

    model = "house-model"

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.asked = 0

    async def complete(self, messages: list[Message], **params: Any) -> Completion:
        self.asked += 1
        raise self.error


# --- an LM's own TimeoutError is that call's failure, not the run's time budget ---------------------------------


@pytest.mark.parametrize("budget", [Budget(), Budget(max_seconds=100)])
def test_a_root_lms_own_timeout_is_raised_as_it_is_and_never_called_the_time_budget(budget: Budget) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="read timed out"):
        RLM(_Raising(TimeoutError("read timed out")), budget=budget).completion("q", context="c")
    assert time.monotonic() - started < 20  # no wait for the 100 s budget either


def test_a_child_rlms_lm_timing_out_fails_that_rlm_query_with_its_own_error() -> None:
    code = _block("try:\n    r = rlm_query('CHILD')\nexcept Exception as e:\n    r = 'EXC ' + str(e)\nFINAL(r)")
    rlm = RLM(ScriptedLM([code]), max_depth=2, depth_lms={1: _Raising(TimeoutError("read timed out"))})
    result = rlm.completion("q", context="c")
    assert result.status == "finished"  # audit 86 v01: a failed child RLM's error names it, and the run counts it
    assert result.answer == "EXC child RLM failed: TimeoutError: read timed out"
    assert result.stop_reason.endswith(
        "1 child RLM did not finish (what each had so far reached its parent's code "
        "marked unfinished): 0.1: child RLM failed: TimeoutError: read timed out"
    )


def test_the_time_budget_still_stops_a_root_lm_that_never_answers() -> None:
    async def never(messages: list[Message]) -> str:
        await asyncio.sleep(60)
        return "late"

    started = time.monotonic()
    result = RLM(ScriptedLM(never), budget=Budget(max_seconds=0.5)).completion("q", context="c")
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_seconds")
    assert time.monotonic() - started < 10


# --- an LM's own CancelledError is that call's failure, not a cancel of the run ----------------------------------


def test_a_sub_lm_raising_cancellederror_fails_its_llm_query_and_the_run_goes_on() -> None:
    started = time.monotonic()
    sub = _Raising(asyncio.CancelledError("client shut down"))
    result = RLM(ScriptedLM([TRY_ONE]), sub_lm=sub, budget=Budget(max_seconds=30)).completion("q", context="c")
    assert time.monotonic() - started < 15  # it hung until the time budget (for ever without one)
    assert result.status == "finished" and sub.asked == 1
    assert result.answer.startswith("ERR sub-call failed: StrayCancelledError: _Raising.complete (house-model)")
    assert "raised CancelledError (client shut down) while nothing cancelled the run" in result.answer


def test_one_batched_item_raising_cancellederror_fails_alone() -> None:
    async def sub(messages: list[Message]) -> str:
        if messages[-1]["content"].endswith("p2"):
            raise asyncio.CancelledError()
        return "ok"

    code = _block("rs = llm_query_batched(['p0', 'p1', 'p2', 'p3'])\nFINAL(rs)")
    result = RLM(ScriptedLM([code]), sub_lm=ScriptedLM(sub)).completion("q", context="c")
    assert result.status == "finished"
    answers = result.value
    assert [answers[0], answers[1], answers[3]] == ["ok", "ok", "ok"]
    assert answers[2].startswith("Error: sub-call failed: StrayCancelledError: ")


def test_a_child_rlms_lm_raising_cancellederror_fails_that_rlm_query() -> None:
    code = _block("try:\n    r = rlm_query('CHILD')\nexcept Exception as e:\n    r = 'EXC ' + str(e)\nFINAL(r)")
    rlm = RLM(ScriptedLM([code]), max_depth=2, depth_lms={1: _Raising(asyncio.CancelledError())})
    result = rlm.completion("q", context="c")
    assert result.status == "finished" and result.answer.startswith("EXC child RLM failed: StrayCancelledError: ")


def test_a_root_lm_raising_cancellederror_ends_the_run_with_a_named_error_not_a_cancel() -> None:
    with pytest.raises(StrayCancelledError, match=r"_Raising\.complete \(house-model\) raised CancelledError"):
        RLM(_Raising(asyncio.CancelledError())).completion("q", context="c")
    assert issubclass(StrayCancelledError, RuntimeError)


async def test_a_real_cancel_of_the_run_still_cancels_it() -> None:
    async def slow(messages: list[Message]) -> str:
        await asyncio.sleep(60)
        return "late"

    code = _block("FINAL(llm_query('x'))")
    task = asyncio.ensure_future(RLM(ScriptedLM([code]), sub_lm=ScriptedLM(slow)).acompletion("q", context="c"))
    await asyncio.sleep(1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --- a child RLM a budget stopped: its draft goes up marked unfinished ------------------------------------------


def _parent_and_children(messages: list[Message]) -> str:
    first = next(m["content"] for m in messages if m["role"] == "user")
    if "CHILD" in first:  # a draft, then more work that never finishes
        return _block("answer['content'] = 'DRAFT one'\nprint(llm_query('look'))")
    return _block("rs = rlm_query_batched(['CHILD a', 'CHILD b'])\nFINAL(rs)")


def test_a_child_stopped_by_its_turns_hands_its_draft_up_marked_unfinished() -> None:
    rlm = RLM(ScriptedLM(_parent_and_children), max_depth=2, budget=Budget(max_iterations=2))
    result = rlm.completion("top", context="c")
    for text in result.value:
        head, _, draft = text.partition("\n")
        assert draft == "DRAFT one"
        assert head == (
            "[unfinished: this child RLM was stopped (budget exhausted: max_iterations: all 2 turns used); "
            "what follows is its answer so far]"
        )
    assert result.status == "finished"
    assert "; 2 child RLMs did not finish" in result.stop_reason and "max_iterations" in result.stop_reason


def test_a_child_that_finishes_is_handed_up_as_it_is() -> None:
    def script(messages: list[Message]) -> str:
        first = next(m["content"] for m in messages if m["role"] == "user")
        return _block("FINAL('done')") if "CHILD" in first else _block("FINAL(rlm_query('CHILD'))")

    result = RLM(ScriptedLM(script), max_depth=2).completion("top", context="c")
    assert (result.answer, result.stop_reason) == ("done", "finished by final")


# --- the sub-call cache keys each LM object the run names -------------------------------------------------------


class _Persona:
    """A user's own LM class: two objects share the class and model name, set up differently."""

    model = "house-model"

    def __init__(self, persona: str) -> None:
        self.persona = persona
        self.asked = 0

    async def complete(self, messages: list[Message], **params: Any) -> Completion:
        self.asked += 1
        return Completion(text=self.persona, usage=Usage(input_tokens=3, output_tokens=2), model=self.model)


BOTH = _block("x = llm_query('p')\ny = llm_query('p', model='b')\nFINAL(x + '|' + y)")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [(ScriptedLM(["A"]), ScriptedLM(["B"]), "A|B"), (_Persona("terse"), _Persona("french"), "terse|french")],
)
def test_two_lm_objects_alike_to_the_key_never_answer_for_each_other(first: Any, second: Any, expected: str) -> None:
    result = RLM(ScriptedLM([BOTH]), sub_lm=first, models={"b": second}, cache=True).completion("q", context="c")
    assert result.answer == expected and result.usage.cached_calls == 0


def test_one_lm_object_named_twice_still_shares_its_replies() -> None:
    shared = _Persona("terse")
    result = RLM(ScriptedLM([BOTH]), sub_lm=shared, models={"b": shared}, cache=True).completion("q", context="c")
    assert (result.answer, shared.asked, result.usage.cached_calls) == ("terse|terse", 1, 1)


def test_a_declared_cache_identity_keeps_two_runs_apart_on_disk(tmp_path: Path) -> None:
    def run(persona: str) -> str:
        lm = _Persona(persona)
        lm.cache_identity = persona  # type: ignore[attr-defined]
        rlm = RLM(ScriptedLM([_block("FINAL(llm_query('p'))")]), sub_lm=lm, cache=True, cache_dir=tmp_path)
        return rlm.completion("q", context="c").answer

    assert (run("terse"), run("french"), run("terse")) == ("terse", "french", "terse")


# --- sandbox_options['python'] is checked before any token is spent ---------------------------------------------


@pytest.mark.parametrize(
    ("python", "said"),
    [
        ("/bin/true", "is not a working Python"),
        ("/bin/cat", "is not a working Python"),
        ("/nonexistent/bin/python3", "does not exist"),
        ("/etc", "is not an executable file"),
    ],
)
def test_a_python_that_cannot_run_the_worker_is_refused_before_any_request(python: str, said: str) -> None:
    with FakeOpenAIServer(Behaviour(text=_block("FINAL('ok')"))) as server:
        with pytest.raises(InputError) as caught:
            RLM(OpenAICompatibleLM("m", base_url=server.base_url), sandbox_options={"python": python})
        assert server.requests == []
    assert f"sandbox_options['python']: {python} {said}" in str(caught.value)


def test_an_older_python_is_refused_naming_its_version(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 'rlmx-python 3.9'\n")
    old.chmod(0o755)
    with pytest.raises(InputError, match=r"is Python 3\.9, older than the 3\.11"):
        RLM(ScriptedLM(["x"]), sandbox_options={"python": str(old)})


def test_this_python_is_accepted_and_runs() -> None:
    rlm = RLM(ScriptedLM([_block("FINAL(6 * 7)")]), sandbox_options={"python": sys.executable})
    assert rlm.completion("q", context="c").answer == "42"


# --- a typed answer that fails the schema on the last turn keeps its problems ------------------------------------


class _Out(BaseModel):
    n: int
    tags: list[str]


def test_a_typed_last_answer_that_fails_the_schema_names_its_problems_in_the_stop_reason() -> None:
    lm = ScriptedLM([_block("x = 1"), _block("SUBMIT(n='many', tags=5)")])
    result = RLM(lm, budget=Budget(max_iterations=1)).completion("q", context="c", output=_Out)
    assert result.status == "budget_exhausted" and result.value is None
    assert result.stop_reason.startswith("max_iterations")
    reason = result.stop_reason.partition("; its answer does not match the output schema: ")[2]
    assert "n:" in reason and "tags:" in reason
