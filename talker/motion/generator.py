"""The offline motion generator: timed phones + the new speech + a reference → 61-d motion.

Mouth channels come from visemes with coarticulation (``visemes``), opened wider on the louder
syllables of the new speech, in the reference speaker's own range; head, brows, gaze and blinks
come from the reference's style (``style``), livelier while the new speech is loud. The neural model replaces this whole
function and feeds the same renderer.
"""

from __future__ import annotations

import numpy as np

from ..audio.signal import speech_envelope
from ..phones import Phone
from ..reference.features import ReferenceFeatures
from .code import FPS
from .style import StyleStream, generate_style
from .visemes import MOUTH_COLS, SpeakerMouth, VisemeModel, mouth_motion


def speech_energy(audio: np.ndarray, sample_rate: int, num_frames: int, fps: float = FPS) -> np.ndarray:
    """Per-frame speech loudness in 0..1 (log band energy, robustly scaled)."""
    env = speech_envelope(audio, sample_rate, num_frames, fps)
    lo, hi = np.percentile(env, 10), np.percentile(env, 95)
    return np.clip((env - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def speaker_mouth(reference: ReferenceFeatures, model: VisemeModel) -> SpeakerMouth:
    speaking = reference.speaking if reference.kind == "video" and reference.speech_segments else None
    return SpeakerMouth.from_motion(reference.motion, model.population_jaw_range, speaking)


def generate_motion(phones: list[Phone], audio: np.ndarray, sample_rate: int, reference: ReferenceFeatures, *,
                    num_frames: int, seed: int = 0, model: VisemeModel | None = None,
                    blink_rate: float = 1.0) -> np.ndarray:
    model = model or VisemeModel.load()
    energy = speech_energy(audio, sample_rate, num_frames, reference.fps)
    motion = generate_style(reference.motion, num_frames, energy, seed=seed, fps=reference.fps, blink_rate=blink_rate,
                            cuts=reference.cuts)
    mouth = mouth_motion(phones, num_frames, speaker_mouth(reference, model), model, reference.fps, energy)
    motion[:, MOUTH_COLS] = mouth[:, MOUTH_COLS]
    return motion.astype(np.float32)


MOUTH_EASE_FRAMES = 3  # a later piece's mouth eases in from the last piece's over this many frames


class MotionStream:
    """``generate_motion`` for a video made in pieces: the style channels continue from piece to
    piece (``StyleStream``); the mouth of each piece follows that piece's phones, which start
    and end in the pause between two sentences."""

    def __init__(self, reference: ReferenceFeatures, *, seed: int = 0, model: VisemeModel | None = None,
                 blink_rate: float = 1.0) -> None:
        self.reference = reference
        self.model = model or VisemeModel.load()
        self.style = StyleStream(reference.motion, seed=seed, fps=reference.fps, blink_rate=blink_rate,
                                 cuts=reference.cuts)
        self._mouth = speaker_mouth(reference, self.model)
        self._last_mouth: np.ndarray | None = None  # the last piece's final mouth, to ease in from

    def next(self, phones: list[Phone], audio: np.ndarray, sample_rate: int, num_frames: int, *,
             last: bool = False) -> np.ndarray:
        energy = speech_energy(audio, sample_rate, num_frames, self.reference.fps)
        motion = self.style.next(num_frames, energy, last=last)
        mouth = mouth_motion(phones, num_frames, self._mouth, self.model, self.reference.fps, energy)[:, MOUTH_COLS]
        if self._last_mouth is not None and num_frames:
            # each piece's mouth is made from its own phones: where the next one starts speaking
            # soon after the join, its lips are already parting on its first frame (jaw 0.06 ->
            # 0.11 in one step on a photo, 6x its 95th-percentile frame step); ease in from the
            # last piece's mouth over the join's first frames, which are the pause's silence
            k = min(MOUTH_EASE_FRAMES, num_frames)
            w = 1.0 - np.arange(1, k + 1) / (k + 1)
            mouth[:k] += w[:, None] * (self._last_mouth - mouth[0])[None, :]
        if num_frames:
            self._last_mouth = mouth[-1].copy()
        motion[:, MOUTH_COLS] = mouth
        return motion.astype(np.float32)
