"""Videos made piece by piece (``TalkerPipeline.stream``): pieces that join without a jump, sound
that stays on the frames, a file that plays while it grows, a cancel that leaves nothing, and
limits that say which setting to change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talker.audio import SAMPLE_RATE
from talker.motion.code import HEAD_ROTATION

from .conftest import PRINTING, require_shared

TEXT = ("Good morning, and welcome to the weekly update. The new bridge opens to traffic on Monday. "
        "Buses will use the old road until the end of the month. The library is closed for repairs this week, "
        "but the reading room upstairs stays open. Thank you for listening, and see you next time.")


@pytest.fixture(scope="module")
def pipe():
    from talker.pipeline import TalkerPipeline

    return TalkerPipeline()


def _video_times(path) -> np.ndarray:
    """Each picture's presentation time in seconds, as the file stores it."""
    from talker.media import ffmpeg

    out = ffmpeg.run(["-i", str(path), "-map", "0:v", "-c", "copy", "-f", "framecrc", "-"], timeout=120).stdout.decode()
    num, den = next(line.split(":")[1].strip().split("/") for line in out.splitlines() if line.startswith("#tb 0"))
    pts = [int(line.split(",")[2]) for line in out.splitlines() if line and not line.startswith("#")]
    return np.sort(np.array(pts)) * int(num) / int(den)


def _decoded_frames(path) -> np.ndarray:
    from talker.media.decode import iter_frames

    return np.stack([f.astype(np.float32) for f in iter_frames(path)])


@pytest.mark.parametrize("template", ["grid-s4-woman", "astronaut"])
def test_pieces_join_without_a_jump_and_the_sound_stays_on_the_frames(pipe, tmp_path, template):
    """A text made as several pieces: contiguous pieces, audio exactly as long as the frames; at
    each join no channel of the motion jumps (its step there stands out from the steps either side
    by less than its own 95th-percentile step), and on a clip template the picture plays on: its step
    at a join stands out from the steps either side by less than the reference's 95th-percentile
    step (~2.4 grey levels; a cut there is 7-11), and is one of the reference's own frame steps."""
    require_shared()
    job = pipe.stream(tmp_path / "out.mp4", template=template, text=TEXT, first_piece_seconds=2.0)
    chunks = list(job)
    res = job.result
    assert len(chunks) >= 3 and chunks[0].duration < 5.0, [c.duration for c in chunks]
    starts = np.cumsum([0] + [c.frames for c in chunks])
    assert [round(c.start * res.fps) for c in chunks] == starts[:-1].tolist()
    assert starts[-1] == res.frames and res.audio.size == res.frames * SAMPLE_RATE // int(res.fps)
    assert all(not c.segment.exists() for c in chunks)  # segments are removed once played on
    # picture n at n/fps exactly, and the file's sound is the result's, sample for sample (once the
    # first piece's pictures were 2 frames late and the sound 1,024 samples late)
    assert np.allclose(_video_times(res.video), np.arange(res.frames) / res.fps, atol=1e-3)
    from talker.media.decode import read_audio

    heard = read_audio(res.video, SAMPLE_RATE)[: 2 * SAMPLE_RATE]
    lag = int(np.argmax(np.correlate(heard, np.asarray(res.audio[: heard.size]), "full"))) - (heard.size - 1)
    assert lag == 0, lag
    joins = starts[1:-1]
    steps = np.abs(np.diff(res.motion, axis=0))
    p95 = np.percentile(steps, 95, axis=0) + 1e-4
    # a jump is a step that stands out from the steps on either side of it
    spike = max(float(((steps[j - 1] - np.maximum(steps[j - 2], steps[j])) / p95).max()) for j in joins)
    pose_jump = max(float(steps[j - 1, HEAD_ROTATION].max()) for j in joins)
    print(f"\n{template}: {len(chunks)} pieces; at the joins no channel's step exceeds its neighbours' by more "
          f"than {spike:.2f}x its p95; head step {np.degrees(pose_jump):.3f}°")
    assert spike <= 1.0
    frames = _decoded_frames(res.video)
    assert len(frames) == res.frames
    _, feats = pipe.template(template)
    if feats.kind == "video":
        ref_frames = _decoded_frames(pipe.template(template)[0].media_path)
        ref_steps = np.abs(np.diff(ref_frames, axis=0)).mean(axis=(1, 2, 3))
        seam = 2.5 * np.percentile(ref_steps, 95)
        ref_steps = ref_steps[ref_steps < seam]  # not the seams between its clips
        out_steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
        join_step = max(float(out_steps[j - 1]) for j in joins)
        # the max over joins of a step less the larger of its neighbours' (a livelier head makes all
        # three larger: an absolute bar at the reference's p99 was missed by 1 % once the head moved
        # 0.8x the clip's rather than 0.5x, with no cut near a join)
        stand_out = max(float(out_steps[j - 1] - max(out_steps[j - 2], out_steps[j])) for j in joins)
        print(f"picture step at the joins {join_step:.2f}, over its neighbours by {stand_out:.2f}; the "
              f"reference's p95 {np.percentile(ref_steps, 95):.2f}, p99 {np.percentile(ref_steps, 99):.2f}")
        assert stand_out < np.percentile(ref_steps, 95)
        assert join_step < seam


def test_the_output_plays_while_it_grows_and_a_cancel_leaves_nothing(pipe, tmp_path):
    from talker.media.probe import probe

    out = tmp_path / "live.mp4"
    job = pipe.stream(out, template="astronaut", text=TEXT, first_piece_seconds=2.0)
    first = next(job)
    assert first.segment.exists()
    # the growing file is a fragmented mp4 a player can open now: the first piece decodes, all but
    # its last fragment (half a second, written when the next piece starts one)
    import time

    deadline, got, want = time.monotonic() + 20, 0, first.frames - 13
    while got < want and time.monotonic() < deadline:
        time.sleep(0.5)
        got = len(_decoded_frames(out)) if out.exists() and out.stat().st_size else 0
    assert got >= want, (got, first.frames)
    assert probe(out).has_audio
    job.close()  # the visitor left: stop, remove the partial output and the work folder
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_audio_of_any_length_is_cut_in_pauses_and_kept_sample_exact(pipe, tmp_path):
    """A recording made as pieces: the output's sound is the recording (one gain for all), cut at
    quiet moments on frame boundaries."""
    from talker.media.decode import read_audio

    wav = require_shared("fixtures/audio/en_printing_10s.wav")
    job = pipe.stream(tmp_path / "a.mp4", template="astronaut", audio=wav, transcript=PRINTING,
                      first_piece_seconds=2.0)
    chunks = list(job)
    res = job.result
    assert len(chunks) >= 2
    src = read_audio(wav, SAMPLE_RATE)
    n = min(src.size, res.audio.size)
    r = np.corrcoef(src[:n], res.audio[:n])[0, 1]
    assert r > 0.999, r
    assert res.audio.size - src.size < SAMPLE_RATE // int(res.fps)  # padded to the last whole frame only
    per_frame = SAMPLE_RATE // int(res.fps)
    # loudness of each 20 ms: each join falls where the recording is quieter than half the time
    hop = SAMPLE_RATE // 50
    rms = np.sqrt(np.mean(np.square(src[: src.size // hop * hop].reshape(-1, hop)), axis=1))
    for c in chunks[1:]:
        s = int(round(c.start * res.fps)) * per_frame
        here = float(np.sqrt(np.mean(np.square(src[max(0, s - hop // 2): s + hop // 2]))))
        assert here < np.median(rms), (c.start, here, float(np.median(rms)))
    words = " ".join(c.text for c in chunks).lower()
    assert "printing" in words and "exhibition" in words  # the transcript shared out over the pieces


def test_text_and_audio_over_the_limits_get_messages_naming_the_setting(pipe, tmp_path):
    from talker.errors import InputError
    from talker.media import ffmpeg

    with pytest.raises(InputError, match=r"200,\d{3} characters long; the limit is 60,000 \(the setting max_text_chars") as e:
        pipe.generate(tmp_path / "t.mp4", template="astronaut", text="Hello there. " * 15385)
    assert e.value.fix
    long_audio = tmp_path / "three hours.m4a"  # a real 3-hour file (silence, 8 kb/s)
    proc = ffmpeg.run(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "10800", "-c:a", "aac", "-b:a", "8k",
                       "-y", str(long_audio)], timeout=300)
    assert proc.returncode == 0, proc.stderr[-300:]
    with pytest.raises(InputError, match=r"10800 s long; the limit is 3600 s \(max_audio_seconds\)"):
        pipe.generate(tmp_path / "a.mp4", template="astronaut", audio=long_audio)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three hours.m4a"]


def test_cli_prints_one_event_per_piece(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "cli.mp4"
    proc = subprocess.run([sys.executable, "-m", "talker", "generate", "--template", "astronaut", "--text-file",
                           str(text), "-o", str(out), "--json"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    chunks, done = events[:-1], events[-1]
    assert done["event"] == "done" and len(chunks) >= 3 and {e["event"] for e in chunks} == {"chunk"}
    assert [e["index"] for e in chunks] == list(range(len(chunks))) and chunks[0]["of"] == len(chunks)
    assert sum(e["frames"] for e in chunks) == done["frames"]
    assert chunks[0]["elapsed"] < done["timings"]["total"]
    assert all("segment" not in e for e in chunks)  # removed as the next piece came: not named


def test_cli_keeps_the_pieces_it_names_when_asked(tmp_path):
    """With --segments-dir every chunk event names a file that is still there at the end, and each
    plays on its own for the piece's frames."""
    from talker.media.probe import probe

    keep = tmp_path / "pieces"
    proc = subprocess.run([sys.executable, "-m", "talker", "generate", "--template", "astronaut", "--text",
                           TEXT[:200], "-o", str(tmp_path / "cli.mp4"), "--json", "--segments-dir", str(keep)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    chunks = [json.loads(line) for line in proc.stdout.splitlines()][:-1]
    assert len(chunks) >= 2
    for e in chunks:
        seg = Path(e["segment"])
        assert seg.parent == keep and seg.is_file(), e
        assert abs(probe(seg).duration - e["duration"]) < 0.1, (probe(seg).duration, e)


def test_text_pieces_start_short_then_double():
    from talker.text.split import video_pieces

    pieces = video_pieces(TEXT, piece_chars=120, first_chars=28)
    assert " ".join(pieces).split() == TEXT.split()
    assert len(pieces[0]) <= 60 and pieces[0].endswith(",")  # the first clause alone
    assert all(len(p) <= 120 for p in pieces)
    assert len(pieces[1]) > len(pieces[0])


def test_audio_cuts_fall_in_pauses_on_frame_boundaries(tmp_path):
    from talker.audio.pieces import plan_pieces

    sr, fps = 24000, 25
    rng = np.random.default_rng(0)
    # 1.3 s bursts of noise with 0.2 s pauses: 30 s in all
    unit = np.concatenate([rng.normal(0, 0.1, int(1.3 * sr)), np.zeros(int(0.2 * sr))]).astype("<f4")
    x = np.tile(unit, 20)
    raw = tmp_path / "a.f32"
    x.tofile(raw)
    plan = plan_pieces(raw, sr, fps, piece_seconds=8.0, first_seconds=2.0)
    spans = [(e - s) / sr for s, e in plan.cuts]
    assert plan.cuts[0][0] == 0 and all(a[1] == b[0] for a, b in zip(plan.cuts, plan.cuts[1:], strict=False))
    assert all(s % (sr // fps) == 0 for s, _ in plan.cuts)
    assert spans[0] < 3.0 and max(spans) <= 8.0 + 1.5
    for s, _ in plan.cuts[1:]:
        assert np.abs(x[s - 240: s + 240]).max() == 0.0, s / sr  # inside a pause
