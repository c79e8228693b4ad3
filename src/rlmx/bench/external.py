"""Tasks from a file: a real dataset (OOLONG, OOLONG-Pairs, BrowseComp-Plus, LongBench-v2 CodeQA, RULER) converted to
rlmx.bench's task format, one JSON object a line, run and scored like the generated ones.

    {"family": "oolong", "context": "...", "query": "...", "answer": 12, "answer_format": "numeric"}

Fields: `family` (which scorer: sniah, oolong, pairs, docs, codeqa), `context` (a string, or a list of strings:
documents), `query`, `answer` (the gold in the family's shape: a string; for oolong a label / user string, an
integer (numeric), a comparison phrase ("more common than", "less common than", "same frequency as"), a real
ISO date (OOLONG's "[datetime.date(Y, M, D)]" is read too) or one month ("March 2023"), each checked at load and
written in that one form; for pairs a list of [a, b] id pairs; for
docs the name; for codeqa the letter A-D or the digit 0-3). Optional: `id` (default FILE-stem:line; give ids so
that a rerun after editing the file matches tasks to their records), `answer_format`
(oolong: label, user, numeric, comparison, date or month_year, default label; the others have one), `answer_text`
(the gold as a perfect reply, default derived from `answer`) and `metadata` (e.g. docs' `names`, the world's
other names, which the exact checker refuses in an answer).
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlmx.bench.score import gold_date, gold_month_year, normalize_name
from rlmx.bench.task import Task, task_metadata
from rlmx.documents.structured import json_lines
from rlmx.documents.text import read_text
from rlmx.errors import InputError

FORMATS = {"sniah": ("string",), "pairs": ("pairs",), "docs": ("name",), "codeqa": ("choice",)}
OOLONG_FORMATS = ("label", "user", "numeric", "comparison", "date", "month_year")
EXTERNAL_VERSION = "external"
"""The `generator_version` of a task read from a file (its manifest still pins the context's and answer's hashes)."""


def load_tasks(path: str | Path) -> list[Task]:
    """The tasks of a JSONL file, checked line by line before anything runs.

    Raises InputError naming the file and line of the first problem: not JSON, not an object, a missing or
    mistyped field, an unknown family or answer format, a repeated id."""
    from rlmx.bench import FAMILIES

    file = Path(path)
    try:
        # as every text file is read (a BOM's UTF-16 too: PowerShell 5 writes that), its lines as every JSON Lines
        # context's are (CR-only line ends, a BOM at a line's start from files joined with cat)
        lines = json_lines(read_text(file))
    except (OSError, ValueError) as exc:  # NotText
        raise InputError(f"cannot read the tasks file {file}: {exc}") from None
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, line in lines:
        where = f"{file}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{where}: not JSON ({exc}); write one task object a line") from None
        if not isinstance(data, dict):
            raise InputError(f"{where}: a task is a JSON object, not {type(data).__name__}")
        task = _task(data, where, f"{file.stem}:{number}", FAMILIES)
        if task.id in seen:
            raise InputError(f"{where}: the id {task.id!r} is used by an earlier line; ids must be unique")
        seen.add(task.id)
        tasks.append(task)
    if not tasks:
        raise InputError(f"{file} has no tasks: write one JSON object a line")
    return tasks


def _task(data: dict[str, Any], where: str, default_id: str, families: tuple[str, ...]) -> Task:
    unknown = sorted(set(data) - {"id", "family", "context", "query", "answer", "answer_format", "answer_text",
                                  "metadata"})  # fmt: skip
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}")
    family = data.get("family")
    if family not in families:
        raise InputError(f"{where}: family must be one of {', '.join(families)} (it picks the scorer), not {family!r}")
    context = data.get("context")
    if not (isinstance(context, str) or (isinstance(context, list) and all(isinstance(c, str) for c in context))):
        raise InputError(f"{where}: context must be a string or a list of strings")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InputError(f"{where}: query must be a non-empty string")
    if "answer" not in data:
        raise InputError(f"{where}: answer (the gold) is missing")
    answer_format = data.get("answer_format", "label" if family == "oolong" else FORMATS[family][0])
    allowed = OOLONG_FORMATS if family == "oolong" else FORMATS[family]
    if answer_format not in allowed:
        raise InputError(f"{where}: answer_format for {family} must be one of {', '.join(allowed)}")
    answer = _answer(family, answer_format, data["answer"], where)
    task_id = data.get("id", default_id)
    if not isinstance(task_id, str) or not task_id:
        raise InputError(f"{where}: id must be a non-empty string")
    metadata = _metadata(data.get("metadata", {}), where)
    answer_text = data.get("answer_text", _render(family, answer))
    if not isinstance(answer_text, str):
        raise InputError(f"{where}: answer_text must be a string")
    common = task_metadata(context, answer, answer_text=answer_text, version=EXTERNAL_VERSION)
    return Task(task_id, family, {}, context, query, answer, answer_format, {**metadata, **common})


def _metadata(metadata: Any, where: str) -> dict[str, Any]:
    """`metadata` when it is an object whose fields the scorers read are of their shape: `names` (the world's other
    names, which the docs checker refuses in an answer) a list of names, each with a letter or digit. Checked now,
    so that scoring (after the model was paid) never meets a field it cannot read. Raises InputError naming the
    field."""
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: metadata must be an object")
    if "names" in metadata:
        names = metadata["names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError(
                f'{where}: metadata.names must be a list of names (strings), e.g. ["Ada Lune", "Bo Reyes"], '
                f"not {json.dumps(names)[:80]}"
            )
        empty = next((n for n in names if not normalize_name(n)), None)
        if empty is not None:
            raise InputError(f"{where}: metadata.names holds {empty!r}, which has no letter or digit: drop it")
    return metadata


def _answer(family: str, answer_format: str, answer: Any, where: str) -> Any:
    if family == "pairs":
        ok = isinstance(answer, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(i, int) and not isinstance(i, bool) for i in p)
            for p in answer
        )
        if not ok:
            raise InputError(f"{where}: a pairs answer is a list of [a, b] integer id pairs")
        return sorted([min(a, b), max(a, b)] for a, b in answer)
    if answer_format == "numeric":
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise InputError(f"{where}: a numeric answer is an integer")
        return answer
    if not isinstance(answer, str) or not answer.strip():
        raise InputError(f"{where}: the {family} answer must be a non-empty string")
    if family == "codeqa" and answer not in ("A", "B", "C", "D", "0", "1", "2", "3"):
        raise InputError(f"{where}: a codeqa answer is a letter A-D or a digit 0-3")
    if family == "oolong" and answer_format in _OOLONG_GOLDS:
        return _oolong_gold(answer_format, answer, where)
    return answer


def _oolong_gold(answer_format: str, answer: str, where: str) -> str:
    """A date, month_year or comparison gold in the one form its scorer reads, so that scoring (after the model
    was paid) never meets a gold it cannot read. Raises InputError naming the forms accepted."""
    read, accepted = _OOLONG_GOLDS[answer_format]
    gold = read(answer)
    if gold is None:
        raise InputError(f"{where}: a {answer_format} answer is {accepted}, not {answer!r}")
    return gold


def _date_gold(text: str) -> str | None:
    date = gold_date(text)
    return None if date is None else date.isoformat()


def _month_year_gold(text: str) -> str | None:
    found = gold_month_year(text)
    return None if found is None else f"{calendar.month_name[found[1]]} {found[0]}"


def _comparison_gold(text: str) -> str | None:
    """'more common' / 'more common than' (any case; OOLONG's raw "['more common than']" too) -> 'more common
    than'; the same for 'less common (than)' and 'same frequency (as)'."""
    phrase = text.strip().strip("[]").strip().strip("'\"").strip().lower()
    for short, full in (("more common", "more common than"), ("less common", "less common than"),
                        ("same frequency", "same frequency as")):  # fmt: skip
        if phrase in (short, full):
            return full
    return None


_OOLONG_GOLDS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "date": (_date_gold, "a real date written YYYY-MM-DD (or OOLONG's [datetime.date(Y, M, D)])"),
    "month_year": (_month_year_gold, 'one real month: "March 2023", "Mar 2023", "03/2023" or "2023-03"'),
    "comparison": (_comparison_gold, '"more common than", "less common than" or "same frequency as" (or the '
                   'same without "than" / "as")'),
}  # fmt: skip


def _render(family: str, answer: Any) -> str:
    """The gold as a perfect prediction (what the oracle policy replies)."""
    if family == "pairs":
        return "\n".join(f"({a}, {b})" for a, b in answer)
    if family == "docs":
        return f"Exact Answer: {answer}"
    if family == "codeqa":
        return f"The correct answer is ({answer})"
    return str(answer)
