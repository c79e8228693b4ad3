"""Round 79: files with no name (unlinked while held open, or mapped with no descriptor left) count against the disk
bound on hosts that cannot read the worker's /proc. The worker is non-dumpable, so listing /proc/<pid>/fd and
reading /proc/<pid>/maps take CAP_SYS_PTRACE, which Docker's default capabilities and a non-root host lack, and
stat'ing /proc/<pid>/map_files takes CAP_SYS_ADMIN. Such a host counted nothing (180 MiB of /dev/shm under a 64 MiB
bound), or a mapped file by the one page mapped instead of its 30 MiB.

Each case runs in a fresh interpreter under `setpriv` with the capability set of the host it stands for, so it
needs root and setpriv; it skips elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = str(Path(__file__).resolve().parent.parent)
_DOCKER = (
    "-all,+chown,+dac_override,+fsetid,+fowner,+mknod,+net_raw,+setgid,+setuid,+setfcap,+setpcap,+net_bind_service,"
    "+sys_chroot,+kill,+audit_write"
)
HOSTS = {"docker-default": _DOCKER, "docker-sys-ptrace": _DOCKER + ",+sys_ptrace"}
"""The capability sets: `docker run` without --cap-add (no fd, maps or map_files), and with SYS_PTRACE (fd and
maps, but no map_files, so no size for a mapped file)."""

# No two tests that hold or measure unnamed files on /dev/shm run at once (tests/conftest.py, dev_shm_alone).
pytestmark = [
    pytest.mark.dev_shm_alone,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("setpriv") is None or not os.access("/dev/shm", os.W_OK),
        reason="needs root, setpriv and a writable /dev/shm to stand for hosts with fewer capabilities",
    ),
]

_PRELUDE = f"""
import asyncio, json, os, sys
sys.path.insert(0, {TESTS!r})
from hostile.harness import open_sandbox, run
from rlmx.context import prepare
from rlmx.sandbox import rundir
"""


def _own_dev_shm() -> list[str]:
    """A command prefix that gives what follows a /dev/shm of its own (a fresh tmpfs in a private mount namespace),
    or none where this host cannot make one. The growth measure cannot tell another process's files with no name
    from the worker's, so one on the shared /dev/shm that shrank while the cell held its files (a Ray object
    store's plasma file, freed as another xdist worker's Ray test ends) could hide them. (The failure of CI on
    dc0fe7c was another cause: the baseline taken late, test_unnamed_baseline_round81.py.)"""
    private = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
    mount = 'mount -t tmpfs -o size=1g,mode=1777 rlmx-test-shm /dev/shm && exec "$@"'
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run([*private, mount, "sh", "true"], capture_output=True, check=False)
    return [*private, mount, "sh"] if probe.returncode == 0 else []


_PREFIX = _own_dev_shm() if os.geteuid() == 0 else []


def _under(caps: str, body: str) -> dict[str, Any]:
    """Run `body` (which prints one JSON line last) in a fresh interpreter with only the capabilities `caps`, on a
    /dev/shm of its own where the host can make one."""
    done = subprocess.run(
        [*_PREFIX, "setpriv", f"--bounding-set={caps}", "--inh-caps=-all", sys.executable, "-c", _PRELUDE + body],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (done.stdout[-2000:], done.stderr[-3000:])
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# Six 30 MiB files in /dev/shm, each unlinked while held open, fully mapped, or with one page mapped (no descriptor).
_HOLD = """
async def main():
    cell = '''
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
kept = []
for i in range(6):
    path = f"/dev/shm/rlmx-r79-unnamed-{os.getpid()}-{i}"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    for _ in range(30):
        os.write(fd, b"u" * (1 << 20))
    if HOW == "open":
        kept.append(fd)
    else:
        kept.append(libc.mmap(None, (30 << 20) if HOW == "mapped" else 4096, 1, 1, fd, 0))
        os.close(fd)
    os.unlink(path)
    time.sleep(0.3)
time.sleep(1.5)
print("kept", len(kept))
'''
    async with open_sandbox("subprocess", disk_limit_bytes=64 << 20) as box:
        first = await run(box, f"HOW = {HOW!r}" + cell, timeout=30)
        await asyncio.sleep(0.3)
        after = await run(box, "print(len(kept))")
    print(json.dumps({"first": [first.status, first.stdout, first.error or ""],
                      "after": [after.status, after.stdout, after.error or ""]}))
asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["open", "mapped", "one page"])
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_unnamed_files_count_where_the_host_cannot_read_the_worker(host: str, how: str) -> None:
    """180 MiB held with no name under a 64 MiB bound: the worker is restarted with the disk-limit message,
    never left holding them."""
    try:
        result = _under(HOSTS[host], f"HOW = {how!r}\n" + _HOLD)
    finally:
        subprocess.run("rm -f /dev/shm/rlmx-r79-unnamed-*", shell=True, check=False)
    status, stdout, error = result["after"]
    assert "disk limit" in result["first"][2] + error, result
    assert status != "ok" or stdout.strip() != "6", result


def test_the_report_says_what_goes_uncounted_without_sys_ptrace() -> None:
    """The route the protections report can name: without CAP_SYS_PTRACE, disk-backed filesystems go uncounted."""
    result = _under(_DOCKER, 'print(json.dumps({"route": rundir.unnamed_route()}))')
    assert "RAM-backed" in result["route"] and "not counted" in result["route"], result
    full = subprocess.run(
        [sys.executable, "-c", _PRELUDE + "print(rundir.unnamed_route())"], capture_output=True, text=True, check=True
    )
    assert "by their blocks" in full.stdout and "not counted" not in full.stdout, full.stdout


# What an ordinary run does and must not be restarted for: an 80 MiB context under a 32 MiB bound, a worker
# restart (whose context files are written again, mapped, then unlinked), a session's loaded 60 MiB context, and
# a cell that writes and deletes named 20 MiB files in its work dir and /dev/shm for 3 s, plus a 10 MiB TemporaryFile.
_ORDINARY = """
async def main():
    seen = []
    async with open_sandbox("subprocess", context="c" * (80 << 20), disk_limit_bytes=32 << 20) as box:
        await box.load([prepare("more", "m" * (60 << 20))], {})
        for code in ("print(len(context), len(more))", "import os; os._exit(0)", "print(len(context), len(more))"):
            seen.append(await run(box, code))
            await asyncio.sleep(0.5)
        seen.append(await run(box, "print(len(context), len(more))"))
    churn = '''
import os, tempfile, time
end = time.time() + 3
while time.time() < end:
    for where in (os.getcwd(), "/dev/shm"):
        path = os.path.join(where, f"rlmx-r79-churn-{os.getpid()}")
        with open(path, "wb") as out:
            out.write(b"x" * (20 << 20))
        os.unlink(path)
with tempfile.TemporaryFile() as held:
    held.write(b"y" * (10 << 20))
    held.flush()
    time.sleep(0.5)
print("done")
'''
    async with open_sandbox("subprocess", disk_limit_bytes=64 << 20) as box:
        seen.append(await run(box, churn, timeout=30))
        await asyncio.sleep(0.3)
        seen.append(await run(box, "print('alive')"))
    print(json.dumps([[r.status, r.stdout.strip(), r.error or ""] for r in seen]))
asyncio.run(main())
"""


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_contexts_restarts_and_named_churn_are_not_taken_for_unnamed_files(host: str) -> None:
    """The RAM-growth measure charges only what no name and no host descriptor accounts for: contexts (the host's,
    copies a restart writes included), deleted named files and a small TemporaryFile leave the worker running."""
    try:
        result = _under(HOSTS[host], _ORDINARY)
    finally:
        subprocess.run("rm -f /dev/shm/rlmx-r79-churn-*", shell=True, check=False)
    sizes = f"{80 << 20} {60 << 20}"
    assert [row[0] for row in result] == ["ok", "restarted", "ok", "ok", "ok", "ok"], result
    assert result[0][1] == result[2][1] == result[3][1] == sizes, result
    assert "exited with code 0" in result[1][2] and "disk limit" not in json.dumps(result), result
    assert result[4][1] == "done" and result[5][1] == "alive", result


_UNKNOWN_SIZE = """
import resource, subprocess, tempfile, time
mapper = '''
import ctypes, os, resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20))
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
path = sys.argv[1]
fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b"z" * (6 << 20))
libc.mmap(None, 4096, 1, 1, fd, 0)
os.close(fd)
os.unlink(path)
print("ready", flush=True)
sys.stdin.readline()
'''
folder = tempfile.mkdtemp(prefix="rlmx-r79-bound-", dir="/var/tmp")
mapped = rundir.MappedFiles([folder])
with subprocess.Popen([sys.executable, "-c", mapper, folder + "/file"], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True) as child:
    try:
        assert child.stdout.readline().strip() == "ready"
        counted = rundir.unlinked_bytes(child.pid, mapped)
    finally:
        child.kill()
os.rmdir(folder)
print(json.dumps({"counted": counted}))
"""


def test_a_mapped_file_of_unknown_size_counts_at_the_file_size_limit() -> None:
    """Where maps are readable but map_files is not, a 6 MiB file mapped by one page and unlinked counts at least
    its 6 MiB (the mapper's 8 MiB file size limit, or the growth of a RAM-backed filesystem), not the 4 KiB page."""
    result = _under(HOSTS["docker-sys-ptrace"], _UNKNOWN_SIZE)
    assert result["counted"] >= 6 << 20, result
