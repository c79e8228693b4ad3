"""The default sandbox, and the transport every process launcher shares.

SubprocessSandbox runs the stdlib worker in a child process with a scrubbed environment and rlimits. It owns
the worker's life (spawn, frames, soft and hard timeouts, restart after a kill) and the host-side caps. Other
launchers (isolated.py) subclass it and change only how the worker is started: `command()`, `spawn_options()`,
`harden_options()` and `describe()`. It never calls an LM: sub-call frames go to the engine's handler.

Host-side caps, each checked on the host whatever the worker claims:

* frame size (`max_frame_bytes`): checked on the announced length, before reading the body;
* output per cell (`max_output_chars` for stdout, stderr and the error text);
* sub-calls per cell and per sandbox (`max_calls_per_cell`, `max_calls_per_run`) and the characters sent to
  sub-LMs over the sandbox's life (`max_prompt_chars`): calls over a cap are refused with a clear error;
* results: a result must answer this cell's random token; a result that would finish the run is accepted only
  once the worker has then answered a sync ping, so a result forged mid-cell (with the real one still to come)
  never becomes a final answer. A forged result that does not finish is caught at the next cell.

A frame that breaks any of these ends the worker (never the host); the cell comes back as "restarted".

What the host does for itself and the run (SANDBOX.md; README "The sandbox"):

* the host makes itself non-dumpable, so no process of its uid can read its environment, memory, descriptors
  or cwd through /proc, nor ptrace it;
* on a non-root host the zygote (or the single worker) goes on in a pid namespace of its own where the kernel
  allows one (`harden.enter_pid_namespace`), so no cell can name the host or any of its threads by pid; the zygote
  then names its workers by their pids there, and the host finds the ones it sees (`_Worker.inner`);
* on a root host the worker runs under a fresh unnamed uid (its own RLIMIT_NPROC, no access to root's files or
  processes), which the run's child RLMs' workers share: a run that may have children (`plan_children`), or has
  one, gives every REPL of it (its own included) one ceiling sized for the run's REPL and `max_live_children`
  children at once on each level of the tree (`tree_processes`), and more children of a level wait for a place;
  when the Python cannot run under another uid (a pyenv under /root), it runs as root with every
  capability dropped and no_new_privs instead, and the report says so;
* the run directory is private (0700, or 0750 to the sandbox uid's group) and holds an owner file, so a later
  start removes it if this host dies without cleaning up; context files are unlinked once loaded (the host keeps
  a descriptor to write them again for a restart);
* everything a cell starts is killed on close or restart, double-forked daemons included (subreapers and a
  walk of the process tree; on a root host also every process of the sandbox uid);
* the total a run writes is bounded (`disk_limit_bytes`, default 1 GiB): a size-limited tmpfs under bubblewrap,
  elsewhere a watcher that measures the work dir ten times a second and restarts the worker past the bound;
* so is the memory a cell's processes hold together (the memory limit, which RLIMIT_AS applies to each process
  alone): the same watcher sums the worker's and its descendants' memory once the worker has a child, and the
  run's child RLMs' workers with it (the largest is ended past the bound);
* between a session's questions the worker's processes are stopped (SIGSTOP) until its next use: what a cell left
  running uses no CPU while the session waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rlmx.context import PreparedContext
from rlmx.deadline import time_limit
from rlmx.errors import InputError, SandboxError, SandboxStartError
from rlmx.sandbox import frames, harden, rundir
from rlmx.sandbox.base import CallHandler, CellResult, SubCall, replaced_names, settle
from rlmx.sandbox.bytecode import worker_bytecode
from rlmx.sandbox.caps import CallCaps
from rlmx.sandbox.channel import (
    ChannelBroken,
    FrameChannel,
    StderrTail,
    exit_description,
    kill_group,
    kill_group_now,
    start_process,
)
from rlmx.sandbox.strmap import PREFIX_BYTES
from rlmx.sandbox.uids import mapped_uid
from rlmx.sandbox.zygote import Zygote, ZygoteGone, fork_message
from rlmx.strbuffer import ascii_bytes

WORKER_FILES = ("worker.py", "frames.py", "harden.py", "strmap.py", "graphemes.py")
PACKAGE_DIR = Path(__file__).parent
WORKER_PATH = PACKAGE_DIR / "worker.py"
_OUTPUT_SLACK = 200  # the "[N characters cut]" marker the worker inserts
UID_BASE = 0x30000000  # far above any distro's user and subordinate-uid ranges
_DISK_POLL = 0.1
POOL_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""The variables that size numerical libraries' thread pools (OpenMP, OpenBLAS, MKL, BLIS, Accelerate, numexpr)."""


def pool_threads(max_processes: int) -> int:
    """The thread-pool size a REPL's numerical libraries get: the cores this process may use, at most an eighth of
    `max_processes` (16 for the default 128). Unset, OpenBLAS and OpenMP start a thread per core at import: numpy in
    a REPL on a 192-core host alone passed RLIMIT_NPROC, and a child RLM's REPL passed the `max_processes` its
    watcher ends it at. A cell may set them itself before its import."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, max_processes // 8))


def pool_thread_env(max_processes: int) -> dict[str, str]:
    """The worker's environment entries that size its numerical libraries' thread pools (`pool_threads`)."""
    return dict.fromkeys(POOL_THREAD_VARIABLES, str(pool_threads(max_processes)))


@dataclass(slots=True)
class _Abandoned:
    """A cell whose caller gave up: its exec frame's token, and (id, item count) of its calls left unanswered."""

    token: str
    calls: list[tuple[Any, int]]


_ABANDONED_GRACE = 3.0
"""Seconds an interrupted cell of a cancelled question has to end before its worker is ended instead."""


def _interrupt(worker: _Worker) -> bool:
    """SIGINT to the worker (a KeyboardInterrupt in its cell); False where it cannot be sent (a pid of another pid
    namespace, a worker gone)."""
    if worker.zygote is None or not worker.same_pid_namespace:
        return False
    try:
        os.kill(worker.pid, signal.SIGINT)
    except OSError:
        return False
    return True


class _WorkerGone(Exception):
    """The worker died, overran its hard timeout, or broke the frame protocol."""


def _close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _text_field(frame: dict[str, Any], key: str, cap: int | None) -> str:
    value = frame.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _WorkerGone(f"the worker sent a result whose {key!r} is not text")
    if cap is not None and len(value) > cap + _OUTPUT_SLACK:
        raise _WorkerGone(f"the worker sent {len(value):,} characters of {key}, over the {cap:,}-character cap")
    return value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _cell_result(frame: dict[str, Any], max_output: int) -> CellResult:
    """Validate a result frame field by field: the worker is untrusted, so nothing is taken on faith."""
    status = frame.get("status")
    final = frame.get("final")
    answer = frame.get("answer")
    if status not in ("ok", "error", "timeout"):
        raise _WorkerGone(f"the worker sent a result with an unknown status {str(status)[:40]!r}")
    if final is not None and not (isinstance(final, dict) and final.get("kind") in ("final", "final_var", "submit")):
        raise _WorkerGone("the worker sent a malformed final answer")
    error = _text_field(frame, "error", max_output)
    return CellResult(
        status=status,
        stdout=_text_field(frame, "stdout", max_output),
        stderr=_text_field(frame, "stderr", max_output),
        error=error or None,
        stdout_cut=_int(frame.get("stdout_cut")),
        stderr_cut=_int(frame.get("stderr_cut")),
        final=final,
        answer=answer if isinstance(answer, dict) else {},
        seconds=float(frame["seconds"]) if isinstance(frame.get("seconds"), int | float) else 0.0,
        replaced=replaced_names(frame),
        rebound=replaced_names(frame, "rebound"),
    )


@dataclass(slots=True)
class _Worker:
    """One running worker: its channel, and how to end it (directly, or through the zygote that forked it)."""

    channel: FrameChannel
    pid: int
    process: asyncio.subprocess.Process | None = None
    stderr: StderrTail | None = None
    zygote: Zygote | None = None
    same_pid_namespace: bool = True
    inner: int = 0
    """The worker's pid in its zygote's own pid namespace (`harden.enter_pid_namespace`), which the zygote's
    requests name it by; 0 where `pid` is that too. `pid` is then the one this process sees."""
    stop: Callable[[], Awaitable[None]] | None = None
    """A launcher's own way to end the worker (`docker kill`), run before the process group is killed."""

    async def kill(self) -> None:
        if self.stop is not None:
            with contextlib.suppress(Exception):
                await self.stop()
        if self.zygote is not None:
            with contextlib.suppress(ZygoteGone):  # a failing zygote kills its whole group on the way out
                await self.zygote.kill(self.inner or self.pid)
        else:
            if self.process is not None and self.process.returncode is None:
                harden.kill_tree(self.process.pid)  # the worker is a subreaper: its tree has everything
            await kill_group(self.process)
        await self.channel.close()
        if self.stderr is not None:
            await self.stderr.finish()

    def kill_now(self) -> None:
        if self.zygote is None:
            if self.process is not None and self.process.returncode is None:
                harden.kill_tree(self.process.pid)
            kill_group_now(self.process)
        elif self.same_pid_namespace:
            harden.kill_tree(self.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        else:  # a pid inside bwrap's namespace means nothing here: end the zygote, and its workers with it
            self.zygote.kill_now()

    async def exit_description(self) -> str:
        code: int | None = None
        if self.zygote is not None:
            with contextlib.suppress(ZygoteGone):
                code = await self.zygote.wait(self.inner or self.pid, 2.0)
        elif self.process is not None:
            with contextlib.suppress(TimeoutError):
                async with time_limit(2.0):
                    code = await self.process.wait()
        return exit_description(code)


_VANISHED_RESCANS = 2
"""How many times more a disk reading in which a folder vanished mid-walk is taken at once (`_watch_usage`)."""


def _watch_usage(
    folders: list[Path],
    uid: int | None,
    worker: Callable[[], int],
    workers: Callable[[], list[int]],
    limits: tuple[int, int],
    stop: threading.Event,
    over: asyncio.Future[tuple[str, int, int]],
    mapped: rundir.MappedFiles | None = None,
    children: tuple[Callable[[], list[int]], int] = (list, 0),
    lockers: Callable[[], list[int]] = list,
    mounts: Callable[[], list[str]] = list,
    reports: harden.MemoryReports | None = None,
) -> None:
    """The usage watcher's thread: every _DISK_POLL seconds until `stop`, what the worker has written (`worker()`
    gives its pid, for the files without a name it and its children hold open or map (`mapped`: the record of
    their maps and the RAM-growth baseline, made before the worker could run a cell): 0.1 ms a poll) against the disk
    limit, and the memory the workers `workers()` names (a run's, and its child RLMs' sharing its zygote) and their
    descendants hold together against the memory limit (`limits`); over either, ("disk" or "memory", the amount,
    the pid of the worker to end) goes to `over` and the thread ends (a disk walk that could not read a folder sends
    ("unmeasured:<why>", ...): never taken for an empty one); so does ("locks", how many, the worker to end)
    for file locks whose kernel memory (`harden.trees_locks_over`) is over `harden.locks_bound` of the memory
    limit, held by the workers `lockers()` names (every one of the run's, a lone one under bubblewrap too) and their
    descendants. `mounts()` names whole tmpfs mounts the worker writes to (bubblewrap's, as this process reaches
    them), read each disk scan from the kernel's counts (`rundir.mount_usage`) and added to the folders' walk. A
    thread of its own, which
    wakes the event loop only for a breach: a scan through the loop's executor cost three wake-ups a poll, and
    every sub-call's gap about 0.25 ms (benchmarks/vs_official/NOTES.md, change 26). A disk scan that takes long
    (a worker that made many files) is repeated less often, so that scanning never takes more than a tenth of the
    host's time; the memory check still runs every poll. `children`: (the pids of the run's child RLMs' workers,
    the threads and processes each may run): one whose tree runs more is ("processes", how many, its pid); 0: no
    such check. `reports`: where the processes send their own smaps_rollup (`harden.MemoryReports`, a host that may
    not read their /proc), drained every poll and read for the memory check."""
    disk_limit, memory_limit = limits
    disk_due = locks_due = 0.0
    mapped = rundir.MappedFiles() if mapped is None else mapped
    while not stop.wait(_DISK_POLL):
        breach: tuple[str, int, int] = ("disk", 0, 0)
        try:
            places = mounts() if time.monotonic() >= disk_due else []
            if (folders or places) and time.monotonic() >= disk_due:
                pid = worker()
                began = time.monotonic()
                walk = rundir.Walk()
                used = rundir.usage(folders, uid, pid, mapped, walk) if folders else 0
                with contextlib.suppress(OSError):  # its namespace ended mid-read: the memory and lock checks
                    used += rundir.mount_usage(places)  # below still run this poll
                for _ in range(
                    _VANISHED_RESCANS if folders else 0
                ):  # a folder moved or went while it was walked: each reading is
                    if not walk.vanished or used > disk_limit:  # the least held at some moment, so the greatest
                        break  # of them is too; a folder a cell moves about in a loop is missed by fewer of them
                    walk = rundir.Walk(unmeasured=walk.unmeasured)
                    used = max(used, rundir.usage(folders, uid, pid, mapped, walk))
                disk_due = began + 10 * (time.monotonic() - began)  # the next scan after nine times this one's length
                breach = ("disk", used, pid) if used > disk_limit else breach
                if not breach[1] and walk.unmeasured:  # what cannot be measured is not taken for nothing (V08)
                    breach = (f"unmeasured:{walk.unmeasured}", max(used, 1), pid)
            if reports is not None:  # every poll: a queue left full would refuse the reports of children forked later
                reports.drain()
            if not breach[1] and time.monotonic() >= locks_due:
                # File locks' kernel memory, which no process's memory shows and Linux does not limit (audit 83 V06:
                # 1.08 M fcntl locks pinned 201 MB); ~1.6 us a lock to count, so paced as the disk scan is
                began = time.monotonic()
                breach = ("locks", *harden.trees_locks_over(lockers(), harden.locks_bound(memory_limit)))
                locks_due = began + 10 * (time.monotonic() - began)
            if not breach[1]:
                breach = ("memory", *harden.trees_memory_over(workers(), memory_limit, reports))
            if not breach[1] and children[1]:
                breach = ("processes", *harden.trees_tasks_over(children[0](), children[1]))
        except Exception:  # a poll that failed (a worker or folder gone mid-read as the run ends) is polled again:
            continue  # its traceback reached a CLI user's stderr once (audit 77), and it killed the watch
        if breach[1]:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is left to tell
                over.get_loop().call_soon_threadsafe(settle, over, breach)
            return


def _breach_message(kind: str, used: int, limits: tuple[int, int], shared: bool = False) -> str:
    """Why the watcher ended the worker, for the model. `shared`: the memory was that of several REPLs of the run
    (this one and child RLMs'), of which this one held the most."""
    if kind == "processes":
        return (
            f"this child RLM's REPL ran {used:,} threads and processes at once, over its share of the run's process "
            f"count (sandbox option max_processes, {limits[1]:,} for each REPL; the run's REPLs share one uid, whose "
            "count the kernel checks), so it was killed. Start fewer threads or processes (a smaller pool)"
        )
    if kind == "locks":
        return (
            f"the worker and the processes it started held {used:,} file locks (fcntl/lockf byte ranges, flock), "
            f"whose kernel memory ({harden.LOCK_BYTES} bytes each, which no memory limit counts) came to over "
            f"{harden.locks_bound(limits[1]):,} bytes (an eighth of the run's memory bound of {limits[1]:,} bytes, "
            "sandbox option memory_limit_bytes, 64 MiB at most), so they were killed. Take fewer locks"
        )
    if kind == "disk":
        return (
            f"the worker wrote {used:,} bytes, over the run's disk limit of {limits[0]:,} bytes "
            "(sandbox option disk_limit_bytes), so it was killed and its files deleted"
        )
    if kind.startswith("unmeasured:"):
        return (
            f"the host could not measure what the worker wrote (a folder it made could not be read: "
            f"{kind.partition(':')[2]}), so it could not hold the run's disk limit of {limits[0]:,} bytes (sandbox "
            "option disk_limit_bytes); the worker was killed and its files deleted. Keep the folders you make "
            "readable by their owner"
        )
    if shared:
        return (
            f"this run's REPLs (this one and the child RLMs' running beside it) held {used:,} bytes of memory "
            f"together, over the run's memory bound of {limits[1]:,} bytes (sandbox option memory_limit_bytes, for "
            "all of them together), and this one held the most, so it was killed"
        )
    return (
        f"the worker and the processes it started held {used:,} bytes of memory together, over the run's memory "
        f"bound of {limits[1]:,} bytes (sandbox option memory_limit_bytes, for all of them together), so they were "
        "killed"
    )


class _HardClock:
    """The worker's own time in a cell, against the cell's hard limit. It runs only while no sub-call is being
    served (time waiting on the host is not the worker's), and the frame read's deadline (`read`, an
    asyncio.Timeout) moves when the last call in flight ends. A call task that fails ends the read at once."""

    def __init__(self, limit: float | None) -> None:
        self.loop = asyncio.get_running_loop()
        self.left = limit  # seconds of worker time left as of `since`; None: no limit
        self.since = self.loop.time()
        self.calls = 0
        self.read: asyncio.Timeout | None = None
        self.failure: BaseException | None = None

    def deadline(self) -> float | None:
        """The loop time at which the worker's time runs out; None while calls are in flight or without a limit."""
        return None if self.left is None or self.calls else self.since + self.left

    def call_started(self) -> None:
        if not self.calls and self.left is not None:
            self.left = max(self.left - (self.loop.time() - self.since), 0.0)
        self.calls += 1

    def call_ended(self, task: asyncio.Task[None]) -> None:
        self.calls -= 1
        if not self.calls:
            self.since = self.loop.time()
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
        if self.read is not None:
            self.read.reschedule(self.loop.time() if self.failure is not None else self.deadline())

    def raise_failure(self) -> None:
        """Raise what a call task raised (the host's own fault, or a broken channel), if one did."""
        if self.failure is not None:
            raise self.failure


class _Family:
    """The REPLs that share one zygote: a run's, and its child RLMs' (`fork_child`). They run under one uid, so one
    process count (RLIMIT_NPROC) and one memory watcher (the run's) cover them together. `level(generation)` queues
    a child's start so that at most `size` children of one level of the tree run at once; each level has its own
    queue, so a child waiting for its own children never holds a place they wait for, and the process ceiling
    counts every level's (`levels`)."""

    def __init__(self, owner: SubprocessSandbox, size: int) -> None:
        self.size = size
        self.members: tuple[SubprocessSandbox, ...] = (owner,)
        """Replaced, never changed in place: the watcher's thread reads it while the loop adds and removes."""
        self._levels: dict[int, asyncio.Semaphore] = {}
        self.planned: int | None = None
        """How many levels of child RLMs the run may have (`plan_children`: max_depth - 1); None: not said."""
        self.started = 0
        """The deepest level of child RLMs started so far (0: none yet)."""

    def levels(self) -> int:
        """The levels of child RLMs the process ceiling is sized for: those planned, or as many as have started,
        whichever is more; 0 while the run has none and none were planned (its REPL then has `max_processes`)."""
        return max(self.planned or 0, self.started)

    def level(self, generation: int) -> asyncio.Semaphore:
        return self._levels.setdefault(generation, asyncio.Semaphore(self.size))

    def join(self, member: SubprocessSandbox) -> None:
        self.members = (*self.members, member)

    def leave(self, member: SubprocessSandbox) -> None:
        self.members = tuple(m for m in self.members if m is not member)


_SIGNAL_SCOPE_ONLY = {"signals_scoped": True, "files": "not covered", "tcp": "not covered"}
"""The default tier's Landlock report (the shape of the isolated tier's `landlock`): the signal scope alone."""
_PTYS_ONLY = "pseudo-terminals refused (/dev/ptmx, /dev/pts/N); every other file as without Landlock"


def _landlock_report(applied: dict[str, Any]) -> dict[str, Any]:
    """The default tier's Landlock report from what the worker applied (`harden.refuse_ptys`)."""
    files = _PTYS_ONLY if applied.get("ptys_refused") else "not covered"
    return _SIGNAL_SCOPE_ONLY | {
        "signals_scoped": bool(applied.get("signals_scoped")),
        "files": files,
        "abi": harden.landlock_abi(),
    }


_BY_PID = re.compile(
    r"sched_setaffinity|setpriority|prlimit|sched_setscheduler|sched_setparam|cpu_affinity|ionice|\.nice\("
)
_REFUSED = "PermissionError: [Errno 1] Operation not permitted"


def _self_only_note(error: str | None) -> str | None:
    """A cell's error, with a note where it was the seccomp filter's refusal of a call naming a process by pid
    (`harden.self_only_filter`): Python's bare EPERM does not say that only pid 0 is allowed."""
    if not error or _REFUSED not in error or not _BY_PID.search(error):
        return error
    return (
        f"{error}\nNote: in this sandbox a process may set the limits, nice value, CPUs or scheduling of one process "
        "only: itself, named by pid 0 (os.sched_setaffinity(0, ...), os.setpriority(os.PRIO_PROCESS, 0, n), "
        "resource.setrlimit, os.nice); naming any other pid, even its own or a child's, is refused (the run's REPLs "
        "share one uid, so a pid could name another REPL)."
    )


class SubprocessSandbox:
    """The stdlib worker as a child process: `python -E -s worker.py MODE FD` in its own session.

    The contexts are written once to files (tmpfs when available) and loaded once, by a zygote that then forks
    the worker (`zygote=True`, the default) or by the worker itself. A restart after a hard kill forks a fresh
    worker from the zygote in milliseconds. The worker's environment holds nothing of the host's.
    """

    tier = "subprocess"
    same_pid_namespace = True
    chooses_uid = True
    """Whether this launcher picks the worker's uid on a root host (a container picks its own)."""
    passes_memory_reports = True
    """Whether its zygote or single worker inherits the memory report socket (`harden.MemoryReports`), which a host
    that may not read its workers' /proc reads their Pss through."""

    def __init__(
        self,
        *,
        max_output_chars: int = 20_000,
        max_frame_bytes: int = frames.DEFAULT_MAX_FRAME_BYTES,
        memory_limit_bytes: int | None = None,
        file_size_limit_bytes: int = 1 << 30,
        open_files_limit: int = 256,
        hard_timeout_grace: float | None = None,
        python: str | os.PathLike[str] | None = None,
        zygote: bool = True,
        max_calls_per_cell: int = 1_000,
        max_calls_per_run: int = 10_000,
        max_prompt_chars: int = 100_000_000,
        disk_limit_bytes: int = 1 << 30,
        uid: int | None = None,
        max_processes: int = 128,
        max_live_children: int = 16,
    ) -> None:
        if disk_limit_bytes <= 0:
            raise InputError(f"disk_limit_bytes must be a positive number of bytes, not {disk_limit_bytes!r}")
        if isinstance(max_live_children, bool) or not isinstance(max_live_children, int) or max_live_children < 1:
            raise InputError(f"max_live_children must be an integer >= 1, not {max_live_children!r}")
        self.disk_limit_bytes = disk_limit_bytes
        self.uid = uid if uid is not None else UID_BASE + secrets.randbelow(1 << 24)
        self.fresh_uid = uid is None
        """A uid picked for this sandbox alone: at close, every process it still owns is killed."""
        self.separate_uid = False
        self.switch_in_worker = False
        """Root host: the worker starts as root and switches to `uid` itself (else a launcher starts it as uid)."""
        self.drop_capabilities = False
        self.identity_note = ""
        self.max_processes = max_processes
        self.max_live_children = max_live_children
        """Child RLMs of one level of the tree whose REPLs run at once; more wait for a place (`_Family`)."""
        self._family = _Family(self, max_live_children)
        self._generation = 0
        """0 for a run's own REPL, 1 for its child RLMs', 2 for theirs, ..."""
        self._slot: asyncio.Semaphore | None = None
        """The place a child's REPL holds in its level's queue while it runs."""
        self._paused = False
        """The worker's processes are stopped (SIGSTOP) between a session's questions, until its next use."""
        self.max_output_chars = max_output_chars
        self.max_frame_bytes = max_frame_bytes
        self.memory_limit_bytes = memory_limit_bytes
        self.file_size_limit_bytes = file_size_limit_bytes
        self.open_files_limit = open_files_limit
        self.hard_timeout_grace = hard_timeout_grace
        chosen = os.fspath(python) if python else sys.executable  # a Path too
        # A relative path with a folder in it (`.venv/bin/python`, as the README gives) is made absolute against the
        # folder it was given in: the worker starts in its run folder, where it names nothing. A bare name: PATH's.
        self.python = os.path.abspath(chosen) if os.sep in chosen else chosen
        self.use_zygote = zygote
        self._main = "worker.py"
        """The file the launcher runs: worker.pyc once layout() copied the cached bytecode (see bytecode.py)."""
        self.call_caps = CallCaps(max_calls_per_cell, max_calls_per_run, max_prompt_chars)
        self.protections: dict[str, Any] = {"tier": self.tier}
        self.restarts = 0
        self.workers_started = 0
        """Workers that started and reported ready (a restart starts one, as a silent respawn does): what a cell
        defined, a session's setup code included, lives in the latest alone."""
        self._dir: Path | None = None
        self._closed = False
        """Closed for good: no worker is started again (a cell still running then fails instead of restarting)."""
        self._contexts: list[dict[str, str]] = []
        """Contexts the zygote (or the single worker) loads at start."""
        self._extra: list[dict[str, str]] = []
        """Contexts each forked worker loads itself: a session's later ones, or a child sandbox's own."""
        self._variables: dict[str, Any] = {}
        self._context_bytes = 0
        self._zygote: Zygote | None = None
        self._owns_zygote = True
        self._keep: list[str] | None = None
        self._worker: _Worker | None = None
        self._answer: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._held: dict[Path, int] = {}
        """Context files this sandbox wrote, and a descriptor to each: the files are unlinked once loaded."""
        self._fresh: set[Path] = set()
        """Of those, the ones written since the last unlink (no need to write them again)."""
        self._breach: str | None = None
        self._stuck = ""
        """A folder the worker made that a breach's removal could not delete nor read, in words: no new worker is
        started (it would be killed for the same folder, cell after cell)."""
        self._cleared = asyncio.Event()
        """Clear while a disk breach's files are being deleted: a restart waits for it, so that its new worker's
        first files are not deleted with them (a cell's check right after the restart found them still there)."""
        self._cleared.set()
        self._watcher: asyncio.Task[None] | None = None
        self._watch_stop: threading.Event | None = None
        """Stops the usage watcher's current thread (`_watch_usage`)."""
        self._abandoned: _Abandoned | None = None
        """A cell its caller gave up on (a cancelled question), interrupted and not yet seen to end."""
        self._reports: harden.MemoryReports | None = None
        """Where the processes of a host that may not read their /proc send their own smaps_rollup (the zygote's
        owner binds it in the run dir; its child RLMs' workers, forked from the same zygote, send there too)."""

    # --- what a launcher overrides ---------------------------------------------------------------------------
    def command(self, mode: str, fd: int) -> list[str]:
        """The argv that starts worker.py in `mode` ("zygote" or "serve") on channel `fd` (`python` made absolute
        when the sandbox was built)."""
        return [self.python, "-E", "-s", "-u", str(self.worker_dir / self._main), mode, str(fd)]

    @property
    def worker_dir(self) -> Path:
        """Where the worker's files are: a copy in the run dir, which a separate uid can read."""
        assert self._dir is not None
        return self._dir / "sbx"

    def launch_uid(self) -> int:
        """The uid the worker's process starts under, as this process's user namespace knows it (`spawn_options`)."""
        return self.uid if self.separate_uid and not self.switch_in_worker else os.getuid()

    def spawn_options(self) -> dict[str, Any]:
        """Keyword arguments for the process start: environment, cwd (and the uid, for the isolated tier)."""
        assert self._dir is not None
        work = str(self._dir / "work")
        # No glibc malloc tunable: `glibc.malloc.hugetlb=1` (huge pages madvised for large allocations) decoded a
        # 40 MB context in 22 ms instead of 36, but on a VM host (THP mode madvise) a first growth to 300 MB took
        # 3.7-7.2 s, 1.3-2.4 s of it the worker's own CPU in 662 faults, against 0.14-0.56 s in 76,801 small-page
        # faults without it (audit 84 V09: a 300 MB value under a 2 s timeout was killed as a loop in C)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8"}
        env.update(pool_thread_env(self.max_processes))
        options: dict[str, Any] = {"env": env, "cwd": work}
        if self.separate_uid and not self.switch_in_worker:  # `launch_uid`
            options.update(user=self.uid, group=self.uid, extra_groups=[])
        return options

    def harden_options(self) -> dict[str, Any]:
        """What the worker applies to itself after loading the contexts: here, on a root host, switching to
        the sandbox's uid (non-dumpable and the subreaper are always applied)."""
        # no memfd or SysV segments (memory no limit counts), no signals to the host or the zygote
        options: dict[str, Any] = {
            "seccomp_light": True,
            "protect": [os.getpid(), -os.getpgid(0)],
            **harden.host_identity(self.launch_uid()),  # a worker charged to its uid is refused inotify (harden_zygote)
        }
        if self.chooses_uid:  # under the host's uid: a pid namespace of its own, where the kernel allows one
            options["pid_namespace"] = True
        if self.switch_in_worker:
            options["switch_uid"] = self.uid
        return options

    def limits(self) -> dict[str, int]:
        memory = self.memory_limit_bytes or (4 << 30) + 8 * self._context_bytes
        limits = {
            "memory_bytes": memory,
            "file_bytes": min(self.file_size_limit_bytes, self.disk_limit_bytes),
            "open_files": self.open_files_limit,
        }
        if self.separate_uid:
            limits["processes"] = self.process_ceiling() if self._family.levels() else self.max_processes
        return limits

    def tree_processes(self) -> int:
        """The RLIMIT_NPROC of every REPL of a run that has child RLMs, its own included. The kernel checks each
        process's limit against the count of its whole uid, which the run's REPL and its child RLMs' share (forked
        from the same zygote): a REPL with a lower limit than the others' would be the one refused once they had
        taken its share (audit 78). So each gets `max_processes` for every REPL that may run at once: the run's and
        `max_live_children` children's on each level of the tree (each level has its own queue): 1 + max_live_children
        x (max_depth - 1) REPLs, the levels as `plan_children` said, or as many as have started (one at least)."""
        return self.max_processes * (1 + self.max_live_children * max(1, self._family.levels()))

    def process_ceiling(self) -> int:
        """This REPL's RLIMIT_NPROC once the run has (or plans) child RLMs: `tree_processes` less `max_processes` for
        each level above it. The kernel refuses a fork or thread once the uid's one count reaches the caller's own
        limit, so the REPLs above keep that much for themselves: a child RLM's REPLs together stop
        `max_processes` short of the run's REPL's ceiling, a grandchild's short of its parent's, and so on. Within
        a level, the usage watcher ends a child RLM whose REPL runs more than `max_processes` (`_watch_usage`)."""
        return self.tree_processes() - self._generation * self.max_processes

    def plan_children(self, levels: int) -> None:
        """Say, before `start`, how many levels of child RLMs this run's REPL may have below it (max_depth - 1): its
        own worker then starts with the ceiling sized for them all (`tree_processes`), or with `max_processes` for 0.
        Not said, it starts with `max_processes` and is raised when the first child starts, where the host may raise
        a hard limit (CAP_SYS_RESOURCE, which a Docker container's root lacks): say it wherever children may come."""
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
            raise InputError(f"plan_children takes a number of levels >= 0, not {levels!r}")
        self._family.planned = levels

    def _reach_level(self, generation: int) -> None:
        """A child RLM of level `generation` starts. Past the levels the ceiling was sized for, it grows: workers
        started from now on get it (`limits`, `_fork_settings`), and those running are raised to it where the host
        may raise a hard limit (CAP_SYS_RESOURCE; not in a user namespace's root, where they keep theirs)."""
        family = self._family
        before = family.levels()
        family.started = max(family.started, generation)
        if family.levels() == before or not self.separate_uid:
            return
        for member in family.members:
            pid = member._host_pid()
            if pid and member is not self:
                ceiling = member.process_ceiling()
                with contextlib.suppress(OSError):  # ended meanwhile, or no right to raise it
                    resource.prlimit(pid, resource.RLIMIT_NPROC, (ceiling, ceiling))

    def _shared_count_note(self, error: str | None) -> str | None:
        """A cell's error, with a note where a thread or process could not start once the run has child RLMs, which
        share this REPL's process count: Python's own message names neither (a cell that catches it sees only that)."""
        if not error or not (self.separate_uid and self._family.started):
            return error
        forking = "BlockingIOError" in error and ("fork" in error or "subprocess" in error)
        if "can't start new thread" not in error and not forking:
            return error
        return (
            f"{error}\nNote: this run's REPLs (its own and its child RLMs', {self.max_live_children} at most on each "
            f"level of the tree) run under one uid, and the kernel counts their threads and processes together: "
            f"{self.process_ceiling():,} in all here (RLIMIT_NPROC, sandbox option max_processes "
            f"{self.max_processes} for each REPL), so what the others hold is not left here. Start fewer threads (a "
            "smaller pool), let fewer child RLMs run at once (sandbox option max_live_children), or raise "
            "max_processes."
        )

    async def prepare(self) -> None:
        """Check that the tier can run here, before anything is written. Raise SandboxStartError if not.

        On a root host the worker starts as root (so any Python can start, even one under /root) and switches
        to this sandbox's uid once its contexts are loaded, before any cell runs."""
        if os.geteuid() == 0 and self.chooses_uid:
            self.separate_uid = self.switch_in_worker = True
            if self.fresh_uid:
                self.uid = mapped_uid(self.uid)

    def context_path(self, name: str) -> Path:
        """Where the worker sees a context file (the same path here; a mount point under bwrap)."""
        assert self._dir is not None
        return self._dir / "ctx" / name

    def describe(self, applied: dict[str, Any]) -> dict[str, Any]:
        """The protections report for the trace and `rlmx doctor`, from what the worker says it applied."""
        landlocked = bool(applied.get("signals_scoped") or applied.get("ptys_refused"))
        return {
            "tier": self.tier,
            "unsafe": False,
            "namespaces": harden.unshared_namespaces(applied.get("namespaces")),  # a non-root zygote's own
            # The default tier's small filter (no memfd/SysV memory, pidfds, F_SETOWN routing, signals to the host).
            "seccomp": "light" if applied.get("seccomp_light_rules") else False,
            "seccomp_denies": harden.denied_syscalls("light", bool(applied.get("shared_uid")))
            if applied.get("seccomp_light_rules")
            else [],
            "landlock_abi": harden.landlock_abi() if landlocked else None,
            # The worker's Landlock domain: no pseudo-terminal opens (harden.refuse_ptys); on Linux 6.12+ it scopes
            # its signals to itself too; no other file rule, no network rule
            "landlock": _landlock_report(applied) if landlocked else None,
            "ptys": "refused: Landlock opens no /dev/ptmx or /dev/pts/N (the host's pseudo-terminal pool)"
            if applied.get("ptys_refused")
            else "NOT STOPPED: a cell can open pseudo-terminals from the host-wide pool (kernel.pty.max) up to its "
            f"open-files limit in each process ({applied.get('ptys_open') or 'no Landlock in this kernel'})",
            "uid": applied.get("uid", os.getuid()),
            "identity": self._identity(),
            "signals": self._signal_bound(applied),
            "limits": self.limits(),
            "disk_bound": self.disk_bound(),
            "fork_bound": self._tree_bound()
            if self.separate_uid
            else "RLIMIT_NPROC is not enforced for root"
            if os.getuid() == 0
            else "none",
            "environment": "scrubbed",
            "host": "non-dumpable (its /proc environ, mem, fd, cwd closed to its uid)",
            "filesystem": "world-readable files and world-writable dirs only (separate uid)"
            if self.separate_uid
            else "not confined (runs as the host user)",
            "network": "not confined",
            "zygote": self.use_zygote,
            "caps": self.caps(),
        }

    def _signal_bound(self, applied: dict[str, Any]) -> str:
        """What keeps a cell from signalling the host, for `describe`. The seccomp filter names the host's pid, the
        zygote's and their groups only; kill() and rt_sigqueueinfo() also take any thread id of a process (listed in
        /proc/<pid>/task) and signal the whole process, and the host starts threads later."""
        if applied.get("seccomp_worker_rules"):
            return "the worker's seccomp filter: kill, tgkill and rt_sigqueueinfo to its own pid only, no fork"
        if not self.chooses_uid:
            return "the launcher's own container: the host's pids are not in it"
        if applied.get("pid_namespace"):
            return "a pid namespace of its own: no pid or thread id of the host (or of any process outside) is in it"
        if self.separate_uid:
            return "a separate uid: the kernel refuses its signals to the host and every process not of that uid"
        if applied.get("signals_scoped"):
            return "Landlock's signal scope: no signal to any process outside the sandbox, whatever id it names"
        return (
            "NOT STOPPED by thread id: the seccomp filter refuses signals to the host's pid, the zygote and their "
            "process groups only; with no Landlock signal scope (Linux before 6.12) and no pid namespace of its own "
            "(this host refuses unprivileged user namespaces), a cell can kill or stop the host by one of its "
            "thread ids (/proc/<pid>/task). Use --sandbox isolated here"
        )

    def _tree_bound(self) -> str:
        """The process ceiling under the sandbox's uid, for `describe`."""
        levels = self._family.levels()
        if not levels:
            return (
                f"RLIMIT_NPROC {self.max_processes} under uid {self.uid}; child RLMs, which share the uid, get "
                f"{self.tree_processes():,} ({self.max_processes} for each of the run's REPL and "
                f"{self.max_live_children} children's at once on a level of the tree), and so does the run's REPL once "
                "one starts"
            )
        return (
            f"RLIMIT_NPROC {self.tree_processes():,} under uid {self.uid} for the run's REPL, which its child RLMs' "
            f"share: {self.max_processes} (max_processes) for each of the run's and {self.max_live_children} "
            f"(max_live_children) children's at once on {levels} level{'s' if levels > 1 else ''} of the tree; "
            f"{self.max_processes} less on each level below (its REPLs cannot take the share of those above), and a "
            f"child RLM whose REPL runs more than {self.max_processes} threads and processes is ended"
        )

    def _identity(self) -> str:
        if self.separate_uid:
            return f"separate uid {self.uid}"
        if self.drop_capabilities:
            return f"root without capabilities ({self.identity_note})"
        return "the host's uid (not root)"

    def disk_bound(self) -> str:
        """How the total a run writes is bounded; launchers with a kernel bound say so."""
        where = "its work dir" + (", and what its uid owns in /tmp, /var/tmp, /dev/shm" if self.separate_uid else "")
        return (
            f"{self.disk_limit_bytes:,} bytes in {where}; measured every {_DISK_POLL:g} s, past it the worker "
            f"restarts; files with no name: {rundir.unnamed_route()}"
        )

    def caps(self) -> dict[str, int]:
        return {
            "frame_bytes": self.max_frame_bytes,
            "output_chars": self.max_output_chars,
            "calls_per_cell": self.call_caps.max_calls_per_cell,
            "calls_per_run": self.call_caps.max_calls_per_run,
            "prompt_chars": self.call_caps.max_prompt_chars,
        }

    # --- life ------------------------------------------------------------------------------------------------
    async def start(self, contexts: Sequence[PreparedContext]) -> None:
        if not self._owns_zygote:
            await self._start_child(contexts)
            return
        try:
            await self._start(contexts)
        except OSError as exc:  # a file, an owner or a mode the host refused: one clear error, not a traceback
            raise SandboxStartError(f"the REPL could not be set up: {exc}") from exc

    async def _start(self, contexts: Sequence[PreparedContext]) -> None:
        await self.prepare()
        writing: asyncio.Future[list[dict[str, str]]] | None = None
        with contextlib.suppress(OSError):
            harden.make_undumpable()  # before any worker exists: none of them may read this process
        self._dir = rundir.create(self.uid if self.separate_uid and self.fresh_uid else None)
        try:
            for sub in ("ctx", "work", "sbx", "tmp"):
                (self._dir / sub).mkdir()
            if self.passes_memory_reports and not rundir.host_reads_workers():
                self._reports = harden.MemoryReports()  # the memory watcher reads Pss through what each process sends
            self._context_bytes = sum(c.nbytes for c in contexts)
            # The files are written on a thread while the worker's interpreter starts: it needs them only
            # once it has started, and the event loop stays free (the first LM call is in flight meanwhile).
            # Started on the loop's next turn, after the zygote's spawn: a writer started at once holds the GIL
            # while the first LM request is being sent (completion() to first request 13 -> 28 ms at 40 MB,
            # benchmarks/vs_official/NOTES.md change 10).
            writing = asyncio.ensure_future(asyncio.to_thread(self._write_contexts, contexts, ""))
            await self.layout()
            await self._spawn(writing)
            await self._watch()
        except BaseException:
            if writing is not None:
                await asyncio.wait([writing])  # the thread cannot be cancelled: let it finish before cleaning up
            await self.close()
            raise

    async def layout(self) -> None:
        """Arrange the run directory: the worker's files, and owners and modes for a separate uid (which gets
        read access to the run dir through its own group, and write access to work/ and tmp/ only)."""
        assert self._dir is not None
        compiled = worker_bytecode(self.python, PACKAGE_DIR, WORKER_FILES)
        if compiled is not None:  # the bytecode alone: the sources would only be copied and chowned for nothing
            for path in compiled.values():
                shutil.copyfile(path, self._dir / "sbx" / path.name)
            self._main = "worker.pyc"
        else:
            for name in WORKER_FILES:
                shutil.copyfile(PACKAGE_DIR / name, self._dir / "sbx" / name)
        if not self.separate_uid:
            return
        for path in (self._dir, self._dir / "sbx", self._dir / "ctx"):
            os.chown(path, 0, self.uid)
            path.chmod(0o750)
        for file in (self._dir / "sbx").iterdir():
            os.chown(file, 0, self.uid)
            file.chmod(0o440)
        for folder in ("work", "tmp"):
            os.chown(self._dir / folder, self.uid, self.uid)
            (self._dir / folder).chmod(0o700)

    def _write_contexts(self, contexts: Sequence[PreparedContext], folder: str) -> list[dict[str, Any]]:
        assert self._dir is not None
        specs = []
        for context in contexts:
            name = f"{folder}{context.name}.{'json' if context.kind == 'json' else 'txt'}"
            path = self._dir / "ctx" / name
            # A large ASCII text is laid out for strmap.py, so the worker maps it as a str instead of decoding it.
            view = ascii_bytes(context.text) if context.kind == "text" else None
            with open(path, "wb") as out:
                if view is not None:
                    out.write(bytes(PREFIX_BYTES))
                    out.write(view)
                    out.write(b"\0")
                else:
                    for chunk in context.chunks():
                        out.write(chunk)
            self._protect(path)
            self._held[path] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            self._fresh.add(path)
            spec = {"name": context.name, "kind": context.kind, "path": str(self.context_path(name))}
            specs.append({**spec, "prefix": PREFIX_BYTES} if view is not None else spec)
        return specs

    def _protect(self, path: Path) -> None:
        if self.separate_uid:
            os.chown(path, 0, self.uid)
            path.chmod(0o440)
        else:
            path.chmod(0o444)
        rundir.register_context(path)  # before it is unlinked: other runs' RAM-growth measures credit it

    def _materialize(self) -> None:
        """Write the context files again from the held descriptors before a worker loads them: they were
        unlinked after the last load, and whatever a cell put at their paths since is replaced."""
        for path, fd in self._held.items():
            if path in self._fresh:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            with open(path, "xb") as out:
                size, offset = os.fstat(fd).st_size, 0
                while offset < size:
                    sent = os.sendfile(out.fileno(), fd, offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent
            self._protect(path)

    def _unlink_contexts(self) -> None:
        """Once loaded, a context needs no file: nothing else can read it there, and it holds no RAM after."""
        self._fresh.clear()
        for path in self._held:
            with contextlib.suppress(OSError):
                path.unlink()

    def _release_contexts(self) -> None:
        self._unlink_contexts()
        held, self._held = list(self._held.values()), {}
        if not held:
            return
        if sys.is_finalizing():  # a close the interpreter's exit ran (a run cancelled as its loop stopped): no thread
            _close_all(held)  # can start now, and Thread.start() would wait for it for ever
            return
        # Closing the last descriptor frees the files' RAM (about 10 ms for 40 MB): on a thread, off the run's end.
        # Should the process exit first, the kernel closes them all the same.
        try:
            threading.Thread(target=_close_all, args=(held,), name="rlmx-release-contexts", daemon=True).start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            _close_all(held)

    # --- the disk bound --------------------------------------------------------------------------------------
    def disk_folders(self) -> list[Path]:
        """The folders the worker writes to on the host (empty when a kernel bound makes the watcher moot)."""
        assert self._dir is not None
        return [self._dir / "work", self._dir / "tmp"]

    def disk_mounts(self) -> list[str]:
        """Whole tmpfs mounts the worker writes to, as this process reaches them now, counted by the kernel's inode
        and block counts (`rundir.mount_usage`); none here (a launcher with mounts of its own overrides it)."""
        return []

    def end_for_disk(self) -> None:
        """End the worker for a disk breach (its next cell restarts it and says why)."""
        if self._worker is not None:
            self._worker.kill_now()

    def empty_disk(self, folders: list[Path]) -> None:
        """Delete what the worker wrote, after a disk breach (from a thread)."""
        rundir.empty(folders)

    async def _watch(self) -> None:
        # the run's own REPL watches the memory of all the REPLs sharing its zygote, bubblewrap's included
        if self._watcher is None and (self.disk_folders() or self._owns_zygote):
            # The record of the worker's files with no name, with its RAM-growth baseline (a host that cannot read
            # the worker's /proc), made before a cell can run: the watcher thread made it when it began, and on a
            # busy machine a cell had written 56 MiB by then, taken into the baseline (CI: 180 MiB held under 64).
            # On a thread: the baseline walks the tmpfs folders (215 ms on the loop with 100k files, audit 81b).
            mapped = await asyncio.to_thread(self._mapped_files) if self.disk_folders() else None
            if self._watcher is None:  # another start may have begun watching meanwhile
                self._watcher = asyncio.create_task(self._watch_bounds(mapped))

    def _worker_pid(self) -> int:
        """The running worker's pid as this process sees it, or 0 (none, or one in another pid namespace)."""
        worker = self._worker
        return worker.pid if worker is not None and worker.same_pid_namespace else 0

    def _host_pid(self) -> int:
        """The running worker's pid as this process sees it, found under its zygote's launcher when it runs in a pid
        namespace of its own (bubblewrap); 0 for none, or one this process cannot see (a container's)."""
        worker = self._worker
        if worker is None or worker.stop is not None:
            return 0
        if worker.same_pid_namespace:
            return worker.pid
        zygote = worker.zygote
        return harden.host_pid(worker.pid, zygote.process.pid) if zygote is not None else 0

    def _family_pids(self) -> list[int]:
        """The workers whose memory the run's bound covers together (from the watcher's thread): the run's own and
        its running child RLMs'. A lone worker under bubblewrap, which cannot fork, is left to its RLIMIT_AS."""
        running = [member for member in self._family.members if member._worker is not None]
        if len(running) <= 1:
            return [running[0]._worker_pid()] if running else []
        return self._pids_of(running)

    def _running_pids(self) -> list[int]:
        """Every running worker of the run's REPLs, as this process sees it (a lone one under bubblewrap too)."""
        return self._pids_of([member for member in self._family.members if member._worker is not None])

    def _pids_of(self, members: Sequence[SubprocessSandbox]) -> list[int]:
        """The workers of `members` (sharing this sandbox's zygote), as this process sees them."""
        workers = [worker for member in members if (worker := member._worker) is not None]  # each read once: the
        inside: dict[int, int] = {}  # loop may end one meanwhile
        zygote = self._zygote
        if zygote is not None and not all(worker.same_pid_namespace for worker in workers):
            inside = harden.namespace_pids(zygote.process.pid)  # under bubblewrap: one scan finds every worker
        found = [worker.pid if worker.same_pid_namespace else inside.get(worker.pid, 0) for worker in workers]
        return [pid for pid in found if pid]

    async def _watch_bounds(self, mapped: rundir.MappedFiles | None) -> None:
        """End the worker each time the watcher thread finds it over its disk limit (its files deleted too) or its
        process tree over the memory limit in total (RLIMIT_AS bounds each process; a cell's forked children
        would each get the whole limit)."""
        folders, uid = self.disk_folders(), self.uid if self.separate_uid else None
        limits = (self.disk_limit_bytes, self.limits()["memory_bytes"])
        # A child's memory counts in the run's total, which the run's own REPL watches (its own watches its disk).
        workers: Callable[[], list[int]] = self._family_pids if self._owns_zygote else list
        # Under one uid a child RLM's REPL could take every REPL's share of the kernel's count: past max_processes
        # threads and processes, it is ended.
        children = (self._child_pids, self.max_processes) if self._owns_zygote and self.separate_uid else (list, 0)
        loop = asyncio.get_running_loop()
        while not self._closed:
            over: asyncio.Future[tuple[str, int, int]] = loop.create_future()
            stop = self._watch_stop = threading.Event()
            # One record for every watcher thread: a restarted worker is told by its pid (`MappedFiles.total`), and a
            # baseline taken again after another REPL's breach would take in what this worker holds
            lockers: Callable[[], list[int]] = self._running_pids if self._owns_zygote else list
            reports = self._reports if self._owns_zygote else None
            watching = (
                *(folders, uid, self._worker_pid, workers, limits, stop, over, mapped, children, lockers),
                *(self.disk_mounts, reports),
            )
            threading.Thread(target=_watch_usage, args=watching, name="rlmx-usage-watch", daemon=True).start()
            try:
                kind, used, pid = await over
            finally:
                stop.set()
            if kind == "memory":
                self._end_largest(used, pid, limits)
                continue
            if kind == "processes":
                self._end_member(pid, _breach_message(kind, used, (0, self.max_processes)))
                continue
            if kind == "locks":  # the REPL (this one or a child RLM's) whose processes held the most
                self._end_member(pid, _breach_message(kind, used, limits))
                continue
            self._breach = _breach_message(kind, used, limits)
            self._cleared.clear()
            try:
                self.end_for_disk()
                await asyncio.to_thread(self.empty_disk, folders)
                if uid is not None:
                    await asyncio.to_thread(rundir.remove_owned, uid)
                if kind.startswith("unmeasured:"):  # what could not be read must be gone, or every new worker is
                    left = rundir.Walk()  # killed for it again (audit 84b V06): the run then ends, once, saying so
                    await asyncio.to_thread(rundir.usage, folders, uid, 0, None, left)
                    self._stuck = left.unmeasured
            finally:
                self._cleared.set()

    def _mapped_files(self) -> rundir.MappedFiles:
        """What the disk watcher reads the worker's memory maps with: files mapped from the walked folders are
        watched for their unlinking; the context folder is the host's (strmap.py maps the contexts, which are then
        unlinked) where the worker's own uid cannot write to it."""
        assert self._dir is not None
        places = [*map(str, self.disk_folders()), *rundir.shared_temp_dirs()]
        return rundir.MappedFiles(places, [str(self._dir / "ctx")] if self.separate_uid else [])

    def _child_pids(self) -> list[int]:
        """The workers of the run's running child RLMs, as this process sees them (from the watcher's thread)."""
        return self._pids_of([member for member in self._family.members if member is not self])

    def _end_largest(self, used: int, pid: int, limits: tuple[int, int]) -> None:
        """Past the memory bound: end the worker (of the run's REPLs) whose processes held the most, `pid`; its next
        cell comes back restarted with the reason."""
        members = [member for member in self._family.members if member._worker is not None]
        self._end_member(pid, _breach_message("memory", used, limits, shared=len(members) > 1))

    def _end_member(self, pid: int, reason: str) -> None:
        """End the worker (of the run's REPLs) whose pid here is `pid`; its next cell comes back restarted with
        `reason`."""
        members = [member for member in self._family.members if member._worker is not None]
        target = next((member for member in members if member._host_pid() == pid), None)
        if target is None or target._worker is None:  # it ended meanwhile
            return
        target._breach = reason
        if target._worker.same_pid_namespace:
            target._worker.kill_now()
        else:  # under bubblewrap: by its pid here (the worker's kill_now would end the zygote, and every REPL)
            harden.kill_tree(pid)

    def _init_frame(self) -> dict[str, Any]:
        return {
            "t": "init",
            "contexts": self._contexts + ([] if self.use_zygote else self._extra),
            "variables": {} if self.use_zygote else self._variables,
            "limits": self.limits(),
            "harden": self.harden_options(),
            "max_output": self.max_output_chars,
            "max_frame": self.max_frame_bytes,
            "max_batch": self.call_caps.max_calls_per_cell,
            "answer": self._answer,
            "memory_reports": self._reports.worker_fd if self._reports is not None else -1,
        }

    async def _init_after(self, contexts_written: Callable[[], Awaitable[None]]) -> dict[str, Any]:
        await contexts_written()
        return self._init_frame()

    def _load_seconds(self) -> float:
        return 30.0 + self._context_bytes / 10e6

    async def _spawn(self, writing: asyncio.Future[list[dict[str, str]]] | None = None) -> None:
        """Start a worker with every context loaded. `writing`: the first start's context files, still being
        written (the interpreter starts meanwhile); later starts rewrite the files from the held descriptors."""

        async def contexts_written() -> None:
            if writing is not None:
                self._contexts = await writing

        if self._closed:
            raise SandboxStartError(
                "the REPL was closed (its session or run ended) while a cell still needed it: nothing more runs there"
            )
        if writing is None:
            self._materialize()
        try:
            if self.use_zygote:
                self._worker = await self._fork_worker(contexts_written)
            else:
                await contexts_written()
                self._worker = await self._start_worker()
            async with time_limit(self._load_seconds()):
                ready = await self._worker.channel.read()
        except SandboxStartError:
            raise
        except (TimeoutError, ChannelBroken, ZygoteGone, frames.FrameProtocolError) as exc:
            # FrameProtocolError: a start frame over the cap (a huge answer buffer beside a session's `history`)
            detail = self._stderr_text()
            await self._kill()
            raise SandboxStartError(f"the REPL worker did not start: {exc}. {detail}".strip()) from None
        if ready.get("t") != "ready":
            await self._kill()
            raise SandboxStartError(f"the REPL worker failed while starting: {str(ready.get('error'))[:2000]}")
        applied: dict[str, Any] = ready["applied"] if isinstance(ready.get("applied"), dict) else {}
        self.check_applied(applied)
        self._unlink_contexts()
        self.protections = self.describe(applied)
        self.workers_started += 1

    def check_applied(self, applied: dict[str, Any]) -> None:
        """Refuse a worker that reports less protection than was asked for."""
        if not self.switch_in_worker:
            return
        if applied.get("capabilities") == "none":  # the Python's own directories are closed to other users
            self.separate_uid, self.drop_capabilities = False, True
            self.identity_note = str(applied.get("uid_note", ""))
        elif applied.get("uid") != self.uid:
            raise SandboxStartError(f"the worker does not run under its separate uid {self.uid}; refusing to run it")

    async def _start_worker(self) -> _Worker:
        host_end, worker_end = socket.socketpair()
        try:
            argv = self.command("serve", worker_end.fileno())
            process = await start_process(
                argv, pass_fd=worker_end.fileno(), spawn=self.spawn_options(), also=self._report_fds()
            )
        except ChannelBroken as exc:
            host_end.close()
            raise SandboxStartError(f"cannot start the REPL worker: {exc}") from exc
        finally:
            worker_end.close()
        assert process.stderr is not None
        channel = await FrameChannel.open(host_end, self.max_frame_bytes)
        worker = _Worker(channel, process.pid, process=process, stderr=StderrTail(process.stderr))
        await channel.send(self._init_frame())
        return worker

    async def _fork_worker(self, contexts_written: Callable[[], Awaitable[None]]) -> _Worker:
        if self._zygote is None or not self._zygote.alive:
            if not self._owns_zygote:
                raise SandboxStartError("the parent sandbox's zygote is gone, so this child cannot restart")
            if self._zygote is not None:
                await self._zygote.close()
            try:
                self._zygote = await Zygote.start(
                    lambda fd: self.command("zygote", fd),
                    spawn=self.spawn_options(),
                    also=self._report_fds(),
                    init=lambda: self._init_after(contexts_written),
                    load_seconds=self._load_seconds(),
                    first_fork=fork_message(keep=self._keep, contexts=self._extra, settings=self._fork_settings()),
                )
            except ChannelBroken as exc:
                raise SandboxStartError(f"the REPL worker did not start: {exc}") from None
        pid, channel = await self._zygote.fork(
            self.max_frame_bytes, keep=self._keep, contexts=self._extra, settings=self._fork_settings()
        )
        if self.same_pid_namespace and self._zygote.applied.get("pid_namespace"):
            # The zygote named the worker by its pid in the zygote's own namespace: find the one this process sees.
            seen = harden.host_pid(pid, self._zygote.process.pid)
            if seen <= 0:
                await channel.close()
                with contextlib.suppress(ZygoteGone):
                    await self._zygote.kill(pid)
                raise SandboxStartError("the REPL worker ended as soon as it was forked")
            return _Worker(channel, seen, zygote=self._zygote, inner=pid)
        return _Worker(channel, pid, zygote=self._zygote, same_pid_namespace=self.same_pid_namespace)

    def _report_fds(self) -> tuple[int, ...]:
        """The descriptors a zygote or single worker inherits besides its channel: the memory report socket's end."""
        return (self._reports.worker_fd,) if self._reports is not None else ()

    def _fork_settings(self) -> dict[str, Any]:
        settings = {"answer": self._answer, "max_output": self.max_output_chars, "variables": self._variables}
        if self._family.levels() and self.separate_uid:  # one ceiling for the whole run's uid (tree_processes)
            settings["limits"] = {"processes": self.process_ceiling()}
        return settings

    def _stderr_text(self) -> str:
        if self._worker is not None and self._worker.stderr is not None:
            return self._worker.stderr.text()
        return self._zygote.stderr.text() if self._zygote is not None else ""

    async def _kill(self) -> None:
        worker = self._worker
        if worker is not None:
            await worker.kill()
            self._worker = None  # only now: a kill cut short leaves the worker to `_end_now`

    def _end_now(self) -> None:
        """Synchronously end the worker and the zygote (when this sandbox owns it) if they are still held."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill_now()
            with contextlib.suppress(RuntimeError):  # its loop is closed: the socket closes when it is collected
                worker.channel.writer.close()
        zygote, self._zygote = self._zygote, None
        if zygote is not None and self._owns_zygote:
            zygote.kill_now()

    def kill_now(self) -> None:
        """End everything `close()` would, at once and without the event loop: for a REPL whose loop was closed
        under it, or dropped unclosed (idle), where `close()` cannot run. The usage watcher's thread stops (it polls
        ten times a second, and its future holds the loop, the loop's descriptors with it), the worker and the
        zygote get SIGKILL (no waiting), their sockets and the context files' descriptors are closed, and the run
        dir (the context files, what cells wrote) is removed, as is what a fresh uid of its own left (root host).
        Nothing starts again afterwards."""
        self._closed = True
        self._resume()
        self._stop_watching()
        self._let_go(swept=False)

    def _stop_watching(self) -> None:
        """Stop the usage watcher without awaiting it: its thread at its next poll, its task when its loop next runs
        (a closed loop never runs it again)."""
        if self._watch_stop is not None:
            self._watch_stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            with contextlib.suppress(RuntimeError):  # its loop is closed
                watcher.get_loop().call_soon_threadsafe(watcher.cancel)

    async def close(self) -> None:
        swept = False
        self._closed = True
        self._resume()  # a paused worker reads no shutdown request
        try:
            if self._watcher is not None:
                self._watcher.cancel()
                with contextlib.suppress(BaseException):
                    await self._watcher
                self._watcher = None
            own_uid = self.separate_uid and self.fresh_uid
            worker = self._worker
            if worker is not None and own_uid and self._owns_zygote and worker.zygote and worker.same_pid_namespace:
                # Every process of this sandbox (zygote, worker, whatever a cell forked) runs as the sandbox's own
                # uid: one sweep ends them all, before any wait on a pipe they might hold. No orderly stop, and no
                # kill request through the zygote (a round trip and a /proc scan there, ~1 ms).
                harden.kill_uid(self.uid)
                swept = True
                self._worker = None
                await worker.channel.close()
            elif worker is not None:
                with contextlib.suppress(Exception):
                    async with time_limit(1.0):
                        await worker.channel.send({"t": "shutdown"})
            await self._kill()
            if self._zygote is not None and self._owns_zygote:
                await self._zygote.close(graceful=not own_uid)  # kill_uid ends whatever it leaves
            self._zygote = None
        finally:
            # A close cut short (anyio cancels again at every await, so a Starlette disconnect ends this at its
            # first one) ends what it had not reached at once: SIGKILL, sockets closed (no uid sweep without root).
            self._let_go(swept)

    def _let_go(self, swept: bool) -> None:
        """The end of a close, without the event loop: what still runs is killed, the sockets, the run dir and the
        context files' descriptors go. `swept`: this sandbox's uid was swept already (`harden.kill_uid`)."""
        self._end_now()
        self._leave_family()
        if self._reports is not None and self._owns_zygote:
            self._reports.close()  # under the watcher thread's lock: never a descriptor mid-read
        self._reports = None
        if self._owns_zygote and self.separate_uid and self.fresh_uid:
            if not swept:
                harden.kill_uid(self.uid)  # anything that escaped the process tree: the uid is this run's alone
            rundir.remove_owned(self.uid)
        if self._dir is not None and self._owns_zygote:
            rundir.remove(self._dir)
        self._dir = None
        # Last: the thread that closes the held descriptors frees the context files' tmpfs pages, and the
        # removal above ran 0.25 -> 3.5 ms beside it (40 MB, benchmarks/vs_official/NOTES.md change 19).
        self._release_contexts()

    # --- children sharing the zygote --------------------------------------------------------------------------
    def _leave_family(self) -> None:
        """A child's REPL has ended: its place in the queue goes to the next child waiting."""
        slot, self._slot = self._slot, None
        if slot is not None:
            self._family.leave(self)
            slot.release()

    def shares(self, name: str) -> bool:
        """Whether a child forked now can inherit the context `name`: the zygote holds it (a session's later
        contexts were loaded into the worker after it forked, so a child gets its own copy of them)."""
        return any(c["name"] == name for c in self._contexts)

    def fork_child(self, inherit: Sequence[str] = ()) -> SubprocessSandbox:
        """A sandbox for a child RLM whose worker is forked from this sandbox's zygote (milliseconds).

        Call `await child.start(contexts)` as usual: the child's own contexts are written next to the parent's
        and loaded by the forked worker. Of the parent's contexts, only those named in `inherit` are visible to
        it, shared copy-on-write from the zygote, never loaded again. `close()` ends only the child's worker;
        a restart forks again from the same zygote. Needs a started parent with `zygote=True`.

            child = parent.fork_child(inherit=["context"])
            await child.start([prepare("task", "the sub-question")])
        """
        if self._zygote is None or self._dir is None:
            raise SandboxStartError("fork_child needs a started sandbox with zygote=True")
        known = {c["name"] for c in self._contexts}
        if not set(inherit) <= known:
            raise InputError(
                f"fork_child: no parent context named {sorted(set(inherit) - known)}; known: {sorted(known)}"
            )
        child = copy.copy(self)
        child._lock = asyncio.Lock()
        child._held = {}
        child._fresh = set()
        child._watcher = None
        child._watch_stop = None
        child._breach = None
        child._stuck = ""
        child._cleared = asyncio.Event()
        child._cleared.set()
        child._owns_zygote = False
        child._generation = self._generation + 1
        child._slot = None
        child._paused = False
        child._worker = None
        child._answer = {}
        child._contexts = [c for c in self._contexts if c["name"] in inherit]
        child._keep = list(inherit)
        child._extra = []
        child._variables = {}
        child.protections = {"tier": self.tier}
        child.restarts = 0
        child.workers_started = 0
        caps = self.call_caps
        child.call_caps = CallCaps(caps.max_calls_per_cell, caps.max_calls_per_run, caps.max_prompt_chars)
        return child

    async def _start_child(self, contexts: Sequence[PreparedContext]) -> None:
        # A place in this level's queue first: the run's uid has room for max_live_children children's processes
        # (tree_processes), so a batch of more waits for places instead of failing to start.
        slot = self._family.level(self._generation)
        await slot.acquire()
        self._slot = slot
        self._reach_level(self._generation)
        self._family.join(self)
        folder = f"child-{secrets.token_hex(4)}-"
        self._extra = await asyncio.to_thread(self._write_contexts, contexts, folder)
        self._context_bytes = sum(c.nbytes for c in contexts)
        await self._spawn()
        await self._watch()

    # --- between a session's questions ------------------------------------------------------------------------
    def new_run(self) -> None:
        """A session's next question is a run of its own: the per-run sub-call caps (`max_calls_per_run`,
        `max_prompt_chars`) count from 0 again."""
        self.call_caps.new_run()

    async def pause(self) -> None:
        """Stop the worker and every process under it (SIGSTOP) until the REPL is next used (a cell, `load`, `names`,
        `close`): threads and processes a cell left running use no CPU while a session waits for its next question.
        A worker this host cannot signal (a container's) runs on."""
        async with self._lock:
            if self._paused or self._abandoned is not None:
                return
            pid = self._host_pid()
            self._paused = pid > 0 and harden.signal_tree(pid, signal.SIGSTOP)

    def _resume(self) -> None:
        """Let a paused worker's processes run again (SIGCONT), before anything is asked of it."""
        if not self._paused:
            return
        self._paused = False
        pid = self._host_pid()
        if pid > 0:
            harden.signal_tree(pid, signal.SIGCONT)

    # --- more contexts and variables (sessions) ---------------------------------------------------------------
    async def load(self, contexts: Sequence[PreparedContext], variables: dict[str, Any]) -> None:
        """Add contexts and set JSON variables in the running REPL (a session's next question). They survive a
        restart: a fresh worker loads the added contexts and gets the variables again."""
        async with self._lock:
            self._resume()
            if await self._settle_abandoned() is not None:
                await self._kill()  # a fresh worker below, with everything
            new = await asyncio.to_thread(self._write_contexts, contexts, f"load-{secrets.token_hex(4)}-")
            kept = (self._extra, self._context_bytes, self._answer, self._variables)
            self._extra = self._extra + new
            self._context_bytes += sum(c.nbytes for c in contexts)
            answer = variables.get("answer")
            if isinstance(answer, dict):
                self._answer = {"content": answer.get("content")}
            self._variables = {**self._variables, **{k: v for k, v in variables.items() if k != "answer"}}
            if self._worker is None:
                await self._spawn()
                return
            try:
                stale = await self._load_into_worker({"contexts": new, "variables": variables, "check": True})
            except frames.FrameProtocolError as exc:  # refused before a byte went out: the worker is as it was
                self._extra, self._context_bytes, self._answer, self._variables = kept
                raise SandboxError(
                    f"the REPL could not be sent these contexts and variables: {exc} (sandbox option max_frame_bytes)"
                ) from None
            if stale:
                # A cell changed a JSON context in place: the question's prompt describes it as loaded, so its file
                # is written again from the held descriptor and loaded over the changed value.
                specs = {spec["name"]: spec for spec in self._contexts + self._extra}
                await asyncio.to_thread(self._materialize)
                await self._load_into_worker({"contexts": [specs[name] for name in stale if name in specs]})
            self._unlink_contexts()

    async def _load_into_worker(self, message: dict[str, Any]) -> list[str]:
        """Send one "load" frame and read its reply; returns the contexts the worker found changed in place (asked
        with `check`). A worker that does not answer is replaced by a fresh one holding everything."""
        assert self._worker is not None
        token = secrets.token_hex(8)
        try:
            await self._worker.channel.send({"t": "load", "id": token, "variables": {}, **message})
            async with time_limit(self._load_seconds()):
                reply = await self._worker.channel.read()
        except (ChannelBroken, TimeoutError):
            await self._kill()  # the next cell (or this restart) starts a worker that has everything
            await self._spawn()
            return []
        if reply.get("t") != "loaded" or reply.get("id") != token or reply.get("error") is not None:
            # A worker that cannot load them (a cell left it out of file descriptors) would leave the model told of
            # contexts it cannot see.
            await self._kill()
            raise SandboxStartError(f"the REPL could not load the new contexts: {str(reply.get('error'))[:500]}")
        return [str(name) for name in reply.get("stale") or []]

    async def names(self, prefix: str) -> set[str]:
        """The REPL's names that begin with `prefix`, asked of the worker by a frame of its own: no cell runs, so
        threads waiting for the next cell keep waiting and output written since the last cell stays for the next.
        A worker that does not answer is restarted (it then holds only what the host loads: no names of its own)."""
        async with self._lock:
            self._resume()
            if await self._settle_abandoned() is not None:
                await self._kill()
            if self._worker is None:
                return set()
            token = secrets.token_hex(8)
            try:
                await self._worker.channel.send({"t": "names", "id": token, "prefix": prefix})
                async with time_limit(self._load_seconds()):
                    reply = await self._worker.channel.read()
            except (ChannelBroken, TimeoutError):
                await self._kill()
                return set()
            names = reply.get("names")
            if reply.get("t") != "names" or reply.get("id") != token or not isinstance(names, list):
                await self._kill()  # not what a worker of ours sends: its channel cannot be trusted in step
                return set()
            return {name for name in names if isinstance(name, str) and name.startswith(prefix)}

    # --- cells -----------------------------------------------------------------------------------------------
    def _grace(self, timeout: float) -> float:
        if self.hard_timeout_grace is not None:
            return self.hard_timeout_grace
        return min(max(2.0, timeout * 0.5), 10.0)

    async def run_cell(self, code: str, *, calls: CallHandler, timeout: float) -> CellResult:
        async with self._lock:
            self._resume()
            try:
                return await self._run_cell(code, calls, timeout)
            except asyncio.CancelledError:
                # Its caller gave up (a cancelled question): the cell is interrupted, as Jupyter's Interrupt does,
                # and the next use of this REPL waits for it to end (`_settle_abandoned`), so a session keeps its
                # variables. A worker that cannot be interrupted must not outlive the wait.
                if self._worker is not None and not (self._abandoned and _interrupt(self._worker)):
                    self._abandoned = None
                    self._worker.kill_now()
                raise
            except Exception:  # the host's own fault serving a sub-call: the worker waits for a reply never sent
                await self._kill()
                raise

    async def _run_cell(self, code: str, calls: CallHandler, timeout: float) -> CellResult:
        ended = await self._settle_abandoned()
        if ended is not None:
            return await self._restart(ended)
        if self._worker is None:
            await self._spawn()
        assert self._worker is not None
        channel = self._worker.channel
        token = secrets.token_hex(8)
        hard_limit = timeout + self._grace(timeout) if timeout > 0 else None
        clock = _HardClock(hard_limit)
        serving: dict[asyncio.Task[None], tuple[Any, int]] = {}  # call frames being served: (id, items) each
        self.call_caps.new_cell()
        try:
            await channel.send({"t": "exec", "id": token, "code": code, "timeout": timeout})
            while True:
                try:
                    async with time_limit(at=clock.deadline()) as clock.read:
                        frame = await channel.read()
                except asyncio.CancelledError:  # the caller gave up: what the worker still waits for (run_cell)
                    self._abandoned = _Abandoned(token, list(serving.values()))
                    raise
                except TimeoutError:
                    clock.raise_failure()
                    raise _WorkerGone(
                        f"the cell ran past the hard time limit ({hard_limit:g} s) without yielding "
                        "(a loop in C code, an ignored interrupt, or code that took over SIGALRM, which the time limit "
                        "uses), so the worker was killed"
                    ) from None
                finally:
                    clock.read = None
                clock.raise_failure()
                if frame["t"] == "call":
                    # Served while the loop reads on: a cell's threads may have several calls in flight at once.
                    call = self._checked_call(frame)
                    task = asyncio.ensure_future(self._serve_call(channel, frame.get("id"), call, calls))
                    clock.call_started()
                    serving[task] = (frame.get("id"), len(call.items))
                    task.add_done_callback(serving.pop)  # so the cell's end waits on none that are done
                    task.add_done_callback(clock.call_ended)
                    continue
                if clock.calls:
                    raise _WorkerGone(
                        "the worker ended its cell while its sub-calls were still being served (a forged frame)"
                    )
                if frame["t"] == "result" and frame.get("id") == token:
                    result = _cell_result(frame, self.max_output_chars)
                    if result.error and result.error != (
                        noted := _self_only_note(self._shared_count_note(result.error))
                    ):
                        result = replace(result, error=noted)
                    if result.final is not None or result.answer.get("ready"):
                        await self._sync(channel, self._grace(timeout))
                    if result.answer.get("valid"):
                        self._answer = {"content": result.answer.get("content")}
                    return result
                if frame["t"] == "result":
                    raise _WorkerGone("the worker sent a result frame for another cell (forged or stale)")
                raise _WorkerGone(f"the worker sent an unexpected {str(frame['t'])[:40]!r} frame")
        except ChannelBroken as exc:
            reason = str(exc)
            if reason == "eof" and self._worker is not None:
                reason = await self._worker.exit_description()
            return await self._restart(self._breach or reason)
        except _WorkerGone as gone:
            return await self._restart(self._breach or str(gone))
        finally:
            for task in serving:
                task.cancel()
            if serving:
                await asyncio.wait(serving)

    async def _settle_abandoned(self) -> str | None:
        """Wait for a cell its caller gave up on (interrupted by `run_cell`) to end: its sub-calls, and any it makes
        meanwhile, are refused, and its result is dropped. Returns None once the worker is idle again, else why it
        was ended (it did not stop within the grace)."""
        abandoned, self._abandoned = self._abandoned, None
        if abandoned is None or self._worker is None:
            return None
        channel = self._worker.channel

        async def refuse(call_id: Any, items: int) -> None:
            refusal = {"ok": False, "error": "the question this call belonged to was cancelled"}
            await channel.send_reply(call_id, [refusal] * items)

        try:
            async with time_limit(_ABANDONED_GRACE):
                for call_id, items in abandoned.calls:
                    await refuse(call_id, items)
                while True:
                    frame = await channel.read()
                    if frame["t"] == "call":
                        await refuse(frame.get("id"), len(self._checked_call(frame).items))
                    elif frame["t"] == "result" and frame.get("id") == abandoned.token:
                        break
                    else:
                        raise _WorkerGone(f"unexpected {str(frame['t'])[:40]!r} frame")
            await self._sync(channel, _ABANDONED_GRACE)
        except (TimeoutError, ChannelBroken, _WorkerGone):
            return "a cell of a cancelled question did not stop when interrupted, so its worker was ended"
        return None

    async def _sync(self, channel: FrameChannel, timeout: float) -> None:
        """After a result the worker must be idle: it answers this ping first, or it forged that result."""
        token = secrets.token_hex(8)
        await channel.send({"t": "sync", "id": token})
        try:
            async with time_limit(timeout):
                frame = await channel.read()
        except TimeoutError:
            raise _WorkerGone("the worker kept running after sending its result (a forged result frame)") from None
        if frame.get("t") != "pong" or frame.get("id") != token:
            raise _WorkerGone("the worker sent more frames after its result (a forged result frame)")

    @staticmethod
    def _checked_call(frame: dict[str, Any]) -> SubCall:
        """The sub-call a worker's call frame asks for. Raises _WorkerGone for a frame no worker of ours sends."""
        kind = frame.get("kind")
        items = frame.get("items")
        model = frame.get("model")
        if kind not in ("llm", "rlm", "tool") or not isinstance(items, list):
            raise _WorkerGone("the worker sent a malformed call frame")
        if not all(isinstance(i, dict) for i in items):
            raise _WorkerGone("the worker sent a malformed call frame")
        if model is not None and not isinstance(model, str):
            raise _WorkerGone("the worker sent a call frame with a non-string model")
        for item in items:
            if not isinstance(item.get("prompt"), str):
                raise _WorkerGone("the worker sent a call item without a string prompt")
            if "schema" in item and not isinstance(item["schema"], dict):
                raise _WorkerGone("the worker sent a call item whose schema is not an object")
        return SubCall(kind=kind, items=tuple(items), model=model)

    async def _serve_call(self, channel: FrameChannel, call_id: Any, call: SubCall, calls: CallHandler) -> None:
        await channel.send_reply(call_id, await self.call_caps.serve(call, calls))

    async def _restart(self, reason: str) -> CellResult:
        await self._kill()
        await self._cleared.wait()  # a disk breach's files go before the new worker may write any
        if self._stuck:
            raise SandboxError(
                f"{reason}. The REPL cannot be restarted: the host could not delete that folder ({self._stuck}), so "
                "a new worker would be killed for it again"
            )
        self._breach = None
        self.restarts += 1
        try:
            await self._spawn()
        except SandboxStartError as exc:
            return CellResult(status="restarted", error=f"{reason}. Restarting the REPL failed: {exc}")
        names = ", ".join(f"`{c['name']}`" for c in self._contexts + self._extra) or "none"
        return CellResult(
            status="restarted",
            error=(
                f"REPL restarted: {reason}. All variables you defined are lost; the contexts ({names}) and the "
                "REPL functions were loaded again. Recompute what you need, in smaller steps."
            ),
            answer={"content": self._answer.get("content"), "ready": False, "valid": True},
        )
