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


# a subtitle file's cues

_SRT = (
    "1\n00:00:00,500 --> 00:00:02,000\nWho left the gate open?\n\n"
    "2\n00:00:02,400 --> 00:00:04,100\nNot me.\nI came in by the side door.\n\n"
    "3\n00:00:05,000 --> 00:00:07,750\nThen the goats are out.\n\n"
    "4\n00:00:08,000 --> 00:00:09,000\nAgain.\n"
)
_VTT = (
    "WEBVTT - a short scene\n\nNOTE written by hand\n\n"
    "00:01.000 --> 00:02.500\nIs it raining?\n\n"
    "intro-2\n00:03.000 --> 00:04.000 align:start\nOnly a little.\n\n"
    "00:05.000 --> 00:06.200\nTake the blue umbrella.\n"
)


@pytest.mark.parametrize(
    ("text", "question", "want"),
    [
        (_SRT, "How many subtitles are there?", "4"),
        (_SRT, "How many cues does the file have?", "4"),
        (_VTT, "How many captions are there?", "3"),
        (_VTT, "How many subtitle cues are in the file?", "3"),
    ],
)
def test_the_cues_of_a_subtitle_file_are_counted(text: str, question: str, want: str) -> None:
    assert first_line(ask(text, question)) == want


def test_a_text_quoting_one_timing_line_has_no_cue_count() -> None:
    text = "Notes on the edit\n\nThe cut at 00:00:01,000 --> 00:00:02,000 is too short.\n\nFix the next one too.\n"
    assert _no_number(ask(text, "How many subtitles are there?"))


# a changelog's entries that one of their items marks

_CHANGELOG = (
    "frob (2.1-3) unstable; urgency=medium\n\n"
    "  * Team upload.\n  * Fix the man page.\n\n"
    " -- Ana Lima <ana@example.org>  Mon, 04 Mar 2024 10:00:00 +0100\n\n"
    "frob (2.1-2) unstable; urgency=low\n\n"
    "  * Non-maintainer upload by the LTS team.\n  * Fix CVE-2024-0001.\n\n"
    " -- Bo Chen <bo@example.org>  Fri, 02 Feb 2024 09:00:00 +0000\n\n"
    "frob (2.1-1.1) unstable; urgency=high\n\n"
    "  * Non-maintainer upload.\n  * Rebuild against libfoo3.\n\n"
    " -- Bo Chen <bo@example.org>  Mon, 08 Jan 2024 09:00:00 +0000\n\n"
    "frob (2.1-1) unstable; urgency=low\n\n"
    "  * New upstream release.\n\n"
    " -- Ana Lima <ana@example.org>  Mon, 01 Jan 2024 09:00:00 +0000\n"
)


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("How many entries are non-maintainer uploads?", "2"),
        ("How many non-maintainer uploads are there?", "2"),
        ("How many versions were team uploads?", "1"),
    ],
)
def test_entries_marked_by_an_item_are_counted(question: str, want: str) -> None:
    assert first_line(ask(_CHANGELOG, question)) == want


def test_a_mark_written_inside_another_item_gives_no_count() -> None:
    text = _CHANGELOG.replace("  * New upstream release.\n", "  * New upstream release.\n  * Thank the team upload.\n")
    assert _no_number(ask(text, "How many versions were team uploads?"))


def test_every_entry_being_an_upload_is_no_mark() -> None:
    assert first_line(ask(_CHANGELOG, "How many entries are uploads?")) != "2"


# a list of match results: the players or teams on its two sides (audit 87c v09)

_BRACKET = (
    "# Harbour Chess Cup\n\nHeld in the library, 9 March.\n\n## Round one\n\n"
    "- Ada Brook beat Noor Haddad 2-0\n- Ivo Marsh beat Pia Stone 2-1\n- Kemal Ersoy beat Ruth Vale 2-0\n\n"
    "## Final\n\n- Ada Brook beat Kemal Ersoy 2-1\n\nArbiter: Colm Reid. Prize: a book token.\n"
)


@pytest.mark.parametrize(
    "question", ["How many players took part?", "How many participants were there?", "How many people played?"]
)
def test_the_distinct_sides_of_the_results_are_counted(question: str) -> None:
    assert first_line(ask(_BRACKET, question)) == "6"


def test_team_sides_give_no_count_of_players() -> None:
    text = "Cup results\n\n- Leeds United beat Hull City 2-1\n- Oxford Town beat Bath Rovers 1-0\n"
    assert _no_number(ask(text, "How many players took part?"))
    assert first_line(ask(text, "How many teams took part?")) == "4"


def test_a_list_item_that_is_no_result_gives_no_count() -> None:
    text = _BRACKET.replace("- Kemal Ersoy beat Ruth Vale 2-0\n", "- Kemal Ersoy beat Ruth Vale 2-0\n- Lee Ash: bye\n")
    assert _no_number(ask(text, "How many players took part?"))


def test_a_name_on_two_rows_gives_no_row_count() -> None:
    text = _SERVICES + "lowd\t\t100001/udp\n"
    assert _no_number(ask(text, "How many daemons are listed?"))
