"""A context or tool named after a module installed for the Python rlmx runs on (audit 77, held-back kinds v01):
`contexts={"numpy": notes}` and `rlmx ask -c main.txt -c numpy.txt` were accepted, and the model's first
`import numpy` replaced the user's text. The standard library's names were refused for this reason already; the
REPL runs this interpreter, so every module it can import is taken the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.context import module_named
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from scripting import repl, run_cli

INSTALLED = ["aiohttp", "rich", "pydantic"]  # rlmx's own requirements: installed wherever it is


@pytest.mark.parametrize("name", INSTALLED)
def test_a_context_named_after_an_installed_module_is_refused_before_any_call(name: str) -> None:
    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError) as refused:
        RLM(lm).completion("q", context="a", contexts={name: "notes"})
    said = str(refused.value)
    assert f"context name {name!r} is a Python module installed here" in said and f"`import {name}`" in said
    assert lm.calls == []


def test_a_tool_named_after_an_installed_module_is_refused() -> None:
    def rich(x: str) -> str:
        """Shout x."""
        return x.upper()

    with pytest.raises(InputError, match="tools: 'rich' is a Python module installed here"):
        RLM(ScriptedLM([repl("FINAL(1)")]), tools=[rich])


def test_the_cli_names_such_a_file_ctx_name(tmp_path: Path) -> None:
    (tmp_path / "main.txt").write_text("main")
    (tmp_path / "rich.txt").write_text("my notes")
    script = tmp_path / "script.json"
    script.write_text('{"root": ["```repl\\nimport rich\\nFINAL(ctx_rich)\\n```"], "sub": []}')
    proc = run_cli("ask", "q", "-c", "main.txt", "-c", "rich.txt", "--scripted", str(script), tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, "my notes"), proc.stderr


def test_a_module_in_the_current_folder_is_not_one_the_repl_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "findings_round77.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend("")
    assert module_named("findings_round77") == ""
    assert module_named("json") == "a Python standard-library module"
    assert module_named("aiohttp").startswith("a Python module installed here")
