"""Reference policies as LMs, to check a harness end to end: OracleLM answers every task with its gold answer.

It regenerates the tasks of a run (a picklable value, so a Ray worker can rebuild it) and, for a prompt that
contains a task's query, replies with the task's answer text; an RLM root (its prompt shows the REPL block
format) gets a REPL block that finishes with that text. A prompt with no known query gets "I do not know.".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlmx.bench.task import Task
from rlmx.lm.base import Completion, Message, Usage, estimate_tokens


class OracleLM:
    """The gold answers of families x lengths x indexes 0..n-1 (seed `seed`), or of `tasks` when given (tasks
    read from a file), as an LM."""

    def __init__(
        self,
        families: Sequence[str] = (),
        lengths: Sequence[int] = (),
        n: int = 0,
        *,
        seed: int = 0,
        tasks: Sequence[Task] | None = None,
    ) -> None:
        self.families, self.lengths, self.n, self.seed = list(families), list(lengths), n, seed
        self.model = "oracle"
        self._given = None if tasks is None else list(tasks)
        self._tasks: list[Task] | None = self._given

    def __getstate__(self) -> dict[str, Any]:
        return {
            "families": self.families,
            "lengths": self.lengths,
            "n": self.n,
            "seed": self.seed,
            "tasks": self._given,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["families"], state["lengths"], state["n"], seed=state["seed"], tasks=state.get("tasks")
        )

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            from rlmx.bench import generate

            self._tasks = [
                generate(f, seed=self.seed, target_tokens=n, index=i)
                for f in self.families
                for n in self.lengths
                for i in range(self.n)
            ]
        return self._tasks

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        text = "\n".join(m["content"] for m in messages)
        task = next((t for t in self.tasks() if t.query in text), None)
        reply = "I do not know." if task is None else str(task.metadata["answer_text"])
        if task is not None and "```repl" in text:
            reply = f"```repl\nFINAL({reply!r})\n```"
        usage = Usage(input_tokens=estimate_tokens(text), output_tokens=estimate_tokens(reply), cost_usd=0.0)
        return Completion(text=reply, usage=usage, model=self.model)
