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


# --- runs of one process share a cache file without locking one another out ----------------------------------------


def test_runs_in_threads_sharing_a_cache_dir_keep_every_reply(tmp_path: Path) -> None:
    threads, per_thread = 6, 120
    start = threading.Barrier(threads)

    def run(index: int) -> None:
        async def main() -> None:
            cache = SubcallCache(tmp_path)  # a run's own cache, made on its own loop in its own thread
            try:
                start.wait(30)
                for n in range(per_thread):
                    reply = Completion(
                        text=f"reply {index}-{n}", usage=Usage(input_tokens=3, output_tokens=2), model="m"
                    )

                    async def call(reply: Completion = reply) -> Completion:
                        return reply

                    await cache.complete(f"key {index}-{n}", call)
            finally:
                cache.close()

        asyncio.run(main())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    assert [str(w.message) for w in caught if "locked" in str(w.message)] == []
    later = SubcallCache(tmp_path)
    try:
        missing = [(i, n) for i in range(threads) for n in range(per_thread) if not later.answers(f"key {i}-{n}")]
    finally:
        later.close()
    assert missing == []


def test_a_cache_file_deleted_between_runs_is_made_anew(tmp_path: Path) -> None:
    first = SubcallCache(tmp_path)
    first.close()
    (tmp_path / "subcalls.sqlite").unlink()
    second = SubcallCache(tmp_path)
    try:
        assert not second.answers("anything")
    finally:
        second.close()
    assert (tmp_path / "subcalls.sqlite").exists()


# --- custom LMs of the wrong shape are refused with what to write -----------------------------------------------


class ForgotAsync:
    model = "forgot-async"

    def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        return Completion(text=repl("FINAL(1)"), usage=Usage(input_tokens=1, output_tokens=1), model=self.model)


class ReturnsText:
    model = "returns-text"

    async def complete(self, messages: Sequence[Message], **params: Any) -> Any:
        return repl("FINAL(1)")


class AsyncCallable:
    """A `complete` that is an object with an async __call__: awaitable, so accepted."""

    model = "async-callable"

    class _Complete:
        async def __call__(self, messages: Sequence[Message], **params: Any) -> Completion:
            return Completion(text=repl("FINAL('ok')"), usage=Usage(input_tokens=1, output_tokens=1), model="x")

    complete = _Complete()


@pytest.mark.parametrize("where", ["lm", "sub_lm", "models", "depth_lms"])
def test_an_lm_whose_complete_is_a_plain_def_is_refused_when_the_rlm_is_made(where: str) -> None:
    root = ScriptedLM([repl("FINAL(1)")])
    kwargs: dict[str, Any] = {
        "lm": {},
        "sub_lm": {"sub_lm": ForgotAsync()},
        "models": {"models": {"fast": ForgotAsync()}},
        "depth_lms": {"depth_lms": {1: ForgotAsync()}, "max_depth": 1},
    }[where]
    with pytest.raises(InputError) as refused:
        RLM(ForgotAsync() if where == "lm" else root, **kwargs)
    message = str(refused.value)
    assert "ForgotAsync.complete" in message and "async def complete(self, messages" in message


def test_an_lm_returning_text_fails_its_call_naming_the_class() -> None:
    with pytest.raises(InputError) as refused:
        RLM(ReturnsText(), sandbox="inprocess").completion("q", context="x")  # type: ignore[arg-type]
    message = str(refused.value)
    assert "ReturnsText.complete returned str, not a Completion" in message and "Completion(text=" in message


def test_a_sub_lm_returning_text_fails_the_cell_call_with_the_same_words() -> None:
    root = ScriptedLM([repl("try:\n    llm_query('hi')\nexcept Exception as e:\n    seen = str(e)\nFINAL(seen)")])
    result = RLM(root, sub_lm=ReturnsText(), sandbox="inprocess").completion("q", context="x")  # type: ignore[arg-type]
    assert "ReturnsText.complete returned str, not a Completion" in result.answer, result.answer


def test_an_lm_whose_complete_is_an_async_callable_object_is_accepted() -> None:
    result = RLM(AsyncCallable(), sandbox="inprocess").completion("q", context="x")  # type: ignore[arg-type]
    assert (result.status, result.answer) == ("finished", "ok")
