"""A chat message that holds a pasted document: which of its words ask about the document, and which are the document.

Chat UIs put an attached file's text into a message ("Summarize this document." + 36 KB; a RAG app's retrieved
passages in the system prompt). Sent whole to the root, such a message would be in every root prompt (a 1 MB log
made 241k-token prompts), so the server keeps the words that ask and gives the document to the REPL.

A document is long and structured; the words about it are short prose at one end or both. So each end of the
message is read for the words that are not like the document's bulk:

* when most lines of the message's middle begin alike (a log's times, a CSV's rows, an FAQ's "Q:" and "A:",
  numbered passages), a line at an end that begins so (or has no letter or digit: a JSON bracket) is the
  document's own, and the lines before the first such one stand apart (a title, a question on the line after a
  CSV, an instruction of a few paragraphs in any language);
* in prose, whose lines begin every way, the candidates are each end's short paragraphs (or the end paragraph).

Of the candidates, the ones that ask are the asking words; both ends when both ask. A candidate asks when it ends
in a question mark (strongest) or a colon, opens with a request or a question word ("Summarize", "Please", "What",
请...), ends as a polite request does (ください, 주세요), or, in one short sentence, points at the text ("the log
below"). When none asks, the candidates are all kept (a terse or non-English instruction, or the document's own
closing line: the root tells them apart); when no end stands apart (a bare log, one line of JSON), a message that
must hold the question shows its first and last lines.

The asking words are cut from the document only where it is sure: they stand apart from a structured bulk along a
blank line, and they ask or are the only candidate. Otherwise they are copied, with the other end's candidate when
it is short too, and the document is the whole message: a document's own last entry is never taken out of it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import takewhile
from typing import Literal, NamedTuple

from rlmx.documents.text import LINE_ENDS

PASTED_CHARS = 20_000
"""A message longer than this holds a pasted document: its asking words stay in the message, the rest goes to the
context (sent whole, it would be in every root prompt: a 1 MB log made 241k-token prompts)."""
SHORT = PASTED_CHARS // 4
"""The most characters the asking words at one end may span."""
SENTENCE = 200
"""The longest paragraph whose words pointing at the text ("below", "above") count: prose beyond one sentence
says "the following year" or "above average" without asking anything. Also how much of an end line is shown of a
message with nothing apart."""
RUN = 8
"""The most lines (paragraphs, in prose) the asking words at one end may have: a prompt template's context, task
and format, or a question over two lines."""
WINDOW = 2 * SHORT
"""How much of each end and of the middle is read: a 29 MB message is read no further (it was walked whole)."""
SAMPLE = 4
"""The fewest whole lines in the middle that can show a structure."""
KINDS = 4
"""The most kinds of line a structured document has: 4 or fewer ways of beginning make 80% of its lines (a log's
times, an FAQ's "Q:" and "A:"), where prose paragraphs begin every way ("The", "In", "However"...)."""

QUESTION_MARKS = ("?", "\uff1f", "\u061f", "\u037e", "\u2e2e")
"""Question marks: ASCII, full-width (what Chinese and Japanese input methods type), Arabic, Greek, reversed."""
COLONS = (":", "\uff1a")  # ASCII and full-width
_OPENER = re.compile(
    r"(?:what|why|how|who|whom|whose|when|where|which|is|are|was|were|do|does|did|can|could|would|should|has|have"
    r"|please|pls|kindly|help|here(?:'s|\u2019s| is| are)|i'd like|i would like|i need|i want|tl;?dr|eli5"
    r"|summari[sz]e|translate|explain|list|extract|find|identify|rewrite|rephrase|paraphrase|review"
    r"|analy[sz]e|describe|tell|give|show|provide|write|draft|check|fix|correct|proofread|edit|improve|simplify"
    r"|shorten|condense|outline|classify|categori[sz]e|count|compare|convert|answer|generate|create|make"
    r"|evaluate|assess|critique|debug|refactor|highlight|detect|determine|calculate|compute|estimate"
    r"|based on|according to|given)\b"
    r"|\u8bf7|\u8acb|\u5e2e\u6211|\u5e6b\u6211",  # Chinese: 请 請 (please), 帮我 幫我 (help me)
    re.IGNORECASE,
)
"""How a request or a question to the assistant opens, in English and Chinese (an instruction in another language
is found by standing apart from the document)."""
_POLITE_END = re.compile(r"(?:\u304f\u3060\u3055\u3044|\u4e0b\u3055\u3044|\uc8fc\uc138\uc694)\s*[\u3002.!\uff01]?$")
"""How a Japanese or Korean request ends: ください 下さい, 주세요 ("please do")."""
_MARKUP = " \t\"'`*_#>([{\u201c\u2018\u300c-"
"""What may come before a paragraph's first word: quotes, markdown emphasis, headings and list marks."""
_POINTS_BELOW = re.compile(r"\b(?:below|following|attached|enclosed)\b", re.IGNORECASE)
_POINTS_ABOVE = re.compile(r"\b(?:above|preceding|previous)\b", re.IGNORECASE)
_LEAD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]+")
"""A line's first word, number or run of marks: what a structured document's lines share ("Q", "0", "-", "|")."""
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")

Where = Literal["above", "below", "around", "with", "none"]
"""Where the document is, seen from the asking words: above them, below them, between their two parts (each cut
out of it); "with": the asking words are copied and the document is the whole message; "none": no words stand
apart and the whole message is the document (the asking words, if any, are its first and last lines)."""


@dataclass(frozen=True, slots=True)
class Pasted:
    """A long message taken apart: the words that ask (empty when none do) and the document."""

    asking: str
    document: str
    where: Where
    asks: bool = False
    """Whether the asking words ask (a question mark, a request word...) rather than only stand apart."""


class _Line(NamedTuple):
    start: int
    end: int
    opens: bool
    """It opens a paragraph: a blank line (or the text's start) comes before it."""


@dataclass(frozen=True, slots=True, eq=False)
class _Run:
    """The candidate asking words at one end of a message."""

    start: int
    end: int
    border: int
    """Where the document begins (after the first end's words) or ends (before the last end's)."""
    asks: int
    """How clearly they ask: the best of their lines' or paragraphs' `_asks`."""
    apart: bool
    """They stand apart from a structured document along a blank line: they may be cut out of it."""


def split(text: str, *, must_ask: bool, over: int = PASTED_CHARS) -> Pasted | None:
    """`text` taken apart into its asking words and its document, or None when it is not `over` characters long.
    A text that `must_ask` (the last user message) always gets asking words: with none apart, its end lines."""
    if len(text) <= over:
        return None
    text = text.strip()
    bulk = _bulk(text)
    head = _run(text, _lines(text, 0, min(len(text), WINDOW)), bulk, from_end=False)
    tail_start = max(0, len(text) - WINDOW)
    tail_lines = _lines(text, tail_start, len(text))[1 if tail_start else 0 :]  # the window's first may be cut
    tail = _run(text, tail_lines, bulk, from_end=True)
    if head is not None and tail is not None and head.end > tail.start:
        tail = None  # a short text that one end's words reach across
    return _taken_apart(text, head, tail, must_ask=must_ask)


def asks(words: str) -> bool:
    """Whether `words` (a short message) ask something of the assistant, by `_asks`'s signs."""
    return _asks(words.strip(), _POINTS_BELOW) > 0


def _taken_apart(text: str, head: _Run | None, tail: _Run | None, *, must_ask: bool) -> Pasted:
    """The asking words among the two ends' candidates, and the document: cut where it is sure, else whole."""
    runs = [run for run in (head, tail) if run is not None]
    asking = [run for run in runs if run.asks]
    chosen = asking or (runs if must_ask else [run for run in runs if run.apart])
    if not chosen:
        return Pasted(_end_lines(text) if must_ask else "", text, "none")
    if not all(run.apart for run in chosen) or (not asking and len(chosen) > 1):
        # unsure: the document stays whole, and a short other end is shown too (an instruction in a language
        # _asks does not know, above prose that ends in a question of its own)
        shown = [run for run in runs if run in chosen or run.end - run.start <= 2 * SENTENCE]
        return Pasted(_words(text, shown), text, "with", asks=bool(asking))
    first, last = head in chosen, tail in chosen
    start = head.border if first and head is not None else 0
    end = tail.border if last and tail is not None else len(text)
    where: Where = "around" if first and last else "below" if first else "above"
    return Pasted(_words(text, chosen), text[start:end], where, asks=bool(asking))


def _words(text: str, runs: list[_Run]) -> str:
    return "\n\n".join(text[run.start : run.end].strip() for run in runs)


def _run(text: str, lines: list[_Line], bulk: frozenset[str], *, from_end: bool) -> _Run | None:
    """The candidate asking words at one end of `text`, from its `lines` there (in reading order); None when that
    end is the document's own."""
    ordered = lines[::-1] if from_end else lines
    count = _before_bulk(text, ordered, bulk) if bulk else None
    if count == 0:
        return None
    if count is not None:
        words, next_line = ordered[:count], ordered[count]
        units = [(line.start, line.end) for line in words]
        apart = (words[-1] if from_end else next_line).opens  # a blank line between them and the document
        border = next_line.end if from_end else next_line.start
    else:
        units, apart, border = _short_paragraphs(lines, from_end=from_end), False, 0
    if not units:
        return None
    points = _POINTS_ABOVE if from_end else _POINTS_BELOW
    clearest = max(_asks(text[start:end].strip(), points) for start, end in units)
    start, end = min(start for start, _ in units), max(end for _, end in units)
    return _Run(start, end, border, clearest, apart)


def _before_bulk(text: str, lines: list[_Line], bulk: frozenset[str]) -> int | None:
    """How many of `lines` (read from one end) come before the first one like the document's bulk; None when none
    comes within RUN lines and SHORT characters (then nothing at this end stands apart from it)."""
    for count, line in enumerate(lines[: RUN + 1]):
        words = text[line.start : line.end]
        if not _LETTER_OR_DIGIT.search(words) or _shape(words) in bulk:
            return count
        if max(line.end, lines[0].end) - min(line.start, lines[0].start) > SHORT:
            return None
    return None


def _short_paragraphs(lines: list[_Line], *, from_end: bool) -> list[tuple[int, int]]:
    """At one end of prose: its short paragraphs up to the first long one (a title, an instruction of a few
    paragraphs), else its end paragraph, or that paragraph's end line when the paragraph is too long to ask."""
    units = _paragraphs(lines)
    if from_end:
        units.reverse()
    short = list(takewhile(lambda unit: unit[1] - unit[0] <= 2 * SENTENCE, units[: RUN + 1]))
    if short and len(short) <= RUN and short[-1] != units[-1]:
        return short
    return units[:1] if units and units[0][1] - units[0][0] <= SHORT else []


def _paragraphs(lines: list[_Line]) -> list[tuple[int, int]]:
    """The paragraphs of `lines` as spans; a paragraph too long to ask is split into its lines."""
    units: list[tuple[int, int]] = []
    group: list[_Line] = []
    for line in [*lines, None]:
        if group and (line is None or line.opens):
            if group[-1].end - group[0].start <= SHORT:
                units.append((group[0].start, group[-1].end))
            else:
                units.extend((member.start, member.end) for member in group)
            group = []
        if line is not None:
            group.append(line)
    return units


def _bulk(text: str) -> frozenset[str]:
    """How most lines of the document's middle begin (`_shape`): its structure; empty when they begin every way
    (prose), or when the middle has too few whole lines to tell."""
    start = max(0, len(text) // 2 - WINDOW // 2)
    end = min(len(text), start + WINDOW)
    lines = _lines(text, start, end)[1 if start else 0 :]  # a window's edge lines may be cut
    if end < len(text):
        lines = lines[:-1]
    shapes = [_shape(text[line.start : line.end]) for line in lines]
    if len(shapes) < SAMPLE:
        return frozenset()
    common = [(shape, seen) for shape, seen in Counter(shapes).most_common(KINDS) if seen >= 2]
    if 5 * sum(seen for _, seen in common) < 4 * len(shapes):
        return frozenset()
    return frozenset(shape for shape, _ in common)


def _shape(line: str) -> str:
    """A line's first word (lowercased), number ("0") or run of marks."""
    lead = _LEAD.search(line)
    if lead is None:
        return ""
    return "0" if lead.group()[0].isdigit() else lead.group().lower()


def _lines(text: str, start: int, end: int) -> list[_Line]:
    """The lines of `text[start:end]` that are not blank, with where each is in `text`."""
    lines: list[_Line] = []
    opens, position = True, start
    breaks = [(found.start(), found.end()) for found in LINE_ENDS.finditer(text, start, end)]
    for line_end, next_start in [*breaks, (end, end)]:
        if text[position:line_end].strip():
            lines.append(_Line(position, line_end, opens))
            opens = False
        else:
            opens = True
        position = next_start
    return lines


def _end_lines(text: str) -> str:
    """The first and last lines of a message with nothing apart from its document, each cut to SENTENCE
    characters: what the root is shown of it."""
    first = text[: SENTENCE + 1].splitlines()[0]
    last = text[-SENTENCE - 1 :].splitlines()[-1]
    first = first if len(first) <= SENTENCE else f"{first[:SENTENCE]}\u2026"
    last = last if len(last) <= SENTENCE else f"\u2026{last[-SENTENCE:]}"
    return first if first == last else f"{first}\n\n{last}"


def _asks(paragraph: str, points: re.Pattern[str]) -> int:
    """How clearly `paragraph` asks something of the assistant: 3 a question mark at its end, 2 a colon, 1 a
    request or question word at its start (or, in one sentence, a word in `points` aiming at the document), 0 not
    at all (also when it is too long to be the asking paragraph)."""
    if not paragraph or len(paragraph) > SHORT:
        return 0
    if paragraph.endswith(QUESTION_MARKS):
        return 3
    if paragraph.endswith(COLONS):
        return 2
    if _OPENER.match(paragraph.lstrip(_MARKUP)) or _POLITE_END.search(paragraph):
        return 1
    return 1 if len(paragraph) <= SENTENCE and points.search(paragraph) else 0
