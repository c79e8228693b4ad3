"""`rlmx ask --sandbox NAME` and `rlmx doctor`, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def rlmx(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-m", "rlmx.cli", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )


def script(tmp_path: Path) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(["```repl\nFINAL(len(context))\n```"]), encoding="utf-8")
    (tmp_path / "ctx.txt").write_text("twelve chars", encoding="utf-8")
    return str(path)


def test_ask_in_the_isolated_sandbox(tmp_path: Path, require_isolated: Callable[..., None]) -> None:
    require_isolated()
    done = rlmx("ask", "How long?", "-c", "ctx.txt", "--scripted", script(tmp_path), "--sandbox", "isolated", "-q",
                tmp_path=tmp_path)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "12\n"), done.stderr


def test_the_inprocess_sandbox_prints_a_warning(tmp_path: Path) -> None:
    done = rlmx("ask", "How long?", "-c", "ctx.txt", "--scripted", script(tmp_path), "--sandbox", "inprocess", "-q",
                tmp_path=tmp_path)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "12\n")
    assert "warning" in done.stderr and "no isolation" in done.stderr


def test_an_unknown_sandbox_is_a_usage_error(tmp_path: Path) -> None:
    done = rlmx("ask", "q", "--sandbox", "docker-in-the-cloud", tmp_path=tmp_path)
    assert done.returncode == 2 and "--sandbox" in done.stderr


def test_doctor_reports_every_tier(tmp_path: Path, require_isolated: Callable[..., None]) -> None:
    require_isolated()
    done = rlmx("doctor", "--json", tmp_path=tmp_path)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert set(report["tiers"]) >= {"subprocess", "isolated", "inprocess"}
    assert report["tiers"]["inprocess"]["protections"]["unsafe"] is True
    assert report["tiers"]["isolated"]["protections"]["seccomp"] is True
    text = rlmx("doctor", tmp_path=tmp_path)
    assert "isolated" in text.stdout and "UNSAFE" in text.stdout
