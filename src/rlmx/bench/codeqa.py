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
from collections.abc import Callable
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


@lru_cache(maxsize=4096)
def _facts_cached(rel: str, digest: str, source: str) -> dict[str, list[tuple[str, str]]]:
    try:
        with _AST_LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, list[tuple[str, str]]] = {f: [] for f in _PER_FILE}
    constants: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and len(node.bases) == 1:
            out["base_class"].append((f"class `{node.name}`", ast.unparse(node.bases[0])))
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.lstrip("_").isupper() and isinstance(node.value, ast.Constant) and len(repr(node.value.value)) < 40:
                out["constant"].append((f"the module constant `{name}`", repr(node.value.value)))
                constants[name] = repr(node.value.value)
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            positional = [*fn.args.posonlyargs, *fn.args.args]
            args = positional[len(positional) - len(fn.args.defaults) :]
            for arg, default in zip(args, fn.args.defaults, strict=True):
                text = ast.unparse(default)
                if len(text) < 40:
                    out["default_value"].append((f"parameter `{arg.arg}` of `{fn.name}`", text))
                if isinstance(default, ast.Name) and default.id in constants:
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


def _call_chains(tree: ast.Module) -> list[tuple[str, str]]:
    """(f, h) for module functions f -> g -> h where f calls exactly one module function (g) and g exactly one
    other (h), all three distinct: the subject names f, the value is h."""
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    calls = {
        name: sorted(
            {c.func.id for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            & (set(funcs) - {name})
        )
        for name, fn in funcs.items()
    }
    out = []
    for f in sorted(funcs):
        if len(calls[f]) == 1:
            g = calls[f][0]
            if len(calls[g]) == 1 and calls[g][0] != f:
                out.append((f"`{f}`", calls[g][0]))
    return out


def _dispatch(tree: ast.Module) -> list[tuple[str, str]]:
    """(f"`{cls}().{method}()`", defining class) for a method a class inherits through a chain of the module's
    own single-base classes, where at least two classes of the chain define it (an override to see past)."""
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    methods = {
        name: {m.name for m in c.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)}
        for name, c in classes.items()
    }
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
        for method in sorted(set().union(*(methods[c] for c in chain[1:])) - methods[name]):
            defining = [c for c in chain if method in methods[c]]
            if len(defining) >= 2 and not method.startswith("__"):
                out.append((f"`{name}().{method}()`", defining[0]))
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
    `question_type` or FAMILIES[index % 9] (the next one that fits when the slice has none). `prompt_style`:
    "longbench" (answer a letter A-D) or "rlm" (the RLM paper's variant: a number 0-3). Answer: the letter or
    digit. `with_tests` adds the stdlib's test suites to the files (for lengths past about 3M tokens).
    `source="procedural"` asks about a generated package instead (rlmx.bench.coderepo: the same on every Python,
    any length). `draw_tokens` (default target_tokens) is the size the seeded draws (first file, question, the
    procedural package) are keyed by: rlmx.bench.suite.generate_counted keeps it at the asked size while it
    rescales target_tokens, so the same slice is cut longer or shorter and its size in another tokenizer
    converges. Raises InputError for an unknown family, style or source, or a length the stdlib cannot fill."""
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
    rng = make_rng("codeqa", seed, drawn, index, "files")
    qrng = make_rng("codeqa", seed, drawn, index, "question")
    first = FAMILIES.index(question_type) if question_type is not None else index % len(FAMILIES)
    picked = None
    for _attempt in range(50):  # a slice without a usable fact (one huge cut file) is redrawn
        parts, whole, after = _slice(files, rng.randrange(len(files)), goal, read)
        for step in range(len(FAMILIES)):  # the asked family first; another when the slice has none of it
            family = FAMILIES[(first + step) % len(FAMILIES)]
            picked = _ask(whole, after, family, qrng, files, read)
            if picked is not None:
                break
        if picked is not None:
            break
    if picked is None:
        raise InputError(f"codeqa: no question fits in {target_tokens} tokens of stdlib; use a larger length")
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
    """The module-level function names (call chain) or class names (dispatch) of a file."""
    with _AST_LOCK:
        tree = ast.parse(source)
    kinds: tuple[type, ...] = (ast.ClassDef,) if family == "dispatch" else (ast.FunctionDef, ast.AsyncFunctionDef)
    return {n.name for n in tree.body if isinstance(n, kinds)}  # type: ignore[attr-defined]


def _count_param(whole: list[tuple[str, str]], rng: random.Random) -> _Picked | None:
    """How many public module-level functions of the files shown in full take a parameter named p (an
    aggregation over the whole context; options are nearby counts)."""
    if len(whole) > MAX_COUNT_FILES:
        return None
    counts: dict[str, int] = {}
    for _, text in whole:
        try:
            with _AST_LOCK:
                tree = ast.parse(text)
        except SyntaxError:
            continue
        for fn in tree.body:
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and not fn.name.startswith("_"):
                every = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
                for name in sorted({a.arg for a in every} - {"self", "cls"}):
                    counts[name] = counts.get(name, 0) + 1
    usable = sorted(name for name, c in counts.items() if c >= 3)
    if not usable or len(whole) < 2:
        return None
    name = rng.choice(usable)
    gold = counts[name]
    near = sorted({gold + d for d in (-3, -2, -1, 1, 2, 3) if gold + d >= 0})
    options, position = _with_answer(str(gold), [str(v) for v in rng.sample(near, 3)], rng)
    question = (
        f"Across the files shown in full in the context (every file except a last, cut one), how many public "
        f"module-level functions (name not starting with an underscore) accept a parameter named `{name}`?"
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
