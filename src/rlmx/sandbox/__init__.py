"""Sandbox launchers, plugged in by name. A launcher differs only in how it starts the one worker."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
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


def create_sandbox(name: str, **options: Any) -> Sandbox:
    sandbox: Sandbox = launcher(name)(**options)
    return sandbox
