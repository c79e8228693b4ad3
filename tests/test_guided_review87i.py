"""Counts and a row superlative of the offline default's guided root (audit 87, v08): a header-less record file's
rows and its greatest number, a subtitle file's cues, and a changelog's entries that an item marks. Each count is
exact or absent: a question these texts do not settle gets no number."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

_NAMES = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon"
_SERVICES = (
    "# Names for the daemon numbers below.\n# one daemon a line\n"
    + "".join(
        f"{name}d\t\t{200000 + (i * 37) % 101}" + (f"\t{name} {name[:2]}-svc\n" if i % 3 else "\n")
        for i, name in enumerate(_NAMES.split(), 1)
    )
    + "gammad2         900300  gmd\n"
    + "lowd\t\t100001\n"
)
"""22 rows: 20 greek daemons numbered 200000-200100, then the greatest (gammad2) and the least (lowd)."""


def _no_number(answer: str) -> bool:
    return not first_line(answer)[:1].isdigit()


# a header-less `name number aliases...` file: its rows, when its comments name them


@pytest.mark.parametrize(
    "question", ["How many daemons are listed?", "How many daemons are there?", "How many daemons are in the file?"]
)
def test_the_rows_of_a_numbered_record_file_are_counted(question: str) -> None:
    assert first_line(ask(_SERVICES, question)) == "22"


def test_a_noun_the_comments_do_not_name_gets_no_row_count() -> None:
    assert _no_number(ask(_SERVICES, "How many aliases are listed?"))


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("Which daemon has the highest number?", "gammad2"),
        ("Which daemon has the lowest number?", "lowd"),
        ("Which entry has the largest number?", "gammad2"),
    ],
)
def test_the_row_with_the_greatest_number_is_named(question: str, want: str) -> None:
    assert first_line(ask(_SERVICES, question)) == want


def test_two_names_sharing_the_greatest_number_name_no_row() -> None:
    text = _SERVICES + "zetad2\t\t900300\n"
    assert first_line(ask(text, "Which daemon has the highest number?")) not in ("gammad2", "zetad2")
