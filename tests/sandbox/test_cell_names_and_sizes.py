"""What a cell does to names and values that the worker's own machinery meets: builtins it rebinds or deletes
before a sub-call in the same cell, stream handles it keeps from an earlier cell, keys of globals() that are no
names, and answers whose encoded size is over the frame cap. Each time the cell gets what it asked for, the worker
lives and the variables survive. Real worker processes, no LM."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.frames import DEFAULT_MAX_FRAME_BYTES
from rlmx.sandbox.inprocess import InProcessSandbox
from rlmx.sandbox.stdio import StdioSandbox
from rlmx.sandbox.subprocess import SubprocessSandbox


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text="re: " + str(item.get("prompt"))) for item in call.items]


async def started(kind: type[SubprocessSandbox] = SubprocessSandbox, **options: object) -> SubprocessSandbox:
    box = kind(hard_timeout_grace=1.0, **options)  # type: ignore[arg-type]
    await box.start([prepare("context", "the context")])
    return box


@pytest.fixture
async def sandbox() -> AsyncIterator[SubprocessSandbox]:
    box = await started()
    yield box
    await box.close()


async def run(box: SubprocessSandbox, code: str, timeout: float = 10) -> tuple[str, str, str]:
    result = await box.run_cell(code, calls=echo, timeout=timeout)
    assert result.status != "restarted", result.error
    return result.status, result.stdout, result.stderr + (result.error or "")


# --- builtins a cell changes, then a sub-call in the same cell ----------------------------------------------------

ALL_BUILTINS = "d = vars(builtins)\nfor n in [k for k in d if not k.startswith('__')]:\n    "


@pytest.mark.parametrize(
    "patch",
    [
        "builtins.len = lambda x: 0",
        "builtins.isinstance = lambda *a: False",
        "builtins.memoryview = None",
        "del builtins.min",
        "builtins.int = builtins.bytes = builtins.list = None",
        "builtins.str = builtins.type = builtins.dict = None",
        "min = None\ndict = None\nlen = None",  # the cell's own names, not the builtins module's
        ALL_BUILTINS + "d[n] = None",
        ALL_BUILTINS + "del d[n]",
    ],
)
async def test_a_sub_call_after_a_cell_changed_builtins_is_answered(sandbox: SubprocessSandbox, patch: str) -> None:
    await run(sandbox, "kept = 'still here'")
    status, _, error = await run(
        sandbox, f"import builtins\n{patch}\none = llm_query('a')\nboth = llm_query_batched(['b', 'c'])"
    )
    assert status == "ok", error
    assert await run(sandbox, "print(one, both, kept)") == ("ok", "re: a ['re: b', 're: c'] still here\n", "")


# --- stream handles kept from an earlier cell ----------------------------------------------------------------------


async def test_a_handle_kept_from_an_earlier_cell_writes_into_the_current_one(sandbox: SubprocessSandbox) -> None:
    await run(
        sandbox,
        "import io, logging, sys\nlogging.basicConfig(format='%(levelname)s %(message)s')\n"
        "out, err = sys.stdout, sys.stderr\nwrapped = io.TextIOWrapper(sys.stdout.buffer, write_through=True)",
    )
    for cell in (2, 3):
        code = (
            f"logging.warning('logged in %d', {cell})\nprint('out', {cell}, file=out)\nprint('err', {cell}, file=err)\n"
            f"_ = wrapped.write('wrapped {cell}\\n')\n_ = out.buffer.write(b'bytes {cell}\\n')"
        )
        status, stdout, stderr = await run(sandbox, code)
        assert status == "ok", stderr
        assert stdout == f"out {cell}\nwrapped {cell}\nbytes {cell}\n"
        assert stderr == f"WARNING logged in {cell}\nerr {cell}\n"


async def test_a_kept_handle_is_capped_like_the_cells_own_output(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "import sys\nout = sys.stdout")
    result = await sandbox.run_cell("_ = out.write('a' * 30_000 + 'b' * 30_000)", calls=echo, timeout=10)
    assert result.status == "ok" and result.stdout_cut == 40_000 and len(result.stdout) < 20_100
    assert result.stdout.startswith("a" * 10_000) and result.stdout.endswith("b" * 10_000)


async def test_a_kept_handle_in_a_process_the_cell_forked_prints_to_the_cell(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "import os, sys\nout = sys.stdout")
    code = (
        "pid = os.fork()\nif pid == 0:\n    print('from the child', file=out)\n    out.flush()\n    os._exit(0)\n"
        "os.waitpid(pid, 0)\nprint('parent')"
    )
    assert await run(sandbox, code) == ("ok", "from the child\nparent\n", "")


# What code does with sys.stdout / sys.stderr as the text streams CPython makes them: `with` (closing them must not
# end the capture), the `-` convention of CLIs, their name, mode and encoding. Then later cells still print.
STREAM_IDIOMS = (
    "import io, sys\npath = None\n"
    "with (open(path, 'w') if path else sys.stdout) as f:\n    f.write('to stdout\\n')\n"
    "with sys.stderr as e:\n    print('to stderr', file=e)\n"
    "sys.stdout.close()\nsys.stdout.buffer.close()\n"
    "print(sys.stdout.name, sys.stderr.name, sys.stdout.mode, sys.stdout.buffer.mode, sys.stdout.encoding)\n"
    "print(sys.stdout.closed, sys.stdout.errors, sys.stdout.newlines, sys.stdout.line_buffering)\n"
    "print(isinstance(sys.stdout, io.TextIOBase), isinstance(sys.stdout.buffer, io.BufferedIOBase))\n"
    "print(sys.stdout.writable(), sys.stdout.readable(), sys.stdout.seekable())\n"
    "try:\n    sys.stdout.read()\nexcept io.UnsupportedOperation as exc:\n    print('read:', exc)\n"
    "try:\n    next(iter(sys.stderr))\nexcept io.UnsupportedOperation as exc:\n    print('next:', exc)"
)
STREAM_LINES = [
    "to stdout",
    "<stdout> <stderr> w wb utf-8",
    "False replace None False",
    "True True",
    "True False False",
    "read: not readable: the cell's output is write-only",
    "next: not readable: the cell's output is write-only",
]


async def test_the_cells_streams_work_as_text_streams_and_closing_them_keeps_the_capture(
    sandbox: SubprocessSandbox,
) -> None:
    status, stdout, stderr = await run(sandbox, STREAM_IDIOMS)
    assert status == "ok", stderr
    assert stdout.splitlines() == STREAM_LINES and stderr == "to stderr\n"
    assert await run(sandbox, "import sys\nprint('later')\nprint('err', file=sys.stderr)") == ("ok", "later\n", "err\n")


async def test_the_in_process_cells_streams_work_as_text_streams_too() -> None:
    box = InProcessSandbox(hard_timeout_grace=1.0)
    await box.start([prepare("context", "the context")])
    try:
        first = await box.run_cell(STREAM_IDIOMS, calls=echo, timeout=10)
        later = await box.run_cell("import sys\nprint('later')\nprint('err', file=sys.stderr)", calls=echo, timeout=10)
    finally:
        await box.close()
    assert first.status == "ok", first.error
    assert first.stdout.splitlines() == STREAM_LINES and first.stderr == "to stderr\n"
    assert (later.stdout, later.stderr) == ("later\n", "err\n")


@pytest.fixture(params=["subprocess", "inprocess"])
async def either(request: pytest.FixtureRequest) -> AsyncIterator[SubprocessSandbox]:
    """A sandbox of each tier whose cells keep handles to their streams: the host's own stdout and stderr are
    replaced meanwhile, so a test can see that nothing of the model's reached them (`host_out`, `host_err`)."""
    kind = SubprocessSandbox if request.param == "subprocess" else InProcessSandbox
    host_out, host_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(host_out), contextlib.redirect_stderr(host_err):
        box = await started(kind, max_output_chars=2_000)  # type: ignore[arg-type]
        box.host_out, box.host_err = host_out, host_err  # type: ignore[attr-defined]
        try:
            yield box
        finally:
            await box.close()


def host_got(box: SubprocessSandbox) -> str:
    return box.host_out.getvalue() + box.host_err.getvalue()  # type: ignore[attr-defined]


# Handles made from the streams in one cell and used in a later one: the bound `write` and `flush` (tqdm keeps
# `file.write` when a bar is made; `write = sys.stdout.write` is a contest idiom), the stream itself, a logging handler
# on stdout and one made as basicConfig() makes its own (on sys.stderr; not on the root logger, which in-process is
# the test runner's). Each writes into the cell that runs now, capped like its own output.
KEEP_HANDLES = (
    "import logging, sys\nwrite, flush = sys.stdout.write, sys.stdout.flush\nwrite_err = sys.stderr.write\n"
    "class Bar:\n    def __init__(self, file):\n        self.emit = file.write\n"
    "    def update(self, n):\n        self.emit(f'bar {n}\\n')\n"
    "bar = Bar(sys.stdout)\nout = sys.stdout\nhandler = logging.StreamHandler(sys.stdout)\n"
    "handler.setFormatter(logging.Formatter('handler %(message)s'))\nkept_log = logging.getLogger('kept')\n"
    "kept_log.addHandler(handler)\nkept_log.propagate = False\nkept_log.setLevel(logging.INFO)\n"
    "basic = logging.StreamHandler()\nbasic.setFormatter(logging.Formatter('basic %(message)s'))\n"
    "warn_log = logging.getLogger('kept.warn')\nwarn_log.addHandler(basic)\nwarn_log.propagate = False\nbar.update(0)"
)


async def test_handles_kept_from_an_earlier_cell_write_into_the_current_cell_in_both_tiers(
    either: SubprocessSandbox,
) -> None:
    assert await run(either, KEEP_HANDLES) == ("ok", "bar 0\n", "")
    for cell in (2, 3):
        code = (
            f"_ = write('write {cell}\\n')\nflush()\n_ = write_err('err {cell}\\n')\nbar.update({cell})\n"
            f"print('out {cell}', file=out)\nkept_log.info('log %d', {cell})\nwarn_log.warning('warn %d', {cell})"
        )
        assert await run(either, code) == (
            "ok",
            f"write {cell}\nbar {cell}\nout {cell}\nhandler log {cell}\n",
            f"err {cell}\nbasic warn {cell}\n",
        )
    result = await either.run_cell("for i in range(5000):\n    kept_log.info('flood %d', i)", calls=echo, timeout=10)
    assert result.status == "ok" and result.stdout_cut > 0 and len(result.stdout) < 2_100
    assert result.stdout.startswith("handler flood 0\n") and result.stdout.endswith("handler flood 4999\n")
    assert host_got(either) == ""
    await run(either, "kept_log.removeHandler(handler)\nwarn_log.removeHandler(basic)")  # in-process, the host's


async def test_what_a_cells_thread_writes_between_cells_opens_the_next_cell(either: SubprocessSandbox) -> None:
    await run(
        either,
        "import sys, threading, time\nout, done = sys.stdout, threading.Event()\n"
        "def later():\n    time.sleep(0.3)\n    print('between cells', file=out)\n    done.set()\n"
        "threading.Thread(target=later, daemon=True).start()",
    )
    await asyncio.sleep(1.5)  # the thread writes while no cell runs
    assert await run(either, "print('then', done.is_set())") == ("ok", "between cells\nthen True\n", "")
    assert host_got(either) == ""


async def test_write_returns_the_number_of_characters_it_was_given(either: SubprocessSandbox) -> None:
    code = (
        "import sys\nprint('x' * 100)\nout = sys.stdout\nsys.stderr.write('first')\n"
        "counts = [sys.stdout.write('abc'), sys.stderr.write('\\u00e9'), sys.stderr.write('zz'), out.write(''),"
        " out.write('a' * 5000), sys.stdout.buffer.write(b'xyz')]\nprint(counts, file=sys.stderr)"
    )
    status, _, stderr = await run(either, code)
    assert status == "ok" and stderr == "first\u00e9zz[3, 1, 2, 0, 5000, 3]\n"
    status, _, stderr = await run(either, "print(out.write('four'), sys.stdout.write('\\n'), file=sys.stderr)")
    assert (status, stderr) == ("ok", "4 1\n")


# --- keys of globals() that are no names ---------------------------------------------------------------------------


async def test_keys_that_are_no_names_are_skipped_by_show_vars_and_final_var(sandbox: SubprocessSandbox) -> None:
    await run(sandbox, "globals()[1] = 'one'\nglobals()[('a',)] = 2\nglobals()[None] = 3\nkept = [1, 2]")
    status, stdout, error = await run(sandbox, "SHOW_VARS()")
    assert status == "ok" and "kept: list, len 2" in stdout, error
    status, _, error = await run(sandbox, "FINAL_VAR('missing')")
    assert status == "error" and "no variable named 'missing'. Defined: kept." in error
    assert "kept" in await sandbox.names("ke")
    result = await sandbox.run_cell("FINAL_VAR('kept')", calls=echo, timeout=10)
    assert result.status == "ok" and result.final == {"kind": "final_var", "value": [1, 2]}


# --- answers over the frame cap in encoded bytes ------------------------------------------------------------------

SMALL_CAP = 1 << 20


def sent_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


@pytest.mark.parametrize(
    ("value", "start"),
    [
        ("'\\x01' * 250_000", "\x01" * 1000),  # 250 kB of characters, 1.5 MB as JSON escapes
        ("'\\U0001F600' * 300_000", "\U0001f600" * 1000),  # 4 bytes each in UTF-8
        ("'\\u4e2d' * 400_000", "\u4e2d" * 1000),  # 3 bytes each
        ("'e\\u0301' * 400_000", "e\u0301" * 1000),  # a letter and its combining accent: cut between pairs only
        ("['\\x01' * 250_000]", '["\\u0001'),  # not text: cut as its JSON text
    ],
)
async def test_a_final_value_over_the_cap_in_bytes_is_cut_with_a_note(value: str, start: str) -> None:
    box = await started(max_frame_bytes=SMALL_CAP)
    try:
        await run(box, "kept = 'still here'")
        result = await box.run_cell(f"FINAL({value})", calls=echo, timeout=20)
        after = await run(box, "print(kept)")
    finally:
        await box.close()
    assert result.status == "ok" and result.final is not None, result.error
    text = result.final["value"]
    head, _, note = text.partition("\n... [cut: FINAL's value was ")
    assert head.startswith(start) and "bytes as sent back" in note and "Return less" in note
    assert SMALL_CAP // 2 < sent_size(text) < SMALL_CAP
    assert not head.endswith("e")  # never a letter whose accent was cut off
    assert after == ("ok", "still here\n", "")


async def test_an_answer_and_a_final_value_both_over_the_cap_share_the_frame() -> None:
    box = await started(max_frame_bytes=SMALL_CAP)
    try:
        code = "answer['content'] = '\\x02' * 200_000\nFINAL('\\U0001F600' * 300_000)"
        result = await box.run_cell(code, calls=echo, timeout=20)
        small = await box.run_cell("answer['content'] = 'short'\nFINAL('done')", calls=echo, timeout=20)
    finally:
        await box.close()
    assert result.status == "ok" and result.final is not None
    content, final = result.answer["content"], result.final["value"]
    assert content.startswith("\x02" * 1000) and 'answer["content"] was 1,200,002 bytes' in content
    assert final.startswith("\U0001f600" * 1000) and "FINAL's value was" in final
    assert sent_size(content) + sent_size(final) < SMALL_CAP
    assert small.final == {"kind": "final", "value": "done"} and small.answer["content"] == "short"


async def test_an_answer_over_the_cap_in_bytes_is_cut_over_json_lines_too() -> None:
    box = await started(StdioSandbox, max_frame_bytes=SMALL_CAP)
    try:
        await run(box, "kept = 'still here'")
        code = "answer['content'] = '\\x01' * 250_000\nanswer['ready'] = True"
        result = await box.run_cell(code, calls=echo, timeout=20)
        after = await run(box, "print(kept)")
    finally:
        await box.close()
    assert result.status == "ok" and result.answer["ready"], result.error
    content = result.answer["content"]
    assert content.startswith("\x01" * 1000) and 'answer["content"] was 1,500,002 bytes' in content
    assert sent_size(content) < SMALL_CAP and after == ("ok", "still here\n", "")


async def test_a_result_whose_output_alone_is_over_the_cap_comes_back_as_an_error() -> None:
    """Output capped at 200,000 characters, 600 kB as JSON, in 64 KiB frames: nothing to clip but the output."""
    box = await started(max_frame_bytes=1 << 16, max_output_chars=200_000)
    try:
        await run(box, "kept = 'still here'")
        result = await box.run_cell("print('\\x01' * 100_000)\nFINAL('x' * 100_000)", calls=echo, timeout=20)
        after = await run(box, "print(kept)")
    finally:
        await box.close()
    assert result.status == "error" and result.final is None
    assert "the cell's result could not be sent back" in (result.error or "") and "return less" in (result.error or "")
    assert after == ("ok", "still here\n", "")


async def test_printed_output_gives_way_to_an_answer_that_fits_without_it() -> None:
    """900 kB of output (control characters, 6 bytes each as JSON) and a 1 MB answer that each fit a 1 MiB frame
    but not together: the output is cut, with a note, and the answer comes back whole."""
    box = await started(max_frame_bytes=SMALL_CAP, max_output_chars=200_000)
    try:
        code = (
            "print('\\x01' * 150_000)\nanswer['content'] = '\\U0001F600' * 100_000\n"
            "SUBMIT(summary='\\u4e2d' * 200_000, n=3)"
        )
        result = await box.run_cell(code, calls=echo, timeout=20)
    finally:
        await box.close()
    assert result.status == "ok" and result.final is not None, result.error
    assert result.final["value"] == {"summary": "\u4e2d" * 200_000, "n": 3}
    assert result.answer["content"] == "\U0001f600" * 100_000
    head, _, note = result.stdout.partition("\n... [")
    assert head == "\x01" * len(head) and len(head) > 1000 and result.stdout_cut == 150_001 - len(head)
    assert f"{result.stdout_cut:,} more characters of output cut here" in note and "answer is kept first" in note


async def test_an_answer_cut_to_share_the_frame_with_output_says_so() -> None:
    """Each value fits the frame alone; with each other and the output they do not. The output is cut to its
    start first, then the values, whose notes give the real reason (and SUBMIT's fields *were*)."""
    box = await started(max_frame_bytes=SMALL_CAP, max_output_chars=200_000)
    try:
        code = (
            "print('\\x01' * 150_000)\nanswer['content'] = '\\U0001F600' * 200_000\nSUBMIT(summary='\\u4e2d' * 200_000)"
        )
        result = await box.run_cell(code, calls=echo, timeout=20)
    finally:
        await box.close()
    assert result.status == "ok" and result.final is not None, result.error
    summary, content = result.final["value"], result.answer["content"]
    assert isinstance(summary, str) and summary.startswith('{"summary":"' + "\u4e2d" * 1000)
    assert "SUBMIT's fields were 600,014 bytes as sent back" in summary and "fields was" not in summary
    assert content.startswith("\U0001f600" * 1000) and 'answer["content"] was 800,002 bytes' in content
    for value in (summary, content):
        assert "together with the cell's printed output and its other values" in value and "over the 1,048,576" in value
    assert result.stdout.startswith("\x01" * 500) and 4096 - 300 < sent_size(result.stdout) <= 4096
    assert sent_size(summary) + sent_size(content) + sent_size(result.stdout) < SMALL_CAP


@pytest.mark.slow
async def test_a_final_value_over_the_default_cap_in_bytes_is_cut_not_fatal(sandbox: SubprocessSandbox) -> None:
    """12 M control characters: 12 M characters, but 72 MB as JSON, over the 64 MiB a frame may carry."""
    await run(sandbox, "kept = 'still here'")
    result = await sandbox.run_cell("FINAL('\\x01' * 12_000_000)", calls=echo, timeout=60)
    assert result.status == "ok" and result.final is not None, result.error
    text = result.final["value"]
    assert text.startswith("\x01" * 1000) and "FINAL's value was 72,000,002 bytes" in text
    assert DEFAULT_MAX_FRAME_BYTES * 0.9 < sent_size(text) < DEFAULT_MAX_FRAME_BYTES
    assert await run(sandbox, "print(kept)") == ("ok", "still here\n", "")


@pytest.mark.slow
async def test_a_final_value_too_big_to_encode_in_the_memory_left_fails_the_cell_only() -> None:
    """150 M control characters are 900 MB as JSON: the encoding runs out of the worker's 900 MiB first."""
    box = await started(memory_limit_bytes=900 << 20)
    try:
        await run(box, "kept = 'still here'")
        result = await box.run_cell("FINAL('\\x01' * 150_000_000)", calls=echo, timeout=60)
        after = await run(box, "print(kept)")
    finally:
        await box.close()
    assert result.status == "error" and result.final is None
    assert "could not be sent back (MemoryError: no memory was left to encode it)" in (result.error or "")
    assert after == ("ok", "still here\n", "")


# A model that asks the user (`input("> ")`, mito#1527) or reads stdin as a script would: there is no one to answer,
# so the read ends at once with nothing, as it does on a closed stdin; in-process it read the host's own stdin.
READS_STDIN = (
    "import sys\ntry:\n    input('> ')\nexcept EOFError:\n    print('eof')\n"
    "print(repr(sys.stdin.read()), repr(sys.stdin.readline()), list(sys.stdin))"
)


async def test_a_cell_reading_stdin_gets_its_end_at_once_in_both_tiers(either: SubprocessSandbox) -> None:
    status, stdout, stderr = await run(either, READS_STDIN)
    assert status == "ok", stderr
    assert stdout == "> eof\n'' '' []\n"


# --- what a cell that clears or patches the REPL's own ground leaves for the next ------------------------------------


async def test_after_globals_clear_the_next_cell_is_main_again_with_its_context_back(either: SubprocessSandbox) -> None:
    # a model's script ends with the `__main__` guard; after `globals().clear()` the name fell through to the
    # builtins module's ("builtins") and the guarded code was skipped without a word, the context gone until a NameError
    _, _, notes = await run(either, "mine = 1\nglobals().clear()")
    assert "`context` was deleted; it is back" in notes
    code = "def main():\n    print('main ran', len(context))\nif __name__ == '__main__':\n    main()"
    assert await run(either, code) == ("ok", "main ran 11\n", "")
    _, _, notes = await run(either, "context = context.split()\nprint(context)")
    assert "`context` now holds a list of 2 items" in notes  # kept as rebound, told once (round 79)
    assert await run(either, "print(context)") == ("ok", "['the', 'context']\n", "")


async def test_a_name_merged_from_another_modules_globals_is_main_again_next_cell(either: SubprocessSandbox) -> None:
    # `globals().update(runpy.run_path(f))` (or a module's vars) brought that module's __name__ along: the `__main__`
    # guard of every later cell skipped without a word, and classes were made in the wrong module
    assert (await run(either, "globals().update({'__name__': '<run_path>', 'helper': 1})"))[0] == "ok"
    guarded = "class Row: pass\nif __name__ == '__main__':\n    print('main ran', Row.__module__, helper)"
    assert await run(either, guarded) == ("ok", "main ran __main__ 1\n", "")


async def test_a_builtins_module_the_cell_replaced_in_sys_modules_is_back_for_the_next_import(
    either: SubprocessSandbox,
) -> None:
    # `sys.modules['builtins'] = fake` outlived its cell: the next `import fractions` failed with "cannot import name
    # 'abs' from 'builtins'", which says nothing of what the model did
    assert (await run(either, "import sys, types\nsys.modules['builtins'] = types.ModuleType('builtins')"))[0] == "ok"
    code = "import builtins, fractions\nprint(builtins.abs(-2), fractions.Fraction(1, 2))"
    assert await run(either, code) == ("ok", "2 1/2\n", "")


async def test_in_process_a_builtin_the_cell_patched_is_the_hosts_again_for_its_sub_calls_and_after_it() -> None:
    # in-process the host's event loop runs on the same builtins (asyncio's `len(self._ready)`): a cell's mock of
    # `len` left the loop unable to serve the cell's sub-call or its time limit, and the run hung
    box = await started(InProcessSandbox)
    try:
        code = "import builtins\nbuiltins.len = lambda x: -1\nr = llm_query('q')\nprint(r, len('abc'))"
        result = await asyncio.wait_for(box.run_cell(code, calls=echo, timeout=10), 30)
        assert (result.status, result.stdout) == ("ok", "re: q 3\n"), result.error
        await run(box, "import builtins\nbuiltins.len = lambda x: -1\ndel builtins.min")
        assert len("abcd") == 4 and min(2, 1) == 1  # the host's own, after the cell
    finally:
        await box.close()


async def test_each_note_about_a_name_the_cell_changed_has_a_line_of_its_own(sandbox: SubprocessSandbox) -> None:
    _, _, notes = await run(sandbox, "answer = 5\ndel context")
    lines = [line for line in notes.splitlines() if line.startswith("Note:")]
    assert [line.split("`")[1] for line in lines] == ["answer", "context"], notes
