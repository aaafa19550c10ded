"""The motion stage's interface: a ``Speech`` and a reference in, a ``Motion`` (61-d codes, one
row per video frame) out, for the renderer.

Two generators satisfy it: the offline one (``OfflineMotion``: visemes for the mouth, the
reference's own style for the rest) and the neural engine's (``talker.model.engine.NeuralMotion``,
the joint DiT animating given speech). A new motion model is one more class with ``generate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..reference.features import ReferenceFeatures
from ..speech.contract import Speech
from .controls import MotionControls


@dataclass
class Motion:
    codes: np.ndarray  # (frames, 61) float32, at the reference's fps
    engine: str  # what made it, as users see it
    warnings: list[str] = field(default_factory=list)
    neural: bool = False  # made by the neural engine (the result reports the mode)

    @property
    def frames(self) -> int:
        return int(self.codes.shape[0])


@runtime_checkable
class MotionGenerator(Protocol):
    name: str

    def generate(self, speech: Speech, reference: ReferenceFeatures, *, num_frames: int, seed: int = 0,
                 controls: MotionControls | None = None) -> Motion:
        """Exactly ``num_frames`` rows for ``speech``; the same arguments give the same motion.
        ``controls``: the generator honours what acts inside it (the blink rate); the pipeline
        applies the rest to any generator's codes (``controls.apply_controls``)."""
        ...


class MotionPieces(Protocol):
    """A generator's motion for a video made in pieces (``OfflineMotion.stream``): each ``next``
    continues the motion where the last stopped. A generator without ``stream`` makes each piece
    on its own (``generate``)."""

    def next(self, speech: Speech, num_frames: int, *, last: bool = False) -> Motion:
        ...


class OfflineMotion:
    """Phones → coarticulated visemes for the mouth (``visemes``), head, brows, gaze and blinks
    re-sequenced from the reference (``style``); see ``generator.generate_motion``."""

    name = "offline visemes + reference style"

    def generate(self, speech: Speech, reference: ReferenceFeatures, *, num_frames: int, seed: int = 0,
                 controls: MotionControls | None = None) -> Motion:
        from .generator import generate_motion

        rate = controls.clipped().blink_rate if controls else 1.0
        codes = generate_motion(speech.phones, speech.audio, speech.sample_rate, reference, num_frames=num_frames,
                                seed=seed, blink_rate=rate)
        return Motion(codes, self.name)

    def stream(self, reference: ReferenceFeatures, *, seed: int = 0,
               controls: MotionControls | None = None) -> MotionPieces:
        """The same motion for a video made in pieces, each continuing the last (``next``)."""
        return OfflineMotionStream(self.name, reference, seed, controls)


class OfflineMotionStream:
    def __init__(self, name: str, reference: ReferenceFeatures, seed: int, controls: MotionControls | None) -> None:
        from .generator import MotionStream

        self.name = name
        rate = controls.clipped().blink_rate if controls else 1.0
        self._stream = MotionStream(reference, seed=seed, blink_rate=rate)

    def next(self, speech: Speech, num_frames: int, *, last: bool = False) -> Motion:
        codes = self._stream.next(speech.phones, speech.audio, speech.sample_rate, num_frames, last=last)
        return Motion(codes, self.name)
