"""Parse what the root LM wrote: code cells to run, and FINAL / FINAL_VAR written in prose.

Pure functions over text; nothing here runs code or knows about the sandbox. One linear pass (`parse_reply`)
splits a reply into three kinds of text:

* reasoning: `<think>...</think>` (or any pair of `REASONING_TAGS`, in any case: `<thinking>`, `[THINK]`,
  MiniMax-M3's `<mm:think>`, any vendor's `<NAME_think>` or `<NAME:think>` closed by its own closing tag
  (LongCat's `<longcat_think>`), Apertus' `<|inner_prefix|>...<|inner_suffix|>`, Solar Open's
  `<|think|>...<|end|><|begin|>assistant<|content|>`) opened at the start of a line, a `<think>` never closed
  (reasoning to the end), and, when a `</think>` appears in prose with no opening tag before it, everything before
  it (a chat template that opened the tag itself, as DeepSeek-R1 and Qwen3 templates do). A marker written as a
  chat-template token is read, never dropped as a leaked one. A closing tag written about ("`</think>`",
  "<think>...</think>" mid-line) closes nothing. gpt-oss's harmony channels leaked as text: analysis and commentary
  are reasoning, the final channel is the reply. Granite's and Apriel's plain-English phrases are reasoning only when
  one begins the reply and its closing phrase follows. A reply may hold several blocks (`<think>a</think>`, text,
  then `<think>...</think>`): each is reasoning, and what lies between and after them is the reply. A block drafted
  in reasoning closes at a fence line even with a sentence after it ("``` and that should work.").
  Reasoning is never action: no cells and no FINAL come from it.
* fenced blocks, by CommonMark's rules (spec 0.31, section 4.5): a fence is 3 or more backticks or tildes; a
  backtick fence's info string holds no backtick; the block closes at a line of the same character, at least as
  long as the opening, followed only by spaces; an unclosed block runs to the end, or, for code, to where the model
  went on to write prose (a line Python fails at that reads as a sentence). So a ````repl block can hold
  ``` lines. Blocks whose info string starts with repl, python, python3 or py are cells. rlmx departs from CommonMark
  for a code block whose code, up to its close (or up to the code fence that would end it as a close forgotten),
  leaves a triple-quoted string open (a prompt quoting a snippet between ``` lines, in a ```repl block): the block
  runs to the first later close up to which its code compiles, the only reading under which it is Python, when
  one comes before a close Python cannot get past; prose never runs, and without such a close the cut stands.
  rlmx is lenient where models are: an opening fence may be indented any amount (lists nest them, tabs count to
  4) or follow a BOM or zero-width mark, or begin a list item's content ("  - ```repl", "1. ~~~python", "- ```json",
  read as at a line's start: its closing fence sits at the item's content column); an indented fence's lines (an
  item's, or one on an
  item's continuation line) lose its column only as far as they all have it, so code a model wrote at column 0
  stays as written, or up to it each where only that compiles: a string's column-0 lines; a code fence may open at
  the end of a line of
  text ("Running it: ```repl"); a closing one may be indented up to 3 columns more, or be followed by leaked
  chat-template tokens (<|eot_id|>, </s>) or by a closing tag (```</answer>, ```</think>: the tag then ends what it
  closes). A fence in a block quote never opens a block, nor in a quote inside a list item ("1. > ```repl").
  A block's body is data: harmony headers and end tokens (`split_harmony`) and template tokens leaked at line ends
  (`_without_leaked_tokens`) are markup only outside bodies, as the parse reads them (`_Body`).
* the end of the model's turn (`_TURN`): an end-of-turn token in any chat format (`<|im_end|>`, `<|eot_id|>`,
  `</s>`, `<|END_OF_TURN_TOKEN|>`, `<seed:eos>`, `[|endofturn|]`, ...), maybe start tokens (`<s>`, `<|start|>`), then
  another turn's header naming its role (`<|im_start|>user`, `<|start_of_role|>user`, `<|USER_TOKEN|>`, `Human:`,
  `[INST]`, ...), or GLM's `<|user|>` alone on its line (its own end of turn), ends the reply there when it is the
  model's own prose: a model that generated past its turn wrote the user's next message, and nothing after it runs
  or finishes. Written about, it ends nothing: in a block (glued to the block's closing fence it is prose), in
  reasoning (a chat template's too), in an HTML comment, in an inline code span or a double-quoted string (either may
  run over lines), or right after an opening quote or bracket. An end token no header follows is dropped as a leaked
  token.
* prose: the rest. A FINAL(...), FINAL_VAR(...) or SUBMIT(k=v, ...) at the start of a prose line finishes, unless
  it is inside an HTML comment (a draft the model commented out); the last one wins. Markup may wrap it
  (`**Final Answer**: FINAL(x)`, `<answer><|begin_of_box|>FINAL(x)<|end_of_box|></answer>`), and a string argument
  may start on the next line (`FINAL(\n    "x"\n)` is x); one that builds a string from variables
  (`FINAL(f"{n} items")`), or another expression over names (`FINAL(len(items))`), is code for the REPL to fill in
  (`calls_repl`; a quoted string, a dotted name, a lambda, words joined by `not`/`and`/`in`, and an expression
  whose run fails or names a function stay text, `FINAL(input.txt)`, `text_after_all`); a bare name is the value of
  the REPL's variable of that name when one is bound (`names_variable`: `FINAL(result)`), else text
  (`FINAL(Paris)`), and so is a bound plain word the question offers as a choice (`FINAL(bob)` for "alice or
  bob?", `may_mean_the_word`). A FINAL of the template's
  placeholder (`FINAL(your answer)`) never answers, on any turn. On the last turn, the last FINAL written
  anywhere (in order, blocks that do not run included) answers, never the template's placeholder
  (`FINAL(your answer)`, `find_final_anywhere`); an answer inside answer markup
  (`<answer>x</answer>`, GLM-V's box, Sky-T1's `<|begin_of_solution|>`, Marco-o1's `<Output>`, a response wrapper)
  is the text inside, and one set out in blocks that do not run under a lead-in ("Final answer:") is their text
  (`last_turn_text`).

Every step is linear in the reply's length (regex scans plus one walk over the matches), so a megabyte of
adversarial text parses in well under a second.
"""

from __future__ import annotations

import ast
import asyncio
import bisect
import heapq
import io
import itertools
import keyword
import re
import textwrap
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

from rlmx.sandbox.frames import encodable

CODE_LANGUAGES = frozenset({"repl", "python", "py", "ipython", "tool_code", "python-repl", "python_repl", "jupyter"})
"""Info-string languages whose blocks run, read by `_language`: `python3.12`, `{python}`, `py3`, `python:main.py`
and `Python` are python. `tool_code` is the block Gemma 3 and Gemini write their Python in (Google's Gemma
function-calling format); `python-repl`/`python_repl` (the name of LangChain's Python REPL tool) and `jupyter` are
how models trained on agent transcripts and notebooks name a REPL's Python. A block written as a console session
(`>>>` prompts, or `pycon`) runs its input lines."""
_RUNS = CODE_LANGUAGES | {"pycon"}

_MARKUP_TAGS = (
    ("<think>", "</think>"),  # DeepSeek-R1, Qwen3, QwQ, and most open reasoning models
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("<reflection>", "</reflection>"),  # Reflection-70B
    ("<thought>", "</thought>"),  # EXAONE Deep
    ("<seed:think>", "</seed:think>"),  # ByteDance Seed-OSS
    ("[THINK]", "[/THINK]"),  # Mistral's Magistral
    ("\u25c1think\u25b7", "\u25c1/think\u25b7"),  # Kimi k1.5 and Kimi-VL-Thinking: ◁think▷ ... ◁/think▷
    ("<|begin_of_thought|>", "<|end_of_thought|>"),  # Sky-T1, Bespoke-Stratos, OpenThinker
    ("<|START_THINKING|>", "<|END_THINKING|>"),  # Cohere Command A Reasoning
    ("<|channel>thought", "<channel|>"),  # Gemma 4 (its thought channel; the bars are lopsided)
    ("<mm:think>", "</mm:think>"),  # MiniMax-M3
    ("<|inner_prefix|>", "<|inner_suffix|>"),  # Swiss AI Apertus
    ("<|think|>", "<|end|><|begin|>assistant<|content|>"),  # Upstage Solar Open
)
_CLOSING_FORMS = {
    # Solar Open's parsers end its reasoning at <|content|>, with or without the <|end|><|begin|>assistant before it
    # (alone, it ends the empty reasoning a template prefilled for a low reasoning effort).
    "<|end|><|begin|>assistant<|content|>": r"(?:<\|end\|>(?:<\|begin\|>assistant)?)?<\|content\|>",
}
"""Closing markers written more than one way: the pattern of every way."""
REASONING_PHRASES = (
    ("Here is my thought process:", "Here is my response:"),  # IBM Granite 3.2 with thinking on
    ("Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]"),  # ServiceNow Apriel (the template opens it)
)
"""Plain-English pairs some models mark their reasoning with. Any model may head a section "Here is my thought
process:", so an opening phrase is reasoning only as those models write it: it begins the reply and its own
closing phrase follows (`_leading_phrase`); anywhere else, or never closed, it is prose."""
REASONING_TAGS = _MARKUP_TAGS + REASONING_PHRASES
"""How models that write their reasoning as text mark it (opening, closing), matched in any case. Any closing tag
ends reasoning opened by any opening tag."""


def _opening(tag: str) -> str:
    """An opening tag's pattern: an XML-style one may carry attributes (`<think type="reflection">`)."""
    if tag.startswith("<") and tag.endswith(">") and "|" not in tag:
        return re.escape(tag[:-1]) + r"(?:\s[^<>\n]{0,200})?>"
    return re.escape(tag)


_THINK_FAMILY = r"[A-Za-z][\w.-]{0,30}[:_]think"
"""A vendor's own think tag, namespaced or prefixed (LongCat's `<longcat_think>`, `<seed:think>`, `<mm:think>`):
reasoning like `<think>`, opened where its own closing tag follows (`_unclosed_family_opening`)."""
_FAMILY_CLOSE = re.compile(rf"</({_THINK_FAMILY})>", re.IGNORECASE)
_FAMILY_OPEN = re.compile(rf"<({_THINK_FAMILY})\b", re.IGNORECASE)
OPEN_TAG = re.compile(
    "|".join([*(_opening(opening) for opening, _ in _MARKUP_TAGS), rf"<{_THINK_FAMILY}(?:\s[^<>\n]{{0,200}})?>"]),
    re.IGNORECASE,
)
CLOSE_TAG = re.compile(
    "|".join(
        [*(_CLOSING_FORMS.get(closing, re.escape(closing)) for _, closing in REASONING_TAGS), f"</{_THINK_FAMILY}>"]
    ),
    re.IGNORECASE,
)
_KNOWN_OPEN = re.compile("|".join(_opening(opening) for opening, _ in _MARKUP_TAGS), re.IGNORECASE)


def _last_family_closes(text: str) -> dict[str, int]:
    """Where the last closing tag of each think-family name starts (one scan)."""
    return {close.group(1).lower(): close.start() for close in _FAMILY_CLOSE.finditer(text)}


def _unclosed_family_opening(tag: str, end: int, closes: dict[str, int]) -> bool:
    """A think-family opening tag that is none of the known ones and whose own closing tag never follows: a tag
    like any other in prose, not the start of reasoning."""
    family = _FAMILY_OPEN.match(tag)
    return family is not None and _KNOWN_OPEN.fullmatch(tag) is None and closes.get(family.group(1).lower(), -1) < end


_PHRASE_OPENING = re.compile(
    r"[\s\ufeff\u200b\u200c\u200d\u2060]*+(?P<phrase>"
    + "|".join(re.escape(opening) for opening, _ in REASONING_PHRASES)
    + ")",
    re.IGNORECASE,
)
_PHRASE_CLOSING = {
    opening.lower(): re.compile(rf"^[ \t]*{re.escape(closing)}", re.MULTILINE | re.IGNORECASE)
    for opening, closing in REASONING_PHRASES
}
_ANY_OPENING = re.compile(f"{OPEN_TAG.pattern}|{_PHRASE_OPENING.pattern}", re.IGNORECASE)

# Two scans find every place that can change the parser's state: lines that are fence-like or open a reasoning
# block, and closing tags anywhere. Everything between two such places is plain text of the current state. (Two
# patterns, not one alternation: each scans a megabyte in milliseconds, the alternation took 10x longer.)
_LIST_ITEM = r"(?:[-+*]|\d{1,9}[.)])[ \t]++"
_ITEM_MARKERS = rf"(?:{_LIST_ITEM})*+"
"""The list-item markers that may come before a line's content ("- ", "1. ", nested "- 2) "): where the content of
a list item begins, its line begins for fences (`_LINE_EVENT`) and HTML comments (`_begins_line`) alike."""
_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d\u2060"
"""Marks that take no room: a byte-order mark, zero-width space, non-joiner, joiner, word joiner."""
_FENCE_BLANKS = "".join(char for char in map(chr, range(0x3001)) if char.isspace() and char not in "\n\r") + _ZERO_WIDTH
"""What a fence line may hold besides its fence and info string, read alike at every fence rule (opening, closing,
lenient close, hint): any space `str.strip` drops (NBSP, U+3000 too) and the zero-width marks. The model cannot see
the difference, so a closing fence followed by U+200B closes as one followed by a space does."""
_FENCE_BLANK = f"[{_FENCE_BLANKS}]"
_NO_ZERO_WIDTH = dict.fromkeys(map(ord, _ZERO_WIDTH))


def _blank(text: str) -> bool:
    """Whether a fence line's rest (a closing fence's info string) holds only `_FENCE_BLANKS`."""
    return not text.strip(_FENCE_BLANKS)


_LINE_EVENT = re.compile(
    rf"^(?P<indent>{_FENCE_BLANK}*)"
    rf"(?:(?P<item>{_ITEM_MARKERS})(?P<fence>`{{3,}}|~{{3,}})(?P<info>[^\n]*)$|(?P<open>{OPEN_TAG.pattern}))",
    re.MULTILINE | re.IGNORECASE,
)
_LINE_OPEN_TAG = re.compile(rf"^[ \t]*(?:{OPEN_TAG.pattern})", re.MULTILINE | re.IGNORECASE)
_TRAILING_CLOSE_TAG = re.compile(rf"(?:{CLOSE_TAG.pattern})\Z", re.IGNORECASE)
_ALONE_CLOSE_TAG = re.compile(rf"^[ \t]*(?:{CLOSE_TAG.pattern})[ \t]*$", re.MULTILINE | re.IGNORECASE)


class _Later:
    """Whether (and where) `pattern` matches `text` after a position; asked at increasing positions, so one scan
    serves all."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.found = pattern.finditer(text)
        self.next: int | None = -1
        self.match: re.Match[str] | None = None

    def later(self, position: int) -> bool:
        return self.after(position) is not None

    def after(self, position: int) -> re.Match[str] | None:
        """The first match that starts after `position`, or None."""
        while self.next is not None and self.next <= position:
            self.match = next(self.found, None)
            self.next = self.match.start() if self.match is not None else None
        return self.match


class _LineOpens:
    """Whether an opening tag stands before a closing tag on the tag's line (and at or after `floor`): then the close
    is that block's ("Checking. <think>a</think>"), not the end of reasoning opened before. Asked at increasing
    positions; each opening tag is looked at once, so a line of many tags is still read in linear time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.opens = OPEN_TAG.finditer(text)
        self.next = next(self.opens, None)
        self.replies = _Later(_REPLY_AFTER, text)

    def before(self, start: int, floor: int = 0) -> bool:
        last = None
        while self.next is not None and self.next.end() <= start:
            last, self.next = self.next, next(self.opens, None)
        return last is not None and last.start() >= floor and self.text.find("\n", last.end(), start) < 0

    def claim(self, close: re.Match[str], floor: int = 0) -> bool:
        """Whether the close is its line's block's (`before`) while nothing that runs follows it: a close that the
        reply proper follows (a fence or a FINAL, glued or on a later line) ends reasoning opened before, and the
        opener earlier on its line was the tag named in prose ("So I remove each <think> block first.</think>")."""
        start, end = close.span()
        if not self.before(start, floor):
            return False
        glued = _CLOSE_ENDS_REASONING.match(self.text, end)
        return not (glued is not None and glued.group().strip()) and not self.replies.later(end - 1)


_LINE_END = re.compile(r"[ \t]*(?:\n|\Z)")
_REPLY_AFTER = re.compile(
    rf"^{_FENCE_BLANK}*+(?:`{{3,}}|~{{3,}})|\b(?:FINAL_VAR|FINAL|SUBMIT){_FENCE_BLANK}?[(（]", re.MULTILINE
)
"""What runs, later in a reply: a fence line (a block) or a finishing call."""
_CLOSE_ENDS_REASONING = re.compile(r"[ \t]*(?:\n|\Z|```|~~~|(?:FINAL_VAR|FINAL|SUBMIT) ?\()")
"""What may follow a closing tag that ends reasoning a chat template opened: its line's end, or the fence or
FINAL that begins the reply proper, glued to it ("... enough.</think>```repl")."""
_UNGLUED = frozenset(" \t\n([{<'\"`")
"""Characters before a closing tag that leave it standing apart from the text before it (a mention's spacing or
brackets)."""
# A code fence at the end of a line of text ("Running it now: ```repl"), as models write it when they leave out a
# line break: an opening fence, for the code languages only.
_LATE_FENCE = re.compile(  # not after a backslash: in "\```repl" the backtick is escaped (CommonMark 2.4)
    rf"(?<=[^\s`~\\{_ZERO_WIDTH}]){_FENCE_BLANK}*(?P<fence>`{{3,}})(?P<info>(?:"
    + "|".join(sorted(CODE_LANGUAGES, key=len, reverse=True))  # the longest first: python before py
    + rf")[0-9.]*{_FENCE_BLANK}*)$",
    re.M | re.I,
)
_DRAFT_INFO = re.compile(
    rf"{_FENCE_BLANK}*+(?:[{{.]*+[A-Za-z_]\S*+(?:[ \t]++(?:[{{.#]\S*+|[^\s=]++=(?:\"[^\"\n]*+\"|'[^'\n]*+'|\S*+)))*+)?"
    rf"{_FENCE_BLANK}*+"
)
"""The info string of a fence that opens or closes a block drafted in reasoning: none, or a language with only
attributes after it (`python3.12`, `{python}`, `python title="a.py"`, `{r, echo=FALSE}`), never a sentence."""
_QUOTE_LEAD = re.compile(rf"[ \t]*+(?:{_LIST_ITEM})*+>")
"""The start of a line in a block quote, the quote maybe inside list items ("> ", "1. > ", "- > ", CommonMark 5.2)."""
_LANGUAGE = re.compile(rf"[{{.\s{_ZERO_WIDTH}]*([A-Za-z_][A-Za-z_+#-]*)")
# A line that ends a block whose closing fence never came (the model glued it to the code, or closed a ```` block
# with ```): used only when the block would otherwise run to the end of the reply.
_BARE_OR_CODE_FENCE = re.compile(
    rf"^{_FENCE_BLANK}*+```++{_FENCE_BLANK}*+(?P<info>[^\n`]*?){_FENCE_BLANK}*$", re.MULTILINE
)
_FENCE_AT_LINE_END = re.compile(rf"(?P<fence>`{{3,}}+|~{{3,}}+){_FENCE_BLANK}*+$", re.MULTILINE)
_SESSION_START = re.compile(r"(?:>>>|In ?\[\d+\]:)(?: |$)")
"""The first line of an interactive session's transcript: a `>>>` prompt or IPython's `In [1]:` (never a continuation:
a block opening with `...` is code, Python's Ellipsis)."""
_CONSOLE_INPUT = re.compile(r"(?:>>>|\.\.\.)(?: |$)")
"""An input line of a `>>>` session, by its prompt: `>>>` or `...`."""
_IPYTHON_INPUT = re.compile(r"In ?\[\d+\]:(?: |$)|[ \t]*+\.\.\.+:(?: |$)")
"""An input line of an IPython session: `In [n]:`, or `   ...:` (indented to align with `In [n]:`'s colon). In
either kind of session any other line is output (`Out[n]:` and what it shows, or what was printed), and so is a line
with the other kind's prompt: a `>>>` session printing IPython's prompts (a notebook's text) shows them."""
_MARKER_TOKENS = "|".join(
    sorted({end.group(1) for pair in _MARKUP_TAGS for tag in pair if (end := re.search(r"<\|(\w+)\|>\Z", tag))})
)
"""The names of the `<|name|>` tokens that end a reasoning marker (<|inner_suffix|>, Solar Open's <|content|>):
where one ends a line, it is the parse's to read, not a leaked token to drop."""
# Chat-template tokens a server leaks as text (<|eot_id|>, <|im_end|>, <|end|>, </s>): never part of the reply.
# The reasoning markers written in the same form are not among them.
_SPECIAL_TOKENS = re.compile(  # starts at a run of blanks' first one only, and never backtracks: linear
    rf"(?<![ \t])(?:[ \t]*+(?:<\|(?!(?:{_MARKER_TOKENS})\|>)[A-Za-z0-9_]{{1,40}}\|>"
    r"|</s>|<(?:end_of_turn|start_of_turn|eos|end_of_utterance)>"  # Gemma's, SmolVLM's
    r"|<turn\|>|<\|turn>|\[END FINAL RESPONSE\]|</response>"  # Gemma 4's, Apriel's, Granite 3.3's and ERNIE's
    r"|<\uff5c[^\uff5c\n]{1,40}\uff5c>))++[ \t]*+$",  # DeepSeek's full-width <｜end▁of▁sentence｜>
    re.MULTILINE | re.IGNORECASE,
)
_ROLE = r"(?:user|human|system|assistant|model|ai|chatbot|bot|observation|tool|ipython)"
_ENDS = r"(?=[^\s<>|\[\]\uff5c]{0,40}?(?:end|eo[mst]|return|sep))"  # a token name saying the turn or text ends
_END_TOKEN = (
    rf"(?:<[|\uff5c]{_ENDS}[^\s<>|\uff5c]{{1,40}}[|\uff5c]>"  # <|im_end|>, <|eot_id|>, <|return|>
    r"|<(?:[a-z]{1,12}:)?(?:eos|eot|sep|end|end_of_[a-z_]{1,30}|endof[a-z_]{1,20})>"  # <seed:eos>, <end_of_turn>
    rf"|\[\|{_ENDS}[^\s|\[\]]{{1,40}}\|\]"  # EXAONE's [|endofturn|]
    r"|<turn\|>|\[e~\[)"  # Gemma 4, MiniMax
)
"""An end-of-turn token of any chat format, written as a special token is: in a chat bracket style (DeepSeek's
<｜end▁of▁sentence｜> too, however distorted: GLM-5 writes its letters full-width), or a plain tag whose whole name
is one (<eos>, <sep>, <end_of_turn>). Never an HTML or XML tag whose name merely holds "end" (<sender>, <legend>,
<Return>). Llama 2's </s> is apart (`_TURN`): HTML writes it too."""
_START_TOKEN = (  # <|im_start|>, <|start|>, <|start_of_role|>, <s>, <seed:bos>, <start_of_turn>, MiniMax's ]~b]
    r"(?:<[|\uff5c][^\s<>|\uff5c]{1,40}[|\uff5c]>|<(?:[a-z]{1,12}:)?(?:s|bos|start|start_of_turn)>|\]~b\])"
)
_ROLE_NAME = rf"(?:[a-z]{{1,12}}_)?{_ROLE}(?:_[a-z]{{1,12}})?"  # user, USER_TOKEN, user_start, im_user
_ROLE_TOKEN = rf"(?:<\|{_ROLE_NAME}\|>|\[\|{_ROLE_NAME}\|\]|<\uff5c{_ROLE_NAME}\uff5c>)"
_TOKEN_HEADER = (  # a header written in tokens: start tokens then a role, or a role token
    rf"(?:(?:{_START_TOKEN}\s*+){{1,3}}?(?:{_ROLE_TOKEN}|\[INST\]|(?<=[>\]]){_ROLE}\b)|{_ROLE_TOKEN}|\[INST\])"
)
_HEADER = rf"(?:{_TOKEN_HEADER}|(?:[a-z0-9]{{1,12}} ){{0,2}}{_ROLE}[ \t]*+:)"
_NEXT_LINE = r"[ \t]*+\n(?:[ \t]*+\n)*+"
"""The end of the line an end token ends, and blank lines: the next turn's header then starts a line (column 0; an
indented one continues a list item)."""
_TURN = re.compile(
    rf"{_END_TOKEN}(?:{_NEXT_LINE}|[ \t]*+){_HEADER}"
    rf"|</s>(?:{_NEXT_LINE}{_HEADER}|[ \t]*+{_TOKEN_HEADER})"  # "<s>struck</s> user: Bob" is HTML
    rf"|(?<![^\n])(?P<alone><\|{_ROLE}\|>)(?=[ \t]*+\n)",
    re.IGNORECASE,
)
"""Where another turn begins, in any chat format's tokens: an end-of-turn token, then a header naming a role (maybe
after start tokens) glued to it or starting the next line; or GLM's header token alone on its line (`<|user|>` is
itself GLM's end of turn). A model that generated past its turn's end wrote the user's next message (and maybe its
own reply to it), which the server should have stopped."""
_OPENS_TURN = re.compile(_TOKEN_HEADER, re.IGNORECASE)
_ASSISTANT_ROLE = re.compile(r"assistant|model|chatbot|(?<![a-z])(?:ai|bot)(?![a-z])", re.IGNORECASE)
_CLOSE_GLUED_TO_FENCE = re.compile(
    rf"^(?P<fence>{_FENCE_BLANK}*+(?:`{{3,}}+|~{{3,}}+)){_FENCE_BLANK}*+"
    rf"(?=</[A-Za-z][\w:.-]{{0,40}}>|<end_(?:code|action)>|{CLOSE_TAG.pattern}|{_TURN.pattern})",
    re.MULTILINE | re.IGNORECASE,
)
"""A closing tag or a turn marker glued to a fence (```</answer>, ```</think>, ```</think>```repl, ```<|im_end|>), as
models whose closing tag or end of turn is one token write it: CommonMark would read the tag as the info string of a
fence that closes nothing. No info string starts with either, so the fence is a close and the tag ends what it ends
on the next line. So does an agent framework's end-of-code marker: smolagents' CodeAgent ends its code with
```<end_code> (and with ```<end_action> before 1.0, as transformers' agents did)."""
# gpt-oss's harmony format, leaked raw by a server without its parser: `<|channel|>analysis<|message|>...<|end|>`.
_HARMONY_HEADER = re.compile(
    r"(?:<\|start\|>[^<\n]{0,80})?<\|channel\|>(?P<channel>[A-Za-z]{1,20})[^<\n]{0,200}"
    r"(?:<\|constrain\|>[^<\n]{0,80})?<\|message\|>"
)
_STRIPPED_HARMONY = re.compile(
    r"\s*analysis(?P<analysis>(?=[A-Z])(?:.*?assistantfinal|.*)|.*?assistantfinal)", re.DOTALL
)
"""gpt-oss's harmony with its special tokens stripped (text-generation-webui#7374: "analysisThe user asks ...
assistantfinalHello!"): the analysis channel, then the final one, at the start of the reply. Analysis glued to a
capital ("analysisThe user ...") with no final channel is a reply cut inside its analysis: all reasoning."""
_HARMONY_END = re.compile(r"<\|(?:end|return|call)\|>")
# FINAL at the start of a prose line, maybe after markup models put before it: `FINAL(x)`, **FINAL(x)**, "Final
# answer: FINAL(x)" (the colon inside the bold or outside: "**Final Answer**: FINAL(x)"), ReAct's label for the step
# taken, "Action: FINAL(x)" (numbered as in the ReAct paper's prompts: "Action 3:", "Act 3:"), <answer>FINAL(x)</answer>
# (Hunyuan; GLM-V boxes it too: <answer><|begin_of_box|>FINAL(x)<|end_of_box|></answer>),
# <response>FINAL(x)</response> (Granite 3.3, ERNIE 4.5), <|START_RESPONSE|>FINAL(x) (Cohere). After such markup,
# only closing markup may follow the call on its line ("`FINAL(x)` is how I will finish" is written about it).
# Possessive throughout: a line of markup that never reaches FINAL( fails at once instead of backtracking.
_BLANK = "[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]"
"""A space within a line, as models write it: Unicode's spaces too (U+00A0 for a space, U+202F before a French
colon, the ideographic U+3000), not the line separators."""
_CJK_LABELS = "最终答案|最終答案|最终回答|最終回答|答案|答え|回答|최종 ?답변|최종 ?답|정답|답변"
""""Final answer" and "answer" as Chinese, Japanese and Korean models write them before their answer (最终答案：)."""
_PROSE_FINAL = re.compile(
    rf"^(?:{_BLANK}|[\ufeff\u200b\u200c\u200d\u2060])*+"  # a byte-order or zero-width mark may lead the line
    r"(?P<prefix>(?:(?:\*\*|__|`++|[*_]|#++|\d{1,3}[.)]|[-+]|<answer>|<response>|<\|[A-Za-z_]{1,40}\|>"
    rf"|(?i:(?:\*\*)?(?:final{_BLANK}++answer|answer|final|result|act(?:ion)?+(?:{_BLANK}*+\d{{1,3}})?+|{_CJK_LABELS})[*_]{{0,2}}+"
    rf"{_BLANK}*+[:\uff1a\ufe55](?:\*\*)?))"  # a colon, or the full-width or small one
    rf"{_BLANK}*+)*+)"
    rf"(?P<kind>FINAL_VAR|FINAL|SUBMIT){_BLANK}?(?P<paren>[(（])",
    re.MULTILINE,
)
_WRAPPED = re.compile(r"(?s)^(`+|\*\*|\*|__|_)(?P<inner>.+)\1$")
_QUOTED = re.compile(
    r"^(?:“(?P<a>[^”]+)”|‘(?P<b>[^’]+)’|«\s?(?P<c>[^»]+?)\s?»|„(?P<d>[^“”]+)[“”]|「(?P<e>[^」]+)」|『(?P<f>[^』]+)』)$"
)
"""Typographic quotes around a prose FINAL's whole argument (a model writing FINAL(“gamma”) means gamma)."""
_CLOSING_MARKUP = re.compile(
    rf"(?:{_BLANK}|[`*_.!])*+(?:(?:</answer>|</response>|<\|[A-Za-z_]{{1,40}}\|>)(?:{_BLANK}|[`*_.!])*+)*+(?:\n|\Z)"
)
"""What may follow a FINAL written after markup, on its line: the markup's closings (GLM-V's box inside its answer
tag: `<answer><|begin_of_box|>FINAL(x)<|end_of_box|></answer>`)."""
_STRING_START = re.compile(r"\s*+(?:[rRuUfFbB]{1,2})?('''|\"\"\"|'|\")")
"""Where a FINAL's string argument starts: maybe on a line of its own, as formatters lay out a long call."""
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
    literal: bool = field(default=False, compare=False)
    """A FINAL of a quoted string (`FINAL("input.txt")`): text by any reading, never run once unquoted."""

    @property
    def computed(self) -> bool:
        """Whether the REPL runs this FINAL's argument for its value (`calls_repl`); a quoted string it never does."""
        return self.kind == "final" and not self.literal and calls_repl(self.argument)

    @property
    def names_variable(self) -> bool:
        """Whether this FINAL's whole argument is one bare name, unquoted (`FINAL(result)`, `FINAL( result )`,
        `FINAL(`result`)`): the REPL's variable of that name when one is bound (read as FINAL_VAR reads it), else
        the text (`FINAL(Paris)`)."""
        name = self.argument
        return self.kind == "final" and not self.literal and name.isidentifier() and not keyword.iskeyword(name)

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
    open_block: bool = False
    """The reply ended inside a code block (its closing fence never came): cut short, when the reply hit its cap."""
    cells_before_final: int = 0
    """How many of `cells` come before the prose FINAL (or, when there is none, the `placeholder`) in the reply."""
    open_reasoning: bool = False
    """The reply ended inside a reasoning block it never closed (cut short, or the close was forgotten)."""
    other_blocks: tuple[str, ...] = ()
    """The bodies of fenced blocks that do not run (```text, untagged, output), in order."""
    other_languages: tuple[str, ...] = ()
    """The language of each of `other_blocks` ("" for an untagged block): named to a model whose reply ran nothing."""
    leading_reasoning: int = 0
    """Where the reasoning that begins the (normalised) reply ends, its closing tag included; 0 when it begins
    with none (`split_reasoning`)."""
    overran_chars: int = 0
    """Characters (of the tidied reply) after the end of the model's own turn that were not read (`_TURN`: an
    end-of-turn token, then the header of a turn the model made up); 0 when the reply kept to its turn."""
    trailing_blocks: tuple[str, ...] = ()
    """The bodies of the blocks that do not run after the reply's last prose, in order: on the last turn, an answer
    set out under a lead-in ("Final answer:", then a ```text block) is theirs (`last_turn_text`)."""
    in_order: tuple[tuple[str, bool], ...] = ()
    """The prose segments and the bodies of the blocks that do not run, in the order written, each with whether it is
    a block's: the last turn reads its answer from them, the last one written winning (`find_final_anywhere`)."""
    placeholder: ProseFinal | None = None
    """The last FINAL line of the template's placeholder (`FINAL(your answer)`), when no real one comes after it: never
    an answer (`final` skips it); mid-run the model is told why it did not finish."""
    drafted: bool = False
    """A block of a language that runs was opened inside a reasoning block of the text (any of them, not only a leading
    one): never run; when the reply runs nothing, the model is told its code stood there."""


def _indent(whitespace: str) -> int:
    """Columns of a line's indentation: tabs to multiples of 4 (CommonMark's tab stop), zero-width marks none."""
    return len(whitespace.translate(_NO_ZERO_WIDTH).expandtabs(4))


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
    text, reasoning = _harmony(_normal(text))
    text, reasoning = _template_opened(_tidied(text), reasoning)
    return _parse(text, reasoning, lenient=True)


def _normal(text: str) -> str:
    """The text with lone surrogates replaced (`frames.encodable`) and every line ending a line feed."""
    return encodable(text).replace("\r\n", "\n").replace("\r", "\n")


def _tidied(text: str) -> str:
    """The text without leaked template tokens (but with those that begin another turn: where the reply ends is
    the parse's to read), and with each closing tag or turn marker glued to a fence on a line of its own."""
    if "<" in text or "[END" in text:
        text = _without_leaked_tokens(text)
    if "```" in text or "~~~" in text:
        text = _CLOSE_GLUED_TO_FENCE.sub(r"\g<fence>\n", text)
    return text


_LEADING_BLANKS = re.compile(r"\s*+")


def _turn_markers(text: str) -> Iterator[re.Match[str]]:
    """The `_TURN` matches of `text`, but a header token alone at its very start: that is the model's own turn's
    header, echoed."""
    lead = _LEADING_BLANKS.match(text)
    echoed = lead.end() if lead is not None else 0
    return (turn for turn in _TURN.finditer(text) if not (turn.group("alone") and turn.start() <= echoed))


def _without_leaked_tokens(text: str) -> str:
    """`text` without the template tokens a server leaked at line ends (`_SPECIAL_TOKENS`), but those of a turn
    marker (`_turn_markers`): the parse reads those, as the end of the reply or as text written about. Nor those
    inside a fenced block's body (`_in_bodies`): a block is data (a training record ending in `<|endoftext|>`, HTML's
    `<s>10</s>` at a line's end); there only the runs ending the reply (`_trailing_runs`) are leaked (audit 81 kinds
    v02; review 81b F4: two tokens on lines of their own ended an open cell, and the first ran as code)."""
    turns = [turn.span() for turn in _turn_markers(text)]  # apart and in order, so their ends are in order too
    ends = [end for _, end in turns]
    runs: list[tuple[int, int]] = []
    for run in _SPECIAL_TOKENS.finditer(text):
        at = bisect.bisect_right(ends, run.start())  # the first marker ending after the run starts
        if not (at < len(turns) and turns[at][0] < run.end()):
            runs.append(run.span())
    if not runs:
        return text
    stripped = _cut(text, runs)
    if "```" not in text and "~~~" not in text:
        return stripped
    last = _trailing_runs(text, runs)  # runs ending the reply are leaked wherever they stand
    data = _in_bodies(stripped, runs)
    kept = [run for index, (run, inside) in enumerate(zip(runs, data, strict=True)) if not inside or index >= last]
    return stripped if len(kept) == len(runs) else _cut(text, kept)


def _trailing_runs(text: str, runs: list[tuple[int, int]]) -> int:
    """The index of the first of `runs` (ordered, apart) in the reply's trailing stretch: from it on, only those runs
    and blanks follow (`print(1)<|im_end|>\n<|endoftext|>`, Gemma's `<end_of_turn>\n<eos>`); `len(runs)` when no
    run ends the reply."""
    first, end = len(runs), len(text.rstrip())
    while first > 0 and runs[first - 1][1] >= end:
        first -= 1
        end = runs[first][0]
        while end > 0 and text[end - 1].isspace():
            end -= 1
    return first


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the (ordered, apart) `spans`."""
    pieces, position = [], 0
    for start, end in spans:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _in_bodies(stripped: str, runs: list[tuple[int, int]]) -> list[bool]:
    """For each of `runs` (ordered, apart) cut out of a text to leave `stripped`, whether it stood inside the body of
    a fenced block as `parse_reply` reads `stripped` (closing tags glued to fences set apart first)."""
    glued = list(_CLOSE_GLUED_TO_FENCE.finditer(stripped))
    tidied = _CLOSE_GLUED_TO_FENCE.sub(r"\g<fence>\n", stripped)
    bodies: list[_Body] = []
    _parse(tidied, 0, lenient=True, bodies=bodies)
    starts = [body.start for body in bodies]
    inside, removed, shift, next_glued = [], 0, 0, 0
    for start, end in runs:
        point = start - removed  # where the run stood, in `stripped`
        removed += end - start
        while next_glued < len(glued) and glued[next_glued].end() <= point:
            match = glued[next_glued]
            shift += len(match.group("fence")) + 1 - (match.end() - match.start())
            next_glued += 1
        at = point + shift  # ... and in `tidied`
        body = bisect.bisect_right(starts, at) - 1
        inside.append(body >= 0 and bodies[body].start <= at < bodies[body].end)
    return inside


def split_reasoning(text: str) -> tuple[str, str]:
    """`split_reasoning_counted` without the count of characters cut."""
    answer, reasoning, _ = split_reasoning_counted(text)
    return answer, reasoning


def split_reasoning_counted(text: str) -> tuple[str, str, int]:
    """(answer, reasoning, characters cut) of a reply, read as `parse_reply` reads it: its line ends and leaked
    template tokens normalised, cut where the model ran on into a turn it made up (`_TURN`), and the reasoning that
    begins it apart: a block opened at its start (any of `REASONING_TAGS`) up to the closing tag that ends it (not
    one in quotes, code or a drafted block), or all before the closing tag of one a chat template opened; a block
    never closed is all
    reasoning. Reasoning further on stays in the answer, where `parse_reply` reads it. A reply none of this touches
    comes back as it came. A reply with no reasoning tag is data (`_read_as_data`)."""
    normal = _normal(text)
    if OPEN_TAG.search(normal) is None and CLOSE_TAG.search(normal) is None:
        return _read_as_data(normal)
    normal = _tidied(normal)
    opened = template_close(normal)
    skipped = opened.end() if opened is not None else 0
    parsed = _parse(normal[skipped:], 0, lenient=True)
    overran = parsed.overran_chars
    own = normal[: len(normal) - overran].rstrip() if overran else normal
    end = skipped + parsed.leading_reasoning
    if end == 0:
        return own, "", overran
    thought = normal[:end].strip()
    opening = _ANY_OPENING.match(thought)
    closing = _TRAILING_CLOSE_TAG.search(thought)
    thought = thought[opening.end() if opening else 0 : closing.start() if closing else len(thought)]
    return own[end:].lstrip(), thought.strip(), overran


_TRAILING_END_TOKENS = re.compile(rf"(?:[ \t]*+(?:{_END_TOKEN}|</s>))++[ \t]*+\Z", re.IGNORECASE)


def _read_as_data(text: str) -> tuple[str, str, int]:
    """(answer, "", characters cut) of a reply with no reasoning tag, read for its content (a sub-call's answer):
    what the model wrote, but a run-on into a made-up turn cut and end tokens leaked at its very end dropped. Text
    that opens a turn itself (a header before any end token: ChatML, `<s>[INST]`, asked for as data) is no run-on
    and comes back whole, as do tags a root reply's reading drops at line ends (`</response>`, `</s>`)."""
    turn = next(_turn_markers(text), None)
    if turn is not None and _OPENS_TURN.search(text, 0, turn.start()) is not None:
        return text, "", 0
    overran = 0
    if turn is not None:
        apart = _CLOSE_GLUED_TO_FENCE.sub(r"\g<fence>\n", text) if "```" in text or "~~~" in text else text
        overran = _parse(apart, 0, lenient=True).overran_chars
        text = apart[: len(apart) - overran].rstrip() if overran else text
    trailing = _TRAILING_END_TOKENS.search(text)
    if trailing is not None and not (trailing.group().strip().lower() == "</s>" and "<s>" in text.lower()):
        text = text[: trailing.start()]
    return text, "", overran


def _parse(text: str, reasoning: int, *, lenient: bool, bodies: list[_Body] | None = None) -> Reply:
    """`parse_reply` over normalised text. `lenient`: a block left open is closed at a line that nearly closes it.
    `bodies`, when given, receives each fenced block's body as read (`_Body`, in `text`'s positions, in order)."""
    found_bodies: list[_Body] = [] if bodies is None else bodies
    blocks: list[tuple[str, str]] = []  # (code, language)
    prose: list[str] = []
    prose_blocks: list[int] = []  # how many blocks came before each prose segment

    def keep(segment: str) -> None:
        prose.append(segment)
        prose_blocks.append(len(blocks))

    state: Literal["prose", "fence", "think"] = "prose"
    prose_start = 0
    think_start = think_opened = 0
    seen_think = think_fence = drafted = False
    depth = 0
    nested_lines: list[int] = []  # where the lines of the opening tags counted into `depth` past 1 start
    leading = 0  # where reasoning that begins the text ends (0: it begins with none)
    think_leads = False  # the open reasoning block began the text
    _alone_closes = _Later(_ALONE_CLOSE_TAG, text)
    line_opens = _Later(_LINE_OPEN_TAG, text)
    own_opens = _LineOpens(text)
    reasoning_tags = _Later(_REASONING_TAG, text)
    family_closes = _last_family_closes(text)
    mentions = _Mentions(text)
    comments = _Comments(text)
    assistant_turns = _assistant_turns(text)
    code_checks = iter([True] * _LENIENT_TRIES)  # each scans ahead: a bounded number keeps the parse linear
    string_cuts = _StringCuts(text)
    fence_char, fence_len, fence_indent, fence_lang, body_start = "", 0, 0, "", 0
    consumed = overran = 0
    events = heapq.merge(
        _leading_phrase(text),
        _LINE_EVENT.finditer(text),
        CLOSE_TAG.finditer(text),
        _LATE_FENCE.finditer(text),
        _turn_markers(text),  # last: a closing marker at the same place (Solar Open's) is read as one
        key=_start,
    )
    for match in events:
        start, end = match.start(), match.end()
        if start < consumed:
            continue  # a tag inside a fence line: part of that line
        if match.re is _TURN:
            if (
                state == "prose"
                and not (comments.inside(start, prose_start) or mentions.written_about(start, prose_start))
                and (
                    seen_think
                    or not _ends_template_reasoning(text, reasoning_tags.after(end))
                    or _made_up_answer_between(assistant_turns, end, reasoning_tags.after(end))
                )
            ):
                overran, text = len(text) - start, text[:start]  # the model's turn ended here: the rest is unread
                break
            continue  # in a block, in reasoning, or written about in prose: text like any other
        if match.re is _LATE_FENCE:
            if state == "think" and not think_fence:
                think_fence = True  # a block drafted in the reasoning ("I could run: ```repl"): its close is a line
                drafted = drafted or _language(match.group("info")) in _RUNS
                continue
            if state != "prose" or _QUOTE_LEAD.match(text, text.rfind("\n", 0, start) + 1, start):
                continue  # text in a block or in reasoning, or a block quoted ("> ```repl", "1. > ```repl")
            if comments.inside(start, prose_start):
                continue
            keep(text[prose_start:start])
            fence_char, fence_len, fence_indent = "`", len(match.group("fence")), 0
            fence_lang, body_start, state = _language(match.group("info")), min(end + 1, len(text)), "fence"
            consumed = end
            continue
        consumed = end
        if match.re is _LINE_EVENT and match.group("fence") is not None:
            fence, info, item = match.group("fence"), match.group("info"), match.group("item")
            indent = _indent(match.group("indent") + item)  # an item's fence: the item's content column
            if state == "think" and not (fence[0] == "`" and "`" in info) and _DRAFT_INFO.fullmatch(info):
                # A block drafted in the reasoning: a closing tag inside it must stand alone. A fence that begins a
                # list item only opens one (a closing fence is never a list item's content). One followed by a
                # sentence ("- ```repl blocks run code") is a fence written about, and drafts nothing.
                think_fence = True if item else not think_fence
                drafted = drafted or (think_fence and _language(info) in _RUNS)
            elif state == "think" and think_fence and not item and info.strip() and info.lstrip()[:1] != "`":
                # "``` and that should work": the draft's close, a sentence after it on its line, maybe ending the
                # reasoning too ("``` and that works.</think>"): that closing tag is read as any other is.
                think_fence = False
                tag = CLOSE_TAG.search(text, end - len(info), end)
                consumed = tag.start() if tag is not None else end
            if state == "prose":
                if fence[0] == "`" and "`" in info:
                    continue  # ```inline``` code on one line, not a fence
                if comments.inside(start, prose_start):
                    continue  # in an HTML comment (a draft the model commented out): raw text, no fence opens
                keep(text[prose_start:start])
                fence_char, fence_len, fence_indent = fence[0], len(fence), indent
                fence_lang = _language(info)
                body_start = min(end + 1, len(text))
                state = "fence"
            elif state == "fence" and (
                (closes := not item and _closes(fence, info, indent, fence_char, fence_len, fence_indent))
                or _reopens(fence, info, fence_char, fence_len, fence_lang, text, (start, end), body_start)
            ):
                # A close, or a code fence that ends a block the model forgot to close. Either may stand inside a
                # string the block's code left open (a prompt quoting a ``` snippet): then the block closes at the
                # later close up to which its code compiles, when one does.
                block = (fence_char, fence_len, fence_indent, fence_lang)
                joined = string_cuts.close(body_start, (start, end), block)
                if joined is not None or closes:
                    start, end = joined if joined is not None else (start, end)
                    blocks.append((_cell_code(text[body_start:start], fence_indent, fence_lang), fence_lang))
                    found_bodies.append(_Body(body_start, start, fence_lang, blocks[-1][0]))
                    prose_start = min(end + 1, len(text))
                    consumed, state = end, "prose"
                    continue
                # "```repl" inside an open ```repl block: the model forgot to close the first one (a code line is
                # never a fence, and a string holding one would have been cut at its closing ``` already).
                code = _without_trailing_prose(_cell_code(text[body_start:start], fence_indent, fence_lang))
                blocks.append((code, fence_lang))
                found_bodies.append(_Body(body_start, start, fence_lang, code))
                keep("")
                fence_indent, fence_lang = indent, _language(info)
                body_start = min(end + 1, len(text))
        elif match.re is _LINE_EVENT and _unclosed_family_opening(match.group("open"), end, family_closes):
            continue
        elif match.re is not CLOSE_TAG:  # an opening tag, or the phrase that opens Granite's or Apriel's reasoning
            if state == "prose":
                keep(text[prose_start:start])
                think_leads = prose_start == leading and not blocks and not text[prose_start:start].strip()
                think_start, think_opened, seen_think, state = start, end, True, "think"
                think_fence, depth = False, 1
                nested_lines.clear()
            elif state == "think" and not think_fence:
                depth += 1  # reasoning opened again inside reasoning: it ends when both are closed
                nested_lines.append(text.rfind("\n", 0, start) + 1)
        elif (
            state == "fence"
            or (state == "think" and think_fence and not _alone_on_its_line(text, start, end))
            or (
                state == "think"
                and not _alone_on_its_line(text, start, end)
                and _alone_closes.later(start)
                and not (next(code_checks, False) and _only_code_holds_a_later_close(text, end))
                and not _opens_first(line_opens.after(end), _alone_closes.after(start))
            )
            or mentions.mentioned(start, end, think_opened if state == "think" else 0)
        ):
            # A closing tag inside a block (drafted ones too), or one written about: in quotes or backticks
            # ("`</think>`"), or sharing its line with other text while one alone on its line comes later, unless a
            # new block opens at a line's start before that later one ("<think>a</think>", then "<think>" ...
            # "</think>": models repeat reasoning blocks, and each close ends its own).
            if state == "think" and nested_lines and nested_lines[-1] == text.rfind("\n", 0, start) + 1:
                # ...but one closing a block opened again on its own line ("<think>inner</think>" inside
                # reasoning) closes that block: the open was counted, so is its close (audit 80 kinds v02).
                nested_lines.pop()
                depth -= 1
            continue
        elif state == "think" and depth > 1:
            depth -= 1
            if nested_lines:
                nested_lines.pop()
        elif state == "think":  # a closing tag
            reasoning += end - think_start
            prose_start, state = end, "prose"
            leading = end if think_leads else leading
        elif (
            not seen_think
            and not _opened_by_the_model(match.group(0))
            and (_CLOSE_ENDS_REASONING.match(text, end) or (start > 0 and text[start - 1] not in _UNGLUED))
            and not own_opens.claim(match, prose_start)  # "Checking. <think>a</think>": that block's close
        ):
            # A </think> ending its line, glued to the fence or FINAL that begins the reply proper, or glued to the
            # reasoning's last word ("... it</think>42"), with no opening tag before it: the chat template opened
            # the tag, so all before it was reasoning, drafted FINAL lines included. (One standing between blanks
            # with text after it on its line is a mention in prose: "after the </think> tag I answer".)
            reasoning += end
            blocks.clear()
            prose.clear()
            prose_blocks.clear()
            seen_think = True
            prose_start = leading = end
        elif seen_think:
            keep(text[prose_start:start])
            prose_start = end
    if state == "fence" and lenient:
        closed = _closed_leniently(text, body_start, fence_char, fence_len)
        if closed is not None:
            return _reparsed(text, closed, reasoning, found_bodies)
        closed = _closed_before_prose(text, body_start, fence_char * fence_len, fence_indent, fence_lang)
        if closed is not None:  # still a block whose close never came: cut at the cap, it does not run
            return replace(_reparsed(text, closed, reasoning, found_bodies), open_block=True)
    if state == "prose":
        keep(text[prose_start:])
    elif state == "fence":
        blocks.append((_cell_code(text[body_start:], fence_indent, fence_lang), fence_lang))
        found_bodies.append(_Body(body_start, len(text), fence_lang, blocks[-1][0]))
    else:
        reasoning += len(text) - think_start
        leading = len(text) if think_leads else leading
    found, placeholder = _prose_final(prose)
    final, segment, _ = found if found is not None else (None, 0, 0)
    if placeholder is not None and found is None:
        segment = placeholder[1]
    kept = _runnable(blocks)
    return Reply(
        cells=tuple(code for code, _ in kept),
        final=final,
        prose="\n".join(p.strip("\n") for p in prose if p.strip()),
        reasoning_chars=reasoning,
        open_block=state == "fence" and fence_lang in _RUNS,
        open_reasoning=state == "think",
        other_blocks=tuple(code for code, language in blocks if language not in _RUNS and code.strip()),
        other_languages=tuple(language for code, language in blocks if language not in _RUNS and code.strip()),
        cells_before_final=len(_runnable(blocks[: prose_blocks[segment]])) if found or placeholder else 0,
        leading_reasoning=leading,
        overran_chars=overran,
        trailing_blocks=_trailing_blocks(blocks, prose, prose_blocks),
        in_order=_in_order(blocks, prose, prose_blocks),
        placeholder=placeholder[0] if placeholder is not None and found is None else None,
        drafted=drafted,
    )


class _Body(NamedTuple):
    """A fenced block's body as `_parse` read it: `text[start:end]` (`end` is where its closing fence line starts,
    or the text's end for a block never closed), its language ("" untagged) and its code."""

    start: int
    end: int
    language: str
    code: str


def _reparsed(text: str, closed: str, reasoning: int, bodies: list[_Body]) -> Reply:
    """`_parse` of `closed` (`text` with a block closed leniently), `bodies` refilled in `text`'s positions: the
    two texts differ in one stretch (a closing fence written in), and a position in it maps to where it starts."""
    found: list[_Body] = []
    reply = _parse(closed, reasoning, lenient=False, bodies=found)
    same = _common_prefix(text, closed)
    tail = _common_prefix(text[same:][::-1], closed[same:][::-1])
    moved = len(closed) - len(text)

    def back(position: int) -> int:
        if position <= same:
            return position
        return max(same, position - moved) if position >= len(closed) - tail else same

    bodies[:] = [body._replace(start=back(body.start), end=back(body.end)) for body in found]
    return reply


def _common_prefix(one: str, other: str) -> int:
    """How many first characters two strings share: a binary search over slice comparisons (C speed)."""
    low, high = 0, min(len(one), len(other))
    while low < high:
        middle = (low + high + 1) // 2
        if one[:middle] == other[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


_REASONING_TAG = re.compile(f"{OPEN_TAG.pattern}|(?P<close>{CLOSE_TAG.pattern})", re.IGNORECASE)


def _opens_first(opening: re.Match[str] | None, close: re.Match[str] | None) -> bool:
    """Whether a line's opening tag comes before the closing tag `close` (which then closes that new block)."""
    return opening is not None and (close is None or opening.start() < close.start())


def _ends_template_reasoning(text: str, tag: re.Match[str] | None) -> bool:
    """Whether `tag`, the next reasoning tag after a turn marker (not one glued to its header, as Solar Open's
    `<|content|>` is), is a closing one that ends reasoning a chat template opened, as `_parse` reads one glued to a
    word ("... lines.</think>"): then the marker lies in that reasoning. Not a tag that is a turn's header too (Solar
    Open's `<|end|><|begin|>assistant<|content|>` after a made-up turn)."""
    if (
        tag is None
        or tag.group("close") is None
        or _opened_by_the_model(tag.group(0))
        or _TURN.match(text, tag.start())
    ):
        return False
    start, end = tag.span()
    return _CLOSE_ENDS_REASONING.match(text, end) is not None or (start > 0 and text[start - 1] not in _UNGLUED)


def _assistant_turns(text: str) -> list[int]:
    """Where the turn markers that open an assistant's turn start (`_TURN`: `<|im_end|>\n<|im_start|>assistant`)."""
    if "assistant" not in text.lower() and not _ASSISTANT_ROLE.search(text):
        return []
    return [turn.start() for turn in _turn_markers(text) if _ASSISTANT_ROLE.search(turn.group())]


def _made_up_answer_between(assistant_turns: list[int], start: int, tag: re.Match[str] | None) -> bool:
    """Whether a turn marker opening an assistant's turn lies between `start` and the closing tag `tag`: the close
    then ends the reasoning of the answer the model made up after a run-on, and the text before the run-on is the
    model's own turn, not reasoning (a chat template's reasoning mentions a marker; it writes no second turn)."""
    if tag is None:
        return False
    at = bisect.bisect_right(assistant_turns, start - 1)
    return at < len(assistant_turns) and assistant_turns[at] < tag.start()


def _trailing_blocks(blocks: list[tuple[str, str]], prose: list[str], prose_blocks: list[int]) -> tuple[str, ...]:
    """The bodies of the blocks that do not run after the last prose segment with text."""
    last = next((index for index in range(len(prose) - 1, -1, -1) if prose[index].strip()), None)
    after = blocks[prose_blocks[last] :] if last is not None else blocks
    return tuple(code for code, language in after if language not in _RUNS and code.strip())


def _in_order(blocks: list[tuple[str, str]], prose: list[str], prose_blocks: list[int]) -> tuple[tuple[str, bool], ...]:
    """The prose segments with text and the bodies of the blocks that do not run, in the order written."""
    pieces: list[tuple[str, bool]] = []
    done = 0
    for segment, before in [*zip(prose, prose_blocks, strict=True), ("", len(blocks))]:
        pieces.extend((code, True) for code, language in blocks[done:before] if language not in _RUNS and code.strip())
        done = before
        if segment.strip():
            pieces.append((segment.strip("\n"), False))
    return tuple(pieces)


def _leading_phrase(text: str) -> list[re.Match[str]]:
    """The phrase that opens reasoning as Granite and Apriel write it (`REASONING_PHRASES`): at the start of the reply,
    with its own closing phrase starting a line after it. None elsewhere: a header "Here is my thought process:"
    from any other model, or one never closed, is prose."""
    opening = _PHRASE_OPENING.match(text)
    if opening is None or _PHRASE_CLOSING[opening.group("phrase").lower()].search(text, opening.end()) is None:
        return []
    return [opening]


def _language(info: str) -> str:
    """A fence's language, from its info string: `Python3.12`, `{python}`, `.py`, `python:main.py` -> python, py."""
    match = _LANGUAGE.match(info)
    return match.group(1).lower() if match else ""


def _reopens(
    fence: str, info: str, char: str, length: int, language: str, text: str, span: tuple[int, int], body_start: int
) -> bool:
    """An opening fence for code, the open block's own length, inside an open code block: a forgotten close. Not
    when two bare closing fences follow before the next code fence: then it opens a snippet quoted in the block's
    code (a prompt holding an example), closed by the first of them, and the block by the second."""
    if not (
        fence[0] == char == "`" and len(fence) == length and language in CODE_LANGUAGES and _language(info) in _RUNS
    ):
        return False
    start, end = span
    for count, line in enumerate(_BARE_OR_CODE_FENCE.finditer(text, end), 1):
        if line.group("info"):
            return True
        if count == 2:
            return False
    # One bare fence at most follows: it closes the open block. The line opens a snippet in the block's code (a
    # prompt ending in "```python") when the code before it leaves a triple-quoted string open (only such a
    # string holds a line that starts with a fence); else it is a close the model forgot.
    return not (text.count('"""', body_start, start) % 2 or text.count("'''", body_start, start) % 2)


_LINE_LEAD = re.compile(rf"[ \t{_ZERO_WIDTH}]*+{_ITEM_MARKERS}")
_LEAD_CHARS = frozenset(f" \t{_ZERO_WIDTH}-+*.)0123456789")


def _begins_line(text: str, position: int) -> bool:
    """Whether only blanks and list-item markers (`_ITEM_MARKERS`) come before `position` on its line: what is there
    begins its line, or a list item's content ("- <!--", "1. <!--"). Looks back only over the characters a lead may
    hold, so asking at many positions of one line stays linear."""
    lead = position
    while lead > 0 and text[lead - 1] in _LEAD_CHARS:
        lead -= 1
    return (lead == 0 or text[lead - 1] == "\n") and _LINE_LEAD.fullmatch(text, lead, position) is not None


class _Comments:
    """The HTML comments of a text, read one way for every reader of prose (fences, turn markers, FINAL lines), by
    CommonMark (4.6 and 6.6): from `<!--` to the next `-->`. A `<!--` that begins its line opens an HTML block, and
    one never closed runs to the end (a draft the model commented out is not action), or, begun in a list item's
    content, to the end of that item (`_item_end`: a block in a container ends with it). One within a line is raw HTML
    only when its `-->` comes in the same paragraph (a blank line or a fence line ends it), and one in an inline code
    span or right after a backtick is written about: both are text ("Drafts go in `<!--` comments"). Every position
    is found once and bisected, so the reading is linear however often it is asked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.openers = [match.start() for match in re.finditer("<!--", text)] if "<!--" in text else []
        self.closers = [match.start() for match in re.finditer("-->", text)] if self.openers else []
        breaks = list(_PARAGRAPH_BREAK.finditer(text)) if self.openers else []
        self.break_starts = [match.start() for match in breaks]
        self.break_ends = [match.end() for match in breaks]
        self.code: tuple[int, list[tuple[int, int]]] = (-1, [])  # a paragraph's start and its inline code spans
        self.stretch = -1  # where the stretch of prose `inside` reads began
        self.unread = 0  # the first opener `inside` has not read
        self.span: tuple[int, int] | None = None  # the last comment `inside` found

    def spans(self, start: int = 0) -> Iterator[tuple[int, int]]:
        """The comments that begin at or after `start`, in order, as (start, end)."""
        at = bisect.bisect_left(self.openers, start)
        while at < len(self.openers):
            opener = self.openers[at]
            end = self._end(opener)
            if end is None:
                at += 1
                continue
            yield opener, end
            at = bisect.bisect_left(self.openers, end, at + 1)  # a `<!--` inside the comment is the comment's

    def inside(self, position: int, prose_start: int) -> bool:
        """Whether `position` lies in a comment begun in the stretch of prose that began at `prose_start` (a comment
        opened before a block or in reasoning is not open in the prose after it); asked at increasing positions."""
        openers = self.openers
        if prose_start > self.stretch:
            self.stretch, self.span = prose_start, None
            self.unread = max(self.unread, bisect.bisect_left(openers, prose_start))
        while self.unread < len(openers) and openers[self.unread] < position:  # each opener is read once
            opener = openers[self.unread]
            self.unread += 1
            if self.span is None or opener >= self.span[1]:  # not one inside the last comment
                end = self._end(opener)
                self.span = (opener, end) if end is not None else self.span
        return self.span is not None and self.span[0] < position < self.span[1]

    def _end(self, opener: int) -> int | None:
        """Where the comment that the `<!--` at `opener` opens ends; None when that `<!--` is text."""
        text = self.text
        paragraph = bisect.bisect_left(self.break_starts, opener)
        paragraph_start = self.break_ends[paragraph - 1] if paragraph else 0
        paragraph_end = self.break_starts[paragraph] if paragraph < len(self.break_starts) else len(text)
        if (opener > 0 and text[opener - 1] == "`") or self._in_code(opener, paragraph_start, paragraph_end):
            return None
        closer = bisect.bisect_left(self.closers, opener + 2)  # "<!-->" is a comment, closed at once
        close = self.closers[closer] + 3 if closer < len(self.closers) else None
        if _begins_line(text, opener):  # it begins its line or a list item: an HTML block, to its `-->` or the end
            end = close if close is not None else len(text)
            line_start = text.rfind("\n", 0, opener) + 1
            if text[line_start:opener].strip(f" \t{_ZERO_WIDTH}"):  # after list-item markers: ends with the item
                return _item_end(text, line_start, _indent(text[line_start:opener]), end)
            return end
        return close if close is not None and close <= paragraph_end else None

    def _in_code(self, position: int, paragraph_start: int, paragraph_end: int) -> bool:
        if self.code[0] != paragraph_start:
            self.code = (paragraph_start, _code_spans(self.text, paragraph_start, paragraph_end))
        spans = self.code[1]
        at = bisect.bisect_right(spans, (position, len(self.text)))
        return at > 0 and spans[at - 1][1] > position


_ITEM_START = re.compile(_LIST_ITEM)


def _item_end(text: str, line_start: int, column: int, limit: int) -> int:
    """Where the list item whose content begins on the line at `line_start`, at `column`, ends (CommonMark 5.2), or
    `limit` if that comes first: at the next line left of the content column that begins another item, or that
    follows a blank line. (Other lines left of it continue the item, as a paragraph's lazy lines do.)"""
    blank = False
    end = text.find("\n", line_start)
    while 0 <= end < limit:
        start = end + 1
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        content = line.lstrip(" \t")
        if not content:
            blank = True
            continue
        if (blank or _ITEM_START.match(content)) and _indent(line[: len(line) - len(content)]) < column:
            return min(start, limit)
        blank = False
    return limit


_NEXT_LINE_OPENS_CODE = re.compile(
    rf"[ \t]*(?:\n{_FENCE_BLANK}*)+(?P<fence>`{{3,}}|~{{3,}})[ \t]*(?:"
    + "|".join(sorted(_RUNS, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


def _only_code_holds_a_later_close(text: str, end: int) -> bool:
    """Whether a closing tag ends its line, the next line opens a code block, and every closing tag alone on its
    line further on lies inside that block ("... as planned.</think>", then "```repl" holding a `</think>` line in
    a string): the reply proper begins there. A close alone on its line after that block still ends reasoning that
    drafted the block (the tag glued before it was then written about)."""
    opening = _NEXT_LINE_OPENS_CODE.match(text, end)
    if opening is None:
        return False
    fence = opening.group("fence")
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
    block_end = closing.search(text, opening.end())
    return block_end is None or _ALONE_CLOSE_TAG.search(text, block_end.end()) is None


def _begins_its_line(text: str, start: int) -> bool:
    """Only blanks between the line's start and `start` (looks back over the blanks only)."""
    before = start - 1
    while before >= 0 and text[before] in " \t":
        before -= 1
    return before < 0 or text[before] == "\n"


def _alone_on_its_line(text: str, start: int, end: int) -> bool:
    """Only blanks between the line's start and `start`, and between `end` and the line's end. Looks back only over
    the blanks (a scan to the line's start would be quadratic on a line of many tags)."""
    before = start - 1
    while before >= 0 and text[before] in " \t":
        before -= 1
    return (before < 0 or text[before] == "\n") and _LINE_END.match(text, end) is not None


def _without_trailing_prose(code: str, most: int = 5) -> str:
    """A block the model forgot to close, cut at the next block's fence, may end in the prose it wrote between them
    ("Now print it:"): the code without up to `most` last lines, when only that much of it compiles."""
    lines = code.split("\n")
    for cut in range(min(most, len(lines) - 1) + 1):
        candidate = "\n".join(lines[: len(lines) - cut]).rstrip()
        if _compiles(candidate):
            return candidate
    return code


def _closed_leniently(text: str, body_start: int, char: str, length: int) -> str | None:
    """`text` with the open block closed at the first line that nearly closes it and before which the block's code
    compiles, as a proper closing fence; None when no line does (a ```` block holding ``` lines in a string stays
    open, as CommonMark has it). Nearly: a fence of the block's character glued to the end of a code line, one too
    short or indented too far, or one with text after it ("``` Let me run this.", whose text becomes prose)."""
    candidates = heapq.merge(
        _FENCE_AT_LINE_END.finditer(text, body_start), _FENCE_THEN_TEXT.finditer(text, body_start), key=_start
    )
    for found in itertools.islice(candidates, _LENIENT_TRIES):
        fence = found.group("fence")
        line_start = text.rfind("\n", 0, found.start()) + 1
        if fence[0] != char:
            continue
        closing = char * length
        if found.re is _FENCE_THEN_TEXT:
            if _language(found.group("text")) in _RUNS or not _compiles(text[body_start:line_start]):
                continue  # "```python" opens a block; it does not close one
            return text[:line_start] + closing + "\n" + found.group("text") + text[found.end() :]
        code = text[line_start : found.start()].rstrip(_FENCE_BLANKS)
        if not _compiles(text[body_start:line_start] + code):
            continue
        return text[:line_start] + (f"{code}\n{closing}" if code.strip() else closing) + text[found.end() :]
    return None


def _closed_before_prose(text: str, body_start: int, closing: str, indent: int, language: str) -> str | None:
    """`text` with the code block open at `body_start` (never closed, nor nearly: `_closed_leniently`) closed where
    the model went on to write prose ("This prints the last word, then I will answer."): before the line Python
    first fails at, when that line (and up to `_PROSE_BACK` lines of prose before it) reads as a sentence and the
    code before it compiles; or before a line that opens reasoning again (`<think>`, interleaved thinking) at or
    before that line. None when the code compiles, or its first error is neither."""
    if language not in CODE_LANGUAGES:
        return None
    body = text[body_start:]
    code = _dedented(body, indent)  # line for line, its blank last lines dropped
    if _SESSION_START.match(code.lstrip("\n")):
        return None  # a session's output lines are no code: nothing to close before
    try:
        compile(code, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as error:
        failed = (error.lineno or 0) - 1
    except (ValueError, MemoryError, RecursionError):
        return None
    else:
        return None
    code_lines = code.split("\n")
    if not 0 < failed < len(code_lines):
        return None
    tag = _LINE_OPEN_TAG.search(code, 1)  # reasoning opened again (interleaved thinking) ends the code, as prose does
    opens = -1 if tag is None else code.count("\n", 0, tag.start())
    if 0 < opens <= failed and _compiles("\n".join(code_lines[:opens])):
        first = opens
    elif _CLOSE_TAG_LINE.fullmatch(code_lines[failed]) and _compiles("\n".join(code_lines[:failed])):
        first = failed  # `</code>`, GLM's `</code`, `[/code]`: the block's end in another markup
    elif _PROSE_LINE.fullmatch(code_lines[failed]):
        first = failed
        while first > 1 and failed - first < _PROSE_BACK and _PROSE_LINE.fullmatch(code_lines[first - 1]):
            first -= 1
        if not _compiles("\n".join(code_lines[:first])):
            return None
    else:
        return None
    at = body_start + sum(len(line) + 1 for line in body.split("\n", first)[:first])
    return f"{text[:at]}{closing}\n{text[at:]}"


_PROSE_BACK = 3
_PROSE_LINE = re.compile(
    r"(?!(?:and|as|assert|async|await|break|case|class|continue|def|del|elif|else|except|finally|for|from|global|if"
    r"|import|in|is|lambda|match|nonlocal|not|or|pass|print|raise|return|try|type|while|with|yield)\b)"
    r"(?:\*\*|[-+*][ \t]|\d{1,3}[.)][ \t])?[A-Za-z][A-Za-z'\u2019]*+[*_:,]*+[ \t]++"
    r"(?:[A-Za-z'\u2019\"`(*_][^\n]*?[ \t]++[^\n]*|[A-Za-z'\u2019]++[.:!?])"
)
"""A line that reads as a sentence, not code: maybe a list item's or bold's markup, a word (no keyword Python starts
a statement with), then two words or more, or one that ends the sentence ("This prints the last word.", "Now I'll
look.", "- Then check:", "Let's see:"); the first two words separated by a blank only."""

_CLOSE_TAG_LINE = re.compile(r"[ \t]*+(?P<tag></[A-Za-z][\w:.-]{0,40}>?|\[/[A-Za-z]\w{0,20}\])[ \t]*+")
"""A line holding only a closing tag (`</code>`, GLM's partial `</code`, BBCode's `[/code]`): where a model that mixed
a fence with another markup's code tags meant its block to end (smolagents#1251, #1851). Never Python."""

_LENIENT_TRIES = 20
"""Lines tried as a block's missing close (each compiles the code before it): a bound on the work."""
_FENCE_THEN_TEXT = re.compile(
    rf"^{_FENCE_BLANK}*+(?P<fence>`{{3,}}+|~{{3,}}+){_FENCE_BLANK}++(?P<text>[^\s`{_ZERO_WIDTH}][^\n]*)$", re.MULTILINE
)


_JOIN_TRIES = 20
"""Later closes tried, in a whole reply, as the close of a code block cut inside a string (each compiles the code
up to it): a bound on the work."""
_JOIN_LOOKS = 10 * _JOIN_TRIES
"""Later bare fence lines looked at, in a whole reply, for those closes (one of another character, shorter or
indented too far is passed over): a bound on the work."""


class _StringCuts:
    """Where a code block cut inside one of its strings closes instead (`close`). The reply's bare fence lines are
    found once, on first need, and looked up by position, so blocks cut one after another never rescan the reply;
    the compiles and looks are bounded per reply (`_JOIN_TRIES`, `_JOIN_LOOKS`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.bare: list[re.Match[str]] | None = None
        self.starts: list[int] = []
        self.tries = _JOIN_TRIES
        self.looks = _JOIN_LOOKS

    def close(self, body_start: int, cut: tuple[int, int], block: tuple[str, int, int, str]) -> tuple[int, int] | None:
        """Where a code block cut at the fence line `cut` closes instead, when the cut left one of its strings open:
        the span of the first later closing fence (`block`'s character, at least its length, nothing after it,
        indented as a close may be) up to which the block's code compiles, passing only closes that fall inside that
        string (one outside it is a close Python cannot get past, so the first close that compiles is the only one,
        the longest span). None when the code compiles at the cut, fails there for another reason, or no such close
        comes: prose never runs. A prompt quoting a snippet between ``` lines, inside a triple-quoted string of a
        ```repl block, is one block: the only reading under which it is Python. `block`: (fence character, length,
        indent, language)."""
        char, length, indent, language = block
        text = self.text
        if language not in _RUNS or not _cut_in_a_string(_cell_code(text[body_start : cut[0]], indent, language)):
            return None
        if self.bare is None:
            self.bare = [line for line in _ANY_FENCE_LINE.finditer(text) if _blank(line.group("info"))]
            self.starts = [line.start() for line in self.bare]
        for at in range(bisect.bisect_left(self.starts, cut[1]), len(self.bare)):
            if self.looks <= 0:
                return None
            self.looks -= 1
            line = self.bare[at]
            fence = line.group("fence")
            if not _closes(fence, "", _indent(text[line.start() : line.start("fence")]), char, length, indent):
                continue
            if self.tries <= 0:
                return None
            self.tries -= 1
            code = _cell_code(text[body_start : line.start()], indent, language)
            if _compiles(code):
                return line.span()
            if not _cut_in_a_string(code):
                return None
        return None


def _cut_in_a_string(code: str) -> bool:
    """Whether `code` fails to compile because a string is left open at its end (Python's "unterminated ... string
    literal"). Only a triple-quoted string can hold a fence line (a line continued by a backslash cannot: a fence
    line ends in no backslash), so code without one is never compiled here."""
    if "'''" not in code and '"""' not in code:
        return False
    return _in_a_string(code)


def _compiles(code: str) -> bool:
    try:
        compile(code, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _cell_code(body: str, indent: int, language: str) -> str:
    """A block's code: its fence's indentation removed as far as its lines all have it (`_item_code`: a fence that
    begins a list item or sits on an item's continuation line, its code maybe written at column 0), then any
    indentation all its lines share (a block opened at the end of a line of text). A console session (`>>>`
    prompts, or IPython's `In [1]:`) keeps its input lines only; a `pycon` block without prompts is output, with no
    code."""
    code = _dedented(body, indent)
    if _SESSION_START.match(code.lstrip("\n")):
        return _session_input(code)
    return "" if language == "pycon" else code


def _dedented(body: str, indent: int) -> str:
    """A block's lines with its fence's and their shared indentation removed, its blank last lines dropped. Code
    that does not compile because lines are indented with Unicode spaces (U+00A0 as some models and Markdown
    renderers write it) is read with those spaces as spaces (`_spaced`)."""
    code = _dedented_plain(body, indent)
    if _UNICODE_INDENT.search(body) is None or _compiles(code):
        return code
    return _spaced(body, indent) or code


_UNICODE_SPACES = "\u00a0\u2000-\u200a\u202f\u205f\u3000"
_UNICODE_INDENT = re.compile(rf"^[ \t]*[{_UNICODE_SPACES}]", re.MULTILINE)
"""A line indented (in part) with a Unicode space: Python refuses one outside a string ("invalid non-printable
character U+00A0")."""
_LEAD = re.compile(rf"^[ \t{_UNICODE_SPACES}]+", re.MULTILINE)


def _spaced(body: str, indent: int) -> str | None:
    """The code of a block whose lines' leading Unicode spaces are read as one space each, but those of a line that
    starts inside a string (a triple-quoted string's line is data, NBSPs and all); None unless that compiles. Python
    itself never runs code indented so, so only code that could not run is read this way."""
    lines = body.split("\n")
    spaced = [_LEAD.sub(lambda lead: re.sub(f"[{_UNICODE_SPACES}]", " ", lead.group()), line) for line in lines]
    code = _dedented_plain("\n".join(spaced), indent)
    if not _compiles(code):
        return None
    inside = _lines_in_strings(code)
    if not inside:
        return code
    # a string's line gets its own characters back, less the columns the dedent took from its spaced form (its
    # NBSPs counted as the block's indentation): dedenting the original lines again would find no common indent
    # (textwrap.dedent counts only spaces and tabs), leaving every other line indented
    read = code.split("\n")
    kept = [
        _less_lead(lines[i], spaced[i], read[i]) if i in inside and i < len(read) else read[i] for i in range(len(read))
    ]
    code = "\n".join(kept)
    return code if _compiles(code) else None


def _less_lead(original: str, spaced: str, read: str) -> str:
    """`original` (a line inside a string) less as many leading characters as the dedent took from `spaced`, its
    copy with Unicode spaces made spaces, to give `read` (a blank `read`: all of its leading spaces)."""
    lead = len(spaced) - len(spaced.lstrip(" \t"))
    taken = lead - (len(read) - len(read.lstrip(" \t"))) if read.strip() else lead
    return original[max(taken, 0) :]


def _dedented_plain(body: str, indent: int) -> str:
    return _item_code(body, indent) if indent else textwrap.dedent(body).rstrip()


def _lines_in_strings(code: str) -> set[int]:
    """The 0-based numbers of the lines of `code` (which compiles) that start inside a string token (a triple-quoted
    string's later lines, an f-string's)."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type not in (tokenize.NEWLINE, tokenize.NL) and token.end[0] > token.start[0]:
                inside.update(range(token.start[0], token.end[0]))  # rows are 1-based: lines start+1 .. end
    except (tokenize.TokenError, SyntaxError):
        return set(range(code.count("\n") + 1))
    return inside


def _session_input(code: str) -> str:
    """The input lines of a session transcript whose first line is a prompt, their prompts removed: every line after
    a prompt is one, a continuation or output, which is dropped (the model copied a session, not code)."""
    kept = []
    inputs = _CONSOLE_INPUT if code.lstrip("\n").startswith(">>>") else _IPYTHON_INPUT  # the first prompt's kind
    for line in code.split("\n"):
        prompt = inputs.match(line)
        if prompt is not None:
            kept.append(line[prompt.end() :])
    return "\n".join(kept)


def _item_code(body: str, column: int) -> str:
    """The code of a block whose fence is indented to `column` (a list item's content column). Its lines lose that
    column only as far as all of them have it (`_shared_indent`: code a model wrote at column 0 keeps its own
    indentation). When that leaves code that does not compile (a triple-quoted string's column-0 lines pulled the
    shared indent to 0), each line loses up to the column instead, as CommonMark strips an indented fence's lines
    (`_dedent`)."""
    shared_columns = _shared_indent(body, column)
    shared = textwrap.dedent(_dedent(body, shared_columns)).rstrip()
    if shared_columns == column or _compiles(shared):  # all lines at the fence's column: CommonMark's reading
        return shared
    stripped = textwrap.dedent(_dedent(body, column)).rstrip()
    return stripped if _compiles(stripped) else shared


def _shared_indent(body: str, columns: int) -> int:
    """The columns, up to `columns`, that every line of `body` with text is indented by. A list item's lines sit at
    its content column by CommonMark; models often write them at column 0 instead, and stripping the column from
    the lines that have it would break their code's own indentation (or change a string's contents)."""
    shared = columns
    for line in body.split("\n"):
        if shared == 0:
            break
        content = line.lstrip(" \t")
        if content:
            shared = min(shared, _indent(line[: len(line) - len(content)]))
    return shared


def _runnable(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The blocks that run: code languages, and pycon as a console session. (Models mix repl, python and py blocks
    in one reply as actions, so a python block beside a repl block runs too.)"""
    return [(code, language) for code, language in blocks if code.strip() and language in _RUNS]


class _Mentions:
    """Whether a closing tag is written about rather than closing reasoning: it sits in an inline code span
    (CommonMark 6.1: a backtick run up to the next run of the same length on its line; a run with no partner is
    plain text, as in "with a ```repl block.</think>") or between quotes, or, with text after it on its line, it
    follows an opening tag on that line that is not the one the reasoning began with ("blocks inside
    <think>...</think> never run"). Each line is scanned once, left to right, however many tags it holds."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # scanned up to here, on the line of the last tag
        self.opens = 0  # opening tags on that line (after `since`) not yet matched by a mention
        self.line_end = -1  # the end of the line whose code spans are in `spans`
        self.spans: list[tuple[int, int]] = []  # that line's code spans, in order
        self.span = 0  # the first of them not ending before the last tag
        self.paragraph_end = -1  # the end of the paragraph whose code spans are in `paragraph_spans`
        self.paragraph_spans: list[tuple[int, int]] = []
        self.paragraph_span = 0  # the first of them not ending before the last turn marker

    def mentioned(self, start: int, end: int, since: int) -> bool:
        """`since`: where the reasoning's own opening tag ends (0 outside reasoning)."""
        text = self.text
        newline = text.rfind("\n", self.pos, start)
        if newline >= 0:
            self.pos, self.opens = newline + 1, 0
        if start > self.line_end:
            line_start = text.rfind("\n", 0, start) + 1
            self.line_end = len(text) if (found := text.find("\n", start)) < 0 else found
            self.spans, self.span = _code_spans(text, line_start, self.line_end), 0
        while self.span < len(self.spans) and self.spans[self.span][1] <= start:
            self.span += 1
        lowest = max(self.pos, since)
        if lowest < start:
            self.opens += sum(1 for _ in OPEN_TAG.finditer(text, lowest, start))
        self.pos = end
        if (self.span < len(self.spans) and self.spans[self.span][0] < start) or (
            start > 0 and end < len(text) and text[start - 1] == text[end] in "'\"`"
        ):
            return True
        if self.opens and not _LINE_END.match(text, end):
            self.opens -= 1
            return True
        self.opens = 0
        return False

    def written_about(self, start: int, floor: int) -> bool:
        """Whether a turn marker at `start` in prose is written about rather than the end of the model's turn: it
        sits in an inline code span (or an HTML `<code>` one) or a quoted string of its paragraph (any may run over
        lines: "`<|im_end|>\n<|im_start|>user`"), in a block quote, or right after an opening quote, bracket or
        emphasis. `floor`: where the stretch of
        prose began (a block before it ends any span). Asked at increasing positions: each paragraph is scanned
        once."""
        text = self.text
        if start > self.paragraph_end:
            begin = max(floor, self.paragraph_end)
            for gap in _PARAGRAPH_BREAK.finditer(text, begin, start):
                begin = gap.end()
            after = _PARAGRAPH_BREAK.search(text, start)
            self.paragraph_end = after.start() if after is not None else len(text)
            code = sorted(
                _code_spans(text, begin, self.paragraph_end) + _html_code_spans(text, begin, self.paragraph_end)
            )
            self.paragraph_spans = sorted(code + _quoted_spans(text, begin, self.paragraph_end, code))
            self.paragraph_span = 0
        spans = self.paragraph_spans
        while self.paragraph_span < len(spans) and spans[self.paragraph_span][1] <= start:
            self.paragraph_span += 1
        if self.paragraph_span < len(spans) and spans[self.paragraph_span][0] < start:
            return True
        if _QUOTE_LEAD.match(text, text.rfind("\n", 0, start) + 1, start):
            return True  # in a block quote, whose next line (a lazy continuation) is the quote's too
        lead = start
        while lead > 0 and text[lead - 1] in "*_~":
            lead -= 1  # emphasis opened right before it ("**<|im_end|>"), not closed (as in "**gamma**<|im_end|>")
        before = text[lead - 1] if lead > 0 else ""
        return (
            (lead < start and before in " \t\n([{")
            or before in "([{\u201c\u2018\u00ab\u300c"
            or (before in "\"'" and (lead < 2 or text[lead - 2] in " \t\n([{"))
        )


_QUOTE_MARKS = re.compile("[\"'\u201c\u201d\u00ab\u00bb\u300c\u300d\u201e]")
_CLOSING_QUOTE = {'"': '"', "'": "'", "\u201c": "\u201d", "\u00ab": "\u00bb", "\u300c": "\u300d", "\u201e": "\u201c"}
"""Each opening quote and the mark that closes it: "...", '...', “...”, «...», 「...」, „...“."""


def _quoted_spans(text: str, start: int, end: int, code: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The double-quoted strings of text[start:end] outside its code spans `code` (in order): each from an opening
    quote to the mark that closes it; a quote never closed is plain text. Linear in the length."""
    spans: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None  # where the open string starts, and the mark that closes it
    span = 0
    for mark in _QUOTE_MARKS.finditer(text, start, end):
        at, char = mark.start(), mark.group()
        while span < len(code) and code[span][1] <= at:
            span += 1
        if span < len(code) and code[span][0] <= at:
            continue  # a quote in inline code
        if char == "'" and not _single_quote_ends(text, at, start, end, opened is not None):
            continue  # an apostrophe ("the chart's"), not a quote
        if opened is not None and char == opened[1]:
            spans.append((opened[0], at + 1))
            opened = None
        elif opened is None and char in _CLOSING_QUOTE:
            opened = (at, _CLOSING_QUOTE[char])
    return spans


def _single_quote_ends(text: str, at: int, start: int, end: int, closing: bool) -> bool:
    """Whether the ' at `at` opens a quote (after a blank or bracket, before text) or, when one is open, closes it
    (after text, before no letter): an apostrophe inside a word does neither."""
    before = text[at - 1] if at > start else " "
    after = text[at + 1] if at + 1 < end else " "
    if closing:
        return not before.isspace() and not after.isalnum()
    return before in " \t\n([{" and not after.isspace()


_HTML_CODE = re.compile(r"<(/?)(code|kbd|samp|tt|pre)\b[^<>\n]{0,200}>", re.IGNORECASE)


def _html_code_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The HTML code spans (`<code>...</code>`, kbd, samp, tt, pre) of text[start:end], each from its opening tag to
    its closing one; one never closed is plain text. Linear: one scan of the tags."""
    spans: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for tag in _HTML_CODE.finditer(text, start, end):
        name = tag.group(2).lower()
        if opened is None and not tag.group(1):
            opened = (tag.start(), name)
        elif opened is not None and tag.group(1) and name == opened[1]:
            spans.append((opened[0], tag.end()))
            opened = None
    return spans


_PARAGRAPH_BREAK = re.compile(rf"\n[ \t]*+(?:\n|(?={_ITEM_MARKERS}(?:`{{3}}|~{{3}})))")
"""Where a paragraph ends: at a blank line, or before a fence line (one that begins a list item too). No inline
code span runs past one."""
_BACKTICKS = re.compile(r"`+")


def _code_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The inline code spans of text[start:end] (a line, or a paragraph): each backtick run paired with the next run
    of the same length; a run with none is plain text. Linear in the length."""
    runs = [(match.start(), match.end()) for match in _BACKTICKS.finditer(text, start, end)]
    partner: list[int | None] = [None] * len(runs)
    latest: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1] - runs[index][0]
        partner[index] = latest.get(length)
        latest[length] = index
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(runs):
        other = partner[index]
        if other is None:
            index += 1
            continue
        spans.append((runs[index][0], runs[other][1]))
        index = other + 1
    return spans


def _harmony(text: str) -> tuple[str, int]:
    """`split_harmony`, with the reasoning counted in characters."""
    reply, reasoning = split_harmony(text)
    return reply, sum(len(part) for part in reasoning)


def split_thoughts(text: str) -> tuple[str, list[str]]:
    """(answer, reasoning parts) of a reply that may hold its reasoning as text: gpt-oss's harmony channels
    (`split_harmony`), then a leading reasoning block (`split_reasoning`). Empty parts are left out."""
    answer, thoughts, _ = split_thoughts_counted(text)
    return answer, thoughts


_LEADING_OPEN = re.compile(rf"\s*+(?:{OPEN_TAG.pattern})\s*+", re.IGNORECASE)


def without_stray_open(text: str, reasoning: Sequence[str] = ()) -> str:
    """`text` without an opening reasoning tag that begins it and is never closed, for a reply whose reasoning the
    server already gave apart (a reasoning field or part, `reasoning`): its reasoning parser took the thought and
    left the tag in the text (xorbitsai/inference#3391, ai-dynamo/dynamo#11251), so what follows is the answer, not
    a thought never closed. A tag the given reasoning follows is no stray: the server kept the thought in the text
    too (llama.cpp's deepseek-legacy format), and the text comes back from the close after that repeat, or whole
    when only the thought's first words repeat (`_repeated_thought`); the thought may hold what would hide its
    close from `_closes_lead` (a line naming "<think>", a fence left open). Any other text comes back as it came: a
    tag that its own closing tag follows (`_closes_lead`)."""
    lead = _LEADING_OPEN.match(text)
    if lead is None:
        return text
    repeated = _repeated_thought(text, lead.end(), reasoning)
    if repeated is not None:
        return text[repeated:]
    if _closes_lead(_tidied(_normal(text[lead.end() :]))):
        return text
    return text[lead.end() :]


_FIRST_WORDS = 8
"""How many of a given thought's first words, repeated after a leading tag, make it that thought's opening tag (a
server that sent the thought in a field may trim or reword its end)."""


def _repeated_thought(text: str, at: int, reasoning: Sequence[str]) -> int | None:
    """Where the answer begins when `text` repeats, from `at`, a thought of `reasoning` (whitespace aside) and then
    a closing tag: after that tag. The whole text (tag kept) when its first `_FIRST_WORDS` words (all of a
    shorter one of at least 3) repeat and a closing tag comes later: 0, the whole text. None when none repeats."""
    for thought in reasoning:
        words = thought.split()
        position, count = at, 0
        for word in words:
            position = _past_spaces(text, position)
            if not text.startswith(word, position):
                break
            position, count = position + len(word), count + 1
        if count and count == len(words):
            close = CLOSE_TAG.match(text, _past_spaces(text, position))
            if close is not None:
                return close.end()
        if count >= min(len(words), _FIRST_WORDS) and count >= 3 and CLOSE_TAG.search(text, position) is not None:
            return 0
    return None


def _past_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _closes_lead(text: str) -> bool:
    """Whether `text`, what follows a leading opening tag, holds that tag's closing tag, read as the answer it would
    be without the tag: one outside fenced blocks (a late "Run it: ```repl" one too) and inline code, not written
    about, once each block opened before it is closed (interleaved thinking, MiniMax M2 and Kimi K2: a later
    "<think>a</think>" closes its own; as in `_parse`, one opened mid-line closes on that line). A closing tag in
    code (`re.sub(r"<think>.*?</think>", ...)`) or of a later block leaves the leading tag unclosed."""
    mentions, line_opens = _Mentions(text), _LineOpens(text)
    fence: tuple[str, int] | None = None  # the open block's fence character and length
    depth, since, consumed = 1, 0, 0
    events = heapq.merge(
        _ANY_FENCE_LINE.finditer(text), _LATE_FENCE.finditer(text), _REASONING_TAG.finditer(text), key=_start
    )
    for event in events:
        start, end = event.span()
        if start < consumed:
            continue  # a tag or fence inside a fence line: part of that line
        if event.re is _REASONING_TAG:
            if fence is not None:
                continue
            if event.group("close") is None:
                if _begins_its_line(text, start):
                    depth, since = depth + 1, end
            elif mentions.mentioned(start, end, since):
                pass
            elif line_opens.before(start, since):
                since = end  # the close of a block opened on its line ("Checking. <think>a</think>")
            else:
                depth -= 1
                if depth == 0:
                    return True
            continue
        consumed = end
        mark, info = event.group("fence"), event.group("info")
        if fence is None and not (event.re is _ANY_FENCE_LINE and mark[0] == "`" and "`" in info):
            fence = (mark[0], len(mark))
        elif fence is not None and event.re is _ANY_FENCE_LINE and mark[0] == fence[0] and len(mark) >= fence[1]:
            fence = None if _blank(info) else fence
    return False


def split_thoughts_counted(text: str) -> tuple[str, list[str], int]:
    """`split_thoughts`, and how many characters followed the end of the model's own turn (0: none did)."""
    answer, channels = split_harmony(text)
    answer, think, overran = split_reasoning_counted(answer)
    return answer, [part for part in [*channels, think] if part.strip()], overran


def split_harmony(text: str) -> tuple[str, list[str]]:
    """gpt-oss's harmony markup as text (a server without its parser leaks it): the final channel's messages are the
    reply, the analysis and commentary channels reasoning (never acted on). Text without it comes back unchanged.
    A header or end token inside a fenced block's body is the block's data (code splitting a harmony transcript on
    `'<|channel|>final<|message|>'`: audit 81 kinds v01), unless it ends a code block the channel left open
    (`_HarmonyBodies`: a message boundary ends a block left open, in a reasoning channel whatever it holds)."""
    if "<|channel|>" not in text:
        stripped = _STRIPPED_HARMONY.match(text)  # the same with its special tokens dropped by the detokenizer
        if stripped is None:
            return text, []
        return text[stripped.end() :], [stripped.group("analysis").removesuffix("assistantfinal")]
    headers = list(_HARMONY_HEADER.finditer(text))
    if not headers:
        return text, []
    marks = list(heapq.merge(headers, _HARMONY_END.finditer(text), key=_start))
    bodies = _HarmonyBodies(text, marks)
    kept: list[str] = []
    reasoning: list[str] = []
    channel: str | None = None  # the channel being read; None between messages (and before the first)
    segment = 0  # where the text being read (the channel's message, or the text between messages) starts
    for mark in marks:
        is_header = mark.re is _HARMONY_HEADER
        if mark.start() < segment or (channel is None and not is_header):
            continue  # an end token outside any message is text
        if not bodies.markup(mark, segment, channel):
            continue
        body = text[segment : mark.start()]
        if channel is None or channel == "final":
            kept.append(body)
        else:
            reasoning.append(body)
        channel, segment = (mark.group("channel").lower() if is_header else None), mark.end()
    if channel is None or channel == "final":
        kept.append(text[segment:])
    else:
        reasoning.append(text[segment:])
    return "\n".join(part for part in kept if part.strip()), reasoning


_HARMONY_START = re.compile(r"\s*+<\|start\|>")
_FENCE_BEFORE_MARK = re.compile(
    rf"^{_FENCE_BLANK}*+(?:`{{3,}}+|~{{3,}}+){_FENCE_BLANK}*+(?=<\|(?:end|return|call|start|channel)\|>)", re.MULTILINE
)
"""A fence glued to a harmony mark (```<|end|>, ```<|return|>): a closing fence, the mark on a line of its own."""
_FENCE_RUN = re.compile(r"`{3,}+|~{3,}+")


class _HarmonyBodies:
    """Which harmony marks of a reply (`marks`, in order) stand inside a fenced block's body, read in one pass that
    knows at each position whether it is inside one. The reply is parsed (`_parse`, leniently) from where a message
    starts to the reply's end (to the next message boundary in a reasoning channel), and that parse serves every
    later mark until one that ends a body counts: only then is the rest parsed again. Each mark's reading:

    * outside any body: markup;
    * a message boundary (an end token another message's `<|start|>` follows, or a header beginning with
      `<|start|>`) in the analysis or commentary channel: markup, whatever block the draft left open, in whatever
      language or string (a channel boundary is the model's turn structure, stronger than a draft's fence);
    * a message boundary inside a body never closed, or inside a code block whose code is not inside a string
      there (the block the model left open as its message ended): markup, the block ends there;
    * else (inside a closed body, or a lone end token or header inside a body never closed): the body's data.

    The parse reads a copy of the reply in which a fence glued to a mark (```<|end|>) and a header that begins its
    line or a message (`<|start|>assistant<|channel|>final<|message|>```repl`) end their lines, as each message's text
    is read on its own. Work: one parse of the reply, one more per body a boundary ends (review 81b F3: the reading
    had parsed the text before each of the first 20 marks)."""

    def __init__(self, text: str, marks: list[re.Match[str]]) -> None:
        self.strong = {
            mark.start()
            for mark in marks
            if (
                mark.group().startswith("<|start|>")
                if mark.re is _HARMONY_HEADER
                else _HARMONY_START.match(text, mark.end()) is not None
            )
        }
        self.strong_starts = sorted(self.strong)
        breaks = [glued.end() for glued in _FENCE_BEFORE_MARK.finditer(text)]
        ends = {mark.end() for mark in marks if mark.re is _HARMONY_END}
        for mark in marks:
            start, end = mark.span()
            if (
                mark.re is _HARMONY_HEADER
                and not text.startswith("\n", end)
                and (start == 0 or text[start - 1] == "\n" or start in self.strong or start in ends)
            ):
                breaks.append(end)
        self.breaks = sorted(set(breaks))  # where the copy holds a line feed the reply does not
        self.copy = _cut_in(text, self.breaks)
        self.fences = [fence.start() for fence in _FENCE_RUN.finditer(text)]
        self.parsed: tuple[int, int, list[tuple[int, int]]] | None = None  # (start, end, body spans) in the copy
        self.quoted: set[int] = set()  # bodies (by start, in the copy) whose first boundary is their data

    def _at(self, position: int) -> int:
        """Where the reply's `position` stands in the copy."""
        return position + bisect.bisect_right(self.breaks, position)

    def markup(self, mark: re.Match[str], segment: int, channel: str | None) -> bool:
        """Whether `mark`, read in `channel` (None between messages) of the message starting at `segment`, is
        markup (see the class)."""
        start = mark.start()
        strong = start in self.strong
        reasoning = channel is not None and channel != "final"
        fence = bisect.bisect_left(self.fences, segment)
        if fence == len(self.fences) or self.fences[fence] >= start:
            return True  # no fence since the message began: no body holds the mark
        at = self._at(start)
        if self.parsed is None or not self.parsed[0] <= at < self.parsed[1]:
            if reasoning and strong:
                return True  # a boundary always ends a reasoning channel's message
            end = len(self.copy)
            if reasoning:  # ... so its text is read up to the next one
                boundary = bisect.bisect_left(self.strong_starts, start)
                if boundary < len(self.strong_starts):
                    end = self._at(self.strong_starts[boundary])
            first = self._at(segment)
            found: list[_Body] = []
            _parse(self.copy[first:end], 0, lenient=True, bodies=found)
            self.parsed = (first, end, [(body.start + first, body.end + first) for body in found])
        first, end, spans = self.parsed
        index = bisect.bisect_right(spans, (at, len(self.copy) + 1)) - 1
        if index < 0 or not spans[index][0] <= at < spans[index][1]:
            return True
        body_start, body_end = spans[index]
        if strong and (reasoning or body_end >= end or self._left_open(body_start, at)):
            self.parsed = None  # the body ends at the mark: what follows is read afresh
            return True
        return False

    def _left_open(self, body_start: int, at: int) -> bool:
        """Whether the code block whose body starts at `body_start` (in the copy) was left open at `at`, the first
        message boundary inside it: its text there compiles but for the close it lacks, or fails otherwise, but not
        inside a string (a transcript quoted in a string is data). Checked once a body, so linear: a body whose first
        boundary is inside a string holds every later one as data."""
        if body_start in self.quoted:
            return False
        line = self.copy.rfind("\n", 0, body_start - 1) + 1
        language = _language(_FENCE_RUN.split(self.copy[line : body_start - 1])[-1])  # the opening fence's info
        if language in _RUNS and not _in_a_string(textwrap.dedent(self.copy[body_start:at])):
            return True
        self.quoted.add(body_start)
        return False


def _in_a_string(code: str) -> bool:
    """Whether `code` ends inside a string literal (Python's "unterminated ... string literal" at its end)."""
    try:
        compile(code, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as error:
        return (error.msg or "").startswith("unterminated")
    except (ValueError, MemoryError, RecursionError):
        return False
    return False


def _cut_in(text: str, breaks: list[int]) -> str:
    """`text` with a line feed at each of `breaks` (ordered positions)."""
    pieces, position = [], 0
    for point in breaks:
        pieces.append(text[position:point])
        position = point
    pieces.append(text[position:])
    return "\n".join(pieces)


def _template_opened(text: str, reasoning: int) -> tuple[str, int]:
    """A reply whose chat template opened the reasoning tag starts with reasoning and has only its closing tag (see
    `template_close`): all before it is reasoning, whatever it holds (a fence drafted and left open, or a line
    ending in "```repl", would otherwise swallow the tag)."""
    close = template_close(text)
    if close is None:
        return text, reasoning
    return text[close.end() :], reasoning + close.end()


_MODEL_OPENED = frozenset({"here is my response:"})
"""Closing markers a model writes only after its own opening (Granite's "Here is my thought process:"): alone, such
a phrase is prose ("Here is my response:" before an answer), not the end of reasoning a chat template opened."""


def _opened_by_the_model(closing: str) -> bool:
    return closing.strip().lower() in _MODEL_OPENED


def template_close(text: str) -> re.Match[str] | None:
    """The closing tag that ends reasoning a chat template opened: the first closing tag that starts a line, or is
    glued to the reasoning's last word and ends its line ("... and that works.</think>", as `_parse` reads one in
    prose; a drafted block left open before it would otherwise swallow it), when no line before it starts with an
    opening tag. A closing tag inside a fenced block is data of the block, not the end of reasoning, when the block
    holds an opening tag before it or its closing fence is the next fence line after it. None when the reply opened
    its reasoning with a phrase itself (`_leading_phrase`). Each scan is made once, however many closing tags a
    block holds: linear."""
    if _leading_phrase(text):
        return None
    first_open = _LINE_OPEN_TAG.search(text)
    fences = _OpenFence(text)
    next_fence = _Later(_ANY_FENCE_LINE, text)
    own_opens = _LineOpens(text)
    block_opens: tuple[int, int] = (-1, -1)  # a block's start, and where the first opening tag after it starts
    for close in CLOSE_TAG.finditer(text):
        start = close.start()
        if _opened_by_the_model(close.group(0)) or not (
            _begins_its_line(text, start)
            or (
                start > 0
                and text[start - 1] not in _UNGLUED
                and _CLOSE_ENDS_REASONING.match(text, close.end())
                and not _TURN.match(text, start)  # Solar Open's close is an assistant turn's header too
                and not own_opens.claim(close)  # "Checking. <think>a</think>": that block's close
            )
        ):
            continue
        if first_open is not None and first_open.end() <= start:
            return None
        block = fences.at(start)
        if block is not None:
            if block_opens[0] != block:
                tag = OPEN_TAG.search(text, block)
                block_opens = (block, tag.end() if tag is not None else len(text) + 1)
            if block_opens[1] <= start or _closes_next(text, block, next_fence.after(close.end() - 1)):
                continue
        run_on = _TURN.search(text, 0, start)
        if run_on is not None and _made_up_answer_between(_assistant_turns(text), run_on.end(), close):
            return None  # the close of a made-up answer's reasoning, after a run-on: the parse cuts at the run-on
        return close
    return None


def _closes_next(text: str, block: int, following: re.Match[str] | None) -> bool:
    """Whether `following`, the next fence line after a closing tag, closes the block opened at `block`: then the tag
    is data inside that block (a quoted sub-answer, a prompt's delimiter line), not the end of reasoning. Reasoning
    that drafted a block and left it open is followed by the reply's own fences first (```repl)."""
    opening = _ANY_FENCE_LINE.match(text, block)
    if opening is None or following is None:
        return False
    fence, info = following.group("fence"), following.group("info")
    return fence[0] == opening.group("fence")[0] and len(fence) >= len(opening.group("fence")) and _blank(info)


_ANY_FENCE_LINE = re.compile(rf"^{_FENCE_BLANK}*+(?P<fence>`{{3,}}+|~{{3,}}+)(?P<info>[^\n]*)$", re.MULTILINE)


class _OpenFence:
    """Where the fenced block open at a position starts (CommonMark's pairing of fence lines), asked at increasing
    positions: one walk over the fence lines serves all."""

    def __init__(self, text: str) -> None:
        self.lines = _ANY_FENCE_LINE.finditer(text)
        self.line = next(self.lines, None)
        self.opened: tuple[int, str, int] | None = None  # start, fence character, fence length

    def at(self, position: int) -> int | None:
        while self.line is not None and self.line.start() < position:
            fence, opened = self.line.group("fence"), self.opened
            if opened is None:
                self.opened = (self.line.start(), fence[0], len(fence))
            elif fence[0] == opened[1] and len(fence) >= opened[2] and _blank(self.line.group("info")):
                self.opened = None
            self.line = next(self.lines, None)
        return None if self.opened is None else self.opened[0]


def _start(match: re.Match[str]) -> int:
    return match.start()


def _closes(fence: str, info: str, indent: int, char: str, length: int, opening_indent: int) -> bool:
    """CommonMark's closing fence: the opening's character, at least as long, nothing after it but spaces."""
    return fence[0] == char and len(fence) >= length and _blank(info) and indent <= opening_indent + 3


_Found = tuple[ProseFinal, int, int]


def _prose_final(segments: list[str]) -> tuple[_Found | None, _Found | None]:
    """The last well-formed FINAL / FINAL_VAR line (the index of its segment and where in it its FINAL starts), and
    the last FINAL line of the template's placeholder after it (`FINAL(your answer)`, quoted from the instructions):
    a placeholder is never an answer, on any turn; mid-run the model is told why it did not finish. Each candidate's
    argument is read only up to the next candidate (or the end of its prose segment), so the search is linear
    however many unclosed FINAL( there are.
    """
    placeholder: _Found | None = None
    for index in range(len(segments) - 1, -1, -1):
        segment = segments[index]
        candidates = [match for match in _PROSE_FINAL.finditer(segment)]  # not list(): bytecode lets the GIL switch
        starts = _outside_comments(segment, candidates)
        limit = len(segment)
        for match in reversed(starts):
            if match.group("paren") == "（":  # FINAL（伽马）, as models answering in Chinese write it
                close = segment.find("）", match.end(), limit)
                found = None if close < 0 else (segment[match.end() : close].strip(), close + 1, False)
            else:
                found = _argument(segment, match.end(), limit)
            limit = match.start()
            if found is None:
                continue
            argument, end, literal = found
            if match.group("prefix") and not _CLOSING_MARKUP.match(segment, end):
                continue
            kind, at = match.group("kind"), match.start("kind")
            if kind == "FINAL" and _PLACEHOLDER.fullmatch(argument):
                placeholder = placeholder or (ProseFinal("final", argument), index, at)
            elif kind == "FINAL":
                wrapped = _WRAPPED.match(argument)  # FINAL(`gamma`), FINAL(**gamma**): the markup is not the answer
                argument = wrapped.group("inner") if wrapped else argument
                quoted = _QUOTED.match(argument)  # FINAL(“gamma”), FINAL(«gamma»): nor are the quotes
                answer = next(g for g in quoted.groups() if g) if quoted else argument
                return (ProseFinal("final", answer, literal or quoted is not None), index, at), placeholder
            if kind == "SUBMIT" and _is_keywords(argument):
                return (ProseFinal("submit", argument), index, at), placeholder
            if kind == "FINAL_VAR":
                wrapped = _WRAPPED.match(argument)  # FINAL_VAR(`w`): Markdown's way to name a variable
                name = wrapped.group("inner") if wrapped else argument
                if name.isidentifier():
                    return (ProseFinal("final_var", name), index, at), placeholder
    return None, placeholder


_PLACEHOLDER = re.compile(
    r"[\s`*_\"'<\[{(]*+(?:\.{3}|\u2026|a[ _]++dict"
    r"|(?:(?:your|the|my|a|an)[ _]++)?(?:final[ _]++)?(?:answer|response)(?:[ _]++here)?)[\s`*_\"'>\]})]*+",
    re.IGNORECASE,
)
"""The argument of a FINAL quoted from instructions, not given: the template's placeholder (`FINAL(your answer)`,
`FINAL(<the answer>)`, `FINAL(...)`, `FINAL([answer])`, `FINAL(a dict)`)."""


def _comments(text: str) -> list[tuple[int, int]]:
    """Where the HTML comments of `text` lie, read as `_parse` reads them (`_Comments`)."""
    return list(_Comments(text).spans())


def _outside_comments(segment: str, matches: list[re.Match[str]]) -> list[re.Match[str]]:
    """The matches (in order) that do not start inside an HTML comment of `segment`, in one walk over both."""
    spans = iter(_comments(segment)) if "<!--" in segment else iter(())
    span = next(spans, None)
    kept = []
    for match in matches:
        while span is not None and span[1] <= match.start():
            span = next(spans, None)
        if span is None or match.start() < span[0]:
            kept.append(match)
    return kept


def _without_comments(text: str) -> str:
    kept, position = [], 0
    for start, end in _comments(text) if "<!--" in text else ():
        kept.append(text[position:start])
        position = end
    return "".join(kept) + text[position:]


def _submit_call(arguments: str) -> ast.Call | None:
    """`SUBMIT(arguments)` parsed as Python, or None."""
    try:
        call = ast.parse(f"SUBMIT({arguments})", mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return call if isinstance(call, ast.Call) else None


def _is_keywords(arguments: str) -> bool:
    """`SUBMIT(answer=..., confidence=...)` as written in prose: keyword arguments that parse as Python."""
    call = _submit_call(arguments)
    return call is not None and not call.args and bool(call.keywords) and None not in {k.arg for k in call.keywords}


def submit_literals(arguments: str) -> list[str]:
    """The values a prose SUBMIT(k=v, ...) wrote out as literals, as text (names and expressions are left out)."""
    call = _submit_call(arguments)
    keywords = call.keywords if call is not None else []
    return [str(k.value.value) for k in keywords if isinstance(k.value, ast.Constant) and k.value.value is not None]


def _argument(text: str, start: int, limit: int) -> tuple[str, int, bool] | None:
    """The argument after the '(' that ends at `start`, read no further than `limit`, where its ')' ends, and whether
    it was a quoted string (text, never run); None when unbalanced.

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
            raw = text[start : paren.start()].strip()
            return (_requoted(raw) if _F_STRING.match(raw) else None) or raw, paren.end(), False
    return None


def _requoted(source: str) -> str | None:
    """A PEP 701 f-string (Python 3.12+) that reuses its quote inside a field (`f"{", ".join(x)}"`) and so does not
    parse here, with that quote inside its fields made the other one (`f"{', '.join(x)}"`); None when it parses as
    written, or the change is not plainly safe (the other quote or a backslash inside a field)."""
    prefix = _F_STRING.match(source)
    if prefix is None or len(source) < prefix.end() + 1 or source[-1] != source[prefix.end() - 1]:
        return None
    quote = source[-1]
    other = "'" if quote == '"' else '"'
    body, depth, kept = source[prefix.end() : -1], 0, []
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth and char in (other, "\\"):
            return None
        elif char == quote:
            if not depth:
                return None
            char = other
        kept.append(char)
    if _parsed(source) is not None:
        return None
    requoted = source[: prefix.end()] + "".join(kept) + quote
    return requoted if _computed(requoted) else None


def _string_literal(text: str, start: int, limit: int) -> tuple[str, int, bool] | None:
    """`FINAL("...")`: the string's value when the argument is exactly one Python string literal, where the call's
    ')' ends, and whether that value is text (all but an f-string with fields, which stays code)."""
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
        source = text[start : stop.end()].strip()
        if "f" in source[: source.find(quote)].lower():  # an f-string: never a literal
            if _computed(source):  # FINAL(f"{count} items"): code for the REPL to fill in (`calls_repl`)
                return source, closing.end(), False
            return text[opening.end() : stop.start()], closing.end(), True  # one with no field, or broken: its text
        try:
            value = ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return text[opening.end() : stop.start()], closing.end(), True
        return (value, closing.end(), True) if isinstance(value, str) else None
    return None


_CUT_STRING = re.compile(r"SyntaxError: unterminated (?:triple-quoted )?(?:[ft]-)?string literal")  # f-: 3.12+
FENCE_HINT = (
    "\nIf this block held a fence line (``` or ~~~) inside a string, that line ended the block. Open and close such "
    "a block with a longer fence than any line it holds: four backticks (````repl ... ````), or four tildes for ~~~."
)
FULL_WIDTH_CLOSE_HINT = (
    "\nLine {line} of the block ({fence}) is a fence written in full-width characters, which closes nothing, so it "
    "was read as code. Write fences in ASCII (```), each on its own line, and rewrite the code that failed."
)
FENCE_LINE_HINT = (
    "\nLine {line} of the block is a fence line ({fence}), not code: the block did not end where you meant it to. "
    "A block ends at a line holding only a fence of its opening's character, at least as long, and the next block "
    "opens on a line of its own. Put each fence on its own line, and rewrite the code that failed."
)


CLOSE_TAG_HINT = (
    "\nLine {line} of the block is a closing tag ({tag}), not code: a block ends only at a line holding a fence "
    "(```), so the tag and the lines after it were read as code. Close each block with a line of ``` and rewrite "
    "the code that failed."
)
MAGIC_HINT = (
    "\nLine {line} of the block is an IPython magic or shell command ({start}...), not Python: the REPL runs Python "
    "only. Write it in Python (time a step with time.perf_counter(), list files with os.listdir()), and rewrite the "
    "code that failed."
)
PROSE_HINT = (
    "\nLine {line} of the block reads as prose, not code: everything in a block runs as Python. If the block's "
    "closing ``` was missing, the text written after the code was read as code too. Close each block with a line "
    "of ``` before writing text after it, and rewrite the code that failed."
)
RESULT_NAMES = frozenset(
    {"result", "results", "res", "answer", "answers", "ans", "output", "out", "response", "solution", "final"}
)
"""Plain words that, as the bare name of a prose FINAL bound in the REPL, are taken for the variable whatever the
text around says (`FINAL(result)`, `FINAL(answer)`): no question is answered with the word "result"."""


def may_mean_the_word(name: str, value: str, question: str) -> bool:
    """Whether a prose `FINAL(name)` whose bare `name` is a variable bound in the REPL (holding `value`, as text)
    may mean the word itself: `name` looks like a word (letters only, all lower, all upper or capitalised: `bob`,
    `A`, `yes`, `Paris`; not `final_answer`, `total2`, `bestScore`, nor one of RESULT_NAMES), its value is not that
    word, and the `question` offers it as a choice: one of words joined by "or", "/" or commas ("alice or bob",
    "yes/no", "A, B or C"), a lettered option ("A)", "(B)"), or quoted ("answer 'yes'"). A question that merely
    uses the word does not count: variable names are taken from its words ("What is the last word?", `last = ...`,
    FINAL(last)); nor do the model's own words around the FINAL ("The total is 42. FINAL(total)" means the value,
    the shape of alexzhang13/rlm#115, far likelier than a word that happens to name a variable). Audit 84b V01:
    "Who is taller, alice or bob?", `bob = 182`, FINAL(bob) answered 182: such a FINAL is the word."""
    if not name.isalpha() or not (name.islower() or name.isupper() or name.istitle()):
        return False
    if name.lower() in RESULT_NAMES or value.strip().lower() == name.lower():
        return False
    word = re.escape(name)
    offered = (
        rf"(?:\bor|,|/)\s*{word}\b|\b{word}\s*(?:,|/|\bor\b)"  # alice or bob, yes/no, A, B or C
        rf"|(?:^|[\s(\[]){word}\)|\({word}\)"  # A) 3x3, (B)
        rf"|[\"'‘“`]{word}[\"'’”`]"  # 'yes'
    )
    return re.search(offered, question, re.IGNORECASE) is not None


PLACEHOLDER_FINAL = (
    "Your FINAL({argument}) line was not accepted: {argument} is the placeholder the instructions use for an answer, "
    "not an answer, so the run did not finish. Work the answer out in a ```repl block, then write FINAL( with the "
    "answer itself ) on a line of its own."
)
REASONING_HINT = (
    "\nLine {line} of the block opens reasoning (<think> or the like), and everything in a block runs as Python. If "
    "the block's closing ``` was missing, the reasoning after the code was read as code too. Close each block with "
    "a line of ``` before reasoning or writing text after it, and rewrite the code that failed."
)
_SYNTAX_ERROR_LINE = re.compile(
    r'File "(?P<file>[^"\n]*)", line (?P<line>\d+)\n[ \t]*(?P<source>[^\n]*)\n(?:[ \t]*[~^]+[ \t]*\n)?'
    r"(?:SyntaxError|IndentationError|TabError):"
)


_MAGIC_LINE = re.compile(r"[ \t]*+(?P<start>%%?[A-Za-z_]\w*|![^\s=]\S*)")
"""A failed line that an IPython magic (`%timeit`, `%%time`) or shell escape (`!ls`) begins."""
_FENCE_SOURCE = re.compile(rf"{_FENCE_BLANK}*+(?P<fence>(?:`{{3,}}+|~{{3,}}+)[^\n`]{{0,40}})")
"""A failed line that is a fence line (up to 40 characters of its info string, to name it)."""


def fence_hint(error: str | None) -> str:
    """A note for a cell whose error suggests its fence went wrong: Python failed at a fence line (one the parse
    could not pair, left in the code), at a line of prose (a block left unclosed, so the text after it was read as
    code), or the block was closed early by a fence line inside a string."""
    if not error:
        return ""
    failed = _SYNTAX_ERROR_LINE.search(error)
    own = failed is not None and failed.group("file").startswith("<cell ")  # not code the cell exec()'d
    fence = _FENCE_SOURCE.match(failed.group("source")) if failed is not None and own else None
    if failed is not None and fence is not None:  # a fence line left in the cell (any of them, whatever follows)
        return FENCE_LINE_HINT.format(line=failed.group("line"), fence=fence.group("fence").strip(_FENCE_BLANKS))
    wide = _FULL_WIDTH_FENCE.match(failed.group("source")) if failed is not None and own else None
    if failed is not None and wide is not None:  # meant to close the block: in full-width characters, it is code
        return FULL_WIDTH_CLOSE_HINT.format(line=failed.group("line"), fence=wide.group().strip(_FENCE_BLANKS))
    tag = _CLOSE_TAG_LINE.fullmatch(failed.group("source")) if failed is not None and own else None
    if failed is not None and tag is not None:  # a block meant to end at a closing tag, as another markup ends it
        return CLOSE_TAG_HINT.format(line=failed.group("line"), tag=tag.group("tag"))
    magic = _MAGIC_LINE.match(failed.group("source")) if failed is not None and own else None
    if failed is not None and magic is not None:  # `%timeit f()`, `!ls`: no line of Python starts so
        return MAGIC_HINT.format(line=failed.group("line"), start=magic.group("start"))
    if failed is not None and _PROSE_LINE.fullmatch(failed.group("source").strip()):
        return PROSE_HINT.format(line=failed.group("line"))
    if failed is not None and _LINE_OPEN_TAG.match(failed.group("source")):
        return REASONING_HINT.format(line=failed.group("line"))
    return FENCE_HINT if _CUT_STRING.search(error) else ""


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


_QUOTED_FENCE = re.compile(rf"^[ \t]*+(?:{_LIST_ITEM})*+>(?:[ \t>]|{_LIST_ITEM})*+(?:`{{3,}}|~{{3,}})", re.MULTILINE)


def drafts_code(reasoning: Sequence[str]) -> bool:
    """Whether any of these reasoning texts holds a block that would have run had it been in the reply (read by the
    reply's own fence grammar): the model drafted its code there and left the reply without it."""
    return any(part.strip() and parse_reply(part).cells for part in reasoning)


_FULL_WIDTH_FENCE = re.compile(rf"^{_FENCE_BLANK}*+(?:\uff40{{3,}}+|\uff5e{{3,}}+)[^\n]{{0,40}}", re.MULTILINE)


def full_width_fence(text: str) -> str | None:
    """The first line that writes a fence in full-width backticks or tildes (`｀｀｀repl`, as CJK input methods and
    models type it), up to 40 characters; None when there is none. Never a fence: the model is told so."""
    if "\uff40" not in text and "\uff5e" not in text:
        return None
    found = _FULL_WIDTH_FENCE.search(text)
    return found.group().strip(_FENCE_BLANKS) if found is not None else None


def has_quoted_block(text: str) -> bool:
    """Whether the reply holds a fence inside a Markdown quote (`> ```repl`): quoted, so never run."""
    return _QUOTED_FENCE.search(text) is not None


_FINISH_CALL = re.compile(rf"\b(?:FINAL_VAR|FINAL|SUBMIT){_BLANK}?[(（]")


def writes_an_unread_finish(reply: Reply) -> bool:
    """Whether the reply's prose writes a FINAL (FINAL_VAR, SUBMIT) that does not finish (within a line of text,
    after a word that is no label): written about, or meant as the answer; either way the model is told the form
    that finishes."""
    return reply.final is None and _FINISH_CALL.search(_without_comments(reply.prose)) is not None


_FENCE_LINE = re.compile(rf"^{_FENCE_BLANK}*(?:`{{3,}}|~{{3,}})[^\n]*(?:\n|\Z)", re.MULTILINE)
_TOOL_CALL = re.compile(r"<tool_call>.*?(?:</tool_call>|\Z)", re.DOTALL | re.IGNORECASE)


_REPL_CALL = re.compile(
    r"\b(?:llm_query|llm_query_batched|rlm_query|rlm_query_batched|FINAL_VAR|SUBMIT|SHOW_VARS)\s*\("
)


def calls_repl(argument: str) -> bool:
    """Whether a prose FINAL's argument is code for the REPL to run, not an answer's text: it calls a REPL function
    (`FINAL(llm_query(...))`), builds a string from the REPL's variables (`_computed`), or is another expression
    over names (`_expression`: `FINAL(len(items))`; if running it fails it was text, `text_after_all`)."""
    return _REPL_CALL.search(argument) is not None or _computed(argument) or _expression(argument)


def _expression(argument: str) -> bool:
    """`len(items)`, `items[-1]`, `last.upper()`, `count + 1`: one Python expression that reads a name and is not a
    shape plain answers take (`_reads_as_text`). Text that is no expression stays text (`FINAL(New York)`,
    `FINAL(3.5 km)`, `FINAL(1/2)`: no name), and so, once run, does one that fails (`text_after_all`)."""
    if argument.count("{") > _MOST_FIELDS or not argument.strip():
        return False
    tree = _parsed(argument)
    if tree is None or _reads_as_text(tree):
        return False
    return any(isinstance(node, ast.Name) for node in ast.walk(tree))


_CODE_ANSWER_CALLS = frozenset({"print", "exit", "quit", "input", "help", "breakpoint"})
"""Calls that, as a FINAL's argument, are code the task asked for (`FINAL(print("Hello"))`), not a value to compute:
run, they print, stop, wait for input or open a debugger."""
_WORD_OPERATORS = (ast.In, ast.NotIn, ast.Is, ast.IsNot)


def _reads_as_text(tree: ast.expr) -> bool:
    """Whether an argument that parses as Python is, by its shape, a plain answer: a bare name, constant or tuple
    (`FINAL(Paris)`, `FINAL(yes, 3)`), a dotted name (`FINAL(input.txt)`, `FINAL(re.findall)`: a file or an API's
    name), a lambda (code asked for), a call of print/exit/quit/input/help/breakpoint, or words joined by Python's
    word operators (`FINAL(not found)`, `FINAL(yes and no)`, `FINAL(found in data)`)."""
    if isinstance(tree, ast.Name | ast.Constant | ast.Tuple | ast.Lambda | ast.BoolOp):
        return True
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
        return True
    if isinstance(tree, ast.Compare) and any(isinstance(op, _WORD_OPERATORS) for op in tree.ops):
        return True
    chain: ast.expr = tree
    while isinstance(chain, ast.Attribute):
        chain = chain.value
    if chain is not tree and isinstance(chain, ast.Name):
        return True
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CODE_ANSWER_CALLS
        for node in ast.walk(tree)
    )


def _parsed(argument: str) -> ast.expr | None:
    try:
        return ast.parse(argument, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


_OBJECT_REPR = re.compile(
    r"<(?:function|built-in function|built-in method|bound method|method|method-wrapper|slot wrapper|class|module"
    r"|ufunc|classmethod|staticmethod|property|member|getset) [^\n]*>"
)
"""str() of a function, method, class or module (what FINAL sends back for one): the argument named it, as text."""


def text_after_all(argument: str, failed: bool, value: object) -> bool:
    """Whether a prose FINAL's argument, run as an expression (`_expression`), was text that parses as Python after
    all: running it raised (any exception: `FINAL(data.csv)`, `FINAL(abs(x))`, `FINAL(str(nn))`), or it named a
    function, method, class or module (`FINAL(re.findall)`). Not so for a string built from names (an f-string, a
    `.format`) or a REPL call: the model clearly meant a value, and is told the error."""
    if _REPL_CALL.search(argument) is not None or _BUILDS_TEXT.match(argument) is not None:
        return False
    return failed or (isinstance(value, str) and _OBJECT_REPR.fullmatch(value) is not None)


_BUILDS_TEXT = re.compile(
    r"""\A(?:[rRbBuU]?[fF][rR]?["']|[rRuU]?["'].*["']\s*+(?:\.\s*+format\s*+\(|[%+]))""", re.DOTALL
)
"""What an argument that builds a string starts as: an f-string, or a string literal formatted or added to."""


_F_STRING = re.compile(r"[rRbBuU]?[fF][rR]?[\"']")
_MOST_FIELDS = 1000
"""Replacement fields an argument may hold to be read as code: CPython parses an f-string's fields in quadratic time,
and no answer is built from more."""


def _computed(argument: str) -> bool:
    """`f"There are {count} items"`, `"{} items".format(n)`, `"n = %d" % n`, `"n: " + str(n)`: one Python expression
    that builds a string from names (the REPL's variables), which only the REPL can fill in. A FINAL of plain text
    (`FINAL(Paris (France))`, `FINAL("a" + "b")`) names no variable inside such an expression."""
    if _BUILDS_TEXT.match(argument) is None or argument.count("{") > _MOST_FIELDS:
        return False
    try:
        tree = ast.parse(argument, mode="eval").body
    except SyntaxError:
        # An f-string with a field this Python cannot parse (PEP 701's `f"{", ".join(x)}"` before 3.12) is still
        # code: the REPL, on the same Python, reports the error to the model instead of its source being the answer.
        return _F_STRING.match(argument) is not None and "{" in argument.replace("{{", "")
    except (ValueError, MemoryError, RecursionError):
        return False
    if isinstance(tree, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in tree.values)
    return isinstance(tree, ast.Call | ast.BinOp) and any(isinstance(node, ast.Name) for node in ast.walk(tree))


def find_final_anywhere(text: str) -> ProseFinal | None:
    """The answer of a reply to the last-turn request, written any way a model writes one when asked for it: a FINAL
    line inside a fenced block (```text, untagged) or a quote (> FINAL(x)), a FINAL( in the middle of a sentence
    ("so FINAL(x)."), a labelled line ("**Final answer:** x"), the text inside answer markup (`<answer>x</answer>`,
    GLM-V's box), or `answer["content"] = "x"` written as prose; of the FINALs, the last one written wins (blocks
    stay where they were written), and one of the template's placeholder (`FINAL(your answer)`, quoted from the
    instructions) is none. For that request only, after its code has had its turn: mid-run, such text is prose about
    an answer, not one."""
    _, reading = _last_turn_reading(text)
    written = "\n".join(piece if block else _without_comments(piece) for piece, block in reading.in_order)
    prose = parse_reply(_QUOTE_MARK.sub("", _FENCE_LINE.sub("", written))).prose  # blocks stay where written
    line, _ = _prose_final([prose])  # the last FINAL line; one within a later line is later still
    floor = line[2] if line is not None else -1
    limit = len(prose)
    for call in reversed(list(_MIDLINE_FINAL.finditer(prose))):
        if call.start() <= floor:
            break
        found = _argument(prose, call.end(), limit)
        limit = call.start()  # each argument is read up to the next call at most: linear however many are unclosed
        if found is not None and found[0] and not _PLACEHOLDER.fullmatch(found[0]):
            return ProseFinal("final", found[0], found[2])
    if line is not None:
        return line[0]
    boxed = _last_boxed(prose)
    if boxed:  # "**Final Answer**" then "\\[ \\boxed{gamma} \\]": what DeepSeek-R1 and QwQ are told to write
        return ProseFinal("final", boxed)
    marked = _inside_markup(prose, _ANSWER_MARKUP)  # <answer>x</answer>: x, unless a label inside says more
    labelled = [match.group("text") for match in _ANSWER_LABEL.finditer(marked or prose)]
    if labelled:
        return ProseFinal("final", labelled[-1])
    if marked:
        return ProseFinal("final", marked)
    assigned = [_literal_text(m.group("value")) for m in _ANSWER_ASSIGNED.finditer(prose)]
    return ProseFinal("final", assigned[-1]) if assigned and assigned[-1] else None


_BOXED = re.compile(r"\\boxed\s*\{")


def _last_boxed(text: str) -> str | None:
    """The text of the last LaTeX `\\boxed{...}` (its braces balanced within 4 KB), stripped; None when there is
    none."""
    found = None
    for match in _BOXED.finditer(text):
        depth, position, limit = 1, match.end(), min(len(text), match.end() + 4096)  # bounded: linear
        while position < limit and depth:
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            position += 1
        if depth == 0 and text[match.end() : position - 1].strip():
            found = text[match.end() : position - 1].strip()
    return found


def _literal_text(value: str) -> str:
    """`answer['content'] = "Paris"` written as prose: the string's value, or the text as written."""
    try:
        literal = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value.strip()
    return literal if isinstance(literal, str) else value.strip()


_QUOTE_MARK = re.compile(r"^[ \t]*+>[ \t]?", re.MULTILINE)
_ANSWER_ASSIGNED = re.compile(
    r"^[ \t`]*+answer\[[\"']content[\"']\][ \t]*+=[ \t]*+(?P<value>[^\n]*?\S)[ \t`;]*+$", re.MULTILINE
)
_MIDLINE_FINAL = re.compile(r"\bFINAL\(")
_ANSWER_LABEL = re.compile(
    rf"^(?:{_BLANK}|[>#*_-])*+(?i:final{_BLANK}++answer|answer|final|{_CJK_LABELS})(?:{_BLANK}|[*_])*+[:\uff1a\ufe55]"
    rf"(?:{_BLANK}|[*_])*+(?P<text>[^\n]*?\S)(?:{_BLANK}|[*_.])*+$",
    re.MULTILINE,
)


def last_turn_text(text: str) -> str:
    """What a last-turn reply that finished no other way says: its prose, without blocks, reasoning, HTML comments
    or tool calls (`<tool_call>{...}</tool_call>`, which no one will run); when it wraps its answer or response in
    markup (`<answer>x</answer>`, `<|START_RESPONSE|>x`), the text inside; when its prose is only a lead-in ("Final
    answer:") to blocks that do not run (```text, untagged, ```json), or there is none, the text of those blocks."""
    prose, reading = _last_turn_reading(text)
    inside = _inside_markup(prose, _RESPONSE_MARKUP + _ANSWER_MARKUP)
    if inside:
        return inside
    if reading.trailing_blocks and (not prose or _LEAD_IN.search(prose)):
        return "\n\n".join(block.strip() for block in reading.trailing_blocks)
    return prose


_LEAD_IN = re.compile(rf"[:\uff1a\ufe55](?:{_BLANK}|[*_])*+\Z")
"""The end of prose that announces what follows it: a colon (maybe full-width, maybe inside bold)."""


_RESPONSE_MARKUP = (  # wrap a whole response, not just its answer: mid-run, the text in them is prose
    ("<response>", "</response>"),  # Granite 3.3, ERNIE 4.5
    ("<|START_RESPONSE|>", "<|END_RESPONSE|>"),  # Cohere Command A
)
_ANSWER_MARKUP = (
    ("<|begin_of_solution|>", "<|end_of_solution|>"),  # Sky-T1, Bespoke-Stratos, OpenThinker
    ("<Output>", "</Output>"),  # Marco-o1
    ("<answer>", "</answer>"),  # DeepSeek-R1's training format, Hunyuan, GLM-V
    ("<|begin_of_box|>", "<|end_of_box|>"),  # GLM-V's box around the final answer, inside its <answer>
)
"""How models wrap the answer itself (opening, closing), outer first, in any case: the text inside is the answer."""


def _inside_markup(text: str, markup: tuple[tuple[str, str], ...]) -> str | None:
    """The text inside the last of each wrapper in turn (outer first), up to its closing or the end (a closing that
    ends a line was dropped as a leaked token); None when `text` holds none with text inside. Linear: one search
    back and one forward per wrapper."""
    inside = None
    for opening, closing in markup:
        openings = [match for match in re.finditer(re.escape(opening), text, re.IGNORECASE)]
        last = openings[-1] if openings else None
        if last is None or text[last.start() - 1 : last.start()] == "`":  # none, or one written about ("`<answer>`")
            continue
        end = re.compile(re.escape(closing), re.IGNORECASE).search(text, last.end())
        found = text[last.end() : end.start() if end is not None else len(text)].strip()
        if found:
            text = inside = found
    return inside


def _last_turn_reading(text: str) -> tuple[str, Reply]:
    """(prose, the parsed reply) of a last-turn reply, without what it does not say: tool calls, reasoning (Open
    WebUI's quoted `<details type="reasoning">` too) and HTML comments. Its code has had its turn, so whatever these
    cut from it no longer matters."""
    parsed = parse_reply(_TOOL_CALL.sub("", _OPEN_WEBUI_REASONING.sub("", text)))
    return _without_comments(parsed.prose).strip(), parsed


_OPEN_WEBUI_REASONING = re.compile(
    r"^[ \t]*+<details[ \t][^>\n]{0,200}?\btype=[\"']?reasoning\b[^>\n]{0,200}>.*?(?:^[ \t]*+</details>|\Z)",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)
"""Reasoning as Open WebUI writes it into a reply (its lines quoted with "> "), to its `</details>` line or the end:
`<details type="reasoning" done="true" duration="2">`, `<summary>Thought for 2 seconds</summary>`, `> ...`."""


THREAD_ABOVE_CHARS = 64 * 1024
"""Replies (and reply bodies) this long are read on a worker thread, not on the event loop that awaits them."""


async def aparse_reply(text: str) -> Reply:
    """`parse_reply` for the event loop: a long reply is parsed on a worker thread, so other runs on the same loop
    (the server's) are not held up even by a megabyte of text."""
    if len(text) < THREAD_ABOVE_CHARS:
        return parse_reply(text)
    return await asyncio.to_thread(parse_reply, text)
