"""The trace viewer: one static page (plain HTML, CSS and JS shipped in `static/`) that renders a trace.

`page()` returns the page as one self-contained HTML document (CSS and JS inlined), told where to fetch the
trace and the list of traces. `rlmx view` serves it from a stdlib HTTP server (`rlmx.viewer.server`); `rlmx serve`
serves it at `/view/{id}` for its runs. The page reads the events of `rlmx.events.EVENTS` and nothing else.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from rlmx.events import strict_json
from rlmx.viewer.store import TraceInfo, list_traces, read_trace

__all__ = ["TraceInfo", "asset", "list_traces", "page", "read_trace"]


def asset(name: str) -> str:
    """The text of one file of the page (`index.html`, `viewer.css`, `viewer.js`)."""
    return (resources.files("rlmx.viewer") / "static" / name).read_text(encoding="utf-8")


def page(
    *,
    trace_url: str | None = None,
    trace_base: str | None = None,
    list_url: str | None = None,
    trace: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> str:
    """The viewer as one HTML document.

    `trace_url`: fetch this one trace (JSON array, {"events": [...]}, or JSON Lines). `trace_base`: the trace named
    in the page's `?trace=NAME` is fetched from `trace_base + NAME`. `list_url`: a JSON list of TraceInfo dicts, for
    the picker and a session's other questions. `trace`: the name to open first. `events`: the trace itself, embedded
    (a page that needs no server).
    """
    config: dict[str, Any] = {"traceUrl": trace_url, "traceBase": trace_base, "listUrl": list_url, "trace": trace}
    if events is not None:
        config["events"] = events
    # Inside a <script> element, "</script" ends it early and "<!--" followed by "<script" keeps the next one's end
    # from ending it (the HTML parser's "script data escaped" states): no "<" of the trace's may reach the page as
    # such. JSON writes it as \u003c, which no parser state reads.
    config_json = strict_json(config, ensure_ascii=False).replace("<", "\\u003c")  # JSON.parse refuses NaN
    parts = {"/*CSS*/": asset("viewer.css"), "/*CONFIG*/": config_json, "/*JS*/": asset("viewer.js")}
    parts["/*JS*/"] = parts["/*JS*/"].replace("</script", "<\\/script")
    # One pass over the template: a marker's text inside the trace (a cell that printed "/*JS*/") is data, not a
    # place to put the script.
    return re.sub(r"/\*(?:CSS|CONFIG|JS)\*/", lambda marker: parts[marker.group(0)], asset("index.html"))
