"""Audit 88a of the offline default's guided root: an example the question asks for, which the text gives with
"such as" or "e.g."; a count of a text's own numbered parts; a setting set to nothing; and a setting of a run of
settings that one comment heads (a plain and a "non-" qualified noun). Each answer is exact, quoted or absent:
never another unit's value."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

_COTTAGE = (
    "House rules for Rowan Cottage\n\n"
    "Guests may bring small pets, such as cats or rabbits, if they stay off the beds.\n\n"
    "Parking is free for one car per booking; the gate code is given at arrival.\n\n"
    "Leave feedback on a review site, e.g. Tripadvisor, or in the guest book.\n\n"
    "Check-out is at 10am, and late check-out costs 20 pounds.\n"
)
_PETS_UNNAMED = (
    "House rules for Rowan Cottage\n\n"
    "Guests may bring small pets if they stay off the beds.\n\n"
    "Parking is free for one car per booking; the gate code is given at arrival.\n\n"
    "Check-out is at 10am, and late check-out costs 20 pounds.\n"
)


# an example the text gives with "such as" or "e.g.", the question's "given as an example" only framing it


@pytest.mark.parametrize(
    ("question", "reply", "want"),
    [
        ("Which pet is given as an example?", "cats", "cats"),
        ("Which pets are listed as examples?", "cats", "cats"),
        ("Which review site is given as an example?", "Tripadvisor", "Tripadvisor"),
        ("Which pet does the text give as an example?", "rabbits", "rabbits"),
    ],
)
def test_an_example_the_text_gives_with_such_as_is_read(question: str, reply: str, want: str) -> None:
    assert first_line(ask(_COTTAGE, question, reply=reply)) == want


@pytest.mark.parametrize(
    "question", ["Which swimming pool is given as an example?", "What is given as an example of a late fee?"]
)
def test_an_example_of_a_thing_the_text_never_names_is_not_found(question: str) -> None:
    assert first_line(ask(_COTTAGE, question, reply="cats")) == "NOT FOUND"


def test_a_thing_the_text_names_but_gives_no_example_of_is_not_read_as_one() -> None:
    assert first_line(ask(_PETS_UNNAMED, "Which pet is given as an example?", reply="pets")) != "pets"


# the count of a text's own numbered parts, its lettered sub-items inside them aside

_TERMS = (
    "Terms of hire\n\n"
    "The hirer agrees to the following.\n\n"
    "1. The boat may be used on the river only\n"
    "between the two locks.\n\n"
    "2. The hirer may do at least ONE of the following:\n\n"
    "    a) return the boat by 6pm, or\n\n"
    "    b) moor it at the lower lock.\n\n"
    "3. Life jackets must be worn by children.\n\n"
    "4. A deposit of 50 pounds is kept for any damage, such as a broken oar.\n\n"
    "5. The owner may end the hire at any time.\n"
)


@pytest.mark.parametrize(
    "question",
    [
        "How many numbered paragraphs does the agreement have?",
        "How many numbered sections does the agreement have?",
        "How many numbered clauses are there?",
        "How many clauses are numbered?",
    ],
)
def test_the_text_s_own_numbered_run_is_counted(question: str) -> None:
    assert first_line(ask(_TERMS, question)) == "5"


def test_a_numbered_run_with_a_restart_is_quoted_never_counted() -> None:
    text = _TERMS + "\nBefore you leave:\n1. Empty the bilge.\n2. Hand back the key.\n"
    answer = ask(text, "How many numbered clauses are there?")
    assert first_line(answer).startswith("No short answer") and "5. The owner" in answer


def test_a_numbered_run_with_a_gap_is_quoted_never_counted() -> None:
    answer = ask(_TERMS.replace("3. Life", "4. Life"), "How many numbered paragraphs does the agreement have?")
    assert not first_line(answer)[:1].isdigit() and first_line(answer) != "NOT FOUND"


def test_a_count_of_unnamed_parts_quotes_the_numbered_ones_never_not_found() -> None:
    answer = ask(_TERMS, "How many clauses does the agreement have?")
    assert first_line(answer).startswith("No short answer") and "1. The boat" in answer


def test_numbered_headings_are_counted_apart_from_a_numbered_list_under_one() -> None:
    guide = (
        "# Setup guide\n\n## 1. Install\n\nRun the installer.\n\n## 2. Configure\n\nEdit the file:\n"
        "1. open it\n2. save it\n\n## 3. Run\n\nStart it.\n"
    )
    assert first_line(ask(guide, "How many numbered sections does the guide have?")) == "3"


def test_a_text_that_numbers_nothing_gets_no_count() -> None:
    assert not first_line(ask(_COTTAGE, "How many numbered rules are there?"))[:1].isdigit()


# a setting set to nothing says so, as the line writes it, never a blank answer line

_DEFAULTS = (
    "# settings of the backup tool\n\n"
    "# The directory backups are written to.\n# Default: TARGET_DIR=/srv/backup\n#TARGET_DIR=/srv/backup\n\n"
    "# Days a backup is kept.\n# Default: KEEPDAYS=14\n#KEEPDAYS=14\n\n"
    "# Who gets the report.\n# Default: MAILTO=root\n#MAILTO=root\n\n"
    "# If set to a user, the hook runs as that user.\n# Default: HOOKUSER={v}\n#HOOKUSER={v}\n\n"
    "# The compressor.\n# Default: COMPRESS=gzip\n#COMPRESS=gzip\n"
)
_INI = "[backup]\ntarget_dir = /srv/backup\nkeep_days = 14\nmail_to = root\nhookuser = {v}\ncompress = gzip\n"


@pytest.mark.parametrize(("value", "want"), [('""', '"" (empty)'), ("''", "'' (empty)"), ("daily", "daily")])
def test_a_default_set_to_an_empty_string_is_said_as_written(value: str, want: str) -> None:
    assert first_line(ask(_DEFAULTS.format(v=value), "What is the default of HOOKUSER?")) == want


@pytest.mark.parametrize(
    ("value", "want"), [('""', '"" (empty)'), ("", "empty (no value after the key)"), ("daily", "daily")]
)
def test_an_ini_key_set_to_nothing_is_said_empty(value: str, want: str) -> None:
    answer = ask(_INI.format(v=value).replace("hookuser = \n", "hookuser =\n"), "What is hookuser set to?")
    assert first_line(answer) == want


@pytest.mark.parametrize("line", ["HOOKUSER=", "HOOKUSER=''", 'HOOKUSER=""'])
def test_an_env_key_set_to_nothing_never_gives_a_blank_answer_line(line: str) -> None:
    env = f"TARGET_DIR=/srv/backup\nKEEPDAYS=14\nMAILTO=root\n{line}\nCOMPRESS=gzip\nLOGLEVEL=info\n"
    assert first_line(ask(env, "What is HOOKUSER set to?")).strip()


# a run of settings one comment heads: "non-" names the keys without the word, the plain noun those with it

_RANGES = (
    "# ranges for new accounts\n\n"
    "# Inclusive ranges of ports from which ports\n"
    "# for system daemons, system jobs, non-system daemons and non-system jobs\n"
    "# are handed out.\n"
    "# Default: FIRST_SYSTEM_PORT=100, LAST_SYSTEM_PORT=499\n#FIRST_SYSTEM_PORT=100\n#LAST_SYSTEM_PORT=499\n\n"
    "# Default: FIRST_SYSTEM_SLOT=10, LAST_SYSTEM_SLOT=49\n#FIRST_SYSTEM_SLOT=10\n#LAST_SYSTEM_SLOT=49\n\n"
    "# Default: FIRST_PORT=5000, LAST_PORT=8999\n#FIRST_PORT=5000\n#LAST_PORT=8999\n\n"
    "# Default: FIRST_SLOT=500, LAST_SLOT=899\n#FIRST_SLOT=500\n#LAST_SLOT=899\n\n"
    "# The shell daemons run under.\n# Default: DSHELL=/bin/sh\n#DSHELL=/bin/sh\n"
)


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("What is the last port for non-system daemons?", "8999"),
        ("What is the first port for non-system daemons?", "5000"),
        ("What is the last port for system daemons?", "499"),
        ("What is the first slot for system jobs?", "10"),
        ("What is the last slot for non-system jobs?", "899"),
        ("What is the default value of FIRST_SYSTEM_SLOT?", "10"),
        ("What is the default value of LAST_PORT?", "8999"),
    ],
)
def test_a_setting_under_its_group_s_comment_is_the_one_its_qualifier_names(question: str, want: str) -> None:
    assert first_line(ask(_RANGES, question)) == want


def test_a_qualifier_the_comment_does_not_write_names_no_setting() -> None:
    # "non system" apart is no word of the comment: no key is answered, least of all LAST_SYSTEM_PORT's 499
    assert first_line(ask(_RANGES, "What is the last port for non system daemons?")) not in ("499", "8999")
