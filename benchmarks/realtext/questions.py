"""The benchmark's questions. Each is checked against its text by `run.py` before rlmx is asked:

* answerable kinds (lookup, paraphrase, number, name, two_fact) carry `evidence`, a passage of the text (or a
  list of passages; whitespace collapsed) that must occur in it and must hold every string of `answers`;
  `answers` are alternatives (any one counts) unless `all` is set (two-fact questions: every one is needed);
* `absent` questions carry words (or phrases) that must not occur in the text at all (so NOT FOUND is the right
  answer); some name only words the text uses, in a combination it does not hold;
* `count` questions carry `count`, a (function, argument) pair that run.py computes with its own code.

Kinds: lookup (the text's own words), paraphrase (other words than the text's), number (numbers and dates),
name (people and places), method ("how do I ...": the whole command or instruction), absent, two_fact, count.
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
    {
        "kind": "method",
        "q": "How do I install more-itertools?",
        "answers": ["python -m pip install more-itertools"],
        "evidence": "python -m pip install more-itertools",
    },
    {
        "kind": "method",
        "q": "How can I make the HTTP server bind to localhost only?",
        "answers": ["--bind 127.0.0.1"],
        "evidence": "python -m http.server --bind 127.0.0.1",
    },
    {
        "kind": "method",
        "q": "How do I serve files from a specific directory with http.server?",
        "answers": ["--directory"],
        "evidence": "python -m http.server --directory /tmp/",
    },
    {"kind": "absent", "q": "How do I train a neural network with the keras module?", "absent": ["keras"]},
    {"kind": "absent", "q": "What is the default port of the Kubernetes API?", "absent": ["kubernetes"]},
    {"kind": "absent", "q": "Which function of the blockchain module mines a block?", "absent": ["blockchain"]},
    {"kind": "absent", "q": "What is the default port of the MQTT protocol?", "absent": ["mqtt"]},
    {"kind": "count", "q": "How many times does the word 'deprecated' occur?", "count": ("occurrences", "deprecated")},
    {"kind": "count", "q": "How many lines contain asyncio?", "count": ("lines_with", "asyncio")},
    {"kind": "count", "q": "How many times does 'lru_cache' occur?", "count": ("occurrences", "lru_cache")},
]

POLICY: list[Q] = [
    {
        "kind": "name",
        "q": "Who initially wrote the Debian Policy Manual?",
        "answers": ["Ian Jackson"],
        "evidence": "this manual was initially written in 1996 by Ian Jackson",
    },
    {
        "kind": "name",
        "q": "Who revised the manual on November 27th, 1996?",
        "answers": ["David A. Morris", "Morris"],
        "evidence": "It was revised on November 27th, 1996 by David A. Morris",
    },
    {
        "kind": "number",
        "q": "In which year did Julian Gilbey largely restructure the manual?",
        "answers": ["2001"],
        "evidence": "Julian Gilbey largely restructured it in 2001",
    },
    {
        "kind": "number",
        "q": "How short must the single line synopsis be?",
        "answers": ["80"],
        "evidence": "The single line synopsis should be kept brief—certainly under 80 characters",
    },
    {
        "kind": "lookup",
        "q": "Which user has the uid 65534?",
        "answers": ["nobody"],
        "evidence": '65534: User "nobody". The corresponding gid refers to the group "nogroup".',
    },
    {
        "kind": "number",
        "q": "Which range of ids is used for dynamically allocated system users and groups?",
        "answers": ["100-999"],
        "evidence": "100-999: Dynamically allocated system users and groups",
    },
    {
        "kind": "paraphrase",
        "q": "Which archive area contains packages that do not comply with the DFSG?",
        "answers": ["non-free"],
        "evidence": (
            "The *non-free* archive area contains supplemental packages intended to work with the "
            "Debian distribution that do not comply with the DFSG"
        ),
    },
    {
        "kind": "paraphrase",
        "q": "What mode should setuid executables have?",
        "answers": ["4755"],
        "evidence": "Setuid and setgid executables should be mode 4755 or 2755",
    },
    {
        "kind": "two_fact",
        "q": "Which version of Debian Policy is this, and when was it released?",
        "answers": ["4.6.2.0", "2022-12-17"],
        "all": True,
        "evidence": "This is Debian Policy version 4.6.2.0, released on 2022-12-17.",
    },
    {"kind": "absent", "q": "Which Kubernetes version must packages support?", "absent": ["Kubernetes"]},
    {"kind": "absent", "q": "How should Flatpak bundles be signed?", "absent": ["Flatpak"]},
    {"kind": "absent", "q": "What uid does the postgres user have?", "absent": ["postgres"]},
    {"kind": "count", "q": "How many lines contain debconf?", "count": ("lines_with", "debconf")},
    {"kind": "count", "q": "How often is the word 'lintian' used?", "count": ("occurrences", "lintian")},
    {"kind": "count", "q": "How many times does the word 'Essential' occur?", "count": ("occurrences", "Essential")},
]

GNU: list[Q] = [
    {
        "kind": "number",
        "q": "When were the GNU coding standards last updated?",
        "answers": ["August 17, 2021"],
        "evidence": "The GNU coding standards, last updated August 17, 2021.",
    },
    {
        "kind": "name",
        "q": "Who wrote the GNU Coding Standards?",
        "answers": ["Richard Stallman", "Stallman"],
        "evidence": "The GNU Coding Standards were written by Richard Stallman",
    },
    {
        "kind": "lookup",
        "q": "What should the default value of prefix be?",
        "answers": ["/usr/local"],
        "evidence": "The default value of 'prefix' should be '/usr/local'",
    },
    {
        "kind": "lookup",
        "q": "What was POSIXLY_CORRECT originally going to be named?",
        "answers": ["POSIX_ME_HARDER"],
        "evidence": "'POSIXLY_CORRECT' (which was originally going to be named 'POSIX_ME_HARDER')",
    },
    {
        "kind": "number",
        "q": "To how many characters should the length of source lines be kept?",
        "answers": ["79"],
        "evidence": "Please keep the length of source lines to 79 characters or less",
    },
    {
        "kind": "paraphrase",
        "q": "Which environment variable should a program check when it makes temporary files?",
        "answers": ["TMPDIR"],
        "evidence": "If you make temporary files, check the 'TMPDIR' environment variable",
    },
    {
        "kind": "paraphrase",
        "q": "Why is a count of errors a bad exit status?",
        "answers": ["8 bits", "0 through 255", "256"],
        "evidence": "exit status values are limited to 8 bits (0 through 255)",
    },
    {
        "kind": "lookup",
        "q": "Where should suggestions for the GNU coding standards be sent?",
        "answers": ["bug-standards@gnu.org"],
        "evidence": "Please send corrections or suggestions for this document to <bug-standards@gnu.org>.",
    },
    {
        "kind": "two_fact",
        "q": "What are the default values of prefix and exec_prefix?",
        "answers": ["/usr/local", "$(prefix)"],
        "all": True,
        "evidence": [
            "The default value of 'prefix' should be '/usr/local'",
            "The default value of 'exec_prefix' should be '$(prefix)'",
        ],
    },
    {"kind": "absent", "q": "Which Rust edition do the standards recommend?", "absent": ["Rust"]},
    {"kind": "absent", "q": "Which JSON library should GNU programs use?", "absent": ["JSON"]},
    {"kind": "count", "q": "How many lines contain Autoconf?", "count": ("lines_with", "Autoconf")},
    {"kind": "count", "q": "How many lines of the text mention Emacs?", "count": ("lines_with", "Emacs")},
    {"kind": "count", "q": "How many times does the word 'Makefile' occur?", "count": ("occurrences", "Makefile")},
]

PCI: list[Q] = [
    {
        "kind": "lookup",
        "q": "Which vendor has the ID 10de?",
        "answers": ["NVIDIA"],
        "evidence": "10de NVIDIA Corporation",
    },
    {
        "kind": "lookup",
        "q": "What is the vendor ID of Intel Corporation?",
        "answers": ["8086"],
        "evidence": "8086 Intel Corporation",
    },
    {"kind": "name", "q": "Which company is vendor 1d0f?", "answers": ["Amazon"], "evidence": "1d0f Amazon.com, Inc."},
    {
        "kind": "lookup",
        "q": "What is NVIDIA device 2684?",
        "answers": ["RTX 4090", "AD102"],
        "evidence": "2684 AD102 [GeForce RTX 4090]",
    },
    {
        "kind": "lookup",
        "q": "What is the name of PCI class 02?",
        "answers": ["Network controller"],
        "evidence": "C 02 Network controller",
    },
    {
        "kind": "number",
        "q": "Which device ID does the Virtio network device have?",
        "answers": ["1000"],
        "evidence": "1000 Virtio network device",
    },
    {
        "kind": "number",
        "q": "What is the version of this list of PCI IDs?",
        "answers": ["2023.04.10"],
        "evidence": "Version: 2023.04.10",
    },
    {
        "kind": "paraphrase",
        "q": "Which graphics chip is the GeForce RTX 4090?",
        "answers": ["AD102"],
        "evidence": "2684 AD102 [GeForce RTX 4090]",
    },
    {"kind": "absent", "q": "What is the PCI vendor ID of Rivian?", "absent": ["Rivian"]},
    {"kind": "absent", "q": "What is the vendor ID of Tesla Motors?", "absent": ["Tesla Motors"]},
    {"kind": "absent", "q": "What is the device ID of the Raspberry Pi 5 GPU?", "absent": ["Raspberry"]},
    {"kind": "count", "q": "How many lines contain Realtek?", "count": ("lines_with", "Realtek")},
    {"kind": "count", "q": "How many times does the word 'Ethernet' occur?", "count": ("occurrences", "Ethernet")},
    {"kind": "count", "q": "How many vendors are listed?", "count": ("pci_vendors", "")},
    {"kind": "count", "q": "How many device classes are listed?", "count": ("pci_classes", "")},
]

FORTUNES: list[Q] = [
    {
        "kind": "name",
        "q": "Who said a banker lends you his umbrella when the sun is shining?",
        "answers": ["Mark Twain", "Twain"],
        "evidence": (
            "A banker is a fellow who lends you his umbrella when the sun is shining and wants it "
            "back the minute it begins to rain. -- Mark Twain"
        ),
    },
    {
        "kind": "lookup",
        "q": "In which play does Shakespeare write 'My kingdom for a horse'?",
        "answers": ["Richard III"],
        "evidence": 'A horse! A horse! My kingdom for a horse! -- Wm. Shakespeare, "Richard III"',
    },
    {
        "kind": "paraphrase",
        "q": "In The Metamorphosis LITE, what does the man turn into?",
        "answers": ["bug"],
        "evidence": "A man turns into a bug and his family gets annoyed.",
    },
    {
        "kind": "lookup",
        "q": "How do you catch a unique rabbit?",
        "answers": ["Unique up on it"],
        "evidence": "How do you catch a unique rabbit? A: Unique up on it!",
    },
    {
        "kind": "lookup",
        "q": "What did Philip Larkin call Anthony Burgess?",
        "answers": ["Batman of contemporary letters", "Batman"],
        "evidence": "A kind of Batman of contemporary letters. -- Philip Larkin on Anthony Burgess",
    },
    {
        "kind": "number",
        "q": "When did Harry Thurston Peck predict that The Jumping Frog alone would be remembered?",
        "answers": ["January 1901", "1901"],
        "evidence": 'Harry Thurston Peck (Editor of "The Bookman"), January 1901.',
    },
    {
        "kind": "paraphrase",
        "q": "According to Hemingway, how are the rich different from us?",
        "answers": ["more money"],
        "evidence": '"Ernest, the rich are different from us." Hemingway: "Yes. They have more money."',
    },
    {
        "kind": "lookup",
        "q": "What is the death rate around here?",
        "answers": ["One per person"],
        "evidence": "Do you know what the death rate around here is? A: One per person.",
    },
    {"kind": "absent", "q": "Who wrote War and Peace?", "absent": ["Tolstoy", "War and Peace"]},
    {"kind": "absent", "q": "What is the capital of Australia?", "absent": ["Canberra", "Australia"]},
    {"kind": "absent", "q": "In which Shakespeare play does Count Dracula appear?", "absent": ["Dracula"]},
    {"kind": "count", "q": "How many times does the word 'Twain' occur?", "count": ("occurrences", "Twain")},
    {"kind": "count", "q": "How many lines contain Shakespeare?", "count": ("lines_with", "Shakespeare")},
    {"kind": "count", "q": "How many fortunes are there?", "count": ("fortune_entries", "")},
    {"kind": "count", "q": "How many lines mention Hemingway?", "count": ("lines_with", "Hemingway")},
]

FHS: list[Q] = [
    {
        "kind": "lookup",
        "q": "What is the crond PID file named?",
        "answers": ["/run/crond.pid"],
        "evidence": "the crond PID file is named /run/crond.pid",
    },
    {
        "kind": "lookup",
        "q": "Where should lock files be stored?",
        "answers": ["/var/lock"],
        "evidence": "Lock files should be stored within the /var/lock directory structure.",
    },
    {
        "kind": "paraphrase",
        "q": "Which file would be created to lock /dev/ttyS0?",
        "answers": ["LCK..ttyS0"],
        "evidence": 'to lock /dev/ttyS0 the file "LCK..ttyS0" would be created',
    },
    {
        "kind": "number",
        "q": "What is the date of version 3.0 of the standard?",
        "answers": ["March 19, 2015"],
        "evidence": "March 19, 2015",
    },
    {
        "kind": "name",
        "q": "To whose memory is this release dedicated?",
        "answers": ["Christopher Yeoh"],
        "evidence": "This release is dedicated to the memory of Christopher Yeoh",
    },
    {
        "kind": "lookup",
        "q": "What is /media used for?",
        "answers": ["removable media"],
        "evidence": "3.11. /media : Mount point for removable media",
    },
    {
        "kind": "lookup",
        "q": "Which manual section documents games?",
        "answers": ["man6"],
        "evidence": "man6: Games This chapter documents games",
    },
    {
        "kind": "number",
        "q": "How many bytes long is the PID in an HDB UUCP lock file?",
        "answers": ["ten", "10"],
        "evidence": "The HDB format is to store the process identifier (PID) as a ten byte ASCII decimal number",
    },
    {
        "kind": "two_fact",
        "q": "Where must PID files be placed, and what is their naming convention?",
        "answers": ["/run", "<program-name>.pid"],
        "all": True,
        "evidence": (
            "Process identifier (PID) files, which were originally placed in /etc, must be placed in "
            "/run. The naming convention for PID files is <program-name>.pid."
        ),
    },
    {"kind": "absent", "q": "What is the purpose of the /snap directory?", "absent": ["snap"]},
    {"kind": "absent", "q": "Where should systemd unit files be installed?", "absent": ["systemd"]},
    {"kind": "count", "q": "How many times does the word 'optional' occur?", "count": ("occurrences", "optional")},
    {"kind": "count", "q": "How many lines contain must?", "count": ("lines_with", "must")},
]

UBUNTU: list[Q] = [
    {
        "kind": "lookup",
        "q": "What is the codename of version 10.04 LTS?",
        "answers": ["Lucid Lynx"],
        "evidence": "10.04 LTS,Lucid Lynx",
    },
    {
        "kind": "paraphrase",
        "q": "What is the codename of Ubuntu 20.04?",
        "answers": ["Focal Fossa"],
        "evidence": "20.04 LTS,Focal Fossa",
    },
    {
        "kind": "number",
        "q": "Which version is Bionic Beaver?",
        "answers": ["18.04"],
        "evidence": "18.04 LTS,Bionic Beaver",
    },
    {
        "kind": "number",
        "q": "When was Jammy Jellyfish released?",
        "answers": ["2022-04-21"],
        "evidence": "22.04 LTS,Jammy Jellyfish,jammy,2021-10-14,2022-04-21",
    },
    {
        "kind": "number",
        "q": "What is the eol-esm date of Trusty Tahr?",
        "answers": ["2024-04-25"],
        "evidence": ("14.04 LTS,Trusty Tahr,trusty,2013-10-17,2014-04-17,2019-04-25,2019-04-25,2024-04-25,2026-04-28"),
    },
    {
        "kind": "paraphrase",
        "q": "When did support for Karmic Koala end?",
        "answers": ["2011-04-30"],
        "evidence": "9.10,Karmic Koala,karmic,2009-04-23,2009-10-29,2011-04-30",
    },
    {
        "kind": "name",
        "q": "Which release has the series name xenial?",
        "answers": ["Xenial Xerus", "16.04"],
        "evidence": "16.04 LTS,Xenial Xerus,xenial",
    },
    {
        "kind": "name",
        "q": "Which release was created on 2016-10-13?",
        "answers": ["Zesty Zapus", "17.04"],
        "evidence": "17.04,Zesty Zapus,zesty,2016-10-13",
    },
    {
        "kind": "two_fact",
        "q": "What are the version and release date of Hardy Heron?",
        "answers": ["8.04", "2008-04-24"],
        "all": True,
        "evidence": "8.04 LTS,Hardy Heron,hardy,2007-10-18,2008-04-24",
    },
    {"kind": "absent", "q": "What is the codename of version 27.04?", "absent": ["27.04"]},
    {"kind": "absent", "q": "What is the kernel version of Noble Numbat?", "absent": ["kernel"]},
    {"kind": "absent", "q": "When was Debian Bookworm released?", "absent": ["Debian", "Bookworm"]},
    {"kind": "count", "q": "How many rows are in the table?", "count": ("csv_rows", "")},
    {"kind": "count", "q": "How many rows contain LTS?", "count": ("lines_with", "LTS")},
    {"kind": "count", "q": "How many times does 2013 occur?", "count": ("occurrences", "2013")},
    {"kind": "absent", "q": "What is the codename of version 3.10?", "absent": ["3.10"]},
    {"kind": "absent", "q": "What is the codename of version 28.04?", "absent": ["28.04"]},
    {"kind": "absent", "q": "What was released on 2030-04-24?", "absent": ["2030-04-24"]},
    {"kind": "absent", "q": "Who was the release manager of Lunar Lobster?", "absent": ["manager"]},
    {"kind": "count", "q": "How many Ubuntu releases are listed?", "count": ("csv_rows", "")},
]

ISO639: list[Q] = [
    {
        "kind": "lookup",
        "q": "What is the alpha_3 code of Klingon?",
        "answers": ["tlh"],
        "evidence": '"alpha_3": "tlh", "name": "Klingon"',
    },
    {
        "kind": "lookup",
        "q": "Which language has the alpha_3 code sux?",
        "answers": ["Sumerian"],
        "evidence": '"alpha_3": "sux", "name": "Sumerian"',
    },
    {
        "kind": "lookup",
        "q": "What is the code for Quenya?",
        "answers": ["qya"],
        "evidence": '"alpha_3": "qya", "name": "Quenya"',
    },
    {
        "kind": "lookup",
        "q": "What is the bibliographic code of Basque?",
        "answers": ["baq"],
        "evidence": '"bibliographic": "baq", "name": "Basque"',
    },
    {
        "kind": "lookup",
        "q": "What is the inverted name of Arbëreshë Albanian?",
        "answers": ["Albanian, Arbëreshë"],
        "evidence": '"inverted_name": "Albanian, Arbëreshë", "name": "Arbëreshë Albanian"',
    },
    {
        "kind": "paraphrase",
        "q": "What is the three-letter code for Welsh?",
        "answers": ["cym", "wel"],
        "evidence": '"alpha_3": "cym", "bibliographic": "wel", "name": "Welsh"',
    },
    {
        "kind": "paraphrase",
        "q": "What is the two-letter code for Navajo?",
        "answers": ["nv"],
        "evidence": '"alpha_2": "nv", "alpha_3": "nav", "name": "Navajo"',
    },
    {
        "kind": "name",
        "q": "What is the common name of Bengali?",
        "answers": ["Bangla"],
        "evidence": '"common_name": "Bangla", "name": "Bengali"',
    },
    {
        "kind": "name",
        "q": "Which language is identified by tpi?",
        "answers": ["Tok Pisin"],
        "evidence": '"alpha_3": "tpi", "name": "Tok Pisin"',
    },
    {
        "kind": "two_fact",
        "q": "What are the alpha_2 and alpha_3 codes of Esperanto?",
        "answers": ["eo", "epo"],
        "all": True,
        "evidence": '"alpha_2": "eo", "alpha_3": "epo", "name": "Esperanto"',
    },
    {"kind": "absent", "q": "What is the ISO 639-3 code for Dothraki?", "absent": ["Dothraki"]},
    {"kind": "absent", "q": "How many native speakers does Hawaiian have?", "absent": ["speakers", "native"]},
    {"kind": "absent", "q": "What is the ISO code of High Valyrian?", "absent": ["Valyrian"]},
    {"kind": "count", "q": "How many languages are listed?", "count": ("json_entries", "")},
    {"kind": "count", "q": "How many times does the word 'Creole' occur?", "count": ("occurrences", "Creole")},
    {"kind": "count", "q": "How many entries contain Sign?", "count": ("json_entries_with", "Sign")},
    {"kind": "absent", "q": "What is the alpha_3 code of Martian?", "absent": ["Martian"]},
    {"kind": "absent", "q": "What is the population of Tok Pisin speakers?", "absent": ["population", "speakers"]},
]

SYSTEMD: list[Q] = [
    {
        "kind": "lookup",
        "q": "Which CVE does upstream version 252.38 fix?",
        "answers": ["CVE-2025-4598"],
        "evidence": "New upstream version 252.38 (fixes CVE-2025-4598)",
    },
    {
        "kind": "lookup",
        "q": "Which flaky test was skipped in networkd-test.py?",
        "answers": ["test_resolved_domain_restricted_dns"],
        "evidence": "Skip flaky test_resolved_domain_restricted_dns in networkd-test.py.",
    },
    {
        "kind": "number",
        "q": "When was systemd 252.4-1 released?",
        "answers": ["22 Dec 2022"],
        "evidence": (
            "systemd (252.4-1) unstable; urgency=medium * Enable p11kit. Backport patch to dlopen-ify "
            "p11kit support and enable it. (Closes: #1023635) * New upstream version 252.4. (Closes: "
            "#1026831 and fixes CVE-2022-4415) * Refresh patches * Bump Standards-Version to 4.6.2, "
            "no changes -- Luca Boccassi <bluca@debian.org> Thu, 22 Dec 2022 12:26:41 +0100"
        ),
    },
    {
        "kind": "number",
        "q": "To which Standards-Version was the package bumped in 252.4-1?",
        "answers": ["4.6.2"],
        "evidence": "Bump Standards-Version to 4.6.2",
    },
    {
        "kind": "number",
        "q": "Which bug did enabling p11kit close?",
        "answers": ["1023635"],
        "evidence": ("Enable p11kit. Backport patch to dlopen-ify p11kit support and enable it. (Closes: #1023635)"),
    },
    {
        "kind": "name",
        "q": "Who uploaded systemd 252.39-1~deb12u2?",
        "answers": ["Tobias Deiminger"],
        "evidence": "-- Tobias Deiminger <tobias.deiminger@linutronix.de> Mon, 27 Apr 2026",
    },
    {
        "kind": "name",
        "q": "Who made the non-maintainer upload of 247.3-6?",
        "answers": ["Salvatore Bonaccorso"],
        "evidence": (
            "systemd (247.3-6) unstable; urgency=high * Non-maintainer upload (acked by maintainers) "
            "* unit-name: generate a clear error code when converting an overly long fs path to a "
            "unit name * basic/unit-name: do not use strdupa() on a path (CVE-2021-33910) * "
            "basic/unit-name: adjust comments -- Salvatore Bonaccorso <carnil@debian.org> Tue, 13 Jul "
            "2021"
        ),
    },
    {
        "kind": "paraphrase",
        "q": "Which bug was closed by splitting systemd-resolved into its own package?",
        "answers": ["939904"],
        "evidence": ("Split systemd-resolved into its own package which takes over /etc/resolv.conf (Closes: #939904)"),
    },
    {
        "kind": "paraphrase",
        "q": "Which file does the new systemd-resolved package take over?",
        "answers": ["/etc/resolv.conf"],
        "evidence": "Split systemd-resolved into its own package which takes over /etc/resolv.conf",
    },
    {
        "kind": "two_fact",
        "q": "Which two CVEs are fixed by upstream version 252.23?",
        "answers": ["CVE-2023-50387", "CVE-2023-50868"],
        "all": True,
        "evidence": "New upstream version 252.23 (CVE-2023-50387, CVE-2023-50868)",
    },
    {"kind": "absent", "q": "Which version added Wayland support?", "absent": ["Wayland"]},
    {"kind": "absent", "q": "When was journald rewritten in Rust?", "absent": ["Rust"]},
    {"kind": "absent", "q": "Who uploaded systemd 256.1-1?", "absent": ["256.1"]},
    {"kind": "count", "q": "How many times does the word 'Closes' occur?", "count": ("occurrences", "Closes")},
    {"kind": "count", "q": "How many lines contain Boccassi?", "count": ("lines_with", "Boccassi")},
    {"kind": "count", "q": "How many versions are listed in this changelog?", "count": ("changelog_versions", "")},
    {"kind": "absent", "q": "Which CVE does upstream version 252.99 fix?", "absent": ["252.99"]},
]

GPL3: list[Q] = [
    {
        "kind": "number",
        "q": "What is the date of version 3 of the GNU General Public License?",
        "answers": ["29 June 2007"],
        "evidence": "Version 3, 29 June 2007",
    },
    {
        "kind": "name",
        "q": "Who holds the copyright of this license document?",
        "answers": ["Free Software Foundation"],
        "evidence": "Copyright (C) 2007 Free Software Foundation, Inc.",
    },
    {
        "kind": "lookup",
        "q": 'What does "The Program" refer to?',
        "answers": ["copyrightable work"],
        "evidence": '"The Program" refers to any copyrightable work licensed under this License.',
    },
    {
        "kind": "lookup",
        "q": "What is section 15 called?",
        "answers": ["Disclaimer of Warranty"],
        "evidence": "15. Disclaimer of Warranty.",
    },
    {
        "kind": "number",
        "q": "How long must a written offer to provide the Corresponding Source be valid?",
        "answers": ["three years"],
        "evidence": "written offer, valid for at least three years",
    },
    {
        "kind": "number",
        "q": (
            "Within how many days of receiving notice must a first violation be cured for the license to be reinstated?"
        ),
        "answers": ["30"],
        "evidence": "you cure the violation prior to 30 days after your receipt of the notice",
    },
    {
        "kind": "name",
        "q": "Which license does section 13 allow combining the work with?",
        "answers": ["Affero"],
        "evidence": "13. Use with the GNU Affero General Public License.",
    },
    {
        "kind": "paraphrase",
        "q": "What is a consumer product?",
        "answers": ["tangible personal property"],
        "evidence": (
            'a "consumer product", which means any tangible personal property which is normally used '
            "for personal, family, or household purposes"
        ),
    },
    {
        "kind": "paraphrase",
        "q": ("Which license should a subroutine library use to permit linking with proprietary applications?"),
        "answers": ["Lesser"],
        "evidence": (
            "If this is what you want to do, use the GNU Lesser General Public License instead of this License."
        ),
    },
    {
        "kind": "two_fact",
        "q": "What are the titles of sections 15 and 16?",
        "answers": ["Disclaimer of Warranty", "Limitation of Liability"],
        "all": True,
        "evidence": ["15. Disclaimer of Warranty.", "16. Limitation of Liability."],
    },
    {"kind": "absent", "q": "What is the license fee in euros for commercial use?", "absent": ["euro", "euros"]},
    {"kind": "absent", "q": "Which court in California has jurisdiction over disputes?", "absent": ["California"]},
    {"kind": "absent", "q": "How does the license treat cryptocurrency mining?", "absent": ["cryptocurrency"]},
    {"kind": "count", "q": "How many times does the word 'patent' occur?", "count": ("occurrences", "patent")},
    {
        "kind": "count",
        "q": "How many lines contain Corresponding Source?",
        "count": ("lines_with", "Corresponding Source"),
    },
    {
        "kind": "number",
        "q": "Which version of the GNU General Public License is this?",
        "answers": ["3"],
        "evidence": "Version 3, 29 June 2007",
    },
]

BASHMAN: list[Q] = [
    {
        "kind": "method",
        "q": "How do I remove an alias?",
        "answers": ["unalias"],
        "evidence": "removed with the unalias command",
    },
    {
        "kind": "lookup",
        "q": "Which variable holds the process ID of the shell's parent?",
        "answers": ["PPID"],
        "evidence": "PPID The process ID of the shell's parent.",
    },
    {
        "kind": "lookup",
        "q": "Which command should be used to submit a bug report?",
        "answers": ["bashbug"],
        "evidence": "use the bashbug command to submit a bug report",
    },
    {
        "kind": "lookup",
        "q": "Which variable is the default editor for the fc builtin command?",
        "answers": ["FCEDIT"],
        "evidence": "FCEDIT The default editor for the fc builtin command.",
    },
    {
        "kind": "lookup",
        "q": "What does EPOCHSECONDS expand to?",
        "answers": ["seconds since the Unix Epoch"],
        "evidence": (
            "EPOCHSECONDS Each time this parameter is referenced, it expands to the number of seconds "
            "since the Unix Epoch"
        ),
    },
    {
        "kind": "lookup",
        "q": "Where should philosophical bug reports be mailed?",
        "answers": ["bug-bash@gnu.org"],
        "evidence": "Suggestions and `philosophical' bug reports may be mailed to bug-bash@gnu.org",
    },
    {
        "kind": "number",
        "q": "What is the largest integer RANDOM can expand to?",
        "answers": ["32767"],
        "evidence": "random integer between 0 and 32767",
    },
    {
        "kind": "number",
        "q": "What exit status is returned when a command is not found?",
        "answers": ["127"],
        "evidence": "a status of 127",
    },
    {
        "kind": "number",
        "q": "What is the return status if a command is found but is not executable?",
        "answers": ["126"],
        "evidence": "If a command is found but is not executable, the return status is 126.",
    },
    {
        "kind": "name",
        "q": "Who wrote bash?",
        "answers": ["Brian Fox", "Chet Ramey"],
        "evidence": "Brian Fox, Free Software Foundation",
    },
    {
        "kind": "name",
        "q": "At which university is Chet Ramey?",
        "answers": ["Case Western Reserve University", "Case Western"],
        "evidence": "Chet Ramey, Case Western Reserve University",
    },
    {
        "kind": "paraphrase",
        "q": "Which variable goes up by one every time a new bash instance starts?",
        "answers": ["SHLVL"],
        "evidence": "SHLVL Incremented by one each time an instance of bash is started.",
    },
    {
        "kind": "paraphrase",
        "q": "Which editor does fc fall back to when neither FCEDIT nor EDITOR is set?",
        "answers": ["vi"],
        "evidence": "If neither variable is set, vi is used.",
    },
    {
        "kind": "two_fact",
        "q": "What exit statuses mean command not found and command not executable?",
        "answers": ["127", "126"],
        "all": True,
        "evidence": ["a status of 127", "the return status is 126"],
    },
    {
        "kind": "two_fact",
        "q": "Which bash version does this manual describe, and what is its date?",
        "answers": ["5.2", "2022 September 19"],
        "all": True,
        "evidence": "GNU Bash 5.2 2022 September 19",
    },
    {"kind": "absent", "q": "Which option enables zsh-style globbing?", "absent": ["zsh"]},
    {"kind": "absent", "q": "How do you run Python code inside bash?", "absent": ["Python"]},
    {"kind": "absent", "q": "What does the wayland builtin do?", "absent": ["wayland"]},
    {"kind": "count", "q": "How many times does the word 'readline' occur?", "count": ("occurrences", "readline")},
    {"kind": "count", "q": "How many lines contain SIGINT?", "count": ("lines_with", "SIGINT")},
    {"kind": "count", "q": "How many times does the word 'builtin' occur?", "count": ("occurrences", "builtin")},
    {
        "kind": "number",
        "q": "What default value does the shell set HISTSIZE to?",
        "answers": ["500"],
        "evidence": "The shell sets the default value to 500 after reading any startup files.",
    },
]

QUESTIONS: dict[str, list[Q]] = {
    "kjv": KJV,
    "jargon": JARGON,
    "ucd": UCD,
    "pylib": PYLIB,
    "policy": POLICY,
    "gnu": GNU,
    "pci": PCI,
    "fortunes": FORTUNES,
    "fhs": FHS,
    "ubuntu": UBUNTU,
    "iso639": ISO639,
    "systemd": SYSTEMD,
    "gpl3": GPL3,
    "bashman": BASHMAN,
}
