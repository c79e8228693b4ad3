"""Where the CLI's commands keep their runs' traces, and what they do when that folder cannot be written.

One rule for `rlmx ask`, `rlmx serve` and `rlmx mcp`: a folder the user named (`--trace-dir`) that cannot be written
is a usage error (exit 2) before any token is spent; the default folder (under XDG_STATE_HOME or HOME, which a service
account, a container or a read-only home may lack) costs the traces, not the answer: the command warns and goes on
without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from rlmx.errors import InputError
from rlmx.sandbox.bytecode import home_folder

NO_HOME = Path("~/.local/state/rlmx/traces")
"""What `default_trace_dir` gives when no home folder is known: a path never made (`usable_trace_dir` says False)."""


def default_trace_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_STATE_HOME/rlmx/traces` when XDG_STATE_HOME is an absolute path, else `~/.local/state/rlmx/traces`
    (the XDG Base Directory Specification's state home); `NO_HOME` (unexpanded, never made) when no home folder is
    known (HOME unset, no passwd entry: `docker run --user 12345`)."""
    state = environ.get("XDG_STATE_HOME", "")
    if state and Path(state).is_absolute():
        return Path(state) / "rlmx" / "traces"
    home = home_folder()
    return NO_HOME if home is None else home / ".local" / "state" / "rlmx" / "traces"


def usable_trace_dir(trace_dir: Path, *, given: bool) -> bool:
    """Whether traces can be written to `trace_dir` (made now, 0700, if missing). A folder the user named
    (`given`: --trace-dir) that cannot be written raises InputError (exit 2) naming it and the flag; the default
    one gives False: run without traces, and say so (`no_trace_folder_warning`)."""
    from rlmx.events import make_private_folders

    if trace_dir == NO_HOME:  # relative: it would be made under the current folder
        return False
    try:
        make_private_folders(trace_dir)  # 0700, as a run's own trace folder is made
        if os.access(trace_dir, os.W_OK | os.X_OK):
            return True
        reason = "not writable"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    if given:
        raise InputError(f"--trace-dir {trace_dir}: cannot write traces there ({reason}); pass a writable folder")
    return False


def no_trace_folder_warning(trace_dir: Path, going_on: str) -> str:
    """The warning for a default trace folder `usable_trace_dir` found unusable; `going_on` says what the command
    does instead (e.g. "serving without traces")."""
    why = " (no home folder is known: HOME is unset)" if trace_dir == NO_HOME else ""
    return (
        f"rlmx: warning: cannot create the trace folder {trace_dir}{why}; {going_on}. Keep traces with "
        "--trace-dir DIR (or set XDG_STATE_HOME)"
    )
