"""`rlmx serve` (audit 87 serve): a request head that begins while the previous answer on the same connection is
still being sent (HTTP/1.1 pipelining) is timed by --header-timeout from the moment that answer ends, and gets its
408 (no timer was armed: the connection was closed without a word by the 30 s keep-alive); an allowed origin with a
wildcard host (`https://*.example.com`), which matched no Origin, is refused at start-up with an error that says
which forms are accepted, on the command line and in `ServerOptions`."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from rlmx.errors import InputError
from rlmx.http_access import allowed_origin
from rlmx.server import ServerOptions
from scripting import repl
from server.test_serve_command import environ, serve_command, serving
from server.test_serve_round84 import closed_within
from server.test_serve_round86 import parts


def _pipelined(port: int, path: bytes, body: bytes) -> bytes:
    """What a connection gets that sends a whole POST of `body` to `path` and, in the same write, the first lines of
    a second request, then nothing (b"" if it was still open 15 s after its last byte)."""
    whole = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        path,
        len(body),
        body,
    )
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(whole + b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return closed_within(connection, 15) or b""


def test_a_pipelined_head_left_unfinished_gets_its_408_after_the_answer_before_it(tmp_path: Path) -> None:
    slow = [repl("import time\ntime.sleep(1.5)\nprint('x')"), "FINAL(ok)"]
    command = serve_command(tmp_path, slow, "--port", "0", "--header-timeout", "1")
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with serving(command) as (url, _):
        said = _pipelined(int(url.rsplit(":", 1)[1]), b"/v1/chat/completions", body)
    assert said.startswith(b"HTTP/1.1 200 OK"), said[:200]
    late = said.find(b"HTTP/1.1 408 Request Timeout")
    assert late > 0, said[-400:]  # the keep-alive closed it after 30 s, without one
    _, headers, answer = parts(said[late:])
    assert headers["connection"] == "close" and headers["x-request-id"].startswith("req_")
    assert json.loads(answer)["error"]["code"] == "request_timeout"


@pytest.mark.parametrize("given", ["https://*.example.com", "http://*.localhost:*", "https://app.*.example"])
def test_a_wildcard_host_origin_is_refused_at_start_up_saying_what_is_accepted(tmp_path: Path, given: str) -> None:
    command = serve_command(tmp_path, ["FINAL(ok)"], "--port", "0", "--cors-origin", given)
    done = subprocess.run(command, capture_output=True, text=True, env=environ(), timeout=120)
    assert done.returncode == 2, done.stderr
    assert "wildcard host" in done.stderr and "scheme://host[:port]" in done.stderr and "http://host:*" in done.stderr
    with pytest.raises(InputError, match="wildcard host"):
        ServerOptions(cors_origins=(given,))


@pytest.mark.parametrize("given", ["https://exa$mple.com", "http://bad host", "http://[zz]", "http://héllo.example"])
def test_an_origin_whose_host_no_browser_sends_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        allowed_origin(given)
    with pytest.raises(InputError, match="cors_origins"):
        ServerOptions(cors_origins=(given,))


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("HTTP://App.Example.COM/", "http://app.example.com"),
        ("http://[::1]:*", "http://[::1]:*"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("http://my_box:8080", "http://my_box:8080"),
        ("http://10.0.0.7", "http://10.0.0.7"),
    ],
)
def test_origins_browsers_send_are_still_accepted(given: str, kept: str) -> None:
    assert allowed_origin(given) == kept
    ServerOptions(cors_origins=(given, "*"))
