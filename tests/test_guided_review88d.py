"""Review 88d of the offline default's guided root (audit 88g: superlatives and conditions over small files).

- A "which NOUN" placing ("Which man came last?") keeps the rows the noun names (a column's value: 'M' of a column
  of sexes); a noun that names no subset and not the rows is no placing. The last row of all was answered.
- A measured row's condition ("How old is the youngest user in York?", "from Leeds", "with status active") keeps
  the rows whose cell it names; a condition no column applies gives no answer. The youngest of all was answered.
- A superlative over a named column ("Who has the highest score?", "Which day has the warmest high?") is the
  extreme of that column, a Total row aside: NOT FOUND, as no row writes "highest".
- A record of numbers under a snake_case or camelCase key ("saving_throws") is named by its words.
- A Dockerfile's instruction named by what it does ("Which port does the container expose?", "the working
  directory") answers with its argument: NOT FOUND, as no line writes "port" or "container".
"""

from __future__ import annotations

from typing import Any

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer


def over(value: Any, question: str, reply: str = "NOT FOUND", files: dict[str, str] | None = None) -> str:
    """The answer over a loaded context variable (a CSV's rows are a list of dicts), the reader saying `reply`."""
    state = build_index(collect_sources({"context": value}))
    if files:
        state["files"] = files
    return str(guided_answer(state, question, lambda prompts: [reply] * len(prompts))["answer"])


def rows(header: str, *lines: str) -> list[dict[str, str]]:
    keys = header.split(",")
    return [dict(zip(keys, line.split(","), strict=True)) for line in lines]


# 1. a placing asked of a subset the noun names

SWIM = rows(
    "Place,Swimmer,Gender,Time",
    "1,Ines Roy,Female,58.1",
    "2,Dan Ek,Male,58.9",
    "3,Lea Sand,Female,59.4",
    "4,Ravi Nair,Male,60.2",
    "5,Mia Holt,Female,61.0",
    "DQ,Per Lund,Male,",
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which woman finished last?", "Mia Holt"),
        ("Which man came last?", "Ravi Nair"),
        ("Which man came first?", "Dan Ek"),
        ("Which swimmer finished last?", "Mia Holt"),
        ("Who came last?", "Mia Holt"),
    ],
)
def test_a_placing_keeps_the_rows_its_noun_names(question: str, expected: str) -> None:
    assert first_line(over(SWIM, question)) == expected


def test_a_placing_of_a_subset_no_column_names_is_no_answer() -> None:
    got = first_line(over(SWIM, "Which junior came last?"))
    assert got not in ("Mia Holt", "Ravi Nair")


def test_a_placing_of_a_sex_the_table_does_not_give_is_no_answer() -> None:
    plain = [{k: v for k, v in row.items() if k != "Gender"} for row in SWIM]
    assert first_line(over(plain, "Which woman finished last?")) != "Mia Holt"


# 2. a measured row's condition keeps its rows

STAFF = rows(
    "name,age,city,status",
    "Ola,52,Bristol,active",
    "Piet,23,Cardiff,left",
    "Quin,38,Bristol,active",
    "Rhea,61,Cardiff,active",
    "Sol,27,Bristol,left",
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How old is the youngest user in Bristol?", "27"),
        ("Who is the oldest user from Bristol?", "Ola"),
        ("Who is the youngest user with status active?", "Quin"),
        ("What is the age of the oldest user in Cardiff?", "61"),
        ("What is the average age of the users in Cardiff?", "42"),
        ("Who is the youngest user?", "Piet"),
        ("What is the average age of the users?", "40.20"),
    ],
)
def test_a_measured_row_keeps_the_rows_its_condition_names(question: str, expected: str) -> None:
    assert first_line(over(STAFF, question)) == expected


def test_a_stop_word_in_capitals_is_a_condition() -> None:
    team = [{**row, "dept": "IT" if row["name"] in ("Quin", "Rhea") else "Sales"} for row in STAFF]
    assert first_line(over(team, "Who is the youngest person in IT?")) == "Quin"


def test_the_answer_says_which_rows_it_kept() -> None:
    assert "whose city is Bristol" in over(STAFF, "How old is the youngest user in Bristol?")


@pytest.mark.parametrize(
    "question",
    [
        "How old is the youngest user in Leeds?",
        "Who is the oldest user in Swansea?",
        "Who is the oldest user in the marketing team?",
    ],
)
def test_a_condition_no_column_applies_is_no_answer(question: str) -> None:
    assert first_line(over(STAFF, question)) not in ("23", "61", "Rhea", "Piet")


# 3. a superlative over a named column: the column's extreme, a Total row aside

POINTS = rows("Player,Points", "Nia,14", "Omar,41", "Pat,33")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who has the highest points?", "Omar"),
        ("Who has the lowest points?", "Nia"),
        ("Which player has the most points?", "Omar"),
    ],
)
def test_a_superlative_of_a_named_column_picks_its_row(question: str, expected: str) -> None:
    assert first_line(over(POINTS, question)) == expected
    assert first_line(over([*POINTS, {"Player": "Total", "Points": "88"}], question)) == expected


def test_a_superlative_of_a_named_column_among_a_subset() -> None:
    mixed = rows("Name,Sex,Points", "Nia,F,14", "Omar,M,41", "Pat,F,33", "Quentin,M,20")
    assert first_line(over(mixed, "Who has the highest points among the women?")) == "Pat"
    assert first_line(over(mixed, "Which man has the lowest points?")) == "Quentin"
    assert first_line(over(mixed, "Who has the highest points overall?")) == "Omar"


def test_a_superlative_of_a_text_tables_column() -> None:
    text = "Player,Points\nNia,14\nOmar,41\nPat,33\nTotal,88\n"
    assert first_line(ask(text, "Who has the highest points?", name="points.csv")) == "Omar"


def test_a_best_names_no_direction() -> None:
    # a best time is the least, a best score the greatest: which is meant is not told by the column
    assert first_line(over(POINTS, "Who has the best points?", reply="Nia")) != "Nia"


def test_a_noun_that_is_neither_the_rows_nor_a_subset_picks_no_row() -> None:
    assert first_line(over(POINTS, "Which gadget has the highest points?", files={"context": "league.csv"})) != "Omar"


OUTLOOK = "Outlook\nSat: High 2°C, Low -3°C\nSun: High -2°C, Low -7°C\nMon: High −5°C, Low −11°C\n"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which day has the warmest high?", "Sat"),
        ("Which day has the coldest low?", "Mon"),
        ("Which day has the lowest high?", "Mon"),
        ("Which day has the warmest low?", "Sat"),
    ],
)
def test_a_day_with_the_named_values_extreme(question: str, expected: str) -> None:
    assert first_line(ask(OUTLOOK, question)) == expected


# 4. a record of numbers under a key of several words

SHEET = {
    "name": "Orin",
    "stats": {"might": 11, "grace": 16, "wits": 13},
    "saving_throws": {"might": 1, "grace": 6, "wits": 3},
    "skillRanks": {"stealth": 7, "climb": 2, "lore": 4},
}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is his highest saving throw?", "grace: 6"),
        ("What is his lowest skill rank?", "climb: 2"),
        ("What is his highest stat?", "grace: 16"),
    ],
)
def test_a_record_under_a_key_of_several_words_is_named_by_them(question: str, expected: str) -> None:
    assert first_line(over(SHEET, question)) == expected


# 5. a Dockerfile's instruction named by what it does

DOCKERFILE = (
    "FROM node:20-alpine\n"
    "WORKDIR /opt/shop\n"
    "COPY package.json .\n"
    "RUN npm ci --omit=dev\n"
    "COPY . .\n"
    "USER node\n"
    "EXPOSE 3000\n"
    'CMD ["node", "index.js"]\n'
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which port does the container expose?", "3000"),
        ("What is the working directory of the container?", "/opt/shop"),
        ("What is the base image?", "node:20-alpine"),
        ("Which user does the container run as?", "node"),
        ("What is the default command?", '["node", "index.js"]'),
    ],
)
def test_a_dockerfile_instruction_named_by_what_it_does(question: str, expected: str) -> None:
    answer = ask(DOCKERFILE, question, name="Dockerfile")
    assert first_line(answer) == expected
    assert "From [line" in answer


def test_a_dockerfile_question_with_more_than_the_instruction_is_not_answered_by_it() -> None:
    # the port the database listens on need not be the one the image exposes
    assert first_line(ask(DOCKERFILE, "Which port does the database listen on?", name="Dockerfile")) != "3000"


def test_several_stages_name_no_one_base_image() -> None:
    staged = "FROM node:20 AS build\nRUN npm ci\nRUN npm run build\nFROM nginx:1.27\nCOPY --from=build /app /srv\n"
    assert first_line(ask(staged, "What is the base image?", name="Dockerfile")) not in (
        "node:20 AS build",
        "nginx:1.27",
    )


def test_a_stage_name_is_no_part_of_the_base_image() -> None:
    named = DOCKERFILE.replace("FROM node:20-alpine", "FROM --platform=linux/amd64 node:20-alpine AS app")
    answer = ask(named, "What is the base image?", name="Dockerfile")
    assert first_line(answer) == "node:20-alpine"
    assert "FROM --platform=linux/amd64 node:20-alpine AS app" in answer


def test_a_command_beside_an_entrypoint_is_not_the_whole_command() -> None:
    both = DOCKERFILE.replace('CMD ["node", "index.js"]', 'ENTRYPOINT ["node"]\nCMD ["index.js"]')
    assert first_line(ask(both, "What is the default command?", name="Dockerfile")) != '["index.js"]'
    assert first_line(ask(both, "What is the entrypoint?", name="Dockerfile")) == '["node"]'
