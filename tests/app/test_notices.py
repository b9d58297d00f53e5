"""Which on-screen texts are notices: a legible, cleanly read text over the footage's own faded title card or
an uncertainly read logo; texts stored before their looks were measured are all alike."""

from __future__ import annotations

from app.answer import Evidence
from app.policies.notices import likeness, notice_items, notices
from app.policies.timeline_reading import showings


def text(start: float, text: str, contrast: float | None, confidence: float = 1.0, agreement: float = 1.0) -> Evidence:
    data = {"box": [0.1, 0.1, 0.5, 0.2]}
    if contrast is not None:
        data |= {"contrast": contrast, "confidence": confidence, "agreement": agreement}
    return Evidence("occurrence", start, start + 4, text, 1.0, key=f"occurrence:{start}", modality="text", data=data)


# as measured on the held-out needle video: the film's title over a pale sky, its stylised logo, two notices
TITLE = text(21.5, "THE PEACH OPEN MOVIE PROJECT PRESENTS", 0.25, 0.99)
LOGO = text(25.5, "BUNKY", 0.66, 0.79, agreement=0.6)
PLATE = text(52.5, "LIBRARY CLOSES AT 6 PM", 0.81, 0.99)
OUTLINED = text(1100.5, "NO ENTRY TO WING E", 0.61, 0.96)


def test_a_legible_clean_reading_is_more_notice_like_than_a_faded_title_or_a_logo() -> None:
    assert likeness(PLATE) > likeness(OUTLINED) > max(likeness(TITLE), likeness(LOGO))
    assert likeness(text(0, "OLD", None)) == 1.0  # unmeasured: no opinion
    speech = Evidence("occurrence", 0, 2, "Hello.", 1.0, modality="speech")
    assert likeness(speech) == 1.0


def test_notices_keep_every_notice_and_leave_out_the_footages_own_text() -> None:
    kept = notices(showings([TITLE, LOGO, PLATE, OUTLINED]))
    assert [s.text for s in kept] == ["LIBRARY CLOSES AT 6 PM", "NO ENTRY TO WING E"]
    assert notice_items([TITLE, LOGO, OUTLINED]) == [OUTLINED]
    assert notice_items([TITLE, LOGO]) == [TITLE, LOGO]  # nothing more notice-like: the texts there are, alike
    assert notices([]) == [] and notice_items([]) == []


def test_texts_stored_before_looks_were_measured_are_all_kept() -> None:
    old = [text(1, "A NOTICE", None), text(9, "ANOTHER", None)]
    assert notice_items(old) == old
