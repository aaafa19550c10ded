"""Audio-visual alignment check of a reference: does the tracked jaw move with the speech?

jawOpen is cross-correlated with the speech envelope (log 300–3000 Hz energy), both
high-passed over 1 s so that loudness and posture drifts don't dominate (the 'band_hp'
feature of ``talker.eval.lipsync.av_offset``, calibrated on real clips; the signal tools are
``talker.audio.signal``). A positive peak within a few frames of zero says tracking and audio
are aligned. Lag > 0: the jaw leads the audio.
"""

from __future__ import annotations

import numpy as np

from ..audio.signal import fill_nan, highpass, peak, speech_envelope, xcorr
from ..motion.code import FPS, channel


def jaw_audio_sync(motion: np.ndarray, audio: np.ndarray, sample_rate: int, fps: float = FPS,
                   max_lag: int = 10, hp_seconds: float = 1.0) -> dict:
    jaw = fill_nan(channel(motion, "jawOpen"))
    env = speech_envelope(audio, sample_rate, jaw.size, fps)
    lags, rs = xcorr(highpass(jaw, fps, hp_seconds), highpass(env, fps, hp_seconds), max_lag)
    _, r, lag = peak(lags, rs)
    return {"r": round(r, 4), "lag_frames": lag, "feature": "band_hp", "frames": int(jaw.size)}
