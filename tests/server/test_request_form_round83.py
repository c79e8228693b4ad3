"""Requests as clients write them (audit 83, serve and MCP): a trailing slash on a route, a media type in capitals,
`true` for a number, and a queued stream's refusal that names its wait.

`POST /v1/chat/completions/` and `POST /mcp/` got a bare 307 with an empty body (a client that does not resend a
POST's body on a redirect saw no answer, and the README promises JSON-RPC errors on MCP's transport); MCP's
`Content-Type: Application/JSON` got a 415 (media types are case-insensitive, RFC 9110 8.3.1); an MCP call's
`budget` of `{"max_iterations": true}` ran one turn; a stream refused after its headers went out said "retry after
the Retry-After seconds" with no Retry-After anywhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx2 as httpx
import pytest
from pydantic import ValidationError

from rlmx.mcp.server import CallBudget
from rlmx.request_form import canonical_media_type, canonical_path
from rlmx.server.openai_compat import RequestError, refusal_events
from server.server_harness import MODEL, start

sys.path.insert(0, str(Path(__file__).parents[1] / "mcp"))
from mcp_harness import mcp_http

ACCEPT = "application/json, text/event-stream"
HELLO = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.mark.parametrize(
    ("given", "canonical"), [("/v1/models/", "/v1/models"), ("/mcp//", "/mcp"), ("/", "/"), ("/x", "/x")]
)
def test_a_path_is_read_without_its_trailing_slashes(given: str, canonical: str) -> None:
    assert canonical_path(given) == canonical


def test_a_media_type_is_read_in_lower_case_and_its_parameters_as_sent() -> None:
    assert canonical_media_type(b"Application/JSON; charset=UTF-8") == b"application/json; charset=UTF-8"
    assert canonical_media_type(b"TEXT/Plain") == b"text/plain"


def test_a_chat_completion_posted_with_a_trailing_slash_is_answered(tmp_path: Path) -> None:
    for served in start(tmp_path):
        for path in ("/v1/chat/completions/", "/v1/models/"):
            method = "POST" if "chat" in path else "GET"
            request = {"model": MODEL, "messages": [{"role": "user", "content": "How long is the context?"}]}
            reply = httpx.request(
                method, served.url + path, json=request if method == "POST" else None, timeout=60, headers={}
            )
            assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
            assert reply.json()["object"] in ("chat.completion", "list")
        missing = httpx.get(served.url + "/v1/nothing/", timeout=10)
        assert missing.status_code == 404 and "error" in missing.json()


def test_mcp_over_http_serves_a_trailing_slash_and_a_media_type_in_capitals(tmp_path: Path) -> None:
    with mcp_http(tmp_path, ["FINAL(1)"]) as server:
        base = f"http://127.0.0.1:{server.port}"
        for path, media in (("/mcp/", "application/json"), ("/mcp", "Application/JSON")):
            reply = httpx.post(
                base + path, content=json.dumps(HELLO), headers={"Content-Type": media, "Accept": ACCEPT}, timeout=30
            )
            assert reply.status_code == 200, (path, media, reply.status_code, reply.text[:300])
            said = reply.text
            if said.startswith("event:") or "data:" in said:
                said = next(line[5:] for line in said.splitlines() if line.startswith("data:"))
            assert json.loads(said)["result"]["serverInfo"]["name"]


@pytest.mark.parametrize("given", [{"max_iterations": True}, {"max_usd": True}, {"max_seconds": False}])
def test_an_mcp_budget_of_true_or_false_is_no_number(given: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CallBudget.model_validate(given)


def test_an_mcp_budget_takes_whole_numbers_for_its_real_limits() -> None:
    assert CallBudget.model_validate({"max_usd": 2, "max_seconds": 30}).max_usd == 2.0


def test_a_stream_refused_after_its_headers_names_the_wait_its_retry_after_would_have() -> None:
    refused = RequestError(
        "this request waited 3 s (--queue-timeout): retry after the Retry-After seconds, or start the server with more",
        status=429,
        code="too_many_runs",
    )
    refused.headers["Retry-After"] = "10"
    events = refusal_events(refused)
    error = json.loads(events.split("data: ", 1)[1].split("\n", 1)[0])["error"]
    assert "retry after 10 seconds" in error["message"] and "Retry-After" not in error["message"]
    assert events.rstrip().endswith("data: [DONE]")
    plain = RequestError("busy", status=429)
    plain.headers["Retry-After"] = "4"
    assert "retry after 4 seconds" in refusal_events(plain)
