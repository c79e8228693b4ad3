"""The one message for a feature whose optional extra is not installed, with a command that installs it.

rlmx is not on PyPI: it is installed from its checkout (`pip install ".[local]"`), so `pip install 'rlmx[server]'`
cannot work. The command given here installs the extra the way this copy of rlmx was installed: from the same
folder (editable when it was) or the same wheel file, as pip recorded in the distribution's `direct_url.json`
(PEP 610), with this interpreter's pip, so it works from any folder and lands in the right environment. When no
such record exists (rlmx run from a source tree on `sys.path`), it says to run `pip install ".[EXTRA]"` in the
rlmx checkout, as the README's set-up does.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

EXTRAS = ("local", "server", "mcp", "pdf", "docx", "bench", "ray", "dev")
"""The optional extras pyproject.toml defines."""


def install_command(extra: str) -> str:
    """A shell command that adds `extra` to this rlmx install, e.g.
    `/venv/bin/python -m pip install -e '/src/rlmx[server]'`; ValueError for an extra rlmx does not have."""
    if extra not in EXTRAS:
        raise ValueError(f"rlmx has no extra {extra!r}; its extras are {', '.join(EXTRAS)}")
    source, editable = _installed_from()
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    if source is None:
        return f"""{pip} ".[{extra}]" (run in the rlmx checkout)"""
    return f"{pip} {'-e ' if editable else ''}{shlex.quote(f'{source}[{extra}]')}"


def missing_extra(what: str, extra: str, error: BaseException | None = None) -> str:
    """`what` needs rlmx's `extra` extra, which is not installed: the message, with the command that installs it.

    `error` (the ImportError) names the missing module, e.g. "rlmx serve needs the `server` extra, which is not
    installed (No module named 'uvicorn'); install it: .../python -m pip install -e '/src/rlmx[server]'".
    """
    why = f" ({error})" if error is not None and str(error) else ""
    return f"{what} needs the `{extra}` extra, which is not installed{why}; install it: {install_command(extra)}"


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
