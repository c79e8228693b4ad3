"""`rlmx serve` offers the viewer page for its runs: GET /view/{trace_id}, which reads GET /v1/traces/{trace_id}."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        with exc:  # an HTTPError holds the open response
            return exc.code, exc.read().decode("utf-8")


def test_the_page_of_a_run(served: Any) -> None:
    status, html = _get(f"{served.url}/view/{served.trace_id}")
    assert status == 200 and f'"traceUrl": "../v1/traces/{served.trace_id}"' in html
    assert "const KNOWN_EVENTS" in html  # the page is whole: no other request but the trace
    status, body = _get(f"{served.url}/v1/traces/{served.trace_id}")
    assert status == 200 and '"type": "run_start"' in body.replace('":"', '": "')


@pytest.mark.parametrize("trace_id", ["0123456789ab", "not-an-id", "..%2F..%2Fetc"])
def test_no_page_for_an_unknown_run(served: Any, trace_id: str) -> None:
    status, body = _get(f"{served.url}/view/{trace_id}")
    assert status == 404 and "trace" in body


def test_with_an_api_key_the_page_loads_but_the_trace_needs_the_key(served_with_key: Any) -> None:
    page = f"{served_with_key.url}/view/{served_with_key.trace_id}"
    trace = f"{served_with_key.url}/v1/traces/{served_with_key.trace_id}"
    assert _get(page)[0] == 200  # holds no data
    assert _get(trace)[0] == 401
    assert _get(trace, {"Authorization": f"Bearer {served_with_key.api_key}"})[0] == 200
