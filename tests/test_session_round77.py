"""Round 77: a session's questions are runs of their own, and its REPL rests between them.

* The per-run sub-call caps (`max_calls_per_run`, `max_prompt_chars`) count each question from 0, as a
  completion's do: a session that spent them once must not refuse every later question's `llm_query`.
* Between questions the REPL's processes are stopped, so a thread a cell left spinning uses no CPU while the
  session waits, and goes on with the next question.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from scripting import repl, router, turn_of


def _outputs(options: dict, cell: str, questions: int = 3) -> list[str]:
    outputs: list[str] = []

    def root(messages: list) -> str:
        return repl(cell) if turn_of(messages) == 1 else repl("FINAL('ok')")

    def seen(event) -> None:
        if event.type == "cell" and event.data["cell_id"] == "0/c1":
            outputs.append(event.data["output"])

    rlm = RLM(ScriptedLM(router(root=root, sub=lambda m: "sub-ok")), sandbox_options=options, on_event=seen)
    with rlm.session(context="c") as session:
        for number in range(questions):
            session.ask(f"question {number}")
    return outputs


def test_each_question_gets_the_per_run_call_cap_afresh() -> None:
    outputs = _outputs({"max_calls_per_run": 5}, "print([llm_query('x') for _ in range(3)])")
    assert outputs == ["['sub-ok', 'sub-ok', 'sub-ok']"] * 3


def test_each_question_gets_the_per_run_prompt_characters_afresh() -> None:
    outputs = _outputs({"max_prompt_chars": 1000}, "print(llm_query('y' * 400), llm_query('z' * 400))")
    assert outputs == ["sub-ok sub-ok"] * 3


def test_the_in_process_tier_counts_each_question_afresh_too() -> None:
    outputs: list[str] = []

    def root(messages: list) -> str:
        return repl("print([llm_query('x') for _ in range(3)])") if turn_of(messages) == 1 else repl("FINAL('ok')")

    rlm = RLM(
        ScriptedLM(router(root=root, sub=lambda m: "sub-ok")),
        sandbox="inprocess",
        sandbox_options={"max_calls_per_run": 5},
        on_event=lambda e: (
            outputs.append(e.data["output"]) if e.type == "cell" and e.data["cell_id"] == "0/c1" else None
        ),
    )
    with rlm.session(context="c") as session:
        for number in range(3):
            session.ask(f"question {number}")
    assert all("refused" not in out for out in outputs), outputs


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(sys.platform != "linux", reason="reads the worker's CPU time in /proc")
def test_threads_left_spinning_rest_between_questions() -> None:
    spin = (
        "import os, threading\nticks = [0]\ndef spin():\n    while True: ticks[0] += 1\n"
        "threading.Thread(target=spin, daemon=True).start()\nprint(os.getpid())"
    )
    outputs: list[str] = []
    cells = iter(
        [spin, "FINAL('first')", "t = ticks[0]\nimport time\ntime.sleep(0.3)\nprint(ticks[0] > t)", "FINAL('second')"]
    )

    def seen(event) -> None:
        if event.type == "cell":
            outputs.append(event.data["output"].strip())

    rlm = RLM(ScriptedLM(router(root=lambda m: repl(next(cells)))), on_event=seen)
    with rlm.session(context="c") as session:
        session.ask("first question")
        pid = int(outputs[0])
        before = _cpu_seconds(pid)
        time.sleep(1.0)
        idle = _cpu_seconds(pid) - before
        assert idle < 0.3, f"the worker used {idle:.2f} s of CPU while the session waited"
        assert session.ask("second question").answer == "second"
    assert outputs[2] == "True"  # the thread runs on in the next question
