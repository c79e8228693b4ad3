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


LATER = (
    "ast socket traceback typing json re enum functools collections contextlib linecache tokenize threading signal "
    "importlib.util warnings"
).split()


async def test_the_worker_starts_without_the_modules_it_only_needs_later(sandbox: SubprocessSandbox) -> None:
    """Each of these costs 1-6 ms of every sandbox start (benchmarks/vs_official/NOTES.md, changes 11 and 21); a
    cell that wants one imports it as usual."""
    result = await sandbox.run_cell(
        f"import sys\nprint(sorted(m for m in {LATER!r} if m in sys.modules))", calls=no_calls, timeout=10
    )
    assert result.stdout == "[]\n"
    imported = await sandbox.run_cell(
        "import ast, socket, typing, re, json, threading\n"
        "print(ast.parse('1').body[0].value.value, re.sub('a', 'b', 'aa'), json.dumps([1]), threading.active_count())",
        calls=no_calls,
        timeout=10,
    )
    assert imported.stdout == "1 bb [1] 1\n"


async def test_tracebacks_and_warnings_show_the_cells_lines(sandbox: SubprocessSandbox) -> None:
    """The worker keeps each cell's source for linecache without importing it: handed over when a cell (or
    traceback, or warnings) first imports linecache, written there directly after."""
    printed = await sandbox.run_cell(
        "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()",
        calls=no_calls,
        timeout=10,
    )
    assert 'File "<cell 1>", line 3' in printed.stderr and "    1 / 0" in printed.stderr
    warned = await sandbox.run_cell("import warnings\nwarnings.warn('careful')", calls=no_calls, timeout=10)
    assert "UserWarning: careful" in warned.stderr and "warnings.warn('careful')" in warned.stderr
    failed = await sandbox.run_cell("def f():\n    return {}['missing']\nf()", calls=no_calls, timeout=10)
    error = failed.error or ""
    assert "return {}['missing']" in error and "<cell 3>" in error
    earlier = await sandbox.run_cell(
        "import linecache\nprint(linecache.getline('<cell 1>', 3))", calls=no_calls, timeout=10
    )
    assert earlier.stdout == "    1 / 0\n\n"


async def test_a_first_error_shows_its_line_before_anything_imported_linecache(sandbox: SubprocessSandbox) -> None:
    failed = await sandbox.run_cell("x = 1\nraise KeyError('first')", calls=no_calls, timeout=10)
    assert "raise KeyError('first')" in (failed.error or "")


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


async def test_a_lone_surrogate_in_output_is_replaced_by_the_lean_worker(sandbox: SubprocessSandbox) -> None:
    """The worker imports `re` for this only when a string holds a surrogate (frames.encodable)."""
    result = await sandbox.run_cell(
        "import sys\nprint('re' in sys.modules)\nprint('cut \\ud83d here', '\\ud83d\\ude00')",
        calls=no_calls,
        timeout=10,
    )
    assert result.stdout == "False\ncut \ufffd here \U0001f600\n"
