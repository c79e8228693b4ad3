"""An on_event callback that raises CancelledError of itself is a failing callback like any other (audit 76 stream
v02): at a sub-call event it ended the task that serves the worker's call, so the worker waited for a reply until
its hard time limit, the model was told its code hung and its variables were lost, and the error went unsaid. A
cancellation of the run itself, met inside a callback, still ends the run (`events._being_cancelled`)."""

from __future__ import annotations

import asyncio

import pytest

from rlmx import RLM, Budget, Event
from rlmx.lm import ScriptedLM
from scripting import repl

CELL = "r = [llm_query('a'), llm_query('b')]\nFINAL('|'.join(r))"


@pytest.mark.parametrize("at", ["subcall_start", "subcall_end", "cell_start", "lm_call"])
def test_a_callback_raising_cancelled_error_is_warned_of_and_the_run_goes_on(at: str) -> None:
    def callback(event: Event) -> None:
        if event.type == at:
            raise asyncio.CancelledError()

    rlm = RLM(
        ScriptedLM([repl(CELL)]), sub_lm=ScriptedLM(["x", "y"]), on_event=callback, budget=Budget(cell_timeout=30)
    )
    with pytest.warns(RuntimeWarning, match=f"raised CancelledError.* at a {at} event"):
        result = rlm.completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "x|y")


async def test_cancelling_the_run_still_ends_it_while_a_callback_runs() -> None:
    seen: list[str] = []

    def callback(event: Event) -> None:
        seen.append(event.type)

    rlm = RLM(ScriptedLM([repl("import time\ntime.sleep(30)\nFINAL(1)")]), on_event=callback)
    task = asyncio.create_task(rlm.acompletion("q", context="c"))
    while "cell_start" not in seen:
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 20)
    assert seen[-1] == "run_end"
