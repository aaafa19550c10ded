"""Face tracking: frames -> 61-d motion code, 478 landmarks and face boxes per frame.

Primary backend: MediaPipe Tasks FaceLandmarker (blendshapes and the face transform come
straight from the model). Fallback, when the ``.task`` bundle cannot be found or loaded:
the legacy face-mesh graph whose model ships inside the mediapipe wheel, with blendshapes
and head pose estimated geometrically (``geometry.py``). Either way the output has the same
shapes, units and sign conventions (documented in ``geometry.py``), so later stages never
care which one ran; ``backend`` and ``warnings`` say what happened.

Imports note: ``mediapipe.tasks.python`` imports its audio package, which tries
``import sounddevice``; without PortAudio that raises OSError, which mediapipe itself
catches, so importing the vision API is safe on machines without audio libraries.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..errors import FaceTooSmallError, ModelUnavailableError, NoFaceError
from ..motion import code
from . import geometry
from . import landmarks as landmarks_mod
from .landmarker_model import find_face_landmarker
from .smoothing import fill_gaps, one_euro

log = logging.getLogger(__name__)

N_LANDMARKS = 478
MIN_FACE_HEIGHT_PX = 64
MIN_FACE_RATIO = 0.5
MAX_FACES = 3
FALLBACK_WARNING = (
    "MediaPipe face_landmarker.task not found: using the bundled face-mesh fallback with "
    "geometric blendshape estimates (lower quality)"
)

# One-Euro settings (min_cutoff Hz, beta per unit/s). Pose and landmarks are smoothed firmly;
# blendshapes and gaze only lightly, because a blink or a lip closure lasts 3-5 frames and a
# firm filter would halve it.
_SMOOTH_LANDMARKS = (2.0, 0.05)
_SMOOTH_BOXES = (1.0, 0.02)
_SMOOTH_ROTATION = (1.5, 2.0)
_SMOOTH_TRANSLATION = (1.5, 0.5)
_SMOOTH_BLENDSHAPES = (6.0, 2.0)
_SMOOTH_EYES = (4.0, 2.0)


def smooth_rotation(rotation: np.ndarray, fps: float) -> np.ndarray:
    """Head rotation (T, 3) smoothed as reference analysis smooths it, so a measure can compare an
    unsmoothed track with a reference's on equal terms."""
    return one_euro(np.asarray(rotation, dtype=np.float64), fps, *_SMOOTH_ROTATION)


@dataclass
class TrackResult:
    motion: np.ndarray       # (T, 61) float32, smoothed, short gaps interpolated
    landmarks: np.ndarray    # (T, 478, 3) float32; x, y pixels; z = mediapipe z * width
    boxes: np.ndarray        # (T, 4) float32 x0, y0, x1, y1 pixels (landmark bounding box)
    detected: np.ndarray     # (T,) bool: face found in that frame (before gap filling)
    backend: str             # "face_landmarker" or "face_mesh_fallback"
    warnings: list[str] = field(default_factory=list)
    max_faces: int = 0
    frame_size: tuple[int, int] = (0, 0)  # (width, height)
    ms_per_frame: float = 0.0             # tracking wall time per frame (decoding included), for speed reports
    # inner-lip gap / face height from the unsmoothed landmarks: the lips as each frame shows
    # them (smoothing rounds off a 3-frame closure), for anything that picks frames by mouth
    mouth_gap: np.ndarray | None = None

    @property
    def face_ratio(self) -> float:
        return float(self.detected.mean()) if self.detected.size else 0.0

    @property
    def num_frames(self) -> int:
        return int(self.detected.shape[0])


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame)
    if f.ndim == 2:
        f = np.stack([f] * 3, axis=-1)
    elif f.shape[-1] == 4:
        f = f[..., :3]
    if f.dtype != np.uint8:
        f = np.clip(f, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(f)


def _box(lm: np.ndarray) -> np.ndarray:
    return np.array([lm[:, 0].min(), lm[:, 1].min(), lm[:, 0].max(), lm[:, 1].max()])


FACE_CHOICES = ("largest", "left", "right")  # which face is tracked when a frame shows several


def _pick(faces: list[np.ndarray], how: str = "largest") -> int:
    """The face to track: the largest, or the leftmost / rightmost (by the centre of its box)."""
    boxes = [_box(f) for f in faces]
    if how == "left":
        return int(np.argmin([b[0] + b[2] for b in boxes]))
    if how == "right":
        return int(np.argmax([b[0] + b[2] for b in boxes]))
    return int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]))


class _LandmarkerBackend:
    """FaceLandmarker in VIDEO mode (tracking between frames) or IMAGE mode (stills)."""

    name = "face_landmarker"

    def __init__(self, model_path: str, image_mode: bool, fps: float, num_faces: int = MAX_FACES,
                 face: str = "largest") -> None:
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self.image_mode = image_mode
        self.fps = fps
        self.face = face
        self._last_ts = -1
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE if image_mode else vision.RunningMode.VIDEO,
            num_faces=num_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._lm = vision.FaceLandmarker.create_from_options(opts)

    def __call__(self, i: int, frame: np.ndarray):
        import mediapipe as mp

        h, w = frame.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
        if self.image_mode:
            res = self._lm.detect(image)
        else:
            ts = max(int(round(i * 1000.0 / self.fps)), self._last_ts + 1)  # must strictly increase
            self._last_ts = ts
            res = self._lm.detect_for_video(image, ts)
        if not res.face_landmarks:
            return 0, None, None, None
        faces = [np.array([(p.x * w, p.y * h, p.z * w) for p in f], dtype=np.float64) for f in res.face_landmarks]
        k = _pick(faces, self.face)
        blend = np.zeros(len(code.BLENDSHAPE_NAMES))
        if res.face_blendshapes:
            scores = {c.category_name: c.score for c in res.face_blendshapes[k]}
            blend = np.array([scores.get(n, 0.0) for n in code.BLENDSHAPE_NAMES])
        pose = np.full(6, np.nan)
        if res.facial_transformation_matrixes:
            pose = geometry.matrix_to_pose(res.facial_transformation_matrixes[k])
        return len(faces), faces[k], blend, pose

    def close(self) -> None:
        self._lm.close()


class _FaceMeshBackend:
    """Legacy face-mesh graph; its model is inside the mediapipe wheel, so it always works."""

    name = "face_mesh_fallback"

    def __init__(self, image_mode: bool, num_faces: int = MAX_FACES, face: str = "largest") -> None:
        from mediapipe.python.solutions import face_mesh

        self.face = face
        self._fm = face_mesh.FaceMesh(static_image_mode=image_mode, max_num_faces=num_faces,
                                      refine_landmarks=True, min_detection_confidence=0.5)

    def __call__(self, i: int, frame: np.ndarray):
        h, w = frame.shape[:2]
        res = self._fm.process(frame)
        if not res.multi_face_landmarks:
            return 0, None, None, None
        faces = [np.array([(p.x * w, p.y * h, p.z * w) for p in f.landmark], dtype=np.float64)
                 for f in res.multi_face_landmarks]
        faces = [f for f in faces if f.shape[0] == N_LANDMARKS]
        if not faces:
            return 0, None, None, None
        k = _pick(faces, self.face)
        lm = faces[k]
        blend = geometry.blendshapes_from_features(geometry.face_features(lm))
        pose = geometry.head_pose_from_landmarks(lm, w, h)
        return len(faces), lm, blend, pose

    def close(self) -> None:
        self._fm.close()


def _open_backend(backend: str, model_path: str | None, image_mode: bool, fps: float, warnings: list[str],
                  num_faces: int = MAX_FACES, face: str = "largest"):
    if face not in FACE_CHOICES:
        raise ValueError(f"face must be one of {FACE_CHOICES}, not {face!r}")
    if backend not in {"auto", "landmarker", "face_mesh"}:
        raise ValueError(f"backend must be 'auto', 'landmarker' or 'face_mesh', not {backend!r}")
    if backend in {"auto", "landmarker"}:
        path = find_face_landmarker(model_path)
        if path is not None:
            try:
                return _LandmarkerBackend(str(path), image_mode, fps, num_faces, face)
            except Exception as exc:  # corrupt or incompatible bundle
                if backend == "landmarker":
                    raise ModelUnavailableError(
                        f"MediaPipe's face landmarker model at '{path}' could not be loaded ({exc}).",
                        "Delete it so it is downloaded again, or set TALKER_FACE_LANDMARKER to a good copy.",
                    ) from exc
        elif backend == "landmarker":
            raise ModelUnavailableError(
                "MediaPipe's face_landmarker.task model was not found and could not be downloaded.",
                "Connect to the internet once, or download it from MediaPipe's model page and set "
                "TALKER_FACE_LANDMARKER to its path.",
            )
    if backend == "auto":
        warnings.append(FALLBACK_WARNING)
    return _FaceMeshBackend(image_mode, num_faces, face)


def track_frames(
    frames: Iterable[np.ndarray],
    fps: float = float(code.FPS),
    *,
    model_path: str | None = None,
    image_mode: bool = False,
    backend: str = "auto",
    source_name: str = "the clip",
    max_gap: int = 12,
    smooth: bool = True,
    skip_slow: bool = False,
    num_faces: int = MAX_FACES,
    threads: int = 1,
    face: str = "largest",
) -> TrackResult:
    """Track the (largest) face through RGB uint8 frames at a constant ``fps``.

    Raises ``NoFaceError`` when no frame has a face and ``FaceTooSmallError`` when the
    median face is under 64 px tall; a face found in under half the frames is only a warning
    because the caller knows whether a partial track is still usable.

    ``skip_slow``: the model runs on every other frame, and on a frame between only when the
    head moves quickly there; else that frame is the average of its neighbours (``_between``;
    half the model's work on a calm speaker). ``num_faces``: how many faces the
    model looks for (the largest is kept); MediaPipe runs its detector again on every frame
    where it tracks fewer, so 1 is the fastest (18.6 against 21.8 ms a frame at 512², 2 cores).
    ``threads``: that many landmarkers share the model frames, each on its own thread.
    ``face``: which face to follow in a frame with several (``FACE_CHOICES``).
    """
    warnings: list[str] = []
    det = _open_backend(backend, model_path, image_mode, fps, warnings, num_faces, face)
    more: list = []
    spare = None
    try:
        for _ in range(threads - 1 if not image_mode else 0):
            more.append(_open_backend(backend, model_path, image_mode, fps, [], num_faces, face))
        if skip_slow:
            spare = _open_backend(backend, model_path, image_mode, fps, [], num_faces, face)
    except BaseException:
        for d in [det, *more]:
            d.close()
        raise
    lms, blends, poses, max_faces, size, spent = _detect_all(det, frames, skip_slow, more, spare)

    t = len(lms)
    if t == 0 or size is None:
        raise NoFaceError(f"No frames to look for a face in {_name(source_name)}.",
                          "Give a video with at least one frame, or a photo.")
    detected = np.array([lm is not None for lm in lms])
    if not detected.any():
        raise NoFaceError(
            f"No face found in {_name(source_name)}.",
            "Use a clip or photo where one face is clearly visible, frontal and well lit.",
        )
    landmarks, motion, boxes = _per_frame_arrays(lms, blends, poses, detected)
    _check_face_size(boxes, detected, source_name)
    motion, landmarks, boxes, long_motion = _fill_track_gaps(motion, landmarks, boxes, detected, max_gap)
    warnings += _track_warnings(detected, long_motion, max_faces, max_gap, source_name)

    mouth_gap = geometry.mouth_opening(landmarks).astype(np.float32)
    if smooth and t > 2 and not image_mode:
        landmarks, boxes = _smooth_track(motion, landmarks, boxes, fps)

    return TrackResult(
        motion=motion.astype(np.float32),
        landmarks=landmarks.astype(np.float32),
        boxes=boxes.astype(np.float32),
        detected=detected,
        backend=det.name,
        warnings=warnings,
        max_faces=max_faces,
        frame_size=size,
        ms_per_frame=1000.0 * spent / t,
        mouth_gap=mouth_gap,
    )


# Skipping frames (``skip_slow``): a frame between two model frames is interpolated when the
# stable landmarks move less than this (face heights) from one model frame to the next, else the
# model runs on it too. On a clip with a quick 20° turn, frames carried along instead (by optical
# flow) put the landmarks a few pixels off and a mouth painted there slid off the face.
SKIP_MAX_MOVE = 0.012


def _detect_all(det, frames: Iterable[np.ndarray], skip_slow: bool = False, more=(), spare=None):
    """Run the backend over the frames (and close it): per-frame landmarks, blendshapes and pose
    (None where no face), the most faces seen at once, the frame size and the seconds spent.
    ``more``: further instances of the backend; the model frames are then shared out between them
    in turn, each on its own thread (MediaPipe lets go of the GIL: two landmarkers tracked 98
    frames in 0.83 s where one took 1.77 s). ``skip_slow``: the model runs on every other frame;
    a frame between is interpolated while the head moves slowly (``SKIP_MAX_MOVE``), else
    ``spare`` (one more instance) looks at it."""
    lms: list[np.ndarray | None] = []
    blends: list[np.ndarray | None] = []
    poses: list[np.ndarray | None] = []
    max_faces = 0
    size: tuple[int, int] | None = None
    t_start = time.perf_counter()
    dets = [det, *more]
    pools = [ThreadPoolExecutor(1) for _ in dets] if len(dets) > 1 else []
    pending: deque = deque()
    stable = list(landmarks_mod.STABLE)
    skipped = [0, 0]  # frames between model frames: interpolated, looked at

    def value(result):
        return result.result() if hasattr(result, "result") else result

    def settle() -> None:
        nonlocal max_faces
        i, result, rgb = pending.popleft()
        if result is None:  # a frame between two model frames
            after = value(pending[0][1]) if pending else (0, None, None, None)
            before = (1, lms[-1], blends[-1], poses[-1]) if lms else (0, None, None, None)
            n, lm, blend, pose = _between(before, after, rgb, i, spare, stable, skipped)
        else:
            n, lm, blend, pose = value(result)
        max_faces = max(max_faces, n)
        lms.append(lm)
        blends.append(blend)
        poses.append(pose)

    try:
        for i, frame in enumerate(frames):
            rgb = _as_rgb(frame)
            if size is None:
                size = (rgb.shape[1], rgb.shape[0])
            if skip_slow and i % 2:
                pending.append((i, None, rgb))
            else:
                m = i // 2 if skip_slow else i
                if pools:
                    k = m % len(dets)
                    pending.append((i, pools[k].submit(dets[k], i, rgb), None))
                else:
                    pending.append((i, det(i, rgb), None))
            while len(pending) > 4 * len(dets) + 1:
                settle()
        while pending:
            settle()
    finally:
        for pool in pools:
            pool.shutdown(wait=True)
        for d in [*dets, *([spare] if spare is not None else [])]:
            d.close()
    log.debug("frames between model frames: %d interpolated, %d looked at", *skipped)
    return lms, blends, poses, max_faces, size, time.perf_counter() - t_start


def _between(before, after, rgb, i: int, spare, stable: list[int], skipped: list[int]):
    """A frame between two model frames: their average when the face moves slowly from one to
    the other (and both saw it), else what ``spare`` sees."""
    (n0, lm0, b0, p0), (n1, lm1, b1, p1) = before, after
    if lm0 is not None and lm1 is not None and b0 is not None and b1 is not None:
        face_h = float(np.linalg.norm(lm0[landmarks_mod.CHIN, :2] - lm0[landmarks_mod.FOREHEAD, :2])) or 1.0
        move = float(np.median(np.linalg.norm(lm1[stable, :2] - lm0[stable, :2], axis=1))) / face_h
        if move < SKIP_MAX_MOVE or spare is None:
            skipped[0] += 1
            return max(n0, n1), 0.5 * (lm0 + lm1), 0.5 * (b0 + b1), 0.5 * (p0 + p1)
    if spare is None:
        return 0, None, None, None
    skipped[1] += 1
    return spare(i, rgb)


def _per_frame_arrays(lms: list, blends: list, poses: list, detected: np.ndarray):
    """Landmarks (T, 478, 3), motion (T, 61) and boxes (T, 4), zero where no face was found."""
    t = len(lms)
    landmarks = np.zeros((t, N_LANDMARKS, 3), dtype=np.float32)
    motion = np.zeros((t, code.MOTION_DIM), dtype=np.float32)
    for i in np.flatnonzero(detected):
        landmarks[i] = lms[i]
        motion[i, code.BLENDSHAPES] = blends[i]
        motion[i, code.HEAD] = poses[i]
        motion[i, code.EYES] = geometry.iris_offsets(lms[i])
    boxes = np.array([_box(lm) if lm is not None else np.zeros(4) for lm in lms], dtype=np.float32)
    return landmarks, motion, boxes


def _check_face_size(boxes: np.ndarray, detected: np.ndarray, source_name: str) -> None:
    """``FaceTooSmallError`` when the median detected face is under ``MIN_FACE_HEIGHT_PX`` tall."""
    heights = boxes[detected, 3] - boxes[detected, 1]
    median_h = float(np.median(heights))
    if median_h < MIN_FACE_HEIGHT_PX:
        raise FaceTooSmallError(
            f"The face in {_name(source_name)} is only about {median_h:.0f} px tall "
            f"(at least {MIN_FACE_HEIGHT_PX} px is needed).",
            "Use a closer shot or a higher-resolution video/photo, or crop around the face.",
        )


def _fill_track_gaps(motion: np.ndarray, landmarks: np.ndarray, boxes: np.ndarray, detected: np.ndarray,
                     max_gap: int):
    """Interpolate gaps up to ``max_gap`` frames; also returns which frames sit in longer gaps."""
    # A failed pose (solvePnP) is a gap in the head channels only.
    pose_ok = detected & np.isfinite(motion[:, code.HEAD]).all(axis=1)
    motion[~pose_ok, code.HEAD] = 0.0
    motion, long_motion = fill_gaps(motion, detected, max_gap)
    if (pose_ok != detected).any():
        motion[:, code.HEAD], _ = fill_gaps(motion[:, code.HEAD], pose_ok, max_gap)
    landmarks, _ = fill_gaps(landmarks, detected, max_gap)
    boxes, _ = fill_gaps(boxes, detected, max_gap)
    return motion, landmarks, boxes, long_motion


def _track_warnings(detected: np.ndarray, long_motion: np.ndarray, max_faces: int, max_gap: int,
                    source_name: str) -> list[str]:
    """What a caller should know about the track: several faces, missing frames, a low face ratio."""
    warnings = []
    t = detected.shape[0]
    missing = int((~detected).sum())
    if max_faces > 1:
        warnings.append(f"{max_faces} faces seen; the largest is used")
    if missing:
        msg = f"face missing in {missing} of {t} frames; gaps up to {max_gap} frames interpolated"
        if long_motion.any():
            msg += f", {int(long_motion.sum())} frames in longer gaps hold the nearest tracked pose"
        warnings.append(msg)
    ratio = float(detected.mean())
    if ratio < MIN_FACE_RATIO:
        warnings.append(f"face found in only {ratio:.0%} of the frames of {_name(source_name)}")
    return warnings


def _smooth_track(motion: np.ndarray, landmarks: np.ndarray, boxes: np.ndarray, fps: float):
    """One-Euro smoothing of every channel (``motion`` in place); returns the smoothed landmarks and boxes."""
    landmarks = one_euro(landmarks, fps, *_SMOOTH_LANDMARKS)
    boxes = one_euro(boxes, fps, *_SMOOTH_BOXES)
    motion[:, code.BLENDSHAPES] = np.clip(one_euro(motion[:, code.BLENDSHAPES], fps, *_SMOOTH_BLENDSHAPES), 0.0, 1.0)
    motion[:, code.HEAD_ROTATION] = smooth_rotation(motion[:, code.HEAD_ROTATION], fps)
    motion[:, code.HEAD_TRANSLATION] = one_euro(motion[:, code.HEAD_TRANSLATION], fps, *_SMOOTH_TRANSLATION)
    motion[:, code.EYES] = one_euro(motion[:, code.EYES], fps, *_SMOOTH_EYES)
    return landmarks, boxes


def _name(source_name: str) -> str:
    return source_name if source_name == "the clip" else f"'{source_name}'"
