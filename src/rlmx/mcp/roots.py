"""The folders an MCP client may have rlmx read, and the only code of `rlmx mcp` that reads files.

Every path is resolved (symlinks included) before it is checked, every file is opened without following a final
symlink and checked again through the descriptor actually opened, so neither a symlink inside a granted folder nor
one swapped in between the check and the read makes the server read outside the granted roots. Files reached
through a link that leads outside are skipped and reported, never read.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from rlmx import documents
from rlmx.documents import Document
from rlmx.documents.text import NotText, decode_text
from rlmx.errors import InputError
from rlmx.sandbox.frames import encodable, escaped

MAX_FILES = 20_000
"""Files read for one call, over all its paths."""
MAX_BYTES = 256 * 1024 * 1024
READ_ADVICE = (
    f"rlmx mcp reads at most {MAX_BYTES // 2**20} MiB (files and documents' text) for one call, whatever "
    "--max-context-bytes says; pass fewer or smaller files (split the document)"
)
"""Bytes read for one call, over all its paths (the whole context then lives in the REPL)."""


class PathRefused(InputError):
    """A path outside the granted roots, missing, or not a regular file or folder. Nothing was read."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the paths of one call held: `value` is a lone file's content, else a dict of path -> content. A file's
    content is what `rlmx ask --context` makes of it (`rlmx.documents`: a PDF's list of pages, a CSV's rows, a
    JSON value), else its text.

    Keys are paths relative to the granted root holding them (the outermost, when granted roots nest), led by that
    root's name when the call's paths lie in several roots (`projA/README.md`, `projB/README.md`; more of its path
    when two share a name), never a path of the host. Each file is read once, however many paths reach it; a link
    inside a folder to a file read is a key of its own with the same value. `files` counts the files read, `chars`
    the characters of `value`. `skipped` lists files not read, with why."""

    value: Any
    files: int
    chars: int
    skipped: tuple[str, ...] = ()


_NOT_READ = object()
"""What `_Reading.seen` holds for a file tried and skipped."""


@dataclass(slots=True)
class _Reading:
    texts: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    labels: dict[Path, str] = field(default_factory=dict)
    """Each root's name in the keys, when the call's paths lie in several roots (`Roots._labels`); else empty."""
    seen: dict[Path, tuple[str, Any]] = field(default_factory=dict)
    """Each resolved file tried: the key it was read under, and its value (`_NOT_READ` when skipped)."""


class Roots:
    """Granted folders (resolved, absolute), or single files when an MCP client's root is one. `source` says who
    granted them, for error messages and the README: `--allow`, the client's MCP roots, or the folder the server
    started in."""

    def __init__(self, folders: Iterable[Path], source: str) -> None:
        self.folders = tuple(dict.fromkeys(folders))
        if not self.folders:
            raise InputError(f"no folder is granted ({source}); grant one with --allow PATH")
        self.source = source
        self.refusal: str | None = None

    @classmethod
    def none(cls, why: str) -> Roots:
        """No folder at all: every path is refused with `why` (a text-only call still works)."""
        roots = cls([Path("/")], "nothing")
        roots.folders, roots.refusal = (), why
        return roots

    @classmethod
    def grant(cls, paths: Sequence[str | Path], source: str) -> Roots:
        """Roots from paths given by the user. Raises InputError when one is empty, does not exist or is not a
        folder."""
        folders: list[Path] = []
        for raw in paths:
            if isinstance(raw, str) and not raw.strip():  # Path("") is the working folder: a slip would grant it
                raise InputError(f"{source} is empty: give a folder")
            path = Path(raw).expanduser()
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError):
                raise InputError(f"{source} {raw}: no such folder") from None
            if not resolved.is_dir():
                raise InputError(f"{source} {raw}: not a folder; grant the folder that holds it")
            folders.append(resolved)
        return cls(folders, source)

    def describe(self) -> str:
        if self.refusal is not None:
            return f"none ({self.refusal})"
        return ", ".join(str(f) for f in self.folders) + f" (from {self.source})"

    def contains(self, path: Path) -> bool:
        """Whether a resolved path is one of the roots or inside one."""
        return any(path == root or root in path.parents for root in self.folders)

    def check(self, raw: str) -> Path:
        """The resolved path of `raw` (relative paths are taken from the first root). Raises PathRefused."""
        if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
            raise PathRefused(f"path {raw!r} is not a usable path; give a file or folder path as a string")
        if self.refusal is not None:
            raise PathRefused(f"path {raw} cannot be read: {self.refusal}")
        given = Path(_from_file_uri(raw)).expanduser()
        if not given.is_absolute():
            given = self._base() / given
        self._refuse_hidden(raw, Path(os.path.normpath(given)))  # normpath: `..` is no hidden name
        try:
            resolved = _as_listed(given).resolve(strict=True)
        except FileNotFoundError:
            if raw != raw.strip():  # "a.txt\n": a model's line break or space that no file name it meant holds
                return self.check(raw.strip())
            led = self._led_by_a_root(raw)
            if led is not None:
                return self.check(str(led))
            shown = raw if raw.isprintable() else repr(raw)
            raise PathRefused(
                f"path {shown} does not exist (looked for {given}){_naming_hint(given)}{_pattern_hint(raw)}"
            ) from None
        except (OSError, RuntimeError) as exc:
            raise PathRefused(f"path {raw!r} cannot be resolved: {exc}") from None
        if not self.contains(resolved):
            shown = f"{raw} (which is {resolved})" if str(resolved) != raw else raw
            raise PathRefused(
                f"path {shown} is outside the {self._kinds()} this server may read: {self.describe()}. Ask the user "
                "to grant it (rlmx mcp --allow PATH), or pass the text itself as `text`"
            )
        self._refuse_hidden(raw, resolved)
        return resolved

    def _refuse_hidden(self, raw: str, path: Path) -> None:
        """Refuse a hidden file or folder (`documents.hidden`: `.env`, `.git/`) inside a granted root, named by the
        path given (checked before it is resolved, so the refusal says nothing of whether it exists) or by where it
        resolves. A folder skips them when listed; named directly they are refused too, unlike `rlmx ask --context
        .env`, since here the client or its model picks the path, not the user. A root that is itself hidden
        (`--allow ~/.config/app`) is granted whole, and a path any granted root holds without a hidden step is read
        (`--allow proj --allow proj/.config`)."""
        hidden = self._hidden_part(path)
        if hidden is not None:
            part, root = hidden
            raise PathRefused(
                f"path {raw} is hidden ({part!r} inside the granted folder {root}): hidden files and folders "
                "(names starting with '.', such as .env or .git/) are not read unless the user grants such a "
                "folder itself (rlmx mcp --allow PATH); or pass the text itself as `text`"
            )

    def _hidden_part(self, path: Path) -> tuple[str, Path] | None:
        """The first hidden name on the way to `path` from a granted root holding it, with that root, when every
        root holding it has one (None when one holds it openly, or none holds it)."""
        found: tuple[str, Path] | None = None
        for root in self.folders:
            if path != root and root not in path.parents:
                continue
            part = next((part for part in path.relative_to(root).parts if documents.hidden(part)), None)
            if part is None:
                return None
            found = found or (part, root)
        return found

    def _kinds(self) -> str:
        """What the roots are, for messages: "folders", or "folders and files" when a client root is one file (it
        is no folder)."""
        return "folders" if all(root.is_dir() for root in self.folders) else "folders and files"

    def _led_by_a_root(self, raw: str) -> Path | None:
        """For a relative path that does not exist from the base folder but starts with a granted folder's own name
        (`--allow proj`, then `proj/notes.txt`: what a user or a model writes, seeing the folder from outside), the
        path in that folder when it exists there; else None."""
        parts = Path(raw).parts
        if not parts or Path(raw).is_absolute() or len(parts) < 2:
            return None
        for root in self.folders:
            if root.is_dir() and parts[0] == root.name:
                candidate = root.joinpath(*parts[1:])
                if os.path.lexists(candidate):
                    return candidate
        return None

    def _base(self) -> Path:
        """The folder relative paths start from: the first granted folder, else the one holding the first granted
        file (a client root may be a single file)."""
        return next((root for root in self.folders if root.is_dir()), self.folders[0].parent)

    def read(self, paths: Sequence[str]) -> Loaded:
        """Read files and folders (checked first, all of them, before reading any). One file gives its text; a
        folder or several paths give a dict of path -> text (keys: see `Loaded`). Each file is read once, however
        many of the paths reach it. Binary files and links leading outside are skipped. Raises PathRefused, or
        InputError when nothing readable is left or the limits are passed."""
        if not paths:
            raise InputError("paths is empty; give at least one file or folder")
        checked: dict[Path, str] = {}  # resolved -> the first path given for it: a path named twice is one path
        for raw in paths:
            checked.setdefault(self.check(raw), raw)
        reading = _Reading(labels=self._labels(checked))
        if len(checked) == 1 and not next(iter(checked)).is_dir():
            path, raw = next(iter(checked.items()))
            document = self._read_file(path, raw, reading, lone=True)
            if document is None:
                raise InputError(f"{raw} cannot be read: {', '.join(reading.skipped) or 'not a regular file'}")
            return Loaded(document.value, 1, _chars(document.value))
        for path, raw in checked.items():
            if path.is_dir():
                self._read_folder(path, reading)
            else:
                self._read_once(path, path, raw, reading)
        if not reading.texts:
            why = f"; skipped: {', '.join(reading.skipped[:5])}" if reading.skipped else ""
            raise InputError(f"no readable text file or document in {', '.join(paths)}{why}")
        chars = sum(_chars(value) for value in reading.texts.values())
        files = sum(value is not _NOT_READ for _, value in reading.seen.values())
        return Loaded(reading.texts, files, chars, tuple(dict.fromkeys(reading.skipped)))

    def _read_once(self, shown: Path, target: Path, raw: str, reading: _Reading) -> None:
        """Read resolved file `target` into `reading.texts` under `shown`'s key (`shown`: where the call reached
        it, a link in a folder or the file itself), unless it was read already: then `shown`'s key, when it is
        another, gets the value read (a link beside its target), and nothing is read again or counted twice."""
        key = self._key(shown, reading.labels)
        earlier = reading.seen.get(target)
        if earlier is not None:
            first, value = earlier
            if key != first and value is _NOT_READ:
                reading.skipped.append(f"{escaped(key)} (links to {escaped(first)}, not read)")
            elif key != first:
                reading.texts[key] = value
            return
        document = self._read_file(target, raw, reading, shown=shown)
        reading.seen[target] = (key, _NOT_READ if document is None else document.value)
        if document is not None:
            reading.texts[key] = document.value

    def _holder(self, path: Path) -> Path | None:
        """The root holding `path` (resolved or as listed in a folder): the outermost one when roots nest, so that
        a file has one key whichever of them the call went through."""
        holding = [root for root in self.folders if path == root or root in path.parents]
        return min(holding, key=lambda root: len(root.parts)) if holding else None

    def _labels(self, paths: Iterable[Path]) -> dict[Path, str]:
        """For resolved `paths` that lie in several roots: each root's name as the keys start with it (the fewest
        trailing parts of its path, the same number for all, that tell the roots apart with none the start of
        another: `a/proj` and `b/proj`); {} when they lie in one root (keys are relative to it alone)."""
        roots = [root for root in dict.fromkeys(self._holder(path) for path in paths) if root is not None]
        if len(roots) < 2:
            return {}
        parts = {root: root.relative_to(root.anchor).parts for root in roots}
        for depth in range(1, max(len(named) for named in parts.values()) + 1):
            labels = {root: "/".join(named[-depth:]) for root, named in parts.items()}
            starts = sorted(label + "/" for label in labels.values())
            if not any(later.startswith(first) for first, later in itertools.pairwise(starts)):
                return labels
        return {root: "/".join(named) for root, named in parts.items()}  # disjoint roots: their whole paths differ

    def _key(self, path: Path, labels: dict[Path, str]) -> str:
        """`path`'s key: relative to the root holding it, led by that root's label when there are `labels`; a root
        that is one file is keyed by its label or name."""
        root = self._holder(path)
        if root is None:  # not inside a root: no host path goes out, its name does
            return path.name
        relative = path.relative_to(root).as_posix()
        label = labels.get(root)
        if relative == ".":
            return label or root.name
        return f"{label}/{relative}" if label else relative

    def _read_folder(self, folder: Path, reading: _Reading) -> None:
        for directory, subfolders, names in os.walk(folder, followlinks=False):
            here = Path(directory)
            for name in sorted(subfolders):
                full = here / name
                if documents.hidden(name):  # `.git/`, `.venv/`: the one rule for folders (`documents.hidden`)
                    subfolders.remove(name)
                    reading.skipped.append(f"{self._shown(full, reading)}/ (hidden)")
                elif full.is_symlink():
                    reading.skipped.append(f"{self._shown(full, reading)} (a linked folder: grant or pass its target)")
            subfolders.sort()
            for name in sorted(names):
                full = here / name
                if documents.hidden(name):
                    reading.skipped.append(f"{self._shown(full, reading)} (hidden)")
                    continue
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError):
                    reading.skipped.append(f"{self._shown(full, reading)} (a broken link)")
                    continue
                if not self.contains(target):
                    reading.skipped.append(f"{self._shown(full, reading)} (links outside the granted folders)")
                    continue
                if target != full and self._hidden_part(target) is not None:  # `settings.txt -> .env`
                    reading.skipped.append(f"{self._shown(full, reading)} (links to a hidden file)")
                    continue
                self._read_once(full, target, str(full), reading)

    def _shown(self, path: Path, reading: _Reading) -> str:
        """`path` as messages and skipped lists show it: as its key, and as text any client can take (a name that is
        not UTF-8, surrogate-escaped by os.walk, with a `\\udcXX` escape for each bad byte, as the folder's keys list
        it and `paths` takes it)."""
        return escaped(self._key(path, reading.labels))

    def _read_file(
        self, path: Path, raw: str, reading: _Reading, *, lone: bool = False, shown: Path | None = None
    ) -> Document | None:
        """One resolved file inside the roots, read as `rlmx ask --context` reads it (`_as_document`), or None
        (recorded as skipped, named as `shown`, default `path`) when it is neither text nor a document rlmx reads.
        `lone`: the call's only path, whose document's error (a PDF without text, malformed JSON) is the call's
        error, not a skip."""
        shown = path if shown is None else shown
        reading.files += 1
        if reading.files > MAX_FILES:
            raise InputError(f"more than {MAX_FILES:,} files under the given paths; pass narrower paths (a sub-folder)")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            reading.skipped.append(f"{self._shown(shown, reading)} ({exc.strerror})")
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                reading.skipped.append(f"{self._shown(shown, reading)} (not a regular file)")
                return None
            opened = _opened_path(fd)
            if opened is not None and not self.contains(opened):
                raise PathRefused(f"{raw} changed while being read and now leads outside the granted folders")
            if opened is not None and opened != path and self._hidden_part(opened) is not None:
                raise PathRefused(f"{raw} changed while being read and now leads to a hidden file")
            if reading.bytes + info.st_size > MAX_BYTES:
                raise InputError(
                    f"the given paths hold more than {MAX_BYTES // 2**20} MiB; pass narrower paths (a sub-folder)"
                )
            data = handle.read(MAX_BYTES - reading.bytes + 1)
        reading.bytes += len(data)
        if reading.bytes > MAX_BYTES:  # the file grew after fstat
            raise InputError(f"the given paths hold more than {MAX_BYTES // 2**20} MiB; pass narrower paths")
        try:
            return _as_document(path, data, MAX_BYTES - reading.bytes + len(data))
        except NotText as exc:
            if lone:
                raise InputError(
                    f"{raw} is not a UTF-8 text file ({exc.short}), nor a document type rlmx reads "
                    f"({documents.supported()}); convert it to text first"
                ) from None
            reading.skipped.append(f"{self._shown(shown, reading)} ({exc.short})")
            return None
        except InputError as exc:
            if lone:
                raise
            reading.skipped.append(f"{self._shown(shown, reading)} ({encodable(str(exc))})")
            return None


def _as_document(path: Path, data: bytes, left: int) -> Document:
    """`data`, the bytes of file `path`, as the same `rlmx.documents` loader that `rlmx ask --context` uses makes it
    (by suffix; `left`: the bytes its extracted text may take), else as UTF-8 text. InputError from the loader;
    NotText for a file of no known type that is not text."""
    loader = documents.loader_for(path)
    if loader is None:
        return Document(decode_text(data), "text")  # as every other context source reads text
    with documents.text_limit(left, READ_ADVICE):
        return loader(path, data)


def _chars(value: Any) -> int:
    """The characters of a document's value: its strings' (a PDF's pages, a CSV's cells) and its numbers', true,
    false and null's as JSON writes them (a JSON file of numbers is not 0 characters read). Iterative: a value
    nested past the recursion limit is counted like any other."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)  # exact types first: a JSON file's millions of leaves
        if kind is str:
            total += len(item)
        elif kind is int:
            total += len(str(item))
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            total += _leaf_chars(item, stack)
    return total


def _leaf_chars(value: Any, stack: list[Any]) -> int:
    """The characters JSON writes for a float, true, false or null (as `json.dumps` would, without its cost per call:
    a 16 MB array of numbers took 12 s to count); a subclass of a container is walked (onto `stack`)."""
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, float):
        return len(float.__repr__(value)) if math.isfinite(value) else len(json.dumps(value))
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return len(str(int(value)))
    if isinstance(value, dict):
        stack.extend(value.values())
        return 0
    if isinstance(value, list | tuple):
        stack.extend(value)
        return 0
    return len(json.dumps(value, default=str))


_LISTED_BYTE = re.compile(r"\\udc([89a-fA-F][0-9a-fA-F])")
"""A byte that is not UTF-8 as a listed name writes it (`frames.escaped`: byte E9 of `caf\\xe9.txt` is `\\udce9`)."""


def _as_listed(given: Path) -> Path:
    """`given`, or, when it does not exist and spells bytes as a listing shows them (`caf\\udce9.txt`), the name
    with those bytes (PEP 383, as os.fsdecode has it): a file name that is not UTF-8 is named the way it is listed.
    A file whose name really holds that backslash text is found first."""
    text = str(given)
    if "\\udc" not in text or os.path.lexists(given):
        return given
    return Path(_LISTED_BYTE.sub(lambda found: chr(0xDC00 + int(found.group(1), 16)), text))


NAMING_NOT_UTF8 = (
    "A file name that is not UTF-8 is given as it is listed, each byte that is not UTF-8 as a \\udcXX escape "
    "(caf\\udce9.txt for the Latin-1 name caf\\xe9.txt; in JSON the backslash is written twice), or as a file:// URI "
    "with that byte percent-escaped (file:///path/caf%E9.txt)."
)


def _pattern_hint(raw: str) -> str:
    """For a path that does not exist and holds a glob pattern (`src/*.py`, `**/*.md`): that patterns are not
    expanded, and the folder to give instead (read whole, hidden files skipped)."""
    wild = min((raw.find(c) for c in "*?[" if c in raw), default=-1)
    if wild < 0:
        return ""
    folder = raw[:wild].rpartition("/")[0] or "."
    return f"; paths are not patterns (no * ? [ expansion): give the folder ({folder}), read whole, or each file"


def _naming_hint(given: Path) -> str:
    """For a path that does not exist whose name holds U+FFFD or a `\\udcXX` escape (a file name that is not UTF-8,
    spelt some way): the names in its folder it may mean, as they are to be given, and how; else nothing."""
    name = given.name
    if "\ufffd" not in name and "\\u" not in name:
        return ""
    try:
        entries = os.listdir(given.parent)
    except OSError:
        entries = []
    wanted = encodable(_LISTED_BYTE.sub("\ufffd", name))
    matches = [str(given.parent / escaped(entry)) for entry in entries if encodable(entry) == wanted]
    meant = f"; did you mean {' or '.join(matches[:3])}?" if matches else "."
    return f"{meant} {NAMING_NOT_UTF8}"


def _from_file_uri(raw: str) -> str:
    """The local path a `file://` URI names (as MCP roots and the resources agents attach give them: percent-escapes
    decoded, `file://localhost/` too); anything else unchanged. Another scheme is refused."""
    if not raw.lower().startswith(("file:", "vscode-remote:", "http:", "https:")):
        return raw
    path = file_uri_path(raw)
    if path is None:
        raise PathRefused(f"path {raw} is a URI of another machine or scheme; give a local path (or a file:// URI)")
    return path


def file_uri_path(uri: str) -> str | None:
    """The local path `file://` URI `uri` names (`file://localhost/` too), None for another machine or scheme. Its
    percent-escapes are the octets of the name (RFC 8089): `caf%E9.txt`, what Path.as_uri() writes for a Latin-1
    name, is that file (as os.fsdecode has it), not `caf\ufffd.txt`."""
    url = urlsplit(uri)
    if url.scheme.lower() != "file" or url.netloc not in ("", "localhost"):
        return None
    return os.fsdecode(unquote_to_bytes(url.path))


def _opened_path(fd: int) -> Path | None:
    """The path the kernel says `fd` has (Linux); None where /proc is not available."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None
