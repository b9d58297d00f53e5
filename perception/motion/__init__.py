"""Seeing without a vision model: activity, camera motion and stillness from sampled frames.

Pixels in, observations out, no storage. `MotionAnalyser.analyse` takes one span's frames
(and the previous span's last frame) and returns a `SpanMotion`; its observations are
`Activity`, `CameraMotion` and `Stillness` records, each with start, end, text and data for
the event timeline, and `continues` / `joined` carry a run across span boundaries. `MOTION_VERBS`
maps the words of questions to what they mean in these observations.
"""

from perception.motion.analyser import MotionAnalyser, MotionSettings, SpanMotion
from perception.motion.colour import PALETTE
from perception.motion.records import (
    CAMERA_MOTIONS,
    Activity,
    CameraMotion,
    Observation,
    Stillness,
    continues,
    joined,
    place,
)

__all__ = [
    "CAMERA_MOTIONS",
    "PALETTE",
    "Activity",
    "CameraMotion",
    "MotionAnalyser",
    "MotionSettings",
    "Observation",
    "SpanMotion",
    "Stillness",
    "continues",
    "joined",
    "place",
]
