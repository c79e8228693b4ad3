"""What a cell may do to the worker's process without costing the REPL: patch the modules the worker's own machinery
uses, close or redirect fd 1, fork (os.fork, multiprocessing), interrupt its own main thread, time-box a sub-call with
its own alarm, lower the recursion limit. Each time the cell gets what it asked for and the next cells work, with
their variables. Real worker processes, no LM."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text="re: " + str(item.get("prompt"))) for item in call.items]


async def slow_echo(call: SubCall) -> list[SubCallResult]:
    await asyncio.sleep(0.01)
    return await echo(call)


async def run(box: SubprocessSandbox, code: str, timeout: float = 20, calls: Any = echo) -> tuple[str, str]:
    result = await box.run_cell(code, calls=calls, timeout=timeout)
    assert result.status != "restarted", result.error
    return result.status, result.stdout + (result.error or "")


async def test_patching_what_the_worker_uses_breaks_nothing_later(sandbox: SubprocessSandbox) -> None:
    patch = (
        "import _thread, _codecs, _json, os, select\nkept = 1\n"
        "_thread.allocate_lock = None\n_codecs.utf_8_decode = None\n_json.make_encoder = None\n"
        "select.select = None\nos.read = lambda fd, n: b''"
    )
    await run(sandbox, patch)
    # The cell's own code now meets its patches; the worker's channel, sub-calls and fd-1 capture do not.
    code = "import os\n_ = os.write(1, b'raw ' * 30000 + b'end\\n')\nprint(llm_query('x'), kept)"
    status, out = await run(sandbox, code)
    assert status == "ok" and out.startswith("raw raw ") and out.endswith("raw end\nre: x 1\n")


async def test_fd_1_closed_or_redirected_by_a_cell_is_the_capture_again_next_cell(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "import os, sys\nwith open(sys.stdout.fileno(), 'w') as f:\n    pass")  # closes fd 1
    assert await run(sandbox, "os.system('echo after close')") == ("ok", "after close\n0\n")
    await run(sandbox, "null = os.open(os.devnull, os.O_WRONLY)\nos.dup2(null, 1)")
    assert await run(sandbox, "os.system('echo after dup2')") == ("ok", "after dup2\n0\n")


async def test_a_forked_child_prints_to_the_cell_and_never_answers_the_host(sandbox: SubprocessSandbox) -> None:
    code = (
        "import os\nkept = 'parent'\npid = os.fork()\nif pid == 0:\n    print('from the child')\n"
        "    try:\n        llm_query('x')\n    except RuntimeError as e:\n"
        "        print('child refused:', 'forked' in str(e))\n"
        "else:\n    os.waitpid(pid, 0)\n    print('parent done')"
    )  # the child never calls os._exit: it comes back into the worker's code, which ends it
    status, out = await run(sandbox, code)
    assert status == "ok" and out.splitlines() == ["from the child", "child refused: True", "parent done"]
    assert await run(sandbox, "print(kept, llm_query('y'))") == ("ok", "parent re: y\n")


async def test_cell_functions_run_in_a_multiprocessing_pool(sandbox: SubprocessSandbox) -> None:
    code = (
        "import multiprocessing as mp\ndef square(n):\n    return n * n\n"
        "with mp.get_context('fork').Pool(2) as pool:\n    print(pool.map(square, range(5)))"
    )
    assert await run(sandbox, code) == ("ok", "[0, 1, 4, 9, 16]\n")


@pytest.mark.parametrize(
    "interrupt", ["_thread.interrupt_main()", "os.kill(os.getpid(), signal.SIGINT)"], ids=["interrupt_main", "kill"]
)
async def test_an_interrupt_during_a_sub_call_is_the_cells_keyboardinterrupt(
    sandbox: SubprocessSandbox, interrupt: str
) -> None:
    code = (
        "import _thread, os, signal, threading, time\nkept = 7\n"
        f"threading.Timer(0.05, lambda: {interrupt}).start()\n"
        "try:\n    for i in range(900):\n        llm_query(str(i))\n    print('never interrupted')\n"
        "except KeyboardInterrupt:\n    print('interrupted')"
    )  # each call takes 10 ms: the interrupt comes while one is in flight
    assert await run(sandbox, code, calls=slow_echo) == ("ok", "interrupted\n")
    assert await run(sandbox, "print(kept, llm_query('z'))") == ("ok", "7 re: z\n")


async def test_a_cells_own_alarm_around_a_sub_call_stays_its_own(sandbox: SubprocessSandbox) -> None:
    code = (
        "import signal, time\nclass Boxed(Exception):\n    pass\n"
        "def ring(*_):\n    raise Boxed()\nsignal.signal(signal.SIGALRM, ring)\nsignal.alarm(1)\n"
        "try:\n    llm_query('a')\n    time.sleep(5)\nexcept Boxed:\n    print('time-boxed')\n"
        "finally:\n    signal.alarm(0)"
    )
    assert await run(sandbox, code) == ("ok", "time-boxed\n")


async def test_a_recursion_limit_too_low_fails_that_cell_only(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "kept = 3")
    status, _ = await run(sandbox, "import sys\nsys.setrecursionlimit(14)\ndef f(n):\n    return f(n + 1)\nf(0)")
    assert status == "error"
    assert await run(sandbox, "print(kept)") == ("ok", "3\n")
