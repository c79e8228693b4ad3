"""The subprocess tier starts its worker from cached bytecode, and falls back to the sources when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.sandbox import bytecode
from rlmx.sandbox.subprocess import PACKAGE_DIR, WORKER_FILES

CELLS = [
    "```repl\nllm_query_batched(5)\n```",  # fails inside the worker's own code
    "```repl\nimport sys\nprint(sys.argv[0])\n```",
    "```repl\nFINAL('ok')\n```",
]


def _feedback(root: ScriptedLM) -> list[str]:
    return [call[-1]["content"] for call in root.calls[1:]]


def test_worker_runs_from_cached_bytecode_and_hides_its_own_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bytecode._compiled.cache_clear()
    root = ScriptedLM(CELLS)
    result = RLM(root, sub_lm=ScriptedLM(["unused"])).completion("q", context="hello")
    assert result.status == "finished" and result.answer == "ok"
    traceback, argv0 = _feedback(root)
    assert "TypeError" in traceback and "<cell 1>" in traceback
    assert bytecode.BYTECODE_FILENAME_PREFIX not in traceback and "worker" not in traceback
    assert argv0.split("```")[1].strip().endswith("worker.pyc")
    cached = list((tmp_path / "rlmx" / "worker-bytecode").glob("*/*.pyc"))
    assert sorted(p.name for p in cached) == ["frames.pyc", "graphemes.pyc", "harden.pyc", "strmap.pyc", "worker.pyc"]


def test_unwritable_cache_falls_back_to_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    bytecode._compiled.cache_clear()
    try:
        assert bytecode.worker_bytecode(bytecode.sys.executable, PACKAGE_DIR, WORKER_FILES) is None
        root = ScriptedLM(CELLS)
        result = RLM(root, sub_lm=ScriptedLM(["unused"])).completion("q", context="hello")
        assert result.status == "finished"
        traceback, argv0 = _feedback(root)
        assert "TypeError" in traceback and "worker" not in traceback
        assert argv0.split("```")[1].strip().endswith("worker.py")
    finally:
        bytecode._compiled.cache_clear()


def test_another_python_gets_no_bytecode() -> None:
    assert bytecode.worker_bytecode("/usr/bin/python3-other", PACKAGE_DIR, WORKER_FILES) is None
