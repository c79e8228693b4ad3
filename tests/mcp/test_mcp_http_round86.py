"""`rlmx mcp --http`'s connection-level refusals (audit 86 serve): each has its own `x-request-id`, and a request
head that began and did not arrive within --header-timeout gets a 408 whose body is a JSON-RPC error with no id (it
was plain text), as every refusal on this transport is one."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_harness import mcp_http, repl

from server.test_serve_round86 import late_head, refused_ids


def test_mcp_http_refusals_are_jsonrpc_errors_each_with_its_own_request_id(tmp_path: Path) -> None:
    flags = ("--max-connections", "1", "--header-timeout", "1")
    with mcp_http(tmp_path, [repl("FINAL('x')")], *flags) as http:
        ids = refused_ids(http.port, 1, 3)
        status, headers, body = late_head(http.port, b"/mcp")
    assert len(set(ids)) == 3, ids
    assert status == "HTTP/1.1 408 Request Timeout" and headers["x-request-id"].startswith("req_")
    answer = json.loads(body)
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None and answer["error"]["code"] == -32600
    assert "--header-timeout" in answer["error"]["message"]
