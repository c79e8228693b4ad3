"""`rlmx bench`: generate tasks, run methods on them, report Table 1 / Figure 1 shaped results.

rlmx bench run --family sniah,oolong --lengths 8k,32k --n 5 --method base,guided --model local --out results/
rlmx bench run --tasks my_oolong.jsonl --method base,rlm --model gpt-5-mini --out results/   # your own tasks
rlmx bench report results/
rlmx bench generate --family sniah --length 8k --index 0      # one task's manifest (and --show its text)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlmx.bench import FAMILIES, distinct_tasks, generate, manifest
from rlmx.bench.external import load_tasks
from rlmx.bench.methods import method_name
from rlmx.bench.presets import PRESETS, Preset, Series, plan_size
from rlmx.bench.report import write_report
from rlmx.bench.runner import JUDGED_FAMILIES, RunSpec, parse_length, read_records, run
from rlmx.bench.task import MAX_TOKENS, MIN_TOKENS, Task
from rlmx.budget import Budget
from rlmx.commands import argtypes
from rlmx.commands.argtypes import folder_path, user_path
from rlmx.errors import InputError
from rlmx.extras import missing_extra
from rlmx.lm.base import LM
from rlmx.sandbox import launcher

if TYPE_CHECKING:
    from rlmx.cli import Interrupts

T = TypeVar("T")

DEFAULT_LENGTHS = "8k"
DEFAULT_N = 5


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from rlmx.cli import _add_model_arguments  # the same model flags as `rlmx ask` (lazy: cli imports us)

    parser = commands.add_parser(
        "bench",
        help="reproduce the paper's benchmarks on generated tasks (run, report, generate)",
        description="Generated long-context tasks (sniah, oolong, pairs, docs, codeqa) with exact answers, run "
        "through methods (base, rlm, rlm0/1/2, guided, summary) with resumable JSONL records, and a report shaped "
        "like the RLM paper's Table 1 and Figure 1. Sizes are chars4 tokens (characters / 4).",
    )
    sub = parser.add_subparsers(dest="bench_command", metavar="{run,report,generate}")
    run_p = sub.add_parser("run", help="run methods on generated tasks; records go to OUT/records.jsonl")
    run_p.add_argument(
        "--family",
        help=f"comma-separated families: {', '.join(FAMILIES)} (with --tasks: run only the file's tasks of these)",
    )
    run_p.add_argument(
        "--tasks",
        type=user_path,
        metavar="FILE.jsonl",
        help="run your own tasks (a real dataset in the task format, one JSON object a line: family, context, "
        "query, answer; see rlmx.bench.external) instead of generated ones",
    )
    run_p.add_argument(
        "--lengths", help=f"comma-separated context lengths, e.g. 8k,32k,131k,1m (default {DEFAULT_LENGTHS})"
    )
    run_p.add_argument(
        "--n",
        type=argtypes.task_count,
        help=f"tasks per family and length, indexes 0..n-1 (default {DEFAULT_N}; at most {argtypes.MAX_TASKS:,})",
    )
    run_p.add_argument(
        "--method",
        help="comma-separated: base, rlm (=rlm1), rlm0, rlm2, guided, summary (default base,rlm; base,guided with the "
        "embedded model; or the preset's)",
    )
    run_p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="the paper's experiment: table1 (CodeQA, docs, OOLONG 131K, Pairs 32K; base, rlm, rlm0, summary) or "
        "figure1 (S-NIAH, OOLONG, Pairs at 8K..1M; base, rlm), report written at the end; --family keeps some "
        "of its families, --n caps tasks per length, --method replaces its methods",
    )
    run_p.add_argument("--out", type=folder_path, required=True, help="results folder (rerunning skips finished tasks)")
    run_p.add_argument("--seed", type=int, help="generator seed (default 0)")
    run_p.add_argument(
        "--window",
        type=_window,
        help="the model's context window in tokens, e.g. 8k: base prompts over it are not sent and score 0 "
        "(default: a local model's own window; none for server models)",
    )
    run_p.add_argument(
        "--max-output-tokens", type=_count, default=1024, help="reply cap of base/summary calls (default 1024)"
    )
    run_p.add_argument("--concurrency", type=_count, default=2, help="tasks in flight at once (default 2)")
    run_p.add_argument("--max-iterations", type=_count, default=30, help="RLM iterations per task (default 30)")
    run_p.add_argument("--max-seconds", type=argtypes.positive_number, help="wall-clock budget per RLM task")
    run_p.add_argument("--sandbox", default="subprocess", help="sandbox of the RLM methods (default subprocess)")
    run_p.add_argument("--cache-dir", type=folder_path, help="keep generated tasks here (default: OUT/.tasks)")
    _add_param(run_p)
    run_p.add_argument(
        "--ray",
        metavar="ADDRESS",
        type=argtypes.name,
        help="run each task as a Ray task on this cluster (HOST:PORT or auto; needs the ray extra)",
    )
    run_p.add_argument(
        "--judge",
        metavar="MODEL",
        type=argtypes.model_name,
        help="grade docs answers with this LM and BrowseComp's grader template instead of the exact checker "
        "(`same` for the answering model, `local` for the embedded one, else a model on --base-url); the exact "
        "score stays in each record's details",
    )
    run_p.add_argument(
        "--sub-model",
        metavar="MODEL",
        type=argtypes.model_name,
        help="send the sub-calls of rlm / rlm1 / rlm2 to this model on the same --base-url (e.g. --model gpt-5 "
        "--sub-model gpt-5-mini, the paper's RLM(GPT-5)); default: the --model itself. With --scripted, give the "
        'sub-calls\' replies as {"root": [...], "sub": [...]} instead',
    )
    _add_model_arguments(run_p)
    rep = sub.add_parser("report", help="write DIR/report.md (and PNG plots with matplotlib) from DIR's records")
    rep.add_argument("dir", type=folder_path, help="a folder written by `rlmx bench run`")
    rep.add_argument("--window", type=_window, help="mark this context window on the plots, e.g. 8k")
    gen = sub.add_parser("generate", help="print one task's manifest (and with --show, its query and answer)")
    gen.add_argument("--family", required=True, choices=FAMILIES)
    gen.add_argument("--length", default="8k", help="context length, e.g. 8k")
    gen.add_argument("--index", type=int, default=0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--show", action="store_true", help="also print the query and the gold answer")
    _add_param(gen)
    return parser


def _add_param(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[FAMILY.]KEY=VALUE",
        help="a generator parameter, repeatable: KEY=VALUE for every family given or FAMILY.KEY=VALUE for one "
        "(e.g. sniah.variant=noise, oolong.question_type=count_label, codeqa.source=procedural); VALUE is read as "
        "JSON when it parses (3, true, null) and as text otherwise",
    )


def _window(text: str) -> int:
    """--window: a token count written like a length (8k, 131072)."""
    try:
        value = parse_length(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a window of at least 1 token, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _list(text: str, what: str) -> list[str]:
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise InputError(f"--{what} needs at least one value")
    return items


def _unique(values: list[T], flag: str) -> list[T]:
    """`values` when none repeats; else InputError naming the repeat, as read (`rlm` is `rlm1`, `8k` is 8192
    tokens): a repeat would run and bill each of its tasks twice under one record key."""
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise InputError(f"{flag} gives {value} twice (after reading aliases and sizes): give each once")
        seen.add(value)
    return values


def family_params(items: list[str], families: list[str]) -> dict[str, dict[str, Any]]:
    """`--param` values -> {family: {key: value}} for `families`. Raises InputError for a malformed item or a
    family not among `families` (whether a family takes the key is checked by generating a task)."""
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        family, dot, key = name.strip().rpartition(".")
        if not sep or not key:
            raise InputError(f"--param {item!r}: write KEY=VALUE or FAMILY.KEY=VALUE, e.g. sniah.variant=noise")
        if dot and family not in families:
            raise InputError(f"--param {item!r}: {family!r} is not one of the families run ({', '.join(families)})")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        for target in [family] if dot else families:
            params.setdefault(target, {})[key] = value
    return params


def main(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    """`rlmx bench run | report | generate`; `interrupts` runs the benchmark's event loop (see `rlmx.cli`)."""
    if args.bench_command == "report":
        path, pngs, note = write_report(args.dir, window=args.window)
        err.print(f"wrote {escape(str(path))}" + "".join(f", {escape(p.name)}" for p in pngs))
        if note:
            err.print(escape(note), style="yellow")  # it names the `[bench]` extra: not markup
        return 0
    if args.bench_command == "generate":
        params = family_params(args.param, [args.family]).get(args.family, {})
        length = _tokens_in_range(args.length, "--length")
        task = generate(args.family, seed=args.seed, target_tokens=length, index=args.index, **params)
        shown: dict[str, Any] = manifest(task)
        if args.show:
            shown |= {"query": task.query, "answer": task.metadata["answer_text"]}
        print(json.dumps(shown, indent=1))
        return 0
    if args.bench_command != "run":
        raise InputError("say what to do: rlmx bench run | report | generate (see rlmx bench --help)")
    return _run(args, environ, err, interrupts)


def _run(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    if args.ray:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise InputError(missing_extra("--ray", "ray", exc)) from None
    _check_folder(args.out, "--out", "for the results")
    if args.cache_dir is not None:
        _check_folder(args.cache_dir, "--cache-dir", "for the generated tasks")
    launcher(args.sandbox)  # an unknown sandbox is refused as `rlmx ask` refuses it, before any task is made
    preset = PRESETS[args.preset] if args.preset else None
    if preset is not None and args.tasks is not None:
        raise InputError("--preset runs generated tasks and --tasks your own: choose one")
    if args.family is None and args.tasks is None and preset is None:
        raise InputError(
            "say which tasks to run: --family sniah,oolong,... (generated), --preset table1|figure1 (the paper's "
            "experiments) or --tasks FILE.jsonl (yours)"
        )
    offered = [s.family for s in preset.series] if preset is not None else list(FAMILIES)
    families = _unique(_list(args.family, "family"), "--family") if args.family is not None else offered
    for family in families:
        if family not in offered:
            what = f"preset {preset.name}" if preset is not None else "rlmx bench"
            raise InputError(f"unknown family {family!r} for {what}: choose from {', '.join(offered)}")
    plan = plan_models(args, environ)  # a bad script or model flag fails before anything is generated or made
    default_methods = ",".join(preset.methods) if preset is not None else "base,guided" if plan.embedded else "base,rlm"
    methods = _unique([method_name(m) for m in _list(args.method or default_methods, "method")], "--method")
    if plan.embedded and any(method.startswith("rlm") for method in methods):
        from rlmx.cli import CANNOT_WRITE_CODE  # lazy: cli imports us

        raise InputError(
            f"the rlm methods ({', '.join(m for m in methods if m.startswith('rlm'))}) each {CANNOT_WRITE_CODE}: "
            "use --method base,guided, or give a bigger model: "
            "--model NAME --base-url URL, or --model local:/path/model.gguf"
        )
    sub_plan = _sub_plan(args, environ)
    tasks, params, series, notes = _chosen_tasks(args, families, preset)
    for capped in notes:
        err.print(f"note: {escape(capped)}", style="yellow")
    lm, sub, description = build_lms(plan)
    err.print(f"rlmx: model: {escape(description)}")
    if sub_plan is not None:
        sub, _, sub_description = build_lms(sub_plan)
        err.print(f"rlmx: sub-calls: {escape(sub_description)}")
    elif sub is not None:
        err.print(f"rlmx: sub-calls: the script's sub replies ({escape(sub.model)})")
    budget = Budget(max_iterations=args.max_iterations, max_seconds=args.max_seconds)
    spec = RunSpec(
        families=families,
        lengths=[],
        n=0,
        methods=methods,
        model=lm.model,
        out=args.out,
        seed=args.seed or 0,
        window=args.window or getattr(lm, "n_ctx", None),
        model_window=getattr(lm, "n_ctx", None),
        max_output_tokens=args.max_output_tokens,
        concurrency=args.concurrency,
        sandbox=args.sandbox,
        budget=budget,
        cache_dir=args.cache_dir or args.out / ".tasks",
        params=params,
        series=series,
        tasks=tasks,
        judge_model=_judge_label(args, lm) if args.judge else None,
        sub_model=sub.model if sub is not None else None,
    )
    if preset is not None:
        size = plan_size(series or [])
        err.print(f"preset {preset.name}: {size:,} tasks x {len(methods)} methods; {escape(preset.description)}")
    if args.judge and not any(family in JUDGED_FAMILIES for family, *_ in spec.planned()):
        err.print(f"note: --judge grades {', '.join(JUDGED_FAMILIES)} answers only; this run has none", style="yellow")
    with Progress(
        TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        job = bar.add_task("tasks", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(job, completed=done, total=total)

        source = functools.partial(build_lm, plan) if args.ray else lm
        judge = _judge(args, environ, lm, source)
        sub_source = _sub_source(plan, sub_plan, sub) if args.ray else sub
        records = interrupts.run(
            run(spec, source, progress=progress, ray_address=args.ray, judge=judge, sub_lm=sub_source)
        )
    err.print(_summary(records, spec))
    if read_records(spec.out):
        path, pngs, note = write_report(spec.out, window=spec.window)
        err.print(f"wrote {escape(str(path))}" + "".join(f", {escape(p.name)}" for p in pngs))
        if note:
            err.print(escape(note), style="yellow")  # it names the `[bench]` extra: not markup
    if records and all(record.get("status") == "error" for record in records):
        # a script or CI job must see that nothing was measured: the exit code of an LM that failed (README)
        first = escape(str(records[0].get("error") or "")[:300])
        err.print(f"rlmx: every task of this run failed (the first: {first}); a rerun retries them", style="red")
        return 5
    return 0


def _check_folder(path: Path, flag: str, what: str) -> None:
    """Refuse `path` as a folder to make or use when it, or the nearest of its parents that exists, is a file
    (`results.md/x`): the run would fail later with an OS error."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        under = "" if existing == path else f" is under {existing}, which"
        raise InputError(f"{flag} {path}{under} is a file: give a folder {what} (it is made if missing)")


def _chosen_tasks(
    args: argparse.Namespace, families: list[str], preset: Preset | None
) -> tuple[list[Task] | None, dict[str, dict[str, Any]], list[Series] | None, list[str]]:
    """(file tasks, or None; generator parameters; the generated tasks' series, or None; notes for the user),
    checked before any model is loaded: a bad size or parameter fails now, as does a generated-task flag given with
    --tasks. --n caps a preset's count, and no series asks for more tasks than its family has (a note says so)."""
    if args.tasks is not None:
        flags = [flag for flag, value in (("--lengths", args.lengths), ("--n", args.n), ("--seed", args.seed),
                                          ("--param", args.param)) if value]  # fmt: skip
        if flags:
            raise InputError(
                f"{', '.join(flags)} choose generated tasks; the tasks of --tasks are used as they are (drop them)"
            )
        tasks = [t for t in load_tasks(args.tasks) if t.family in families]
        if not tasks:
            raise InputError(f"{args.tasks} has no tasks of {', '.join(families)}")
        return tasks, {}, None, []
    if preset is not None:
        if args.lengths:
            raise InputError(f"--lengths: preset {preset.name} has the paper's lengths (see --help); drop one of them")
        given = family_params(args.param, families)
        series = [
            Series(s.family, s.lengths, min(args.n or s.n, s.n), {**s.params, **given.get(s.family, {})})
            for s in preset.series
            if s.family in families
        ]  # --n caps the preset's count (README, --help): it never adds tasks the paper does not have
        params = {s.family: s.params for s in series if s.params}
    else:
        given_lengths = _list(args.lengths or DEFAULT_LENGTHS, "lengths")
        lengths = _unique([_tokens_in_range(x, "--lengths") for x in given_lengths], "--lengths")
        params = family_params(args.param, families)
        series = [Series(family, tuple(lengths), args.n or DEFAULT_N) for family in families]
    series, notes = _distinct_series(series, params)
    for each in series:  # a preset's sizes are known to work: its smallest one checks the parameters
        for length in each.lengths[:1] if preset is not None else each.lengths:
            generate(
                each.family, seed=args.seed or 0, target_tokens=length, index=0,
                cache_dir=args.cache_dir or args.out / ".tasks", **params.get(each.family, {}),
            )  # fmt: skip
    return None, params, series, notes


def _distinct_series(series: list[Series], params: dict[str, dict[str, Any]]) -> tuple[list[Series], list[str]]:
    """`series` with each count capped at its family's distinct tasks (pairs has 20: index 20 would be task 1
    again, run and averaged twice), and a note for each capped one."""
    capped: list[Series] = []
    notes: list[str] = []
    for each in series:
        distinct = distinct_tasks(each.family, params.get(each.family, {}))
        if distinct is not None and each.n > distinct[0]:
            notes.append(
                f"{each.family}: {distinct[0]} distinct tasks a length ({distinct[1]}), so {distinct[0]} are run "
                f"rather than {each.n}: more would repeat them"
            )
            each = dataclasses.replace(each, n=distinct[0])
        capped.append(each)
    return capped, notes


def _summary(records: list[dict[str, Any]], spec: RunSpec) -> str:
    if not records:
        return f"nothing to run: every task asked for is already recorded in {escape(str(spec.out))}"
    errors = sum(1 for r in records if r["status"] == "error")
    mean = sum(r["score"] for r in records) / len(records)
    return (
        f"{len(records)} new records in {escape(str(spec.out / 'records.jsonl'))} (mean score {mean * 100:.1f}"
        + (f"; {errors} ended in an error and run again on the next `rlmx bench run`" if errors else "")
        + ")"
    )


def _tokens_in_range(text: str, flag: str) -> int:
    tokens = parse_length(text)
    if not MIN_TOKENS <= tokens <= MAX_TOKENS:
        raise InputError(f"{flag}: {text.strip()} is {tokens:,} tokens; a length is 1k (1,024) to 20,000,000 tokens")
    return tokens


def _judge_plan_args(args: argparse.Namespace) -> argparse.Namespace:
    """The model flags with --judge as the model (same server, key and threads; no script, no guided root)."""
    return argparse.Namespace(**{**vars(args), "model": args.judge, "scripted": None, "root": None})


def _judge_label(args: argparse.Namespace, lm: LM) -> str:
    return str(lm.model) if args.judge == "same" else str(args.judge)


def _judge(args: argparse.Namespace, environ: Mapping[str, str], lm: LM, source: Any) -> Any:
    """None without --judge; the answering LM (or its factory) for `same`; else the judge's LM (a factory under
    --ray, so each worker builds its own)."""
    if not args.judge:
        return None
    if args.judge == "same":
        return source
    plan = plan_models(_judge_plan_args(args), environ)
    return functools.partial(build_lm, plan) if args.ray else build_lm(plan)


def plan_models(args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    from rlmx.cli import plan_models as plan

    return plan(args, environ)


def _sub_plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    """The ModelPlan of --sub-model (the model flags with it as the model: same server and key), or None."""
    if not args.sub_model:
        return None
    if args.scripted is not None:
        raise InputError(
            "--sub-model names a model on --base-url; with --scripted give the sub-calls' replies in the script: "
            '{"root": [...], "sub": [...]}'
        )
    return plan_models(argparse.Namespace(**{**vars(args), "model": args.sub_model, "root": None}), environ)


def _sub_source(plan: Any, sub_plan: Any, sub: LM | None) -> Any:
    """What builds the sub-LM in each Ray worker (None: the root's LM makes the sub-calls too)."""
    if sub_plan is not None:
        return functools.partial(build_lm, sub_plan)
    return functools.partial(build_sub_lm, plan) if sub is not None else None


def build_lms(plan: Any) -> tuple[LM, LM | None, str]:
    """(the LM of a ModelPlan, its own sub-LM or None (only a script with "sub" replies has one), a description
    for the user, which says when no model was configured and the embedded one runs). The bench's `guided`
    method wraps the model in the guided root itself, so the plan's model is built plain."""
    from rlmx.cli import build_models

    lm, sub, description = build_models(dataclasses.replace(plan, root="lm"))
    return lm, (None if sub is lm else sub), description


def build_lm(plan: Any) -> LM:
    """The LM of a ModelPlan (picklable, so each Ray worker builds its own from it)."""
    return build_lms(plan)[0]


def build_sub_lm(plan: Any) -> LM:
    """The sub-LM of a ModelPlan whose script has "sub" replies (for Ray workers). Raises InputError without one."""
    sub = build_lms(plan)[1]
    if sub is None:
        raise InputError("this model plan has no sub-LM of its own: its sub-calls go to its LM")
    return sub
