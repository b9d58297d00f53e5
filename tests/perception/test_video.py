"""perception.video on media the tests make (frames that spell their own index, tones) and on
the real videos in ../shared/media/video."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from perception import _pyav
from perception.errors import EmptyVideoError, NotAVideoError, NoVideoStreamError, UnreadableVideoError
from perception.video import FrameBatch, VideoReader, iter_audio, probe, read_audio
from tests.memory import hostile
from tests.synth import index_frame, make_video, read_index, tone

FPS = 10
SECONDS = 6.0  # 60 frames, keyframes every 20 (make_video uses a GOP of two seconds)
needs_decord = pytest.mark.skipif(importlib.util.find_spec("decord") is None, reason="decord is not installed")
BACKENDS = ["pyav", pytest.param("decord", marks=needs_decord)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", SECONDS, fps=FPS)


def sampled(reader: VideoReader, **kwargs) -> FrameBatch:
    batches = list(reader.sample(**kwargs))
    return FrameBatch(
        np.concatenate([b.frames for b in batches]),
        np.concatenate([b.times for b in batches]),
        np.concatenate([b.indices for b in batches]),
    )


def assert_frames_spell_indices(batch: FrameBatch) -> None:
    assert [read_index(frame) for frame in batch.frames] == batch.indices.tolist()


# --- probe ---------------------------------------------------------------------------------


def test_probe_reports_what_the_file_holds(clip):
    info = probe(clip)
    assert (info.duration, info.fps, info.frame_count) == (SECONDS, FPS, 60)
    assert (info.width, info.height, info.codec) == (320, 240, "h264")
    assert (info.video_streams, info.audio_streams, info.audio_codec, info.has_audio) == (1, 0, None, False)
    assert info.size_bytes == clip.stat().st_size


def test_reader_info_counts_frames_from_the_index(clip):
    with VideoReader(clip) as reader:
        assert reader.info == probe(clip)


# --- sampling --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_fps_picks_every_tenth_frame_at_its_exact_time(clip, backend):
    with VideoReader(clip, backend=backend) as reader:
        assert reader.backend == backend
        batch = sampled(reader, fps=1.0)
    assert batch.indices.tolist() == [0, 10, 20, 30, 40, 50]
    assert batch.times.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert batch.frames.shape == (6, 240, 320, 3) and batch.frames.dtype == np.uint8
    assert batch.indices.dtype == np.int64 and batch.times.dtype == np.float64
    assert_frames_spell_indices(batch)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_and_a_half_fps_picks_every_fourth_frame(clip, backend):
    with VideoReader(clip, backend=backend) as reader:
        batch = sampled(reader, fps=2.5)
    assert batch.indices.tolist() == list(range(0, 60, 4))
    assert batch.times.tolist() == [i / FPS for i in range(0, 60, 4)]
    assert_frames_spell_indices(batch)


def test_rate_off_the_frame_grid_takes_the_nearest_frame(clip):
    with VideoReader(clip) as reader:
        batch = sampled(reader, fps=3.0, end=2.0)  # 0, 1/3, 2/3, 1, 4/3, 5/3
    assert batch.indices.tolist() == [0, 3, 7, 10, 13, 17]


def test_rate_above_the_frame_rate_gives_each_frame_once(clip):
    with VideoReader(clip) as reader:
        batch = sampled(reader, fps=25.0)
    assert batch.indices.tolist() == list(range(60))
    assert_frames_spell_indices(batch)


def test_batches_are_bounded_and_add_up_to_one_pass(clip):
    with VideoReader(clip) as reader:
        sizes = [len(b) for b in reader.sample(fps=5.0, batch_size=4)]
        whole = sampled(reader, fps=5.0, batch_size=1000)
    assert max(sizes) <= 4 and sum(sizes) == len(whole) == 30


def test_start_and_end_bound_the_sample_times(clip):
    with VideoReader(clip) as reader:
        assert sampled(reader, fps=1.0, start=2.0, end=4.0).indices.tolist() == [20, 30]
        assert sampled(reader, fps=1.0, start=2.3).indices.tolist() == [30, 40, 50]
        halves = [sampled(reader, fps=2.5, start=0.0, end=3.0), sampled(reader, fps=2.5, start=3.0)]
        assert np.concatenate([h.indices for h in halves]).tolist() == sampled(reader, fps=2.5).indices.tolist()
        assert list(reader.sample(fps=1.0, start=2.5, end=2.5)) == []


def test_bad_arguments_are_refused(clip):
    with pytest.raises(ValueError):
        VideoReader(clip, backend="opencv")
    with VideoReader(clip) as reader:
        for kwargs in ({"fps": 0}, {"fps": -1}, {"batch_size": 0}, {"start": -1.0}, {"start": 3.0, "end": 2.0}):
            with pytest.raises(ValueError):
                next(reader.sample(**kwargs))
        with pytest.raises(ValueError):
            reader.frames_at([float("nan")])


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_at_gives_the_nearest_frames_in_the_order_asked(clip, backend):
    with VideoReader(clip, backend=backend) as reader:
        first = reader.frames_at([4.52, 0.31, 2.04, 4.52, 99.0, -3.0])
        again = reader.frames_at([0.0, 5.0])  # backwards after reading ahead
    assert first.indices.tolist() == [45, 3, 20, 45, 59, 0]
    assert first.times.tolist() == [4.5, 0.3, 2.0, 4.5, 5.9, 0.0]
    assert_frames_spell_indices(first)
    assert again.indices.tolist() == [0, 50]
    assert_frames_spell_indices(again)
    with VideoReader(clip, backend=backend) as reader:  # a late frame first: seek, then go on
        late = reader.frames_at([5.0])
        rest = sampled(reader, fps=2.0, start=5.5)
    assert late.indices.tolist() == [50] and rest.indices.tolist() == [55]
    assert_frames_spell_indices(late)
    assert_frames_spell_indices(rest)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_side_scales_down_keeping_the_aspect_ratio(clip, backend):
    with VideoReader(clip, backend=backend, max_side=160) as reader:
        batch = sampled(reader, fps=1.0)
        assert reader.frames_at([1.0]).frames.shape == (1, 120, 160, 3)
    assert batch.frames.shape == (6, 120, 160, 3)
    assert_frames_spell_indices(batch)
    with VideoReader(clip, max_side=1000) as reader:  # never scales up
        assert reader.frames_at([1.0]).frames.shape == (1, 240, 320, 3)


def test_scaled_frames_are_what_a_scaler_made_for_each_frame_alone_gives(clip):
    """The reader scales every frame with one scaler, made once: frames read in order and by
    seeking back must be the very pixels PyAV gives each frame scaled on its own."""
    with VideoReader(clip, backend="pyav", max_side=160) as reader:
        batch = sampled(reader, fps=2.5)
        again = reader.frames_at(batch.times[::-1])
    with av.open(str(clip)) as container:
        alone = [frame.to_ndarray(format="rgb24", width=160, height=120) for frame in container.decode(video=0)]
    assert np.array_equal(batch.frames, np.stack([alone[i] for i in batch.indices.tolist()]))
    assert np.array_equal(again.frames, batch.frames[::-1])


@needs_decord
def test_both_backends_give_the_same_frames(clip):
    with VideoReader(clip, backend="pyav") as a, VideoReader(clip, backend="decord") as b:
        assert (a.backend, b.backend) == ("pyav", "decord")
        x, y = sampled(a, fps=2.5, start=1.0), sampled(b, fps=2.5, start=1.0)
    assert x.indices.tolist() == y.indices.tolist()
    assert x.times.tolist() == y.times.tolist()
    assert np.abs(x.frames.astype(int) - y.frames.astype(int)).mean() < 2


# --- damaged and odd files --------------------------------------------------------------------


def packet_spans(path: Path) -> list[tuple[int, int]]:
    """(byte position, size) of each video packet."""
    with av.open(str(path)) as container:
        return [(p.pos, p.size) for p in container.demux(video=0) if p.size]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_frame_that_fails_to_decode_is_skipped_and_counted(clip, tmp_path, backend):
    """Zeroing one packet's bytes makes that frame undecodable; decord raises on it and the
    reader goes on with PyAV, which leaves the frame out and counts it."""
    position, size = packet_spans(clip)[13]
    data = bytearray(clip.read_bytes())
    data[position : position + size] = bytes(size)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with VideoReader(damaged, backend=backend) as reader:
        batch = sampled(reader, fps=FPS)
        assert reader.skipped == 1
        assert reader.backend == "pyav"
    assert batch.indices.tolist() == [i for i in range(60) if i != 13]
    assert batch.times.tolist() == [i / FPS for i in batch.indices.tolist()]
    assert [read_index(f) for f in batch.frames[:13]] == list(range(13))


def test_truncated_mp4_without_its_index_is_not_a_video(clip, tmp_path):
    """make_video writes the MP4 index (moov) last, so the first half of the file has none."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(NotAVideoError, match="truncated"):
        probe(cut)


def test_truncated_faststart_mp4_decodes_the_frames_before_the_cut(clip, tmp_path):
    whole = tmp_path / "faststart.mp4"
    with av.open(str(clip)) as source, av.open(str(whole), "w", options={"movflags": "faststart"}) as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert probe(cut).frame_count == 60  # what the header claims
    with VideoReader(cut) as reader:
        batch = sampled(reader, fps=FPS)
        assert 10 <= reader.info.frame_count < 60
        assert reader.info.duration == reader.info.frame_count / FPS
        assert len(batch) + reader.skipped == reader.info.frame_count
    assert batch.indices.tolist() == list(range(len(batch)))
    assert_frames_spell_indices(batch)


def test_raw_h264_without_timestamps_is_indexed_from_packets(tmp_path):
    """A raw elementary stream has no container duration, no frame count, no timestamps."""
    path = tmp_path / "raw.h264"
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(index_frame(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    info = probe(path)
    assert (info.duration, info.frame_count, info.fps) == (3.0, 30, FPS)
    with VideoReader(path) as reader:
        batch = sampled(reader, fps=1.0)
        assert reader.frames_at([2.5]).indices.tolist() == [25]
    assert batch.indices.tolist() == [0, 10, 20]
    assert batch.times.tolist() == [0.0, 1.0, 2.0]
    assert_frames_spell_indices(batch)


def stream_facts(rate, duration, frames, time_base=Fraction(1, 1000), container_us=None):
    stream = SimpleNamespace(average_rate=rate, guessed_rate=rate, duration=duration, time_base=time_base, frames=frames)
    return SimpleNamespace(duration=container_us), stream


@pytest.mark.parametrize(
    "facts, expected",
    [
        (stream_facts(Fraction(30), 10_000, 300), (30.0, 10.0, 300)),
        (stream_facts(Fraction(30), 10_000, 4_000_000_000), (30.0, 10.0, 300)),  # absurd count
        (stream_facts(Fraction(90000), 10_000, 300), (30.0, 10.0, 300)),  # a time base read as a rate
        (stream_facts(Fraction(0), 10_000, 300), (30.0, 10.0, 300)),
        (stream_facts(Fraction(30), None, 300, container_us=None), (30.0, 10.0, 300)),
        (stream_facts(Fraction(30), None, 0, container_us=10_000_000), (30.0, 10.0, 300)),
        (stream_facts(Fraction(30), 10**18, 0, container_us=None), (30.0, None, None)),  # absurd duration
        (stream_facts(None, None, 0), (None, None, None)),
    ],
)
def test_claimed_metadata_is_checked_and_completed(facts, expected):
    said = _pyav.claims(*facts)
    assert (said.fps, said.duration, said.frame_count) == expected


def test_video_track_without_frames_is_an_empty_video(tmp_path):
    """A Matroska file declaring a video track that holds no frame, beside a second of sound."""
    path = tmp_path / "empty.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone(1.0)[None, :], format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in [*audio.encode(frame), *audio.encode()]:
            container.mux(packet)
    with pytest.raises(EmptyVideoError):
        probe(path)
    with pytest.raises(EmptyVideoError):
        VideoReader(path)


# --- typed errors ---------------------------------------------------------------------------


def wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples[None, :] * 32767).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_unusable_paths_raise_typed_errors(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is a shopping list, not a video\n" * 20)
    garbage = tmp_path / "noise.mkv"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    image = tmp_path / "still.png"
    av.VideoFrame.from_ndarray(index_frame(3), format="rgb24").to_image().save(image)
    sound = wav(tmp_path / "sound.wav", tone(1.0))
    cases = [
        (tmp_path / "missing.mp4", UnreadableVideoError),
        (tmp_path, UnreadableVideoError),
        (empty, NotAVideoError),
        (text, NotAVideoError),
        (garbage, NotAVideoError),
        (image, NoVideoStreamError),
        (sound, NoVideoStreamError),
    ]
    for path, error in cases:
        with pytest.raises(error):
            probe(path)
        with pytest.raises(error):
            VideoReader(path)


# --- audio -----------------------------------------------------------------------------------


def dominant_frequency(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


@pytest.fixture(scope="module")
def two_tone(tmp_path_factory) -> Path:
    """440 Hz for 1.5 s, then 880 Hz for 1.5 s."""
    sound = np.concatenate([tone(1.5, 440.0), tone(1.5, 880.0)])
    return make_video(tmp_path_factory.mktemp("audio") / "tone.mp4", 3.0, fps=FPS, audio=sound)


def test_audio_comes_in_16khz_chunks_of_the_whole_length(two_tone):
    assert probe(two_tone).audio_codec == "aac"
    chunks = list(iter_audio(two_tone, chunk_seconds=1.0))
    assert all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    assert [len(c.samples) for c in chunks[:3]] == [16000] * 3
    assert [round(c.start, 3) for c in chunks[:3]] == [0.0, 1.0, 2.0]
    total = sum(len(c.samples) for c in chunks)
    assert abs(total - 48000) <= 1100  # AAC may pad up to one 1024-sample frame (at 16 kHz)
    assert dominant_frequency(chunks[0].samples) == pytest.approx(440, abs=3)
    assert dominant_frequency(chunks[2].samples) == pytest.approx(880, abs=3)


def test_read_audio_cuts_at_start_and_end(two_tone):
    before = read_audio(two_tone, 1.0, 1.45)
    after = read_audio(two_tone, 1.55, 2.0)
    assert len(before) == len(after) == 7200
    assert dominant_frequency(before) == pytest.approx(440, abs=5)
    assert dominant_frequency(after) == pytest.approx(880, abs=5)
    chunks = list(iter_audio(two_tone, chunk_seconds=0.5, start=1.0, end=2.0))
    assert [round(c.start, 3) for c in chunks] == [1.0, 1.5]
    assert sum(len(c.samples) for c in chunks) == 16000


def test_a_video_without_audio_yields_no_audio(clip):
    assert list(iter_audio(clip)) == []
    assert read_audio(clip, 0.0, 2.0).shape == (0,)


def test_audio_only_file_gives_its_audio(tmp_path):
    sound = wav(tmp_path / "sound.wav", tone(2.0, 1000.0, sample_rate=44100), rate=44100)
    samples = read_audio(sound)
    assert len(samples) == pytest.approx(32000, abs=2)
    assert dominant_frequency(samples) == pytest.approx(1000, abs=2)


# --- real media -------------------------------------------------------------------------------

REAL = Path(__file__).resolve().parents[3] / "shared" / "media" / "video"
REAL_VIDEOS = sorted(str(p.relative_to(REAL)) for p in REAL.rglob("*") if p.is_file() and p.suffix != ".md")


def ffprobe(path: Path, stream: str) -> dict:
    out = subprocess.run(
        [
            "/usr/bin/ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-select_streams",
            stream,
            "-show_entries",
            "stream=nb_read_packets,duration:format=duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.integration
@pytest.mark.parametrize("name", REAL_VIDEOS)
def test_real_video_probes_and_decodes_like_ffprobe(media, name):
    path = media / "video" / name
    truth = ffprobe(path, "v:0")
    packets = int(truth["streams"][0]["nb_read_packets"])
    duration = float(truth["streams"][0].get("duration") or truth["format"]["duration"])
    with VideoReader(path, max_side=224) as reader:
        info = reader.info
        assert abs(info.frame_count - packets) <= 1  # an edit list may hide a last frame
        assert info.duration == pytest.approx(duration, abs=max(0.1, 2 / info.fps))
        assert probe(path).duration == pytest.approx(duration, abs=max(0.1, 2 / info.fps))
        batch = sampled(reader, fps=1.0, batch_size=8)
        assert reader.skipped == 0
    assert abs(len(batch) - info.duration) <= 1.5
    assert np.all(np.diff(batch.indices) > 0) and np.all(np.diff(batch.times) > 0)
    width, height = _pyav.output_size(info.width, info.height, 224) or (info.width, info.height)
    assert batch.frames.shape[1:] == (height, width, 3)
    assert batch.frames.std() > 1  # real pictures, not blank buffers
    if info.has_audio:
        heard = sum(len(c.samples) for c in iter_audio(path)) / 16000
        audio = ffprobe(path, "a:0")
        expected = float(audio["streams"][0].get("duration") or audio["format"]["duration"])
        assert heard == pytest.approx(expected, abs=0.15)
    else:
        assert list(iter_audio(path)) == []


@pytest.mark.integration
@needs_decord
@pytest.mark.parametrize("name", REAL_VIDEOS)
def test_real_video_decord_gives_the_frames_pyav_gives(media, name):
    """Where decord is used it must return the frame a sequential PyAV pass calls by that
    index; on Megamind.avi (scrambled timestamps) its keyframe seeks did not, so it is refused."""
    path = media / "video" / name
    with VideoReader(path, backend="pyav") as a, VideoReader(path, backend="decord") as b:
        x, y = sampled(a, fps=0.25), sampled(b, fps=0.25)
    assert x.indices.tolist() == y.indices.tolist()
    assert np.abs(x.frames.astype(np.int16) - y.frames).mean(axis=(1, 2, 3)).max() < 1


@pytest.mark.integration
@pytest.mark.parametrize("name", ["vtest.avi", "big_buck_bunny_0_30.webm", "flipping_a_pancake.mkv", "cup.mp4"])
def test_real_video_random_access_matches_a_sequential_pass(media, name):
    """frames_at seeks to keyframes (going backwards here); its frames must be the very
    frames a sequential pass decodes."""
    with VideoReader(media / "video" / name, backend="pyav", max_side=160) as reader:
        batch = sampled(reader, fps=0.5)
        again = reader.frames_at(batch.times[::-1])
    assert again.indices.tolist() == batch.indices[::-1].tolist()
    assert np.array_equal(again.frames, batch.frames[::-1])


@pytest.mark.integration
@pytest.mark.parametrize("name", ["one-by-one-person-detection.mp4", "big_buck_bunny_0_30.webm", "h265_video.mp4", "vtest.avi"])
def test_one_decoder_thread_gives_the_frames_ffmpegs_threads_give(media, name):
    """Ingest decodes on one thread; frame threading changes only who decodes, never a pixel,
    whether frames are read in order or by seeking back."""
    path = media / "video" / name
    with VideoReader(path, max_side=160) as threaded, VideoReader(path, max_side=160, threads=1) as alone:
        x, y = sampled(threaded, fps=2.0), sampled(alone, fps=2.0)
        back = alone.frames_at(x.times[::-1])
    assert len(x) > 0 and x.indices.tolist() == y.indices.tolist() and x.times.tolist() == y.times.tolist()
    assert np.array_equal(x.frames, y.frames)
    assert np.array_equal(back.frames, x.frames[::-1])


@pytest.mark.integration
@pytest.mark.parametrize("threads", [0, 1, 2])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_damaged_av1_header_is_a_video_with_no_frame_that_decodes(media, tmp_path, seed, threads):
    """dav1d answers such a header with ENOMEM, then EAGAIN to every packet: whatever the decoder's
    threads, a failed packet, never an untyped MemoryError from the reader."""
    damaged = hostile.flipped(media / "video" / "av1_video.mkv", tmp_path, seed, "header")
    with pytest.raises(EmptyVideoError, match="no frame that decodes"):
        with VideoReader(damaged, backend="pyav", threads=threads) as reader:
            sampled(reader, fps=2.0)


def test_a_twin_reads_its_own_part_of_the_file_without_moving_the_first(clip):
    with VideoReader(clip, max_side=160) as reader:
        first = reader.frames_at([0.0, 0.5])
        with reader.twin() as twin:
            assert (twin.info, twin.seeks) == (reader.info, True)
            late = twin.frames_at([4.0, 5.5])
            rest = reader.frames_at([1.0, 2.0])  # the first reader goes on where it was
        again = reader.frames_at([3.0])  # and still reads once its twin is closed
    assert (first.indices.tolist(), late.indices.tolist(), rest.indices.tolist(), again.indices.tolist()) == (
        [0, 5],
        [40, 55],
        [10, 20],
        [30],
    )
    for batch in (first, late, rest, again):
        assert batch.frames.shape[1:] == (120, 160, 3)
        assert_frames_spell_indices(batch)


def test_a_negative_thread_count_is_refused(clip):
    with pytest.raises(ValueError, match="threads"):
        VideoReader(clip, threads=-1)


@pytest.mark.integration
def test_box_mp4_gives_every_frame_ffmpeg_presents(media):
    """box.mp4 says 456 frames, but its last packet is cut by the MP4 edit list (a discard
    packet, not damage), and its one bad slice header is concealed by the decoder: 455 frames
    are presented, as `ffprobe -count_frames` also finds, and all of them decode."""
    path = media / "video" / "box.mp4"
    assert probe(path).frame_count == 456
    with VideoReader(path, max_side=160) as reader:
        batch = sampled(reader, fps=60.0, batch_size=64)
        assert reader.info.frame_count == 455 and reader.skipped == 0
    assert batch.indices.tolist() == list(range(455))
    assert np.all(np.diff(batch.times) > 0)


@pytest.mark.integration
def test_real_non_videos_raise_typed_errors(media):
    with pytest.raises(NoVideoStreamError):
        probe(next((media / "audio").rglob("*.wav")))
    with pytest.raises(NoVideoStreamError):
        VideoReader(media / "images" / "grace_hopper.jpg")


def test_audio_already_at_16khz_mono_skips_the_resampler_and_reads_the_same(two_tone, monkeypatch):
    """A talk's track is often float mono at 16 kHz, read without a resampler: it must still be
    FFmpeg's decoding, sample for sample, and the same bytes as through the resampler."""
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(two_tone), "-vn", "-f", "f32le", "-ac", "1", "-ar", "16000", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    direct, window = read_audio(two_tone), read_audio(two_tone, 1.0, 2.0)
    np.testing.assert_allclose(direct, np.frombuffer(decoded, np.float32), rtol=0, atol=1e-6)
    monkeypatch.setattr(_pyav, "_already_resampled", lambda frame, rate: False)
    assert read_audio(two_tone).tobytes() == direct.tobytes()
    assert read_audio(two_tone, 1.0, 2.0).tobytes() == window.tobytes()
