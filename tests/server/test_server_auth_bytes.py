"""`rlmx serve`'s key check takes the key's own bytes (a key read from an environment variable that is not UTF-8)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from rlmx.errors import InputError
from rlmx.server.app import ServerOptions, _Auth


async def test_a_key_that_is_not_utf8_is_compared_as_its_bytes() -> None:
    reached: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    key = os.fsdecode(b"s\xe9cret")  # as os.environ holds it
    auth = _Auth(app, key)
    for given in (b"Bearer s\xe9cret", b"Bearer wrong"):
        scope = {"type": "http", "method": "GET", "path": "/v1/models", "headers": [(b"authorization", given)]}
        await auth(scope, _no_body, send)
    assert reached == ["/v1/models"] and sent[0]["status"] == 401


async def _accepts(server_key: str, sent: bytes) -> bool:
    """Whether the server, its key given as `server_key`, lets a request with `Authorization: sent` through."""
    reached: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: dict[str, Any]) -> None:
        pass

    auth = _Auth(app, ServerOptions(api_key=server_key).api_key)
    scope = {"type": "http", "method": "GET", "path": "/v1/models", "headers": [(b"authorization", sent)]}
    await auth(scope, _no_body, send)
    return reached == ["/v1/models"]


async def test_a_key_read_with_its_line_end_accepts_the_key_itself() -> None:
    # RLMX_SERVER_API_KEY=$'secret\r' (a key file with Windows line ends): no client can send the line end, so the
    # server took no client at all.
    assert await _accepts("secret\r\n", b"Bearer secret")


def test_a_key_with_a_line_break_inside_is_refused_at_start() -> None:
    with pytest.raises(InputError, match="control character"):
        ServerOptions(api_key="sec\nret")


async def test_a_key_read_from_a_file_with_a_byte_order_mark_accepts_the_key_itself() -> None:
    # --server-api-key-env of a variable set from a file saved as "UTF-8 with BOM": no client sends the mark
    assert await _accepts("\ufeffsecret\u200b\n", b"Bearer secret")
    assert not await _accepts("\ufeffsecret", b"Bearer wrong")


def test_a_key_with_an_invisible_mark_inside_is_refused_at_start_naming_it() -> None:
    with pytest.raises(InputError, match=r"api_key holds U\+200B \(ZERO WIDTH SPACE\) at character 4"):
        ServerOptions(api_key="sec\u200bret")


async def _no_body() -> dict[str, Any]:
    """The ASGI receive of a request without a body (a refusal drains what is left of it first)."""
    return {"type": "http.request", "body": b"", "more_body": False}
