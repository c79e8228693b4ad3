"""OOLONG's `exact` beside its score: a label point won by the gold named anywhere in the reply (the paper's
fallback) is not an exact match when the parsed answer is another label."""

from __future__ import annotations

from rlmx.bench.score import score_details
from rlmx.bench.task import Task


def _label_task(gold: str) -> Task:
    return Task(
        id="t", params={}, family="oolong", context="", query="q", answer=gold, answer_format="label", metadata={}
    )


def test_a_label_scored_by_the_fallback_is_not_exact() -> None:
    task = _label_task("abbreviation")
    fallback = score_details("oolong", "tally: abbreviation 4, numeric value 7\nAnswer: numeric value", task)
    assert (fallback["score"], fallback["parsed"], fallback["exact"]) == (1.0, "numeric value", False)
    parsed = score_details("oolong", "Answer: Abbreviation", task)
    assert (parsed["score"], parsed["exact"]) == (1.0, True)
    wrong = score_details("oolong", "Answer: numeric value", task)
    assert (wrong["score"], wrong["exact"]) == (0.0, False)
