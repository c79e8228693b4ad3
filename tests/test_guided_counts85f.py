"""Counts and superlatives of the guided root over a text's own entries (audits 85 v04/v07, 85b v07/v08)."""

from __future__ import annotations

from guided_stub import ask, first_line

ORG = """Acme Ltd - team chart

Director: Ruth Hale
  Lead: Ivo Brandt
    Tester: Noor Aziz
    Tester: Kai Moss
    Tester: Lena Park
  Designer: Tom Eriksen
"""


def test_a_label_on_several_lines_is_one_list() -> None:
    got = ask(ORG, "How many testers are there?")
    assert first_line(got) == "3"
    assert "Kai Moss" in got


def test_a_label_repeated_on_lines_of_prose_gives_no_count() -> None:
    text = "Notes\nTester: Noor Aziz\nTester: the one who joined the team in the spring last year\n"
    assert not first_line(ask(text, "How many testers are there?")).isdigit()
