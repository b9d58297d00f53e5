"""Motion analysis on scenes with known motion: shapes of known colour moving in known
directions at known speeds, a camera that pans, tilts and zooms over a still scene, sensor
noise alone, and visitors coming and going at random seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception.errors import ConfigError, FrameSequenceError
from perception.motion import (
    Activity,
    CameraMotion,
    MotionAnalyser,
    MotionSettings,
    Stillness,
    chain,
    continues,
    joined,
)
from perception.motion.colour import PALETTE, palette_indices
from tests.motion_media import COLOURS, Mover, camera, scene, texture

SIZE = (448, 252)  # ingest's working resolution for a 16:9 video
ANALYSER = MotionAnalyser()


def activities(observations) -> list[Activity]:
    return [o for o in observations if isinstance(o, Activity)]


def in_spans(frames: np.ndarray, times: np.ndarray, span: float):
    """What ingest does: spans analysed one by one, each with the previous span's last frame,
    chained into the whole video's observations."""
    found: list = []
    previous = None
    for start in np.arange(0, times[-1] + 1e-9, span):
        inside = (times >= start) & (times < start + span)
        motion = ANALYSER.analyse(frames[inside], times[inside], previous=previous)
        found = chain(found, motion.observations)
        previous = (frames[inside][-1], float(times[inside][-1]))
    return found


DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}


def moving_case(direction: str, colour: str, speed: float, seed: int) -> tuple[Mover, float, float]:
    """A shape moving `direction` at `speed` (frame widths per second), placed at random so it
    stays in the frame, visible for a random non-integer stretch of time."""
    rng = np.random.default_rng(seed)
    ux, uy = DIRECTIONS[direction]
    aspect = SIZE[0] / SIZE[1]
    room = 0.55 if ux else 0.45 / aspect  # frame widths the shape may travel along its axis
    duration = rng.uniform(0.6, 1.0) * min(12, room / speed)
    travel = speed * duration
    lo_x, hi_x = 0.12 + max(0, -ux * travel), 0.88 - max(0, ux * travel)
    lo_y, hi_y = 0.2 + max(0, -uy * travel * aspect), 0.8 - max(0, uy * travel * aspect)
    start = (rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y))
    since = rng.uniform(4, 9)
    mover = Mover(COLOURS[colour], start, (ux * speed, uy * speed), radius=0.06, since=since, until=since + duration)
    return mover, since, since + duration


SHAPE_CASES = [
    (direction, colour, speed, seed)
    for seed, (direction, colour, speed) in enumerate(
        [
            ("right", "red", 0.03),
            ("right", "blue", 0.12),
            ("left", "green", 0.05),
            ("left", "yellow", 0.1),
            ("down", "purple", 0.025),
            ("down", "red", 0.04),
            ("up", "blue", 0.03),
            ("up", "green", 0.045),
        ]
    )
]


@pytest.mark.parametrize(("direction", "colour", "speed", "seed"), SHAPE_CASES)
def test_a_moving_shape_gives_its_direction_speed_colour_and_times(direction, colour, speed, seed):
    mover, since, until = moving_case(direction, colour, speed, seed)
    times = np.arange(0.0, 30.0)
    frames = scene(texture(*SIZE, seed=seed), [mover], times, noise=2.0, seed=seed)

    found = ANALYSER.analyse(frames, times).observations

    [run] = activities(found)
    assert run.direction == direction
    assert run.colour == colour
    assert run.speed == pytest.approx(speed, rel=0.35)
    assert abs(run.start - since) <= 1.0 and abs(run.end - until) <= 1.0
    assert run.entered == () and run.exited == ()  # it appeared and vanished inside the frame
    assert direction in run.text and colour in run.text
    stills = [o for o in found if isinstance(o, Stillness)]
    assert [round(o.end - o.start) for o in stills] == [round(run.start), round(29 - run.end)]


@pytest.mark.parametrize(("speed", "word"), [(0.02, "slow"), (0.1, "moderate"), (0.3, "fast")])
def test_speed_words_follow_the_speed(speed, word):
    mover = Mover(COLOURS["red"], (0.1, 0.5), (speed, 0), radius=0.05, since=2.5)
    times = np.arange(0.0, 2.5 + 0.75 / speed, 1 / 2) if speed > 0.2 else np.arange(0.0, 12.0)
    frames = scene(texture(*SIZE, seed=3), [mover], times, noise=2.0)
    [run] = activities(ANALYSER.analyse(frames, times).observations)
    assert run.speed_word == word
    assert run.direction == "right"


@pytest.mark.parametrize(("growth", "depth"), [(1.15, "toward"), (1 / 1.15, "away")])
def test_a_region_growing_in_place_comes_toward_the_camera(growth, depth):
    mover = Mover(COLOURS["blue"], (0.5, 0.5), radius=0.12, growth=growth, since=3.4, until=14.6)
    times = np.arange(0.0, 20.0)
    frames = scene(texture(*SIZE, seed=4), [mover], times, noise=2.0)
    [run] = activities(ANALYSER.analyse(frames, times).observations)
    assert run.depth == depth
    assert run.direction is None  # it grows where it is; it does not travel
    assert ("toward the camera" if depth == "toward" else "away from the camera") in run.text


def test_entering_and_leaving_name_the_edges():
    mover = Mover(COLOURS["red"], (-0.1, 0.5), (0.1, 0), radius=0.06, since=2.3)
    times = np.arange(0.0, 17.0)
    frames = scene(texture(*SIZE, seed=5), [mover], times, noise=2.0)
    [run] = activities(ANALYSER.analyse(frames, times).observations)
    assert run.direction == "right"
    assert "left" in run.entered and "right" in run.exited
    assert "entering at the left" in run.text and "leaving at the right" in run.text


CAMERA_CASES = [
    ({"pan": 0.08}, "pan right"),
    ({"pan": -0.06}, "pan left"),
    ({"tilt": 0.05}, "tilt up"),
    ({"tilt": -0.05}, "tilt down"),
    ({"zoom": 1.12}, "zoom in"),
    ({"zoom": 1 / 1.12}, "zoom out"),
]


@pytest.mark.parametrize(("motion", "label"), CAMERA_CASES)
def test_a_moving_camera_is_camera_motion_not_activity(motion, label):
    times = np.arange(0.0, 20.0)
    frames = camera(texture(1600, 1000, seed=6, contrast=80), SIZE, times, noise=2.0, **motion)
    found = ANALYSER.analyse(frames, times).observations
    assert activities(found) == []
    [run] = [o for o in found if isinstance(o, CameraMotion)]
    assert run.motion == label
    assert run.start <= 0.5 and run.end >= 18.5
    expected = abs(motion.get("pan", 0) or motion.get("tilt", 0) or np.log(motion.get("zoom", 1)) / 2)
    assert run.rate == pytest.approx(expected, rel=0.2)


def test_a_shaking_camera_is_a_shake():
    times = np.arange(0.0, 20.0)
    frames = camera(texture(1600, 1000, seed=7, contrast=80), SIZE, times, shake=0.04, noise=2.0, seed=7)
    found = ANALYSER.analyse(frames, times).observations
    assert activities(found) == []
    shakes = [o for o in found if isinstance(o, CameraMotion)]
    assert shakes and all(o.motion == "shake" for o in shakes)


def test_object_motion_is_measured_after_the_camera_is_taken_out():
    # The camera pans left while a red shape walks right through the scene: the pan is camera
    # motion, and the shape's direction is its own (right), not the pan's image motion.
    world = texture(1600, 1000, seed=8, contrast=80)
    # (World units: the view is 448 of the world's 1600 pixels; the walker stays in view.)
    walker = Mover(COLOURS["red"], (0.43, 0.5), (0.008, 0), radius=0.03, since=3.3, until=12.7)
    times = np.arange(0.0, 16.0)
    frames = camera(world, SIZE, times, pan=-0.04, noise=2.0, movers=[walker])
    found = ANALYSER.analyse(frames, times).observations
    [pan] = [o for o in found if isinstance(o, CameraMotion)]
    assert pan.motion == "pan left" and pan.start <= 0.5 and pan.end >= 14.5
    [run] = activities(found)
    assert run.direction == "right" and run.colour == "red"
    assert run.speed == pytest.approx(0.008 * 1600 / 448, rel=0.35)  # its own speed, not the pan's
    assert abs(run.start - 3.3) <= 1 and abs(run.end - 12.7) <= 1


@pytest.mark.parametrize(("noise", "contrast"), [(1.0, 30.0), (4.0, 50.0), (10.0, 80.0)])
def test_sensor_noise_alone_is_no_activity(noise, contrast):
    times = np.arange(0.0, 60.0)
    frames = scene(texture(*SIZE, seed=9, contrast=contrast), [], times, noise=noise, seed=int(noise))
    found = in_spans(frames, times, 30.0)
    assert [type(o) for o in found] == [Stillness]
    assert (found[0].start, found[0].end) == (0.0, 59.0)
    assert found[0].text == "no activity, 0:00-0:59"


def visitors(seed: int, seconds: float, count: int) -> list[tuple[float, float]]:
    """`count` visits at random non-integer seconds, of random lengths, apart from one another."""
    rng = np.random.default_rng(seed)
    visits: list[tuple[float, float]] = []
    while len(visits) < count:
        start, length = rng.uniform(2, seconds - 20), rng.uniform(3, 16)
        if all(start > b + 4 or start + length < a - 4 for a, b in visits):
            visits.append((start, start + length))
    return sorted(visits)


def person(start: float, end: float, rng: np.random.Generator) -> Mover:
    """A person-sized region standing about (it sways, as people do) somewhere in the room."""
    colour = list(COLOURS.values())[int(rng.integers(len(COLOURS)))]
    where = (rng.uniform(0.2, 0.8), rng.uniform(0.35, 0.65))
    return Mover(colour, where, radius=0.11, since=start, until=end, wander=0.02)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_visits_to_a_still_scene_come_back_within_a_second(seed):
    rng = np.random.default_rng(seed)
    visits = visitors(seed, 150, 4)
    times = np.arange(0.0, 150.0)
    frames = scene(texture(*SIZE, seed=seed), [person(a, b, rng) for a, b in visits], times, noise=3.0, seed=seed)

    found = in_spans(frames, times, 30.0)

    runs = activities(found)
    assert len(runs) == len(visits)
    for run, (start, end) in zip(runs, visits):
        assert abs(run.start - start) <= 1.0 and abs(run.end - end) <= 1.0
    stills = [o for o in found if isinstance(o, Stillness)]
    assert len(stills) == len(visits) + 1  # before, between and after the visits


def test_a_visitor_who_stands_still_is_one_visit_and_two_visitors_are_two():
    # Each person sways, but the first stands stock still from 9.4 s to 14.2 s; the second
    # arrives elsewhere 1.6 s after the first has gone.
    red, blue = COLOURS["red"], COLOURS["blue"]
    first = [
        Mover(red, (0.3, 0.5), radius=0.11, since=4.3, until=9.4, wander=0.02),
        Mover(red, (0.3, 0.5), radius=0.11, since=9.4, until=14.2),
        Mover(red, (0.3, 0.5), radius=0.11, since=14.2, until=19.6, wander=0.02),
    ]
    second = Mover(blue, (0.7, 0.45), radius=0.11, since=21.2, until=27.7, wander=0.02)
    times = np.arange(0.0, 30.0)
    frames = scene(texture(*SIZE, seed=14), [*first, second], times, noise=3.0, seed=14)
    runs = activities(ANALYSER.analyse(frames, times).observations)
    assert [r.colour for r in runs] == ["red", "blue"]
    for run, (start, end) in zip(runs, [(4.3, 19.6), (21.2, 27.7)]):
        assert abs(run.start - start) <= 1 and abs(run.end - end) <= 1
    # Without looking for what stays, the stock-still stretch splits the first visit.
    unbridged = activities(MotionAnalyser(MotionSettings(max_presence_pause=0)).analyse(frames, times).observations)
    assert [r.colour for r in unbridged] == ["red", "red", "blue"]


def test_spans_chained_equal_one_analysis_of_the_whole():
    rng = np.random.default_rng(21)
    visits = [(12.4, 41.7), (58.2, 61.9), (89.6, 95.3)]  # the first crosses a span boundary
    times = np.arange(0.0, 120.0)
    frames = scene(texture(*SIZE, seed=21), [person(a, b, rng) for a, b in visits], times, noise=3.0, seed=21)
    whole = ANALYSER.analyse(frames, times).observations
    spans = in_spans(frames, times, 30.0)
    same = ("start", "end", "bounds", "pairs", "share_peak", "where", "colour", "first_at", "last_at")
    assert [{k: o.data[k] for k in same} for o in activities(spans)] == [{k: o.data[k] for k in same} for o in activities(whole)]
    # The one step across the boundary is seen by neither span, so the path is a step shorter.
    for mine, theirs in zip(activities(spans), activities(whole)):
        assert 0.6 * theirs.path <= mine.path <= theirs.path
    # A stillness that a span's end cuts off ends at that span's last frame, not half a second
    # into the next span's first moving pair, which only that span sees.
    stills, still_whole = ([o for o in found if isinstance(o, Stillness)] for found in (spans, whole))
    assert len(stills) == len(still_whole) == 4
    for mine, theirs in zip(stills, still_whole):
        assert mine.start == theirs.start and 0 <= theirs.end - mine.end <= 0.5
    first = activities(spans)[0]
    assert first.bounds == (12.0, 42.0) and not first.open_start and not first.open_end


def test_the_same_frames_give_the_same_observations():
    rng = np.random.default_rng(22)
    times = np.arange(0.0, 30.0)
    frames = scene(texture(*SIZE, seed=22), [person(4.3, 20.8, rng)], times, noise=3.0, seed=22)
    first = MotionAnalyser().analyse(frames, times).observations
    again = MotionAnalyser().analyse(frames.copy(), times).observations
    assert [o.data for o in first] == [o.data for o in again]


def test_records_round_trip_through_json():
    world = texture(1600, 1000, seed=23, contrast=80)
    times = np.arange(0.0, 20.0)
    walker = Mover(COLOURS["green"], (0.45, 0.5), (0.03, 0), radius=0.03, since=3.3, until=15.7)
    found = ANALYSER.analyse(camera(world, SIZE, times, pan=0.05, movers=[walker]), times).observations
    assert {type(o) for o in found} == {Activity, CameraMotion, Stillness}
    for observation in found:
        data = json.loads(json.dumps(observation.data))
        assert type(observation).from_data(data) == observation
        assert data["start"] == observation.start and data["end"] == observation.end


def test_a_run_crossing_a_boundary_is_joined_and_others_are_not():
    rng = np.random.default_rng(24)
    times = np.arange(0.0, 60.0)
    frames = scene(texture(*SIZE, seed=24), [person(20.3, 44.6, rng)], times, noise=3.0, seed=24)
    early = ANALYSER.analyse(frames[:30], times[:30]).observations
    late = ANALYSER.analyse(frames[30:], times[30:], previous=(frames[29], 29.0)).observations
    [a], [b] = activities(early), activities(late)
    assert a.open_end and b.open_start and continues(a, b)
    run = joined(a, b)
    assert abs(run.start - 20.3) <= 1 and abs(run.end - 44.6) <= 1
    assert run.pairs == a.pairs + b.pairs and run.bounds == (a.bounds[0], b.bounds[1])
    still_before = next(o for o in early if isinstance(o, Stillness))
    assert not continues(still_before, b)
    with pytest.raises(ValueError):
        joined(still_before, b)
    # Without the previous frame the later span cannot know the run continues.
    unlinked = activities(ANALYSER.analyse(frames[30:], times[30:]).observations)[0]
    assert not continues(a, unlinked)


def test_refining_around_changes_sharpens_onsets_and_costs_nothing_when_still():
    rng = np.random.default_rng(25)
    visit = (7.3, 18.6)
    fine = np.arange(0.0, 30.0, 0.25)
    frames = scene(texture(*SIZE, seed=25), [person(*visit, rng)], fine, noise=3.0, seed=25)
    every = {round(t, 2): f for t, f in zip(fine, frames)}
    times = np.arange(0.0, 30.0)
    coarse = ANALYSER.analyse(np.stack([every[t] for t in times]), times)
    assert coarse.wanted and all(6 < t < 8 or 18 < t < 20 for t in coarse.wanted)
    extra_times = list(coarse.wanted)
    sharp = coarse.refined(np.stack([every[round(t, 2)] for t in extra_times]), extra_times)
    assert sharp.wanted == ()
    [run] = activities(sharp.observations)
    assert abs(run.start - visit[0]) <= 0.25 and abs(run.end - visit[1]) <= 0.25
    still = ANALYSER.analyse(scene(texture(*SIZE, seed=25), [], times, noise=3.0), times)
    assert still.wanted == ()


def test_a_cut_is_neither_activity_nor_stillness():
    times = np.arange(0.0, 20.0)
    first = scene(texture(*SIZE, seed=26), [], times[:10], noise=2.0)
    second = scene(texture(*SIZE, seed=27), [], times[10:], noise=2.0)
    found = ANALYSER.analyse(np.concatenate([first, second]), times).observations
    assert activities(found) == []
    assert [(o.start, o.end) for o in found] == [(0.0, 9.0), (10.0, 19.0)]


def test_palette_names_plain_colours():
    named = {
        (220, 30, 30): "red",
        (40, 170, 60): "green",
        (40, 70, 210): "blue",
        (230, 210, 40): "yellow",
        (240, 140, 20): "orange",
        (120, 70, 30): "brown",
        (130, 40, 170): "purple",
        (250, 160, 190): "pink",
        (30, 200, 210): "cyan",
        (10, 10, 10): "black",
        (128, 128, 128): "grey",
        (245, 245, 245): "white",
    }
    pixels = np.array(list(named), np.uint8)
    assert [PALETTE[i] for i in palette_indices(pixels)] == list(named.values())


def test_bad_input_is_a_typed_error():
    frames = np.zeros((3, 90, 160, 3), np.uint8)
    with pytest.raises(FrameSequenceError, match="uint8"):
        ANALYSER.analyse(frames.astype(np.float32), [0, 1, 2])
    with pytest.raises(FrameSequenceError, match="increasing"):
        ANALYSER.analyse(frames, [0, 2, 1])
    with pytest.raises(FrameSequenceError, match="3 frames but 2 times"):
        ANALYSER.analyse(frames, [0, 1])
    with pytest.raises(FrameSequenceError, match="previous frame"):
        ANALYSER.analyse(frames, [0, 1, 2], previous=(frames[0], 5.0))
    with pytest.raises(FrameSequenceError, match="one size"):
        ANALYSER.analyse(frames, [1, 2, 3], previous=(np.zeros((10, 10, 3), np.uint8), 0.0))
    with pytest.raises(FrameSequenceError, match="at least one frame"):
        ANALYSER.analyse(frames[:0], [])
    with pytest.raises(FrameSequenceError, match="outside"):
        ANALYSER.analyse(frames, [0, 1, 2]).refined(frames[:1], [7.0])
    with pytest.raises(ConfigError, match="local_fps"):
        MotionSettings(local_fps=0)


def test_one_frame_is_no_motion():
    motion = ANALYSER.analyse(np.zeros((1, 90, 160, 3), np.uint8), [4.0])
    assert motion.observations == () and motion.wanted == ()
