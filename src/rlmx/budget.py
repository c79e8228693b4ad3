"""Budgets and the tree-wide Ledger: every LM call of a completion tree is admitted here before it is sent.

One Ledger is shared by the root and every child RLM, so a child draws from its parent's budget. A call
reserves its estimated tokens before it is sent and settles with the real usage after, so concurrent calls
cannot jointly overshoot. A refusal raises BudgetExhausted, which the engine turns into a clean stop.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from rlmx.errors import InputError
from rlmx.lm.base import Usage

Role = Literal["root", "sub"]


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for one completion tree. None means unlimited.

    `max_iterations` applies to each node (root and every child); the others count across the whole tree.
    `max_seconds` is preemptive: a running cell or LM call is stopped when it runs out.
    `cell_timeout` is the soft per-cell limit (variables kept); the worker is killed a little after it.
    """

    max_iterations: int = 30
    max_depth: int | None = None
    max_subcalls: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    cell_timeout: float = 60.0

    def __post_init__(self) -> None:
        _positive_int("max_iterations", self.max_iterations)
        for name in ("max_depth", "max_subcalls", "max_tokens"):
            value = getattr(self, name)
            if value is not None:
                _positive_int(name, value, allow_zero=name == "max_subcalls")
        for name in ("max_seconds", "cell_timeout"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or math.isinf(value)
            ):
                raise InputError(f"Budget.{name} must be a positive number of seconds, not {value!r}")


def _positive_int(name: str, value: object, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        least = "0" if allow_zero else "1"
        raise InputError(f"Budget.{name} must be an integer >= {least}, not {value!r}")


class BudgetExhausted(Exception):
    """A limit refused a call or an iteration. `limit` names it, `detail` says what happened."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit
        self.detail = detail


@dataclass(slots=True)
class Tally:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: Usage) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cost_usd += usage.cost_usd or 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(slots=True)
class UsageReport:
    """Tokens and calls of a whole completion tree, split by role (root LM vs sub-calls), depth and model."""

    total: Tally = field(default_factory=Tally)
    root: Tally = field(default_factory=Tally)
    sub: Tally = field(default_factory=Tally)
    by_depth: dict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_model: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    subcalls: int = 0
    child_rlms: int = 0

    @property
    def input_tokens(self) -> int:
        return self.total.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.total.output_tokens

    @property
    def calls(self) -> int:
        return self.total.calls

    def add(self, usage: Usage, *, role: Role, depth: int, model: str) -> None:
        self.total.add(usage)
        (self.root if role == "root" else self.sub).add(usage)
        self.by_depth[depth].add(usage)
        self.by_model[model].add(usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.total.to_dict(),
            "root": self.root.to_dict(),
            "sub": self.sub.to_dict(),
            "by_depth": {str(k): v.to_dict() for k, v in sorted(self.by_depth.items())},
            "by_model": {k: v.to_dict() for k, v in sorted(self.by_model.items())},
            "subcalls": self.subcalls,
            "child_rlms": self.child_rlms,
        }


@dataclass(slots=True)
class Reservation:
    tokens: int
    settled: bool = False


class Ledger:
    """The budget of one completion tree: admission before spending, accounting after."""

    def __init__(self, budget: Budget, *, max_depth: int, clock: Any = time.monotonic) -> None:
        self.budget = budget
        self.max_depth = max_depth
        self.clock = clock
        self.started = clock()
        self.deadline = None if budget.max_seconds is None else self.started + budget.max_seconds
        self.usage = UsageReport()
        self._reserved_tokens = 0

    def elapsed(self) -> float:
        return float(self.clock() - self.started)

    def remaining_seconds(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - self.clock(), 0.0)

    def check_time(self) -> None:
        if self.deadline is not None and self.clock() >= self.deadline:
            raise BudgetExhausted("max_seconds", f"the {self.budget.max_seconds:g} s time budget is spent")

    def reserve(self, estimated_tokens: int) -> Reservation:
        """Admit one LM call whose prompt is about `estimated_tokens` long, or raise BudgetExhausted."""
        self.check_time()
        limit = self.budget.max_tokens
        if limit is not None:
            committed = self.usage.total.total_tokens + self._reserved_tokens
            if committed + estimated_tokens > limit:
                raise BudgetExhausted(
                    "max_tokens",
                    f"token budget: {committed:,} of {limit:,} tokens used or reserved, and this call needs "
                    f"about {estimated_tokens:,} more",
                )
        self._reserved_tokens += estimated_tokens
        return Reservation(estimated_tokens)

    def settle(self, reservation: Reservation, usage: Usage, *, role: Role, depth: int, model: str) -> None:
        self.release(reservation)
        self.usage.add(usage, role=role, depth=depth, model=model)

    def release(self, reservation: Reservation) -> None:
        if not reservation.settled:
            reservation.settled = True
            self._reserved_tokens -= reservation.tokens

    def admit_subcalls(self, count: int) -> int:
        """How many of `count` sub-calls may start (all, some, or none). Counts the admitted ones."""
        self.check_time()
        limit = self.budget.max_subcalls
        allowed = count if limit is None else max(min(count, limit - self.usage.subcalls), 0)
        self.usage.subcalls += allowed
        return allowed

    def subcall_refusal(self) -> str:
        return (
            f"sub-call budget spent: all {self.budget.max_subcalls} sub-calls of this run are used. "
            "Work with the results you have (combine them in code) and finish."
        )
