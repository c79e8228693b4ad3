"""`rlmx mcp --http` answers a connection past --max-connections with a JSON-RPC error (no id: the request was
not read) and Retry-After, as every refusal on this transport is one; it was a plain-text 503 (audit 85 serve V01)."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_harness import mcp_http, repl

from server.test_serve_round85 import refused_past_the_bound


def test_mcp_http_past_the_bound_gets_a_jsonrpc_error(tmp_path: Path) -> None:
    with mcp_http(tmp_path, [repl("FINAL('x')")], "--max-connections", "1") as http:
        said = refused_past_the_bound(http.port, 1)
    head, _, body = said.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in head.lower()
    answer = json.loads(body)
    assert answer["jsonrpc"] == "2.0" and answer["id"] is None and answer["error"]["code"] == -32000
