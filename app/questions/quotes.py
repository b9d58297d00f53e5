"""Quotations in a question, set aside so that nothing quoted is read as part of the question's frame.

"When is 'right after the storm' said?" asks when, not what comes right after a storm:
each quotation becomes one placeholder character, and the patterns run on what is left.
"""

from __future__ import annotations

import re

# One definition of a quotation for the whole app: the scorer's (a private name until scoring.py is reorganised).
from app.scoring import _QUOTED as QUOTED

PLACEHOLDERS = re.compile("[\ue000-\uf8ff]")  # Unicode's private use area: one character per quotation
_FIRST = 0xE000
_AVAILABLE = 0xF8FF - _FIRST + 1


def mask_quotes(text: str) -> tuple[str, list[str]]:
    """`text` with each quotation replaced by a placeholder, and the quotations in order."""
    text = PLACEHOLDERS.sub(" ", text)  # a placeholder in the input would pose as a quotation
    quotes: list[str] = []

    def hold(m: re.Match) -> str:
        if len(quotes) >= _AVAILABLE or not m.group(1).strip():
            return m.group()
        quotes.append(m.group(1).strip())
        return chr(_FIRST + len(quotes) - 1)

    return QUOTED.sub(hold, text), quotes


def quotes_in(masked: str, quotes: list[str]) -> list[str]:
    """The quotations whose placeholders are in `masked` (a part of the masked text), in order."""
    return [quotes[ord(c) - _FIRST] for c in PLACEHOLDERS.findall(masked)]
