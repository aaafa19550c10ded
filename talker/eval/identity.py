"""Identity distance: dlib's 128-d face embedding (face-recognition-models), the usual
"same person?" measure; 0.6 is dlib's same-person threshold, lower is closer."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _models():
    import dlib
    import face_recognition_models as frm

    return (dlib.shape_predictor(frm.pose_predictor_model_location()),
            dlib.face_recognition_model_v1(frm.face_recognition_model_location()))


def embeddings(frames: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
    """(K, 128) embeddings of the face in each frame, inside the given x0, y0, x1, y1 box."""
    import dlib

    shape_pred, encoder = _models()
    out = []
    for img, (x0, y0, x1, y1) in zip(frames, boxes, strict=True):
        rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        shape = shape_pred(np.ascontiguousarray(img), rect)
        out.append(np.array(encoder.compute_face_descriptor(np.ascontiguousarray(img), shape, 1)))
    return np.array(out)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the mean embeddings of two sets of faces."""
    return float(np.linalg.norm(a.mean(0) - b.mean(0)))
