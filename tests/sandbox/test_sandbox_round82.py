"""Round 82: the sandbox's bounds (audit 82).

* Kernel memory a cell could pin through file metadata, which no memory or disk bound counts: extended attributes
  (a tmpfs file held 479 MB of `user.*` values under a 128 MiB memory and 32 MiB disk bound; POSIX ACLs are xattrs
  too) and keyrings. Every tier's seccomp filter refuses setting them: ENOTSUP for xattrs, EPERM for keys.
* A `cell_timeout` the REPL's timer cannot arm (past about 9.2e9 s) made every cell fail with OverflowError: the
  Budget and `--cell-timeout` refuse it naming the largest value, and the worker's timer is clamped.
* The disk walk charged a file once per hard link; it counts its blocks once.
* /run/lock (world-writable on Debian and Ubuntu) was outside the disk bound and kept the files after close; the
  shared temp dirs are read from the mount table too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import pytest

from rlmx import Budget
from rlmx.budget import MAX_CELL_TIMEOUT
from rlmx.context import prepare
from rlmx.errors import InputError
from rlmx.sandbox import SubCallResult, create_sandbox, harden, rundir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers' filters are Linux's")

_METADATA_CELL = r"""
import ctypes, errno, os
p = os.path.join(os.getcwd(), 'meta')
open(p, 'w').close()
os.symlink(p, p + '.link')
def attempt(name, call):
    try:
        call()
        print(name, 'stored')
    except OSError as exc:
        print(name, errno.errorcode.get(exc.errno, exc.errno))
attempt('setxattr', lambda: os.setxattr(p, 'user.k', b'v' * 60000))
attempt('lsetxattr', lambda: os.setxattr(p + '.link', 'user.k', b'v', follow_symlinks=False))
fd = os.open(p, os.O_RDONLY)
attempt('fsetxattr', lambda: os.setxattr(fd, 'user.k', b'v' * 60000))
acl = bytes([2, 0, 0, 0, 1, 0, 6, 0, *[255] * 4, 4, 0, 4, 0, *[255] * 4, 32, 0, 4, 0, *[255] * 4])
attempt('acl', lambda: os.setxattr(p, 'system.posix_acl_access', acl))
libc = ctypes.CDLL(None, use_errno=True)
def syscall(name, number, *args):
    def call():
        if libc.syscall(number, *args) < 0:
            raise OSError(ctypes.get_errno(), name)
    attempt(name, call)
syscall('add_key', 248, b'user', b'k', b'v' * 1000, 1000, ctypes.c_long(-2))  # KEY_SPEC_PROCESS_KEYRING
syscall('keyctl', 250, 0, ctypes.c_long(-2), 1)  # KEYCTL_GET_KEYRING_ID, create
print('listed', os.listxattr(p))
"""


async def _no_calls(call: object) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)  # type: ignore[attr-defined]


async def _run(tier: str, code: str, timeout: float = 20.0, **options: object) -> tuple[str, str, str]:
    box = create_sandbox(tier, hard_timeout_grace=1.0, **options)
    await box.start([prepare("context", "the context")])
    try:
        result = await box.run_cell(code, calls=_no_calls, timeout=timeout)
        return result.status, result.stdout, result.error or ""
    finally:
        await box.close()


def _refusals(stdout: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in stdout.splitlines() if " " in line and not line.startswith("listed"))


@pytest.mark.skipif(not harden.seccomp_supported(), reason="no seccomp filter on this machine")
@pytest.mark.parametrize("tier", ["subprocess", "isolated", "landlock"])
async def test_a_cell_cannot_pin_kernel_memory_in_file_metadata_or_keys(
    tier: str, require_isolated: Callable[..., None]
) -> None:
    options: dict[str, object] = {}
    if tier == "landlock":
        require_isolated("landlock")
        tier, options = "isolated", {"mode": "landlock"}
    elif tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, _METADATA_CELL, **options)
    assert status == "ok", error
    seen = _refusals(stdout)
    for call in ("setxattr", "lsetxattr", "fsetxattr", "acl"):
        assert seen[call] in {"ENOTSUP", "EOPNOTSUPP"}, stdout  # "not supported here": copy tools skip it
    for call in ("add_key", "keyctl"):
        assert seen[call] == "EPERM", stdout
    assert "listed []" in stdout  # reading xattrs stays open, and nothing was stored


def test_every_filter_refuses_each_xattr_setter_and_keyring_call() -> None:
    # setxattrat (Linux 6.13+) included: a filter that knew only the three old calls would leave it open.
    for stage in ("light", "zygote", "worker"):
        program = harden.build_filter(stage, pid=1234)
        for number in (188, 189, 190, 463, 248, 249, 250):
            assert harden._op(harden._JEQ, number, 0, 1) in program, (stage, number)


def test_a_cell_timeout_the_timer_cannot_arm_is_refused_naming_the_largest() -> None:
    assert Budget(cell_timeout=MAX_CELL_TIMEOUT).cell_timeout == MAX_CELL_TIMEOUT
    for huge in (MAX_CELL_TIMEOUT * 1.5, 1e10, 1e300):
        with pytest.raises(InputError, match=r"cell_timeout must be at most 1e\+09 seconds"):
            Budget(cell_timeout=huge)


def test_the_cli_refuses_a_huge_cell_timeout_by_its_flag() -> None:
    from rlmx.cli import _cell_seconds

    assert _cell_seconds("1e9") == 1e9
    with pytest.raises(argparse.ArgumentTypeError, match=r"at most 1e\+09 seconds"):
        _cell_seconds("1e10")


@pytest.mark.parametrize("tier", ["subprocess", "isolated"])
async def test_the_worker_arms_a_time_limit_past_its_timer_range(
    tier: str, require_isolated: Callable[..., None]
) -> None:
    # a sandbox driven directly (no Budget) with a limit past int64 nanoseconds: the cell runs.
    if tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, "print('ran', 6 * 7)", timeout=1e10)
    assert (status, stdout.strip()) == ("ok", "ran 42"), error


def test_a_hard_linked_file_counts_its_blocks_once(tmp_path: object) -> None:
    folder = str(tmp_path)
    first = os.path.join(folder, "big")
    with open(first, "wb") as file:
        file.write(b"x" * (4 << 20))
    os.link(first, os.path.join(folder, "second"))
    os.mkdir(os.path.join(folder, "sub"))
    os.link(first, os.path.join(folder, "sub", "third"))
    blocks = os.stat(first).st_blocks * 512
    entries = 2 * rundir.ENTRY_BYTES + rundir.ENTRY_BYTES  # the two further names and the folder
    assert rundir.usage([tmp_path], None) == blocks + entries  # type: ignore[list-item]


def test_hard_links_in_two_walked_folders_count_once(tmp_path: object) -> None:
    one, two = os.path.join(str(tmp_path), "one"), os.path.join(str(tmp_path), "two")
    os.mkdir(one)
    os.mkdir(two)
    with open(os.path.join(one, "big"), "wb") as file:
        file.write(b"x" * (2 << 20))
    os.link(os.path.join(one, "big"), os.path.join(two, "big"))
    blocks = os.stat(os.path.join(one, "big")).st_blocks * 512
    assert rundir.usage([one, two], None) == blocks + rundir.ENTRY_BYTES  # type: ignore[list-item]


def test_ram_mounts_come_from_the_mount_table() -> None:
    table = (
        "22 1 0:21 / /run/user/0 rw,nosuid - tmpfs tmpfs rw,mode=1777\n"
        "23 1 0:22 / /srv/scratch\\040space rw shared:5 - ramfs ramfs rw\n"
        "24 1 8:1 / /data rw - ext4 /dev/sda1 rw\n"
    )
    assert rundir.ram_mounts(table) == ["/run/user/0", "/srv/scratch space"]


def test_the_shared_temp_dirs_include_run_lock_and_world_writable_tmpfs() -> None:
    found = rundir.shared_temp_dirs()
    lock = os.path.realpath("/run/lock")
    if os.path.isdir(lock) and os.stat(lock).st_mode & 0o002:
        assert lock in found
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        for point in rundir.ram_mounts(table.read()):
            if os.path.isdir(point) and os.stat(point).st_mode & 0o002:
                real = os.path.realpath(point)
                assert any(real == top or real.startswith(top + "/") for top in found), (real, found)


_LOCK_CELL = """
import os
for i in range(3):
    with open(f'/run/lock/r82-{os.getpid()}-{i}', 'wb') as f:
        f.write(b'x' * (4 << 20))
print('written')
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a separate sandbox uid (root host) is what the shared dirs' walk counts")
@pytest.mark.skipif(
    not (os.path.isdir("/run/lock") and os.stat("/run/lock").st_mode & 0o002), reason="no world-writable /run/lock"
)
async def test_files_in_run_lock_count_against_the_disk_bound_and_go_at_close() -> None:
    box = create_sandbox("subprocess", hard_timeout_grace=1.0, disk_limit_bytes=8 << 20)
    await box.start([prepare("context", "the context")])
    try:
        code = _LOCK_CELL + "import time\ntime.sleep(3)\n"
        result = await box.run_cell(code, calls=_no_calls, timeout=10)
        uid = box.uid  # type: ignore[attr-defined]
    finally:
        await box.close()
    assert result.status != "ok" and "disk limit" in (result.error or ""), result
    assert not [name for name in os.listdir("/run/lock") if os.stat(f"/run/lock/{name}").st_uid == uid]
