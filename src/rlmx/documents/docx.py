"""DOCX (Word): the document's text as Word shows it, in order (python-docx; the `docx` extra).

Read from the body's XML rather than python-docx's `paragraphs` and `tables` lists, which hold neither a table's
place among the paragraphs, nor tracked insertions (`w:ins`), nor content controls (`w:sdt`), and which repeat a
merged cell at every grid position it spans (python-docx#40, #1123, #344).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rlmx.documents import Document, register
from rlmx.errors import InputError
from rlmx.extras import missing_extra

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The start of an OLE compound file: what Word's "Encrypt with Password" writes (MS-OFFCRYPTO), and .doc files."""


@register(".docx")
def load_docx(path: Path, raw: bytes) -> Document:
    """A str: paragraphs one per line (tracked insertions kept, deletions left out, content controls' text
    included), each table where it stands with its rows as cells joined by " | " (a merged cell once), and the
    footnotes at the end. InputError when python-docx is missing, the file is password-protected, or it is not a
    readable DOCX."""
    try:
        import docx
    except ImportError:
        raise InputError(f"context file {path} is a DOCX: " + missing_extra("reading it", "docx")) from None
    if raw.startswith(_OLE_MAGIC):
        raise InputError(
            f"context file {path} is a password-protected (encrypted) Word file, or an old binary .doc: remove the "
            "password in Word (File > Info > Protect Document > Encrypt with Password) or save it as .docx first"
        )
    try:
        document: Any = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # also python-docx's and lxml's own
        raise InputError(f"context file {path} is not a readable DOCX ({type(exc).__name__}: {exc})") from None
    lines = _blocks(document.element.body)
    notes = _footnotes(document)
    if notes:
        lines += ["", "Footnotes:", *notes]
    text = "\n".join(lines)
    paragraphs = len(document.element.body.findall(f"{_W}p"))
    extra = f", {len(notes)} footnotes" if notes else ""
    return Document(text, f"Word document, {paragraphs:,} paragraphs{extra}, {len(text):,} characters")


def _blocks(container: Any) -> list[str]:
    """The lines of a body, a cell or a content control, in document order."""
    lines: list[str] = []
    for element in container:
        if element.tag == f"{_W}p":
            lines += _paragraph(element)
        elif element.tag == f"{_W}tbl":
            lines += [" | ".join(_cell(cell) for cell in row.findall(f"{_W}tc")) for row in element.iter(f"{_W}tr")]
        elif element.tag == f"{_W}sdt":  # a content control (a form's field, a template's block)
            content = element.find(f"{_W}sdtContent")
            if content is not None:
                lines += _blocks(content)
    return lines


_MARKS = {f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}br": "\n", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}
"""Run elements that stand for one character (a non-breaking hyphen as the hyphen Word shows and saves as text; a
soft hyphen, `w:softHyphen`, shows only where a line breaks, so it is none)."""

_SYMBOL_FONT = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\"$'*-@\xa2\xa3\xa5\xab\xac\xad\xae\xaf\xb0\xb1\xb2"
        "\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xc4\xc5\xc7\xc8\xce\xcf\xd5\xd6\xd8\xd9\xda\xdb\xde\xe5\xf2",
        "ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖαβχδεφγηιϕκλμνοπθρστυϖωξψζ∀∃∋∗−≅′≤∞↔←↑→↓°±″≥×∝∂•÷≠≡≈…⊗⊕∩∪∈∉∏√¬∧∨⇔⇒∑∫",
        strict=True,
    )
)
"""The Symbol font's letters and signs that differ from ASCII (Adobe's Symbol encoding), by the character code
Word stores for them (`w:sym w:char="F0B4"`: U+F000 plus the font's code)."""


_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
"""The second copy of `mc:AlternateContent` (a text box as VML, for old readers): its first, `mc:Choice`, is read."""


def _paragraph(paragraph: Any) -> list[str]:
    """A paragraph's lines: its text, then each text box anchored in it (`w:txbxContent`), one line a paragraph."""
    parts: list[str] = []
    boxes: list[str] = []
    _runs(paragraph, parts, boxes)
    return ["".join(parts), *boxes]


def _runs(element: Any, parts: list[str], boxes: list[str]) -> None:
    """Add the text of `element`'s descendants as Word shows it with changes accepted to `parts`: every `w:t`
    (inserted runs too; deleted text is `w:delText`, left out), tabs, line breaks, non-breaking hyphens and symbols
    (`w:sym`). A text box's paragraphs go to `boxes`, its VML copy (`mc:Fallback`) is skipped: it is read once."""
    for node in element:
        if node.tag == _FALLBACK:
            continue
        if node.tag == f"{_W}txbxContent":
            boxes += _blocks(node)
        elif node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}sym":
            parts.append(_symbol(node.get(f"{_W}font", ""), node.get(f"{_W}char", "")))
        elif node.tag in _MARKS:
            parts.append(_MARKS[node.tag])
        else:
            _runs(node, parts, boxes)


def _symbol(font: str, char: str) -> str:
    """The character a `w:sym` shows: its code as Unicode, or in the private-use range (U+F000 plus a symbol font's
    own code) the Symbol font's letter or sign, ASCII as itself; U+FFFD for a pictograph font's (Wingdings) or a
    code that cannot be read, never nothing."""
    try:
        code = int(char, 16)
    except ValueError:
        return "\ufffd"
    if not 0xF000 <= code <= 0xF0FF:
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
    own = chr(code - 0xF000)
    if font.lower() != "symbol":
        return "\ufffd"
    return _SYMBOL_FONT.get(own, own if " " <= own <= "~" else "\ufffd")


def _cell(cell: Any) -> str:
    """A table cell's text on one line (its paragraphs joined by spaces; a nested table's rows too)."""
    return " ".join(line for line in _blocks(cell) if line.strip())


def _footnotes(document: Any) -> list[str]:
    """The footnotes' text, numbered as Word numbers them (its separators, ids -1 and 0, left out)."""
    for relation in document.part.rels.values():
        if relation.reltype.endswith("/footnotes") and not relation.is_external:
            from docx.oxml import parse_xml

            root = parse_xml(relation.target_part.blob)
            notes = [n for n in root.findall(f"{_W}footnote") if int(n.get(f"{_W}id", "0")) > 0]
            return [f"[{number}] {' '.join(_blocks(note)).strip()}" for number, note in enumerate(notes, 1)]
    return []
