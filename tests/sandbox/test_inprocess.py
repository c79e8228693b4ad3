"""The in-process sandbox: unsafe by design, asked for by name, and it says so."""

from __future__ import annotations

import sys

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult, create_sandbox


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text=item["prompt"][::-1]) for item in call.items]


async def test_runs_cells_in_the_host_and_reports_itself_unsafe() -> None:
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "hello")])
    try:
        assert box.protections["unsafe"] is True and "debugging" in box.protections["warning"]
        result = await box.run_cell("import os\nprint(context, llm_query('abc'), os.getpid())", calls=echo, timeout=5)
        assert result.stdout.split()[:2] == ["hello", "cba"]
        assert int(result.stdout.split()[2]) == __import__("os").getpid()
        assert (await box.run_cell("FINAL(len(context))", calls=echo, timeout=5)).final == {"kind": "final", "value": 5}
    finally:
        await box.close()


async def test_a_python_loop_is_interrupted_and_host_streams_are_restored() -> None:
    stdout = sys.stdout
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    try:
        await box.run_cell("n = 1", calls=echo, timeout=5)
        result = await box.run_cell("while True:\n    n += 1", calls=echo, timeout=0.3)
        assert result.status == "timeout"
        assert (await box.run_cell("print(n > 1)", calls=echo, timeout=5)).stdout == "True\n"
    finally:
        await box.close()
    assert sys.stdout is stdout
