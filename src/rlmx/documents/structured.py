"""Loaders for text formats: plain text, Markdown, HTML (visible text only), JSON, JSON Lines, CSV and TSV."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rlmx.documents import Document, register
from rlmx.documents.text import NotText, decode_text
from rlmx.errors import InputError

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".log", ".text")


def decode(path: Path, raw: bytes) -> str:
    """The file's text (`text.decode_text`: UTF-8, or UTF-16/32 with a byte order mark). InputError naming the file
    and the first bad byte otherwise, or saying it holds NUL bytes."""
    try:
        return decode_text(raw)
    except NotText as exc:
        raise InputError(f"context file {path} is not UTF-8 text ({exc}); convert it to UTF-8 first") from None


@register(*TEXT_SUFFIXES)
def load_text(path: Path, raw: bytes) -> Document:
    text = decode(path, raw)
    return Document(text, f"text, {len(text):,} characters")


@register(".json")
def load_json(path: Path, raw: bytes) -> Document:
    try:
        value = json.loads(decode(path, raw))
    except json.JSONDecodeError as exc:
        raise InputError(f"context file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return Document(value, f"JSON {_kind(value)}")


@register(".jsonl", ".ndjson")
def load_jsonl(path: Path, raw: bytes) -> Document:
    records: list[Any] = []
    # Records end at "\n" only (a "\r" before it is JSON whitespace): str.splitlines() also breaks at U+2028,
    # U+2029 and U+0085, which JSON allows raw inside a string. A file with no "\n" but "\r" has classic Mac OS
    # line ends (no string holds a raw "\r": JSON escapes it).
    text = decode(path, raw)
    for number, line in enumerate(text.split("\n" if "\n" in text or "\r" not in text else "\r"), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"context file {path}: line {number} is not valid JSON ({exc.msg})") from None
    return Document(records, f"{len(records):,} JSON Lines records")


@register(".csv", ".tsv")
def load_csv(path: Path, raw: bytes) -> Document:
    text = decode(path, raw)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        fields = reader.fieldnames
        if not fields:
            raise InputError(f"context file {path} has no header row; add one (CSV loads as a list of dicts)")
        # Short rows get "" for the missing cells; extra cells land under "" (not None) so keys stay strings.
        rows = [{(k if k is not None else ""): _cell(v) for k, v in row.items()} for row in reader]
    except csv.Error as exc:
        raise InputError(f"context file {path} is not valid CSV: {exc}") from None
    return Document(rows, f"{len(rows):,} CSV rows with columns {', '.join(fields[:12])}")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value if isinstance(value, str) else [str(v) for v in value]


class _TextOnly(HTMLParser):
    """The visible text of an HTML page: no tags, scripts, styles or templates; block elements end lines."""

    HIDDEN = frozenset(("script", "style", "template", "noscript", "head"))
    BLOCKS = frozenset(
        ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table", "pre")
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def visible_text(html: str) -> str:
    """The text an HTML page shows: no tags, scripts or styles; one line per block element."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return parser.text()


@register(".html", ".htm", ".xhtml")
def load_html(path: Path, raw: bytes) -> Document:
    text = visible_text(decode(path, raw))
    return Document(text, f"HTML text, {len(text):,} characters")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return f"list of {len(value):,} items"
    if isinstance(value, dict):
        return f"object with {len(value):,} keys"
    return type(value).__name__
