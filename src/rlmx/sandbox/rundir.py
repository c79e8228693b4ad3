"""A run's directory on the host, and what a sandbox leaves behind there.

Every sandbox writes its contexts and its worker's work dir under one private run directory (`rlmx-*`, mode
0700, in /dev/shm when it is writable, else the temp dir). This module keeps that directory honest:

* `create` writes an `owner` file (host pid and its start time), so `sweep_stale` can tell a run directory whose
  host is gone (killed with SIGKILL, say) from a live one, and removes it at the next start;
* `usage` measures what a worker wrote (its work and tmp dirs, and for a sandbox uid the files it owns in the
  shared temp dirs), for the disk bound, walking each tree by folder descriptors at any depth (`_walked`);
* `remove_owned` deletes what a sandbox uid left in the shared temp dirs (and the world-writable dirs in them);
* `register_context` lists each context file a host writes in a per-user registry, so that the RAM-growth measure
  of another run of the same user (`_RamGrowth`) does not take it for its worker's files with no name.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlmx.sandbox import harden
from rlmx.sandbox.bytecode import user_cache_dir

PREFIX = "rlmx-"
OWNER = "owner"
"""The file in each run directory naming its host (pid and start time) and its sandbox uid, if any."""
ORPHAN_SECONDS = 3600
"""A run directory without an owner file is removed once it is this old: `create` writes the file right after
making the directory, and `remove` deletes it last, so only a host killed in between (or an older rlmx's cut-short
removal) leaves one; a younger one may be a start in progress."""
SHARED_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")
"""The usual world-writable places a worker under a separate uid can still write to outside its work dir (/run/lock,
= /var/lock, is 1777 on every Debian and Ubuntu host, on the root disk outside systemd: audit 82 V04);
`shared_temp_dirs` adds the host's other world-writable RAM-backed mounts."""
_RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


@functools.cache
def shared_temp_dirs() -> tuple[str, ...]:
    """Every folder the disk bound walks for a sandbox uid's files, and `remove_owned` empties of them: those of
    SHARED_TEMP_DIRS that exist, plus each tmpfs or ramfs mount of this host whose top folder anyone may write to
    (read from /proc/self/mountinfo, once per process: about 0.1 ms), each folder once (a link's target, not the
    link; none inside another listed one, which its walk reaches). Disk-backed world-writable folders elsewhere
    are not found: a walk of a large shared disk every tenth of a second would cost too much."""
    places = list(SHARED_TEMP_DIRS)
    with contextlib.suppress(OSError):
        places += ram_mounts(Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape"))
    found: dict[str, None] = {}
    for place in places:
        with contextlib.suppress(OSError):
            info = os.stat(place)
            if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                found.setdefault(os.path.realpath(place), None)
    return tuple(_outermost(list(found)))


def storage_root() -> str | None:
    """Where run directories go: /dev/shm (RAM, so context loads are fast) when writable, else the temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _start_time(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def create(uid: int | None = None) -> Path:
    """A fresh private run directory with its owner file (host pid, its start time, and the sandbox's own uid
    when it has one, so that a later sweep can also end that uid's processes and files)."""
    root = storage_root()
    with contextlib.suppress(OSError):
        sweep_stale(root or tempfile.gettempdir())
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    # Written whole under another name, then renamed: a host killed meanwhile leaves no empty owner file
    fields = f"{os.getpid()} {_start_time(os.getpid())}" + (f" {uid}" if uid is not None else "") + "\n"
    writing = path / f".{OWNER}.new"
    writing.write_text(fields)
    writing.chmod(0o600)
    os.replace(writing, path / OWNER)
    return path


def remove(run: Path) -> None:
    """Remove run directory `run`, its owner file last: a removal cut short (the host killed meanwhile) or one that
    failed in part (a worker still writing in it) leaves a directory `sweep_stale` judges and removes later, never
    one without an owner, which it would keep for good. Its registered context files are marked closing."""
    _close_registered(run)
    _remove_entries(run, keep=OWNER)
    with contextlib.suppress(OSError):
        if set(os.listdir(run)) <= {OWNER}:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(run / OWNER)
            os.rmdir(run)


def _owner(run: Path) -> tuple[bool, int | None] | None:
    """(whether the host that made the run dir still runs, the sandbox uid it used); None without an owner file."""
    try:
        fields = (run / OWNER).read_text().split()
        pid, started = int(fields[0]), fields[1]
        uid = int(fields[2]) if len(fields) > 2 else None
    except (OSError, ValueError, IndexError):
        return None
    return _start_time(pid) == started, uid


def sweep_stale(root: str) -> list[str]:
    """Remove the run directories under `root` whose host process is gone. Returns the removed paths.

    Only directories this uid owns are judged: by their owner file, or without one once ORPHAN_SECONDS old."""
    removed = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                continue
            owner = _owner(Path(entry.path))
            if owner is None and not _orphaned(entry):
                continue
            if owner is not None and owner[0]:
                continue
            uid = owner[1] if owner is not None else None
            if uid is not None and os.geteuid() == 0:  # the dead host's sandbox uid: nothing of it may stay
                harden.kill_uid(uid)
                remove_owned(uid)
            remove(Path(entry.path))
            removed.append(entry.path)
    return removed


def _orphaned(entry: os.DirEntry[str]) -> bool:
    """A run directory without a readable owner (none, empty or malformed: a host killed while it wrote one under
    an older rlmx) that nothing has changed for ORPHAN_SECONDS."""
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > ORPHAN_SECONDS
    except OSError:
        return False


ENTRY_BYTES = 4096
"""The least an entry (file, folder, link) counts against the disk limit, whatever its blocks: an empty file on a
RAM-backed folder (/dev/shm, a tmpfs /tmp) takes no block, yet it holds kernel memory and makes every scan longer
(150,000 of them cost the host 78% of a core while counted as nothing)."""


def ram_mounts(mountinfo: str) -> list[str]:
    """The mount points of the tmpfs and ramfs mounts in `mountinfo` (the text of /proc/<pid>/mountinfo), with its
    octal escapes (a space is written \\040) undone."""
    points = []
    for line in mountinfo.splitlines():
        ours, _, theirs = line.partition(" - ")
        fields = ours.split()
        if len(fields) > 4 and theirs.split()[:1] and theirs.split()[0] in _RAM_FILESYSTEMS:
            points.append(re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), fields[4]))
    return points


def _tree_bytes(
    path: str, uid: int | None = None, seen: set[tuple[int, int]] | None = None, walk: Walk | None = None
) -> int:
    """Bytes allocated under `path` (st_blocks, so sparse files count what they use; each entry ENTRY_BYTES at
    least); with `uid`, only the entries that uid owns, in the directories it may write to (`_writable_by_anyone`)
    as well as its own. A file with several names (hard links: `os.link`, `cp -l`) has its blocks counted once, at
    the first name met; each further name counts ENTRY_BYTES, the entry it is (audit 82 V03: three names of one
    100 MiB file were charged 300 MiB). `seen` holds the (st_dev, st_ino) of such files already counted, shared by
    the walks of one reading so that names in two walked folders count once too. `walk` records the folders that
    could not be measured or vanished meanwhile (`_walked`: by descriptors, at any depth)."""
    total = 0
    seen = set() if seen is None else seen
    walk = Walk() if walk is None else walk

    def descend(info: os.stat_result) -> bool:
        return uid is None or info.st_uid == uid or _writable_by_anyone(info)

    for _, _, info in _walked(path, descend, walk):
        if info is None or (uid is not None and info.st_uid != uid):
            continue
        if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
            inode = (info.st_dev, info.st_ino)
            if inode in seen:
                total += ENTRY_BYTES
                continue
            seen.add(inode)
        total += max(info.st_blocks * 512, ENTRY_BYTES)
    return total


@dataclass(slots=True)
class Walk:
    """What one reading's walks could not see. `unmeasured`: a folder of the tree that could not be opened or read
    for a reason other than its vanishing (no permission, no descriptor left): the first such, in words; the disk
    bound is then strict (`subprocess._watch_usage`). `vanished`: how many folders the walk was to enter were
    renamed away, removed or swapped for a link between their listing and their opening (a cell moving a folder
    about in a loop). A file gone between the listing and its stat is not counted: it is at most one file's size,
    and in /tmp other users' files come and go all the time."""

    unmeasured: str = ""
    vanished: int = 0

    def failed(self, name: str, error: OSError) -> None:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):  # gone, or a link now: moved meanwhile
            self.vanished += 1
        elif not self.unmeasured:
            self.unmeasured = f"{name[:80]!r}: {error.strerror or error}"


WALK_DESCRIPTORS = 64
"""The most folder descriptors one walk holds open: past this depth the outer ones are closed, and reopened through
".." (checked to be the same folder) on the way back up."""


@dataclass(slots=True)
class _Level:
    fd: int  # -1: closed for depth (WALK_DESCRIPTORS), reopened through ".." when its walk comes back to it
    key: tuple[int, int]
    name: str  # its name in the folder above
    folders: list[tuple[str, int, int]]  # (name, st_dev, st_ino) of the folders in it still to walk


def _walked(
    top: str | int, descend: Callable[[os.stat_result], bool], walk: Walk, after: bool = False
) -> Iterator[tuple[int, str, os.stat_result | None]]:
    """(the descriptor of the folder it is in, its name, its lstat) for each entry under folder `top` (a path, or
    a descriptor, left open), at any depth, parents first; with `after`, each walked folder once more, as (its
    parent's descriptor, its name, None), when all inside it has been, so that a caller may remove it. Every step
    is relative to the descriptor of the folder it is in, opened with O_NOFOLLOW and checked to be the folder that
    was listed: a path longer than PATH_MAX (folders nested by relative steps) is walked whole, and a link is never
    followed (audit 84 V08: walked by full paths, a tree 5,050 bytes deep was skipped as unreadable, and 288 MiB
    went uncounted). The folders `descend` accepts are entered; what cannot be seen is recorded in `walk`.
    Descriptors held: WALK_DESCRIPTORS at most."""
    try:
        fd = os.dup(top) if isinstance(top, int) else os.open(top, _DIRECTORY_FLAGS)
    except OSError as error:
        if error.errno != errno.ENOENT:
            walk.failed(str(top), error)
        return
    levels: list[_Level] = []
    name = ""
    try:
        while fd >= 0:
            opened = os.fstat(fd)
            level = _Level(fd, (opened.st_dev, opened.st_ino), name, [])
            levels.append(level)
            fd = -1
            if len(levels) > WALK_DESCRIPTORS:  # the outermost still open: reopened through ".." later
                outer = levels[-1 - WALK_DESCRIPTORS]
                os.close(outer.fd)
                outer.fd = -1
            try:
                with os.scandir(level.fd) as entries:
                    for entry in entries:
                        try:
                            info = entry.stat(follow_symlinks=False)
                        except OSError as error:  # an entry gone since the listing: a file removed or renamed
                            if error.errno != errno.ENOENT:  # (at most one file's size), or another user's in /tmp
                                walk.failed(entry.name, error)
                            continue
                        if stat.S_ISDIR(info.st_mode) and descend(info):
                            level.folders.append((entry.name, info.st_dev, info.st_ino))
                        yield level.fd, entry.name, info
            except OSError as error:
                walk.failed(level.name or str(top), error)
            while levels and fd < 0:
                level = levels[-1]
                if level.folders:
                    name, device, inode = level.folders.pop()
                    fd = _enter(level.fd, name, (device, inode), walk)
                    continue
                levels.pop()
                if levels and levels[-1].fd < 0 and not _reopen(levels[-1], level.fd, walk):
                    os.close(level.fd)
                    return  # the way back is lost (a folder above was moved): the rest goes unwalked
                os.close(level.fd)
                level.fd = -1
                if after and levels:
                    yield levels[-1].fd, level.name, None
    finally:
        if fd >= 0:
            os.close(fd)
        for level in levels:
            if level.fd >= 0:
                os.close(level.fd)


RELOOK_TRIES = 4
"""How many times a walk looks again, by its inode, for a listed folder that lost its name before it was opened."""


def _enter(parent: int, name: str, key: tuple[int, int], walk: Walk) -> int:
    """A descriptor of the folder (st_dev, st_ino) `key` listed as `name` in the folder open as `parent`, or -1 (and
    why recorded in `walk`). One renamed meanwhile within `parent` (a cell renaming a folder in a loop, so that a
    walk would miss it) is looked up again by its inode, RELOOK_TRIES times."""
    for _ in range(RELOOK_TRIES):
        try:
            fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
        except OSError as error:
            if error.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                walk.failed(name, error)
                return -1
        else:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) == key:
                return fd
            os.close(fd)
        try:  # its new name, if it is still in `parent`
            with os.scandir(parent) as entries:
                name = next((entry.name for entry in entries if entry.inode() == key[1]), "")
        except OSError as error:
            walk.failed(name, error)
            return -1
        if not name:
            break
    walk.vanished += 1
    return -1


def _reopen(level: _Level, inner: int, walk: Walk) -> bool:
    """Reopen `level`'s folder, closed for depth, as the parent ("..") of open folder `inner`; False (and the
    vanishing recorded) when that is no longer it (a folder between them was moved)."""
    try:
        fd = os.open("..", _DIRECTORY_FLAGS, dir_fd=inner)
    except OSError as error:
        walk.failed("..", error)
        return False
    info = os.fstat(fd)
    if (info.st_dev, info.st_ino) != level.key:
        os.close(fd)
        walk.vanished += 1
        return False
    level.fd = fd
    return True


def _writable_by_anyone(info: os.stat_result) -> bool:
    """A directory every user may create files in, as a sandbox uid may, though it does not own it: world-
    writable and sticky like /tmp itself (/tmp/.X11-unix, /tmp/.ICE-unix). The sticky bit keeps others from
    swapping it for a link while it is walked."""
    return bool(info.st_mode & stat.S_IWOTH and info.st_mode & stat.S_ISVTX)


def usage(
    folders: list[Path], uid: int | None, root: int = 0, mapped: MappedFiles | None = None, walk: Walk | None = None
) -> int:
    """What a worker has written: everything under `folders`, plus (for a sandbox uid) what it owns in the
    shared temp dirs, plus the files without a name that process `root` and its descendants hold open or map
    (`unlinked_bytes`; `mapped` keeps what the mappings' last reading found, between calls). `walk` records what
    the walks could not measure (`Walk`): the figure is then only the least the worker wrote."""
    seen: set[tuple[int, int]] = set()
    walk = Walk() if walk is None else walk
    total = sum(_tree_bytes(str(folder), None, seen, walk) for folder in folders)
    if uid is not None:
        total += sum(_tree_bytes(shared, uid, seen, walk) for shared in shared_temp_dirs())
    return total + (unlinked_bytes(root, mapped) if root else 0)


MAPS_REREAD_SECONDS = 1.0
"""The longest a process's memory map goes unread (`MappedFiles`), whatever else says it is unchanged."""

GROWTH_REREAD_SECONDS = 1.0
"""The longest the RAM-growth measure (`_RamGrowth.grown`) reuses its last reading while the filesystems' used space
is unchanged: growth without a change in used space needs a named file to lose its name (unlinked, then held),
which is seen within this long."""

ALLOWANCE_SECONDS = 10.0
"""How long after a worker's restart the RAM-growth baseline may rise by the host's own context files (`_RamGrowth`):
the copies a restart writes are mapped and unlinked as its worker loads them, in milliseconds for the text contexts
that stay mapped."""
_CAP_SYS_PTRACE = 19
_UNLIMITED = 1 << 63


def host_reads_workers() -> bool:
    """Whether this process may list /proc/<pid>/fd and read /proc/<pid>/maps of its workers. They are non-dumpable
    (the zygote makes itself so; a root host's uid switch does too), which takes CAP_SYS_PTRACE: a root host with
    its full capability set has it, a non-root host and Docker's default set do not."""
    caps = harden.effective_capabilities()
    return caps >= 0 and bool(caps >> _CAP_SYS_PTRACE & 1)


def _host_stats_map_files() -> bool:
    """Whether /proc/<pid>/map_files gives a mapped file's blocks: that takes CAP_SYS_ADMIN or
    CAP_CHECKPOINT_RESTORE in the initial user namespace, even for this process's own, so its first mapping tells."""
    try:
        with os.scandir("/proc/self/map_files") as entries:
            first = next(iter(entries)).name
        os.stat(f"/proc/self/map_files/{first}")
    except (OSError, StopIteration):
        return False
    return True


def unnamed_route() -> str:
    """How this host counts the files with no name a worker's processes hold, in words, for the protections report
    (`rlmx doctor`): exactly, in part by a bound, or only on RAM-backed filesystems."""
    growth = (
        "on RAM-backed filesystems (tmpfs: /dev/shm, and /tmp where it is one) by how much their used space grew "
        "since the worker started, less the named files and the host's own"
    )
    if not host_reads_workers():
        return (
            f"{growth}; on disk-backed filesystems not counted (the host lacks CAP_SYS_PTRACE, so it cannot read "
            "its non-dumpable worker's /proc/<pid>/fd and maps)"
        )
    if not _host_stats_map_files():
        return (
            "held open: by their blocks; mapped with no descriptor left (no CAP_SYS_ADMIN, so no blocks from "
            f"/proc/<pid>/map_files): {growth}, elsewhere each at the worker's file size limit"
        )
    return "by their blocks (/proc/<pid>/fd, /proc/<pid>/maps and map_files)"


def _mount_types() -> dict[int, str]:
    """Each mounted filesystem's device number -> its type, from /proc/self/mountinfo."""
    types: dict[int, str] = {}
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return types
    for line in text.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        major, _, minor = parts[2].partition(":") if len(parts) > 2 else ("", "", "")
        if major.isdigit() and minor.isdigit() and rest.split():
            types[os.makedev(int(major), int(minor))] = rest.split()[0]
    return types


def _outermost(paths: list[str]) -> list[str]:
    """`paths` without those inside another of them, so that no folder is walked twice."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == top or path.startswith(top.rstrip("/") + "/") for top in kept):
            kept.append(path)
    return kept


def _used(devices: dict[int, str]) -> dict[int, int]:
    """The bytes in use on each device (statvfs of the path it maps to), leaving out one that could not be read."""
    used = {}
    for device, path in devices.items():
        with contextlib.suppress(OSError):
            info = os.statvfs(path)
            used[device] = (info.f_blocks - info.f_bfree) * info.f_frsize
    return used


def _named_files(roots: list[str], devices: dict[int, str]) -> dict[tuple[int, int], int]:
    """The blocks (st_blocks, the measure tmpfs's used space keeps) of every file with a name under `roots` that
    is on one of `devices` and this process may see, by (device, inode), so that hard links count once. Walked by
    descriptors (`_walked`), at any depth; what it cannot see stays growth, charged to the worker."""
    found: dict[tuple[int, int], int] = {}
    walk = Walk()
    for root in roots:
        for _, _, info in _walked(root, lambda _: True, walk):
            if info is not None and not stat.S_ISDIR(info.st_mode) and info.st_dev in devices:
                found[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return found


def _own_unlinked() -> dict[tuple[int, int], int]:
    """The regular files with no name this process holds open (a sandbox's contexts, unlinked once loaded):
    (device, inode) -> blocks. Not those a worker's process sent it over a memory report socket
    (`harden.received_files`): they are the worker's (audit 88x2 v01, 300 MB on /dev/shm hidden so)."""
    held: dict[tuple[int, int], int] = {}
    # read before the scan as well as after it: the closer thread may close a received descriptor (and drop its
    # record) between the two, while the scan still lists it
    before = harden.received_files()
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return held
    found = []
    for fd in descriptors:
        try:
            info = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 and fd.isdigit():
            found.append((int(fd), (info.st_dev, info.st_ino), info.st_blocks * 512))
    after = harden.received_files()  # after the scan: a descriptor received meanwhile is listed by now
    for number, key, nbytes in found:
        if before.get(number) != key and after.get(number) != key:
            held[key] = nbytes
    return held


REGISTRY = "contexts"
"""The folder (in `$XDG_RUNTIME_DIR/rlmx`, else the user cache dir) where each host lists the context files it
writes: one entry file per run dir, `<host pid>-<its start time>-<run dir name>`, a line per file written
(`device inode bytes name`; a name's first line is the file the host holds a descriptor to, a later one the copy
a restarted worker loaded). Renamed with CLOSING appended when the run dir is removed."""
CLOSING = ".closing"
CLOSING_SECONDS = 5.0
"""How long an entry marked closing is still credited: the host closes the files' descriptors right after the mark
(milliseconds), and its files' bytes are gone by then."""


def _registry() -> Path | None:
    """This user's context registry folder (mode 0700, made if missing); None where it cannot be made or is not
    this user's alone."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    base = user_cache_dir()  # None: no home known, and no runtime folder below: no registry
    if os.path.isabs(runtime):
        with contextlib.suppress(OSError):
            info = os.stat(runtime)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
                base = Path(runtime) / "rlmx"
    if base is None:
        return None
    folder = base / REGISTRY
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return folder


def _entry_name(run: Path) -> str:
    return f"{os.getpid()}-{_start_time(os.getpid())}-{run.name}"


def register_context(path: Path) -> None:
    """List context file `path` (written whole, in a run dir's `ctx` folder, not yet unlinked) in this user's
    registry, so that other runs' RAM-growth measures credit its bytes once it has no name. Never raises: a file
    left unlisted costs at worst a false disk restart of another run."""
    folder = _registry()
    if folder is None:
        return
    with contextlib.suppress(OSError):
        info = os.stat(path)
        line = f"{info.st_dev} {info.st_ino} {info.st_blocks * 512} {path.name}\n"
        fd = os.open(
            folder / _entry_name(path.parent.parent), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        try:
            os.write(fd, line.encode("utf-8", "surrogateescape"))
        finally:
            os.close(fd)


def _close_registered(run: Path) -> None:
    """Mark run dir `run`'s registry entry closing (its files are about to be freed)."""
    folder = _registry()
    if folder is None:
        return
    entry = folder / _entry_name(run)
    closing = folder / (entry.name + CLOSING)
    with contextlib.suppress(OSError):
        os.replace(entry, closing)
        os.utime(closing)


def _registered(devices: dict[int, str]) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """The context files other live hosts of this user registered on `devices`, (device, inode) -> bytes, as
    (sure, unsure). Sure: those a host holds a descriptor to, while its run dir is open. Unsure: the copies
    restarted workers loaded (gone with their worker, which the registry does not learn) and a closing run's
    files. Entries of hosts that are gone, or closing for over CLOSING_SECONDS, are deleted."""
    sure: dict[tuple[int, int], int] = {}
    unsure: dict[tuple[int, int], int] = {}
    folder = _registry()
    if folder is None:
        return sure, unsure
    try:
        with os.scandir(folder) as entries:
            found = [(entry.name, entry.path) for entry in entries]
    except OSError:
        return sure, unsure
    for name, path in found:
        pid, _, rest = name.partition("-")
        started, _, _ = rest.partition("-")
        if not pid.isdigit() or int(pid) == os.getpid():
            continue  # this process's own files: `_own_unlinked` and the restart allowance
        closing = name.endswith(CLOSING)
        try:
            stale = not started or _start_time(int(pid)) != started
            if closing and not stale:
                stale = time.time() - os.stat(path).st_mtime > CLOSING_SECONDS
            if stale:
                os.unlink(path)
                continue
            text = _entry_text(path)
        except OSError:
            continue
        if text is None:
            continue
        files: dict[str, list[tuple[tuple[int, int], int]]] = {}
        for line in text.splitlines():
            fields = line.split(" ", 3)
            if len(fields) == 4 and all(field.isdigit() for field in fields[:3]):
                key = (int(fields[0]), int(fields[1]))
                if key[0] in devices:
                    files.setdefault(fields[3], []).append((key, int(fields[2])))
        for written in files.values():
            held, *copies = written
            (unsure if closing else sure)[held[0]] = held[1]
            if copies:  # the latest copy alone: each restart's worker loaded one, and the ones before it are gone
                unsure[copies[-1][0]] = copies[-1][1]
    return sure, unsure


REGISTRY_ENTRY_BYTES = 1 << 20
"""The most of one registry entry read (a line a context file written: some 15,000 files or restarts)."""


def _entry_text(path: str) -> str | None:
    """A registry entry's text, or None for anything but a regular file of this user's (a cell of a non-root host
    runs as that user and may plant a FIFO, which a plain read would wait on for ever, stopping the watcher's
    thread, or a link to /dev/zero); at most REGISTRY_ENTRY_BYTES of it."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        return os.read(fd, REGISTRY_ENTRY_BYTES).decode("utf-8", "surrogateescape")
    finally:
        os.close(fd)


class _RamGrowth:
    """The files with no name on the RAM-backed filesystems (tmpfs) the worker may write to, measured without
    reading its /proc: each one's used space (statvfs) less all it can account for (every named file a walk of the
    watched places finds there, and the files with no name this process holds itself: its contexts), as growth
    over a baseline. For a host that cannot read the worker's descriptors and maps (no CAP_SYS_PTRACE: a non-root
    host, Docker's default capabilities), or the size of a file it maps (no CAP_SYS_ADMIN). A reading walks the
    watched tmpfs folders (~1-3 ms); `grown` reuses the last while used space is unchanged, for up to
    GROWTH_REREAD_SECONDS.

    Why this is sound enough:
    * It charges at least what the worker holds there (less one restart's allowance, below): whatever the worker
      holds with no name is used space no name and no host descriptor accounts for. A scan reads statvfs before
      and after its walk: the lesser reading is charged (a file deleted or written during the walk is not taken for
      growth) and the greater one may lower the baseline. Only a restart raises the baseline, so space that other
      processes free before the worker's files appear earns it no credit; space they held at the baseline and free
      while the worker holds files (another program's file with no name there shrinking: a Ray object store's
      plasma file when its cluster stops) offsets the worker's files by as much, until a restart.
    * Only tmpfs is measured: its pages are RAM, which such files exhaust until the host's OOM killer acts
      (audit 79), and the run dir's /dev/shm is seldom busy. A disk-backed /tmp is shared with every process of the
      machine, whose writes would be charged to the worker at every scan; there, files with no name go uncounted,
      and `unnamed_route` says so.
    * Other rlmx runs of this user write their contexts there too and unlink them once loaded (audit 79b: another
      run's 400 MB context restarted this worker): every host lists its context files in a per-user registry
      (`register_context`), and those of other live hosts are credited as well. A file its host holds a descriptor
      to is sure; a restarted worker's copy, or a closing run's file, may be gone already: it is credited to the
      growth charged, never to the baseline's lowering, so a credit that outlived its file cannot lower the
      baseline and turn into growth when it ends. The price: while such a copy is listed after its worker ended
      (until its run restarts or closes), a cell may hold that much uncharged.
    * What it cannot tell apart is charged to the worker: another user's files with no name, or in folders this host
      may not read, made on the same tmpfs while the run lasts. A false restart is the price, against RAM filled.
    * A new worker (a restart) gets its contexts' files written again, unlinked once loaded, and maps the text
      ones: for ALLOWANCE_SECONDS the baseline may rise by as much as the host's own context files hold, so a
      restart is not charged for its copies; a cell could use that much once per worker start, no more."""

    def __init__(self, places: Sequence[str]) -> None:
        types = _mount_types()
        self.devices: dict[int, str] = {}
        roots = []
        for place in (*places, storage_root() or tempfile.gettempdir(), *shared_temp_dirs()):
            try:
                device = os.stat(place).st_dev
                size = os.statvfs(place).f_blocks
            except OSError:
                continue
            if types.get(device) == "tmpfs" and size:  # a tmpfs without a size keeps no count of its use
                self.devices.setdefault(device, place)
                roots.append(os.path.normpath(place))
        self.roots = _outermost(roots)
        self.base: dict[int, int] | None = None
        self.allowance: dict[int, int] = {}
        self.allowed_until = 0.0
        self._last: tuple[dict[int, int], dict[int, int], float] | None = None
        """The last reading's (used space, growth, when), which `grown` returns again while nothing has changed."""

    def start(self) -> None:
        """Take the baseline (before the worker writes anything, where the host is known to need it)."""
        if self.base is None and self.devices:
            self.base = dict(self._reading()[1])

    def new_worker(self) -> None:
        """A worker started again: for ALLOWANCE_SECONDS, the baseline may rise by what this process's own files
        with no name hold (its contexts, of which the new worker maps copies written anew; see the class)."""
        self.allowance = {}
        self.allowed_until = time.monotonic() + ALLOWANCE_SECONDS

    def grown(self) -> dict[int, int]:
        """Device -> the bytes on it that neither a name nor this process's descriptors account for, over the
        baseline."""
        if not self.devices:
            return {}
        if self.base is None:  # the host was not expected to need it: from now on
            self.start()
            return dict.fromkeys(self.devices, 0)
        now = time.monotonic()
        allowing = now < self.allowed_until
        used = _used(self.devices)  # about a microsecond a device, against ~1-3 ms for a reading (its walk)
        last = self._last
        if last is not None and last[0] == used and now - last[2] < GROWTH_REREAD_SECONDS and not allowing:
            return dict(last[1])
        low, high, own, unsure = self._reading()
        grown = {}
        for device in high:
            base = self.base.get(device, high[device])
            if allowing:  # each byte of the contexts' copies once, however many readings the restart spans
                left = self.allowance.setdefault(device, own.get(device, 0))
                rise = min(left, max(high[device] - unsure[device] - base, 0))
                self.allowance[device], base = left - rise, base + rise
            base = self.base[device] = min(base, high[device])
            grown[device] = max(low[device] - base, 0)
        self._last = (used, dict(grown), now)
        return grown

    def _reading(self) -> tuple[dict[int, int], dict[int, int], dict[int, int], dict[int, int]]:
        """On each device: the least used space less all that is accounted for (the growth charged), the most less
        what is surely accounted for (the baseline's measure), the bytes of this process's own files with no name,
        and those of other runs' registered files that may be gone (credited to the least alone)."""
        before = _used(self.devices)
        named = _named_files(self.roots, self.devices)
        held = {key: nbytes for key, nbytes in _own_unlinked().items() if key[0] in self.devices}
        # After the walk: a context file is registered before it is unlinked, so one the walk found no name for
        # is listed by now
        sure, maybe = _registered(self.devices)
        after = _used(self.devices)
        accounted = dict.fromkeys(self.devices, 0)
        own = dict.fromkeys(self.devices, 0)
        unsure = dict.fromkeys(self.devices, 0)
        for (device, _), nbytes in named.items():
            accounted[device] += nbytes
        for key, nbytes in held.items():
            own[key[0]] += nbytes
            if key not in named:
                accounted[key[0]] += nbytes
        for key, nbytes in sure.items():
            if key not in named and key not in held:
                accounted[key[0]] += nbytes
        for key, nbytes in maybe.items():
            if key not in named and key not in held and key not in sure:
                unsure[key[0]] += nbytes
        read = [device for device in self.devices if device in before and device in after]
        low = {device: min(before[device], after[device]) - accounted[device] - unsure[device] for device in read}
        high = {device: max(before[device], after[device]) - accounted[device] for device in read}
        return low, high, own, unsure


class MappedFiles:
    """The files without a name that processes map, read from /proc/<pid>/maps ("(deleted)" entries): a file
    mapped with MAP_SHARED, then closed and unlinked, holds its blocks (RAM, on /dev/shm) with no descriptor and no
    name, and pages never touched through the mapping are not resident either, so neither the disk walk, the
    descriptor scan nor the memory watcher saw it (audit 78: 180 MiB under a 64 MiB bound).

    Also what a worker's files with no name come to where the host cannot read its /proc (`_RamGrowth`, audit 79):
    one made at the watcher's start keeps the baseline of the RAM-backed filesystems, taken at once where the
    host's capabilities say it will be needed.

    Cost: a maps read is ~80 us for a Python worker (200 mappings), against ~18 us for its statm, and the watcher
    polls ten times a second. So a process's maps are read again only when its address space's size (statm) has
    changed, or a file it mapped by a name in a watched folder (`places`) no longer has that name (a stat each,
    usually none), or MAPS_REREAD_SECONDS have passed (a mapping replaced in place with MAP_FIXED keeps the size);
    otherwise the last reading's figures stand. A worker without children costs one statm read a poll."""

    def __init__(self, places: Sequence[str] = (), hosts: Sequence[str] = ()) -> None:
        """`places`: the folders the disk bound walks. `hosts`: folders only the host can write to, whose files
        are the host's own when mapped and unlinked (a root host's run contexts, which strmap.py maps and the host
        unlinks once loaded)."""
        self.places = tuple(place.rstrip("/") + "/" for place in places)
        self.hosts = tuple(place.rstrip("/") + "/" for place in hosts)
        self._known: dict[int, _MapReading] = {}
        self._map_files = True
        """/proc/<pid>/map_files (the host's CAP_SYS_ADMIN, a root host) gives each file's real blocks."""
        self._file_bound = 0
        """The largest file size limit (hard) seen on the worker's processes: what a file of unknown size holds."""
        self._root = 0
        self.ram = _RamGrowth(places)
        if not (host_reads_workers() and _host_stats_map_files()):
            self.ram.start()

    def total(self, pids: Sequence[int], found: dict[tuple[int, int], int], blind: bool) -> int:
        """What the files with no name of processes `pids` (the worker first) come to: `found`, those counted
        through a descriptor ((device, inode) -> blocks), plus those they map with no descriptor; `blind`: some
        process's descriptors could not be read. On a RAM-backed filesystem where something could not be read or
        sized, the greater of that and its growth (`_RamGrowth`); elsewhere a mapped file of unknown size counts
        at the file size limit when its name was in a watched folder. A host that reads and sizes everything keeps
        the exact count: growth would also charge what other programs leave there (an idle cell was restarted for
        another program's 80 MB unlinked file on /dev/shm, audit 83b), so a file held only in a socket queue
        (SCM_RIGHTS) is not counted there (README, Disk)."""
        if pids and pids[0] != self._root:
            if self._root:
                self.ram.new_worker()
            self._root = pids[0]
        counted = dict(found)
        unknown: dict[tuple[int, int], tuple[int, str]] = {}
        blind = self._scan(pids, counted, unknown) or blind
        ram = self.ram.devices
        engaged = set(ram) if blind else {key[0] for key in unknown if key[0] in ram}
        held: dict[tuple[int, int], int] | None = None
        for key, (reach, path) in unknown.items():
            if key in counted:
                continue
            nbytes = reach
            if key[0] not in engaged and path.startswith(self.places):
                held = _own_unlinked() if held is None else held
                if key not in held:  # a file this process holds is its own (a context), not the worker's
                    nbytes = max(reach, self._bound(pids, path))
            counted[key] = nbytes
        total = sum(nbytes for key, nbytes in counted.items() if key[0] not in engaged)
        if engaged:
            grown = self.ram.grown()
            for device in engaged:
                seen = sum(nbytes for key, nbytes in counted.items() if key[0] == device)
                total += max(seen, grown.get(device, 0))
        return total

    def _scan(
        self, pids: Sequence[int], counted: dict[tuple[int, int], int], unknown: dict[tuple[int, int], tuple[int, str]]
    ) -> bool:
        """Add the mapped unlinked files of `pids` not yet in `counted` to it (known blocks) or to `unknown`
        ((the furthest byte their mappings reach, the path they had)). Whether some process's maps were unreadable."""
        now = time.monotonic()
        known: dict[int, _MapReading] = {}
        blind = False
        for pid in pids:
            size = _address_space(pid)
            if size is None:
                continue  # ended meanwhile
            last = self._known.get(pid)
            if last is None or last.size != size or now - last.read_at >= MAPS_REREAD_SECONDS or last.renamed():
                try:
                    last = self._read(pid, size, now)
                except PermissionError:  # not ended: the host may not look (no CAP_SYS_PTRACE)
                    blind = True
                    continue
                if last is None:
                    continue
            known[pid] = last
            for key, nbytes in last.files.items():
                counted.setdefault(key, nbytes)
            for key, (reach, path) in last.unknown.items():
                if key not in counted:
                    old = unknown.get(key, (0, path))
                    unknown[key] = (max(old[0], reach), path)
        self._known = known
        return blind

    def _bound(self, pids: Sequence[int], path: str) -> int:
        """A sound bound on the blocks of a mapped file of unknown size whose name was in a watched folder: the
        largest hard file size limit seen on the worker's processes (none may raise it; one may lower its own
        after writing, hence the largest ever seen), and at most its filesystem's size."""
        for pid in pids:
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
                    if line.startswith("Max file size"):
                        hard = line.split()[4]
                        limit = _UNLIMITED if hard == "unlimited" else int(hard)
                        self._file_bound = max(self._file_bound, limit)
        place = next(place for place in self.places if path.startswith(place))
        try:
            info = os.statvfs(place)
        except OSError:
            return self._file_bound if self._file_bound < _UNLIMITED else 0
        return min(self._file_bound or _UNLIMITED, info.f_blocks * info.f_frsize)

    def _read(self, pid: int, size: int, now: float) -> _MapReading | None:
        """`pid`'s memory map; None if it ended meanwhile. PermissionError where the host may not read it."""
        try:
            with open(f"/proc/{pid}/maps", "rb") as handle:
                text = handle.read().decode("utf-8", "surrogateescape")
        except PermissionError:
            raise
        except OSError:
            return None
        files: dict[tuple[int, int], int] = {}
        unknown: dict[tuple[int, int], tuple[int, str]] = {}
        named: list[tuple[str, int]] = []
        for line in text.splitlines():
            fields = line.split(None, 5)
            if len(fields) < 6 or fields[4] == "0":
                continue  # anonymous memory: the memory watcher's
            span, offset, device, inode, path = fields[0], fields[2], fields[3], int(fields[4]), fields[5]
            major, _, minor = device.partition(":")
            key = (os.makedev(int(major, 16), int(minor, 16)), inode)
            if not path.endswith(" (deleted)"):
                if path.startswith(self.places):
                    named.append((path, inode))
                continue
            if path.startswith("/dev/zero") or (self.hosts and path.startswith(self.hosts)):
                continue  # shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, its pages are Pss), or the host's
            nbytes = self._blocks(pid, span)
            if nbytes is None:  # its size is unknown: what the mapping reaches is only the least it holds
                start, _, end = span.partition("-")
                reach = int(offset, 16) + int(end, 16) - int(start, 16)
                unknown[key] = (max(unknown.get(key, (0, path))[0], reach), path)
                continue
            files[key] = max(files.get(key, 0), nbytes)
        return _MapReading(size, now, files, named, unknown)

    def _blocks(self, pid: int, span: str) -> int | None:
        if self._map_files:
            try:
                info = os.stat(f"/proc/{pid}/map_files/{span}")
            except PermissionError:
                self._map_files = False  # no CAP_SYS_ADMIN: sizes unknown from now on
            except OSError:
                return 0  # unmapped meanwhile
            else:
                return info.st_blocks * 512 if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 else 0
        return None


@dataclass(slots=True)
class _MapReading:
    """One process's memory map, as last read: its address space's size then, the unlinked files it mapped
    ((device, inode) -> bytes), the files it mapped by a name in a watched folder (path, inode), and the unlinked
    files whose size the host could not learn ((device, inode) -> (the furthest byte mapped, the path they had))."""

    size: int
    read_at: float
    files: dict[tuple[int, int], int]
    named: list[tuple[str, int]]
    unknown: dict[tuple[int, int], tuple[int, str]]

    def renamed(self) -> bool:
        """Whether a file mapped by name has lost that name since (unlinked, or replaced)."""
        for path, inode in self.named:
            try:
                if os.stat(path).st_ino != inode:
                    return True
            except OSError:
                return True
        return False


def _address_space(pid: int) -> int | None:
    """The size of `pid`'s address space in pages (statm's first field); None for one that has ended."""
    try:
        fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fields = os.read(fd, 256).split()
    except OSError:
        return None
    finally:
        os.close(fd)
    return int(fields[0]) if fields and fields[0].isdigit() else None


def unlinked_bytes(root: int, mapped: MappedFiles | None = None) -> int:
    """Bytes of the regular files no directory names that process `root` and its descendants hold open: deleted
    while open, or made with O_TMPFILE; and, with `mapped`, those they map but hold no descriptor to. A folder's
    walk cannot see them, and a run could keep any number of them under the per-file limit (120 MiB under a 64 MiB
    bound). A process whose descriptors the host may not list (no CAP_SYS_PTRACE) has not ended: with `mapped`,
    its files count through the RAM-backed filesystems' growth (`MappedFiles.total`)."""
    found: dict[tuple[int, int], int] = {}
    blind = False
    pids = (root, *harden.descendants(root))
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except PermissionError:
            blind = True
            continue
        except OSError:  # ended meanwhile
            continue
        for fd in descriptors:
            try:
                info = os.stat(f"/proc/{pid}/fd/{fd}")
            except PermissionError:
                blind = True
                continue
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 0:
                found[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    if mapped is None:
        return sum(found.values())
    return mapped.total(pids, found, blind)


def mount_usage(mounts: Sequence[str]) -> int:
    """Bytes charged against the disk bound for what is on whole tmpfs mounts (`mounts`: their paths as this process
    reaches them, e.g. through /proc/<pid>/root of a process in bubblewrap's mount namespace), from the kernel's own
    counts (statvfs, microseconds each, whatever the number of files): the blocks in use, plus ENTRY_BYTES for each
    inode in use (f_files - f_ffree: files, folders and links, named or held open with no name). A tmpfs's `size=`
    bounds only its blocks; its inodes are bounded by nr_inodes, which bubblewrap cannot set (the kernel default,
    half the RAM's pages), so 600,000 empty files pinned ~620 MB of kernel slab in a 32 MiB tmpfs (audit 85 V10).
    Raises OSError when a mount cannot be read (its namespace gone)."""
    total = 0
    for mount in mounts:
        info = os.statvfs(mount)
        total += (info.f_blocks - info.f_bfree) * info.f_frsize + (info.f_files - info.f_ffree) * ENTRY_BYTES
    return total


def empty(folders: list[Path], keep: Collection[str] = ()) -> None:
    """Delete what is inside `folders`, keeping the folders themselves (and, in each, the entries named in `keep`,
    emptied in turn)."""
    for folder in folders:
        _remove_entries(folder, keep)
        for name in keep:
            _remove_entries(folder / name)


def _remove_entries(folder: Path, keep: str | Collection[str] = ()) -> None:
    """Delete each entry of `folder` but those named in `keep` (a link as a link, never what it points to), a folder
    with all inside it at any depth (`_remove_tree`)."""
    kept = {keep} if isinstance(keep, str) else set(keep)
    with contextlib.suppress(OSError):
        _unlock(None, folder, os.lstat(folder))  # a cell's os.chmod('.', 0) on the work folder itself
        fd = os.open(folder, _DIRECTORY_FLAGS)
        try:
            with os.scandir(fd) as scan:
                names = [entry.name for entry in scan if entry.name not in kept]
            for name in names:
                with contextlib.suppress(OSError):
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISDIR(info.st_mode):
                        _remove_tree(fd, name, info)
                    else:
                        os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)


def _remove_tree(parent: int, name: str, info: os.stat_result) -> None:
    """Delete folder `name` of the folder open as descriptor `parent` (lstat'd as `info`) with all inside it, at
    any depth, never following a link: by descriptors (`_walked`), where shutil.rmtree recurses in Python (a tree
    3,000 folders deep raised RecursionError, which `ignore_errors` does not catch, and stayed) and holds a
    descriptor a level. A folder this process owns whose owner may not read, search or write it (a cell's
    `os.chmod('locked', 0)`) gets its owner's rwx back before it is entered (`_unlock`), as `rm -rf` does for its
    owner: it was left, unreadable, and each restarted worker was killed again for it (audit 84b V06). Errors are
    passed over: what stays is left to the next removal."""
    _unlock(parent, name, info)
    try:
        fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)
    except OSError:
        with contextlib.suppress(OSError):  # an empty folder needs no reading to go
            os.rmdir(name, dir_fd=parent)
        return
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            return  # swapped meanwhile: not the folder that was judged
        for folder, entry, found in _walked(fd, lambda _: True, Walk(), after=True):
            with contextlib.suppress(OSError):
                if found is None:
                    os.rmdir(entry, dir_fd=folder)
                elif stat.S_ISDIR(found.st_mode):
                    _unlock(folder, entry, found)  # before the walk enters it (it lists a folder whole first)
                else:
                    os.unlink(entry, dir_fd=folder)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=parent)


_OWNER_ALL = stat.S_IRWXU


def _unlock(parent: int | None, name: str | Path, info: os.stat_result) -> None:
    """Give folder `name` of the folder open as `parent` (None: a path; lstat'd as `info`) its owner's read, write
    and search permission back, when this process owns it and lacks one of them; never through a link. The folder
    is opened O_PATH without following a link (no permission on it is needed for that), checked to be the folder
    that was lstat'd, and changed through its descriptor's /proc/self/fd name, which names that inode and no path
    (fchmod refuses an O_PATH descriptor). Root needs none of this (it reads any folder); errors are passed over."""
    if info.st_uid != os.geteuid() or info.st_mode & _OWNER_ALL == _OWNER_ALL or not stat.S_ISDIR(info.st_mode):
        return
    with contextlib.suppress(OSError):
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=parent)
        try:
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino) and now.st_uid == os.geteuid():
                os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(now.st_mode) | _OWNER_ALL)
        finally:
            os.close(fd)


def remove_owned(uid: int) -> None:
    """Delete what a sandbox uid created in the shared temp dirs, and in the directories there any user may write
    to (`_writable_by_anyone`: /tmp/.X11-unix), at any depth.

    Every step is relative to a descriptor of the folder it is in, opened with O_NOFOLLOW: a root host must never
    follow a link. A folder made world-writable by another live run's cell (another uid) could be swapped for a
    link to /etc between the scan and a removal by path, which would then delete a same-named file there."""
    for shared in shared_temp_dirs():
        with contextlib.suppress(OSError):
            fd = os.open(shared, _DIRECTORY_FLAGS)
            try:
                _remove_owned_in(fd, uid)
            finally:
                os.close(fd)


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_owned_in(folder: int, uid: int) -> None:
    """`remove_owned` in the folder open as descriptor `folder`: its entries `uid` owns go (a link as a link, a
    folder with all inside it, never leaving it), and the sticky world-writable folders others own are searched."""
    try:
        with os.scandir(folder) as scan:
            names = [entry.name for entry in scan]
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if info.st_uid == uid:
                if stat.S_ISDIR(info.st_mode):  # opened without following a link, checked to be what was stat'd
                    _remove_tree(folder, name, info)
                else:
                    os.unlink(name, dir_fd=folder)  # a link is unlinked itself
            elif stat.S_ISDIR(info.st_mode) and _writable_by_anyone(info):
                inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=folder)
                try:
                    opened = os.fstat(inner)
                    if (opened.st_dev, opened.st_ino) == (info.st_dev, info.st_ino) and _writable_by_anyone(opened):
                        _remove_owned_in(inner, uid)
                finally:
                    os.close(inner)
