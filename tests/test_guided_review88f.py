"""Guided root, audit 88b (offline probes v09-v17): a type word held by a value of its type, key abbreviations
both ways, YAML lines under their keys across blank lines, an SQL dump's INSERT rows as records, and quotes that
keep the best ranked units when a near miss holds only a generic word."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer, split_units

# --- 1: a type word ("version", "port", "date") is held by a value of that type --------------------------------

SERVICE_LOG = (
    "2025-03-02 10:00:00,001 INFO  [main] Starting ledger-api v2.9.0 (pid 4410)\n"
    "2025-03-02 10:00:00,420 INFO  [main] Loaded settings from /etc/ledger/app.toml\n"
    "2025-03-02 10:00:01,015 INFO  [db] Connected to postgres at pg-main:5432\n"
    "2025-03-02 10:05:12,300 WARN  [http] Slow response on /accounts: 1800 ms\n"
)


def test_a_version_written_as_a_value_answers_a_question_naming_the_word() -> None:
    got = ask(SERVICE_LOG, "Which version of ledger-api was started?", reply="v2.9.0")
    assert first_line(got) == "v2.9.0"


def test_a_timestamp_read_for_a_version_is_no_answer() -> None:
    got = ask(SERVICE_LOG, "Which version of ledger-api was started?", reply="10:00:00,001")
    assert got.startswith("No short answer could be verified") and "v2.9.0" in got, got


def test_a_text_without_any_version_value_stays_not_found() -> None:
    log = "Starting ledger-api (pid 4410)\nLoaded settings from /etc/ledger/app.toml\nConnected to postgres\n"
    assert first_line(ask(log, "Which version of ledger-api was started?", reply="4410")) == "NOT FOUND"


def test_a_port_written_after_its_host_holds_the_word_port() -> None:
    got = ask(SERVICE_LOG, "On which port was postgres connected?")
    assert first_line(got) != "NOT FOUND" and "pg-main:5432" in got, got


def test_a_date_or_a_decimal_is_no_version_and_a_clock_is_no_port() -> None:
    from rlmx.lm.guided_cells import _A_PORT, _A_VERSION

    assert all(_A_VERSION.search(t) for t in ("v1.0.1", "redis:7.2-alpine", "1.14.2"))
    assert not any(_A_VERSION.search(t) for t in ("19.02.2024", "10.0.0.1", "price 49.90"))
    assert all(_A_PORT.search(t) for t in ("localhost:8080", "db-1:5432", '"5433:5432"'))
    assert not any(_A_PORT.search(t) for t in ("08:00:01", "John 3:16", "at 12:30"))


# --- 2: common abbreviations match both ways --------------------------------------------------------------------


def _config_state() -> dict:
    return build_index(
        collect_sources(
            {"config": {"name": "upload-svc", "upload": {"max_files": 12, "timeout_s": 30}, "db": {"port": 6432}}}
        )
    )


def test_the_maximum_number_of_things_is_a_max_key() -> None:
    got = guided_answer(_config_state(), "What is the maximum number of upload files?", lambda ps: ["12"] * len(ps))
    assert first_line(got["answer"]) == "12"


def test_a_bound_the_text_does_not_set_stays_not_found() -> None:
    got = guided_answer(_config_state(), "What is the minimum number of upload files?", lambda ps: ["12"] * len(ps))
    assert first_line(got["answer"]) == "NOT FOUND"


def test_an_abbreviated_section_answers_the_written_out_word() -> None:
    got = guided_answer(_config_state(), "What is the database port?", lambda ps: ["6432"] * len(ps))
    assert first_line(got["answer"]) == "6432"


# --- 3: a YAML line keeps the keys above it across blank lines -------------------------------------------------

STACK = (
    "# dev stack\n"
    "services:\n"
    "  frontend:\n"
    "    image: shop/frontend:2.1.0\n"
    "    environment:\n"
    '      VERBOSE: "true"\n'
    "    ports:\n"
    '      - "4000:4000"\n'
    "\n"
    "  queue:\n"
    "    image: rabbitmq:3.12\n"
    "\n"
    "    ports:\n"
    '      - "5673:5672"\n'
    "    environment:\n"
    '      VERBOSE: "false"\n'
    "\n"
    "volumes:\n"
    "  data:\n"
)


def test_yaml_lines_are_named_by_their_keys_across_blank_lines() -> None:
    units, shapes = split_units([("stack.yml", STACK)])
    assert shapes == ["yaml"]
    mapped = next(u for u in units if "5673:5672" in u["text"])
    assert "queue" in mapped["name"] and "ports" in mapped["name"]


def test_a_port_of_a_named_yaml_block_after_a_blank_line_is_quoted() -> None:
    got = ask(STACK, "What port does the queue service use?")
    assert "5673:5672" in got.split("\n")[1], got


def test_a_flag_asked_for_one_named_section_answers_for_it_alone() -> None:
    assert first_line(ask(STACK, "Is verbose enabled for the queue service?")) == "No"
    assert first_line(ask(STACK, "Is verbose enabled for the frontend?")) == "Yes"
    both = first_line(ask(STACK, "Is verbose enabled?"))
    assert "No" in both and "Yes" in both


# --- 4: an SQL dump's INSERT rows are records named by their columns -------------------------------------------

DUMP = (
    "-- dump of library\n"
    "\n"
    "CREATE TABLE `books` (\n"
    "  `id` int NOT NULL,\n"
    "  `isbn` varchar(20) NOT NULL,\n"
    "  `title` varchar(200) NOT NULL,\n"
    "  `price` decimal(6,2) NOT NULL,\n"
    "  PRIMARY KEY (`id`)\n"
    ");\n"
    "\n"
    "INSERT INTO `books` VALUES (1,'978-0-14-044913-6','Crime and Punishment',12.50),"
    "(2,'978-0-19-953556-9','Middlemarch',9.99),(3,'978-0-14-118776-1','Persuasion, annotated',7.25);\n"
    "\n"
    "INSERT INTO members (id, full_name, city) VALUES (1, 'Ines Duarte', 'Porto');\n"
    "INSERT INTO members (id, full_name, city) VALUES (2, 'Tomas O''Neill', 'Cork');\n"
)


def test_each_inserted_row_is_a_record_named_by_the_create_table_columns() -> None:
    units, _ = split_units([("library.sql", DUMP)])
    rows = [u for u in units if u.get("table")]
    assert len(rows) == 5
    middlemarch = next(u for u in rows if "Middlemarch" in u["text"])
    assert "isbn: 978-0-19-953556-9" in middlemarch["text"] and middlemarch["table"] == "books"
    assert any("full_name: Tomas O'Neill; city: Cork" in u["text"] for u in rows)


def test_a_column_only_the_schema_names_finds_the_row() -> None:
    got = ask(DUMP, "What is the ISBN of Middlemarch?", reply="978-0-19-953556-9")
    assert first_line(got) == "978-0-19-953556-9"


def test_a_count_of_a_tables_rows_counts_that_table_only() -> None:
    assert first_line(ask(DUMP, "How many books are there?")) == "3"
    assert first_line(ask(DUMP, "How many members are there?")) == "2"
    assert first_line(ask(DUMP, "How many loans are there?")) != "5"


# --- 6: a near miss on a generic word does not push the best ranked unit out of the quote ---------------------

AGENT = (
    "[general]\n"
    "hostname = pc-07\n"
    "dry_run = no\n"
    "\n"
    "[schedule]\n"
    "full_backup_day = Sunday\n"
    "full_backup_time = 02:30\n"
    "incremental_time = 23:15\n"
    "keep_daily = 7\n"
    "\n"
    "[target]\n"
    "path = /volume1/backups/pc-07\n"
)


def test_the_best_ranked_unit_is_quoted_before_a_generic_words_near_miss() -> None:
    got = ask(AGENT, "What time does the incremental backup run?")
    assert got.startswith("No short answer could be verified"), got
    assert "incremental_time = 23:15" in got.split("\n")[1], got


# --- 5: "instead of X" is answered by the note a text writes for going without X -------------------------------

SOUP = (
    "Leek and Potato Soup\n"
    "\n"
    "Ingredients:\n"
    "- 3 leeks\n"
    "- 500 g potatoes\n"
    "- 200 ml double cream\n"
    "\n"
    "Notes:\n"
    "- Out of double cream? Blend in a spoon of cashew butter at the end instead.\n"
    "- The soup freezes well for a month.\n"
)


def test_a_note_for_going_without_a_thing_is_quoted_for_what_replaces_it() -> None:
    for question in ("What can I use instead of cream?", "What is a substitute for cream?"):
        got = ask(SOUP, question, reply="200 ml")
        assert got.startswith("No short answer could be verified"), got
        assert "cashew butter" in got.split("\n")[1], got


def test_a_thing_no_note_replaces_stays_not_found() -> None:
    assert first_line(ask(SOUP, "What can I use instead of leeks?", reply="3 leeks")) != "3 leeks"
