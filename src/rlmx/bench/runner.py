"""The resumable benchmark runner: tasks x methods -> one JSONL record per (family, length, index, method).

Records go to `OUT/records.jsonl` as each task finishes, so an interrupted run loses at most the tasks in
flight; a rerun skips every key already recorded. A key names the task (family, length, index or file id, seed,
generator parameters), the method, the models and the settings that change a record's outcome (the window, the
reply cap, the RLM budget: `RunSpec.run_conditions`); a rerun that finds a key recorded from other task content
(a tasks file edited since, another generator version) refuses to mix them. `OUT/manifest.json` lists the tasks'
manifests and their hash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlmx.bench import generate
from rlmx.bench.methods import SUB_LM_METHODS, SUMMARY_WINDOW, Outcome, method_name, run_method
from rlmx.bench.presets import Series
from rlmx.bench.score import judge_prompt, parse_judge, score_details
from rlmx.bench.task import Task, family_version, manifest, manifest_hash, task_sha256, write_private_text
from rlmx.blocking import run_blocking
from rlmx.budget import Budget
from rlmx.engine import reasoning_apart
from rlmx.errors import InputError
from rlmx.events import keep_private, make_private_folders
from rlmx.extras import missing_extra
from rlmx.lm.base import LM

RECORDS = "records.jsonl"
JUDGED_FAMILIES = ("docs",)
"""Families an LLM judge may grade (BENCHMARKS.md: BrowseComp-Plus is scored by the BrowseComp grader); the
others keep their exact, official scorers."""
MANIFEST = "manifest.json"


def parse_length(text: str) -> int:
    """'8k' -> 8192, '131k' -> 131072, '1m' -> 1048576, '10M' -> 10485760, '5000' -> 5000.

    k and m are 1024 and 1024 squared, and a result within 3% of a power of two is that power: the paper writes
    2^17 as 131K."""
    raw = text.strip().lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(raw[-1:], 1)
    number = raw[:-1] if scale > 1 else raw
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # float() also reads "nan" and "inf", which are no number of tokens
        raise InputError(f"a length is a number of tokens like 8k, 131k, 1m or 5000, not {text!r}")
    tokens = int(value * scale)
    if scale > 1 and tokens > 0:
        power = int(2 ** round(math.log2(tokens)))
        if abs(tokens - power) <= 0.03 * power:
            return power
    return tokens


@dataclass(slots=True)
class RunSpec:
    """What to run: `families` x `lengths` (tokens) x indexes 0..n-1 x `methods`, answered by the LM labelled
    `model` (and, when `sub_model` names one, sub-calls by another). `window` marks base prompts that do not fit;
    `concurrency` bounds tasks in flight."""

    families: list[str]
    lengths: list[int]
    n: int
    methods: list[str]
    model: str
    out: Path
    seed: int = 0
    window: int | None = None
    max_output_tokens: int = 1024
    model_window: int | None = None
    """The window the model has of its own (a local model's n_ctx; None for server models): a `window` equal to
    it is the default, left out of the keys, so a default run keys as it did before and as `--window` said so."""
    concurrency: int = 2
    sandbox: str = "subprocess"
    budget: Budget = field(default_factory=Budget)
    cache_dir: Path | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Generator parameters per family, e.g. {"sniah": {"variant": "noise"}} (see each generator's docstring)."""
    series: list[Series] | None = None
    """Per-family lengths and counts (a preset's plan) instead of `families` x `lengths` x `n`; each family's
    generator parameters still come from `params`."""
    tasks: list[Task] | None = None
    """Tasks from a file (rlmx.bench.external.load_tasks) run instead of generated ones: `families`, `lengths`,
    `n`, `seed` and `params` are then unused, and each task's length is its size rounded to a power of two."""
    judge_model: str | None = None
    """The judge LM's label when `docs` answers are graded by an LLM judge (BrowseComp's grader template) instead
    of the exact checker; part of the docs records' keys. The judge itself is passed to `run`."""
    sub_model: str | None = None
    """The sub-LM's label when the RLM methods' sub-calls go to another LM than `model` (e.g. GPT-5 at the root,
    GPT-5-mini for sub-calls); part of those methods' keys. The sub-LM itself is passed to `run`."""

    def key_params(self, family: str, method: str) -> dict[str, Any]:
        """What besides (family, length, index, method, model) tells a record apart: the seed of generated tasks,
        generator parameters, for `docs` the judge, for the methods that make sub-calls the sub-LM, and the run
        conditions the method's outcome depends on (`run_conditions`). Each is left out at its default, so the
        keys of folders run with the defaults stay as they were."""
        extra = dict(self.params.get(family, {}))
        if self.tasks is None and self.seed != 0:
            extra["seed"] = self.seed
        if family in JUDGED_FAMILIES and self.judge_model:
            extra["judge"] = self.judge_model
        if method in SUB_LM_METHODS and self.sub_model:
            extra["sub"] = self.sub_model
        return extra | self.run_conditions(method)

    def run_conditions(self, method: str) -> dict[str, Any]:
        """The settings, other than the defaults, that can change `method`'s record: for the one-call methods
        (base, summary) the window (which prompts are over it, how summary chunks) and the reply cap; for the RLM
        methods the budget's limits and the sandbox. A rerun with another value runs the task again."""
        if method in PLAIN_METHODS:
            own_window = self._window_of(method, self.window) == self._window_of(method, self.model_window)
            plain = {"window": None if own_window else self.window, "max_output_tokens": self.max_output_tokens}
            return {k: v for k, v in plain.items() if v != _PLAIN_DEFAULTS[k]}
        default = Budget()
        limits = {f.name: getattr(self.budget, f.name) for f in dataclasses.fields(Budget)}
        changed = {f"budget.{k}": v for k, v in limits.items() if v != getattr(default, k)}
        return changed | ({"sandbox": self.sandbox} if self.sandbox != "subprocess" else {})

    @staticmethod
    def _window_of(method: str, window: int | None) -> int | None:
        """The window `method` works with when given `window` (summary chunks for 8192 tokens without one)."""
        return (window or SUMMARY_WINDOW) if method == "summary" else window

    def record_key(self, key: tuple[str, int, int, str]) -> str:
        """The resume key of a planned (family, length, index, method); a file task is known by its id, not its
        line, so tasks added to the file or moved in it are matched to their records."""
        family, length, index, method = key
        task: int | str = index if self.tasks is None else f"task={self.tasks[index].id}"
        return record_key(family, length, task, method, self.model, self.key_params(family, method))

    def planned(self) -> Iterator[tuple[str, int, int, str]]:
        if self.tasks is not None:
            for index, task in enumerate(self.tasks):
                for method in self.methods:
                    yield task.family, length_bucket(task.metadata["n_tokens"]), index, method_name(method)
            return
        plan = self.series or [Series(family, tuple(self.lengths), self.n) for family in self.families]
        for series in plan:
            for length in series.lengths:
                for index in range(series.n):
                    for method in self.methods:
                        yield series.family, length, index, method_name(method)


PLAIN_METHODS = ("base", "summary")
"""The methods that send the context in plain calls (no REPL): the window and the reply cap decide their outcome."""
_PLAIN_DEFAULTS: dict[str, Any] = {"window": None, "max_output_tokens": 1024}


def length_bucket(n_tokens: int) -> int:
    """A file task's length as the report groups it: its size rounded to the nearest power of two (as the paper's
    Figure 1 places lengths on a log2 axis)."""
    return int(2 ** round(math.log2(max(n_tokens, 1))))


def record_key(
    family: str, length: int, index: int | str, method: str, model: str, params: dict[str, Any] | None = None
) -> str:
    """The resume key of one record; generator parameters (when given) are part of it, so a rerun with other
    parameters into the same folder runs its tasks instead of skipping them."""
    key = f"{family}|{length}|{index}|{method}|{model}"
    return key + "|" + json.dumps(params, sort_keys=True, default=str) if params else key


def check_recorded_tasks(spec: RunSpec, records: list[dict[str, Any]]) -> None:
    """Refuse to resume into records of other task content under this run's keys: a file task whose context,
    query or gold changed since it was recorded (same id), or a generated task recorded from another version of
    its family's generator. Records without these fields (older rlmx) are taken as they are.

    Raises InputError naming up to three such tasks and what to do."""
    planned: dict[str, tuple[str, int, int, str]] = {spec.record_key(key): key for key in spec.planned()}
    stale: list[str] = []
    for record in records:
        key = planned.get(str(record.get("key")))
        if key is None or record.get("status") == "error":  # an error record runs again anyway
            continue
        family, _length, index, method = key
        if spec.tasks is not None:
            task = spec.tasks[index]
            recorded = record.get("sha256_task")
            changed = recorded != task_sha256(task) if recorded else (
                record.get("sha256_context") not in (None, task.metadata["sha256_context"])
            )  # fmt: skip
            if changed:
                stale.append(f"{task.id} ({method}): its context, query or gold changed since it was recorded")
        elif record.get("generator_version") not in (None, family_version(family)):
            stale.append(
                f"{record.get('task_id')} ({method}): made by {family} generator version "
                f"{record['generator_version']}, this rlmx makes version {family_version(family)}"
            )
    if stale:
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        raise InputError(
            f"{spec.out} holds results of other task contents under this run's task names: {'; '.join(stale[:3])}"
            f"{more}. Results of different tasks are never merged: give another --out, or move "
            f"{spec.out / RECORDS} away to run them again."
        )


def read_records(out: Path) -> list[dict[str, Any]]:
    """The records of OUT/records.jsonl, the latest one per key (a task that failed and was run again by a later
    `run` counts once, with its new outcome); a torn last line, from a killed run, is skipped."""
    path = out / RECORDS
    if not path.is_file():
        return []
    latest: dict[Any, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            missing = [name for name in RECORD_FIELDS if name not in record]
            if missing:  # another tool's JSON Lines: reported on, it would fail on the first field it lacks
                raise InputError(
                    f"{path}, line {number + 1}, is not a record of `rlmx bench run` (it has no "
                    f"{', '.join(repr(m) for m in missing)}): give the folder a run wrote (its --out)"
                )
            key = record.get("key", number)
            latest.pop(key, None)  # re-inserted: the order is the order of the latest outcomes
            latest[key] = record
    return list(latest.values())


RECORD_FIELDS = ("key", "family", "length", "method", "model", "score")
"""Fields every record `make_record` has written (since records began), which the report reads."""


def latest_per_task(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of `records` (in file order), the latest one of each task and method, whatever settings it ran under
    (window, reply cap, budget, sandbox, judge, sub-model): a rerun under another setting replaces the task's
    outcome in the report rather than counting the task twice (README: a rerun with another value runs those
    tasks again rather than keeping scores made under the old one)."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        task = _task_of(record)
        latest.pop(task, None)  # re-inserted: the order is the order of the latest outcomes
        latest[task] = record
    return list(latest.values())


def _task_of(record: dict[str, Any]) -> tuple[Any, ...]:
    """What a record answered, without its run settings: the task (generated: family, generator parameters,
    seed, length, index; from a file: its id) and the method and model that answered it."""
    generated = "seed" in record  # file tasks' records have no seed (make_record)
    task = (record.get("seed"), record.get("index")) if generated else ("task", record.get("task_id"))
    params = json.dumps(record.get("params") or {}, sort_keys=True, default=str)
    return (record.get("family"), params, record.get("length"), *task, record.get("method"), record.get("model"))


def make_record(spec: RunSpec, key: tuple[str, int, int, str], task: Task | None, outcome: Outcome) -> dict[str, Any]:
    """One record of planned `key`; `task` is None when its generator could not make it (an error outcome)."""
    family, length, index, method = key
    ok = task is not None and outcome.status == "ok"
    details = score_details(family, outcome.prediction, task) if task is not None and ok else {"score": 0.0}
    params = spec.params.get(family, {})
    sub_model = spec.sub_model if method in SUB_LM_METHODS else None
    return {
        "key": spec.record_key(key),
        "family": family,
        **({"params": params} if params else {}),
        **({"seed": spec.seed} if spec.tasks is None else {}),
        "length": length,
        "index": index,
        "method": method,
        "model": spec.model,
        **({"sub_model": sub_model} if sub_model else {}),
        "window": spec.window,
        "task_id": task.id if task is not None else None,
        **(_task_identity(task) if task is not None else {}),
        "score": float(details["score"]),
        "details": {k: v for k, v in details.items() if k != "score" and not isinstance(v, list)},
        "status": outcome.status,
        "over_window": outcome.status == "over_window",
        "tokens": outcome.tokens,
        "input_tokens": sum(d["input"] for d in outcome.tokens.values()),
        "output_tokens": sum(d["output"] for d in outcome.tokens.values()),
        "subcalls": outcome.subcalls,
        "iterations": outcome.iterations,
        "wall_s": outcome.seconds,
        "usd": None if outcome.usd is None else round(outcome.usd, 8),
        "usd_by_depth": outcome.usd_by_depth,
        "by_model": outcome.by_model,
        "prediction": outcome.prediction[:2000],
        "gold": str(task.metadata["answer_text"])[:2000] if task is not None else "",
        "error": outcome.error,
    }


def _task_identity(task: Task) -> dict[str, Any]:
    """What a record keeps of its task's content, for `check_recorded_tasks` and readers of the records."""
    meta = task.metadata
    return {
        "n_tokens": meta["n_tokens"],
        "sha256_context": meta["sha256_context"],
        "sha256_task": task_sha256(task),
        "generator_version": meta["generator_version"],
    }


Progress = Callable[[int, int], None]
"""progress(done, total), called after each finished task (and once at the start)."""


LMSource = LM | Callable[[], LM]
"""An LM, or a function that builds one (what Ray workers need: each builds its own)."""


async def run_key(
    spec: RunSpec, lm: LM, key: tuple[str, int, int, str], judge: LM | None = None, sub_lm: LM | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Generate one task, run one method on it (sub-calls to `sub_lm`, None: `lm`; and have `judge` grade a
    `docs` answer): (record, manifest).
    A task its generator cannot make (e.g. a pairs task whose gold sets all exceed max_gold_pairs at this
    length) is an error record without a manifest, not the end of the run."""
    family, length, index, method = key
    if spec.tasks is not None:
        task = spec.tasks[index]
    else:
        try:
            task = await asyncio.to_thread(
                generate, family, seed=spec.seed, target_tokens=length, index=index, cache_dir=spec.cache_dir,
                **spec.params.get(family, {}),
            )  # fmt: skip
        except InputError as exc:
            failed = Outcome(status="error", error=f"the task could not be generated: {exc}")
            return make_record(spec, key, None, failed), None
    outcome = await run_method(
        method, task, lm, window=spec.window, max_output_tokens=spec.max_output_tokens, budget=spec.budget,
        sandbox=spec.sandbox, sub_lm=sub_lm,
    )  # fmt: skip
    record = make_record(spec, key, task, outcome)
    if judge is not None and family in JUDGED_FAMILIES and outcome.status == "ok":
        await _judge(record, task, outcome.prediction, judge)
    return record, manifest(task)


async def _judge(record: dict[str, Any], task: Task, prediction: str, judge: LM) -> None:
    """Grade `prediction` with the BrowseComp grader template: the judge's verdict becomes the record's score, the
    exact checker's stays in details["exact"]; the judge's tokens are kept apart from the method's cost (the
    paper does not count them). A judge that fails leaves the exact score and says why in details["judge"]."""
    record["details"]["exact"] = record["score"]
    try:
        asked = await judge.complete([{"role": "user", "content": judge_prompt(task, prediction)}], max_tokens=1024)
        reply = await reasoning_apart(judge, asked)  # a reasoning judge's <think> is no verdict
    except Exception as exc:  # any LM failure (a reply of reasoning only too): the record keeps the exact score
        record["details"]["judge"] = {"model": _judge_label(judge), "error": f"{type(exc).__name__}: {exc}"}
        return
    verdict = parse_judge(reply.text)
    record["score"] = verdict["score"]
    record["details"]["judge"] = {"model": _judge_label(judge), **verdict}
    record["judge_tokens"] = {"input": reply.usage.input_tokens, "output": reply.usage.output_tokens}


def _judge_label(judge: LM) -> str:
    return str(getattr(judge, "model", type(judge).__name__))


def run_key_blocking(
    spec: RunSpec,
    source: LMSource,
    key: tuple[str, int, int, str],
    judge: LMSource | None = None,
    sub_lm: LMSource | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """`run_key` in its own event loop, with the LMs built here when given as factories (a Ray task's body). Works
    inside a running event loop too (a notebook cell; see `rlmx.blocking`)."""
    return run_blocking(run_key(spec, _built(source), key, _built_or_none(judge), _built_or_none(sub_lm)))


def _built(source: LMSource) -> LM:
    return source if isinstance(source, LM) else source()


def _built_or_none(source: LMSource | None) -> LM | None:
    return None if source is None else _built(source)


async def run(
    spec: RunSpec,
    lm: LMSource,
    *,
    progress: Progress | None = None,
    ray_address: str | None = None,
    judge: LMSource | None = None,
    sub_lm: LMSource | None = None,
) -> list[dict[str, Any]]:
    """Run every key of `spec` not already in OUT/records.jsonl (or recorded with status "error": those run
    again); returns the new records (also appended as each task finishes). With `ray_address` ("auto" or
    HOST:PORT) each task is a Ray task on that cluster (`lm` is then best a picklable factory, so each worker
    builds its own LM); the records are the same. With `judge`, `docs` answers are graded by that LM (label it
    in `spec.judge_model`); with `sub_lm`, the RLM methods' sub-calls go to that LM (label it in
    `spec.sub_model`). Raises InputError, before anything runs, when OUT holds records of other task contents
    under this run's keys (see `check_recorded_tasks`)."""
    make_private_folders(spec.out)
    keep_private(spec.out / RECORDS)  # the records hold every task's gold and answer
    recorded = read_records(spec.out)
    check_recorded_tasks(spec, recorded)
    # Done means recorded without an error: a task that failed (a server down for a moment) runs again.
    done = {r.get("key") for r in recorded if r.get("status") != "error"}
    # one run per key, even when a plan names a task twice (a method listed twice): one key, one record
    todo = list({spec.record_key(k): k for k in spec.planned() if spec.record_key(k) not in done}.values())
    end_torn_line(spec.out / RECORDS)
    total = len(todo)
    if progress:
        progress(0, total)
    new: list[dict[str, Any]] = []
    manifests: dict[str, dict[str, Any]] = {}

    def emit(record: dict[str, Any], task_manifest: dict[str, Any] | None) -> None:
        if task_manifest is not None:
            manifests[task_manifest["id"]] = task_manifest
        with (spec.out / RECORDS).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        new.append(record)
        if progress:
            progress(len(new), total)

    try:
        if ray_address is not None:
            await asyncio.to_thread(_run_on_ray, ray_address, spec, lm, todo, emit, judge, sub_lm)
        else:
            local, local_judge, local_sub = _built(lm), _built_or_none(judge), _built_or_none(sub_lm)
            gate = asyncio.Semaphore(spec.concurrency)

            async def one(key: tuple[str, int, int, str]) -> None:
                async with gate:
                    emit(*await run_key(spec, local, key, local_judge, local_sub))

            await asyncio.gather(*(one(key) for key in todo))
    finally:
        _write_manifest(spec.out, manifests)
    return new


def _run_on_ray(
    address: str,
    spec: RunSpec,
    source: LMSource,
    todo: list[tuple[str, int, int, str]],
    emit: Callable[[dict[str, Any], dict[str, Any] | None], None],
    judge: LMSource | None = None,
    sub_lm: LMSource | None = None,
) -> None:
    """Submit one Ray task per key (the cluster decides placement and parallelism: one CPU per task) and emit
    each record as its task finishes."""
    try:
        import ray
    except ImportError as exc:
        raise InputError(missing_extra("--ray", "ray", exc)) from None
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_retries=2)(run_key_blocking)  # a crashed worker: run the task again
    spec_ref = ray.put(spec)
    source_ref = ray.put(source)
    judge_ref = ray.put(judge)
    sub_ref = ray.put(sub_lm)
    pending = [remote.remote(spec_ref, source_ref, key, judge_ref, sub_ref) for key in todo]
    while pending:
        finished, pending = ray.wait(pending, num_returns=1)
        for ref in finished:
            emit(*ray.get(ref))


def end_torn_line(path: Path) -> None:
    """End `path` with a newline when a killed run left its last line torn (no newline), so the next appended
    record starts a line of its own instead of being glued to the torn one (which read_records skips)."""
    try:
        with path.open("rb+") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
    except FileNotFoundError:
        return


def _write_manifest(out: Path, manifests: dict[str, dict[str, Any]]) -> None:
    path = out / MANIFEST
    known: dict[str, dict[str, Any]] = {}
    if path.is_file():
        try:
            known = {m["id"]: m for m in json.loads(path.read_text("utf-8"))["tasks"]}
        except (ValueError, KeyError, TypeError):
            known = {}
    known.update(manifests)
    tasks = [known[k] for k in sorted(known)]
    write_private_text(path, json.dumps({"hash": manifest_hash(tasks), "tasks": tasks}, indent=1) + "\n")


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
