"""The renderer interface: a motion-code sequence in, RGB frames out.

Renderers know the reference (its features and media) and nothing of text or audio, so the
offline motion generator and the neural model drive them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class RenderConfig:
    crop_size: int = 512  # the face crop that is re-rendered, then pasted back
    paste_back: bool = True  # False: output the 512×512 face crop itself
    max_side: int = 1280  # cap of the full output frame (even dimensions are enforced)
    seed: int = 0


class Renderer(Protocol):
    name: str

    @property
    def output_size(self) -> tuple[int, int]:  # (width, height), both even
        ...

    def render(self, motion: np.ndarray, *, resume: bool = False) -> Iterator[np.ndarray]:
        """One RGB uint8 frame per row of ``motion`` (T, 61), streamed. ``resume``: ``motion``
        continues the last call's (a video made in pieces), so whatever the renderer carries from
        frame to frame (which reference frame plays) goes on from there without a jump."""
        ...


def even_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    s = min(1.0, max_side / max(w, h))
    return int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2
