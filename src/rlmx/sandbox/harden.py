"""Kernel hardening the REPL worker applies to itself: rlimits, no_new_privs, a seccomp filter, Landlock.

Stdlib only (ctypes for the two syscalls Python lacks): the worker loads this file by path, next to frames.py,
and the host imports it to probe what the kernel offers. Nothing here runs at import time.

Hardening comes in two stages, because a zygote must keep the right to fork while its workers must not:

* `harden_zygote` (after the contexts are loaded): rlimits, non-dumpable (always: no other process of the same
  uid can read or write its memory, environment or descriptors through /proc), a child subreaper (whatever its
  workers leave behind is re-parented to it, not to init), capabilities dropped when it runs as root,
  PR_SET_NO_NEW_PRIVS, Landlock, and the base seccomp denylist.
* `harden_worker` (in each worker, before its first cell): RLIMIT_NPROC, a child subreaper (a double-forked
  daemon stays in the worker's tree, so `kill_tree` finds it) and a second seccomp filter that denies
  fork-type clone, exec, signals to other processes and F_SETOWN-type signal routing; on either tier, a last
  filter that keeps the subreaper flag (no cell can clear it) and limits prlimit, setpriority, sched_setaffinity
  and the like to the worker itself (`self_only_filter`). Filters stack.

`kill_tree` and `kill_uid` are used by the host and the zygote to end everything a cell started.

The seccomp filter is a hand-built classic-BPF denylist (SANDBOX.md §6.3): no libseccomp needed. It only knows
x86_64 syscall numbers; on any other architecture `seccomp_supported()` is False and the isolated tier refuses.
"""

from __future__ import annotations

import _socket
import _thread
import ctypes
import errno
import itertools
import os
import resource
import stat
import struct
import sys
import time

TYPE_CHECKING = False  # not typing's: the worker imports this module, and `typing` costs it 4 ms at every start
# `_signal`, not signal, and no contextlib: the worker imports this module, and their enum and functools would
# cost every sandbox start milliseconds (benchmarks/vs_official/NOTES.md, change 21).
if TYPE_CHECKING:
    import signal as _signal
    from collections.abc import Sequence
    from typing import Any
else:
    import _signal

# --- prctl / syscalls --------------------------------------------------------------------------------------
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_CAPSET = 126  # x86_64 and i386 differ; capabilities are dropped only on x86_64 (see drop_capabilities)
_SECBIT_ALL_LOCKED = 0x2F  # NOROOT, NO_SETUID_FIXUP and their locks; KEEP_CAPS off and locked
SECCOMP_MODE_FILTER = 2
SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446


class HardeningError(Exception):
    """A protection the host asked for could not be applied: the worker must not run cells."""


_libc: Any = None


def libc() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def prctl(option: int, arg2: int = 0, arg3: Any = 0) -> int:
    result: int = libc().prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), arg3, ctypes.c_ulong(0), ctypes.c_ulong(0))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl({option}): {os.strerror(code)}")
    return result


def set_parent_death_signal(signum: int) -> None:
    """Die with the parent: a zygote killed by the host takes its workers with it."""
    if sys.platform == "linux":
        prctl(PR_SET_PDEATHSIG, signum)


def become_subreaper() -> None:
    """Orphans of our descendants are re-parented to us instead of init: nothing a cell starts (even a
    double-forked, setsid daemon) leaves the tree `kill_tree` walks."""
    if sys.platform == "linux":
        prctl(PR_SET_CHILD_SUBREAPER, 1)


def make_undumpable() -> None:
    """No other process of our uid may read our memory, environment, descriptors or cwd through /proc, nor
    ptrace us (the kernel then requires CAP_SYS_PTRACE). Also what the host does to itself."""
    if sys.platform == "linux":
        prctl(PR_SET_DUMPABLE, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def drop_capabilities() -> bool:
    """Root without privileges: clear the bounding, ambient, effective, permitted and inheritable sets and lock
    the securebits so that no exec gives them back. Used when the host is root and the worker cannot run under
    a separate uid. Returns True when the effective set is empty afterwards."""
    if sys.platform != "linux" or _machine() != "x86_64":
        return False
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    if os.geteuid() == 0:
        prctl(PR_SET_SECUREBITS, _SECBIT_ALL_LOCKED)
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            break  # EINVAL past the last capability this kernel knows
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit data blocks
    data = (ctypes.c_uint32 * 6)()
    if libc().syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(header), ctypes.byref(data)) < 0:
        raise HardeningError(f"capset failed: {os.strerror(ctypes.get_errno())}")
    return effective_capabilities() == 0


def switch_user(uid: int) -> dict[str, Any]:
    """Become `uid` for good (root host only), after the contexts are loaded: real, effective and saved ids,
    no supplementary groups, no capabilities. The Python may live where that uid cannot go (a pyenv under
    /root, mode 0700): every import directory is opened first and, where the new uid cannot enter it by path,
    put on sys.path as /proc/self/fd/N, which reaches it without crossing the closed parent. Where the import
    directories themselves are closed to other users, stay root and drop every capability instead.
    Returns what was applied."""
    entries = import_dirs()
    closed = closed_import_dirs(entries)
    if closed:
        if not drop_capabilities():
            raise HardeningError("the worker runs as root and could not drop its capabilities")
        return {"capabilities": "none", "uid_note": f"import directories closed to other users: {closed[0]}"}
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for p in entries}
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    moved = {p: f"/proc/self/fd/{fd}" for p, fd in handles.items() if not os.access(p, os.R_OK | os.X_OK)}
    sys.path[:] = [moved.get(p, p) for p in sys.path]
    for module in list(sys.modules.values()):  # packages imported already (encodings) look in their __path__
        package_path = getattr(module, "__path__", None)
        if isinstance(package_path, list):
            package_path[:] = [_moved(p, moved) for p in package_path]
    for path, handle in handles.items():
        if path not in moved:
            os.close(handle)
    if os.getuid() != uid or os.geteuid() != uid or effective_capabilities() != 0:
        raise HardeningError(f"could not switch to uid {uid}")
    return {"uid": uid, "gid": uid}


def import_dirs() -> list[str]:
    """The directories on sys.path, once each."""
    return list(dict.fromkeys(p for p in sys.path if p and os.path.isdir(p)))


def closed_import_dirs(entries: list[str]) -> list[str]:
    """Those of `entries` (import_dirs()) other users cannot read and enter: where there is one, `switch_user`
    keeps root."""
    return [p for p in entries if os.stat(p).st_mode & 0o005 != 0o005]


def _moved(path: str, moved: dict[str, str]) -> str:
    for old, new in moved.items():
        if path == old or path.startswith(old + os.sep):
            return new + path[len(old) :]
    return path


def effective_capabilities() -> int:
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return -1


# --- process trees -----------------------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("ascii", "replace")  # no codec lookup: imports may be closed to us
    except OSError:
        return ""


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, state) of every process in our /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _read(f"/proc/{name}/stat")
        fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
        if len(fields) >= 2 and fields[1].isdigit():
            found.append((int(name), int(fields[1]), fields[0]))
    return found


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of the direct children of `pid`, zombies included."""
    found = _children_files(pid)
    if found is None:
        return [(child, state) for child, parent, state in _processes() if parent == pid]
    return [(child, _state(child)) for child in found]


def _state(pid: int) -> str:
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return fields[0] if fields else ""


def _children_files(pid: int) -> list[int] | None:
    """Direct children from /proc/<pid>/task/*/children (CONFIG_PROC_CHILDREN); None where the kernel lacks it."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        path = f"/proc/{pid}/task/{task}/children"
        if not os.path.exists(path):
            return None
        found += [int(child) for child in _read(path).split()]
    return found


def descendants(pid: int) -> list[int]:
    """The live (not zombie) descendants of `pid`, parents before children. Reads each process's children
    file where the kernel has them (a few reads for a small tree), else scans every process once."""
    order, queue = [], [pid]
    while queue:
        current = queue.pop()
        children = _children_files(current)
        if children is None:
            return _descendants_by_scan(pid)
        for child in children:
            queue.append(child)
            if _state(child) not in ("Z", ""):
                order.append(child)
    return order


def _descendants_by_scan(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    states = {}
    for child, parent, state in _processes():
        children.setdefault(parent, []).append(child)
        states[child] = state
    order, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            queue.append(child)
            if states.get(child) != "Z":
                order.append(child)
    return order


def _resident_bytes(pid: int) -> int:
    """Resident memory of `pid` (statm's second field, in pages): one short read; 0 for one that has ended."""
    fields = _read(f"/proc/{pid}/statm").split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") if len(fields) > 1 and fields[1].isdigit() else 0


def _pss_in(text: str) -> int | None:
    """The Pss line's bytes in smaps_rollup's `text`; None where it has none (refused, or the process ended)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            fields = line.split()
            return int(fields[1]) * 1024 if len(fields) > 1 and fields[1].isdigit() else None
    return None


def _proportional_bytes(pid: int, reports: MemoryReports | None = None) -> tuple[int, bool]:
    """(memory of `pid` with each page it shares divided among its sharers (smaps_rollup's Pss), whether that was
    read): forked children share their parent's pages until they write them, and a sum of resident sizes counts
    those once per process. A host without CAP_SYS_PTRACE may not open a non-dumpable worker's smaps_rollup, so it
    reads the one the process opened itself and sent (`reports`). Its resident size (an upper bound) where the
    kernel lacks smaps_rollup (before 4.14) or neither way reads it."""
    pss = reports.proportional(pid) if reports is not None else None
    if pss is None:
        pss = _pss_in(_read(f"/proc/{pid}/smaps_rollup"))
    return (pss, True) if pss is not None else (_resident_bytes(pid), False)


REPORT_GRACE_SECONDS = 0.05
"""How long a reading over the bound that took some process's resident size waits for that process's own report
before it counts (a child just forked sends its smaps_rollup as its first act: a poll between the two took the
pages it shares with its parent twice)."""


def tree_memory_over(pid: int, limit: int) -> int:
    """The memory `pid` and its descendants hold together when it is over `limit` bytes, else 0."""
    return trees_memory_over([pid], limit)[0]


def trees_memory_over(pids: Sequence[int], limit: int, reports: MemoryReports | None = None) -> tuple[int, int]:
    """(the memory the processes `pids` and all their descendants hold together, the one of `pids` whose tree holds
    the most) when that is over `limit` bytes, else (0, 0): a run's workers, its child RLMs' among them. A lone
    process is bounded by its own RLIMIT_AS, so a single worker without children costs one children-file read per
    thread. `reports`: the smaps_rollup descriptors the processes sent (a host that may not open them)."""
    for attempt in range(2):
        trees = [(pid, *descendants(pid)) for pid in pids if pid > 0]
        if not trees or (len(trees) == 1 and len(trees[0]) == 1):
            return 0, 0
        if sum(_resident_bytes(p) for tree in trees for p in tree) <= limit:  # an upper bound: shared pages counted
            return 0, 0  # for each sharer
        if reports is not None:
            reports.drain()
        readings = [[_proportional_bytes(p, reports) for p in tree] for tree in trees]
        held = [(sum(size for size, _ in reading), tree[0]) for reading, tree in zip(readings, trees, strict=True)]
        total = sum(size for size, _ in held)
        if total <= limit:
            return 0, 0
        if attempt or reports is None or all(read for reading in readings for _, read in reading):
            return total, max(held)[1]
        time.sleep(REPORT_GRACE_SECONDS)
    return 0, 0  # not reached


# --- memory reports: each process's own smaps_rollup, for a host that may not open it -----------------------
# The worker and every process it forks are non-dumpable (the zygote's flag, kept across fork), so a host without
# CAP_SYS_PTRACE (a non-root host, Docker's default capabilities) may not open their smaps_rollup, and a sum of
# resident sizes counts each page a forked child shares with its parent once per process: 250 MB and three idle
# children read as 1 GB (audit 88x). Each process may open its own, and the kernel checks access at open time
# only: the descriptor, passed to the host over a datagram socketpair whose other end the worker inherits
# (SCM_RIGHTS, with the sender's pid as the kernel vouches for it, SCM_CREDENTIALS), reads the kernel's own Pss for
# that process. A socketpair, not a bound socket: a bound one queues 10 datagrams (net.unix.max_dgram_qlen), and
# a fork pool of 16 lost reports; a pair's queue is bounded by its send buffer alone (hundreds). Nothing the
# sender says is taken on trust: the host keeps a descriptor only when it names the sender's own smaps_rollup on
# the /proc the sender sees (its pid in its own namespace, that mount's device), the process is the one that sent
# it (start time), and it has not called exec since its fork (which would leave the descriptor on its old memory).
# A process that sent nothing, or whose report is refused (a fork not made through Python's os.fork, an exec'd
# program, a single worker the host started itself outside a pid namespace, a report lost), counts by its
# resident size, as before.
_report_socket: Any = None
_REPORT_CREDENTIALS = struct.Struct("iII")  # struct ucred: pid, uid, gid
_REPORT_FD = struct.Struct("i")
_REPORT_FDS_MOST = 253
"""SCM_MAX_FD: the most descriptors one message may carry. The host's buffer holds that many, so the kernel never
closes a message's extra descriptors itself, inside the host's recvmsg (a last close there runs in the host's
thread: a TCP socket with SO_LINGER and unsent data blocked the usage watcher for its linger time, audit 88x2)."""
REPORTS_HELD_SHARE = 4
"""The report descriptors every run of a host keeps together (one per process) are at most about this share of its
open-files limit (256 of the usual 1,024), divided among the runs open (`MemoryReports`), REPORTS_HELD_LEAST each
at least: a server's runs, cells forking hundreds each, must leave the host room for its own files and sockets, and
one run's forks must not leave another none (audit 88x2 v05). More processes count by their resident size."""
REPORTS_HELD_LEAST = 16
_reports_held = [0]
"""Report descriptors held now, by every MemoryReports of this process (under `_reports_count_lock`)."""
_reports_open = [0]
"""The MemoryReports open now in this process (under `_reports_count_lock`): the runs the share is divided among."""
_reports_count_lock = _thread.allocate_lock()
REPORTS_DRAINED_MOST = 512
"""The most reports read in one drain (a poll), so a process sending without end cannot hold the watcher."""
REPORTS_CLOSING_MOST = 64
"""A run's refused descriptors still waiting for the closer thread past which its socket is not read (until they
are closed): a closer blocked by one descriptor's close must not let a run fill the host's descriptor table."""
REPORTS_SPARE_DESCRIPTORS = 64
"""Descriptors a drain leaves the host, beyond room for a full message (`_REPORT_FDS_MOST`)."""
_received: dict[int, tuple[int, int, int]] = {}
"""Every descriptor received from a report socket and not yet closed, kept or refused: descriptor -> (device,
inode, receipt number) (under `_reports_count_lock`). Not the host's own files (`rundir._own_unlinked`): a process
that sent an unlinked file on /dev/shm must not have it counted as the host's context (audit 88x2 v01)."""
_receipts = itertools.count()
_closing: Any = None
"""The queue of the closer thread (`_close_later`), started on first use."""


def received_files() -> dict[int, tuple[int, int]]:
    """The descriptors this process holds that a report socket brought (descriptor -> (device, inode)): none of
    them is the host's own file."""
    with _reports_count_lock:
        return {fd: (device, inode) for fd, (device, inode, _) in _received.items()}


def _close_received(fd: int) -> None:
    """Close a received descriptor, then drop its record if no later receipt took its number meanwhile. Dropped
    before the close, the record was gone while the descriptor was still open, and `rundir._own_unlinked` could
    count the sender's file as the host's own in that window (a flaky test found it)."""
    with _reports_count_lock:
        entry = _received.get(fd)
    try:
        os.close(fd)
    except OSError:
        pass
    with _reports_count_lock:
        if entry is not None and _received.get(fd) == entry:  # the receipt number tells a reuse apart
            del _received[fd]


def _close_later(fd: Any, owner: MemoryReports | None = None) -> None:
    """Close `fd` (a descriptor, or a socket object) on the closer thread: the last close of what an untrusted
    process sent may block for as long as it chose (a lingering TCP socket with unsent data), and must never stop
    the usage watcher, hold a lock, or hold up a run's end. `owner`'s count of descriptors closing drops once done."""
    global _closing
    import queue
    import threading

    with _reports_count_lock:
        if _closing is None:
            _closing = queue.SimpleQueue()
            threading.Thread(target=_closer, args=(_closing,), name="rlmx-report-closer", daemon=True).start()
        closing = _closing
    closing.put((fd, owner))


def _closer(closing: Any) -> None:
    while True:
        fd, owner = closing.get()
        if isinstance(fd, int):
            _close_received(fd)
        else:
            try:
                fd.close()
            except OSError:
                pass
        if owner is not None:
            with _reports_count_lock:
                owner._closing -= 1


def connect_memory_reports(fd: int) -> bool:
    """In the worker (or zygote): take the report socket the host passed as `fd`; every process forked from this one
    inherits it, and no program one of them runs (close-on-exec). False where it is no socket."""
    global _report_socket
    try:
        os.set_inheritable(fd, False)
        _report_socket = _socket.socket(fileno=fd)
    except (OSError, ValueError):
        return False
    return True


def report_own_memory() -> None:
    """Send the host this process's own /proc/self/smaps_rollup, opened here (the only process that may): called
    once by the worker, then in every child forked from it (os.register_at_fork). Never blocks, never raises."""
    sock = _report_socket
    if sock is None:
        return
    try:
        fd = os.open("/proc/self/smaps_rollup", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _REPORT_FD.pack(fd))]
        sock.sendmsg([b"m"], rights, _socket.MSG_DONTWAIT)
    except OSError:  # the host's queue is full, or gone: this process counts by its resident size
        pass
    finally:
        os.close(fd)


_PF_FORKNOEXEC = 0x40
"""A task flag (stat's 9th field, which anyone may read) the kernel sets at fork and clears at exec."""


def _unexeced(pid: int) -> str:
    """`pid`'s start time (stat's 22nd field; with the pid it names one process) while it has not called exec since
    it was forked, so its memory is still the one it had then; "" for one that has ended or exec'd. A descriptor of
    smaps_rollup reads the memory of the process that opened it as it was then: after an exec (a vfork child's, one
    that shared its parent's memory), the old one, the parent's, not what the new program holds."""
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    if len(fields) <= 19 or not fields[6].isdigit() or not int(fields[6]) & _PF_FORKNOEXEC:
        return ""
    return fields[19]


def _inner_pid(pid: int) -> int:
    """`pid`'s pid in its own (innermost) pid namespace, the one its /proc shows: NSpid's last field; 0 if ended."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("NSpid:"):
            fields = line.split()
            return int(fields[-1]) if len(fields) > 1 and fields[-1].isdigit() else 0
    return 0


def _proc_device(pid: int) -> int | None:
    """The device of the /proc that `pid` sees (the last proc mount on /proc in its mountinfo, which anyone may
    read: a pid namespace's own is mounted over the host's); None where it has none."""
    found = None
    for line in _read(f"/proc/{pid}/mountinfo").splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == "/proc" and " - proc " in line:
            major, _, minor = fields[2].partition(":")
            if major.isdigit() and minor.isdigit():
                found = os.makedev(int(major), int(minor))
    return found


class MemoryReports:
    """The host's end of a datagram socketpair (`worker_fd`, the other end, is passed to each zygote or single
    worker it starts), and the verified descriptors it received, one per process (host pid -> descriptor, start
    time). Used from the usage watcher's thread; the lock keeps `close` (from the event loop) from closing a
    descriptor mid-read. Each descriptor received is checked at once (fstat, then `_own_rollup`): only a regular
    file on the sender's /proc, its own smaps_rollup, is kept, one a message; all else goes to the closer thread
    (`_close_later`), never closed here. So the only descriptors this class closes itself are such proc files,
    whose close cannot block."""

    def __init__(self) -> None:
        import threading  # here, not at the top: the worker imports this module and never needs it

        host, self._worker_end = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_DGRAM)
        host.setsockopt(_socket.SOL_SOCKET, _socket.SO_PASSCRED, 1)
        host.setblocking(False)
        self._sock: Any = host  # None once closed
        self.worker_fd = self._worker_end.fileno()
        self._held: dict[int, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._pruned = 0.0
        self._closing = 0
        """This run's refused descriptors not yet closed by the closer thread (under `_reports_count_lock`)."""
        with _reports_count_lock:
            _reports_open[0] += 1

    @staticmethod
    def _share() -> int:
        """The report descriptors one run may keep: its part of REPORTS_HELD_SHARE of the open-files limit."""
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        cap = (soft if soft >= 0 else 1 << 20) // REPORTS_HELD_SHARE
        return max(cap // max(_reports_open[0], 1), REPORTS_HELD_LEAST)

    @staticmethod
    def _free_descriptors() -> int:
        """How many more descriptors this process may open (its open-files limit less those open)."""
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        try:
            used = len(os.listdir("/proc/self/fd"))
        except OSError:
            return 0
        return (soft if soft >= 0 else 1 << 20) - used

    def drain(self) -> None:
        """Take the reports waiting (at most REPORTS_DRAINED_MOST): each keeps at most one descriptor, its
        sender's own smaps_rollup, which replaces an older one of the same process; the rest go to the closer."""
        space = _socket.CMSG_SPACE(_REPORT_FD.size * _REPORT_FDS_MOST) + _socket.CMSG_SPACE(_REPORT_CREDENTIALS.size)
        with self._lock:
            if self._sock is None:
                return
            # A message's descriptors the host has no room for are closed by the kernel inside recvmsg, on this
            # thread: read only while a full message fits, with room to spare for the host's own files
            room = self._free_descriptors() - REPORTS_SPARE_DESCRIPTORS
            for _ in range(REPORTS_DRAINED_MOST):
                if room < _REPORT_FDS_MOST or self._closing >= REPORTS_CLOSING_MOST:
                    break
                try:
                    _, ancillary, _, _ = self._sock.recvmsg(1, space)
                except OSError:  # none waiting (EAGAIN)
                    break
                fds, sender = [], 0
                for level, kind, data in ancillary:
                    if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                        usable = len(data) - len(data) % _REPORT_FD.size
                        fds += [_REPORT_FD.unpack_from(data, at)[0] for at in range(0, usable, _REPORT_FD.size)]
                    elif level == _socket.SOL_SOCKET and kind == _socket.SCM_CREDENTIALS:
                        sender = _REPORT_CREDENTIALS.unpack_from(data)[0]
                room -= len(fds)
                self._receive(sender, fds)
            share = self._share()
            for pid in list(self._held)[share:]:  # more runs opened since: this one keeps its part
                self._forget(pid)
            if time.monotonic() - self._pruned > 1.0:
                self._pruned = time.monotonic()
                for pid, (_, started) in list(self._held.items()):
                    if _unexeced(pid) != started:
                        self._forget(pid)

    def _receive(self, sender: int, fds: list[int]) -> None:
        """Keep the first of `fds` that is `sender`'s own smaps_rollup, if any and there is room; refuse the rest."""
        infos: list[os.stat_result | None] = []
        with _reports_count_lock:
            for fd in fds:
                try:
                    info: os.stat_result | None = os.fstat(fd)
                except OSError:
                    info = None
                infos.append(info)
                device, inode = (info.st_dev, info.st_ino) if info is not None else (-1, -1)
                _received[fd] = (device, inode, next(_receipts))
        kept = -1
        started = _unexeced(sender) if sender > 0 else ""
        for fd, info in zip(fds, infos, strict=True):
            if started and info is not None and stat.S_ISREG(info.st_mode) and self._own_rollup(sender, fd):
                kept = fd
                break
        if kept >= 0:
            self._forget(sender)  # an older report of the same process
            with _reports_count_lock:
                if len(self._held) < self._share():
                    _reports_held[0] += 1
                    self._held[sender] = (kept, started)
                else:
                    kept = -1
        for fd in fds:
            if fd != kept:
                with _reports_count_lock:
                    self._closing += 1
                _close_later(fd, self)

    def proportional(self, pid: int) -> int | None:
        """`pid`'s Pss in bytes, through the descriptor it sent; None where it sent none that is still its own."""
        with self._lock:
            held = self._held.get(pid)
            if held is None:
                return None
            fd, started = held
            try:
                text = os.pread(fd, 4096, 0).decode("ascii", "replace")
            except OSError:  # the process ended, or exec'd: its descriptor reads a memory that is gone
                text = ""
            pss = _pss_in(text)
            if pss is None or _unexeced(pid) != started:  # after the read: the same process, no exec, throughout
                self._forget(pid)
                return None
            return pss

    @staticmethod
    def _own_rollup(pid: int, fd: int) -> bool:
        """Whether `fd` is process `pid`'s own smaps_rollup: on the /proc it sees, under its pid there. Only that
        process could open it (non-dumpable), so a descriptor another process opened, or one from another pid
        namespace's /proc, is refused."""
        inner = _inner_pid(pid)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            device = os.fstat(fd).st_dev
        except OSError:
            return False
        return inner > 0 and target == f"/proc/{inner}/smaps_rollup" and device == _proc_device(pid)

    def _forget(self, pid: int) -> None:
        held = self._held.pop(pid, None)
        if held is not None:
            with _reports_count_lock:
                _reports_held[0] -= 1
            _close_received(held[0])  # checked to be a proc file when received: its close does not block

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            if sock is not None:
                # The descriptors still queued in it are let go when it closes: on the closer thread
                _close_later(sock)
                self._worker_end.close()
                with _reports_count_lock:
                    _reports_open[0] -= 1
            for pid in list(self._held):
                self._forget(pid)


LOCK_BYTES = 256
"""The kernel memory one byte-range or flock lock holds (its struct file_lock in the unreclaimable file_lock_cache
slab; audit 83 measured 201 MB for 1.08 M fcntl locks, ~190 bytes each), rounded up. Linux enforces no limit on
them (RLIMIT_LOCKS is ignored), and no memory limit of a process counts them."""
LOCKS_MOST = 64 << 20
"""The most kernel memory a REPL's file locks may hold (`locks_bound`): 262,144 locks; a SQLite database takes a
handful. Capped so that counting them (`held_locks`, ~1.6 us a lock) stays well under a second a scan."""


def locks_bound(memory_limit: int) -> int:
    """The bytes of file locks (LOCK_BYTES each) a run's REPLs may hold together: an eighth of its memory bound,
    LOCKS_MOST at most (16 MiB, 65,536 locks, under a 128 MiB bound)."""
    return min(memory_limit // 8, LOCKS_MOST)


def held_locks(pids: Sequence[int]) -> dict[int, int]:
    """pid -> the file locks (POSIX byte-range, flock, leases) each of `pids` holds through its descriptors, from the
    "lock:" lines of /proc/<pid>/fdinfo/<fd> (a lock taken through two descriptors of one open file counts twice);
    an empty count for a process the host may not inspect (a non-dumpable worker without CAP_SYS_PTRACE). Not
    /proc/locks: the kernel walks that whole list again for every 4 KiB read of it, so 150,000 locks kept a
    reader for seconds and 1 M would for minutes. Cost: ~10 us a descriptor, and linear in the locks listed.
    OFD locks belong to no process; the seccomp filters refuse taking them (`_NO_OFD_LOCKS`)."""
    counts: dict[int, int] = {}
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:  # ended meanwhile, or not ours to inspect
            continue
        held = 0
        for fd in descriptors:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as handle:
                    held += handle.read().count(b"\nlock:")
            except OSError:
                continue
        counts[pid] = held
    return counts


def trees_locks_over(pids: Sequence[int], limit: int) -> tuple[int, int]:
    """(the file locks the processes `pids` and all their descendants hold together, the one of `pids` whose tree
    holds the most) when those locks' kernel memory (LOCK_BYTES each) is over `limit` bytes, else (0, 0)."""
    trees = [(pid, *descendants(pid)) for pid in pids if pid > 0]
    counts = held_locks([p for tree in trees for p in tree])
    if not counts:
        return 0, 0
    held = [(sum(counts.get(p, 0) for p in tree), tree[0]) for tree in trees]
    total = sum(count for count, _ in held)
    return (total, max(held)[1]) if total * LOCK_BYTES > limit else (0, 0)


def _tasks(pid: int) -> int:
    """The threads of `pid` (stat's num_threads): 0 for one that has ended."""
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return int(fields[17]) if len(fields) > 17 and fields[17].isdigit() else 0


def trees_tasks_over(pids: Sequence[int], limit: int) -> tuple[int, int]:
    """(the threads the process `pid` and its descendants run together, `pid`) for the first of `pids` whose tree
    runs more than `limit` (each process counts its threads, as RLIMIT_NPROC does), else (0, 0)."""
    for pid in pids:
        if pid > 0:
            count = sum(_tasks(p) for p in (pid, *descendants(pid)))
            if count > limit:
                return count, pid
    return 0, 0


def host_pid(inner: int, under: int) -> int:
    """The pid, as this process sees it, of the descendant of `under` that has the pid `inner` in a pid namespace of
    its own (a worker under bubblewrap); 0 when none has."""
    return namespace_pids(under).get(inner, 0)


def namespace_pids(under: int) -> dict[int, int]:
    """{pid in its own pid namespace (the last field of its NSpid): pid as this process sees it} for each
    descendant of `under` that runs in a pid namespace nested in ours."""
    found: dict[int, int] = {}
    for pid in descendants(under):
        for line in _read(f"/proc/{pid}/status").splitlines():
            if line.startswith("NSpid:"):
                fields = line.split()
                if len(fields) > 2 and fields[-1].isdigit():
                    found[int(fields[-1])] = pid
                break
    return found


def signal_tree(pid: int, signum: int) -> bool:
    """Send `signum` to `pid`, then to each of its descendants (twice over: one forked meanwhile is found by the
    second scan). False when `pid` itself could not be signalled (ended, or not ours)."""
    try:
        os.kill(pid, signum)
    except OSError:
        return False
    signalled = {pid}
    for _ in range(2):
        for child in descendants(pid):
            if child not in signalled:
                signalled.add(child)
                try:
                    os.kill(child, signum)
                except OSError:
                    pass
    return True


def kill_tree(pid: int, *, include_root: bool = True, rounds: int = 50) -> int:
    """SIGKILL every descendant of `pid` (then `pid` itself): a process killed while it forks leaves children
    that are re-parented inside the tree (the worker and zygote are subreapers), so scan again until none is
    left. Returns the number of distinct processes signalled. Needs a /proc that shows the tree (Linux)."""
    if sys.platform != "linux" or pid <= 0:
        return 0
    killed: set[int] = set()
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            break
        for child in found:
            try:
                os.kill(child, _signal.SIGKILL)
                killed.add(child)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.001)  # let the killed ones become zombies before the next scan
    if include_root:
        try:
            os.kill(pid, _signal.SIGKILL)
            killed.add(pid)
        except (ProcessLookupError, PermissionError):
            pass
    return len(killed)


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real uid is `uid` (a uid used by one sandbox only). Returns the number.

    Scans /proc until a scan finds none not yet signalled: a SIGKILLed process can run no more code (it may
    still be freeing its memory, which is why it is not waited for), but it may have forked before the signal."""
    if sys.platform != "linux" or uid <= 0:
        return 0
    signalled: set[int] = set()
    for _ in range(10):
        found = _pids_of_uid(uid, skip=signalled)  # not read again: a dying process's status waits on its exit
        if not found:
            break
        for pid in found:
            signalled.add(pid)
            try:
                os.kill(pid, _signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return len(signalled)


def _pids_of_uid(uid: int, skip: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Live (not zombie) processes whose real uid is `uid`, but for those in `skip`: one read of /proc/PID/status
    each, its "State:" and "Uid:" fields found in the bytes (no decoding or line split: a scan of ~60 processes
    1.2 -> 0.7 ms)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        try:
            fd = os.open(f"/proc/{name}/status", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            status = os.read(fd, 4096)
        except OSError:
            continue
        finally:
            os.close(fd)
        uid_at = status.find(b"\nUid:\t")
        state_at = status.find(b"\nState:\t")
        if uid_at < 0 or (state_at >= 0 and status[state_at + 8 : state_at + 9] == b"Z"):
            continue
        real_uid = status[uid_at + 6 :].split(b"\t", 1)[0]
        if real_uid.isdigit() and int(real_uid) == uid:
            found.append(int(name))
    return found


# --- rlimits -----------------------------------------------------------------------------------------------
_RLIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "processes": getattr(resource, "RLIMIT_NPROC", None),
}


def apply_limits(limits: dict[str, Any], keys: tuple[str, ...] = ("memory_bytes", "file_bytes", "open_files")) -> None:
    """Set the named rlimits (soft = hard, so user code cannot raise them back) and forbid core dumps."""
    for key in keys:
        which = _RLIMITS.get(key)
        value = limits.get(key)
        if which is None or not value:
            continue
        _, hard = resource.getrlimit(which)
        soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (soft, soft))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def bound_user_counts() -> dict[str, int]:
    """Lower the rlimits that bound what this process (and all it starts) may add to a per-uid kernel count shared
    with every process of its uid: RLIMIT_SIGPENDING (queued signals and POSIX timers, `PENDING_SIGNALS_MOST`) and
    RLIMIT_MSGQUEUE (POSIX message queue bytes: 0, as mq_open is refused anyway). Soft = hard, never raised. Returns
    {"pending_signals": .., "message_queue_bytes": ..}, the limits set (none where the platform lacks them)."""
    applied: dict[str, int] = {}
    for name, which, most in (
        ("pending_signals", getattr(resource, "RLIMIT_SIGPENDING", None), PENDING_SIGNALS_MOST),
        ("message_queue_bytes", getattr(resource, "RLIMIT_MSGQUEUE", None), 0),
    ):
        if which is None:  # not Linux
            continue
        _, hard = resource.getrlimit(which)
        value = most if hard == resource.RLIM_INFINITY else min(most, hard)
        resource.setrlimit(which, (value, value))
        applied[name] = value
    return applied


# --- seccomp -----------------------------------------------------------------------------------------------
AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
CLONE_THREAD = 0x00010000

# x86_64 numbers. "zygote" rules apply to the zygote and every worker; "worker" rules only to workers.
# New namespaces (a user namespace, then a mount one: a private tmpfs no disk or memory bound counts), and joining
# others': denied on every tier (the isolated tier's worker also gets no clone without CLONE_THREAD).
_DENY_NAMESPACES = {"unshare": 272, "setns": 308}
# Calls on another process through a pidfd, or comparing two processes' resources: denied on every tier.
_DENY_OTHER_PROCESS = {"kcmp": 312, "process_madvise": 440, "process_mrelease": 448}
_TKILL = 200  # names a thread: any of the host's (their ids are in /proc/<host>/task) would end the host
# Kernel memory a cell could pin through file metadata or keys, which neither the memory watcher (process memory)
# nor the disk walk (file blocks) counts: extended attributes (tmpfs keeps each file's, up to 64 KiB a value, in
# unreclaimable slab until the file goes: 479 MB were stored under a 128 MiB memory and 32 MiB disk bound; POSIX
# ACLs are xattrs too) and keyrings (per-uid quota, shared with the host on a non-root host). Denied on every tier:
# the xattr calls with ENOTSUP ("not supported here", which copy tools such as shutil.copystat skip), the key calls
# with EPERM. Reading and removing xattrs stay open.
_DENY_XATTR_SET = {"setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "setxattrat": 463}
_DENY_KEYRINGS = {"keyctl": 250, "add_key": 248, "request_key": 249}
# io_uring performs, inside the kernel and without the syscall a filter sees, what the rules here refuse: its
# IORING_OP_FSETXATTR stored 299 MB of xattrs on the default tier while setxattr itself failed (audit 83 V05), and
# its socket, fixed-file table (a file with no name and no descriptor, which no disk walk or /proc/<pid>/fd finds)
# and other opcodes would route around the rest. Denied on every tier (EPERM, which callers take as "no io_uring
# here"; Python's stdlib never uses it), so no opcode of it is left to check against the other rules.
_DENY_IO_URING = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}
# Kernel pools shared by the whole host (or by every process of a uid), which no rlimit, memory bound or namespace
# of ours divides (audit 87 V15): the legacy Linux AIO calls draw on fs.aio-max-nr, one count for the whole host (one
# io_setup(65536) took all 65,536 events, and every other process's io_setup failed with EAGAIN until the REPL
# closed, bwrap's namespaces or a separate uid notwithstanding); perf_event_open's ring buffers on the per-uid
# locked-memory count (perf_event_mlock_kb), bpf maps and programs, fanotify groups (fs.fanotify.max_user_groups,
# 128 a uid, unprivileged since Linux 5.13) and userfaultfd. Refused on every tier, the default one included, with
# io_uring's EPERM, which libaio's users (glibc's POSIX aio uses threads, not these) take as "no native AIO here"
# and fall back. Python's stdlib calls none of them.
_DENY_AIO = {
    "io_setup": 206,
    "io_destroy": 207,
    "io_getevents": 208,
    "io_submit": 209,
    "io_cancel": 210,
    "io_pgetevents": 333,
}
_DENY_KERNEL_POOLS = {**_DENY_AIO, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "fanotify_init": 300}
# inotify instances and watches are counted per uid (fs.inotify.max_user_instances: 128; the count of a user
# namespace's uid is charged to its owner's too, so bwrap's namespace does not divide it): a worker under the host's
# own uid (every non-root host) took all 128 and the host user's own inotify_init1 failed with EMFILE (audit 87 V17:
# editors, IDE file watchers, `systemd --user`, `tail -F`). Refused (EPERM) where the worker runs under the host's uid;
# under a uid of its own the quota it spends is that uid's alone. Python's stdlib never uses inotify.
_DENY_INOTIFY = {"inotify_init": 253, "inotify_init1": 294}
PENDING_SIGNALS_MOST = 256
"""The worker's RLIMIT_SIGPENDING (soft = hard): the queued signals and POSIX timers it may hold. The kernel counts
both per uid (every process of the uid, a user namespace's charged to its owner too) but checks the count against the
caller's own limit, so a low one here bounds what a worker can add to its user's count: under the host's uid, with
the default ~96,000 (the host's thread limit), one cell's 96,369 timer_create calls left the host user's own
timer_create and sigqueue failing with EAGAIN (audit 87 V17). Python's stdlib queues no real-time signal and makes no
POSIX timer (signal.setitimer is an interval timer, outside this count); kernel-sent signals bypass the limit."""
_DENY_ALWAYS = {
    "execve": 59,
    "execveat": 322,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "socket": 41,  # the frame channel is inherited; no code in the sandbox needs a new socket
    "mount": 165,
    "umount2": 166,
    **_DENY_NAMESPACES,
    "pivot_root": 155,
    "chroot": 161,
    **_DENY_KEYRINGS,
    **_DENY_IO_URING,
    **_DENY_KERNEL_POOLS,
    "personality": 135,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "pidfd_open": 434,
    "pidfd_getfd": 438,
    "pidfd_send_signal": 424,
    **_DENY_OTHER_PROCESS,
    "syslog": 103,
    "uselib": 134,
    "acct": 163,
    "quotactl": 179,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
# Memory outside RLIMIT_AS and any folder the disk bound measures: anonymous files, and System V segments, message
# queues and semaphore sets and POSIX message queues, which outlive their process (a message written in one run
# could be read after it closed). Denied on every tier, the default one included ("light" filter).
_DENY_HIDDEN_MEMORY = {
    "memfd_create": 319,
    "memfd_secret": 447,
    "shmget": 29,
    "msgget": 68,
    "semget": 64,
    "mq_open": 240,
}
# An unnamed AF_UNIX pair reaches nothing outside the process, and asyncio's event loop needs one (its self-pipe):
# socketpair is allowed for AF_UNIX only, as its first argument says; every other family is denied.
_UNIX_ONLY = {"socketpair": 53}
_AF_UNIX = 1
_CLONE_NEW_NAMESPACES = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
# CLONE_PARENT makes the child a sibling of its caller, a child of the zygote: outside the worker's tree, which the
# memory and disk watchers sum, so a cell could hold many times its bounds in such siblings.
CLONE_PARENT = 0x00008000
_CLONE_DENIED_FLAGS = _CLONE_NEW_NAMESPACES | CLONE_PARENT
_ENOSYS = {"clone3": 435}  # glibc falls back to clone(), whose flags a classic filter can inspect
_DENY_IN_WORKER = {"fork": 57, "vfork": 58, "tkill": _TKILL}
_CLONE = 56
_SELF_ONLY = {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}  # arg0 must be our pid
# Calls that act on the process (or thread) whose id is their first argument, and that the kernel allows on any
# process of the caller's uid: a worker of the host's own uid (every non-root host) could set the host's RLIMIT_CPU
# (the kernel then kills it), RLIMIT_AS or RLIMIT_NOFILE, its nice value or CPUs, which ends or starves the host as
# surely as a signal would. Making the host non-dumpable does not help: prlimit's check is a uid check. Allowed on
# the caller only (`self_only_filter`): 0 (what setrlimit, nice() and os.sched_setaffinity(0, ...) pass; a thread
# names itself so) or the worker's own pid. The readers (getpriority, sched_getaffinity, ...) stay open.
_PID_FIRST = {
    "prlimit64": 302,
    "sched_setaffinity": 203,
    "sched_setscheduler": 144,
    "sched_setparam": 142,
    "sched_setattr": 314,
    "migrate_pages": 256,
    "move_pages": 279,
    "get_robust_list": 274,
}
# (which, who, ...) calls: only which == "a process" (PRIO_PROCESS 0, IOPRIO_WHO_PROCESS 1) naming the caller; a
# process group or a uid (setpriority(PRIO_USER, 0, 19) renices every process of the caller's uid) is never it alone.
_WHO_SECOND = {"setpriority": (141, 0), "ioprio_set": (251, 1)}
# prctl(PR_SET_CHILD_SUBREAPER, 0) would undo the worker's subreaper flag: a double-forked orphan would then go to the
# zygote, outside the worker's tree that the memory and disk watchers sum (as CLONE_PARENT's sibling would).
_PRCTL = 157

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16  # struct seccomp_data: nr, arch, instruction_pointer, args[6]; little-endian low word
_OFFSET_ARG1_LOW = 24
# Routes to signal another process without kill(): fcntl F_SETOWN / F_SETSIG / F_SETOWN_EX and the ioctls
# FIOSETOWN / SIOCSPGRP make the kernel send SIGIO (or any signal) to a chosen pid when a descriptor is ready.
_DENY_COMMANDS = {"fcntl": (72, (8, 10, 15)), "ioctl": (16, (0x8901, 0x8902))}
# Open-file-description locks (F_OFD_SETLK, F_OFD_SETLKW) belong to no process: /proc/locks shows them with pid -1,
# so the usage watcher could not charge them to the worker (`trees_locks_over`), and a file sent into a socket queue
# keeps them with no descriptor left. Refused on every tier with EINVAL, what a kernel without them answers (callers
# fall back to F_SETLK, which SQLite and fcntl.lockf use anyway).
_FCNTL = 72
_NO_OFD_LOCKS = (37, 38)
# F_SETPIPE_SZ: pipe buffers are counted per uid (fs.pipe-user-pages-soft, 16,384 pages), and 64 pipes grown to 1 MiB
# by one process under a 256-file limit reached it (measured as nobody, audit 87): the user's every later pipe then
# gets a 2-page buffer and its own F_SETPIPE_SZ fails. Refused on every tier with EPERM, the kernel's answer past the
# quota; a pipe keeps its default 64 KiB (16 pages: 2,048 pages for a process's 256 descriptors). No stdlib use.
_F_SETPIPE_SZ = 1031
_SIGNALS = {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}
_DENY_PIDFD = {"pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438}


def seccomp_supported() -> bool:
    """The kernel takes seccomp filters and this module knows the architecture's syscall numbers."""
    return _machine() == "x86_64" and os.path.exists("/proc/sys/kernel/seccomp/actions_avail")


def _machine() -> str:
    return os.uname().machine if hasattr(os, "uname") else ""


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _returning(numbers: Sequence[int], verdict: int) -> list[bytes]:
    """Each of the syscalls `numbers`: `verdict` (an errno, say); any other: on to the next rule."""
    return [op for number in numbers for op in (_op(_JEQ, number, 0, 1), _op(_RET, verdict))]


def _deny_values(number: int, offset: int, values: Sequence[int]) -> list[bytes]:
    """Syscall `number` with the 32-bit argument at `offset` equal to one of `values`: EPERM; any other: allowed."""
    return _by_value(number, offset, values, listed=_RET_ERRNO | errno.EPERM, other=_RET_ALLOW)


def _allow_values(number: int, offset: int, values: Sequence[int]) -> list[bytes]:
    """Syscall `number` with the 32-bit argument at `offset` equal to one of `values`: allowed; any other: EPERM."""
    return _by_value(number, offset, values, listed=_RET_ALLOW, other=_RET_ERRNO | errno.EPERM)


def _command_rules() -> list[bytes]:
    """fcntl and ioctl with the commands (argument 1) every tier refuses; any other syscall goes on."""
    number, commands = _DENY_COMMANDS["ioctl"]
    return _fcntl_rules() + _deny_values(number, _OFFSET_ARG1_LOW, commands)


def _fcntl_rules() -> list[bytes]:
    """fcntl: the signal-routing commands (`_DENY_COMMANDS`) and F_SETPIPE_SZ EPERM, the OFD lock commands EINVAL,
    any other allowed; any other syscall goes on to the next rule. One block: a block's "allowed" ends the program."""
    eperm, einval = (*_DENY_COMMANDS["fcntl"][1], _F_SETPIPE_SZ), _NO_OFD_LOCKS
    count = len(eperm) + len(einval)
    block = [_op(_JEQ, _FCNTL, 0, count + 4), _op(_LD_W_ABS, _OFFSET_ARG1_LOW)]
    block += [_op(_JEQ, value, count - i, 0) for i, value in enumerate(eperm)]
    block += [_op(_JEQ, value, count - len(eperm) - i + 1, 0) for i, value in enumerate(einval)]
    verdicts = [_RET_ALLOW, _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.EINVAL]
    return [*block, *(_op(_RET, verdict) for verdict in verdicts)]


def _by_value(number: int, offset: int, values: Sequence[int], listed: int, other: int) -> list[bytes]:
    """Syscall `number`: `listed` when the 32-bit argument at `offset` is one of `values`, else `other`. Any other
    syscall goes on to the next rule."""
    count = len(values)
    block = [_op(_JEQ, number, 0, count + 3), _op(_LD_W_ABS, offset)]
    block += [_op(_JEQ, value & 0xFFFFFFFF, count - i, 0) for i, value in enumerate(values)]
    return [*block, _op(_RET, other), _op(_RET, listed)]


def build_filter(stage: str, pid: int = 0, protect: Sequence[int] = (), shared_uid: bool = False) -> bytes:
    """The BPF program for one stage: "zygote", "worker" (`pid`: the worker's own, for the signal rules), or
    "light" (the default tier: memory that no limit or folder would count, io_uring, host-wide kernel pools
    (`_DENY_KERNEL_POOLS`), pidfds, F_SETOWN-type routing, and signals to the pids and negated process groups in
    `protect`, or to -1). `shared_uid`: the worker runs under the host's own uid, so inotify (a per-uid quota) is
    refused too."""
    eperm = _RET_ERRNO | errno.EPERM
    program = [
        _op(_LD_W_ABS, _OFFSET_ARCH),
        _op(_JEQ, AUDIT_ARCH_X86_64, 1, 0),
        _op(_RET, _RET_KILL_PROCESS),
        _op(_LD_W_ABS, _OFFSET_NR),
        _op(_JGE, _X32_BIT, 0, 1),  # x32 syscall numbers would bypass every rule below
        _op(_RET, _RET_KILL_PROCESS),
    ]
    enosys = _returning([*_ENOSYS.values()], _RET_ERRNO | errno.ENOSYS)
    if stage == "light":
        light = [*_DENY_HIDDEN_MEMORY.values(), *_DENY_PIDFD.values(), *_DENY_NAMESPACES.values()]
        light += [*_DENY_IO_URING.values(), *_DENY_KERNEL_POOLS.values()]
        light += _DENY_INOTIFY.values() if shared_uid else ()
        program += _returning([*light, *_DENY_OTHER_PROCESS.values()], eperm)
        program += _returning([_TKILL, *_DENY_KEYRINGS.values()], eperm) + enosys
        program += _returning([*_DENY_XATTR_SET.values()], _RET_ERRNO | errno.ENOTSUP)
        program += _command_rules()
        targets = sorted({value & 0xFFFFFFFF for value in (*protect, -1)})  # kill(-1): every process we may signal
        for number in _SIGNALS.values():
            program += _deny_values(number, _OFFSET_ARG0_LOW, targets)
        program += [  # clone into new namespaces, or out of the worker's tree
            _op(_JEQ, _CLONE, 0, 4),
            _op(_LD_W_ABS, _OFFSET_ARG0_LOW),
            _op(_JSET, _CLONE_DENIED_FLAGS, 0, 1),
            _op(_RET, eperm),
            _op(_RET, _RET_ALLOW),
        ]
        return b"".join([*program, _op(_RET, _RET_ALLOW)])
    denied = {**_DENY_ALWAYS, **_DENY_HIDDEN_MEMORY, **(_DENY_INOTIFY if shared_uid else {})}
    if stage == "worker":
        denied.update(_DENY_IN_WORKER)
    program += _returning([*denied.values()], eperm) + enosys
    program += _returning([*_DENY_XATTR_SET.values()], _RET_ERRNO | errno.ENOTSUP)
    program += _command_rules()
    for number in _UNIX_ONLY.values():  # these syscalls, for this address family (argument 0) only
        program += _allow_values(number, _OFFSET_ARG0_LOW, [_AF_UNIX])
    if stage == "worker":
        program += [  # clone: threads only
            _op(_JEQ, _CLONE, 0, 4),
            _op(_LD_W_ABS, _OFFSET_ARG0_LOW),
            _op(_JSET, CLONE_THREAD, 0, 1),
            _op(_RET, _RET_ALLOW),
            _op(_RET, eperm),
        ]
        for number in _SELF_ONLY.values():  # signals: to ourselves only
            program += [
                _op(_JEQ, number, 0, 4),
                _op(_LD_W_ABS, _OFFSET_ARG0_LOW),
                _op(_JEQ, pid & 0xFFFFFFFF, 0, 1),
                _op(_RET, _RET_ALLOW),
                _op(_RET, eperm),
            ]
    program.append(_op(_RET, _RET_ALLOW))
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def self_only_filter(pid: int) -> bytes:
    """The BPF program each worker loads last, on every tier, once it is a subreaper: prctl(PR_SET_CHILD_SUBREAPER,
    ...) is refused (EPERM), so the flag stays for all its cells, and the calls that act on a process named by its id
    (`_PID_FIRST`, `_WHO_SECOND`) are allowed on id 0 or `pid` (the worker's own) only, EPERM otherwise. Built per
    worker, not in the zygote's filter, because the worker's pid is known only after the fork. What a cell forks
    inherits it: such a process names itself with 0. Every other call is allowed (the earlier filters still apply)."""
    eperm = _RET_ERRNO | errno.EPERM
    program = [
        _op(_LD_W_ABS, _OFFSET_ARCH),
        _op(_JEQ, AUDIT_ARCH_X86_64, 1, 0),
        _op(_RET, _RET_KILL_PROCESS),
        _op(_LD_W_ABS, _OFFSET_NR),
        *_deny_values(_PRCTL, _OFFSET_ARG0_LOW, [PR_SET_CHILD_SUBREAPER]),
    ]
    for number in _PID_FIRST.values():  # pid_t is an int: the kernel reads the argument's low word only
        program += _allow_values(number, _OFFSET_ARG0_LOW, [0, pid])
    for number, process in _WHO_SECOND.values():
        program += [
            _op(_JEQ, number, 0, 7),
            _op(_LD_W_ABS, _OFFSET_ARG0_LOW),
            _op(_JEQ, process, 0, 3),  # a group or a uid: EPERM
            _op(_LD_W_ABS, _OFFSET_ARG1_LOW),
            _op(_JEQ, 0, 2, 0),
            _op(_JEQ, pid & 0xFFFFFFFF, 1, 0),
            _op(_RET, eperm),
            _op(_RET, _RET_ALLOW),
        ]
    return b"".join([*program, _op(_RET, _RET_ALLOW)])


def install_filter(stage: str, protect: Sequence[int] = (), shared_uid: bool = False) -> int:
    """Load the stage's filter into this process (after no_new_privs). Returns the number of BPF instructions."""
    if stage == "self_only":
        program = self_only_filter(os.getpid())
    else:
        program = build_filter(stage, os.getpid(), protect, shared_uid)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog))
    return len(program) // 8


def denied_syscalls(stage: str, shared_uid: bool = False) -> list[str]:
    """The names of what the stage's filters refuse, as the sandbox's report lists them."""
    inotify = [f"{name} (the worker shares the host's uid and its quota)" for name in _DENY_INOTIFY]
    inotify = inotify if shared_uid else []
    self_only = [f"{name} (on another process: only pid 0 or the worker's own)" for name in _PID_FIRST]
    self_only += [f"{name} (but on the worker itself, as a process)" for name in _WHO_SECOND]
    if stage == "light":
        return [
            *_DENY_HIDDEN_MEMORY,
            *_DENY_PIDFD,
            *_DENY_OTHER_PROCESS,
            *_DENY_NAMESPACES,
            *_DENY_IO_URING,
            *_DENY_KERNEL_POOLS,
            *inotify,
            "clone into new namespaces",
            "clone with CLONE_PARENT (a sibling outside the worker's tree)",
            "prctl PR_SET_CHILD_SUBREAPER (the worker stays its orphans' parent)",
            "fcntl F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETPIPE_SZ",
            "fcntl F_OFD_SETLK, F_OFD_SETLKW (EINVAL)",
            "ioctl FIOSETOWN, SIOCSPGRP",
            "tkill",
            "signals to the host, the zygote, their process groups, or -1",
            *self_only,
        ]
    names = [*_DENY_ALWAYS, *_DENY_HIDDEN_MEMORY, *inotify, *_ENOSYS]
    names += ["fcntl F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETPIPE_SZ", "fcntl F_OFD_SETLK, F_OFD_SETLKW (EINVAL)"]
    names += ["ioctl FIOSETOWN, SIOCSPGRP"]
    names += [f"{name} (but an unnamed AF_UNIX pair)" for name in _UNIX_ONLY]
    if stage == "worker":
        names += [*_DENY_IN_WORKER, "clone (without CLONE_THREAD)", *(f"{n} (to other pids)" for n in _SELF_ONLY)]
        names += ["prctl PR_SET_CHILD_SUBREAPER", *self_only]
    return names


# --- Landlock ----------------------------------------------------------------------------------------------
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REFER = 1 << 13
_FS_TRUNCATE = 1 << 14
_FS_IOCTL_DEV = 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_NET_BIND_TCP = 1
_NET_CONNECT_TCP = 2
_SCOPE_ABSTRACT_UNIX = 1
_SCOPE_SIGNAL = 2
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1


def landlock_abi() -> int | None:
    """The kernel's Landlock ABI version, or None when Landlock is missing or disabled."""
    if sys.platform != "linux":
        return None
    try:
        version: int = libc().syscall(
            ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint(_CREATE_RULESET_VERSION)
        )
    except (OSError, AttributeError):
        return None
    return version if version > 0 else None


def _handled_fs(abi: int) -> int:
    if abi >= 5:
        return (1 << 16) - 1
    if abi >= 3:
        return (1 << 15) - 1
    if abi >= 2:
        return (1 << 14) - 1
    return (1 << 13) - 1


def apply_landlock(read_only: list[str], read_write: list[str], abi: int) -> dict[str, Any]:
    """Allow only these paths from now on (files opened before stay open); no TCP; no signals out (ABI >= 6)."""
    handled = _handled_fs(abi)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", handled, net, scoped)[: 24 if abi >= 6 else 16 if abi >= 4 else 8]
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    _restrict_self(attr, [(p, read & handled) for p in read_only] + [(p, handled) for p in read_write])
    return {"abi": abi, "tcp": "denied" if net else "not covered (ABI < 4)", "signals_scoped": bool(scoped)}


def _restrict_self(attr: bytes, paths: Sequence[tuple[str, int]]) -> None:
    """Put this process (and all it starts) under a Landlock ruleset: `attr` (struct landlock_ruleset_attr), then
    `paths` with their rights. Raises HardeningError."""
    call = libc().syscall
    ruleset = call(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), 0)
    if ruleset < 0:
        raise HardeningError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        for path, rights in paths:
            _add_path_rule(ruleset, path, rights)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if call(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), 0) < 0:
            raise HardeningError(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def scope_signals() -> bool:
    """Landlock ABI 6+ (Linux 6.12): this process and all it starts may signal no process outside them, whatever
    pid or thread id they name (a filter on kill()'s argument knows only the pids it was given). No file or network
    rule is added. Returns False where the kernel has no such scope."""
    abi = landlock_abi()
    if abi is None or abi < 6:
        return False
    _restrict_self(struct.pack("QQQ", 0, 0, _SCOPE_SIGNAL), [])
    return True


_PTY_MAJORS = frozenset({2, 3, *range(128, 144)})
"""Character-device majors of pseudo-terminals (the kernel's Documentation/admin-guide/devices.txt): 2 and 3, the
legacy BSD masters and slaves; 128-135 the Unix98 masters, 136-143 their slaves (/dev/pts/N). /dev/ptmx is 5:2."""
_PTMX = (5, 2)


def _devpts_mounts() -> frozenset[str]:
    """The mount points of devpts file systems (/dev/pts, a container's own), read from /proc/self/mountinfo (its
    fifth field; octal escapes such as \\040 undone): a folder is a pty mount by what the kernel mounted there, never
    by what it holds (audit 86 V13: a cell's link /dev/shm/ptmx -> /dev/ptmx made /dev/shm, every run's work dir,
    look like one, and the next runs' workers could open no file there)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mounts:
            lines = mounts.read().splitlines()
    except OSError:
        return frozenset({"/dev/pts"})
    found = set()
    for line in lines:
        fields, _, after = line.partition(" - ")
        parts = fields.split(" ")
        if len(parts) > 4 and after.split(" ", 1)[0] == "devpts":
            found.add(_mountinfo_unescaped(parts[4]))
    return frozenset(found)


def _mountinfo_unescaped(field: str) -> str:
    """A mountinfo path with its octal escapes (`\\040` a blank, `\\134` a backslash) undone, without `re` (the
    worker's start imports no Python-level module it can avoid)."""
    pieces = field.split("\\")
    out = [pieces[0]]
    for piece in pieces[1:]:
        code = piece[:3]
        octal = len(code) == 3 and all(c in "01234567" for c in code)
        out.append(chr(int(code, 8)) + piece[3:] if octal else "\\" + piece)
    return "".join(out)


def _is_pty(path: str, devpts: frozenset[str]) -> bool:
    """Whether `path` (links followed: a Landlock rule on a link grants its target) is a pseudo-terminal device,
    /dev/ptmx, or a devpts mount point (one of `devpts`)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode):
        return os.path.realpath(path) in devpts
    device = (os.major(info.st_rdev), os.minor(info.st_rdev))
    return stat.S_ISCHR(info.st_mode) and (device[0] in _PTY_MAJORS or device == _PTMX)


def grants_ptys(paths: Sequence[str]) -> bool:
    """Whether a Landlock rule on one of `paths` (links followed) would let a pseudo-terminal open: one of them is a
    pty device, /dev/ptmx or a devpts mount, or a folder holding /dev (/, /dev itself), or a folder inside a devpts
    mount."""
    devpts = _devpts_mounts()
    for path in paths:
        real = os.path.realpath(path)
        if real in ("/", "/dev") or _is_pty(path, devpts) or any(real.startswith(m + "/") for m in devpts):
            return True
    return False


def _all_but_ptys() -> list[str]:
    """Every entry of / but /dev, and every entry of /dev but the pseudo-terminals (/dev/ptmx, /dev/pts and any
    link to them): what a Landlock rule set must grant for a file's opening to be refused at those alone."""
    top = [f"/{name}" for name in sorted(os.listdir("/")) if name != "dev"]
    devices = [f"/dev/{name}" for name in sorted(os.listdir("/dev"))] if os.path.isdir("/dev") else []
    # /dev/fd, /dev/stdin, ... link into /proc (granted with it; a rule on /proc/self/fd/2, a pipe, is refused)
    inside = [path for path in devices if not os.path.realpath(path).startswith("/proc/")]
    devpts = _devpts_mounts()
    return top + [path for path in inside if not _is_pty(path, devpts)]


def refuse_ptys() -> dict[str, Any]:
    """The default tier's Landlock domain, where the kernel has Landlock: no opening of a pseudo-terminal
    (/dev/ptmx allocates one from the host-wide pool, kernel.pty.max: 4,096 by default, with ~60 KB of kernel
    memory no limit counts; audit 85 V12: one cell held 1,200 and ~75 MB), nor of /dev/pts/N (another session's
    terminal); every other file opens as before: only reading and writing files are handled, granted beneath every
    entry of / and of /dev but those. On Linux 6.12+ the same domain scopes signals (`scope_signals`). Returns
    {"ptys_refused": bool, "signals_scoped": bool}, with "ptys_open" (why) where the rule set could not be made (an
    entry it cannot name): ptys then stay open and only the signal scope is applied, where the kernel has it. Raises
    HardeningError when the kernel refuses that scope."""
    abi = landlock_abi()
    if abi is None:
        return {"ptys_refused": False, "signals_scoped": False}
    scoped = _SCOPE_SIGNAL if abi >= 6 else 0
    handled = _FS_READ_FILE | _FS_WRITE_FILE
    attr = struct.pack("QQQ", handled, 0, scoped)[: 24 if abi >= 6 else 16 if abi >= 4 else 8]
    try:
        paths = _all_but_ptys()
        _restrict_self(attr, [(path, handled) for path in paths])
    except (OSError, HardeningError) as exc:  # nothing was applied: the signal scope alone, as before
        return {"ptys_refused": False, "ptys_open": str(exc)[:200], "signals_scoped": scope_signals()}
    return {"ptys_refused": True, "signals_scoped": bool(scoped)}


def _add_path_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # an optional path (e.g. /lib64 on some systems) that does not exist grants nothing
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = struct.pack("=Qi", rights, fd)
        result = libc().syscall(
            ctypes.c_long(SYS_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
            ctypes.c_char_p(rule), ctypes.c_uint(0),
        )  # fmt: skip
        if result < 0:
            raise HardeningError(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


# --- namespaces --------------------------------------------------------------------------------------------
def unshared_namespaces(inside: object) -> list[str]:
    """The namespaces (user, pid, ...) whose ids in `inside` (a worker's `namespace_ids()`) differ from this
    process's: those the worker has of its own. [] for anything that is not such a dict."""
    if not isinstance(inside, dict):
        return []
    ours = namespace_ids()
    return [ns for ns in ours if inside.get(ns) and inside[ns] != ours[ns]]


def namespace_ids() -> dict[str, str]:
    """This process's namespace ids ("net:[4026531840]", ...); a launcher compares them with the host's."""
    ids = {}
    for name in ("user", "pid", "net", "mnt", "ipc", "uts", "cgroup"):
        try:
            ids[name] = os.readlink(f"/proc/self/ns/{name}")
        except OSError:
            continue
    return ids


def host_identity(launch_uid: int) -> dict[str, Any]:
    """What a launcher tells its worker of itself (`harden_options`), for `host_side_uid`: its uid, its user namespace,
    and the uid it starts the worker's process under (its own, or a root host's separate uid). A worker charged to
    the host's uid is refused inotify, a per-uid quota (`harden_zygote`)."""
    return {"host_uid": os.getuid(), "host_user_namespace": namespace_ids().get("user"), "launch_uid": launch_uid}


def host_side_uid(options: dict[str, Any]) -> int:
    """The uid, as the host's user namespace knows it, that the kernel charges this process's per-uid counts to. In
    the host's own namespace, `os.getuid()` (after any switch). In a user namespace made below it (bubblewrap's,
    where the worker is 65534, or `enter_pid_namespace`'s), the uid the launcher started the process under: each of
    those namespaces maps only its maker's uid, and a count made inside is charged up the namespace tree to that
    uid (bubblewrap nests two, so the worker's own `uid_map` names an id of the middle one, 0, not the host's).
    Compared as numbers, 65534 inside and the host's 1000 differ, yet a cell's 128 inotify instances left the host
    user's own inotify_init1 failing with EMFILE (audit 88 V05)."""
    here = namespace_ids().get("user")
    host = options.get("host_user_namespace")
    if host is None or here is None or here == host or options.get("launch_uid") is None:
        return os.getuid()
    return int(options["launch_uid"])


# --- a pid namespace of its own ----------------------------------------------------------------------------
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_NO_NAMESPACE = 111
"""The exit code of the helper that tried the namespaces and found them refused (the caller goes on without)."""


def enter_pid_namespace() -> bool:
    """Go on in a pid namespace of our own (and a user and a mount namespace, which an unprivileged process needs
    for it, with a /proc of that namespace), so that no process of ours can name the host, or any of its threads,
    by pid: kill(), tgkill(), rt_sigqueueinfo() and the rest resolve a pid in the caller's namespace, and the
    host's pids and thread ids are not there. On a non-root host the kernel lets a worker of the host's uid signal
    it by any of its thread ids (a seccomp rule on kill()'s argument cannot know thread ids started later), and a
    Landlock signal scope needs Linux 6.12.

    Tried in a forked helper first, since a pid namespace cannot be left once entered (and a proc mount may be
    refused, say in a container with masked /proc paths): returns False, this process unchanged, where the kernel
    refuses (no unprivileged user namespaces, AppArmor's restriction on Ubuntu 24.04, seccomp in a container, a
    process with more than one thread). Where it works, it returns True in a new process, the second of the
    namespace (pid 2; its init, pid 1, only reaps), the one that goes on; the caller itself and the helper stay
    outside and wait, then exit as it exits. So the host's process handle and tree walks still reach it, and
    the pids it reports (its own, its children's) are of its namespace. Must be called before the seccomp filters
    (which deny unshare) and while single-threaded. Linux only."""
    if sys.platform != "linux" or _machine() != "x86_64" or len(os.listdir("/proc/self/task")) != 1:
        return False
    uid, gid = os.geteuid(), os.getegid()
    ready_read, ready_write = os.pipe()
    try:
        helper = os.fork()
    except OSError:
        os.close(ready_read)
        os.close(ready_write)
        return False
    if helper == 0:
        os.close(ready_read)
        code = _NO_NAMESPACE
        try:
            if _namespace_helper(uid, gid, ready_write):
                return True  # the process that goes on, inside
        except BaseException:  # whatever failed, the caller goes on without the namespace
            pass
        os._exit(code)
    os.close(ready_write)
    entered = _read_fd_all(ready_read)  # end of file: the helper gave up, or the process inside goes on
    os.close(ready_read)
    try:
        _, status = os.waitpid(helper, 0)
    except ChildProcessError:
        os._exit(1)
    if not entered:
        return False
    _exit_as(status)  # the process inside has ended: so does this one, its stand-in for the host
    return False  # not reached


def _read_fd_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 16):
        data += chunk
    return data


def _namespace_helper(uid: int, gid: int, ready: int) -> bool:
    """In the forked helper: enter the namespaces, start their init, which mounts the namespace's /proc, tells
    `ready` and forks the process that goes on (True there). The helper and the init wait and exit as it does."""
    set_parent_death_signal(_signal.SIGKILL)
    if libc().unshare(ctypes.c_int(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS)) < 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
            handle.write(text)
    init = os.fork()  # pid 1 of the new namespace
    if init == 0:
        set_parent_death_signal(_signal.SIGKILL)
        mount = libc().mount
        if mount(b"none", b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None) < 0:
            os._exit(_NO_NAMESPACE)
        if mount(b"proc", b"/proc", b"proc", ctypes.c_ulong(_MS_NOSUID | _MS_NODEV | _MS_NOEXEC), None) < 0:
            os._exit(_NO_NAMESPACE)
        inner = os.fork()
        if inner == 0:
            set_parent_death_signal(_signal.SIGKILL)
            os.write(ready, b"1")
            os.close(ready)
            if os.getppid() != 1:
                os._exit(1)
            if not drop_capabilities():  # the new user namespace gave every capability in it
                os._exit(1)
            return True
        os.close(ready)
        # The kernel delivers a signal sent from inside the namespace to its init only where init handles it: with
        # Python's SIGINT handler a cell's kill(1, SIGINT) ended init, and with it every process of the run.
        for number in _signal.valid_signals():
            if number not in (_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD):
                try:  # no contextlib: the worker starts without modules it needs only later
                    _signal.signal(number, _signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        while True:  # the namespace's init: reap every orphan, exit as the process that goes on exits
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                os._exit(1)
            except InterruptedError:
                continue
            if pid == inner:
                # a signal to itself would not end a namespace's init: the code says which one ended the process
                os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status))
    os.close(ready)
    _, status = os.waitpid(init, 0)
    _exit_as(status, from_init=True)
    return False  # not reached


def _exit_as(status: int, from_init: bool = False) -> None:
    """Exit as the waited-for process did: by its signal (a code over 128 from a namespace's init names one)."""
    code = os.waitstatus_to_exitcode(status)
    signum = -code if code < 0 else code - 128 if from_init and code > 128 else 0
    if signum:
        _signal.signal(signum, _signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(code if code >= 0 else 1)


# --- the two stages ----------------------------------------------------------------------------------------
def harden_zygote(options: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    """Stage one, after the contexts are loaded. Returns what was applied; raises HardeningError on a gap."""
    applied: dict[str, Any] = {"uid": os.getuid(), "gid": os.getgid(), "namespaces": namespace_ids()}
    apply_limits(limits)
    # A worker of the host's own uid (a non-root host) may signal any of the host's threads by its id: out of its
    # reach in a pid namespace of its own, where the kernel allows one. Entered while still dumpable: a
    # non-dumpable process's /proc/self/uid_map is root's to write.
    if options.get("pid_namespace") and not options.get("switch_uid"):
        applied["pid_namespace"] = enter_pid_namespace()
        if applied["pid_namespace"]:
            applied["namespaces"] = namespace_ids()  # the user, pid and mount namespaces it is in now
    make_undumpable()
    applied["dumpable"] = False
    become_subreaper()
    applied["subreaper"] = True
    if options.get("switch_uid"):
        applied.update(switch_user(int(options["switch_uid"])))
    applied.update(bound_user_counts())
    # after any switch: a worker that had to stay root on a root host shares root's quotas
    shared_uid = options.get("host_uid") is not None and host_side_uid(options) == int(options["host_uid"])
    applied["shared_uid"] = shared_uid
    if any(options.get(k) for k in ("seccomp", "landlock", "no_new_privs", "switch_uid")):
        prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid or file-capability binary gives privileges back
        applied["no_new_privs"] = True
    landlock = options.get("landlock")
    if landlock:
        abi = landlock_abi()
        if abi is None:
            raise HardeningError("Landlock was required but the kernel does not offer it")
        granted = [*landlock["read_only"], *landlock["read_write"]]
        applied["landlock"] = apply_landlock(list(landlock["read_only"]), list(landlock["read_write"]), abi)
        # only the listed paths open, so no pseudo-terminal where none of them is one or holds one (audit 87 V16:
        # the worker then names the refusal, as on the default tier)
        applied["ptys_refused"] = not grants_ptys(granted)
    if options.get("seccomp"):
        if not seccomp_supported():
            raise HardeningError(f"seccomp was required but is not supported here ({_machine()})")
        applied["seccomp_zygote_rules"] = install_filter("zygote", shared_uid=shared_uid)
    elif options.get("seccomp_light") and seccomp_supported():
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        applied["no_new_privs"] = True
        me = os.getpid()  # the zygote (or the single worker): its pid is its process group too (own session)
        if applied.get("pid_namespace"):
            # the host's pid and group are numbers of another namespace: here they may be a cell's own child's; the
            # namespace's init (1) is protected instead, whose end would end every process of the run
            protect = [me, -me, 1, -1]
        else:
            protect = [int(p) for p in options.get("protect", [])] + [me, -me]
        applied["seccomp_light_rules"] = install_filter("light", protect, shared_uid)
        applied.update(refuse_ptys())
    return applied


def harden_worker(options: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    """Stage two, in each worker before its first cell: bound processes, then the worker's seccomp filter."""
    applied: dict[str, Any] = {}
    apply_limits(limits, keys=("memory_bytes", "processes"))
    become_subreaper()
    if limits.get("processes"):
        applied["max_processes"] = limits["processes"]
    if options.get("seccomp"):
        applied["seccomp_worker_rules"] = install_filter("worker")
        applied["seccomp"] = prctl(PR_GET_SECCOMP) == SECCOMP_MODE_FILTER
    if options.get("seccomp") or (options.get("seccomp_light") and seccomp_supported()):
        prctl(PR_SET_NO_NEW_PRIVS, 1)  # set already by stage one; a filter needs it
        install_filter("self_only")
        applied["subreaper_locked"] = True
    return applied
