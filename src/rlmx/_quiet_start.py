"""The `rlmx` command's first moments: a Ctrl-C while its modules load quits with 130 and no traceback.

Imported first by the package. It acts only when the process is the `rlmx` console script and Python's own
SIGINT handler is in place, so a library user's program is never touched; `rlmx.cli.main` puts Python's
handler back as soon as it starts and handles Ctrl-C itself from then on.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # C module (no stub): `signal` loads enum first, a Ctrl-C window
import os
import sys


def quit_quietly(signum: int, frame: object) -> None:
    os._exit(130)


def started_as_the_command() -> bool:
    return os.path.basename(sys.argv[0] if sys.argv else "") == "rlmx"


if started_as_the_command() and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, quit_quietly)


def restore() -> None:
    """Python's own SIGINT handler again, if the quiet one is still in place (called by `rlmx.cli.main`)."""
    if _signal.getsignal(_signal.SIGINT) is quit_quietly:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
