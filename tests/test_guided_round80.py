"""Round 80: the guided root on texts of audit 80 (a man page, a Debian changelog, Python source, a CSV): every
text here is made up in the same shapes; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import verified_span


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


# --- "who": the names joined to the doer ---------------------------------------------------------------------------


def test_the_doer_after_by_keeps_the_names_joined_to_it() -> None:
    # was: "Ilse Marr" alone (the agent-first answer returned before the joined names were gathered)
    unit = {
        "text": '- fix the kettle overflow (the so-called "Steam bug") found by Ilse Marr, Otto Brand and Pia Lund.',
        "kind": "paragraph",
        "name": "kettle (2.1-3)",
    }
    reply = "The Steam bug was found by Ilse Marr, Otto Brand, and Pia Lund."
    got = verified_span(reply, unit, "Who found the Steam bug?", set())
    assert got == "Ilse Marr, Otto Brand and Pia Lund"


def test_a_single_doer_after_by_is_still_the_answer() -> None:
    unit = {"text": "Frankenstein is a novel written by Mary Shelley in 1818.", "kind": "paragraph", "name": ""}
    assert verified_span("Frankenstein, by Mary Shelley", unit, "Who wrote Frankenstein?", set()) == "Mary Shelley"
