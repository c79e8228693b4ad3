"""What a worker does before its first cell: the imports every sandbox start waits for, and the private warm-up
cells, which must leave no trace in the REPL the model sees."""

from __future__ import annotations

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
    await box.start([prepare("context", "four")])
    yield box
    await box.close()


async def test_the_worker_starts_without_the_modules_it_only_needs_later(sandbox: SubprocessSandbox) -> None:
    """Each of these costs 3-6 ms of every sandbox start (benchmarks/vs_official/NOTES.md); a cell that wants
    one imports it as usual."""
    result = await sandbox.run_cell(
        "import sys\nprint(sorted(m for m in ('ast', 'socket', 'traceback', 'typing') if m in sys.modules))",
        calls=no_calls,
        timeout=10,
    )
    assert result.stdout == "[]\n"
    imported = await sandbox.run_cell(
        "import ast, socket, typing\nprint(ast.parse('1').body[0].value.value)", calls=no_calls, timeout=10
    )
    assert imported.stdout == "1\n"


async def test_the_warm_up_cells_leave_nothing_behind(sandbox: SubprocessSandbox) -> None:
    first = await sandbox.run_cell(
        "print(sorted(k for k in globals() if not k.startswith('__') and k.islower() and '_' not in k), answer)",
        calls=no_calls,
        timeout=10,
    )
    assert first.stdout == "['answer', 'context'] {'content': '', 'ready': False}\n"
    failing = await sandbox.run_cell("x = 1\nraise ValueError('first error')", calls=no_calls, timeout=10)
    assert failing.status == "error"
    assert 'File "<cell 2>", line 2' in (failing.error or "") and "ValueError: first error" in (failing.error or "")
