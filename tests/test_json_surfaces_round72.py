"""A final value holding NaN or an infinity (numpy's nanmean of an empty column, a max over nothing) stays JSON
wherever rlmx hands it on as JSON (audit 72 text v04): RFC 8259 has no NaN, and JSON.parse and strict readers refuse
Python's `NaN`. Written as null, as JavaScript's JSON.stringify writes them; the Python Result keeps the float."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from rlmx import RLM
from rlmx.events import strict_json
from rlmx.lm import ScriptedLM
from rlmx.progress import json_text
from rlmx.viewer import page
from scripting import repl, run_cli
from server.server_harness import MODEL, Served, ask, start

NOT_FINITE = "FINAL({'mean': float('nan'), 'max': float('inf'), 'min': float('-inf'), 'n': [0.5, float('nan')]})"


def strict(text: str) -> Any:
    """`text` read as RFC 8259 JSON: NaN, Infinity and -Infinity refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is no JSON")

    return json.loads(text, parse_constant=refuse)


def test_strict_json_writes_what_json_has_no_form_for_as_null() -> None:
    value = {"a": math.nan, "b": [math.inf, (-math.inf, 1.5)], math.inf: "key", "c": "NaN"}
    assert strict(strict_json(value)) == {"a": None, "b": [None, [None, 1.5]], "inf": "key", "c": "NaN"}
    assert strict_json({"a": 1.5}) == json.dumps({"a": 1.5})  # nothing to change: the same text
    assert strict(json_text(value))["b"] == [None, [None, 1.5]]


def test_the_result_keeps_the_floats_and_the_trace_is_json(tmp_path: Path) -> None:
    result = RLM(ScriptedLM([repl(NOT_FINITE)]), trace_dir=tmp_path).completion("mean?", context="c")
    assert math.isnan(result.value["mean"]) and result.value["max"] == math.inf
    lines = result.trace_path.read_text("utf-8").splitlines() if result.trace_path else []
    end = [strict(line) for line in lines][-1]
    assert end["type"] == "run_end" and json.dumps(end).count("null") >= 4


def test_ask_json_and_the_html_viewer_give_json(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl(NOT_FINITE)]), "utf-8")
    (tmp_path / "c.txt").write_text("numbers\n", "utf-8")
    traces = tmp_path / "traces"
    asked = run_cli(
        "ask",
        "mean?",
        "-c",
        "c.txt",
        "--scripted",
        str(script),
        "--json",
        "--trace-dir",
        str(traces),
        tmp_path=tmp_path,
    )
    assert asked.returncode == 0, asked.stderr
    assert strict(asked.stdout)["value"] == {"mean": None, "max": None, "min": None, "n": [0.5, None]}

    viewed = run_cli("view", strict(asked.stdout)["trace_path"], "--html", "page.html", tmp_path=tmp_path)
    assert viewed.returncode == 0, viewed.stderr
    html = (tmp_path / "page.html").read_text("utf-8")
    config = re.search(r'<script id="rlmx-config" type="application/json">(.*?)</script>', html, re.S)
    assert config is not None and strict(config.group(1))["events"][-1]["type"] == "run_end"


def test_the_viewer_page_of_a_trace_written_with_nan_is_json() -> None:
    # A trace written before this rule holds Python's NaN: read back, it is shown, not a page JSON.parse throws on.
    html = page(events=[{"type": "run_end", "value": {"mean": math.nan}}])
    config = re.search(r'<script id="rlmx-config" type="application/json">(.*?)</script>', html, re.S)
    assert config is not None and strict(config.group(1))["events"][0]["value"] == {"mean": None}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from start(tmp_path)


def test_serve_returns_a_trace_holding_nan_as_json_not_a_500(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(model=MODEL, messages=ask("How long is the context?"))
    extra = response.model_extra or {}
    path = Path(extra["rlmx"]["trace_path"])
    lines = path.read_text("utf-8").splitlines()
    end = json.loads(lines[-1])
    end["value"] = {"mean": math.nan, "max": math.inf}  # as a trace written before this rule held it
    path.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n", "utf-8")
    got = httpx.get(f"{served.url}/v1/traces/{extra['rlmx']['trace_id']}")
    assert got.status_code == 200
    assert strict(got.text)[-1]["value"] == {"mean": None, "max": None}
