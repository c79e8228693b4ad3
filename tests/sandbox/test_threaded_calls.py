"""Sub-calls from many threads of one cell share the worker's one channel: they are in flight together, each reply
reaches its own caller, the clocks stop while any call is in flight, and a cell ends only once its calls are
answered. Real worker processes on both transports (socketpair frames and JSON Lines), no LM."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult, frames
from rlmx.sandbox.inprocess import InProcessSandbox
from rlmx.sandbox.stdio import StdioSandbox
from rlmx.sandbox.subprocess import SubprocessSandbox
from rlmx.sandbox.worker import SocketChannel, Worker

Sandbox = SubprocessSandbox | StdioSandbox | InProcessSandbox
TIERS: dict[str, Callable[[], Sandbox]] = {
    "socketpair": lambda: SubprocessSandbox(hard_timeout_grace=0.3),
    "json-lines": lambda: StdioSandbox(hard_timeout_grace=0.3),
}


async def started(box: Sandbox) -> Sandbox:
    await box.start([prepare("context", "c")])
    return box


@pytest.fixture(params=sorted(TIERS))
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    box = await started(TIERS[request.param]())
    yield box
    await box.close()


def meeting(size: int) -> Callable[[SubCall], Any]:
    """A handler whose calls each wait until `size` of them are in flight at once: a call that waits alone for
    5 s answers 'alone', so calls made one at a time show in the answers, not in a wall-clock figure."""
    arrived: list[str] = []
    everyone = asyncio.Event()

    async def handler(call: SubCall) -> list[SubCallResult]:
        arrived.extend(item["prompt"] for item in call.items)
        if len(arrived) >= size:
            everyone.set()
        try:
            await asyncio.wait_for(everyone.wait(), 5)
        except TimeoutError:
            return [SubCallResult(True, text="alone")] * len(call.items)
        return [SubCallResult(True, text="together " + item["prompt"]) for item in call.items]

    return handler


THREAD_POOL = (
    "from concurrent.futures import ThreadPoolExecutor\n"
    "with ThreadPoolExecutor(4) as pool:\n"
    "    outs = list(pool.map(llm_query, ['a', 'b', 'c', 'd']))\n"
    "print(outs)"
)


async def test_calls_from_a_thread_pool_are_in_flight_together(sandbox: Sandbox) -> None:
    result = await sandbox.run_cell(THREAD_POOL, calls=meeting(4), timeout=30)
    assert result.stdout == "['together a', 'together b', 'together c', 'together d']\n", result.error


async def test_the_in_process_tier_runs_threads_calls_together_too() -> None:
    box = await started(InProcessSandbox())
    try:
        result = await box.run_cell(THREAD_POOL, calls=meeting(4), timeout=30)
    finally:
        await box.close()
    assert result.stdout == "['together a', 'together b', 'together c', 'together d']\n", result.error


async def test_each_reply_reaches_its_own_caller(sandbox: Sandbox) -> None:
    """8 threads, 200 calls (single and batched) answered in a scrambled order."""
    chaos = random.Random(7)

    async def scrambled(call: SubCall) -> list[SubCallResult]:
        await asyncio.sleep(chaos.random() * 0.01)
        return [SubCallResult(True, text=item["prompt"][::-1]) for item in call.items]

    cell = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def ask(i):\n"
        "    if i % 3:\n"
        "        return [llm_query(f'q{i}')] == [f'q{i}'[::-1]]\n"
        "    prompts = [f'b{i}-{k}' for k in range(i % 5 + 1)]\n"
        "    return llm_query_batched(prompts) == [p[::-1] for p in prompts]\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    checks = list(pool.map(ask, range(200)))\n"
        "print(checks.count(True), checks.count(False))"
    )
    result = await sandbox.run_cell(cell, calls=scrambled, timeout=60)
    assert result.stdout == "200 0\n", result.error


async def test_the_clocks_stop_while_any_call_is_in_flight(sandbox: Sandbox) -> None:
    """The cell may run 1 s (hard limit 1.3 s). A thread's call takes 1.6 s; the main thread's own call ends at
    0.2 s, and the clocks must not start again then: the thread's call is still in flight."""

    async def timed(call: SubCall) -> list[SubCallResult]:
        await asyncio.sleep(1.6 if call.items[0]["prompt"] == "long" else 0.2)
        return [SubCallResult(True, text=call.items[0]["prompt"])]

    cell = (
        "import threading\n"
        "got = []\n"
        "thread = threading.Thread(target=lambda: got.append(llm_query('long')))\n"
        "thread.start()\n"
        "got.append(llm_query('short'))\n"
        "thread.join()\n"
        "print(got)"
    )
    result = await sandbox.run_cell(cell, calls=timed, timeout=1)
    assert (result.status, result.stdout) == ("ok", "['short', 'long']\n"), result.error


async def test_a_cell_ends_once_the_calls_its_threads_sent_are_answered(sandbox: Sandbox) -> None:
    async def slow(call: SubCall) -> list[SubCallResult]:
        await asyncio.sleep(0.3)
        return [SubCallResult(True, text="answered")]

    start = "import threading\ngot = []\nthreading.Thread(target=lambda: got.append(llm_query('x'))).start()"
    first = await sandbox.run_cell(start + "\nimport time\ntime.sleep(0.05)", calls=slow, timeout=5)
    second = await sandbox.run_cell("print(got)", calls=slow, timeout=5)
    assert first.status == "ok", first.error
    assert second.stdout == "['answered']\n", second.error


def hanging(running: list[str], cancelled: list[str]) -> Callable[[SubCall], Any]:
    """A handler whose calls never answer: it records each prompt as it starts, and again when cancelled."""

    async def hangs(call: SubCall) -> list[SubCallResult]:
        running.append(call.items[0]["prompt"])
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(call.items[0]["prompt"])
            raise
        return [SubCallResult(True, text="late")]

    return hangs


async def test_a_frame_that_ends_the_cell_while_calls_are_served_is_forged(sandbox: Sandbox) -> None:
    cancelled: list[str] = []
    hangs = hanging([], cancelled)

    forged = (
        "import threading, time\n"
        "threading.Thread(target=llm_query, args=('pending',), daemon=True).start()\n"
        "time.sleep(0.3)\n"
        "llm_query.__self__.send({'t': 'pong', 'id': 'forged'})\n"
        "time.sleep(30)"
    )
    result = await sandbox.run_cell(forged, calls=hangs, timeout=60)
    assert result.status == "restarted"
    assert "while its sub-calls were still being served" in str(result.error)
    assert cancelled == ["pending"]
    after = await sandbox.run_cell("print(context)", calls=hangs, timeout=5)
    assert after.stdout == "c\n"


async def test_a_host_handler_that_fails_fails_the_cell_at_once_and_ends_the_worker(sandbox: Sandbox) -> None:
    async def broken(call: SubCall) -> list[SubCallResult]:
        raise RuntimeError("the handler broke")

    cell = "import threading\nthreading.Thread(target=llm_query, args=('x',), daemon=True).start()\nllm_query('y')"
    with pytest.raises(RuntimeError, match="the handler broke"):
        await asyncio.wait_for(sandbox.run_cell(cell, calls=broken, timeout=60), 10)
    after = await sandbox.run_cell("print(context)", calls=broken, timeout=5)
    assert after.stdout == "c\n"  # a fresh worker: the old one was waiting for replies that never come


async def test_cancelling_the_cell_cancels_its_calls_in_flight(sandbox: Sandbox) -> None:
    running: list[str] = []
    cancelled: list[str] = []
    hangs = hanging(running, cancelled)

    cell = "from concurrent.futures import ThreadPoolExecutor\nlist(ThreadPoolExecutor(3).map(llm_query, 'abc'))"
    task = asyncio.ensure_future(sandbox.run_cell(cell, calls=hangs, timeout=60))
    for _ in range(500):
        await asyncio.sleep(0.01)
        if len(running) == 3:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == ["a", "b", "c"]


# --- the worker's side alone, on a socketpair the test drives ------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[Worker, socket.socket]]:
    """A worker inside a cell, on one end of a socketpair; the test is the host, on the other."""
    ours, theirs = socket.socketpair()
    worker = Worker(SocketChannel(theirs), {})
    worker.begin_cell()
    yield worker, ours
    ours.close()
    theirs.close()


def call_in_threads(worker: Worker, prompts: list[str]) -> tuple[list[threading.Thread], dict[str, Any]]:
    outcomes: dict[str, Any] = {}

    def ask(prompt: str) -> None:
        try:
            outcomes[prompt] = worker.call("llm", [{"prompt": prompt}])[0]["text"]
        except Exception as exc:  # recorded for the assertion
            outcomes[prompt] = exc

    threads = [threading.Thread(target=ask, args=(p,), daemon=True) for p in prompts]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_replies_in_any_order_reach_their_callers(pair: tuple[Worker, socket.socket]) -> None:
    worker, host = pair
    prompts = [f"p{i}" for i in range(12)]
    threads, outcomes = call_in_threads(worker, prompts)
    calls = [frames.recv_blocking(host) for _ in prompts]
    assert sorted(c["id"] for c in calls) == list(range(1, 13))  # every call in flight at once
    for call in reversed(calls):
        answer = {"ok": True, "text": call["items"][0]["prompt"].upper()}
        frames.send_blocking(host, {"t": "reply", "id": call["id"], "results": [answer]})
    for thread in threads:
        thread.join(10)
    assert outcomes == {p: p.upper() for p in prompts}
    worker.end_cell()  # returns: nothing is in flight


def test_a_channel_that_breaks_wakes_every_waiting_caller(pair: tuple[Worker, socket.socket]) -> None:
    worker, host = pair
    threads, outcomes = call_in_threads(worker, ["a", "b", "c"])
    for _ in range(3):
        frames.recv_blocking(host)
    host.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(outcome, (RuntimeError, EOFError, OSError)) for outcome in outcomes.values()), outcomes
    later = call_in_threads(worker, ["d"])
    later[0][0].join(10)
    assert isinstance(later[1]["d"], (RuntimeError, OSError))


def test_a_reply_for_no_call_in_flight_fails_the_reader_not_the_others(pair: tuple[Worker, socket.socket]) -> None:
    worker, host = pair
    threads, outcomes = call_in_threads(worker, ["only"])
    call = frames.recv_blocking(host)
    frames.send_blocking(host, {"t": "reply", "id": 999, "results": [{"ok": True, "text": "stray"}]})
    threads[0].join(10)
    assert "unexpected frame" in str(outcomes["only"])
    assert call["id"] == 1


def test_a_reply_too_big_for_the_memory_left_fails_its_own_call_only(
    pair: tuple[Worker, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its decode raised MemoryError, which the reader held as if a signal handler had raised it and read again: the
    # same bytes, the same error, for ever (a hard kill, every variable lost).
    worker_frames = sys.modules[Worker.__module__].frames  # the worker's own copy of the module
    decode = worker_frames.decode

    def short_of_memory(body: bytes) -> dict[str, Any]:
        if b"HUGE" in body:
            raise MemoryError
        return decode(body)  # type: ignore[no-any-return]

    monkeypatch.setattr(worker_frames, "decode", short_of_memory)
    worker, host = pair
    threads, outcomes = call_in_threads(worker, ["small", "huge"])
    calls = {c["items"][0]["prompt"]: c["id"] for c in (frames.recv_blocking(host) for _ in range(2))}
    for prompt in ("huge", "small"):  # whoever reads first, each reply reaches its own caller
        frames.send_blocking(
            host, {"t": "reply", "id": calls[prompt], "results": [{"ok": True, "text": prompt.upper()}]}
        )
    for thread in threads:
        thread.join(10)
    assert outcomes["small"] == "SMALL"
    assert isinstance(outcomes["huge"], MemoryError) and "did not fit in the memory left" in str(outcomes["huge"])
    again = call_in_threads(worker, ["again"])  # the channel is whole
    frames.send_blocking(
        host, {"t": "reply", "id": frames.recv_blocking(host)["id"], "results": [{"ok": True, "text": "A"}]}
    )
    again[0][0].join(10)
    assert again[1] == {"again": "A"}


async def test_a_time_limit_running_out_around_a_call_ends_the_cell_not_the_worker() -> None:
    """A cell that calls in a tight loop meets its time limit inside the calls' bookkeeping sooner or later: the
    alarm waits for the call to end, and the cell times out with its variables kept, every time."""

    async def instant(call: SubCall) -> list[SubCallResult]:
        return [SubCallResult(True, text="ok")] * len(call.items)

    # A 15 s grace, not 5: on a runner at load 20 (2 cores) a worker answering calls in a tight loop went past 5 s
    # once in CI1 of session 35 (and 1 in 9 runs of the dev's, at that load; 0 in 20 under 3 CPU hogs, new code and
    # f36fe0a alike). The grace bounds the hard kill only; a cell that yields still times out at 0.05 s.
    box = await started(SubprocessSandbox(hard_timeout_grace=15, max_calls_per_cell=10**9, max_calls_per_run=10**9))
    try:
        for _ in range(3):
            result = await box.run_cell("x = 1\nwhile True:\n    llm_query('q')", calls=instant, timeout=0.05)
            assert result.status == "timeout", result.error
            kept = await box.run_cell("print(x)", calls=instant, timeout=5)
            assert kept.stdout == "1\n"
    finally:
        await box.close()


def test_a_worker_embedded_in_another_process_leaves_its_signal_handlers_alone() -> None:
    # Holding a cell's handlers off between cells is for the REPL's own process: an embedded Worker (the in-process
    # tier, these tests) had swapped out this process's Ctrl-C handler, and a later Ctrl-C went nowhere.
    import signal

    before = signal.getsignal(signal.SIGINT)
    worker = Worker(None, {})
    worker.begin_cell()
    worker.end_cell()
    assert signal.getsignal(signal.SIGINT) is before and worker.held_handlers == {}


# --- an exception that arrives inside the channel's reads and writes (audit 23) ----------------------------------


class Late(Exception):
    """What a time-box raises into a thread (func_timeout and stopit do it with PyThreadState_SetAsyncExc)."""


def raise_into(thread: threading.Thread, kind: type[BaseException]) -> None:
    assert thread.ident is not None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(kind))


def answer(host: socket.socket, call: dict[str, Any], text: str) -> None:
    frames.send_blocking(host, {"t": "reply", "id": call["id"], "results": [{"ok": True, "text": text}]})


def test_an_exception_raised_into_the_callers_while_they_wait_keeps_the_channel_whole(
    pair: tuple[Worker, socket.socket],
) -> None:
    # One caller reads the channel, blocked in its read; the exception lands as the read returns. Its bytes were
    # dropped with it, and the next read took the middle of a reply for a frame's length.
    worker, host = pair
    threads, outcomes = call_in_threads(worker, ["a", "b", "c"])
    calls = [frames.recv_blocking(host) for _ in threads]
    time.sleep(0.1)  # every caller is waiting now: one in the channel's read, the others on their wake locks
    for thread in threads:
        raise_into(thread, Late)
    for call in calls:
        answer(host, call, "late")
    for thread in threads:
        thread.join(10)
    assert all(isinstance(outcomes[prompt], Late) for prompt in "abc"), outcomes  # raised once the reply was in
    again = call_in_threads(worker, ["again"])
    answer(host, frames.recv_blocking(host), "A")
    again[0][0].join(10)
    assert again[1] == {"again": "A"}  # the channel is whole


@pytest.fixture
def own_signal() -> Iterator[Callable[[type[BaseException]], None]]:
    """own_signal(kind): SIGUSR1 raises `kind` in this (the main) thread, as a cell's time-box does; put back after."""
    before = signal.getsignal(signal.SIGUSR1)

    def install(kind: type[BaseException]) -> None:
        def handler(signum: int, frame: Any) -> None:
            raise kind("time is up")

        signal.signal(signal.SIGUSR1, handler)

    yield install
    signal.signal(signal.SIGUSR1, before)


def signal_main_thread_soon() -> None:
    def send() -> None:
        time.sleep(0.2)  # the main thread is blocked in the channel's write or read by now
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    threading.Thread(target=send, daemon=True).start()


@pytest.mark.parametrize("kind", [Late, TimeoutError])
def test_a_signal_handler_raising_while_a_large_call_frame_is_written_leaves_the_frame_whole(
    pair: tuple[Worker, socket.socket], own_signal: Callable[[type[BaseException]], None], kind: type[Exception]
) -> None:
    # The prompt is larger than the socket's buffer, and the host does not read yet: the main thread is blocked in
    # its write when the signal comes. The handler raised between two partial writes and the host got half a frame.
    worker, host = pair
    own_signal(kind)
    host.settimeout(10)
    got: list[dict[str, Any]] = []

    def host_side() -> None:
        time.sleep(0.4)  # after the signal
        got.append(frames.recv_blocking(host))
        answer(host, got[0], "done")

    serving = threading.Thread(target=host_side, daemon=True)
    serving.start()
    signal_main_thread_soon()
    with pytest.raises(kind, match="time is up"):  # once the reply is in
        worker.call("llm", [{"prompt": "x" * 5_000_000}])
    serving.join(10)
    assert len(got[0]["items"][0]["prompt"]) == 5_000_000
    again = call_in_threads(worker, ["again"])
    answer(host, frames.recv_blocking(host), "A")
    again[0][0].join(10)
    assert again[1] == {"again": "A"}


@pytest.mark.parametrize("kind", [Late, TimeoutError])
def test_a_signal_handler_raising_while_the_reply_is_awaited_keeps_the_channel(
    pair: tuple[Worker, socket.socket], own_signal: Callable[[type[BaseException]], None], kind: type[Exception]
) -> None:
    # timeout-decorator's handler raises TimeoutError, an OSError: it was taken for the channel's own failure, and
    # every later sub-call failed.
    worker, host = pair
    own_signal(kind)

    def host_side() -> None:
        call = frames.recv_blocking(host)
        time.sleep(0.4)  # after the signal
        answer(host, call, "done")

    threading.Thread(target=host_side, daemon=True).start()
    signal_main_thread_soon()
    with pytest.raises(kind, match="time is up"):
        worker.call("llm", [{"prompt": "q"}])
    again = call_in_threads(worker, ["again"])
    answer(host, frames.recv_blocking(host), "A")
    again[0][0].join(10)
    assert again[1] == {"again": "A"}


ASYNC_TIMEOUTS = (
    "import threading, ctypes, time\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "keep = 5\n"
    "class Late(Exception):\n"
    "    pass\n"
    "def ask(i):\n"
    "    try:\n"
    "        return llm_query(f'q{i}')\n"
    "    except Late:\n"
    "        return 'late'\n"
    "with ThreadPoolExecutor(6) as pool:\n"
    "    futures = [pool.submit(ask, i) for i in range(6)]\n"
    "    time.sleep(0.1)\n"
    "    for thread in threading.enumerate():\n"
    "        if thread is not threading.current_thread():\n"
    "            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(Late))\n"
    "    print([f.result() for f in futures])"
)


async def test_pool_threads_timed_out_by_an_async_exception_leave_the_repl_whole(sandbox: Sandbox) -> None:
    async def slow(call: SubCall) -> list[SubCallResult]:
        await asyncio.sleep(0.3)
        return [SubCallResult(True, text="answered")] * len(call.items)

    first = await sandbox.run_cell(ASYNC_TIMEOUTS, calls=slow, timeout=20)
    assert (first.status, first.stdout) == ("ok", str(["late"] * 6) + "\n"), first.error
    after = await sandbox.run_cell("print(llm_query('after'), keep)", calls=slow, timeout=20)
    assert after.stdout == "answered 5\n", after.error


def test_exceptions_raised_into_callers_at_random_moments_never_cross_or_lose_a_reply(
    pair: tuple[Worker, socket.socket],
) -> None:
    """8 threads make 100 calls each while another raises Late into one of them every ~1.5 ms, wherever it is: in
    its read of the channel, its decoding, its hand-off of a reply to another thread, its write (rounds repeat
    until at least 10 raises landed inside calls). Every call ends with its own reply or with Late, and the
    channel is whole after."""
    worker, host = pair
    chaos = random.Random(23)
    calls: list[dict[str, Any]] = []
    arrived = threading.Condition()

    def host_reads() -> None:
        with contextlib.suppress(OSError, EOFError):
            while True:
                call = frames.recv_blocking(host)
                with arrived:
                    calls.append(call)
                    arrived.notify()

    def host_answers() -> None:  # in a scrambled order
        while True:
            with arrived:
                arrived.wait_for(lambda: bool(calls))
                call = calls.pop(chaos.randrange(len(calls)))
            answer(host, call, call["items"][0]["prompt"][::-1])

    for serve in (host_reads, host_answers):
        threading.Thread(target=serve, daemon=True).start()
    wrong: list[tuple[str, Any]] = []
    ended = {"answered": 0, "late": 0}

    def caller(name: int) -> None:
        done = 0
        while done < 100:
            try:  # Late may land anywhere here, outside the call too
                prompt = f"{name}-{done}"
                done += 1
                try:
                    reply = worker.llm_query(prompt)
                    ended["answered"] += 1
                    if reply != prompt[::-1]:
                        wrong.append((prompt, reply))
                except Late:
                    ended["late"] += 1
                except Exception as exc:  # recorded for the assertion
                    wrong.append((prompt, exc))
            except Late:
                pass

    # How many raises land inside a call depends on the machine's load (5 of ~40 once on a busy CI runner), so the
    # chaos runs again until enough did; the property under test is that none of them crossed or lost a reply.
    for _ in range(8):
        threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(8)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(chaos.random() * 0.003)
            raise_into(chaos.choice(threads), Late)
        if ended["late"] >= 10:
            break
    assert not wrong, wrong[:5]
    assert ended["answered"] > 100 and ended["late"] >= 10, ended
    assert worker.llm_query("whole") == "elohw"
