"""The one message for a feature whose optional extra is not installed, with a command that installs it.

rlmx is not on PyPI: it is installed from its checkout (`pip install ".[local]"`), so `pip install 'rlmx[server]'`
cannot work. The command given here is the README's (`pip install ".[server]"` in the checkout), made to work
from any folder and for this install: it goes into the folder pip recorded in the distribution's
`direct_url.json` (PEP 610), keeps `-e` when the install was editable, and runs this interpreter's pip, so the
extra lands in the environment rlmx runs from. From a wheel it names the wheel file; with no record (rlmx run
from a source tree on `sys.path`) it says to run the README's command in the rlmx checkout.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

EXTRAS = ("local", "server", "mcp", "pdf", "docx", "bench", "ray", "dev")
"""The optional extras pyproject.toml defines."""


def install_command(extra: str) -> str:
    """A shell command that adds `extra` to this rlmx install, e.g.
    `cd /src/rlmx && /venv/bin/python -m pip install -e ".[server]"`; ValueError for an extra rlmx does not have."""
    if extra not in EXTRAS:
        raise ValueError(f"rlmx has no extra {extra!r}; its extras are {', '.join(EXTRAS)}")
    source, editable = _installed_from()
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    if source is None:
        return f'pip install ".[{extra}]" in the rlmx checkout, with the pip of the environment rlmx runs from'
    if Path(source).is_dir():
        return f'cd {shlex.quote(source)} && {pip} {"-e " if editable else ""}".[{extra}]"'
    return f"{pip} {shlex.quote(f'{source}[{extra}]')}"  # a wheel file


class ExtraMissing(ImportError):
    """A module of rlmx could not import what its `extra` provides: the message already says so, with the command that
    installs it (`missing_extra`); `cause` is the ImportError it came from. A command that imports the module says its
    own `missing_extra(...)` from it, about the cause, not a message nested in another."""

    def __init__(self, what: str, extra: str, cause: ImportError) -> None:
        super().__init__(missing_extra(what, extra, cause), name=cause.name)
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its message and cause (its `__init__` takes three arguments, which BaseException's own rule,
        `cls(*args)` with the message alone, cannot give): raised in a worker process, it reaches the caller whole."""
        return _rebuilt_extra_missing, (str(self), self.cause)


def _rebuilt_extra_missing(message: str, cause: ImportError) -> ExtraMissing:
    error = ExtraMissing.__new__(ExtraMissing)
    ImportError.__init__(error, message, name=cause.name)
    error.cause = cause
    return error


def missing_extra(what: str, extra: str, error: BaseException | None = None) -> str:
    """`what` needs rlmx's `extra` extra, which is not installed: the message, with the command that installs it.

    `error` (the ImportError) names the missing module, e.g. "rlmx serve needs the `server` extra, which is not
    installed (No module named 'uvicorn'); install it: cd /src/rlmx && .../python -m pip install -e ".[server]"".
    Any other ImportError than ModuleNotFoundError (a package that is there but fails to import: "cannot import name",
    a broken install, a dependency of the wrong version) is said as such, with the same command.
    """
    if isinstance(error, ExtraMissing):
        error = error.cause
    if error is None or isinstance(error, ModuleNotFoundError) or not str(error):
        name = getattr(error, "name", None)  # the module missing: said once, though the error says it in its words
        why = f" (No module named {name!r})" if isinstance(name, str) else f" ({error})" if error else ""
        return f"{what} needs the `{extra}` extra, which is not installed{why}; install it: {install_command(extra)}"
    return (
        f"{what} needs the `{extra}` extra, which is installed but cannot be imported ({error}); install it (pip then "
        f"brings what it needs to the versions it asks for): {install_command(extra)}"
    )


def _installed_from() -> tuple[str | None, bool]:
    """(the folder or wheel this rlmx was installed from, whether editably); (None, False) when unknown or gone."""
    try:
        record = metadata.distribution("rlmx").read_text("direct_url.json")
        data = json.loads(record) if record else None
    except (metadata.PackageNotFoundError, OSError, ValueError):
        return None, False
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None, False
    url = urlparse(data["url"])
    if url.scheme != "file":
        return None, False
    path = Path(unquote(url.path))
    dir_info = data.get("dir_info")
    if isinstance(dir_info, dict):
        if not (path / "pyproject.toml").is_file():
            return None, False  # the checkout moved or was deleted
        return str(path), bool(dir_info.get("editable"))
    return (str(path), False) if path.is_file() else (None, False)
