"""The subprocess sandbox on its own: frames, limits and restarts, with no LM involved."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from rlmx.context import prepare
from rlmx.errors import InputError, SandboxStartError
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


async def test_sub_call_caps_per_cell_and_per_run_refuse_with_a_clear_error() -> None:
    seen: list[str] = []

    async def calls(call: SubCall) -> list[SubCallResult]:
        seen.extend(item["prompt"] for item in call.items)
        return [SubCallResult(True, text="ok") for _ in call.items]

    box = SubprocessSandbox(max_calls_per_cell=3, max_calls_per_run=5)
    await box.start([prepare("context", "c")])
    try:
        oversize = await box.run_cell("llm_query_batched(['x'] * 4)", calls=calls, timeout=5)
        first = await box.run_cell(
            "print(llm_query_batched(['a', 'b']), llm_query_batched(['c', 'd']))", calls=calls, timeout=5
        )
        second = await box.run_cell("print(llm_query_batched(['e', 'f', 'g']))", calls=calls, timeout=5)
        third = await box.run_cell("llm_query('h')", calls=calls, timeout=5)
    finally:
        await box.close()
    # A batch bigger than a cell may send is refused whole, before anything is sent or spent.
    assert oversize.status == "error" and "4 prompts in one call is over the 3 sub-calls" in (oversize.error or "")
    assert first.stdout.startswith("['ok', 'ok'] ['ok', 'Error: sub-call refused: this cell already made 3")
    assert second.stdout.startswith("['ok', 'ok', 'Error: sub-call refused: this REPL already made 5")
    assert third.status == "error" and "RuntimeError: sub-call refused" in (third.error or "")
    assert seen == ["a", "b", "c", "e", "f"]


async def test_prompt_characters_are_capped_per_run() -> None:
    async def calls(call: SubCall) -> list[SubCallResult]:
        return [SubCallResult(True, text="ok") for _ in call.items]

    box = SubprocessSandbox(max_prompt_chars=1000)
    await box.start([prepare("context", "c")])
    try:
        ok = await box.run_cell("print(llm_query('x' * 600))", calls=calls, timeout=5)
        refused = await box.run_cell("print(llm_query('x' * 600))", calls=calls, timeout=5)
    finally:
        await box.close()
    assert ok.stdout == "ok\n"
    assert "would pass the cap of 1,000 prompt characters per run (600 sent so far)" in (refused.error or "")


async def test_output_is_cut_in_the_middle_and_capped(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell("print('a' * 30_000 + 'b' * 30_000)", calls=no_calls, timeout=5)
    assert result.stdout.startswith("a" * 10_000) and result.stdout.rstrip("\n").endswith("b" * 9_999)
    assert result.stdout_cut == 40_001 and len(result.stdout) < 20_100
    error = await sandbox.run_cell("raise ValueError('e' * 1_000_000)", calls=no_calls, timeout=5)
    assert error.status == "error" and len(error.error or "") < 20_100 and "characters cut" in (error.error or "")


async def test_a_final_value_too_big_for_a_frame_is_shortened_not_lost() -> None:
    box = SubprocessSandbox(max_frame_bytes=1 << 20)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell("FINAL('x' * 3_000_000)", calls=no_calls, timeout=10)
    finally:
        await box.close()
    assert result.status == "ok" and result.final is not None
    value = result.final["value"]
    assert value.startswith("x" * (1 << 19)) and "FINAL's value was 3,000,002 bytes" in value
    assert len(value.encode()) < 1 << 20


@pytest.mark.skipif(os.geteuid() != 0, reason="a separate uid needs a root host")
async def test_on_a_root_host_the_worker_runs_under_a_uid_of_its_own(sandbox: SubprocessSandbox) -> None:
    """The worker switches to a fresh unnamed uid once the contexts are loaded, even though the Python may live
    where that uid cannot go (a pyenv under /root): stdlib modules not imported yet still import."""
    result = await sandbox.run_cell(
        "import os, statistics, decimal\nprint(os.getuid(), os.getgid(), os.getgroups(), statistics.mean([1, 3]))",
        calls=no_calls,
        timeout=5,
    )
    uid, gid, groups, mean = result.stdout.split(maxsplit=3)
    assert int(uid) == sandbox.uid != 0 and int(gid) == sandbox.uid and groups.strip() == "[]", result.stdout
    assert mean.strip() == "2" and sandbox.protections["identity"] == f"separate uid {sandbox.uid}"
    assert sandbox.protections["limits"]["processes"] == sandbox.max_processes


async def test_the_host_is_not_readable_through_proc(sandbox: SubprocessSandbox) -> None:
    code = f"open('/proc/{os.getpid()}/environ', 'rb').read()"
    result = await sandbox.run_cell(code, calls=no_calls, timeout=5)
    # Not root: the worker's pid namespace of its own (where the kernel allows one) has no host in its /proc at all
    assert result.status == "error" and ("PermissionError" in (error := result.error or "") or "FileNotFound" in error)


def test_a_disk_limit_must_be_positive() -> None:
    with pytest.raises(InputError, match="disk_limit_bytes"):
        SubprocessSandbox(disk_limit_bytes=0)


async def test_the_disk_bound_holds_again_after_a_breach() -> None:
    """The watcher ends a worker over its disk limit and deletes what it wrote, then watches its successor."""
    import asyncio

    write = "for i in range(12):\n    open(f'fill{i}', 'wb').write(b'x' * (4 << 20))\nimport time\ntime.sleep(3)"
    box = SubprocessSandbox(disk_limit_bytes=16 << 20)
    await box.start([prepare("context", "c")])
    try:
        first = await box.run_cell(write, calls=no_calls, timeout=10)
        second = await box.run_cell(write, calls=no_calls, timeout=10)
        await asyncio.sleep(0.3)
        left = sum(f.stat().st_size for folder in box.disk_folders() for f in folder.rglob("*") if f.is_file())
        after = await box.run_cell("print(context)", calls=no_calls, timeout=5)
    finally:
        await box.close()
    for result in (first, second):
        assert result.status == "restarted" and "over the run's disk limit" in str(result.error), result
    assert left == 0 and after.stdout == "c\n"


async def test_empty_files_count_against_the_disk_limit() -> None:
    # 150,000 empty files on RAM-backed folders took no block, so they counted as nothing, while every scan of them
    # cost the host 78% of a core: each entry counts a page at least
    making = "for i in range(3000):\n    open(f'empty{i}', 'wb').close()\nimport time\ntime.sleep(3)"
    box = SubprocessSandbox(disk_limit_bytes=8 << 20)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(making, calls=no_calls, timeout=10)
    finally:
        await box.close()
    assert result.status == "restarted" and "over the run's disk limit" in str(result.error), result


async def test_a_host_refusing_the_run_dir_is_a_start_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # A chown to an id the user namespace does not map (EINVAL) reached the CLI as a traceback and exit 1.
    async def refused(self: SubprocessSandbox) -> None:
        raise OSError(22, "Invalid argument", "/dev/shm/rlmx-x/ctx/context.txt")

    monkeypatch.setattr(SubprocessSandbox, "layout", refused)
    box = SubprocessSandbox()
    with pytest.raises(SandboxStartError, match=r"could not be set up: \[Errno 22\] Invalid argument"):
        await box.start([prepare("context", "c")])


WIDE_POOL = (
    "from concurrent.futures import ThreadPoolExecutor\n"
    "with ThreadPoolExecutor(max_workers=24) as pool:\n"
    "    print(len(list(pool.map(llm_query, [str(i) for i in range(24)]))))"
)
HUGE_STACK = "import threading\nthreading.stack_size(1 << 40)\nthreading.Thread(target=print).start()"


@pytest.mark.parametrize(
    ("cell", "options", "limit"),
    [
        pytest.param(
            WIDE_POOL,
            {"max_processes": 8},
            "at most 8 threads and processes at once (RLIMIT_NPROC",
            marks=pytest.mark.skipif(os.geteuid() != 0, reason="a process limit of its own needs a root host"),
            id="past the process limit",
        ),
        pytest.param(HUGE_STACK, {}, "counts against its memory limit", id="past the memory limit"),
    ],
)
async def test_a_thread_that_cannot_start_tells_the_model_the_limit_and_what_to_do(
    cell: str, options: dict[str, int], limit: str
) -> None:
    # A pool as wide as its batch got only "RuntimeError: can't start new thread", from deep in concurrent.futures.
    async def echo(call: SubCall) -> list[SubCallResult]:
        return [SubCallResult(True, text="ok") for _ in call.items]

    box = SubprocessSandbox(**options)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(cell, calls=echo, timeout=20)
        after = await box.run_cell("print(len(context))", calls=echo, timeout=5)
    finally:
        await box.close()
    assert "can't start new thread" in str(result.error) and limit in str(result.error), result.error
    assert "llm_query_batched(prompts)" in str(result.error)
    assert after.stdout == "1\n"


async def test_a_closed_sandbox_never_starts_a_worker_again() -> None:
    # a cell still running when its session closed tried to restart the REPL: an AssertionError, or a zygote
    # started after the close
    box = SubprocessSandbox()
    await box.start([prepare("context", "c")])
    await box.close()
    with pytest.raises(SandboxStartError, match="the REPL was closed"):
        await box.run_cell("print(1)", calls=None, timeout=5)


def _raised_in(filename: str) -> BaseException:
    """An OSError whose traceback ends in code compiled as `filename`."""
    try:
        exec(compile("raise OSError(30, 'Read-only file system')", filename, "exec"), {})
    except OSError as exc:
        return exc
    raise AssertionError("unreachable")


def test_multiprocessing_that_starts_a_new_interpreter_is_told_to_use_fork() -> None:
    # 'spawn' and 'forkserver' (Python 3.14's default) failed as a read-only file system, a refused connection, a
    # broken pipe or a hang: nothing said the sandbox was why
    from rlmx.sandbox import worker

    for module in ("popen_spawn_posix", "popen_forkserver", "resource_tracker", "synchronize"):
        note = worker._limit_note(_raised_in(f"/usr/lib/python3.11/multiprocessing/{module}.py"))
        assert "get_context('fork')" in note and "new Python interpreter" in note, module
    assert worker._limit_note(_raised_in("/usr/lib/python3.11/multiprocessing/pool.py")) == ""  # the pool's own


def _raised_through(frames: list[tuple[str, str]], error: OSError) -> OSError:
    """`error`, raised through code compiled as multiprocessing's modules, outermost first: each (module, code) defines
    `step()`, which calls `deeper()` (the next one's step), or raises `error` in the last."""
    deeper: object = None
    for module, code in reversed(frames):
        namespace = {"error": error, "deeper": deeper}
        exec(compile(code, f"/usr/lib/python3.11/multiprocessing/{module}.py", "exec"), namespace)
        deeper = namespace["step"]
    try:
        deeper()  # type: ignore[operator]
    except OSError as exc:
        return exc
    raise AssertionError("unreachable")


_MAKING_A_SEMAPHORE = (
    "synchronize",
    "class SemLock:\n    def __init__(self):\n        raise error\ndef step():\n    SemLock()",
)


def test_a_lock_multiprocessing_cannot_make_is_put_down_to_dev_shm_not_to_spawn() -> None:
    # A ThreadPool (threads only) on a sandbox whose /dev/shm was read-only was told 'spawn' and 'forkserver' were
    # to blame, and to use get_context('fork').Pool(4), which needs the same locks, or "a thread pool".
    from rlmx.sandbox import worker

    for error in (OSError(30, "Read-only file system"), PermissionError(13, "Permission denied")):
        note = worker._limit_note(_raised_through([("pool", "def step():\n    deeper()"), _MAKING_A_SEMAPHORE], error))
        assert "/dev/shm" in note and "concurrent.futures.ThreadPoolExecutor" in note, note
        assert "fork" not in note and "spawn" not in note, note


def test_where_no_process_may_start_no_note_offers_one() -> None:
    # On the isolated tier the note for a process pool advised get_context('fork'), which its filter denies.
    from rlmx.sandbox import worker

    starts = ["popen_spawn_posix", "popen_forkserver", "resource_tracker", "popen_fork"]
    for module in starts:
        refused = _raised_through(
            [(module, "def step():\n    raise error")], PermissionError(1, "Operation not permitted")
        )
        note = worker._limit_note(refused, may_fork=False)
        assert "no new process at all" in note and "ThreadPoolExecutor" in note, module
        assert "get_context('fork')" not in note, module
    elsewhere = _raised_through([("pool", "def step():\n    raise error")], OSError(30, "Read-only file system"))
    assert worker._limit_note(elsewhere, may_fork=False) == ""


def test_a_thread_pool_whose_locks_need_a_new_interpreter_is_not_offered_a_process_pool() -> None:
    # Python 3.14's 'forkserver' default: a ThreadPool's locks register with the resource tracker, a new interpreter.
    from rlmx.sandbox import worker

    frames = [
        ("pool", "class ThreadPool:\n    def __init__(self):\n        deeper()\ndef step():\n    ThreadPool()"),
        ("resource_tracker", "def step():\n    raise error"),
    ]
    note = worker._limit_note(_raised_through(frames, BrokenPipeError(32, "Broken pipe")))
    assert "new Python interpreter" in note and "concurrent.futures.ThreadPoolExecutor" in note, note
    assert "fork')" not in note, note


async def test_a_new_interpreter_the_repl_may_not_run_is_refused_at_once(sandbox: SubprocessSandbox) -> None:
    # multiprocessing never reads back a failed exec: on a root host (the REPL's uid may not reach a Python under
    # /root) a 'spawn' child exited 255 unseen, and its pool failed at random (no worker left, or a hang past the hard
    # limit that lost the REPL). Where the interpreter can run, the child does its work.
    process = (
        "keep = 'kept'\nimport multiprocessing\nchild = multiprocessing.get_context('spawn').Process(target=abs, "
        "args=(-1,))\nchild.start()\nchild.join(10)\nprint('exit', child.exitcode)"
    )
    pool = "with multiprocessing.get_context('spawn').Pool(2) as workers:\n    print(workers.map(abs, [-1, -2]))"
    outcomes = [await sandbox.run_cell(cell, calls=no_calls, timeout=15) for cell in (process, pool)]
    after = await sandbox.run_cell("print(keep)", calls=no_calls, timeout=5)
    ran = [(r.status, r.stdout) for r in outcomes] == [("ok", "exit 0\n"), ("ok", "[1, 2]\n")]
    refused = all(
        r.status == "error" and "may not run" in str(r.error) and "get_context('fork')" in str(r.error)
        for r in outcomes
    )
    assert ran or refused, outcomes
    assert after.stdout == "kept\n"


async def test_the_memory_bound_holds_for_a_cells_processes_together() -> None:
    """RLIMIT_AS bounds each process alone: forked children, each under the limit, must not hold more than the
    memory limit together. The watcher ends them all with a clear reason; the next cell runs in a new worker."""
    # The children hold their memory for 15 s: the watcher ends them as soon as it sees the sum (a tenth of a second
    # on a quiet machine), and on a loaded one (3 CPU hogs on 2 cores) seeing it took up to 3 s, on 406fd34 too, so
    # a 3 s window failed the test now and then (CI5 of session 34) though the bound held
    fork_and_fill = (
        "import os, time\n"
        "for _ in range(4):\n"
        "    if os.fork() == 0:\n"
        "        block = bytearray(100 << 20)\n"
        "        time.sleep(15)\n"
        "        os._exit(0)\n"
        "time.sleep(12)\n"
        "print('all held')"
    )
    box = SubprocessSandbox(memory_limit_bytes=256 << 20)
    await box.start([prepare("context", "c")])
    try:
        filled = await box.run_cell(fork_and_fill, calls=no_calls, timeout=30)
        after = await box.run_cell("print(context)", calls=no_calls, timeout=5)
    finally:
        await box.close()
    assert filled.status == "restarted" and "all held" not in filled.stdout, filled
    assert "memory bound of 268,435,456 bytes" in str(filled.error) and "memory_limit_bytes" in str(filled.error)
    assert after.stdout == "c\n"


async def test_a_close_the_interpreters_exit_runs_frees_the_contexts_without_a_thread(
    sandbox: SubprocessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run cancelled as its loop stopped is closed at the interpreter's exit, where a new thread never starts and
    # Thread.start() waits for ever: the process hung after its last line. The files are closed in line then.
    import sys
    import threading

    held = list(sandbox._held.values())
    assert held, "the contexts' files are held until the sandbox closes"

    def no_thread(self: threading.Thread) -> None:
        raise AssertionError("a thread started at the interpreter's exit")

    with monkeypatch.context() as patched:
        patched.setattr(sys, "is_finalizing", lambda: True)
        patched.setattr(threading.Thread, "start", no_thread)
        sandbox._release_contexts()
    for fd in held:
        with pytest.raises(OSError):
            os.fstat(fd)
