"""Counts of the guided root over labelled lists, tables and org charts (audit 86 v06-v09): a count of one kind of
people, marks of absence, a label repeated over several blocks, placeholder cells and vacant roles."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

# v06: a count naming a kind counts that kind's members; a mark of absence leaves an item out of who is coming


def test_a_count_of_one_kind_counts_that_kinds_group_alone() -> None:
    text = "Workshop notes\n\nParticipants: Mia, Olek, Pru plus 3 apprentices\n\nWe reviewed the lathe rota."
    got = ask(text, "How many apprentices participated?")
    assert first_line(got) == "3"
    assert first_line(ask(text, "How many people participated?")) == "6"


def test_a_kind_no_group_names_is_no_count() -> None:
    text = "Workshop notes\n\nParticipants: Mia, Olek, Pru plus 3 apprentices\n\nWe reviewed the lathe rota."
    assert first_line(ask(text, "How many supervisors participated?")) not in ("3", "6")


@pytest.mark.parametrize("mark", ["not coming", "declined", "can't make it", "off sick", "-"])
def test_an_item_marked_absent_is_not_counted_as_coming(mark: str) -> None:
    text = f"Picnic plan\n\nInvitees: Rosa, Sven, Tariq ({mark}), Uma, Vic\n\nBring blankets."
    got = ask(text, "How many invitees are coming?")
    assert first_line(got) == "4"
    assert "Tariq" in got


def test_a_denied_absence_is_no_mark() -> None:
    text = "Standup, 2 June\n\nPresent: Kofi, Lale (not absent, joined late), Mo (away)\n\nNo blockers."
    assert first_line(ask(text, "How many people were absent?")) == "1"
    assert first_line(ask(text, "How many people were present?")) == "2"


def test_marked_absent_and_an_apologies_line_count_together() -> None:
    text = "Board meeting\n\nAttendees: Gil, Hana (absent), Ines, Jo (absent)\nApologies: Kit\n\nMinutes approved."
    got = ask(text, "How many people were absent?")
    assert first_line(got) == "3"
    assert "Kit" in got


def test_an_apologies_line_alone_answers_who_was_absent() -> None:
    text = "Board meeting\n\nAttendees: Gil, Ines, Lou\nApologies: Kit, Hana\n\nMinutes approved."
    assert first_line(ask(text, "How many people were absent?")) == "2"


# v07: a label repeated over blocks counts every line, unless the question names one block

SQUADS = (
    "Squad North\nStriker: Ali Vance\nStriker: Ben Cole\nKeeper: Dev Roy\n\n"
    "Squad South\nStriker: Eli Moor\nKeeper: Fay Lund\n"
)


def test_a_label_repeated_over_blocks_counts_every_line() -> None:
    got = ask(SQUADS, "How many strikers are there?")
    assert first_line(got) == "3"
    assert "Eli Moor" in got
    assert first_line(ask(SQUADS, "How many keepers are there?")) == "2"


def test_a_block_the_question_names_is_counted_alone() -> None:
    assert first_line(ask(SQUADS, "How many strikers are in Squad South?")) == "1"
    assert first_line(ask(SQUADS, "How many strikers are in Squad North?")) == "2"


def test_a_name_on_two_lines_of_one_label_is_one_person() -> None:
    text = "Rota\nMedic: Ola Berg\nMedic: Pim Dros\nMedic: Ola Berg\n"
    assert first_line(ask(text, "How many medics are there?")) == "2"


def test_lists_of_two_meetings_stay_lists_of_their_own() -> None:
    text = "Minutes of 4 April\nAttendees: Ruth, Omar\n\nMinutes of 11 April\nAttendees: Ruth, Omar, Lena\n"
    assert "Counted: the items listed" not in ask(text, "How many attendees were there?")
    assert first_line(ask(text, "How many people attended on 11 April?")) == "3"


# v08: placeholder cells are no values; a count of a column's values counts its filled cells

CONTACTS = "name,phone,city\nAsa,0711 222,Lund\nBea,TBC,Malmo\nCai,unknown,Umea\nDag,0733 444,-\nEde,,Kiruna\n"


def test_placeholder_cells_are_empty_in_a_filled_count() -> None:
    assert first_line(ask(CONTACTS, "How many people have a phone?")) == "2"


def test_a_count_of_a_columns_values_counts_its_filled_cells() -> None:
    assert first_line(ask(CONTACTS, "How many phones are there?")) == "2"
    assert first_line(ask(CONTACTS, "How many cities are there?")) == "4"


@pytest.mark.parametrize("verb", ["don't have", "do not have", "lack"])
def test_a_negated_have_counts_the_empty_cells(verb: str) -> None:
    assert first_line(ask(CONTACTS, f"How many people {verb} a phone?")) == "3"


# v09: a role held by no one is no person; notes and an 'Updated:' line do not stop the count


@pytest.mark.parametrize("holder", ["TBD", "vacant", "to be hired", "Open"])
def test_a_role_held_by_no_one_is_no_person(holder: str) -> None:
    text = f"Org chart\nDirector: Ines Faro\nTreasurer: Joao Mel\nSecretary: Kara Lis\nAuditor: {holder}\n"
    got = ask(text, "How many people are in the org chart?")
    assert first_line(got) == "3"


def test_notes_and_an_updated_line_do_not_stop_the_chart_count() -> None:
    text = (
        "Org chart\nDirector: Ines Faro\nTreasurer: Joao Mel (reports to Director)\n"
        "Secretary: Kara Lis (part-time)\nLast updated: 3 June 2025\n"
    )
    got = ask(text, "How many people are in the org chart?")
    assert first_line(got) == "3"
    assert "Kara Lis" in got


# also seen in audit 86: a league table's 'L' column counts losses; a key's stop word ('name') is named too

LEAGUE = "Club,P,W,D,L,Pts\nHarriers,8,5,1,2,16\nCity,8,3,1,4,10\nWanderers,8,1,2,5,5\n"


def test_a_league_tables_l_column_answers_losses() -> None:
    assert first_line(ask(LEAGUE, "Which club has the most losses?")) == "Wanderers"
    assert first_line(ask(LEAGUE, "Which club has the fewest losses?")) == "Harriers"


def test_a_key_whose_word_is_a_stop_word_is_named_by_the_question() -> None:
    env = "API_PORT=9000\nDB_USER=app\nHOST_NAME=edge-01\n"
    got = ask(env, "What is the host name?", name=".env")
    assert first_line(got) == "edge-01"
    assert first_line(ask(env, "What is the name?", name=".env")) != "edge-01"
