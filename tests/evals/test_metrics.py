"""Choice extraction on real-world replies; accuracy, macro, span and baseline numbers checked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from evals.datasets import get_dataset
from evals.datasets.base import LETTERS, Dataset, Item
from evals.metrics import Result, extract_choice, random_baseline, score, span_iou, span_overlaps, summarise

YES_NO = ("yes", "no")
IMAGES = ("the second image", "the third image")

# (reply, keyword arguments, expected letter): replies in the shapes models actually produce.
REPLIES = [
    ("B", {}, "B"),
    ("(B)", {}, "B"),
    ("B.", {}, "B"),
    ("b", {}, "B"),
    ("[C]", {}, "C"),
    ("**C**", {}, "C"),
    ("Answer: B", {}, "B"),
    ("ANSWER: D", {}, "D"),
    ("answer: a", {}, "A"),
    ("Final Answer: (b)", {}, "B"),
    ("Answer: **E**", {}, "E"),
    ("Option D", {}, "D"),
    ("C. The man opens the door.", {}, "C"),
    ("B) yellow", {}, "B"),
    ("c) the red one", {}, "C"),
    ("The answer is (C) because the man is holding a cup.", {}, "C"),
    ("The correct answer is: D. The woman leaves the room.", {}, "D"),
    ("The answer is A because the dog barks.", {}, "A"),
    ("The best option is A because the video shows a dog.", {}, "A"),
    ("The answer is \\boxed{C}", {}, "C"),
    ("I'd go with C.", {}, "C"),
    ("I think it's A, not B", {}, "A"),
    ("It's definitely B", {}, "B"),
    ("It’s C.", {}, "C"),
    ("A is correct.", {}, "A"),
    ("I think A is right", {}, "A"),
    ("Option A seems the best fit", {}, "A"),
    ("The answer is not A; it is D.", {}, "D"),
    ("I believe the answer isn't B, so C", {}, "C"),
    ("Neither A nor B; the correct choice is C", {}, "C"),
    ("(A) is wrong because the cup is red; (C) is right.", {}, "C"),
    ("Based on the video, the person first picks up the cup (B) and then drinks (D). Therefore, the answer is B.", {}, "B"),
    ("Answer: C\n\nExplanation: Option A is incorrect because the dog is brown.", {}, "C"),
    ("The answer is A. Option B is ruled out.", {}, "A"),
    ("Option (A) cat\nOption (B) dog\nI choose option B.", {}, "B"),
    ("Vitamin C is important, but the answer is (A)", {}, "A"),
    ("e.g. the man could be cooking, so D.", {}, "D"),
    ("<think>Maybe A... actually the answer is B</think>\nThe answer is C.", {}, "C"),
    ("<think>the answer is B</think>", {}, "B"),
    ("E", {"n_options": 4}, None),
    ("The answer is D", {"n_options": 3}, None),
    ("A man is walking his dog.", {}, None),
    ("The answer is a red car.", {}, None),
    ("The video shows a cat.", {}, None),
    ("", {}, None),
    ("A man is walking his dog.", {"options": ("a cat sleeping", "a man is walking his dog")}, "B"),
    ("The answer is a red car.", {"options": ("a blue car", "a red car")}, "B"),
    ("yes", {"options": YES_NO}, "A"),
    ("No, the car is not perpendicular to the motorcycle.", {"options": YES_NO}, "B"),
    ("none of the above", {"options": ("cat", "dog")}, None),
    ("(a) Eye level", {"options": ("Eye level", "Above")}, "A"),
    ("A is closer", {"options": ("A is closer", "B is closer")}, "A"),
    ("B is closer", {"options": ("A is closer", "B is closer")}, "B"),
    ("the second image", {"options": IMAGES}, "A"),
    ("The missing part is the third image.", {"options": IMAGES}, "B"),
]


@pytest.mark.parametrize(("reply", "kwargs", "expected"), REPLIES)
def test_extract_choice(reply: str, kwargs: dict, expected: str | None) -> None:
    assert extract_choice(reply, **kwargs) == expected


def test_the_table_is_large_enough() -> None:
    assert len(REPLIES) >= 30


@given(st.text(), st.integers(min_value=1, max_value=len(LETTERS)))
def test_extract_choice_only_ever_names_an_option_the_reply_names(reply: str, n_options: int) -> None:
    choice = extract_choice(reply, n_options)
    assert choice is None or (choice in LETTERS[:n_options] and choice in reply.upper())


@given(st.text(alphabet=st.characters(exclude_characters="ABCDEFGHIJabcdefghij")), st.integers(1, len(LETTERS)))
@example("\u0131", 10)  # a dotless i is not the letter I, though it upper-cases to "I"
@example("(\u0130)", 10)
def test_a_reply_without_an_option_letter_chooses_nothing(reply: str, n_options: int) -> None:
    assert extract_choice(reply, n_options) is None


TEMPLATES = ("{}", "({})", "{}.", "Answer: {}", "The answer is ({}).", "**{}**", "Option {}", "I choose {} because it fits.")


@given(st.sampled_from(TEMPLATES), st.integers(min_value=0, max_value=4), st.sampled_from(("", "Looking at the video. ")))
def test_extract_choice_reads_every_plain_format(template: str, index: int, preamble: str) -> None:
    assert extract_choice(preamble + template.format(LETTERS[index])) == LETTERS[index]


# --- a small dataset scored by hand -------------------------------------------------------

LINES = [
    {
        "id": "q1",
        "question": "?",
        "options": ["a", "b", "c", "d"],
        "answer": "A",
        "buckets": {"task": "count", "duration": "short"},
    },
    {
        "id": "q2",
        "question": "?",
        "options": ["a", "b", "c", "d"],
        "answer": "B",
        "buckets": {"task": "count", "duration": "long"},
    },
    {"id": "q3", "question": "?", "options": ["a", "b"], "answer": "A", "buckets": {"task": "order", "duration": "short"}},
    {
        "id": "q4",
        "question": "?",
        "options": ["a", "b", "c", "d", "e"],
        "answer": "C",
        "buckets": {"task": "order", "duration": "long"},
    },
    {"id": "q5", "question": "?", "options": ["a", "b"], "answer": "B", "buckets": {"task": "needle", "duration": "short"}},
    {"id": "q6", "question": "when?", "span": [10, 20], "buckets": {"task": "when"}},
    {"id": "q7", "question": "when?", "span": [100, 110], "buckets": {"task": "when"}},
    {"id": "q8", "question": "what?"},
]


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    path = tmp_path / "hand.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\n")
    return get_dataset("jsonl", path, macro_over="task")


@pytest.fixture
def items(dataset: Dataset) -> dict[str, Item]:
    return {item.id: item for item in dataset.items()}


@pytest.fixture
def results(items: dict[str, Item]) -> list[Result]:
    return [
        Result(items["q1"], choice="A"),
        Result(items["q2"], choice="C"),
        Result(items["q3"], choice="A"),
        Result(items["q4"], choice=None, error="timeout"),
        Result(items["q5"], choice="B"),
        Result(items["q6"], span=(15.0, 25.0)),
        Result(items["q7"]),
        Result(items["q8"], text="a red car"),
    ]


def test_accuracy_per_bucket_and_macro(dataset: Dataset, results: list[Result]) -> None:
    summary = summarise(results, dataset)
    assert summary["accuracy"] == pytest.approx(3 / 5)
    tasks = summary["buckets"]["task"]
    assert {k: v["accuracy"] for k, v in tasks.items()} == pytest.approx({"count": 0.5, "order": 0.5, "needle": 1.0})
    assert tasks["order"] == {"accuracy": 0.5, "correct": 1, "count": 2}
    durations = summary["buckets"]["duration"]
    assert durations["short"]["accuracy"] == 1.0 and durations["long"]["accuracy"] == 0.0
    assert summary["macro"] == {"over": "task", "accuracy": pytest.approx(2 / 3), "values": 3}
    assert summary["counts"] == {
        "items": 8,
        "scored": 5,
        "correct": 3,
        "abstained": 1,
        "errors": 1,
        "unscored": 1,
        "with_span": 2,
    }
    assert summary["dataset"]["name"] == "hand" and summary["dataset"]["macro_over"] == "task"
    json.dumps(summary)  # summary.json must be plain JSON


def test_span_metrics(dataset: Dataset, results: list[Result]) -> None:
    spans = summarise(results, dataset)["spans"]
    # q6: [15, 25] against [10, 20] -> 5 / 15; q7 has no prediction and scores 0.
    assert spans["count"] == 2 and spans["predicted"] == 1
    assert spans["mean_iou"] == pytest.approx((1 / 3 + 0) / 2)
    assert spans["recall@0.3"] == 0.5 and spans["recall@0.5"] == 0.0 and spans["recall@0.7"] == 0.0
    assert spans["hit"] == 0.5


def test_a_run_without_any_span_reports_counts_only(dataset: Dataset, items: dict[str, Item]) -> None:
    spans = summarise([Result(items["q6"]), Result(items["q7"])], dataset)["spans"]
    assert spans == {"count": 2, "predicted": 0}


def test_random_baseline_expected_accuracy(dataset: Dataset, results: list[Result]) -> None:
    random = summarise(results, dataset)["baselines"]["random"]
    expected = random["expected"]
    assert expected["accuracy"] == pytest.approx((1 / 4 + 1 / 4 + 1 / 2 + 1 / 5 + 1 / 2) / 5)
    assert expected["buckets"]["task"]["order"]["accuracy"] == pytest.approx((1 / 2 + 1 / 5) / 2)
    assert expected["macro"]["accuracy"] == pytest.approx((0.25 + 0.35 + 0.5) / 3)
    assert random["seed"] == 0 and 0.0 <= random["sampled"]["accuracy"] <= 1.0


def test_sampled_random_baseline_is_seeded_and_near_its_expectation(dataset: Dataset) -> None:
    many = [Item(id=f"m{i}", question="?", options=("a", "b", "c", "d"), answer="ABCD"[i % 4]) for i in range(4000)]
    first = random_baseline(many, dataset, seed=7)["sampled"]["accuracy"]
    assert random_baseline(many, dataset, seed=7)["sampled"]["accuracy"] == first
    assert random_baseline(many, dataset, seed=8)["sampled"]["accuracy"] != first
    assert first == pytest.approx(0.25, abs=0.03)


def test_blind_run_is_scored_like_any_other(dataset: Dataset, items: dict[str, Item], results: list[Result]) -> None:
    blind = [Result(items[i], choice=c) for i, c in (("q1", "B"), ("q2", "B"), ("q3", "B"), ("q4", "C"), ("q5", "A"))]
    summary = summarise(results, dataset, blind=blind)
    assert summary["baselines"]["blind"]["accuracy"] == pytest.approx(2 / 5)
    assert summary["baselines"]["blind"]["macro"]["accuracy"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert "blind" not in summarise(results, dataset)["baselines"]


def test_an_item_in_several_buckets_counts_in_each() -> None:
    both = Item(id="a", question="?", options=("x", "y"), answer="A", buckets={"kind": ("reasoning", "summary")})
    one = Item(id="b", question="?", options=("x", "y"), answer="A", buckets={"kind": "reasoning"})
    scored = score([(both, 1.0), (one, 0.0)], ("kind",), "kind")
    assert scored["accuracy"] == 0.5
    assert scored["buckets"]["kind"]["reasoning"] == {"accuracy": 0.5, "correct": 1, "count": 2}
    assert scored["buckets"]["kind"]["summary"] == {"accuracy": 1.0, "correct": 1, "count": 1}
    assert scored["macro"]["accuracy"] == pytest.approx(0.75)


def test_nothing_to_score_gives_no_accuracy(dataset: Dataset, items: dict[str, Item]) -> None:
    summary = summarise([Result(items["q8"])], dataset)
    assert summary["accuracy"] is None and summary["macro"] is None and summary["spans"] is None
    assert summary["baselines"]["random"]["expected"]["accuracy"] is None


@pytest.mark.parametrize(
    ("predicted", "gold", "iou", "overlaps"),
    [
        ((15, 25), (10, 20), 1 / 3, True),
        ((10, 20), (10, 20), 1.0, True),
        ((20, 10), (10, 20), 1.0, True),  # reversed ends are read as a span
        ((0, 5), (10, 20), 0.0, False),
        ((0, 10), (10, 20), 0.0, True),  # touching
        ((12, 14), (10, 20), 0.2, True),
        ((7, 7), (7, 7), 1.0, True),
        ((7, 7), (8, 8), 0.0, False),
    ],
)
def test_span_iou_and_overlap(predicted, gold, iou: float, overlaps: bool) -> None:
    assert span_iou(predicted, gold) == pytest.approx(iou)
    assert span_overlaps(predicted, gold) is overlaps


def test_result_from_reply_reads_the_choice_against_the_items_options(items: dict[str, Item]) -> None:
    result = Result.from_reply(items["q2"], "Looking at the frames, the answer is (B).")
    assert result.choice == "B" and result.correct is True
    assert Result.from_reply(items["q2"], "I cannot tell.").correct is False
    assert Result.from_reply(items["q8"], "a red car").correct is None


def test_result_record_is_plain_json(results: list[Result]) -> None:
    records = {r["id"]: r for r in (json.loads(json.dumps(result.to_dict())) for result in results)}
    assert records["q2"]["choice"] == "C" and records["q2"]["answer"] == "B" and records["q2"]["correct"] is False
    assert records["q4"]["error"] == "timeout" and records["q4"]["choice"] is None
    assert records["q6"]["span"] == [15.0, 25.0] and records["q6"]["answer_span"] == [10.0, 20.0]
    assert records["q6"]["iou"] == pytest.approx(1 / 3) and records["q6"]["correct"] is None
    assert records["q1"]["buckets"] == {"task": "count", "duration": "short"}
