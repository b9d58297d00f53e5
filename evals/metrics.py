"""Scoring: the choice in a model's reply, accuracy per bucket and macro, span IoU, baselines, word error rate.

A run is a list of `Result`s (one per item: the item, the letter chosen or None, a predicted
span or None, the reply's text). A multiple-choice item is right when the letter is its
answer; an open item with a `truth` is right when the reply says it (evals.grading: the
code, the count, the duration, the words; a "when" span by IoU). `summarise(results,
dataset)` turns a run into the dict written to summary.json, with baselines computed from
the same items: random choice (its expected accuracy, 1/n per multiple-choice question, and
one seeded draw) and, when the runner supplies them, a blind run (the question and options
alone) and a no-memory run (a few uniformly sampled moments instead of the memory), each
scored like the run itself.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from evals.datasets.base import LETTERS, DatasetIdentity, Item, describe
from evals.grading import first_span, grade, span_iou

IOU_THRESHOLDS = (0.3, 0.5, 0.7)


# --- the choice in a reply ----------------------------------------------------------------

_OPEN = r"[\s*_`\"'“(\[{]*"
_KEYWORDS = (
    r"(?:final\s+|correct\s+|right\s+|best\s+)?(?:answer|option|choice)\s*(?:is|would\s+be|should\s+be|will\s+be|=|:|-)"
    r"|answer(?:\s*[:\-])?"
    r"|(?:it'?s|it\s+is|it\s+must\s+be)"
    r"|(?:i\s+(?:would\s+|will\s+)?|i'?d\s+|i'?ll\s+)?(?:choose|pick|select|go\s+with)"
    r"|i\s+think(?:\s+(?:it'?s|it\s+is))?"
)
_NEGATED = re.compile(
    r"(?i)(?:\bnot|n't|\bthan|\binstead\s+of|\bexcept|\bexcluding|\beliminat\w*|\brul\w*\s+out|\bnor)\s*"
    r"(?:option|choice)?\s*[\s*_`\"'“(\[{]*$"
)
# Words that follow a chosen "A" but never the article "a": "A because ...", "A is correct".
_AFTER_CHOICE = {
    "because",
    "since",
    "as",
    "which",
    "and",
    "but",
    "so",
    "given",
    "based",
    "according",
    "here",
    "from",
    "with",
    "is",
    "was",
    "seems",
    "looks",
    "appears",
    "would",
    "should",
    "could",
    "must",
    "matches",
    "fits",
    "describes",
    "correctly",
    "also",
}
_THINK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_WRAPPERS = " \t\n()[]{}*_.:`'\"“”"


@lru_cache(maxsize=16)
def _tiers(n_options: int) -> tuple[tuple[re.Pattern[str], ...], ...]:
    """Letter patterns from the most explicit format to the least, for the first n letters."""
    upper = f"[{LETTERS[0]}-{LETTERS[n_options - 1]}]"
    either = f"[{LETTERS[0]}-{LETTERS[n_options - 1]}{LETTERS[0].lower()}-{LETTERS[n_options - 1].lower()}]"
    end = r"(?![A-Za-z0-9])"
    return (
        (  # "The answer is C", "Answer: (b)", "I'd go with D", "\boxed{A}"
            re.compile(rf"(?i:\b(?:{_KEYWORDS})){_OPEN}(?i:(?:option|choice|letter){_OPEN})?(?P<L>{either}){end}"),
            re.compile(rf"\\boxed\{{\s*(?P<L>{either})\s*\}}"),
        ),
        (re.compile(rf"(?i:\b(?:option|choice|letter)){_OPEN}(?P<L>{either}){end}"),),  # "Option D"
        (  # "(C)", "[c]", "**C**"
            re.compile(rf"(?<![\w])[\(\[](?P<L>{either})[\)\]]"),
            re.compile(rf"\*\*(?P<L>{upper})\*\*"),
        ),
        (  # "C.", "B)", "D:"; lower case only where a line starts with it
            re.compile(rf"(?<![\w.'’])(?P<L>{upper})[.):](?![\w])"),
            re.compile(rf"(?m)^[ \t*_]*(?P<L>{either})[.)](?![\w])"),
        ),
        (re.compile(rf"(?<![\w'’.\-])(?P<L>{upper})(?![\w'’\-])"),),  # a bare "B"
    )


def extract_choice(text: str, n_options: int = 5, options: Sequence[str] | None = None) -> str | None:
    """The option letter a free-text reply chooses, or None when it names none clearly.

    Formats rank by how explicit they are: "answer is X" / "Answer: X" / "I choose X", then
    "Option X", then "(X)" or "**X**", then "X." / "X)", then a bare capital letter; the last
    match of the best format present wins ("(A) is wrong, (C) is right" -> C). A letter after
    "not", "than", "instead of"... is never the choice; a lone capital "A" starting a phrase
    ("A man walks") is an article; a lower-case letter counts only where it cannot be a word.
    Letters past the options are ignored. With `options`, a reply that is an option's text,
    or that contains exactly one option's text, chooses that option.
    """
    if options:
        n_options = len(options)
    n_options = max(1, min(n_options, len(LETTERS)))
    text = (text or "").replace("’", "'")
    reply = _THINK.sub("", text).strip() or text
    bare = reply.strip(_WRAPPERS)
    if len(bare) == 1 and bare.isascii() and bare.upper() in LETTERS[:n_options]:  # ASCII only: a dotless i upper-cases to "I"
        return bare.upper()
    if options:
        exact = _match_option_text(reply, options, exact=True)
        if exact:
            return exact
    for tier in _tiers(n_options):
        found = [m for pattern in tier for m in pattern.finditer(reply) if _plausible(reply, m)]
        if found:
            return max(found, key=lambda m: m.start("L")).group("L").upper()
    return _match_option_text(reply, options, exact=False) if options else None


def _plausible(text: str, match: re.Match[str]) -> bool:
    """False for a letter that is negated, or an "a"/"A" that is the article of the words after it."""
    letter, start, end = match.group("L"), match.start("L"), match.end("L")
    if _NEGATED.search(text[max(0, start - 30) : start]):
        return False
    following = re.match(r"[ \t]+([A-Za-z]\w*)", text[end:])
    if letter == "a" and following:
        return False
    if letter == "A" and following and following.group(1)[0].islower():
        return following.group(1) in _AFTER_CHOICE
    return True


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _match_option_text(reply: str, options: Sequence[str], exact: bool) -> str | None:
    """The letter of the option the reply is (exact) or contains, unless it contains several."""
    said = _squash(reply)
    texts = [_squash(option) for option in options]
    if exact:
        hits = [i for i, text in enumerate(texts) if text and text == said]
    else:
        hits = [i for i, text in enumerate(texts) if text and re.search(rf"\b{re.escape(text)}\b", said)]
        hits = [i for i in hits if not any(j != i and texts[i] in texts[j] for j in hits)]
    return LETTERS[hits[0]] if len(hits) == 1 else None


# --- one run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What a run produced for one item: the letter it chose, the span it gave, its raw reply."""

    item: Item
    choice: str | None = None
    span: tuple[float, float] | None = None
    text: str = ""
    error: str | None = None

    @classmethod
    def from_reply(cls, item: Item, text: str, span: tuple[float, float] | None = None) -> Result:
        """A result whose choice is read from the reply text against the item's options."""
        choice = extract_choice(text, options=item.options) if item.options else None
        return cls(item=item, choice=choice, span=span, text=text)

    @property
    def correct(self) -> bool | None:
        """Whether the choice is the answer, or the reply says the truth; None where there is nothing to score against."""
        if self.item.answer is not None:
            return self.choice == self.item.answer
        if self.item.truth is not None:
            return grade(self.item.truth, self.text, self.span)
        return None

    @property
    def stated_span(self) -> tuple[float, float] | None:
        """The span given, or else the first one written in the reply ("at 7:42-7:49")."""
        return self.span if self.span is not None else first_span(self.text)

    def to_dict(self) -> dict[str, Any]:
        """The per-item record of a run, as plain JSON."""
        span, stated = self.item.answer_span, self.stated_span
        return {
            "id": self.item.id,
            "choice": self.choice,
            "answer": self.item.answer,
            "correct": self.correct,
            "span": list(self.span) if self.span is not None else None,
            "answer_span": list(span) if span is not None else None,
            "iou": span_iou(stated, span) if stated is not None and span is not None else None,
            "buckets": {k: list(v) if isinstance(v, tuple) else v for k, v in self.item.buckets.items()},
            "text": self.text,
            "error": self.error,
        }


def span_overlaps(predicted: tuple[float, float], gold: tuple[float, float]) -> bool:
    """Whether the spans share any moment (touching ends count)."""
    (ps, pe), (gs, ge) = sorted(predicted), sorted(gold)
    return ps <= ge and gs <= pe


ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def words(text: str) -> list[str]:
    """Words as a transcript is scored: lower case, hyphens split, punctuation dropped, common abbreviations spelled out."""
    tokens = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return [ABBREVIATIONS.get(token, token) for token in tokens]


def word_error_rate(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    """Word-level Levenshtein distance (substitutions, deletions, insertions) over the reference length."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1] / max(len(reference), 1)


def score(credits: Iterable[tuple[Item, float]], bucket_keys: Sequence[str], macro_over: str | None) -> dict[str, Any]:
    """Accuracy overall, per bucket and macro, from (item, credit in [0, 1]) pairs.

    Credit is 1 or 0 for a run and 1/n for the expected random baseline, so every run and
    baseline is aggregated the same way. An item with several values under a key counts in
    each. The macro mean is the unweighted mean of the per-value accuracies under `macro_over`.
    """
    total, count = 0.0, 0
    sums: dict[str, dict[str, list[float]]] = {key: defaultdict(lambda: [0.0, 0]) for key in bucket_keys}
    for item, credit in credits:
        total += credit
        count += 1
        for key in bucket_keys:
            for value in item.bucket_values(key):
                sums[key][value][0] += credit
                sums[key][value][1] += 1
    buckets = {
        key: {value: {"accuracy": s / n, "correct": _number(s), "count": n} for value, (s, n) in sorted(values.items())}
        for key, values in sums.items()
    }
    macro = None
    if macro_over is not None and buckets.get(macro_over):
        per_value = [entry["accuracy"] for entry in buckets[macro_over].values()]
        macro = {"over": macro_over, "accuracy": sum(per_value) / len(per_value), "values": len(per_value)}
    accuracy = total / count if count else None
    return {"accuracy": accuracy, "count": count, "correct": _number(total), "buckets": buckets, "macro": macro}


def _number(value: float) -> float | int:
    """Whole sums as ints, so a run's counts read as counts in summary.json."""
    return int(value) if float(value).is_integer() else value


def span_metrics(results: Sequence[Result]) -> dict[str, Any] | None:
    """Mean IoU, recall at IoU thresholds and hit rate over the items that have a gold span.

    A missing prediction scores 0. A run that predicts no span at all gets counts only, since
    its IoU would say nothing about grounding.
    """
    gold = [r for r in results if r.item.answer_span is not None]
    if not gold:
        return None
    stated = [(r, r.stated_span) for r in gold]
    predicted = [r for r, span in stated if span is not None]
    summary: dict[str, Any] = {"count": len(gold), "predicted": len(predicted)}
    if not predicted:
        return summary
    ious = [span_iou(span, r.item.answer_span) if span is not None else 0.0 for r, span in stated]  # type: ignore[arg-type]
    summary["mean_iou"] = sum(ious) / len(ious)
    for threshold in IOU_THRESHOLDS:
        summary[f"recall@{threshold}"] = sum(iou >= threshold for iou in ious) / len(ious)
    summary["hit"] = sum(span is not None and span_overlaps(span, r.item.answer_span) for r, span in stated) / len(gold)  # type: ignore[arg-type]
    return summary


def spans_by_bucket(results: Sequence[Result], key: str) -> dict[str, dict[str, Any]]:
    """`span_metrics` for each value of one bucket key that has items with a gold span."""
    values = sorted({v for r in results if r.item.answer_span is not None for v in r.item.bucket_values(key)})
    return {value: span_metrics([r for r in results if value in r.item.bucket_values(key)]) for value in values}  # type: ignore[misc]


def _scorable(results: Iterable[Result]) -> list[Result]:
    """The results that can be scored: multiple choice with an answer, or open with a truth."""
    return [r for r in results if (r.item.options and r.item.answer is not None) or r.item.truth is not None]


def _run_score(results: Sequence[Result], dataset: DatasetIdentity) -> dict[str, Any]:
    scored = _scorable(results)
    summary = score(((r.item, float(bool(r.correct))) for r in scored), dataset.bucket_keys, dataset.macro_over)
    summary["abstained"] = sum(r.item.answer is not None and r.choice is None for r in scored)
    return summary


def random_baseline(items: Sequence[Item], dataset: DatasetIdentity, seed: int = 0) -> dict[str, Any]:
    """Random choice on the same items: expected accuracy (1/n each) and one seeded draw."""
    scorable = sorted((i for i in items if i.options and i.answer is not None), key=lambda i: i.id)
    rng = random.Random(seed)
    draws = [(item, float(rng.choice(item.letters) == item.answer)) for item in scorable]
    expected = score(((i, 1.0 / len(i.options)) for i in scorable), dataset.bucket_keys, dataset.macro_over)
    sampled = score(draws, dataset.bucket_keys, dataset.macro_over)
    return {"seed": seed, "expected": expected, "sampled": sampled}


def summarise(
    results: Sequence[Result],
    dataset: DatasetIdentity,
    blind: Sequence[Result] | None = None,
    seed: int = 0,
    no_memory: Sequence[Result] | None = None,
) -> dict[str, Any]:
    """Everything summary.json says about a run: accuracy overall, per bucket and macro, span
    metrics (overall and under the first bucket key), counts, and the random (and, if given,
    blind and no-memory) baselines on the same items."""
    run = _run_score(results, dataset)
    counts = {
        "items": len(results),
        "scored": run["count"],
        "correct": int(run["correct"]),
        "abstained": run["abstained"],
        "errors": sum(r.error is not None for r in results),
        "unscored": sum(r.item.answer is None and r.item.truth is None and r.item.answer_span is None for r in results),
        "with_span": sum(r.item.answer_span is not None for r in results),
    }
    baselines: dict[str, Any] = {"random": random_baseline([r.item for r in results], dataset, seed)}
    if blind is not None:
        baselines["blind"] = _run_score(blind, dataset)
    first_key = dataset.bucket_keys[0] if dataset.bucket_keys else None
    if no_memory is not None:
        baselines["no_memory"] = {
            **_run_score(no_memory, dataset),
            "spans": span_metrics(no_memory),
            "spans_by": spans_by_bucket(no_memory, first_key) if first_key else {},
        }
    return {
        "dataset": describe(dataset),
        "accuracy": run["accuracy"],
        "macro": run["macro"],
        "buckets": run["buckets"],
        "spans": span_metrics(results),
        "spans_by": {"key": first_key, "values": spans_by_bucket(results, first_key) if first_key else {}},
        "counts": counts,
        "baselines": baselines,
    }
