"""`answer['ready'] = True` with no content finishes nothing: the model is told, and its next cell can finish.
An empty answer marked finished read as "nothing found" (a wrong key, `answer = {'answer': ...}`, lost the answer)."""

from __future__ import annotations

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from scripting import last_user, repl


@pytest.mark.parametrize(
    "slip",
    [
        "answer['ready'] = True",
        "answer.clear(); answer['ready'] = True",
        "answer = {'answer': 'Kestrel', 'ready': True}",
        "answer['content'] = '  '; answer['ready'] = True",
    ],
)
def test_ready_without_content_is_told_and_the_next_cell_finishes(slip: str) -> None:
    root = ScriptedLM([repl(slip), repl("answer['content'] = 'Kestrel'; answer['ready'] = True")])
    result = RLM(root).completion("Who?", context="x")
    assert (result.answer, result.status, result.iterations) == ("Kestrel", "finished", 2)
    told = last_user(root.calls[1])
    assert "answer['content'] is empty" in told and "FINAL(" in told


@pytest.mark.parametrize(("content", "answer"), [("0", "0"), ("False", "False"), ("[]", "[]")])
def test_a_falsy_value_is_still_an_answer(content: str, answer: str) -> None:
    root = ScriptedLM([repl(f"answer['content'] = {content}; answer['ready'] = True")])
    result = RLM(root).completion("How many?", context="x")
    assert (result.answer, result.status, result.iterations) == (answer, "finished", 1)


def test_an_explicit_empty_final_still_finishes() -> None:
    result = RLM(ScriptedLM([repl("FINAL('')")])).completion("Anything?", context="x")
    assert (result.status, result.iterations) == ("finished", 1)
