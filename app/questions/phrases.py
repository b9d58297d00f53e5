"""Counts and durations written the way an answer should lead with them: "3 times, at 4:12, 17:40 and 33:05".

What these write, `read_option` reads back to the same number, so an answer can be
checked against options, and the times are in the one format of `perception.timefmt`.
"""

from __future__ import annotations

from collections.abc import Sequence

from perception.timefmt import format_span, format_time

LISTED = 10  # times listed in a count before "and N more"
_COUNT_WORDS = {1: "once", 2: "twice"}


def format_count(times: Sequence[float], listed: int = LISTED) -> str:
    """How many times and when: "never", "once, at 4:12", "3 times, at 4:12, 17:40 and 33:05"."""
    if not times:
        return "never"
    ordered = sorted(times)
    moments = [format_time(t) for t in ordered[:listed]]
    more = len(ordered) - len(moments)
    if more:
        moments.append(f"{more} more")
    listing = moments[0] if len(moments) == 1 else f"{', '.join(moments[:-1])} and {moments[-1]}"
    return f"{_COUNT_WORDS.get(len(ordered), f'{len(ordered)} times')}, at {listing}"


def format_amount(seconds: float) -> str:
    """An amount of time in words, to the second: "45 seconds", "2 minutes 5 seconds", "1 hour 3 minutes"."""
    whole = round(seconds)
    if whole < 1:
        return "under a second"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def format_duration(start: float, end: float, approximate: bool = True) -> str:
    """How long and when: "about 45 seconds, 12:05-12:50" (sampled frames place a start and end only so closely)."""
    amount = format_amount(end - start)
    return f"{'about ' if approximate and amount != 'under a second' else ''}{amount}, {format_span(start, end)}"
