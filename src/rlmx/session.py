"""Multi-turn sessions: one REPL kept across questions (the official `persistent=True`), with `history`.

Each question is its own completion (own budget, own trace file); the session links them by id and turn, keeps
the root's REPL alive between them, adds each question's new contexts as `context_1`, `context_2`, ...
(or by their given names), and sets `history` to the earlier questions and answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rlmx.blocking import BlockingRunner
from rlmx.context import PreparedContext, SizeLimit, check_name, prepare
from rlmx.errors import InputError
from rlmx.result import Result
from rlmx.rlm import check_query
from rlmx.sandbox import Sandbox, create_sandbox
from rlmx.schema import OutputSchema

if TYPE_CHECKING:
    from pydantic import BaseModel

    from rlmx.rlm import RLM


class Session:
    """Made by `RLM.session(...)`. Use it as a context manager (sync or async) so its REPL is closed."""

    def __init__(self, rlm: RLM, contexts: list[PreparedContext]) -> None:
        self.rlm = rlm
        self.contexts = contexts
        self.session_id = uuid.uuid4().hex[:12]
        self.history: list[dict[str, str]] = []
        self._sandbox: Sandbox | None = None
        self._runner: BlockingRunner | None = None
        self._added = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- async form -----------------------------------------------------------------------------------
    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aask(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Ask the next question. `context` becomes `context_1`, `context_2`, ...; `contexts` keep their names."""
        if self._closed:
            raise InputError("this session is closed; start a new one with rlm.session(...)")
        self._check_loop()
        check_query(query)
        schema = OutputSchema(output) if output is not None else None
        new = self._new_contexts(context, contexts)
        if self._sandbox is None:
            self._loop = asyncio.get_running_loop()
            self._sandbox = create_sandbox(self.rlm.sandbox, **self.rlm.sandbox_options)
            await self._sandbox.start([*self.contexts, *new])
            await self._sandbox.load([], {"history": []})
        else:
            await self._sandbox.load(new, {"history": self.history, "answer": {"content": "", "ready": False}})
        self.contexts.extend(new)
        turn = len(self.history) + 1
        info = {"id": self.session_id, "turn": turn, "new_contexts": [c.name for c in new] if turn > 1 else []}
        result = await self.rlm._run(query, self.contexts, schema, sandbox=self._sandbox, session=info)
        self.history.append({"question": query, "answer": result.answer})
        return result

    async def aclose(self) -> None:
        if self._sandbox is not None:
            self._check_loop()
        self._closed = True
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await sandbox.close()

    def _check_loop(self) -> None:
        """A session's REPL is bound to the event loop that started it (its channels and processes live there)."""
        if self._sandbox is not None and asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                "this session's REPL was started on another event loop (a second asyncio.run?); ask and close a "
                "session on the loop that started it: keep one `async with rlm.session(...)` inside one asyncio.run"
            )

    def _new_contexts(self, context: Any, contexts: Mapping[str, Any] | None) -> list[PreparedContext]:
        taken = {c.name for c in self.contexts}
        new: list[PreparedContext] = []
        if contexts is not None and not isinstance(contexts, Mapping):
            raise InputError(f"contexts must be a dict of name -> value, not {type(contexts).__name__}")
        for name in contexts or {}:
            check_name(name, self.rlm.reserved_names)
        limit = SizeLimit(self.rlm.max_context_bytes)
        limit.used = sum(c.nbytes for c in self.contexts)
        if context is not None:
            if not self.history and "context" not in taken:
                name = "context"
            else:
                self._added += 1
                name = f"context_{self._added}"
                while name in taken:
                    self._added += 1
                    name = f"context_{self._added}"
            new.append(prepare(name, context, limit))
        for name, value in (contexts or {}).items():
            if name in taken or any(c.name == name for c in new):
                raise InputError(f"context `{name}` already exists in this session; choose another name")
            new.append(prepare(name, value, limit))
        return new

    # --- sync form ------------------------------------------------------------------------------------
    def __enter__(self) -> Session:
        self._runner = BlockingRunner()  # one loop for the session's life: its REPL is bound to it
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._runner is not None:
            try:
                self._runner.run(self.aclose())
            finally:
                self._runner.close()
                self._runner = None

    def ask(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Blocking `aask`, inside `with rlm.session(...) as s:` (one event loop serves all the questions)."""
        if self._runner is None:
            raise InputError("use the session in a `with` block (or `async with` and `await s.aask(...)`)")
        return self._runner.run(self.aask(query, context, contexts=contexts, output=output))
