"""Round 83's custom-LM checks, reviewed (83b): a whole count written as a float or a numpy-like integer is the
count it is (12.0 was booked at the call's whole bound, 50,000 tokens, as unreported); a `complete` wrapped by a
`functools.wraps` decorator that takes `max_tokens` is accepted (the check read the inner function's signature)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pytest

from rlmx import RLM
from rlmx.budget import Reservation, sound_usage
from rlmx.errors import InputError
from rlmx.lm.base import Completion, Message, Usage

BOUND = Reservation(50_000, 8_000, 1.0)


def _whole_counts() -> list[object]:
    counts: list[object] = [12.0]
    try:
        import numpy  # llama-cpp-python's dependency: there with the local extra, which CI installs
    except ImportError:
        return counts
    return [*counts, numpy.int64(12), numpy.float64(12.0)]


@pytest.mark.parametrize("given", _whole_counts())
def test_a_whole_count_of_another_numeric_type_is_booked_as_that_count(given: object) -> None:
    booked = sound_usage(Usage(input_tokens=given, output_tokens=5), BOUND)  # type: ignore[arg-type]
    assert (booked.input_tokens, booked.output_tokens, booked.estimated) == (12, 5, False)
    assert type(booked.input_tokens) is int


@pytest.mark.parametrize("given", [12.5, float("nan"), -3.0, True, "12"])
def test_a_count_that_cannot_be_true_is_still_booked_at_the_bound(given: object) -> None:
    booked = sound_usage(Usage(input_tokens=given, output_tokens=5), BOUND)  # type: ignore[arg-type]
    assert (booked.input_tokens, booked.estimated) == (50_000, True)


def _passes_max_tokens_on(inner: Any) -> Any:
    @functools.wraps(inner)
    async def wrapper(self: Any, messages: Sequence[Message], max_tokens: int | None = None, **params: Any) -> Any:
        return await inner(self, messages, limit=max_tokens)

    return wrapper


class WrappedLM:
    model = "wrapped-model"

    @_passes_max_tokens_on
    async def complete(self, messages: Sequence[Message], limit: int | None = None) -> Completion:
        return Completion(text="```repl\nFINAL('ok')\n```", usage=Usage(10, 3), model=self.model)


class PlainLM:
    model = "plain-model"

    async def complete(self, messages: Sequence[Message]) -> Completion:
        return Completion(text="FINAL(ok)", usage=Usage(10, 3), model=self.model)


def test_a_decorated_complete_that_takes_max_tokens_is_accepted() -> None:
    result = RLM(WrappedLM()).completion("Say ok.", context="x")
    assert (result.status, result.answer) == ("finished", "ok"), result.stop_reason


def test_a_complete_that_cannot_take_max_tokens_is_still_refused() -> None:
    with pytest.raises(InputError, match="max_tokens"):
        RLM(PlainLM())
