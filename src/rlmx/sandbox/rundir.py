"""A run's directory on the host, and what a sandbox leaves behind there.

Every sandbox writes its contexts and its worker's work dir under one private run directory (`rlmx-*`, mode
0700, in /dev/shm when it is writable, else the temp dir). This module keeps that directory honest:

* `create` writes an `owner` file (host pid and its start time), so `sweep_stale` can tell a run directory whose
  host is gone (killed with SIGKILL, say) from a live one, and removes it at the next start;
* `usage` measures what a worker wrote (its work and tmp dirs, and for a sandbox uid the files it owns in the
  shared temp dirs), for the disk bound;
* `remove_owned` deletes what a sandbox uid left in the shared temp dirs (and the world-writable dirs in them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlmx.sandbox import harden

PREFIX = "rlmx-"
OWNER = "owner"
"""The file in each run directory naming its host (pid and start time) and its sandbox uid, if any."""
ORPHAN_SECONDS = 3600
"""A run directory without an owner file is removed once it is this old: `create` writes the file right after
making the directory, and `remove` deletes it last, so only a host killed in between (or an older rlmx's cut-short
removal) leaves one; a younger one may be a start in progress."""
SHARED_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
"""World-writable places a worker under a separate uid can still write to outside its work dir."""


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
    one without an owner, which it would keep for good."""
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


def _tree_bytes(path: str, uid: int | None = None) -> int:
    """Bytes allocated under `path` (st_blocks, so sparse files count what they use; each entry ENTRY_BYTES at
    least); with `uid`, only the entries that uid owns, in the directories it may write to (`_writable_by_anyone`)
    as well as its own."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    owned = uid is None or info.st_uid == uid
                    if stat.S_ISDIR(info.st_mode) and (owned or _writable_by_anyone(info)):
                        stack.append(entry.path)
                    if owned:
                        total += max(info.st_blocks * 512, ENTRY_BYTES)
        except OSError:
            continue
    return total


def _writable_by_anyone(info: os.stat_result) -> bool:
    """A directory every user may create files in, as a sandbox uid may, though it does not own it: world-
    writable and sticky like /tmp itself (/tmp/.X11-unix, /tmp/.ICE-unix). The sticky bit keeps others from
    swapping it for a link while it is walked."""
    return bool(info.st_mode & stat.S_IWOTH and info.st_mode & stat.S_ISVTX)


def usage(folders: list[Path], uid: int | None, root: int = 0, mapped: MappedFiles | None = None) -> int:
    """What a worker has written: everything under `folders`, plus (for a sandbox uid) what it owns in the
    shared temp dirs, plus the files without a name that process `root` and its descendants hold open or map
    (`unlinked_bytes`; `mapped` keeps what the mappings' last reading found, between calls)."""
    total = sum(_tree_bytes(str(folder)) for folder in folders)
    if uid is not None:
        total += sum(_tree_bytes(shared, uid) for shared in SHARED_TEMP_DIRS)
    return total + (unlinked_bytes(root, mapped) if root else 0)


MAPS_REREAD_SECONDS = 1.0
"""The longest a process's memory map goes unread (`MappedFiles`), whatever else says it is unchanged."""


class MappedFiles:
    """The files without a name that processes map, read from /proc/<pid>/maps ("(deleted)" entries): a file
    mapped with MAP_SHARED, then closed and unlinked, holds its blocks (RAM, on /dev/shm) with no descriptor and no
    name, and pages never touched through the mapping are not resident either, so neither the disk walk, the
    descriptor scan nor the memory watcher saw it (audit 78: 180 MiB under a 64 MiB bound).

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

    def held(self, pids: Sequence[int], seen: set[tuple[int, int]]) -> int:
        """Bytes of the unlinked regular files the processes `pids` map, each (device, inode) once and none already
        in `seen` (counted through a descriptor), which this adds to. A file's blocks (st_blocks) where the host may
        stat /proc/<pid>/map_files; elsewhere the furthest byte its mappings reach (sparse parts count too)."""
        now = time.monotonic()
        known: dict[int, _MapReading] = {}
        total = 0
        for pid in pids:
            size = _address_space(pid)
            if size is None:
                continue  # ended meanwhile
            last = self._known.get(pid)
            if last is None or last.size != size or now - last.read_at >= MAPS_REREAD_SECONDS or last.renamed():
                last = self._read(pid, size, now)
                if last is None:
                    continue
            known[pid] = last
            for key, nbytes in last.files.items():
                if key not in seen:
                    seen.add(key)
                    total += nbytes
        self._known = known
        return total

    def _read(self, pid: int, size: int, now: float) -> _MapReading | None:
        try:
            with open(f"/proc/{pid}/maps", "rb") as handle:
                text = handle.read().decode("utf-8", "surrogateescape")
        except OSError:
            return None
        files: dict[tuple[int, int], int] = {}
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
            start, _, end = span.partition("-")
            nbytes = self._blocks(pid, span)
            if nbytes is None:
                nbytes = int(offset, 16) + int(end, 16) - int(start, 16)
            files[key] = max(files.get(key, 0), nbytes)
        return _MapReading(size, now, files, named)

    def _blocks(self, pid: int, span: str) -> int | None:
        if self._map_files:
            try:
                info = os.stat(f"/proc/{pid}/map_files/{span}")
            except PermissionError:
                self._map_files = False  # not root: the mappings' reach instead, from now on
            except OSError:
                return 0  # unmapped meanwhile
            else:
                return info.st_blocks * 512 if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 else 0
        return None


@dataclass(slots=True)
class _MapReading:
    """One process's memory map, as last read: its address space's size then, the unlinked files it mapped
    ((device, inode) -> bytes) and the files it mapped by a name in a watched folder (path, inode)."""

    size: int
    read_at: float
    files: dict[tuple[int, int], int]
    named: list[tuple[str, int]]

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
    bound)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    pids = (root, *harden.descendants(root))
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # ended meanwhile
            continue
        for fd in descriptors:
            try:
                info = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total + (mapped.held(pids, seen) if mapped is not None else 0)


def empty(folders: list[Path]) -> None:
    """Delete what is inside `folders`, keeping the folders themselves."""
    for folder in folders:
        _remove_entries(folder)


def _remove_entries(folder: Path, keep: str | None = None) -> None:
    """Delete each entry of `folder` but the one named `keep` (a link as a link, never what it points to)."""
    try:
        with os.scandir(folder) as scan:
            entries = [entry for entry in scan if entry.name != keep]
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def remove_owned(uid: int) -> None:
    """Delete what a sandbox uid created in the shared temp dirs, and in the directories there any user may write
    to (`_writable_by_anyone`: /tmp/.X11-unix), at any depth."""
    stack = list(SHARED_TEMP_DIRS)
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_uid != uid:
                        if stat.S_ISDIR(info.st_mode) and _writable_by_anyone(info):
                            stack.append(entry.path)
                        continue
                    if stat.S_ISDIR(info.st_mode):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
