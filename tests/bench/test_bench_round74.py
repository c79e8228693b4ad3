"""Audit 74 (bench): a shared task cache, file tasks' metadata, asked OOLONG question types, distinct tasks per
plan, --n as a cap, OOLONG date answers in dateutil's forms, report column labels, S-NIAH sizes with many
distractors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rlmx.bench import distinct_tasks, generate, make_suite, score
from rlmx.bench.external import load_tasks
from rlmx.bench.oolong import QUESTION_TYPES
from rlmx.bench.report import table
from rlmx.bench.runner import read_records
from rlmx.bench.score import parse_date
from rlmx.bench.task import cache_key, cache_load, cache_store, task_sha256
from rlmx.cli import main
from rlmx.errors import InputError


def test_writers_sharing_a_cache_folder_never_trip_over_each_other(tmp_path: Path) -> None:
    """Two runs (or the runner's threads) storing one task into one --cache-dir: each writes a temporary file of
    its own, so none finds its file renamed away by another, and the entry is always whole."""
    task = generate("sniah", seed=0, target_tokens=4096, index=0)
    key = cache_key("sniah", 0, 4096, 0, {})
    errors: list[BaseException] = []

    def store(barrier: threading.Barrier) -> None:
        barrier.wait()
        for _ in range(30):
            try:
                cache_store(tmp_path, key, task)
            except BaseException as exc:  # the old fixed `.KEY.tmp`: FileNotFoundError on the rename
                errors.append(exc)
                return

    barrier = threading.Barrier(4)
    threads = [threading.Thread(target=store, args=(barrier,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache_load(tmp_path, key) == task
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.json"]  # no temporary file left behind
    assert (tmp_path / f"{key}.json").stat().st_mode & 0o777 == 0o600


def test_generate_threads_share_a_cache_dir(tmp_path: Path) -> None:
    made: list[str] = []

    def one() -> None:
        made.append(generate("oolong", seed=1, target_tokens=8192, index=3, cache_dir=tmp_path).id)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == ["oolong-s1-t8192-i3"] * 4


@pytest.mark.parametrize(
    ("names", "said"),
    [
        ([1, 2], "metadata.names must be a list of names"),
        (None, "metadata.names must be a list of names"),
        ("Ada Lune", "metadata.names must be a list of names"),
        (["Ada Lune", {"x": 1}], "metadata.names must be a list of names"),
        (["Ada Lune", " - "], "metadata.names holds ' - ', which has no letter or digit"),
    ],
)
def test_a_tasks_files_metadata_names_are_checked_before_anything_runs(
    tmp_path: Path, names: object, said: str
) -> None:
    line = {"family": "docs", "context": ["Ada Lune is a chef."], "query": "Who?", "answer": "Ada Lune"}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "id": "two", "metadata": {"names": names}}) + "\n")
    with pytest.raises(InputError, match=f"tasks.jsonl:2: {said}"):
        load_tasks(path)


def test_a_tasks_file_with_bad_names_exits_2_before_the_model_is_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = {"family": "docs", "context": ["x"], "query": "Who?", "answer": "Ada Lune", "metadata": {"names": [1]}}
    (tmp_path / "t.jsonl").write_text(json.dumps(line) + "\n")
    (tmp_path / "s.json").write_text(json.dumps(["Exact Answer: Ada Lune"]))
    argv = ["bench", "run", "--tasks", str(tmp_path / "t.jsonl"), "--method", "base", "--out", str(tmp_path / "o")]
    assert main([*argv, "--scripted", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert "t.jsonl:1: metadata.names must be a list of names" in err and "Traceback" not in err
    assert read_records(tmp_path / "o") == []


def test_good_metadata_names_are_other_names_a_reply_may_not_hold(tmp_path: Path) -> None:
    line = {"family": "docs", "context": ["x"], "query": "Who?", "answer": "Ada Lune"}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({**line, "metadata": {"names": ["Ada Lune", "Bo Reyes"]}}) + "\n")
    task = load_tasks(path)[0]
    assert score("docs", "Exact Answer: Ada Lune, a chef", task) == 1.0
    assert score("docs", "Exact Answer: Ada Lune or Bo Reyes", task) == 0.0


def test_an_asked_question_type_is_that_type_or_refused_saying_why() -> None:
    with pytest.raises(InputError, match=r"second_user cannot be asked at index 0: window 0 .* tie"):
        generate("oolong", seed=0, target_tokens=4096, index=0, question_type="second_user")
    with pytest.raises(InputError, match=r"top_date cannot be asked .* no single most frequent date"):
        generate("oolong", seed=0, target_tokens=4096, index=0, question_type="top_date")
    for kind in QUESTION_TYPES:
        for size in (4096, 32768):
            for index in (0, 1, 26):
                try:
                    task = generate("oolong", seed=0, target_tokens=size, index=index, question_type=kind)
                except InputError as exc:
                    assert f"question_type={kind} cannot be asked at index {index}" in str(exc)
                    continue
                assert task.metadata["question_type"] == kind and task.id.endswith(f"[question_type={kind}]")


def test_a_one_question_family_is_asked_once_a_window() -> None:
    first = generate("oolong", seed=0, target_tokens=8192, index=0, question_type="most_label")
    assert first.metadata["question_type"] == "most_label"
    with pytest.raises(InputError, match="only 1 distinct most_label questions, all asked at lower indexes"):
        generate("oolong", seed=0, target_tokens=8192, index=1, question_type="most_label")
    assert generate("oolong", seed=0, target_tokens=8192, index=25, question_type="most_label").context != first.context


@pytest.mark.parametrize("size", [8192, 131072])
def test_the_oolong_plan_asks_fifty_distinct_questions(size: int) -> None:
    """Table 1's OOLONG: 2 windows x 25 questions, none asked twice (version 2 asked the most and least common
    label twice a window), in the spec's mix: counting 10 (most 1, least 1, relative 4, count 4), user 7,
    timeline 8."""
    tasks = [generate("oolong", seed=0, target_tokens=size, index=i) for i in range(50)]
    assert len({task_sha256(t) for t in tasks}) == 50
    assert [t.metadata["question_type"] for t in tasks[:10]] == ["most_label", "least_label"] + [
        "relative",
        "count_label",
    ] * 4
    assert all(score("oolong", str(t.metadata["answer_text"]), t) == 1.0 for t in tasks)


def test_distinct_tasks_of_a_family() -> None:
    assert distinct_tasks("pairs", {}) == (20, "the paper's tasks 1-20")
    assert distinct_tasks("pairs", {"users_mode": "selective"})[0] == 10  # type: ignore[index]
    assert distinct_tasks("pairs", {"task_no": 3})[0] == 1  # type: ignore[index]
    assert distinct_tasks("oolong", {"question_type": "top_user"})[0] == 1  # type: ignore[index]
    assert distinct_tasks("oolong", {}) is None and distinct_tasks("sniah", {}) is None
    with pytest.raises(InputError, match=r"pairs has 20 distinct tasks a length .* give at most 20"):
        make_suite("pairs", lengths=[1024], n_per_length=21)
    assert generate("pairs", seed=0, target_tokens=4096, index=19).metadata["task_no"] == 20
    with pytest.raises(InputError, match=r"pairs index 20 would repeat index 0: 20 distinct tasks .* 0\.\.19"):
        generate("pairs", seed=0, target_tokens=4096, index=20)
    with pytest.raises(InputError, match="pairs index 10 would repeat index 0: 10 distinct tasks"):
        generate("pairs", seed=0, target_tokens=4096, index=10, users_mode="selective")


def test_n_caps_a_presets_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.json").write_text(json.dumps(["(1, 2)"] * 30))
    argv = ["bench", "run", "--preset", "table1", "--family", "pairs", "--n", "25", "--method", "base"]
    assert main([*argv, "--scripted", str(tmp_path / "s.json"), "--out", str(tmp_path / "o")]) == 0
    assert "preset table1: 20 tasks x 1 methods" in capsys.readouterr().err
    assert sorted(r["index"] for r in read_records(tmp_path / "o")) == list(range(20))


def test_n_beyond_a_familys_distinct_tasks_is_capped_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.json").write_text(json.dumps(["(1, 2)"] * 40))
    argv = ["bench", "run", "--family", "pairs", "--lengths", "4k", "--n", "30", "--method", "base"]
    assert main([*argv, "--scripted", str(tmp_path / "s.json"), "--out", str(tmp_path / "o")]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "pairs: 20 distinct tasks a length (the paper's tasks 1-20), so 20 are run rather than 30" in err
    records = read_records(tmp_path / "o")
    assert len(records) == 20 and len({r["sha256_task"] for r in records}) == 20


@pytest.mark.parametrize(
    "reply",
    [
        "Date: 02-07-2023",
        "Date: 02/07/23",
        "Date: 2023.02.07",
        "Date: 07-Feb-2023",
        "Date: 20230207",
        "Date: 02.07.2023",
        "Date: 2023/02/07",
        "Date: Feb. 7th, 2023",
        "Date: 7th of February 2023",
        "Date: 2023-Feb-07",
        "Date: Tuesday, February 7, 2023",
    ],
)
def test_oolong_date_answers_in_the_forms_dateutil_reads_score(reply: str) -> None:
    task = generate("oolong", seed=0, target_tokens=4096, index=0)
    task = type(task)(task.id, "oolong", {}, task.context, task.query, "2023-02-07", "date", task.metadata)
    assert score("oolong", reply, task) == 1.0
    assert score("oolong", reply.replace("07", "08").replace("7", "8"), task) == 0.0


def test_parse_date_reads_as_dateutil_does() -> None:
    """The spec's DATE scorer is `dateutil.parser.parse(pred) == gold`: where dateutil is installed (the bench
    extra's matplotlib needs it), both read each form alike; two-digit years as dateutil reads them in 2024."""
    parser = pytest.importorskip("dateutil.parser")
    forms = [
        "02-07-2023", "02/07/23", "2023.02.07", "07-Feb-2023", "20230207", "13/02/2023", "2/7/2023", "2023/2/7",
        "Feb 7, 2023", "February 7th, 2023", "7 Feb 2023", "07-Feb-23", "Sept 5, 2023", "2023-07-02", "12.11.2024",
        "2023-02-07T10:00:00",
    ]  # fmt: skip
    for form in forms:
        assert parse_date(form) == parser.parse(form).date(), form
    assert parse_date("2023-13-02") is None and parse_date("13/45/2023") is None


def test_report_columns_have_distinct_labels() -> None:
    records = [
        {"family": "sniah", "model": "m", "method": "base", "length": n, "score": 1.0, "input_tokens": 1,
         "output_tokens": 1, "usd": None}
        for n in (1024, 1536, 2048, 8192, 8500)
    ]  # fmt: skip
    header = next(line for line in table(records).splitlines() if line.startswith("| Family"))
    assert header == "| Family | Model | Method | 1K | 1.5K | 2K | 8.2K | 8.5K |"
    plain = [{**r, "length": n} for r, n in zip(records, (8192, 32768, 131072, 2**20, 2**21), strict=True)]
    header = next(line for line in table(plain).splitlines() if line.startswith("| Family"))
    assert header == "| Family | Model | Method | 8K | 33K | 131K | 1M | 2.1M |"  # Figure 1's labels


def test_sniah_needles_over_the_size_are_refused_and_the_rest_fit() -> None:
    with pytest.raises(InputError, match=r"50 distractors take 4,\d{3} characters, more than the 4,096 .* <= 4\d"):
        generate("sniah", seed=0, target_tokens=1024, index=2, variant="essay_uuid", n_distractors=50)
    for size, count in ((1024, 40), (2048, 50), (4096, 50)):
        task = generate("sniah", seed=0, target_tokens=size, index=2, variant="essay_uuid", n_distractors=count)
        assert abs(task.metadata["n_tokens"] - size) <= size * 0.01
        assert len(task.metadata["distractors"]) == count
