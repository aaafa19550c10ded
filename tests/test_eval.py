"""The lip-sync measures: exact math on synthetic data, then real clips; and hearing output speech."""

from __future__ import annotations

import math

import numpy as np
import pytest

from talker.eval.lipsync import av_offset, bilabial_lag, bilabial_scores, openness_target
from talker.eval.mouth import mouth_opening

from .conftest import PRINTING, require_shared
from .conftest import one_word_per_phone as _al

FPS = 25.0


# --------------------------------------------------------------------------- bilabial math


def test_bilabial_scores_exact():
    # 20 frames at 25 fps: frame i at i * 0.04 s.
    m = np.full(20, 0.5)
    m[2] = 0.01  # closes inside the first P's ±1 frame window
    m[10] = 0.30  # second "bilabial" only half closes: a failure
    m[15:18] = [0.6, 0.8, 0.7]  # open vowel peak 0.8
    vow1 = ("AA", 0.20, 0.32)  # frames 5..7 → max 0.5
    vow2 = ("EH", 0.60, 0.72)  # frames 15..17 → max 0.8
    short = ("AE", 0.48, 0.52)  # 40 ms: too short to count
    al = _al([("P", 0.04, 0.08), vow1, ("M", 0.40, 0.44), short, vow2, ("IY", 0.72, 0.80)])
    s = bilabial_scores(m, FPS, al)
    assert s["n_bilabial"] == 2 and s["n_vowel"] == 2
    # threshold 0.35 * median(0.5, 0.8) = 0.2275: P (0.01) closed, M (0.30) not.
    assert s["threshold"] == pytest.approx(0.35 * 0.65)
    assert s["closed"] == pytest.approx(0.5)
    # pairs (bil min < vowel max): 0.01<0.5, 0.01<0.8, 0.30<0.5, 0.30<0.8 → 1.0
    assert s["auc"] == pytest.approx(1.0)
    assert s["failures"] == [("w2", "M", 0.4, 0.3)]


def test_bilabial_auc_counts_ties_half_and_handles_empty():
    m = np.array([0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.9, 0.9, 0.9, 0.9])
    al = _al([("B", 0.04, 0.08), ("AA", 0.12, 0.20), ("OW", 0.24, 0.36)])
    s = bilabial_scores(m, FPS, al)
    # B min 0.4 (frames 0..2); vowel maxima 0.4 (frames 3..4) and 0.9: one tie, one win → 0.75.
    assert s["auc"] == pytest.approx(0.75)
    assert s["closed"] == 0.0  # 0.4 is not below 0.35 * 0.65
    none = bilabial_scores(m, FPS, _al([("AA", 0.0, 0.2)]))
    assert none["n_bilabial"] == 0 and math.isnan(none["closed"]) and math.isnan(none["auc"])


def test_mouth_opening_ratio():
    lm = np.zeros((2, 478, 3))
    lm[:, 10, 1], lm[:, 152, 1] = 100.0, 300.0  # face height 200
    lm[0, 13, 1], lm[0, 14, 1] = 200.0, 220.0  # gap 20
    lm[1, 13, 1], lm[1, 14, 1] = 210.0, 210.0
    assert mouth_opening(lm) == pytest.approx([0.1, 0.0])
    assert np.isnan(mouth_opening(np.zeros((1, 478, 3)))[0])  # no face is not "closed"


# --------------------------------------------------------------------------- av offset on synthetic speech


def _synthetic(seed: int = 0, seconds: float = 8.0, sr: int = 16000):
    """Syllable train: an alignment, the audio it implies, and a mouth that follows it exactly."""
    rng = np.random.default_rng(seed)
    phones: list[tuple[str, float, float]] = []
    t = 0.2
    while t < seconds - 0.6:
        c = rng.choice(["P", "B", "M", "T", "S", "K"])
        v = rng.choice(["AA", "AE", "OW", "IY", "EH"])
        dc, dv = rng.uniform(0.05, 0.12), rng.uniform(0.08, 0.25)
        phones += [(c, t, t + dc), (v, t + dc, t + dc + dv)]
        t += dc + dv + (rng.uniform(0.2, 0.5) if rng.random() < 0.2 else 0.0)
    al = _al(phones)
    n = int(seconds * FPS)
    mouth = openness_target(al, n, FPS, sigma=1.2) * 0.08 + 0.003 * rng.standard_normal(n)
    env = np.zeros(int(seconds * sr))
    for sym, s, e in phones:
        amp = 1.0 if sym in {"AA", "AE", "OW", "IY", "EH"} else (0.0 if sym in {"P", "B", "M"} else 0.15)
        env[int(s * sr):int(e * sr)] = amp
    k = np.hanning(int(0.02 * sr))
    env = np.convolve(env, k / k.sum(), mode="same")
    tt = np.arange(env.size) / sr
    audio = env * (np.sin(2 * np.pi * 150 * tt) + 0.5 * np.sin(2 * np.pi * 700 * tt) + 0.3 * np.sin(2 * np.pi * 1400 * tt))
    audio += 0.01 * rng.standard_normal(env.size)
    return mouth, audio.astype(np.float32), sr, al


def _delay(x: np.ndarray, k: int) -> np.ndarray:
    return np.concatenate([np.full(k, x[0]), x[:-k]]) if k > 0 else np.concatenate([x[-k:], np.full(-k, x[-1])])


@pytest.mark.parametrize("shift", [-4, 3])
@pytest.mark.parametrize("feature", ["onset", "phones", "combined", "band_hp"])
def test_av_offset_recovers_known_shift(feature, shift):
    mouth, audio, sr, al = _synthetic()
    base = av_offset(mouth, audio, sr, FPS, feature=feature, alignment=al)
    # Moving the video later by `shift` frames means the lips lead by `shift` frames less.
    moved = av_offset(_delay(mouth, shift), audio, sr, FPS, feature=feature, alignment=al)
    assert moved.lag - base.lag == -shift
    if feature in ("phones", "combined"):
        assert base.lag == 0 and base.r > 0.8
    lead = av_offset(_delay(mouth, -shift), audio, sr, FPS, feature=feature, alignment=al)
    assert lead.lag - base.lag == shift


def test_av_offset_auto_and_bilabial_lag_on_synthetic():
    mouth, audio, sr, al = _synthetic(seed=1)
    assert av_offset(mouth, audio, sr, FPS).feature == "onset"
    assert av_offset(mouth, audio, sr, FPS, alignment=al).feature == "combined"
    lips_lead = _delay(mouth, -3)  # the mouth moves 3 frames before the sound
    assert av_offset(lips_lead, audio, sr, FPS, alignment=al).lag == 3
    rng = bilabial_lag(lips_lead, FPS, al)
    assert rng["lo"] <= 3 <= rng["hi"]
    with pytest.raises(ValueError):
        av_offset(mouth, audio, sr, FPS, feature="phones")


# --------------------------------------------------------------------------- real recordings


@pytest.mark.slow
def test_bilabial_closure_on_real_clip(monkeypatch):
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    model = require_shared("models/face_landmarker.task")
    monkeypatch.setenv("TALKER_FACE_LANDMARKER", str(model))
    from talker.align import align_auto
    from talker.eval.mouth import track_video

    tr = track_video(clip, use_cache=False)
    assert tr.detected.mean() > 0.9
    al = align_auto(tr.audio, tr.sample_rate, language="en")  # transcript from offline ASR
    mouth = tr.mouth
    good = bilabial_scores(mouth, tr.fps, al)
    assert good["n_bilabial"] >= 2 and good["n_vowel"] >= 5
    assert good["closed"] >= 0.8 and good["auc"] >= 0.9
    for shift in (0.5, -0.5):
        bad = bilabial_scores(mouth, tr.fps, al.shifted(shift))
        assert bad["closed"] <= good["closed"] - 0.3
        assert bad["auc"] < good["auc"] - 0.1
    off = av_offset(mouth, tr.audio, tr.sample_rate, tr.fps, alignment=al)
    assert -2 <= off.lag <= 5 and off.r > 0.15


def test_output_speech_is_heard_in_its_own_latin_script_language():
    """Latin script does not say which language it is: German speech scored against German words
    must be transcribed as German (held to English, Whisper translated it: WER 1.02), and English
    still reads as English."""
    from talker.eval.report import asr_language, hear
    from talker.media.decode import read_audio
    from talker.text.metrics import wer

    assert asr_language("Was mich an der Debatte freut") is None
    assert asr_language("Hello there") is None and asr_language("") is None
    assert asr_language("你好，世界") == "zh"
    clip = require_shared("fixtures/video/de_anchor_20s.mp4")
    audio = read_audio(clip, 24000)[: 24000 * 8]
    german = ("Was mich an der Debatte über Artikel 13 freut, dass sich junge Menschen für ein politisches Thema "
              "engagieren, auf die Straße gehen, diskutieren.")
    heard = hear(audio, 24000, german)
    assert heard.language == "de", heard
    assert wer(german, heard.text) < 0.35, heard.text
    wav = require_shared("fixtures/audio/en_printing_10s.wav")
    en = hear(read_audio(wav, 24000), 24000, PRINTING)
    assert en.language == "en" and wer(PRINTING, en.text) < 0.1, en.text


def test_dnsmos_rates_clean_speech_above_the_same_speech_in_noise():
    """The quality score `talker eval` reports: a real recording scores a plausible MOS, and the
    same recording under loud noise scores clearly lower (OVRL and P.808)."""
    from talker.eval.quality import dnsmos
    from talker.media.decode import read_audio

    wav = read_audio(require_shared("fixtures/audio/en_printing_10s.wav"), 16000)
    clean = dnsmos(wav, 16000)
    noisy = dnsmos(np.clip(wav + 0.1 * np.random.default_rng(0).standard_normal(wav.size).astype(np.float32),
                           -1, 1), 16000)
    assert 3.0 < clean["p808"] < 5.0 and 2.5 < clean["ovrl"] < 5.0, clean
    assert noisy["ovrl"] < clean["ovrl"] - 0.5 and noisy["p808"] < clean["p808"] - 0.3, (clean, noisy)
    with pytest.raises(ValueError, match="one second"):
        dnsmos(wav[:8000], 16000)
