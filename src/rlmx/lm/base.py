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


def estimate_tokens(text: str) -> int:
    """A provider-free token estimate (about 4 characters a token), used for budgets and scripted LMs."""
    return (len(text) + 3) // 4


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)
