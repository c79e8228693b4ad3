"""Round 83: the sandbox's bounds (audit 83).

* io_uring did in the kernel what the seccomp filter refuses at the call (IORING_OP_FSETXATTR stored 299 MB of
  xattrs on the default tier): every tier refuses io_uring_setup, io_uring_enter and io_uring_register (EPERM).
* A file with no name whose only reference is a message in a socket queue nobody reads (SCM_RIGHTS, "in flight")
  is in no /proc/<pid>/fd or maps: a root host does not count it (README, Disk). Taking the RAM-backed filesystems'
  growth there too (cc50787) restarted an idle cell for another program's unlinked file (review 83b): reverted.
* fcntl byte-range locks pin kernel memory no limit counts (1.08 M locks, 201 MB over 144 MB of bounds): the usage
  watcher counts a REPL's locks (/proc/<pid>/fdinfo) and restarts it past an eighth of its memory bound; OFD locks,
  which belong to no process, are refused (EINVAL) by every tier's filter. SQLite and lockf keep working.
* `rundir.remove_owned` (root) removed by path after a stat: a world-writable folder swapped for a link meanwhile
  made it delete a same-named file elsewhere. Each step is now relative to a descriptor opened with O_NOFOLLOW.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, harden, rundir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers' filters are Linux's")

_RING_CELL = r"""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
def outcome(number, *args):
    if libc.syscall(number, *args) < 0:
        return errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())
    return 'made'
print('setup', outcome(425, 4, params))
print('enter', outcome(426, 0, 0, 0, 0, None, 0))
print('register', outcome(427, 0, 0, None, 0))
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


@pytest.mark.skipif(not harden.seccomp_supported(), reason="no seccomp filter on this machine")
@pytest.mark.parametrize("tier", ["subprocess", "isolated", "landlock"])
async def test_no_tier_lets_a_cell_make_or_drive_an_io_uring(tier: str, require_isolated: Callable[..., None]) -> None:
    # A ring's opcodes (FSETXATTR, SOCKET, a fixed-file table holding a file with no name) would route around the
    # filter's other rules, so the ring itself is refused: the call never reaches the kernel's io_uring code.
    options: dict[str, object] = {}
    if tier == "landlock":
        require_isolated("landlock")
        tier, options = "isolated", {"mode": "landlock"}
    elif tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, _RING_CELL, **options)
    assert status == "ok", error
    seen = dict(line.split(" ", 1) for line in stdout.splitlines())
    assert seen == {"setup": "EPERM", "enter": "EPERM", "register": "EPERM"}, stdout


def test_every_filter_and_its_report_name_the_io_uring_calls() -> None:
    for stage in ("light", "zygote", "worker"):
        program = harden.build_filter(stage, pid=1234)
        for number in (425, 426, 427):
            assert harden._op(harden._JEQ, number, 0, 1) in program, (stage, number)
        assert {"io_uring_setup", "io_uring_enter", "io_uring_register"} <= set(harden.denied_syscalls(stage))


_UID = 54321  # a sandbox uid nothing else uses here
_OTHER = 54322  # another run's sandbox uid


def _shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr(rundir, "shared_temp_dirs", lambda: (str(shared),))
    return shared


def _owned(path: Path, uid: int = _UID, text: str = "x") -> Path:
    path.write_text(text)
    os.chown(path, uid, uid)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to other uids, as a root host's removal meets them")
def test_remove_owned_takes_the_uids_entries_at_any_depth_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = _shared(tmp_path, monkeypatch)
    _owned(shared / "mine")
    (shared / "link").symlink_to(tmp_path / "target")
    os.chown(shared / "link", _UID, _UID, follow_symlinks=False)
    _owned(tmp_path / "target", 0)
    tree = shared / "tree"
    (tree / "deep").mkdir(parents=True)
    _owned(tree / "deep" / "file", 0)
    os.chown(tree, _UID, _UID)
    open_dir = shared / "open"
    open_dir.mkdir()
    open_dir.chmod(0o1777)
    os.chown(open_dir, _OTHER, _OTHER)
    _owned(open_dir / "inner")
    _owned(open_dir / "theirs", _OTHER)
    rundir.remove_owned(_UID)
    assert sorted(os.listdir(shared)) == ["open"]
    assert os.listdir(open_dir) == ["theirs"]
    assert (tmp_path / "target").exists()  # the link went, not what it named


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to other uids, as a root host's removal meets them")
def test_remove_owned_never_follows_a_folder_swapped_for_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another run's cell owns a world-writable folder in the shared dir; right after the removal judged it one to
    # search, it is swapped for a link to a folder holding a same-named file the uid owns (as /etc/passwd would be
    # root's: the owner test alone does not save it).
    shared = _shared(tmp_path, monkeypatch)
    theirs = shared / "theirs"
    theirs.mkdir()
    theirs.chmod(0o1777)
    os.chown(theirs, _OTHER, _OTHER)
    _owned(theirs / "victim")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = _owned(elsewhere / "victim", text="keep me")
    judged = rundir._writable_by_anyone
    swapped: list[bool] = []

    def judge_then_swap(info: os.stat_result) -> bool:
        verdict = judged(info)
        if verdict and not swapped:
            swapped.append(True)
            theirs.rename(shared / "moved")
            theirs.symlink_to(elsewhere)
        return verdict

    monkeypatch.setattr(rundir, "_writable_by_anyone", judge_then_swap)
    rundir.remove_owned(_UID)
    assert swapped
    assert victim.read_text() == "keep me"


_OTHER_PROGRAM = r"""
import os, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.unlink(path)
os.pwrite(fd, b'x' * (48 << 20), 0)  # 48 MB of tmpfs pages with no name, held by a program that is no cell's
print('held', flush=True)
time.sleep(60)
"""


@pytest.mark.dev_shm_alone  # it holds an unnamed file on /dev/shm (tests/conftest.py)
@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="a root host counts the worker's files with no name exactly")
async def test_a_root_host_charges_no_cell_for_another_programs_file_on_dev_shm() -> None:
    # cc50787 took the RAM-backed filesystems' growth on a root host too (for files held only in a socket queue),
    # and an idle cell was restarted for another program's unlinked file ("the worker wrote 72,970,240 bytes");
    # a root host keeps the exact count (README, Disk)
    box = create_sandbox("subprocess", disk_limit_bytes=32 << 20)
    await box.start([prepare("context", "c")])
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROGRAM, f"/dev/shm/rlmx-test-other-{os.getpid()}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        result = await box.run_cell("import time\ntime.sleep(1.5)\nprint('slept')", calls=_no_calls, timeout=20)
    finally:
        other.kill()
        other.wait()
        if other.stdout is not None:
            other.stdout.close()
        await box.close()
    assert (result.status, result.stdout) == ("ok", "slept\n"), result.error


_LOCKS_CELL = r"""
import fcntl, os, time
files = [open(os.path.join(os.getcwd(), 'lock%d' % j), 'w') for j in range(100)]
for f in files:
    for i in range(700):  # 70,000 locks: 17.9 MB of kernel memory at LOCK_BYTES, over 16 MiB (128 MiB / 8)
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 2 * i)
time.sleep(3)
print('held')
"""

_ORDINARY_LOCKS_CELL = r"""
import errno, fcntl, os, sqlite3, struct
path = os.path.join(os.getcwd(), 'db.sqlite')
db = sqlite3.connect(path)
db.execute('create table t (x)')
db.executemany('insert into t values (?)', [(i,) for i in range(100)])
db.commit()
print('rows', db.execute('select count(*) from t').fetchone()[0])
f = open(path, 'rb+')
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
print('lockf ok')
flock = struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 1, 0)
try:
    fcntl.fcntl(f, 37, flock)  # F_OFD_SETLK
    print('ofd taken')
except OSError as exc:
    print('ofd', errno.errorcode[exc.errno])
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="a host reads its non-dumpable worker's fdinfo with CAP_SYS_PTRACE")
@pytest.mark.parametrize("tier", ["subprocess", "isolated"])
async def test_too_many_file_locks_restart_the_worker(tier: str, require_isolated: Callable[..., None]) -> None:
    if tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, _LOCKS_CELL, timeout=60, memory_limit_bytes=128 << 20)
    assert status != "ok" and "file locks" in error, (status, stdout, error)
    assert "held" not in stdout


@pytest.mark.skipif(not harden.seccomp_supported(), reason="no seccomp filter on this machine")
@pytest.mark.parametrize("tier", ["subprocess", "isolated"])
async def test_sqlite_and_lockf_work_in_a_cell_and_ofd_locks_are_refused(
    tier: str, require_isolated: Callable[..., None]
) -> None:
    if tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, _ORDINARY_LOCKS_CELL)
    assert status == "ok", error
    assert stdout.split("\n")[:3] == ["rows 100", "lockf ok", "ofd EINVAL"], stdout


def test_held_locks_counts_a_processes_locks_from_its_fdinfo(tmp_path: Path) -> None:
    import fcntl

    with open(tmp_path / "f", "w") as handle:
        for i in range(50):
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 2 * i)
        assert harden.held_locks([os.getpid()]) == {os.getpid(): 50}
        assert harden.trees_locks_over([os.getpid()], 49 * harden.LOCK_BYTES) == (50, os.getpid())
        assert harden.trees_locks_over([os.getpid()], 50 * harden.LOCK_BYTES) == (0, 0)
    assert harden.locks_bound(128 << 20) == 16 << 20 and harden.locks_bound(4 << 30) == harden.LOCKS_MOST
