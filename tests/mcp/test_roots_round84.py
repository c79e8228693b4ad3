"""Round 84: a relative tool path that starts with the granted folder's own name (`--allow proj`, then
`proj/notes.txt`: how a user or a model names a file it sees from outside the folder) reads that file; it was refused
as "does not exist (looked for .../proj/proj/notes.txt)". The way out stays shut."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx.mcp.roots import PathRefused, Roots


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "docs").mkdir(parents=True)
    (root / "notes.txt").write_text("the notes", encoding="utf-8")
    (root / "docs" / "a.txt").write_text("alpha", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("hunter2", encoding="utf-8")
    return root


def test_a_path_led_by_the_granted_folders_name_reads_inside_it(proj: Path) -> None:
    roots = Roots.grant([proj], "--allow")
    assert roots.read(["proj/notes.txt"]).value == "the notes"
    assert roots.read(["proj/docs/a.txt"]).value == "alpha"
    assert roots.read(["notes.txt"]).value == "the notes"  # relative to the granted folder, as before


def test_a_folder_inside_named_like_the_root_is_still_read_first(proj: Path) -> None:
    (proj / "proj").mkdir()
    (proj / "proj" / "notes.txt").write_text("inner", encoding="utf-8")
    assert Roots.grant([proj], "--allow").read(["proj/notes.txt"]).value == "inner"


def test_a_root_led_path_cannot_climb_out(proj: Path) -> None:
    roots = Roots.grant([proj], "--allow")
    with pytest.raises(PathRefused, match="outside"):
        roots.read(["proj/../secret.txt"])
    with pytest.raises(PathRefused, match="does not exist"):
        roots.read(["proj/missing.txt"])
