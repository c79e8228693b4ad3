"""The in-process sandbox: unsafe by design, asked for by name, and it says so."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from rlmx.context import prepare
from rlmx.sandbox import CellResult, SubCall, SubCallResult, create_sandbox


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text=item["prompt"][::-1]) for item in call.items]


async def one_cell(code: str, calls: Any = echo, context: str = "c") -> CellResult:
    """`code` run as the only cell of a fresh in-process sandbox, closed after it."""
    sandbox = create_sandbox("inprocess")
    await sandbox.start([prepare("context", context)])
    try:
        return await sandbox.run_cell(code, calls=calls, timeout=5)
    finally:
        await sandbox.close()


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


async def slow_echo(call: SubCall) -> list[SubCallResult]:
    await asyncio.sleep(0.5)
    return await echo(call)


async def test_time_waiting_on_sub_calls_is_not_the_cells_time() -> None:
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell("print([llm_query('ab') for _ in range(3)])", calls=slow_echo, timeout=0.4)
        assert (result.status, result.stdout) == ("ok", "['ba', 'ba', 'ba']\n")
    finally:
        await box.close()


async def test_the_cells_threads_print_into_it_and_their_calls_end_when_the_sandbox_closes() -> None:
    # A thread that calls after its cell ended waits for the next cell, as on the other tiers; the sandbox closing
    # instead tells it so, never leaving it waiting.
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    code = (
        "import threading\ngo = threading.Event()\nerrors = []\n"
        "def late():\n    go.wait()\n    try:\n        llm_query('never sent')\n"
        "    except RuntimeError as exc:\n        errors.append(str(exc))\n"
        "t = threading.Thread(target=late)\nt.start()\n"
        "p = threading.Thread(target=print, args=('from a thread',))\np.start()\np.join()"
    )

    async def unused(call: SubCall) -> list[SubCallResult]:
        raise AssertionError("no call is sent while no cell runs")

    try:
        result = await box.run_cell(code, calls=unused, timeout=5)
        assert result.stdout == "from a thread\n"
        namespace = box._worker.namespace if box._worker is not None else {}
        namespace["go"].set()
        await asyncio.sleep(0.1)
        assert namespace["t"].is_alive()  # waiting for a next cell to send its call in
    finally:
        await box.close()
    namespace["t"].join(5)
    assert not namespace["t"].is_alive() and "shutting down; this sub-call was not sent" in namespace["errors"][0]


async def test_cells_of_two_sandboxes_at_once_each_keep_their_own_output() -> None:
    # A root's cell and its child RLMs' cells overlap. Each sandbox put its own stdout in place and took it away at
    # its cell's end, out of order: a cell still running then printed to the host's real stdout (or into another
    # cell's output), and the host kept a stale stand-in for good.
    stdout = sys.stdout
    first, second = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (first, second):
        await box.start([prepare("context", "c")])
    try:
        early = first.run_cell("import time\ntime.sleep(0.2)\nprint('first')", calls=echo, timeout=5)
        late = second.run_cell("import time\ntime.sleep(0.6)\nprint('second')", calls=echo, timeout=5)
        ended_first, ended_second = await asyncio.gather(early, late)
    finally:
        for box in (first, second):
            await box.close()
    assert (ended_first.stdout, ended_second.stdout) == ("first\n", "second\n")
    assert sys.stdout is stdout


async def test_a_cell_that_leaves_its_own_streams_in_sys_stdout_gives_the_host_its_own_back() -> None:
    # The capture idiom (`sys.stdout = buf = io.StringIO()` ... `sys.stdout = old`) failing before its last line left
    # the cell's buffer as the host's stdout: `rlmx ask --sandbox inprocess` then printed its answer into it.
    stdout, stderr = sys.stdout, sys.stderr
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    try:
        swap = "import io, sys\nsys.stdout = io.StringIO()\nsys.stderr = io.StringIO()\nint('x')"
        failed = await box.run_cell(swap, calls=echo, timeout=5)
        assert (sys.stdout, sys.stderr) == (stdout, stderr)
        after = await box.run_cell("print('captured')", calls=echo, timeout=5)
    finally:
        await box.close()
    assert failed.status == "error" and "ValueError" in str(failed.error)
    assert after.stdout == "captured\n"
    assert (sys.stdout, sys.stderr) == (stdout, stderr)


async def test_threads_a_cell_starts_print_into_it_while_another_sandboxs_cell_runs() -> None:
    # A pool's workers, a timer and a thread started by another thread belonged to no cell: their prints went to the
    # cell that began first (a root's, while its child RLMs' cells ran, or another run's), and their own was silent.
    cell = (
        "import threading, time\nfrom concurrent.futures import ThreadPoolExecutor\ntime.sleep({pause})\n"
        "with ThreadPoolExecutor(2) as pool:\n    list(pool.map(lambda i: print('{tag}-pool', i), range(2)))\n"
        "timer = threading.Timer(0.01, print, args=('{tag}-timer',))\ntimer.start()\ntimer.join()\n"
        "def outer():\n    inner = threading.Thread(target=print, args=('{tag}-inner',))\n    inner.start()\n"
        "    inner.join()\nouter_thread = threading.Thread(target=outer)\nouter_thread.start()\nouter_thread.join()\n"
        "time.sleep(0.3)"
    )
    first, second = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (first, second):
        await box.start([prepare("context", "c")])
    try:
        results = await asyncio.gather(
            first.run_cell(cell.format(tag="first", pause=0.1), calls=echo, timeout=5),
            second.run_cell(cell.format(tag="second", pause=0.2), calls=echo, timeout=5),
        )
    finally:
        for box in (first, second):
            await box.close()
    for tag, result in zip(("first", "second"), results, strict=True):
        expected = [f"{tag}-inner", f"{tag}-pool 0", f"{tag}-pool 1", f"{tag}-timer"]
        assert sorted(result.stdout.splitlines()) == expected, (tag, result.stdout)


async def test_a_pool_kept_from_an_earlier_cell_prints_into_its_own_sandboxs_next_cell() -> None:
    # The pool's worker thread was started by the first cell: in the next one it prints there, not into another
    # sandbox's cell that began earlier.
    mine, other = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (mine, other):
        await box.start([prepare("context", "c")])
    try:
        start = "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)\n"
        warmed = await mine.run_cell(start + "pool.submit(print, 'warm').result()", calls=echo, timeout=5)
        waiting = asyncio.ensure_future(other.run_cell("import time\ntime.sleep(0.5)", calls=echo, timeout=5))
        await asyncio.sleep(0.2)  # the other sandbox's cell runs from here on
        again = await mine.run_cell("pool.submit(print, 'again').result()\npool.shutdown()", calls=echo, timeout=5)
        waited = await waiting
    finally:
        for box in (mine, other):
            await box.close()
    assert (warmed.stdout, again.stdout, waited.stdout) == ("warm\n", "again\n", "")


async def test_a_thread_whose_sandbox_runs_no_cell_prints_into_no_other_sandboxs_cell() -> None:
    # A thread that outlived its cell (its run between cells, or over) wrote into whichever sandbox's cell was running:
    # another run's model read its lines. Its sandbox running no cell, it passes through as when no cell runs at all.
    first, second = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (first, second):
        await box.start([prepare("context", "c")])
    try:
        later = "def later():\n    go.wait(5)\n    print('from the first sandbox')\n    printed.set()\n"
        start = "import threading\ngo, printed = threading.Event(), threading.Event()\n" + later
        await first.run_cell(start + "threading.Thread(target=later).start()", calls=echo, timeout=5)
        assert first._worker is not None and second._worker is not None
        for name in ("go", "printed"):  # the second sandbox's cell lets the thread print, and waits until it has
            second._worker.namespace[name] = first._worker.namespace[name]
        result = await second.run_cell("go.set()\nprinted.wait(5)\nprint('mine')", calls=echo, timeout=5)
    finally:
        for box in (first, second):
            await box.close()
    assert result.stdout == "mine\n"


async def test_raw_threads_of_overlapping_cells_print_into_their_own() -> None:
    # `_thread.start_new_thread` bypassed the mark threading.Thread.start gave: such a thread's lines went into
    # whichever cell began first.
    cell = (
        "import _thread, time\ntime.sleep({pause})\nprinted = _thread.allocate_lock()\nprinted.acquire()\n"
        "_thread.start_new_thread(lambda: (print('{tag}-raw'), printed.release()), ())\n"
        "printed.acquire()\ntime.sleep(0.3)"
    )
    first, second = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (first, second):
        await box.start([prepare("context", "c")])
    try:
        results = await asyncio.gather(
            first.run_cell(cell.format(tag="first", pause=0.05), calls=echo, timeout=5),
            second.run_cell(cell.format(tag="second", pause=0.15), calls=echo, timeout=5),
        )
    finally:
        for box in (first, second):
            await box.close()
    assert [result.stdout for result in results] == ["first-raw\n", "second-raw\n"]


async def test_a_sessions_next_question_leaves_another_sandboxs_threads_their_own() -> None:
    # The next question marked every thread of the host as an earlier question's: another run's cell, and the pool
    # it had made, could no longer FINAL or set `answer`, and that run ended on its fallback.
    asking, other = create_sandbox("inprocess"), create_sandbox("inprocess")
    for box in (asking, other):
        await box.start([prepare("context", "c")])
    assert other._worker is not None
    ready, go = threading.Event(), threading.Event()
    other._worker.namespace.update(ready=ready, go=go)
    cell = (
        "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)\npool.submit(int).result()\n"
        "ready.set()\ngo.wait(5)\n"
        "def finish():\n    answer['content'] = 'from the pool'\n    answer['ready'] = True\n"
        "try:\n    pool.submit(finish).result()\nfinally:\n    pool.shutdown()\nFINAL('its own')"
    )
    try:
        running = asyncio.ensure_future(other.run_cell(cell, calls=echo, timeout=5))
        await asyncio.to_thread(ready.wait, 5)  # its cell and its pool's thread run now
        await asking.load([], {})
        go.set()
        result = await running
    finally:
        for box in (asking, other):
            await box.close()
    assert (result.status, result.error) == ("ok", None)
    assert result.final == {"kind": "final", "value": "its own"}
    assert (result.answer["content"], result.answer["ready"]) == ("from the pool", True)


async def test_what_the_host_prints_while_serving_a_sub_call_is_not_the_cells_output() -> None:
    # Work carries its origin in a context variable, which asyncio copies into the task a cell's sub-call is served
    # by: the host's own prints meanwhile (a progress line, a client's warning) would have been the cell's output.
    async def noisy_echo(call: SubCall) -> list[SubCallResult]:
        print("HOST LINE")
        return await echo(call)

    assert (await one_cell("print(llm_query('abc'))", calls=noisy_echo)).stdout == "cba\n"


async def test_a_cells_working_directory_and_thread_stack_size_are_not_the_hosts_after_it(tmp_path: Path) -> None:
    # Both are process-wide: a cell's `os.chdir` moved the host's relative paths (its traces) for good, and its
    # `threading.stack_size(64 * 1024)` was the size of the next cell's thread (deep recursion in C then killed
    # the host with SIGSEGV) and of every thread the host started later.
    cwd, stack_size = os.getcwd(), threading.stack_size()
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    try:
        first = f"import os, threading\nos.chdir({str(tmp_path)!r})\nthreading.stack_size(64 * 1024)"
        assert (await box.run_cell(first, calls=echo, timeout=5)).status == "ok"
        assert (os.getcwd(), threading.stack_size()) == (cwd, stack_size)
        second = await box.run_cell("print(os.getcwd(), threading.stack_size())", calls=echo, timeout=5)
        assert second.stdout == f"{cwd} {stack_size}\n"
    finally:
        await box.close()
        os.chdir(cwd)
        threading.stack_size(stack_size)


async def test_overlapping_cells_of_two_sandboxes_leave_the_host_in_its_own_directory(tmp_path: Path) -> None:
    # Each cell saved the cwd it found and put it back as it ended: a cell that began while another had moved to
    # its folder saved that folder, ended last, and left the host there.
    cwd = os.getcwd()
    first, second = create_sandbox("inprocess"), create_sandbox("inprocess")
    await first.start([prepare("context", "c")])
    await second.start([prepare("context", "c")])

    async def later() -> str:
        await asyncio.sleep(0.3)  # the first cell has moved by now
        return (await second.run_cell("import time\ntime.sleep(1.0)", calls=echo, timeout=5)).status

    try:
        moving = f"import os, time\nos.chdir({str(tmp_path)!r})\ntime.sleep(0.6)"
        statuses = await asyncio.gather(first.run_cell(moving, calls=echo, timeout=5), later())
        assert [getattr(status, "status", status) for status in statuses] == ["ok", "ok"]
        assert os.getcwd() == cwd
    finally:
        await first.close()
        await second.close()
        os.chdir(cwd)


async def test_a_sandbox_made_while_a_cell_changed_the_stack_size_starts_its_cells_with_the_hosts() -> None:
    # A sandbox recorded the stack size as it was made: one made during a cell (a child RLM's) took the size the
    # cell had set, and its cells' threads ran with 64 KiB (deep recursion in C then killed the host).
    stack_size = threading.stack_size()
    parent = create_sandbox("inprocess")
    await parent.start([prepare("context", "c")])

    async def child_meanwhile() -> str:
        await asyncio.sleep(0.3)  # the parent's cell has set its size by now
        child = create_sandbox("inprocess")
        await child.start([prepare("context", "c")])
        try:
            return (
                await child.run_cell("import threading\nprint(threading.stack_size())", calls=echo, timeout=5)
            ).stdout
        finally:
            await child.close()

    try:
        small = "import threading, time\nthreading.stack_size(64 * 1024)\ntime.sleep(0.8)"
        _, seen = await asyncio.gather(parent.run_cell(small, calls=echo, timeout=5), child_meanwhile())
        assert seen == f"{stack_size}\n"
        assert threading.stack_size() == stack_size
    finally:
        await parent.close()
        threading.stack_size(stack_size)


async def test_a_stack_size_the_host_sets_between_runs_is_its_cells_and_stays_its_own() -> None:
    # The host's stack size was recorded once, when the first sandbox was made: a size the host set after an
    # earlier run was not its next cell's thread's, and that run's end put the stale one back in the host.
    stack_size = threading.stack_size()
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    asked = "import threading\nprint(threading.stack_size())"
    try:
        assert (await box.run_cell(asked, calls=echo, timeout=5)).stdout == f"{stack_size}\n"
        threading.stack_size(4 * 1024 * 1024)
        assert (await box.run_cell(asked, calls=echo, timeout=5)).stdout == f"{4 * 1024 * 1024}\n"
        assert threading.stack_size() == 4 * 1024 * 1024
    finally:
        await box.close()
        threading.stack_size(stack_size)


def test_a_stack_size_the_host_set_before_its_first_sandbox_is_kept() -> None:
    # Reading it (`threading.stack_size()` with no size) sets the default: the sandbox's first record, as the
    # module loaded, reset the host's size, and every later record then took that default as the host's.
    host = (
        "import asyncio, threading\nthreading.stack_size(4 * 1024 * 1024)\n"
        "from rlmx.context import prepare\nfrom rlmx.sandbox import create_sandbox\n"
        "async def main():\n    box = create_sandbox('inprocess')\n    await box.start([prepare('context', 'c')])\n"
        "    cell = await box.run_cell('import threading\\nprint(threading.stack_size())', calls=None, timeout=5)\n"
        "    await box.close()\n    print(cell.stdout.strip(), threading.stack_size())\nasyncio.run(main())"
    )
    seen = subprocess.run([sys.executable, "-c", host], capture_output=True, text=True, timeout=60)
    assert seen.stdout.split() == [str(4 * 1024 * 1024)] * 2, seen.stderr


def test_workspace_files_go_to_a_folder_of_its_own_never_the_hosts_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copies were written into the host's working directory: a user's file of the same name was overwritten
    # and left read-only, and a file passed from there was made read-only itself.
    from rlmx import RLM
    from rlmx.lm import ScriptedLM
    from scripting import repl

    host, elsewhere = tmp_path / "host", tmp_path / "vendor"
    host.mkdir()
    elsewhere.mkdir()
    (host / "notes.txt").write_text("MY OWN NOTES")
    (host / "mine.csv").write_text("a,b\n1,2\n")
    (elsewhere / "notes.txt").write_text("the vendor's notes")
    monkeypatch.chdir(host)
    cell = (  # the folder is named to the model: the process's working directory stays the host's
        "import os, pathlib\nfolder = pathlib.Path(workspace_dir)\n"
        "FINAL('|'.join([(folder / 'notes.txt').read_text(), (folder / 'mine.csv').read_text(), str(folder)]))"
    )
    rlm = RLM(ScriptedLM([repl(cell)]), sandbox="inprocess", files=[elsewhere / "notes.txt", Path("mine.csv")])
    notes, table, folder = rlm.completion("q", context="c").answer.split("|")
    assert (notes, table) == ("the vendor's notes", "a,b\n1,2\n")
    assert Path(folder) != host and not Path(folder).exists()  # the tier's folder, removed when it closed
    assert (host / "notes.txt").read_text() == "MY OWN NOTES"
    assert sorted(p.name for p in host.iterdir()) == ["mine.csv", "notes.txt"]
    assert all(os.access(p, os.W_OK) for p in host.iterdir())
    assert os.getcwd() == str(host)


def test_workspace_files_move_neither_the_hosts_tools_and_callbacks_nor_a_parent_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cells ran in the tier's folder by `os.chdir`, which moves the whole process: a host tool's relative path
    # failed, an `on_event` callback's log lines went to the folder (removed at close), and a child RLM's cell
    # left its parent's in the child's folder, deleted when the child closed.
    from rlmx import RLM
    from rlmx.lm import ScriptedLM
    from scripting import repl

    monkeypatch.chdir(tmp_path)
    Path("prices.json").write_text('{"gadget": 7}')
    (tmp_path / "vendor").mkdir()
    terms = tmp_path / "vendor" / "terms.txt"
    terms.write_text("no fees")

    def price_of(item: str) -> int:
        """The price of `item` in the host's price list."""
        return int(json.loads(Path("prices.json").read_text())[item])

    events: list[str] = []

    def log_event(event: object) -> None:
        events.append(type(event).__name__)
        with open("events.log", "a") as log:
            log.write(type(event).__name__ + "\n")

    reading = "pathlib.Path(workspace_dir, 'terms.txt').read_text()"
    cell = (
        f"import os, pathlib\nhere = os.getcwd()\nmine = {reading}\nprice = price_of('gadget')\n"
        "kids = [rlm_query('terms?', 'x')] + rlm_query_batched(['a?', 'b?'], ['y', 'z'])\n"
        f"FINAL([here, os.getcwd(), mine, {reading}, price, kids])"
    )
    kid = ScriptedLM(lambda messages: repl(f"import os, pathlib\nFINAL([os.getcwd(), {reading}])"))
    root = ScriptedLM([repl(cell)])
    rlm = RLM(
        root,
        depth_lms={1: kid},
        max_depth=2,
        sandbox="inprocess",
        tools=[price_of],
        files=[terms],
        on_event=log_event,
    )
    here, after, mine, again, price, kids = json.loads(rlm.completion("q", context="c").answer)
    home = str(tmp_path)
    assert (here, after, mine, again, price) == (home, home, "no fees", "no fees", 7)
    assert [json.loads(kid) for kid in kids] == [[home, "no fees"]] * 3
    assert "`workspace_dir`" in root.calls[0][0]["content"]  # the system prompt names the folder's variable
    assert Path("events.log").read_text().splitlines() == events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.log", "prices.json", "vendor"]


def test_a_cell_never_reads_the_hosts_stdin() -> None:
    # mito#1527, evalscope#1718: a model's `input()` read what was meant for the host (a user typing to `rlmx ask`),
    # and `sys.stdin.read()` held the run until the cell's time limit ended it. The host's stdin stays its own.
    host = (
        "import asyncio, json, sys\nfrom rlmx.context import prepare\nfrom rlmx.sandbox import create_sandbox\n"
        "async def main():\n    box = create_sandbox('inprocess')\n    await box.start([prepare('context', 'c')])\n"
        "    code = 'import sys\\nprint(repr(sys.stdin.read()))\\n'\n"
        "    code += 'try:\\n    input()\\nexcept EOFError:\\n    print(1)'\n"
        "    cell = await box.run_cell(code, calls=None, timeout=5)\n    await box.close()\n"
        "    print(json.dumps([cell.status, cell.stdout, sys.stdin.read()]))\nasyncio.run(main())"
    )
    seen = subprocess.run([sys.executable, "-c", host], input="HOST-LINE\n", capture_output=True, text=True, timeout=60)
    assert json.loads(seen.stdout) == ["ok", "''\n1\n", "HOST-LINE\n"], seen.stderr


async def test_show_vars_lists_the_models_variables_not_rlmxs_own() -> None:
    lines = (await one_cell("x = [1, 2]\nSHOW_VARS()")).stdout.splitlines()
    assert "x: list, len 2" in lines and not any(line.startswith("_rlmx") for line in lines), lines
    assert "answer: dict, len 2" in lines  # as the prompt calls it, not rlmx's class (it showed `answer: _Answer`)
