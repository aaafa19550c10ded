"""Audio-visual alignment check of a reference: does the tracked jaw move with the speech?

jawOpen is cross-correlated with the speech envelope (log 300–3000 Hz energy), both
high-passed over 1 s so that loudness and posture drifts don't dominate
(``talker.eval.lipsync``, calibrated on real clips). A positive peak within a few frames of
zero says tracking and audio are aligned. Lag > 0: the jaw leads the audio.
"""

from __future__ import annotations

import numpy as np

from ..eval.lipsync import audio_feature, av_offset
from ..motion.code import FPS, channel


def speech_envelope(audio: np.ndarray, sample_rate: int, frames: int, fps: float = FPS) -> np.ndarray:
    """Log 300–3000 Hz energy, one value per video frame."""
    return audio_feature(audio, sample_rate, frames, fps, "band")


def jaw_audio_sync(motion: np.ndarray, audio: np.ndarray, sample_rate: int, fps: float = FPS,
                   max_lag: int = 10, feature: str = "band_hp") -> dict:
    jaw = channel(motion, "jawOpen").astype(np.float64)
    off = av_offset(jaw, audio, sample_rate, fps, feature=feature, max_lag=max_lag)
    return {"r": round(off.r, 4), "lag_frames": off.lag, "feature": off.feature, "frames": int(jaw.size)}
