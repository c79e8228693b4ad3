"""One file named twice as context (a repeated --context, a glob that names it again, another spelling of its path,
a link to it) was loaded twice, and every count over it doubled without a word (audit 87, newcomer v04). It is a
usage error now, before any model is asked; two different files still give two contexts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlmx.cli import UsageError, context_arguments


@pytest.mark.parametrize("spelling", ["same", "dotted", "absolute", "link"])
def test_a_file_named_twice_is_refused(tmp_path: Path, spelling: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("todo.md").write_text("- [x] buy milk\n- [ ] call bob\n", encoding="utf-8")
    os.symlink("todo.md", "tasks.md")
    second = {"same": "todo.md", "dotted": "./todo.md", "absolute": str(tmp_path / "todo.md"), "link": "tasks.md"}
    with pytest.raises(UsageError, match=r"is given twice .* give each file once"):
        context_arguments(["todo.md", second[spelling]])


def test_two_files_with_the_same_stem_are_still_two_contexts(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "notes.txt").write_text(folder, encoding="utf-8")
    context, named = context_arguments([str(tmp_path / "a" / "notes.txt"), str(tmp_path / "b" / "notes.txt")])
    assert context == tmp_path / "a" / "notes.txt" and list(named.values()) == [tmp_path / "b" / "notes.txt"]


def test_the_cli_exits_2_naming_the_file_before_any_model_is_asked(tmp_path: Path) -> None:
    from scripting import run_cli

    todo = tmp_path / "todo.md"
    todo.write_text("- [x] buy milk\n", encoding="utf-8")
    proc = run_cli("ask", "How many tasks are done?", "-c", str(todo), "-c", str(todo), tmp_path=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"rlmx: error: context file {todo} is given twice" in proc.stderr and "Traceback" not in proc.stderr
