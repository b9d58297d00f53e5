"""Temporal question understanding: what a question asks, about what, in which modality, at which times.

`parse_question` reads a question (and its options) into a `TemporalQuestion`; the
phrases module writes counts and durations back the way answers should say them.
"""

from app.questions.options import OptionMeaning, read_option
from app.questions.parse import Reference, TemporalQuestion, parse_question
from app.questions.phrases import format_count, format_duration
from app.questions.tables import KINDS, RELATIONS
from app.questions.times import Mark, TimeWindow

__all__ = [
    "KINDS",
    "RELATIONS",
    "Mark",
    "OptionMeaning",
    "Reference",
    "TemporalQuestion",
    "TimeWindow",
    "format_count",
    "format_duration",
    "parse_question",
    "read_option",
]
