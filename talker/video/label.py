"""The visible "AI-generated" mark drawn on every generated frame."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def _badge(text: str, height: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    scale = height / 40.0
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(2 * scale)))
    pad = int(6 * scale) + 2
    img = np.zeros((h + base + 2 * pad, w + 2 * pad, 3), np.uint8)
    alpha = np.full(img.shape[:2], 0.45, np.float32)
    cv2.putText(img, text, (pad, pad + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, int(2 * scale)),
                cv2.LINE_AA)
    mask = img.max(axis=2) > 0
    alpha[mask] = 0.9
    return img, alpha[..., None]


def draw_label(frame: np.ndarray, text: str = "AI-generated") -> np.ndarray:
    """A small semi-transparent badge in the bottom-right corner, sized to the frame."""
    h, w = frame.shape[:2]
    img, alpha = _badge(text, max(12, min(h, w) // 22))
    bh, bw = img.shape[:2]
    if bh + 8 > h or bw + 8 > w:
        return frame
    out = np.array(frame, copy=True)
    y0, x0 = h - bh - 8, w - bw - 8
    roi = out[y0 : y0 + bh, x0 : x0 + bw].astype(np.float32)
    out[y0 : y0 + bh, x0 : x0 + bw] = (roi * (1 - alpha) + img * alpha).astype(np.uint8)
    return out
