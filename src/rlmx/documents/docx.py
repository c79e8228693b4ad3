"""DOCX (Word): the document's text as Word shows it, in order (python-docx; the `docx` extra).

Read from the body's XML rather than python-docx's `paragraphs` and `tables` lists, which hold neither a table's
place among the paragraphs, nor tracked insertions (`w:ins`), nor content controls (`w:sdt`), and which repeat a
merged cell at every grid position it spans (python-docx#40, #1123, #344).
"""

from __future__ import annotations

import email
import io
import zipfile
import zlib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from rlmx.documents import LIMIT_ADVICE, TEXT_LEFT, Document, plural, register, text_over_limit, unreadable
from rlmx.documents.structured import decode, visible_text
from rlmx.errors import InputError
from rlmx.extras import missing_extra

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The start of an OLE compound file: what Word's "Encrypt with Password" writes (MS-OFFCRYPTO), and .doc files."""


@register(".docx")
def load_docx(path: Path, raw: bytes) -> Document:
    """A str: paragraphs one per line (tracked insertions kept, deletions and hidden text left out, content
    controls' text included), each table where it stands with its rows as cells joined by " | " (a merged cell
    once), a table and a heading each set apart by a blank line before and after, as a text reader's units expect;
    the footnotes and endnotes at the end; the page header's text first under "Header:", the footer's last under
    "Footer:" (`_margins`). InputError when python-docx is missing, the file is password-protected, or it is not a
    readable DOCX (damaged, truncated, or not a Word file: `_not_readable`)."""
    try:
        import docx
    except ImportError:
        raise InputError(f"context file {path} is a DOCX: " + missing_extra("reading it", "docx")) from None
    if raw.startswith(_OLE_MAGIC):
        raise InputError(
            f"context file {path} is a password-protected (encrypted) Word file, or an old binary .doc: remove the "
            "password in Word (File > Info > Protect Document > Encrypt with Password) or save it as .docx first"
        )
    _check_unpacked(path, raw)
    try:
        document: Any = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # also python-docx's and lxml's own
        raise _not_readable(path, raw, exc) from None
    styles = _Styles(document)
    token = _HIDDEN_STYLES.set(styles.hidden)
    try:
        return _text(path, document, styles.headings)
    finally:
        _HIDDEN_STYLES.reset(token)


def _text(path: Path, document: Any, headings: frozenset[str]) -> Document:
    """The opened document's text and shape (see `load_docx`); `headings`: the ids of its heading styles."""
    chunks = _Chunks(path, document.part)
    headers, footers = (_margins(document, story) for story in ("header", "footer"))
    lines: list[str] = [line for block in headers for line in (*block, "")]
    used = sum(map(len, lines)) + len(lines)
    apart = False  # the block before is a table or a heading: what follows starts after a blank line
    for number, element in enumerate(document.element.body, 1):  # refused as soon as the text passes the limit
        block = _blocks((element,), chunks)
        own = _set_apart(element, headings)
        if (own or apart) and block and block[0].strip() and lines and lines[-1].strip():
            block.insert(0, "")
        if block:  # a paragraph left out whole (hidden) keeps the gap owed
            apart = own
        lines += block
        used += sum(map(len, block)) + len(block)  # characters: never more than the UTF-8 bytes they take
        over = text_over_limit(path, used, f"block {number:,} of the body")
        if over is not None:
            raise over
    extras = []
    for kind in ("footnote", "endnote"):
        notes = _notes(document, kind)
        if notes:
            lines += ["", f"{kind.capitalize()}s:", *notes]
            extras.append(f", {plural(len(notes), kind)}")
    lines += [line for block in footers for line in ("", *block)]
    extras += [f", {plural(len(found), story)}" for story, found in (("header", headers), ("footer", footers)) if found]
    text = "\n".join(lines)
    paragraphs = plural(len(document.element.body.findall(f"{_W}p")), "paragraph")
    return Document(text, f"Word document, {paragraphs}{''.join(extras)}, {plural(len(text), 'character')}")


def _not_readable(path: Path, raw: bytes, error: Exception) -> InputError:
    """What is wrong with a file python-docx could not open, and what to do: a .docx is a zip archive, so one that
    does not start as one is another kind of file (or its start is lost); a zip cut short or with a broken member is
    damaged (a download or copy cut off); a whole zip python-docx still refuses is damaged or not a Word document."""
    if not raw.startswith(b"PK"):
        return unreadable(
            path,
            "not a readable DOCX: it does not start as a .docx (a zip archive) does, so it is another kind of file, "
            "or damaged",
            error,
            "if it is another kind of file, name it by its own suffix; if it is a Word file, open it in Word and save "
            "it as .docx again, or download it again",
        )
    if isinstance(error, (zipfile.BadZipFile, zlib.error, EOFError)):
        return unreadable(path, "not a readable DOCX: damaged or truncated", error)
    return unreadable(path, "not a readable DOCX: damaged, or a zip archive that is not a Word document", error)


_TITLES = ("title", "subtitle")
"""Word's built-in names (`w:name`, English whatever the language Word runs in) of the styles that head a document;
its headings are "heading 1" to "heading 9"."""


class _Styles:
    """What a document's styles say about the text: which paragraph styles are headings (a built-in heading, title
    or subtitle, or one with an outline level, `w:outlineLvl` 0 to 8, as Word's navigation pane lists them), and
    which styles hide their text (Font > Hidden, `w:vanish`). By id, as paragraphs and runs name them: an id is in
    the language Word ran in (`berschrift1`), a built-in name is not. A style has what it sets itself, else what the
    style it is based on (`w:basedOn`) has."""

    def __init__(self, document: Any) -> None:
        self._by_id = {
            style.get(f"{_W}styleId") or "": style for style in document.styles.element.findall(f"{_W}style")
        }
        self.headings = frozenset(
            style_id
            for style_id, style in self._by_id.items()
            if style.get(f"{_W}type") == "paragraph"
            and (_named_heading(style) or _outline(self._inherited(style_id, f"{_W}pPr/{_W}outlineLvl")))
        )
        self.hidden = frozenset(
            style_id for style_id in self._by_id if _on(self._inherited(style_id, f"{_W}rPr/{_W}vanish"))
        )

    def _inherited(self, style_id: str, path: str) -> Any:
        """The `path` element a style sets, itself or through the styles it is based on; None when none does."""
        seen: set[str] = set()
        while style_id not in seen and (style := self._by_id.get(style_id)) is not None:
            found = style.find(path)
            if found is not None:
                return found
            seen.add(style_id)
            based = style.find(f"{_W}basedOn")
            style_id = "" if based is None else based.get(f"{_W}val") or ""
        return None


_NO_STYLES: frozenset[str] = frozenset()
_HIDDEN_STYLES: ContextVar[frozenset[str]] = ContextVar("rlmx_docx_hidden_styles", default=_NO_STYLES)
"""The ids of the styles that hide their text in the document `load_docx` is reading (`_Styles.hidden`)."""


def _named_heading(style: Any) -> bool:
    """Whether a style is one of Word's built-in headings or titles, by its name (`_TITLES`)."""
    name = style.find(f"{_W}name")
    named = "" if name is None else (name.get(f"{_W}val") or "").lower()
    return named in _TITLES or (named.startswith("heading ") and named[8:].isdigit())


def _outline(level: Any) -> bool:
    """Whether an `w:outlineLvl` (or None) makes a heading: levels 0 to 8 do, 9 is body text."""
    try:
        return level is not None and 0 <= int(level.get(f"{_W}val", "9")) <= 8
    except ValueError:
        return False


def _on(toggle: Any) -> bool:
    """Whether an on/off property (`w:vanish`, or None for one not set) is on: set without a value, or to true."""
    return toggle is not None and toggle.get(f"{_W}val", "true").lower() not in ("false", "0", "off")


def _set_apart(element: Any, headings: frozenset[str]) -> bool:
    """Whether a body element is a block of its own, with a blank line before and after it: a table (a block of
    rows, not lines of the paragraphs around it: a text reader takes a run of lines for one paragraph), a heading
    (`headings`: its style's id, or its own outline level), and a content control or tracked change that holds a
    table."""
    if element.tag == f"{_W}tbl":
        return True
    if element.tag == f"{_W}p":
        level = element.find(f"{_W}pPr/{_W}outlineLvl")
        if level is not None:  # set on the paragraph itself: it overrides its style's
            return _outline(level)
        return _style_of(element, "pPr", "pStyle") in headings
    return element.find(f".//{_W}tbl") is not None


def _style_of(element: Any, properties: str, tag: str) -> str | None:
    """The style id a paragraph (`pPr`, `pStyle`) or a run (`rPr`, `rStyle`) names, or None."""
    style = element.find(f"{_W}{properties}/{_W}{tag}")
    return None if style is None else style.get(f"{_W}val")


_MARGIN_KINDS = (("default", ""), ("first", "first-page "), ("even", "even-page "))
"""A section's header and footer kinds (`w:headerReference w:type`) and their labels' first words."""


def _margins(document: Any, story: str) -> list[list[str]]:
    """The headers or footers (`story`) Word shows on the pages, each as its label ("Header:", "First-page footer
    (section 2):", the section named where a later one has its own) and its non-blank lines; the same text once.
    A section without its own shows the previous section's (python-docx's `is_linked_to_previous`); a first-page
    one shows only where the section asks for it (`w:titlePg`), an even-page one only where the settings do
    (`w:evenAndOddHeaders`)."""
    in_force: dict[str, Any] = {}  # kind -> the part a section without its own inherits
    found: dict[tuple[str, ...], tuple[str, int]] = {}  # text -> (label's first words, section) where first shown
    even_pages = document.settings.odd_and_even_pages_header_footer
    for number, section in enumerate(document.sections, 1):
        for reference in section._sectPr.findall(f"{_W}{story}Reference"):  # python-docx has no read-only getter
            part = document.part.related_parts.get(reference.get(f"{_R}id", ""))
            if part is not None:
                in_force[reference.get(f"{_W}type", "default")] = part
        shown = {
            "default": True,
            "first": section.different_first_page_header_footer,
            "even": even_pages,
        }
        for kind, words in _MARGIN_KINDS:
            if shown[kind]:
                found.setdefault(tuple(_margin_text(in_force.get(kind))), (words, number))
    found.pop((), None)
    sections = any(number > 1 for _, number in found.values())
    return [
        [f"{words}{story}{f' (section {number})' if sections else ''}:".capitalize(), *text]
        for text, (words, number) in found.items()
    ]


def _margin_text(part: Any) -> list[str]:
    """A header or footer part's non-blank lines; none for no part, or one that is not XML (a damaged file's)."""
    element = getattr(part, "element", None)
    return [] if element is None else [line for line in _blocks(element) if line.strip()]


_UNPACKED_PER_TEXT_BYTE = 64
"""How many bytes a DOCX's parts may unpack to per context byte left: Word's XML takes some 5 to 30 bytes a
character of text (run properties, revision ids); past 64 it cannot fit in what is left, or it is a zip bomb."""
_MAX_UNPACKED = 512 * 1024 * 1024
"""The most a DOCX's parts may unpack to whatever the limit: python-docx holds every part in memory and lxml's
tree takes several times the XML (a 150 MB document.xml took 1 GB and 20 s), and Word saves no bigger file."""


def _check_unpacked(path: Path, raw: bytes) -> None:
    """Refuse, before anything is unpacked, a DOCX whose parts unpack (by the sizes its zip directory declares,
    which zipfile never reads past) to more than its text could use: `_UNPACKED_PER_TEXT_BYTE` times the context
    bytes left (`TEXT_LEFT`), and at most `_MAX_UNPACKED`. A damaged zip is left to python-docx's own message."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            unpacked = sum(member.file_size for member in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    left = TEXT_LEFT.get()
    bound = _MAX_UNPACKED if left is None else min(_MAX_UNPACKED, max(left, 1) * _UNPACKED_PER_TEXT_BYTE)
    if unpacked > bound:
        why = (
            f"{_UNPACKED_PER_TEXT_BYTE} times the {left:,} context bytes left for this call"
            if bound < _MAX_UNPACKED and left is not None
            else f"the {_MAX_UNPACKED // 2**20} MiB rlmx unpacks from one DOCX"
        )
        raise InputError(
            f"context file {path} unpacks to {unpacked:,} bytes of XML and parts, more than {bound:,} ({why}): too "
            f"much text for the limit, or a zip bomb; {LIMIT_ADVICE.get()}"
        )


class _Chunks:
    """The text of a body's `w:altChunk`s: content Word keeps in another format (HTML from html-docx-js, CMS and
    mail-merge exports; MHT; plain text) and converts only when it opens the file. Read through rlmx's HTML loader
    where it can be; InputError for another format, never an empty document without a word."""

    def __init__(self, path: Path, part: Any) -> None:
        self.path = path
        self.part = part

    def lines(self, chunk: Any) -> list[str]:
        target = self.part.rels.get(chunk.get(f"{_R}id", ""))
        if target is None or target.is_external:
            raise InputError(f"context file {self.path} has an embedded chunk (w:altChunk) whose part is missing")
        kind, blob = target.target_part.content_type, target.target_part.blob
        if kind == "message/rfc822" or kind.startswith("multipart/"):
            kind, blob = _mime_html(blob)
        if kind in ("text/html", "application/xhtml+xml"):
            return visible_text(decode(self.path, blob)).splitlines()
        if kind == "text/plain":
            return decode(self.path, blob).splitlines()
        raise InputError(
            f"context file {self.path} holds its content as an embedded {kind} chunk (w:altChunk) that Word converts "
            "when it opens the file; open it in Word and save it again, or convert it to text first"
        )


def _mime_html(blob: bytes) -> tuple[str, bytes]:
    """The HTML part of an MHT (MIME) chunk, as UTF-8, with its content type; the whole chunk's when none is."""
    message = email.message_from_bytes(blob)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            text = (
                payload.decode(part.get_content_charset() or "utf-8", "replace") if isinstance(payload, bytes) else ""
            )
            return "text/html", text.encode("utf-8")
    return message.get_content_type(), blob


def _blocks(container: Any, chunks: _Chunks | None = None) -> list[str]:
    """The lines of a body, a cell or a content control, in document order. Tracked block-level changes as Word
    shows them accepted: insertions and moves' destinations read, deletions and moves' sources left out."""
    lines: list[str] = []
    for element in container:
        if element.tag == f"{_W}p":
            lines += _paragraph(element)
        elif element.tag == f"{_W}tbl":
            rows = _own(element, f"{_W}tr")
            lines += [" | ".join(_cell(cell, chunks) for cell in _own(row, f"{_W}tc")) for row in rows]
        elif element.tag == f"{_W}sdt":  # a content control (a form's field, a template's block)
            content = element.find(f"{_W}sdtContent")
            if content is not None:
                lines += _blocks(content, chunks)
        elif element.tag in _BLOCK_WRAPPERS:
            lines += _blocks(element, chunks)
        elif element.tag == f"{_W}altChunk" and chunks is not None:
            lines += chunks.lines(element)
    return lines


_BLOCK_WRAPPERS = frozenset((f"{_W}ins", f"{_W}moveTo", f"{_W}customXml"))
"""Elements that hold paragraphs and tables of their own: a tracked insertion or move's destination, custom XML."""


def _own(parent: Any, tag: str) -> list[Any]:
    """A table's own rows or a row's own cells (`tag`): its children of that kind, and those inside custom XML and
    content controls, never a nested table's (they are read in their cell). A row Word tracks as deleted
    (`w:trPr/w:del`) is left out, as Word shows it with changes accepted."""
    found: list[Any] = []
    for child in parent:
        if child.tag == tag:
            if child.find(f"{_W}trPr/{_W}del") is None:
                found.append(child)
        elif child.tag == f"{_W}customXml":
            found += _own(child, tag)
        elif child.tag == f"{_W}sdt" and (content := child.find(f"{_W}sdtContent")) is not None:
            found += _own(content, tag)
    return found


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

_NOT_SHOWN = frozenset((_FALLBACK, f"{_W}moveFrom", f"{_W}del"))
"""What Word does not show with changes accepted: `mc:Fallback` (above), and a tracked move's source (`w:moveFrom`:
its text is `w:t`, read a second time at the move's destination, `w:moveTo`) and a deletion."""


def _paragraph(paragraph: Any) -> list[str]:
    """A paragraph's lines: its text, then each text box anchored in it (`w:txbxContent`), one line a paragraph. A
    paragraph whose text is all hidden and whose mark is hidden too (`w:pPr/w:rPr/w:vanish`) is not there at all,
    as in Word; with its mark shown it is an empty line."""
    parts: list[str] = []
    boxes: list[str] = []
    _runs(paragraph, parts, boxes, _style_of(paragraph, "pPr", "pStyle") in _HIDDEN_STYLES.get())
    text = "".join(parts)
    if not text and _on(paragraph.find(f"{_W}pPr/{_W}rPr/{_W}vanish")):
        return boxes
    return [text, *boxes]


def _runs(element: Any, parts: list[str], boxes: list[str], hidden: bool = False) -> None:
    """Add the text of `element`'s descendants as Word shows it with changes accepted to `parts`: every `w:t`
    (inserted runs too; deleted text is `w:delText`, left out), tabs, line breaks, non-breaking hyphens and symbols
    (`w:sym`). A text box's paragraphs go to `boxes`, its VML copy (`mc:Fallback`) is skipped: it is read once. A
    tracked move's source (`w:moveFrom`) is skipped like a deletion: its text is read at its destination. A hidden
    run (Font > Hidden: Word neither shows nor prints it) is skipped: `_hidden`, where `hidden` says whether the
    paragraph's style hides its runs."""
    for node in element:
        if node.tag in _NOT_SHOWN:
            continue
        if node.tag == f"{_W}r" and _hidden(node, hidden):
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
            _runs(node, parts, boxes, hidden)


def _hidden(run: Any, by_default: bool) -> bool:
    """Whether a run is hidden text: by its own formatting (`w:vanish`, or `w:specVanish`, hidden always), else when
    its character style or its paragraph's style (`by_default`) hides it."""
    properties = run.find(f"{_W}rPr")
    if properties is None:
        return by_default
    for tag in ("vanish", "specVanish"):
        toggle = properties.find(f"{_W}{tag}")
        if toggle is not None:  # set on the run itself: it overrides its styles'
            return _on(toggle)
    return by_default or _style_of(run, "rPr", "rStyle") in _HIDDEN_STYLES.get()


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


def _cell(cell: Any, chunks: _Chunks | None = None) -> str:
    """A table cell's text on one line (its paragraphs joined by spaces; a nested table's rows too)."""
    return " ".join(line for line in _blocks(cell, chunks) if line.strip())


def _notes(document: Any, kind: str) -> list[str]:
    """The footnotes' or endnotes' (`kind`) text, numbered as Word numbers them (its separators, ids -1 and 0, left
    out)."""
    for relation in document.part.rels.values():
        if relation.reltype.endswith(f"/{kind}s") and not relation.is_external:
            from docx.oxml import parse_xml

            root = parse_xml(relation.target_part.blob)
            notes = [n for n in root.findall(f"{_W}{kind}") if int(n.get(f"{_W}id", "0")) > 0]
            return [f"[{number}] {' '.join(_blocks(note)).strip()}" for number, note in enumerate(notes, 1)]
    return []
