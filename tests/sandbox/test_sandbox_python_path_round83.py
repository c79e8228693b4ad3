"""`sandbox_options={"python": ...}` as users write it: a `pathlib.Path` runs (the launcher tested `os.sep in` it
and raised TypeError as the worker started), a relative path with a folder is the one under the folder it was given
in, a bare name is PATH's, and the docker tier keeps its in-image path as written."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.sandbox.docker import DockerSandbox
from rlmx.sandbox.subprocess import SubprocessSandbox


def test_a_path_object_names_the_python_that_runs_the_repl() -> None:
    rlm = RLM(ScriptedLM(["```repl\nFINAL(6 * 7)\n```"]), sandbox_options={"python": Path(sys.executable)})
    result = rlm.completion("What is six times seven?", context="x")
    assert (result.status, result.answer) == ("finished", "42"), result.stop_reason


def test_a_relative_python_is_made_absolute_once_where_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    box = SubprocessSandbox(python=os.path.join("venv", "bin", "python"))
    monkeypatch.chdir("/")
    assert box.python == str(tmp_path / "venv" / "bin" / "python")
    assert SubprocessSandbox(python="python3").python == "python3"


def test_the_docker_tier_keeps_the_path_inside_its_image() -> None:
    assert DockerSandbox(python="venv/bin/python").python == "venv/bin/python"
    assert DockerSandbox(python=Path("/opt/py/bin/python3")).python == "/opt/py/bin/python3"
