"""Code the guided root runs inside the REPL: probe, search by query terms, read windows, verify, answer.

Stdlib only and self-contained: GuidedRoot sends this file's source as a REPL cell, so it runs in the sandbox
like any model-written code (and shows in the trace as such). Functions take their REPL helpers as arguments,
so they can be tested on the host too.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours tell give find name named called please exactly text document
    context mentioned according say says said whose many much""".split()
)
NOT_FOUND = "NOT FOUND"
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")


def collect_text(variables: dict[str, Any]) -> str:
    """All context variables as one searchable text (lists and dicts one item per paragraph)."""
    parts: list[str] = []
    for name, value in variables.items():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            parts.extend(f"[{name}: {key}]\n{_as_text(item)}" for key, item in value.items())
        elif isinstance(value, list):
            parts.extend(_as_text(item) for item in value)
    return "\n\n".join(parts)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def search_terms(query: str) -> list[str]:
    """Content words and quoted phrases of the query, lower-cased, most specific first."""
    phrases = [p.lower() for p in re.findall(r"[\"“']([^\"”']{2,80})[\"”']", query)]
    words = [w.lower().strip("'") for w in _WORD.findall(query)]
    terms = [w for w in words if len(w) >= 3 and w not in STOPWORDS] or [w for w in words if w not in STOPWORDS]
    seen: dict[str, None] = {}
    for term in phrases + terms:
        seen.setdefault(term, None)
    return list(seen)


def find_windows(text: str, terms: list[str], *, window_chars: int, max_windows: int) -> list[dict[str, Any]]:
    """The text windows where the query's terms cluster, best first. Rare terms weigh more (idf-like)."""
    lowered = text.lower()
    positions: dict[str, list[int]] = {}
    for term in terms:
        found = [m.start() for m in re.finditer(re.escape(term), lowered)][:5000]
        if found:
            positions[term] = found
    if not positions:
        return []
    weight = {t: 1.0 + math.log(1.0 + len(text) / (1 + len(p) * 1000)) for t, p in positions.items()}
    before = window_chars // 3  # answers tend to follow the words that introduce them
    candidates: list[dict[str, Any]] = []
    for starts in positions.values():
        for start in starts:
            lo = max(start - before, 0)
            hi = min(lo + window_chars, len(text))
            window = lowered[lo:hi]
            hit = [t for t in positions if t in window]
            candidates.append({"start": lo, "end": hi, "score": sum(weight[t] for t in hit), "terms": hit})
    candidates.sort(key=lambda c: (-c["score"], c["start"]))
    chosen: list[dict[str, Any]] = []
    for candidate in candidates:
        if all(candidate["end"] <= c["start"] or candidate["start"] >= c["end"] for c in chosen):
            chosen.append(candidate)
        if len(chosen) == max_windows:
            break
    return [{**window, "text": text[window["start"] : window["end"]]} for window in chosen]


def reader_prompt(chunk: str, query: str) -> str:
    """Text first, question last: small models answer far better in this order."""
    return (
        "Read the following text and answer the question.\n\n"
        f"Text:\n{chunk}\n\n"
        f"Question: {query}\n"
        f"Answer briefly, using words from the text. If the text does not say, answer {NOT_FOUND}."
    )


def _stem(word: str) -> str:
    """A crude stem, so that 'departs' counts as the query's 'depart' and 'shipped' as 'ships'."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _contains_words(haystack: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `haystack` as whole words (not inside a longer word)."""
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", haystack) is not None


def verified_spans(reply: str, chunk: str, query: str, terms: list[str]) -> list[str]:
    """Phrases of the reply that occur verbatim in the chunk, in a sentence that mentions a query term.

    The small reader invents answers for chunks that lack the fact; a phrase it did not copy from the chunk,
    or copied from a sentence unrelated to the question, is dropped. Words of the question (and their simple
    inflections) are not answers.
    """
    if NOT_FOUND.lower() in reply.lower():
        return []
    query_stems = {_stem(w) for w in _WORD.findall(query)} | STOPWORDS
    words = _WORD.findall(reply)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", chunk.lower()) if any(t in s for t in terms)]

    def is_query_word(word: str) -> bool:
        return word.lower() in STOPWORDS or _stem(word) in query_stems or word.lower() in {"and", "or"}

    spans: list[str] = []
    start = 0
    while start < len(words):
        if is_query_word(words[start]):
            start += 1
            continue
        end = start + 1
        while end < len(words) and not is_query_word(words[end]):
            end += 1
        # Longest verbatim run starting here, trimmed until it occurs in a relevant sentence.
        for stop in range(end, start, -1):
            phrase = _phrase_in(reply, words[start:stop])
            if phrase and any(_contains_words(s, phrase.lower()) for s in sentences):
                spans.append(phrase)
                break
        start = end
    return spans


def _phrase_in(reply: str, words: list[str]) -> str | None:
    pattern = r"\W+".join(re.escape(w) for w in words)
    match = re.search(pattern, reply)
    return match.group(0) if match else None


def sentence_with_every_term(text: str, terms: list[str]) -> str | None:
    """The sentence that contains every query term, when exactly one does (an extractive fallback: precise
    because a decoy sentence rarely repeats all of the question's words)."""
    if len(terms) < 2:
        return None
    lowered = text.lower()
    found: set[str] = set()
    for match in re.finditer(re.escape(terms[0]), lowered):
        start = max(lowered.rfind(". ", 0, match.start()), lowered.rfind("\n", 0, match.start())) + 1
        ends = [i for i in (lowered.find(". ", match.end()), lowered.find("\n", match.end())) if i >= 0]
        end = min(ends) + 1 if ends else len(text)
        sentence = lowered[start:end]
        # a term may start a longer word ("depart" in "departs"), never sit inside one
        if all(re.search(rf"(?<![\w-]){re.escape(term)}", sentence) for term in terms):
            found.add(text[start:end].strip())
        if len(found) > 1:
            return None
    return found.pop() if found else None


def guided_answer(
    text: str,
    query: str,
    ask: Callable[[list[str]], list[str]],
    *,
    window_chars: int = 3000,
    max_windows: int = 4,
) -> dict[str, Any]:
    """Search, read the best windows with the sub-LM in one batch, keep verified answers, pick the best.

    When no reply survives verification, the best windows are read again, narrower (twice at most): a small
    reader often fails on a long passage (it copies the wrong sentence or repeats itself) and succeeds on the
    few sentences around the hit.
    """
    terms = search_terms(query)
    report = [f"terms: {terms}"]
    votes: Counter[str] = Counter()
    shown: dict[str, str] = {}
    passes = ((window_chars, max_windows), (max(window_chars // 4, 300), 2), (max(window_chars // 12, 200), 2))
    for size, limit in passes:
        windows = find_windows(text, terms, window_chars=size, max_windows=limit)
        report.append(f"windows: {len(windows)} of {size} chars")
        if not windows:
            break
        replies = ask([reader_prompt(w["text"], query) for w in windows])
        for rank, (window, reply) in enumerate(zip(windows, replies, strict=True)):
            spans = [] if reply.startswith("Error:") else verified_spans(reply, window["text"], query, terms)
            report.append(
                f"window {rank + 1} at {window['start']:,} (terms {window['terms']}): "
                f"reply {reply.strip()[:120]!r} -> verified {spans}"
            )
            for span in spans:
                key = span.lower()
                shown.setdefault(key, span)
                votes[key] += window["score"] * (1.0 + 1.0 / (1 + len(span.split())))
        if votes:
            break
    if not votes:
        sentence = sentence_with_every_term(text, terms)
        if sentence is None:
            return {"answer": NOT_FOUND, "found": False, "candidates": [], "report": "\n".join(report)}
        report.append("no reply verified: answering with the one sentence that holds every query term")
        return {"answer": sentence, "found": True, "candidates": [sentence], "report": "\n".join(report)}
    ranked = [shown[k] for k, _ in votes.most_common()]
    return {"answer": ranked[0], "found": True, "candidates": ranked, "report": "\n".join(report)}
