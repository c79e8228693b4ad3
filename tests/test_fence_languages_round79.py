"""Blocks named as a Python REPL in agent transcripts and notebooks run like ```repl: a model that wrote
```python-repl used to be told its block does not run."""

from __future__ import annotations

import pytest

from rlmx.protocol import parse_reply

CODE = "print(len(context))"


@pytest.mark.parametrize("info", ["python-repl", "python_repl", "Python-REPL", "jupyter", "{jupyter}"])
def test_a_repl_named_block_runs(info: str) -> None:
    assert parse_reply(f"Let me look.\n```{info}\n{CODE}\n```").cells == (CODE,)


def test_a_late_fence_with_such_a_name_opens_a_block_too() -> None:
    assert parse_reply(f"Running it now: ```python-repl\n{CODE}\n```").cells == (CODE,)


@pytest.mark.parametrize("info", ["python-output", "text", "json", "pythonic"])
def test_output_and_other_languages_still_do_not_run(info: str) -> None:
    assert parse_reply(f"The output was:\n```{info}\n{CODE}\n```").cells == ()
