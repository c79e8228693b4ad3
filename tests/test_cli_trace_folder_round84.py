"""Round 84: one rule for the trace folder across `rlmx ask`, `serve` and `mcp`. A folder the user named with
--trace-dir that cannot be written is exit 2 before any token is spent; the default folder (HOME or XDG_STATE_HOME a
service account or a read-only home lacks) costs the trace, not the answer. `rlmx ask` used to exit 2 there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rlmx.cli import EXIT_OK, EXIT_USAGE


def _environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_", "XDG_"))}
    return {**env, **extra}


def _ask(tmp_path: Path, *flags: str, **environ: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nFINAL('the answer')\n```"]), encoding="utf-8")
    context = tmp_path / "notes.txt"
    context.write_text("some notes\n", encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "What is it?", "--context", str(context)]
    command += ["--scripted", str(script), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=_environ(**environ))


def test_ask_with_an_unusable_default_trace_folder_warns_and_still_answers(tmp_path: Path) -> None:
    home = tmp_path / "home_is_a_file"  # even root cannot make folders under a file
    home.write_text("", encoding="utf-8")
    proc = _ask(tmp_path, HOME=str(home))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stdout.strip() == "the answer"
    assert proc.stderr.count("cannot create the trace folder") == 1, proc.stderr
    assert "answering without a trace" in proc.stderr and "--trace-dir DIR" in proc.stderr
    assert "rlmx: trace:" not in proc.stderr and "Traceback" not in proc.stderr


def test_ask_with_an_unusable_xdg_state_home_warns_and_still_answers(tmp_path: Path) -> None:
    state = tmp_path / "state_is_a_file"
    state.write_text("", encoding="utf-8")
    proc = _ask(tmp_path, XDG_STATE_HOME=str(state))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stdout.strip() == "the answer"
    assert f"cannot create the trace folder {state / 'rlmx' / 'traces'}" in proc.stderr


def test_ask_with_a_named_unwritable_trace_dir_exits_2_before_the_model_is_asked(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    folder = blocker / "traces"
    proc = _ask(tmp_path, "--trace-dir", str(folder))
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert f"--trace-dir {folder}: cannot write traces there" in proc.stderr
    assert proc.stdout == "" and "asking the root LM" not in proc.stderr


def test_ask_with_a_usable_default_folder_keeps_its_trace_there(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = _ask(tmp_path, XDG_STATE_HOME=str(state))
    assert proc.returncode == EXIT_OK, proc.stderr
    traces = list((state / "rlmx" / "traces").glob("*.jsonl"))
    assert len(traces) == 1 and "rlmx: trace:" in proc.stderr
