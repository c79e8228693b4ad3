"""Every text the engine sends to an LM. Versioned: a change of wording is a change of PROMPT_VERSION."""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Sequence

from rlmx.context import PreparedContext
from rlmx.lm.base import Message
from rlmx.sandbox import graphemes

PROMPT_VERSION = "2026-12-02.2"

SYSTEM = """\
You answer a query about data that is too large to read at once. The data is not in this conversation: it is \
loaded as variables in a persistent Python REPL, and you work on it by writing code.

Write Python in fenced ```repl blocks. A reply may hold several blocks; they run in order, and the REPL keeps \
every variable between blocks and between turns. You see what your code prints (stdout and stderr) and the value \
of a bare expression on a block's last line. Long output is cut in the middle, so print sizes, samples and \
summaries, not whole documents. Blocks inside <think>...</think> never run. To put a line of three backticks in \
your code, open and close its block with four (````repl ... ````).

In the REPL:
- the context variables listed in the first message (read them with code: len, slicing, str methods, re, json)
- llm_query(prompt, model=None) -> str: one call to a sub-LM that reads your prompt (up to about \
{sub_chars:,} characters). Put the text first and the question after it.
- llm_query_batched(prompts) -> list[str]: many sub-LM prompts at once, run concurrently; a failed item comes \
back as a string starting with "Error:".
- rlm_query(prompt, context=None) -> str and rlm_query_batched(prompts, contexts=None) -> list[str]: {rlm_note}
- SHOW_VARS(): the variables you have made so far.
The functions above, `answer`, `history` and Python's builtins (print, len, ...) keep their meaning: no context \
is named after one, and the functions above are restored after every block.

How to work: first look at the context's structure (size, format, a few samples). Then narrow it with code \
(search, split, filter) and send the pieces that need reading to llm_query / llm_query_batched, in chunks well \
under the sub-LM's limit. Keep intermediate results in variables and combine them in code. Check your answer \
against the data before you finish.

Finish, once you are sure, in one of these ways:
- in a repl block: answer["content"] = <the answer>; answer["ready"] = True
- in a repl block: FINAL(<the answer>), or FINAL_VAR("name") to answer with the value of variable `name`
- in a repl block, when named fields are asked for: SUBMIT(field=value, ...)
- outside code, on a line of its own: FINAL(the answer)
You may fill answer["content"] early with your best answer so far; it is kept if the run is cut short. \
Every reply that does not finish must contain a repl block. You have {max_iterations} turns."""

RLM_NOTE_CHILD = (
    "hands a sub-task to a child RLM with its own REPL, one level deeper (you are at depth {depth}; children run "
    "at depth {child_depth}, and the deepest level allowed is {max_level}). The child gets `context` (or, if you "
    "pass none, the prompt itself) as its REPL variable and returns its final answer; one of your context "
    "variables passed whole (context=docs) is shared without a copy and keeps its name. Use it for sub-tasks that "
    "themselves need code over a large text; it costs far more than llm_query."
)
RLM_NOTE_PLAIN = (
    "at your depth ({depth}) no child RLM can start (max_depth is {max_depth}), so these are plain sub-LM calls, "
    "the same as llm_query (a given context is appended to the prompt)."
)

FIRST_USER = """\
Query: {query}

The REPL holds {count} context variable(s):
{descriptions}

Explore the context with code before you answer. Turn 1 of {max_iterations}."""

CELL_OUTPUT = "Output of block {index}:\n{fence}\n{output}\n{fence}"
NEXT_TURN = "Turn {turn} of {max_iterations}. Continue, or finish when you are sure."
LAST_TURN = (
    "Turn {turn} of {max_iterations}: this is your last turn. Finish now: set answer['content'] and "
    "answer['ready'] = True, or call FINAL(...)."
)

READY_WITHOUT_CONTENT = (
    "Note: answer['ready'] is True but answer['content'] is empty, so the run did not finish (an empty answer reads as "
    "nothing found). Set answer['content'] = <your answer> (the key is 'content'), or call FINAL(your answer)."
)

NO_CODE = (
    "Your reply had no ```repl block and did not finish, so nothing ran. To keep working, write Python in a "
    "```repl block. To finish, set answer['content'] = ... and answer['ready'] = True in a repl block, or write "
    "FINAL(your answer) on a line of its own."
)

EMPTY_OPEN_BLOCK = (
    "Your reply ended right after opening a ```repl block, with no code in it, so nothing ran. Write the code "
    "inside the block and close it with ``` on a line of its own."
)

FINAL_IN_TEXT = (
    "Your reply had no ```repl block, and the FINAL it wrote stood inside a line of text, where it does not finish "
    "(it reads as text about an answer), so nothing ran. To finish, write FINAL(your answer) on a line of its own. "
    "To keep working, write Python in a ```repl block."
)

CODE_IN_REASONING = (
    "Your reply's ```repl block stood inside its reasoning (a <think> block, a reasoning field, or an analysis or "
    "commentary channel), which never runs, and the reply itself had none, so nothing ran. Write the code in a "
    "```repl block in the reply itself, after the reasoning. To finish instead, set answer['content'] = ... and "
    "answer['ready'] = True in a repl block, or write FINAL(your answer) on a line of its own."
)

CUT_BEFORE_CODE = (
    "Your reply reached its output limit before it wrote a ```repl block, so nothing ran. Keep the reasoning and "
    "the text before the block short, and write the block early."
)

REASONING_OPEN = (
    "Your reply opened a reasoning block (<think> or the like) and never closed it, so everything after it was "
    "taken as reasoning and nothing ran. Close the reasoning (</think>, or your format's closing tag), then write "
    "the code in a ```repl block after it."
)

REASONING_ONLY = (
    "Your reply was all reasoning (a reasoning block never closed, or no text after it), so nothing ran. End the "
    "reasoning, then write the code in a ```repl block after it."
)

REASONING_ONLY_TURN = "(reasoning only; no answer text)"
"""What stands in the conversation for the model's own reply that held only reasoning."""

REASONING_CUT = (
    "Your reply reached its output limit while still reasoning, so nothing ran. Reason more briefly, then write the "
    "code in a ```repl block after the reasoning."
)

QUOTED_CODE = (
    "Your reply's code block was inside a quote (lines starting with >), and quoted blocks never run, so nothing "
    "ran. Write the code in a ```repl block of its own, without the > marks."
)

BLOCKS_NOT_RUN = (
    " Your reply's {blocks} did not run: only blocks tagged repl, python, py, ipython or tool_code run as code. "
    "Tag the code block ```repl."
)

FULL_WIDTH_FENCE = (
    " Your reply's {fence} line is written in full-width characters ({char}), which do not make a fence, so it "
    "opened no block. Write the fence in ASCII: ```repl."
)


def not_run(languages: Sequence[str], full_width: str | None) -> str:
    """What NO_CODE adds about fences the reply did write: the languages of its blocks that do not run ("" for an
    untagged one), and a fence written in full-width characters (`full_width`, as written): never only "no block"
    to a model that wrote one."""
    names = list(dict.fromkeys(languages))
    notes = ""
    if names:
        shown = [f"```{name} block" if name else "untagged ``` block" for name in names]
        notes += BLOCKS_NOT_RUN.format(blocks=" and ".join(shown) if len(shown) < 3 else ", ".join(shown))
    if full_width:
        char = "\uff40, U+FF40" if full_width[0] == "\uff40" else "\uff5e, U+FF5E"
        notes += FULL_WIDTH_FENCE.format(fence=full_width, char=char)
    return notes


FINAL_UNSEEN = (
    "Your {call} line was not accepted: a block of the same reply failed, so that answer was written before you "
    "saw the error. Fix the block and finish again."
)

FINAL_BEFORE_CODE = (
    "Your {call} line was not accepted: it came before code of the same reply, so it was written before that code "
    "ran. Look at the output above, then finish on a line of its own."
)

FINAL_NOT_SHOWN = (
    "Your {call} line was not accepted: it was written in the same reply as the code above, before you saw its "
    "output, and that output does not show it. If it is still your answer, write it again now."
)

CUT_BLOCK = (
    "Your reply reached its output limit inside a ```repl block, so that block was cut short and did not run. Write "
    "shorter blocks: do less per block, or build long texts in code instead of writing them out."
)

OVERRAN_TURN = (
    "Your reply went on past the end of your turn (an end-of-turn token, then another turn that you wrote yourself), "
    "so what came after it was not read: nothing there ran or answered. End your reply after your code block."
)

CUT_FINAL = (
    "Your reply reached its output limit before it ended, so the FINAL written in its text was not taken: a reply "
    "cut short may be a draft of your reasoning. If that is your answer, give it again in a short reply of its own."
)

FILTERED = (
    "The server's content filter stopped your reply part-way, so what it cut short (a code block left open, a FINAL "
    "in its text) was not taken. Write that step again, avoiding what may have tripped the filter."
)

FINAL_REQUEST = (
    "You have used all {max_iterations} turns, so no more code will be explored. Reply now with your final answer "
    "to the query, on a line of its own, as FINAL(your answer). Use what you have learned so far; do not write "
    "code."
)

FORCED_SYSTEM = "You were answering a query by running code over a large context. The work must stop now."
FORCED_ANSWER = """Query: {query}

The run was stopped: {reason}.
The last output of your code was:
```
{notes}
```

Reply with your best final answer to the query from what you have learned, on a line of its own, \
as FINAL(your answer). Do not write code."""

OUTPUT_FORMAT = """\
Answer format. {description}
Finish with SUBMIT(field=value, ...) (or FINAL(a dict)). An answer that does not match is sent back to you with \
the problems; fix them and finish again."""

INVALID_ANSWER = (
    "Your answer does not match the required format, so the run goes on. Problems: {problems}. "
    "Fix them and finish again (SUBMIT(field=value, ...) or FINAL(a dict))."
)

JSON_REPLY = "Reply with only a JSON value (no prose, no code fences) that matches this JSON Schema:\n{schema}"
JSON_RETRY = "Your previous reply did not match the schema ({problems}). Reply again with only the JSON value."

PLAIN_RLM_CONTEXT = "{prompt}\n\nContext:\n{context}"
SUB_REPLY_CUT = (
    "\n\n[rlmx: the sub-LM's reply was cut short here (finish_reason {finish_reason!r}), so the text above is "
    "unfinished and may be its reasoning rather than an answer. Ask for a shorter answer, or split the task.]"
)
"""Ends a plain sub-call's answer whose reply stopped at its output cap or a content filter, as the cell gets it."""
SUB_JSON_CUT = (
    "the sub-LM's reply was cut short (finish_reason {finish_reason!r}) before its JSON value ended, so it gave no "
    "value. Ask for a shorter value, or split the task."
)
BUDGET_REFUSED = "budget exhausted: {detail}. Finish with what you have."
SUBCALLS_SPENT = "{detail}. Work with the results you have (combine them in code) and finish."
"""A sub-call the budget refused, as the model's code sees it (the user sees only the detail)."""


def system(
    *, depth: int, max_depth: int, max_iterations: int, sub_chars: int = 100_000, override: str | None = None
) -> str:
    if depth + 1 < max_depth:
        note = RLM_NOTE_CHILD.format(depth=depth, child_depth=depth + 1, max_level=max_depth - 1)
    else:
        note = RLM_NOTE_PLAIN.format(depth=depth, max_depth=max_depth)
    return _fill(
        override if override is not None else SYSTEM, sub_chars=sub_chars, rlm_note=note, max_iterations=max_iterations
    )


def _fill(template: str, **values: object) -> str:
    """Fill `{name}` / `{name:spec}` for known names only, so a user's prompt may hold other braces."""

    def replace(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2) or ""
        return format(values[name], spec[1:]) if name in values else match.group(0)

    return re.sub(r"\{(\w+)(:[^{}]*)?\}", replace, template)


def first_user(
    query: str, contexts: Sequence[PreparedContext], max_iterations: int, *, session_note: str | None = None
) -> str:
    described = "\n".join(c.describe() for c in contexts[:DESCRIBED_CONTEXTS])
    descriptions = (described + _more_contexts(contexts[DESCRIBED_CONTEXTS:])) or "(none: the query is all there is)"
    text = FIRST_USER.format(query=query, count=len(contexts), descriptions=descriptions, max_iterations=max_iterations)
    return text if session_note is None else f"{text}\n\n{session_note}"


DESCRIBED_CONTEXTS = 20
"""Context variables the first prompt describes (type, size, preview); the rest are named only, up to
`NAMED_CONTEXT_CHARS` of names: thousands of small contexts (a folder of notes passed one by one) made a first
prompt 2.6 times the size of the data it holds."""
NAMED_CONTEXT_CHARS = 2000


def _more_contexts(rest: Sequence[PreparedContext]) -> str:
    if not rest:
        return ""
    names: list[str] = []
    size = 0
    for context in rest:
        size += len(context.name) + 2
        if size > NAMED_CONTEXT_CHARS:
            break
        names.append(context.name)
    listed = ", ".join(names) + (", ..." if len(names) < len(rest) else "")
    return (
        f"\n- and {len(rest):,} more, not described here (look at one with type(), len() and a slice; SHOW_VARS() "
        f"lists every variable): {listed}"
    )


SESSION_NOTE = (
    "This is question {turn} of a session. The REPL still holds every variable from the earlier questions "
    "(SHOW_VARS() lists them); `history` is a list of the earlier questions and answers "
    "({{'question': ..., 'answer': ...}}, and 'error': ... for a question that failed).{new}"
)


def session_note(turn: int, new_contexts: Sequence[str]) -> str:
    new = f" New for this question: {', '.join(f'`{n}`' for n in new_contexts)}." if new_contexts else ""
    return SESSION_NOTE.format(turn=turn, new=new)


HOST_NOTE = re.compile(r"\((?:The user|The system message) [^\n]*? is in `[A-Za-z_]\w*`\.\)")
"""A host's note to the root, a paragraph of its own after the query's words: where a document that came with the
question went ("(The user attached the file 'notes.txt' (text, 120 characters); it is in `context`.)"; `rlmx serve`
writes them). An LM root needs it; a root that searches the question's words must not search it (`host_notes`)."""
_ATTACHED = re.compile(r"\(The user attached the file ('(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\") \(")


def host_note(words: str) -> str:
    """`words` as a host's note (`HOST_NOTE`): "(The user ...; it is in `name`.)". Raises ValueError for words
    that would not read back as one, so a note can never reach a guided root as a question's words."""
    note = f"({words})"
    if not HOST_NOTE.fullmatch(note):
        raise ValueError(f"not a host note: {note!r}")
    return note


def host_notes(query: str) -> tuple[str, list[str]]:
    """`query` less its host notes (the paragraphs `HOST_NOTE` matches whole), and the names of the files they say
    were attached. A query that is nothing but notes (a file sent with no words) is returned as it is."""
    paragraphs = query.split("\n\n")
    kept = [p for p in paragraphs if not HOST_NOTE.fullmatch(p.strip())]
    files = []
    for paragraph in paragraphs:
        named = _ATTACHED.match(paragraph.strip())
        if named is not None and HOST_NOTE.fullmatch(paragraph.strip()):
            with contextlib.suppress(ValueError, SyntaxError):
                files.append(str(ast.literal_eval(named.group(1))))
    asked = "\n\n".join(kept).strip()
    return (asked or query), files


def query_from(messages: Sequence[Message]) -> str:
    """The query of a node, read back from its first user message (for roots that are not LMs)."""
    first = next((m["content"] for m in messages if m["role"] == "user"), "")
    head = first.split("\n\nThe REPL holds", 1)[0]
    return head.removeprefix("Query: ")


def forced_answer(query: str, reason: str, last_output: str) -> str:
    notes = last_output if len(last_output) <= 2000 else f"...{graphemes.tail(last_output, 2000)}"
    return FORCED_ANSWER.format(query=query, reason=reason, notes=notes or "(none)")


def output_format(description: str) -> str:
    return OUTPUT_FORMAT.format(description=description)


def json_reply(schema: dict[str, object]) -> str:
    return JSON_REPLY.format(schema=json.dumps(schema, ensure_ascii=False))


def cell_outputs(outputs: Sequence[str]) -> str:
    """Each block's output in a fence longer than any run of backticks in it (CommonMark's rule: a shorter or equal
    run cannot close it), so that output holding a fence of its own (a Markdown context printed) stays inside."""
    return "\n\n".join(CELL_OUTPUT.format(index=i, output=o, fence=_fence_around(o)) for i, o in enumerate(outputs, 1))


_BACKTICK_RUNS = re.compile("`{3,}")


def _fence_around(text: str) -> str:
    longest = max(map(len, _BACKTICK_RUNS.findall(text)), default=2) if "```" in text else 2
    return "`" * (longest + 1)


def next_turn(turn: int, max_iterations: int) -> str:
    template = LAST_TURN if turn == max_iterations else NEXT_TURN
    return template.format(turn=turn, max_iterations=max_iterations)
