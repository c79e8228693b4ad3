"""`rlmx ask --output-schema` prints only an answer the schema accepts (audit 74 newcomer v04): a run the budget
stopped printed its best answer unchecked, `{"code": 5}` or plain `bob`, where a `| jq .code` pipeline expects the
schema's shape (`rlmx serve` leaves such an answer out too). `--json` still shows it, with `value` null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.scripting import repl, run_cli

SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}


def _ask(tmp_path: Path, replies: list[str], *flags: str) -> tuple[int, str, str]:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "script.json").write_text(json.dumps(replies))
    (tmp_path / "notes.txt").write_text("the code is K-7")
    done = run_cli(
        "ask", "What is the code?", "-c", str(tmp_path / "notes.txt"), "--scripted", str(tmp_path / "script.json"),
        "--output-schema", str(tmp_path / "schema.json"), "--max-iterations", "2", *flags, tmp_path=tmp_path,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("final", ["FINAL({'code': 5})", "FINAL('bob')", "FINAL([1, 2])"])
def test_a_best_answer_the_schema_refuses_is_not_printed(tmp_path: Path, final: str) -> None:
    code, out, err = _ask(tmp_path, [repl(final)] * 4)
    assert (code, out) == (3, "")
    assert "does not match --output-schema, so none is printed" in err
    assert "the answer is the best one so far" not in err


def test_json_still_shows_the_refused_answer_with_a_null_value(tmp_path: Path) -> None:
    code, out, _ = _ask(tmp_path, [repl("FINAL({'code': 5})")] * 4, "--json")
    result = json.loads(out)
    assert code == 3 and result["status"] == "budget_exhausted"
    assert json.loads(result["answer"]) == {"code": 5} and result["value"] is None


def test_a_best_answer_that_matches_is_printed_as_json(tmp_path: Path) -> None:
    code, out, err = _ask(tmp_path, [repl("FINAL({'code': 5})"), repl("FINAL({'code': 6})"), '{"code": "K-7"}'])
    assert code == 3, err
    assert json.loads(out) == {"code": "K-7"}
    assert "the answer is the best one so far" in err
