"""`rlmx mcp --http`, round 51: a POST's body goes through the same input step as a stdio line (`readable_message`):
a lone-surrogate request id comes back as the client wrote it, a UTF-8 BOM before the JSON is dropped, and a body that
is not UTF-8 gets a parse error that names its encoding."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.message import SessionMessage
from mcp_types import ErrorData, JSONRPCError
from test_mcp_round49 import answers, http_server

from rlmx.mcp.server import LONE_SURROGATE_IDS, LoneSurrogateIds, LoneSurrogatesReplaced, readable_message

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


# Round 52: stand-ins per exchange, dropped when answered or cancelled, batches member by member.


def ids_marked(ids: LoneSurrogateIds, message: str, exchange: Hashable = "stdio") -> dict[str, Any]:
    """`message` (JSON text, maybe with a lone escape) as `ids.marked` hands it to the SDK, parsed."""
    parsed = json.loads(ids.marked(message.encode(), lambda: exchange))
    assert isinstance(parsed, dict)
    return parsed


def cancel(request_id: str) -> str:
    return f'{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{request_id}}}}}'


def test_a_cancelled_request_and_a_response_leave_no_stand_in_and_a_reused_id_is_cancelled() -> None:
    ids = LoneSurrogateIds()
    first = ids_marked(ids, ask('"c-\\udc80"').decode())["id"]
    assert first.startswith("rlmx-lone-surrogate-id-") and len(ids) == 1
    assert ids_marked(ids, cancel('"c-\\udc80"'))["params"]["requestId"] == first
    assert len(ids) == 0  # a cancelled request gets no reply to drop it: it stayed for the process's life
    # the same id again: its cancel names the new request, not the first one's stale stand-in
    second = ids_marked(ids, ask('"c-\\udc80"').decode())["id"]
    assert second != first
    assert ids_marked(ids, cancel('"c-\\udc80"'))["params"]["requestId"] == second
    # a client's response (no "method") needs no stand-in: the SDK answers nothing to it
    response = b'{"jsonrpc":"2.0","id":"r-\\udc80","result":{}}'
    assert ids.marked(response) == response
    assert len(ids) == 0


def test_stand_ins_are_bounded_oldest_dropped_first() -> None:
    ids = LoneSurrogateIds(limit=3)
    given = [ids_marked(ids, ask(f'"n{n}-\\ud83d"').decode())["id"] for n in range(5)]
    assert len(ids) == 3
    assert ids_marked(ids, cancel('"n0-\\ud83d"'))["params"]["requestId"] == "n0-\ud83d"  # dropped: not mapped
    assert ids_marked(ids, cancel('"n4-\\ud83d"'))["params"]["requestId"] == given[4]


def test_a_cancel_names_the_request_of_its_own_session_not_another_clients() -> None:
    ids = LoneSurrogateIds()
    for_a = ids_marked(ids, ask('"q-\\udc80"').decode(), ("mcp-session", b"A"))["id"]
    for_b = ids_marked(ids, ask('"q-\\udc80"').decode(), ("mcp-session", b"B"))["id"]
    assert for_a != for_b
    assert ids_marked(ids, cancel('"q-\\udc80"'), ("mcp-session", b"B"))["params"]["requestId"] == for_b
    assert ids_marked(ids, cancel('"q-\\udc80"'), ("mcp-session", b"A"))["params"]["requestId"] == for_a


async def test_http_cancels_in_two_sessions_reach_each_sessions_own_request() -> None:
    # Two clients (own Mcp-Session-Ids) have a call with the same lone-surrogate id in flight; each cancels its own.
    seen: list[dict[str, Any]] = []
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = json.loads((await receive())["body"])
        seen.append(request)
        if "id" in request:
            await release.wait()
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def post_in(session: bytes, body: bytes) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        scope = {"type": "http", "method": "POST", "headers": [(b"mcp-session-id", session)]}
        await LoneSurrogatesReplaced(app)(scope, receive, send)

    calls = [asyncio.create_task(post_in(s, ask('"q-\\udc80"'))) for s in (b"A", b"B")]
    while len(seen) < 2:
        await asyncio.sleep(0)
    await post_in(b"B", cancel('"q-\\udc80"').encode())
    await post_in(b"A", cancel('"q-\\udc80"').encode())
    release.set()
    await asyncio.gather(*calls)
    call_a, call_b, cancel_b, cancel_a = seen
    assert cancel_b["params"]["requestId"] == call_b["id"]  # was call_a's: the first match in one shared table
    assert cancel_a["params"]["requestId"] == call_a["id"]


@pytest.mark.parametrize("session", [None, b"S"])
async def test_a_batch_gets_back_each_lone_surrogate_id_as_sent(session: bytes | None) -> None:
    # JSON-RPC 2.0 §6: each reply of a batch carries its request's id; they came back as "a-\ufffd", "b-\ufffd".
    async def answer_each(scope: dict[str, Any], receive: Any, send: Any) -> None:
        batch = json.loads((await receive())["body"])
        body = json.dumps([{"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32600, "message": "x"}} for m in batch])
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": body.encode(), "more_body": False})

    batch = (
        b'[{"jsonrpc":"2.0","id":"a-\\udc80","method":"ping"},{"jsonrpc":"2.0","id":"b-\\ud83d","method":"tools/list"},'
        b'{"jsonrpc":"2.0","id":7,"method":"ping"}]'
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BOM + batch, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [] if session is None else [(b"mcp-session-id", session)]
    await LoneSurrogatesReplaced(answer_each)({"type": "http", "method": "POST", "headers": headers}, receive, send)
    body = sent[-1]["body"]
    assert [m["id"] for m in json.loads(body)] == ["a-\udc80", "b-\ud83d", 7]
    assert b"rlmx-lone-surrogate-id" not in body
    assert len(LONE_SURROGATE_IDS) == 0


def test_stdio_batch_members_get_stand_ins_and_their_errors_the_clients_ids() -> None:
    line = b'[{"jsonrpc":"2.0","id":"a-\\udc80","method":"ping"},{"jsonrpc":"2.0","id":"r-\\udc80","result":{}}]\n'
    batch = json.loads(readable_message(line))
    stand_in = batch[0]["id"]
    assert stand_in.startswith("rlmx-lone-surrogate-id-")
    assert batch[1]["id"] == "r-\ufffd"  # a response: no stand-in
    error = SessionMessage(JSONRPCError(jsonrpc="2.0", id=stand_in, error=ErrorData(code=-32600, message="x")))
    written = LONE_SURROGATE_IDS.restored(error).message.model_dump_json()
    assert json.loads(written)["id"] == "a-\udc80" and '"a-\\udc80"' in written
    assert len(LONE_SURROGATE_IDS) == 0
