"""Motion: blinks re-timed at the reference's rate, whole, never cut by the video's ends; the mouth's
loudness gain."""

from __future__ import annotations

import numpy as np
import pytest

from talker.motion.code import FPS, MOTION_DIM
from talker.motion.style import BLINK, detect_blinks, generate_style, style_stats

from .conftest import require_shared


def _reference_with_blinks(seconds: float = 12.0, every: float = 2.5) -> np.ndarray:
    n = int(seconds * FPS)
    ref = np.zeros((n, MOTION_DIM))
    ref[:, list(BLINK)] = 0.05
    bump = np.array([0.2, 0.6, 0.9, 0.6, 0.2])
    for c in np.arange(every, seconds - 1, every) * FPS:
        c = int(c)
        ref[c - 2:c + 3, list(BLINK)] = 0.05 + bump[:, None] * 0.7
    return ref


def test_blinks_keep_the_reference_rate_and_never_end_the_video_shut():
    ref = _reference_with_blinks()
    stats = style_stats(ref)
    assert len(detect_blinks(ref[:, BLINK[0]])) == 4
    shut = stats.blink_base + 0.5 * (stats.blink_peak - stats.blink_base)
    counts = []
    for seed in range(40):
        n = int(FPS * (3 + seed % 7))
        # speech that falls silent at the very end: blinks are drawn to pauses, i.e. to the last frame
        energy = np.ones(n)
        energy[-6:] = 0.0
        energy[:4] = 0.0
        blink = generate_style(ref, n, energy, seed=seed)[:, BLINK[0]]
        assert blink[0] < shut and blink[-1] < shut, (seed, n)
        counts.append(len(detect_blinks(np.r_[stats.blink_base, blink, stats.blink_base])) / (n / FPS))
    # the reference blinks every 2.5 s (0.4/s); re-timed blinks keep that order of rate
    assert 0.15 < np.mean(counts) < 0.8


def test_louder_syllables_open_the_jaw_wider_and_closures_stay_shut():
    from talker.motion.visemes import JAW, VisemeModel
    from talker.phones import ARPABET, Phone

    model = VisemeModel.load()
    assert model.loudness is not None, "the shipped viseme model has a fitted loudness gain"
    phones, t = [], 0.2
    for ph in ("M", "AA", "P", "AA", "M", "AE"):
        phones.append(Phone(ph, t, t + (0.16 if ph in ("AA", "AE") else 0.08), ARPABET))
        t = phones[-1].end
    n = int((t + 0.3) * FPS)
    soft = model.trajectory(phones, n, FPS, energy=np.full(n, 0.2))[:, JAW]
    loud = model.trajectory(phones, n, FPS, energy=np.full(n, 0.9))[:, JAW]
    vowels = [int((p.start + p.end) / 2 * FPS) for p in phones if p.symbol in ("AA", "AE")]
    closures = [int((p.start + p.end) / 2 * FPS) for p in phones if p.symbol in ("M", "P")]
    assert np.all(loud[vowels] > soft[vowels] + 0.05)
    assert np.allclose(loud[closures], soft[closures]) and np.all(loud[closures] <= 0.0)


@pytest.mark.slow
def test_loudness_gain_predicts_a_held_out_speakers_jaw_better(tmp_path):
    """The gain is kept because it predicts real jaw motion better, on a clip it was not fitted on."""
    from talker.align.phones import align
    from talker.motion.code import index
    from talker.motion.generator import speech_energy
    from talker.motion.visemes import JAW, VisemeModel
    from talker.phones import normalise_phones
    from talker.pipeline import PipelineConfig, TalkerPipeline

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    require_shared("models/face_landmarker.task")
    f = TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "cache"))).analyze(clip)
    phones = normalise_phones(align(f.audio, f.sample_rate, f.transcript, "en").phones)
    model, n = VisemeModel.load(), f.frames
    tracked = f.motion[:, index("jawOpen")]
    plain = model.trajectory(phones, n)[:, JAW]
    gained = model.trajectory(phones, n, energy=speech_energy(f.audio, f.sample_rate, n))[:, JAW]
    r_plain, r_gain = np.corrcoef(plain, tracked)[0, 1], np.corrcoef(gained, tracked)[0, 1]
    assert r_gain > r_plain + 0.01 and r_gain > 0.45, (r_plain, r_gain)


def _speech_and_reference(shared_clip: str = "fixtures/video/en_man_map_5s.mp4"):
    """Real speech (the LJSpeech sample, its words aligned) and a real reference, analysed."""
    from talker.pipeline import TalkerPipeline
    from talker.request import GenerateOptions

    pipe = TalkerPipeline()
    feats, _ = pipe.reference(media=require_shared(shared_clip))
    speech = pipe.listen(require_shared("fixtures/audio/en_nature_5s.wav"),
                         "Some call me nature, others call me mother nature.", GenerateOptions())
    return pipe, feats, speech


@pytest.mark.slow
def test_offline_generator_fills_every_frame_repeatably_and_shuts_the_lips_on_m():
    """The motion stage's contract (``MotionGenerator.generate``): exactly ``num_frames`` rows of
    the 61-d code, the same seed the same motion, another seed another head path; the mouth on
    /m/ of "me" and "mother" is shut (jaw at the speaker's rest)."""
    from talker.motion.base import MotionGenerator, OfflineMotion
    from talker.motion.code import channel

    _, feats, speech = _speech_and_reference()
    gen = OfflineMotion()
    assert isinstance(gen, MotionGenerator)
    n = 131
    a = gen.generate(speech, feats, num_frames=n, seed=1)
    assert a.codes.shape == (n, MOTION_DIM) and a.codes.dtype == np.float32 and a.frames == n
    assert np.array_equal(a.codes, gen.generate(speech, feats, num_frames=n, seed=1).codes)
    assert not np.array_equal(a.codes[:, 51:54], gen.generate(speech, feats, num_frames=n, seed=2).codes[:, 51:54])
    jaw = channel(a.codes, "jawOpen")
    m_frames = [int((p.start + p.end) / 2 * FPS) for p in speech.phones if p.symbol == "M" and p.end * FPS < n]
    vowel_frames = [int((p.start + p.end) / 2 * FPS) for p in speech.phones if p.symbol in ("AA", "AH", "ER")]
    assert m_frames and vowel_frames
    assert np.median(jaw[m_frames]) < np.median(jaw[vowel_frames])


def test_neural_motion_hands_a_checkpoint_without_motion_to_the_offline_generator():
    """A checkpoint with no motion stream cannot animate: the fallback's motion comes back, with the
    engine's warning first."""
    from talker.model.engine import NeuralMotion
    from talker.motion.base import Motion
    from talker.phones import ARPABET, Phone
    from talker.speech.contract import Speech

    class NoMotionEngine:
        def animate(self, feats, audio, sample_rate, text, **kw):
            return None, "", ["the checkpoint has no motion stream"]

    class Fallback:
        name = "fallback"

        def generate(self, speech, reference, *, num_frames, seed=0, controls=None):
            return Motion(np.zeros((num_frames, MOTION_DIM), np.float32), "fallback", ["fallback note"])

    speech = Speech(np.zeros(2400, np.float32), 24000, [Phone("SIL", 0.0, 0.1, ARPABET)], "", "en", "user audio",
                    source="user")
    out = NeuralMotion(NoMotionEngine(), Fallback(), nfe_steps=4, cfg_scale=1.0).generate(speech, None, num_frames=3)
    assert out.engine == "fallback" and not out.neural and out.frames == 3
    assert out.warnings == ["the checkpoint has no motion stream", "fallback note"]


# --------------------------------------------------------------------------- face controls


def test_face_controls_scale_what_they_name_and_nothing_else():
    """Head amplitude scales the head's spread about its mean, the mouth scale its opening (never
    its closures), expression the brows' spread; offsets move the mean pose by their degrees;
    1.0 / 0 is the same motion bit for bit; out-of-range and non-finite values are clipped."""
    from talker.motion.code import channel, index
    from talker.motion.controls import MotionControls, apply_controls

    rng = np.random.default_rng(0)
    codes = np.zeros((500, MOTION_DIM), np.float32)
    codes[:, 51:57] = rng.normal(0, 0.05, (500, 6))
    codes[:, index("jawOpen")] = rng.uniform(0, 0.5, 500)
    codes[:, index("mouthClose")] = rng.uniform(0, 0.3, 500)
    codes[:, index("browInnerUp")] = rng.uniform(0.1, 0.5, 500)
    assert np.array_equal(apply_controls(codes, MotionControls()), codes)
    out = apply_controls(codes, MotionControls(head_motion=1.5, mouth_opening=1.3, expression=0.5))
    assert np.allclose(out[:, 51:57].std(0), 1.5 * codes[:, 51:57].std(0), rtol=1e-4)
    assert np.allclose(channel(out, "jawOpen"), 1.3 * channel(codes, "jawOpen"), atol=1e-6)
    assert np.array_equal(channel(out, "mouthClose"), channel(codes, "mouthClose"))
    assert channel(out, "browInnerUp").std() == pytest.approx(0.5 * channel(codes, "browInnerUp").std(), rel=1e-4)
    turned = apply_controls(codes, MotionControls(head_pitch_deg=10, head_yaw_deg=-5))
    assert np.degrees((turned[:, 51] - codes[:, 51]).mean()) == pytest.approx(10, abs=1e-3)
    assert np.degrees((turned[:, 52] - codes[:, 52]).mean()) == pytest.approx(-5, abs=1e-3)
    wild = MotionControls(head_motion=50, mouth_opening=float("nan"), head_yaw_deg=-400).clipped()
    assert (wild.head_motion, wild.mouth_opening, wild.head_yaw_deg) == (2.0, 1.0, -20.0)


def test_blink_rate_control_scales_the_number_of_blinks():
    """Over a minute of speech the blink count follows the rate: none at 0, about twice at 2."""
    ref = _reference_with_blinks(seconds=20, every=4.0)  # one blink every 4 s
    n = 60 * FPS
    energy = np.ones(n)
    stats = style_stats(ref)

    def count(rate: float) -> float:
        got = [len(detect_blinks(np.r_[stats.blink_base, generate_style(ref, n, energy, seed=s, blink_rate=rate)[
            :, BLINK[0]], stats.blink_base])) for s in range(6)]
        return float(np.mean(got))

    none, one, two = count(0.0), count(1.0), count(2.0)
    assert none == 0 and one > 6
    assert 1.5 < two / one < 2.5, (one, two)


@pytest.mark.slow
def test_face_controls_show_in_the_rendered_video(tmp_path):
    """Through the whole pipeline on the photo template, tracked back from the mp4: a larger head
    amplitude gives a larger tracked head motion, a wider mouth scale a wider tracked jaw."""
    from talker.motion.code import channel
    from talker.pipeline import TalkerPipeline
    from talker.request import GenerateOptions

    pipe = TalkerPipeline()
    text = "Maybe we can walk along the harbour after lunch, and look at all the boats."
    tracked = {}
    for name, kw in {"calm": dict(head_motion=0.3, mouth_opening=0.7),
                     "lively": dict(head_motion=1.8, mouth_opening=1.4)}.items():
        res = pipe.generate(tmp_path / f"{name}.mp4", template="astronaut", text=text,
                            options=GenerateOptions(voice="joe", **kw))
        tracked[name] = pipe.analyze(res.video).motion
    calm, lively = tracked["calm"], tracked["lively"]
    head_ratio = lively[:, 51:54].std(0).sum() / calm[:, 51:54].std(0).sum()
    jaw_ratio = np.percentile(channel(lively, "jawOpen"), 95) / np.percentile(channel(calm, "jawOpen"), 95)
    print(f"tracked head-rotation spread ×{head_ratio:.2f} (asked 6×), jaw p95 ×{jaw_ratio:.2f} (asked 2×)")
    assert head_ratio > 2.5 and jaw_ratio > 1.3


def test_resequenced_motion_visits_every_part_of_a_clip_made_of_several():
    """A template made of four sentences recorded at different head poses: the new sequence must
    draw from all four, not settle in one. Picking only the best-matching join kept a GRID
    template's head in one sentence for 8 s, and its video moved 0.58x the clip's."""
    from talker.motion.style import Resequencer

    rng = np.random.default_rng(7)
    parts = []
    for level in (0.0, 1.0, 2.5, 1.5):  # four takes, each its own mean pose, a little sway
        t = np.arange(70)
        parts.append(level + 0.15 * np.sin(t / 9.0 + level)[:, None] + 0.02 * rng.standard_normal((70, 1)))
    src = np.concatenate(parts)
    visited_all, spread = [], []
    for seed in range(12):
        out = Resequencer(src, np.random.default_rng(seed)).take(250)[:, 0]
        # which take each output frame is nearest to, by level
        take = np.argmin(np.abs(out[:, None] - np.array([0.0, 1.0, 2.5, 1.5])[None, :]), axis=1)
        visited_all.append(len(set(take.tolist())) == 4)
        spread.append(out.std() / src[:, 0].std())
    assert np.mean(visited_all) >= 0.75, visited_all
    assert np.median(spread) >= 0.8, spread


def test_resequenced_motion_of_a_clip_joined_from_takes_changes_take_rarely():
    """The same four takes, now known to be takes (``cuts``, as analysis finds them): the renderer
    cuts wherever the head code moves from one take to another, so it must stay in a take for a
    while (about 4 s) and still visit them all. Without the cuts it changed take 8-13 times in
    20 s (a visible cut every 2 s on a GRID template); with them 3-5 times."""
    from talker.motion.style import Resequencer

    rng = np.random.default_rng(7)
    levels = np.array([0.0, 1.0, 2.5, 1.5])
    t = np.arange(70)
    src = np.concatenate([lv + 0.15 * np.sin(t / 9.0 + lv)[:, None] + 0.02 * rng.standard_normal((70, 1))
                          for lv in levels])

    def takes_played(out: np.ndarray) -> list[int]:
        """The take of each stretch of 8 frames or more at one take's level (crossfades skipped)."""
        take = np.argmin(np.abs(out[:, None] - levels[None, :]), axis=1)
        edges = np.flatnonzero(np.diff(take)) + 1
        runs = [(int(take[a]), b - a) for a, b in zip(np.r_[0, edges], np.r_[edges, take.size], strict=True)]
        played = [k for k, length in runs if length >= 8]
        return [k for i, k in enumerate(played) if i == 0 or k != played[i - 1]]

    changes, visited, spread = [], [], []
    for seed in range(12):
        out = Resequencer(src, np.random.default_rng(seed), cuts=[70, 140, 210]).take(500)[:, 0]
        played = takes_played(out)
        changes.append(len(played) - 1)
        visited.append(len(set(played)) == 4)
        spread.append(out.std() / src[:, 0].std())
    assert max(changes) <= 6 and min(changes) >= 2, changes
    assert np.mean(visited) >= 0.75, visited
    assert np.median(spread) >= 0.8, spread
