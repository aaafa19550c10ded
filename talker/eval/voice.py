"""Speaker similarity: cosine of resemblyzer's (GE2E) utterance embeddings, 1 = same voice."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _encoder():
    import torch

    threads = torch.get_num_threads()
    from resemblyzer import VoiceEncoder

    enc = VoiceEncoder(device="cpu", verbose=False)
    torch.set_num_threads(threads)
    return enc


def embed(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    from resemblyzer import preprocess_wav

    return _encoder().embed_utterance(preprocess_wav(np.asarray(audio, dtype=np.float32), source_sr=sample_rate))


def speaker_similarity(a: np.ndarray, sr_a: int, b: np.ndarray, sr_b: int) -> float:
    ea, eb = embed(a, sr_a), embed(b, sr_b)
    return float(np.dot(ea, eb) / (np.linalg.norm(ea) * np.linalg.norm(eb) + 1e-9))
