"""Round 79c: a name from code or a manual that the question writes in lower case (`-frobnicate`, `reset_widget`,
`conf.d`, `flush()`) names what the question is about as surely as a capitalised one, so the unit that holds it is
found instead of NOT FOUND; a definition's body answers about the name its first line gives; and "which X has the
most Y" with no field or column to group by quotes the units that hold X and Y. Ordinary English words stay
ordinary, and what the text lacks is still NOT FOUND. Every text is made up; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer, salient_terms, search_terms


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def ask(text: str, question: str, name: str = "context") -> dict[str, object]:
    return guided_answer(build_index([(name, text)]), question, replying("NOT FOUND"))


def named(question: str) -> list[str]:
    return salient_terms(question, search_terms(question))


# --- which words are names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When was -frobnicate added?", ["frobnicate"]),
        ("What does --dry-run print?", ["dry-run"]),
        ("When must reset_widget be called?", ["reset_widget"]),
        ("What is __init__ for?", ["__init__"]),
        ("What is kept in conf.d?", ["conf"]),
        ("What does flush() return?", ["flush"]),
        ("What does getValue return?", ["getvalue"]),
    ],
)
def test_a_name_from_code_is_named_however_it_is_cased(question: str, expected: list[str]) -> None:
    assert named(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Is e-mail accepted, e.g. for invoices?",
        "Which well-known ports are listed - and why?",
        "Who wrote it, i.e. the author?",
        "What is the price in the U.S. shop?",
    ],
)
def test_ordinary_english_names_nothing(question: str) -> None:
    assert named(question) == []


# --- a manual's feature table -----------------------------------------------------------------------------------

TABLE = """HISTORY
       As of gizmo-2.1, the output is sorted.

       Feature\t\t      Added in\t Also occurs in
       -frobnicate\t      3.4.1
       -wobble\t\t      3.2.0\t BSD
       -zing\t\t      3.2.0
       -quiver\t      3.2.0\t POSIX
       -plonk\t\t      2.9.7

       The syntax -old was removed in gizmo-3.0.
"""


def test_an_option_row_of_a_table_is_found() -> None:
    result = ask(TABLE, "In which gizmo version was -frobnicate added?")
    assert result["answer"] != "NOT FOUND"
    assert "-frobnicate 3.4.1" in " ".join(str(result["answer"]).split())


def test_an_option_the_table_lacks_is_not_found() -> None:
    assert ask(TABLE, "In which gizmo version was -splat added?")["answer"] == "NOT FOUND"


def test_a_superlative_no_column_answers_quotes_the_table() -> None:
    result = ask(TABLE, "Which gizmo version added the most features?")
    assert result["kind"] == "evidence"
    assert "-quiver" in str(result["answer"])


def test_a_superlative_about_what_the_text_lacks_is_not_found() -> None:
    assert ask(TABLE, "Which planet has the most moons?")["answer"] == "NOT FOUND"


# --- a definition's body ----------------------------------------------------------------------------------------

SOURCE = '''class Widget:
    """A thing drawn on the screen."""

    def __init__(self, size):
        self.size = size

    def reset_widget(self, colour=None):
        """Put the widget back to its first state.

        Any pending redraws are dropped and the colour is set again.

        This method must be called before the widget is first drawn.
        """
        self.colour = colour

    def draw(self):
        """Draw it."""
        self.reset_widget()
'''


def test_a_definition_body_answers_about_its_name() -> None:
    result = ask(SOURCE, "When must reset_widget be called?", "widget.py")
    assert result["answer"] != "NOT FOUND"
    assert "before the widget is first drawn" in str(result["answer"])


def test_a_name_the_code_never_defines_is_not_found() -> None:
    assert ask(SOURCE, "When must explode_widget be called?", "widget.py")["answer"] == "NOT FOUND"


def test_where_a_name_is_used_is_not_looked_for_in_its_body() -> None:
    result = ask(SOURCE, "Which method calls reset_widget?", "widget.py")
    assert "names a definition" not in str(result["report"])


# --- a sentence that introduces a list --------------------------------------------------------------------------

POD = """=head1 NAME

Gizmo::FAQ -- questions about Gizmo

=head1 FORMATS

=head2 Which archive kinds does Gizmo::Pack write?

The following archive kinds are written by C<Gizmo::Pack>

=over 5

=item * Plain (kind 1)

Written as is.

=item * Squashed (kind 7)

The default kind.

=item * Sealed (kind 9)

Only when a key is given.

=back
"""


def test_the_following_is_quoted_with_its_items() -> None:
    result = ask(POD, "Which archive kinds does Gizmo::Pack write?", "faq.pod")
    assert result["kind"] == "evidence"
    for item in ("Plain (kind 1)", "Squashed (kind 7)", "Sealed (kind 9)"):
        assert item in str(result["answer"])


MARKDOWN = """# Setup

The tool reads its settings from three places, in this order:

- the command line

- the environment

- the file settings.toml

Nothing else is read. The defaults are compiled in.
"""


def test_a_colon_before_bullets_is_quoted_with_them() -> None:
    result = ask(MARKDOWN, "From which places does the tool read its settings?", "README.md")
    assert "the file settings.toml" in str(result["answer"])
