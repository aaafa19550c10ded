"""Is something in front of the mouth? A hand, a microphone, a cup: MediaPipe still puts landmarks
on a covered mouth, so a new mouth would be painted over the hand. The skin around the lips is
compared with the same frame's cheeks: the share of it whose colour is far from theirs
(``foreign_share``) stays nearly constant while a face talks (a beard or a shadow is there in
every frame) and jumps when an object covers the mouth. From a frame whose share rises more than
``MAX_RISE`` over the video's usual share, frames pass through untouched until it falls back
under ``STAY_RISE``.

An object of the face's own colour (a bare hand held flat over the mouth in even light) can pass
this check; MediaPipe's hand models would catch that, but no test material with hands exists here
to set them up against.
"""

from __future__ import annotations

import numpy as np

from ..render.mouth import lower_face_polygon
from ..tracking.landmarks import CHIN, MOUTH_LEFT, MOUTH_RIGHT

CHEEKS = (50, 280, 205, 425)  # mesh points in the middle of the cheeks: the face's own skin colour
UPPER_OUTER_LIP, LOWER_OUTER_LIP = 0, 17
# A pixel is foreign when its colour is this far from the cheeks' (CIE Lab in OpenCV's 8-bit
# scale, lightness counted at half: a shadow under the lip is still skin).
FAR = 22.0
# A frame is covered when its foreign share is this much over the video's usual (median). On 10
# clips (the 5 fixtures, 5 GRID speakers; every 3rd frame) talking alone rose at most 0.19 over
# it; a dark microphone head drawn over the lower lip and chin rose it by more than 0.2 in 96-100 %
# of frames on 9 clips and 36 % on the tenth (a man whose chin is dark); a skin-toned "hand" drawn
# the same way was not seen (-0.13..+0.07).
MAX_RISE = 0.2
# ... and stays covered while it is this much over: an object held still while the head moves
# covers more or less of the region (a box held over one clip's chin: 0.25-0.34 over the usual,
# down to 0.07 for a few frames).
STAY_RISE = 0.05
_STEP = 2  # every second pixel both ways


def foreign_share(frame: np.ndarray, lm: np.ndarray, face_h: float, width: float = 0.6) -> float:
    """Share (0-1) of the skin around the mouth (the middle ``width`` of the lower face, without
    the lips) whose colour is far from the cheeks'; NaN where the region is off the picture."""
    import cv2

    lm = np.asarray(lm)[:, :2]
    poly = lower_face_polygon(lm, face_h, 0.0)
    cx = 0.5 * (lm[MOUTH_LEFT, 0] + lm[MOUTH_RIGHT, 0])
    poly[:, 0] = cx + (poly[:, 0] - cx) * width
    H, W = frame.shape[:2]
    pad = int(0.05 * face_h) + 2
    cheeks = lm[list(CHEEKS)]
    both = np.vstack([poly, cheeks])
    x0, y0 = np.maximum(np.floor(both.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(both.max(0)).astype(int) + pad, [W, H])
    if x1 - x0 < 8 or y1 - y0 < 8:
        return float("nan")
    off = np.array([x0, y0])
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(poly - off).astype(np.int32)], 1)
    top, bottom = lm[UPPER_OUTER_LIP, 1] - y0, lm[LOWER_OUTER_LIP, 1] - y0
    half_w = 0.5 * abs(lm[MOUTH_LEFT, 0] - lm[MOUTH_RIGHT, 0]) + 0.03 * face_h
    half_h = 0.5 * (bottom - top) + 0.03 * face_h
    cv2.ellipse(mask, (int(round(cx - x0)), int(round(0.5 * (top + bottom)))),
                (int(round(half_w)), int(round(half_h))), 0, 0, 360, 0, -1)
    mask[int(max(0, lm[CHIN, 1] - y0)):] = 0  # the face only, not the neck under it
    lab = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float32)
    r = max(1, int(0.025 * face_h))
    patches = []
    for x, y in np.round(cheeks - off).astype(int):
        p = lab[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
        if p.size:
            patches.append(p.reshape(-1, 3))
    sel = mask[::_STEP, ::_STEP].astype(bool)
    if not patches or sel.sum() < 20:
        return float("nan")
    skin = np.median(np.vstack(patches), axis=0)
    d = lab[::_STEP, ::_STEP][sel] - skin
    d[:, 0] *= 0.5
    return float((np.sqrt((d * d).sum(1)) > FAR).mean())
