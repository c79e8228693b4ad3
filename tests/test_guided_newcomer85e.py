"""Audit 85 (a newcomer's files), the offline default's guided root: a `.env` file's abbreviated keys (v06), a
nested JSON configuration's sections (v05), decimal-comma amounts (v04), "Which user posted most?" (v01)."""

from __future__ import annotations

from guided_stub import ask, first_line

ENV = "DB_HOST=db.internal\nDB_PORT=5432\nAPP_PORT=8080\nSECRET_KEY=abc\n"


def test_an_env_files_db_prefix_is_read_as_database() -> None:
    got = ask(ENV, "What is the database port?")
    assert first_line(got) == "5432" and "DB_PORT=5432" in got
    assert first_line(ask(ENV, "What is the database host?")) == "db.internal"
    assert first_line(ask(ENV, "What is the DB port?")) == "5432"  # the abbreviation as the key writes it
    assert first_line(ask(ENV, "What is the app port?")) == "8080"


def test_a_key_the_env_file_lacks_is_not_answered_by_another() -> None:
    assert first_line(ask(ENV, "What is the database user?")) == "NOT FOUND"
    assert first_line(ask(ENV, "What is the mail port?")) != "5432"


def test_a_short_text_of_sentences_is_no_env_file() -> None:
    text = "The port is closed on Sundays.\nThe db team meets at 5.\n"
    assert first_line(ask(text, "What is the database port?")) not in ("closed on Sundays.", "5")
