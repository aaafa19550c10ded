"""The dub's renderer: every source frame as it is, with the new mouth painted where it may be.

The mouths come from the source itself (``MouthBank`` over the frames kept in ``SourceVideo.pool``),
chosen for the new speech's mouth shapes and each frame's head pose, so teeth, lips and light
are the speaker's own. A frame that may not be changed (no face, turned away, too small, past
the new speech, something in front of the mouth) passes through untouched; the new mouth fades in and out over ``FADE_FRAMES``
next to such frames, so it never pops.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..motion.code import HEAD_ROTATION
from ..render.mouth import KEEP_POSE_DEG, KEEP_POSE_WEIGHT, KEEP_POSE_WIDTH, MouthBank, MouthConfig, face_heights
from .occlusion import MAX_RISE, STAY_RISE, foreign_share
from .source import SourceVideo
from .timeline import Timeline

FADE_FRAMES = 3
# mouths keep the frame's head pose (talker.render.mouth.KEEP_POSE_*); no usable mouth turned
# within FALLBACK_POSE_DEG: the frame passes through
FALLBACK_POSE_DEG = 3 * KEEP_POSE_DEG
# a paint whose skin above the lips misses the face's by more than this (mean grey levels after
# the colour match) is dropped: good paints measured 6-31 on four clips, mouths off the face 45-50
MAX_MISFIT = 38.0
PIECE_FRAMES = 750  # mouths are chosen this many frames at a time (memory stays flat)
PAINT_THREADS = 2
USUAL_SAMPLES = 120  # pool frames whose skin around the mouth sets the video's usual (``occlusion``)


def blend_weights(timeline: Timeline, usable: np.ndarray, fade: int = FADE_FRAMES) -> np.ndarray:
    """(T,) how much of the new mouth each output frame shows: 0 where the frame passes through,
    rising to 1 over ``fade`` frames away from such frames."""
    ok = timeline.dubbed & np.asarray(usable, bool)[timeline.source]
    t = ok.size
    if not ok.any():
        return np.zeros(t)
    if ok.all():
        return np.ones(t)
    # distance (frames) to the nearest frame that passes through
    far = t + fade + 1
    dist = np.full(t, far, dtype=np.int64)
    last = -far
    for i in range(t):
        if not ok[i]:
            last = i
        dist[i] = i - last
    last = 2 * far + t
    for i in range(t - 1, -1, -1):
        if not ok[i]:
            last = i
        dist[i] = min(dist[i], last - i)
    return np.clip(dist / (fade + 1), 0.0, 1.0)


class DubRenderer:
    name = "dub: source frames + the source's own mouths"

    def __init__(self, source: SourceVideo, config: MouthConfig | None = None) -> None:
        self.src = source
        pool = source.pool
        self.bank = MouthBank(source.pool_frames(), source.landmarks[pool], source.motion[pool], source.gap[pool],
                              source.speaking[pool], config or MouthConfig(
                                  max_pose_deg=KEEP_POSE_DEG, mouth_pose_weight=KEEP_POSE_WEIGHT, width=KEEP_POSE_WIDTH))
        self._allowed = source.usable[pool]
        self._face_h = face_heights(source.landmarks)
        self.misfits: list[tuple[int, float | None]] = []  # (output frame, misfit) of each painted frame
        self.max_misfit: float | None = MAX_MISFIT
        self.unposed: set[int] = set()  # output frames with no mouth posed like them: passed through
        self.covered: set[int] = set()  # output frames with something in front of the mouth: passed through
        self._covering = False
        self.usual_share = self._usual_share()

    def _usual_share(self) -> float:
        """The video's usual ``foreign_share`` (median over pool frames spread through it); pool
        frames well over it show a covered mouth and are never painted from."""
        idx = np.flatnonzero(self._allowed)
        self._pool_cover: dict[int, bool] = {}
        if idx.size == 0:
            return float("nan")
        idx = idx[np.linspace(0, idx.size - 1, min(USUAL_SAMPLES, idx.size)).astype(int)]
        shares = np.array([self._pool_share(int(k)) for k in idx])
        usual = float(np.nanmedian(shares)) if np.isfinite(shares).any() else float("nan")
        covered = shares > usual + MAX_RISE
        self._pool_cover = dict(zip(idx.tolist(), covered.tolist(), strict=True))
        self._allowed = self._allowed.copy()
        self._allowed[idx[covered]] = False
        return usual

    def _share(self, frame: np.ndarray, s: int) -> float:
        """Source frame ``s``'s ``foreign_share`` less the video's usual (NaN when unknown)."""
        if not np.isfinite(self.usual_share):
            return float("nan")
        return foreign_share(frame, self.src.landmarks[s], float(self._face_h[s])) - self.usual_share

    def _pool_share(self, k: int) -> float:
        return foreign_share(np.asarray(self.bank.frames[k]), self.bank.landmarks[k], float(self.bank.face_h[k]))

    def _pool_covered(self, k: int) -> bool:
        """Whether pool frame ``k``'s mouth is covered (measured once; the sampled ones at start)."""
        if k not in self._pool_cover:
            share = self._pool_share(k)
            self._pool_cover[k] = bool(np.isfinite(share) and share > self.usual_share + MAX_RISE)
        return self._pool_cover[k]

    def _paint(self, frame: np.ndarray, s: int, k: int, d: float, w: float):
        """(painted frame or None where the chosen mouth is itself covered, misfit, rise)."""
        if self._pool_covered(k):
            return None, None, float("nan")
        rise = self._share(frame, s)
        out, misfit = self.bank.paint_checked(frame, self.src.landmarks[s], float(self._face_h[s]), k, d, alpha=w,
                                              match_colour=True, max_misfit=self.max_misfit)
        return out, misfit, rise

    @property
    def output_size(self) -> tuple[int, int]:
        return self.src.size

    def _fallback(self, shown: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per output frame, the usable pool frame posed most like the frame shown (nearer in time
        breaking near-ties: 0.2° a second), and whether it is posed within ``FALLBACK_POSE_DEG``:
        where not, the frame passes through (a long video keeps one pool frame in dozens)."""
        usable = np.flatnonzero(self._allowed) if self._allowed.any() else np.arange(self.src.pool.size)
        pool_rot = self.bank.motion[:, HEAD_ROTATION][usable]
        turn = np.degrees(np.abs(rot[:, None, :2] - pool_rot[None, :, :2]).max(-1))
        far = np.abs(shown[:, None] - self.src.pool[usable][None, :]) / self.src.fps
        best = np.argmin(turn + 0.2 * far, axis=1)
        posed = turn[np.arange(shown.size), best] <= FALLBACK_POSE_DEG
        return usable[best], posed

    def render(self, motion: np.ndarray, timeline: Timeline, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """One frame per output frame: ``frames`` are the source frames the timeline shows, in
        order; ``motion`` (T, 61) the mouth to show where the new speech plays. Frames are painted
        on ``PAINT_THREADS`` threads (OpenCV and numpy let go of the GIL), handed out in order."""
        weights = blend_weights(timeline, self.src.usable)
        src_idx = timeline.source
        it = iter(frames)
        pending: deque = deque()
        with ThreadPoolExecutor(PAINT_THREADS) as pool:
            for a in range(0, timeline.frames, PIECE_FRAMES):
                b = min(timeline.frames, a + PIECE_FRAMES)
                rot = self.src.motion[src_idx[a:b]][:, HEAD_ROTATION]
                near, posed = self._fallback(src_idx[a:b], rot)
                mouth = self.bank.choose(motion[a:b], rot, resume=a > 0, allowed=self._allowed, fallback=near)
                self.unposed.update(int(t) for t in a + np.flatnonzero(~posed))
                shift = self.bank.last_shift
                for t in range(a, b):
                    frame = next(it)
                    w, s, k, d = float(weights[t]), int(src_idx[t]), int(mouth[t - a]), float(shift[t - a])
                    if w <= 0.0 or t in self.unposed or (self.src.pool[k] == s and abs(d) < 1e-4):
                        pending.append((t, frame, None))
                    else:
                        pending.append((t, frame, pool.submit(self._paint, frame, s, k, d, w)))
                    while len(pending) > 3 * PAINT_THREADS:
                        yield self._settle(pending.popleft())
            while pending:
                yield self._settle(pending.popleft())

    def painted(self, frames: int) -> np.ndarray:
        """(frames,) 0 where a paint was dropped (``max_misfit``), no posed mouth existed or the
        mouth was covered, else 1."""
        out = np.ones(frames)
        for t, misfit in self.misfits:
            if misfit is not None and self.max_misfit is not None and misfit > self.max_misfit:
                out[t] = 0.0
        out[list(self.unposed | self.covered)] = 0.0
        return out

    def _settle(self, item) -> np.ndarray:
        """The output frame ``t``, in order: the paint, or the source frame where the mouth is
        covered. Covered starts where the skin around the mouth rises ``MAX_RISE`` over the usual
        and lasts while it stays ``STAY_RISE`` over it (an object held still while the head moves
        covers more or less of it)."""
        t, frame, job = item
        if job is None:
            return frame
        out, misfit, rise = job.result()
        if np.isfinite(rise):
            self._covering = rise > (STAY_RISE if self._covering else MAX_RISE)
        if out is None or self._covering:
            self.covered.add(t)
            return frame
        self.misfits.append((t, misfit))
        return out
