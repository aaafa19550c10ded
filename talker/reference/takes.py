"""Where a reference clip cuts from one take to another.

A template joined from several recordings (the GRID ones join three or four sentences) jumps in
framing and light at each join: a frame step of 7-11 grey levels where the clip's own 95th
percentile is 2.5. The head motion is re-sequenced take by take and the renderer treats a join as
a cut, so both need to know where the joins are; analysis finds them once, from the frames it
decodes anyway (``CutWatcher``), and stores them in ``ReferenceFeatures.cuts``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

# A frame step this many times the clip's own 95th percentile (and at least CUT_MIN_GREY grey
# levels) is a cut: the GRID joins are 2.8-10.6x theirs (grid-s4-woman's alike takes 2.8-4.2x,
# the others 7-11x); the single-take templates' largest steps are under 2x.
CUT_STEPS = 2.5
CUT_MIN_GREY = 4.0
THUMB_WIDTH = 45  # frames are compared at about this many pixels wide (every n-th pixel)


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """Every n-th pixel of an (H, W, 3) frame, so that it is about ``THUMB_WIDTH`` wide, as float32."""
    s = max(1, frame.shape[1] // THUMB_WIDTH)
    return np.asarray(frame[::s, ::s], dtype=np.float32)


def frame_steps(frames: Iterable[np.ndarray]) -> np.ndarray:
    """(N-1,) mean absolute grey-level change from each frame to the next (inf where the size changes)."""
    watcher = CutWatcher()
    for _ in watcher.watch(frames):
        pass
    return watcher.steps


def find_cuts(steps: np.ndarray) -> list[int]:
    """Frames that start a new take (a step into them stands far out from the clip's own steps)."""
    steps = np.asarray(steps, dtype=np.float64)
    if steps.size < 2:
        return []
    finite = steps[np.isfinite(steps)]
    p95 = float(np.percentile(finite, 95)) if finite.size else 0.0
    return [int(i) + 1 for i in np.flatnonzero(steps > max(CUT_STEPS * p95, CUT_MIN_GREY))]


def take_bounds(cuts: Iterable[int], frames: int) -> list[tuple[int, int]]:
    """[(start, end)] of each take of a clip of ``frames`` frames cut at ``cuts``."""
    edges = [0, *sorted(c for c in set(cuts) if 0 < c < frames), frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


class CutWatcher:
    """Passes frames through (``watch``) and notes each step, so the caller's one decode also finds
    the cuts (``cuts``)."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._steps: list[float] = []

    def watch(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for f in frames:
            t = thumbnail(f)
            if self._prev is not None:
                self._steps.append(float(np.abs(t - self._prev).mean()) if t.shape == self._prev.shape else np.inf)
            self._prev = t
            yield f

    @property
    def steps(self) -> np.ndarray:
        return np.asarray(self._steps, dtype=np.float64)

    @property
    def cuts(self) -> list[int]:
        return find_cuts(self.steps)


def clip_cuts(media, start: float, frames: int, fps: float) -> list[int]:
    """The cuts of ``frames`` frames of ``media`` from ``start`` seconds (an analysis made before
    cuts were stored: decoding a template's few seconds again takes about a second)."""
    from itertools import islice

    from ..media import decode

    it = decode.iter_frames(media, fps, start=start, duration=frames / fps + 0.2)
    return [c for c in find_cuts(frame_steps(islice(it, frames))) if c < frames]
