"""The zygote: contexts loaded once, workers forked from it for restarts and for child RLMs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from rlmx.context import prepare
from rlmx.sandbox import ForksChildren, SubCall, SubCallResult, harden
from rlmx.sandbox.subprocess import SubprocessSandbox
from rlmx.sandbox.zygote import Zygote, fork_message


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls expected")


@pytest.fixture
async def sandbox() -> AsyncIterator[SubprocessSandbox]:
    box = SubprocessSandbox(hard_timeout_grace=0.5)
    await box.start([prepare("context", "x" * 1_000_000), prepare("items", [1, 2, 3])])
    yield box
    await box.close()


async def test_a_hard_kill_restarts_from_the_zygote_without_reloading(sandbox: SubprocessSandbox) -> None:
    zygote = sandbox._zygote
    assert zygote is not None and zygote.forks == 1
    await sandbox.run_cell("keep = 1", calls=no_calls, timeout=5)
    killed = await sandbox.run_cell("sum(range(10**12))", calls=no_calls, timeout=0.5)
    assert killed.status == "restarted" and "hard time limit" in (killed.error or "")
    started = time.perf_counter()
    after = await sandbox.run_cell("print(len(context), items, 'keep' in globals())", calls=no_calls, timeout=5)
    assert after.stdout == "1000000 [1, 2, 3] False\n"
    assert sandbox._zygote is zygote and zygote.forks == 2  # the same zygote forked the new worker
    assert time.perf_counter() - started < 1.0


async def test_a_dead_zygote_is_started_again(sandbox: SubprocessSandbox) -> None:
    assert sandbox._zygote is not None and sandbox._worker is not None
    worker = sandbox._worker.pid
    sandbox._zygote.kill_now()  # the worker dies with it (parent-death signal), a moment later
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    result = await sandbox.run_cell("print(len(context))", calls=no_calls, timeout=5)
    assert result.status == "restarted"
    assert (await sandbox.run_cell("print(items)", calls=no_calls, timeout=5)).stdout == "[1, 2, 3]\n"


async def test_a_worker_that_forks_takes_its_children_with_it_when_it_ends(sandbox: SubprocessSandbox) -> None:
    code = (
        "import os, time\npid = os.fork()\nif pid == 0:\n    try:\n        time.sleep(30)\n    finally:\n"
        "        os._exit(0)\nprint(pid)"
    )
    child = _seen(sandbox, int((await sandbox.run_cell(code, calls=no_calls, timeout=5)).stdout))
    await sandbox.run_cell("import os\nos._exit(0)", calls=no_calls, timeout=5)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child)


def _seen(box: SubprocessSandbox, pid: int) -> int:
    """A pid a cell printed, as this process sees it: on a non-root host the zygote and its workers may have a pid
    namespace of their own (harden.enter_pid_namespace)."""
    zygote = box._zygote
    if zygote is None or not zygote.applied.get("pid_namespace"):
        return pid
    seen = harden.host_pid(pid, zygote.process.pid)
    assert seen > 0
    return seen


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_child_sandbox_forks_from_the_parent_zygote_and_sees_only_its_contexts(
    sandbox: SubprocessSandbox,
) -> None:
    child = sandbox.fork_child()
    await child.start([prepare("context", "child text")])
    try:
        result = await child.run_cell("print(context, 'items' in globals())", calls=no_calls, timeout=5)
        assert result.stdout == "child text False\n"
        killed = await child.run_cell("import os\nos._exit(1)", calls=no_calls, timeout=5)
        assert killed.status == "restarted"
        assert (await child.run_cell("print(context)", calls=no_calls, timeout=5)).stdout == "child text\n"
    finally:
        await child.close()
    parent = await sandbox.run_cell("print(len(context), items)", calls=no_calls, timeout=5)
    assert parent.stdout == "1000000 [1, 2, 3]\n"


async def test_without_a_zygote_the_worker_loads_the_contexts_itself() -> None:
    box = SubprocessSandbox(zygote=False)
    await box.start([prepare("context", "solo")])
    try:
        assert box._zygote is None
        assert (await box.run_cell("print(context)", calls=no_calls, timeout=5)).stdout == "solo\n"
        assert (await box.run_cell("import os\nos._exit(1)", calls=no_calls, timeout=5)).status == "restarted"
        assert (await box.run_cell("print(context)", calls=no_calls, timeout=5)).stdout == "solo\n"
    finally:
        await box.close()


async def test_load_adds_contexts_and_variables_that_survive_a_restart(sandbox: SubprocessSandbox) -> None:
    await sandbox.load([prepare("more", {"a": 1})], {"history": [{"question": "q", "answer": "a"}]})
    shown = await sandbox.run_cell("print(more, history)", calls=no_calls, timeout=5)
    assert shown.stdout == "{'a': 1} [{'question': 'q', 'answer': 'a'}]\n"
    await sandbox.run_cell("import os\nos._exit(1)", calls=no_calls, timeout=5)
    again = await sandbox.run_cell("print(more['a'], len(history), len(context))", calls=no_calls, timeout=5)
    assert again.stdout == "1 1 1000000\n"


async def test_a_child_can_inherit_parent_contexts_without_loading_them(sandbox: SubprocessSandbox) -> None:
    assert isinstance(sandbox, ForksChildren)
    child = sandbox.fork_child(inherit=["context"])
    await child.start([prepare("task", "find x")])
    try:
        result = await child.run_cell("print(task, len(context), 'items' in globals())", calls=no_calls, timeout=5)
    finally:
        await child.close()
    assert result.stdout == "find x 1000000 False\n"
    with pytest.raises(ValueError, match="no parent context named"):
        sandbox.fork_child(inherit=["nope"])


async def test_the_first_worker_is_requested_with_the_init_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first fork request travels right behind the init frame, before the zygote says it is ready: the zygote
    forks that worker as soon as it has loaded, without a round trip to the host."""
    seen: list[tuple[str, str]] = []
    send, read = Zygote._send, Zygote._read

    async def spy_send(self: Zygote, message: dict[str, Any]) -> None:
        seen.append(("sent", message["t"]))
        await send(self, message)

    async def spy_read(self: Zygote) -> dict[str, Any]:
        reply = await read(self)
        seen.append(("read", reply["t"]))
        return reply

    monkeypatch.setattr(Zygote, "_send", spy_send)
    monkeypatch.setattr(Zygote, "_read", spy_read)
    box = SubprocessSandbox()
    await box.start([prepare("context", "early")])
    try:
        assert seen[:4] == [("sent", "init"), ("sent", "fork"), ("read", "ready"), ("read", "forked")]
        assert (await box.run_cell("print(context)", calls=no_calls, timeout=5)).stdout == "early\n"
        assert box._zygote is not None and box._zygote.forks == 1
    finally:
        await box.close()


async def test_a_first_fork_request_that_differs_from_the_first_fork_is_set_aside() -> None:
    """Should the first `fork()` ask for another worker than the one requested with the init frame, that one is
    taken off the channel and dropped, and the zygote forks the worker asked for."""
    box = SubprocessSandbox()
    await box.start([])
    try:
        asked = {**box._fork_settings(), "variables": {"marker": "pre-forked"}}
        wanted = {**box._fork_settings(), "variables": {"marker": "asked for"}}
        zygote = await Zygote.start(
            lambda fd: box.command("zygote", fd),
            spawn=box.spawn_options(),
            init=_init(box),
            load_seconds=10,
            first_fork=fork_message(settings=asked),
        )
        try:
            pid, channel = await zygote.fork(box.max_frame_bytes, settings=wanted)
            ready = await channel.read()
            assert ready["t"] == "ready" and ready["pid"] == pid and "marker" in ready["names"]
            await channel.send({"t": "exec", "id": "c1", "code": "print(marker)", "timeout": 5})
            result = await channel.read()
            assert result["t"] == "result" and result["stdout"] == "asked for\n"
            assert zygote.forks == 1 and zygote.alive
            await channel.close()
        finally:
            await zygote.close()
    finally:
        await box.close()


def _init(box: SubprocessSandbox) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def frame() -> dict[str, Any]:
        return box._init_frame()

    return frame


async def test_close_ends_a_daemon_that_holds_the_zygotes_stderr_without_waiting_for_it() -> None:
    """A cell's double-forked daemon keeps the worker's stderr (the zygote's) open. close() must end it before it
    waits for that pipe's end, or it would wait as long as the daemon lives (the 30 s guard is for a hang only)."""
    box = SubprocessSandbox()
    await box.start([])
    daemon = (
        "import os, time\nr, w = os.pipe()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.write(w, str(os.getpid()).encode())\n        time.sleep(3600)\n    os._exit(0)\n"
        "os.wait()\nprint(os.read(r, 32).decode())"
    )
    try:
        pid = _seen(box, int((await box.run_cell(daemon, calls=no_calls, timeout=10)).stdout))
        assert _alive(pid)
    finally:
        await asyncio.wait_for(box.close(), 30)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(pid)
