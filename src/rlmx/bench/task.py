"""The task format shared by every generator, the token counter, seeded randomness, manifests and the disk cache.

Token counter: `chars4`, the spec's dependency-free estimator `ceil(len(text) / 4)` (BENCHMARKS.md 3.0). It is
what `target_tokens` and `metadata["n_tokens"]` mean; cl100k is 3.8-4.1 characters a token on English and code,
so a chars4 count is within about 5% of a cl100k count. Generators reach the target within 1% of chars4 tokens
by adding whole units (sentences, lines, docs, files) and summing their lengths, never re-measuring the text (a
unit is the bound where it is over 1%: oolong's ~25-token lines and a docs sentence per document below 4k).
For a size in another tokenizer (cl100k, or one registered by the caller) see rlmx.bench.suite.generate_counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlmx.events import create_private_file, keep_private, make_private_folders
from rlmx.sandbox.frames import utf8

GENERATOR_VERSION = "1"
FAMILY_VERSIONS = {"sniah": "1", "oolong": "3", "pairs": "3", "docs": "3", "codeqa": "4"}
"""Each family's generator version: it seeds the family's randomness and is recorded in every manifest, so a
change to a generator's output bumps its family's version (and results of earlier runs stop matching)."""


def family_version(family: str) -> str:
    return FAMILY_VERSIONS.get(family, GENERATOR_VERSION)


TOKENIZER = "chars4"
MIN_TOKENS = 1024
MAX_TOKENS = 20_000_000


def count_tokens(text: str) -> int:
    """chars4 tokens of `text`: ceil(characters / 4)."""
    return (len(text) + 3) // 4


def context_chars(context: str | list[str]) -> int:
    return len(context) if isinstance(context, str) else sum(len(part) for part in context)


@dataclass(frozen=True, slots=True)
class Task:
    """One benchmark instance. `context` is a str (sniah, oolong, pairs, codeqa) or a list of documents (docs);
    `answer` is the gold in the family's own shape (str, int, list of pairs...); `metadata` holds `n_tokens`,
    `n_chars`, `tokenizer`, `sha256_context`, `sha256_answer`, `generator_version`, `answer_text` (the gold
    rendered as a perfect prediction) and family-specific facts."""

    id: str
    family: str
    params: dict[str, Any]
    context: str | list[str]
    query: str
    answer: Any
    answer_format: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return cls(**data)


def make_rng(
    family: str, seed: int, target_tokens: int, index: int | str, purpose: str, version: str | None = None
) -> random.Random:
    """Seeded randomness that depends only on its inputs (string seeds are SHA-512 hashed by CPython). `version`
    (default: the family's) is for a generator whose new version keeps an older one's draws."""
    return random.Random(f"{family}|{version or family_version(family)}|{seed}|{target_tokens}|{index}|{purpose}")


def sha256_text(context: str | list[str]) -> str:
    digest = hashlib.sha256()
    if isinstance(context, str):
        digest.update(utf8(context))  # a task file's lone-surrogate escape is hashed as U+FFFD, never a traceback
    else:
        for part in context:
            digest.update(hashlib.sha256(utf8(part)).digest())
    return digest.hexdigest()


def finish(
    family: str,
    *,
    seed: int,
    target_tokens: int,
    index: int,
    params: dict[str, Any],
    context: str | list[str],
    query: str,
    answer: Any,
    answer_format: str,
    answer_text: str,
    extra: dict[str, Any],
) -> Task:
    """Build the Task with its common metadata (sizes, hashes, version)."""
    metadata = {**task_metadata(context, answer, answer_text=answer_text, version=family_version(family)), **extra}
    task_id = f"{family}-s{seed}-t{target_tokens}-i{index}"
    return Task(task_id, family, dict(params), context, query, answer, answer_format, metadata)


def task_metadata(context: str | list[str], answer: Any, *, answer_text: str, version: str) -> dict[str, Any]:
    """The metadata every task has: chars4 size, the context's and answer's sha256, the generator's version and
    the gold rendered as a perfect prediction."""
    n_chars = context_chars(context)
    return {
        "n_tokens": (n_chars + 3) // 4,
        "n_chars": n_chars,
        "tokenizer": TOKENIZER,
        "sha256_context": sha256_text(context),
        "sha256_answer": sha256_text(json.dumps(answer, sort_keys=True)),
        "generator_version": version,
        "answer_text": answer_text,
    }


def params_label(params: dict[str, Any]) -> str:
    """ "" for no parameters, else "[k=v,...]" (keys sorted): what a task id and a report row carry when a run
    asked for generator parameters, so tasks asked for differently never share an id or a row."""
    if not params:
        return ""
    return "[" + ",".join(f"{k}={params[k]}" for k in sorted(params)) + "]"


def manifest(task: Task) -> dict[str, Any]:
    """What identifies a task's content: regenerating it must give the same manifest."""
    keys = ("n_tokens", "sha256_context", "sha256_answer", "generator_version", "tokenizer")
    return {"id": task.id, "family": task.family, "params": task.params, **{k: task.metadata[k] for k in keys}}


def task_sha256(task: Task) -> str:
    """sha256 of what a task's score depends on: its context, query, gold and answer format (hex digest). Two
    tasks with one id and different digests are different tasks (a tasks file edited since a run)."""
    meta = task.metadata
    parts = [task.family, meta["sha256_context"], meta["sha256_answer"], task.query, task.answer_format]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def manifest_hash(manifests: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(manifests, sort_keys=True).encode()).hexdigest()


def cache_key(family: str, seed: int, target_tokens: int, index: int, params: dict[str, Any]) -> str:
    spec = json.dumps([family, family_version(family), seed, target_tokens, index, params], sort_keys=True, default=str)
    return hashlib.sha256(spec.encode()).hexdigest()[:32]


def cache_load(folder: Path, key: str) -> Task | None:
    """The cached task `key`, or None. A hit is left its owner's alone (0600), as `cache_store` writes it: one an
    older rlmx wrote 0644 would hand the model under test its gold on a resumed run."""
    path = folder / f"{key}.json"
    if not path.is_file():
        return None
    keep_private(path)
    try:
        return Task.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # a damaged cache entry is regenerated


def cache_store(folder: Path, key: str, task: Task) -> None:
    """Write `task` as `folder/<key>.json` (0600), atomically: each writer fills a temporary file of its own in the
    folder, then renames it over the entry, so two runs (or threads) sharing a cache never trip over each other's
    file and a reader sees a whole entry or none. Raises OSError (the caller may go on without the cache)."""
    make_private_folders(folder)
    fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)  # 0600, a name no other writer has
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(task.to_dict()))
        tmp.replace(folder / f"{key}.json")
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_private_text(path: Path, text: str) -> None:
    """Write `path` for its owner alone (0600), as traces are: a benchmark's tasks, golds and answers must stay
    out of reach of the model under test, whose sandbox runs as another uid on a root host."""
    with os.fdopen(create_private_file(path), "w", encoding="utf-8") as handle:
        handle.write(text)
