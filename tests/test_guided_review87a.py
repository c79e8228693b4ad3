"""Counts of the offline default's guided root (audit 87, kinds v05-v10): lists of numbers, kinds of people,
marks of absence, roles held by no one, org-chart names and the filled cells of a column."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line


def _no_number(answer: str) -> bool:
    return not first_line(answer)[:1].isdigit()


# v05: a number alone in a list is an amount or a label, never a group of people added by number


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Raffle\nAwards: 2,500, 300, 75\n", "How many awards are there?"),
        ("Box office\nSeats sold: 40, 38, 1,150\n", "How many seats were sold?"),
        ("Bake sale\nCakes baked: 6, 9\n", "How many cakes were baked?"),
    ],
)
def test_a_list_of_bare_numbers_adds_no_people(text: str, question: str) -> None:
    got = ask(text, question, "3")
    assert _no_number(got), got


def test_a_number_added_by_a_plus_still_adds_people() -> None:
    assert first_line(ask("Dinner\nGuests: Ines, Karl +2\n", "How many guests are there?")) == "4"


# v06: counts of one kind of people in a list of names and groups


@pytest.mark.parametrize("kind", ["students", "volunteers", "trainees"])
def test_a_kind_the_list_does_not_name_gets_no_count(kind: str) -> None:
    text = "Clean-up day\n\nPresent: Olu, Pia, Quinn plus 3 apprentices\n"
    assert _no_number(ask(text, f"How many {kind} were present?"))


def test_a_note_on_a_name_is_no_other_kind_of_a_people_noun() -> None:
    text = "Class 4B register\nPresent: Ola (late), Pim, Rex (left at 2pm)\n"
    assert first_line(ask(text, "How many students were present?")) == "3"


def test_people_marked_of_a_kind_count_one_each() -> None:
    text = "Shift\nAttendees: Rhea (trainee), Sam, Tova (trainee), Uri (trainee), Vik\n"
    got = ask(text, "How many trainees attended?")
    assert first_line(got) == "3" or _no_number(got)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("Wen, Xia + 3 apprentices + 2 visitors", "7"),
        ("Wen, Xia, Yara and three apprentices", "6"),
        ("Wen, Xia, Yara, 4 apprentices", "7"),
    ],
)
def test_every_group_after_the_names_adds_its_number(value: str, want: str) -> None:
    assert first_line(ask(f"Site visit\nAttendees: {value}\n", "How many people attended?")) == want


def test_groups_alone_are_still_summed() -> None:
    assert first_line(ask("Kick-off\nParticipants: 2 testers and 3 analysts\n", "How many people attended?")) == "5"


# v07: marks of absence


@pytest.mark.parametrize(
    "item", ["Bea (no)", "Bea ✗", "Bea (unwell)", "Bea (on leave)", "Bea (in hospital)", "Bea (not well)"]
)
def test_a_mark_of_absence_leaves_the_item_out(item: str) -> None:
    text = f"Book club\nMembers coming: Ada ✓, {item}, Cy ✓, Di ✓\n"
    assert first_line(ask(text, "How many members are coming?")) == "3"


@pytest.mark.parametrize("note", ["ill on Monday, fine now", "was poorly, recovered", "sick but coming"])
def test_a_note_that_says_the_absence_is_over_keeps_the_item(note: str) -> None:
    text = f"Book club\nGuests: Ada, Bea ({note}), Cy, Di\n"
    assert first_line(ask(text, "How many guests are coming?")) == "4"


@pytest.mark.parametrize("note", ["maybe", "tbc", "?", "might come"])
def test_a_note_that_leaves_coming_open_gives_no_count(note: str) -> None:
    text = f"Book club\nGuests: Ada, Bea ({note}), Cy, Di\n"
    assert first_line(ask(text, "How many guests are coming?")) not in ("3", "4")


@pytest.mark.parametrize("note", ["absent for item 4", "away during the vote", "out after lunch"])
def test_an_absence_for_a_part_of_the_meeting_is_no_absence(note: str) -> None:
    text = f"Committee\nPresent: Gil, Hal ({note}), Ivo\n"
    assert first_line(ask(text, "How many people attended?")) == "3"


def test_the_absent_of_two_absence_lines_are_counted_together() -> None:
    text = "Committee\nPresent: Gil, Hal\nAbsent: Ivo (flu)\nApologies: Jo, Kay\n"
    got = ask(text, "How many people were absent?", "3")
    assert first_line(got) == "3"
    assert "Jo" in got and "Ivo" in got


def test_a_reason_in_a_list_of_the_absent_keeps_the_item() -> None:
    text = "Committee\nPresent: Gil, Hal\nAbsent: Ivo (sick), Jo\n"
    assert first_line(ask(text, "How many people were absent?")) == "2"


# v08: a label repeated over blocks with a role held by no one, or a note


def test_a_vacant_role_line_counts_no_one() -> None:
    text = "Lab A\nTechnician: Lu Fen\nTechnician: Mo Park\n\nLab B\nTechnician: Ned Ore\nTechnician: (vacant)\n"
    assert first_line(ask(text, "How many technicians are there?")) == "3"


def test_a_prose_line_of_the_label_gives_no_count_of_one() -> None:
    text = (
        "Lab A\nTechnician: Lu Fen\nTechnician: Mo Park\n\nLab B\nTechnician: Ned Ore\n\n"
        "Notes\nTechnician: ask the office about weekend cover\n"
    )
    assert first_line(ask(text, "How many technicians are there?")) not in ("1", "2")


# v09: org charts


@pytest.mark.parametrize(
    "value",
    [
        "Open position",
        "Open role",
        "(vacant)",
        "Vacant from June",
        "Not yet appointed",
        "Being recruited",
        "Awaiting appointment",
        "Post unfilled",
    ],
)
def test_a_role_held_by_no_one_is_no_person(value: str) -> None:
    text = f"Org chart\nDirector: Pat Lund\nEditor: Rui Sato\nDesigner: Sol Vega\nWriter: {value}\n"
    assert first_line(ask(text, "How many people are on the org chart?", "3")) == "3"


@pytest.mark.parametrize("name", ["Lena van der Meer", "Tiago dos Santos", "Marie de la Cruz"])
def test_a_name_with_a_particle_is_a_person(name: str) -> None:
    text = f"Org chart\nDirector: Pat Lund\nEditor: {name}\nDesigner: Sol Vega\n"
    assert first_line(ask(text, "How many people are on the org chart?", "3")) == "3"


# v10: the filled cells of a column


@pytest.mark.parametrize(
    ("text", "question", "want"),
    [
        ("pupil,grade\nAli,7\nBea,0\nCai,-\nDov,5\n", "How many pupils have a grade?", "3"),
        ("part,qty\nbolt,12\nnut,0\nwasher,n/a\n", "How many parts have a quantity?", "2"),
        ("part,amt\nbolt,12\nnut,\nwasher,4\n", "How many parts have an amount?", "2"),
    ],
)
def test_a_number_column_counts_its_zeros_as_filled(text: str, question: str, want: str) -> None:
    assert first_line(ask(text, question, want)) == want


def test_a_count_over_a_short_header_with_every_cell_filled() -> None:
    text = "part,qty\nbolt,12\nnut,3\nwasher,5\n"
    assert first_line(ask(text, "How many parts have a quantity?")) == "3"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("name,address\nAli,1 High St\nBea,n/a\nCai,2 Low Rd\n", "How many addresses are there?"),
        ("name,email\nAli,a@x.org\nBea,-\nCai,c@x.org\n", "How many email addresses are there?"),
        ("name,fax\nAli,0101\nBea,none\nCai,0102\n", "How many fax numbers are there?"),
    ],
)
def test_a_count_named_by_a_column_counts_its_filled_cells(text: str, question: str) -> None:
    assert first_line(ask(text, question)) == "2"


def test_a_column_whose_values_repeat_is_no_count_of_rows() -> None:
    text = "name,class\nAli,red\nBea,red\nCai,blue\nDov,n/a\n"
    assert first_line(ask(text, "How many classes are there?")) != "4"
