"""The worker's files as bytecode, compiled once per rlmx version and Python and kept in the user's cache.

Every sandbox start copies worker.py, frames.py and harden.py into a fresh run dir, where Python would compile
all of them from source (about 90 ms of CPU, a third of a start) because a script run as `__main__` is never
cached and a fresh folder has no `__pycache__`. The launcher copies these .pyc files next to the sources instead
and runs `worker.pyc`, which loads its siblings' .pyc too.
"""

from __future__ import annotations

import hashlib
import os
import py_compile
import sys
import tempfile
from functools import cache
from pathlib import Path

BYTECODE_FILENAME_PREFIX = "<rlmx worker>"
"""The file name compiled code carries (`co_filename`), so the worker still drops its own frames from the
tracebacks it reports, wherever the run dir is. worker.py knows the same prefix."""


def home_folder() -> Path | None:
    """The user's home folder, or None when none is known: HOME unset and no passwd entry for the user (`docker run
    --user 12345`, a cron-like cleared environment), where `Path.home()` raises RuntimeError."""
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        return None


def user_cache_dir() -> Path | None:
    """rlmx's cache folder: `$XDG_CACHE_HOME/rlmx`, else `~/.cache/rlmx`; None when neither is known (`home_folder`):
    every cache is then skipped, never put in a shared place another user could fill. The one rule for every cache
    rlmx keeps (this bytecode, the embedded model's Q8_0 copy, the price answers); it lives here, in a module of the
    standard library only, because the sandbox must not import the LM layer. A relative XDG_CACHE_HOME is ignored, as
    the XDG Base Directory spec says: it named a folder under wherever rlmx was run from, a new one in each."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "rlmx"
    home = home_folder()
    return None if home is None else home / ".cache" / "rlmx"


def worker_bytecode(python: str, package_dir: Path, names: tuple[str, ...]) -> dict[str, Path] | None:
    """{"worker.py": path of worker.pyc, ...} for `names` in `package_dir`, compiled for this interpreter; None
    when the worker runs under another Python (its bytecode could differ) or the cache cannot be written."""
    if python != sys.executable:
        return None
    return _compiled(package_dir, names)


@cache
def _compiled(package_dir: Path, names: tuple[str, ...]) -> dict[str, Path] | None:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (package_dir / name).read_bytes())
    tag = sys.implementation.cache_tag or "python"
    cache = user_cache_dir()
    if cache is None:  # no home known: compiled from source each time
        return None
    root = cache / "worker-bytecode"
    folder = root / f"{tag}-{digest.hexdigest()[:24]}"
    out = {name: folder / (Path(name).stem + ".pyc") for name in names}
    if all(path.is_file() for path in out.values()):
        return out
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, target in out.items():
            fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            os.close(fd)
            try:
                py_compile.compile(
                    str(package_dir / name),
                    cfile=temporary,
                    dfile=f"{BYTECODE_FILENAME_PREFIX}/{name}",
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)  # atomic: concurrent first starts never see half a file
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
    except (OSError, py_compile.PyCompileError):
        return None
    return out
