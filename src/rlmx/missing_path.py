"""Why a path a user named cannot be followed, in words: one rule for every "not found" rlmx says of a user's path.

`Path.exists()` and `stat()` follow symbolic links, so a link whose target is gone, or one that loops, read as "not
found" while `ls` lists it; the user then looks for a typo that is not there. `missing_path` names the link and what
is wrong with it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


def missing_path(path: str | os.PathLike[str], what: str) -> str:
    """The message for `path` (named as `what`, e.g. "context file") that cannot be followed: "{what} not found:
    {path}" when nothing is there, or what is wrong with the symbolic link that is there: its target does not exist
    (named), it loops, or a folder on its way cannot be read."""
    shown = os.fspath(path)
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{what} {shown} is a symbolic link that loops (too many levels of links); point it at a file"
        return f"cannot reach {what} {shown}: {exc.strerror}"
    else:
        return f"{what} not found: {shown}"  # it came back meanwhile; say what was asked
    if not os.path.islink(path):
        return f"{what} not found: {shown}"
    chain: list[str] = []
    at = Path(shown)
    while os.path.islink(at) and len(chain) < _MAX_HOPS:  # a chain of links: the last one points at nothing
        try:
            target = os.readlink(at)
        except OSError:
            break
        chain.append(target)
        at = at.parent / target
    links = f"a symbolic link to {chain[0]}" if chain else "a symbolic link"
    if len(chain) > 1:
        links += ", " + ", ".join(f"a link to {hop}" for hop in chain[1:])
    return f"{what} {shown} is {links}, which does not exist ({at}); fix the link or give the file itself"


_MAX_HOPS = 40
"""Links followed along a chain (Linux's own limit, MAXSYMLINKS)."""
