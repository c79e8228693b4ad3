"""Sandbox launchers, plugged in by name. A launcher differs only in how it starts the one worker."""

from __future__ import annotations

import importlib
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


def create_sandbox(name: str, **options: Any) -> Sandbox:
    sandbox: Sandbox = launcher(name)(**options)
    return sandbox
