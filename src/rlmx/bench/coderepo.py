"""A procedural Python package for codeqa (BENCHMARKS.md 3.e, source A): fully deterministic, the same on every
Python version, with the shapes the question families look for built in on purpose.

Each module of `pkg/{core,io,net,cli,plugins,utils}/` has module constants, an exception class, a three-class
chain with an overridden method (dispatch), functions whose defaults name the module's constants (constant
tracing), a chain of private helpers f -> g -> h (call chain), an import and a call into an earlier module,
and realistic-looking utility functions from templates as padding. Questions are asked with the same AST
machinery as for the standard library, so answers still come from the code itself.
"""

from __future__ import annotations

import random
from functools import lru_cache

SUBPACKAGES = ("core", "io", "net", "cli", "plugins", "utils")
VERBS = (
    "load save parse render fetch send build check merge split format open close scan sync sort index encode "
    "decode export ingest resolve validate publish archive restore compress expand"
).split()
NOUNS = (
    "profile report record config session cache token packet page table query buffer channel frame ledger "
    "schedule archive header batch manifest snapshot cursor bundle digest policy route metric quota"
).split()
KINDS = "Local Remote Cached Strict Lazy Async Secure Legacy".split()
BASE_ERRORS = "ValueError KeyError RuntimeError LookupError OSError TypeError".split()
PARAMS = "timeout retries encoding limit verbose strict path mode".split()


def _title(word: str) -> str:
    return word.capitalize()


def _module(rng: random.Random, path: str, noun: str, earlier: list[tuple[str, str]], pad_functions: int) -> str:
    """One module's source. `earlier` holds (module path, public function) of modules already made."""
    cls = _title(noun)
    const = f"DEFAULT_{rng.choice(PARAMS).upper()}"
    limit = f"MAX_{noun.upper()}_SIZE"
    verbs = rng.sample(VERBS, 6)
    public = f"{verbs[0]}_{noun}"
    kinds = rng.sample(KINDS, 2)
    lines = [
        f'"""{cls} {rng.choice(["helpers", "storage", "handling", "utilities"])} for the '
        f'{path.split("/")[1]} layer."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    if earlier:
        other_path, other_func = rng.choice(earlier)
        module = other_path.removesuffix(".py").replace("/", ".")
        lines += [f"from {module} import {other_func}", ""]
    else:
        other_func = ""
    lines += [
        f"{const} = {rng.choice([5, 10, 15, 30, 45, 60, 90, 120])}",
        f"{limit} = {rng.choice([256, 512, 1024, 4096, 65536])}",
        f'_{noun.upper()}_MODE = "{rng.choice(["fast", "safe", "strict", "lazy"])}"',
        "",
        "",
        f"class {cls}Error({rng.choice(BASE_ERRORS)}):",
        f'    """Raised when a {noun} cannot be handled."""',
        "",
        "",
        f"class {cls}Base:",
        f"    def {verbs[1]}(self, item, mode=_{noun.upper()}_MODE):",
        f"        return self._{verbs[2]}(item)",
        "",
        f"    def _{verbs[2]}(self, item):",
        "        return item",
        "",
        "    def describe(self):",
        f'        return "{noun}"',
        "",
        "",
        f"class {kinds[0]}{cls}({cls}Base):",
        f"    def {verbs[1]}(self, item, mode=_{noun.upper()}_MODE):",
        "        return [item, mode]",
        "",
        "",
        f"class {kinds[1]}{cls}({kinds[0]}{cls}):",
        "    def close(self):",
        "        return None",
        "",
        "",
        f"def {public}({noun}, timeout={const}, limit={limit}):",
        f'    """{_title(verbs[0])} a {noun}; raises {cls}Error when it is empty."""',
        f"    if not {noun}:",
        f'        raise {cls}Error("empty {noun}")',
        f"    return _{verbs[3]}_{noun}({noun})",
        "",
        "",
        f"def _{verbs[3]}_{noun}({noun}):",
        f"    return _{verbs[4]}_{noun}({noun})",
        "",
        "",
        f"def _{verbs[4]}_{noun}({noun}):",
        f"    return {other_func}({noun})" if other_func else f"    return {noun}",
        "",
    ]
    used = {public, f"_{verbs[3]}_{noun}", f"_{verbs[4]}_{noun}"}
    for _ in range(pad_functions):  # padding: realistic, unrelated helpers
        name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}_{rng.choice(['items', 'data', 'value', 'entry'])}"
        if name in used:
            continue
        used.add(name)
        param = rng.choice(PARAMS)
        lines += [
            "",
            f"def {name}(values, {param}=None):",
            f'    """Return the {name.split("_")[1]} values, skipping empty ones."""',
            "    out = []",
            "    for value in values:",
            "        if value:",
            "            out.append(value)",
            "    return out",
            "",
        ]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=4)
def repo(seed: str, chars: int) -> tuple[tuple[str, str], ...]:
    """(path, source) of the package's modules, in path order within each subpackage, made until they add up to
    at least `chars` characters (module i imports from a module made before it)."""
    rng = random.Random(f"rlmx-codeqa-repo|{seed}")
    out: list[tuple[str, str]] = []
    earlier: list[tuple[str, str]] = []
    size = 0
    taken: set[str] = set()
    while size < chars:
        sub = rng.choice(SUBPACKAGES)
        noun = rng.choice(NOUNS)
        name = f"{noun}_{rng.choice(['store', 'tools', 'codec', 'client', 'view', 'rules', 'index', 'jobs'])}"
        path = f"pkg/{sub}/{name}.py"
        if path in taken:
            path = f"pkg/{sub}/{name}_{len(taken)}.py"
        taken.add(path)
        source = _module(rng, path, noun, earlier[-50:], rng.randint(4, 14))
        out.append((path, source))
        public = source.split("\ndef ", 1)[1].split("(", 1)[0]
        earlier.append((path, public))
        size += len(source) + len(path) + 12
    return tuple(sorted(out, key=lambda item: (item[0].split("/")[1], item[0])))
