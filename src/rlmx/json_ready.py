"""A value from user code made safe to hand to `json.dumps` in the host, in time bounded by its distinct parts.

`json.dumps` and a plain walker both trust a value's shape: a dict that holds itself (an ORM graph, a tree with
parent links) sends a walker without a "seen" set round for ever, a list shared at each of 200 levels (`x = [x, x]`)
is written out 2**200 times, and a subclass's `items()` or `__iter__` may never end. `json_ready` copies the value
once, visiting each distinct list, tuple and dict once, and refuses it before any of that work can run away.
"""

from __future__ import annotations

import itertools
from typing import Any

from rlmx.sandbox.frames import MAX_NESTING, int_too_long
from rlmx.sandbox.worker import json_problem

MAX_ITEMS = 2**24
"""The most list items and dict entries a value may have written out as JSON (16,777,216), a shared list or dict
counted at each place it appears, as json.dumps writes it: some 100 MB of JSON at 6 bytes an item, past the 64 MiB a
frame carries by default. Reading that many from an `__iter__` that never ends takes a second and 600 MB."""

_CONTAINERS = (list, tuple, dict)


class ShapeProblem(ValueError):
    """A value JSON cannot write because of its shape; the message completes "the value ..."."""


def json_ready(value: Any, max_items: int = MAX_ITEMS, max_depth: int = MAX_NESTING) -> Any:
    """`value` with every list, tuple and dict in it (subclasses too) copied as a plain list or dict, read once
    through its own `__iter__` or `items()` as json.dumps reads it, so that json.dumps of the copy does work bounded
    by `max_items`. A list or dict met twice is copied once and shared; other values are kept as they are
    (json.dumps, and its `default`, judge them). Raises ShapeProblem for a value that holds itself, nests more than
    `max_depth` deep, or has more than `max_items` items written out; ValueError (`worker.json_problem`'s words)
    for an int too long to cross or two dict keys JSON writes alike; and whatever the value's own methods raise."""
    if not isinstance(value, _CONTAINERS):
        _nested([value])
        return value
    copies: dict[int, tuple[Any, int, int]] = {}  # id -> (copy, height, items written out)
    kept: list[Any] = []  # every original copied: alive, so its id names it in `copies` alone
    on_path: set[int] = set()
    read = 0  # distinct items read so far: never more than there are written out
    stack: list[tuple[Any, list[Any] | None, bool]] = [(value, None, False)]
    while stack:
        item, parts, nested = stack.pop()
        ident = id(item)
        if parts is not None:  # leaving `item`: its children are copied
            on_path.discard(ident)
            copies[ident] = _copied(item, parts, nested, copies, max_items, max_depth)
            continue
        if ident in copies:
            continue
        if ident in on_path:
            raise ShapeProblem("contains itself (a circular reference)")
        if len(on_path) >= max_depth:
            raise ShapeProblem(f"is nested more than {max_depth} levels deep")
        parts = _parts(item, max_items - read + 1)
        read += len(parts)
        if read > max_items:
            raise _too_many(max_items)
        on_path.add(ident)
        kept.append(item)
        values = _values(item, parts)
        nested = _nested(values)
        stack.append((item, parts, nested))
        if nested:
            stack.extend((child, None, False) for child in values if isinstance(child, _CONTAINERS))
    return copies[id(value)][0]


def _nested(values: list[Any]) -> bool:
    """Whether `values` holds a list, tuple or dict; ValueError for an int in it too long to cross. Per item, only
    C loops: a list of ten million numbers is read in a second."""
    kinds = set(map(type, values))
    if int in kinds:
        ints = values if len(kinds) == 1 else [part for part in values if type(part) is int]
        for extreme in (max(ints), min(ints)):  # the longest ints
            found = int_too_long(extreme)
            if found is not None:
                raise ValueError(found)
    return any(issubclass(kind, _CONTAINERS) for kind in kinds)


def _parts(item: Any, most: int) -> list[Any]:
    """A list's or tuple's items, or a dict's (key, value) pairs, at most `most` of them (a subclass's `__iter__` or
    `items()` may never end). A pair that is not a pair raises as json.dumps would."""
    if type(item) is list:
        return item[:most]
    if type(item) is tuple:
        return list(item[:most])
    if not isinstance(item, dict):
        return list(itertools.islice(item, most))
    pairs = list(itertools.islice(item.items(), most))
    if type(item) is not dict:
        for pair in pairs:
            if type(pair) is not tuple or len(pair) != 2:
                raise ValueError(f"{type(item).__name__}.items() gave {type(pair).__name__}, not a (key, value) pair")
    return pairs


def _values(item: Any, parts: list[Any]) -> list[Any]:
    return [pair[1] for pair in parts] if isinstance(item, dict) else parts


def _copied(
    item: Any,
    parts: list[Any],
    nested: bool,
    copies: dict[int, tuple[Any, int, int]],
    max_items: int,
    max_depth: int,
) -> tuple[Any, int, int]:
    """(the copy of `item`, its height, its items written out), its children (if `nested`) already in `copies`."""
    values = _values(item, parts)
    height, written = 1, len(parts)
    if nested:
        values = list(values)
        for index, child in enumerate(values):
            if isinstance(child, _CONTAINERS):
                values[index], child_height, child_written = copies[id(child)]
                height, written = max(height, child_height + 1), written + child_written
    if height > max_depth:
        raise ShapeProblem(f"is nested more than {max_depth} levels deep")
    if written > max_items:
        raise _too_many(max_items)
    if not isinstance(item, dict):
        return values, height, written
    keys = [pair[0] for pair in parts]
    copy = dict(zip(keys, values, strict=True))
    if len(copy) < len(parts):  # a subclass's items() gave one key twice: json.dumps would write both
        raise ValueError(f"{type(item).__name__}.items() gives one key more than once; return a plain dict")
    if not all(type(key) is str for key in copy):
        found = json_problem(dict.fromkeys(copy))  # shallow: two keys JSON writes alike
        if found is not None:
            raise ValueError(found)
    return copy, height, written


def _too_many(max_items: int) -> ShapeProblem:
    return ShapeProblem(
        f"has more than {max_items:,} items written out as JSON (a list or dict it holds in several places is "
        "written out at each)"
    )
