"""A typed answer (`output=` a pydantic model, a list of them) is its fields in the run_end event and the trace, as
events.EVENTS and the README say (audit 72 stream v02): the trace held the model's str() ("culprit='bob'
first_seen=2"), which reads back as no value, and the streamed event held the instance, which json.dumps refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from rlmx import RLM, Event
from rlmx.lm import ScriptedLM
from scripting import repl


class Finding(BaseModel):
    culprit: str
    first_seen: int


class Report(BaseModel):
    findings: list[Finding]


@pytest.mark.parametrize(
    ("output", "final", "expected"),
    [
        (Finding, "{'culprit': 'bob', 'first_seen': 2}", {"culprit": "bob", "first_seen": 2}),
        (
            Report,
            "{'findings': [{'culprit': 'bob', 'first_seen': 2}]}",
            {"findings": [{"culprit": "bob", "first_seen": 2}]},
        ),
    ],
    ids=["model", "nested-models"],
)
def test_a_typed_value_is_its_fields_in_the_event_and_the_trace(
    tmp_path: Path, output: Any, final: str, expected: Any
) -> None:
    rlm = RLM(ScriptedLM([repl(f"FINAL({final})")]), trace_dir=tmp_path)
    items = list(rlm.stream("who?", context="c", output=output))
    end = next(item for item in items if isinstance(item, Event) and item.type == "run_end")
    assert end.data["value"] == expected
    json.dumps(end.to_record())  # a streamed event is JSON as it is
    lines = next(tmp_path.glob("*.jsonl")).read_text("utf-8").splitlines()
    assert json.loads(lines[-1])["value"] == expected
    assert items[-1].value == output.model_validate(expected)  # the Result keeps the typed value
