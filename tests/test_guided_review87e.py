"""Wrong-confident answers of the guided root (audits 87 v01-v05, 87b v01): a file's own author given for a work its
row credits to another, a column name given as a row's value, a count blind to the noun that names what is
counted, a name given for a role the text never ties it to, a header-less row's fields glued together, and a word
given as a code."""

from __future__ import annotations

import json

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

# v01: the file's Author: line answers for the file, not for a work whose own row names its person

CATALOGUE = (
    "-- Seed data for the reading club\n-- Author: Wren Ashby, 2023-05-02\n\n"
    "INSERT INTO novels (title, writer, year) VALUES\n"
    "    ('Solaris', 'Stanislaw Lem', 1961),\n    ('Dune', 'Frank Herbert', 1965);\n"
)


def test_a_work_credited_on_its_own_row_is_not_the_files_authors() -> None:
    for question in ("Who wrote Solaris?", "Who is the author of Dune?"):
        assert "Wren Ashby" not in first_line(ask(CATALOGUE, question))


def test_the_file_itself_is_still_the_header_authors() -> None:
    assert first_line(ask(CATALOGUE, "Who wrote this file?")) == "Wren Ashby"


# v02: a column's name is never a row's value


def test_a_column_name_does_not_answer_which_row() -> None:
    text = "CREATE TABLE boats (\n    id INTEGER PRIMARY KEY,\n    hull TEXT NOT NULL,\n    berths INTEGER\n);\n"
    got = ask(text, "Which boat has the most berths?", reply="hull")
    assert first_line(got) != "hull"


def test_a_question_about_the_columns_may_name_one() -> None:
    from rlmx.lm.guided_cells import _a_schema_name

    text = "CREATE TABLE boats (\n    id INTEGER PRIMARY KEY,\n    hull TEXT NOT NULL,\n    berths INTEGER\n);\n"
    assert _a_schema_name("hull", text, "Which boat has the most berths?")
    assert not _a_schema_name("hull", text, "Which column of boats stores the hull?")
    assert not _a_schema_name("hull", text + "INSERT INTO boats VALUES (1, 'hull', 2);\n", "Which boat?")


# v03: "How many <key> are there?" over a JSON object counts that key's entries


def _ask_json(value: object, question: str) -> str:
    state = build_index(collect_sources({"context": value}))
    return str(guided_answer(state, question, lambda prompts: ["NOT FOUND"] * len(prompts))["answer"])


MANIFEST = {
    "name": "kiln",
    "version": "1.2.0",
    "plugins": {"glaze": "2.0", "clay": "1.1"},
    "scripts": {"fire": "kiln run", "cool": "kiln stop", "log": "kiln tail", "check": "kiln lint"},
    "owners": [{"name": "Ida"}, {"name": "Bo"}, {"name": "Cy"}, {"name": "Di"}, {"name": "Ed"}],
}


def test_the_noun_picks_the_object_whose_keys_are_counted() -> None:
    assert first_line(_ask_json(MANIFEST, "How many plugins are there?")) == "2"
    assert first_line(_ask_json(MANIFEST, "How many scripts are there?")) == "4"
    assert first_line(_ask_json(MANIFEST, "How many owners are listed?")) == "5"


def test_a_noun_no_key_names_counts_nothing_of_other_kinds() -> None:
    got = first_line(_ask_json(json.loads(json.dumps(MANIFEST)), "How many modules are there?"))
    assert not got.isdigit()


# v04: a name answers a role only where the text ties it to that role


def test_a_name_beside_another_verb_names_no_role() -> None:
    text = "Notes from the dig.\n\nOskar said the surveyor arrived in 1990.\n\nNobody came after."
    assert first_line(ask(text, "What is the name of the surveyor?", reply="Oskar")) != "Oskar"


def test_a_name_in_apposition_names_the_role() -> None:
    for text in (
        "Notes from the dig.\n\nThe surveyor, Oskar Lind, arrived in 1990.\n\nNobody came after.",
        "Notes from the dig.\n\nOskar Lind, the surveyor, arrived in 1990.\n\nNobody came after.",
    ):
        assert first_line(ask(text, "What is the name of the surveyor?", reply="Oskar Lind")) == "Oskar Lind"


# v05: a header-less `name number aliases...` table: the asked field alone

_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon".split()
)
SERVICES = "# names that stand in for service numbers\n" + "".join(
    f"{name}d\t{400100 + i}" + ("" if i % 3 == 1 else f"\t{name} {name[:2]}{i}") + "\n" for i, name in enumerate(_NAMES)
)
"""A header-less `name number aliases...` file of 20 rows: `alphad 400100 alpha al0`, `betad 400101` (no alias),
`gammad 400102 gamma ga2`, ..."""


def test_the_number_of_a_row_is_its_number_alone() -> None:
    assert first_line(ask(SERVICES, "What is the service number of gammad?")) == "400102"


def test_the_aliases_of_a_row_leave_its_number_out() -> None:
    got = first_line(ask(SERVICES, "What are the aliases of alphad?"))
    assert got == "alpha al0"


def test_a_row_with_no_alias_has_none() -> None:
    assert first_line(ask(SERVICES, "Does betad have an alias?")) == "No"
    assert first_line(ask(SERVICES, "Does gammad have an alias?")) == "Yes"


# 87b v01: a code, PIN or password has the shape of one, or is written right after its noun


def test_a_plain_word_is_no_code() -> None:
    text = "Allotment notes\n\nSpare keys hang in the hut; the gate code is with the warden.\n\nWater the beans."
    assert first_line(ask(text, "What is the gate code?", reply="Spare")) != "Spare"


def test_a_code_shaped_answer_stands() -> None:
    text = "Allotment notes\n\nSpare keys hang in the hut; the gate code is 4471.\n\nWater the beans."
    assert first_line(ask(text, "What is the gate code?", reply="4471")) == "4471"


def test_a_word_written_as_the_password_stands() -> None:
    text = "House notes\n\nThe wifi password is marmalade, all lower case.\n\nBins go out on Monday."
    assert first_line(ask(text, "What is the wifi password?", reply="marmalade")) == "marmalade"
