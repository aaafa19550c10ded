"""PhotoRenderer: shapes, determinism, a still background, and what a face tracker and a face
recogniser measure on the rendered frames (jaw follows the command, lips close for /p b m/,
eyes blink, the person stays the same person)."""

from __future__ import annotations

import numpy as np
import pytest

from talker.motion import code
from talker.pipeline import TalkerPipeline
from talker.render.base import RenderConfig
from talker.render.photo import PhotoRenderer

MODEL = "models/face_landmarker.task"
MAN = "fixtures/images/man_frontal.png"
JAWS = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0, 0.3, 0.15, 0.45, 0.0, 0.25])
CLOSED = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0], bool)


def _set(row: np.ndarray, **values) -> np.ndarray:
    out = np.array(row, np.float32)
    for k, v in values.items():
        out[code.index(k)] = v
    return out


def _speech_like(r: PhotoRenderer) -> np.ndarray:
    m = np.repeat(r.neutral[None].astype(np.float32), len(JAWS), axis=0)
    m[:, code.index("jawOpen")] = JAWS
    m[CLOSED, code.index("mouthClose")] = 0.35
    m[CLOSED, code.index("mouthPressLeft")] = 0.6
    m[CLOSED, code.index("mouthPressRight")] = 0.6
    return m


@pytest.fixture(scope="module")
def astronaut():
    tpl, feats = TalkerPipeline().template("astronaut")
    return PhotoRenderer(feats, tpl.media_path), tpl.media_path, feats


@pytest.fixture(scope="module")
def man(shared_path):
    path = shared_path(MAN)
    feats = TalkerPipeline().analyze(path)
    return PhotoRenderer(feats, path), path, feats


def _track(frames, shared_path):
    from talker.tracking.tracker import track_frames

    return track_frames(frames, image_mode=True, model_path=str(shared_path(MODEL)), backend="landmarker")


def _lip_gap(lm: np.ndarray) -> np.ndarray:
    return np.linalg.norm(lm[:, 13, :2] - lm[:, 14, :2], axis=1) / np.linalg.norm(lm[:, 10, :2] - lm[:, 152, :2], axis=1)


# --------------------------------------------------------------------------------- basics
def test_frames_shape_dtype_count(astronaut):
    r, _, _ = astronaut
    m = _speech_like(r)[:5]
    frames = list(r.render(m))
    assert len(frames) == 5
    w, h = r.output_size
    assert w % 2 == 0 and h % 2 == 0
    for f in frames:
        assert f.shape == (h, w, 3) and f.dtype == np.uint8


def test_frames_rendered_in_chunks_match_frames_rendered_alone(astronaut):
    """render() computes expression offsets for chunks of frames at once: no frame may see another's row."""
    r, _, _ = astronaut
    rng = np.random.default_rng(0)
    rows = r.neutral[None] + rng.normal(0, 0.15, (70, 61)) * np.r_[np.ones(51), np.full(10, 0.1)]
    off, info = r.expression_offsets_batch(rows)
    for k in (0, 33, 69):
        one, one_info = r.expression_offsets(rows[k])
        np.testing.assert_allclose(off[k], one, atol=1e-12)
        assert one_info["jaw"] == pytest.approx(info["jaw"][k]) and one_info["blink"] == pytest.approx(list(info["blink"][k]))
    assert np.abs(off[0] - off[1]).max() > 1e-3  # different rows, different offsets
    frames = list(r.render(rows))[62:67]  # across the border of the first 64-frame chunk
    alone = [r.render_frame(row) for row in rows[62:67]]
    assert all(np.array_equal(a, b) for a, b in zip(frames, alone, strict=True))


def test_neutral_reproduces_photo_and_is_deterministic(astronaut):
    r, _, _ = astronaut
    neutral = r.render_frame(r.neutral)
    assert np.abs(neutral.astype(int) - r.canvas.astype(int)).mean() < 1.0
    row = _set(r.neutral, jawOpen=0.4, eyeBlinkLeft=0.6, headYaw=float(r.neutral[code.index("headYaw")]) + 0.05)
    a, b = r.render_frame(row), r.render_frame(row)
    assert np.array_equal(a, b)


def test_crop_mode_gives_512_face_crop(astronaut):
    _, path, feats = astronaut
    r = PhotoRenderer(feats, path, RenderConfig(paste_back=False))
    assert r.output_size == (512, 512)
    f = r.render_frame(_set(r.neutral, jawOpen=0.3))
    assert f.shape == (512, 512, 3)
    lm = r.lm
    face_h = np.linalg.norm(lm[152, :2] - lm[10, :2])
    assert 200 < face_h < 300  # the face fills about half the crop
    assert abs(lm[1, 0] - 256) < 40


def test_max_side_caps_output(astronaut):
    _, path, feats = astronaut
    r = PhotoRenderer(feats, path, RenderConfig(max_side=300))
    assert max(r.output_size) <= 300 and r.output_size[0] % 2 == 0
    assert r.render_frame(r.neutral).shape == (r.output_size[1], r.output_size[0], 3)


def test_background_far_from_head_does_not_move(astronaut):
    r, _, _ = astronaut
    n = r.neutral
    row = _set(n, jawOpen=0.5, headYaw=n[code.index("headYaw")] + 0.08, headPitch=n[code.index("headPitch")] + 0.06,
               headRoll=n[code.index("headRoll")] + 0.05, headX=n[code.index("headX")] + 0.5)
    f = r.render_frame(row)
    x0, y0, x1, y1 = r.warp.roi
    h, w = r.canvas.shape[:2]
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    assert outside.mean() > 0.4  # the head is a small part of this photo
    assert np.array_equal(f[outside], r.canvas[outside])
    # and the head did move
    assert np.abs(f.astype(int) - r.canvas.astype(int)).mean() > 0.5


def test_speed_small_photo(astronaut):
    import time

    r, _, _ = astronaut
    m = _speech_like(r)
    r.render_frame(m[0])
    t = time.perf_counter()
    for row in m:
        r.render_frame(row)
    ms = 1000 * (time.perf_counter() - t) / len(m)
    assert ms < 120  # generous: shared CI machines; the target (<= 25 ms) is reported by the demo script


# ------------------------------------------------------------------------ measured on frames
@pytest.mark.parametrize("who", ["astronaut", "man"])
def test_retracked_jaw_follows_command_and_lips_close(who, request, shared_path):
    r, _, _ = request.getfixturevalue(who)
    m = _speech_like(r)
    frames = list(r.render(m))
    tr = _track(frames, shared_path)
    assert tr.detected.all()
    jaw = tr.motion[:, code.index("jawOpen")]
    assert np.corrcoef(JAWS, jaw)[0, 1] > 0.8
    gap = _lip_gap(tr.landmarks)
    opened = gap[JAWS >= 0.3]
    # bilabial closure as the lip-sync measure counts it, and nearly touching in absolute terms
    assert gap[CLOSED].max() < 0.35 * np.median(opened)
    assert gap[CLOSED].max() < 0.02
    # the astronaut's own photo has parted lips: closing must beat the photo itself
    neutral_gap = _lip_gap(r.lm[None])[0]
    assert gap[CLOSED].max() < max(0.5 * neutral_gap, 0.01)


def test_retracked_blink_rises(astronaut, shared_path):
    r, _, _ = astronaut
    blinks = np.array([0.0, 0.0, 0.75, 0.75, 0.0, 0.4, 0.75, 0.0])
    m = np.repeat(r.neutral[None].astype(np.float32), len(blinks), axis=0)
    m[:, code.index("eyeBlinkLeft")] = np.maximum(blinks, r.neutral[code.index("eyeBlinkLeft")])
    m[:, code.index("eyeBlinkRight")] = np.maximum(blinks, r.neutral[code.index("eyeBlinkRight")])
    tr = _track(list(r.render(m)), shared_path)
    tb = tr.motion[:, [code.index("eyeBlinkLeft"), code.index("eyeBlinkRight")]].mean(axis=1)
    closed, open_ = tb[blinks >= 0.7], tb[blinks == 0]
    assert closed.min() > open_.max() + 0.2
    assert np.corrcoef(blinks, tb)[0, 1] > 0.8


def _embedding(img: np.ndarray, lm: np.ndarray):
    import dlib
    import face_recognition_models as frm

    sp = dlib.shape_predictor(frm.pose_predictor_model_location())
    rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    x0, y0 = lm[:, :2].min(0)
    x1, y1 = lm[:, :2].max(0)
    rect = dlib.rectangle(int(x0), int(y0 + 0.1 * (y1 - y0)), int(x1), int(y1))
    shape = sp(img, rect)
    return np.array(rec.compute_face_descriptor(img, shape))


@pytest.mark.parametrize("who", ["astronaut", "man"])
def test_identity_preserved(who, request, shared_path):
    r, _, _ = request.getfixturevalue(who)
    n = r.neutral
    rows = [
        _set(n, jawOpen=0.45),
        _set(n, jawOpen=0.0, mouthClose=0.35, mouthPressLeft=0.6, mouthPressRight=0.6),
        _set(n, mouthSmileLeft=0.9, mouthSmileRight=0.9, jawOpen=0.15),
        _set(n, eyeBlinkLeft=0.75, eyeBlinkRight=0.75, jawOpen=0.2),
        _set(n, headYaw=n[code.index("headYaw")] + 0.07, headPitch=n[code.index("headPitch")] + 0.05, jawOpen=0.3),
    ]
    ref = _embedding(r.canvas, r.lm)
    frames = [r.render_frame(row) for row in rows]
    tr = _track(frames, shared_path)
    for f, lm in zip(frames, tr.landmarks, strict=True):
        d = float(np.linalg.norm(_embedding(f, lm) - ref))
        assert d <= 0.35, d
