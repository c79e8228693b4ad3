"""`rlmx view`: open a trace in the browser (a local page served by the stdlib; no build step, no extra).

rlmx view                      # the recent traces, numbered, and a page to pick one
rlmx view 1                    # the newest trace (numbers as in `rlmx traces`)
rlmx view run.jsonl --open     # a trace file; opens the browser
rlmx view run.jsonl --html run.html   # a self-contained page to keep or share (no server)
"""

from __future__ import annotations

import argparse
import errno
import html
import os
import signal
import tempfile
import threading
import webbrowser
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.markup import escape

from rlmx.commands import argtypes
from rlmx.commands.argtypes import folder_path
from rlmx.commands.argtypes import port as _port
from rlmx.commands.traces import resolve, show_list, trace_dir
from rlmx.errors import InputError
from rlmx.events import create_private_file
from rlmx.http_access import LOOPBACK_HOSTS
from rlmx.sandbox.frames import utf8
from rlmx.viewer import page
from rlmx.viewer.server import ViewerServer
from rlmx.viewer.store import list_traces, overwrite_problem, read_trace, with_notes

DEFAULT_PORT = 8765


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "view",
        help="show a trace as a tree in the browser",
        description="Serve a local page that shows a run as a tree: turns, code cells, outputs, sub-calls and child "
        "RLMs, with tokens, cost and time, errors and budget stops. Without TRACE it lists the recent traces.",
        epilog="TRACE is a trace file, a number from `rlmx traces` (1 is the newest), or a run id. The page is "
        "served until Ctrl-C, only through the URL printed (it carries a token made for this launch).",
    )
    parser.add_argument("trace", metavar="TRACE", nargs="?", help="a trace file, a number (1 = newest) or a run id")
    parser.add_argument(
        "--port", type=_port, metavar="P", help=f"port (default: {DEFAULT_PORT}, or a free one when it is taken)"
    )
    parser.add_argument(
        "--host", type=argtypes.host, default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in the web browser")
    parser.add_argument(
        "--html",
        metavar="FILE",
        type=argtypes.file_path,
        help="write a self-contained page holding the trace to FILE, and exit",
    )
    parser.add_argument(
        "--trace-dir",
        metavar="DIR",
        type=folder_path,
        help="the traces folder (default: $XDG_STATE_HOME/rlmx/traces, or ~/.local/state/rlmx/traces)",
    )
    return parser


def main(args: argparse.Namespace, environ: Mapping[str, str], err: Console) -> int:
    """Serve until Ctrl-C (exit 130, as every rlmx command interrupted so) or SIGTERM (exit 0); InputError
    (exit 2) for a bad TRACE or a taken port. `--html` writes the page and exits 0."""
    folder = trace_dir(args, environ)
    chosen = resolve(args.trace, folder) if args.trace else None
    if args.html is not None:
        if chosen is None:
            raise InputError("--html needs a TRACE to put in the page")
        return _write_html(chosen, args.html, err)
    if chosen is not None:
        folder = chosen.parent  # the session's other questions live beside it
    else:
        traces = list_traces(folder)
        if not traces:
            raise InputError(f"no traces in {folder} yet: run `rlmx ask ...` first, or pass a trace file")
        show_list(traces, folder, err, limit=10)
    server = _bind(folder, args.host, args.port)
    url = server.url_for(chosen) if chosen is not None else server.url
    return _serve(server, url, args, err)


class _Terminated(Exception):
    """SIGTERM while serving: a polite stop, exit 0."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _serve(server: ViewerServer, url: str, args: argparse.Namespace, err: Console) -> int:
    """Announce `url`, then serve until Ctrl-C (130) or SIGTERM (0): both are handled from before the
    announcement on, since a user (or a script) may stop it as soon as it is shown."""
    from rlmx.cli import EXIT_INTERRUPTED  # late: cli imports this module

    # Only the main thread may set a handler (`main(["view"])` called from a thread, or from a notebook's loop on
    # rlmx's helper thread): elsewhere SIGTERM keeps its own meaning, as under http.server itself.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    code, why = 0, "SIGTERM"
    redirects = tempfile.TemporaryDirectory(prefix="rlmx-view-")  # 0700: the redirect page's folder
    try:
        err.print(f"rlmx: trace viewer at {url}  (Ctrl-C stops it)", highlight=False, soft_wrap=True)
        if args.host not in LOOPBACK_HOSTS:
            err.print(
                f"rlmx: warning: listening on {args.host} over plain HTTP: anyone who can see the traffic learns the "
                "URL's token and can read every trace in the folder, and traces quote your contexts",
                style="bold yellow",
                highlight=False,
                soft_wrap=True,
            )
        if args.open and not _open_browser(url, redirects):  # no browser here (a server, an SSH session)
            err.print(f"rlmx: no browser could be started here; open {url} yourself", highlight=False, soft_wrap=True)
        server.serve_forever()
    except KeyboardInterrupt:
        code, why = EXIT_INTERRUPTED, "Ctrl-C"
    except _Terminated:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.server_close()
        redirects.cleanup()
    err.print(f"rlmx: trace viewer stopped ({why})", highlight=False, soft_wrap=True)
    return code


def _open_browser(url: str, folder: tempfile.TemporaryDirectory[str]) -> bool:
    """Open `url` in the browser through a page in `folder` that redirects to it, as Jupyter does (notebook#4260):
    a browser keeps the URL it was started with in its argv, which every process may read in /proc/<pid>/cmdline
    (a default-tier cell too), and the token in the URL opens every trace. The page is the owner's alone (0600, in
    a 0700 folder) and goes when the viewer stops. Returns whether a browser was started."""
    page_path = Path(folder.name) / "open.html"
    target = html.escape(url, quote=True)
    text = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={target}">'
        f'<meta name="referrer" content="no-referrer"></head><body><p><a href="{target}">Open the rlmx trace viewer'
        "</a></p></body></html>"
    )
    with os.fdopen(os.open(page_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "w") as handle:
        handle.write(text)
    return webbrowser.open(page_path.as_uri())


def _bind(folder: Path, host: str, port: int | None) -> ViewerServer:
    try:
        return ViewerServer(folder, host, DEFAULT_PORT if port is None else port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and port is None:
            return ViewerServer(folder, host, 0)  # the default port is taken: any free one will do
        raise InputError(
            f"cannot listen on {host}:{port if port is not None else DEFAULT_PORT}: {exc.strerror}"
        ) from None


def _write_html(trace: Path, target: Path, err: Console) -> int:
    """Write the page for `trace` to `target`. InputError (exit 2), before anything is written, when `target` is a
    trace (`overwrite_problem`: the trace itself, or any other: a page written there would destroy the run's record)
    or a non-empty file that is no earlier page (an example or report of the user's)."""
    target = target.expanduser().absolute()  # said in full: the user sees where the page went
    problem = overwrite_problem(target, trace, pages=True)
    if problem is not None:
        lost = "the trace" if "trace" in problem else "it"
        raise InputError(
            f"--html {target} {problem}: the page would be written over it and {lost} lost; "
            f"name a new file, e.g. --html {trace.with_suffix('.html').name}"
        )
    try:
        events = read_trace(trace)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {trace}: {exc}") from None
    try:
        # the page quotes the whole run, as its trace does: its owner's alone (0600), like the trace
        with os.fdopen(create_private_file(target), "wb") as out:
            out.write(utf8(page(events=with_notes(events))))  # a trace's "\ud83d" escape becomes U+FFFD
    except BrokenPipeError:  # `--html /dev/stdout | head`: the reader left, exit 141 as for any output (audit 81)
        raise
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    err.print(f"rlmx: wrote {escape(str(target))} ({len(events)} events); open it in any browser", highlight=False)
    note = events.note()
    if note:  # the page shows it too
        err.print(f"rlmx: {escape(note)}", style="yellow", highlight=False)
    return 0
