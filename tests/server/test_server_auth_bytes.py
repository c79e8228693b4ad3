"""`rlmx serve`'s key check takes the key's own bytes (a key read from an environment variable that is not UTF-8)."""

from __future__ import annotations

import os
from typing import Any

from rlmx.server.app import _Auth


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
        await auth(scope, None, send)
    assert reached == ["/v1/models"] and sent[0]["status"] == 401
