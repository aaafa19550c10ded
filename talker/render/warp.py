"""Image warps driven by landmarks: the photo renderer's piecewise-affine mesh warp.

Everything here is a *backward* warp (for each output pixel, where to read in the source),
evaluated only inside a region of interest, because a face is a small part of the frame and
the per-frame budget is a few milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4  # fixed-point bits for sub-pixel triangle rasterisation
_ONE = 1 << _SHIFT


def clip_roi(roi, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = roi
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    return x0, y0, max(x0 + 1, x1), max(y0 + 1, y1)


def triangle_affines(src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle 2x3 maps dst -> src, (6, M) rows a, b, c, d, e, f with src = (a x + b y + c, d x + e y + f).

    Also returns the signed dst areas, so callers can skip collapsed triangles (a lip that
    closes squeezes the mouth-gap triangles to nothing; inverting them would blow up).
    """
    d0, d1, d2 = dst[tris[:, 0]], dst[tris[:, 1]], dst[tris[:, 2]]
    s0, s1, s2 = src[tris[:, 0]], src[tris[:, 1]], src[tris[:, 2]]
    e1, e2 = d1 - d0, d2 - d0
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    safe = np.where(np.abs(det) < 1e-9, 1e-9, det)
    # inverse of [e1 e2] (columns), then src = s0 + [f1 f2] @ inv @ (p - d0)
    i00, i01, i10, i11 = e2[:, 1] / safe, -e2[:, 0] / safe, -e1[:, 1] / safe, e1[:, 0] / safe
    f1, f2 = s1 - s0, s2 - s0
    a = f1[:, 0] * i00 + f2[:, 0] * i10
    b = f1[:, 0] * i01 + f2[:, 0] * i11
    d = f1[:, 1] * i00 + f2[:, 1] * i10
    e = f1[:, 1] * i01 + f2[:, 1] * i11
    c = s0[:, 0] - a * d0[:, 0] - b * d0[:, 1]
    f = s0[:, 1] - d * d0[:, 0] - e * d0[:, 1]
    return np.stack([a, b, c, d, e, f]), 0.5 * det


class TriangleWarp:
    """Piecewise-affine backward warp over a fixed triangle mesh, restricted to an ROI.

    ``src_points`` are fixed (the reference); each call gives new destination points.
    Triangles are painted in list order, so later ones cover earlier ones where they
    overlap: put "under" layers (mouth gap, eye openings) first and skin last, and a
    closing lip or eyelid then occludes instead of squashing what is behind it.
    Pixels of the ROI that no triangle covers map to themselves.

    Speed: a piecewise-affine map is linear inside each triangle, so it is computed on a
    grid ``step`` pixels apart and interpolated, which is exact except within a pixel or two
    of the few places where layers overlap (lip and lid edges); pass those as ``sharp``
    rectangles to compute them at full resolution.
    """

    def __init__(self, src_points: np.ndarray, triangles: np.ndarray, roi: tuple[int, int, int, int],
                 step: int = 1) -> None:
        self.src = np.asarray(src_points, dtype=np.float64)[:, :2].copy()
        self.tris = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
        if len(self.tris) >= 65535:
            raise ValueError("at most 65534 triangles")
        self.roi = tuple(int(v) for v in roi)
        self.step = max(1, int(step))
        x0, y0, x1, y1 = self.roi
        self.h, self.w = y1 - y0, x1 - x0
        st = self.step
        # grid sample centres placed so that cv2.resize's pixel-centre convention lines up
        gh, gw = -(-self.h // st), -(-self.w // st)
        off = (st - 1) / 2.0
        ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
        self._gx, self._gy = xs * st + off + x0, ys * st + off + y0
        self._grid = (gw, gh)

    def _affines(self, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef, area = triangle_affines(self.src, dst, self.tris)
        table = np.empty((6, len(self.tris) + 1), np.float32)
        table[:, 0] = (1, 0, 0, 0, 1, 0)  # uncovered pixels: identity
        table[:, 1:] = coef
        return table, np.abs(area) > 1e-3

    def _raster(self, dst, keep, origin, scale, shape, subset=None) -> np.ndarray:
        ids = np.zeros(shape, np.uint16)
        pts = np.round((dst - origin) * (_ONE / scale)).astype(np.int32)
        tri_pts = pts[self.tris]
        fill = cv2.fillConvexPoly
        todo = np.flatnonzero(keep if subset is None else keep & subset)
        for k in todo:
            fill(ids, tri_pts[k], int(k) + 1, cv2.LINE_8, _SHIFT)
        return ids

    @staticmethod
    def _apply(table, ids, xs, ys) -> tuple[np.ndarray, np.ndarray]:
        idx = ids.astype(np.intp)
        mx = np.take(table[0], idx)
        mx *= xs
        mx += np.take(table[1], idx) * ys
        mx += np.take(table[2], idx)
        my = np.take(table[3], idx)
        my *= xs
        my += np.take(table[4], idx) * ys
        my += np.take(table[5], idx)
        return mx, my

    def maps(self, dst_points: np.ndarray, sharp=()) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) over the ROI, absolute source coordinates (float32)."""
        dst = np.asarray(dst_points, dtype=np.float64)[:, :2]
        table, keep = self._affines(dst)
        x0, y0, x1, y1 = self.roi
        st = self.step
        off = (st - 1) / 2.0
        gw, gh = self._grid
        ids = self._raster(dst, keep, np.array([x0 + off, y0 + off]), st, (gh, gw))
        mx, my = self._apply(table, ids, self._gx, self._gy)
        if st > 1:
            mx = cv2.resize(mx, (gw * st, gh * st), interpolation=cv2.INTER_LINEAR)[: self.h, : self.w]
            my = cv2.resize(my, (gw * st, gh * st), interpolation=cv2.INTER_LINEAR)[: self.h, : self.w]
            tri = dst[self.tris]
            lo, hi = tri.min(axis=1), tri.max(axis=1)
            for rx0, ry0, rx1, ry1 in sharp:
                rx0, ry0 = max(int(np.floor(rx0)), x0), max(int(np.floor(ry0)), y0)
                rx1, ry1 = min(int(np.ceil(rx1)), x1), min(int(np.ceil(ry1)), y1)
                if rx1 <= rx0 or ry1 <= ry0:
                    continue
                hit = (hi[:, 0] >= rx0 - 1) & (lo[:, 0] <= rx1 + 1) & (hi[:, 1] >= ry0 - 1) & (lo[:, 1] <= ry1 + 1)
                sids = self._raster(dst, keep, np.array([rx0, ry0]), 1, (ry1 - ry0, rx1 - rx0), hit)
                ys, xs = np.mgrid[ry0:ry1, rx0:rx1].astype(np.float32)
                sx, sy = self._apply(table, sids, xs, ys)
                mx[ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0] = sx
                my[ry0 - y0:ry1 - y0, rx0 - x0:rx1 - x0] = sy
        return mx, my

    def warp(self, image: np.ndarray, dst_points: np.ndarray, sharp=()) -> np.ndarray:
        """The warped ROI of ``image`` (same channels)."""
        mx, my = self.maps(dst_points, sharp)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def strip_triangles(upper: list[int] | np.ndarray, lower: list[int] | np.ndarray) -> np.ndarray:
    """Triangles filling the band between two index chains that share their end points.

    Used to close the holes the face mesh leaves at the mouth and the eyes.
    """
    upper, lower = list(upper), list(lower)
    tris = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i], lower[i + 1]
        if a == c:
            tris.append((a, b, d))
        elif b == d:
            tris.append((a, b, c))
        else:
            tris += [(a, b, d), (a, d, c)]
    return np.array(tris, dtype=np.int64)


def ring_triangles(inner: list[int] | np.ndarray, outer: list[int] | np.ndarray) -> np.ndarray:
    """Triangles of the annulus between two closed chains of equal length (index lists)."""
    inner, outer = list(inner), list(outer)
    n = len(inner)
    assert len(outer) == n
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris += [(inner[i], inner[j], outer[j]), (inner[i], outer[j], outer[i])]
    return np.array(tris, dtype=np.int64)

