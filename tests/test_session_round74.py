"""Sessions, audit 74: a history past the frame cap, a setup cut short, a named context beside an unnamed one, and
a session dropped unclosed on an idle loop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

from rlmx import RLM, Budget, SandboxError, SetupError
from rlmx.context import prepare
from rlmx.events import Event
from rlmx.lm import ScriptedLM
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import repl

CAP = 1 << 20
"""A 1 MiB frame cap (sandbox option max_frame_bytes): the REPL's `history` may take half of it."""

SHOW_HISTORY = "FINAL(json.dumps([len(history), len(json.dumps(history)), [sorted(e) for e in history]]))"


def _repl_history(answer: str) -> tuple[int, int, list[list[str]]]:
    count, size, keys = json.loads(answer)
    return count, size, keys


# --- v01: a history past the frame cap ------------------------------------------------------------------------
def test_answers_that_together_pass_the_frame_cap_leave_every_later_question_working() -> None:
    def reply(messages: list[Any]) -> str:
        asked = messages[1]["content"].split("\n", 1)[0]
        return repl(f"import json\n{SHOW_HISTORY}") if "show" in asked else repl("FINAL('x' * 300_000)")

    with RLM(ScriptedLM(reply), sandbox_options={"max_frame_bytes": CAP}).session() as session:
        for n in range(6):  # 1.8 MB of answers: one frame of them all was over the cap from the fourth question on
            assert len(session.ask(f"big {n}").answer) == 300_000
        count, size, keys = _repl_history(session.ask("show history").answer)
    assert count == 6
    assert size <= CAP // 2
    assert all("note" in entry for entry in keys)  # each was cut, and says so
    assert [len(entry["answer"]) for entry in session.history[:6]] == [300_000] * 6  # the host keeps them whole


def test_one_answer_over_the_history_share_is_cut_in_the_middle_with_a_note() -> None:
    lm = ScriptedLM(
        [
            repl("FINAL('<' + 'y' * 700_000 + '>')"),
            repl("e = history[0]\nFINAL(f\"{e['answer'][:2]}|{e['answer'][-2:]}|{len(e['answer'])}|{e['note']}\")"),
        ]
    )
    with RLM(lm, sandbox_options={"max_frame_bytes": CAP}).session() as session:
        session.ask("one")
        head, tail, length, note = session.ask("two").answer.split("|")
    assert (head, tail) == ("<y", "y>")
    assert int(length) < CAP // 2
    assert "characters cut" in note
    assert len(session.history[0]["answer"]) == 700_002


def test_a_small_history_reaches_the_repl_whole_without_a_note() -> None:
    lm = ScriptedLM([repl("FINAL('short')"), repl("FINAL(history)")])
    with RLM(lm, sandbox_options={"max_frame_bytes": CAP}).session() as session:
        session.ask("one")
        assert session.ask("two").answer == '[{"question": "one", "answer": "short"}]'


async def test_variables_over_the_frame_cap_are_refused_clearly_and_the_repl_keeps_working() -> None:
    box = SubprocessSandbox(max_frame_bytes=CAP)
    await box.start([prepare("context", "abc")])
    try:
        await box.load([], {"history": [{"question": "q", "answer": "a"}]})
        with pytest.raises(SandboxError, match="max_frame_bytes"):
            await box.load([prepare("more", "m")], {"history": ["z" * CAP]})

        async def no_calls(call: Any) -> Any:
            raise AssertionError(call)

        result = await box.run_cell("print(history, context)", calls=no_calls, timeout=10)
        assert result.stdout.strip() == "[{'question': 'q', 'answer': 'a'}] abc"
        assert box.restarts == 0
    finally:
        await box.close()


# --- v02: a setup cut short runs again --------------------------------------------------------------------------
def price_of(item: str) -> int:
    """The price of an item."""
    return 3


SLOW_FIRST_SETUP = "tries = globals().get('tries', 0) + 1\nimport time\ntime.sleep(5 if tries == 1 else 0)\nHELPER = 7"
"""Setup code that takes 5 s the first time it runs in a REPL, and no time after."""

CHECK = repl("FINAL(f\"{price_of('w')}|{HELPER}|{tries}\")")


async def test_a_first_question_cancelled_during_its_setup_code_leaves_it_to_the_next_question() -> None:
    started = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.type == "sandbox_ready":
            started.set()

    rlm = RLM(ScriptedLM(lambda m: CHECK), tools=[price_of], setup_code=SLOW_FIRST_SETUP, on_event=on_event)
    async with rlm.session(context="c") as session:
        first = asyncio.create_task(session.aask("q1"))
        await started.wait()
        await asyncio.sleep(0.5)  # inside the setup code's sleep
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        second = await session.aask("q2")
    assert (second.status, second.answer) == ("finished", "3|7|2")


async def test_a_first_question_whose_setup_ran_out_of_time_leaves_it_to_the_next_question() -> None:
    rlm = RLM(
        ScriptedLM(lambda m: CHECK), tools=[price_of], setup_code=SLOW_FIRST_SETUP, budget=Budget(max_seconds=1.0)
    )
    async with rlm.session(context="c") as session:
        with pytest.raises(SetupError, match="timeout"):
            await session.aask("q1")
        second = await session.aask("q2")
        assert session.history[0]["error"].startswith("SetupError")
    assert (second.status, second.answer) == ("finished", "3|7|2")


def test_setup_runs_again_in_a_worker_that_replaced_a_dead_one_between_questions() -> None:
    rlm = RLM(
        ScriptedLM(lambda m: CHECK), tools=[price_of], setup_code="tries = globals().get('tries', 0) + 1\nHELPER = 7"
    )
    with rlm.session(context="c") as session:
        assert session.ask("q1").answer == "3|7|1"
        assert session.ask("q2").answer == "3|7|1"  # once per worker: not again while it lives
        worker = session._sandbox._worker  # type: ignore[union-attr]
        assert worker is not None
        os.kill(worker.pid, signal.SIGKILL)  # the next question's load finds it gone and starts another
        third = session.ask("q3")
    assert (third.status, third.answer) == ("finished", "3|7|1")


# --- v03: the unnamed context's number skips the names given beside it ----------------------------------------
def test_an_unnamed_context_skips_the_number_a_context_of_the_same_call_is_named() -> None:
    lm = ScriptedLM(lambda m: repl("FINAL(sorted(n for n in globals() if n.startswith('context')))"))
    with RLM(lm).session() as session:
        session.ask("q1", context="first")
        session.ask("q2", contexts={"context_1": "named"})
        session.ask("q3", context="unnamed")
        fourth = session.ask("q4", context="again", contexts={"context_3": "mine"})
    assert fourth.answer == '["context", "context_1", "context_2", "context_3", "context_4"]'


def test_the_named_context_keeps_its_value_and_the_unnamed_one_takes_the_next_number() -> None:
    lm = ScriptedLM(lambda m: repl("FINAL(f'{context_3}|{context_4}')"))
    with RLM(lm).session(context="zero") as session:
        session.ask("q1", context="one")
        session.ask("q2", context="two")
        assert session.ask("q3", context="unnamed", contexts={"context_3": "named"}).answer == "named|unnamed"


def test_an_unnamed_first_context_beside_one_named_context_takes_context_1() -> None:
    lm = ScriptedLM(lambda m: repl("FINAL(f'{context}|{context_1}')"))
    with RLM(lm).session() as session:
        assert session.ask("q", context="unnamed", contexts={"context": "named"}).answer == "named|unnamed"


# --- v04: a session dropped unclosed on an idle loop --------------------------------------------------------------
async def test_kill_now_stops_the_usage_watcher_and_closes_what_close_would() -> None:
    before = set(threading.enumerate())
    box = SubprocessSandbox()
    await box.start([prepare("context", "abc")])
    await asyncio.sleep(0.05)  # the watcher's task starts its thread
    watchers = [t for t in set(threading.enumerate()) - before if t.name == "rlmx-usage-watch"]
    assert len(watchers) == 1
    run_dir = box._dir
    assert run_dir is not None and box._held
    box.kill_now()
    watchers[0].join(2)
    assert not watchers[0].is_alive()
    assert not box._held and not run_dir.exists()
    await asyncio.sleep(0)  # the watcher's task, cancelled on its loop's next turn
    await box.close()  # nothing left to do, and no error


DROPPED = """
import asyncio, gc, os, threading, time
from rlmx import RLM
from rlmx.lm import ScriptedLM
rlm = RLM(ScriptedLM(lambda m: '```repl\\nFINAL(1)\\n```'))
def fds(): return len(os.listdir('/proc/self/fd'))
base = fds()
for _ in range(3):
    s = rlm.session().__enter__()
    s.ask('q')
    del s
    loop = asyncio.new_event_loop()
    s = rlm.session()
    loop.run_until_complete(s.aask('q'))
    del s, loop
    gc.collect()
time.sleep(0.5)
gc.collect()
print(sum(t.name == 'rlmx-usage-watch' for t in threading.enumerate()), fds() - base)
"""


def test_sessions_dropped_unclosed_on_idle_loops_leave_no_watcher_thread_and_no_descriptors() -> None:
    done = subprocess.run([sys.executable, "-c", DROPPED], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    watchers, fds = map(int, done.stdout.split())
    assert watchers == 0
    assert fds <= 2  # was 5 a session: each loop's selector and socket pair, the REPL's channel and context file
