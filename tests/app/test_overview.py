"""The coarse timeline a model gets in its first prompt: what each stretch of the video holds, as fine as fits."""

from __future__ import annotations

from dataclasses import dataclass

from app.overview import MAX_STRETCHES, fit, overview_lines
from app.prompts import estimate_tokens


@dataclass(frozen=True)
class Seen:
    modality: str
    start: float
    end: float
    text: str


MOMENTS = [
    Seen("text", 21.0, 27.0, "VAULT CODE 4172"),
    Seen("speech", 30.5, 34.0, "The train to Leeds leaves from platform nine."),
    Seen("scene", 40.0, 40.0, "scene change"),
    Seen("text", 42.0, 48.0, "GATE B7 CLOSED"),
    Seen("object", 50.0, 60.0, "person"),
    Seen("object", 55.0, 60.0, "car"),
    Seen("text", 130.0, 136.0, "VAULT CODE 4172"),
    Seen("text", 131.0, 133.0, "VAULT  CODE 4172"),  # the same text, read again
]


def test_each_stretch_says_what_it_holds_with_its_own_times():
    lines = overview_lines(MOMENTS, 180.0, 3)
    assert lines == [
        '0:00-1:00: on screen: "VAULT CODE 4172" (0:21-0:27), "GATE B7 CLOSED" (0:42-0:48); '
        'said: "The train to Leeds leaves from platform nine." (0:30.5-0:34); objects: car, person; 1 scene change',
        '2:00-3:00: on screen: "VAULT CODE 4172" (2:10-2:16)',
    ], "an empty stretch has no line; a text read twice in one stretch is said once"


def test_a_crowded_stretch_names_a_few_and_counts_the_rest_and_long_quotes_are_cut():
    crowded = [Seen("text", float(i), float(i) + 1, f"NOTICE {i}") for i in range(7)]
    crowded.append(Seen("speech", 8.0, 20.0, "word " * 40))
    (line,) = overview_lines(crowded, 60.0, 1)
    assert '"NOTICE 0" (0:00-0:01), "NOTICE 1" (0:01-0:02), "NOTICE 2" (0:02-0:03) and 4 more' in line
    assert '..." (0:08-0:20)' in line and len(line) < 300


def test_the_finest_overview_that_fits_is_chosen():
    long_video = [Seen("text", t, t + 5, f"SIGN {int(t)}") for t in range(0, 3600, 90)]
    asked: list[int] = []

    def lines_for(stretches: int) -> list[str]:
        asked.append(stretches)
        return overview_lines(long_video, 3600.0, stretches)

    roomy = fit(lines_for, 10_000, estimate_tokens, 3600.0)
    assert len(roomy) == MAX_STRETCHES and asked == [MAX_STRETCHES]
    tight = fit(lines_for, 200, estimate_tokens, 3600.0)
    assert 0 < len(tight) < MAX_STRETCHES and sum(estimate_tokens(line) + 1 for line in tight) <= 200
    assert fit(lines_for, 5, estimate_tokens, 3600.0) == [], "no room, no overview"
    assert len(fit(lambda n: overview_lines(MOMENTS, 180.0, n), 10_000, estimate_tokens, 180.0)) == 2, (
        "about one stretch a minute"
    )
