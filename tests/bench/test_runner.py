"""The runner end to end: every family through base and RLM methods with a scripted LM, resumable records,
the base window guard, the CLI and the report."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.bench import FAMILIES, Task, generate
from rlmx.bench.methods import run_method
from rlmx.bench.presets import PRESETS
from rlmx.bench.report import table, write_report
from rlmx.bench.runner import RunSpec, parse_length, read_records, run
from rlmx.bench.score import score_details
from rlmx.budget import Budget
from rlmx.cli import main
from rlmx.errors import InputError
from rlmx.lm.base import Completion, Message
from rlmx.lm.scripted import ScriptedLM

SMOKE = 8192


def _oracle(tasks: list[Task]) -> ScriptedLM:
    """An LM that knows the gold answers: it finds the task whose query is in the prompt. A root (asked to write
    code) answers with FINAL(answer); a plain call answers with the answer text."""

    def reply(messages: list[Message]) -> str:
        text = "\n".join(m["content"] for m in messages)
        task = next((t for t in tasks if t.query in text), None)
        if task is None:
            return "I do not know."
        answer = str(task.metadata["answer_text"])
        if "```repl" in text:  # the RLM system prompt shows the REPL block format
            return f"```repl\nFINAL({answer!r})\n```"
        return answer

    return ScriptedLM(reply, model="oracle")


def _script(path: Path, reply: str, times: int) -> Path:
    """A --scripted file: `reply`, `times` times (each model call takes the next)."""
    path.write_text(json.dumps([reply] * times))
    return path


def _spec(out: Path, families: list[str], methods: list[str], n: int = 2, **extra: object) -> RunSpec:
    return RunSpec(families=families, lengths=[SMOKE], n=n, methods=methods, model="oracle", out=out, **extra)  # type: ignore[arg-type]


def test_every_family_runs_and_the_oracle_scores_one(tmp_path: Path) -> None:
    tasks = [generate(f, seed=0, target_tokens=SMOKE, index=i) for f in FAMILIES for i in range(2)]
    lm = _oracle(tasks)
    spec = _spec(tmp_path, list(FAMILIES), ["base", "rlm"], max_output_tokens=65536)  # pairs lists are long
    records = asyncio.run(run(spec, lm))
    assert len(records) == len(FAMILIES) * 2 * 2
    for r in records:
        assert r["status"] == "ok" and r["score"] == 1.0, r
        assert r["input_tokens"] > 0 and r["wall_s"] >= 0 and "0" in r["tokens"]
        assert r["iterations"] >= 1 and r["n_tokens"] == pytest.approx(SMOKE, rel=0.01)
    assert {r["method"] for r in records} == {"base", "rlm1"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["tasks"]) == len(FAMILIES) * 2 and len(manifest["hash"]) == 64
    calls = len(lm.calls)
    assert asyncio.run(run(spec, lm)) == []  # resumed: nothing left
    assert len(lm.calls) == calls and len(read_records(tmp_path)) == len(records)


def test_other_methods_record_their_work(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=i) for i in range(2)]
    lm = _oracle(tasks)
    spec = _spec(tmp_path, ["sniah"], ["rlm0", "rlm2", "summary", "guided"], window=4096, max_output_tokens=64)
    records = {(r["method"], r["index"]): r for r in asyncio.run(run(spec, lm))}
    assert len(records) == 8
    for index in range(2):
        assert records[("rlm0", index)]["score"] == 1.0 and records[("rlm0", index)]["subcalls"] == 0
        assert records[("rlm2", index)]["score"] == 1.0
        summary = records[("summary", index)]
        assert summary["score"] == 1.0 and summary["iterations"] >= 3  # 8K tokens in chunks under a 4K window
        assert records[("guided", index)]["status"] in ("ok", "error", "budget_exhausted")


def test_depth0_root_is_told_of_no_sub_lm_and_depth1_is(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=0)]
    systems: dict[str, str] = {}
    for method in ("rlm0", "rlm1"):
        lm = _oracle(tasks)
        (record,) = asyncio.run(run(_spec(tmp_path / method, ["sniah"], [method], n=1), lm))
        assert record["score"] == 1.0
        systems[method] = next(m["content"] for m in lm.calls[0] if m["role"] == "system")
    assert "llm_query" not in systems["rlm0"] and "rlm_query" not in systems["rlm0"]
    assert "no sub-LM" in systems["rlm0"] and "```repl" in systems["rlm0"]
    assert "llm_query(" in systems["rlm1"]


def test_base_over_the_window_is_marked_and_not_sent(tmp_path: Path) -> None:
    lm = ScriptedLM(["should not be asked"])
    records = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, window=4096), lm))
    assert records[0]["over_window"] and records[0]["score"] == 0.0 and records[0]["status"] == "over_window"
    assert lm.calls == []


def test_a_failing_lm_is_an_error_record_not_a_crash(tmp_path: Path) -> None:
    from rlmx.errors import LMServerError

    lm = ScriptedLM(lambda messages: LMServerError("HTTP 500 from the test"))
    records = asyncio.run(run(_spec(tmp_path, ["oolong"], ["base"], n=1), lm))
    assert records[0]["status"] == "error" and "500" in records[0]["error"] and records[0]["score"] == 0.0


def test_cli_run_report_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 4)
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "2", "--method", "base"]
    assert main([*argv, "--scripted", str(script), "--out", str(out)]) == 0
    assert len(read_records(out)) == 2
    assert main([*argv, "--scripted", str(script), "--out", str(out)]) == 0  # resumed: the script is not used
    assert len(read_records(out)) == 2
    assert main(["bench", "report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "| scripted | base |" in report and "sniah" in report
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in report
    else:
        assert (out / "bench_sniah.png").stat().st_size > 1000
    capsys.readouterr()
    assert main(["bench", "run", "--family", "nope", "--out", str(out), "--scripted", str(script)]) == 2
    assert "unknown family 'nope'" in capsys.readouterr().err
    assert main([*argv, "--lengths", "8q", "--out", str(out), "--scripted", str(script)]) == 2
    assert "8k, 131k" in capsys.readouterr().err
    assert main(["bench", "report", str(tmp_path / "empty")]) == 2
    assert "no benchmark records" in capsys.readouterr().err
    assert main(["bench", "generate", "--family", "pairs", "--length", "8k", "--index", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "pairs-s0-t8192-i3"


def test_cli_generator_parameters_reach_the_tasks_the_key_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 8)
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "2", "--method", "base"]
    assert main([*argv, "--param", "sniah.variant=noise", "--scripted", str(script), "--out", str(out)]) == 0
    noise = read_records(out)
    assert len(noise) == 2 and all(r["params"] == {"variant": "noise"} for r in noise)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {t["params"]["variant"] for t in manifest["tasks"]} == {"noise"}
    # Other parameters are other tasks: the same folder runs them instead of skipping them as done.
    assert main([*argv, "--param", "variant=essay_uuid", "--scripted", str(script), "--out", str(out)]) == 0
    assert len(read_records(out)) == 4
    assert main([*argv, "--param", "variant=essay_uuid", "--scripted", str(script), "--out", str(out)]) == 0
    assert len(read_records(out)) == 4
    assert main(["bench", "report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "sniah[variant=noise]" in report and "sniah[variant=essay_uuid]" in report
    capsys.readouterr()
    bad = [
        (["--param", "sniah.colour=red"], "sniah takes no parameter 'colour'; its parameters: variant"),
        (["--param", "oolong.question_type=numeric"], "'oolong' is not one of the families run (sniah)"),
        (["--param", "variant"], "write KEY=VALUE or FAMILY.KEY=VALUE"),
        (["--param", "variant=loud"], "sniah variant must be one of"),
    ]
    for extra, message in bad:  # each refused before any task runs
        assert main([*argv, *extra, "--scripted", str(script), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert len(read_records(out)) == 4
    assert main(["bench", "generate", "--family", "codeqa", "--param", "source=procedural", "--show"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["source"] == "procedural"
    assert main(["bench", "generate", "--family", "docs", "--param", "hops=3", "--show"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["hops"] == 3  # read as JSON: a number


def _docs_judge_reply(verdict: str) -> str:
    return f"extracted_final_answer: someone\nreasoning: compared.\ncorrect: {verdict}\nconfidence: 70"


def test_a_judge_grades_docs_answers_and_the_exact_score_is_kept(tmp_path: Path) -> None:
    answerer = ScriptedLM(lambda messages: "Explanation: none.\nExact Answer: Nobody Known", model="answerer")
    judge = ScriptedLM([_docs_judge_reply("yes"), _docs_judge_reply("no")], model="grader")
    spec = _spec(tmp_path, ["docs", "sniah"], ["base"], judge_model="grader", concurrency=1)  # judged in order
    records = asyncio.run(run(spec, answerer, judge=judge))
    docs = sorted((r for r in records if r["family"] == "docs"), key=lambda r: r["index"])
    assert [r["score"] for r in docs] == [1.0, 0.0]  # the judge's verdicts, though the exact checker says 0
    assert all(r["details"]["exact"] == 0.0 and r["details"]["judge"]["model"] == "grader" for r in docs)
    assert docs[0]["details"]["judge"]["confidence"] == 70 and docs[0]["judge_tokens"]["input"] > 0
    assert all("judge" not in r["details"] for r in records if r["family"] == "sniah")  # exact scorers only
    assert len(judge.calls) == 2 and "Nobody Known" in judge.calls[0][0]["content"]
    # Another judge is another grading: its docs records are new, the sniah ones are done already.
    again = asyncio.run(run(_spec(tmp_path, ["docs", "sniah"], ["base"], judge_model="other"), answerer, judge=judge))
    assert {r["family"] for r in again} == {"docs"}


def test_a_reasoning_judges_verdict_is_its_answer_not_its_thinking(tmp_path: Path) -> None:
    # A local reasoning judge drafts "correct: yes" in its <think>, then answers without the field: the draft was
    # the score.
    thinking = "<think>\nMaybe correct: yes, the names match?\n</think>\nThe names differ.\nconfidence: 70"
    answerer = ScriptedLM(lambda messages: "Exact Answer: Nobody Known", model="answerer")
    judge = ScriptedLM([thinking], model="grader")
    records = asyncio.run(run(_spec(tmp_path, ["docs"], ["base"], n=1, judge_model="grader"), answerer, judge=judge))
    assert records[0]["score"] == 0.0 and records[0]["details"]["judge"]["confidence"] == 70


def test_a_failing_judge_leaves_the_exact_score_and_says_why(tmp_path: Path) -> None:
    answerer = ScriptedLM(lambda messages: "Exact Answer: Nobody Known", model="answerer")
    records = asyncio.run(run(_spec(tmp_path, ["docs"], ["base"], n=1, judge_model="gone"), answerer, judge=_Broken()))
    assert records[0]["score"] == 0.0 and records[0]["status"] == "ok"
    assert "judge server down" in records[0]["details"]["judge"]["error"]


class _Broken(ScriptedLM):
    def __init__(self) -> None:
        super().__init__([], model="gone")

    async def complete(self, messages: object, **params: object) -> Completion:
        raise RuntimeError("judge server down")


def test_cli_judge_on_a_real_http_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def answer(request: dict[str, object]) -> str:
        return _docs_judge_reply("yes") if request["model"] == "grader-1" else "Exact Answer: Nobody Known"

    out = tmp_path / "results"
    with FakeOpenAIServer(Behaviour(text=answer)) as server:
        argv = ["bench", "run", "--family", "docs", "--lengths", "8k", "--n", "2", "--method", "base"]
        model = ["--model", "answerer-1", "--base-url", server.base_url, "--out", str(out)]
        assert main([*argv, *model, "--judge", "grader-1"]) == 0, capsys.readouterr().err
        models = [r.body["model"] for r in server.requests]
    assert sorted(models) == ["answerer-1", "answerer-1", "grader-1", "grader-1"]
    records = read_records(out)
    assert [r["score"] for r in records] == [1.0, 1.0] and all(r["key"].endswith('"grader-1"}') for r in records)
    assert {r["details"]["judge"]["model"] for r in records} == {"grader-1"}


def _bench_cli(out: Path, script: Path, stderr: int) -> subprocess.Popen[bytes]:
    rlmx = Path(sys.executable).with_name("rlmx")
    argv = [str(rlmx), "bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "3", "--method", "base"]
    return subprocess.Popen(
        [*argv, "--scripted", str(script), "--out", str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )


def test_cli_progress_bar_on_a_terminal_and_none_on_a_pipe(tmp_path: Path) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 6)
    controller, terminal = pty.openpty()
    process = _bench_cli(tmp_path / "tty", script, terminal)
    os.close(terminal)
    shown = b""
    while select.select([controller], [], [], 60)[0]:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    assert "bench" in text and "/3" in text and "3/3" in text  # the bar counted the tasks as they finished
    assert "3 new records" in text
    piped = _bench_cli(tmp_path / "pipe", script, subprocess.PIPE)
    _, err = piped.communicate(timeout=60)
    assert piped.returncode == 0 and "3 new records" in err.decode()
    assert "3/3" not in err.decode()  # a log file gets the summary, not bar frames


def test_progress_is_reported_from_zero_to_the_tasks_left(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=i) for i in range(3)]
    seen: list[tuple[int, int]] = []
    asyncio.run(
        run(_spec(tmp_path, ["sniah"], ["base"], n=2), _oracle(tasks), progress=lambda d, t: seen.append((d, t)))
    )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    seen.clear()
    asyncio.run(
        run(_spec(tmp_path, ["sniah"], ["base"], n=3), _oracle(tasks), progress=lambda d, t: seen.append((d, t)))
    )
    assert seen == [(0, 1), (1, 1)]  # resumed: only the task not yet recorded


def test_failed_tasks_run_again_and_count_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "2", "--method", "base", "--out", str(out)]
    short = _script(tmp_path / "short.json", "The special magic number is 1234567.", 1)  # one reply for two tasks
    assert main([*argv, "--concurrency", "1", "--scripted", str(short)]) == 0
    assert "1 ended in an error and run again" in capsys.readouterr().err
    assert sorted(r["status"] for r in read_records(out)) == ["error", "ok"]
    assert main(["bench", "report", str(out)]) == 0
    assert "1 of 2 tasks ended in an error" in (out / "report.md").read_text()
    enough = _script(tmp_path / "enough.json", "The special magic number is 1234567.", 2)
    assert main([*argv, "--scripted", str(enough)]) == 0  # only the failed task runs again
    assert "1 new records" in capsys.readouterr().err
    records = read_records(out)  # the file has three lines; the latest outcome per task counts
    assert len((out / "records.jsonl").read_text().splitlines()) == 3
    assert [r["status"] for r in records] == ["ok", "ok"] and len({r["key"] for r in records}) == 2
    assert main(["bench", "report", str(out)]) == 0
    assert "ended in an error" not in (out / "report.md").read_text()
    assert main([*argv, "--scripted", str(enough)]) == 0
    assert "nothing to run: every task asked for is already recorded" in capsys.readouterr().err


def test_tasks_asked_for_with_parameters_have_their_own_ids(tmp_path: Path) -> None:
    plain = generate("docs", seed=0, target_tokens=SMOKE, index=0)
    deeper = generate("docs", seed=0, target_tokens=SMOKE, index=0, hops=3)
    assert plain.id == "docs-s0-t8192-i0" and deeper.id == "docs-s0-t8192-i0[hops=3]"
    assert plain.metadata["sha256_context"] != deeper.metadata["sha256_context"]
    tasks = [plain, deeper]
    asyncio.run(run(_spec(tmp_path, ["docs"], ["base"], n=1), _oracle(tasks)))
    asyncio.run(run(_spec(tmp_path, ["docs"], ["base"], n=1, params={"docs": {"hops": 3}}), _oracle(tasks)))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(t["id"] for t in manifest["tasks"]) == [plain.id, deeper.id]  # neither overwrote the other
    assert [r["task_id"] for r in read_records(tmp_path)] == [plain.id, deeper.id]


def test_cli_checks_flags_before_making_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 2)
    run_argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--method", "base"]
    capsys.readouterr()
    assert main([*run_argv, "--scripted", str(script), "--out", str(script)]) == 2
    assert f"--out {script} is a file" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main([*run_argv, "--scripted", str(broken), "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()  # a bad script leaves no results folder behind
    assert main(["bench", "generate", "--family", "sniah", "--length", "0"]) == 2
    assert "--length: 0 is 0 tokens; a length is 1k (1,024) to 20,000,000 tokens" in capsys.readouterr().err
    out = tmp_path / "w"
    assert main([*run_argv, "--window", "8k", "--scripted", str(script), "--out", str(out)]) == 0
    assert read_records(out)[0]["window"] == 8192
    assert main([*run_argv, "--n", "2", "--judge", "same", "--scripted", str(script), "--out", str(out)]) == 0
    assert "--judge grades docs answers only; this run has none" in capsys.readouterr().err


def test_the_readme_param_examples_generate(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    examples = re.findall(r"`--param (\w+)\.(\w+)=([^`]+)`", readme)
    assert len(examples) >= 4
    for family, key, value in examples:
        assert main(["bench", "generate", "--family", family, "--param", f"{key}={value}"]) == 0, (family, key)
        assert f"[{key}=" in json.loads(capsys.readouterr().out)["id"]


def test_presets_are_the_papers_plans() -> None:
    table1, figure1 = PRESETS["table1"], PRESETS["figure1"]
    assert {s.family: (s.lengths, s.n) for s in table1.series} == {
        "codeqa": ((32768, 131072, 524288, 2097152), 13),
        "docs": ((1048576,), 150),  # BrowseComp-Plus: 150 queries over 1,000 documents
        "oolong": ((131072,), 50),  # OOLONG trec_coarse: 50 tasks at 131K
        "pairs": ((32768,), 20),  # OOLONG-Pairs: 20 tasks at 32K
    }
    assert table1.methods == ("base", "rlm", "rlm0", "summary")
    assert figure1.size() == 8 * (50 + 50 + 20) and figure1.series[0].lengths[0] == 8192
    assert figure1.series[-1].lengths[-1] == 2**20 and figure1.methods == ("base", "rlm")


def test_cli_preset_runs_its_plan_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(tmp_path / "replies.json", "(1, 2)", 4)
    out = tmp_path / "results"
    argv = ["bench", "run", "--preset", "table1", "--family", "pairs", "--n", "2", "--method", "base"]
    assert main([*argv, "--scripted", str(script), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "preset table1: 2 tasks x 1 methods" in err and "wrote " in err
    records = read_records(out)
    assert [(r["family"], r["length"], r["index"]) for r in records] == [("pairs", 32768, 0), ("pairs", 32768, 1)]
    assert "| pairs | scripted | base |" in (out / "report.md").read_text()  # written without `bench report`
    bad = [
        (["--preset", "figure1", "--family", "codeqa"], "unknown family 'codeqa' for preset figure1"),
        (["--preset", "figure1", "--lengths", "8k"], "preset figure1 has the paper's lengths"),
        (["--preset", "table1", "--tasks", str(script)], "choose one"),
    ]
    for extra, message in bad:
        assert main(["bench", "run", *extra, "--scripted", str(script), "--out", str(tmp_path / "o")]) == 2
        assert message in capsys.readouterr().err


def test_a_task_its_generator_cannot_make_is_an_error_record(tmp_path: Path) -> None:
    # At 256K tokens the dense pairs tasks 1 and 2 have more than max_gold_pairs in every window tried; in
    # selective mode task 11 (index 0) fits. One run holds both outcomes.
    spec = RunSpec(families=["pairs"], lengths=[2**18], n=1, methods=["base"], model="oracle", out=tmp_path)
    failed = asyncio.run(run(spec, _oracle([])))
    assert failed[0]["status"] == "error" and "could not be generated: pairs task 1" in failed[0]["error"]
    assert failed[0]["task_id"] is None and failed[0]["score"] == 0.0
    spec.params = {"pairs": {"users_mode": "selective"}}
    made = asyncio.run(run(spec, _oracle([])))
    assert made[0]["status"] == "ok" and made[0]["task_id"].endswith("[users_mode=selective]")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [t["id"] for t in manifest["tasks"]] == [made[0]["task_id"]]  # no manifest for the task not made


def test_report_table_numbers() -> None:
    base = {"family": "sniah", "model": "m", "length": 8192, "output_tokens": 0}
    records = [
        {**base, "method": "base", "score": 1.0, "usd": 0.01, "input_tokens": 100, "over_window": False,
         "tokens": {"0": {"input": 100, "output": 0}}, "wall_s": 2.0, "iterations": 1, "subcalls": 0},
        {**base, "method": "base", "score": 0.0, "usd": 0.03, "input_tokens": 300, "over_window": False,
         "tokens": {"0": {"input": 300, "output": 0}}, "wall_s": 4.0, "iterations": 1, "subcalls": 0},
        {**base, "method": "base", "score": 0.0, "usd": 0.0, "input_tokens": 0, "over_window": True, "tokens": {},
         "wall_s": 0.1, "iterations": 0, "subcalls": 0},
        {**base, "method": "rlm1", "score": 1.0, "usd": 0.0, "input_tokens": 90, "output_tokens": 30,
         "tokens": {"0": {"input": 50, "output": 20}, "1": {"input": 30, "output": 6}, "2": {"input": 10, "output": 4}},
         "wall_s": 1.0, "iterations": 3, "subcalls": 5},
    ]  # fmt: skip
    text = table(records)
    # cost over the tasks sent; the task over the window is counted in the score (as 0) and starred
    assert "| m | base | 33.3 (1*)<br>$0.0200 ± 0.0100<br>200 ± 100 tok |" in text
    assert "| sniah | m | base | 33.3 (3) |\n" in text
    assert "| sniah | m | base | 2 of 3 | 200 / 0 | 0 / 0 | 0.0 | 1.0 | 3.0 ± 1.0 | 2.5 / 3.0 / 3.5 / 3.9 |" in text
    assert "| sniah | m | rlm1 | 1 of 1 | 50 / 20 | 40 / 10 | 5.0 | 3.0 | 1.0 ± 0.0 | 1.0 / 1.0 / 1.0 / 1.0 |" in text
    assert "| m | base | 0.0 (1*)<br>N/A |" in table([records[2]])


def test_write_report_says_when_plots_are_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    record = {
        "family": "oolong",
        "model": "m",
        "method": "base",
        "length": 8192,
        "score": 0.5,
        "usd": 0.0,
        "input_tokens": 1,
        "output_tokens": 1,
        "key": "k",
    }
    (tmp_path / "records.jsonl").write_text(json.dumps(record) + "\n")
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path, pngs, note = write_report(tmp_path)
    assert pngs == [] and note is not None and "matplotlib is not installed" in path.read_text()


def test_lengths_as_the_paper_writes_them() -> None:
    from rlmx.bench.runner import parse_length

    assert [parse_length(x) for x in ("8k", "32K", "131k", "1m", "10M", "5000", "1.5k")] == [
        8192, 32768, 131072, 1048576, 10485760, 5000, 1536,
    ]  # fmt: skip


def test_another_seed_runs_its_own_tasks_into_the_same_folder(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=s, target_tokens=SMOKE, index=0) for s in (0, 1)]
    lm = _oracle(tasks)
    first = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1), lm))
    again = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, seed=1), lm))
    assert [r["task_id"] for r in first + again] == ["sniah-s0-t8192-i0", "sniah-s1-t8192-i0"]
    assert [r["seed"] for r in again] == [1] and again[0]["key"] != first[0]["key"]
    assert again[0]["sha256_context"] == tasks[1].metadata["sha256_context"] and again[0]["score"] == 1.0
    assert asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, seed=1), lm)) == []  # resumed


def test_records_of_another_generator_version_are_refused(tmp_path: Path) -> None:
    from rlmx.errors import InputError

    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=0)]
    spec = _spec(tmp_path, ["sniah"], ["base"], n=1)
    (record,) = asyncio.run(run(spec, _oracle(tasks)))
    assert record["generator_version"] == tasks[0].metadata["generator_version"]
    (tmp_path / "records.jsonl").write_text(json.dumps({**record, "generator_version": "0"}) + "\n")
    with pytest.raises(InputError, match="made by sniah generator version 0, this rlmx makes version"):
        asyncio.run(run(spec, _oracle(tasks)))


def test_a_torn_last_line_is_ended_before_the_next_record(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=i) for i in range(3)]
    lm = _oracle(tasks)
    asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=2, concurrency=1), lm))
    path = tmp_path / "records.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 40])  # a run killed while writing its second record
    assert [r["index"] for r in read_records(tmp_path)] == [0]
    asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=3, concurrency=1), lm))
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line) for line in lines[2:])  # the torn line stays apart
    assert sorted(r["index"] for r in read_records(tmp_path)) == [0, 1, 2]
    calls = len(lm.calls)
    assert asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=3), lm)) == [] and len(lm.calls) == calls


def test_sub_calls_go_to_the_sub_lm_and_usage_is_split_by_depth_and_model(tmp_path: Path) -> None:
    root = ScriptedLM([_ASK_SUB, "```repl\nFINAL(code)\n```"], model="big")
    sub = ScriptedLM(["SUB-4242"], model="small", input_tokens=30, cost_usd=0.002)
    spec = _spec(tmp_path, ["sniah"], ["rlm"], n=1, sub_model="small")
    (record,) = asyncio.run(run(spec, root, sub_lm=sub))
    assert record["prediction"] == "SUB-4242" and record["status"] == "ok" and len(sub.calls) == 1
    assert record["sub_model"] == "small" and record["key"].endswith('{"sub": "small"}')
    assert set(record["by_model"]) == {"big", "small"} and record["by_model"]["small"]["calls"] == 1
    assert record["by_model"]["small"]["input_tokens"] == 30 == record["tokens"]["1"]["input"]
    # the root ("big") has no price: its depth's cost, and so the record's, is unknown (None), never $0
    assert record["usd_by_depth"] == {"0": None, "1": 0.002} and record["usd"] is None


_ASK_SUB = "```repl\ncode = llm_query('Say the code.')\nprint(code)\n```"


def test_base_usage_is_recorded_by_model(tmp_path: Path) -> None:
    tasks = [generate("oolong", seed=0, target_tokens=SMOKE, index=0)]
    (record,) = asyncio.run(run(_spec(tmp_path, ["oolong"], ["base"], n=1), _oracle(tasks)))
    assert record["by_model"]["oracle"]["calls"] == 1 and record["usd_by_depth"] == {"0": None}  # unpriced
    assert record["by_model"]["oracle"]["input_tokens"] == record["input_tokens"] > 0


def test_cli_scripted_sub_replies_answer_the_sub_calls(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"root": [_ASK_SUB, "```repl\nFINAL(code)\n```"], "sub": ["SUB-SAYS-4242"]}))
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--method", "rlm"]
    assert main([*argv, "--scripted", str(script), "--out", str(out)]) == 0
    (record,) = read_records(out)
    assert record["prediction"] == "SUB-SAYS-4242" and record["status"] == "ok"
    assert record["model"] == "scripted-root" and record["sub_model"] == "scripted-sub"


def test_cli_sub_model_on_a_real_http_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def answer(request: dict[str, object]) -> str:
        if request["model"] == "mini":
            return "SUB-7"
        said = json.dumps(request["messages"])
        return "```repl\nFINAL(x)\n```" if "SUB-7" in said else "```repl\nx = llm_query('code?')\nprint(x)\n```"

    out = tmp_path / "results"
    with FakeOpenAIServer(Behaviour(text=answer)) as server:
        argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--method", "rlm,base"]
        model = ["--model", "big", "--sub-model", "mini", "--base-url", server.base_url, "--out", str(out)]
        assert main([*argv, *model, "--window", "32k"]) == 0, capsys.readouterr().err
        models = sorted(r.body["model"] for r in server.requests)
    assert models == ["big", "big", "big", "mini"]  # rlm's root twice and its sub-call; base once
    err = capsys.readouterr().err
    assert "rlmx: model: big at " in err and "rlmx: sub-calls: mini at " in err
    records = {r["method"]: r for r in read_records(out)}
    assert records["rlm1"]["prediction"] == "SUB-7" and set(records["rlm1"]["by_model"]) == {"big", "mini"}
    assert "sub_model" not in records["base"] and not records["base"]["over_window"]  # base makes no sub-calls


def test_base_window_check_counts_tokens_not_bytes(tmp_path: Path) -> None:
    # An HTTP model's prompt_tokens is a byte upper bound (about 4x the tokens): an 8K-token task fits a 16K window.
    from rlmx.lm.openai import OpenAICompatibleLM

    with FakeOpenAIServer(Behaviour(text="The special magic number is 1234567.")) as server:
        lm = OpenAICompatibleLM("m", server.base_url, api_key="k")
        (fits,) = asyncio.run(run(_spec(tmp_path / "fits", ["sniah"], ["base"], n=1, window=16384), lm))
        (over,) = asyncio.run(run(_spec(tmp_path / "over", ["sniah"], ["base"], n=1, window=8192), lm))
        sent = len(server.requests)
    assert fits["status"] == "ok" and not fits["over_window"] and sent == 1
    assert over["status"] == "over_window"  # 8K tokens of context + 1,024 of reply do not fit 8K


def test_sniah_base_prompt_is_rulers_template(tmp_path: Path) -> None:
    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=i) for i in range(3)]  # number, number, uuid
    lm = _oracle(tasks)
    asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=3, concurrency=1), lm))
    for task, messages in zip(tasks, lm.calls, strict=True):
        kind = task.metadata["kind"]
        preamble = f"A special magic {kind} is hidden within the following text. Make sure to memorize it. "
        prompt = messages[-1]["content"]
        assert prompt == f"{preamble}I will quiz you about the {kind} afterwards.\n{task.context}\n{task.query}"


def test_cli_says_which_model_runs_when_none_is_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scripting import missing_embedded_model

    if (why := missing_embedded_model()) is not None:
        pytest.skip(why)
    out = tmp_path / "results"  # a 1K window: the base prompt is not sent, so the model never loads
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--method", "base", "--window", "1k"]
    assert main([*argv, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "rlmx: model: embedded local model local:SmolLM2" in err and "No model is configured" in err


def test_cli_refuses_rlm_methods_for_the_embedded_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # With no model configured, the default methods put SmolLM2-135M in charge of writing code: one 1K task wrote
    # no record in 10 minutes, with nothing on a pipe. `rlmx ask --root lm` refuses that model the same way.
    argv = ["bench", "run", "--family", "sniah", "--lengths", "1k", "--n", "1", "--out", str(tmp_path / "results")]
    assert main([*argv, "--method", "base,rlm"]) == 2
    said = capsys.readouterr().err
    assert "embedded SmolLM2-135M cannot" in said and "--method base,guided" in said
    assert "the rlm methods (rlm1) each needs a model" in said  # named, in a sentence that reads ("methods needs")
    assert not (tmp_path / "results" / "records.jsonl").exists()


def test_a_run_of_a_model_with_no_price_reports_its_cost_as_unknown_not_zero(tmp_path: Path) -> None:
    # every record said "usd": 0.0 and the report "$0.0000" for a model rlmx cannot price (gpt-5-search-api)
    from rlmx.bench import report

    tasks = [generate("sniah", seed=0, target_tokens=SMOKE, index=0)]
    (record,) = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1), _oracle(tasks)))
    assert record["usd"] is None and record["by_model"]["oracle"]["unpriced_calls"] == 1
    assert report._usd_cell([0.01, None]) == report.UNPRICED and report._usd_cell([0.01, 0.03]) == "$0.0200 ± 0.0100"


def test_base_and_summary_calls_are_priced_as_the_rlm_methods_calls_are(tmp_path: Path) -> None:
    # with gpt-4o-mini (list-priced) and a provider that reports no cost, the rlm record had a USD cost and the
    # base and summary records said "unpriced": the paper's cost comparison could not be made
    from rlmx.lm.prices import PriceTable

    lm = ScriptedLM(lambda m: "```repl\nFINAL('4242')\n```", model="gpt-4o-mini", input_tokens=900, output_tokens=60)
    records = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base", "summary", "rlm"], n=1), lm))
    price = PriceTable().lookup("gpt-4o-mini")
    assert price is not None and {r["method"] for r in records} == {"base", "summary", "rlm1"}
    for record in records:
        booked = record["by_model"]["gpt-4o-mini"]
        assert booked["unpriced_calls"] == 0 and booked["calls"] == record["iterations"] >= 1
        assert record["usd"] == pytest.approx(booked["calls"] * price.cost(900, 60))
    assert next(r for r in records if r["method"] == "summary")["iterations"] > 2  # read in several parts


def test_a_base_call_that_failed_after_it_was_billed_keeps_its_cost(tmp_path: Path) -> None:
    from rlmx.bench.methods import run_method
    from rlmx.errors import LMBadResponse
    from rlmx.lm.base import Usage
    from rlmx.lm.prices import PriceTable

    class BilledButEmpty:
        model = "gpt-4o-mini"

        async def complete(self, messages: list[Message], **params: object) -> Completion:
            raise LMBadResponse("the reply had no text", retryable=False, usage=Usage(2_000, 500))

    task = generate("sniah", seed=0, target_tokens=SMOKE, index=0)
    outcome = asyncio.run(run_method("base", task, BilledButEmpty()))
    price = PriceTable().lookup("gpt-4o-mini")
    assert outcome.status == "error" and "no text" in (outcome.error or "") and price is not None
    assert outcome.usd == pytest.approx(price.cost(2_000, 500)) and outcome.usage.calls == 1


def test_base_and_summary_score_a_local_reasoning_models_answer_not_its_reasoning() -> None:
    # A local reasoning model's raw reply: <think> first (naming a decoy), and a run-on into a made-up turn after.
    task = generate("sniah", seed=0, target_tokens=2000, index=0)
    gold = str(task.answer)
    decoy = "1234567" if gold != "1234567" else "7654321"
    answer = f"The special magic number is {gold}."
    made_up = f"<|im_end|>\n<|im_start|>user\nMore?<|im_end|>\n<|im_start|>assistant\n{decoy}"
    reply = f"<think>\nIs it {decoy}? No, a decoy.\n</think>\n{answer}{made_up}"
    for method in ("base", "summary"):
        outcome = asyncio.run(run_method(method, task, ScriptedLM([reply] * 20), window=100_000))
        assert outcome.prediction == answer, method
        assert score_details(task.family, outcome.prediction, task)["strict"] == 1.0
    cut = asyncio.run(run_method("base", task, ScriptedLM([f"<think>\nIt is {gold}, or maybe"]), window=100_000))
    assert (cut.status, cut.prediction) == ("error", "") and "reasoning only" in str(cut.error)


def test_a_report_of_records_quoting_a_cut_emoji_is_written(tmp_path: Path) -> None:
    # An error text holding half an emoji (a lone surrogate escape in records.jsonl, as older runs wrote them) made
    # `rlmx bench report` end in a UnicodeEncodeError traceback.
    record = {"task": "t1", "family": "sniah", "model": "m", "method": "base", "length": 8192, "score": 0.0,
              "usd": None, "input_tokens": 1, "output_tokens": 1, "key": "k", "status": "error",
              "error": "the server said: no \ud83d"}  # fmt: skip
    (tmp_path / "records.jsonl").write_text(json.dumps(record) + "\n")
    path, _, _ = write_report(tmp_path)
    assert "| sniah |" in path.read_text(encoding="utf-8")


def test_lengths_that_are_no_number_of_tokens_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("NaN", "-inf", "infinity", "1e999k"):
        with pytest.raises(InputError, match="a length is a number of tokens"):
            parse_length(text)
    assert main(["bench", "generate", "--family", "oolong", "--length", "inf"]) == 2
    assert "a length is a number of tokens" in capsys.readouterr().err


def test_a_rerun_under_other_outcome_settings_runs_again(tmp_path: Path) -> None:
    lm = ScriptedLM(["The special magic number is 1."] * 20)
    small = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, window=2048), lm))
    assert small[0]["status"] == "over_window" and not lm.calls
    (wide,) = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, window=65536), lm))
    assert wide["status"] == "ok" and len(lm.calls) == 1  # not "already recorded" from the 2K window
    (capped,) = asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, window=65536, max_output_tokens=9), lm))
    assert len(lm.calls) == 2 and capped["key"] != wide["key"]
    assert asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=1, window=65536), lm)) == []
    rlm = _spec(tmp_path, ["sniah"], ["rlm"], n=1, window=2048)
    longer = _spec(tmp_path, ["sniah"], ["rlm"], n=1, window=65536, budget=Budget(max_iterations=3))
    assert rlm.record_key(next(rlm.planned())) != longer.record_key(next(longer.planned()))
    # the window does not change an RLM method's record: its key stays as it was
    assert rlm.record_key(next(rlm.planned())) == RunSpec(
        ["sniah"], [SMOKE], 1, ["rlm"], "oracle", tmp_path
    ).record_key(next(rlm.planned()))


def test_repeated_list_entries_are_refused_and_a_key_runs_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1.", 4)
    argv = ["bench", "run", "--n", "1", "--scripted", str(script), "--out", str(tmp_path / "never")]
    for flags, repeat in (
        (["--family", "sniah", "--method", "rlm,base,rlm1"], "--method gives rlm1 twice"),
        (["--family", "sniah,oolong,sniah", "--method", "base"], "--family gives sniah twice"),
        (["--family", "sniah", "--lengths", "8k,8192", "--method", "base"], "--lengths gives 8192 twice"),
    ):
        assert main([*argv, *flags]) == 2, flags
        assert repeat in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
    lm = ScriptedLM(["The special magic number is 1."] * 4)
    records = asyncio.run(run(_spec(tmp_path / "lib", ["sniah"], ["base", "base"], n=1), lm))
    assert len(records) == 1 and len(lm.calls) == 1


def test_the_answer_key_and_the_answers_are_their_owners_alone(tmp_path: Path) -> None:
    """On a root host the model's cells run as another uid: a task cache, records, manifest or report it could read
    would hand it its own gold. Each is written 0600, and each folder rlmx makes 0700, whatever the umask; a
    records file an older rlmx left 0644 in the user's own (0755) folder is made 0600 too, its records kept."""
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 2)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    old = shared / "records.jsonl"
    old.write_text("")
    old.chmod(0o644)
    previous = os.umask(0o022)
    try:
        for out, cache in ((tmp_path / "made" / "results", None), (shared, tmp_path / "elsewhere" / "cache")):
            argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--method", "base"]
            argv += ["--scripted", str(script), "--out", str(out)]
            assert main([*argv, *(["--cache-dir", str(cache)] if cache else [])]) == 0
            assert main(["bench", "report", str(out)]) == 0
            tasks = cache or out / ".tasks"
            written = [out / "records.jsonl", out / "manifest.json", out / "report.md", *tasks.glob("*.json")]
            assert len(written) == 4 and len(read_records(out)) == 1
            assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == {p.name: "0o600" for p in written}
            made = [tasks, tasks.parent] + ([out, out.parent] if cache is None else [])
            assert {str(p): oct(p.stat().st_mode & 0o777) for p in made} == {str(p): "0o700" for p in made}
    finally:
        os.umask(previous)
    assert shared.stat().st_mode & 0o777 == 0o755  # the user's folder keeps its mode


def test_the_report_counts_a_task_rerun_under_other_settings_once(tmp_path: Path) -> None:
    """Each setting is its own resume key, but the report shows one outcome per task: the latest one."""
    lm = ScriptedLM(["The special magic number is 1."] * 20)
    asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=2, window=2048), lm))  # both over the window
    asyncio.run(run(_spec(tmp_path, ["sniah"], ["base"], n=2, window=65536, max_output_tokens=64), lm))
    assert len(read_records(tmp_path)) == 4
    path, _, _ = write_report(tmp_path)
    text = path.read_text()
    assert "(2)" in re.search(r"\| sniah \| oracle \| base \| ([^|]*)\|", text).group(1)  # type: ignore[union-attr]
    assert "*" not in re.search(r"\| oracle \| base \| ([^|]*)\|", text).group(1)  # type: ignore[union-attr]
    assert "2 records of tasks run again under other settings" in text


def test_a_window_equal_to_the_models_own_keys_as_the_default(tmp_path: Path) -> None:
    """A local model's window is its own default: unsaid or said, the key is the one an older rlmx wrote."""
    plain = _spec(tmp_path, ["sniah"], ["base", "summary"], n=1)
    local = _spec(tmp_path, ["sniah"], ["base", "summary"], n=1, window=4096, model_window=4096)
    assert [local.record_key(k) for k in local.planned()] == [plain.record_key(k) for k in plain.planned()]
    narrower = _spec(tmp_path, ["sniah"], ["base"], n=1, window=2048, model_window=4096)
    assert '"window": 2048' in narrower.record_key(next(narrower.planned()))
    summary_8k = _spec(tmp_path, ["sniah"], ["summary"], n=1, window=8192)  # what summary chunks for without one
    summary = _spec(tmp_path, ["sniah"], ["summary"], n=1)
    assert summary_8k.record_key(next(summary_8k.planned())) == summary.record_key(next(summary.planned()))


def test_a_bad_sandbox_or_a_folder_under_a_file_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path / "replies.json", "The special magic number is 1.", 4)
    argv = ["bench", "run", "--family", "sniah", "--lengths", "1k", "--n", "1", "--scripted", str(script)]
    out = ["--out", str(tmp_path / "never")]
    for flags, said in (
        (["--method", "rlm", "--sandbox", "nosuch", *out], "unknown sandbox 'nosuch'"),
        (["--method", "base", "--cache-dir", str(script), *out], f"--cache-dir {script} is a file"),
        (["--method", "base", "--cache-dir", str(script / "t"), *out], f"is under {script}, which is a file"),
        (["--method", "base", "--out", str(script / "o")], f"--out {script / 'o'} is under {script}"),
    ):
        assert main([*argv, *flags]) == 2, flags
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err
    assert not (tmp_path / "never").exists()


def test_a_cached_task_an_older_rlmx_left_readable_is_made_private_when_resumed(tmp_path: Path) -> None:
    """An rlmx before the fix wrote the task cache 0644: a resumed run (another method, the same tasks) reads those
    entries again, and must leave each one 0600 before the model's cells run, or they would read their gold."""
    script = _script(tmp_path / "replies.json", "The special magic number is 1234567.", 2)
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "1", "--scripted", str(script)]
    assert main([*argv, "--method", "base", "--out", str(out)]) == 0
    cached = list((out / ".tasks").glob("*.json"))
    assert cached
    for entry in cached:
        entry.chmod(0o644)
    assert main([*argv, "--method", "base", "--window", "65536", "--out", str(out)]) == 0
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in cached} == {p.name: "0o600" for p in cached}


def test_report_on_another_tools_json_lines_is_a_usage_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # records.jsonl holding other JSON objects: `rlmx bench report` ended in a KeyError traceback (exit 1)
    (tmp_path / "records.jsonl").write_text('{"event": "login", "user": "ann"}\n', encoding="utf-8")
    assert main(["bench", "report", str(tmp_path)]) == 2
    said = capsys.readouterr().err
    assert "line 1, is not a record of `rlmx bench run`" in said and "'family'" in said and "Traceback" not in said


def test_a_run_whose_every_task_failed_exits_5_naming_the_first_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # exit 0 with nothing measured: a script or CI job took a dead endpoint's run for a result
    from fake_openai_server import Behaviour, FakeOpenAIServer, Reply

    refused = Reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
    with FakeOpenAIServer(Behaviour(route=lambda body: refused)) as server:
        argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "2", "--method", "base"]
        code = main([*argv, "--model", "m", "--base-url", server.base_url, "--out", str(tmp_path / "out")])
    said = capsys.readouterr().err
    assert code == 5 and "every task of this run failed" in said and "API key" in said
