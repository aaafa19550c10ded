"""The 61-d motion code shared by tracking, generation and rendering.

Layout (per frame, 25 fps):
  [0:51]  ARKit blendshapes as MediaPipe names them, without ``_neutral`` (0..1)
  [51:54] head rotation pitch, yaw, roll in radians (camera frame, 0 = facing camera)
  [54:57] head translation x, y, z in centimetres (MediaPipe's metric face space)
  [57:61] iris offset inside each eye, x then y, left eye then right eye, in eye widths
Keeping one table of names means every stage indexes by name, never by magic number.
"""

from __future__ import annotations

import numpy as np

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
HEAD_NAMES: tuple[str, ...] = ("headPitch", "headYaw", "headRoll", "headX", "headY", "headZ")
EYE_NAMES: tuple[str, ...] = ("irisLeftX", "irisLeftY", "irisRightX", "irisRightY")

MOTION_NAMES: tuple[str, ...] = BLENDSHAPE_NAMES + HEAD_NAMES + EYE_NAMES
MOTION_DIM = len(MOTION_NAMES)
FPS = 25

BLENDSHAPES = slice(0, 51)
HEAD_ROTATION = slice(51, 54)
HEAD_TRANSLATION = slice(54, 57)
HEAD = slice(51, 57)
EYES = slice(57, 61)

_INDEX = {name: i for i, name in enumerate(MOTION_NAMES)}

assert len(BLENDSHAPE_NAMES) == 51 and MOTION_DIM == 61


def index(name: str) -> int:
    """Column of a named motion channel (raises KeyError with the bad name)."""
    return _INDEX[name]


def channel(motion: np.ndarray, name: str) -> np.ndarray:
    """One named channel over time from a (frames, 61) motion array."""
    return motion[:, _INDEX[name]]


def stretch(motion: np.ndarray, n: int) -> np.ndarray:
    """(T, C) linearly resampled to (n, C), first and last frames kept: a sequence made for one
    length fitted to another (generated pieces to their audio, a sample to the truth)."""
    x = np.asarray(motion, dtype=np.float64)
    if x.shape[0] == n:
        return x
    src = np.linspace(0, x.shape[0] - 1, n)
    return np.stack([np.interp(src, np.arange(x.shape[0]), x[:, c]) for c in range(x.shape[1])], axis=1)
