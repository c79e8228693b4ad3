"""Replies as open models write them (audit 69): what the model is told when nothing ran, labels of other languages,
fences in full-width characters, a reply ending at an opening fence."""

from __future__ import annotations

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from scripting import last_user, repl


def told_after(reply: str) -> str:
    """What the model is told after `reply`, its first turn (the run then finishes)."""
    lm = ScriptedLM([reply, "FINAL(done)"])
    assert RLM(lm).completion("q", context="c").answer == "done"
    return last_user(lm.calls[1])


@pytest.mark.parametrize("opening", ["<think>", "◁think▷"])
def test_a_note_on_a_reply_that_ran_nothing_is_not_labelled_as_a_blocks_output(opening: str) -> None:
    # "Output of block 1: ```Your reply opened a reasoning block ...```": no block had run
    told = told_after(f"{opening}Let me look at the data first.\n{repl('print(1)')}")
    assert "opened a reasoning block" in told and "Output of block" not in told


def test_notes_after_the_blocks_that_ran_are_not_numbered_as_blocks() -> None:
    told = told_after(repl("print('seen')") + "\n<|im_end|>\n<|im_start|>user\nok<|im_end|>")
    assert "Output of block 1:\n```\nseen" in told and "Output of block 2" not in told
    assert "went on past the end of your turn" in told


@pytest.mark.parametrize("label", ["最终答案：", "答案：", "最終回答：", "최종 답변: "])
def test_a_final_after_a_chinese_japanese_or_korean_label_finishes(label: str) -> None:
    lm = ScriptedLM([f"我先看一下。\n{label}FINAL(gamma)"])
    assert RLM(lm).completion("q", context="c").answer == "gamma"


def test_on_the_last_turn_a_cjk_labelled_answer_is_taken_without_its_label() -> None:
    lm = ScriptedLM([repl("print(len(context))"), "思考过程……\n最终答案：gamma"])  # the second: the final request's
    assert RLM(lm, budget=Budget(max_iterations=1)).completion("q", context="c").answer == "gamma"


def test_a_block_closed_by_a_full_width_fence_is_told_why_its_code_failed() -> None:
    told = told_after("```repl\nx = 1\n｀｀｀\n")
    assert "fence written in full-width characters" in told and "closes nothing" in told


def test_a_reply_ending_right_after_an_opening_fence_is_told_so_not_that_it_had_no_block() -> None:
    told = told_after("Let me count the lines.\n```repl")
    assert "ended right after opening a ```repl block" in told and "had no ```repl block" not in told
