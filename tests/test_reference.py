"""Reference analysis on real clips and on the bad inputs a user can give."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from talker.errors import (
    ClipTooShortError,
    FaceTooSmallError,
    InputError,
    MediaDecodeError,
    MediaNotFoundError,
    NoAudioError,
    NoFaceError,
    SilentAudioError,
)
from talker.motion.code import MOTION_DIM
from talker.pipeline import PipelineConfig, TalkerPipeline
from talker.reference.analysis import AnalysisConfig
from talker.reference.sync import jaw_audio_sync

from .conftest import require_shared
from .media_factory import make, still_video, write_png


@pytest.fixture()
def pipe(tmp_path) -> TalkerPipeline:
    return TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "cache"), templates_dir=str(tmp_path / "tpl")))


@pytest.fixture(scope="module")
def speech_wav() -> Path:
    return require_shared("fixtures/audio/en_printing_10s.wav")


@pytest.fixture(scope="module")
def portrait() -> Path:
    return require_shared("fixtures/images/man_frontal.png")


def test_jaw_sync_finds_a_known_shift():
    """A jaw that follows the speech envelope 2 frames early is reported as leading by 2."""
    from talker.motion.code import index
    from talker.reference.sync import speech_envelope

    rng = np.random.default_rng(0)
    sr, n = 24000, 250
    bursts = np.repeat(rng.random(n) > 0.6, 960).astype(np.float32)
    audio = bursts * rng.standard_normal(n * 960).astype(np.float32) * 0.3
    env = speech_envelope(audio, sr, n)
    motion = np.zeros((n, MOTION_DIM), np.float32)
    motion[:-2, index("jawOpen")] = env[2:]  # jaw at t shows the sound at t + 2
    s = jaw_audio_sync(motion, audio, sr)
    assert s["lag_frames"] == 2 and s["r"] > 0.9


@pytest.mark.slow
def test_real_clip_analysis_and_cache(pipe):
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    t = time.perf_counter()
    feats = pipe.analyze(clip)
    first = time.perf_counter() - t
    s = feats.summary()
    assert s["motion_shape"] == [feats.frames, MOTION_DIM]
    assert abs(feats.frames - feats.duration * 25) < 1
    assert 5.0 < feats.duration <= 8.2
    assert feats.face_ratio >= 0.95
    assert feats.language == "en" and len(feats.transcript.split()) >= 8
    assert feats.audio is not None and feats.audio.size == feats.frames * 960
    sync = jaw_audio_sync(feats.motion, feats.audio, feats.sample_rate)
    assert sync["r"] > 0.1 and abs(sync["lag_frames"]) <= 5, sync  # a positive peak near lag 0
    # second run: cached by content, even under another name
    copy = pipe.cache.root.parent / "renamed copy.mp4"
    copy.write_bytes(clip.read_bytes())
    t = time.perf_counter()
    again = pipe.analyze(copy)
    cached = time.perf_counter() - t
    assert "cache_load" in again.timings and cached < 0.25 * first
    np.testing.assert_allclose(again.motion, feats.motion, atol=1e-6)
    # the lip gap as each frame shows it: close to the smoothed track's, but not rounded off
    from talker.motion.geometry import mouth_opening

    assert feats.mouth_gap.shape == (feats.frames,)
    np.testing.assert_allclose(again.mouth_gap, feats.mouth_gap)
    smoothed = mouth_opening(feats.landmarks)
    assert np.corrcoef(feats.mouth_gap, smoothed)[0, 1] > 0.9
    assert np.abs(np.diff(feats.mouth_gap)).mean() > 1.1 * np.abs(np.diff(smoothed)).mean()
    assert again.transcript == feats.transcript and again.source == "renamed copy.mp4"
    # a user transcript wins and skips ASR, without spoiling the cached ASR transcript
    user = pipe.analyze(clip, transcript="  hello   there ")
    assert user.transcript == "hello there" and user.transcript_source == "user"
    assert pipe.analyze(clip).transcript == feats.transcript


@pytest.mark.slow
def test_vfr_clip_is_resampled_to_25fps(pipe):
    clip = require_shared("fixtures/video/en_man_suit_vfr_6s.mp4")
    feats = pipe.analyze(clip, transcript="given")
    assert abs(feats.frames - round(feats.duration * 25)) <= 1
    assert feats.frames >= 0.9 * 25 * (feats.span[1] - feats.span[0])


@pytest.mark.slow
def test_photo_reference(pipe, portrait):
    feats = pipe.analyze(portrait)
    assert feats.kind == "image" and feats.frames == 1 and feats.face_found
    assert feats.audio is None and feats.transcript == ""
    assert feats.motion.shape == (1, MOTION_DIM)


# ---------------------------------------------------------------- bad input -----------------

def test_missing_file(pipe, tmp_path):
    with pytest.raises(MediaNotFoundError, match="not found"):
        pipe.analyze(tmp_path / "nope.mp4")


def test_zero_byte_file(pipe, tmp_path):
    f = tmp_path / "empty.mp4"
    f.write_bytes(b"")
    with pytest.raises(MediaDecodeError, match="empty"):
        pipe.analyze(f)


def test_renamed_non_media(pipe, tmp_path):
    f = tmp_path / "notes.mp4"
    f.write_text("this is a text file, not a video\n" * 50)
    with pytest.raises(MediaDecodeError, match="not a readable"):
        pipe.analyze(f)


def test_truncated_video_is_unreadable(pipe, tmp_path):
    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    f = tmp_path / "cut.mp4"
    f.write_bytes(clip.read_bytes()[:20000])
    with pytest.raises(InputError):
        pipe.analyze(f)


def test_video_without_audio(pipe, tmp_path, portrait):
    v = still_video(portrait, tmp_path / "mute.mp4", 4)
    with pytest.raises(NoAudioError, match="no audio"):
        pipe.analyze(v)


def test_silent_audio(pipe, tmp_path, portrait):
    silence = make(tmp_path / "silence.wav", "-f", "lavfi", "-i", "anullsrc=r=24000:cl=mono", "-t", "5")
    v = still_video(portrait, tmp_path / "silent.mp4", 5, audio=silence)
    with pytest.raises(SilentAudioError, match="silent"):
        pipe.analyze(v)


def test_noise_without_speech(pipe, tmp_path, portrait):
    noise = make(tmp_path / "hum.wav", "-f", "lavfi", "-i", "sine=frequency=50:sample_rate=24000", "-t", "5")
    v = still_video(portrait, tmp_path / "hum.mp4", 5, audio=noise)
    with pytest.raises(SilentAudioError, match="No speech"):
        pipe.analyze(v)


def test_no_face(pipe, tmp_path, speech_wav):
    img = write_png(np.full((256, 256, 3), (40, 120, 200), np.uint8), tmp_path / "blue.png")
    v = still_video(img, tmp_path / "noface.mp4", 5, audio=speech_wav)
    with pytest.raises(NoFaceError, match="face"):
        pipe.analyze(v)
    with pytest.raises(NoFaceError):
        pipe.analyze(img)


def test_face_too_small(pipe, tmp_path, portrait):
    from PIL import Image

    small = np.asarray(Image.open(portrait).convert("RGB").resize((48, 48)))
    canvas = np.full((720, 720, 3), 128, np.uint8)
    canvas[300:348, 300:348] = small
    with pytest.raises((FaceTooSmallError, NoFaceError), match="small|face"):
        pipe.analyze(write_png(canvas, tmp_path / "tiny.png"))


def test_several_faces_pick_largest(pipe, tmp_path, portrait):
    from PIL import Image

    big = np.asarray(Image.open(portrait).convert("RGB").resize((400, 400)))
    small = np.asarray(Image.open(portrait).convert("RGB").resize((200, 200)))
    canvas = np.full((400, 640, 3), 200, np.uint8)
    canvas[:, :400] = big
    canvas[100:300, 420:620] = small
    feats = pipe.analyze(write_png(canvas, tmp_path / "two people.png"))
    assert feats.max_faces >= 2
    assert any("faces" in w for w in feats.warnings)
    x0, _, x1, _ = feats.boxes[0]
    assert x1 < 420 and x1 - x0 > 100  # the big face on the left was chosen


def test_too_short_clip(pipe, tmp_path):
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    short = make(tmp_path / "short.mp4", "-i", str(clip), "-t", "2", "-c", "copy")
    with pytest.raises(ClipTooShortError, match="at least 3"):
        pipe.analyze(short)


@pytest.mark.slow
def test_long_clip_is_capped(tmp_path):
    clip = require_shared("fixtures/video/de_anchor_20s.mp4")
    long = make(tmp_path / "long.mp4", "-stream_loop", "2", "-i", str(clip), "-c", "copy")
    pipe = TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "c"), analysis=AnalysisConfig(max_seconds=12)))
    feats = pipe.analyze(long, transcript="Guten Abend.", language="de")
    assert feats.duration <= 12.0 + 1e-6 and feats.duration > 6
    assert any("capped" in w for w in feats.warnings)


def test_hostile_file_name(pipe, tmp_path, portrait):
    evil = tmp_path / "-y; rm -rf ~ $(id) 'ü\"%d|.png"
    evil.write_bytes(portrait.read_bytes())
    feats = pipe.analyze(evil)
    assert feats.face_found and feats.source == evil.name


def test_cli_json(tmp_path, portrait, monkeypatch, capsys):
    from talker.cli import main

    monkeypatch.setenv("TALKER_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["reference", "analyze", str(portrait), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("duration", "fps", "frames", "motion_shape", "transcript", "language", "face_found"):
        assert key in out
    assert out["motion_shape"] == [1, 61] and out["face_found"] is True
    assert main(["reference", "analyze", str(tmp_path / "missing.mp4"), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "file_not_found"
    assert "Traceback" not in captured.err


def test_no_temp_files_leak(pipe, tmp_path, portrait, monkeypatch):
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    f = tmp_path / "bad.mp4"
    f.write_text("garbage")
    with pytest.raises(MediaDecodeError):
        pipe.analyze(f)
    pipe.analyze(portrait)
    assert list(scratch.iterdir()) == []
