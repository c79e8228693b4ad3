"""Path confinement of `rlmx mcp`, in process: what is read, what is refused, and links in every position."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rlmx.errors import InputError
from rlmx.mcp import roots as roots_module
from rlmx.mcp.roots import PathRefused, Roots


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "granted"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha", encoding="utf-8")
    (root / "b.txt").write_text("beta", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("hunter2", encoding="utf-8")
    return root


def test_a_file_is_its_text_and_a_folder_a_dict_of_relative_paths(tree: Path) -> None:
    roots = Roots.grant([tree], "--allow")
    assert roots.read(["b.txt"]).value == "beta"  # relative to the first root
    loaded = roots.read([str(tree)])
    assert loaded.value == {"b.txt": "beta", "docs/a.txt": "alpha"}
    assert (loaded.files, loaded.chars) == (2, 9)
    assert roots.read(["docs", "b.txt"]).value == {"docs/a.txt": "alpha", "b.txt": "beta"}


def test_every_way_out_is_refused(tree: Path, tmp_path: Path) -> None:
    (tree / "up").symlink_to(tmp_path / "outside")
    (tree / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    roots = Roots.grant([tree], "--allow")
    for raw in (
        str(tmp_path / "outside" / "secret.txt"),
        "../outside/secret.txt",
        str(tree / ".." / "outside"),
        "up/secret.txt",
        "up",
        "leak.txt",
        "/",
    ):
        with pytest.raises(PathRefused, match="outside the folders this server may read"):
            roots.read([raw])
    with pytest.raises(PathRefused):  # one bad path refuses the whole call, before anything is read
        roots.read(["b.txt", "leak.txt"])


def test_links_inside_a_folder_are_followed_only_within_the_roots(tree: Path, tmp_path: Path) -> None:
    (tree / "docs" / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (tree / "docs" / "again.txt").symlink_to(tree / "b.txt")
    (tree / "docs" / "outdir").symlink_to(tmp_path / "outside")
    (tree / "docs" / "broken.txt").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tree / "docs" / "pipe")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: main", encoding="utf-8")
    loaded = Roots.grant([tree], "--allow").read([str(tree)])
    assert isinstance(loaded.value, dict)
    assert loaded.value == {"b.txt": "beta", "docs/a.txt": "alpha", "docs/again.txt": "beta"}
    assert "hunter2" not in str(loaded.value)
    skipped = "\n".join(loaded.skipped)
    assert "docs/leak.txt (links outside the granted folders)" in skipped
    assert "docs/outdir (a linked folder" in skipped
    assert "docs/broken.txt (a broken link)" in skipped
    assert "docs/pipe (not a regular file)" in skipped


def test_several_roots_and_bad_grants(tree: Path, tmp_path: Path) -> None:
    roots = Roots.grant([tree, tmp_path / "outside"], "--allow")
    assert roots.read([str(tmp_path / "outside" / "secret.txt")]).value == "hunter2"
    with pytest.raises(InputError, match="no such folder"):
        Roots.grant([tmp_path / "missing"], "--allow")
    with pytest.raises(InputError, match="not a folder"):
        Roots.grant([tree / "b.txt"], "--allow")


def test_binary_and_oversize_inputs_are_refused_clearly(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "image.bin").write_bytes(b"\x00\x01\x02")
    roots = Roots.grant([tree], "--allow")
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        roots.read(["image.bin"])
    monkeypatch.setattr(roots_module, "MAX_FILES", 1)
    with pytest.raises(InputError, match="more than 1 files"):
        roots.read([str(tree)])
    monkeypatch.setattr(roots_module, "MAX_FILES", 100)
    monkeypatch.setattr(roots_module, "MAX_BYTES", 6)
    with pytest.raises(InputError, match="pass narrower paths"):
        roots.read([str(tree)])


def test_a_bom_is_dropped_as_every_other_context_source_drops_it(tree: Path) -> None:
    (tree / "bom.txt").write_bytes(b"\xef\xbb\xbfline")
    assert Roots.grant([tree], "--allow").read(["bom.txt"]).value == "line"
