"""Sandbox launchers, plugged in by name. A launcher differs only in how it starts the one worker."""

from __future__ import annotations

import importlib
from typing import Any

from rlmx.errors import InputError
from rlmx.sandbox.base import CallHandler, CellResult, Sandbox, SubCall, SubCallResult

__all__ = ["LAUNCHERS", "CallHandler", "CellResult", "Sandbox", "SubCall", "SubCallResult", "create_sandbox"]

LAUNCHERS: dict[str, str] = {
    "subprocess": "rlmx.sandbox.subprocess:SubprocessSandbox",
}


def check_sandbox_name(name: str) -> None:
    if name not in LAUNCHERS:
        raise InputError(f"unknown sandbox {name!r}; known: {', '.join(LAUNCHERS)}")


def create_sandbox(name: str, **options: Any) -> Sandbox:
    check_sandbox_name(name)
    module, _, cls = LAUNCHERS[name].partition(":")
    sandbox: Sandbox = getattr(importlib.import_module(module), cls)(**options)
    return sandbox
