"""Multi-turn sessions: the REPL and its variables survive between questions."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlmx import RLM, Budget, InputError
from rlmx.lm import Message, ScriptedLM
from rlmx.sandbox.isolated import probe
from scripting import last_user, repl


def by_question(replies: dict[str, list[str]]) -> ScriptedLM:
    """Root replies keyed by a word of the question, by turn within that question."""

    def reply(messages: list[Message]) -> str:
        first = messages[1]["content"]
        key = next(k for k in replies if k in first.split("\n", 1)[0])
        turn = sum(1 for m in messages if m["role"] == "assistant")
        return replies[key][turn]

    return ScriptedLM(reply)


def test_second_question_uses_a_variable_from_the_first() -> None:
    lm = by_question(
        {
            "How many": [repl("words = context.split()\nFINAL(len(words))")],
            "longest": [repl("FINAL(max(words, key=len))")],
        }
    )
    with RLM(lm).session(context="a quick brown fox jumped") as session:
        first = session.ask("How many words?")
        second = session.ask("Which is the longest of those words?")
    assert (first.answer, second.answer) == ("5", "jumped")
    assert "question 2 of a session" in lm.calls[-1][1]["content"]


async def test_async_session_adds_contexts_and_history(tmp_path: Path) -> None:
    lm = by_question(
        {
            "first": [repl("seen = len(context)\nFINAL(seen)")],
            "second": [repl("FINAL(f'{seen}|{context_1}|{history[0][\"answer\"]}|{len(history)}')")],
        }
    )
    async with RLM(lm, trace_dir=tmp_path).session(context="abc") as session:
        one = await session.aask("first question")
        two = await session.aask("second question", context="new text")
    assert two.answer == "3|new text|3|1"
    assert "`context_1`" in lm.calls[-1][1]["content"]
    starts = [json.loads(Path(r.trace_path).read_text().splitlines()[0]) for r in (one, two)]  # type: ignore[arg-type]
    assert starts[0]["session"]["id"] == starts[1]["session"]["id"]
    assert [s["session"]["turn"] for s in starts] == [1, 2]


def test_the_answer_buffer_starts_empty_each_question() -> None:
    lm = by_question(
        {
            "one": [repl("answer['content'] = 'from one'\nanswer['ready'] = True")],
            "two": [repl("print(repr(answer['content']))"), repl("FINAL('ok')")],
        }
    )
    with RLM(lm).session(context="c") as session:
        session.ask("one")
        session.ask("two")
    assert "''" in last_user(lm.calls[-1])


@pytest.mark.slow
def test_session_survives_a_hard_kill() -> None:
    lm = by_question(
        {
            "crash": [repl("x = 1\nsum(range(10**12))"), repl("FINAL(len(context))")],
            "after": [repl("FINAL(f'{len(context)}:{\"x\" in globals()}:{len(history)}')")],
        }
    )
    with RLM(lm, budget=Budget(cell_timeout=1)).session(context="hello") as session:
        assert session.ask("crash").answer == "5"
        assert session.ask("after").answer == "5:False:1"


def test_session_validates_names_and_use() -> None:
    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError, match="taken by a REPL function"):
        RLM(lm).session(contexts={"history": "x"})
    session = RLM(lm).session(context="c")
    with pytest.raises(InputError, match="in a `with` block"):
        session.ask("q")


# --- the sync API from inside a running event loop (a notebook cell, an async web handler) --------------------------

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def _answers_the_request_id() -> ScriptedLM:
    """A root LM that finishes with the caller's context variable, read while the run is in progress."""
    return ScriptedLM(lambda messages: repl(f"FINAL({_request_id.get()!r})"))


def test_sync_calls_see_the_callers_context_variables() -> None:
    _request_id.set("outside-a-loop")
    rlm = RLM(_answers_the_request_id())
    assert rlm.completion("q", context="c").answer == "outside-a-loop"
    with rlm.session(context="c") as session:
        assert session.ask("q").answer == "outside-a-loop"


async def test_sync_session_and_completion_work_inside_a_running_loop() -> None:
    _request_id.set("inside-a-loop")
    rlm = RLM(_answers_the_request_id())
    plain = rlm.completion("q", context="c")
    with rlm.session(context="c") as session:
        first = session.ask("q")
        second = session.ask("again")
    assert (plain.answer, first.answer, second.answer) == ("inside-a-loop",) * 3


async def test_errors_reach_a_sync_caller_inside_a_running_loop_unchanged() -> None:
    rlm = RLM(_answers_the_request_id())
    with rlm.session(context="c") as session, pytest.raises(InputError, match="query must be a non-empty"):
        session.ask("  ")


def test_an_async_session_asked_from_a_second_loop_says_why() -> None:
    import asyncio

    rlm = RLM(ScriptedLM([repl("FINAL(1)"), repl("FINAL(2)")]))
    session = rlm.session(context="c")
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert first.run_until_complete(session.aask("q")).answer == "1"
        with pytest.raises(RuntimeError, match="started on another event loop"):
            second.run_until_complete(session.aask("q"))
        first.run_until_complete(session.aclose())
    finally:
        first.close()
        second.close()


def test_a_new_questions_context_never_overwrites_a_variable_the_model_named_like_it() -> None:
    lm = ScriptedLM([repl("context_1 = 'mine'\nFINAL(1)"), repl("FINAL(context_1 + ' / ' + context_2)")])
    with RLM(lm).session(context="first") as session:
        session.ask("q1")
        second = session.ask("q2", context="second")
    assert second.answer == "mine / second"


@pytest.mark.parametrize("cut_after", [0.0, 0.01, 0.05])
async def test_a_first_question_cut_short_while_the_repl_starts_leaves_the_session_usable(cut_after: float) -> None:
    rlm = RLM(ScriptedLM(lambda messages: "```repl\nFINAL(len(context))\n```"))
    async with rlm.session(context="abcdef") as session:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.aask("q"), cut_after)
        assert (await session.aask("q")).answer == "6"


def test_an_exception_a_signal_handler_raises_during_a_question_ends_it_and_the_with_block(tmp_path: Path) -> None:
    # SIGTERM -> SystemExit (gunicorn, `signal.signal(SIGTERM, lambda *a: sys.exit(0))`) while a cell runs: the
    # question's task is cancelled and the session closes, instead of the `with` block waiting for ever
    script = (
        "import os, signal, sys, threading\n"
        "from rlmx import RLM\nfrom rlmx.lm import ScriptedLM\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n"
        "slow = RLM(ScriptedLM(lambda m: '```repl\\nimport time\\ntime.sleep(30)\\nFINAL(1)\\n```'))\n"
        "threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()\n"
        "with slow.session(context='abcd') as s:\n    s.ask('q')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "Task was destroyed" not in done.stderr


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_new_context_is_named_without_running_a_cell_in_the_models_repl(sandbox: str) -> None:
    # The REPL's names were asked by a cell of their own: it served question 1's leftover thread's sub-call with a
    # handler that raised (the worker was killed), took the output written since (it never reached the model) and,
    # misled by that output, named the new context over the model's own `context_1`. (That sub-call is refused now
    # in a worker process: question 2 is not charged for question 1's thread. In-process, the call goes out as it is
    # made, between the questions: question 1's.)
    first = (
        "import threading, time\ncontext_1 = 'my notes'\ngot = []\n"
        "def later():\n    time.sleep(0.3)\n    print('LATE LINE')\n"
        "    try:\n        got.append(llm_query('from the thread'))\n    except RuntimeError as exc:\n"
        "        got.append('refused' if 'earlier question' in str(exc) else str(exc))\n"
        "threading.Thread(target=later).start()\nFINAL('one')"
    )
    wait = "for _ in range(500):\n    if got:\n        break\n    time.sleep(0.01)\n"  # its refusal, in this cell
    lm = ScriptedLM([repl(first), repl(wait + "print('seen', got, context_1, context_2)"), repl("FINAL(context_2)")])
    with RLM(lm, sub_lm=ScriptedLM(["threaded reply"]), sandbox=sandbox).session(context="first") as session:
        session.ask("q1")
        time.sleep(0.6)  # the thread prints and waits to send its sub-call: both belong to question 2's first cell
        result = session.ask("q2", context="SECOND")
    told = lm.calls[-1][-1]["content"]
    assert result.answer == "SECOND"
    got = "['refused']" if sandbox == "subprocess" else "['threaded reply']"
    assert f"seen {got} my notes SECOND" in told and "restarted" not in told
    if sandbox == "subprocess":  # the in-process tier does not capture a thread's output between cells
        assert "LATE LINE" in told


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_thread_an_earlier_question_left_cannot_answer_the_next_one(sandbox: str) -> None:
    first = (
        "import threading, time\nrefused = []\n"
        "def late():\n    time.sleep(0.4)\n    try:\n        FINAL('stale answer')\n"
        "    except RuntimeError as exc:\n        refused.append(str(exc))\n"
        "threading.Thread(target=late).start()\nFINAL('first answer')"
    )
    wait = "import time\nwhile not refused:\n    time.sleep(0.02)\nprint(refused[0])"
    lm = ScriptedLM([repl(first), repl(wait), repl("FINAL('second answer')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    assert "this thread was started by an earlier question of this session" in lm.calls[-1][-1]["content"]


def test_a_named_context_never_replaces_a_variable_the_model_made() -> None:
    lm = ScriptedLM([repl("notes = 'my notes'\nFINAL(1)"), repl("FINAL(notes)")])
    with RLM(lm).session(context="c") as session:
        session.ask("q1")
        with pytest.raises(InputError, match="context `notes` would replace the variable `notes` the model made"):
            session.ask("q2", contexts={"notes": "new"})
        assert session.ask("q3").answer == "my notes"


def test_an_in_process_session_gives_the_model_a_copy_of_its_history() -> None:
    lm = ScriptedLM([repl("FINAL('a1')"), repl("history[0]['answer'] = 'edited'\nhistory.clear()\nFINAL('a2')")])
    with RLM(lm, sandbox="inprocess").session(context="c") as session:
        session.ask("q1")
        session.ask("q2")
        assert session.history == [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": "a2"}]


async def test_an_in_process_question_cancelled_mid_cell_leaves_the_session_usable() -> None:
    # The cancelled cell ran on in the same REPL beside the next question's: every later cell failed with
    # "release unlocked lock".
    def reply(messages: list[Message]) -> str:
        question = messages[1]["content"]
        if "q1" in question:
            return repl("import time\nx = 1\nfor _ in range(400):\n    time.sleep(0.01)\nFINAL('never')")
        return repl("FINAL(f'x={x}')")

    async with RLM(ScriptedLM(reply), sandbox="inprocess").session(context="c") as session:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.aask("q1"), 0.5)
        assert (await session.aask("q2")).answer == "x=1"


@pytest.mark.parametrize("busy", ["sleeping", "waiting on a sub-call"])
async def test_a_question_cancelled_mid_cell_keeps_the_sessions_variables(busy: str) -> None:
    # The worker was killed when the question's caller gave up (a timeout, a Stop button): every variable of the
    # session's earlier questions went with it. The cell is interrupted instead, as Jupyter's Interrupt does.
    slow = "for _ in range(400):\n    time.sleep(0.01)" if busy == "sleeping" else "llm_query('take your time')"
    replies = {"q0": [repl("kept = 41\nFINAL('set')")], "q1": [repl(f"import time\n{slow}\nFINAL('never')")]}
    replies["q2"] = [repl("FINAL(f'kept={kept}')")]
    sub = ScriptedLM(lambda messages: "late", delay=5)
    async with RLM(by_question(replies), sub_lm=sub).session(context="c") as session:
        assert (await session.aask("q0")).answer == "set"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.aask("q1"), 0.5)
        assert (await session.aask("q2")).answer == "kept=41"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_thread_an_earlier_question_started_cannot_answer_the_next_through_answer(sandbox: str) -> None:
    # Its FINAL was refused, but `answer['ready'] = True` (the global name, now the next question's dict) finished
    # the next question with the earlier one's text.
    late = (
        "def late():\n    try:\n        answer['content'] = 'stale'\n        answer['ready'] = True\n"
        "    except RuntimeError as refused:\n        print(refused)\n"
    )
    lm = by_question(
        {
            "first": [repl("import threading\n" + late + "threading.Timer(0.3, late).start()\nFINAL('a1')")],
            "second": [repl("import time\ntime.sleep(0.8)\nprint('waited')"), repl("FINAL('a2')")],
        }
    )
    with RLM(lm, sandbox=sandbox).session() as session:
        assert session.ask("the first question").answer == "a1"
        assert session.ask("the second question").answer == "a2"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_raw_thread_an_earlier_question_left_cannot_answer_the_next_one(sandbox: str) -> None:
    # `_thread.start_new_thread` made no threading.Thread to mark when the next question began: its FINAL during
    # question 2 answered question 2 with question 1's value.
    first = (
        "import _thread, threading\ngo, done = threading.Event(), threading.Event()\nrefused = []\n"
        "def late():\n    go.wait(10)\n    try:\n        FINAL('stale answer')\n"
        "    except RuntimeError as exc:\n        refused.append(str(exc))\n    done.set()\n"
        "_thread.start_new_thread(late, ())\nFINAL('first answer')"
    )
    lm = ScriptedLM([repl(first), repl("go.set()\ndone.wait(10)\nprint(refused)"), repl("FINAL('second answer')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    assert "this thread was started by an earlier question of this session" in lm.calls[-1][-1]["content"]


POOLS = {
    "ThreadPoolExecutor": (
        "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)\npool.submit(print).result()",
        "pool.submit(finish, 'second answer').result()",
        "pool.shutdown()",
    ),
    "ThreadPool": (
        "from multiprocessing.pool import ThreadPool\npool = ThreadPool(1)\npool.apply(print)",
        "pool.map(finish, ['second answer'])",
        "pool.close()\npool.join()",
    ),
}


def runs_here(sandbox: str) -> None:
    """Skip where the isolated tier cannot run (no bubblewrap, no namespaces); the other tiers run everywhere."""
    if sandbox == "isolated" and (found := asyncio.run(probe())).mode("bwrap") is None:
        pytest.skip(f"the isolated tier cannot run here: {found.refusal('bwrap')}")


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess", "isolated"])
@pytest.mark.parametrize("kind", POOLS)
def test_a_pool_kept_from_an_earlier_question_answers_the_question_that_gives_it_work(sandbox: str, kind: str) -> None:
    # The pool's thread was question 1's: question 2's own task, submitted from its own cell, was refused as an
    # earlier question's, and question 2 ended on its fallback.
    runs_here(sandbox)
    make, use, close = POOLS[kind]
    finish = "def finish(text):\n    answer['content'] = text\n    answer['ready'] = True\n"
    second = f"{finish}try:\n    {use}\nfinally:\n" + "".join(f"    {line}\n" for line in close.splitlines())
    lm = ScriptedLM([repl(f"{make}\nFINAL('first answer')"), repl(second), repl("FINAL('fallback')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"


FINISH = "def finish(text):\n    answer['content'] = text\n    answer['ready'] = True\n"

LOOP_IN_A_THREAD = (
    "import asyncio, threading\nloop = asyncio.new_event_loop()\n"
    "runner = threading.Thread(target=loop.run_forever, daemon=True)\nrunner.start()"
)

KEPT_WORKERS = {
    "a ThreadPool's callback": (
        "from multiprocessing.pool import ThreadPool\nworkers = ThreadPool(1)\nworkers.apply(print)",
        "workers.apply_async(str, ('second answer',), callback=finish).wait(5)",
        "workers.close()",
    ),
    "a ThreadPool's error callback": (
        "from multiprocessing.pool import ThreadPool\nworkers = ThreadPool(1)\nworkers.apply(print)",
        "def fail(text):\n    raise ValueError(text)\n"
        "workers.map_async(fail, ['second answer'], error_callback=lambda exc: finish(exc.args[0])).wait(5)",
        "workers.close()",
    ),
    "a coroutine handed to an event loop's thread": (
        LOOP_IN_A_THREAD,
        "async def finishing(text):\n    await asyncio.sleep(0)\n    finish(text)\n"
        "asyncio.run_coroutine_threadsafe(finishing('second answer'), loop).result(5)",
        "loop.call_soon_threadsafe(loop.stop)\nrunner.join(5)\nloop.close()",
    ),
    "a callback handed to an event loop's thread": (
        LOOP_IN_A_THREAD,
        "finished = threading.Event()\n"
        "loop.call_soon_threadsafe(lambda: (finish('second answer'), finished.set()))\nfinished.wait(5)",
        "loop.call_soon_threadsafe(loop.stop)\nrunner.join(5)\nloop.close()",
    ),
    "a done callback on a future question 1 submitted": (
        "import threading\nfrom concurrent.futures import ThreadPoolExecutor\ngo = threading.Event()\n"
        "pending = ThreadPoolExecutor(1).submit(go.wait, 10)",
        "finished = threading.Event()\n"
        "pending.add_done_callback(lambda _: (finish('second answer'), finished.set()))\ngo.set()\nfinished.wait(5)",
        "pass",
    ),
}


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess", "isolated"])
@pytest.mark.parametrize("kind", KEPT_WORKERS)
def test_work_question_2_hands_to_a_kept_pool_or_loop_answers_question_2(sandbox: str, kind: str) -> None:
    # Only the task a kept pool was given counted as question 2's: its callbacks ran on the pool's result thread,
    # and what a loop running since question 1 was handed ran on that thread, both as question 1's work, so
    # question 2's own `answer` was refused and it ended on its fallback.
    runs_here(sandbox)
    make, use, close = KEPT_WORKERS[kind]
    lm = ScriptedLM(
        [repl(f"{make}\nFINAL('first answer')"), repl(f"{FINISH}{use}\n{close}"), repl("FINAL('fallback')")]
    )
    with RLM(lm, sandbox=sandbox, budget=Budget(cell_timeout=15)).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_refused_pool_callback_leaves_the_pool_working(sandbox: str) -> None:
    # Question 1's callback, run in question 2, is refused; the error ended the pool's result thread with it, and
    # every later map on the pool hung until the cell's time limit.
    first = (
        "import threading\nfrom multiprocessing.pool import ThreadPool\ngo = threading.Event()\n"
        "workers = ThreadPool(2)\ndef stale(_):\n    answer['content'] = 'stale'\n    answer['ready'] = True\n"
        "late = workers.apply_async(go.wait, (10,), callback=stale)\nFINAL('first answer')"
    )
    second = "go.set()\nlate.wait(5)\nprint('mapped', workers.map(str, [1, 2]))\nworkers.close()\nworkers.join()"
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL('second answer')")])
    with RLM(lm, sandbox=sandbox, budget=Budget(cell_timeout=10)).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    told = lm.calls[-1][-1]["content"]
    assert "mapped ['1', '2']" in told and "this thread was started by an earlier question of this session" in told


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize(
    "rebind", ["answer = {'content': '', 'ready': False}", "globals()['answer'] = dict(content='', ready=False)"]
)
def test_a_dict_the_model_binds_to_answer_keeps_an_earlier_questions_thread_out(sandbox: str, rebind: str) -> None:
    # The guard lived on the REPL's own dict only: once question 2 bound a dict of its own to `answer`, a thread
    # question 1 left set it ready, and question 2 ended after one cell with question 1's text.
    first = (
        "import threading\ngo, done = threading.Event(), threading.Event()\nrefused = []\n"
        "def late():\n    global answer\n    go.wait(10)\n"
        "    try:\n        answer['content'] = 'stale'\n        answer['ready'] = True\n"
        "    except RuntimeError:\n        refused.append('set')\n"
        "    try:\n        answer.update(content='stale', ready=True)\n"
        "    except RuntimeError:\n        refused.append('update')\n"
        "    try:\n        answer = {'content': 'stale', 'ready': True}\n"
        "    except RuntimeError:\n        refused.append('rebind')\n"
        "    done.set()\n"
        "threading.Thread(target=late).start()\nFINAL('first answer')"
    )
    second = f"{rebind}\ngo.set()\ndone.wait(10)\nprint('refused', refused, answer)"
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL('second answer')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    told = lm.calls[-1][-1]["content"]
    assert "refused ['set', 'update', 'rebind'] {'content': '', 'ready': False}" in told


IDLE_POOLS = {
    "with no initializer": "ThreadPoolExecutor(2)",
    "with an initializer of its own": "ThreadPoolExecutor(2, initializer=print, initargs=('ready',))",
}


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize("pool", IDLE_POOLS)
def test_an_idle_pool_kept_by_an_earlier_question_leaves_the_next_ones_answer_its_own(sandbox: str, pool: str) -> None:
    # A kept pool's threads counted as question 1's work for their whole life, idle or not: question 2's own
    # `exec("answer = ...")` was then undone as what earlier work may have bound, and it ended on its fallback.
    second = "exec(\"answer = {'content': 'two', 'ready': True}\")"
    first = (
        f"from concurrent.futures import ThreadPoolExecutor\npool = {IDLE_POOLS[pool]}\n"
        "print(list(pool.map(len, ['a', 'bb'])))\nFINAL('one')"
    )
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL('fallback')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "one"
        assert session.ask("q2").answer == "two"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_kept_pools_initializer_is_still_the_work_of_the_question_that_made_the_pool(sandbox: str) -> None:
    # The pool's threads are not counted (an idle one is nobody's work): its initializer, run as a later question
    # first gives the pool work, must still count as the maker's, whose binding of `answer` is not the later one's.
    first = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def stale():\n    globals()['answer'] = {'content': 'stale', 'ready': True}\n"
        "pool = ThreadPoolExecutor(1, initializer=stale)\nFINAL('one')"
    )
    lm = ScriptedLM([repl(first), repl("pool.submit(len, 'a').result(5)"), repl("FINAL('two')")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "one"
        assert session.ask("q2").answer == "two"


STALE_WRITES = {
    "through globals()": "globals()['answer'] = {'content': 'stale', 'ready': True}",
    "through globals().update": "globals().update(answer={'content': 'stale', 'ready': True})",
    "through a namespace saved in question 1": "saved['answer'] = {'content': 'stale', 'ready': True}",
    "through a generator expression made in question 1": "list(setting)",
}


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize("write", STALE_WRITES)
def test_an_earlier_questions_thread_cannot_answer_through_the_namespace(sandbox: str, write: str) -> None:
    # The guard was on the name `answer` in a cell's functions only: a question-1 thread that wrote the namespace
    # itself (globals(), a saved copy of it, a generator expression whose body only ran later) finished question 2
    # with question 1's text.
    first = (
        "import threading\ngo, done = threading.Event(), threading.Event()\nsaved = globals()\n"
        "setting = (answer.update(content=text, ready=True) for text in ['stale'])\n"
        f"def late():\n    go.wait(10)\n    try:\n        {STALE_WRITES[write]}\n"
        "    except RuntimeError:\n        print('refused')\n    done.set()\n"
        "threading.Thread(target=late).start()\nFINAL('first answer')"
    )
    second = "answer = {'content': 'mine', 'ready': False}\ngo.set()\ndone.wait(10)"
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL(answer['content'])")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "mine"


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize(
    "removal",
    ["answer.clear()", "answer.pop('content')", "del answer['content']", "[answer.popitem() for _ in list(answer)]"],
)
def test_an_earlier_questions_thread_cannot_erase_the_next_questions_answer(sandbox: str, removal: str) -> None:
    # Writes to `answer` from question 1's thread were refused, removals were not: question 2's draft was erased
    # and question 2 answered ''.
    first = (
        "import threading\ngo, done = threading.Event(), threading.Event()\n"
        f"def late():\n    go.wait(10)\n    try:\n        {removal}\n    except RuntimeError:\n        pass\n"
        "    done.set()\nthreading.Thread(target=late).start()\nFINAL('first answer')"
    )
    second = "answer['content'] = 'draft'\ngo.set()\ndone.wait(10)"
    lm = ScriptedLM([repl(first), repl(second), repl("answer['ready'] = True")])
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "draft"


@pytest.mark.parametrize("finish", ["FINAL('stale')", "answer['ready'] = True"])
def test_a_signal_handler_an_earlier_question_set_cannot_answer_the_next_one(finish: str) -> None:
    # Python runs a handler on the main thread, inside whichever cell runs there: question 1's handler ran as
    # question 2's work, and its FINAL answered question 2.
    first = (
        "import os, signal\n"
        f"def on_signal(signum, frame):\n    try:\n        {finish}\n    except RuntimeError as exc:\n"
        "        print('refused:', exc)\n"
        "signal.signal(signal.SIGUSR1, on_signal)\nassert signal.getsignal(signal.SIGUSR1) is on_signal\n"
        "FINAL('first answer')"
    )
    second = "answer['content'] = 'draft'\nos.kill(os.getpid(), signal.SIGUSR1)"
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL('second answer')")])
    with RLM(lm).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    assert "refused: " in lm.calls[-1][-1]["content"]


def test_a_refused_signal_handler_is_named_as_a_handler_not_a_thread() -> None:
    # The refusal of question 1's handler, run in question 2's main-thread cell, said "this thread was started by
    # an earlier question": the model looked for a thread it never started.
    first = (
        "import os, signal\n"
        "def on_deadline(signum, frame):\n    answer['content'] = 'partial'\n"
        "signal.signal(signal.SIGUSR1, on_deadline)\nFINAL('first answer')"
    )
    second = "os.kill(os.getpid(), signal.SIGUSR1)"
    lm = ScriptedLM([repl(first), repl(second), repl("FINAL('second answer')")])
    with RLM(lm).session(context="c") as session:
        assert session.ask("q1").answer == "first answer"
        assert session.ask("q2").answer == "second answer"
    told = lm.calls[-1][-1]["content"]
    assert "the signal handler on_deadline was set by an earlier question of this session" in told, told
    assert "this thread" not in told


# --- the names a session loads keep the meaning the prompt gives them (audit 23) --------------------------------


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize("change", ["context = context.split()", "del context", "context = None"])
def test_each_question_finds_every_context_as_its_prompt_describes_it(sandbox: str, change: str) -> None:
    # Question 2's prompt said "`context`: str, 16 characters" while the REPL held question 1's list (or nothing).
    lm = by_question(
        {
            "first": [repl(f"{change}\nkept = 'mine'\nFINAL('a1')")],
            "second": [
                repl("print(type(context).__name__, len(context), context_1)\ncontext_1 = 0"),
                repl("FINAL('a2')"),
            ],
            "third": [repl("FINAL(f'{context} / {context_1} / {kept}')")],
        }
    )
    with RLM(lm, sandbox=sandbox).session(context="alpha beta gamma") as session:
        session.ask("the first question")
        session.ask("the second question", context="added later")
        third = session.ask("the third question")
    assert "`context`: str, 16 characters" in lm.calls[1][1]["content"]
    assert "str 16 added later" in last_user(lm.calls[2])
    assert third.answer == "alpha beta gamma / added later / mine"  # the model's own variables stay


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize(
    "change",
    ["context.append('added')", "context.clear()", "context[0]['n'] = 99", "context.sort(key=str, reverse=True)"],
)
def test_a_json_context_changed_in_place_is_as_loaded_at_the_next_question(sandbox: str, change: str) -> None:
    # The second question's prompt describes `context` as loaded (2 items), but the REPL held question 1's edit.
    rows = [{"n": 1}, {"n": 2}]
    lm = by_question(
        {
            "first": [repl(f"{change}\nFINAL('a1')")],
            "second": [repl("print('seen', context, context_1)\ncontext_1.pop('b')"), repl("FINAL('a2')")],
            "third": [repl("FINAL(repr((context, context_1)))")],
        }
    )
    with RLM(lm, sandbox=sandbox).session(context=rows) as session:
        session.ask("the first question")
        session.ask("the second question", context={"a": 1, "b": 2})  # context_1 is loaded here, so unchanged yet
        third = session.ask("the third question")
    assert "seen [{'n': 1}, {'n': 2}] {'a': 1, 'b': 2}" in last_user(lm.calls[-2])
    assert third.answer == repr(([{"n": 1}, {"n": 2}], {"a": 1, "b": 2}))
    assert rows == [{"n": 1}, {"n": 2}]  # the caller's own list was never the REPL's


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
@pytest.mark.parametrize("change", ["history = ['my notes']", "del history", "history = None"])
def test_history_rebound_or_deleted_by_a_cell_is_put_back_with_a_note(sandbox: str, change: str) -> None:
    lm = by_question(
        {
            "first": [repl("FINAL('a1')")],
            "second": [repl(change), repl("print([h['question'] for h in history])"), repl("FINAL('a2')")],
        }
    )
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        session.ask("the first question")
        session.ask("the second question")
    note = last_user(lm.calls[-2])
    assert "Note: `history` was" in note and "earlier questions and answers" in note, note
    assert "['the first question']" in last_user(lm.calls[-1])


@pytest.mark.parametrize("moment", ["mid-cell", "mid-LM-call"])
async def test_a_session_closed_while_its_question_runs_lets_the_question_finish_first(moment: str) -> None:
    # a shutdown hook or a timeout handler closing the session: the running question got a bare AssertionError or
    # ConnectionResetError from a REPL it tried to restart after the close
    cell = repl("import time\ntime.sleep(0.6)\nFINAL(len(context))") if moment == "mid-cell" else repl("FINAL(4)")
    rlm = RLM(ScriptedLM([cell], delay=0.6 if moment == "mid-LM-call" else 0.0))
    async with rlm.session(context="abcd") as session:
        question = asyncio.create_task(session.aask("How long?"))
        await asyncio.sleep(0.3)
        waiting = asyncio.create_task(session.aask("And then?"))  # queued behind it: refused once closed
        await session.aclose()
        assert question.done() and (await question).answer == "4"
    with pytest.raises(InputError, match="this session is closed"):
        await waiting
    with pytest.raises(InputError, match="this session is closed"):
        await session.aask("after")


async def test_a_session_cannot_be_closed_from_inside_its_own_question() -> None:
    holder: dict[str, object] = {}

    async def close_it() -> str:
        session = holder["session"]
        assert hasattr(session, "aclose")
        try:
            await session.aclose()
        except InputError as exc:
            return str(exc)
        return "closed"

    rlm = RLM(ScriptedLM([repl("FINAL(close_it())")]), tools=[close_it])
    async with rlm.session(context="abcd") as session:
        holder["session"] = session
        result = await session.aask("q")
        assert "cannot be closed from inside its own question" in result.answer


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
def test_a_context_a_later_question_added_can_be_handed_to_a_child_rlm(sandbox: str) -> None:
    # context_1 lives in the root's worker, not in the zygote children fork from: the child was refused with
    # "fork_child: no parent context named ['context_1']" and no child ran
    def child(messages: list[Message]) -> str:
        if "seen:" in messages[-1]["content"]:
            return repl("FINAL('done')")
        return repl("print('seen:', next(v for k, v in globals().items() if k.startswith('context')))")

    root = ScriptedLM(
        [repl("FINAL('one')"), repl("print(rlm_query('in it?', context_1), rlm_query('and?', context))"), "FINAL(x)"]
    )
    children = ScriptedLM(child)
    rlm = RLM(root, depth_lms={1: children}, sandbox=sandbox, max_depth=2)
    with rlm.session(context="alpha beta") as session:
        session.ask("first?")
        session.ask("second?", context="second context")
    seen = sorted(line for call in children.calls for line in call[-1]["content"].splitlines() if "seen:" in line)
    assert seen == ["seen: alpha beta", "seen: second context"], [c[-1]["content"][-300:] for c in children.calls]


async def test_a_question_that_did_not_return_keeps_its_turn_and_is_in_history_with_why(tmp_path: Path) -> None:
    # A question that raised (here its caller gave up on it: a chat UI's Stop) gave its turn to the next: two traces
    # were "turn 2", the model of question 3 was told it was on question 2, and `history` skipped it.
    def reply(messages: list[Message]) -> str:
        if "q2" in messages[1]["content"].split("\n", 1)[0]:
            return repl("import time\ntime.sleep(30)")
        return repl("FINAL(len(history))")

    lm = ScriptedLM(reply)
    async with RLM(lm, trace_dir=tmp_path).session(context="c") as session:
        assert (await session.aask("q1")).answer == "0"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(session.aask("q2"), 1.0)
        assert (await session.aask("q3")).answer == "2"
    assert "question 3 of a session" in lm.calls[-1][1]["content"]
    assert session.history[1] == {"question": "q2", "answer": "", "error": "CancelledError"}
    starts = [json.loads(path.read_text().splitlines()[0]) for path in tmp_path.glob("*.jsonl")]
    assert sorted(start["session"]["turn"] for start in starts) == [1, 2, 3]


def test_a_refused_context_leaves_its_number_to_the_next_one() -> None:
    lm = ScriptedLM(lambda messages: repl("FINAL(sorted(n for n in globals() if n.startswith('context')))"))
    with RLM(lm).session(context="first") as session:
        session.ask("q1")
        with pytest.raises(InputError):
            session.ask("q2", context=object())  # no kind of context rlmx reads
        assert session.ask("q3", context="second").answer == '["context", "context_1"]'
