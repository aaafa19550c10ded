"""Video-reference renderer: real frames of the reference, re-timed, with a real mouth.

Photoreal and identity-preserving by construction: every output pixel comes from the
reference itself. Head motion and blinks come from choosing which reference frame plays as
background (a Viterbi path that prefers playing frames in order, so motion stays natural);
the lower face comes from the reference frame whose mouth best matches the target mouth
shape (so teeth and mouth interior are real), aligned on stable landmarks and blended in
with a feathered mask. A frame chosen from a finite pool opens the lips a little more or less
than asked; the lower lip and jaw of the chosen mouth are moved by that difference (a smooth
vertical warp), so the rendered gap follows the motion code and not the pool's quantisation.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..media import decode
from ..motion.code import BLENDSHAPE_NAMES, HEAD_ROTATION, HEAD_TRANSLATION, index
from ..paths import cache_dir, private_tmp
from ..reference.features import ReferenceFeatures
from ..tracking.geometry import mouth_opening
from ..tracking.landmarks import (
    CHIN,
    NOSE_BRIDGE,
    STABLE,
)
from .base import RenderConfig, even_size
from .mouth import KEEP_POSE_WEIGHT, KEEP_POSE_WIDTH, MouthBank, MouthConfig
from .select import PathCosts, sq_distance, viterbi_path

BLINK_IDX = np.array([index("eyeBlinkLeft"), index("eyeBlinkRight")])
BROW_IDX = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES) if n.startswith("brow")])


@dataclass
class ClipRenderConfig(MouthConfig, RenderConfig):
    """The background path's settings; the mouth's are ``MouthConfig``'s (shared with dubbing)."""

    pool_seconds: float = 20.0  # how much of the reference is kept as frames to draw from
    bg_costs: PathCosts = field(default_factory=lambda: PathCosts(backward=0.1, turn=1.5, hold=0.8, jump=6.0))
    # prefer backgrounds with a closed mouth (less to cover); stronger than this, the closed-mouth
    # frames (often the still ones) were chosen so often that head motion fell to 0.74× the clip's
    background_jaw_weight: float = 0.25
    cut_weight: float = 1.0  # extra cost of a background cut per "natural frame step" the head jumps
    # how much the head's rotation counts in choosing a background, over the blinks', brows' and
    # translation's. At 1 the path rocked inside one sentence of a template made of several rather
    # than cut to the poses the head motion asked for: the background frames of grid-s23-woman moved
    # 0.40x the clip's (seed 0). At 4: 0.79x; on 12 held-out clips of other people the tracked
    # output moved 0.89x on average, min 0.70 (0.86x, min 0.65 before, with the mouths below). On
    # templates joined from several takes the path then cut between takes 3-7 times in 10 s, until
    # the head code learnt to stay in one take for a while (``motion.style.TAKE_SECONDS``): now ~2
    # in 10 s, as often as their clips' own joins
    background_head_weight: float = 4.0
    # the mouth keeps the background's head pose (see ``KEEP_POSE_DEG``), without the hard limit: a
    # template's frames are all usable, and on cremad-1001-man (pitch range 14°) the limit left
    # 1 of 7 bilabials open (0.86) where the pose weight alone closes all 7, same head motion
    mouth_pose_weight: float = KEEP_POSE_WEIGHT
    width: float = KEEP_POSE_WIDTH


# A piece of a video made in pieces starts by playing the source on from where the last piece
# stopped, for this many frames, before any cut: the join falls in a pause shared by both pieces,
# and without it the paths cut at 2 of 3 joins on a GRID template (a frame step of 8-10 grey
# levels where the reference's own 95th percentile is 2.5).
JOIN_SETTLE_FRAMES = 3
CROP_FACE_HEIGHTS = 1.9  # the face crop's side, in face heights (forehead to chin)


class FramePool:
    """The reference's frames (capped), kept as a memory-mapped array in the cache."""

    def __init__(self, feats: ReferenceFeatures, media: str | Path, max_side: int, seconds: float) -> None:
        w, h = feats.frame_size
        self.size = even_size(w, h, max_side)
        self.scale = self.size[0] / w
        n = min(feats.frames, int(seconds * feats.fps))
        key = hashlib.sha256(f"{feats.content_hash}|{feats.span}|{self.size}|{n}".encode()).hexdigest()[:24]
        path = cache_dir() / "frames" / f"{key}.npy"
        shape = (n, self.size[1], self.size[0], 3)
        if path.is_file():
            self.frames = np.load(path, mmap_mode="r")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = private_tmp(path)
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            import cv2

            got = 0
            start = feats.span[0]
            for i, frame in enumerate(decode.iter_frames(media, feats.fps, start=start, duration=n / feats.fps + 0.2)):
                if i >= n:
                    break
                if frame.shape[1] != self.size[0]:
                    frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
                arr[i] = frame
                got = i + 1
            if got < n:  # decoder gave fewer frames than analysis: repeat the last
                arr[got:] = arr[max(0, got - 1)]
            arr.flush()
            del arr
            tmp.replace(path)
            self.frames = np.load(path, mmap_mode="r")
        self.n = n
        self.landmarks = feats.landmarks[:n, :, :2] * self.scale
        self.motion = feats.motion[:n]
        # the gap of the unsmoothed landmarks: the smoothed ones lag a fast closure or opening, and
        # a frame chosen by them would show another mouth than the one asked for
        gap = feats.mouth_gap[:n] if feats.mouth_gap is not None else mouth_opening(self.landmarks)
        self.gap = np.nan_to_num(np.asarray(gap, dtype=np.float64), nan=0.0)


class ClipRenderer:
    name = "clip-resequence"

    def __init__(self, feats: ReferenceFeatures, media: str | Path, config: ClipRenderConfig | None = None) -> None:
        if feats.kind != "video":
            raise ValueError("ClipRenderer needs a video reference")
        self.cfg = config or ClipRenderConfig()
        self.feats = feats
        self.pool = FramePool(feats, media, self.cfg.max_side, self.cfg.pool_seconds)
        m = self.pool.motion
        self.mouths = MouthBank(self.pool.frames, self.pool.landmarks, m, self.pool.gap,
                                feats.speaking[: self.pool.n], self.cfg)
        self._rot_scale = self.mouths.rot_scale
        self._tr_scale = m[:, HEAD_TRANSLATION].std(0) + 0.3
        self._face_h = self.mouths.face_h
        self.last_paths: tuple[np.ndarray, np.ndarray] | None = None
        # where the last piece of a video made in pieces ended (``render(..., resume=True)``)
        self._bg_state: tuple[int, int] | None = None
        self._crop_side: float | None = None
        self._centers_tail: np.ndarray | None = None

    @property
    def output_size(self) -> tuple[int, int]:
        if self.cfg.paste_back:
            return self.pool.size
        return self._crop_px, self._crop_px

    @property
    def _crop_px(self) -> int:
        """The face crop's side: ``crop_size``, or the source pixels the crop covers when fewer. A
        GRID face is ~130 px tall, its crop ~250 px: blown up to 512 it only gets blurrier."""
        side = float(np.median(self._face_h)) * CROP_FACE_HEIGHTS
        return int(min(self.cfg.crop_size, max(64, int(side) // 2 * 2)))

    # -- choosing frames ----------------------------------------------------------------------
    def plan(self, motion: np.ndarray, resume: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(background frame, mouth frame) per output frame; ``resume``: both paths go on from
        where the last ``plan`` ended them (a video made in pieces), not from anywhere."""
        pool = self.pool.motion
        # background: head pose, blinks and brows like the target; mouth as closed as possible
        cols = np.concatenate([np.arange(51, 54), np.arange(54, 57), BLINK_IDX, BROW_IDX])
        scale = np.concatenate([self._rot_scale, self._tr_scale * 2.5, [0.35, 0.35], np.full(BROW_IDX.size, 0.4)])
        weights = np.ones(cols.size)
        weights[:3] = self.cfg.background_head_weight
        unary = sq_distance(motion[:, cols] / scale, pool[:, cols] / scale, weights)
        jaw = pool[:, index("jawOpen")]
        unary = unary / cols.size + self.cfg.background_jaw_weight * (jaw / (jaw.max() + 1e-6))[None, :]
        bg, bg_end = viterbi_path(unary, self.cfg.bg_costs, self._cut_costs(),
                                  start=self._bg_state if resume else None, return_state=True,
                                  settle=JOIN_SETTLE_FRAMES, seams=self._seams,
                                  end_cost=self._end_cost(self.cfg.bg_costs.jump, self._seams))
        # mouth: the target's mouth shape, from a frame posed like the chosen background
        mouth = self.mouths.choose(motion, pool[bg][:, HEAD_ROTATION], resume=resume, settle=JOIN_SETTLE_FRAMES,
                                   end_cost=self._end_cost(self.cfg.mouth_costs.jump, None))
        self._bg_state = bg_end
        self.last_paths = (bg, mouth)
        return bg, mouth

    @property
    def last_want(self) -> np.ndarray | None:
        """The lip gap the last ``plan`` asked for, per output frame."""
        return self.mouths.last_want

    @property
    def last_shift(self) -> np.ndarray | None:
        """The jaw warp of the last ``plan``, per output frame (face heights)."""
        return self.mouths.last_shift

    @functools.cached_property
    def _cut_cost_matrix(self) -> np.ndarray | None:
        return self._compute_cut_costs()

    def _cut_costs(self) -> np.ndarray | None:
        return self._cut_cost_matrix

    def _end_cost(self, cut: float, seams: np.ndarray | None) -> np.ndarray:
        """(2, N): a cut's cost on the end states with less than ``2 * JOIN_SETTLE_FRAMES`` frames
        to play on before the clip's end or a seam, in their direction. A piece's path otherwise
        ended wherever was best for its last frame — at the clip's end, or heading into a seam —
        and the next piece had to cut right after the join (on 2 of 3 joins of a GRID template)."""
        n = self.pool.n
        wall = np.zeros(n + 1, dtype=bool)
        wall[0] = wall[n] = True  # wall[i]: nothing plays on between frame i-1 and i
        if seams is not None:
            wall[1:n] |= seams > 0
        idx = np.arange(n)
        walls = np.flatnonzero(wall)
        ahead = walls[np.searchsorted(walls, idx + 1)] - 1 - idx  # frames left playing forwards
        behind = idx - walls[np.searchsorted(walls, idx, side="right") - 1]
        room = 2 * JOIN_SETTLE_FRAMES
        return np.stack([np.where(ahead < room, cut, 0.0), np.where(behind < room, cut, 0.0)])

    @functools.cached_property
    def _seams(self) -> np.ndarray | None:
        """(N-1,) extra cost of playing from frame i to i+1: a cut's where the source itself cuts
        (``ReferenceFeatures.cuts``, which the pipeline fills in for a template analysed before they
        were stored). Playing through such a seam looked free to the paths and showed as a jump; now
        it costs what a cut there costs."""
        n = self.pool.n
        if n < 3:
            return None
        seam = np.zeros(n - 1, dtype=bool)
        seam[[c - 1 for c in self.feats.cuts or [] if 0 < c < n]] = True
        if not seam.any():
            return None
        extra = self._cut_costs()
        idx = np.arange(n - 1)
        cost = self.cfg.bg_costs.jump + (extra[idx, idx + 1] if extra is not None else 0.0)
        return np.where(seam, cost, 0.0)

    def _compute_cut_costs(self) -> np.ndarray | None:
        """(N, N) cost of cutting the background from frame i to frame j: how far the head jumps,
        in units of the clip's own brisk frame-to-frame motion (its 95th percentile), so a cut
        lands where the head is where it was and shows least."""
        if self.cfg.cut_weight <= 0 or self.pool.n < 3:
            return None
        lm = self.pool.landmarks[:, list(STABLE)] / self._face_h[:, None, None]
        flat = lm.reshape(lm.shape[0], -1)
        k = lm.shape[1]
        jump = np.sqrt(sq_distance(flat, flat, np.ones(flat.shape[1])) / k)
        step = np.sqrt(((flat[1:] - flat[:-1]) ** 2).sum(1) / k)
        natural = max(float(np.percentile(step, 95)), 1e-4)
        return self.cfg.cut_weight * jump / natural

    # -- drawing ------------------------------------------------------------------------------
    def _composite(self, j: int, k: int, shift: float = 0.0) -> np.ndarray:
        if k == j and abs(shift) < 1e-4:
            return np.array(self.pool.frames[j])
        return self.mouths.paint(self.pool.frames[j], self.pool.landmarks[j], float(self._face_h[j]), k, shift)

    def _crop(self, frame: np.ndarray, center: np.ndarray, side: float, px: int) -> np.ndarray:
        import cv2

        s = px / side
        M = np.array([[s, 0, px / 2 - s * center[0]], [0, s, px / 2 - s * center[1]]])
        return cv2.warpAffine(frame, M, (px, px), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def render(self, motion: np.ndarray, *, resume: bool = False) -> Iterator[np.ndarray]:
        """One frame per motion row; ``resume``: this motion continues the last ``render``'s (a video
        made in pieces), so the frame paths, the crop's size and its smoothed centre go on from there."""
        bg, mouth = self.plan(np.asarray(motion, dtype=np.float64), resume=resume)
        if not self.cfg.paste_back:
            lm = self.pool.landmarks[bg]
            raw = (lm[:, NOSE_BRIDGE] * 0.4 + lm[:, CHIN] * 0.6)
            k = 9
            kern = np.ones(k) / k
            before = self._centers_tail if resume and self._centers_tail is not None else None
            centers = []
            for d in (0, 1):
                col = np.pad(raw[:, d], k // 2, mode="edge")
                if before is not None:
                    col[: k // 2] = before[-(k // 2):, d]
                centers.append(np.convolve(col, kern, "valid"))
            centers = np.stack(centers, 1)
            self._centers_tail = np.concatenate([before, raw])[-(k // 2):] if before is not None else raw[-(k // 2):]
            if self._crop_side is None or not resume:
                self._crop_side = float(np.median(self._face_h[bg])) * CROP_FACE_HEIGHTS
            side = self._crop_side
            px = self._crop_px
        for t, (j, k) in enumerate(zip(bg, mouth, strict=True)):
            frame = self._composite(int(j), int(k), float(self.last_shift[t]))
            if self.cfg.paste_back:
                yield frame
            else:
                yield self._crop(frame, centers[t], side, px)

