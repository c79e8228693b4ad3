"""Counts of the guided root over labelled lists, tables and org charts (audit 86 v06-v09): a count of one kind of
people, marks of absence, a label repeated over several blocks, placeholder cells and vacant roles."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

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
