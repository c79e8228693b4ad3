"""A chat message that holds a pasted document: which of its words ask about the document, and which are the document.

Chat UIs put an attached file's text into a message ("Summarize this document." + 36 KB; a RAG app's retrieved
passages in the system prompt). Sent whole to the root, such a message would be in every root prompt (a 1 MB log
made 241k-token prompts), so the server keeps the words that ask and gives the document to the REPL. The asking
words are the message's first and/or last paragraph (or line, in a text without blank lines), whichever asks:

* it ends in a question mark (strongest), or in a colon ("Summarize the log below:");
* or it opens with a request or a question word ("Summarize", "Translate", "Please", "What", "Can you", 请...) or
  ends as a polite request does (ください, 주세요), or, in one short sentence, points at the text on its side ("the
  text below", "the log above").

When both ends ask and a document lies between them, both are kept ("Here is a contract:" ... "What are the
risks?"); when one asks more strongly than the other, that one; when neither asks, the last paragraph for a
message that must hold a question (the last user message), else none (the whole message is the document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rlmx.documents.text import LINE_END, LINE_ENDS

PASTED_CHARS = 20_000
"""A message longer than this holds a pasted document: its asking paragraph stays in the message, the rest goes to
the context (sent whole, it would be in every root prompt: a 1 MB log made 241k-token prompts)."""
SHORT = PASTED_CHARS // 4
"""The longest paragraph that can be the asking one."""
SENTENCE = 200
"""The longest paragraph whose words pointing at the text ("below", "above") count: prose beyond one sentence
says "the following year" or "above average" without asking anything."""

QUESTION_MARKS = ("?", "\uff1f", "\u061f", "\u037e", "\u2e2e")
"""Question marks: ASCII, full-width (what Chinese and Japanese input methods type), Arabic, Greek, reversed."""
COLONS = (":", "\uff1a")  # ASCII and full-width
_BLANK_LINE = re.compile(rf"(?:{LINE_END})[ \t]*(?:{LINE_END})")
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
"""How a request or a question to the assistant opens (English and Chinese; other scripts rely on the marks and on
_POLITE_END)."""
_POLITE_END = re.compile(r"(?:\u304f\u3060\u3055\u3044|\u4e0b\u3055\u3044|\uc8fc\uc138\uc694)\s*[\u3002.!\uff01]?$")
"""How a Japanese or Korean request ends: ください 下さい, 주세요 ("please do")."""
_MARKUP = " \t\"'`*_#>([{\u201c\u2018\u300c-"
"""What may come before a paragraph's first word: quotes, markdown emphasis, headings and list marks."""
_POINTS_BELOW = re.compile(r"\b(?:below|following|attached|enclosed)\b", re.IGNORECASE)
_POINTS_ABOVE = re.compile(r"\b(?:above|preceding|previous)\b", re.IGNORECASE)

Where = Literal["above", "below", "around", "none"]
"""Where the document is, seen from the asking words: above them, below them, between their two parts, or no
asking words at all (the whole message is the document)."""


@dataclass(frozen=True, slots=True)
class Pasted:
    """A long message taken apart: the words that ask (empty when none do) and the document."""

    asking: str
    document: str
    where: Where


def split(text: str, *, must_ask: bool, over: int = PASTED_CHARS) -> Pasted | None:
    """`text` taken apart into its asking words and its document, or None when it is not `over` characters long
    (or, when it `must_ask`, no paragraph stands apart from the document: the whole text stays the question)."""
    if len(text) <= over:
        return None
    text = text.strip()
    cut = _ends(text, _BLANK_LINE) or _ends(text, LINE_ENDS)
    if cut is None:  # one long line: nothing stands apart
        return None if must_ask else Pasted("", text, "none")
    first_end, rest_start, body_end, last_start = cut
    first, last = text[:first_end].strip(), text[last_start:].strip()
    above, below = text[:body_end], text[rest_start:]
    first_asks, last_asks = _asks(first, _POINTS_BELOW), _asks(last, _POINTS_ABOVE)
    between = text[rest_start:body_end] if rest_start < body_end else ""
    if first_asks and last_asks and between.strip():
        return Pasted(f"{first}\n\n{last}", between, "around")
    if last_asks and last_asks >= first_asks:
        return Pasted(last, above, "above")
    if first_asks:
        return Pasted(first, below, "below")
    if not must_ask:
        return Pasted("", text, "none")
    fallbacks: tuple[tuple[str, str, Where], ...] = ((last, above, "above"), (first, below, "below"))
    for question, document, where in fallbacks:  # no end asks: the last paragraph, else the first, if short
        if question and len(question) <= SHORT and document.strip():
            return Pasted(question, document, where)
    return None


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


def _ends(text: str, separator: re.Pattern[str]) -> tuple[int, int, int, int] | None:
    """Where `text`'s first part ends and the rest starts (its first `separator`), and where all but its last part
    end and the last part starts (its last one); None without a separator."""
    first_break = separator.search(text)
    if first_break is None:
        return None
    last_break = first_break
    for later in separator.finditer(text, first_break.end()):
        last_break = later
    return first_break.start(), first_break.end(), last_break.start(), last_break.end()
