"""Audit 86 (offline default): the guided root over a record file whose comment lays out its columns (F1), an
amount question whose reading loses its number (F2), and `KEY=value` settings in a short file (F4). Every text is
made up; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- F1: a record's field is the column asked for by name, never the rest of its row ------------------------------

_ROWS = [
    ("Crimson", "C01", "", "Deep red of the old flags"),
    ("Saffron", "C02", "yellow-orange", "Spice dye"),
    ("Teal", "C03", "blue-green cyan-dark", "Duck feather colour"),
    ("Umber", "C04", "", "Earth pigment"),
    ("Ochre", "C05", "yellow-earth", "Another earth pigment, like Umber"),
]
_MORE = [(f"Shade{n:02d}", f"D{n:02d}", "", f"Numbered shade {n}") for n in range(30)]
COLOURS = (
    "# Colour names of the dye works\n#\n"
    "# <name>\t<code> <alias1>...<alias9> # Comment\n#\n"
    + "\n".join(
        f"{name}\t\t{code}\t{aliases}\t# {note}".replace("\t\t#", "\t#") for name, code, aliases, note in _ROWS + _MORE
    )
    + "\n"
)


def test_an_alias_asked_of_a_row_without_one_is_none_not_its_other_fields() -> None:
    for question in ("What is the alias of Crimson?", "Does Crimson have an alias?"):
        said = first_line(ask(COLOURS, question, name="colours"))
        assert "C01" not in said and "flags" not in said, question
        assert said in ("none", "No"), question


def test_the_aliases_of_a_row_are_its_alias_fields_without_number_or_comment() -> None:
    assert first_line(ask(COLOURS, "What are the aliases of Teal?", name="colours")) == "blue-green cyan-dark"


def test_a_row_named_in_another_rows_comment_still_answers() -> None:
    # "Umber" is also a word of Ochre's comment: comments are no fields, so the lookup finds one record
    assert first_line(ask(COLOURS, "What is the code of Umber?", name="colours")) == "C04"
    assert first_line(ask(COLOURS, "What is the alias of Saffron?", name="colours")) == "yellow-orange"
    assert first_line(ask(COLOURS, "Does Saffron have an alias?", name="colours")) == "Yes"


# --- F2: an amount question is never answered by the unit word a wrong number leaves behind ---------------------

CLUB = (
    "Rowing club, spring meeting\n\n"
    "1. Subscriptions\n\n"
    "Nine of 12 members voted to keep the yearly subscription at 25 euros; Ben asked for 30 euros.\n\n"
    "2. Boats\n\n"
    "The old four will be sold in June.\n"
)


def test_a_bare_unit_word_left_by_a_dropped_number_is_no_answer() -> None:
    for reading in ("The yearly subscription is 7 euros.", "7 euros", "It costs seven euros."):
        said = first_line(ask(CLUB, "What is the yearly subscription?", reading))
        assert said.lower() != "euros", reading


def test_an_amount_question_takes_no_word_without_a_number() -> None:
    assert first_line(ask(CLUB, "What is the yearly subscription?", "Ben")) != "Ben"
    assert first_line(ask(CLUB, "What is the yearly subscription?", "25 euros")) == "25 euros"


# --- F4: `NAME=value` lines above a schedule are settings, however few --------------------------------------------

SCHEDULE = (
    "# jobs of the build user\n"
    "PATH=/usr/local/bin:/usr/bin\n"
    "EDITOR=nano\n"
    "\n"
    "# clean the build cache every night\n"
    "10 1 * * *   /srv/tools/clean_cache.sh\n"
    "\n"
    "# mirror the docs at noon\n"
    "0 12 * * *   /srv/tools/mirror_docs.sh --quiet\n"
)


def test_a_shell_assignment_is_a_setting_in_a_short_file() -> None:
    assert first_line(ask(SCHEDULE, "Which editor is used?")) == "nano"
    assert first_line(ask(SCHEDULE, "What is EDITOR set to?")) == "nano"
