"""The isolated tier: the same worker, confined by the kernel. No Docker, no daemon; Debian's bubblewrap.

Two ways to confine it, probed once per process (SANDBOX.md §3, §6):

* "bwrap" (preferred): bubblewrap with user, pid, net, mount, ipc, uts and cgroup namespaces; a read-only
  /usr, a private /tmp, /dev and /dev/shm, the contexts read-only at /ctx, one writable work dir at /scratch, an
  empty environment. Launched under a fresh, unnamed uid when the host is root, so RLIMIT_NPROC is enforced and
  nothing outside the namespaces is owned by the sandbox.
* "landlock" (where user namespaces are unavailable): the worker runs under a separate uid (needs a root host)
  and restricts itself with Landlock to /usr, its contexts and its work dir.

In both, the worker then applies rlimits, no_new_privs and the seccomp denylist of harden.py after the
contexts are loaded and before the first cell: no exec, no new sockets (but an unnamed AF_UNIX pair, which
reaches nothing outside the process and which asyncio's event loop needs), no fork (threads only), no signals
to other processes, no ptrace. If a required protection is missing, `start()` raises SandboxStartError and
says what is missing; it never falls back to a weaker tier on its own.

A launcher differs only in how it starts the worker: frames, caps, timeouts and restarts are inherited from
SubprocessSandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlmx.deadline import time_limit
from rlmx.errors import InputError, SandboxStartError
from rlmx.sandbox import harden, rundir
from rlmx.sandbox.channel import create_subprocess
from rlmx.sandbox.subprocess import UID_BASE, SubprocessSandbox, pool_thread_env

Mode = Literal["auto", "bwrap", "landlock"]
NAMESPACES = ("user", "pid", "net", "mnt", "ipc", "uts", "cgroup")
REQUIRED_NAMESPACES = ("user", "pid", "net", "mnt", "ipc")
_INSIDE_ID = 65534
_ROOT_LINKS = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")
_TMPFS_MOUNTS = ("/rw", "/dev/shm")
"""The writable tmpfs mounts bwrap_arguments makes (the work dir and /tmp are folders of /rw)."""
_RW_FOLDERS = ("tmp", "work")
"""The folders of /rw that bwrap made and /tmp and /scratch link to: emptied after a disk breach, never removed."""
_SHM_BYTES = 8 << 20
"""The most of the disk bound /dev/shm takes: multiprocessing's locks (a ThreadPool's, multiprocessing.dummy's) are
POSIX semaphores there, a page each."""


def shm_bytes(disk_bytes: int) -> int:
    """The size of the sandbox's /dev/shm, out of its disk bound (an eighth at most; never 0, tmpfs's "unbounded")."""
    return max(min(_SHM_BYTES, disk_bytes // 8), 1)


@dataclass(frozen=True, slots=True)
class Probe:
    """What this machine offers the isolated tier, and why a mode is unavailable."""

    python: str
    python_prefixes: tuple[str, ...]
    """Where that Python lives (its venv and base prefixes), bound read-only into the sandbox; empty if unusable."""
    bwrap: str | None
    bwrap_as_other_uid: str | None
    """None when bwrap worked under a separate uid, else the reason it did not (or "not root")."""
    bwrap_as_self: str | None
    landlock_abi: int | None
    seccomp: bool
    root: bool
    problems: list[str] = field(default_factory=list)

    def mode(self, wanted: Mode) -> tuple[str, bool] | None:
        """(mode, under a separate uid) for the wanted mode, or None when it cannot run here."""
        if not self.seccomp or not self.python_prefixes:
            return None
        candidates: list[tuple[str, bool]] = []
        if wanted in ("auto", "bwrap"):
            if self.root and self.bwrap_as_other_uid is None:
                candidates.append(("bwrap", True))
            if self.bwrap_as_self is None:
                candidates.append(("bwrap", False))
        if wanted in ("auto", "landlock") and self.root and self.landlock_abi is not None:
            candidates.append(("landlock", True))
        return candidates[0] if candidates else None

    def refusal(self, wanted: Mode) -> str:
        reasons = list(self.problems)
        if not self.seccomp:
            reasons.append("seccomp filters are unavailable (needs Linux on x86_64 with CONFIG_SECCOMP_FILTER)")
        if wanted in ("auto", "bwrap"):
            if self.bwrap is None:
                reasons.append("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
            elif self.python_prefixes:  # else it was not tried: the Python's own problem is the reason
                reasons.append(f"bubblewrap cannot create namespaces here: {self.bwrap_as_self}")
        if wanted in ("auto", "landlock"):
            if not self.root:
                reasons.append("the Landlock fallback runs the worker under a separate uid, which needs a root host")
            if self.landlock_abi is None:
                reasons.append("Landlock is not available in this kernel (needs Linux >= 5.13 with landlock in lsm=)")
        return "; ".join(reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "python_prefixes": list(self.python_prefixes),
            "bwrap": self.bwrap,
            "bwrap_under_separate_uid": self.bwrap_as_other_uid or "works",
            "bwrap_as_current_user": self.bwrap_as_self or "works",
            "landlock_abi": self.landlock_abi,
            "seccomp": self.seccomp,
            "root": self.root,
            "problems": self.problems,
        }


_probes: dict[str, Probe] = {}


def default_python() -> str:
    """A Python every uid can run: Debian's /usr/bin/python3 when present (a pyenv Python under /root is not)."""
    system = "/usr/bin/python3"
    return system if os.access(system, os.X_OK) else os.path.realpath(sys.executable)


async def probe(python: str | None = None) -> Probe:
    """Probe the machine once per Python (cached): bwrap under a separate uid, bwrap as us, Landlock, seccomp."""
    python = python or default_python()
    if python not in _probes:
        _probes[python] = await _probe(python)
    return _probes[python]


async def _run(argv: list[str], user: int | None = None) -> tuple[int, str]:
    """Run one probe command (20 s at most) in a process group of its own: (exit code, output). A cancel (the run
    that asked for the probe stopped meanwhile: 5 of 24 cancels in its first 115 ms, audit 80) ends the command's
    whole group before it is raised again; it was left running, and its exit logged against a closed loop."""
    extra: dict[str, Any] = {} if user is None else {"user": user, "group": user, "extra_groups": []}
    try:
        process = await create_subprocess(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True,
            **extra,
        )
    except (OSError, ValueError) as exc:
        return 127, str(exc)
    try:
        async with time_limit(20):
            output, _ = await process.communicate()
    except TimeoutError:
        _end_probe(process)
        await process.wait()
        return 124, "timed out"
    except BaseException:
        _end_probe(process)
        with contextlib.suppress(asyncio.CancelledError):  # the first cancel is raised below whatever comes next
            await asyncio.shield(process.wait())
        raise
    return process.returncode or 0, output.decode("utf-8", "replace").strip()


def _end_probe(process: asyncio.subprocess.Process) -> None:
    """SIGKILL a probe command's descendants (bwrap's own children sit in sessions of their own) and its process
    group, whether or not the command itself has exited: a child it left holding the output pipe runs on in the
    group (`kill_group_now` stops at an exited launcher)."""
    harden.kill_tree(process.pid, include_root=False)
    for kill, target in ((os.killpg, process.pid), (os.kill, process.pid)):
        if kill is os.kill and process.returncode is not None:
            continue  # reaped: its pid may be another process's now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(target, signal.SIGKILL)


async def _probe(python: str) -> Probe:
    problems: list[str] = []
    code, output = await _run(
        [python, "-E", "-s", "-c", "import sys; print(sys.version_info >= (3, 10), sys.prefix, sys.base_prefix)"]
    )
    prefixes: tuple[str, ...] = ()
    if code != 0:
        problems.append(f"cannot run {python}: {output[-300:]}")
    elif not output.startswith("True "):
        problems.append(f"{python} is older than Python 3.10")
    else:
        found = (os.path.realpath(p) for p in output.split(" ")[1:])
        prefixes = tuple(dict.fromkeys(p for p in found if p != "/usr" and not p.startswith("/usr/"))) or ("/usr",)
    root = os.geteuid() == 0
    bwrap = shutil.which("bwrap")
    as_other: str | None = "not root: no separate uid"
    as_self: str | None = "bubblewrap is not installed"
    hidden = [p for p in prefixes if p == "/tmp" or p.startswith("/tmp/")]
    if bwrap is not None and hidden:  # bubblewrap's /tmp is private and size-bound: the host's /tmp is not seen
        as_other = as_self = (
            f"{python} lives under /tmp ({hidden[0]}), which bubblewrap replaces with a private /tmp: use a Python "
            "or virtual environment outside /tmp (sandbox_options={'python': ...})"
        )
    elif bwrap is not None and not prefixes:  # bubblewrap is there; what failed is the Python, said in `problems`
        as_other = as_self = f"not tried: {problems[0]}"
    elif bwrap is not None and prefixes:
        check = [bwrap, *bwrap_arguments(prefixes, None), python, "-E", "-s", "-c", "pass"]
        if root:
            code, output = await _run(check, user=UID_BASE - 1)
            as_other = None if code == 0 else output[-300:] or f"exit code {code}"
        code, output = await _run(check)
        as_self = None if code == 0 else output[-300:] or f"exit code {code}"
    return Probe(
        python=python,
        python_prefixes=prefixes,
        bwrap=bwrap,
        bwrap_as_other_uid=as_other,
        bwrap_as_self=as_self,
        landlock_abi=harden.landlock_abi(),
        seccomp=harden.seccomp_supported(),
        root=root,
        problems=problems,
    )


def bwrap_arguments(
    python_prefixes: tuple[str, ...], run_dir: Path | None, disk_bytes: int = 1 << 30, env: dict[str, str] | None = None
) -> list[str]:
    """bwrap's options (SANDBOX.md §6.3): every namespace, read-only system, no environment. The only writable
    places, /scratch (the work dir) and /tmp, two folders of one tmpfs, and /dev/shm, a small tmpfs of its own
    (multiprocessing's locks live there), share `disk_bytes`: the kernel bounds the total a run writes (ENOSPC
    past it). The root and /dev are remounted read-only; the private /dev/shm mounted on it stays writable."""
    shm = shm_bytes(disk_bytes)
    args = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(_INSIDE_ID),
        "--gid",
        str(_INSIDE_ID),
        "--hostname",
        "rlmx-sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in _ROOT_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for prefix in python_prefixes:
        if prefix != "/usr":
            args += ["--ro-bind", prefix, prefix]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(shm), "--perms", "0700", "--tmpfs", "/dev/shm"]
    args += ["--size", str(max(disk_bytes - shm, 1)), "--perms", "0700", "--tmpfs", "/rw"]
    args += ["--perms", "0700", "--dir", "/rw/tmp", "--perms", "0700", "--dir", "/rw/work"]
    args += ["--symlink", "/rw/tmp", "/tmp", "--symlink", "/rw/work", "/scratch"]
    if run_dir is not None:
        args += ["--ro-bind", str(run_dir / "sbx"), "/sbx", "--ro-bind", str(run_dir / "ctx"), "/ctx"]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/scratch"]
    args += ["--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8"]
    args += ["--setenv", "HOME", "/scratch", "--setenv", "TMPDIR", "/tmp"]
    for name, value in (env or {}).items():
        args += ["--setenv", name, value]
    args.append("--")
    return args


class IsolatedSandbox(SubprocessSandbox):
    """The worker under bubblewrap (or Landlock and a separate uid) plus seccomp and rlimits.

        RLM(lm, sandbox="isolated")                                   # bwrap where possible, else Landlock
        RLM(lm, sandbox="isolated", sandbox_options={"mode": "landlock"})

    Options beyond SubprocessSandbox's: `mode` ("auto", "bwrap", "landlock"), `uid` (the uid outside the
    sandbox when the host is root; default: a fresh unnamed uid per run, which its child RLMs' REPLs share),
    `max_processes` (RLIMIT_NPROC under that uid; once the run has child RLMs, every REPL's: see `tree_processes`).
    `python` defaults to /usr/bin/python3, which every uid can read.
    """

    tier = "isolated"

    def __init__(self, *, mode: Mode = "auto", max_processes: int = 64, **options: Any) -> None:
        if mode not in ("auto", "bwrap", "landlock"):
            raise InputError(f"isolated sandbox mode must be 'auto', 'bwrap' or 'landlock', not {mode!r}")
        options.setdefault("python", default_python())
        super().__init__(max_processes=max_processes, **options)
        self.mode: Mode = mode
        self.chosen = ""
        self.probe: Probe | None = None
        self.same_pid_namespace = True

    # --- launcher hooks --------------------------------------------------------------------------------------
    async def prepare(self) -> None:
        self.probe = await probe(self.python)
        chosen = self.probe.mode(self.mode)
        if chosen is None:
            raise SandboxStartError(
                f"the isolated sandbox cannot run here ({self.probe.refusal(self.mode)}). It will not fall back "
                "to a weaker tier: install what is missing, or choose the subprocess tier explicitly (--sandbox "
                "subprocess on the command line, sandbox='subprocess' in Python). "
                "`rlmx doctor` shows what this machine offers."
            )
        self.chosen, self.separate_uid = chosen
        self.same_pid_namespace = self.chosen != "bwrap"

    def disk_folders(self) -> list[Path]:
        return [] if self.chosen == "bwrap" else super().disk_folders()  # bwrap: tmpfs mounts (disk_mounts)

    def disk_mounts(self) -> list[str]:
        """bwrap: its tmpfs mounts, reached through /proc/<pid>/root of the namespace's first process (bubblewrap's
        own init, which runs no cell); [] when there is none (no zygote, or it ended). Their `size=` bounds blocks
        only: an empty file, folder or link takes none, yet pins an inode and a dentry (~1 KB of kernel slab) and
        bubblewrap cannot set nr_inodes, so the watcher counts each inode as the other tiers count each entry."""
        root = self._namespace_root() if self.chosen == "bwrap" else ""
        return [root + mount for mount in _TMPFS_MOUNTS] if root else []

    def _namespace_root(self) -> str:
        zygote, worker = self._zygote, self._worker
        launcher = zygote.process if zygote is not None else worker.process if worker is not None else None
        if launcher is None or launcher.returncode is not None:
            return ""
        inside = harden.namespace_pids(launcher.pid)
        return f"/proc/{inside[min(inside)]}/root" if inside else ""

    def end_for_disk(self) -> None:
        worker = self._worker
        if self.chosen != "bwrap" or worker is None:
            super().end_for_disk()
            return
        # by its pid here, as for a memory breach: the worker's kill_now would end the zygote, and every REPL
        pid = self._host_pid()
        if pid:
            harden.kill_tree(pid)
        else:
            worker.kill_now()

    def empty_disk(self, folders: list[Path]) -> None:
        if self.chosen != "bwrap":
            super().empty_disk(folders)
            return
        root = self._namespace_root()  # none: the zygote ended, and its mounts with their files
        if root:
            rundir.empty([Path(root + "/rw")], keep=_RW_FOLDERS)
            rundir.empty([Path(root + "/dev/shm")])

    def disk_bound(self) -> str:
        if self.chosen == "bwrap":
            shm = shm_bytes(self.disk_limit_bytes)
            return (
                f"{self.disk_limit_bytes:,} bytes: /scratch and /tmp share one tmpfs, /dev/shm has {shm:,} of them "
                "(ENOSPC past it); each file, folder or link counts 4 KiB beside its blocks, watched (empty files "
                "take no block, yet hold kernel memory)"
            )
        return super().disk_bound()

    @property
    def worker_dir(self) -> Path:
        assert self._dir is not None
        return Path("/sbx") if self.chosen == "bwrap" else self._dir / "sbx"

    def context_path(self, name: str) -> Path:
        assert self._dir is not None
        return Path("/ctx") / name if self.chosen == "bwrap" else self._dir / "ctx" / name

    def command(self, mode: str, fd: int) -> list[str]:
        worker = super().command(mode, fd)
        if self.chosen != "bwrap":
            return worker
        assert self.probe is not None and self.probe.bwrap is not None
        arguments = bwrap_arguments(
            self.probe.python_prefixes, self._dir, self.disk_limit_bytes, pool_thread_env(self.max_processes)
        )
        return [self.probe.bwrap, *arguments, *worker]

    def spawn_options(self) -> dict[str, Any]:
        assert self._dir is not None
        options = super().spawn_options()
        if self.chosen == "landlock":
            work, tmp = str(self._dir / "work"), str(self._dir / "tmp")
            options["env"] = {
                "PATH": "/usr/bin:/bin",
                "HOME": work,
                "TMPDIR": tmp,
                "LANG": "C.UTF-8",
                **pool_thread_env(self.max_processes),
            }
        else:
            options["env"] = {}  # bwrap clears it anyway and sets its own
        return options

    def harden_options(self) -> dict[str, Any]:
        assert self._dir is not None and self.probe is not None
        landlock: dict[str, list[str]] | None = None
        prefix = [p for p in self.probe.python_prefixes if p != "/usr"]
        if self.chosen == "landlock":
            run = self._dir
            system = ["/usr", *(f"/{n}" for n in _ROOT_LINKS), *prefix, "/dev/urandom", "/dev/random", "/dev/zero"]
            landlock = {
                "read_only": [*system, str(run / "sbx"), str(run / "ctx")],
                "read_write": [str(run / "work"), str(run / "tmp"), "/dev/null"],
            }
        elif self.probe.landlock_abi is not None:  # inside bwrap: a second wall, at no cost per cell
            landlock = {
                "read_only": ["/usr", *prefix, "/sbx", "/ctx", "/proc", "/dev/urandom", "/dev/random", "/dev/zero"],
                "read_write": ["/scratch", "/tmp", "/dev/shm", "/dev/null"],
            }
        return {
            "seccomp": True,
            "no_new_privs": True,
            "landlock": landlock,
            "namespaces": True,
            **harden.host_identity(self.launch_uid()),  # a worker charged to its uid is refused inotify (harden_zygote)
        }

    # --- the report ------------------------------------------------------------------------------------------
    def check_applied(self, applied: dict[str, Any]) -> None:
        missing = []
        if not applied.get("seccomp") or not applied.get("seccomp_worker_rules"):
            missing.append("the seccomp filter")
        if not applied.get("no_new_privs"):
            missing.append("no_new_privs")
        if self.chosen == "landlock" and not applied.get("landlock"):
            missing.append("Landlock")
        if self.chosen == "landlock" and applied.get("uid") != self.uid:
            missing.append(f"the separate uid {self.uid}")
        if self.chosen == "bwrap":
            unshared = self._unshared(applied)
            missing += [f"the {ns} namespace" for ns in REQUIRED_NAMESPACES if ns not in unshared]
        if missing:
            raise SandboxStartError(f"the isolated worker started without {', '.join(missing)}; refusing to run it")

    @staticmethod
    def _unshared(applied: dict[str, Any]) -> list[str]:
        return harden.unshared_namespaces(applied.get("namespaces"))

    def describe(self, applied: dict[str, Any]) -> dict[str, Any]:
        report = super().describe(applied)
        landlock = applied.get("landlock") if isinstance(applied.get("landlock"), dict) else None
        bwrap = self.chosen == "bwrap"
        report.update(
            mode=self.chosen,
            namespaces=self._unshared(applied),
            seccomp=True,
            seccomp_denies=harden.denied_syscalls("worker", bool(applied.get("shared_uid"))),
            landlock_abi=landlock.get("abi") if landlock else None,
            landlock=landlock,
            no_new_privs=True,
            uid=self.uid if self.separate_uid else os.getuid(),
            uid_inside=applied.get("uid"),
            fork_bound="seccomp denies fork, vfork and clone without CLONE_THREAD"
            + (f"; {self._tree_bound()}" if self.separate_uid else ""),
            environment="empty (PATH, HOME, TMPDIR, LANG only)",
            filesystem=(
                "read-only /usr, private /tmp, /dev and /dev/shm, contexts read-only at /ctx, one writable work dir "
                "(/scratch)"
                if bwrap
                else "Landlock: read-only /usr and contexts, one writable work dir and tmp dir, nothing else"
            ),
            network="none: an empty network namespace, and socket() denied"
            if bwrap
            else "socket() denied by seccomp"
            + (", TCP denied by Landlock" if landlock and landlock.get("tcp") == "denied" else ""),
        )
        return report
