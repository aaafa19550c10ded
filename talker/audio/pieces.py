"""A long recording cut into the pieces of a video made piece by piece: cuts in the quietest
moment near each piece's target length, on a video frame boundary, so every piece is whole
frames of audio and no word is cut. The samples stay on disk (raw float32) and are read a piece
at a time; one loudness gain, measured once, is applied to every piece so the level never steps
at a join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .loudness import loudness_gain

_HOP_S = 0.01  # energy frames for finding pauses
_BLOCK_S = 60.0  # samples read per block while scanning
_EXCERPTS, _EXCERPT_S = 6, 10.0  # loudness measured on this many excerpts of this length


@dataclass
class AudioPieces:
    path: Path  # raw float32 mono
    sample_rate: int
    samples: int
    cuts: list[tuple[int, int]] = field(default_factory=list)  # [start, end) samples of each piece
    gain: float = 1.0
    rms_dbfs: float = -np.inf  # of the whole recording, before the gain

    def read(self, k: int) -> np.ndarray:
        """Piece ``k``'s samples, loudness-normalised."""
        s0, s1 = self.cuts[k]
        x = np.fromfile(self.path, dtype="<f4", count=max(0, min(s1, self.samples) - s0), offset=4 * s0)
        x = x.astype(np.float32) * np.float32(self.gain)
        if x.size < s1 - s0:  # the last piece ends on a frame boundary past the recording's end
            x = np.concatenate([x, np.zeros(s1 - s0 - x.size, np.float32)])
        return x


def _blocks(path: Path, samples: int, sample_rate: int):
    step = int(_BLOCK_S * sample_rate)
    for s0 in range(0, samples, step):
        yield s0, np.fromfile(path, dtype="<f4", count=min(step, samples - s0), offset=4 * s0)


def plan_pieces(path: str | Path, sample_rate: int, fps: float, *, piece_seconds: float = 20.0,
                first_seconds: float | None = None) -> AudioPieces:
    """Cuts for the recording at ``path`` (raw float32): pieces up to ``piece_seconds`` long; with
    ``first_seconds`` the first is that short and each next twice the last (as ``text.split.video_pieces``)."""
    path = Path(path)
    samples = path.stat().st_size // 4
    hop = max(1, int(_HOP_S * sample_rate))
    energy = np.empty(0, np.float32)
    peak, sumsq = 0.0, 0.0
    parts = []
    for _, x in _blocks(path, samples, sample_rate):
        peak = max(peak, float(np.abs(x).max()) if x.size else 0.0)
        sumsq += float(np.square(x, dtype=np.float64).sum())
        parts.append(_energy(x, hop))
    energy = np.concatenate(parts) if parts else energy
    rms = 20 * np.log10(max(np.sqrt(sumsq / max(samples, 1)), 1e-12))
    plan = AudioPieces(path, sample_rate, samples, rms_dbfs=rms)
    plan.gain = _gain(path, samples, sample_rate, peak)
    plan.cuts = _cuts(energy, hop, samples, sample_rate, fps, piece_seconds, first_seconds)
    return plan


def quiet_cuts(audio: np.ndarray, sample_rate: int, piece_seconds: float) -> list[tuple[int, int]]:
    """[start, end) samples of pieces up to ``piece_seconds`` long of an in-memory recording, each
    cut in the quietest moment of the last half of its allowed length (on a 10 ms boundary)."""
    hop = max(1, int(_HOP_S * sample_rate))
    x = np.asarray(audio, dtype=np.float32)
    return _cuts(_energy(x, hop), hop, x.size, sample_rate, 1 / _HOP_S, piece_seconds, None)


def _energy(x: np.ndarray, hop: int) -> np.ndarray:
    """RMS of each whole ``hop`` of ``x`` (the incomplete tail is left out; blocks are whole hops)."""
    n = x.size // hop
    return np.sqrt(np.mean(np.square(x[: n * hop].reshape(n, hop), dtype=np.float64), axis=1)).astype(np.float32)


def _gain(path: Path, samples: int, sample_rate: int, peak: float) -> float:
    """One gain to ``TARGET_LUFS`` (BS.1770, on up to ``_EXCERPTS`` excerpts spread over the
    recording: all of it when shorter than they are), never pushing the peak over the ceiling."""
    span = int(_EXCERPT_S * sample_rate)
    if samples <= _EXCERPTS * span:
        starts = [0]
        span = samples
    else:
        starts = [int(s) for s in np.linspace(0, samples - span, _EXCERPTS)]
    x = np.concatenate([np.fromfile(path, dtype="<f4", count=span, offset=4 * s) for s in starts])
    return loudness_gain(x, sample_rate, peak=peak)


def _cuts(energy: np.ndarray, hop: int, samples: int, sample_rate: int, fps: float, piece_s: float,
          first_s: float | None) -> list[tuple[int, int]]:
    per_frame = sample_rate / fps
    total_frames = int(round(samples / per_frame))
    smooth = np.convolve(energy, np.ones(20) / 20, mode="same") if energy.size >= 20 else energy
    cuts: list[tuple[int, int]] = []
    f0 = 0
    limit = first_s if first_s else piece_s
    while f0 < total_frames:
        max_frames = int(limit * fps)
        if total_frames - f0 <= max_frames * 1.25:
            f1 = total_frames
        else:
            # the quietest moment in the last half of the allowed length
            lo = int((f0 + max_frames // 2) * per_frame / hop)
            hi = int((f0 + max_frames) * per_frame / hop)
            window = smooth[lo:hi]
            pos = (lo + int(np.argmin(window))) * hop if window.size else int((f0 + max_frames) * per_frame)
            f1 = max(f0 + 1, int(round(pos / per_frame)))
        cuts.append((int(round(f0 * per_frame)), int(round(f1 * per_frame))))
        f0 = f1
        limit = min(2 * limit, piece_s)
    return cuts
