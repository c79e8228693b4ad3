"""A run directory is removed with its owner file last, and one left without an owner is swept once it is old
(audit 74 sandbox): /dev/shm held `rlmx-*` folders with only empty `tmp/` and `work/` and no owner file, from removals
cut short, and `sweep_stale` skips a folder without an owner for good, though README says a dead host's run folder
goes at the next start."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from rlmx.sandbox import rundir


def _run_dir(root: Path, name: str, owner: str | None) -> Path:
    run = root / f"rlmx-{name}"
    for sub in ("ctx", "work", "sbx", "tmp"):
        (run / sub).mkdir(parents=True)
    (run / "work" / "out.txt").write_text("written by a cell")
    if owner is not None:
        (run / "owner").write_text(owner)
    return run


def test_the_owner_file_goes_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run_dir(tmp_path, "order", f"{os.getpid()} {rundir._start_time(os.getpid())}\n")
    gone: list[str] = []
    real_remove_tree, real_unlink = rundir._remove_tree, os.unlink

    def remove_tree(parent: int, name: str, info: os.stat_result) -> None:  # a folder, by descriptors
        gone.append(name)
        real_remove_tree(parent, name, info)

    def unlink(path: Any, *args: Any, **options: Any) -> None:
        # a file of the run dir: by name beside its descriptor, or the owner by its path
        if Path(path).parent == run or (
            options.get("dir_fd") is not None and os.path.samefile(f"/proc/self/fd/{options['dir_fd']}", run)
        ):
            gone.append(Path(path).name)
        real_unlink(path, *args, **options)

    monkeypatch.setattr(rundir, "_remove_tree", remove_tree)
    monkeypatch.setattr(os, "unlink", unlink)
    rundir.remove(run)
    assert not run.exists()
    assert sorted(gone[:-1]) == ["ctx", "sbx", "tmp", "work"] and gone[-1] == "owner"


def test_a_removal_that_fails_in_part_keeps_the_owner_so_a_later_sweep_judges_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run_dir(tmp_path, "busy", "999999999 1\n")  # a host that is gone
    real_remove_tree = rundir._remove_tree

    def remove_tree_but_work(parent: int, name: str, info: os.stat_result) -> None:  # a worker still writing there
        if name != "work":
            real_remove_tree(parent, name, info)

    monkeypatch.setattr(rundir, "_remove_tree", remove_tree_but_work)
    rundir.remove(run)
    assert sorted(p.name for p in run.iterdir()) == ["owner", "work"]
    monkeypatch.undo()
    assert rundir.sweep_stale(str(tmp_path)) == [str(run)]
    assert not run.exists()


def test_a_run_directory_without_an_owner_is_swept_once_old(tmp_path: Path) -> None:
    old = _run_dir(tmp_path, "ownerless-old", None)
    young = _run_dir(tmp_path, "ownerless-young", None)  # may be a start between mkdtemp and its owner file
    an_hour_ago = time.time() - rundir.ORPHAN_SECONDS - 60
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert rundir.sweep_stale(str(tmp_path)) == [str(old)]
    assert not old.exists() and young.is_dir()
