"""argparse `type=` functions shared by every command: a bad value is a usage error (exit 2) that says why."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def _whole(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        bound = "0 or more" if least == 0 else f"at least {least}"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
    return value


def count(text: str) -> int:
    """A whole number, 0 or more."""
    return _whole(text, 0)


def positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    return _whole(text, 1)


def _finite(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number{unit}, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number above 0."""
    value = _finite(text, "")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    value = _finite(text, " of seconds")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text!r}")
    return value


def days(text: str) -> float:
    """A finite number of days, 0 or more."""
    value = _finite(text, " of days")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more days, got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: the system picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def size(text: str) -> int:
    """Bytes, 1 or more: a whole number, or one with a K, M or G suffix (powers of 1024; `MiB`, `MB`, `M` alike),
    e.g. 32M or 1GiB."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = _UNITS.get(raw[-1:], 1)
    digits = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = int(digits) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 33554432 or 32M, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return value


def user_path(text: str) -> Path:
    """A path with a leading `~` or `~user` expanded: an MCP client, a systemd unit or `--flag=~/x` passes it to
    rlmx without a shell to expand it, and a literal `~` folder would be made in the working directory."""
    return Path(text).expanduser()


def user_path_text(text: str) -> str:
    """`text` with a leading `~` expanded and nothing else changed, for flags whose value may also be `-` (stdin) or a
    URL the command then refuses by name (a Path would fold `https://` into `https:/`)."""
    return os.path.expanduser(text)
