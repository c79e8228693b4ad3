"""argparse `type=` functions shared by every command: a bad value is a usage error (exit 2) that says why."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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


def _given(text: str, what: str) -> str:
    """`text` unless it is empty or blank: `--flag "$UNSET"` would otherwise name the working folder (`Path('')` is
    `.`), drop the flag, or grant access, so it is refused naming what to give (argparse prefixes the flag)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"is empty: give {what} (an unset shell variable?)")
    return text


def _nonempty(what: str, convert: Callable[[str], T], doc: str) -> Callable[[str], T]:
    """An argparse type that refuses an empty or blank value naming `what` to give, then applies `convert`."""

    def given(text: str) -> T:
        return convert(_given(text, what))

    given.__doc__ = doc
    return given


def _expanded_path(text: str) -> Path:
    return Path(text).expanduser()


user_path = _nonempty(
    "a path",
    _expanded_path,
    """A path with a leading `~` or `~user` expanded: an MCP client, a systemd unit or `--flag=~/x` passes it to
    rlmx without a shell to expand it, and a literal `~` folder would be made in the working directory. Empty is
    refused.""",
)
folder_path = _nonempty("a folder", _expanded_path, "`user_path` for flags that name a folder (--trace-dir, --out).")
file_path = _nonempty("a file", _expanded_path, "`user_path` for flags that name one file to write (--html).")
user_path_text = _nonempty(
    "a file or folder, or - for stdin",
    os.path.expanduser,
    """`text` with a leading `~` expanded and nothing else changed, for flags whose value may also be `-` (stdin) or
    a URL the command then refuses by name (a Path would fold `https://` into `https:/`). Empty is refused.""",
)
file_text = _nonempty("a file", os.path.expanduser, "`user_path_text` for flags that name one file (--file).")
name = _nonempty(
    "a name",
    str.strip,
    """A non-empty name (an env variable, a model, a trace): the value as given, surrounding blanks dropped (a `.env`
    line's trailing space is no part of a name).""",
)
env_var = _nonempty(
    "the name of the environment variable that holds the key, like OPENAI_API_KEY",
    str.strip,
    "The name of an environment variable (surrounding blanks dropped); empty is refused, not taken as unset.",
)
model_name = _nonempty(
    "a model name",
    str.strip,
    "A model name (surrounding blanks dropped, as a `.env` value's trailing space is no part of it).",
)


def host(text: str) -> str:
    """An address to listen on: a name or an IP, with an IPv6 address's URL brackets (`[::1]`) dropped; empty is
    refused (it would listen on every interface)."""
    given = _given(text, "an address, like 127.0.0.1 or ::1").strip()
    if given.startswith("[") and given.endswith("]"):
        given = given[1:-1]
    return given


MAX_TASKS = 1_000_000
"""The most tasks `bench run --n` plans per family and length: each is generated and recorded, so a larger count is a
slip (`10**30`) that would only exhaust memory while planning."""


def task_count(text: str) -> int:
    """A whole number of tasks, 1 to MAX_TASKS."""
    value = _whole(text, 1)
    if value > MAX_TASKS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_TASKS:,} tasks per family and length, got {text}")
    return value


def origin(text: str) -> str:
    """A browser origin as the Origin header writes it (`rlmx.http_access.allowed_origin`: scheme://host[:port] in
    lower case, port `*` for any; the value `*` alone, every origin, is `cors_origin`'s); argparse's error, saying
    what forms are accepted, for anything else (a path, no scheme, a wildcard sub-domain)."""
    from rlmx.http_access import allowed_origin

    try:
        return allowed_origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cors_origin(text: str) -> str:
    """`origin`, or `*` (every origin)."""
    return "*" if text.strip() == "*" else origin(text)
