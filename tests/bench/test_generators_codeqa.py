"""codeqa generator against BENCHMARKS.md 3.e: every question family from the AST, checked against the code by
other means (the file text, Python's own method resolution), options balanced and the RLM-paper prompt."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections import Counter

import pytest

from rlmx.bench import Task, generate, score
from rlmx.bench.codeqa import FAMILIES, _facts
from rlmx.errors import InputError

# (family, target tokens, index) where seed 3's slice has a question of that family (found once, pinned here).
CASES = [
    ("base_class", 32768, 0),
    ("default_value", 32768, 0),
    ("raises", 32768, 0),
    ("constant", 32768, 0),
    ("constant_trace", 32768, 0),
    ("call_chain", 32768, 0),
    ("dispatch", 131072, 1),
    ("count_param", 32768, 0),
    ("statement", 32768, 0),
]
SYNTHETIC = """
LIMIT = 30
_MODE = "fast"


def connect(host, timeout=LIMIT, mode=_MODE, retries=3):
    return _open(host)


def _open(host):
    return _resolve(host)


def _resolve(host):
    raise LookupError(host)


class Base:
    def render(self):
        return 1

    def close(self):
        return 0


class Middle(Base):
    def render(self):
        return 2


class Page(Middle):
    pass
"""


def _file_text(task: Task, path: str) -> str:
    context = str(task.context)
    start = context.index(f"### File: {path}\n") + len(f"### File: {path}\n")
    end = context.find("\n\n### File: ", start)
    return context[start : end if end >= 0 else len(context)]


def _correct(task: Task) -> str:
    options = task.metadata["options"]
    return str(options["ABCD".index(str(task.answer))])


def test_extractors_on_known_code() -> None:
    facts = _facts("pkg/client.py", SYNTHETIC)
    assert ("parameter `timeout` of `connect`", "30") in facts["constant_trace"]
    assert ("parameter `mode` of `connect`", "'fast'") in facts["constant_trace"]
    assert ("`connect`", "_resolve") in facts["call_chain"]  # connect -> _open -> _resolve
    assert ("`Page().render()`", "Middle") in facts["dispatch"]  # Middle overrides Base.render
    assert all(subject != "`Page().close()`" for subject, _ in facts["dispatch"])  # no override: not asked
    assert ("function `_resolve`", "LookupError") in facts["raises"]
    assert ("class `Page`", "Middle") in facts["base_class"]


@pytest.mark.parametrize(("family", "size", "index"), CASES)
def test_each_family_is_true_to_the_code(family: str, size: int, index: int) -> None:
    task = generate("codeqa", seed=3, target_tokens=size, index=index, question_type=family)
    assert task.metadata["question_type"] == family
    options = task.metadata["options"]
    assert len(set(options)) == 4 and score("codeqa", str(task.metadata["answer_text"]), task) == 1.0
    right = _correct(task)
    path = task.metadata["file"]
    text = _file_text(task, path)
    subject = re.findall(r"`([^`]+)`", task.query.split("\nChoices:")[0])
    if family == "base_class":
        assert re.search(rf"^class {re.escape(subject[1])}\({re.escape(right)}\):", text, re.MULTILINE)
    elif family == "constant":
        assert re.search(rf"^{re.escape(subject[1])} = {re.escape(right)}\s*(#.*)?$", text, re.MULTILINE)
    elif family == "default_value":
        param, func = subject[1], subject[2]
        signatures = [m[1] for m in re.finditer(rf"def {re.escape(func)}\((.*?)\)( ->.*?)?:", text, re.DOTALL)]
        assert any(re.search(rf"\b{re.escape(param)}\s*=\s*{re.escape(right)}", sig) for sig in signatures)
    elif family == "constant_trace":
        param, func = subject[1], subject[2]
        signatures = [m[1] for m in re.finditer(rf"def {re.escape(func)}\((.*?)\)( ->.*?)?:", text, re.DOTALL)]
        names = [n for sig in signatures for n in re.findall(rf"\b{re.escape(param)}\s*=\s*(\w+)", sig)]
        assigned = [re.search(rf"^{n} = ([^#\n]+)", text, re.MULTILINE) for n in names]
        assert any(m is not None and repr(ast.literal_eval(m[1].strip())) == right for m in assigned)
    elif family == "raises":
        assert f"raise {right}" in text
    elif family == "call_chain":
        assert re.search(rf"^def {re.escape(right)}\(", text, re.MULTILINE)
    elif family == "dispatch":
        cls, method = re.fullmatch(r"(\w+)\(\)\.(\w+)\(\)", subject[1]).groups()  # type: ignore[union-attr]
        module = importlib.import_module(path.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
        assert getattr(getattr(module, cls), method).__qualname__.split(".")[0] == right  # Python's own MRO
    elif family == "count_param":
        name = subject[-1]
        files = task.metadata["files"]
        count = sum(
            len(re.findall(rf"^(?:async )?def [a-zA-Z]\w*\((?:[^()]|\([^()]*\))*\b{name}\b", _file_text(task, f), re.M))
            for f in files
        )
        assert abs(count - int(right)) <= 1  # a regex reading of the signatures (decorated/odd ones may differ)
    else:
        truth = [_statement_holds(task, option) for option in options]
        assert truth == [option == right for option in options], (options, truth)


def _statement_holds(task: Task, statement: str) -> bool:
    """Whether a statement option is true of the context's code, read independently of the generator."""
    path = re.match(r"In `(.+?)`, ", statement)
    assert path is not None
    if path[1] not in task.metadata["files"]:
        return False
    text = _file_text(task, path[1])
    base = re.fullmatch(r"In `.+?`, class `(\w+)` directly inherits from `(.+)`\.", statement)
    if base:
        return re.search(rf"^class {base[1]}\({re.escape(base[2])}\):", text, re.MULTILINE) is not None
    const = re.fullmatch(r"In `.+?`, the module constant `(\w+)` is assigned `(.+)`\.", statement)
    if const:
        found = re.search(rf"^{const[1]} = ([^#\n]+)", text, re.MULTILINE)
        return found is not None and repr(ast.literal_eval(found[1].strip())) == const[2]
    default = re.fullmatch(r"In `.+?`, the default value of the parameter `(\w+)` of `(\w+)` is `(.+)`\.", statement)
    tree = ast.parse(text)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if default:
        for fn in (f for f in functions if f.name == default[2]):
            positional = [*fn.args.posonlyargs, *fn.args.args]
            pairs = zip(positional[len(positional) - len(fn.args.defaults) :], fn.args.defaults, strict=True)
            if any(a.arg == default[1] and ast.unparse(d) == default[3] for a, d in pairs):
                return True
        return False
    raises = re.fullmatch(r"In `.+?`, the only exception type the function `(\w+)` raises is `(.+)`\.", statement)
    assert raises is not None, statement
    for fn in (f for f in functions if f.name == raises[1]):
        kinds = {
            ast.unparse(n.exc.func if isinstance(n.exc, ast.Call) else n.exc)
            for n in ast.walk(fn)
            if isinstance(n, ast.Raise) and n.exc is not None
        }
        if kinds == {raises[2]}:
            return True
    return False


def test_answers_are_balanced_and_rlm_style_uses_numbers() -> None:
    letters = Counter(str(generate("codeqa", seed=5, target_tokens=8192, index=i).answer) for i in range(24))
    assert set(letters) == set("ABCD") and max(letters.values()) <= 12
    task = generate("codeqa", seed=5, target_tokens=8192, index=0, prompt_style="rlm")
    assert task.answer in "0123" and "indexed from 0 to 3" in task.query and "\n0: " in task.query
    assert score("codeqa", f"The correct answer is {task.answer}", task) == 1.0
    assert score("codeqa", f"The correct answer is ({(int(task.answer) + 1) % 4})", task) == 0.0
    with pytest.raises(InputError, match="prompt_style"):
        generate("codeqa", seed=5, target_tokens=8192, index=0, prompt_style="chat")
    with pytest.raises(InputError, match="question_type"):
        generate("codeqa", seed=5, target_tokens=8192, index=0, question_type="vibes")


def test_past_the_stdlib_size_the_test_suites_are_opt_in() -> None:
    with pytest.raises(InputError, match="with_tests=True"):
        generate("codeqa", seed=1, target_tokens=4_000_000, index=0)
    from rlmx.bench.codeqa import stdlib_files

    assert len(stdlib_files(True)) > len(stdlib_files()) and any(p.startswith("test/") for p, _ in stdlib_files(True))


def _run_module(task: Task, path: str) -> dict[str, object]:
    """Execute a generated module (its one cross-module import dropped) and return its namespace."""
    source = "\n".join(line for line in _file_text(task, path).splitlines() if not line.startswith("from pkg."))
    namespace: dict[str, object] = {}
    exec(compile(source, path, "exec"), namespace)  # our own generated code, no imports beyond __future__
    return namespace


def test_procedural_repo_asks_every_family_and_python_agrees() -> None:
    seen = set()
    for index in range(9):
        task = generate("codeqa", seed=1, target_tokens=65536, index=index, source="procedural")
        family = task.metadata["question_type"]
        seen.add(family)
        assert task.metadata["python"] is None and task.params["source"] == "procedural"
        assert score("codeqa", str(task.metadata["answer_text"]), task) == 1.0
        assert all(p.startswith("pkg/") for p in task.metadata["files"])
        right, path = _correct(task), task.metadata["file"]
        names = re.findall(r"`([^`]+)`", task.query.split("\nChoices:")[0])
        if family == "dispatch":
            cls, method = re.fullmatch(r"(\w+)\(\)\.(\w+)\(\)", names[1]).groups()  # type: ignore[union-attr]
            namespace = _run_module(task, path)
            assert getattr(namespace[cls], method).__qualname__.split(".")[0] == right
        elif family == "constant_trace":
            param, func = names[1], names[2]
            function = _run_module(task, path)[func]
            default = inspect.signature(function).parameters[param].default  # type: ignore[arg-type]
            assert repr(default) == right
    assert seen == set(FAMILIES)
    again = generate("codeqa", seed=1, target_tokens=65536, index=3, source="procedural")
    assert (
        again.metadata["sha256_context"]
        == generate("codeqa", seed=1, target_tokens=65536, index=3, source="procedural").metadata["sha256_context"]
    )
    with pytest.raises(InputError, match="source"):
        generate("codeqa", seed=1, target_tokens=8192, index=0, source="github")
