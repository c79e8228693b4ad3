"""Audit 84 (offline default, F1 F2 F3 F5 F6 F10 F11): the guided root over records, abbreviations, verse,
changelogs and logs. Every text is made up; the reader is a stub (`guided_stub`), so what is checked is what the
code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line, replying
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

# --- F1: an empty cell of the asked column is "not stated"; no other cell of the row answers for it -------------

ROWS = [
    {"name": "Alpha", "created": "2020-01-05", "release": "2021-03-04"},
    {"name": "Beta", "created": "2022-02-02", "release": ""},
    {"name": "Gamma", "created": "2019-09-09", "release": None},
]


def _csv() -> str:
    lines = ["name,created,release"] + [f"{r['name']},{r['created']},{r['release'] or ''}" for r in ROWS]
    return "\n".join(lines) + "\n"


def _markdown() -> str:
    lines = ["| name | created | release |", "|---|---|---|"]
    lines += [f"| {r['name']} | {r['created']} | {r['release'] or ''} |" for r in ROWS]
    return "\n".join(lines) + "\n"


def test_an_empty_asked_cell_is_not_answered_by_another_cell_of_the_row() -> None:
    for text, name in ((_csv(), "a.csv"), (_markdown(), "a.md")):
        for row in ROWS[1:]:
            answer = ask(text, f"What is the release date of {row['name']}?", str(row["created"]), name=name)
            assert first_line(answer) != row["created"], (name, answer)
    index = build_index(collect_sources({"context": ROWS}))  # JSON records
    for row in ROWS[1:]:
        answer = guided_answer(index, f"What is the release date of {row['name']}?", replying(str(row["created"])))
        assert first_line(str(answer["answer"])) != row["created"]


def test_a_filled_asked_cell_still_answers() -> None:
    assert first_line(ask(_csv(), "What is the release date of Alpha?", "2021-03-04", name="a.csv")) == "2021-03-04"
    index = build_index(collect_sources({"context": ROWS}))
    answer = guided_answer(index, "What is the release date of Alpha?", replying("2021-03-04"))
    assert first_line(str(answer["answer"])) == "2021-03-04"


# --- F2: "What does X stand for?" is answered by the phrase the text says X stands for, never any word near it ---

MANUAL = (
    "DESCRIPTION\n"
    "       zap is a packing program designed to store many files in one file. The file can be a disk or a\n"
    "       drive (hence the name of the program, which stands for zipped archive packer), local or remote.\n"
)


def test_the_phrase_after_stands_for_answers() -> None:
    answer = ask(MANUAL, "What does the name zap stand for?", "program")
    assert first_line(answer) == "zipped archive packer"
    text = "The helper qrm, short for queue remover, empties the queue.\n\nqrm runs nightly."
    assert first_line(ask(text, "What is qrm short for?", "queue")) == "queue remover"
    text = "Reports use the Open Layout Format (OLF) for print.\n"
    assert first_line(ask(text, "What does OLF stand for?", "print")) == "Open Layout Format"
    text = "The tool bkp (backup keeper) copies files each night.\n"
    assert first_line(ask(text, "What does bkp stand for?", "files")) == "backup keeper"


def test_a_glossary_entry_and_curly_quotes_give_the_expansion() -> None:
    text = (
        ":BLAH: n. Something filler about a word that is here to make an entry long enough.\n\n"
        ":QQX: n. [Usenet] Abbreviation for \u2018Quite Quick Xerox\u2019. Used of printers.\n"
    )
    assert first_line(ask(text, "What is QQX an abbreviation for?")) == "Quite Quick Xerox"


def test_a_phrase_cut_by_table_borders_is_no_expansion() -> None:
    text = "Old terms \u2502 Tech Model \u2502 \u2502 Railroad Club (TQRC) at MIT.\n"
    assert "\u2502" not in first_line(ask(text, "What does TQRC stand for?", "Railroad"))


def test_a_word_that_does_not_spell_the_abbreviation_is_no_answer() -> None:
    text = "The NTD daemon keeps the clock right. Our servers run it every night.\n"
    for reply in ("daemon", "clock", "servers"):
        assert first_line(ask(text, "What does NTD stand for?", reply)) != reply


# --- F3: a title and byline block above the stanzas is no stanza or paragraph -----------------------------------

POEM = (
    "The Miller's Daughter\nby Tomas Veen (1911)\n\n"
    "She walks the dam at break of day\nand counts the wheels that turn;\nthe river takes the dust away,\n"
    "the ovens start to burn.\n\n"
    "Her brother keeps the ledger neat\nand sells the flour in town;\nhe walks back home on tired feet\n"
    "when evening settles down.\n"
)


def test_a_byline_block_is_not_counted_as_a_stanza() -> None:
    for question in ("How many stanzas does the poem have?", "How many verses are in the poem?"):
        assert first_line(ask(POEM, question)) == "2", question
    answer = ask(POEM, "How many paragraphs are there?")
    assert first_line(answer) == "2" and "aside" in answer


def test_a_short_title_line_above_prose_paragraphs_is_set_aside() -> None:
    text = (
        "Harbour Days\n\n"
        "The boats left early on Monday and came back with a light catch of herring and cod.\n\n"
        "On Tuesday the wind rose and nobody went out; the nets were mended on the quay instead.\n\n"
        "By Friday the weather cleared and the whole fleet sailed before sunrise.\n"
    )
    assert first_line(ask(text, "How many paragraphs are there?")) == "3"
    plain = text.split("\n\n", 1)[1]  # no title: every block counts
    assert first_line(ask(plain, "How many paragraphs are there?")) == "3"


# --- F11: a yes/no question over a record is answered Yes or No from its cell ---------------------------------

BOATS = [
    {"hull": "7", "name": "Kestrel", "launched": "1998-07-24", "length": "12"},
    {"hull": "8", "name": "Osprey", "launched": "2000-08-15", "length": "15"},
    {"hull": "9", "name": "Petrel", "launched": "2003-01-02", "length": "9"},
]


def _boats(question: str) -> str:
    index = build_index(collect_sources({"context": BOATS}))
    return str(guided_answer(index, question, replying("NOT FOUND"))["answer"])


def test_a_yes_no_question_over_a_record_gets_a_verdict() -> None:
    assert first_line(_boats("Was Osprey launched in 2001?")) == "No"
    assert first_line(_boats("Was Kestrel launched in 1998?")) == "Yes"
    assert first_line(_boats("Was Kestrel launched in June 1998?")) == "No"
    assert "1998-07-24" in _boats("Was Kestrel launched in 1998?")  # the cell that decides is shown


def test_a_comparison_gets_no_verdict_from_a_match() -> None:
    assert first_line(_boats("Was Kestrel launched after 1997?")) not in ("Yes", "No")


# --- F5: the earliest or latest date of a date column, and how many rows fill a column ------------------------

SHIPS = (
    "hull,name,laid,launched,scrapped\n"
    "1,Aster,1901-02-11,1903-05-04,1931-01-09\n"
    "2,Briar,1902-06-30,1904-09-12,\n"
    "3,Clover,1899-12-01,1902-03-17,1929-07-22\n"
    "4,Dahlia,1905-04-08,,\n"
)


def test_the_earliest_or_latest_date_of_a_named_column() -> None:
    answer = ask(SHIPS, "Which ship has the earliest launch date?", name="ships.csv")
    assert first_line(answer) == "Clover" and "1902-03-17" in answer
    assert first_line(ask(SHIPS, "Which ship has the latest launch date?", name="ships.csv")) == "Briar"
    assert first_line(ask(SHIPS, "Which ship was laid first?", name="ships.csv")) == "Clover"
    assert first_line(ask(SHIPS, "Which hull was scrapped last?", name="ships.csv")) == "1"


def test_how_many_rows_fill_or_leave_empty_a_column() -> None:
    answer = ask(SHIPS, "How many ships have a scrapped date?", name="ships.csv")
    assert first_line(answer) == "2", answer
    assert first_line(ask(SHIPS, "How many ships are missing a launch date?", name="ships.csv")) != "4"
    assert first_line(ask(SHIPS, "How many ships have the scrapped empty?", name="ships.csv")) == "2"


# --- F6: counts of a text's own entries: log lines of a level, a changelog's versions ---------------------------

LOG = (
    "2024-05-01 09:00:00 INFO  web: listening on port 9000\n"
    "2024-05-01 09:01:10 ERROR mail: relay refused the message\n"
    "2024-05-01 09:02:00 WARN  disk: 88% used\n"
    "2024-05-01 09:03:30 ERROR mail: relay refused the message\n"
    "2024-05-01 09:04:00 INFO  web: 200 requests served\n"
)
NOTES = (
    "# Changelog for Quill\n\n## [3.0.0] - 2024-09-01\n### Added\n- Tables.\n\n"
    "## [2.4.1] - 2024-06-11\n### Fixed\n- A crash on save.\n\n## [2.4.0] - 2024-05-02\n### Added\n- Spell check.\n"
)


def test_log_lines_of_a_level_are_counted() -> None:
    assert first_line(ask(LOG, "How many errors were logged?", name="app.log")) == "2"
    assert first_line(ask(LOG, "How many warnings are there?", name="app.log")) == "1"
    assert first_line(ask(LOG, "How many ERROR lines are in the log?", name="app.log")) == "2"


def test_a_markdown_changelog_counts_its_version_headings() -> None:
    answer = ask(NOTES, "How many versions are listed?", name="CHANGELOG.md")
    assert first_line(answer) == "3" and "2.4.1" in answer
    assert first_line(ask(NOTES, "How many releases are in the changelog?", name="CHANGELOG.md")) == "3"


# --- F10: Markdown sub-headings label the items under them; consecutive headings stay apart --------------------


def test_markdown_sub_headings_label_their_items() -> None:
    answer = ask(NOTES, "Which version added spell check?", name="CHANGELOG.md")
    assert "2.4.0" in answer and "3.0.0" not in answer.split("Spell check")[0].split("\n")[-1]
    answer = ask(NOTES, "Which version fixed a crash on save?", name="CHANGELOG.md")
    assert "2.4.1" in answer


def test_consecutive_markdown_headings_are_not_one_unit() -> None:
    index = build_index([("CHANGELOG.md", NOTES)])
    texts = [u["text"] for u in index["units"]]
    assert not any("2.4.1" in t and "Fixed" in t for t in texts)
    item = next(u for u in index["units"] if "Spell check" in u["text"])
    assert "2.4.0" in item["name"] and "Added" in item["name"]
