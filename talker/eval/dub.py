"""Measures of a dub: does the output equal the source outside the mouth?

The mouth box of a frame is the bounding box of its lower face (the region a dub may paint:
the lower face oval from the nose to below the chin, cheek to cheek) grown by ``MOUTH_BOX_GROW``
face heights on each side. Outside it a dub must show the source's pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOUTH_BOX_GROW = 0.15  # face heights added on each side of the lower-face box


def mouth_boxes(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 4) int x0, y0, x1, y1 of each frame's mouth box, from its landmarks (n, 478, ≥2)."""
    from ..render.mouth import MouthConfig, face_heights, lower_face_polygon

    fh = face_heights(landmarks)
    out = np.zeros((landmarks.shape[0], 4), np.int64)
    margin = MouthConfig().chin_margin
    for i, lm in enumerate(landmarks):
        poly = lower_face_polygon(lm, fh[i], margin)
        g = MOUTH_BOX_GROW * fh[i]
        x0, y0 = poly.min(0) - g
        x1, y1 = poly.max(0) + g
        out[i] = [max(0, int(x0)), max(0, int(y0)), min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))]
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).mean()) if np.size(a) else 0.0
    return 99.0 if mse < 1e-10 else float(10 * np.log10(255.0 ** 2 / mse))


def outside_mouth_psnr(source: str | Path, output: str | Path, landmarks: np.ndarray, fps: float,
                       size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Per frame the output shares with the source (output frame t = source frame t, up to the
    shorter of the two): PSNR outside the mouth box and inside it (dB), and the box's mean share
    of the frame. ``landmarks`` are the source's, at ``fps`` and ``size``."""
    from ..media import decode

    w, h = size
    boxes = mouth_boxes(landmarks, w, h)
    outside, inside, share = [], [], []
    pairs = zip(decode.iter_frames(source, fps, size=size), decode.iter_frames(output, fps, size=size), strict=False)
    for t, (a, b) in enumerate(pairs):
        if t >= len(boxes):
            break
        x0, y0, x1, y1 = boxes[t]
        keep = np.ones((h, w), bool)
        keep[y0:y1, x0:x1] = False
        outside.append(psnr(a[keep], b[keep]))
        inside.append(psnr(a[~keep], b[~keep]))
        share.append(1.0 - keep.mean())
    return np.array(outside), np.array(inside), float(np.mean(share)) if share else 0.0
