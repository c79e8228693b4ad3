"""`rlmx mcp --http`, round 51: a POST's body goes through the same input step as a stdio line (`readable_message`):
a lone-surrogate request id comes back as the client wrote it, a UTF-8 BOM before the JSON is dropped, and a body that
is not UTF-8 gets a parse error that names its encoding."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest
from test_mcp_round49 import answers, http_server

from rlmx.mcp.server import LoneSurrogatesReplaced

BOM = b"\xef\xbb\xbf"
HELLO = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},'
    b'"clientInfo":{"name":"raw","version":"1"}}}'
)


def post(port: int, body: bytes, session: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """POST raw `body` bytes to /mcp (in `session`, if given); the status, headers and body of the reply."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if session is not None:
            headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
        connection.request("POST", "/mcp", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def ask(request_id: str) -> bytes:
    """A tools/call of rlm_ask whose id is `request_id`, JSON text written as is (it may hold a lone escape)."""
    arguments = '{"name":"rlm_ask","arguments":{"query":"q","text":"t"}}'
    return f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":{arguments}}}'.encode()


@pytest.mark.slow
def test_http_answers_a_bom_and_gives_back_a_lone_surrogate_id_as_sent(tmp_path: Path) -> None:
    with http_server(tmp_path) as port:
        status, headers, body = post(port, BOM + HELLO)
        assert status == 200, body  # was 400 -32700 "expected value at line 1 column 1"
        assert answers(body)[0]["result"]["serverInfo"]["name"]
        session = headers["mcp-session-id"]
        post(port, b'{"jsonrpc":"2.0","method":"notifications/initialized"}', session)

        status, _, body = post(port, BOM + ask("2"), session)
        assert status == 200, body
        (reply,) = [m for m in answers(body) if "result" in m]
        assert reply["id"] == 2 and "ran" in json.dumps(reply)

        # JSON-RPC 2.0 §5: the reply's id is the request's; it came back as "id-\ufffd"
        status, _, body = post(port, ask('"id-\\udc80"'), session)
        assert status == 200, body
        (line,) = [line for line in body.split(b"\n") if line.startswith(b"data:") and b'"result"' in line]
        assert b'"id":"id-\\udc80"' in line
        assert json.loads(line[5:])["id"] == "id-\udc80"
        assert b"rlmx-lone-surrogate-id" not in body

        # the same id again (its stand-in was forgotten with the first reply; a fresh one is made)
        status, _, body = post(port, ask('"id-\\udc80"'), session)
        assert b'"id":"id-\\udc80"' in body


@pytest.mark.slow
def test_http_names_the_encoding_of_a_body_that_is_not_utf8(tmp_path: Path) -> None:
    utf16 = HELLO.decode().encode("utf-16")  # with its BOM
    with http_server(tmp_path) as port:
        for body, named in [
            (utf16, "UTF-16 (it starts with a UTF-16 byte order mark)"),
            (HELLO.decode().encode("utf-16-le"), "NUL byte (byte 1)"),
            (HELLO.replace(b'"raw"', '"caf\u00e9"'.encode("latin-1")), "not valid UTF-8 ('utf-8' codec can't decode"),
        ]:
            status, _, answer = post(port, body)
            assert status == 400
            error = json.loads(answer)["error"]
            assert error["code"] == -32700
            assert named in error["message"] and "send the JSON-RPC message as UTF-8" in error["message"], error
        assert post(port, HELLO)[0] == 200  # still serving


async def test_a_json_reply_to_a_lone_surrogate_id_gets_its_new_content_length() -> None:
    # The SDK's JSON-response mode sends a Content-Length: it must count the client's id, not the stand-in.
    async def echo_id(scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = json.loads((await receive())["body"])
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BOM + ask('"\\ud83d-x"'), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await LoneSurrogatesReplaced(echo_id)({"type": "http", "method": "POST"}, receive, send)
    start, body = sent
    assert b'"id": "\\ud83d-x"' in body["body"]
    assert dict(start["headers"])[b"content-length"] == str(len(body["body"])).encode()
