"""Turn the caller's context values into stored contexts: validated, serialized once, described for the prompt.

Everything is checked before any LM call, and before reading what can be refused: a file's type and size come from
stat() (regular files and folders only: no FIFO, device or socket is ever opened for reading), sizes count against
one limit per call (`RLM(max_context_bytes=...)`, default 1 GiB), and JSON values are walked without recursion, so
a circular or 100,000-deep list is an InputError, not a RecursionError. Text is made encodable by the same rule as
every string that leaves rlmx (`frames.utf8`: a lone surrogate becomes U+FFFD).
This module never talks to an LM or a sandbox; it only prepares bytes and their description.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import functools
import hashlib
import importlib.machinery
import json
import keyword
import os
import re
import stat
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlmx import documents
from rlmx.documents.text import HEAD, NotText, decode_text, read_up_to, refuse_binary
from rlmx.errors import InputError
from rlmx.lm.base import ascii_density, typical_tokens
from rlmx.missing_path import missing_path
from rlmx.sandbox import frames
from rlmx.sandbox.graphemes import boundary_before, head
from rlmx.strbuffer import ascii_bytes

ContextKind = Literal["text", "json"]
DEFAULT_MAX_CONTEXT_BYTES = 1 << 30
"""1 GiB of UTF-8 for all the contexts of one call. Raise it with RLM(max_context_bytes=...)."""
RAISE_LIMIT_HINT = "RLM(max_context_bytes=...) (rlmx ask: --max-context-bytes)"
"""How a size refusal says to raise the limit, in these words wherever it is made (here, `rlmx.documents`), so that a
front end with a flag of its own (`rlmx mcp --max-context-bytes`) can put its own in their place."""
PREVIEW_CHARS = 160
_ITEM_LENGTHS_SHOWN = 8


CHUNK_CHARS = 1 << 16
"""Characters encoded at a time when a context is written or hashed: the UTF-8 copy of a whole 40 MB context
(about 40 ms of page faults on a small machine, and 40 MB more memory) is never made, and a 64 Ki chunk stays in
the CPU cache (1 Mi chunks measured 3x slower to encode and hash)."""


class _Digest:
    """The sha256 of a context's UTF-8, computed once, by whoever asks first (thread-safe), 64 Ki characters at
    a time. Nobody waits for it before the first LM call: the trace gives it in `sandbox_ready`, and a run that
    records events starts `hash_in_background` while its REPL starts; a run nobody records never hashes."""

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._value = ""
        self._lock = threading.Lock()

    def result(self) -> str:
        with self._lock:
            if self._text is not None:
                digest = hashlib.sha256()
                for chunk in _utf8_chunks(self._text):
                    digest.update(chunk)
                self._value, self._text = digest.hexdigest(), None
            return self._value


def _utf8_chunks(text: str, size: int = CHUNK_CHARS) -> Iterator[bytes | memoryview]:
    """The UTF-8 of `text`: a large ASCII string as one view of its own bytes (`strbuffer`), else encoded `size`
    characters at a time."""
    view = ascii_bytes(text)
    if view is not None:
        yield view
        return
    for start in range(0, len(text), size):
        yield text[start : start + size].encode("utf-8")


def hash_in_background(contexts: Sequence[PreparedContext]) -> None:
    """Start hashing `contexts` (their `sha256`) on a thread at a lower CPU priority (Linux: a nice value applies
    to one thread), so that whoever asks later finds the hashes done while the LM request and the REPL's start
    keep the CPU. hashlib frees the GIL while it hashes."""

    def work() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        for context in contexts:
            _ = context.sha256

    threading.Thread(target=work, name="rlmx-hash-contexts", daemon=True).start()


@dataclass(frozen=True, slots=True)
class PreparedContext:
    """One named context variable, serialized once. `text` is what the worker loads (a str context as given, or a
    value's JSON), already encodable as UTF-8 (lone surrogates replaced); `nbytes` its UTF-8 size. `data` (the
    UTF-8 bytes) is made on demand, and `chunks()` gives them a piece at a time without the whole copy."""

    name: str
    kind: ContextKind
    text: str
    nbytes: int
    type_name: str
    chars: int
    digest: _Digest = field(compare=False, repr=False)
    preview: str
    item_count: int | None = None
    item_lengths: tuple[int, ...] = ()
    source: str | None = None
    skipped_files: tuple[str, ...] = ()
    structure: str | None = None
    """What the loaded documents hold ("report.pdf: PDF, 58 pages, ..."), for the first prompt."""

    @property
    def data(self) -> bytes:
        """The whole UTF-8 encoding (a copy of `nbytes`; prefer `chunks()` for large contexts)."""
        return self.text.encode("utf-8")

    def chunks(self) -> Iterator[bytes | memoryview]:
        """The UTF-8 encoding, `CHUNK_CHARS` characters at a time (a large ASCII text: one view, no copy)."""
        return _utf8_chunks(self.text)

    @property
    def sha256(self) -> str:
        """Hex sha256 of the UTF-8 (waits for the background hash, started when the context was prepared)."""
        return self.digest.result()

    @property
    def approx_tokens(self) -> int:
        """A typical token count of the text, script-aware and density-aware (`lm.base.typical_tokens` at the
        text's `ascii_density`): CJK counts about six times what its characters / 4 would say, base64 or hex about
        2.5 times. Measured on a sample of at most 32 Ki characters (under a millisecond on a 40 MB context)."""
        return typical_tokens(self.chars, self.nbytes, ascii_density(self.text))

    def describe(self) -> str:
        """One line for the root LM's first prompt: type and size, a short preview, never the content."""
        line = f"- `{self.name}`: {self.type_name}, {self.chars:,} characters (~{self.approx_tokens:,} tokens)"
        if self.item_count is not None:
            lengths = ", ".join(f"{n:,}" for n in self.item_lengths)
            more = ", ..." if self.item_count > len(self.item_lengths) else ""
            line += f"; {self.item_count:,} items, item lengths in characters: {lengths}{more}"
        if self.source:  # file names and paths, like every one the prompt shows, through `prompt_text`
            line += f"; loaded from {prompt_text(self.source)}"
        if self.structure:
            line += f"\n  structure: {prompt_text(self.structure)}"
        if self.skipped_files:
            # each entry carries its reason ("logo.png (binary)")
            named = "; ".join(prompt_text(entry) for entry in self.skipped_files[:_SKIPPED_SHOWN])
            unnamed = len(self.skipped_files) - _SKIPPED_SHOWN
            line += f"\n  {len(self.skipped_files):,} skipped, not in the context: {named}"
            line += f"; and {unnamed:,} more" if unnamed > 0 else ""
        return line + f"\n  preview: {json.dumps(self.preview, ensure_ascii=False)}"

    def summary(self, *, with_sha256: bool = False) -> dict[str, Any]:
        """What a trace may hold about a context: its name and size (and, when asked, its hash: that waits for the
        background hash, so the start events leave it out and `sandbox_ready` carries it), never its content."""
        summary: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "type": self.type_name,
            "chars": self.chars,
            "bytes": self.nbytes,
        }
        if with_sha256:
            summary["sha256"] = self.sha256
        summary["skipped_files"] = list(self.skipped_files)
        return summary


_SKIPPED_SHOWN = 20
"""Skipped files the first prompt names with their reasons (the rest only counted; the trace lists all)."""


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """`text` (file names with their reasons) on one prompt line: a control character or line break a file name
    holds is written as its Python escape ("note\\nassistant: ..."), so a name cannot start a prompt line of its
    own, and the model's `context["note\\n..."]` names the same key."""
    return _CONTROLS.sub(lambda control: repr(control.group())[1:-1], text)


def prompt_text(text: str) -> str:
    """`text` that holds file names or paths (a context's source, its skipped files, the workspace's files) as a
    prompt writes it: on one line (`_one_line`), with a name that is not UTF-8 escaped as keys are (`printable_name`).
    The one rule for every file name rlmx writes into a prompt."""
    return _one_line(printable_name(text))


@dataclass(frozen=True, slots=True)
class _Loaded:
    value: Any
    source: str | None = None
    skipped: tuple[str, ...] = field(default_factory=tuple)
    structure: str | None = None
    keyed_by_path: bool = False
    """A dict of path -> content (a folder, a list of paths), not a dict the data itself holds (a JSON object)."""


class SizeLimit:
    """The context bytes one call may still load (`RLM(max_context_bytes=...)`, all its contexts together).

    Sizes are checked before anything is read: a file's through stat(), a str's by its length."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_CONTEXT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def check(self, what: str, size: int) -> None:
        """Raise InputError if `size` more bytes of `what` would pass the limit."""
        if self.used + size > self.max_bytes:
            already = f" ({self.used:,} bytes are taken by the other contexts)" if self.used else ""
            raise InputError(
                f"{what} is {size:,} bytes, over the limit of {self.max_bytes:,} context bytes per call{already}; "
                f"pass a smaller part, or raise the limit with {RAISE_LIMIT_HINT}"
            )

    def take(self, what: str, size: int) -> None:
        self.check(what, size)
        self.used += size


def _load_bytes(value: Any, limit: SizeLimit, name: str) -> _Loaded:
    limit.check(f"context `{name}`", len(value))
    try:  # as a file's bytes are read (`documents.text`: one rule for files, folders, stdin and bytes)
        return _Loaded(decode_text(bytes(value)))
    except NotText as exc:
        raise InputError(
            f"context bytes are not text ({exc}); decode them yourself and pass a str, or pass the file's Path"
        ) from None


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(path: Path, mode: int) -> InputError:
    kind = next((label for test, label in _FILE_KINDS if test(mode)), "not a regular file")
    return InputError(
        f"context {path} is {kind}, not a regular file; rlmx reads only regular files and folders "
        "(save the data to a file first, or pipe it to `rlmx ask --context -`)"
    )


def _read_text_file(path: Path, limit: SizeLimit) -> str:
    """The file's text (`documents.text.decode_text`: UTF-8, or UTF-16/32 by a byte order mark or by where its NULs
    sit); NotText when it is binary (told from the head before the rest is read where the head already shows it) or
    not UTF-8.

    The file is opened non-blocking and checked with fstat before any read, so a FIFO or device swapped in after
    the caller's stat() is refused too; no more than the limit is ever read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        limit.check(f"context file {path}", info.st_size)
        try:
            head = read_up_to(handle, HEAD)
            refuse_binary(head)  # only what the head proves: the verdict is on the whole file
            raw = head + read_up_to(handle, limit.max_bytes - limit.used + 1 - len(head))
        except OSError as exc:
            raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    limit.check(f"context file {path}", len(raw))  # it grew while we read
    return decode_text(raw)


def _folder_entries(
    path: Path, inside: Any, unlisted: Callable[[OSError], None]
) -> Iterator[tuple[Path, str, str | None]]:
    """Each entry of a context folder `_load_folder` reads or names as left out: (file, its path relative to the
    folder, why it is left out, or None for a regular file it reads). Hidden and linked subfolders are not entered
    (yielded as left out); `inside` (a `Roots`) holds the folder, for a file linked from outside it."""
    for root, dirs, files in os.walk(path, followlinks=False, onerror=unlisted):
        for dir_name in sorted(dirs):
            why = _folder_left_out(Path(root) / dir_name)
            if why is not None:  # not entered, and named with the reason like every entry left out
                dirs.remove(dir_name)
                yield Path(root) / dir_name, f"{(Path(root) / dir_name).relative_to(path).as_posix()}/", why
        dirs.sort()
        for file_name in sorted(files):
            file = Path(root) / file_name
            relative = file.relative_to(path).as_posix()
            if documents.hidden(file_name):  # `.env`: a user listing the folder does not expect it sent
                yield file, relative, "hidden"
                continue
            try:
                mode = file.stat().st_mode
                # os.walk enters no linked folder: only the file itself can be a link that leads outside
                escapes = file.is_symlink() and not inside.contains(file.resolve(strict=True))
            except OSError as exc:
                yield file, relative, f"cannot be read: {exc.strerror}"
                continue
            except RuntimeError:  # a loop of links
                yield file, relative, "a loop of links"
                continue
            if escapes:
                yield file, relative, "a link that leads outside the folder"
            elif not stat.S_ISREG(mode):  # devices, FIFOs, sockets: reported, never opened
                yield file, relative, "not a regular file"
            elif not os.access(file, os.R_OK):
                yield file, relative, "cannot be read: Permission denied"
            else:
                yield file, relative, None


def read_files(path: Path) -> dict[tuple[int, int], str | None]:
    """The files a context path reads, by (device, inode) (a hard link or another spelling is the same file): a
    file itself (None), or every file a folder's load reads, with its path inside the folder, and the folder itself
    (""). For the command line's check that no file is given twice (a folder and a file in it, two hard links).
    What cannot be read or listed is left for the load to report."""
    from rlmx.mcp.roots import Roots

    try:
        if not path.is_dir():
            info = path.stat()
            return {(info.st_dev, info.st_ino): None}
        info = path.stat()
        inside = Roots([path.resolve(strict=True)], "the context folder")
    except (OSError, RuntimeError):
        return {}
    found: dict[tuple[int, int], str | None] = {(info.st_dev, info.st_ino): ""}
    for file, relative, why in _folder_entries(path, inside, lambda error: None):
        if why is None:
            with contextlib.suppress(OSError):
                held = file.stat()
                found.setdefault((held.st_dev, held.st_ino), relative)
    return found


def _load_folder(path: Path, limit: SizeLimit) -> _Loaded:
    """Every regular text file under `path`. Linked folders (not followed), hidden files and folders, devices, FIFOs,
    files it cannot load and files reached through a link that leads outside `path` are skipped and reported with
    their reason, never read: by the rules `rlmx mcp` keeps, `documents.hidden` and `Roots.contains`."""
    from rlmx.mcp.roots import Roots  # the one "inside the granted folder" rule

    try:
        inside = Roots([path.resolve(strict=True)], "the context folder")
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot read context folder {path}: {exc}") from None
    texts: dict[str, Any] = {}
    shapes: dict[str, documents.Document] = {}
    problems: list[str] = []
    skipped: list[str] = []
    folder = SizeLimit(limit.max_bytes)
    folder.used = limit.used

    def unlisted(error: OSError) -> None:  # a subfolder that cannot be listed: reported, not silently dropped
        try:
            where = Path(error.filename).relative_to(path).as_posix()
        except (TypeError, ValueError):
            where = str(error.filename)
        if where == ".":  # the folder itself (mode 000): its listing's error, not "holds no readable text files"
            raise InputError(f"cannot read context folder {path}: {error.strerror}") from None
        skipped.append(f"{where}/ (a folder that cannot be listed: {error.strerror})")

    for file, relative, why in _folder_entries(path, inside, unlisted):
        if why is not None:
            skipped.append(f"{relative} ({why})")
            continue
        if documents.loader_for(file) is not None:
            folder.check(f"context file {file}", file.stat().st_size)  # over the limit: an error, not a skip
            try:
                document = documents.load(file, folder.max_bytes - folder.used)
            except InputError as exc:  # like a binary file: skipped, and the reason goes to the prompt
                reason = _reason(exc, file)
                skipped.append(f"{relative} ({reason})")
                problems.append(f"{relative} ({reason})")
                continue
            folder.used += file.stat().st_size
            texts[relative] = document.value
            shapes[relative] = document
            continue
        try:
            text = _read_text_file(file, folder)
        except NotText as exc:
            skipped.append(f"{relative} ({exc.short})")
            continue
        folder.used += len(text.encode("utf-8", "surrogatepass"))
        texts[relative] = text
        shapes[relative] = documents.Document(text, f"text, {len(text):,} characters")  # listed like any file
    if not texts:
        raise _nothing_read(path, problems, skipped)
    structure = f"{len(texts)} files; {documents.describe(shapes)}"
    if problems:
        structure += f"; not loaded: {'; '.join(problems[:10])}"
    return _Loaded(texts, source=str(path), skipped=tuple(skipped), structure=structure, keyed_by_path=True)


_NAMED_UNREAD = 3
"""How many of the files left out the error for a folder with nothing readable names; the rest are counted."""


def _nothing_read(path: Path, problems: list[str], skipped: list[str]) -> InputError:
    """The error for a context folder none of whose files could be read: what was left out and why, the documents
    that failed first ("scan.pdf (a PDF with no text layer ...; run OCR on it first)"): the fix is in their reasons,
    and the error is printed with `--quiet` too, where the skipped files' warning is not."""
    left_out = problems + [entry for entry in skipped if entry not in problems]
    if not left_out:
        return InputError(f"context folder {path} is empty: it holds no files, nor do its subfolders; check the path")
    named = "; ".join(prompt_text(entry) for entry in left_out[:_NAMED_UNREAD])
    more = len(left_out) - _NAMED_UNREAD
    rest = f"; and {more:,} more left out" if more > 0 else ""
    return InputError(f"context folder {path} holds no readable text files or documents: {named}{rest}")


def _folder_left_out(folder: Path) -> str | None:
    """Why a context folder's subfolder is not entered, or None to enter it: hidden (`.git/`, `.venv/`), or a
    linked folder (os.walk follows none, inside the folder or out: one would be read twice, or read what the user
    did not pass)."""
    if documents.hidden(folder.name):
        return "hidden"
    if folder.is_symlink():
        return "a linked folder, not followed: pass its target as a context"
    return None


def _reason(error: InputError, file: Path) -> str:
    """Why `file` could not be loaded, as the skipped list writes it after the file's relative path: the loader's
    message without its own naming of the file. Every loader's message begins with "context file <its path>"
    ("... is an encrypted PDF ...", "...: line 26 is not valid JSON ..."), so what follows that exact path is the
    reason, whole (the path itself may hold " is " or ": "); a message of another form is kept whole."""
    message = str(error)
    named = frames.encodable(f"context file {file}")  # as InputError wrote it
    if not message.startswith(named):
        return message
    rest = message[len(named) :]
    for joint in (" is ", ": ", " "):  # "<path> is damaged", "<path>: line 26 ...", "<path> has no header row"
        if rest.startswith(joint):
            return rest[len(joint) :]
    return rest


def _load_path(path: Path, limit: SizeLimit) -> _Loaded:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{missing_path(path, 'context file')}; check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(missing_path(path, "context file")) from None
        raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        return _load_folder(path, limit)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode)
    limit.check(f"context file {path}", info.st_size)
    if documents.loader_for(path) is not None:
        document = documents.load(path, limit.max_bytes - limit.used)
        return _Loaded(document.value, source=str(path), structure=f"{path.name}: {document.shape}")
    try:
        text = _read_text_file(path, limit)
    except NotText as exc:
        raise InputError(
            f"context file {path} is {exc}, and {path.suffix or 'no suffix'!r} is not a document type rlmx reads "
            f"({documents.supported()}); {documents.not_text_advice(exc.kind, 'convert it to UTF-8 text first')}"
        ) from None
    return _Loaded(text, source=str(path))


def _load_paths(paths: list[os.PathLike[str]], limit: SizeLimit) -> _Loaded:
    """Several files or folders as one context: a dict of path -> document (or folder dict)."""
    loaded: dict[str, Any] = {}
    lines: list[str] = []
    before = limit.used
    for item in paths:
        path = Path(item)
        one = _load_path(path, limit)
        limit.used += path.stat().st_size if path.is_file() else 0  # counted now, so the next file sees it
        loaded[path.as_posix()] = one.value
        lines.append(one.structure or f"{path.as_posix()}: {_shape(one.value)}")
    limit.used = before  # the whole dict is counted once, when it is serialized (prepare's take)
    return _Loaded(loaded, source=", ".join(loaded), structure="; ".join(lines), keyed_by_path=True)


def _names_a_file(text: str) -> bool:
    """Whether `text` is one line that is the path of an existing file (`context="notes.txt"`, as open() and pandas
    take a path): a likely mistake, where the text itself is rarely what was meant."""
    if len(text) > 4096 or "\n" in text or not text.strip():
        return False
    try:
        return os.path.isfile(text)
    except (ValueError, OSError):  # a NUL in it, a name too long
        return False


def _shape(value: Any) -> str:
    if isinstance(value, str):
        return f"text, {len(value):,} characters"
    return f"{type(value).__name__} of {len(value):,} items" if isinstance(value, list | dict) else type(value).__name__


def _loaded(name: str, value: Any, limit: SizeLimit) -> _Loaded:
    if isinstance(value, bytes | bytearray | memoryview):
        return _load_bytes(value, limit, name)
    if isinstance(value, os.PathLike):
        return _load_path(Path(value), limit)
    if isinstance(value, list | tuple) and value and all(isinstance(v, os.PathLike) for v in value):
        return _load_paths(list(value), limit)
    if isinstance(value, str) and _names_a_file(value):
        warnings.warn(
            f"context `{name}` is the str {value!r}, which names an existing file: it is read as those "
            f"{len(value)} characters, not as the file. To read the file, pass Path({value!r})",
            UserWarning,
            stacklevel=2,
        )
    if isinstance(value, str | list | tuple | dict):
        return _Loaded(value)
    scalar = isinstance(value, bool | int | float)
    shown = f"the {type(value).__name__} {value!r}" if scalar else f"a {type(value).__name__}"
    hint = f" (pass str({value!r}) if you mean the text)" if scalar else ""
    raise InputError(
        f"context `{name}` is {shown}; a context is text or data: a str, bytes, a Path to a file or folder, or a "
        f"list/dict of JSON values{hint}"
    )


def _json_problem(value: Any) -> tuple[str, str] | None:
    """(where, what) for the first value in `value` that JSON cannot hold, or None. The path is built only on the
    way back from a problem, so checking a million-item list costs no strings. Depth is bounded by the caller."""
    if value is None or isinstance(value, str | bool | int | float):
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if item is None or isinstance(item, str | bool | int | float):
                continue
            found = _json_problem(item)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", f"has a non-string key {key!r}; JSON objects need str keys"
            if item is None or isinstance(item, str | bool | int | float):
                continue
            found = _json_problem(item)
            if found is not None:
                return f"[{key!r}]{found[0]}", found[1]
        return None
    return "", f"is a {type(value).__name__}; {_NESTED_RULE}{_nested_hint(value)}"


_NESTED_RULE = "inside a list or dict a context holds JSON values only (str, int, float, bool, None, lists, dicts)"


def _nested_hint(value: Any) -> str:
    """What to do with one value a list/dict context cannot hold, for the kinds users nest most."""
    if isinstance(value, os.PathLike):
        return (
            ": files go in a flat list of paths (context=[a, b]), a folder as one path, or each as its own context "
            "(contexts={'a': a, 'b': b})"
        )
    if isinstance(value, bytes | bytearray | memoryview):
        return ": decode it to text first (value.decode()), or pass it as a context of its own"
    if callable(getattr(value, "item", None)) and type(value).__module__.split(".")[0] == "numpy":
        return ": convert numpy values to Python ones first (value.item(), or array.tolist())"
    return ""


_SCALARS = (str, int, float, type(None))  # bool is an int
_CONTAINERS = (list, tuple, dict)


def _json_ok(value: Any, max_depth: int, watch_after: int | None) -> bool | None:
    """True when `value` is plain JSON (str keys, scalar leaves) nested at most `max_depth` deep. One iterative
    pass that allocates nothing per leaf (300,000 records in a fraction of a second); a cycle shows as depth.
    Past `watch_after` lists and dicts it notes each one it meets, and returns None at one met twice: a part held in
    several places is walked at each, as JSON writes it (one shared at every level, `x = [x, x]`: 2**depth times)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    parts = 0
    met: set[int] = set()
    while stack:
        item, depth = pop()
        if depth > max_depth:
            return False
        parts += 1
        if watch_after is not None and parts > watch_after:
            if id(item) in met:
                return None
            met.add(id(item))
        if isinstance(item, _SCALARS):  # only the top: a JSON file may hold a lone `null`, `42` or `true`
            continue
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    return False
            children: Any = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, _SCALARS):
                continue
            if not isinstance(child, _CONTAINERS):
                return False
            push((child, depth + 1))
    return True


_PARTS_WALKED = 2**20
"""Lists and dicts of a context value walked before `_json_ok` watches for one met twice; a value holding one is
judged by `json_ready`, whose work is bounded by its distinct parts (a walk's by the parts written out: 2**depth
for a list shared at every level)."""


def _check_json(name: str, value: Any, limit: SizeLimit) -> None:
    """Raise InputError, naming the place, unless `value` can be stored as JSON. The fast check runs first; the
    slower ones that say where and why run only when it fails."""
    from rlmx.json_ready import ShapeProblem, json_ready, plain  # rlmx.sandbox imports this module
    from rlmx.sandbox.frames import MAX_NESTING, nesting_problem

    verdict = _json_ok(value, MAX_NESTING, _PARTS_WALKED)
    if verdict is None and plain(value, limit.max_bytes - limit.used, MAX_NESTING):
        return  # parts held in several places are lists or dicts of scalars alone (records sharing one list)
    if verdict is None:  # many parts, some held in several places: its shape first, then the walk
        try:  # each item written out takes a byte at least: more than the limit can never load
            json_ready(value, max_items=limit.max_bytes - limit.used)
        except ShapeProblem as problem:
            raise InputError(
                f"context `{name}` cannot be loaded: the value {problem}; flatten it or pass it as text"
            ) from None
        except ValueError:
            pass  # a leaf JSON cannot carry: said below, with its place
        verdict = _json_ok(value, MAX_NESTING, None)
    if verdict:
        return
    shape = nesting_problem(value)
    if shape is not None:
        raise InputError(f"context `{name}` cannot be loaded: {shape}; flatten it or pass it as text")
    found = _json_problem(value)  # recursion is safe now: the value is at most MAX_NESTING deep
    if found is not None:
        raise InputError(f"context `{name}`{found[0]} {found[1]}")


def prepare(name: str, value: Any, limit: SizeLimit | None = None) -> PreparedContext:
    """Validate and serialize one context value. Raises InputError (before reading anything it can refuse) for a
    value of the wrong type, a path that is not a regular file or folder, or more bytes than `limit` allows."""
    limit = limit if limit is not None else SizeLimit()
    if value is None:
        raise InputError(f"context `{name}` is None; pass a value or leave it out")
    loaded = _loaded(name, value, limit)
    content = loaded.value
    if isinstance(content, str):
        limit.check(f"context `{name}`", len(content))  # a char is at least one byte: refuse before encoding
        text, nbytes = _encodable_text(content)
        limit.take(f"context `{name}`", nbytes)
        return PreparedContext(
            name=name,
            kind="text",
            text=text,
            nbytes=nbytes,
            type_name="str",
            chars=len(text),
            digest=_Digest(text),
            preview=text[: boundary_before(text, PREVIEW_CHARS)],
            source=loaded.source,
            structure=loaded.structure,
        )
    _check_json(name, content, limit)
    try:
        text = json.dumps(content, ensure_ascii=False)
    except ValueError as exc:
        raise InputError(f"context `{name}` cannot be written as JSON: {exc}") from None
    if not text.isascii() and not _is_utf8(text):
        # Lone surrogates (file names that are not UTF-8, cut text) become U+FFFD below; in a key that could merge
        # two keys into one and lose a value, so keys keep theirs as backslash escapes ("caf\udce9.txt").
        content = _escaped_keys(content)
        text = json.dumps(content, ensure_ascii=False)
    text, nbytes = _encodable_text(text)
    limit.take(f"context `{name}`", nbytes)
    item_count: int | None = None
    lengths: tuple[int, ...] = ()
    if isinstance(content, list | tuple):
        type_name = "list"
        item_count = len(content)
        lengths = tuple(_item_chars(item) for item in content[:_ITEM_LENGTHS_SHOWN])
    elif isinstance(content, dict):
        item_count = len(content)
        lengths = tuple(_item_chars(item) for item in list(content.values())[:_ITEM_LENGTHS_SHOWN])
        type_name = _dict_name(content, loaded.keyed_by_path)
    else:  # a JSON file holding one scalar
        type_name = "None (JSON null)" if content is None else f"{type(content).__name__} (a lone JSON value)"
    return PreparedContext(
        name=name,
        kind="json",
        text=text,
        nbytes=nbytes,
        type_name=type_name,
        chars=len(text),
        digest=_Digest(text),
        preview=text[: boundary_before(text, PREVIEW_CHARS)],
        item_count=item_count,
        item_lengths=lengths,
        source=loaded.source,
        skipped_files=loaded.skipped,
        structure=loaded.structure,
    )


def _dict_name(content: dict[str, Any], keyed_by_path: bool) -> str:
    """How the first prompt names a dict: a folder's or a list of paths' as keyed by path, any other by its keys."""
    if keyed_by_path:
        documents_inside = any(not isinstance(v, str) for v in content.values())
        return "dict (path -> document)" if documents_inside else "dict (path -> file text)"
    keys = ", ".join(_shown_key(key) for key in list(content)[:8]) + (", ..." if len(content) > 8 else "")
    return f"dict with keys {keys}" if content else "dict (empty)"


_KEY_SHOWN = 40
"""Code points of a key the first prompt quotes; a longer key is cut between whole characters and marked so."""


def _shown_key(key: Any) -> str:
    """A key as the first prompt quotes it: whole, or its start on a whole character (a flag or an accent is never
    split) with "..." after the quote, so a cut key is not taken for the whole one."""
    if not isinstance(key, str):
        return repr(key)
    kept = head(key, _KEY_SHOWN)
    return repr(kept) if kept == key else f"{kept!r}..."


def _encodable_text(text: str) -> tuple[str, int]:
    """`text` with lone surrogates replaced (the rule of `frames.encodable`), and its UTF-8 size. ASCII (known
    without a scan) is neither copied nor encoded; other text is encoded once to count its bytes."""
    if text.isascii():
        return text, len(text)
    from rlmx.sandbox.frames import encodable  # rlmx.sandbox imports this module

    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        fixed = encodable(text)
        return fixed, len(fixed.encode("utf-8"))


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped_keys(value: Any) -> Any:
    """`value` with every dict key's lone surrogates written as backslash escapes, so distinct keys stay distinct."""
    if isinstance(value, dict):
        return {printable_name(str(k)): _escaped_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped_keys(item) for item in value]
    return value


def printable_name(name: str) -> str:
    """`name` (a file name that is not UTF-8 has lone surrogates) with those written as backslash escapes: the same
    text wherever it is shown or sent, and distinct names stay distinct ("caf\\udce9.txt")."""
    return frames.escaped(name)


def _item_chars(item: Any) -> int:
    return len(item) if isinstance(item, str) else len(json.dumps(item, ensure_ascii=False))


BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
"""Python's builtins: a context named `print` would hide print() from the model's code."""
MODULE_NAMES = frozenset(name for name in sys.stdlib_module_names if not name.startswith("_"))
"""The standard library's modules: the model's `import re` would silently replace a context named `re` (and a tool
named `time`, put back after each cell, would replace the model's `import time`)."""


def module_named(name: str) -> str:
    """What module the model's `import name` would bind over a REPL variable of that name, in words, or "" for none:
    "a Python standard-library module", or "a Python module installed here" (`numpy`, `yaml`: the REPL runs this
    interpreter, with its site-packages; the current folder, which the REPL does not run in, is not looked in)."""
    if name in MODULE_NAMES:
        return "a Python standard-library module"
    return "a Python module installed here (the REPL runs this Python)" if _installed_module(name) else ""


@functools.cache
def _installed_module(name: str) -> bool:
    if not name.isidentifier() or name.startswith("_"):
        return False
    here = os.path.abspath(os.curdir)
    paths = [entry for entry in sys.path if entry and os.path.abspath(entry) != here]
    try:
        return importlib.machinery.PathFinder.find_spec(name, paths) is not None
    except (ImportError, ValueError, OSError):  # an unreadable path entry: no module found there
        return False


def python_reads(name: str) -> str:
    """The name Python binds for identifier `name` written in code: its NFKC form (PEP 3131), so `ｌｅｎ` is `len`."""
    if name.isascii():  # its own NFKC form
        return name
    import unicodedata  # only for names that are not ASCII

    return unicodedata.normalize("NFKC", name)


INTERNAL_PREFIXES = ("_rlmx_", "__rlmx")
"""How the names rlmx binds in the REPL for itself begin (the setup's `_rlmx_place_files`, the in-process tier's
`_rlmx_workspace_folder`, the tool stubs' `_rlmx_tool`, the worker's `__rlmx_answer__`): no context may take one."""


def check_name(name: str, reserved: frozenset[str]) -> None:
    """The one rule for context names, at every entry point: a Python identifier, not a keyword (soft keywords such
    as `match` and `type` are names to Python), that is not a name the REPL already provides (the REPL functions,
    `answer`, `history` and others in `reserved`, Python's builtins and standard-library modules, dunder names, rlmx's
    own `INTERNAL_PREFIXES`). Raises InputError; `rlmx ask` derives names from file names that obey it (`print.txt`
    -> `ctx_print`, `re.txt` -> `ctx_re`, `class.txt` -> `ctx_class`)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"context name {name!r} is not a valid Python identifier; use letters, digits and _")
    read_as = python_reads(name)
    if keyword.iskeyword(read_as):  # `ｃｌａｓｓ` too: Python reads it as `class`
        reads = "" if read_as == name else f" (Python reads it as {read_as!r})"
        raise InputError(
            f"context name {name!r} is a Python keyword{reads}, which code cannot use as a variable; choose another "
            f"name (e.g. {read_as + '_data'!r})"
        )
    if read_as != name:  # Python reads identifiers in source in this form (PEP 3131): the code could never reach it
        raise InputError(
            f"context name {name!r} reads as {read_as!r} in Python code (identifiers are NFKC-normalised), so the "
            f"model's code could not reach it by that name; use {read_as!r}"
        )
    if name in reserved:
        raise InputError(f"context name {name!r} is taken by a REPL function or variable; choose another name")
    if name in BUILTIN_NAMES:
        raise InputError(
            f"context name {name!r} is a Python builtin: it would hide {name} from the model's code; choose another "
            f"name (e.g. {name + '_data'!r})"
        )
    module = module_named(name)
    if module:
        raise InputError(
            f"context name {name!r} is {module}: the model's `import {name}` would replace the context; choose "
            f"another name (e.g. {name + '_data'!r})"
        )
    if name.startswith(INTERNAL_PREFIXES):
        raise InputError(
            f"context name {name!r} begins with {next(p for p in INTERNAL_PREFIXES if name.startswith(p))!r}, which "
            f"rlmx keeps for the names it binds in the REPL for itself; choose another name (e.g. "
            f"{name.strip('_') or 'data'!r})"
        )
    if name.startswith("__") and name.endswith("__"):
        raise InputError(f"context name {name!r} is a Python special name; choose another name")


def prepare_all(
    context: Any, contexts: Mapping[str, Any] | None, reserved: frozenset[str], *, max_bytes: int | None = None
) -> list[PreparedContext]:
    """All context variables of one call: `context` (if given) first, then the named ones. Together they may hold
    at most `max_bytes` (default DEFAULT_MAX_CONTEXT_BYTES) of UTF-8. Raises InputError, before any LM call."""
    limit = SizeLimit(max_bytes if max_bytes is not None else DEFAULT_MAX_CONTEXT_BYTES)
    if contexts is not None and not isinstance(contexts, Mapping):
        raise InputError(f"contexts must be a dict of name -> value, not {type(contexts).__name__}")
    for name in contexts or {}:
        check_name(name, reserved)
        if name == "context" and context is not None:
            raise InputError("`context` is given twice: as context= and inside contexts=; keep one")
    if context is not None and "context" in reserved:
        raise InputError(
            "a host tool is named `context`, the name context= gives its value in the REPL; rename the tool, or "
            "pass the value under another name with contexts={'name': value}"
        )
    prepared: list[PreparedContext] = []
    if context is not None:
        prepared.append(prepare("context", context, limit))
    for name, value in (contexts or {}).items():
        prepared.append(prepare(name, value, limit))
    return prepared
