"""The subprocess sandbox on its own: frames, limits and restarts, with no LM involved."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls expected")


@pytest.fixture
async def sandbox() -> AsyncIterator[SubprocessSandbox]:
    box = SubprocessSandbox()
    await box.start([prepare("context", "the context"), prepare("items", [1, 2, 3])])
    yield box
    await box.close()


async def test_contexts_are_loaded_once_and_state_persists(sandbox: SubprocessSandbox) -> None:
    first = await sandbox.run_cell("total = sum(items)\nprint(context, total)", calls=no_calls, timeout=5)
    second = await sandbox.run_cell("total * 2", calls=no_calls, timeout=5)
    assert (first.stdout, second.stdout) == ("the context 6\n", "12\n")


async def test_worker_runs_in_its_own_process_group_and_work_dir(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell(
        "import os\nprint(os.getpid(), os.getpgid(0), os.getcwd())", calls=no_calls, timeout=5
    )
    pid, pgid, cwd = result.stdout.split()
    assert int(pid) != os.getpid() and pid == pgid
    assert cwd.endswith("/work") and cwd != os.getcwd()


async def test_a_forged_oversize_frame_ends_the_worker_not_the_host(sandbox: SubprocessSandbox) -> None:
    await sandbox.run_cell("keep = 1", calls=no_calls, timeout=5)
    bomb = (
        "import os, sys, struct, time\nos.write(int(sys.argv[1]), struct.pack('>I', 0xFFFFFFF0) + b'{')\ntime.sleep(5)"
    )
    result = await sandbox.run_cell(bomb, calls=no_calls, timeout=10)
    assert result.status == "restarted" and "frame" in (result.error or "")
    assert result.final is None
    after = await sandbox.run_cell("print(context, 'keep' in globals())", calls=no_calls, timeout=5)
    assert after.stdout == "the context False\n"
    assert sandbox.restarts == 1


async def test_garbage_on_the_channel_restarts_the_worker(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell(
        "import os, sys\nos.write(int(sys.argv[1]), b'\\x00\\x00\\x00\\x05hello')\nimport time\ntime.sleep(5)",
        calls=no_calls,
        timeout=10,
    )
    assert result.status == "restarted" and result.final is None


async def test_memory_bomb_is_refused_inside_the_worker(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell("x = bytearray(6 << 30)", calls=no_calls, timeout=10)
    assert result.status == "error" and "MemoryError" in (result.error or "")
    again = await sandbox.run_cell("print(len(context))", calls=no_calls, timeout=5)
    assert again.stdout == "11\n"


async def test_worker_exit_is_reported_and_recovered(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell("import os\nos._exit(3)", calls=no_calls, timeout=5)
    assert result.status == "restarted" and "exited with code 3" in (result.error or "")
    assert (await sandbox.run_cell("print(items)", calls=no_calls, timeout=5)).stdout == "[1, 2, 3]\n"


async def test_sub_calls_reach_the_handler_and_errors_come_back_per_item(sandbox: SubprocessSandbox) -> None:
    async def calls(call: SubCall) -> list[SubCallResult]:
        return [
            SubCallResult(True, text=i["prompt"][::-1]) if i["prompt"] != "bad" else SubCallResult(False, error="no")
            for i in call.items
        ]

    result = await sandbox.run_cell(
        "print(llm_query_batched(['abc', 'bad']))\nprint(llm_query('xy'))", calls=calls, timeout=5
    )
    assert result.stdout == "['cba', 'Error: no']\nyx\n"


async def test_time_waiting_on_sub_calls_does_not_count_against_the_cell(sandbox: SubprocessSandbox) -> None:
    import asyncio

    async def slow(call: SubCall) -> list[SubCallResult]:
        await asyncio.sleep(1.5)
        return [SubCallResult(True, text="late")]

    result = await sandbox.run_cell("print(llm_query('x'))", calls=slow, timeout=1)
    assert result.status == "ok" and result.stdout == "late\n"


async def test_overwritten_repl_functions_are_restored(sandbox: SubprocessSandbox) -> None:
    await sandbox.run_cell("FINAL = None\nllm_query = 3", calls=no_calls, timeout=5)
    result = await sandbox.run_cell("FINAL(5)", calls=no_calls, timeout=5)
    assert result.final == {"kind": "final", "value": 5}
