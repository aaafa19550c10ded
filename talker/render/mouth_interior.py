"""A plausible mouth interior where the lips part: cavity, upper and lower teeth, tongue.

A still photo (or a reference frame with closed lips) has nothing behind the lips, so when a
renderer opens the mouth wider than the reference, the gap is painted here. The interior is
laid out in the mouth's own frame (``u`` from -1 at one inner corner to +1 at the other,
``s`` pixels down from the upper inner lip, ``t`` pixels up from the lower one), so it follows
any lip shape and head roll, and it is analytic, so its edges are anti-aliased for free.
Colours come from the reference (lips, skin, and its real teeth when it shows them), so the
inside of the mouth matches the person's lighting. Inputs are MediaPipe face-mesh landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..tracking.landmarks import (
    CHEEKS,
    INNER_LOWER,
    INNER_UPPER,
    LOWER_INNER_LIP,
    MOUTH_INNER_LEFT,
    MOUTH_INNER_RIGHT,
    OUTER_LOWER,
    OUTER_UPPER,
    UPPER_INNER_LIP,
)

# Apparent tooth boundaries across the upper arch, in u (foreshortened toward the corners).
_UPPER_SEPARATIONS = (0.0, 0.22, 0.40, 0.55)
_LOWER_SEPARATIONS = (0.0, 0.12, 0.24, 0.36)


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _poly_mask(shape, polys) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(p * 16).astype(np.int32) for p in polys], 255, cv2.LINE_AA, 4)
    return m


@dataclass
class MouthPalette:
    """Linear-ish RGB floats 0..1 of the parts of a mouth, adapted to one person and light."""

    lips: np.ndarray
    skin: np.ndarray
    teeth: np.ndarray
    cavity: np.ndarray
    tongue: np.ndarray


def palette_from_reference(image: np.ndarray, landmarks: np.ndarray) -> MouthPalette:
    img = image.astype(np.float32) / 255.0
    lm = np.asarray(landmarks, np.float64)[:, :2]
    h, w = img.shape[:2]
    lips_mask = _poly_mask((h, w), [lm[list(OUTER_UPPER) + list(INNER_UPPER[::-1])],
                                    lm[list(OUTER_LOWER) + list(INNER_LOWER[::-1])]]) > 128
    lips = np.median(img[lips_mask], axis=0) if lips_mask.sum() > 8 else np.array([0.7, 0.4, 0.4])
    skin_pts = np.round(lm[list(CHEEKS)]).astype(int)
    r = max(2, int(0.02 * np.ptp(lm[:, 1])))
    samples = [img[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3) for x, y in skin_pts]
    skin = np.median(np.concatenate(samples), axis=0) if samples else np.array([0.8, 0.6, 0.5])
    lum = float(skin @ (0.299, 0.587, 0.114))
    # Teeth: brighter than skin and far less saturated, in the same light (white balance
    # taken from the skin's hue, gently).
    tint = skin / max(float(skin.max()), 1e-3)
    teeth = np.clip(min(0.93, 1.25 * lum + 0.08) * (0.72 + 0.28 * tint) * np.array([1.0, 0.985, 0.94]), 0, 1)
    teeth_px = teeth_pixels(image, landmarks)
    if teeth_px is not None:
        teeth = np.median(teeth_px, axis=0)
    cavity = np.clip(lips * np.array([0.30, 0.16, 0.16]) + 0.015, 0, 1)
    tongue = np.clip(lips * np.array([0.72, 0.42, 0.44]) + np.array([0.04, 0.0, 0.0]), 0, 1)
    return MouthPalette(lips=lips, skin=skin, teeth=teeth, cavity=cavity, tongue=tongue)


def teeth_pixels(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Float RGB of the visible teeth in the reference, or None when its lips hide them."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    width = np.linalg.norm(lm[MOUTH_INNER_LEFT] - lm[MOUTH_INNER_RIGHT])
    gap = np.linalg.norm(lm[LOWER_INNER_LIP] - lm[UPPER_INNER_LIP])
    if width < 8 or gap < max(2.0, 0.06 * width):
        return None
    m = _poly_mask(image.shape[:2], [lm[list(INNER_UPPER) + list(INNER_LOWER[-2:0:-1])]]) > 200
    px = image[m].astype(np.float32) / 255.0
    if len(px) < 10:
        return None
    lum = px @ np.array([0.299, 0.587, 0.114])
    sat = px.max(1) - px.min(1)
    bright = px[(lum >= np.percentile(lum, 60)) & (sat < 0.35)]
    if len(bright) < 5 or float(np.median(bright @ np.array([0.299, 0.587, 0.114]))) < 0.35:
        return None
    return bright


def _frame(lm: np.ndarray):
    """Mouth axes from the inner corners: origin, unit x (corner to corner), unit y (down), half width."""
    a, b = lm[MOUTH_INNER_RIGHT], lm[MOUTH_INNER_LEFT]
    ex = (b - a) / max(np.linalg.norm(b - a), 1e-6)
    ey = np.array([-ex[1], ex[0]])
    return 0.5 * (a + b), ex, ey, 0.5 * np.linalg.norm(b - a)


def _contour(lm, idx, o, ex, ey, half):
    p = lm[list(idx)] - o
    u = (p @ ex) / half
    v = p @ ey
    u = np.maximum.accumulate(u)  # a folded contour would break interpolation
    return u, v


class MouthInterior:
    """Paints the inside of the mouth of one person into frames of a given resolution.

    ``image`` and ``landmarks`` are the reference (the still, or a neutral video frame) in
    the same pixel space as the frames later passed to :meth:`paint`.
    """

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, palette: MouthPalette | None = None) -> None:
        self.image = np.ascontiguousarray(image)
        lm = np.asarray(landmarks, np.float64)[:, :2]
        self.palette = palette or palette_from_reference(image, lm)
        o, ex, ey, half = _frame(lm)
        self._ref = (o, ex, ey, half)
        uu, vu = _contour(lm, INNER_UPPER, o, ex, ey, half)
        ul, vl = _contour(lm, INNER_LOWER, o, ex, ey, half)
        grid = np.linspace(-1, 1, 65)
        self._ref_grid = grid
        self._ref_upper = np.interp(grid, uu, vu)
        self._ref_gap = np.maximum(np.interp(grid, ul, vl) - self._ref_upper, 0.0)
        # Real teeth are reused where the reference shows them (upper teeth hang from the upper lip).
        self.has_teeth = teeth_pixels(image, lm) is not None
        # Visible upper-teeth length in mouth half-widths: a real mouth's, when the photo shows it.
        self.upper_len = 0.30
        if self.has_teeth:
            self.upper_len = float(np.clip(self._ref_gap[32] / half * 0.95, 0.24, 0.42))

    # ------------------------------------------------------------------------------------
    def paint(self, frame: np.ndarray, landmarks: np.ndarray, *, seam: float = 1.0) -> np.ndarray:
        """Composite the interior into ``frame`` (RGB uint8, modified in place) for target landmarks.

        Where the lips meet, a faint darker seam is drawn (``seam`` scales it) so closed lips
        read as two lips rather than one smeared shape. Returns ``frame``.
        """
        lm = np.asarray(landmarks, np.float64)[:, :2]
        o, ex, ey, half = _frame(lm)
        if half < 2:
            return frame
        uu, vu = _contour(lm, INNER_UPPER, o, ex, ey, half)
        ul, vl = _contour(lm, INNER_LOWER, o, ex, ey, half)
        pts = np.concatenate([lm[list(INNER_UPPER)], lm[list(INNER_LOWER)]])
        x0, y0 = np.floor(pts.min(0) - 3).astype(int)
        x1, y1 = np.ceil(pts.max(0) + 4).astype(int)
        H, W = frame.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return frame
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        px, py = xs - np.float32(o[0]), ys - np.float32(o[1])
        u = (px * np.float32(ex[0]) + py * np.float32(ex[1])) / np.float32(half)
        v = px * np.float32(ey[0]) + py * np.float32(ey[1])
        up = np.interp(u, uu, vu).astype(np.float32)
        lo = np.interp(u, ul, vl).astype(np.float32)
        gap = lo - up
        s = v - up
        t = lo - v
        inside_u = np.abs(u) < 1.0
        aa = 0.75
        alpha = np.clip(s / aa + 0.5, 0, 1) * np.clip(t / aa + 0.5, 0, 1) * inside_u
        alpha *= _smoothstep(0.3, 1.4, gap)  # sub-pixel gaps stay lips
        roi = frame[y0:y1, x0:x1]
        sel = alpha > 0.004
        mid = 0.5 * (up + lo)
        seam_w = np.zeros_like(alpha)
        if seam > 0:
            # Closed lips: a soft dark crease on the contact line, fading toward the corners.
            near = inside_u & (gap < 3.0) & (np.abs(v - mid) < 3.0)
            if near.any():
                vm, g, au = (v - mid)[near], gap[near], np.abs(u[near])
                seam_w[near] = (np.exp(-(vm / 0.9) ** 2) * (1 - _smoothstep(1.0, 3.0, g))
                                * (1 - _smoothstep(0.75, 1.0, au)) * seam)
        touched = sel | (seam_w > 0.004)
        if not touched.any():
            return frame
        pix = roi[touched].astype(np.float32) / 255.0
        if sel.any():
            col = self._interior(u[sel], s[sel], t[sel], gap[sel], half, (u, gap))
            a_sel = alpha[sel][:, None]
            k = sel[touched]
            pix[k] = pix[k] * (1 - a_sel) + col * a_sel
        pix *= (1.0 - 0.32 * seam_w[touched])[:, None]
        roi[touched] = np.clip(pix * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return frame

    # ------------------------------------------------------------------------------------
    def _interior(self, u, s, t, gap, half, full) -> np.ndarray:
        """Colours (N, 3) of interior pixels given their mouth coordinates (1-D arrays)."""
        pal = self.palette
        au = np.abs(u)
        w_mouth = 2 * half
        fu, fgap = full
        centre = np.abs(fu) < 0.15
        centre_gap = float(np.max(fgap[centre])) if centre.any() else float(fgap.max())

        # Cavity: dark, a little lighter near the lips (light leaks in), darkest at the back and corners.
        edge = np.exp(-np.minimum(np.maximum(s, 0), np.maximum(t, 0)) / (0.10 * w_mouth))
        cav = pal.cavity.astype(np.float32) * ((0.55 + 0.45 * edge) * (1 - 0.4 * _smoothstep(0.6, 1.0, au)))[..., None]
        col = cav

        # Tongue: a low rounded mound, visible once the mouth is clearly open.
        open_amt = _smoothstep(0.10 * w_mouth, 0.38 * w_mouth, centre_gap)
        if open_amt > 0:
            th = min(0.36 * centre_gap, 0.20 * w_mouth) * open_amt
            top = np.sqrt(np.clip(1 - (u / 0.72) ** 2, 0, 1)) * th
            soft = max(1.0, 0.25 * th)
            inside = np.clip((top - t) / soft + 0.5, 0, 1) * (top > 0.3) * (0.35 + 0.65 * open_amt)
            rel = np.clip(t / max(th, 1e-3), 0, 1)  # 0 at the lower lip, 1 at the top of the mound
            shade = (0.55 + 0.45 * np.sin(np.pi * np.clip(0.2 + 0.75 * rel, 0, 1))) * (1 - 0.45 * _smoothstep(0.3, 0.72, au))
            shade *= 1 - 0.35 * _smoothstep(0.7, 1.0, rel)  # its back recedes into shadow
            tongue = pal.tongue * shade[..., None]
            col = col * (1 - inside[..., None]) + tongue * inside[..., None]

        # Lower teeth: only their tips, behind the lower lip, at large openings.
        low_amt = _smoothstep(0.22 * w_mouth, 0.45 * w_mouth, centre_gap)
        if low_amt > 0:
            tl = 0.07 * w_mouth * low_amt * np.sqrt(np.clip(1 - (u / 0.55) ** 2, 0, 1))
            m = np.clip((tl - t) / 0.8 + 0.5, 0, 1) * (tl > 0.3) * (1 - _smoothstep(0.3, 0.55, au))
            shade = 0.78 * (0.85 + 0.15 * _smoothstep(0, tl + 1e-6, t))
            sep = self._separations(u, _LOWER_SEPARATIONS, half, 0.85)
            tooth = pal.teeth * (shade * sep)[..., None]
            col = col * (1 - m[..., None]) + tooth * m[..., None]

        # Upper teeth: hang from the upper lip; shaded by it at the top, receding at the sides.
        vis = _smoothstep(0.03 * w_mouth, 0.10 * w_mouth, gap)
        tu = self.upper_len * half * (1 - 0.45 * u * u)
        m = np.clip((tu - s) / 0.8 + 0.5, 0, 1) * vis * (1 - _smoothstep(0.62, 0.95, au))
        lipshadow = 0.66 + 0.34 * _smoothstep(0.0, 0.08 * w_mouth, s)
        side = 1 - 0.45 * _smoothstep(0.35, 0.9, au)
        tip = 1 - 0.08 * _smoothstep(0.75, 1.0, s / np.maximum(tu, 1e-3))
        sep = self._separations(u, _UPPER_SEPARATIONS, half, 0.88)
        tooth = pal.teeth * (lipshadow * side * tip * sep)[..., None]
        if self.has_teeth:
            real, wreal = self._real_teeth(u, s, half)
            tooth = tooth * (1 - wreal[..., None]) + real * wreal[..., None]
        col = col * (1 - m[..., None]) + tooth * m[..., None]

        # A thin shadow just inside the lower lip keeps the lip edge crisp.
        col = col * (1 - 0.35 * np.exp(-np.maximum(t, 0) / 1.2))[..., None]
        return col

    @staticmethod
    def _separations(u, positions, half, strength) -> np.ndarray:
        """Faint gaps between neighbouring teeth, about half a pixel wide."""
        width = max(0.5 / half, 0.012)
        out = np.ones_like(u)
        for p in positions:
            for q in ((p, -p) if p else (p,)):
                out -= (1 - strength) * 0.5 * np.exp(-((u - q) / width) ** 2)
        return np.clip(out, 0.0, 1.0)

    def _real_teeth(self, u, s, half) -> tuple[np.ndarray, np.ndarray]:
        """The reference's own teeth pixels at mouth coordinates (u, s), and how far to trust them."""
        o, ex, ey, rhalf = self._ref
        scale = rhalf / half
        ref_up = np.interp(u, self._ref_grid, self._ref_upper)
        ref_gap = np.interp(u, self._ref_grid, self._ref_gap)
        rs = s * scale
        mx = (o[0] + u * rhalf * ex[0] + (ref_up + rs) * ey[0]).astype(np.float32)
        my = (o[1] + u * rhalf * ex[1] + (ref_up + rs) * ey[1]).astype(np.float32)
        real = cv2.remap(self.image, mx[:, None], my[:, None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        real = real.reshape(-1, 3).astype(np.float32) / 255.0
        w = 1 - _smoothstep(0.55, 0.9, rs / np.maximum(ref_gap, 1e-3))
        w = w * (ref_gap > 1.5) * (np.abs(u) < 0.95)
        return real, w
