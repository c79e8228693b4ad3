"""S-NIAH (RULER niah_single_1/2/3): one "special magic number/uuid" needle in a noise or essay haystack.

Variants: `noise` (= niah_single_1), `essay_number` (= niah_single_2), `essay_uuid` (= niah_single_3), mixed
round robin by index as in the paper's setting, and the opt-in hard `distractor` variant (an essay haystack with
3-20 other "special magic number for <other key>" needles, about half of them sharing a word with the asked key,
as in RULER multikey_2 and hard-needle). `haystack_source` picks the essay-like text (rlmx.bench.text).
"""

from __future__ import annotations

import re
import uuid
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from rlmx.bench.task import Task, finish, make_rng
from rlmx.bench.text import ADJECTIVES, HAYSTACK_SOURCES, NOUNS, sentences
from rlmx.errors import InputError

VARIANTS = ("noise", "essay_number", "essay_uuid")
"""The round-robin variants (RULER's three single-needle tasks)."""
ALL_VARIANTS = (*VARIANTS, "distractor")
DEPTHS = tuple(round(i * 100 / 39) for i in range(40))
"""40 evenly spaced depths, in percent, as RULER uses."""
TEMPLATE = (
    "A special magic {kind} is hidden within the following text. Make sure to memorize it. "
    "I will quiz you about the {kind} afterwards.\n{{context}}\nWhat is the special magic {kind} for {key} "
    "mentioned in the provided text?"
)
MAX_DISTRACTORS = 50
_QUESTION = re.compile(r"What is the special magic (\w+) for ")


def generate(
    *,
    seed: int,
    target_tokens: int,
    index: int,
    variant: str | None = None,
    depth: int | None = None,
    haystack_source: str | None = None,
    n_distractors: int | None = None,
) -> Task:
    """A haystack of `target_tokens` chars4 tokens (within 1%) with the needle at `depth` percent (default
    DEPTHS[index % 40]). `variant` defaults to round-robin over VARIANTS; `haystack_source` (essay variants
    only) defaults to "essay"; `n_distractors` (0..50) defaults to 0, or to a seeded 3..20 for `distractor`.
    Answer: the value as a str. Raises InputError for a value outside these choices, and when the needles alone
    are over the size (50 UUID needles are about 4,700 characters, more than a 1k-token task)."""
    variant = variant or VARIANTS[index % len(VARIANTS)]
    if variant not in ALL_VARIANTS:
        raise InputError(f"sniah variant must be one of {', '.join(ALL_VARIANTS)}, not {variant!r}")
    depth = DEPTHS[index % len(DEPTHS)] if depth is None else depth
    if isinstance(depth, bool) or not isinstance(depth, int | float) or not 0 <= depth <= 100:
        raise InputError(f"sniah depth is a percentage 0..100, not {depth!r}")
    if variant == "noise" and haystack_source not in (None, "noise"):
        raise InputError(
            "the sniah noise variant uses RULER's noise block, and indexes 0, 3, 6, ... are noise by default: "
            "for a haystack_source also give variant=essay_number, essay_uuid or distractor"
        )
    source = "noise" if variant == "noise" else haystack_source or "essay"
    if source not in ("noise", *HAYSTACK_SOURCES):
        raise InputError(f"sniah haystack_source must be one of {', '.join(HAYSTACK_SOURCES)}, not {source!r}")
    if n_distractors is not None and (
        isinstance(n_distractors, bool) or not isinstance(n_distractors, int) or not 0 <= n_distractors <= 50
    ):
        raise InputError(f"sniah n_distractors must be an integer 0..{MAX_DISTRACTORS}, not {n_distractors!r}")
    rng = make_rng("sniah", seed, target_tokens, index, "needle")
    key = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
    if variant == "essay_uuid":
        value, kind = str(uuid.UUID(int=rng.getrandbits(128), version=4)), "uuid"
    else:
        value, kind = str(rng.randint(1_000_000, 9_999_999)), "number"
    needle = f"One of the special magic {kind}s for {key} is: {value}. "
    drng = make_rng("sniah", seed, target_tokens, index, "distractors")
    count = n_distractors if n_distractors is not None else (drng.randint(3, 20) if variant == "distractor" else 0)
    others = _distractors(drng, key, value, kind, count)
    chars = target_tokens * 4 - len(needle) - sum(len(n) for n, _ in others)
    if chars < 0:  # the needles alone are over the size: a task larger than asked, with no haystack, is no S-NIAH
        raise InputError(_too_many_needles(target_tokens, needle, others))
    hay = sentences(source, chars, make_rng("sniah", seed, target_tokens, index, "hay"))
    ends = list(accumulate(map(len, hay)))
    cut = _nearest(ends, chars * depth / 100)
    inserts = sorted([(cut, 0, needle)] + [(_nearest(ends, chars * d / 100), 1, n) for n, d in others])
    parts: list[str] = []
    prev = 0
    offset = 0
    for at, order, text in inserts:
        parts.append("".join(hay[prev:at]))
        if order == 0:
            offset = sum(map(len, parts))
        parts.append(text)
        prev = at
    parts.append("".join(hay[prev:]))
    context = "".join(parts)
    query = TEMPLATE.format(kind=kind, key=key).split("{context}\n", 1)[1]
    params: dict[str, Any] = {"variant": variant, "depth": depth}
    if source not in ("noise", "essay"):
        params["haystack_source"] = source
    if count:
        params["n_distractors"] = count
    extra: dict[str, Any] = {
        "variant": variant,
        "depth": depth,
        "key": key,
        "needle": needle.strip(),
        "needle_offset": offset,
        "kind": kind,
        "haystack_source": source,
    }
    if count:
        extra["distractors"] = [n.strip() for n, _ in others]
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


def preamble(task: Task) -> str | None:
    """RULER's template text before the context for `task` ("A special magic number is hidden within the following
    text. ... about the number afterwards."), or None for a task that does not say what kind of value it hides
    (no `kind` in its metadata and no RULER question: a file task of another shape)."""
    kind = task.metadata.get("kind")
    if kind is None:
        asked = _QUESTION.search(task.query)
        kind = asked[1] if asked else None
    return None if kind is None else TEMPLATE.split("\n{{context}}", 1)[0].format(kind=kind)


def _distractors(rng: Any, key: str, value: str, kind: str, count: int) -> list[tuple[str, float]]:
    """`count` (needle, depth %) pairs for other keys with other values; about half of the keys share the
    asked key's adjective or noun (the confusable ones), all keys and values distinct."""
    adj, noun = key.split("-", 1)
    keys = {key}
    values = {value}
    out: list[tuple[str, float]] = []
    while len(out) < count:
        r = rng.random()
        if r < 0.25:
            other = f"{adj}-{rng.choice(NOUNS)}"
        elif r < 0.5:
            other = f"{rng.choice(ADJECTIVES)}-{noun}"
        else:
            other = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
        if kind == "uuid":
            val = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        else:
            val = str(rng.randint(1_000_000, 9_999_999))
        if other in keys or val in values:
            continue
        keys.add(other)
        values.add(val)
        out.append((f"One of the special magic {kind}s for {other} is: {val}. ", rng.uniform(0, 100)))
    return out


def _too_many_needles(target_tokens: int, needle: str, others: list[tuple[str, float]]) -> str:
    """What to change when the needle and `others` (the distractors) take more than target_tokens chars4 tokens."""
    room = target_tokens * 4 - len(needle)
    fit = sum(1 for end in accumulate(len(n) for n, _ in others) if end <= room)
    return (
        f"sniah: the needle and {len(others)} distractors take {len(needle) + sum(len(n) for n, _ in others):,} "
        f"characters, more than the {target_tokens * 4:,} of a {target_tokens:,}-token task: give n_distractors "
        f"<= {fit} at this size, or a larger size"
    )


def _nearest(ends: list[int], goal: float) -> int:
    """Number of sentences before the boundary nearest `goal` characters (binary search over cumulative ends)."""
    i = bisect_left(ends, goal)
    candidates = [c for c in (i, i + 1) if 0 <= c <= len(ends)]
    return min(candidates, key=lambda c: abs((ends[c - 1] if c else 0) - goal))
