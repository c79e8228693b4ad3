"""Reading a reply's usage: the three plain counts (what llama.cpp, vLLM and most local servers send) are read by a
short path; it must book exactly what the general reading of every provider's fields books for the same counts."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from rlmx.lm.openai_reply import to_completion
from rlmx.lm.prices import MEDIA

COUNTS: list[Any] = [None, 0, 7, 20, "12", 3.0, 2.5, -4, True, "n/a"]
"""What servers put in a count: missing (None), a real count, a zero that means 'not counted', quoted digits, a whole
float, and values that are no count at all."""


def _body(usage: dict[str, Any] | None, text: str = "ok") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _plain_usages() -> list[dict[str, Any]]:
    usages = []
    for prompt, completion, total in itertools.product(COUNTS, repeat=3):
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
        usages.append({key: value for key, value in usage.items() if value is not None})
        usages.append(usage)  # the missing ones written as null
    return usages


@pytest.mark.parametrize("cap", [None, 5, 64])
@pytest.mark.parametrize("text", ["ok", ""])
def test_plain_counts_book_what_the_general_reading_books(cap: int | None, text: str) -> None:
    """An unknown field beside the counts sends a reply down the general reading, which ignores it: both readings
    must agree for every combination of counts, caps and reply texts."""
    for usage in _plain_usages():
        for extra in ({"prompt_tokens_details": None, "cost": None}, {}):
            plain = _read({**usage, **extra}, text, cap)
            general = _read({**usage, **extra, "x_gateway_trace_id": "abc"}, text, cap)
            assert plain == general, usage


def _read(usage: dict[str, Any], text: str, cap: int | None) -> Any:
    try:
        return to_completion(_body(usage, text), model="m", prompt_bound=30, cap=cap).usage
    except Exception as exc:  # an empty reply is refused; what it booked rides on the error
        return type(exc).__name__, getattr(exc, "usage", None)


def test_plain_counts_are_read_as_reported() -> None:
    usage = to_completion(
        _body({"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}), model="m", prompt_bound=30, cap=None
    ).usage
    assert (usage.input_tokens, usage.output_tokens, usage.estimated, usage.cost_usd) == (20, 3, False, None)
    assert usage.unreported_output_media == frozenset(MEDIA)  # no breakdown said the output was text only
    raised = to_completion(
        _body({"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 40}), model="m", prompt_bound=30, cap=None
    ).usage
    assert raised.output_tokens == 20  # the total says more output than completion_tokens (reasoning in the total)


def test_a_field_beside_the_counts_is_still_read() -> None:
    """Cache reads, a cost and reasoning details are read (the short path is only for the three counts alone)."""
    usage = to_completion(
        _body(
            {
                "prompt_tokens": 100,
                "completion_tokens": 10,
                "total_tokens": 110,
                "prompt_tokens_details": {"cached_tokens": 60},
                "cost": 0.002,
            }
        ),
        model="m",
        prompt_bound=30,
        cap=None,
    ).usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cost_usd) == (100, 60, 0.002)


def test_perplexity_reasoning_and_citation_tokens_are_booked_beside_the_three_counts() -> None:
    """sonar-deep-research bills its reasoning and the search results it read as lines of their own, beside
    prompt_tokens and completion_tokens (and outside total_tokens): a token budget must count them."""
    perplexity = {
        "prompt_tokens": 19,
        "completion_tokens": 2873,
        "total_tokens": 2892,
        "citation_tokens": 9531,
        "num_search_queries": 18,
        "reasoning_tokens": 63117,
    }
    usage = to_completion(_body(perplexity), model="sonar-deep-research", prompt_bound=30, cap=None).usage
    assert (usage.input_tokens, usage.output_tokens) == (19 + 9531, 2873 + 63117)
    small = {**perplexity, "reasoning_tokens": 200}  # fewer than the completion's, still beside them
    assert to_completion(_body(small), model="m", prompt_bound=30, cap=None).usage.output_tokens == 2873 + 200


def test_a_top_level_reasoning_count_within_the_completions_is_not_added_again() -> None:
    """SGLang reports `reasoning_tokens` at the top of usage as part of completion_tokens (the total says so)."""
    sglang = {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60, "reasoning_tokens": 30}
    assert to_completion(_body(sglang), model="m", prompt_bound=30, cap=None).usage.output_tokens == 50
