"""Where a request's speech comes from, each handed on as a ``Speech`` at the pipeline's rate:
the offline voices (``offline_speech``) or the user's own recording (``user_speech``). The
neural engine is the third source (``talker.model.engine.NeuralEngine.speak``)."""

from __future__ import annotations

from pathlib import Path

from ..audio import SAMPLE_RATE
from ..errors import InputError, SilentAudioError
from .base import synthesize
from .contract import Speech

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


FEMALE_F0_HZ = 165.0  # between typical adult male (~120 Hz) and female (~210 Hz) median speaking pitch


def reference_sex(audio, sample_rate: int) -> str | None:
    """"female" / "male" from the median pitch of a reference's voiced speech; None without enough voicing."""
    from .voice_match import VoiceProfile

    if audio is None or len(audio) < sample_rate // 2:
        return None
    prof = VoiceProfile.from_audio(audio, sample_rate)
    if not prof.voiced:
        return None
    return "female" if prof.f0_median_hz >= FEMALE_F0_HZ else "male"
