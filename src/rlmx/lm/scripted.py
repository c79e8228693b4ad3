"""ScriptedLM: a deterministic, real implementation of the LM protocol for tests and demos."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rlmx.errors import InputError, LMError
from rlmx.lm.base import Completion, Message, Usage, estimate_message_tokens, estimate_tokens

Reply = str | Exception
ReplyFunction = Callable[[list[Message]], Reply | Awaitable[Reply]]


class ScriptedLM:
    """Replays a list of replies in order, or asks `responses(messages)` (sync or async) for each reply.

    A reply that is an Exception is raised instead (to script rate limits or failures). Every call's
    messages are recorded in `.calls`. `delay` seconds are awaited per call to simulate latency;
    token counts are estimated from the text unless fixed with `input_tokens` / `output_tokens`.

        lm = ScriptedLM(["```repl\\nFINAL(len(context))\\n```"])
    """

    def __init__(
        self,
        responses: Sequence[Reply] | ReplyFunction,
        *,
        delay: float = 0.0,
        model: str = "scripted",
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        if isinstance(responses, str):
            raise InputError("ScriptedLM takes a list of replies or a function, not a single string: wrap it in [...]")
        self._function: ReplyFunction | None = responses if callable(responses) else None
        self._replies: deque[Reply] = deque() if callable(responses) else deque(responses)
        self.delay = delay
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cost_usd = cost_usd
        self.calls: list[list[Message]] = []

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        received = [Message(role=m["role"], content=m["content"]) for m in messages]
        self.calls.append(received)
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = await self._next_reply(received)
        if isinstance(reply, Exception):
            raise reply
        output_tokens = self.output_tokens if self.output_tokens is not None else estimate_tokens(reply)
        limit = params.get("max_tokens")
        finish_reason = "stop"
        if isinstance(limit, int) and output_tokens > limit:  # a real LM stops at max_tokens: so does the script
            output_tokens, reply, finish_reason = limit, reply[: limit * 4], "length"
        usage = Usage(
            input_tokens=await self.count_tokens(received), output_tokens=output_tokens, cost_usd=self.cost_usd
        )
        return Completion(text=reply, usage=usage, model=self.model, finish_reason=finish_reason)

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        """Exactly what a call's usage will report: the fixed count, or the estimate from the text."""
        return self.input_tokens if self.input_tokens is not None else estimate_message_tokens(messages)

    async def _next_reply(self, messages: list[Message]) -> Reply:
        if self._function is not None:
            produced = self._function(messages)
            if inspect.isawaitable(produced):
                produced = await produced
            if not isinstance(produced, str | Exception):
                raise LMError(f"ScriptedLM function returned {type(produced).__name__}; it must return a str")
            return produced
        if not self._replies:
            raise LMError(f"ScriptedLM script exhausted after {len(self.calls) - 1} calls: add more replies")
        return self._replies.popleft()
