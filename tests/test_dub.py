"""Dubbing an existing video: every frame kept, only the mouth changed (``TalkerPipeline.dub``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talker.dub.render import blend_weights
from talker.dub.source import output_rate
from talker.dub.timeline import plan_timeline
from talker.errors import InputError, NoFaceError

from .conftest import PRINTING, require_shared

NATURE = "Some call me nature, others call me mother nature."


# -- the timeline (pure) -------------------------------------------------------------------------
def test_while_the_new_speech_lasts_output_frame_t_is_source_frame_t():
    tl = plan_timeline(200, 120, rest="cut")
    assert tl.frames == 120 and np.array_equal(tl.source, np.arange(120)) and tl.dubbed.all()
    keep = plan_timeline(200, 120, rest="keep")
    assert keep.frames == 200 and np.array_equal(keep.source, np.arange(200))
    assert keep.dubbed[:120].all() and not keep.dubbed[120:].any()


def test_longer_speech_plays_the_end_back_and_forth_without_a_jump_or_a_freeze():
    rng = np.random.default_rng(0)
    speed = rng.random(250) + 1.0
    speed[190:196] = 0.01  # a calm moment 2.2-2.4 s before the end
    tl = plan_timeline(250, 600, fps=25, head_speed=speed)
    assert tl.frames == 600 and tl.extended == 350 and tl.dubbed.all()
    steps = np.diff(tl.source)
    assert np.all(np.abs(steps) == 1)  # every step plays on, forwards or backwards: no cut, no held frame
    turns = tl.source[1:-1][(steps[:-1] < 0) & (steps[1:] > 0)]
    assert set(turns.tolist()) <= set(range(189, 197))  # it turns back in the calm stretch
    assert tl.source.max() == 249


def test_blend_weights_are_zero_where_a_frame_passes_through_and_ramp_next_to_it():
    tl = plan_timeline(100, 100)
    usable = np.ones(100, bool)
    usable[40:50] = False
    w = blend_weights(tl, usable, fade=3)
    assert np.all(w[40:50] == 0) and w[0] == 1 and w[99] == 1
    assert 0 < w[39] < w[38] < w[37] < w[36] == 1 and 0 < w[50] < w[51] < w[52] < w[53] == 1
    keep = plan_timeline(100, 60, rest="keep")
    w = blend_weights(keep, np.ones(100, bool), fade=3)
    assert np.all(w[60:] == 0) and 0 < w[59] < 1 and w[55] == 1


def test_frame_rates_are_kept_when_standard_and_resampled_with_a_note_otherwise():
    assert output_rate(25.0) == (25.0, None)
    assert output_rate(29.97) == (29.97, None)
    fps, note = output_rate(59.94)
    assert fps == 29.97 and "59.94 fps" in note and "resampled" in note
    assert output_rate(60.0)[0] == 30.0 and output_rate(50.0)[0] == 25.0
    fps, note = output_rate(22.1)
    assert fps == 25.0 and "variable" in note


# -- real dubs -------------------------------------------------------------------------------------
def _frames(path, fps, size=None):
    from talker.media import decode

    return np.stack(list(decode.iter_frames(path, fps, size=size)))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from talker.eval.dub import psnr

    return psnr(a, b)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    from talker.pipeline import PipelineConfig, TalkerPipeline

    return TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path_factory.mktemp("cache"))))


@pytest.mark.slow
def test_a_dub_keeps_every_frame_and_changes_only_the_mouth(pipe, tmp_path):
    """Another clip's speech on a real clip: one output frame per source frame while it speaks,
    the source's size and rate; outside the mouth box the picture is the source's (PSNR ≥ 40 dB,
    the bar of the dubbing table), inside it the mouth was re-rendered."""
    from talker.dub.source import analyze_source
    from talker.eval.dub import outside_mouth_psnr
    from talker.media.probe import probe
    from talker.request import DubOptions

    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    out = tmp_path / "dub.mp4"
    res = pipe.dub(clip, out, audio=speech, transcript=NATURE, options=DubOptions(label=False))
    info = probe(out)
    assert (info.width, info.height) == (512, 512) and abs(info.fps - 25) < 0.01
    assert res.frames == round(5.3 * 25) or abs(res.frames - info.duration * 25) <= 1
    assert res.dubbed_frames == res.frames and res.passed_through == 0
    src = analyze_source(clip)
    outside, inside, share = outside_mouth_psnr(clip, out, src.landmarks, src.fps, src.size)
    assert outside.size == res.frames and 0.05 < share < 0.5
    assert min(outside) >= 40.0, min(outside)
    assert np.median(inside) < 35.0  # the mouth really changed


@pytest.mark.slow
def test_frames_without_a_face_pass_through_unchanged(pipe, tmp_path):
    """A second of the clip covered by a picture without a face: the dub does not fail, and those
    frames are the source's, mouth box included."""
    from talker.media import ffmpeg
    from talker.request import DubOptions

    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    lost = tmp_path / "lost.mp4"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(clip), "-vf",
                    "drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill:enable='between(t,2,3)'", "-c:v", "libx264",
                    "-crf", "12", "-c:a", "copy", str(lost)], check=True)
    out = tmp_path / "dub.mp4"
    res = pipe.dub(lost, out, audio=speech, transcript=NATURE, options=DubOptions(label=False))
    assert res.passed_through >= 24 and any("pass through unchanged" in w for w in res.warnings)
    a = _frames(lost, 25)
    b = _frames(out, 25)
    for t in range(52, 74):  # inside the faceless second, clear of the edges
        assert _psnr(a[t], b[t]) >= 40.0, t
    assert np.median([_psnr(a[t], b[t]) for t in range(10, 40)]) < 45  # elsewhere the mouth is dubbed


@pytest.mark.slow
def test_speech_longer_than_the_video_plays_on_and_keep_leaves_the_rest_as_it_was(pipe, tmp_path):
    from talker.request import DubOptions

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    longer = require_shared("fixtures/audio/en_printing_10s.wav")
    res = pipe.dub(clip, tmp_path / "long.mp4", audio=longer, transcript=PRINTING, options=DubOptions(label=False))
    assert res.source_frames == 125 and res.frames == round(9.7 * 25) or res.frames > 230
    assert res.extended_frames == res.frames - res.source_frames
    assert any("back and forth" in w for w in res.warnings)
    b = _frames(tmp_path / "long.mp4", 25).astype(np.float32)
    step = np.abs(np.diff(b[:, ::4, ::4], axis=0)).mean(axis=(1, 2, 3))
    # no cut where the video runs out: the step there is like the source's own steps
    assert step[124:130].max() <= 3 * np.percentile(step[:120], 95) + 1.0

    short = require_shared("fixtures/audio/en_nature_5s.wav")
    from talker.media import decode

    cut2 = tmp_path / "two.wav"
    subprocess.run([decode.ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(short), "-t", "2.2",
                    str(cut2)], check=True)
    res = pipe.dub(clip, tmp_path / "keep.mp4", audio=cut2, transcript="Some call me nature",
                   options=DubOptions(rest="keep", label=False))
    assert res.frames == res.source_frames == 125 and res.dubbed_frames < 60
    a = _frames(clip, 25)
    b = _frames(tmp_path / "keep.mp4", 25)
    assert min(_psnr(a[t], b[t]) for t in range(70, 125)) >= 38.0  # the rest is the video itself
    src_audio = decode.read_audio(clip, 24000)
    out_audio = decode.read_audio(tmp_path / "keep.mp4", 24000)
    tail = slice(int(3.0 * 24000), int(4.8 * 24000))
    assert np.corrcoef(src_audio[tail], out_audio[tail])[0, 1] > 0.95  # with its own sound


@pytest.mark.slow
def test_a_4k_60fps_source_is_resampled_and_capped_with_a_message(pipe, tmp_path):
    from talker.media import ffmpeg
    from talker.media.probe import probe
    from talker.request import DubOptions

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    big = tmp_path / "big.mp4"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-t", "2.5", "-i", str(clip), "-vf",
                    "fps=60,scale=2160:2160,pad=3840:2160:840:0", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "28", "-an", str(big)], check=True)
    speech = tmp_path / "s.wav"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i",
                    str(require_shared("fixtures/audio/en_nature_5s.wav")), "-t", "2", str(speech)], check=True)
    res = pipe.dub(big, tmp_path / "out.mp4", audio=speech, transcript="Some call me nature",
                   options=DubOptions(label=False))
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height) == (1280, 720) and abs(info.fps - 30) < 0.01 and res.fps == 30
    notes = " ".join(res.warnings)
    assert "60 fps" in notes and "3840" in notes


def test_what_cannot_be_dubbed_gets_a_message_naming_the_problem(pipe, tmp_path):
    from talker.media import ffmpeg

    photo = require_shared("fixtures/images/man_frontal.png")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    with pytest.raises(InputError, match="picture, not a video"):
        pipe.dub(photo, tmp_path / "x.mp4", audio=speech)
    with pytest.raises(InputError, match="sound but no picture"):
        pipe.dub(speech, tmp_path / "x.mp4", audio=speech)
    with pytest.raises(InputError, match="not both and not neither"):
        pipe.dub(require_shared("fixtures/video/en_man_map_5s.mp4"), tmp_path / "x.mp4")
    faceless = tmp_path / "-faceless; rm -rf.mp4"  # a hostile name stays a file name
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(faceless)], check=True)
    with pytest.raises(NoFaceError, match="face"):
        pipe.dub(faceless, tmp_path / "x.mp4", audio=speech)
    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    with pytest.raises(InputError, match="output file is the video"):
        pipe.dub(clip, clip, audio=speech)
    with pytest.raises(InputError, match="has no sound"):
        pipe.dub(clip, tmp_path / "x.mp4", audio=photo)
    assert not list(tmp_path.glob("x*.mp4")) and not list(tmp_path.glob("*.part.*"))


def test_a_stream_that_does_not_say_its_length_is_still_held_to_the_limit(pipe, tmp_path):
    """A raw H.264 stream has no duration in its header: it is counted while it is read."""
    from talker.media import ffmpeg
    from talker.request import DubOptions

    raw = tmp_path / "raw.h264"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i",
                    str(require_shared("fixtures/video/en_man_map_5s.mp4")), "-an", "-c:v", "libx264",
                    "-preset", "ultrafast", "-f", "h264", str(raw)], check=True)
    with pytest.raises(InputError, match="longer than"):
        pipe.dub(raw, tmp_path / "x.mp4", audio=require_shared("fixtures/audio/en_nature_5s.wav"),
                 options=DubOptions(max_video_seconds=2.0))


def test_a_portrait_phone_clip_is_read_upright_at_its_shown_size(tmp_path):
    """A phone stores a portrait clip as landscape plus a rotation: its frames are decoded upright,
    so the frame size must be the shown one (else every frame is read as garbage)."""
    from talker.media import decode, ffmpeg
    from talker.media.probe import probe

    clip = require_shared("data/talking/en_woman_blonde_suit_7s.mp4")
    base, rot = tmp_path / "base.mp4", tmp_path / "rot.mp4"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-t", "1", "-i", str(clip), "-c", "copy",
                    str(base)], check=True)
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-display_rotation:v", "90", "-i", str(base),
                    "-c", "copy", str(rot)], check=True)
    info = probe(rot)
    assert (info.width, info.height) == (1080, 1920)
    frame = next(decode.iter_frames(rot, 25))
    upright = next(decode.iter_frames(base, 25))
    assert frame.shape == (1920, 1080, 3)
    assert np.abs(np.rot90(upright, 1).astype(int) - frame.astype(int)).mean() < 3 or \
        np.abs(np.rot90(upright, -1).astype(int) - frame.astype(int)).mean() < 3


@pytest.mark.slow
def test_the_cli_dubs_with_text_and_prints_json(tmp_path):
    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    out = tmp_path / "cli.mp4"
    proc = subprocess.run([sys.executable, "-m", "talker", "dub", "--video", str(clip), "--text",
                           "Hello there, this is a short test of dubbing.", "-o", str(out), "--json"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = json.loads(proc.stdout.strip().splitlines()[-1])
    assert done["event"] == "done" and done["dubbed_frames"] > 0 and out.is_file()
    bad = subprocess.run([sys.executable, "-m", "talker", "dub", "--video", str(out.with_suffix(".none")), "--text",
                          "x", "-o", str(tmp_path / "y.mp4")], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert bad.returncode == 2 and "not found" in bad.stderr.lower()


def test_mouths_come_only_from_faces_turned_like_the_one_they_go_onto():
    """With a pose limit no mouth is taken from a head turned further than it from the face it is
    painted on, except the face's own frame (the fallback), which is always allowed."""
    from talker.motion.code import HEAD_ROTATION
    from talker.render.mouth import MouthBank, MouthConfig

    rng = np.random.default_rng(3)
    n, t = 60, 40
    motion = rng.random((n, 61)) * 0.3
    motion[:, HEAD_ROTATION] = np.radians(rng.uniform(-25, 25, (n, 3)))
    lm = rng.random((n, 478, 2)) * 100
    bank = MouthBank(np.zeros((n, 4, 4, 3), np.uint8), lm, motion, rng.random(n) * 0.1, None,
                     MouthConfig(max_pose_deg=6.0))
    target = rng.random((t, 61)) * 0.3
    rot = np.radians(rng.uniform(-25, 25, (t, 3)))
    own = rng.integers(0, n, t)
    chosen = bank.choose(target, rot, fallback=own)
    turn = np.degrees(np.abs(rot[:, :2] - motion[chosen][:, HEAD_ROTATION][:, :2])).max(1)
    assert np.all((turn <= 6.0) | (chosen == own))
    free = MouthBank(np.zeros((n, 4, 4, 3), np.uint8), lm, motion, rng.random(n) * 0.1, None, MouthConfig())
    assert np.degrees(np.abs(rot[:, :2] - motion[free.choose(target, rot)][:, HEAD_ROTATION][:, :2])).max() > 6.0


@pytest.mark.slow
def test_with_two_faces_the_largest_is_dubbed_or_the_one_picked(pipe, tmp_path):
    from talker.media import ffmpeg
    from talker.request import DubOptions

    man = require_shared("fixtures/video/en_man_map_5s.mp4")
    woman = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    both = tmp_path / "both.mp4"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-t", "2.4", "-i", str(man), "-t", "2.4", "-i",
                    str(woman), "-filter_complex", "[0:v]scale=384:384[a];[1:v]scale=256:256,pad=384:384:64:64[b];"
                    "[a][b]hstack", "-map", "0:a", "-c:v", "libx264", "-crf", "12", "-c:a", "aac", str(both)],
                   check=True)
    speech = tmp_path / "s.wav"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i",
                    str(require_shared("fixtures/audio/en_nature_5s.wav")), "-t", "2.2", str(speech)], check=True)
    a = _frames(both, 25)
    for face, changed in (("largest", 0), ("right", 1)):
        out = tmp_path / f"{face}.mp4"
        res = pipe.dub(both, out, audio=speech, transcript="Some call me nature", options=DubOptions(label=False, face=face))
        assert any("face" in w.lower() for w in res.warnings) or res.dubbed_frames > 0
        b = _frames(out, 25)
        halves = [(slice(None), slice(0, 384)), (slice(None), slice(384, 768))]
        psnr = [np.median([_psnr(a[t][h], b[t][h]) for t in range(10, 50)]) for h in halves]
        # the other face is the source's; the chosen one's mouth changed (a small part of its half)
        assert psnr[1 - changed] >= 40.0 and psnr[changed] < psnr[1 - changed] - 3.0, (face, psnr)


def test_the_cache_keeps_only_the_latest_video_analyses(tmp_path):
    """Each analysis holds up to hundreds of MB of frames: a public app must not keep every video."""
    import os

    from talker.dub.source import _prune

    for i in range(8):
        (tmp_path / f"a{i}").mkdir()
        os.utime(tmp_path / f"a{i}", (1000 + i, 1000 + i))
    new = tmp_path / "new"
    new.mkdir()
    _prune(tmp_path, keep=6, spare=new)
    assert sorted(d.name for d in tmp_path.iterdir()) == ["a3", "a4", "a5", "a6", "a7", "new"]


@pytest.mark.slow
def test_frames_with_something_in_front_of_the_mouth_pass_through_unchanged(pipe, tmp_path):
    """A dark microphone held over the mouth for a second: the tracker still finds the face (and
    guesses a mouth under it), but those frames are the source's; elsewhere the mouth is dubbed."""
    from talker.dub.source import analyze_source
    from talker.media import ffmpeg
    from talker.render.mouth import face_heights
    from talker.request import DubOptions

    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    src = analyze_source(clip)
    lm = src.landmarks[50:75]
    fh = float(np.median(face_heights(lm)))
    cx = float(np.median(lm[:, [61, 291], 0].mean(1)))
    cy = float(np.median(lm[:, 17, 1])) + 0.02 * fh  # just under the lower lip, over the chin
    w, h = int(0.34 * fh), int(0.2 * fh)
    covered = tmp_path / "mic.mp4"
    subprocess.run([ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(clip), "-vf",
                    f"drawbox=x={int(cx - w / 2)}:y={int(cy - h / 2)}:w={w}:h={h}:color=0x46464B:t=fill:"
                    "enable='between(t,2,3)'", "-c:v", "libx264", "-crf", "12", "-c:a", "copy", str(covered)],
                   check=True)
    out = tmp_path / "dub.mp4"
    res = pipe.dub(covered, out, audio=speech, transcript=NATURE, options=DubOptions(label=False))
    assert any("in front of the mouth" in m for m in res.warnings), res.warnings
    assert res.passed_through >= 20
    a = _frames(covered, 25)
    b = _frames(out, 25)
    for t in range(52, 74):  # inside the covered second, clear of its edges
        assert _psnr(a[t], b[t]) >= 40.0, t
    assert np.median([_psnr(a[t], b[t]) for t in range(10, 40)]) < 45  # elsewhere the mouth is dubbed
