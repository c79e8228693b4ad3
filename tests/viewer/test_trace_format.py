"""The trace format is written down once (rlmx.events.EVENTS): the engine's events, the generated document and the
viewer's list of event types must all agree with it."""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from rlmx import RLM
from rlmx.events import EVENTS, SCHEMA, check_record, format_markdown, redact_event
from rlmx.viewer import asset

ROOT = Path(__file__).resolve().parents[2]


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_emitted_event_matches_the_documented_format(every_event_traces: list[Path]) -> None:
    seen: Counter[str] = Counter()
    problems: list[str] = []
    for path in every_event_traces:
        for record in read_records(path):
            seen[record["type"]] += 1
            problems += [f"{path.name}: {p}" for p in check_record(record)]
    assert problems == []
    # Every documented type is really emitted, so a type the engine no longer writes cannot linger in the format.
    expected = set(EVENTS)
    if "cache" not in inspect.signature(RLM).parameters:  # a build without the sub-call cache cannot emit it
        expected.discard("subcall_cached")
    assert set(seen) == expected, f"documented but never emitted: {expected - set(seen)}"


def test_check_record_catches_drift() -> None:
    good = {"v": SCHEMA, "type": "iteration", "run_id": "r", "node_id": "0", "parent_id": None, "depth": 0, "ts": 1.0}
    assert check_record({**good, "turn": 1}) == []
    assert check_record(good) == ["iteration: required field 'turn' is missing"]
    assert check_record({**good, "turn": 1, "extra": 2}) == ["iteration: field 'extra' is not in the format"]
    assert check_record({**good, "turn": "1"}) == ["iteration.turn: str is not integer"]
    assert check_record({**good, "type": "mystery"}) == ["unknown event type 'mystery'"]
    assert check_record({**good, "turn": 1, "v": "rlmx.trace/0"}) == [f"iteration: v is 'rlmx.trace/0', not '{SCHEMA}'"]


def test_the_document_is_generated_from_the_format() -> None:
    document = ROOT / "docs" / "trace-format.md"
    assert document.read_text(encoding="utf-8") == format_markdown(), (
        "docs/trace-format.md is stale: run `python -m rlmx.events > docs/trace-format.md`"
    )
    for spec in EVENTS.values():
        assert f"## `{spec.type}`" in format_markdown()


def test_the_viewer_knows_exactly_the_documented_event_types() -> None:
    script = asset("viewer.js")
    listed = re.search(r"const KNOWN_EVENTS = \[(.*?)\];", script, re.S)
    assert listed is not None
    assert json.loads(f"[{listed.group(1).rstrip().rstrip(',')}]") == list(EVENTS)
    assert f'const FORMAT = "{SCHEMA}";' in script
    handled = set(re.findall(r'case "(\w+)":', script))
    assert handled == set(EVENTS), f"viewer handles {handled ^ set(EVENTS)} differently from the format"


def test_sub_calls_name_their_cell_and_child(depth2_trace: Path) -> None:
    records = read_records(depth2_trace)
    cells = {r["cell_id"] for r in records if r["type"] == "cell_start"}
    starts = [r for r in records if r["type"] == "subcall_start"]
    assert starts and all(r["cell_id"] in cells for r in starts)
    children = {r["node_id"] for r in records if r["type"] == "node_start" and r["depth"] == 1}
    assert {r["child_id"] for r in starts if r["kind"] == "rlm"} == children == {"0.1", "0.2"}
    refused = [r for r in records if r["type"] == "subcalls_refused"]
    assert [(r["count"], r["requested"]) for r in refused] == [(4, "llm")]


def test_a_trace_holds_context_excerpts_and_redaction_removes_them(depth2_trace: Path) -> None:
    records = read_records(depth2_trace)
    text = depth2_trace.read_text(encoding="utf-8")
    # What the documentation warns about: a sub-call prompt quotes the context.
    assert "Section A: the code of section A is 100" in text
    redacted = [redact_event(r) for r in records]
    dumped = "\n".join(json.dumps(r) for r in redacted)
    assert "the code of section A is 100" not in dumped
    assert "section B" not in dumped and "Summarise part" not in dumped
    # The shape stays: types, ids, statuses, sizes, tokens.
    assert [r["type"] for r in redacted] == [r["type"] for r in records]
    first_prompt = next(r for r in redacted if r["type"] == "subcall_start")
    assert set(first_prompt["prompt"]) == {"redacted", "sha256"} and first_prompt["prompt_chars"] > 0
    assert next(r for r in redacted if r["type"] == "run_end")["status"] == "budget_exhausted"


def test_a_trace_and_the_folders_made_for_it_are_the_owners_alone(tmp_path: Path) -> None:
    """A trace quotes the run's context; on a root host the sandbox is another uid that can enter any 0755 folder,
    so the file is 0600 whatever the umask, a folder made for it 0700, and a folder the user made keeps its mode."""
    import os

    from rlmx.events import Event, TraceFile

    project = tmp_path / "project"
    project.mkdir(mode=0o755)
    project.chmod(0o755)
    old_umask = os.umask(0o022)
    try:
        trace = TraceFile(project / "runs" / "nested" / "run.jsonl")
        trace(Event("run_start", "r", "0", None, 0, {"query": "password=secret"}))
        trace.close()
    finally:
        os.umask(old_umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (project, project / "runs", project / "runs" / "nested")}
    assert modes == {"project": 0o755, "runs": 0o700, "nested": 0o700}
    assert (trace.path.stat().st_mode & 0o777) == 0o600 and "secret" in trace.path.read_text(encoding="utf-8")


def test_a_large_final_value_is_clipped_in_the_trace_and_whole_in_the_result(tmp_path: Path) -> None:
    """A FINAL of thousands of records, or of the context itself, is kept whole in the Result; the trace's run_end
    holds it clipped like any long text (no context as such in a trace, and a last line small enough to read)."""
    from rlmx.lm import ScriptedLM
    from rlmx.viewer.store import list_traces
    from scripting import repl

    context = "".join(f"secret line {i}\n" for i in range(5_000))
    for code, whole in (
        ("FINAL([{'id': i, 'name': 'row %d' % i} for i in range(3000)])", None),
        ("FINAL(context)", context),
        ("FINAL({'n': 3})", {"n": 3}),
    ):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        result = RLM(ScriptedLM([repl(code)]), trace_dir=folder).completion("rows?", context=context)
        assert result.trace_path is not None and result.status == "finished"
        end = read_records(result.trace_path)[-1]
        if whole is None:
            assert isinstance(result.value, list) and len(result.value) == 3000
        else:
            assert result.value == whole
        if whole == {"n": 3}:
            assert end["value"] == whole  # a short value stays as it was
        else:
            assert isinstance(end["value"], str) and "characters cut" in end["value"] and len(end["value"]) < 4_100
            assert context not in result.trace_path.read_text(encoding="utf-8")
        assert not check_record(end) and list_traces(folder)[0].status == "finished"
