"""`rlmx traces` tells a trace damaged in its middle from a sound one, and its dry-run list is its stdout."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from rlmx.cli import main


def _folder(tmp_path: Path, trace: Path, count: int) -> Path:
    folder = tmp_path / "traces"
    folder.mkdir()
    now = time.time()
    for index in range(count):
        target = folder / f"2026010{index}-000000-{index:012x}.jsonl"
        target.write_text(trace.read_text("utf-8"), "utf-8")
        os.utime(target, (now - index * 86_400, now - index * 86_400))
    return folder


def test_a_trace_with_an_unreadable_middle_line_is_not_listed_as_sound(
    tmp_path: Path, depth2_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, depth2_trace, 2)
    newest = sorted(folder.iterdir())[-1]
    lines = newest.read_text("utf-8").split("\n")
    lines[3] = lines[3][:30] + lines[3]  # a write cut short, then the next one on the same line
    newest.write_text("\n".join(lines), "utf-8")

    assert main(["traces", "--trace-dir", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["unreadable_lines"] for t in listed] == [1, 0]
    assert listed[0]["status"] == listed[1]["status"]  # its end is still read as the run's

    assert main(["traces", "--trace-dir", str(folder)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "(1 unreadable line)" in rows[1] and "unreadable" not in rows[2]
    assert "1 of them hold lines that are not JSON objects" in rows[-1] and "rlmx view NUMBER" in rows[-1]


def test_the_dry_run_list_and_the_deleted_list_are_stdout_and_the_totals_stderr(
    tmp_path: Path, depth2_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, depth2_trace, 14)  # more than the ten a terminal is shown
    for request in (["--keep", "1"], ["--older-than", "0.5"]):
        assert main(["traces", "--trace-dir", str(folder), *request]) == 0
        shown = capsys.readouterr()
        assert len(shown.out.splitlines()) == 13 and all("would delete" in line for line in shown.out.splitlines())
        assert "would delete" not in shown.err and "13 of 14 traces" in shown.err and "--prune" in shown.err
    assert main(["traces", "--trace-dir", str(folder), "--older-than", "10.5", "--prune"]) == 0
    shown = capsys.readouterr()
    assert len(shown.out.splitlines()) == 3 and all(line.startswith("  deleted ") for line in shown.out.splitlines())
    assert "Deleted 3 trace(s)" in shown.err and "11 left" in shown.err and "deleted 2026" not in shown.err
    assert len(list(folder.iterdir())) == 11
    assert main(["traces", "--trace-dir", str(folder), "--keep", "20"]) == 0
    shown = capsys.readouterr()
    assert shown.out == "" and "Nothing to delete" in shown.err
