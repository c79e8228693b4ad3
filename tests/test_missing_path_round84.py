"""Round 84: a path a user names that is a symbolic link to nothing, or one that loops, is said to be that link (what
`ls` shows), never "not found" (the user then hunts for a typo that is not there). CLI and Python API alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.cli import EXIT_USAGE
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from rlmx.missing_path import missing_path


def _links(tmp_path: Path) -> tuple[Path, Path]:
    dangling = tmp_path / "report.txt"
    dangling.symlink_to(tmp_path / "moved" / "report.txt")
    loop = tmp_path / "loop_a"
    loop.symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(loop)
    return dangling, loop


def test_the_message_names_a_dangling_link_and_its_target(tmp_path: Path) -> None:
    dangling, loop = _links(tmp_path)
    said = missing_path(dangling, "context file")
    assert f"context file {dangling} is a symbolic link to {tmp_path / 'moved' / 'report.txt'}" in said
    assert "which does not exist" in said
    assert "loops" in missing_path(loop, "context file")
    assert (
        missing_path(tmp_path / "nothing.txt", "context file") == f"context file not found: {tmp_path / 'nothing.txt'}"
    )


def _ask(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "What is it?", *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("which", ["dangling", "loop"])
def test_rlmx_ask_names_a_broken_context_link(tmp_path: Path, which: str) -> None:
    dangling, loop = _links(tmp_path)
    link = dangling if which == "dangling" else loop
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nFINAL('x')\n```"]), encoding="utf-8")
    proc = _ask(tmp_path, "--context", str(link), "--scripted", str(script))
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "symbolic link" in proc.stderr and "not found" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_rlmx_ask_names_a_broken_link_given_to_an_option_reading_a_file(tmp_path: Path) -> None:
    dangling, _ = _links(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n", encoding="utf-8")
    proc = _ask(tmp_path, "--context", str(notes), "--scripted", str(dangling))
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert f"--scripted file {dangling} is a symbolic link" in proc.stderr, proc.stderr


def test_the_python_api_names_a_broken_link_as_context_or_workspace_file(tmp_path: Path) -> None:
    dangling, loop = _links(tmp_path)
    rlm = RLM(ScriptedLM(["```repl\nFINAL('x')\n```"]))
    with pytest.raises(InputError, match=r"is a symbolic link to .*which does not exist"):
        rlm.completion("q", context=dangling)
    with pytest.raises(InputError, match="symbolic link that loops"):
        rlm.completion("q", context=loop)
    with pytest.raises(InputError, match=r"workspace file .* is a symbolic link to"):
        RLM(ScriptedLM(["x"]), files=[dangling])
