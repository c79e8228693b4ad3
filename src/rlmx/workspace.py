"""Workspace files: copies of the user's files placed in the REPL's working directory, on every sandbox tier.

`RLM(files=[Path("report.pdf")])` reads each file once, when the RLM is made (a missing, unreadable or
non-regular file is an InputError then), and writes a copy into the worker's working directory before the first
cell, so the model's code can `open("report.pdf", "rb")` or hand it to a library (pypdf, csv, ...). The copies are
mode 0444 (read-only) and live in the sandbox: the originals are never opened by the worker and never written
(the inprocess tier, whose REPL shares the host's directory, writes them to a private folder of its own instead,
and never moves the host's process there). The REPL's `workspace_dir` holds the folder's absolute path on every
tier, and the system prompt says so.
They travel inside the setup cell as base64, the same way on every tier (subprocess, isolated, docker, inprocess),
so they count against the frame limit (64 MiB a cell) and are re-placed after a REPL restart.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rlmx.context import printable_name, prompt_text
from rlmx.documents import read_regular
from rlmx.errors import InputError
from rlmx.missing_path import missing_path

MAX_WORKSPACE_BYTES = 32 * 1024 * 1024
"""All workspace files together (their base64 must fit one cell's frame with room to spare)."""


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    name: str
    data: bytes


def read_files(paths: Iterable[str | os.PathLike[str]]) -> list[WorkspaceFile]:
    """The files' names (base names, unique) and bytes. InputError naming the file for anything unusable."""
    if isinstance(paths, str | bytes | os.PathLike):
        raise InputError("files must be a list of paths, e.g. files=[Path('report.pdf')]")
    files: list[WorkspaceFile] = []
    total = 0
    for item in paths:
        if not isinstance(item, str | os.PathLike):
            raise InputError(f"files: {item!r} is not a path")
        path = Path(item)
        if not path.exists():
            raise InputError(missing_path(path, "workspace file"))
        if not path.is_file():
            raise InputError(f"workspace file {path} is not a regular file; give files (a folder's files one by one)")
        data = read_regular(path, MAX_WORKSPACE_BYTES - total, _over_limit)
        total += len(data)
        name = printable_name(path.name)  # the name the prompt shows is the one the REPL's copy has
        if any(f.name == name for f in files):
            raise InputError(f"two workspace files are named {name!r}; rename one (the REPL sees base names)")
        files.append(WorkspaceFile(name, data))
    return files


def _over_limit(path: Path, size: int, left: int) -> InputError:
    """The error for a workspace file bigger than the `left` bytes of MAX_WORKSPACE_BYTES: a fixed limit, not the
    contexts' `max_context_bytes` (raising that does not help)."""
    taken = MAX_WORKSPACE_BYTES - left
    others = f"; the files before it take {taken:,}" if taken else ""
    return InputError(
        f"workspace file {path} is {size:,} bytes, over the workspace limit of {MAX_WORKSPACE_BYTES:,} bytes "
        f"(32 MiB) for all files=[...] (rlmx ask: --file) together{others}. The files travel in the REPL's setup "
        "cell, so the limit is fixed: pass a smaller file, or pass a text file or document as a context instead "
        "(context=Path(...); rlmx ask: --context PATH), which may hold up to max_context_bytes"
    )


def placement_code(files: list[WorkspaceFile]) -> str:
    """REPL code that writes the files into the working directory (or the tier's own folder), read-only, and
    leaves one variable behind: `workspace_dir`, that folder's absolute path (`describe` names it to the model). It is
    bound as a variable the REPL provides (`Worker.provide`, reached as the REPL's functions' `__self__`, as the tool
    stubs reach it), not as one of the model's: a cell that rebinds or deletes it (`globals().clear()`) gets it back,
    with a note, like `history`."""
    if not files:
        return ""
    entries = ",\n".join(f"    ({f.name!r}, {base64.b64encode(f.data).decode('ascii')!r})" for f in files)
    # A tier whose REPL shares the host's working directory (inprocess) gives a folder of its own: the copies
    # must never overwrite, or make read-only, a file of the user's that has the same name there; the cells do not
    # run in it (the working directory is the host's whole process's), so the model is told where it is.
    return (
        "def _rlmx_place_files(entries):\n"
        "    import base64, os\n"
        "    folder = os.path.abspath(globals().get('_rlmx_workspace_folder', os.getcwd)())\n"
        "    for name, data in entries:\n"
        "        path = os.path.join(folder, name)\n"
        "        if os.path.exists(path):\n"
        "            os.chmod(path, 0o644)\n"
        "        with open(path, 'wb') as handle:\n"
        "            handle.write(base64.b64decode(data))\n"
        "        os.chmod(path, 0o444)\n"
        "    return folder\n"
        f"call_tool.__self__.provide('workspace_dir', _rlmx_place_files([\n{entries}\n]))\n"
        "del _rlmx_place_files\n"
    )


def describe(files: list[WorkspaceFile]) -> str:
    """The system prompt's lines about the files. A name's line breaks and control characters are written as
    escapes (`prompt_text`, the rule for context file names): the model's string literal of it names the file."""
    listed = ", ".join(f"{prompt_text(f.name)} ({len(f.data):,} bytes)" for f in files)
    return (
        "Workspace files: read-only copies in the folder whose absolute path is the REPL variable `workspace_dir` "
        f"(open them as os.path.join(workspace_dir, name); it may not be the working directory): {listed}."
    )
