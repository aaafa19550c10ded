"""Tracker tests on real recordings (../shared) plus numeric tests of the smoothing helpers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from talker.errors import FaceTooSmallError, NoFaceError
from talker.motion import code
from talker.tracking.landmarker_model import find_face_landmarker
from talker.tracking.smoothing import OneEuroFilter, fill_gaps, one_euro
from talker.tracking.tracker import FALLBACK_WARNING, track_frames

CLIP = "fixtures/video/en_woman_flag_8s.mp4"
PHOTO = "fixtures/images/man_frontal.png"
MODEL = "models/face_landmarker.task"


@pytest.fixture(scope="module")
def clip_frames(shared_path):
    from talker.media.decode import iter_frames

    return list(iter_frames(shared_path(CLIP), start=0, duration=2))


@pytest.fixture(scope="module")
def photo(shared_path):
    from talker.media.decode import read_image

    return read_image(shared_path(PHOTO))


@pytest.fixture(scope="module")
def model(shared_path):
    return str(shared_path(MODEL))


@pytest.fixture(scope="module")
def primary(clip_frames, model):
    return track_frames(clip_frames, model_path=model, backend="landmarker",
                        source_name="en_woman_flag_8s.mp4")


@pytest.fixture(scope="module")
def fallback(clip_frames):
    return track_frames(clip_frames, backend="face_mesh")


def _check_shapes(res, t):
    assert res.motion.shape == (t, code.MOTION_DIM) and res.motion.dtype == np.float32
    assert res.landmarks.shape == (t, 478, 3)
    assert res.boxes.shape == (t, 4)
    assert res.detected.shape == (t,)
    assert np.isfinite(res.motion).all() and np.isfinite(res.landmarks).all()


def test_landmarker_on_speaking_clip(primary, clip_frames):
    res = primary
    _check_shapes(res, len(clip_frames))
    assert len(clip_frames) == 50
    assert res.backend == "face_landmarker"
    assert res.face_ratio >= 0.95 and res.max_faces == 1 and res.warnings == []
    assert res.frame_size == (512, 512)
    bs = res.motion[:, code.BLENDSHAPES]
    assert bs.min() >= 0.0 and bs.max() <= 1.0
    assert np.abs(code.channel(res.motion, "headYaw")).max() < 0.6
    assert np.abs(res.motion[:, code.HEAD_ROTATION]).max() < 0.6
    z = code.channel(res.motion, "headZ")
    assert (z < -10).all() and (z > -80).all()  # cm in front of the camera
    assert np.abs(res.motion[:, code.EYES]).max() < 0.5
    # speaking: the jaw moves
    assert code.channel(res.motion, "jawOpen").std() > 0.04
    # landmark box lies inside the frame and is a face-sized box
    x0, y0, x1, y1 = np.median(res.boxes, axis=0)
    assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512 and 150 < y1 - y0 < 450


def test_blinks_survive_smoothing(primary):
    # the first two seconds hold two clear blinks (around frames 10 and 34)
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        blink = code.channel(primary.motion, name)
        assert blink.max() > 0.45, name
        assert np.median(blink) < 0.2, name
        peaks = [i for i in range(1, len(blink) - 1)
                 if blink[i] >= blink[i - 1] and blink[i] >= blink[i + 1] and blink[i] > 0.4]
        assert len(peaks) >= 2, (name, peaks)


def test_fallback_matches_primary(primary, fallback):
    assert fallback.backend == "face_mesh_fallback"
    _check_shapes(fallback, primary.motion.shape[0])
    assert fallback.face_ratio >= 0.95
    bs = fallback.motion[:, code.BLENDSHAPES]
    assert bs.min() >= 0.0 and bs.max() <= 1.0
    r_jaw = np.corrcoef(code.channel(primary.motion, "jawOpen"), code.channel(fallback.motion, "jawOpen"))[0, 1]
    assert r_jaw > 0.5
    r_yaw = np.corrcoef(code.channel(primary.motion, "headYaw"), code.channel(fallback.motion, "headYaw"))[0, 1]
    assert r_yaw > 0.8
    # same units and signs: head rotation within a few degrees, translation within a few cm
    assert np.abs(primary.motion[:, code.HEAD_ROTATION] - fallback.motion[:, code.HEAD_ROTATION]).mean() < 0.1
    assert np.abs(primary.motion[:, code.HEAD_TRANSLATION] - fallback.motion[:, code.HEAD_TRANSLATION]).mean() < 3.0
    # landmarks agree to a few pixels
    assert np.abs(primary.landmarks[..., :2] - fallback.landmarks[..., :2]).mean() < 4.0
    assert code.channel(fallback.motion, "eyeBlinkLeft").max() > 0.3


def test_photo_both_backends_and_auto_fallback(photo, model, monkeypatch, tmp_path):
    res = track_frames([photo], image_mode=True, model_path=model)
    assert res.backend == "face_landmarker" and res.detected.all()
    assert res.motion.shape == (1, code.MOTION_DIM)
    assert abs(float(code.channel(res.motion, "headYaw")[0])) < 0.6
    # no model anywhere and offline: auto falls back and says so
    monkeypatch.delenv("TALKER_FACE_LANDMARKER", raising=False)
    monkeypatch.setenv("TALKER_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("TALKER_OFFLINE", "1")
    fb = track_frames([photo], image_mode=True)
    assert fb.backend == "face_mesh_fallback" and FALLBACK_WARNING in fb.warnings
    assert abs(float(code.channel(fb.motion, "headYaw")[0] - code.channel(res.motion, "headYaw")[0])) < 0.1


def test_no_face_raises(model):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    flat = np.full((256, 256, 3), 90, np.uint8)
    with pytest.raises(NoFaceError, match="No face found in 'noise.png'"):
        track_frames([noise, flat], backend="face_mesh", source_name="noise.png")
    with pytest.raises(NoFaceError):
        track_frames([flat], image_mode=True, model_path=model, backend="landmarker")


def test_small_face_raises(photo):
    import cv2

    canvas = np.full((512, 512, 3), 128, np.uint8)
    canvas[200:296, 200:296] = cv2.resize(photo, (96, 96), interpolation=cv2.INTER_AREA)
    with pytest.raises((FaceTooSmallError, NoFaceError)) as info:
        track_frames([canvas], image_mode=True, backend="face_mesh", source_name="tiny.png")
    assert "tiny.png" in str(info.value)


def test_find_face_landmarker_order(shared_path, monkeypatch, tmp_path):
    model = shared_path(MODEL)
    monkeypatch.setenv("TALKER_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TALKER_OFFLINE", "1")
    monkeypatch.delenv("TALKER_FACE_LANDMARKER", raising=False)
    assert find_face_landmarker() is None
    stub = tmp_path / "stub.task"
    stub.write_bytes(b"x" * 1000)  # too small to be the real bundle
    assert find_face_landmarker(str(stub)) is None
    assert find_face_landmarker(str(model)) == model
    monkeypatch.setenv("TALKER_FACE_LANDMARKER", str(model))
    assert find_face_landmarker() == model
    assert find_face_landmarker(str(stub)) == model  # unusable explicit path falls through to env
    # offline download attempt: returns None promptly instead of hanging
    monkeypatch.delenv("TALKER_FACE_LANDMARKER")
    monkeypatch.setenv("TALKER_OFFLINE", "0")
    t0 = time.monotonic()
    got = find_face_landmarker(allow_download=True)
    if got is not None:  # a machine with internet really downloaded it
        assert got.stat().st_size > 1_000_000
    assert time.monotonic() - t0 < 30


def test_one_euro_numbers():
    fps = 25.0
    # a constant passes unchanged
    const = np.full((40, 3), 2.5)
    assert np.allclose(one_euro(const, fps, 1.0, 0.0), 2.5)
    # first-order low-pass: with beta=0 one step of alpha; cutoff 1 Hz at 25 fps -> alpha ~0.2008
    f = OneEuroFilter(fps, min_cutoff=1.0, beta=0.0)
    f(np.array([0.0]))
    y = f(np.array([1.0]))
    tau = 1 / (2 * np.pi)
    assert y[0] == pytest.approx(1 / (1 + tau * fps), rel=1e-6)
    # jitter is reduced at rest ...
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1.0, (500, 2))
    assert one_euro(noise, fps, 1.0, 0.0).std() < 0.45
    # ... while a large fast step passes almost at once when beta is high
    step = np.r_[np.zeros(20), np.ones(20)][:, None] * 10.0
    fast = one_euro(step, fps, 1.0, 5.0, zero_phase=False)
    slow = one_euro(step, fps, 1.0, 0.0, zero_phase=False)
    assert fast[22, 0] > 8.0 and slow[22, 0] < 6.0
    # zero-phase: a symmetric bump keeps its peak position
    bump = np.exp(-0.5 * ((np.arange(60) - 30) / 2.0) ** 2)[:, None]
    assert int(np.argmax(one_euro(bump, fps, 2.0, 0.0))) == 30
    assert int(np.argmax(one_euro(bump, fps, 2.0, 0.0, zero_phase=False))) > 30


def test_fill_gaps_numbers():
    vals = np.array([0.0, 0, 4, 0, 0, 0, 8, 0, 0], dtype=np.float32)[:, None]
    det = np.array([0, 0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    out, flagged = fill_gaps(vals, det, max_gap=3)
    assert out[:, 0].tolist() == [4, 4, 4, 5, 6, 7, 8, 8, 8]
    assert not flagged.any()
    # a gap longer than max_gap is held from both sides and flagged
    out, flagged = fill_gaps(vals, det, max_gap=2)
    assert out[:, 0].tolist() == [4, 4, 4, 4, 8, 8, 8, 8, 8]
    assert flagged.tolist() == [False, False, False, True, True, True, False, False, False]
    # multi-dimensional values interpolate per element
    lm = np.zeros((3, 2, 2), np.float32)
    lm[0], lm[2] = 1.0, 3.0
    out, _ = fill_gaps(lm, np.array([True, False, True]), 5)
    assert np.allclose(out[1], 2.0)
    # nothing detected: unchanged, all flagged
    out, flagged = fill_gaps(vals, np.zeros(9, bool))
    assert flagged.all() and np.array_equal(out, vals)
