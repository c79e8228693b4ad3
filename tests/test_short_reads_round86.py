"""Files whose read() returns less than asked, round 86 (audit 86 newcomer v01 and its kind).

/proc and /sys files say their size is 0 and give about one page per read() call; network and FUSE file systems
may stop short too. `rlmx ask --context /proc/cpuinfo` with no model was refused as "the context is empty", and a
context from such a file kept only its first read: /proc/self/smaps (31 KB) arrived as its first 3.9 KB, silently.
Every file rlmx reads for a context is now read until its end or the limit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlmx import documents
from rlmx.cli import _is_blank
from rlmx.context import prepare
from rlmx.documents.text import read_up_to

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")


class _Trickle(io.RawIOBase):
    """A raw file giving at most `step` bytes a read() call, as /proc's seq files do one page."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._at = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        piece = self._data[self._at : self._at + min(self._step, len(buffer))]
        buffer[: len(piece)] = piece
        self._at += len(piece)
        return len(piece)


def test_reading_goes_on_past_short_reads_to_the_size_asked_or_the_end() -> None:
    data = bytes(range(256)) * 40
    assert read_up_to(_Trickle(data, 7), 5000) == data[:5000]  # type: ignore[arg-type]
    assert read_up_to(_Trickle(data, 4096), 10**9) == data  # type: ignore[arg-type]
    assert read_up_to(_Trickle(b"", 10), 100) == b""  # type: ignore[arg-type]


def _lines_of(path: str) -> int:
    with open(path, "rb") as handle:  # buffered: reads to the end
        return handle.read().count(b"\n")


def test_a_proc_file_larger_than_a_page_is_a_whole_context() -> None:
    path = "/proc/self/smaps"
    if not os.path.exists(path) or _lines_of(path) < 300:
        pytest.skip("no /proc/self/smaps larger than a page here")
    text = prepare("context", Path(path)).text
    # the process's own mappings change a little between two reads; a cut read kept ~60 lines of ~700
    assert text.count("\n") > 0.8 * _lines_of(path) and text.endswith("\n"), text.count("\n")
    raw = documents.read_regular(Path(path), 10**8)
    assert raw.count(b"\n") > 0.8 * _lines_of(path)


def test_a_proc_file_that_says_size_0_is_not_blank() -> None:
    path = Path("/proc/cpuinfo")
    if not path.exists() or not path.read_bytes().strip():
        pytest.skip("no /proc/cpuinfo text here")
    assert path.stat().st_size == 0
    assert _is_blank(path) is False


def test_a_really_empty_file_is_still_blank(tmp_path: Path) -> None:
    empty, spaces = tmp_path / "empty.txt", tmp_path / "spaces.txt"
    empty.write_bytes(b"")
    spaces.write_bytes(b" \n\t\n")
    assert _is_blank(empty) and _is_blank(spaces)


def test_the_offline_cli_answers_from_a_proc_file(tmp_path: Path) -> None:
    path = "/proc/cpuinfo"
    if not os.path.exists(path) or b"processor" not in Path(path).read_bytes():
        pytest.skip("no /proc/cpuinfo with processor lines here")
    # a model with no server behind it: the run fails at its first call (exit 5), after the context check, which
    # warned "is empty" for a file that says its size is 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RLMX_", "OPENAI_"))}
    env["RLMX_TRACE_DIR"] = str(tmp_path)
    ask = ["ask", "How many processors?", "--context", path, "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    done = subprocess.run(
        [sys.executable, "-m", "rlmx", *ask], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 5 and "cannot connect" in done.stderr, done.stderr
    assert "is empty" not in done.stderr, done.stderr
