"""Traces of real scripted runs (ScriptedLM, the real subprocess sandbox) for the viewer and trace-format tests.

`depth2_trace`: a depth-2 run with a failed sub-call, child RLMs that make their own sub-calls and one failing
cell, sub-calls refused by the budget and a budget stop (every turn used, the answer from the last-turn request).
`many_subcalls_trace`: 200 cells and 1,000 sub-calls. `every_event_traces`: runs that between them emit every
event type of the format.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget, LMServerError
from rlmx.errors import LMBadResponse
from rlmx.lm import Message, ScriptedLM
from scripting import repl, router, turn_of

CONTEXT = "\n".join(
    f"Section {letter}: the code of section {letter} is {100 + i}." for i, letter in enumerate("ABCDEF")
)


def _sub(messages: list[Message]) -> str | Exception:
    prompt = messages[0]["content"]
    if "FAIL" in prompt:
        return LMServerError("HTTP 503 from the sub-LM: overloaded")
    return f"summary of: {prompt[:40]}"


def _child(messages: list[Message]) -> str:
    query = next(m["content"] for m in messages if m["role"] == "user")
    if turn_of(messages) == 1:
        code = "part = llm_query('read section: ' + context[:60])\nprint(part)\n"
        if "section B" in query:
            code += "1 / 0\n"
        return repl(code)
    return repl("FINAL('child says: ' + context[:30])")


DEPTH2_ROOT = [
    repl(
        "# read three parts at once\n"
        "parts = llm_query_batched(['Summarise part 1', 'FAIL on part 2', 'Summarise part 3'])\n"
        "for p in parts:\n    print(p)"
    ),
    repl("kids = rlm_query_batched(['find the code in section A', 'find the code in section B'])\nprint(kids)"),
    repl("more = llm_query_batched([f'check {i}' for i in range(6)])\nprint(sum(1 for m in more if 'Error' in m))"),
    "The code of section A is 100.\nFINAL(The code of section A is 100)",
]


def depth2_run(trace_dir: Path) -> Path:
    lm = ScriptedLM(router(root=DEPTH2_ROOT, child=_child, sub=_sub), model="scripted-root")
    rlm = RLM(lm, max_depth=2, budget=Budget(max_iterations=3, max_subcalls=9), trace_dir=trace_dir)
    result = rlm.completion("What is the code of section A?", context=CONTEXT)
    assert result.status == "budget_exhausted" and result.trace_path is not None
    return result.trace_path


@pytest.fixture(scope="session")
def depth2_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return depth2_run(tmp_path_factory.mktemp("depth2"))


def many_subcalls_run(trace_dir: Path, *, cells: int = 200, per_cell: int = 5) -> Path:
    """`cells` cells (5 per turn) of `per_cell` llm_query items each."""
    turns = cells // 5
    cell = repl(f"r = llm_query_batched([f'item {{i}}' for i in range({per_cell})])\nprint(len(r))")

    def root(messages: list[Message]) -> str:
        return "\n".join([cell] * 5) if turn_of(messages) <= turns else "FINAL(done)"

    lm = ScriptedLM(router(root=root, sub=lambda m: "ok"))
    rlm = RLM(lm, budget=Budget(max_iterations=turns + 1), trace_dir=trace_dir)
    result = rlm.completion("Check every item.", context="items")
    assert result.status == "finished" and result.trace_path is not None
    return result.trace_path


@pytest.fixture(scope="session")
def make_many_subcalls() -> Callable[..., Path]:
    return many_subcalls_run


@pytest.fixture(scope="session")
def many_subcalls_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return many_subcalls_run(tmp_path_factory.mktemp("many"))


def _runs(trace_dir: Path) -> list[Callable[[], Any]]:
    """Small runs that, with the depth-2 run, emit every event type."""

    def no_code_then_schema() -> Any:
        replies = [
            "I will think about it first.",
            repl("print(1)") + "<|im_end|>\n<|im_start|>user\nand then?",  # ran on into a turn it made up
            repl("FINAL({'code': 'not a number'})"),
            repl("SUBMIT(code=100)"),
        ]
        schema = {"type": "object", "properties": {"code": {"type": "integer"}}, "required": ["code"]}
        return RLM(ScriptedLM(replies), trace_dir=trace_dir).completion("code?", context=CONTEXT, output=schema)

    def forced_extraction() -> Any:
        cut = repl("total = 0\n" + "total += 1\n" * 60)  # past the 100-token cap: cut inside its block
        lm = ScriptedLM([cut] + [repl("print(1)")] * 4 + ["FINAL(forced)"], input_tokens=1_000)
        budget = Budget(max_tokens=2_500, max_tokens_per_call=100)
        return RLM(lm, budget=budget, trace_dir=trace_dir).completion("code?", context=CONTEXT)

    def root_lm_error() -> Any:
        lm = ScriptedLM([repl("print(1)"), LMServerError("HTTP 500 from the root LM")])
        return RLM(lm, trace_dir=trace_dir).completion("code?", context=CONTEXT)

    def unusable_reply() -> Any:
        lm = ScriptedLM([LMBadResponse("the reply had no text", retryable=True), repl("FINAL(1)")])
        return RLM(lm, trace_dir=trace_dir).completion("code?", context=CONTEXT)

    def cell_timeout() -> Any:
        lm = ScriptedLM([repl("import time\ntime.sleep(30)"), repl("FINAL(1)")])
        return RLM(lm, budget=Budget(cell_timeout=0.5), trace_dir=trace_dir).completion("slow?", context=CONTEXT)

    def cached_subcall() -> Any:
        code = "a = llm_query('same question')\nb = llm_query('same question')\nFINAL(a == b)"
        lm = ScriptedLM(router(root=[repl(code)], sub=lambda m: "same answer"))
        try:
            rlm = RLM(lm, trace_dir=trace_dir, cache=True)  # type: ignore[call-arg]
        except TypeError:  # this build has no sub-call cache
            return None
        return rlm.completion("cache?", context=CONTEXT)

    def tool_and_setup() -> Any:
        def lookup(key: str) -> str:
            """The code filed under `key`."""
            return {"A": "100"}[key]

        code = "print(lookup('A'))\ntry:\n    lookup('Z')\nexcept RuntimeError as e:\n    print(e)\nFINAL(PREFIX)"
        try:
            rlm = RLM(ScriptedLM([repl(code)]), trace_dir=trace_dir, tools=[lookup], setup_code="PREFIX = 'ok'")  # type: ignore[call-arg]
        except TypeError:  # this build has no host tools
            return None
        return rlm.completion("tools?", context=CONTEXT)

    def session() -> Any:
        rlm = RLM(ScriptedLM([repl("x = 1\nFINAL(x)"), repl("FINAL(x + 1)")]), trace_dir=trace_dir)
        with rlm.session(context=CONTEXT) as s:
            s.ask("first?")
            return s.ask("second?", context="more text")

    return [
        no_code_then_schema,
        forced_extraction,
        root_lm_error,
        unusable_reply,
        cell_timeout,
        cached_subcall,
        tool_and_setup,
        session,
    ]


@pytest.fixture(scope="session")
def every_event_traces(tmp_path_factory: pytest.TempPathFactory, depth2_trace: Path) -> list[Path]:
    folder = tmp_path_factory.mktemp("every")
    for run in _runs(folder):
        run()
    return [depth2_trace, *sorted(folder.glob("*.jsonl"))]


@dataclass
class Served:
    url: str
    trace_id: str
    api_key: str | None


def _serve(folder: Path, api_key: str | None) -> Iterator[Served]:
    """`rlmx serve`'s app on a real uvicorn on 127.0.0.1, after one answered chat completion."""
    import uvicorn

    from rlmx.server import create_app
    from rlmx.server.app import ServerOptions

    lm = ScriptedLM(router(root=DEPTH2_ROOT, child=_child, sub=_sub), model="scripted-root")
    rlm = RLM(lm, max_depth=2, budget=Budget(max_iterations=3, max_subcalls=9), trace_dir=folder)
    app = create_app(rlm, model_name="rlmx", options=ServerOptions(api_key=api_key))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        body = {"model": "rlmx", "messages": [{"role": "user", "content": "What is the code of section A?"}]}
        request = urllib.request.Request(
            f"{url}/v1/chat/completions",
            data=json.dumps({**body, "context": CONTEXT}).encode(),
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        yield Served(url, answer["rlmx"]["trace_id"], api_key)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("served"), None)


@pytest.fixture(scope="module")
def served_with_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(tmp_path_factory.mktemp("served-key"), "sekret-key")
