"""GET /v1/traces/{trace_id} tells a damaged trace: the lines it left out are named, as the viewer names them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from server.server_harness import MODEL, Served, ask, start


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from start(tmp_path)


def test_a_trace_with_bad_middle_lines_is_returned_with_a_note_naming_them(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(model=MODEL, messages=ask("How long is the context?"))
    trace_id = (response.model_extra or {})["rlmx"]["trace_id"]
    sound = httpx.get(f"{served.url}/v1/traces/{trace_id}").json()
    assert all(event.get("type") != "viewer_note" for event in sound)  # nothing skipped: no note

    path = Path((response.model_extra or {})["rlmx"]["trace_path"])
    lines = path.read_text("utf-8").splitlines()
    # A cut-short write followed by the next event on one line, then a stray scalar and a stray word.
    damaged = [lines[0], lines[1][:20] + lines[1], "42", *lines[2:-1], "not json at all", lines[-1]]
    path.write_text("\n".join(damaged) + "\n", "utf-8")

    events = httpx.get(f"{served.url}/v1/traces/{trace_id}").json()
    assert isinstance(events, list)  # the same shape for existing clients: a list of events
    note = events[-1]
    assert note["type"] == "viewer_note" and note["skipped"] == 3
    assert note["skipped_lines"] == [2, 3, len(damaged) - 1]
    assert f"lines 2, 3, {len(damaged) - 1}" in note["text"]
    assert [e["type"] for e in events[:-1]] == [e["type"] for e in sound if e is not sound[1]]
    assert httpx.get(f"{served.url}/v1/traces/{trace_id}", params={"format": "jsonl"}).text.count("\n") == len(damaged)
