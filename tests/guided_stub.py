"""Test helpers: ask the guided root a question over one made-up text, with a stub reader."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import build_index, guided_answer


def replying(text: str) -> Callable[[list[str]], list[str]]:
    """A stub reader that answers every prompt with `text`."""
    return lambda prompts: [text] * len(prompts)


def ask(text: str, question: str, reply: str = "NOT FOUND", name: str = "context") -> str:
    """The guided root's answer to `question` over `text` (a context named `name`), the reader saying `reply`."""
    return str(guided_answer(build_index([(name, text)]), question, replying(reply))["answer"])


def first_line(answer: str) -> str:
    return answer.split("\n")[0]
