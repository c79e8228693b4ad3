"""Fixtures for every test."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripting import remove_worker_folders


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no real keys or model settings from the machine running them."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "RLMX_")):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True, scope="session")
def no_folders_left_behind() -> Iterator[None]:
    """The world-writable folders tests hand to sandbox workers (scripting.worker_pidfile) are removed."""
    yield
    remove_worker_folders()


@pytest.fixture(autouse=True)
def dev_shm_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked `dev_shm_alone` (it holds or measures unnamed files on /dev/shm) runs while no other such test
    runs, in any xdist worker: one freeing its 180 MiB while another held as much left no growth to see (CI 11).
    An exclusive lock on a file, not xdist's loadgroup, which pytest 9.2's node ids broke (pytest-xdist #1386)."""
    if request.node.get_closest_marker("dev_shm_alone") is None:
        yield
        return
    with (Path(tempfile.gettempdir()) / "rlmx-tests-dev-shm.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
