"""Per-video-frame audio features and the lag correlation shared by motion synthesis, the
reference's sync check and the lip-sync measures (``talker.eval.lipsync`` builds on these).

``speech_envelope`` is the loudness the motion generator follows; ``xcorr``/``peak`` find the
lag at which two per-frame series agree best.
"""

from __future__ import annotations

import math

import numpy as np

from ..motion.code import FPS


def fill_nan(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).copy()
    bad = ~np.isfinite(x)
    if bad.all():
        return np.zeros_like(x)
    if bad.any():
        idx = np.arange(x.size)
        x[bad] = np.interp(idx[bad], idx[~bad], x[~bad])
    return x


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x.copy()
    k = np.ones(width) / width
    pad = width // 2
    xp = np.pad(x, (pad, width - 1 - pad), mode="edge")
    return np.convolve(xp, k, mode="valid")


def highpass(x: np.ndarray, fps: float, seconds: float = 1.0) -> np.ndarray:
    """x minus its moving average over ``seconds``: drops loudness and head-pose drifts."""
    return x - _moving_average(x, max(3, int(round(seconds * fps)) | 1))


def gauss_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return x
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(x, r, mode="edge"), k, mode="valid")


def frames_spectrum(audio: np.ndarray, sr: int, frames: int, fps: float, win_s: float = 0.04):
    """|STFT|² with one window centred on each video frame's time stamp i / fps."""
    x = np.asarray(audio, dtype=np.float64)
    win = max(16, int(round(win_s * sr)))
    n_fft = 1 << (win - 1).bit_length()
    centres = np.round(np.arange(frames) * sr / fps).astype(int)
    padded = np.pad(x, (win // 2, win + max(0, int(centres[-1]) - x.size) if frames else win))
    idx = centres[:, None] + np.arange(win)[None, :]
    segs = padded[idx] * np.hanning(win)[None, :]
    spec = np.abs(np.fft.rfft(segs, n_fft, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return spec, freqs


def audio_feature(audio: np.ndarray, sr: int, frames: int, fps: float, kind: str = "band") -> np.ndarray:
    """One value per video frame: 'rms' (log RMS), 'band' (log 300–3000 Hz energy) or 'flux'
    (positive spectral flux of the log band spectrum: energy onsets)."""
    spec, freqs = frames_spectrum(audio, sr, frames, fps)
    if kind == "rms":
        return np.log(spec.sum(axis=1) + 1e-10)
    sel = (freqs >= 300.0) & (freqs <= 3000.0)
    if kind == "band":
        return np.log(spec[:, sel].sum(axis=1) + 1e-10)
    if kind == "flux":
        logspec = np.log(spec[:, sel] + 1e-8)
        d = np.diff(logspec, axis=0, prepend=logspec[:1])
        return np.maximum(d, 0.0).mean(axis=1)
    raise ValueError(f"unknown audio feature {kind!r}")


def speech_envelope(audio: np.ndarray, sample_rate: int, frames: int, fps: float = FPS) -> np.ndarray:
    """Log 300–3000 Hz energy, one value per video frame."""
    return audio_feature(audio, sample_rate, frames, fps, "band")


def xcorr(a: np.ndarray, b: np.ndarray, max_lag: int, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lags, Pearson r per lag); lag > 0 means ``a`` leads ``b`` (a[t] pairs with b[t + lag])."""
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)[:n]
    lags = np.arange(-max_lag, max_lag + 1)
    rs = np.zeros(lags.size)
    for j, lag in enumerate(lags):
        if lag >= 0:
            x, y, ww = a[: n - lag], b[lag:], w[: n - lag] * w[lag:]
        else:
            x, y, ww = a[-lag:], b[: n + lag], w[-lag:] * w[: n + lag]
        if ww.sum() < 5:
            continue
        mx, my = np.average(x, weights=ww), np.average(y, weights=ww)
        cov = np.average((x - mx) * (y - my), weights=ww)
        vx, vy = np.average((x - mx) ** 2, weights=ww), np.average((y - my) ** 2, weights=ww)
        rs[j] = cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else 0.0
    return lags, rs


def peak(lags: np.ndarray, rs: np.ndarray) -> tuple[float, float, int]:
    """(sub-frame lag by parabolic interpolation, peak r, integer lag)."""
    k = int(np.argmax(rs))
    lag = float(lags[k])
    if 0 < k < rs.size - 1:
        y0, y1, y2 = rs[k - 1], rs[k], rs[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag += float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return lag, float(rs[k]), int(lags[k])
