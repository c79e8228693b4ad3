"""OOLONG's `exact` flag, round 79: a point won by any of the RLM port's fallbacks (the gold read from anywhere
in the reply, not OOLONG's parse of its end) is recorded `exact: False`, for every answer kind, while a parsed
answer equal to the gold stays `exact: True`."""

from __future__ import annotations

from typing import Any

import pytest

from rlmx.bench.score import score_details
from rlmx.bench.task import Task


def _task(gold: Any, answer_format: str) -> Task:
    return Task(
        id="t", params={}, family="oolong", context="", query="q", answer=gold, answer_format=answer_format, metadata={}
    )


# (gold, kind, a reply whose OOLONG parse misses the answer but whose text names the gold, a reply parsed right)
CASES = [
    (
        14,
        "numeric",
        "I counted 14 matching lines, and then some more after rechecking the remaining ones",
        "Answer: 14",
    ),
    (
        "2023-02-15",
        "date",
        "It was 2023-02-15: the earliest of those, as far as I can tell from here",
        "Date: 2023-02-15",
    ),
    ("March 2023", "month_year", "March 2023 had the most; the answer: see above", "Answer: March 2023"),
    (
        "more common than",
        "comparison",
        "numeric value is more common than location. Final: see the comparison above",
        "Answer: more common than",
    ),
    ("abbreviation", "label", "abbreviation leads, I think. Answer: numeric value", "Answer: abbreviation"),
    ("44106", "user", "user 44106 posted most. Answer: 5012", "User: 44106"),
]


@pytest.mark.parametrize(("gold", "kind", "fallback", "parsed"), CASES, ids=[c[1] for c in CASES])
def test_a_fallback_point_is_never_exact(gold: Any, kind: str, fallback: str, parsed: str) -> None:
    task = _task(gold, kind)
    won = score_details("oolong", fallback, task)
    assert won["score"] == 1.0 and won["exact"] is False, won
    right = score_details("oolong", parsed, task)
    assert right["score"] == 1.0 and right["exact"] is True, right


def test_a_near_number_is_neither_a_full_point_nor_exact() -> None:
    near = score_details("oolong", "Answer: 13", _task(14, "numeric"))
    assert near["score"] == 0.75 and near["exact"] is False and near["parsed"] == 13
