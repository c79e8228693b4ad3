"""Parse what the root LM wrote: code cells to run, and FINAL / FINAL_VAR written in prose.

Pure functions over text; nothing here runs code or knows about the sandbox.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?:repl|python3?|py)[ \t]*\r?\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE | re.IGNORECASE,
)
_ANY_FENCE = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_PROSE_FINAL = re.compile(r"^[ \t]*(?:\*\*)?(FINAL_VAR|FINAL)\(", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ProseFinal:
    kind: Literal["final", "final_var"]
    argument: str
    """For FINAL: the answer text. For FINAL_VAR: the variable's name."""


def extract_cells(text: str) -> list[str]:
    """Every ```repl / ```python / ```py block, in order. An unclosed last fence runs to the end of the text."""
    cells = []
    for match in _FENCE.finditer(text):
        code = match.group(1).rstrip()
        if code.strip():
            cells.append(code)
    return cells


def strip_code(text: str) -> str:
    """The text with every fenced block removed."""
    return _ANY_FENCE.sub("", text).strip()


def _balanced_argument(text: str, start: int) -> str | None:
    """The text between the '(' before `start` and its matching ')', skipping parentheses inside quotes."""
    depth = 1
    quote: str | None = None
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if text.startswith(quote, index):
                index += len(quote)
                quote = None
                continue
        elif text.startswith('"""', index) or text.startswith("'''", index):
            quote = text[index : index + 3]
            index += 3
            continue
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[start:index]
        index += 1
    return None


def _unquote(argument: str) -> str:
    stripped = argument.strip()
    if stripped[:1] in {"'", '"'} or stripped[:2].lower() in {"f'", 'f"', "r'", 'r"'}:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            return stripped
        return value if isinstance(value, str) else stripped
    return stripped


def find_prose_final(text: str) -> ProseFinal | None:
    """FINAL(...) or FINAL_VAR(...) at the start of a line outside code fences; the last one wins.

    Parentheses are matched (not a greedy regex), so `FINAL(f(x) = (1, 2))` keeps its inner parentheses.
    """
    prose = _ANY_FENCE.sub("", text)
    found: ProseFinal | None = None
    for match in _PROSE_FINAL.finditer(prose):
        argument = _balanced_argument(prose, match.end())
        if argument is None:
            continue
        if match.group(1) == "FINAL_VAR":
            name = _unquote(argument)
            if name.isidentifier():
                found = ProseFinal("final_var", name)
        else:
            found = ProseFinal("final", _unquote(argument))
    return found
