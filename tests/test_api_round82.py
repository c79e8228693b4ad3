"""Round 82 of the Python API: what a session records for a question that failed without raising, what closing a
sync session does to the questions still waiting, sub-call cache files shared by the runs of one process, and
custom LMs of the wrong shape."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget, InputError, LMError
from rlmx.lm import Completion, Message, ScriptedLM, Usage
from rlmx.subcall_cache import SubcallCache
from scripting import repl

# --- a question that returned a failed Result is in `history` with its error --------------------------------------


def test_a_question_whose_run_ended_in_error_keeps_its_error_in_history() -> None:
    down = {"now": False}

    def root(messages: list[Message]) -> str:
        if down["now"]:
            raise LMError("upstream returned 502 three times")
        if len(messages) <= 2:
            return repl("print(len(history))")
        return repl("FINAL(repr(history[-1]) if history else 'empty')")

    with RLM(ScriptedLM(root), sandbox="inprocess").session(context="notes") as session:
        session.ask("What is in the notes?")
        down["now"] = True
        failed = session.ask("Who wrote them?")
        down["now"] = False
        later = session.ask("What did the last question get?")
    assert failed.status == "error"
    assert session.history[1] == {
        "question": "Who wrote them?",
        "answer": "",
        "error": "LMError: upstream returned 502 three times",
    }
    assert "upstream returned 502 three times" in later.answer  # the model reads it in its `history` too


def test_a_question_stopped_by_its_budget_says_so_beside_its_answer() -> None:
    lm = ScriptedLM(lambda messages: repl("print('still looking')"))
    with RLM(lm, sandbox="inprocess", budget=Budget(max_iterations=2)).session(context="c") as session:
        stopped = session.ask("Count the rows")
    assert stopped.status == "budget_exhausted"
    entry = session.history[0]
    assert entry["answer"] == stopped.answer
    assert entry["error"].startswith("budget_exhausted: ") and stopped.stop_reason in entry["error"]


def test_a_finished_question_has_no_error_in_history() -> None:
    with RLM(ScriptedLM([repl("FINAL('four')")]), sandbox="inprocess").session(context="c") as session:
        session.ask("How many?")
    assert session.history == [{"question": "How many?", "answer": "four"}]


# --- closing a sync session refuses the questions still waiting -----------------------------------------------------


@pytest.mark.parametrize("closer", ["end of the with block", "aclose from another event loop"])
def test_closing_a_sync_session_refuses_the_questions_waiting_behind_the_running_one(closer: str) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> str:
        entered.set()
        release.wait(30)
        return "held"

    asked: list[str] = []

    def root(messages: list[Message]) -> str:
        asked.append(messages[1]["content"].split("\n", 1)[0])
        return repl("FINAL(hold())")

    session = RLM(ScriptedLM(root), sandbox="inprocess", tools=[hold]).session(context="c")
    session.__enter__()
    out: dict[str, str] = {}

    def ask(name: str) -> None:
        try:
            out[name] = session.ask(name).answer
        except Exception as exc:
            out[name] = f"{type(exc).__name__}: {exc}"

    def close() -> None:
        if closer == "end of the with block":
            session.__exit__(None, None, None)
        else:
            asyncio.run(session.aclose())
            session.__exit__(None, None, None)

    running = threading.Thread(target=ask, args=("first question",))
    running.start()
    assert entered.wait(30)
    waiting = threading.Thread(target=ask, args=("second question",))
    waiting.start()
    time.sleep(0.3)  # the second question waits for the session's loop
    closing = threading.Thread(target=close)
    closing.start()
    time.sleep(0.3)  # the close is asked for while both wait
    release.set()
    for thread in (running, waiting, closing):
        thread.join(30)
    assert out["first question"] == "held"
    assert out["second question"].startswith("InputError: this session is closed"), out
    assert not any("second question" in line for line in asked)  # refused before its run: the LM never saw it
    with pytest.raises(InputError, match="closed"):
        session.ask("third question")
