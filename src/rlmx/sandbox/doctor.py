"""What each sandbox tier protects on this machine, for `rlmx doctor`: probe, then start each tier for real.

Starting a tier with a one-word context is the only honest check: the report is the worker's own account of
what it applied (the same `protections` dict the engine writes into every trace), not a guess from the probe.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from rlmx.context import prepare
from rlmx.errors import SandboxError
from rlmx.sandbox import LAUNCHERS, create_sandbox
from rlmx.sandbox.docker import docker_engine
from rlmx.sandbox.harden import landlock_abi, seccomp_supported
from rlmx.sandbox.isolated import probe


async def report() -> dict[str, Any]:
    """{"machine", "isolated_probe", "tiers": {name: {"ok", "protections" | "error"}}, "docker": {"ok", "error"}}.

    The optional docker launcher is only checked for a running engine (starting it could pull an image)."""
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "uid": os.getuid(),
        "landlock_abi": landlock_abi(),
        "seccomp": seccomp_supported(),
    }
    tiers: dict[str, Any] = {}
    for name in LAUNCHERS:
        if name == "docker":  # checked below, without starting a container
            continue
        sandbox = create_sandbox(name)
        try:
            await sandbox.start([prepare("context", "doctor")])
            tiers[name] = {"ok": True, "protections": sandbox.protections}
        except SandboxError as exc:
            tiers[name] = {"ok": False, "error": str(exc)}
        finally:
            await sandbox.close()
    engine = await docker_engine()
    docker = {"launcher": "rlmx.sandbox.docker:DockerSandbox", "ok": engine is None, "error": engine}
    return {"machine": machine, "isolated_probe": (await probe()).to_dict(), "tiers": tiers, "docker": docker}


def _seccomp_words(seccomp: object) -> str:
    if seccomp == "light":
        return "a small filter (memfd, SysV memory, pidfds, F_SETOWN, signals to the host)"
    return "yes" if seccomp else "no"


def _landlock_scope(landlock: object) -> str:
    if isinstance(landlock, dict) and landlock.get("signals_scoped") and landlock.get("files") == "not covered":
        return " (signal scope only: no file or network rule)"
    if isinstance(landlock, dict) and str(landlock.get("files", "")).startswith("pseudo-terminals refused"):
        scope = "signal scope, " if landlock.get("signals_scoped") else ""
        return f" ({scope}pseudo-terminals refused: no other file or network rule)"
    return ""


def summary(protections: dict[str, Any]) -> str:
    """One line per tier: the protections that matter, in words."""
    if protections.get("unsafe"):
        return "UNSAFE: exec() in the host process, nothing is isolated (debugging only)"
    parts = [
        f"namespaces: {', '.join(protections.get('namespaces') or []) or 'none'}",
        f"seccomp: {_seccomp_words(protections.get('seccomp'))}",
        f"Landlock ABI: {protections.get('landlock_abi') or 'no'}{_landlock_scope(protections.get('landlock'))}",
        f"uid: {protections.get('uid')}",
        f"forks: {protections.get('fork_bound')}",
        f"memory: {int(protections.get('limits', {}).get('memory_bytes', 0)) >> 20} MiB",
    ]
    signals = protections.get("signals")
    if isinstance(signals, str):  # what keeps a cell from signalling the host; "NOT STOPPED ..." where nothing does
        parts.append(f"signals to the host: {signals if signals.startswith('NOT') else signals.split(':', 1)[0]}")
    return "; ".join(parts)
