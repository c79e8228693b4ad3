"""Parse what the root LM wrote: code cells to run, and FINAL / FINAL_VAR written in prose.

Pure functions over text; nothing here runs code or knows about the sandbox. One linear pass (`parse_reply`)
splits a reply into three kinds of text:

* reasoning: `<think>...</think>` (or `<thinking>`, `<reasoning>`, any case) opened at the start of a line, a
  `<think>` never closed (reasoning to the end), and, when a `</think>` appears in prose with no opening tag
  before it, everything before it (a chat template that opened the tag itself, as DeepSeek-R1 and Qwen3
  templates do). A closing tag written about ("`</think>`", "<think>...</think>" mid-line) closes nothing. gpt-oss's
  harmony channels leaked as text: analysis and commentary are reasoning, the final channel is the reply.
  Reasoning is never action: no cells and no FINAL come from it.
* fenced blocks, by CommonMark's rules (spec 0.31, section 4.5): a fence is 3 or more backticks or tildes; a
  backtick fence's info string holds no backtick; the block closes at a line of the same character, at least as
  long as the opening, followed only by spaces; an unclosed block runs to the end. So a ````repl block can hold
  ``` lines. Blocks whose info string starts with repl, python, python3 or py are cells. rlmx is lenient where
  models are: an opening fence may be indented any amount (lists nest them, tabs count to 4) or follow a BOM or
  zero-width mark; a code fence may open at the end of a line of text ("Running it: ```repl"); a closing one may
  be indented up to 3 columns more, or be followed by leaked chat-template tokens (<|eot_id|>, </s>).
* prose: the rest. A FINAL(...), FINAL_VAR(...) or SUBMIT(k=v, ...) at the start of a prose line finishes; the
  last one wins.

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
    r"^(?P<indent>[ \t\ufeff\u200b\u200c\u200d\u2060]*)"
    r"(?:(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$|(?P<open><(?:think|thinking|reasoning)>))",
    re.MULTILINE | re.IGNORECASE,
)
_CLOSE_TAG = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_OPEN_TAG = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_LINE_END = re.compile(r"[ \t]*(?:\n|\Z)")
# A code fence at the end of a line of text ("Running it now: ```repl"), as models write it when they leave out a
# line break: an opening fence, for the code languages only.
_LATE_FENCE = re.compile(
    r"(?<=[^\s`~])[ \t]*(?P<fence>`{3,})(?P<info>(?:"
    + "|".join(sorted(CODE_LANGUAGES, key=len, reverse=True))  # the longest first: python3 before python before py
    + r")[ \t]*)$",
    re.M | re.I,
)
_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d\u2060"
# Chat-template tokens a server leaks as text (<|eot_id|>, <|im_end|>, <|end|>, </s>): never part of the reply.
_SPECIAL_TOKENS = re.compile(r"(?:[ \t]*(?:<\|[A-Za-z0-9_]{1,40}\|>|</s>))+[ \t]*$", re.MULTILINE)
# gpt-oss's harmony format, leaked raw by a server without its parser: `<|channel|>analysis<|message|>...<|end|>`.
_HARMONY_HEADER = re.compile(
    r"(?:<\|start\|>[^<\n]{0,80})?<\|channel\|>(?P<channel>[A-Za-z]{1,20})[^<\n]{0,200}"
    r"(?:<\|constrain\|>[^<\n]{0,80})?<\|message\|>"
)
_HARMONY_END = re.compile(r"<\|(?:end|return|call)\|>")
_PROSE_FINAL = re.compile(r"^[ \t]*(?:\*\*)?(FINAL_VAR|FINAL|SUBMIT)\(", re.MULTILINE)
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
    kind: Literal["final", "final_var", "submit"]
    argument: str
    """For FINAL: the answer text. For FINAL_VAR: the variable's name. For SUBMIT: its arguments, as written."""

    @property
    def call(self) -> str:
        """The call as the model wrote it, for messages about it."""
        return f"{self.kind.upper()}(...)"


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed reply. `cells` are the code cells in order; `prose` the text outside fences and reasoning."""

    cells: tuple[str, ...]
    final: ProseFinal | None
    prose: str
    reasoning_chars: int
    """How many characters were reasoning (shown in traces; never acted on)."""


def _indent(whitespace: str) -> int:
    """Columns of a line's indentation: tabs to multiples of 4 (CommonMark's tab stop), zero-width marks none."""
    return len(whitespace.strip(_ZERO_WIDTH).expandtabs(4))


def _dedent(code: str, columns: int) -> str:
    """Remove up to `columns` columns of leading spaces and tabs from each line, as CommonMark does for an
    indented opening fence (a tab that would go past `columns` is kept)."""
    if columns == 0:
        return code
    return "\n".join(_strip_columns(line, columns) for line in code.split("\n"))


def _strip_columns(line: str, columns: int) -> str:
    width = 0
    for index, char in enumerate(line):
        step = 1 if char == " " else 4 - width % 4 if char == "\t" else 0
        if step == 0 or width + step > columns:
            return line[index:]
        width += step
    return ""


def parse_reply(text: str) -> Reply:
    """Split one reply into cells, a prose FINAL and prose. Never raises; linear in len(text).

    Lone surrogates in the reply become U+FFFD first (`frames.encodable`), so no answer taken from it can fail to
    print, be traced or be sent."""
    text = encodable(text).replace("\r\n", "\n").replace("\r", "\n")
    text, reasoning = _harmony(text)
    if "<" in text:
        text = _SPECIAL_TOKENS.sub("", text)
    cells: list[str] = []
    prose: list[str] = []
    state: Literal["prose", "fence", "think"] = "prose"
    prose_start = 0
    think_start = think_opened = 0
    seen_think = False
    mentions = _Mentions(text)
    fence_char, fence_len, fence_indent, fence_lang, body_start = "", 0, 0, "", 0
    consumed = 0
    events = heapq.merge(_LINE_EVENT.finditer(text), _CLOSE_TAG.finditer(text), _LATE_FENCE.finditer(text), key=_start)
    for match in events:
        start, end = match.start(), match.end()
        if start < consumed:
            continue  # a tag inside a fence line: part of that line
        if match.re is _LATE_FENCE:
            if state != "prose":
                continue  # text in a block or in reasoning
            prose.append(text[prose_start:start])
            fence_char, fence_len, fence_indent = "`", len(match.group("fence")), 0
            fence_lang, body_start, state = match.group("info").split()[0].lower(), min(end + 1, len(text)), "fence"
            consumed = end
            continue
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
                think_start, think_opened, seen_think, state = start, end, True, "think"
        elif state == "fence" or mentions.mentioned(start, end, think_opened if state == "think" else 0):
            continue  # a closing tag inside a block, or one written about ("`</think>`", "<think>...</think>")
        elif state == "think":  # a closing tag
            reasoning += end - think_start
            prose_start, state = end, "prose"
        elif not seen_think:
            # A </think> with no opening tag: the chat template opened it, so all before it was reasoning.
            reasoning += end
            cells.clear()
            prose.clear()
            seen_think = True
            prose_start = end
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


class _Mentions:
    """Whether a closing tag is written about rather than closing reasoning: it sits in an inline code span (an
    odd number of backticks before it on its line) or between quotes, or, with text after it on its line, it
    follows an opening tag on that line that is not the one the reasoning began with ("blocks inside
    <think>...</think> never run"). Each line is scanned once, left to right, however many tags it holds."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # scanned up to here, on the line of the last tag
        self.ticks = 0  # backticks from that line's start to `pos`
        self.opens = 0  # opening tags on that line (after `since`) not yet matched by a mention

    def mentioned(self, start: int, end: int, since: int) -> bool:
        """`since`: where the reasoning's own opening tag ends (0 outside reasoning)."""
        text = self.text
        newline = text.rfind("\n", self.pos, start)
        if newline >= 0:
            self.pos, self.ticks, self.opens = newline + 1, 0, 0
        self.ticks += text.count("`", self.pos, start)
        lowest = max(self.pos, since)
        if lowest < start:
            self.opens += sum(1 for _ in _OPEN_TAG.finditer(text, lowest, start))
        self.pos = end
        if self.ticks % 2 or (start > 0 and end < len(text) and text[start - 1] == text[end] in "'\"`"):
            return True
        if self.opens and not _LINE_END.match(text, end):
            self.opens -= 1
            return True
        self.opens = 0
        return False


def _harmony(text: str) -> tuple[str, int]:
    """gpt-oss's harmony markup as text: the final channel's messages are the reply, the analysis and commentary
    channels reasoning (counted, never acted on). Text without it comes back unchanged."""
    if "<|channel|>" not in text:
        return text, 0
    headers = list(_HARMONY_HEADER.finditer(text))
    if not headers:
        return text, 0
    kept = [text[: headers[0].start()]]
    reasoning = 0
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        limit = following.start() if following is not None else len(text)
        stop = _HARMONY_END.search(text, header.end(), limit)
        body = text[header.end() : stop.start() if stop else limit]
        if header.group("channel").lower() == "final":
            kept.append(body)
        else:
            reasoning += len(body)
        if stop is not None:
            kept.append(text[stop.end() : limit])
    return "\n".join(part for part in kept if part.strip()), reasoning


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
            if match.group(1) == "SUBMIT" and _is_keywords(argument):
                return ProseFinal("submit", argument)
            if match.group(1) == "FINAL_VAR" and argument.isidentifier():
                return ProseFinal("final_var", argument)
    return None


def _is_keywords(arguments: str) -> bool:
    """`SUBMIT(answer=..., confidence=...)` as written in prose: keyword arguments that parse as Python."""
    try:
        call = ast.parse(f"SUBMIT({arguments})", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return (
        isinstance(call, ast.Call)
        and not call.args
        and bool(call.keywords)
        and None not in {k.arg for k in call.keywords}
    )


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
