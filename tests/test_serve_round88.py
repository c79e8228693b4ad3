"""rlmx's HTTP servers (audit 88 serve). A request that uvicorn's own HTTP parser refuses (a malformed request
line, header or body framing) gets a 400 in the server's error shape with an `x-request-id`, on `rlmx serve` an
OpenAI error object and on `rlmx mcp --http` a JSON-RPC error, with h11's parser and httptools' alike (it was
uvicorn's bare text/plain "Invalid HTTP request received." with no id). A stopping server keeps its port and its
idle kept-alive connections open while its running requests finish: a request that comes meanwhile gets the 503
"server shutting down" (it was refused at the TCP level, or its kept-alive connection closed with no reply), and
`rlmx serve`'s /health says it is going."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from rlmx.commands.mcp import _jsonrpc_refusal
from rlmx.commands.serve import _openai_refusal
from rlmx.http_access import Refusal, bounded_connections
from server.test_serve_command import serve_command, serving
from server.test_serve_round84 import closed_within
from server.test_serve_round86 import parts

HOST = b"Host: 127.0.0.1\r\n"

MALFORMED = {
    "a Content-Length that is no number": b"POST /v1/chat/completions HTTP/1.1\r\n"
    + HOST
    + b"Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
    "a chunk size that is not hexadecimal": b"POST /v1/chat/completions HTTP/1.1\r\n"
    + HOST
    + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "a space in the request target": b"GET /v1/mo dels HTTP/1.1\r\n" + HOST + b"\r\n",
    "a header line without a colon": b"GET /health HTTP/1.1\r\n" + HOST + b"this is no header\r\n\r\n",
    "a transfer coding other than chunked": b"POST /v1/chat/completions HTTP/1.1\r\n"
    + HOST
    + b"Transfer-Encoding: gzip\r\n\r\n{}",
    "a protocol that is not HTTP": b"GET /health HTTQ/1.1\r\n" + HOST + b"\r\n",
    "a method with a delimiter in it": b"GE(T /health HTTP/1.1\r\n" + HOST + b"\r\n",
}


def _protocols() -> list[Any]:
    """uvicorn's two HTTP protocol classes, one of which its `auto` picks (httptools' when it is installed)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    found: list[Any] = [pytest.param(H11Protocol, id="h11")]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        found.append(pytest.param(None, id="httptools", marks=pytest.mark.skip(reason="httptools is not installed")))
    else:
        found.append(pytest.param(HttpToolsProtocol, id="httptools"))
    return found


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that reads the whole body and answers 200 "ok"."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def parsing(
    monkeypatch: pytest.MonkeyPatch, base: Any, shape: Callable[[Refusal], bytes]
) -> Iterator[Callable[[bytes], bytes]]:
    """A uvicorn server in a thread whose protocol is `bounded_connections` over `base`; yields a function that
    sends raw bytes on a new connection and returns all the server sent before it closed it."""
    import uvicorn

    monkeypatch.setattr("uvicorn.protocols.http.auto.AutoHTTPProtocol", base)
    protocol = bounded_connections(20, 100, shape=shape)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_echo, log_level="critical", http=protocol, lifespan="off"))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets=[sock]),))
    thread.start()

    def said(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(data)
            got = closed_within(connection, 10)
        assert got is not None, "the connection was left open"
        return got

    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield said
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.parametrize("base", _protocols())
def test_a_request_the_parser_refuses_gets_an_openai_error_with_a_request_id(
    monkeypatch: pytest.MonkeyPatch, base: Any
) -> None:
    ids = set()
    with parsing(monkeypatch, base, _openai_refusal) as said:
        for what, data in MALFORMED.items():
            status, headers, body = parts(said(data))
            assert status == "HTTP/1.1 400 Bad Request", (what, status)
            assert headers["content-type"].startswith("application/json"), what
            assert headers["connection"] == "close" and headers["x-request-id"].startswith("req_"), what
            ids.add(headers["x-request-id"])
            error = json.loads(body)["error"]
            assert set(error) == {"message", "type", "param", "code"}, what
            assert error["code"] == "invalid_http_request" and error["type"] == "invalid_request_error", what
            assert "malformed" in error["message"], what
    assert len(ids) == len(MALFORMED)  # one id per refusal


@pytest.mark.parametrize("base", _protocols())
def test_a_request_the_parser_refuses_gets_a_jsonrpc_error_over_mcp_http(
    monkeypatch: pytest.MonkeyPatch, base: Any
) -> None:
    with parsing(monkeypatch, base, _jsonrpc_refusal) as said:
        for what, data in MALFORMED.items():
            status, headers, body = parts(said(data.replace(b"/v1/chat/completions", b"/mcp")))
            assert status == "HTTP/1.1 400 Bad Request", (what, status)
            assert headers["x-request-id"].startswith("req_"), what
            reply = json.loads(body)
            assert reply["jsonrpc"] == "2.0" and reply["id"] is None, what
            assert reply["error"]["code"] == -32600, what


@pytest.mark.parametrize("base", _protocols())
def test_requests_before_a_malformed_one_on_the_connection_are_answered_first(
    monkeypatch: pytest.MonkeyPatch, base: Any
) -> None:
    good = b"GET /health HTTP/1.1\r\n" + HOST + b"\r\n"
    with parsing(monkeypatch, base, _openai_refusal) as said:
        got = said(good + good + MALFORMED["a space in the request target"])  # pipelined, in one write
    answers = re.findall(rb"HTTP/1\.1 (\d+) ", got)
    assert answers == [b"200", b"200", b"400"], got


def test_rlmx_serve_answers_a_malformed_request_in_openai_shape(tmp_path: Path) -> None:
    with serving(serve_command(tmp_path, ["FINAL(ok)"], "--port", "0")) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(MALFORMED["a Content-Length that is no number"])
            got = closed_within(connection, 10)
    assert got is not None
    status, headers, body = parts(got)
    assert status.startswith("HTTP/1.1 400") and "x-request-id" in headers, got
    assert json.loads(body)["error"]["code"] == "invalid_http_request"


MAIN = "import sys; from rlmx.cli import main; sys.exit(main())"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@contextmanager
def mcp_http(tmp_path: Path, replies: list[str], *flags: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`rlmx mcp --http` on a free port with a scripted model; its process and port; stopped on exit."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(replies), encoding="utf-8")
    errlog = tmp_path / "stderr.txt"
    command = [sys.executable, "-c", MAIN, "mcp", "--http", "--port", "0", "--scripted", str(script), *flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    with errlog.open("w") as err:
        process = subprocess.Popen(
            [*command, "--trace-dir", str(tmp_path / "t"), "--allow", str(tmp_path)],
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while "streamable HTTP at " not in (said := errlog.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, said
            time.sleep(0.05)
        yield process, int(said.split("streamable HTTP at http://")[1].split(":")[1].split("/")[0])
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def test_rlmx_mcp_http_answers_a_malformed_request_with_a_jsonrpc_error(tmp_path: Path) -> None:
    with mcp_http(tmp_path, ["FINAL('x')"]) as (_, port), socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"POST /mcp HTTP/1.1\r\n" + HOST + b"Content-Length: 1x\r\n\r\n{}")
        got = closed_within(connection, 10)
    assert got is not None
    status, headers, body = parts(got)
    assert status.startswith("HTTP/1.1 400") and "x-request-id" in headers, got
    reply = json.loads(body)
    assert reply["jsonrpc"] == "2.0" and reply["error"]["code"] == -32600


def _tool_call(request_id: int) -> dict[str, Any]:
    call = {"name": "rlm_ask", "arguments": {"query": "q", "text": "hello"}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call}


def test_a_stopping_mcp_server_answers_new_requests_with_503_while_a_call_runs(tmp_path: Path) -> None:
    slow = ["```repl\nimport time\ntime.sleep(6)\nprint('x')\n```", "FINAL(done)"]
    with mcp_http(tmp_path, slow, "--shutdown-timeout", "20") as (process, port):
        base = f"http://127.0.0.1:{port}"
        kept = httpx.Client(base_url=base, timeout=30)
        hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        opened = kept.post(
            "/mcp", headers=ACCEPT, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}
        )
        session = {**ACCEPT, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-03-26"}
        kept.post("/mcp", headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        got: dict[str, str] = {}

        def calling() -> None:
            got["call"] = httpx.post(f"{base}/mcp", headers=session, json=_tool_call(3), timeout=60).text

        caller = threading.Thread(target=calling)
        caller.start()
        time.sleep(2.0)  # the call's 6 s cell runs
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        fresh = httpx.post(f"{base}/mcp", headers=session, json={"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
        again = kept.post("/mcp", headers=session, json={"jsonrpc": "2.0", "id": 10, "method": "tools/list"})
        kept.close()
        caller.join(60)
        process.wait(30)
    for answer, request_id in ((fresh, 9), (again, 10)):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == -32000 and answer.json()["id"] == request_id
        assert answer.headers["connection"] == "close"
    assert '"done"' in got["call"] or "done" in got["call"], got  # the running call finished within the grace
    assert process.returncode == 0


def test_a_stopping_rlmx_serve_answers_new_requests_and_health_with_503_while_a_run_goes_on(tmp_path: Path) -> None:
    slow = ["```repl\nimport time\ntime.sleep(6)\nprint('x')\n```", "FINAL(done)"]
    command = serve_command(tmp_path, slow, "--port", "0", "--shutdown-timeout", "20")
    ask = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
    with serving(command) as (url, process):
        kept = httpx.Client(base_url=url, timeout=30)
        assert kept.get("/health").status_code == 200
        got: dict[str, httpx.Response] = {}

        def asking() -> None:
            got["run"] = httpx.post(f"{url}/v1/chat/completions", json=ask, timeout=60)

        asker = threading.Thread(target=asking)
        asker.start()
        time.sleep(2.0)  # the run's 6 s cell runs
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        fresh = httpx.post(f"{url}/v1/chat/completions", json=ask, timeout=10)
        health = httpx.get(f"{url}/health", timeout=10)
        again = kept.post("/v1/chat/completions", json=ask)
        kept.close()
        asker.join(60)
        process.wait(30)
    for answer in (fresh, again):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "server_shutting_down"
        assert answer.headers["x-request-id"]
    assert health.status_code == 503 and health.json()["status"] == "shutting_down", health.text
    assert got["run"].status_code == 200, got["run"].text  # the running request finished within the grace
    assert got["run"].json()["choices"][0]["message"]["content"] == "done"
    assert process.returncode == 0
