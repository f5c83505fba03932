"""How a ticket's subject is indexed, so a fragment of it is found among millions of tickets.

A subject is indexed as terms computed when it is written (``Ticket.search_grams``, kept by
the model), the way customer names are (DESIGN.md, "Search"): every Chinese character and
pair of adjacent characters, and for each Latin or digit word (model numbers, error codes) its
one- and two-character prefixes and every run of three. A fragment is looked up as the terms
it must contain, all of them: two Chinese characters are one term (漏水), longer ones their
pairs, a Latin fragment of three or more its runs of three, a shorter one a word prefix. When
the terms do not pin the fragment down (pairs or runs that may lie apart), the subject itself
is checked as well, on the few rows the index leaves.

SQLite keeps the terms in an FTS5 table (``ticket_grams``, kept by triggers); PostgreSQL in a
GIN index over the ``text[]`` column (``ticket_search.subject_matches`` writes the condition). A
plain ``LIKE '%…%'`` would scan every subject instead.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

CJK_RUN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD: Final = re.compile(r"[0-9a-z]+")
MAX_WORD: Final = 40  # longer runs of letters are not words anyone searches for by a fragment


def _fold(text_: str) -> str:
    return unicodedata.normalize("NFKC", text_).lower()


def terms(subject: str) -> list[str]:
    """The index terms of a subject."""
    found: set[str] = set()
    folded = _fold(subject)
    for run in CJK_RUN.findall(folded):
        found.update(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in WORD.findall(folded):
        word = word[:MAX_WORD]
        found.update((word[:1], word[:2]))
        found.update(word[i : i + 3] for i in range(len(word) - 2))
    return sorted(found)


def query_terms(fragment: str) -> tuple[list[str], bool]:
    """The terms every subject holding ``fragment`` has, and whether they are enough on their
    own (True) or the subject must be checked as well."""
    folded = _fold(fragment)
    wanted: set[str] = set()
    exact = True
    for run in CJK_RUN.findall(folded):
        if len(run) <= 2:
            wanted.add(run)
        else:
            wanted.update(run[i : i + 2] for i in range(len(run) - 1))
            exact = False
    for word in WORD.findall(folded):
        if len(word) <= 2:
            # the prefix of a word: "e4" finds "e4", "e45"; a fragment inside a word is not
            # looked for at this length
            wanted.add(word)
        else:
            wanted.update(word[i : i + 3] for i in range(min(len(word), MAX_WORD) - 2))
            exact = exact and len(word) == 3
    pieces = len(CJK_RUN.findall(folded)) + len(WORD.findall(folded))
    return sorted(wanted), exact and pieces == 1
