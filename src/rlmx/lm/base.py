"""The LM protocol: messages in, one Completion out. Usage rides on the Completion, never in counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """Provider-reported cost; None when the provider says nothing."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage
    model: str


@runtime_checkable
class LM(Protocol):
    """Turns a list of messages into one completion.

    Implementations keep no usage counters: usage rides on each Completion and the engine's
    ledger adds it up, so one LM object can serve many concurrent nodes of a run. `complete`
    must be safe to call concurrently (implementations that cannot run calls in parallel
    serialize them internally).
    """

    model: str

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion: ...


@runtime_checkable
class CountsTokens(Protocol):
    """An LM that can count a prompt's tokens exactly (or bound them from above), for budget admission."""

    async def count_tokens(self, messages: Sequence[Message]) -> int: ...


async def prompt_tokens(lm: LM, messages: Sequence[Message]) -> int:
    """Tokens a prompt will cost: the LM's own count when it has one, else a cautious estimate (3 characters a
    token, more tokens than most tokenizers produce for prose and code) so that budgets err on the safe side."""
    if isinstance(lm, CountsTokens):
        return await lm.count_tokens(messages)
    return sum((len(m["content"]) + 2) // 3 + 4 for m in messages)


def estimate_tokens(text: str) -> int:
    """A provider-free token estimate (about 4 characters a token), used for budgets and scripted LMs."""
    return (len(text) + 3) // 4


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)
