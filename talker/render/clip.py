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
    FOREHEAD,
    LOWER_INNER_LIP,
    LOWER_OVAL,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    NOSE_BOTTOM,
    NOSE_BRIDGE,
    STABLE,
    UPPER_INNER_LIP,
)
from .base import RenderConfig, even_size
from .select import PathCosts, sq_distance, viterbi_path

# Mouth channels and how much each counts when picking a mouth frame.
MOUTH_WEIGHTS = {
    "jawOpen": 3.0, "mouthClose": 2.0, "mouthPressLeft": 1.0, "mouthPressRight": 1.0,
    "mouthFunnel": 1.5, "mouthPucker": 1.5, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8,
    "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5, "mouthRollLower": 1.0, "mouthRollUpper": 1.0,
    "mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0, "mouthUpperUpLeft": 0.7, "mouthUpperUpRight": 0.7,
}
MOUTH_IDX = np.array([index(n) for n in MOUTH_WEIGHTS])
MOUTH_W = np.array(list(MOUTH_WEIGHTS.values()))
BLINK_IDX = np.array([index("eyeBlinkLeft"), index("eyeBlinkRight")])
BROW_IDX = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES) if n.startswith("brow")])


@dataclass
class ClipRenderConfig(RenderConfig):
    pool_seconds: float = 20.0  # how much of the reference is kept as frames to draw from
    bg_costs: PathCosts = field(default_factory=lambda: PathCosts(backward=0.1, turn=1.5, hold=0.8, jump=6.0))
    mouth_costs: PathCosts = field(default_factory=lambda: PathCosts(backward=0.05, turn=0.3, hold=0.1, jump=0.2))
    # prefer backgrounds with a closed mouth (less to cover); stronger than this, the closed-mouth
    # frames (often the still ones) were chosen so often that head motion fell to 0.74× the clip's
    background_jaw_weight: float = 0.25
    cut_weight: float = 1.0  # extra cost of a background cut per "natural frame step" the head jumps
    # prefer mouth frames posed like the background: a lower face from another head pose drags the
    # face's apparent pose toward its own (at 0.1 the tracked output's head moved 0.59× the clip's)
    mouth_pose_weight: float = 1.0
    gap_weight: float = 6.0  # how much the visible lip gap counts in the mouth choice
    # share of the difference between the asked-for and the chosen frame's lip gap that the jaw
    # warp makes up, and the most it moves (face heights); lips shut in the chosen frame stay shut
    gap_correction: float = 1.0
    max_gap_shift: float = 0.03
    feather: float = 0.07  # mask blur, in face heights
    chin_margin: float = 0.10  # mask reaches this far below the chin, in face heights


# A piece of a video made in pieces starts by playing the source on from where the last piece
# stopped, for this many frames, before any cut: the join falls in a pause shared by both pieces,
# and without it the paths cut at 2 of 3 joins on a GRID template (a frame step of 8-10 grey
# levels where the reference's own 95th percentile is 2.5).
JOIN_SETTLE_FRAMES = 3
# a frame step this many times the source's own 95th percentile (and at least SEAM_MIN_GREY grey
# levels, subsampled) is a cut inside the source: GRID templates' seams are 3-4x theirs
SEAM_STEPS = 2.5
SEAM_MIN_GREY = 4.0
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
        self._mouth_scale = m[:, MOUTH_IDX].std(0) + 0.02
        self._rot_scale = m[:, HEAD_ROTATION].std(0) + np.radians(0.5)
        self._tr_scale = m[:, HEAD_TRANSLATION].std(0) + 0.3
        lm = self.pool.landmarks
        self._face_h = np.linalg.norm(lm[:, CHIN] - lm[:, FOREHEAD], axis=1)
        self.last_paths: tuple[np.ndarray, np.ndarray] | None = None
        self.last_shift: np.ndarray | None = None
        self.last_want: np.ndarray | None = None  # the lip gap asked for, per output frame
        # The lip gap each pool frame shows (``pool.gap``), so the mouth choice honours what people
        # see (are the lips apart?) and not only blendshape numbers. Which gap a jaw target asks for
        # comes from the speaker's own gaps while speaking: their mean, spread and range
        # (``_gap_for_jaw``). A line fitted from the pool's jawOpen to its gap was tried first: for a
        # speaker whose jawOpen hardly moves (0.005-0.056 on one clip) it put the lips 0.03 face heights
        # apart at rest, so outside /p b m/ the mouth never closed as the speaker's does.
        gap = self.pool.gap
        jaw = m[:, index("jawOpen")]
        speaking = feats.speaking[: self.pool.n]
        self._speaking_gaps = np.sort(gap[speaking] if speaking.sum() >= 20 else gap)
        self._gap_sd = float(gap.std()) + 1e-3
        self._jaw_rest = float(np.percentile(jaw, 10))
        self._shut_gap = float(np.percentile(gap, 12))
        self._closed_gap = float(np.percentile(gap, 3))
        # where the last piece of a video made in pieces ended (``render(..., resume=True)``)
        self._bg_state: tuple[int, int] | None = None
        self._mouth_state: tuple[int, int] | None = None
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
        unary = sq_distance(motion[:, cols] / scale, pool[:, cols] / scale, np.ones(cols.size))
        jaw = pool[:, index("jawOpen")]
        unary = unary / cols.size + self.cfg.background_jaw_weight * (jaw / (jaw.max() + 1e-6))[None, :]
        bg, bg_end = viterbi_path(unary, self.cfg.bg_costs, self._cut_costs(),
                                  start=self._bg_state if resume else None, return_state=True,
                                  settle=JOIN_SETTLE_FRAMES, seams=self._seams,
                                  end_cost=self._end_cost(self.cfg.bg_costs.jump, self._seams))
        # mouth: the target's mouth shape, from a frame posed like the chosen background
        mu = sq_distance(motion[:, MOUTH_IDX] / self._mouth_scale, pool[:, MOUTH_IDX] / self._mouth_scale, MOUTH_W)
        mu /= MOUTH_W.sum()
        jaw_t = motion[:, index("jawOpen")]
        want = self._gap_for_jaw(jaw_t)
        # a closure asked for (jaw at the speaker's rest) must be a closure shown
        shut = jaw_t <= self._jaw_rest
        want[shut] = np.minimum(want[shut], self._closed_gap)
        mu += self.cfg.gap_weight * ((want[:, None] - self.pool.gap[None, :]) / self._gap_sd) ** 2
        mu[shut] += self.cfg.gap_weight * 4 * (self.pool.gap[None, :] > self._shut_gap)
        rot = pool[:, HEAD_ROTATION] / self._rot_scale
        pose = ((rot[bg][:, None, :] - rot[None, :, :]) ** 2).sum(-1)
        mouth, mouth_end = viterbi_path(mu + self.cfg.mouth_pose_weight * pose, self.cfg.mouth_costs,
                                        start=self._mouth_state if resume else None, return_state=True,
                                        settle=JOIN_SETTLE_FRAMES,
                                        end_cost=self._end_cost(self.cfg.mouth_costs.jump, None))
        self._bg_state, self._mouth_state = bg_end, mouth_end
        self.last_paths = (bg, mouth)
        self.last_want = want
        self.last_shift = self._gap_shift(want, mouth)
        return bg, mouth

    def _gap_for_jaw(self, jaw: np.ndarray) -> np.ndarray:
        """Jaw target → lip gap: a straight line through the speaker's mean speaking gap with the
        speaker's spread, clipped to the gaps the speaker shows. So the output opens as wide and
        varies as much as the speaker does, whatever scale the motion code's jawOpen has, and
        each opening keeps the shape the motion gave it. A quantile map (the q-th ranked jaw shows
        the speaker's q-quantile gap) was used before: it forced this utterance into the
        speaker's histogram, and for a speaker whose gaps bunch near wide open it flattened every
        vowel to one width — on the suit clip lip sync against the phones fell from r 0.55 to
        0.48. A held jaw is a held mouth."""
        jaw = np.asarray(jaw, dtype=np.float64)
        gaps = self._speaking_gaps
        if jaw.size == 0 or gaps.size == 0:
            return jaw.copy()
        lo, hi, mean, sd = float(gaps[0]), float(gaps[-1]), float(gaps.mean()), float(gaps.std())
        spread = float(jaw.std())
        if spread < 1e-9:
            return np.full(jaw.shape, mean)
        z = (jaw - jaw.mean()) / spread
        # clipping to the speaker's range narrows the spread: widen the line until it is back
        k = 1.0
        for _ in range(20):
            got = float(np.clip(mean + k * sd * z, lo, hi).std())
            if got < 1e-12 or abs(got - sd) < 1e-3 * sd:
                break
            k = min(k * sd / got, 4.0)
        return np.clip(mean + k * sd * z, lo, hi)

    def _gap_shift(self, want: np.ndarray, mouth: np.ndarray) -> np.ndarray:
        """Per output frame, how far (face heights) to move the chosen mouth's lower lip down
        (+) or up (−) so its gap is the one asked for. Shut lips are left shut (moving a closed
        lower lip would stretch skin, not open a mouth); a gap is never closed by more than half,
        which would push lip into lip, nor stretched by more than 60 %, past which the warp folds."""
        have = self.pool.gap[mouth]
        d = self.cfg.gap_correction * (want - have)
        cap = self.cfg.max_gap_shift
        d = np.clip(d, np.maximum(-0.5 * have, -cap), np.minimum(0.6 * have, cap))
        d[have <= self._shut_gap] = 0.0
        return d

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
        (a template made of several clips: the GRID ones join three sentences, with frame steps of
        7-11 grey levels where their 95th percentile is 2.5). Playing through such a seam looked
        free to the paths and showed as a jump; now it costs what a cut there costs."""
        frames = self.pool.frames
        if self.pool.n < 3:
            return None
        small = np.asarray(frames[:, ::8, ::8], dtype=np.float32)
        step = np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3))
        seam = step > max(SEAM_STEPS * float(np.percentile(step, 95)), SEAM_MIN_GREY)
        if not seam.any():
            return None
        extra = self._cut_costs()
        idx = np.arange(self.pool.n - 1)
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
    def _polygon(self, lm: np.ndarray, face_h: float) -> np.ndarray:
        pts = lm[list(LOWER_OVAL)].copy()
        # push the chin part down so a lower chin in the background is covered too
        chin_y = lm[CHIN, 1]
        below = pts[:, 1] > lm[NOSE_BOTTOM, 1]
        weight = np.clip((pts[:, 1] - lm[NOSE_BOTTOM, 1]) / max(chin_y - lm[NOSE_BOTTOM, 1], 1.0), 0, 1)
        pts[below, 1] += self.cfg.chin_margin * face_h * weight[below]
        return pts

    def _composite(self, j: int, k: int, shift: float = 0.0) -> np.ndarray:
        import cv2

        base = self.pool.frames[j]
        if k == j and abs(shift) < 1e-4:
            return np.array(base)
        lm_j, lm_k = self.pool.landmarks[j], self.pool.landmarks[k]
        A, _ = cv2.estimateAffinePartial2D(lm_k[list(STABLE)], lm_j[list(STABLE)], method=cv2.LMEDS)
        if A is None:
            return np.array(base)
        face_h = float(self._face_h[j])
        poly_k = self._polygon(lm_k, face_h) @ A[:, :2].T + A[:, 2]
        poly_j = self._polygon(lm_j, face_h)
        both = np.vstack([poly_k, poly_j])
        pad = int(self.cfg.feather * face_h * 2) + 2
        H, W = base.shape[:2]
        x0, y0 = np.maximum(np.floor(both.min(0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(both.max(0)).astype(int) + pad, [W, H])
        if x1 <= x0 or y1 <= y0:
            return np.array(base)
        to_roi = np.array([[1, 0, -x0], [0, 1, -y0]], dtype=np.float64)
        A_roi = to_roi @ np.vstack([A, [0, 0, 1]])
        if abs(shift) * face_h < 0.25:  # under a quarter pixel: the plain affine
            patch = cv2.warpAffine(np.asarray(self.pool.frames[k]), A_roi, (x1 - x0, y1 - y0),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        else:
            lm_roi = lm_k[:, :2] @ A[:, :2].T + A[:, 2] - [x0, y0]
            mx, my = self._jaw_maps(lm_roi, shift * face_h, face_h, (y1 - y0, x1 - x0))
            inv = cv2.invertAffineTransform(A_roi)
            src_x = inv[0, 0] * mx + inv[0, 1] * my + inv[0, 2]
            src_y = inv[1, 0] * mx + inv[1, 1] * my + inv[1, 2]
            patch = cv2.remap(np.asarray(self.pool.frames[k]), src_x.astype(np.float32), src_y.astype(np.float32),
                              cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        off = np.array([x0, y0])
        cv2.fillPoly(mask, [np.round(poly_k - off).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        cv2.fillPoly(mask, [np.round(poly_j - off).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        ksize = max(3, int(self.cfg.feather * face_h) | 1)
        mask = cv2.GaussianBlur(mask, (ksize, ksize), 0)[..., None]
        out = np.array(base)
        roi = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = (roi + mask * (patch.astype(np.float32) - roi) + 0.5).astype(np.uint8)
        return out

    @staticmethod
    def _jaw_maps(lm: np.ndarray, dy: float, face_h: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Backward maps that move the lower lip, chin and jaw down by ``dy`` pixels (up if
        negative): nothing moves above the upper inner lip, the gap between the lips stretches
        (or shrinks) evenly, everything from the lower lip to the chin moves by ``dy``, and the
        move fades out below the chin and towards the cheeks."""
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        top, bottom = float(lm[UPPER_INNER_LIP, 1]), float(lm[LOWER_INNER_LIP, 1])
        chin = float(lm[CHIN, 1])
        # vertical profile: 0 above the upper lip, ramps to 1 across the gap, 1 down to the chin,
        # fades to 0 over a fifth of the face below it
        ramp = np.clip((ys - top) / max(bottom - top, 1.0), 0.0, 1.0)
        fade = np.clip(1.0 - (ys - chin) / (0.2 * face_h), 0.0, 1.0)
        prof = ramp * fade
        # horizontal: full across the mouth, fading to 0 over a third of the face outside it
        cx = 0.5 * float(lm[MOUTH_LEFT, 0] + lm[MOUTH_RIGHT, 0])
        half = 0.5 * abs(float(lm[MOUTH_LEFT, 0] - lm[MOUTH_RIGHT, 0]))
        across = np.clip(1.0 - (np.abs(xs - cx) - half) / (0.33 * face_h), 0.0, 1.0)
        weight = prof * across
        weight = weight * weight * (3.0 - 2.0 * weight)  # smoothstep: no kink at the edges
        return xs, ys - dy * weight

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

