"""Geometry shared by both tracking backends, and the fallback's geometric estimates.

Conventions (used for the motion code's head and eye channels, by both backends):

* Camera frame as MediaPipe's face-geometry uses it: x to the image right, y up, z toward
  the viewer; the face sits at negative z. Translation is in centimetres of MediaPipe's
  canonical face space.
* Rotation ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``, radians, 0 = facing the camera:
  yaw > 0 when the person turns to *their own left* (the nose moves to the image right);
  pitch > 0 when the head tilts down (chin down, nose toward the image bottom);
  roll > 0 when the head tilts toward *their own right* shoulder (the top of the head moves
  to the image left, a counter-clockwise turn on screen).
* "Left eye" is the subject's left eye, which appears on the image right in an unmirrored
  picture: corners 263 (outer) and 362 (inner), iris 473-477 (centre 473). The right eye is
  33 / 133 with iris 468-472.
* Iris offset: iris centre minus the eye's corner midpoint, in units of that eye's corner
  distance, measured along the eye axis (x, toward the image right) and across it (y, toward
  the image bottom). Measuring along the eye axis keeps gaze free of head roll.

The fallback (face-mesh landmarks only) needs a 3-D reference face for head pose and a way
to turn landmark distances into ARKit-style blendshape scores. Both were *derived* from
FaceLandmarker output on development clips (see ``_CANONICAL`` and ``_BLEND_MAPS``), so the
two backends share units and signs as closely as a handful of numbers allows.
"""

from __future__ import annotations

import math

import numpy as np

from ..motion import code
from .landmarks import (
    CHIN,
    FOREHEAD,
    LEFT_BROW_INNER,
    LEFT_BROW_MID,
    LEFT_BROW_OUTER,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LIDS,
    LEFT_IRIS_CENTRE,
    LOWER_INNER_LIP,
    LOWER_LIP_OUTER,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    NOSE_TIP,
    RIGHT_BROW_INNER,
    RIGHT_BROW_MID,
    RIGHT_BROW_OUTER,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LIDS,
    RIGHT_IRIS_CENTRE,
    UPPER_INNER_LIP,
    UPPER_LIP_OUTER,
)

_TAN_HALF_FOV = math.tan(math.radians(63.0 / 2.0))  # MediaPipe face-geometry's virtual camera

# Rigid face points (forehead, nose bridge, eye corners, cheekbones, temples) in cm, y up,
# z toward the viewer. Derived, not copied: FaceLandmarker landmarks on 8 clips of
# ../shared/data/talking (1,068 frames) were back-projected through its 63-degree camera at
# the depth of its transformation matrix, rotated into the face frame with the matrix,
# averaged, and made left/right symmetric. Expression-driven points (lips, jaw, lids, brows)
# are left out so that speech does not move the pose.
_MIDLINE = {
    10: (8.83, 0.67), 151: (7.08, 1.12), 9: (5.32, 1.51), 8: (4.40, 1.40), 168: (3.40, 1.37),
    6: (2.49, 1.89), 197: (1.73, 2.49), 195: (1.07, 3.15), 5: (0.40, 3.82), 4: (-0.35, 4.12),
    1: (-0.96, 3.89),
}
_PAIRS = {  # (subject's right, subject's left): (|x|, y, z)
    (33, 263): (5.29, 3.37, -1.06), (133, 362): (2.06, 3.15, -0.50), (234, 454): (10.28, 1.33, -7.22),
    (93, 323): (10.09, -0.82, -7.21), (116, 345): (7.99, 1.36, -2.42), (50, 280): (5.69, -0.57, -0.28),
    (127, 356): (10.23, 3.36, -6.74), (21, 251): (8.83, 6.73, -4.21), (54, 284): (7.62, 7.86, -2.85),
    (103, 332): (6.05, 8.52, -1.42), (98, 327): (1.79, -1.66, 1.23), (129, 358): (2.27, -0.95, 0.79),
    (143, 372): (7.96, 2.95, -2.70), (226, 446): (6.34, 3.17, -1.48),
}


def _canonical() -> tuple[np.ndarray, np.ndarray]:
    idx, pts = [], []
    for i, (y, z) in _MIDLINE.items():
        idx.append(i)
        pts.append((0.0, y, z))
    for (right, left), (x, y, z) in _PAIRS.items():
        idx += [right, left]
        pts += [(-x, y, z), (x, y, z)]  # +x is the subject's left (image right)
    return np.array(idx), np.array(pts, dtype=np.float64)


RIGID_IDX, RIGID_POINTS = _canonical()


# --- rotations ----------------------------------------------------------------------------
def rotation_to_euler(rot: np.ndarray) -> np.ndarray:
    """(pitch, yaw, roll) radians from a 3x3 rotation, for ``R = Rz(roll) Ry(yaw) Rx(pitch)``."""
    r = np.asarray(rot, dtype=np.float64)
    pitch = math.atan2(r[2, 1], r[2, 2])
    yaw = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    roll = math.atan2(r[1, 0], r[0, 0])
    return np.array([pitch, yaw, roll])


def euler_to_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    cp, sp, cy, sy, cr, sr = (math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw),
                              math.cos(roll), math.sin(roll))
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ ry @ rx


def matrix_to_pose(matrix: np.ndarray) -> np.ndarray:
    """6 head channels (pitch, yaw, roll, x, y, z) from MediaPipe's 4x4 face transform.

    The rotation part is re-orthonormalised first: the matrix may carry a small scale.
    """
    m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
    u, _, vt = np.linalg.svd(m[:3, :3])
    rot = u @ vt
    return np.concatenate([rotation_to_euler(rot), m[:3, 3]])


def _kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation with ``dst ~ R @ src + t`` (least squares, no scale)."""
    cs, cd = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, cd - rot @ cs


def head_pose_from_landmarks(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """6 head channels from 478 pixel landmarks, in the primary backend's units and signs.

    ``cv2.solvePnP`` against the rigid reference points with MediaPipe's virtual camera
    gives depth and translation; rotation is then refined by a rigid 3-D fit that also uses
    the landmarks' relative depth, which on development clips roughly halved the pitch error
    of PnP alone (pitch from 2-D points is sensitive to the assumed focal length).
    """
    import cv2

    lm = np.asarray(landmarks, dtype=np.float64)
    f = (height / 2.0) / _TAN_HALF_FOV
    k = np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1.0]])
    img = np.ascontiguousarray(lm[RIGID_IDX, :2])
    ok, rvec, tvec = cv2.solvePnP(RIGID_POINTS, img, k, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return np.full(6, np.nan)
    flip = np.diag([1.0, -1.0, -1.0])  # OpenCV camera (y down, z forward) -> MediaPipe's (y up, z back)
    rot = flip @ cv2.Rodrigues(rvec)[0]
    t = flip @ tvec[:, 0]
    depth0 = -t[2]
    if depth0 > 0:
        depth = depth0 + lm[RIGID_IDX, 2] * depth0 / f
        cam = np.stack([depth * (lm[RIGID_IDX, 0] - width / 2.0) / f,
                        -depth * (lm[RIGID_IDX, 1] - height / 2.0) / f, -depth], axis=1)
        rot, _ = _kabsch(RIGID_POINTS, cam)
    return np.concatenate([rotation_to_euler(rot), t])


# --- eyes ---------------------------------------------------------------------------------
def iris_offsets(landmarks: np.ndarray) -> np.ndarray:
    """(leftX, leftY, rightX, rightY) in eye widths; see the module docstring for axes."""
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    out = []
    for (outer, inner), centre in ((LEFT_EYE_CORNERS, LEFT_IRIS_CENTRE), (RIGHT_EYE_CORNERS, RIGHT_IRIS_CENTRE)):
        a, b = lm[outer], lm[inner]
        if a[0] > b[0]:  # axis from the image-left corner to the image-right corner
            a, b = b, a
        axis = b - a
        width = float(np.hypot(*axis))
        if width < 1e-6:
            out += [0.0, 0.0]
            continue
        ux = axis / width
        uy = np.array([-ux[1], ux[0]])  # x right, y down in image coordinates: (0, 1) for a level eye
        rel = lm[centre] - 0.5 * (a + b)
        out += [float(rel @ ux / width), float(rel @ uy / width)]
    return np.array(out)


# --- fallback blendshapes -----------------------------------------------------------------
def align_to_face(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks in the reference face frame (cm, y up), by a similarity fit on rigid points.

    Distances measured there are free of head pose and face size to first order, so one
    set of coefficients serves every clip.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    p = np.stack([lm[:, 0], -lm[:, 1], -lm[:, 2]], axis=1)  # pixels, y down, z away -> y up, z toward
    src = p[RIGID_IDX]
    cs, cd = src.mean(0), RIGID_POINTS.mean(0)
    a, b = src - cs, RIGID_POINTS - cd
    u, s, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    dm = np.diag([1.0, 1.0, d])
    rot = vt.T @ dm @ u.T
    scale = float((s * np.diag(dm)).sum() / max((a ** 2).sum(), 1e-9))
    return scale * (p - cs) @ rot.T + cd


FEATURE_NAMES = (
    "lipGap", "jawDrop", "mouthWidth", "eyeOpenLeft", "eyeOpenRight", "cornerLeft", "cornerRight",
    "browInnerLeft", "browInnerRight", "browMidLeft", "browMidRight", "browOuterLeft", "browOuterRight",
    "upperLipThick", "lowerLipThick", "mouthShiftX", "irisLeftX", "irisLeftY", "irisRightX", "irisRightY",
)


def face_features(landmarks: np.ndarray) -> np.ndarray:
    """Pose-normalised distances (cm in the reference frame) the blendshape maps read."""
    a = align_to_face(landmarks)
    y = a[:, 1]

    def eye_open(lids, corners):
        return (y[lids[0]] - y[lids[1]]) / max(np.linalg.norm(a[corners[0], :2] - a[corners[1], :2]), 1e-6)

    lip_mid_y = 0.5 * (y[UPPER_INNER_LIP] + y[LOWER_INNER_LIP])
    eye_y_left = 0.5 * (y[LEFT_EYE_CORNERS[0]] + y[LEFT_EYE_CORNERS[1]])
    eye_y_right = 0.5 * (y[RIGHT_EYE_CORNERS[0]] + y[RIGHT_EYE_CORNERS[1]])

    def brow(pair, eye_y):
        return 0.5 * (y[pair[0]] + y[pair[1]]) - eye_y

    return np.array([
        y[UPPER_INNER_LIP] - y[LOWER_INNER_LIP],
        y[NOSE_TIP] - y[CHIN],
        a[MOUTH_LEFT, 0] - a[MOUTH_RIGHT, 0],
        eye_open(LEFT_EYE_LIDS, LEFT_EYE_CORNERS),
        eye_open(RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS),
        y[MOUTH_LEFT] - lip_mid_y,
        y[MOUTH_RIGHT] - lip_mid_y,
        brow(LEFT_BROW_INNER, eye_y_left), brow(RIGHT_BROW_INNER, eye_y_right),
        brow(LEFT_BROW_MID, eye_y_left), brow(RIGHT_BROW_MID, eye_y_right),
        brow(LEFT_BROW_OUTER, eye_y_left), brow(RIGHT_BROW_OUTER, eye_y_right),
        y[UPPER_LIP_OUTER] - y[UPPER_INNER_LIP],
        y[LOWER_INNER_LIP] - y[LOWER_LIP_OUTER],
        0.5 * (a[MOUTH_LEFT, 0] + a[MOUTH_RIGHT, 0]),
        *iris_offsets(landmarks),
    ])


# Linear maps blendshape = clip(bias + sum(w * feature), 0, 1); channels not listed stay 0.
# How these were fitted: face-mesh landmarks and FaceLandmarker blendshapes on the same frames
# of 8 clips in ../shared/data/talking (1,068 frames, 8 people); for each channel an ordinary
# least-squares fit on 1-2 hand-picked features, refitted once without frames where both the
# target and the prediction are at zero (the scores are hinge-shaped). The comment gives
# Pearson r of the clipped prediction on the training clips / on the held-out clips
# ../shared/fixtures/video/{en_woman_flag_8s, en_man_map_5s, en_woman_blue_7s} (3 people,
# 491 frames). Channels with held-out r < 0.4 (mouthLeft/Right, mouthRoll*) were dropped and
# stay 0; mouthClose is kept only because its real scores are tiny (std 0.01) anyway.
_BLEND_MAPS: dict[str, tuple[float, dict[str, float]]] = {
    "jawOpen": (-0.06201, {"lipGap": 0.1234, "jawDrop": 0.007404}),  # r 0.72 / 0.74
    "mouthClose": (-0.04092, {"lipGap": -0.001196, "jawDrop": 0.005137}),  # r 0.35 / 0.12
    "eyeBlinkLeft": (0.5824, {"eyeOpenLeft": -1.504}),  # r 0.84 / 0.94
    "eyeBlinkRight": (0.4821, {"eyeOpenRight": -1.22}),  # r 0.83 / 0.91
    "eyeSquintLeft": (0.9474, {"eyeOpenLeft": -1.839, "cornerLeft": -0.0001034}),  # r 0.80 / 0.79
    "eyeSquintRight": (0.8676, {"eyeOpenRight": -1.799, "cornerRight": -0.0939}),  # r 0.84 / 0.82
    "eyeWideLeft": (-0.268, {"eyeOpenLeft": 0.9678}),  # r 0.88 / 0.84
    "eyeWideRight": (-0.3035, {"eyeOpenRight": 1.103}),  # r 0.87 / 0.87
    "mouthSmileLeft": (-1.269, {"cornerLeft": 0.3084, "mouthWidth": 0.2076}),  # r 0.84 / 0.88
    "mouthSmileRight": (-1.315, {"cornerRight": 0.2571, "mouthWidth": 0.2131}),  # r 0.80 / 0.85
    "mouthPucker": (2.885, {"mouthWidth": -0.462, "lipGap": 0.02729}),  # r 0.90 / 0.82
    "mouthFunnel": (0.593, {"mouthWidth": -0.1, "lipGap": 0.04149}),  # r 0.83 / 0.65
    "browInnerUp": (-1.244, {"browInnerLeft": 0.3567, "browInnerRight": 0.2871}),  # r 0.92 / 0.93
    "browDownLeft": (1.532, {"browInnerLeft": -0.3541, "browMidLeft": -0.19}),  # r 0.75 / 0.90
    "browDownRight": (1.361, {"browInnerRight": 0.4086, "browMidRight": -0.7485}),  # r 0.66 / 0.78
    "browOuterUpLeft": (-1.122, {"browOuterLeft": 0.9492, "browMidLeft": -0.1319}),  # r 0.96 / 0.91
    "browOuterUpRight": (-1.298, {"browOuterRight": 0.505, "browMidRight": 0.1905}),  # r 0.96 / 0.90
    "mouthLowerDownLeft": (0.4567, {"lipGap": 0.1084, "jawDrop": -0.05479}),  # r 0.71 / 0.62
    "mouthLowerDownRight": (0.56, {"lipGap": 0.1352, "jawDrop": -0.06726}),  # r 0.74 / 0.60
    "mouthStretchLeft": (-0.2718, {"mouthWidth": 0.04555, "cornerLeft": -0.03344}),  # r 0.59 / 0.81
    "mouthStretchRight": (-0.3687, {"mouthWidth": 0.06211, "cornerRight": 0.007858}),  # r 0.57 / 0.63
    "mouthPressLeft": (0.3326, {"upperLipThick": -0.03072, "lowerLipThick": -0.183}),  # r 0.52 / 0.64
    "mouthPressRight": (0.4781, {"upperLipThick": -0.1063, "lowerLipThick": -0.2481}),  # r 0.60 / 0.61
    "eyeLookOutLeft": (0.177, {"irisLeftX": 0.3723}),  # r 0.24 / 0.82
    "eyeLookInLeft": (0.07613, {"irisLeftX": -0.5152}),  # r 0.34 / 0.64
    "eyeLookUpLeft": (-0.094, {"irisLeftY": -2.772, "eyeOpenLeft": 0.1349}),  # r 0.74 / 0.58
    "eyeLookDownLeft": (0.6714, {"irisLeftY": 5.105, "eyeOpenLeft": -0.4762}),  # r 0.83 / 0.84
    "eyeLookOutRight": (0.04961, {"irisRightX": -0.1976}),  # r 0.28 / 0.59
    "eyeLookInRight": (0.2145, {"irisRightX": 0.722}),  # r 0.40 / 0.64
    "eyeLookUpRight": (0.00967, {"irisRightY": -2.308, "eyeOpenRight": -0.1245}),  # r 0.60 / 0.49
    "eyeLookDownRight": (0.5162, {"irisRightY": 3.82, "eyeOpenRight": -0.205}),  # r 0.63 / 0.85
}


def blendshapes_from_features(features: np.ndarray) -> np.ndarray:
    """51 ARKit-style scores from ``face_features`` (rows may be a (T, F) batch)."""
    f = np.atleast_2d(np.asarray(features, dtype=np.float64))
    out = np.zeros((f.shape[0], len(code.BLENDSHAPE_NAMES)))
    col = {n: i for i, n in enumerate(FEATURE_NAMES)}
    for name, (bias, weights) in _BLEND_MAPS.items():
        v = np.full(f.shape[0], bias)
        for feat, w in weights.items():
            v += w * f[:, col[feat]]
        out[:, code.BLENDSHAPE_NAMES.index(name)] = v
    out = np.clip(out, 0.0, 1.0)
    return out if np.ndim(features) > 1 else out[0]


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """(T,) inner-lip gap / face height from (T, 478, 2 or 3) landmarks in any consistent unit."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim == 2:
        lm = lm[None]
    if lm.ndim != 3 or lm.shape[1] <= max(UPPER_INNER_LIP, LOWER_INNER_LIP, FOREHEAD, CHIN):
        raise ValueError(f"expected (frames, 478, 2|3) landmarks, got {lm.shape}")
    xy = lm[..., :2]  # z is a depth estimate in other units; the gap is an image-plane measure
    gap = np.linalg.norm(xy[:, UPPER_INNER_LIP] - xy[:, LOWER_INNER_LIP], axis=-1)
    height = np.linalg.norm(xy[:, FOREHEAD] - xy[:, CHIN], axis=-1)
    # Frames without a face (all-zero landmarks) give 0/0: report them as NaN, not as closed lips.
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(height > 1e-6, gap / np.maximum(height, 1e-12), np.nan)
    return out.astype(np.float64)
