"""Audit 86 (offline default), second round: a table's own columns used as the question asks (F5), a crontab's
mail setting, active jobs and a disabled job (F4), the count of a header-less record file's rows (F7) and a
yes/no settled by a word that means No (F8). Every text is made up; the reader is a stub (`guided_stub`), so what
is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- F5: a table's columns, named by a header word, a verb, a quantity or a position ------------------------------

ORDER = (
    "ORDER CONFIRMATION 88-A\n\n"
    "Supplier: Greenleaf Garden Supplies, 2 Orchard Row, Bath\n"
    "Customer: Hilltop Allotments, Plot Office\n"
    "Order date: 3 May 2025\n\n"
    "Product                        Qty   Unit price   Amount\n"
    "Seed trays (plastic, 40 cell)   12        1.20      14.40\n"
    "Garden twine (100 m roll)        3        2.50       7.50\n"
    "Watering can, 10 litre           2       11.00      22.00\n"
    "Plant labels (pack)             30        0.35      10.50\n\n"
    "Subtotal: 54.40\n"
    "Delivery: 6.00\n"
    "Please pay within 30 days.\n"
)


def test_how_many_of_a_named_row_is_its_quantity_cell() -> None:
    assert first_line(ask(ORDER, "How many seed trays were ordered?")) == "12"
    assert first_line(ask(ORDER, "How many plant labels did we buy?")) == "30"


def test_a_quantity_question_naming_no_single_row_is_not_answered_by_a_cell() -> None:
    # "packs" are no words of a row alone; "garden" names one row only: "twine" (3), never "30"
    assert first_line(ask(ORDER, "How many garden twine rolls were ordered?")) != "30"
    assert first_line(ask(ORDER, "How many bags were ordered?")) not in ("12", "3", "2", "30")


def test_the_highest_amount_names_a_header_column_of_a_table_in_prose() -> None:
    assert first_line(ask(ORDER, "Which product has the highest amount?")) == "Watering can, 10 litre"
    assert first_line(ask(ORDER, "Which product has the lowest amount?")) == "Garden twine (100 m roll)"


STANDINGS = (
    "Pos\tClub\tPlayed\tWon\tDrawn\tLost\tPoints\n"
    "1\tRiver Wanderers\t8\t6\t2\t0\t20\n"
    "2\tMill Lane\t8\t5\t1\t2\t16\n"
    "3\tHighfield\t8\t3\t1\t4\t10\n"
    "4\tStation Road\t8\t1\t2\t5\t5\n"
    "5\tOld Quarry\t8\t0\t2\t6\t2\n"
)


def test_a_verb_that_names_a_number_column_is_that_column() -> None:
    assert first_line(ask(STANDINGS, "Which club lost the most games?", name="standings")) == "Old Quarry"
    assert first_line(ask(STANDINGS, "Which club won the most matches?", name="standings")) == "River Wanderers"
    assert first_line(ask(STANDINGS, "Which club lost the fewest games?", name="standings")) == "River Wanderers"


def test_a_place_asked_by_ordinal_is_the_position_columns_row() -> None:
    assert first_line(ask(STANDINGS, "Which club is in 4th place?", name="standings")) == "Station Road"
    assert first_line(ask(STANDINGS, "Which club finished in second place?", name="standings")) == "Mill Lane"
    assert first_line(ask(STANDINGS, "Which club is in 9th place?", name="standings")) != "Old Quarry"


# --- F4: a crontab's mail setting, its active jobs and a job commented out ----------------------------------------

JOBS = (
    "# crontab of the backup user on files-01\n"
    "# min hour dom mon dow command\n"
    "MAILTO=backup-team@example.net\n"
    "PATH=/usr/local/bin:/usr/bin:/bin\n"
    "\n"
    "# snapshot the photo archive every night\n"
    "20 1 * * *   /srv/bin/snapshot_photos.sh\n"
    "\n"
    "# prune snapshots older than 30 days, Mondays\n"
    "0 5 * * 1    /srv/bin/prune_snapshots.sh --days 30\n"
    "\n"
    "# paused 2025-01-03: tape drive returned for repair\n"
    "#30 2 * * 6  /srv/bin/copy_to_tape.sh\n"
    "\n"
    "@reboot      /srv/bin/mount_archive.sh\n"
)


def test_a_known_variable_is_named_by_what_it_means() -> None:
    assert first_line(ask(JOBS, "Where are cron emails sent?")) == "backup-team@example.net"
    assert first_line(ask(JOBS, "Which email address gets the cron output?")) == "backup-team@example.net"
    assert first_line(ask(JOBS, "What is the search path for commands?")) == "/usr/local/bin:/usr/bin:/bin"


def test_the_active_jobs_are_the_schedule_lines_not_commented_out() -> None:
    assert first_line(ask(JOBS, "How many active cron jobs are there?")) == "3"
    assert first_line(ask(JOBS, "How many jobs are scheduled?")) == "3"
    assert first_line(ask(JOBS, "How many disabled jobs are there?")) == "1"


def test_a_commented_out_job_is_not_active() -> None:
    assert first_line(ask(JOBS, "Is the tape job still active?")) == "No"
    assert first_line(ask(JOBS, "Is the tape job disabled?")) == "Yes"
    assert first_line(ask(JOBS, "Is the prune job active?")) == "Yes"


def test_schedule_like_lines_in_prose_are_no_crontab() -> None:
    notes = "Shift notes\n\nThe tape job ran at 2am.\n30 2 * * 6 was its old schedule, people said.\n"
    assert first_line(ask(notes, "Is the tape job still active?")) != "No"


# --- F7: the rows of a record file its comment names ---------------------------------------------------------------

PORTS = (
    "# Harbour berths\n#\n"
    "# Each berth is one line below; the quay master keeps this file.\n#\n"
    "# <name>\t<code> <alias1>...<alias5> # Comment\n#\n"
    + "\n".join(f"Berth{n:02d}\t{700 + n}\t{'east' if n % 3 else ''}\t# depth {n % 7 + 4} m" for n in range(1, 24))
    + "\n"
)


def test_the_rows_a_record_files_comment_names_are_counted() -> None:
    for question in ("How many berths are listed?", "How many berths are in the file?", "How many berths are there?"):
        assert first_line(ask(PORTS, question, name="berths")) == "23", question


def test_a_noun_the_comments_do_not_name_counts_no_rows() -> None:
    assert first_line(ask(PORTS, "How many ships are listed?", name="berths")) != "23"
    assert first_line(ask(PORTS, "How many berths are in the harbour office?", name="berths")) != "23"


# --- F8: a proposal the text says was put off or turned down was not approved -------------------------------------

MEETING = (
    "# Parish hall committee\n\n"
    "## 1. Roof\n"
    "The roofer's quote of 2,400 pounds was accepted. Work starts in July.\n\n"
    "## 2. Any other business\n"
    "Omar proposed a repair cafe. It was deferred until the autumn meeting.\n"
    "Jane asked for a new piano; the request was turned down for lack of funds.\n"
)


def test_a_deferred_proposal_was_not_approved() -> None:
    assert first_line(ask(MEETING, "Was the repair cafe approved?")) == "No"
    assert first_line(ask(MEETING, "Was the new piano approved?")) == "No"


def test_a_proposal_said_to_go_through_is_not_turned_into_no() -> None:
    assert first_line(ask(MEETING, "Was the roofer's quote accepted?")) != "No"
    assert first_line(ask(MEETING, "Was the roof quote approved?")) != "No"


# --- F3: who added a definition is told by the header comments, not its body --------------------------------------

MODULE = (
    '"""Flag parsing helpers."""\n'
    "\n"
    "# Written by Ines Moreau <ines@example.org>.\n"
    "#\n"
    "# Tariq Osei <tariq@example.org> added parse_flags().\n"
    "\n"
    "import sys\n"
    "\n"
    "\n"
    "def split_flag(text):\n"
    '    """Split one flag into name and value."""\n'
    '    name, _, value = text.partition("=")\n'
    "    return name, value\n"
    "\n"
    "\n"
    "def parse_flags(args):\n"
    '    """Parse a list of flags into a dict."""\n'
    "    found = {}\n"
    "    for arg in args:\n"
    "        name, value = split_flag(arg)\n"
    "        found[name] = value\n"
    "    return found\n"
)


def test_who_added_a_definition_reads_the_header_comments() -> None:
    for question in ("Who added parse_flags()?", "Who added parse_flags?"):
        assert first_line(ask(MODULE, question, "Tariq Osei", name="flags")) == "Tariq Osei", question


def test_what_a_definition_does_is_still_read_from_its_body() -> None:
    said = ask(MODULE, "What does parse_flags return?", "Tariq Osei", name="flags")
    assert first_line(said) != "Tariq Osei"
