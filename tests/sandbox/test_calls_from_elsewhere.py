"""REPL functions called from somewhere other than a cell's own code: a thread an earlier question of a session left
running, another process (a process pool), a coroutine awaited at a cell's top level; and bytes crossing to a host
tool and back. Real worker processes throughout."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.context import prepare
from rlmx.lm import Message, ScriptedLM
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import is_sub_call, repl


@pytest.fixture
async def box() -> AsyncIterator[SubprocessSandbox]:
    sandbox = SubprocessSandbox(hard_timeout_grace=0.3)
    await sandbox.start([prepare("context", "c")])
    yield sandbox
    await sandbox.close()


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text=f"re {item['prompt']}") for item in call.items]


# --- a thread from an earlier question of a session ------------------------------------------------------------

LEAVE_A_THREAD = repl(
    "import threading\n"
    "go, outcome = threading.Event(), {}\n"
    "def later(i, call):\n"
    "    go.wait(30)\n"
    "    try:\n"
    "        outcome[i] = repr(call())\n"
    "    except Exception as exc:\n"
    "        outcome[i] = f'{type(exc).__name__}: {exc}'\n"
    "calls = [lambda: llm_query('stale'), lambda: llm_query_batched(['s1', 's2']), lambda: rlm_query('stale'),\n"
    "         lambda: rlm_query_batched(['s3']), lambda: call_tool('stamp', b'x'), lambda: stamp(b'x')]\n"
    "left = [threading.Thread(target=later, args=(i, c)) for i, c in enumerate(calls)]\n"
    "for t in left:\n"
    "    t.start()\n"
    "FINAL('first done')"
)
RELEASE_IT = repl(
    "go.set()\n"
    "for t in left:\n"
    "    t.join(30)\n"
    "mine = llm_query('mine')\n"
    "FINAL(mine + ' | ' + ' || '.join(outcome[i] for i in sorted(outcome)))"
)


def stamp(data: bytes) -> str:
    """Stands for any host tool."""
    return data.hex()


def session_lm() -> ScriptedLM:
    def reply(messages: list[Message]) -> str:
        if is_sub_call(messages):
            return f"sub {messages[0]['content']}"
        return LEAVE_A_THREAD if "first" in messages[1]["content"].split("\n", 1)[0] else RELEASE_IT

    return ScriptedLM(reply)


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
async def test_an_earlier_questions_thread_cannot_spend_the_current_questions_budget(sandbox: str) -> None:
    lm = session_lm()
    rlm = RLM(lm, sandbox=sandbox, tools=[stamp], budget=Budget(max_subcalls=1, max_tool_calls=0))
    async with rlm.session(context="c") as session:
        first = await session.aask("first question")
        second = await session.aask("second question")
    assert first.answer == "first done"
    mine, _, outcome = second.answer.partition(" | ")
    assert mine == "sub mine", second.answer  # its one sub-call was still there for the question's own code
    refusals = outcome.split(" || ")
    assert len(refusals) == 6, outcome
    for function, refusal in zip(
        ["llm_query", "llm_query", "rlm_query", "rlm_query", "call_tool", "call_tool"], refusals, strict=True
    ):
        assert refusal.startswith(f"RuntimeError: {function}: this thread was started by an earlier question"), refusal
        assert "none was sent" in refusal
    assert second.usage.tool_calls == 0
    prompts = [m[0]["content"] for m in lm.calls if is_sub_call(m)]
    assert prompts == ["mine"]  # nothing of the earlier question's thread reached an LM


async def test_a_thread_pool_kept_from_an_earlier_question_serves_the_current_one() -> None:
    keep = repl("from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(2)\nFINAL('kept')")
    use = repl("FINAL(','.join(pool.map(llm_query, ['a', 'b'])))")

    def reply(messages: list[Message]) -> str:
        if is_sub_call(messages):
            return messages[0]["content"].upper()
        return keep if "keep" in messages[1]["content"].split("\n", 1)[0] else use

    async with RLM(ScriptedLM(reply)).session(context="c") as session:
        await session.aask("keep a pool")
        second = await session.aask("use the pool")
    assert second.answer == "A,B"


# --- another process ---------------------------------------------------------------------------------------------

POOLS = {
    "concurrent.futures": "from concurrent.futures import ProcessPoolExecutor as Pool\n"
    "with Pool(2) as pool:\n"
    "    print(list(pool.map({function}, {args})))",
    "multiprocessing": "from multiprocessing import Pool\n"
    "with Pool(2) as pool:\n"
    "    print(pool.map({function}, {args}))",
    "pickle": "import pickle, functools\npickle.dumps(functools.partial({function}, {args}[0]))",
}


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize(
    ("function", "args"),
    [("llm_query", "['a', 'b']"), ("rlm_query_batched", "[['a'], ['b']]"), ("FINAL", "[1, 2]")],
)
async def test_a_repl_function_sent_to_another_process_says_what_to_use(
    box: SubprocessSandbox, pool: str, function: str, args: str
) -> None:
    result = await box.run_cell(POOLS[pool].format(function=function, args=args), calls=echo, timeout=60)
    assert result.status == "error"
    error = result.error or ""
    assert "cannot be sent to another process" in error, error
    assert "llm_query_batched" in error and "ThreadPoolExecutor" in error
    assert "Worker" not in error
    after = await box.run_cell("print(llm_query('still here'))", calls=echo, timeout=30)
    assert after.stdout.strip() == "re still here"


@pytest.mark.parametrize(("function", "call"), [("llm_query", "llm_query(p)"), ("call_tool", "call_tool('t', p)")])
async def test_a_cells_own_function_calling_out_from_a_process_pool_says_what_to_use(
    box: SubprocessSandbox, function: str, call: str
) -> None:
    cell = (
        f"def use(p):\n    return {call}\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "with ProcessPoolExecutor(2) as pool:\n"
        "    print(list(pool.map(use, ['a'])))"
    )
    result = await box.run_cell(cell, calls=echo, timeout=60)
    error = result.error or ""
    assert f"{function} cannot be called from a process the cell forked" in error, error
    assert "ThreadPoolExecutor" in error and "llm_query_batched" in error


# --- await at a cell's top level ---------------------------------------------------------------------------------


async def test_a_cell_may_await_at_its_top_level(box: SubprocessSandbox) -> None:
    cells = [
        "import asyncio\nasync def ask(p):\n    await asyncio.sleep(0)\n    return llm_query(p)\nr = await ask('one')",
        "queue = asyncio.Queue()\nawait queue.put(r)",
        "await queue.get()",  # the loop of the earlier cells: the queue is bound to it
        "class Box:\n"
        "    async def __aenter__(self):\n"
        "        return 'inside'\n"
        "    async def __aexit__(self, *exc):\n"
        "        return False\n"
        "async def count():\n"
        "    for i in range(3):\n"
        "        yield i\n"
        "async with Box() as where:\n"
        "    print(where)\n"
        "async for i in count():\n"
        "    print(i)\n"
        "print([i async for i in count()])",
    ]
    outputs = []
    for cell in cells:
        result = await box.run_cell(cell, calls=echo, timeout=30)
        assert result.status == "ok", result.error
        outputs.append(result.stdout)
    assert outputs == ["", "", "'re one'\n", "inside\n0\n1\n2\n[0, 1, 2]\n"]


async def test_an_awaiting_cell_keeps_its_time_limit(box: SubprocessSandbox) -> None:
    slow = await box.run_cell("import asyncio\nawait asyncio.sleep(60)", calls=echo, timeout=1)
    assert slow.status == "timeout"
    after = await box.run_cell("print(await asyncio.sleep(0, 'next'))", calls=echo, timeout=30)
    assert (after.status, after.stdout) == ("ok", "next\n")


# --- bytes to and from host tools ------------------------------------------------------------------------------

BLOB = bytes(range(256)) * 3


def digest(data: bytes, *, salt: bytes = b"") -> dict[str, Any]:
    """Takes and returns bytes (not text): checks that they arrive whole."""
    if not isinstance(data, bytes) or not isinstance(salt, bytes):
        raise TypeError(f"bytes expected, got {type(data).__name__} and {type(salt).__name__}")
    return {"sha": hashlib.sha256(salt + data).digest(), "parts": [data[:2], (data[-1:], "text")], "n": len(data)}


def raw(size: int) -> bytes:
    return BLOB[:size]


BYTES_CELL = repl(
    "blob = bytes(range(256)) * 3\n"
    "got = digest(blob, salt=bytearray(b'\\xff\\x00'))\n"
    "import hashlib\n"
    "ok = got['sha'] == hashlib.sha256(b'\\xff\\x00' + blob).digest()\n"
    "FINAL(repr((ok, got['parts'], got['n'], raw(5), raw(0), digest(memoryview(b'\\x80'))['n'])))"
)


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
async def test_bytes_cross_to_a_host_tool_and_back_whole(sandbox: str) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    rlm = RLM(
        ScriptedLM([BYTES_CELL]),
        sandbox=sandbox,
        tools=[digest, raw],
        on_event=lambda e: events.append((e.type, e.data)),
    )
    result = await rlm.acompletion("check the bytes", context="c")
    assert result.answer == repr((True, [b"\x00\x01", [b"\xff", "text"]], 768, b"\x00\x01\x02\x03\x04", b"", 1))
    assert [data["ok"] for kind, data in events if kind == "tool_call"] == [True, True, True, True]


async def test_a_tool_argument_that_cannot_cross_still_says_why() -> None:
    cell = repl("try:\n    raw({1, 2})\nexcept Exception as exc:\n    FINAL(f'{type(exc).__name__}: {exc}')")
    result = await RLM(ScriptedLM([cell]), tools=[raw]).acompletion("q", context="c")
    assert "set is not JSON serializable" in result.answer


def test_bytes_crossing_keeps_containers_and_leaves_other_calls_alone() -> None:
    from rlmx.sandbox.worker import holds_bytes, with_bytes_as_wire, with_bytes_from_wire

    value = {"a": [b"\x00", ("t", bytearray(b"\xfe"))], "b": "plain"}
    assert holds_bytes(value) and not holds_bytes({"a": ["x", (1, None)]})
    circular: list[Any] = []
    circular.append(circular)
    assert not holds_bytes(circular)  # ends
    assert with_bytes_from_wire(with_bytes_as_wire(value)) == {"a": [b"\x00", ["t", b"\xfe"]], "b": "plain"}


def test_a_tool_result_of_bytes_crosses_tagged_and_flagged() -> None:
    from rlmx.tools import ToolBox

    box = ToolBox([raw, digest], reserved=())
    assert asyncio.run(box.call("raw", [3], {})) == ({"__rlmx_bytes__": "AAEC"}, True)
