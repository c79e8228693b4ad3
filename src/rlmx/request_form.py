"""The request an rlmx HTTP server's routes see, in one form however a client wrote it (`rlmx serve`, `rlmx mcp
--http`): a path with a trailing slash is the path without it (`POST /v1/chat/completions/`, `POST /mcp/`), served
where Starlette answered a bare 307 redirect that clients which do not resend a POST's body take as the answer; a
`Content-Type` whose media type is written in capitals (`Application/JSON`) is its lower-case form, as RFC 9110
8.3.1 makes media types case-insensitive (the MCP SDK compares the exact string and refused it with 415).
Plain ASGI: no web framework.
"""

from __future__ import annotations

from typing import Any

ASGIApp = Any


SLASHES_KEY = "rlmx.trailing_slashes"
"""The scope key holding how many trailing slashes `RequestForm` took off the path (0 when none): a page that
links relative to its own URL (the viewer at /view/{id}) needs the URL the browser resolves against."""


def canonical_path(path: str) -> str:
    """`path` without its trailing slashes ("/v1/models/" -> "/v1/models"); "/" stays "/"."""
    stripped = path.rstrip("/")
    return stripped or "/"


def canonical_media_type(value: bytes) -> bytes:
    """A Content-Type value with its media type (before any `;`) in lower case; its parameters as sent."""
    media, semicolon, parameters = value.partition(b";")
    return media.strip().lower() + semicolon + parameters


class RequestForm:
    """ASGI middleware: HTTP requests reach `app` with `canonical_path` and `canonical_media_type` applied."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = canonical_path(scope.get("path", "/"))
            headers = [
                (name, canonical_media_type(value) if name.lower() == b"content-type" else value)
                for name, value in scope.get("headers", [])
            ]
            original = scope.get("path", "/")
            changed: dict[str, Any] = {"headers": headers, SLASHES_KEY: len(original) - len(original.rstrip("/"))}
            if path != original:
                raw = scope.get("raw_path")
                changed["path"] = path
                if isinstance(raw, bytes):
                    changed["raw_path"] = canonical_path(raw.decode("latin-1")).encode("latin-1")
            scope = {**scope, **changed}
        await self.app(scope, receive, send)
