"""Audit 81 (a newcomer's path): `rlmx ask` started with SIGINT ignored (a script's background job) keeps it
ignored for the whole run, as `rlmx serve` does; and an unreachable server's advice names the setting its URL came
from (an OPENAI_BASE_URL was blamed on "--base-url (or RLMX_BASE_URL)")."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripting import cli_environ, closed_port, run_cli


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_run_started_with_sigint_ignored_is_not_stopped_by_one(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    cell = "```repl\nimport time\ntime.sleep(3)\nFINAL('done')\n```"
    script.write_text(json.dumps({"root": [cell], "sub": []}))
    (tmp_path / "notes.txt").write_text("abc\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", "notes.txt", "--scripted", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        preexec_fn=_ignore_sigint,
    )
    try:
        assert proc.stderr is not None
        seen = []
        while not any("reply from" in line for line in seen):  # the cell runs: rlmx's own handler was in place
            line = proc.stderr.readline()
            assert line, seen
            seen.append(line)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, stdout.strip()) == (0, "done"), "".join(seen) + stderr


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("OPENAI_BASE_URL", "OPENAI_BASE_URL is right"),
        ("RLMX_BASE_URL", "RLMX_BASE_URL is right"),
        ("--base-url", "--base-url is right"),
        ("OPENAI_BASE_URL with --model", "OPENAI_BASE_URL is right"),
    ],
)
def test_an_unreachable_server_is_blamed_on_the_setting_that_named_it(tmp_path: Path, how: str, named: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    (tmp_path / "notes.txt").write_text("abc\n")
    argv = ["ask", "q", "-c", "notes.txt", "--lm-retries", "0"]
    env = {"OPENAI_API_KEY": "sk-test"}
    if how == "OPENAI_BASE_URL":
        env["OPENAI_BASE_URL"] = url
    elif how == "OPENAI_BASE_URL with --model":
        env["OPENAI_BASE_URL"] = url
        argv += ["--model", "gpt-5-mini"]
    elif how == "RLMX_BASE_URL":
        env.update({"RLMX_BASE_URL": url, "RLMX_MODEL": "m"})
    else:
        argv += ["--model", "m", "--base-url", url]
    proc = run_cli(*argv, tmp_path=tmp_path, env=env)
    assert proc.returncode == 5, proc.stderr
    assert f"Check that the server is running and that {named}" in proc.stderr, proc.stderr


def test_a_page_written_to_a_pipe_whose_reader_left_exits_141(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"root": ["```repl\nFINAL('x')\n```"], "sub": []}))
    (tmp_path / "notes.txt").write_text("abc\n")
    traces = tmp_path / "traces"
    ran = run_cli(
        "ask", "q", "-c", "notes.txt", "--scripted", str(script), "--trace-dir", str(traces), tmp_path=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    (trace,) = traces.glob("*.jsonl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "view", str(trace), "--html", "/dev/stdout"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -c 0`: the reader is gone before the page is written
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 141, stderr
    assert "Traceback" not in stderr, stderr
