"""Budgets and the tree-wide Ledger: every LM call of a completion tree is admitted here before it is sent.

One Ledger is shared by the root and every child RLM, so a child draws from its parent's budget. A call
reserves an upper bound of its tokens before it is sent and settles with the real usage after, so concurrent
calls cannot jointly overshoot. A call is admitted and settled under one price key: the model name it was sent
to (a server may answer under another name, an alias's target, which is not what the user priced). When a
server bills more than was reserved (it ignored the cap, or counts differently), the ledger records the
overshoot and admits nothing more. A refusal raises BudgetExhausted, which the engine turns into a clean stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import numbers
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from rlmx.errors import InputError, LMBadResponse, LMError
from rlmx.lm.base import Completion, Usage
from rlmx.lm.prices import MEDIA, SIDES, MediaTokens, PriceTable, media_tokens

Role = Literal["root", "sub"]

MAX_CELL_TIMEOUT = 1e9
"""The largest `Budget.cell_timeout` accepted, in seconds (about 31.7 years). The worker arms it with
`signal.setitimer`, whose C time type (int64 nanoseconds) ends near 9.2e9 s: above that every cell failed with
OverflowError before its code ran (audit 82 V01); a round figure well below leaves room for the clock's start."""


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for one completion tree. None means unlimited, for the fields typed `... | None` (not
    `max_iterations`, `cell_timeout`, `max_tokens_per_call`: InputError).

    `max_iterations` applies to each node (root and every child); the others count across the whole tree.
    Token and USD limits are enforced before each LM call: the call reserves its prompt tokens plus the output
    it may produce (`max_tokens_per_call`, or less to fit what is left, sent to the LM as `max_tokens`), priced,
    and settles with the real usage after. `max_seconds` is preemptive: a running cell or LM call is stopped.
    `cell_timeout` is the soft per-cell limit (variables kept), at most MAX_CELL_TIMEOUT seconds (InputError above:
    the REPL's timer takes no more); the worker is killed a little after it.
    `max_tool_calls` bounds the host tool calls of the tree.
    """

    max_iterations: int = 30
    max_depth: int | None = None
    max_subcalls: int | None = None
    max_tokens: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_usd: float | None = None
    max_seconds: float | None = None
    cell_timeout: float = 60.0
    max_tokens_per_call: int = 4096
    max_tool_calls: int | None = None
    """Host tool calls (RLM(tools=...)) the whole tree may make; a refused call raises in the cell."""

    def __post_init__(self) -> None:
        # each field is checked against its declared type: None only where it is `... | None` (unlimited)
        for item in dataclasses.fields(self):
            name, value = item.name, getattr(self, item.name)
            if value is None and name in _UNLIMITED:
                continue
            if value is None:
                raise InputError(
                    f"Budget.{name} cannot be None: it has no unlimited setting; give a positive number "
                    f"(the default is {item.default!r})"
                )
            if "int" in str(item.type):
                _positive_int(name, value, allow_zero=name in ("max_subcalls", "max_tool_calls"))
            elif isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or math.isinf(value):
                raise InputError(f"Budget.{name} must be a positive number, not {value!r}")
            elif name == "cell_timeout" and value > MAX_CELL_TIMEOUT:
                raise InputError(
                    f"Budget.cell_timeout must be at most {MAX_CELL_TIMEOUT:g} seconds (about 31 years: the REPL's "
                    f"timer takes no more), not {value!r}"
                )

    @property
    def limits_spending(self) -> bool:
        """Whether any token or USD limit is set (then every LM call is sent with a `max_tokens` cap)."""
        limits = (self.max_tokens, self.max_input_tokens, self.max_output_tokens, self.max_usd)
        return any(limit is not None for limit in limits)


_UNLIMITED = frozenset(item.name for item in dataclasses.fields(Budget) if "None" in str(item.type))
"""The Budget fields typed `... | None`: the only ones None (unlimited) is allowed for."""


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
        self.unsent = False
        """Set where an LM call was refused before any request of it was sent (nothing to count or bill)."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as `(limit, detail)` and its attributes: BaseException's own rule calls `cls(detail)`, which
        `__init__` refuses, so an error crossing a process boundary (a worker pool, a Result) came back broken."""
        return type(self), (self.limit, self.detail), self.__dict__


@dataclass(slots=True)
class Tally:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    """USD of the priced calls (what budgets count); `known_cost_usd` is the total to report."""
    unpriced_calls: int = 0
    """Calls of models with no known price: their cost is missing from cost_usd."""
    estimated_calls: int = 0
    """Calls whose server reported no (or a null) token count: rlmx counted its upper-bound estimate instead."""

    def add(self, usage: Usage) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.estimated_calls += usage.estimated
        if usage.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += usage.cost_usd

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def known_cost_usd(self) -> float | None:
        """What the calls cost (to 1e-8 USD), or None when any of them was unpriced: an unknown cost is reported as
        unknown, never as $0 nor as the priced calls' part passed off as the whole."""
        return None if self.unpriced_calls else round(self.cost_usd, 8)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": self.known_cost_usd,
            "priced_cost_usd": round(self.cost_usd, 8),
            "unpriced_calls": self.unpriced_calls,
            "estimated_calls": self.estimated_calls,
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
    overshoot_tokens: int = 0
    """Tokens servers billed beyond what their calls reserved (0 unless a server ignored its cap or counts more
    than rlmx's upper bound); when > 0, the ledger stopped admitting calls."""
    overshoot_usd: float = 0.0
    """USD billed beyond the calls' reservations (provider-reported costs above the reserved price)."""
    cached_calls: int = 0
    """Sub-LM calls answered by the sub-call cache (sent to no LM, spent from no budget)."""
    cached_tokens: int = 0
    """Tokens (input + output) the cached calls would have cost when first made."""
    tool_calls: int = 0
    """Host tool calls made (see RLM(tools=...)); `Budget.max_tool_calls` bounds them."""

    @property
    def input_tokens(self) -> int:
        return self.total.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.total.output_tokens

    @property
    def total_tokens(self) -> int:
        return self.total.total_tokens

    @property
    def cost_usd(self) -> float:
        """USD of the priced calls (`total.unpriced_calls` says how many were not priced)."""
        return self.total.cost_usd

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
            "overshoot_tokens": self.overshoot_tokens,
            "overshoot_usd": round(self.overshoot_usd, 8),
            "cached_calls": self.cached_calls,
            "cached_tokens": self.cached_tokens,
            "tool_calls": self.tool_calls,
        }


@dataclass(slots=True)
class Reservation:
    """What one admitted LM call may spend at most: its prompt, `output_tokens` of reply, `usd` priced under
    `model` (the price key it is settled under too)."""

    input_tokens: int
    output_tokens: int
    usd: float
    model: str = ""
    settled: bool = False
    copies: int = 1
    """Requests of the call this holds budget for: 1, plus each re-send the ledger admitted (`Ledger.extend`)."""


def _count(value: object) -> int | None:
    """A token count that can be true, as an int: a whole number >= 0 of any numeric type (an int, `12.0`, numpy's
    int64 or float64, as the HTTP reader takes a whole float, `openai_reply._count`); None for any other value (a
    bool, a negative, a fraction, NaN, a string)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        whole = int(value)
        return whole if whole >= 0 else None
    real = float(value)
    return int(real) if math.isfinite(real) and real.is_integer() and real >= 0 else None


def sound_usage(usage: Usage, reservation: Reservation) -> Usage:
    """`usage` as the ledger books it: each count that cannot be true (negative, not an int, a bool) read as
    unreported, as the HTTP reader reads a server's (`openai_reply`): the prompt and the reply at one request's
    bounds (`reservation.input_tokens`, `output_tokens`), flagged `estimated`. Of the parts, an unreadable cache
    read is 0 (cheaper than input), a cache write all the prompt (dearer, within it the hour-long part all of the
    write), audio input all the prompt, and audio or image output 0 but named unreported
    (`unreported_output_media`: the output priced at the dearest kind's rate); each part is at most its whole. A
    `cost_usd` that is no finite number >= 0 is None (priced from the price table). The one check for every LM
    (custom ones included): a negative count lowered the ledger and admitted calls past `max_tokens` (audit 83
    v03). `usage` itself, untouched, when everything in it can be true."""
    inputs, outputs = _count(usage.input_tokens), _count(usage.output_tokens)
    read, write, write_1h = (
        _count(usage.cache_read_tokens),
        _count(usage.cache_write_tokens),
        _count(usage.cache_write_1h_tokens),
    )
    audio_in = _count(usage.audio_input_tokens)
    made = {"audio": _count(usage.audio_output_tokens), "image": _count(usage.image_output_tokens)}
    cost = usage.cost_usd
    sound_cost = cost is None or (
        isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost) and cost >= 0
    )
    media = usage.unreported_output_media
    sound_media = isinstance(media, frozenset) and media <= _MEDIA_KINDS
    parts = (read, write, write_1h, audio_in, *made.values())
    given = (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
        usage.audio_input_tokens,
        usage.audio_output_tokens,
        usage.image_output_tokens,
    )
    if (
        all(type(count) is int for count in given)  # 12.0 or numpy's int64 are booked as the ints they are
        and inputs is not None
        and outputs is not None
        and None not in parts
        and sound_cost
        and sound_media
        and isinstance(usage.estimated, bool)
        and max(cast(int, read), cast(int, write), cast(int, audio_in)) <= inputs
        and cast(int, write_1h) <= cast(int, write)
        and max(cast(int, count) for count in made.values()) <= outputs
    ):
        return usage
    estimated = usage.estimated is True or inputs is None or outputs is None
    inputs = reservation.input_tokens if inputs is None else inputs
    outputs = reservation.output_tokens if outputs is None else outputs
    write = inputs if write is None else min(write, inputs)
    unreported = set(media) & _MEDIA_KINDS if isinstance(media, (frozenset, set, tuple, list)) else set(_MEDIA_KINDS)
    unreported |= {kind for kind, count in made.items() if count is None}
    return dataclasses.replace(
        usage,
        input_tokens=inputs,
        output_tokens=outputs,
        cost_usd=cost if sound_cost else None,
        estimated=estimated,
        cache_read_tokens=0 if read is None else min(read, inputs),
        cache_write_tokens=write,
        cache_write_1h_tokens=write if write_1h is None else min(write_1h, write),
        audio_input_tokens=inputs if audio_in is None else min(audio_in, inputs),
        audio_output_tokens=min(made["audio"] or 0, outputs),
        image_output_tokens=min(made["image"] or 0, outputs),
        unreported_output_media=frozenset(unreported),
    )


_MEDIA_KINDS = frozenset(MEDIA)


_VERSION_TAIL = re.compile(r"[-@:]?(?:\d{4}-?\d{2}-?\d{2}|v?\d+|latest|preview|exp)$")
"""What a snapshot or version adds to a model's name: "-2024-08-06", "-0613", "@001", ":latest", "-preview"."""


def same_model(priced: str, served: str) -> bool:
    """Whether `served` (a reply's `model`) names the model `priced` names: the same name, case and a provider's
    prefix ("openai/") aside, or it with snapshot or version tails ("gpt-4o-mini-2024-07-18" of "gpt-4o-mini",
    and the other way round). A deployment or alias name ("prod-chat"), or another size ("gpt-4o" of "gpt-4o-mini",
    "gpt-4-32k" of "gpt-4"), is another model's."""
    a, b = (name.strip().lower().rsplit("/", 1)[-1] for name in (priced, served))
    short, long = sorted((a, b), key=len)
    if not long.startswith(short):
        return False
    rest = long[len(short) :]
    while rest:
        tail = _VERSION_TAIL.search(rest)
        if tail is None or tail.start() == tail.end():
            return False
        rest = rest[: tail.start()]
    return True


class Ledger:
    """The budget of one completion tree: admission before spending, accounting after.

    Single-threaded by design (it lives on the run's event loop): `reserve` checks and books in one step with no
    await in between, so concurrent calls of a fan-out are admitted one by one and cannot jointly overshoot.
    """

    def __init__(self, budget: Budget, *, prices: PriceTable, clock: Any = time.monotonic) -> None:
        self.budget = budget
        self.prices = prices
        self.clock = clock
        self.started = clock()
        self.deadline = None if budget.max_seconds is None else self.started + budget.max_seconds
        self.usage = UsageReport()
        self.overshoot: str | None = None
        """What the first overshoot was, once one happened; no call is admitted after it."""
        self.overshoot_limit = "max_tokens"
        """The limit the overshoot endangers, named in the stop reason ("max_usd: overshoot: ...")."""
        self._held = Reservation(0, 0, 0.0)
        self._in_flight = 0
        """Reservations booked and not yet settled or released."""
        self._freed = asyncio.Event()
        """Set (and replaced) whenever a reservation is released: calls waiting in `admit` look again."""

    def remaining_seconds(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - self.clock(), 0.0)

    def check_time(self) -> None:
        if self.deadline is not None and self.clock() >= self.deadline:
            raise BudgetExhausted("max_seconds", f"the {self.budget.max_seconds:g} s time budget is spent")

    def reserve(self, model: str, input_tokens: int, max_output_tokens: int) -> Reservation:
        """Admit one LM call of `input_tokens` prompt tokens, or raise BudgetExhausted.

        The reply may use up to the returned reservation's `output_tokens`: `max_output_tokens`, or less when
        only less fits what is left of a token or USD limit (the engine then asks the LM for no more).
        """
        self.check_time()
        self.check_open()
        budget, total, held = self.budget, self.usage.total, self._held
        listed = self.prices.lookup(model)
        price = None if listed is None else listed.at(input_tokens)
        fits = [max_output_tokens]
        if budget.max_input_tokens is not None:
            left = budget.max_input_tokens - total.input_tokens - held.input_tokens
            if input_tokens > left:
                raise BudgetExhausted(
                    "max_input_tokens",
                    _refusal("input-token", budget.max_input_tokens, budget.max_input_tokens - left, input_tokens),
                )
        if budget.max_tokens is not None:
            used = total.total_tokens + held.input_tokens + held.output_tokens
            fits.append(budget.max_tokens - used - input_tokens)
            if fits[-1] < 1:
                raise BudgetExhausted("max_tokens", _refusal("token", budget.max_tokens, used, input_tokens + 1))
        if budget.max_output_tokens is not None:
            used = total.output_tokens + held.output_tokens
            fits.append(budget.max_output_tokens - used)
            if fits[-1] < 1:
                raise BudgetExhausted("max_output_tokens", _refusal("output-token", budget.max_output_tokens, used, 1))
        usd_input = 0.0
        if budget.max_usd is not None:
            if price is None:  # RLM refuses unpriced models up front; this guards other callers
                raise BudgetExhausted(
                    "max_usd",
                    f"no price is known for model {model!r}, so a USD budget cannot "
                    "admit its calls; pass prices={...} to RLM (CLI: --price MODEL=IN,OUT)",
                )
            left_usd = budget.max_usd - total.cost_usd - held.usd
            usd_input = price.most(input_tokens, 0)
            per_output = price.dearest_output_per_million(input_tokens)  # the prompt's tier, audio if it may speak
            affordable = (left_usd - usd_input) / per_output * 1e6 + _USD_SLACK if per_output else None
            if left_usd - usd_input < -_USD_SLACK_USD or (affordable is not None and affordable < 1):
                need = price.most(input_tokens, 1)  # its prompt and one token of reply: the least it can cost
                raise BudgetExhausted(
                    "max_usd",
                    f"USD budget: ${budget.max_usd - left_usd:.6f} of ${budget.max_usd:g} spent or reserved, "
                    f"and this call needs at least ${need:.6f} more ({input_tokens:,} prompt tokens)",
                )
            if affordable is not None:
                fits.append(int(affordable))
        output = max(min(fits), 0)
        usd = 0.0 if price is None else price.most(input_tokens, output)
        reservation = Reservation(input_tokens, output, usd, model)
        held.input_tokens += input_tokens
        held.output_tokens += output
        held.usd += usd
        self._in_flight += 1
        return reservation

    def settle(
        self,
        reservation: Reservation,
        usage: Usage,
        *,
        role: Role,
        depth: int,
        billed_as: str | None = None,
        served: str | None = None,
    ) -> Usage:
        """Release the reservation and book the real usage, priced under the model the call was admitted for, or
        under `served`, the name the server says answered, when that model's known list price is higher (a
        gateway's fallback to a dearer model; an unknown or cheaper name changes nothing: an alias's target is
        not priced at $0); returns the usage with its cost, booked under the admitted name.

        Under a token or USD budget, usage above what the reservation held (one request's worth per request the
        ledger admitted: the call and each re-send `extend` allowed) is an overshoot: it is booked (the server
        billed it), added to `usage.overshoot_tokens` / `overshoot_usd`, and no further call is admitted.
        """
        self.release(reservation)
        usage = sound_usage(usage, reservation)
        model = billed_as or reservation.model
        cost, priced_as = self._cost(model, usage, served)
        priced = usage if cost == usage.cost_usd else dataclasses.replace(usage, cost_usd=cost)
        unpriced = self.budget.max_usd is not None and priced.cost_usd is None and self.overshoot is None
        media = {kind: counts for kind, counts in media_tokens(usage).items() if any(counts)} if unpriced else {}
        if unpriced and (billed_as or media):
            # billed at a rate nobody knows (a service tier above list price, audio or image tokens): what it cost is
            # unknown
            self.overshoot_limit = "max_usd"
            self.overshoot = (
                f"a call was billed as {billed_as}, whose price is not known: pass prices={{{billed_as!r}: "
                f"(input_usd_per_million_tokens, output_usd_per_million_tokens)}} (CLI: --price '{billed_as}=IN,OUT')"
                if billed_as
                else f"a call to {model} was billed for {' and '.join(media)} tokens, whose price is not known: pass "
                f"prices={{{model!r}: rlmx.lm.prices.Price(input, output, {_rates_to_give(media)})}}"
            )
        self.usage.add(priced, role=role, depth=depth, model=model)
        if self.budget.limits_spending:
            requests = reservation.copies
            extra_in = max(usage.input_tokens - requests * reservation.input_tokens, 0)
            extra_out = max(usage.output_tokens - requests * reservation.output_tokens, 0)
            extra_usd = 0.0
            if self.budget.max_usd is not None and priced.cost_usd is not None:
                allowed_usd = requests * reservation.usd
                extra_usd = max(priced.cost_usd - allowed_usd, 0.0)
                extra_usd = extra_usd if extra_usd > _USD_SLACK_USD + 1e-9 * allowed_usd else 0.0
            if extra_in or extra_out or extra_usd:
                self.usage.overshoot_tokens += extra_in + extra_out
                self.usage.overshoot_usd += extra_usd
                if self.overshoot is None:
                    self.overshoot_limit = self._endangered(extra_in, extra_out, extra_usd)
                    self.overshoot = (
                        f"a call to {model} was answered by {priced_as}, whose list price is higher "
                        f"(${priced.cost_usd:.6f} against ${reservation.usd:.6f} reserved): the server fell back "
                        f"to another model; ask for {priced_as} itself, or raise max_usd"
                        if priced_as != model and extra_usd
                        else self._price_overshoot(model, usage, priced.cost_usd, reservation)
                        if extra_usd and not extra_in and not extra_out
                        else f"a call to {model} was billed more than it reserved ({usage.input_tokens:,} input + "
                        f"{usage.output_tokens:,} output tokens against {reservation.input_tokens:,} + "
                        f"{reservation.output_tokens:,} reserved"
                        + (f", ${priced.cost_usd:.6f} against ${reservation.usd:.6f}" if extra_usd else "")
                        + "): the server ignored the cap it was sent, or counts more than rlmx's upper bound"
                    )
        return priced

    def settle_reply(self, reservation: Reservation, completion: Completion, *, role: Role, depth: int) -> Usage:
        """`settle` an answered call: its usage, plus each request of it sent before and never answered
        (`completion.unanswered`), priced under the tier and the model the reply says it was billed and served as."""
        spent = (
            self.unanswered(
                reservation, completion.unanswered, completion.usage, completion.model, completion.billed_as
            )
            if completion.unanswered
            else completion.usage
        )
        return self.settle(
            reservation, spent, role=role, depth=depth, billed_as=completion.billed_as, served=completion.model
        )

    def settle_failed(self, reservation: Reservation, error: LMError, *, role: Role, depth: int) -> Usage | None:
        """`settle` a call that failed with `error`: what its reply was billed when it says (a rejected reply is
        priced as an accepted one), and each request sent that got no reply at the reservation; released (None)
        when nothing of it may have been billed."""
        usage = error.usage if isinstance(error, LMBadResponse) else None
        served = error.served if isinstance(error, LMBadResponse) else None
        billed_as = error.billed_as if isinstance(error, LMBadResponse) else None
        if error.unanswered:
            billed = self.unanswered(reservation, error.unanswered, usage, served, billed_as)
            return self.settle(reservation, billed, role=role, depth=depth, billed_as=billed_as)
        if usage is not None:
            return self.settle(reservation, usage, role=role, depth=depth, billed_as=billed_as, served=served)
        self.release(reservation)
        return None

    def _cost(self, model: str, usage: Usage, served: str | None) -> tuple[float | None, str]:
        """(what `usage` cost, the name it is priced under): under `model`, or under `served`, the model the reply
        says answered, when that one's known list price is higher. Not when the user priced `model` and `served` is
        that model (a dated snapshot of it: their rate wins, a discount), though it is when another model answered
        a name they priced (an Azure deployment or a router alias priced as gpt-4o-mini, answered by gpt-4o); nor
        when `model` is not priced at all ("gpt-4o[priority]" answers as "gpt-4o", billed above its list price), nor
        when the provider said what the call cost (a cost of 0 says nothing: a proxy that cannot price a model says
        0, `PriceTable.cost`)."""
        cost = self.prices.cost(model, usage)
        said = usage.cost_usd is not None and (usage.cost_usd > 0 or usage.total_tokens == 0)
        user_rate = self.prices.user_key(model) is not None and served is not None and same_model(model, served)
        if not served or served == model or said or cost is None or user_rate:
            return cost, model
        served_cost = self.prices.served_cost(model, served, usage, wait=self.budget.max_usd is not None)
        return (served_cost, served) if served_cost is not None and served_cost > cost else (cost, model)

    def _price_overshoot(self, model: str, usage: Usage, cost: float | None, reservation: Reservation) -> str:
        """Why a call whose token counts stayed inside its reservation still cost more than the reservation's USD:
        the provider's own reported cost (OpenRouter's `usage.cost`: a plugin's fee, a dearer upstream) is above
        the price the call was admitted at, or the price itself charges beyond the tokens reserved (a per-request
        fee, cache writes, reasoning billed apart). Never the cap or the token estimate: both held."""
        copies = reservation.copies  # one request's worth per request the ledger admitted
        tokens = (
            f"its {usage.input_tokens:,} input + {usage.output_tokens:,} output tokens were within the "
            f"{copies * reservation.input_tokens:,} + {copies * reservation.output_tokens:,} reserved"
        )
        spent = f"${cost or 0.0:.6f} against ${copies * reservation.usd:.6f} reserved"
        if usage.cost_usd is not None and cost == usage.cost_usd:
            return (
                f"a call to {model} cost more than the price it was admitted at ({spent}; {tokens}): the provider "
                f"reported that cost itself (usage.cost), above {model}'s price as rlmx knows it; give the price it "
                f"bills: prices={{{model!r}: rlmx.lm.prices.Price(input, output, per_request=...)}} (CLI: --price "
                f"'{model}=IN,OUT'), or raise max_usd"
            )
        return (
            f"a call to {model} cost more than the price it was admitted at ({spent}; {tokens}): its price charges "
            "beyond the tokens reserved (a per-request fee, cache writes); raise max_usd"
        )

    def _endangered(self, extra_in: int, extra_out: int, extra_usd: float) -> str:
        """The set limit that an overshoot of these kinds eats into (for the stop reason)."""
        budget = self.budget
        order = ["max_usd"] if extra_usd else []
        if extra_in:
            order += ["max_input_tokens", "max_tokens"]
        if extra_out:
            order += ["max_output_tokens", "max_tokens"]
        order += ["max_tokens", "max_input_tokens", "max_output_tokens", "max_usd"]
        return next(name for name in order if getattr(budget, name) is not None)

    def check_open(self) -> None:
        """Raise BudgetExhausted once an overshoot has closed the ledger. Also checked by a call admitted before
        the overshoot that waited for a concurrency slot: it is not sent."""
        if self.overshoot is not None:
            raise BudgetExhausted(self.overshoot_limit, f"overshoot: {self.overshoot}; no further calls are admitted")

    def settle_unanswered(self, reservation: Reservation, *, attempts: int, role: Role, depth: int) -> None:
        """A call sent `attempts` times and never answered (it timed out): the server may have billed each request
        all it was allowed, so the reservation is booked once per request (flagged estimated), never released."""
        self.settle(reservation, self.unanswered(reservation, attempts), role=role, depth=depth)

    def unanswered(
        self,
        reservation: Reservation,
        requests: int,
        also: Usage | None = None,
        served: str | None = None,
        billed_as: str | None = None,
    ) -> Usage:
        """What `requests` requests sent under `reservation` and never answered may have cost, plus `also` (the
        answered request's own usage): each request all it was allowed, priced as a request of its own (its
        prompt's price tier and per-request fee, never those of the summed tokens), or what the answered one cost
        when that was more (a provider's own cost above list price), flagged estimated."""
        base = Usage() if also is None else sound_usage(also, reservation)
        unpriced = self.prices.lookup(reservation.model) is None
        # the answered one at the tier it says it was billed at (unpriced: the whole call is), else as asked
        answered = self._cost(billed_as or reservation.model, base, served)[0] if also is not None else 0.0
        each = max(reservation.usd, answered or 0.0)
        return dataclasses.replace(  # the answered one's token kinds (cached, audio, images) kept as it said
            base,
            input_tokens=base.input_tokens + requests * reservation.input_tokens,
            output_tokens=base.output_tokens + requests * reservation.output_tokens,
            cost_usd=None if unpriced or answered is None else answered + requests * each,
            estimated=True,
        )

    def extend(self, reservation: Reservation) -> bool:
        """Hold one more request's worth for the call `reservation` admitted, which is about to be re-sent after a
        request the server may have billed; False (and nothing held) when the budget has no room for it now."""
        if reservation.settled:
            return False
        try:
            more = self.reserve(reservation.model, reservation.input_tokens, reservation.output_tokens)
        except BudgetExhausted:
            return False
        if more.output_tokens < reservation.output_tokens:
            self._unbook(more)
            return False
        self._in_flight -= 1  # the same call, sent again
        reservation.copies += 1
        return True

    async def extend_waiting(self, reservation: Reservation) -> bool:
        """`extend`, but while other calls hold reservations a re-send that does not fit waits for them to settle
        (as `admit` does) instead of being refused: False only when it still does not fit with nothing else held,
        after an overshoot, or once the call was settled."""
        while not self.extend(reservation):
            if reservation.settled or self.overshoot is not None or self._in_flight <= 1:  # its own is the one held
                return False
            await self._freed.wait()
        return True

    def release(self, reservation: Reservation) -> None:
        if not reservation.settled:
            self._unbook(reservation)
            freed, self._freed = self._freed, asyncio.Event()
            freed.set()

    def _unbook(self, reservation: Reservation) -> None:
        reservation.settled = True
        self._held.input_tokens -= reservation.copies * reservation.input_tokens
        self._held.output_tokens -= reservation.copies * reservation.output_tokens
        self._held.usd -= reservation.copies * reservation.usd
        self._in_flight -= 1

    async def admit(self, model: str, input_tokens: int, max_output_tokens: int) -> Reservation:
        """`reserve`, but while other calls hold reservations a call that does not fit in full waits for them
        to settle instead of being refused (or cut short): reservations are upper bounds, and what the calls in
        flight really spend is usually far less. Refuses (BudgetExhausted) only when nothing is held and the
        call still does not fit, so a fan-out uses its budget without ever exceeding it."""
        while True:
            waiting = self._holding()
            try:
                reservation = self.reserve(model, input_tokens, max_output_tokens)
            except BudgetExhausted as stop:
                if not waiting or self.overshoot is not None or stop.limit == "max_seconds":
                    raise
                await self._freed.wait()
                continue
            if reservation.output_tokens >= max_output_tokens or not waiting:
                return reservation
            self._unbook(reservation)  # only a shortened reply fits now: wait for the calls in flight first
            await self._freed.wait()

    def _holding(self) -> bool:
        return self._in_flight > 0

    def admit_subcalls(self, count: int) -> int:
        """How many of `count` sub-calls may start (all, some, or none). Counts the admitted ones."""
        self.check_time()
        limit = self.budget.max_subcalls
        allowed = count if limit is None else max(min(count, limit - self.usage.subcalls), 0)
        self.usage.subcalls += allowed
        return allowed

    def subcall_refusal(self) -> str:
        """Why a sub-call was refused a start, its limit named first (the one to raise), as the other refusals are."""
        return f"max_subcalls: sub-call budget spent: all {self.budget.max_subcalls} sub-calls of this run are used"


_USD_SLACK = 1e-6
"""Tokens of rounding slack when turning dollars left into tokens affordable (float sums of prices drift)."""
_USD_SLACK_USD = 1e-12


def _rates_to_give(media: MediaTokens) -> str:
    """The Price fields a call's media tokens need: "output_image_per_million=..."."""
    return ", ".join(
        f"{side}_{kind}_per_million=..."
        for kind, counts in media.items()
        for side, count in zip(SIDES, counts, strict=True)
        if count
    )


def _refusal(kind: str, limit: int, used: int, needed: int) -> str:
    return f"{kind} budget: {used:,} of {limit:,} tokens used or reserved, and this call needs {needed:,} more"
