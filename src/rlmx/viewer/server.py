"""`rlmx view`'s local web server: the stdlib's, so the viewer needs nothing beyond the core install.

Routes: `GET /` the page (`?trace=NAME` opens a trace), `GET /api/traces` the folder's traces (newest first),
`GET /api/traces/NAME` one trace's events as a JSON array. Only the files of one folder that are rlmx traces are
served, by bare file name: nothing else on disk can be reached through it.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from rlmx.sandbox.frames import utf8
from rlmx.viewer import page
from rlmx.viewer.store import list_traces, read_trace, trace_info


class ViewerServer(ThreadingHTTPServer):
    """Serves the viewer for the traces of `folder` at http://host:port/ until `shutdown()`."""

    daemon_threads = True

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def url_for(self, trace: Path) -> str:
        """The page's URL for `trace`, its name percent-encoded: `+`, `#`, `%` and spaces (`trace (1).jsonl`, a
        browser's download) would otherwise name another file, or end a terminal's link."""
        return f"{self.url}?trace={quote(trace.name, safe='')}"

    def start(self) -> threading.Thread:
        """Serve on a background thread (tests; `rlmx view` serves on its main thread)."""
        thread = threading.Thread(target=self.serve_forever, name="rlmx-viewer", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "rlmx-viewer"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            html = page(list_url="/api/traces", trace_base="/api/traces/")
            self._send(HTTPStatus.OK, utf8(html), "text/html; charset=utf-8")
        elif path == "/api/traces":
            self._json([info.to_dict() for info in list_traces(self.server.folder)])
        elif path.startswith("/api/traces/"):
            self._trace(unquote(path.removeprefix("/api/traces/")))
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
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
        self._json(events)

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        # A trace may hold a lone surrogate (valid JSON as "\ud83d"): it must not drop the connection.
        body = utf8(json.dumps(data, ensure_ascii=False, default=str))
        self._send(status, body, "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the terminal shows the address, not every request
        pass
