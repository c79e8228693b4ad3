"""Connection-level refusals of `rlmx serve` (audit 86 serve): each one has its own `x-request-id` (one id was built
per server and every 503 past --max-connections carried it); a request head that began and did not arrive in time
gets a 408 in OpenAI's error shape with an `x-request-id` (it was plain text without one); a connection already
refused no longer counts against --max-connections while it lingers half-closed for its client to read the 503
(with no live connection left, a new client was refused for a second). The viewer page at /view/{id} fetches its
trace by a URL relative to itself, so that it loads behind a reverse proxy serving rlmx under a path prefix (an
absolute /v1/traces/{id} left the prefix)."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from server.server_harness import MODEL, ask, start
from server.test_serve_command import serve_command, serving
from server.test_serve_round84 import closed_within

GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def parts(said: bytes) -> tuple[str, dict[str, str], bytes]:
    """A raw HTTP/1.1 response's status line, its headers (names lower case) and its body."""
    head, _, body = said.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


def refused_ids(port: int, held: int, tries: int) -> list[str]:
    """The x-request-id of each of `tries` connections refused while `held` others are open (--max-connections)."""
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(held)]
    ids = []
    try:
        for _ in range(tries):
            with socket.create_connection(("127.0.0.1", port)) as past:
                past.sendall(GET_HEALTH)
                said = closed_within(past, 10)
            assert said is not None
            status, headers, _ = parts(said)
            assert status.startswith("HTTP/1.1 503"), status
            ids.append(headers["x-request-id"])
    finally:
        for connection in idle:
            connection.close()
    return ids


def late_head(port: int, path: bytes) -> tuple[str, dict[str, str], bytes]:
    """What a connection gets that begins a POST head to `path` and never finishes it."""
    with socket.create_connection(("127.0.0.1", port)) as late:
        late.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        said = closed_within(late, 10)
    assert said is not None
    return parts(said)


def test_each_refusal_has_its_own_request_id_and_a_late_head_gets_an_openai_error(tmp_path: Path) -> None:
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--max-connections", "1", "--header-timeout", "1")
    with serving(command) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        ids = refused_ids(port, 1, 3)
        status, headers, body = late_head(port, b"/v1/chat/completions")
        second = late_head(port, b"/v1/chat/completions")[1]["x-request-id"]
    assert len(set(ids)) == 3 and all(each.startswith("req_") for each in ids), ids
    assert status == "HTTP/1.1 408 Request Timeout"
    assert headers["content-type"].startswith("application/json") and headers["connection"] == "close"
    assert headers["x-request-id"].startswith("req_") and second != headers["x-request-id"]
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "request_timeout" and error["type"] == "invalid_request_error"
    assert "--header-timeout" in error["message"]


def test_a_refused_connection_left_open_does_not_count_against_the_bound(tmp_path: Path) -> None:
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--max-connections", "2")
    with serving(command) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        refused = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        for each in refused:  # their clients read the 503 and keep their sockets open
            each.sendall(GET_HEALTH)
            each.settimeout(5)
            assert each.recv(65536).startswith(b"HTTP/1.1 503")
        for each in held:
            each.close()
        time.sleep(0.3)  # the server sees the held ones close; the refused ones linger (BUSY_LINGER, 1 s)
        with socket.create_connection(("127.0.0.1", port)) as fresh:
            fresh.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            said = closed_within(fresh, 10)
        for each in refused:
            each.close()
    assert said is not None and said.startswith(b"HTTP/1.1 200"), said[:200] if said else said


def test_the_header_timeout_help_names_the_408() -> None:
    import argparse

    from rlmx.commands.serve import add_connection_arguments

    parser = argparse.ArgumentParser()
    add_connection_arguments(parser.add_argument_group("g"), http_only=False)
    assert "408" in parser.format_help()


class _PrefixProxy(http.server.BaseHTTPRequestHandler):
    """A reverse proxy serving the upstream under /rlmx/, the prefix stripped (nginx's `location /rlmx/ {
    proxy_pass http://upstream/; }`); any other path is the proxy's own 404."""

    upstream = ""

    def do_GET(self) -> None:
        if not self.path.startswith("/rlmx/"):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        try:
            with urllib.request.urlopen(self.upstream + self.path.removeprefix("/rlmx"), timeout=10) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers.get("content-type", "")
        except urllib.error.HTTPError as refused:
            status, body, kind = refused.code, refused.read(), refused.headers.get("content-type", "")
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def trace_url_of(page: str) -> str:
    """The URL the viewer page fetches its trace from (its config's traceUrl)."""
    found = re.search(r'"traceUrl":\s*"([^"]*)"', page)
    assert found is not None, page[:500]
    return found.group(1)


def test_the_viewer_page_loads_its_trace_behind_a_path_prefix(tmp_path: Path) -> None:
    for served in start(tmp_path):
        with served.client() as client:
            response = client.chat.completions.create(
                model=MODEL, messages=ask("How long?"), extra_body={"context": "ab"}
            )
        trace_id = (response.model_extra or {})["rlmx"]["trace_id"]
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("P", (_PrefixProxy,), {"upstream": served.url}))
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            base = f"http://127.0.0.1:{proxy.server_address[1]}/rlmx"
            for page_url in (f"{base}/view/{trace_id}", f"{base}/view/{trace_id}/", f"{served.url}/view/{trace_id}/"):
                with urllib.request.urlopen(page_url, timeout=10) as page:
                    fetched = urllib.parse.urljoin(page_url, trace_url_of(page.read().decode()))
                with urllib.request.urlopen(fetched, timeout=10) as trace:  # as the browser resolves it
                    events = json.load(trace)
                assert events and events[0]["type"] == "run_start", (page_url, fetched)
        finally:
            proxy.shutdown()
            proxy.server_close()
