"""Offline captions: the motion sentences a caption carries can be told from its other words."""

from __future__ import annotations

from memory.compose import SegmentEvidence, merge_captions, offline_caption, without_motion
from perception.motion import Activity, CameraMotion, Stillness


def test_a_caption_without_motion_keeps_every_other_word_and_its_decimal_times():
    visit = Activity(
        725.5, 739.0, (725.0, 739.5), False, False, pairs=12, share_sum=2.4,
        track=((725.5, 0.05, 0.6, 0.15), (732.0, 0.5, 0.5, 0.3), (739.0, 0.95, 0.5, 0.2)),
    )  # fmt: skip
    pan = CameraMotion(741.5, 746.0, (741.0, 746.5), False, True, motion="pan left", pairs=4, rate_sum=0.8)
    still = Stillness(700.0, 725.5, (700.0, 725.5), True, False)
    evidence = SegmentEvidence(
        700.0, 750.0, ("GATE 12.5 CLOSED",), ("The train leaves at 12.30 today.",), ("person",), (745.5,), (still, visit, pan)
    )
    caption = offline_caption(evidence)
    assert caption.count("Activity:") == caption.count("Camera:") == caption.count("No activity from") == 1
    assert without_motion(caption) == (
        'On screen: "GATE 12.5 CLOSED". Speech: The train leaves at 12.30 today. Seen: person. Scene changes at 12:25.5.'
    )
    merged = merge_captions([caption, offline_caption(SegmentEvidence(750.0, 760.0, (), (), (), (), (still,)))])
    assert "Activity:" in merged and "Activity:" not in without_motion(merged) and "GATE 12.5 CLOSED" in without_motion(merged)
    said = "Speech: Activity at the club resumes at 8. Camera crews left. No activity from the rebels."
    assert without_motion(said) == said  # words like ours, not a sentence of ours
