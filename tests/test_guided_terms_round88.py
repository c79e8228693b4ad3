"""Audit 88c v13: quoted letters in a question were dropped and the words between two quoted items made a phrase.

"Which dc version added the 'r' and 'R' commands?" searched for the phrase "and" (the text between the closing
quote of 'r' and the opening one of 'R') and not for the letter r, though a letter standing alone is a term (README).
"""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import search_terms


@pytest.mark.parametrize(
    ("question", "wanted", "unwanted"),
    [
        ("Which dc version added the 'r' and 'R' commands?", {"r", "dc", "commands"}, {"and"}),
        ('What does the "d" or "D" key do?', {"d", "key"}, {"or"}),
        ("What does the ‘x’ flag do?", {"x", "flag"}, set()),
    ],
)
def test_a_quoted_letter_is_a_term_and_the_words_between_two_quotes_no_phrase(
    question: str, wanted: set[str], unwanted: set[str]
) -> None:
    terms = set(search_terms(question))
    assert wanted <= terms
    assert not unwanted & terms


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("What is 'Project Aurora'?", "project aurora"),
        ('What does "show all" do?', "show all"),
        ("Where is the 'quick start' guide and the 'faq'?", "quick start"),
    ],
)
def test_a_quoted_phrase_is_still_one_term(question: str, phrase: str) -> None:
    assert phrase in search_terms(question)


def test_an_apostrophe_in_a_word_quotes_nothing() -> None:
    assert search_terms("What's Ken's role?") == ["ken", "role"]


def test_the_entry_of_the_quoted_letters_is_found() -> None:
    news = (
        "dc 1.4\n\n* Add 'r' and 'R' commands.\n* Fix a crash on empty input.\n\n"
        "dc 1.3\n\n* Add the 'q' command.\n* Speed up division and the and-or logic.\n"
    )
    answer = ask(news, "Which dc version added the 'r' and 'R' commands?", reply="1.4")
    assert "Add 'r' and 'R' commands" in answer or first_line(answer) == "1.4"
