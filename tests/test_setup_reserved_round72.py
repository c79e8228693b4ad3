"""setup_code may not bind `workspace_dir`, a name the REPL provides and puts back after each cell (audit 72 names
v01): the model would read the setup's value where the README says the workspace folder is."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from scripting import repl


def test_setup_code_binding_workspace_dir_is_refused_before_any_lm_call(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", "utf-8")
    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError, match="setup_code binds workspace_dir"):
        RLM(lm, files=[notes], setup_code="workspace_dir = '/tmp'").completion("q", context="c")
    assert lm.calls == []
