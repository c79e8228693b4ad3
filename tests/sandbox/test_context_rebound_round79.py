"""A cell that rebinds `context` keeps its value (the model may transform its data), but the model is told once that
the question's data is no longer under that name and how to get it back: a loop variable named `context` used to
replace the data silently for every later cell."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox


async def _none(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls here") for _ in call.items]


@pytest.fixture
async def box() -> AsyncIterator[SubprocessSandbox]:
    sandbox = SubprocessSandbox(hard_timeout_grace=1.0)
    await sandbox.start([prepare("context", "seven c")])
    yield sandbox
    await sandbox.close()


async def _cell(box: SubprocessSandbox, code: str) -> tuple[str, str]:
    result = await box.run_cell(code, calls=_none, timeout=10)
    assert result.status == "ok", result.error
    return result.stdout, result.stderr


async def test_a_loop_variable_named_context_is_told_once_and_del_brings_the_data_back(box: SubprocessSandbox) -> None:
    _, told = await _cell(box, "for context in ['a', 'b']:\n    pass")
    assert "`context` now holds a str of 1 characters" in told and "a str of 7 characters" in told, told
    assert "end a cell with `del context`: the next cell has the loaded data again" in told
    out, again = await _cell(box, "print(len(context))")
    assert out == "1\n" and "context" not in again  # kept as the model left it, and not told twice
    await _cell(box, "del context")
    out, _ = await _cell(box, "print(len(context))")
    assert out == "7\n"


async def test_a_transformation_the_model_meant_is_kept_with_one_note(box: SubprocessSandbox) -> None:
    _, told = await _cell(box, "context = context.split()")
    assert "`context` now holds a list of 2 items" in told
    out, again = await _cell(box, "context = context + ['x']\nprint(context)")
    assert out == "['seven', 'c', 'x']\n"
    assert "a list of 3 items" in again  # a new rebinding is a new note
    out, quiet = await _cell(box, "print(len(context))")
    assert out == "3\n" and "Note" not in quiet
