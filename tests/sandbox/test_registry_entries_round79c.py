"""The context registry (round 79b) is written by hosts and read by every run's usage watcher; on a non-root host
a cell runs as the same user and can write there too. A FIFO planted as an entry made the watcher's thread wait for
ever (disk and memory bounds gone for this run and every later one), a link to /dev/zero read without end, and an
entry with no start time was never judged stale (audit 79c)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from rlmx.sandbox import rundir


def _registered_within(seconds: float) -> bool:
    done = threading.Event()

    def read() -> None:
        rundir._registered({})
        done.set()

    threading.Thread(target=read, daemon=True).start()
    return done.wait(seconds)


def test_planted_entries_neither_block_nor_flood_the_watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = rundir._registry()
    assert folder is not None
    live = f"{os.getppid()}-{rundir._start_time(os.getppid())}-run"  # a live pid other than ours, as a cell may name
    os.mkfifo(folder / f"{live}-fifo")
    (folder / f"{live}-zero").symlink_to("/dev/zero")
    assert _registered_within(10), "reading the registry blocked on a planted FIFO or link"
    undated = folder / f"{os.getppid()}--run"
    undated.write_text("1 2 4096 context\n")
    rundir._registered({})
    assert not undated.exists()  # no start time: stale, deleted


def test_a_plain_entry_is_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = rundir._registry()
    assert folder is not None
    device = os.stat("/").st_dev
    (folder / f"{os.getppid()}-{rundir._start_time(os.getppid())}-run").write_text(f"{device} 77 8192 context\n")
    sure, _ = rundir._registered({device: "/"})
    assert sure == {(device, 77): 8192}
