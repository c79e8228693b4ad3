"""The paper's experiments as run plans: `rlmx bench run --preset table1 --model M --out results/` runs what the
RLM paper's Table 1 runs (and `figure1` its length sweep), on generated tasks shaped like its datasets, then
writes the report. Sizes and counts from ../shared/reference/BENCHMARKS.md section 1 (arXiv 2512.24601 v1-v3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

K = 1024


@dataclass(frozen=True, slots=True)
class Series:
    """Tasks 0..n-1 of `family` at each of `lengths` (chars4 tokens), generated with `params`."""

    family: str
    lengths: tuple[int, ...]
    n: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    description: str
    series: tuple[Series, ...]
    methods: tuple[str, ...]

    def size(self) -> int:
        """Tasks in the plan (each is run once per method)."""
        return plan_size(self.series)


def plan_size(series: Sequence[Series]) -> int:
    """Tasks in `series` (each is run once per method)."""
    return sum(len(s.lengths) * s.n for s in series)


FIGURE1_LENGTHS = tuple(2**p for p in range(13, 21))
"""8K to 1M: Figure 1's x axis (v3; v1/v2 stop at 2^18)."""

PRESETS = {
    "table1": Preset(
        "table1",
        "Table 1: CodeQA (50 items; the paper's span 23K-4.2M tokens as 4 lengths of 13), BrowseComp-Plus-like "
        "docs (150 queries over 1,000 documents, ~1M tokens here where the paper's documents sum to 6-11M), "
        "OOLONG at 131K (50 tasks), OOLONG-Pairs at 32K (20 tasks); methods base, rlm (depth 1), rlm0 (no "
        "sub-calls) and summary (the summary agent); the paper's CodeAct baseline is not built in",
        (
            Series("codeqa", (32 * K, 128 * K, 512 * K, 2048 * K), 13),
            Series("docs", (1024 * K,), 150, {"n_docs": 1000}),
            Series("oolong", (128 * K,), 50),
            Series("pairs", (32 * K,), 20),
        ),
        ("base", "rlm", "rlm0", "summary"),
    ),
    "figure1": Preset(
        "figure1",
        "Figure 1: S-NIAH (50 tasks), OOLONG (50) and OOLONG-Pairs (20) at 8K to 1M tokens; methods base and rlm. "
        "Pairs run in users_mode=selective (the sparse tasks 11-20, so 10 a length, users capped at 1,000): from "
        "2^16 tokens on the other tasks' gold sets exceed 20,000 pairs, and the paper does not say how it handled "
        "them; a task no window of which fits is recorded as an error",
        (
            Series("sniah", FIGURE1_LENGTHS, 50),
            Series("oolong", FIGURE1_LENGTHS, 50),
            Series("pairs", FIGURE1_LENGTHS, 20, {"users_mode": "selective"}),
        ),
        ("base", "rlm"),
    ),
}
