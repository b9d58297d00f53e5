"""An item's subtitles go into memory through the runner, and change what is retrieved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.datasets import get_dataset
from evals.records import RESULTS_NAME
from evals.runner import run_eval
from perception.config import load_config
from tests.synth import make_video

FERRY = "The ferry to Oslo leaves from pier nine."
QUESTION = {
    "id": "ferry",
    "video": "media/harbour.mp4",
    "question": "Where does the ferry to Oslo leave from?",
    "options": ["pier nine", "gate four", "platform two", "dock seven"],
    "answer": "A",
}


def run(folder: Path, subtitles: str | None) -> dict:
    """Evaluate the one question, with or without its subtitles, into a home of its own; its result line."""
    questions = folder / "questions.jsonl"
    questions.write_text(json.dumps({**QUESTION, **({"subtitles": subtitles} if subtitles else {})}) + "\n")
    config = load_config(env={}, overrides={"home": folder / "home", "models.detector": "none", "models.image_embedding": "none"})
    run_eval(get_dataset("jsonl", questions), folder / "out", config, progress=False)
    return json.loads((folder / "out" / RESULTS_NAME).read_text().splitlines()[0])


@pytest.mark.slow
def test_subtitles_of_an_item_go_into_memory_and_change_what_is_retrieved(tmp_path: Path):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "harbour.mp4", seconds=30, fps=5)  # no sound, no text: nothing says where the ferry leaves
    (media / "ferry-captions.srt").write_text(f"1\n00:00:14,200 --> 00:00:17,800\n{FERRY}\n")  # not beside the video: given
    for folder in ("with", "without"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "media").symlink_to(media)

    heard = run(tmp_path / "with", "media/ferry-captions.srt")
    deaf = run(tmp_path / "without", None)

    assert not heard.get("error") and not deaf.get("error")
    assert any("ferry to Oslo" in e["text"] and e["start"] <= 14.2 < e["end"] for e in heard["evidence"]), heard["evidence"]
    assert heard["correct"] is True
    assert not any("ferry" in e["text"].lower() for e in deaf["evidence"]), deaf["evidence"]
