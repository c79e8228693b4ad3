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
