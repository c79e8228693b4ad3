"""The commands of the README's "See what the RLM did" section, run as typed, as real processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## See what the RLM did"


def section_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text[text.index(SECTION) :].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", body, re.S | re.M):
        commands += [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]
    return commands


@pytest.fixture()
def shell(tmp_path: Path, depth2_trace: Path, every_event_traces: list[Path]) -> dict[str, str]:
    """A user's environment: `rlmx` on PATH, traces in the default folder, a trace named run.jsonl here."""
    folder = tmp_path / "state" / "rlmx" / "traces"
    folder.mkdir(parents=True)
    for trace in every_event_traces:
        shutil.copy(trace, folder / trace.name)
    shutil.copy(depth2_trace, tmp_path / "run.jsonl")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    entry = bindir / "rlmx"
    entry.write_text(f'#!/bin/sh\nexec {sys.executable} -m rlmx.cli "$@"\n')
    entry.chmod(0o755)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RLMX_", "OPENAI_"))}
    environ.update(
        PATH=f"{bindir}{os.pathsep}{environ.get('PATH', '')}",
        XDG_STATE_HOME=str(tmp_path / "state"),
        BROWSER="true",  # --open runs `true URL`: no browser here
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    return environ


def test_the_section_shows_these_commands() -> None:
    assert section_commands() == [
        "rlmx view",
        "rlmx view 1 --open",
        "rlmx view run.jsonl --html run.html",
        "rlmx traces",
        "rlmx traces --keep 100",
        "rlmx traces --older-than 30 --prune",
        "rlmx traces --redact run.jsonl",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["rlmx view", "rlmx view 1 --open"])
def test_view_serves_until_ctrl_c(command: str, shell: dict[str, str], tmp_path: Path) -> None:
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port 0"], cwd=tmp_path, env=shell, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        lines = []
        while not (lines and "trace viewer at" in lines[-1]):
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = re.search(r"http://\S+", lines[-1])
        assert url is not None
        with urllib.request.urlopen(url.group(0), timeout=10) as response:
            assert response.status == 200 and b"rlmx-config" in response.read()
        if command == "rlmx view":
            assert "What is the code of section A?" in "".join(lines)  # the numbered list
        else:
            assert "?trace=" in url.group(0)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130  # interrupted, as the README's exit codes say
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.slow
def test_the_other_commands(shell: dict[str, str], tmp_path: Path) -> None:
    def run(command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=shell, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done

    run("rlmx view run.jsonl --html run.html")
    assert "section B" in (tmp_path / "run.html").read_text(encoding="utf-8")
    listed = run("rlmx traces")
    assert "What is the code of section A?" in listed.stdout and "Traceback" not in listed.stderr
    assert "would be deleted" not in run("rlmx traces --keep 100").stderr  # fewer than 100: nothing to delete
    assert "Nothing to delete" in run("rlmx traces --older-than 30 --prune").stderr
    run("rlmx traces --redact run.jsonl")
    assert "section A" not in (tmp_path / "run.redacted.jsonl").read_text(encoding="utf-8")
