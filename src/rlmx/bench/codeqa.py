"""Four-choice code questions over the installed CPython standard library (PSF licence), answers from its AST.

The context is consecutive stdlib files (sorted paths from a seeded start, so directory locality is kept)
joined as `\\n\\n### File: {path}\\n{content}`; the last file is cut to land on the target size. Questions
are asked only about files that are in the context whole. Families (index % 4): a class's direct base class,
a parameter's default value, the exception a function raises, a module constant's value. Distractors are
same-type facts from other files of the context. Tasks are valid for the recorded Python version only.
"""

from __future__ import annotations

import ast
import random
import sys
import sysconfig
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from rlmx.bench.task import Task, finish, make_rng
from rlmx.errors import InputError

_AST_LOCK = threading.Lock()
"""CPython 3.11's ast.parse is not safe in concurrent threads ("AST constructor recursion depth mismatch")."""
FAMILIES = ("base_class", "default_value", "raises", "constant")
LETTERS = "ABCD"


@lru_cache(maxsize=1)
def stdlib_files() -> tuple[tuple[str, int], ...]:
    """(relative path, size in bytes) of the stdlib's .py files, outside site-packages, sorted by path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("site-packages/", "test/", "idlelib/idle_test/", "lib2to3/tests/")):
            continue
        out.append((rel, path.stat().st_size))
    return tuple(out)


def _read(rel: str) -> str:
    return (Path(sysconfig.get_paths()["stdlib"]) / rel).read_text("utf-8", errors="replace")


def _facts(rel: str, source: str) -> dict[str, list[tuple[str, str]]]:
    """family -> [(subject, value)] facts of one file."""
    try:
        with _AST_LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, list[tuple[str, str]]] = {f: [] for f in FAMILIES}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and len(node.bases) == 1:
            out["base_class"].append((f"class `{node.name}`", ast.unparse(node.bases[0])))
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper() and isinstance(node.value, ast.Constant) and len(repr(node.value.value)) < 40:
                out["constant"].append((f"the module constant `{name}`", repr(node.value.value)))
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            positional = [*fn.args.posonlyargs, *fn.args.args]
            args = positional[len(positional) - len(fn.args.defaults) :]
            for arg, default in zip(args, fn.args.defaults, strict=True):
                text = ast.unparse(default)
                if len(text) < 40:
                    out["default_value"].append((f"parameter `{arg.arg}` of `{fn.name}`", text))
            raised = sorted(
                {
                    ast.unparse(n.exc.func if isinstance(n.exc, ast.Call) else n.exc)
                    for n in ast.walk(fn)
                    if isinstance(n, ast.Raise) and n.exc is not None
                }
            )
            if len(raised) == 1 and raised[0][:1].isupper():
                out["raises"].append((f"function `{fn.name}`", raised[0]))
    return out


QUESTIONS = {
    "base_class": "In `{path}`, which class does {subject} directly inherit from?",
    "default_value": "In `{path}`, what is the default value of the {subject}?",
    "raises": "In `{path}`, which exception type does the {subject} raise (its only raised type)?",
    "constant": "In `{path}`, what value is assigned to {subject}?",
}


def generate(*, seed: int, target_tokens: int, index: int) -> Task:
    """One four-choice question over a stdlib slice of target_tokens chars4 tokens (within 1%). Answer: A-D."""
    files = stdlib_files()
    goal = target_tokens * 4
    if goal > sum(size for _, size in files):
        raise InputError(f"codeqa: the installed stdlib is smaller than {target_tokens} tokens; use a smaller length")
    rng = make_rng("codeqa", seed, target_tokens, index, "files")
    qrng = make_rng("codeqa", seed, target_tokens, index, "question")
    picked = None
    for _attempt in range(50):  # a slice without a usable fact (one huge cut file) is redrawn
        parts, whole, after = _slice(files, rng.randrange(len(files)), goal)
        for step in range(len(FAMILIES)):  # the index's family first; another when the slice has none of it
            family = FAMILIES[(index + step) % len(FAMILIES)]
            picked = _pick(whole, after, family, qrng)
            if picked is not None:
                break
        if picked is not None:
            break
    if picked is None:
        raise InputError(f"codeqa: no question fits in {target_tokens} tokens of stdlib; use a larger length")
    rel, subject, options, position = picked
    question = QUESTIONS[family].format(path=rel, subject=subject)
    choices = "\n".join(f"({LETTERS[j]}) {opt}" for j, opt in enumerate(options))
    query = (
        f"What is the correct answer to this question: {question}\nChoices:\n{choices}\n\n"
        'Format your response as follows: "The correct answer is (insert answer here)".'
    )
    letter = LETTERS[position]
    extra: dict[str, Any] = {
        "question_type": family,
        "file": rel,
        "options": options,
        "python": ".".join(map(str, sys.version_info[:3])),
        "n_files": len(parts),
    }
    return finish(
        "codeqa",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params={},
        context="".join(parts),
        query=query,
        answer=letter,
        answer_format="choice",
        answer_text=f"The correct answer is ({letter})",
        extra=extra,
    )


def _slice(files: tuple[tuple[str, int], ...], start: int, goal: int) -> tuple[list[str], list[tuple[str, str]], int]:
    """(pieces of the context, files that are in it whole, index of the first file after it)."""
    parts: list[str] = []
    whole: list[tuple[str, str]] = []
    size = 0
    i = start
    while size < goal:
        rel = files[i % len(files)][0]
        text = _read(rel)
        piece = f"\n\n### File: {rel}\n{text}"
        if size + len(piece) > goal:
            piece = piece[: goal - size]
        else:
            whole.append((rel, text))
        parts.append(piece)
        size += len(piece)
        i += 1
    return parts, whole, i


def _pick(
    whole: list[tuple[str, str]], after: int, family: str, rng: random.Random
) -> tuple[str, str, list[str], int] | None:
    """(file, subject, four options, answer position) for a fact of `family`, or None when there is none.
    Distractors come from the context's other files, and from the next files of the stdlib when those are few."""
    facts = {rel: _facts(rel, text).get(family, []) for rel, text in whole}
    pool = set(value for fs in facts.values() for _, value in fs)
    files = stdlib_files()
    j = after
    while facts and any(facts.values()) and len(pool) < 12 and j < after + 40:
        rel = files[j % len(files)][0]
        pool |= {value for _, value in _facts(rel, _read(rel)).get(family, [])}
        j += 1
    pool_sorted = sorted(pool)
    candidates = [
        (rel, subj, val)
        for rel in sorted(facts)
        for subj, val in facts[rel]
        if sum(1 for s, _ in facts[rel] if s == subj) == 1  # the subject names one fact in its file
    ]
    rng.shuffle(candidates)
    for rel, subject, value in candidates:
        others = [v for v in pool_sorted if v != value]
        if len(others) >= 3:
            options = rng.sample(others, 3)
            position = rng.randrange(4)
            options.insert(position, value)
            return rel, subject, options, position
    return None
