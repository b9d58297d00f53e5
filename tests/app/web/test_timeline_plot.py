"""The memory timeline stays readable on a 3 h video: ticks on round times, and the 10 s lane drawn
(with its gaps) rather than painted white by 1,080 outlines."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from app import Longshot
from app.web.memory_browser import lane_bars, round_ticks, timeline_figure
from memory.episodic import EpisodicMemory, SegmentDraft
from perception.timefmt import format_time
from tests.memory.catalogue import add_video

HOURS3 = 3 * 3600
GAP = (3600, 4200)  # ten minutes the 10 s lane has no segments for


@pytest.fixture
def three_hours(home) -> tuple[Longshot, str]:
    longshot = Longshot(home=home)
    video = add_video(longshot.library, duration=HOURS3)
    drafts = [
        SegmentDraft(scale, start, min(start + scale, HOURS3), caption=f"{scale:g} s at {start}")
        for scale in (10, 30, 180, 600)
        for start in range(0, HOURS3, scale)
        if not (scale == 10 and GAP[0] <= start < GAP[1])
    ]
    with longshot.library.transaction() as conn:
        EpisodicMemory(longshot.library, None).add(conn, video, drafts)
    return longshot, video


@pytest.mark.parametrize(
    ("duration", "step"), [(60, 10), (61.5, 10), (600, 60), (3600, 600), (HOURS3, 1800), (10 * 3600, 3600), (50 * 86400, 432000)]
)
def test_ticks_fall_on_round_times(duration, step):
    ticks = round_ticks(duration)
    assert ticks[0] == 0 and len(ticks) <= 11 and ticks[-1] <= duration < ticks[-1] + step
    assert np.allclose(np.diff(ticks), step)


def _lane_pixels(figure, row: int, start: float, end: float) -> np.ndarray:
    """The RGB pixels along the middle of lane `row`, from `start` to `end` seconds."""
    canvas = FigureCanvasAgg(figure)  # the app closed the figure's pyplot canvas; draw it as Gradio's PNG would
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3]
    axes = figure.axes[0]
    height = image.shape[0]
    (x0, y), (x1, _) = axes.transData.transform([(start, row), (end, row)])
    return image[height - round(y), int(np.ceil(x0)) + 1 : int(np.floor(x1)) - 1]


def test_a_three_hour_timeline_has_round_ticks_and_draws_its_10_s_lane_with_its_gap(three_hours):
    longshot, video = three_hours
    figure = timeline_figure(longshot, video)
    axes = figure.axes[0]
    assert next(t.get_text() for t in axes.get_yticklabels()) == "0:10 segments"
    labels = [format_time(t) for t in axes.get_xticks()]
    assert labels == ["0:00", "30:00", "1:00:00", "1:30:00", "2:00:00", "2:30:00", "3:00:00"]
    white = (_lane_pixels(figure, 0, 0, GAP[0]) > 240).all(axis=1)
    assert white.mean() < 0.02, f"{white.mean():.0%} of the 10 s lane before the gap is blank"
    assert (_lane_pixels(figure, 0, *GAP) > 240).all(axis=1).mean() > 0.9, "the gap is drawn as a gap"
    assert (_lane_pixels(figure, 3, 0, HOURS3) > 240).all(axis=1).mean() < 0.1  # 10 min segments, outlined


def test_wide_segments_keep_their_outlines_and_narrow_ones_join_into_runs():
    bars, outlined = lane_bars([(0, 10), (10, 20), (20, 30)], seconds_per_px=0.1)
    assert outlined and bars == [(0, 10), (10, 10), (20, 10)]
    bars, outlined = lane_bars([(0, 10), (10, 20), (40, 50), (50, 60)], seconds_per_px=13.5)
    assert not outlined and bars == [(0, 20), (40, 20)]
