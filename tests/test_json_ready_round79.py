"""json_ready (round 79): plain data is walked once and returned as it is, not copied container by container (a
tool's 200,000 rows cost 7-10x their JSON round trip; a JSON context of records sharing one list loaded 4-10x
slower than the same records unshared). What needs a copy still gets one: a subclass (its methods are not run
again) and every container holding such a copy. A tool's legal 17-million-item list is no longer refused."""

from __future__ import annotations

from typing import Any

import pytest

from rlmx.context import SizeLimit, prepare
from rlmx.json_ready import ShapeProblem, json_ready


def test_plain_rows_are_returned_as_they_are() -> None:
    rows = [{"id": n, "name": f"row {n}", "tags": ["a", "b"]} for n in range(1000)]
    assert json_ready(rows) is rows
    shared = ["red", "green"]
    records = {"items": [{"id": n, "tags": shared} for n in range(100)], "meta": (1, 2.5, None, True)}
    assert json_ready(records) is records


class Rows(list[Any]):
    pass


def test_a_subclass_and_the_containers_holding_it_are_copied_and_the_rest_kept() -> None:
    kept = {"plain": [1, 2, 3]}
    value = {"custom": Rows([{"x": 1}]), "other": kept}
    ready = json_ready(value)
    assert ready is not value and ready == {"custom": [{"x": 1}], "other": kept}
    assert type(ready["custom"]) is list and ready["other"] is kept


def test_the_written_out_bound_and_the_cycle_still_hold_for_shared_plain_parts() -> None:
    doubling: list[Any] = []
    for _ in range(60):
        doubling = [doubling, doubling]
    with pytest.raises(ShapeProblem, match="items written out"):
        json_ready(doubling)
    loop: dict[str, Any] = {"name": "root"}
    loop["self"] = [loop]
    with pytest.raises(ShapeProblem, match="circular"):
        json_ready(loop)


def test_a_dict_subclass_giving_one_key_twice_is_refused() -> None:
    class Twice(dict[str, int]):
        def items(self) -> Any:
            return iter([("a", 1), ("a", 2)])

    with pytest.raises(ValueError, match="more than once"):
        json_ready({"x": Twice(a=1)})


def test_a_tool_may_return_a_list_of_seventeen_million_numbers() -> None:
    from rlmx.tools import TOOL_RESULT_ITEMS

    big = [0] * 17_000_000
    assert json_ready(big, max_items=TOOL_RESULT_ITEMS) is big


def test_records_sharing_one_list_past_the_watch_load_as_json() -> None:
    tags = ["x", "y"]
    records = [{"id": n, "tags": tags} for n in range(600_000)]  # past 2**20 parts: the shared list is met twice
    prepared = prepare("context", records, SizeLimit())
    assert prepared.nbytes > 600_000 * 20


def test_plain_reads_a_shared_list_of_scalars_once_and_refuses_shared_nesting() -> None:
    from rlmx.json_ready import plain

    tags = ["x", "y"]
    assert plain([{"id": n, "tags": tags} for n in range(10)], max_items=100, max_depth=10)
    assert not plain([{"id": n, "tags": tags} for n in range(10)], max_items=39, max_depth=10)  # 20 + 20 written
    inner = [[1], [2]]
    assert not plain([inner, inner], max_items=100, max_depth=10)  # a container of containers met twice
    assert not plain([{1: "a"}], max_items=100, max_depth=10)  # a key that is no str
    assert not plain([[[]]], max_items=100, max_depth=2)
