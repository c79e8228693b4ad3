"""The global names a piece of Python binds, read from its source without running it (`names_bound`): setup_code is
checked with it before it runs, so that it cannot silently replace what the first prompt describes."""

from __future__ import annotations

import ast


def names_bound(code: str) -> set[str]:
    """The global names `code` binds as written: assignments, `def`/`class`, imports, loop, `with`, `except` and
    `match` targets outside functions, names a function declares `global`, `globals()['name'] = ...` and
    `globals().update(name=...)`. Code that is not Python binds none here (running it reports that)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    bound: set[str] = set()
    _bind_in(tree, True, bound)
    return bound


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
"""Nodes whose body has a scope of its own: a name bound there is not a global (unless declared so)."""


def _bind_in(node: ast.AST, module: bool, bound: set[str]) -> None:
    """Add to `bound` the global names `node`'s children bind (`module`: they run at module level)."""
    for child in ast.iter_child_nodes(node):
        if module:
            if isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
                bound.add(child.id)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(child.name)
            elif isinstance(child, ast.alias) and child.name != "*":
                bound.add(child.asname or child.name.partition(".")[0])
            elif isinstance(child, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and child.name:
                bound.add(child.name)
            elif isinstance(child, ast.MatchMapping) and child.rest:
                bound.add(child.rest)
        if isinstance(child, ast.Global):
            bound.update(child.names)
        elif isinstance(child, ast.Subscript) and _globals_call(child.value):
            if isinstance(child.slice, ast.Constant) and isinstance(child.slice.value, str):
                bound.add(child.slice.value)
        elif isinstance(child, ast.Call) and _globals_update(child):
            bound.update(k.arg for k in child.keywords if k.arg is not None)
        _bind_in(child, module and not isinstance(child, _SCOPES), bound)


def _globals_update(node: ast.Call) -> bool:
    """Whether `node` is `globals().update(...)`."""
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr == "update" and _globals_call(func.value)


def _globals_call(node: ast.AST) -> bool:
    """Whether `node` is `globals()`."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals"
