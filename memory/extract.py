"""Entities and facts stated plainly by a base segment's evidence, without a generative model.

On-screen text is a fact as it stands ("shown: VAULT CODE 4172"); speech gives its
keyphrases (YAKE, statistical, no weights) as entities, each with the sentence that said
it; detections give "appears" facts; motion gives visits and movements ("red region enters:
from the left, moving right") and camera moves, at their own moments. A VLM, when
configured, adds its own triples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cache, partial

from memory.compose import SegmentEvidence, motion_phrase
from memory.semantic import Candidate
from perception.errors import ModelOutputError
from perception.motion import Activity, CameraMotion, Observation, Stillness
from perception.vlm.json_reply import parse_json_reply
from perception.vlm.messages import Message

MAX_KEYPHRASES = 4
VISIT_SHARE = 0.03  # share of the frame a region covers at least to be worth a fact (people here cover 10-35%)
VLM_FACTS_PROMPT = (
    "From this description of a video segment, list the entities and the facts it states plainly, as JSON: "
    '{{"facts": [{{"subject": str, "kind": str, "relation": str, "object": str}}]}}. At most 8 facts.\n{caption}'
)


@cache
def _keyphrases():
    """YAKE's extractor, built on first use: importing YAKE (and its graph library) costs a command
    that only asks, and reads VISIT_SHARE from here, a tenth of a second."""
    import yake

    return yake.KeywordExtractor(lan="en", n=3, top=MAX_KEYPHRASES, dedupLim=0.7)


def offline_candidates(evidence: SegmentEvidence, segment_id: int) -> list[Candidate]:
    stated = partial(Candidate, start=evidence.start, end=evidence.end, segment_id=segment_id)
    found: list[Candidate] = []
    for line in evidence.ocr_lines:
        name = _subject_of(line)
        if name:
            found.append(stated(name, "text", "shown", line, confidence=0.9, source="ocr"))
    for sentence in _sentences(" ".join(evidence.speech)):
        for phrase, _score in _keyphrases().extract_keywords(sentence):
            found.append(stated(phrase, "topic", "said", sentence, confidence=0.6, source="speech"))
    for label in evidence.objects:
        found.append(stated(label, "object", "appears", label, confidence=0.5, source="detector"))
    found += [motion_candidate(o, segment_id) for o in evidence.motion if not isinstance(o, Stillness) and _visit_or_move(o)]
    return found


def _visit_or_move(observation: Observation) -> bool:
    """Motion worth a fact: the camera moving, or a region at least VISIT_SHARE of the frame (someone, something
    carried), not a flicker of light."""
    return isinstance(observation, CameraMotion) or (isinstance(observation, Activity) and observation.share >= VISIT_SHARE)


def motion_candidate(observation: Activity | CameraMotion, segment_id: int) -> Candidate:
    """A visit or movement (who: the region by its colour; what: how it moved) or a camera move, at its own times."""
    if isinstance(observation, CameraMotion):
        subject, kind, relation, what = "camera", "camera", observation.motion, observation.motion
    else:
        what = motion_phrase(observation)  # no figures or times, so the pieces of one run make one fact
        subject = f"{observation.colour} region" if observation.colour else "moving region"
        kind, relation = "activity", "enters" if observation.entered and not observation.open_start else "moves"
    return Candidate(subject, kind, relation, what, observation.start, observation.end, 0.6, "motion", segment_id)


def segment_candidates(
    segment_ids: Sequence[int], evidence: Sequence[SegmentEvidence], vlm_facts: Sequence[Sequence[Candidate]]
) -> list[Candidate]:
    """Everything base segments state, now that they have ids: their evidence's facts, then the VLM's."""
    found: list[Candidate] = []
    for segment_id, item, extra in zip(segment_ids, evidence, vlm_facts):
        found += offline_candidates(item, segment_id)
        found += [replace(c, segment_id=segment_id) for c in extra]
    return found


def vlm_candidates(vlm, caption: str, evidence: SegmentEvidence, segment_id: int) -> list[Candidate]:
    """Triples a VLM reads off a caption; malformed output raises ModelOutputError for the caller to log."""
    reply = vlm.chat([Message("user", (VLM_FACTS_PROMPT.format(caption=caption),))], json_mode=True)
    facts = parse_json_reply(reply.text).get("facts")
    if not isinstance(facts, list):
        raise ModelOutputError("VLM facts reply has no 'facts' list")
    found = []
    for fact in facts[:8]:
        if not isinstance(fact, dict) or not all(
            isinstance(fact.get(k), str) and fact[k].strip() for k in ("subject", "relation", "object")
        ):
            continue
        found.append(
            Candidate(
                fact["subject"].strip()[:120],
                str(fact.get("kind") or "thing")[:40],
                fact["relation"].strip()[:60],
                fact["object"].strip()[:300],
                start=evidence.start,
                end=evidence.end,
                confidence=0.7,
                source="vlm",
                segment_id=segment_id,
            )
        )
    return found


def _subject_of(line: str) -> str:
    """Short lines are their own entity; longer ones are named by their strongest keyphrase."""
    words = line.split()
    if len(words) <= 4:
        return line.strip()
    phrases = _keyphrases().extract_keywords(line)
    return phrases[0][0] if phrases else " ".join(words[:4])


def _sentences(text: str) -> Sequence[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
