"""Audit 75 (a sweep of session 27's kinds with new inputs): what each fix had missed.

* stdin: UTF-16 text of CJK characters holds no NUL byte; its byte order mark marks it wide (v01).
* tool arguments and FINAL values: float keys nan and the infinities are the JSON keys NaN, Infinity, -Infinity,
  so they merge with those strings (v02).
* run directories: an empty owner file (a host killed while writing it) left a folder no sweep judged (v03).
* CLI errors quote a file name with its line breaks escaped, one line (v04).
* `traces --redact`: a skipped file's reason may quote the file (a key given twice) and goes too (v05).
* the progress clock rounds once, then splits: 119.96 s read "1:60.0" (v06)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.scripting import cli_environ, run_cli

from rlmx import RLM
from rlmx.events import redact_event
from rlmx.lm import ScriptedLM
from rlmx.progress import clock
from rlmx.sandbox import rundir
from scripting import repl


def test_utf16_cjk_text_within_the_limit_is_read_from_stdin(tmp_path: Path) -> None:
    text = "中" * 3000 + "a" * 700_000  # 709,000 bytes of UTF-8 text, 1,406,002 bytes of UTF-16 piped in
    (tmp_path / "script.json").write_text(json.dumps([repl("FINAL(len(context))")]))
    done = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", "-", "--max-context-bytes", "1M", "--scripted",
         str(tmp_path / "script.json")],
        input=text.encode("utf-16"), capture_output=True, env=cli_environ(tmp_path), cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().strip() == "703000"


def echo(value: object = None) -> str:
    """Echoes."""
    return "ok"


@pytest.mark.parametrize(
    ("call", "where"),
    [
        ("echo({float('nan'): 'a', 'NaN': 'b'})", "call_tool('echo')"),
        ("echo({float('inf'): 'a', 'Infinity': 'b'})", "call_tool('echo')"),
        ("FINAL({float('-inf'): 'a', '-Infinity': 'b'})", "FINAL"),
    ],
)
async def test_float_keys_written_as_nan_or_infinity_are_refused_beside_those_strings(call: str, where: str) -> None:
    code = f"try:\n    {call}\nexcept Exception as e:\n    FINAL(['refused', str(e)])"
    result = await RLM(ScriptedLM([repl(code)]), sandbox="subprocess", tools=[echo]).acompletion("q", context="c")
    assert result.value[0] == "refused", result.value
    assert where in result.value[1] and "so one entry would be lost" in result.value[1]


def test_a_run_directory_with_an_empty_owner_file_is_swept_once_old(tmp_path: Path) -> None:
    run = tmp_path / "rlmx-half-written"
    (run / "work").mkdir(parents=True)
    (run / "owner").write_text("")
    an_hour_ago = time.time() - rundir.ORPHAN_SECONDS - 60
    os.utime(run, (an_hour_ago, an_hour_ago))
    assert rundir.sweep_stale(str(tmp_path)) == [str(run)]
    assert not run.exists()


def test_a_new_run_directory_holds_its_whole_owner_file_and_nothing_half_written() -> None:
    run = rundir.create()
    try:
        assert sorted(p.name for p in run.iterdir()) == ["owner"]
        assert (run / "owner").read_text().split()[0] == str(os.getpid())
    finally:
        rundir.remove(run)


def test_a_cli_error_quoting_a_file_name_stays_on_one_line(tmp_path: Path) -> None:
    done = run_cli("ask", "q", "-c", str(tmp_path / "no\nsuch.txt"), tmp_path=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no\\nsuch.txt" in done.stderr, done.stderr


def test_redaction_removes_a_skipped_files_reason_and_keeps_the_summary() -> None:
    summary = {"name": "context", "kind": "folder", "type": "dict", "chars": 5, "bytes": 5}
    reason = "dup.json (key 'SECRET_DUPKEY_1' appears twice)"
    record = {"v": 1, "type": "node_start", "ts": 1.0, "run_id": "r", "node_id": "0", "depth": 0,
              "query": "q", "contexts": [{**summary, "skipped_files": [reason]}]}  # fmt: skip
    redacted = redact_event(record)
    assert "SECRET_DUPKEY_1" not in json.dumps(redacted)
    (context,) = redacted["contexts"]
    assert {k: context[k] for k in summary} == summary
    assert context["skipped_files"][0]["redacted"] == len(reason)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00.0"), (59.94, "0:59.9"), (59.97, "1:00.0"), (119.96, "2:00.0"), (3599.99, "60:00.0"), (65.25, "1:05.2")],
)
def test_the_progress_clock_rounds_once_then_splits(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown


async def test_a_tool_argument_json_cannot_hold_names_the_tool_call_not_an_internal_query() -> None:
    code = "try:\n    echo({1, 2})\nexcept Exception as e:\n    FINAL(str(e))"
    result = await RLM(ScriptedLM([repl(code)]), sandbox="subprocess", tools=[echo]).acompletion("q", context="c")
    assert result.answer.startswith("this tool call's arguments cannot be sent"), result.answer
    assert "tool_query" not in result.answer


@pytest.mark.parametrize("price", ["m=inf,1", "m=nan,1", "m=1,-2"])
def test_a_price_that_is_no_finite_amount_is_refused_saying_so(tmp_path: Path, price: str) -> None:
    flags = ("--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--price", price)
    done = run_cli("ask", "q", *flags, tmp_path=tmp_path)
    assert done.returncode == 2 and "prices must be finite numbers, 0 or more" in done.stderr, done.stderr
