"""The sync API at the edge of event loops and threads: a sync session asked from several threads or from inside a
running loop, a session asked again by its own tool, async sessions shared by tasks or closed from another loop,
and the blocking entry points (bench, CLI) called inside a running loop. Every case runs the real default sandbox,
and checks that its processes are gone afterwards where a leak was possible."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget, Event, InputError
from rlmx.lm import Message, ScriptedLM
from rlmx.sandbox import harden
from rlmx.session import Session
from scripting import repl

LENGTH = repl("FINAL(len(context))")


def sandbox_processes() -> list[int]:
    """Live REPL processes (zygotes, workers) under this test process."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if b"worker.py" not in cmdline or state == "Z":
            continue
        pid = int(entry)
        ancestry = [int(parent)]
        while ancestry[-1] > 1 and ancestry[-1] != me and len(ancestry) < 32:
            try:
                ancestry.append(int(Path(f"/proc/{ancestry[-1]}/stat").read_text().rsplit(")", 1)[1].split()[1]))
            except OSError:
                break
        if ancestry[-1] == me:
            found.append(pid)
    return found


_EARLIER: set[int] = set()
"""REPL processes some other test left alive: not this file's to count."""


def processes_left(timeout: float = 5.0) -> list[int]:
    """New REPL processes still alive once killed ones had `timeout` seconds to go (at once when there are none)."""
    end = time.monotonic() + timeout
    while (left := [p for p in sandbox_processes() if p not in _EARLIER]) and time.monotonic() < end:
        time.sleep(0.05)
    return left


@pytest.fixture(autouse=True)
def no_repl_left_over() -> Iterator[None]:
    _EARLIER.update(sandbox_processes())
    yield
    assert processes_left() == []


def length_rlm(delay: float = 0.0) -> RLM:
    return RLM(ScriptedLM(lambda messages: LENGTH, delay=delay))


# --- a sync session served to several threads, inside a running loop or not ------------------------------------


async def test_a_sync_session_opened_in_a_loop_answers_asks_sent_to_threads_and_closes() -> None:
    """An async handler keeps its loop free by asking on threads: the session's loop leaves the first asking
    thread for a private one, and the close, back on the loop's thread, still works."""
    with length_rlm().session(context="abcd") as session:
        first = await asyncio.to_thread(session.ask, "len?")
        with ThreadPoolExecutor(1) as other:  # surely another thread than the first
            second = await asyncio.get_running_loop().run_in_executor(other, session.ask, "len again?")
    assert (first.answer, second.answer) == ("4", "4")


@pytest.mark.parametrize("in_a_loop", [False, True], ids=["plain", "inside-a-running-loop"])
def test_two_threads_asking_one_sync_session_together_are_answered_in_turn(in_a_loop: bool) -> None:
    rlm = length_rlm(delay=0.3)  # the first question is still running when the second comes
    together = threading.Barrier(2)

    def ask(session_and_query: tuple[Session, str]) -> str:
        session, query = session_and_query
        together.wait()
        return session.ask(query).answer

    def block() -> tuple[list[str], str]:
        with rlm.session(context="abcd") as session:
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(ask, [(session, "one?"), (session, "two?")]))
            return answers, session.ask("three?").answer

    async def in_loop() -> tuple[list[str], str]:
        return block()

    answers, after = asyncio.run(in_loop()) if in_a_loop else block()
    assert (answers, after) == (["4", "4"], "4")


# --- a question asked from inside the session's own question ---------------------------------------------------


@pytest.mark.parametrize("form", ["sync", "sync-inside-a-running-loop", "async"])
def test_a_tool_asking_its_own_busy_session_gets_a_clear_error_at_once(form: str) -> None:
    held: dict[str, Session] = {}

    def ask_again(question: str) -> str:
        """Asks the session again."""
        return held["session"].ask(question).answer

    async def aask_again(question: str) -> str:
        """Asks the session again."""
        return (await held["session"].aask(question)).answer

    tool = aask_again if form == "async" else ask_again

    def reply(messages: list[Message]) -> str:
        if "this session is answering another question" in messages[-1]["content"]:
            return repl("FINAL('refused')")  # the tool raised in the cell, and the model read why
        return repl(f"FINAL({tool.__name__}('inner'))")

    rlm = RLM(ScriptedLM(reply), tools=[tool], budget=Budget(max_seconds=5))

    def sync_block() -> str:
        with rlm.session(context="abcd") as session:
            held["session"] = session
            return session.ask("outer").answer

    async def async_block() -> str:
        if form != "async":
            return sync_block()
        async with rlm.session(context="abcd") as session:
            held["session"] = session
            return (await session.aask("outer")).answer

    started = time.monotonic()
    answer = sync_block() if form == "sync" else asyncio.run(async_block())
    assert answer == "refused"
    assert time.monotonic() - started < 4  # refused at once, not waited on until the time budget ran out


# --- async sessions: tasks asking together, a close from another loop, `await` inside a sync `with` -------------


async def test_questions_asked_together_on_a_new_async_session_are_answered_in_turn() -> None:
    async with length_rlm(delay=0.1).session(context="abcd") as session:
        answers = await asyncio.gather(*(session.aask(f"q{n}?") for n in range(3)))
        after = await session.aask("after?")
    assert [a.answer for a in answers] + [after.answer] == ["4"] * 4


def _first_loop_ended(how: str) -> tuple[asyncio.AbstractEventLoop | None, threading.Thread | None]:
    """A loop to start a session's REPL on, left as `how` says once its question is answered."""
    if how == "asyncio-run-ended":
        return None, None
    loop = asyncio.new_event_loop()
    if how == "running-on-another-thread":
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        return loop, thread
    return loop, None


@pytest.mark.parametrize(
    "how", ["asyncio-run-ended", "idle", "running-on-another-thread", "closed-without-shutting-down"]
)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
def test_an_async_session_closed_from_another_loop_ends_its_processes(how: str) -> None:
    session = length_rlm().session(context="abcd")
    loop, thread = _first_loop_ended(how)
    if loop is None:
        answer = asyncio.run(session.aask("len?")).answer
    elif thread is not None:
        answer = asyncio.run_coroutine_threadsafe(session.aask("len?"), loop).result(timeout=30).answer
    else:
        answer = loop.run_until_complete(session.aask("len?")).answer
        if how == "closed-without-shutting-down":
            loop.close()  # its REPL was not closed with it: only killing is left
    assert answer == "4"
    asyncio.run(session.aclose())  # no "started on another event loop"
    assert processes_left() == []
    if loop is not None:
        if thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        loop.close()
    if how == "closed-without-shutting-down":
        # That loop's REPL channels warn when collected: here, where it is expected, not in a later test. asyncio's
        # child watcher holds them until it has reaped the killed processes.
        for waiter in [t for t in threading.enumerate() if t.name.startswith("waitpid-")]:
            waiter.join(timeout=5)
        del session, loop
        gc.collect()


async def test_awaiting_aask_inside_a_sync_with_block_works_and_closes() -> None:
    with length_rlm().session(context="abcd") as session:
        answer = (await session.aask("len?")).answer
    assert answer == "4"


# --- blocking entry points inside a running loop, and what they leave behind -----------------------------------


async def test_the_bench_runner_runs_a_task_inside_a_running_loop(tmp_path: Path) -> None:
    from rlmx.bench.runner import RunSpec, run_key_blocking

    lm = ScriptedLM(lambda messages: repl("FINAL('The number is 1.')"))
    spec = RunSpec(families=["sniah"], lengths=[1024], n=1, methods=["rlm"], model="scripted", out=tmp_path)
    record, _ = run_key_blocking(spec, lm, next(spec.planned()))
    assert record["status"] == "ok"


def _ask_argv(tmp_path: Path) -> list[str]:
    (tmp_path / "context.txt").write_text("abcd", encoding="utf-8")
    (tmp_path / "script.json").write_text(json.dumps([LENGTH]), encoding="utf-8")
    return [
        "ask", "len?", "--context", str(tmp_path / "context.txt"), "--scripted", str(tmp_path / "script.json"),
        "--trace-dir", str(tmp_path / "traces"), "--quiet",
    ]  # fmt: skip


async def test_the_cli_answers_when_main_is_called_inside_a_running_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlmx.cli import main

    assert main(_ask_argv(tmp_path)) == 0
    assert capsys.readouterr().out.strip() == "4"


def test_the_cli_gives_back_the_callers_ctrl_c_handler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlmx.cli import main

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    before = signal.signal(signal.SIGINT, mine)
    try:
        assert main(_ask_argv(tmp_path)) == 0
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, before)


async def test_a_benchmark_run_from_the_cli_works_inside_a_running_loop(tmp_path: Path) -> None:
    """`rlmx bench run` as `main([...])` in a notebook cell: its runs go to rlmx's loop thread, as `ask`'s do."""
    from rlmx.cli import main

    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('The special magic number is 1234567.')")] * 4), encoding="utf-8")
    argv = ["bench", "run", "--family", "sniah", "--lengths", "1k", "--n", "1", "--method", "base,rlm",
            "--scripted", str(script), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    records = (tmp_path / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["method"] for line in records) == ["base", "rlm1"]


@pytest.mark.parametrize("call", ["completion", "session"])
def test_a_sync_call_leaves_the_threads_current_event_loop_as_it_was(call: str) -> None:
    rlm = length_rlm()
    policy = asyncio.get_event_loop_policy()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        if call == "completion":
            assert rlm.completion("len?", context="abcd").answer == "4"
        else:
            with rlm.session(context="abcd") as session:
                assert session.ask("len?").answer == "4"
        assert policy.get_event_loop() is loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_one_ctrl_c_under_asyncio_run_stops_a_sync_call_blocked_in_the_loop() -> None:
    """asyncio.run's first Ctrl-C only cancels its main task, which is blocked in the sync call: the call sees the
    cancellation, stops its run (the REPL killed), and asyncio.run raises KeyboardInterrupt."""

    def on_event(event: Event) -> None:
        if event.type == "cell_start":  # the caller is blocked in completion() by now
            os.kill(os.getpid(), signal.SIGINT)

    def reply(messages: list[Message]) -> str:
        return repl("import time\ntime.sleep(30)\nFINAL(1)")

    rlm = RLM(ScriptedLM(reply), on_event=on_event)

    async def cell() -> str:
        return rlm.completion("q", context="abcd").answer

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(cell())
    assert time.monotonic() - started < 10


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
@pytest.mark.parametrize("call", ["completion", "session"])
def test_one_ctrl_c_under_asyncio_run_stops_a_sync_call_made_in_a_loop_callback(call: str) -> None:
    """A GUI slot or a `loop.call_soon` callback has no task for asyncio.run's first Ctrl-C to cancel: it cancels
    the main task, which the blocked loop cannot run. The call sees that, stops its run and raises
    KeyboardInterrupt, as plain sync code does on Ctrl-C."""

    def on_event(event: Event) -> None:
        if event.type == "cell_start":  # the callback is blocked in the call by now
            os.kill(os.getpid(), signal.SIGINT)

    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(30)\nFINAL(1)")), on_event=on_event)

    def blocking_work() -> None:
        if call == "completion":
            rlm.completion("q", context="abcd")
        else:
            with rlm.session(context="abcd") as session:
                session.ask("q")

    async def app() -> None:
        loop = asyncio.get_running_loop()
        clicked = loop.create_future()

        def on_click() -> None:
            blocking_work()
            clicked.set_result(None)

        loop.call_soon(on_click)
        await clicked

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(app())
    assert time.monotonic() - started < 10


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_one_ctrl_c_under_asyncio_run_stops_a_sync_call_nested_in_an_event_handler() -> None:
    """Inside a running loop the sync call runs on rlmx's helper thread, where its on_event handler makes a sync call
    of its own: that one blocks the very loop which was to deliver the run's cancellation, so Ctrl-C waited for
    the nested run to end (its 30 s cell). The nested call stops with the run it is part of."""

    def on_nested_event(event: Event) -> None:
        if event.type == "cell_start":  # both calls are blocked by now
            os.kill(os.getpid(), signal.SIGINT)

    slow = repl("import time\ntime.sleep(30)\nFINAL(1)")
    reviewer = RLM(ScriptedLM(lambda messages: slow), on_event=on_nested_event)

    def on_event(event: Event) -> None:
        if event.type == "cell_start":
            reviewer.completion("review this", context="abcd")

    rlm = RLM(ScriptedLM(lambda messages: slow), on_event=on_event)

    async def cell() -> str:
        return rlm.completion("q", context="abcd").answer

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(cell())
    assert time.monotonic() - started < 10


def _ctrl_c_at_cell_start(event: Event) -> None:
    if event.type == "cell_start":  # the caller is blocked in the sync call by now
        os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
@pytest.mark.parametrize("app_handler", ["loop.add_signal_handler", "a flag (uvicorn)", "a callback (ipykernel)"])
@pytest.mark.parametrize("blocked_in", ["a task", "a callback"])
def test_a_ctrl_c_the_apps_own_handler_leaves_to_the_blocked_loop_stops_a_sync_call(
    app_handler: str, blocked_in: str
) -> None:
    """An app that handles Ctrl-C itself (aiohttp and the asyncio docs' loop.add_signal_handler, uvicorn's flag,
    ipykernel's callback that cancels the cell) cancels nothing at once: its loop is to act, and the sync call
    blocks it. The call stops its run, as if cancelled in a task (a KeyboardInterrupt there would end the whole
    loop) and with KeyboardInterrupt in a callback; the app's handler still gets its turn afterwards."""
    rlm = RLM(
        ScriptedLM(lambda messages: repl("import time\ntime.sleep(30)\nFINAL(1)")), on_event=_ctrl_c_at_cell_start
    )

    async def app() -> tuple[str, bool]:
        loop = asyncio.get_running_loop()
        heard: list[int] = []
        if app_handler == "loop.add_signal_handler":
            loop.add_signal_handler(signal.SIGINT, heard.append, signal.SIGINT)
        elif app_handler == "a flag (uvicorn)":
            signal.signal(signal.SIGINT, lambda signum, frame: heard.append(signum))
        else:
            signal.signal(signal.SIGINT, lambda signum, frame: loop.call_soon_threadsafe(heard.append, signum))
        outcome = loop.create_future()

        def blocking_work() -> None:
            try:
                rlm.completion("q", context="abcd")
                outcome.set_result("answered")
            except BaseException as exc:
                outcome.set_result(type(exc).__name__)
                if not isinstance(exc, KeyboardInterrupt):
                    raise

        async def in_a_task() -> None:
            await asyncio.sleep(0)
            blocking_work()

        if blocked_in == "a task":
            job = asyncio.create_task(in_a_task())
            await asyncio.gather(job, return_exceptions=True)
        else:
            loop.call_soon(blocking_work)
        stopped_by = await asyncio.wait_for(outcome, 10)
        while not heard:  # the app's own handler has its turn once the loop is free
            await asyncio.sleep(0.01)
        return stopped_by, heard == [signal.SIGINT]

    before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    try:
        stopped_by = asyncio.run(app())
    finally:
        signal.signal(signal.SIGINT, before)
    assert time.monotonic() - started < 10
    assert stopped_by == ("CancelledError" if blocked_in == "a task" else "KeyboardInterrupt", True)
    assert processes_left() == []


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
@pytest.mark.parametrize("caller", ["plain code", "inside asyncio.run"])
def test_one_ctrl_c_stops_a_run_nested_in_a_sync_tool(caller: str) -> None:
    """Agent as a tool: a sync tool (on a thread of its own, its run on a loop of its own) asks another RLM. One
    Ctrl-C stops the outer run, and the nested one with it: its REPL does not run on through its 30 s cell."""
    inner = RLM(
        ScriptedLM(lambda messages: repl("import time\ntime.sleep(30)\nFINAL(1)")), on_event=_ctrl_c_at_cell_start
    )
    nested_ended = threading.Event()

    def sub_agent(question: str) -> str:
        """Ask the sub-agent."""
        try:
            return str(inner.completion(question, context="abcd").answer)
        finally:
            nested_ended.set()

    outer = RLM(ScriptedLM(lambda messages: repl("print(sub_agent('x'))\nFINAL('outer')")), tools=[sub_agent])

    async def in_a_loop() -> str:
        return str(outer.completion("q", context="abcd").answer)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        if caller == "plain code":
            outer.completion("q", context="abcd")
        else:
            asyncio.run(in_a_loop())
    assert nested_ended.wait(5), "the nested run went on after Ctrl-C"
    assert time.monotonic() - started < 10
    assert processes_left() == []


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_one_ctrl_c_under_acompletion_stops_a_run_nested_in_an_async_tool_and_closes_both() -> None:
    """An `async def` tool blocking the loop in a sync completion(): the Ctrl-C comes out of it as a
    KeyboardInterrupt, which asyncio.run's cleanup met a second time at the tool's wait and stopped at, its loop
    closed with the outer run's REPL processes still running (until the program ended)."""
    inner = RLM(
        ScriptedLM(lambda messages: repl("import time\ntime.sleep(30)\nFINAL(1)")), on_event=_ctrl_c_at_cell_start
    )

    async def sub_agent(question: str) -> str:
        """Ask the sub-agent."""
        return str(inner.completion(question, context="abcd").answer)

    outer = RLM(ScriptedLM(lambda messages: repl("print(sub_agent('x'))\nFINAL('outer')")), tools=[sub_agent])
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(outer.acompletion("q", context="abcd"))
    assert time.monotonic() - started < 10
    assert processes_left() == []


def _slow_rlm(on_event: Any = None) -> RLM:
    """Each run's one cell sleeps 30 s: only a stop ends it in time."""
    return RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(30)\nFINAL(1)")), on_event=on_event)


def _once(send: Any) -> Any:
    """An on_event handler that calls `send()` at the first cell start of all the runs it serves."""
    sent = threading.Event()

    def on_event(event: Event) -> None:
        if event.type == "cell_start" and not sent.is_set():
            sent.set()
            send()

    return on_event


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_an_apps_ctrl_c_handler_that_cancels_its_main_task_shuts_down_gracefully_past_a_blocked_sync_call() -> None:
    """The app's own SIGINT handler cancels its main task, which then awaits its worker, blocked in a sync call.
    That is a graceful shutdown, not Python's Ctrl-C: the worker's call stops as a cancellation, and the app
    returns as it chose (a KeyboardInterrupt would come out of asyncio.run after the shutdown, and kill it)."""
    rlm = _slow_rlm(_once(_sigint))

    async def job() -> str:
        await asyncio.sleep(0)
        try:
            rlm.completion("q", context="abcd")
        except BaseException as exc:
            return type(exc).__name__
        return "answered"

    async def service() -> str:
        main = asyncio.current_task()
        assert main is not None
        signal.signal(signal.SIGINT, lambda signum, frame: main.cancel())
        worker = asyncio.create_task(job())
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            return await asyncio.wait_for(worker, 30)
        raise AssertionError("Ctrl-C never came")

    before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    try:
        stopped_by = asyncio.run(service())
    finally:
        signal.signal(signal.SIGINT, before)
    assert (stopped_by, time.monotonic() - started < 10) == ("CancelledError", True)


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_one_ctrl_c_stops_a_sync_call_made_in_a_signal_handler_inside_another_blocked_call() -> None:
    """A task blocks in a sync call; a SIGUSR1 "status report" handler makes a sync call of its own inside it; the
    app handles Ctrl-C with loop.add_signal_handler. The nested call must see through the outer call's note of
    SIGINT to the app's handler: one Ctrl-C stops both calls, and the app's handler then has its turn."""
    report = _slow_rlm(_once(_sigint))
    main = _slow_rlm(_once(lambda: os.kill(os.getpid(), signal.SIGUSR1)))
    seen: dict[str, str] = {}

    def on_usr1(signum: int, frame: Any) -> None:
        try:
            report.completion("status?", context="abcd")
        except BaseException as exc:
            seen["report"] = type(exc).__name__
            raise

    async def app() -> bool:
        heard = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, heard.set)

        async def job() -> None:
            await asyncio.sleep(0)
            try:
                main.completion("q", context="abcd")
            except BaseException as exc:
                seen["main"] = type(exc).__name__

        await asyncio.gather(asyncio.create_task(job()), return_exceptions=True)
        await asyncio.wait_for(heard.wait(), 10)
        return heard.is_set()

    before = signal.signal(signal.SIGUSR1, on_usr1)
    started = time.monotonic()
    try:
        heard = asyncio.run(app())
    finally:
        signal.signal(signal.SIGUSR1, before)
    assert time.monotonic() - started < 10
    assert (heard, seen) == (True, {"report": "CancelledError", "main": "CancelledError"})
    assert processes_left() == []


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
def test_one_ctrl_c_the_app_handles_is_not_lost_to_the_next_blocking_call_already_waiting_its_turn() -> None:
    """A batch of tasks, each a sync call, under an app's loop.add_signal_handler. One Ctrl-C stops the call in
    progress; the next task, ready in the same loop turn ahead of the app's handler, stops at once too instead of
    blocking the loop for its whole run, so the app's handler gets its turn."""
    rlm = _slow_rlm(_once(_sigint))

    async def answer() -> str:
        await asyncio.sleep(0)
        try:
            rlm.completion("q", context="abcd")
        except BaseException as exc:
            return type(exc).__name__
        return "answered"

    async def app() -> list[str]:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        batch = asyncio.gather(*(answer() for _ in range(3)))
        await asyncio.wait_for(stop.wait(), 10)
        return await batch

    started = time.monotonic()
    stopped_by = asyncio.run(app())
    assert time.monotonic() - started < 10
    assert stopped_by == ["CancelledError"] * 3
    assert processes_left() == []


_SLOW = repl("import time\ntime.sleep(30)\nFINAL(1)")


def _outcome(work: Any) -> str:
    try:
        return str(work())
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        return type(exc).__name__


def _raise_ctrl_c(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
@pytest.mark.parametrize("handler", ["Python's own", "the app's, raising", "the app's, returning"])
@pytest.mark.parametrize("call", ["completion", "session.ask", "with rlm.session()"])
def test_a_ctrl_c_handled_in_a_loop_stops_one_sync_call_and_the_next_call_runs(handler: str, call: str) -> None:
    """A kernel's loop (ipykernel, run_until_complete: Python's own Ctrl-C raises KeyboardInterrupt in the cell)
    or an app's handler: one Ctrl-C stops the blocked call once. The cell catches it and calls again in the same
    loop turn: that call runs (the Ctrl-C stayed pending and stopped it at once), and a `with` block's exit after
    the stopped question closes the session instead of replacing the KeyboardInterrupt with a CancelledError."""
    calls = iter(range(1000))
    rlm = RLM(ScriptedLM(lambda messages: _SLOW if next(calls) == 0 else LENGTH), on_event=_once(_sigint))

    def in_a_with_block() -> Any:
        with rlm.session(context="abcd") as session:
            return session.ask("q").answer

    async def cell() -> tuple[str, str]:
        if call == "completion":
            first = _outcome(lambda: rlm.completion("q", context="abcd").answer)
            return first, _outcome(lambda: rlm.completion("q", context="abcd").answer)
        if call == "session.ask":
            with rlm.session(context="abcd") as session:
                first = _outcome(lambda: session.ask("q").answer)
                return first, _outcome(lambda: session.ask("q").answer)
        first = _outcome(in_a_with_block)
        assert processes_left() == []  # the exit closed the session's REPL
        return first, _outcome(lambda: rlm.completion("q", context="abcd").answer)

    handlers = {"the app's, raising": _raise_ctrl_c, "the app's, returning": lambda signum, frame: None}
    before = signal.signal(signal.SIGINT, handlers.get(handler, signal.default_int_handler))
    loop = asyncio.new_event_loop()
    started = time.monotonic()
    try:
        outcomes = loop.run_until_complete(cell())
    finally:
        loop.close()
        signal.signal(signal.SIGINT, before)
    stopped_by = "CancelledError" if handler == "the app's, returning" else "KeyboardInterrupt"
    assert outcomes == (stopped_by, "4")
    assert time.monotonic() - started < 15


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Python's own Ctrl-C handling"
)
@pytest.mark.parametrize("stop", ["Ctrl-C", "a cancel scope"])
@pytest.mark.parametrize("call", ["completion", "session"])
def test_trio_stops_a_sync_call_it_runs_on_a_worker_thread(call: str, stop: str) -> None:
    """README's way under trio: `await trio.to_thread.run_sync(rlm.completion ...)`. trio cannot abandon the
    thread, so the call itself asks trio whether it was cancelled: one Ctrl-C (a KeyboardInterrupt out of
    trio.run) or the end of a cancel scope stops it within a second or so, its REPL gone."""
    trio = pytest.importorskip("trio")
    rlm = _slow_rlm(_once(_sigint) if stop == "Ctrl-C" else None)

    def ask() -> None:
        if call == "completion":
            rlm.completion("q", context="abcd")
        else:
            with rlm.session(context="abcd") as session:
                session.ask("q")

    async def main() -> None:
        with trio.move_on_after(1 if stop == "a cancel scope" else 60):
            await trio.to_thread.run_sync(ask)

    started = time.monotonic()
    if stop == "Ctrl-C":
        with pytest.raises(KeyboardInterrupt):
            trio.run(main)
    else:
        trio.run(main)
    assert time.monotonic() - started < 10
    assert processes_left() == []


@pytest.mark.parametrize("call", ["completion", "session"])
def test_a_shutdown_signal_cancelling_the_main_task_lets_a_sync_call_in_another_task_finish(call: str) -> None:
    """A service's graceful shutdown: its SIGTERM handler cancels the main task, which then waits for its workers,
    while one of them is blocked in a sync call. Nobody pressed Ctrl-C: the call ends as it would, and the shutdown
    gets its answer (the call raised KeyboardInterrupt, and the process died by SIGINT)."""

    def on_event(event: Event) -> None:
        if event.type == "cell_start":  # the worker task is blocked in the call by now
            os.kill(os.getpid(), signal.SIGTERM)

    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(0.5)\nFINAL(len(context))")), on_event=on_event)

    def ask() -> Any:
        if call == "completion":
            return rlm.completion("q", context="abcd").answer
        with rlm.session(context="abcd") as session:
            return session.ask("q").answer

    async def job() -> Any:
        await asyncio.sleep(0)
        try:
            return ask()
        except KeyboardInterrupt:  # kept in: it would stop the whole test session
            return "KeyboardInterrupt"

    async def service() -> Any:
        main = asyncio.current_task()
        assert main is not None
        before = signal.signal(signal.SIGTERM, lambda signum, frame: main.cancel())
        try:
            worker = asyncio.create_task(job())
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                return await asyncio.wait_for(worker, 30)
            raise AssertionError("SIGTERM never came")
        finally:
            signal.signal(signal.SIGTERM, before)

    assert asyncio.run(service()) == "4"


def test_a_forked_process_cannot_use_or_close_its_parents_session() -> None:
    rlm = RLM(ScriptedLM(lambda messages: repl("kept = 42\nFINAL(kept)") if len(messages) < 3 else repl("FINAL(kept)")))
    with rlm.session(context="x") as session:
        assert session.ask("q").answer == "42"
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe and leaves at once
            try:
                session.ask("q")
                said = b"answered"
            except InputError as exc:
                said = b"refused: " + str(exc).encode()[:200]
            session.__exit__(None, None, None)  # leaving the block in the child must not touch the parent's REPL
            os.write(write, said)
            os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        said = os.read(read, 400)
        os.close(read)
        assert said.startswith(b"refused: this session belongs to process")
        assert session.ask("q").answer == "42"  # the parent's REPL and its variables are intact


def test_closing_one_session_from_two_threads_at_once_closes_it_once() -> None:
    def leave(session: Session, errors: list[BaseException]) -> None:
        try:
            session.__exit__(None, None, None)
        except BaseException as exc:  # any error is the failure this test looks for
            errors.append(exc)

    for _ in range(3):
        session = length_rlm().session(context="abcd")
        session.__enter__()
        session.ask("q")
        errors: list[BaseException] = []
        threads = [threading.Thread(target=leave, args=(session, errors)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []


def test_a_session_dropped_without_closing_ends_its_processes() -> None:
    session = length_rlm().session(context="abcd")
    session.__enter__()
    assert session.ask("q").answer == "4"
    del session
    gc.collect()  # the finalizer kills the REPL's processes; the autouse fixture checks none is left


def test_the_async_api_driven_by_another_event_loop_says_it_needs_asyncio() -> None:
    # trio (or any other loop) steps the coroutine itself, with no asyncio loop running
    rlm = RLM(ScriptedLM([repl("FINAL(1)")]))
    for coroutine in (rlm.acompletion("q", context="c"), rlm.stream("q", context="c").__anext__()):
        with pytest.raises(InputError, match=r"runs on asyncio, and no asyncio event loop is running here \(trio\?\)"):
            coroutine.send(None)
        coroutine.close()


@pytest.mark.parametrize("where", ["atexit", "thread"])
def test_a_call_made_while_python_shuts_down_says_so_instead_of_a_traceback(where: str) -> None:
    # After the main program returns, Python's executors refuse new work: an atexit handler (or a non-daemon
    # thread still running) got "can't register atexit after shutdown" from deep inside the run.
    script = (
        "import atexit, sys, threading, time\n"
        "sys.path.insert(0, 'tests')\n"
        "from rlmx import RLM, InputError\n"
        "from rlmx.lm import ScriptedLM\n"
        "from scripting import repl\n"
        "def late():\n"
        "    if threading.current_thread() is not threading.main_thread(): time.sleep(0.5)\n"
        "    try:\n"
        "        RLM(ScriptedLM([repl('FINAL(1)')])).completion('q', context='c')\n"
        "    except InputError as exc:\n"
        "        print('InputError:', exc)\n"
        + ("atexit.register(late)\n" if where == "atexit" else "threading.Thread(target=late).start()\n")
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "InputError: rlmx was called while Python is shutting down" in done.stdout


@pytest.mark.parametrize("uid_sweep", [True, False], ids=["root", "without-the-uid-sweep"])
async def test_runs_cut_short_by_an_anyio_cancel_scope_end_their_processes_and_sockets(
    monkeypatch: pytest.MonkeyPatch, uid_sweep: bool
) -> None:
    # anyio (Starlette's disconnects, move_on_after) cancels again at every await, so the sandbox's close was cut
    # at its first one: the zygote's socket leaked, and without root's uid sweep the worker and zygote lived on.
    anyio = pytest.importorskip("anyio")
    if not uid_sweep:
        monkeypatch.setattr(harden, "kill_uid", lambda uid: None)
    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(0.4)\nFINAL(len(context))"), delay=0.05))
    for delay in (0.01, 0.1, 0.3):
        with anyio.move_on_after(delay):
            await rlm.acompletion("q", context="abcd")
        assert processes_left() == []
    gc.collect()  # an unclosed socket warns here, which this suite turns into a failure
    assert (await rlm.acompletion("q", context="abcd")).answer == "4"


@pytest.mark.parametrize("caller", ["plain code", "inside a running loop"])
def test_sync_code_iterates_a_stream_and_leaving_early_ends_its_run(caller: str) -> None:
    # `for item in rlm.stream(...)` failed with Python's bare "'async_generator' object is not iterable".
    rlm = RLM(ScriptedLM([repl("x = 6 * 7"), repl("FINAL(x)")]))
    slow = _slow_rlm()

    def both() -> tuple[list[str], float]:
        items = [item.type if isinstance(item, Event) else str(item.answer) for item in rlm.stream("q", context="c")]
        started = time.monotonic()
        for item in slow.stream("q", context="abcd"):
            if isinstance(item, Event) and item.type == "cell_start":
                assert sandbox_processes()
                break
        return items, time.monotonic() - started

    async def in_a_loop() -> tuple[list[str], float]:
        return both()

    items, seconds = both() if caller == "plain code" else asyncio.run(in_a_loop())
    assert items[0] == "run_start" and items[-2:] == ["run_end", "42"] and items.count("cell") == 2
    assert seconds < 10
    assert processes_left(timeout=0) == []  # the break waited for the run's end: its REPL is gone already


def test_a_sync_wrapper_of_stream_dropped_midway_ends_the_run_when_collected() -> None:
    # What many write first: no finally. anext() starts the generator while no loop runs, so Python closes it
    # synchronously when it is dropped (no loop hook): its cleanup cannot await, and the workers outlived it.
    loop = asyncio.new_event_loop()
    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(20)\nFINAL(1)")))

    def events() -> Iterator[Any]:
        stream = rlm.stream("q", context="abcd")
        while True:
            try:
                yield loop.run_until_complete(anext(stream))
            except StopAsyncIteration:
                return

    try:
        wrapper = events()
        for item in wrapper:
            if isinstance(item, Event) and item.type == "cell_start":
                break
        assert sandbox_processes()
        del wrapper, item
        gc.collect()  # "async generator ignored GeneratorExit" would fail the test here
        assert processes_left(timeout=0) == []
    finally:
        loop.close()


def test_a_stream_stepped_from_sync_code_on_a_loop_thread_ends_its_run_when_dropped() -> None:
    # The Gradio/Streamlit form: the loop runs on a thread of its own, and sync code steps the stream there with
    # run_coroutine_threadsafe. Dropped midway, the generator is closed on the sync thread: the run must be
    # cancelled on its loop's thread (which must be woken for it), not left running until that loop next wakes.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(20)\nFINAL(1)")))

    def events() -> Iterator[Any]:
        stream = rlm.stream("q", context="abcd")
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(anext(stream), loop).result()
            except StopAsyncIteration:
                return

    async def tasks_left() -> int:
        return len(asyncio.all_tasks()) - 1

    async def cancel_the_rest() -> None:
        rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    try:
        wrapper = events()
        for item in wrapper:
            if isinstance(item, Event) and item.type == "cell_start":
                break
        assert sandbox_processes()
        del wrapper, item
        gc.collect()
        assert processes_left(timeout=0) == []
        assert asyncio.run_coroutine_threadsafe(tasks_left(), loop).result(timeout=10) == 0
    finally:
        asyncio.run_coroutine_threadsafe(cancel_the_rest(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def test_a_stream_stepped_on_an_idle_loop_ends_its_run_when_dropped_where_another_loop_runs() -> None:
    # A sync wrapper steps the stream on a private loop it keeps idle between steps, then an async handler drops it.
    # The handler's thread cannot run the private loop (its own loop runs there), and nothing says the private
    # loop will ever run again: only cancelling the run left its REPL alive until the handler's loop ended.
    private = asyncio.new_event_loop()
    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(20)\nFINAL(1)")))
    held = [rlm.stream("q", context="abcd")]
    try:
        while not isinstance(item := private.run_until_complete(anext(held[0])), Event) or item.type != "cell_start":
            pass
        assert sandbox_processes()

        async def handler() -> list[int]:
            held.clear()
            gc.collect()
            return await asyncio.to_thread(processes_left)

        assert asyncio.run(handler()) == []
    finally:
        for _ in range(300):  # the run was ended on a helper thread, which lets the loop go once it has
            if not private.is_running():
                break
            time.sleep(0.1)
        private.close()


@pytest.mark.parametrize("collected_in", ["a callback", "a task"])
def test_a_stream_collected_on_its_loops_own_thread_ends_its_run_quietly(collected_in: str) -> None:
    # Stepped from sync code through a loop thread, the generator has no loop hooks: the GC closes it synchronously,
    # here on its loop's own thread (in a callback, or amid another task). Its cleanup must not await there ("async
    # generator ignored GeneratorExit", which this suite turns into a failure); the run must end all the same.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    rlm = RLM(ScriptedLM(lambda messages: repl("import time\ntime.sleep(20)\nFINAL(1)")))

    class Stepper:
        def __init__(self) -> None:
            self.stream = rlm.stream("q", context="abcd")
            self.me = self  # a reference cycle: only the cyclic GC frees it

        def step(self) -> Any:
            return asyncio.run_coroutine_threadsafe(anext(self.stream), loop).result(timeout=30)

    async def collect() -> None:
        gc.collect()

    def collect_now() -> None:
        gc.collect()
        collected.set()

    collected = threading.Event()
    gc.disable()  # collected where the test says, not wherever a thread allocates
    try:
        stepper = Stepper()
        while not isinstance(item := stepper.step(), Event) or item.type != "cell_start":
            pass
        assert sandbox_processes()
        del stepper, item
        if collected_in == "a task":
            asyncio.run_coroutine_threadsafe(collect(), loop).result(timeout=30)
        else:
            loop.call_soon_threadsafe(collect_now)
            assert collected.wait(timeout=30)
    finally:
        gc.enable()
    try:
        assert processes_left() == []

        async def answer() -> Any:
            return (await length_rlm().acompletion("q", context="abcd")).answer

        assert asyncio.run_coroutine_threadsafe(answer(), loop).result(timeout=60) == "4"  # the loop serves on
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


async def test_a_list_or_file_context_is_prepared_off_the_callers_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 400k records took about a second to check and write as JSON, on the caller's loop (a server's other requests
    # waited): lists, dicts and files are prepared on a thread, text inline (its checks are single C passes).
    import rlmx.rlm

    threads: list[int] = []
    real = rlmx.rlm.prepare_all

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(rlmx.rlm, "prepare_all", recording)
    (tmp_path / "notes.txt").write_text("some notes")
    rlm = RLM(ScriptedLM(lambda messages: repl("FINAL(len(context))")))
    for context in ("text", [{"id": 1}, {"id": 2}], tmp_path / "notes.txt"):
        assert (await rlm.acompletion("q", context=context)).status == "finished"
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread and threads[1] != loop_thread and threads[2] != loop_thread


def test_under_gevents_monkey_patching_a_call_that_needs_the_helper_thread_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The helper "thread" was a greenlet of the caller's own thread: its loop collided with the running one and
    # the call hung. (gevent itself is not a dependency: its patch state is what rlmx reads.)
    import types

    monkey = types.ModuleType("gevent.monkey")
    monkey.is_module_patched = lambda name: name == "threading"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gevent.monkey", monkey)
    rlm = RLM(ScriptedLM(lambda messages: repl("FINAL(len(context))")))
    assert rlm.completion("q", context="abcd").answer == "4"  # the first caller's own thread: fine

    async def inside_a_running_loop() -> str:  # as a greenlet sees another greenlet's loop on its thread
        return str(rlm.completion("q", context="abcd").answer)

    with pytest.raises(InputError, match=r"gevent\.get_hub\(\)\.threadpool\.apply"):
        asyncio.run(inside_a_running_loop())
