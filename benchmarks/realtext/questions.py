"""The benchmark's questions. Each is checked against its text by `run.py` before rlmx is asked:

* answerable kinds (lookup, paraphrase, number, name, two_fact) carry `evidence`, a passage of the text (or a
  list of passages; whitespace collapsed) that must occur in it and must hold every string of `answers`;
  `answers` are alternatives (any one counts) unless `all` is set (two-fact questions: every one is needed);
* `absent` questions carry words (or phrases) that must not occur in the text at all (so NOT FOUND is the right
  answer); some name only words the text uses, in a combination it does not hold;
* `count` questions carry `count`, a (function, argument) pair that run.py computes with its own code.

Kinds: lookup (the text's own words), paraphrase (other words than the text's), number (numbers and dates),
name (people and places), absent, two_fact, count.
"""

from __future__ import annotations

from typing import Any

Q = dict[str, Any]

KJV: list[Q] = [
    {
        "kind": "lookup",
        "q": "What did God call the dry land?",
        "answers": ["Earth"],
        "evidence": "And God called the dry land Earth",
    },
    {
        "kind": "lookup",
        "q": "What did Esau sell unto Jacob?",
        "answers": ["birthright"],
        "evidence": "he sold his birthright unto Jacob",
    },
    {
        "kind": "lookup",
        "q": "In which town was Jesus born?",
        "answers": ["Bethlehem"],
        "evidence": "Now when Jesus was born in Bethlehem of Judaea",
    },
    {
        "kind": "paraphrase",
        "q": "Who murdered his brother Abel in the field?",
        "answers": ["Cain"],
        "evidence": "Cain rose up against Abel his brother, and slew him",
    },
    {
        "kind": "paraphrase",
        "q": "Whose sheep did Moses look after?",
        "answers": ["Jethro"],
        "evidence": "Now Moses kept the flock of Jethro his father in law, the priest of Midian",
    },
    {
        "kind": "number",
        "q": "How long was the ark, in cubits?",
        "answers": ["three hundred cubits"],
        "evidence": "The length of the ark shall be three hundred cubits",
    },
    {
        "kind": "number",
        "q": "How many years did Noah live after the flood?",
        "answers": ["three hundred and fifty years", "three hundred and fifty"],
        "evidence": "And Noah lived after the flood three hundred and fifty years.",
    },
    {
        "kind": "number",
        "q": "How many days and nights did it rain upon the earth?",
        "answers": ["forty days and forty nights", "forty"],
        "evidence": "And the rain was upon the earth forty days and forty nights.",
    },
    {
        "kind": "name",
        "q": "What new name did God give to Sarai?",
        "answers": ["Sarah"],
        "evidence": "thou shalt not call her name Sarai, but Sarah shall her name be",
    },
    {
        "kind": "name",
        "q": "Who was the priest of Midian?",
        "answers": ["Jethro"],
        "evidence": "the flock of Jethro his father in law, the priest of Midian",
    },
    {
        "kind": "two_fact",
        "q": "What did God call the light, and what did he call the darkness?",
        "answers": ["Day", "Night"],
        "all": True,
        "evidence": "And God called the light Day, and the darkness he called Night.",
    },
    {"kind": "absent", "q": "What is the name of the king of Norway?", "absent": ["norway"]},
    {"kind": "absent", "q": "Who invented the telephone?", "absent": ["telephone"]},
    {"kind": "absent", "q": "How many kilometres long is the river Danube?", "absent": ["kilometres", "danube"]},
    {"kind": "count", "q": "How many verses mention Jerusalem?", "count": ("kjv_verses_with", "Jerusalem")},
    {"kind": "count", "q": "How many times does the word 'Methuselah' occur?", "count": ("occurrences", "Methuselah")},
    {"kind": "count", "q": "Which book mentions Jerusalem the most?", "count": ("kjv_book_most", "Jerusalem")},
    {"kind": "count", "q": "How many verses are there?", "count": ("kjv_verses", "")},
]

JARGON: list[Q] = [
    {
        "kind": "lookup",
        "q": "What is the Camel Book the nickname for?",
        "answers": ["Programming Perl"],
        "evidence": "Universally recognized nickname for the book Programming Perl",
    },
    {
        "kind": "lookup",
        "q": "What does TMRC stand for?",
        "answers": ["Tech Model Railroad Club"],
        "evidence": "The Tech Model Railroad Club at MIT",
    },
    {
        "kind": "lookup",
        "q": "What is RTFM an abbreviation for?",
        "answers": ["Read The Fucking Manual"],
        "evidence": "Abbreviation for ‘Read The Fucking Manual’",
    },
    {
        "kind": "lookup",
        "q": "How many bits are in a nybble?",
        "answers": ["Four bits", "four"],
        "evidence": "Four bits; one {hex} digit; a half-byte.",
    },
    {
        "kind": "paraphrase",
        "q": "From which novel does the word grok come?",
        "answers": ["Stranger in a Strange Land"],
        "evidence": "from the novel Stranger in a Strange Land, by Robert A. Heinlein",
    },
    {
        "kind": "paraphrase",
        "q": "What escapes from a chip when it burns up?",
        "answers": ["magic smoke"],
        "evidence": "the magic smoke gets let out",
    },
    {
        "kind": "name",
        "q": "Who wrote the novel Stranger in a Strange Land?",
        "answers": ["Heinlein"],
        "evidence": "from the novel Stranger in a Strange Land, by Robert A. Heinlein",
    },
    {
        "kind": "name",
        "q": "Who compiled the 1959 Dictionary of the TMRC Language?",
        "answers": ["Peter Samson"],
        "evidence": "The 1959 Dictionary of the TMRC Language compiled by Peter Samson",
    },
    {
        "kind": "name",
        "q": "At which university is the Tech Model Railroad Club?",
        "answers": ["MIT"],
        "evidence": "The Tech Model Railroad Club at MIT",
    },
    {
        "kind": "number",
        "q": "In which year was the Dictionary of the TMRC Language compiled?",
        "answers": ["1959"],
        "evidence": "The 1959 Dictionary of the TMRC Language compiled by Peter Samson",
    },
    {
        "kind": "number",
        "q": "In what year was the old TMRC layout decommissioned?",
        "answers": ["1998"],
        "evidence": "when the old layout was decommissioned in 1998",
    },
    {
        "kind": "two_fact",
        "q": "Who wrote Programming Perl, and who published it?",
        "answers": ["Larry Wall", "O'Reilly"],
        "all": True,
        "evidence": "Programming Perl, by Larry Wall and Randal L. Schwartz, O'Reilly and Associates 1991",
    },
    {"kind": "absent", "q": "What is a blockchain?", "absent": ["blockchain"]},
    {"kind": "absent", "q": "Which smartphone did the hackers prefer?", "absent": ["smartphone"]},
    {"kind": "absent", "q": "What is the price of a bitcoin?", "absent": ["bitcoin"]},
    {"kind": "count", "q": "How many entries begin with Q?", "count": ("jargon_entries_starting", "Q")},
    {"kind": "count", "q": "How many entries are in the lexicon?", "count": ("jargon_entries", "")},
    {"kind": "count", "q": "How many times does the word 'kludge' occur?", "count": ("occurrences", "kludge")},
]

UCD: list[Q] = [
    {
        "kind": "lookup",
        "q": "What is the code point of LATIN SMALL LETTER SHARP S?",
        "answers": ["00DF"],
        "evidence": "00DF;LATIN SMALL LETTER SHARP S;Ll",
    },
    {"kind": "lookup", "q": "Which code point is the EURO SIGN?", "answers": ["20AC"], "evidence": "20AC;EURO SIGN;Sc"},
    {"kind": "lookup", "q": "What is the code point of SNOWMAN?", "answers": ["2603"], "evidence": "2603;SNOWMAN;So"},
    {
        "kind": "lookup",
        "q": "What is the code point of GRINNING FACE?",
        "answers": ["1F600"],
        "evidence": "1F600;GRINNING FACE;So",
    },
    {
        "kind": "name",
        "q": "What is the name of the character 20AC?",
        "answers": ["EURO SIGN"],
        "evidence": "20AC;EURO SIGN;Sc",
    },
    {
        "kind": "name",
        "q": "What is the name of character 00E9?",
        "answers": ["LATIN SMALL LETTER E WITH ACUTE"],
        "evidence": "00E9;LATIN SMALL LETTER E WITH ACUTE;Ll",
    },
    {
        "kind": "paraphrase",
        "q": "Which code point is the lowercase e with an acute accent?",
        "answers": ["00E9"],
        "evidence": "00E9;LATIN SMALL LETTER E WITH ACUTE;Ll",
    },
    {
        "kind": "paraphrase",
        "q": "What is the code for the capital letter A of the Latin alphabet?",
        "answers": ["0041"],
        "evidence": "0041;LATIN CAPITAL LETTER A;Lu",
    },
    {
        "kind": "number",
        "q": "What is the uppercase mapping of LATIN SMALL LETTER E WITH ACUTE?",
        "answers": ["00C9"],
        "evidence": "00E9;LATIN SMALL LETTER E WITH ACUTE;Ll;0;L;0065 0301;;;;N;LATIN SMALL LETTER E ACUTE;;00C9",
    },
    {
        "kind": "two_fact",
        "q": "What are the code point and the general category of the EURO SIGN?",
        "answers": ["20AC", "Sc"],
        "all": True,
        "evidence": "20AC;EURO SIGN;Sc",
    },
    {"kind": "absent", "q": "What is the code point of KLINGON LETTER QAW?", "absent": ["klingon"]},
    {"kind": "absent", "q": "What is the code point of the TELEPORTER SYMBOL?", "absent": ["teleporter"]},
    {"kind": "absent", "q": "Which character is named DRAGONFRUIT EMOJI?", "absent": ["dragonfruit"]},
    {
        "kind": "absent",
        "q": "What is the code point of LATIN CAPITAL LETTER Q WITH ACUTE?",
        "absent": ["LATIN CAPITAL LETTER Q WITH ACUTE"],
    },
    {"kind": "count", "q": "How many lines contain Zs?", "count": ("lines_with", "Zs")},
    {"kind": "count", "q": "How many characters are in the category Sc?", "count": ("ucd_category", "Sc")},
    {"kind": "count", "q": "How many times does the word 'SNOWMAN' occur?", "count": ("occurrences", "SNOWMAN")},
    {"kind": "count", "q": "How many lines contain GREEK?", "count": ("lines_with", "GREEK")},
]

PYLIB: list[Q] = [
    {
        "kind": "lookup",
        "q": "What does os.getcwd return?",
        "answers": [
            "a string representing the current working directory",
            "representing the current working directory",
        ],
        "evidence": "Return a string representing the current working directory.",
    },
    {
        "kind": "lookup",
        "q": "What is the default port for the HTTPS protocol?",
        "answers": ["443"],
        "evidence": "The default port for the HTTPS protocol (always ``443``).",
    },
    {
        "kind": "lookup",
        "q": "What is the default port for the HTTP protocol?",
        "answers": ["80"],
        "evidence": "The default port for the HTTP protocol (always ``80``).",
    },
    {
        "kind": "lookup",
        "q": "What does math.gcd return?",
        "answers": ["greatest common divisor"],
        "evidence": "Return the greatest common divisor of the specified integer arguments.",
    },
    {
        "kind": "paraphrase",
        "q": "Which function gives the number of processors in the system?",
        "answers": ["cpu_count"],
        "evidence": ".. function:: cpu_count() Return the number of CPUs in the system.",
    },
    {
        "kind": "paraphrase",
        "q": "Who is the author of the Zen of Python?",
        "answers": ["Tim Peters"],
        "evidence": "The Zen of Python, by Tim Peters",
    },
    {
        "kind": "number",
        "q": "In which Python version was pickle protocol version 5 added?",
        "answers": ["3.8"],
        "evidence": "Protocol version 5 was added in Python 3.8.",
    },
    {
        "kind": "number",
        "q": "In which Python version was pickle protocol version 4 added?",
        "answers": ["3.4"],
        "evidence": "Protocol version 4 was added in Python 3.4.",
    },
    {
        "kind": "number",
        "q": "What is the default maxsize of functools.lru_cache?",
        "answers": ["128"],
        "evidence": "lru_cache(maxsize=128, typed=False)",
    },
    {
        "kind": "name",
        "q": "Who wrote The Zen of Python?",
        "answers": ["Tim Peters"],
        "evidence": "The Zen of Python, by Tim Peters",
    },
    {
        "kind": "two_fact",
        "q": "What are the default ports of the HTTP and HTTPS protocols?",
        "answers": ["80", "443"],
        "all": True,
        "evidence": [
            "The default port for the HTTP protocol (always ``80``).",
            "The default port for the HTTPS protocol (always ``443``).",
        ],
    },
    {"kind": "absent", "q": "How do I train a neural network with the keras module?", "absent": ["keras"]},
    {"kind": "absent", "q": "What is the default port of the Kubernetes API?", "absent": ["kubernetes"]},
    {"kind": "absent", "q": "Which function of the blockchain module mines a block?", "absent": ["blockchain"]},
    {"kind": "absent", "q": "What is the default port of the MQTT protocol?", "absent": ["mqtt"]},
    {"kind": "count", "q": "How many times does the word 'deprecated' occur?", "count": ("occurrences", "deprecated")},
    {"kind": "count", "q": "How many lines contain asyncio?", "count": ("lines_with", "asyncio")},
    {"kind": "count", "q": "How many times does 'lru_cache' occur?", "count": ("occurrences", "lru_cache")},
]

QUESTIONS: dict[str, list[Q]] = {"kjv": KJV, "jargon": JARGON, "ucd": UCD, "pylib": PYLIB}
