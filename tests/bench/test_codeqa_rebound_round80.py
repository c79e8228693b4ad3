"""codeqa asks no class question (base_class, dispatch) about a name the module binds again after its `class`
statement: asyncio/tasks.py defines `class Task(futures._PyFuture)` and then runs `Task = _CTask = _asyncio.Task`, so
the Task the module exports is based on `_asyncio.Future`, and the gold `futures._PyFuture` was wrong (audit 80:
25 stdlib base_class facts named classes bound more than once)."""

from __future__ import annotations

import ast

from rlmx.bench import codeqa

SOURCE = """
class Base:
    def run(self):
        return 1

class Middle(Base):
    def run(self):
        return 2

class Leaf(Middle):
    pass

class Task(Base):
    pass

try:
    from _speedups import Task
except ImportError:
    pass

class Kept(Base):
    pass

class Rebound(Middle):
    pass

Rebound = Kept
"""


def _facts() -> dict[str, list[tuple[str, str]]]:
    return codeqa._facts_cached("example.py", "round80", SOURCE)


def test_a_class_the_module_rebinds_gets_no_base_class_question() -> None:
    asked = dict(_facts()["base_class"])
    assert "class `Task`" not in asked
    assert "class `Rebound`" not in asked
    assert asked["class `Kept`"] == "Base" and asked["class `Leaf`"] == "Middle"


def test_dispatch_follows_only_classes_bound_once() -> None:
    dispatch = dict(_facts()["dispatch"])
    assert dispatch == {"`Leaf().run()`": "Middle"}


def test_the_real_asyncio_task_is_not_asked_about() -> None:
    source = codeqa._read("asyncio/tasks.py")
    assert codeqa._bound(ast.parse(source).body)["Task"] > 1
    assert "class `Task`" not in dict(codeqa._facts("asyncio/tasks.py", source)["base_class"])
