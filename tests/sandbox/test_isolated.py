"""The isolated tier: what it reports, what it refuses, and that the engine traces it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.context import prepare
from rlmx.errors import SandboxStartError
from rlmx.lm import ScriptedLM
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.isolated import IsolatedSandbox
from scripting import repl


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text=item["prompt"].upper()) for item in call.items]


@pytest.mark.parametrize("mode", ["bwrap", "landlock"])
async def test_protections_report_what_the_worker_applied(mode: str, require_isolated: Callable[..., None]) -> None:
    require_isolated(mode)
    box = IsolatedSandbox(mode=mode)  # type: ignore[arg-type]
    await box.start([prepare("context", "hello"), prepare("rows", [{"a": 1}])])
    try:
        report = box.protections
        result = await box.run_cell("print(context, rows, llm_query('hi'))", calls=echo, timeout=5)
        assert result.stdout == "hello [{'a': 1}] HI\n"
    finally:
        await box.close()
    assert (report["tier"], report["mode"], report["seccomp"], report["unsafe"]) == ("isolated", mode, True, False)
    assert "execve" in report["seccomp_denies"] and "socket" in report["seccomp_denies"]
    assert report["limits"]["memory_bytes"] > 0
    if mode == "bwrap":
        assert {"user", "pid", "net", "mnt", "ipc"} <= set(report["namespaces"])
        assert report["uid_inside"] == 65534
    else:
        assert report["namespaces"] == [] and report["landlock_abi"] >= 1
    if report["uid"] != 0:
        assert report["limits"]["processes"] == 64


async def test_a_missing_protection_is_refused_not_downgraded(tmp_path: Path) -> None:
    box = IsolatedSandbox(python=str(tmp_path / "no-such-python"))
    with pytest.raises(SandboxStartError, match="will not fall back"):
        await box.start([prepare("context", "x")])
    await box.close()


def test_a_worker_reporting_less_than_required_is_refused() -> None:
    box = IsolatedSandbox(mode="landlock")
    box.chosen, box.separate_uid = "landlock", True
    with pytest.raises(SandboxStartError, match=r"seccomp filter.*Landlock.*separate uid"):
        box.check_applied({"no_new_privs": True, "uid": 0})


def test_an_unknown_mode_is_an_input_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        IsolatedSandbox(mode="docker")  # type: ignore[arg-type]


def test_the_trace_records_the_protections(tmp_path: Path, require_isolated: Callable[..., None]) -> None:
    require_isolated()
    lm = ScriptedLM([repl("FINAL(len(context))")])
    result = RLM(lm, sandbox="isolated", trace_dir=tmp_path).completion("How long?", context="four")
    assert result.answer == "4"
    assert result.trace_path is not None
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]
    ready = next(e for e in events if e["type"] == "sandbox_ready")
    assert ready["protections"]["tier"] == "isolated" and ready["protections"]["seccomp"]


@pytest.mark.parametrize("mode", ["bwrap", "landlock"])
async def test_sub_calls_fan_out_from_an_event_loop_in_a_cell(mode: str, require_isolated: Callable[..., None]) -> None:
    # The filter refused every socketpair, so no event loop could be made (its self-pipe): asyncio.to_thread and
    # run_in_executor over llm_query failed with a bare PermissionError.
    require_isolated(mode)
    cell = (
        "import asyncio\n"
        "async def ask_all():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    threads = [asyncio.to_thread(llm_query, f'p{i}') for i in range(4)]\n"
        "    pool = [loop.run_in_executor(None, llm_query, f'q{i}') for i in range(4)]\n"
        "    return await asyncio.gather(*threads, *pool)\n"
        "print(asyncio.run(ask_all()))"
    )
    box = IsolatedSandbox(mode=mode)  # type: ignore[arg-type]
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(cell, calls=echo, timeout=20)
    finally:
        await box.close()
    assert result.stdout == "['P0', 'P1', 'P2', 'P3', 'Q0', 'Q1', 'Q2', 'Q3']\n", result.error


@pytest.mark.parametrize("pool", ["multiprocessing.pool.ThreadPool", "multiprocessing.dummy.Pool"])
async def test_multiprocessings_thread_pools_fan_out_sub_calls(
    pool: str, require_isolated: Callable[..., None]
) -> None:
    # Their locks are POSIX semaphores in /dev/shm, which bubblewrap's /dev left read-only: OSError [Errno 30], with
    # a note that blamed 'spawn' and advised get_context('fork'), which no cell here may use.
    require_isolated("bwrap")
    module, name = pool.rsplit(".", 1)
    cell = f"from {module} import {name}\nwith {name}(4) as workers:\n    print(workers.map(llm_query, list('abcd')))"
    box = IsolatedSandbox(mode="bwrap")
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(cell, calls=echo, timeout=20)
    finally:
        await box.close()
    assert result.stdout == "['A', 'B', 'C', 'D']\n", result.error


async def test_dev_shm_is_writable_within_the_disk_bound(require_isolated: Callable[..., None]) -> None:
    require_isolated("bwrap")
    box = IsolatedSandbox(mode="bwrap", disk_limit_bytes=8 << 20)  # /dev/shm gets 1 MiB of it
    await box.start([prepare("context", "c")])
    try:
        small = await box.run_cell("open('/dev/shm/small', 'wb').write(b'x' * 4096)", calls=echo, timeout=10)
        large = await box.run_cell("open('/dev/shm/large', 'wb').write(b'x' * (2 << 20))", calls=echo, timeout=10)
    finally:
        await box.close()
    assert small.stdout == "4096\n", small.error
    assert "No space left on device" in str(large.error)
