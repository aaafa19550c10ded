"""Animate a single portrait photo from motion codes, with classic 2-D warps (no neural model).

How a frame is made, relative to the photo's own tracked motion row (its neutral state):

1. The 478 face-mesh landmarks are moved: expression displacements in the face's own 2-D
   frame (jaw rotation, lip shapes, lip closure, blinks, brows), then the head's change of
   pose as a 3-D rotation of the landmarks (their depth gives real parallax: the nose swings
   further than the cheeks), translation and scale.
2. One piecewise-affine warp over the face mesh, plus two rings of anchors around the face
   (an inner ring that moves with the head, over the hair and neck, and an outer ring that
   stays), redraws the head while the background stays put; the band between the rings is
   the feather. The mesh's mouth and eye holes are painted *under* the skin, so lips and
   lids that close occlude the teeth and eyeballs instead of squashing them.
3. A synthesised mouth interior fills the lip gap (``mouth_interior``); closed eyelids are
   re-coloured with the lid's skin tone and get a lash line.

Mouth aperture is not purely relative: a photo with parted lips (the astronaut smiles with
teeth showing) must still close fully for /p b m/. The commanded lip closure (mouthClose,
mouthPress, mouthRoll above the photo's own values) scales the lip gap toward zero, and a gap
never goes negative, so the lips meet exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..media import decode
from ..motion import code
from ..reference.features import ReferenceFeatures
from ..tracking.geometry import euler_to_rotation
from ..tracking.landmarks import (
    CHIN,
    FACE_SIDES,
    FOREHEAD,
    INNER_LOWER,
    INNER_UPPER,
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_OUTER,
    LEFT_EYE_UPPER,
    LEFT_LID_RINGS,
    LEFT_LOWER_RING,
    LOWER_INNER_LIP,
    MOUTH_INNER_LEFT,
    MOUTH_INNER_RIGHT,
    NOSE_TIP,
    OUTER_LOWER,
    OUTER_UPPER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_OUTER,
    RIGHT_EYE_UPPER,
    RIGHT_LID_RINGS,
    RIGHT_LOWER_RING,
    UPPER_INNER_LIP,
)
from .base import RenderConfig, even_size
from .mouth_interior import MouthInterior
from .warp import TriangleWarp, clip_roi, ring_triangles, strip_triangles

# --- expression gains, in face heights (forehead 10 to chin 152) per unit of blendshape -----
JAW_DROP = 0.20          # chin drop at jawOpen = 1
SMILE = (0.050, -0.035)  # corner (outward, up)
STRETCH = (0.040, 0.015)
FROWN = 0.030
DIMPLE = 0.020
PUCKER_IN = 0.070
FUNNEL_IN, FUNNEL_OPEN = 0.040, 0.030
UPPER_UP, LOWER_DOWN = 0.035, 0.035
MOUTH_SHIFT = 0.040
BROW_INNER_UP, BROW_DOWN, BROW_OUTER_UP = 0.035, 0.025, 0.030
LIP_SPREAD = 0.09        # how far lip motion drags the skin around it (Gaussian sigma)
CLOSE_SPREAD = 0.06
CLOSE_GAIN, PRESS_GAIN, ROLL_GAIN = 6.0, 5.0, 3.0  # lip closure per unit rise over the photo
BLINK_FULL = 0.55        # eyeBlink rise above the photo's that shuts the eye completely


_MOUTH_RING = np.array(OUTER_UPPER + OUTER_LOWER)
_RIGHT_EYE_RING = np.array(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + RIGHT_LID_RINGS[0])
_LEFT_EYE_RING = np.array(LEFT_EYE_UPPER + LEFT_EYE_LOWER + LEFT_LID_RINGS[0])


def _smoothstep(e0, e1, x):
    t = np.clip((np.asarray(x, np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _face_triangles() -> np.ndarray:
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    adj: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = set()
    for a, b in FACEMESH_TESSELATION:
        for c in adj[a] & adj[b]:
            tris.add(tuple(sorted((a, b, c))))
    return np.array(sorted(tris), dtype=np.int64)


def _oval_cycle() -> list[int]:
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_FACE_OVAL

    nxt: dict[int, list[int]] = {}
    for a, b in FACEMESH_FACE_OVAL:
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    cycle, prev, cur = [FOREHEAD], None, FOREHEAD
    while True:
        a, b = nxt[cur]
        step = a if a != prev else b
        if step == FOREHEAD:
            return cycle
        cycle.append(step)
        prev, cur = cur, step


def _frame_info(info: dict, k: int) -> dict:
    """Frame ``k`` of :meth:`PhotoRenderer.expression_offsets_batch`'s ``info``, as one frame's dict."""
    return {"blink": [float(v) for v in info["blink"][k]], "jaw": float(info["jaw"][k]),
            "closure": float(info["closure"][k])}


class PhotoRenderer:
    """Renderer for a still portrait (``features.kind == "image"``); see the module docstring."""

    name = "photo"

    def __init__(self, features: ReferenceFeatures, image_path: str | Path, config: RenderConfig | None = None) -> None:
        self.config = config or RenderConfig()
        self.features = features
        photo = decode.read_image(image_path)
        lm = np.asarray(features.landmarks[0], np.float64).copy()
        fw, fh = features.frame_size
        if (photo.shape[1], photo.shape[0]) != (fw, fh) and fw and fh:
            k = photo.shape[1] / fw
            lm *= k  # features of a resized copy of the same photo
        self.neutral = np.asarray(features.motion[0], np.float64)
        self.canvas, self.lm = self._make_canvas(photo, lm)
        self._setup_geometry()
        self._setup_mesh()
        self.mouth = MouthInterior(self.canvas, self.lm[:, :2])
        self._setup_eyes()

    # ---------------------------------------------------------------------------------- setup
    def _make_canvas(self, photo: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The image we draw on (output resolution) and the landmarks in its pixels."""
        h, w = photo.shape[:2]
        cfg = self.config
        if cfg.paste_back:
            ow, oh = even_size(w, h, cfg.max_side)
            sx, sy = ow / w, oh / h
            interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_CUBIC
            canvas = cv2.resize(photo, (ow, oh), interpolation=interp) if (ow, oh) != (w, h) else photo.copy()
            out = lm.copy()
            out[:, 0] *= sx
            out[:, 1] *= sy
            out[:, 2] *= sx
            return canvas, out
        size = int(cfg.crop_size) // 2 * 2
        face_h = float(np.linalg.norm(lm[CHIN, :2] - lm[FOREHEAD, :2]))
        eyes = 0.5 * (lm[RIGHT_EYE_OUTER, :2] + lm[LEFT_EYE_OUTER, :2])
        side = 2.0 * face_h
        cx, cy = eyes[0], eyes[1] + 0.22 * face_h
        k = size / side
        src = photo
        if k < 0.5:  # pre-shrink so the affine resample does not alias
            f = max(1, int(1 / (2 * k)))
            src = cv2.resize(photo, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
            sxf, syf = src.shape[1] / w, src.shape[0] / h
        else:
            sxf = syf = 1.0
        m = np.array([[k / sxf, 0, size / 2 - k * cx], [0, k / syf, size / 2 - k * cy]])
        canvas = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_CUBIC if k > 1 else cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        out = lm.copy()
        out[:, 0] = k * lm[:, 0] + size / 2 - k * cx
        out[:, 1] = k * lm[:, 1] + size / 2 - k * cy
        out[:, 2] = k * lm[:, 2]
        return canvas, out

    def _setup_geometry(self) -> None:
        """The face frame and every per-landmark weight the expressions and the head pose use."""
        p = self._setup_face_frame()
        upper_y, lower_y = self._setup_lip_regions(p)
        self._setup_jaw(p)
        self._setup_lip_thickness(p, upper_y, lower_y)
        self._setup_lip_pairs()
        self._setup_brows(p)
        self._setup_pose()

    def _setup_face_frame(self) -> np.ndarray:
        """Face axes (``ex`` along the eyes, ``ey`` down), height and mouth origin; returns the
        landmarks in face units (``self.P``)."""
        lm2 = self.lm[:, :2]
        ex = lm2[LEFT_EYE_OUTER] - lm2[RIGHT_EYE_OUTER]
        ex /= max(np.linalg.norm(ex), 1e-6)
        self.ex, self.ey = ex, np.array([-ex[1], ex[0]])
        self.h = float(np.linalg.norm(lm2[CHIN] - lm2[FOREHEAD]))
        self.origin = 0.5 * (lm2[UPPER_INNER_LIP] + lm2[LOWER_INNER_LIP])
        rel = lm2 - self.origin
        p = np.stack([rel @ self.ex, rel @ self.ey], axis=1) / self.h  # face units, y down
        self.P = p
        return p

    def _setup_lip_regions(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position along the mouth (``u``), side of the lip line, distance from the lips (``e``) and
        the lip-motion spreads; returns the inner upper and lower lip heights at every landmark's x."""
        iu, il = p[list(INNER_UPPER)], p[list(INNER_LOWER)]
        self.mouth_mid_x = 0.5 * (p[MOUTH_INNER_RIGHT, 0] + p[MOUTH_INNER_LEFT, 0])
        self.mouth_half = max(0.5 * (p[MOUTH_INNER_LEFT, 0] - p[MOUTH_INNER_RIGHT, 0]), 1e-3)
        xs = 0.5 * (iu[:, 0] + il[:, 0])
        order = np.argsort(xs)
        mid_y = 0.5 * (iu[:, 1] + il[:, 1])
        upper_y = np.interp(p[:, 0], np.sort(iu[:, 0]), iu[np.argsort(iu[:, 0]), 1])
        lower_y = np.interp(p[:, 0], np.sort(il[:, 0]), il[np.argsort(il[:, 0]), 1])
        d = p[:, 1] - np.interp(p[:, 0], xs[order], mid_y[order])
        u = (p[:, 0] - self.mouth_mid_x) / self.mouth_half
        self.u, self.d = u, d
        side = d < 0
        side[list(INNER_UPPER[1:-1]) + list(OUTER_UPPER[1:-1])] = True  # by identity: a closed mouth's
        side[list(INNER_LOWER[1:-1]) + list(OUTER_LOWER[1:-1])] = False  # contours touch or cross
        self.upper_side = side
        corner = np.where(u > 0, MOUTH_INNER_LEFT, MOUTH_INNER_RIGHT)
        dist_corner = np.linalg.norm(p - p[corner], axis=1)
        e = np.where(self.upper_side, upper_y - p[:, 1], p[:, 1] - lower_y)
        e = np.where(np.abs(u) <= 1.0, np.maximum(e, 0.0), dist_corner)
        self.e = e
        self.lip_spread = np.exp(-(e / LIP_SPREAD) ** 2)
        self.close_spread = np.exp(-(e / CLOSE_SPREAD) ** 2) * (np.abs(u) <= 1.0)
        return upper_y, lower_y

    def _setup_jaw(self, p: np.ndarray) -> None:
        """How far each landmark follows the jaw (``jaw_w``)."""
        u, d, e = self.u, self.d, self.e
        # Jaw: the mandible rotates, so the chin and lower lip drop fully, the jaw angles little,
        # the mouth corners half, the upper lip and cheeks not at all.
        ax = np.abs(p[:, 0] - self.mouth_mid_x)
        lat = 1.0 - 0.75 * _smoothstep(0.18, 0.5, ax)
        au = np.abs(u)
        inside = au < 1.0
        wv_out = _smoothstep(-0.04, 0.04, d)
        wv_low = np.maximum(1.0 - 0.5 * _smoothstep(0.5, 1.0, au), wv_out)
        wv_up = 0.5 * _smoothstep(0.5, 1.0, au) * np.exp(-(e / 0.05) ** 2)
        wv = np.where(inside, np.where(self.upper_side, wv_up, wv_low), wv_out)
        # Nothing above the nose tip follows the jaw, whatever the geometry says.
        wv *= _smoothstep(p[NOSE_TIP, 1] - 0.02, p[NOSE_TIP, 1] + 0.06, p[:, 1])
        self.jaw_w = lat * wv

    def _setup_lip_thickness(self, p: np.ndarray, upper_y: np.ndarray, lower_y: np.ndarray) -> None:
        """Lip thickness (for press / roll thinning): inner-to-outer contour distance per column."""
        ou, ol = p[list(OUTER_UPPER)], p[list(OUTER_LOWER)]
        thick_u = np.interp(p[:, 0], np.sort(ou[:, 0]), ou[np.argsort(ou[:, 0]), 1])
        thick_l = np.interp(p[:, 0], np.sort(ol[:, 0]), ol[np.argsort(ol[:, 0]), 1])
        thick = np.where(self.upper_side, upper_y - thick_u, thick_l - lower_y)
        self.thick = np.maximum(thick, 1e-3)

    def _setup_lip_pairs(self) -> None:
        """Inner-lip pairs across the gap (upper, lower), corners excluded, and the matrix that
        spreads a value per pair along the mouth."""
        u = self.u
        self.pairs_u = np.array(INNER_UPPER[1:-1])
        self.pairs_l = np.array(INNER_LOWER[1:-1])
        self.pair_pos = u[self.pairs_u]
        # np.interp(clip(u), [-1, pair_pos, 1], [0, values, 0]) as a matrix: (478, pairs)
        xs = np.concatenate([[-1.0], self.pair_pos, [1.0]])
        basis = np.eye(len(xs))
        self._pair_interp = np.stack([np.interp(np.clip(u, -1, 1), xs, basis[j]) for j in range(len(xs))], 1)[:, 1:-1]

    def _setup_brows(self, p: np.ndarray) -> None:
        """Brows: control points and their neighbourhoods (eyelid margins excluded)."""
        brow_ctrl, brow_kind = [], []
        for side, brow in (("R", RIGHT_BROW), ("L", LEFT_BROW)):
            for kind, idx in brow.items():
                for i in idx:
                    brow_ctrl.append(i)
                    brow_kind.append((side, kind))
        self.brow_ctrl = np.array(brow_ctrl)
        self.brow_kind = brow_kind
        dist = np.linalg.norm(p[:, None, :] - p[self.brow_ctrl][None], axis=2)
        wb = np.exp(-(dist / 0.07) ** 2)
        lids = list(RIGHT_EYE_UPPER) + list(RIGHT_EYE_LOWER) + list(LEFT_EYE_UPPER) + list(LEFT_EYE_LOWER)
        lids += list(RIGHT_LOWER_RING) + list(LEFT_LOWER_RING)
        wb[lids] = 0
        wb[p[:, 1] > p[NOSE_TIP, 1]] = 0  # nothing below the nose tip
        self.brow_w = wb / np.maximum(wb.sum(1, keepdims=True), 1.0)

    def _setup_pose(self) -> None:
        """Head pose: pixels per cm, the pivot of rotation and the photo's own rotation and depth."""
        # pixels per cm from the outer eye corners (3-D, so yaw does not shrink it)
        self.px_per_cm = float(np.linalg.norm(self.lm[LEFT_EYE_OUTER] - self.lm[RIGHT_EYE_OUTER])) / 10.58
        side_pts = self.lm[list(FACE_SIDES)]
        self.pivot = np.array([side_pts[:, 0].mean(), side_pts[:, 1].mean(), side_pts[:, 2].mean()])
        n = self.neutral
        self.R0 = euler_to_rotation(*n[code.HEAD_ROTATION])
        self.z0 = float(n[code.index("headZ")])

    def _setup_mesh(self) -> None:
        lm2 = self.lm[:, :2]
        oval = _oval_cycle()
        c = lm2[oval].mean(axis=0)
        # Rings in the face frame: the inner ring covers hair, ears and upper neck and moves with
        # the head; the outer one is fixed, so the band between them is the feather.
        dirs = lm2[oval] - c
        up = -(dirs @ self.ey) / np.maximum(np.linalg.norm(dirs, axis=1), 1e-6)  # +1 at the top
        hair = np.clip(up, 0, 1)[:, None] * (-self.ey)[None] * self.h
        ring1 = c + dirs * 1.22 + 0.30 * hair
        ring2 = c + dirs * 1.65 + 0.50 * hair
        self.ring1_head_w = 1.0 - 0.45 * _smoothstep(0.3, 0.95, -up)  # the neck moves less
        self.ring1_jaw_w = 0.35 * _smoothstep(0.5, 0.95, -up)
        n_lm = self.lm.shape[0]
        eye_idx = list(dict.fromkeys(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER))
        self.eye_copy_idx = np.array(eye_idx)
        base_eye = n_lm
        base_r1 = base_eye + len(eye_idx)
        base_r2 = base_r1 + len(oval)
        remap = {i: base_eye + k for k, i in enumerate(eye_idx)}

        def copy(chain):
            return [remap[i] for i in chain]

        tris = [
            # under-layers first: mouth gap (stretched reference, painted over later), eyeballs (rigid)
            strip_triangles(INNER_UPPER, INNER_LOWER),
            strip_triangles(copy(RIGHT_EYE_UPPER), copy(RIGHT_EYE_LOWER)),
            strip_triangles(copy(LEFT_EYE_UPPER), copy(LEFT_EYE_LOWER)),
            ring_triangles(list(range(base_r1, base_r2)), list(range(base_r2, base_r2 + len(oval)))),
            ring_triangles(oval, list(range(base_r1, base_r2))),
            _face_triangles(),
        ]
        self.tris = np.concatenate(tris)
        self.oval = oval
        self.ring1, self.ring2 = ring1, ring2
        ring1_z = self.lm[oval, 2]  # same depth as the silhouette beside it, so a turn moves both alike
        self.ring1_3d = np.concatenate([ring1, ring1_z[:, None]], axis=1)
        src = np.concatenate([lm2, lm2[eye_idx], ring1, ring2])
        self.src = src
        H, W = self.canvas.shape[:2]
        pad = 2
        roi = clip_roi((ring2[:, 0].min() - pad, ring2[:, 1].min() - pad, ring2[:, 0].max() + pad,
                        ring2[:, 1].max() + pad), W, H)
        # a coarse grid where the map is smooth; the mouth and eyes are re-done at full resolution
        step = 1 if (roi[2] - roi[0]) * (roi[3] - roi[1]) < 60000 else 2
        self.warp = TriangleWarp(src, self.tris, roi, step=step)

    def _setup_eyes(self) -> None:
        img = self.canvas.astype(np.float32) / 255.0
        lm2 = self.lm[:, :2]
        self.eyes = []
        for upper, lower, rings, low_ring in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_LID_RINGS, RIGHT_LOWER_RING),
                                              (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_LID_RINGS, LEFT_LOWER_RING)):
            band = np.concatenate([lm2[list(rings[0])], lm2[list(rings[1])][::-1]])
            m = np.zeros(img.shape[:2], np.uint8)
            cv2.fillPoly(m, [np.round(band).astype(np.int32)], 1)
            px = img[m > 0]
            if len(px) < 4:
                x, y = np.round(lm2[rings[1][3]]).astype(int)
                px = img[max(0, y - 2):y + 3, max(0, x - 2):x + 3].reshape(-1, 3)
            lum = px @ np.array([0.299, 0.587, 0.114])
            skin = np.median(px[lum >= np.percentile(lum, 40)], axis=0)
            ring_px = self._band_pixels(img, lm2[list(upper)], lm2[list(rings[0])])
            lash = np.percentile(ring_px, 8, axis=0) * 0.85 if len(ring_px) > 4 else skin * 0.35
            width = float(np.linalg.norm(lm2[upper[0]] - lm2[upper[-1]]))
            self.eyes.append({"upper": upper, "lower": lower, "rings": rings, "low_ring": low_ring,
                              "skin": skin, "lash": lash, "width": width})

    @staticmethod
    def _band_pixels(img: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        m = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(m, [np.round(np.concatenate([lower, upper[::-1]])).astype(np.int32)], 1)
        return img[m > 0]

    # ------------------------------------------------------------------------------- geometry
    @property
    def output_size(self) -> tuple[int, int]:
        return self.canvas.shape[1], self.canvas.shape[0]

    def expression_offsets(self, row: np.ndarray) -> tuple[np.ndarray, dict]:
        """(478, 2) landmark offsets in face units (x right, y down) for one motion row."""
        off, info = self.expression_offsets_batch(np.asarray(row, np.float64)[None])
        return off[0], _frame_info(info, 0)

    def expression_offsets_batch(self, rows: np.ndarray) -> tuple[np.ndarray, dict]:
        """(T, 478, 2) offsets for T motion rows at once.

        Vectorised over frames because per frame it is a hundred small array operations on 478
        points, where numpy's call overhead, not arithmetic, was a quarter of a frame's render.
        ``info``: ``blink`` (T, 2) per eye (right, left), ``jaw`` and ``closure`` (T,).
        """
        rows = np.asarray(rows, np.float64)
        T = rows.shape[0]
        delta_all = rows - self.neutral[None]
        b = lambda n: delta_all[:, code.index(n), None]  # noqa: E731 - (T, 1) change from the photo's own value
        pos = lambda n: np.maximum(0.0, b(n))  # noqa: E731
        dx = np.zeros((T, len(self.P)))
        dy = np.zeros((T, len(self.P)))

        lips_x, lips_y = self._lip_shape_offsets(b)
        dx += lips_x
        dy += lips_y
        press = 0.5 * (pos("mouthPressLeft") + pos("mouthPressRight"))
        roll_u, roll_l = pos("mouthRollUpper"), pos("mouthRollLower")
        dy += self._lip_thinning_offsets(press, roll_u, roll_l)

        # Jaw.
        jaw = JAW_DROP * b("jawOpen")
        dy += jaw * self.jaw_w

        # Lip closure: shrink every inner gap toward zero; gaps never go negative.
        # Gains: the viseme generator's /p b m/ on a photo gives about +0.09 mouthClose and +0.12
        # mouthPress over the photo's own values; that must shut the lips completely.
        closure = np.clip(CLOSE_GAIN * pos("mouthClose") + PRESS_GAIN * press
                          + ROLL_GAIN * np.maximum(roll_u, roll_l), 0.0, 1.0)
        dy += self._lip_closure_offsets(dy, closure)
        dy += self._brow_offsets(b, T)
        blinks = self._add_eyelid_offsets(dy, pos)
        info = {"blink": blinks, "jaw": jaw[:, 0], "closure": closure[:, 0]}
        return np.stack([dx, dy], axis=2), info

    def _lip_shape_offsets(self, b) -> tuple[np.ndarray, np.ndarray]:
        """(T, 478) x and y offsets of the mouth corners and lips (smile, stretch, pucker, funnel,
        upper / lower lip raise, sideways shift), spread over the skin around them; ``b(name)``
        is a blendshape's (T, 1) change from the photo's own value."""
        u = self.u
        # Corners, per side (subject's left = image right = u > 0).
        out_l = SMILE[0] * b("mouthSmileLeft") + STRETCH[0] * b("mouthStretchLeft") + DIMPLE * b("mouthDimpleLeft")
        out_r = SMILE[0] * b("mouthSmileRight") + STRETCH[0] * b("mouthStretchRight") + DIMPLE * b("mouthDimpleRight")
        inward = PUCKER_IN * b("mouthPucker") + FUNNEL_IN * b("mouthFunnel")
        out_l = out_l - inward
        out_r = out_r - inward
        up_l = SMILE[1] * b("mouthSmileLeft") + STRETCH[1] * b("mouthStretchLeft") + FROWN * b("mouthFrownLeft")
        up_r = SMILE[1] * b("mouthSmileRight") + STRETCH[1] * b("mouthStretchRight") + FROWN * b("mouthFrownRight")
        uc = np.clip(u, -1, 1)
        left = uc > 0
        cx = np.where(left, out_l, -out_r) * np.abs(uc)
        cy = np.where(left, up_l, up_r) * uc * uc
        shift = MOUTH_SHIFT * (b("mouthLeft") - b("mouthRight"))
        wl = _smoothstep(-1.0, 1.0, uc)
        wr = 1.0 - wl
        body = 1.0 - 0.7 * _smoothstep(0.7, 1.0, np.abs(uc))
        centre = 1.0 - uc * uc
        lip_up = -UPPER_UP * (b("mouthUpperUpLeft") * wl + b("mouthUpperUpRight") * wr) * body
        lip_up -= FUNNEL_OPEN * 0.5 * b("mouthFunnel") * centre + 0.01 * b("mouthPucker") * centre
        lip_lo = LOWER_DOWN * (b("mouthLowerDownLeft") * wl + b("mouthLowerDownRight") * wr) * body
        lip_lo += FUNNEL_OPEN * 0.5 * b("mouthFunnel") * centre + 0.01 * b("mouthPucker") * centre
        lips_x = (cx + shift) * self.lip_spread
        lips_y = (cy + np.where(self.upper_side, lip_up, lip_lo) * (np.abs(u) <= 1.0)) * self.lip_spread
        return lips_x, lips_y

    def _lip_thinning_offsets(self, press: np.ndarray, roll_u: np.ndarray, roll_l: np.ndarray) -> np.ndarray:
        """Lip thinning (press / roll): the outer contour slides toward the inner one. (T, 478) y offsets."""
        thin = np.where(self.upper_side, 0.30 * press + 0.55 * roll_u, 0.30 * press + 0.55 * roll_l)
        amount = np.minimum(self.e, self.thick) * np.exp(-(np.maximum(self.e - self.thick, 0) / 0.05) ** 2)
        return np.where(self.upper_side, 1.0, -1.0) * thin * amount * (np.abs(self.u) <= 1.0)

    def _lip_closure_offsets(self, dy: np.ndarray, closure: np.ndarray) -> np.ndarray:
        """(T, 478) y offsets that shrink the inner-lip gaps left by ``dy`` by ``closure`` (T, 1), never below zero."""
        P = self.P
        gu = P[self.pairs_u, 1] + dy[:, self.pairs_u]
        gl = P[self.pairs_l, 1] + dy[:, self.pairs_l]
        gap = gl - gu
        want = np.maximum(gap, 0.0) * (1.0 - closure)
        delta = want - gap  # <= 0 closes
        # interpolation along the lip is linear in its values: one weight matrix serves every frame
        corr_u = (-0.45 * delta) @ self._pair_interp.T
        corr_l = (0.55 * delta) @ self._pair_interp.T
        return np.where(self.upper_side, corr_u, corr_l) * self.close_spread

    def _brow_offsets(self, b, T: int) -> np.ndarray:
        """(T, 478) y offsets of the brows (inner / outer raise, lowering) and the skin around them."""
        lift = np.zeros((T, len(self.brow_ctrl)))
        for k, (side, kind) in enumerate(self.brow_kind):
            sd = "Left" if side == "L" else "Right"
            if kind == "inner":
                v = BROW_INNER_UP * b("browInnerUp")
            elif kind == "mid":
                v = 0.5 * BROW_INNER_UP * b("browInnerUp") + 0.5 * BROW_OUTER_UP * b(f"browOuterUp{sd}")
            else:
                v = BROW_OUTER_UP * b(f"browOuterUp{sd}")
            lift[:, k] = (v - BROW_DOWN * b(f"browDown{sd}"))[:, 0]
        return (-lift) @ self.brow_w.T

    def _add_eyelid_offsets(self, dy: np.ndarray, pos) -> np.ndarray:
        """Add the eyelids' blink and squint to ``dy`` in place; returns each eye's blink (T, 2), right then left."""
        P = self.P
        blinks = np.zeros((dy.shape[0], 2))
        for eye, name in zip((0, 1), ("Right", "Left"), strict=True):
            upper, lower, rings, low_ring = (self.eyes[eye][k] for k in ("upper", "lower", "rings", "low_ring"))
            blink = np.clip(pos(f"eyeBlink{name}") / BLINK_FULL, 0.0, 1.0)
            blink = blink * blink * (3 - 2 * blink)
            squint = np.clip(pos(f"eyeSquint{name}"), 0.0, 1.0)
            up_i, lo_i = np.array(upper[1:-1]), np.array(lower[1:-1])
            lid_gap = P[lo_i, 1] - P[up_i, 1]
            lo_move = -lid_gap * (0.10 * blink + 0.20 * squint * (1 - blink))
            up_move = np.maximum(lid_gap + lo_move - 0.02 * lid_gap, 0) * blink + 0.08 * squint * lid_gap * (1 - blink)
            dy[:, up_i] += up_move
            dy[:, lo_i] += lo_move
            dy[:, list(rings[0])] += 0.45 * up_move
            dy[:, list(rings[1])] += 0.12 * up_move
            dy[:, list(low_ring)] += 0.35 * lo_move
            blinks[:, eye] = blink[:, 0]
        return blinks

    def _pose_transform(self, row: np.ndarray):
        """Function mapping canvas 3-D points (x, y, z pixels) to their new 2-D positions."""
        rot = euler_to_rotation(*row[code.HEAD_ROTATION]) @ self.R0.T
        t = (row[code.HEAD_TRANSLATION] - self.neutral[code.HEAD_TRANSLATION]) * self.px_per_cm
        z0 = self.z0
        scale = 1.0
        if z0 < -1.0:
            scale = float(np.clip(z0 / min(z0 + t[2] / self.px_per_cm, -1.0), 0.8, 1.25))
        flip = np.array([1.0, -1.0, -1.0])  # canvas (y down, z away) <-> camera (y up, z toward)
        piv = self.pivot

        def apply(pts: np.ndarray) -> np.ndarray:
            q = (pts - piv) * flip
            q = q @ rot.T
            q = q * flip * scale + piv
            return q[:, :2] + np.array([t[0], -t[1]])

        return apply, rot

    def target_points(self, row: np.ndarray, offsets: tuple[np.ndarray, dict] | None = None) -> tuple[np.ndarray, dict]:
        """Destination of every mesh vertex for one motion row, and what was applied."""
        off, info = offsets if offsets is not None else self.expression_offsets(row)
        px = self.h * (off[:, :1] * self.ex[None] + off[:, 1:] * self.ey[None])
        moved = self.lm.copy()
        moved[:, :2] += px
        apply, _ = self._pose_transform(row)
        lm_t = apply(moved)
        eyes_t = apply(self.lm[self.eye_copy_idx])
        r1_head = apply(self.ring1_3d)
        w = self.ring1_head_w[:, None]
        r1 = self.ring1 + w * (r1_head - self.ring1)
        r1 = r1 + (self.ring1_jaw_w * info["jaw"] * self.h)[:, None] * self.ey[None]
        pts = np.concatenate([lm_t, eyes_t, r1, self.ring2])
        info["landmarks"] = lm_t
        info["eyes_rigid"] = eyes_t
        return pts, info

    # -------------------------------------------------------------------------------- drawing
    def _sharp_rects(self, lm_t: np.ndarray) -> list[tuple[float, float, float, float]]:
        """Where layers overlap (lips over the mouth gap, lids over the eyes): full-resolution maps."""
        out = []
        pad = 3
        for idx in (_MOUTH_RING, _RIGHT_EYE_RING, _LEFT_EYE_RING):
            p = lm_t[idx]
            out.append((p[:, 0].min() - pad, p[:, 1].min() - pad, p[:, 0].max() + pad, p[:, 1].max() + pad))
        return out

    def render_frame(self, row: np.ndarray, offsets: tuple[np.ndarray, dict] | None = None) -> np.ndarray:
        row = np.asarray(row, np.float64)
        pts, info = self.target_points(row, offsets)
        warped = self.warp.warp(self.canvas, pts, sharp=self._sharp_rects(info["landmarks"]))
        frame = self.canvas.copy()
        x0, y0, x1, y1 = self.warp.roi
        frame[y0:y1, x0:x1] = warped
        lm_t = info["landmarks"]
        self.mouth.paint(frame, lm_t, seam=1.0)
        for eye, blink in zip(self.eyes, info["blink"], strict=True):
            if blink > 0.02:
                self._paint_lid(frame, eye, lm_t, blink)
        return frame

    def _paint_lid(self, frame: np.ndarray, eye: dict, lm_t: np.ndarray, blink: float) -> None:
        """Even out the lowered lid with the lid's own skin tone, and draw the lash line.

        The warp stretches the lid skin down over the eye; the photo's lashes stretch with it
        into a dark smear, which the flat lid colour (with a soft margin-to-crease gradient)
        covers, fading into the real crease above.
        """
        upper, ring = eye["upper"], eye["rings"][0]
        margin = lm_t[list(upper)]
        crease = lm_t[list(ring)]
        poly = np.concatenate([margin, crease[::-1]])
        x0, y0 = np.floor(poly.min(0) - 4).astype(int)
        x1, y1 = np.ceil(poly.max(0) + 5).astype(int)
        H, W = frame.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        off = np.array([x0, y0])
        shape = (y1 - y0, x1 - x0)
        sh = 16
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [np.round((poly - off) * sh).astype(np.int32)], 255, cv2.LINE_AA, 4)
        soft = max(0.7, eye["width"] / 30)
        cover = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), soft)
        roi = frame[y0:y1, x0:x1].astype(np.float32) / 255.0
        xs = np.arange(x0, x1, dtype=np.float64)
        order = np.argsort(margin[:, 0])
        margin_y = np.interp(xs, margin[order, 0], margin[order, 1])[None]
        order = np.argsort(crease[:, 0])
        crease_y = np.interp(xs, crease[order, 0], crease[order, 1])[None]
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        depth = np.clip((margin_y - ys) / np.maximum(margin_y - crease_y, 1.0), 0, 1)
        shade = (0.86 + 0.14 * depth).astype(np.float32)
        lid = eye["skin"][None, None] * shade[..., None]
        # keep a little of the real texture so the lid is not a flat sticker
        lum = roi @ np.array([0.299, 0.587, 0.114], np.float32)
        detail = (lum - cv2.GaussianBlur(lum, (0, 0), 2.0))[..., None]
        strength = 0.92 * _smoothstep(0.1, 0.6, blink) * (1 - 0.6 * depth ** 2)
        a = (cover * strength)[..., None].astype(np.float32)
        roi = roi * (1 - a) + (lid + 0.5 * detail) * a
        lash = np.zeros(shape, np.float32)
        thick = max(1, int(round(eye["width"] / 28)))
        cv2.polylines(lash, [np.round((margin - off) * sh).astype(np.int32)], False, 1.0, thick, cv2.LINE_AA, 4)
        lash = cv2.GaussianBlur(lash, (0, 0), 0.6) * float(_smoothstep(0.2, 0.8, blink)) * 0.7
        roi = roi * (1 - lash[..., None]) + eye["lash"][None, None] * lash[..., None]
        frame[y0:y1, x0:x1] = np.clip(roi * 255 + 0.5, 0, 255).astype(np.uint8)

    def render(self, motion: np.ndarray, *, resume: bool = False) -> Iterator[np.ndarray]:
        """One RGB uint8 frame per motion row; rendering is a pure function of the row, so a piece
        continuing the last (``resume``) needs nothing carried over."""
        m = np.asarray(motion, np.float64)
        if m.ndim != 2 or m.shape[1] != code.MOTION_DIM:
            raise ValueError(f"motion must be (T, {code.MOTION_DIM}), got {m.shape}")
        chunk = 64  # offsets for a chunk of frames at once (see expression_offsets_batch)
        for s0 in range(0, m.shape[0], chunk):
            off, info = self.expression_offsets_batch(m[s0:s0 + chunk])
            for k, row in enumerate(m[s0:s0 + chunk]):
                yield self.render_frame(row, (off[k], _frame_info(info, k)))

    def neutral_motion(self, frames: int = 1) -> np.ndarray:
        """The photo's own motion row repeated: rendering it reproduces the photo."""
        return np.repeat(self.neutral[None].astype(np.float32), frames, axis=0)


__all__ = ["PhotoRenderer"]
