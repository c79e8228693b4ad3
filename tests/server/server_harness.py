"""A real uvicorn server on 127.0.0.1 serving a ScriptedLM-driven RLM, for the tests of `rlmx serve`."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from rlmx import RLM, Budget, Event, LMServerError
from rlmx.lm import Message, ScriptedLM
from rlmx.lm.base import Completion
from rlmx.prompts import query_from
from rlmx.server import create_app
from rlmx.server.app import ServerOptions
from scripting import repl, turn_of

MODEL = "rlmx-test"
SLEEP = "Sleep and write the worker's pid to "
NAP = "Nap a second, writing the worker's pid to "


def reply(messages: list[Message]) -> str | Exception:
    """The root LM's reply, chosen by the query: each test asks a question that scripts one kind of run."""
    query = query_from(messages)
    if query == "How long is the context?":
        return repl("FINAL('length ' + str(len(context)))")
    if query == "How big are docs and notes?":
        return repl("FINAL(f'{len(docs)} {len(notes)}')")
    if query == "Count in two turns":
        return [repl("x = 6 * 7\nprint(x)"), repl("FINAL(x)")][turn_of(messages) - 1]
    if query.startswith(SLEEP):
        path = query.removeprefix(SLEEP)
        return repl(f"import os, time\nopen({path!r}, 'w').write(str(os.getpid()))\ntime.sleep(30)")
    if query.startswith(NAP):
        if turn_of(messages) > 1:
            return repl("FINAL('rested')")
        path = query.removeprefix(NAP)
        return repl(f"import os, time\nopen({path!r}, 'w').write(str(os.getpid()))\ntime.sleep(1)\nprint('up')")
    if query == "Count as JSON":
        return repl("FINAL({'n': len(context)})")
    if query == "Write the line separators":
        return repl("FINAL('a\\u2028b\\u2029c\\x85d')")
    if query == "Never finish":
        return repl("print('still working')")
    if query == "Fail":
        return LMServerError("the scripted LM is down")
    if query == "Crash":
        return RuntimeError("a bug outside rlmx")
    return repl("FINAL('unscripted')")


class RecordingLM(ScriptedLM):
    """A ScriptedLM that also records the params of every call (temperature, seed, max_tokens...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params: list[dict[str, Any]] = []

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        self.params.append(params)
        return await super().complete(messages, **params)


@dataclass
class Served:
    """A running server: `url` is its base URL (no /v1); `events` records every event of every run."""

    url: str
    lm: RecordingLM
    events: list[Event] = field(default_factory=list)
    api_key: str = "x"

    def client(self, max_retries: int = 0, **options: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=self.api_key, max_retries=max_retries, **options)

    def async_client(self, max_retries: int = 0, **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=self.api_key, max_retries=max_retries, **options)

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
            data: dict[str, Any] = json.load(response)
        return data


def start(
    tmp_path: Path,
    *,
    max_concurrent_runs: int | None = None,
    options: ServerOptions | None = None,
    delay: float = 0.0,
    api_key: str = "x",
) -> Iterator[Served]:
    lm = RecordingLM(reply, delay=delay)
    served = Served("", lm, api_key=api_key)
    rlm = RLM(lm, trace_dir=tmp_path / "traces", on_event=served.events.append, budget=Budget(cell_timeout=60))
    app = create_app(rlm, model_name=MODEL, max_concurrent_runs=max_concurrent_runs, options=options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    served.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield served
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def uvicorn_server(app: Any) -> Any:
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=2))


def ask(question: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": question}]


def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, possibly while being read
        return False


async def started(pidfile: Path) -> int:
    """The pid of the worker running a SLEEP or NAP cell, once that cell has started sleeping."""
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the scripted cell never started"
        await asyncio.sleep(0.02)
    return int(pidfile.read_text())


async def ended(served: Served, worker: int) -> None:
    """Wait (at most 5 s) until the server runs nothing and the worker process is gone."""
    deadline = time.monotonic() + 5
    while alive(worker) or served.health()["running"]:
        assert time.monotonic() < deadline, "the run went on after the client left"
        await asyncio.sleep(0.05)
