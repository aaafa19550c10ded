"""Audio-visual alignment check: does the tracked jaw move with the speech?

The speech envelope is the log energy of the 300–3000 Hz band (where vowels, and so jaw
opening, carry most energy), one value per video frame. Both series are normalised and
cross-correlated; a positive peak near lag 0 says tracking and audio are aligned.
Lag convention: positive = the jaw leads the audio by that many frames.
"""

from __future__ import annotations

import numpy as np

from ..motion.code import FPS, channel


def speech_envelope(audio: np.ndarray, sample_rate: int, frames: int, fps: float = FPS,
                    band: tuple[float, float] = (300.0, 3000.0)) -> np.ndarray:
    hop = sample_rate / fps
    win = int(round(2 * hop))
    n_fft = 1 << (win - 1).bit_length()
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    sel = (freqs >= band[0]) & (freqs <= band[1])
    window = np.hanning(win).astype(np.float32)
    padded = np.pad(audio.astype(np.float32), (win // 2, win))
    env = np.empty(frames, dtype=np.float64)
    for i in range(frames):
        c = int(round(i * hop + hop / 2))
        seg = padded[c : c + win]
        if seg.size < win:
            seg = np.pad(seg, (0, win - seg.size))
        spec = np.abs(np.fft.rfft(seg * window, n_fft)) ** 2
        env[i] = np.log(spec[sel].sum() + 1e-8)
    return env


def xcorr_peak(a: np.ndarray, b: np.ndarray, max_lag: int = 10) -> tuple[float, int, np.ndarray]:
    """(peak r, lag, r per lag) of normalised series; lag > 0 means ``a`` leads ``b``."""
    a = (a - a.mean()) / (a.std() + 1e-9)
    b = (b - b.mean()) / (b.std() + 1e-9)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    lags = np.arange(-max_lag, max_lag + 1)
    rs = np.empty(lags.size)
    for j, lag in enumerate(lags):
        # a leads b by `lag`: a[t] pairs with b[t + lag]
        if lag >= 0:
            x, y = a[: n - lag], b[lag:]
        else:
            x, y = a[-lag:], b[: n + lag]
        rs[j] = float(np.corrcoef(x, y)[0, 1]) if x.size > 2 else 0.0
    k = int(np.argmax(rs))
    return float(rs[k]), int(lags[k]), rs


def jaw_audio_sync(motion: np.ndarray, audio: np.ndarray, sample_rate: int, fps: float = FPS,
                   max_lag: int = 10) -> dict:
    """Peak correlation of jawOpen with the band envelope, and its lag in frames."""
    jaw = channel(motion, "jawOpen").astype(np.float64)
    env = speech_envelope(audio, sample_rate, jaw.size, fps)
    r, lag, _ = xcorr_peak(jaw, env, max_lag)
    return {"r": round(r, 4), "lag_frames": lag, "frames": int(jaw.size)}
