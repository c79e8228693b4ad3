"""`rlmx bench`: deterministic long-context tasks (S-NIAH, OOLONG, OOLONG-Pairs, BrowseComp-like docs, code QA),
their scorers, the methods that answer them and a resumable runner.

    task = generate("sniah", seed=0, target_tokens=8192, index=0)
    score("sniah", "The number is 1234567.", task)        # 0.0 or 1.0

Sizes are chars4 tokens (ceil(characters / 4)); see rlmx.bench.task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from pathlib import Path
from typing import Any

from rlmx.bench import codeqa, docs, oolong, sniah
from rlmx.bench.score import score, score_details
from rlmx.bench.suite import generate_counted, make_suite, register_tokenizer
from rlmx.bench.task import (
    MAX_TOKENS,
    MIN_TOKENS,
    Task,
    cache_key,
    cache_load,
    cache_store,
    manifest,
    manifest_hash,
    params_label,
)
from rlmx.errors import InputError

FAMILIES = ("sniah", "oolong", "pairs", "docs", "codeqa")
_GENERATORS: dict[str, Any] = {
    "sniah": sniah.generate,
    "oolong": oolong.generate_oolong,
    "pairs": oolong.generate_pairs,
    "docs": docs.generate,
    "codeqa": codeqa.generate,
}


def generate(
    family: str, *, seed: int, target_tokens: int, index: int, cache_dir: str | Path | None = None, **params: Any
) -> Task:
    """Task `index` of `family` at `target_tokens` chars4 tokens (within 1% from 4k tokens; below, within one of the
    whole units the family adds: an oolong/pairs line, ~25 tokens, a docs sentence per document), a pure function
    of its arguments.

    With `cache_dir` the task is read from / written to `cache_dir/<key>.json` (atomically: runs and threads may
    share one folder; an entry that cannot be written is skipped). Raises InputError for an unknown
    family, a size outside MIN_TOKENS..MAX_TOKENS, a negative index or a parameter the family does not take.
    """
    if family not in _GENERATORS:
        raise InputError(f"unknown bench family {family!r}: choose one of {', '.join(FAMILIES)}")
    for name, value in (("seed", seed), ("target_tokens", target_tokens), ("index", index)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} must be an integer, not {value!r}")
    if not MIN_TOKENS <= target_tokens <= MAX_TOKENS:
        raise InputError(f"target_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}, not {target_tokens}")
    if index < 0:
        raise InputError(f"index must be >= 0, not {index}")
    takes = [
        name for name, p in inspect.signature(_GENERATORS[family]).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("seed", "target_tokens", "index")
    ]  # fmt: skip
    unknown = sorted(set(params) - set(takes))
    if unknown:
        raise InputError(
            f"{family} takes no parameter {', '.join(map(repr, unknown))}; its parameters: {', '.join(takes)}"
        )
    key = cache_key(family, seed, target_tokens, index, params)
    if cache_dir is not None:
        cached = cache_load(Path(cache_dir), key)
        if cached is not None:
            return cached
    try:
        task: Task = _GENERATORS[family](seed=seed, target_tokens=target_tokens, index=index, **params)
    except TypeError as exc:
        raise InputError(f"{family}: {exc}") from None
    if params:  # asked-for parameters are part of the id (defaults are not): "docs-s0-t8192-i0[hops=3]"
        task = dataclasses.replace(task, id=task.id + params_label(params))
    if cache_dir is not None:
        with contextlib.suppress(OSError):  # a cache that cannot be written (disk full) only costs a regeneration
            cache_store(Path(cache_dir), key, task)
    return task


def distinct_tasks(family: str, params: dict[str, Any]) -> tuple[int, str] | None:
    """(the number of distinct tasks that indexes 0, 1, ... of `family` give at one length with `params`, why)
    when the family has a fixed number (pairs' 20 tasks, ...), else None: more indexes would repeat tasks (see
    rlmx.bench.oolong.distinct_tasks)."""
    return oolong.distinct_tasks(family, params)


__all__ = [
    "FAMILIES",
    "Task",
    "distinct_tasks",
    "generate",
    "generate_counted",
    "make_suite",
    "manifest",
    "manifest_hash",
    "register_tokenizer",
    "score",
    "score_details",
]
