"""Four-choice code questions over the installed CPython standard library (PSF licence), answers from its AST
(or, with `source="procedural"`, over a generated package: rlmx.bench.coderepo).

The context is consecutive stdlib files (sorted paths from a seeded start, so directory locality is kept)
joined as `\\n\\n### File: {path}\\n{content}`; the last file is cut to land on the target size. Questions
are asked only about files that are in the context whole. Families (index % 9, BENCHMARKS.md 3.e): a class's
direct base class, a parameter's default value, the exception a function raises (exception flow), a module
constant's value, constant tracing (a default that names a module constant), a call chain (f -> g -> h inside
one module), dispatch (which class's method runs for an instance, through the class chain), an aggregation
count (public functions taking a parameter name) and a LongBench-style statement check (one of four statements
is true; the others change one fact). Distractors are same-type facts from the context, the lexically closest
first. Tasks are valid for the recorded Python version only.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import random
import sys
import sysconfig
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from rlmx.bench import coderepo
from rlmx.bench.task import Task, finish, make_rng
from rlmx.errors import InputError

_AST_LOCK = threading.Lock()
"""CPython 3.11's ast.parse is not safe in concurrent threads ("AST constructor recursion depth mismatch")."""
FAMILIES = (
    "base_class",
    "default_value",
    "raises",
    "constant",
    "constant_trace",
    "call_chain",
    "dispatch",
    "count_param",
    "statement",
)
_PER_FILE = FAMILIES[:7]
PROMPT_STYLES = ("longbench", "rlm")
SOURCES = ("stdlib", "procedural")
LETTERS = "ABCD"


@lru_cache(maxsize=2)
def stdlib_files(with_tests: bool = False) -> tuple[tuple[str, int], ...]:
    """(relative path, size in bytes) of the stdlib's .py files, outside site-packages, sorted by path; the test
    suites (test/, idle_test/, lib2to3/tests/) only `with_tests` (about 3M chars4 tokens without, 7.7M with)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    skip = ("site-packages/",) if with_tests else ("site-packages/", "test/", "idlelib/idle_test/", "lib2to3/tests/")
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(skip):
            continue
        out.append((rel, path.stat().st_size))
    return tuple(out)


def _read(rel: str) -> str:
    return (Path(sysconfig.get_paths()["stdlib"]) / rel).read_text("utf-8", errors="replace")


def _facts(rel: str, source: str) -> dict[str, list[tuple[str, str]]]:
    """family -> [(subject, value)] facts of one file, for the per-file families."""
    return _facts_cached(rel, hashlib.sha256(source.encode()).hexdigest(), source)


_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _executed(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement a scope's body runs in that scope itself, as Python executes it: its own statements and
    those inside its if/else, try/except/else/finally, with, for/while and match blocks (a function defined under
    `if hasattr(socket, 'AF_UNIX'):` is a module-level function), not those inside a def or class (own scopes)."""
    for node in body:
        yield node
        if isinstance(node, ast.Match):
            for case in node.cases:
                yield from _executed(case.body)
        elif isinstance(node, _BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                yield from _executed(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                yield from _executed(handler.body)


def _bound(body: list[ast.stmt], args: ast.arguments | None = None) -> Counter[str]:
    """name -> how many times a scope binds it (assignment of any form, import, def, class, except ... as,
    parameters), over its nested blocks; an over-approximation (comprehension targets count too), so a fact it
    rules out as ambiguous is at worst one question fewer, never a wrong gold."""
    names: Counter[str] = Counter()
    if args is not None:
        names.update(_parameters(args))
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names[node.id] += 1
        elif isinstance(node, ast.alias):
            names[(node.asname or node.name).split(".")[0]] += 1
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names[node.name] += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] += 1  # its body is a scope of its own; decorators, defaults and bases are this one's
            todo += [*node.decorator_list, *(node.bases if isinstance(node, ast.ClassDef) else [])]
            if not isinstance(node, ast.ClassDef):
                todo += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            continue
        todo += ast.iter_child_nodes(node)
    return names


def _functions(
    body: list[ast.stmt], shadowed: frozenset[str] = frozenset()
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, frozenset[str]]]:
    """Every function of a module (methods and nested ones too), each with the names its enclosing class and
    function scopes bind: its defaults are evaluated there, so a default `LIMIT` there is not the module's."""
    for node in _executed(body):
        if isinstance(node, _DEFS):
            yield node, shadowed
            yield from _functions(node.body, shadowed | set(_bound(node.body, node.args)))
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node.body, shadowed | set(_bound(node.body)))


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """name -> repr of its value, for the upper-case module constants bound exactly once in the module scope (one
    `NAME = literal` at module level, also under if/try, and no other binding of the module scope: no second
    assignment, no `+=`, import or def, no `global NAME` in a function), so the value is the one the name holds."""
    assigned: dict[str, str] = {}
    for stmt in _executed(tree.body):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value = stmt.targets[0].id, stmt.value
            if name.lstrip("_").isupper() and isinstance(value, ast.Constant) and len(repr(value.value)) < 40:
                assigned[name] = repr(value.value)
    # every binding of the module scope, that assignment included, and a function's `global NAME` (which lets it
    # rebind the name); a class attribute or a function's local of the same name is another scope's
    bindings = _bound(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            bindings.update({name: 2 for name in node.names})
    return {name: value for name, value in assigned.items() if bindings[name] == 1}


@lru_cache(maxsize=4096)
def _facts_cached(rel: str, digest: str, source: str) -> dict[str, list[tuple[str, str]]]:
    try:
        with _AST_LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, list[tuple[str, str]]] = {f: [] for f in _PER_FILE}
    constants = _module_constants(tree)
    classes: dict[str, list[str]] = {}
    for node in _executed(tree.body):
        if isinstance(node, ast.ClassDef):
            classes.setdefault(node.name, []).append(ast.unparse(node.bases[0]) if len(node.bases) == 1 else "")
    bound = _bound(tree.body)
    for name, bases in classes.items():
        # a class defined twice (if/else), or rebound after its def (asyncio's `Task = _CTask = _asyncio.Task`), has
        # no one base to ask about
        if len(bases) == 1 and bases[0] and bound[name] == 1:
            out["base_class"].append((f"class `{name}`", bases[0]))
    out["constant"] = [(f"the module constant `{name}`", value) for name, value in constants.items()]
    for fn, shadowed in _functions(tree.body):
        positional = [*fn.args.posonlyargs, *fn.args.args]
        args = positional[len(positional) - len(fn.args.defaults) :]
        for arg, default in zip(args, fn.args.defaults, strict=True):
            text = ast.unparse(default)
            if len(text) < 40:
                out["default_value"].append((f"parameter `{arg.arg}` of `{fn.name}`", text))
            if isinstance(default, ast.Name) and default.id in constants and default.id not in shadowed:
                out["constant_trace"].append((f"parameter `{arg.arg}` of `{fn.name}`", constants[default.id]))
        raised = sorted(
            {
                ast.unparse(n.exc.func if isinstance(n.exc, ast.Call) else n.exc)
                for n in ast.walk(fn)
                if isinstance(n, ast.Raise) and n.exc is not None
            }
        )
        if len(raised) == 1 and raised[0][:1].isupper():
            out["raises"].append((f"function `{fn.name}`", raised[0]))
    out["call_chain"] = _call_chains(tree)
    out["dispatch"] = _dispatch(tree)
    return out


def _module_defs(tree: ast.Module, kinds: tuple[type, ...]) -> dict[str, list[Any]]:
    """name -> its definitions (`kinds`: function or class defs) at module level, as Python executes the module
    (under if/try/with too): a name with two (if/else variants, a redefinition) is not one known definition."""
    out: dict[str, list[Any]] = {}
    for node in _executed(tree.body):
        if isinstance(node, kinds):
            out.setdefault(node.name, []).append(node)  # type: ignore[attr-defined]
    return out


def _call_chains(tree: ast.Module) -> list[tuple[str, str]]:
    """(f, h) for module functions f -> g -> h where f calls exactly one module function (g) and g exactly one
    other (h), all three distinct: the subject names f, the value is h. Module functions are every def at module
    level (under if/try too); f and g must each have one definition, so what they call is known."""
    defs = _module_defs(tree, _DEFS)
    calls = {
        name: sorted(
            {c.func.id for c in ast.walk(fns[0]) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            & (set(defs) - {name})
        )
        for name, fns in defs.items()
        if len(fns) == 1
    }
    out = []
    for f in sorted(calls):
        if len(calls[f]) == 1:
            g = calls[f][0]
            if g in calls and len(calls[g]) == 1 and calls[g][0] != f:
                out.append((f"`{f}`", calls[g][0]))
    return out


def _dispatch(tree: ast.Module) -> list[tuple[str, str]]:
    """(f"`{cls}().{method}()`", defining class) for a method a class inherits through a chain of the module's
    own single-base classes, where at least two classes of the chain define it (an override to see past).
    Classes are those defined once at module level (under if/try too); a class binds a method name by a def
    anywhere in its body (under if/try too); the class whose method runs binds the name by that one def only
    (not also by `read = _read`, nor by two defs of if/else variants), so the answer is the code's."""
    module_bound = _bound(tree.body)
    classes = {
        name: nodes[0]
        for name, nodes in _module_defs(tree, (ast.ClassDef,)).items()
        if len(nodes) == 1 and module_bound[name] == 1  # not rebound after its def: the class the module runs
    }
    methods = {name: {m.name for m in _executed(c.body) if isinstance(m, _DEFS)} for name, c in classes.items()}
    bound = {name: _bound(c.body) for name, c in classes.items()}
    out = []
    for name in sorted(classes):
        chain = [name]
        while True:
            bases = classes[chain[-1]].bases
            if len(bases) != 1 or not isinstance(bases[0], ast.Name) or bases[0].id not in classes:
                break
            if bases[0].id in chain:
                break
            chain.append(bases[0].id)
        if len(chain) < 3:
            continue
        for method in sorted(set().union(*(methods[c] for c in chain[1:])) - set(bound[name])):
            defining = [c for c in chain if method in bound[c]]
            runs = defining[0]
            if (
                len(defining) >= 2
                and all(method in methods[c] for c in defining)
                and bound[runs][method] == 1
                and not method.startswith("__")
            ):
                out.append((f"`{name}().{method}()`", runs))
    return out


QUESTIONS = {
    "base_class": "In `{path}`, which class does {subject} directly inherit from?",
    "default_value": "In `{path}`, what is the default value of the {subject}?",
    "raises": "In `{path}`, which exception type does the {subject} raise (its only raised type)?",
    "constant": "In `{path}`, what value is assigned to {subject}?",
    "constant_trace": "In `{path}`, the default of the {subject} is a module constant. What value does the "
    "parameter take when the caller leaves it out?",
    "call_chain": "In `{path}`, the function {subject} calls one other function of its module, and that function "
    "calls one further function of the module. Which function is reached second?",
    "dispatch": "In `{path}`, when {subject} is called, the method of which class runs (follow the class chain)?",
}


SEED_VERSION = "2"
"""The version in codeqa's seeds: versions 3 (golds read over every statement Python runs at module level, an
asked family only) and 4 (no class question about a name the module rebinds) keep version 2's draws of slices and
questions."""
REDRAWS = 50
"""Slices drawn for one task before it is refused (one whose files hold no fact of the family asked)."""
_NEEDS = {
    "base_class": "a class with one base class",
    "default_value": "a parameter default of under 40 characters, unique to its function name in its file",
    "raises": "a function that raises one exception type",
    "constant": "an upper-case module constant assigned a literal once",
    "constant_trace": "a parameter whose default is a module constant assigned once",
    "call_chain": "a module function calling exactly one other, which calls exactly one further",
    "dispatch": "a chain of three single-base classes where a method is overridden",
    "count_param": "a parameter name taken by 3 public module-level functions, over at most {files} whole files",
    "statement": "four unique facts of the base-class, default, exception and constant kinds",
}
"""What a family's question needs from the slice, for the refusal's why."""


def generate(
    *,
    seed: int,
    target_tokens: int,
    index: int,
    question_type: str | None = None,
    prompt_style: str = "longbench",
    with_tests: bool = False,
    source: str = "stdlib",
    draw_tokens: int | None = None,
) -> Task:
    """One four-choice question over a stdlib slice of target_tokens chars4 tokens (within 1%); the family is
    `question_type` (only that one: a task of another family is never made under its label) or FAMILIES[index %
    9] (the next one that fits when the slice has none). `prompt_style`:
    "longbench" (answer a letter A-D) or "rlm" (the RLM paper's variant: a number 0-3). Answer: the letter or
    digit. `with_tests` adds the stdlib's test suites to the files (for lengths past about 3M tokens).
    `source="procedural"` asks about a generated package instead (rlmx.bench.coderepo: the same on every Python,
    any length). `draw_tokens` (default target_tokens) is the size the seeded draws (first file, question, the
    procedural package) are keyed by: rlmx.bench.suite.generate_counted keeps it at the asked size while it
    rescales target_tokens, so the same slice is cut longer or shorter and its size in another tokenizer
    converges. Raises InputError for an unknown family, style or source, a length the stdlib cannot fill, or an
    asked family that none of the REDRAWS slices holds (naming the family and what its question needs)."""
    if source not in SOURCES:
        raise InputError(f"codeqa source must be one of {', '.join(SOURCES)}, not {source!r}")
    if question_type is not None and question_type not in FAMILIES:
        raise InputError(f"codeqa question_type must be one of {', '.join(FAMILIES)}, not {question_type!r}")
    if prompt_style not in PROMPT_STYLES:
        raise InputError(f"codeqa prompt_style must be one of {', '.join(PROMPT_STYLES)}, not {prompt_style!r}")
    if draw_tokens is not None and (
        isinstance(draw_tokens, bool) or not isinstance(draw_tokens, int) or draw_tokens < 1
    ):
        raise InputError(f"codeqa draw_tokens must be a whole number of tokens >= 1, not {draw_tokens!r}")
    drawn = draw_tokens or target_tokens
    goal = target_tokens * 4
    if source == "procedural":
        modules = dict(coderepo.repo(f"{seed}|{drawn}", goal * 3 // 2))
        files = tuple((path, len(text)) for path, text in modules.items())
        read: Callable[[str], str] = modules.__getitem__
    else:
        files, read = stdlib_files(bool(with_tests)), _read
    if goal > sum(size for _, size in files):
        hint = (
            "use a smaller length" if with_tests else "use with_tests=True (adds the test suites) or a smaller length"
        )
        raise InputError(f"codeqa: the installed stdlib is smaller than {target_tokens} tokens; {hint}")
    rng = make_rng("codeqa", seed, drawn, index, "files", SEED_VERSION)
    qrng = make_rng("codeqa", seed, drawn, index, "question", SEED_VERSION)
    first = FAMILIES.index(question_type) if question_type is not None else index % len(FAMILIES)
    # an asked family is the only one tried (its label is in the task id and report row); the planned mix
    # falls through to the next family that fits
    tried = (question_type,) if question_type is not None else FAMILIES[first:] + FAMILIES[:first]
    picked = None
    for _attempt in range(REDRAWS):  # a slice without a usable fact (one huge cut file) is redrawn
        parts, whole, after = _slice(files, rng.randrange(len(files)), goal, read)
        for family in tried:
            picked = _ask(whole, after, family, qrng, files, read)
            if picked is not None:
                break
        if picked is not None:
            break
    if picked is None:
        where = "stdlib" if source == "stdlib" else "the procedural package"
        if question_type is not None:
            raise InputError(
                f"codeqa question_type={question_type} cannot be asked at index {index}: none of {REDRAWS} slices "
                f"of {target_tokens} tokens of {where} drawn for seed {seed} holds a {question_type} question "
                f"({_NEEDS[question_type].format(files=MAX_COUNT_FILES)}); try a larger length, another seed or "
                "index, or leave question_type out (the planned mix asks another family there)"
            )
        raise InputError(f"codeqa: no question fits in {target_tokens} tokens of {where}; use a larger length")
    rel, question, options, position = picked
    if prompt_style == "rlm":
        choices = "\n".join(f"{j}: {opt}" for j, opt in enumerate(options))
        query = (
            f"{question}\nChoices:\n{choices}\n\nAnswer with exactly one number choice (indexed from 0 to 3); "
            'format your response as "The correct answer is (insert number here)".'
        )
        gold = str(position)
    else:
        choices = "\n".join(f"({LETTERS[j]}) {opt}" for j, opt in enumerate(options))
        query = (
            f"What is the correct answer to this question: {question}\nChoices:\n{choices}\n\n"
            'Format your response as follows: "The correct answer is (insert answer here)".'
        )
        gold = LETTERS[position]
    paths = [rel_ for rel_, _ in whole]
    extra: dict[str, Any] = {
        "question_type": family,
        "file": rel,
        "options": options,
        "python": ".".join(map(str, sys.version_info[:3])) if source == "stdlib" else None,
        "source": source,
        "n_files": len(parts),
        "files": paths,
        "file_list_sha256": hashlib.sha256("\n".join(paths).encode()).hexdigest(),
        "prompt_style": prompt_style,
    }
    params: dict[str, Any] = {}
    if question_type is not None:
        params["question_type"] = question_type
    if prompt_style != "longbench":
        params["prompt_style"] = prompt_style
    if with_tests:
        params["with_tests"] = True
    if source != "stdlib":
        params["source"] = source
    return finish(
        "codeqa",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context="".join(parts),
        query=query,
        answer=gold,
        answer_format="choice",
        answer_text=f"The correct answer is ({gold})",
        extra=extra,
    )


def _slice(
    files: tuple[tuple[str, int], ...], start: int, goal: int, read: Callable[[str], str]
) -> tuple[list[str], list[tuple[str, str]], int]:
    """(pieces of the context, files that are in it whole, index of the first file after it)."""
    parts: list[str] = []
    whole: list[tuple[str, str]] = []
    size = 0
    i = start
    while size < goal:
        rel = files[i % len(files)][0]
        text = read(rel)
        piece = f"\n\n### File: {rel}\n{text}"
        if size + len(piece) > goal:
            piece = piece[: goal - size]
        else:
            whole.append((rel, text))
        parts.append(piece)
        size += len(piece)
        i += 1
    return parts, whole, i


def _closest(value: str, pool: list[str], rng: random.Random, k: int = 3) -> list[str] | None:
    """k distractors from `pool` (sorted, without `value`): a sample of the 2k lexically closest to `value`, so
    grep on the question's words finds several candidates."""
    others = [v for v in pool if v != value]
    if len(others) < k:
        return None
    ranked = sorted(others, key=lambda v: (-difflib.SequenceMatcher(None, value, v).ratio(), v))
    return rng.sample(ranked[: 2 * k], k)


def _with_answer(value: str, distractors: list[str], rng: random.Random) -> tuple[list[str], int]:
    position = rng.randrange(4)
    options = list(distractors)
    options.insert(position, value)
    return options, position


_Picked = tuple[str, str, list[str], int]  # (file, question text, four options, answer position)


def _ask(
    whole: list[tuple[str, str]],
    after: int,
    family: str,
    rng: random.Random,
    files: tuple[tuple[str, int], ...],
    read: Callable[[str], str],
) -> _Picked | None:
    if family == "count_param":
        return _count_param(whole, rng)
    if family == "statement":
        return _statement(whole, rng)
    picked = _pick(whole, after, family, rng, files, read)
    if picked is None:
        return None
    rel, subject, options, position = picked
    return rel, QUESTIONS[family].format(path=rel, subject=subject), options, position


def _pick(
    whole: list[tuple[str, str]],
    after: int,
    family: str,
    rng: random.Random,
    files: tuple[tuple[str, int], ...],
    read: Callable[[str], str],
) -> tuple[str, str, list[str], int] | None:
    """(file, subject, four options, answer position) for a fact of `family`, or None when there is none.
    Distractors: for names (call chain, dispatch) the file's own functions / classes first; otherwise
    same-type facts of the context's files, and of the next stdlib files when those are few."""
    facts = {rel: _facts(rel, text).get(family, []) for rel, text in _sample(whole, rng)}
    pool = {value for fs in facts.values() for _, value in fs}
    j = after
    while facts and any(facts.values()) and len(pool) < 12 and j < after + 40:
        rel = files[j % len(files)][0]
        pool |= {value for _, value in _facts(rel, read(rel)).get(family, [])}
        j += 1
    candidates = [
        (rel, subj, val)
        for rel in sorted(facts)
        for subj, val in facts[rel]
        if sum(1 for s, _ in facts[rel] if s == subj) == 1  # the subject names one fact in its file
    ]
    rng.shuffle(candidates)
    texts = dict(whole)
    for rel, subject, value in candidates:
        local = sorted(_names(texts[rel], family)) if family in ("call_chain", "dispatch") else []
        distractors = _closest(value, local, rng) or _closest(value, sorted(pool | set(local)), rng)
        if distractors is not None:
            options, position = _with_answer(value, distractors, rng)
            return rel, subject, options, position
    return None


MAX_FACT_FILES = 40
"""Facts are read from at most this many of the context's whole files (a seeded sample), so a question over a
multi-million-token context costs about what one over 40 files does."""
MAX_COUNT_FILES = 200
"""The aggregation count is asked only over contexts of at most this many whole files."""


def _sample(whole: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str]]:
    if len(whole) <= MAX_FACT_FILES:
        return whole
    return sorted(rng.sample(whole, MAX_FACT_FILES))


def _names(source: str, family: str) -> set[str]:
    """The module-level function names (call chain) or class names (dispatch) of a file, under if/try too."""
    with _AST_LOCK:
        tree = ast.parse(source)
    return set(_module_defs(tree, (ast.ClassDef,) if family == "dispatch" else _DEFS))


def _parameters(args: ast.arguments, star: bool = True) -> set[str]:
    """The parameter names of a signature: the named ones, and `*args`/`**kwargs` when `star`."""
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *((args.vararg, args.kwarg) if star else ())]
    return {a.arg for a in every if a is not None}


def _param_counts(tree: ast.Module) -> tuple[Counter[str], Counter[str]]:
    """(sure, maybe): parameter name -> how many public module-level functions of one file take it, each name
    once, over every def Python runs at module level (under if/try/with too). `sure` counts a function whose every
    definition takes the parameter; `maybe` also one that only some of its definitions (if/else variants) take,
    and a public alias (`open = connect`) of a module function; a name where they differ has no one count."""
    sure: Counter[str] = Counter()
    maybe: Counter[str] = Counter()
    defs = _module_defs(tree, _DEFS)
    # sure: the named parameters of every variant; maybe: any variant's, `*args`/`**kwargs` included (whether
    # `*args` is "a parameter named args" is the reader's call, so such a name is not asked)
    named = {name: [_parameters(fn.args, star=False) for fn in fns] for name, fns in defs.items()}
    takes = {name: [_parameters(fn.args) for fn in fns] for name, fns in defs.items()}
    for name, variants in named.items():
        if not name.startswith("_"):
            sure.update(set.intersection(*variants) - {"self", "cls"})
            maybe.update(set.union(*takes[name]) - {"self", "cls"})
    for node in _executed(tree.body):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in takes:
            public = {t.id for t in node.targets if isinstance(t, ast.Name) and not t.id.startswith("_")}
            for _ in public - set(defs):
                maybe.update(set.union(*takes[node.value.id]) - {"self", "cls"})
    return sure, maybe


def _count_param(whole: list[tuple[str, str]], rng: random.Random) -> _Picked | None:
    """How many public module-level functions of the files shown in full take a parameter named p (an
    aggregation over the whole context; options are nearby counts). Asked only of a name whose count does not
    depend on which if/else variant runs."""
    if len(whole) > MAX_COUNT_FILES:
        return None
    counts: Counter[str] = Counter()
    unsure: set[str] = set()
    for _, text in whole:
        try:
            with _AST_LOCK:
                tree = ast.parse(text)
        except SyntaxError:
            continue
        sure, maybe = _param_counts(tree)
        counts.update(sure)
        unsure |= {name for name in maybe if maybe[name] != sure[name]}
    usable = sorted(name for name, c in counts.items() if c >= 3 and name not in unsure)
    if not usable or len(whole) < 2:
        return None
    name = rng.choice(usable)
    gold = counts[name]
    near = sorted({gold + d for d in (-3, -2, -1, 1, 2, 3) if gold + d >= 0})
    options, position = _with_answer(str(gold), [str(v) for v in rng.sample(near, 3)], rng)
    question = (
        f"Across the files shown in full in the context (every file except a last, cut one), how many public "
        f"module-level functions (name not starting with an underscore; a def inside a module-level if/try/with "
        f"block counts too) accept a parameter named `{name}`?"
    )
    return whole[0][0], question, options, position


_STATEMENTS = {
    "base_class": "In `{path}`, {subject} directly inherits from `{value}`.",
    "default_value": "In `{path}`, the default value of the {subject} is `{value}`.",
    "raises": "In `{path}`, the only exception type the {subject} raises is `{value}`.",
    "constant": "In `{path}`, {subject} is assigned `{value}`.",
}


def _statement(whole: list[tuple[str, str]], rng: random.Random) -> _Picked | None:
    """Four statements about the context's code; exactly one is true. Each false one takes a true fact and
    changes one part of it: its value (a wrong default, base class, exception or constant) or its file."""
    facts: list[tuple[str, str, str, str]] = []  # (family, file, subject, value): every fact, for the truth check
    for rel, text in _sample(whole, rng):
        per = _facts(rel, text)
        facts += [(family, rel, s, v) for family in _STATEMENTS for s, v in per.get(family, [])]
    truths = set(facts)
    unique = [f for f in facts if sum(1 for g in facts if g[:3] == f[:3]) == 1]
    if len(unique) < 4:
        return None
    family, rel, subject, value = rng.choice(unique)
    statements = [_STATEMENTS[family].format(path=rel, subject=subject, value=value)]
    paths = sorted({r for _, r, _, _ in facts})
    for _ in range(200):
        if len(statements) == 4:
            break
        fam, where, subj, val = rng.choice(unique)
        values = sorted({v for f, _, _, v in facts if f == fam and v != val})
        if rng.random() < 0.3 and len(paths) > 1:
            where = rng.choice([p for p in paths if p != where])  # the wrong file
        elif values:
            val = rng.choice(values)  # the wrong value
        else:
            continue
        text = _STATEMENTS[fam].format(path=where, subject=subj, value=val)
        if (fam, where, subj, val) not in truths and text not in statements:
            statements.append(text)
    if len(statements) < 4:
        return None
    options, position = _with_answer(statements[0], statements[1:], rng)
    return rel, "Which of the following statements about the code in the context is true?", options, position
