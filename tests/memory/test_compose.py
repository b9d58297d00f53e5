"""Offline captions: the sentences in set phrases that a caption carries can be told from its other words."""

from __future__ import annotations

from memory.compose import SegmentEvidence, clip, embedded_caption, merge_captions, offline_caption
from perception.motion import Activity, CameraMotion, Stillness


def test_the_embedded_caption_drops_motion_and_set_phrases_times_and_keeps_every_other_word():
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
    assert embedded_caption(caption) == (
        'On screen: "GATE 12.5 CLOSED". Speech: The train leaves at 12.30 today. Seen: person. Scene changes.'
    )
    quiet = offline_caption(SegmentEvidence(750.0, 760.0, (), (), (), (), (still,)))
    merged = merge_captions([caption, quiet])
    assert "Activity:" in merged and embedded_caption(merged) == (
        'On screen: "GATE 12.5 CLOSED". Speech: The train leaves at 12.30 today. Seen: person. Scene changes.'
    )
    nothing = offline_caption(SegmentEvidence(760.0, 770.0, (), (), (), (), ()))
    assert nothing.endswith("at 12:40-12:50.") and embedded_caption(nothing) == embedded_caption(merge_captions([nothing]))
    said = "Speech: Activity at the club resumes at 8. Camera crews left. No activity from the rebels."
    assert embedded_caption(said) == said  # words like ours, not a sentence of ours


def test_a_motion_sentence_clipped_by_the_caption_limit_goes_whole():
    visit = "Activity: a white region (26% of the frame) comes in from the top at 8:13.5 and stays 4 s, moving down."
    caption = clip('On screen: "EXIT 4". ' + " ".join([visit] * 8))
    assert caption.endswith("…") and embedded_caption(caption) == 'On screen: "EXIT 4".'
    assert embedded_caption(caption[: caption.index("8:13.5") + 4]) == 'On screen: "EXIT 4".'  # cut after a decimal's dot
