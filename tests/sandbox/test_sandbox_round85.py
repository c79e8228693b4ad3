"""Round 85: kernel memory outside every bound (audit 85).

* V10: under bubblewrap the work dir, /tmp and /dev/shm are tmpfs mounts bounded by `size=` alone, which counts
  blocks: an empty file, folder or link takes none, yet pins an inode and a dentry (600,000 empty files: +620 MB of
  slab under a 32 MiB disk bound, every cell `ok`). The watcher now reads each mount's inodes in use (statvfs through
  /proc/<pid>/root) and counts each 4 KiB, as the other tiers count each entry; past the bound the worker restarts
  and the files go.
* V12: the default tier could open /dev/ptmx, the host-wide pseudo-terminal pool (1,200 of the host's 4,096 from one
  cell, ~75 MB of kernel memory no limit counts). Its Landlock domain now refuses /dev/ptmx and /dev/pts/N, and
  every other file opens as before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, harden, rundir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers are Linux's")


async def _no_calls(call: object) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)  # type: ignore[attr-defined]


# 1,500 entries at 4 KiB each pass a 4 MiB bound with no byte of data; the sleep lets the watcher (0.1 s) see them
_EMPTY_ENTRIES_CELL = r"""
import os, time
top = os.path.join({where!r}, 'empties')
os.makedirs(top, exist_ok=True)
for i in range(1500):
    path = os.path.join(top, str(i))
    os.mkdir(path) if {folders} else os.mknod(path)
time.sleep(3)
print('kept them')
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "folders"), [("/scratch", False), ("/tmp", False), ("/dev/shm", False), ("/scratch", True)]
)
async def test_empty_entries_on_bubblewraps_tmpfs_mounts_count_against_the_disk_bound(
    where: str, folders: bool, require_isolated: Callable[..., None]
) -> None:
    require_isolated("bwrap")
    box = create_sandbox("isolated", mode="bwrap", hard_timeout_grace=1.0, disk_limit_bytes=4 << 20)
    await box.start([prepare("context", "the context")])
    try:
        made = await box.run_cell(_EMPTY_ENTRIES_CELL.format(where=where, folders=folders), calls=_no_calls, timeout=30)
        after = await box.run_cell(
            f"import os\nprint(os.path.exists({where + '/empties'!r}), 6 * 7)", calls=_no_calls, timeout=10
        )
        mounts = box.disk_mounts()  # type: ignore[attr-defined]
        in_use = [os.statvfs(mount).f_files - os.statvfs(mount).f_ffree for mount in mounts]
    finally:
        await box.close()
    assert made.status == "restarted" and "kept them" not in made.stdout, made
    assert "disk limit of 4,194,304 bytes" in str(made.error), made.error
    assert after.status == "ok" and after.stdout == "False 42\n", after
    assert len(mounts) == 2 and max(in_use) < 10, in_use  # the files went with the breach, bwrap's folders stayed


@pytest.mark.slow
async def test_empty_files_in_landlock_modes_work_dir_count_against_the_disk_bound(
    require_isolated: Callable[..., None],
) -> None:
    require_isolated("landlock")
    box = create_sandbox("isolated", mode="landlock", hard_timeout_grace=1.0, disk_limit_bytes=4 << 20)
    await box.start([prepare("context", "the context")])
    try:
        made = await box.run_cell(_EMPTY_ENTRIES_CELL.format(where=".", folders=False), calls=_no_calls, timeout=30)
    finally:
        await box.close()
    assert made.status == "restarted" and "disk limit of 4,194,304 bytes" in str(made.error), made


def test_a_mounts_usage_counts_its_inodes_beside_its_blocks(tmp_path: object) -> None:
    info = os.statvfs("/dev/shm")
    expected = (info.f_blocks - info.f_bfree) * info.f_frsize + (info.f_files - info.f_ffree) * rundir.ENTRY_BYTES
    assert abs(rundir.mount_usage(["/dev/shm"]) - expected) < 1 << 20  # others may write there meanwhile
    assert rundir.mount_usage([]) == 0


_PTY_CELL = r"""
import os, pty
for path in ('/dev/ptmx', '/dev/pts/ptmx'):
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
        print(path, 'opened')
    except OSError as error:
        print(path, 'refused' if error.errno in (13, 1) else error)
try:
    pty.openpty()
    print('openpty opened')
except OSError:
    print('openpty refused')
with open('kept.txt', 'w') as out:
    out.write('x')
print(open('kept.txt').read(), len(open('/dev/urandom', 'rb').read(4)), os.path.isdir('/usr'))
"""


async def test_the_default_tier_opens_no_pseudo_terminal(require_isolated: Callable[..., None]) -> None:
    if harden.landlock_abi() is None or not harden.seccomp_supported():
        pytest.skip("no Landlock here: the README lists ptys among what the default tier does not stop")
    box = create_sandbox("subprocess", hard_timeout_grace=1.0)
    await box.start([prepare("context", "the context")])
    try:
        result = await box.run_cell(_PTY_CELL, calls=_no_calls, timeout=20)
    finally:
        await box.close()
    assert result.status == "ok", result
    lines = result.stdout.splitlines()
    assert lines[:3] == ["/dev/ptmx refused", "/dev/pts/ptmx refused", "openpty refused"], lines
    assert lines[3] == "x 4 True", lines  # every other file opens as before
    assert box.protections["ptys"].startswith("refused"), box.protections["ptys"]


def test_the_pty_wall_grants_every_entry_but_the_ptys() -> None:
    paths = harden._all_but_ptys()
    assert "/dev/ptmx" not in paths and "/dev/pts" not in paths
    assert "/usr" in paths and "/dev" not in paths
    assert all(not os.path.realpath(path).startswith("/proc/") for path in paths if path.startswith("/dev/"))
    if os.path.exists("/dev/null"):
        assert "/dev/null" in paths
