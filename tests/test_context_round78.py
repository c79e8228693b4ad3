"""A context value that holds a list or dict in many places is judged in time bounded by its distinct parts: one
shared at each of 60 levels (`x = [x, x]`) is 2**60 parts written out as JSON, and the check walked them for ever."""

from __future__ import annotations

import pytest

from rlmx.context import prepare
from rlmx.errors import InputError


def test_a_list_shared_at_every_level_is_refused_not_walked_for_ever() -> None:
    value: list[object] = [1]
    for _ in range(60):
        value = [value, value]
    with pytest.raises(InputError, match=r"context `context` cannot be loaded: the value has more than .* written out"):
        prepare("context", value)


def test_a_part_shared_many_times_that_fits_still_loads() -> None:
    record = {"name": "same", "tags": ["a", "b"]}
    context = prepare("context", [record] * 1_100_000)  # past the walk's watch: judged by its shape, then loaded
    assert context.item_count == 1_100_000
    assert context.text.count('"same"') == 1_100_000


def test_a_dict_holding_itself_is_refused() -> None:
    value: dict[str, object] = {"a": 1}
    value["self"] = value
    with pytest.raises(InputError, match="context `context`"):
        prepare("context", value)
