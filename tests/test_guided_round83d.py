"""Round 83d: misses of the guided root over short notes (a false NOT FOUND, or the answer's unit ranked below
another): a title line ranked above the sentence under it, a recipe's servings, a list's own title, a count of the
records of a file of one-record lines, the costliest row of a small expense table, and a name's suffix (Jr.)
counted as a person. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

# --- a title line is not the best unit for a question the sentence under it answers ---------------------------


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        ("Van\nThe van is 7 years old and needs new tyres.\n", "How old is the van?", "7 years"),
        ("Van log\nThe van is 7 years old and needs new tyres.\n", "How old is the van?", "7 years"),
        ("Piano\nThe piano was tuned in March.\n", "When was the piano tuned?", "March"),
    ],
)
def test_a_title_line_yields_to_the_sentence_below(text: str, question: str, reply: str) -> None:
    assert first_line(ask(text, question, reply)) == reply
