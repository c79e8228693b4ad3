"""Tasks from a file (a real dataset in the task format): loaded with clear errors, run, scored by their family's
scorer, resumed by task id, and reported by length bucket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from rlmx.bench.external import load_tasks
from rlmx.bench.policies import OracleLM
from rlmx.bench.runner import RunSpec, length_bucket, read_records, run
from rlmx.bench.score import score
from rlmx.cli import main
from rlmx.errors import InputError

LEDGER = "\n".join(
    f"Date: Mar {d}, 2023 || User: {100 + d % 3} || Instance: a question about river {d}" for d in range(1, 40)
)
HARBOUR = (
    "The harbour master logs ships. " * 300 + "The code word for the east pier is VERMILION-42. " + "Gulls. " * 200
)

OWN_TASKS: list[dict[str, Any]] = [
    {"id": "ledger-count", "family": "oolong", "context": LEDGER, "query": "How many lines are from user 101?",
     "answer": 13, "answer_format": "numeric"},
    {"id": "ledger-label", "family": "oolong", "context": LEDGER, "query": "Which user wrote the first line?",
     "answer": "101", "answer_format": "user"},
    {"id": "harbour", "family": "sniah", "context": HARBOUR, "query": "What is the code word for the east pier?",
     "answer": "VERMILION-42"},
    {"family": "pairs", "context": LEDGER, "query": "List pairs of users with equal counts.", "answer": [[102, 100]]},
    {"id": "who", "family": "docs", "context": ["Ada Lune was born in Vell.", "Bo Karr was born in Ost."],
     "query": "Who was born in Vell?", "answer": "Ada Lune", "metadata": {"names": ["Ada Lune", "Bo Karr"]}},
    {"id": "mcq", "family": "codeqa", "context": "def f():\n    return 3\n", "query": "f() returns? A) 1 B) 3",
     "answer": "B"},
]  # fmt: skip


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", "utf-8")
    return path


def test_a_tasks_file_joined_from_bom_files_or_with_mac_line_ends_loads(tmp_path: Path) -> None:
    # `cat a.jsonl b.jsonl` of files saved with a BOM, and CR-only line ends: no task ran before.
    rows = [json.dumps(row) for row in OWN_TASKS[:2]]
    joined = tmp_path / "joined.jsonl"
    joined.write_bytes(b"".join(b"\xef\xbb\xbf" + row.encode() + b"\n" for row in rows))
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes("\r".join(rows).encode() + b"\r")
    for path in (joined, mac):
        assert [t.id for t in load_tasks(path)] == ["ledger-count", "ledger-label"], path.name


def test_own_tasks_load_with_their_family_scorers(tmp_path: Path) -> None:
    tasks = load_tasks(_write(tmp_path / "mine.jsonl", OWN_TASKS))
    assert [t.id for t in tasks] == ["ledger-count", "ledger-label", "harbour", "mine:4", "who", "mcq"]
    by_id = {t.id: t for t in tasks}
    assert by_id["mine:4"].answer == [[100, 102]]  # pairs are normalised lower id first
    assert by_id["harbour"].metadata["n_tokens"] == (len(HARBOUR) + 3) // 4
    assert by_id["harbour"].metadata["generator_version"] == "external"
    for task in tasks:  # the gold rendered as a reply scores 1 with the family's own scorer, a wrong one less
        assert score(task.family, str(task.metadata["answer_text"]), task) == 1.0, task.id
        assert score(task.family, "I do not know.", task) < 1.0, task.id
    assert score("oolong", "Answer: 11", by_id["ledger-count"]) == pytest.approx(0.75**2)  # OOLONG's numeric credit
    assert score("docs", "Exact Answer: Ada Lune or Bo Karr", by_id["who"]) == 0.0  # another world name: refused


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "mine.jsonl:2: not JSON"),
        ('["a list"]', "mine.jsonl:2: a task is a JSON object, not list"),
        ('{"family": "trivia", "context": "c", "query": "q", "answer": "a"}', "family must be one of sniah"),
        ('{"family": "sniah", "context": 7, "query": "q", "answer": "a"}', "context must be a string or a list"),
        ('{"family": "sniah", "context": "c", "query": "", "answer": "a"}', "query must be a non-empty string"),
        ('{"family": "sniah", "context": "c", "query": "q"}', "answer (the gold) is missing"),
        ('{"family": "oolong", "context": "c", "query": "q", "answer": 1, "answer_format": "sum"}', "answer_format"),
        ('{"family": "oolong", "context": "c", "query": "q", "answer": "12", "answer_format": "numeric"}', "integer"),
        ('{"family": "pairs", "context": "c", "query": "q", "answer": [[1, 2, 3]]}', "list of [a, b] integer id"),
        ('{"family": "codeqa", "context": "c", "query": "q", "answer": "E"}', "letter A-D or a digit 0-3"),
        ('{"family": "sniah", "context": "c", "query": "q", "answer": "a", "gold": 1}', "unknown field(s) gold"),
        ('{"id": "harbour", "family": "sniah", "context": "c", "query": "q", "answer": "a"}', "used by an earlier"),
    ],
)
def test_a_bad_line_is_named_with_its_line_number(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(OWN_TASKS[2]) + "\n" + line + "\n", "utf-8")
    with pytest.raises(InputError) as caught:
        load_tasks(path)
    assert "mine.jsonl:2: " in str(caught.value) and message in str(caught.value)


def test_own_tasks_run_resume_by_id_and_report_by_length_bucket(tmp_path: Path) -> None:
    tasks = load_tasks(_write(tmp_path / "mine.jsonl", OWN_TASKS))
    out = tmp_path / "results"
    spec = RunSpec(families=[], lengths=[], n=0, methods=["base", "rlm"], model="oracle", out=out, tasks=tasks,
                   max_output_tokens=4096)  # fmt: skip
    records = asyncio.run(run(spec, OracleLM(tasks=tasks)))
    assert len(records) == len(tasks) * 2
    assert all(r["status"] == "ok" and r["score"] == 1.0 for r in records), records
    harbour = next(r for r in records if r["task_id"] == "harbour")
    assert harbour["length"] == length_bucket(harbour["n_tokens"]) == 2048  # 2,488 tokens: 2^11.3
    assert asyncio.run(run(spec, OracleLM(tasks=tasks))) == []  # resumed
    # A task added to the file runs; the others are known by their ids although their lines moved (the one
    # without an id is named by its line, so it counts as new).
    extra = {"id": "late", "family": "sniah", "context": HARBOUR, "query": "Which pier has a code word?",
             "answer": "east"}  # fmt: skip
    more = load_tasks(_write(tmp_path / "mine.jsonl", [extra, *OWN_TASKS]))
    spec.tasks = more
    again = asyncio.run(run(spec, OracleLM(tasks=more)))
    assert {r["task_id"] for r in again} == {"late", "mine:5"}
    assert len(read_records(out)) == (len(more) + 1) * 2


def test_cli_runs_a_tasks_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "mine.jsonl", OWN_TASKS)
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(["The code word is VERMILION-42."]))
    out = tmp_path / "results"
    argv = ["bench", "run", "--tasks", str(path), "--family", "sniah", "--method", "base", "--out", str(out)]
    assert main([*argv, "--scripted", str(script)]) == 0
    records = read_records(out)
    assert [(r["task_id"], r["score"]) for r in records] == [("harbour", 1.0)]
    assert main(["bench", "report", str(out)]) == 0
    assert "| sniah | scripted | base | 100.0 (1) |" in (out / "report.md").read_text()
    capsys.readouterr()
    bad = [
        (["--tasks", str(tmp_path / "none.jsonl")], "cannot read the tasks file"),
        (["--tasks", str(path), "--param", "variant=noise"], "--param choose generated tasks"),
        (["--tasks", str(path), "--lengths", "8k", "--n", "2"], "--lengths, --n choose generated tasks"),
        (["--tasks", str(path), "--family", "pairs,codeqa,docs"], None),
        ([], "say which tasks to run"),
    ]
    for extra, message in bad:
        code = main(
            ["bench", "run", *extra, "--method", "base", "--out", str(tmp_path / "o2"), "--scripted", str(script)]
        )
        if message is None:  # a family filter that keeps tasks is fine (the script answers wrongly: score 0)
            assert code == 0
            continue
        assert code == 2 and message in capsys.readouterr().err


def test_a_task_edited_since_its_record_is_refused_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "mine.jsonl", OWN_TASKS[:3])
    out = tmp_path / "results"
    spec = RunSpec(families=[], lengths=[], n=0, methods=["base"], model="oracle", out=out, tasks=load_tasks(path))
    asyncio.run(run(spec, OracleLM(tasks=spec.tasks or [])))
    before = (out / "records.jsonl").read_text()
    fixed = [{**OWN_TASKS[0], "answer": 12}, *OWN_TASKS[1:3]]  # the gold corrected, the id kept
    spec.tasks = load_tasks(_write(path, fixed))
    with pytest.raises(InputError, match="ledger-count \\(base\\): its context, query or gold changed") as caught:
        asyncio.run(run(spec, OracleLM(tasks=spec.tasks)))
    assert "give another --out" in str(caught.value)
    assert (out / "records.jsonl").read_text() == before  # nothing ran, nothing was written
    spec.tasks = load_tasks(_write(path, OWN_TASKS[:3]))
    assert asyncio.run(run(spec, OracleLM(tasks=spec.tasks))) == []  # the file as recorded resumes as before
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(["The code word is VERMILION-42."]))
    argv = ["bench", "run", "--tasks", str(path), "--family", "sniah", "--method", "base", "--out", str(out)]
    assert main([*argv, "--scripted", str(script)]) == 0
    _write(path, [{**OWN_TASKS[2], "context": HARBOUR + " More gulls."}])  # a changed context is another task too
    capsys.readouterr()
    assert main([*argv, "--scripted", str(script)]) == 2
    assert "harbour (base): its context, query or gold changed" in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"], ids=["utf8-bom", "utf16-bom"])
def test_a_tasks_file_is_read_as_every_text_file_is(tmp_path: Path, encoding: str) -> None:
    # PowerShell 5 and Notepad write these: they were refused ("Unexpected UTF-8 BOM", "can't decode byte 0xff").
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in OWN_TASKS[:2]) + "\n", encoding=encoding)
    assert [task.id for task in load_tasks(path)] == [row["id"] for row in OWN_TASKS[:2]]


def _oolong_line(answer: object, answer_format: str) -> dict[str, Any]:
    return {"family": "oolong", "context": LEDGER, "query": "q", "answer": answer, "answer_format": answer_format}


@pytest.mark.parametrize(
    ("answer", "answer_format", "message"),
    [
        ("2023-04-31", "date", "a date answer is a real date"),
        ("31/03/2023", "date", "a date answer is a real date"),
        ("[datetime.date(2023, 13, 1)]", "date", "a date answer is a real date"),
        ("Spring 2023", "month_year", "a month_year answer is one real month"),
        ("2023-14", "month_year", "a month_year answer is one real month"),
        ("more frequent", "comparison", "a comparison answer is"),
        ("it is less common than B", "comparison", "a comparison answer is"),
    ],
)
def test_an_oolong_gold_its_scorer_cannot_read_is_refused_at_load(
    tmp_path: Path, answer: str, answer_format: str, message: str
) -> None:
    path = _write(tmp_path / "golds.jsonl", [OWN_TASKS[0], _oolong_line(answer, answer_format)])
    with pytest.raises(InputError, match=f"golds.jsonl:2: {message}"):
        load_tasks(path)


def test_oolong_golds_are_written_in_the_form_their_scorer_reads(tmp_path: Path) -> None:
    rows = [
        _oolong_line("[datetime.date(2023, 3, 7)]", "date"),  # OOLONG's raw form
        _oolong_line("2024-02-29", "date"),
        _oolong_line("03/2023", "month_year"),
        _oolong_line("More Common", "comparison"),
        _oolong_line("['same frequency as']", "comparison"),
    ]
    tasks = load_tasks(_write(tmp_path / "golds.jsonl", rows))
    assert [t.answer for t in tasks] == [
        "2023-03-07",
        "2024-02-29",
        "March 2023",
        "more common than",
        "same frequency as",
    ]
    assert score("oolong", "Date: 03/07/2023", tasks[0]) == 1.0
    assert score("oolong", "Answer: Mar 2023", tasks[2]) == 1.0
    assert score("oolong", "Answer: A is **more common** than B", tasks[3]) == 1.0
