"""One time format for every face: prompts, evidence, captions, the CLI and the web app."""

import pytest

from perception.timefmt import format_span, format_time


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0:00"), (7.5, "0:07.5"), (59.96, "1:00"), (723, "12:03"), (3723.5, "1:02:03.5"), (36000, "10:00:00")],
)
def test_format_time(seconds, text):
    assert format_time(seconds) == text


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_format_time_refuses_impossible_times(seconds):
    with pytest.raises(ValueError):
        format_time(seconds)


def test_a_span_is_two_times_and_a_moment_is_one():
    assert format_span(65, 72.5) == "1:05-1:12.5"
    assert format_span(65, 65) == "1:05"
