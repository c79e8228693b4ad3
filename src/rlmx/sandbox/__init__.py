"""Sandbox launchers, plugged in by name. A launcher differs only in how it starts the one worker."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
import shutil
import subprocess as _subprocess  # aliased: importing the `subprocess` tier rebinds that name here
from typing import Any

from rlmx.errors import InputError
from rlmx.sandbox.base import CallHandler, CellResult, ForksChildren, Sandbox, SubCall, SubCallResult

__all__ = [
    "LAUNCHERS",
    "CallHandler",
    "CellResult",
    "ForksChildren",
    "Sandbox",
    "SubCall",
    "SubCallResult",
    "check_sandbox_options",
    "create_sandbox",
    "launcher",
]

LAUNCHERS: dict[str, str] = {
    "subprocess": "rlmx.sandbox.subprocess:SubprocessSandbox",
    "isolated": "rlmx.sandbox.isolated:IsolatedSandbox",
    "inprocess": "rlmx.sandbox.inprocess:InProcessSandbox",
    "docker": "rlmx.sandbox.docker:DockerSandbox",
}


def check_sandbox_name(name: str) -> None:
    """A known launcher name, or an import path "package.module:Class" of a launcher of your own."""
    if name not in LAUNCHERS and not (isinstance(name, str) and ":" in name):
        raise InputError(f"unknown sandbox {name!r}; known: {', '.join(LAUNCHERS)}, or a 'module:Class' path")


def launcher(name: str) -> Any:
    """The launcher class for `name`, imported (RLM() calls this, so a bad name fails at construction and the
    tier's module, about 60 ms of imports, is loaded before the first completion rather than inside it)."""
    check_sandbox_name(name)
    module, _, cls = LAUNCHERS.get(name, name).partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        raise InputError(f"unknown sandbox {name!r}; known: {', '.join(LAUNCHERS)}") from None


_LARGEST_INT = (1 << 63) - 1
"""The largest value an OS limit (setrlimit) takes from Python: a C long."""
_LARGEST_SECONDS = 1e9
"""About 31 years: the largest time a worker's timer is set for (as Budget.cell_timeout)."""


def _named_options(cls: type) -> dict[str, tuple[inspect.Parameter, bool]] | None:
    """The keyword options a launcher class takes, through the `**options` its __init__ passes up to its base, each
    with whether rlmx's own tier declares it (its value rules are rlmx's; a launcher of your own sets its own);
    None when a class takes any keyword (a launcher of your own with `**kwargs` all the way up)."""
    named: dict[str, tuple[inspect.Parameter, bool]] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        parameters = inspect.signature(init).parameters.values()
        ours = klass.__module__.startswith("rlmx.sandbox.")
        for parameter in parameters:
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD) and parameter.name != "self":
                named.setdefault(parameter.name, (parameter, ours))
        if not any(parameter.kind == parameter.VAR_KEYWORD for parameter in parameters):
            return named
    return None


def check_sandbox_options(name: str, options: dict[str, Any]) -> None:
    """Raise InputError, before any run starts, for a `sandbox_options` key the tier does not take (with the
    nearest known name) or a value of the wrong kind for an option of rlmx's own tiers: a whole number of at least 1
    (0 for the `max_calls_*` caps, which may forbid sub-calls, and `uid`) up to 2**63 - 1, the largest OS limit
    Python can set; a time in seconds, finite, 0 to 1e9; a bool for a bool; a string or path for a string. An
    option a launcher of your own declares is checked by its own __init__. A value the OS cannot take
    (memory_limit_bytes=2**64) failed only as the worker started, and a misspelt key as a TypeError inside the run."""
    named = _named_options(launcher(name))
    if named is None:
        return
    for key, value in options.items():
        found = named.get(key)
        if found is None:
            near = difflib.get_close_matches(str(key), named, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(
                f"unknown sandbox option {key!r} for the {name!r} sandbox{hint}; it takes: {', '.join(sorted(named))}"
            )
        parameter, ours = found
        kind = str(parameter.annotation)
        if not ours or (value is None and "None" in kind):
            continue
        if kind == "bool":
            if not isinstance(value, bool):
                raise InputError(f"sandbox option {key} must be True or False, not {value!r}")
        elif kind.startswith("int"):
            least = 0 if key.startswith("max_calls") or key == "uid" else 1
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= _LARGEST_INT:
                raise InputError(
                    f"sandbox option {key} must be a whole number from {least} to {_LARGEST_INT:,} (2**63 - 1, the "
                    f"largest limit the OS takes), not {value!r}"
                )
        elif kind.startswith("float"):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0 <= value <= _LARGEST_SECONDS
            ):
                raise InputError(f"sandbox option {key} must be a number of seconds from 0 to 1e9, not {value!r}")
        elif kind.startswith("str") and not isinstance(value, str | os.PathLike):
            raise InputError(f"sandbox option {key} must be a string (or a path), not {value!r}")
    python = options.get("python")
    if name == "subprocess" and python is not None:
        # this tier asks the LM while its worker starts (the first call overlaps the start): an interpreter that
        # cannot run the worker is refused here, before any token is spent, not as a broken pipe after one
        _check_python(os.fspath(python))


_PYTHONS_SEEN: dict[tuple[str, int, int], str | None] = {}
"""`_python_problem`'s answers, by the file's path, mtime (ns) and size: a second RLM on the same venv's python
starts no process to check it again."""
_LEAST_PYTHON = (3, 11)
"""The oldest Python the worker runs on (pyproject's requires-python)."""
_PYTHON_CHECK_SECONDS = 30.0


def _check_python(given: str) -> None:
    """InputError naming `sandbox_options['python']` and `given` unless it is a runnable Python of at least
    `_LEAST_PYTHON`: a missing file, one that is not executable, or a program that is not Python (/bin/true,
    /bin/cat: the worker's setup met a broken pipe) or an older one. Costs one short process (about 20 ms) the
    first time a file is seen. A relative path with a folder in it is taken from the current folder, a bare name
    from PATH, as the launcher takes them."""
    path = os.path.abspath(given) if os.sep in given else shutil.which(given)
    if path is None or not os.path.exists(path):
        raise InputError(f"sandbox_options['python']: {given} does not exist (give the path of a Python 3.11+ binary)")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise InputError(f"sandbox_options['python']: {given} is not an executable file (give a Python 3.11+ binary)")
    stat = os.stat(path)
    seen = (path, stat.st_mtime_ns, stat.st_size)
    if seen not in _PYTHONS_SEEN:
        _PYTHONS_SEEN[seen] = _python_problem(path)
    problem = _PYTHONS_SEEN[seen]
    if problem is not None:
        raise InputError(f"sandbox_options['python']: {given} {problem}; give the path of a Python 3.11+ binary")


def _python_problem(path: str) -> str | None:
    """What keeps `path` from running the worker, asked of the program itself; None when it is a Python 3.11+."""
    probe = "import sys; print('rlmx-python %d.%d' % sys.version_info[:2])"
    try:
        done = _subprocess.run(
            [path, "-E", "-s", "-c", probe],
            stdin=_subprocess.DEVNULL,
            capture_output=True,
            timeout=_PYTHON_CHECK_SECONDS,
            check=False,
        )
    except _subprocess.TimeoutExpired:
        return f"did not answer a version check within {_PYTHON_CHECK_SECONDS:g} s (is it a Python?)"
    except OSError as exc:
        return f"cannot be run ({exc.strerror or exc})"
    said = done.stdout.decode("utf-8", "replace").split()
    if done.returncode != 0 or len(said) != 2 or said[0] != "rlmx-python":
        shown = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[:200]
        return f"is not a working Python (`-c` to print its version exited with status {done.returncode}" + (
            f": {shown})" if shown else ")"
        )
    major, _, minor = said[1].partition(".")
    if (int(major), int(minor)) < _LEAST_PYTHON:
        return f"is Python {said[1]}, older than the 3.11 the REPL's worker needs"
    return None


def create_sandbox(name: str, **options: Any) -> Sandbox:
    sandbox: Sandbox = launcher(name)(**options)
    return sandbox
