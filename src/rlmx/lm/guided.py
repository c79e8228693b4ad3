"""GuidedRoot: a root that writes the REPL cells itself, for models too small to write code.

It is a strategy, labeled as one, not an imitation of an LM: its cells come from `guided_cells.py` and run in
the normal REPL under the normal engine (budgets, events, trace). Turn 1 cuts the context into its natural units
(lines, verses, entries, paragraphs) and indexes them (BM25, stemmed); turn 2 answers: counting questions by
code, lookups by having the sub-LM read the best unit twice (`llm_query_batched`, two wordings) and keeping only
a phrase of that unit both readings give; else it quotes the best units, or says NOT FOUND.
A cell of its own that fails ends the run with status "error" (never a made-up NOT FOUND).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import re
import tokenize
from collections.abc import Sequence
from typing import Any

from rlmx import prompts
from rlmx.budget import BudgetExhausted
from rlmx.errors import SandboxError
from rlmx.events import write_by_reference
from rlmx.lm import guided_cells
from rlmx.lm.base import LM, Completion, Message, Usage, prompt_tokens, reached_cap
from rlmx.sandbox import graphemes

_GRAPHEMES_IMPORT = "from rlmx.sandbox.graphemes import boundary_before"


def _without_docstrings(source: str) -> str:
    """`source` less its docstrings (a function's, a class's, the module's, a constant's), its code and comments as
    written: the library is sent as a cell and kept in every trace, where its docstrings are a third of its size
    and do nothing. A body left empty gets `...`."""
    tree = ast.parse(source)
    lines = source.split("\n")
    cut: dict[int, str] = {}  # first line (0-based) -> what stands there instead ("" for nothing)
    dropped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            docstring = (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            )
            end = statement.end_lineno or statement.lineno
            whole = (
                lines[statement.lineno - 1][: statement.col_offset].strip() == ""
                and not lines[end - 1][statement.end_col_offset or 0 :].strip()
            )
            if not (docstring and whole):
                continue
            dropped.update(range(statement.lineno, end))
            cut[statement.lineno - 1] = " " * statement.col_offset + "..." if len(body) == 1 else ""
    kept = []
    for number, line in enumerate(lines):
        if number in cut:
            if cut[number]:
                kept.append(cut[number])
        elif number not in dropped:
            kept.append(line)
    return "\n".join(kept)


def _without_comments(source: str) -> str:
    """`source` less its comments (a line that only held one goes): like docstrings they do nothing in the REPL,
    and the library is kept in every trace (its source, in src/rlmx/lm/guided_cells.py, has them)."""
    cut: dict[int, int] = {}  # line (1-based) -> the column its comment starts at
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            cut[token.start[0]] = token.start[1]
    kept = []
    for number, line in enumerate(source.split("\n"), 1):
        if number not in cut:
            kept.append(line)
        elif line[: cut[number]].strip():
            kept.append(line[: cut[number]].rstrip())
    return "\n".join(kept)


@functools.cache
def library() -> str:
    """The guided library as the REPL runs it: guided_cells.py's source less its docstrings and comments, graphemes'
    own source in place of its import (the REPL cannot import rlmx). Made on first use, once per process: parsing
    the ~350 KB source took 0.35-0.8 s, which every CLI command paid at import (`rlmx --version` too). Traces hold
    it by reference (`library_reference`)."""
    return _without_comments(
        _without_docstrings(
            inspect.getsource(guided_cells)
            .replace(
                _GRAPHEMES_IMPORT, inspect.getsource(graphemes).replace("from __future__ import annotations\n", ""), 1
            )
            .replace("from __future__ import annotations\n", "")
        )
    )


@functools.cache
def library_reference() -> str:
    """The comment line a trace holds in place of `library()` (in the index cell's code, and the reply that wrote
    it): "# [rlmx VERSION guided library: N characters, sha256 HEX; ...]". The library is the same text in every
    run of an rlmx version: whole, it was 364,520 characters of a 390 KB trace for an 18-byte context (audit 85
    v03); the digest tells which library a trace ran, and `library()` of that rlmx gives it again."""
    from rlmx import __version__  # late: rlmx/__init__ imports this module's users

    return write_by_reference(library(), f"rlmx {__version__} guided library")


def __getattr__(name: str) -> str:
    """`_LIBRARY`, the name `library()`'s text had when it was made at import, for code that still reads it."""
    if name == "_LIBRARY":
        return library()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_READY = "guided index ready"
_REFUSED = "guided reading refused by the budget: "
READER_MAX_TOKENS = 32
"""Reply cap for a local reader: an answer is a few words; a small model left to run copies the passage."""


class GuidedCellFailed(SandboxError):
    """A cell the guided root wrote did not finish (it raised, or timed out): the run fails with its error."""


class ShortReader:
    """The sub-LM as the guided root's reader: local models (`local:...`) get at most READER_MAX_TOKENS per
    reply; any other model is passed through unchanged (a reasoning model needs its tokens)."""

    def __init__(self, inner: LM) -> None:
        self.inner = inner
        self.model = inner.model
        # What admission reads of an LM (`engine._output_cap`, a cut-off call's booking): the inner one's, with the
        # reader's own cap for a local model (a reading stopped by the time limit was booked at 4,096 tokens)
        self.params = getattr(inner, "params", None)
        self.bills_cancelled_calls = getattr(inner, "bills_cancelled_calls", True)
        own = getattr(inner, "max_tokens", None)
        self.max_tokens = min(own or READER_MAX_TOKENS, READER_MAX_TOKENS) if self.model.startswith("local:") else own

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        if not self.model.startswith("local:"):
            return await self.inner.complete(messages, **params)
        asked = int(params.get("max_tokens") or READER_MAX_TOKENS)
        params["max_tokens"] = min(asked, READER_MAX_TOKENS)
        reply = await self.inner.complete(messages, **params)
        if asked >= READER_MAX_TOKENS and reached_cap(reply.finish_reason):
            # cut at the reader's own cap, on purpose (a few words are the answer): not a reading cut short. One
            # cut at a smaller cap the caller set (--max-tokens-per-call 4) is, and the report says so.
            return dataclasses.replace(reply, finish_reason="stop")
        return reply

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        return await prompt_tokens(self.inner, messages)


class GuidedRoot:
    """Root "LM" that indexes the context, answers counting questions by code, has `sub_lm` read the best units
    (through the REPL's `llm_query_batched`), verifies the reply against its unit and finishes.

        root = GuidedRoot(local)
        rlm = RLM(root)     # sub-calls go to root.reader (the sub-LM with short replies for local models)

    `reads` is how many units are quoted when no short answer verifies. It answers lookups and counts; it does
    not plan multi-step analyses.
    """

    def __init__(self, sub_lm: LM, *, reads: int = guided_cells.READS) -> None:
        self.sub_lm = sub_lm
        self.reader = ShortReader(sub_lm)
        self.reads = reads
        self.model = f"guided-root(reader={sub_lm.model})"

    @property
    def default_sub_lm(self) -> LM:
        """What answers `llm_query` when `RLM(root)` names no `sub_lm`: the reader (this root writes code only)."""
        return self.reader

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        """0: this root reads nothing through an LM (its replies are rlmx's own cells; its reader's sub-calls are
        admitted one by one). Estimated from the conversation, which holds the guided library, a token budget
        refused the offline default's second turn (141k tokens "needed")."""
        return 0

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        turn = 1 + sum(1 for m in messages if m["role"] == "assistant")
        query = prompts.query_from(messages)
        recorded = None
        if turn == 1:
            pages = _pdf_variables(messages)
            text = self._index(pages) if pages else self._index()
            files = _file_names(messages)
            if files and _INDEXED in text:  # what a table's rows are may be said only by the file's name
                text = text.replace(_INDEXED, f"_guided_state['files'] = {files!r}\n{_INDEXED}", 1)
            # the trace holds the library by reference, here and in the cell it runs as (`library_reference`)
            recorded = text.replace(library(), library_reference())
        elif turn == 2 and _READY in _last_user(messages):
            # the search gets only the question's words: no host note ("(The user attached the file ...)"), no
            # instruction ("Answer briefly."), no name of the context's own file (audit 84 v01, v03)
            asked, attached = prompts.host_notes(query)
            text = self._answer(guided_cells.question_only(asked, [*attached, *_file_names(messages).values()]))
        elif turn == 3 and _REFUSED in _last_user(messages):
            # the evidence is in the answer buffer; the budget that refused the reading ends the run (exit 3)
            why = _last_user(messages).split(_REFUSED, 1)[1].split("\n", 1)[0].strip()
            # the refusal names its limit first ("max_tokens: token budget: ..."): that one stopped the reading
            named = re.search(r"\b(max_[a-z_]+): ", why)
            if named is not None:
                raise BudgetExhausted(named.group(1), why[named.end() :])
            raise BudgetExhausted("max_subcalls", why or "the sub-call budget refused the reading")
        else:
            step = "index the context" if turn == 2 else "answer"
            raise GuidedCellFailed(f"the guided root's cell to {step} failed: {_failure(_last_user(messages))}")
        return Completion(text=text, usage=Usage(0, 0, 0.0), model=self.model, recorded=recorded)

    def _index(self, pages: Sequence[str] = ()) -> str:
        return (
            "Guided root (rlmx writes this code; no LM does): cut the context into units and index them.\n"
            "```repl\n"
            "_guided_names = set(globals())  # the context variables, before the helpers' own constants\n"
            f"{library()}\n"
            "_guided_vars = {k: v for k, v in list(globals().items()) if k in _guided_names\n"
            "                and not k.startswith('_') and k != 'answer' and isinstance(v, (str, list, dict))}\n"
            f"_guided_state = build_index(collect_sources(_guided_vars, pages={list(pages)!r}))\n"
            "print(describe(_guided_state))\n"
            "```"
        )

    def _answer(self, query: str) -> str:
        return (
            "Guided root: count by code, or read the best units with the sub-LM and keep only a verified answer.\n"
            "```repl\n"
            f"_guided = guided_answer(_guided_state, {query!r}, llm_query_batched, reads={self.reads!r})\n"
            "print(_guided['report'])\n"
            "if _guided['kind'] == 'error':\n"
            "    raise RuntimeError(_guided['answer'])\n"
            "answer['content'] = _guided['answer']\n"
            "if _guided['kind'] == 'budget':\n"
            f"    print({_REFUSED!r} + _guided['why'])\n"
            "else:\n"
            "    FINAL(_guided['answer'])\n"
            "```"
        )


_PDF_VARIABLE = re.compile(r"^- `([A-Za-z_]\w*)`: [^\n]*\n  structure: [^\n]*\bPDF, [\d,]+ pages?\b", re.MULTILINE)
"""A context variable the first prompt describes as a PDF's pages ("- `context`: list, ...\n  structure: contract.pdf:
PDF, 60 pages, ..."; `Context.describe`)."""


def _pdf_variables(messages: Sequence[Message]) -> list[str]:
    """The context variables that hold a PDF's pages, as the host described them: the guided root names their
    units by page ("page 52", 1-based), not by Python index ("context[51]")."""
    first = next((m["content"] for m in messages if m["role"] == "user"), "")
    return list(dict.fromkeys(_PDF_VARIABLE.findall(first)))


_INDEXED = "print(describe(_guided_state))\n"
"""The index cell's last line: the names of the files the context variables were loaded from go before it."""
_FILE_VARIABLE = re.compile(r"^- `([A-Za-z_]\w*)`: [^\n]*\n  structure: ([^\n:/\\]{1,200}): ", re.MULTILINE)
"""A context variable the first prompt describes with the file it was loaded from ("- `context`: list, ...\n
structure: usr_bin_files.csv: 749 CSV rows ..."; `Context.describe`)."""


def _file_names(messages: Sequence[Message]) -> dict[str, str]:
    """{context variable: the name of the file it was loaded from}, as the host described them: what a table's
    rows are may be said only there ("usr_bin_files.csv": files; `guided_cells._names_its_rows`)."""
    first = next((m["content"] for m in messages if m["role"] == "user"), "")
    return dict(_FILE_VARIABLE.findall(first))


def _last_user(messages: Sequence[Message]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


def _failure(feedback: str) -> str:
    """The error lines of a cell's output (its last traceback line, or its end)."""
    lines = [line.strip() for line in feedback.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "Exception" in line or "timed out" in line]
    picked = errors[-1] if errors else (lines[-1] if lines else "no output")
    return picked[:500]
