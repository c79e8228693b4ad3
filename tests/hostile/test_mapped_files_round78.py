"""Round 78: files a cell maps, then closes and unlinks, count against the run's disk bound. Such a file has no
name (the folder walk misses it) and no descriptor (the descriptor scan misses it), and pages never touched through
the mapping are not resident (the memory watcher misses it): 180 MiB stayed in /dev/shm under a 64 MiB bound."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostile.harness import open_sandbox, run
from rlmx.sandbox import rundir

# Six 30 MiB files, each mapped read-only and shared through libc (Python's mmap keeps a descriptor), then closed
# and unlinked; in the work dir or in the shared /dev/shm.
_MAP_AND_UNLINK = """
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
FOLDER = os.getcwd() if WHERE == "work dir" else WHERE
kept = []
try:
    for i in range(6):
        path = os.path.join(FOLDER, f"rlmx-r78-mapped-{os.getpid()}-{i}")
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        for _ in range(30):
            os.write(fd, b"m" * (1 << 20))
        kept.append(libc.mmap(None, 30 << 20, 1, 1, fd, 0))
        os.close(fd)
        os.unlink(path)
        time.sleep(0.3)
    time.sleep(1.5)
except OSError as exc:
    print("stopped", exc.errno)
print("kept", len(kept))
"""


# No two tests that hold or measure unnamed files on /dev/shm run at once (tests/conftest.py, dev_shm_alone).
pytestmark = pytest.mark.dev_shm_alone


@pytest.mark.parametrize("folder", ["work dir", "/dev/shm"])
async def test_unlinked_files_a_cell_maps_count_against_the_disk_bound(tier: str, folder: str) -> None:
    """180 MiB of mapped, unlinked files under a 64 MiB bound: ENOSPC (the isolated tier's sized tmpfs) or the
    worker restarted by the disk watcher, never a worker still holding them."""
    if folder == "/dev/shm" and not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm here")
    async with open_sandbox(tier, disk_limit_bytes=64 << 20) as box:
        result = await run(box, f"WHERE = {folder!r}\n" + _MAP_AND_UNLINK, timeout=30)
        await asyncio.sleep(0.3)
        after = await run(box, "print(len(kept))")
    # ENOSPC (a sized tmpfs), EACCES (/dev/shm outside the Landlock fallback's folders) or the disk watcher
    stopped = any(f"stopped {code}" in result.stdout for code in (28, 13))
    assert stopped or "disk limit" in (result.error or "") + (after.error or ""), (result, after)
    assert after.status != "ok" or after.stdout.strip() != "6", (result, after)


async def test_a_large_context_the_worker_maps_is_not_counted_as_written() -> None:
    """On a root host the worker maps a large ASCII context's file (strmap.py) and the host unlinks it once loaded:
    a "(deleted)" mapping that is the host's, not the cell's, so a context larger than the bound still runs."""
    text = "c" * (80 << 20)
    async with open_sandbox("subprocess", context=text, disk_limit_bytes=32 << 20) as box:
        first = await run(box, "print(len(context))")
        await asyncio.sleep(0.5)  # five watcher polls
        second = await run(box, "print(len(context))")
    assert first.status == second.status == "ok", (first, second)
    assert second.stdout.strip() == str(80 << 20)


_MAPPER = """
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
path, size = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
os.close(fd)
print("mapped", flush=True)
sys.stdin.readline()
libc.munmap(address, size)
print("unmapped", flush=True)
sys.stdin.readline()
"""


def test_a_mapped_file_is_counted_once_its_name_is_gone(tmp_path: Path) -> None:
    """rundir.unlinked_bytes with a MappedFiles record: a file a process maps (no descriptor kept) counts once
    unlinked, at once (its name was watched), and stops counting once unmapped. The mapper is a fresh process of
    its own: the test runner's may map deleted files of earlier tests."""
    path = tmp_path / "mapped"
    size = 4 << 20
    path.write_bytes(b"x" * size)
    mapped = rundir.MappedFiles([str(tmp_path)])
    with subprocess.Popen(
        [sys.executable, "-c", _MAPPER, str(path), str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as mapper:
        assert mapper.stdin is not None and mapper.stdout is not None
        try:
            assert mapper.stdout.readline().strip() == "mapped"
            assert rundir.unlinked_bytes(mapper.pid, mapped) == 0  # it still has a name
            path.unlink()
            assert rundir.unlinked_bytes(mapper.pid, mapped) >= size  # read again: its watched name is gone
            mapper.stdin.write("\n")
            mapper.stdin.flush()
            assert mapper.stdout.readline().strip() == "unmapped"
            assert rundir.unlinked_bytes(mapper.pid, mapped) == 0  # the address space shrank: read again
        finally:
            mapper.kill()
