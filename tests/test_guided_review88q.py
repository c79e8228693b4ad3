"""Guided root, review 88q: a Dockerfile's last stage alone makes the container (lower-case instructions, the
WORKDIR in force), sum rows not spelled "Total", awarded matches, the newest mail of a thread, conditions on
several values or a numeric bound, and the new side of a hand-over or a change."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- A: a Dockerfile's last stage is the container --------------------------------------------------------------

TWO_STAGES = (
    "FROM rust:1.79 AS compile\n"
    "WORKDIR /build\n"
    "COPY . .\n"
    "USER maker\n"
    "EXPOSE 9090\n"
    "ENV RUSTFLAGS=-Copt-level=3\n"
    "RUN cargo build --release\n"
    "FROM debian:bookworm-slim\n"
    "COPY --from=compile /build/target/release/svc /usr/local/bin/svc\n"
    'ENTRYPOINT ["/usr/local/bin/svc"]\n'
)


def test_a_build_stage_instruction_is_not_the_containers() -> None:
    for question, builders in (
        ("Which user does the container run as?", "maker"),
        ("Which port does the container expose?", "9090"),
        ("What is the working directory of the container?", "/build"),
        ("What environment variables does the container set?", "RUSTFLAGS=-Copt-level=3"),
    ):
        got = ask(TWO_STAGES, question, reply=builders)
        assert first_line(got) == "NOT FOUND", (question, got)


def test_the_last_stage_instruction_answers() -> None:
    text = TWO_STAGES + "USER svc\nEXPOSE 8443\n"
    assert first_line(ask(text, "Which user does the container run as?")) == "svc"
    assert first_line(ask(text, "Which port does the container expose?")) == "8443"


def test_a_last_stage_built_from_an_earlier_one_inherits_what_it_does_not_set() -> None:
    text = 'FROM node:20 AS base\nUSER node\nEXPOSE 3000\nFROM base AS app\nCOPY . .\nCMD ["node", "srv.js"]\n'
    assert first_line(ask(text, "Which user does the container run as?", reply="node")) == "NOT FOUND"
    assert first_line(ask(text, "Which port does the container expose?", reply="3000")) == "NOT FOUND"


def test_lower_case_instructions_are_read() -> None:
    text = 'from node:20-alpine\nworkdir /srv\ncopy . .\nrun npm ci\nexpose 3000\ncmd ["node", "srv.js"]\n'
    assert first_line(ask(text, "Which port does the container expose?")) == "3000"


def test_prose_lines_beginning_with_instruction_words_are_no_dockerfile() -> None:
    text = "From the start we knew.\nRun the tests first.\nAdd a note.\nExpose 4000 people to it.\n"
    assert first_line(ask(text, "Which port does the container expose?", reply="4000")) != "4000"


def test_the_last_workdir_is_in_force_and_a_relative_one_joins_the_one_before() -> None:
    text = "FROM python:3.12\nWORKDIR /opt\nCOPY . .\nWORKDIR service\nRUN pip install .\nCMD python -m service\n"
    assert first_line(ask(text, "What is the working directory of the container?")) == "/opt/service"
    text = text.replace("WORKDIR service", "WORKDIR /srv/app")
    assert first_line(ask(text, "What is the working directory of the container?")) == "/srv/app"


# --- B: a sum row not spelled "Total" is no candidate -------------------------------------------------------------


def test_a_row_for_all_the_others_is_no_candidate() -> None:
    for text, question, best in (
        ("Depot,Parcels\nLeeds,120\nYork,390\nHull,310\nAll depots,820\n", "Which depot has the most parcels?", "York"),
        ("Runner,Miles\nAda,12\nBo,37\nCy,30\nOverall,79\n", "Who has the most miles?", "Bo"),
        (
            "| Runner | Miles |\n|---|---|\n| Ada | 12 |\n| Bo | 37 |\n| Cy | 30 |\n| Squad | 79 |\n",
            "Who has the most miles?",
            "Bo",
        ),
        ("Runner,Miles\nAda,12\nBo,37\nCy,30\nCombined,79\n", "Who has the least miles?", "Ada"),
    ):
        assert first_line(ask(text, question)) == best, (text, question)


def test_an_unlabelled_row_that_sums_the_others_gives_no_ranking() -> None:
    text = "Depot,Parcels\nLeeds,120\nYork,390\nHull,310\nCentral,820\n"
    assert first_line(ask(text, "Which depot has the most parcels?", reply="Central")) != "Central"


def test_two_numbers_summing_to_a_third_by_chance_still_rank() -> None:
    assert first_line(ask("Runner,Miles\nAda,10\nBo,20\nCy,30\n", "Who has the most miles?")) == "Cy"


# --- D: an awarded result is no match played -------------------------------------------------------------------

LEAGUE_DAY = "Scores\n- Ashby v Barton 2-0\n- Corby v Dunmow 1-1\n- Epping v Frome 3-0 (awarded)\n"


def test_an_awarded_result_is_not_counted_as_played() -> None:
    assert first_line(ask(LEAGUE_DAY, "How many teams played?", reply="6")) != "6"
    assert first_line(ask(LEAGUE_DAY.replace(" (awarded)", ""), "How many teams played?")) == "6"


# --- E: a question for a date takes only a date ---------------------------------------------------------------

THREAD = (
    "From: Lena Voss <lena@example.org>\nTo: Raj Patel <raj@example.org>\nDate: Thu, 7 Mar 2024 08:30:00 +0100\n"
    "Subject: Re: Roof repair\n\nRaj, the roofers are free again, so they can start on 12 April after all.\n\nLena\n\n"
    "On Wed, 6 Mar 2024 at 11:00, Raj Patel <raj@example.org> wrote:\n> OK, 26 April then.\n"
)


def test_a_word_that_is_no_date_is_no_answer_to_what_is_the_start_date() -> None:
    assert first_line(ask(THREAD, "What is the start date?", reply="roofers")) != "roofers"
    assert first_line(ask(THREAD, "What is the start date?", reply="12 April")) == "12 April"
