"""Speech pieces end to end without clicks: the one joiner of the offline voice's sentences
(``talker.speech.base.join_results``) and the neural engine's pieces (``talker.model.engine``)."""

from __future__ import annotations

import numpy as np

PEAK_CEILING = 0.99  # joined speech is scaled down (never up) to peak here: no clipping in the AAC


def join_with_fades(pieces: list[np.ndarray], gaps: list[int], fade: int) -> tuple[np.ndarray, list[int]]:
    """``pieces`` end to end, ``gaps[i]`` samples of silence after piece ``i`` (one fewer gap than
    pieces), every inner edge faded linearly over ``fade`` samples (or the piece, if shorter).
    Returns the audio and the sample at which each piece starts in it."""
    chunks: list[np.ndarray] = []
    starts: list[int] = []
    total = 0
    for i, piece in enumerate(pieces):
        seg = np.asarray(piece, dtype=np.float32).copy()
        k = min(fade, seg.size)
        if i > 0 and k:
            seg[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
        if i < len(pieces) - 1 and k:
            seg[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
        starts.append(total)
        chunks.append(seg)
        total += seg.size
        if i < len(pieces) - 1 and gaps[i] > 0:
            chunks.append(np.zeros(gaps[i], dtype=np.float32))
            total += gaps[i]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return audio, starts


def limit_peak(audio: np.ndarray, ceiling: float = PEAK_CEILING) -> np.ndarray:
    """``audio`` scaled down to peak at ``ceiling`` if it goes over; otherwise unchanged."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio * np.float32(ceiling / peak) if peak > ceiling else audio
