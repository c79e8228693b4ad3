"""`rlmx view`'s local web server: the stdlib's, so the viewer needs nothing beyond the core install.

Routes: `GET /` the page (`?trace=NAME` opens a trace), `GET /api/traces` the folder's traces (newest first),
`GET /api/traces/NAME` one trace's events as a JSON array. Only the files of one folder that are rlmx traces are
served, by bare file name: nothing else on disk can be reached through it.

Only the one who launched it is served: the URL it prints carries a random token, made per launch (as Jupyter's
does). The first page load with it sets an HttpOnly, SameSite=Strict cookie for later visits in a tab; the page itself
sends the token it was loaded with on its own fetches (`Authorization: token T`) and links, since a browser sends no
SameSite=Strict cookie to a frame on another site (Jupyter's IFrame). Every other request, without that token (in
`?token=`, the cookie, or the header), gets 403. A sandboxed cell of the default tier can reach 127.0.0.1, and the
traces quote every run's context. No response sends a Referer: the page's URL holds the token.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

from rlmx.events import strict_json
from rlmx.sandbox.frames import escaped, utf8
from rlmx.viewer import page
from rlmx.viewer.store import checked, list_traces, read_trace, trace_info, with_notes

CHECKED_ROWS = 50
"""The newest traces the picker reads whole for lines that are not JSON objects (`rlmx traces` reads its rows')."""


class ViewerServer(ThreadingHTTPServer):
    """Serves the viewer for the traces of `folder` at http://host:port/ until `shutdown()`."""

    daemon_threads = True

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self.token = secrets.token_urlsafe(32)
        super().__init__((host, port), _Handler)

    @property
    def address(self) -> str:
        """http://host:port/, with no token: every request to it is refused."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    @property
    def url(self) -> str:
        """The page's URL with this launch's token: the one to print or open."""
        return f"{self.address}?token={self.token}"

    def url_for(self, trace: Path) -> str:
        """The page's URL for `trace`, its name percent-encoded: `+`, `#`, `%` and spaces (`trace (1).jsonl`, a
        browser's download) would otherwise name another file, or end a terminal's link. The name's bytes are
        quoted, as the file system holds them: a name that is not UTF-8 (the bytes `caf\\xe9.jsonl`) has no text
        to quote, and the server reads the bytes back (`file_name`)."""
        return f"{self.address}?trace={quoted_name(trace.name)}&token={self.token}"

    @property
    def cookie_name(self) -> str:
        """Per port: a browser sends a host's cookies to all its ports, and two viewers may run at once."""
        return f"rlmx-view-{self.server_address[1]}"

    def admits(self, query: str, cookie_header: str | None, authorization: str | None) -> bool:
        """Whether a request carries this launch's token: in its query, its cookie or its Authorization header."""
        offered = [*parse_qs(query).get("token", []), *_cookie_values(cookie_header, self.cookie_name)]
        if authorization and authorization.lower().startswith("token "):
            offered.append(authorization[len("token ") :].strip())
        return any(hmac.compare_digest(each.encode(), self.token.encode()) for each in offered)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser gone before its reply was sent (a tab closed, a reload, the browser quit) is no error: the
        stdlib would print its traceback on the user's terminal. Any other error is reported as the stdlib does."""
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipeError, ConnectionResetError, ...
            return
        super().handle_error(request, client_address)

    def start(self) -> threading.Thread:
        """Serve on a background thread (tests; `rlmx view` serves on its main thread)."""
        thread = threading.Thread(target=self.serve_forever, name="rlmx-viewer", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "rlmx-viewer"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif not self.server.admits(parts.query, self.headers.get("Cookie"), self.headers.get("Authorization")):
            message = "this viewer serves only the one who started it: open the URL `rlmx view` printed (with ?token=)"
            self._json({"error": message}, HTTPStatus.FORBIDDEN)
        elif path in ("/", "/index.html"):
            # relative to the page (served at / and /index.html): it works under a reverse proxy's path prefix too
            trace_url, trace = _opened(parts.query)
            html = page(list_url="api/traces", trace_base="api/traces/", trace_url=trace_url, trace=trace)
            cookie = f"{self.server.cookie_name}={self.server.token}; Path=/; HttpOnly; SameSite=Strict"
            self._send(HTTPStatus.OK, utf8(html), "text/html; charset=utf-8", cookie)
        elif path == "/api/traces":
            # The first rows are read whole (`checked`, cached by size and mtime), so a damaged trace is not
            # listed as a sound one; further down the list says only what the first and last lines do.
            traces = list_traces(self.server.folder)
            self._json([(checked(t) if i < CHECKED_ROWS else t).to_dict() for i, t in enumerate(traces)])
        elif path.startswith("/api/traces/"):
            self._trace(file_name(path.removeprefix("/api/traces/")))
        else:
            self._json({"error": f"no such page: {path}"}, HTTPStatus.NOT_FOUND)

    def _trace(self, name: str) -> None:
        candidate: Path | None = self.server.folder / name
        if "/" in name or "\\" in name or name.startswith(".") or trace_info(self.server.folder / name) is None:
            # only a name the listing gave (one that is not UTF-8 is listed with escapes: "run-caf\\udce9.jsonl")
            candidate = next((Path(t.path) for t in list_traces(self.server.folder) if t.name == name), None)
        if candidate is None:
            self._json({"error": f"no trace named {name!r} in {self.server.folder}"}, HTTPStatus.NOT_FOUND)
            return
        try:
            events = read_trace(candidate)
        except (OSError, ValueError) as exc:
            self._json({"error": str(exc)}, HTTPStatus.UNPROCESSABLE_ENTITY)
            return
        self._json(with_notes(events))  # lines that were skipped: a note the page shows above the run

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        # A trace may hold a lone surrogate (valid JSON as "\ud83d"): it must not drop the connection.
        body = utf8(strict_json(data, ensure_ascii=False, default=str))  # a NaN in a trace: null, as JSON.parse reads
        self._send(status, body, "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, cookie: str | None = None) -> None:
        self.send_response(status)
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the page's URL holds the token
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the terminal shows the address, not every request
        pass


def quoted_name(name: str) -> str:
    """A file name percent-encoded from its bytes (`os.fsencode`): "caf%E9.jsonl" for a Latin-1 name."""
    return quote(os.fsencode(name), safe="")


def file_name(quoted: str) -> str:
    """The file name `quoted` names (`quoted_name` undone): its bytes decoded as the file system does, so a name that
    is not UTF-8 names its file again ("caf%E9.jsonl" is "caf\\udce9.jsonl"); a UTF-8 name is its text."""
    return os.fsdecode(unquote_to_bytes(quoted))


def _opened(query: str) -> tuple[str | None, str | None]:
    """The page's config for the trace `?trace=` names, read from its bytes: the page's own reading of the URL
    (URLSearchParams) makes a byte that is not UTF-8 U+FFFD, which names no file. The page fetches the trace by
    those bytes and shows its name as the listing does ("caf\\udce9.jsonl"). (None, None) when no trace is named."""
    raw = [value for key, _, value in (pair.partition("=") for pair in query.split("&")) if key == "trace"]
    if not raw or not raw[0]:
        return None, None
    name = file_name(raw[0].replace("+", " "))
    return f"api/traces/{quoted_name(name)}", escaped(name)


def _cookie_values(header: str | None, name: str) -> list[str]:
    """The values of the cookies called `name` in a Cookie header (parsed by hand: http.cookies gives up on a whole
    header for one cookie it cannot read, and a browser sends every cookie of 127.0.0.1, other servers' too)."""
    pairs = (part.strip().partition("=") for part in (header or "").split(";"))
    return [value.strip() for key, _, value in pairs if key.strip() == name]
