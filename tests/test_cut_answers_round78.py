"""A FINAL / SUBMIT value or answer["content"] over the sandbox's frame cap is cut by the worker, marked so, and taken
by nobody: the cell fails with the message, the model is asked again, and the caller never gets a cut value (audit
78, v05). A 1 MiB frame cap (sandbox option max_frame_bytes) keeps the values small."""

from __future__ import annotations

from rlmx import RLM, Budget
from rlmx.context import prepare
from rlmx.lm import ScriptedLM
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import repl

CAP = {"max_frame_bytes": 1 << 20}


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-call expected")


async def test_the_worker_marks_the_value_it_cut_with_the_message_for_the_model() -> None:
    box = SubprocessSandbox(max_frame_bytes=1 << 20)
    await box.start([prepare("context", "c")])
    try:
        cut = await box.run_cell("FINAL('x' * 3_000_000)", calls=no_calls, timeout=20)
        whole = await box.run_cell("FINAL('short')", calls=no_calls, timeout=20)
    finally:
        await box.close()
    assert cut.final is not None and "frame cap" in cut.final["value"][-300:]  # the sandbox still hands its start
    mark = cut.final["cut"]
    assert "FINAL's value was 3,000,002 bytes" in mark and "not taken" in mark and "Return less" in mark
    assert whole.final == {"kind": "final", "value": "short"}


def test_a_final_over_the_frame_cap_fails_the_cell_and_the_model_is_asked_again() -> None:
    lm = ScriptedLM([repl("FINAL(['x' * 1000] * 3000)"), repl("FINAL('a short summary')")])
    result = RLM(lm, sandbox_options=CAP).completion("q", context="c")
    assert (result.status, result.answer_source, result.answer, result.value) == (
        "finished",
        "final",
        "a short summary",
        "a short summary",
    )
    told = lm.calls[1][-1]["content"]
    assert "FINAL's value was" in told and "1,048,576-byte frame cap" in told and "not taken" in told


def test_a_submit_over_the_frame_cap_is_no_typed_answer() -> None:
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
    lm = ScriptedLM([repl("SUBMIT(summary='y' * 2_000_000)"), repl("SUBMIT(summary='short')")])
    result = RLM(lm, sandbox_options=CAP).completion("q", context="c", output=schema)
    assert result.ok and result.value == {"summary": "short"}
    assert "SUBMIT's fields were" in lm.calls[1][-1]["content"]


def test_a_ready_answer_over_the_frame_cap_does_not_finish() -> None:
    lm = ScriptedLM(
        [
            repl("answer['content'] = 'z' * 2_000_000\nanswer['ready'] = True"),
            repl("answer['content'] = 'small'\nanswer['ready'] = True"),
        ]
    )
    result = RLM(lm, sandbox_options=CAP).completion("q", context="c")
    assert (result.status, result.answer_source, result.answer) == ("finished", "answer", "small")
    assert 'answer["content"] was 2,000,002 bytes' in lm.calls[1][-1]["content"]


def test_a_whole_final_beside_a_cut_answer_content_finishes() -> None:
    lm = ScriptedLM([repl("answer['content'] = 'z' * 2_000_000\nFINAL('done')")])
    result = RLM(lm, sandbox_options=CAP).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "done")


def test_a_cut_answer_content_is_never_the_partial_answer() -> None:
    """The budget stops the run: the partial answer is the last one that came back whole, not the cut one."""
    lm = ScriptedLM([repl("answer['content'] = 'kept'"), repl("answer['content'] = 'z' * 2_000_000")])
    result = RLM(lm, sandbox_options=CAP, budget=Budget(max_iterations=2)).completion("q", context="c")
    assert result.status == "budget_exhausted"
    assert result.answer == "kept" and "frame cap" not in result.answer
