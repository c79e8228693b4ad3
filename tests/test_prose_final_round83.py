"""A FINAL_VAR written in prose names its variable the ways models write code in Markdown: `FINAL_VAR(`w`)` is
FINAL_VAR(w), after a code block and on a turn of its own, as FINAL(`gamma`) already was gamma."""

from __future__ import annotations

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM

FALLBACK = "```repl\nFINAL('fallback')\n```"
SET = "```repl\nw = context.split()[-1]\n```"


@pytest.mark.parametrize("written", ["FINAL_VAR(`w`)", "FINAL_VAR(``w``)", "FINAL_VAR(**w**)", "FINAL_VAR(w)"])
def test_a_variable_named_in_markdown_after_a_block_finishes_the_run(written: str) -> None:
    root = ScriptedLM([f"{SET}\n{written}", FALLBACK, FALLBACK])
    result = RLM(root, budget=Budget(max_iterations=3)).completion("Last word?", context="alpha beta gamma")
    assert (result.answer, result.iterations) == ("gamma", 1)


def test_a_variable_named_in_markdown_on_its_own_turn_finishes_the_run() -> None:
    root = ScriptedLM([SET, "FINAL_VAR(`w`)", FALLBACK, FALLBACK])
    result = RLM(root, budget=Budget(max_iterations=4)).completion("Last word?", context="alpha beta gamma")
    assert (result.answer, result.iterations) == ("gamma", 2)


def test_markup_around_what_is_no_name_is_still_no_finish() -> None:
    root = ScriptedLM([f"{SET}\nFINAL_VAR(`the last word`)", FALLBACK, FALLBACK])
    result = RLM(root, budget=Budget(max_iterations=3)).completion("Last word?", context="alpha beta gamma")
    assert result.answer == "fallback"
