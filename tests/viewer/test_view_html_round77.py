"""`rlmx view TRACE --html FILE` writes the page for its owner alone, as traces are: the page quotes the whole run
(context, prompts, answers), and it was written 0644 under the usual umask, readable by every local user, beside a
trace kept 0600 (and, on a root host, by the sandboxes' unnamed uids)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rlmx import RLM
from rlmx.cli import main
from rlmx.lm import ScriptedLM
from scripting import repl


def _trace(folder: Path) -> Path:
    result = RLM(ScriptedLM([repl("print('x')"), "FINAL('ANSWER-77')"]), trace_dir=folder).completion("q?", context="c")
    assert result.trace_path is not None
    return result.trace_path


def test_the_page_is_its_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    trace = _trace(tmp_path / "traces")
    page = tmp_path / "run.html"
    old = os.umask(0o022)
    try:
        assert main(["view", str(trace), "--html", str(page)]) == 0
    finally:
        os.umask(old)
    assert "ANSWER-77" in page.read_text(encoding="utf-8")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600


def test_an_old_page_written_over_is_made_private_too(tmp_path: Path) -> None:
    trace = _trace(tmp_path / "traces")
    page = tmp_path / "run.html"
    assert main(["view", str(trace), "--html", str(page)]) == 0  # an older page (a page rlmx wrote: round 82)
    page.chmod(0o644)
    assert main(["view", str(trace), "--html", str(page)]) == 0
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and "ANSWER-77" in page.read_text(encoding="utf-8")
