"""The sub-call cache: identical sub-LM requests are answered once.

A request is identified by where it goes (the LM's kind, its server's URL with its query, the headers it sends
other than the key, a local model's file and settings), the model name, the LM's default sampling params and the
call's messages (the LM's own `max_tokens` is in the key, as the user's bound on a reply's length: a reply longer
than another LM's cap is no reply that LM could give; the per-call `max_tokens` the budget sets is left out, and a
reply cut by it, finish_reason "length", is never stored): two servers that serve different models under one
name never share replies. Within one run an in-memory map answers repeats, and concurrent identical requests share
the one call in flight. With a `cache_dir`, replies are also kept in an SQLite file there (`subcalls.sqlite`) and
answer the same requests in later runs, of this process or another: only the replies of an LM whose settings say all
that shapes them (`described`: rlmx's own HTTP and local LMs, or an LM that declares a `cache_identity`). Any other
LM's (a `ScriptedLM`, a user's own class) are keyed by the object itself and kept in the run's memory only
(`PROCESS_ONLY`).

Which requests are cached (`RLM(cache=...)`):
- `cache=None` (the default): only requests to an LM whose default params set `temperature=0`;
- `cache=True`: also requests whose temperature is unset (the user accepts one answer per identical request);
- `cache=False`: none.
An LM configured with a temperature above 0 is never cached: its answers are meant to differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlmx.errors import InputError
from rlmx.events import keep_private, make_private_folders
from rlmx.lm.base import LM, Completion, Message, Usage, reached_cap

CACHE_FILE = "subcalls.sqlite"


def cacheable(lm: LM, policy: bool | None) -> bool:
    """Whether requests to `lm` may be answered from the cache under `policy` (see the module docstring)."""
    if policy is False:
        return False
    params = getattr(lm, "params", None)
    temperature = params.get("temperature") if isinstance(params, dict) else None
    if temperature is None:
        return policy is True
    return isinstance(temperature, int | float) and float(temperature) == 0.0


_LM_SETTINGS = ("base_url", "model_path", "temperature", "seed", "n_ctx", "max_tokens", "requantize", "flash_attn")
"""LM attributes that change a reply when they change (an OpenAI-compatible server's URL; a local model's file,
its conversion to Q8_0, sampling, attention kernel and output cap), wherever an LM has them."""
_SECRET_HEADERS = frozenset(("authorization", "api-key", "x-api-key"))
"""Headers left out of the key: a new API key for the same server asks the same model."""

_OWN_LMS = frozenset(("rlmx.lm.openai.OpenAICompatibleLM", "rlmx.lm.local.LocalLM"))
"""rlmx's LM classes whose replies depend only on what `_endpoint` reads (their URL, headers, model, params; a local
model's file and settings). Exactly these classes: a subclass may add a persona in its own `complete`."""
_OWN_WRAPPERS = frozenset(("rlmx.lm.guided.ShortReader", "rlmx.server.app.SamplingLM"))
"""rlmx's LMs that pass each call to `inner` with settings of their own (a cap, sampling params): described when
their `inner` is."""

PROCESS_ONLY = "process:"
"""The prefix of a key that names an LM object, not settings (an LM that is not `described`): it answers requests
of this process only, so the SubcallCache keeps its replies in the run's memory, never in `cache_dir`."""


def _kind(lm: LM) -> str:
    return f"{type(lm).__module__}.{type(lm).__qualname__}"


def _endpoint(lm: LM) -> dict[str, object]:
    """What, besides the model name and params, decides which model answers `lm`'s requests and how: its class,
    the settings in `_LM_SETTINGS` it has, its declared `cache_identity`, the request URL with its query (Azure's
    `?api-version=`) and the headers it sends (a gateway routes on them); a wrapping LM's (`inner`) too, with the
    inner LM's model and default params (it sends them under the wrapper's)."""
    identity: dict[str, object] = {"kind": _kind(lm)}
    identity.update({name: str(getattr(lm, name)) for name in _LM_SETTINGS if hasattr(lm, name)})
    declared = getattr(lm, "cache_identity", None)  # what the LM says its replies depend on (`described`)
    if declared is not None:
        identity["declared"] = repr(declared)
    poster = getattr(lm, "_http", None)  # OpenAICompatibleLM's transport: the exact URL and headers it sends
    if poster is not None:
        identity["url"] = str(getattr(poster, "url", ""))
        headers = dict(getattr(poster, "headers", None) or {})
        sent = sorted((str(name).lower(), str(value)) for name, value in headers.items())
        identity["headers"] = [header for header in sent if header[0] not in _SECRET_HEADERS]
    inner = getattr(lm, "inner", None)
    if inner is not None and inner is not lm:
        identity["inner"] = {
            **_endpoint(inner),
            "model": str(getattr(inner, "model", "")),
            "params": repr(getattr(inner, "params", None)),
        }
    return identity


def described(lm: LM) -> bool:
    """Whether everything that shapes `lm`'s replies is in what `_endpoint` reads, so that two LMs with equal keys
    answer alike, in any run of any process: an LM that declares a `cache_identity` (any value whose repr names
    what its replies depend on: a custom LM's persona, its backend, its system prompt), an object of exactly one of
    rlmx's own LM classes (`_OWN_LMS`), or one of rlmx's wrappers (`_OWN_WRAPPERS`) around a described LM. Any
    other LM (a `ScriptedLM`, whose script rlmx cannot read; a user's own class, even one with a `base_url`: its
    `complete` may add a persona or options rlmx never sees) is not."""
    if getattr(lm, "cache_identity", None) is not None:
        return True
    if _kind(lm) in _OWN_LMS:
        return True
    inner = getattr(lm, "inner", None)
    return _kind(lm) in _OWN_WRAPPERS and inner is not None and inner is not lm and described(inner)


_TOKENS: dict[int, tuple[object, str]] = {}
"""`object_token`'s map: an LM object's id -> (a weak reference to it, or the object itself where it takes none,
its token)."""
_TOKENS_LOCK = threading.RLock()


def object_token(lm: LM) -> str:
    """A token for the LM object `lm`, the same for it all its life and never given to another object: a random
    128-bit value (an id() is reused once its object is gone; a counter is shared by a forked child). The entry
    goes when the object does; an object that takes no weak reference (`__slots__` without `__weakref__`) is held
    for the life of the process, so its id is never reused."""
    key = id(lm)
    with _TOKENS_LOCK:
        held = _TOKENS.get(key)
        if held is not None:
            old, token = held
            if (old() if isinstance(old, weakref.ref) else old) is lm:
                return token
        token = uuid.uuid4().hex
        ref: object
        try:
            ref = weakref.ref(lm, functools.partial(_forget, key))
        except TypeError:
            ref = lm
        _TOKENS[key] = (ref, token)
        return token


def _forget(key: int, _gone: object) -> None:
    with _TOKENS_LOCK:
        held = _TOKENS.get(key)
        if held is not None and isinstance(held[0], weakref.ref) and held[0]() is None:
            del _TOKENS[key]


def request_key(lm: LM, messages: Sequence[Message], *, route: str = "") -> str:
    """A SHA-256 of where the request goes (`_endpoint`), the model name, the LM's default params (its max_tokens
    included) and the messages. For an LM that is not `described`, also the object (`object_token`) and `route`,
    where the run's settings put it (`Tree.cache_route`: "root", "sub", "depth 1", "model 'b'"): two such
    objects never answer for each other, in one run or across runs, and the key starts with `PROCESS_ONLY` (no
    other process has that object)."""
    params = getattr(lm, "params", None)
    defaults = dict(params) if isinstance(params, dict) else {}
    own = not described(lm)
    body = json.dumps(
        {
            "endpoint": _endpoint(lm),
            "model": lm.model,
            "params": defaults,
            "messages": [[m["role"], m["content"]] for m in messages],
            **({"route": route, "object": object_token(lm)} if own else {}),
        },
        sort_keys=True,
        default=repr,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{PROCESS_ONLY}{digest}" if own else digest


@dataclass(frozen=True, slots=True)
class Hit:
    """A cached reply and where it came from ("memory", "in_flight" or "disk")."""

    completion: Completion
    source: str


class SubcallCache:
    """One run's cache: a memory map, calls in flight, and optionally an SQLite store shared across runs.

    Lives on the run's event loop (no locks of its own). `cache_dir` is created if missing; an unusable one raises
    InputError when the cache is made (before any LM call). The runs of one process that use one file, on any
    threads and loops, share one connection to it (`_Store`): they never lock each other out. A store that fails
    later (a damaged page, a full disk: any other sqlite3.Error on a lookup or a store) is dropped by this run with
    one warning, and the run goes on with the memory map. A store locked by another connection (a viewer's pending
    edit, another process's transaction) is healthy: after a short wait (`BUSY_SECONDS`, on the loop) it is passed
    over for `LOCKED_PAUSE_SECONDS` by every run of this process, then tried again; one warning per run.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._memory: dict[str, Completion] = {}
        self._in_flight: dict[str, asyncio.Future[Completion]] = {}
        self._store_of: _Store | None = None
        self._path = cache_dir / CACHE_FILE if cache_dir is not None else None
        self._told_locked = False
        if cache_dir is not None:
            self._store_of = _Store.take(cache_dir)

    async def complete(self, key: str, call: Callable[[], Awaitable[Completion]]) -> tuple[Completion, Hit | None]:
        """The reply to the request `key`: from the cache (with the Hit), or from `call()` (Hit None, then stored).
        A failed call is not stored; requests that were waiting on it make their own call."""
        while True:
            hit = self._lookup(key)
            if hit is not None:
                return hit.completion, hit
            waiting = self._in_flight.get(key)
            if waiting is None:
                break
            with contextlib.suppress(Exception):
                return await asyncio.shield(waiting), Hit(waiting.result(), "in_flight")
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            completion = await call()
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            future.exception()  # retrieved: waiters retry, nobody else needs it
            raise
        finally:
            del self._in_flight[key]
        future.set_result(completion)
        if not reached_cap(completion.finish_reason):
            self._memory[key] = completion
            self._store(key, completion)
        return completion, None

    @property
    def on_disk(self) -> bool:
        """Whether this run keeps replies in a `cache_dir` (until a store that failed was dropped)."""
        return self._store_of is not None

    def answers(self, key: str) -> bool:
        """Whether `complete(key, ...)` called now would send nothing: a reply is in memory or on disk, or an
        identical request is in flight (it would share that one, unless that one fails)."""
        return key in self._in_flight or self._lookup(key) is not None

    def _lookup(self, key: str) -> Hit | None:
        if key in self._memory:
            return Hit(self._memory[key], "memory")
        store = self._store_of
        if store is None or store.passed_over() or key.startswith(PROCESS_ONLY):
            return None
        try:
            row = store.read(key)
        except sqlite3.Error as exc:  # a damaged cache is a miss: it must never fail the call it would speed up
            self._failed(store, exc)
            return None
        if row is None:
            return None
        completion = Completion(
            text=row[0], model=row[1], usage=Usage(input_tokens=row[2], output_tokens=row[3]), finish_reason=row[4]
        )
        self._memory[key] = completion
        return Hit(completion, "disk")

    def _store(self, key: str, completion: Completion) -> None:
        store = self._store_of
        if store is None or store.passed_over() or key.startswith(PROCESS_ONLY):
            return  # a reply keyed by an LM object answers nobody once this run is over: not written
        try:  # a full disk or a damaged file loses the cache, never the run
            store.write(
                (
                    key,
                    completion.text,
                    completion.model,
                    completion.usage.input_tokens,
                    completion.usage.output_tokens,
                    completion.finish_reason,
                )
            )
        except sqlite3.Error as exc:
            self._failed(store, exc)

    def _failed(self, store: _Store, exc: sqlite3.Error) -> None:
        """A lookup or store failed: a file locked by another connection is passed over for a while (the first time,
        with a warning that says so); anything else is damage, and this run drops the store."""
        if not locked(exc):
            self._drop_store(exc)
            return
        store.pause()
        if not self._told_locked:
            self._told_locked = True
            warnings.warn(
                f"the sub-call cache file {self._path} is locked by another program ({exc}): a connection that "
                "holds a transaction open on it, like a database viewer's pending edit (Write Changes or Revert "
                "Changes ends it), or another process's long write (this process's runs share one connection: not "
                "one of them). This run keeps its replies in memory and uses the file again when it is free",
                RuntimeWarning,
                stacklevel=1,
            )

    def _drop_store(self, exc: sqlite3.Error) -> None:
        """Stop using the SQLite store for the rest of the run, and say so once."""
        self.close()
        warnings.warn(
            f"the sub-call cache file {self._path} failed ({type(exc).__name__}: {exc}); this run goes on without "
            "it. If it is damaged, delete it: rlmx makes a new one",
            RuntimeWarning,
            stacklevel=1,
        )

    def close(self) -> None:
        """Let go of the store (the shared connection closes with its last run); closing twice does nothing."""
        store, self._store_of = self._store_of, None
        if store is not None:
            store.give_back()


class _Store:
    """One process's connection to one cache file, shared by every run of the process that uses the file (threads,
    event loops), each statement and its commit under one lock. A connection per run locked the runs of one process
    out of the file: SQLite's rollback journal lets one connection write at a time, the 0.2 s busy wait ran out,
    and each run passed the file over for 10 s, warning of "another program" (audit 82, 8 runs 4 at a time in
    threads: 1-5 warnings, 105-150 of 240 sub-calls asked again in the next pass; 0 with this). Statements take
    milliseconds, so a run waits for another's only that long; only another connection's hold waits `BUSY_SECONDS`.

    Kept in `_STORES` by process and file (device and inode: another spelling of the path is the same file; a
    file deleted and made anew is another) while a run uses it."""

    def __init__(self, db: sqlite3.Connection, key: tuple[int, int, int]) -> None:
        self.db = db
        self.key = key
        self.lock = threading.Lock()
        self.users = 0
        self.locked_until = 0.0
        """When the file, found locked by another connection, is tried again (time.monotonic)."""

    @staticmethod
    def take(cache_dir: Path) -> _Store:
        """The store of `cache_dir`'s file for one more run: the open one, or a new connection (see open_store)."""
        path = cache_dir / CACHE_FILE
        with _STORES_LOCK:
            store = _STORES.get(_file_key(path) or (0, 0, 0))
            if store is None:
                db = open_store(cache_dir, shared=True)
                key = _file_key(path)
                if key is None:  # gone again at once (another process cleaning the folder)
                    db.close()
                    raise InputError(f"cannot use cache_dir {str(cache_dir)!r}: {path} vanished; pass a stable folder")
                store = _STORES[key] = _Store(db, key)
            store.users += 1
            return store

    def give_back(self) -> None:
        """One run is done with the store; the last closes the connection."""
        with _STORES_LOCK:
            self.users -= 1
            if self.users > 0:
                return
            if _STORES.get(self.key) is self:
                del _STORES[self.key]
        with self.lock:
            self.db.close()

    def passed_over(self) -> bool:
        """Whether the file was found locked by another connection less than LOCKED_PAUSE_SECONDS ago."""
        return time.monotonic() < self.locked_until

    def pause(self) -> None:
        """Pass the locked file over for LOCKED_PAUSE_SECONDS, holding no lock of ours on it meanwhile."""
        with self.lock:
            with contextlib.suppress(sqlite3.Error):
                self.db.rollback()
            self.locked_until = time.monotonic() + LOCKED_PAUSE_SECONDS

    def read(self, key: str) -> tuple[str, str, int, int, str | None] | None:
        with self.lock:
            row = self.db.execute(
                "SELECT text, model, input_tokens, output_tokens, finish_reason FROM replies WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4])

    def write(self, row: tuple[str, str, str, int, int, str | None]) -> None:
        with self.lock:
            try:
                self.db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)", row)
                self.db.commit()
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self.db.rollback()  # the next run's statement must not find this one's transaction open
                raise


def _file_key(path: Path) -> tuple[int, int, int] | None:
    """This process and the file's device and inode (`_STORES`' key), or None when it does not exist. A forked
    child gets a key of its own: it never uses the connection its parent's runs share."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (os.getpid(), stat.st_dev, stat.st_ino)


_STORES: dict[tuple[int, int, int], _Store] = {}
_STORES_LOCK = threading.Lock()


BUSY_SECONDS = 0.2
"""How long one lookup or store waits for a lock another connection holds. SQLite waits in the calling thread, the
run's event loop: it waited 10 s per reply while a database viewer held a pending edit, stalling every sub-call."""
LOCKED_PAUSE_SECONDS = 10.0
"""How long a store found locked is passed over before it is tried again."""

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def locked(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the file is locked by another connection ("database is locked"), not damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in _BUSY_CODES


def open_store(cache_dir: Path, *, shared: bool = False) -> sqlite3.Connection:
    """The SQLite store in `cache_dir` (created when missing). InputError when it cannot be used; a file locked
    by another program is usable: whoever holds it made the table (or a later run does). `shared`: usable from
    any thread (`_Store` serialises its use)."""
    try:
        make_private_folders(cache_dir)
        _make_private(cache_dir / CACHE_FILE)
        db = sqlite3.connect(cache_dir / CACHE_FILE, timeout=BUSY_SECONDS, check_same_thread=not shared)
        _write_ahead(db)
        try:
            _make_table(db)
        except sqlite3.OperationalError as exc:
            if not locked(exc):
                raise
    except (OSError, sqlite3.OperationalError) as exc:
        raise InputError(f"cannot use cache_dir {str(cache_dir)!r}: {exc}; pass a writable folder") from None
    except sqlite3.Error as exc:  # "file is not a database", "database disk image is malformed"
        raise InputError(
            f"the sub-call cache file {cache_dir / CACHE_FILE} is damaged or not an SQLite database ({exc}); delete "
            "it (rlmx makes a new one), or pass another cache_dir"
        ) from None
    return db


def _write_ahead(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode (kept in the file) with `synchronous=NORMAL` (this connection's): a commit then
    appends to `subcalls.sqlite-wal` without waiting for the disk, where the rollback journal's waited for it on
    the run's event loop, 25 ms a reply here (0.01 ms with WAL; a crash of the machine may lose the last replies,
    never the file), and readers never wait for a writer. A file whose mode cannot change now (locked, or on a
    filesystem without shared memory) keeps its journal: slower, as safe."""
    with contextlib.suppress(sqlite3.Error):
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is not None and str(mode[0]).lower() == "wal":
            db.execute("PRAGMA synchronous=NORMAL")


def _make_table(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL, model TEXT NOT NULL, "
        "input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, finish_reason TEXT)"
    )
    db.commit()


def _make_private(database: Path) -> None:
    """Create the database file 0600 (or make an old one so) before SQLite opens it: the replies hold the run's
    prompts, and SQLite gives its -journal, -wal and -shm files the database file's mode. Siblings left by an
    older rlmx (a crash's hot journal) are made private too; a file another user owns keeps its owner's mode."""
    keep_private(database)  # an empty file is an empty SQLite database
    for path in (database.with_name(database.name + s) for s in ("-journal", "-wal", "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            path.chmod(0o600)
