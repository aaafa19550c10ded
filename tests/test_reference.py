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
    NoFaceError,
)
from talker.motion.code import MOTION_DIM
from talker.pipeline import PipelineConfig, TalkerPipeline
from talker.reference import still
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
    from talker.audio.signal import speech_envelope
    from talker.motion.code import index

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
    assert feats.cuts == []  # one take
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
    from talker.tracking.geometry import mouth_opening

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


def test_a_cut_between_takes_is_found_and_sway_and_noise_are_not():
    """Frames of a textured scene swaying a pixel a frame, with sensor noise; from frame 30 a
    second take framed 12 px further and lit brighter. The join is the one cut; the same frames
    without it have none, and the watcher hands every frame on unchanged."""
    import cv2

    from talker.reference.takes import CutWatcher, find_cuts, frame_steps

    rng = np.random.default_rng(3)
    scene = cv2.resize(rng.uniform(40, 200, (12, 22, 3)).astype(np.float32), (220, 120), interpolation=cv2.INTER_CUBIC)

    def frame(i: int, shift: int = 0, light: float = 0.0) -> np.ndarray:
        x = int(8 * np.sin(i / 6)) + shift
        f = scene[:, 20 + x: 180 + x] + light + rng.normal(0, 2, (120, 160, 3))
        return np.clip(f, 0, 255).astype(np.uint8)

    one_take = [frame(i) for i in range(60)]
    joined = one_take[:30] + [frame(i, shift=12, light=25) for i in range(30, 60)]
    assert find_cuts(frame_steps(one_take)) == []
    watcher = CutWatcher()
    passed = list(watcher.watch(joined))
    assert watcher.cuts == [30]
    assert all(a is b for a, b in zip(passed, joined, strict=True))


@pytest.mark.slow
def test_a_clip_joined_from_two_takes_has_its_join_found(pipe, tmp_path):
    """A real clip cut at 3.6 s and joined to its own second half reframed (zoomed 15 %): analysis
    stores the join as the clip's one cut, in the frames of the span it analysed."""
    from talker.media.decode import probe

    src = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    w, h = probe(src).width, probe(src).height
    graph = ("[0:v]split[x][y];[x]trim=0:3.6,setpts=PTS-STARTPTS[a];"
             f"[y]trim=3.6:8,setpts=PTS-STARTPTS,crop=iw*0.85:ih*0.85,scale={w}:{h},setsar=1[b];"
             "[a]setsar=1[a1];[a1][b]concat=n=2:v=1:a=0[v]")
    clip = make(tmp_path / "two takes.mp4", "-i", str(src), "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
                "-r", "25", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")
    feats = pipe.analyze(clip, transcript="given")
    join = round((3.6 - feats.span[0]) * 25)
    assert len(feats.cuts) == 1 and abs(feats.cuts[0] - join) <= 1, (feats.cuts, join)


@pytest.mark.parametrize("late", ["video", "audio"])
def test_a_stream_that_starts_late_keeps_its_place_on_the_file_clock(tmp_path, late):
    """A flash and a beep at 1.0 s of their streams; one stream starts 0.2 s into the file. Frame
    i must be the picture at i/25 s of the file, sample n the sound at n/sr: the late stream's
    event lands at 1.2 s, the other's stays at 1.0 s (before, late audio came out 0.2 s early)."""
    from talker.media.decode import iter_frames, read_audio

    video = ["-t", "2", "-f", "lavfi", "-i",
             "color=black:size=64x64:rate=25,drawbox=c=white:t=fill:enable='between(t,1,1.03)'"]
    audio = ["-t", "2", "-f", "lavfi", "-i", "aevalsrc='if(between(t,1,1.05),sin(2*PI*1000*t),0)':s=24000"]
    shift = ["-itsoffset", "0.2"]
    inputs = [*shift, *video, *audio] if late == "video" else [*video, *shift, *audio]
    clip = make(tmp_path / "late.mkv", *inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le")
    flash = int(np.argmax([f.mean() for f in iter_frames(clip, 25)]))
    beep = int(np.argmax(np.abs(read_audio(clip, 24000)) > 0.1)) / 24000
    assert flash == (30 if late == "video" else 25)
    assert beep == pytest.approx(1.2 if late == "audio" else 1.0, abs=0.005)


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


def test_video_without_audio_is_a_face_without_a_voice(pipe, tmp_path, portrait):
    """A muted clip (a GIF, a video with the sound stripped) can still be dubbed: its face is used."""
    v = still_video(portrait, tmp_path / "mute.mp4", 4)
    feats = pipe.analyze(v)
    assert feats.kind == "video" and feats.audio is None and feats.transcript == ""
    assert feats.frames == 100 and any("no audio track" in w for w in feats.warnings), feats.warnings


@pytest.mark.parametrize("sound, why", [("anullsrc=r=24000:cl=mono", "silent"),
                                        ("sine=frequency=50:sample_rate=24000", "no speech was found")])
def test_clip_without_speech_keeps_its_face(pipe, tmp_path, portrait, sound, why):
    wav = make(tmp_path / "sound.wav", "-f", "lavfi", "-i", sound, "-t", "5")
    v = still_video(portrait, tmp_path / "quiet.mp4", 5, audio=wav)
    feats = pipe.analyze(v)
    assert feats.audio is None and feats.speech_segments == []
    assert any(why in w for w in feats.warnings), feats.warnings


def test_still_clip_is_animated_as_a_photo(pipe, tmp_path, portrait, speech_wav):
    """A photo with a soundtrack: the clip renderer could only freeze it, the photo renderer animates it,
    and the soundtrack's voice is still the reference voice."""
    v = still_video(portrait, tmp_path / "podcast.mp4", 5, audio=speech_wav)
    feats, media = pipe.reference(media=v)
    assert feats.kind == "image" and media.suffix == ".png" and feats.source == "podcast.mp4"
    assert feats.audio is not None and any("animated as a photo" in w for w in feats.warnings)
    res = pipe.generate(tmp_path / "out.mp4", reference=v, audio=speech_wav)
    assert res.engine["renderer"] == "photo"
    moving = pipe.analyze(require_shared("fixtures/video/en_man_map_5s.mp4"))
    assert not still.is_still(moving) and still.landmark_travel(moving) > 5 * still.STILL_TRAVEL


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


def _cut(tmp_path: Path, seconds: float) -> Path:
    """The start of a real clip, re-encoded so the cut is exact (she speaks from the first frame)."""
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    return make(tmp_path / f"cut {seconds} s.mp4", "-i", str(clip), "-t", str(seconds), "-c:v", "libx264",
                "-preset", "ultrafast", "-c:a", "aac")


@pytest.mark.slow
def test_a_2_5_s_reference_makes_a_video_and_says_it_is_little_material(pipe, tmp_path):
    """Short phone clips are references: 2.5 s of speech is used, with a warning that style and
    voice come from little material; the warning reaches the result the app and the CLI show."""
    short = _cut(tmp_path, 2.5)
    res = pipe.generate(tmp_path / "out.mp4", reference=short, text="Maybe both of them.")
    assert res.frames > 10 and res.video.stat().st_size > 10_000
    notes = [w for w in res.warnings if "little material" in w]
    assert len(notes) == 1 and "only 2.5 s of speech" in notes[0], res.warnings


def test_a_reference_under_2_s_is_refused_with_what_to_do(pipe, tmp_path):
    short = _cut(tmp_path, 1.5)
    with pytest.raises(ClipTooShortError, match="at least 2 s") as err:
        pipe.analyze(short)
    assert "3–30 s" in err.value.fix
    # the CLI says the same in one line (and as JSON), exit 2
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "talker", "reference", "analyze", str(short), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "at least 2 s" in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["error"] == "too_short"


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


def test_photos_in_every_common_form_read_as_seen(tmp_path, portrait):
    """One reader for analysis and rendering: 16-bit, alpha, palette, CMYK, EXIF-rotated and GIF
    photos all come out as the picture a viewer sees (a 16-bit PNG used to render white)."""
    from PIL import Image

    from talker.media.decode import read_image

    with Image.open(portrait) as im:
        rgb = im.convert("RGB")
    base = np.asarray(rgb).astype(np.float64)
    gray = np.asarray(rgb.convert("L")).astype(np.float64)
    forms = {}
    Image.fromarray((gray * 257).astype(np.uint16)).save(tmp_path / "deep.png")
    forms["deep.png"] = gray
    rgba = rgb.convert("RGBA")
    rgba.putalpha(255)
    rgba.save(tmp_path / "alpha.png")
    forms["alpha.png"] = base
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    forms["cmyk.jpg"] = base
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter left; viewers turn it back
    rgb.rotate(90, expand=True).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    forms["turned.jpg"] = base
    rgb.save(tmp_path / "still.gif")
    forms["still.gif"] = base
    for name, want in forms.items():
        got = read_image(tmp_path / name).astype(np.float64)
        assert got.shape[:2] == base.shape[:2], name
        seen = got.mean(axis=2) if want.ndim == 2 else got
        assert np.abs(seen - want).mean() < 12, (name, np.abs(seen - want).mean())
    # transparent pixels become white, not black
    clear = rgb.convert("RGBA")
    clear.putalpha(0)
    clear.save(tmp_path / "clear.png")
    assert read_image(tmp_path / "clear.png").min() == 255
    Image.new("L", (9000, 8000)).save(tmp_path / "bomb.png")
    with pytest.raises(MediaDecodeError, match="too large"):
        read_image(tmp_path / "bomb.png")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "cmyk.jpg").read_bytes()[:3000])
    with pytest.raises(MediaDecodeError, match="not a readable image"):
        read_image(tmp_path / "cut.jpg")


def test_concurrent_cache_writes_of_one_clip_do_not_collide(tmp_path):
    """Two runs analysing the same clip at once save the same cache entry; each writes its own
    temp file (a shared temp name let one rename the other's away: FileNotFoundError)."""
    import threading

    from talker.paths import private_tmp
    from talker.reference.features import ReferenceFeatures

    n = 50
    rng = np.random.default_rng(0)
    feats = ReferenceFeatures(source="a.mp4", content_hash="x", kind="video",
                              motion=rng.normal(size=(n, MOTION_DIM)).astype(np.float32),
                              landmarks=rng.normal(size=(n, 478, 3)).astype(np.float32),
                              boxes=np.zeros((n, 4), np.float32), detected=np.ones(n, bool), frame_size=(64, 64),
                              audio=rng.normal(size=n * 960).astype(np.float32))
    errors: list[BaseException] = []

    def save():
        try:
            for _ in range(5):
                feats.save(tmp_path / "entry")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    back = ReferenceFeatures.load(tmp_path / "entry")
    np.testing.assert_array_equal(back.motion, feats.motion)
    assert sorted(p.name for p in (tmp_path / "entry").iterdir()) == ["features.json", "features.npz"]
    a = private_tmp(tmp_path / "x.npz")
    assert a.parent == tmp_path and a.suffix == ".npz" and a != private_tmp(tmp_path / "y.npz")
