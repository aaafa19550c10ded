"""Phone timings of speech we did not synthesise (the user's recording, a neural voice): the
words forced-aligned onto it, cut where voice activity says nobody speaks; without words (or
when alignment fails) voiced stretches become open vowels and quiet ones pauses, so the mouth
still follows the loudness."""

from __future__ import annotations

import numpy as np

from ..audio.signal import speech_envelope
from ..motion.code import FPS
from ..phones import ARPABET, Phone, normalise_phones, with_pauses


def timed_phones(audio: np.ndarray, sample_rate: int, text: str, language: str | None) -> tuple[list[Phone], list[str]]:
    """(ARPAbet phones covering the speech, warnings)."""
    from ..audio.vad import speech_segments
    from .phones import align

    phones: list[Phone] = []
    warnings: list[str] = []
    if text:
        try:
            phones = align(audio, sample_rate, text, language).phones
        except Exception as e:  # noqa: BLE001 - lips then follow the audio energy alone
            warnings.append(f"Could not align the words to the audio ({e}); the mouth follows loudness only.")
    if phones:
        voiced = [(g.start, g.end) for g in speech_segments(audio, sample_rate)]
        return with_pauses(normalise_phones(phones), voiced), warnings
    return energy_phones(audio, sample_rate), warnings


def energy_phones(audio: np.ndarray, sample_rate: int) -> list[Phone]:
    """One phone per video frame: "AH" where the speech is louder than its 40th percentile, else "SIL"."""
    n = int(audio.size / sample_rate * FPS)
    env = speech_envelope(audio, sample_rate, n)
    thr = np.percentile(env, 40)
    return [Phone("AH" if e > thr else "SIL", i / FPS, (i + 1) / FPS, ARPABET) for i, e in enumerate(env)]
