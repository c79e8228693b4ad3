"""Flags given mistaken values: an empty path, folder, variable or model name (`--flag "$UNSET"`), a number or an
origin checked only after the run starts, flags that cannot apply together, and how `traces` prune rules combine.
Each is a usage error (exit 2) naming the flag, before any request."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.cli import build_parser, main
from rlmx.commands import argtypes
from rlmx.errors import InputError
from rlmx.mcp.roots import Roots
from scripting import run_cli

ANSWER = "```repl\nFINAL('done')\n```"


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """argparse's message for `argv`, which must be refused with exit 2 while parsing (before anything runs)."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["ask", "q", "-c", ""], "--context"),
        (["ask", "q", "--file", ""], "--file"),
        (["ask", "q", "--trace-dir", ""], "--trace-dir"),
        (["ask", "q", "--api-key-env", ""], "--api-key-env"),
        (["serve", "--trace-dir", ""], "--trace-dir"),
        (["serve", "--model-name", ""], "--model-name"),
        (["serve", "--server-api-key-env", ""], "--server-api-key-env"),
        (["serve", "--host", ""], "--host"),
        (["mcp", "--allow", ""], "--allow"),
        (["mcp", "--trace-dir", " "], "--trace-dir"),
        (["view", "--html", ""], "--html"),
        (["view", "--trace-dir", ""], "--trace-dir"),
        (["traces", "--trace-dir", ""], "--trace-dir"),
        (["traces", "--redact", ""], "--redact"),
        (["bench", "run", "--out", ""], "--out"),
        (["bench", "run", "--out", "x", "--judge", ""], "--judge"),
        (["bench", "report", ""], "dir"),
    ],
)
def test_an_empty_value_is_refused_naming_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message = usage_error(argv, capsys)
    assert f"argument {flag}" in message and "is empty: give " in message


def test_empty_context_sends_nothing(tmp_path: Path) -> None:
    """`-c "$FILE"` with FILE unset: refused, not the working folder sent as the context."""
    (tmp_path / "secret.txt").write_text("in the working folder\n", encoding="utf-8")
    with FakeOpenAIServer() as server:
        done = run_cli(
            "ask", "q", "-c", "", "--model", "m", "--base-url", server.base_url, tmp_path=tmp_path, cwd=tmp_path
        )
        assert done.returncode == 2, done.stderr
        assert "--context" in done.stderr and "is empty" in done.stderr
        assert server.requests == []


def test_roots_refuse_an_empty_folder_from_the_python_api() -> None:
    with pytest.raises(InputError, match="--allow is empty"):
        Roots.grant([""], "--allow")


def test_bench_numbers_use_the_shared_types(capsys: pytest.CaptureFixture[str]) -> None:
    message = usage_error(["bench", "run", "--out", "x", "--max-seconds", "0"], capsys)
    assert "argument --max-seconds: must be a positive number, got 0" in message
    message = usage_error(["bench", "run", "--out", "x", "--n", str(10**30)], capsys)
    assert f"argument --n: must be at most {argtypes.MAX_TASKS:,}" in message


@pytest.mark.parametrize("origin", ["localhost:3000", "http://localhost:3000/app"])
def test_serve_cors_origin_is_checked_as_an_origin(origin: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "is not an origin" in usage_error(["serve", "--cors-origin", origin], capsys)


def test_cors_origin_keeps_star_and_normalises() -> None:
    assert argtypes.cors_origin("*") == "*"
    assert argtypes.cors_origin("HTTP://LocalHost:3000/") == "http://localhost:3000"


def test_local_model_with_a_base_url_is_refused(tmp_path: Path) -> None:
    done = run_cli("ask", "q", "--model", "local", "--base-url", "http://127.0.0.1:9/v1", tmp_path=tmp_path, timeout=30)
    assert done.returncode == 2, done.stderr
    assert "--base-url does not apply to --model local" in done.stderr


def test_model_name_blanks_are_dropped(tmp_path: Path) -> None:
    """RLMX_MODEL from a `.env` line with a trailing space: the server is asked for `m`, not `m `."""
    with FakeOpenAIServer(Behaviour(text=ANSWER)) as server:
        done = run_cli(
            "ask",
            "q",
            "--json",
            tmp_path=tmp_path,
            env={"RLMX_MODEL": "m ", "RLMX_BASE_URL": server.base_url},
        )
        models = {request.body.get("model") for request in server.requests}
    assert models == {"m"}, (models, done.stderr)


def test_threads_given_for_a_server_model_is_said_to_be_unused(tmp_path: Path) -> None:
    """--threads was dropped without a word for a model on a server (it sets the embedded model's CPU threads)."""
    with FakeOpenAIServer(Behaviour(text=ANSWER)) as server:
        done = run_cli("ask", "q", "--model", "m", "--base-url", server.base_url, "--threads", "3", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--threads 3 is used only by the embedded model" in done.stderr


def test_bracketed_ipv6_host_is_taken_without_brackets() -> None:
    assert argtypes.host("[::1]") == "::1"
    assert argtypes.host("127.0.0.1") == "127.0.0.1"


def make_traces(tmp_path: Path, ages_days: list[float]) -> Path:
    """Traces written by real runs, their times set to `ages_days` ago (newest first)."""
    folder = tmp_path / "traces"
    script = tmp_path / "s.json"
    script.write_text(json.dumps([ANSWER]), encoding="utf-8")
    for _ in ages_days:
        done = run_cli("ask", "q", "--scripted", str(script), "--trace-dir", str(folder), tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
    now = time.time()
    for path, age in zip(sorted(folder.glob("*.jsonl"), reverse=True), ages_days, strict=True):
        os.utime(path, (now - age * 86_400, now - age * 86_400))
    return folder


def test_keep_and_older_than_delete_only_what_both_select(tmp_path: Path) -> None:
    folder = make_traces(tmp_path, [0, 0, 5])
    done = run_cli(
        "traces", "--trace-dir", str(folder), "--keep", "1", "--older-than", "1", "--prune", tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    left = sorted(folder.glob("*.jsonl"))
    assert len(left) == 2  # only the 5-day-old one is both beyond the newest and older than a day


def test_traces_json_with_prune_rules_is_refused(tmp_path: Path) -> None:
    folder = make_traces(tmp_path, [3])
    done = run_cli("traces", "--trace-dir", str(folder), "--json", "--keep", "0", tmp_path=tmp_path)
    assert done.returncode == 2 and "drop --json" in done.stderr


def test_traces_trace_dir_naming_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "report.txt"
    file.write_text("x", encoding="utf-8")
    assert main(["traces", "--trace-dir", str(file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
