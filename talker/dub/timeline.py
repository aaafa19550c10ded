"""Which source frame plays at each output frame of a dub, and which frames get the new mouth.

Pure: frame counts and head speeds in, index arrays out. While the new speech lasts, output
frame t is source frame t. Speech longer than the video: the video goes on back and forth
over its calmest stretch near the end (playing a head movement backwards looks natural; a
freeze or a cut does not). Speech shorter: the rest is cut, or (``rest="keep"``) plays on with
its own sound and mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESTS = ("cut", "keep")
EXTEND_MIN_SECONDS = 1.0  # the back-and-forth stretch is at least this long ...
EXTEND_MAX_SECONDS = 6.0  # ... and at most this long


@dataclass(frozen=True)
class Timeline:
    source: np.ndarray  # (T,) source frame shown at each output frame
    dubbed: np.ndarray  # (T,) bool: the new speech plays here (the mouth is re-rendered)
    speech_frames: int  # how many output frames the new speech covers
    extended: int  # output frames past the source's end (played back and forth)

    @property
    def frames(self) -> int:
        return int(self.source.size)


def plan_timeline(source_frames: int, speech_frames: int, *, rest: str = "cut", fps: float = 25.0,
                  head_speed: np.ndarray | None = None) -> Timeline:
    """``head_speed`` (source_frames,): how much the head moves at each frame (any unit); the
    back-and-forth turns where it is least."""
    if rest not in RESTS:
        raise ValueError(f"rest must be one of {RESTS}, not {rest!r}")
    n, s = int(source_frames), int(speech_frames)
    if n < 1 or s < 0:
        raise ValueError("a dub needs at least one source frame")
    total = s if (rest == "cut" or s >= n) else n
    total = max(total, 1)
    idx = np.arange(total)
    extra = max(0, total - n)
    if extra:
        idx[n:] = back_and_forth(n, extra, fps, head_speed)
    return Timeline(source=idx, dubbed=np.arange(total) < s, speech_frames=s, extended=extra)


def back_and_forth(n: int, extra: int, fps: float, head_speed: np.ndarray | None = None) -> np.ndarray:
    """``extra`` source frames to show after the last one: backwards from the end to a turning
    point, forwards to the end, and so on. The turning point is the calmest frame (least head
    speed) between ``EXTEND_MIN_SECONDS`` and ``EXTEND_MAX_SECONDS`` before the end."""
    if n == 1:
        return np.zeros(extra, dtype=np.int64)
    lo = max(0, n - 1 - int(round(EXTEND_MAX_SECONDS * fps)))
    hi = max(lo, n - 1 - int(round(EXTEND_MIN_SECONDS * fps)))
    if head_speed is not None and hi > lo:
        speed = np.asarray(head_speed, dtype=np.float64)[lo: hi + 1]
        # a few frames' average: a single still frame inside a fast movement is no calm place
        k = max(1, int(round(0.2 * fps)))
        smooth = np.convolve(np.pad(speed, k // 2, mode="edge"), np.ones(k) / k, "valid")[: speed.size]
        turn = lo + int(np.argmin(smooth))
    else:
        turn = lo
    # the cycle: n-2 down to turn, then turn+1 up to n-1, repeated
    down = np.arange(n - 2, turn - 1, -1)
    up = np.arange(turn + 1, n)
    cycle = np.concatenate([down, up])
    if cycle.size == 0:
        cycle = np.array([n - 1])
    reps = -(-extra // cycle.size)
    return np.tile(cycle, reps)[:extra].astype(np.int64)
