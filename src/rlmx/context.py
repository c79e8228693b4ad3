"""Turn the caller's context values into stored contexts: validated, serialized once, described for the prompt.

Loaders are a registry keyed by type, so new kinds (PDF, CSV, ...) plug in without a chain of ifs.
This module never talks to an LM or a sandbox; it only prepares bytes and their description.
"""

from __future__ import annotations

import hashlib
import json
import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlmx.errors import InputError

ContextKind = Literal["text", "json"]
PREVIEW_CHARS = 160
_ITEM_LENGTHS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class PreparedContext:
    """One named context variable, serialized once. `data` is what the worker loads."""

    name: str
    kind: ContextKind
    data: bytes
    type_name: str
    chars: int
    sha256: str
    preview: str
    item_count: int | None = None
    item_lengths: tuple[int, ...] = ()
    source: str | None = None
    skipped_files: tuple[str, ...] = ()

    @property
    def approx_tokens(self) -> int:
        return (self.chars + 3) // 4

    def describe(self) -> str:
        """One line for the root LM's first prompt: type and size, a short preview, never the content."""
        line = f"- `{self.name}`: {self.type_name}, {self.chars:,} characters (~{self.approx_tokens:,} tokens)"
        if self.item_count is not None:
            lengths = ", ".join(f"{n:,}" for n in self.item_lengths)
            more = ", ..." if self.item_count > len(self.item_lengths) else ""
            line += f"; {self.item_count:,} items, item lengths in characters: {lengths}{more}"
        if self.source:
            line += f"; loaded from {self.source}"
        if self.skipped_files:
            line += f"; {len(self.skipped_files)} binary file(s) skipped"
        return line + f"\n  preview: {json.dumps(self.preview, ensure_ascii=False)}"

    def summary(self) -> dict[str, Any]:
        """What a trace may hold about a context: its name, size and hash, never its content."""
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type_name,
            "chars": self.chars,
            "bytes": len(self.data),
            "sha256": self.sha256,
            "skipped_files": list(self.skipped_files),
        }


@dataclass(frozen=True, slots=True)
class _Loaded:
    value: Any
    source: str | None = None
    skipped: tuple[str, ...] = field(default_factory=tuple)


def _load_bytes(value: Any) -> _Loaded:
    raw = bytes(value)
    try:
        return _Loaded(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"context bytes are not valid UTF-8 (bad byte at position {exc.start}); "
            "decode them yourself and pass a str, or pass the file's Path"
        ) from None


def _read_text_file(path: Path) -> str | None:
    """The file's text, or None when it is binary (NUL bytes or not UTF-8)."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _load_path(path: Path) -> _Loaded:
    if not path.exists():
        raise InputError(f"context file not found: {path}; check the path")
    if path.is_dir():
        texts: dict[str, str] = {}
        skipped: list[str] = []
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = file.relative_to(path).as_posix()
            text = _read_text_file(file)
            if text is None:
                skipped.append(relative)
            else:
                texts[relative] = text
        if not texts:
            raise InputError(f"context folder {path} holds no readable text files")
        return _Loaded(texts, source=str(path), skipped=tuple(skipped))
    try:
        text = _read_text_file(path)
    except OSError as exc:
        raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    if text is None:
        raise InputError(f"context file {path} is binary or not UTF-8 text; convert it to text first")
    return _Loaded(text, source=str(path))


LOADERS: dict[type, Callable[[Any], _Loaded]] = {
    bytes: _load_bytes,
    bytearray: _load_bytes,
    Path: lambda value: _load_path(Path(value)),
}


def _loaded(value: Any) -> _Loaded:
    for kind, loader in LOADERS.items():
        if isinstance(value, kind):
            return loader(value)
    return _Loaded(value)


def _check_json(name: str, value: Any, where: str = "") -> None:
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(name, item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"context `{name}`{where} has a non-string key {key!r}; JSON objects need str keys")
            _check_json(name, item, f"{where}[{key!r}]")
        return
    raise InputError(
        f"context `{name}`{where} is a {type(value).__name__}; contexts must be str, bytes, Path, "
        "or lists/dicts of JSON values (str, int, float, bool, None)"
    )


def prepare(name: str, value: Any) -> PreparedContext:
    """Validate and serialize one context value."""
    if value is None:
        raise InputError(f"context `{name}` is None; pass a value or leave it out")
    loaded = _loaded(value)
    content = loaded.value
    if isinstance(content, str):
        data = content.encode("utf-8")
        return PreparedContext(
            name=name,
            kind="text",
            data=data,
            type_name="str",
            chars=len(content),
            sha256=hashlib.sha256(data).hexdigest(),
            preview=content[:PREVIEW_CHARS],
            source=loaded.source,
        )
    _check_json(name, content)
    text = json.dumps(content, ensure_ascii=False)
    data = text.encode("utf-8")
    item_count: int | None = None
    lengths: tuple[int, ...] = ()
    if isinstance(content, list | tuple):
        type_name = "list"
        item_count = len(content)
        lengths = tuple(_item_chars(item) for item in content[:_ITEM_LENGTHS_SHOWN])
    else:
        type_name = "dict"
        item_count = len(content)
        lengths = tuple(_item_chars(item) for item in list(content.values())[:_ITEM_LENGTHS_SHOWN])
        type_name = "dict (path -> file text)" if loaded.source else "dict"
    return PreparedContext(
        name=name,
        kind="json",
        data=data,
        type_name=type_name,
        chars=len(text),
        sha256=hashlib.sha256(data).hexdigest(),
        preview=text[:PREVIEW_CHARS],
        item_count=item_count,
        item_lengths=lengths,
        source=loaded.source,
        skipped_files=loaded.skipped,
    )


def _item_chars(item: Any) -> int:
    return len(item) if isinstance(item, str) else len(json.dumps(item, ensure_ascii=False))


def check_name(name: str, reserved: frozenset[str]) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise InputError(f"context name {name!r} is not a valid Python identifier; use letters, digits and _")
    if name in reserved:
        raise InputError(f"context name {name!r} is taken by a REPL function; choose another name")


def prepare_all(context: Any, contexts: Mapping[str, Any] | None, reserved: frozenset[str]) -> list[PreparedContext]:
    """All context variables of one call: `context` (if given) first, then the named ones."""
    prepared: list[PreparedContext] = []
    if context is not None:
        prepared.append(prepare("context", context))
    if contexts is not None:
        if not isinstance(contexts, Mapping):
            raise InputError(f"contexts must be a dict of name -> value, not {type(contexts).__name__}")
        for name, value in contexts.items():
            check_name(name, reserved)
            if name == "context" and context is not None:
                raise InputError("`context` is given twice: as context= and inside contexts=; keep one")
            prepared.append(prepare(name, value))
    return prepared
