"""Loaders for text formats: plain text, Markdown, HTML (visible text only), JSON, JSON Lines, CSV and TSV."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rlmx.documents import Document, not_text, plural, register
from rlmx.documents.text import NotText, decode_text
from rlmx.errors import InputError
from rlmx.sandbox.frames import MAX_NESTING, nesting_problem

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".log", ".text")


def decode(path: Path, raw: bytes) -> str:
    """The file's text (`text.decode_text`: UTF-8, or UTF-16/32 with a byte order mark). InputError naming the file
    and the first bad byte otherwise, or saying it holds NUL bytes."""
    try:
        return decode_text(raw)
    except NotText as exc:
        raise not_text(path, exc) from None


@register(*TEXT_SUFFIXES, text=True)
def load_text(path: Path, raw: bytes) -> Document:
    text = decode(path, raw)
    return Document(text, f"text, {plural(len(text), 'character')}")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice: JSON keeps one value without a word (RFC 8259 4: "unpredictable")."""
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise _DuplicateKey(key)
        value[key] = item
    return value


def _parsed(path: Path, text: str, where: str = "") -> Any:
    """`text` as JSON; InputError for invalid JSON, a key given twice in one object, an integer longer than
    Python reads (4,300 digits: a ValueError, not a JSONDecodeError), or nesting deeper than a context may have
    (`MAX_NESTING`; past the stack, json.loads itself raises RecursionError)."""
    try:
        value = json.loads(text, object_pairs_hook=_object)
    except RecursionError:
        raise _too_deep(path, where) from None
    except json.JSONDecodeError as exc:
        if where:
            raise InputError(f"context file {path}{where} is not valid JSON ({exc.msg})") from None
        raise InputError(f"context file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except _DuplicateKey as exc:
        raise InputError(
            f"context file {path}{where}: key {exc.key!r} appears twice in one object, and JSON would keep only one "
            "of its values; rename one of them"
        ) from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise InputError(f"context file {path}{where} holds a number rlmx cannot read: {str(exc)[:200]}") from None
    if nesting_problem(value) is not None:
        raise _too_deep(path, where)
    return value


def _too_deep(path: Path, where: str) -> InputError:
    return InputError(
        f"context file {path}{where} is JSON nested more than {MAX_NESTING} levels deep, more than a context may "
        "be; flatten it, or pass it as text (a .txt copy)"
    )


@register(".json", text=True)
def load_json(path: Path, raw: bytes) -> Document:
    text = decode(path, raw)
    try:
        value = _parsed(path, text)
    except InputError:
        if not _lines_are_json(text):
            raise
        records = _records(path, text)  # mongoexport, BigQuery and `jq -c` write JSON Lines under .json
        return Document(records, f"{plural(len(records), 'JSON Lines record')} (a .json file with one value a line)")
    return Document(value, f"JSON {_kind(value)}")


def _lines_are_json(text: str) -> bool:
    """Whether a text that is not one JSON value is JSON Lines, whatever its suffix: its first line is an object or
    array of its own and other lines follow, so the file cannot be one value (they would be "Extra data"). Read as
    records, a bad line is named by its number; whole, the error pointed at line 2 whichever line was bad."""
    lines = json_lines(text)
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0][1]), dict | list)
    except (ValueError, RecursionError):
        return False


@register(".jsonl", ".ndjson", text=True)
def load_jsonl(path: Path, raw: bytes) -> Document:
    records = _records(path, decode(path, raw))
    return Document(records, plural(len(records), "JSON Lines record"))


def _records(path: Path, text: str) -> list[Any]:
    return [_parsed(path, line, f": line {number}") for number, line in json_lines(text)]


def json_lines(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of a JSON Lines text, numbered from 1. Records end at "\n" only (a "\r" before it is JSON
    whitespace): str.splitlines() also breaks at U+2028, U+2029 and U+0085, which JSON allows raw inside a string.
    A file with no "\n" but "\r" has classic Mac OS line ends (no string holds a raw "\r": JSON escapes it). A BOM
    that begins a line is dropped: files joined with `cat`, each saved with one, put theirs mid-file."""
    lines = text.split("\n" if "\n" in text or "\r" not in text else "\r")
    numbered = ((number, line.lstrip("\ufeff")) for number, line in enumerate(lines, 1))
    return [(number, line) for number, line in numbered if line.strip()]


@register(".csv", ".tsv", text=True)
def load_csv(path: Path, raw: bytes) -> Document:
    whole = decode(path, raw)
    text, delimiter = _delimiter(whole, "\t" if path.suffix.lower() == ".tsv" else None)
    skipped = 1 if len(text) != len(whole) else 0  # Excel's `sep=` line, not in `text`: line numbers count it
    # strict: a quote left open (or a stray one after a closing quote) is an error, where the lenient reader took
    # the rest of the file into one cell and returned fewer rows without a word
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, strict=True, skipinitialspace=_spaced(text, delimiter)
    )
    record_line = 1
    try:
        header = next(reader, None)
        if not header:
            raise InputError(f"context file {path} has no header row; add one (CSV loads as a list of dicts)")
        fields = _unique(header)
        extra_key = _extra_key(fields)
        rows = []
        long_rows = 0
        while True:
            record_line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if cells:
                rows.append(_row(fields, cells, extra_key))
                long_rows += len(cells) > len(fields)
    except csv.Error as exc:
        raise InputError(_csv_error(path, exc, record_line + skipped, reader.line_num + skipped)) from None
    shown = "tab" if delimiter == "\t" else repr(delimiter)
    extra = f"; {plural(long_rows, 'row')} with more cells than the header (under the key {extra_key!r})"
    columns = _columns(fields) + (extra if long_rows else "")
    return Document(rows, f"{plural(len(rows), 'CSV row')} ({shown}-separated) with columns {columns}")


def _columns(fields: list[str], shown: int = 12) -> str:
    """The first `shown` column names for the shape line, a column with no name as '', then how many more."""
    names = ", ".join(name or "''" for name in fields[:shown])
    return names + (f", and {len(fields) - shown:,} more" if len(fields) > shown else "")


def _spaced(text: str, delimiter: str) -> bool:
    """Whether the separators are followed by spaces before a quoted field (`1, "Smith, John", Paris`, as people
    and some exports write CSV): then spaces after a separator are not part of the cell, as in Excel and pandas'
    `skipinitialspace`. Read as written, `"Smith` and ` John"` were two cells and every later column shifted."""
    return re.search(re.escape(delimiter) + r' +"', text) is not None


def _csv_error(path: Path, exc: csv.Error, start: int, end: int) -> str:
    """What is wrong in a CSV file, by the line its bad record starts on: an unclosed quote is reported by the
    reader only where the text runs out or a quote turns up in the wrong place, often many lines further on."""
    where = f"line {start}" if end <= start else f"the record that starts on line {start} (read up to line {end})"
    return (
        f"context file {path} is not valid CSV at {where}: {exc}; a quoted field must end with a straight double "
        'quote (") just before the separator or the line end (a stray quote, or a curly one typed to close it?)'
    )


_SEP_LINE = "sep="


_LINE_END = re.compile(r"\r\n|\r|\n")


def _delimiter(text: str, given: str | None) -> tuple[str, str]:
    """The text without Excel's `sep=;` first line, and the delimiter: that line's, the one a `.tsv` has, else the
    one of `,;\t|` that splits the header and the next lines into the same number of cells (csv.Sniffer), else ",".
    Excel in a locale with decimal commas writes `;`."""
    line_end = _LINE_END.search(text)  # any line end: Excel for Mac writes "\r" alone
    first, rest = (text[: line_end.start()], text[line_end.end() :]) if line_end else (text, "")
    if first.strip().lower().startswith(_SEP_LINE) and len(first.strip()) == len(_SEP_LINE) + 1:
        return rest, first.strip()[-1]
    if given is not None:
        return text, given
    try:
        return text, csv.Sniffer().sniff(text[: 64 * 1024], delimiters=",;\t|").delimiter
    except csv.Error:
        return text, ","


def _unique(header: list[str]) -> list[str]:
    """Column names, each once: a repeated name numbered (`Date`, `Date.1`) with the first number no column of the
    header has (`a,a,a.1` -> `a`, `a.2`, `a.1`), so a name the header gives keeps its column. A dict keeps one value
    a key: a numbered name the header also has (pandas renames the real one instead) lost a column's values."""
    taken = set(header)
    used: set[str] = set()
    tried: dict[str, int] = {}  # name -> the number to try next: those below are taken (a wide header's blanks)
    names: list[str] = []
    for name in header:
        if name in used:
            number = _free(name, taken, tried.get(name, 1))
            tried[name] = number + 1
            name = f"{name}.{number}"
            taken.add(name)
        used.add(name)
        names.append(name)
    return names


def _free(name: str, taken: set[str], start: int = 1) -> int:
    """The smallest N >= `start` for which `name.N` is not in `taken`."""
    return next(n for n in itertools.count(start) if f"{name}.{n}" not in taken)


def _extra_key(fields: list[str]) -> str:
    """The key a row's cells past the header go under: "" (a column with no name), numbered like a repeated name
    (`.1`) when the header has a column named "" (pandas' `to_csv()` writes its index that way), whose values the
    extra cells overwrote."""
    return f".{_free('', set(fields))}" if "" in fields else ""


def _row(fields: list[str], cells: list[str], extra: str) -> dict[str, Any]:
    """One record: `fields` -> cells, "" for a missing cell, the cells past the header as a list under `extra`."""
    row: dict[str, Any] = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(fields)}
    if len(cells) > len(fields):
        row[extra] = cells[len(fields) :]
    return row


class _TextOnly(HTMLParser):
    """The visible text of an HTML page: no tags, scripts, styles or templates; block elements end lines, a table
    row's cells are joined by " | " (as the DOCX loader writes them), so `<td>Alice</td><td>42</td>` is not read as
    "Alice42", and a list item starts with its bullet ("- ") or number ("1. "), so a list's items are told from the
    lines around it (audit 85 v07: "How many acts are in the line-up?")."""

    HIDDEN = frozenset(("script", "style", "template", "noscript", "title"))
    HEAD_CONTENT = frozenset(("title", "meta", "link", "base", "style", "script", "noscript", "template"))
    """What a `<head>` may hold: any other start tag begins the body, as it does in a browser (HTML lets a page
    leave out `</head>` and `<body>`), so an unclosed head never hides the page."""
    BLOCKS = frozenset(
        (
            *("p", "div", "br", "hr", "pre", "section", "article", "main", "nav", "header", "footer", "aside"),
            *("h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "blockquote", "address", "figure", "figcaption"),
            *("ul", "ol", "li", "dl", "dt", "dd", "menu", "dir", "select", "optgroup", "option", "datalist"),
            *("table", "caption", "thead", "tbody", "tfoot", "tr", "form", "fieldset", "legend", "details"),
            *("summary", "dialog", "center", "body"),
        )
    )
    CELLS = frozenset(("td", "th"))

    PREFORMATTED = frozenset(("pre", "textarea", "listing", "xmp"))
    """Elements whose text shows as written (HTML's `white-space: pre`): a code listing's indentation is its meaning."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []  # (text, shown as written)
        self.hidden = 0
        self.preformatted = 0
        self.in_head = False
        self.cells_in_row = 0
        self.lists: list[int] = []  # the open lists, innermost last: -1 for <ul>, the next item's number for <ol>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag not in self.HEAD_CONTENT:
            self.in_head = False
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append(("\n", False))
        if tag in ("ul", "ol", "menu"):
            self.lists.append(1 if tag == "ol" else -1)
        elif tag == "li" and self.lists and not self.hidden:
            # a list item shows its bullet or number, as a browser draws it: where a list ends is then written
            number = self.lists[-1]
            self.parts.append((f"{number}. " if number > 0 else "- ", False))
            self.lists[-1] += 1 if number > 0 else 0
        if tag == "tr":
            self.cells_in_row = 0
        elif tag in self.CELLS:
            self.parts.append((" | " if self.cells_in_row else " ", False))
            self.cells_in_row += 1
        if tag in self.PREFORMATTED:
            self.preformatted += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append(("\n", False))
        if tag in ("ul", "ol", "menu") and self.lists:
            self.lists.pop()
        if tag in self.PREFORMATTED:
            self.preformatted = max(self.preformatted - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.in_head and not self.hidden and data.strip():
            self.in_head = False  # text outside the head's elements begins the body
        if not self.hidden and not self.in_head:
            self.parts.append((data, self.preformatted > 0))

    def text(self) -> str:
        """The lines shown: runs of spaces in flowing text as one, preformatted text as written (less the newline
        that may open it, which HTML drops), blank lines left out."""
        lines: list[str] = []
        for as_written, parts in itertools.groupby(self.parts, key=lambda part: part[1]):
            text = "".join(data for data, _ in parts)
            if as_written:
                lines.extend(line.rstrip() for line in text.removeprefix("\n").splitlines())
            else:
                lines.extend(" ".join(line.split()) for line in text.splitlines())
        return "\n".join(line for line in lines if line.strip())


def visible_text(html: str) -> str:
    """The text an HTML page shows: no tags, scripts or styles; one line per block element."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return parser.text()


@register(".html", ".htm", ".xhtml", text=True)
def load_html(path: Path, raw: bytes) -> Document:
    text = visible_text(decode(path, raw))
    return Document(text, f"HTML text, {plural(len(text), 'character')}")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return f"list of {len(value):,} items"
    if isinstance(value, dict):
        return f"object with {len(value):,} keys"
    return type(value).__name__
