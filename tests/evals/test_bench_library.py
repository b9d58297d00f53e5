"""`bench library`'s libraries: synthetic videos grown from a real seed ingest through ingest's commit
code are whole, distinct and searchable, and the bench's stages report sane figures. Nothing is timed."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import sqlite3

import numpy as np
import pytest

from app import Longshot
from app.replica import Needle, TemplateEmbedder, grow_library, perturbed
from evals.bench.library import index_once, serve_once
from tests.synth import make_video

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """A seed library: two short videos with notices that carry numbers."""
    folder = tmp_path_factory.mktemp("seeds")
    longshot = Longshot(home=folder / "home", models__speech="none", ingest__scales=(30.0,))
    for name, notice in (("vault.mp4", "VAULT CODE 4172"), ("gate.mp4", "GATE 17 CLOSED AT 0930")):
        longshot.ingest(make_video(folder / name, seconds=40, fps=2, size=(480, 272), texts=[(12.0, 18.0, notice)]))
    return folder / "home"


@pytest.fixture(scope="module")
def grown(seeds, tmp_path_factory):
    home = tmp_path_factory.mktemp("grown")
    figures = grow_library(str(seeds), str(home), 2.0)
    return home, figures


def test_grown_videos_are_whole_distinct_and_only_their_numbers_differ(grown):
    home, figures = grown
    longshot = Longshot(home=home)
    videos = longshot.videos()
    assert figures["videos"] == len(videos) >= 2 and figures["hours"] >= 2.0
    assert len({v.id for v in videos}) == len(videos) and all(v.status == "ready" for v in videos)
    for video in videos:
        assert video.committed_until == video.duration
        for scale in (10.0, 30.0, 180.0, 600.0):
            segments = longshot.episodic.segments(video.id, scale=scale)
            assert segments[0].start == 0 and segments[-1].end == video.duration, (video.name, scale)
            assert all(a.end == b.start for a, b in itertools.pairwise(segments))
    codes = [s.ocr_text for v in videos for s in longshot.episodic.segments(v.id, scale=10.0) if "VAULT CODE" in s.ocr_text]
    assert codes and all(re.fullmatch(r"VAULT CODE \d{4}", c) for c in codes) and len(set(codes)) > 1
    assert longshot.semantic.facts(videos[0].id), "the seeds' facts are restated"
    for video in videos:  # the seeds' on-screen text runs, moved with their segments, agreeing with them
        runs = [o for o in longshot.timeline.between(video.id, 0, video.duration, ["text"]) if "VAULT CODE" in o.text]
        assert runs and all(0 <= o.start < o.end <= video.duration and re.fullmatch(r"VAULT CODE \d{4}", o.text) for o in runs)
        for run in runs:
            (segment,) = longshot.episodic.segments(video.id, scale=10.0, start=run.start, end=run.start)
            assert segment.ocr_text == run.text, (segment, run)
    with sqlite3.connect(home / "catalogue.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_each_needle_is_found_at_its_moment(grown):
    home, _ = grown
    longshot = Longshot(home=home)
    for needle in (Needle(**n) for n in json.loads((home / "needles.json").read_text())):
        top = longshot.search(f"case file {needle.code} {needle.word}", k=1)[0]
        assert (top.video, top.start, top.modality) == (needle.video, needle.start, "text")


def test_the_stages_report_sane_figures(grown):
    home, _ = grown
    index = index_once(str(home))
    assert index["documents"] > 700 and index["dense_index"] == "IndexFlatIP" and index["index_mb"] > 0
    served = serve_once(str(home), 20, 2)
    assert served["needle_top1"] == 1.0 and served["ask_right_video"] == 1.0
    assert served["search_p95_ms"] >= served["search_median_ms"] > 0 and not math.isnan(served["ask_median_s"])
    assert served["rss_searching_mb"] >= served["rss_models_mb"] > 0


def test_numbers_are_perturbed_and_templates_embedded_once():
    rng = random.Random(3)
    assert re.fullmatch(r"GATE \d{2} CLOSED AT \d{4}", perturbed("GATE 17 CLOSED AT 0930", rng))

    class Counting:
        dim = 3

        def __init__(self):
            self.calls: list[list[str]] = []

        def embed(self, texts):
            self.calls.append(list(texts))
            return np.ones((len(texts), 3), np.float32)

    inner = Counting()
    embedder = TemplateEmbedder(inner)
    assert embedder.embed(["gate 17", "gate 18", "door 4"]).shape == (3, 3)
    embedder.embed(["gate 99", "door 7"])
    assert inner.calls == [["door 4", "gate 17"]] and embedder.embedded == 2
