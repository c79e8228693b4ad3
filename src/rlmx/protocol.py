"""Parse what the root LM wrote: code cells to run, and FINAL / FINAL_VAR written in prose.

Pure functions over text; nothing here runs code or knows about the sandbox. One linear pass (`parse_reply`)
splits a reply into three kinds of text:

* reasoning: `<think>...</think>` (or `<thinking>`, `<reasoning>`, any case) opened at the start of a line, a
  `<think>` never closed (reasoning to the end), and, when a `</think>` appears in prose with no opening tag
  before it, everything before it (a chat template that opened the tag itself, as DeepSeek-R1 and Qwen3
  templates do). Reasoning is never action: no cells and no FINAL come from it.
* fenced blocks, by CommonMark's rules (spec 0.31, section 4.5): a fence is 3 or more backticks or tildes; a
  backtick fence's info string holds no backtick; the block closes at a line of the same character, at least as
  long as the opening, followed only by spaces; an unclosed block runs to the end. So a ````repl block can hold
  ``` lines. Blocks whose info string starts with repl, python, python3 or py are cells. rlmx is lenient in one
  way: an opening fence may be indented any amount (lists nest them); a closing one up to 3 columns more.
* prose: the rest. A FINAL(...) or FINAL_VAR(...) at the start of a prose line finishes; the last one wins.

Every step is linear in the reply's length (regex scans plus one walk over the matches), so a megabyte of
adversarial text parses in well under a second.
"""

from __future__ import annotations

import ast
import asyncio
import heapq
import re
from dataclasses import dataclass
from typing import Literal

from rlmx.sandbox.frames import encodable

CODE_LANGUAGES = frozenset({"repl", "python", "python3", "py"})

# Two scans find every place that can change the parser's state: lines that are fence-like or open a reasoning
# block, and closing tags anywhere. Everything between two such places is plain text of the current state. (Two
# patterns, not one alternation: each scans a megabyte in milliseconds, the alternation took 10x longer.)
_LINE_EVENT = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$|(?P<open><(?:think|thinking|reasoning)>))",
    re.MULTILINE | re.IGNORECASE,
)
_CLOSE_TAG = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_PROSE_FINAL = re.compile(r"^[ \t]*(?:\*\*)?(FINAL_VAR|FINAL)\(", re.MULTILINE)
_STRING_START = re.compile(r"[ \t]*(?:[rRuUfFbB]{1,2})?('''|\"\"\"|'|\")")
_CLOSING_PAREN = re.compile(r"[ \t\n]*\)")
_PARENS = re.compile(r"[()]")
# What can end a string literal's scan: an escape (skipped with the character it escapes), the closing quote,
# or, for a one-line string, a newline.
_STRING_STOPS = {
    "'": re.compile(r"\\.|'|\n", re.DOTALL),
    '"': re.compile(r'\\.|"|\n', re.DOTALL),
    "'''": re.compile(r"\\.|'''", re.DOTALL),
    '"""': re.compile(r'\\.|"""', re.DOTALL),
}


@dataclass(frozen=True, slots=True)
class ProseFinal:
    kind: Literal["final", "final_var"]
    argument: str
    """For FINAL: the answer text. For FINAL_VAR: the variable's name."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed reply. `cells` are the code cells in order; `prose` the text outside fences and reasoning."""

    cells: tuple[str, ...]
    final: ProseFinal | None
    prose: str
    reasoning_chars: int
    """How many characters were reasoning (shown in traces; never acted on)."""


def _indent(whitespace: str) -> int:
    return len(whitespace.expandtabs(4))


def _dedent(code: str, columns: int) -> str:
    """Remove up to `columns` leading spaces from each line, as CommonMark does for an indented opening fence."""
    if columns == 0:
        return code
    lines = code.split("\n")
    return "\n".join(line[min(columns, len(line) - len(line.lstrip(" "))) :] for line in lines)


def parse_reply(text: str) -> Reply:
    """Split one reply into cells, a prose FINAL and prose. Never raises; linear in len(text).

    Lone surrogates in the reply become U+FFFD first (`frames.encodable`), so no answer taken from it can fail to
    print, be traced or be sent."""
    text = encodable(text).replace("\r\n", "\n").replace("\r", "\n")
    cells: list[str] = []
    prose: list[str] = []
    reasoning = 0
    state: Literal["prose", "fence", "think"] = "prose"
    prose_start = 0
    think_start = 0
    seen_think = False
    fence_char, fence_len, fence_indent, fence_lang, body_start = "", 0, 0, "", 0
    consumed = 0
    for match in heapq.merge(_LINE_EVENT.finditer(text), _CLOSE_TAG.finditer(text), key=_start):
        start, end = match.start(), match.end()
        if start < consumed:
            continue  # a tag inside a fence line: part of that line
        consumed = end
        if match.re is _LINE_EVENT and match.group("fence") is not None:
            fence, info = match.group("fence"), match.group("info")
            indent = _indent(match.group("indent"))
            if state == "prose":
                if fence[0] == "`" and "`" in info:
                    continue  # ```inline``` code on one line, not a fence
                prose.append(text[prose_start:start])
                words = info.split()
                fence_char, fence_len, fence_indent = fence[0], len(fence), indent
                fence_lang = words[0].lower() if words else ""
                body_start = min(end + 1, len(text))
                state = "fence"
            elif state == "fence" and _closes(fence, info, indent, fence_char, fence_len, fence_indent):
                _add_cell(cells, text[body_start:start], fence_lang, fence_indent)
                prose_start = min(end + 1, len(text))
                state = "prose"
        elif match.re is _LINE_EVENT:
            if state == "prose":
                prose.append(text[prose_start:start])
                think_start, seen_think, state = start, True, "think"
        elif state == "think":  # a closing tag
            reasoning += end - think_start
            prose_start, state = end, "prose"
        elif state == "prose":
            if not seen_think:
                # A </think> with no opening tag: the chat template opened it, so all before it was reasoning.
                reasoning += end
                cells.clear()
                prose.clear()
                seen_think = True
            else:
                prose.append(text[prose_start:start])
            prose_start = end
    if state == "prose":
        prose.append(text[prose_start:])
    elif state == "fence":
        _add_cell(cells, text[body_start:], fence_lang, fence_indent)
    else:
        reasoning += len(text) - think_start
    return Reply(tuple(cells), _prose_final(prose), "\n".join(p.strip("\n") for p in prose if p.strip()), reasoning)


def _start(match: re.Match[str]) -> int:
    return match.start()


def _closes(fence: str, info: str, indent: int, char: str, length: int, opening_indent: int) -> bool:
    """CommonMark's closing fence: the opening's character, at least as long, nothing after it but spaces."""
    return fence[0] == char and len(fence) >= length and not info.strip() and indent <= opening_indent + 3


def _add_cell(cells: list[str], body: str, language: str, indent: int) -> None:
    if language not in CODE_LANGUAGES:
        return
    code = _dedent(body, indent).rstrip()
    if code.strip():
        cells.append(code)


def _prose_final(segments: list[str]) -> ProseFinal | None:
    """The last well-formed FINAL / FINAL_VAR line. Each candidate's argument is read only up to the next
    candidate (or the end of its prose segment), so the search is linear however many unclosed FINAL( there are.
    """
    for segment in reversed(segments):
        starts = [match for match in _PROSE_FINAL.finditer(segment)]  # not list(): bytecode lets the GIL switch
        limit = len(segment)
        for match in reversed(starts):
            argument = _argument(segment, match.end(), limit)
            limit = match.start()
            if argument is None:
                continue
            if match.group(1) == "FINAL":
                return ProseFinal("final", argument)
            if argument.isidentifier():
                return ProseFinal("final_var", argument)
    return None


def _argument(text: str, start: int, limit: int) -> str | None:
    """The argument after the '(' that ends at `start`, read no further than `limit`; None when unbalanced.

    A quoted Python string followed by ')' is unquoted; anything else is taken as raw text up to the ')' that
    balances the parentheses (quotes do not count there: prose has apostrophes).
    """
    literal = _string_literal(text, start, limit)
    if literal is not None:
        return literal
    depth = 1
    for paren in _PARENS.finditer(text, start, limit):
        depth += 1 if paren.group() == "(" else -1
        if depth == 0:
            return text[start : paren.start()].strip()
    return None


def _string_literal(text: str, start: int, limit: int) -> str | None:
    """`FINAL("...")`: the string's value when the argument is exactly one Python string literal."""
    opening = _STRING_START.match(text, start, limit)
    if opening is None:
        return None
    quote = opening.group(1)
    for stop in _STRING_STOPS[quote].finditer(text, opening.end(), limit):
        token = stop.group()
        if token == "\n":
            return None  # a one-line string cannot span lines
        if token.startswith("\\"):
            continue
        closing = _CLOSING_PAREN.match(text, stop.end(), limit)
        if closing is None:
            return None
        try:
            value = ast.literal_eval(text[start : stop.end()].strip())
        except (ValueError, SyntaxError):
            return text[opening.end() : stop.start()]  # an f-string, say: its text as written
        return value if isinstance(value, str) else None
    return None


_CUT_STRING = re.compile(r"SyntaxError: unterminated (?:triple-quoted )?string literal")
FENCE_HINT = (
    "\nIf this block held a line of three backticks inside a string, that line ended the block. Open and close such "
    "a block with four backticks (````repl ... ````)."
)


def fence_hint(error: str | None) -> str:
    """A note for a cell whose error suggests its fence was closed early by a ``` line inside a string."""
    return FENCE_HINT if error and _CUT_STRING.search(error) else ""


def extract_cells(text: str) -> list[str]:
    """Every repl / python / py fenced block outside reasoning, in order. An unclosed last fence runs to the end."""
    return list(parse_reply(text).cells)


def strip_code(text: str) -> str:
    """The text with every fenced block and all reasoning removed."""
    return parse_reply(text).prose.strip()


def find_prose_final(text: str) -> ProseFinal | None:
    """FINAL(...) or FINAL_VAR(...) at the start of a prose line (outside fences and reasoning); the last wins.

    Parentheses are matched (not a greedy regex), so `FINAL(f(x) = (1, 2))` keeps its inner parentheses.
    """
    return parse_reply(text).final


_THREAD_ABOVE_CHARS = 64 * 1024


async def aparse_reply(text: str) -> Reply:
    """`parse_reply` for the event loop: a long reply is parsed on a worker thread, so other runs on the same loop
    (the server's) are not held up even by a megabyte of text."""
    if len(text) < _THREAD_ABOVE_CHARS:
        return parse_reply(text)
    return await asyncio.to_thread(parse_reply, text)
