"""Scorers, one per family, each a float in [0, 1] (BENCHMARKS.md 2.1-2.5, 3.a-3.e).

sniah: RULER string_match_all (gold in prediction, case-insensitive); `score_details` adds the strict variant
(exactly the gold among the 7-digit numbers / UUIDs of the prediction). oolong: OOLONG's
`synth_process_response` with the RLM repo's fallback, 0.75^|diff| for numbers. pairs: pair-set F1.
docs: exact-answer match after normalisation (the gold as whole words), no other world name allowed. codeqa:
multiple-choice accuracy on an explicit answer statement (LongBench-v2's `extract_answer`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from rlmx.bench.task import Task

_SEVEN = re.compile(r"(?<!\d)\d{7}(?!\d)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PAIR = re.compile(r"\(\s*[\"']?(\d+)[\"']?\s*,\s*[\"']?(\d+)[\"']?\s*\)")
_PAIR_LOOSE = re.compile(r"[\"']?(\d+)[\"']?\s*,\s*[\"']?(\d+)[\"']?")
"""A pair written `(a, b)`, else `a, b` anywhere; ids may be quoted (`["1", "2"]`, `('1', '2')`: JSON or a Python
list of str, as models print them)."""
_COMPARISONS = ("more common", "less common", "same frequency")
"""OOLONG's comparison phrases (`synth_process_response`); the gold holds one ("more common than")."""


def score(family: str, prediction: str, task: Task) -> float:
    """The task's score for `prediction` (any text) in [0, 1]."""
    return float(score_details(family, prediction, task)["score"])


def score_details(family: str, prediction: str, task: Task) -> dict[str, Any]:
    """{"score": float, ...family details (parsed answer, strict, precision/recall, exact_set)}."""
    prediction = prediction if isinstance(prediction, str) else str(prediction)
    if family == "sniah":
        return _sniah(prediction, str(task.answer))
    if family == "oolong":
        # OOLONG reports exact match beside the score: True only when OOLONG's parsed answer is the gold, never
        # for a point from the RLM port's fallback (the gold named anywhere in the reply)
        return _oolong(prediction, task.answer, task.answer_format)
    if family == "pairs":
        return _pairs(prediction, task.answer)
    if family == "docs":
        return _docs(prediction, str(task.answer), task.metadata.get("names", []))
    if family == "codeqa":
        return _choice(prediction, str(task.answer))
    raise ValueError(f"unknown family {family!r}")


def _sniah(prediction: str, gold: str) -> dict[str, Any]:
    loose = gold.lower() in prediction.lower()
    pattern = _UUID if _UUID.fullmatch(gold) else _SEVEN
    found = {m.lower() for m in pattern.findall(prediction)}
    return {"score": 1.0 if loose else 0.0, "strict": 1.0 if found == {gold.lower()} else 0.0, "found": sorted(found)}


def parse_oolong(prediction: str) -> str:
    """OOLONG's parse: the text after the last ':' without '*', '[' and ']'; with no ':', the whole output when
    it is under 20 characters, else its last word."""
    text = prediction.strip()
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    elif len(text) >= 20:
        text = text.split()[-1] if text.split() else ""
    return text.replace("*", "").replace("[", "").replace("]", "").strip().strip(".").strip()


def comparison_phrase(text: str) -> str | None:
    """The last of OOLONG's phrases "more common", "less common", "same frequency" in `text`, lower-cased, with
    the markup OOLONG's parse strips ('*', '[', ']') removed first, so "**more common** than" counts; else None.
    OOLONG's rule (eval_helpers.py): the parsed answer holds the phrase and the phrase is in the gold."""
    low = text.replace("*", "").replace("[", "").replace("]", "").lower()
    hits = [(low.rfind(p), p) for p in _COMPARISONS if p in low]
    return max(hits)[1] if hits else None


def _oolong(prediction: str, gold: Any, kind: str) -> dict[str, Any]:
    """{"score", "parsed", "exact"}; every fallback return (the answer read from the whole reply, not OOLONG's
    parse) has exact False."""
    parsed = parse_oolong(prediction)
    if kind == "comparison":
        said = comparison_phrase(parsed)
        if said is None:  # the RLM port's fallback: the phrase detected anywhere
            anywhere = comparison_phrase(prediction)
            named = anywhere is not None and anywhere in str(gold).lower()
            return {"score": 1.0 if named else 0.0, "parsed": anywhere, "exact": False}
        right = said in str(gold).lower()
        return {"score": 1.0 if right else 0.0, "parsed": said, "exact": right}
    if kind == "numeric":
        number = re.search(r"-?\d+", parsed.replace(",", ""))
        if number is None:  # the RLM port's fallback: the gold number standing alone anywhere in the output
            hit = re.search(rf"(?<![\d.]){int(gold)}(?![\d.])", prediction)
            return {"score": 1.0 if hit else 0.0, "parsed": None, "exact": False}
        value = int(number.group())
        return {"score": 0.75 ** abs(int(gold) - value), "parsed": value, "exact": value == int(gold)}
    if kind == "date":
        return _oolong_date(prediction, parsed, str(gold))
    if kind == "month_year":
        return _oolong_month(prediction, parsed, str(gold))
    gold_text = str(gold)
    if parsed.lower() == gold_text.lower():
        return {"score": 1.0, "parsed": parsed, "exact": True}
    fallback = re.search(rf"(?<![\w]){re.escape(gold_text)}(?![\w])", prediction, re.IGNORECASE)
    return {"score": 1.0 if fallback else 0.0, "parsed": parsed, "exact": False}


_MONTHS = {
    m: i + 1
    for i, name in enumerate(
        "january february march april may june july august september october november december".split()
    )
    for m in (name, name[:3], name[:4])
}
_SEP = r"[-/.]"
_YEAR = r"(\d{4}|\d{2})"
_NUMERIC_DATES = (
    # M/D/Y (OOLONG's MM/DD/YYYY; D/M past 12) with /, - or . and a 4- or 2-digit year: 02/07/2023, 02-07-23
    (re.compile(rf"(?<![\d.])(\d{{1,2}})({_SEP})(\d{{1,2}})\2{_YEAR}(?![\d])"), (4, 1, 3), True),
    # Y-M-D with -, / or .: 2023-02-07, 2023/02/07, 2023.02.07
    (re.compile(rf"(?<![\d.])(\d{{4}})({_SEP})(\d{{1,2}})\2(\d{{1,2}})(?![\d])"), (1, 3, 4), False),
    # YYYYMMDD: 20230207
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), (1, 2, 3), False),
)
"""(pattern, its (year, month, day) groups, whether a month past 12 is read as the day): dateutil swaps them only
in a month-first date; a year-first one with month 13 is no date to it."""
_MONTH = r"(?<![A-Za-z])([A-Za-z]{3,9})\.?(?![A-Za-z])"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_GAP = r"(?:,?[\s\-/.]+|,)"
_WORD_DATES = (
    (re.compile(rf"{_MONTH}{_GAP}{_DAY}{_GAP}{_YEAR}(?!\d)", re.IGNORECASE), (3, 1, 2)),  # Feb 7, 2023; Feb-07-23
    (re.compile(rf"(?<!\d){_DAY}{_GAP}(?:of\s+)?{_MONTH}{_GAP}{_YEAR}(?!\d)", re.IGNORECASE), (3, 2, 1)),  # 07-Feb-2023
    (re.compile(rf"(?<!\d)(\d{{4}}){_GAP}{_MONTH}{_GAP}{_DAY}(?!\d)", re.IGNORECASE), (1, 2, 3)),  # 2023-Feb-07
)
_PIVOT = 74
"""A two-digit year is 20YY below this, else 19YY: what dateutil's parser (which OOLONG's scorer uses) reads in
2024, fixed so that a score never depends on the day it is computed."""


def _year(text: str) -> int:
    value = int(text)
    if len(text) > 2:
        return value
    return 2000 + value if value < _PIVOT else 1900 + value


def parse_date(text: str) -> dt.date | None:
    """The first date in `text` in a form dateutil's parser (OOLONG's DATE scorer, BENCHMARKS.md 2.2) reads as
    dateutil reads it: month first, day first only when the first number is past 12 (02/07/2023, 02-07-23 and
    02.07.2023 are February 7; 13/02/2023 is February 13); year first (2023-02-07, 2023/02/07, 2023.02.07,
    20230207); a month name or its abbreviation ('Feb 7, 2023', 'February 7th 2023', '7 Feb 2023',
    '07-Feb-2023', '2023-Feb-07'). A two-digit year is 2000-2073 or 1974-1999. None when there is none."""
    found: list[tuple[int, dt.date]] = []
    for pattern, (y, m, d), swaps in _NUMERIC_DATES:
        for match in pattern.finditer(text):
            month, day = int(match[m]), int(match[d])
            if swaps and month > 12 >= day:  # 15/02/2023: no month 15, so day first, as dateutil reads it
                month, day = day, month
            with contextlib.suppress(ValueError):
                found.append((match.start(), dt.date(_year(match[y]), month, day)))
    for pattern, (y, m, d) in _WORD_DATES:
        for match in pattern.finditer(text):
            named = _MONTHS.get(match[m].lower())
            if named is not None:
                with contextlib.suppress(ValueError):
                    found.append((match.start(), dt.date(_year(match[y]), named, int(match[d]))))
    return min(found)[1] if found else None


def gold_date(text: str) -> dt.date | None:
    """A date gold as a date: ISO "YYYY-MM-DD", or OOLONG's raw "[datetime.date(Y, M, D)]" (what its scorer
    reads with strptime); None when it is neither or no real date (2023-02-30)."""
    raw = text.strip()
    match = re.fullmatch(r"\[?\s*datetime\.date\((\d{4}),\s*(\d{1,2}),\s*(\d{1,2})\)\s*\]?", raw)
    if match is None:
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw)
    try:
        return None if match is None else dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _oolong_date(prediction: str, parsed: str, gold: str) -> dict[str, Any]:
    want = gold_date(gold)
    got = parse_date(parsed)
    if got is None:  # OOLONG's parse keeps only the text after the last ':'; the RLM fallback reads it all
        dates = [parse_date(m.group()) for m in re.finditer(r"[^\n:;]+", prediction)]
        return {"score": 1.0 if want is not None and want in dates else 0.0, "parsed": None, "exact": False}
    right = want is not None and got == want
    return {"score": 1.0 if right else 0.0, "parsed": got.isoformat(), "exact": right}


def parse_month_year(text: str) -> tuple[int, int] | None:
    """(year, month) of the last 'March 2023' / 'Mar 2023' / '03/2023' / '2023-03' in `text`, else None."""
    found: list[tuple[int, tuple[int, int]]] = []
    for match in re.finditer(r"([A-Za-z]{3,9})\.?,?\s+(\d{4})", text):
        month = _MONTHS.get(match[1].lower())
        if month is not None:
            found.append((match.start(), (int(match[2]), month)))
    for match in re.finditer(r"(?<![\d/])(\d{1,2})/(\d{4})(?!\d)", text):
        if 1 <= int(match[1]) <= 12:
            found.append((match.start(), (int(match[2]), int(match[1]))))
    for match in re.finditer(r"(?<!\d)(\d{4})-(\d{1,2})(?![\d-])", text):
        if 1 <= int(match[2]) <= 12:
            found.append((match.start(), (int(match[1]), int(match[2]))))
    return max(found)[1] if found else None


def gold_month_year(text: str) -> tuple[int, int] | None:
    """A month_year gold as (year, month) when the whole text is one month ("March 2023", "Mar 2023", "03/2023",
    "2023-03"), else None ("Q1 2023", "sometime", "March 2023 or April 2023")."""
    raw = text.strip()
    found = parse_month_year(raw)
    forms = (r"([A-Za-z]{3,9})\.?,?\s+(\d{4})", r"(\d{1,2})/(\d{4})", r"(\d{4})-(\d{1,2})")
    return found if any(re.fullmatch(form, raw) for form in forms) else None


def _oolong_month(prediction: str, parsed: str, gold: str) -> dict[str, Any]:
    want = parse_month_year(gold)
    got = parse_month_year(parsed)
    if got is None:  # the fallback: the last month anywhere in the reply
        anywhere = parse_month_year(prediction)
        hit = anywhere is not None and anywhere == want
        return {"score": 1.0 if hit else 0.0, "parsed": anywhere, "exact": False}
    right = got == want
    return {"score": 1.0 if right else 0.0, "parsed": got, "exact": right}


def parse_pairs(prediction: str) -> set[tuple[int, int]]:
    """Pairs `(a, b)` anywhere in the text (else bare `a, b`), each as (min, max); duplicates collapse. A self-pair
    `(u, u)` is kept: no gold set holds one, so it counts as a false positive (BENCHMARKS.md 2.3's formula). Matches
    stream into the set (re.finditer), so a multi-megabyte answer is never held as a list of matches."""
    for pattern in (_PAIR, _PAIR_LOOSE):
        out = {(min(int(m[1]), int(m[2])), max(int(m[1]), int(m[2]))) for m in pattern.finditer(prediction)}
        if out:
            return out
    return set()


def _pairs(prediction: str, gold: list[list[int]]) -> dict[str, Any]:
    got = parse_pairs(prediction)
    want = {(int(a), int(b)) for a, b in gold}
    if not want:
        return {"score": 1.0 if not got else 0.0, "precision": float(not got), "recall": 1.0, "exact_set": not got}
    hit = len(got & want)
    precision = hit / len(got) if got else 0.0
    recall = hit / len(want)
    f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
    return {"score": f1, "precision": precision, "recall": recall, "exact_set": got == want}


_JOINING_HYPHEN = re.compile(r"(?<=\w)[-\u2010\u2011](?=\w)")
"""A hyphen between two letters joins one name ("Yelland-Moss"): it is kept, so the name stays one word."""


def normalize_name(text: str) -> str:
    """NFKD, accents stripped, lowercase, punctuation to spaces (a hyphen joining two words kept, as "-"),
    whitespace collapsed."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    text = _JOINING_HYPHEN.sub("\0", text)  # NUL stands for a kept hyphen while other punctuation goes
    return " ".join(re.sub(r"[^\w\s\0]", " ", text).split()).replace("\0", "-")


def _whole_words_in(name: str, text: str) -> bool:
    """`name` inside `text` as whole words: "ilse yelland" is in "it is ilse yelland", not in "ilse yellandson"
    nor in "ilse yelland-moss", where a hyphen joins it to more name (BENCHMARKS.md 3.d "contained in" a whole
    name; 2.7: raw substring matching is a known reproduction error)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def _docs(prediction: str, gold: str, names: list[str]) -> dict[str, Any]:
    match = re.findall(r"Exact Answer:\s*(.+)", prediction, re.IGNORECASE)
    extracted = normalize_name(match[-1] if match else prediction)
    first, _, last = gold.partition(" ")
    aliases = {normalize_name(gold), normalize_name(f"{last}, {first}")}
    hit = any(a and _whole_words_in(a, extracted) for a in aliases)
    others = [n for n in names if normalize_name(n) not in aliases and _whole_words_in(normalize_name(n), extracted)]
    return {"score": 1.0 if hit and not others else 0.0, "parsed": extracted, "other_names": others}


JUDGE_TEMPLATE = """Judge whether the following [response] to [question] is correct or not, based on the precise and \
unambiguous [correct_answer] below.

[question]: {question}

[response]: {response}

Your judgement must be in the format and criteria specified below:

extracted_final_answer: The final exact answer extracted from the [response]. Put the extracted answer as 'None' \
if there is no exact, final answer to extract from the response.

[correct_answer]: {correct_answer}

reasoning: Explain why the extracted_final_answer is correct or incorrect based on [correct_answer], focusing only \
on whether there are meaningful differences between [correct_answer] and the extracted_final_answer. Do not solve \
the problem again and do not argue for any answer other than [correct_answer].

correct: Answer 'yes' if extracted_final_answer matches the [correct_answer] given above, or is within a small \
margin of error for numerical problems. Answer 'no' otherwise, i.e. if there is any inconsistency, ambiguity, \
non-equivalency, or if the extracted answer is incorrect.

confidence: The extracted confidence score between 0% and 100% from [response]. Put 100 if there is no \
confidence score available."""
"""The BrowseComp grader's fields (extracted_final_answer, reasoning, correct, confidence), for the optional
LLM-judge mode of `docs` (BENCHMARKS.md 2.4 / 3.d); the exact checker above stays the default."""


def judge_prompt(task: Task, prediction: str) -> str:
    """The grader prompt for a judge LM: the task's question without its answer-format block, the response, the
    gold answer."""
    question = task.query.split("\n\nYour response should be", 1)[0]
    return JUDGE_TEMPLATE.format(question=question, response=prediction, correct_answer=task.answer)


def parse_judge(reply: str) -> dict[str, Any]:
    """{"score": 1.0 when the judge's last `correct:` field says yes else 0.0, "extracted": str | None,
    "confidence": int | None} from a judge LM's reply."""
    verdicts = re.findall(r"correct\s*:\s*\**\s*(yes|no)", reply, re.IGNORECASE)
    extracted = re.findall(r"extracted_final_answer\s*:\s*(.+)", reply)
    confidence = re.findall(r"confidence\s*:\s*\**\s*(\d+)", reply, re.IGNORECASE)
    return {
        "score": 1.0 if verdicts and verdicts[-1].lower() == "yes" else 0.0,
        "extracted": extracted[-1].strip() if extracted else None,
        "confidence": int(confidence[-1]) if confidence else None,
    }


def score_with_judge(prediction: str, task: Task, judge: Callable[[str], str]) -> dict[str, Any]:
    """The judge mode: `judge` (prompt -> reply, e.g. a local model) grades the prediction; the exact checker's
    verdict is kept as "exact" for comparison."""
    details = parse_judge(judge(judge_prompt(task, prediction)))
    details["exact"] = score_details(task.family, prediction, task)["score"]
    return details


def _choice(prediction: str, gold: str) -> dict[str, Any]:
    """The choice an answer states, as LongBench-v2's `extract_answer` (THUDM/LongBench pred.py) reads it: '*'
    removed, then the FIRST "The correct answer is (X)", else the first "The correct answer is X" (`re.search`,
    the parenthesised form first). Beyond LongBench, the first other explicit statement ("the answer is (X)",
    "Answer: X." with X in brackets or ending the statement), or a reply that opens with "(X)" or is the bare
    choice ("2.", "C"). A choice-like token that begins a sentence or word ("Answer: A closer look", "A careful
    reading", "Of the 3 call sites") is no answer: with no statement the reply scores 0 (LongBench's None).
    The RLM paper's numbered variant (gold 0-3) reads a digit the same way."""
    choice = "[0-3]" if gold.isdigit() else "[A-D]"
    alone = r"(?![\w]|\.\d)"  # not the start of a word ("A careful") nor of a number ("2.5")
    # the statement ends at the choice: "Answer: C.", "Answer: C — because" (not "Answer: A closer")
    ends = r"(?=[ \t]*(?:[.,;:!?)\n\u2013\u2014]|$))"
    statements = (
        rf"(?i:the correct answer is)\s*:?\s*\(({choice})\){alone}",
        rf"(?i:the correct answer is)\s*:?\s*({choice}){alone}",
        rf"(?i:answer(?: is)?)\s*:?\s*(?:\(({choice})\)|({choice}){ends})",
        rf"^\(({choice})\)",
        rf"^({choice})\.?$",
    )
    text = prediction.replace("*", "").strip()
    for statement in statements:
        found = re.search(statement, text)
        if found:
            parsed = next(group for group in found.groups() if group)
            return {"score": 1.0 if parsed == gold else 0.0, "parsed": parsed}
    return {"score": 0.0, "parsed": None}
