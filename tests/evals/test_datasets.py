"""Each benchmark adapter on a small fixture written in that benchmark's published format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evals.datasets import DATASETS, Dataset, DatasetError, Item, get_dataset
from evals.datasets.base import find_video, normalise_letter, split_inline_options, strip_letter
from evals.datasets.lvbench import parse_time_reference
from perception.subtitles import Cue, read_subtitles

FIXTURES = Path(__file__).parent / "fixtures"


def by_id(dataset: Dataset) -> dict[str, Item]:
    items = list(dataset.items())
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids)), f"duplicate ids in {dataset.name}: {ids}"
    return {item.id: item for item in items}


# --- shared helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question", "options"),
    [
        ("Which?\n(A) red\n(B) blue", "Which?", ("red", "blue")),
        ("Is it big? Options: (a) Yes (b) No", "Is it big?", ("Yes", "No")),
        (
            "Pick one.\nSelect from the following choices.\n\n(A) the second\n(B) the third\n",
            "Pick one.",
            ("the second", "the third"),
        ),
        ("Is the mug (a) or (b)? (A) left (B) right (C) neither", "Is the mug (a) or (b)?", ("left", "right", "neither")),
        ("No options at all (A) here", "No options at all (A) here", ()),
        ("Plain question?", "Plain question?", ()),
    ],
)
def test_split_inline_options(text: str, question: str, options: tuple[str, ...]) -> None:
    assert split_inline_options(text) == (question, options)


def test_strip_letter_only_strips_the_options_own_letter() -> None:
    assert strip_letter("A. One.", "A") == "One."
    assert strip_letter("(C) three", "C") == "three"
    assert strip_letter("B) two", "B") == "two"
    assert strip_letter("A. cat", "B") == "A. cat"
    assert strip_letter("A is closer", "A") == "A is closer"


@pytest.mark.parametrize(("value", "letter"), [("B", "B"), ("(b)", "B"), ("C.", "C"), (0, "A"), ("3", "D")])
def test_normalise_letter(value: object, letter: str) -> None:
    assert normalise_letter(value, 4, "test") == letter


@pytest.mark.parametrize("value", ["E", 4, "(F)", "maybe", True])
def test_normalise_letter_rejects_answers_outside_the_options(value: object) -> None:
    with pytest.raises(DatasetError):
        normalise_letter(value, 4, "test")


def test_item_rejects_an_answer_that_is_not_an_option_letter() -> None:
    with pytest.raises(DatasetError, match="not one of its option letters"):
        Item(id="x", question="q", options=("a", "b"), answer="C")
    with pytest.raises(DatasetError, match="span"):
        Item(id="x", question="q", answer_span=(5.0, 2.0))


def test_item_is_hashable_and_reports_its_letters() -> None:
    item = Item(id="x", question="q", options=("red", "blue"), answer="B", buckets={"t": ("u", "v")})
    assert hash(item) == hash(Item(id="x", question="q", options=("red", "blue"), answer="B"))
    assert item.letters == ("A", "B") and item.answer_text == "blue"
    assert item.bucket_values("t") == ("u", "v") and item.bucket_values("missing") == ()


def test_find_video_prefers_an_existing_file_and_otherwise_names_the_first_candidate(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "abc.mkv").write_bytes(b"")
    assert find_video(tmp_path, ("data", "videos"), "abc") == tmp_path / "videos" / "abc.mkv"
    assert find_video(tmp_path, ("data", "videos"), "xyz") == tmp_path / "data" / "xyz.mp4"
    assert find_video(tmp_path, ("data",), "x.webm") == tmp_path / "data" / "x.webm"


# --- Video-MME ----------------------------------------------------------------------------


def test_videomme_rows_strip_option_prefixes_and_bucket_by_duration() -> None:
    dataset = get_dataset("videomme", FIXTURES / "videomme")
    items = by_id(dataset)
    assert list(items) == ["001-1", "001-2", "451-3"]
    first = items["001-1"]
    assert first.options == ("One.", "Two.", "Three.", "Four.")
    assert first.answer == "C" and first.answer_text == "Three."
    assert first.video == FIXTURES / "videomme" / "data" / "fakeVid0001.mp4"
    assert first.subtitles is None  # the subtitle track is off by default
    assert first.buckets == {
        "duration": "short",
        "domain": "Knowledge",
        "sub_category": "Humanity & History",
        "task_type": "Counting Problem",
    }
    assert items["451-3"].buckets["duration"] == "long"
    assert dataset.name == "videomme" and dataset.macro_over is None


def test_videomme_with_subtitles_sets_the_srt_where_the_video_has_one() -> None:
    dataset = get_dataset("videomme_subs", FIXTURES / "videomme")
    items = by_id(dataset)
    assert dataset.name == "videomme_subs"
    assert items["001-1"].subtitles == FIXTURES / "videomme" / "subtitle" / "fakeVid0001.srt"
    assert items["451-3"].subtitles is None


def test_videomme_reads_the_official_nested_form_and_finds_the_video_by_its_url() -> None:
    items = by_id(get_dataset("video-mme", FIXTURES / "videomme_nested"))
    assert list(items) == ["301-1", "301-2"]
    assert items["301-2"].options == ("HOPE", "LUNA", "ORCA", "SEA") and items["301-2"].answer == "D"
    assert items["301-1"].buckets["duration"] == "medium"
    assert items["301-1"].buckets["task_type"] == "Action Reasoning"
    assert items["301-1"].video.name == "fakeVid0301.mp4"


def test_videomme_reads_a_json_list_of_rows(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "videomme" / "videomme.jsonl").read_text().splitlines()]
    (tmp_path / "videomme.json").write_text(json.dumps(rows))
    items = by_id(get_dataset("videomme", tmp_path))
    assert [i.answer for i in items.values()] == ["C", "A", "C"]


def test_videomme_parquet_is_read_with_pyarrow_or_refused_with_advice(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "videomme" / "videomme.jsonl").read_text().splitlines()]
    folder = tmp_path / "videomme"
    folder.mkdir()
    path = folder / "test-00000-of-00001.parquet"
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        path.write_bytes(b"PAR1 not really")
        with pytest.raises(DatasetError, match="pip install pyarrow"):
            list(get_dataset("videomme", tmp_path).items())
        return
    pq.write_table(pa.Table.from_pylist(rows), path)
    items = by_id(get_dataset("videomme", tmp_path))
    assert items["001-1"].options == ("One.", "Two.", "Three.", "Four.")


def test_videomme_refuses_two_candidate_annotation_files(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl"):
        shutil.copy(FIXTURES / "videomme" / "videomme.jsonl", tmp_path / name)
    with pytest.raises(DatasetError, match="several annotation files"):
        get_dataset("videomme", tmp_path)
    items = by_id(get_dataset("videomme", tmp_path, annotations=tmp_path / "b.jsonl"))
    assert len(items) == 3


# --- EgoSchema ----------------------------------------------------------------------------


def test_egoschema_yields_only_the_public_subset_by_default() -> None:
    items = by_id(get_dataset("egoschema", FIXTURES / "egoschema"))
    assert list(items) == ["00b9a0de-c59e-49cb-a127-6081e2fb8c8e", "1f0e3c71-5b0e-4a8e-9c55-8f3d6b2f0a11"]
    first = items["00b9a0de-c59e-49cb-a127-6081e2fb8c8e"]
    assert len(first.options) == 5 and first.options[1] == "c is preparing a meal."
    assert first.answer == "B"
    assert items["1f0e3c71-5b0e-4a8e-9c55-8f3d6b2f0a11"].answer == "E"
    assert first.video == FIXTURES / "egoschema" / "videos" / "00b9a0de-c59e-49cb-a127-6081e2fb8c8e.mp4"


def test_egoschema_yields_unanswered_questions_when_asked() -> None:
    items = by_id(get_dataset("egoschema", FIXTURES / "egoschema", include_unanswered=True))
    assert len(items) == 3
    assert items["0a6e3b3a-62a4-4d1a-91ae-3f64c1bbb6f0"].answer is None


# --- MLVU ---------------------------------------------------------------------------------


def test_mlvu_matches_answer_text_to_a_candidate_and_buckets_by_task() -> None:
    dataset = get_dataset("mlvu", FIXTURES / "mlvu")
    items = by_id(dataset)
    assert list(items) == ["1_plotQA/0", "1_plotQA/1", "2_needle/0"]  # 9_summary has no candidates
    assert items["1_plotQA/0"].answer == "B"
    assert items["1_plotQA/1"].answer == "C"  # "the old man " matches "The old man"
    assert items["2_needle/0"].buckets == {"task": "findNeedle"}
    assert items["2_needle/0"].video == FIXTURES / "mlvu" / "video" / "2_needle" / "needle_fake_07.mp4"
    assert dataset.macro_over == "task"


def test_mlvu_refuses_an_answer_that_is_no_candidate(tmp_path: Path) -> None:
    (tmp_path / "json").mkdir()
    record = {"video": "v.mp4", "question": "q", "candidates": ["x", "y"], "answer": "z", "question_type": "count"}
    (tmp_path / "json" / "4_count.json").write_text(json.dumps([record]))
    with pytest.raises(DatasetError, match="4_count.json entry 0"):
        list(get_dataset("mlvu", tmp_path).items())


# --- LVBench ------------------------------------------------------------------------------


def test_lvbench_parses_inline_options_question_types_and_time_references() -> None:
    items = by_id(get_dataset("lvbench", FIXTURES / "lvbench"))
    assert list(items) == ["101", "102", "205"]
    first = items["101"]
    assert first.question == "What year appears in the opening caption of the video?"
    assert first.options == ("1636", "1366", "1363", "1633")
    assert first.answer == "A"
    assert first.answer_span == (15.0, 19.0)
    assert first.video == FIXTURES / "lvbench" / "videos" / "fakeLvb0001.mp4"
    assert items["102"].buckets == {"question_type": ("reasoning", "event understanding"), "video_type": "documentary"}
    assert items["102"].answer_span == (3730.0, 3760.0)
    assert items["205"].answer_span is None
    assert items["205"].options[2] == "41:05-41:35"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("00:15-00:19", (15.0, 19.0)),
        ("1:02:03 - 1:02:05", (3723.0, 3725.0)),
        ("01:00-01:10, 02:00-02:05", (60.0, 125.0)),
        ("", None),
        ("n/a", None),
    ],
)
def test_parse_time_reference(text: str, span: tuple[float, float] | None) -> None:
    assert parse_time_reference(text) == span


# --- LongVideoBench -----------------------------------------------------------------------


def test_longvideobench_reads_candidates_duration_groups_and_subtitle_paths() -> None:
    dataset = get_dataset("longvideobench", FIXTURES / "longvideobench")
    items = by_id(dataset)
    first, second = items["fakeLvbVid1_0"], items["fakeLvbVid2_3"]
    assert first.options == ("A vase", "A laptop", "A chessboard", "A cake") and first.answer == "C"
    assert len(second.options) == 5 and second.answer == "A"
    assert first.buckets == {"duration": "600", "qtype": "S2O", "topic": "NP-News-Programs", "level": "L1-Perception"}
    assert second.buckets["duration"] == "15"
    assert first.video == FIXTURES / "longvideobench" / "videos" / "fakeLvbVid1.mp4"
    assert first.subtitles == FIXTURES / "longvideobench" / "subtitles" / "fakeLvbVid1_en.json"
    assert first.extras["subtitle_offset"] == 5.0


def test_longvideobench_test_split_without_answers(tmp_path: Path) -> None:
    records = json.loads((FIXTURES / "longvideobench" / "lvb_val.json").read_text())
    for record in records:
        del record["correct_choice"]
    (tmp_path / "lvb_test_wo_gt.json").write_text(json.dumps(records))
    items = list(get_dataset("longvideobench", tmp_path, split="test").items())
    assert [i.answer for i in items] == [None, None]


# --- NExT-QA ------------------------------------------------------------------------------


def test_nextqa_ids_types_groups_and_video_map() -> None:
    items = by_id(get_dataset("nextqa", FIXTURES / "nextqa"))
    assert list(items) == ["9000000001_6", "9000000001_7", "9000000002_2"]
    first = items["9000000001_6"]
    assert first.options == ("roll the handle", "tap their feet", "strum the string", "hit with sticks", "pat with hand")
    assert first.answer == "D"
    assert first.buckets == {"type": "CH", "group": "C"}
    assert items["9000000001_7"].buckets == {"type": "TN", "group": "T"}  # TP counts as TN
    assert items["9000000001_7"].extras["original_type"] == "TP"
    assert items["9000000002_2"].video == FIXTURES / "nextqa" / "NExTVideo" / "0042" / "9000000002.mp4"


# --- generic JSONL ------------------------------------------------------------------------


def test_jsonl_format() -> None:
    dataset = get_dataset("jsonl", FIXTURES / "jsonl")
    items = by_id(dataset)
    assert dataset.name == "questions"
    assert dataset.bucket_keys == ("duration", "qtype")
    assert list(items) == ["sign", "2", "count", "open"]
    sign = items["sign"]
    assert sign.options == ("STOP", "YIELD", "ONE WAY") and sign.answer == "B"
    assert sign.video == FIXTURES / "jsonl" / "clips" / "street.mp4"
    assert sign.extras == {"source": "made by hand"}
    when = items["2"]
    assert when.answer_span == (12.0, 15.5) and when.options == () and when.answer is None
    assert when.video == Path("/abs/clips/park.mp4")
    assert items["count"].answer == "B"  # given as the option's text
    assert items["count"].subtitles == FIXTURES / "jsonl" / "clips" / "street.srt"
    open_question = items["open"]
    assert open_question.video is None and len(open_question.images) == 2
    assert open_question.answer is None and open_question.extras["answer_text"] == "the lamp moved"


def test_jsonl_rejects_repeated_ids_and_bad_spans(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n')
    with pytest.raises(DatasetError, match="used twice"):
        list(get_dataset("jsonl", path).items())
    path.write_text('{"question": "q", "span": "soon"}\n')
    with pytest.raises(DatasetError, match="line 1"):
        list(get_dataset("jsonl", path).items())
    path.write_text('{"question": "q", "images": ["a.png", ""]}\n')
    with pytest.raises(DatasetError, match="line 1: an entry of images is empty"):
        list(get_dataset("jsonl", path).items())


# --- Sketchpad tasks ----------------------------------------------------------------------


def test_sketchpad_parses_options_from_queries_and_uses_the_items_own_images() -> None:
    dataset = get_dataset("sketchpad", FIXTURES / "sketchpad")
    items = by_id(dataset)
    assert dataset.macro_over == "task"
    assert list(items) == ["blink_depth/val_Relative_Depth_5", "blink_jigsaw/val_Jigsaw_12", "mmvp/7", "geometry/31"]
    depth = items["blink_depth/val_Relative_Depth_5"]
    assert depth.question.endswith("Which point is closer to the camera?")
    assert "<img" not in depth.question and "Select from" not in depth.question
    assert depth.options == ("A is closer", "B is closer") and depth.answer == "B"
    assert depth.images == (FIXTURES / "sketchpad" / "blink_depth" / "val_Relative_Depth_5" / "image.jpg",)
    assert depth.video is None
    jigsaw = items["blink_jigsaw/val_Jigsaw_12"]
    assert [p.name for p in jigsaw.images] == ["image1.jpg", "image2.jpg", "image3.jpg"]
    assert jigsaw.options == ("the second image", "the third image") and jigsaw.answer == "A"
    mmvp = items["mmvp/7"]
    assert mmvp.question == "Is the mug (a ceramic one) on the left or the right of the plate?"
    assert mmvp.options == ("Left", "Right") and mmvp.answer == "B"
    geometry = items["geometry/31"]
    assert geometry.options == ("3.2", "4.8", "6.0", "7.5") and geometry.answer == "C"
    assert geometry.images == (FIXTURES / "sketchpad" / "geometry" / "31" / "image.png",)
    assert geometry.buckets == {"task": "geometry"}


def test_a_single_sketchpad_task_by_name_or_by_its_folder() -> None:
    by_name = get_dataset("mmvp", FIXTURES / "sketchpad")
    by_folder = get_dataset("sketchpad", FIXTURES / "sketchpad" / "mmvp")
    assert by_name.name == by_folder.name == "mmvp" and by_name.macro_over is None
    assert [i.id for i in by_name.items()] == [i.id for i in by_folder.items()] == ["mmvp/7"]


@pytest.mark.integration
def test_the_real_sketchpad_tasks_parse_completely(media: Path) -> None:
    dataset = get_dataset("sketchpad", media / "sketchpad")
    items = list(dataset.items())
    assert len(items) == 75
    for item in items:
        assert len(item.options) >= 2 and item.answer in item.letters
        assert item.images and all(path.is_file() for path in item.images), item.id
        assert "<img" not in item.question and "(A)" not in item.question


# --- registry, limits, errors -------------------------------------------------------------


def test_every_registered_adapter_follows_the_protocol_and_honours_limit() -> None:
    roots = {
        "videomme": "videomme",
        "videomme_subs": "videomme",
        "egoschema": "egoschema",
        "mlvu": "mlvu",
        "lvbench": "lvbench",
        "longvideobench": "longvideobench",
        "nextqa": "nextqa",
        "jsonl": "jsonl",
        "sketchpad": "sketchpad",
        "blink_depth": "sketchpad",
        "blink_spatial": None,
        "blink_jigsaw": "sketchpad",
        "mmvp": "sketchpad",
        "geometry": "sketchpad",
        "needle": None,  # the needle set has its own tests
    }
    assert set(roots) == set(DATASETS)
    for name, folder in roots.items():
        if folder is None:
            continue
        dataset = get_dataset(name, FIXTURES / folder)
        assert isinstance(dataset, Dataset)
        assert dataset.version
        assert dataset.macro_over is None or dataset.macro_over in dataset.bucket_keys
        assert len(list(dataset.items(limit=1))) == 1
        assert list(dataset.items(limit=0)) == []
        for item in dataset.items():
            assert set(item.buckets) <= set(dataset.bucket_keys), (name, item.id)


def test_registry_errors_name_what_is_known(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="known: .*videomme"):
        get_dataset("imagenet", tmp_path)
    with pytest.raises(DatasetError, match="does not take the options"):
        get_dataset("mlvu", FIXTURES / "mlvu", subtitles=True)
    with pytest.raises(DatasetError, match="does not exist"):
        get_dataset("lvbench", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no annotation file"):
        get_dataset("lvbench", tmp_path)
    with pytest.raises(DatasetError, match="no task folder"):
        get_dataset("blink_spatial", FIXTURES / "sketchpad")


def test_a_malformed_annotation_names_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "video_info.meta.jsonl").write_text('{"key": "v", "qa": [{"uid": "1", "answer": "A"}]}\n')
    with pytest.raises(DatasetError, match="lacks the field 'question'"):
        list(get_dataset("lvbench", tmp_path).items())
    (tmp_path / "video_info.meta.jsonl").write_text("{not json\n")
    with pytest.raises(DatasetError, match="line 1 is not valid JSON"):
        list(get_dataset("lvbench", tmp_path).items())


# --- subtitles ----------------------------------------------------------------------------


def test_read_srt_subtitles() -> None:
    cues = read_subtitles(FIXTURES / "videomme" / "subtitle" / "fakeVid0001.srt")
    assert cues == [Cue(1.0, 3.5, "Welcome to the history hour."), Cue(4.0, 6.25, "Here are three red flags.")]


def test_read_longvideobench_subtitles_on_the_items_clock() -> None:
    item = by_id(get_dataset("longvideobench", FIXTURES / "longvideobench"))["fakeLvbVid1_0"]
    cues = read_subtitles(item.subtitles, offset=item.extras["subtitle_offset"])
    assert cues == [Cue(1.5, 3.0, "Good evening."), Cue(5.0, 7.25, "Tonight's top story.")]
    timestamped = read_subtitles(FIXTURES / "longvideobench" / "subtitles" / "fakeLvbVid2_en.json", duration=13.1)
    assert timestamped == [Cue(1.0, 2.5, "let us begin"), Cue(9.0, 13.1, "thank you")]
