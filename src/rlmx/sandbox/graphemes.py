"""Where text may be cut without splitting a character a reader sees as one (a grapheme cluster, Unicode UAX #29).

A clip that keeps a text's head and tail cuts it twice. Cut between a letter and its combining accent, the reader
is shown an "e" that was an "é" and a tail that starts with a bare accent; cut inside a run of flags (pairs of
regional indicators), every flag after the cut pairs the wrong letters (🇺🇸🇺🇸 cut after its first letter reads 🇸🇺);
cut after an emoji's zero-width joiner, half a family is shown. These helpers move a cut to the nearest boundary
by the rules that matter there: no break before a combining mark, a zero-width joiner, a variation selector, an
emoji modifier or tag, or a Hangul vowel or final jamo; none after a zero-width joiner or inside CR LF; regional
indicators pair from the start of their run. Standard library only: the sandbox's worker loads this file too.
"""

from __future__ import annotations

import unicodedata

_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    """Whether `char` belongs to the character before it (Grapheme_Cluster_Break Extend, ZWJ, SpacingMark, V, T)."""
    code = ord(char)
    if code < 0x300:
        return False
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (text or emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tags (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1160 <= code <= 0x11FF  # Hangul jamo vowels and finals (a syllable written in NFD)
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def is_boundary(text: str, index: int, *, whole: bool = True) -> bool:
    """Whether `text` may be cut before `text[index]` without splitting a grapheme cluster. `whole`: `text` starts
    where the text does; a piece that starts somewhere inside it (the kept tail of a longer output) pairs a run of
    regional indicators from the run's end instead, as flags written whole end on a whole flag."""
    if index <= 0 or index >= len(text):
        return True
    before, char = text[index - 1], text[index]
    if (before == "\r" and char == "\n") or before == _ZWJ or _extends(char):
        return False
    if _regional(before) and _regional(char):
        if whole:
            start = index - 1
            while start > 0 and _regional(text[start - 1]):
                start -= 1
            return (index - start) % 2 == 0  # an even number of indicators before: a whole flag ends here
        end = index + 1
        while end < len(text) and _regional(text[end]):
            end += 1
        return (end - index) % 2 == 0
    return True


def boundary_before(text: str, index: int, *, whole: bool = True) -> int:
    """The last place at or before `index` where `text` may be cut (for the end of a kept head)."""
    index = max(0, min(index, len(text)))
    while not is_boundary(text, index, whole=whole):
        index -= 1
    return index


def boundary_after(text: str, index: int, *, whole: bool = True) -> int:
    """The first place at or after `index` where `text` may be cut (for the start of a kept tail)."""
    index = max(0, min(index, len(text)))
    while not is_boundary(text, index, whole=whole):
        index += 1
    return index


def head(text: str, limit: int) -> str:
    """The start of `text`, at most `limit` code points, ending on a whole character (for a shortened line)."""
    return text if len(text) <= limit else text[: boundary_before(text, limit)]


def tail(text: str, limit: int) -> str:
    """The end of `text`, at most `limit` code points, starting on a whole character. Flags pair from their run's
    end (`whole=False`): the text may itself be the kept tail of a longer one, and walking back to a run's start
    could cross all of it."""
    return text if len(text) <= limit else text[boundary_after(text, len(text) - limit, whole=False) :]
