"""What a worker does before its first cell: the imports every sandbox start waits for, and the private warm-up
cells, which must leave no trace in the REPL the model sees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import answering_ok


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
    "importlib.util"
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


async def test_a_lone_surrogate_in_output_is_replaced_even_when_imports_are_broken(
    sandbox: SubprocessSandbox,
) -> None:
    """frames.encodable imports nothing (the C codec functions): a cell that broke imports still gets its output."""
    result = await sandbox.run_cell(
        "import sys\nkeep = 1\nsys.modules['re'] = None\nprint('cut \\ud83d here', '\\ud83d\\ude00')",
        calls=no_calls,
        timeout=10,
    )
    assert result.status == "ok" and result.stdout == "cut \ufffd here \U0001f600\n"
    assert (await sandbox.run_cell("print(keep)", calls=no_calls, timeout=10)).stdout == "1\n"


async def test_a_half_imported_linecache_does_not_break_the_next_cell(sandbox: SubprocessSandbox) -> None:
    """A thread may be importing linecache while the next cell starts: the module is in sys.modules before its
    `cache` exists. The cell runs, and its lines reach linecache once the import is done."""
    await sandbox.run_cell(
        "import sys, types\nsys.modules['linecache'] = types.ModuleType('linecache')", calls=no_calls, timeout=10
    )
    second = await sandbox.run_cell("x = 2\nprint(x)", calls=no_calls, timeout=10)
    assert second.status == "ok" and second.stdout == "2\n"
    shown = await sandbox.run_cell(
        "del sys.modules['linecache']\nimport linecache\nprint(linecache.getline('<cell 2>', 1).strip())",
        calls=no_calls,
        timeout=10,
    )
    assert shown.stdout == "x = 2\n"


async def test_a_compile_time_warning_shows_its_line(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell("x = 1\ny = x is 1", calls=no_calls, timeout=10)
    assert "SyntaxWarning" in result.stderr and "y = x is 1" in result.stderr


async def test_threads_waiting_for_the_next_cell_use_no_cpu(sandbox: SubprocessSandbox) -> None:
    """Threads that call llm_query after their cell ended wait, without polling, until the next cell serves them."""
    served: list[int] = []
    calls = answering_ok(served)
    start = (
        "import _thread, time\nresults = []\n"
        "def late():\n    time.sleep(0.2)\n    results.append(llm_query('late'))\n"
        "for _ in range(20):\n    _thread.start_new_thread(late, ())"
    )
    await sandbox.run_cell(start, calls=calls, timeout=10)
    assert sandbox._worker is not None
    await asyncio.sleep(0.5)  # every thread is waiting now
    before = _cpu_ticks(sandbox._worker.pid)
    await asyncio.sleep(1.0)
    idle = _cpu_ticks(sandbox._worker.pid) - before
    finish = await sandbox.run_cell(
        "while len(results) < 20:\n    time.sleep(0.01)\nprint(len(results), set(results))", calls=calls, timeout=10
    )
    assert finish.stdout == "20 {'ok'}\n" and sum(served) == 20
    assert idle <= 2, f"the idle worker used {idle} clock ticks in a second"


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime
