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
    """`value` made safe for json.dumps: every list, tuple and dict in it read once (subclasses through their own
    `__iter__` or `items()`, as json.dumps reads them), so that json.dumps of the result does work bounded by
    `max_items`. A subclass is copied as a plain list or dict (its methods are not called again), and so is every
    container holding a copy; plain lists, tuples and dicts of plain parts are returned as they are (no copy: plain
    data costs one walk). A container met twice is walked once. Other values are kept as they are (json.dumps,
    and its `default`, judge them). Raises ShapeProblem for a value that holds itself, nests more than `max_depth`
    deep, or has more than `max_items` items written out; ValueError (`worker.json_problem`'s words) for an int too
    long to cross or two dict keys JSON writes alike; and whatever the value's own methods raise."""
    if not isinstance(value, _CONTAINERS):
        _nested([value])
        return value
    if plain(value, max_items, max_depth):
        return value
    done: dict[int, tuple[Any, int, int]] = {}  # id -> (the part to write, its height, its items written out)
    kept: list[Any] = []  # every container read: alive, so its id names it in `done` alone
    on_path: set[int] = set()
    read = 0  # distinct items read so far: never more than there are written out
    stack: list[tuple[Any, _Read | None]] = [(value, None)]
    while stack:
        item, reading = stack.pop()
        ident = id(item)
        if reading is not None:  # leaving `item`: its children are done
            on_path.discard(ident)
            done[ident] = _finished(item, reading, done, max_items, max_depth)
            continue
        if ident in done:
            continue
        if ident in on_path:
            raise ShapeProblem("contains itself (a circular reference)")
        if len(on_path) >= max_depth:
            raise ShapeProblem(f"is nested more than {max_depth} levels deep")
        reading = _read(item, max_items - read)
        read += len(reading.values)
        if read > max_items:
            raise _too_many(max_items)
        on_path.add(ident)
        kept.append(item)
        stack.append((item, reading))
        if reading.nested:
            stack.extend((child, None) for child in reading.values if isinstance(child, _CONTAINERS))
    return done[id(value)][0]


_LEAVES = frozenset({str, int, float, bool, type(None)})
_STR_ONLY = frozenset({str})


def plain(value: Any, max_items: int, max_depth: int) -> bool:
    """True when `value` is plain data: exact lists, tuples and dicts (str keys) of JSON scalars (ints short enough to
    cross), nested at most `max_depth` deep, with at most `max_items` items written out, and no container holding
    others met twice (so no cycle, and no `x = [x, x]` doubling). A container of scalars alone may be met any number
    of times (records sharing one list of tags): it is read once and counted at each place. One walk of C loops per
    distinct container (about a JSON round trip's time); False leaves the value to `json_ready`'s bounded copy."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    seen: set[int] = set()
    flat: set[int] = set()  # containers of scalars alone, read once
    items = 0
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is not dict and kind is not list and kind is not tuple:
            return False  # a subclass (only the value itself can be one: no other is pushed)
        ident = id(item)
        items += len(item)
        if items > max_items or depth > max_depth:
            return False
        if ident in flat:
            continue
        if ident in seen:
            return False
        if kind is dict:
            if not _STR_ONLY.issuperset(map(type, item)):
                return False
            children: Any = item.values()
        else:
            children = item
        kinds = set(map(type, children))
        if int in kinds:
            ints = children if len(kinds) == 1 else [child for child in children if type(child) is int]
            if int_too_long(max(ints)) is not None or int_too_long(min(ints)) is not None:
                return False
        if _LEAVES.issuperset(kinds):
            flat.add(ident)
            continue
        seen.add(ident)
        for child in children:
            kind = type(child)
            if kind is dict or kind is list or kind is tuple:
                push((child, depth + 1))
            elif kind not in _LEAVES:
                return False
    return True


class _Read:
    """What was read of one container: its values (a dict's in order), its keys (dicts only), whether a value is a
    container, and whether the container is a subclass (then it is copied: its methods are not called again)."""

    __slots__ = ("keys", "nested", "subclass", "values")

    def __init__(self, values: Any, keys: list[Any] | None, subclass: bool) -> None:
        self.values, self.keys, self.subclass = values, keys, subclass
        self.nested = _nested(values)


def _read(item: Any, most: int) -> _Read:
    """`item`'s parts, at most `most` + 1 of them (a subclass's `__iter__` or `items()` may never end; one more than
    `most` tells the caller there are too many). A plain list, tuple or dict is read in place; a subclass's pairs
    that are not pairs raise as json.dumps would."""
    kind = type(item)
    if kind is list or kind is tuple or kind is dict:
        if kind is dict:
            _check_keys(item, item)
            return _Read(list(item.values()), None, False)
        return _Read(item, None, False)
    if not isinstance(item, dict):
        return _Read(list(itertools.islice(item, most + 1)), None, True)
    pairs = list(itertools.islice(item.items(), most + 1))
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2:
            raise ValueError(f"{kind.__name__}.items() gave {type(pair).__name__}, not a (key, value) pair")
    keys = [pair[0] for pair in pairs]
    if len(dict.fromkeys(keys)) < len(keys):  # json.dumps would write both
        raise ValueError(f"{kind.__name__}.items() gives one key more than once; return a plain dict")
    _check_keys(item, keys)
    return _Read([pair[1] for pair in pairs], keys, True)


def _check_keys(item: Any, keys: Any) -> None:
    """ValueError when two of a dict's keys are written alike by JSON (`1` and `"1"`); str keys alone, the usual
    case, are told apart by one C loop over their types."""
    if set(map(type, keys)) <= {str}:
        return
    found = json_problem(dict.fromkeys(keys))  # shallow: two keys JSON writes alike
    if found is not None:
        raise ValueError(found)


def _nested(values: Any) -> bool:
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


def _finished(
    item: Any, reading: _Read, done: dict[int, tuple[Any, int, int]], max_items: int, max_depth: int
) -> tuple[Any, int, int]:
    """(what to write for `item`, its height, its items written out), its children already in `done`: `item`
    itself unless it is a subclass or holds a child that was copied."""
    values = reading.values
    height, written = 1, len(values)
    copied = reading.subclass
    if reading.nested:
        replaced = list(values)
        for index, child in enumerate(values):
            if isinstance(child, _CONTAINERS):
                part, child_height, child_written = done[id(child)]
                copied = copied or part is not child
                replaced[index] = part
                height, written = max(height, child_height + 1), written + child_written
        values = replaced
    if height > max_depth:
        raise ShapeProblem(f"is nested more than {max_depth} levels deep")
    if written > max_items:
        raise _too_many(max_items)
    if not copied:
        return item, height, written
    if not isinstance(item, dict):
        return list(values), height, written
    keys = reading.keys if reading.keys is not None else list(item)
    return dict(zip(keys, values, strict=True)), height, written


def _too_many(max_items: int) -> ShapeProblem:
    return ShapeProblem(
        f"has more than {max_items:,} items written out as JSON (a list or dict it holds in several places is "
        "written out at each)"
    )
