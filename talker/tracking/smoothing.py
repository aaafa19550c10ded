"""Temporal clean-up of tracked signals: One-Euro smoothing and gap filling.

Per-frame trackers jitter by a pixel or two and drop the odd frame; the generator learns
that jitter as if it were motion. The One-Euro filter removes slow-motion jitter but lets
fast, large changes (blinks, lip closures, head turns) through with little lag, which a
fixed low-pass cannot do.
"""

from __future__ import annotations

import numpy as np

from ..motion.code import FPS


def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau * fps)


class OneEuroFilter:
    """Streaming One-Euro filter (Casiez et al. 2012) over a vector of channels.

    ``min_cutoff`` (Hz) sets smoothing when the signal is still; ``beta`` raises the cutoff
    with speed so that fast moves are not lagged. All channels share the parameters but keep
    their own state, so one call filters a whole frame of landmarks.
    """

    def __init__(self, fps: float = float(FPS), min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        self.fps = float(fps)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def reset(self) -> None:
        self._x = None
        self._dx = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) * self.fps
        a_d = _alpha(self.d_cutoff, self.fps)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, self.fps)
        self._x = a * x + (1.0 - a) * self._x
        return self._x.copy()


def one_euro(
    values: np.ndarray,
    fps: float = float(FPS),
    min_cutoff: float = 1.0,
    beta: float = 0.0,
    d_cutoff: float = 1.0,
    *,
    zero_phase: bool = True,
) -> np.ndarray:
    """Filter a (T, ...) array along time; returns float32 of the same shape.

    ``zero_phase`` averages a forward and a backward pass: offline we have the whole clip,
    and averaging cancels the causal filter's lag, which would otherwise shift mouth motion
    a frame or two behind the audio.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape[0] < 2:
        return arr.astype(np.float32)
    flat = arr.reshape(arr.shape[0], -1)

    def run(seq: np.ndarray) -> np.ndarray:
        f = OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
        return np.stack([f(row) for row in seq])

    out = run(flat)
    if zero_phase:
        out = 0.5 * (out + run(flat[::-1])[::-1])
    return out.reshape(arr.shape).astype(np.float32)


def fill_gaps(values: np.ndarray, detected: np.ndarray, max_gap: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Fill frames where ``detected`` is False; returns ``(filled, long_gap)``.

    Interior gaps of at most ``max_gap`` frames are linearly interpolated; leading and
    trailing gaps hold the nearest detected value. Longer interior gaps are filled by holding
    the nearest detected value (the earlier one for the first half, the later one for the
    second) and flagged in ``long_gap`` so the caller can warn or cut them out. With no
    detection at all the values are returned unchanged and every frame is flagged.
    """
    vals = np.array(values, dtype=np.float32, copy=True)
    det = np.asarray(detected, dtype=bool)
    n = det.shape[0]
    long_gap = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(det)
    if idx.size == 0:
        long_gap[:] = True
        return vals, long_gap
    vals[: idx[0]] = vals[idx[0]]
    vals[idx[-1] + 1 :] = vals[idx[-1]]
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        gap = b - a - 1
        if gap <= 0:
            continue
        if gap <= max_gap:
            w = (np.arange(1, gap + 1, dtype=np.float32) / (gap + 1)).reshape((-1,) + (1,) * (vals.ndim - 1))
            vals[a + 1 : b] = (1.0 - w) * vals[a] + w * vals[b]
        else:
            mid = a + 1 + gap // 2
            vals[a + 1 : mid] = vals[a]
            vals[mid:b] = vals[b]
            long_gap[a + 1 : b] = True
    return vals, long_gap
