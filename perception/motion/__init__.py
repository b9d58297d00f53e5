"""Seeing without a vision model: activity, camera motion and stillness from sampled frames.

Pixels in, observations out, no storage. `MotionAnalyser.analyse` takes one span's frames
(and the previous span's last frame) and returns a `SpanMotion`; its observations are
`Activity`, `CameraMotion` and `Stillness` records, each with start, end, text and data for
the event timeline, and `continues` / `joined` carry a run across span boundaries. `MOTION_VERBS`
maps the words of questions to what they mean in these observations.
"""

from perception.motion.analyser import MotionAnalyser, SpanMotion
from perception.motion.colour import PALETTE
from perception.motion.process import MotionProcess
from perception.motion.records import (
    CAMERA_MOTIONS,
    Activity,
    CameraMotion,
    Observation,
    Stillness,
    chain,
    continues,
    joined,
    place,
)
from perception.motion.settings import MotionSettings
from perception.motion.verbs import MOTION_VERBS, MotionMeaning, MotionWord, motion_meanings, motion_words

__all__ = [
    "CAMERA_MOTIONS",
    "MOTION_VERBS",
    "PALETTE",
    "Activity",
    "CameraMotion",
    "MotionAnalyser",
    "MotionMeaning",
    "MotionProcess",
    "MotionSettings",
    "MotionWord",
    "Observation",
    "SpanMotion",
    "Stillness",
    "chain",
    "continues",
    "joined",
    "motion_meanings",
    "motion_words",
    "place",
]
