"""Round 82, the newcomer's path: `rlmx view TRACE --html FILE` and `rlmx traces --redact TRACE -o FILE` wrote over
any existing file that was not a trace (an example file of 300 KB became the page, exit 0). Now only a missing or
empty file, an earlier page or an earlier redacted copy is written over; anything else is an error (exit 2) that
names the file and keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlmx.cli import main


def _trace(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / "20260101-000000-abcdef123456.jsonl"
    events = [
        {"v": "rlmx.trace/1", "type": "run_start", "run_id": "abcdef123456", "node_id": "0", "parent_id": None,
         "depth": 0, "ts": 1.0, "query": "q", "contexts": []},
        {"v": "rlmx.trace/1", "type": "run_end", "run_id": "abcdef123456", "node_id": "0", "parent_id": None,
         "depth": 0, "ts": 2.0, "answer": "ANSWER-82", "status": "finished"},
    ]  # fmt: skip
    trace.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return trace


@pytest.mark.parametrize(
    "argv", [["view", "{trace}", "--html", "{out}"], ["traces", "--redact", "{trace}", "-o", "{out}"]]
)
def test_a_users_file_is_never_written_over(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    trace = _trace(tmp_path / "traces")
    mine = tmp_path / "report.txt"
    mine.write_text("my notes\n")
    assert main([a.format(trace=trace, out=mine) for a in argv]) == 2
    assert mine.read_text() == "my notes\n"
    assert "is a file rlmx did not write (9 bytes)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["view", "{trace}", "--html", "{out}"], ["traces", "--redact", "{trace}", "-o", "{out}"]]
)
def test_an_empty_file_or_rlmxs_own_earlier_output_is_written_again(tmp_path: Path, argv: list[str]) -> None:
    trace = _trace(tmp_path / "traces")
    out = tmp_path / "out.file"
    out.touch()
    assert main([a.format(trace=trace, out=out) for a in argv]) == 0
    first = out.read_text(encoding="utf-8")
    assert main([a.format(trace=trace, out=out) for a in argv]) == 0  # redone over its own earlier output
    assert out.read_text(encoding="utf-8") == first
