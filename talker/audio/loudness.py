"""Loudness normalisation (ITU-R BS.1770 via pyloudnorm) so every reference enters the
models at the same level, whatever the recording gain."""

from __future__ import annotations

import numpy as np

TARGET_LUFS = -20.0
PEAK_CEILING = 0.97


def rms_dbfs(audio: np.ndarray) -> float:
    if audio.size == 0:
        return -np.inf
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20 * np.log10(max(rms, 1e-12))


def loudness_gain(audio: np.ndarray, sample_rate: int, target_lufs: float = TARGET_LUFS,
                  peak: float | None = None) -> float:
    """The gain that brings ``audio`` to ``target_lufs`` integrated loudness without taking its
    peak (``peak``, default ``audio``'s own: a recording measured on excerpts passes the whole
    one's) over the ceiling."""
    import pyloudnorm

    audio = np.asarray(audio, dtype=np.float32)
    if audio.size < int(0.4 * sample_rate):  # BS.1770 gating needs at least one 400 ms block
        gain = 10 ** ((target_lufs - rms_dbfs(audio)) / 20) if audio.size else 1.0
    else:
        loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64))
        gain = 1.0 if not np.isfinite(loudness) else 10 ** ((target_lufs - loudness) / 20)
    peak = float(np.max(np.abs(audio))) if peak is None and audio.size else (peak or 0.0)
    if peak * gain > PEAK_CEILING:
        gain = PEAK_CEILING / peak
    return float(gain)


def normalize(audio: np.ndarray, sample_rate: int, target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """Scale to ``target_lufs`` integrated loudness, then keep peaks under the ceiling."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio * np.float32(loudness_gain(audio, sample_rate, target_lufs))
