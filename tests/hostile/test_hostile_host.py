"""The hostile suite, part two: attacks on the host process, on other runs, on the run's resources and on the
sandbox's own bookkeeping (issue 10's kinds), against every tier, each with its expected outcome per tier.

Outcomes as in test_hostile.py: "blocked", "exposed", "private" (only the sandbox's own processes or view),
"hard" (the worker died and was restarted, the host unaffected), "residual" (no in-process check can tell; what
rlmx guarantees instead is checked). Some outcomes depend on the host: HOST["subprocess"] says whether the default
tier's worker runs under a separate uid (a root host, as in CI), as root without capabilities, or as the host's
own user (not root). Each test measures what happened and compares it with the row for this host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hostile.harness import SUITE_OPTIONS, expected_outcome, launcher, open_sandbox, run
from rlmx import RLM
from rlmx.context import prepare
from rlmx.lm import Message, ScriptedLM
from rlmx.sandbox import CellResult, SubCall, SubCallResult, harden
from rlmx.sandbox.subprocess import SubprocessSandbox

B, X, P, K, R = "blocked", "exposed", "private", "hard", "residual"

EXPECTED: dict[str, dict[str, str]] = {
    # case          subprocess as the host's user | separate uid (root host) | root w/o caps | isolated | Landlock
    "host_proc_secrets": {"subprocess": B, "isolated": B},  # environ, mem, fd, deleted fd, cwd/.env, root
    "host_cmdline": {
        "subprocess": X,
        "subprocess-pidns": B,
        "isolated": B,
    },  # /proc/<pid>/cmdline is world-readable without a pid ns
    "ptrace_and_vm_readv": {"subprocess": B, "isolated": B},
    "other_runs_context": {"subprocess": B, "isolated": B},
    "symlink_out_of_work_dir": {"subprocess": B, "isolated": B},  # the host never follows them
    "inherited_descriptors": {"subprocess": B, "isolated": B},
    "slow_and_partial_frames": {"subprocess": K, "isolated": K},
    "forged_final_answering_sync": {"subprocess": R, "isolated": R},
    "deep_json": {"subprocess": B, "isolated": B},
    "huge_batch": {"subprocess": B, "isolated": B},
    # kill() and F_SETOWN/F_SETSIG: denied by seccomp on every tier (the default tier's filter names the host's and
    # the zygote's pids and groups, and -1); a separate uid adds the kernel's own permission check
    "signal_host": {"subprocess": B, "isolated": B},
    "signal_own_zygote": {"subprocess": B, "isolated": B},
    "proc_1": {"subprocess": B, "subprocess-nocaps": X, "isolated": B},  # bwrap: its own init, unreachable too
    "unix_sockets": {"subprocess": X, "isolated": B},  # by path and abstract
    "socket_families": {"subprocess": X, "isolated": B},  # isolated: an unnamed AF_UNIX pair only (asyncio's)
    "dns_and_ipv6": {"subprocess": X, "isolated": B},
    "hidden_memory": {"subprocess": B, "isolated": B},  # mmap, memfd, System V segments, queues and semaphores
    "new_namespaces": {"subprocess": B, "isolated": B},  # a user namespace, then a mount one and a tmpfs in it
    "sibling_of_the_worker": {"subprocess": B, "isolated": B},  # clone(CLONE_PARENT): outside the watched tree
    "subreaper_cleared": {"subprocess": B, "isolated": B},  # then a double fork's orphan goes to the zygote
    "disk_in_aggregate": {"subprocess": B, "isolated": B},
    "thread_outlives_cell": {"subprocess": B, "isolated": B},
    "c_stack_overflow": {"subprocess": K, "isolated": K},
    "every_way_to_exit": {"subprocess": B, "isolated": B},
    "closed_stdio": {"subprocess": B, "isolated": B},
    "zip_bomb": {"subprocess": B, "isolated": B},
    "double_fork_daemon": {"subprocess": B, "isolated": B},  # isolated: fork is denied; subprocess: killed
    "raise_own_rlimits": {"subprocess": B, "isolated": B},
}


def expected(case: str, tier: str) -> str:
    return expected_outcome(EXPECTED[case], tier)


def attempts(result: CellResult) -> dict[str, Any]:
    """The JSON a probing cell printed last: {attempt: what happened}."""
    assert result.status == "ok", result.error
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


TRY = """
import json, os
out = {}
def attempt(name, action):
    try:
        value = action()
        out[name] = 'ok:' + str(value)[:200]
    except BaseException as exc:
        out[name] = type(exc).__name__
"""


def succeeded(found: dict[str, Any], *names: str) -> list[str]:
    return [n for n in names if str(found.get(n, "")).startswith("ok:")]


# --- the host process -------------------------------------------------------------------------------------------
@pytest.fixture
def host_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A deleted secret file the host holds open, and a .env in the host's cwd; yields the open descriptor."""
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-dotenv-secret\n")
    monkeypatch.chdir(tmp_path)
    secret = tmp_path / "held"
    secret.write_text("sk-deleted-secret")
    fd = os.open(secret, os.O_RDONLY)
    secret.unlink()
    yield fd
    os.close(fd)


async def test_host_proc(tier: str, host_secrets: int, host_key: str) -> None:
    """environ, mem (read-write), fd (and a deleted file only the host holds), cwd/.env, root, cmdline."""
    host = os.getpid()
    code = TRY + (
        f"attempt('environ', lambda: {host_key!r} in open('/proc/{host}/environ', 'rb').read().decode('latin-1'))\n"
        f"attempt('mem', lambda: open('/proc/{host}/mem', 'r+b').close())\n"
        f"attempt('fd', lambda: os.listdir('/proc/{host}/fd'))\n"
        f"attempt('deleted', lambda: open('/proc/{host}/fd/{host_secrets}').read())\n"
        f"attempt('dotenv', lambda: open('/proc/{host}/cwd/.env').read())\n"
        f"attempt('root', lambda: os.listdir('/proc/{host}/root/'))\n"
        f"attempt('cmdline', lambda: open('/proc/{host}/cmdline', 'rb').read())\n"
        "print(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "environ", "mem", "fd", "deleted", "dotenv", "root")
    assert (X if got else B) == expected("host_proc_secrets", tier), found
    assert "sk-" not in json.dumps(found)
    assert (X if succeeded(found, "cmdline") else B) == expected("host_cmdline", tier), found


PTRACE = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
class IOVec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
out = {}
for name, pid in (('host', %d), ('parent', os.getppid())):
    result = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    out['ptrace_' + name] = 'ok' if result == 0 else os.strerror(ctypes.get_errno())
buffer = ctypes.create_string_buffer(16)
local, remote = IOVec(ctypes.addressof(buffer), 16), IOVec(%d, 16)
read = libc.process_vm_readv(%d, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
out['vm_readv'] = 'ok' if read > 0 else os.strerror(ctypes.get_errno())
print(json.dumps(out))
"""


async def test_ptrace_and_process_vm_readv(tier: str) -> None:
    marker = b"rlmx-host-marker"
    address = id(marker) + 32  # a bytes object's data, close enough: a successful read is the failure
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, PTRACE % (os.getpid(), address, os.getpid())))
    got = [k for k, v in found.items() if v == "ok"]
    assert (X if got else B) == expected("ptrace_and_vm_readv", tier), found


async def test_other_runs_context(tier: str) -> None:
    """Another run's context: its files (in any run dir), and its zygote's and worker's memory."""
    secret = f"SECRET-{secrets.token_hex(8)}"
    async with open_sandbox(tier, context=secret) as other:
        assert isinstance(other, SubprocessSandbox) and other._zygote is not None and other._worker is not None
        pids = [other._zygote.process.pid, other._worker.pid]
        code = TRY + (
            "import glob\nhits = []\n"
            "paths = glob.glob('/dev/shm/rlmx-*/**', recursive=True) + glob.glob('/tmp/rlmx-*/**', recursive=True)\n"
            "for path in paths:\n"
            "    try:\n        hits.append(open(path, errors='replace').read())\n    except OSError:\n        pass\n"
            f"attempt('files', lambda: {secret!r} in ''.join(hits) or 1 / 0)\n"
            f"for pid in {pids!r}:\n"
            "    attempt(f'mem {pid}', lambda: open(f'/proc/{pid}/mem', 'rb').close())\n"
            "    attempt(f'environ {pid}', lambda: open(f'/proc/{pid}/environ', 'rb').read())\n"
            "print(json.dumps(out))"
        )
        async with open_sandbox(tier) as box:
            found = attempts(await run(box, code))
    got = [k for k, v in found.items() if v.startswith("ok:")]
    assert (X if got else B) == expected("other_runs_context", tier), found


async def test_symlinks_out_of_the_work_dir(tier: str, tmp_path: Path) -> None:
    """Symlinks to host folders in the work dir: the host's clean-ups (disk bound, close) never follow them."""
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("x")
    tmp_path.chmod(0o755)
    code = (
        f"import os\nos.symlink({str(keep)!r}, 'escape')\nos.symlink('/', 'root')\n"
        "with open('fill', 'wb') as f:\n    for _ in range(48):\n        f.write(b'x' * (1 << 20))\n"
    )
    async with open_sandbox(tier, disk_limit_bytes=32 << 20) as box:
        await run(box, code)
        await asyncio.sleep(0.3)  # the disk watcher (where there is one) empties the work dir
        await run(box, "print(1)")
    assert (B if (keep / "precious").exists() else X) == expected("symlink_out_of_work_dir", tier)


async def test_inherited_descriptors(tier: str, tmp_path: Path) -> None:
    secret = tmp_path / "inheritable"
    secret.write_text("sk-inherited-secret")
    fd = os.open(secret, os.O_RDONLY)
    os.set_inheritable(fd, True)  # even a descriptor the host left inheritable must not reach the worker
    code = (
        "import os\nseen = []\nfor fd in range(1024):\n    try:\n"
        "        seen.append(os.pread(fd, 100, 0))\n    except OSError:\n        pass\nprint(seen)"
    )
    try:
        async with open_sandbox(tier) as box:
            result = await run(box, code)
    finally:
        os.close(fd)
    assert result.status == "ok", result.error
    assert (X if "sk-inherited" in result.stdout else B) == expected("inherited_descriptors", tier)


# --- the frame channel ------------------------------------------------------------------------------------------
async def test_slow_and_partial_frames(tier: str) -> None:
    """A header that announces 100 bytes and sends 10, then silence; and half a header: a hard kill, never a hang."""
    partial = "import os, sys, time\nos.write(int(sys.argv[1]), {data!r})\ntime.sleep(30)"
    async with open_sandbox(tier, hard_timeout_grace=0.3) as box:
        first = await run(box, partial.format(data=b"\x00\x00\x00\x64" + b"{" * 10), timeout=0.2)
        second = await run(box, partial.format(data=b"\x00\x00"), timeout=0.2)
        after = await run(box, "print(len(context))")
    restarted = first.status == second.status == "restarted"
    assert (K if restarted and after.stdout == "11\n" else X) == expected("slow_and_partial_frames", tier)


FORGE_AND_PONG = """
import json, os, struct, sys, time
fd = int(sys.argv[1])
frame = sys._getframe()
while not (isinstance(frame.f_locals.get('message'), dict) and frame.f_locals['message'].get('t') == 'exec'):
    frame = frame.f_back
def send(message):
    body = json.dumps(message).encode()
    os.write(fd, struct.pack('>I', len(body)) + body)
def receive():
    size = struct.unpack('>I', os.read(fd, 4))[0]
    return json.loads(os.read(fd, size))
send({'t': 'result', 'id': frame.f_locals['message']['id'], 'status': 'ok', 'stdout': '',
      'final': {'kind': 'final', 'value': 'FORGED ' + str(os.environ.get('RLM_FAKE_API_KEY'))},
      'answer': {'content': None, 'ready': False, 'valid': True}})
ping = receive()
send({'t': 'pong', 'id': ping.get('id')})
time.sleep(0.5)
"""


def test_forged_final_that_answers_the_sync_ping(tier: str, host_key: str) -> None:
    """A cell that forges its own result and then plays the worker's loop is the worker, as far as anything in
    its process can tell: it can finish the run with a value, exactly as FINAL() would. No capability comes
    with it: the forged answer holds only what the cell could see, and the host stays consistent."""
    name, extra = launcher(tier)
    replies = iter(["```repl\n" + FORGE_AND_PONG + "\n```", "```repl\nFINAL('real')\n```"])

    def reply(messages: list[Message]) -> str:
        return next(replies)

    result = RLM(ScriptedLM(reply), sandbox=name, sandbox_options={**SUITE_OPTIONS, **extra}).completion(
        "q", context="c"
    )
    outcome = R if result.answer in ("FORGED None", "real") else X
    assert outcome == expected("forged_final_answering_sync", tier), result.answer
    assert host_key not in str(result.answer)


async def test_deep_json(tier: str) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    code = (
        'import os, struct, sys, time\nbody = b\'{"t": "result", "x": \' + '
        f"{deep.encode()!r} + b'}}'\nos.write(int(sys.argv[1]), struct.pack('>I', len(body)) + body)\ntime.sleep(5)"
    )
    async with open_sandbox(tier) as box:
        forged = await run(box, code)
        nested = await run(box, "x = []\nfor _ in range(100000):\n    x = [x]\nFINAL(x)")
        after = await run(box, "print(len(context))")
    handled = forged.status == "restarted" and nested.status in ("ok", "error") and after.stdout == "11\n"
    assert (B if handled else X) == expected("deep_json", tier), (forged, nested)


async def test_huge_batch(tier: str) -> None:
    served: list[int] = []

    async def calls(call: SubCall) -> list[SubCallResult]:
        served.append(len(call.items))
        return [SubCallResult(True, text="ok")] * len(call.items)

    async with open_sandbox(tier, max_calls_per_cell=100) as box:
        result = await box.run_cell("r = llm_query_batched(['x'] * 200_000)\nprint(r[-1])", calls=calls, timeout=20)
    refused = "sub-call" in (result.error or "") + result.stdout and sum(served) <= 100
    assert (B if refused else X) == expected("huge_batch", tier), (result, sum(served))


# --- signals and other processes ----------------------------------------------------------------------------------
SIGNALS = (
    TRY
    + """
import fcntl, signal
def by_fcntl(pid):
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETOWN, pid)
    fcntl.fcntl(r, 10, int(signal.SIGWINCH))  # F_SETSIG
    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
    os.write(w, b'x')
attempt('kill', lambda: os.kill(%d, signal.SIGWINCH))
attempt('fcntl', lambda: by_fcntl(%d))
print(json.dumps(out))
"""
)


async def test_signals_to_the_host(tier: str) -> None:
    """kill() and the F_SETOWN/F_SETSIG route, with a harmless signal the host counts."""
    received: list[int] = []
    previous = signal.signal(signal.SIGWINCH, lambda signum, frame: received.append(signum))
    try:
        async with open_sandbox(tier) as box:
            found = attempts(await run(box, SIGNALS % (os.getpid(), os.getpid())))
            await asyncio.sleep(0.2)
    finally:
        signal.signal(signal.SIGWINCH, previous)
    assert (X if received else B) == expected("signal_host", tier), found


async def test_signals_to_the_sandboxs_own_zygote(tier: str) -> None:
    """F_SETOWN + F_SETSIG(SIGKILL) at the worker's parent (the zygote): at most the sandbox's own process."""
    code = (
        "import fcntl, os, signal\nr, w = os.pipe()\nfcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())\n"
        "fcntl.fcntl(r, 10, int(signal.SIGKILL))\nfcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)\n"
        "os.write(w, b'x')"
    )
    async with open_sandbox(tier) as box:
        zygote = box._zygote
        result = await run(box, code)
        await asyncio.sleep(0.2)
        killed = zygote.process.returncode is not None
        after = await run(box, "print(len(context))")
        if after.status == "restarted":  # the worker died with its zygote after the cell had answered
            after = await run(box, "print(len(context))")
    assert after.stdout == "11\n"
    assert (P if killed else B) == expected("signal_own_zygote", tier), result


async def test_proc_1(tier: str) -> None:
    code = TRY + (
        "attempt('environ', lambda: open('/proc/1/environ', 'rb').read())\n"
        "attempt('kill', lambda: os.kill(1, 0))\nprint(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "environ", "kill")
    assert (X if got else B) == expected("proc_1", tier), found


# --- network ----------------------------------------------------------------------------------------------------
@pytest.fixture
def unix_listeners() -> Iterator[tuple[str, str, list[socket.socket]]]:
    path = f"/tmp/rlmx-hostile-{secrets.token_hex(4)}.sock"
    abstract = f"\0rlmx-hostile-{secrets.token_hex(4)}"
    servers = []
    for address in (path, abstract):
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen(4)
        server.setblocking(False)
        servers.append(server)
    os.chmod(path, 0o777)  # open to every uid: only the sandbox itself may stop the connection
    yield path, abstract, servers
    for server in servers:
        server.close()
    os.unlink(path)


def _accepted(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


async def test_unix_sockets_by_path_and_abstract(tier: str, unix_listeners: Any) -> None:
    path, abstract, servers = unix_listeners
    code = TRY + (
        "import socket\ndef connect(address):\n    s = socket.socket(socket.AF_UNIX)\n    s.connect(address)\n"
        f"attempt('path', lambda: connect({path!r}))\nattempt('abstract', lambda: connect({abstract!r}))\n"
        "print(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    heard = [_accepted(s) for s in servers]
    assert (X if any(heard) else B) == expected("unix_sockets", tier), found


async def test_a_new_socket_is_an_unnamed_unix_pair_or_nothing(tier: str) -> None:
    """asyncio's event loop makes a socketpair for its self-pipe, so an unnamed AF_UNIX pair is allowed on every
    tier (it reaches nothing outside the process). socket() of any family, and socketpair() of any other family
    (inet, inet6, netlink), stay refused by the isolated tier's filter (EPERM, not the kernel's own EOPNOTSUPP)."""
    code = TRY + (
        "import asyncio, socket\n"
        "for name, family in (('inet', socket.AF_INET), ('inet6', socket.AF_INET6), ('netlink', socket.AF_NETLINK)):\n"
        "    attempt('pair_' + name, lambda: socket.socketpair(family))\n"
        "    attempt('socket_' + name, lambda: socket.socket(family, socket.SOCK_DGRAM))\n"
        "attempt('socket_unix', lambda: socket.socket(socket.AF_UNIX))\n"
        "attempt('unix_pair', lambda: socket.socketpair(socket.AF_UNIX))\n"
        "attempt('event_loop', lambda: asyncio.run(asyncio.sleep(0, 'ran')))\n"
        "print(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    assert found["unix_pair"].startswith("ok:") and found["event_loop"] == "ok:ran", found
    families = ("inet", "inet6", "netlink")
    refused = [f"pair_{f}" for f in families] + [f"socket_{f}" for f in (*families, "unix")]
    by_filter = all(found[name] == "PermissionError" for name in refused)
    assert (B if by_filter else X) == expected("socket_families", tier), found
    if not by_filter:  # no filter on sockets: the kernel itself makes no inet or netlink pair
        assert not succeeded(found, *(f"pair_{f}" for f in families)), found


async def test_dns_and_ipv6(tier: str) -> None:
    """A DNS query (the classic exfiltration route) to a resolver the test runs, and TCP over IPv6 loopback."""
    resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    resolver.bind(("127.0.0.1", 0))
    resolver.setblocking(False)
    try:
        six = socket.socket(socket.AF_INET6)
        six.bind(("::1", 0))
        six.listen(4)
        six.setblocking(False)
    except OSError:
        six = None  # no IPv6 on this host: the DNS half still runs
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x06secret\x07example\x00\x00\x01\x00\x01"
    code = TRY + (
        "import socket\n"
        f"attempt('dns', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto({query!r}, "
        f"('127.0.0.1', {resolver.getsockname()[1]})))\n"
    )
    if six is not None:
        code += f"attempt('ipv6', lambda: socket.create_connection(('::1', {six.getsockname()[1]}), timeout=2))\n"
    code += "print(json.dumps(out))"
    try:
        async with open_sandbox(tier) as box:
            found = attempts(await run(box, code))
        heard = []
        with contextlib.suppress(BlockingIOError):
            heard.append(resolver.recv(512))
        if six is not None and _accepted(six):
            heard.append(b"ipv6")
    finally:
        resolver.close()
        if six is not None:
            six.close()
    assert (X if heard else B) == expected("dns_and_ipv6", tier), found


# --- resources --------------------------------------------------------------------------------------------------
async def test_memory_outside_the_heap(tier: str) -> None:
    """A 6 GiB anonymous mapping, an anonymous file (memfd) and a System V segment: none may hold RAM that no
    limit counts."""
    code = TRY + (
        "import ctypes, mmap\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "attempt('mmap', lambda: mmap.mmap(-1, 6 << 30))\n"
        "attempt('memfd', lambda: os.memfd_create('hog'))\n"
        "def shm():\n    key = libc.shmget(0, 1 << 30, 0o1600)\n"
        "    if key < 0:\n        raise OSError(ctypes.get_errno(), 'shmget')\n    libc.shmctl(key, 0, None)\n"
        "    return key\nattempt('sysv', shm)\n"
        # queues and semaphore sets outlive the run too, and hold memory no limit counts (192 MiB under a 64 MiB one)
        "def ipc(name, call, remove):\n    made = call()\n"
        "    if made < 0:\n        raise OSError(ctypes.get_errno(), name)\n    remove(made)\n    return made\n"
        "attempt('msgget', lambda: ipc('msgget', lambda: libc.msgget(0, 0o1600), lambda q: libc.msgctl(q, 0, None)))\n"
        "attempt('semget', lambda: ipc('semget', lambda: libc.semget(0, 1, 0o1600), lambda s: libc.semctl(s, 0, 0)))\n"
        "queue = b'/rlmx-hostile-' + str(os.getpid()).encode()\n"
        "attempt('mq_open', lambda: ipc('mq_open', lambda: libc.syscall(240, queue[1:], 0o300, 0o600, None), "
        "lambda fd: (os.close(fd), libc.syscall(241, queue[1:]))))\n"
        "print(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "mmap", "memfd", "sysv", "msgget", "semget", "mq_open")
    assert (X if got else B) == expected("hidden_memory", tier), found


async def test_new_namespaces(tier: str) -> None:
    """A forked child (one thread, so the kernel lets it) making a user namespace: root there, it could mount a
    private tmpfs that no disk or memory bound counts (120 MiB under 64 MiB ones)."""
    code = TRY + (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def child_unshare():\n    pid = os.fork()\n"
        "    if pid == 0:\n        os._exit(0 if libc.unshare(0x10000000) == 0 else 3)\n"
        "    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:\n        raise PermissionError('unshare')\n"
        "attempt('unshare', child_unshare)\nprint(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "unshare")
    assert (X if got else B) == expected("new_namespaces", tier), found


async def test_a_child_made_a_sibling_of_the_worker(tier: str) -> None:
    """clone(CLONE_PARENT) makes a child whose parent is the zygote, not the worker: the memory and disk watchers
    sum the worker's tree, so each such sibling could hold a whole bound of its own, unseen."""
    code = TRY + (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def sibling():\n"
        "    pid = libc.syscall(56, 0x8000 | 17, 0, 0, 0, 0)  # clone(CLONE_PARENT | SIGCHLD)\n"
        "    if pid == 0:\n        os._exit(0)\n"
        "    if pid < 0:\n        raise PermissionError(ctypes.get_errno())\n"
        "    return pid\n"
        "attempt('clone_parent', sibling)\nprint(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "clone_parent")
    assert (X if got else B) == expected("sibling_of_the_worker", tier), found


async def test_the_worker_cannot_stop_being_its_orphans_parent(tier: str) -> None:
    """The worker is a child subreaper, so a process a cell double-forks stays in the worker's tree, which the memory
    and disk watchers sum. A cell that cleared the flag would send such orphans up to the zygote, unseen: the flag
    can be neither cleared nor set again, and it is still on after the attempts."""
    code = TRY + (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def subreaper(value):\n"
        "    if libc.prctl(36, value, 0, 0, 0) < 0:  # PR_SET_CHILD_SUBREAPER\n"
        "        raise PermissionError(ctypes.get_errno())\n"
        "    return value\n"
        "def still_on():\n"
        "    flag = ctypes.c_int(-1)\n"
        "    libc.prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER\n"
        "    return flag.value\n"
        "attempt('clear', lambda: subreaper(0))\nattempt('set', lambda: subreaper(1))\n"
        "out['flag'] = still_on()\nprint(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    got = succeeded(found, "clear", "set")
    assert (X if got else B) == expected("subreaper_cleared", tier), found
    assert found["flag"] == 1, found


async def test_signals_to_the_hosts_threads_from_a_worker_of_the_hosts_own_uid() -> None:
    """kill() or tkill() naming one of the host's threads (its id is in /proc/<host>/task): the filter knew only
    the host's pid, and a worker of the host's own uid (every non-root host) ended the host."""
    import threading

    from rlmx.sandbox import harden

    received: list[int] = []
    parked = threading.Event()
    thread = threading.Thread(target=parked.wait, daemon=True)
    thread.start()
    previous = signal.signal(signal.SIGWINCH, lambda signum, frame: received.append(signum))
    code = TRY + (
        "import ctypes, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def tkill(tid):\n    if libc.syscall(200, tid, int(signal.SIGWINCH)) != 0:\n"
        "        raise OSError(ctypes.get_errno(), 'tkill')\n"
        f"attempt('tkill', lambda: tkill({thread.native_id}))\n"
        f"attempt('kill', lambda: os.kill({thread.native_id}, signal.SIGWINCH))\nprint(json.dumps(out))"
    )
    same_uid = SubprocessSandbox(uid=os.geteuid()) if os.geteuid() == 0 else SubprocessSandbox()
    try:
        await same_uid.start([prepare("context", "c")])
        found = attempts(await run(same_uid, code))
        await asyncio.sleep(0.2)
    finally:
        await same_uid.close()
        signal.signal(signal.SIGWINCH, previous)
        parked.set()
    assert not succeeded(found, "tkill"), found
    if (harden.landlock_abi() or 0) >= 6:  # Linux 6.12+: no signal leaves the sandbox, whatever id it names
        assert not succeeded(found, "kill") and not received, found


DISK = """
import os, tempfile
written = 0
try:
    for folder in ('.', tempfile.gettempdir()):
        for i in range(6):
            with open(os.path.join(folder, f'rlmx-fill-{i}'), 'wb') as f:
                for _ in range(16):
                    f.write(b'x' * (1 << 20))
                    written += 1
except OSError as exc:
    print('stopped', exc.errno)
print(written)
"""


async def test_disk_in_aggregate(tier: str) -> None:
    """Twelve files of 16 MiB (each under the per-file limit), half in the work dir and half in the temp dir,
    against a 64 MiB bound for the run: ENOSPC (a sized tmpfs) or a restart (the watcher), and nothing kept."""
    limit = 64 << 20
    async with open_sandbox(tier, disk_limit_bytes=limit) as box:
        result = await run(box, DISK, timeout=20)
        await asyncio.sleep(0.3)
        after = await run(box, "print(len(context))")
        folders = box.disk_folders()
        left = sum(f.stat().st_size for folder in folders for f in folder.rglob("*") if f.is_file())
    stopped = "stopped 28" in result.stdout or "disk limit" in (result.error or "") + (after.error or "")
    assert (B if stopped and left <= limit else X) == expected("disk_in_aggregate", tier), (result, after)
    assert not list(Path("/tmp").glob("rlmx-fill-*"))


@pytest.mark.dev_shm_alone  # 120 MiB with no name in the run dir on /dev/shm
@pytest.mark.parametrize("how", ["deleted while open", "O_TMPFILE"])
async def test_disk_in_files_without_a_name(tier: str, how: str) -> None:
    """Three 40 MiB files the cell holds open but no folder lists (unlinked, or made with O_TMPFILE) against a
    64 MiB bound: the watcher summed directory entries only, and the 120 MiB (RAM, in /dev/shm) stayed."""
    make = (
        "os.open('.', os.O_TMPFILE | os.O_RDWR, 0o600)"
        if how == "O_TMPFILE"
        else "os.open(f'held-{i}', os.O_CREAT | os.O_RDWR, 0o600)"
    )
    code = (
        "import os, time\nheld = []\ntry:\n    for i in range(3):\n"
        f"        fd = {make}\n"
        "        if os.path.exists(f'held-{i}'):\n            os.unlink(f'held-{i}')\n"
        "        for _ in range(40):\n            os.write(fd, b'x' * (1 << 20))\n        held.append(fd)\n"
        "    time.sleep(1.0)\nexcept OSError as exc:\n    print('stopped', exc.errno)\nprint(len(held))"
    )
    async with open_sandbox(tier, disk_limit_bytes=64 << 20) as box:
        result = await run(box, code, timeout=20)
        await asyncio.sleep(0.3)
        after = await run(box, "print(len(context))")
    stopped = "stopped 28" in result.stdout or "disk limit" in (result.error or "") + (after.error or "")
    assert (B if stopped else X) == expected("disk_in_aggregate", tier), (result, after)


async def test_disk_in_a_world_writable_folder_the_sandbox_uid_does_not_own() -> None:
    """/tmp/.X11-unix and the like (root's, mode 1777): 120 MiB written there under a 64 MiB bound were neither
    counted (only folders the uid owns were entered) nor removed at close (only /tmp's top level was)."""
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("the default tier's worker has a uid of its own only on a root host")
    shared = Path(tempfile.mkdtemp(prefix="rlmx-test-sticky-", dir="/tmp"))
    shared.chmod(0o1777)
    code = (
        "written = 0\ntry:\n    for i in range(3):\n"
        f"        with open('{shared}/fill-' + str(i), 'wb') as f:\n"
        "            for _ in range(40):\n                f.write(b'x' * (1 << 20))\n                written += 1\n"
        "except OSError as exc:\n    print('stopped', exc.errno)\nprint(written)"
    )
    try:
        async with open_sandbox("subprocess", disk_limit_bytes=64 << 20) as box:
            result = await run(box, code, timeout=20)
            await asyncio.sleep(0.3)
            after = await run(box, "print(len(context))")
        left = sorted(path.name for path in shared.iterdir())
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert "disk limit" in (result.error or "") + (after.error or ""), (result, after)
    assert left == []


async def test_a_thread_that_outlives_its_cell(tier: str) -> None:
    """A thread keeps writing after its cell returned: the disk bound still holds, between cells too."""
    code = (
        "import threading, time\ndef hog():\n    time.sleep(0.2)\n    with open('hog', 'wb') as f:\n"
        "        for _ in range(64):\n            f.write(b'x' * (1 << 20))\n"
        "threading.Thread(target=hog, daemon=True).start()"
    )
    async with open_sandbox(tier, disk_limit_bytes=32 << 20) as box:
        first = await run(box, code)
        await asyncio.sleep(0.8)
        after = await run(box, "print(len(context))")
        again = await run(box, "print(len(context))")
    bounded = first.status == "ok" and again.stdout == "11\n"
    bounded = bounded and ("disk limit" in (after.error or "") or after.stdout == "11\n")
    assert (B if bounded else X) == expected("thread_outlives_cell", tier), (after, again)


async def test_c_stack_overflow(tier: str) -> None:
    # Python-to-Python calls use no C stack; a lambda called from map() does, at every level
    code = "import sys\nsys.setrecursionlimit(10**7)\ndef f():\n    return next(map(lambda _: f(), [0]))\nf()"
    async with open_sandbox(tier) as box:
        result = await run(box, code)
        after = await run(box, "print(len(context))")
    outcome = K if result.status == "restarted" and after.stdout == "11\n" else X
    assert outcome == expected("c_stack_overflow", tier), result


EXITS = (
    "raise SystemExit(3)",
    "raise KeyboardInterrupt",
    "os._exit(0)",
    "os.abort()",
    "os.kill(os.getpid(), signal.SIGKILL)",
    "signal.raise_signal(signal.SIGTERM)",
    "os.close(int(sys.argv[1]))",
)


async def test_every_way_to_exit(tier: str) -> None:
    """Each way out of the interpreter, one after the other in one sandbox: the host hears of it and the next
    cell runs with the contexts back."""
    outcomes = []
    async with open_sandbox(tier) as box:
        for leave in EXITS:
            result = await run(box, f"import os, signal, sys\n{leave}")
            after = await run(box, "print(len(context))")
            outcomes.append((leave, result.status, after.stdout))
    handled = all(status in ("error", "restarted") and after == "11\n" for _, status, after in outcomes)
    assert (B if handled else X) == expected("every_way_to_exit", tier), outcomes


async def test_closed_stdio(tier: str) -> None:
    async with open_sandbox(tier) as box:
        await run(box, "import os\nfor fd in (0, 1, 2):\n    os.close(fd)")
        result = await run(box, "print('still here')\nimport sys\nprint('err', file=sys.stderr)\nraise ValueError(1)")
        after = await run(box, "print(len(context))")
    handled = result.stdout == "still here\n" and "ValueError" in (result.error or "") and after.stdout == "11\n"
    assert (B if handled else X) == expected("closed_stdio", tier), result


def _bomb(gib: int) -> bytes:
    """Raw deflate that inflates to `gib` GiB of zeros: one full-flushed 16 MiB block (about 16 kB), repeated."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(b"\0" * (16 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    return block * (gib * 64) + deflate.flush()


@pytest.mark.slow
async def test_zip_bomb(tier: str) -> None:
    """1 GiB from about 1 MB, inflated in memory (RLIMIT_AS, here 192 MiB) and streamed to disk (the disk
    bound, here 64 MiB)."""
    bomb = _bomb(1)
    async with open_sandbox(tier, disk_limit_bytes=64 << 20, memory_limit_bytes=192 << 20) as box:
        await box.load([prepare("bomb", bomb.hex())], {})
        memory = await run(box, "import zlib\nlen(zlib.decompress(bytes.fromhex(bomb), -15))", timeout=20)
        stream = (
            "import zlib\nd = zlib.decompressobj(-15)\ndata = bytes.fromhex(bomb)\nwith open('out', 'wb') as f:\n"
            "    for i in range(0, len(data), 4096):\n        f.write(d.decompress(data[i:i + 4096]))\n"
        )
        disk = await run(box, stream, timeout=20)
        await asyncio.sleep(0.3)
        after = await run(box, "print(len(context))")
    in_memory = "MemoryError" in (memory.error or "") or memory.status == "restarted"
    stopped = (disk.error or "") + (after.error or "")
    on_disk = any(s in stopped for s in ("No space left", "disk limit", "File too large"))
    assert (B if in_memory and on_disk else X) == expected("zip_bomb", tier), (memory, disk, after)


DAEMON = """
import os, time
r, w = os.pipe()
try:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            time.sleep(60)
        os._exit(0)
    os.wait()
    print(os.read(r, 32).decode())
except OSError as exc:
    print(type(exc).__name__)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _seen(box: object, pid: int) -> int:
    """A pid a cell printed, as this process sees it: a non-root host's zygote and workers may run in a pid
    namespace of their own (harden.enter_pid_namespace)."""
    zygote = getattr(box, "_zygote", None)
    if zygote is None or not zygote.applied.get("pid_namespace"):
        return pid
    return harden.host_pid(pid, zygote.process.pid) or pid


@pytest.mark.parametrize("ending", ["close", "restart", "cancel"])
async def test_a_double_forked_daemon_dies_with_the_sandbox(tier: str, ending: str) -> None:
    """fork, setsid, fork: the grandchild is in a new session and was re-parented; it still dies when the sandbox
    closes, when its worker is restarted, and when a run is cancelled mid-cell."""
    async with open_sandbox(tier) as box:
        result = await run(box, DAEMON)
        pid = _seen(box, int(result.stdout)) if result.stdout.strip().isdigit() else None
        alive = pid is not None and _running(pid)
        if ending == "restart":
            await run(box, "import os\nos._exit(1)")
        elif ending == "cancel":
            task = asyncio.create_task(run(box, "import time\ntime.sleep(30)", timeout=60))
            await asyncio.sleep(0.3)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    for _ in range(100):
        if pid is None or not _running(pid):
            break
        await asyncio.sleep(0.02)
    outcome = B if pid is None or not _running(pid) else X
    assert outcome == expected("double_fork_daemon", tier), (result, alive)
    if pid is not None:
        assert alive  # the daemon really ran, so its end is the sandbox's doing


async def test_raising_ones_own_rlimits(tier: str) -> None:
    code = TRY + (
        "import resource\nfor name in ('RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_CORE'):\n"
        "    which = getattr(resource, name)\n"
        "    attempt(name, lambda: resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)))\n"
        "print(json.dumps(out))"
    )
    async with open_sandbox(tier) as box:
        found = attempts(await run(box, code))
    limited = [n for n in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE") if found[n].startswith("ok")]
    assert (X if limited else B) == expected("raise_own_rlimits", tier), found
