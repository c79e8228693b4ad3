"""An HTTP body's bytes as text, read the one way for every reply (a chat completion, an error, a refusal)."""

from __future__ import annotations

import re


def declared_charset(content_type: str) -> str | None:
    """The charset a Content-Type header declares (`application/json; charset=gbk`), lower-cased, or None."""
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1).lower() if match else None


def body_text(raw: bytes, content_type: str) -> str:
    """A body as text: UTF-8 (JSON's encoding, whatever a gateway declares: Java servers label UTF-8 bodies
    ISO-8859-1), else the declared charset when the bytes are valid in it (a GBK body stays readable, an error page
    of a Chinese or Japanese gateway too), else UTF-8 with U+FFFD for the bad bytes (the rest of the reply is still
    the reply)."""
    try:
        text = raw.decode("utf-8")  # C's own UTF-8 decoder; "utf-8-sig" is a Python codec, on every reply
    except UnicodeDecodeError:
        charset = declared_charset(content_type)  # read only when needed: the reply path is hot
    else:
        return text[1:] if text.startswith("\ufeff") else text  # a byte order mark, as "utf-8-sig" drops it
    if charset is not None:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("utf-8-sig", "replace")
