"""Round 84: the sandbox's disk walk and the worker's allocation cost (audit 84).

* V08: the disk watcher walked each tree by full paths and passed over what it could not open, so a cell that nested
  folders past PATH_MAX by relative steps hid 288 MiB under a 64 MiB bound. Every walk (the bound's, the RAM-growth
  measure's, the removals') now goes by folder descriptors at any depth, and a folder it cannot read is a breach,
  never zero. Removal by `shutil.rmtree` raised RecursionError on a tree 3,000 folders deep and left it.
* V09: the worker's environment asked glibc for transparent huge pages (`glibc.malloc.hugetlb=1`): on a VM host a
  first growth to 300 MB took 4-7 s instead of 0.2-0.5, and a cell making a 300 MB value ran past a 2 s timeout.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, rundir
from rlmx.sandbox import subprocess as sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers are Linux's")

_LONG = "d" * 250  # 20 of them nest past PATH_MAX (4,096 bytes)


async def _no_calls(call: object) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)  # type: ignore[attr-defined]


def _nest(top: Path, depth: int, name: str = _LONG) -> Iterator[int]:
    """Make `depth` folders named `name` one in another under `top`, by relative steps; yields the descriptor of
    the deepest (closed after)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _write(folder: int, name: str, size: int) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=folder)
    try:
        os.write(fd, b"\1" * size)
    finally:
        os.close(fd)


@pytest.mark.parametrize("depth", [20, 200])
def test_usage_counts_a_tree_deeper_than_the_path_limit(tmp_path: Path, depth: int) -> None:
    # 200, over WALK_DESCRIPTORS: the walk closes its outer folders on the way down and reopens them through ".."
    assert depth < 100 or depth > rundir.WALK_DESCRIPTORS
    for deepest in _nest(tmp_path, depth):
        _write(deepest, "big", 1 << 20)
    walk = rundir.Walk()
    used = rundir.usage([tmp_path], None, walk=walk)
    assert used >= (1 << 20) + depth * rundir.ENTRY_BYTES, used
    assert walk == rundir.Walk(), walk


def test_usage_walks_no_link_and_names_a_folder_it_cannot_open(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "f").write_bytes(b"x" * 100_000)
    (tmp_path / "locked").mkdir()
    (tmp_path / "elsewhere").symlink_to("/usr")  # a link is an entry, never walked into
    real_open = os.open

    def refusing(path: Any, flags: int, *args: Any, **options: Any) -> int:
        if path == "locked":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **options)

    monkeypatch.setattr(os, "open", refusing)
    walk = rundir.Walk()
    used = rundir.usage([tmp_path], None, walk=walk)
    assert used < 1 << 20, used  # /usr was not walked
    assert "locked" in walk.unmeasured and "Permission denied" in walk.unmeasured, walk


def test_the_watcher_takes_a_folder_it_cannot_read_for_a_breach(tmp_path: Path, monkeypatch: Any) -> None:
    # Before: passed over as empty, however much it held; now the worker is ended and told why
    (tmp_path / "hidden").mkdir()
    real_open = os.open

    def refusing(path: Any, flags: int, *args: Any, **options: Any) -> int:
        if path == "hidden":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **options)

    monkeypatch.setattr(os, "open", refusing)

    async def watch() -> tuple[str, int, int]:
        over: asyncio.Future[tuple[str, int, int]] = asyncio.get_running_loop().create_future()
        stop = threading.Event()
        args = ([tmp_path], None, lambda: 0, list, (1 << 30, 1 << 30), stop, over)
        thread = threading.Thread(target=sandbox._watch_usage, args=args, daemon=True)
        thread.start()
        try:
            return await asyncio.wait_for(over, 10)
        finally:
            stop.set()
            thread.join(5)

    kind, _, _ = asyncio.run(watch())
    assert kind.startswith("unmeasured:") and "hidden" in kind, kind
    message = sandbox._breach_message(kind, 1, (64 << 20, 1 << 30))
    assert "could not measure" in message and "67,108,864" in message and "disk_limit_bytes" in message


def test_a_folder_renamed_while_it_is_walked_is_found_by_its_inode(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x" * 200_000)
    real_open = os.open
    moved: list[str] = []

    def renaming(path: Any, flags: int, *args: Any, **options: Any) -> int:
        if path == "a" and not moved:  # the cell renames it between the listing and the opening
            os.rename(tmp_path / "a", tmp_path / "b")
            moved.append("b")
        return real_open(path, flags, *args, **options)

    monkeypatch.setattr(os, "open", renaming)
    walk = rundir.Walk()
    assert rundir.usage([tmp_path], None, walk=walk) >= 200_000
    assert moved and walk == rundir.Walk(), walk


def test_removal_takes_a_tree_of_any_depth(tmp_path: Path) -> None:
    # In RAM where it can (as run dirs are): 1,500 rmdirs on this VM's loaded disk took 8 s
    root = Path(tempfile.mkdtemp(dir=rundir.storage_root() or tmp_path))
    try:
        work = root / "work"
        work.mkdir()
        for deepest in _nest(work, 1500, "d" * 50):  # past Python's recursion limit (1,000)
            _write(deepest, "f", 10)
        rundir.empty([work])  # shutil.rmtree: RecursionError, the tree left
        assert work.is_dir() and not os.listdir(work)
    finally:
        rundir.empty([root])
        root.rmdir()


_DEEP_CELL = r"""
import os
os.chdir({where!r})
start = os.open('.', os.O_RDONLY)
os.mkdir({top!r})
os.chdir({top!r})
for _ in range(20):  # relative steps: the full path is over 5,000 bytes
    os.mkdir({name!r})
    os.chdir({name!r})
for k in range(3):
    with open('big%d' % k, 'wb') as f:
        for _ in range(8):
            f.write(b'\1' * (1 << 20))
import time
time.sleep(1.0)
os.fchdir(start)
print('kept 24 MiB')
"""


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["subprocess", "landlock"])
@pytest.mark.parametrize("where", [".", "/tmp"])
async def test_a_tree_deeper_than_the_path_limit_counts_against_the_disk_bound(
    tier: str, where: str, require_isolated: Callable[..., None]
) -> None:
    options: dict[str, object] = {}
    if tier == "landlock":
        if where != ".":
            pytest.skip("Landlock lets a cell write to its work dir alone")
        require_isolated("landlock")
        tier, options = "isolated", {"mode": "landlock"}
    top = f"deep-{uuid.uuid4().hex}"  # its own, beside other tests' in /tmp
    box = create_sandbox(tier, hard_timeout_grace=1.0, disk_limit_bytes=8 << 20, **options)
    await box.start([prepare("context", "the context")])
    try:
        cell = _DEEP_CELL.format(where=where, top=top, name=_LONG)
        deep = await box.run_cell(cell, calls=_no_calls, timeout=30)
        after = await box.run_cell(
            f"import os\nprint(os.path.exists({where + '/' + top!r}))", calls=_no_calls, timeout=10
        )
    finally:
        await box.close()
    if where == "/tmp" and deep.status == "ok" and os.geteuid() != 0:
        pytest.skip("a non-root host's worker shares its uid: /tmp is not watched for it")
    assert deep.status == "restarted" and "kept 24 MiB" not in deep.stdout, deep
    assert "disk limit of 8,388,608 bytes" in str(deep.error), deep.error
    assert after.status == "ok" and after.stdout == "False\n", after


_HUGE_ADVICE_CELL = r"""
block = bytearray(64 << 20)
advised = []
with open('/proc/self/smaps') as maps:
    span = None
    for line in maps:
        if line[:1] in '0123456789abcdef' and '-' in line.split()[0]:
            start, end = (int(part, 16) for part in line.split()[0].split('-'))
            span = end - start
        elif line.startswith('VmFlags:') and span and span >= 32 << 20 and ' hg' in line:
            advised.append(span)
print('huge-page advised', advised)
"""


@pytest.mark.parametrize("tier", ["subprocess", "isolated"])
async def test_a_workers_large_allocations_are_not_advised_for_huge_pages(
    tier: str, require_isolated: Callable[..., None]
) -> None:
    # glibc.malloc.hugetlb=1 madvised them (VmFlags "hg"): each 2 MB fault then cost the kernel far more on a VM
    # host, and a first growth to 300 MB took 4-7 s (audit 84 V09; numbers in the commit)
    if tier == "isolated":
        require_isolated()
    box = create_sandbox(tier, hard_timeout_grace=1.0, memory_limit_bytes=1 << 30)
    await box.start([prepare("context", "the context")])
    try:
        result = await box.run_cell(_HUGE_ADVICE_CELL, calls=_no_calls, timeout=30)
    finally:
        await box.close()
    assert result.status == "ok" and result.stdout == "huge-page advised []\n", result
