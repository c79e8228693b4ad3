"""Reasoning opened again inside reasoning and closed on its own line ("<think>inner</think>") is closed with it:
the inner open was counted, and its close, sharing its line with text while a close alone on its line came later,
was taken for a mention, so the outer close never ended the reasoning: the real code block after it never ran and
the model was told it had not closed its reasoning (audit 80, kinds v02)."""

from __future__ import annotations

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM

NEVER = "```repl\nFINAL('the first reply was read as all reasoning')\n```"


@pytest.mark.parametrize(
    "reasoning",
    [
        "<think>\n<think>Is the text longer than it looks?</think>\nI could answer FINAL(alpha) now.\n</think>\n",
        "<think>\nFirst pass.\n<think>a second look</think> still FINAL(alpha)?\n</think>\n",
        "<think>\n<think>one</think>\n<think>two</think>\nFINAL(alpha)\n</think>\n",
    ],
)
def test_the_block_after_closed_nested_reasoning_runs(reasoning: str) -> None:
    root = ScriptedLM([reasoning + "```repl\nFINAL(context.split()[-1])\n```", NEVER])
    result = RLM(root, budget=Budget(max_iterations=3)).completion("What is the last word?", context="alpha beta gamma")
    assert (result.answer, result.iterations) == ("gamma", 1)


def test_an_unclosed_inner_block_still_keeps_the_reply_in_reasoning() -> None:
    reply = "<think>\n<think>inner, never closed\nFINAL(alpha)\n</think>\n```repl\nFINAL('ran')\n```"
    root = ScriptedLM([reply, "```repl\nFINAL(context.split()[-1])\n```"])
    result = RLM(root, budget=Budget(max_iterations=3)).completion("What is the last word?", context="alpha beta gamma")
    assert result.answer == "gamma" and result.iterations == 2
