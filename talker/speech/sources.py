"""Where a request's speech comes from, each handed on as a ``Speech`` at the pipeline's rate:
the offline voices (``offline_speech``) or the user's own recording (``user_speech``). The
neural engine is the third source (``talker.model.engine.NeuralEngine.speak``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..errors import InputError, SilentAudioError
from .base import synthesize
from .contract import Speech
from .kokoro_backend import DEFAULT_VOICES

MIN_USER_AUDIO_S = 0.3
SILENT_DBFS = -55.0  # quieter than this over the whole file: nobody speaks in it


def offline_speech(text: str, *, language: str | None, speed: float, seed: int, max_chars: int,
                   voice: str | None = None) -> Speech:
    """``voice`` (None: the best installed voice for the text's language), resampled to ``SAMPLE_RATE``."""
    from ..audio.resample import resample

    res = synthesize(text, language=language, speed=speed, max_chars=max_chars, seed=seed, voice=voice)
    res.audio = resample(res.audio, res.sample_rate, SAMPLE_RATE)
    res.sample_rate = SAMPLE_RATE
    return res


def user_speech(audio: str | Path, *, transcript: str | None, language: str | None,
                max_seconds: float) -> Speech:
    """The user's recording, loudness-normalised, with its words (``transcript``, else speech
    recognition) and their phone timings (forced alignment)."""
    from ..align.timing import timed_phones
    from ..asr import transcribe
    from ..audio.loudness import normalize, rms_dbfs
    from ..media.decode import read_audio
    from ..media.probe import probe

    info = probe(audio)
    if not info.has_audio:
        raise InputError(f"'{Path(audio).name}' has no audio track.", "Upload a speech recording (WAV, MP3, M4A…).")
    if info.duration > max_seconds:
        raise InputError(f"The audio is {info.duration:.0f} s long; the limit is {max_seconds:.0f} s.",
                         "Split it into shorter parts.")
    wav = read_audio(audio, SAMPLE_RATE, info=info)
    if wav.size < SAMPLE_RATE * MIN_USER_AUDIO_S or rms_dbfs(wav) < SILENT_DBFS:
        raise SilentAudioError(f"The audio '{Path(audio).name}' is silent or too short.",
                               "Upload a recording in which someone speaks.")
    wav = normalize(wav, SAMPLE_RATE)
    if transcript and transcript.strip():
        text, lang = transcript.strip(), language or None
    else:
        tx = transcribe(wav, SAMPLE_RATE, language=language if language not in (None, "auto") else None)
        text, lang = tx.text.strip(), tx.language
    phones, warnings = timed_phones(wav, SAMPLE_RATE, text, lang)
    return Speech(wav, SAMPLE_RATE, phones, text, lang or "", "user audio", warnings, source="user")


SEX_CLASSIFIER = Path(__file__).parent / "data" / "sex_classifier.json"
# The automatic voice by language and the reference's sex, as measured by scripts/eval_voices.py
# (speaker similarity on held-out sentences, the same WORLD matching on top): English women
# af_heart 0.630 vs Piper joe 0.555; English men Piper joe 0.562 vs am_michael 0.557, so joe stays;
# Mandarin: Kokoro (Whisper CER 0.08–0.32 vs espeak-ng's 0.56–0.75).
AUTO_VOICES = {**DEFAULT_VOICES, ("en", "male"): "joe"}
# A second voice of the same sex where the first one's pitch is far from many references': Piper
# joe speaks at 163 Hz median, the highest of the 15 English men's voices, and the deep-voiced men
# of the evaluation (92–111 Hz) kept a voice 50–70 Hz above theirs (WORLD matching, kept only where
# the speaker encoder prefers it, left joe stock on 8 of their 9 outputs). Kokoro's am_michael
# speaks at 105 Hz. Median F0 of one sentence (scripts/eval_voices.py), in Hz:
VOICE_F0_HZ = {"joe": 163.0, "am_michael": 105.0}
AUTO_ALTERNATIVES = {("en", "male"): ("am_michael",)}


def auto_voice(language: str, sex: str | None, f0_hz: float | None, installed: set[str]) -> str | None:
    """The automatic voice for a reference of ``sex`` speaking at median ``f0_hz``: among the
    language's candidates for that sex (``AUTO_VOICES`` first, then ``AUTO_ALTERNATIVES``) that are
    installed, the one nearest in pitch (log F0); the first when the pitch is unknown."""
    key = (language, sex or "")
    candidates = [v for v in (AUTO_VOICES.get(key), *AUTO_ALTERNATIVES.get(key, ())) if v in installed]
    if not candidates:
        return None
    if not f0_hz or len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=lambda v: abs(np.log(VOICE_F0_HZ[v] / f0_hz)))


def reference_sex(audio, sample_rate: int, embedding: np.ndarray | None = None) -> str | None:
    """"female" / "male" for a reference's voice: a logistic regression on its speaker embedding
    (``scripts/fit_sex_classifier.py``: 1 of 41 clips wrong leave-one-out, 0 of 5 never-seen clips;
    median pitch alone called 3 of 7 women male under background sound). None with under 0.5 s of audio.
    It only picks which sex's voice speaks; it is never asked how alike two voices are.
    ``embedding``: the audio's speaker embedding when it is already at hand."""
    import json

    from ..audio.speaker import embed

    if audio is None or len(audio) < sample_rate // 2:
        return None
    model = json.loads(SEX_CLASSIFIER.read_text(encoding="utf-8"))
    if embedding is None:
        embedding = embed(audio, sample_rate)
    score = float(np.dot(embedding, model["weights"]) + model["bias"])
    return "female" if score >= 0.0 else "male"
