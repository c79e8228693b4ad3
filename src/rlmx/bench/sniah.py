"""S-NIAH (RULER niah_single_1/2/3): one "special magic number/uuid" needle in a noise or essay haystack."""

from __future__ import annotations

import uuid
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from rlmx.bench.task import Task, finish, make_rng
from rlmx.bench.text import ADJECTIVES, NOUNS, sentences
from rlmx.errors import InputError

VARIANTS = ("noise", "essay_number", "essay_uuid")
DEPTHS = tuple(round(i * 100 / 39) for i in range(40))
"""40 evenly spaced depths, in percent, as RULER uses."""
TEMPLATE = (
    "A special magic {kind} is hidden within the following text. Make sure to memorize it. "
    "I will quiz you about the {kind} afterwards.\n{{context}}\nWhat is the special magic {kind} for {key} "
    "mentioned in the provided text?"
)


def generate(
    *, seed: int, target_tokens: int, index: int, variant: str | None = None, depth: int | None = None
) -> Task:
    """A haystack of `target_tokens` chars4 tokens (within 1%) with one needle at `depth` percent (default
    DEPTHS[index % 40]); `variant` defaults to round-robin over VARIANTS. Answer: the value as a str."""
    variant = variant or VARIANTS[index % len(VARIANTS)]
    if variant not in VARIANTS:
        raise InputError(f"sniah variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    depth = DEPTHS[index % len(DEPTHS)] if depth is None else depth
    if not 0 <= depth <= 100:
        raise InputError(f"sniah depth is a percentage 0..100, not {depth!r}")
    rng = make_rng("sniah", seed, target_tokens, index, "needle")
    key = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
    if variant == "essay_uuid":
        value, kind = str(uuid.UUID(int=rng.getrandbits(128), version=4)), "uuid"
    else:
        value, kind = str(rng.randint(1_000_000, 9_999_999)), "number"
    needle = f"One of the special magic {kind}s for {key} is: {value}. "
    chars = max(0, target_tokens * 4 - len(needle))
    hay = sentences(
        "noise" if variant == "noise" else "essay", chars, make_rng("sniah", seed, target_tokens, index, "hay")
    )
    ends = list(accumulate(map(len, hay)))
    goal = chars * depth / 100
    cut = _nearest(ends, goal)
    context = "".join(hay[:cut]) + needle + "".join(hay[cut:])
    query = TEMPLATE.format(kind=kind, key=key).split("{context}\n", 1)[1]
    params: dict[str, Any] = {"variant": variant, "depth": depth}
    extra = {
        "variant": variant,
        "depth": depth,
        "key": key,
        "needle": needle.strip(),
        "needle_offset": ends[cut - 1] if cut else 0,
        "kind": kind,
    }
    return finish(
        "sniah",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context=context,
        query=query,
        answer=value,
        answer_format="string",
        answer_text=value,
        extra=extra,
    )


def _nearest(ends: list[int], goal: float) -> int:
    """Number of sentences before the boundary nearest `goal` characters (binary search over cumulative ends)."""
    i = bisect_left(ends, goal)
    candidates = [c for c in (i, i + 1) if 0 <= c <= len(ends)]
    return min(candidates, key=lambda c: abs((ends[c - 1] if c else 0) - goal))
