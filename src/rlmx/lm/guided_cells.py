"""Code the guided root runs inside the REPL: split the text into its natural units, rank them, read, verify, answer.

Self-contained, stdlib only but for snowballstemmer (optional: without it, a light stem): GuidedRoot sends this
file's source as a REPL cell, so it runs in the sandbox like any model-written code (and shows in the trace as
such). Functions take their REPL helpers as arguments, so they can be tested on the host too.

The pipeline, evidence first:
* units: lines of a record file, verses of a numbered scripture, entries of a glossary, paragraphs (cut at
  sentences when long) of prose; each keeps where it came from (source, line, verse reference, entry name);
* ranking: BM25 with Porter stemming (SQLite FTS5 when this Python's sqlite has it, else a small BM25 here),
  then a rerank by how much of the question's weight (idf) a unit covers and by adjacent query-word pairs;
  a word matches its other forms ("wrote" / "written", "died" / "death", "children" / "child", case,
  diacritics and possessives aside) the same way on the index side and the question's (`stem`, `word_forms`);
* reading: the sub-LM reads the best unit (its best sentence when long) twice, in two wordings; a reply counts
  only as a span copied from the unit that is not a question word, a stop word or one of the text's most
  frequent words, that fits the question's type (a number for "how many", a time for "when", a name for "who"),
  and on which both readings agree;
* answering: the verified span with its unit and location; else the best units quoted with their locations and
  labelled as such; NOT FOUND when no unit covers enough of the question;
* counting and listing ("how many X contain Y", "how often does Y occur", "which X ... most", "list ...") are
  answered by code over the units, saying what was counted.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import statistics
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from itertools import accumulate, pairwise
from typing import Any

from rlmx.sandbox.graphemes import boundary_before  # in the REPL, graphemes' own source stands here (guided.py)

NOT_FOUND = "NOT FOUND"
UNIT_CHARS = 600
"""Longest unit, in characters: longer paragraphs and entries are cut at sentence ends."""
NAMED_COVER = 0.8
"""Share of the idf weight of the terms the question names (capitals, digits, quotes) a unit must hold."""
MIN_COVER_NAMED = 0.3
"""... and of all its terms that occur in the text, for such a question."""
READS = 3
"""Units quoted as evidence when no short answer verifies (the sub-LM reads only the best one)."""
MIN_COVER = 0.6
"""Share of the question's idf weight the best unit must hold, else NOT FOUND; measured on absent-fact questions
(benchmarks/realtext)."""

ENGLISH_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours tell give find name named called please exactly text document
    context mentioned according say says said whose many much also ever unto thee thou thy ye shall hath doth""".split()
)
STOPWORDS = ENGLISH_STOPWORDS | frozenset(
    """der die das den dem des ein eine einer eines einem und oder ist sind war wer was wie wo wann warum welche
    welcher welches im in ist von zu mit auf für nicht es sie er wir ihr ich dass hat haben wird werden heißt
    le la les un une des du de et ou est sont qui que quoi quel quelle quels quelles où quand comment pourquoi
    dans pour par sur avec ce cette ces il elle ils elles nous vous je au aux se sa son ses leur
    el los las del y o es son quién qué cuál cuándo dónde cómo por para con en al lo una uno
    il lo gli di da che chi cosa quale quando dove come per con non è""".split()
)
CJK_STOP = frozenset("的是了吗呢在有和与个这那为请问什么谁哪里多少几吗呀啊也都就把被给从到对")
NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million
    billion first second third fourth fifth sixth seventh eighth ninth tenth score""".split()
)
_TIME_WORDS = NUMBER_WORDS | frozenset(
    """january february march april may june july august september october november december jan feb mar apr jun
    jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday spring summer autumn fall
    winter dawn dusk morning noon afternoon evening night midnight sunrise sunset day days week weeks month months
    year years decade decades century centuries ago today yesterday tomorrow before after during until since
    when while then later earlier once""".split()
)
"""Words of an answer to "when": a date or a time in words (a digit also does)."""
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_HEADWORD = re.compile(r"^[ \t]{0,8}:([^:\n]{1,80}):(?=\s|$)")
_CHAPTER = re.compile(r"^((?:[1-4] )?[A-Z][A-Za-z]+(?: (?:of )?[A-Z][A-Za-z]+)*) (\d{1,3})\s*$")
_NUMBERED = re.compile(r"^\s{0,4}(\d{1,3})[ \t]+(\S.*)$")
_INLINE_REF = re.compile(r"^\s*((?:[1-4] ?)?[A-Z][A-Za-z]+\.?) ?(\d{1,3}):(\d{1,3})[ \t]+(\S.*)$")
_UNDERLINE = re.compile(r"^\s*([=\-~^*#+])\1{2,}\s*$")
_HEX_PREFIX = re.compile(r"\b(?:0x|U\+)(?=[0-9A-Fa-f]{2,6}\b)")
_BULLET = re.compile(r"^\s{0,8}(?:[-*•+]|\d{1,3}[.)])\s+(?=\S)")
_INITIAL = "".join(rf"(?<!\b[A-Z][a-z]{{{n}}} [A-Z]\.)" for n in range(1, 15)) + (
    r"(?<!\b[A-Z]\. [A-Z]\.)(?<![.!?] [A-Z]\.)(?<!^[A-Z]\.)"
)
"""Not after an initial: a capital and a dot after a capitalised word ("Michael K."), after another initial
("J. R."), or opening the text or a sentence ("J. R. R. Tolkien"); but after a capital that follows a lowercase
word or a sign ("hall A.", "-X.", "matrix B."), which ends a sentence. (A lookbehind has a fixed width: one per
length of the word before.)"""
_SENTENCE_END = re.compile(
    r"(?<=[.!?;])"
    + _INITIAL
    + r"(?<!\b[A-Z][a-z]\.)(?<!\bMrs\.)(?<!\b[eE]\.g\.)(?<!\b[iI]\.e\.)(?<!\bcf\.)(?<!\bvs\.)\s+"
)
"""Where a sentence ends: after ".", "!", "?" or ";" and the space after it, but not after an initial ("Michael
K. Johnson": "Michael K." is no sentence, and a name read from it is cut short; `_INITIAL`), a title or
abbreviation of two letters ("Dr.", "Mr.", "St.", "Jr."), "Mrs.", "e.g.", "i.e.", "cf." or "vs."."""
_NAME_TITLES = frozenset("mr mrs ms dr prof st jr sr rev fr".split())
"""Titles written with a dot ("Mrs. Jones"): no sentence ends after one, and alone one names nobody."""
_FULL_STOP = re.compile(_SENTENCE_END.pattern.replace("[.!?;]", "[.!?]", 1))
"""Where a sentence ends at a full stop, not at a semicolon: an option entry's first sentence runs on over its
semicolons, as a man page writes "-y  Do not show flags; show rss in place of addr."."""
_DIRECTIVE = re.compile(r"^\s*\.\. ([\w:-]+):: ?(.*)$")
_API_DIRECTIVES = frozenset(
    "function method class exception data attribute decorator decoratormethod classmethod staticmethod "
    "py:function py:method py:class py:attribute py:data opcode envvar option cmdoption describe".split()
)
_POSSESSIVE = re.compile(r"['’]s?$")
_ROLE = re.compile(r":[\w:.-]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`")


def _clean(text: str) -> str:
    """reStructuredText and Markdown markup out of a unit (":func:`open`" -> "open", "``x``" -> "x"; a code fence
    with its language, "```sh python -m pip ```" -> "python -m pip", whose "sh" is no word of the text)."""
    if "`" not in text and "**" not in text and "~~~" not in text:
        return text
    if "```" in text or "~~~" in text:
        text = " ".join(_FENCE_MARK.sub(" ", text).split())
    return _ROLE.sub(r"\1", text).replace("``", "").replace("**", "")


_FENCE_MARK = re.compile(r"(?:`{3,}|~{3,})[\w+#.-]*")
"""A Markdown code fence's marker and the language after it (its info string)."""


# --- sources and units ----------------------------------------------------------------------------


def collect_sources(variables: dict[str, Any], pages: Collection[str] = ()) -> list[tuple[Any, ...]]:
    """The context variables as sources: (name, text) for a str, (name, text, records) for a structured value (a
    list, a JSON object), a dict of files (a folder) one source per file, a list of long texts (document pages)
    one source per item ("context[2]"). `records` is [(location, fields)], one per record, `fields` a {key: value
    text} dict; `text` then holds one rendered record per line (for counting). `pages`: the variables that hold a
    PDF's pages (the host knows, from the file it loaded): each page is a source named by its page number ("page
    52", 1-based), as are the pages of a folder's `.pdf` files ("contract.pdf, page 52")."""
    sources: list[tuple[Any, ...]] = []
    for name, value in variables.items():
        if isinstance(value, str):
            sources.append((name, value))
        elif isinstance(value, dict) and value and _folder(value):
            for key, item in value.items():
                pdf = str(key).lower().endswith(".pdf")
                sources.extend(_page_sources(f"{key}, page", item) if pdf else _sources(str(key), item))
        elif name in pages and isinstance(value, list):
            sources.extend(_page_sources("page" if len(variables) == 1 else f"{name}, page", value))
        elif isinstance(value, list | dict):
            sources.extend(_sources(name, value))
    return sources


_PAGE_NAME = re.compile(r"\bpage \d+$")


def _page_sources(label: str, value: Any) -> list[tuple[Any, ...]]:
    """A PDF's pages, one source each, named "{label} {number}" (1-based, as a reader counts pages)."""
    if not (isinstance(value, list) and all(isinstance(page, str) for page in value)):
        return _sources(label.removesuffix(", page").removesuffix("page") or "pages", value)
    return [(f"{label} {number}", page) for number, page in enumerate(value, 1)]


def _folder(value: dict[Any, Any]) -> bool:
    """A folder (file path -> its text or loaded document), not a JSON object: its keys are paths, or its values
    are all multi-line texts."""
    paths = all(isinstance(k, str) and re.search(r"[./]\w", k) for k in value)
    return paths or all(isinstance(v, str) and "\n" in v.strip() for v in value.values())


def _sources(name: str, value: Any) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [(name, value)]
    texts = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    if texts and any(len(v) > UNIT_CHARS or "\n" in v.strip() for v in value):  # pages: each a text of its own
        return [(f"{name}[{i}]", text) for i, text in enumerate(value)]
    records = _records(value, "")
    return [(name, "\n".join(render(fields) for _, fields in records), records)]


def _records(value: Any, path: str) -> list[tuple[str, dict[str, str]]]:
    """A JSON value cut into records: each item of a list, the scalar fields of an object (its lists and objects
    are records of their own, under their path), a scalar alone. Locations are Python index paths."""
    if isinstance(value, list):
        found: list[tuple[str, dict[str, str]]] = []
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            if _container(item):  # a record holding records (a team with its players): those, by path
                found.extend(_records(item, where))
            else:
                found.append((where, _fields(item)))
        return found
    if isinstance(value, dict):
        flat = {str(k): v for k, v in value.items() if not _container(v)}
        found = [(path, _fields(flat))] if flat else []
        for key, item in value.items():
            if _container(item):
                found.extend(_records(item, f"{path}[{str(key)!r}]"))
        return found
    return [(path, _fields(value))]


def _container(value: Any) -> bool:
    """A value that holds records of its own (not a list of a few scalars, which stays a field)."""
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value))


def _fields(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): _scalar(v) for k, v in value.items()}
    return {"": _scalar(value)}


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return " ".join(text.split())


def render(fields: dict[str, str]) -> str:
    """A record as text a small model reads: "name: Maria Lindqvist; role: goalkeeper" (a bare value alone)."""
    return "; ".join(f"{k}: {v}" if k else v for k, v in fields.items())


def detect_shape(text: str) -> str:
    """ "records" (one fact per line), "lines" (a short list of lines, `_short_list`), "yaml" (a nested YAML mapping
    with blank lines, `_is_yaml`: a unit a line, named by the keys it is under), "verses" (numbered verses
    under chapter headings, or "Book 1:2" lines), "entries" (":headword:" glossary) or "paragraphs" (prose,
    documentation)."""
    lines = text.split("\n")
    sample = lines if len(lines) <= 40_000 else lines[:: max(1, len(lines) // 40_000)]
    nonblank = [line for line in sample if line.strip()]
    if not nonblank:
        return "paragraphs"
    headwords = sum(1 for i, line in enumerate(sample) if _HEADWORD.match(line) and not sample[i - 1].strip())
    directives = sum(1 for line in nonblank if _DIRECTIVE.match(line))
    if headwords >= 20 and directives < headwords:  # not reStructuredText, whose field lists look alike
        return "entries"
    numbered = sum(1 for line in nonblank if _NUMBERED.match(line) or _INLINE_REF.match(line))
    if numbered >= 20 and numbered >= 0.6 * len(nonblank):
        return "verses"
    if sum(1 for line in sample if _CHANGELOG_HEADER.match(line)) >= 3:
        return "changelog"
    separators = sum(1 for i, line in enumerate(sample) if _is_separator(line, sample[i - 1] if i else ""))
    if separators >= 5 and separators >= 0.03 * len(nonblank):
        return "separated"
    if len(nonblank) < 2_000 and any(_INI_SECTION.match(line) for line in nonblank) and _ini_lines(nonblank):
        return "paragraphs"  # an INI file, blank lines between its sections or not: each key under its section
    if len(nonblank) < 2_000 and len(nonblank) < len(sample) and _is_yaml(nonblank):
        return "yaml"  # blank lines part its blocks, but a line belongs under the keys above it, not to a paragraph
    blank_share = 1 - len(nonblank) / len(sample)
    if len(nonblank) >= 20 and blank_share < 0.05 and statistics.median(len(x) for x in nonblank) < 300:
        return "records"
    if _short_list(lines):
        return "lines"  # cut as records are, one unit a line, but read by no rule made for a file of records
    return "paragraphs"


_YAML_LINE = re.compile(
    r"""^[ \t]*(?:-[ \t]+)?(?:[\w./-]+|"[^"\n]+"|'[^'\n]+')[ \t]*:(?:[ \t]|$)|^[ \t]*-[ \t]+\S|^---\s*$"""
)
_YAML_PARENT = re.compile(r"^([ \t]*)(?:-[ \t]+)?[\w./\"'-]+[ \t]*:[ \t]*(?:#.*)?$")


def _is_yaml(nonblank: list[str]) -> bool:
    """Whether the non-blank lines are a YAML mapping nested by indentation (a compose file, a CI workflow): nine
    in ten lines a `key:` or a `- item` (comments aside), five at least, and a `key:` with nothing after it
    that a deeper line follows. Its blocks may be parted by blank lines; its lines are read under their keys."""
    lines = [line for line in nonblank if not line.lstrip().startswith("#")]
    if len(lines) < 5 or any("\t" in line[: len(line) - len(line.lstrip())] for line in lines):
        return False
    shaped = sum(1 for line in lines if _YAML_LINE.match(line))
    nested = any(_YAML_PARENT.match(line) and _indent(after) > _indent(line) for line, after in pairwise(lines))
    return nested and shaped >= 0.9 * len(lines)


_SHORT_LIST = 20
"""Fewer non-blank lines than this, none blank between them, make a short list when they are not wrapped prose
(`_short_list`); from this many on, the blank share decides (`detect_shape`)."""
_WRAP_WIDTH = 50
"""Characters of a line at or over which a line that runs on into a lowercase next line is wrapped prose: text
wrapped at 60 to 80 columns fills its lines to about that, a note or a list item seldom does."""


def _short_list(lines: list[str]) -> bool:
    """Whether a text of 2 to 19 non-blank lines with no blank line between them is a list of one-line items, each
    a record or an item ("Bob Jones - 555-0102", "buy milk", "Attendees: Maria, Tom, Anil", "IP: 10.0.4.17"),
    rather than prose whose units span lines. Prose is wrapped (a line ends inside a sentence: on a comma, on a
    word that needs the next one, "the", "is", "on", or at 50+ columns before a lowercase line) or is a note of
    sentences ("The meeting moved to Thursday." / "It now starts at 3 pm."), whose later sentences lean on the
    earlier ones. Joined into one paragraph, a list's lines lose their edges: the value of one line read as the
    next line's, a count of items of 1; cut into lines, prose loses what a sentence says about its subject."""
    body = [line.rstrip() for line in lines]
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    titled = len(body) > 2 and not body[1].strip() and _a_heading(body[0])
    while titled and not body[1].strip():  # "Family & friends", a blank line, the list: a title set off
        body.pop(1)
    if not (3 if titled else 2) <= len(body) < _SHORT_LIST or any(not line.strip() for line in body):
        return False
    if statistics.median(len(line) for line in body) >= 300:
        return False
    runs_on = sum(1 for line, after in pairwise(body) if _runs_on(line, after))
    if runs_on >= 0.5 * (len(body) - 1):
        return False
    rest = body[1:] if titled or _a_title(body) else body
    sentences = sum(1 for line in rest if _LINE_SENTENCE.match(line) and not _ITEM_LINE.match(line))
    return not (sentences >= 2 and sentences >= 0.5 * len(rest))


_ITEM_LINE = re.compile(r"^\s*(?:[-*+\u2022]\s|\d{1,3}[.)]\s|#|[^\s:][^:]{0,30}?:(?:\s|$))")
"""A line that is an item whatever it says: a bullet ("- buy milk"), a numbered item, a heading or comment, or a
key of up to 31 characters and its value ("IP: 10.0.4.17", "Launch code: 7391-KESTREL", "Agreed: the hall is
booked for May 3.")."""
_LINE_SENTENCE = re.compile(r"^\s*[\"'(]?[A-Z][^\n]*?\S\s+\S+\s+\S[^\n]*[.!?][\"')]?$")
"""A line that is a sentence of three or more words: a capital first, a full stop, "!" or "?" last."""
_RUN_ON_WORDS = frozenset(
    "a an the of to in on at by for with from into onto and or but nor than as is are was were be been has have "
    "had that which whose this these those its their his her our your my".split()
)
"""Words no sentence ends on: a line ending on one goes on in the next ("approved by the board on" / "Tuesday")."""


def _runs_on(line: str, after: str) -> bool:
    """Whether `line` of a short text is wrapped prose that goes on in the next line `after`: it ends on a comma,
    a hyphen or a word that needs the next one ("the", "is"), or, with no closing punctuation, before a lowercase
    line when it fills 50+ columns or starts a sentence of 4+ words ("The launch code for the Aurora" / "project,
    approved"; a list's items start alike, "sweep the porch" / "feed the cat")."""
    stripped = line.strip()
    last = stripped.rsplit(None, 1)[-1] if stripped else ""
    if stripped.endswith(",") or (stripped.endswith("-") and not stripped.endswith("--")):
        return True
    if last.lower() in _RUN_ON_WORDS and len(stripped.split()) >= 3:
        return True
    if not (stripped[-1:].isalnum() and after.lstrip()[:1].islower()):
        return False
    return len(stripped) >= _WRAP_WIDTH or (stripped[:1].isupper() and len(stripped.split()) >= 4)


def _a_heading(line: str) -> bool:
    """Whether a line set off by a blank line above a short text's other lines reads as their title: a Markdown
    heading, a label ending in a colon, or up to 8 words with no key and no closing punctuation ("Family &
    friends", "Groceries:", "# chores"); a sentence ("The meeting moved.") or an item ("IP: 10.0.4.17") is none."""
    first = line.strip()
    if first.startswith("#") or (first.endswith(":") and len(first.split()) <= 8):
        return True
    return bool(first) and not _ITEM_LINE.match(first) and first[-1] not in ".!?,;" and len(first.split()) <= 8


def _a_title(body: list[str]) -> bool:
    """Whether the first of a short text's lines titles the rest ("db-prod-2", "Project Aurora", "# chores",
    "Groceries:"): a heading, a line ending in a colon, or a short line with no key and no closing punctuation
    above lines most of which are keyed or bulleted items ("IP: 10.0.4.17", "- buy milk")."""
    first = body[0].strip()
    if len(body) < 2 or not first:
        return False
    if first.startswith("#") or (first.endswith(":") and len(first.split()) <= 8):
        return True
    if _ITEM_LINE.match(first) or first[-1] in ".!?,;" or len(first.split()) > 8:
        return False
    return 2 * sum(1 for line in body[1:] if _ITEM_LINE.match(line)) >= len(body) - 1


_SEPARATOR = re.compile(r"^\s*(?:%%?|([-=*_~#])\1{2,})\s*$")


def _is_separator(line: str, previous: str, percent: bool = False) -> bool:
    """A line that only separates entries: "%" (fortune files, strfile's format) anywhere, or a rule of dashes,
    stars, equals ... after a blank line (right under a title it underlines the title). `percent`: a text
    separated by "%" lines, where a rule is part of an entry (ASCII art)."""
    match = _SEPARATOR.match(line)
    if match is None or (percent and match.group(1) is not None):
        return False
    return match.group(1) is None or not previous.strip()


def split_units(sources: list[tuple[Any, ...]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every source cut into units, and each source's shape. A unit is a dict: `text` (whitespace collapsed),
    `name` (verse reference, entry name, record key or section heading; may be ""), `where` (human-readable
    location), `source`, `line` (1-based) and `kind` ("line", "verse", "entry", "paragraph")."""
    units: list[dict[str, Any]] = []
    shapes: list[str] = []
    for source in sources:
        name, text = source[0], source[1]
        if len(source) == 2 and isinstance(text, str):
            text = _unframed(text)
        shape = "records" if len(source) > 2 else detect_shape(text)
        if shape in ("paragraphs", "lines") and len(text) < 200_000 and table_of(text.split("\n")) is not None:
            shape = "records"  # a small table (a few CSV rows): one unit per row, never one for the whole table
        shapes.append(shape)
        prefix = f"{name}, " if len(sources) > 1 or _PAGE_NAME.search(str(name)) else ""
        if len(source) > 2:
            made = _structured_units(source[2])
        elif shape in ("paragraphs", "records") and (rows := _sql_rows(text)):
            made = _sql_units(text, rows, shape)
        elif shape in ("records", "lines", "yaml"):
            made = _record_units(text, keyed=shape != "lines", tree=shape == "yaml")
        elif shape == "verses":
            made = _verse_units(text)
        elif shape == "separated":
            made = _separated_units(text)
        elif shape == "changelog":
            made = _changelog_units(text)
        else:
            made = _paragraph_units(text, entries=shape == "entries")
        for unit in made:
            unit["source"] = name
            unit["where"] = prefix + unit["where"]
        units.extend(made)
    return units, shapes


_SQL_NAME = r"(?:`[^`\n]+`|\"[^\"\n]+\"|\[[^\]\n]+\]|[\w.]+)"
_SQL_INSERT = re.compile(
    rf"(?im)^[ \t]*INSERT[ \t]+(?:IGNORE[ \t]+)?INTO[ \t]+({_SQL_NAME})\s*(?:\(([^()]*)\))?\s*VALUES\s*"
)
_SQL_CREATE = re.compile(rf"(?im)^[ \t]*CREATE[ \t]+TABLE[ \t]+(?:IF[ \t]+NOT[ \t]+EXISTS[ \t]+)?({_SQL_NAME})\s*\(")
_SQL_NOT_A_COLUMN = re.compile(r"(?i)^\s*(?:PRIMARY|UNIQUE|KEY|INDEX|CONSTRAINT|FOREIGN|CHECK|FULLTEXT|SPATIAL)\b")
_SQL_VALUE = re.compile(r"""\s*('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|[^,'"]*?)\s*(?:,|$)""")


def _sql_bare(name: str) -> str:
    """A table's or column's name without its quotes (`sku`, "sku", [sku]) or schema (shop.products)."""
    return name.strip().strip('`"[]').split(".")[-1].strip('`"[]')


def _sql_group(text: str, at: int) -> int | None:
    """Where the parenthesised group opening at `text[at]` ("(") closes (the index after its ")"), its quoted
    strings skipped; None when it never closes."""
    depth, i = 0, at
    while i < len(text):
        c = text[i]
        if c in "'\"":
            m = re.compile(rf"{c}(?:[^{c}\\]|\\.|{c}{c})*{c}").match(text, i)
            i = m.end() if m else len(text)
            continue
        depth += c == "("
        depth -= c == ")"
        i += 1
        if depth == 0:
            return i
    return None


def _sql_values(group: str) -> list[str]:
    """The values of one tuple's inside ("1,'Wall Shelf, oak',89.00,NULL"), unquoted; NULL is ""."""
    values: list[str] = []
    at = 0
    while (at < len(group) or not values) and (m := _SQL_VALUE.match(group, at)) is not None:
        at = m.end() if m.end() > at else len(group) + 1  # (an empty match ends the tuple)
        value = m.group(1)
        if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) > 1:
            value = value[1:-1].replace(value[0] * 2, value[0]).replace("\\" + value[0], value[0])
        elif value.upper() == "NULL":
            value = ""
        values.append(value)
    return values


def _sql_rows(text: str) -> list[tuple[int, int, str, list[str], list[tuple[int, list[str]]]]]:
    """The INSERT statements of an SQL dump, each (start, end offset, table, its columns, its rows: (1-based line,
    values)); a statement that lists no columns takes its table's CREATE TABLE order (column definitions, not keys
    or constraints). [] for a text with none, or that is no SQL (a tuple that never closes)."""
    if "insert" not in text[:2_000_000].lower():
        return []
    columns: dict[str, list[str]] = {}
    for create in _SQL_CREATE.finditer(text):
        end = _sql_group(text, create.end() - 1)
        if end is None:
            continue
        parts, depth, piece = [], 0, ""
        for c in text[create.end() : end - 1]:  # split at top-level commas: decimal(10,2) is one type
            depth += (c == "(") - (c == ")")
            if c == "," and depth == 0:
                parts.append(piece)
                piece = ""
            else:
                piece += c
        parts.append(piece)
        names = [p.split()[0] for p in parts if p.strip() and not _SQL_NOT_A_COLUMN.match(p)]
        columns[_sql_bare(create.group(1)).lower()] = [_sql_bare(n) for n in names]
    found = []
    for insert in _SQL_INSERT.finditer(text):
        table = _sql_bare(insert.group(1))
        named = [_sql_bare(c) for c in insert.group(2).split(",")] if insert.group(2) else None
        rows, at = [], insert.end()
        while at < len(text) and text[at] == "(":
            end = _sql_group(text, at)
            if end is None:
                return []
            rows.append((text.count("\n", 0, at) + 1, _sql_values(text[at + 1 : end - 1])))
            at = end + len(re.match(r"\s*,?\s*", text[end:]).group(0))  # type: ignore[union-attr]
        at += text.startswith(";", at)
        if rows:
            found.append((insert.start(), at, table, named or columns.get(table.lower(), []), rows))
    return found


def _sql_units(
    text: str, statements: list[tuple[int, int, str, list[str], list[tuple[int, list[str]]]]], shape: str
) -> list[dict[str, Any]]:
    """An SQL dump's units: each row an INSERT statement adds is a record of its own, its values named by their
    columns ("sku: SHF-220; title: Wall Shelf, oak") and the record named by its table, so a question finds a
    row by a value and asks a column the CREATE TABLE names (audit 88b v13: the rows were one paragraph and `sku`
    only in the schema). The rest of the text (the schema, comments) is cut as its shape cuts it."""
    kept = list(text)
    for start, end, *_ in statements:  # the statements blanked, line breaks kept: the rest keeps its line numbers
        kept[start:end] = [c if c == "\n" else " " for c in text[start:end]]
    rest = "".join(kept)
    units = _record_units(rest) if shape == "records" else _paragraph_units(rest, entries=False)
    counted: Counter[str] = Counter()  # rows per table, over all its statements
    for _, _, table, columns, rows in statements:
        for line, values in rows:
            counted[table] += 1
            number = counted[table]
            names = columns if len(columns) == len(values) else [f"column {i}" for i in range(1, len(values) + 1)]
            unit = _record_unit(dict(zip(names, values, strict=True)), line, f"line {line:,}")
            unit.update(name=table, table=table, where=f"line {line:,} ({table}, row {number:,})")
            units.append(unit)
    return sorted(units, key=lambda u: u["line"])


_BOX_BORDER = re.compile(r"[ \t]*\*{10,}[ \t]*")
_BOX_LINE = re.compile(r"[ \t]*\*(.*?)\*[ \t]*")


def _unframed(text: str) -> str:
    """`text` with each box drawn in `*` (a border line of ten or more, lines that start and end with `*`, a
    border line; licenses box their disclaimers so) unframed: borders become blank lines and each framed line
    its inner text, less the box's common indentation, so the sections inside are paragraphs under their own
    headings. Line numbers are kept; text with no box is returned as it is."""
    if "*" * 10 not in text:
        return text
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not _BOX_BORDER.fullmatch(lines[i]):
            i += 1
            continue
        j = i + 1
        inner: list[str] = []
        while j < len(lines) and not _BOX_BORDER.fullmatch(lines[j]) and (framed := _BOX_LINE.fullmatch(lines[j])):
            inner.append(framed.group(1).rstrip())
            j += 1
        if j >= len(lines) or not inner or not _BOX_BORDER.fullmatch(lines[j]):
            i = j if j > i + 1 else i + 1
            continue
        indent = min((len(x) - len(x.lstrip()) for x in inner if x.strip()), default=0)
        lines[i : j + 1] = ["", *(x[indent:] for x in inner), ""]
        i = j + 1
    return "\n".join(lines)


def _record_unit(fields: dict[str, str], line: int, where: str) -> dict[str, Any]:
    """One record as one unit: its fields rendered as "key: value" text, its first value as its name. `fields`
    (the values, lower-cased) let an answer be checked as a whole field of this record only."""
    name = _clipped(next((v for v in fields.values() if v), ""), 40)
    return {
        "text": render(fields),
        "name": name,
        "where": f"{where} ({name})" if name else where,
        "line": line,
        "kind": "line",
        "fields": [v.lower() for v in fields.values()],
        "keys": [k.lower() for k in fields],
    }


def _structured_units(records: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """One unit per record of a structured value; the location counts records (1-based) and gives the index path
    when the record is nested ("record 3, ['players'][1]")."""
    units = []
    for number, (path, fields) in enumerate(records, 1):
        nested = path and path != f"[{number - 1}]"
        unit = _record_unit(fields, number, f"record {number:,}" + (f", {path}" if nested else ""))
        section = _section_keys(path)
        if section:  # an object's section ("database" of {"database": {"port": 5432}}) names its record
            unit["name"] = section
            unit["where"] = f"record {number:,}, {path}"
        units.append(unit)
    return units


def _section_keys(path: str) -> str:
    """The object keys of a record's index path that end it ("database" of "['database']", "database / replica"
    of "['database']['replica']"; "" for a list's item, "['players'][1]", which its first value names): a nested
    configuration's section, which a question names as it names an INI's `[database]` (audit 85 v05)."""
    steps = re.findall(r"\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+)\]", path)
    if not steps or steps[-1][:1] not in "'\"":
        return ""
    keys: list[str] = []
    for step in reversed(steps):
        if step[:1] not in "'\"":
            break
        keys.insert(0, step[1:-1])
    return _clipped(" / ".join(keys), 80)


_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
"""A markdown table's rule under its header row: '|---|---|', '| :-- | --: |'."""


def _table_rule(line: str) -> bool:
    """Whether `line` is a markdown table's rule row (`_TABLE_RULE`, with at least one '|')."""
    return "|" in line and bool(_TABLE_RULE.match(line))


def table_start(lines: list[str]) -> int:
    """The index (0-based) of a table's first row in `lines`: its first non-blank line, or the line after a one-line
    title set off by a blank line ('Trip expenses', a blank line, 'Item,Amount'; audit 83 v09) when the rest is a
    table and the title is no row of it. 0 for no non-blank line."""
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    if first + 2 < len(lines) and not lines[first + 1].strip() and not lines[first].rstrip().endswith((".", ":")):
        below = [line for line in lines[first + 1 : first + 2001] if line.strip()]
        if len(below) < 3 or any(_BULLET.match(line) for line in below):
            return first  # a header and one row, or a list's items ('- Maria: goalkeeper, Herons'): no table
        rest = table_of(lines[first + 1 :], titled=False)
        if rest is not None and rest[0] != "json" and rest[1] is not None and rest[0] not in lines[first]:
            return next(i for i in range(first + 1, len(lines)) if lines[i].strip())
    return first


def table_of(lines: list[str], *, strict: bool = False, titled: bool = True) -> tuple[str, list[str] | None] | None:
    """Whether lines are a table: ("json", None) for JSON Lines, (delimiter, header or None) for delimited rows
    with the same number (2 or more) of fields each; None for anything else (prose, a list of sentences).
    `strict` (a block inside prose, where wrapped sentences must not pass): short cells, no line ending in ":".
    A markdown table ('| Item | Amount |' over '|---|---|') is one with '|' as its delimiter and its first row as
    its header; its rule row is no row. When `titled`, a one-line title above the table (`table_start`) is no row
    of it either (audit 83 v05/v06/v09: such tables answered '|' or NOT FOUND)."""
    if titled and not strict:
        start = table_start(lines)
        below = table_of(lines[start:], titled=False) if start else None
        if below is not None:
            return below
    rows = [line.strip() for line in lines if line.strip() and not _table_rule(line)]
    if len(rows) < 2:
        return None
    if all(r.startswith("{") and r.endswith("}") for r in rows):
        return ("json", None)
    if any(r.endswith((".", "!", "?")) for r in rows[:50]):
        return None  # sentences
    sample = rows[:2000]
    for delimiter in ",\t;|":
        if delimiter not in sample[0]:
            continue
        cells = [_cells(r, delimiter) for r in sample]
        if strict and any(
            r.endswith(":") or any(len(c.split()) > 5 for c in row) for r, row in zip(sample, cells, strict=True)
        ):
            return None
        widths = {len(row) for row in cells}
        if len(widths) == 1 and widths.pop() >= 2:
            first = _cells(rows[0], delimiter)
            written = [x for x in lines[:3] if x.strip()]
            ruled = delimiter == "|" and len(written) > 1 and _table_rule(written[1])  # a markdown header row
            header = (
                (delimiter in ",\t" or ruled)
                # (under a markdown rule row the first row is the header, digits and all: '5G', 'Q1', audit 86c v06)
                and all(c and len(c) <= 40 and (ruled or not re.search(r"\d", c)) for c in first)
                and len(set(first)) == len(first)
            )
            return (delimiter, first if header else None)
    return None


def _cells(line: str, delimiter: str) -> list[str]:
    """The cells of a delimited row; a markdown row's outer pipes ('| Hotel | 320 |') bound no cell."""
    import csv

    if delimiter == "|" and line.strip().startswith("|") and line.strip().endswith("|") and len(line.strip()) > 1:
        line = line.strip()[1:-1]
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return line.split(delimiter)


_ITEM_BULLET = re.compile(r"^(\s*)(?:[-*+\u2022]|\d{1,3}[.)])\s")


def _continues_an_item(line: str, item: str) -> bool:
    """Whether `line` goes on with the bulleted `item` line above it: no bullet of its own, indented past the
    bullet ("- call the plumber about the" / "  leaking tap in the kitchen")."""
    bullet = _ITEM_BULLET.match(item)
    indent = len(line) - len(line.lstrip(" \t"))
    return bullet is not None and not _ITEM_BULLET.match(line) and indent > len(bullet.group(1))


def _record_units(text: str, keyed: bool = True, tree: bool = False) -> list[dict[str, Any]]:
    """One unit per line of a record file; a table with a header row gets "column: value" units (the header
    itself is no unit), JSON Lines their fields. Locations are file lines, with the line's first field, its key,
    when `keyed` (a short list's line, "The deposit is 900 crowns", has no key: "line 4", not "line 4 (The)")."""
    lines = text.split("\n")
    table = table_of(lines[:2000])
    if table is not None and (table[0] == "json" or table[1] is not None):
        separator, header = table
        units: list[dict[str, Any]] = []
        header_line = table_start(lines)
        for number, line in enumerate(lines, 1):
            if not line.strip() or (header is not None and number == header_line + 1) or _table_rule(line):
                continue
            if number <= header_line:  # the table's title: a line of its own
                units.append({"text": " ".join(line.split()), "name": "", "where": f"line {number:,}"})
                units[-1]["line"], units[-1]["kind"] = number, "line"
                continue
            if separator == "json":
                try:
                    fields = _fields(json.loads(line))
                except ValueError:
                    fields = {"": " ".join(line.split())}
            else:
                cells = _cells(line, separator)
                keys = header or []
                fields = {(keys[i] if i < len(keys) else ""): c for i, c in enumerate(cells)}
            units.append(_record_unit(fields, number, f"line {number:,}"))
        return units
    written = [i for i, line in enumerate(lines) if line.strip()]
    for at in written[:3]:  # a table lined up by blanks, its header on the first line or under a title
        read = aligned_table(lines[at : written[-1] + 1])
        if read is not None:  # one "column: value" unit per row, read by the header's columns (audit 85b F1)
            units = [{"text": " ".join(lines[i].split()), "name": "", "where": f"line {i + 1:,}"} for i in written]
            units = [dict(u, line=i + 1, kind="line") for u, i in zip(units, written, strict=True) if i < at]
            for number, row in enumerate(read[1], at + 2):
                units.append(_record_unit(dict(zip(read[0], row, strict=True)), number, f"line {number:,}"))
                units[-1]["text"] = render({k: v for k, v in zip(read[0], row, strict=True) if v})
            return units
    sample = [line for line in lines[:2000] if line.strip()]
    delimiter = next((d for d in ";\t|," if sum(d in line for line in sample) >= 0.8 * len(sample)), None)
    indented = sum(1 for line in sample if line[:1] in " \t")
    # an outline (pci.ids, a nested list), or YAML: each line under its keys, across blank lines (audit 88b v11)
    tree = tree or 0.05 * len(sample) <= indented <= 0.95 * len(sample)
    parents: list[tuple[int, str]] = []  # (indent, text) of the lines above that hold the next ones
    units = []
    # a short list under a title ("db-prod-2" over "IP: 10.0.4.17"): the title names what each line is about
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    set_off = first + 2 < len(lines) and not lines[first + 1].strip() and _a_heading(lines[first])
    titled = not keyed and (_a_title(sample) or set_off)
    title = " ".join(sample[0].split()).lstrip("# ").rstrip(":") if titled else ""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        stripped = line.strip()
        if not keyed and units and _continues_an_item(line, lines[units[-1]["line"] - 1]):
            units[-1]["text"] += " " + " ".join(line.split())  # a wrapped item's next line is the same item
            continue
        key = (stripped.split(delimiter, 1) if delimiter and delimiter in stripped else stripped.split(None, 1))[0]
        key = _clipped(key, 40)
        text = " ".join(line.split())
        where = f"line {number:,} ({key})" if keyed else f"line {number:,}"
        unit = {"text": text, "name": key, "where": where, "line": number, "kind": "line"}
        if not keyed:
            unit["listed"] = True  # a short list's line: no record's field, read as the sentence it may be
            if title:
                unit["name"] = "" if not units else title
        if tree and not text.startswith("#"):  # a comment parents nothing
            indent = len(line) - len(line.lstrip(" \t"))
            while parents and parents[-1][0] >= indent:
                parents.pop()
            if parents:  # the line's parents name what it belongs to ("10de NVIDIA Corporation" for a device)
                above = _clipped(" / ".join(p[1] for p in parents), 120)
                unit["name"] = above
                unit["parent"] = True
                unit["where"] = f"line {number:,} ({key}, under '{above}')"
            parents.append((indent, _clipped(text, 80)))
        units.append(unit)
    return units


_CHANGELOG_HEADER = re.compile(r"^(?P<entry>[a-z0-9][a-z0-9.+-]* \([^()\s]+\))[^;\n]*;[^\n]*urgency=", re.I)
"""A Debian changelog entry's first line: "systemd (252.39-1~deb12u2) bookworm; urgency=medium"."""
_CHANGELOG_TRAILER = re.compile(r"^ -- \S.*<[^>\n]*>")
"""Its last: " -- Name <email>  date", who uploaded that version and when (Debian Policy 4.4)."""
_UPLOADER = re.compile(r"^ -- (\S[^<\n]*?)\s*<[^>\n]*>\s*(.*)$")
"""A trailer's maintainer name and date."""
_UPLOAD_NOUNS = frozenset("upload uploads release releases version versions entry entries".split())
"""What a changelog's trailers count, one each: "How many uploads did X make?"."""
_CHANGE = re.compile(r"^\s{1,6}(?:[*+-]\s|\[ [^]\n]+ \]\s*$)")


def _changelog_units(text: str) -> list[dict[str, Any]]:
    """A Debian changelog: each entry's first line is a unit of kind "entry" (counting them counts versions), each
    change (a "*" item with its wrapped lines) a unit named by the entry's package and version, and so is the
    entry's trailer line, named as the upload (who released that version, and when), which holds no word of the
    version otherwise."""
    units: list[dict[str, Any]] = []
    entry = ""
    change: dict[str, Any] | None = None  # the change item that wrapped lines continue

    def add(body: str, line: int, name: str, kind: str = "paragraph") -> dict[str, Any]:
        unit = {"text": body, "name": name, "where": f"line {line:,}, under '{entry}'", "line": line, "kind": kind}
        units.append(unit)
        return unit

    for number, line in enumerate(text.split("\n"), 1):
        body = " ".join(line.split())
        header = _CHANGELOG_HEADER.match(line)
        if header:
            entry = header.group("entry")
            add(body, number, entry, "entry")
            change = None
        elif _CHANGELOG_TRAILER.match(line):
            unit = add(body, number, f"{entry} release upload: maintainer, date")
            signed = _UPLOADER.match(line)
            if signed is not None:  # who and when, as a record's fields: "how many uploads did X make" counts them
                unit["upload"] = {"maintainer": " ".join(signed.group(1).split()), "date": signed.group(2).strip()}
            change = None
        elif _CHANGE.match(line) or (change is None and body):
            change = add(body, number, entry)
        elif body and change is not None:  # a change's wrapped line
            change["text"] += " " + body
    return units


def _separated_units(text: str) -> list[dict[str, Any]]:
    """One unit per entry between separator lines (a fortune file's "%" lines): a quote and its attribution, a
    riddle and its answer stay together, whatever their line breaks. A long entry is cut like a paragraph."""
    units: list[dict[str, Any]] = []
    lines = text.split("\n")
    percent = sum(1 for line in lines if line.strip() in ("%", "%%")) >= 5
    entry = start = 0
    block: list[str] = []
    for number, line in enumerate([*lines, "%"], 1):  # a last separator ends the last entry
        if not _is_separator(line, lines[number - 2] if 1 < number <= len(lines) + 1 else "", percent):
            if line.strip():
                start = start if block else number
                block.append(line)
            continue
        body = _clean(" ".join(" ".join(block).split()))
        block = []
        if body:
            entry += 1
            where = f"entry {entry:,} (line {start:,})"
            units.extend(
                {"text": piece, "name": "", "where": where, "line": start, "kind": "entry"} for piece in _pieces(body)
            )
    return units


def _verse_units(text: str) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = []
    chapter = ""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        inline = _INLINE_REF.match(line)
        heading = _CHAPTER.match(line.strip()) and not line[:1].isspace()
        numbered = None if heading else _NUMBERED.match(line)
        if inline:
            ref = f"{inline.group(1)} {inline.group(2)}:{inline.group(3)}"
            units.append({"text": inline.group(4), "name": ref, "where": f"{ref} (line {number:,})", "line": number})
        elif numbered and chapter:
            ref = f"{chapter}:{numbered.group(1)}" if _CHAPTER.match(chapter) else f"{chapter} {numbered.group(1)}"
            units.append({"text": numbered.group(2), "name": ref, "where": f"{ref} (line {number:,})", "line": number})
        elif heading or not units:
            chapter = _clipped(line.strip(), 80)
        else:  # a wrapped verse continues
            units[-1]["text"] += " " + line.strip()
    for unit in units:
        unit["text"] = " ".join(unit["text"].split())
        unit["kind"] = "verse"
    return units


_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(\S.*?)(?:\s+#+)?\s*$")
"""A Markdown heading line: its level's hashes and its title ("## [2.1.0] - 2024-11-03")."""


def _is_heading(block: list[str]) -> bool:
    """A short block with no sentence end: a title, an rst directive, a glossary headword line. A line ending in
    ":" is none: it leads into what follows ("The default is:" before a manual entry's indented list), and as a
    title it would label every later unit of the text. A Markdown heading ("## Usage:") is one all the same."""
    joined = " ".join(line.strip() for line in block)
    if len(block) == 2 and _UNDERLINE.match(block[1]):
        return True
    ends = (".", "?", "!", ",", ";", ':"', "::") if joined.startswith("#") else (".", "?", "!", ",", ";", ":")
    if len(block) == 1 and _FIELD_LINE.match(joined):
        return False  # "Attendees: Ana, Bo, Chen" is a field of the notes, no title of the sections below it
    if len(block) == 1 and _BULLET_LINE.match(joined):
        return False  # "- Marco Silva beat Dev Patel 3-1", a section's one item, is its body, no title (audit 87c v04)
    if len(block) == 1 and _AN_INSTRUCTION.match(joined):
        return False  # "WORKDIR /srv/app" is a Dockerfile's instruction, no title of the instructions below it
    return (len(block) == 1 and len(joined) <= 100 and not joined.endswith(ends)) or (
        bool(_HEADWORD.match(block[0])) and len(joined) <= 120
    )


_BULLET_LINE = re.compile(r"^[-*+\u2022]\s+\S")
"""A bulleted list item ("- Marco Silva beat Dev Patel 3-1", "* milk"): an item, never a title."""
_AN_INSTRUCTION = re.compile(
    r"^(?:FROM|RUN|CMD|COPY|ADD|WORKDIR|EXPOSE|ENV|USER|ENTRYPOINT|ARG|LABEL|VOLUME|HEALTHCHECK|STOPSIGNAL|SHELL)"
    r"[ \t]+(?![A-Z][A-Z \t]*$)\S"
)
"""A Dockerfile instruction line ("WORKDIR /srv/app", "EXPOSE 8080"); a title in capitals ("USER GUIDE") is none."""
_FIELD_LINE = re.compile(r"^[A-Z][a-z]+(?:[ -][a-z]+){0,2}:[ \t]+(?=[^\n]*[,;\d@])\S")
"""A `Label: value` line of notes or a header, its label one to three plain words, its value a list, a number, a
date or an address ("Attendees: Ana, Bo, Chen", "Date: 3 March 2026"): a field, which titles nothing (audit 85
v07); "Chapter 3: The Return" and "Project Phoenix: Kickoff" stay titles."""


_PY_SCOPE = re.compile(r"^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)\b")
_PY_IMPORT = re.compile(r"^[ \t]*(?:import[ \t]+[\w.]+|from[ \t]+[\w.]+[ \t]+import\b)", re.MULTILINE)
"""An import line, indented too: a module may import only inside `try:` blocks (heapq, bisect)."""
_PY_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(|^[ \t]*class[ \t]+\w+[^\n]*:", re.MULTILINE)
_PY_SIGNATURE_END = re.compile(r"\)[^\n:()]*:[ \t]*(?:#[^\n]*)?$")
_PY_SIGNATURE_LINES = 16
"""Lines a def's signature may take: black wraps a long one, a parameter a line."""
_PY_DEFINITIONS = 3


def _is_python(text: str) -> bool:
    """Whether `text` is Python source: an import at the start of a line (indented or not: a module may import
    only inside `try:` blocks, as heapq does) and three class lines or def lines (their signature closed by "):"
    within `_PY_SIGNATURE_LINES` lines) or more."""
    if not _PY_IMPORT.search(text):
        return False
    found = 0
    for match in _PY_DEF.finditer(text):
        if match.group(0).lstrip().startswith("class"):
            found += 1
        else:
            lines = text[match.start() :].split("\n", _PY_SIGNATURE_LINES)[:_PY_SIGNATURE_LINES]
            found += any(_PY_SIGNATURE_END.search(line) for line in lines)
        if found >= _PY_DEFINITIONS:
            return True
    return False


def _python_scope(block: list[str], scopes: list[tuple[int, str]]) -> str:
    """The dotted name of the class and def a block of Python source is in ("LMTP", "SMTP_SSL.__init__"), "" at
    module level; `scopes` ((indentation, name), outermost first) is updated: a block indented no deeper than a
    scope's def line is out of it, and a block that starts with a class or def line (after its decorators and
    comments) opens one."""
    head = next((line for line in block if line.strip() and not line.lstrip().startswith(("@", "#"))), block[0])
    indent = _indent(head)
    while scopes and scopes[-1][0] >= indent:
        scopes.pop()
    scope = [name for _, name in scopes]
    opened = _PY_SCOPE.match(head.expandtabs())
    if opened is not None:
        scopes.append((indent, opened.group(2)))
        scope.append(opened.group(2))
    return ".".join(scope)


_NUMBERED_TITLE = re.compile(
    r"^(?:#+\s*)?(?:[A-Z][a-z]+\s+)?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})[.):]?\s+(\S.{0,58})$"
)
"""A numbered title alone on its line: '3. Usage', 'Section 4 Security and privacy', 'II. Terms of Use'."""


_CLAUSE_VERBS = frozenset("is are was were be been has have had will would can could should must do does did".split())
"""Verbs that make a short line a clause, no title in sentence case."""


def _numbered_title_over(block: list[str]) -> bool:
    """Whether a block's first line is a numbered title over the lines of its body: a number and up to eight words
    in title case ('3. Usage', `_titled`) or six in sentence case with no verb of a clause ('4. Security and
    privacy'), with no sentence end, above a line no further indented that starts with a
    capital and is no bullet or numbered item of its own (a list's next item, a wrapped item's next words)."""
    if len(block) < 2:
        return False
    head = _NUMBERED_TITLE.match(block[0].strip())
    if head is None or head.group(1).rstrip().endswith((".", "!", "?", ",", ";", ":")):
        return False
    words = _WORD.findall(head.group(1))
    sentence_case = (  # 'Security and privacy': a title in sentence case, no clause ('Ben is away')
        0 < len(words) <= 6 and words[0][:1].isupper() and not any(w.lower() in _CLAUSE_VERBS for w in words)
    )
    if not (_titled(head.group(1)) or sentence_case):
        return False
    after = block[1].strip()
    return (
        _indent(block[1]) <= _indent(block[0])
        and after[:1].isupper()
        and not _BULLET.match(block[1])
        and not _NUMBERED_TITLE.match(after)
    )


def _paragraph_units(text: str, *, entries: bool) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = []
    label = ""
    module = ""
    block: list[str] = []
    start = 0
    introduced = False  # the block before ended with ":" ("... installed from PyPI::", "Run:")
    entry = ""  # a manual's entry the blocks are in ("StrictHostKeyChecking" over its indented paragraphs)
    entry_indent = -1
    body_indent = -1  # the indentation of the last paragraph of prose (a man page's body: 7 columns)
    label_indent = -1  # the indentation of the title that labels the blocks (a man page's section: 0)
    pod = _is_pod(text)
    if pod:
        text = _unpod(text)
    python = _is_python(text)
    scopes: list[tuple[int, str]] = []  # Python source: the (indentation, name) of each class/def a block is in
    headings: dict[int, str] = {}  # Markdown: the open heading of each level ("## [2.1.0]" over "### Added")

    def markdown_heading(line: str, number: int) -> None:
        """A Markdown heading line: a unit of its own (named by the headings above it), and, with the headings
        above it, the label of what follows ("[2.1.0] - 2024-11-03 / Added"; the H1 title aside when a deeper
        heading is open), until a heading of its level or above (audit 84 F10)."""
        nonlocal label, label_indent, entry, introduced
        match = _MD_HEADING.match(line)
        assert match is not None
        level, title = len(match.group(1)), _clipped(_clean(match.group(2)), 100)
        for deeper in [k for k in headings if k >= level]:
            del headings[deeper]
        parent = " / ".join(headings[k] for k in sorted(headings) if k > 1 or len(headings) == 1)
        headings[level] = title
        units.append(_paragraph(parent, title, number, "paragraph", entries))
        label = " / ".join(headings[k] for k in sorted(headings) if k > 1 or len(headings) == 1)
        label_indent, entry, introduced = 0, "", False

    def flush() -> None:
        nonlocal label, module, introduced, entry, entry_indent, start, body_indent, label_indent
        if not block:
            return
        if pod and _pod_command(block):
            return
        if not entries and not pod and not python and any(_MD_HEADING.match(line) for line in block):
            # "## [2.1.0] - 2024-11-03" over "### Added" over "- Dark mode.": each heading labels what is under
            # it, none runs into the next (a "#" line that is a shell comment has no second "#")
            whole, whole_start = list(block), start
            pending: list[str] = []
            pending_start = start
            for offset, raw_line in enumerate(whole):
                if _MD_HEADING.match(raw_line) and (raw_line.lstrip().startswith("##") or len(whole) == 1):
                    if pending:
                        block[:], start = pending, pending_start
                        flush()
                    pending = []
                    markdown_heading(raw_line, whole_start + offset)
                    continue
                if not pending:
                    pending_start = whole_start + offset
                pending.append(raw_line)
            if len(pending) < len(whole):
                if pending:
                    block[:], start = pending, pending_start
                    flush()
                return
            block[:], start = whole, whole_start
        if python:  # code is labelled by the class and def it is in, never by a comment above it
            label = _python_scope(block, scopes)
        cuts = [at for at, line in enumerate(block) if at and _INI_SECTION.match(line)]
        if cuts and not (entries or pod or python) and _ini_lines(block):
            # '[database]' 'port = 5432' '[server]' ... with no blank line between: each section is a block of its
            # own, else the second header and its keys are read under the first (review 84 v13)
            whole, top = block[:], start
            for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True):
                block[:] = whole[a:b]
                start = top + a
                flush()
            return
        peeled = False  # a heading was taken off the block: the rest is its body, no title of its own
        section = None if entries or pod or python else _ini_section(block)
        if section is not None:  # "[server]" over "port = 8443": the section titles its keys (audit 83 F4)
            if section:  # the comment lines above it ("; Settings for the photo-sync service")
                body = _clean(" ".join(" ".join(block[:section]).split()))
                units.append(_paragraph(label, body, start, "paragraph", entries))
            label, label_indent = block[section].strip(), _indent(block[section])
            units.append(_paragraph("", label, start + section, "paragraph", entries))
            entry, introduced, peeled = "", False, True
            del block[: section + 1]
            start += section + 1
        if (
            not entries
            and len(block) >= 2
            and _indent(block[0]) == 0
            and len(block[0].strip()) <= 60
            and _MAN_SECTION.match(block[0].rstrip())
            and _indent(block[1]) > 0
        ):  # "EXIT STATUS" over its indented body with no blank line between: the heading, then the body
            label, label_indent = " ".join(block[0].split()), _indent(block[0])
            units.append(_paragraph("", label, start, "paragraph", entries))
            entry, introduced, peeled = "", False, True
            del block[0]
            start += 1
        if (
            not entries
            and len(block) >= 2
            and _MAN_SUBSECTION.match(block[0].rstrip())
            and _indent(block[1]) > _indent(block[0])
            and not _ENTRY_TAG.match(block[0].expandtabs())
        ):  # "   Download Options" over the options indented under it
            label, label_indent = " ".join(block[0].split()), _indent(block[0])
            units.append(_paragraph("", label, start, "paragraph", entries))
            entry, introduced, peeled = "", False, True
            del block[0]
            start += 1
        if not entries and not peeled and not python and not pod and _numbered_title_over(block):
            # "3. Usage" alone on its line over "Run it.": the part's title, then its body (audit 83 v18); run
            # into one paragraph, "3. Usage Run it" read as the title
            label, label_indent = _clipped(" ".join(block[0].split()), 100), _indent(block[0])
            units.append(_paragraph("", label, start, "paragraph", entries))
            entry, introduced, peeled = "", False, True
            del block[0]
            start += 1
        after_colon, introduced = introduced, block[-1].rstrip().endswith(":")
        led = after_colon and len(block) <= 3  # a command or value that a line ending in ":" introduced
        indent = _indent(block[0])
        if entry and indent <= entry_indent:
            entry = ""  # the next entry, or a section heading: the entry ended
        tag = None if pod else _ENTRY_TAG.match(block[0].expandtabs())  # POD names its entries by "=item"
        tags = 1  # a run of option lines names one entry ("-t number" over "--tries=number")
        while (
            tag and tags < len(block) and _indent(block[tags]) == indent and _OPTION_TAG.match(block[tags].expandtabs())
        ):
            tags += 1
        if tag and tags < len(block) and _indent(block[tags]) > indent and not entries:
            names = [tag.group(1), *(_OPTION_TAG.match(line.expandtabs()).group(1) for line in block[1:tags])]  # type: ignore[union-attr]
            entry, entry_indent = ", ".join(names), indent
        elif entry and len(block) == 1:
            after_colon = True  # a line indented inside an entry is part of it (a value, an example), no title
        if len(block) == 1 and (
            _PUNCTUATION_ONLY.match(block[0].strip())
            or _STATEMENT.match(block[0])
            or (0 <= body_indent < indent and _CODE_LIKE.search(block[0].strip()))
        ):
            after_colon = True  # a command indented under prose ("wget -X ...") or a '"""' line: no title
        if pod or peeled or python:
            # POD titles only by its commands: "(F) You wrote something like" is no title; Python source only by
            # its class and def lines: "# some useful methods" would head the 500 lines after it
            after_colon = True
        example = 0 <= body_indent < indent and all(_CODE_LIKE.search(line.strip()) for line in block)
        if len(block) == 1 and 0 < body_indent == indent and 0 <= label_indent < indent:
            # "compresses better than", "Then" between examples, under a title less indented: a sentence going on
            # ("Pattern Matching" at the body's indentation is a title all the same)
            after_colon = after_colon or not _TITLE_CASE.match(block[0])
        if (len(block) >= 2 or block[0].rstrip().endswith((".", "!", "?", ":", ";", ","))) and not example:
            body_indent = indent  # prose; an example indented under it ("gzip -c file1 > foo.gz") is none
        headword = _HEADWORD.match(block[0])
        if headword:
            label = headword.group(1).strip()
            rest = block[0][headword.end() :].strip()
            body = " ".join([rest] + [line.strip() for line in block[1:]]).strip()
            if len(body) < 40:  # ":name: n." alone: the entry's text follows (and is indexed under its name)
                return
        directive = _DIRECTIVE.match(block[0])
        if directive:
            kind, name = directive.group(1), directive.group(2).strip()
            if kind == "module":
                module = name
                label = name
            elif kind in _API_DIRECTIVES:
                qualified = name if "." in name.split("(")[0] or not module else f"{module}.{name}"
                label = _clipped(qualified, 100)
            if len(block) == 1:
                return
            block[:] = block[1:]
        elif _is_heading(block) and not entries and not after_colon:
            # a title labels what follows, and is a unit itself (a one-line text has nothing else); a line that a
            # colon introduced is no title but its example or command ("... from PyPI::" "python -m pip install x")
            label = _clipped(_clean(" ".join(block[0].split())), 100).strip("#*= ")
            label_indent = indent
            units.append(_paragraph("", label, start, "paragraph", entries))
            return
        own = entry or label
        if (
            not entries
            and not entry
            and tag
            and len(block) == 1
            and tag.group(1).startswith("-")
            and block[0].expandtabs()[tag.end(1) :].strip()
        ):
            own = tag.group(1)  # a one-line option entry ("-T      Disable ..."): named by its option too
        segments = _list_segments(block)
        if segments is None and not (entries or pod or python):
            segments = _dose_segments(block)  # a schedule's lines: one item each, never one paragraph
        if segments is None and not (entries or pod or python):
            segments = _numbered_label_segments(block)  # "Week 5: Midterm exam" lines: one item each
        rows_titled = False  # rows lined up by blanks under their title line: the title is their lead
        aligned_rows = False  # the items are such rows: each keeps its cells (`row_mark_answer`)
        if (
            segments is None
            and not (entries or pod or python)
            and aligned_table(block) is None
            and table_of(block, strict=True) is None
        ):
            segments = _aligned_row_segments(block)
            rows_titled = segments is not None and not segments[0][2]
            aligned_rows = segments is not None
        if section is not None and block and _ini_lines(block):
            # one unit per key, however few; a comment line goes with the key below it ('# main port' 'port = ...')
            segments, waiting = [], None  # (the first of the comment lines waiting for their key)
            for offset, written in enumerate(block):
                if _INI_COMMENT.match(written):
                    waiting = offset if waiting is None else waiting
                    continue
                begins = offset if waiting is None else waiting
                segments.append((begins, block[begins : offset + 1], False))
                waiting = None
            if waiting is not None:
                segments.append((waiting, block[waiting:], False))
        if segments is not None:  # a list (bullets, or `NAME = value` lines): one unit per item
            lead = ""  # the line that leads into the items below it ("Decisions:"): what they are under
            for at, (offset, lines, item) in enumerate(segments):
                first = _BULLET.sub("", lines[0], count=1) if item else lines[0]
                body = _clean(" ".join(" ".join([first, *lines[1:]]).split()))
                if not item:
                    lead = body[:-1].strip() if len(lines) == 1 and body.endswith(":") and len(body) <= 60 else ""
                    if (
                        not lead
                        and len(lines) == 1
                        and len(body) <= 60
                        and not body.endswith((".", "!", "?", ",", ";"))
                        and at + 1 < len(segments)
                        and segments[at + 1][2]
                        and _BULLET.match(segments[at + 1][1][0])
                    ):
                        lead = body  # "What is not covered" right above its bullets titles them (audit 87b v08)
                    lead = body if rows_titled else lead
                if item:
                    units.append(_paragraph(lead or own, body, start + offset, "paragraph", entries))
                    if aligned_rows:
                        units[-1]["row_cells"] = _aligned_cells(lines[0])
                else:
                    for piece in _pieces(body):
                        line = _line_of(lines, start + offset, piece)
                        units.append(_paragraph(own, piece, line, "paragraph", entries))
            return
        if len(block) >= 2 and table_of(block, strict=True) is not None:  # rows of a table inside prose: a unit each
            for unit in _record_units("\n".join(block)):
                unit["line"] += start - 1
                unit["where"] = f"line {unit['line']:,} ({unit['name']})" + (f", under '{own}'" if own else "")
                units.append(unit)
            return
        aligned = None if entries or pod or python else aligned_table(block)
        if aligned is not None:  # a table lined up by blanks: a unit per row, its cells read by column (audit 85b F1)
            header, rows = aligned
            for offset, row in enumerate(rows, 1):
                unit = _record_unit(dict(zip(header, row, strict=True)), start + offset, "")
                unit["text"] = render({k: v for k, v in zip(header, row, strict=True) if v})  # no "Flag: " (blank)
                unit["where"] = f"line {start + offset:,} ({unit['name']})" + (f", under '{own}'" if own else "")
                units.append(unit)
            return
        body = _clean(" ".join(" ".join(_fields_as_sentences(block)).split()))
        for piece in _pieces(body):
            kind = "entry" if (entries or (pod and entry)) and own else "paragraph"
            units.append(_paragraph(own, piece, _line_of(block, start, piece), kind, entries))
            if led:
                units[-1]["led"] = True  # quoted after the line that leads into it (`_list_after`)

    def _pod_command(lines: list[str]) -> bool:
        """A POD command paragraph: "=headN X" titles what follows, "=item X" names an entry ("=item *" only marks
        a list item), the others ("=over", "=back", "=cut") hold nothing to read. Whether it was one."""
        nonlocal label, entry, entry_indent, start
        command = _POD_COMMAND.match(lines[0])
        if command is None:
            return False
        word, rest = command.group(1), " ".join(command.group(2).split())
        if word.startswith("head") and rest:
            label, entry = _clipped(rest, 100), ""
            units.append(_paragraph("", label, start, "paragraph", entries))
        elif word == "item" and not _POD_BULLET.match(rest):
            entry, entry_indent = _clipped(rest, 100), -2  # ended by the next =item, =head or =back only
            units.append(_paragraph(entry, entry, start, "entry", entries))
        elif word == "back":
            entry = ""
        if word in ("head1", "head2", "head3", "head4", "head5", "head6", "item") and len(lines) > 1:
            del lines[0]  # a paragraph written right under its command, no blank line between
            start += 1
            return False
        return True

    lines = text.split("\n")
    commits = not (entries or pod or python) and _is_git_log(text)
    for number, line in enumerate(lines, 1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif commits and block and _GIT_COMMIT.match(block[0]) and not _GIT_COMMIT.match(_next_text(lines, number)):
            block.append(line)  # a blank line inside a commit: its message is still its own (audit 86b F2)
        else:
            if commits and block and _GIT_COMMIT.match(block[0]):
                block[:] = _git_commit_sentences(block)
            flush()
            block = []
    if commits and block and _GIT_COMMIT.match(block[0]):
        block[:] = _git_commit_sentences(block)
    flush()
    return units


_GIT_COMMIT = re.compile(r"^commit [0-9a-f]{7,40}\b")
"""The first line of a commit in `git log` output: "commit 4b81d0c9aa53"."""
_GIT_HEADER = re.compile(r"^(?:Author|Date|Merge|AuthorDate|Commit|CommitDate):\s")


def _is_git_log(text: str) -> bool:
    """Whether `text` is `git log` output: two `commit <hash>` lines or more, each right above an "Author:" (or
    "Merge:") line."""
    return len(re.findall(r"(?m)^commit [0-9a-f]{7,40}\b.*\n(?:Author|Merge):", text[:200_000])) >= 2


def _next_text(lines: list[str], number: int) -> str:
    """The first line that is not blank after line `number` (1-based) of `lines`; "" at the end."""
    return next((line for line in lines[number:] if line.strip()), "")


def _git_commit_sentences(block: list[str]) -> list[str]:
    """One commit of `git log` output (its "commit"/"Author:"/"Date:" lines, then its indented message) with the
    message's subject ended as a sentence: the commit is one unit, its hash, author and date read with its own
    subject (one sentence with it) and message, never with the next commit's, as when the one-line subject titled
    the commit below it (audit 86b F2). Blank lines stay, so that line numbers hold."""
    ended: list[str] = []
    subject = True
    for line in block:
        if _GIT_COMMIT.match(line) or _GIT_HEADER.match(line):
            ended.append(line)
        elif subject and line.strip():
            subject = False
            ended.append(line.rstrip() + ("" if line.rstrip().endswith((".", "!", "?")) else "."))
        else:
            ended.append(line)
    return ended


_OPTION_NAME = r"--?\w[\w-]*(?:\[?=[\w<>.:|-]+\]?| [A-Za-z<\[][\w<>\[\]=.:|-]*)?"
"""An option as a manual's entry writes it, with its argument: "-q", "-t number", "--tries=number", "--color[=WHEN]"."""
_ENTRY_TAG = re.compile(rf"^ {{1,8}}([A-Za-z_][\w.-]{{1,39}}|{_OPTION_NAME}(?:,? {_OPTION_NAME})*)(?: {{2,}}\S.*)?$")
"""A manual's entry name on its own line (or before its description, two spaces or more after it): "     MACs",
"       histappend", "       -a     Export ...", "       -t SECONDS, --timeout=SECONDS"; its description is indented
deeper below it (a run of option lines, "-t number" over "--tries=number", names one entry)."""
_OPTION_TAG = re.compile(rf"^ {{1,8}}({_OPTION_NAME}(?:,? {_OPTION_NAME})*)$")
_MAN_SECTION = re.compile(r"^[A-Z][A-Z0-9]*(?:[ /&,'-]+[A-Z0-9]+)*$")
"""A man page's section heading as `man` renders it: capitals at column 0 ("EXIT STATUS"), its body indented under it
with no blank line between."""
_MAN_SUBSECTION = re.compile(r"^ {1,4}[A-Z][A-Za-z0-9]*(?: [A-Za-z0-9][A-Za-z0-9-]*){0,5}$")
"""A man page's subsection heading ("   Download Options"), indented less than the body under it."""
_TITLE_CASE = re.compile(r"^\s*[A-Z][\w-]*(?: (?:(?:of|and|or|the|a|an|in|on|to|for|with)(?= ) )*[A-Z][\w-]*)+\s*$")
"""A title-case line of two words or more: "Pattern Matching", "Duplicating File Descriptors"."""
_CODE_LIKE = re.compile(r"^[^A-Z]|[=/$\"<>|{}\[\]`]")
"""A line that reads as a command or a value ("wget -X ... /~nobody", "$ make"), not as a title."""
_STATEMENT = re.compile(
    r"^\s*(?:(?:return|import|raise|yield|pass|break|continue|del|global|nonlocal|assert|await)\b|from \S+ import\b)"
    r"|^\s*[\w.]+\(.*\)\s*$|^\s*[\w.\[\]'\"]+ *[-+*/|&]?= "
)
"""A line of source code ("return dst", "import tarfile", "os.unlink(path)", "x = 1"): never a title."""
_PUNCTUATION_ONLY = re.compile(r"^[\W_]+$")
"""A line of punctuation only (a docstring's closing '\"\"\"', a rule): never a title."""

_POD_COMMAND = re.compile(r"^=(head[1-6]|item|over|back|pod|cut|begin|end|for|encoding)\b[ \t]*(.*)$")
"""A Perl POD command paragraph: "=head1 NAME", "=item Can't find label %s", "=over 4", "=back", "=cut"."""
_POD_BULLET = re.compile(r"^(?:[*\-+\u2022]|\d+\.?|\[\d+\])?$")
"""An "=item" that only marks a list item ("=item *", "=item 1."): no entry name."""
_POD_SINGLE = re.compile(r"(?<![A-Za-z])([BCEFILSXZ])<(<?[^<>]*)>")
_POD_ESCAPES = {"gt": ">", "lt": "<", "verbar": "|", "sol": "/", "amp": "&", "quot": '"', "apos": "'"}


def _is_pod(text: str) -> bool:
    """Whether a text is Perl POD: two command paragraphs or more ("=head1", "=item", "=over", "=pod")."""
    return len(re.findall(r"(?m)^=(?:head[1-6]|item|over|pod|begin)\b", text[:200_000])) >= 2


def _unpod(text: str) -> str:
    """POD interior sequences out of a text ("C<warnings>" -> "warnings", "L<text|perlfunc/goto>" -> "text",
    "E<gt>" -> ">", "C<< $x->y >>" -> "$x->y"), newlines kept so that line numbers stay."""

    def single(match: re.Match[str]) -> str:
        code, inner = match.group(1), match.group(2)
        if code == "E":
            return _POD_ESCAPES.get(inner.lower(), chr(int(inner)) if inner.isdigit() and int(inner) < 0x110000 else "")
        if code in "XZ":
            return ""
        if code == "L" and "|" in inner:
            return inner.split("|", 1)[0]
        return inner

    text = re.sub(r"(?<![A-Za-z])[BCFILS](<{2,})\s+(.*?)\s+>{2,}", lambda m: m.group(2), text, flags=re.S)
    for _ in range(4):  # nested sequences ("B<C<x>>"), innermost first
        cleaned = _POD_SINGLE.sub(single, text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _indent(line: str) -> int:
    """A line's indentation in columns (tabs to 8)."""
    expanded = line.expandtabs()
    return len(expanded) - len(expanded.lstrip())


def _line_of(lines: list[str], start: int, snippet: str) -> int:
    """The line (of a block whose first is `start`) where `snippet`, a piece or a phrase of the block's collapsed
    text, begins: a unit, or the sentence quoted from it, is located by the line that holds it, not by its
    paragraph's first line. `start` when the block does not hold it as written (markup taken out)."""
    words = snippet.split()[:8]
    if not words:
        return start
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    joined = "\n".join(lines)
    found = pattern.search(joined)
    return start + joined.count("\n", 0, found.start()) if found else start


_ASSIGNMENT = re.compile(r"^\s*[A-Za-z_][\w.]*\s*=\s*\S")
_HEADER_FIELD = re.compile(
    r"^\s*[A-Z][A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?: [A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*){0,3}:\s+\S"
)
"""A header field line (RFC 5322: `Requires-Python: >=3.9`; package metadata, Debian control files, mail and HTTP
headers), or a form's field of a label of up to four words ('Vehicle registration: KX19 TBO', audit 86c v05): each
is a fact of its own, so a block of them is one unit whose fields are its sentences."""


def _is_header_block(block: list[str]) -> bool:
    """Whether a block of lines is header fields: at least three, and half its lines or more."""
    return sum(1 for line in block if _HEADER_FIELD.match(line)) >= max(3, len(block) // 2)


def _fields_as_sentences(block: list[str]) -> list[str]:
    """A block of header fields with each field ended as a sentence ("Version: 15.0.0;"), continuation lines kept
    with their field: an answer is then checked against the field that holds the question's words, not against
    every other field of the block (`_near_the_question`). Other blocks as they are."""
    if not _is_header_block(block):
        return block
    ended = [line.rstrip() for line in block]
    for index in range(len(block)):
        starts_next = index + 1 == len(block) or _HEADER_FIELD.match(block[index + 1])
        if starts_next and not ended[index].endswith((".", "!", "?", ";")):
            ended[index] += ";"
    return ended


_DOSE_OR_TIME = re.compile(
    r"(?i)\b\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|g|ml|iu|units?|tablets?|capsules?|drops?|puffs?|sachets?|doses?)\b"
    r"|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b"
)
"""A dose ("500 mg", "2 tablets", "1000 IU") or a clock time ("08:00", "9 pm"): what each line of a schedule holds."""


def _dose_segments(block: list[str]) -> list[tuple[int, list[str], bool]] | None:
    """A block of 3 to 19 lines each naming a dose or a time (`_DOSE_OR_TIME`) - a medication or dosing schedule,
    a timetable - as one item a line (audit 84b F10: "Metformin 500 mg - 1 tablet twice a day, with breakfast"
    / "Lisinopril 10 mg - ..." joined into one paragraph counted as one medication). None when a line ends a
    sentence or runs on into the next (`_runs_on`): prose that names doses."""
    lines = [line for line in block if line.strip()]
    if not 3 <= len(lines) < _SHORT_LIST or len(lines) != len(block):
        return None
    if not all(_DOSE_OR_TIME.search(line) for line in lines) or any(line.rstrip().endswith(".") for line in lines):
        return None
    if any(_runs_on(line, after) for line, after in pairwise(lines)):
        return None
    return [(offset, [line], True) for offset, line in enumerate(block)]


_LABEL_NUMBER_LINE = re.compile(r"^\s*[A-Z][A-Za-z]{1,15}(?: [A-Za-z]{1,15})? \d{1,4}[a-z]?\s*[:.)-]\s+\S")
"""A line opened by a label and its number, then a colon: "Week 5: Midterm exam", "Day 2: Hike to the lake",
"Room 101 - Studio"."""
_DAY_LABEL_LINE = re.compile(
    r"^\s*(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs?)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?"
    r"|\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]{2,8}|[A-Z][a-z]{2,8} \d{1,2}(?:st|nd|rd|th)?"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\s*[:\u2013-]\s+\S"
)
"""A line opened by a weekday or a date as its label: a forecast's "Thu: Showers. High 10°C, low 4°C.", a diary's
"12 May: ...", a log's "2024-05-03 - ...". One day's values belong to its own line (audit 86b F4)."""


def _numbered_label_segments(block: list[str]) -> list[tuple[int, list[str], bool]] | None:
    """A block of 2 or more lines each opened by a label with its number (`_LABEL_NUMBER_LINE`: a syllabus's "Week 1:
    ..." lines, an itinerary's "Day 2: ...") as one item a line: run into one paragraph, the number after "Week 5:
    Midterm exam" was read as the midterm's week, "6" of the next line (audit 85b F3). None otherwise."""
    if len(block) < 2:
        return None
    if not all(_LABEL_NUMBER_LINE.match(line) for line in block) and not all(
        _DAY_LABEL_LINE.match(line) for line in block
    ):
        return None
    return [(offset, [line], True) for offset, line in enumerate(block)]


def _aligned_row_segments(block: list[str]) -> list[tuple[int, list[str], bool]] | None:
    """A block of rows lined up by blanks with no header line, under an optional title line: "Ordinary members (3
    seats)" over "  Yusuf Ali   88   ELECTED" / "  Clive Barton   52" (rows of 2 or more cells, two or more blanks
    apart, as many as each row has: `aligned_table` needs one count). Each row is one item (the title line its
    lead), so a status word of one row is never read with the name of the next (audit 86b F1). The rows must be 2
    or more, share one indentation, open with a letter, hold a digit in one row at least, and none may end a
    sentence or hold code's signs. None otherwise."""
    title = 1 if len(_aligned_cells(block[0])) == 1 and not block[0].rstrip().endswith((".", "!", "?")) else 0
    rows = block[title:]
    if len(rows) < 2 or len({_indent(line) for line in rows}) != 1:
        return None
    for line in rows:
        cells = _aligned_cells(line)
        if len(cells) < 2 or not cells[0][:1].isalpha() or line.rstrip().endswith((".", "!", "?", ":", ";", ",")):
            return None
        if any(len(cell) > 40 for cell in cells) or re.search(r"[=/$\"<>|{}\[\]`]", line):
            return None
    if not any(re.search(r"\d", line) for line in rows):
        return None
    return [(0, block[:1], False)] * title + [
        (offset, [line], True) for offset, line in enumerate(block) if offset >= title
    ]


def _list_segments(block: list[str]) -> list[tuple[int, list[str], bool]] | None:
    """A block holding a list, as (line offset, lines, is an item) segments: each bullet line or `NAME = value` line
    starts an item, lines indented deeper than it continue it, other lines are text between (a docstring's bullets
    followed by code; an enum's members under a comment). None when the block holds fewer than two items of one
    kind (ordinary prose)."""
    bullets = sum(1 for line in block if _BULLET.match(line))
    assignments = sum(1 for line in block if _ASSIGNMENT.match(line))
    starts = _BULLET if bullets >= 2 else _ASSIGNMENT if assignments >= 3 else None
    if starts is None:
        return None
    segments: list[tuple[int, list[str], bool]] = []
    for offset, line in enumerate(block):
        indent = len(line) - len(line.lstrip())
        if starts.match(line):
            segments.append((offset, [line], True))
        elif segments and segments[-1][2] and indent > len(segments[-1][1][0]) - len(segments[-1][1][0].lstrip()):
            segments[-1][1].append(line)  # a wrapped item's next line
        elif segments and not segments[-1][2]:
            segments[-1][1].append(line)
        else:
            segments.append((offset, [line], False))
    return segments


def _ini_section(block: list[str]) -> int | None:
    """The index of an INI/TOML section header ("[server]", "[tool.ruff]") in a block of lines, when only comment
    lines precede it and a `key = value` line follows it, comment lines between them aside ('[server]' '# main
    port' 'port = 8443', review 84 v12); None otherwise."""
    for at, line in enumerate(block):
        if _INI_SECTION.match(line):
            below = next((b for b in block[at + 1 :] if not _INI_COMMENT.match(b)), "")
            return at if _INI_KEY.match(below) else None
        if not _INI_COMMENT.match(line):
            return None
    return None


def _ini_lines(block: list[str]) -> bool:
    """Whether every line of `block` is an INI/TOML key, section header or comment, and one at least is a key."""
    return any(_INI_KEY.match(line) for line in block) and all(
        _INI_KEY.match(line) or _INI_SECTION.match(line) or _INI_COMMENT.match(line) for line in block
    )


_INI_SECTION = re.compile(r"^\[\[?[A-Za-z_][\w .:\"/-]{0,60}\]\]?\s*$")
_INI_KEY = re.compile(r"^\s*[\w.\"-]+\s*[=:]\s*\S")
_INI_COMMENT = re.compile(r"^\s*[;#]")


def _paragraph(label: str, body: str, line: int, kind: str, entries: bool) -> dict[str, Any]:
    if label and entries:
        where = f"entry '{label}' (line {line:,})"
    elif label:
        where = f"line {line:,}, under '{label}'"
    else:
        where = f"line {line:,}"
    return {"text": body, "name": label, "where": where, "line": line, "kind": kind}


def _pieces(body: str) -> list[str]:
    """`body` cut into pieces of at most UNIT_CHARS at sentence ends; one huge sentence at its last space before the
    limit, else between whole characters (never a letter from its accent, nor a flag's two halves)."""
    if len(body) <= UNIT_CHARS:
        return [body]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(body):
        while len(sentence) > UNIT_CHARS:
            if current:
                pieces.append(current)
                current = ""
            space = sentence.rfind(" ", UNIT_CHARS // 2, UNIT_CHARS + 1)
            cut = space if space > 0 else boundary_before(sentence, UNIT_CHARS) or UNIT_CHARS
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].lstrip(" ")
        if current and len(current) + 1 + len(sentence) > UNIT_CHARS:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def _clipped(text: str, limit: int) -> str:
    """The start of `text` (a label), at most `limit` characters, ending between whole characters."""
    return text[: boundary_before(text, limit)]


# --- word forms ------------------------------------------------------------------------------------

try:  # Porter's stemmer, as SQLite FTS5's "porter" tokenizer applies it to the index (the `local` extra)
    import snowballstemmer  # type: ignore[import-untyped]

    _PORTER: Any = snowballstemmer.stemmer("porter")
except ImportError:  # a sandbox without it (a docker image): SQLite's own, else the light stem below
    _PORTER = None


def _sqlite_porter() -> Callable[[str], str] | None:
    """FTS5's porter tokenizer as a function of one word (what the index stores for it), or None without FTS5:
    exact, but about twice as slow as snowballstemmer (80 against 37 microseconds a word, cached below)."""
    try:
        import sqlite3

        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute("CREATE VIRTUAL TABLE w USING fts5(t, tokenize='porter unicode61 remove_diacritics 2')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(w, 'instance')")
    except Exception:
        return None
    lock = threading.Lock()

    def porter(word: str) -> str:
        with lock:
            db.execute("INSERT INTO w(rowid, t) VALUES (1, ?)", (word,))
            terms = [row[0] for row in db.execute("SELECT term FROM v")]
            db.execute("DELETE FROM w")
        return str(terms[0]) if len(terms) == 1 else word

    return porter


_SQLITE_PORTER = None if _PORTER is not None else _sqlite_porter()

# Forms a suffix-stripping stemmer cannot join, one word per entry (entries end at `;` or a line's end): its base
# form first, then the others.
# Sources: the principal parts (base, past, past participle) of English irregular verbs as the usual grammar
# lists give them (e.g. Wiktionary's "Appendix:English irregular verbs"), with archaic ones the King James
# Bible uses (begat, smote, slew); the irregular noun plurals of the same grammars (children, feet, wives,
# crises); the comparatives and superlatives of common adjectives (Porter's rules keep -er and -est); -ie verbs
# and die/death, where Porter's rules split a word's own forms (die "die", died "di", dying "dy"); and common
# British/American spellings. Left out on purpose: forms that are everyday words of another
# meaning (found/find, bit/bite, bound/bind, rose/rise, lay/lie, wound/wind, ground/grind, bore/bear), and
# forms whose stem other words share (indices/indicate, vertices/vertical): checked on the benchmark texts.
# Months and weekdays with the abbreviations dates write ("Sat, 22 Jun 2024" for "22 June 2024"), less "sat" and
# "sun" (a form of "sit"; the sun) and "may" (a stop word).
# Nouns made from verbs whose Porter stems differ from the verb's, with -ee, -sion/-tion, -ure or -ance
# ("Attendees:" for "Who attended?", "Decision:" for "What was decided?"); left out: those that are everyday words
# of another meaning (extension, expansion, reception, provision, trial, signature, application), or whose verb
# is one (train/trainee: "the train"; address/addressee, grant/grantee, divide/division, introduce/introduction).
# "ate" stays: Porter stems it "at", so the index finds "eat" in every "at" too, which makes the word weigh next
# to nothing in a question (better than a missing word that makes its passage NOT FOUND); "at" is a stop word.
WORD_FORMS = """
arise arose arisen; awake awoke awoken; beat beaten; become became; begin began begun; bend bent
blow blew blown; break broke broken; breed bred; bring brought; build built; buy bought; catch caught
choose chose chosen; cling clung; come came; creep crept; deal dealt; dig dug; draw drew drawn
drink drank drunk; drive drove driven; dwell dwelt; eat ate eaten; fall fell fallen; feed fed; feel felt
fight fought; flee fled; fling flung; fly flew flown flies; forbid forbade forbidden
forget forgot forgotten; forgive forgave forgiven; forsake forsook forsaken; freeze froze frozen
get got gotten; give gave given; go went gone goes; grow grew grown; hang hung; hear heard; hide hid hidden
hold held; keep kept; kneel knelt; know knew known; lead led; leap leapt; leave left; lend lent; lose lost
make made; mean meant; meet met; pay paid; ride rode ridden; ring rang rung; run ran; see saw seen
seek sought; sell sold; send sent; shake shook shaken; shine shone; shoot shot; show showed shown
shrink shrank shrunk; sing sang sung; sink sank sunk; sit sat; slay slew slain; sleep slept; slide slid
speak spoke spoken; speed sped; spend spent; spin spun; spring sprang sprung; stand stood
steal stole stolen; stick stuck; sting stung; strike struck stricken; strive strove striven
swear swore sworn; sweep swept; swim swam swum; swing swung; take took taken; teach taught; tear tore torn
tell told; think thought; throw threw thrown; tread trod trodden; understand understood; wake woke woken
wear wore worn; weave wove woven; weep wept; win won; withdraw withdrew withdrawn; write wrote written
beget begat begot begotten; smite smote smitten; bid bade bidden; hew hewed hewn; abide abode
overcome overcame; undertake undertook undertaken; mistake mistook mistaken; foresee foresaw foreseen
bite bitten; rise risen; bear borne; bleed bled; light lit; string strung; wring wrung; sling slung
stink stank stunk; sow sown; mow mown; sew sewn; swell swollen; prove proven; stride strode stridden
thrive throve thriven; overtake overtook overtaken; partake partook partaken; undergo underwent undergone
oversee oversaw overseen; override overrode overridden; rewrite rewrote rewritten; mislead misled
misunderstand misunderstood; withhold withheld; uphold upheld; withstand withstood; foretell foretold
undo undid undone; outgrow outgrew outgrown; befall befell befallen; behold beheld; cleave clave cloven
shear shorn; spit spat; learn learnt; burn burnt; dream dreamt; spell spelt; spill spilt; spoil spoilt
smell smelt; lean leant
january jan; february feb; march mar; april apr; june jun; july jul; august aug; september sep sept
october oct; november nov; december dec; monday mon; tuesday tue tues; wednesday wed; thursday thu thur thurs
friday fri
die dies died dying dead death; lie lies lied lying; tie ties tied tying
child children; man men; woman women; person people; mouse mice; foot feet; tooth teeth; goose geese
ox oxen; louse lice; brother brethren; wife wives; life lives; knife knives; wolf wolves; half halves
shelf shelves; thief thieves; loaf loaves; calf calves; self selves; elf elves; hoof hooves
crisis crises; thesis theses; criterion criteria; phenomenon phenomena; matrix matrices
appendix appendices; cactus cacti; fungus fungi; nucleus nuclei; radius radii
stimulus stimuli; alumnus alumni; datum data; bacterium bacteria; curriculum curricula; cherub cherubim
seraph seraphim; parenthesis parentheses; hypothesis hypotheses; diagnosis diagnoses; ellipsis ellipses
quiz quizzes; sheaf sheaves; scarf scarves; dwarf dwarves; wharf wharves
big bigger biggest; large larger largest; small smaller smallest; long longer longest; high higher highest
tall taller tallest; great greater greatest; young younger youngest; old older oldest; fast faster fastest
early earlier earliest; late later latest; good better best; bad worse worst; near nearer nearest
far farther farthest further furthest; deep deeper deepest; wide wider widest; low lower lowest
strong stronger strongest; rich richer richest; heavy heavier heaviest; short shorter shortest
hot hotter hottest; cold colder coldest; new newer newest; close closer closest; easy easier easiest
hard harder hardest
colour color; honour honor; favour favor; behaviour behavior; labour labor; neighbour neighbor
harbour harbor; humour humor; rumour rumor; centre center; theatre theater; metre meter; litre liter
fibre fiber; defence defense; offence offense; licence license; grey gray; catalogue catalog
dialogue dialog; programme program; analyse analyze; organise organize; realise realize
recognise recognize; apologise apologize; jewellery jewelry; aluminium aluminum; plough plow
attend attendee attendees; employ employee employees
nominate nominee nominees; retire retiree retirees; invite invitee invitees; assign assignee
decide decision decisions; conclude conclusion; include inclusion; exclude exclusion
collide collision; explode explosion; invade invasion; persuade persuasion; assume assumption
consume consumption; reduce reduction; fail failure; depart departure; maintain maintenance
percent percentage percentages
hour hourly; day daily; week weekly; month monthly; year yearly annual annually
"""


def fold(word: str) -> str:
    """Lower case, diacritics folded ("Café" -> "cafe", as the index's remove_diacritics 2), possessive and
    hyphens dropped ("Shelley's" -> "shelley", "e-mail" -> "email")."""
    word = word.lower().replace("-", "")
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return _POSSESSIVE.sub("", word) if "'" in word or "’" in word else word


def _light_stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=1 << 16)
def _porter(word: str) -> str:
    """Porter's stem of a folded word; words under 3 characters stay whole (as FTS5's porter keeps them)."""
    if len(word) < 3:
        return word
    if _PORTER is not None:
        return str(_PORTER.stemWord(word))
    return _SQLITE_PORTER(word) if _SQLITE_PORTER is not None else _light_stem(word)


def _form_tables() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    base_of: dict[str, str] = {}
    group: dict[str, tuple[str, ...]] = {}
    for entry in WORD_FORMS.replace("\n", ";").split(";"):
        forms = entry.split()
        if forms:
            base = _porter(forms[0])
            group[base] = tuple(forms)
            for form in forms:
                base_of[_porter(form)] = base
    return base_of, group


_BASE_OF, _GROUP = _form_tables()
_STEMMER = "porter" if _PORTER is not None else ("sqlite porter" if _SQLITE_PORTER is not None else "light")
WORD_MATCHING = f"{_STEMMER} stems + {len(_BASE_OF)} irregular forms"
"""How words are matched, for the index's description ("sqlite porter" in a sandbox without snowballstemmer)."""


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The key two word forms share when they are forms of one word: case, diacritics and possessive aside,
    Porter's stem, then the table's base form ("Wrote", "written", "writes" -> "write"; "died", "death" ->
    "die"; "children" -> "child"). Used for every comparison of words here, the index's included."""
    key = _porter(fold(word))
    return _BASE_OF.get(key, key)


def _keys(text: str) -> str:
    """The words of `text` as their keys, space-separated."""
    return " ".join(stem(w) for w in _WORD.findall(text))


def _bare(word: str) -> str:
    """A question's word as a search term: lower case, no possessive or quote marks ("Shelley's" -> "shelley")."""
    return _POSSESSIVE.sub("", word.lower()).strip("'’")


VERB_NOUNS = {"train": ("trainee", "trainees"), "address": ("addressee",), "grant": ("grantee",)}
"""Nouns of the one done to (-ee) whose verb, bare, is also an everyday noun of another meaning ("the train",
"an address", "a grant"): only the verb's other forms find them ("Who was trained?" finds "Trainees:"; "When does
the train arrive?" does not). Not in `WORD_FORMS`, which makes all forms of a word one."""


def word_forms(word: str) -> list[str]:
    """`word` and the other forms the table gives it (for the index, which stems each of them itself); a verb's
    inflected form ("trained") also the nouns `VERB_NOUNS` gives it."""
    bare = _bare(word)
    joined = [bare.replace("-", "")] if "-" in bare else []  # "e-mail" is also written "email"
    nouns = VERB_NOUNS.get(stem(word), ()) if bare not in VERB_NOUNS and bare.endswith(("ed", "ing")) else ()
    return list(dict.fromkeys([bare, *joined, *_GROUP.get(stem(word), ()), *nouns]))


# --- the index --------------------------------------------------------------------------------------


_GLUED = re.compile(r"\b([A-Z]{2,6})(\d{2,})\b")
"""An abbreviation glued to its number: 'RFC4340', 'ISO8601', 'EN50155'."""


def _unglued(text: str) -> str:
    """`text` for the index, each abbreviation glued to its number (`_GLUED`) also written apart ('[RFC4340]' ->
    '[RFC4340 RFC 4340]'), so that 'Which RFC describes DCCP?' finds it under 'rfc' (and '4340'), while the glued
    token itself stays a term of its own."""
    return _GLUED.sub(r"\g<0> \1 \2", text) if _GLUED.search(text) else text


def _spaced(text: str) -> str:
    """CJK characters as separate tokens (the unicode61 tokenizer would keep a whole run as one word)."""
    return _CJK.sub(lambda m: f" {m.group(0)} ", text) if _CJK.search(text) else text


_NUMBER_IN = re.compile(r"(?<![^\W\d_])\d+(?:[-./:]\d+)*(?![^\W\d_])")
"""A number as one token with the numbers joined to it by '-', '.', '/' or ':' (a date, a clock, a version, a
dotted ID): the question's number matches only a whole one (`Index.rows`)."""


class Index:
    """Units ranked by BM25 with stemming. SQLite FTS5 (porter + unicode61, diacritics folded) when available,
    else a small BM25 over the same tokens. `search(terms)` gives [(unit index, score)], best first;
    `rows(term)` the set of units that hold a term."""

    def __init__(self, units: list[dict[str, Any]]) -> None:
        self.units = units
        self.engine = "fts5"
        self._cache: dict[str, set[int]] = {}
        self._matches: dict[str, str] = {}
        self._spelled: dict[str, str | None] = {}
        self._lock = threading.Lock()
        try:
            import sqlite3

            # cells may run on different threads (the inprocess tier): one connection, shared under a lock
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.execute("CREATE VIRTUAL TABLE u USING fts5(name, body, tokenize='porter unicode61 remove_diacritics 2')")
            db.executemany(
                "INSERT INTO u(rowid, name, body) VALUES (?, ?, ?)",
                ((i, _spaced(u["name"]), _spaced(_unglued(u["text"]))) for i, u in enumerate(units)),
            )
            self._db: Any = db
        except Exception:  # no sqlite3 module, or no FTS5 in this build
            self.engine = "bm25-python"
            self._db = None
            self._postings: dict[str, dict[int, int]] = {}
            self._lengths = []
            for i, unit in enumerate(units):
                tokens = [stem(t) for t in _WORD.findall(_spaced(unit["name"] + " " + _unglued(unit["text"])).lower())]
                self._lengths.append(len(tokens))
                for token, count in Counter(tokens).items():
                    self._postings.setdefault(token, {})[i] = count
            self._average = sum(self._lengths) / max(1, len(self._lengths))

    def _phrase(self, term: str) -> str:
        return '"' + _spaced(term).replace('"', '""') + '"'

    def _match(self, term: str) -> str:
        """The FTS5 query for a term: a phrase; a single word as any of its forms ("wrote" as write OR wrote OR
        written ...; "e-mail" as "e mail" OR email), which the porter tokenizer stems alike on both sides, so
        the index holds a word exactly when `stem` gives it the term's key."""
        if term not in self._matches:
            forms = word_forms(term) if _WORD.fullmatch(term) else [term]
            if len(forms) == 1 and forms[0].isalpha() and len(forms[0]) >= 4:
                forms += self._hyphenated(forms[0])
            phrases = [self._phrase(f) for f in forms]
            self._matches[term] = phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"
        return self._matches[term]

    def _hyphenated(self, word: str) -> list[str]:
        """A word the text never writes whole but hyphenated ("email" as "e-mail", which the index holds as two
        words): those spellings, as phrases ("e mail")."""
        query = "SELECT rowid FROM u WHERE u MATCH ? LIMIT 20"
        found = []
        with self._lock:
            if self._db.execute(query, (self._phrase(word),)).fetchone():
                return []
            for cut in range(1, len(word)):
                head, tail = word[:cut], word[cut:]
                rows = [r[0] for r in self._db.execute(query, (self._phrase(f"{head} {tail}"),))]
                written = re.compile(rf"(?<!\w){re.escape(head)}-{re.escape(tail[:3])}", re.IGNORECASE)
                if any(written.search(self.units[r]["name"] + " " + self.units[r]["text"]) for r in rows):
                    found.append(f"{head} {tail}")
        return found

    def spelled_out(self, abbreviation: str) -> str | None:
        """What an abbreviation the text never writes stands for in it ("GPL": "general public license", from
        "GNU GENERAL PUBLIC LICENSE"; "FHS": "filesystem hierarchy standard"): the commonest run of capitalised
        words, small joining words allowed between them ("Bureau of Investigation"), whose initials spell it,
        when the text writes that run at least twice (once could be chance: "Cain Enoch Obed"). Lower-cased;
        None when there is none, for 2-letter abbreviations (pairs of capitalised words are everywhere) and for
        words the text writes."""
        key = abbreviation.lower()
        if key not in self._spelled:
            self._spelled[key] = None
            if 3 <= len(key) <= 6 and key.isascii() and key.isalpha() and not self.rows(key):
                joiner = r"(?:(?:of|and|for|the|on|in|to|&)\s+)?"
                run = (r"\s+" + joiner).join(rf"{letter}[A-Za-z]+" for letter in key.upper())
                pattern = re.compile(rf"(?<![\w-]){run}(?![\w-])")
                found = Counter(
                    " ".join(m.group(0).lower().split()) for unit in self.units for m in pattern.finditer(unit["text"])
                )
                if found:
                    spelled, times = found.most_common(1)[0]
                    self._spelled[key] = spelled if times >= 2 else None
        return self._spelled[key]

    def rows(self, term: str) -> set[int]:
        if term not in self._cache:
            if self._db is not None:
                query = "SELECT rowid FROM u WHERE u MATCH ?"
                match = self._match(term)  # before the lock: it may query the index itself
                with self._lock:
                    self._cache[term] = {r[0] for r in self._db.execute(query, (match,))}
            else:
                parts = [stem(t) for t in _WORD.findall(_spaced(term).lower())]
                found = set(self._postings.get(parts[0], {})) if parts else set()
                for part in parts[1:]:
                    found &= set(self._postings.get(part, {}))
                self._cache[term] = found
            if term.isdigit():  # "16" is no day of "1993-08-16", nor a part of "10:16" or "3.16.2" (audit 88c v01)
                self._cache[term] = {
                    r
                    for r in self._cache[term]
                    if any(
                        token.isdigit() and int(token) == int(term)  # "2" is the day of "02 Jul 2021"
                        for token in _NUMBER_IN.findall(_unglued(self.units[r]["name"] + " " + self.units[r]["text"]))
                    )
                }
        return self._cache[term]

    def search(self, terms: list[str], limit: int = 60) -> list[tuple[int, float]]:
        if not terms:
            return []
        if self._db is not None:
            match = " OR ".join(self._match(t) for t in terms)
            query = "SELECT rowid, bm25(u, 4.0, 1.0) FROM u WHERE u MATCH ? ORDER BY bm25(u, 4.0, 1.0) LIMIT ?"
            with self._lock:
                found = {r[0]: -r[1] for r in self._db.execute(query, (match, limit))}
                # and the best by their own text: names shared by many units (a vendor over its hundreds of
                # devices) must not crowd out the one unit that says it
                for row, score in self._db.execute(query, (f"body : ({match})", limit // 2)):
                    found.setdefault(row, -score)
            return sorted(found.items(), key=lambda item: -item[1])
        scores: dict[int, float] = {}
        n = len(self.units)
        for term in terms:
            for token in {stem(t) for t in _WORD.findall(_spaced(term).lower())}:
                posting = self._postings.get(token, {})
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                for i, tf in posting.items():
                    norm = tf + 1.2 * (0.25 + 0.75 * self._lengths[i] / self._average)
                    scores[i] = scores.get(i, 0.0) + idf * tf * 2.2 / norm
        return sorted(scores.items(), key=lambda item: -item[1])[:limit]


def build_index(sources: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Units, their index and the text's most frequent words (never answers on their own). Timed."""
    started, cpu = time.perf_counter(), time.process_time()
    units, shapes = split_units(sources)
    cut = time.perf_counter()
    index = Index(units)
    indexed = time.perf_counter()
    sample = " ".join(u["text"] for u in units[:: max(1, len(units) // 3000)]).lower()
    counts = Counter(_WORD.findall(sample))
    floor = max(5, sum(counts.values()) // 1000)  # in a short text, the top words are not frequent ones
    frequent = {w for w, n in counts.most_common(60) if n >= floor} | STOPWORDS
    return {
        "units": units,
        "index": index,
        "shapes": shapes,
        "sources": sources,
        "frequent": frequent,
        "timing": {
            "units_s": round(cut - started, 3),
            "index_s": round(indexed - cut, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
        },
    }


def describe(state: dict[str, Any]) -> str:
    kinds = Counter(u["kind"] for u in state["units"])
    chars = sum(len(source[1]) for source in state["sources"])
    return (
        f"searchable text: {chars:,} characters in {len(state['sources'])} source(s), shape "
        f"{'/'.join(sorted(set(state['shapes'])))}; units: "
        + ", ".join(f"{n:,} {'entries' if k == 'entry' else k + 's'}" for k, n in kinds.most_common())
        + f"; index: {state['index'].engine} ({WORD_MATCHING}); phase units {state['timing']['units_s']} s, "
        + f"phase index {state['timing']['index_s']} s (cpu {state['timing']['cpu_s']} s)"
        + "\nguided index ready"
    )


# --- the question ----------------------------------------------------------------------------------


_HOW_DEGREE = re.compile(
    r"(?i)\bhow\s+(?:often|frequently|old|long|far|big|large|small|tall|short|wide|high|low|deep|heavy|soon|late|"
    r"early|fast|quickly|slowly|young|hot|cold|warm)\b"
)
"""'how' and the degree word after it ask for an amount ("every 90 days", "41", "two years"), a word the text need
not write: "How often does the server password rotate?" over "The server password rotates every 90 days." was NOT
FOUND, the absent "often" outweighing the three words held (audit 81, a newcomer's first one-line file)."""


_LONE_LETTER = re.compile(r"(?<![\w.'’-])([^\W\d_])(?![\w'’-]|\.\w)")
"""A letter written as a word of its own, not one of a dotted abbreviation ("e.g.", "U.S."): sed's `d` command."""
_QUOTED_LETTER = re.compile(r"(?<!\w)[\"“'‘]([^\W\d_])[\"”'’](?!\w)")
"""A letter in quotes ("the 'r' and 'R' commands"), a term as a lone letter is."""
_QUOTED_PHRASE = re.compile(r"(?<!\w)[\"“«„'‘](?!\s)([^\"”»“'’]{2,80}?)(?<!\s)[\"”»“'’](?!\w)")
"""A phrase in quotes: opened after no letter and closed before none, with no space inside either quote, so the
text between two quoted items ("'r' and 'R'": " and ") is no phrase."""

_DURATIONS = (
    "ms msec millisecond s sec secs second seconds min mins minute minutes h hr hrs hour hours "
    "day days night nights week weeks fortnight month months year years yr yrs decade decades century centuries"
)
_LENGTHS = (
    "mm cm m metre metres meter meters km kilometre kilometres kilometer kilometers "
    "inch inches ft foot feet yard yards yd mi mile miles nautical"
)
_SIZES = "sq square m2 m² ft² acre acres hectare hectares ha b byte bytes kb kib mb mib gb gib tb tib pixel pixels px"
_WEIGHTS = "g gram grams kg kilo kilos kilogram kilograms t tonne tonnes ton tons lb lbs pound pounds oz ounce ounces"
_UNIT_WORDS = frozenset(
    (
        _DURATIONS + " " + _LENGTHS + " " + _SIZES + " " + _WEIGHTS + " percent per cent pence penny cents cent "
        "dollar dollars euro euros eur usd gbp chf pound pounds quid yen yuan rupee rupees franc francs krona kronor "
        "krone kroner"
    ).split()
)
"""Words that measure a number ("35 pounds", "3 days", "40 kg"): alone, without the number, they say no amount."""
_ASKS_AN_AMOUNT = re.compile(
    r"(?i)^\s*(?:what|how\s+much)\s+(?:is|was|are|were|will\s+be)\s+(?:the|our|my|their|its|his|her|this)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:fee|price|cost|rent|salary|fine|charge|deposit|wage|fare|premium|toll|subscription)s?"
    r"(?:\s+(?:of|for|per|on|at|in)\s+[^?]*)?\s*[?.!]*\s*$"
)
"""A question that asks an amount ("What is the annual fee?", "What is the price of a ticket?"): its answer holds
a number (or says there is none: `_NO_AMOUNT_WORDS`)."""
_NO_AMOUNT_WORDS = frozenset("free nothing none nil waived included zero gratis".split())


def _a_number(word: str) -> bool:
    """Whether a word of a reading is a number ("35", "4.50", "forty")."""
    return bool(re.fullmatch(r"\d[\d,.]*", word)) or word.lower() in NUMBER_WORDS


_DEGREE_UNITS: dict[str, frozenset[str]] = {
    word: frozenset(units.split())
    for words, units in (
        (
            "often frequently",
            _DURATIONS + " every each per daily nightly weekly monthly yearly annually hourly times once twice thrice",
        ),
        ("old young", _DURATIONS + " age aged old"),
        ("long", _DURATIONS + " " + _LENGTHS + " characters chars letters words lines pages"),
        ("far", _LENGTHS + " " + _DURATIONS + " walk drive ride blocks stops"),
        ("tall high short wide deep low", _LENGTHS + " storeys stories floors"),
        ("big large small", _LENGTHS + " " + _SIZES + " " + _WEIGHTS),
        ("heavy", _WEIGHTS),
        ("hot cold warm", "degrees degree ° °c °f c f celsius fahrenheit kelvin"),
        ("fast quickly slowly", "km/h kph mph knots knot m/s per rpm fps"),
    )
    for word in words.split()
}
"""The words a fitting answer to "how <degree word>" holds beside its number ("every 90 days", "41 years old",
"3 km", "60 m²"): each degree word asks for an amount of one kind, and a number of another kind (a year for "how
old", a start time for "how long") is no answer. Degree words not listed ("soon", "late") are not checked."""
_DEGREE_AMOUNT = re.compile(r"(?i)\d|\b(?:" + "|".join(sorted(NUMBER_WORDS)) + r"|a|an|half|few|several|many)\b")


_HOW_OFTEN_WORDS = frozenset("every each daily nightly weekly monthly yearly annually hourly once twice thrice".split())
"""Words that say a frequency with no digit ("twice a day", "every month", "weekly")."""
_TAKES_TIME = re.compile(r"(?i)\b(?:take|takes|took|taken|taking|last|lasts|lasted|ago|wait|waited|since)\b")


def _degree_units(query: str) -> frozenset[str] | None:
    """The words a fitting answer to the question's "how <degree word>" holds (`_DEGREE_UNITS`); for "how long"
    with a verb of time ("How long does the walk take?", "... last?", "How long ago ...?") durations only: a
    distance ("3 km") is no answer (audit 83 E). None for a question with no such degree word."""
    asked = re.search(r"(?i)\bhow\s+(\w+)", query)
    units = _DEGREE_UNITS.get(asked.group(1).lower()) if asked else None
    if units is not None and asked is not None and asked.group(1).lower() == "long" and _TAKES_TIME.search(query):
        return frozenset(_DURATIONS.split())
    return units


_AFTER_A_NUMBER = re.compile(r"[ \t]*-?[ \t]*([^\W\d_]+)")
_NUMBER_JOINERS = frozenset("to and or more less over under nearly about around whole full odd".split())


def _counts_another_kind(core: str, after: str, units: frozenset[str]) -> bool:
    """Whether the word right after the last number of `core` (in `core`, or first in `after`, the text that
    follows it) names what that number counts and is no word of `units`: "2 times a week" or "2 litres" is no
    duration however near "6 weeks" is written. False when no word follows the number ("41.", "20°C") or it joins
    another number ("2 to 3 weeks")."""
    numbers = list(re.finditer(r"\d+(?:[.,]\d+)*|\b(?:" + "|".join(sorted(NUMBER_WORDS)) + r")\b", core, re.I))
    if not numbers:
        return False
    rest = core[numbers[-1].end() :]
    word = _AFTER_A_NUMBER.match(rest if rest.strip() else after)
    if word is None:
        return False
    said = word.group(1).lower()
    return said not in units and said not in _NUMBER_JOINERS and not re.fullmatch(r"st|nd|rd|th", said)


def _fits_the_degree(core: str, text: str, query: str) -> bool:
    """Whether `core`, an answer to "how old/long/far/often ..." (`_DEGREE_UNITS`), is an amount of that kind: an
    amount with a fitting word in it or beside it in the unit ("every 90 days", "41" of "age: 41", "3 km"), or for
    an age a bare number under 150 that ends its clause ("Bob is 41."); True for a question with no such degree
    word."""
    units = _degree_units(query)
    if units is None:
        return True
    places: list[re.Match[str] | None] = [*_places(core, text)] or [None]  # None: the core is not written
    for place in places:
        before = text[: place.start()] if place else ""
        after = text[place.end() :] if place else ""
        if _counts_another_kind(core, after, units):
            continue  # "2 times a week", "2 litres" for "How long does it take?" (review 83c v17)
        window = " ".join([*before.split()[-2:], core, *after.split()[:2]]).lower()
        tokens = set(re.findall(r"[\w/°²]+", window)) | set(re.findall(r"(?<=\d)[a-z°²/]+", window))
        if tokens & units and (_DEGREE_AMOUNT.search(core) or set(re.findall(r"[\w/°²]+", core.lower())) & units):
            return True
        bare_age = "age" in units and re.fullmatch(r"\d{1,3}", core.strip()) and int(core) < 150
        if bare_age and re.match(r"\s*(?:$|[.,;:!?)]|and\b|or\b|but\b)", after):
            return True  # "Bob is 41 and lives in York": an age said bare (not "4 platforms", not "in 2015")
    return False


_TAKES_TO = re.compile(r"(?i)\b(?:take|takes|took|taken|taking)(?=\s+(?:(?:me|you|us|him|her|them|one)\s+)?to\s+\w)")
"""The verb of "it takes (me) to VERB": a time question's frame, naming nothing the text writes."""


_INSTRUCTION = re.compile(
    r"(?i)^(?:please\s+|and\s+|but\s+)?(?:answer|reply|respond|be|keep|just|only|use|format|return|output|write|"
    r"limit|cite|quote|don'?t|do\s+not|no|make|give\s+(?:(?:me|us)\s+)?(?:only|just|a\s+(?:short|brief|one[- ]word)|"
    r"the\s+answer|one\s+word))\b[^?]*[.!]?$"
)
"""A sentence that says how to answer ("Answer briefly.", "Reply with the code only.", "Be concise.", "Don't
explain."), not what is asked: beside a sentence that asks, its words are no search terms (audit 84 v03: "Answer"
and "briefly" were terms a passage had to hold, "Answer" a name)."""
_ASKING = re.compile(
    r"(?i)\?\s*$|^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|has|have|had)\b"
)
_FILE_MENTION = r"(?:\s+(?:in|from|of|inside|within)\s+(?:the\s+)?(?:file\s+)?)?[\"'`‘“]?{name}[\"'`’”]?(?!\w)"


def question_only(query: str, files: Collection[str] = ()) -> str:
    """The words of `query` that ask, for the search: less the sentences that only say how to answer
    (`_INSTRUCTION`, dropped only beside a sentence that asks, never the question itself: "List the users." is
    one), and less the names of the context's own `files` ("... in aurora_report.txt?": every line of that file
    is in it, and none writes its name). The query as it is when nothing of it would be left."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", query.strip()) if s]
    asking = [s for s in sentences if _ASKING.search(s) or not _INSTRUCTION.match(s)]
    if asking and len(asking) < len(sentences) and any(_ASKING.search(s) for s in asking):
        query = " ".join(asking)
    for name in sorted({str(f) for f in files if str(f).strip()}, key=len, reverse=True):
        base = re.split(r"[\\/]", name.strip())[-1]
        for form in dict.fromkeys([name.strip(), base]):
            if not re.search(r"[._/\\-]", form):
                continue  # a bare word ("notes") may be what is asked about; a name with a suffix is the file's
            cut = re.sub(_FILE_MENTION.format(name=re.escape(form)), "", query, flags=re.IGNORECASE)
            if any(w.lower() not in ENGLISH_STOPWORDS for w in _WORD.findall(cut)):  # else the name is all it asks
                query = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cut))
    return query


def search_terms(query: str) -> list[str]:
    """Content words and quoted phrases of the query, lower-cased, most specific first; CJK runs as bigrams. The
    degree word of a "how often/old/long ..." question is no term (`_HOW_DEGREE`), nor the verb a request opens
    with ("List the ...", "Show me ...": `_opens_with_a_request`), nor "take" of "How long does it take (me) to
    boil the eggs?", which only asks for the time (`_TAKES_TO`: review 83c v17)."""
    if re.search(r"(?i)\bhow\s+(?:long|many\s+(?:" + "|".join(_DURATIONS.split()) + r"))\b", query):
        query = _TAKES_TO.sub(" ", query)
    query = _HOW_DEGREE.sub("how", _shouted(query))
    opening = re.match(r"\s*(\w+)\s+(?=\S)", query)
    if opening and _opens_with_a_request(query):  # "List the users ...": the verb asks, names nothing
        query = query[opening.end() :]
    foreign = is_foreign(query)
    phrases = [p.lower().strip() for p in _QUOTED_PHRASE.findall(query)]
    # a name in capitals ("LATIN SMALL LETTER E WITH ACUTE") is searched as one phrase, its short words included
    phrases += _caps_phrases(query)
    # a version or a dotted number is one term: "27.04" is not "27" in one date and "04" in another
    phrases += [v.lower() for v in _VERSION.findall(query)]
    words: list[str] = []
    for token in _WORD.findall(_VERSION.sub(" ", query)):
        for word in _SCRIPT_RUN.findall(token) if _CJK.search(token) else [token]:
            if _CJK.search(word):  # no spaces between CJK words: overlapping pairs of characters
                for run in re.split("[" + "".join(CJK_STOP) + "]+", word):
                    chars = _CJK.findall(run)
                    words.extend(["".join(chars[i : i + 2]) for i in range(len(chars) - 1)] or chars)
            elif foreign and "-" in word and not re.search(r"\d", word):  # "Aurora-Projekts": its parts
                words.extend(part.lower() for part in word.split("-"))
            else:
                words.append(_bare(word))
    # another language's function words are English words in an English question ("die", "son", "war")
    stop = STOPWORDS if foreign else ENGLISH_STOPWORDS
    # a one-digit number names something ("protocol version 5"), and so does a letter standing alone that is no
    # English word ("the d command", "the x key", "vitamin C"); the letters of "e.g." or "U.S." name nothing
    letters = {_bare(m.group(1)) for m in (*_LONE_LETTER.finditer(query), *_QUOTED_LETTER.finditer(query))}
    terms = [w for w in words if (len(w) >= 2 or w.isdigit() or _CJK.search(w) or w in letters) and w not in stop]
    terms = terms or [w for w in words if w not in stop] or words
    seen: dict[str, None] = {}
    for term in phrases + terms:
        if term:
            seen.setdefault(term, None)
    return list(seen)[:24]


def _caps_phrases(query: str) -> list[str]:
    """Names in capitals ("LATIN SMALL LETTER SHARP S"), lower-cased, less the question's own words around them
    ("WHO WROTE the novel" names nothing: "wrote" is a word of its own, in any of its forms)."""
    phrases = []
    for run in _CAPS_RUN.findall(query):
        words = run.lower().split()
        while words and words[0] in ENGLISH_STOPWORDS:
            words.pop(0)
        while words and words[-1] in ENGLISH_STOPWORDS:
            words.pop()
        if len(words) >= 2:
            phrases.append(" ".join(words))
    return phrases


def _shouted(query: str) -> str:
    """A question written all in capitals ("WHO WROTE THE NOVEL") in lower case: its capitals name nothing."""
    letters = [c for c in query if c.isalpha() and not _CJK.match(c)]
    return query.lower() if len(letters) > 12 and not any(c.islower() for c in letters) else query


_VERSION = re.compile(r"(?<![\w.])\d+(?:[.:]\d+)+(?:[-~+][\w.~+]*\w)?(?![\w]|[.:]\d)")
"""A version or dotted number as the question writes it: 27.04, 3.10, 252.39-1~deb12u2, 10:30."""
_FRAME_CAPS = frozenset("id ids url urls uri uuid guid".split())
"""Abbreviations written in capitals that say what kind of value is asked for, never what it is about."""


# a name from code or a manual, however it is cased: an option ("-regextype", "--wait"), snake_case ("set_tunnel"),
# a dotted name ("os.path", "config.yaml"), a call ("close()"), camelCase ("getAttribute"); no English word has
# these shapes (a hyphen inside a word, "e-mail", or a dash between words, " - ", is no option)
_CODE_NAME = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]*"
    r"|\b_*[A-Za-z]\w*_\w*"
    r"|\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?=\(|\b)(?!\.\w)"
    r"|\b[A-Za-z_]\w*(?=\(\))"
    r"|\b[a-z]+[A-Z]\w*"
)


def _identifiers(query: str) -> set[str]:
    """The search terms of the names from code the question writes (`_CODE_NAME`): "-regextype" -> "regextype",
    "os.path" -> "os" and "path"; the parts of "e.g." or "i.e." are single letters, no terms."""
    found: set[str] = set()
    for name in _CODE_NAME.findall(query):
        found.update(_bare(w) for w in _WORD.findall(name) if len(w) > 1)
    return found


_MODAL = frozenset("must need needs needed ought should".split())
"""Verbs of obligation: 'When must I renew my passport?' asks when the renewal is, whatever verb the text uses."""
_THE_LIST = re.compile(r"(?i)\b(?:on|in|from|off)\s+(?:the|my|our|your|this|that)\s+(?:to-?do\s+)?(list)\b")
"""'Is paying rent on the list?': the list is the text in hand, no word of it."""
_WHICH_PART = re.compile(
    r"(?i)^\s*(?:which|what)\s+(section|part|clause|paragraph|chapter|article|heading)s?\s+"
    r"(?:(?:covers?|concerns?|addresses|address|discuss(?:es)?|describes?|deals?\s+with|treats?|governs?|"
    r"talks?\s+about|is\s+about|is\s+on|explains?|handles?|mentions?)\b)"
)
"""'Which section covers limitation of liability?': the part and its verb frame what it is about."""


_AS_AN_EXAMPLE = re.compile(r"(?i)\b([a-z]+)\s+(?:as\s+(?:an?\s+|one\s+)?examples?|for\s+(?:example|instance))\b")
"""A verb that presents what is asked as an example ('given as an example', 'listed as examples', 'cited for
instance'): `_PRESENTING` names which."""
_PRESENTING = frozenset(
    stem(w) for w in "give cite list name mention use offer show provide quote suggest present include note".split()
)
"""Verbs that only say the text presents something ('Which archive site is given as an example?'): the text
gives its example ("such as uunet.uu.net") and need not write the verb; its other senses elsewhere ("give away
copies") would pull other units up (audit 88a v01, v02)."""


_NO_CONTENT_VERBS = frozenset("happen happens happened happening occur occurs occurred occurring".split())
"""Verbs that ask for an event and name none ('What happens if it rains?' over 'If it rains, all events move into
the Hall'): the question's condition is its content, the verb only says an answer is an event (audit 87b F4)."""


def frame_terms(query: str, terms: list[str], index: Index, kinds: Collection[str] = ()) -> list[str]:
    """The terms of `query` that only frame it and that the text never writes, to be left out of the search: a
    verb of obligation ('must', 'need': `_MODAL`), a verb that names no content ('happens': `_NO_CONTENT_VERBS`),
    'list' in 'on the list' (`_THE_LIST`), the part and its verb in 'which section covers X' (`_WHICH_PART`), and
    a word that names the file's own kind (`kinds`, from `own_kind_words`: 'package' over package.json, 'container'
    over a Dockerfile; what the whole file is about is written on none of its lines). Such a word, absent from a
    small text, weighs as much as the subject and sank the unit that holds it below MIN_COVER (audit 82 F6/F7,
    87 F6/F7, 87c F6). A word the text writes stays a term; so do the subject's words, however rare, so an absent
    fact stays NOT FOUND. 'number' of 'the maximum number of X' (`_BOUNDED_NUMBER`) frames it too. The verb that
    presents an example ('given as an example': `_AS_AN_EXAMPLE`) frames the question written or not ("give away
    copies" is another giving); 'example' itself stays a term, which the text holds where it gives one
    (`_EXAMPLE_MARKS`)."""
    presenting = {_bare(m.group(1)) for m in _AS_AN_EXAMPLE.finditer(query) if stem(m.group(1).lower()) in _PRESENTING}
    frame = set(_MODAL) | _NO_CONTENT_VERBS
    own = {stem(w) for w in kinds}
    frame.update(t for t in terms if stem(t) in own)
    listed = _THE_LIST.search(query)
    if listed:
        frame.add("list")
    if _BOUNDED_NUMBER.search(query):  # "the maximum number of attempts" is `max_attempts`: 'number' frames it
        frame.add("number")
    part = _WHICH_PART.match(query)
    if part:
        frame.update(_bare(w) for w in _WORD.findall(part.group(0)))
    kind = _DEF_KIND.match(query)
    if kind and _bare(kind.group(1)) in terms:  # 'What does the writerow method do?': 'method' names no subject
        return [t for t in terms if (t in frame and not index.rows(t)) or t == kind.group(2).lower() or t in presenting]
    return [t for t in terms if (t in frame and not index.rows(t)) or t in presenting]


_BOUNDED_NUMBER = re.compile(r"(?i)\b(?:max(?:imum)?|min(?:imum)?)\s+number\s+of\b")
"""'the maximum (minimum) number of X': a bound on a count, which a setting writes as `max_X` (`MaxX`, 'X limit')
and never with the word 'number' (audit 88b v10); a text that writes 'number' keeps it a term."""


_DOCKER_INSTRUCTION = re.compile(
    r"^(?:FROM|RUN|CMD|COPY|ADD|WORKDIR|EXPOSE|ENV|USER|ENTRYPOINT|ARG|LABEL|VOLUME|HEALTHCHECK|STOPSIGNAL|SHELL)"
    r"[ \t]+\S",
    re.MULTILINE,
)
_DOCKER_KIND = ("container", "containers", "dockerfile", "docker", "image", "images", "file")
"""What a Dockerfile is about, by its format: it builds a container image, and no instruction line says so ("the
file" is the Dockerfile itself)."""
_DOCKER_LINES = 3
_DOCKER_ANY_CASE = re.compile(
    r"(?i)(?:FROM|RUN|CMD|COPY|ADD|WORKDIR|EXPOSE|ENV|USER|ENTRYPOINT|ARG|LABEL|VOLUME|HEALTHCHECK|STOPSIGNAL|SHELL"
    r"|ONBUILD|MAINTAINER)[ \t]+\S"
)
"""A Dockerfile instruction in any case: Docker reads `from`, `expose` as FROM, EXPOSE (review 88q v15)."""


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(1-based first line, line) of each line of a Dockerfile, one ended by '\\' joined with the next."""
    lines = text.split("\n")
    joined = []
    number = 0
    while number < len(lines):
        start, line = number + 1, lines[number]
        while line.rstrip().endswith("\\") and number + 1 < len(lines):
            number += 1
            line = line.rstrip()[:-1].rstrip() + " " + lines[number].strip()
        number += 1
        joined.append((start, line))
    return joined


def _upper_case_dockerfile(text: str) -> bool:
    """Whether a text is a Dockerfile that writes its instructions in upper case, as is the custom."""
    head = text[:20000]
    return len(_DOCKER_INSTRUCTION.findall(head)) >= _DOCKER_LINES and re.search(r"^FROM[ \t]", head, re.M) is not None


def _is_dockerfile(text: str) -> bool:
    """Whether a text is in a Dockerfile's format: a FROM line and _DOCKER_LINES upper-case instructions, or
    (instructions written in lower or mixed case, which prose lines may begin with: "from", "run", "add") every
    line but comments and blanks an instruction, the first of them FROM or ARG."""
    head = text[:20000]
    if _upper_case_dockerfile(head):
        return True
    written = [line.strip() for _, line in _logical_lines(head)]
    written = [line for line in written if line and not line.startswith("#")]
    return (
        len(written) >= _DOCKER_LINES
        and re.match(r"(?i)(?:FROM|ARG)[ \t]", written[0]) is not None
        and all(_DOCKER_ANY_CASE.match(line) for line in written)
    )


def own_kind_words(state: dict[str, Any]) -> set[str]:
    """Lower-case words that name the context's own kind, which none of its lines needs to write: the words of
    the name of the file it was loaded from (`state["files"]`, or a source named like a file: "character.json"
    -> character, json), and, for a text in a Dockerfile's format (a FROM line and _DOCKER_LINES instructions),
    `_DOCKER_KIND`. A variable's own name ("context") names no kind."""
    names = [str(n) for n in (state.get("files") or {}).values()]
    names += [str(src[0]) for src in state["sources"] if re.search(r"\w\.\w{1,5}$", str(src[0]))]
    words = {w.lower() for n in names for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", re.split(r"[\\/]", n)[-1])}
    for src in state["sources"]:
        if _is_dockerfile(src[1] if isinstance(src[1], str) else ""):
            words.update(_DOCKER_KIND)
    if "dockerfile" in words:
        words.update(_DOCKER_KIND)
    return {w for w in words if len(w) > 2}


def joined_terms(query: str, terms: list[str], index: Index) -> dict[str, str]:
    """Two adjacent words of the question that the text writes only as one identifier ('line terminator':
    `lineterminator`, 'max size': `max_size`), each mapped to that identifier (the second to ""), so the search
    looks for the name the code writes. A pair is joined only when one of its words is absent from the text and
    the joined form is there: 'line' and 'terminator' apart would ask every unit for a word no line writes."""
    words = [_bare(w) for w in _WORD.findall(query)]
    joined: dict[str, str] = {}
    for first, second in pairwise(words):
        if first not in terms or second not in terms or first in joined or second in joined:
            continue
        if index.rows(first) and index.rows(second):
            continue
        for form in (first + second, f"{first}_{second}"):
            if index.rows(form):
                joined[first], joined[second] = form, ""
                break
    return joined


_DEF_KIND = re.compile(
    r"(?i)\s*what\s+does\s+(?:the\s+)?([A-Za-z_][\w.]*)\s+(method|function|class|module|property|decorator)\s+do\b"
)
"""'What does the writerow method do?': the kind of def names what the subject is, never a word its source must
write (a def without a docstring says 'def writerow', never 'method'); it frames the question, written or not."""


def salient_terms(query: str, terms: list[str]) -> list[str]:
    """The terms the question names specifically: written with capitals (not just starting the question), with
    digits, quoted, or shaped as a name from code (`_CODE_NAME`). A unit that lacks them is not about the
    question, however many other words it shares. Capitals after "this" or "these" name the text itself
    ("disputes under this License"), no subject."""
    marked = _identifiers(query)
    query = _shouted(query)
    words = _WORD.findall(query)
    nouns_capitalised = sum(w.lower() in _GERMAN for w in words) >= 2  # German capitalises every noun
    the_text_itself = False  # inside "this License", "these Terms": the document in hand, named on every page
    for position, word in enumerate(words):
        capital = word[:1].isupper() and position > 0 and not nouns_capitalised
        the_text_itself = capital and (the_text_itself or words[position - 1].lower() in ("this", "these"))
        if word.lower() in _FRAME_CAPS or the_text_itself:
            continue  # "the vendor ID of Intel": an ID is what is asked for, not what the answer is about
        if capital or (word.isupper() and len(word) > 1) or re.search(r"\d", word):
            marked.add(_bare(word))
            marked.update(_bare(part) for part in word.split("-"))
    marked |= {p.lower().strip() for p in _QUOTED.findall(query)} | set(_caps_phrases(query))
    marked |= {v.lower() for v in _VERSION.findall(query)}
    return [t for t in terms if t in marked]


_SUBJECT_MARK = re.compile(r"\b(?:of|for|to)\b", re.IGNORECASE)


def subject_term(query: str, terms: list[str], index: Index) -> str | None:
    """The rarest word of what the question is about, the one to three words after its last "of", "for" or "to"
    ("the currency code for gold": gold): a unit without it is about something else, however many of the
    question's other words it holds. None when there is no such phrase, when it names two things ("prefix and
    exec_prefix"), or when the text lacks any word of the question (what may be absent is left to the coverage
    gate, which then says NOT FOUND)."""
    marks = list(_SUBJECT_MARK.finditer(query))
    phrase = query[marks[-1].end() :] if marks else ""
    words = {_bare(w) for w in _WORD.findall(phrase) if w.lower() not in ENGLISH_STOPWORDS}
    named = [t for t in terms if t in words]
    if not named or len(named) < len(words) or len(words) > 3 or re.search(r"\band\b|,", phrase):
        return None
    counts = {t: len(index.rows(t)) for t in terms}
    if min(counts.values()) == 0:
        return None
    return min(named, key=lambda t: counts[t])


_ABBREVIATION = re.compile(r"(?<![\w-])[A-Z]{3,6}(?![\w-])")


def spelled_out(query: str, index: Index) -> dict[str, str]:
    """{term: phrase} for the abbreviations the question writes in capitals ("GPL") that the text never writes
    but spells out (`Index.spelled_out`); a question all in capitals has none."""
    if _shouted(query) != query:
        return {}
    found = {}
    for word in _ABBREVIATION.findall(query):
        if word.lower() not in _FRAME_CAPS and (phrase := index.spelled_out(word)):
            found[word.lower()] = phrase
    return found


def _asks_two(query: str, salient: list[str]) -> bool:
    """Whether the question names two things joined by "and" ("UDP and UDP-Lite", "sections 15 and 16"), one
    each side, so that no single unit's value answers it."""
    halves = re.split(r"\band\b", query.lower(), maxsplit=1)
    if len(halves) < 2 or not salient:
        return False
    return all(any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", half) for t in salient) for half in halves)


_COMPARED_NUMBER = re.compile(
    r"(?i)\b(?:more|greater|higher|larger|bigger|less|fewer|lower|smaller)\s+than\s+[£$€]?(\d[\d,.]*%?)|"
    r"\b(?:over|above|exceeding|at\s+least|under|below|at\s+most)\s+[£$€]?(\d[\d,.]*%?)"
)
"""A yes/no question's threshold ("above 90", "more than 1,500"): the number it is compared with, which the text
need not write ("Is Omar's mark above 90?" over a mark of 91), so no term to find and no word of an attribute."""


def compared_numbers(query: str) -> set[str]:
    """The threshold numbers a yes/no question compares with (`_COMPARED_NUMBER`), as `search_terms` writes them
    ("1,500" -> "1500" is not assumed: both spellings); empty for other questions."""
    if not asks_yes_no(query):
        return set()
    found = {(m.group(1) or m.group(2)).rstrip(".,").lower() for m in _COMPARED_NUMBER.finditer(query)}
    return found | {n.replace(",", "") for n in found} | {p for n in found for p in re.split(r"[,.%]", n) if p}


def unnamed_attribute(query: str, index: Index, *, records: bool = False) -> str | None:
    """What a question asks for, the noun phrase "the ... of" or "the ... for" ("the international dialing code of
    Djibouti"), when the text uses none of its words: it cannot state that attribute of anything, whatever it
    says about the subject. None when there is no such phrase, or the text uses one of its words. In `records`
    (a table, JSON) a lone word ("the code for Quenya") is no evidence: a column named alpha_3 holds codes; a
    shape ("three-letter") is not a word of the attribute."""
    compared = bool(compared_numbers(query))
    if compared:  # "Is Omar's mark above 90?": the threshold is no word of the attribute
        query = _COMPARED_NUMBER.sub(" ", query)
    frames = _ATTRIBUTE.findall(query) or (_POSSESSED.findall(query) if records else [])
    if not frames or is_foreign(query):
        return None
    words = [
        _bare(w)
        for w in _WORD.findall(frames[-1])
        if w.lower() not in ENGLISH_STOPWORDS and len(w) > 1 and not _SHAPE.fullmatch(w)
    ]
    if (
        not words
        or (records and len(words) < 2 and words[0].lower() in _ANY_COLUMN)
        or (records and compared and len(words) < 2 and words[0].lower() in _SCORE_WORDS)
        or any(index.rows(w) for w in words)
        or any(index.rows(other) for w in words for other in _SAME_ATTRIBUTE.get(w.lower(), ()))
        or any(index.rows(other) for w in words for other in _ABBREVIATED.get(w.lower(), ()))
    ):
        return None  # (a column `writer` holds the author, `town` the city: review 83c v15)
    if any(index.rows(a + b) or index.rows(f"{a}_{b}") for a, b in pairwise(words)):
        return None  # "the max length of": code names it `maxlength` or `max_length` (`joined_terms`)
    typed = [w for w in words if w.lower() in _VALUE_OF_TYPE or w.lower() in ("ip", "number")]  # (see `_holds_a`)
    if any(_holds_a(w, unit["text"], words) for w in typed for unit in index.units):
        return None  # "the homepage URL of squash": the text writes URLs, never the word
    return " ".join(words)


_ANY_COLUMN = frozenset(
    "code codes id ids identifier identifiers name names title titles value values number numbers abbreviation "
    "abbreviations symbol symbols label labels key keys entry entries record records one ones field fields".split()
)
"""What a record's column may hold under a name of its own ("the code for Quenya": a column `alpha_3`; "the name
of ..."): a lone such word in a question about records is no evidence the records lack it. Any other lone word
("the publisher of The Salt Road") names a column, and records without it cannot state it: the author's name is
no publisher (audit 83 F1)."""
_SCORE_WORDS = frozenset("mark marks grade grades score scores result results points".split())
"""What a record's numeric columns hold under a subject's name ("History: 91" is a mark): a yes/no question
comparing a lone such word with a number ("Is Omar's mark above 90?") is no evidence the records lack it; it is
never read, so its columns are quoted (audit 85 v05)."""
_ATTRIBUTE = re.compile(r"\bthe\s+((?:[\w-]+\s+){0,3}[\w-]+)\s+(?:of|for)\b", re.IGNORECASE)
_POSSESSED = re.compile(r"(?<=\w)['’]s\s+((?:[\w-]+\s+){0,4}[\w-]+)\s*[?.!]*\s*$")
"""What a possessive asks for, to the question's end ("Farid's history grade", "Ana's grade in history"): in
records the same attribute as "the history grade of Farid" (audit 84b F5: a CSV without a history column answered
it from attendance_pct)."""
_SAME_ATTRIBUTES = (
    "author authors writer writers creator",
    "city cities town towns",
    "phone phones telephone tel mobile",
    "email e-mail",
    "surname lastname last_name family_name",
    "job jobs role roles position occupation profession",
    "company employer firm organisation organization",
    "price prices cost costs",
    "country countries nation",
    "publisher publishers imprint",
    "director directors",
    "singer singers artist artists performer",
    "birthday birthdate dob",
    "salary salaries wage wages",
    # a label and the words a question asks it by: a measured adjective and its unit ("How loud?" over "Noise
    # level: 79 dB"), a role and its title or abbreviation ("Who teaches?" over "Instructor:"; "CEO"), a word and
    # its usual label ("registration" over "reg"); `_` joins the words of a phrase ("written in" says a language)
    "weight weigh heavy kg kilograms kilos",
    "noise loud noisy quiet db decibels",
    "height high tall",
    "width wide",
    "depth deep",
    "age aged old",
    "teacher teachers instructor instructors tutor tutors",
    "leader leaders head_of manager",
    "ceo chief_executive",
    "cfo chief_financial",
    "cto chief_technology chief_technical",
    "permitted permit allowed allow",
    "absent absence absences apologies",
    "registration reg",
    "language written_in",
    "timeout timed_out",
    # a rate's period, as an adjective or as "per"/"a" and its noun ("monthly rent" over "£950 per month", "rate
    # per hour" over "Hourly rate: £25"; review 87 v15)
    "hourly hour hours hr per_hour",
    "daily day days per_day",
    "weekly week weeks wk per_week",
    "monthly month months mo pcm per_month",
    "annual annually yearly year years annum per_year per_annum",
    "nightly night nights per_night",
    "quarterly quarter quarters per_quarter",
    # a unit and what it measures, a bill and the charges it lists (audit 87b F5: 'calories' over '198 kcal')
    "calories calorie kcal",
    "bill bills charges invoice",
    "workdir working_directory cwd",
)
_SAME_ATTRIBUTE = {w: frozenset(g.split()) - {w} for g in _SAME_ATTRIBUTES for w in g.split()}
"""Words that name the same attribute (a column may be `writer` for the author, `town` for the city, `tel` for the
phone): a question's word is held by the text when any of its group is."""
_SAME_BY_KEY = {stem(w): _SAME_ATTRIBUTE[w] for g in _SAME_ATTRIBUTES for w in g.split() if "_" not in w}
"""`_SAME_ATTRIBUTE` by each single word's `stem` ("teaches" -> "teach" is not a key; "weighs" -> weigh's group)."""


_TWELVE_HOUR = re.compile(r"(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?(am|pm)")
"""A 12-hour clock time as one search term ("2pm", "9.30am"): the same time as "14:00" or "09:30"."""


_EXAMPLE_STEM = "exampl"
_EXAMPLE_MARKS = ("such as", "e g", "eg", "for example", "for instance")
"""How a text gives an example without the word 'example' (as search phrases: "e.g." is the words "e" and "g")."""


def said_otherwise(term: str, query: str, index: Index) -> list[str]:
    """The words (or `_`-joined phrases) that say a question's `term` in a text that never writes it, each written
    somewhere in `index`: a 12-hour time on the 24-hour clock ("2pm" -> "14:00", `_TWELVE_HOUR`), its doer's noun
    ("teaches" -> "teacher", "leads" -> "leader", "directs" -> "director"),
    and the words of its `_SAME_ATTRIBUTES` group and of its doer's ("teaches" -> "instructor"). A phrase of the
    question ("chief executive") is said by its group's other words ("CEO"): each of its words is held by them.
    [] for a term the text writes, which is held only as written (audit 85b F5, 85 v05, 84b v07), but for its
    common abbreviations or what it abbreviates (`_ABBREVIATED`: "max" for "maximum", "database" for "db"); 'example'
    is also held where the text gives one without the word ("such as", "e.g.": `_EXAMPLE_MARKS`, audit 88a v01)."""
    key = term.lower()
    if stem(key) == _EXAMPLE_STEM:
        return [mark for mark in _EXAMPLE_MARKS if index.rows(mark)]
    twelve = _TWELVE_HOUR.fullmatch(key)
    if twelve is not None and not index.rows(term):  # "2pm" over a programme's "14:00"
        hour = int(twelve.group(1)) % 12 + (12 if twelve.group(3) == "pm" else 0)
        minutes = twelve.group(2) or "00"
        return [c for c in dict.fromkeys([f"{hour:02d}:{minutes}", f"{hour}:{minutes}"]) if index.rows(c)]
    # a word's abbreviation is the word itself, written or not: "db" of a `db:` service for "database" (88b v10, v11)
    short = sorted(w for w in _ABBREVIATED.get(key, ()) if index.rows(w))
    if not key.isalpha() or index.rows(term):
        return short
    base = stem(key)
    doers = {base + "er", base + "or", base + "r"} if len(base) >= 3 else set()
    said = set(_SAME_BY_KEY.get(base, ())) | {d for d in doers if d.isalpha() and stem(d) != base}
    for doer in doers:
        said |= _SAME_BY_KEY.get(stem(doer), set())
    words = [w.lower() for w in _WORD.findall(query)]
    for phrase in {w for g in _SAME_ATTRIBUTES for w in g.split() if "_" in w}:
        parts = phrase.split("_")
        if key in parts and any(words[i : i + len(parts)] == parts for i in range(len(words))):
            said |= _SAME_ATTRIBUTE[phrase]
    return sorted({*short, *(w for w in said if w != key and index.rows(w))})


_IMPLIED_BY_VERB = {
    "live": "city town village address country location home place residence postcode",
    "reside": "city town village address country location home place residence postcode",
    "work": "company employer firm organisation organization job role position occupation workplace",
    "born": "birthday birthdate dob birthplace",
    "earn": "salary wage wages pay income",
    "cost": "price cost costs",
    "direct": "director",
    "publish": "publisher imprint",
    "sing": "singer artist performer",
    "write": "author writer",
}
"""A question's closing verb, by its `stem`, and the names of the record fields that say it without writing it:
a `town` column says where someone lives, `employer` where they work, `director` who directed ("Where does Bob
live?", "What city does Bob live in?" over `name,town,mobile`: review 84 H)."""


_SAME_FIELD_QUALIFIERS = frozenset(
    "current present main primary permanent home postal mailing street residential full actual".split()
)
"""Words that may qualify a field `_IMPLIED_BY_VERB` names and leave it saying the verb ("current address", "home
town"); any other ("previous address", "holiday town", "office address") names another fact (review 84c v01)."""


_FIELD_LABEL = re.compile(r"(?<![\w-])([A-Za-z][\w-]*(?:[ \t]+[a-z][\w-]*){0,3})[ \t]*:(?!//)")
"""A field's label in a record's text, up to its colon: a word, then lowercase words ("Home address:"), so that
"Leo Hart Employer:" labels "Employer"."""


def _implied_cells(verb: str, unit: dict[str, Any]) -> list[str]:
    """The cells of the record `unit` whose field (a column of its `keys`, or a "Label:" in its text) says the
    question's unwritten closing `verb` by a name of `_IMPLIED_BY_VERB`, each word of the field's name one of those
    names or a `_SAME_FIELD_QUALIFIERS` word ("town", "home address" for "live"; not "previous address",
    "birthplace"); [] when none. Cells as the unit's text writes them, stripped."""
    names = set(next((v.split() for k, v in _IMPLIED_BY_VERB.items() if stem(k) == stem(verb)), []))
    if not names:
        return []

    def says(field: str) -> bool:
        words = field.lower().replace("_", " ").replace("-", " ").split()
        return bool(words) and bool(set(words) & names) and set(words) <= names | _SAME_FIELD_QUALIFIERS

    cells = []
    labels = list(_FIELD_LABEL.finditer(unit["text"]))  # "Name: Leo Hart Employer: Brill Mills" is two fields
    for match, following in itertools.zip_longest(labels, labels[1:]):
        value = unit["text"][match.end() : following.start() if following is not None else None]
        value = re.split(r"[;\n]", value, maxsplit=1)[0].strip()
        if says(match.group(1)) and value:
            cells.append(value)
    keys, fields = list(unit.get("keys") or ()), list(unit.get("fields") or ())
    if not cells and len(keys) == len(fields):  # a row whose text is not "key: value; ...": its lowercased fields
        cells = [str(f) for k, f in zip(keys, fields, strict=True) if says(str(k)) and str(f).strip()]
    return cells


def _a_field_implies(verb: str, unit: dict[str, Any]) -> bool:
    """Whether the record `unit` has a field that says the question's unwritten closing `verb` (`_implied_cells`)."""
    return bool(_implied_cells(verb, unit))


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.[\w-]+\.\S+")
_HOUR_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[1-9]|1[0-2])"
_CLOCK = re.compile(
    r"(?i)\b(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)(?!\w)|\b(?:[01]?\d|2[0-3]):[0-5]\d\b"
    r"|\b(?:noon|midnight|midday)\b|\b(?:[01]?\d|2[0-3])h(?:[0-5]\d)?\b"
    r"|(?<![£$€\d.,])(?<!costs )(?<!cost )(?<!pay )(?<!paid )(?<!price )(?<!fee )(?<!charge )"
    r"\b(?:[01]?\d|2[0-3])\.[0-5]\d\b(?![.,]?\d|\s*(?:%|€|£|\$|percent|eur|euros?|usd|dollars?|gbp|pounds?|chf|kg|g|"
    r"km|m|cm|mm|mi|miles|l|ml|metres|meters|litres|liters|per|each|pp|a head|a person)(?!\w))"
    rf"|\b(?:half|(?:a\s+)?quarter)\s+(?:past|to)\s+{_HOUR_WORDS}\b|\b{_HOUR_WORDS}\s+o['’]\s?clock\b"
    r"|\b(?:[01]\d|2[0-3])[0-5]\d\s*hrs\b"
)
"""A clock time as texts write it: "20:30", "7 pm", "21h", "noon", "19.30" (not a price: "€12.50", "12.50 EUR"),
"half past three", "10 o'clock", "2300 hrs" (audit 85 v01)."""
_HOUR_AT = re.compile(
    r"(?i)\b(?:at|from|until|till|by|before|after)\s+(?:[01]?\d|2[0-3])(?=\s*(?:[.,;!)]|$)|\s+(?:on|in|sharp|and|"
    r"tomorrow|tonight|today|every|each|for|to|until|till)\b)"
)
"""An hour written bare after "at", "from", "until" ... and ending its phrase ("The meeting is at 10.", "Guests
arrive at 6, dinner ..."): a time of day as a text writes it, not "at 10 Downing Street" or "at 10%"."""
_COMPASS = re.compile(
    r"(?i)\b(?:north|south|east|west|north-?east|north-?west|south-?east|south-?west|northward|southward|eastward|"
    r"westward|northwards|southwards|eastwards|westwards|upstream|downstream|inland|seaward|seawards)\b"
)
_AN_AMOUNT_OF_MONEY = re.compile(
    r"[£$€¥₹]\s?\d|\b\d[\d,.]*\s?(?:GBP|USD|EUR|dollars?|pounds?|euros?)\b|\b(?:GBP|USD|EUR)\s?\d", re.IGNORECASE
)
"""An amount of money: a currency sign or code beside a number ("£75", "GBP 184.60", "20 euros")."""
_A_VERSION = re.compile(
    r"(?<![\w.])[vV]\d+(?:\.\d+)+\b|(?<=[A-Za-z]):v?\d+(?:\.\d+)+(?![\d.]*\.\d)"
    r"|(?<![\w.:/+-])(?!\d{1,2}\.\d{1,2}\.\d{4}\b)\d{1,4}\.\d{1,4}\.\d{1,4}(?:[-+][\w.]+)?(?![\w.]?\d)"
)
"""A version as texts write it, apart from the word: "v3.4.2", an image tag ("postgres:15.4"), three dotted
numbers ("1.14.2"; not a date "19.02.2024", not an IPv4 address). Two alone ("49.90") are no version: a price or
a measure writes them too."""
_A_PORT = re.compile(
    r"(?<![\w.:-])(?=[\w.-]*[A-Za-z])[\w.-]+:\d{2,5}\b(?![:.]\d)|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}:\d{2,5}\b"
    r"|[\"'](?:\d{2,5}:){1,2}\d{2,5}[\"']"
)
"""A port as texts write it, apart from the word: after a host ("localhost:8080", "db-1:5432", "0.0.0.0:8080"), or
a quoted mapping ("5433:5432" of a compose file). A clock ("08:00:01") or a verse ("5:12") is none."""
_VALUE_OF_TYPE = {
    "version": (_A_VERSION,),
    "port": (_A_PORT,),
    "price": (_AN_AMOUNT_OF_MONEY,),
    "amount": (_AN_AMOUNT_OF_MONEY,),
    "email": (_EMAIL,),
    "e-mail": (_EMAIL,),
    "address": (_EMAIL, _URL),
    "url": (_URL,),
    "link": (_URL,),
    "website": (_URL,),
    "homepage": (_URL,),
    "time": (_CLOCK, _HOUR_AT),
    "direction": (_COMPASS,),
    "money": (_AN_AMOUNT_OF_MONEY,),
}
"""Words that name the type of an answer, not its subject, and what a value of that type looks like: a text says
"Report bugs to: bug-gzip@gnu.org" and never "email address", "around 8 pm" and never "time", "went sailing east"
and never "direction" (audit 84 offline F9), "(prize £75)" and never "prize money" (audit 87c F6), "Starting
order-service v3.4.2" and never "version" (audit 88b v09). A unit holds the type word only by such a value of its
own (`_holds_a`), so a text that lacks the value stays NOT FOUND."""
_TYPE_WORDS = frozenset({"direction"})
"""Type words (`_VALUE_OF_TYPE`) a text writes only as values: absent, each weighs as the question's lightest written
term, so that it cannot outweigh a subject the text lacks ("Which direction did their daughter sail?" over "their
son went sailing east" stays NOT FOUND)."""


_PHONE = re.compile(r"(?<![\w.])\+?\(?\d(?:[ ().\-/]{0,2}\d){5,}(?![\w.]\d)")
"""A telephone number: six digits or more, spaced by single blanks, dots, dashes, slashes or parentheses."""
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IP_ADDRESS = re.compile(
    rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w.]?\d)"
    r"|\b[0-9A-Fa-f]{0,4}(?:::?[0-9A-Fa-f]{1,4}){2,7}\b"
)
_A_DIGIT = re.compile(r"\d")
_A_VERSION_ANSWER = re.compile(r"(?<![\d:,.])\d+(?:\.\d+)*(?![\d:,])")
"""What answers "which version": a number, dotted or not ("3.4.2", "v2", "Python 3"), that is no part of a clock or
a timestamp ("08:00:01,112": audit 88b v09, the log line's timestamp read for its version)."""
_A_NUMBER = re.compile(r"(?i)\d|\b(?:" + "|".join(sorted(NUMBER_WORDS)) + r")\b")
_NAMING = r"(?<!\bof )(?<!\bin )(?<!\bfor )(?<!\bfrom )(?<!\bto )(?<!\bsince )(?<!\bon )(?<!\bat )"
_NAMED = r"(?!\s+v?\d)"
"""Around a type word that names the thing asked about rather than the answer's type: "the date of version 3",
"the codename of version 24.04", "the owner of number 10" ask no version or number."""
_ASKS_CLOCK_TIME = re.compile(
    r"(?i)\b(?:what|which) time\b(?! (?:zone|zones|period|periods|frame|span|limit|slot|slots|signature))"
    r"|\bat what (?:time|hour)\b|\bthe time (?:of|for)\b"
)
"""A question that asks for a time of day ("What time is the dinner reservation?", "At what time ...", "the time
of the pickup"): its answer holds a clock time (`_CLOCK`: "20:30", "7 pm", "21h", "noon"), never the place or
the date beside it (audit 84b F2: "Taberna do Largo", "9 June Douro Valley"). Not a time zone or period."""
_ASKED_TYPE = (
    (re.compile(r"(?i)\be-?mail(?: address)?\b"), _EMAIL),
    (re.compile(r"(?i)\b(?:url|web ?site|home ?page|web page)\b"), _URL),
    (
        re.compile(
            r"(?i)\b(?:(?:tele)?phone|tel|mobile|cell(?: ?phone)?|fax)(?: number| no)?\b(?! (?:company|provider|"
            r"case|charger|model|maker|bill|plan|call|calls|app|line|lines))"
        ),
        _PHONE,
    ),
    (re.compile(r"(?i)\bip(?:v[46])? address\b"), _IP_ADDRESS),
    (re.compile(r"(?i)\b(?:zip|postal|post) ?code\b|\bpostcode\b"), _A_DIGIT),
    (re.compile(rf"(?i){_NAMING}\bversion\b(?! control){_NAMED}"), _A_VERSION_ANSWER),
    (re.compile(rf"(?i){_NAMING}\bnumber\b(?! of\b){_NAMED}"), _A_NUMBER),
    (_ASKS_CLOCK_TIME, _CLOCK),
)
"""A type the question asks for by name, and what an answer of that type must hold: an e-mail address, a URL, a
telephone number for "phone"/"mobile"/"fax", an IP address, a digit for a postal code, a version number for a
version (`_A_VERSION_ANSWER`), a number
(a digit or a number word) for a "number" that counts nothing ("Sophie's number"; audit 82b F5)."""


_DAY_OF_MONTH = re.compile(
    r"(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"(?:,?\s+\d{4})?|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b"
    r"(?:,?\s+\d{4})?"
)
"""A date written with its month's name ("12 June", "June 12th, 2024"): its digits are a day and a year, no number
a phone, a version or a "number" question asks for."""
_DAY_NUMBER = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_DATE_IN_DIGITS = re.compile(
    rf"(?<![\w.+/-])(?:(?:1[89]|20)\d\d(?P<s1>[-/.]){_MONTH_NUMBER}(?P=s1){_DAY_NUMBER}"
    rf"|{_DAY_NUMBER}(?P<s2>[-/.]){_MONTH_NUMBER}(?P=s2)(?:1[89]|20)\d\d"
    rf"|{_MONTH_NUMBER}(?P<s3>[-/.]){_DAY_NUMBER}(?P=s3)(?:1[89]|20)\d\d)"
    r"(?![\w+/-]|\.\d)"
)
"""A date written in digits with its year ("1985-07-14", "14/07/1985", "07.14.2024"): no phone, no order number
(audit 83 D)."""
_VALUE_OF_TYPE["date"] = (_DATE_IN_DIGITS, _DAY_OF_MONTH)  # "date" is held by a date the text writes


_ASKS_A_PLACE = re.compile(r"\s*(?:and |but |so )?where\b", re.IGNORECASE)
_ASKS_A_PERSON = re.compile(r"\s*(?:and |but |so )?(?:who|whom)\b", re.IGNORECASE)


def _of_the_asked_type(answer: str, query: str) -> bool:
    """Whether `answer` is of the type the question names when it names one ("What email address ...": an address
    with an @, never a URL; "What is Sophie's phone number?": a telephone number, never "12 June"); True when it
    names none. The digits of a date, written with its month's name or in digits with its year, count for no
    number type. A "where" answer holds a word that is no number and no stop word ("two" of "at the two taps by
    the shed" is no place); a "who" answer a word of letters with no digit ("A-1004", an order's key, is nobody;
    audit 85 F3), and one that holds a date or a clock time names a place only by a capitalised word that is no word
    of time ("Room 4B at 10:00"; "14 September and starts at 09:30" is when, not where: audit 88b v08)."""
    words = _WORD.findall(answer)
    if (
        _ASKS_A_PLACE.match(query)
        and words
        and all(
            w.lower() in NUMBER_WORDS or w.lower() in ENGLISH_STOPWORDS or not re.search(r"[^\W\d_]", w) for w in words
        )
    ):
        return False
    if (
        _ASKS_A_PLACE.match(query)
        and (_CLOCK.search(answer) or _A_DAY_OF_A_MONTH.search(answer) or _DATE.search(answer))
        and not any(w[:1].isupper() and w.lower() not in _TIME_WORDS for w in words)
    ):
        return False
    if (
        _ASKS_A_PERSON.match(query)
        and words
        and not any(len(w) > 1 and re.search(r"[^\W\d_]", w) and not re.search(r"\d", w) for w in words)
    ):
        return False
    undated = _DATE_IN_DIGITS.sub(" ", _DAY_OF_MONTH.sub(" ", answer))
    return all(value.search(undated) for asks, value in _ASKED_TYPE if asks.search(query))


_ASKS_A_NAME = re.compile(
    r"(?i)\bthe (?:(?:full|real|first|last|official|exact) )?name of\b"
    r"|\bwhat(?:'s| is| was) (?:the |its |their |his |her )?(?:[\w'’-]+ ){0,3}?name\b(?! (?:of|for)\b)"
    r"|\bwhat (?:is|was|are|were) (?:the |it |they )?(?:[\w-]+ ){0,3}?called\b"
)
_CODE_MARKED = "`'\"“‘*"


_WHERE_IT_IS = re.compile(r"(?i)\b([\w'’-]+)\s+(?:on|at|in|near|by|off|opposite|behind|beside|along)\s+(?:the\s+)?$")


def _a_word_before_the_named(core: str, text: str, query: str) -> bool:
    """For a question that asks a name ("What is the name of the ramen place?", "What is the cafe called?"):
    whether `core` is no name of the thing asked about, by where the text writes it, every time: plain lower-case
    words (no capital, digit or symbol, never in quotes or code marks) right before that thing, one more word at
    most between them, describe it ("new" of "the new ramen place", "cosy" of "the cosy little cafe"); a name right
    after it and "on", "at", "near" ... names where it is ("King St" of "the ramen place on King St"). Audit 84b F6."""
    if not _ASKS_A_NAME.search(query):
        return False
    asked = {stem(w) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS | {"name", "called"}}
    plain = re.fullmatch(r"[a-z]+(?: [a-z]+)*", core.strip()) is not None
    places = list(re.finditer(rf"(?<![\w{_CODE_MARKED}]){re.escape(core.strip())}(?![\w{_CODE_MARKED}])", text))
    if not places:
        return False
    for place in places:
        after = _WORD.findall(text[place.end() : place.end() + 60].lower())[:2]
        if plain and any(stem(w) in asked for w in after):
            continue
        where = _WHERE_IT_IS.search(text[max(0, place.start() - 60) : place.start()])
        if where is None or stem(where.group(1).lower()) not in asked:
            return False
    return True


_PHONE_WORDS = frozenset("phone telephone tel mobile cell fax".split())


def _holds_a(term: str, text: str, terms: Collection[str] = ()) -> bool:
    """Whether `text` holds a value of the type `term` names (an e-mail address for "email", an IPv4 or IPv6
    address for "ip"), so that the question's word for the type counts as held though the text never writes it.
    With the question's other `terms`: "number" of a phone ("the office phone number") is held by a telephone
    number, and "phone" of "phone number" too (a text may write the number and never the word); "address" of "IP
    address" by an IP address (review 83c v16: "Office phone: 07700 900123")."""
    patterns = list(_VALUE_OF_TYPE.get(term.lower(), ()))
    asked = {t.lower() for t in terms}
    if (term.lower() == "number" and asked & _PHONE_WORDS) or (term.lower() in _PHONE_WORDS and "number" in asked):
        patterns.append(_PHONE)  # "the vet's phone number" over "The vet is Greenway Vets, 01632 448 210"
    if term.lower() == "ip" or (term.lower() == "address" and "ip" in asked):
        patterns.append(_IP_ADDRESS)
    return any(pattern.search(text) for pattern in patterns)


def _in_a_name(term: str, text: str) -> bool:
    """Whether `text` writes the word `term` (in any form, `stem`) only as a part of an identifier: a CamelCase or
    snake_case name ("error" of `UnicodeEncodeError`, "days" of `retention_days`), which the index holds as one
    word. Only for a term the text never writes on its own (`rank`)."""
    if not term.isalpha() or len(term) < 3:
        return False
    key = stem(term.lower())
    for name in _COMPOUND_NAME.findall(text):
        parts = [p for chunk in name.split("_") for p in _NAME_PART.findall(chunk)]
        # a key's abbreviated part names the written-out word too: "database" of DB_PORT (audit 85 v06)
        if len(parts) > 1 and any(key in (stem(p.lower()), stem(_KEY_ABBREVIATIONS.get(p.lower(), ""))) for p in parts):
            return True
    return False


_COMPOUND_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|\b[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+\b")
_NAME_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def rank(
    state: dict[str, Any],
    terms: list[str],
    limit: int = 8,
    salient: list[str] | None = None,
    framing: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The best units for `terms`: BM25 candidates reranked by the share of the terms' idf weight each unit
    holds (`cover`, 0..1) and by adjacent term pairs it holds in order. A `framing` term the text never writes
    (the question's verb, `framing_verb`) weighs as the lightest term the text does write, not as the rarest."""
    index: Index = state["index"]
    unit_count = max(1, len(state["units"]))
    # a word the text never writes but says otherwise ("weigh" by "Weight:", "teaches" by "Instructor:")
    alike = {t: said_otherwise(t, " ".join(terms), index) for t in terms}
    weights = {}
    for term in terms:
        df = len(index.rows(term).union(*(index.rows(w) for w in alike[term])))
        weights[term] = math.log(1 + (unit_count - df + 0.5) / (df + 0.5))
    written = [weights[t] for t in terms if index.rows(t)]
    for term in framing:
        if term in weights and written and not index.rows(term):
            weights[term] = min(written)
    for term in terms:  # a word for the answer's type ("direction": "east") is held by a value, never the subject
        if term.lower() in _TYPE_WORDS and written and not index.rows(term):
            weights[term] = min(written)
    whole = sum(weights.values()) or 1.0
    # words the text never uses ("code point" over a character table) only frame a question that names its subject
    whole_present = sum(w for t, w in weights.items() if index.rows(t)) or 1.0
    salient = salient or []
    whole_salient = sum(weights[t] for t in salient) or 1.0
    found = index.search(terms)
    said = set().union(*(index.rows(w) for t in terms for w in alike[t])) - {row for row, _ in found}
    found += [(row, 0.0) for row in sorted(said)]  # the units that say a word only otherwise, as BM25 cannot
    if not found:
        return []
    stems = {stem(w) for t in terms for w in _WORD.findall(t)}
    query_text = " ".join(terms)
    top = max(score for _, score in found) or 1.0
    ranked = []
    for row, score in found:
        unit = state["units"][row]
        held = [
            t
            for t in terms
            if row in index.rows(t)
            or _holds_a(t, unit["text"], terms)
            or (not index.rows(t) and _in_a_name(t, unit["text"]))
            or any(row in index.rows(w) for w in alike[t])
        ]
        cover = sum(weights[t] for t in held) / whole
        named = sum(weights[t] for t in held if t in salient) / whole_salient if salient else 1.0
        present = sum(weights[t] for t in held) / whole_present
        words = _WORD.findall((unit["name"] + " " + unit["text"]).lower())
        haystack = " " + " ".join(stem(w) for w in words if w not in STOPWORDS) + " "
        pairs = sum(1 for a, b in pairwise(terms) if f" {_keys(a)} {_keys(b)} " in haystack)
        # a unit that says nothing beyond the question's words (a title, a table-of-contents line) cannot answer it
        extra = sum(1 for w in _WORD.findall(unit["text"].lower()) if stem(w) not in stems and w not in STOPWORDS)
        # a record whose field is exactly what the question names ("EURO SIGN", not "BANKNOTE WITH EURO SIGN")
        exact = unit["kind"] == "line" and any(
            field.strip().lower() in salient for field in unit.get("fields") or re.split(r"[;|\t]", unit["text"])
        )
        # drawings and tables (box characters, rules) are poor reading for a small model
        wordy = sum(c.isalnum() or c.isspace() for c in unit["text"]) / max(1, len(unit["text"]))
        # (a record line says its value in a word or two: "2684 AD102 [GeForce RTX 4090]")
        # (an option's one-line entry says its option: "-T  Disable pseudo-terminal allocation." answers "which
        # option disables pseudo-terminal allocation?")
        bare = extra < (1 if unit["kind"] == "line" else 3) and not _OPTION_FIRST.match(unit["text"])
        total = cover + 0.5 * named + 0.25 * score / top + 0.1 * pairs - (0.3 if bare else 0.0) + 0.2 * exact
        total -= 0.3 if wordy < 0.7 and unit["kind"] != "line" else 0.0
        # what the question names, written as it is (stemming makes "HTTPS" match "HTTP")
        lowered = " ".join(words)
        verbatim = sum(1 for t in salient if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", lowered))
        total += 0.1 * verbatim / max(1, len(salient))
        ranked.append(
            {
                **unit,
                "row": row,
                "bm25": round(score, 3),
                "cover": round(cover, 3),
                "held": held,
                "named": round(named, 3),
                "present": round(present, 3),
                "score": total,
            }
        )
    # the first unit of an entry named by the question (its definition) before the entry's later senses
    entries = {  # (as words of it: "-t" is not named by "pseudo-terminal")
        u["name"]
        for u in ranked
        if u["name"] and re.search(rf"(?<![\w-]){re.escape(u['name'].lower())}(?![\w-])", query_text)
    }
    seen_names: set[str] = set()
    for unit in sorted(ranked, key=lambda u: u["line"]):
        if unit["name"] in entries and unit["name"] not in seen_names:
            seen_names.add(unit["name"])
            unit["score"] += 0.15
    ranked.sort(key=lambda u: -u["score"])
    # a title line ("Car" over "The car is 5 years old"): the question's word is all it says, so a line below it
    # that holds as much of the question (its short length, the entry bonus of its name, lift it by score) answers
    for title in [u for u in ranked if _a_title_line(u)]:
        below = [
            u
            for u in ranked
            if u["source"] == title["source"]
            and u["line"] > title["line"]
            and not _a_title_line(u)
            and set(title["held"]) <= set(u["held"])
        ]
        if below and title["score"] >= below[0]["score"]:
            title["score"] = below[0]["score"] - 1e-6
    ranked.sort(key=lambda u: -u["score"])
    return ranked[:limit]


_TITLE_WORDS = 2
"""Words of a line at most that make it a title when it has no verb and no sentence end ("Car", "Our dog")."""


def _a_title_line(unit: dict[str, Any]) -> bool:
    """Whether a line unit reads as a title: one or two words, no verb of a clause, no sentence end ("Car",
    "Lease", "Car notes"); "Rex barks." or "It is" is none."""
    text = unit["text"].strip()
    words = _WORD.findall(text)
    return (
        unit["kind"] == "line"
        and 0 < len(words) <= _TITLE_WORDS
        and text[-1:] not in ".!?,;"
        and not any(w.lower() in _CLAUSE_VERBS for w in words)
    )


def is_foreign(query: str) -> bool:
    """A question in German, French or Spanish, or in CJK script: its own words may all be absent from the text."""
    return bool(_CJK.search(query)) or sum(w.lower() in _FOREIGN for w in _WORD.findall(query)) >= 2


def framing_verb(query: str, terms: list[str]) -> list[str]:
    """The question's own verb, when it ends the question after an auxiliary and its subject ("How many fuel
    canisters are we bringing?", "What firmware version will be installed?", "How many days are files retained?"):
    a word that says what is done with the thing asked about, which a text may well say otherwise ("x3" under a
    packing list, "push a firmware update to version 5.2.7"). [] when there is none or it is no term. What the
    question is about (its nouns, "smartphone" of "Which smartphone did the hackers prefer?") is never framing."""
    m = _FRAMING_VERB.match(query)
    if m is None:
        return []
    aux, verb = m.group(1).lower(), m.group(2)
    if aux not in ("do", "does", "did") and not re.search(r"(?:ing|ed|en)$", verb):
        return []  # "What is the capital of Australia?" ends in a noun; after do-support, only a verb can end it
    return [t for t in terms if t.lower() == verb.lower()]


def doer_verb(query: str, terms: list[str]) -> list[str]:
    """The verb after a subject "who" ("Who gives the opening speech?": ["gives"]; `_WHO_DOES`), as a term; [] when
    there is none. It only ties the person asked for to what the question names, so a unit that holds all the rest
    may answer though the text writes the verb nowhere ("Opening speech by Ruth Adeyemi"): it is framing then, and
    its units are quoted, never read (audit 87b F4, 87c F6)."""
    doer = _WHO_DOES.match(query)
    if doer is None:
        return []
    return [t for t in terms if t.lower() == (doer.group(1) or doer.group(2)).lower()]


_WHO_DOES = re.compile(r"(?i)^\s*who\s+(?:(?:is|are|was|were)\s+([a-z]{3,}ing)|([a-z]{3,}(?:s|ed)))\s+(?!of\b)\S")
"""'Who gives the opening speech?', 'Who finished third?', 'Who is talking about machine learning?': "who" is the
subject, and the verb after it only ties the person asked for to what the question names, which a text may say
without it ("Opening speech by Ruth Adeyemi", "Machine Learning in Production | Owen Brooks")."""
_FRAMING_VERB = re.compile(
    r"(?i)^\s*(?:how\s+(?:many|much|long|often|far)|what|which|who|whom|when|where|why)\b(?:\s+[\w'-]+){0,5}?"
    r"\s+(is|are|was|were|will|would|do|does|did|should|shall|must|can|could|has|have|had|may|might)"
    r"(?:\s+[\w'-]+){0,4}?\s+([a-z]{3,})(?:\s+(?:with|on|in|for|to|at|by|from|up|out|off|about|into))?"
    r"\s*[?.!]*\s*$"
)
"""A question ending in its verb, after an auxiliary and its subject, "be", or nothing (a passive: "How many
workers are started?", audit 87 F6): after "do",
"does", "did" any word ("What time does the connection drop?"), else only the forms of a verb no noun takes
(-ing, -ed, -en: "What is the price of a bitcoin?" ends in what it is about)."""


def matches_enough(unit: dict[str, Any], has_salient: bool, foreign: bool = False) -> bool:
    """Whether a unit may answer: it holds what the question names (capitals, digits, quotes) and some of the
    rest, or, for a question that names nothing, MIN_COVER of its idf weight (of the terms the text uses at all,
    for a question in another language). Thresholds measured on the absent-fact questions of
    benchmarks/realtext."""
    if foreign and not has_salient:
        return bool(unit["present"] >= MIN_COVER)
    if has_salient:
        return bool(unit["named"] >= NAMED_COVER and unit["present"] >= MIN_COVER_NAMED)
    return bool(unit["cover"] >= MIN_COVER)


def _near_misses(
    state: dict[str, Any],
    ranked: list[dict[str, Any]],
    terms: list[str],
    salient: list[str],
    framing: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The ranked units that miss some of the question's two or more terms, and not its rarest ones (the text
    writes each missed word elsewhere, at least as often as each held one): a synonym ("the same as" for
    "equivalent"), a line break (a comment header cut line by line) or the question's framing words ("In which
    version was the package orphaned?" over "bc (1.06.95-5) ... * Orphaned") away from what is asked, so the text
    may well hold the answer. A missed word the text never writes, or rarer than those held, is what the question
    is about: that stays NOT FOUND. Units must hold all the question names (`salient`). The question's closing
    verb (`framing`: "What port does the db service use?") is never what it is about: a unit that misses only it,
    however rarely the text writes it ("no longer used" in a comment), is near too (audit 88b v16)."""
    if len(terms) < 2:
        return []
    index: Index = state["index"]
    found = {t: len(index.rows(t)) for t in terms}
    near = []
    for unit in ranked:
        missed = [t for t in terms if t not in unit["held"]]
        if not missed or any(t in missed for t in salient) or unit["named"] < NAMED_COVER:
            continue
        held = [t for t in terms if t in unit["held"]]
        missed = [t for t in missed if t not in framing]
        only_the_verb = len(held) >= 2 and not missed
        rarer_held = bool(held and missed) and 0 < max(found[t] for t in held) <= min(found[t] for t in missed)
        if only_the_verb or rarer_held:
            near.append(unit)
    return near


def excerpt(unit: dict[str, Any], terms: list[str], limit: int = 200) -> dict[str, Any]:
    """A long unit narrowed to its sentence that holds most of the question's terms (and the next ones, up to
    `limit` characters): a small reader copies long passages instead of answering."""
    if len(unit["text"]) <= limit:
        return unit
    sentences = _SENTENCE_END.split(unit["text"])
    # the unit's name is given to the reader anyway: "What does TMRC stand for?" wants the entry's first sentence
    named = {stem(w) for w in _WORD.findall(unit["name"].lower())}
    stems = {stem(w) for t in terms for w in _WORD.findall(t)} - named

    def hits(sentence: str) -> int:
        return len(stems & {stem(w) for w in _WORD.findall(sentence.lower())})

    best = max(range(len(sentences)), key=lambda i: (hits(sentences[i]), -i))
    text = sentences[best]
    for following in sentences[best + 1 :]:
        if len(text) + 1 + len(following) > limit:
            break
        text = f"{text} {following}"
    return {**unit, "text": _clipped(text, limit * 2), "leads_in": unit["text"].rstrip().endswith(":")}


def reader_prompt(unit: dict[str, Any], query: str, wording: int = 0) -> str:
    """Text first, question last: small models answer far better in this order. Two wordings (0 and 1), for
    reading a unit twice."""
    name = f"{unit['name']}: " if unit["name"] and unit["name"] not in unit["text"] else ""
    if wording == 1:
        return f"{name}{unit['text']}\n\nUsing only the text above, answer in a few words.\n{query}"
    return (
        "Read the text and answer the question with a few words copied from the text.\n\n"
        f"Text: {name}{unit['text']}\n\n"
        f"Question: {query}\nAnswer:"
    )


def _agree(first: str, second: str, query: str = "") -> str | None:
    """The phrase two verified answers both give, or None when they give different ones. Case, spacing and the
    punctuation at their ends aside, they are the same phrase, or the shorter is a run of whole words of the longer
    whose other words are only stop words or words of time, and before it also words of the question ("$900" of
    "$900 a month", "2015" of "renovated in 2015" for "When was the town hall renovated?"): then the shorter, the
    part both readings gave, is the answer. A longer reading with a word the shorter lacks is not vouched for by
    it: "private" does not confirm "any private interior gateway (Cisco)", nor "notices stating" "notices stating
    that You changed" (audit 82 F2/F3, where containment alone was taken as agreement)."""
    a, b = (" ".join(t.split()).strip(" .,;:!?\"'“”‘’") for t in (first, second))
    if a.lower() == b.lower():
        return first.strip()
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    place = re.search(rf"(?<!\w){re.escape(short)}(?!\w)", long, re.IGNORECASE)
    if not short or place is None:
        return None
    asked = {stem(w) for w in _WORD.findall(query)}

    def filler(w: str) -> bool:
        return w.lower() in ENGLISH_STOPWORDS or w.lower() in _TIME_WORDS

    # the question's words may lead in ("renovated in 2015"); words after the shorter continue it, so that the
    # shorter is the head of a longer phrase ("notices stating" of "notices stating that You changed")
    lead, tail = _WORD.findall(long[: place.start()]), _WORD.findall(long[place.end() :])
    if all(filler(w) or stem(w) in asked for w in lead) and all(filler(w) for w in tail):
        return short
    return None


_ASKS_REFERENCE = re.compile(
    r"^\s*(?:and |but |so )?which\s+(?:issues?|tickets?|bugs?|prs?|pull requests?|merge requests?|invoices?|orders?|"
    r"incidents?|cases?|commits?|versions?|releases?)\b(?!\s+(?:of|about|types?|status|titles?|names?)\b)"
    r"|\b(?:what|which)\s+(?:(?:is|was|are|were|the|a|an)\s+)*(?:ticket|pr|pull request|merge request|invoice)"
    r"(?:\s+(?:id|no\.?|ref(?:erence)?))?\b(?!\s+(?:of|about|types?|status|titles?|names?)\b)"
)
"""A question asking which item of a numbered kind ("Which issue does the OPML commit close?", "Which PR fixed
it?", "What ticket is this?"): its answer is a reference with a digit ("#198", "v0.8.0", "4b81d0c9aa53"), never a
word of the sentence around it (audit 86b F3)."""


_ASKS_DATE = re.compile(
    r"\b(?:what|which)(?:'s|’s)?\s+(?:(?:is|was|will\s+be|are|were)\s+)?(?:(?:the|its|their|our|your|his|her)\s+)?"
    r"(?:(?!date\b)[\w-]+\s+){0,2}?date\b(?!\s+(?:format|field|column|type|string|function|command|picker|library|"
    r"setting|parser|stamp)\b)"
)
"""A question for a date: 'What date ...?', 'What is the start date?', "What's the due date?" (review 88q v10: the
reader's 'fitters' was taken for the start date); not one for a date's format or field."""


def expected_type(query: str) -> str:
    """ "number" (how many, how much, how old, what year), "numeral" (which bug number, what port number: a number
    that names something, "#963335" as well as "8080"), "time" (when, what date), "name" (who), "reason" (why),
    else "any"."""
    q = query.lower()
    if re.search(r"\bhow (many|much|old|long|far|often)\b|\bwhat (year|number|age)\b|\bin which year\b", q):
        return "number"
    if re.search(r"\b(?:which|what)\s+(?:(?:is|was|are|were|the|a|an)\s+)*(?:[\w-]+\s+){0,2}?number\b(?!\s+of\b)", q):
        return "numeral"  # "which bug number", "what port number": a number that names, not one that counts
    if re.search(_ASKS_REFERENCE, q):
        return "numeral"  # "which issue does it close?": "#198", never "file" (audit 86b F3)
    if re.match(r"\s*(who|whom|whose)\b", q):
        return "name"
    if re.match(r"\s*(?:and |but |so )?(?:since )?when\b", q) or re.search(_ASKS_DATE, q):
        return "time"
    if re.match(r"\s*(?:and |but |so )?why\b", q) or re.search(
        r"\b(?:for what reason|what is the reason)\b(?! (?:phrase|code|string|field|text))",
        q,  # HTTP's reason phrase
    ):
        return "reason"
    return "any"


_SYMBOL_CHARS = re.compile(r"[\\\[\]{}^$*+|<>=~%&]")
"""Characters that make a token a symbol (a regex class, an escape, an operator) rather than a word: `\\w`,
`[_[:alnum:]]`, `&&`. Not "/" (paths, addresses), "@", "#" or "-" (options), which words and options cover."""


def _symbols(text: str) -> list[tuple[int, str]]:
    """The symbolic tokens of `text` (whitespace-separated, quotes and sentence punctuation at their ends
    aside) with their offsets, as written (case kept: `\\w` is not `\\W`)."""
    found = []
    for chunk in re.finditer(r"\S+", text):
        token = chunk.group(0).lstrip("(\"'“‘`").rstrip(".,;:!?)\"'”’`")
        if token and _SYMBOL_CHARS.search(token):
            found.append((chunk.start() + chunk.group(0).index(token), token))
    return found


def _symbol_answer(line: str, text: str, query: str) -> str | None:
    """For a question that names a symbol the unit writes ("What is \\w a synonym for?"), the symbol of the reply
    that the unit writes right after it, no other symbol between ("\\w is a synonym for [_[:alnum:]] and \\W is a
    synonym for [^_[:alnum:]]": `[_[:alnum:]]` for `\\w`, `[^_[:alnum:]]` for `\\W`); None otherwise."""
    asked = {token for _, token in _symbols(query)}
    written = _symbols(text)
    for _, token in _symbols(line):
        if token in asked:
            continue
        for i, (_, held) in enumerate(written):
            if held == token and i > 0 and written[i - 1][1] in asked:
                return token
    return None


def _no_answer_beside_a_symbol(core: str, text: str, query: str) -> bool:
    """For a question that names a symbol: whether `core` is a word the unit writes right before that symbol
    ("symbol" of "The symbol \\w is a synonym for ...": it labels what is asked about) or only inside symbols
    ("alnum" of `[_[:alnum:]]`: a piece of one)."""
    asked = _symbols(query)
    if not asked:
        return False
    if any(re.search(rf"(?<!\w){re.escape(core)}\s+{re.escape(token)}", text, re.IGNORECASE) for _, token in asked):
        return True
    bare = _symbols(text)
    places = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(core)}(?!\w)", text, re.IGNORECASE)]
    return bool(places) and all(any(at <= p < at + len(token) for at, token in bare) for p in places)


def _a_records_line(unit: dict[str, Any]) -> bool:
    """Whether a unit is a record's line, whose fields are no clauses: a record, or a line of a record file; a
    short list's line (`_short_list`, "The office opens at 9; the shop opens at 10") may be a sentence."""
    return bool(unit.get("fields") or (unit.get("kind") == "line" and not unit.get("listed")))


_SQL_TYPE = (
    r"(?:INTEGER|INT|BIGINT|SMALLINT|TINYINT|TEXT|VARCHAR|CHAR|CHARACTER|NCHAR|NVARCHAR|CLOB|BLOB|DATE|DATETIME|"
    r"TIMESTAMP|TIMESTAMPTZ|TIME|BOOLEAN|BOOL|REAL|FLOAT|DOUBLE|NUMERIC|DECIMAL|SERIAL|BIGSERIAL|UUID|JSON|JSONB)"
)
_SQL_COLUMN_LISTS = re.compile(r"(?is)\bINSERT\s+INTO\s+[\w.\"`]+\s*\(([^()]*)\)")
_ASKS_OF_THE_SCHEMA = re.compile(r"(?i)\b(?:columns?|fields?|tables?|keys?|schema|attributes?|types?|index(?:es)?)\b")


def _a_schema_name(core: str, text: str, query: str) -> bool:
    """Whether `core` is, everywhere `text` writes it, the name of a column of SQL (a column definition of CREATE
    TABLE, `title TEXT NOT NULL`, or a name in the column list of `INSERT INTO books (title, ...)`), and the
    question asks about no column, field or table: a column's name is no row's value ("Which book has the most
    copies?" is never answered `title`; audit 87 F2)."""
    name = core.strip()
    if not re.fullmatch(r"[A-Za-z_]\w*", name) or _ASKS_OF_THE_SCHEMA.search(query):
        return False
    places = [p.start() for p in _places(name, text)]
    if not places:
        return False
    defined = {
        m.start(1) for m in re.finditer(rf"(?im)(?:^|[(,])\s*[\"`]?({re.escape(name)})[\"`]?\s+{_SQL_TYPE}\b", text)
    }
    for listing in _SQL_COLUMN_LISTS.finditer(text):
        defined |= {
            listing.start(1) + m.start() for m in re.finditer(rf"(?i)(?<!\w){re.escape(name)}(?!\w)", listing.group(1))
        }
    return all(p in defined for p in places)


_ASKS_A_ROLES_NAME = re.compile(
    r"(?i)^\s*(?:what(?:'s|’s|\s+is|\s+was)\s+the\s+name\s+of\s+(?:the|a|an|his|her|their|our|my|your)\s+"
    r"(?P<a>[a-z][a-z -]*?)|what(?:'s|’s|\s+is|\s+was)\s+(?:the|his|her|their|our|my|your)\s+(?P<b>[a-z][a-z -]*?)"
    r"(?:'s|’s)\s+name|who\s+(?:is|was)\s+(?:the|his|her|their|our|my|your)\s+(?P<c>[a-z][a-z -]*?))\s*[?.!]*\s*$"
)
_NOT_A_TIE = frozenset(
    "and or but nor with without to from for by at in on into than after before about because while when if "
    "said says say told tells tell asked asks ask met meets meet saw sees see heard hears thinks thought knew "
    "knows left leaves leave found finds replaced replaces hired fired visited visits".split()
)
"""Words between a name and a role noun that make the role another's: "Marta said the keeper left" (the name is
who spoke), "Tom met the keeper", "Ann and the keeper"."""


def _a_name_not_tied_to_the_role(core: str, text: str, query: str) -> bool:
    """For "What is the name of the keeper?" ("the keeper's name", "Who is the keeper?"): whether `core`, a
    capitalised name, is written in `text` where the role noun is also written but never tied to it. A tie is
    the name beside the noun, in its sentence, with at most four words between and none of them a verb of
    another act or a conjunction (`_NOT_A_TIE`, a past form in -ed but "named"): "the keeper, Tom", "Tom, the
    keeper", "keeper: Tom", "the keeper is called Tom", "Tom was the old keeper". A text that never writes the
    noun is left to the other checks (audit 87 F4: "Marta said the keeper left in 1987" names no keeper)."""
    asked = _ASKS_A_ROLES_NAME.match(query)
    if asked is None or not re.search(r"[A-Z]", core):
        return False
    role = (asked.group("a") or asked.group("b") or asked.group("c")).split()[-1]
    noun = re.compile(rf"(?i)(?<![\w'’-]){re.escape(role)}(?:s|es)?(?![\w-])")
    if not noun.search(text):
        return False

    def tie(gap: str) -> bool:
        if re.search(r"[.!?;\n]", gap):
            return False
        words = [w.lower() for w in _WORD.findall(gap)]
        return len(words) <= 4 and not any(
            w in _NOT_A_TIE or (w.endswith("ed") and w not in {"named", "called", "titled"}) for w in words
        )

    for place in _places(core.strip(), text):
        for mention in noun.finditer(text):
            if mention.end() <= place.start() and tie(text[mention.end() : place.start()]):
                return False
            if place.end() <= mention.start() and tie(text[place.end() : mention.start()]):
                return False
    return bool(_places(core.strip(), text))


_ASKS_A_CODE = re.compile(
    r"(?i)\b(?:pin|passcode|passphrase|password|passkey|combination|(?:booking|order|case|claim|customer|account|"
    r"payment|invoice|policy|ticket|tracking|reference)\s+(?:reference|ref|number|no)|reference\s+number|"
    r"(?<!\bdress )(?<!\bsource )(?<!\bzip )(?<!\bpostal )(?<!\bpost )(?<!\bcolour )(?<!\bcolor )"
    r"code(?!\s+(?:of|name)\b))\b(?=\s*[?.!]*\s*$|\s+(?:for|to|on|at|into|of)\b)"
)
"""A question whose asked noun is a code, PIN, password, combination or reference: the noun ends the question or
takes its object ("the code for the gate"); "the code that parses dates" asks for no code."""
_CODE_SHAPED = re.compile(r"\d|\w[^\w\s]\w|[A-Za-z0-9]_[A-Za-z0-9]|[A-Z]{2,}|[a-z][A-Z]|^\s*[a-z]{1,3}\s*$")


def _no_code_shape(core: str, text: str, query: str) -> bool:
    """Whether `core` cannot be the code, PIN, password, combination or reference the question asks for: it has no
    digit, no symbol or "_" inside a token, no run of capitals, no inner capital and is no short code ("et")
    (`_CODE_SHAPED`), and the text never writes it right after the asked noun ("password: swordfish", 'the code
    is "tulip"'). "Shared" of "Shared tools are in the shed; the padlock code is with the site secretary" is no
    padlock code (audit 87b F1)."""
    asked = _ASKS_A_CODE.search(query)
    if asked is None or re.search(r"(?i)^\s*(?:where|who|when|why|how)\b", query) or _CODE_SHAPED.search(core):
        return False
    noun = asked.group().split()[-1]
    after = rf"(?i)\b{re.escape(noun)}s?\s*(?:(?:is|was|reads|:|=|-|–)\s*)+[\"'`“‘]?{re.escape(core.strip())}(?!\w)"
    return re.search(after, text) is None


def verified_span(reply: str, unit: dict[str, Any], query: str, frequent: set[str]) -> str | None:
    """The part of `reply` that answers, as the unit writes it; None when nothing qualifies.

    From the reply's first line, the longest run of words the unit holds word for word (punctuation aside) is cut
    at the question's own words and at the reply's punctuation; the answer is the first piece that, less stop and
    frequent words at its ends, has 1-10 words, is a whole field when the unit is a record, and fits the
    question's type (a number for "how many", a capitalised name for "who"). A reply that copies most of the unit
    answers no "what" question."""
    if NOT_FOUND.lower() in reply.lower() or reply.startswith("Error:"):
        return None
    if unit.get("parent") and _named_only_above(unit, query):
        return None  # "the vendor ID of Valve Software" over a device line under "28de Valve Software": not its ID
    line = _HEX_PREFIX.sub("", reply.strip().split("\n")[0])
    text = unit["text"]
    if _symbols(query) and expected_type(query) == "any":
        symbol = _symbol_answer(line, text, query)
        if symbol is not None:
            return symbol  # what the question names is a symbol, and so is its answer: words would miss both
    unit_words = _WORD.findall(text.lower())  # the text only: a verse reference or an entry name is no answer
    padded = " " + " ".join(unit_words) + " "
    stop = STOPWORDS if is_foreign(query) else ENGLISH_STOPWORDS  # as search_terms: "died" is the question's
    query_stems = {stem(w) for w in _WORD.findall(query) if w.lower() not in stop}
    tokens = list(re.finditer(r"\w+(?:[-'’]\w+)*|[.,;:!?()\"“”]", line))
    words = [t.group(0) for t in tokens if _WORD.fullmatch(t.group(0))]

    question_words = [w.lower() for w in _WORD.findall(query) if len(w) > 4]
    which_option = bool(_ASKS_WHICH_OPTION.match(query))
    if which_option and _says_what_the_unit_does_not(line, unit_words, query, frequent):
        return None  # "-t Disable pseudo-terminal allocation." of the entry "-t Force pseudo-terminal allocation."

    rare = True  # whether the piece being trimmed holds a word that is neither filler nor frequent (set per piece)

    def is_filler(word: str, alone: bool = True) -> bool:
        w = word.lower()
        if w in STOPWORDS or stem(w) in query_stems:
            return True
        if w in frequent:  # alone it is no answer; beside a rarer word it is part of a name ("Switch Pro Controller")
            return alone or not rare
        # part of a compound of the question, as a whole reply ("code" for "Startcode"; not "epoch" at the end of
        # "the number of seconds since the epoch" for "EPOCHSECONDS")
        return alone and len(w) >= 3 and any(w in q and w != q for q in question_words)

    # the runs of the reply that the unit holds word for word, in the reply's order (longest from each start)
    runs: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        last = len(words)
        while last > first and f" {' '.join(w.lower() for w in words[first:last])} " not in padded:
            last -= 1
        if last > first:
            runs.append((first, last))
            first = last
        else:
            first += 1
    kind = expected_type(query)
    if kind == "reason":
        return _reason_clause(words, text, query_stems)
    does = _ASKS_WHAT_IT_DOES.match(query)
    if does is not None:  # a verb phrase, as the unit writes it: a reader's noun ("pathname expansion") is no answer
        return _does_clause(text, does.group(1))
    if _ASKS_HOW.match(query):  # a method is whole: the question's own words are part of it ("pip install rich")
        if unit.get("leads_in") or text.rstrip().endswith(":"):
            return None  # "... you can use:": the method is the command after it, which this unit does not hold
        method = _method_clause(words, runs, text, query_stems, frequent)
        return method if method is None or _near_the_question_if_prose(method, unit, text, query) else None
    copied = any(b - a >= 12 or (len(unit_words) > 8 and b - a >= 0.7 * len(unit_words)) for a, b in runs)
    if kind == "any" and copied:
        return None  # the reader copied the passage; which part answers is anyone's guess
    # pieces of the runs: cut at the question's words and at the reply's punctuation (not an initial's dot)
    pieces: list[list[str]] = [[]]
    leads = [""]  # the reply's word just before each piece
    index = -1
    previous = ""

    def cut() -> None:
        pieces.append([])
        leads.append(previous)

    cut_names: set[int] = set()  # pieces that a capitalised word of the question ended inside a name
    others_names: set[int] = set()  # pieces of a name the unit does not write ("Lopez" of the reply's "Rui Lopez")
    foreign = False  # whether the reply's word before is a name's word the unit does not write
    inside = False  # whether the last word cut a name in two ("Lakeside | Conference | Centre")
    for token in tokens:
        word = token.group(0)
        if not _WORD.fullmatch(word):
            if word != "." or (len(previous) > 1 and previous.lower() not in _NAME_TITLES):
                cut()  # (not in "Michael K. Johnson", "Mrs. Jones": a name goes on)
                foreign = False
                inside = False
            continue
        index += 1
        run = next(((a, b) for a, b in runs if a <= index < b), None)
        unwritten = run is None and _a_names_word(word) and stem(word.lower()) not in query_stems
        if unwritten and pieces[-1] and pieces[-1][-1][:1].isupper():
            others_names.add(len(pieces) - 1)
        if run is None or index == run[0]:
            cut()
            inside = False
        if run is not None and stem(word.lower()) in query_stems:
            inside = False
            if word[:1].isupper() and previous[:1].isupper() and pieces[-1]:
                cut_names.add(len(pieces) - 1)  # "GNU Affero General Public | License": a name cut short
                inside = True
            cut()
        elif run is not None:
            if inside and word[:1].isupper() and not pieces[-1]:
                cut_names.add(len(pieces) - 1)  # "Centre" of "Lakeside Conference Centre": its tail (audit 87c v03)
            inside = False
            pieces[-1].append(word)
            if foreign and len(pieces[-1]) == 1 and word[:1].isupper():
                others_names.add(len(pieces) - 1)
        foreign = unwritten
        previous = word
    fitting: list[str] = []
    fields = {f.strip().lower() for f in re.split(r"[;|\t]", text)} if _a_records_line(unit) else None
    if unit.get("fields"):  # a record: the answer is one of its own fields (a part of a long one), never a key
        fields = set(unit["fields"]) if len(unit["fields"]) > 1 else None
    agent_first = kind == "name" and _asks_for_the_agent(query)
    agents: list[str] = []
    for number, (piece, lead) in enumerate(zip(pieces, leads, strict=True)):
        if number in cut_names or number in others_names:
            continue  # (another's name: a word the reader shares with the unit's own value is no answer; v17)
        whole = _phrase_in(text, piece) if piece else None
        rare = any(w.lower() not in frequent and not is_filler(w, False) for w in piece)
        while piece and is_filler(piece[0], len(piece) == 1):
            lead, piece = piece[0], piece[1:]
        by_agent = lead.lower() == "by"
        while piece and is_filler(piece[-1], len(piece) == 1) and not _a_clocks_half(piece):
            piece = piece[:-1]
        if not piece or len(piece) > 10:
            continue
        core = _with_its_minus(_phrase_in(text, piece) or " ".join(piece), text, line)
        if len(unit.get("fields") or ()) > 1 and not _in_a_field(core, unit["fields"]):
            if whole is None or whole.lower() not in unit["fields"]:
                continue
            core = whole  # a whole field with a word the table repeats ("Player 043"): the field, as written
        elif not unit.get("fields") and fields is not None and len(fields) > 2 and core.lower() not in fields:
            continue  # in a record, an answer is a whole field
        whole_core = _whole_numbers(_whole_token(core, line, text, query), text)
        if whole_core is None:
            continue  # "3" where the unit writes only "3.4" and "3.8": which one is anyone's guess
        grouped = _whole_group(whole_core, text, query)
        if grouped is None:
            continue  # "80" where the unit writes "(80, 24)" and "(80, 25)": which pair is anyone's guess
        core = _with_its_minus(_with_its_sign(_whole_date(grouped, text), text), text, line)
        if core != grouped and _reply_date_differs(grouped, core, line):
            continue  # "Mon 3 June" read where the unit writes "5 June": its month is no leave to give the 5th
        core = _with_its_meridiem(core, text, line)
        if which_option:
            core = _as_option(core, text)  # "-T", as the unit writes it, not the letter "T"
        if _cuts_a_token(core, text):
            continue  # "gnu" of "gnu.bash.bug": a part of an address or a name is no answer
        if _points_elsewhere(core, text):
            continue  # "files matching this regex are not copied": the regex itself is not here
        if _ASKS_A_COMMAND.search(query) and _an_option(core, text):
            continue  # "which command copies quotas" is not answered by the option "-p" of `edquota -p`
        if not _in_an_asked_column(core, unit, query_stems, query):
            continue  # "the kernel version of Noble Numbat" is not its release date
        # (a frequency with no digit, "twice a day", "every month", answers "How often ...?": audit 83 E)
        frequency = (
            bool({w.lower() for w in piece} & _HOW_OFTEN_WORDS) and _degree_units(query) == _DEGREE_UNITS["often"]
        )
        digits = re.search(r"\d", core) or any(w.lower() in NUMBER_WORDS for w in piece)
        if kind == "number" and not digits and not frequency:
            continue
        scale = [re.search(r"\d\s?°\s?\Z", text[: p.start()]) for p in _places(core, text)]
        if not digits and scale and all(scale):
            continue  # "C" of "-3°C" (the reply's "-12°C" where the unit writes it not): a scale, no temperature
        if not digits and all(w.lower() in _UNIT_WORDS for w in piece) and _a_number(lead):
            continue  # "pounds" of "The fee is 4 pounds" where the text says 35 pounds: the reading's number is gone
        if not digits and _ASKS_AN_AMOUNT.search(query) and not {w.lower() for w in piece} & _NO_AMOUNT_WORDS:
            continue  # "What is the annual fee?" asks an amount, never a word without one
        if not _of_the_asked_type(core, query) and not _an_hour_at(core, text, query):
            continue  # "What email address ...?" is not answered by a URL
        if not fields and not _the_asked_events_clock(core, text, query):
            continue  # "What time is the meeting?" is not answered by "Lunch follows at 12:30" (audit 85 v02)
        if _a_part_of_a_named_place(core, text, query):
            continue  # "Centre" of "Lakeside Conference Centre" for "Where is the conference?" (audit 87c v03)
        if _a_word_before_the_named(core, text, query):
            continue  # "What is the name of the ramen place?" is not answered "new" of "the new ramen place"
        if _the_place_of_the_value(core, text, query):
            continue  # "fridge" of "The wifi password is on the fridge." is where it is, no password (audit 85b F4)
        if _no_code_shape(core, text, query):
            continue  # "Shared" of "Shared tools ...; the padlock code is with the secretary" is no code (87b F1)
        if _a_schema_name(core, text, query):
            continue  # `title` of `CREATE TABLE books (title TEXT ...)` names a column, no book (audit 87 F2)
        if not unit.get("fields") and _a_name_not_tied_to_the_role(core, text, query):
            continue  # "Marta said the keeper left" names no keeper (audit 87 F4)
        if not _value_of_the_asked_label(core, text, query):
            continue  # "Vehicle make: Vauxhall Corsa" is not the vehicle registration of the line before (v05)
        if not _tied_to_the_asked(core, text, query):
            continue  # "the price per kWh" is the "24.50p per kWh" of its line, not the bill's total (audit 86c v02)
        if kind == "numeral" and not re.search(r"\d", core):
            continue  # "which bug number": the bug's title, however much of the question it repeats, is none
        if kind == "number" and _only_a_label(core, text):
            continue  # "FORTUNE ... ANSWERS: #13" counts nothing
        if kind == "number" and _HOW_MUCH.search(query) and _is_a_date(core):
            continue  # "Meeting notes 2024-03-14" says when, never how many attendees there were
        if kind == "number" and _no_count(core, query):
            continue  # "How many payments were received?" is not answered "15 Jan £110.00" (audit 86c v03)
        if not _fits_the_degree(core, text, query):
            continue  # "How old is the town hall?" is not answered "2015", "How long is the meeting?" not "10:00"
        prose = not unit.get("fields")  # a record's fields are all of its one row: no other act's
        if prose and _degree_units(query) is not None and not _said_of_the_asked(core, text, query):
            continue  # "every month" of "Feed them every month." is not how often to water (review 83c v13)
        if prose and _degree_units(query) is not None and _quantity_of_its_clause(core, text, query) is False:
            continue  # "3 days" of "keeps in the fridge for 3 days and freezes for 3 months": not how long frozen
        if prose and not _the_asked_mention_of_its_month(core, text, query):
            continue  # "3 June" of "arrive on 3 June and leave in June" for "When do we leave?" (review 83c v19)
        if _said_to_be_old(core, text, query):
            continue  # "March 21" of "no longer planned for March 21; moved from March 21 to April 4" (audit 88b v01)
        if prose and not _a_records_line(unit) and _tied_to_another_verb(core, text, query):
            continue  # "April 1" of "opens on April 1 and closes on October 31" for "When does it close?"
        if prose and _COMPOUND_NAME.fullmatch(core.strip()) and not _said_of_the_asked(core, text, query):
            continue  # "The DatabaseError was fixed." names no error the app raises on slow networks (v14)
        if kind == "time" and not (re.search(r"\d", core) or any(w.lower() in _TIME_WORDS for w in piece)):
            continue  # "When did she die?" is not answered "Mary Shelley"
        if kind == "name" and not any(
            w[:1].isupper() and w.lower() not in _NAME_TITLES | _NO_DOERS for w in _WORD.findall(core)
        ):
            continue  # "Mrs" alone names nobody, nor does "Tuesday" of "fixed by Tuesday" (audit 83 H)
        if prose and kind == "time" and _a_deadline_of_another_sentence(core, text, query):
            continue  # "When is the trip?" is not the "tell the teacher by 21 March" after the trip's sentence
        if kind == "name" and _a_bare_month_after_by(core, text):
            continue  # "written by June": a deadline more likely than a June, a guess either way (review 84 I)
        if kind == "name" and _a_role_word(core, query):
            continue  # "Who is the tenant?" is not answered "Landlord", the other party's role (audit 84b F1)
        if kind == "time" and _a_better_sentence_dates_it(core, text, query_stems, query):
            continue  # "When was slugify() added?": not the date of the history entry that added parse_date() (v18)
        if kind == "name" and _a_better_sentence_names_someone(core, text, query_stems):
            continue  # "Who first wrote it?": "first written by Hanna Berg", not the "Peter Moss rewrote it" after
        if not _fits_the_shape(core, query):
            continue  # "the three-letter code" is not "901"
        if (
            kind == "number"
            and not _best_placed_number(core, text, query)
            # a table's row: the column the question names holds it ("How many away wins did Leeds United have?"
            # is its 'Away wins' cell, however near 'Home wins' its 5 is; audit 88r v08, v09)
            and _asked_cells(unit, query_stems, query) != [core.lower()]
            and not (prose and _degree_units(query) is not None and _quantity_of_its_clause(core, text, query))
        ):
            continue  # "seven" for "how many days and nights" in "seven days ... forty days and forty nights"
        prose = not _a_records_line(unit)  # a record's fields are no clauses
        if kind != "number" and prose and not _number_of_its_clause(core, text, query):
            continue  # "2" for "the exit status if no lines were selected" in "0 if ..., 1 if no lines ..., 2 if"
        if kind != "name" and _only_a_doer(core, text, query_stems, query):
            continue  # "What license ...?" is not answered by "Lena Park" of "Written by Lena Park"
        fitting.append(core)
        if by_agent:
            agents.append(core)
    if agent_first and len(fitting) > 1 and len(agents) == 1:
        # "Who wrote it?" - "Frankenstein is a novel written by Mary Shelley": the doer, not the work; with the
        # names the unit joins to it ("discovered by A, B and C": all three)
        return _coordinated(agents[0], text)
    if copied and len(fitting) > 1:
        return None  # a copied passage with several candidates (two numbers, two names): no way to tell
    fitting = [core for core in fitting if _near_the_question_if_prose(core, unit, text, query)]
    quoted = {q.strip().lower() for q in _QUOTED_IN_REPLY.findall(line) for q in q if q}
    for phrase in sorted(quoted, key=len, reverse=True):
        # what the reply quotes and the unit holds whole is its answer, stop words and the question's words inside
        # it included ('on an "AS IS" basis', 'is "show program's version number and exit"')
        words = _WORD.findall(phrase)
        held = _phrase_in(text, words) if 0 < len(words) <= 12 and phrase not in query.lower() else None
        if held is None or kind != "any" or all(stem(w) in query_stems for w in words):
            continue
        content = [w for w in words if w.lower() not in ENGLISH_STOPWORDS]
        if 2 * sum(stem(w) in query_stems for w in content) > len(content):
            continue  # mostly the question's own words ('"Build killed with signal TERM"' for "which bug ... killed
            # with signal TERM"): the reader repeated what it was asked, not what answers it
        verbatim = re.search(rf"(?<![\w.]){re.escape(phrase)}(?!\w)", text, re.IGNORECASE)  # its punctuation too
        if verbatim is not None and verbatim.group(0) != held:
            fitting = [core for core in fitting if core != held]  # its words, cut at its punctuation: the whole
            held = verbatim.group(0)
        elif held in fitting:
            continue
        elif verbatim is None and _cuts_a_token(held, text):
            return None  # the reply names '"mime.types"' where the unit writes only ".mime.types": its answer is wrong
        if _fits_the_shape(held, query) and _near_the_question_if_prose(held, unit, text, query):
            fitting.insert(0, held)
    fitting = [core for core in fitting if not _no_answer_beside_a_symbol(core, text, query)]
    fitting.sort(key=lambda c: c.lower() not in quoted)  # what the reply quotes is what it answers ('... "nobody"')
    if _ASKS_DEFAULT.search(query) and not _a_records_line(unit):
        fitting = [core for core in fitting if _stated_as_default(core, unit, query)]
    if kind == "name":
        fitting = [core for core in fitting if not _only_quoted(core, text)]
        if unit.get("upload"):  # a changelog's upload: the maintainer's whole name, not "Bonaccorso" of it
            maintainer = unit["upload"]["maintainer"]
            fitting = [maintainer if _places(core, maintainer) else core for core in fitting]
        fitting = [_coordinated(core, text) for core in fitting]
    return fitting[0] if fitting else None


_OPTION_FRAME = frozenset("option options flag flags switch switches use used set".split())


def _says_what_the_unit_does_not(line: str, unit_words: list[str], query: str, frequent: set[str]) -> bool:
    """Whether a reply to "which option does X" states a word of X that the unit does not hold: the reader took
    this entry for the one the question describes ("-t Disable ..." where the -t entry says "Force"), so whatever
    it names is unverified. The question's frame ("option", "use") and the text's frequent words (the command's
    name) are no such word."""
    held = {stem(w) for w in unit_words}
    asked = {stem(w) for w in _WORD.findall(query.lower()) if w not in STOPWORDS and w not in _OPTION_FRAME}
    said = {stem(w) for w in _WORD.findall(line.lower()) if w not in frequent}
    return bool((asked & said) - held)


def _as_option(core: str, text: str) -> str:
    """`core` as the option the unit writes ("-T" for a reply's "T" or "t"), when the unit writes it only as an
    option; `core` as it is otherwise."""
    if core.startswith("-") or " " in core:
        return core
    places = [m for m in _OPTION.finditer(text) if m.group(1).lstrip("-").lower() == core.lower()]
    exact = [m for m in places if m.group(1).lstrip("-") == core]
    if not places or len(_places(core, text)) > len(places):
        return core  # the unit writes it as a word of its own too ("a" of "-a"): no option
    return (exact or places)[0].group(1)


_PERSON = r"(?:[A-Z]\.|[A-Z][\w'’-]*)(?: (?:[A-Z]\.|[A-Z][\w'’-]*|(?:van|von|de|der|da|di|du|le|la)(?= [A-Z])))*"
_ASIDE = r"(?: ?(?:<[^<>\n]{1,80}>|\([^()\n]{1,80}\)))?"
_COORDINATION = re.compile(
    rf"(?<![\w'’-])({_PERSON}){_ASIDE}((?:, ?{_PERSON}{_ASIDE})*),? (and|&|or) ({_PERSON}){_ASIDE}(?![\w'’-])"
)
"""Names joined in one sentence ("Darshit Shah <darnir@gnu.org> and Tim Rühsen", "Ann, Bob and Cy"), an address or
a parenthesis after each aside."""


_TITLES = frozenset(
    "chief head director engineer manager officer president professor lead senior junior vice chair chairman "
    "chairwoman secretary dean editor founder ceo cto cfo coo principal assistant associate deputy supervisor "
    "coordinator architect analyst consultant developer maintainer author treasurer captain general".split()
)
"""Words of a job title, not of a name: "Chief Engineer" after a name is an apposition, not a second person."""


def _coordinated(core: str, text: str) -> str:
    """A name the unit writes as one of several joined by "and"/"or" in a sentence ("maintained by Darshit Shah
    <...> and Tim Rühsen <...>"): all of them ("Darshit Shah and Tim Rühsen"), for half of them answers half the
    question. `core` as it is otherwise."""
    flat = " ".join(text.split())
    for found in _COORDINATION.finditer(flat):
        if re.match(r"\s+(?:of|at|for|in|from)\s", flat[found.end() :]):
            return core  # "Dana Lee, Chief Engineer and Head of Quality at Acme": titles, not joined names
        middle = re.findall(rf"{_PERSON}", re.sub(r"<[^<>]*>|\([^()]*\)", "", found.group(2)))
        names = [found.group(1), *middle, found.group(4)]
        if any(w.lower().rstrip(".") in _TITLES for n in names for w in n.split()):
            return core  # "Ola Berg, Lead Auditor, and Per Holm": a title is no name of its own
        if core.lower() in (n.lower() for n in names):
            return ", ".join(names[:-1]) + f" {found.group(3)} {names[-1]}"
    return core


_ASKS_DEFAULT = re.compile(r"\bdefault(?:s|ed)?\b", re.IGNORECASE)
_DEFAULT_REACH = 6
_DEFAULT_CONTENT_REACH = 3
"""Words between a value and "default" in the sentence that states it ("ask (the default)", "The default is 22")."""


def _stated_as_default(core: str, unit: dict[str, Any], query: str) -> bool:
    """For a question about a default: `core` is what the unit's own text states as the default, within
    `_DEFAULT_REACH` words of "default" in one sentence ("set to ask (the default)"), and that sentence is about
    what the question names (the names are in it, in the unit's entry name, or in the unit's first words): "If set to
    yes, ... The default is no" says `no`, never `yes`; a value under a heading that says "default" is none, nor the
    default of the entry before ("CheckHostIP ... regardless of StrictHostKeyChecking. ... no (the default)")."""
    named = salient_terms(query, search_terms(query))
    own = {stem(w) for w in _WORD.findall(unit.get("name", "") + " " + " ".join(unit["text"].split()[:3]))}
    for sentence in _SENTENCE_END.split(unit["text"]):
        tokens = _WORD.findall(sentence)
        lowered = [t.lower() for t in tokens]
        marks = [i for i, t in enumerate(lowered) if _ASKS_DEFAULT.fullmatch(t)]
        if not marks:
            continue
        core_words = [w.lower() for w in _WORD.findall(core)]
        if not core_words:
            continue
        places = [
            i for i in range(len(lowered) - len(core_words) + 1) if lowered[i : i + len(core_words)] == core_words
        ]
        # words apart, or content words apart: "By default, Wget will assume a value of 10 seconds" is 7 words from
        # "default" to 10 but three content words (Wget, assume, 10; "a value of" says nothing)
        content = list(
            accumulate(1 if w not in ENGLISH_STOPWORDS and w not in ("value", "values") else 0 for w in lowered)
        )
        near = any(
            min(abs(m - p), abs(m - (p + len(core_words) - 1))) <= _DEFAULT_REACH
            or abs(content[m] - content[p]) <= _DEFAULT_CONTENT_REACH
            for m in marks
            for p in places
        )
        held = {stem(w) for w in lowered} | own
        if near and all(all(stem(w) in held for w in _WORD.findall(t)) for t in named):
            return True
    return False


def _only_quoted(core: str, text: str) -> bool:
    """Whether the unit writes `core` only inside quotes: a term defined or mentioned (`The "Title Page" means`),
    which names no one, so it answers no "who" question. Case counts: "the title page" is no name either."""
    places = list(re.finditer(rf"(?<!\w){re.escape(core)}(?!\w)", text))
    return bool(places) and all(
        text[max(p.start() - 1, 0) : p.start()] in "\"“'‘" and text[p.end() : p.end() + 1] in "\"”'’" and p.start() > 0
        for p in places
    )


_QUOTED_IN_REPLY = re.compile(r"\"([^\"]{1,80})\"|“([^”]{1,80})”|(?<!\w)'([^']{1,80})'(?!\w)|‘([^’]{1,80})’")
_TOKEN_EDGES = "\"'“”‘’`([{<>}]).,;:!?"
_IDENTIFIER = re.compile(r"[\w./:~+#@-]+")


_TWO_QUESTIONS = re.compile(r",?\s+and\s+(?:what|which|who|whom|when|where|how|why)\b", re.IGNORECASE)
"""A second question joined to the first ("..., and what is its description?")."""
_ASKS_WHAT_IT_DOES = re.compile(r"\s*what does (?:the |an? )?(.+?) do\s*\??\s*$", re.IGNORECASE)
_DESCRIPTORS = frozenset("shell option options flag switch setting builtin command variable function parameter".split())
_CONDITION = re.compile(r",\s*(?:if|when|once)\s+(?:set|enabled|given|on|present)\s*,\s*", re.IGNORECASE)


def _does_clause(text: str, subject: str) -> str | None:
    """What `subject` does, by the unit's own words: in the sentence that names it, the predicate right after its
    name (and words such as "shell option", or ", if set,"), from a verb in the third person ("forces pathname
    expansion never to return `.'"); None when no sentence says so that way."""
    names = [w for w in _WORD.findall(subject) if w.lower() not in _DESCRIPTORS and w.lower() not in STOPWORDS]
    if not names:
        return None
    for sentence in _SENTENCE_END.split(text):
        found = re.search(rf"(?<![\w-]){re.escape(names[-1])}(?![\w-])", sentence, re.IGNORECASE)
        if found is None:
            continue
        rest = sentence[found.end() :].lstrip("'\"`’”)")
        words = rest.split()
        while words and words[0].lower().strip(",") in _DESCRIPTORS:
            words = words[1:]
        rest = _CONDITION.sub(" ", " " + " ".join(words)).strip() if words else ""
        verb = rest.split(" ", 1)[0] if rest else ""
        if len(verb) >= 4 and verb.isalpha() and verb.islower() and verb.endswith("s") and verb not in STOPWORDS:
            clause = rest.rstrip(".;:!? ")
            return clause if len(clause.split()) <= 40 else None
    return None


_ASKS_HOW = re.compile(
    r"\s*(?:and |but |so )?how (?:(?:do|does|did|can|could|should|would|must|may|might|shall|will) "
    r"(?:i|you|we|one|they|users?|people|someone|anyone)|to)\b",
    re.IGNORECASE,
)
"""A question asking for a method ("How do I install rich?", "How can one disable it?", "How to ..."), not for how
something is ("How does the license treat ...?")."""


def _method_clause(
    words: list[str], runs: list[tuple[int, int]], text: str, query_stems: set[str], frequent: set[str]
) -> str | None:
    """The answer to "how do I ...": the unit's sentence (a command line is one) that holds the reply's longest run
    of words the unit writes word for word, as the unit writes it. Cutting a method at the question's words leaves
    a part of it ("python -m pip" of "python -m pip install rich" for "How do I install rich?"). The run must hold
    a word that is neither a stop word, a frequent word nor the question's (an echo of the question answers
    nothing); of the sentences holding it, the one with most of the question's words. The sentence must be tied to
    the question (`_tied_to_the_question`): "It needs Python 3.10 or later" answers no "how do I install ..." when
    the sentence before it installs. None when the run is longer than 40 words (a copied passage) or no run
    qualifies."""

    def substantive(run: tuple[int, int]) -> bool:
        return any(
            w.lower() not in STOPWORDS and w.lower() not in frequent and stem(w.lower()) not in query_stems
            for w in words[run[0] : run[1]]
        )

    qualifying = [run for run in runs if substantive(run) and run[1] - run[0] <= 40]
    if not qualifying or any(run[1] - run[0] > 40 for run in runs if substantive(run)):
        return None
    spans = _sentence_spans(text)
    asked = [len(query_stems & {stem(w) for w in _WORD.findall(sentence.lower())}) for _, _, sentence in spans]
    held = False  # whether any sentence holds a run, tied to the question or not
    holding: list[tuple[int, int, int, str]] = []  # (run length, question words, -place, sentence)
    for first, last in qualifying:
        phrase = f" {' '.join(w.lower() for w in words[first:last])} "
        for place, (_, _, sentence) in enumerate(spans):
            if _POINTS_AHEAD.search(sentence):
                continue  # "the following command causes the server to bind to localhost only::" names no command
            sentence_words = _WORD.findall(sentence.lower())
            if phrase in f" {' '.join(sentence_words)} " and len(sentence_words) <= 40:
                held = True
                if _tied_to_the_question(place, spans, asked, query_stems):
                    holding.append((last - first, asked[place], -place, " ".join(sentence.split())))
    if holding:
        return max(holding)[3].rstrip(".;: ")  # the longest run; of its sentences, the most of the question's words
    if held or _POINTS_AHEAD.search(text):
        return None  # the reply's sentence is not the one the question asks about: no short answer
    first, last = max(qualifying, key=lambda run: (run[1] - run[0], -run[0]))
    found = _phrase_in(text, words[first:last])  # the run crosses a sentence's end: the run itself
    if found is None:
        return None
    at = text.find(found)
    touched = [place for place, (start, end, _) in enumerate(spans) if start < at + len(found) and at < end]
    return found if any(_tied_to_the_question(p, spans, asked, query_stems) for p in touched) else None


def _a_better_sentence_names_someone(core: str, text: str, query_stems: set[str]) -> bool:
    """For a "who" question: whether a sentence of the unit holds more of the question's words (`query_stems`)
    than every sentence that writes `core` and itself names someone (`_names_a_person`). "The tool was first
    written by Hanna Berg. Peter J. Moss rewrote it": for "Who first wrote the tool?" the first sentence names its
    author, and Peter J. Moss, whose sentence holds fewer of the question's words, is no answer. False when no
    sentence writes `core` whole (an answer across sentences)."""
    spans = _sentence_spans(text)
    asked = [len(query_stems & {stem(w) for w in _WORD.findall(sentence.lower())}) for _, _, sentence in spans]
    needle = core.lower()
    own = [asked[i] for i, (_, _, sentence) in enumerate(spans) if needle in sentence.lower()]
    if not own:
        return False
    for count, (_, _, sentence) in zip(asked, spans, strict=True):
        if count <= max(own) or needle in sentence.lower():
            continue
        if _names_a_person(sentence, query_stems):
            return True
    return False


def _a_better_sentence_dates_it(core: str, text: str, query_stems: set[str], query: str = "") -> bool:
    """For a "when" question: whether a sentence of the unit that does not write `core` holds all the question's
    words (`query_stems`) that each sentence writing it holds, and more, and writes a number or date of its own. In
    a header's history ("2019-03-01 Mara Lind: added parse_date(). 2020-07-12 Kofi Mensah: added slugify().")
    "When was slugify() added?" is the second entry's date, never the first's (review 87 v18). A date the text
    calls old, or a number the question writes, is none of its own: "4.2 is no longer planned for March 21. It was
    moved from March 21 to April 4" dates 4.2 April 4 (audit 88b v01). False when no sentence writes `core` whole."""
    if not re.search(r"\d", core):
        return False
    spans = [sentence for _, _, sentence in _sentence_spans(text)]
    asked = [query_stems & {stem(w) for w in _WORD.findall(sentence.lower())} for sentence in spans]
    needle = core.lower()
    own = [asked[i] for i, sentence in enumerate(spans) if needle in sentence.lower()]
    if not own:
        return False
    named = set(_FULL_NUMBER.findall(query))

    def dates_its_own(sentence: str) -> bool:
        dated = [m.group() for p in (_DATE, _A_DAY_OF_A_MONTH, _NUMERIC_DATE) for m in p.finditer(sentence)]
        rest = sentence
        for value in dated:
            rest = rest.replace(value, " ")
        values = dated + [n for n in _FULL_NUMBER.findall(rest) if n not in named]
        return any(not _said_to_be_old(value, text, query) for value in values)

    return any(
        needle not in sentence.lower() and dates_its_own(sentence) and all(held > mine for mine in own)
        for held, sentence in zip(asked, spans, strict=True)
    )


_NOT_NAMES = frozenset(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday""".split()
)


def _names_a_person(sentence: str, query_stems: set[str]) -> bool:
    """Whether a sentence names someone the question does not: two or more capitalised words in a row ("Peter J.
    Moss", "Mrs. Jones"), or one after "by" ("rewritten by Moss"); not a month, a weekday, nor a place or thing
    after "in", "at", "from" ("published in May", "designed in Paris"), nor the sentence's first word alone."""
    words = _WORD.findall(sentence)
    run: list[str] = []
    for number, word in enumerate([*words, ""]):
        capital = (
            word[:1].isupper()
            and word.lower() not in _NOT_NAMES
            and stem(word.lower()) not in query_stems
            and not (number == 0 and word.lower() in STOPWORDS)
        )
        if capital:
            run.append(word)
            continue
        if len(run) >= 2 or (run and number > len(run) and words[number - len(run) - 1].lower() == "by"):
            return True
        run = []
    return False


def _sentence_spans(text: str) -> list[tuple[int, int, str]]:
    """The unit's sentences (as `_SENTENCE_END` cuts them) with their start and end offsets in `text`."""
    spans = []
    start = 0
    for gap in _SENTENCE_END.finditer(text):
        spans.append((start, gap.start(), text[start : gap.start()]))
        start = gap.end()
    spans.append((start, len(text), text[start:]))
    return spans


def _tied_to_the_question(
    place: int, spans: list[tuple[int, int, str]], asked: list[int], query_stems: set[str]
) -> bool:
    """Whether the sentence at `place` may answer the question: it holds some of the question's words, or no
    sentence of the unit does, or it follows a sentence that asks the question or only names it ("Q: How do you
    open a stuck jar? A: Tap the lid!", "Installation. Run ..."). A sentence beside the one that answers, sharing
    none of the question's words, is no answer to it ("It needs Python 3.10" after "To install it, run ...")."""
    if asked[place] or not any(asked):
        return True
    if place == 0 or not asked[place - 1]:
        return False
    before = spans[place - 1][2].rstrip()
    if before.endswith("?"):
        return True
    own = [w for w in _WORD.findall(before.lower()) if w not in STOPWORDS and len(w) > 1]
    return all(stem(w) in query_stems for w in own)  # a title: nothing but the question's words


_POINTS_AHEAD = re.compile(r"\b(?:the following|as follows|below)\b|:\s*$", re.IGNORECASE)
"""A sentence that introduces what comes after it (an example, a command block): the method is there, not here."""


_REASON = re.compile(
    r"\b(?:because(?: of)?|so that|in order to|due to|owing to|as a result of)\s+"
    r"|,\s+(?:as|since)\s+(?=(?:it|they|this|these|that|there|he|she|we|you)\s+\w)",  # "..., as it lightens the load"
    re.IGNORECASE,
)


def _reason_clause(words: list[str], text: str, query_stems: set[str]) -> str | None:
    """The answer to a "why" question: the clause after "because" (or "so that", "in order to", "due to" ...) in a
    sentence of the unit that names the question's words, when the reply shares two words in a row with it; as the
    unit writes it, to the sentence's end. A phrase cut from a reason is no answer: for "Why is it called the Lesser
    GPL?" the reply's "protect the user's freedom" stands for "it does Less to protect the user's freedom than the
    ordinary General Public License", whose "Less" is a word of the question. None when the unit gives no reason."""
    pairs = {f" {a.lower()} {b.lower()} " for a, b in pairwise(words)}
    pairs = {p for p in pairs if any(w not in ENGLISH_STOPWORDS for w in p.split())}
    previous = ""
    for sentence in _SENTENCE_END.split(text):
        for marker in _REASON.finditer(sentence):
            # what the reason is for: the words before it, in its sentence or the one before ("Do not use a count of
            # errors as the exit status. That does not work, because ...")
            explained = previous + " " + sentence[: marker.start()]
            if not query_stems & {stem(w) for w in _WORD.findall(explained.lower())}:
                continue
            clause = " ".join(sentence[marker.end() :].split()).rstrip(".;:!? ")
            padded = " " + " ".join(_WORD.findall(clause.lower())) + " "
            if clause and len(clause.split()) <= 40 and any(p in padded for p in pairs):
                return clause
        previous = sentence
    return None


def _near_the_question_if_prose(core: str, unit: dict[str, Any], text: str, query: str) -> bool:
    """`_near_the_question` for prose; a record's fields are no sentences, so any of them may answer."""
    return _a_records_line(unit) or _near_the_question(core, text, query)


def _near_the_question(core: str, text: str, query: str) -> bool:
    """Whether `core` sits in the unit's sentence that holds most of the question's words, or next to it: in
    "Q: How do you catch a unique rabbit? A: Unique up on it! Q: How do you catch a tame rabbit? A: The tame
    way!" the unique rabbit's answer is not "tame way". Units of fewer than three sentences always pass."""
    sentences = _SENTENCE_END.split(text)
    if len(sentences) < 3:
        return True
    asked = {stem(w) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS}
    scores = [len(asked & {stem(w) for w in _WORD.findall(s.lower())}) for s in sentences]
    best = max(scores)
    places = [i for i, s in enumerate(sentences) if re.search(rf"(?<!\w){re.escape(core)}(?!\w)", s, re.IGNORECASE)]
    near = {j for i, score in enumerate(scores) if score == best for j in (i - 1, i, i + 1)}
    return not places or any(i in near for i in places)


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?"
    r"|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(  # "29 June 2007", "June 29, 2007", and a month of a year: "January 2004"
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?\d{{4}})",
    re.I,
)


_NUMERIC_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
"""A date in digits: "2024-03-14", "2024/3/14", "14.03.2024", "3/14/24"."""
_HOW_MUCH = re.compile(r"(?i)\bhow (?:many|much)\b|\bthe number of\b")
"""A question for an amount, which no date answers."""


_FORM_FIELD = re.compile(r"^\s*([A-Za-z][\w'()/-]*(?: [\w'()/-]+){0,3}):\s+(\S.*)$")


_AN_AMOUNT = r"(?<![\w.,])[-−–]?[£$€¥₹]?\d+(?:[.,]\d+)*(?:\s?°\s?[CF]?|%|\s?[A-Za-z]{1,5}\b\.?)?"
_LABELLED_AMOUNT = re.compile(
    rf"(?:^|(?<=[,;|:\n]))[ \t]*(?P<label>[A-Za-z][\w'/-]*(?:[ \t][A-Za-z][\w'/-]*){{0,2}})[ \t]*[:=]?[ \t]*"
    rf"(?P<amount>{_AN_AMOUNT})[ \t]*(?=[,;|\n]|$)"
)
"""A part of a line that is a label and its amount and nothing else ('High -1°C' of 'Tue: High -1°C, Low -6°C',
'Minimum temperature: -12°C', 'Deluxe room £120')."""
_BOUND_KEYS = {
    **dict.fromkeys("low lowest min minimum".split(), "low"),
    **dict.fromkeys("high highest max maximum".split(), "high"),
}
"""The words of a least and a greatest value, one key each: "the lowest temperature" asks a line's 'Low' or 'Min'."""


_AMOUNT_GROUP = re.compile(
    r"(?:^|(?<=[,;|\n]))[ \t]*(?P<group>[A-Za-z][\w'/-]*(?:[ \t][A-Za-z][\w'/-]*){0,3})[ \t]*:(?=[ \t]*[A-Za-z])",
    re.MULTILINE,
)
"""A group's name over labelled amounts: 'Cinema' of 'Cinema: Adult £9, Child £5', 'Swimming pool' of 'Swimming
pool: Adult £5.50'; not 'Minimum temperature' of 'Minimum temperature: -12°C' (a label, its amount after it)."""


def _names_a_group(written: str, said: str) -> bool:
    """Whether the question's word `said` names the group word `written`: the same stem, or its abbreviation
    ('Wed' of "Wednesday")."""
    return stem(written) == stem(said) or (len(written) >= 3 and said.startswith(written))


def _label_keys(word: str) -> set[str]:
    w = word.lower()
    keys = {_BOUND_KEYS.get(w, stem(w))}
    if w.endswith("est") and len(w) > 5:
        keys.add(stem(w[:-3]))  # "coldest" asks a 'Cold' label
    return keys


def _relabelled_reading(reply: str, second: str, text: str, query: str) -> str | None:
    """The amount under the label the question names, where both readings, refused as they stand (an amount of
    the line not tied to the question's words: "£2" of "Ferry: Adult £2, Child £1" for the ferry's child fare), are
    the same amount of another label of the line: the reading is right about the line and wrong about the label.
    None unless `_amount_of_the_asked_label` gives one amount for it."""
    first, again = reply.strip(), second.strip()
    if not first or first != again or first not in text:
        return None
    return _amount_of_the_asked_label(first, text, query) or None


def _amount_of_the_asked_label(span: str, text: str, query: str) -> str | None:
    """The amount, as written, that the unit's line gives under the label the question names, where the reading
    `span` is the amount of another label of it: "What is the low on Wednesday?" over "Wed: High −4°C, Low −9°C"
    is not answered "−4°C", but by the 'Low' part, "−9°C" (audit 88g v19). "" when the question names several
    labels as well and `span`'s is none of them (which is asked is then a guess); None, leaving `span` as it is,
    when the line has fewer than two such parts, `span` is no amount of one, or the question names no label.
    A label belongs to the group named last before it ("Cinema: Adult £9, Child £5, Theatre: Adult £25"): of a
    line of several, the one group the question names gives its labels alone, and "" when it gives none the
    question names, or `span` is another group's amount (the theatre's child price is not the cinema's; audit 88r
    v12, v13)."""
    amount = re.fullmatch(_AN_AMOUNT, span.strip())
    found = list(_LABELLED_AMOUNT.finditer(text))
    pairs = [(m.group("label"), m.group("amount").strip()) for m in found]
    if amount is None or len(pairs) < 2:
        return None
    heads = [(m.end(), m.group("group")) for m in _AMOUNT_GROUP.finditer(text)]
    groups = [next((g for at, g in reversed(heads) if at <= m.start()), "") for m in found]
    words = [w.lower() for w in _WORD.findall(query) if w.lower() not in ENGLISH_STOPWORDS]
    named = {g for g in set(groups) if any(_names_a_group(w.lower(), said) for w in _WORD.findall(g) for said in words)}

    def value(said: str) -> float:
        number = re.match(r"[-−–]?[£$€¥₹]?\d+(?:[.,]\d+)*", said.strip())
        try:
            return _signed_number(re.sub(r"[£$€¥₹]", "", number.group(0))) if number else float("nan")
        except ValueError:
            return float("nan")  # "0.0.0.0", an address: no amount

    mine = [i for i, (_, said) in enumerate(pairs) if value(said) == value(span)]
    asked = {key for w in _WORD.findall(query) if w.lower() not in ENGLISH_STOPWORDS for key in _label_keys(w)}
    scores = [sum(1 for w in _WORD.findall(label) if _label_keys(w) & asked) for label, _ in pairs]
    if len(set(groups)) > 1 and len(named) == 1:  # "the theatre ... for a child": the Theatre's labels alone
        own = [i for i, g in enumerate(groups) if g in named]
        if max(scores) and not any(scores[i] for i in own):
            return ""  # the label asked is another group's: the group named gives none
        scores = [score if i in own else 0 for i, score in enumerate(scores)]
        if not set(mine) & set(own):  # another group's amount read: the named group's own, when one is asked
            top = [i for i in own if scores[i] == max(scores)]
            return pairs[top[0]][1] if len(top) == 1 else ""
    best = max(scores)
    top = [i for i, score in enumerate(scores) if score == best]
    if not mine or best == 0 or set(mine) & set(top):
        return None
    return pairs[top[0]][1] if len(top) == 1 else ""


def _value_of_the_asked_label(core: str, text: str, query: str) -> bool:
    """Whether `core`, when it stands in the value of a form's field ('Vehicle make: Vauxhall Corsa' of a block of
    such fields, each ended by ';' or a line's end), is in the field whose label names the question's words best:
    "What is the vehicle registration?" names 'Vehicle registration' (two words) more than 'Vehicle make' (one),
    so 'Vauxhall Corsa' answers it not (audit 86c v05). Passes when the unit holds fewer than two such fields or
    `core` is in no field's value."""
    fields = [f for f in (_FORM_FIELD.match(part) for part in re.split(r";\s|\n", text)) if f is not None]
    if len(fields) < 2:
        return True
    asked = {stem(w) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS}

    def named(label: str) -> int:  # a snake_case label's words too ("armor_class": audit 87c v01)
        return _key_naming(label, asked)

    holding = [f for f in fields if core.lower() in f.group(2).lower()]
    if not holding:
        return True
    best = max(named(f.group(1)) for f in fields)
    return best == 0 or any(named(f.group(1)) == best for f in holding)


_AMOUNT_IN_TEXT = re.compile(r"(?<![\w.,])[£$€¥₹]?\d+(?:[.,]\d+)*(?:[a-zA-Z%]{1,3}\b)?")
_PER_ASKED = re.compile(r"(?i)\bper\s+([a-z][\w-]*)")
_PERIODS = {
    word: period
    for period, words in (
        ("hour", "hour hours hr hrs hourly"),
        ("day", "day days daily"),
        ("week", "week weeks wk wks weekly"),
        ("month", "month months mo mth pcm monthly"),
        ("year", "year years yr yrs annum annual annually yearly"),
        ("night", "night nights nightly"),
        ("quarter", "quarter quarters quarterly"),
    )
    for word in words.split()
}
"""A rate's period by each word that says it, a noun, its abbreviation or its adjective ("monthly", "pcm", "/mo"
-> "month"): "the monthly rent" asks the amount the text writes "per month", "a month" or "/mo" (review 87 v15)."""
_PERIOD_BY_STEM = {stem(word): period for word, period in _PERIODS.items()}
_PERIOD_ADJECTIVE = re.compile(r"(?i)\b(hourly|daily|weekly|monthly|annual|annually|yearly|nightly|quarterly)\b")
_MOST_WORDS = re.compile(r"(?i)\b(?:maximum|max|up to|at most|no more than|capped at)\b")
_LEAST_WORDS = re.compile(r"(?i)\b(?:minimum|min|at least|no less than)\b")
_ASKED_BOUNDS = (
    (_MOST_WORDS, re.compile(r"(?i)\b(?:maximum|at most)\b")),
    (_LEAST_WORDS, re.compile(r"(?i)\b(?:minimum|at least)\b")),
)
"""The words of a bound in a text (an upper one, a lower one), and those of a question that asks for it: "Max" in a
question may be a name ("Unlimited Max"), "maximum" never is."""


def _tied_to_the_asked(core: str, text: str, query: str) -> bool:
    """Whether `core`, when it is an amount, is one the text ties to what the question qualifies it by: the rate
    it names ("the price per kWh": an amount written just before "per kWh", or a chain of rates holding it, "25p per
    day per item") and the bound it names ("the maximum fine": an amount after "maximum", "up to" in its own
    clause). A qualifier the text ties to no amount binds nothing; an answer that is no amount passes (audit 86c
    v02: "£356.61" is the total of "1,163 kWh at 24.50p per kWh ... Total £356.61", "25p" the daily rate of "25p
    per day per adult item, up to a maximum of £6.00 per item"). Where the text ties an amount to them, a word is
    no answer either: "day" of the reader's "25p per day" is no maximum fine."""
    amounts = list(_AMOUNT_IN_TEXT.finditer(text))
    number = bool(re.search(r"\d", core))
    mine = [a for a in amounts if a.group().lower() in core.lower() or core.lower() in a.group().lower()]
    if (number and not mine) or len(amounts) < 2:
        return True
    rates = [m.group(1).lower() for m in _PER_ASKED.finditer(query)]
    rates += [m.group(1).lower() for m in _PERIOD_ADJECTIVE.finditer(query)]
    bounds = [written for written, asking in _ASKED_BOUNDS if asking.search(query)]

    def rate_of(a: re.Match[str]) -> set[str]:
        # "£950 per month", "£950 a month", "£950/mo", "25p per day per item"; and a period's adjective earlier in
        # the amount's own clause ("Hourly rate: £25", "a daily cap of £8.90")
        per = r"(?:per\b|/|an?\s+(?=[a-z]+\b))"
        chain = re.match(rf"\s*(?:{per}\s*(?:[\w-]+\s+){{0,2}}?([\w-]+)\s*)+", text[a.end() : a.end() + 60], re.I)
        said = {m.group(1).lower() for m in re.finditer(r"(?i)^\s*(\w+)", text[a.end() :]) if m.group(1) in _PERIODS}
        if chain is not None:
            said = {w.lower() for w in re.findall(rf"(?i){per}\s*(?:[\w-]+\s+){{0,2}}?([\w-]+)", chain.group())}
        since = max((b.end() for b in amounts if b.end() <= a.start()), default=0)
        clause = re.split(r"[,.;!?\n]\s", text[since : a.start()])[-1]
        return said | {m.group(1).lower() for m in _PERIOD_ADJECTIVE.finditer(clause)}

    def same_rate(written: str, asked: str) -> bool:
        return _PERIODS.get(written, stem(written)) == _PERIODS.get(asked, stem(asked))

    def bound_of(a: re.Match[str], bound: re.Pattern[str]) -> bool:
        before = text[: a.start()]
        since = max((b.end() for b in amounts if b.end() <= a.start()), default=0)
        since = max(since, *(m.end() for m in re.finditer(r"[.;:!?]\s", before)), 0)
        return bool(bound.search(before[since:][-40:]))

    for rate in rates:
        tied = [a for a in amounts if any(same_rate(w, rate) for w in rate_of(a))]
        if tied and not any(a in tied for a in mine):
            return False
    for bound in bounds:
        tied = [a for a in amounts if bound_of(a, bound)]
        if tied and not any(a in tied for a in mine):
            return False
    return True  # (a word: `mine` is empty, so any tied amount has refused it above)


_COUNT_QUESTION = re.compile(r"(?i)\bhow many\b|\bthe number of\b")
_MONEY_NOUNS = re.compile(
    r"(?i)\bhow many (?:\w+ )?(?:pounds|pence|dollars|cents|euros|yen|francs|rupees|bucks|quid|credits|points)\b"
)
_A_DAY_OF_A_MONTH = re.compile(rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?!\w)|(?<!\w){_MONTH}\s+\d{{1,2}}\b")


def _no_count(core: str, query: str) -> bool:
    """Whether `core` can answer no "how many" question: a count is a number of the asked things, never a date
    ("15 Jan", "2024-03-14") nor a sum of money ("£110.00"), unless money is what is counted ("how many pounds").
    A row that holds both ("15 Jan £110.00") is one item of what is counted, not its count (audit 86c v03)."""
    if not _COUNT_QUESTION.search(query):
        return False
    money = bool(re.search(r"[£$€¥₹]", core)) and not _MONEY_NOUNS.search(query)
    dated = bool(_NUMERIC_DATE.search(core) or _DATE.search(core) or _A_DAY_OF_A_MONTH.search(core))
    return money or dated


def _is_a_date(core: str) -> bool:
    """Whether `core` is a date and nothing else: "2024-03-14", "June 29, 2007" (not "3 days", not "12,500")."""
    core = core.strip(" .,;:()")
    return bool(_NUMERIC_DATE.fullmatch(core) or _DATE.fullmatch(core))


_SHAPE = re.compile(
    r"\b(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)[- ](?P<what>letter|digit|character)s?\b", re.I
)
_SMALL = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def _fits_the_shape(core: str, query: str) -> bool:
    """An answer to "the three-letter code", "the 4-digit number", "a two-character flag" has that shape."""
    shape = _SHAPE.search(query)
    if shape is None:
        return True
    n = int(shape.group("n")) if shape.group("n").isdigit() else _SMALL[shape.group("n").lower()]
    what = shape.group("what").lower()
    pattern = {"letter": rf"[^\W\d_]{{{n}}}", "digit": rf"\d{{{n}}}", "character": rf"\S{{{n}}}"}[what]
    return re.fullmatch(pattern, core.strip()) is not None


def _named_only_above(unit: dict[str, Any], query: str) -> bool:
    """Whether what the question names (capitalised, digits, quoted) is in the lines a line sits under and not in
    the line itself: the answer is the heading's, which the line's own words cannot verify."""
    named = salient_terms(query, search_terms(query))
    own = {stem(w) for w in _WORD.findall(unit["text"].lower())}
    above = {stem(w) for w in _WORD.findall(unit["name"].lower())}
    held = [all(stem(w) in own for w in _WORD.findall(t)) for t in named]
    return bool(named) and not any(held) and any(all(stem(w) in above for w in _WORD.findall(t)) for t in named)


_YEARLESS_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}\b|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?![:.]?\d))", re.I
)
"""A date with no year: "12 June", "12th of June", "June 12" (a birthday, a yearly event, a date of this year)."""


def _reply_date_differs(core: str, grown: str, reply: str) -> bool:
    """Whether the reply writes `core` (a month, a day, a year) inside a date of its own whose numbers the unit's
    whole date `grown` (`_whole_date`) does not all hold: the reply's "Mon 3 June" is no "5 June", though both
    say June (audit 87 v16: a diary's follow-up line gave the 5th for the reader's right 3rd)."""
    mentions = [m.span() for m in re.finditer(rf"(?<!\w){re.escape(core)}(?!\w)", reply, re.I)]
    said = {int(n) for n in re.findall(r"\d+", grown)}
    for pattern in (_DATE, _YEARLESS_DATE):
        for date in pattern.finditer(reply):
            inside = any(date.start() <= a and b <= date.end() for a, b in mentions)
            if inside and not {int(n) for n in re.findall(r"\d+", date.group(0))} <= said:
                return True
    return False


def _whole_date(core: str, text: str) -> str:
    """A month, a day or a year the unit writes inside one whole date, as that date ("June" or "2007" of "29 June
    2007", "June" of a birthday's "12 June": what the text says, and it holds what the reply said); `core`
    unchanged otherwise, and unchanged too when the unit writes `core` anywhere outside that one date ("come back
    in late August" after "fly out on 2 August", "married in May 2010" after "the 5th of May"): which mention the
    reply meant is then a guess (audit 83 F)."""
    places = list(re.finditer(rf"(?<!\w){re.escape(core)}(?!\w)", text, re.I))
    spans = [[d.span() for d in pattern.finditer(text)] for pattern in (_DATE, _YEARLESS_DATE)]
    grown: set[str] = set()
    for place in places:
        # the date around this mention, with its year if the text writes one
        around = next((text[a:b] for found in spans for a, b in found if a <= place.start() and place.end() <= b), None)
        if around is None:
            return core  # a mention of its own, no date's part
        grown.add(around)
    if len(grown) == 1 and len(core) < len(next(iter(grown))):
        return grown.pop()
    return core


def _cuts_a_token(core: str, text: str) -> bool:
    """Whether every place the unit writes `core` is part of a longer token: an address, a dotted name, a path, a
    pattern (`gnu` of `gnu.bash.bug`, `bug-bash` of `bug-bash@gnu.org`, `mime.types` of `".mime.types"`, `a-z` of
    `^[a-z]*$`)."""
    places = _places(core, text)
    return bool(places) and all(
        (
            re.match(r"[./@:_~+=-]\w|[\[\]^$*?\\|{}]", text[p.end() : p.end() + 2])
            and not (re.search(r"\d$", core) and _PER_UNIT.match(text, p.end()))
        )
        or (
            re.search(r"(?:\w[./@:_~+=]|(?<![\w.])\.|[\[\]^$*?\\|{}])$", text[max(p.start() - 2, 0) : p.start()])
            and not _AFTER_A_CURRENCY.search(text[max(p.start() - 2, 0) : p.start()] + core[:1])
        )
        for p in places
    )


_PER_UNIT = re.compile(r"/[A-Za-z]{1,4}\b(?![/.@-]\w)")
"""A rate's unit written after its amount's slash ("£3/hr", "£950/mo", "20p/kWh"): the amount is a whole token,
not a piece of a path (review 87 v15)."""
_CURRENCY = "$€£¥₹"
_AFTER_A_CURRENCY = re.compile(rf"(?:^|[^\w$])[{_CURRENCY}]\d$")
"""A number right after a currency sign that opens its token ("$12,500", "€900"): an amount, not a piece of a
pattern (`$1`, `s/a$/b/`)."""


REPLY_CUT_MARK = "\n\n[rlmx: the sub-LM's reply was cut short here"
"""How the engine ends a sub-call's answer cut at its output cap (prompts.SUB_REPLY_CUT, which the REPL cannot
import): the reading before it is what the reader said."""


_INTRODUCES_LIST = re.compile(r"(?:\bthe following\b[^.!?]*|:)\s*$", re.IGNORECASE)
_LIST_ITEMS_SHOWN = 10


def _list_after(state: dict[str, Any], unit: dict[str, Any]) -> list[str]:
    """The heads of the list items (`=item`, `*`, `-`, `1.` entries) right after a unit that introduces them ("The
    following formats are supported:"), at most `_LIST_ITEMS_SHOWN`, or the one short block such a unit leads into
    ("... you can use:" over the indented `zcat file.Z | wc -c`); [] for any other unit. Split into units of
    their own, the items are what such a sentence says, and quoting it alone shows none of them."""
    if not _INTRODUCES_LIST.search(unit["text"]):
        return []
    units = state["units"]
    at = next((i for i, u in enumerate(units) if (u["source"], u["line"]) == (unit["source"], unit["line"])), None)
    if at is None:
        return []
    after = units[at + 1] if at + 1 < len(units) else None
    if (
        after is not None
        and after.get("led")
        and after["source"] == unit["source"]
        and not _BULLET.match(after["text"])
    ):
        return [" ".join(after["text"].split())[:200]]  # "... you can use:" and the command it leads into
    heads: list[str] = []
    for later in units[at + 1 :]:
        if later["source"] != unit["source"] or len(heads) >= _LIST_ITEMS_SHOWN:
            break
        if _BULLET.match(later["text"]):
            head = later["text"]
        elif later["kind"] == "entry" and later.get("name") and heads:
            head = later["name"]  # an item's description, under its head
        else:
            break
        if head not in heads:
            heads.append(head)
    return [" ".join(head.split())[:120] for head in heads]


def _answered(answer: str, report: list[str]) -> dict[str, Any]:
    """A short answer found (`answer`: the value, then the line "From ..." quoting its source), with the steps that
    led to it (`report`)."""
    return {"answer": answer, "found": True, "kind": "answer", "report": "\n".join(report)}


def _line_answer(value: str, line: str, number: int, why: str, report: list[str]) -> dict[str, Any]:
    """The answer `value`, read on line `number` (`line`, quoted as its source), with `why` in the report."""
    report.append(f"{why}: {line!r} (line {number})")
    return _answered(f"{value}\nFrom [line {number:,}] {line}", report)


def _evidence(
    units: list[dict[str, Any]],
    report: list[str],
    why: str = "",
    state: dict[str, Any] | None = None,
    terms: list[str] | None = None,
) -> dict[str, Any]:
    """The answer of a question no short answer verified for: the best units, quoted with their locations (and
    `why`, when something the user can change stood in the way, or the text cannot give what a count needs); with
    `state`, a unit that introduces a list is quoted with the heads of its items (`_list_after`); with the
    question's `terms`, a long unit from its sentence that holds them (`_quote`)."""
    quotes = []
    for unit in units:
        items = _list_after(state, unit) if state is not None else []
        items += _constants_named(state, unit) if state is not None else []
        quotes.append(_quote(unit, terms=terms) + "".join(f"\n    {item}" for item in items))
    quoted = "\n".join(quotes)
    answer = f"No short answer could be verified{f' ({why})' if why else ''}. The best matching passages:\n{quoted}"
    return {"answer": answer, "found": True, "kind": "evidence", "report": "\n".join(report)}


_CONSTANT_USED = re.compile(r"(?<![\w.])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{2,}[A-Z0-9]*)(?![\w(])")


def _constants_named(state: dict[str, Any], unit: dict[str, Any]) -> list[str]:
    """The definitions (`SMTP_SSL_PORT = 465`, quoted with their location) of the upper-case constants a quoted
    code unit uses on the right of an assignment (`default_port = SMTP_SSL_PORT`): the value the question asks is
    written there, not here. At most three; none for a unit that is no assignment."""
    value = re.match(r"^\s*[\w.]+\s*[:=]=?\s*(.+)$", unit["text"])
    if value is None or len(unit["text"]) > 200:
        return []
    shown = []
    for name in dict.fromkeys(_CONSTANT_USED.findall(value.group(1))):
        defined = re.compile(rf"^{re.escape(name)}\s*=\s*\S")
        found = next((u for u in state["units"] if u["source"] == unit["source"] and defined.match(u["text"])), None)
        if found is not None and found is not unit:
            shown.append(f"({name}: {_quote(found, 160)})")
    return shown[:3]


def _text_lines(state: dict[str, Any]) -> list[str]:
    """The non-empty lines of every source, as the text writes them."""
    return [line for source in state["sources"] for line in source[1].split("\n") if line.strip()]


_MERIDIEM_AFTER = r"(\s*([ap])(?:\.\s?m\.?|m))(?!\w)"
"""An a.m./p.m. after a clock: "pm", "p.m.", "p. m." ("2 pm." ends its sentence: its dot is no part of it)."""


def _with_its_meridiem(core: str, text: str, line: str) -> str:
    """`core`, a clock ("11:40", "8", or cut inside its mark: "8 p"), with the a.m./p.m. the unit writes after it
    ("11:40 p.m.", "8 P.M."): the mark the reply's `line` gives it, else the one every place the unit writes that
    clock gives it. A bare "11:40" reads as morning, and "p.m." is words a reply's punctuation cuts (review 87
    v04). Anything else is returned as it is."""
    bare = re.fullmatch(r"(?i)((?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?)(?:\s*[ap]\.?(?:\s?m\.?)?)?", core.strip())
    if bare is None:
        return core
    clock = bare.group(1)
    start = rf"(?<![\w.:,£$€]){re.escape(clock)}"
    said = re.search(start + _MERIDIEM_AFTER, line, re.IGNORECASE)
    places = list(re.finditer(rf"{start}(?![\w:]|[.,]\d){_MERIDIEM_AFTER}?", text, re.IGNORECASE))
    marks = {(p.group(2) or "").lower() for p in places}
    letter = said.group(2).lower() if said else marks.pop() if len(marks) == 1 else ""
    written = next((p for p in places if (p.group(2) or "").lower() == letter and letter), None)
    return clock + written.group(1) if written else core


_NO_NAME_WORDS = frozenset("answer maybe perhaps probably possibly likely yes no it's its".split())


def _a_names_word(word: str) -> bool:
    """Whether a reply's `word` may be a word of a name: capitalised, no stop word, title or hedge ("Rui" of
    "Rui Lopez"; not "Probably", "Mrs")."""
    lowered = word.lower()
    return (
        word[:1].isupper()
        and lowered not in STOPWORDS
        and lowered not in _NAME_TITLES
        and lowered not in _NO_NAME_WORDS
        and not lowered.endswith("ly")
    )


def _a_clocks_half(piece: list[str]) -> bool:
    """Whether `piece` ends in "am"/"pm" after an hour ("10 am"): a stop word ("I am") that is here half a time."""
    return len(piece) >= 2 and piece[-1].lower() in ("am", "pm") and bool(re.fullmatch(r"\d{1,2}", piece[-2]))


def _an_hour_at(core: str, text: str, query: str) -> bool:
    """Whether `core`, a bare hour ("10"), answers a "what time" question (`_ASKS_CLOCK_TIME`) because `text` writes
    it as a time of day: after "at", "from", "until" ... and ending its phrase ("The meeting is at 10.": `_HOUR_AT`)."""
    if not _ASKS_CLOCK_TIME.search(query) or not re.fullmatch(r"(?:[01]?\d|2[0-3])", core.strip()):
        return False
    return any(re.search(rf"\s{core.strip()}$", m.group(0)) for m in _HOUR_AT.finditer(text))


_CLOCK_CLAUSE = re.compile(r"[.!?;,](?=\s|$)|\s(?=(?:and|but|while|whereas|then)\s)")
"""Where a clause ends for `_the_asked_events_clock`: a sentence's end, a semicolon or comma before a blank, or
before a joining word ("Doors open at 7pm and the show starts at 8pm")."""


def _the_asked_events_clock(core: str, text: str, query: str) -> bool:
    """For a "what time" question (`_ASKS_CLOCK_TIME`): whether the clock time `core` is the asked event's, by the
    clauses (`_CLOCK_CLAUSE`) of `text`: the clause that writes `core` must write more of the question's words
    (`search_terms`, "time" aside) than any other clause that writes a clock time ("The meeting is at 10. Lunch
    follows at 12:30." gives "What time is the meeting?" 10, never 12:30; "Pickup is at 2:30 for the morning group;
    the afternoon group ... at 5:15" gives the afternoon pickup neither, as which clause is its is a tie; audit 85
    v02). The question's subject (`_question_subject`), which the clauses share, is set aside first: the asked
    event's verb decides ("The pool opens at 7:00 and closes at 21:00" gives "What time does the pool close?"
    21:00, never 7:00; audit 86 v05), and all its words only when those name no clause. True for other questions,
    or when no other clause writes a clock."""
    if not _ASKS_CLOCK_TIME.search(query) or not core.strip():
        return True
    itself = {stem(w.lower()) for w in _WORD.findall(core)}
    asked = {stem(w) for t in search_terms(query) for w in _WORD.findall(t)} - itself - {"time"}
    cuts = [0, *(m.end() for m in _CLOCK_CLAUSE.finditer(text)), len(text)]
    place = re.compile(rf"(?<![\w.:]){re.escape(core.strip())}(?![\w:]|\.\d)", re.IGNORECASE)
    predicate = asked - _question_subject(query)
    verb = _subject_and_verb(query)[1]
    verbs = {stem(verb)} & predicate if verb else set()
    if verbs and _the_verbs_clock_in_its_sentence(place, text, cuts, verbs, predicate - verbs):
        return True
    for words in (predicate, asked) if predicate else (asked,):
        mine = 0
        others = [-1]
        held = False
        for start, end in pairwise(cuts):
            clause = text[start:end]
            overlap = len({stem(w.lower()) for w in _WORD.findall(clause)} & words)
            if place.search(clause):
                held = True
                mine = max(mine, overlap)
            elif _CLOCK.search(clause) or _HOUR_AT.search(clause):
                others.append(overlap)
        if not held or mine > max(others):
            return True
        if mine > 0 or max(others) > 0:
            return False  # the asked event's verb names another clause, or ties
    return False


def _said_of_the_asked(core: str, text: str, query: str) -> bool:
    """Whether a sentence of `text` that writes `core` also writes a word of the question (`search_terms`, the
    degree word aside): "Water the plants twice a week. Feed them every month." says "every month" of feeding only.
    The words of `core` itself, and the parts of a name it is ("error" of `DatabaseError`), tie no sentence to the
    question. True for a one-sentence text, or when `core` is not written as whole words (nothing to tell)."""
    sentences = _sentence_spans(text)
    places = _places(core, text)
    if len(sentences) < 2 or not places:
        return True
    parts = [p for w in _WORD.findall(core) for chunk in w.split("_") for p in _NAME_PART.findall(chunk)]
    itself = {stem(w.lower()) for w in _WORD.findall(core) + parts}
    asked = {stem(w) for t in search_terms(query) for w in _WORD.findall(t)} - itself
    words = _WORD.findall(_HOW_DEGREE.sub(" ", query))
    compound = _compound_parts(words, text)  # "job" of "the backup job" (review 84c v03)
    verbs = {
        stem(w)
        for i, w in enumerate(words)
        if i > 0
        and w.islower()
        and w not in ENGLISH_STOPWORDS
        and words[i - 1].lower() not in _NOUN_BEFORE
        and i not in compound
    } & asked  # "feed" of "How often should I feed the plants?", never "plants"
    said: list[set[str]] = []
    written: list[set[str]] = []
    for _, _, sentence in sentences:
        own = {stem(w) for w in _WORD.findall(sentence.lower())}
        written.append(set(own))
        opening = _WORD.findall(sentence)[:1]
        if said and opening and opening[0].lower() in _PRONOUN_SUBJECT:
            # "The course starts in May. It meets twice a week.": the same subject, but its own verb ("The backup
            # runs nightly. It is checked weekly." says how often it is checked, not run: review 84 H)
            own |= said[-1] - verbs
        said.append(own)
    verbs = {v for v in verbs if any(v in own for own in written)}  # a verb the text writes somewhere
    for place in places:
        for (start, end, _), own, its_own in zip(sentences, said, written, strict=True):
            if start <= place.start() < end and own & asked and verbs <= its_own:
                return True
    return False


_QUANTITY = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*\s*[A-Za-z]+")
"""A number with the word after it: "3 days", "250 ml", "2.5kg"."""
_CLAUSE_BREAK = re.compile(r"[,;]|\b(?:and|but|or|while|whereas)\b")
_QUESTION_DETERMINERS = frozenset("the a an this that these those my our your his her its their".split())


_SUBJECT_AUXILIARIES = frozenset(
    "do does did can could will would should shall may might must is are was were has have had".split()
)
_SUBJECT_BE = frozenset("is are was were".split())


def _the_verbs_clock_in_its_sentence(
    place: re.Pattern[str], text: str, cuts: list[int], verbs: set[str], qualifiers: set[str]
) -> bool:
    """Whether the clause writing the clock (`place`) holds the asked event's verb and, with the question's other
    words counted over the clause's whole sentence (a qualifier ends a sentence but says it of both its clauses),
    outscores every other clause writing a clock: "The library opens at 10 am and closes at 6 pm on weekdays. On
    Saturdays it opens at 9 am." gives "What time does the library open on weekdays?" 10 am (the Saturday clause
    has the verb, the closing clause the qualifier; only the first has both)."""
    ends = [0, *(m.end() for m in re.finditer(r"[.!?](?=\s|$)", text)), len(text)]
    mine, others = -1, [0]
    for start, end in pairwise(cuts):
        clause = text[start:end]
        if not (place.search(clause) or _CLOCK.search(clause) or _HOUR_AT.search(clause)):
            continue
        sentence = next((text[a:b] for a, b in pairwise(ends) if a <= start < b), clause)
        has_verb = bool({stem(w.lower()) for w in _WORD.findall(clause)} & verbs)
        score = has_verb + len({stem(w.lower()) for w in _WORD.findall(sentence)} & qualifiers)
        if place.search(clause):
            mine = max(mine, score if has_verb else -1)
        else:
            others.append(score)
    return mine > max(others)


def _question_subject(query: str) -> set[str]:
    """The stems of the question's subject, which every clause about it shares and so ties no value to a verb: the
    words after its first auxiliary up to its verb ("applications" of "When do applications close?", "ana" of "Where
    does Ana live?", "cooked rice" of "How long can cooked rice be frozen?", "swimming pool" of "What time does the
    swimming pool close?"; audit 86 v04/v05): the run of content words after it (a determiner aside), less its last
    word when the question goes on in the active voice (that word is the verb) or, after "is"/"was", when that
    word reads as a participle ("Where was Ana born?"). Else the word after the question's first determiner
    ("garden" of "When does the garden close?"); empty when neither is found."""
    run, _ = _subject_and_verb(query)
    if run:
        return {stem(w) for w in run}
    words = [w.lower() for w in _WORD.findall(query)]
    subject = next((b for a, b in pairwise(words) if a in _QUESTION_DETERMINERS and b not in ENGLISH_STOPWORDS), None)
    return {stem(subject)} if subject is not None else set()


def _subject_and_verb(query: str) -> tuple[list[str], str | None]:
    """The words of the question's subject after its first auxiliary (`_question_subject`), and its active verb
    when it has one ("close" of "What time does the pool close?"; None after "is"/"was", or with no auxiliary)."""
    words = [w.lower() for w in _WORD.findall(query)]
    aux = next((i for i, w in enumerate(words) if w in _SUBJECT_AUXILIARIES), None)
    if aux is None:
        return [], None
    at = aux + 1
    if at < len(words) and words[at] in _QUESTION_DETERMINERS:
        at += 1
    run = []
    while at < len(words) and words[at] not in ENGLISH_STOPWORDS and not words[at][:1].isdigit():
        run.append(words[at])
        at += 1
    stopped = words[at] if at < len(words) else ""
    verb = None
    if words[aux] in _SUBJECT_BE:
        if len(run) > 1 and _a_participle(run[-1]):
            run = run[:-1]
    elif stopped not in ("be", "been", "being", "get", "got") and run:
        run, verb = run[:-1], run[-1]  # the active verb ("close" of "applications close")
    return run, verb


def _stem_matches(asked: str, written: str) -> bool:
    """Whether a text word's stem `written` says the question word's stem `asked`: the same, or `asked` (4 letters or
    more) opening it ("freez" of "freezer")."""
    return written == asked or (len(asked) >= 4 and written.startswith(asked))


def _quantity_of_its_clause(core: str, text: str, query: str) -> bool | None:
    """Whether `core`, a quantity ("3 days"), is the one of its sentence whose clause (the words between `,` `;`,
    "and", "but", "or") says what the question asks, when another clause of that sentence writes another quantity:
    "the soup keeps in the fridge for 3 days and freezes well for up to 3 months" answers "How long can the soup
    be frozen?" with "3 months" (audit 85b F3). A clause is scored by the question's words less its subject
    (`_question_subject`: "soup", "cooked rice", which the clauses share), else by all of them; a word matches a
    clause word with its stem as a prefix ("freez" of "freezer"). False when a rival's clause scores as high or
    higher; True when its clause scores higher than every rival's (the clauses settle it, whatever other numbers
    stand nearer the question's words: `_best_placed_number`); None when `core` is no quantity or no sentence
    writes it beside another."""
    mine = _QUANTITY.search(core)
    if mine is None:
        return None
    words = [w.lower() for w in _WORD.findall(_HOW_DEGREE.sub(" ", query))]
    content = [w for w in words if w not in ENGLISH_STOPWORDS and not w[:1].isdigit()]
    everything = {stem(w) for w in content}
    predicate = everything - _question_subject(query)

    def score(clause: str, asked: set[str]) -> int:
        own = [stem(w.lower()) for w in _WORD.findall(clause)]
        return sum(1 for a in asked if any(_stem_matches(a, o) for o in own))

    said = " ".join(mine.group().lower().split())
    degree = _degree_units(query) or frozenset()  # a rival of the asked degree: "3 months", never "20 July"
    chosen = None
    for sentence in _SENTENCE_END.split(text):
        clauses = _CLAUSE_BREAK.split(sentence)
        found = [(i, " ".join(q.group().lower().split())) for i, c in enumerate(clauses) for q in _QUANTITY.finditer(c)]
        home = next((i for i, q in found if q == said), None)
        rivals = {
            i for i, q in found if q not in core.lower() and i != home and q.lstrip("0123456789.,").strip() in degree
        }
        if home is None or not rivals:
            continue
        for asked in (predicate, everything) if predicate else (everything,):
            top = max(score(clauses[i], asked) for i in rivals)
            if score(clauses[home], asked) > top:
                chosen = True
                break
            if top > 0 or asked is everything:
                return False
    return chosen


def _the_asked_mention_of_its_month(core: str, text: str, query: str) -> bool:
    """Whether `core`, a date with its month's name ("3 June", "June 3, 2025"), is of all the mentions of that month
    in `text` the one nearest a word of the question (`search_terms`), counted in words within one sentence: "We
    arrive on 3 June and leave in June" says when we leave with the bare "June", and "Rent is due on 1 May. We move
    out at the end of May." with "the end of May". A mention in a date the text calls old is none (audit 88b v01). A
    tie, or no mention near any, is no answer. True for any other core, or a month the text names once."""
    month = re.search(_MONTH, core.strip(), re.I)
    if month is None or not (_YEARLESS_DATE.fullmatch(core.strip()) or _DATE.fullmatch(core.strip())):
        return True
    key = month.group(0)[:3].lower()
    own = [(p.start(), p.end()) for p in _places(core, text)]
    mentions = [
        m for m in re.finditer(rf"\b{_MONTH}", text) if m.group(0)[:3].lower() == key and m.group(0)[0].isupper()
    ]  # ("May", never the verb "may")
    others = [m for m in mentions if not any(a <= m.start() < b for a, b in own)]
    # a date the text calls old is no rival: "no longer planned for June 3 ... pushed from June 3 to June 17"
    old = [
        (d.start(), d.end())
        for p in (_YEARLESS_DATE, _DATE)
        for d in p.finditer(text)
        if _said_to_be_old(d.group(), text, query)
    ]
    others = [m for m in others if not any(a <= m.start() < b for a, b in old)]
    if not own or not others:
        return True
    asked = {stem(w) for t in search_terms(query) for w in _WORD.findall(t)}
    words = list(_WORD.finditer(text))
    sentence_of = [next(i for i, (_, e, _) in enumerate(_sentence_spans(text)) if w.start() <= e) for w in words]
    held = [i for i, w in enumerate(words) if stem(w.group(0).lower()) in asked]

    def distance(start: int, end: int) -> float:
        inside = [i for i, w in enumerate(words) if start <= w.start() < end]
        if not inside:
            return float("inf")
        near = [  # a time follows its verb: a mention before the word is half a word further ("leave on 9 June")
            min(abs(h - inside[0]), abs(h - inside[-1])) + (0.5 if inside[-1] < h else 0.0)
            for h in held
            if sentence_of[h] == sentence_of[inside[0]] and h not in inside
        ]
        return min(near, default=float("inf"))

    mine = min(distance(a, b) for a, b in own)
    return mine < float("inf") and all(mine < distance(m.start(), m.end()) for m in others)


_CLAUSE_JOIN = re.compile(r"\s*;\s*|,?\s+(?:and|but|while|whereas|then)\s+", re.IGNORECASE)
"""Where a sentence joins two clauses that may each have their own verb ("opens on April 1 and closes on October
31", "arrives at 9; departs at 10")."""


def _value_shape(text: str) -> str:
    """ "number" for a value with a digit or a number word, "name" for a capitalised one, else "word"."""
    words = _WORD.findall(text)
    if re.search(r"\d", text) or any(w.lower() in NUMBER_WORDS for w in words):
        return "number"
    return "name" if words and words[0][:1].isupper() else "word"


def _tied_to_another_verb(core: str, text: str, query: str) -> bool:
    """Whether `core` is said, in every sentence of `text` that writes it, in a clause that ties it to none of the
    question's words (`search_terms`) - no such word is the last content word before it, nor follows it in the
    clause ("7 when the stove failed") - while another clause of that sentence writes one of them followed by a
    value of the same shape (`_value_shape`): "April 1" of "The garden opens on April 1 and closes on October 31"
    for "When does the garden close?" is the opening's date (audit 85 F2). Clauses are joined by "and", "but",
    "while", "whereas", "then" or a semicolon."""
    asked = {stem(w) for t in search_terms(query) for w in _WORD.findall(t.lower())}
    # the question's subject ("garden" of "the garden"), which every clause about it shares, ties no value to a verb
    predicate = asked - _question_subject(query)  # "Ana" of "Where does Ana live?" (audit 86 v04)
    shape = _value_shape(core)
    if shape == "word":
        return False
    seen = False
    sentences = [""]
    for _, _, piece in _sentence_spans(text):  # a semicolon joins clauses of one sentence, whatever cuts there
        sentences[-1] += (" " if sentences[-1] else "") + piece
        if not piece.rstrip().endswith(";"):
            sentences.append("")
    for sentence in sentences:
        places = _places(core, sentence)
        if not places:
            continue
        seen = True
        if re.search(r";\s*[\w-]+(?: [\w-]+){0,2}:\s", sentence):
            return False  # "alpha_3: TWD; name: New Taiwan Dollar": labelled fields, no clauses
        cuts = [0, *(p for m in _CLAUSE_JOIN.finditer(sentence) for p in (m.start(), m.end())), len(sentence)]
        clauses = list(zip(cuts[::2], cuts[1::2], strict=True))
        if len(clauses) < 2:
            return False
        for place in places:
            own = next((c for c in clauses if c[0] <= place.start() < c[1]), None)
            if own is None:
                return False
            before = [w for w in _WORD.findall(sentence[own[0] : place.start()]) if w.lower() not in ENGLISH_STOPWORDS]
            after = _WORD.findall(sentence[place.end() : own[1]])
            if (
                (before and _says_asked(before[-1], asked))
                or any(_says_asked(w, predicate) for w in before)
                or any(_says_asked(w, asked) for w in after)
            ):
                return False  # "closes on October 31", "freezes well for up to 2 months": the asked verb's own value
            tied = False
            for start, end in clauses:
                if (start, end) == own:
                    continue
                words = [w for w in _WORD.findall(sentence[start:end]) if w.lower() not in ENGLISH_STOPWORDS]
                for at, word in enumerate(words[:-1]):
                    tied = tied or (
                        _says_asked(word, asked) and _value_shape(" ".join(words[at + 1 : at + 4])) == shape
                    )
            if not tied:
                return False
    return seen


def _says_asked(word: str, asked: set[str]) -> bool:
    """Whether a text word says one of the question words' stems `asked` (`_stem_matches`: "freezes" for "frozen")."""
    written = stem(word.lower())
    period = _PERIOD_BY_STEM.get(written)  # "per day" says the question's "daily" (review 87 v15)
    return any(_stem_matches(a, written) or (period and _PERIOD_BY_STEM.get(a) == period) for a in asked)


def _places(core: str, text: str) -> list[re.Match[str]]:
    """Where the unit writes `core` as whole words (case-insensitive)."""
    return list(re.finditer(rf"(?<!\w){re.escape(core)}(?!\w)", text, re.IGNORECASE))


_ARTICLES = r"(?:\s+(?:the|a|an|our|its|their|his|her|my|your))?"
_OLD_BEFORE = re.compile(
    r"(?i)(?:\bno\s+longer(?:\s+[\w-]+){0,4}"
    r"|\b(?:not|never)(?:\s+(?:at|in|on|to|for|from|by|with|the|a|an|our|its|their|his|her))*"
    r"|\b(?:instead\s+of|rather\s+than|in\s+place\s+of|replacing|replaces|replaced|succeeding|succeeds|formerly|"
    r"(?:tak(?:e|es|ing|en)|took)\s+over\s+from|(?:hand(?:s|ed|ing)?|switch(?:es|ed|ing)?)\s+over\s+from)"
    + _ARTICLES
    + r"|\b(?:mov(?:e|es|ed|ing)|chang(?:e|es|ed|ing)|postpon(?:e|es|ed|ing)|reschedul(?:e|es|ed|ing)|"
    r"push(?:es|ed|ing)?|shift(?:s|ed|ing)?|delay(?:s|ed|ing)?|brought|bring(?:s|ing)?|switch(?:es|ed|ing)?|migrat(?:e|es|ed|ing)|"
    r"relocat(?:e|es|ed|ing)|transfer(?:s|red|ring)?|renam(?:e|es|ed|ing)|upgrad(?:e|es|ed|ing)|"
    r"downgrad(?:e|es|ed|ing))\b[^.;!?\n]{0,60}?\bfrom" + _ARTICLES + r")\s*[\"'“‘(]?$"
)
"""The words before a value that say it is no longer so: "no longer planned for", "not at the", "(not", "instead
of", "taking over from", "moved from", "was changed ... from" (the value after "from" is the old one)."""
_AMOUNT_BEFORE = re.compile(
    r"(?i)\b(?:up|down|rose|fell|increased|decreased|raised|lowered|reduced|cut)\s+from"
    + _ARTICLES
    + r"(?:\s+(?:requested|original|planned|previous|old|initial))?\s*$"
)
"""... and before an amount: "down from the requested $52,000", "up from 40"."""
_OLD_AFTER = re.compile(
    r"(?i)^[\"'”’)]?\s*(?:(?:[^.;!?\n]{0,40}?\b(?:no\s+longer|any\s?more)\b)"
    r"|(?:is|are|was|were|has\s+been|have\s+been|had\s+been|will\s+be|got|gets)\s+(?:now\s+)?(?:replaced|superseded|"
    r"dropped|retired|deprecated|abandoned|scrapped|cancell?ed)\b"
    r"|(?:\s*,)?\s*as\s+(?:originally|first|initially|previously)\s+(?:planned|scheduled|announced|reported|agreed|"
    r"stated|booked)"
    r"|(?:is\s+|are\s+|was\s+|will\s+be\s+)?hand(?:s|ed|ing)?\s+over(?:\s+[\w-]+){0,3}\s+to\b)"
)
_WAS_NOW = (re.compile(r"(?i)\b(?:was|were|used\s+to\s+be)\b"), re.compile(r"(?i)^\s*[,;]\s*(?:but\s+|and\s+)?now\b"))
"""A value between "was" and ", now" ("The fee was 45 EUR, now 50 EUR"): the old one."""
"""The words after a value that say it is no longer so: "elasticsearch is no longer used", "can't do 20 November
anymore", "was replaced", "not 30 November as originally planned", "Jonas is handing over to Ana"."""
_ASKS_THE_OLD = re.compile(
    r"(?i)\b(?:originally|original|previous(?:ly)?|old|older|former(?:ly)?|before|initially|initial|earlier|prior|"
    r"used\s+to|no\s+longer|any\s?more|requested|instead|replac\w*|from|not|never|n't)\b|n[’']t\b"
)
"""A question that asks for a former value ("What was the original date?", "Who ran it before?") or for what is
not so: a value the text calls old or denies may answer it."""


def _said_to_be_old(core: str, text: str, query: str, first: bool = False) -> bool:
    """Whether `text` writes `core` each time (or the `first` time) as a value that is no longer so: the old side
    of a change ("moved from March 21 to April 4", "is no longer planned for March 21", "was 45, now 50"), the
    former doer of a hand-over ("taking over from Jonas", "instead of Jonas", "Jonas is handing over to Ana"), or a
    value denied ("we meet at the café, not at the library", "3 failing tests (not 5)"). The new value, or a hedge,
    answers "When is it planned now?"; the old one never does (audit 88b v01, v05). A question that asks for the
    former value or the denied one (`_ASKS_THE_OLD`) passes."""
    if _ASKS_THE_OLD.search(query):
        return False
    inner = [m.group() for p in (_DATE, _A_DAY_OF_A_MONTH, _NUMERIC_DATE) for m in p.finditer(core)]
    if any(value.strip() != core.strip() and _said_to_be_old(value, text, query) for value in inner):
        return True  # "moved from March 21 to April" holds the old date whole, and the new one cut: no answer
    places = _places(core.strip(), text)
    if not places:
        return False

    def old(place: re.Match[str]) -> bool:
        before = text[max(0, place.start() - 120) : place.start()]
        before = re.split(r"[.!?;\n]\s|[:]\s", before)[-1]  # its own clause
        after = text[place.end() : place.end() + 80]
        if _OLD_BEFORE.search(before) or _OLD_AFTER.match(after):
            return True
        if _WAS_NOW[0].search(before) and _WAS_NOW[1].match(after):
            return True
        return bool(re.search(r"\d", core)) and _AMOUNT_BEFORE.search(before) is not None

    return old(places[0]) if first else all(old(place) for place in places)


_VALUE_NOUNS = frozenset(
    "password passcode passphrase passkey pin code combination username login serial token number figure price "
    "cost fee amount total balance reading".split()
)
"""Nouns whose value a text writes out ("The wifi password is hx7-blue"), and may instead say where to find."""
_PLACE_OF = re.compile(
    r"(?i)\b(?:is|are|was|were|'s|’s|be|kept|written|stuck|taped|pinned|left|found)\s+(?:on|in|inside|under|"
    r"underneath|behind|beside|near|at|by|next\s+to|on\s+top\s+of|in\s+front\s+of)\s+(?:the\s+|a\s+|an\s+|"
    r"my\s+|our\s+|your\s+|his\s+|her\s+|their\s+)?$"
)
"""The words before a place that a value's line gives instead of the value: "is on the ", "is kept in a "."""


def _the_place_of_the_value(core: str, text: str, query: str) -> bool:
    """Whether `core` is only where the asked value is: the question asks what a value noun (`_VALUE_NOUNS`:
    password, code, number, price, ...) is, not where, and every place `text` writes `core` follows that noun
    and a place phrase (`_PLACE_OF`): "What is the wifi password?" over "The wifi password is on the fridge."
    is not answered "fridge" (audit 85b F4). A comparison before a number ("The price is under £20") is no place."""
    if re.search(r"(?i)\b(?:where|location|place|located|kept|stored|find)\b", query):
        return False
    asked = {w.lower() for w in _WORD.findall(query)} & _VALUE_NOUNS
    places = _places(core, text)
    if not asked or not places:
        return False
    for place in places:
        before = text[max(0, place.start() - 60) : place.start()]
        lead = _PLACE_OF.search(before)
        if lead is None or (re.match(r"[£$€]?\d", core) and re.search(r"(?i)\b(?:under|at|by)\s+$", lead.group())):
            return False
        noun = _WORD.findall(before[: lead.start()])[-1:]
        if not noun or noun[0].lower() not in asked:
            return False
    return True


_DEMONSTRATIVE = re.compile(r"\b(?:this|that|these|those|such|said)\s+$", re.IGNORECASE)
_ASKS_A_COMMAND = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:command|program|tool|utility)\b", re.IGNORECASE)


def _points_elsewhere(core: str, text: str) -> bool:
    """Whether `core` ends in a word written only after "this", "that", "such": a word that refers to what is named
    elsewhere ("files in SKEL matching this regex"), not the thing asked for."""
    if re.search(r"\b(?:this|that|these|those|such|said)\s+\S+$", core, re.IGNORECASE):
        return True
    if " " in core:
        return False
    places = _places(core, text)
    return bool(places) and all(_DEMONSTRATIVE.search(text, max(p.start() - 8, 0), p.start()) for p in places)


def _an_option(core: str, text: str) -> bool:
    """Whether `core` is a command-line option: it starts with "-", or the unit writes it only after one ("-p")."""
    if core.startswith("-"):
        return True
    places = _places(core, text)
    return bool(places) and all(
        re.search(r"(?:^|[\s`'\"(])--?$", text[max(p.start() - 3, 0) : p.start()]) for p in places
    )


def _in_an_asked_column(core: str, unit: dict[str, Any], query_stems: set[str], query: str) -> bool:
    """In a table's record, an answer is the value of a column the question names, when it names one whose value
    it does not already give ("the codename of version 10.04": codename; "the kernel version of Noble Numbat":
    version, which the release date is not). An empty cell of an asked column is such a column too: the row does
    not state it, and no other cell answers for it ("the release date of Forky" is not its created date)."""
    asked = _asked_cells(unit, query_stems, query)
    return not asked or any(core.lower() in value for value in asked)


def _asked_cells(unit: dict[str, Any], query_stems: set[str], query: str) -> list[str]:
    """The values, in a table's record, of the columns whose keys name most of the question (`_in_an_asked_column`);
    [] where it names none."""
    keys, values = unit.get("keys") or [], unit.get("fields") or []
    named = [
        (_key_naming(key, query_stems), value)
        for key, value in zip(keys, values, strict=False)
        if key and _key_naming(key, query_stems) and (not value.strip() or value not in query.lower())
    ]
    # the key naming most of the question ("armor class": `armor_class: 15`, not `class: Ranger`; audit 87c v01)
    most = max((n for n, _ in named), default=0)
    return [value for n, value in named if n == most]


def _key_naming(key: str, stems: set[str]) -> int:
    """How many of a key's words the question (its `stems`) names: its whole words', or, when the question names
    every part of a compound key ("armor class" of `armor_class` or `armorClass`), the parts' count; a part alone
    ("order" of `order_no` for "Who ordered ...?") names no key."""
    parts = {stem(part.lower()) for chunk in re.split(r"[\s_.-]+", key) for part in _NAME_PART.findall(chunk)}
    if len(parts) > 1 and parts <= stems:
        return len(parts)
    return len({stem(w) for w in _WORD.findall(key.lower())} & stems)


def _token_core(token: str) -> str:
    """A token of a reply without the quotes, brackets and sentence punctuation around it; a leading dot that
    starts a name stays (`".mime.types".` -> `.mime.types`)."""
    previous = None
    while token != previous:
        previous = token
        token = token.strip(_TOKEN_EDGES.replace(".", "")).rstrip(".")
        if token.startswith("..") or (token[:1] == "." and not token[1:2].isalnum()):  # an ellipsis, a stray dot
            token = token.lstrip(".")
    return token


def _whole_token(core: str, line: str, text: str, query: str) -> str:
    """`core` grown to the whole token of the reply that holds it, when the unit writes that token too and it is
    an identifier, a path or a version ("/usr/local", "LCK..ttyS0", "libc6-dev"), not words of the question: the
    reply's words are cut at punctuation, which such tokens hold."""
    if " " in core:
        return core
    for token in line.split():
        whole = _token_core(token)
        if len(whole) <= len(core) or core.lower() not in whole.lower() or not _IDENTIFIER.fullmatch(whole):
            continue
        if re.search(rf"(?<![\w./~-]){re.escape(whole)}(?![\w/~-])", query, flags=re.IGNORECASE):
            continue  # the question's own token (not "-t" inside its "pseudo-terminal")
        found = re.search(rf"(?<![\w./~-]){re.escape(whole)}(?![\w/~-])", text, flags=re.IGNORECASE)
        if found:
            return found.group(0)
    return core


def _only_a_label(core: str, text: str) -> bool:
    """Whether every place the unit writes `core`'s number it is a label ("#13", "No. 4"), not a quantity."""
    number = re.search(r"\d+(?:[.,]\d+)*", core)
    if number is None:
        return False
    places = list(re.finditer(rf"(?<![\w.,]){re.escape(number.group(0))}(?![\w])", text))
    return bool(places) and all(re.search(r"(?:#|\b(?:No|Nr|no)\.?)\s?$", text[: p.start()]) for p in places)


_FULL_NUMBER = re.compile(r"(?<!\w)(?<!\d[.,:])\d+(?:[.,:]\d+)*(?!\w)")
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|\w+(?:[-'’]\w+)*")
_NEAR = 4
"""Words each side of a number that tell what it counts (`_best_placed_number`)."""


def _whole_numbers(core: str, text: str) -> str | None:
    """`core` with each number in it as the unit writes it whole: a reply's "3" is the unit's "3.8" when that is
    the only number the unit writes with "3" as a part (version 3.8, 3,500, 10:30); None when there are several
    (the reply's part says no more than "one of these"). Numbers the unit also writes on their own stay."""
    whole = set(_FULL_NUMBER.findall(text))
    for part in _FULL_NUMBER.findall(core):  # numbers standing alone: "libc6" and "ttyS0" hold none
        if part in whole:
            continue
        longer = {n for n in whole if re.search(rf"(?<!\d){re.escape(part)}(?!\d)", n)}
        if len(longer) != 1:
            return None
        core = re.sub(rf"(?<![\d.,:]){re.escape(part)}(?![\d])", longer.pop(), core, count=1)
    return core


_NUMBER_GROUP = re.compile(
    r"\(\s*-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?)+\s*\)"  # a tuple: "(80, 24)", "(0, 0, 255)"
    r"|(?<![\w.])\d+(?:\.\d+)?\s?[x×]\s?\d+(?:\.\d+)?(?![\w.])"  # a size: "80x24", "1920 x 1080"
)
_UNIT_SIGN = re.compile(r"%|‰|°[CF]?(?![A-Za-z])")
"""A sign written right after a number that is part of its value: "0.015%" is not the ratio 0.015."""


_LABELS = re.compile(r"\(\s*([A-Za-z][\w-]*(?:\s*,\s*[A-Za-z][\w-]*)+)\s*\)")
"""Names that label a group of numbers, one each: "margins (top, bottom) default to (10, 25)"."""


def _labelled_member(text: str, query: str) -> str | None:
    """The number a question names by its label, where one sentence of `text` labels a tuple of numbers with a
    tuple of names of the same length: "height" in "The window size (width, height) defaults to (640, 480)" is 480.
    None when no sentence does, or the question names no label or more than one."""
    asked = {stem(w) for w in _WORD.findall(query.lower())}
    members: set[str] = set()
    for sentence in _SENTENCE_END.split(text):
        names = [[w.strip().lower() for w in m.group(1).split(",")] for m in _LABELS.finditer(sentence)]
        numbers = [[n.strip() for n in m.group(0).strip("() \t").split(",")] for m in _NUMBER_GROUP.finditer(sentence)]
        for labels in names:
            named = [i for i, label in enumerate(labels) if stem(label) in asked]
            tuples = [group for group in numbers if len(group) == len(labels)]
            if len(named) == 1 and len(tuples) == 1:
                members.add(tuples[0][named[0]])
    return members.pop() if len(members) == 1 else None


def _whole_group(core: str, text: str, query: str = "") -> str | None:
    """`core`, when it is one number that the unit writes only inside a group of numbers that is one value (a
    tuple "(80, 24)", a size "80x24"), grown to that group: the reply's "80" says half of it. None when the unit
    writes it in several different groups; `core` itself when the unit also writes it alone, or it is no number."""
    if not _FULL_NUMBER.fullmatch(core):
        return core
    number = rf"(?<![\w.,]){re.escape(core)}(?![\w]|[.,]\d)"
    places = [m.start() for m in re.finditer(number, text)]
    groups = [m for m in _NUMBER_GROUP.finditer(text) if re.search(number, m.group(0))]
    inside = {p for p in places for g in groups if g.start() <= p < g.end()}
    if not places or len(inside) < len(places):
        return core
    asked = {w.lower() for w in _WORD.findall(query)}
    labels = {w.strip().lower() for m in _LABELS.finditer(text) for w in m.group(1).split(",")}
    if labels & asked:  # "the bottom margin" names one member of "(top, bottom)": that member, not the pair
        member = _labelled_member(text, query)
        return core if member in (None, core) else None  # "10" for the bottom of "(10, 25)" is the top's
    written = {" ".join(g.group(0).split()) for g in groups}
    return written.pop() if len(written) == 1 else None


_A_MINUS = re.compile(r"(?<![\w.,])([-−–])([£$€¥₹]?)\Z")
"""A minus sign that opens a number's token, a currency sign maybe after it ('-4', '−9', '-£20'): not a dash after
a digit or a letter ('10-15', 'COVID-19', '2024-03-14'), nor one spaced from the number ('Oil - £45')."""


_A_CLOCK = re.compile(r"(?i)\d{1,2}(?::\d{2}(?::\d{2})?\b|(?:[:.]\d{2})?\s?[ap]\.?m\b)")
"""A time of day ("10:30", "9.30am", "2 pm"): a dash before it opens a list item or a range, never a minus."""


def _a_minus_at(text: str, start: int, end: int) -> re.Match[str] | None:
    """The minus sign `text` writes right before its number at `start` (to `end`), or None: none written, or a dash
    that opens a line, which marks a list's item ("-2 eggs" over "-300 ml milk"), where the number does not go on
    as a temperature ("-3°C") and the sign is no minus character ("−")."""
    sign = _A_MINUS.search(text[:start])
    if sign is None or sign.group(1) == "−" or "°" in text[start:end] or re.match(r"\s?°", text[end:]):
        return sign
    return None if not text[: sign.start()].rsplit("\n", 1)[-1].strip() else sign


def _with_its_minus(core: str, text: str, line: str) -> str:
    """`core`, a number the reply's words give bare, with the minus sign the unit writes right before it: the
    reply's words are cut at a sign, and a reader drops it, but "1°C" where the unit writes "High -1°C" is a warm
    day the text never gives (audit 88g v18-v20; `_A_MINUS`, a Unicode minus kept as written). The sign is added
    when every place the unit writes the number has it, or the reply writes it signed and one place does; `core`
    itself when the unit writes it bare too and the reply gives no sign. A clock time is never below zero, and a
    dash that opens a line is a list's mark ("-2 eggs", "-10:30 Keynote"), not a sign, but before a temperature
    ("-3°C") or as the minus character "−" (`_a_minus_at`, audit 88r v05, v06)."""
    if core[:1] in "-–" and re.match(r"[£$€¥₹]?\d", core[1:]):  # the reader copied the dash: is it a sign?
        bare = core[1:]
        number = rf"(?<![\w.,]){re.escape(bare)}(?![\w]|[.,]\d)"
        places = [p for p in re.finditer(number, text, re.IGNORECASE) if text[: p.start()].endswith(core[0])]
        marks = places and not any(_a_minus_at(text, p.start(), p.end()) for p in places)
        return bare if marks or (places and _A_CLOCK.match(bare)) else core
    if not re.match(r"[£$€¥₹]?\d", core) or _A_CLOCK.match(core):
        return core  # (called again once the number is whole, "35" grown to "£35.50", and its currency found)
    number = rf"(?<![\w.,]){re.escape(core)}(?![\w]|[.,]\d)"
    signs = [_a_minus_at(text, p.start(), p.end()) for p in re.finditer(number, text, re.IGNORECASE)]
    written = {m.group(0) for m in signs if m is not None}
    said = any(_A_MINUS.search(line[: p.start()]) for p in re.finditer(number, line, re.IGNORECASE))
    if len(written) != 1 or (None in signs and not said):
        return core
    return written.pop() + core


def _with_its_sign(core: str, text: str) -> str:
    """`core` with the sign the unit writes right after its closing number every time ("0.015" -> "0.015%",
    "60-70" -> "60-70%", "21" -> "21°C"), or the currency it writes right before its opening number every time
    ("12,500" -> "$12,500", "900 a month" -> "€900 a month"); `core` itself when the unit writes the number bare
    anywhere, or with different signs."""
    places = list(re.finditer(rf"(?<![\w.,]){re.escape(core)}(?![\w]|[.,]\d)", text, re.IGNORECASE))
    if core[:1].isdigit() and places:
        # a currency written before the amount every time ("$12,500", "€900"): the sign is part of the answer
        before = {text[max(p.start() - 2, 0) : p.start()] for p in places}
        currencies = {b[-1] for b in before if _AFTER_A_CURRENCY.search(b + core[:1])}
        if len(currencies) == 1 and len(before) == len({b for b in before if b[-1:] in currencies}):
            return currencies.pop() + core
        if all(re.search(r"(?:^|[\s(])\+$", b) for b in before):
            return "+" + core  # "+420 601 234 567": an international prefix (or a sign) is part of the number
    if not core[-1:].isdigit():
        return core
    signs = {(m := _UNIT_SIGN.match(text, p.end())) and m.group(0) for p in places}
    if len(signs) != 1 or None in signs:
        return core
    return core + str(signs.pop())


def _is_number_word(token: str) -> bool:
    return token[:1].isdigit() or all(part in NUMBER_WORDS for part in token.split("-"))


def _number_runs(tokens: list[str]) -> list[tuple[int, int, str]]:
    """Each run of number tokens ("3.8", "forty", "three hundred and fifty"): its start, end and value."""
    runs: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        if not _is_number_word(tokens[i]):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and (
            _is_number_word(tokens[j])
            or (tokens[j] == "and" and j + 1 < len(tokens) and _is_number_word(tokens[j + 1]))
        ):
            j += 1
        runs.append((i, j, " ".join(tokens[i:j])))
        i = j
    return runs


def _best_placed_number(core: str, text: str, query: str) -> bool:
    """For a "how many" question: the reply's number is the one the unit places best, i.e. with more of the
    question's words within `_NEAR` words of it than any other number of the unit has (the question's own numbers
    aside). "How many days and nights did it rain?" over "For yet seven days, and I will cause it to rain upon the
    earth forty days and forty nights" is forty (rain, earth, days, nights), not seven (days). A tie is no
    answer; a unit with one number, or a reply whose number the unit does not hold as one, passes."""
    tokens = _NUMBER_TOKEN.findall(text.lower())
    asked = {t for t in _NUMBER_TOKEN.findall(query.lower()) if _is_number_word(t)}
    runs = [r for r in _number_runs(tokens) if r[2] not in asked]
    degree = _degree_units(query)
    if degree is not None:  # "How long does the walk take?": "3 km" is no rival of "45 minutes" (audit 83 E)
        runs = [r for r in runs if set(tokens[r[1] : r[1] + 2]) & degree]
    values = {value for _, _, value in runs}
    own = _number_runs(_NUMBER_TOKEN.findall(core.lower()))
    if len(values) < 2 or not own or own[0][2] not in values:
        return True
    mine = own[0][2]
    question = {stem(w) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS and not _is_number_word(w)}
    best: dict[str, int] = {}
    for start, end, value in runs:
        near = tokens[max(0, start - _NEAR) : start] + tokens[end : end + _NEAR]
        best[value] = max(best.get(value, 0), len({stem(w) for w in near} & question))
    return all(best[mine] > score for value, score in best.items() if value != mine)


_CLAUSE_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|\w+(?:[-'’]\w+)*|[,;:()]")
_NEGATIONS = frozenset("no not nor never none without".split())
"""Stop words that tell one clause from another ("1 if no lines were selected" against "0 if a line is")."""
_CLAUSE_OPENERS = frozenset("if when whenever unless once while for on in with without after before during".split())
_CLAUSE_CLOSERS = frozenset(", ; : ( ) and or".split())


_AN_AMOUNTS_NUMBER = re.compile(r"(?:[£$€¥₹]\s?|[A-Z]{3}\s)?(\d+(?:[.,:]\d+)*)")
"""A number alone, or a sum of money's: its currency sign or code before it ("$1,900", "EUR 400"); group 1 is the
number as a clause's token writes it."""


def _number_of_its_clause(core: str, text: str, query: str) -> bool:
    """Whether `core`, a number, is the one whose clause holds most of the question's words, in each sentence of
    the unit that writes it among other numbers: in "the exit status is 0 if a line is selected, 1 if no lines
    were selected, and 2 if an error occurred", "no lines were selected" is 1's clause, not 2's. A number's
    clause is the words up to the next number ("N if ...", when every number of the sentence is followed by
    such a word) or from the number before it ("... N,", when every number ends its clause); when the sentence
    shows neither shape, both readings must name `core`, but for one whose clauses hold none of the question's
    words (audit 88b v04: "The cloud bill for February was $17,240, which is $1,900 over forecast": the words before
    each number name the bill's, those after name nothing asked). A sum of money is its number ("$1,900", "EUR
    400"), unless the question names a rate or a bound, which `_tied_to_the_asked` reads. A sentence with one
    number, or an answer that is no number (a per cent, a measure), passes."""
    amount = _AN_AMOUNTS_NUMBER.fullmatch(core.strip())
    if amount is None:
        return True
    rated = _PER_ASKED.search(query) or _PERIOD_ADJECTIVE.search(query)
    if amount.group(1) != core.strip() and (rated or any(asking.search(query) for _, asking in _ASKED_BOUNDS)):
        return True  # "the yearly price", "the maximum fee": the rate or bound an amount is written with says which
    core = amount.group(1)
    question = {
        stem(w)
        for w in _WORD.findall(query.lower())
        if (w not in ENGLISH_STOPWORDS or w in _NEGATIONS) and not w[:1].isdigit()
    }
    asked = set(_FULL_NUMBER.findall(query))
    for sentence in _SENTENCE_END.split(text):
        member = _labelled_member(sentence, query)
        if member is not None and core in _FULL_NUMBER.findall(sentence):
            return core == member  # "(width, height) ... (640, 480)": the label, not the clause, says which
        tokens = _CLAUSE_TOKEN.findall(sentence.lower())
        places = [i for i, t in enumerate(tokens) if t[:1].isdigit() and t not in asked]
        values = {tokens[i] for i in places}
        if core not in values:
            continue
        if len(values) < 2:
            return True

        def score(part: list[str]) -> int:
            return len({stem(w) for w in part} & question)

        ends = [*places[1:], len(tokens)]
        starts = [0, *(p + 1 for p in places[:-1])]
        after = [(tokens[p], score(tokens[p + 1 : e])) for p, e in zip(places, ends, strict=True)]
        before = [(tokens[p], score(tokens[b:p])) for p, b in zip(places, starts, strict=True)]
        following = [tokens[p + 1] if p + 1 < len(tokens) else "," for p in places]
        if all(t in _CLAUSE_OPENERS for t in following):
            readings = [after]
        elif all(t in _CLAUSE_CLOSERS for t in following):
            readings = [before]
        else:
            readings = [after, before]
        # a reading whose clauses hold none of the question's words abstains; one that ties two numbers does not
        bests = [_sole_best(reading) for reading in readings if any(score for _, score in reading)]
        if bests and all(best == core for best in bests):
            return True
    return False


def _sole_best(scores: list[tuple[str, int]]) -> str | None:
    """The value with the highest score, when one value alone has it and it is above 0."""
    top = max(score for _, score in scores)
    winners = {value for value, score in scores if score == top}
    return winners.pop() if top > 0 and len(winners) == 1 else None


_AUXILIARIES = frozenset(
    "is was are were be been am do does did has have had will would can could shall should may might must".split()
)


_NO_DOERS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight noon midnight
    weekend january february march july september october november december christmas easter""".split()
)
"""Capitalised words that name a time, never who did something ("fixed by Tuesday", "done by March"); months that
are also given names (April, May, June, August) are not among them."""
_DOER_NOUNS = frozenset(
    "author authors maintainer maintainers developer developers company companies organization organisation vendor "
    "publisher manufacturer maker team group person people creator owner sponsor".split()
)


def _only_a_doer(core: str, text: str, query_stems: set[str], query: str) -> bool:
    """Whether the unit writes `core` only as the doer of a passive ("Written by Lena Park") whose verb the question
    does not ask about, while the question asks for no doer (no "by", no "author", "company", ...): such a name
    answers "Who wrote it?", never "What license is it under?" (audit 82b F7, where two readings agreed on it).
    The passive's verb asked excuses the doer only in a who-question: "What is fastgrep written in?" asks a
    language, never the "written by Lena Ortiz" (audit 83 H). A time after "by" is a deadline, no doer: "due by 30
    April" answers "When is the invoice due?" (and "by Friday", "by March")."""
    words = {w.lower() for w in _WORD.findall(query)}
    if "by" in words or words & _DOER_NOUNS or _names_a_time(core):
        return False
    asks_who = bool(words & {"who", "whom", "whose"})
    places = list(re.finditer(rf"(?<![\w]){re.escape(core)}(?![\w])", text, re.IGNORECASE))
    if not places:
        return False
    for place in places:
        before = _WORD.findall(text[: place.start()])[-2:]
        if not before or before[-1].lower() != "by":
            return False
        if asks_who and len(before) == 2 and stem(before[0]) in query_stems:
            return False
    return True


_MONTH_NAMES = frozenset(
    "january february march april may june july august september october november december".split()
)


_TIME_DETERMINERS = frozenset({"next", "last", "this", "the"})


def _a_bare_month_after_by(core: str, text: str) -> bool:
    """Whether `core` is one month's name that is also a given name ("April", "May", "June", "August") and `text`
    writes it after "by" with no surname after it ("The report was written by June."): "by" then more likely
    gives a deadline than a doer, and which it is stays a guess. "by June Carter" names her."""
    if core.strip().lower() not in _MONTH_NAMES:
        return False
    for place in re.finditer(rf"(?<!\w){re.escape(core.strip())}(?!\w)", text, re.IGNORECASE):
        before = _WORD.findall(text[: place.start()])[-1:]
        surname = re.match(r"[ \t]+[A-Z]", text[place.end() :])  # in the same sentence: "by May. The wall ..."
        if before and before[0].lower() == "by" and surname is None:
            return True
    return False


def _a_part_of_a_named_place(core: str, text: str, query: str) -> bool:
    """For a "where" question: whether `core` (capitalised words, no digit) is, wherever `text` writes it, the
    head or tail of a name that a capitalised word of the question goes on ("Centre" or "Lakeside" of "Lakeside
    Conference Centre, Leeds" for "Where is the conference?"): the place is the whole name, never a part of it.
    A title word beside it ("CEO John Smith") makes no such name."""
    if not re.match(r"(?i)\s*where\b", query) or re.search(r"\d", core):
        return False
    words = _WORD.findall(core)
    if not words or not all(w[:1].isupper() for w in words):
        return False
    asked = {stem(w.lower()) for w in _WORD.findall(query) if w.lower() not in ENGLISH_STOPWORDS}
    places = _places(core.strip(), text)
    if not places:
        return False

    def named(word: str | None) -> bool:
        if not word:
            return False
        return word[:1].isupper() and stem(word.lower()) in asked and word.lower() not in _TITLES

    for place in places:
        before = re.search(r"([A-Z][\w'’-]*)[ \t]+$", text[: place.start()])
        after = re.match(r"[ \t]+([A-Z][\w'’-]*)", text[place.end() :])
        if not (named(before and before.group(1)) or named(after and after.group(1))):
            return False
    return True


_DEADLINE_ASKED = re.compile(r"(?i)\b(?:by when|deadline|due|latest|last day|until|till|closing date)\b")


def _a_deadline_of_another_sentence(core: str, text: str, query: str) -> bool:
    """Whether the date `core` is, wherever `text` writes it, a deadline ("by 21 March", "by Friday 21 March")
    in a sentence that writes none of the question's words, `core`'s own aside: "When is the trip?" over "Mrs.
    Patel will lead the trip. If you would like to help, please tell the class teacher by 21 March." asks the
    trip's date, which the deadline of another act is not (audit 87c v02). False for a question that asks a
    deadline itself ("By when ...", "When is it due?"), for a one-sentence text and where `core` is not written
    whole."""
    if _DEADLINE_ASKED.search(query):
        return False
    sentences = _sentence_spans(text)
    places = _places(core.strip(), text)
    if len(sentences) < 2 or not places:
        return False
    itself = {stem(w.lower()) for w in _WORD.findall(core)}
    asked = {stem(w) for t in search_terms(query) for w in _WORD.findall(t.lower())} - itself
    if not asked:
        return False
    for place in places:
        before = text[: place.start()]
        if not re.search(r"(?i)\bby\s+(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:the\s+)?$", before):
            return False
        sentence = next((said for start, end, said in sentences if start <= place.start() < end), "")
        if {stem(w.lower()) for w in _WORD.findall(sentence)} & asked:
            return False
    return True


def _names_a_time(core: str) -> bool:
    """Whether `core` is a time rather than someone: it holds a digit ("30 April", "5 pm") or only time words
    ("Tuesday", "April", "next March")."""
    if re.search(r"\d", core):
        return True
    words = [w.lower() for w in _WORD.findall(core)]
    return bool(words) and all(w in _NO_DOERS or w in _MONTH_NAMES or w in _TIME_DETERMINERS for w in words)


def _asks_for_the_agent(query: str) -> bool:
    """ "Who wrote ...?" asks who did it: a reply's name introduced by "by" (a passive's agent) answers it. Not so
    "Who was it dedicated to?" or "Whom did she marry?", where "by" may introduce someone else."""
    match = re.match(r"\s*who\s+(\w+)", query.lower())
    return match is not None and match.group(1) not in _AUXILIARIES


def _in_a_field(span: str, fields: list[str]) -> bool:
    """`span` is a whole field, or a phrase inside one long (free-text) field."""
    span = " ".join(span.lower().split())
    if span in fields:
        return True
    return any(len(f.split()) > 6 and re.search(rf"(?<!\w){re.escape(span)}(?!\w)", f) for f in fields)


def _phrase_in(text: str, words: list[str]) -> str | None:
    """`words` as `text` writes them (its case and punctuation between them), or None."""
    pattern = r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)"
    match = re.search(pattern, text, flags=re.IGNORECASE)
    return match.group(0) if match else None


# --- counting and listing ----------------------------------------------------------------------------

_KINDS = {
    "line": "line",
    "lines": "line",
    "verse": "verse",
    "verses": "verse",
    "entry": "entry",
    "entries": "entry",
    "record": "line",
    "records": "line",
    "paragraph": "paragraph",
    "paragraphs": "paragraph",
    "stanza": "paragraph",
    "stanzas": "paragraph",
    "characters": "line",
    "character": "line",
    "definitions": "entry",
    "terms": "entry",
    "items": "unit",
    "units": "unit",
    "rows": "line",
    "passages": "unit",
}
_SCRIPT_RUN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+|[^\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
)
_GERMAN = frozenset(
    "der die das des dem den eine einer ist sind wie wer wann welche welcher welches lautet und heißt".split()
)
_FOREIGN = _GERMAN | frozenset(
    "le la les une est sont quel quelle quels quelles qui où quand comment du el los las qué cuál quién dónde".split()
)
_CAPS_RUN = re.compile(r"\b[A-Z][A-Z0-9-]*(?: [A-Z][A-Z0-9-]*)+\b")
_QUOTED = re.compile(r"[\"“«'‘]([^\"”»'’]{1,80})[\"”»'’]")


_LEADING = frozenset("a an the of in on with word words term name letter string phrase expression sequence".split())
_TRAILING = frozenset("in of the this text file document context bible lexicon book".split())


def _target(phrase: str) -> str:
    """What a counting question names: a quoted string, else the phrase less leading function words."""
    quoted = _QUOTED.search(phrase)
    if quoted:
        return quoted.group(1)
    words = [w for w in re.findall(r"[\w'’.+#/-]+", phrase.strip(" ?.!")) if w]
    while words and words[0].lower() in _LEADING:
        words.pop(0)
    while words and words[-1].lower() in _TRAILING:
        words.pop()
    return " ".join(words)


def _edge_target(phrase: str) -> str:
    """What a "begin/end with" question names, with the punctuation it writes ("Files:", "--", "#"): only the
    sentence's own final "?" (or "." after a word) goes, and function words around it ("with a", "in the file")."""
    quoted = _QUOTED.search(phrase)
    if quoted:
        return quoted.group(1)
    bare = phrase.strip().rstrip("?!").rstrip()
    if re.search(r"\w\.$", bare) and not re.search(r"\.\w+\.$", bare):  # "... with Files." (not "e.g.")
        bare = bare[:-1]
    words = [w.strip("`") for w in bare.split() if w.strip("`")]
    while words and words[0].lower() in _LEADING:
        words.pop(0)
    while len(words) > 1 and words[-1].lower() in _TRAILING:
        words.pop()
    return " ".join(words)


def _present_suffix(target: str, text: str) -> str:
    """`target`, or its longest ending that occurs in the text ("category Sc" -> "Sc"), when it does not occur."""
    words = target.split()
    for start in range(len(words)):
        candidate = " ".join(words[start:])
        if _occurrences(candidate, text[:2_000_000]) or _occurrences(candidate, text):
            return candidate
    return target


def _occurrences(needle: str, haystack: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack, flags=re.IGNORECASE))


def _pick(units: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    if kind == "unit":
        return units
    chosen = [u for u in units if u["kind"] == kind]
    return chosen or units


_WHOLE_TEXT = frozenset(
    "table text file document context list dataset data lexicon book csv json changelog manual page license "
    "glossary dictionary database log listing poem song story essay article".split()
)
"""What "how many rows are in the table" names: the whole text, not a word to look for."""
_A_PART = re.compile(
    r"(?i)\b(?:section|sections|heading|category|categories|group|groups|part|chapter|list|box|bag|folder|block)"
    r"\s*[?.!]*\s*$"
)
"""What "how many items are in the Kitchen section" names: a part of the text whose items are asked for, which
no item need mention (audit 83 F2: the mention count said 0)."""


_UNMODELLED = re.compile(
    r"(?i)(?<![\w-])(?:not|no|never|none|nor|neither|without|except|excluding|besides|unless)(?![\w-])|n['’]t\b"
    r"|\b(?:other than|apart from|rather than|instead of)\b"
    r"|\b(?:more|fewer|less|\w+er) than\b|\bas (?:many|much|\w+) as\b|\bexceed\w*"
    r"|\bat (?:least|most)\b|\bor (?:more|less|fewer|greater|higher|lower|above|below|over|under|better|worse)\b"
    r"|\d\+(?!\w)|\b(?:over|under|above|below|exceeding|between|within|up to)\s+\d|[<>≤≥]=?\s*\d"
)
"""What a code-computed rule does not model and must never drop: a negation ("not in group root", "does not
disable"), a comparison ("more than 1 link", "at least 3"), an exclusion ("other than bash"). A rule that matched the
rest of such a question would answer another question, so it steps aside (`unmodelled`)."""


def unmodelled(query: str) -> bool:
    """Whether `query` holds a negation, a comparison or an exclusion (`_UNMODELLED`), which no rule that answers by
    code (counts, row and cell lookups, option and changelog look-ups) reads: such a rule steps aside for the
    reader or the quoted passages, never answering what the question did not ask. A quoted phrase ('the word
    "not"') is a value, not a negation."""
    return _UNMODELLED.search(_QUOTED_IN_REPLY.sub(" ", query)) is not None


_CHECKLIST_ITEM = re.compile(r"^\s{0,8}(?:[-*+]|\d{1,3}[.)])\s+\[(?P<mark>[ xX✓✔-])\]\s+(?P<text>\S.*?)\s*$")
"""A Markdown task-list line (GitHub's syntax): '- [x] pay rent' (done), '- [ ] call bob' (open)."""
_DONE_WORDS = r"done|completed?|finished|checked(?:\s+off)?|ticked(?:\s+off)?|closed|crossed\s+off"
_OPEN_WORDS = (
    r"open|pending|outstanding|left(?:\s+(?:to\s+(?:do|be\s+done)|over|undone|open))?|remaining|still\s+to\s+do|"
    r"to\s+(?:do|be\s+done)|not\s+(?:yet\s+)?(?:done|completed?|finished|checked|ticked)|incomplete|unfinished|"
    r"unchecked|unticked|undone|remains?(?:\s+(?:open|to\s+(?:do|be\s+done)|undone|outstanding))?|"
    r"needs?\s+(?:to\s+be\s+)?(?:done|doing|finishing|completing|completed|finished)"
)
_STATE_ADVERB = r"(?:\s+(?:still|yet|now|already|so\s+far|currently|all))?"
_CHECKLIST_NOUN = r"(?:tasks?|items?|todos?|to-dos?|things?|chores?|jobs?|steps?|entries|boxes)"
_ASKS_CHECKLIST = re.compile(
    rf"(?i)^\s*(?:(?P<count>how\s+many)|(?P<list>which|what))(?:\s+(?:of\s+the\s+)?(?:[\w-]+\s+){{0,2}}?"
    rf"{_CHECKLIST_NOUN}(?:\s+(?:are|is|were|have\s+been|has\s+been|do\s+I\s+have|do\s+we\s+have))?|"
    rf"(?<=what)(?:\s+(?:is|are|has\s+been|have\s+been)|['’]s)?)"
    rf"{_STATE_ADVERB}\s*(?:(?P<done>{_DONE_WORDS})|(?P<open>{_OPEN_WORDS})){_STATE_ADVERB}\s*"
    rf"(?:(?:on|in)\s+(?:the|my|this)\s+(?:list|checklist|to-?do\s+list)\s*)?[?.!]*\s*$"
)
"""'How many tasks are done?', 'Which items are still to do?', 'How many tasks have been completed?', 'Which tasks
are still open?', 'How many tasks remain?', 'What is still left to do?': the task list's checked or unchecked items
(newcomer audit 86 v03; 87 v03: an adverb before the state word, 'remain' and a question with no noun were NOT
FOUND)."""
_ASKS_ITEM_STATE = re.compile(
    rf"(?i)^\s*(?:is|was|are|has|have)\s+(?P<item>.+?)(?:\s+been)?{_STATE_ADVERB}\s+"
    rf"(?:(?P<done>{_DONE_WORDS})|(?P<open>{_OPEN_WORDS})){_STATE_ADVERB}\s*[?.!]*\s*$"
)
"""'Is buy milk done?', 'Has "pay rent" been completed?', 'Is call bob still open?': a yes/no question on one
task-list item's state, settled by its mark ('- [x] buy milk': done; '- [ ] call bob': open)."""


def _checklist_items(state: dict[str, Any]) -> list[tuple[bool, str, str]]:
    """The task-list lines of every source: (checked, the item's text, where it is: 'line 3', or 'todo.md, line 3'
    when the context has several sources, `cited`)."""
    items: list[tuple[bool, str, str]] = []
    for source in state["sources"]:
        for n, line in enumerate(str(source[1]).split("\n"), 1):
            item = _CHECKLIST_ITEM.match(line)
            if item is not None:
                items.append((item.group("mark") != " ", item.group("text"), cited(state, source[0], f"line {n:,}")))
    return items


def checklist_item_state(state: dict[str, Any], query: str) -> str | None:
    """'Is buy milk done?' over a task list: 'Yes' when the item the question names is checked off ('- [x] buy
    milk'), 'No' when it is not ('- [ ]'), the other way round for 'Is call bob still open?', with its line. The
    item is named whole (case, quotes and a leading 'the' aside) or by words only one item's text holds in that
    order, half its words at least ('milk' of 'buy milk'). None when the question is no such yes/no, the text
    holds fewer than two task-list lines, or no one item is named (newcomer audit 87 v03: NOT FOUND, the item
    being the list's first line)."""
    m = _ASKS_ITEM_STATE.match(" ".join(query.split()))
    if m is None or unmodelled(re.sub(r"(?i)\bnot\s+(?:yet\s+)?(?=done|complet|finish|check|tick)", "", query)):
        return None
    items = _checklist_items(state)
    if len(items) < 2:
        return None
    named = re.sub(r"(?i)^(?:the|my|our)\s+", "", m.group("item").strip(" \"'‘’“”`"))
    named = re.sub(rf"(?i)\s+{_CHECKLIST_NOUN}$", "", named).strip(" \"'‘’“”`")  # "the fix bike task"
    key = " ".join(_WORD.findall(named.lower()))
    if not key:
        return None
    whole = [item for item in items if " ".join(_WORD.findall(item[1].lower())) == key]
    within = [  # words of one item, in order, half its words at least: "milk" of "buy milk", not "shop" of a long item
        item
        for item in items
        if f" {key} " in f" {' '.join(_WORD.findall(item[1].lower()))} "
        and 2 * len(key.split()) >= len(_WORD.findall(item[1]))
    ]
    found = whole if len(whole) == 1 else within if len(within) == 1 and not whole else []
    if not found:
        return None  # two items named alike, or none: no one mark settles it
    checked, text, where = found[0]
    asks_done = m.group("done") is not None
    verdict = "Yes" if checked == asks_done else "No"
    mark = "checked off ([x])" if checked else "not checked off ([ ])"
    return f"{verdict}\nFound: the task-list item '{text}' is {mark} ({where})."


def checklist_answer(state: dict[str, Any], query: str) -> str | None:
    """Over a Markdown task list ('- [x] pay rent', '- [ ] call bob'), the items checked off ('done', 'completed')
    or not ('open', 'not done', 'left'), counted or listed, with their lines. None when the question asks none of
    these or the text holds fewer than two task-list lines (newcomer audit 86 v03: 'done' was a term no unit holds,
    so NOT FOUND)."""
    m = _ASKS_CHECKLIST.match(" ".join(query.split()))
    if m is None:
        return None
    items = _checklist_items(state)
    if len(items) < 2:
        return None
    done = m.group("done") is not None
    chosen = [(text, n) for checked, text, n in items if checked == done]
    state_word = "checked off ([x])" if done else "not checked off ([ ])"
    shown = "; ".join(f"{text} ({where})" for text, where in chosen[:20])
    if m.group("count"):
        return f"{len(chosen):,}\nCounted: the task-list items {state_word}, of {len(items):,}: {shown or 'none'}."
    if not chosen:
        return f"None\nFound: no task-list item is {state_word}, of {len(items):,}."
    return (
        f"{', '.join(text for text, _ in chosen)}\nFound: the task-list items {state_word}, of {len(items):,}: {shown}."
    )


def count_answer(state: dict[str, Any], query: str) -> str | None:
    """A counting or listing question answered by code over the units, saying what was counted; None when the
    question is not one, or does not name what to count."""
    q = " ".join(query.strip().split())
    units = state["units"]
    text_of = "\n".join(source[1] for source in state["sources"])
    checklist = checklist_answer(state, q)
    if checklist is not None:  # "How many tasks are done?" over '- [x] ...' lines (a negation read: "not done")
        return checklist
    by_entity = None if unmodelled(q) else _count_by_entity(units, q)
    if by_entity is not None:  # "How many posts did ana write?" over records with a field "ana"
        return by_entity
    one_per_row = _rows_of_a_column(units, q)
    if one_per_row is not None:  # "How many teams are in the league?" over a table with a column "Team"
        return one_per_row
    if _filled_negation(q):  # "How many rows have no email?": its empty cells (audit 85 v07)
        return filled_count(state, q)
    undone = unfilled_rows(state, q) or always_marked(state, q)
    if undone is not None:  # "Which films haven't I watched yet?": the rows whose `Watched` cell is empty
        return undone
    for by_field in (
        cron_job_count,
        python_count,
        changelog_edge,
        entry_count,
        marked_entries_count,
        stanza_count,
        superlative_answer,
        date_extreme,
        column_extreme,
        group_total,
        table_spending,
        column_measure,
        column_row_extreme,
        cell_count,
        cell_list,
        filled_count,
        list_count,
        own_entries_count,
        named_rows_count,
        row_superlative,
        numbered_row_extreme,
        cue_count,
        result_sides_count,
        row_at_position,
        row_quantity,
        day_extreme,
    ):  # RFC 822 stanzas, a record file's columns, a labelled list
        if unmodelled(q):
            break  # "How many files are not in group root?": none of these reads a negation or a comparison
        found = by_field(state, q)
        if found is not None:
            return found
    m = (
        re.match(
            r"(?i)how (?:many times|often) (?:does|do|is|are|did|was|were|has|have) "
            r"(?:the (?:word|name|term|string|phrase|expression|text|sequence) )?"
            r"(.+?) (?:occur|appear|used|use|mentioned|found|written|come up|show up)\b",
            q,
        )
        # "How many times is Jerusalem in the text?": a term; never "How many times does it run?" (an event's count)
        or re.match(r"(?i)how many times (?:is|are|was|were) (?!(?:it|he|she|they|we|you|i|this|that)\b)(.+?) in\b", q)
        or re.match(r"(?i)how many (?:occurrences|mentions|instances) of (.+?)(?: are there| in\b.*)?\?*$", q)
    )
    if m:
        target = _target(m.group(1))
        if not target:
            return None
        n = _occurrences(target, text_of)
        said = ""
        if not n and not _QUOTED.search(m.group(1)):  # "the phrase X" worded otherwise: its ending is what it names
            ending = _present_suffix(target, text_of)
            if ending != target:
                said = f" ('{target}' itself occurs nowhere; its ending '{ending}' was counted)"
                target, n = ending, _occurrences(ending, text_of)
        return (
            f"{n:,}\nCounted: whole-word, case-insensitive occurrences of '{target}' in the whole text "
            f"({len(text_of):,} characters){said}."
        )
    m = re.match(
        r"(?i)how many (\w+)(?: are there)?(?: in [\w\s]+?)? (?:that |which )?(begin|start|end)s? with (.+?)\?*$", q
    )
    if m and m.group(1).lower() in _KINDS and _edge_target(m.group(3)) and _KINDS[m.group(1).lower()] == "line":
        # lines, as the text writes them (their leading blanks aside): a line has no name to compare
        target = _edge_target(m.group(3))
        lines = [line.lstrip().lower() for line in _text_lines(state)]
        edge = str.endswith if m.group(2).lower() == "end" else str.startswith
        hits_n = sum(1 for line in lines if edge(line.rstrip(), target.lower()))
        return (
            f"{hits_n:,}\nCounted: lines that {m.group(2).lower()} with '{target}' (case-insensitive, leading blanks "
            f"aside), among {len(lines):,} non-empty lines."
        )
    if m and m.group(1).lower() in _KINDS and _edge_target(m.group(3)):
        pool = _pick(units, _KINDS[m.group(1).lower()])
        target = _edge_target(m.group(3))
        names = _names(pool)
        if m.group(2).lower() == "end":
            hits = [n for n in names if n.lower().endswith(target.lower())]
        else:
            hits = [n for n in names if n.lower().startswith(target.lower())]
        return (
            f"{len(hits):,}\nCounted: {m.group(1).lower()} whose name {m.group(2).lower()}s with '{target}' "
            f"(case-insensitive), among {len(names):,} {m.group(1).lower()}"
            + (f"; the first: {', '.join(hits[:10])}" if hits else "")
            + "."
        )
    m = re.match(
        r"(?i)how many (\w+)(?: of the \w+| in the \w+)*? (?:contain|mention|include|use|have|has|say|refer to"
        r"|containing|mentioning|including|using|with|have the|are in|belong to)s? (.+?)\?*$",
        q,
    )
    asked = m.group(1).lower() if m else ""
    if m and asked in _LIST_ITEMS and set(state["shapes"]) == {"lines"}:
        asked = "items"  # "How many tasks mention rent?" over a to-do list: its items
    target = _target(m.group(2)) if m and asked in _KINDS else ""
    if m and _A_PART.search(m.group(2)) and re.search(r"(?i)\b(?:are in|belong to)s?\b", m.group(0)):
        target = ""  # "items are in the Kitchen section": the section's items, not the items naming it
    if m and unmodelled(q):
        return None  # "How many rows have no email?": the lines holding 'email' are the others
    if m and target and target.lower() not in _WHOLE_TEXT:  # "rows are in the table": all of them
        kind = _KINDS[asked]
        target = _present_suffix(target, text_of)
        if kind == "line":
            pool_lines = _text_lines(state)
            hits_n = sum(1 for line in pool_lines if _occurrences(target, line))
            return (
                f"{hits_n:,}\nCounted: lines holding '{target}' as a whole word (case-insensitive), "
                f"among {len(pool_lines):,} non-empty lines."
            )
        pool = _pick(units, kind)
        if kind == "unit":  # a list's title ("Errands") is none of its items
            titles = _list_titles(pool)
            pool = [u for i, u in enumerate(pool) if i not in titles] or pool
        elif pool and pool[0]["kind"] == "paragraph":  # a poem's title and byline are no stanza (audit 84 F3)
            titles = _paragraph_titles(state, pool)
            pool = [u for i, u in enumerate(pool) if i not in titles] or pool
        hit_units = [u for u in pool if _occurrences(target, u["text"])]
        return (
            f"{len(hit_units):,}\nCounted: {m.group(1).lower()} whose text holds '{target}' as a whole word "
            f"(case-insensitive), among {len(pool):,}."
        )
    m = (
        re.match(r"(?i)how many (\w+) (?:are there|does (?:the|this) \w+ (?:have|contain|list)|in total)", q)
        or re.match(
            r"(?i)how many (\w+) (?:are|is) (?:in|on|listed (?:in|on)|defined in|contained in) "
            r"(?:the|this|my|our|your) \w+\?*$",
            q,
        )
        or re.match(
            r"(?i)how many ([\w-]+) (?:(?:are|is) (?:listed|on it)|(?:do|must|should) (?:I|we|you) "
            r"(?:have|need)(?: to do)?|(?:have|has) (?:I|we|you) got)\s*[?.!]*$",
            q,
        )
    )
    asked = m.group(1).lower() if m else ""
    if m and asked in _LIST_ITEMS and set(state["shapes"]) == {"lines"}:
        asked = "items"  # "How many tasks are there?" over a to-do list: its items
    if m and asked in _KINDS:
        kind = _KINDS[asked]
        records = _table_records(units)
        if kind == "line" and records:  # a table's rows, its header and total rows aside
            items = _item_records(records)
            aside_rows = _totals_aside(records, items)
            return f"{len(items):,}\nCounted: records of the table (its header row{aside_rows} aside)."
        if kind == "line":
            n = len(_text_lines(state))
            return f"{n:,}\nCounted: non-empty lines of the text."
        pool = _pick(units, kind)
        if kind == "unit":  # a list's title line ("# todo.txt", "Groceries:") names the items and is none of them
            titles = _list_titles(pool)
            totals = {id(u) for u in records} - {id(u) for u in _item_records(records)}
            total_rows = {i for i, u in enumerate(pool) if id(u) in totals}  # '| Total | 165 |': no item (v12)
            notes = _list_notes(state, pool, titles | total_rows)  # sub-bullets and notes under items: no items
            aside = [pool[i]["text"].strip() for i in sorted(titles)]
            pool = [u for i, u in enumerate(pool) if i not in titles | total_rows | notes] or pool
        elif pool and pool[0]["kind"] == "paragraph":  # a title or byline block is no stanza (audit 84 F3)
            titles = _paragraph_titles(state, pool)
            aside = [pool[i]["text"].strip() for i in sorted(titles)]
            pool = [u for i, u in enumerate(pool) if i not in titles] or pool
            total_rows, notes = set(), set()
        else:
            aside, total_rows, notes = [], set(), set()
        n = _count_units(pool, named=kind in ("entry", "verse"))
        said = (
            f"; the title line{'s' if len(aside) > 1 else ''} {', '.join(repr(a) for a in aside[:5])} aside"
            if aside
            else ""
        )
        said += f"; the total row{'s' if len(total_rows) > 1 else ''} aside" if total_rows else ""
        said += (
            f"; {len(notes)} sub-item or note line{'s' if len(notes) > 1 else ''} under the items aside"
            if notes
            else ""
        )
        return (
            f"{n:,}\nCounted: {m.group(1).lower()} of the text (units of kind '{pool[0]['kind'] if pool else kind}')"
            f"{said}."
        )
    m = re.match(
        r"(?i)how many ((?:\w+ ){0,2}\w+s) (?:are (?:there|listed|included|given)|does (?:the|this) \w+ (?:list|have|"
        r"contain))(?: in (?:the|this) \w+)?\?*$",
        q,
    )
    tabled = _sql_table_count(units, m.group(1)) if m else None
    if tabled is not None:  # "How many customers are there?" over an SQL dump: its table's rows, or no count
        return tabled or None
    records = _item_records(_table_records(units)) if m else []
    if m and len(records) > 1 and _named_key(records, m.group(1)):
        return None  # "How many statuses are there?" names a column: its values, which rows repeat or leave empty
    if m:  # "How many currencies are listed?": the items of a table, a list of entries, a changelog
        keyed = _keyed_collection(units, m.group(1))
        if keyed == "":
            return None  # the noun names none of a JSON object's sections: counting all its records is no answer
        if keyed is not None:
            return f"{keyed}."
        counted = _collection(units, state["shapes"])
        if counted is not None:
            n, what = counted
            return f"{n:,}\nCounted: {what}, each taken as one of the {m.group(1).lower()} listed."
    m = re.match(
        r"(?i)(?:what|which) (?:is the )?(?:word|name) (?:is |occurs |appears )?(?:the )?most "
        r"(?:common|frequent|often)",
        q,
    ) or re.match(r"(?i)what is the most (?:common|frequent) (word|name)", q)
    if m:
        counts: Counter[str] = Counter(
            w.lower() for w in _WORD.findall(text_of) if w.lower() not in STOPWORDS and not w.isdigit() and len(w) > 1
        )
        if not counts:
            return None
        word, n = counts.most_common(1)[0]
        return f"{word}\nCounted: the most frequent word, stop words left out ({n:,} times, case-insensitive)."
    m = re.match(
        r"(?i)(?:which|what) (\w+) (?:mentions?|contains?|uses?|has) (.+?) (?:the )?most(?: often| times)?\?*$", q
    )
    if m and m.group(1).lower() in _KINDS | {"book": "", "chapter": ""}:
        target = _target(m.group(2))
        group = m.group(1).lower()
        counts = Counter()
        for u in units:
            n = _occurrences(target, u["text"])
            if n:
                counts[_group_name(u, group)] += n
        if not counts:
            return f"{NOT_FOUND}\nCounted: '{target}' occurs in no {group}."
        name, n = counts.most_common(1)[0]
        return f"{name}\nCounted: whole-word occurrences of '{target}' per {group}; {name} has the most ({n:,})."
    m = re.match(
        r"(?i)list (?:all )?(?:the )?(\w+) (?:that |which )?(begin|start|end)s? with (.+?)\.?\?*$", q
    ) or re.match(r"(?i)list (?:all )?(?:the )?(\w+) (?:that |which )?(?:contain|mention|include)s? (.+?)\.?\?*$", q)
    if m and m.group(1).lower() in _KINDS and _target(m.group(m.lastindex or 1)):
        pool = _pick(units, _KINDS[m.group(1).lower()])
        if m.lastindex == 3:
            target = _edge_target(m.group(3))
            names = [
                n
                for n in _names(pool)
                if (
                    n.lower().endswith(target.lower())
                    if m.group(2).lower() == "end"
                    else n.lower().startswith(target.lower())
                )
            ]
            what = f"whose name {m.group(2).lower()}s with '{target}'"
        else:
            target = _target(m.group(2))
            names = list(dict.fromkeys(u["where"] for u in pool if _occurrences(target, u["text"])))
            what = f"holding '{target}' as a whole word"
        shown = "\n".join(f"- {n}" for n in names[:50])
        more = f"\n(and {len(names) - 50:,} more)" if len(names) > 50 else ""
        return (
            f"{len(names):,} {m.group(1).lower()} {what}:\n{shown}{more}"
            if names
            else f"{NOT_FOUND}\nNo {m.group(1).lower()} {what}."
        )
    return None


_PY_COUNT = re.compile(
    r"(?i)\s*(?:how many|(?:what is |what's )?the number of) (?:top-level )?(classes|functions) "
    r"(?:are (?:there|defined|declared|in)|does (?:the|this) \w+ (?:define|have|contain|declare)|(?:the|this) \w+ "
    r"(?:defines|has|contains)|in (?:the|this) \w+|defined)"
)
_PY_DEFINED = {
    "classes": re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", re.MULTILINE),
    "functions": re.compile(r"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)", re.MULTILINE),
}
_PY_SAID = {
    "classes": "'class' statements (at any depth)",
    "functions": "unindented 'def' statements (those under a class, a function or an 'if' aside)",
}


_FRAME_TAIL = frozenset(
    "changelog file files module modules source sources code script program package text document listed there here "
    "total altogether overall defined declared given shown written present top-level".split()
)
"""Words after a question's matched form that only say where to look ("in this changelog", "in the module"): the
rest of a prefix-matched question may hold these and stop words, nothing else (`_only_frame`)."""


def _only_frame(rest: str, allowed: Collection[str] = ()) -> bool:
    """Whether `rest`, what follows a rule's matched question form, adds nothing the rule would drop: only stop words
    and `_FRAME_TAIL` words. "to support IPv6", "in the class Shape", "counting methods" add a condition or a scope
    the rule does not model, and the rule must step aside."""
    return all(
        w.lower() in ENGLISH_STOPWORDS or w.lower() in _FRAME_TAIL or w.lower() in allowed for w in _WORD.findall(rest)
    )


def python_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many classes are defined in this module?": the class (or unindented def) statements of the Python
    sources, docstrings aside, counted by code, with the first names. None when the question is no such count or no
    source is Python."""
    m = _PY_COUNT.match(query)
    if m is not None and not _only_frame(query[m.end() :]):
        return None  # "... in the class Shape", "... that inherit from Shape", "counting methods": not modelled
    texts = [str(src[1]) for src in state["sources"] if isinstance(src[1], str) and _is_python(src[1])] if m else []
    if m is None or not texts:
        return None
    what = m.group(1).lower()
    names = [name for text in texts for name in _PY_DEFINED[what].findall(_strings_blanked(text))]
    shown = f"; the first: {', '.join(names[:10])}" if names else ""
    return f"{len(names):,}\nCounted: {_PY_SAID[what]} of the Python source{shown}."


def _strings_blanked(text: str) -> str:
    """`text` with its triple-quoted strings blanked (their lines kept): a docstring's "class Foo:" example defines
    nothing."""
    return re.sub(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'', lambda m: "\n" * m.group(0).count("\n"), text)


_HOW_MANY = r"(?i)(?:how many|(?:what is |what's )?the number of|number of)"
_DID_ENTITY = re.compile(_HOW_MANY + r" ((?:\S+ ){0,3}?\S+) (?:did|does|do|has|have|had) (.+?)[?.!]*$")
""""How many posts did ana write?", "How many orders has Acme Corp placed?": the entity, then a verb."""
_BY_ENTITY = re.compile(
    _HOW_MANY + r" ((?:\S+ ){0,3}?\S+) (?:(?:were|was|are|is|got|have been|has been) )?(?:\w+ )?"
    r"(?:by|from) (.+?)[?.!]*$"
)
""""How many posts by ana?", "How many messages were sent from bo?", "Number of commits by Ana Lima"."""
_AFTER_ENTITY = re.compile(r"(?i)(?:in total|altogether|overall|in all|so far|in (?:the|this) \w+)?$")
"""What may follow the entity (after its verb) and ask nothing more: "... write in total?"."""
_MEASURES = frozenset(
    "words word characters letters chars bytes hours minutes seconds days weeks months years points dollars euros "
    "percent miles kilometres kilometers".split()
)
"""What a count of records is not: "how many words did ana write?" asks for a sum, not a number of records."""
_OCCURRING = frozenset("occur appear use used mention mentioned found come show written".split())
_HAVING = frozenset("have has had own owns hold holds contain contains weigh weighs cost costs".split())
"""Verbs that ask for an attribute ("How many children did Adam have?"), not for the records one made."""


def _count_by_entity(units: list[dict[str, Any]], q: str) -> str | None:
    """The records one entity wrote (posted, placed, sent ...): "How many X did/does Y VERB", "how many X has Y
    VERBed", "how many X by/from Y", "number of X by Y", counted over the records (of a table, JSON, JSON Lines)
    with a field whose whole value is Y (case-insensitive). A word before X that is a field's value is a condition
    too ("How many open issues did bo file?"). None when the question is not of that shape, Y is no field's value,
    or the question asks more than the entity (a word after the verb: "... write about cats?")."""
    did = _DID_ENTITY.match(q)
    match = did or _BY_ENTITY.match(q)
    if match is None:
        return None
    what = [w.strip("\"'“”‘’`,") for w in match.group(1).split()]
    noun = what[-1].lower()
    words = [w.strip("\"'“”‘’`,?!") for w in match.group(2).split()]
    if noun in _MEASURES or not words:
        return None
    records = _table_records(units)
    counted = "records"
    if not records and noun in _UPLOAD_NOUNS:
        records = _uploads(units)  # a changelog: its trailers are records of who uploaded which version, when
        counted = "uploads (the changelog's trailer lines)"
    if not records:
        return None
    values = {v for u in records for v in u["fields"] if v}
    entity = ""
    for k in range(len(words) - (1 if did else 0), 0, -1):  # the longest run of words that is a whole field
        candidate = " ".join(words[:k]).lower()
        rest = " ".join(words[k:])
        verb = rest.split()[0].lower() if rest else ""
        if did and (not verb or verb in _HAVING or (verb in _OCCURRING and noun == "times")):
            continue  # "how many times does ana occur" counts words, not records
        after = " ".join(rest.split()[1:]) if did else rest  # past the verb
        if candidate in values and _AFTER_ENTITY.fullmatch(after):
            entity = candidate
            break
    if not entity or any(stem(noun) == stem(k) for u in records[:50] for k in u["keys"] if k):
        return None  # a field names what is asked ("goals"): its value answers, not a number of records
    asked_cell = _the_entitys_cell(units, records, entity, [noun, *words[len(entity.split()) :]])
    if asked_cell is not None:
        return asked_cell or None  # "How many games has Fenwick Town won?": its W cell, not its one row
    by_outcome = _results_count(records, entity, words[len(entity.split()) :])
    if by_outcome is not None:
        return by_outcome or None  # "How many games did City win?" over match results: by score, not by mention
    conditions = [entity]
    for word in (w.lower() for w in what[:-1] if w.lower() not in STOPWORDS):
        if word in values:
            conditions.append(word)  # "open" of "open issues", a status field's value
        elif any(_occurrences(word, u["text"]) for u in records):
            return None  # a word of the records, but in no field whole: which records it means is anyone's guess
    hits = [u for u in records if all(c in u["fields"] for c in conditions)]
    pairs = [(k, v) for u in records for k, v in zip(u["keys"], u["fields"], strict=True)]
    named = [" or ".join(dict.fromkeys(k or "value" for k, v in pairs if v == c)) for c in conditions]
    said = " and ".join(f"whose {key} is '{c}'" for key, c in zip(named, conditions, strict=True))
    return (
        f"{len(hits):,}\nCounted: {counted} {said} (the whole value, case-insensitive), among {len(records):,} "
        f"{counted.split(' (')[0]}"
        + ("." if noun == "times" else f", each taken as one of the {' '.join(what).lower()}.")
    )


_OUTCOME_VERBS = {"win": "won", "beat": "won", "lose": "lost", "draw": "drew", "tie": "drew"}
"""The verbs (stems) by which a count asks for games of one outcome, and the outcome each asks."""
_SCORE = re.compile(r"\s*(\d+)\s*[-–:]\s*(\d+)\s*")
"""A score written in one cell, "2-1" or "0:0": the goals of the first team named, then of the second's."""


def _score_columns(records: list[dict[str, Any]], sides: list[int]) -> Callable[[list[str]], tuple[int, int]] | None:
    """How to read a result's two scores from a record of match results whose teams stand in the columns `sides`
    (two): one column whose every filled cell is a score ("2-1", the first team's first), or one number column
    for each side, named after it ("Home"/"HG", "home_goals"; "Team1"/"Score1"). None when neither is
    unambiguous."""
    keys = records[0]["keys"]
    others = [i for i in range(len(keys)) if i not in sides]
    filled = {i: [u["fields"][i].strip() for u in records if u["fields"][i].strip()] for i in others}
    scores = [i for i in others if filled[i] and all(_SCORE.fullmatch(v) for v in filled[i])]
    if len(scores) == 1:
        at = scores[0]

        def in_one(fields: list[str]) -> tuple[int, int]:
            score = _SCORE.fullmatch(fields[at])
            if score is None:
                raise ValueError(fields[at])
            return int(score.group(1)), int(score.group(2))

        return in_one
    numbers = [i for i in others if filled[i] and all(re.fullmatch(r"\d+", v) for v in filled[i])]

    def own(side: str, column: str) -> bool:
        digits = re.search(r"\d+$", side)
        if digits:
            return column.endswith(digits.group(0)) and not column.startswith(side)
        return column != side and (column.startswith(side) or (column[:1] == side[:1] and len(column) <= 3))

    picked = [[i for i in numbers if own(keys[s], keys[i])] for s in sides]
    if any(len(p) != 1 for p in picked) or picked[0] == picked[1]:
        return None
    first, second = picked[0][0], picked[1][0]
    return lambda fields: (int(fields[first]), int(fields[second]))


def _results_count(records: list[dict[str, Any]], entity: str, asked: list[str]) -> str | None:
    """For a count of games of one outcome ("How many games did City win?", "... lose", "... draw") over a list of
    match results, each record one game with two teams and their scores: the games the `entity` won (lost, drew)
    read from the scores, with what was read. None when no word of `asked` (the words after the entity) is such a
    verb; "" (step aside: the rows naming the team are no count of its wins) when the records are no list of results
    whose teams and scores can be read, two columns naming teams and a score for each (audit 85 v03)."""
    wanted = next((_OUTCOME_VERBS[stem(w.lower())] for w in asked if stem(w.lower()) in _OUTCOME_VERBS), None)
    if wanted is None:
        return None
    keys = records[0]["keys"]
    if any(u["keys"] != keys for u in records):
        return ""
    sides = [i for i in range(len(keys)) if any(u["fields"][i] == entity for u in records)]
    read = _score_columns(records, sides) if len(sides) == 2 else None
    if read is None:
        return ""
    games = [u for u in records if entity in (u["fields"][sides[0]], u["fields"][sides[1]])]
    played = [u for u in games if all(u["fields"][i].strip() for i in range(len(keys)) if i not in sides)]
    hits = 0
    for u in played:
        try:
            first, second = read(u["fields"])
        except ValueError:
            return ""
        own, their = (first, second) if u["fields"][sides[0]] == entity else (second, first)
        hits += wanted == ("won" if own > their else "lost" if own < their else "drew")
    aside = len(games) - len(played)
    unplayed = f" ({aside:,} with no score aside)" if aside else ""
    return (
        f"{hits:,}\nCounted: the results in which '{entity}' {wanted}, read from the scores, among the "
        f"{len(played):,} games naming it{unplayed}; its rows counted alone would say how often it is named, not "
        f"how often it {wanted}."
    )


_LEGEND_ENTRY = re.compile(r"(?<![\w=])([A-Za-z][A-Za-z0-9%+/-]{0,5})\s*=\s*([A-Za-z][A-Za-z' -]{0,40}?)\s*(?=[,;.]|$)")
"""One entry of a table's legend line ("W = won", "GF = goals for"): a column's short name and what it means."""


_STANDINGS_SHORT = {
    "p": "played",
    "pl": "played",
    "pld": "played",
    "gp": "games played",
    "mp": "matches played",
    "w": "won",
    "d": "drawn",
    "l": "lost losses",
    "pts": "points",
    "pt": "points",
    "gf": "goals for",
    "ga": "goals against",
    "gd": "goal difference",
}
"""The usual short column names of a league table (standings) and what they mean, read where no legend line says."""
_STANDINGS_OWN = frozenset("pld gp mp pts gf ga gd".split())
"""The short names above no other table uses: each means its words alone; a one- or two-letter one ("W", "L", "P")
means "won" only beside another of the list ("Team,P,W,D,L,Pts"), "W" alone may be a width."""


def _column_meanings(units: list[dict[str, Any]], keys: list[str]) -> dict[str, set[str]]:
    """Each column of `keys` with the stems of the words naming it: its own name ("points"), and what a legend line
    outside the records says it means ("P = played, W = won, D = drawn": `w` means "won"); with no legend entry for
    it, a league table's usual short name means its usual words (`_STANDINGS_SHORT`: "W" means "won", "Pts"
    "points")."""
    meanings = {k: {stem(w) for w in _WORD.findall(k.lower().replace("_", " ")) if w not in STOPWORDS} for k in keys}
    legend: set[str] = set()
    for unit in units:
        if unit.get("fields"):
            continue
        for short, meaning in _LEGEND_ENTRY.findall(unit["text"]):
            if short.lower() in meanings:
                legend.add(short.lower())
                meanings[short.lower()] |= {stem(w) for w in _WORD.findall(meaning.lower()) if w not in STOPWORDS}
    for k, usual in _standings_words(keys).items():
        if k.lower() not in legend:
            meanings[k] |= usual
    return meanings


def _standings_words(columns: list[str]) -> dict[str, set[str]]:
    """The columns of `columns` that are a league table's usual short names (`_STANDINGS_SHORT`), with the stems of
    what each means; none unless the columns are a league table's (two short names, or one only a league table
    uses: `_STANDINGS_OWN`)."""
    shorts = {c.strip().lower() for c in columns} & _STANDINGS_SHORT.keys()
    if len(shorts) < 2 and not shorts & _STANDINGS_OWN:
        return {}
    return {
        c: {stem(w) for w in _STANDINGS_SHORT[c.strip().lower()].split() if w not in STOPWORDS}
        for c in columns
        if c.strip().lower() in shorts
    }


def _the_entitys_cell(
    units: list[dict[str, Any]], records: list[dict[str, Any]], entity: str, asked: list[str]
) -> str | None:
    """For a count that names one row and one column ("How many games has Fenwick Town won?" over a league table
    whose legend says "W = won"): the number in that row's column, with what was read; "" (step aside) when the
    words name a column but not one number of one row (two columns, "goals" of "goals for" and "goals against";
    two rows; a cell that is no number); None when no word after the entity names a column, and the rows holding
    it are counted. Each row of such a table is one team, not one of its games (audit 84b F3)."""
    keys = [k for k in records[0]["keys"] if k]
    meanings = _column_meanings(units, keys)
    named = [k for k in keys if any(stem(w.lower()) in meanings[k] for w in asked if w.lower() not in STOPWORDS)]
    if not named:
        return None
    rows = [u for u in records if entity in u["fields"]]
    if len(set(named)) != 1 or len(rows) != 1 or named[0] not in rows[0]["keys"]:
        return ""
    key = named[0]
    cell = rows[0]["fields"][rows[0]["keys"].index(key)]
    if not _AMOUNT.fullmatch(cell.strip()):
        return ""
    return (
        f"{cell.strip()}\nRead: the '{key}' cell of the record whose value is '{entity}' ({rows[0]['where']}); the "
        "question names its row and its column, so no records were counted."
    )


_HOW_MANY_OF_A_COLUMN = re.compile(
    r"(?i)how many ((?:[a-z][\w-]* )?[a-z][\w-]*?s) (?:are|were) (?:there|listed|in (?:the|this|our|my) [\w-]+)"
    r"(?: (?:in|on) (?:the|this) (?:table|list|file))?\s*[?.!]*$"
)


_OF_A_VALUE = frozenset("number numbers no nos address addresses value values entry entries id ids".split())
"""A noun's last word that names a column's values by their shape ('phone numbers' of `phone`, 'email addresses')."""


def _names_key(key: str, noun: str) -> bool:
    """Whether a plural or singular `noun` (one or two words) names the column `key` ("teams": `Team`, "statuses":
    `status`, whose stems differ; "phone numbers": `phone`; "email addresses": `Email address`) (audit 87 v10)."""
    words = _WORD.findall(noun.lower())
    cells = [w for w in re.split(r"[\s_]+", key.lower()) if w]

    def same(have: list[str], want: list[str]) -> bool:
        return len(have) == len(want) and all(
            stem(h) == stem(w) or w in (h + "s", h + "es") for h, w in zip(have, want, strict=True)
        )

    return same(cells, words) or (len(words) > 1 and words[-1] in _OF_A_VALUE and same(cells, words[:-1]))


def _named_key(records: list[dict[str, Any]], noun: str) -> str | None:
    """The one column of `records` that `noun` names (`_names_key`), held by every record; None otherwise."""
    named: list[str] = [k for k in records[0]["keys"] if k and _names_key(k, noun)]
    if len(named) != 1 or any(named[0] not in u["keys"] for u in records):
        return None
    return named[0]


def _key_column(records: list[dict[str, Any]], noun: str) -> str | None:
    """The column a plural or singular `noun` names ("teams": `Team`, `_named_key`), when each record holds its own
    value there (one team per row; an empty cell or a placeholder, `_NO_VALUE`, holds none: audit 86 v08); None
    otherwise."""
    key = _named_key(records, noun)
    if key is None:
        return None
    values = [u["fields"][u["keys"].index(key)].strip() for u in records]
    values = [v for v in values if v and v.lower() not in _NO_VALUE]
    return key if values and len(set(values)) == len(values) else None


def _rows_of_a_column(units: list[dict[str, Any]], q: str) -> str | None:
    """ "How many teams are in the league?", "How many <noun>s are there?" over a table one column of which names
    them, one per row: its rows, the header and total rows aside, with what was counted. A legend or a note line
    under the table ("Top two teams are promoted") is none of them (audit 84b F4). None otherwise."""
    asked = _HOW_MANY_OF_A_COLUMN.match(q)
    records = _item_records(_table_records(units))
    if asked is None or len(records) < 2:
        return None
    key = _key_column(records, asked.group(1))
    if key is None:
        return None
    cells = [u["fields"][u["keys"].index(key)].strip() if key in u["keys"] else "" for u in records]
    filled = [c for c in cells if c and c.lower() not in _NO_VALUE]
    if len(filled) < len(cells):  # 'n/a', '-', 'TBC' or an empty cell writes no email: no one counted (audit 86 v08)
        return (
            f"{len(filled):,}\nCounted: records of the table whose {key!r} cell is filled, among {len(records):,} "
            f"rows ({len(records) - len(filled):,} empty or a placeholder such as 'n/a'; header row and notes aside)."
        )
    return f"{len(records):,}\nCounted: records of the table, one {key!r} each (its header row and notes aside)."


def a_value_of_the_asked_column(state: dict[str, Any], query: str, span: str) -> bool:
    """For "Which team ...?" over records with a column `Team`, one value per row: whether `span` is (or holds,
    or is part of) a value of that column. A word of a legend or note line under the table ("Top" of "Top two
    teams are promoted") is no team (audit 84b F4). True when the question names no such column."""
    asked = re.match(r"(?i)\s*(?:which|what)\s+([a-z][\w-]*)\b", query)
    records = _item_records(_table_records(state["units"]))
    if asked is None or len(records) < 2:
        return True
    key = _key_column(records, asked.group(1))
    if key is None:
        return True
    said = " ".join(span.lower().split())
    values = [u["fields"][u["keys"].index(key)].strip().lower() for u in records]
    return any(said in value or value in said for value in values)


_EDGE_ENTRY = re.compile(
    r"(?i)\s*(?:what|which) (?:is|was|'s) the (oldest|earliest|first|latest|newest|most recent|last|current) "
    r"(version|release|upload|entry)\b"
)


_ASKS_MARKED_ENTRIES = re.compile(
    r"(?i)^\s*how\s+many\s+(?:(?:entries|versions|releases|uploads)(?:\s+(?:in|of)\s+(?:the|this)\s+\w+)?\s+"
    r"(?:are|were)\s+(?:an?\s+)?(?P<mark>[a-z][\w -]*?)|(?P<named>[a-z][\w-]*(?:\s+[a-z][\w-]*){1,3})\s+"
    r"(?:are|were)\s+(?:there|listed|made|recorded)(?:\s+in\s+(?:the|this)\s+\w+)?)\s*[?.!]*\s*$"
)
"""'How many entries are non-maintainer uploads?', 'How many team uploads were there?': the entries of a changelog
that one of their change items marks so."""


def _singular_phrase(text: str) -> str:
    """`text` lowercased, its words one blank apart, its last word's plural 's' cut: 'Non-maintainer uploads.' ->
    'non-maintainer upload'."""
    words = _WORD.findall(text.lower())
    if words and len(words[-1]) > 3 and words[-1].endswith("s") and not words[-1].endswith("ss"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


_MARK_ENDS = re.compile(r"(?i)\s*(?:$|[.;,:!(\[]|(?:by|to|with|without|for|from|of|on|in|via|under|at|as)\b)")
"""What follows a change item's mark when the item is the mark ('Team upload.', 'Non-maintainer upload by the
Security Team', 'Non-maintainer upload; fix FTBFS'), not a sentence about such uploads ('Non-maintainer upload
acknowledged', 'Team uploads are welcome now')."""


def marked_entries_count(state: dict[str, Any], query: str) -> str | None:
    """How many entries of the one Debian changelog a change item marks as what the question names: the items that
    are the phrase ("* Non-maintainer upload.", "* Team upload.", "* Non-maintainer upload by the Security
    Team.", `_MARK_ENDS`), each entry once (audit 87 v08: 'How many entries are non-maintainer uploads?' was NOT
    FOUND). An item that opens with the phrase but says something of it ("* Non-maintainer upload acknowledged",
    "* Team uploads are welcome now") is no mark but a mention (audit 88g v06/v07 counted it). None when the
    question is no such count, no item is the mark, or an item of another entry mentions the phrase (whether that
    entry is one is a guess): a count is exact or absent."""
    m = _ASKS_MARKED_ENTRIES.match(" ".join(query.split()))
    if m is None or unmodelled(query):
        return None
    mark = _singular_phrase(m.group("mark") or m.group("named"))
    entries = [u for u in state["units"] if u["kind"] == "entry" and _CHANGELOG_HEADER.match(u["text"])]
    if len(mark.split()) < 2 or len({u["source"] for u in entries}) != 1 or len(entries) < 2:
        return None  # "uploads are there": every entry is one; a phrase of two words or more is a mark
    marked: dict[str, dict[str, Any]] = {}
    mentioned: set[str] = set()
    for unit in state["units"]:
        if unit["kind"] != "paragraph" or unit.get("upload") or unit["source"] != entries[0]["source"]:
            continue
        item = _BULLET.sub("", unit["text"])
        said = " ".join(_WORD.findall(item.lower()))
        opening = list(itertools.islice(_WORD.finditer(item), len(mark.split())))
        if _singular_phrase(" ".join(said.split()[: len(mark.split())])) == mark and _MARK_ENDS.match(
            item[opening[-1].end() :]
        ):
            if unit["name"] in marked and m.group("named"):
                return None  # "How many bug fixes were made?" over two in one entry: the items, not the entries
            marked.setdefault(unit["name"], unit)
        elif f" {mark}" in f" {_singular_phrase(said)} " or f" {mark} " in f" {said} ":
            mentioned.add(unit["name"])
    if not marked or mentioned - set(marked):
        return None
    shown = ", ".join(f"{name} (line {u['line']:,})" for name, u in marked.items())
    return (
        f"{len(marked):,}\nCounted: the changelog's entries (of {len(entries):,}) with a change item that opens "
        f"'{mark}': {shown}."
    )


def changelog_edge(state: dict[str, Any], query: str) -> str | None:
    """ "What is the oldest version in this changelog?": the version of a Debian changelog's last entry (entries
    run newest first), or of its first for "latest"/"newest"/"most recent"/"last"/"current". None when the
    question is no such one or no source is a changelog of two entries or more."""
    m = _EDGE_ENTRY.match(query)
    entries = [u for u in state["units"] if u["kind"] == "entry" and _CHANGELOG_HEADER.match(u["text"])] if m else []
    packages = {u["text"].split()[0].lower() for u in entries}  # "the oldest version of widgetd": its own package
    if m is not None and not _only_frame(query[m.end() :], packages):
        return None  # "the first version to support IPv6", "the latest version of libbar": another question
    if m is None or len({u["source"] for u in entries}) != 1 or len(entries) < 2:
        return None
    oldest = m.group(1).lower() in ("oldest", "earliest", "first")
    dates = _entry_dates(state["units"], entries)
    if dates is None:
        unit = entries[-1] if oldest else entries[0]
        which = "last entry (the oldest: entries run newest first)" if oldest else "first entry (the newest)"
    else:  # the trailers' dates say which is the oldest, whatever order the file writes the entries in
        ranked = sorted(zip(dates, range(len(entries)), strict=True), reverse=not oldest)
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            return None  # two entries of one date: no one edge
        unit = entries[ranked[0][1]]
        which = f"{'oldest' if oldest else 'newest'} entry by its trailer's date"
    version = re.search(r"\(([^()\s]+)\)", unit["text"])
    if version is None:
        return None
    return (
        f"{version.group(1)}\nFound: the {which} of the changelog's {len(entries):,} entries, line {unit['line']:,}: "
        f"{unit['text']}"
    )


_LOG_LEVELS = {
    "error": ("ERROR", "ERR"),
    "warning": ("WARNING", "WARN"),
    "warn": ("WARNING", "WARN"),
    "info": ("INFO",),
    "debug": ("DEBUG",),
    "critical": ("CRITICAL", "CRIT"),
    "fatal": ("FATAL",),
    "notice": ("NOTICE",),
}
_LEVEL_TOKEN = re.compile(
    r"(?<![\w-])\[?(ERROR|ERR|WARNING|WARN|INFO|DEBUG|CRITICAL|CRIT|FATAL|NOTICE|TRACE)\]?:?(?![\w-])"
)
_ASKS_LEVEL_COUNT = re.compile(
    r"(?i)^\s*how\s+many\s+(?:(?P<level>errors?|warnings?|warns?|infos?|debugs?|criticals?|fatals?|notices?)"
    r"(?:\s+(?:lines|entries|messages|events|records))?|(?:lines|entries|messages|events|records)\s+(?:of|with|at)\s+"
    r"(?:the\s+)?(?:level\s+)?(?P<level2>\w+)(?:\s+level)?)"
    r"(?:\s+(?:were|are|was|is|have\s+been|did\s+we\s+get|got))?"
    r"(?:\s+(?:logged|there|recorded|reported|written|listed|occurred|in\s+(?:the|this)\s+\w+))*\s*[?.!]*\s*$"
)
_ASKS_VERSION_COUNT = re.compile(
    r"(?i)^\s*how\s+many\s+(?:versions|releases|entries)\s+(?:(?:are|were|is)\s+(?:there|listed|released|"
    r"described|documented|recorded|in\s+(?:the|this)\s+(?:changelog|file|text|log))|does\s+(?:the|this)\s+"
    r"(?:changelog|file|text)\s+(?:list|have|contain|describe))(?:\s+in\s+(?:the|this)\s+\w+)?\s*[?.!]*\s*$"
)
_VERSION_HEADING = re.compile(r"^(#{1,6})\s+\[?v?(\d+(?:\.\d+)+[\w.+~-]*)\]?(?:\s|$)")


def entry_count(state: dict[str, Any], query: str) -> str | None:
    """How many of a text's own entries of a kind there are (audit 84 F6): "How many errors were logged?" over a
    log (the lines whose level token, "ERROR" or "[error]" among a line's first words, is that level, when most
    lines carry one); "How many versions are listed / in the changelog?" over a Debian changelog (its entries) or
    a Markdown changelog (its headings "## [2.1.0] - date" that start with a version, at the shallowest level
    that has them). None when the question is no such one or the text has no such entries."""
    lines = _text_lines(state)
    m = _ASKS_LEVEL_COUNT.match(" ".join(query.split()))
    if m is not None:
        word = (m.group("level") or m.group("level2") or "").lower()
        word = word[:-1] if word.endswith("s") and word[:-1] in _LOG_LEVELS else word
        wanted = _LOG_LEVELS.get(word)
        levels = [_LEVEL_TOKEN.search(" ".join(line.split()[:5])) for line in lines]
        if wanted is None or len(lines) < 2 or sum(1 for lv in levels if lv) < 0.6 * len(lines):
            return None
        n = sum(1 for lv in levels if lv and lv.group(1).upper() in wanted)
        return (
            f"{n:,}\nCounted: log lines of level {wanted[0]} (their level token{'s ' if len(wanted) > 1 else ' '}"
            f"{', '.join(wanted)}), among {sum(1 for lv in levels if lv):,} log lines."
        )
    if not _ASKS_VERSION_COUNT.match(" ".join(query.split())):
        return None
    entries = [u for u in state["units"] if u["kind"] == "entry" and _CHANGELOG_HEADER.match(u["text"])]
    if len({u["source"] for u in entries}) == 1 and len(entries) >= 2:
        if re.search(r"(?i)^\s*how\s+many\s+entries\b", query):
            return None  # (counted as the text's entries already)
        return f"{len(entries):,}\nCounted: the entries of the changelog (one per version header line)."
    heads = [h for h in (_VERSION_HEADING.match(line.strip()) for line in lines) if h]
    if not heads:
        return None
    level = min(len(h.group(1)) for h in heads)
    versions = [h.group(2) for h in heads if len(h.group(1)) == level]
    shown = ", ".join(versions[:10]) + (", ..." if len(versions) > 10 else "")
    return f"{len(versions):,}\nCounted: the changelog's version headings ({'#' * level} VERSION): {shown}."


_TRAILER_DATE = re.compile(
    r"(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* (\d{4}) "
    r"(\d\d):(\d\d)(?::(\d\d))? ([+-])(\d\d)(\d\d)"
)
"""A trailer's RFC 2822 date ("Mon, 04 Mar 2024 10:00:00 +0100"), as Debian Policy 4.4 has it."""
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _entry_dates(units: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[tuple[int, ...]] | None:
    """The date of each changelog entry of `entries`, from the trailer that ends it, as a sortable (UTC year, month,
    day, minute of the day) tuple (the offset applied to the minutes; a day's overflow is kept in the minutes,
    which still sorts right); None when one has no trailer or no date of that form."""
    dates: list[tuple[int, ...]] = []
    for entry in entries:
        at = units.index(entry)
        trailer = next(
            (u for u in units[at + 1 :] if u.get("upload") or u["kind"] == "entry" or u["source"] != entry["source"]),
            None,
        )
        found = _TRAILER_DATE.search(trailer["upload"]["date"]) if trailer and trailer.get("upload") else None
        if found is None:
            return None
        day, month, year, hour, minute, _, sign, off_h, off_m = found.groups()
        offset = (int(off_h) * 60 + int(off_m)) * (1 if sign == "+" else -1)
        minutes = int(day) * 1440 + int(hour) * 60 + int(minute) - offset
        dates.append((int(year), _MONTHS.index(month) + 1, minutes))
    return dates


def _uploads(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A changelog's trailer units as records with the fields maintainer and date (lower-cased, as a table's)."""
    return [
        {**u, "keys": list(u["upload"]), "fields": [v.lower() for v in u["upload"].values()]}
        for u in units
        if u.get("upload")
    ]


def _collection(units: list[dict[str, Any]], shapes: list[str]) -> tuple[int, str] | None:
    """How many items a text that is a collection lists, and what they are: a table's or JSON's records, the
    entries between separators, a glossary's entries, a changelog's versions; None for other texts."""
    records = _table_records(units)
    if records:
        items = _item_records(records)
        return len(items), f"the records of the table (its header row{_totals_aside(records, items)} aside)"
    entries = [u for u in units if u["kind"] == "entry"]
    if entries and set(shapes) <= {"separated", "entries", "changelog"}:
        kind = {"separated": "entries between separator lines", "changelog": "versions (entries) of the changelog"}
        return _count_units(entries), "the " + kind.get(shapes[0], "entries of the glossary")
    return None


_RECORD_PATH = re.compile(r"^record [\d,]+, (\[.*\])")


def _sql_table_count(units: list[dict[str, Any]], noun: str) -> str | None:
    """For "How many <noun> are there?" over an SQL dump's rows (`_sql_units`): the rows of the table the noun
    names ("customers", "customer"); "" when the dump's rows lie in tables the noun names none of (counting them
    all counts other things: orders are no customers); None for a text with no SQL rows."""
    rows = [u for u in units if u.get("table")]
    if not rows:
        return None
    wanted = {re.sub(r"\W", "", noun.lower()), stem(re.sub(r"\W", "", noun.lower()))}
    named = [u for u in rows if {u["table"].lower(), stem(u["table"].lower())} & wanted]
    if not named or len({u["table"] for u in named}) > 1:
        return ""
    return f"{len(named):,}\nCounted: the rows of the table {named[0]['table']!r} (its INSERT statements)."


def _keyed_collection(units: list[dict[str, Any]], noun: str) -> str | None:
    """For "How many <noun> are there?" over structured data whose records lie under keys (a JSON object's
    sections, `{"dependencies": {...}, "scripts": {...}}`): the count and what was counted when the noun is the
    key of one object (its keys: 3 "dependencies") or of one list (its items); "" when the records lie under two
    or more different keys and the noun names none of them (counting them all counts things of other kinds);
    None when no record lies under a key. The noun chooses what is counted (audit 87 F3: package.json's 5 objects
    were counted as its dependencies)."""
    wanted = {re.sub(r"\W", "", noun.lower()), stem(re.sub(r"\W", "", noun.lower()))}
    keyed: list[tuple[dict[str, Any], str, bool]] = []  # (record, its last key, whether it is a list's item)
    for unit in _table_records(units):
        path = _RECORD_PATH.match(unit["where"])
        if path is None:
            continue
        steps = re.findall(r"\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+)\]", path.group(1))
        keys = [s for s in steps if s[:1] in "'\""]
        if keys:
            keyed.append((unit, keys[-1][1:-1], steps[-1][:1] not in "'\""))
    if not keyed:
        return None
    named = [(u, key, item) for u, key, item in keyed if {re.sub(r"\W", "", key.lower()), stem(key.lower())} & wanted]
    if not named:
        generic = bool(wanted & {"records", "entries", "items", "rows", "objects", "elements", "lines"})
        return "" if len({key for _, key, _ in keyed}) > 1 and not generic else None
    key = named[0][1]
    if len({k for _, k, _ in named}) > 1:
        return ""
    if len(named) == 1 and not named[0][2]:
        n = len(named[0][0].get("keys") or [])
        return f"{n:,}\nCounted: the keys of the {key!r} object"
    return f"{len(named):,}\nCounted: the items of the {key!r} list"


def _table_records(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The units that are records of a table or of structured data (`_record_unit`: its header row is none)."""
    return [u for u in units if u.get("fields")]


_BALANCE_ROW = re.compile(
    r"(?i)^\W*(?:(?:opening|closing|starting|ending|final|initial|previous|balance)\s+balance"
    r"|balance\s+(?:brought|carried)\s+(?:forward|fwd|down)|(?:brought|carried)\s+(?:forward|fwd|down)"
    r"|balance\s+[bc]/[fd]|[bc]/[fd]|balance)\W*$"
)
"""A cell that makes its row a balance carried over, no entry of the account: 'Opening balance', 'Closing balance',
'Balance brought forward', 'Carried forward', 'B/F' (audit 86b F5: a statement's transactions were counted with
its opening balance row)."""


def _item_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that are items: a row labelled as the total of the others ('| Total | 165 |', `_TOTAL_ROW`) is
    none, counted with them it is one item too many (review 83c v12); nor is a balance carried over ('Opening
    balance,,,1204.55', `_BALANCE_ROW`, audit 86b F5)."""
    return [
        u
        for u in records
        if not any(
            f.strip() and not _AMOUNT.fullmatch(f.strip()) and (_TOTAL_ROW.match(f.strip()) or _BALANCE_ROW.match(f))
            for f in u["fields"]
        )
    ]


def _totals_aside(records: list[dict[str, Any]], items: list[dict[str, Any]]) -> str:
    """What a count of `items` says it set aside among `records` besides the header: '', ' and its total row' or
    ' and its total or balance rows'."""
    kept = {id(u) for u in items}
    aside = [u for u in records if id(u) not in kept]
    if not aside:
        return ""
    balance = any(_BALANCE_ROW.match(f) for u in aside for f in u["fields"])
    return f" and its {'total or balance' if balance else 'total'} row{'s' if len(aside) > 1 else ''}"


def _title_line(text: str) -> bool:
    """Whether a line of a list titles it: a comment or Markdown heading ("# todo.txt") or a line that ends in a
    colon ("Groceries:")."""
    return text.startswith("#") or text.rstrip().endswith(":")


_LIST_ITEMS = frozenset("tasks things todos to-dos chores errands jobs points".split())
"""What "How many tasks are there?" calls the items of a list (a file of lines): no unit kind of other texts."""
_LIST_WORDS = frozenset("list lists todo to-do todos to-dos checklist agenda chores errands tasks".split())
"""Words by which a line names the list below it ("Shopping list", "To-do", "Errands for Saturday")."""


_LOOSE_BYLINE = re.compile(
    r"^\s*(?:(?:[Ww]ritten|[Cc]omposed|[Tt]ranslated|[Ee]dited)\s+)?[Bb]y\s+[A-Z][\w.'’-]*"
    r"(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|der|la|le|da|and|&))*\s*(?:[(,][^()]*\)?)?\s*$"
)
"""A byline as a title block shows it, looser than `_BYLINE` (which reads who and when from one): "by Agnes Whitlow
(1927)", "Written by J. R. Moss, 1950"; never "By Friday the wind rose"."""


def _paragraph_titles(state: dict[str, Any], pool: list[dict[str, Any]]) -> set[int]:
    """The positions in `pool` (paragraph units) of the blocks that title a text rather than being paragraphs or
    stanzas of it: a block of at most 3 lines that holds a byline ("by Agnes Whitlow (1927)") or is all heading
    lines (`_title_line`: "# Notes"), and a text's first block when it is one or two short lines (6 words or fewer
    each, no sentence end) and at least two blocks follow, every one longer in lines or words. The source's own
    lines give each block's lines; a source that is no plain text has none."""
    raw = {source[0]: source[1].split("\n") for source in state["sources"] if isinstance(source[1], str)}

    def lines_of(unit: dict[str, Any]) -> list[str]:
        lines = raw.get(unit["source"], [])
        start = int(unit.get("line") or 0) - 1
        block = []
        for line in lines[max(start, 0) :]:
            if not line.strip():
                break
            block.append(line.strip())
        return block

    titles: set[int] = set()
    blocks = [lines_of(u) for u in pool]
    for i, (unit, block) in enumerate(zip(pool, blocks, strict=True)):
        if not block or len(block) > 3:
            continue
        if any(_LOOSE_BYLINE.match(line) for line in block) and len(_WORD.findall(unit["text"])) <= 16:
            titles.add(i)
            continue
        if all(_title_line(line) and not _BULLET.match(line) for line in block):
            titles.add(i)
            continue
        rest = [k for k, u in enumerate(pool) if u["source"] == unit["source"] and k != i]
        first = all(pool[k]["line"] > unit["line"] for k in rest)
        short = len(block) <= 2 and all(
            len(_WORD.findall(line)) <= 6 and not re.search(r"[.!?;:,]$", line) for line in block
        )
        longer = all(
            len(blocks[k]) > len(block) or len(_WORD.findall(pool[k]["text"])) > 2 * len(_WORD.findall(unit["text"]))
            for k in rest
        )
        if first and short and len(rest) >= 2 and longer:
            titles.add(i)
    return titles


def _list_titles(units: list[dict[str, Any]]) -> set[int]:
    """The positions in `units` of the lines that title a list rather than being items of it, by their form or
    their place: '# todo.txt', 'Groceries:' (`_title_line`); a short line with no sentence end that is not
    bulleted while the line just below it is ('TODO' above '- buy milk', 'Shopping list' above '- eggs'); and a
    text's first line, when no line is bulleted, if it is written in capitals ('TODO') or names a list
    ('Shopping list', by `_LIST_WORDS`). Only lines (`kind` 'line') are titles; others give an empty set."""
    titles: set[int] = set()
    lines = [(i, u) for i, u in enumerate(units) if u["kind"] == "line"]
    any_bullet = any(_BULLET.match(u["text"]) for _, u in lines)
    for k, (i, unit) in enumerate(lines):
        text = unit["text"].strip()
        if _title_line(text):
            titles.add(i)
            continue
        if _BULLET.match(unit["text"]) or re.search(r"[.!?;,]$", text) or len(_WORD.findall(text)) > 6:
            continue
        below = lines[k + 1][1] if k + 1 < len(lines) else None
        follows = below is not None and below["source"] == unit["source"] and below["line"] == unit["line"] + 1
        if any_bullet and follows and below is not None and _BULLET.match(below["text"]):
            titles.add(i)
        elif k == 0 and follows and below is not None and _title_line(below["text"].strip()):
            titles.add(i)  # 'Packing' above 'Kitchen:': the list's own title above its first section (v10)
        elif k == 0 and len(lines) > 2 and below is not None and below["line"] > unit["line"] + 1:
            titles.add(i)  # 'Family & friends', a blank line, then the list: a title set off above its items
        elif not any_bullet and k == 0 and follows and len(lines) > 2:
            words = [w.lower() for w in re.findall(r"[\w'’-]+", text)]
            capitals = text.upper() == text and any(c.isalpha() for c in text)
            if capitals or _LIST_WORDS & set(words) or _lacks_the_items_separator(text, [u for _, u in lines[1:]]):
                titles.add(i)
    return titles


_NUMBERED_ITEM = re.compile(r"^\s{0,8}\d{1,3}[.)]\s+\S")
"""A line of a numbered list: '1. Budget', '2) Hiring'."""


def _list_notes(state: dict[str, Any], pool: list[dict[str, Any]], titles: set[int]) -> set[int]:
    """The positions in `pool` (line units of lists) of the lines that belong to an item above them rather than
    being items: a bullet indented deeper than the list's own bullets below a bullet of the list ('  - ask about
    price' under '- Call plumber', review 83c v09), and, in a list numbered by at least two items, a line with no
    number or bullet written as a sentence (a full stop, or more than four words) below its first numbered item
    ('Ann presents the numbers.' under '1. Budget', v18). The source's own lines give each line's indent."""
    raw: dict[tuple[Any, int], str] = {}
    for name, text in (source for source in state["sources"] if len(source) == 2 and isinstance(source[1], str)):
        for n, line in enumerate(text.split("\n"), 1):
            raw[(name, n)] = line
    rows = [(i, raw.get((u["source"], u["line"]), u["text"])) for i, u in enumerate(pool) if i not in titles]
    depths = [len(b.group(1)) for _, line in rows if (b := _ITEM_BULLET.match(line))]
    notes: set[int] = set()
    if depths:
        base, seen = min(depths), False
        for i, line in rows:
            bullet = _ITEM_BULLET.match(line)
            if bullet is not None and len(bullet.group(1)) == base:
                seen = True
            elif bullet is not None and seen:
                notes.add(i)
    numbered = [k for k, (_, line) in enumerate(rows) if _NUMBERED_ITEM.match(line)]
    if len(numbered) >= 2:
        for i, line in rows[numbered[0] :]:
            text = line.strip()
            if not _BULLET.match(line) and (text.endswith(".") or len(_WORD.findall(text)) > 4):
                notes.add(i)
    return notes


def _lacks_the_items_separator(first: str, below: list[dict[str, Any]]) -> bool:
    """Whether the lines `below` a first line all divide fields by one separator (`_FIELD_SEPARATORS`: "Mum - 07700
    900123 - mum@example.org") that the first line lacks: it is their title ("Family & friends"), none of them."""
    texts = [u["text"] for u in below]
    return any(
        not _holds(sep, first) and all(_holds(sep, t) for t in texts) for sep in _FIELD_SEPARATORS if sep != ", "
    )


def _count_units(units: list[dict[str, Any]], *, named: bool = True) -> int:
    """How many things `units` are: distinct names where they have them (`named`: entries, verses), else distinct
    locations (a long entry cut in pieces is one)."""
    return (len(_names(units)) if named else 0) or len({u["where"] for u in units})


def _names(units: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(u["name"] for u in units if u["name"]))


def _group_name(unit: dict[str, Any], group: str) -> str:
    name = unit["name"] or unit["where"]
    ref = re.match(r"^(.*?) (\d+):(\d+)$", name)
    if ref and group == "book":
        return ref.group(1)
    if ref and group == "chapter":
        return f"{ref.group(1)} {ref.group(2)}"
    return str(unit["where"]) if group in ("line", "lines") else name


# --- fields to group by: RFC 822 stanzas and a record file's columns -------------------------------------------

_STANZA_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:[ \t]+(.*?))?[ \t]*$")
_STANZA_NOUNS = frozenset("stanza stanzas paragraph paragraphs block blocks record records entry entries".split())
"""What a question calls an RFC 822 paragraph ("How many Files stanzas are there?")."""
MIN_STANZAS = 3


def stanzas(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The RFC 822 paragraphs of the text sources (Debian copyright (DEP-5) and control files, mail-like headers):
    blocks between blank lines whose every line is `Field: value` or an indented continuation, each as {"source",
    "line" (1-based), "fields": {field name lower-cased: (name as written, value's first line, continuation
    lines)}}. [] for a source unless it has MIN_STANZAS such blocks and they are most of its blocks. Cached."""
    if "stanzas" in state:
        return list(state["stanzas"])
    found: list[dict[str, Any]] = []
    for source in state["sources"]:
        if len(source) > 2 or not isinstance(source[1], str):
            continue
        blocks: list[tuple[int, list[str]]] = []
        start, block = 0, list[str]()
        for number, line in enumerate(source[1].split("\n"), 1):
            if line.strip():
                start = start if block else number
                block.append(line)
            elif block:
                blocks.append((start, block))
                block = []
        if block:
            blocks.append((start, block))
        own = []
        for start, block in blocks:
            fields: dict[str, tuple[str, str, list[str]]] = {}
            last = ""
            for line in block:
                field = _STANZA_FIELD.match(line)
                if field is not None and field.group(1).lower() not in fields:
                    last = field.group(1).lower()
                    fields[last] = (field.group(1), (field.group(2) or "").strip(), [])
                elif last and line[:1] in " \t":
                    fields[last][2].append(line.strip())
                else:
                    fields = {}
                    break
            if fields:
                own.append({"source": source[0], "line": start, "fields": fields})
        if len(own) >= MIN_STANZAS and len(own) > len(blocks) / 2:
            found.extend(own)
    state["stanzas"] = found
    return list(found)


def _field_value(field: tuple[str, str, list[str]]) -> str:
    """A stanza field's value as one name: its first line ("License: BSD-3-clause", the licence's text below), or
    its first continuation line when the first is empty."""
    return field[1] or next(iter(field[2]), "")


def _stanza_field(name: str, found: list[dict[str, Any]]) -> str | None:
    """The stanza field (lower-cased) a word names ("licenses" -> "license", "files" -> "files"), or None."""
    word = name.strip(_FIELD_EDGES).lower()
    names = {f for s in found for f in s["fields"]}
    if word in names:
        return word
    return next((f for f in sorted(names) if stem(f) == stem(word)), None)


def _column_text_rows(
    state: dict[str, Any], source_name: Any = None
) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """A record file's columns and rows: (column descriptions, [(line, cells)]). The descriptions are a table's
    header row, else what its leading `#` comment says of each column (a commented header row such as
    "#codes<TAB>coordinates<TAB>TZ", numbered notes "# 3.  Timezone name used in ..."). None when the text (the
    first record file, or the source named `source_name`) is no record file or nothing describes its columns.
    Cached."""
    cache = state.setdefault("columns", {})
    if repr(source_name) not in cache:
        cache[repr(source_name)] = _read_columns(state, source_name)
    found: tuple[list[str], list[tuple[int, list[str]]]] | None = cache[repr(source_name)]
    return found


def _read_columns(state: dict[str, Any], source_name: Any) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    for source, shape in zip(state["sources"], state["shapes"], strict=True):
        if source_name is not None and source[0] != source_name:
            continue
        if shape == "records" and len(source) > 2:  # a CSV or JSON file loaded as records: its keys are its columns
            keyed = _keyed_rows(source[2])
            if keyed is not None:
                state.setdefault("table_from", {})[repr(source_name)] = (source[0], True)
                return keyed
            continue
        if shape != "records" and isinstance(source[1], str) and len(source[1]) < 200_000:
            piped = _pipe_tables(source[1].split("\n"))
            if len(piped) == 1:  # a markdown table amid prose (audit 87b v02/v03): its header names its columns
                return piped[0]
            continue
        if shape != "records" or not isinstance(source[1], str):
            continue
        lines = source[1].split("\n")
        table = table_of(lines[:2000])
        if table is not None and table[0] != "json" and table[1] is not None:
            delimiter, named = table
            first = table_start(lines)
            rows = [
                (n, _cells(line, delimiter))
                for n, line in enumerate(lines, 1)
                if line.strip() and n > first + 1 and not _table_rule(line)
            ]
            state.setdefault("table_from", {})[repr(source_name)] = (source[0], False)
            return list(named or []), rows
        comments = []
        for line in lines:
            if not line.startswith("#"):
                if line.strip():
                    break
                continue
            comments.append(line)
        body = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
        if not comments or not body:
            continue
        tabbed = sum("\t" in line for _, line in body) >= 0.8 * len(body)
        notes: dict[int, str] = {}
        current = 0
        for line in comments:
            numbered = re.match(r"^#\s*(\d{1,2})[.)]\s+(\S.*)$", line)
            if numbered is not None and int(numbered.group(1)) == current + 1:
                current += 1
                notes[current] = numbered.group(2)
            elif current and re.match(r"^#\s{2,}\S", line) and current == len(notes):
                notes[current] += " " + line[1:].strip()
            elif current:
                current = -100  # the numbered notes ended: a later "# 1." is prose
        widths = Counter(len(line.split("\t") if tabbed else line.split()) for _, line in body[:2000])
        most = max(widths)
        header: list[str] = []
        for line in reversed(comments):
            cells = [c.strip() for c in (line[1:].split("\t") if tabbed else line[1:].split())]
            if len(cells) == most >= 2 and all(cells):
                header = cells
                break
        count = max(len(notes), len(header))
        if count < 2:
            continue
        columns = [
            " ".join(p for p in ((header[i] if i < len(header) else ""), notes.get(i + 1, "")) if p)
            for i in range(count)
        ]
        rows = [
            (n, [c.strip() for c in (line.split("\t") if tabbed else line.split(None, count - 1))]) for n, line in body
        ]
        state.setdefault("table_from", {})[repr(source_name)] = (source[0], False)
        return columns, rows
    return None


def cited(state: dict[str, Any], source_name: Any, place: str) -> str:
    """`place` ('line 3', 'record 2') as an answer cites it: after its file's name ('work.md, line 3'; the context
    variable's name when the host named no file) when the context has several sources, as each unit's location
    is; alone otherwise (newcomer audit 87 v04: two files' items were both cited '(line 3)')."""
    if len(state["sources"]) < 2:
        return place
    return f"{state.get('files', {}).get(source_name, source_name)}, {place}"


def row_place(state: dict[str, Any], number: int, source_name: Any = None) -> str:
    """Where row `number` of the table `_column_text_rows(state, source_name)` read is, as an answer cites it:
    'line N' of a text's table (its line in the text), 'record N' of a CSV or JSON file loaded as records (its
    rows counted from 1, as a lookup's '[record 3 (chen)]' does: the file's own lines are not kept, and a header
    row, a JSON file's '[' line, a blank or a quoted line break would each shift a line number; newcomer audit
    87 v01: chen's row was cited as 'line 3', bo's), after the file's name when there are several (`cited`)."""
    origin = state.get("table_from", {}).get(repr(source_name))
    name, records = origin if origin is not None else (source_name, False)
    return cited(state, name, f"{'record' if records else 'line'} {number:,}")


def _table_source(state: dict[str, Any]) -> Any:
    """The name of the source `_column_text_rows(state)` reads its table from (a record file, or a text holding one
    markdown table); None when it reads none."""
    return next((src[0] for src in state["sources"] if _column_text_rows(state, src[0]) is not None), None)


def _pipe_tables(lines: list[str]) -> list[tuple[list[str], list[tuple[int, list[str]]]]]:
    """The markdown pipe tables in a text's lines: for each, (header cells, [(line, cells)]), the line 1-based as a
    unit's. A table is a header row with a '|', a rule row under it ('|---|---|') and the rows below it that have
    as many cells (a blank cell is ''); one with no row or a header of fewer than two named cells is none."""
    found = []
    for number in range(1, len(lines)):
        if not _table_rule(lines[number]) or "|" not in lines[number - 1]:
            continue
        header = _cells(lines[number - 1], "|")
        if len(header) < 2 or not all(header) or len(set(header)) != len(header):
            continue
        rows = []
        for at in range(number + 1, len(lines)):
            cells = _cells(lines[at], "|") if "|" in lines[at] else []
            if len(cells) != len(header):
                break
            rows.append((at + 1, cells))
        if rows:
            found.append((header, rows))
    return found


def _keyed_rows(records: list[tuple[str, dict[str, str]]]) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """(keys, [(record number, values)]) of records that all have the same two or more keys (a CSV file's rows, a
    JSON list of flat objects); the number is the record's, 1-based, as its unit's `line`, and no line of the file:
    an answer cites it as 'record N' (`row_place`). None otherwise."""
    if len(records) < 2:
        return None
    keys = list(records[0][1])
    if len(keys) < 2 or not all(keys) or any(list(fields) != keys for _, fields in records):
        return None
    return keys, [(number, list(fields.values())) for number, (_, fields) in enumerate(records, 1)]


def _column_for(noun: str, columns: list[str]) -> int | None:
    """The column a noun of the question names ("timezone" -> "TZ  Timezone name used in ..."): the one whose
    description says it earliest (a header cell first), its stop words aside; None when none or two tie."""
    want = stem(_POSSESSIVE.sub("", noun.strip(_FIELD_EDGES).lower()))
    if not want:
        return None
    places = []
    for i, column in enumerate(columns):
        # a key's parts too: "installed_size_kb" is named by "size"
        parts = [part for w in _WORD.findall(column) for part in dict.fromkeys([w, *w.split("_")]) if part]
        words = [_POSSESSIVE.sub("", w.lower()) for w in parts]
        words = [w for w in words if w not in ENGLISH_STOPWORDS]
        place = next((p for p, w in enumerate(words) if stem(w) == want or w == noun.lower()), None)
        if place is not None:
            places.append((place, i))
    if not places:  # "points" of a league table's `Pts` (audit 85 v08)
        usual = _standings_words(columns)
        short = [i for i, column in enumerate(columns) if want in usual.get(column, set())]
        return short[0] if len(short) == 1 else None
    places.sort()
    if len(places) > 1 and places[0][0] == places[1][0]:
        return None
    return places[0][1]


def column_cell(state: dict[str, Any], unit: dict[str, Any], query: str) -> str | None:
    """The cell, in the row `unit` of a record file whose comment describes its columns, of the column the
    question asks for ("Which timezone's ...": the one described as "Timezone name"), when another cell of that row
    is a value the question gives ("+4230+00131"). None otherwise (a table with a header row is checked by
    `_in_an_asked_column`)."""
    if unit["kind"] != "line" or unit.get("fields"):
        return None
    noun = _asked_noun(query)
    table = _column_text_rows(state, unit["source"]) if noun else None
    if noun is None or table is None:
        return None
    columns, rows = table
    cells = next((c for n, c in rows if n == unit["line"]), None)
    at = _column_for(noun, columns)
    if cells is None or at is None or at >= len(cells) or not cells[at]:
        return None
    given = {t.strip(_FIELD_EDGES).lower() for t in query.split()}
    if not any(c.lower() in given for i, c in enumerate(cells) if i != at and c):
        return None
    return cells[at]


def _asked_noun(query: str) -> str | None:
    """The noun a "which/what NOUN ..." question asks for ("Which timezone's principal location ..." ->
    "timezone")."""
    m = re.match(r"(?i)\s*(?:which|what)\s+([A-Za-z][\w-]*)(?:['’]s)?\b", query)
    if m is not None and m.group(1).lower() not in ENGLISH_STOPWORDS | {"kind", "type", "sort"}:
        return m.group(1)
    # "What are the coordinates of Europe/Andorra?": the noun before "of"
    m = re.match(
        r"(?i)\s*(?:which|what)\s+(?:is|are|was|were)\s+the\s+(?:[\w-]+\s+){0,2}?([A-Za-z][\w-]*)\s+(?:of|for)\b", query
    )
    return m.group(1) if m is not None else None


_SUPERLATIVE = re.compile(
    r"(?i)^\s*(?:which|what)\s+(?:one\s+of\s+the\s+)?([A-Za-z][\w-]*)(?:['’]s)?\s+(.*?)\s*\bthe\s+(most|fewest|least|"
    r"(?:largest|greatest|highest|smallest|lowest)\s+number\s+of|"
    r"(?:largest|greatest|highest|biggest|smallest|lowest)(?:\s+total)?)\s+((?:[\w-]+\s+){0,3}?[\w-]+)"
    r"(?:\s+(?:in|of)\s+(?:the|this)\s+\w+)?\s*[?.!]*\s*$"
)
""""Which license is used by the most Files stanzas?", "Which timezone covers the most countries?": the noun asked
for, the verb between, which end, and what is counted; "Which section has the largest (total) installed size?": an
amount, summed (`_MEASURED`)."""
_MEASURED = re.compile(r"(?i)\bthe\s+(?:largest|greatest|highest|biggest|smallest|lowest)\s+(?!number\s+of\b)")
"""A superlative of an amount ("the largest installed size"), not of a count: only a number column answers it."""
_PLURAL = re.compile(r"(?i)^[a-z]{3,}(?<![sui])s$")
"""A plural noun ("files", "packages", "entries"; not "status" or "class"): what a table's rows may each be."""
_NOT_COUNTED = frozenset(
    "common frequent frequently often popular important recent likely famous used well widely significant "
    "notable powerful useful basic simple".split()
)
"""What "the most" may qualify that is no count ("the most common"): an adjective, not a thing counted."""


_VERB_SUPERLATIVE = re.compile(
    r"(?i)^\s*(?:(?:which|what)\s+(?:one\s+of\s+the\s+)?(?P<noun>[A-Za-z][\w-]*)|who)\s+"
    r"(?:(?:was|were|is|are|got|gets|has\s+been|have\s+been)\s+(?=[a-z]+(?:ed|en)\b))?(?P<verb>[a-z]{3,})"
    r"\s+(?:the\s+)?(?P<end>most|fewest|least)(?:\s+(?:often|times|frequently))?\s*[?.!]*\s*$"
)
"""A superlative of a deed with no noun after it, "Which user posted most?", "Who wrote the most?", "Which station
was used most often?" (a passive participle after its auxiliary, audit 86c v10): the rows per value of the doer's
column counted, each row one deed (audit 85 v01: the README's own forum question)."""
_TALLY_COLUMN = re.compile(
    r"(?i)(?:\w+[_\s-])?(?:count|counts|times|frequency|freq|tally|visits|uses|bookings|orders|qty|quantity"
    r"|occurrences|hits)|(?:number|no|num|n)[_\s.-]*of[_\s-]\w+"
)
"""A number column that says how many times a row's thing happened ('count', 'times', 'visits', 'n_of_uses'):
"most often" over such rows is no count of rows (audit 87 v13)."""
_NO_DEED_VERBS = frozenset(
    "is are was were be been has have had does do did can could will would should may might must "
    "spent spend spends paid pays pay cost costs earned earns owed owes raised donated charged billed sold bought "
    "scored scores won wins lost weighed weighs".split()
)
"""Verbs a `_VERB_SUPERLATIVE` does not count rows for: a copula or auxiliary ("Which city is most ...?") and the
verbs of an amount ("Which user spent most?" sums money, "Which team scored most?" goals, never rows)."""
_DOER_COLUMNS = ("who", "user", "username", "author", "name", "person", "sender", "poster", "by", "owner")
"""Columns that say who did a row's deed: "Who posted most?" counts the rows per value of one."""
_ID_COLUMN = re.compile(r"(?i:(?:\w+[_\s-])?(?:id|no|nr|num|number|index|idx|seq|row|line))|#|\w*[a-z]Id")
"""A number column that numbers the rows ('id', 'post_id', 'No', 'userId'): no amount a deed may be measured by."""


def superlative(query: str) -> tuple[str, str, bool] | None:
    """(noun asked for, what is counted, fewest?) of a "which X ... the most Y" question; None for any other
    question and for "the most common/important ..." (no thing counted)."""
    m = _SUPERLATIVE.match(" ".join(query.split()))
    if m is None:
        verb = _VERB_SUPERLATIVE.match(" ".join(query.split()))
        if verb is None or verb.group("verb").lower() in _NO_DEED_VERBS:
            return None
        noun = verb.group("noun") or "who"
        if noun.lower() in ENGLISH_STOPWORDS - {"who"}:
            return None
        return noun, "rows", verb.group("end").lower() in ("fewest", "least")
    counted = m.group(4).split()
    if counted[0].lower() in _NOT_COUNTED or m.group(1).lower() in ENGLISH_STOPWORDS:
        return None
    return (
        m.group(1),
        " ".join(counted),
        m.group(3).lower() in ("fewest", "least") or m.group(3).lower().startswith(("smallest", "lowest")),
    )


def _ranked(counts: Counter[str], fewest: bool) -> list[tuple[str, int]]:
    order = sorted(counts.items(), key=lambda kv: kv[1] if fewest else -kv[1])
    return order


def _top(counts: Counter[str], fewest: bool, what: str, per: str, among: str) -> str:
    """The winner of a grouped count, or the tied winners, and what was counted."""
    order = _ranked(counts, fewest)
    best = order[0][1]
    tied = [name for name, n in order if n == best]
    runners = [f"{name} ({n:,})" for name, n in order[len(tied) : len(tied) + 3]]
    word = "fewest" if fewest else "most"
    head = tied[0] if len(tied) == 1 else ", ".join(tied[:10]) + (" (tied)" if len(tied) <= 10 else " ... (tied)")
    return (
        f"{head}\nCounted: {what} per {per}, among {among}; the {word}: {', '.join(tied[:10])} ({best:,} each)"
        + (f"; next: {', '.join(runners)}" if runners else "")
        + "."
    ).replace(" each)", ")" if len(tied) == 1 else " each)")


QUOTED_ROWS = 10
"""Stanzas or rows quoted for a "which X has the most Y" the text's fields cannot count (the user counts them)."""
_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_PATTERN_ITEM = re.compile(r"[*?\[\]]|/$")
"""An item that stands for many things, not one: a glob (`*`, `src/*.c`, `doc/?.txt`, `[ab].h`) or a directory
(`vendor/`). DEP-5's `Files: *` covers every file no other stanza lists; counting it as one file is wrong."""


def _patterns(items: list[str]) -> bool:
    return any(_PATTERN_ITEM.search(item) for item in items)


def _names_its_rows(state: dict[str, Any], source: Any, words: list[str], *, plural: bool = True) -> bool:
    """Whether `words` is one plural noun that the record file `source` calls its rows by: its name (or the name of
    the file it was loaded from, `state["files"]`) says it ("usr_bin_files.csv": files) or a comment line of it
    does ("# Packages of the archive"). Any other noun ("the most antennas" over a table of stations) may be
    something a row holds several of, or none."""
    if len(words) != 1 or (plural and not _PLURAL.search(words[0])) or source is None:
        return False
    text = next((src[1] for src in state["sources"] if src[0] == source), "")
    comments = " ".join(line for line in str(text).splitlines()[:_HEADER_LINES] if line.lstrip().startswith("#"))
    file_name = state.get("files", {}).get(source, "")  # the file a context variable was loaded from, if known
    said = _WORD.findall(re.sub(r"[_.]", " ", f"{source} {file_name}") + " " + comments)
    per = [said[i + 1] for i, w in enumerate(said[:-1]) if w.lower() in ("per", "by", "each")]
    if per:  # "files_per_user.csv": a row is a user (who has some files), not a file
        return stem(words[0].lower()) in {stem(w.lower()) for w in per}
    return stem(words[0].lower()) in {stem(w.lower()) for w in said}


def _column_for_words(words: list[str], columns: list[str]) -> int | None:
    """The column that a phrase of the question names whole ("installed size": `installed_size_kb`, not
    `size_download`, which only its last word names): the one column whose words hold every content word of the
    phrase; `_column_for` of the one word when the phrase has one. None when no column, or several, hold them all."""
    content = [w for w in words if w.lower() not in ENGLISH_STOPWORDS]
    if len(content) <= 1:
        return _column_for(words[-1], columns)
    wanted = {stem(_POSSESSIVE.sub("", w.lower())) for w in content}
    holding = [
        i
        for i, column in enumerate(columns)
        if wanted
        <= {stem(part.lower()) for w in _WORD.findall(column) for part in dict.fromkeys([w, *w.split("_")]) if part}
    ]
    return holding[0] if len(holding) == 1 else None


_ORDINAL_WORDS = {
    w: n
    for n, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), 1
    )
}
_AT_POSITION = re.compile(
    r"(?i)^\s*(?:(?:which|what)\s+(?P<noun>[a-z][\w-]*)|who)\s+(?:is|was|are|were|finished|came|ended|sits|lies|"
    r"placed|ranked|ranks|is\s+(?:placed|ranked))\s+(?:in\s+|at\s+)?(?:the\s+)?"
    r"(?P<n>\d{1,3}(?:st|nd|rd|th)|(?:" + "|".join(_ORDINAL_WORDS) + r"))\s+(?:place|position|spot)"
    r"(?:\s+(?:in|of|on)\s+(?:the|this)\s+[\w-]+)?\s*[?.!]*\s*$"
)
"""'Which team is in 4th place?', 'Who finished third?' (with 'place'): the row a position column numbers so."""
_POSITION_COLUMN = re.compile(r"(?i)^\s*(?:pos\.?|position|place|rank|ranking|rk)\s*$")
"""A column that numbers the rows' places in a ranking ('Pos' of a league table); an id ('No', '#') is none."""


def row_at_position(state: dict[str, Any], query: str) -> str | None:
    """The answer to an `_AT_POSITION` question over a table with a position column (`_POSITION_COLUMN`, e.g. a
    league table's `Pos`): the cell of the column the noun names ('team': `Team`), else the row's first column of
    words, in the one row whose position is the one asked ('4th', 'fourth' -> 4), with what was read. None when the
    question is none, the table has no such column, or no row or several hold that position (a tie)."""
    m = _AT_POSITION.match(" ".join(query.split()))
    table = (_column_text_rows(state) or _prose_table(state)) if m is not None else None
    if m is None or table is None:
        return None
    columns, rows = table
    spoken = m.group("n").lower()
    wanted = _ORDINAL_WORDS.get(spoken) or int(re.sub(r"\D", "", spoken))
    places = [i for i, c in enumerate(columns) if _POSITION_COLUMN.match(c) and not _not_numeric(rows, i)]
    if len(places) != 1:
        return None
    at = places[0]
    held = [(n, cells) for n, cells in rows if at < len(cells) and cells[at].strip().rstrip(".=") == str(wanted)]
    if len(held) != 1:
        return None
    noun = m.group("noun")
    name_at = _column_for(noun, columns) if noun else None
    if name_at is None:
        name_at = next((i for i in range(len(columns)) if i != at and _not_numeric(rows, i)), None)
    number, cells = held[0]
    if name_at is None or name_at >= len(cells) or not cells[name_at].strip():
        return None
    return (
        f"{cells[name_at].strip()}\nRead: the row whose '{columns[at]}' cell is {wanted} "
        f"({row_place(state, number)}), its "
        f"'{columns[name_at]}' cell."
    )


_HOW_MANY_OF_A_ROW = re.compile(
    r"(?i)^\s*how\s+many\s+(?P<thing>[\w(),.' -]+?)\s+(?:were|was|are|is|have\s+been|has\s+been|did\s+"
    r"(?:we|you|they|i|he|she|it)|do\s+(?:we|you|they|i)|does\s+(?:he|she|it))\s+(?P<verb>[a-z]+)"
    r"(?:\s+(?:in|on)\s+(?:the|this)\s+[\w-]+)?\s*[?.!]*\s*$"
)
"""'How many menu cards were ordered?', 'How many pens did we buy?': the quantity of the row the words name."""


def row_quantity(state: dict[str, Any], query: str) -> str | None:
    """The answer to a `_HOW_MANY_OF_A_ROW` question over a table with one quantity column (`_QUANTITY_COLUMN`:
    `Qty`, `Quantity`, ...), such as an invoice's item table: that column's cell in the one row a cell of which
    holds every content word of the thing asked ('menu cards': 'Menu cards (A4, laminated)'), with what was read.
    A row is one line of items, not one item, so its quantity, not the rows, answers (audit 86 v05). None when the
    question is none, no table or no single quantity column is there, or no row or several hold the words."""
    m = _HOW_MANY_OF_A_ROW.match(" ".join(query.split()))
    if m is None or m.group("verb").lower() == "there" or unmodelled(query):
        return None
    table = _column_text_rows(state) or _prose_table(state)
    if table is None:
        return None
    columns, rows = table
    quantity = [i for i, c in enumerate(columns) if _QUANTITY_COLUMN.match(c) and not _not_numeric(rows, i)]
    thing = {stem(w.lower()) for w in _WORD.findall(m.group("thing")) if w.lower() not in ENGLISH_STOPWORDS}
    if len(quantity) != 1 or not thing:
        return None
    at = quantity[0]
    held = [
        (n, cells, i)
        for n, cells in _item_rows(rows)
        for i, cell in enumerate(cells)
        if i != at and thing <= {stem(w.lower()) for w in _WORD.findall(cell)}
    ]
    if len({n for n, _, _ in held}) != 1 or at >= len(held[0][1]) or not _AMOUNT.fullmatch(held[0][1][at].strip()):
        return None
    number, cells, named = held[0]
    return (
        f"{cells[at].strip()}\nRead: the '{columns[at]}' cell of the row '{cells[named].strip()}' "
        f"({row_place(state, number)}); "
        "a row is one line of items, so its quantity, not the rows, is the count."
    )


def _prose_table(state: dict[str, Any]) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """(header cells, [(line, cells)]) of the one whitespace-aligned table (`aligned_table`: a header line of 3+
    cells with no digit, then 2+ lines with a digit right below it) in a plain text that is no record file, such as
    the item table of an invoice between its addresses and its totals; None when the texts hold no such table or
    several (which one a question means is a guess). Cached."""
    cache = state.setdefault("columns", {})
    if "prose table" in cache:
        found: tuple[list[str], list[tuple[int, list[str]]]] | None = cache["prose table"]
        return found
    tables = []
    for text in _plain_texts(state):
        lines = text.split("\n")
        for number, line in enumerate(lines):
            spans = [(m.start(), m.end(), m.group()) for m in _ALIGNED_GAP.finditer(line.expandtabs())]
            if len(_aligned_cells(line)) < 3 or not _header_cells(spans):
                continue
            end = number + 1
            while end < len(lines) and lines[end].strip() and re.search(r"\d", lines[end]):
                end += 1
            table = aligned_table(lines[number:end])
            if table is not None:
                header, cells = table
                tables.append((header, [(number + 2 + i, row) for i, row in enumerate(cells)]))
    cache["prose table"] = tables[0] if len(tables) == 1 else None
    return cache["prose table"]  # type: ignore[no-any-return]


def _not_numeric(rows: list[tuple[int, list[str]]], at: int) -> bool:
    """Whether column `at` is no number column: fewer than 80% of its cells are plain amounts."""
    given = [cells[at] for _, cells in rows if at < len(cells) and cells[at]]
    return not (sum(1 for c in given if _AMOUNT.fullmatch(c)) >= 0.8 * len(given) > 0)


def _largest_row(
    rows: list[tuple[int, list[str]]],
    columns: list[str],
    at: int,
    fewest: bool,
    noun: str,
    counted: str,
    place: Callable[[int], str] = lambda number: f"line {number:,}",
) -> str | None:
    """ "Which file has the largest size?" over a table whose rows are files: the row with the largest (or smallest)
    amount in column `at`, named by its first cell, with the runners-up (a total row is none, `_item_rows`). None
    on a tie for the top."""
    rows = _item_rows(rows)
    if any(at < len(cells) and cells[at].strip() and not _AMOUNT.fullmatch(cells[at]) for _, cells in rows):
        return None  # "14.2M" among byte counts: left out or read as 14.2, the top is a guess
    # the row's name: its first cell, unless that is a number (an id): then the first column of distinct words
    name_at = next(
        (
            i
            for i in range(len(columns))
            if i != at and _not_numeric(rows, i) and len({cells[i] for _, cells in rows if i < len(cells)}) == len(rows)
        ),
        None,
    )
    if not _not_numeric(rows, 0) and name_at is None:
        return None
    name_at = 0 if _not_numeric(rows, 0) or name_at is None else name_at
    amounts = []
    for number, cells in rows:
        amount = _AMOUNT.fullmatch(cells[at]) if at < len(cells) else None
        if amount is not None and name_at < len(cells) and cells[name_at]:
            amounts.append((float(amount.group(0).replace(",", "")), cells[name_at], number))
    amounts.sort(key=lambda a: a[0] if fewest else -a[0])
    if not amounts or (len(amounts) > 1 and amounts[0][0] == amounts[1][0]):
        return None
    shown = columns[at].split()[0] if columns[at] else f"column {at + 1}"
    value, name, number = amounts[0]
    runners = ", ".join(f"{n} ({v:,.10g})" for v, n, _ in amounts[1:4])
    return (
        f"{name}\nFound: the row (each taken as one {noun}) with the {'smallest' if fewest else 'largest'} "
        f"column {at + 1} ({shown}): {value:,.10g} ({place(number)}), among {len(amounts):,} rows"
        + (f"; next: {runners}" if runners else "")
        + "."
    )


_DATE_EXTREME = re.compile(
    r"(?i)^\s*(?:which|what)\s+(?P<noun>[\w-]+)\s+(?:(?:has|had|have|with|got)\s+the\s+(?P<end>earliest|latest|"
    r"oldest|newest|first|last|most\s+recent)\s+(?P<words>(?:[\w-]+\s+){0,2}[\w-]+)|(?:was|were|is|got|came)\s+"
    r"(?:(?!the\b)(?P<verb>[\w-]+)\s+)?(?:the\s+)?(?P<end2>earliest|latest|first|last|most\s+recently|"
    r"oldest|newest)(?:\s+(?:one|to\s+be\s+(?P<verb2>[\w-]+)))?)\s*[?.!]*\s*$"
    r"|^\s*who\s+(?:was\s+|were\s+)?(?!(?:was|were|is|are|came|come)\b)(?P<verb3>[\w-]+)\s+(?:the\s+)?(?P<end3>earliest|latest|first|last|most\s+recently)"
    r"\s*[?.!]*\s*$"
    r"|^\s*what(?:\s+is|\s+was|'s)\s+the\s+(?P<end4>earliest|latest|oldest|newest|first|last|most\s+recent)\s+"
    r"(?P<words4>(?:[\w-]+\s+){0,2}?[\w-]+)(?:\s+(?:in|on|of)\s+(?:the|this)\s+(?:table|list|file|sheet|data))?"
    r"\s*[?.!]*\s*$"
)
""""Which release has the earliest release date?", "Which version was released first?", "Which release is the
newest?": the noun asked for, which end, and the words (or the verb) that name the date column."""
_ISO_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
_DATE_WORDS = frozenset("date dates day time year when".split())


def _date_column(rows: list[tuple[int, list[str]]], at: int) -> bool:
    """Whether column `at` is a date column: at least two cells, and every non-empty cell an ISO date
    ("1996-06-17", "2024-03", "2024-03-01 10:00") with a month (a bare year may be a count)."""
    given = [cells[at].strip() for _, cells in rows if at < len(cells) and cells[at].strip()]
    return len(given) >= 2 and all(_ISO_DATE.fullmatch(c) and "-" in c for c in given)


def _month_of(cell: str) -> int:
    """The month (1-12) the one month name of a cell names ("late May" -> 5, "March (indoors)" -> 3); 0 for a cell
    with none or several."""
    named = [w.lower() for w in _WORD.findall(cell) if w.lower() in _MONTH_NAMES]
    order = "january february march april may june july august september october november december".split()
    return order.index(named[0]) + 1 if len(named) == 1 else 0


def _month_column(rows: list[tuple[int, list[str]]], at: int) -> bool:
    """Whether column `at` is a month column of a plan or a calendar (audit 87b v02: "Which crop is harvested
    last?" over a `Harvest` column of "June", "late May"): at least two cells, and every cell that gives a value
    (`_NO_VALUE` aside) one month name, of at most three words."""
    given = [cells[at].strip() for _, cells in rows if at < len(cells) and cells[at].strip()]
    given = [c for c in given if c.lower() not in _NO_VALUE]
    return len(given) >= 2 and all(_month_of(c) and len(_WORD.findall(c)) <= 3 for c in given)


_COLUMN_EXTREME = re.compile(
    r"(?i)^\s*(?:what|which)\s+(?:is|was|were|are)\s+the\s+(?P<end>highest|lowest|largest|smallest|biggest|greatest|"
    r"maximum|minimum|max|min)\s+(?P<column>[\w-]+(?:\s+[\w-]+){0,3}?)"
    r"(?:\s+(?:in|of|on)\s+(?:the|this|my|our)\s+[\w.-]+)?\s*[?.!]*\s*$"
)
"""'What was the highest price_per_litre?', 'What is the lowest price per litre?': a value of a number column, the
greatest or least, named by the column's own name (its words split at '_' or '-' are the same name)."""


def column_extreme(state: dict[str, Any], query: str) -> str | None:
    """The greatest or least value of a record file's number column that the question names by its whole name
    (audit 86c v04: 'the highest price_per_litre' of a fuel log is its largest cell, never its first row's), with
    the rows that hold it. None when the question is not one, no column or several are so named, or a cell of the
    column gives no plain number."""
    m = _COLUMN_EXTREME.match(" ".join(query.split()))
    table = _column_text_rows(state) if m is not None else None
    if m is None or table is None:
        return None
    columns, rows = table
    name = re.sub(r"[\s_-]+", "_", m.group("column").strip().lower())
    named = [i for i, column in enumerate(columns) if re.sub(r"[\s_-]+", "_", column.strip().lower()) == name]
    if len(named) != 1:
        return None
    at = named[0]
    rows = _item_rows(rows)  # a total or average row is no row of the column (audit 87 v11)
    cells = [(n, c[at].strip()) for n, c in rows if at < len(c) and c[at].strip()]
    if len(cells) < 2 or any(not _AMOUNT.fullmatch(cell) for _, cell in cells):
        return None  # a date, a word or an amount with a unit: no plain number to compare
    least = m.group("end").lower() in ("lowest", "smallest", "minimum", "min")
    value = (min if least else max)(float(cell.replace(",", "")) for _, cell in cells)
    top = [(n, cell) for n, cell in cells if float(cell.replace(",", "")) == value]
    shown = ", ".join(row_place(state, n) for n, _ in top)
    return (
        f"{top[0][1]}\nCompared: the {columns[at].strip()} of each of the {len(cells):,} rows; the "
        f"{'least' if least else 'greatest'} is on {shown}."
    )


def date_extreme(state: dict[str, Any], query: str) -> str | None:
    """The row of a record file (a CSV, JSON records) with the earliest or latest date in the date column the
    question names (audit 84 F5): "Which release has the earliest release date?" (the column `release`, the
    date word aside), "Which version was released first?" (the verb's column), "Which release is the newest?"
    (the one date column, when there is one), "Who joined first?" (the verb's column, audit 85 v08). Named by the
    cell of the column the noun names, else its first cell that is no number or date, with the date and how many
    rows give one; ties are all named. "What is the earliest date?" asks for the date itself (of the one date
    column, or the one the words name). None when the question is not one, no date column is named, or the file is
    no record file."""
    m = _DATE_EXTREME.match(" ".join(query.split()))
    table = _column_text_rows(state) if m else None
    if m is None or table is None:
        return None
    columns, rows = table
    rows = _item_rows(rows)
    end = (m.group("end") or m.group("end2") or m.group("end3") or m.group("end4")).lower()
    latest = end.split()[0] in ("latest", "newest", "last", "most")
    months = {i for i in range(len(columns)) if _month_column(rows, i)}
    dated = [i for i in range(len(columns)) if _date_column(rows, i) or i in months]
    words = (m.group("words") or m.group("words4") or "").split()
    verb = m.group("verb") or m.group("verb2") or m.group("verb3")
    if words and all(w.lower() in _DATE_WORDS for w in words) and m.group("words4"):
        at = dated[0] if len(dated) == 1 else None  # "What is the earliest date?": the one date column's
    elif words:
        named = [w for w in words if w.lower() not in _DATE_WORDS] or words
        at = _column_for_words(named, columns)
    elif verb:
        at = _column_for(verb, columns)
        if at is None:  # "released" names the column `release` by its stem's start
            want = stem(verb.lower())
            found = [i for i in dated if stem(columns[i].lower()).startswith(want[:5])]
            at = found[0] if len(found) == 1 else None
    else:
        at = dated[0] if len(dated) == 1 else None
    if at is None or at not in dated:
        return None
    given = [(n, cells) for n, cells in rows if at < len(cells) and cells[at].strip().lower() not in ("", *_NO_VALUE)]

    def when(cells: list[str]) -> str:  # a month column's cells compare by their month, "late May" as "May"
        return f"{_month_of(cells[at]):02d}" if at in months else cells[at].strip()

    best = (max if latest else min)(when(cells) for _, cells in given)
    top = [(n, cells) for n, cells in given if when(cells) == best]
    best = top[0][1][at].strip() if at in months else best
    if m.group("end4"):  # "What is the earliest date?" asks for the date, not for its row
        empty = len(rows) - len(given)
        left = f"; {empty:,} {'rows leave' if empty != 1 else 'row leaves'} it empty" if empty else ""
        return (
            f"{best}\nCounted: the {end} '{columns[at]}' among the {len(given):,} rows that give one{left}; "
            f"{len(top):,} row(s) give it (record {', '.join(str(n) for n, _ in top)})."
        )

    own = _column_for(m.group("noun"), columns) if m.group("noun") else None  # "Which version ...": its column
    if own in dated:  # "Which release has the latest eol?": a `release` column of dates names no row (audit 88c v03)
        own = None

    def label(cells: list[str]) -> str:
        if own is not None and own != at and own < len(cells) and cells[own].strip():
            return cells[own].strip()
        named = [
            c
            for i, c in enumerate(cells)
            if i != at and c.strip() and not _ISO_DATE.fullmatch(c.strip()) and not _AMOUNT.fullmatch(c.strip())
        ]
        return named[0] if named else cells[0]

    names = ", ".join(label(cells) for _, cells in top)
    empty = len(rows) - len(given)
    left = f"; {empty:,} {'rows leave' if empty != 1 else 'row leaves'} it empty" if empty else ""
    # a table read from a text's lines (a markdown table amid prose) numbers its rows by line, a record file by record
    shapes = zip(state["sources"], state["shapes"], strict=True)
    prose = next((shape != "records" for s, shape in shapes if s[0] == _table_source(state)), False)
    said = "line" if prose else "record"
    rows_said = "; ".join(
        f"{said} {n:,}: " + "; ".join(f"{k}: {v}" for k, v in zip(columns, cells, strict=False) if v)
        for n, cells in top
    )
    return (
        f"{names}\nCounted: the {end} '{columns[at]}' ({best}) among the {len(given):,} rows that give one{left}. "
        f"From {rows_said}"
    )


_NAMED_COLUMN_COUNT = re.compile(r"(?i)^\s*how many ([a-z][\w-]*) (?:are|is|were|was) ([a-z][\w-]*)\s*[?.!]*\s*$")
"""'How many assignments are due?': a count the words of one column's name make whole ("Assignment due")."""
_FLAG_CELLS = frozenset("yes no y n true false x ✓ ✔ ✗ done open closed".split())


def named_column_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many assignments are due?" over a table with the column "Assignment due": the rows whose cell in the
    column the question's noun and last word name whole are filled, a "-", "n/a" or "TBC" (`_NO_VALUE`) being
    empty (audit 87c v09: the '-' rows were quoted). None when no column is named so, or its cells are flags
    ("yes", "no", "x"), which a count of the filled cells would misread."""
    m = _NAMED_COLUMN_COUNT.match(" ".join(query.split()))
    if m is None or m.group(2).lower() in ENGLISH_STOPWORDS:
        return None
    table = _column_text_rows(state)
    if table is None:  # a Markdown table in prose: its rows' records, all with the same keys
        records = _item_records(_table_records(state["units"]))
        keys = {tuple(u.get("keys") or ()) for u in records}
        if len(keys) != 1:
            return None
        table = (list(keys.pop()), [(u["line"], list(u["fields"])) for u in records])
    columns, rows = table
    words = [m.group(1), m.group(2)]
    at = _column_for_words(words, columns)
    if at is None:
        return None
    wanted = {stem(_POSSESSIVE.sub("", w.lower())) for w in words}
    if {stem(w.lower()) for w in _WORD.findall(columns[at]) if w.lower() not in ENGLISH_STOPWORDS} != wanted:
        return None  # the column's name says more than the question ("Assignment due date")
    rows = _item_rows(rows)
    cells = [cells[at].strip() if at < len(cells) else "" for _, cells in rows]
    if len(cells) < 2 or any(c.lower() in _FLAG_CELLS for c in cells):
        return None
    filled = [c for c in cells if c and c.lower() not in _NO_VALUE]
    return (
        f"{len(filled):,}\nCounted: the rows whose '{columns[at]}' is filled, of {len(cells):,} rows (a "
        f"'-' or empty cell gives none): {', '.join(filled) or 'none'}."
    )


_LATEST_CELL = re.compile(
    r"(?i)^\s*(?:what|where)\s+(?:is|was|are|were)\s+the\s+(?P<end>latest|most\s+recent|last|current|newest|"
    r"first|earliest)\s+(?P<column>[\w-]+(?:\s+[\w-]+){0,2}?)\s*[?.!]*\s*$"
)
"""'What is the latest status?', 'What was the first location?': a column's cell in the latest (earliest) row."""


def latest_cell(state: dict[str, Any], query: str) -> str | None:
    """The cell of the column the question names in the row of a record file with the latest (earliest) date of
    its one date column (`_date_column`): "What is the latest status?" over a parcel's tracking log is the
    `status` of its last-dated event (audit 87c v05: NOT FOUND, as no row writes "latest"). "current" is the
    latest. None when the question names no one column other than the date's, the file has no one date column,
    or two rows tie for the date."""
    m = _LATEST_CELL.match(" ".join(query.split()))
    table = _column_text_rows(state) if m else None
    if m is None or table is None:
        return None
    columns, rows = table
    rows = _item_rows(rows)
    dated = [i for i in range(len(columns)) if _date_column(rows, i)]
    at = _column_for_words(m.group("column").split(), columns)
    if len(dated) != 1 or at is None or at == dated[0]:
        return None
    if len(m.group("end").split()) == 1 and _column_for_words([m.group("end"), *m.group("column").split()], columns):
        return None  # "What is the first name?" over a `first_name` column asks no order
    when = dated[0]
    given = [(n, cells) for n, cells in rows if when < len(cells) and cells[when].strip()]
    earliest = m.group("end").lower() in ("first", "earliest")
    best = (min if earliest else max)(cells[when].strip() for _, cells in given)
    top = [(n, cells) for n, cells in given if cells[when].strip() == best]
    if len(top) != 1 or at >= len(top[0][1]) or not top[0][1][at].strip():
        return None
    n, cells = top[0]
    said = "; ".join(f"{k}: {v}" for k, v in zip(columns, cells, strict=False) if v)
    return (
        f"{cells[at].strip()}\nCompared: the '{columns[when]}' of the {len(given):,} rows; the "
        f"{'earliest' if earliest else 'latest'} ({best}) is record {n:,}: {said}"
    )


_FIELD_EXTREME = re.compile(
    r"(?i)^\s*(?:what|which)\s+(?:is|was|are|were)\s+(?:the|her|his|its|their|my|our|your)\s+(?P<end>highest|"
    r"lowest|largest|smallest|biggest|greatest|best|worst|strongest|weakest|top|maximum|minimum)\s+"
    r"(?P<words>[\w-]+(?:\s+[\w-]+){0,2}?)\s*[?.!]*\s*$"
)
"""'What is her highest ability score?', 'Which is the lowest stat?': the greatest (least) field of one record."""


def field_extreme(state: dict[str, Any], query: str) -> str | None:
    """The key and value of the greatest (least) field of a structured record whose every field (three or more)
    is a plain number, the record under a key the question names ("ability" of `abilities`; audit 87c v05:
    "What is her highest ability score?" over a character sheet's `abilities` object was NOT FOUND). None when no
    record, or several, fit, or two fields tie."""
    m = _FIELD_EXTREME.match(" ".join(query.split()))
    if m is None:
        return None
    asked = {stem(_KEY_ABBREVIATIONS.get(w.lower(), w.lower())) for w in _WORD.findall(m.group("words"))}
    fitting = []
    for source in state["sources"]:
        for location, fields in source[2] if len(source) > 2 else ():
            keys = re.findall(r"\[['\"]([^'\"\]]+)['\"]\]", str(location))
            values = [str(v).strip() for v in fields.values()]
            # the key by its words: `saving_throws`, `savingThrows` and `saving-throws` are "saving throw" (v11)
            named = {stem(w) for w in _key_words(keys[-1])} if keys else set()
            if named and named <= asked and len(values) >= 3 and all(map(_AMOUNT.fullmatch, values)):
                fitting.append((location, fields))
    if len(fitting) != 1:
        return None
    location, fields = fitting[0]
    least = m.group("end").lower() in ("lowest", "smallest", "worst", "weakest", "minimum")
    numbers = {key: float(str(value).replace(",", "")) for key, value in fields.items()}
    best = (min if least else max)(numbers.values())
    top = [key for key, value in numbers.items() if value == best]
    if len(top) != 1:
        return None
    said = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return f"{top[0]}: {fields[top[0]]}\nCompared: the {len(fields)} fields of {location}: {said}"


_FILLED = re.compile(
    r"(?i)^\s*how\s+many\s+(?P<noun>[\w-]+)\s+(?:(?:(?P<lack>(?:don['’]?t|do\s+not|doesn['’]?t|does\s+not)\s+"
    r"(?:have|give|list|show)|lacks?)|have|has|give|list|show)\s+(?:(?P<empty>an?\s+empty|a\s+blank|"
    r"no)\s+|(?:a|an|the|any|some)\s+)?(?P<words>(?:[\w-]+\s+){0,2}?[\w-]+)(?:\s+(?P<state>filled(?:\s+in)?|"
    r"set|given|empty|blank|missing))?|(?:are|is)\s+missing\s+(?:(?:a|an|the)\s+)?(?P<missing>(?:[\w-]+\s+){0,2}?[\w-]+))"
    r"\s*[?.!]*\s*$"
)


_NO_VALUE = frozenset(
    "n/a na n.a. - -- — – none null nil (none) ? ?? tbc tbd tba unknown n/k empty (empty) (blank) blank".split()
)
"""What a cell writes for "no value" ('n/a', '-', '—', 'none') or for one not known yet ('TBC', 'TBD', 'unknown'): as
empty as an empty cell (audits 85 v07, 86 v08)."""
_ROWS_ASKED = frozenset("rows row records record entries entry lines line".split())
"""What "How many rows have an email?" counts: the rows themselves, whatever they are of (or the people of a list of
people, `_PEOPLE_NOUNS`): a count even when every row, or none, has the cell filled."""


_SHORT_FORMS = {
    "qty": "quantity",
    "amt": "amount",
    "tel": "telephone",
    "ph": "phone",
    "addr": "address",
    "desc": "description",
    "dob": "date of birth",
    "mgr": "manager",
    "dept": "department",
    "ref": "reference",
    "pct": "percentage",
    "wt": "weight",
    "ht": "height",
    "yr": "year",
    "dur": "duration",
}
"""A column header's usual short form and the word a question says for it ('qty': "How many items have a
quantity?")."""


def _filled_negation(query: str) -> bool:
    """Whether the one negation of `query` is the "no" of "How many rows have no email?", which `filled_count`
    reads (as empty cells) and `unmodelled` would have every counting rule step aside for."""
    m = _FILLED.match(" ".join(query.split()))
    if m is not None and m.group("lack") and not m.group("empty"):  # "How many people don't have an email?"
        return not unmodelled(m.string[: m.start("lack")] + "have" + m.string[m.end("lack") :])
    if m is None or (m.group("empty") or "").lower() != "no":
        return False
    return not unmodelled(m.string[: m.start("empty")] + m.string[m.end("empty") :])


_NOT_DONE_ROWS = re.compile(
    r"(?i)^\s*which\s+(?P<noun>[\w-]+)\s+(?:have|has|had)(?:n['’]t\s+(?:i|we|you|they|he|she)|\s+(?:i|we|you|they|he|"
    r"she)\s+not)\s+(?P<verb>[a-z][\w-]*)(?:\s+yet)?\s*[?.!]*\s*$"
)
"""'Which films haven't I watched yet?', 'Which books have we not read?': the rows and the verb whose column is
left empty in them."""


def unfilled_rows(state: dict[str, Any], query: str) -> str | None:
    """The rows of a table (a record file, a markdown table) whose cell in the column the question's verb names is
    empty or writes no value (`_NO_VALUE`), named by their first cell: "Which films haven't I watched yet?" over a
    watch list whose `Watched` column is blank for the films not seen (audit 87b v02). None when the question is
    no such one, no column or the row's own is named, or every row or none has the cell filled (a column of other
    meaning), or a cell is a yes/no flag."""
    m = _NOT_DONE_ROWS.match(" ".join(query.split()))
    table = _column_text_rows(state) if m is not None else None
    if m is None or table is None:
        return None
    columns, rows = table
    rows = _item_rows(rows)
    at = _column_for(m.group("verb"), columns)
    if at in (None, 0) or at == _column_for(m.group("noun"), columns):
        return None
    cells = [c[at].strip() if at < len(c) else "" for _, c in rows]
    empty = [not c or c.lower() in _NO_VALUE for c in cells]
    if all(empty) or not any(empty) or any(c.lower() in {"yes", "no", "true", "false", "y", "n", "x"} for c in cells):
        return None
    left = [(n, c) for (n, c), e in zip(rows, empty, strict=True) if e and c and c[0].strip()]
    if not left:
        return None
    loaded = next((len(src) > 2 for src in state["sources"] if src[0] == _table_source(state)), False)
    where = "; ".join(f"{c[0].strip()} ({'record' if loaded else 'line'} {n:,})" for n, c in left)
    return (
        f"{', '.join(c[0].strip() for _, c in left)}\nFound: {len(left):,} rows whose '{columns[at]}' cell is empty, "
        f"among {len(rows):,} rows: {where}."
    )


_ALWAYS_MARKED = re.compile(
    r"(?i)^\s*who\s+(?:(?:had|has|have|got)\s+(?:a\s+)?(?:full|perfect|100%)\s+(?P<word>[a-z]+)|(?:was|were|is|are)\s+"
    r"(?:(?P<mark>[a-z]+)\s+(?:every\s+(?:day|time|session|week|lesson|class)|each\s+day|on\s+all\s+days)|always\s+"
    r"(?P<mark2>[a-z]+)))\s*[?.!]*\s*$"
)
"""'Who had full attendance?', 'Who was present every day?', 'Who was always late?': the mark every cell of a
row is to hold (attendance asks for the mark that names being there, `_ATTENDANCE`)."""


def always_marked(state: dict[str, Any], query: str) -> str | None:
    """The rows of a table of marks (a register: rows of people, columns of days, cells of a few one-word marks)
    all of whose cells but the first hold the mark the question asks ("Who had full attendance?": 'Present' every
    day; audit 87b v09), named by their first cell. None when the question is no such one, the table holds no few
    marks, the mark is none of them, or no row holds it throughout."""
    m = _ALWAYS_MARKED.match(" ".join(query.split()))
    table = _column_text_rows(state) if m is not None else None
    if m is None or table is None:
        return None
    columns, rows = table
    values = {c[i].strip().lower() for _, c in rows for i in range(1, len(c)) if c[i].strip()}
    if not values or len(values) > max(3, len(rows) // 2) or not all(re.fullmatch(r"[a-z]+", v) for v in values):
        return None
    word = (m.group("word") or "").lower()
    if word:
        marks = {v for v in values if stem(v) in _ATTENDANCE} if stem(word) in _ATTENDANCE else set()
    else:
        marks = {v for v in values if stem(v) == stem((m.group("mark") or m.group("mark2")).lower())}
    if len(marks) != 1:
        return None
    mark = marks.pop()
    full = [(n, c) for n, c in rows if len(c) == len(columns) and all(x.strip().lower() == mark for x in c[1:])]
    if not full:
        return None
    loaded = next((len(src) > 2 for src in state["sources"] if src[0] == _table_source(state)), False)
    where = "; ".join(f"{c[0].strip()} ({'record' if loaded else 'line'} {n:,})" for n, c in full)
    return (
        f"{', '.join(c[0].strip() for _, c in full)}\nFound: {len(full):,} rows whose every cell but the first is "
        f"'{mark}', among {len(rows):,} rows: {where}."
    )


def filled_count(state: dict[str, Any], query: str) -> str | None:
    """How many rows of a record file have a cell in the column the question names, or have it empty (audit 84
    F5): "How many releases have a version number?" (the column `version`), "How many rows have the email
    empty?", "How many books are missing an ISBN?". A cell that writes no value ('n/a', '-', 'none', `_NO_VALUE`)
    is empty. Only a column some of whose cells are empty (any, when the question counts "rows" or "records": its
    header row is none of them) and none of whose cells is a yes/no flag (where "have" asks for the yes); None
    otherwise."""
    m = _FILLED.match(" ".join(query.split()))
    table = _column_text_rows(state) if m else None
    if m is None or table is None:
        return None
    columns, rows = table
    rows = _item_rows(rows)
    words = (m.group("words") or m.group("missing") or "").split()
    generic = _DATE_WORDS | {"number", "value", "entry", "cell", "field"}
    named = [w for w in words if w.lower() not in generic] or words
    at = _column_for_words(words, columns) if words else None
    at = _column_for_words(named, columns) if at is None and named else at
    if at is None and named:  # "have a quantity" of a `qty` column: a header's usual short form (audit 87 v10)
        spelt = [" ".join(_SHORT_FORMS.get(w.lower(), w) for w in re.split(r"([\W_]+)", c)) for c in columns]
        at = _column_for_words(named, spelt)
    if at is None or at == _column_for(m.group("noun"), columns):
        return None
    cells = [c[at].strip() if at < len(c) else "" for _, c in rows]
    cells = ["" if c.lower() in _NO_VALUE else c for c in cells]
    # "How many items have a qty?" over an `item` column: the rows are what the noun counts, as "rows" are; all of
    # them or none is a count too (a word search of the rows answered 0, audit 87 v10)
    rows_asked = m.group("noun").lower() in _ROWS_ASKED | _PEOPLE_NOUNS or _column_for(m.group("noun"), columns) == 0
    if not rows_asked and (all(cells) or not any(cells)):
        return None
    # a yes/no flag column, where "have" asks for the yes; '0' and '1' are flags only where every filled cell is one
    # (a 'qty' or 'score' column of numbers holds '0' as a number, audit 87 v10)
    filled = [c for c in cells if c]
    if any(c.lower() in {"yes", "no", "true", "false", "y", "n", "x"} for c in filled) or (
        filled and all(c in {"0", "1"} for c in filled)
    ):
        return None
    empty = bool(
        m.group("missing") or m.group("empty") or (m.group("state") or "").lower() in ("empty", "blank", "missing")
    )
    if m.group("lack"):  # "don't have an email": the empty ones; "don't have an empty email", a double negation
        if m.group("empty") or m.group("state"):
            return None
        empty = True
    n = sum(1 for c in cells if not c) if empty else sum(1 for c in cells if c)
    said = "empty" if empty else "filled"
    return (
        f"{n:,}\nCounted: rows whose '{columns[at]}' cell is {said}, among {len(rows):,} rows "
        f"({len(rows) - n:,} {'have it filled' if empty else 'leave it empty'})."
    )


def superlative_answer(state: dict[str, Any], query: str) -> str | None:
    """A "which X VERB the most Y" question over RFC 822 stanzas or a record file, answered by code: the stanzas
    (or rows) grouped by the field or column that names X and counted (stanzas that have a field Y names, or the
    items of a list column Y names, or the amounts a numeric column Y gives, summed). None when the question is not
    one, when no field or column names X, or when the text gives no count of Y (see `uncounted_superlative`)."""
    found = _superlative(state, query)
    if found is None:
        return _verb_column_row(state, query)
    return found if isinstance(found, str) else None


def _verb_column_row(state: dict[str, Any], query: str) -> str | None:
    """ "Which team won the most?", "Who sold the least?" (a verb of an amount, `_NO_DEED_VERBS`, and no noun after
    it) over a table with one row per thing: the row whose number in the column the verb names (`W` of a league
    table, `Sold`) is the greatest or least, named by the asked noun's column (for "who", a doer's column, else the
    first column of words). None when no one number column is so named, the names repeat over rows (a sum or a
    count would then be a guess), a cell of the column is no plain number, or two rows tie (audit 87 v14)."""
    m = _VERB_SUPERLATIVE.match(" ".join(query.split()))
    verb = m.group("verb").lower() if m is not None else ""
    if m is None or verb not in _NO_DEED_VERBS or verb in _AUXILIARIES:
        return None
    table = _column_text_rows(state) or _prose_table(state)
    if table is None:
        return None
    columns, rows = table[0], _item_rows(table[1])
    at = _column_for(verb, columns)
    if at is None or _not_numeric(rows, at) or len(rows) < 2:
        return None
    noun = m.group("noun")
    if noun:
        name_at = _column_for(noun, columns)
    else:
        name_at = _named_column(columns, _DOER_COLUMNS, rows)
        if name_at is None:
            name_at = next((i for i in range(len(columns)) if i != at and _not_numeric(rows, i)), None)
    if name_at is None or name_at == at or not _not_numeric(rows, name_at):
        return None
    named = [(n, cells) for n, cells in rows if max(at, name_at) < len(cells) and cells[name_at].strip()]
    if len(named) != len(rows) or len({cells[name_at].strip() for _, cells in named}) != len(named):
        return None
    if any(not _AMOUNT.fullmatch(cells[at].strip()) for _, cells in named):
        return None
    fewest = m.group("end").lower() in ("fewest", "least")
    ranked = sorted(
        ((float(cells[at].strip().replace(",", "")), cells[name_at].strip(), n) for n, cells in named),
        key=lambda r: r[0] if fewest else -r[0],
    )
    if ranked[0][0] == ranked[1][0]:
        return None
    value, name, number = ranked[0]
    runners = ", ".join(f"{who} ({v:,.10g})" for v, who, _ in ranked[1:4])
    return (
        f"{name}\nFound: the row with the {'least' if fewest else 'greatest'} '{columns[at].strip()}' (the column "
        f"'{verb}' names): {value:,.10g} (line {number:,}), among {len(ranked):,} rows; next: {runners}."
    )


def uncounted_superlative(state: dict[str, Any], query: str) -> tuple[str, list[tuple[Any, int]]] | None:
    """Why a "which X VERB the most Y" question whose field or column Y the text has is still no count of Y, and the
    (source, line) of the stanzas or rows that hold Y, to quote: Y's items are patterns (`Files: *` is every file no
    other stanza lists, `src/*`, `vendor/`: many files each, never one), or amounts that are no plain number (`10+`,
    `3-5`, `~40`, `12 kg`). None when the question is answered by `superlative_answer`, or is none."""
    found = _superlative(state, query)
    return found if isinstance(found, tuple) else None


def _superlative(state: dict[str, Any], query: str) -> str | tuple[str, list[tuple[Any, int]]] | None:
    asked = superlative(query)
    if asked is None:
        return None
    noun, counted, fewest = asked
    words = counted.split()
    measured = bool(_MEASURED.search(query))  # an amount: summed from a number column, never rows counted
    found = stanzas(state)
    if found and measured:
        return None
    if found:
        group = _stanza_field(noun, found)
        if group is None:
            return None
        kept = [s for s in found if group in s["fields"]]
        named = [_stanza_field(w, found) for w in words]
        if words[-1].lower() in _STANZA_NOUNS:
            needed = [f for f in named[:-1] if f]
            kept = [s for s in kept if all(f in s["fields"] for f in needed)]
            counts: Counter[str] = Counter(_field_value(s["fields"][group]) for s in kept)
            label = " ".join(w for w in words[:-1]) + " stanzas" if needed else "stanzas"
            what = f"{label.strip()} (RFC 822 paragraphs)"
        elif named[-1] is not None and named[-1] != group:
            items = named[-1]
            kept = [s for s in kept if items in s["fields"]]
            items_of = {
                id(s): " ".join([s["fields"][items][1], *s["fields"][items][2]]).replace(",", " ").split() for s in kept
            }
            if _patterns([i for each in items_of.values() for i in each]):  # "Files: *": every file, not one
                field_name = kept[0]["fields"][items][0]
                return (
                    f"the '{field_name}' fields list patterns (globs or folders), each of which may cover many "
                    f"{counted}: the text gives no count of {counted}",
                    [(s["source"], s["line"]) for s in sorted(kept, key=lambda s: not _patterns(items_of[id(s)]))],
                )
            counts = Counter()
            for s in kept:
                counts[_field_value(s["fields"][group])] += len(items_of[id(s)])
            what = f"items of the '{kept[0]['fields'][items][0] if kept else items}' fields"
        else:
            return None
        counts = Counter({k: n for k, n in counts.items() if k})
        if not counts:
            return None
        name = kept[0]["fields"][group][0]
        return _top(counts, fewest, what, f"'{name}' field (its first line)", f"{len(kept):,} stanzas")
    table = _column_text_rows(state) or _prose_table(state)
    if table is None:
        return None
    columns, rows = table[0], _item_rows(table[1])  # a total or average row ranks with no item (audit 87 v11)
    source_of = _table_source(state)  # the record file `table` was read from: the first whose columns are described
    deed = superlative(query) is not None and _SUPERLATIVE.match(" ".join(query.split())) is None
    # "Which station was used most often?": how often is a count of rows, never a sum (audit 86c v10)
    often = re.search(r"(?i)\b(?:most|least)\s+(?:often|frequently)\b", query) is not None
    amounts = any(not _not_numeric(rows, i) and not _ID_COLUMN.fullmatch(c.strip()) for i, c in enumerate(columns))
    if deed and not often and amounts:  # "Which team scored most?" over a goals column: a sum or a count? a guess
        return None
    group_at = _named_column(columns, _DOER_COLUMNS, rows) if deed and noun == "who" else _column_for(noun, columns)
    rows_asked = words[-1].lower() in _STANZA_NOUNS | {"rows", "lines", "row", "line"}
    count_at = None if rows_asked else _column_for_words(words, columns)
    doing = _SUPERLATIVE.match(" ".join(query.split()))
    verb = doing.group(2).strip().lower() if doing is not None else ""
    deed_verb = _VERB_SUPERLATIVE.match(" ".join(query.split())) if doing is None else None
    if often and deed_verb is not None:
        # "Which room was booked most often?" over a `bookings` column: each row gives how many times, so the
        # column is summed, never the rows counted (audit 87 v13: B's three rows of 0, 0 and 1 beat A's 3 and 2)
        by_deed = _column_for(deed_verb.group("verb").lower(), columns)
        if (
            by_deed is not None
            and _column_for(noun, columns) != by_deed
            and not _not_numeric(rows, by_deed)
            and not _ID_COLUMN.fullmatch(columns[by_deed].strip())
        ):
            rows_asked, count_at = False, by_deed
    if often and count_at is None:
        tallies = [i for i, c in enumerate(columns) if _TALLY_COLUMN.fullmatch(c.strip()) and not _not_numeric(rows, i)]
        if tallies:
            return None  # a `count` or `times` column: a row may stand for many times, or for none
    if count_at is None and not rows_asked and re.fullmatch(r"[a-z]{3,}", verb) and verb not in ENGLISH_STOPWORDS:
        # "Which team lost the most games?" over a `Lost` column: the verb names the column, "games" is what its
        # numbers count (audit 86 v05); a number column only, so "wrote the most books" over `Wrote` text is none
        by_verb = _column_for(verb, columns)
        if by_verb is not None and by_verb != group_at and not _not_numeric(rows, by_verb):
            count_at = by_verb
    if group_at is None:
        # "Which book has the most pages?" over rows that are books, with a number column `pages`: the row with the
        # largest amount, as for "the largest size" (audit 83 F6)
        most = bool(re.search(r"(?i)\bthe\s+(?:most|fewest|least)\s", query))
        if (measured or most) and count_at is not None and not _not_numeric(rows, count_at):
            return (
                _largest_row(rows, columns, count_at, fewest, noun, counted, lambda n: row_place(state, n))
                if _names_its_rows(state, source_of, [noun], plural=False)
                else None
            )
        return None
    shown = columns[group_at].split()[0] if columns[group_at] else f"column {group_at + 1}"
    counts = Counter()
    if count_at is not None and count_at != group_at:
        given = [cells[count_at] for _, cells in rows if count_at < len(cells) and cells[count_at]]
        numeric = sum(1 for c in given if _AMOUNT.fullmatch(c)) >= 0.8 * len(given) > 0
        listed = not numeric and any("," in c for c in given)
        if measured and not numeric:
            return None  # "the largest name": no amount to sum
        several = Counter(cells[group_at] for _, cells in rows if group_at < len(cells))
        summed = re.search(r"(?i)\b(?:total|sum|summed|combined|altogether|in all)\b", query)
        if measured and not summed and any(n > 1 for n in several.values()):
            return None  # "the highest temperature" per city: a sum or a maximum? (a sum of temperatures is none)
        skipped = [c for c in given if not _AMOUNT.fullmatch(c)] if numeric else []
        odd: Callable[[str], bool] = (  # the cells that make a row no count: quoted first
            (lambda c: not _AMOUNT.fullmatch(c) and re.search(r"\d", c) is not None)
            if numeric
            else (lambda c: _patterns([i.strip() for i in (c.split(",") if listed else [c])]))
        )
        held = [(n, cells[count_at]) for n, cells in rows if count_at < len(cells) and cells[count_at]]
        places = [(source_of, n) for n, cell in sorted(held, key=lambda row: not odd(row[1]))]
        if any(re.search(r"\d", c) for c in skipped):  # a sum that leaves them out, or reads them as numbers, guesses
            return (
                f"column {count_at + 1} gives amounts that are no plain number ("
                + ", ".join(repr(c) for c in [c for c in skipped if re.search(r"\d", c)][:3])
                + f"): their sum is no count of {counted}",
                places,
            )
        if not numeric and _patterns([i.strip() for c in given for i in (c.split(",") if listed else [c])]):
            return (  # "src/*", "docs/": many things each, so a count of items or rows is no count of them
                f"column {count_at + 1} holds patterns (globs or folders), each of which may cover many {counted}: "
                f"the text gives no count of {counted}",
                places,
            )
        if numeric and _unsure_sum_row(rows, count_at):
            return None
        for _, cells in rows:
            if group_at >= len(cells) or count_at >= len(cells):
                continue
            if numeric:  # "the most goals": the amounts a column gives, summed per value, not the rows counted
                amount = _AMOUNT.fullmatch(cells[count_at])
                if amount is not None:
                    value = float(amount.group(0).replace(",", ""))
                    counts[cells[group_at]] += int(value) if value.is_integer() else value  # type: ignore[assignment]
            elif listed:  # a list column: the row's items count ("AE,OM,RE": 3 countries)
                counts[cells[group_at]] += len([c for c in cells[count_at].split(",") if c.strip()])
            else:  # one value a row: the rows count, per value of the grouping column (or each of its items)
                for key in (k.strip() for k in cells[group_at].split(",")):
                    counts[key] += 1
        what = (
            f"the amounts of column {count_at + 1}, summed"
            + (
                f" ({len(skipped):,} cell(s) giving no number left out: {', '.join(map(repr, skipped[:3]))})"
                if skipped
                else ""
            )
            if numeric
            else f"the comma-separated items of column {count_at + 1}"
            if listed
            else "rows"
        )
    elif (rows_asked or (count_at is None and _names_its_rows(state, source_of, words))) and not measured:
        # "the most files" over "usr_bin_files.csv": a row is one of them, as "how many files have ..." counts them
        for _, cells in rows:
            if group_at < len(cells):
                for key in (k.strip() for k in cells[group_at].split(",")):
                    counts[key] += 1
        what = "rows" if rows_asked else f"rows (each taken as one of the {counted})"
    else:
        return None
    counts = Counter({k: n for k, n in counts.items() if k})
    if not counts:
        return None
    return _top(counts, fewest, what, f"value of column {group_at + 1} ({shown})", f"{len(rows):,} rows")


_ASKS_TOTAL = re.compile(
    r"(?i)\b(?:total|sum|altogether|combined|in all)\b|\bhow much\b.*\b(?:spen[dt]|spending|paid|pay|cost|costs)\b"
)
"""A question for a sum: 'What is the total amount spent on groceries?', 'How much did I spend on rent?'."""


def group_total(state: dict[str, Any], query: str) -> str | None:
    """'How much did I spend on groceries in total?' over a table: the amounts of its one number column (or the one
    the question names, 'amount') summed over the rows whose cell is a value the question names ('groceries'),
    with the rows shown. None when the question asks no sum (`_ASKS_TOTAL`), the text is no table, no value or
    several values of different columns are named, or no single number column is there to sum."""
    if not _ASKS_TOTAL.search(query) or unmodelled(query) or superlative(query) is not None:
        return None
    table = _column_text_rows(state)
    if table is None:
        return None
    columns, rows = _money_cells(table[0], _item_rows(table[1]))
    asked = " " + " ".join(w.lower() for w in _WORD.findall(query)) + " "
    named: dict[tuple[int, str], list[tuple[int, list[str]]]] = {}
    for number, cells in rows:
        for at, cell in enumerate(cells):
            value = " ".join(_WORD.findall(cell.lower()))
            if (
                value
                and not _AMOUNT.fullmatch(cell.strip())
                and f" {value} " in asked
                and value not in ENGLISH_STOPWORDS
                and _column_for(value, columns) is None  # 'amount' names a column, no value
            ):
                named.setdefault((at, value), []).append((number, cells))
    if len(named) != 1:
        return None  # no value named, or two ('rent' and 'groceries'): which sum is asked is a guess
    (at, value), kept = next(iter(named.items()))
    total_at = _amount_column(columns, rows, query, at)
    if total_at is None:
        return None
    currency_at = _currency_at(columns, rows)
    if len(_currencies(kept, currency_at)) > 1:
        return None  # euros and dollars: no one sum
    quantity_at = _quantity_at(columns, rows, total_at)
    amounts = [
        (n, _row_amount(cells, total_at, quantity_at))
        for n, cells in kept
        if total_at < len(cells) and cells[total_at].strip()
    ]
    if not amounts or any(not _AMOUNT.fullmatch(a.strip()) for _, a in amounts):
        return None  # a cell giving no plain number: its sum would be a guess
    places = max((len(a.split(".")[1]) if "." in a else 0) for _, a in amounts)
    total = sum(float(a.strip().replace(",", "")) for _, a in amounts)
    shown = ", ".join(f"{a.strip()} ({row_place(state, n)})" for n, a in amounts[:20])
    header = columns[total_at].split()[0] if columns[total_at] else f"column {total_at + 1}"
    if quantity_at is not None:
        header += f" x {columns[quantity_at]}"
    return (
        f"{total:,.{places}f}\nCounted: the {header} of the {len(amounts):,} row(s) whose column {at + 1} is "
        f"'{value}', summed: {shown}."
    )


_SPENT_MOST = re.compile(
    r"(?i)^\s*(?:(?:which|what)\s+(?P<noun>[a-z][\w-]*)\s+(?:costs?|cost\s+us|did\s+\w+\s+spend|was\s+spent)"
    r"|what\s+did\s+\w+\s+spend|who\s+(?P<who>spent|paid))"
    r"\s+(?:the\s+)?(?P<end>most|least)(?:\s+money)?(?:\s+on)?(?:\s+in\s+total)?\s*[?.!]*\s*$"
)
"""A superlative of a sum over a table: 'Which category cost the most?', 'What did we spend the most on?', 'Who
paid the most?': the rows' amounts summed per value of a column, the largest (or smallest) sum named."""
_WHAT_IT_WAS = ("category", "type", "kind", "item", "what", "description", "for")
"""Columns that say what an expense was, in order of preference: "What did we spend the most on?" groups by one."""
_WHO_COLUMNS = ("who", "name", "person", "payer", "paid_by", "by", "buyer", "owner")
"""Columns that say who a row's person is: "Who paid for dinner?" reads one."""
_TOTAL_FRAME = frozenset(
    "total totals sum altogether combined all overall grand everything much spend spent spending paid pay cost "
    "costs amount amounts expense expenses money".split()
)
"""Words that only frame a question for the whole column's sum ("What is the total of all expenses?"): a question
with any other word (a value the table lacks, "taxis") is no question for the grand total."""
_WHO_DID = re.compile(r"(?i)^\s*who\s+(?:paid|bought|booked|ordered|covered|spent\s+(?:money\s+)?on)\b(?P<rest>.*)$")


def _named_column(columns: list[str], names: tuple[str, ...], rows: list[tuple[int, list[str]]]) -> int | None:
    """The first of `names` that names a column of words (no number column), by `_column_for`."""
    for name in names:
        # 'Paid by' and 'paid-by' name the column 'paid_by' names
        exact = [i for i, column in enumerate(columns) if re.sub(r"[\s-]+", "_", column.strip().lower()) == name]
        at = exact[0] if exact else _column_for(name, columns)  # 'who' is a stop word, no word _column_for reads
        if at is not None and _not_numeric(rows, at):
            return at
    return None


def _amount_column(columns: list[str], rows: list[tuple[int, list[str]]], query: str, aside: int) -> int | None:
    """The one number column to sum (not `aside`), or the one of several the question names; None otherwise."""
    numeric = [i for i in range(len(columns)) if i != aside and not _not_numeric(rows, i)]
    said = [i for i in numeric if any(_column_for(w, columns) == i for w in _WORD.findall(query))]
    if len(said) == 1:
        return said[0]
    if len(numeric) > 1:  # 'amount' over 'id', 'year': the column a sum of money is read from by its name
        numeric = [i for i in numeric if any(_column_for(n, columns) == i for n in ("amount", "cost", "price"))]
    return numeric[0] if len(numeric) == 1 else None


_TOTAL_PERIOD = (
    rf"(?:{_MONTH}(?:\s*[-/–]\s*{_MONTH})?(?:\s+\d{{4}})?|\d{{4}}(?:[-/]\d{{1,2}})?|[QH]\d|fy\s*\d{{2,4}}|ytd|mtd"
    r"|(?:this|last|next|the)?\s*(?:day|week|month|quarter|year|period|term|trip)(?:\s*\d+)?|to\s+date)"
)
"""A period a total row may be qualified with: 'May', 'Jan-Mar 2024', '2024', 'Q1', 'FY24', 'YTD', 'week 3'."""
_TOTAL_QUALIFIER = (
    r"(?:grand|sub|net|gross|overall|sum|running|final|cumulative|estimated|est\.?|approx\.?|projected|actual"
    r"|budget(?:ed)?|daily|weekly|fortnightly|monthly|quarterly|yearly|annual|" + _TOTAL_PERIOD + r")"
)
_TOTAL_ROW = re.compile(
    rf"(?i)^\W*(?:{_TOTAL_QUALIFIER}\s*-?\s*){{0,3}}totals?(?:\s*(?::|=|\s[-–—]\s).*$)?\W*"
    r"(?:(?:amount|due|cost|costs|spent|spend|paid|payable|price|value|sum|to\s+pay|so\s+far"
    r"|(?:incl|excl|inc|ex|including|excluding)\.?\s+(?:vat|tax|gst)"
    rf"|(?-i:[A-Z]{{3}})|[$€£¥₹]|(?:for|of|in)\s+.+|{_TOTAL_PERIOD})\W*)?"
    r"(?:(?:est\.?|estimated|approx\.?)\W*)?(?:\(.*\)\W*)?$"
    r"|^\W*sum\W*$"
)
"""A cell that makes its row a total of the rows above: its label is a total and nothing else ('Total',
'Subtotal', 'Grand total (EUR)', 'Total due', 'Total for May', 'Total incl. VAT'), a total of a period or an
estimate ('Monthly total', 'May total', 'Total May', 'Total Q1 (est.)'), or a total followed by a note after a
colon or a spaced dash ('Total: May (est.)', review 84 v06); a payee or item that only starts with the word
('Total Wine', 'Total rent') is an item (review 83c v02)."""
_CURRENCY_COLUMN = re.compile(r"(?i)^\s*(?:currency|currencies|ccy|cur|curr)\b")
_CURRENCY_CODE = re.compile(
    r"^(?:EUR|USD|GBP|JPY|CHF|CAD|AUD|NZD|SEK|NOK|DKK|ISK|PLN|CZK|HUF|RON|BGN|TRY|RUB|UAH|CNY|HKD|TWD|SGD|KRW|INR|"
    r"THB|IDR|MYR|PHP|VND|BRL|MXN|ARS|CLP|COP|ZAR|ILS|AED|SAR|EGP|(?:US|NZ|HK|[CASR])\$|[$€£¥₹]|kr)$"
)
"""A cell naming a currency: an ISO 4217 code of a common currency or a sign (never any three capitals, which an
airport's code, 'LHR', also is)."""
_QUANTITY_COLUMN = re.compile(
    r"(?i)^\s*(?:qty|quantity|quantities|units|pcs|pieces|count|nights|persons|people|no\.?)\b"
)
_UNIT_PRICE_COLUMN = re.compile(r"(?i)\b(?:price|rate|each|per\s+\w+|unit\s+cost|cost\s+each)\b")
_LINE_TOTAL_WORDS = re.compile(r"(?i)\b(?:total|amount|sum|subtotal|line)\b")


_SUMMARY_ROW = re.compile(
    rf"(?i)^\W*(?:[a-z]+\s+){{1,2}}totals?\W*$"
    rf"|^\W*(?:(?:{_TOTAL_QUALIFIER}|team|class|group|squad|league|column|all)\s+){{0,2}}(?:average|avg\.?|mean|median)\W*$"
    rf"|^\W*(?:{_TOTAL_QUALIFIER}\s+)?(?:average|avg\.?|mean|median)(?:\s*(?::|\(|\s[-–—]\s|(?:per|of|for)\s).*)?$"
    r"|^\W*(?:all|overall|combined|aggregate|everyone|everybody|squad|team|whole\s+(?:team|squad|class|group))\W*$"
)
"""A cell that makes its row a summary of the rows above, no item, besides `_TOTAL_ROW`: a total named by what
it totals ('Team total', 'Class total'), an average, mean or median ('Average', 'Mean (all)', 'Average per
player'), or a word for all the rows ('Overall', 'All', 'Combined', 'Squad', 'Team'); audit 87 v11: 'Team total,10'
was the greatest number of goals, review 88q v06 'Overall,88' the highest points."""
_AGGREGATE_WORD = re.compile(
    r"(?i)\b(?:all|overall|combined|aggregate|sum|totals?|everyone|everybody|squad|team|whole)\b"
)
"""A word in a row's label that may say it sums up the others ('All regions'), when its number is their sum."""


def _number(cell: str) -> float | None:
    """A cell's plain number ('1,250', '$40'), None for any other cell."""
    plain = cell.strip().strip(_CURRENCY).strip().replace(",", "")
    return float(plain) if _AMOUNT.fullmatch(plain) else None


def _sums_the_others(
    row: int, rows: list[tuple[int, list[str]]], columns: Collection[int] = (), least: int = 2
) -> bool:
    """Whether row `row`'s (its line) number in some column (of `columns`, else any) is the sum of the other rows'
    numbers there (at least `least` of them)."""
    cells = next(c for n, c in rows if n == row)
    for at, cell in enumerate(cells):
        value = _number(cell)
        others = [_number(c[at]) if at < len(c) else None for n, c in rows if n != row]
        if value is None or (columns and at not in columns) or len(others) < least or any(v is None for v in others):
            continue
        whole = sum(v for v in others if v is not None)
        if abs(value - whole) <= 1e-9 * max(1.0, abs(whole)):
            return True
    return False


def _summary_row(cells: list[str]) -> bool:
    """Whether a row's cells of words say it sums up the others: any cell a `_TOTAL_ROW` label, or its first
    filled cell, its label, a `_SUMMARY_ROW` or `_BALANCE_ROW` one (only there: 'average' is also a rating a
    column may give, 'Balance' a kind of entry)."""
    words = [c.strip() for c in cells if c.strip() and not _AMOUNT.fullmatch(c.strip())]
    if any(_TOTAL_ROW.match(c) for c in words):
        return True
    first = next((c.strip() for c in cells if c.strip()), "")
    return bool(first) and first in words and bool(_SUMMARY_ROW.match(first) or _BALANCE_ROW.match(first))


def _item_rows(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The rows that are items: a row whose cell of words says it totals the others ('Total,445,', `_TOTAL_ROW`)
    is none, summed or ranked with them it counts its items twice and tops every ranking (audit 83 v07); nor is an
    average or a team's total ('Average,34.7', 'Team total,10', `_SUMMARY_ROW`, audit 87 v11) or a balance carried
    over ('Opening balance', `_BALANCE_ROW`), nor a row whose label has a word for all the rows
    (`_AGGREGATE_WORD`) and whose number is the others' sum."""
    kept = [(n, cells) for n, cells in rows if not _summary_row(cells)]
    # 'All regions,880' under 'North,140', 'South,410', 'East,330': a label with a word for all the rows and a
    # number that is the others' sum (review 88q v05)
    return [
        (n, cells) for n, cells in kept if not (_AGGREGATE_WORD.search(_label(cells)) and _sums_the_others(n, kept))
    ]


def _unsure_sum_row(rows: list[tuple[int, list[str]]], at: int) -> bool:
    """Whether a row's number in column `at` is the sum of three or more others' there while its label says
    nothing of it ('Central,880' over 140, 410 and 330): a sum row or an item, so which tops a ranking is a guess
    (review 88q v05). Two others are too often summed by chance (10, 20, 30)."""
    if any(_number(c[at]) == 0 for _, c in rows if at < len(c)):
        return False  # zeros make chance sums common: 3 bookings, then 0, 0, 2 and 1
    return any(_sums_the_others(n, rows, (at,), least=3) for n, _ in rows)


def _label(cells: list[str]) -> str:
    """A row's first filled cell that is no number: what names it."""
    return next((c.strip() for c in cells if c.strip() and _number(c) is None), "")


_SIGNED_AMOUNT = re.compile(
    r"(?P<minus>[-−]\s?)?(?P<before>(?:US|NZ|HK|[CASR])\$|[$€£¥₹]|(?-i:[A-Z]{3})\s?)?\s*(?P<amount>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"
    r"\s*(?P<after>[$€£¥₹]|\s?(?-i:[A-Z]{3}))?"
)
"""An amount cell written with its currency: '€300', '$40.50', '40 EUR', 'GBP 12', '12€' (the sign or code on
one side only), or a negative one with its minus before the sign ('-€50', a refund: review 84c v10)."""


def _signed_amount(m: re.Match[str]) -> str:
    """The plain amount of a `_SIGNED_AMOUNT` match, negative when the minus stands before the sign ('-€50': -50);
    a minus on both sides ('-€-50') is no amount: ''."""
    amount = m.group("amount")
    if not m.group("minus"):
        return amount
    return "" if amount.startswith("-") else "-" + amount


_COMMA_AMOUNT = re.compile(
    r"(?P<before>(?:[-−]\s?)?(?:(?:US|NZ|HK|[CASR])\$|[$€£¥₹]|(?-i:[A-Z]{3}))?\s*)"
    r"(?P<amount>-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?)(?P<after>\s*(?:[$€£¥₹]|(?-i:[A-Z]{3}))?)"
)
"""An amount as the de/fr/it/es locales write it, its currency on either side: '12,50', '1.250,50', '12,50 €'."""
_DECIMAL_COMMA = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?!\d{3}$)\d+)")
"""A decimal comma no thousands separator can be: a comma before other than three digits ('12,50', '7,5'), or
after dots grouping thousands ('1.250,50'); '1,450' and '1.250' may be either, and are read as the file reads
others."""
_DECIMAL_POINT = re.compile(r"-?\d+\.(?!\d{3}$)\d+|-?\d{1,3}(?:,\d{3})+\.\d+")
"""A decimal point no thousands separator can be: '12.50', '1,250.50' (not '1.250')."""


def _decimal_points(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The rows with each amount of a decimal-comma column ('12,50', '1.250,50 €', '-7,25') written with a decimal
    point ('12.50', '1250.50 €'), as the amount readers (`_AMOUNT`) take them (audit 85 v04: European exports were
    no amounts, and their total NOT FOUND). Decided per column, over the file: a column is converted when every
    cell of it is such an amount or a whole number and the file writes a decimal comma no thousands separator can
    be (`_DECIMAL_COMMA`) and no decimal point (`_DECIMAL_POINT`); '1,450' alone stays one thousand four hundred
    fifty. Rows are returned unchanged otherwise."""
    width = max((len(cells) for _, cells in rows), default=0)
    cores: dict[int, list[str]] = {}
    for at in range(width):
        given = [cells[at].strip() for _, cells in rows if at < len(cells) and cells[at].strip()]
        found = [_COMMA_AMOUNT.fullmatch(c) for c in given]
        if given and all(m is not None for m in found):
            cores[at] = [m.group("amount") for m in found if m is not None]
    written = [c for column in cores.values() for c in column]
    # (a date, '14.03.2024', is no decimal point: only a cell that is an amount says how the file writes them)
    signed = [_SIGNED_AMOUNT.fullmatch(c.strip()) for _, cells in rows for c in cells]
    if not any(_DECIMAL_COMMA.fullmatch(c) for c in written) or any(
        m is not None and _DECIMAL_POINT.fullmatch(m.group("amount")) for m in signed
    ):
        return rows
    converted = []
    for number, cells in rows:
        cells = list(cells)
        for at in cores:
            m = _COMMA_AMOUNT.fullmatch(cells[at].strip()) if at < len(cells) and cells[at].strip() else None
            if m is not None:
                point = m.group("amount").replace(".", "").replace(",", ".")
                cells[at] = m.group("before") + point + m.group("after")
        converted.append((number, cells))
    return converted


def _money_cells(
    columns: list[str], rows: list[tuple[int, list[str]]]
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The table with each column of amounts written with their currency ('€300', '40 EUR', review 84 v07) split
    in two: the plain amounts in place and the currencies in a column added at the end ('currency'), which
    `_currency_at` then reads as any currency column (one sum per currency). A column is split only when every
    cell of it is a plain or signed amount, at least one is signed and every sign or code is a currency
    (`_CURRENCY_CODE`); the table is returned unchanged when no column is, or when it has a currency column.
    Amounts written with a decimal comma ('12,50', '1.250,50 €') are first read as points (`_decimal_points`)."""
    rows = _decimal_points(rows)
    if _currency_at(columns, rows) is not None:
        return columns, rows
    for at in range(len(columns)):
        given = [cells[at].strip() for _, cells in rows if at < len(cells) and cells[at].strip()]
        found = [_SIGNED_AMOUNT.fullmatch(c) for c in given]
        if not given or any(m is None or not _signed_amount(m) for m in found):
            continue
        signs = [(m.group("before") or m.group("after") or "").strip() for m in found if m is not None]
        if not any(signs) or any(
            (m.group("before") and m.group("after")) or (sign and not _CURRENCY_CODE.match(sign))
            for m, sign in zip(found, signs, strict=True)
            if m is not None
        ):
            continue
        known = {sign for sign in signs if sign}
        split: list[tuple[int, list[str]]] = []
        for number, cells in rows:
            cells = list(cells) + [""] * (len(columns) - len(cells))
            m = _SIGNED_AMOUNT.fullmatch(cells[at].strip()) if cells[at].strip() else None
            # an amount without its sign, or a row without an amount, is in the column's one currency when it has
            # one: an empty cell is no second currency ('385 $' summed per currency, review 84c v11)
            sign = ((m.group("before") or m.group("after") or "").strip() if m else "") or (
                next(iter(known)) if len(known) == 1 else ""
            )
            if m is not None:
                cells[at] = _signed_amount(m)
            split.append((number, [*cells, sign]))
        return [*columns, "currency"], split
    return columns, rows


def _currency_at(columns: list[str], rows: list[tuple[int, list[str]]]) -> int | None:
    """The column that names each row's currency: headed 'Currency' (`_CURRENCY_COLUMN`), or whose every cell is a
    currency code or sign ('EUR', 'USD', '$'); None when the table has none."""
    for i, column in enumerate(columns):
        given = [cells[i].strip() for _, cells in rows if i < len(cells) and cells[i].strip()]
        if given and (_CURRENCY_COLUMN.match(column) or all(_CURRENCY_CODE.match(c) for c in given)):
            return i
    return None


def _currencies(rows: list[tuple[int, list[str]]], currency_at: int | None) -> set[str]:
    """The currencies the rows' cells of column `currency_at` name (empty when there is no such column)."""
    if currency_at is None:
        return set()
    return {cells[currency_at].strip() for _, cells in rows if currency_at < len(cells)}


def _quantity_at(columns: list[str], rows: list[tuple[int, list[str]]], at: int) -> int | None:
    """The quantity column that multiplies column `at` when `at` holds a unit price ('Qty' by 'Price': the money
    spent on a row is the product, audit 83 v21); None when `at` is no unit price ('Amount', 'Total price') or no
    one number column says a quantity."""
    if not _UNIT_PRICE_COLUMN.search(columns[at]) or _LINE_TOTAL_WORDS.search(columns[at]):
        return None
    found = [i for i, c in enumerate(columns) if i != at and _QUANTITY_COLUMN.match(c) and not _not_numeric(rows, i)]
    return found[0] if len(found) == 1 else None


def _row_amount(cells: list[str], at: int, quantity_at: int | None) -> str:
    """The money a row says it spent: its cell of column `at`, times its quantity when `quantity_at` is given
    (written with the places of both factors); '' when a cell is missing, '?' when a factor is no plain amount."""
    if at >= len(cells) or not cells[at].strip():
        return ""
    if quantity_at is None:
        return cells[at]
    if quantity_at >= len(cells):
        return "?"
    price, quantity = cells[at].strip(), cells[quantity_at].strip()
    if not _AMOUNT.fullmatch(price) or not _AMOUNT.fullmatch(quantity):
        return "?"
    places = sum(len(x.split(".")[1]) if "." in x else 0 for x in (price, quantity))
    return f"{float(price.replace(',', '')) * float(quantity.replace(',', '')):.{places}f}"


def _sum(amounts: list[str]) -> tuple[float, int] | None:
    """The sum of plain amounts and the decimal places they are written with; None if a cell is no plain amount."""
    if any(not _AMOUNT.fullmatch(a.strip()) for a in amounts):
        return None
    places = max((len(a.strip().split(".")[1]) if "." in a else 0) for a in amounts)
    return sum(float(a.strip().replace(",", "")) for a in amounts), places


def _amount_words(columns: list[str], at: int, quantity_at: int | None) -> str:
    """How a report names the money of a row: 'column 2 (Amount)', or 'column 3 (Price) x column 2 (Qty)'."""
    said = f"column {at + 1} ({columns[at]})"
    return said if quantity_at is None else f"{said} x column {quantity_at + 1} ({columns[quantity_at]})"


_COSTLIEST = re.compile(
    r"(?i)^\s*(?:(?:which|what)\s+(?P<noun>[a-z][\w-]*)\s+(?:was|is|were)\s+(?:the\s+)?(?P<end>{ends})"
    r"|(?:which|what)(?:'s|\s+was|\s+is)\s+(?:the\s+)?(?P<end2>{ends})\s+(?P<noun2>[a-z][\w-]*))"
    r"(?:\s+(?:one|of\s+(?:all|them|the\s+\w+)|on\s+the\s+\w+|in\s+the\s+\w+))?\s*[?.!]*\s*$".format(
        ends=r"most\s+expensive|least\s+expensive|cheapest|priciest|costliest|dearest"
        r"|(?:largest|biggest|smallest)(?=\s+(?:expense|purchase|payment|cost|spend|transaction|bill)s?\b|\s*[?.!]*\s*$)"
    )
)
"""'Which item was the most expensive?', 'What was the cheapest purchase?', 'Which expense was the largest?': the
row of a table of expenses whose own amount is the largest (or smallest), named by what it was."""
_EXPENSE_NOUNS = frozenset("expense expenses purchase purchases payment payments cost costs spend transaction".split())
"""Nouns a question names a table's row of expenses by, no column: what the row was is read from `_WHAT_IT_WAS`."""


def _costliest_row(columns: list[str], rows: list[tuple[int, list[str]]], query: str) -> str | None:
    """The answer to a `_COSTLIEST` question over a table's item rows: the value of the column the noun names (or
    of the column that says what an expense was, `_WHAT_IT_WAS`) in the one row whose amount (times its quantity)
    is the largest or smallest, with the rows' amounts shown; None for a tie, several currencies, no such
    columns or an amount that is no plain number."""
    m = _COSTLIEST.match(" ".join(query.split()))
    if m is None:
        return None
    noun = (m.group("noun") or m.group("noun2")).lower()
    end = " ".join((m.group("end") or m.group("end2")).lower().split())
    if end in ("largest", "biggest", "smallest") and noun not in _EXPENSE_NOUNS:
        return None  # "Which city was the largest?": a size, not the money of a row
    group_at = _column_for(noun, columns)
    if group_at is None and (noun in _EXPENSE_NOUNS or noun in ("item", "items", "thing", "one")):
        group_at = _named_column(columns, _WHAT_IT_WAS, rows)
    if group_at is None or not _not_numeric(rows, group_at):
        return None
    at = _amount_column(columns, rows, query, group_at)
    if at is None or len(_currencies(rows, _currency_at(columns, rows))) > 1 or not _MONEY.search(columns[at]):
        return None
    priced = _priced_rows(rows, at, _quantity_at(columns, rows, at), group_at)
    if priced is None or len(priced) < 2:
        return None
    fewest = end.startswith(("least", "cheap", "small"))
    priced.sort(key=lambda p: p[0], reverse=not fewest)
    if priced[0][0] == priced[1][0]:
        return None  # a tie: no one row is the answer
    quantity_at = _quantity_at(columns, rows, at)
    if quantity_at is not None:  # 'most expensive' may mean its price or what the row spent: both must agree
        each = _priced_rows(rows, at, None, group_at) or []
        each.sort(key=lambda p: p[0], reverse=not fewest)
        if not each or each[0][2] != priced[0][2]:
            return None
    sums: dict[str, float] = {}
    for amount, name, _ in priced:
        sums[name] = sums.get(name, 0.0) + amount
    if len(sums) < len(priced):  # 'the most expensive category' over repeated values: its rows' sum as well
        best = sorted(sums.items(), key=lambda kv: kv[1], reverse=not fewest)
        if best[0][0] != priced[0][1] or (len(best) > 1 and best[0][1] == best[1][1]):
            return None
    shown = "; ".join(f"{name} {amount:,.2f}".rstrip("0").rstrip(".") for amount, name, _ in priced[:8])
    return (
        f"{priced[0][1]}\nCounted: the row with the {'smallest' if fewest else 'largest'} "
        f"{_amount_words(columns, at, quantity_at)} (line {priced[0][2]:,}), column {group_at + 1} "
        f"({columns[group_at]}) naming it; by amount: {shown}."
    )


_MONEY = re.compile(
    r"(?i)amount|cost|price|paid|spent|spend|total|sum|value|fee|charge|bill|expense|eur|usd|gbp|[$€£¥₹]"
)
"""A column header that names money: a row's largest number elsewhere (a population, a weight) is no price."""


def _priced_rows(
    rows: list[tuple[int, list[str]]], at: int, quantity_at: int | None, group_at: int
) -> list[tuple[float, str, int]] | None:
    """(amount, the row's cell of column `group_at`, its line) for each row with both; None when an amount is no
    plain number."""
    priced: list[tuple[float, str, int]] = []
    for number, cells in rows:
        amount = _row_amount(cells, at, quantity_at).strip().strip(_CURRENCY).strip().replace(",", "")
        name = cells[group_at].strip() if group_at < len(cells) else ""
        if not amount or not name:
            continue
        if not _AMOUNT.fullmatch(amount):
            return None
        priced.append((float(amount), name, number))
    return priced


def table_spending(state: dict[str, Any], query: str) -> str | None:
    """Three everyday questions over a table of expenses, answered by code with the rows named: the value of a
    column whose rows' amounts sum to the most or least ('Which category cost the most?', 'What did we spend the
    most on?', 'Who paid the most?', `_SPENT_MOST`); the sum of the whole number column ('What is the total of all
    expenses?', only when every other word of the question frames it, `_TOTAL_FRAME`, or names a column); and
    who paid for a thing a cell names ('Who paid for dinner?': the who column of the rows whose cell is 'dinner',
    when they name one person). None when the question is none of these, the text is no table, no single number
    column is there to sum, or the answer would be a tie or a guess."""
    if unmodelled(query):
        return None
    table = _column_text_rows(state)
    if table is None:
        return None
    columns, rows = _money_cells(table[0], _item_rows(table[1]))
    currency_at = _currency_at(columns, rows)
    currencies = _currencies(rows, currency_at)
    costliest = _costliest_row(columns, rows, query)
    if costliest is not None:
        return costliest
    m = _SPENT_MOST.match(" ".join(query.split()))
    if m is not None:
        if len(currencies) > 1:
            return None  # sums in different currencies: which is most is a guess without their rates
        if m.group("who"):
            group_at = _named_column(columns, _WHO_COLUMNS, rows)
        elif m.group("noun"):
            group_at = _column_for(m.group("noun"), columns)
        else:
            group_at = _named_column(columns, _WHAT_IT_WAS, rows)
        if group_at is None or not _not_numeric(rows, group_at):
            return None
        at = _amount_column(columns, rows, query, group_at)
        if at is None:
            return None
        quantity_at = _quantity_at(columns, rows, at)
        per: dict[str, list[str]] = {}
        for _, cells in rows:
            if max(at, group_at) < len(cells) and cells[at].strip() and cells[group_at].strip():
                per.setdefault(cells[group_at].strip(), []).append(_row_amount(cells, at, quantity_at))
        sums = {value: _sum(amounts) for value, amounts in per.items()}
        if not sums or any(v is None for v in sums.values()):
            return None
        places = max(v[1] for v in sums.values() if v is not None)
        fewest = m.group("end").lower() == "least"
        order = sorted(((v[0], k) for k, v in sums.items() if v is not None), reverse=not fewest)
        if len(order) > 1 and order[0][0] == order[1][0]:
            return None  # a tie: no one value is the answer
        listed = "; ".join(f"{k} {v:,.{places}f}" for v, k in order[:8])
        return (
            f"{order[0][1]}\nCounted: {_amount_words(columns, at, quantity_at)} summed per value of column "
            f"{group_at + 1} ({columns[group_at]}) over {len(rows):,} rows: {listed}."
        )
    words = [w.lower() for w in _WORD.findall(query)]
    if _ASKS_TOTAL.search(query):
        rest = [w for w in words if w not in ENGLISH_STOPWORDS and w not in _TOTAL_FRAME]
        if any(_column_for(w, columns) is None for w in rest):
            return None  # a word that neither frames a sum nor names a column: a value, maybe one the text lacks
        at = _amount_column(columns, rows, query, -1)
        if at is None:
            return None
        quantity_at = _quantity_at(columns, rows, at)
        kept = [(n, cells) for n, cells in rows if at < len(cells) and cells[at].strip()]
        amounts = [_row_amount(cells, at, quantity_at) for _, cells in kept]
        summed = _sum(amounts) if amounts else None
        if summed is None:
            return None
        total, places = summed
        what = _amount_words(columns, at, quantity_at)
        if len(currencies) > 1 and currency_at is not None:  # never one sum of euros and dollars (audit 83 v08)
            per_currency: dict[str, list[str]] = {}
            for (_, cells), amount in zip(kept, amounts, strict=True):
                code = cells[currency_at].strip() if currency_at < len(cells) else ""
                per_currency.setdefault(code or "(no currency)", []).append(amount)
            each = [(code, _sum(group)) for code, group in per_currency.items()]
            shown = ", ".join(f"{v[0]:,.{places}f} {code}" for code, v in each if v is not None)
            # the currencies written with the amounts make a column the file lacks (`_money_cells`): never named
            # by a number of its own (review 84c v11)
            by = (
                "the sign or code written with each amount"
                if currency_at >= len(table[0])
                else f"column {currency_at + 1}, {columns[currency_at]}"
            )
            return (
                f"{shown}\nCounted: {what} of all {len(amounts):,} rows, summed per currency ({by}); amounts in "
                "different currencies are not added up."
            )
        return f"{total:,.{places}f}\nCounted: {what} of all {len(amounts):,} rows, summed."
    who = _WHO_DID.match(query)
    who_at = _named_column(columns, _WHO_COLUMNS, rows) if who is not None else None
    if who is None or who_at is None:
        return None
    asked = " " + " ".join(_WORD.findall(who.group("rest").lower())) + " "
    named: dict[tuple[int, str], list[tuple[int, list[str]]]] = {}
    for number, cells in rows:
        for at, cell in enumerate(cells):
            value = " ".join(_WORD.findall(cell.lower()))
            if at != who_at and value and value not in ENGLISH_STOPWORDS and f" {value} " in asked:
                named.setdefault((at, value), []).append((number, cells))
    held = {w for (_, value) in named for w in value.split()}
    rest = [w for w in asked.split() if w not in ENGLISH_STOPWORDS and w not in held]
    if len(named) != 1 or rest:
        return None  # no value, two values, or a word the table does not hold ('on Sunday'): a guess
    (at, value), kept = next(iter(named.items()))
    people = {cells[who_at].strip() for _, cells in kept if who_at < len(cells) and cells[who_at].strip()}
    if len(people) != 1:
        return None
    lines = ", ".join(row_place(state, n) for n, _ in kept[:10])
    return (
        f"{people.pop()}\nFound: column {who_at + 1} ({columns[who_at]}) of the row(s) whose column {at + 1} "
        f"({columns[at]}) is '{value}': {lines}."
    )


_HOW_MANY_ROWS = re.compile(r"(?i)\s*how many (?!(?:times|occurrences|mentions|instances)\b)([\w-]+) (.+?)[?.!]*$")
_CELL_WORD = re.compile(r"(?:-|~?/|\./)?\w[\w.+:~/-]*\w|(?:~?/)?\w")
"""A word of a question as a cell may hold it: "1.0", "g++" less its end, "python3-venv", "-rwsr-xr-x", and a path
with its leading slash ("/bin/bash", "~/bin", "./configure"): without it, "bin/bash" is no cell of a passwd shell
column."""
_ASKING_VERBS = frozenset("list show name give count find tell print display get enumerate identify".split())
"""The verb a question opens with ("List the users with shell /bin/bash."): it asks, and is never a value of a cell,
though a row may be named so (Debian's `list` user)."""


_REQUEST_OBJECT = re.compile(
    r"(?i)\s*\w+\s+(?:the|a|an|all|every|each|any|some|me|us|my|our|your|its|their|his|her|these|those|this|that|"
    r"how|what|which|who|whom|whose|where|when|why|\d+|(?:one|two|three|four|five|six|seven|eight|nine|ten)\b|"
    r"(?!\w+\s+of\b)\w+s\b)"
)
"""What follows the verb of a request: a determiner, a pronoun, a question word, a number or a plural ("List the
users", "Show me ...", "Name all ...", "List users with ..."); not a singular before "of" or a preposition ("List
price of the kettle?", "Display name of bsmith?", "Show on ITV at 22:00?": a column named so)."""


def _opens_with_a_request(query: str) -> bool:
    """Whether `query` opens with the verb of a request (`_ASKING_VERBS`) and its object (`_REQUEST_OBJECT`)."""
    first = re.match(r"\s*(\w+)", query)
    return bool(first and first.group(1).lower() in _ASKING_VERBS and _REQUEST_OBJECT.match(query))


def _cell_words(query: str) -> list[str]:
    """The words of `query` as cells may hold them (`_CELL_WORD`), the verb of a request it opens with aside
    (`_opens_with_a_request`)."""
    words = _CELL_WORD.findall(query)
    return words[1:] if words and _opens_with_a_request(query) else words


def cell_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many packages have priority required?", "How many packages are in the python section?": the rows of a
    record file (a CSV loaded as rows, a table with a header row, a file whose comment names its columns) whose
    cell in one column is the value the question gives, counted. The column is the one a word of the question
    names that holds the value (or the only one that holds it, when no word names one); a cell of a
    comma-separated list column holds each of its items. None when the question is no such count, or its value is
    in no column, or in several and no word of the question picks one."""
    m = _HOW_MANY_ROWS.match(query)
    found = _rows_with_value(state, m.group(1), m.group(2)) if m else None
    if found is None:
        return None
    what, hits, rows = found
    return (
        f"{len(hits):,}\nCounted: {what} (case-insensitive; an item of a comma-separated cell counts), among {rows:,} "
        "rows."
    )


_LIST_ROWS = re.compile(
    r"(?i)\s*(?:list|show|name|give)(?: me)? (?:all )?(?:of )?(?:the )?([\w-]+) "
    r"((?:with|whose|where|having|that have|which have|that has|in)\b.+?)[?.!]*$"
)
"""'List the files with group shadow.', 'List the rows whose group is shadow.': the noun listed, and the rest."""


_WHICH_ROWS = re.compile(
    r"(?i)^\s*which\s+([\w-]+)\s+(?:are|is|were|was)\s+(?:(?!not\b|never\b)[a-z]+(?:ed|en|wn|pt|ld)\s+)?"
    r"((?:in|on|at|from|under)\s+.+?)\s*[?.!]*$"
)
"""'Which crops are grown in bed A?', 'Which films are in the drama section?': the noun listed, and where its rows
are (a participle before it, "grown", "kept", names no condition of its own)."""


def cell_list(state: dict[str, Any], query: str) -> str | None:
    """ "List the files with group shadow.": the rows of a record file that `cell_count` would count for "How many
    files have group shadow?", named by their first cell (with their line numbers), at most 50. None when the
    question is no such list, or its value is in no column (or in several, and no word of the question picks
    one)."""
    m = _LIST_ROWS.match(query) or _WHICH_ROWS.match(" ".join(query.split()))
    found = _rows_with_value(state, m.group(1), m.group(2)) if m else None
    if found is None or m is None:
        return None
    what, hits, rows = found
    # a CSV or JSON file loaded as records numbers its records, not its lines (the header row is none of them); the
    # source is the one the rows were read from, the first whose columns `_column_text_rows` reads (a JSON object
    # before it has no keyed rows)
    loaded = next((len(src) > 2 for src in state["sources"] if _column_text_rows(state, src[0]) is not None), False)
    label = "record" if loaded else "line"
    if m.re is _WHICH_ROWS and 0 < len(hits) <= 20:  # "Which crops are grown in bed A?": the rows, by name
        lines = "; ".join(f"{cells[0]} ({label} {number:,})" for number, cells in hits)
        return f"{', '.join(cells[0] for _, cells in hits)}\nFound: {len(hits):,} {what}, among {rows:,} rows: {lines}."
    names = [f"- {cells[0]} ({label} {number:,})" for number, cells in hits[:50]]
    more = f"\n(and {len(hits) - 50:,} more)" if len(hits) > 50 else ""
    return f"{len(hits):,} {what}, among {rows:,} rows (case-insensitive):\n" + "\n".join(names) + more


_ROW_FRAME = frozenset(
    "have has had are is were was come comes came belong belongs listed set given marked equal equals value "
    "column field row rows table file there total all".split()
)
"""The words a "how many ROWS VERB ... VALUE" question may hold besides its value and its column's name."""


def _rows_with_value(
    state: dict[str, Any], noun: str, said: str
) -> tuple[str, list[tuple[int, list[str]]], int] | None:
    """(what was matched, the (line, cells) of the rows whose cell in one column is the value `said` gives, how many
    rows the table has) over a record file; `noun` is what the question calls the rows ("packages"), and names a
    column only when it names their key. None when the text has no such table, or the value is in no column, or
    in several and no word of `said` picks one, or two values of one column are given."""
    if unmodelled(said) or re.match(r"(?i)\s*(?:does|do|did)\b", said):
        return None  # "How many packages does curl depend on?": curl's own cell, not the rows naming curl
    table = _column_text_rows(state)
    if table is None:
        return None
    columns, rows = table
    rest = _CELL_WORD.findall(said)
    named = {at for w in rest if w.lower() not in ENGLISH_STOPWORDS if (at := _column_for(w, columns)) is not None}
    counted_at = _column_for(noun, columns)  # "how many packages": the rows, by their key column
    if counted_at not in (None, 0):
        return None  # "How many links has passwd?": a number column's cell, not rows counted
    phrases = {
        " ".join(rest[i : i + n]).lower(): (i, i + n)
        for n in (3, 2, 1)
        for i in range(len(rest) - n + 1)
        if not all(w.lower() in ENGLISH_STOPWORDS for w in rest[i : i + n])
        # "bed A": a capital letter after the word that names its column is a value, no article
        or (n == 1 and i and re.fullmatch(r"[A-Z]", rest[i]) and _column_for(rest[i - 1], columns) is not None)
    }
    found: dict[tuple[int, str], list[int]] = {}
    for number, cells in rows:
        for at, cell in enumerate(cells):
            items = {cell.strip().lower(), *(i.strip().lower() for i in cell.split(",") if "," in cell)}
            for phrase in items & phrases.keys():
                found.setdefault((at, phrase), []).append(number)
    # a value the question gives is not the word that names its column ("priority" in a column "priority")
    pairs = [(at, phrase) for at, phrase in found if at != counted_at and _column_for(phrase, columns) != at]
    chosen = [pair for pair in pairs if pair[0] in named] if named else pairs
    if len({at for at, _ in chosen}) != 1:
        return None
    at = chosen[0][0]
    longest = max((phrase for a, phrase in chosen if a == at), key=len)
    if any(phrase != longest and phrase not in longest for a, phrase in chosen if a == at):
        return None  # two values of one column ("required or important"): no one count
    if (counted_at or 0, longest) in found:  # the value also names a row ("curl"): which way the relation runs?
        value_at = phrases[longest][0]
        column_words = [i for i, w in enumerate(rest) if _column_for(w, columns) == at]
        by_it = value_at > 0 and rest[value_at - 1].lower() == "by"  # "depended on by curl": curl is the doer
        if not column_words or value_at < column_words[0] or by_it:
            return None  # "How many packages is curl depending on?": curl's own cell, not the rows naming curl
    # every other content word must name a column or be the counting frame: "in group root are large" adds a
    # condition that this count does not apply
    used = set(_CELL_WORD.findall(longest))
    extra = [
        w
        for w in rest
        if w.lower() not in ENGLISH_STOPWORDS
        and w.lower() not in used
        and w.lower() not in _ROW_FRAME
        and _column_for(w, columns) is None
    ]
    if extra:
        return None
    hit_lines = set(found[(at, longest)])
    shown = columns[at].split()[0] if columns[at] else f"column {at + 1}"
    what = f"rows whose column {at + 1} ({shown}) is '{longest}'"
    return what, [(n, cells) for n, cells in rows if n in hit_lines], len(rows)


def _content_phrase(words: list[str]) -> str:
    """A phrase's words less its stop words, as `stem` keys joined by blanks ("of which sugars" -> "sugar")."""
    return " ".join(stem(w.lower()) for w in words if w.lower() not in ENGLISH_STOPWORDS)


def keyed_cell(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(the cell, the row's unit) a lookup over rows with named columns asks for: "What version of curl is
    installed?" over a CSV of packages, the `version` cell of the one row whose cell is `curl`. The row is the only
    one that holds a phrase of the question as a whole cell; the column is the first other one a word of the
    question names. None when the question is a count, names no such row (or several), no column, or several
    joined by "and"."""
    if re.match(r"(?i)\s*how (?:many|often)\b|\s*which \w+ (?:has|have|had|with|uses?)\b", query) or unmodelled(query):
        return None  # a count; "Which release has the series xenial?" asks for the row, not its `release` cell
    table = _column_text_rows(state) or _prose_table(state)  # a text's one blank-aligned table too (audit 87b v10)
    if table is None:
        return None
    columns, rows = table
    words = _cell_words(query)
    phrases = {
        " ".join(words[i : i + n]).lower()
        for n in (4, 3, 2, 1)
        for i in range(len(words) - n + 1)
        if not all(w.lower() in ENGLISH_STOPWORDS for w in words[i : i + n])
    }
    stemmed = {_content_phrase(p.split()) for p in phrases} - {""}
    # a cell of several words is held by its words whatever marks part them, or by its content words ("of which
    # sugars" by "sugar": a nutrition label's sub-row) ("Dune: Part Two" of "When did I watch
    # Dune: Part Two?", whose words are "Dune Part Two"; audit 87b v03)
    held = [
        (number, at)
        for number, cells in rows
        for at, cell in enumerate(cells)
        if cell.strip().lower() in phrases
        or (
            len(parts := _CELL_WORD.findall(cell)) > 1
            and (" ".join(parts).lower() in phrases or _content_phrase(parts) in stemmed)
        )
    ]
    if len({number for number, _ in held}) != 1:
        return None  # no row, or several, hold a phrase of the question whole
    number, given = held[0][0], {at for _, at in held}
    named = [
        at
        for w in words
        if w.lower() not in ENGLISH_STOPWORDS and (at := _column_for(w, columns)) is not None and at not in given
    ]
    # the first column the question names ("What version of curl is installed?": not `installed_size_kb`); two
    # asked together ("the version and the section of curl") are two answers, not one
    every = {at for w in words if w.lower() not in ENGLISH_STOPWORDS and (at := _column_for(w, columns)) is not None}
    if not named or (len(every) > 1 and re.search(r"(?i)\band\b", query)):
        return None
    at = named[0]
    attribute = _ATTRIBUTE.search(query)  # "the kernel version of X": not the `version` column, a kind of it
    if attribute is not None:
        said = [w for w in _WORD.findall(attribute.group(1)) if w.lower() not in ENGLISH_STOPWORDS]
        places = [i for i, w in enumerate(said) if _column_for(w, columns) == at]
        if places and any(_column_for(w, columns) is None for w in said[: places[0]]):
            return None
    cells = next(cells for n, cells in rows if n == number)
    kind = expected_type(query)  # "Who was the release manager of X?" is no date of its `release` column
    # (a month is a time too: "When are potatoes planted out?" over a `Plant out` cell "April", audit 87b v03)
    month = kind == "time" and any(w.lower() in _MONTH_NAMES for w in _WORD.findall(cells[at]))
    if (kind == "name" and not re.search(r"[A-Z]", cells[at])) or (
        kind in ("number", "numeral", "time") and not re.search(r"\d", cells[at]) and not month
    ):
        return None
    source = _table_source(state)
    unit = next(
        (
            u
            for u in state["units"]
            if u["line"] == number and (u["source"] == source if source is not None else u["kind"] == "line")
        ),
        None,
    )
    if at >= len(cells) or not cells[at].strip() or unit is None or not _of_the_asked_type(cells[at], query):
        return None  # "the email of curl's maintainer" is no name cell
    return cells[at].strip(), unit


_LIST_COUNT = re.compile(
    r"(?i)\s*how many ((?:[\w-]+ ){0,2}?[\w-]+)((?: (?:were|are|was|is|did|do|does|have|has|had|got|get))?"
    r"(?: [\w-]+){0,4})\s*[?.!]*$"
)
"""'How many attendees were there?', 'How many people attended the meeting?', 'How many action items are there?'."""

_LABELLED_LINE = re.compile(r"^\s*(?:[-*•]\s+)?([A-Za-z][\w '/-]{0,40}?)\s*:\s*(.*?)\s*$")
"""A line that labels what follows it: 'Attendees: Maria, Tom, Anil', 'Action items:' (its items below)."""

_ANYONE = frozenset("people persons person names items things entries ones participants members".split())
"""Counted nouns that name no label of their own: 'How many people attended?' counts the 'Attendees:' line by its
verb."""


_ANY_PERSON = frozenset("people persons person attendees guests invitees contacts names".split())
"""Nouns of a list count that ask for anyone of a list of people, never one kind of them ('volunteers', 'interns')."""
_ATTENDANCE = frozenset(
    stem(w) for w in "attendees attended attending attendance present participants participated attendants".split()
)
"""Words, as `stem` keys, that all mean who was at a meeting: a 'Present:', 'Participants:' or 'In attendance:' line
lists the attendees a question asks for by any of them (audit 82b F13, v14)."""
_NOT_THERE = frozenset(stem(w) for w in "absent absentees apologies excused missing away".split())
"""Words that ask for who was not at the meeting: no attendance label answers them."""


_STEPS = frozenset(stem(w) for w in "steps method directions instructions preparation procedure".split())
"""Words, as `stem` keys, for the steps of a recipe or a procedure: a 'Method:' or 'Directions:' list holds the steps
"How many steps are there?" asks for (audit 82b v12)."""
_LABEL_KINDS = (_ATTENDANCE, _STEPS)
"""Groups of words of which any names a list labelled by any other."""


def _label_kind(named: set[str]) -> frozenset[str]:
    """The group of `_LABEL_KINDS` a label's words all belong to (empty when none)."""
    return next((kind for kind in _LABEL_KINDS if named and named <= kind), frozenset())


def _label_fits(named: set[str], noun: set[str], asked: set[str], anyone: bool) -> bool:
    """Whether a list's label (its words as `stem` keys) is the one a list count names: every word of the label is
    a word of the question and the counted noun is the label's or a noun for anyone; or the label and the question's
    counted noun speak of one kind of list (`_LABEL_KINDS`: 'Present:' for "How many attendees were there?",
    'Method:' for "How many steps are there?"), and the question asks for no one absent."""
    if named and named <= asked and (anyone or bool(named & noun)):
        return True
    kind = _label_kind(named)
    return bool(kind & (asked if kind is _ATTENDANCE else noun)) and not asked & _NOT_THERE


_COUNT_FRAME = frozenset(
    "there total all altogether in have has had got get list listed lists meeting meetings notes note text file "
    "document page pages mentioned named given assigned open section sections heading category group part".split()
)
"""Words of a list count that name no condition on its items ("How many tasks are there in total on the list?")."""


def _for_whom(words: list[str], named: set[str]) -> list[str] | None:
    """The names a list count is asked for ("Tom" of "How many tasks does Tom have?", audit 82b F12): the
    capitalised words of the question after its noun that are no word of the label; None when a lowercase word names
    some other condition ("How many tasks are urgent?"), which no count of the list's items answers."""
    names = []
    for word in words:
        if word.lower() in ENGLISH_STOPWORDS or stem(word.lower()) in named or word.lower() in _COUNT_FRAME:
            continue
        if stem(word.lower()) in {stem(w) for w in _COUNT_FRAME}:
            continue
        if not word[:1].isupper():
            return None
        names.append(word)
    return names


_ANOTHER_LABEL = re.compile(r"[;(]\s*[A-Za-z][\w '/-]{0,30}:")
"""A label inside a list's value that starts another list: 'Ana, Ben (apologies: Dev, Eva)', '...; absent: Tom'."""
_LIST_SPLIT = re.compile(r"(?<!\d),|,(?!\d{3}(?!\d))|;|\band\b|&")
"""Where a list's items part: a comma (never a thousands separator: '1,163 kWh' is one number, audit 86c v01), a
semicolon, 'and' or '&'."""
_NO_ONE = re.compile(r"(?i)\s*(?:none|nobody|no one|no-one|nil|zero|0)\s*\.?\s*$")
"""A label's value that lists no one: 'Present: none' counts 0 items."""
_STATED_COUNT = re.compile(
    r"(?i)\s*(\d{1,6})(?:\s+(?:people|persons|attendees|participants|members|in total))?\s*\.?\s*$"
)
"""A label's value that states the count itself: 'Attendees: 12' counts 12, never one item named '12'."""


def _stated_count(value: str) -> int | None:
    """The count a label's value states instead of listing its items ('12' -> 12, 'none' -> 0); None otherwise."""
    if _NO_ONE.match(value):
        return 0
    stated = _STATED_COUNT.match(value)
    return int(stated.group(1)) if stated else None


def _outside_parentheses(value: str) -> list[str]:
    """`value` split at `_LIST_SPLIT` where no parenthesis is open ('Ana (chair, host), Ben' -> 2 pieces)."""
    pieces, depth, start, commas = [], 0, 0, []
    for m in re.finditer(r"[()]|" + _LIST_SPLIT.pattern, value):
        if m.group() == "(":
            depth += 1
        elif m.group() == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            pieces.append(value[start : m.start()])
            commas.append(m.group() == ",")
            start = m.end()
    pieces.append(value[start:])
    initials = any(_INITIALS.fullmatch(p.strip()) and not _NAME_SUFFIX.fullmatch(p.strip()) for p in pieces)
    joined: list[str] = []
    for k, piece in enumerate(pieces):  # 'Dr. Smith, Jr.': the suffix is part of the name before it, no item
        suffix = (
            joined
            and commas[k - 1]
            and len(joined[-1].split()) >= 2  # after a full name: 'AB, KC' or 'Bob, Kc' are two people
            and _NAME_SUFFIX.fullmatch(piece.strip())
            and not initials  # 'Ann Lee, KC, MD, TR': people written by their initials, as TR is
        )
        if suffix:
            joined[-1] += "," + piece.rstrip()
        else:
            joined.append(piece)
    return joined


def _joined(items: list[str]) -> str:
    """Items shown in a line: by commas, or by semicolons when one holds a comma ('Dr. Smith, Jr.; Ann Lee')."""
    return ("; " if any("," in item for item in items) else ", ").join(items)


_NAME_SUFFIX = re.compile(r"(?:Jr|JR|Sr|SR|Jnr|Snr|Esq|II|III|IV|PhD|Ph\.D|MD|M\.D|DDS|MBA|OBE|MBE|KC|QC)\.?")
"""What follows a name after its comma and is part of it, written as a suffix is ('Dr. Smith, Jr.', 'Ana Ruiz,
PhD', 'Tom Hale, III'): 'Kc' or 'md' is someone's name or initials (review 83c v03)."""
_INITIALS = re.compile(r"[A-Z]{2,3}|(?:[A-Z]\.){2,3}")
"""A list item written as a person's initials ('AB', 'J.M.'): where the others are so, 'KC' or 'MD' is one too."""


def _listed_items(value: str) -> list[str] | None:
    """The items of a list written on a label's line ('Maria, Tom and Anil' -> 3), or None when the value reads as
    prose: an item of more than four words, or one holding a function word ('move the launch to April 22'). The
    list ends where another label starts ('Ana, Ben (apologies: Dev, Eva)': Dev and Eva are no attendees), and a
    comma inside a parenthesis splits nothing ('Ana (chair, host)' is one item). A count stated instead of a list
    ('12', 'none') is no item: None (`_stated_count` reads it)."""
    if _stated_count(value) is not None:
        return None
    value = _ANOTHER_LABEL.split(value, maxsplit=1)[0]
    # (a name's suffix keeps its full stop: 'Dr. Smith, Jr.')
    items = [
        i.strip(" ;") if "," in i and _NAME_SUFFIX.fullmatch(i.rsplit(",", 1)[1].strip(" ;")) else i.strip(" .;")
        for i in _outside_parentheses(value)
    ]
    items = [i for i in items if i]
    if not items:
        return None
    for item in items:
        added = _ADDED_COUNT.match(item) or _ADDED_GROUP.match(item)  # 'Tomas plus 2 new starters': Tomas's words
        words = _WORD.findall(re.sub(r"\(.*?\)", " ", added.group("name") if added else item))
        if added and not words:
            continue  # '+ 2 interns' alone
        if not words or len(words) > 4 or any(w.lower() in ENGLISH_STOPWORDS for w in words):
            return None
    if len(items) == 1 and re.search(r"\d", items[0]) and not items[0].isdigit():
        return None  # 'Attendees: 12 (see list)' says a number, which the number rules read
    return items


_SMALL_NUMBERS = {
    w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}
_ADDED_COUNT = re.compile(
    r"(?i)^(?P<name>.*?)\s*(?:^(?=\S+\s+\w)|\+|\bplus\b|\band\b)\s*(?P<n>\d{1,3}|"
    + "|".join(_SMALL_NUMBERS)
    + r")(?:\s+(?:more|other|others|guests?|friends?|colleagues?|people|persons|visitors?|children|kids"
    r"|partners?|plus-?ones?|unnamed)){0,2}$"
)
"""A list item that adds people by their number, not by name ('Bob + 2', 'plus two guests', '+3', '2 more'): the
number counts that many more. A number alone ('500' of 'Prizes: 1,000, 500, 250') adds no one: with no '+', 'plus'
or 'and' before it and no noun after it, it is an amount or a label, never a group of people (audit 87 v05)."""
_ADDED_GROUP = re.compile(
    r"(?i)^(?P<name>.*?)\s*(?:\+|\bplus\b|\band\b)\s*(?P<n>\d{1,3}|"
    + "|".join(_SMALL_NUMBERS)
    + r")(?:\s+[a-z][\w-]*){1,2}$"
)
"""In a list of people, an item that adds a group by its number and any noun ('Cleo + 2 interns', 'plus 3 new
starters'): that many more people (audit 85 v06); in a list of things ('eggs and 6 lemons') it is one item."""
_GROUP_ALONE = re.compile(
    r"(?i)(?P<name>)(?P<n>\d{1,3}|" + "|".join(_SMALL_NUMBERS) + r")(?:\s+(?:more\s+)?[a-z][\w-]*){1,2}"
)
"""A list item that is a group of people by number and noun alone ('2 interns', 'two new starters'): after named
people ('Ann, Bob and two interns') it adds that many; a list of such groups alone is `_COUNTED_GROUP`'s."""
_OPEN_END = re.compile(
    r"(?i)^(?:and\s+|among\s+)?(?:others?|many\s+more|more|etc\.?|et\s+al\.?|and\s+so\s+on|so\s+on|\.{2,}|…"
    r"|and\s+others|various|several\s+\w+|some\s+\w+|(?:a\s+)?few\s+\w+|tbc|tbd|\?+)"
    r"(?:\s*[(\[]?\s*(?:tb[cda]|to\s+be\s+(?:confirmed|decided|announced|named)|unconfirmed|\?+)\s*[)\]]?)?$"
)
"""A list item that says the list goes on unnamed ('others', 'etc.', 'et al.', '...', 'others TBC'): no count can
be read."""
_ADDED_ONE = re.compile(
    r"(?i)^(?P<name>.*?\w.*?)\s*(?:\+|&|\bplus\b|\band\b)\s*(?:(?:his|her|their|a|an|one)\s+)?(?:husband|wife|partner"
    r"|spouse|guest|friend|date|fianc[eé]e?|boyfriend|girlfriend|son|daughter|child|kid|baby|colleague|carer|mum|mom"
    r"|dad|mother|father|brother|sister|plus-?one)$"
)
"""A list item that adds one person named by a relation, not by name ('Ann + husband', 'Bob & partner'): two
people (review 84c v08)."""
_ABSENT_MARK = re.compile(
    r"(?i)\((?:[^()]*\b)?(?:absent|apologies|apologi[sz]ed|sent\s+apologies|declined|did\s+not\s+(?:attend|come|show)"
    r"|didn'?t\s+(?:attend|come|show)|not\s+(?:present|attending|there|coming|going|joining|able\s+to\s+(?:attend|come))"
    r"|(?:can'?t|cannot|won'?t|will\s+not)\s+(?:attend|come|make\s+it|join)|unable\s+to\s+(?:attend|come)|excused"
    r"|no[-\s]show|cancell?ed|away|off\s+sick|sick|ill|unwell|poorly|not\s+well|in\s+hospital"
    r"|on\s+(?:annual\s+|sick\s+)?leave|on\s+holiday|on\s+vacation)\b[^()]*\)"
    r"|\(\s*(?:[-–—x✗✘❌]|no|n|nope|not\s+coming)\s*\)|\s[✗✘❌]\s*$"
)
"""A list item's note that says the person was not there, or will not be ('Dan (absent)', 'Eva (did not attend)',
'Cleo (not coming)', 'Bo (-)', 'Bob (no)', 'Bob (unwell)'), or a cross after it where the others carry ticks ('Bob
✗', audit 87 v07); one that denies it ('Bob (not absent, just late)') is none (`_marked_absent`)."""
_UNSURE_MARK = re.compile(
    r"(?i)\((?:[^()]*\b)?(?:maybe|perhaps|possibly|tentative(?:ly)?|unconfirmed|tb[cd]|to\s+be\s+confirmed|not\s+sure"
    r"|unsure|undecided|might\s+(?:come|attend|join|make\s+it)|hopefully|if\s+(?:free|possible|well))\b[^()]*\)"
    r"|\(\s*\?+\s*\)"
)
"""A list item's note that leaves open whether the person comes ('Bob (maybe)', 'Cleo (tbc)', 'Dan (?)'): no count of
those coming can be read (audit 87 v07)."""
_DENIED_ABSENCE = re.compile(
    r"(?i)\bnot\s+(?:absent|away|sick|ill|unwell|excused|cancell?ed|on\s+leave)\b"
    r"|\b(?:fine|better|well|ok|okay|recovered|back)\s+now\b|\bnow\s+(?:fine|better|well|ok|okay|recovered|back"
    r"|coming|attending|joining|here)\b|\b(?:but|yet)\s+(?:coming|attending|came|attended|joined|present|there|here)\b"
    r"|\brecovered\b|\b(?:absent|away|out|not\s+(?:present|there))\s+(?:for|during|from|until|till|after|before)\s+"
    r"(?:item|items|part|agenda|the\s+(?:first|last|second|start|end|break|vote|discussion)|lunch|\d)"
)
"""A note that denies the absence its words name ('not absent, just late'), says it is over ('sick last week,
fine now', 'was ill, recovered', 'unwell but coming') or was for a part only ('absent for item 3', 'away until
10:30'): the person is there (audit 87 v07)."""


def _marked_absent(item: str) -> bool:
    """Whether a list item carries a note of absence (`_ABSENT_MARK`) that does not deny it ('(not absent, late)')."""
    mark = _ABSENT_MARK.search(item)
    return mark is not None and not _DENIED_ABSENCE.search(mark.group())


_WAS_THERE_LABEL = re.compile(r"(?i)attend|present|participa|joined|there|came|turnout")
"""A label of the people who were there ('Attendees', 'Present', 'Participants'): an absent item is none of them."""


def _counted_items(
    items: list[str], label: str, people: bool = False, present: bool = False
) -> tuple[list[str], int, str] | None:
    """The items of a labelled list that count, the people added by number and a note of what was left out:
    ('Ann', 'Bob + 2') -> (['Ann', 'Bob'], 2, ...) (review 84 v08); an item marked absent ('Dan (absent)') is left
    out of a list of who was there (`_WAS_THERE_LABEL`, v09). None when no count can be read: the list goes on unnamed
    ('others', 'etc.', `_OPEN_END`), an item is a number alone ('Tickets sold: 120, 95': counts or amounts, audit 87
    v05), or an item is marked absent from a list that is no list of who was there
    ('Team: Ann, Bob (away)': Bob is on the team still). In a list of `people` a group added by number may be of
    any noun ('Cleo + 2 interns', `_ADDED_GROUP`). A count of those `present` (coming, attending: "How many guests
    are coming?") leaves an item marked absent out of a list of any label ('Guests: ..., Cleo (not coming)', audit 86
    v06)."""
    kept: list[str] = []
    added = 0
    absent: list[str] = []
    for item in items:
        bare = item.strip(" ,;")
        if _OPEN_END.match(bare) or re.search(r"(?i)(?:\betc\.?|\bet al\.?|\.{3}|…)$", bare):
            return None
        if re.fullmatch(r"\d[\d,.]*%?", bare):
            return None  # 'Tickets sold: 120, 95': a number alone may count the asked things, or be their amount
        # 'Bob (+1)', 'Bob (plus 2)': the added number in brackets adds as 'Bob +1' does (review 84c v08)
        bare = re.sub(r"(?i)\s*\(\s*((?:\+|\bplus\b)[^()]*?)\s*\)$", r" \1", bare)
        one = _ADDED_ONE.match(bare)
        if one is not None:
            added += 1
            kept.append(one.group("name").strip())
            continue
        more = _ADDED_COUNT.match(bare) or (_ADDED_GROUP.match(bare) if people else None)
        if more is None and people and kept and not any(_GROUP_ALONE.fullmatch(k.strip(" .")) for k in kept):
            more = _GROUP_ALONE.fullmatch(bare)  # 'Ann, Bob, Cleo, 2 interns': a group after the named (audit 87 v06)
        if more is not None:
            while more is not None:  # 'Cleo + 2 interns + 1 volunteer': each group adds its number (audit 87 v06)
                number = more.group("n").lower()
                added += int(number) if number.isdigit() else _SMALL_NUMBERS[number]
                bare = more.group("name").strip()
                more = (_ADDED_COUNT.match(bare) or (_ADDED_GROUP.match(bare) if people else None)) if bare else None
            if bare:
                kept.append(bare)
            continue
        if present and _UNSURE_MARK.search(bare):
            return None  # 'Bob (maybe)': whether he comes is not known, so neither is how many do (audit 87 v07)
        if _marked_absent(bare):
            if {stem(w) for w in _WORD.findall(label.lower())} & _NOT_THERE:
                kept.append(item)  # 'Absent: Dan (sick)': the note says why, of one the list counts (audit 87 v07)
                continue
            if not present and not _WAS_THERE_LABEL.search(label):
                return None
            absent.append(bare)
            continue
        kept.append(item)
    note = ""
    if added:
        note += f"; {added} more added by number"
    if absent:
        note += f"; marked absent, not counted: {_joined(absent)}"
    return kept, added, note


_GROUP_OF = re.compile(
    r"(?i)(?:^|\+|\bplus\b|\band\b)\s*(?P<n>\d{1,3}|"
    + "|".join(_SMALL_NUMBERS)
    + r")\s+(?P<noun>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s*$"
)
"""A list item's group of people by number and noun, at its end ('2 interns', 'Cleo + 2 interns', 'plus three new
starters')."""


def _groups_of_a_kind(items: list[str], kind: set[str], by_notes: bool = True) -> tuple[int, list[str]] | None:
    """For a count of one kind of people ("How many interns attended?", `kind` its noun's stems) over a list's
    items: (the sum of the numbers of its groups of that kind, each person marked of that kind counting one, the
    items that hold them) (audit 86 v06: 'Ann, Bob, Cleo + 2 interns' -> 2, never 5; audit 87 v06: 'Bob (intern),
    Cleo (intern)' -> 2, 'Cleo + 2 interns + 1 volunteer' -> 2); (0, []) when no item is a group by number or
    carries a short note (a list of names: whether the count of all of them stands is the caller's); None when
    groups or notes are written but none of the asked kind (which of the named are interns is not told). Without
    `by_notes` a note of another kind is no group ('players' of 'Bob (captain)': a captain is one of them)."""
    total, holding, grouped = 0, [], False
    for item in items:
        held = False
        for note in re.findall(r"\(([^()]*)\)", item):  # 'Bob (intern)': one of that kind; 'Ann (chair)': a note
            words = _WORD.findall(note.lower())
            if 0 < len(words) <= 3 and not _marked_absent(f"({note})"):
                grouped = grouped or by_notes
                if kind & {stem(w) for w in words}:
                    total, held, grouped = total + 1, True, True
        bare = re.sub(r"\s*\([^()]*\)", "", item).strip(" .;")
        for piece in re.split(r"(?i)\s*(?:\+|\bplus\b|\band\b)\s*", bare):
            group = _GROUP_OF.search(piece)
            if group is None:
                continue
            grouped = True
            if kind & {stem(w) for w in _WORD.findall(group.group("noun").lower())}:
                number = group.group("n").lower()
                total += int(number) if number.isdigit() else _SMALL_NUMBERS[number]
                held = True
        if held:
            holding.append(item)
    if grouped and not total:
        return None
    return total, holding


def _labelled_lines(state: dict[str, Any]) -> Iterator[tuple[list[str], int, re.Match[str], set[str]]]:
    """(the source's lines, line number (1-based), the `_LABELLED_LINE` match, the label's word stems, stop words
    aside) of every line of the plain texts that labels what follows it ('Attendees: Maria, Tom', 'Action items:')."""
    for text in _plain_texts(state):
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            label = _LABELLED_LINE.match(line)
            if label is not None:
                named = {stem(w) for w in _WORD.findall(label.group(1).lower()) if w not in ENGLISH_STOPWORDS}
                yield lines, number, label, named


def _block_titles(lines: list[str]) -> dict[int, str]:
    """The title of each block of `lines` (a run of lines with no blank line between them), keyed by the block's
    first line number (1-based): its first line when that is no 'Label: value' line ('Team A', '## Kitchen staff',
    'Team B:'), its markup aside, lowercased; '' for a block that opens with a labelled line."""
    titles: dict[int, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number > 1 and lines[number - 2].strip()):
            continue
        label = _LABELLED_LINE.match(line)
        title = _TITLE_MARKUP.match(line) if label is None or not label.group(2) else None
        titles[number] = " ".join(_WORD.findall(title.group(1).lower())) if title and len(line) <= 60 else ""
    return titles


def _named_block(lines: list[str], query: str) -> tuple[int, set[str]] | None:
    """The block of `lines` (its first line number, 1-based) whose title the question names, and the words of that
    title ("How many developers are in Team B?" over blocks titled 'Team A' and 'Team B'): by the whole title, or by a
    word of it that no other block's title holds ('kitchen' of 'Kitchen staff' beside 'Bar staff'). (0, set()) when
    the question names no block; None when it names several."""
    titles = {n: t for n, t in _block_titles(lines).items() if t}
    asked = " ".join(_WORD.findall(query.lower()))
    asked_stems = {stem(w) for w in asked.split()}
    named: dict[int, str] = {}
    for number, title in titles.items():
        others = {stem(w) for n, t in titles.items() if n != number for w in t.split()}
        own = {stem(w) for w in title.split() if w not in ENGLISH_STOPWORDS and (len(w) > 2 or w.isdigit())} - others
        if re.search(rf"(?<!\w){re.escape(title)}(?!\w)", asked) or own & asked_stems:
            named[number] = title
    if len(named) > 1:
        return None
    if not named:
        return 0, set()
    ((number, title),) = named.items()
    return number, {stem(w) for w in title.split()}


def _held_by(value: str) -> list[str] | None:
    """The people a role line's value lists (`_listed_items`), [] for a role held by no one ('(vacant)', 'TBC',
    `_NO_HOLDER`), None for prose ('see rota for cover') or a stated count."""
    return [] if _NO_HOLDER.match(value) else _listed_items(value)


def _repeated_labels(
    labelled: list[tuple[list[str], int, re.Match[str], set[str]]], query: str = ""
) -> tuple[dict[tuple[int, int], list[int]], dict[tuple[int, int], set[str]]]:
    """A label that starts several lines of a text, as an org chart's 'Embedded engineer: Paulo Reyes' and
    'Embedded engineer: Aiko Mori' do: keyed by (id of the source's lines, line number), its first counted line maps
    to the numbers (1-based) of all its counted lines and each other line to [] (audit 85 v04: one line's list alone
    counted 1). Lines in blocks apart ('Developer:' lines under 'Team A' and under 'Team B') count together too
    (audit 86 v07: the first line alone, or each line alone with the same count, answered 1), unless the question
    names one block by its title ("... in Team B?", `_named_block`): then that block's lines alone, or none where the
    named block holds none of them. Lines in blocks apart that each list several items ('Attendees: Ruth, Omar' of
    two meetings) are lists of their own unless the question names one block. The second map gives, for a first
    line so chosen, the named title's words (no condition on the items)."""
    by_label: dict[tuple[int, str], list[tuple[list[str], int]]] = {}
    for lines, number, label, _named in labelled:
        by_label.setdefault((id(lines), label.group(1).strip().lower()), []).append((lines, number))
    repeated: dict[tuple[int, int], list[int]] = {}
    titled: dict[tuple[int, int], set[str]] = {}
    for found in by_label.values():
        lines, first = found[0]
        last = found[-1][1]
        if len(found) < 2:
            continue
        numbers = [number for _lines, number in found]
        if any(not line.strip() for line in lines[first - 1 : last]):  # blocks apart
            block = _named_block(lines, query)
            values = [_LABELLED_LINE.match(lines[n - 1]) for n in numbers]
            each = [_held_by(v.group(2)) if v is not None and v.group(2) else None for v in values]
            # a line of prose or a vacancy ('Nurse: (vacant)', 'Nurse: see rota') makes no lists of their own: the
            # others would each count alone, all 1 (audit 87 v08); a line of several names does
            if block is not None and not block[0] and any(got is not None and len(got) > 1 for got in each):
                continue  # 'Attendees: Ruth, Omar' of two meetings: lists of their own, not one role's holders
            starts = sorted(_block_titles(lines))
            if block is not None and block[0]:
                end = next((n for n in starts if n > block[0]), len(lines) + 1)
                numbers = [n for n in numbers if block[0] <= n < end]
            for n in [n for _lines, n in found]:
                repeated[(id(lines), n)] = []
            if block is None or not numbers:
                continue  # several blocks named, or the named one holds no such line: no count
            titled[(id(lines), numbers[0])] = block[1]
        for n in numbers[1:]:
            repeated[(id(lines), n)] = []
        repeated[(id(lines), numbers[0])] = numbers
    return repeated, titled


def _bulleted_below(lines: list[str], number: int) -> list[str]:
    """The items of the bulleted (or numbered) list right below line `number` (1-based) of `lines`. A line
    indented under an item with no bullet of its own ('  (left early)', '   Tip: use cold milk.'), or a bullet
    indented deeper than the list's own, goes on with that item and ends no list (audit 83 v12/v13)."""
    items: list[str] = []
    item_line = ""
    depth = -1
    for below in lines[number:]:
        bullet = _ITEM_BULLET.match(below)
        if items and (
            (bullet is None and below.strip() and _continues_an_item(below, item_line))
            or (bullet is not None and len(bullet.group(1)) > depth)
        ):
            items[-1] += " " + _BULLET.sub("", below).strip()
            continue
        if not _BULLET.match(below):
            break
        if depth < 0 and bullet is not None:
            depth = len(bullet.group(1))
        item_line = below
        items.append(_BULLET.sub("", below).strip())
    return items


def list_count(state: dict[str, Any], query: str) -> str | None:
    """'How many attendees were there?' over notes with 'Attendees: Maria, Tom, Anil' (or 'Attendees:' above a
    bulleted list): the items of the one labelled list whose label's words the question names, counted, with the
    items shown. The counted noun must be a word of the label ('action items') or a noun for anyone ('people'),
    whose verb then names the label ('attended' for 'Attendees', by `stem`'s word forms). None for a table or
    structured data, when no label fits, when two lists fit with different counts, or when the value is prose."""
    m = _LIST_COUNT.match(query)
    if m is None or _table_records(state["units"]):
        return None
    noun = {stem(w) for w in _WORD.findall(m.group(1).lower()) if w not in ENGLISH_STOPWORDS}
    asked = noun | {stem(w) for w in _WORD.findall(m.group(2).lower()) if w not in ENGLISH_STOPWORDS}
    anyone = any(w in _ANYONE for w in m.group(1).lower().split())
    # '2 designers' counts 2 people, '6 eggs' one item: groups are summed only in a count of people
    of_people = bool(noun & {stem(w) for w in _PEOPLE_NOUNS | {"people", "persons", "person"}})
    found: dict[int, tuple[str, int, list[str]]] = {}
    notes: dict[int, str] = {}
    people_label = {stem(w) for w in _PEOPLE_NOUNS} | _ATTENDANCE
    labelled = list(_labelled_lines(state))
    union = _absent_union(labelled, query, several=True)
    if union is not None:  # 'Absent: Dan' and 'Apologies: Eve': both are the absent, never one list alone
        return union
    repeated, titled = _repeated_labels(labelled, query)
    for lines, number, label, named in labelled:
        members = repeated.get((id(lines), number))
        if members == []:
            continue  # a later line of a label written on several lines: counted with the first (audit 85 v04)
        of_absent = _absent_items(lines, number, label, named, query)
        if of_absent is not None:  # "How many were absent?" over 'Attendees: ..., Dan (absent)' (audit 85 v06)
            found.setdefault(len(of_absent), (f"{label.group(1).strip()}:' marked absent", number, of_absent))
            continue
        if not _label_fits(named, noun, asked, anyone):
            continue
        items: list[str] | None
        stated = _stated_count(label.group(2)) if label.group(2) else None
        if stated is not None:
            found.setdefault(stated, (f"{label.group(1).strip()}: {label.group(2).strip()}", number, []))
            continue
        # the items written on the label's line, or the bulleted lines below it
        items = _listed_items(label.group(2)) if label.group(2) else _bulleted_below(lines, number)
        twice = ""
        if members:  # 'Engineer: Ann' / 'Engineer: Bo': one list of the values of every line the label starts
            values = [_LABELLED_LINE.match(lines[at - 1]) for at in members]
            each = [_held_by(v.group(2)) if v is not None and v.group(2) else None for v in values]
            if any(got is None for got in each):
                continue  # one of its lines is prose, a stated count or a title: how many it holds is unknown
            if any(got == [] for got in each):
                twice = "; a role held by no one ('vacant', 'TBC') counted as none"
            items = [item for got in each for item in got or []]
            if len(set(items)) < len(items):  # 'Nurse: Ana Ruiz' on two lines: one person, named twice
                items = list(dict.fromkeys(items))
                twice += "; a name on two lines counted once"
        # 'people', 'guests', 'members' name anyone of a list; 'interns' one kind of its people
        # ('volunteers', 'students': a kind too where the list writes groups or notes of kinds, audit 87 v06)
        kind = noun - named - _label_kind(named) - {stem(w) for w in _ANYONE | _ANY_PERSON}
        if kind and items:  # "How many interns attended?" of 'Ann, Bob, Cleo + 2 interns': the interns alone
            # 'players', 'volunteers' (`_PEOPLE_NOUNS`) may name all of a list: a note of a role is no other kind
            of_kind = _groups_of_a_kind(items, kind, by_notes=not kind <= {stem(w) for w in _PEOPLE_NOUNS})
            if of_kind is None:
                continue  # groups of other kinds only: how many of the asked kind is not written
            above = {stem(w) for w in _WORD.findall("\n".join(lines[: number - 1]).lower())}
            if not of_kind[0] and not kind <= above | {stem(w) for w in _PEOPLE_NOUNS}:
                continue  # 'interns' over 'Attendees: Ann, Bob': no word of the text says which of them are interns
            if of_kind[0]:
                found.setdefault(of_kind[0], (f"{label.group(1).strip()}:' of the asked kind", number, of_kind[1]))
                notes[of_kind[0]] = "; their numbers summed, the people named alone of no kind said"
                continue
        people = of_people or bool(named & people_label) or bool(_WAS_THERE_LABEL.search(label.group(1)))
        present = bool(asked & (_COMING | _ATTENDANCE | {stem("present")}))
        counted = _counted_items(items, label.group(1), people, present) if items else ([], 0, "")
        if counted is None or re.search(r"(?:\.{3}|…)\s*$", label.group(2) or ""):
            continue  # 'Ann, Bob, others': how many the list holds is unknown
        items, added, note = counted
        note += twice
        # "How many people attended?" of a 'Present:' list: the verb of attendance is no condition on its items
        # "How many guests are coming?" of a 'Guests:' list: coming is what a list of guests says of them all
        whom = _for_whom(  # a block the question names by its title ("... in Team B?") is no condition either
            _WORD.findall(m.group(2)),
            named
            | _label_kind(named)
            | (_COMING if named & people_label else set())
            | titled.get((id(lines), number), set()),
        )
        if whom is None:
            continue  # the question asks for only some of its items, by a condition no count here reads
        if items and whom:  # only the items that name each of them ("Tom to send ..." for Tom's tasks)
            items = [it for it in items if all(re.search(rf"(?i)(?<!\w){re.escape(w)}(?!\w)", it) for w in whom)]
            label_text = f"{label.group(1).strip()}:' that name {' and '.join(whom)}"
        else:
            label_text = f"{label.group(1).strip()}:'"
        groups = [_COUNTED_GROUP.fullmatch(it.strip(" .")) for it in items or []] if of_people else []
        if any(groups) and not all(groups):
            continue  # '3 managers, Ann': how many the groups hold and who else is one, no count read here
        if items and not whom and groups and all(groups):  # '3 managers and 4 engineers': 7 attendees, never 2 (v08)
            value = label.group(2).strip() if label.group(2) else "; ".join(items)
            total = sum(int(g.group(1)) for g in groups if g)
            found.setdefault(total, (f"{label.group(1).strip()}: {value}", number, []))
        elif items and whom and (added or note):
            continue  # 'Bob + 2' for Bob's tasks, or an absent item: whom the added or left out are is unknown
        elif items:
            found.setdefault(len(items) + added, (label_text, number, items))
            notes[len(items) + added] = note
    if not found:  # 'Apologies: Eve' beside 'Cleo (absent)' for "How many were absent?"
        return _absent_union(labelled, query)
    if len(found) != 1:
        return None  # none fits, or two lists of different lengths do: which one is meant is a guess
    n, (label_text, number, items) = next(iter(found.items()))
    if not items and re.search(r"\d\D+\d", label_text):  # counted groups: '3 managers and 4 engineers'
        return f"{n:,}\nStated: '{label_text}' (line {number}) gives the groups' counts; their sum."
    if not items:  # the label's value states the count: 'Attendees: 12', 'Present: none'
        return f"{n:,}\nStated: '{label_text}' (line {number}) gives the count itself."
    shown = _joined(items[:20]) + (f" (and {len(items) - 20} more)" if len(items) > 20 else "")
    return f"{n:,}\nCounted: the items listed under '{label_text} (line {number}): {shown}{notes.get(n, '')}."


_OWN_ENTRIES = re.compile(
    r"(?i)\s*how many ((?:[\w-]+ ){0,2}?[\w-]+) (?:are|were|is) (?:there\s*)?"
    r"(?:(?:listed |answered |asked |covered |given |named |shown |written )?(?:in|on|under)\s+"
    r"(?:the|this|my|our|your)\s+([\w -]+?))?\s*[?.!]*$"
)
"""'How many steps are in the method?', 'How many questions are answered on this page?', 'How many people are on
the chart?', 'How many country codes are in the table?': a count of a text's own entries, by a noun and a place."""
_WHOLE_PLACES = _WHOLE_TEXT | frozenset("faq faqs chart org organisation organization sheet site report".split())
_PEOPLE_ENTRIES = frozenset(stem(w) for w in "people persons employees staff names members person".split())
_NO_ROWS = frozenset(
    stem(w)
    for w in "columns column cells cell fields field headers header words lines characters paragraphs verses".split()
)
"""Nouns of a count that are no table's rows ("How many lines are in the file?" counts its lines, comments too)."""
_CHART_WORDS = frozenset("chart org organisation organization orgchart roster team staff".split())
_QUESTION_ITEM = re.compile(r"^\s*(?:\*\*|__)?\s*(?:Q|Question)\s*\d*\s*[:.)]\s*\S")
_QUESTION_HEADING = re.compile(r"^\s*(?:#{1,6}\s+|\*\*|__|<h[1-6][^>]*>)(.*?\?)\s*(?:\*\*|__|</h[1-6]>)?\s*$")
_TITLE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|\*\*|__|<h[1-6][^>]*>)?(.*?)(?:\*\*|__|</h[1-6]>)?\s*:?\s*$")
_LIST_TAG = re.compile(r"(?i)^\s*</?(?:ul|ol)\b[^>]*>\s*$")
_LI_ITEM = re.compile(r"(?i)^(\s*)<li\b[^>]*>(.*?)(?:</li>)?\s*$")


def _question_entries(lines: list[str]) -> tuple[list[int], str] | None:
    """The line numbers (1-based) of a text's own questions and how they were told: its 'Q:' items, else its
    headings phrased as questions ('## How do I unlock a bike?'), else its lines that end in '?' each standing alone
    with a line that answers it below. None when there are fewer than two."""
    told = [
        ([n for n, line in enumerate(lines, 1) if _QUESTION_ITEM.match(line)], "its 'Q:' items"),
        ([n for n, line in enumerate(lines, 1) if _QUESTION_HEADING.match(line)], "its headings phrased as questions"),
    ]
    alone = []
    for n, line in enumerate(lines, 1):
        after = next((x.strip() for x in lines[n:] if x.strip()), "")
        if line.strip().endswith("?") and (n == 1 or not lines[n - 2].strip()) and after and not after.endswith("?"):
            alone.append(n)
    told.append((alone, "its lines ending in '?' that stand alone, each answered below"))
    return next(((found, how) for found, how in told if len(found) >= 2), None)


def _items_below(lines: list[str], number: int) -> list[str]:
    """The items (bulleted, numbered or HTML '<li>') of the list right below line `number` (1-based), a list's
    '<ul>' tags, blank lines inside it and items indented deeper (sub-items) aside."""
    items: list[str] = []
    depth = -1
    for at in range(number, len(lines)):
        line = lines[at]
        if _LIST_TAG.match(line) or (not line.strip() and not items):
            continue
        if not line.strip():
            after = next((x for x in lines[at:] if x.strip()), "")
            if _ITEM_BULLET.match(after) or _LI_ITEM.match(after):
                continue
            break
        item = _ITEM_BULLET.match(line) or _LI_ITEM.match(line)
        if item is None:
            break
        if depth < 0:
            depth = len(item.group(1))
        if len(item.group(1)) <= depth:
            items.append(re.sub(r"<[^>]+>", "", _BULLET.sub("", line)).strip())
    return items


def _titled_list(lines: list[str], place: set[str]) -> tuple[int, list[str]] | None:
    """(line number, items) of the one list right below a title whose words are `place`'s (stems), or that names
    steps as `place` does (`_STEPS`: 'Method' for "steps"): 'Method' over '1. Heat the oil...', '<h2>Line-up</h2>'
    over '<li>...' items. A list item is the title only of items indented deeper below it: over its siblings it
    is one of them (a changelog's '* Team upload.' over '* Bump Standards-Version.', audit 88g v07). None when no
    title or several fit."""
    found = []
    for n, line in enumerate(lines, 1):
        title = _TITLE_MARKUP.match(line)
        words = {stem(w) for w in _WORD.findall(title.group(1).lower())} if title and len(line) <= 60 else set()
        if words and (words == place or (_label_kind(words) == _label_kind(place) == _STEPS)):
            items = _items_below(lines, n)
            own = _ITEM_BULLET.match(line) or _LI_ITEM.match(line)
            below = next((_ITEM_BULLET.match(x) or _LI_ITEM.match(x) for x in lines[n:] if x.strip()), None)
            if own is not None and (below is None or len(below.group(1)) <= len(own.group(1))):
                continue
            if items:
                found.append((n, items))
    return found[0] if len(found) == 1 else None


_NO_HOLDER = re.compile(
    r"(?i)^\s*[(\[]?\s*(?:tb[cda]|n/?a|none|nobody|no\s+one|unknown|vacancy"
    r"|(?:position|role|post|job|seat)\s+(?:open|vacant|unfilled|empty|advertised)|(?:currently\s+)?advertised"
    r"|(?:awaiting|pending)\s+(?:an?\s+)?(?:appointment|hire|hiring|recruitment|replacement)"
    r"|(?:(?:currently|still)\s+)?(?:vacant|unfilled|open|empty|unstaffed)"
    r"|open\s+(?:role|position|post|vacancy|job|req(?:uisition)?|headcount)|(?:new\s+)?hire\s+pending"
    r"|(?:to\s+be|not\s+yet|yet\s+to\s+be|being|currently\s+being)\s+(?:hired|appointed|filled|confirmed|decided"
    r"|announced|named|recruited|advertised|replaced)|hiring|recruiting|recruitment(?:\s+(?:open|ongoing|under\s*way))?"
    r"|[-–—?]+)(?:\s+(?:since|from|until|till|as\s+of|after|by|in)\s+[\w ,./-]{1,30})?\s*[)\]]?"
    r"\s*(?:\(.*\))?\s*\.?\s*$"
)
"""A chart's role line value that names no one holding the role ('Head of Sales: TBD', 'vacant', '(vacant)', 'Open
role', 'Vacant since May', 'Not yet hired', 'Being recruited', '-'): a role, no person (audits 86 v09, 87 v09)."""
_CHART_NOTE_LABEL = re.compile(
    r"(?i)^(?:last\s+)?(?:updated|revised|reviewed|edited|changed)(?:\s+on)?$|^(?:date|as\s+of|version|source"
    r"|effective(?:\s+from)?|valid\s+from)$"
)
"""A label of a chart's own record ('Updated: May 2024', 'Version: 3'): no role, its value no person. A 'Note:' line is
none of these: its prose may speak of the people ('the post is shared')."""


_PERSON_NAME = re.compile(
    r"[A-Z][\w.'-]*(?:\s+(?:(?:de|da|di|du|del|della|der|den|dos|das|do|van|von|le|la|bin|ibn|al|el|ter|ten|zu|y)\s+){0,2}"
    r"[A-Z][\w.'-]*){0,3}\s*"
)
"""A person's name as a chart writes it: capitalised words, a particle between two of them lowercase ('Ana de
Souza', 'Jan van der Berg', audit 87 v09)."""


def _chart_people(lines: list[str]) -> list[tuple[int, str]] | None:
    """(line number, name) of each person of an org chart or roster: a text whose every line past its title is a
    'Role: Name' line (indented or not), each value a list of names (`_listed_items`, capitalised words; a note in
    brackets after a name, '(reports to CEO)', aside), or a role held by no one ('Head of Sales: TBD', `_NO_HOLDER`),
    or a note of the chart's own ('Updated: May 2024', `_CHART_NOTE_LABEL`), a line of neither of these two kinds
    counting nobody (audit 86 v09). None for any other text, or one of fewer than three role lines."""
    body = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if body and not _LABELLED_LINE.match(body[0][1]):
        body = body[1:]  # the chart's title line
    people: list[tuple[int, str]] = []
    roles = 0
    for n, line in body:
        label = _LABELLED_LINE.match(line)
        if label is not None and _CHART_NOTE_LABEL.match(label.group(1).strip()):
            continue
        if label is not None and _NO_HOLDER.match(label.group(2)):
            roles += 1
            continue
        items = _listed_items(re.sub(r"\s*\([^()]*\)", "", label.group(2))) if label is not None else None
        if not items or not all(_PERSON_NAME.fullmatch(item) for item in items):
            return None
        if any(_NO_HOLDER.match(item) for item in items):
            return None  # 'Ann, TBD': whether a second holder is to come is no count of people
        roles += 1
        people += [(n, item) for item in items]
    return people if roles >= 3 else None


def _table_rows(lines: list[str]) -> tuple[list[int], str] | None:
    """The line numbers (1-based) of a delimited table's rows (tab, '|' or ';' between the cells, as many cells on
    each row), '#' comment lines and its header row aside, and what was set aside. The header is a markdown table's
    first row (over its rule row), none when a comment above the rows holds the delimiter ('#code <TAB> name'), else
    the first row when its cells hold no digit where every other row's cell of one column does. None when the lines
    past the comments are no such table, or which row heads it cannot be told."""
    rows = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    for delimiter in "\t|;":
        cells = [_cells(line, delimiter) for _n, line in rows if not _table_rule(line)]
        if len(cells) < 2 or delimiter not in rows[0][1] or len({len(c) for c in cells}) != 1 or len(cells[0]) < 2:
            continue
        kept = [n for n, line in rows if not _table_rule(line)]
        if delimiter == "|" and len(rows) > 1 and _table_rule(rows[1][1]):
            return kept[1:], "its header row and rule row aside"
        if any(line.lstrip().startswith("#") and delimiter in line for line in lines[: rows[0][0] - 1]):
            return kept, "'#' comment lines aside, the commented header among them"
        digits = [[bool(re.search(r"\d", c)) for c in row] for row in cells]
        if any(all(row[k] for row in digits[1:]) and not digits[0][k] for k in range(len(cells[0]))):
            return kept[1:], "its header row aside" + ("; '#' comment lines aside" if len(rows) < len(lines) else "")
        if any(all(row[k] for row in digits) for k in range(len(cells[0]))):
            return kept, "no header row" + ("; '#' comment lines aside" if len(rows) < len(lines) else "")
        return None  # whether its first row is a header or a row: not told
    return None


def own_entries_count(state: dict[str, Any], query: str) -> str | None:
    """A count of a text's own entries by their shape (audit 85 v07, 85b v07): the questions of a FAQ
    (`_question_entries`), the items of the list under a title the question names ('How many steps are in the
    method?', 'How many acts are in the line-up?', `_titled_list`), the people of an org chart (`_chart_people`),
    the rows of a delimited table under comment lines (`_table_rows`). None when the question is no such count,
    names another place, or the entries cannot be told apart."""
    m = _OWN_ENTRIES.match(query)
    texts = _plain_texts(state)
    if m is None or len(texts) != 1 or _table_records(state["units"]):
        return None
    lines = texts[0].split("\n")
    noun = {stem(w) for w in _WORD.findall(m.group(1).lower())}
    place_words = [w for w in _WORD.findall((m.group(2) or "").lower()) if w not in ENGLISH_STOPWORDS]
    place = {stem(w) for w in place_words}
    whole = not place_words or all(w in _WHOLE_PLACES for w in place_words)
    if whole and noun & {stem("questions"), "faq", "faqs"}:
        asked = _question_entries(lines)
        if asked is None:
            return None
        found, how = asked
        return f"{len(found):,}\nCounted: the questions of the text, {how} (lines {', '.join(map(str, found[:20]))})."
    # "How many items are on the agenda?": items, tasks and lines have rules of their own (notes under items)
    own_rule = m.group(1).lower() in _KINDS or m.group(1).lower() in _LIST_ITEMS
    titled = None if own_rule else _titled_list(lines, place if not whole else noun)
    if titled is not None:
        n, items = titled
        shown = _joined(items[:20]) + (f" (and {len(items) - 20} more)" if len(items) > 20 else "")
        title = lines[n - 1].strip()
        return f"{len(items):,}\nCounted: the items of the list under '{title}' (line {n}): {shown}."
    if not whole:
        return None
    # a chart the question or the text's title names: 'From: Ann Lee' / 'Subject: Lunch Plans' is no chart
    charted = _CHART_WORDS & {*place_words, *_WORD.findall(next((x for x in lines if x.strip()), "").lower())}
    if noun <= _PEOPLE_ENTRIES and charted:
        people = _chart_people(lines)
        if people is None:
            return None
        names = list(dict.fromkeys(name for _n, name in people))
        twice = " (a name on two lines counted once)" if len(names) < len(people) else ""
        shown = _joined(names[:20]) + (f" (and {len(names) - 20} more)" if len(names) > 20 else "")
        return f"{len(names):,}\nCounted: the people named on the chart's 'Role: Name' lines{twice}: {shown}."
    if noun & _NO_ROWS or not place_words or not set(place_words) & {"table", "file", "list", "data", "dataset"}:
        return None
    table = _table_rows(lines)
    if table is None:
        return None
    rows, aside = table
    return f"{len(rows):,}\nCounted: the rows of the table ({aside}), lines {rows[0]} to {rows[-1]}."


_ROWS_LISTED = re.compile(
    r"(?i)^\s*how\s+many\s+([a-z][\w-]*)\s+(?:are|were)(?:\s+(?:there|listed|given|defined|named|known))?"
    r"(?:\s+(?:in|on)\s+(?:the|this)\s+([\w -]+?))?\s*[?.!]*\s*$"
)
"""'How many ethertypes are listed?', 'How many protocols are in the file?': a count of a record file's rows."""
_ROWS_PLACE = frozenset("table file list data dataset database records".split())
"""Places a count of a record file's rows may name: the file itself ('How many protocols are in the file?')."""


def named_rows_count(state: dict[str, Any], query: str) -> str | None:
    """'How many ethertypes are listed?' over a record file whose columns a header or its comment lays out
    (`_column_text_rows`, `_layout_of_text`), or whose every row is `name number [aliases...]` (`_a_number_column`,
    /etc/rpc: audit 87 v08), and whose name or comment lines call its rows by the question's
    plural noun (`_names_its_rows`: '# The EtherType is ...'): its rows, counted, each one of them (audit 86 v07).
    None when the question is no such count, names a place other than the file, or the file does not call its
    rows so."""
    m = _ROWS_LISTED.match(" ".join(query.split()))
    if m is None:
        return None
    place = [w for w in _WORD.findall((m.group(2) or "").lower()) if w not in ENGLISH_STOPWORDS]
    if not set(place) <= _ROWS_PLACE:
        return None
    files = [
        src
        for src, shape in zip(state["sources"], state["shapes"], strict=True)
        if shape == "records"
        and len(src) == 2
        and isinstance(src[1], str)
        and (
            _column_text_rows(state, src[0]) is not None
            or _layout_of_text(src[1]) is not None
            or _a_number_column(state, src[0])  # `name number aliases...` rows with no layout comment (/etc/rpc)
        )
    ]
    if len(files) != 1 or not _names_its_rows(state, files[0][0], [m.group(1)]):
        return None
    lines = files[0][1].split("\n")
    rows = _item_rows(
        [(n, line.split()) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    )
    if len(rows) < 2:
        return None
    names = [cells[0].lower() for _, cells in rows if cells]
    laid_out = _column_text_rows(state, files[0][0]) is not None or _layout_of_text(files[0][1]) is not None
    if not laid_out and len(set(names)) < len(names):
        return None  # /etc/services' 'http 80/tcp' and 'http 80/udp': two rows, one service
    shown = _joined([cells[0] for _, cells in rows[:20] if cells]) + (
        f" (and {len(rows) - 20} more)" if len(rows) > 20 else ""
    )
    return (
        f"{len(rows):,}\nCounted: the rows of the record file (its comment lines aside), each one of the "
        f"{m.group(1).lower()} its comments name, lines {rows[0][0]} to {rows[-1][0]}: {shown}."
    )


_ROW_SUPERLATIVE = re.compile(
    r"(?i)^\s*(?:which|what)\s+(?:(?P<pre>(?:[\w'-]+\s+){0,4}?)(?:is|was|are|were)\s+)?(?:the\s+)?"
    r"(?P<adj>(?:most|least)\s+(?:expensive|costly)|costliest|priciest|cheapest|dearest|largest|biggest|greatest"
    r"|highest|smallest|lowest)(?:\s+(?P<noun>(?:[\w'-]+\s*){1,3}?))?(?:\s+(?:in|of|on)\s+(?:the|this)\s+\w+)?"
    r"\s*[?.!]*\s*$"
)
"""'What was the most expensive visit?', 'Which part of the grade is the largest?': the row or item of a text's
list whose amount is the greatest (or least), money for an adjective of price, a number for one of size."""
_MONEY_AMOUNT = re.compile(
    rf"(?<![\w.])(?:[{_CURRENCY}]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:[{_CURRENCY}]|EUR|USD|GBP|euros?"
    r"|dollars?|pounds?)(?!\w))"
)
_SIZE_AMOUNT = re.compile(r"^\s*(?:about\s+|~\s*)?(\d[\d,]*(?:\.\d+)?)\s*(%|percent\b|per\s+cent\b)?\s*\.?\s*$")
"""A list item's value that is one amount and nothing more ('30%', '1,200', '40 percent')."""
_LEAST = re.compile(r"(?i)least|cheapest|smallest|lowest")


def _row_amount_of(line: str, money: bool) -> tuple[str, float] | None:
    """(what names the row, its amount) of one line of a list: for money, its one amount of money (a line with
    none gives None, one with two raises ValueError: which one is its cost is not told) named by the line's 'Label:'
    or its leading date, else the line; for size, the one number a 'Label: 30%' line's value is."""
    label = _LABELLED_LINE.match(line)
    if not money:
        size = _SIZE_AMOUNT.match(label.group(2)) if label is not None else None
        if size is None or label is None:
            return None
        return f"{label.group(1).strip()} ({label.group(2).strip().rstrip('.')})", float(size.group(1).replace(",", ""))
    found = list(_MONEY_AMOUNT.finditer(line))
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(line)
    if re.search(r"(?:^|[\s:(])[-−–]$", line[: found[0].start()]):
        # 'Refund: -£20': a credit among costs, read without its sign it is a cost of £20 (audit 87 v12); which
        # item is cheapest is then not told (a spaced dash, 'Oil - £45', is a separator and no sign)
        raise ValueError(line)
    amounts = [found[0].group(0)]
    value = float(re.sub(r"[^\d.]", "", amounts[0]) or "nan")
    dated = re.match(r"^\s*(?:[-*•]\s+)?(\d{4}-\d\d-\d\d|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})\b", line)
    name = label.group(1).strip() if label is not None else dated.group(1) if dated else _BULLET.sub("", line).strip()
    return f"{name} ({amounts[0].strip()})", value


_MEASURE_WORDS: dict[str, tuple[str, bool]] = {
    "oldest": ("age", True),
    "youngest": ("age", False),
    "longest": ("length duration distance runtime minutes hours pages", True),
    "shortest": ("length duration distance runtime minutes hours pages height", False),
    "tallest": ("height", True),
    "heaviest": ("weight mass", True),
    "lightest": ("weight mass", False),
    "biggest": ("size area capacity population", True),
    "largest": ("size area capacity population", True),
    "smallest": ("size area capacity population", False),
    "warmest": ("temperature temp high", True),
    "hottest": ("temperature temp high", True),
    "coldest": ("temperature temp low", False),
    "fastest": ("speed", True),
    "slowest": ("speed", False),
}
"""A superlative adjective, the column words it measures by (the first the table has wins) and whether it asks the
largest value (True) or the smallest: "Who is the oldest user?" over a column `age` (newcomer audit 86 v02). Money
('cheapest', 'most expensive') is `table_spending`'s: a price or a line's total, a sum per group."""
_ASKS_MEASURED_ROW = re.compile(
    r"(?i)^\s*(?:who|(?:which|what)(?:\s+(?P<noun>[a-z][\w-]*))?)(?:\s+(?:is|was|are|were)|['’]s)\s+(?:the\s+)?"
    r"(?P<most>most\s+)?(?P<adj>[a-z]+)(?:\s+(?P<noun2>[a-z][\w-]*))?"
    r"(?P<cond>\s+(?:in|of|on|from|at|among|with|for)\s+[\w'’ -]{1,60}?)?\s*[?.!]*\s*$"
)
"""'Who is the oldest user?', 'Which user is the youngest?', 'What is the longest trail?': a row asked by a measure
adjective."""
_ASKS_COLUMN_MEASURE = re.compile(
    r"(?i)^\s*what(?:\s+is|\s+was|['’]s)\s+(?:the\s+)?(?P<how>maximum|max|highest|largest|biggest|greatest|top|"
    r"minimum|min|lowest|smallest|least|average|mean|median)\s+(?:(?:value|figure)\s+)?(?:of\s+(?:all\s+)?(?:the\s+)?)?"
    r"(?P<column>[a-z][\w -]{0,30}?)"
    r"(?P<cond>\s+(?:in|of|on|from|at|among|across|with|for)\s+[\w'’ -]{1,60}?)?\s*[?.!]*\s*$"
)
"""'What is the maximum age?', 'What is the average age of the users?', 'What was the lowest price?', 'What is the
median age?', 'What is the mean of the ages?': a column's largest, smallest, mean or median value (newcomer audit 86
v02, 87 v02)."""
_ASKS_MEASURED_VALUE = re.compile(
    r"(?i)^\s*(?:how\s+(?P<how>[a-z]+)\s+(?:is|was|are|were)|what(?:\s+is|\s+was|['’]s)\s+the\s+"
    r"(?P<column>[a-z][\w -]{0,30}?)\s+of)\s+(?:the\s+)?(?P<adj>[a-z]+)(?:\s+(?P<noun>[a-z][\w-]*))?"
    r"(?P<cond>\s+(?:in|of|on|from|at|among|with|for)\s+[\w'’ -]{1,60}?)?\s*[?.!]*\s*$"
)
"""'How old is the oldest user?', 'What is the age of the youngest user?', 'What is the city of the tallest
player?': a value of the row a measure adjective picks, in the column the how-word measures ('old': the age) or the
question names (newcomer audit 87 v02: NOT FOUND, though 'Who is the oldest user?' was answered)."""


def _superlative_of(how: str) -> str | None:
    """The measure adjective (`_MEASURE_WORDS`) of a how-word: 'old' -> 'oldest', 'heavy' -> 'heaviest', 'big' ->
    'biggest', 'large' -> 'largest'; None for a word with none ('much', 'many')."""
    forms = [how + "est", how + "st", how + how[-1:] + "est", how[:-1] + "iest"]
    return next((form for form in forms if form in _MEASURE_WORDS), None)


def _numeric_column(columns: list[str], rows: list[tuple[int, list[str]]], words: list[str]) -> int | None:
    """The column one of `words` names (the first word that names one wins) whose filled cells are all plain
    amounts (a currency sign aside), two cells at least; None otherwise."""
    for word in words:
        at = _column_for(word, columns)
        if at is None:
            continue
        cells = [c[at].strip().strip(_CURRENCY).strip() for _, c in rows if at < len(c) and c[at].strip()]
        if len(cells) >= 2 and all(_AMOUNT.fullmatch(c) for c in cells):
            return at
    return None


def _name_column(columns: list[str], rows: list[tuple[int, list[str]]]) -> int | None:
    """The first column whose cells are words, no plain amounts: what names each row."""
    for at in range(len(columns)):
        cells = [c[at].strip() for _, c in rows if at < len(c) and c[at].strip()]
        if cells and not any(_AMOUNT.fullmatch(c.strip(_CURRENCY)) for c in cells):
            return at
    return None


_ROWS_FRAME = frozenset(
    "table list file data dataset sheet spreadsheet row rows record records entry entries all whole everyone "
    "everybody among amongst across team class group club company office family household school league squad "
    "total overall celsius fahrenheit kg kilograms grams lbs km kilometres kilometers miles metres meters cm mm "
    "minutes mins seconds secs hours hrs days weeks months years percent euros dollars pounds".split()
)
"""Words of a condition that only frame the rows ("in the table", "of all the entries", "in the class") or say the
answer's unit ("in minutes", "in Celsius"): they keep every row."""
_SEX_OF = {w: "male" for w in "m male males man men boy boys gentleman gentlemen".split()} | {
    w: "female" for w in "f w female females woman women girl girls lady ladies".split()
}
"""The sex a question's noun ("Which man came last?") or a cell of a sex column ('M', 'F', 'Male') says."""
_SEX_CELLS = frozenset([*_SEX_OF, "x", "nb", "other", "-"])
"""What a column of sexes holds, each cell: a column of these and nothing else is one ('Sex', 'Gender', 'M/F')."""


def _sex_column(rows: list[tuple[int, list[str]]], at: int) -> bool:
    cells = {c[at].strip().lower() for _, c in rows if at < len(c) and c[at].strip()}
    return bool(cells & set(_SEX_OF)) and cells <= _SEX_CELLS


def _cell_is(cell: str, phrase: str, sexes: bool) -> bool:
    """Whether a cell holds the value a phrase of the question names: the same words ('York', 'active' of
    'Active', 'men' of 'Men'), or in a column of sexes the same sex ('man' of 'M')."""
    cell, phrase = cell.strip().lower(), phrase.lower()
    if cell == phrase or (" " not in cell and " " not in phrase and stem(cell) == stem(phrase)):
        return True
    return sexes and _SEX_OF.get(cell) is not None and _SEX_OF.get(cell) == _SEX_OF.get(phrase)


def rows_where(
    columns: list[str],
    rows: list[tuple[int, list[str]]],
    words: list[str],
    *,
    strict: bool = True,
    frame: Collection[str] = (),
) -> tuple[list[tuple[int, list[str]]], list[str]] | None:
    """The rows of a table that a question's condition words keep ("in York", "from Leeds", "with status active",
    the noun of "Which man came last?"), and what each kept ("city is York"): a phrase of up to three words that is
    a whole cell of one column keeps the rows holding it there (a column's name before it, "status", says which
    column; "man" is 'M' of a column of sexes). A word the table neither holds as a cell nor names as a column is
    a condition no column applies, whose rows would be a guess: None (audit 88g v04, v05: 'How old is the youngest
    user in York?' was answered over every row), unless it only frames the rows: a stem in `frame` (the rows' own
    noun, the file's name), a person's noun or `_ROWS_FRAME` ("of the users", "in the table"). Not `strict` (a
    question's noun, "Which runner came last?"), only a sex the table gives no column of is None. None too when a
    phrase is a cell of two columns, or no row is left."""
    framing = {stem(w) for w in _ROWS_FRAME} | _PERSON_NOUNS | set(frame)
    sexes = {at for at in range(len(columns)) if _sex_column(rows, at)}
    kept, said = rows, []
    within: int | None = None  # the column a column's name just said
    at = 0
    while at < len(words):
        if words[at].lower() in ENGLISH_STOPWORDS and not (words[at].isupper() and len(words[at]) > 1):
            at += 1  # but "in IT", "from the US": a stop word's letters in capitals name a thing
            continue
        for size in (3, 2, 1):
            phrase = " ".join(words[at : at + size])
            if len(words[at : at + size]) < size:
                continue
            places = [
                i
                for i in (range(len(columns)) if within is None else [within])
                if any(i < len(c) and _cell_is(c[i], phrase, i in sexes) for _, c in kept)
            ]
            if places:
                break
        if len(places) > 1:
            return None  # 'York' in two columns: which one the question means is not told
        if places:
            i = places[0]
            kept = [(n, c) for n, c in kept if i < len(c) and _cell_is(c[i], phrase, i in sexes)]
            said.append(f"{columns[i]} is {kept[0][1][i].strip()}")
            at += size
            within = None
            continue
        word = words[at]
        named = _column_for(word, columns)
        if named is not None:
            within = named
        elif word.lower() in _SEX_OF or (strict and stem(word.lower()) not in framing):
            return None  # "Which woman won?" over a table that gives no one's sex; "in Leeds" over no Leeds
        at += 1
    if not kept:
        return None
    return kept, said


def column_measure(state: dict[str, Any], query: str) -> str | None:
    """Over a table (a record file's header row names its columns), a row asked by a measure adjective ('Who is the
    oldest user?': the row with the largest `age`; `_MEASURE_WORDS`) or a number column's maximum, minimum or mean
    ('What is the maximum age?', 'What is the average age?'), answered by code with the rows named. None when the
    question is none of these, no number column is named, or two rows tie for the answer (newcomer audit 86 v02: all
    three gave NOT FOUND, the measure word read as a term the text must hold)."""
    q = " ".join(query.split())
    row_asked = _ASKS_MEASURED_ROW.match(q)
    if row_asked is not None and row_asked.group("adj").lower() not in _MEASURE_WORDS:
        row_asked = None  # "What is the maximum age?": a column's measure, no row's adjective
    column_asked = _ASKS_COLUMN_MEASURE.match(q)
    value_asked = _ASKS_MEASURED_VALUE.match(q) if row_asked is None and column_asked is None else None
    if value_asked is not None and value_asked.group("adj").lower() not in _MEASURE_WORDS:
        value_asked = None  # "What is the age of the user Ana?": no measure picks the row
    if row_asked is None and column_asked is None and value_asked is None:
        return None
    table = _column_text_rows(state)
    if table is None:
        return None
    columns, rows = table[0], _item_rows(table[1])
    if len(rows) < 2:
        return None
    # the rows the question's condition keeps ("in York", "with status active"): a condition no column applies
    # leaves no answer, the extreme of every row would be a guess (audit 88g v05)
    asked = row_asked or column_asked or value_asked
    assert asked is not None
    nouns = [asked.groupdict().get(group) or "" for group in ("noun", "noun2")]
    frame = {stem(w.lower()) for w in [*own_kind_words(state), *nouns] if w}  # "of the users" over users.csv
    kept = rows_where(columns, rows, _WORD.findall(asked.group("cond") or ""), frame=frame)
    if kept is None:
        return None
    among, conditions = kept
    value_at = None  # the column whose cell of the picked row is the answer ("How old is the oldest user?": age)
    picked = row_asked or value_asked
    if picked is not None:
        adj = picked.group("adj").lower()
        if picked.groupdict().get("most"):
            return None  # "the most oldest" is no English
        measured, largest = _MEASURE_WORDS[adj]
        at = _numeric_column(columns, rows, measured.split())
        name_at = _name_column(columns, rows)
        for noun in (picked.group("noun"), picked.groupdict().get("noun2")):
            named = _column_for(noun, columns) if noun else None
            if named is not None and named != name_at:
                return None  # "What is the oldest city?" over users' ages: the city's own age is not written
            subset = rows_where(columns, among, [noun], strict=False) if noun and named is None else (among, [])
            if subset is None:
                return None
            among, conditions = subset[0], [*conditions, *subset[1]]  # "Who is the oldest woman?": the F rows
        if value_asked is not None:
            how = value_asked.group("how")
            measure = _superlative_of(how.lower()) if how else None
            if how and measure is None:
                return None  # "How much is the oldest ...?": no column the how-word measures
            words = (
                _MEASURE_WORDS[measure][0].split()
                if measure is not None
                else [w for w in _WORD.findall(value_asked.group("column").lower()) if w not in ENGLISH_STOPWORDS]
            )
            if measure is not None:
                value_at = _numeric_column(columns, rows, words)
            else:
                value_at = next((c for c in (_column_for(w, columns) for w in words[:3]) if c is not None), None)
            if value_at is None:
                return None
        mean = median = False
    else:
        assert column_asked is not None
        how = column_asked.group("how").lower()
        mean, median = how in ("average", "mean"), how == "median"
        largest = how in ("maximum", "max", "highest", "largest", "biggest", "greatest", "top")
        words = [w for w in _WORD.findall(column_asked.group("column").lower()) if w not in ENGLISH_STOPWORDS]
        if not words or len(words) > 3:
            return None
        at = _numeric_column(columns, rows, words)
    if at is None:
        return None
    valued = [
        (float(c[at].strip().strip(_CURRENCY).strip().replace(",", "")), c, n)
        for n, c in among
        if at < len(c) and c[at].strip()
    ]
    if not valued:
        return None
    written = [c[at].strip() for _, c, _ in valued]
    places = max((len(w.split(".")[1]) if "." in w else 0) for w in written)
    what = f"column {at + 1} ({columns[at]})"
    whose = f" whose {' and '.join(conditions)}" if conditions else ""  # "whose city is York"
    rows_said = f"{len(valued):,} row{'s' if len(valued) != 1 else ''}"
    every = f"the {rows_said}{whose}" if conditions else f"all {rows_said}"
    if mean:
        total = sum(v for v, _, _ in valued)
        average = total / len(valued)
        shown = f"{average:,.{places}f}" if round(average, places) == average else f"{average:,.{places + 2}f}"
        return f"{shown}\nCounted: {what} of {every}, averaged: {total:,.{places}f} / {len(valued):,}."
    if median:  # the middle value once sorted; of an even count, the mean of the two middle ones
        ranked = sorted(valued, key=lambda item: item[0])
        middle = ranked[(len(ranked) - 1) // 2 : len(ranked) // 2 + 1]
        value = sum(v for v, _, _ in middle) / len(middle)
        shown = f"{value:,.{places}f}" if round(value, places) == value else f"{value:,.{places + 1}f}"
        written_middle = " and ".join(c[at].strip() for _, c, _ in middle)
        which = f"values {written_middle}, averaged" if len(middle) == 2 else f"value {written_middle}"
        return f"{shown}\nCounted: {what} of {every}, sorted: the middle {which}."
    order = sorted(valued, key=lambda item: item[0], reverse=largest)
    if len(order) > 1 and order[0][0] == order[1][0]:
        return None  # a tie: no one row is the answer
    name_at = _name_column(columns, rows)
    _, best_cells, best_line = order[0]
    best_name = best_cells[name_at].strip() if name_at is not None and name_at < len(best_cells) else ""
    end = "largest" if largest else "smallest"
    others = ", ".join(
        f"{c[name_at].strip() if name_at is not None and name_at < len(c) else ''} ({c[at].strip()})".strip()
        for _, c, _ in order[1:4]
    )
    tail = f"among {rows_said}{whose}" + (f"; next: {others}" if others else "")
    if value_at is not None:
        cell = best_cells[value_at].strip() if value_at < len(best_cells) else ""
        if not cell:
            return None  # the picked row leaves the asked cell empty
        return (
            f"{cell}\nFound: the row with the {end} {what}: {best_cells[at].strip()}"
            f" ({f'{best_name}, ' if best_name else ''}{row_place(state, best_line)}), its column {value_at + 1} "
            f"({columns[value_at]}): {cell}; {tail}."
        )
    if row_asked is not None:
        names = [c[name_at].strip() for _, c, _ in valued] if name_at is not None else []
        if not best_name or len(set(names)) < len(names):
            return None  # a name on two rows is a group: its rows' sum or one row's value is a guess
        return (
            f"{best_name}\nFound: the row with the {end} {what}: {best_cells[at].strip()} "
            f"({row_place(state, best_line)}), {tail}."
        )
    where = f" ({best_name}, {row_place(state, best_line)})" if best_name else f" ({row_place(state, best_line)})"
    return f"{best_cells[at].strip()}\nFound: the {end} {what}{where}, {tail}."


_ROW_BY_COLUMN = re.compile(
    r"(?i)^\s*(?:who|(?:which|what)\s+(?P<noun>[a-z][\w-]*))\s+(?:has|had|have|got|gets|scored|earned|received|"
    r"achieved|recorded|posted|holds|held|with)\s+the\s+(?P<end>[a-z]+)\s+(?P<column>[\w-]+(?:\s+[\w-]+){0,2}?)"
    r"(?P<cond>\s+(?:in|of|on|from|at|among|with|for)\s+[\w'’ -]{1,60}?)?(?:\s+overall)?\s*[?.!]*\s*$"
)
"""'Who has the highest score?', 'Which day has the warmest high?', 'Which player has the lowest handicap in
York?': the row whose cell in the column the words after the superlative name is the greatest or least."""
_GREATEST = frozenset("highest largest biggest greatest maximum max most top".split())
_LEAST_END = frozenset("lowest smallest least fewest minimum min".split())
_SUPERLATIVE_WORDS = (
    (_GREATEST | _LEAST_END) - {"max", "min", "top"}  # a key's part ('maxlength') or a thing ('the top shelf')
    | frozenset(_MEASURE_WORDS)
    | frozenset(
        "best worst strongest weakest hottest coolest cheapest dearest costliest priciest richest poorest deepest "
        "shallowest widest narrowest nearest farthest furthest quickest busiest quietest loudest wettest driest "
        "windiest sunniest rainiest calmest".split()
    )
)
"""Superlatives: operators that pick a unit by what it holds, never written in the unit they pick ('the highest
score' is the row with the largest score; no row says 'highest')."""


def column_row_extreme(state: dict[str, Any], query: str) -> str | None:
    """The row of a table (a record file, a markdown table) whose cell in the number column the question names
    after its superlative is the greatest or least, named by its column of names: "Who has the highest score?"
    over `Name,Score` is the name of the row with the largest `Score` (audit 88g v22, v23: NOT FOUND, as no row
    writes "highest"; a 'Total' row is none of the rows, `_item_rows`). A superlative is an operator on the column,
    no word of the text: highest, lowest, most, least or a measure adjective (`_MEASURE_WORDS`: 'the warmest
    high'); "best" and "worst" say no direction (a best time is the least) and give None. The question's
    condition and a noun that names a subset keep their rows (`rows_where`). None too when no one number column
    is named, names repeat over rows (a group's sum or one row's value is a guess), or two rows tie."""
    m = _ROW_BY_COLUMN.match(" ".join(query.split()))
    table = (_column_text_rows(state) or _prose_table(state)) if m is not None else None
    if m is None or table is None:
        return None
    end = m.group("end").lower()
    if end in _GREATEST or end in _LEAST_END:
        largest = end in _GREATEST
    elif end in _MEASURE_WORDS:
        largest = _MEASURE_WORDS[end][1]
    else:
        return None
    columns, rows = table[0], _item_rows(table[1])
    at = _column_for_words(m.group("column").split(), columns)
    if at is None or len(rows) < 2:
        return None
    cells = [c[at].strip().strip(_CURRENCY).strip() for _, c in rows if at < len(c) and c[at].strip()]
    if len(cells) < 2 or not all(_AMOUNT.fullmatch(c) for c in cells):
        return None
    noun = m.group("noun")
    name_at = _column_for(noun, columns) if noun else _named_column(columns, _DOER_COLUMNS, rows)
    among = rows
    conditions: list[str] = []
    if noun and name_at is None:  # "Which woman has the highest score?": the noun may name the rows of a subset
        subset = rows_where(columns, rows, [noun], strict=False)
        if subset is None:
            return None
        among, conditions = subset
    if name_at is None:
        name_at = next((i for i in range(len(columns)) if i != at and _not_numeric(rows, i)), None)
    if noun and not conditions and _column_for(noun, columns) is None:
        # "Which gadget has the largest size?" over tools.csv: a noun that is no column, no subset and not what the
        # file calls its rows may be something else; a person's noun is what a column of names names
        people = name_at is not None and columns[name_at].strip().lower() in ("name", "names", "who", "person")
        if not (
            _names_its_rows(state, _table_source(state), [noun], plural=False)
            or (people and stem(noun.lower()) in _PERSON_NOUNS)
        ):
            return None
    if name_at is None or name_at == at or not _not_numeric(rows, name_at):
        return None
    if _unsure_sum_row(rows, at):
        return None
    names = [c[name_at].strip() for _, c in rows if name_at < len(c)]
    if len(names) != len(rows) or not all(names) or len(set(names)) != len(names):
        return None
    frame = {stem(w.lower()) for w in [*own_kind_words(state), noun or ""] if w}
    kept = rows_where(columns, among, _WORD.findall(m.group("cond") or ""), frame=frame)
    if kept is None:
        return None
    among, conditions = kept[0], [*conditions, *kept[1]]
    valued = [
        (float(c[at].strip().strip(_CURRENCY).strip().replace(",", "")), c[name_at].strip(), n)
        for n, c in among
        if at < len(c) and c[at].strip()
    ]
    if not valued:
        return None
    valued.sort(key=lambda v: -v[0] if largest else v[0])
    if len(valued) > 1 and valued[0][0] == valued[1][0]:
        return None  # a tie: no one row is the answer
    value, name, number = valued[0]
    runners = ", ".join(f"{who} ({v:,.10g})" for v, who, _ in valued[1:4])
    whose = f" whose {' and '.join(conditions)}" if conditions else ""
    counted = f"{len(valued):,} row{'s' if len(valued) != 1 else ''}{whose}"
    return (
        f"{name}\nFound: the row with the {'greatest' if largest else 'least'} '{columns[at].strip()}': "
        f"{value:,.10g} ({row_place(state, number)}), among {counted}" + (f"; next: {runners}." if runners else ".")
    )


_ASKS_DAY_EXTREME = re.compile(
    r"(?i)^\s*(?:(?P<which>which|what)\s+(?:day|date)\s+(?:will\s+be|is|was|should\s+be|looks)\s+(?:the\s+)?"
    r"(?P<adj>warmest|hottest|coldest|coolest|windiest|wettest|rainiest|driest|calmest)"
    r"|what\s+(?:is|was|will\s+be)\s+the\s+(?P<end>highest|lowest|maximum|minimum|warmest|coldest)\s+"
    r"(?P<what>temperature|temp|high|low|wind(?:\s+speed)?|rain\s+chance|chance\s+of\s+rain)"
    r"|(?P<which2>which|what)\s+(?:day|date)\s+(?:has|had|will\s+have|gets|got|sees|saw|brings)\s+the\s+"
    r"(?P<end2>highest|lowest|maximum|minimum|warmest|hottest|coldest|coolest|strongest|weakest|most|least)\s+"
    r"(?P<what2>temperature|temp|high|low|wind(?:\s+speed)?|winds|rain(?:\s+chance)?|chance\s+of\s+rain))"
    r"(?:\s+(?:of|in|on|during|for)\s+(?:the|this)\s+(?:week|forecast|period|month))?\s*[?.!]*\s*$"
)
"""'Which day will be the warmest?', 'What is the highest temperature of the week?', 'Which day has the warmest
high?' (the value named, audit 88g v21): over a forecast's day lines."""
_TEMPERATURE = r"((?:(?<![\w.])[-−–]|\bminus\s)?\d+(?:\.\d+)?)\s?°\s?[CF]?"
"""A temperature with its sign: 'High -4°C', 'low −2 °C' (a Unicode minus), 'minus 3°C' (audit 87 v12: the sign was
read as a separator and -4 became 4)."""
_TEMPERATURE_LEAD = r"[^\w\-−–]{0,3}"
"""What may stand between 'High' and its temperature ('High: ', 'high of' aside): never the minus sign itself."""


def _signed_number(said: str) -> float:
    """The value of a number as written, its sign kept: '-4' -> -4.0, '−2.5' (U+2212) -> -2.5, 'minus 3' -> -3.0,
    '1,200' -> 1200.0. Raises ValueError on no number."""
    text = said.strip()
    negative = bool(re.match(r"(?i)^(?:[-−–]|minus\s)", text))
    value = float(re.sub(r"(?i)^(?:[-−–]|minus)\s*", "", text).replace(",", ""))
    return -value if negative else value


def day_extreme(state: dict[str, Any], query: str) -> str | None:
    """Over lines opened by a weekday or date (`_DAY_LABEL_LINE`: a forecast's 'Fri: Dry. High 14°C, low 3°C. Wind
    N 8 mph. Rain chance 5%.'), the day whose value is the greatest or least for 'Which day will be the warmest?'
    (its 'High N°C'; coldest, the lowest temperature: its 'low N°C'; windiest: 'N mph' or 'km/h'; wettest,
    driest: the rain chance 'N%'), or that value for 'What is the highest temperature of the week?'. Each line
    must write the value once; None otherwise, and for a tie (audit 86b F8: NOT FOUND, the day lines merged into
    one unit)."""
    m = _ASKS_DAY_EXTREME.match(" ".join(query.split()))
    if m is None:
        return None
    word = (m.group("adj") or f"{m.group('end') or m.group('end2')} {m.group('what') or m.group('what2')}").lower()
    most = not re.search(r"coldest|coolest|lowest|minimum|driest|calmest|weakest|least", word)
    if re.search(r"wind", word) or m.group("adj") in ("windiest", "calmest"):
        pattern, what = r"(\d+(?:\.\d+)?)\s?(?:mph|km/h|kph|knots|m/s)\b", "wind speed"
    elif re.search(r"wettest|rainiest|driest|rain", word):
        pattern, what = r"(?i)(?:rain\w*|precipitation|showers?)\D{0,20}?(\d+(?:\.\d+)?)\s?%", "chance of rain"
    elif re.search(r"\blow\b|lowest|minimum|coldest|coolest", word) and not re.search(r"\bhigh\b", word):
        pattern, what = rf"(?i)\b(?:low|min(?:imum)?){_TEMPERATURE_LEAD}{_TEMPERATURE}", "low temperature"
    else:
        pattern, what = rf"(?i)\b(?:high|max(?:imum)?){_TEMPERATURE_LEAD}{_TEMPERATURE}", "high temperature"
    days: list[tuple[int, str, float, str]] = []
    for source in state["sources"]:
        for n, line in enumerate(str(source[1]).split("\n"), 1):
            label = _DAY_LABEL_LINE.match(line)
            if label is None:
                continue
            values = list(re.finditer(pattern, line))
            if len(values) != 1:
                return None  # a day line with no such value, or two: which is the day's is not told
            day = re.split(r"\s*[:\u2013-]\s", line.strip(), maxsplit=1)[0]
            days.append((n, day, _signed_number(values[0].group(1)), values[0].group(0).strip()))
    if len(days) < 2:
        return None
    best = (max if most else min)(value for _, _, value, _ in days)
    top = [(n, day, said) for n, day, value, said in days if value == best]
    if len(top) != 1:
        return None  # a tie: no one day is the answer
    n, day, said = top[0]
    answer = (
        day
        if m.group("which") or m.group("which2")
        else re.sub(rf"(?i)^(?:high|low|max(?:imum)?|min(?:imum)?){_TEMPERATURE_LEAD}", "", said)
    )
    return (
        f"{answer}\nCompared: the {what} of each of the {len(days)} day lines; line {n} ({day}) has the "
        f"{'greatest' if most else 'least'}: {said}."
    )


_RANK_COLUMN = re.compile(r"(?i)^\s*(?:pos(?:ition)?|place|placing|rank|ranking|finish(?:ing)?\s+position)\s*\.?\s*$")
"""A results table's column of finishing places ("Position", "Pos", "Place", "Rank")."""
_WHO_COLUMN = frozenset(
    stem(w) for w in "name runner athlete player competitor entrant rider driver team swimmer cyclist horse".split()
)
"""Headers of the column that names who finished (a results table's "Name", "Runner", "Team")."""
_PLACED_NOUNS = _WHO_COLUMN | frozenset(
    stem(w) for w in "person people one participant contestant finisher racer competitor entry boat car".split()
)
"""Nouns of "Which runner came last?" that name a results table's rows whatever they are, no subset of them."""
_PLACING = re.compile(
    r"(?i)^\s*(?:(?P<who>who|which\s+[\w-]+)\s+(?:(?P<won>won|was\s+the\s+winner|is\s+the\s+winner)|"
    r"(?:came|finished|placed|was|were|is|ended)\s+(?:(?P<first>first|1st|in\s+first\s+place)|(?P<last>last|"
    r"in\s+last\s+place)))|what\s+(?:was|is)\s+the\s+(?:(?P<wincell>winning|winner's|winner’s)|"
    r"(?P<lastcell>last\s+(?:finisher's|finisher’s|place)))\s+(?P<cell>[\w -]+?))(?P<rest>(?:\s+[\w'’-]+){0,4})"
    r"\s*[?.!]*\s*$"
)
"""'Who won the race?', 'Who came first?', 'Who finished last?', 'What was the winning time?'."""
_EVENT_NOUNS = frozenset(
    "race event competition contest tournament match game final championship cup marathon run heat round "
    "overall 5k 10k half".split()
)
"""Words that name the whole event a results table is of: a question naming one asks no narrower placing."""


def placing_answer(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any], str] | None:
    """(answer, the row's unit, why) for who won, came first or last, or the winner's (last finisher's) cell, over
    a results table: records with a place column (`_RANK_COLUMN`) of whole numbers, one row placed 1, and a
    column naming who (`_WHO_COLUMN`) (audit 87c v05: "Who won the race?" over a race's TSV was NOT FOUND). The
    winner is the row placed 1, the last the row placed highest. None when the question names more than the
    event (`_EVENT_NOUNS`: "Who won the M40 category?" asks a narrower placing), no such table or no one row."""
    m = _PLACING.match(" ".join(query.split()))
    table = _column_text_rows(state) if m is not None else None
    if m is None or table is None:
        return None
    rest = [w.lower() for w in _WORD.findall(m.group("rest") or "")]
    if any(w not in ENGLISH_STOPWORDS and w not in _EVENT_NOUNS for w in rest):
        return None
    columns, rows = table
    placed = _placed_rows(columns, rows)
    if placed is None:
        return None
    at = next(i for i, column in enumerate(columns) if _RANK_COLUMN.match(column))
    who = [i for i, column in enumerate(columns) if {stem(w.lower()) for w in _WORD.findall(column)} & _WHO_COLUMN]
    noun = m.group("who").split()[1] if m.group("who") and len(m.group("who").split()) > 1 else None
    among = ""
    if noun is not None:  # "Which man came last?": the noun may name the rows of a subset, a column's value
        named = _column_for(noun, columns)
        if named is not None and named != at:
            who = [named]  # "Which team won?" over `Name` and `Team`: the team's cell
        else:
            subset = rows_where(columns, [(n, c) for _, n, c in placed], [noun], strict=False)
            if subset is None:
                return None
            kept = {n for n, _ in subset[0]}
            if subset[1]:
                placed = [row for row in placed if row[1] in kept]
                among = f" whose {' and '.join(subset[1])}"
            elif stem(noun.lower()) not in _PLACED_NOUNS:
                return None  # "Which junior came last?": a subset no column names, the last of all would be a guess
    last = bool(m.group("last") or m.group("lastcell"))
    best = (max if last else min)(p for p, _, _ in placed)
    chosen = [(number, cells) for p, number, cells in placed if p == best]
    if len(chosen) != 1:
        return None  # a tie for last place: no one row
    number, cells = chosen[0]
    if m.group("cell"):
        asked = _column_for(m.group("cell").split()[-1], columns)
        if asked is None or asked == at or asked >= len(cells) or not cells[asked].strip():
            return None
        answer = cells[asked].strip()
    else:
        if len(who) != 1 or who[0] >= len(cells) or not cells[who[0]].strip():
            return None
        answer = cells[who[0]].strip()
    source = next(
        (src[0] for src, shape in zip(state["sources"], state["shapes"], strict=True) if shape == "records"), None
    )
    unit = next((u for u in state["units"] if u["source"] == source and u["line"] == number), None)
    if unit is None:
        return None
    place = "last" if last else "first"
    return answer, unit, f"the row placed {place} ({columns[at]} {best}) of the {len(placed)} placed rows{among}"


def _placed_rows(columns: list[str], rows: list[tuple[int, list[str]]]) -> list[tuple[int, int, list[str]]] | None:
    """[(place, record number, cells)] of a results table's rows that have a place: a whole number in its one
    place column (`_RANK_COLUMN`), one row placed 1. None for any other table (no place column, or two)."""
    ranked = [i for i, column in enumerate(columns) if _RANK_COLUMN.match(column)]
    if len(ranked) != 1 or not rows:
        return None
    at = ranked[0]
    placed = [(int(cells[at]), number, cells) for number, cells in rows if at < len(cells) and cells[at].isdigit()]
    if len(placed) < 2 or [p for p, _, _ in placed].count(1) != 1:
        return None
    return placed


_FINISHED_COUNT = re.compile(
    r"(?i)^\s*how many (?P<noun>[a-z][\w-]*(?: [a-z0-9][\w-]*){0,2}) (?:(?P<done>finished|completed)|(?P<started>"
    r"took part|ran|raced|competed|started)|(?:entered|were there|are there|are listed|were listed))"
    r"(?P<rest>(?:\s+[\w'’-]+){0,3})\s*[?.!]*\s*$"
)
"""'How many runners finished?', 'How many riders took part in the race?', 'How many women finished?'."""
_ENTRANT_NOUNS = _WHO_COLUMN | frozenset(
    stem(w)
    for w in "people persons entrants participants competitors contestants finishers starters racers runners "
    "riders athletes players drivers swimmers cyclists horses teams crews boats walkers rowers skiers".split()
)
"""Nouns a results table's every row is one of: a count of them counts the rows, no narrower set."""
_NON_STARTER = re.compile(r"(?i)^\s*(?:dns|did\s+not\s+start|non-?starter|withdrawn|withdrew|wd|scr(?:atched)?)\s*$")
"""A results table's place cell of an entrant who never started: no one who ran, raced or took part."""
_SEX_BY_STEM = {stem(word): "M" if sex == "male" else "F" for word, sex in _SEX_OF.items()}
"""A sex a question's noun ('women') or a table's cell ('F', 'Female') names."""


def _rows_of_noun(
    word: str, columns: list[str], rows: list[tuple[int, list[str]]]
) -> tuple[int | None, str, set[int]] | None:
    """(the column read, its cell, the line numbers of the rows named) for one word of a count's noun over a
    results table: a value of one column ('DNFs' the rows whose `Pos` is 'DNF'), a sex over the one column of
    sexes ('women' the rows whose `Sex` is 'F'), or every row (column None) for a noun every row is
    (`_ENTRANT_NOUNS`: 'runners'). None when the word is none of these, or a value of two columns (which one is
    meant is a guess)."""
    key = stem(word.lower())
    named = {i: {n for n, cells in rows if i < len(cells) and _keys(cells[i]) == key} for i in range(len(columns))}
    named = {i: lines for i, lines in named.items() if lines}
    if len(named) > 1:
        return None
    if named:
        at, lines = next(iter(named.items()))
        return at, next(cells[at].strip() for n, cells in rows if n in lines), lines
    if key in _SEX_BY_STEM:
        sexes = []
        for i, column in enumerate(columns):
            read = [
                _SEX_BY_STEM.get(stem(cells[i].strip().lower())) for _, cells in rows if i < len(cells) and cells[i]
            ]
            if read and all(read) and (len(set(read)) == 2 or _keys(column) in ("sex", "gender")):
                sexes.append(i)  # a column of sexes only: a size column of 'M' and 'L' is none
        if len(sexes) != 1:
            return None  # no column of sexes ('M40', 'SF' categories name age too), or two
        at = sexes[0]
        lines = {
            n
            for n, cells in rows
            if at < len(cells) and _SEX_BY_STEM.get(stem(cells[at].strip().lower())) == _SEX_BY_STEM[key]
        }
        return at, f"{_SEX_BY_STEM[key]} ({word})", lines
    if key in _ENTRANT_NOUNS:
        return None, "", {n for n, _ in rows}
    return None


def finishers_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many runners finished?" over a results table (`_placed_rows`): its rows with a place (a "DNF" row
    finished not); "How many took part?" its rows (audit 87c v05: NOT FOUND, as no row writes "runners"). A noun
    that names fewer than every row counts those it names (`_rows_of_noun`: "How many women finished?" the placed
    rows whose `Sex` is F, "How many DNFs were there?" the rows placed 'DNF'; audit 88g v01-v03 counted every row);
    one who took part (ran, started) is no row placed 'DNS' (`_NON_STARTER`). None when a word of the noun is none
    the table's rows are, the question names more than the event (`_EVENT_NOUNS`: a condition), or the text is no
    results table."""
    m = _FINISHED_COUNT.match(" ".join(query.split()))
    table = _column_text_rows(state) if m is not None else None
    if m is None or table is None:
        return None
    if any(w.lower() not in ENGLISH_STOPWORDS | _EVENT_NOUNS for w in _WORD.findall(m.group("rest") or "")):
        return None
    columns, rows = table
    placed = _placed_rows(columns, rows)
    if placed is None:
        return None
    done = bool(m.group("done")) or any(stem(w) == stem("finishers") for w in m.group("noun").split())
    chosen = {n for n, _ in rows}
    if m.group("started"):  # "How many took part?": a 'DNS' row entered, and never started
        place = next(i for i, column in enumerate(columns) if _RANK_COLUMN.match(column))
        chosen = {n for n, cells in rows if place >= len(cells) or not _NON_STARTER.match(cells[place])}
    said = []
    for word in m.group("noun").split():
        read = _rows_of_noun(word, columns, rows)
        if read is None:
            return None  # "How many juniors finished?": a set the table's columns do not name
        at, value, lines = read
        if at is not None and done and _RANK_COLUMN.match(columns[at]):
            return None  # "How many DNFs finished?": the place column is what 'finished' reads
        chosen &= lines
        said += [f"{columns[at]} is {value}"] if at is not None else []
    whose = f" whose {' and '.join(said)}" if said else ""
    if done:  # "How many finishers were there?" is how many finished
        count = len([n for _, n, _ in placed if n in chosen])
        return f"{count:,}\nCounted: the rows of the results table with a place{whose} ({len(rows):,} rows)."
    started = " that started" if len(chosen) < len(rows) and m.group("started") else ""
    return f"{len(chosen):,}\nCounted: the rows of the results table{whose}{started} ({len(rows):,} rows)."


_LISTED_COUNT = re.compile(r"(?i)^\s*how many ([a-z][\w-]*)\b(?P<rest>(?:\s+[\w'’-]+){0,5})\s*[?.!]*\s*$")
_HOLDING_VERBS = frozenset(stem(w) for w in "have has had carry carries own owns hold holds contain contains".split())
"""Verbs of a count that say only that the list holds its items ("How many weapons does she have?")."""


def path_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many weapons does she have?" over a JSON object whose `weapons` holds a list of objects: the records
    under that one path, counted (audit 87c v05: NOT FOUND, as no record writes "weapons"). The question's noun
    must be the list's key (its stem: "weapon" of `weapons`), and its other words stop words, pronouns, holding
    verbs (`_HOLDING_VERBS`) or `_COUNT_FRAME` words: any other word may set a condition. None otherwise, or when
    several lists have that key (in different places: which one is meant is a guess)."""
    m = _LISTED_COUNT.match(" ".join(query.split()))
    if m is None:
        return None
    rest = [w.lower() for w in _WORD.findall(m.group("rest") or "")]
    if any(w not in ENGLISH_STOPWORDS and w not in _COUNT_FRAME and stem(w) not in _HOLDING_VERBS for w in rest):
        return None
    want = stem(m.group(1).lower())
    lists: dict[str, set[str]] = {}
    for source in state["sources"]:
        for location, _fields in source[2] if len(source) > 2 else ():
            found = re.fullmatch(r"(.*\[['\"]([^'\"\]]+)['\"]\])\[(\d+)\]", str(location))
            if found is not None and stem(found.group(2).lower()) == want:
                lists.setdefault(f"{source[0]}{found.group(1)}", set()).add(found.group(3))
    if len(lists) != 1:
        return None
    path, items = next(iter(lists.items()))
    return f"{len(items):,}\nCounted: the {len(items):,} records under {path}."


def row_superlative(state: dict[str, Any], query: str) -> str | None:
    """The item of a text's list (a block of lines, a title above it aside) with the greatest or least amount of
    the unit the question's adjective asks (audit 85b v08): money for 'most expensive', 'cheapest' (a service log's
    'Cost £390'), the value of 'Label: 40%' items for 'largest', 'lowest'. A block counts when every line but its
    title holds one such amount; among several such blocks the one whose title shares a word with the question.
    None when no block or several fit, a line holds two amounts of money, or two items tie."""
    m = _ROW_SUPERLATIVE.match(" ".join(query.split()))
    texts = _plain_texts(state)
    if m is None or len(texts) != 1 or _table_records(state["units"]):
        return None
    money = bool(re.search(r"(?i)expensive|costly|costliest|priciest|cheapest|dearest", m.group("adj")))
    asked = {stem(w) for w in _WORD.findall(f"{m.group('pre') or ''} {m.group('noun') or ''}".lower())}
    asked -= {stem(w) for w in [*ENGLISH_STOPWORDS, "part", "parts", "item", "items", "one", "entry", "entries"]}
    lines = texts[0].split("\n")
    blocks: list[tuple[str, list[tuple[int, str, float]]]] = []
    rows: list[tuple[int, str, float]] = []
    title, spoiled = "", False
    for n, line in enumerate([*lines, ""], 1):
        heading = bool(re.match(r"^\s*#{1,6}\s", line))
        if not line.strip() or heading:  # a blank line or a heading ends a block
            if len(rows) >= 2 and not spoiled:
                blocks.append((title, rows))
            title, rows, spoiled = (line if heading else ""), [], False
            continue
        labelled = _LABELLED_LINE.match(line)
        named = labelled.group(1) if labelled is not None else _MONEY_AMOUNT.sub("", _BULLET.sub("", line))
        if rows and _summary_row([named]):
            continue  # 'Total: £650' under the items sums them up, ranked with them it tops them (audit 87 v11)
        try:
            got = _row_amount_of(line, money)
        except ValueError:
            spoiled = True  # two amounts of money on one line: which is the item's is not told
            continue
        if got is None and not rows and not title:
            title = line  # a bare title line over the list ('Grading', 'Visits:')
        elif got is None:
            spoiled = True  # a line of another kind inside the block: no list of amounts alone
        else:
            rows.append((n, got[0], got[1]))
    if len(blocks) > 1:
        blocks = [(t, r) for t, r in blocks if asked & {stem(w) for w in _WORD.findall(t.lower())}]
    if len(blocks) != 1:
        return None
    title, rows = blocks[0]
    least = bool(_LEAST.search(m.group("adj")))
    best = (min if least else max)(value for _n, _name, value in rows)
    top = [(n, name) for n, name, value in rows if value == best]
    if len(top) != 1:
        return None  # a tie: no one item is the answer
    n, name = top[0]
    what = "money amount" if money else "amount"
    return (
        f"{name}\nCompared: the {what} of each of the {len(rows)} lines {rows[0][0]}-{rows[-1][0]}"
        + (f" under '{title.strip()}'" if title.strip() else "")
        + f"; line {n} has the {'least' if least else 'greatest'}."
    )


_COMING = frozenset(stem(w) for w in "coming come attending attend expected joining join going".split())
"""Verbs a count of a list of people may ask with that its label implies of them all ("How many guests are coming?"
over 'Guests: ...'): no condition on its items."""


def _asks_absent(query: str, named: set[str]) -> bool:
    """Whether `query` is "How many people were absent?": `_NOT_THERE` words and nothing more than the words of a
    count, of people, and of the label `named` (stems)."""
    words = _WORD.findall(query.lower())[2:]  # past "how many"
    return any(stem(w) in _NOT_THERE for w in words) and all(
        w in ENGLISH_STOPWORDS
        or w in _COUNT_FRAME
        or w in _ANYONE
        or w in _PEOPLE_NOUNS
        or stem(w) in _NOT_THERE | named | {"be"}
        for w in words
    )


def _absent_union(
    labelled: list[tuple[list[str], int, re.Match[str], set[str]]], query: str, several: bool = False
) -> str | None:
    """For "How many people were absent?" where no one list answers it: the people of the lists labelled by absence
    ('Apologies: Eve', 'Absent:', each label once), with those marked absent in the list of who was there
    ('Attendees: Ann, Cleo (absent)'), each name once (audit 86 v06: NOT FOUND before; audit 87 v07: 'Absent: Dan'
    beside 'Apologies: Eve' is 2). None when the question asks anything else, no such line is written, two lines of
    one label are, or two marked lists are (two meetings: which one is meant is a guess); with `several`, also when
    fewer than two lines are drawn on (one list alone answers as a list count does)."""
    if not _asks_absent(query, set()):
        return None
    marked: list[tuple[int, list[str]]] = []
    listed: list[tuple[int, list[str]]] = []
    labels: list[str] = []
    for lines, number, label, named in labelled:
        if _WAS_THERE_LABEL.search(label.group(1)) and _label_kind(named) is _ATTENDANCE:
            items = _listed_items(label.group(2)) if label.group(2) else _bulleted_below(lines, number)
            absent = [item.strip(" ,;") for item in items or [] if _marked_absent(item)]
            if absent:
                marked.append((number, absent))
        elif named and named <= _NOT_THERE | {stem(w) for w in ("sent", "received", "list")}:
            items = _listed_items(label.group(2)) if label.group(2) else _bulleted_below(lines, number)
            if items is None or not items or _counted_items(items, label.group(1)) is None:
                return None  # prose, a stated count or 'others': how many is not written here
            listed.append((number, [item.strip(" ,;") for item in items]))
            labels.append(" ".join(_WORD.findall(label.group(1).lower())))
    if len(marked) > 1 or len(set(labels)) < len(labels) or not marked + listed:
        return None
    if several and len(marked + listed) < 2:
        return None
    names: dict[str, str] = {}
    for _number, items in marked + listed:
        for item in items:
            names.setdefault(re.sub(r"\s*\([^()]*\)", "", item).strip().lower(), item)
    where = " and ".join(f"line {number}" for number, _items in sorted(marked + listed))
    return (
        f"{len(names):,}\nCounted: the people marked absent or listed as absent ({where}), each name once: "
        f"{_joined(list(names.values())[:20])}."
    )


def _absent_items(lines: list[str], number: int, label: re.Match[str], named: set[str], query: str) -> list[str] | None:
    """For "How many people were absent?" (`_NOT_THERE` words, nothing more) over a list of who was there
    ('Attendees: Ann, Dan (absent)', `_WAS_THERE_LABEL`): its items marked absent (`_ABSENT_MARK`); None when the
    question asks anything else, the label is no such list, no item is marked (that no one was away is not
    written), or another line of `lines` lists the absent under a label of its own ('Apologies: Cleo')."""
    if (
        not _asks_absent(query, named)
        or not _WAS_THERE_LABEL.search(label.group(1))
        or _label_kind(named) is not _ATTENDANCE
    ):
        return None
    for line in lines:
        other = _LABELLED_LINE.match(line)
        if other is not None and any(stem(w) in _NOT_THERE for w in _WORD.findall(other.group(1).lower())):
            return None  # 'Apologies: Cleo' beside the marks: who of the two lists is absent is a guess
    items = _listed_items(label.group(2)) if label.group(2) else _bulleted_below(lines, number)
    absent = [item.strip(" ,;") for item in items or [] if _marked_absent(item)]
    return absent or None


_COUNTED_GROUP = re.compile(r"(\d{1,4})\s+[a-z][\w-]*(?:\s+[a-z][\w-]*)?")
"""A list item that is a group with its count ('3 managers', '4 junior engineers'): its number counts its people."""
_ASKS_BY_VERB = re.compile(
    r"(?i)^\s*how many\s+(?:(?P<noun>[a-z][\w-]*)\s+)?(?:does|do|did|will|would|can|could)\s+"
    r"(?:it|this|that|the\s+[\w-]+|this\s+[\w-]+|that\s+[\w-]+)\s+(?P<verb>[a-z]+)\s*[?.!]*\s*$"
)
"""'How many people does it serve?', 'How many does the table seat?': the count a verb of the text states."""
_VAGUE_VERBS = frozenset(
    "be have has take takes need needs use uses get gets do cost costs contain contains weigh weighs last lasts "
    "include includes require requires mean say says".split()
)
"""Verbs whose number in the text is no answer of its own ('takes 2 eggs' for 'How many minutes does it take?')."""
_PEOPLE = frozenset("people persons person guests diners adults portions servings".split())
"""What a count of 'How many does it serve / seat / sleep?' is of, when the question names nothing or one of these."""
_NUMBER_AFTER = (
    r"\s*(?::\s*|\s)(?:up\s+to\s+|about\s+|around\s+|approx\.?\s+)?"
    r"(\d+(?:\s*(?:-|–|to)\s*\d+)?|(?:"
    + "|".join(sorted(NUMBER_WORDS - {"first", "second", "third", "score"}, key=len, reverse=True))
    + r")\b)(?![\w.,:/]\d|[\w%])"
)


def stated_by_verb(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """The number a verb of the text states for 'How many [noun] does it <verb>?' ("Fluffy Pancakes (serves 4)",
    "Serves: 4", "Seats up to 8" for 'How many people does it serve / seat?'): (the number, its line, the line's
    1-based number), when one line of one plain text states it and no line states another. A vague verb (have,
    take, need) states none: its number counts something else. A title line is reached too, which no unit holds
    once it labels the units below it."""
    asked = _ASKS_BY_VERB.match(query)
    if asked is None or asked.group("verb").lower() in _VAGUE_VERBS:
        return None
    verb = stem(asked.group("verb").lower())
    noun = (asked.group("noun") or "").lower()
    people = {stem(w) for w in _PEOPLE}
    nouns = {stem(noun)} | (people if not noun or stem(noun) in people else set())
    # 'How many servings does it make?' over '(serves 4)': a portion's noun is the serving verb's count too
    verbs = {verb} | ({stem("serve")} if noun in ("servings", "portions") else set())
    found: dict[str, tuple[str, int]] = {}
    for text in _plain_texts(state):
        for number, line in enumerate(text.split("\n"), 1):
            if not any(v[:3] in line.lower() for v in verbs):  # (a stem keeps its word's first letters)
                continue
            for word in re.finditer(r"[A-Za-z]+", line):
                if stem(word.group().lower()) not in verbs:
                    continue
                after = re.match(_NUMBER_AFTER, line[word.end() :])
                if after is None:
                    continue
                follows = re.match(r"[ \t]+([A-Za-z][\w-]*)", line[word.end() + after.end() :])
                if (
                    follows
                    and stem(follows.group(1).lower()) not in nouns
                    and follows.group(1).lower() not in STOPWORDS
                ):
                    continue  # "runs 3 times a day" for "How many hours does it run?": it counts something else
                value = " ".join(after.group(1).split())
                rest = re.split(r"[.;!?](?:\s|$)", line[word.end() + after.end() :])[0]
                if _RATE_AFTER.match(rest) or _CHOICE_AFTER.search(rest):
                    return None  # '1 person per 200 g', '4 as a main or 6 as a starter': no one count (review 84 v10)
                parts = _breakdown_counts(line[word.end() + after.end() :])
                if parts is not None:  # 'Sleeps 6 (4 adults plus 2 children)': the stated total, never 8 (84c v07)
                    if not value.isdigit() or int(value) not in (sum(parts), math.prod(parts)):
                        return None  # the parts disagree with the total, or it is a range: which holds is unknown
                    found.setdefault(value, (" ".join(line.split()), number))
                    continue
                plus = _PLUS_AFTER.search(rest)
                if plus is not None:  # 'Sleeps 4 in two bedrooms, plus 2 on the sofa bed': 6
                    more = plus.group(1).lower()
                    if not value.isdigit() or not (more.isdigit() or more in _SMALL_NUMBERS):
                        return None
                    value = str(int(value) + (int(more) if more.isdigit() else _SMALL_NUMBERS[more]))
                    found.setdefault(value, (" ".join(line.split()), number))
                    continue
                groups = _MORE_GROUPS.match(line[word.end() + after.end() :])
                named = follows is not None and (  # '4 people and 2 dogs': the asked noun's own count
                    stem(follows.group(1).lower()) in {stem(noun), stem("people"), stem("persons")}
                )
                if groups and not named:  # "Serves 2 adults and 2 children": the groups together, not the first (v07)
                    counts = [value, *re.findall(r"(?<![\w.])\d+(?![\w.]|\s*(?:-|–|to)\s*\d)", groups.group(1))]
                    if not all(c.isdigit() for c in counts) or len(counts) < 2 or re.search(r"(?i)\bor\b", groups[1]):
                        return None  # a range or a word among them, or a choice ('2 adults or 3 children')
                    value = str(sum(int(c) for c in counts))
                found.setdefault(value, (" ".join(line.split()), number))
    if len(found) != 1:
        return None
    ((value, (line, number)),) = found.items()
    return value, line, number


_BREAKDOWN = re.compile(
    r"(?i)^\s*(?:\((?P<bracket>[^()]*)\)|(?::|\s[-–—]|,?\s*(?:i\.e\.?|that\s+is|namely)[,:]?)(?P<open>[^;!?()]*))"
)
"""What follows a verb's number when it breaks that number down ('(4 adults plus 2 children)', ': 4 adults and 2
children', ' - 4 in beds + 2 on the sofa', ', i.e. 4 plus 2'): the parts, in brackets or after a colon or dash."""
_PART_COUNT = re.compile(r"(?i)(?<![\w.,])(\d+|" + "|".join(_SMALL_NUMBERS) + r")(?![\w.,]\d|\w)")
"""A count among a breakdown's parts: a whole number, or a number word up to twelve."""


def _breakdown_counts(after: str) -> list[int] | None:
    """The counts of the parts a breakdown right after a verb's number gives ('Sleeps 6 (4 adults plus 2
    children)': [4, 2]), when it opens with a count and holds at least two: the stated number is their total (or
    their product: '8 (2 tables of 4)'), and a 'plus' among the parts adds nothing to it (review 84c v07). None
    when no such breakdown follows ('Sleeps 4 (plus 2 on the sofa bed)' adds 2; '(2 bedrooms)' is one count of
    something else)."""
    shown = _BREAKDOWN.match(after)
    if shown is None:
        return None
    inside = shown.group("bracket") if shown.group("bracket") is not None else shown.group("open")
    inside = re.split(r"[.;!?](?:\s|$)", inside)[0] if shown.group("bracket") is None else inside
    first = re.match(r"\s*(?:about\s+|around\s+)?", inside)
    counts = [m.group(1).lower() for m in _PART_COUNT.finditer(inside)]
    if first is None or not _PART_COUNT.match(inside, first.end()) or len(counts) < 2:
        return None
    return [int(c) if c.isdigit() else _SMALL_NUMBERS[c] for c in counts]


_RATE_AFTER = re.compile(r"(?i)^(?:[ \t]+[A-Za-z][\w-]*)?\s*(?:per|/|for\s+(?:every|each)|every|each)\b")
"""What follows a verb's number when it is a rate, no count ('Serves 1 person per 200 g')."""
_CHOICE_AFTER = re.compile(
    r"(?i)\bor\s+(?:\w+\s+){0,3}?(?:\d|(?:"
    + "|".join(sorted(NUMBER_WORDS - {"first", "second", "third", "score"}, key=len, reverse=True))
    + r")\b)"
)
"""What follows a verb's number when the text gives a choice of counts ('4 as a main or 6 as a starter')."""
_PLUS_AFTER = re.compile(
    r"(?i)(?:\bplus\b|\+|\band\s+(?:an?\s+)?(?:extra|additional|another|further))\s*(?:up\s+to\s+)?(\d+|"
    + "|".join(_SMALL_NUMBERS)
    + r")(?![\w.,]\d)(?=\s*$|[ \t]+(?:more|extra|additional|guests?|people|persons|adults|children|kids|on|in|at"
    r"|using|with|by)\b)"
)
"""What follows a verb's number when more are added to it ('Sleeps 4, plus 2 on the sofa bed')."""
_MORE_GROUPS = re.compile(
    r"(?i)[ \t]+[A-Za-z][\w-]*((?:\s*(?:,|\+|&|\band\b|\bplus\b|\bor\b)\s*(?:\d+|(?:"
    + "|".join(sorted(NUMBER_WORDS - {"first", "second", "third", "score"}, key=len, reverse=True))
    + r"))\s+[A-Za-z][\w-]*)+)"
)
"""What follows a verb's first number and its noun when the number counts one group of several ('2 adults and 2
children', '2 adults + 2 kids'): the other groups, each a number and its noun. (A number word counts as one only
where it is followed by a noun: 'and two children'.)"""

_OWN_KINDS = (
    r"(?:to-?do\s+|shopping\s+|task\s+)?(?:list|note|notes|recipe|checklist|agenda|memo|page|file|document|doc|text)"
)
_ASKS_OWN_TITLE = re.compile(
    r"(?i)^\s*(?:what|which)(?:'s|’s|\s+is|\s+was)\s+(?:"
    rf"(?:the\s+)?(?:title|heading|header|name)\s+(?:of|on)\s+(?:the|this|that|my|our|your)\s+(?P<of>{_OWN_KINDS})"
    rf"|(?:the|this|that|my|our|your)\s+(?P<kind>{_OWN_KINDS})(?:['’]s\s+(?:title|heading|name)|\s+(?:called|titled|named))"
    r")\s*[?.!]*\s*$"
)
"""'What is the title of the list?', "What's the note's heading?", 'What is the recipe called?': the title of the
text itself, the line above its items, which labels them and is none of them."""
_NAMED_BY_FILE = frozenset("file document doc text page".split())
"""What 'the name of the file' may mean its file name by: only its title or heading is asked of these."""


def own_title(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """The title of the one plain text for 'What is the title of the list?' ("Weekend chores" over its items): its
    first line, when that titles it (a Markdown heading, a line ending in a colon, a short line with no sentence
    end above items or set off by a blank line: `_a_title`, `_a_heading`), as (the title, its line, its 1-based
    number); None for another question, several texts, or a text whose first line is no title."""
    asked = _ASKS_OWN_TITLE.match(query)
    texts = _plain_texts(state)
    if asked is None or len(texts) != 1:
        return None
    kind = (asked.group("of") or asked.group("kind")).lower().split()[-1]
    if kind in _NAMED_BY_FILE and re.search(r"(?i)\bname[ds]?\b", query):
        return None
    lines = texts[0].split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    body = [line for line in lines[first:] if line.strip()]
    set_off = first + 2 < len(lines) and not lines[first + 1].strip() and any(x.strip() for x in lines[first + 2 :])
    if len(body) < 2 or not (_a_title(body) or (set_off and _a_heading(lines[first]))):
        return None
    line = " ".join(lines[first].split())
    title = line.lstrip("#").strip().rstrip(":").strip()
    if title.lower() in _SECTION_NAMES:
        return None  # 'Ingredients' over '- flour': the heading of the text's first part, not its title (v06)
    return (title, line, first + 1) if title else None


_WORK = (
    r"(?:poem|song|story|tale|text|piece|essay|article|book|novel|verse|verses|ballad|sonnet|hymn|play|lyrics|"
    r"letter|work|speech|report|paper)"
)
_THE_WORK = rf"(?:the|this|that)\s+{_WORK}"
_ASKS_WORK_AUTHOR = re.compile(
    rf"(?i)^\s*(?:who\s+(?:wrote|authored|composed|penned|created)\s+{_THE_WORK}"
    rf"|who\s+(?:is|was)\s+(?:the\s+)?(?:author|writer|poet|composer|creator)\s+of\s+{_THE_WORK}"
    rf"|who\s+(?:is|was)\s+{_THE_WORK}\s+(?:written|composed|penned)\s+by"
    rf"|(?:who|what)\s+is\s+(?:the\s+)?(?:name\s+of\s+the\s+)?(?:author|poet|writer)(?:['’]s\s+name)?)\s*[?.!]*\s*$"
)
_ASKS_WORK_YEAR = re.compile(
    rf"(?i)^\s*(?:when|in\s+what\s+year|what\s+year|which\s+year)\s+(?:was|were)\s+{_THE_WORK}\s+"
    r"(?:written|composed|penned|published|made|created|dated)\s*[?.!]*\s*$"
)
_ASKS_WORK_TITLE = re.compile(
    rf"(?i)^\s*(?:what|which)(?:'s|’s|\s+is|\s+was)\s+(?:(?:the\s+)?(?:title|name)\s+of\s+{_THE_WORK}"
    rf"|{_THE_WORK}(?:['’]s\s+(?:title|name)|\s+(?:called|titled|named)))\s*[?.!]*\s*$"
)
_BYLINE = re.compile(
    rf"^\s*(?:[-—–]\s*)?(?i:by)\s+(?P<who>{_PERSON})\s*(?:[,(]\s*(?P<year>(?:1[0-9]|20)\d\d)\s*\)?)?\s*\.?\s*$",
)
"""A byline under a work's title: "by Agnes Whitlow (1927)", "by Robert Frost, 1916", "— by Ann Lee"."""


def byline_answer(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(value, line, 1-based line number) for who wrote the one plain text, when, or its title, asked of the work
    ("Who wrote the poem?", "When was the poem written?", "What is the title of the poem?"), when it opens with a
    title line and a byline under it ("The Lighthouse Keeper" / "by Agnes Whitlow (1927)": `_BYLINE`). The work's
    word ("poem") is never written in it, so no search finds these (audit 84 offline F4). None otherwise, and for
    a year the byline does not give."""
    kind = (
        "who"
        if _ASKS_WORK_AUTHOR.match(query)
        else "year"
        if _ASKS_WORK_YEAR.match(query)
        else "title"
        if _ASKS_WORK_TITLE.match(query)
        else None
    )
    texts = _plain_texts(state)
    if kind is None or len(texts) != 1:
        return None
    lines = texts[0].split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()][:2]
    if len(filled) < 2 or filled[1] - filled[0] > 2:
        return None
    title, by = lines[filled[0]].strip().lstrip("#").strip(), _BYLINE.match(lines[filled[1]])
    if by is None or not title or len(_WORD.findall(title)) > 12 or title[-1:] in ".,;:!?":
        return None
    if kind == "who":
        return by.group("who").strip(), lines[filled[1]].strip(), filled[1] + 1
    if kind == "year":
        return (by.group("year"), lines[filled[1]].strip(), filled[1] + 1) if by.group("year") else None
    return title, lines[filled[0]].strip(), filled[0] + 1


_SECTION_NAMES = frozenset(
    "ingredients method methods directions instructions steps preparation equipment materials notes note "
    "contents summary introduction overview background requirements usage installation details description "
    "items".split()
)
"""Headings that name a part of a text, never the whole: a first line 'Ingredients' heads an untitled recipe's
first section, so the text has no title of its own (review 83c v06)."""


_ASKS_HOW_MANY_THERE = re.compile(
    r"(?i)^\s*how many ([a-z][\w-]*s|people) (?:are there|are listed"
    r"|are (?:on|in) (?:the|this|my|our|your) (?:list|file|note)"
    r"|(?:does|do) (?:the|this|my|our|your) (?:list|file|note) (?:have|hold|contain|list))"
    r"(?: in (?:the|this|my|our|your) (?:list|file|note))?\s*[?.!]*\s*$"
)
"""'How many contacts are there?', 'How many people are on the list?': a count of what a short list's lines are."""
_PEOPLE_NOUNS = frozenset(
    "people persons contacts names friends guests members participants attendees invitees customers clients "
    "students players volunteers neighbours neighbors relatives".split()
)
"""Plural nouns that call the lines of a list of people ('Mum - 07700 900123', 'Jake Ross - 07700 900456') its
records, whatever the list's title says: each such line starts with a capital."""
_PERSON_NOUNS = frozenset(
    stem(w)
    for w in [*_PEOPLE_NOUNS, *"person user employee worker student pupil player member customer runner".split()]
)
"""Nouns of a person ('Which student has the highest score?'): what a table's column of names names."""
_FIELD_SEPARATORS = (" - ", " – ", " — ", " | ", "\t", "; ", ", ")
"""What divides the fields of a record written on one line, most telling first."""
_RECORD_LINES = 3


def _holds(sep: str, line: str) -> bool:
    """Whether one raw line (ends stripped, inner spacing as written) divides fields by `sep`, one of
    `_FIELD_SEPARATORS`: a tab only as a tab; another separator as written, its spaces one or more ("Mum  -  0770")."""
    if sep == "\t":
        return "\t" in line
    return sep in " ".join(line.split())


def _field_texts(line: str, sep: str) -> list[str]:
    """The fields of a record line divided by `sep` (one of `_FIELD_SEPARATORS`), their ends stripped."""
    return [f.strip() for f in (line.split("\t") if sep == "\t" else " ".join(line.split()).split(sep))]


def _field_kinds(line: str, sep: str) -> tuple[str, ...]:
    """What each field of a record line divided by `sep` holds: 'email', 'date' (`_DATE`, `_NUMERIC_DATE`, or a
    day and month), 'number' (mostly digits: a phone number), 'mixed' (some digit) or 'words'."""
    kinds = []
    for field in _field_texts(line, sep):
        digits = sum(c.isdigit() for c in field)
        if "@" in field:
            kinds.append("email")
        elif (
            _DATE.search(field)
            or _NUMERIC_DATE.search(field)
            or re.search(rf"(?i)\b\d{{1,2}}\s+{_MONTH}", field)
            or re.fullmatch(rf"(?i){_MONTH}(?:\s+\d{{4}})?", field)  # 'Updated - March' (review 84 v11)
        ):
            kinds.append("date")
        elif digits * 2 > len(field.replace(" ", "")):
            kinds.append("number")
        else:
            kinds.append("mixed" if digits else "words")
    return tuple(kinds)


_TYPED_FIELDS = frozenset({"email", "date", "number"})
_NOTE_LABEL = re.compile(
    r"(?i)^\W*(?:(?:last\s+)?(?:updated|revised|edited|checked|changed|modified|verified|compiled|printed|exported"
    r"|generated|saved|created)(?:\s+(?:on|at|by))?|(?:correct|valid)\s+as\s+of|as\s+of|notes?|n\.?b\.?|p\.?s\.?"
    r"|sources?|see|comments?|remarks?|reminder|to-?do|info|key|legend|footnote|disclaimer|version|page|total"
    r"|count|end)\W*$"
)
"""A line's first field that labels a note, no record ('Updated - March', 'Note - call Ben first'): a record's
first field names its person or thing."""


def _unlike_the_rest(kinds: list[tuple[str, ...]], at: int, noted: bool = False) -> bool:
    """Whether the line at `at` (0: the first, -1: the last) of records whose field kinds are `kinds` is no record
    but a title or a footer written with the records' separator: it has as many fields as the others, which agree
    among themselves (at least two), and where they hold a typed value (`_TYPED_FIELDS`: a phone number) it holds
    words, as a title does ('Family - phone numbers', at 0), or a value of another type, as a footer does ('Last
    updated - 4 May 2024', at -1), or any other value when `noted` says its first field labels a note ('Note -
    call Ben first', `_NOTE_LABEL`, review 84 v11). A line with fewer or more fields, or with words for one
    record's value ('Cy - tbc' at the end), is a record."""
    if len(kinds) < 3:
        return False
    rest = kinds[1:] if at == 0 else kinds[:-1]
    line = kinds[at]
    if not all(k == rest[0] for k in rest) or len(line) != len(rest[0]) or line == rest[0]:
        return False
    odd = [(mine, theirs) for mine, theirs in zip(line, rest[0], strict=True) if mine != theirs]
    if at == 0:
        return all(theirs in _TYPED_FIELDS and mine == "words" for mine, theirs in odd)
    return all(theirs in _TYPED_FIELDS and (mine in _TYPED_FIELDS or noted) for mine, theirs in odd)


def record_lines_count(state: dict[str, Any], query: str) -> str | None:
    """'How many contacts are there?' over a short list (the one plain text, shape 'lines') whose every line but
    its title is one record: the number of those lines, with what was counted. The lines count when the question's
    noun is one of `_PEOPLE_NOUNS` and every line starts with a capital and holds its fields by one separator
    (`_FIELD_SEPARATORS`), or when the title or the source's name names the noun ('Books to read', 'guests.txt');
    a noun the lines themselves write ('How many eggs are there?' over '- 6 eggs') is none of them. None
    otherwise, at least `_RECORD_LINES` lines."""
    asked = _ASKS_HOW_MANY_THERE.match(query)
    texts = [source for source in state["sources"] if len(source) == 2 and isinstance(source[1], str)]
    if asked is None or len(texts) != 1 or state["shapes"] != ["lines"]:
        return None
    noun = asked.group(1).lower()
    name, text = texts[0]
    lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    if not _RECORD_LINES <= len(lines) < _SHORT_LIST:
        return None
    raw = [line.strip() for line in text.split("\n") if line.strip()]
    separator = next((sep for sep in _FIELD_SEPARATORS if all(_holds(sep, line) for line in raw[1:])), None)
    first = text.split("\n")[next(i for i, line in enumerate(text.split("\n")) if line.strip())]
    titled = _a_title(lines) or (
        _a_heading(first)
        and ((separator is not None and not _holds(separator, raw[0])) or len(lines) < len(text.strip().split("\n")))
    )
    kinds = [_field_kinds(r, separator) for r in raw] if separator is not None else []
    noted = [separator is not None and bool(_NOTE_LABEL.match(_field_texts(r, separator)[0])) for r in raw]
    if (
        not titled
        and (  # 'Family - phone numbers' over 'Mum - 07700 ...' (v11), a footer below them or not
            _unlike_the_rest(kinds, 0)
            or (_unlike_the_rest(kinds[:-1], 0) and _unlike_the_rest(kinds[1:], -1, noted[-1]))
        )
    ):
        titled = True
    start = 1 if titled else 0
    # 'Last updated - 4 May 2024', 'Note - call Ben first' below the records (v11, review 84 v11)
    footer = _unlike_the_rest(kinds[start:], -1, noted[-1])
    items = lines[start : len(lines) - footer]
    if any(noted[start : len(lines) - footer]):
        return None  # 'Note - ...' among the records: which lines are records is a guess
    wanted = stem(noun)
    if any(wanted == stem(w.lower()) for line in items for w in _WORD.findall(line)):
        return None  # the lines write the noun: it is something they hold, not what they are
    title_words = {stem(w.lower()) for w in _WORD.findall((lines[0] if titled else "") + " " + str(name))}
    people = (
        noun in _PEOPLE_NOUNS
        and separator is not None
        and all(_holds(separator, r) and _BULLET.sub("", r)[:1].isupper() for r in raw[start : len(raw) - footer])
        and not any(_LABELLED_LINE.match(line) for line in items)  # "Present: Ana, Ben": a label's list, no record
    )
    mixed = titled and re.search(r"(?i)\band\b|&|,|\bor\b", lines[0])  # "Books and films": not all are books
    if not (people or (wanted in title_words and not mixed)):
        return None
    aside = f", the title {lines[0]!r} aside" if titled else ""
    aside += f", the last line {lines[-1]!r} aside" if footer else ""
    return f"{len(items):,}\nCounted: the lines of the list, one of the {noun} each{aside}."


_ASKS_ATTENDEES = re.compile(
    r"(?i)\s*(?:(?:list|name|show(?: me)?|give(?: me)?|tell me|who (?:were|are|was|is))\s+(?:all\s+)?(?:of\s+)?"
    r"(?:the\s+)?(?:attendees|participants|attendants|people (?:present|attending))"
    r"|who\s+(?:attended|participated|(?:was|were) present|(?:was|were) in attendance))"
    r"(?P<rest>(?:\s+[\w'-]+){0,4})\s*[?.!]*$"
)
"""'List the attendees', 'Who were the participants?', 'Who attended the standup?'."""


def attendance_list(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(names, line, line number) for "List the attendees" or "Who attended?" over notes with one line that lists
    who was there under a label of attendance ('Present: Priya, Tom', 'Participants:', 'In attendance:'; see
    `_ATTENDANCE`). A word the question adds ("the standup") must be written above that line, or be a frame word
    ("the meeting"): the notes of another meeting are not these. None when no line, or several, fit."""
    m = _ASKS_ATTENDEES.match(query)
    if m is None or _table_records(state["units"]):
        return None
    rest = [w for w in _WORD.findall(m.group("rest")) if w.lower() not in ENGLISH_STOPWORDS | _COUNT_FRAME]
    found: list[tuple[str, str, int]] = []
    for lines, number, label, named in _labelled_lines(state):
        if not label.group(2) or not named or not named <= _ATTENDANCE:
            continue
        above = "\n".join(lines[: number - 1])
        if not all(_occurrences(w, above) for w in rest):
            continue  # "Who attended the retro?": these notes do not say they are the retro's
        items = _listed_items(label.group(2))
        if items:
            found.append((_joined(items), lines[number - 1].strip(), number))
    return found[0] if len(found) == 1 else None


def stanza_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many (Files) stanzas/paragraphs/records are there?" over RFC 822 stanzas: the stanzas counted (those
    with the named field, when one is named). None when the question is not one, or the text has no stanzas."""
    m = re.match(
        r"(?i)how many (?:([\w-]+) )?(stanzas|paragraphs|blocks|records|entries)(?: (?:are there|in total|does "
        r"(?:the|this) \w+ (?:have|contain|list)|are (?:in|listed in) (?:the|this) \w+))?\s*[?.!]*$",
        " ".join(query.split()),
    )
    found = stanzas(state) if m else []
    if m is None or not found:
        return None
    noun = m.group(2).lower()
    if m.group(1) is None or m.group(1).lower() in ("the",):
        return f"{len(found):,}\nCounted: {noun} (RFC 822 paragraphs: 'Field: value' lines between blank lines)."
    field = _stanza_field(m.group(1), found)
    if field is None:
        return None
    with_it = [s for s in found if field in s["fields"]]
    name = with_it[0]["fields"][field][0]
    return (
        f"{len(with_it):,}\nCounted: {noun} that have a '{name}:' field, among {len(found):,} RFC 822 paragraphs "
        f"('Field: value' lines between blank lines)."
    )


# --- authorship: a header's `Author:` line ---------------------------------------------------------------------

_ASKS_AUTHOR = re.compile(
    r"(?i)^\s*who\s+(?:(?:originally\s+)?(?:wrote|authored|created|developed)|(?:is|was)\s+the\s+(?:original\s+)?"
    r"(?:author|writer|creator)\s+of)\s+(.+?)\s*[?.!]*\s*$"
)
_AUTHOR_LINE = re.compile(
    r"^[\s#/*;%!\[(-]{0,6}(?:(?:original\s+)?authors?(?:\(s\))?\s*:|written\s+by\b:?|created\s+by\b:?"
    r"|(?:original\s+)?(?P<work>[a-z]+(?:\s+and\s+[a-z]+)?)\s+(?:written\s+)?by\b:?)\s*(?P<who>.+)$",
    re.IGNORECASE,
)
_HEADER_LINES = 60
"""How far into a text its header reaches: an `Author:` line below names the author of a part, not of it."""
_THE_TEXT = frozenset("it this file module program library script document text code package tool".split())
_ORIGINAL = frozenset("original originally initial first source".split())
"""Words that ask for the first author of the text itself ("the original code of this module")."""
_WORKS_OF_THE_TEXT = frozenset("code version implementation module program library script".split())
"""What a "<work> by NAME" line names whose author is the text's: "Original code by Kevin O'Connor"."""


def _credited_on_its_line(text: str, subject: list[str]) -> bool:
    """Whether a line of `text` that holds every word of `subject` (lower-case words of the asked work) and is no
    `Author:` line also names a person of two or more capitalised words that are not the subject's own: the
    row `('Kindred', 'Octavia E. Butler', '9780807083697', 1)` credits Kindred to its own person, so the file's
    `-- Author:` line answers only for the file (audit 87 F1: in a short file the whole file is "header")."""
    for line in text.split("\n"):
        if _AUTHOR_LINE.match(line) or not all(_occurrences(w, line) for w in subject):
            continue
        for person in re.finditer(rf"(?<![\w-]){_PERSON}(?![\w-])", line):  # quotes may wrap it: 'Stanislaw Lem'
            words = person.group(0).split()
            if len(words) >= 2 and not {w.lower() for w in words} & set(subject):
                return True
    return False


def author_line(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(names, line, line number) for "who wrote X?" when the header of the text (its first _HEADER_LINES lines)
    has one `Author:` (`Written by`, `Created by`) line and names X there too, or X is the text itself ("this
    module", "the original code of this module"): `# Author: Steven J. Bethard <...>` answers "Who wrote
    argparse?" in argparse.py. A "<work> by NAME" line answers for the work it names: "Original code by ..."
    for the text (its code, version, implementation), "[explanation by ...]" for "the explanation of ...".
    None otherwise."""
    asked = _ASKS_AUTHOR.match(query)
    if asked is None:
        return None
    subject = [w for w in _WORD.findall(asked.group(1).lower()) if w not in ENGLISH_STOPWORDS | _ORIGINAL]
    original = bool(_ORIGINAL & set(_WORD.findall(query.lower())))
    found: list[tuple[str, str, int]] = []
    for source in state["sources"]:
        if len(source) > 2 or not isinstance(source[1], str):
            continue
        head = source[1].split("\n", _HEADER_LINES)[:_HEADER_LINES]
        header = "\n".join(head)
        if subject and not set(subject) <= _THE_TEXT and not all(_occurrences(w, header) for w in subject):
            continue
        if subject and not set(subject) <= _THE_TEXT and _credited_on_its_line(source[1], subject):
            continue  # "('Kindred', 'Octavia E. Butler', ...)": X's own row names its person, the file's author is not
        for number, line in enumerate(head, 1):
            said = _AUTHOR_LINE.match(line)
            work = said.group("work") if said else None
            works = re.split(r"\s+and\s+", work.lower()) if work else []  # "Module and documentation by ..."
            first = bool(re.search(r"(?i)\boriginal", line))  # "Original code by A, augmented by B": A for "original"
            if work is not None and not (
                {stem(w) for w in works} & {stem(w) for w in subject}  # "[explanation by François Pinard]"
                or (set(works) & _WORKS_OF_THE_TEXT and set(subject) <= _THE_TEXT and original >= first)
            ):
                continue  # "Original code by ..." does not say who wrote an explanation in it, nor all of it
            who = said.group("who").strip() if said else ""
            person = re.match(rf"({_PERSON})(?:(?:,|,? and| &)\s+({_PERSON}))*", who) if said else None
            if person is not None and len(person.group(0).split()) >= 2:
                found.append((person.group(0).rstrip(".,"), line.strip(), number))
    return found[0] if len({f[0] for f in found}) == 1 else None


# --- an e-mail's own headers: who sent it, when ---------------------------------------------------------------

_MAIL_THING = r"(?:the|this|that)\s+(?:e-?mail|message|mail|letter|bug(?:\s+report)?|report|issue|problem|crash)"
_ASKS_SENDER = re.compile(
    rf"(?i)^\s*who\s+(?:(?:sent|wrote|reported|filed|submitted|raised)\s+{_MAIL_THING}|(?:is|was)\s+the\s+"
    rf"(?:sender|author|writer|reporter)(?:\s+of\s+{_MAIL_THING})?)\s*[?.!]*\s*$"
)
_ASKS_SENT = re.compile(
    rf"(?i)^\s*(?:when\s+(?:was|were)\s+{_MAIL_THING}\s+(?:sent|written|posted|filed|submitted|reported)|"
    rf"(?:what|which)\s+(?:is|was)\s+the\s+date\s+of\s+{_MAIL_THING}|on\s+what\s+date\s+was\s+{_MAIL_THING}"
    r"\s+(?:sent|written|posted))\s*[?.!]*\s*$"
)
_MAIL_HEADER = re.compile(r"^(From|To|Cc|Date|Subject|Reply-To|Message-ID|Sender):[ \t]*(.*?)\s*$", re.IGNORECASE)
_MAIL_ITSELF = re.compile(r"(?i)\b(?:e-?mail|message|mail)\b")
_ASKED_ACT = {  # the asked verb (or the doer's noun) -> the forms of it, and of its near synonyms, a body may write
    "send": r"sen[dt]s?|sending|post(?:ed|ing|s)?|mail(?:ed|ing)|forward(?:ed|ing|s)?",
    "write": r"wr[io]tes?|writ(?:ing|ten)|draft(?:ed|ing)",
    "report": r"report(?:ed|ing)|flagg(?:ed|ing)|spott(?:ed|ing)|discover(?:ed|ing)",
    "file": r"fil(?:ed|ing)|logged",
    "submit": r"submit(?:ted|ting|s)?",
    "raise": r"rais(?:ed|es|ing)|brought\s+up",
}
_ACT_OF = {
    "sent": "send", "sender": "send", "posted": "send", "wrote": "write", "written": "write", "author": "write",
    "writer": "write", "reported": "report", "reporter": "report", "filed": "file", "submitted": "submit",
    "raised": "raise",
}  # fmt: skip
_FORWARDED = re.compile(r"(?im)^\W*(?:-+\s*)?(?:forwarded|original)\s+message\b|^\s*(?:From|Date|Sent):\s*\S")
"""A mail quoted inside the body ("---------- Forwarded message ---------", an inner `From:`): its own sender and
date are not the outer headers'."""


_A_MAIL = re.compile(r"(?i)\b(?:this\s+|the\s+present\s+)?(?:e-?mail|message|mail)s?\b")
_ANOTHER_MAIL_BEFORE = re.compile(
    r"(?:\b(?:[Aa]n?|[Yy]our|[Hh]is|[Hh]er|[Tt]heir|[Ee]arlier|[Pp]revious|[Ll]ast|[Oo]ther|[Aa]nother|[Oo]lder|"
    r"[Ff]irst|[Oo]riginal)|\w['’]s)\s+(?:[a-z]+\s+)?$"
)
"""What stands before a mail's noun when it names another mail than the text itself: 'your email', "Petra's
mail", 'an earlier message', 'my last mail'."""
_ANOTHER_MAIL_AFTER = re.compile(
    r"^\s+(?:(?:that|which)\s+)?(?:from\b|of\s+\d|dated\b|[A-Z][a-z]+\b|I\b|you\b|he\b|she\b|they\b|we\b)"
)
"""What follows a mail's noun when it names another mail than the text itself: 'the mail Petra sent', 'the email
from Petra', 'the message of 1 March', 'the email you sent'."""


def _of_this_mail(sentence: str) -> bool:
    """Whether a body sentence speaks of the mail that holds it ('This email was sent on behalf of Maria', 'The
    message was sent by mistake') rather than only of other mails ('Please see the mail Petra sent on 1 March',
    'Your email of 28 February was sent on to Ann'): a sentence about another mail says nothing of the headers'
    sender or date (review 84c v06). A forward ('I am forwarding a message Petra sent me') still speaks of this
    one: it holds another mail whose sender a question may mean."""
    if re.search(r"(?i)\bforward", sentence):
        return True
    for mail in _A_MAIL.finditer(sentence):
        if mail.group().lower().startswith(("this", "the present")):
            return True
        if _ANOTHER_MAIL_BEFORE.search(sentence[: mail.start()]) or _ANOTHER_MAIL_AFTER.match(sentence[mail.end() :]):
            continue
        return True
    return False


def mail_header(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(value, line, line number) for "Who reported the bug?" / "Who sent the email?" (its `From:` header, the
    name without the address when it gives one) and "When was the email sent?" (its `Date:` header) over a text that
    is one e-mail: it opens with header lines, `From:` and `Date:` or `Subject:` among them. A mail says who sent it
    and when in its headers, never in words the question uses. None for any other question or text, or two mails."""
    sender = _ASKS_SENDER.match(query)
    if sender is None and _ASKS_SENT.match(query) is None:
        return None
    asked = re.search(r"(?i)\b(" + "|".join(_ACT_OF) + r")\b", query)
    act = _ACT_OF[asked.group(1).lower()] if asked else "send"
    mails = []
    bodies = []
    for source in state["sources"]:
        if len(source) > 2 or not isinstance(source[1], str):
            continue
        headers: dict[str, tuple[str, str, int]] = {}
        lines = source[1].split("\n")
        body = ""
        for number, line in enumerate(lines, 1):
            m = _MAIL_HEADER.match(line)
            if m is None and (headers or line.strip()):
                body = "\n".join(lines[number - 1 :])
                break
            if m is None:
                continue  # blank lines before the headers
            headers.setdefault(m.group(1).lower(), (m.group(2), line.strip(), number))
        if "from" in headers and ("date" in headers or "subject" in headers):
            mails.append(headers)
            bodies.append(body)
    if len(mails) != 1:
        return None
    # The headers say who sent the mail and when; the body may say who did the asked act and when ("Carl reported
    # the crash", "I posted the letter on 1 March") or quote another mail: then the body decides, not the headers
    # (review 83c v04). Asked of the mail itself ("When was the email sent?"), only a body sentence that does the act
    # to the mail decides ("This message was sent for Carl"); "The invoice was sent on 2 September" is another
    # thing's (review 84 B).
    acts = [
        sentence
        for sentence in _FULL_STOP.split(" ".join(bodies[0].split()))
        if re.search(rf"(?i)\b(?:{_ASKED_ACT[act]})\b", sentence)
    ]
    if _MAIL_ITSELF.search(query):
        acts = [sentence for sentence in acts if _of_this_mail(sentence)]
    if _FORWARDED.search(bodies[0]) or acts:
        return None
    dated = any(p.search(bodies[0]) for p in (_DATE, _YEARLESS_DATE, _DATE_IN_DIGITS, _NUMERIC_DATE))
    if sender is None and not _MAIL_ITSELF.search(query) and dated:
        return None  # "When was the bug reported?" over a body that dates something itself
    field = mails[0].get("from" if sender is not None else "date")
    if field is None or not field[0]:
        return None
    value = field[0]
    if sender is not None:  # "Priya Raman <priya.raman@example.org>": the name; an address alone stays
        value = re.sub(r"\s*<[^<>]*>\s*$", "", value).strip().strip('"') or value
    return value, field[1], field[2]


# --- "who wrote X?": a sentence that says "X was written by NAME" ------------------------------------------------

_ASKS_DOER = re.compile(
    r"(?i)^\s*who\s+(?:(?P<when>originally|first|initially|later|now|currently)\s+)?(?P<verb>[a-z][a-z-]+)"
    r"(?:\s+(?P<what>.+?))?\s*[?.!]*\s*$"
)
_WHEN_DONE = r"originally|first|initially|later|now|currently|since|also|subsequently"
_DONE_BY = re.compile(
    rf"(?:\b(?:was|were|is|are|been)\s+)?(?:(?P<when>{_WHEN_DONE})\s+)?(?P<verb>[A-Za-z][a-z-]+)\s+by\s+"
    rf"(?P<who>{_PERSON}{_ASIDE}(?:(?:,|,? and| &) ?{_PERSON}{_ASIDE})*)"
)
"""A passive's doer: "was originally written by Branko Lankester <...>", "Written by R. M. Stallman and D. Lee"."""
_PRONOUN_SUBJECT = frozenset("it this they he she which that".split())


def passive_agent(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(names, unit) for "Who (originally) wrote ps?" when exactly one sentence of the text says that the question's
    thing was so done "by" named people: "ps was originally written by Branko Lankester" (its subject holds the
    question's words), or "Written by A and B." with no subject of its own, in a text whose header (first
    _HEADER_LINES lines) names the thing. The verb must be a form of the question's (`stem`: wrote/written;
    rewrote is another verb), and a "first"/"originally" asked of it excludes a sentence that says "later". Each
    name must be two words or more. None otherwise (two sentences naming different doers included)."""
    asked = _ASKS_DOER.match(query)
    if asked is None or unmodelled(query):
        return None
    verb = stem(asked.group("verb").lower())
    first = (asked.group("when") or "").lower() in ("originally", "first", "initially")
    what = [w for w in _WORD.findall((asked.group("what") or "").lower()) if w not in ENGLISH_STOPWORDS | _THE_TEXT]
    headers = [source[1].split("\n", _HEADER_LINES)[:_HEADER_LINES] for source in state["sources"] if len(source) == 2]
    header = "\n".join("\n".join(h) for h in headers if isinstance(h, list))
    found: dict[str, dict[str, Any]] = {}
    for unit in state["units"]:
        flat = " ".join(unit["text"].split())
        for said in _DONE_BY.finditer(flat):
            if stem(said.group("verb").lower()) != verb:
                continue
            when = (said.group("when") or "").lower()
            if first and when in ("later", "now", "currently", "since", "also", "subsequently"):
                continue  # "later rewritten by ..." for "Who first wrote it?"
            start = max(flat.rfind(". ", 0, said.start()), flat.rfind("; ", 0, said.start()))
            subject = {stem(w) for w in _WORD.findall(flat[start + 1 : said.start()].lower())} - {"was", "were"}
            content = subject - {stem(w) for w in ENGLISH_STOPWORDS | _PRONOUN_SUBJECT | _THE_TEXT}
            if (
                what
                and not all(stem(w) in subject for w in what)
                and not (not content and all(_occurrences(w, header) for w in what))
            ):
                continue  # "ls was written by ..." does not say who wrote grep
            who = re.sub(r"\s*(?:<[^<>]*>|\([^()]*\)|⟨[^⟨⟩]*⟩)", "", said.group("who")).strip(" ,.")
            people = re.split(r",? and |, | & ", who)
            if any(len(p.split()) < 2 or p.split()[0].lower() in ENGLISH_STOPWORDS for p in people):
                continue  # "by Default", "by The user": no one's name
            if any(w.lower().rstrip(".") in _TITLES for p in people for w in p.split()):
                continue  # "by Ola Berg, Lead Auditor, and Per Holm": which are names is the reader's to say
            found.setdefault(who, unit)
    if len(found) != 1:
        return None
    return next(iter(found.items()))


# --- "how do I ... since X is not available": X's own entry names what to use instead ------------------------

_ASKS_WAY = re.compile(
    r"(?i)^\s*(?:how\s+(?:do|can|should|would)\s+(?:i|we|you|one)\b|what\s+(?:should|can|do|could)\s+(?:i|we|you|one)"
    r"\s+use\b|what\s+(?:is\s+)?(?:the\s+)?(?:alternative|replacement)\b|what\s+replaces\b)"
)
_UNAVAILABLE = re.compile(
    r"(?i)\b(?:instead\s+of|without|in\s+place\s+of|rather\s+than)\s+(?:using\s+|calling\s+)?(?:the\s+)?"
    r"([\w:.$@-]+)|\b([\w:.$@-]+)(?:\(\))?\s+(?:(?:is|are)\s+(?:not|no\s+longer)\s+|(?:isn't|aren't)\s+)"
    r"(?:available|implemented|supported|allowed)\b|\b(?:cannot|can't|can\s+not)\s+use\s+([\w:.$@-]+)"
)
_USE_INSTEAD = re.compile(
    r"(?i)\buse\s+(?:the\s+)?(?:(?:method|function|module|command|builtin|operator)\s+)?(\S+(?:\s\S+){0,2}?)\s+"
    r"instead\b|\binstead,?\s+use\s+(\S+(?:\s\S+){0,2}?)(?=[.,;:]|\s*$)"
)


def replacement(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(what to use, the unit saying so) for "how do I ... since atexit is not available?" (or "... instead of
    X", "without X", "what should I use instead of X"): the entry named X (a manual's or POD's `=item`) says "use
    Y instead" (or "instead use Y") once: Y. None when the question is not one, no entry has that name, or the
    entry names no replacement or two."""
    if _ASKS_WAY.match(query) is None:
        return None
    named = {
        (m.group(1) or m.group(2) or m.group(3)).rstrip(".,;:?!").removesuffix("()").lower()
        for m in _UNAVAILABLE.finditer(query)
    }
    named -= ENGLISH_STOPWORDS
    if len(named) != 1:
        return None
    name = named.pop()
    entry = [u for u in state["units"] if u["kind"] == "entry" and u["name"].lower().removesuffix("()") == name]
    said: dict[str, dict[str, Any]] = {}
    for unit in entry:
        for m in _USE_INSTEAD.finditer(unit["text"]):
            value = (m.group(1) or m.group(2)).strip(_FIELD_EDGES)
            if value and value.lower() != name:
                said.setdefault(value, unit)
    if len(said) != 1:
        return None
    return next(iter(said.items()))


_SUBSTITUTE_FOR = re.compile(
    r"(?i)\b(?:substitutes?|replacements?|alternatives?|swaps?)\s+(?:for|to)\s+(?:the\s+|a\s+|an\s+)?([\w'’-]+)"
)
"""'a substitute for X', 'an alternative to X': what the question wants replaced, as `_UNAVAILABLE` says 'instead of
X'."""


def substitute_notes(state: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """The units that say what to do without the thing "What can I use instead of buttermilk?" names (or "a
    substitute for", "an alternative to"): a note that asks "No buttermilk?" ("Out of double cream?", "Don't have
    X?", "If you don't have X"; one qualifying word allowed) and says what to do then, the text's way of saying
    what replaces it (audit 88b v14). They are quoted, never read: the answer is the note's instruction, which no
    short phrase is. [] when the question asks no such thing or no unit writes such a note."""
    if _ASKS_WAY.match(query) is None and _SUBSTITUTE_FOR.search(query) is None:
        return []
    named = {(m.group(1) or "").rstrip(".,;:?!").lower() for m in _UNAVAILABLE.finditer(query)}
    named |= {m.group(1).rstrip(".,;:?!").lower() for m in _SUBSTITUTE_FOR.finditer(query)}
    named = {n for n in named if n and n not in ENGLISH_STOPWORDS}
    if len(named) != 1:
        return []
    thing = re.escape(named.pop())
    note = re.compile(
        rf"(?i)(?:\b(?:no|out\s+of|(?:don't|do\s+not)\s+have)\s+(?:any\s+)?(?:[\w-]+\s+)?{thing}\w{{0,2}}\s*\?"
        rf"|\bif\s+you\s+(?:don't|do\s+not)\s+have\s+(?:any\s+)?(?:[\w-]+\s+)?{thing}\w{{0,2}}\b)\s*\S"
    )
    return [u for u in state["units"] if note.search(u["text"])]


# --- the answer -------------------------------------------------------------------------------------


# --- settings: a configuration file's `KEY value` lines ---------------------------------------------------------

_SETTING = re.compile(
    r"^([A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)*)(?:[ \t]*[=:][ \t]*|[ \t]+)([^\s#;][^#;\n]*)(?:[#;].*)?$",
    re.MULTILINE,
)
_SHELL_ASSIGNMENT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*=\S")
"""A shell-style `NAME=value` line, no space around "=" (crontab's SHELL=, MAILTO=; a `.env` file's lines)."""
_COMMENTED_SETTING = re.compile(
    r"^#[ \t]?(?:Default:[ \t]*)?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)=(\S[^\n]*?)(?=,[ \t]*[A-Z][A-Z0-9_]*=|$)", re.MULTILINE
)
"""A shell-style setting commented out, or a comment giving a setting's default (`# Default: DHOME=/home`); of a
comment giving two (`# Default: FIRST_UID=1000, LAST_UID=59999`), the first, its value up to the comma: the second
has its own `#LAST_UID=59999` line (audit 88a: FIRST_UID was read as set to two values, "1000, LAST_UID=59999" and
"1000", and so to none)."""
_KEY_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
MIN_SETTINGS = 5
"""Setting lines (a key of several parts, or `key = value`) a source must hold to be read as a configuration file:
prose, man pages and licences hold a few lines of that shape by chance."""


def _all_assignments(text: str) -> bool:
    """Whether every line of `text` but blanks and `#` comments is a `KEY=value` setting, two or more of them (a
    `.env` file shorter than MIN_SETTINGS lines: audit 85 v06); a sentence has no `=` right after its first word."""
    lines = [line.strip() for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]
    return len(lines) >= 2 and all(_ENV_LINE.fullmatch(line) for line in lines)


_ENV_LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*[ \t]*=[ \t]*\S.*")


def _unquoted(value: str) -> str:
    """A setting's value without the quotes around it (`"^[a-z]*$"` -> `^[a-z]*$`)."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


def _key_words(key: str) -> list[str]:
    """A setting's key as words, its common abbreviations written out: ENCRYPT_METHOD -> encrypt, method;
    PermitRootLogin -> permit, root, login; MAIL_DIR -> mail, directory."""
    return [_KEY_ABBREVIATIONS.get(part.lower(), part.lower()) for part in _KEY_PART.findall(key)]


_KEY_ABBREVIATIONS = {
    "dir": "directory",
    "perm": "permission",
    "perms": "permissions",
    "enab": "enable",
    "max": "maximum",
    "min": "minimum",
    "num": "number",
    "cmd": "command",
    "env": "environment",
    "pass": "password",
    "passwd": "password",
    "pw": "password",
    "addr": "address",
    "conf": "configuration",
    "cfg": "configuration",
    "msg": "message",
    "tmp": "temporary",
    "len": "length",
    "lvl": "level",
    "db": "database",
    "usr": "user",
    "pwd": "password",
    "srv": "server",
    "svc": "service",
    "repo": "repository",
    "ver": "version",
    "src": "source",
    "dest": "destination",
    "img": "image",
}
"""Parts of keys that abbreviate a word a question writes out (MAIL_DIR, PASS_MAX_DAYS, LOG_OK_LOGINS aside; DB_PORT
and the other common prefixes of `.env` files, audit 85 v06). A question may write either form (`setting_value`)."""
_ABBREVIATIONS = (
    *_KEY_ABBREVIATIONS.items(),
    ("config", "configuration"),
    ("auth", "authentication"),
    ("auth", "authorization"),
    ("temp", "temperature"),
    ("temp", "temporary"),
    ("qty", "quantity"),
    ("info", "information"),
    ("admin", "administrator"),
    ("app", "application"),
    ("attr", "attribute"),
    ("avg", "average"),
    ("req", "request"),
    ("res", "response"),
    ("resp", "response"),
    ("ts", "timestamp"),
    ("desc", "description"),
    ("id", "identifier"),
)
_ABBREVIATED: dict[str, frozenset[str]] = {}
"""Each word and its common abbreviations, both ways ("max" <-> "maximum", "db" <-> "database"; audit 88b v10): a
key writes `max_attempts` for "the maximum number of attempts", a question may write "db" for a `database`
section. An abbreviation that is an everyday word of its own ("pass", "app", "id") stands for nothing when the
question writes it: it is only found for the written-out word."""
for _short, _long in _ABBREVIATIONS:
    _ABBREVIATED.setdefault(_long, frozenset())
    _ABBREVIATED[_long] |= {_short}
    if _short not in ("pass", "res", "app", "info", "desc", "id", "ts"):
        _ABBREVIATED[_short] = _ABBREVIATED.get(_short, frozenset()) | {_long}


def _written_in_some_form(state: dict[str, Any], word: str) -> bool:
    """Whether the text writes `word` or one of its abbreviations ("maximum" as the `max` of `max_files`): a
    superlative a key writes short is a term of the question, not only an operator over the units."""
    index = state["index"]
    return bool(index.rows(word)) or any(index.rows(short) for short in _ABBREVIATED.get(word, ()))


def _key_descriptions(text: str) -> dict[str, str]:
    """{key: description} from comment lines that name a key first and say what it is ("#	TTYPERM		Login tty will
    be set to this permission."), as a configuration file's header documents keys whose names abbreviate."""
    found: dict[str, str] = {}
    for match in _KEY_DESCRIBED.finditer(text):
        found.setdefault(match.group(1), match.group(2))
    return found


_KEY_DESCRIBED = re.compile(
    r"^#[ \t]*([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?:[ \t]{2,}|\t)[ \t]*([A-Za-z][^\n]{8,})$", re.MULTILINE
)

_KNOWN_KEYS = {
    "MAILTO": (
        "mail mails email emails e-mail mailed emailed",
        "sent send sends go goes get gets receive receives address output report",
    ),
    "SHELL": ("shell", "run runs command commands"),
    "PATH": ("path", "search searched command commands program programs"),
    "HOME": ("home", "directory folder"),
    "EDITOR": ("editor", "edit editing"),
    "VISUAL": ("editor", "edit editing"),
    "CRON_TZ": ("timezone", "time zone"),
    "TZ": ("timezone", "time zone"),
    "LANG": ("language locale", ""),
}
"""Shell variables whose name is no plain word of what they mean (crontab's MAILTO: where its mail goes): the
words one of which a question names them by, then the words such a question may add (audit 86 v04: "Where are
cron emails sent?" is MAILTO)."""
_CRONTAB_FRAME = frozenset(stem(w) for w in "cron crontab job jobs user".split())
"""Words a question about a crontab's setting may use of the file itself ("cron emails"), which no comment says."""
_SETTING_FRAME = frozenset(
    stem(w) for w in "default value set setting use used option file current number maximum minimum".split()
)
"""Words a question about a setting may use without its comments using them."""


def _comments_above(text: str, start: int) -> str:
    """The comment lines right above the line at `start` (up to a blank or other line), and that line's own."""
    lines = text[:start].split("\n")[:-1]
    block = []
    for line in reversed(lines):
        if not line.lstrip().startswith(("#", ";")):
            break
        block.append(line)
    end = text.find("\n", start)
    return "\n".join([*block, text[start : end if end >= 0 else len(text)]])


_GROUP_COMMENTS = 6
"""Groups of settings at most between a comment and a setting it heads (a blank line ends each group)."""


def _group_comment(text: str, start: int) -> str:
    """The prose comment that heads the run of settings the line at `start` is in, when that setting's own group
    (its lines up to a blank) has none: above it only groups of settings, live or commented out, each with no
    prose comment of its own, up to a comment block that has prose. adduser.conf's "# Specify inclusive ranges of
    UIDs and GIDs ... for system users, system groups, non-system users and non-system groups" heads four groups,
    `FIRST_SYSTEM_UID` to `LAST_GID`, and only the first sits right under it (audit 88a: "the last UID for
    non-system users" is LAST_UID, three groups down). "" when the setting's own comments have prose, or anything
    else stands between (a line of text, a section header)."""
    lines = text[:start].split("\n")[:-1]
    groups = 0
    block: list[str] = []
    for line in reversed(lines):
        bare = line.strip()
        setting = _COMMENTED_SETTING.match(bare) or (not bare.startswith(("#", ";")) and _SETTING.match(bare))
        if not bare:
            if block:
                break  # the prose comment block above ends here
            groups += 1
            if groups > _GROUP_COMMENTS:
                return ""
            continue
        if setting and not block:
            continue
        if not bare.startswith(("#", ";")) or setting:
            break
        if not groups:
            return ""  # the setting's own comments have prose: `_comments_above` gives them
        block.append(bare)
    return "\n".join(reversed(block))


def _plain_texts(state: dict[str, Any]) -> list[str]:
    """The texts of the sources as written (not a record file's parsed rows), lines and all."""
    return [source[1] for source in state["sources"] if len(source) == 2 and isinstance(source[1], str)]


_CUE_TIMING = re.compile(
    r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{3}\s*-->\s*(?:\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{3}(?:\s.*)?$"
)
"""A subtitle cue's timing line, SubRip's '00:00:01,000 --> 00:00:03,200' or WebVTT's '00:01.000 --> 00:03.200'."""
_ASKS_CUE_COUNT = re.compile(
    r"(?i)^\s*how\s+many\s+(?:(?:subtitle|caption)s?(?:\s+(?:cues|entries|blocks))?|cues|subs|entries)\s+"
    r"(?:are\s+there|are\s+(?:in|listed\s+in)\s+(?:the|this)\s+\w+|(?:does|do)\s+(?:the|this)\s+\w+\s+"
    r"(?:have|hold|contain|list)|in\s+total)(?:\s+in\s+(?:the|this)\s+\w+)?\s*[?.!]*\s*$"
)
"""'How many subtitles are there?', 'How many cues does the file have?': a count of a subtitle file's cues."""


def cue_count(state: dict[str, Any], query: str) -> str | None:
    """The number of cues of the one text that is a subtitle file (SubRip .srt or WebVTT): blocks apart by blank
    lines, each with exactly one timing line ('00:00:01,000 --> 00:00:03,200', `_CUE_TIMING`) among its first two
    lines; a WebVTT header ('WEBVTT ...') and its NOTE, STYLE and REGION blocks are no cues (audit 87 v08: 'How many
    subtitles are there?' was NOT FOUND). None when the question is no such count, or any other block is there
    (a text that only quotes a timing line)."""
    texts = _plain_texts(state)
    if _ASKS_CUE_COUNT.match(" ".join(query.split())) is None or len(texts) != 1:
        return None
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", texts[0].lstrip("\ufeff").replace("\r\n", "\n"))]
    blocks = [b for b in blocks if b.strip()]
    if blocks and blocks[0].startswith("WEBVTT"):
        blocks = [b for b in blocks[1:] if not re.match(r"(?:NOTE|STYLE|REGION)\b", b)]
    cues = 0
    for block in blocks:
        lines = block.split("\n")
        timed = [i for i, line in enumerate(lines) if _CUE_TIMING.match(line)]
        if len(timed) != 1 or timed[0] > 1:
            return None
        cues += 1
    if cues < 2:
        return None
    return f"{cues:,}\nCounted: the cues of the subtitle file (each a block with one timing line 'start --> end')."


_ASKS_PLAYER_COUNT = re.compile(
    r"(?i)^\s*how\s+many\s+(?:players|participants|competitors|entrants|contestants|teams|clubs|sides|people)\s+"
    r"(?:took\s+part|played|competed|entered|participated|were\s+there|(?:were|are)\s+in\s+(?:the|this)\s+\w+)"
    r"(?:\s+in\s+(?:the|this)\s+[\w-]+(?:\s+[\w-]+)?)?\s*[?.!]*\s*$"
)
"""'How many players took part?', 'How many teams competed in the cup?': the sides the text's results name."""
_SIDE = r"[A-Z][\w'.&-]*(?:\s+(?:[A-Z][\w'.&-]*|of|de|van|von|da|al))*"
_RESULT_LINE = re.compile(
    rf"^\s*(?:[-*•+]|\d{{1,3}}[.)])\s+(?P<a>{_SIDE})\s+(?:beat|beats|defeated|defeats|def\.|bt|drew\s+with|lost\s+to"
    rf"|(?P<against>v|vs\.?|versus))\s+(?P<b>{_SIDE})"
    rf"(?P<score>\s*,?\s*\d{{1,3}}\s*[-–:]\s*\d{{1,3}}(?:\s*[-–:,]\s*\d{{1,3}}){{0,4}})?"
    r"(?:\s*\((?P<note>[^()]*)\))?\s*\.?\s*$"
)
"""A list item that gives one match's result: '- Tom Okafor beat Liam Reyes 3-1', '1. Ajax v Porto 2-2 (a.e.t.)';
or names one unplayed ('- Ajax v Celtic' with no score, '- Benfica v Roma (postponed)': `_unplayed`)."""
_UNPLAYED_NOTE = re.compile(
    r"(?i)\b(?:postponed|cancell?ed|called\s+off|abandoned|void|rescheduled|re-arranged|rearranged|deferred|"
    r"suspended|not\s+played|unplayed|tb[acd]|w/o|walk-?over|forfeit(?:ed|s)?|scratched|to\s+be\s+played"
    r"|awarded|bye|by\s+default|no[-\s]show|did\s+not\s+(?:play|turn\s+up|show))\b"
)
"""A result's note that says the match was not (fully) played: '(postponed, rain)', '(walkover)', a result
awarded ('0-3 (awarded)': the board gave it, maybe to a side that never took the field, review 88q v08)."""
_FIXTURES_TITLE = re.compile(
    r"(?i)\b(?:fixtures?|upcoming|next|schedule[sd]?|coming\s+up|to\s+(?:play|come)|future|forthcoming)\b"
)
"""A title over a list of matches still to be played ('Fixtures (next week)', 'Upcoming'): no results."""


_A_SCORE = re.compile(r"\b\d{1,3}\s*[-–:]\s*\d{1,3}\b")
_KICK_OFF = re.compile(r"^\s*,?\s*(?:[01]?\d|2[0-3]):[0-5]\d\s*$")
"""A 'score' that is as much a kick-off time ('19:45', '15:00')."""


def _unplayed(result: re.Match[str], title: str) -> bool | None:
    """Whether a `_RESULT_LINE` item names a match not played: one under a fixtures title (`_FIXTURES_TITLE`),
    one whose note says so (`_UNPLAYED_NOTE`: postponed, a walkover), or 'X v Y' with no score (a fixture: only a
    score, or a verb such as 'beat', says it was played). None when it cannot be told: a score with such a note
    ('2-1 (abandoned)': played in part, or awarded) or one written as a time ('Ajax v Porto 19:45')."""
    if _FIXTURES_TITLE.search(title):
        return True
    note = result.group("note") or ""
    score = result.group("score") or ""
    if (score or _A_SCORE.search(note)) and (_UNPLAYED_NOTE.search(note) or _KICK_OFF.match(score)):
        return None
    return bool(_UNPLAYED_NOTE.search(note) or (result.group("against") and not score and not _A_SCORE.search(note)))


_TEAM_WORDS = frozenset(
    "united city fc afc sc cf town rovers athletic athletico wanderers club team academy rangers county albion "
    "hotspur real sporting olympic olympique dynamo juniors seniors school college university boys girls "
    "women men ladies reserves xi".split()
)
"""Words of a side's name that make it a team, no one player ('Leeds United', 'Riverside FC', 'St Mary's Boys')."""


def _a_person_side(side: str) -> bool:
    """Whether a result's side has a person's name's shape: two or three capitalised words ('Dev Patel', 'Anna de
    Vries'), none of them a team word (`_TEAM_WORDS`)."""
    words = side.split()
    capitals = [w for w in words if w[:1].isupper()]
    return 2 <= len(capitals) <= 3 and all(
        re.fullmatch(r"[A-Z][a-z'’-]+|[A-Z]\.", w) and w.lower() not in _TEAM_WORDS for w in capitals
    )


_ASKS_ROW_CELL = re.compile(
    r"(?i)^\s*how\s+many\s+(?P<noun>[\w'-]+(?:\s+[\w'-]+){0,2}?)\s+(?:did|does|do|has|have|had)\s+(?P<row>.+?)"
    r"(?:\s+(?:have|has|get|got|score|scored|win|won|make|made|earn|earned|record|recorded))?\s*[?.!]*\s*$"
)
"""'How many away wins did Leeds United have?': a row the question names whole, and a column its noun names."""


def row_column_cell(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(cell, the row's unit) that answers "How many away wins did Leeds United have?" over a table read by its
    header (a gutter table's rows, a pipe or CSV table's): the number in the one row whose first cell the question
    names whole ('Leeds United'), under the one column whose name is the question's noun ('Away wins'). A lookup,
    never a count of the rows (audit 88r v08, v09: a gutter table's rows were counted, 3). None when the question
    is no such lookup, no row or several fit, no column or several, or the cell is no number."""
    asked = _ASKS_ROW_CELL.match(" ".join(query.split()))
    if asked is None or unmodelled(query):
        return None
    noun = {stem(w.lower()) for w in _WORD.findall(asked.group("noun"))}
    row = " ".join(asked.group("row").split()).lower()
    row = row[4:] if row.startswith("the ") else row
    rows = [u for u in state["units"] if u.get("keys") and u.get("fields") and u["fields"][0].strip().lower() == row]
    if len(rows) != 1:
        return None
    keys, fields = rows[0]["keys"], rows[0]["fields"]
    columns = [i for i, key in enumerate(keys) if key and {stem(w) for w in _WORD.findall(key.lower())} == noun]
    if len(columns) != 1 or columns[0] >= len(fields) or not re.fullmatch(r"\d+(?:[.,]\d+)*", fields[columns[0]]):
        return None
    return fields[columns[0]], rows[0]


_ASKS_SIDE_SCORE = re.compile(
    r"(?i)^\s*how\s+many\s+(?:goals|points|runs|tries|sets|frames|games|legs)\s+(?:did|does|do)\s+(?P<side>.+?)\s+"
    r"(?:score|get|make|win|have)\s*[?.!]*\s*$"
)
"""'How many goals did Everton score?': one side's number of a list of scores."""
_SCORE_LINE = re.compile(
    rf"^\s*(?:[-*•+]\s+)?(?:(?P<a>{_SIDE})\s+(?P<x>\d{{1,3}})\s*[,–-]?\s*(?P<b>{_SIDE})\s+(?P<y>\d{{1,3}})"
    rf"|(?P<c>{_SIDE})\s+(?P<z>\d{{1,3}})\s*[-–:]\s*(?P<w>\d{{1,3}})\s+(?P<d>{_SIDE}))\s*$"
)
"""A line that gives one match's score, each side's number beside it: 'Arsenal 3 Chelsea 1', 'Leeds 0 - 2 Everton'
(as `_word_table` reads them, never a table's row)."""


def side_score(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(number, line, line number) that answers "How many goals did Everton score?" over lines of scores
    ('Leeds 0 Everton 2', `_SCORE_LINE`; two or more, under a title or none, that no table's header stands over):
    the number beside the side the question names, on the one line that names it (audit 88r v07: the title
    'Spring Football League Results' was read as a header, and the rows counted). None when the question is no
    such count, the side plays on several lines (which match is asked is a guess) or on none."""
    asked = _ASKS_SIDE_SCORE.match(" ".join(query.split()))
    texts = _plain_texts(state)
    if asked is None or len(texts) != 1:
        return None
    side = " ".join(asked.group("side").split()).lower()
    side = side[4:] if side.startswith("the ") else side
    lines = texts[0].split("\n")
    scores = [(number, _SCORE_LINE.match(line)) for number, line in enumerate(lines, 1)]
    played = [(number, m) for number, m in scores if m is not None]
    header = lines[played[0][0] - 2] if played and played[0][0] >= 2 else ""
    if len(played) < 2 or (header.strip() and aligned_table([header, *(m.group(0) for _, m in played)]) is not None):
        return None  # 'Name Age City Score' over 'Ann 34 York 12': a table's rows, read by its header
    found = []
    for number, m in played:
        pairs = [("a", "x"), ("b", "y")] if m.group("a") else [("c", "z"), ("d", "w")]
        found += [(m.group(n), m.group(0).strip(), number) for name, n in pairs if m.group(name).lower() == side]
    if len(found) != 1:
        return None
    return found[0]


def result_sides_count(state: dict[str, Any], query: str) -> str | None:
    """How many players (teams) took part, by the one text whose every list item is a match result ('- Dev Patel
    beat Chris Lang 3-0', `_RESULT_LINE`): the distinct names on the two sides of those items played, each once,
    as written (audit 87c v09: 'How many players took part?' over a bracket was NOT FOUND). An umpire or a prize
    winner named in prose is no side, nor a side only of a match not played (`_unplayed`: next week's fixtures, a
    postponed match; audit 88g v08-v10 counted them). None when the question is no such count, fewer than two
    results are listed, or a list item is something else (a bye, a withdrawal: who else took part is not written
    so)."""
    texts = _plain_texts(state)
    if _ASKS_PLAYER_COUNT.match(" ".join(query.split())) is None or len(texts) != 1:
        return None
    title = ""
    items = 0
    results: list[re.Match[str]] = []
    unplayed: list[str] = []
    for line in texts[0].split("\n"):
        if not _BULLET.match(line):
            title = line if line.strip() else title  # the title (or prose line) the items below stand under
            continue
        items += 1
        result = _RESULT_LINE.match(line)
        if result is None:
            return None
        played = _unplayed(result, title)
        if played is None:
            return None  # "Ajax v Porto 19:45": a result or a kick-off time
        if played:
            unplayed.append(_BULLET.sub("", line).strip())
        else:
            results.append(result)
    if len(results) < 2:
        return None
    sides: dict[str, str] = {}
    for result in results:
        for side in (result.group("a"), result.group("b")):
            sides.setdefault(" ".join(side.split()).lower(), " ".join(side.split()))
    persons = re.search(r"(?i)^\s*how\s+many\s+(?:players|people)\b", query) is not None
    if persons and not all(_a_person_side(side) for side in sides.values()):
        return None  # "Arsenal beat Chelsea 2-1": each side is a team, and how many players it fielded is not written
    shown = _joined(list(sides.values())[:30])
    aside = f"; {len(unplayed):,} not played aside: {_joined(unplayed[:10])}" if unplayed else ""
    return (
        f"{len(sides):,}\nCounted: the distinct names on either side of the {len(results):,} results listed, each "
        f"once as written: {shown}{aside}."
    )


_WAS_IT_DONE = re.compile(
    r"(?i)^\s*(?:was|were|has|have|had)\s+(?:the\s+|a\s+|an\s+|their\s+|our\s+|his\s+|her\s+)?"
    r"(?P<what>[\w' -]+?)\s+(?:been\s+|finally\s+|ever\s+)?(?P<verb>approved|accepted|agreed|adopted|passed|carried|"
    r"granted|confirmed|ratified|authori[sz]ed|held|run|completed|finished|signed|funded|endorsed|decided)"
    r"(?:\s+(?:by|at|in|on|during)\s+(?:the\s+)?[\w' -]{1,40})?\s*[?.!]*\s*$"
)
"""'Was the compost workshop approved?', 'Has the budget been adopted?': whether a proposal went through."""
_PUT_OFF = re.compile(
    r"(?i)\b(?:postponed|deferred|put\s+off|held\s+over|carried\s+over|rejected|turned\s+down|declined|refused|"
    r"voted\s+down|defeated|withdrawn|cancell?ed|shelved|tabled\s+until|adjourned|not\s+(?:approved|accepted|"
    r"agreed|adopted|passed|carried))\b"
)
"""Words that settle a proposal did not go through (yet): 'It was postponed to the next meeting.' (audit 86 v08)."""
_WENT_THROUGH = re.compile(
    r"(?i)\b(?:approved|accepted|agreed|adopted|passed|carried|granted|confirmed|ratified|authori[sz]ed|endorsed)\b"
)


def put_off_verdict(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """("No" and the passage, the unit) for a `_WAS_IT_DONE` question whose thing the text names in one sentence
    only, when that sentence or the next one ('It was postponed to the next meeting.') says it was put off,
    rejected or withdrawn (`_PUT_OFF`), and neither says it went through (`_WENT_THROUGH`, the question's verb):
    the text settles No though it never writes the question's verb (audit 86 v08). None otherwise."""
    m = _WAS_IT_DONE.match(" ".join(query.split()))
    if m is None or unmodelled(query):
        return None
    what = {stem(w.lower()) for w in _WORD.findall(m.group("what")) if w.lower() not in ENGLISH_STOPWORDS}
    if not what:
        return None
    verb = re.compile(rf"(?i)\b{re.escape(m.group('verb'))}\b")
    found: list[tuple[dict[str, Any], str]] = []
    for unit in state["units"]:
        sentences = [x.strip() for x in _SENTENCE_END.split(" ".join(str(unit.get("text", "")).split())) if x.strip()]
        for i, sentence in enumerate(sentences):
            if not what <= {stem(w.lower()) for w in _WORD.findall(sentence)}:
                continue
            after = sentences[i + 1] if i + 1 < len(sentences) else ""
            follows = re.match(r"(?i)(?:it|this|that|the\s+(?:proposal|motion|idea|item|plan|request))\b", after)
            said = f"{sentence} {after}" if follows else sentence
            if all(said != other for _, other in found):  # a line and the section holding it: one passage
                found.append((unit, said))
    if len(found) != 1:
        return None
    unit, said = found[0]
    if _PUT_OFF.search(said) is None or _WENT_THROUGH.search(said) or verb.search(said):
        return None
    return f"No\nFrom [{unit['where']}] {said}", unit


_CRON_LINE = re.compile(
    r"^(?P<off>[ \t]*#[ \t]*)?[ \t]*(?P<when>@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|[\d*][\d*,/-]*[ \t]+[\d*][\d*,/-]*[ \t]+[\d*?][\d*,/?LW-]*[ \t]+(?:[\d*][\d*,/-]*|[A-Za-z]{3}[\w,-]*)"
    r"[ \t]+(?:[\d*?][\d*,/#?L-]*|[A-Za-z]{3}[\w,-]*))[ \t]+(?P<command>\S.*)$"
)
"""A crontab's schedule line: five time fields (or `@daily`...) and a command; `#` before it comments the job out."""


def _crontab(text: str) -> list[tuple[int, bool, str, str]] | None:
    """The jobs of a crontab: (1-based line, active?, the line, the comment lines right above it, joined) of each
    schedule line (`_CRON_LINE`), active unless commented out. None unless `text` is a crontab: two or more
    schedule lines, and every other line blank, a comment or a `NAME=value` assignment."""
    lines = text.split("\n")
    jobs = []
    for number, line in enumerate(lines, 1):
        m = _CRON_LINE.match(line)
        if m is not None:
            above: list[str] = []
            for before in reversed(lines[: number - 1]):
                if not before.lstrip().startswith("#") or _CRON_LINE.match(before):
                    break
                above.insert(0, before.strip().lstrip("#").strip())
            jobs.append((number, m.group("off") is None, line.strip(), " ".join(above)))
        elif line.strip() and not line.lstrip().startswith("#") and not _SHELL_ASSIGNMENT.match(line.strip()):
            return None
    return jobs if len(jobs) >= 2 else None


_CRON_STATES = r"(?:active|enabled|scheduled|live|running|current|uncommented|disabled|inactive|commented(?:[\s-]out)?)"
_CRON_COUNT = re.compile(
    rf"(?i)^\s*how\s+many\s+(?P<state>{_CRON_STATES}\s+)?(?:cron\s*)?(?:jobs?|entries|tasks|schedules)\b"
    r"(?:\s+(?:are|does|do|is)\s+(?:there|(?:in\s+)?(?:the|this)\s+(?:crontab|file)(?:\s+(?:have|run|hold))?|"
    rf"(?:scheduled|listed|defined|configured|set\s+up)|(?:currently\s+|now\s+|still\s+)?(?P<after>{_CRON_STATES})"
    r"(?:\s+(?:in\s+)?(?:the|this)\s+(?:crontab|file))?))?\s*[?.!]*\s*$"
)
"""'How many active cron jobs are there?', 'How many jobs are scheduled?', 'How many disabled jobs are there?',
'How many jobs are commented out?' (the state after the noun too: review 87 v03)."""


def cron_job_count(state: dict[str, Any], query: str) -> str | None:
    """The answer to a `_CRON_COUNT` question over one crontab (`_crontab`): its schedule lines that are active
    (commented-out ones are no job cron runs, and are said apart), or those commented out when the question asks
    the disabled ones; each shown by its command (audit 86 v04). None when the question is none or no text is a
    crontab."""
    m = _CRON_COUNT.match(" ".join(query.split()))
    crontabs = [jobs for jobs in map(_crontab, _plain_texts(state)) if jobs is not None] if m is not None else []
    if m is None or len(crontabs) != 1:
        return None
    jobs = crontabs[0]
    off = re.match(r"(?i)disabled|inactive|commented", (m.group("state") or m.group("after") or "").strip()) is not None
    counted = [job for job in jobs if job[1] != off]
    others = [job for job in jobs if job[1] == off]
    shown = "; ".join(f"line {n}: {line[:60]}" for n, _, line, _ in counted[:10])
    return (
        f"{len(counted):,}\nCounted: the crontab's {'commented-out' if off else 'active'} schedule lines "
        f"(five time fields or @daily..., then a command){': ' + shown if shown else ''}"
        + (
            f"; {len(others):,} {'active' if off else 'commented out, not counted'}: "
            + ", ".join(f"line {n}" for n, *_ in others)
            if others
            else ""
        )
        + "."
    )


_CRON_STATE = re.compile(
    r"(?i)^\s*(?:is|are)\s+(?:the\s+)?(?P<what>[\w\s./-]+?)\s+(?:still\s+|currently\s+|now\s+)?"
    r"(?P<state>active|enabled|running|scheduled|live|disabled|inactive|commented\s+out|turned\s+off)"
    r"(?:\s+(?:in\s+)?(?:the|this)\s+(?:crontab|file))?\s*[?.!]*\s*$"
)
_CRON_STATE_FRAME = frozenset(stem(w) for w in "job jobs task tasks cron entry entries still currently now".split())
_DISABLED_NOTE = re.compile(r"(?i)\b(?:disabled|deactivated|paused|retired|turned\s+off|switched\s+off)\b")


def cron_job_state(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(Yes or No, the job's line, its 1-based number) for "Is the sitemap job still active?" over one crontab: the
    one job whose command or comment lines above it hold every word of the question but the frame ("job",
    "still"), active when its schedule line is not commented out (audit 86 v04). None when no crontab, no such
    job or several, or an active line whose comment calls it disabled (which says it is a guess)."""
    m = _CRON_STATE.match(" ".join(query.split()))
    crontabs = [jobs for jobs in map(_crontab, _plain_texts(state)) if jobs is not None] if m is not None else []
    if m is None or len(crontabs) != 1:
        return None
    asked = {stem(w.lower()) for w in _WORD.findall(m.group("what")) if w.lower() not in ENGLISH_STOPWORDS}
    asked -= _CRON_STATE_FRAME
    if not asked:
        return None
    held = [
        job
        for job in crontabs[0]
        if asked <= {stem(w.lower()) for w in re.findall(r"[A-Za-z0-9]+", f"{job[2]} {job[3]}")}
    ]
    if len(held) != 1:
        return None
    number, active, line, note = held[0]
    if active and _DISABLED_NOTE.search(note):
        return None
    off = re.match(r"(?i)disabled|inactive|commented|turned", m.group("state")) is not None
    return ("Yes" if active != off else "No"), (line if not note else f"{line} ({note})"), number


_WHOLE_KEY = 100
"""What a key the question writes whole (`LAST_SYSTEM_GID`) counts for over keys it names word by word."""


_ASKS_A_DEFAULT = re.compile(r"(?i)\bdefault\b")
_PY_SIGNATURE = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", re.M)
_PY_INIT_ATTRIBUTE = re.compile(
    r"^[ \t]+self\.(\w+)[ \t]*=[ \t]*('[^'\n]*'|\"[^\"\n]*\"|[^\n#]+?)[ \t]*(?:#.*)?$", re.M
)


def python_default(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(value, line, line number) for "What is the default of NAME (in FUNC)?" over Python code: the keyword
    default of a signature's parameter NAME (`def split(s, comments=False, posix=True)`: True for posix), or what
    `__init__` sets `self.NAME` to (`self.commenters = '#'`): a thing's defaults (audit 88c v09-v11). Only when the
    question says "default", and all the places that give NAME one agree (one def when the question names it)."""
    if not _ASKS_A_DEFAULT.search(query):
        return None
    words = {w.lower() for w in _WORD.findall(query)} - ENGLISH_STOPWORDS - {"default", "defaults", "value"}
    found: list[tuple[str, str, int]] = []
    for source in state["sources"]:
        if len(source) > 2 or not isinstance(source[1], str) or not _is_python(source[1]):
            continue
        text = source[1]
        named_defs = {m.group(1) for m in _PY_SIGNATURE.finditer(text)} & words
        for m in _PY_SIGNATURE.finditer(text):
            if named_defs and m.group(1) not in named_defs:
                continue
            for parameter in m.group(2).split(","):
                name, _, value = (p.strip() for p in parameter.partition("="))
                name = name.split(":")[0].strip().lstrip("*")
                if value and name.lower() in words and name.lower() != m.group(1).lower():
                    number = text.count("\n", 0, m.start()) + 1
                    found.append((value, m.group(0).strip().split("\n")[0], number))
        if found or named_defs:
            continue
        for init in re.finditer(r"^([ \t]*)def[ \t]+__init__\b", text, re.M):
            body_end = re.compile(rf"^{init.group(1)}(?:def|class)\b|^\S", re.M).search(text, init.end())
            body = text[init.end() : body_end.start() if body_end else len(text)]
            for a in _PY_INIT_ATTRIBUTE.finditer(body):
                if a.group(1).lower() in words or a.group(1).lower().rstrip("s") in words:
                    number = text.count("\n", 0, init.end() + a.start()) + 1
                    found.append((a.group(2), a.group(0).strip(), number))
    return found[0] if found and len({f[0] for f in found}) == 1 else None


def setting_value(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(value, line, line number) of the one uncommented `KEY value` (or `key = value`) line of a configuration
    file whose key the question names whole ("the default umask": UMASK 022; "the method used to encrypt
    passwords": ENCRYPT_METHOD SHA512): the comments above a setting describe it, its line says it. None when the
    text is not a configuration file, no key or several keys fit, or the value does not fit the question's type."""
    kind = expected_type(query)
    if kind in ("name", "reason", "time") or _ASKS_WHAT_IT_DOES.match(query):
        return None  # "what does setting X to 1 do?" asks what it does, not its value
    # the question's abbreviations as a key's are read ("the DB port" names DB_PORT's "database")
    asked = {stem(_KEY_ABBREVIATIONS.get(w, w)) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS}
    # a key's stop word ('name' of SRV_NAME) is named when the question writes it too: "What is the server name?"
    written = asked | {stem(w) for w in _WORD.findall(query.lower())}
    negated = {stem(w) for w in re.findall(r"(?i)\bnon[- ]?([a-z]{3,})", query)}  # "non-system": keys without it
    # a hyphened word names a key by its parts ("non-interactive": NON_INTERACTIVE_TIMEOUT), and the unit a "how
    # many" counts in ("How many seconds ...") is the value's, no word its key or comments need write (audit 88r)
    hyphened = {stem(w): {stem(part) for part in w.split("-")} for w in _WORD.findall(query.lower()) if "-" in w}
    asked |= {part for parts in hyphened.values() for part in parts if part not in ENGLISH_STOPWORDS}
    counted = re.match(r"(?i)\s*how\s+(?:many|much)\s+(\w+)", query)
    unit = {stem(counted.group(1).lower())} if counted and counted.group(1).lower() in _UNIT_WORDS else set()
    verbatim = {w.lower() for w in _WORD.findall(query) if "_" in w}  # a key of several parts, as the file writes it
    found: dict[str, tuple[str, str, int]] = {}
    named: dict[str, int] = {}  # key: how many of its words the question names
    for text in _plain_texts(state):
        if _layout_of_text(text) is not None:
            continue  # a record file whose comment lays out its columns: `record_value` reads each field's column
        # one scan of the text (a greedy value, stripped here: a lazy one cost a backtrack per character of a line)
        keyed = [(match, _key_words(match.group(1))) for match in _SETTING.finditer(text)]
        commented = sum(1 for match, words in keyed if len(words) > 1 or "=" in match.group(0)) < MIN_SETTINGS
        if commented and _all_assignments(text):
            commented = False  # a short `.env` file (DB_HOST=... DB_PORT=...): every line a setting, no prose
        if commented and any(_SHELL_ASSIGNMENT.match(match.group(0)) for match, _ in keyed):
            # `SHELL=/bin/bash` above a crontab's jobs: a shell assignment, which no prose line writes, is a
            # setting however few the file holds (audit 86 v04); only those lines are read as settings
            keyed = [(match, words) for match, words in keyed if _SHELL_ASSIGNMENT.match(match.group(0))]
            commented = False
        if commented:
            # a file whose every setting is commented out, each at its default ("#DSHELL=/bin/bash", "# Default:
            # DIR_MODE=0700"): those lines say the values
            keyed = [(match, _key_words(match.group(1))) for match in _COMMENTED_SETTING.finditer(text)]
            if len(keyed) < MIN_SETTINGS:
                continue
        # a key set to several values ("Project-URL: Documentation, ...", "HostKey" twice) names no one value
        values: dict[str, set[str]] = {}
        for match, _ in keyed:
            values.setdefault(match.group(1), set()).add(match.group(2).strip())
        described = _key_descriptions(text)
        for match, words in keyed:
            key, setting = match.group(1), _setting_at(match, text, kind)
            if key in found or len(values[key]) > 1 or setting is None or not words:
                continue
            if "_" in key and key.lower() in verbatim:
                found[key] = setting  # "the default value of LAST_SYSTEM_GID": the key itself, written whole
                named[key] = len(words) + _WHOLE_KEY
                continue
            known = _KNOWN_KEYS.get(key)
            if known is not None and asked & {stem(w) for w in known[0].split()}:
                # "Where are cron emails sent?": MAILTO, named by what it means; every other word of the question
                # is one such a question adds, or the file's own (a crontab's "cron"), or in its comments
                said = {stem(w) for w in _WORD.findall(_comments_above(text, match.start()).lower())}
                meant = {stem(w) for part in known for w in part.split()} | set(words)
                if asked - meant - _SETTING_FRAME - (_CRONTAB_FRAME if _crontab(text) else set()) <= said:
                    found[key] = setting
                    named[key] = 1
                continue
            if not all(stem(w) in asked or (w in ENGLISH_STOPWORDS and stem(w) in written) for w in words) or all(
                w in ENGLISH_STOPWORDS for w in words
            ):
                # a key whose name abbreviates (TTYPERM): its description line holds every word of the question
                said = {stem(w) for w in _WORD.findall(described.get(key, "").lower())} | {stem(w) for w in words}
                if key in described and asked - _SETTING_FRAME and asked - _SETTING_FRAME <= said:
                    found[key] = setting
                    named[key] = 1
                continue
            # the question's other words are in the setting's own comments ("the default skeleton directory" is
            # not DEFAULT_HOME, whose comments never speak of a skeleton), or, for a field of a header block
            # (package metadata: "Requires-Python: >=3.10" under "Name: requests"), in the record's other fields
            said = {stem(w) for w in _WORD.findall(_comments_above(text, match.start()).lower())}
            said |= {stem(w) for w in _WORD.findall(_header_block_at(text, match.start()).lower())}
            said |= {stem(w) for w in _WORD.findall(_group_comment(text, match.start()).lower())}
            covered = {stem(w) for w in words} | _SETTING_FRAME | unit | said
            for whole, parts in hyphened.items():  # "non-system" said whole, or each part named or said
                if whole in covered or parts <= covered:
                    covered |= parts | {whole}
            if not asked <= covered:
                continue
            if any(stem(w) in negated and (i == 0 or words[i - 1].lower() != "non") for i, w in enumerate(words)):
                # "the last UID for non-system users" is not LAST_SYSTEM_UID; but NON_INTERACTIVE_TIMEOUT writes
                # the whole "non-interactive" and is the key asked (audit 88r v11)
                continue
            found[key] = setting
            named[key] = len(words)
        if not found and commented:  # each default under its own comments (uncommented files share one block)
            found = _described_setting(text, keyed, asked, kind)
    # of several keys the question names, the one that names most of it ("Which Python version does it require?":
    # Requires-Python, not Version)
    most = max(named.values(), default=0)
    best = [setting for key, setting in found.items() if named.get(key, 0) == most]
    return best[0] if len(best) == 1 else None


_SECTION_SETTING = re.compile(r"^([ \t]*)([A-Za-z_][\w.-]*)[ \t]*[:=][ \t]*([^\s#;][^\n]*?)[ \t]*$")


def section_setting(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(value, line, line number) of the one `key: value` (or `key = value`) line of a configuration file whose key
    the question names whole and that sits in a section the question names too: "Which image does the search
    service use?" over a docker-compose file is `image:` under `search:` (its parents `services.search`), never a
    comment above the services that speaks of search too (audit 88b v02, v03), nor `image:` of another service. A
    section is a YAML key the line is indented under (`_section_above`); the question's other
    words are the section path's or a setting question's own ("use", "value": `_SETTING_FRAME`). None when no such
    line, or several with different values, fit."""
    if expected_type(query) == "reason" or _ASKS_WHAT_IT_DOES.match(query):
        return None
    asked = {stem(_KEY_ABBREVIATIONS.get(w, w)) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS}
    found: dict[str, tuple[str, str, int]] = {}
    for text in _plain_texts(state):
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            match = _SECTION_SETTING.match(line)
            if match is None or not match.group(1) or line.lstrip().startswith(("#", ";", "-")):
                continue  # (an INI file's `[section]` heads its lines' units, which cite it: they answer)
            words = {stem(w) for w in _key_words(match.group(2))}
            if not words or not words <= asked:
                continue
            path = [part for part in _section_above(lines, number).split(".") if part]
            parts = [{stem(w) for w in _key_words(part)} for part in path]
            if not any(part and part <= asked and not part <= words for part in parts):
                continue  # the question names no section of this line: `setting_value` reads keys alone
            if asked - words - set().union(*parts) - _SETTING_FRAME:
                continue
            value = re.sub(r"\s+#.*$", "", match.group(3)).strip().strip("\"'")
            if value and not value.startswith(("|", ">", "&", "*")):
                found.setdefault(value, (value, line.strip(), number))
    return next(iter(found.values())) if len(found) == 1 else None


_DOCKER_ASKED: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("EXPOSE", re.compile(r"(?i)\bports?\b|\bexpos(?:e|es|ed|ing)\b"), True),
    ("WORKDIR", re.compile(r"(?i)\bwork(?:ing)?[ _-]?dir(?:ectory)?\b"), False),
    (
        "FROM",
        re.compile(r"(?i)\b(?:base|parent|source|starting)\s+image\b|\bbased\s+on\b|\bbuilt\s+(?:from|on)\b"),
        False,
    ),
    ("ENTRYPOINT", re.compile(r"(?i)\bentry[ _-]?point\b"), False),
    (
        "CMD",
        re.compile(r"(?i)\b(?:default|start(?:up)?|run)?\s*command\b|\bcmd\b|^\s*what\s+does\s+(?:the\s+)?\w+\s+run\b"),
        False,
    ),
    ("USER", re.compile(r"(?i)\buser\b"), False),
    ("ENV", re.compile(r"(?i)\benv(?:ironment)?(?:\s+variables?)?\b"), True),
    ("VOLUME", re.compile(r"(?i)\bvolumes?\b"), True),
)
"""A Dockerfile's instructions a question may name by what they do ("Which port does the container expose?":
EXPOSE; "the working directory": WORKDIR; "the base image": FROM), and whether several lines of one add up (each
EXPOSE line opens more ports) rather than the last one standing."""
_DOCKER_FRAME = frozenset(
    stem(w)
    for w in "container containers image images dockerfile docker file build run runs running use uses used using set "
    "sets does expose exposes exposed open opens listen listens default start starts started specified declared "
    "defined given".split()
)
"""Words a question about a Dockerfile's instruction adds that name no more of it: the file's kind ("the
container", "the image") and the verbs that say the instruction acts."""
_DOCKER_LAST = frozenset({"CMD", "ENTRYPOINT", "USER"})
"""Instructions of which the last one is in force (Docker runs the last CMD; the last USER is whom it runs as)."""


def _dockerfile(state: dict[str, Any]) -> list[tuple[int, str, str]] | None:
    """[(line, instruction, argument)] of the one source in a Dockerfile's format (`_is_dockerfile`), a line ended
    by '\\' joined with the next, comments aside, the instruction upper-cased ('expose 8000' is EXPOSE). None
    otherwise."""
    found = []
    for text in _plain_texts(state):
        if not _is_dockerfile(text):
            continue
        # in an upper-case Dockerfile a lower-case line is no instruction: 'from app import main' of a heredoc
        written = _DOCKER_INSTRUCTION if _upper_case_dockerfile(text) else _DOCKER_ANY_CASE
        instructions = []
        for start, line in _logical_lines(text):
            m = re.match(r"^([A-Za-z]+)[ \t]+(\S.*?)\s*$", line)
            if m is not None and written.match(line):
                instructions.append((start, m.group(1).upper(), m.group(2)))
        found.append(instructions)
    return found[0] if len(found) == 1 else None


def _final_stage(lines: list[tuple[int, str, str]], name: str, adds: bool) -> list[tuple[int, str, str]] | str | None:
    """The instructions of a Dockerfile's last stage (from its last FROM on), which alone make the container: USER,
    EXPOSE, WORKDIR, ENV of a build stage do not carry over (review 88q v01-v04). A reason for no answer (a str)
    when an earlier stage sets the `name` instruction and the last one does not, or when the last stage starts
    from an earlier one ('FROM base AS final'), whose lines it inherits, and its own lines may not say it all (an
    instruction that `adds`, or one it does not set); None when no line sets it."""
    starts = [i for i, (_, instruction, _) in enumerate(lines) if instruction == "FROM"]
    final = lines[starts[-1] :] if starts else lines
    if not any(instruction == name for _, instruction, _ in lines):
        return None
    sets = any(instruction == name for _, instruction, _ in final)
    if len(starts) > 1:
        stages = {
            m.group(1).lower() for _, i, a in lines if i == "FROM" for m in [re.search(r"(?i)\sAS\s+(\S+)$", a)] if m
        }
        parent = re.sub(r"(?i)^(?:--\S+\s+)*(\S+).*$", r"\1", final[0][2]).lower()
        if parent in stages and (adds or not sets):
            return f"the last stage starts from the build stage {parent!r}, whose {name} lines it inherits"
    if not sets:
        return f"only a build stage sets {name}: the last stage, the container, does not"
    return final


def _workdir(given: list[tuple[int, str, str]]) -> tuple[str, str, int] | str:
    """(directory, lines, line number) of the WORKDIR in force after a stage's WORKDIR lines `given`: the last one,
    a relative one joined to the one before it, as Docker does (review 88q v16). A reason for no answer when one
    names a variable or a relative one has none before it (the base image's directory is unknown)."""
    path = ""
    used: list[tuple[int, str, str]] = []
    for number, argument, _ in given:
        written = argument.strip("\"'")
        if "$" in written:
            return f"the working directory {argument!r} names a variable"
        if written.startswith("/"):
            path, used = written, []
        elif not path:
            return f"the working directory {argument!r} is relative to the base image's, which is not given"
        else:
            path = path.rstrip("/") + "/" + written
        used.append((number, argument, written))
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts = parts[:-1]
        elif part and part != ".":
            parts.append(part)
    shown = "; ".join(f"[line {n:,}] WORKDIR {a}" if i else f"WORKDIR {a}" for i, (n, a, _) in enumerate(used))
    return "/" + "/".join(parts), shown, used[0][0]


def dockerfile_instruction(state: dict[str, Any], query: str) -> tuple[str, str, int] | str | None:
    """(argument, line, line number) of the Dockerfile instruction the question names by what it does ("Which
    port does the container expose?": EXPOSE 8000; "What is the working directory of the container?": WORKDIR;
    `_DOCKER_ASKED`): a plain Dockerfile writes neither "port" nor "container" (audit 88g v13, v14: NOT FOUND).
    Only the last stage's lines count (`_final_stage`; a str says why there is no answer). Several EXPOSE (ENV,
    VOLUME) lines are all given; of CMD, ENTRYPOINT and USER the last is in force, of WORKDIR too (`_workdir`);
    several FROM lines (a multi-stage build) name no one value. None when the question is a yes/no one, names
    no instruction or two, or writes a word more than the instruction and its frame (`_DOCKER_FRAME`: "Which port
    does the database listen on?" may ask another port than the one exposed)."""
    if asks_yes_no(query):
        return None
    lines = _dockerfile(state)
    if not lines:
        return None
    named = [(name, pattern, adds) for name, pattern, adds in _DOCKER_ASKED if pattern.search(query)]
    if len(named) != 1:
        return None
    name, pattern, adds = named[0]
    rest = [_POSSESSIVE.sub("", w) for w in _WORD.findall(pattern.sub(" ", query).lower())]  # "the image's"
    rest = [w for w in rest if w not in ENGLISH_STOPWORDS]
    if any(stem(w) not in _DOCKER_FRAME and w != name.lower() for w in rest):
        return None
    if name != "FROM":
        staged = _final_stage(lines, name, adds)
        if staged is None or isinstance(staged, str):
            return staged
        lines = staged
    # (line, the argument as written, the value it gives)
    given = [(number, argument, argument) for number, instruction, argument in lines if instruction == name]
    if not given:
        return None
    if name == "WORKDIR":
        return _workdir(given)
    if name == "CMD" and not re.search(r"\bCMD\b", query) and any(i == "ENTRYPOINT" for _, i, _ in lines):
        return None  # the container runs its ENTRYPOINT, the CMD its arguments: "the command" is both
    if name == "FROM":  # 'FROM --platform=linux/amd64 python:3.12-slim AS base': the image is python:3.12-slim
        given = [(n, a, re.sub(r"(?i)^(?:--\S+\s+)*(\S+)(?:\s+AS\s+\S+)?$", r"\1", a)) for n, a, _ in given]
    if name in _DOCKER_LAST:
        given = given[-1:]
    elif not adds and len({value for _, _, value in given}) > 1:
        return None
    value = "; ".join(dict.fromkeys(value for _, _, value in given))
    shown = "; ".join(
        f"[line {n:,}] {name} {argument}" if i else f"{name} {argument}" for i, (n, argument, _) in enumerate(given)
    )
    return value, shown, given[0][0]


_ASKS_FLAG = re.compile(
    r"(?i)^\s*(?:is|are)\s+(?P<what>[\w\s.'’-]{1,80}?)\s+(?:currently\s+|now\s+)?"
    r"(?P<state>enabled|disabled|on|off|active|inactive|turned\s+on|turned\s+off|switched\s+on|switched\s+off)"
    r"(?:\s+in\s+(?:the|this)\s+(?:config(?:uration)?|file|settings))?"
    r"(?:\s+(?:for|in|under|of|on)\s+(?:the\s+)?(?P<scope>[\w.-]+(?:\s+[\w.-]+){0,3}))?\s*[?.!]*\s*$"
)
_SCOPE_FRAME = frozenset(
    "service services section sections container containers environment env block profile stage job app "
    "application config configuration file settings".split()
)
"""Words of "Is debug enabled for the web service?" that say what kind of part 'web' is, which the YAML keys or
INI section above the flag need not write."""
_FLAG_LINE = re.compile(
    r"(?im)^[ \t]*(?P<key>[A-Za-z_][\w.-]*)[ \t]*[:=][ \t]*[\"']?(?P<value>true|false|yes|no|on|off|enabled|disabled)"
    r"[\"']?[ \t]*(?:#.*)?$"
)
_FLAG_FRAME = frozenset("mode setting option flag feature switch the".split())
"""Words of "Is debug mode enabled?" that say what kind of thing the key is, which its name need not write."""
_FLAG_KEY_FRAME = frozenset("enable enabled use is allow".split())
"""Words a flag's key may add that say it switches the thing on ('enable_dark_mode', 'dark_mode_enabled',
'use_cache'): "Is dark mode enabled?" asks that key's value."""


def setting_flags(state: dict[str, Any], query: str) -> list[tuple[str, str, int, str]]:
    """(Yes or No, line, 1-based line number, section) of each line that answers "Is debug mode enabled?" (or on,
    active, turned off...): a `key: true/false` (yes/no, on/off; `key = ...`) line of the one plain text whose key's
    words are all the question's words but those that say it is a setting ("mode", "option": `_FLAG_FRAME`, which
    the key may write too: `dark_mode: true` for "Is dark mode enabled?", review 84c v09). `debug: false` says No
    (audit 84 offline F7). The section is the INI `[section]` or the YAML parent keys ("app") the line is under,
    "" at the top. A question that names the section ("for the web service", "in staging") asks only the flags set
    under it. Empty when no key fits or the question asks no flag."""
    asked = _ASKS_FLAG.match(query)
    texts = _plain_texts(state)
    if asked is None or len(texts) != 1:
        return []
    frame = {stem(w) for w in _FLAG_FRAME}
    words = {stem(w) for w in _WORD.findall(asked.group("what").lower())} - frame
    frame |= {stem(w) for w in _FLAG_KEY_FRAME}
    negative = re.match(r"(?i)disabled|off|inactive|turned\s+off|switched\s+off", asked.group("state")) is not None
    found: list[tuple[str, str, int, str]] = []
    # a key named as asked, else an environment variable's after its namespace ("APP_DEBUG" for "Is debug
    # enabled?", review 87 v03), only when no key is named as asked
    for prefixed in (False, True):
        for match in _FLAG_LINE.finditer(texts[0]):
            name = match.group("key")
            parts = [stem(w.lower()) for w in re.findall(r"[A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name))]
            if prefixed:
                if not re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", name):
                    continue
                parts = parts[1:]
            if words and set(parts) - frame == words:
                true = match.group("value").lower() in ("true", "yes", "on", "enabled")
                number = texts[0].count("\n", 0, match.start()) + 1
                section = _section_above(texts[0].split("\n"), number)
                found.append(("Yes" if true != negative else "No", match.group(0).strip(), number, section))
        if found:
            break
    scope = asked.group("scope")
    named = {stem(w) for w in _WORD.findall((scope or "").lower())} - {stem(w) for w in _SCOPE_FRAME} - STOPWORDS
    if named:  # "for the web service": the flag set in that section only (audit 88b v12); none there, no answer
        found = [f for f in found if named <= {stem(w) for w in _WORD.findall(f[3].lower().replace("_", " "))}]
    return found


def _section_above(lines: list[str], number: int) -> str:
    """The section line `number` (1-based) of a configuration text is in: the nearest INI `[section]` above it, or
    the YAML keys above it that it is indented under, joined by '.' ("app", "app.ui"); "" when none."""
    line = lines[number - 1]
    indent = len(line) - len(line.lstrip())
    parents: list[str] = []
    for above in reversed(lines[: number - 1]):
        header = re.match(r"^\s*\[([^\]]+)\]\s*(?:[#;].*)?$", above)
        if header is not None and not parents:
            return header.group(1).strip()
        parent = re.match(r"^(\s*)([\w.-]+)\s*:\s*(?:#.*)?$", above)
        if parent is not None and len(parent.group(1)) < indent:
            parents.insert(0, parent.group(2))
            indent = len(parent.group(1))
            if not indent:
                break
    return ".".join(parents)


def setting_flag(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(Yes or No, line, 1-based line number) of the one line that answers "Is debug mode enabled?"
    (`setting_flags`). None when no key or several keys fit."""
    found = setting_flags(state, query)
    if len(found) != 1:
        return None
    return found[0][:3]


_ASKS_WHICH_ITEMS = re.compile(r"(?i)^\s*(?:which|what)\s+(?P<noun>[a-z][\w-]*s)\b(?P<rest>[^?]*)\??\s*$")
_LISTING_WORDS = frozenset(
    "are is were there listed given named set configured defined in the this file config".split()
)


def keyed_list(state: dict[str, Any], query: str) -> tuple[dict[str, Any], list[dict[str, Any]], bool] | None:
    """(the key's unit, its items' units, whether the question asks only for them) for "Which cities are
    tracked?" over a YAML key `cities:` whose value is a block list (`- Oslo` lines under it): the key is the
    question's plural noun, and exactly one key is (audit 84 offline F7). The question asks only for the list when
    its other words just say it is listed ("Which cities are listed?"); a word of its own ("tracked", "excluded")
    may be a condition the list does not state, so those items are quoted, never answered. None otherwise."""
    asked = _ASKS_WHICH_ITEMS.match(query)
    if asked is None or asked.group("noun").lower() in ENGLISH_STOPWORDS:  # "What is ...", "What does ..."
        return None
    noun = stem(asked.group("noun").lower())
    units = state["units"]
    found = []
    for position, unit in enumerate(units):
        key = re.fullmatch(r"\s*([A-Za-z_][\w-]*):\s*", unit["text"])
        if key is None or stem(key.group(1).lower()) != noun:
            continue
        items = []
        for item in units[position + 1 :]:
            if item["source"] != unit["source"] or not item["text"].lstrip().startswith("- "):
                break
            if not str(item.get("name", "")).endswith(key.group(0).strip()):
                break
            items.append(item)
        if items:
            found.append((unit, items))
    if len(found) != 1:
        return None
    rest = {w.lower() for w in _WORD.findall(asked.group("rest"))} - ENGLISH_STOPWORDS - _LISTING_WORDS
    return found[0][0], found[0][1], not rest


def _header_block_at(text: str, start: int) -> str:
    """The block of header fields (RFC 5322 style, as `_fields_as_sentences` reads them) holding the line at
    `start`; "" when that line is in no such block."""
    above = text.rfind("\n\n", 0, start)
    below = text.find("\n\n", start)
    block = text[above + 1 if above >= 0 else 0 : below if below >= 0 else len(text)].strip("\n").split("\n")
    return "\n".join(block) if _is_header_block(block) else ""


def _described_setting(
    text: str, keyed: list[tuple[re.Match[str], list[str]]], asked: set[str], kind: str
) -> dict[str, tuple[str, str, int]]:
    """The settings whose own comments hold every word of the question (a setting frame's words aside), for keys
    that are abbreviations the question cannot name (DSHELL: "The login shell to be used for all new users")."""
    found: dict[str, tuple[str, str, int]] = {}
    wanted = asked - _SETTING_FRAME
    if len(wanted) < 2:
        return found
    for match, _ in keyed:
        key, setting = match.group(1), _setting_at(match, text, kind)
        if key in found or setting is None:
            continue
        comments = _comments_above(text, match.start()).split("\n")[:-1]  # the comments, not the setting's line
        said = {stem(w) for w in _WORD.findall("\n".join(comments).lower())}
        if wanted <= said:
            found[key] = setting
    return found


def _setting_at(match: re.Match[str], text: str, kind: str) -> tuple[str, str, int] | None:
    """(value, line, line number) of a setting line, or None when its value is no answer: over four words, or no
    number for a "how many" question. A value set to nothing is said so, as the line writes it (`QUOTAUSER=""`:
    '"" (empty)'; `hook =`: 'empty'), never as a blank answer line (audit 88a v05); but a key whose value goes on
    on the indented lines below it (setup.cfg's `install_requires =`, tox.ini's `deps =`) has those lines as its
    value, one item a line (`_continued`, audit 88r v14, v15)."""
    written = match.group(2).strip()
    if written in ("=", ":"):  # "hook =": the key, blanks, then its sign and nothing (the sign is no value)
        written = ""
    line = match.group(0).strip()
    items = [] if written else _continued(text, match.end())
    if items:
        written, line = ", ".join(items), f"{line} {' '.join(items)}"
    value = _unquoted(written)
    if len(value.split()) > 4 or (kind in ("number", "numeral") and not re.search(r"\d", value)):
        return None
    value = value or (f"{written} (empty)" if written else "empty (no value after the key)")
    return value, line, text.count("\n", 0, match.start()) + 1


def _continued(text: str, end: int) -> list[str]:
    """The indented lines right below a setting's line that ends at `end` (an INI value continued), stripped, its
    comment lines aside; [] when the next line is not indented (a blank line, another key)."""
    items: list[str] = []
    for line in text[end:].split("\n")[1:]:
        if not line.strip() or not line[:1].isspace():
            break
        if not line.lstrip().startswith(("#", ";")):
            items.append(line.strip().rstrip(",").strip())  # "    .git," of a list written with commas too
    return [item for item in items if item]


# --- options: a manual's `-n, --quiet` entries -----------------------------------------------------------------

_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)")
_OPTION_FIRST = re.compile(r"\s*--?[A-Za-z0-9][\w-]*(?:[,\s]|$)")
"""A unit that starts with an option: a manual's option entry ("-T Disable pseudo-terminal allocation.")."""
_OPTION_LINE = re.compile(r"^([ \t]+)-")
_ASKS_WHICH_OPTION = re.compile(r"\s*(?:which|what)\s+(?:\w+\s+)?(?:option|flag|switch)", re.IGNORECASE)


_ASKS_WHAT_OPTION_IS = re.compile(
    r"\s*(?:what\s+(?:does|do|is|are)\s+(?:the\s+)?(?:\S+\s+)*?(?:do|mean|for|stand\s+for)"
    r"|what\s+(?:is|are)\s+(?:the\s+)?(?:long|short|other|full)\s+(?:form|name|version|spelling)s?\s+of\s+\S+"
    r"|what\s+(?:is|are)\s+(?:the\s+)?(?:--?[\w-]+(?:\s+(?:and|or)\s+--?[\w-]+)*)(?:\s+(?:option|flag|switch)s?)?"
    r"|(?:explain|describe)\s+(?:the\s+)?\S+(?:\s+(?:option|flag|switch))?"
    r")\s*\??\s*$",
    re.IGNORECASE,
)
"""A question that asks what an option is or does ("What does -n do?", "What is --wait for?", "What is the long form
of -t?", "Explain -q"): the option's line and its entry's first sentence answer it. Any other question about an
option ("Why is --wait recommended?", "By default how many seconds does --waitretry assume?") is answered from inside
its entry, by the rules of its kind."""


def option_entries(state: dict[str, Any], query: str) -> list[tuple[str, str, int]] | None:
    """(the option line, the first sentence of its description, line number) of each manual entry the question
    names by its option, for a question asking what the option is or does ("What does the -n option do?", "the long
    form of -L"): what the entry says first is the answer, read by code. None unless every option the question
    names has exactly one entry; not for a question asking which option does something (the option it names is
    then a reference, not the subject), nor for one asking anything else of the option (why, its default, a number:
    `option_scope` then gives the entry to read)."""
    if not _ASKS_WHAT_OPTION_IS.match(query):
        return None
    found = _option_entries(state, query)
    if found is None:
        symbol = _symbol_entry(state, query)
        return None if symbol is None else [symbol]
    return list(dict.fromkeys(entry[:3] for entry in found))


_SYMBOL = re.compile(r"[^\w\s\"'“”‘’(\[{-][^\s]{0,3}")
"""A token of punctuation first, as a manual names an escape or a key: "~.", "~?", "~^Z", "%%"."""


def _symbol_entry(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(the entry's tag, its first sentence, line number) of the one manual entry tagged by the punctuation token a
    question asks about ("What does the escape sequence ~. do?": `~.      Disconnect.`): an indented line that
    starts with the token, two spaces or more, and its description. None when the question names no such token,
    or no entry or several have it."""
    words = query.split()
    if words:
        words[-1] = words[-1][:-1] if words[-1].endswith("?") and len(words[-1]) > 2 else words[-1]
    tokens = [w.strip("\"'`“”‘’") for w in words if _SYMBOL.fullmatch(w.strip("\"'`“”‘’"))]
    if len(tokens) != 1:
        return None
    tag = re.compile(rf"^[ \t]+{re.escape(tokens[0])}(?:[ \t]{{2,}}|\t)(\S.*)$")
    found = []
    for text in _plain_texts(state):
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            entry = tag.match(line)
            if entry is None:
                continue
            described = [entry.group(1).strip()]
            for following in lines[number:]:  # its description's later lines, indented deeper than the tag
                if not following.strip() or _indent(following) <= _indent(line):
                    break
                described.append(following.strip())
            sentence = re.split(r"(?<=[.;])\s", " ".join(described), maxsplit=1)[0].rstrip(";")
            found.append((tokens[0], " ".join(sentence.split()[:40]), number))
    return found[0] if len(found) == 1 else None


def option_scope(state: dict[str, Any], query: str) -> list[tuple[Any, int, int]] | None:
    """(source, first line, last line) of each manual entry a question names by its option when it asks something
    other than what the option does ("Why is --wait recommended?"): the answer is inside that entry, so only its
    units are read. None when the question names no option with exactly one entry, or asks which option."""
    if _ASKS_WHAT_OPTION_IS.match(query):
        return None
    found = _option_entries(state, query)
    return None if found is None else [(source, first, last) for _, _, _, source, first, last in found]


def _option_entries(state: dict[str, Any], query: str) -> list[tuple[str, str, int, Any, int, int]] | None:
    """(option line, first sentence, its line number, source, the entry's first and last line) of each entry the
    question names,
    in the question's order; None unless every option it names has exactly one entry, or when it asks which
    option."""
    asked = list(dict.fromkeys(_OPTION.findall(query)))
    if not asked or _ASKS_WHICH_OPTION.match(query):
        return None
    entries: dict[str, tuple[str, str, int, Any, int, int]] = {}
    for head, names, sentence, number, source, first, last in _all_option_entries(state):
        for option in [option for option in asked if option in names]:
            if option in entries:
                return None  # two entries for one option: which one is meant is anyone's guess
            said = " ".join(sentence.split()[:40])
            entries[option] = (head, said, number, source, first, last)
    if set(entries) != set(asked):
        return None
    return list(dict.fromkeys(entries[option] for option in asked))  # in the question's order


def which_option(state: dict[str, Any], query: str) -> tuple[str, str, int] | None:
    """(the option line, the first sentence of its description, line number) of the one manual entry whose first
    sentence holds every word of a question that asks which option does something ("Which option disables
    pseudo-terminal allocation?": `-T  Disable pseudo-terminal allocation.`, not `-t  Force pseudo-terminal
    allocation.`), read by code: a small reader mixes up entries that differ by one word. The question's frame
    ("which ssh option", "use") is no such word. None when no entry, or several, hold them."""
    asked = _ASKS_WHICH_OPTION.match(query)
    if asked is None or unmodelled(query):
        return None  # "Which option does not disable X11 forwarding?" is no entry's sentence
    # the words after the frame ("which ssh option": the command's name is no word of the entry)
    words = [w for w in _WORD.findall(query[asked.end() :].lower()) if w not in STOPWORDS and w not in _OPTION_FRAME]
    wanted = {stem(w) for w in words}
    if not wanted:
        return None
    holding = {entry[0]: entry for entry in _all_option_entries(state) if wanted <= _stems_of(_own_clauses(entry[2]))}
    if len(holding) > 1:
        # several say the content words: the one that says the question's other words too ("as if it were text",
        # where "text" is a stop word for naming the document; `-I` says "as if it did not contain matching data")
        every = {stem(w) for w in _WORD.findall(query[asked.end() :].lower()) if w not in _OPTION_FRAME}
        holding = {head: entry for head, entry in holding.items() if every <= _stems_of(entry[2])} or holding
    if len(holding) != 1:
        return None  # none says it, or two do: which one the question means is anyone's guess
    head, _, sentence, number, *_ = next(iter(holding.values()))
    return head, " ".join(sentence.split()[:40]), number


_ASIDE_CLAUSE = re.compile(
    r"(?i)[;,]\s*(?:(?:but|and)\s+)?(?:by default|otherwise|else|without (?:it|this|the option)|if (?:it is )?"
    r"(?:not given|omitted|absent)|unless|if not|the default|default)\b"
)
"""A clause after a semicolon or comma that says what happens without the option: "-k  Keep the input files; by
default they are deleted after compression." The option does not delete them."""


def _own_clauses(sentence: str) -> str:
    """An option's sentence up to the clause that says what happens without it (`_ASIDE_CLAUSE`): what the option
    itself does."""
    aside = _ASIDE_CLAUSE.search(sentence)
    return sentence[: aside.start()] if aside else sentence


def _stems_of(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower())}


def _all_option_entries(state: dict[str, Any]) -> list[tuple[str, set[str], str, int, Any, int, int]]:
    """(option line, its options, the first sentence of its description, its line number, source, the entry's
    first and last line; lines 1-based) of every option entry of the text's manuals: an indented line that starts
    with an option, above its description (on the line itself after two spaces, or indented deeper under it). A
    line of wrapped prose that starts with an option ("             -J).", "     -X, -x, and -Y options above) and
    ...") is none: it goes on a sentence, as the previous line's own indentation and its words after the option
    show."""
    found = []
    sources = [source[0] for source in state["sources"] if len(source) == 2 and isinstance(source[1], str)]
    for source, text in zip(sources, _plain_texts(state), strict=False):
        lines = text.split("\n")
        for number, line in enumerate(lines):
            start = _OPTION_LINE.match(line)
            if start is None or _wrapped_prose(lines, number):
                continue
            head, _, inline = line.strip().partition("  ")  # "-n, --quiet" and a description on the same line
            names = {name.split("=")[0] for name in _OPTION.findall(head)}
            described = [inline.strip()] if inline.strip() else []
            for following in lines[number + 1 :]:
                if not following.strip():
                    if described:
                        break
                    continue
                if len(following) - len(following.lstrip()) <= len(start.group(1)) and not following.startswith("\t"):
                    break
                described.append(following.strip())
            # to its full stop: "Do not show flags; show rss in place of addr." says what -y shows instead
            sentence = _FULL_STOP.split(" ".join(" ".join(described).split()), maxsplit=1)[0]
            first = number  # the entry starts at its first option line ("-w seconds" over "--wait=seconds")
            while first > 0 and lines[first - 1].startswith(start.group(1)) and _OPTION_LINE.match(lines[first - 1]):
                first -= 1
            last = number  # the entry runs over its blank lines to the next line indented no deeper than its option
            for later in range(number + 1, len(lines)):
                following = lines[later]
                if not following.strip():
                    continue
                if _indent(following) <= len(start.group(1).expandtabs()) and not following.startswith("\t"):
                    break
                last = later
            found.append((" ".join(head.split()), names, sentence, number + 1, source, first + 1, last + 1))
    return found


def _wrapped_prose(lines: list[str], number: int) -> bool:
    """Whether `lines[number]`, which starts with an option, is a line of wrapped prose, not an entry: the option
    is a word of a sentence (followed by ")", "." or ";", or by ", and"/", or" in a list of options), or the line
    right above is prose at the same indentation that does not end its sentence."""
    line = lines[number]
    head = line.strip()
    if re.match(r"(?:--?[\w-]+,? )*--?[\w-]+(?:[).;:]|,? (?:and|or) )", head):
        return True  # "-J).", "-X, -x, and -Y options above)": the options are words of a sentence
    above = lines[number - 1] if number > 0 else ""
    if not above.strip() or _OPTION_LINE.match(above):
        return False
    return _indent(above) == _indent(line) and not above.rstrip().endswith((".", ":", "!", "?"))


_NUMBERED_PARTS = re.compile(
    r"(?i)^\s*how\s+many\s+(?:(numbered|lettered)\s+)?(paragraphs|sections|clauses|items|points|steps|articles|"
    r"conditions|rules|parts|provisions|chapters)\b(?:\s+(?:are|is)\s+(numbered|lettered)\b)?"
)
"""A count of a text's numbered parts: "How many numbered paragraphs does the license have?", "How many clauses
are numbered?". The parts are those the text numbers itself, never its paragraphs or list items as cut."""
_OF_THE_WHOLE = re.compile(
    r"(?i)\s+(?:(?:does|do)\s+(?:the|this|it)(?:\s+\w+)?\s+(?:have|contain|list)|are\s+there(?:\s+in\s+(?:the|this)"
    r"\s+\w+)?|(?:are|is)\s+(?:in|listed\s+in)\s+(?:the|this)\s+\w+)(?:\s+(?:in\s+(?:total|all)|altogether|overall))?"
    r"\s*[?.!]*\s*$"
)
"""The rest of a count of parts that asks of the whole text and nothing else: "... does the license have?",
"... are there?", "... are in the document?"."""
_HEADING_PARTS = frozenset("sections parts chapters articles".split())
"""Parts that are a text's headings, never the items of a list under one (audit 88r v03, v04)."""
_PART_NOUNS = frozenset(
    "section part chapter article clause paragraph step rule item point condition provision schedule appendix "
    "unit module lesson stage phase".split()
)
"""The words a heading numbers its part with ("Section 2: Installation", "Part 3 - Gym", "Step 4."): each is a mark
of the noun it names."""
_ORDINALS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty"
).split()
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv", "xvi", "xvii"]
_WORD_MARK = re.compile(
    r"^(?P<indent>[ \t]*)(?:#+[ \t]*)?(?P<word>[A-Za-z]+)[ \t]+(?P<mark>(?P<bare>\d{1,3}|[A-Za-z]|[IVX]{2,5}|"
    rf"(?i:{'|'.join(_ORDINALS)})))"
    r"(?:[ \t]*(?:[:.)]|[-–—](?=[ \t]))(?!\d)[ \t]*\S.*|[ \t]*[:.]?[ \t]*)$"
)
"""A heading that numbers its part with a word: "Section 1: Introduction", "## Part 2 - Pool", "Chapter 3", "Step
4) Rinse", "Part II: Pool", "Chapter Three: Leave"; "Section 1.2 ..." (a sub-part) and "Part 2 of the form ..."
(prose) are none."""


def _heading_number(mark: str, lettered: bool) -> str:
    """A heading's mark as a number or letter (`numbered_parts` reads '1', 'a'): "II" -> '2', "Three" -> '3'; "I"
    is 1 when numbers are asked, the letter i when letters are."""
    low = mark.lower()
    if low in _ORDINALS:
        return str(_ORDINALS.index(low) + 1)
    if mark.isupper() and low in _ROMAN and not (lettered and len(low) == 1):
        return str(_ROMAN.index(low) + 1)
    return low


_PART_MARK = re.compile(
    r"^(?P<indent>[ \t]*)(?:#+[ \t]*)?(?:(?P<word>[A-Za-z]+)[ \t]+)?"
    r"(?P<mark>\((?P<paren>\d{1,3}|[a-z])\)|(?P<bare>\d{1,3}|[a-z])(?:\.(?!\d)|\)))[ \t]+\S"
)
"""A line that opens with its part's number or letter: "1. You may ...", "(2) The ...", "b) use ...", "## 3. Fees",
"Section 4) ..."; "1.1 ..." (a sub-part) and "1.5 mm" are none."""


def numbered_parts(state: dict[str, Any], query: str, *, said: bool = True) -> tuple[str, list[dict[str, Any]]] | None:
    """The answer to "how many numbered paragraphs (sections, clauses, steps ...)?" (`_NUMBERED_PARTS`): the
    count of the text's outermost numbered run, when its marks at the least indentation that any mark has read
    1, 2, 3 ... (or a, b, c ...) in order, each once, no gap, no restart, in one source: ("N\nCounted: ...", its
    units). Any other run (a gap, a second list numbered from 1 again, two sources) is no count of the text's own
    sequence: ("", the units that open with a mark), to be quoted. None when the question asks no such count (with
    `said`, one that says "numbered" or "lettered"; without, also "How many clauses does it have?", whose parts
    may be others: its caller quotes the run, never counts it) or the text numbers nothing (audit 88a v03, v04: the
    Artistic licence's clauses "1." to "10.", their a) b) c) d) sub-items inside)."""
    asked = _NUMBERED_PARTS.match(query)
    if asked is None or (said and not (asked.group(1) or asked.group(3))):
        return None
    if not re.fullmatch(r"\s*[?.!]*\s*", query[asked.end() :]) and not _OF_THE_WHOLE.match(query, asked.end()):
        # "How many clauses mention fees?", "How many numbered items cost more than £5?": a condition of its own,
        # no count of the whole text's parts (audit 88r v01, v02)
        return None
    noun = asked.group(2).lower()
    lettered = (asked.group(1) or asked.group(3) or "").lower() == "lettered"
    runs = []
    headed = False  # a source whose parts are headings other than the run's: its list is no part the noun names
    for name, text in ((src[0], src[1]) for src in state["sources"] if isinstance(src[1], str)):
        marks = []  # (indentation, mark as written, mark, line number)
        worded = []  # (mark as written, mark, line number) of the headings the noun's word numbers
        headings = 0
        for number, line in enumerate(text.split("\n"), 1):
            heading = _WORD_MARK.match(line)
            word = heading.group("word").lower() if heading else ""
            if heading is not None and word in _PART_NOUNS:
                headings += 1
                mark = _heading_number(heading.group("bare"), lettered)
                if noun.startswith(word) and mark.isdigit() != lettered:
                    worded.append((line.strip(), mark, number))
                continue  # "Section 2: Installation" numbers a section, never a list item
            headings += line.lstrip().startswith("#")
            found = _PART_MARK.match(line)
            if found is None:
                continue
            word = (found.group("word") or "").lower()
            if word and not (noun.startswith(word) and len(word) >= 4):
                continue  # "Section 4)" counts for "sections"; "Note 1)" and "see 2." are no such parts
            mark = (found.group("paren") or found.group("bare")).lower()
            if mark.isdigit() == lettered:
                continue
            written = found.group("mark")
            # "(1)", "1." or "1)", and a Markdown heading's ("## 1. Install") apart from a list's under it
            style = ("#" if line.lstrip().startswith("#") else "") + (
                written[0] + written[-1] if written[0] == "(" else written[-1]
            )
            marks.append((len(found.group("indent").expandtabs()), style, written, mark, number))
        if worded:  # "Section 1:" to "Section 4:" are the sections, whatever lists lie under them
            runs.append((name, worded))
        elif marks:
            # the outermost: the least indentation, and there the style of its first mark ("(1)" inside "1." is
            # a clause's own list)
            least = min(mark[0] for mark in marks)
            style = next(mark[1] for mark in marks if mark[0] == least)
            runs.append((name, [mark[2:] for mark in marks if mark[:2] == (least, style)]))
            # a list under headings ("Part 1: General" over "1. Members must sign in."): its items are no sections
            headed |= noun in _HEADING_PARTS and headings >= 2 and not style.startswith("#")
    if not runs:
        return None
    lines = {(name, number) for name, run in runs for *_, number in run}
    units = [u for u in state["units"] if (u["source"], u.get("line")) in lines]
    if len(runs) == 1 and not headed:
        run = runs[0][1]
        want = [chr(ord("a") + i) if lettered else str(i + 1) for i in range(len(run))]
        if len(run) >= 2 and [mark for _, mark, _ in run] == want:
            kind = "lettered" if lettered else "numbered"
            return (
                f"{len(run):,}\nCounted: the {kind} {noun} of the text, {run[0][0]!r} to {run[-1][0]!r} (lines "
                f"{run[0][2]:,} to {run[-1][2]:,}), each opening a line at the outermost indentation, numbered from "
                f"{want[0]} without a gap; the items numbered inside them aside.",
                units,
            )
    return "", units


_PART_WORD = r"(section|chapter|part|article|clause|appendix)"
_ASKS_PART_TITLE = re.compile(
    rf"(?i)\b(?:title|name|heading|caption)\s+of\s+(?:the\s+)?{_PART_WORD}\s+([0-9]{{1,3}}|[ivxlc]{{1,6}}|[a-z])\b"
    rf"|\b{_PART_WORD}\s+([0-9]{{1,3}}|[ivxlc]{{1,6}}|[a-z])\s+(?:is\s+)?(?:called|titled|entitled|named)\b"
)
"""A question for the title of a numbered part: "What is the title of section 4?", "What is chapter IV called?"."""


def part_title(state: dict[str, Any], query: str) -> tuple[str, str, str] | None:
    """(title, heading, location) of the numbered part a question asks the title of, from the headings the text
    was cut under ("4. MODIFICATIONS", "Chapter 4: Shells", "## Section 4 - Fees"): a heading is known, where a
    sentence that cites "(section 4)" says nothing of its title. None when the question asks no such thing or no
    heading, or several different ones, carry that number."""
    asked = _ASKS_PART_TITLE.search(query)
    if asked is None:
        return None
    word = (asked.group(1) or asked.group(3)).lower()
    number = (asked.group(2) or asked.group(4)).lower()
    heading = re.compile(
        rf"^(?:#+\s*)?(?:(?P<word>[a-z]+)\s+)?{re.escape(number)}(?:[.):]|\s)\s*(?:[-–—:.]\s*)?(?P<title>\S.*)$",
        re.IGNORECASE,
    )
    titles: dict[str, tuple[str, str, str]] = {}
    for label, where in _part_labels(state["units"]):
        found = heading.match(label)
        if found is None or (found.group("word") and found.group("word").lower() != word):
            continue
        title = found.group("title").strip(" .:#*=")
        if not title or title.lower() in titles:
            continue
        titles[title.lower()] = (title, label, where)
    return next(iter(titles.values())) if len(titles) == 1 else None


_RUN_IN = re.compile(r"^((?:#+\s*)?(?:[A-Za-z]+\s+)?(?:\d{1,3}|[IVXLC]{1,6}|[a-z])[.)]?\s+([^.!?\n]{1,80}?))\.\s+\S")
"""A numbered paragraph whose heading runs into its text: '6. Trademarks. This License does not grant ...'."""


def _titled(words: str) -> bool:
    """Whether `words` read as a title: two to eight words, each longer than three letters capitalised
    ('Grant of Copyright License', 'Trademarks'), never a sentence ('You may reproduce')."""
    found = _WORD.findall(words)
    return 0 < len(found) <= 8 and all(w[:1].isupper() for w in found if len(w) > 3) and any(len(w) > 3 for w in found)


def _part_labels(units: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, location) of what may head a numbered part, in the text's order: each unit's heading (its name, the
    heading it was cut under), a paragraph of at most 100 characters that has none ("4. MODIFICATIONS"), and the
    title of a paragraph whose heading runs into its text ('6. Trademarks. This License ...' gives
    '6. Trademarks', by `_RUN_IN`, in title case by `_titled`). The location is the line of the heading's own
    unit, or of the paragraph that holds it."""
    labels: list[tuple[str, str]] = []
    for unit in units:
        bare_where = re.sub(r", under '.*'$", "", unit["where"])
        if unit["name"] and len(unit["name"]) <= 100:
            labels.append((unit["name"], bare_where))
        elif not unit["name"] and unit["kind"] == "paragraph" and len(unit["text"]) <= 100:
            labels.append((unit["text"], unit["where"]))
        if unit["kind"] != "paragraph":
            continue
        run_in = _RUN_IN.match(unit["text"])
        if run_in and _titled(run_in.group(2)):
            labels.append((run_in.group(1), bare_where))
        elif unit["name"] and len(unit["text"]) <= 100 and _titled(unit["text"]):  # '8. Limitation of Liability.'
            labels.append((unit["text"], bare_where))
    return labels


_NUMBERED_LABEL = re.compile(
    r"^(?:#+\s*)?(?:(?P<word>[A-Za-z]+)\s+)?(?P<number>\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})(?:[.):]|\s)\s*"
    r"(?:[-–—:.]\s*)?(?P<title>\S.*)$"
)


def part_about(state: dict[str, Any], query: str) -> tuple[str, str, str] | None:
    """(answer, heading, location) for 'Which section covers limitation of liability?': the one numbered part
    whose title (`_part_labels`) holds every word of what the question asks about, in any of its forms
    ('8. Limitation of Liability'). None when the question is no such one (`_WHICH_PART`), names nothing, or no
    title or several different ones hold those words: the passages then answer, or NOT FOUND."""
    asked = _WHICH_PART.match(query)
    if asked is None or unmodelled(query):
        return None
    about = {stem(w) for w in _WORD.findall(query[asked.end() :].lower()) if w not in ENGLISH_STOPWORDS}
    if not about:
        return None
    found: dict[str, tuple[str, str, str]] = {}
    for label, where in _part_labels(state["units"]):
        numbered = _NUMBERED_LABEL.match(label)
        if numbered is None:
            continue
        title = numbered.group("title").strip(" .:#*=")
        if about <= {stem(w) for w in _WORD.findall(title.lower())}:
            word = numbered.group("word") or asked.group(1).capitalize()
            found.setdefault(numbered.group("number"), (f"{word} {numbered.group('number')}: {title}", label, where))
    if found:
        return next(iter(found.values())) if len(found) == 1 else None
    headed: dict[str, tuple[str, str, str]] = {}  # unnumbered headings ('## Install', 'REPORTING BUGS')
    for unit in state["units"]:
        title = str(unit["name"]).strip(" .:#*=")
        if unit["kind"] != "paragraph" or not title or len(title) > 60 or title.lower() in headed:
            continue
        forms = [stem(w) for w in _WORD.findall(title.lower())]
        if all(any(_same_word(a, f) for f in forms) for a in about):
            headed[title.lower()] = (title, str(unit["name"]), re.sub(r", under '.*'$", "", unit["where"]))
    return next(iter(headed.values())) if len(headed) == 1 else None


def _same_word(a: str, b: str) -> bool:
    """Whether two stems are forms of one word: equal, or one the other's start of 5+ letters ('instal' of
    'installation' and 'Install' are equal; 'contribut' starts 'contributing' and 'contribution')."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= 5 and long.startswith(short))


def column_words(state: dict[str, Any], terms: list[str]) -> list[str]:
    """The terms of a record file's leading comment block ("# Media (MIME) types and the extensions that represent
    them", above `application/pdf  pdf`): they describe its columns, what a question asks for, never which record
    it asks about, so they are no cover a record must hold (the comment holding them would otherwise answer a
    question about a value no record has). [] unless the text is a record file and a term of the question is
    left."""
    units, index = state["units"], state["index"]
    leading: set[int] = set()
    for (name, *_), shape in zip(state["sources"], state["shapes"], strict=True):
        if shape != "records":
            continue
        rows = [i for i, u in enumerate(units) if u["source"] == name]
        for row in rows:
            if not units[row]["text"].startswith("#"):
                break
            leading.add(row)
    if not leading:
        return []
    framed = [t for t in terms if index.rows(t) & leading]
    return framed if len(framed) < len(terms) else []


_FIELD_EDGES = "?!.,;:\"'“”‘’`()"
_VALUE_VERBS = frozenset(
    "use uses used have has mean means stand stands map maps belong belongs go goes get gets".split()
)
"""Verbs that join a column to a value in a question ("Which codes does fruit/kiwi use?"), naming no value."""


def record_value(state: dict[str, Any], query: str, framed: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(answer, unit) of a value question over a header-less record file (`TYPE ext ext` lines): the question names
    one value that is a whole field of exactly one record ("docx", "application/json") and otherwise only column
    words (`framed`) and stop words. The answer is the record's first field when the named value is a later one
    ("Which media type has the extension pdf?": application/pdf), else its other fields. None otherwise."""
    if not any(shape == "records" for shape in state["shapes"]) or unmodelled(query):
        return None  # "Which type has no extension pdf?": a negation no lookup reads
    lines = [u for u in state["units"] if u["kind"] == "line" and not u.get("fields") and not u["text"].startswith("#")]
    if not lines:
        return None
    framed_stems = {stem(w) for t in framed for w in _WORD.findall(t)}
    layouts = [
        found[0]
        for source, shape in zip(state["sources"], state["shapes"], strict=True)
        if shape == "records"
        for found in [_row_layout(state, source[0])]
        if found is not None
    ]
    named: list[str] = []
    for token in query.split():
        bare = token.strip(_FIELD_EDGES).lower()
        words = [w for w in _WORD.findall(bare) if w not in ENGLISH_STOPWORDS]
        if not words or all(
            stem(w) in framed_stems
            or w in _VALUE_VERBS
            or w in _RECORD_FRAME
            or any(_layout_column(w, names) is not None for names in layouts)  # "number" of `<hexnumber>`
            for w in words
        ):
            continue
        named.append(bare)
    if len(named) != 1:
        return None

    def fields_of(unit: dict[str, Any]) -> tuple[str, ...]:  # "alias: value" and "alias value" alike
        # a comment after " #" is no value ("0806  ether-arp  # Address Resolution Protocol"), nor a key
        text = _ROW_COMMENT.sub("", unit["text"])
        return tuple(f for f in (f.strip(_FIELD_EDGES) for f in text.split()) if f)

    hits = [u for u in lines if named[0] in [f.lower() for f in fields_of(u)]]
    if not hits or len({fields_of(u) for u in hits}) != 1 or len(fields_of(hits[0])) < 2:  # one line written twice
        return None
    fields = fields_of(hits[0])
    layout = _row_layout(state, hits[0]["source"])
    if layout is not None:  # "# <name> <hexnumber> <alias1>...<alias35> # Comment": each field has its column
        names, spread = layout
        laid = _layout_cells(fields, names, spread)
        if laid is None:
            return None
        holds = {i for i, c in enumerate(laid) if named[0] in [v.lower() for v in c]}
        places = {
            at
            for w in _WORD.findall(query)
            if w.lower() not in ENGLISH_STOPWORDS and w.lower() != named[0]
            for at in [_layout_column(w, names)]
            if at is not None and at not in holds
        }
        if len(places) > 1:
            return None
        if places:  # the column asked for by name: its cells, or "" when this record leaves it empty
            return " ".join(laid[places.pop()]), hits[0]
        if 0 not in holds and laid[0]:  # "Which protocol has the number 86DD?": the record's key
            return laid[0][0], hits[0]
        rest = [" ".join(c) for i, c in enumerate(laid) if i not in holds and c]
        # no column named: the one other field, never the others glued together
        return (rest[0], hits[0]) if len(rest) == 1 else None
    asked = _asked_noun(query)
    table = _column_text_rows(state, hits[0]["source"]) if asked else None
    if asked and table is not None:  # "Which timezone's ...": the column the comment names so, not the row's key
        columns, rows = table
        cells = next((c for n, c in rows if n == hits[0]["line"]), [])
        at = _column_for(asked, columns)
        given = [i for i, c in enumerate(cells) if c.strip(_FIELD_EDGES).lower() == named[0]]
        if at is not None and at < len(cells) and cells[at] and at not in given:
            return cells[at], hits[0]
    if fields[0].lower() == named[0] and _a_number_column(state, hits[0]["source"]):
        # `name number aliases...` with no comment naming them (/etc/rpc): the asked one alone, never all glued
        field = _numbered_row_field(fields, query)
        return None if field is None else (field, hits[0])
    value = " ".join(fields[1:]) if fields[0].lower() == named[0] else fields[0]
    return value, hits[0]


_A_NUMBER_FIELD = re.compile(r"(?i)\d+(?:/[a-z]+)?|0x[0-9a-f]+")
_NUMBER_WORDS_OF_A_ROW = frozenset("number numbers num no id ids port ports code codes value".split())
_ALIAS_WORDS = frozenset("alias aliases nickname nicknames synonym synonyms".split())


def _a_number_column(state: dict[str, Any], source_name: Any) -> bool:
    """Whether a header-less record file writes `name number [aliases...]` rows: every row (three at least) has a
    number as its second field ("mountd  100005  mount showmount", "http  80/tcp  www"), so the number is a column
    of its own and the words after it another (the aliases)."""
    rows = [
        _ROW_COMMENT.sub("", u["text"]).split()
        for u in state["units"]
        if u["source"] == source_name and u["kind"] == "line" and not u["text"].startswith("#")
    ]
    rows = [r for r in rows if r]
    return len(rows) >= 3 and all(len(r) >= 2 and _A_NUMBER_FIELD.fullmatch(r[1]) for r in rows)


def _numbered_row_field(fields: tuple[str, ...], query: str) -> str | None:
    """The field of a `name number aliases...` row (`_a_number_column`) the question asks for: the number for
    "number", "port", "id"; the words after it for "alias", "aliases" ("" when the row has none: "Does ypbind
    have an alias?" is No); None when the question names neither (audit 87 F5: "100005 mount showmount" answered
    "the program number of mountd", and "100007" whether ypbind has an alias)."""
    words = {w.lower() for w in _WORD.findall(query)}
    if words & _ALIAS_WORDS:
        return " ".join(fields[2:])
    if words & _NUMBER_WORDS_OF_A_ROW:
        return fields[1]
    return None


_NUMBERED_EXTREME = re.compile(
    r"(?i)^\s*(?:which|what)\s+(?P<noun>[a-z][\w-]*)\s+(?:has|had|have|uses|gets|got)\s+the\s+"
    r"(?P<adj>highest|lowest|largest|smallest|greatest|biggest|least)\s+(?P<what>[a-z]+)\s*[?.!]*\s*$"
)
"""'Which program has the highest number?': the row of a `name number aliases...` file with the greatest number."""
_ROW_NOUNS_OF_A_FILE = frozenset("entry row record line item".split())


def numbered_row_extreme(state: dict[str, Any], query: str) -> str | None:
    """The name (first field) of the row with the greatest or least number of the one header-less record file whose
    every row is `name number [aliases...]` (`_a_number_column`, /etc/rpc, /etc/services): "Which program has the
    highest number?" (audit 87 v08: NOT FOUND before). The question's last word must name the number column
    (`_NUMBER_WORDS_OF_A_ROW`) and its noun the rows (one the file's name or comments call them, or 'entry',
    'row'...). None when the question is no such one, the numbers mix decimal and hex, or two names tie."""
    m = _NUMBERED_EXTREME.match(" ".join(query.split()))
    if m is None or m.group("what").lower() not in _NUMBER_WORDS_OF_A_ROW:
        return None
    files = [
        src[0]
        for src, shape in zip(state["sources"], state["shapes"], strict=True)
        if shape == "records" and len(src) == 2 and isinstance(src[1], str) and _a_number_column(state, src[0])
    ]
    noun = m.group("noun").lower()
    if len(files) != 1 or not (noun in _ROW_NOUNS_OF_A_FILE or _names_its_rows(state, files[0], [noun], plural=False)):
        return None
    rows = [
        (u["line"], fields)
        for u in state["units"]
        if u["source"] == files[0] and u["kind"] == "line" and not u["text"].startswith("#")
        for fields in [_ROW_COMMENT.sub("", u["text"]).split()]
        if fields
    ]
    numbers = [fields[1].split("/")[0].lower() for _, fields in rows]
    hexed = {n.startswith("0x") for n in numbers}
    if len(hexed) != 1 or len(rows) < 2:
        return None  # '0x0800' beside '2048': which base each is written in is a guess
    values = [int(n, 16 if hexed == {True} else 10) for n in numbers]
    least = m.group("adj").lower() in ("lowest", "smallest", "least")
    best = (min if least else max)(values)
    top = {fields[0] for (_, fields), v in zip(rows, values, strict=True) if v == best}
    if len(top) != 1:
        return None  # two names share the number: no one row is the answer
    line, fields = next((n, f) for (n, f), v in zip(rows, values, strict=True) if v == best)
    return (
        f"{fields[0]}\nCompared: the number (second field) of each of the {len(rows):,} rows; line {line:,} "
        f"({' '.join(fields)}) has the {'least' if least else 'greatest'}, {fields[1]}."
    )


_HAS_A = re.compile(r"(?i)^\s*(?:does|do|did)\s+.*\b(?:have|has|had)\s+(?:a|an|any)\s+[\w-]+\s*[?.!]*\s*$")
"""A yes/no question whether a record has a value in a column: "Does ARP have an alias?"."""
_ROW_COMMENT = re.compile(r"(?:^|\s)#.*$")
"""A record line's trailing comment, from a "#" that starts a word to the end."""
_LAYOUT_CELL = re.compile(r"<([^<>]+)>(\s*(?:\.\.\.|…)\s*<[^<>]+>|\s*(?:\.\.\.|…))?")
"""A column of a layout comment: `<name>`, or a repeated one, `<alias1>...<alias35>` or `<alias>...`."""


def _row_layout(state: dict[str, Any], source_name: Any) -> tuple[list[str], int | None] | None:
    """(column names, index of the column that repeats or None) from the layout line of a record file's leading
    comment block: the last comment line, its own trailing "# Comment" aside, made of two or more `<column>`
    cells (/etc/ethertypes' "# <name> <hexnumber> <alias1>...<alias35> # Comment" gives (["name", "hexnumber",
    "alias"], 2); /etc/fstab's "# <file system> <mount point> <type> ..."). None when the source writes no such
    line."""
    text = next((s[1] for s in state["sources"] if s[0] == source_name and isinstance(s[1], str)), None)
    return None if text is None else _layout_of_text(text)


def _layout_of_text(text: str) -> tuple[list[str], int | None] | None:
    """`_row_layout` of a text as written."""
    found: tuple[list[str], int | None] | None = None
    for line in text.split("\n"):
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        body = _ROW_COMMENT.sub("", line[1:]).strip()
        cells = list(_LAYOUT_CELL.finditer(body))
        if len(cells) < 2 or _LAYOUT_CELL.sub("", body).strip(" \t[]"):
            continue
        names = [re.sub(r"\d+$", "", m.group(1)).strip().lower() for m in cells]
        spread = [i for i, m in enumerate(cells) if m.group(2)]
        if all(names) and len(spread) <= 1:
            found = names, (spread[0] if spread else None)
    return found


def _layout_cells(fields: tuple[str, ...], names: list[str], spread: int | None) -> list[list[str]] | None:
    """A record's fields by the columns of its layout (`_row_layout`): one field each, the repeating column all
    that the others leave (maybe none). None when the fields do not fit the layout."""
    if spread is None:
        return [[f] for f in fields] if len(fields) == len(names) else None
    after = len(names) - spread - 1
    if len(fields) < len(names) - 1:
        return None
    end = len(fields) - after
    return [*([f] for f in fields[:spread]), list(fields[spread:end]), *([f] for f in fields[end:])]


def _layout_column(word: str, names: list[str]) -> int | None:
    """The column of a layout a question's word names ("aliases" and "alias" name `<alias1>...`), or None."""
    low = word.lower()
    forms = {low, stem(low), low[:-2] if low.endswith("es") else low, low[:-1] if low.endswith("s") else low}
    at = [
        i
        for i, name in enumerate(names)
        if name in forms or stem(name) in forms or low in name.split() or (len(low) >= 4 and name.endswith(low))
    ]
    return at[0] if len(at) == 1 else None


_RECORD_FRAME = frozenset("alias aliases name names value values entry entries line record field".split())
"""Words of a value question over a record file that name no value ("What is the alias et_EE's value?")."""


_ROLE_PAIRS = (
    "tenant landlord",
    "lessee lessor",
    "buyer seller",
    "purchaser vendor",
    "employer employee",
    "sender recipient",
    "licensor licensee",
    "borrower lender",
    "client contractor",
    "customer supplier",
    "from to",
)
_COUNTERPART = {a: b for pair in _ROLE_PAIRS for a, b in (pair.split(), pair.split()[::-1])}
"""The parties of an agreement or a message, each with its counterpart: a question about one party is never
answered by the other's role word ("Who is the tenant?" - "Landlord"; audit 84b F1)."""
_ASKS_WHO_ROLE = re.compile(
    r"(?i)^\s*who(?:['’]s| is| was| are| were| will be)\s+(?:the|our|my|this|that)\s+([a-z][\w-]*)"
    r"(?:\s+(?:of|in|on|under|for|to)\s+(?:the|this|that|our|my)\s+[\w-]+)?\s*[?.!]*\s*$"
)
_DEFINED_BY = r"\s*\(\s*(?:hereinafter\s+(?:referred\s+to\s+as\s+|called\s+)?)?(?:the\s+)?[\"“'‘]\s*(?:the\s+)?"


def _a_role_word(core: str, query: str) -> bool:
    """Whether `core` is only role words of the parties the question asks about: the asked role ("tenant") and
    its counterpart ("Landlord"), which name no one: "Who is the tenant?" asks the name written beside it."""
    asked = {w.lower() for w in _WORD.findall(query)}
    roles = asked | {_COUNTERPART[w] for w in asked if w in _COUNTERPART}
    words = [w.lower().rstrip("s") if w.lower() not in roles else w.lower() for w in _WORD.findall(core)]
    return bool(words) and any(w in _COUNTERPART for w in words) and all(w in roles or w in STOPWORDS for w in words)


def defined_party(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """For "Who is the <role>?" ("Who is the tenant?", "Who is the seller in this agreement?"): the one name the
    text writes beside that role, as an agreement defines its parties (`Daniel Okafor ("Tenant")`, `Acme Ltd
    (the "Seller")`, `(hereinafter "Buyer")`) or as a labelled line (`Tenant: Daniel Okafor`), with its unit. None
    when the question is not of that shape, or the text writes no such name, or two different ones (audit 84b F1:
    the reader answered the other party's role word "Landlord")."""
    asked = _ASKS_WHO_ROLE.match(query)
    if asked is None:
        return None
    role = re.escape(asked.group(1).rstrip("sS") if asked.group(1).lower().endswith("s") else asked.group(1))
    defined = re.compile(rf"(?<![\w'’])({_PERSON}(?: & {_PERSON})?)(?i:{_DEFINED_BY}{role}s?)[\"”'’]\s*\)")
    labelled = re.compile(rf"(?m)^[ \t]*(?i:(?:the\s+)?{role})[ \t]*:[ \t]*({_PERSON}(?: & {_PERSON})?)")
    names: list[str] = []
    for pattern, texts in (
        (defined, [unit["text"] for unit in state["units"]]),  # a unit's lines joined: a name may wrap
        (labelled, [source[1] for source in state["sources"] if isinstance(source[1], str)]),  # its lines as written
    ):
        for text in texts:
            for m in pattern.finditer(text):
                words = _WORD.findall(m.group(1))
                while words and words[0].lower() in ENGLISH_STOPWORDS:  # "This lease ... between" never starts it
                    words = words[1:]
                if words and not words[0][:1].islower() and not _a_role_word(m.group(1), query):
                    names.append(m.group(1)[m.group(1).index(words[0]) :].strip())
    if len(set(names)) != 1:
        return None
    unit = next((u for u in state["units"] if names[0] in u["text"]), None)
    return None if unit is None else (names[0], unit)


_ASKS_LABEL = re.compile(
    r"(?i)^\s*(?:(?:what|which)(?:\s+is|\s+was|['’]s)|how\s+much\s+is)\s+(?:the|my|our|your)\s+"
    r"(?P<label>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2})(?P<rest>\s+(?:of|for|on|in)\s+.*?)?\s*[?.!]*\s*$"
    r"|^\s*(?:what|which)\s+(?P<label2>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?:do|did|will)\s+(?:i|we)\s+have"
    r"(?P<rest2>\s+(?:of|for|on|in)\s+.*?)?\s*[?.!]*\s*$"
)
"""'What is the booking reference?', 'How much is the standard excess?', 'Which seat do I have on the outbound
flight?': the label asked for (one to three words) and what may pick one of its blocks ("on the outbound flight")."""
_LABEL_FIELD = re.compile(r"^\s*(?:[-*•]\s+)?(?P<label>[A-Za-z][\w '/-]{0,40}?)\s*:\s*(?P<value>\S.*?)\s*$")
"""A `Label: value` line of a field block ('Booking reference: QF7T2K', '- Seat: 14C (aisle)')."""


def labelled_value(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(the value, its unit) of the `Label: value` field a question names word for word ("What is the booking
    reference?" over 'Booking reference: QF7T2K'; audit 87b v04: left to two agreeing readings, one of which
    paraphrased the label). A label written in several blocks ('Seat:' under 'Outbound flight' and under 'Return
    flight') is picked by the block that writes every other content word of the question ("on the outbound
    flight"). The value ends where a second label on its line starts ('07:45   Arrives: 10:55'). None when the
    question is not of that shape, no field has the label, or the fields left give different values."""
    asked = _ASKS_LABEL.match(" ".join(query.split()))
    if asked is None or unmodelled(query):
        return None
    label = (asked.group("label") or asked.group("label2")).lower().split()
    rest = asked.group("rest") or asked.group("rest2") or ""
    if all(w in ENGLISH_STOPWORDS for w in label):
        return None
    others = {stem(w) for w in _WORD.findall(rest.lower()) if w not in ENGLISH_STOPWORDS}
    found: list[tuple[str, Any, int]] = []
    for source in state["sources"]:
        if len(source) != 2 or not isinstance(source[1], str):
            continue
        lines = source[1].split("\n")
        start = 0
        for number, line in enumerate(lines):
            if not line.strip():
                start = number + 1
                continue
            # 'Departs: 07:45   Arrives: 10:55': two fields of one line, apart by blanks
            for part in re.split(r"\s{2,}(?=[A-Z][\w ]{0,30}:)", line):
                m = _LABEL_FIELD.match(part)
                if m is None or [stem(w) for w in _WORD.findall(m.group("label").lower())] != [stem(w) for w in label]:
                    continue
                value = m.group("value").strip()
                value = value[:-1] if value.endswith(".") and not value.endswith("..") else value  # a sentence's end
                end = next((i for i in range(number, len(lines)) if not lines[i].strip()), len(lines))
                block = {stem(w) for row in lines[start:end] for w in _WORD.findall(row.lower())}
                if value and others <= block:
                    found.append((value, source[0], number + 1))
    if len({value for value, _, _ in found}) != 1:
        return None
    value, source_name, at_line = found[0]
    units = [u for u in state["units"] if u["source"] == source_name and u["line"] <= at_line and value in u["text"]]
    return (value, max(units, key=lambda u: u["line"])) if units else None


def _at_span(state: dict[str, Any], unit: dict[str, Any], span: str) -> dict[str, Any]:
    """A prose unit that spans lines, quoted from its sentence that holds `span` and located at that sentence's line
    ("line 38", not the paragraph's first "line 34"; on a PDF page: "page 52, line 4"). The unit as it is when the
    sentence is its first, or cannot be placed."""
    if unit["kind"] not in ("paragraph", "entry"):
        return unit
    sentences = _sentence_spans(unit["text"])
    held = next((s for s in sentences if re.search(rf"(?<!\w){re.escape(span)}(?!\w)", s[2], re.IGNORECASE)), None)
    if held is None or held[0] == 0:
        return unit
    text = next((source[1] for source in state["sources"] if source[0] == unit["source"]), None)
    if not isinstance(text, str):
        return unit
    lines = text.split("\n")[unit["line"] - 1 :]
    block = lines[: next((i for i, line in enumerate(lines) if not line.strip()), len(lines))]
    line = _line_of(block, unit["line"], held[2])
    if line == unit["line"]:
        return unit
    old, new = f"line {unit['line']:,}", f"line {line:,}"
    where = unit["where"].replace(old, new, 1) if old in unit["where"] else unit["where"]
    return {**unit, "text": unit["text"][held[0] :], "line": line, "where": where}


def _in_scope(unit: dict[str, Any], scope: list[tuple[Any, int, int]], ends: dict[tuple[Any, int], float]) -> bool:
    """Whether a unit overlaps one of the (source, first line, last line) stretches of `scope`; `ends` gives each
    unit's last line (`_unit_ends`): a table joined into one unit holds the row that is the entry ("-regextype
    4.2.24" under "Feature  Added in") though the unit starts above it."""
    end = ends.get((unit["source"], unit["line"]), unit["line"])
    return any(unit["source"] == source and unit["line"] <= last and end >= first for source, first, last in scope)


def _unit_ends(state: dict[str, Any]) -> dict[tuple[Any, int], float]:
    """{(source, line): last line} of each unit: the line before the next unit of its source (the last runs on)."""
    starts = sorted({(u["source"], u["line"]) for u in state["units"] if isinstance(u.get("line"), int)}, key=str)
    by_source: dict[Any, list[int]] = {}
    for source, line in starts:
        by_source.setdefault(source, []).append(line)
    ends: dict[tuple[Any, int], float] = {}
    for source, lines in by_source.items():
        lines.sort()
        for line, following in zip(lines, [*lines[1:], None], strict=True):
            ends[(source, line)] = float("inf") if following is None else following - 1
    return ends


_ASKS_WHERE = re.compile(r"\s*where\b", re.IGNORECASE)
_DEFINITION = r"^([ \t]*)(?:async[ \t]+)?(?:def|class|function|sub|fn|func)[ \t]+{name}\b"


_ASKS_ITS_HISTORY = re.compile(
    r"(?i)^\s*(?:who|when|in\s+which\s+(?:version|release|year)|which\s+(?:version|release|person|author))\b.*"
    r"\b(?:add|adds|added|wrote|write|writes|written|create|creates|created|contributed|introduced|authored|"
    r"implemented|deprecated|removed|renamed|rewrote|rewritten)\b"
)
"""Who made a definition, or when ("Who added gnu_getopt()?", "When was parse_args deprecated?"): its history,
which the text's header comments or changelog tell, never its body."""


def definition_scope(state: dict[str, Any], query: str) -> tuple[list[tuple[Any, int, int]], list[str]] | None:
    """([(source, first line, last line)], the names) of the one definition in source code ("def set_tunnel(")
    of each name from code the question writes ("When must set_tunnel be called?"): its body (the lines below it
    indented deeper) is what the question asks about, docstring and all, though only its first line names it.
    None when the question writes no such name, or one of them has no definition or more than one."""
    # (a dotted name is a module or a file, "http.server", no one definition: its last part is too common a word)
    names = [name for name in _CODE_NAME.findall(query) if not name.startswith("-") and "." not in name]
    names = [name for name in dict.fromkeys(names) if len(name) > 1]
    callers = [rf"\b(?:call|calls|calling|use|uses|using|invoke|invokes)\s+{re.escape(name)}\b" for name in names]
    if not names or _ASKS_WHERE.match(query) or any(re.search(c, query, re.IGNORECASE) for c in callers):
        return None  # "Where is set_tunnel called?", "Which methods call set_tunnel?": answered outside its body
    if _ASKS_ITS_HISTORY.match(query):
        return None  # "Who added gnu_getopt()?": a header comment or a changelog says, not its body (audit 86 v01)
    scope: list[tuple[Any, int, int]] = []
    sources = [source[0] for source in state["sources"] if len(source) == 2 and isinstance(source[1], str)]
    for name in names:
        pattern = re.compile(_DEFINITION.format(name=re.escape(name)))
        found = []
        for source, text in zip(sources, _plain_texts(state), strict=False):
            lines = text.split("\n")
            for number, line in enumerate(lines):
                start = pattern.match(line)
                if start is None:
                    continue
                last = number
                for later in range(number + 1, len(lines)):
                    if not lines[later].strip():
                        continue
                    if _indent(lines[later]) <= _indent(start.group(1)):
                        break
                    last = later
                found.append((source, number + 1, last + 1))
        if len(found) != 1:
            return None  # undefined here, or defined twice: which body is meant is anyone's guess
        scope.extend(found)
    return scope, [_bare(name) for name in names]


_ASKS_UPLOADER = re.compile(r"(?i)^\s*who\b.*\b(?:upload(?:s|ed|er)?|signed)\b")


_UPLOAD_VERBS = frozenset("uploaded uploads upload made did signed prepared performed released was is".split())
"""The relation verbs of a question that asks who made an upload; any other ("sponsored", "wrote") is not modelled."""


def _upload_of(state: dict[str, Any], unit: dict[str, Any], query: str) -> dict[str, Any] | None:
    """The trailer unit (` -- Name <mail>  date`) of the changelog entry that holds the change `unit`, for a "who"
    question about an upload ("Who made the non-maintainer upload by the Security Team?"): who signed the entry
    made its upload. None for any other question, a unit that is no change of a changelog, or an entry with no
    trailer."""
    if not _ASKS_UPLOADER.match(query) or unit.get("upload") or unit["kind"] != "paragraph":
        return None
    verb = re.match(r"(?i)\s*who\s+(\w+)(?:\s+(\w+))?", query)
    if verb is None or verb.group(1).lower() not in _UPLOAD_VERBS or (verb.group(2) or "").lower() in ("off", "for"):
        return None  # "Who sponsored the upload", "Who signed off the patch": another relation than the upload's
    if re.search(rf"\bby {_PERSON}", unit["text"]) and re.search(r"\bby [A-Z][\w'’-]* [A-Z]", unit["text"]):
        return None  # the change names its own doer ("patch signed off by Bob Jones"): the reader reads that
    units: list[dict[str, Any]] = state["units"]
    at = unit["row"] if "row" in unit else units.index(unit)
    for later in units[at + 1 :]:
        if later["source"] != unit["source"] or later["kind"] == "entry":
            return None
        if later.get("upload"):
            return later
    return None


_ASKS_EXPANSION = re.compile(
    r"^\s*(?:what|which\s+\w+)\s+(?:does|do|did)\s+(?:the\s+)?(?:name|abbreviation|acronym|initialism|term|letters)?"
    r"\s*[\"'`]?(?P<a>[\w.+&-]+?)[\"'`]?\s+(?:stand|stands)\s+for\b"
    r"|^\s*what\s+is\s+(?:the\s+)?(?:name|abbreviation|acronym|initialism|term)?\s*[\"'`]?(?P<b>[\w.+&-]+?)[\"'`]?\s+"
    r"(?:short|an\s+abbreviation|an\s+acronym|an\s+initialism)\s+(?:for|of)\b"
    r"|^\s*what\s+is\s+the\s+(?:expansion|full\s+form|long\s+form|full\s+name)\s+of\s+(?:the\s+)?"
    r"(?:name|abbreviation|acronym|initialism|term)?\s*[\"'`]?(?P<c>[\w.+&-]+?)[\"'`]?\s*\??\s*$",
    re.IGNORECASE,
)
_EXPANDS_AS = re.compile(
    r"\b(?:stands?\s+for|(?:is\s+)?short\s+for|(?:is\s+)?(?:an\s+|the\s+)?(?:abbreviation|acronym|initialism)"
    r"\s+(?:of|for)|abbreviates|means)\s+(?:the\s+)?[\"'`“‘]?(?P<phrase>[^,.;:()\"`”’\n]{2,80})",
    re.IGNORECASE,
)


def asked_abbreviation(query: str) -> str | None:
    """The abbreviation a question asks the expansion of ("What does the name tar stand for?": "tar"; "What is
    GPL short for?", "What is the full form of FHS?"); None for any other question."""
    match = _ASKS_EXPANSION.search(query.strip())
    if match is None:
        return None
    found = match.group("a") or match.group("b") or match.group("c")
    return found.strip(".-") or None


def _expands(phrase: str, abbreviation: str) -> bool:
    """Whether `phrase` can be what `abbreviation` stands for: its first word starts with the abbreviation's first
    letter, and the abbreviation's letters occur in the phrase in order ("tape archiver" for "tar", "GNU's Not
    Unix" for "GNU"), case-insensitive; a phrase of one word is an expansion only when longer than it."""
    letters = [c for c in abbreviation.lower() if c.isalnum()]
    text = phrase.lower().strip()
    if not all(re.fullmatch(r"[\w'’&.+/-]+", word) for word in text.split()):
        return False  # "Tech Model │ │ Railroad Club": a table's borders run through it
    if not letters or not text or text[0] != letters[0] or text == abbreviation.lower():
        return False
    at = 0
    for letter in letters:
        at = text.find(letter, at)
        if at < 0:
            return False
        at += 1
    return " " in text or len(text) > len(letters) + 2


def _phrase_before(text: str, abbreviation: str) -> str | None:
    """The run of words right before "(ABBR)" that spells it out ("Tape Archiver (tar)"): the shortest one, of up
    to 8 words, whose first word starts with its first letter and that holds its letters in order."""
    words = text.split()
    for size in range(1, min(len(words), 8) + 1):
        phrase = " ".join(words[-size:]).strip("\"'`,;:")
        if _expands(phrase, abbreviation) and phrase[:1].lower() == abbreviation[:1].lower():
            return phrase
    return None


def expansion(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """What the abbreviation a question asks about stands for, as the text says it (audit 84 F2): the phrase after
    "stands for", "short for", "abbreviation of/for", "acronym for" in a unit that writes the abbreviation, or the
    phrase in parentheses after it ("tar (tape archiver)"), or before it ("Tape Archiver (tar)"); the phrase must
    spell the abbreviation's letters in order (`_expands`), so "the name of the program" is never one. The
    commonest such phrase, the first unit that gives it; None when the text says none."""
    abbreviation = asked_abbreviation(query)
    if abbreviation is None:
        return None
    named = re.compile(rf"(?<![\w-]){re.escape(abbreviation)}(?![\w-])", re.IGNORECASE)
    found: Counter[str] = Counter()
    first: dict[str, dict[str, Any]] = {}
    for unit in state["units"]:
        text = unit["text"]
        places = list(named.finditer(text))
        if not places and not named.fullmatch(unit["name"].strip()):
            continue  # (a glossary's entry "RTFM" says "Abbreviation for 'Read The ...'" without its name)
        phrases = [m.group("phrase") for m in _EXPANDS_AS.finditer(text)]
        for place in places:
            after = re.match(r"\s*\(([^()]{3,80})\)", text[place.end() :])
            if after:
                phrases.append(after.group(1))
            if re.match(r"\s*\)", text[place.end() :]) and text[: place.start()].rstrip().endswith("("):
                before = _phrase_before(text[: place.start()].rstrip()[:-1], abbreviation)
                if before:
                    phrases.append(before)
        for phrase in phrases:
            words = phrase.split()[:8]
            while words and words[-1].lower() in _EXPANSION_TAIL:
                words = words[:-1]
            cut = " ".join(words).strip("\"'`“”‘’")
            if _expands(cut, abbreviation):
                key = cut.lower()
                found[key] += 1
                first.setdefault(key, {**unit, "said": cut})
    if not found:
        return None
    best = found.most_common(1)[0][0]
    return first[best]["said"], first[best]


_EXPANSION_TAIL = {"and", "or", "which", "that", "who", "is", "was", "in", "on", "at", "with", "by", "but", "so"}


_COMPARES = re.compile(
    r"\b(?:before|after|earlier|later|more|less|fewer|over|under|above|below|at\s+least|at\s+most|since|until|"
    r"between|within|than|newer|older)\b",
    re.IGNORECASE,
)
_CLAIMED_NUMBER = re.compile(r"(?<![\w.-])\d[\d,]*(?:[.:/-]\d+)*(?![\w-])")


def record_verdict(value: str, unit: dict[str, Any], query: str) -> str | None:
    """Yes or No for a yes/no question over a record, from the cell `value` the question asks about ("Was Potato
    released in 2001?" over release 2000-08-15: No; "... in 2000?": Yes) (audit 84 F11). The claim is the
    question's numbers that no other cell of the record writes (so not its key, "version 10"): Yes when the cell
    writes each as a whole token (a year as the year of its date), No when the cell holds a number or date of its
    own and one of them is not there. None when the question claims no number, or the cell holds none."""
    others = [f for f in (unit.get("fields") or []) if f != value.lower()]
    claims = [
        m.group(0).replace(",", "")
        for m in _CLAIMED_NUMBER.finditer(query)
        if not any(re.search(rf"(?<![\w.-]){re.escape(m.group(0))}(?![\w-])", f) for f in others)
    ]
    written = [m.group(0).replace(",", "") for m in _CLAIMED_NUMBER.finditer(value)]
    if not claims or not written or _COMPARES.search(query):
        return None  # "released after 2001", "more than 5": a comparison, not a value to match
    months = [m.group(0)[:3].lower() for m in re.finditer(rf"\b{_MONTH}", query) if m.group(0)[0].isupper()]
    if months:  # "in June 1998": only an ISO date's month settles the month
        iso = re.fullmatch(r"\s*\d{4}-(\d{2})-\d{2}\s*", value)
        if iso is None:
            return None
        names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        if any(names.index(m) + 1 != int(iso.group(1)) for m in months if m in names):
            return "No"
    parts = {p.lstrip("0") or "0" for w in written for p in re.split(r"[-/:]", w)} | set(written)

    def same(claim: str) -> bool:
        if claim in parts or (claim.lstrip("0") or "0") in parts:
            return True
        try:
            return any(float(claim) == float(w) for w in written if re.fullmatch(r"\d+(?:\.\d+)?", w))
        except ValueError:
            return False

    return "Yes" if all(same(c) for c in claims) else "No"


def _quote(unit: dict[str, Any], limit: int = 400, terms: list[str] | None = None) -> str:
    """A unit with its location, its text cut at about `limit` characters; with the question's `terms`, a long
    unit whose sentence that holds most of them lies past the cut is quoted from its start to a "...", then from
    that sentence on (the -D entry's "SOCKS4 and SOCKS5" past its first 400 characters)."""
    text = unit["text"]
    if len(text) <= limit:
        return f"[{unit['where']}] {text}"
    # what the cut shows whole: its sentences that end before it ("... was found by I..." shows no finder)
    whole = " ".join(sentence for _, end, sentence in _sentence_spans(text) if end <= limit - 3)
    best = _best_sentence(text, unit["name"], terms, whole) if terms else None
    if best is None or best + 80 <= limit:  # the sentence starts well inside the cut: the cut shows it
        return f"[{unit['where']}] {text[: limit - 3]}..."
    head = _clipped(text, limit // 3)
    head = (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(" .,;:")  # at a word's end
    rest = text[best:]
    rest = rest if len(rest) <= limit - len(head) else rest[: limit - len(head) - 3] + "..."
    return f"[{unit['where']}] {head} ... {rest}"


def _best_sentence(text: str, name: str, terms: list[str], shown: str) -> int | None:
    """Where the first sentence of `text` that holds the most of the terms' words that neither `shown` (the
    sentences quoted anyway) nor the unit's `name` hold starts ("reported" of "Who reported CVE-2023-28531?",
    past an entry that names the CVE first); None when no sentence holds one."""
    seen = {stem(w) for w in _WORD.findall(f"{name} {shown}".lower())}
    stems = {stem(w) for t in terms for w in _WORD.findall(t.lower())} - seen
    best, most = None, 0
    for start, _, sentence in _sentence_spans(text):
        held = len(stems & {stem(w) for w in _WORD.findall(sentence.lower())})
        if held > most:
            best, most = start, held
    return best


_ASKS_WHAT_DEF_DOES = re.compile(
    r"(?i)\s*what (?:does|do|did|is) (?:the |a )?(?:(?:function|method|class|def) `?(?P<a>[A-Za-z_]\w*)`?(?:\(\))?"
    r"|`?(?P<b>[A-Za-z_]\w*)`?(?:\(\))? (?:function|method|class)|`?(?P<c>[A-Za-z_]\w*)`?\(\))"
    r" (?:do|does|for|used for)\s*\??\s*$"
)
"""'What does the indent function do?', 'What does the function dedent do?', 'What is the TextWrapper class for?',
'What does fill() do?': the name of a def asked about."""
_DEF_START = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?(?P<what>def|class)[ \t]+(?P<name>[A-Za-z_]\w*)\b", re.M)
"""A def or class line of Python source (a decorator above it is its own line)."""


def _signature_end(text: str, at: int) -> int | None:
    """The offset just past the colon that ends the def or class header starting at `at`: the first colon outside
    brackets and strings (an annotation's "name: str" and a default's '"Hello"' are inside the brackets). None when
    the header does not end (not Python)."""
    depth, quote, i = 0, "", at
    while i < len(text) and i - at < 2000:
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ":" and depth == 0:
            return i + 1
        elif char == "\n" and depth == 0 and not text[:i].rstrip(" \t").endswith("\\"):
            return None
        i += 1
    return None


def _defs_named(text: str, name: str) -> list[tuple[str, int, str | None]]:
    """Every def or class `name` of Python source `text`: (what it is, the 1-based line of its docstring, else of
    its header, its docstring or None).
    What it is: "class", "method" (a def right inside a class) or "function" (at the top, or inside a def)."""
    lines = text.split("\n")
    found: list[tuple[str, int, str | None]] = []
    for head in _DEF_START.finditer(text):
        if head.group("name") != name:
            continue
        number = text.count("\n", 0, head.start()) + 1
        what = head.group("what")
        if what == "def":
            what = "function"
            indent = len(head.group("indent").expandtabs())
            for above in reversed(lines[: number - 1]):
                stripped = above.strip()
                if not stripped or stripped.startswith(("#", "@")):
                    continue
                if len(above) - len(above.lstrip()) < indent and re.match(r"(?:async\s+)?(?:def|class)\b", stripped):
                    what = "method" if stripped.startswith("class") else "function"
                    break
                if len(above.expandtabs()) - len(above.expandtabs().lstrip()) == 0:
                    break  # code at the top between: the def is not inside a class
        end = _signature_end(text, head.end())
        doc = None
        if end is not None:
            opened = re.match(r'\s*[rRuU]?("""|\'\'\')', text[end:])
            if opened is not None:
                body = text[end + opened.end() :]
                closed = body.find(opened.group(1))
                doc = body[:closed] if closed >= 0 else None
                number = text.count("\n", 0, end + opened.end()) + 1
        found.append((what, number, doc))
    return found


def docstring_answer(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any]] | None:
    """(the first sentence of its docstring, its unit) for "What does the indent function do?" over Python source
    that defines `indent` once, with a docstring. In source, "function" is no word of the def's unit but may be one
    of a comment ("Loosely related functionality"), which the words' weights would quote instead. A decorated def
    counts; "the X function" is a def at the top or inside a def (not a method of a class), "the X method" one in
    a class, "the X class" a class. None when the question asks no such thing, when no def or several of that name
    and kind are there (with a docstring or not: which one is meant is not known), or the one has no docstring."""
    asked = _ASKS_WHAT_DEF_DOES.match(query)
    if asked is None:
        return None
    name = asked.group("a") or asked.group("b") or asked.group("c")
    kind = re.search(r"(?i)\b(function|method|class)\b", query)
    wanted = kind.group(1).lower() if kind else None
    found = []
    for source in state["sources"]:
        text = source[1]
        if len(source) > 2 or not isinstance(text, str) or name not in text:
            continue
        for what, number, doc in _defs_named(text, name):
            if wanted is None or what == wanted:
                found.append((source[0], number, doc))
    if len(found) != 1 or found[0][2] is None:
        return None
    where, number, doc = found[0]
    holding = [u for u in state["units"] if u["source"] == where and u.get("line", 0) <= number]
    if not holding:
        return None
    unit = max(holding, key=lambda u: int(u["line"]))
    sentence = _FULL_STOP.split(" ".join(str(doc).split()), maxsplit=1)[0]
    return (sentence, unit) if sentence else None


# --- yes/no questions ---------------------------------------------------------------------------------------------

_YES_NO = re.compile(
    r"(?i)^\s*(?:and |but |so )?(?:is|are|was|were|am|do|does|did|can|could|will|would|shall|should|has|have|had|"
    r"may|might|must|isn['’]t|aren['’]t|wasn['’]t|weren['’]t|doesn['’]t|don['’]t|didn['’]t|can['’]t|cannot|won['’]t|"
    r"hasn['’]t|haven['’]t)\b"
)
_WH_WORD = re.compile(r"(?i)\b(?:what|which|who|whom|whose|when|where|why|how)\b|\bor\b")
_REQUEST = re.compile(r"(?i)^\s*(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?(\w+)")
_YES_NO_NEGATION = frozenset("no not never none nor neither without cannot isn't aren't wasn't weren't doesn't".split())
_NEGATED = re.compile(r"(?i)\w+n['’]t\b|\bcannot\b")
_HEDGES = frozenset(
    "may might could can should would will shall must ought possibly perhaps probably maybe likely unlikely".split()
)
"""Words that make a sentence say what may be, will be or must be, not what is ("will fix" answers no "Was it
fixed?", "Lena must draft the budget" no "Did Lena draft it?")."""
_NOT_ASSERTED = frozenset(
    "allegedly reportedly supposedly apparently seemingly presumably purportedly ostensibly hopefully theoretically "
    "rumoured rumored hope hopes hoped hoping wish wishes wished believe believes believed think thinks thought "
    "claim claims claimed assume assumes assumed suspect suspects suspected guess guessed seem seems seemed appear "
    "appears appeared".split()
)
"""Words that, anywhere in a sentence, make it report, hope, suppose or plan its content rather than assert it
("Lena allegedly drafted ...", "We hoped the invoice was paid", "Ben claims ...", "The fix appears to work"):
such a sentence decides no yes/no question (audit 83 A), unless the question asks in that same word ("Did Ben
claim ...?")."""
_UNFULFILLED = re.compile(
    r"(?i)\b(?:yet|remains?|remained|remaining|still)\s+(?:\w+\s+)?to\b|\bin\s+(?:theory|principle)\b|\bon\s+paper\b"
)
"""A state written as still to come or as true only in theory: "has yet to be paid", "remains to be repaired",
"still has to be signed", "in theory", "on paper" (audit 83 A)."""
_LATER_CONTRASTS = frozenset("but however yet except although though whereas unless only".split())
"""Words that, after the stretch a verdict rests on, take back part of it ("works offline, but only for ten
minutes", "supports IPv6, but in practice it is broken"); a next sentence opening with one does the same."""
_UNDOING = re.compile(
    r"(?i)\b(?:(?:revers|cancel+|recall|revok|rescind|annul+|retract|nullifi|invalidat|quash|overturn|overrul"
    r"|repeal|revert|refund|reject|declin|bounc|abort|scrap+|abandon|delet|remov|return|reopen|void|expir|laps"
    r"|terminat|suspend)e?d"
    r"|revers(?:al)|cancel+ation|revocation|rescission|annulment|retraction|withdrawn|withdrew|withdrawal"
    r"|undone|undid|void|invalid|fail(?:ed|ure)|charged\s+back|chargeback|rolled\s+back|called\s+off"
    r"|fell\s+through|never\s+mind|scratch\s+that|no\s+longer|taken\s+back|backed\s+out|struck\s+down)\b"
)
"""Words of a later sentence that undo an act or a state an earlier one stated ("The invoice was paid. The payment
was later reversed.", "The bank recalled it", "the court declared it void"): the earlier sentence then decides no
yes or no (review 83c v05, review 84 A). Written as the verbs' stems with their past ending, so each verb of the
kind comes in every spelling ("cancelled"/"canceled", "voided", "annulled"), and the nouns of the undoing act.
An expiry or termination counts for a past question too ("The lease was renewed. It was terminated." leaves
"Was the lease renewed?" to the quote, review 83f)."""
_ENDING = re.compile(
    r"(?i)\b(?:ended|lifted|discontinued|ceased|ran\s+out|came\s+to\s+an\s+end"
    r"|re-?instated|restored|re-?activated|re-?enabled"
    r"|(?:active|valid|available|online|open|working|allowed|enabled|live)\s+again|back\s+(?:online|open))\b"
)
"""Words that end a state without undoing that it held ("The suspension was lifted in June", "The cover
ended"): a present question ("Is the account suspended?") is then no longer answered yes, a past one ("Was
the account suspended?") still is (review 84 A). Putting back the state before it ends it too ("It was
reinstated", "restored", "is active again": review 84c v04)."""
_PRESENT_OPENERS = frozenset("is are am do does can isn't aren't doesn't don't can't cannot".split())
"""Openers of a question that asks what holds now, not what happened."""
_UNTIL = re.compile(
    r"(?i)\b(?:was|were|had)\b.*\b(?:until|till|til)\s+(?:the\s+(?:end|start|beginning|middle)\s+of\s+|early\s+|late\s+"
    rf"|mid-?\s*|last\s+|the\s+|this\s+|that\s+)?(?:\d|{_MONTH}\b|(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|yesterday\b|recently\b"
    r"|then\b|spring\b|summer\b|autumn\b|fall\b|winter\b|week\b|month\b|year\b)"
)
"""A past state bounded by a time ("The car was insured until May 2023", "until last week"): it held, and ended
then. An open bound ("closed until further notice") ends nothing (review 84c v05)."""
_BACK_POINTING = frozenset("it its this that they them these those he she him her".split())
"""Words with which the sentence right after one points back at what it stated ("The bank recalled it")."""
_ACT_NOUNS = (
    ("ment", ""),
    ("ation", ""),
    ("ition", ""),
    ("ssion", "t"),
    ("sion", "d"),
    ("ion", ""),
    ("ature", ""),
    ("ure", ""),
    ("al", ""),
    ("ance", ""),
    ("ence", ""),
    ("y", ""),
)
"""Endings of a noun made from a verb, with what replaces them to give the verb back ("payment" -> "pay",
"suspension" -> "suspend", "submission" -> "submit", "shipment" -> "ship", "approval" -> "approve")."""
_DETERMINED = frozenset("the this that its their our my your his her".split())
"""Determiners after which a question's verb is written as the noun of its act ("the fix", "its booking")."""
_RETURN_PRESUPPOSES = frozenset(
    stem(w) for w in "deliver ship send post mail receive buy purchase order borrow lend rent give hand collect".split()
)
"""Acts a return presupposes, by `stem`: "The customer returned order 55" says it was delivered, never that the
delivery is undone (review 84c v05), unless it went back to its sender (`_TO_SENDER`); a returned payment or
application is undone."""
_TO_SENDER = re.compile(r"(?i)\s+(?:to\s+(?:the\s+)?sender|as\s+undeliverable|unclaimed|undelivered)\b")
"""What follows "returned" when the delivery never happened ("It was returned to the sender": review 83f)."""
_UNDO_REACH = 2000
"""How many units of the same text after a deciding one `yes_no_answer` reads for a sentence that undoes it (a
log's later line, a later paragraph): bounds the time on a long text; what a sentence undoes is tied by words."""
_UNSURE_POLARITY = frozenset(
    "nobody nothing nowhere noone hardly barely scarcely seldom rarely unable fail fails failed failing forgot forget "
    "forgets forgotten neglected refuse refused refuses declined lack lacks lacked lacking missing missed skipped "
    "stopped ceased almost nearly avoided prevented denied".split()
)
"""Words that negate, or may negate, what a sentence says though no "not" stands in it ("Nobody restarted the
router", "failed to finish", "Maria forgot to renew", "unable to log in"): where one stands in the sentence its
polarity is not surely read, and the sentence decides nothing (audit 82b F1)."""
_PLAN_OPENERS = frozenset("do does did don't doesn't didn't can could will would shall should must may might".split())
"""The auxiliaries after which the question's verb is in its base form ("Did I wash ...?"), the form a to-do line
or an instruction opens with ("- wash the car")."""
_ASKING_OPENERS = frozenset("please kindly pls plz then".split())
"""Words after which a base-form verb is an instruction ("Please restart ...", "... then restart ...")."""
_NOUN_BEFORE = frozenset(
    "the a an this that these those my our your his her its their some any every each no of to in on at for with "
    "by from about into onto over under".split()
)
"""Words after which a question's word is a noun, never its verb ("the car", "to Priya")."""
_LINE_OPENING = re.compile(r"^[\W_]*(?:\[[ xX]?\][\W_]*)?(\w[\w'’-]*)(?:[^:\n]{0,30}?:\s*(\w[\w'’-]*))?")
_CONTRASTS = frozenset("but instead rather whereas although though except unlike".split())
_CONDITIONAL = frozenset("if unless whether when whenever once provided".split())
_OPPOSITES = (
    ("enabled", "disabled"),
    ("enable", "disable"),
    ("on", "off"),
    ("allowed", "forbidden"),
    ("allowed", "prohibited"),
    ("permitted", "prohibited"),
    ("permitted", "forbidden"),
    ("required", "optional"),
    ("mandatory", "optional"),
    ("true", "false"),
    ("open", "closed"),
    ("present", "absent"),
    ("included", "excluded"),
    ("accepted", "rejected"),
    ("visible", "hidden"),
    ("revocable", "irrevocable"),
    ("free", "paid"),
)
"""Words that say the opposite of each other ("SELinux is disabled" answers "Is SELinux enabled?" with no); a
negating prefix (un-, in-, im-, ir-, il-, non-, dis-) is found by `_opposite` itself."""
_YES_NO_WINDOW = 20


def asks_yes_no(query: str) -> bool:
    """Whether the question asks yes or no: it opens with an auxiliary verb ("Is SELinux enabled?", "Does gzip keep
    the file?", "Can I ...?") and holds no question word and no "or" (an indirect "Can you tell me who ...?" or a
    choice "Is it 5 or 10?" asks for a phrase), nor is a request ("Can you list the users?")."""
    if not _YES_NO.match(query) or _WH_WORD.search(query):
        return False
    request = _REQUEST.match(query)
    return not (request and request.group(1).lower() in _ASKING_VERBS | {"explain", "describe", "summarize"})


def _opposite(asked: str, written: str) -> bool:
    """Whether the written word says the opposite of the asked one: a pair of `_OPPOSITES`, or the asked word with a
    negating prefix ("unsupported" of "supported", "irrevocable" of "revocable"), compared by their stems."""
    a, w = stem(asked), stem(written)
    for one, other in _OPPOSITES:
        if {a, w} == {stem(one), stem(other)}:
            return True
    if not re.search(r"(?:ed|able|ible|ive|al|id|ent|ant|ful|ic)$", asked.lower()):
        return False  # "inform" is no opposite of "form": only an adjective or a participle takes the prefix
    pairs = ((a, w), (asked.lower(), written.lower()))  # the stems, and the words ("unpaid": stem "unpaid", "pai")
    prefixes = ("un", "in", "im", "ir", "il", "non", "non-", "dis")
    return any(w == prefix + a or a == prefix + w for a, w in pairs for prefix in prefixes)


_SLOT_OPPOSITES = {
    "before": {"after"}, "after": {"before"}, "above": {"below", "under", "beneath"}, "below": {"above", "over"},
    "over": {"under", "below"}, "under": {"over", "above"}, "up": {"down"}, "down": {"up"}, "on": {"off"},
    "off": {"on"}, "in": {"out"}, "out": {"in"}, "inside": {"outside"}, "outside": {"inside"},
    "more": {"less", "fewer"}, "most": {"least", "fewest"}, "first": {"last"}, "last": {"first"},
}  # fmt: skip
"""Words a question may turn on that the search drops as stop words (or that are short), with what says the
opposite where they stand ("held after lunch" for "held before lunch?", "switched off" for "switched on?")."""
_SLOT_TIMES = frozenset("before after during until since".split())
_SLOT_RIVALS = {word: _SLOT_TIMES - {word} - _SLOT_OPPOSITES.get(word, set()) for word in _SLOT_TIMES}
"""Other words of the same slot that say something else, though no opposite ("during lunch" for "before lunch?")."""
_SLOT_NOUNS = frozenset("name named called".split())
"""Stop words that are nouns a question may ask by ("sorted by name"): another word in their place ("sorted by
date", "country code" for "country name") is another thing."""


def _deciding_slot(question: str, words: list[str]) -> str | None:
    """How the sentence `words` fills the slots of the question's deciding stop words (`_SLOT_OPPOSITES`,
    `_SLOT_RIVALS`, `_SLOT_NOUNS`), which the search and the verdict's word matching drop (audit 85 F1). Each
    slot is looked for from the nearest content word of the question on either side that the sentence writes (its
    anchor), at the question's own distance first, then outward up to one word further; the first word of the
    slot's kind found there (the word, its opposite or a rival) fills it. "opposite" when an anchor finds the
    word's opposite first ("held after lunch" for "held before lunch?", "is above the sports hall" for "below the
    sports hall?", "turned off on Friday" for "turned on on Friday?"); "other" when one finds a rival ("during
    lunch" for "before lunch?") or, for a noun, another content word at the question's own distance with the noun
    written nowhere ("sorted by country code" for "sorted by country name?", "sorted by date" for "sorted by
    name?"); "unsure" when anchors disagree and those after the word (its qualifiers: "in winter") do not settle
    it; None when the sentence writes each such word where it stands, or says nothing of it there."""
    asked = _WORD.findall(question)
    content = [a.lower() not in ENGLISH_STOPWORDS for a in asked]
    lowered = [w.lower() for w in words]
    stems = [stem(w) for w in lowered]
    result = None
    for i, word in enumerate(a.lower() for a in asked):
        kin = _SLOT_OPPOSITES.get(word, set()) | _SLOT_RIVALS.get(word, set())
        if not kin and word not in _SLOT_NOUNS:
            continue
        fills: list[str] = []  # the first word of the slot's kind each anchor finds
        qualified: list[str] = []  # those the anchors after the word find ("winter" in "on in winter?")
        exact: list[int] = []  # the position at the question's own distance from each anchor
        for j, other in enumerate(asked):
            if j == i or not content[j] or any(content[min(i, j) + 1 : max(i, j)]):
                continue  # the nearest content word on each side only
            distance = i - j
            for at in (k for k, s in enumerate(stems) if s == stem(other.lower())):
                step = 1 if distance > 0 else -1
                reach = [k for k in range(at + step, at + distance + 2 * step, step) if 0 <= k < len(words)]
                reach.sort(key=lambda k: (k != at + distance, abs(k - at)))  # its own place first
                fills += [next((lowered[k] for k in reach if lowered[k] == word or lowered[k] in kin), "")]
                if j > i:
                    qualified.append(fills[-1])
                if 0 <= at + distance < len(words):
                    exact.append(at + distance)
        if word in fills and any(f in kin for f in fills):
            # "The heating is off in summer and on in winter" for "on in winter?": the subject's anchor meets the
            # first clause's "off", the qualifier's the asked clause's "on"; the qualifier's clause decides, and
            # when its anchors disagree or find nothing, which clause is asked is a guess (audit 86 v02)
            if not qualified or len(set(qualified)) != 1 or not qualified[0]:
                return "unsure"
            fills = qualified
        if any(f in _SLOT_RIVALS.get(word, ()) for f in fills):
            return "other"
        if any(f in _SLOT_OPPOSITES.get(word, ()) for f in fills):
            result = "opposite"
        others = [k for k in exact if lowered[k] not in ENGLISH_STOPWORDS and lowered[k] not in map(str.lower, asked)]
        if word in _SLOT_NOUNS and word not in lowered and others:
            return "other"
    return result


def _a_longer_name(asked: str, words: list[str]) -> bool:
    """Whether the sentence writes a longer name that holds the asked word inside it, no form or opposite of it
    ("HTMLCalendar" for "Calendar", "ssh-agent" for "ssh")."""
    a = asked.lower()
    return len(a) >= 3 and any(
        a in w.lower() and w.lower() != a and stem(w) != stem(a) and not _opposite(asked, w) for w in words
    )


_PARTICIPLE = re.compile(
    r"[a-z]+ed|(?:made|paid|sent|done|built|run|set|put|kept|held|shown|seen|found|sold|bought|told|brought|left"
    r"|lost|won|read|cut|shut|hit|spent|met|led|laid|sung|begun|drawn|grown|thrown|worn|torn|sworn|taken|given"
    r"|written|chosen|broken|frozen|driven|eaten|fallen|forgotten|hidden|ridden|risen|spoken|stolen|proven)"
)
"""The past participle a passive question closes its subject with ("Was the card payment approved?", "Was the
credit card payment made?"): the regular -ed/-en form, or an irregular one."""
_AS_NOUN = (
    r"(?i:the|a|an|this|that|its|their|our|my|your|his|her)\s+(?:\w+\s+)?{}\b"
    r"|\b{}\s+(?i:is|was|were|are|has|had|will)\b"
)
"""How a text writes a word as a noun: after a determiner ("the payment", "the backup job"), or as the subject of
an auxiliary ("The backup job is scheduled"); `str.format` it with the escaped word twice."""


def _compound_parts(words: list[str], text: str = "") -> set[int]:
    """The positions in the question `words` of the later parts of a compound noun ("payment" in "the card payment",
    "job" in "the backup job"): a lowercase word right after the determined word or another part, followed by a
    lowercase word, and either followed by a past participle ("the card payment approved") or written as a noun in
    `text` (`_AS_NOUN`: "The backup job is scheduled ..."). "support" in "Does the tool support IPv6?" and "paid" in
    "Was the rent paid last month?" stay verbs (review 84c v03)."""
    parts: set[int] = set()
    for i in range(1, len(words) - 1):
        before, word, after = words[i - 1], words[i], words[i + 1]
        if not (word.islower() and after.islower()) or word in ENGLISH_STOPWORDS or after in ENGLISH_STOPWORDS:
            continue
        if not (i >= 2 and words[i - 2].lower() in _NOUN_BEFORE and before.islower()) and i - 1 not in parts:
            continue
        if _PARTICIPLE.fullmatch(after) or (text and re.search(_AS_NOUN.format(*[re.escape(word)] * 2), text)):
            parts.add(i)
    return parts


def _asked_verbs(query: str, text: str = "") -> set[str]:
    """The words of a yes/no question that may be its verb, lowercased as written: each lowercase word not after a
    determiner or a preposition, nor first, where the subject stands ("wash" in "Did I wash the car?", never "car",
    nor "tinyserve" in "Does tinyserve support HTTPS?"), nor a later part of a compound noun (`_compound_parts`:
    "payment" in "Was the card payment approved?"; `text` the text asked, which may write it as a noun)."""
    words = _WORD.findall(_YES_NO.sub("", query, count=1))
    parts = _compound_parts(words, text)
    return {
        w.lower()
        for i, w in enumerate(words)
        if w.islower()
        and w not in ENGLISH_STOPWORDS
        and i > 0
        and words[i - 1].lower() not in _NOUN_BEFORE
        and i not in parts
    }


def _no_statement(sentence: str, words: list[str], verbs: set[str], base_form: bool) -> bool:
    """Whether the sentence only plans, assigns or asks for the question's act, stating nothing done: the act
    written as an infinitive ("Tom to send the benchmark", "plans to renew", "needs to update"), or, when the
    question asks it in its base form (`base_form`: after do/did/can/...), a line that opens with it, after a bullet,
    a checkbox or a short label ("- wash the car", "TODO: renew the domain", "Julia: update the docs"): a to-do
    item or an instruction (audit 82b F2)."""
    verb_stems = {stem(v) for v in verbs}
    for at, (before, word) in enumerate(itertools.pairwise(words)):
        if before.lower() == "to" and word.islower() and stem(word) in verb_stems:
            return True
        # the act as an infinitive with its auxiliaries: "supposed to be paid", "yet to be repaired", "seems to
        # have been fixed", "meant to get signed" (audit 83 A)
        if before.lower() == "to" and word.lower() in ("be", "have", "get"):
            rest = [w for w in words[at + 2 : at + 4] if w.lower() not in ("been", "being")][:1]
            if rest and rest[0].islower() and stem(rest[0]) in verb_stems:
                return True
        if base_form and before.lower() in _ASKING_OPENERS and word.lower() in verbs:
            return True  # "Please restart the router", "then restart the router": an instruction
    if not base_form:
        return False
    for line in sentence.splitlines():  # a list the units kept whole holds its items as lines of one sentence
        opening = _LINE_OPENING.match(line)
        # the act's object follows it in lowercase ("wash the car"); "class TextWidget(Widget): ..." is a definition
        if opening is not None and any(
            opening.group(g) is not None
            and opening.group(g).lower() in verbs
            and re.match(r"[ \t]+[a-z$£€\d]", line[opening.end(g) :]) is not None
            for g in (1, 2)
        ):
            return True
    return False


def _act_of(word: str, verbs: set[str]) -> bool:
    """Whether `word` is a noun made from one of the question's verbs ("payment" of "paid", "suspension" of
    "suspended", "shipment" of "shipped"), by the endings of `_ACT_NOUNS`; the verb's own forms are not."""
    lowered = word.lower()
    wanted = {stem(v) for v in verbs}
    for ending, verb_end in _ACT_NOUNS:
        if lowered.endswith(ending) and len(lowered) - len(ending) >= 3:
            base = lowered[: -len(ending)] + verb_end
            if stem(base) in wanted or stem(base + "e") in wanted:
                return True
    return False


def _verb_as_noun(words: list[str], verbs: set[str]) -> bool:
    """Whether the sentence `words` writes one of the question's verbs as a noun of its act, right after a determiner:
    spelled as the verb ("The fix was reverted", "The restart failed", "The ban was lifted") or as its -ing noun
    ("The booking was cancelled"), compared by `stem` (review 84c v02)."""
    wanted = {stem(v) for v in verbs}
    return any(
        before.lower() in _DETERMINED and word.islower() and stem(word) in wanted
        for before, word in itertools.pairwise(words)
    )


def _negated_at(words: list[str], at: int) -> bool:
    """Whether a negation stands among the three words before position `at` ("was not reversed", "never
    cancelled", "hasn't been revoked")."""
    near = [w.lower() for w in words[max(0, at - 3) : at]]
    return bool(set(near) & _YES_NO_NEGATION) or any(_NEGATED.fullmatch(w) for w in near)


def _other_names(sentence: str, words: list[str], asked_stems: set[str]) -> bool:
    """Whether the sentence names a person, thing or number of its own the question does not ("Ben did not sign
    it" after "Did Ann sign ...?", "invoice 1043"): a number, or a capitalised word that is no stop word, month
    or weekday, nor part of an undoing phrase ("Scratch that"); a first word only when a lowercase word follows it
    and it is no adverb ("Ben did", not "Sadly it", "Later, it")."""
    for at, word in enumerate(words):
        if stem(word.lower()) in asked_stems or word.lower() in ENGLISH_STOPWORDS or word.lower() in _NOT_NAMES:
            continue
        if any(ch.isdigit() for ch in word):
            return True
        if not word[:1].isupper() or _UNDOING.match(" ".join(words[at : at + 2])):
            continue
        if at > 0:
            return True
        if word.lower().endswith("ly"):
            continue  # "Sadly it was annulled": an adverb opening the sentence
        follows = re.match(rf"\W*{re.escape(word)}[ \t]+([a-z]\w*)", sentence)
        if follows is not None:
            return True
    return False


def _undone_later(
    later: list[tuple[str, bool]], asked: list[str], verbs: set[str], named: list[str], present: bool
) -> bool:
    """Whether a sentence of `later` (the text after a deciding sentence, in order, each with whether it stands
    in the deciding sentence's own unit) undoes or ends the state the question asks (review 83c v05, review 84 A);
    `named`: the question's names and numbers ("Ann", "1042"), `present`: whether it asks what holds now.

    A later sentence speaks of the same thing when it writes one of the question's words that are no verb (its
    subject or object: "invoice 1042", "the deposit"), or, in the same unit, a noun made from its verb
    (`_act_of`: "The suspension was lifted", "The payment was reversed"), or, right after it, points back at it
    (`_BACK_POINTING`: "The bank recalled it"); and when the question names someone or a number, the sentence
    names it too or, pointing back, names no one and no number of its own ("Ann signed the lease. Ben did not sign
    it." undoes nothing). Such a sentence undoes the state when it writes an undoing word (`_UNDOING`, or for a
    present question `_ENDING`: "lifted", "expired") that is not one of the question's words and not itself
    negated ("was not reversed" confirms it), an asked word's opposite ("still unpaid"), or an asked word with a
    negation ("the deposit is not paid"). A sentence about another thing ("The landlord removed the old fridge"
    after "The rent was paid") undoes nothing."""
    asked_stems = {stem(w) for w in asked}
    things = [w for w in asked if w.lower() not in verbs] or asked
    thing_stems = {stem(w) for w in things}
    named_stems = {stem(w) for w in named}
    for number, (sentence, own_unit) in enumerate(later):
        words = _WORD.findall(sentence)
        stems = {stem(w) for w in words}
        lowered = {w.lower() for w in words}
        if stems & thing_stems:
            if named_stems and not stems & named_stems:
                continue  # "invoice 1043" after "invoice 1042": another one
        elif (own_unit and (any(_act_of(w, verbs) for w in words) or _verb_as_noun(words, verbs))) or (
            number == 0 and lowered & _BACK_POINTING
        ):
            if named_stems and _other_names(sentence, words, asked_stems):
                continue  # "Ben did not sign it" after "Did Ann sign the lease?"
        else:
            continue
        undone = False
        for pattern in (_UNDOING, _ENDING) if present else (_UNDOING,):
            for match in pattern.finditer(sentence):
                if (
                    match.group(0).lower().startswith("return")
                    and {stem(v) for v in verbs} & _RETURN_PRESUPPOSES
                    and not _TO_SENDER.match(sentence, match.end())
                ):
                    continue  # "We returned it to the shop": it was delivered, and stays so
                at = len(_WORD.findall(sentence[: match.start()]))
                if _negated_at(words, at):
                    return False  # "The payment was not reversed.": the state stands, said again
                undone = undone or stem(match.group(0).split()[0]) not in asked_stems
        if undone or any(_opposite(a, w) for a in asked for w in words):
            return True
        negated = bool(lowered & _YES_NO_NEGATION) or any(_NEGATED.fullmatch(w) for w in words)
        if negated and stems & asked_stems:
            return True
    return False


_PARTICIPLES = frozenset(
    "done made kept sent built paid sold bought taken given shown broken written fitted set cut put left".split()
)
"""Irregular past participles a log's items end in ("Tyres done, oil changed"); regular ones end in -ed."""


def _a_participle(word: str) -> bool:
    """Whether `word` (lower-cased) reads as a past participle: -ed ("checked"; not "need", "hundred") or one of
    `_PARTICIPLES`."""
    return word in _PARTICIPLES or (len(word) >= 5 and word.endswith("ed") and not word.endswith(("eed", "hundred")))


def _verb_of_another_item(sentence: str, found: list[list[int]], first: int, last: int) -> bool:
    """Whether the asked words between word `first` and word `last` of `sentence` (`found`: each asked word's
    indices there) lie in two or more comma- or semicolon-separated items, one of which holds an asked word and a
    participle of its own that is no asked word: "Cam belt checked, air filter replaced" holds "cam belt" and
    "replaced" for "Has the cam belt been replaced?", but the belt's item says "checked" (audit 85b F2). A list of
    nouns sharing one verb ("The oil, filter and belt were replaced") has no such item. Clauses joined by "and",
    "but", "while" or "whereas", and a bracket, cut items too (audit 86 v03: "The mechanic checked the cam belt and
    replaced the air filter", "The cam belt was checked and the air filter was replaced", "Cam belt checked
    (replacement due 2026)"), when another touched item names a thing of its own (a content word no asked word):
    "The cam belt was checked and replaced" shares its subject with the verb after "and"."""
    spots = list(_WORD.finditer(sentence))
    asked = {i for at in found for i in at if first <= i <= last}
    item = [sentence.count(",", 0, m.start()) + sentence.count(";", 0, m.start()) for m in spots]
    touched = {item[i] for i in asked}
    if len(touched) >= 2 and any(
        item[i] in touched and i not in asked and _a_participle(m.group().lower()) for i, m in enumerate(spots)
    ):
        return True
    clause, cut = [], 0
    for i, m in enumerate(spots):
        between = sentence[spots[i - 1].end() : m.start()] if i else ""
        if re.search(r"[,;()\[\]]", between) or m.group().lower() in _CLAUSE_JOINS:
            cut += 1
        clause.append(cut)
    touched = {clause[i] for i in asked}
    if len(touched) < 2:
        return False
    verbed = {clause[i] for i, m in enumerate(spots) if i not in asked and _a_participle(m.group().lower())}
    named = {
        clause[i]
        for i, m in enumerate(spots)
        if i not in asked
        and m.group().lower() not in ENGLISH_STOPWORDS
        and m.group().lower() not in _CLAUSE_JOINS
        and not _a_participle(m.group().lower())
        and not m.group().isdigit()
    }
    return any(a in touched and b in touched and a != b for a in verbed & touched for b in named)


_CLAUSE_JOINS = frozenset("and but while whereas".split())
"""Words that join two clauses of one sentence, each with its own verb ("checked the belt and replaced the
filter")."""


_ALLOWANCE_WORDS = frozenset(
    stem(w)
    for w in "allowed allow permitted permit accepted accept welcome ok okay fine possible there any have keep bring "
    "considered available provided offered included".split()
)
"""Words of a yes/no question that only ask whether a thing is let in or there ("Are pets allowed?", "Is there
parking?"): a list item "No pets" settles them."""
_LIST_ITEM_NO = re.compile(
    r"(?i)^\s*no\s+(?P<noun>[a-z][\w-]*)(?:\s+(?:allowed|permitted|accepted|please))?"
    r"\s*(?:[,;(-]\s*(?:sorry|thanks|thank you|please)\W*)?[.!]*\s*$"
)
"""A list item that refuses a thing: "No pets, sorry", "No smoking", "No DSS please"."""
_LIST_ITEM_YES = re.compile(
    r"(?i)^\s*(?P<noun>[a-z][\w-]*)\s+(?:welcome|allowed|permitted|accepted|ok|okay|available|provided|included)"
    r"[.!]*\s*$"
)
"""A list item that lets a thing in or says it is there: "Dogs welcome", "Parking available", "Bills included"
(not "Pets considered", a maybe)."""


def _a_listed_thing(noun: str, stems: list[str]) -> str | None:
    """The stem of `stems` (a question's) that a list item's `noun` names, itself or as its doer ("smokers" for
    "smoking": "No smokers" answers "Is smoking allowed?"), when every other stem only asks whether it is let in or
    there (`_ALLOWANCE_WORDS`); None otherwise (review 87 v02)."""
    key = stem(noun.lower())
    named = [s for s in stems if key in (s, s + "r", s + "er")]
    if not named or not all(s in named or s in _ALLOWANCE_WORDS for s in stems):
        return None
    return named[0]


_LIST_ITEM_STATE = re.compile(r"(?i)^\s*(?P<un>un|non-?)?(?P<word>[a-z]{4,})[.!]*\s*$")
"""A list item that is one state word: "Unfurnished", "Furnished", "Non-smoking"."""


_LEFT_OUT_TITLE = frozenset(stem(w) for w in "exclusions excluded exclusion exceptions".split())
"""Words of a list's title that leave its items out of what a policy or a price covers ('Exclusions')."""
_COVER_STATES = frozenset(stem(w) for w in "covered included insured".split())
"""The states an exclusion list denies ("Is wear and tear covered?" under 'Exclusions')."""


def _titled_item_verdict(unit: dict[str, Any], text: str, content: list[str]) -> str | None:
    """ "No" for "Is damage caused by pets covered?" when the item is 'Damage caused by pets' (every other content
    word of the question, and no more) under a title that denies the asked state ('What is not covered',
    'Exclusions' for covered/included/insured); "Yes" under a title that states it ('What is covered'); None
    otherwise (audit 87b v08: the title, with no colon, titled nothing, and the item alone was quoted)."""
    title = [w.lower() for w in _WORD.findall(str(unit.get("name") or ""))]
    if len(content) < 2 or not title:
        return None
    state = stem(content[-1])
    subject = {stem(w) for w in content[:-1]}
    item = {stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in ENGLISH_STOPWORDS}
    if item != subject:
        return None
    stems = [stem(w) for w in title]
    if state in stems:
        before = title[: stems.index(state)]
        return "No" if any(w in ("not", "never") or w.endswith("n't") for w in before) else "Yes"
    if state in _COVER_STATES and set(stems) & _LEFT_OUT_TITLE:
        return "No"
    return None


def listed_yes_no(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any], str] | None:
    """A yes/no question settled by a short list item (an advert's feature bullets): "No pets, sorry" answers
    "Are pets allowed?" No (the question's other words only ask whether it is let in or there, `_ALLOWANCE_WORDS`);
    "Unfurnished" answers "Is the flat furnished?" No and "Furnished" Yes (the item is the question's last word,
    or it with "un"/"non-"). Only a bullet line is such an item. ("Yes" or "No", the unit, its text); None when no
    item or two disagreeing items
    settle it, and for a question with a negation or comparison (audit 86b F7: all gave NOT FOUND)."""
    if not asks_yes_no(query) or unmodelled(query):
        return None
    words = [w.lower() for w in _WORD.findall(_YES_NO.sub("", query, count=1))]
    content = [w for w in words if w not in ENGLISH_STOPWORDS]
    if not content:
        return None
    stems = [stem(w) for w in content]
    lines = {str(source[0]): str(source[1]).split("\n") for source in state["sources"]}
    found: list[tuple[str, dict[str, Any]]] = []
    for unit in state["units"]:
        text = _BULLET.sub("", unit["text"]).strip()  # (a file of bullets alone keeps them in its units)
        if len(text) > 40 or unit.get("fields"):
            continue
        written_lines = lines.get(str(unit.get("source")), [])
        at = int(unit.get("line") or 0) - 1
        if not 0 <= at < len(written_lines) or not _BULLET.match(written_lines[at]):
            continue  # a heading "Garden" over "There is none" is no feature: only a bullet item is
        titled = _titled_item_verdict(unit, text, content)
        if titled is not None:
            found.append((titled, unit))
            continue
        refused = _LIST_ITEM_NO.match(text)
        if refused is not None:
            if _a_listed_thing(refused.group("noun"), stems) is not None:
                found.append(("No", unit))
            continue
        welcome = _LIST_ITEM_YES.match(text)
        if welcome is not None:
            if _a_listed_thing(welcome.group("noun"), stems) is not None:
                found.append(("Yes", unit))
            continue
        single = _LIST_ITEM_STATE.match(text)
        if single is None or len(content) > 3:
            continue
        # "Is the flat furnished?": the state is the question's last word, its subject ("flat") the text's
        written, prefix = single.group("word").lower(), (single.group("un") or "").lower().rstrip("-")
        asked = re.fullmatch(r"(un|non-?)?([a-z]{4,})", content[-1])
        if asked is None:
            continue
        if stem(prefix + written) == stem(content[-1]) or (prefix and stem(written) == stem(content[-1])):
            found.append(("Yes" if stem(prefix + written) == stem(content[-1]) else "No", unit))
        elif stem(written) == stem(asked.group(2)) and bool(prefix) != bool(asked.group(1)):
            found.append(("No", unit))  # "Furnished" for "Is it unfurnished?"
    verdicts = {verdict for verdict, _ in found}
    if len(verdicts) != 1:
        return None
    verdict, unit = found[0]
    return verdict, unit, unit["text"]


def row_cell_verdict(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any], str] | None:
    """For a yes/no question on one cell of a table of marks ("Was Ben Carter present on Tuesday?" over a
    register whose rows are students and whose columns are days, `Tue 4 Mar`): ("Yes" or "No", the row's unit, its
    asked cells as 'column: cell'). The row is the one whose first cell the question writes whole; the column is the
    one other column a word of the question names (a day by its name, `_column_for`), or every other column for
    "ever" ("Was Grace Hill ever absent?"); the mark is the one word of the question that is a one-word value of
    the table's cells ("present"). "Yes" when the cell is that mark (for "ever": any cell), "No" otherwise. None
    when any of these is not one, or the cells hold no few marks (audit 87b v09: the cell was only quoted)."""
    if not asks_yes_no(query) or unmodelled(query):
        return None
    table = _column_text_rows(state)
    if table is None:
        return None
    columns, rows = table
    asked = " " + " ".join(_WORD.findall(query.lower())) + " "
    named = [(n, cells) for n, cells in rows if cells and f" {' '.join(_WORD.findall(cells[0].lower()))} " in asked]
    if len(named) != 1 or not _WORD.findall(named[0][1][0]):
        return None
    number, cells = named[0]
    words = [w for w in _WORD.findall(query) if w.lower() not in ENGLISH_STOPWORDS]
    own = {w.lower() for w in _WORD.findall(cells[0])}
    at = {a for w in words if w.lower() not in own and (a := _column_for(w, columns)) not in (None, 0)}
    ever = re.search(r"(?i)\bever\b", query) is not None
    if len(at) > 1 or (not at and not ever) or (at and ever):
        return None
    scope = sorted(at) if at else list(range(1, len(columns)))
    values = {c[i].strip().lower() for _, c in rows for i in range(1, len(c)) if c[i].strip()}
    if not values or len(values) > max(3, len(rows) // 2) or not all(re.fullmatch(r"[a-z]+", v) for v in values):
        return None  # no few marks: names, numbers, dates
    marks = {w.lower() for w in words if w.lower() in values and w.lower() not in own}
    if len(marks) != 1:
        return None
    mark = marks.pop()
    held = [cells[i].strip().lower() for i in scope if i < len(cells)]
    source = _table_source(state)
    unit = next((u for u in state["units"] if u["source"] == source and u["line"] == number), None)
    if unit is None:
        return None
    said = "; ".join(f"{columns[i]}: {cells[i].strip()}" for i in scope if i < len(cells) and cells[i].strip())
    return ("Yes" if mark in held else "No"), unit, said


def row_mark_answer(state: dict[str, Any], query: str) -> tuple[str, dict[str, Any], str] | None:
    """For a yes/no question on one row of rows lined up by blanks ("Was Clive Barton elected?" over "  Yusuf Ali
    88   ELECTED" / "  Clive Barton   52"), ("Yes" or "No", the row's unit, what decided it): the question names the
    row by its first cell and asks the mark a word-only cell of its sibling rows writes (the same lead, its stem one
    of the question's words: "ELECTED" for "elected"). "Yes" when the row writes the mark, "No" when it does not and
    a sibling does (the column is a status only some rows have; audit 86b F1). None otherwise, and for a question
    with a negation or comparison (`unmodelled`)."""
    rows = [u for u in state["units"] if u.get("row_cells")]
    if len(rows) < 2 or unmodelled(query):
        return None
    asked = " " + " ".join(_WORD.findall(query.lower())) + " "
    named = [u for u in rows if f" {' '.join(_WORD.findall(u['row_cells'][0].lower()))} " in asked]
    if len(named) != 1:
        return None
    row = named[0]
    stems = {stem(w) for w in _WORD.findall(query.lower()) if w not in ENGLISH_STOPWORDS}
    siblings = [u for u in rows if u["name"] == row["name"] and u is not row]

    def marks(unit: dict[str, Any]) -> set[str]:
        return {
            cell.lower()
            for cell in unit["row_cells"][1:]
            if re.fullmatch(r"[A-Za-z]+", cell) and stem(cell.lower()) in stems
        }

    marked = marks(row)
    if marked:
        return "Yes", row, row["text"]
    others = [u for u in siblings if marks(u)]
    if not others:
        return None
    mark = sorted(marks(others[0]))[0].upper()
    shown = ", ".join(u["row_cells"][0] for u in others[:8])
    return "No", row, f"{row['text']} (no {mark}; the rows marked {mark}: {shown})"


def yes_no_answer(
    units: list[dict[str, Any]], query: str, every: list[dict[str, Any]] | None = None
) -> tuple[str, dict[str, Any], str] | None:
    """For a yes/no question, ("Yes" or "No", the unit, its sentence) when exactly one verdict is stated by the
    sentences of `units` that hold every content word of the question (at least two) within `_YES_NO_WINDOW` words:
    "Yes" when nothing in that stretch negates it, "No" when a negation ("not", "no", "cannot", "-n't") stands in
    it or one word is written as its opposite (`_opposite`: "disabled" for "enabled"). A sentence that hedges ("may
    be enabled") or states a condition ("if SELinux is enabled") decides nothing; None when no sentence decides or
    two disagree. A sentence decides nothing either when its polarity is not surely read (a negation outside the
    stretch, a word of `_UNSURE_POLARITY`: "Nobody restarted ...") or when it only plans or assigns the act
    (`_no_statement`), and when it does not assert the state plainly (audit 83 A): a report or hedge anywhere in
    it (`_NOT_ASSERTED`: "allegedly", "claims", "hoped"), a state still to come or true in theory only
    (`_UNFULFILLED`: "has yet to", "in theory"), or a contrast after the stretch or opening the next sentence
    (`_LATER_CONTRASTS`: "..., but only for ten minutes"), or when a later sentence of its unit or of the units
    after it in `every` (the text's units in order, when given) undoes or negates the state (`_undone_later`: "The
    payment was later reversed", "still unpaid"; review 83c v05). A question that negates its own body with one "not" or
    "never" ("Was the server not restarted?") is answered of that negation: "Yes" when the sentence negates too;
    one that negates otherwise ("Wasn't it ...?", "Did nobody ...?") is left to the quote, as which way its yes
    points is a guess (audit 82b F1-F3)."""
    opener = _YES_NO.match(query)
    body_words = [w.lower() for w in _WORD.findall(_YES_NO.sub("", query, count=1))]
    negations = [w for w in body_words if w in _YES_NO_NEGATION or w in _UNSURE_POLARITY or _NEGATED.fullmatch(w)]
    if opener is None or _NEGATED.search(opener.group(0)) or negations not in ([], ["not"], ["never"]):
        return None
    if compared_numbers(query):
        return None  # "Is the rent below 120?": finding "120" in a line compares nothing (`stated_value` does)
    asked_values = _numbers_with_units(_YES_NO.sub("", query, count=1))
    asked_units = {unit for _, unit in asked_values}
    base_form = opener is not None and opener.group(0).split()[-1].lower().replace("’", "'") in _PLAN_OPENERS
    verbs = _asked_verbs(query, "\n".join(u["text"] for u in units))
    present = opener.group(0).split()[-1].lower().replace("’", "'") in _PRESENT_OPENERS
    body = _YES_NO.sub("", query, count=1)
    asked = [
        w
        for w in dict.fromkeys(_bare(w) for w in _WORD.findall(body))
        if w not in ENGLISH_STOPWORDS and w.lower() not in negations
    ]
    asked = [w for w in asked if len(w) > 1 or w.isdigit()]
    if len(asked) < 2:
        return None
    named = [w for w in _WORD.findall(body) if w[:1].isupper() or any(ch.isdigit() for ch in w)]
    asked_stems = [stem(w) for w in asked]
    hedged_in_question = {w.lower() for w in _WORD.findall(query)} & _HEDGES
    reported_in_question = {w.lower() for w in _WORD.findall(query)} & _NOT_ASSERTED
    verdicts: dict[str, tuple[dict[str, Any], str]] = {}
    for unit in units:
        sentences = _sentence_spans(unit["text"])
        for number, (_, _, sentence) in enumerate(sentences):
            if sentence.rstrip().endswith("?"):
                continue
            words = _WORD.findall(sentence)
            lowered = [w.lower() for w in words]
            if set(lowered) & _UNSURE_POLARITY or _no_statement(sentence, words, verbs, base_form):
                continue
            if (set(lowered) & _NOT_ASSERTED) - reported_in_question or _UNFULFILLED.search(sentence):
                continue  # reported, hoped, supposed, still to come: the sentence asserts nothing (audit 83 A)
            following = _WORD.findall(sentences[number + 1][2])[:1] if number + 1 < len(sentences) else []
            if following and following[0].lower() in _LATER_CONTRASTS:
                continue  # "It works offline. However, only for ten minutes.": the next sentence takes it back
            rivals = {n for n in _numbers_with_units(sentence) if "" in asked_units or n[1] in asked_units}
            if asked_values and {value for value, _ in rivals} - {value for value, _ in asked_values}:
                continue  # "Is the fee 20 EUR?" over "Fee: 30 EUR (members 20 EUR)": which number is the fee's?
            stems = [stem(w) for w in words]
            found: list[list[int]] = []
            flipped = 0
            for want, word in zip(asked_stems, asked, strict=True):
                at = [i for i, s in enumerate(stems) if s == want]
                if not at:
                    at = [i for i, w in enumerate(words) if _opposite(word, w)]
                    flipped += bool(at)
                if not at:
                    break
                found.append(at)
            if len(found) < len(asked) or flipped > 1:
                continue
            slot = _deciding_slot(body, words)
            if slot in ("other", "unsure") or (slot == "opposite" and flipped):
                continue  # "sorted by country code" for "sorted by country name?": another thing (audit 85 F1)
            if any(_a_longer_name(word, [w for w in words if w.lower() not in asked]) for word in asked):
                continue  # "the Calendar class" in "class HTMLCalendar(Calendar)": which one it states is a guess
            # the shortest stretch that holds each word once ("this License" early in the sentence is not the
            # "patent license" the question asks about)
            spans = []
            for start in sorted({i for at in found for i in at}):
                ahead = [min((i for i in at if i >= start), default=None) for at in found]
                if None not in ahead:
                    spans.append((max(i for i in ahead if i is not None) - start, start))
            width, first = min(spans)
            last = first + width
            if width > _YES_NO_WINDOW:
                continue
            if _verb_of_another_item(sentence, found, first, last):
                continue  # "Cam belt checked, air filter replaced": the belt was checked, not replaced (audit 85b F2)
            stretch = [w.lower() for w in words[first : last + 1]]
            before = [w.lower() for w in words[:first]]
            if set(before + stretch) & _CONDITIONAL or (set(before[-2:] + stretch) & _HEDGES) - hedged_in_question:
                continue
            if set(stretch) & _CONTRASTS:
                continue  # "is not copied but deleted": which word the negation belongs to is a guess
            if set(lowered[last + 1 :]) & _LATER_CONTRASTS:
                continue  # "supports IPv6 in theory, but in practice ...": what follows takes part of it back
            # a negation just before the stretch negates it too ("There is no limit on retries")
            said = before[-2:] + stretch
            negated = bool(set(said) & _YES_NO_NEGATION) or any(_NEGATED.fullmatch(w) for w in said)
            elsewhere = lowered[: max(0, first - 2)] + lowered[last + 1 :]
            if set(elsewhere) & _YES_NO_NEGATION or any(_NEGATED.fullmatch(w) for w in elsewhere):
                continue  # "It is not true that the router was restarted": which part "not" negates is a guess
            if present and _UNTIL.search(sentence):
                continue  # "The car was insured until May 2023": a state that ended then, no present yes
            after = [(s, True) for _, _, s in sentences[number + 1 :]]
            place = (unit.get("source"), unit.get("where"))
            here = next((i for i, u in enumerate(every or []) if (u.get("source"), u.get("where")) == place), None)
            if every is not None and here is not None:  # the ranked units are copies: found by their place
                later = (u for u in every[here + 1 : here + 1 + _UNDO_REACH] if u.get("source") == place[0])
                after += [(s, False) for u in later for _, _, s in _sentence_spans(u["text"])]
            if _undone_later(after, asked, verbs, named, present):
                continue  # "The payment was later reversed.": the state it stated no longer holds (review 83c v05)
            if slot == "opposite" and negated:
                continue  # "not held after lunch" says nothing of "before lunch"
            verdict = "No" if negated != bool(flipped or slot) else "Yes"
            verdicts.setdefault(verdict, (unit, " ".join(sentence.split())))
    if len(verdicts) != 1:
        return None
    verdict, (unit, sentence) = next(iter(verdicts.items()))
    if negations:  # "Was it not restarted?" over "It was not restarted": yes, the negation the question asks holds
        verdict = "Yes" if verdict == "No" else "No"
    return verdict, unit, sentence


_STATED_OP = re.compile(
    r"(?i)\b(more than|greater than|higher than|larger than|bigger than|over|above|exceeding|at least|less than|"
    r"fewer than|lower than|smaller than|under|below|at most|exactly)\s+$"
)
"""A comparison a yes/no question puts before its number ("above 90", "more than 5"), read right to left."""
_STATED_TESTS: dict[str, Callable[[float, float], bool]] = {
    **dict.fromkeys(
        ["more than", "greater than", "higher than", "larger than", "bigger than", "over", "above", "exceeding"],
        lambda have, asked: have > asked,
    ),
    "at least": lambda have, asked: have >= asked,
    **dict.fromkeys(
        ["less than", "fewer than", "lower than", "smaller than", "under", "below"], lambda have, asked: have < asked
    ),
    "at most": lambda have, asked: have <= asked,
    "exactly": lambda have, asked: have == asked,
    "": lambda have, asked: have == asked,
}
"""How the text's value `have` answers the question's comparison with its value `asked`."""
_STATED_ABOVE = frozenset(
    ["more than", "greater than", "higher than", "larger than", "bigger than", "over", "above", "exceeding", "at least"]
)
_STATED_BELOW = frozenset(["less than", "fewer than", "lower than", "smaller than", "under", "below", "at most"])
"""The comparisons that ask for more than a value, and for less: a maximum ("up to 12") settles some of them."""
_STATED_MONTHS = {
    m: i
    for i, names in enumerate(
        "january jan;february feb;march mar;april apr;may;june jun;july jul;august aug;september sep sept;"
        "october oct;november nov;december dec".split(";")
    )
    for m in names.split()
}
_STATED_NUMBER = re.compile(
    r"(?i)(?<![\w.,])[£$€]?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![,.]\d)(?!\w)%?|\b("
    + "|".join(_SMALL_NUMBERS)
    + r")\b"
)
"""A number as a question or a text states a value: digits (with thousands commas, a currency sign or a percent
sign) or a number word up to twelve."""
_STATED_PAST = {
    "lost": "lose", "won": "win", "spent": "spend", "paid": "pay", "bought": "buy", "sold": "sell", "drew": "draw",
    "drawn": "draw", "got": "get", "made": "make", "held": "hold", "took": "take", "gave": "give", "ran": "run",
}  # fmt: skip
"""Irregular past forms and their base verb, so that "Did they lose 6 games?" names the column or label "Lost"."""
_STATED_FRAME = frozenset(
    "score scored scores get got gets have has had receive received reach reached come comes cost costs total "
    "amount value number mark marks planned scheduled set booked held due expected arranged happen happening "
    "take place going go".split()
)
"""Words a yes/no question about a stated value may hold that name no subject or attribute of their own ("Did she
score above 90 in English?", "Is the holiday planned for July?"): the value's unit or the verb of having it."""
_STATED_MEASURES = frozenset("deep long high tall wide old big large heavy".split())
"""Words that say what a number of units measures ("four levels deep", "3 metres long"): a text that writes
another of them ("3 metres wide") states another attribute."""
_STATED_MAXIMUM = re.compile(r"(?i)\b(?:up to|at most|max(?:imum)?|no more than|a maximum of)\s+$")
_STATED_UNPLAIN = re.compile(
    r"(?i)\b(?:about|around|approximately|roughly|nearly|almost|over|above|under|below|more than|less than|"
    r"fewer than|at least|some|circa|ca\.|~)\s*$"
)
"""Words before a text's number that make it no plain value ("about 90", "over 20"): no comparison reads it."""


_STATED_CLAUSE = re.compile(r",\s|;|\s[-–—]\s|[()\[\]]")
"""Where a line's clause ends: a comma before a blank, a semicolon, a dash between blanks, a bracket."""
_STATED_FORMER = frozenset("was were previously formerly originally old before reduced".split())
"""Words that make a clause's number a former value ("was 60 EUR"), not the thing's value now."""
_STATED_NOW = frozenset("now currently today instead corrected revised updated new".split())
"""Words that make another clause's number the value now ("45 EUR, now 40 EUR"): the first number is not it."""


_STATED_WAS = re.compile(
    r"(?i)\b(?:was|were|used to be|previously|formerly|originally|last (?:year|month|week|season|term)|"
    r"(?:the|an?|its|their|our|my) old)\b"
)
"""Words that make a text's only number a former value ("The fee was 30 EUR last year", "used to be 900", "the
old price of 20"), not the value now (audit 86 v01). "was"/"were" count only for a question in the present
tense: "Was the total over 100?" asks the value then."""


_CHANGED_TO = re.compile(
    r"(?i)\b(?:[a-z]+ed|set|cut|put|rose|risen|fell|fallen|grew|grown|went|gone|brought|frozen)\s+"
    r"(?:up\s+|down\s+|back\s+)?(?:to|at)\s+(?:about\s+|around\s+|roughly\s+)?[£$€¥₹]?\s*$"
)
"""The words of a change right before the value it sets ("was raised to ", "were set at ", "rose to £"): that
value is the one now unless a word marks it no longer true ("previously", "used to be"); "was" and a date ("last
year") say when it was changed (review 87 v01)."""


def _own_number(text: str, subject: set[str] | None, *, asked_past: bool = False) -> tuple[float, int, int] | None:
    """The one number (value, start, end in `text`) that `text` states for the asked thing, or None when which one
    it is is a guess (audit 85 v04/v05). One number in `text` is it. Of several, only the clauses outside brackets
    count ("45 EUR (was 60 EUR)", "30 EUR (members 20 EUR)": a bracket states another case or an aside); of those,
    with `subject` (the `_stated_base` keys of the asked thing's words, for a sentence) the clauses that write one
    of its words, else (a labelled line's value, whose label names the thing) the first clause. Exactly one number
    must stand in them, in no clause that makes it a former value ("was 60") and with no other clause stating the
    value now ("now 40"). A lone number is no value now either when a former value's words stand in `text`
    (`_STATED_WAS`: "was 30 EUR last year"; "was"/"were" only when not `asked_past`, a question asking with "was",
    "were", "did" or "had", whose own tense they are): the sentence that states the value now must settle it, or
    nothing does (audit 86 v01)."""
    numbers = _stated_numbers(text)
    if len(numbers) <= 1:
        former = [m for m in _STATED_WAS.finditer(text) if not (asked_past and m.group(0).lower() in ("was", "were"))]
        if numbers and _CHANGED_TO.search(text[: numbers[0][1]]):
            # "was raised to 50 GB last year": the change's own "was" and its date set the value now (review 87 v01)
            former = [m for m in former if not re.fullmatch(r"(?i)was|were|last \w+", m.group(0))]
        return numbers[0] if numbers and not former else None
    clauses: list[tuple[int, int]] = []  # outside brackets
    depth = start = 0
    for cut in _STATED_CLAUSE.finditer(text):
        if depth == 0:
            clauses.append((start, cut.start()))
        mark = cut.group(0)
        depth = depth + 1 if mark in "([" else max(0, depth - 1) if mark in ")]" else depth
        start = cut.end()
    if depth == 0:
        clauses.append((start, len(text)))
    clauses = [(a, b) for a, b in clauses if text[a:b].strip()]
    if subject is None:
        chosen = clauses[:1]
    else:
        chosen = [(a, b) for a, b in clauses if {_stated_base(w) for w in _WORD.findall(text[a:b])} & subject]
    own = [n for n in numbers if any(a <= n[1] and n[2] <= b for a, b in chosen)]
    if len(own) != 1:
        return None
    held = {w.lower() for a, b in chosen for w in _WORD.findall(text[a:b])}
    others = {w.lower() for a, b in clauses if (a, b) not in chosen for w in _WORD.findall(text[a:b])}
    if held & _STATED_FORMER or others & _STATED_NOW:
        return None
    return own[0]


def _stated_base(word: str) -> str:
    """The `stem` key of a word with an irregular past form taken to its base ("lost" -> "lose")."""
    lowered = _POSSESSIVE.sub("", word.lower())
    return stem(_STATED_PAST.get(lowered, lowered))


def _numbers_with_units(text: str) -> set[tuple[float, str]]:
    """The numbers `text` states (`_stated_numbers`), each with its unit: the word right after it, lower case, else
    a currency sign right before it, else "". "Is the fee 20 EUR?" asks 20 'eur', which "30 EUR" rivals; "Was order
    55 delivered?" asks 55 'delivered', which the date "4 May" does not (a number with no unit is rivalled by any)."""
    found = set()
    for value, start, end in _stated_numbers(text):
        after = re.match(r"\s*([^\W\d_]+)", text[end:])
        before = text[:start].rstrip()[-1:]
        unit = after.group(1).lower() if after else before if before in "£$€¥" and before else ""
        found.add((value, unit))
    return found


def _stated_numbers(text: str) -> list[tuple[float, int, int]]:
    """The numbers `text` states, each (value, start, end)."""
    found = []
    for match in _STATED_NUMBER.finditer(text):
        if match.group(1):
            found.append((float(match.group(1).replace(",", "")), match.start(), match.end()))
        else:
            found.append((float(_SMALL_NUMBERS[match.group(2).lower()]), match.start(), match.end()))
    return found


def _stated_months(text: str, *, first: bool = True) -> list[int]:
    """The months `text` names by name (a first word "May" only when `first`: "May I ...?" is no month)."""
    words = _WORD.findall(text)
    return [
        _STATED_MONTHS[w.lower()]
        for i, w in enumerate(words)
        if w.lower() in _STATED_MONTHS and w[:1].isupper() and (first or i > 0)
    ]


_THREAD_COUNT = re.compile(
    r"(?i)^\s*how many (?:e-?mails?|mails|messages|letters)(?: (?:are|were|is) there)?(?: (?:are|were|is))?"
    r"(?: (?:in|on) (?:the|this) (?:e-?mail |mail )?(?:thread|chain|conversation|exchange))?\s*[?.!]*$"
)
"""'How many emails are in the thread?', 'How many messages are there?': the mails of one e-mail text."""
_MAIL_HEADER_BLOCK = re.compile(r"(?im)^[> \t]*From:[ \t]+\S.*\n(?:[> \t]*(?:To|Cc|Date|Sent|Subject):.*\n?)+")
_MAIL_ATTRIBUTION = re.compile(r"(?im)^[> \t]*On\b.{4,160}\bwrote:[ \t]*$")
"""A quoted reply's attribution line ('> On Thu, 22 May 2025 at 11:47, Tom Reyes wrote:'): one mail each."""


_SCHEDULE_NOUNS = frozenset(
    stem(w) for w in "medications medication medicines medicine meds drugs items entries lines".split()
)
"""Nouns a count of a schedule's lines may ask by, when the schedule's title does not write them."""
_MEDICINES = frozenset(stem(w) for w in "medications medication medicines medicine meds drugs".split())
_DOSE = re.compile(r"(?i)\b\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|g|ml|iu)\b")
"""A medicine's dose ("500 mg", "1000 IU"): lines that each hold one list medicines, whatever their title says."""


def schedule_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many medications are on the schedule?" over a title and one block of lines each naming a dose or a
    time (`_dose_segments`): the lines, counted, shown (audit 84b F10). The counted noun must be a word of the
    title ("Medication schedule - ...") or, when the question's other words name the title ("on the schedule"),
    a noun of `_SCHEDULE_NOUNS`. None when the question is no such count, or the text holds no such block, or
    several."""
    m = _LIST_COUNT.match(query)
    if m is None or unmodelled(query):
        return None
    noun = {stem(w) for w in _WORD.findall(m.group(1).lower()) if w not in ENGLISH_STOPWORDS}
    rest = {stem(w) for w in _WORD.findall(m.group(2).lower()) if w not in ENGLISH_STOPWORDS}
    found = []
    for text in _plain_texts(state):
        lines = text.split("\n")
        blocks: list[tuple[int, list[str]]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if blocks and blocks[-1][0] + len(blocks[-1][1]) == number:
                blocks[-1][1].append(line)
            else:
                blocks.append((number, [line]))
        for at, (number, block) in enumerate(blocks):
            if _dose_segments(block) is None or at == 0 or len(blocks[at - 1][1]) != 1:
                continue
            title = blocks[at - 1][1][0].strip()
            titled = {stem(w) for w in _WORD.findall(title.lower()) if w not in ENGLISH_STOPWORDS}
            doses = all(_DOSE.search(line) for line in block)  # "How many medications?": each line a medicine's dose
            if noun & titled or (
                noun <= _SCHEDULE_NOUNS and ((rest and rest <= titled) or (doses and noun & _MEDICINES))
            ):
                found.append((number, block, title))
    if len(found) != 1:
        return None
    number, block, title = found[0]
    shown = _joined([" ".join(line.split())[:40] for line in block])
    return f"{len(block):,}\nCounted: the lines under '{title}' (lines {number}-{number + len(block) - 1}): {shown}."


_ROW_NOUNS = frozenset(stem(w) for w in "items item rows row entries entry lines line positions".split())
"""Nouns a count of a whitespace-aligned table's rows may ask by ("How many line items are on the invoice?")."""


def _aligned_cells(line: str) -> list[str]:
    """The cells of a whitespace-aligned table's line: its text cut at runs of two or more blanks."""
    return [cell for cell in re.split(r"\s{2,}|\t", line.strip()) if cell]


_ALIGNED_GAP = re.compile(r"\S+(?: \S+)*")
"""A cell of a whitespace-aligned line: words one blank apart (two or more blanks, or a tab, end it)."""


def _header_cells(spans: list[tuple[int, int, str]]) -> bool:
    """Whether the cells of an aligned line may be a table's header: no digit in any, or (a nutrition label's
    "Typical values   Per 100 g   Per 45 g serving", audit 87b v10) each starting with a letter and the first with
    no digit, where a row of data ("Energy   1849 kJ   832 kJ") has a cell that starts with its number."""
    cells = [cell for _, _, cell in spans]
    if not any(ch.isdigit() for cell in cells for ch in cell):
        return True
    return all(cell[:1].isalpha() for cell in cells) and not any(ch.isdigit() for ch in cells[0])


def aligned_table(block: list[str]) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of a whitespace-aligned table: a header line of 3+ cells two or more blanks apart with no
    digit ("Test   Result   Units   Reference range   Flag"), then 2+ lines below it, each with a digit, read by
    the header's column positions: each cell goes to the column its text overlaps most (the nearest column's start
    when it overlaps none), so a row whose last cells are blank ("HDL cholesterol  1.1  mmol/L  > 1.0", no Flag)
    is still one row with "" there, and no cell of it is read with the next row (audit 85b F1). Each row has as
    many cells as the header. None when the block is no such table: fewer rows, a line with no digit, two cells of
    one line in one column, or a line ending in a sentence's end."""
    if len(block) < 3:
        return None
    lined = _lined_up_table(block)
    return lined if lined is not None else _word_table(block)


_PHRASE_WORDS = frozenset(
    "a an the this that these those next last our your my their its his her and or for of to in on at by with from "
    "is are was were be will all every".split()
)
"""Words that join a phrase, not name a column: 'Opening hours this week', 'Class times for next term' are a title
over lines, never a table's header of one name a word (audit 88g v15-v17)."""


_TITLE_NOUNS = frozenset(
    "results fixtures standings rankings scoreboard roundup round-up highlights schedule timetable summary "
    "report overview".split()
)
"""Nouns that end a title over lines ('Spring Football League Results'), never a header's last column name."""
_COLUMN_NAME = 6
"""Letters at most of each word of a header of one-word names over lines of names and numbers in turn ('Name Age
City Score'); a longer word ('Football') is a title's."""


def _word_table(block: list[str]) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of a table whose header puts one blank between two of its names ('Pos Team    P  W  L  Pts',
    audit 87 v14), when the header has 4+ words and no digit and every line below has a digit. Lined up by runs of
    two or more blanks in the header and in every row, it is read by its gutters (`_gutter_table`), so a cell of
    two words ('Aston Villa') is one cell (audit 88g v12); else word by word when every row has as many words.
    With no such runs, only a header of names ('Name Age City Score', no word that joins a phrase, not a
    sentence's capitals) over rows whose columns each hold one kind (all numbers or none) is read word by word: a
    title over lines of as many words ('Opening hours this week' over 'Mon 9am to 5pm') is no table (v15-v17)."""
    header = block[0].split()
    if len(header) < 4 or any(ch.isdigit() for ch in block[0]) or any(not line.strip() for line in block):
        return None
    if any("|" in line or "\t" in line or not all(re.search(r"\w", w) for w in line.split()) for line in block):
        return None  # 'Name | Age | City': cells parted by a mark, whose rows are no word-by-word table ('|' a cell)
    if any(not re.search(r"\d", line) or line.rstrip().endswith((".", "!", "?")) for line in block[1:]):
        return None
    rows = [line.split() for line in block[1:]]
    if all(re.search(r"\S {2,}\S", line) for line in block):
        gutters = _gutter_table(block)
        if gutters is not None:
            return gutters
        return (header, rows) if all(len(row) == len(header) for row in rows) else None
    if any(len(row) != len(header) for row in rows):
        return None
    words = [w.lower() for w in header]
    sentence_case = header[0][:1].isupper() and all(w.islower() for w in header[1:])
    if sentence_case or any(w in _PHRASE_WORDS for w in words):
        return None  # a title, not names
    cells = [w.lower() for row in rows for w in row]
    if len(rows) < 2 or any(cell in _PHRASE_WORDS for cell in cells):
        return None  # '9am to 5pm': a phrase cut into columns
    numbers = [[bool(re.match(r"[-−+]?\d", row[i])) for row in rows] for i in range(len(header))]
    if any(len(set(column)) > 1 for column in numbers) or not any(all(column) for column in numbers):
        return None  # a column of numbers and words: its cells are no one column's values
    if words[-1] in _TITLE_NOUNS:
        return None  # 'Spring Football League Results': a title names what the lines are, a header their columns
    kinds = [column[0] for column in numbers]
    scores = all(a != b for a, b in itertools.pairwise(kinds)) and kinds.count(False) >= 2
    if scores and max(len(w) for w in header) > _COLUMN_NAME:
        # 'Arsenal 3 Chelsea 1' under a title of long words: score lines, a name and its number twice, not a
        # table's columns ('Name Age City Score' over 'Ann 34 York 12' is; audit 88r v07)
        return None
    return header, rows


def _gutter_table(block: list[str]) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of a whitespace-aligned block cut at its gutters: the character positions blank in every
    line. Each run of positions between gutters is a column, named by the header's text there; a cell of two words
    one blank apart ('Leeds United') stays one cell. None when a column has no name in the header, fewer than 3
    columns, a row fills fewer than 2, or a column's name of two words one blank apart sits over a cell with a
    wider gap (two columns the rows do not part)."""
    lines = [line.rstrip() for line in block]
    width = max(len(line) for line in lines)
    blank = [all(p >= len(line) or line[p] == " " for line in lines) for p in range(width)]
    spans: list[tuple[int, int]] = []
    for p in range(width):
        if blank[p]:
            continue
        if spans and spans[-1][1] == p:
            spans[-1] = (spans[-1][0], p + 1)
        else:
            spans.append((p, p + 1))
    if len(spans) < 3:
        return None
    table = [[line[a:b].strip() for a, b in spans] for line in lines]
    header, rows = table[0], table[1:]
    if any(not name for name in header) or any(sum(1 for cell in row if cell) < 2 for row in rows):
        return None
    for at, name in enumerate(header):
        if " " in name and any(re.search(r" {2,}", row[at]) for row in rows):
            return None
    return header, rows


def _lined_up_table(block: list[str]) -> tuple[list[str], list[list[str]]] | None:
    spans = [(m.start(), m.end(), m.group()) for m in _ALIGNED_GAP.finditer(block[0].expandtabs())]
    if len(spans) < 3 or not _header_cells(spans) or any(not line.strip() for line in block):
        return None
    lines = [line.expandtabs() for line in block]
    starts = [start for start, _, _ in spans]
    bounds = [(a, b) for a, b in zip(starts, [*starts[1:], 10**6], strict=True)]
    rows: list[list[str]] = []
    for line in lines[1:]:
        if not re.search(r"\d", line) or line.rstrip().endswith((".", "!", "?")):
            return None
        row = [""] * len(bounds)
        for m in _ALIGNED_GAP.finditer(line):
            overlaps = [max(0, min(m.end(), b) - max(m.start(), a)) for a, b in bounds]
            best = max(range(len(bounds)), key=lambda i: overlaps[i])
            if not overlaps[best]:
                best = min(range(len(bounds)), key=lambda i: abs(bounds[i][0] - m.start()))
            if row[best]:
                return None  # two cells in one column: prose, or no table lined up by its header
            row[best] = m.group()
        if sum(1 for cell in row if cell) < 2:
            return None
        rows.append(row)
    return [cell for _, _, cell in spans], rows


def aligned_rows_count(state: dict[str, Any], query: str) -> str | None:
    """ "How many line items are on the invoice?" over one whitespace-aligned table (audit 84b F10): a header line
    of 3+ cells apart by two or more blanks ("Description   Qty   Unit price   Amount"), then the lines right below
    it with as many cells, up to a blank line or a line with another number of cells; those rows, counted and
    shown. The counted noun must be one of `_ROW_NOUNS` or a word of the header ("How many descriptions"). None
    when the question is no such count, or the text holds no such table or several."""
    m = _LIST_COUNT.match(query)
    if m is None or unmodelled(query):
        return None
    noun = {stem(w) for w in _WORD.findall(m.group(1).lower()) if w not in ENGLISH_STOPWORDS}
    if not noun:
        return None
    found = []
    for text in _plain_texts(state):
        lines = text.split("\n")
        for number, line in enumerate(lines):
            header = _aligned_cells(line)
            if len(header) < 3 or any(ch.isdigit() for ch in line) or number + 1 >= len(lines):
                continue
            rows = []
            for below in lines[number + 1 :]:
                if not below.strip() or not re.search(r"\d", below):
                    break
                rows.append(below)
            if aligned_table([line, *rows]) is None:  # read by the header's columns: blank last cells are rows too
                cut = next((i for i, below in enumerate(rows) if len(_aligned_cells(below)) != len(header)), len(rows))
                rows = rows[:cut]
            named = [c for below in rows for c in _aligned_cells(below) if not re.search(r"\d", c)]
            if any(re.search(rf"(?i)(?<!\w){re.escape(c)}(?!\w)", m.group(2)) for c in named):
                # "How many away wins did Leeds United have?": a row and a column named, a cell to look up, never
                # a count of the rows (audit 88r v08, v09)
                return None
            rows = [" ".join(below.split()) for below in rows]
            headed = {stem(w) for cell in header for w in _WORD.findall(cell.lower())}
            if len(rows) >= 2 and (noun <= _ROW_NOUNS or noun <= headed):
                found.append((number + 1, header, rows))
    if len(found) != 1:
        return None
    number, header, rows = found[0]
    shown = _joined([row[:40] for row in rows])
    return (
        f"{len(rows):,}\nCounted: the rows of the table under its header '{'  '.join(header)}' (line {number}): "
        f"{shown}."
    )


_MAIL_SEPARATOR = re.compile(r"(?i)^[> \t]*-{2,}[ \t]*(?:original|forwarded)\s+message[ \t]*-{2,}[ \t]*$")
"""An older mail's separator line in a reply or a forward ('-----Original Message-----')."""


def _thread_text(state: dict[str, Any], source: Any) -> str:
    """The text of `source` less its quote marks ("> ", ">> ") when it is an e-mail thread (a mail that quotes or
    holds an older one: an "On ... wrote:" line, an '-----Original Message-----' line or a second `From:` header
    block); "" for any other text."""
    texts = [s[1] for s in state["sources"] if s[0] == source and len(s) == 2 and isinstance(s[1], str)]
    if len(texts) != 1:
        return ""
    text = texts[0]
    if not (
        _MAIL_ATTRIBUTION.search(text)
        or any(_MAIL_SEPARATOR.match(line) for line in text.split("\n"))
        or len(_MAIL_HEADER_BLOCK.findall(text)) > 1
    ):
        return ""
    return re.sub(r"(?m)^[> \t]+", "", text)  # a quote's marks are no words of its sentences


def _denied_by_a_newer_mail(state: dict[str, Any], unit: dict[str, Any], span: str, query: str) -> bool:
    """Whether the newest mail of a thread that writes `span` calls it no longer so or denies it (replies are
    written above what they quote, so the first mention is the newest): the plan quoted at the bottom says "Move
    date: 20 November", and the reply above it "the movers can't do 20 November anymore"; "Place: the city library"
    under "we meet at Café Lindgren, not at the library" (audit 88b v06, v07). A phrase of words has its last word
    stand for it ("library" of "city library"). The newer mail decides, so the older value is no answer."""
    text = _thread_text(state, unit["source"])
    if not text:
        return False
    said = [span.strip()]
    head = _WORD.findall(span)[-1:]
    if (
        head
        and len(head[0]) > 3
        and head[0].lower() not in STOPWORDS
        and not re.search(r"\d", span)
        and head[0] != span
    ):
        said.append(head[0])
    return any(_said_to_be_old(value, text, query, first=True) for value in said)


def thread_mail_count(state: dict[str, Any], query: str) -> str | None:
    """The count of the mails in an e-mail text (audit 84b F10): its header blocks ("From:" with "To:", "Date:" or
    "Subject:" lines under it, at any quote depth) and its quoted replies' attribution lines ("On ..., X wrote:"),
    each one mail; a signature line ("Sarah") or a quoted greeting is none. None when the question is no such count
    or no source opens as an e-mail (a "From:" header within its first lines)."""
    if _THREAD_COUNT.match(query) is None:
        return None
    texts = [s[1] for s in state["sources"] if isinstance(s[1], str)]
    if len(texts) != 1 or not _MAIL_HEADER_BLOCK.match(texts[0].lstrip("\ufeff")):
        return None
    text = texts[0] if texts[0].endswith("\n") else texts[0] + "\n"
    headers = [text.count("\n", 0, m.start()) + 1 for m in _MAIL_HEADER_BLOCK.finditer(text)]
    quoted = [text.count("\n", 0, m.start()) + 1 for m in _MAIL_ATTRIBUTION.finditer(text)]
    lines = ", ".join(str(n) for n in sorted(headers + quoted))
    return (
        f"{len(headers) + len(quoted):,}\nCounted: the mails of the thread, {len(headers)} header block(s) "
        f"(From:/To:/Subject:) and {len(quoted)} quoted reply(ies) ('On ... wrote:'), at lines {lines}"
    )


_STATED_HONORIFICS = frozenset("dr mr mrs ms miss mx prof sir dame".split())
"""Titles before a name ("Dr. Smith"): no word of the name a value must write."""


def _words_key(text: str) -> str:
    """`text`'s words, lowercased, one blank apart, between blanks: a phrase found whole by `in`."""
    return " " + " ".join(_POSSESSIVE.sub("", w.lower()) for w in _WORD.findall(text)) + " "


def _stated_cell(state: dict[str, Any], body: str) -> tuple[str, str, dict[str, Any], str] | None:
    """("Yes" or "No", the row's cell, the row, its text) of a yes/no question (its `body`, the opener cut off) that
    names a table row by one cell and a value by a phrase that is a whole cell of one other column, in any row: "Is
    Aisha Khan in class 10B?" over a CSV whose `class` column holds 10B -> No (10A). Yes when the row's cell in
    that column is the value. None when the question's phrases fall in other than exactly two columns, no column
    names one row alone, or a word of the question is none of the two phrases, a column's name or `_STATED_FRAME`
    (audit 84b F11)."""
    rows = [u for u in state["units"] if u.get("keys") and u.get("fields")]
    asked = _words_key(body)
    hits: dict[int, set[int]] = {}
    for r, unit in enumerate(rows):
        if unit["keys"] != rows[0]["keys"]:
            return None  # two tables: which one the question means is a guess
        for c, cell in enumerate(unit["fields"]):
            if cell and not _stated_numbers(cell) and _words_key(cell) != "  " and _words_key(cell) in asked:
                hits.setdefault(c, set()).add(r)
    if len(hits) != 2:
        return None
    keys = rows[0]["keys"]
    (one, one_rows), (two, two_rows) = hits.items()
    if len(one_rows) == 1 and (len(two_rows) > 1 or next(iter(one_rows)) in two_rows):
        subject, column, values = next(iter(one_rows)), two, two_rows
    elif len(two_rows) == 1 and len(one_rows) > 1:
        subject, column, values = next(iter(two_rows)), one, one_rows
    elif len(one_rows) == len(two_rows) == 1:
        # two rows, one cell each ("Is Lina Moss in 7B?" over two rows): the subject is the leftmost column's (a
        # table's key comes first) unless a word of the question names that column ("in class 7C")
        first, second = sorted((one, two))
        said = {_stated_base(w) for w in _WORD.findall(body)}
        if said & {_stated_base(p) for p in re.split(r"[\W_]+", keys[first]) if p}:
            first, second = second, first
        subject, column, values = next(iter(hits[first])), second, hits[second]
    else:
        return None
    phrases = {w.lower() for c in hits for r in hits[c] for w in _WORD.findall(rows[r]["fields"][c])}
    named = {_stated_base(p) for c in hits for p in re.split(r"[\W_]+", keys[c]) if p}
    for word in _WORD.findall(body):
        lowered = _POSSESSIVE.sub("", word.lower())
        if lowered in ENGLISH_STOPWORDS or lowered in phrases or lowered in _STATED_FRAME:
            continue
        if _stated_base(word) not in named:
            return None  # "Is Aisha Khan top of 10B?": a word no cell or column holds
    unit = rows[subject]
    cell = next((part.split(":", 1)[1].strip() for part in unit["text"].split("; ")
                 if part.split(":", 1)[0].strip().lower() == keys[column]), unit["fields"][column])  # fmt: skip
    return ("Yes" if subject in values else "No"), cell, unit, unit["text"]


def _stated_name(state: dict[str, Any], body: str) -> tuple[str, str, dict[str, Any], str] | None:
    """("Yes" or "No", the value, its line, the line) of a yes/no question that names a person or thing for what
    one "Label: value" line states: "Is the chair Helen Brooks?" / "Was the meeting chaired by Omar?" over "Chair:
    Helen Brooks" -> Yes / No. The question's capitalised words that are no label word are the name; every other
    word must be a label word or `_STATED_FRAME`, and the label's words all the question's. Yes when the value
    writes every word of the name, No when it writes none of them and is itself a name (a capital first); None
    otherwise, or when two lines answer differently (audit 84b F11)."""
    words = [_POSSESSIVE.sub("", w) for w in _WORD.findall(body)]
    found: dict[str, tuple[str, dict[str, Any], str]] = {}
    for source in state["sources"]:
        if not isinstance(source[1], str):
            continue
        for number, line in enumerate(source[1].split("\n"), 1):
            labelled = re.match(r"^\s*(?:[-*•]\s+)?([A-Za-z][\w '/-]{0,40}?)\s*:\s*(\S.*?)\s*$", line)
            if labelled is None or ";" in labelled.group(2) or re.search(r"\w:\s", labelled.group(2)):
                continue
            label = {_stated_base(w) for w in _WORD.findall(labelled.group(1)) if w.lower() not in ENGLISH_STOPWORDS}
            if not label:
                continue
            name = [
                w
                for w in words
                if w[:1].isupper()
                and _stated_base(w) not in label
                and w.lower() not in ENGLISH_STOPWORDS | _STATED_HONORIFICS
            ]
            others = [
                w
                for w in words
                if w not in name and w.lower() not in ENGLISH_STOPWORDS | _STATED_FRAME | _STATED_HONORIFICS
            ]
            if (
                not name
                or not label <= {_stated_base(w) for w in words}
                or any(_stated_base(w) not in label for w in others)
            ):
                continue
            value = labelled.group(2)
            if re.search(r"(?i)\b(?:others?|etc|more|so on|tbc|tbd)\b|\.{3}|…", value):
                continue  # "Present: Ann, Bob and others": who else is in it is unknown
            held = {w.lower() for w in _WORD.findall(value)}
            if all(w.lower() in held for w in name):
                verdict = "Yes"
            elif not any(w.lower() in held for w in name) and value[:1].isupper():
                verdict = "No"
            else:
                continue
            found.setdefault(verdict, (value, {"where": f"line {number:,}", "line": number}, line.strip()))
    if len(found) != 1:
        return None
    verdict, (value, unit, quote) = next(iter(found.items()))
    return verdict, value, unit, quote


def stated_value(state: dict[str, Any], query: str) -> tuple[str, str, dict[str, Any], str] | None:
    """("Yes" or "No", the text's value, the unit (for a labelled line: its "where" only), the quote) of a yes/no
    question that states a value the text states otherwise or the same for the same subject and attribute (audit
    84b F11): "Did Elena score above 90 in English?" over a row whose `english` cell is 88 -> No; "Is the holiday in
    July?" over "a holiday in August" -> No; "Did they lose 6 games?" over "Lost: 4" -> No. The question states
    one number (with a comparison before it: "above", "more than", "at least", "under" ...) or one month; the
    subject and the attribute must be matched surely, in one of three places:
    - a record (a CSV or markdown table row): the one row a phrase of the question names whole, and the one other
      column a word of the question names;
    - a "Label: value" line whose label words the question all writes, and whose value holds one such value;
    - one sentence that writes every other word of the question and holds exactly one value of the asked kind (a
      number followed by the question's own unit word: "three levels" for "four levels deep"; one month), plainly
      asserted: no negation, hedge, condition or report, and no "about"/"over" before its number ("up to three"
      is a maximum: "Can tags be nested four levels deep?" -> No).
    Other words of the question may only be the value's unit or the verb of having it (`_STATED_FRAME`). A
    comparison reads the text's number numerically; without one, equal is Yes and different is No. None when the
    question states no such value, negates, or the text does not settle it in exactly one place (or two places
    disagree)."""
    if not asks_yes_no(query):
        return None
    opener = _YES_NO.match(query)
    assert opener is not None
    body = query[opener.end() :]
    body_words = _WORD.findall(body)
    if {w.lower() for w in body_words} & (_YES_NO_NEGATION | _UNSURE_POLARITY) or _NEGATED.search(query):
        return None
    numbers = _stated_numbers(body)
    months = _stated_months(body)
    op = ""
    unit_word = ""
    if months:
        if len(months) != 1 or numbers:
            return None  # "Is it on 3 May?": a day and a month, read by no rule here
        asked_number = None
        valued = {w.lower() for w in body_words if w.lower() in _STATED_MONTHS}
    elif len(numbers) == 1:
        asked_number, start, end = numbers[0]
        before = _STATED_OP.search(body[:start])
        op = before.group(1).lower() if before else ""
        after = _WORD.match(body[end:].lstrip())
        unit_word = after.group(0).lower() if after and after.group(0).lower() not in ENGLISH_STOPWORDS else ""
        valued = {w.lower() for w in _WORD.findall(body[before.start() if before else start : end])}
        measure = re.match(r"\W*\w+\W+(\w+)", body[end:]) if unit_word else None
        if measure is not None and measure.group(1).lower() in _STATED_MEASURES:
            valued.add(measure.group(1).lower())  # "four levels deep": the unit's measure, not a word to find
    elif not numbers:
        return _stated_cell(state, body) or _stated_name(state, body)
    else:
        return None
    rest = [
        w
        for w in dict.fromkeys(_POSSESSIVE.sub("", w) for w in body_words)
        if w.lower() not in ENGLISH_STOPWORDS and w.lower() not in valued and len(w) > 1
    ]
    rest = [w for w in rest if w.lower() != unit_word]
    if not rest:
        return None
    test = _STATED_TESTS[op]
    opener_word = opener.group(0).split()[-1].lower()
    asked_past = opener_word in ("was", "were", "did", "had", "wasn't", "weren't", "didn't", "hadn't")

    def verdict(have_text: str, subject: set[str] | None = None) -> tuple[str, str] | None:
        """(Yes/No, the value) the text's value `have_text` gives (`_own_number`: for the asked thing's words
        `subject`, or for a labelled line's value when None), or None when it holds none or which is a guess."""
        if asked_number is None:
            have_months = _stated_months(have_text)
            if len(set(have_months)) != 1:
                return None
            named = next(w for w in _WORD.findall(have_text) if _STATED_MONTHS.get(w.lower()) == have_months[0])
            return ("Yes" if have_months[0] == months[0] else "No"), named
        own = _own_number(have_text, subject, asked_past=asked_past)
        if own is None:
            return None
        value, begin, end = own
        if _STATED_UNPLAIN.search(have_text[:begin]):
            return None
        limit = _STATED_MAXIMUM.search(have_text[:begin])
        if limit is not None:
            said = have_text[limit.start() : end]
            if not op and opener_word in ("can", "could"):  # "up to three" answers "Can it be four?"
                return ("Yes" if asked_number <= value else "No"), said
            if op in _STATED_ABOVE and not test(value, asked_number):
                return "No", said  # "at least 15 hours?" over "up to 12 hours": no value it allows reaches it
            if op in _STATED_BELOW and test(value, asked_number):
                return "Yes", said  # "under 15 hours?" over "up to 12 hours": every value it allows is under
            return None  # a limit, not the value: whether the value passes is unknown
        return ("Yes" if test(value, asked_number) else "No"), have_text[begin:end]

    found: dict[str, tuple[str, dict[str, Any], str]] = {}
    rest_bases = {_stated_base(w) for w in rest}
    # records: the one row a phrase of the question names, the one other column a word names
    rows = [u for u in state["units"] if u.get("keys") and u.get("fields")]
    lowered_query = _words_key(query)
    named_rows = [
        (
            u,
            [
                i
                for i, f in enumerate(u["fields"])
                if f and not _stated_numbers(f) and _words_key(f).strip() and _words_key(f) in lowered_query
            ],
        )
        for u in rows
    ]
    named_rows = [(u, at) for u, at in named_rows if at]
    most = max((len(at) for _, at in named_rows), default=0)
    if len(named_rows) > 1 and sum(len(at) == most for _, at in named_rows) == 1:
        # "Lina Moss's history mark" over long rows (name, subject, mark): the one row naming both phrases is it,
        # when every phrase the other rows name is one of its cells (audit 85 v05)
        best = next((u, at) for u, at in named_rows if len(at) == most)
        phrases = {_words_key(best[0]["fields"][i]) for i in best[1]}
        if all(_words_key(u["fields"][i]) in phrases for u, at in named_rows for i in at):
            named_rows = [best]
    if len(named_rows) == 1:
        unit, given = named_rows[0]
        given_words = {w.lower() for i in given for w in _WORD.findall(unit["fields"][i])}
        columns = [
            i
            for i, key in enumerate(unit["keys"])
            if i not in given and any(_stated_base(part) in rest_bases for part in re.split(r"[\W_]+", key) if part)
        ]
        others = [
            w
            for w in rest
            if w.lower() not in given_words
            and not any(
                _stated_base(w) == _stated_base(p) for i in columns for p in re.split(r"[\W_]+", unit["keys"][i])
            )
        ]
        if len(columns) == 1 and all(w.lower() in _STATED_FRAME for w in others):
            said = verdict(unit["fields"][columns[0]])
            if said is not None:
                found.setdefault(said[0], (said[1], unit, unit["text"]))
    # "Label: value" lines whose label the question writes
    for source in state["sources"]:
        if not isinstance(source[1], str):
            continue
        for number, line in enumerate(source[1].split("\n"), 1):
            labelled = re.match(r"^\s*(?:[-*•]\s+)?([A-Za-z][\w '/()%-]{0,40}?)\s*:\s*(\S.*?)\s*$", line)
            if labelled is None or ";" in labelled.group(2) or re.search(r"\w:\s", labelled.group(2)):
                continue
            label = [w for w in _WORD.findall(labelled.group(1)) if w.lower() not in ENGLISH_STOPWORDS]
            label_bases = {_stated_base(w) for w in label}
            if not label or not label_bases <= rest_bases:
                continue
            if not all(_stated_base(w) in label_bases or w.lower() in _STATED_FRAME for w in rest):
                continue
            said = verdict(labelled.group(2))
            if said is not None:
                found.setdefault(said[0], (said[1], {"where": f"line {number:,}", "line": number}, line.strip()))
    # one sentence that writes every other word of the question
    hedged = {w.lower() for w in _WORD.findall(query)} & _HEDGES
    for unit in state["units"]:
        if unit.get("keys"):
            continue
        for _, _, sentence in _sentence_spans(unit["text"]):
            words = _WORD.findall(sentence)
            lowered = {w.lower() for w in words}
            bases = {_stated_base(w) for w in words}
            present = [w for w in rest if _stated_base(w) in bases]
            if not present or any(_stated_base(w) not in bases and w.lower() not in _STATED_FRAME for w in rest):
                continue
            if (lowered & _STATED_MEASURES) - valued:
                continue  # "3 metres wide" for "Is it 3 metres long?"
            if sentence.rstrip().endswith("?") or lowered & (_YES_NO_NEGATION | _CONDITIONAL | _NOT_ASSERTED):
                continue
            if (lowered & _HEDGES) - hedged or _NEGATED.search(sentence) or _UNFULFILLED.search(sentence):
                continue
            subject = {_stated_base(w) for w in rest if w.lower() not in _STATED_FRAME} or rest_bases
            if asked_number is not None:
                own = _own_number(sentence, subject, asked_past=asked_past)
                if own is None:
                    continue
                follows = _WORD.match(sentence[own[2] :].lstrip())
                if unit_word and (follows is None or stem(follows.group(0).lower()) != stem(unit_word)):
                    continue  # "four levels" against "3 users": another attribute
            said = verdict(sentence, subject)
            if said is not None:
                found.setdefault(said[0], (said[1], unit, " ".join(sentence.split())))
    if len(found) != 1:
        return None
    answer, (value, unit, quote) = next(iter(found.items()))
    return answer, value, unit, quote


def _name_files(state: dict[str, Any]) -> None:
    """Each unit's location named by its file ('work.md, line 3') in place of the context variable's name
    ('work, line 3'; 'context, line 3' for the first file) when the context has several sources and the host
    named their files (`state["files"]`, set after `build_index`): a citation names the file the user gave
    (newcomer audit 87 v04). Once per state."""
    files = state.get("files") or {}
    if state.get("files_named") or len(state["sources"]) < 2 or not files:
        return
    state["files_named"] = True
    for unit in state["units"]:
        name = unit.get("source")
        file_name = files.get(name) if isinstance(name, str) else None
        if file_name and file_name != name and unit["where"].startswith(f"{name}, "):
            unit["where"] = f"{file_name}, {unit['where'][len(name) + 2 :]}"


def guided_answer(
    state: dict[str, Any], query: str, ask: Callable[[list[str]], list[str]], *, reads: int = READS
) -> dict[str, Any]:
    """Count, or rank the units, read the best few with the sub-LM, verify, answer. Returns {"answer", "found",
    "kind" ("count", "answer", "evidence", "not_found", "error" when every sub-call failed, "budget" when a budget
    refused sub-calls and nothing verified: then "why" says which), "report"}, the report holding each phase's
    time. Where nothing verified (quotes, or NOT FOUND) and the question names a `Label: value` field word for
    word, that field's value is the answer (`labelled_value`; audit 87b v04: two readings had to agree on
    'QF7T2K' for "What is the booking reference?", and one paraphrased the label instead)."""
    found = _guided_answer(state, query, ask, reads=reads)
    if found["kind"] not in ("evidence", "not_found"):
        return found
    field = labelled_value(state, query)
    if field is None:
        return found
    value, unit = field
    report = [found["report"], f"the question names a field's label word for word: its value ({unit['where']})"]
    return _answered(f"{value}\nFrom {_quote(_at_span(state, unit, value))}", report)


def _guided_answer(
    state: dict[str, Any], query: str, ask: Callable[[list[str]], list[str]], *, reads: int = READS
) -> dict[str, Any]:
    started = time.perf_counter()
    report = []
    _name_files(state)
    item_state = checklist_item_state(state, query)
    if item_state is not None:  # "Is buy milk done?" over '- [x] buy milk'
        report.append("a yes/no question on a task-list item's state, settled by its [x] or [ ] mark")
        return {"answer": item_state, "found": True, "kind": "answer", "report": "\n".join(report)}
    parts = numbered_parts(state, query)
    if parts is not None and parts[0]:  # "How many numbered clauses does the license have?" (audit 88a v03)
        report.append("a count of the text's numbered parts, answered by code")
        return {"answer": parts[0], "found": True, "kind": "count", "report": "\n".join(report)}
    if parts is not None and parts[1]:  # numbered, but in no one run from 1: the parts are quoted for the user
        why = (
            "the numbered parts run in no one sequence from 1 of what is asked: a gap, a restart, several sources "
            "or a list under headings"
        )
        report.append(f"a count of the text's numbered parts: {why}; the numbered units are quoted")
        return _evidence(parts[1][:QUOTED_ROWS], report, why)
    looked_up = row_column_cell(state, query)
    if looked_up is not None:  # "How many away wins did Leeds United have?" over a table (audit 88r v08, v09)
        value, row = looked_up
        report.append(f"a row and a column the question names: their cell, read by code ({row['where']})")
        return _answered(f"{value}\nFrom [{row['where']}] {row['text']}", report)
    scored = side_score(state, query)
    if scored is not None:  # "How many goals did Everton score?" over 'Leeds 0 Everton 2' (audit 88r v07)
        return _line_answer(*scored, "one side's number on the one line of scores that names it", report)
    counted = count_answer(state, query)
    if counted is not None:
        report.append(f"counting question, answered by code ({time.perf_counter() - started:.3f} s)")
        return {
            "answer": counted,
            "found": not counted.startswith(NOT_FOUND),
            "kind": "count",
            "report": "\n".join(report),
        }
    column_counted = named_column_count(state, query)
    if column_counted is not None:  # "How many assignments are due?" over an "Assignment due" column (v09)
        report.append("counting the filled cells of the column the question names whole, answered by code")
        return {"answer": column_counted, "found": True, "kind": "count", "report": "\n".join(report)}
    extreme = field_extreme(state, query)
    if extreme is not None:  # "What is her highest ability score?" over a record of numbers (audit 87c v05)
        report.append("the greatest (least) field of a record of numbers, answered by code")
        return _answered(extreme, report)
    latest = latest_cell(state, query)
    if latest is not None:  # "What is the latest status?" over a dated log (audit 87c v05)
        report.append("a column's cell in the row of the latest (earliest) date, answered by code")
        return _answered(latest, report)
    finishers = finishers_count(state, query)
    if finishers is not None:  # "How many runners finished?" over a results table (audit 87c v05)
        report.append("counting the rows of a results table, answered by code")
        return {"answer": finishers, "found": True, "kind": "count", "report": "\n".join(report)}
    path_counted = path_count(state, query)
    if path_counted is not None:  # "How many weapons does she have?" over a JSON object's `weapons` (audit 87c v05)
        report.append("counting the records of a list the question's noun names, answered by code")
        return {"answer": path_counted, "found": True, "kind": "count", "report": "\n".join(report)}
    placing = placing_answer(state, query)
    if placing is not None:  # "Who won the race?" over a results table: its row placed 1 (audit 87c v05)
        answer, unit, why = placing
        report.append(f"a placing over a results table: {why}")
        return _answered(f"{answer}\nFrom [{unit['where']}] {unit['text']}", report)
    put_off = put_off_verdict(state, query)
    if put_off is not None:
        report.append(
            f"a yes/no question whose proposal the text says was put off or turned down ({put_off[1]['where']})"
        )
        return _answered(put_off[0], report)
    job_state = cron_job_state(state, query)
    if job_state is not None:
        return _line_answer(*job_state, "the question asks whether a crontab's job is active: its line", report)
    scheduled = schedule_count(state, query)
    if scheduled is not None:
        report.append("counting the lines of a schedule (a dose or a time each), answered by code")
        return {"answer": scheduled, "found": True, "kind": "count", "report": "\n".join(report)}
    aligned = aligned_rows_count(state, query)
    if aligned is not None:
        report.append("counting the rows of a whitespace-aligned table, answered by code")
        return {"answer": aligned, "found": True, "kind": "count", "report": "\n".join(report)}
    mails = thread_mail_count(state, query)
    if mails is not None:
        report.append("counting the mails of an e-mail text, answered by code")
        return {"answer": mails, "found": True, "kind": "count", "report": "\n".join(report)}
    compared = stated_value(state, query)
    if compared is not None and _deciding_slot(_YES_NO.sub("", query, count=1), _WORD.findall(compared[3])):
        compared = None  # "Did prices go up in March?" over "went down in March": the month is not what decides
    if compared is not None:  # "Did she score above 90?" over "88": the text's own value settles it (audit 84b F11)
        verdict, value, unit, quote = compared
        report.append(f"a yes/no question stating a value the text states for the same thing: {value!r}")
        return _answered(f"{verdict}\nFrom [{unit['where']}] {quote}\nThe text gives: {value}", report)
    itemised = listed_yes_no(state, query)
    if itemised is not None:  # "Are pets allowed?" over a bullet "No pets, sorry" (audit 86b F7)
        verdict, unit, said = itemised
        report.append(f"a yes/no question a short list item settles ({verdict.lower()}): {unit['where']}")
        return _answered(f"{verdict}\nFrom [{unit['where']}] {said}", report)
    lined = record_lines_count(state, query)
    if lined is not None:
        report.append("counting question over a short list of one record a line, answered by code")
        return {"answer": lined, "found": True, "kind": "count", "report": "\n".join(report)}
    uncounted = uncounted_superlative(state, query)
    if uncounted is not None:  # the stanzas or rows are there, but no count of theirs answers: quote them, never read
        why, places = uncounted
        report.append(f"a superlative the text's fields cannot count ({why}): the stanzas or rows are quoted")
        order = {place: i for i, place in enumerate(places)}  # in the order given: those that break the count first
        units = sorted(
            (u for u in state["units"] if (u["source"], u.get("line")) in order),
            key=lambda u: order[(u["source"], u.get("line"))],
        )
        if units:  # (else the gate below quotes the best units)
            return _evidence(units[:QUOTED_ROWS], report, why)
    by_verb = stated_by_verb(state, query)
    if by_verb is not None:
        return _line_answer(*by_verb, "one line states the number the question's verb asks", report)
    bylined = byline_answer(state, query)
    if bylined is not None:
        return _line_answer(
            *bylined, "the question asks who wrote the text, when, or its title: its byline says", report
        )
    titled_text = own_title(state, query)
    if titled_text is not None:
        return _line_answer(*titled_text, "the question asks the text's own title: its first line titles it", report)
    attendees = attendance_list(state, query)
    if attendees is not None:
        return _line_answer(*attendees, "one line lists who attended", report)
    author = author_line(state, query)
    if author is not None:
        return _line_answer(*author, "the text's header names its author", report)
    mailed = mail_header(state, query)
    if mailed is not None:
        return _line_answer(*mailed, "the text is an e-mail: its headers say who sent it and when", report)
    agent = passive_agent(state, query)
    if agent is not None:
        names, unit = agent
        report.append(f"one sentence says the question's thing was so done by someone: {unit['where']}")
        return _answered(f"{names}\nFrom {_quote(_at_span(state, unit, names.split(',')[0]), 300)}", report)
    instead = replacement(state, query)
    if instead is not None:
        value, unit = instead
        report.append(f"the question names a thing its entry says to replace: {unit['where']}")
        answer = f"{value}\nFrom {_quote(_at_span(state, unit, value))}"
        return _answered(answer, report)
    notes = substitute_notes(state, query)
    if notes:  # "What can I use instead of buttermilk?" over "No buttermilk? Stir lemon juice into milk ..."
        report.append("the question asks what replaces a thing: the notes that say what to do without it are quoted")
        return _evidence(notes[:reads], report, state=state)
    listed = keyed_list(state, query)
    if listed is not None:
        key, items, only = listed
        if not only:
            report.append("the question's noun is a key that holds a list; its other words may set a condition: quoted")
            return _evidence([key, *items][:QUOTED_ROWS], report)
        said = ", ".join(item["text"].lstrip()[2:].strip() for item in items)
        return _line_answer(said, key["text"].strip(), key["line"], "the question asks a key's list", report)
    flags = setting_flags(state, query)
    if len(flags) == 1:
        flag = flags[0][:3]
        return _line_answer(*flag, "the question asks whether a setting is on: its line sets it true or false", report)
    if len(flags) > 1 and len({section for *_, section in flags}) == len(flags):
        # 'debug: false' under app and 'debug: true' under dev: each section's own answer (review 84c v09)
        report.append(f"the question's setting is set in {len(flags)} sections: each one's answer")
        values = {value for value, *_ in flags}
        answer = (
            values.pop()  # the same in every section that sets it
            if len(values) == 1
            else "; ".join(f"{section or 'top level'}: {value}" for value, _, _, section in flags)
        )
        where = "; ".join(
            f"[line {number:,}] {line} (in {section or 'top level'})" for _, line, number, section in flags
        )
        return _answered(f"{answer}\nFrom {where}", report)
    sectioned = section_setting(state, query)
    if sectioned is not None:  # "Which image does the search service use?": `image:` under `search:` (audit 88b v02)
        return _line_answer(*sectioned, "the question names a setting's key and the section it is set in", report)
    setting = setting_value(state, query)
    if setting is not None:
        return _line_answer(*setting, "a configuration file's setting names what is asked", report)
    defaulted = python_default(state, query)
    if defaulted is not None:  # "What is the default of posix in split?": `def split(s, comments=False, posix=True)`
        return _line_answer(*defaulted, "the question asks a default: a keyword default or __init__ sets it", report)
    instruction = dockerfile_instruction(state, query)
    if isinstance(instruction, str):  # the USER of a build stage is not whom the container runs as
        report.append(f"the question names a Dockerfile instruction: {instruction}: NOT FOUND")
        return {"answer": NOT_FOUND, "found": False, "kind": "not_found", "report": "\n".join(report)}
    if instruction is not None:  # "Which port does the container expose?" over a Dockerfile's 'EXPOSE 8000'
        return _line_answer(*instruction, "the question names a Dockerfile instruction by what it does", report)
    options = option_entries(state, query)
    if options is not None:
        report.append(f"the question names {len(options)} option(s) of a manual: their entries answer it")
        answer = "; ".join(f"{head}: {said}" if said else head for head, said, _ in options)
        where = "; ".join(f"[line {number:,}] {head}" for head, _, number in options)
        return _answered(f"{answer}\nFrom {where}", report)
    documented = docstring_answer(state, query)
    if documented is not None:
        said, unit = documented
        report.append(f"the question asks what a named def does: its docstring's first sentence ({unit['where']})")
        answer = f"{said}\nFrom {_quote(unit, 200)}"
        return _answered(answer, report)
    chosen = which_option(state, query)
    if chosen is not None:
        head, said, number = chosen
        report.append("the question asks which option does what one manual entry's first sentence says")
        answer = f"{head}\nFrom [line {number:,}] {head}: {said}"
        return _answered(answer, report)
    titled = part_title(state, query)
    if titled is not None:
        title, heading, where = titled
        report.append(f"the question asks the title of a numbered part: its heading {heading!r} ({where})")
        return {
            "answer": f"{title}\nFrom [{where}] {heading}",
            "found": True,
            "kind": "answer",
            "report": "\n".join(report),
        }
    about = part_about(state, query)
    if about is not None:
        answer, heading, where = about
        report.append(f"the question asks which numbered part is about what its title names: {heading!r} ({where})")
        return _answered(f"{answer}\nFrom [{where}] {heading}", report)
    expanded = expansion(state, query)
    if expanded is not None:
        said, unit = expanded
        report.append(f"the question asks what an abbreviation stands for: the text says so ({unit['where']})")
        return _answered(f"{said}\nFrom {_quote(_at_span(state, unit, said))}", report)
    party = defined_party(state, query)
    if party is not None:
        name, unit = party
        report.append(f"the question asks who a party is: the name the text writes beside its role ({unit['where']})")
        return _answered(f"{name}\nFrom {_quote(_at_span(state, unit, name))}", report)
    terms = search_terms(query)
    thresholds = compared_numbers(query)
    if thresholds and len(thresholds & set(terms)) < len(terms):
        # "Is the rent above 1,500?": the number compared with need not be written; a text lacking it still answers
        terms = [t for t in terms if t not in thresholds]
        report.append(f"a yes/no question's threshold, which the text need not write: {sorted(thresholds)}")
    framing = frame_terms(query, terms, state["index"], own_kind_words(state))
    if framing and len(framing) < len(terms):
        terms = [t for t in terms if t not in framing]
        report.append(f"words that only frame the question, which the text need not write: {framing}")
    joined = joined_terms(query, terms, state["index"])
    if joined:
        terms = [t for t in dict.fromkeys(joined.get(t, t) for t in terms) if t]
        report.append(f"words the text writes as one identifier: {joined}")
    operators = [t for t in terms if t in _SUPERLATIVE_WORDS and not _written_in_some_form(state, t)]
    if operators and len(operators) < len(terms):
        # "Who has the best score?": the superlative picks among the units, no unit writes it (audit 88g v22)
        terms = [t for t in terms if t not in operators]
        report.append(f"superlatives that pick among the units, which the text never writes: {operators}")
    else:
        operators = []
    salient = salient_terms(query, terms)
    spelled = spelled_out(query, state["index"])
    if spelled:  # "the GPL" over a text that only writes "General Public License": that phrase is the term
        terms, salient = ([spelled.get(t, t) for t in words] for words in (terms, salient))
        report.append(f"abbreviations the text spells out: {spelled}")
    framed = column_words(state, terms)
    marked = row_cell_verdict(state, query)
    if marked is not None:  # "Was Owen Price late on Wednesday?": the row's cell, never the cell alone
        verdict, unit, said = marked
        report.append(f"a yes/no question one cell of a table of marks settles ({verdict.lower()}): {unit['where']}")
        return _answered(f"{verdict}\nFrom {_quote(unit)}\n(the row gives {said})", report)
    if (
        framed
        or any(shape == "records" for shape in state["shapes"])
        or _table_source(state) is not None
        or _prose_table(state) is not None
    ):
        # (a value verb, "What does et_EE map to?", is no column word of the comment but names no value either)
        if framed:
            report.append(f"column words, only in the record file's comments: {framed}")
        looked_up = keyed_cell(state, query)
        how = "the question names one row by a cell and one other column"
        if looked_up is None:
            looked_up = record_value(state, query, framed)
            how = "the question names one value of one record"
        if looked_up is not None:
            value, unit = looked_up
            report.append(f"{how}: {unit['where']}")
            cell_verdict = record_verdict(value, unit, query) if asks_yes_no(query) and value else None
            if not value:  # the asked column of its layout is empty in this record: "Does IPX have an alias?"
                report.append("the record leaves the asked column empty")
                said = "No" if asks_yes_no(query) else "none"
                return _answered(f"{said}\nFrom {_quote(unit)}\n(the record has no value in that column)", report)
            if (
                cell_verdict is None
                and _HAS_A.search(query)
                and (_row_layout(state, unit["source"]) is not None or _a_number_column(state, unit["source"]))
            ):
                cell_verdict = "Yes"  # "Does ARP have an alias?": its layout's column holds one
            if cell_verdict is not None:  # "Was Potato released in 2001?": the cell decides, and the answer says how
                report.append(f"a yes/no question the record's cell {value!r} settles: {cell_verdict}")
                return _answered(f"{cell_verdict}\nFrom {_quote(unit)}\n(the record gives {value})", report)
            return {
                "answer": f"{value}\nFrom {_quote(unit)}",
                "found": True,
                "kind": "answer",
                "report": "\n".join(report),
            }
        terms = [t for t in terms if t not in framed]
        salient = [t for t in salient if t not in framed]
        verbs = [t for t in terms if t.lower() in _VALUE_VERBS | _RECORD_FRAME]
        if verbs and len(verbs) < len(terms):  # "map", "stand for": no line holds them, none needs to
            terms = [t for t in terms if t not in verbs]
            salient = [t for t in salient if t not in verbs]
    subject = subject_term(query, terms, state["index"])
    if subject is not None and subject not in salient:
        salient = [*salient, subject]
    framing = framing_verb(query, terms)
    ranked = rank(state, terms, salient=salient, limit=30, framing=framing)  # the gate may pass over the first few
    scope = option_scope(state, query)
    if scope is not None:  # "Why is --wait recommended?": the answer is in the option's own entry, nowhere else
        report.append(f"the question asks about an option of a manual: only its entry is read {scope[:3]}")
        ends = _unit_ends(state)
        inside = [
            u for u in rank(state, terms, salient=salient, limit=len(state["units"])) if _in_scope(u, scope, ends)
        ]
        ranked = inside[:30]
    defined = definition_scope(state, query) if scope is None else None
    if defined is not None:
        # "When must set_tunnel be called?": its body answers, and only its first line names it, so inside it the
        # name is no longer asked of each unit; the question's other words rank the body's units
        scope, defined_names = defined
        report.append(f"the question names a definition in code: only its body is read {scope[:3]}")
        ends = _unit_ends(state)
        rest = [t for t in terms if t not in defined_names]
        salient = [t for t in salient if t not in defined_names]
        every = rank(state, rest or terms, salient=salient, limit=len(state["units"]))
        ranked = [u for u in every if _in_scope(u, scope, ends)][:30]
        terms = rest or terms
    searched = time.perf_counter()
    report.append(f"terms: {terms} (named: {salient}); phase search {searched - started:.3f} s")
    for unit in ranked[:5]:
        report.append(
            f"  cover {unit['cover']:.2f} named {unit['named']:.2f} bm25 {unit['bm25']:.2f} {_quote(unit, 160)}"
        )
    good = [u for u in ranked if matches_enough(u, bool(salient), is_foreign(query))]
    doer = [t for t in doer_verb(query, terms) if t not in framing and not state["index"].rows(t)]
    if not good and doer and scope is None and defined is None:
        # "Who gives the opening speech?": the verb after "who" weighs as framing only when the units fail without
        framing = [*framing, *doer]
        ranked = rank(state, terms, salient=salient, limit=30, framing=framing)
        good = [u for u in ranked if matches_enough(u, bool(salient), is_foreign(query))]
        report.append(f"the verb after 'who' {doer[0]!r} is written nowhere: it frames the question")
    if scope is not None and ranked and not good:
        good = ranked  # the entry the question names holds its answer if anything does: read it, or quote it
    halves = [u for u in ranked if u["named"] >= 0.3 and u["present"] >= MIN_COVER_NAMED]
    if _asks_two(query, salient) and halves and not unnamed_attribute(query, state["index"]):
        # "the ports of UDP and of UDP-Lite": one unit's one value would be half of it; each half may be its own unit
        report.append("the question asks about two named things: the best units are quoted, not read")
        return _evidence(halves[:reads], report, state=state, terms=terms)
    if _TWO_QUESTIONS.search(query) and good:
        # "What is the phrase for status 302, and what is its description?": one short answer would be half of it
        report.append("the question asks two questions: the best units are quoted, not read")
        return _evidence(good[:reads], report, state=state, terms=terms)
    unnamed = unnamed_attribute(query, state["index"], records=any(u.get("fields") for u in state["units"][:50]))
    if unnamed:
        report.append(f"the question asks for its {unnamed!r}, a thing the text never names: NOT FOUND")
        good = []
    asked_most = superlative(query)
    if not good and asked_most is not None and not unnamed:
        # "Which version added the most features?" over a table no field or column of which is read: the units
        # that hold what it asks about are quoted for the user to count; NOT FOUND would say the text lacks them
        near = [u for u in ranked if u["cover"] >= MIN_COVER_NAMED and (not salient or u["named"] >= NAMED_COVER)]
        asked = {stem(w) for part in asked_most[:2] for w in _WORD.findall(part.lower())}
        held = [u for u in near if asked & {stem(w) for w in _WORD.findall(u["text"].lower())}]
        if held:
            report.append("a superlative no field or column answers: the best units are quoted, not read")
            return _evidence(held[:reads], report, state=state, terms=terms)
    near = [] if good or unnamed else _near_misses(state, ranked, terms, salient, framing)
    if near:
        # "What is egrep equivalent to?" over "egrep ... are the same as grep -E": a synonym or a line break away;
        # NOT FOUND says the text lacks what the question names, and this unit names it
        report.append("the best units hold all the question's words but one (not its rarest): quoted, not read")
        # after the best ranked units above them: a near miss may hold only a generic word ("run" of `dry_run`,
        # "use" of "no longer used") while the first unit holds the rest (audit 88b v15-v17)
        lead = [u for u in ranked[:reads] if u["score"] > near[0]["score"] and u["named"] >= NAMED_COVER]
        return _evidence([*lead, *near][:reads], report, state=state, terms=terms)
    parts = None if good else numbered_parts(state, query, said=False)
    if parts is not None and parts[1]:
        # "How many clauses does the license have?" over clauses "1." to "10.": no word of it need be written, and
        # the numbered parts may be what it counts, or not (a list of steps is no section); quoted for the user
        report.append("a count of parts the text may number: its numbered units are quoted, not counted")
        return _evidence(parts[1][:QUOTED_ROWS], report, state=state, terms=terms)
    if not good:
        report.append("no unit holds enough of the question's weight (or all it names): NOT FOUND")
        return {"answer": NOT_FOUND, "found": False, "kind": "not_found", "report": "\n".join(report)}
    unwritten = [t for t in framing if not state["index"].rows(t) and not any(t in u["held"] for u in good[:reads])]
    unwritten = [t for t in unwritten if not any(_a_field_implies(t, u) for u in good[:reads])]
    # a verb the best unit says only by a field ("live" by `town`, "directed" by `director`): its cell answers
    own = {stem(w) for w in _WORD.findall(good[0]["text"])} if good else set()
    by_field = [t for t in terms if stem(t) not in own and _a_field_implies(t, good[0])] if good else []
    if unwritten:
        # "How many tents are we renting?" over "we are buying 3 tents": the verb may be the condition the question
        # sets; the units that hold the rest are shown for the user to judge, never read as its answer
        report.append(f"the question's verb {unwritten[0]!r} is written nowhere: the best units are quoted, not read")
        return _evidence(good[:reads], report, state=state, terms=terms)
    signed = _upload_of(state, good[0], query)
    if signed is not None:
        report.append(f"the question asks who made the upload of a change: its entry's trailer ({signed['where']})")
        answer = f"{signed['upload']['maintainer']}\nFrom {_quote(signed)}\nThe change: {_quote(good[0], 200)}"
        return _answered(answer, report)
    if asks_yes_no(query):
        # a yes/no question: a phrase the reader copies is no answer to it ("sed program was built" for "Is SELinux
        # enabled?"); only a sentence that states it, or its negation, in the question's words answers yes or no
        decided = row_mark_answer(state, query) or yes_no_answer(good[:reads], query, state["units"])
        if decided is not None:
            verdict, unit, sentence = decided
            report.append(f"a yes/no question one sentence states ({verdict.lower()}): {unit['where']}")
            return _answered(f"{verdict}\nFrom [{_at_span(state, unit, sentence[:60])['where']}] {sentence}", report)
        report.append("a yes/no question no sentence states in its words: the best units are quoted, not read")
        return _evidence(good[:reads], report, state=state, terms=terms)
    if _ASKS_PART_TITLE.search(query):
        # no heading carries that number: a sentence citing "(section 4)" near a quoted name does not title it
        report.append("the question asks the title of a numbered part no heading gives: the best units are quoted")
        return _evidence(good[:reads], report, state=state, terms=terms)
    if superlative(query) is not None and (stanzas(state) or "records" in state["shapes"]):
        # "which X has the most Y" over records: only a count answers it (count_answer found no field X names);
        # a phrase one record holds would be a confident guess
        report.append("a superlative over records no field or column of which names what is asked: quoted, not read")
        return _evidence(good[:reads], report, state=state, terms=terms)
    if operators:
        # the best units hold what the superlative compares, not which of them is greatest: quoted, never read
        report.append(f"a superlative {operators[0]!r} no rule compared: the best units are quoted, not read")
        return _evidence(good[:reads], report, state=state, terms=terms)
    # only the unit that matches best may give the answer, so only it is read
    read = [excerpt(good[0], terms)]
    # each unit is read twice, worded differently; an answer counts only when both readings agree (a small
    # reader's wrong guesses rarely repeat under another wording, its right answers do)
    prompts = list(dict.fromkeys(p for u in read for p in (reader_prompt(u, query), reader_prompt(u, query, 1))))
    replies = dict(zip(prompts, ask(prompts), strict=True))
    report.append(f"phase read {time.perf_counter() - searched:.3f} s ({len(prompts)} sub-calls)")
    cut = [p for p, r in replies.items() if REPLY_CUT_MARK in r]  # at a cap the caller set below the reader's own
    replies = {p: r.split(REPLY_CUT_MARK, 1)[0] for p, r in replies.items()}
    failed = [r for r in replies.values() if r.startswith("Error:")]
    refused = [r for r in failed if "budget" in r.lower()]  # a limit the caller set, not a broken reader
    if failed and len(failed) == len(replies) and not refused:  # the reader is broken: say so, never answer
        return {
            "answer": f"every sub-call failed: {failed[0][:300]}",
            "found": False,
            "kind": "error",
            "report": "\n".join(report),
        }
    for unit in read:
        reply, second = replies[reader_prompt(unit, query)], replies[reader_prompt(unit, query, 1)]
        span = verified_span(reply, unit, query, state["frequent"])
        check = verified_span(second, unit, query, state["frequent"])
        report.append(f"  read [{unit['where']}]: {reply.strip()[:100]!r} -> {span!r}")
        report.append(f"  read again: {second.strip()[:100]!r} -> {check!r}")
        if span is not None and check is not None:
            common = _agree(span, check, query)
            if common is None:
                report.append("  the two readings disagree: no short answer")
            elif common != span:
                report.append(f"  the part both readings give: {common!r}")
            span = common
        abbreviation = asked_abbreviation(query)
        if span is not None and abbreviation is not None and not _expands(span, abbreviation):
            # "What does tar stand for?": a word of the passage ("program") that does not spell it is no answer
            report.append(f"  {span!r} does not spell out {abbreviation!r}: no short answer")
            span = None
        cell = column_cell(state, unit, query) if span is not None and check is not None else None
        if cell is not None and span is not None and span.lower() not in cell.lower():
            # a record's other column (its key, "AD"): the column the question names answers, in the same row
            report.append(f"  the reading is not in the column the question asks for: that column's {cell!r}")
            span = cell
        if span is None and check is None:
            span = check = _relabelled_reading(reply, second, unit["text"], query)
            if span is not None:  # both readings gave one amount of the line that is another label's (v12 of 88r)
                report.append(f"  both readings are the amount of a label the question names less: {span!r}")
        labelled = _amount_of_the_asked_label(span, unit["text"], query) if span is not None and check else None
        if labelled is not None:
            # "Tue: High -1°C, Low -6°C": the reading is another label's amount of the line (audit 88g v19)
            report.append(f"  {span!r} is the amount of a label the question names less: {labelled or 'none'!r}")
            span = labelled or None
        if span is not None and check is not None and not a_value_of_the_asked_column(state, query, span):
            report.append(f"  {span!r} is no value of the column the question names: no short answer")
            span = None
        if span is not None and check is not None and _denied_by_a_newer_mail(state, unit, span, query):
            report.append(f"  a newer mail of the thread says {span!r} is no longer so, or denies it: no short answer")
            span = None
        for verb in by_field if span is not None and check is not None else []:
            # "Where does Leo live?" over `name,birthplace,town`: the town says "live", so only its cell answers;
            # the birthplace, an office or a previous address is another fact (review 84c v01)
            cells, said = _implied_cells(verb, good[0]), (span or "").lower()
            if not any(said in c.lower() or c.lower() in said for c in cells):
                report.append(f"  {span!r} is not in the field that says {verb!r}: no short answer")
                span = None
                break
        if span is not None and check is not None:
            others = [_quote(u, 200) for u in good[:reads] if u["row"] != unit["row"]]
            also = "\nAlso matching:\n" + "\n".join(others) if others else ""
            shown = _at_span(state, good[0], span)  # the sentence that holds it, at its own line
            answer = f"{span}\nFrom {_quote(unit if shown is good[0] else shown)}{also}"
            return _answered(answer, report)
    quoted = "\n".join(_quote(u, terms=terms) for u in good[:reads])
    if refused:  # the budget stopped the reading: the evidence is the best answer, and the run says why
        why = re.split(r"(?<=\w)\. ", refused[0].removeprefix("Error:").strip())[0][:300]  # not the advice to LMs
        report.append(f"the budget refused the reading: {why}")
        answer = (
            f"No short answer could be verified (the budget refused the reading). The best matching passages:\n{quoted}"
        )
        return {"answer": answer, "found": True, "kind": "budget", "report": "\n".join(report), "why": why}
    if cut:
        report.append(f"{len(cut)} of {len(replies)} readings were cut short at the output cap per call")
        why = "the readings were cut short at the output cap per call: raise --max-tokens-per-call "
        why += "(Budget.max_tokens_per_call)"
        return _evidence(good[:reads], report, why, state=state, terms=terms)
    return _evidence(good[:reads], report, state=state, terms=terms)
