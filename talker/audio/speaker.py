"""Speaker embedding: resemblyzer's GE2E utterance vector (256-d), what voice matching asks
"is this closer to the reference?" with (``talker.speech.voice_match``) and what
``talker.eval.voice`` scores similarity by."""

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
