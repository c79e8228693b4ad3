"""A large ASCII context reaches the REPL as a str laid over its mapped file (strmap.py): the same text, a real str
in every way a cell can tell, and no copy of it in the worker. Other texts, and files or interpreters the layout
does not fit, are decoded as before."""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.isolated import IsolatedSandbox
from rlmx.sandbox.strmap import PREFIX_BYTES
from rlmx.sandbox.subprocess import SubprocessSandbox
from rlmx.strbuffer import MIN_CHARS, ascii_bytes

LINE = "The quick brown fox jumps over the lazy dog; 0123456789.\n"
BIG = LINE * (MIN_CHARS // len(LINE) + 200)  # just over the size where the layout starts

# Run in the REPL: where `context` lives, and what a cell sees of it.
INSPECT = """
import sys
address = id(context)
mapping = "unreadable"  # the isolated tier hides /proc/self/maps
try:
    for line in open("/proc/self/maps"):
        span, *rest = line.split()
        low, high = (int(x, 16) for x in span.split("-"))
        if low <= address < high:
            mapping = " ".join(rest[4:])
except PermissionError:
    pass
line = "The quick brown fox jumps over the lazy dog; 0123456789.\\n"
print("unreadable" if mapping == "unreadable" else "/ctx/context.txt" in mapping)
print(context == line * (len(context) // len(line)), len(context))
print(context.count("fox"), context[:9], context[-3:] == "89.\\n"[-3:], context.isascii(), type(context) is str)
copy = context[:-1] + context[-1:]
print(hash(context) == hash(copy), context.upper()[:9], context.encode()[:3], sys.getsizeof(context) > len(context))
interned = sys.intern(context)
print(interned is context or interned == context, context.split("\\n", 1)[0][-4:])
"""


async def no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no sub-calls expected")


def _expected(text: str, *, mapped: bool | str) -> str:
    line = "The quick brown fox jumps over the lazy dog; 0123456789.\n"
    return (
        f"{mapped}\n"
        f"{text == line * (len(text) // len(line))} {len(text)}\n"
        f"{text.count('fox')} {text[:9]} True {text.isascii()} True\n"
        f"True {text.upper()[:9]} {text.encode()[:3]!r} True\n"
        f"True {text.split(chr(10), 1)[0][-4:]}\n"
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[SubprocessSandbox]:
    box = SubprocessSandbox(hard_timeout_grace=0.5)
    await box.start([prepare("context", BIG)])
    yield box
    await box.close()


async def test_a_large_ascii_context_is_the_mapped_file_and_a_real_str(sandbox: SubprocessSandbox) -> None:
    assert sandbox._contexts[0]["prefix"] == PREFIX_BYTES
    result = await sandbox.run_cell(INSPECT, calls=no_calls, timeout=10)
    assert result.error is None, result.error
    assert result.stdout == _expected(BIG, mapped=True)
    # Dropping the name and collecting leaves the REPL working (the str is never freed, so never unmapped).
    after = await sandbox.run_cell("del context\nimport gc\ngc.collect()\nprint('alive')", calls=no_calls, timeout=10)
    assert after.stdout == "alive\n"


async def test_a_restarted_worker_and_a_new_zygote_see_the_same_text(sandbox: SubprocessSandbox) -> None:
    killed = await sandbox.run_cell("sum(range(10**12))", calls=no_calls, timeout=0.5)
    assert killed.status == "restarted"
    forked = await sandbox.run_cell(INSPECT, calls=no_calls, timeout=10)
    assert forked.stdout == _expected(BIG, mapped=True)
    assert sandbox._zygote is not None
    sandbox._zygote.kill_now()  # the files are written again from the held descriptors, prefix and all
    deadline = time.monotonic() + 5
    while sandbox._zygote.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    await sandbox.run_cell("1", calls=no_calls, timeout=10)
    again = await sandbox.run_cell(INSPECT, calls=no_calls, timeout=10)
    assert again.stdout == _expected(BIG, mapped=True)


async def test_non_ascii_and_small_texts_are_decoded_as_before() -> None:
    accented = BIG[: len(BIG) // 2] + "é" + BIG[len(BIG) // 2 :]
    box = SubprocessSandbox()
    await box.start([prepare("context", accented), prepare("small", "just a line")])
    try:
        assert all("prefix" not in spec for spec in box._contexts)
        code = "print(len(context), context.count('é'), context[len(context) // 2 - 2 : len(context) // 2 + 2], small)"
        result = await box.run_cell(code, calls=no_calls, timeout=10)
        middle = len(accented) // 2
        assert result.stdout == f"{len(accented)} 1 {accented[middle - 2 : middle + 2]} just a line\n"
    finally:
        await box.close()


async def test_a_session_loads_a_large_ascii_context_into_a_hardened_worker(sandbox: SubprocessSandbox) -> None:
    await sandbox.load([prepare("more", BIG.replace("fox", "cat"))], {})
    result = await sandbox.run_cell(
        "print(more.count('cat'), more.count('fox'), len(more))", calls=no_calls, timeout=10
    )
    assert result.stdout == f"{BIG.count('fox')} 0 {len(BIG)}\n"


# --- the worker's side, on its own ---------------------------------------------------------------------------
def _worker_strmap() -> ModuleType:
    """strmap.py loaded by path, as the worker loads it (a fresh module: its layout check runs again)."""
    path = Path(__file__).parents[2] / "src" / "rlmx" / "sandbox" / "strmap.py"
    spec = importlib.util.spec_from_file_location("_test_strmap", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _laid_out(tmp_path: Path, text: str, *, nul: bool = True) -> Path:
    """A context file as the host lays it out: read-only, owned by whoever runs the test."""
    path = tmp_path / f"context-{len(list(tmp_path.iterdir()))}.txt"
    path.write_bytes(bytes(PREFIX_BYTES) + text.encode("ascii") + (b"\0" if nul else b""))
    path.chmod(0o444)
    return path


AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="a file only root can change needs a root host")


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="the layout is CPython's")
@AS_ROOT
def test_mapped_str_gives_the_text_and_refuses_malformed_files(tmp_path: Path) -> None:
    strmap = _worker_strmap()
    text = "abc\n" * 5000
    path = _laid_out(tmp_path, text)
    mapped: Any = strmap.mapped_str(str(path), 12345)
    assert mapped == text and type(mapped) is str and len(mapped) == len(text) and mapped.isascii()
    assert hash(mapped) == hash(text) and mapped[-4:] == "abc\n" and mapped.find("c\na") == 2
    assert sys.getrefcount(mapped) >= 2**32 - 1  # never reaches zero, so never freed or resized in place
    mapped += "x"  # a new string: the mapped one is never appended to in place
    assert mapped.endswith("abc\nx") and len(mapped) == len(text) + 1
    assert strmap.mapped_str(str(_laid_out(tmp_path, text, nul=False)), 12345) is None  # no NUL after the text
    short = tmp_path / "short.txt"
    short.write_bytes(bytes(100))
    short.chmod(0o444)
    assert strmap.mapped_str(str(short), 12345) is None  # shorter than the prefix
    del mapped
    gc.collect()


@AS_ROOT
def test_only_a_file_nobody_but_root_can_change_is_mapped(tmp_path: Path) -> None:
    """A mapped str shows later writes to its file: a file its worker (or anyone but root) could change after the
    load is decoded into the worker's own memory instead."""
    strmap = _worker_strmap()
    path = _laid_out(tmp_path, "abc\n" * 5000)
    assert strmap.mapped_str(str(path), 12345) is not None  # root's, read-only, and the worker is not root
    assert strmap.mapped_str(str(path), 0) is None  # a worker that stays root could chmod it
    path.chmod(0o644)
    assert strmap.mapped_str(str(path), 12345) is None  # writable
    path.chmod(0o444)
    os.chown(path, 12345, 12345)
    assert strmap.mapped_str(str(path), 12345) is None  # the worker's own file
    assert strmap.mapped_str(str(path), 23456) is None  # someone else's, not root's


def test_an_interpreter_whose_layout_is_not_known_decodes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlmx.sandbox import worker

    text = "line of text\n" * 3000
    path = _laid_out(tmp_path, text)
    monkeypatch.setattr(worker.strmap, "_header_template", lambda: None)
    loaded = worker.load_context(str(path), "text", PREFIX_BYTES)
    assert loaded == text
    empty = tmp_path / "empty.txt"
    empty.write_bytes(bytes(PREFIX_BYTES) + b"\0")
    assert worker.load_context(str(empty), "text", PREFIX_BYTES) == ""


# --- the host's side: the bytes of an ASCII str without a copy ------------------------------------------------
def test_ascii_bytes_is_the_utf8_of_a_large_ascii_str_and_keeps_it_alive() -> None:
    text = "".join(["0123456789abcdef"] * (MIN_CHARS // 16 + 1))
    expected = text.encode()
    view = ascii_bytes(text)
    assert view is not None and view.readonly and bytes(view) == expected
    del text
    gc.collect()
    assert bytes(view[:16]) == b"0123456789abcdef" and len(view) == len(expected)


def test_ascii_bytes_declines_what_it_cannot_view() -> None:
    class Text(str):
        pass

    big = "a" * MIN_CHARS
    assert ascii_bytes(big[:-1]) is None  # below the size where it pays
    assert ascii_bytes(big[:-1] + "é") is None  # not ASCII
    assert ascii_bytes(Text(big)) is None  # a subclass keeps its characters elsewhere


@pytest.mark.parametrize("mode", ["bwrap", "landlock"])
async def test_the_isolated_tier_maps_it_too(mode: str, require_isolated: Callable[..., None]) -> None:
    require_isolated(mode)
    box = IsolatedSandbox(mode=mode)  # type: ignore[arg-type]
    await box.start([prepare("context", BIG)])
    try:
        assert box._contexts[0]["prefix"] == PREFIX_BYTES
        result = await box.run_cell(INSPECT, calls=no_calls, timeout=10)
        assert result.error is None, result.error
        # mapped where the worker cannot change the file (a separate uid), else decoded: the same text either way
        outputs = [_expected(BIG, mapped=m) for m in (True, False, "unreadable")]
        assert result.stdout in outputs
    finally:
        await box.close()


# --- end to end: a real OpenAI-compatible server, the HTTP LM, a recorded run -----------------------------------
def test_a_mapped_context_through_the_http_lm_and_a_trace(tmp_path: Path) -> None:
    """Root and sub-LM over HTTP (the fake server on 127.0.0.1), a 2 MB ASCII context with one needle: the cells
    see the whole text (the needle's line, sent to the sub-LM), and the trace records the text's sha256."""
    import hashlib
    import json

    from fake_openai_server import Behaviour, FakeOpenAIServer
    from rlmx import RLM
    from rlmx.lm import OpenAICompatibleLM

    middle = len(BIG)
    context = BIG + "The vault code is 4417.\n" + BIG
    cells = [
        "```repl\nline = [l for l in context.splitlines() if 'vault' in l][0]\nprint(len(context), line)\n```",
        "```repl\nanswer['content'] = llm_query('Which code? ' + line)\nanswer['ready'] = True\n```",
    ]

    def reply(body: dict[str, Any]) -> str:
        text = json.dumps(body["messages"])
        if "Which code?" in text:
            return "4417" if "The vault code is 4417." in text else "unknown"
        return cells[min(sum(m["role"] == "assistant" for m in body["messages"]), 1)]

    with FakeOpenAIServer(Behaviour(text=reply)) as server:
        root = OpenAICompatibleLM("root-model", base_url=server.base_url, api_key="k")
        sub = OpenAICompatibleLM("sub-model", base_url=server.base_url, api_key="k")
        result = RLM(root, sub_lm=sub, trace_dir=tmp_path).completion("What is the vault code?", context=context)
    assert result.answer == "4417" and result.usage.sub.calls == 1
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]  # type: ignore[arg-type]
    (ready,) = [e for e in events if e["type"] == "sandbox_ready"]
    assert ready["contexts_sha256"] == {"context": hashlib.sha256(context.encode()).hexdigest()}
    first_output = next(e["output"] for e in events if e["type"] == "cell")
    assert first_output.startswith(f"{len(context)} The vault code is 4417.") and middle > MIN_CHARS


# --- every CPython the layout is enabled for, where one is installed ------------------------------------------
RECIPE = """
import gc, importlib.util, os, pickle, sys
spec = importlib.util.spec_from_file_location("strmap", sys.argv[1])
strmap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(strmap)
path = os.path.join(sys.argv[2], "context.txt")
text = "hello world\\n" * 200_000
with open(path, "wb") as out:
    out.write(bytes(strmap.PREFIX_BYTES) + text.encode() + b"\\0")
os.chmod(path, 0o444)
mapped = strmap.mapped_str(path, 12345)
if strmap._header_template() is None:  # a version or build whose layout is not known (3.10, 3.14, free-threaded)
    assert mapped is None
    print("decoded"); raise SystemExit(0)
assert mapped is not None and mapped == text
grown = mapped
grown += "x"
assert grown.endswith("x") and mapped == text
assert sys.intern(mapped) == text and pickle.loads(pickle.dumps(mapped)) == text
pid = os.fork()
if pid == 0:
    os._exit(0 if mapped.count("world") == 200_000 else 1)
assert os.waitpid(pid, 0)[1] == 0
del grown
gc.collect()
print("mapped")
"""


def _cpythons() -> list[str]:
    """Installed CPython interpreters to try: python3.N on PATH and pyenv's versions."""
    import glob
    import shutil

    found = {shutil.which(f"python3.{minor}") for minor in range(10, 15)}
    found |= set(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0-4].*/bin/python")))
    real = {os.path.realpath(p) for p in found if p and "/shims/" not in p}  # a shim needs pyenv's own setup
    return sorted(real)


@AS_ROOT
@pytest.mark.parametrize("python", _cpythons() or [sys.executable])
def test_the_recipe_under_each_installed_cpython(python: str, tmp_path: Path) -> None:
    """Intern, +=, pickle, fork, gc and a normal interpreter shutdown with a mapped str, under each interpreter: a
    wrong header or reference count would crash here, not pass."""
    import subprocess

    strmap_path = Path(__file__).parents[2] / "src" / "rlmx" / "sandbox" / "strmap.py"
    recipe = [python, "-c", RECIPE, str(strmap_path), str(tmp_path)]
    done = subprocess.run(recipe, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() in ("mapped", "decoded")
