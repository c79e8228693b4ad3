"""Output written below Python's sys.stdout and sys.stderr, at file descriptors 1 and 2 (os.write, subprocesses, C
code), reaches the cell's output and error output in the order it was written, on every tier that runs the worker
in its own process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.isolated import IsolatedSandbox
from rlmx.sandbox.stdio import StdioSandbox
from rlmx.sandbox.subprocess import SubprocessSandbox


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls expected")


@pytest.fixture(params=["zygote", "stdio"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[SubprocessSandbox]:
    launcher = SubprocessSandbox if request.param == "zygote" else StdioSandbox
    box = launcher(max_output_chars=2_000)
    await box.start([prepare("context", "the context")])
    yield box
    await box.close()


async def run(box: SubprocessSandbox, code: str) -> str:
    result = await box.run_cell(code, calls=no_calls, timeout=20)
    assert result.status == "ok", result.error
    return result.stdout


async def test_descriptor_writes_and_prints_keep_their_order(sandbox: SubprocessSandbox) -> None:
    code = "import os\nprint('one')\nos.write(1, b'two\\n')\nprint('three')\nos.write(1, b'four\\n')"
    assert await run(sandbox, code) == "one\ntwo\nthree\nfour\n5\n"  # 5: os.write's value, the last expression


async def test_a_subprocess_output_is_the_cells_output(sandbox: SubprocessSandbox) -> None:
    code = (
        "import os, subprocess\nprint('before')\nos.system('echo from a shell')\n"
        "subprocess.run(['echo', 'from echo'])\nprint('after')"
    )
    assert await run(sandbox, code) == "before\nfrom a shell\nfrom echo\nafter\n"


async def test_sys_stdout_and_stderr_are_descriptors_1_and_2(sandbox: SubprocessSandbox) -> None:
    code = (
        "import subprocess, sys\nsubprocess.run(['echo', 'handed sys.stdout'], stdout=sys.stdout)\n"
        "print(sys.stdout.fileno(), sys.stderr.fileno())"
    )
    assert await run(sandbox, code) == "handed sys.stdout\n1 2\n"


async def test_error_output_below_sys_stderr_is_the_cells_stderr_in_order(sandbox: SubprocessSandbox) -> None:
    """A command's error message (fd 2 of the subprocess) is what the model needs to see when the command
    fails: it is the cell's stderr, in order with what Python wrote there."""
    code = (
        "import os, subprocess, sys\nprint('first', file=sys.stderr)\n"
        "subprocess.run(['ls', '/no/such/folder'])\nos.write(2, b'raw\\n')\nprint('last', file=sys.stderr)"
    )
    result = await sandbox.run_cell(code, calls=no_calls, timeout=20)
    lines = result.stderr.splitlines()
    assert result.status == "ok" and lines[0] == "first" and lines[2:] == ["raw", "last"]
    assert "/no/such/folder" in lines[1] and result.stdout == ""


async def test_output_after_a_cell_ends_goes_to_the_next_cell(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "import subprocess\nlate = subprocess.Popen(['sh', '-c', 'sleep 0.2; echo late line'])")
    await asyncio.sleep(0.6)  # the line is written while no cell runs
    assert await run(sandbox, "print('next', late.poll())") == "late line\nnext 0\n"


async def test_a_flood_from_a_subprocess_is_capped_like_any_output(sandbox: SubprocessSandbox) -> None:
    result = await sandbox.run_cell(
        "import subprocess\nsubprocess.run(['seq', '1', '200000'])\nprint('done')", calls=no_calls, timeout=30
    )
    assert result.stdout.startswith("1\n2\n3\n") and result.stdout.endswith("199999\n200000\ndone\n")
    assert result.stdout_cut > 1_000_000


async def test_utf8_cut_between_two_writes_and_bad_bytes(sandbox: SubprocessSandbox) -> None:
    code = (
        "import os\ndata = 'é€😀'.encode()\nos.write(1, data[:5])\nos.write(1, data[5:] + b'\\n')\n"
        "_ = os.write(1, b'bad \\xff byte\\n')"
    )
    assert await run(sandbox, code) == "é€😀\nbad \ufffd byte\n"


async def test_a_utf8_sequence_a_cell_left_unfinished_is_its_own_replacement_character(
    sandbox: SubprocessSandbox,
) -> None:
    # the rest of the character, written by the next cell, cannot complete it: each cell shows what it wrote
    assert await run(sandbox, "import os\n_ = os.write(1, b'one=[\\xe2\\x82')") == "one=[\ufffd"
    assert await run(sandbox, "import os\n_ = os.write(1, b'\\xac]two\\n')") == "\ufffd]two\n"


@pytest.mark.parametrize(
    "write",
    ["os.write(1, b'mix=[\\xe2\\x82')", "sys.stdout.buffer.write(b'mix=[\\xe2\\x82')"],
    ids=["descriptor", "buffer"],
)
async def test_text_written_after_an_unfinished_utf8_sequence_follows_its_replacement(
    sandbox: SubprocessSandbox, write: str
) -> None:
    # as a terminal shows the bytes in the order they were written: the sequence ends where the text begins
    code = f"import os, sys\n_ = {write}\nprint('<p>')\n_ = os.write(1, b'\\xac]\\n')"
    assert await run(sandbox, code) == "mix=[\ufffd<p>\n\ufffd]\n"


async def test_the_repl_keeps_working_after_descriptor_output(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "import os\nkept = 41\n_ = os.write(1, b'x' * 100_000)")
    assert await run(sandbox, "print(kept + 1)") == "42\n"


async def test_the_isolated_tier_captures_descriptor_writes_too(require_isolated: Callable[..., None]) -> None:
    require_isolated()
    box = IsolatedSandbox()
    try:
        await box.start([prepare("context", "x")])
        code = "import os\nprint('one')\n_ = os.write(1, b'two\\n')\nprint('three')"
        assert await run(box, code) == "one\ntwo\nthree\n"
    finally:
        await box.close()
