"""A time after "by" is a deadline, not a passive's doer (a regression of round 83's doer rule, caught by round 82's
review script): "When is the March invoice due?" is answered "30 April" from "due by 30 April", while "What is
fastgrep written in?" still never takes the "written by Lena Ortiz" and "fixed by Tuesday" names nobody."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer


def _answer(text: str, question: str, reply: str) -> str:
    result = guided_answer(build_index([("context", text)]), question, lambda prompts: [reply] * len(prompts))
    return str(result["answer"]).split("\n", 1)[0]


EMAIL = "Hi Sam,\nThe invoice for March is attached.\nThe total is 1,240 EUR, due by 30 April.\nThanks, Dana\n"


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        (EMAIL, "When is the March invoice due?", "30 April"),
        ("The report is due by Friday.\nLate reports lose marks.\n", "When is the report due?", "Friday"),
        ("Rent is payable by 5 pm on the first day of the month.\n", "When is rent payable?", "5 pm"),
    ],
)
def test_a_time_after_by_answers_when(text: str, question: str, reply: str) -> None:
    assert _answer(text, question, reply) == reply


def test_a_passive_doer_still_answers_no_what_question() -> None:
    text = "fastgrep is a small search tool written by Lena Ortiz.\nIt is written in Rust.\n"
    assert _answer(text, "What is fastgrep written in?", "Lena Ortiz") != "Lena Ortiz"
