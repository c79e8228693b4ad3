"""Audit 79b, fault 1: another rlmx run of the same user put its context on /dev/shm and unlinked it once loaded;
a host that measures its worker's files with no name by the tmpfs's growth (no CAP_SYS_PTRACE: every non-root
host) took those bytes for its own worker's and restarted it. Each host now lists its context files in a per-user
registry, and the growth measure credits the other live hosts' files, also while one closes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlmx.sandbox import rundir

SIZE = 64 << 20

_OTHER_HOST = r"""
import os, sys
from pathlib import Path
from rlmx.sandbox import rundir
run = Path(sys.argv[1])
(run / "ctx").mkdir(parents=True)
path = run / "ctx" / "context.txt"
path.write_bytes(b"x" * int(sys.argv[2]))
rundir.register_context(path)
fd = os.open(path, os.O_RDONLY)
path.unlink()
print("loaded", flush=True)
sys.stdin.readline()
rundir.remove(run)
os.close(fd)
print("closed", flush=True)
sys.stdin.readline()
"""


# No two tests that hold or measure unnamed files on /dev/shm run at once (tests/conftest.py, dev_shm_alone).
pytestmark = pytest.mark.dev_shm_alone


def _shm() -> Path:
    shm = rundir.storage_root()
    if shm is None or os.stat(shm).st_dev not in rundir._RamGrowth([shm]).devices:
        pytest.skip("needs a writable /dev/shm that is a sized tmpfs")
    return Path(shm)


def test_another_runs_context_files_are_not_charged_to_this_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shm = _shm()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(rundir, "CLOSING_SECONDS", 0.5)
    monkeypatch.setattr(rundir, "GROWTH_REREAD_SECONDS", 0.0)  # each grown() reads afresh (and drops old entries)
    growth = rundir._RamGrowth([str(shm)])
    growth.start()
    device = os.stat(shm).st_dev
    run = shm / f"{rundir.PREFIX}test79b-{os.getpid()}"
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_HOST, str(run), str(SIZE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)},
    )
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "loaded"
        # The other host holds 64 MiB with no name on this tmpfs: listed, so not this worker's growth
        assert growth.grown()[device] < SIZE // 2
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "closed"
        assert growth.grown()[device] < SIZE // 2
        # Once the closing entry is dropped, the freed bytes must not come back as growth either
        time.sleep(0.7)
        assert growth.grown()[device] < SIZE // 2
        assert not any((tmp_path / "rlmx" / rundir.REGISTRY).iterdir()), "the closed run's entry was not dropped"
    finally:
        for pipe in (other.stdin, other.stdout):
            if pipe is not None:
                pipe.close()
        other.wait(10)
        if run.exists():
            rundir.remove(run)


def test_the_registry_is_private_to_its_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = rundir._registry()
    assert folder is not None and folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)  # not this user's alone: nothing is read from it or written to it
    assert rundir._registry() is None
