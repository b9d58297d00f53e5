"""The motion verb table: paraphrases of each kind of motion question find the same meaning,
words that only look like motion do not, and meanings pick the observations that show them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perception.motion import MOTION_VERBS, Activity, CameraMotion, MotionMeaning, Stillness, motion_meanings, motion_words

UP, DOWN = MotionMeaning("direction", "up"), MotionMeaning("direction", "down")
LEFT, RIGHT = MotionMeaning("direction", "left"), MotionMeaning("direction", "right")
START, END = MotionMeaning("start"), MotionMeaning("end")

PARAPHRASES = {
    START: [
        "When does someone first appear?",
        "How many times does someone come into view?",
        "When did the man enter?",
        "At what time does a person show up?",
        "When does the dog come in?",
        "when do people arrive",
        "When does she walk in?",
        "When does something pop up on the left?",
    ],
    END: [
        "When does the man leave?",
        "When did everyone exit?",
        "When does the woman walk out?",
        "Who has left?",
        "When had the visitor left?",
        "Who left the room first?",
        "When does the car disappear?",
        "When does it go out of view?",
    ],
    UP: [
        "When is the cup picked up?",
        "Does she pick the red cup up?",
        "When does he lift the box?",
        "Is the bottle raised?",
        "When does the balloon rise?",
        "does the ball go up",
        "Does it move upward?",
    ],
    DOWN: [
        "When is the bottle put down?",
        "Does he set the glass down?",
        "When does she drop the ball?",
        "When does the vase fall?",
        "Did the box fall or was it lowered?",
        "When does he lower the flag?",
        "Does the stone sink?",
        "Does it move downwards?",
    ],
    LEFT: ["Does the car move to the left?", "Which way does it go: left?", "does the ball roll leftward"],
    RIGHT: ["Does the car move to the right?", "Does the runner go right?", "Does it head right or stay?"],
    MotionMeaning("depth", "toward"): [
        "Does the dog come toward the camera?",
        "Does the car approach?",
        "Is the cart pulled?",
        "Does the person come closer?",
    ],
    MotionMeaning("depth", "away"): [
        "Does the car move away from the camera?",
        "Is the cart pushed?",
        "Does the boat recede?",
    ],
    MotionMeaning("speed_trend", "speeds up"): ["Does the car speed up?", "Does it accelerate?", "Does it get faster?"],
    MotionMeaning("speed_trend", "slows down"): ["Does the car slow down?", "Does it decelerate?", "Is it going slower?"],
    MotionMeaning("camera", "pan left"): ["Does the camera pan left?", "The camera pans to the left: when?"],
    MotionMeaning("camera", "pan right"): ["When does the camera pan right?", "Is the view panning to the right?"],
    MotionMeaning("camera", "pan"): ["Does the camera pan?", "Is there any panning?"],
    MotionMeaning("camera", "zoom in"): ["When does the camera zoom in?", "Does it zoom in on the face?"],
    MotionMeaning("camera", "zoom out"): ["Does the shot zoom out?", "When is it zoomed out?"],
    MotionMeaning("camera", "tilt up"): ["Does the camera tilt up?"],
    MotionMeaning("camera", "shake"): ["Is the camera shaking?", "Does the camera shake?", "Is the footage shaky?"],
    MotionMeaning("stillness"): [
        "When is nothing happening?",
        "When does nothing move?",
        "Is there a time with no movement?",
        "When does the man stand still?",
        "When is the room still?",
        "Is the scene motionless?",
    ],
    MotionMeaning("activity"): ["When is there movement for the last time?", "What is moving?", "Is there any motion?"],
}


@pytest.mark.parametrize(("question", "meaning"), [(q, meaning) for meaning, questions in PARAPHRASES.items() for q in questions])
def test_paraphrases_find_the_meaning(question, meaning):
    assert meaning in motion_meanings(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is shown in the top left corner?",
        "What is written on the left side?",
        "What happens right after the bell?",
        "What is the right answer?",
        "What does the pancake look like?",
        "Which notice is in the lower left?",
    ],
)
def test_words_that_only_look_like_motion_are_not_direction_or_camera(question):
    kinds = {m.kind for m in motion_meanings(question)}
    assert not kinds & {"direction", "camera", "depth"}


def test_picked_up_and_dropped_are_opposite_and_ordered():
    words = motion_words("Is the cup picked up first, or put down first?")
    assert [w.meaning for w in words] == [UP, DOWN]
    assert words[0].words == "picked up" and words[1].words == "put down"


def test_camera_phrases_are_not_also_directions():
    assert motion_meanings("Does the camera pan left?") == (MotionMeaning("camera", "pan left"),)


def activity(**fields) -> Activity:
    base = {
        "start": 1.0,
        "end": 5.0,
        "bounds": (0.0, 6.0),
        "open_start": False,
        "open_end": False,
        "pairs": 5,
        "path": 0.3,
        "travel_time": 4.0,
    }
    return Activity(**{**base, **fields})


def test_meanings_pick_the_observations_that_show_them():
    lifted = activity(dx=0.0, dy=-0.3, legs=(("up", 0.3),))
    dropped = activity(dx=0.0, dy=0.3, legs=(("down", 0.3),))
    reach_and_lift = activity(dx=0.02, dy=0.0, path=0.6, legs=(("down", 0.3), ("up", 0.3)))
    closer = activity(growth=0.5)
    pan = CameraMotion(start=0.0, end=9.0, bounds=(0.0, 10.0), open_start=True, open_end=True, motion="pan left", pairs=10)
    still = Stillness(start=9.0, end=20.0, bounds=(9.0, 20.0), open_start=False, open_end=True)
    everything = [lifted, dropped, reach_and_lift, closer, pan, still]

    def shown(meaning):
        return [o for o in everything if meaning.matches(o)]

    assert shown(UP) == [lifted, reach_and_lift]
    assert shown(DOWN) == [dropped, reach_and_lift]
    assert shown(MotionMeaning("depth", "toward")) == [closer]
    assert shown(MotionMeaning("camera", "pan")) == [pan]
    assert shown(MotionMeaning("camera", "zoom")) == []
    assert shown(MotionMeaning("stillness")) == [still]
    assert shown(START) == [lifted, dropped, reach_and_lift, closer]


def test_every_table_entry_finds_itself():
    for phrase, meaning in MOTION_VERBS.items():
        if phrase.startswith("~"):
            continue
        assert meaning in motion_meanings(f"when does it {phrase.lstrip('=')}?"), phrase


@given(st.text(max_size=200))
def test_any_text_parses(text):
    for word in motion_words(text):
        assert text.lower()[word.at : word.at + len(word.words)] == word.words
