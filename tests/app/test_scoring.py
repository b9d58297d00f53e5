"""Scoring without a generative model: question kinds, queries, phrase matching, options against evidence."""

from __future__ import annotations

import numpy as np
import pytest

from app.answer import Evidence
from app.policies.offline import answer_terms, normalised_entropy
from app.scoring import (
    best_sentence,
    coverage,
    is_specific,
    phrase_match,
    score_options,
    search_query,
    sentences,
    word_credit,
)


def said(text: str, score: float = 0.5, start: float = 0.0) -> Evidence:
    return Evidence("segment", start, start + 10, text, score, key=f"segment:{start}:{text[:10]}")


def test_search_query_takes_quotations_but_not_apostrophes() -> None:
    assert search_query("When is 'he was not an' said?") == "he was not an"
    assert search_query("When is the notice “VAULT CODE 4172” shown?") == "VAULT CODE 4172"
    assert search_query("What colour is the giraffe's umbrella?") == "What colour is the giraffe's umbrella?"
    assert search_query("Why don't 'they' stop?") == "they"
    assert search_query("the words 'and rather selfish'") == "and rather selfish"


def test_a_question_frame_alone_is_not_specific() -> None:
    assert not is_specific("Which of these notices is shown on screen?")
    assert not is_specific("Which comes first in the video?")
    assert is_specific("What colour is the car?")
    assert answer_terms("What colour is the giraffe's umbrella?") == "colour giraffe umbrella"
    assert answer_terms("When is 'he was not an' said?") == "he was not an"


def test_word_credit_is_exact_for_numbers_and_short_words_and_forgives_one_slip_in_long_ones() -> None:
    assert word_credit("4172", "4172") == 1.0
    assert word_credit("4172", "4127") == 0.0
    assert word_credit("noon", "moon") == 0.0
    assert 0 < word_credit("dashwood", "dashwod") < 1.0
    assert word_credit("leisure", "pleasure") == 0.0  # two edits


def test_phrase_match_wants_the_words_in_order_within_one_sentence() -> None:
    text = "Speech: He was not an old-sposed young man. The rest is silence."
    assert phrase_match("he was not an", text) == pytest.approx(1.0)
    assert phrase_match("she was not an", text) < phrase_match("he was not an", text)
    assert phrase_match("an not was he", text) < 0.6  # the words, out of order
    # words spread over two sentences do not make a phrase
    assert phrase_match("silence young man", "A young man. Then silence.") < 1.0
    assert phrase_match("anything", "") == 0.0 and phrase_match("", "text") == 0.0


def test_a_sentence_must_say_half_a_phrase_to_count() -> None:
    assert phrase_match("GATE B1 CLOSED", "ocr on frame 24: Read 1 lines: 1 'VAULT CODE 4172'.") == 0.0
    assert phrase_match("VAULT CODE 4172", "Enter the code.") == 0.0
    assert phrase_match("VAULT CODE 4172", "VAULT CODE 4127") == pytest.approx(0.5)  # said, but not the number


def test_sentences_split_captions_at_their_items() -> None:
    caption = 'On screen: "GATE B7 CLOSED"; "iii". Scene changes at 2:20.\nSpeech: Hello there.'
    assert sentences(caption) == ['On screen: "GATE B7 CLOSED"', '"iii".', "Scene changes at 2:20.", "Speech: Hello there."]


@pytest.mark.parametrize(
    ("options", "truth"),
    [
        (("DOCK B7 CLOSED", "GATE B0 CLOSED", "GATE B7 CLOSED", "GATE B8 CLOSED"), 2),
        (("MEETING ROOM 12 BEFORE NOON", "DINING ROOM 12 AT NOON", "MEETING ROOM 12 AT NOON", "MEETING FLOOR 12 AT NOON"), 2),
        (("he was once an", "he was not the", "she was not an", "he was not an"), 3),
        (("VAULT CODE 7142", "VAULT CODE 4172", "VAULT CODE 2174", "LOCKER CODE 4172"), 1),
        (("and very selfish", "and rather foolish", "but rather selfish", "and rather selfish"), 3),
    ],
)
def test_the_option_the_evidence_says_beats_its_one_word_twins(options, truth) -> None:
    evidence = [
        said("No text, speech or known objects at 1:00-1:10."),
        said('On screen: "GATE B7 CLOSED". Scene changes at 2:20.'),
        said('On screen: "MEETING ROOM 12 AT NOON".'),
        said("Speech: He was not an old-sposed young man."),
        said('On screen: "VAULT CODE 4172". On screen: VAULT CODE 4172'),
        said("Speech: Unless to be rather cold-hearted and rather selfish is to be ill-disposed."),
        said("The meeting was in the dining hall; the gate was open before noon."),  # words of the twins, scattered
    ]
    scores = score_options(options, evidence)
    assert int(np.argmax(scores)) == truth
    assert scores[truth] > max(np.delete(scores, truth))


def test_options_nothing_says_score_nothing() -> None:
    scores = score_options(("a red kite", "a blue kite"), [said("A quiet street; cars pass.")])
    assert scores.tolist() == [0.0, 0.0]
    assert score_options(("x", "y"), []).tolist() == [0.0, 0.0]


def test_best_sentence_and_coverage() -> None:
    text = "Scene changes at 1:00. Speech: Leisure to consider how much there might be. Seen: car."
    assert best_sentence("leisure to consider how much", text) == "Speech: Leisure to consider how much there might be."
    assert coverage("vault code", "the VAULT is shut") == 0.5


def test_normalised_entropy_prefers_one_clear_winner() -> None:
    assert normalised_entropy([0.9, 0.05, 0.05]) < normalised_entropy([0.4, 0.35, 0.3])
    assert normalised_entropy([1.0]) == 1.0 and normalised_entropy([0.0, 0.0]) == 1.0


def test_a_number_said_in_words_matches_its_digits() -> None:
    assert phrase_match("five", "The shuttle now leaves from platform 5.") == 1.0
    assert phrase_match("platform 5", "leaves from platform five") == 1.0
    assert phrase_match("platform 9", "leaves from platform five") == 0.0
