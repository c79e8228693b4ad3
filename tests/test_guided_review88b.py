"""Review 88b of the offline default's guided root (audit 88g): counts that counted more than the question's noun.

- "How many women finished?" over a results table counted every placed row: a count's noun that names fewer than
  every row (a sex over a column of sexes, a value such as 'DNF' of one column) counts the rows it names, and a
  noun the table does not name gets no count.
- A changelog item that only opens with a mark's phrase ('* Team uploads are welcome now', '* Non-maintainer upload
  acknowledged') was counted as the mark; and a list item was read as the title of the items after it.
- A match list's unplayed items (next week's fixtures, a postponed match) had their sides counted as having taken
  part.
"""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


def _no_number(answer: str) -> bool:
    return not first_line(answer)[:1].isdigit()


# a results table's rows that the count's noun names

_SPLITS = (
    "Place,Runner,Gender,Chip time\n"
    "1,Mara Olsen,Female,1:31:02\n2,Piet Jansen,Male,1:33:40\n3,Lia Moretti,Female,1:35:11\n"
    "4,Hugo Blanc,Male,1:36:58\n5,Rosa Diaz,Female,1:40:20\nDNF,Omar Said,Male,\nDNS,Eva Lind,Female,\n"
)


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("How many women finished?", "3"),
        ("How many men finished?", "2"),
        ("How many female runners finished?", "3"),
        ("How many women took part?", "3"),
        ("How many men are listed?", "3"),
        ("How many DNFs were there?", "1"),
        ("How many runners finished?", "5"),
        ("How many finishers were there?", "5"),
        ("How many female finishers were there?", "3"),
        ("How many runners entered?", "7"),
        ("How many runners took part?", "6"),
        ("How many women started?", "3"),
    ],
)
def test_a_count_of_a_results_table_counts_the_rows_its_noun_names(question: str, want: str) -> None:
    assert first_line(ask(_SPLITS, question, name="splits.csv")) == want


@pytest.mark.parametrize("question", ["How many juniors finished?", "How many clubs took part?"])
def test_a_noun_the_results_table_does_not_name_gets_no_count(question: str) -> None:
    assert _no_number(ask(_SPLITS, question, name="splits.csv"))


def test_a_category_column_is_no_column_of_sexes() -> None:
    text = "Pos,Name,Cat\n1,Ann Lee,F40\n2,Tom Wu,M50\n3,Kit Yu,F35\n"
    assert _no_number(ask(text, "How many women finished?", name="results.csv"))


# a changelog item that is the mark, not one that says something of such uploads

_CHANGELOG = (
    "quux (3.2-1) unstable; urgency=medium\n\n"
    "  * Non-maintainer upload acknowledged; thanks, Jo.\n  * New upstream release.\n\n"
    " -- Rui Sato <rui@example.org>  Mon, 06 May 2024 10:00:00 +0000\n\n"
    "quux (3.1-2.1) unstable; urgency=medium\n\n"
    "  * Non-maintainer upload.\n  * Fix the build with Python 3.12.\n\n"
    " -- Jo Park <jo@example.org>  Thu, 02 May 2024 10:00:00 +0000\n\n"
    "quux (3.1-2) unstable; urgency=medium\n\n"
    "  * Team upload.\n  * Drop an old patch.\n\n"
    " -- Eli Roth <eli@example.org>  Mon, 01 Apr 2024 10:00:00 +0000\n\n"
    "quux (3.1-1) unstable; urgency=medium\n\n"
    "  * Team uploads are fine from now on: list the team in Uploaders.\n\n"
    " -- Rui Sato <rui@example.org>  Fri, 01 Mar 2024 10:00:00 +0000\n"
)


@pytest.mark.parametrize(
    "question", ["How many entries are non-maintainer uploads?", "How many team uploads were there?"]
)
def test_an_item_that_says_something_of_the_mark_is_not_the_mark(question: str) -> None:
    answer = ask(_CHANGELOG, question)
    assert first_line(answer) == "1" or _no_number(answer)  # one of each is written; never the opener's 2


def test_a_mark_with_a_qualifier_is_still_the_mark() -> None:
    text = _CHANGELOG.replace("Non-maintainer upload acknowledged; thanks, Jo.", "Non-maintainer upload by Jo.")
    assert first_line(ask(text, "How many entries are non-maintainer uploads?")) == "2"
    text = _CHANGELOG.replace(
        "  * Team uploads are fine from now on: list the team in Uploaders.\n", "  * Team upload.\n"
    )
    assert first_line(ask(text, "How many team uploads were there?")) == "2"


def test_a_list_item_is_no_title_of_its_siblings() -> None:
    text = "Packing\n\n- Tent poles\n- Stove fuel\n- Rope\n"
    assert _no_number(ask(text, "How many tent poles are there?"))


# the sides of a match list: only the matches played

_LEAGUE = (
    "Week 3 results\n- Harbour v Millbrook 3-1\n- Eastfield v Oakham 0-0\n- Kingsway v Redcliff (abandoned, fog)\n\n"
    "Upcoming\n- Harbour v Eastfield\n- Westgate v Oakham\n"
)


@pytest.mark.parametrize(
    ("text", "question", "want"),
    [
        (_LEAGUE, "How many teams took part?", "4"),
        (
            "Club night\n- Ada Brook beat Noor Haddad 2-0\n- Ivo Marsh beat Pia Stone 2-1\n"
            "- Kemal Ersoy v Ruth Vale (postponed)\n",
            "How many players took part?",
            "4",
        ),
        ("Results\n- Harbour v Millbrook (3-1)\n- Eastfield v Oakham (0-0)\n", "How many teams took part?", "4"),
    ],
)
def test_the_sides_of_unplayed_matches_are_not_counted(text: str, question: str, want: str) -> None:
    assert first_line(ask(text, question)) == want


def test_a_list_of_fixtures_only_gets_no_count() -> None:
    text = "Fixtures\n- Harbour v Millbrook 19:45\n- Eastfield v Oakham 20:00\n"
    assert _no_number(ask(text, "How many teams took part?"))


@pytest.mark.parametrize(
    "text",
    [
        "Saturday\n- Harbour v Millbrook 19:45\n- Eastfield v Oakham 20:00\n",
        "Saturday\n- Harbour v Millbrook 2-1 (abandoned)\n- Eastfield v Oakham 0-0\n- Kingsway v Redcliff 1-1\n",
    ],
)
def test_a_match_whose_playing_cannot_be_told_gets_no_count(text: str) -> None:
    assert _no_number(ask(text, "How many teams took part?"))
