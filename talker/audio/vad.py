"""Speech activity with silero-vad, used to find the usable span of a reference."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .resample import resample

VAD_RATE = 16000


@functools.lru_cache(maxsize=1)
def _model():
    import torch

    threads = torch.get_num_threads()
    import silero_vad  # its import sets torch to one thread; give the others back

    torch.set_num_threads(threads)
    return silero_vad.load_silero_vad(onnx=True), silero_vad.get_speech_timestamps


@dataclass(frozen=True)
class Segment:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def speech_segments(audio: np.ndarray, sample_rate: int, *, threshold: float = 0.5) -> list[Segment]:
    """Speech regions in seconds; merges gaps shorter than 0.3 s."""
    model, get_ts = _model()
    x = resample(audio, sample_rate, VAD_RATE)
    import torch

    stamps = get_ts(torch.from_numpy(np.ascontiguousarray(x)), model, sampling_rate=VAD_RATE,
                    threshold=threshold, min_silence_duration_ms=300, speech_pad_ms=60, return_seconds=True)
    return [Segment(float(s["start"]), float(s["end"])) for s in stamps]


def usable_span(
    segments: list[Segment], total: float, *, max_len: float = 30.0, pad: float = 0.25
) -> tuple[float, float, bool]:
    """(start, end, capped): from the first speech to the last, padded, capped at ``max_len``.

    When capping, the span ends at the last speech pause that fits so no word is cut.
    """
    if not segments:
        return 0.0, total, False
    start = max(0.0, segments[0].start - pad)
    end = min(total, segments[-1].end + pad)
    if end - start <= max_len:
        return start, end, False
    limit = start + max_len
    cut = limit
    for seg in segments:
        if seg.end + pad <= limit:
            cut = seg.end + pad
    if cut - start < 0.5 * max_len:  # a single very long utterance: cut hard
        cut = limit
    return start, min(cut, total), True
