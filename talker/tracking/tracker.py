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

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..errors import FaceTooSmallError, ModelUnavailableError, NoFaceError
from ..motion import code
from . import geometry
from .landmarker_model import find_face_landmarker
from .smoothing import fill_gaps, one_euro

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
    ms_per_frame: float = 0.0             # detection time only, for speed reports
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


def _largest(faces: list[np.ndarray]) -> int:
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in map(_box, faces)]
    return int(np.argmax(areas))


class _LandmarkerBackend:
    """FaceLandmarker in VIDEO mode (tracking between frames) or IMAGE mode (stills)."""

    name = "face_landmarker"

    def __init__(self, model_path: str, image_mode: bool, fps: float) -> None:
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self.image_mode = image_mode
        self.fps = fps
        self._last_ts = -1
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE if image_mode else vision.RunningMode.VIDEO,
            num_faces=MAX_FACES,
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
        k = _largest(faces)
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

    def __init__(self, image_mode: bool) -> None:
        from mediapipe.python.solutions import face_mesh

        self._fm = face_mesh.FaceMesh(static_image_mode=image_mode, max_num_faces=MAX_FACES,
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
        k = _largest(faces)
        lm = faces[k]
        blend = geometry.blendshapes_from_features(geometry.face_features(lm))
        pose = geometry.head_pose_from_landmarks(lm, w, h)
        return len(faces), lm, blend, pose

    def close(self) -> None:
        self._fm.close()


def _open_backend(backend: str, model_path: str | None, image_mode: bool, fps: float, warnings: list[str]):
    if backend not in {"auto", "landmarker", "face_mesh"}:
        raise ValueError(f"backend must be 'auto', 'landmarker' or 'face_mesh', not {backend!r}")
    if backend in {"auto", "landmarker"}:
        path = find_face_landmarker(model_path)
        if path is not None:
            try:
                return _LandmarkerBackend(str(path), image_mode, fps)
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
    return _FaceMeshBackend(image_mode)


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
) -> TrackResult:
    """Track the (largest) face through RGB uint8 frames at a constant ``fps``.

    Raises ``NoFaceError`` when no frame has a face and ``FaceTooSmallError`` when the
    median face is under 64 px tall; a face found in under half the frames is only a warning
    because the caller knows whether a partial track is still usable.
    """
    warnings: list[str] = []
    det = _open_backend(backend, model_path, image_mode, fps, warnings)
    lms, blends, poses, max_faces, size, spent = _detect_all(det, frames)

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


def _detect_all(det, frames: Iterable[np.ndarray]):
    """Run the backend over every frame (and close it): per-frame landmarks, blendshapes and pose
    (None where no face), the most faces seen at once, the frame size and the detection seconds."""
    lms: list[np.ndarray | None] = []
    blends: list[np.ndarray | None] = []
    poses: list[np.ndarray | None] = []
    max_faces = 0
    size: tuple[int, int] | None = None
    spent = 0.0
    try:
        for i, frame in enumerate(frames):
            rgb = _as_rgb(frame)
            if size is None:
                size = (rgb.shape[1], rgb.shape[0])
            t0 = time.perf_counter()
            n, lm, blend, pose = det(i, rgb)
            spent += time.perf_counter() - t0
            max_faces = max(max_faces, n)
            lms.append(lm)
            blends.append(blend)
            poses.append(pose)
    finally:
        det.close()
    return lms, blends, poses, max_faces, size, spent


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
