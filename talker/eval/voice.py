"""Speaker similarity: cosine of resemblyzer's (GE2E) utterance embeddings, 1 = same voice."""

from __future__ import annotations

import numpy as np

from ..audio.speaker import embed


def speaker_similarity(a: np.ndarray, sr_a: int, b: np.ndarray, sr_b: int) -> float:
    ea, eb = embed(a, sr_a), embed(b, sr_b)
    return float(np.dot(ea, eb) / (np.linalg.norm(ea) * np.linalg.norm(eb) + 1e-9))
