"""Mouth opening per video frame, the visual half of every lip-sync measure.

Opening = inner-lip gap (MediaPipe landmarks 13 upper, 14 lower) / face height (10 forehead
to 152 chin). Dividing by face height makes it independent of resolution and of how close the
person is to the camera, so clips, crops and generated videos compare directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..motion.code import FPS
from ..tracking.geometry import mouth_opening  # noqa: F401 - the measure lives with the tracker

log = logging.getLogger(__name__)

TRACK_VERSION = 2  # 2: audio on the file clock (talker.media.decode)


@dataclass
class VideoTrack:
    """A video's face landmarks and its audio on one timeline starting at the first frame."""

    landmarks: np.ndarray  # (T, 478, 3) float32 pixels
    detected: np.ndarray  # (T,) bool
    fps: float
    audio: np.ndarray | None  # mono float32 at sample_rate, from time 0
    sample_rate: int
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def mouth(self) -> np.ndarray:
        m = mouth_opening(self.landmarks)
        m[~self.detected] = np.nan
        return m

    @property
    def frames(self) -> int:
        return int(self.landmarks.shape[0])


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def track_video(path: str | Path, fps: float = float(FPS), *, sample_rate: int = SAMPLE_RATE,
                smooth: bool = False, backend: str = "auto", use_cache: bool = True) -> VideoTrack:
    """Landmarks of every frame of ``path`` (resampled to ``fps``) plus its audio, cached by content.

    Tracking is unsmoothed by default: an evaluation must see the lips the video shows, and the
    tracker's smoothing (tuned for driving a face) rounds off short closures.
    """
    from ..media import decode
    from ..media.probe import check_file, probe
    from ..paths import cache_dir, private_tmp
    from ..tracking.landmarker_model import find_face_landmarker
    from ..tracking.tracker import track_frames

    p = check_file(path)
    # Key on the backend that will really run: a face-mesh fallback result must not be reused
    # once the landmarker model is available.
    resolved = backend
    if backend == "auto":
        resolved = "landmarker" if find_face_landmarker(allow_download=False) is not None else "face_mesh"
    key = hashlib.sha256(
        f"{_digest(p)}|v{TRACK_VERSION}|fps={fps}|sr={sample_rate}|smooth={smooth}|b={resolved}".encode()
    ).hexdigest()[:32]
    cdir = cache_dir() / "lipsync" / key
    if use_cache and (cdir / "track.npz").is_file():
        try:
            with np.load(cdir / "track.npz") as z:
                meta = json.loads((cdir / "track.json").read_text())
                return VideoTrack(z["landmarks"].astype(np.float32), z["detected"].astype(bool), float(meta["fps"]),
                                  z["audio"] if "audio" in z.files else None, int(meta["sample_rate"]), p.name,
                                  list(meta.get("warnings", [])))
        except Exception:  # noqa: BLE001 - a torn cache entry is recomputed
            log.info("recomputing torn lipsync cache entry %s", cdir)
    info = probe(p)
    tr = track_frames(decode.iter_frames(p, fps, info=info), fps, backend=backend, smooth=smooth,
                      source_name=p.name)
    audio = decode.read_audio(p, sample_rate, info=info) if info.has_audio else None
    out = VideoTrack(tr.landmarks, tr.detected, float(fps), audio, sample_rate, p.name, list(tr.warnings))
    if use_cache:
        cdir.mkdir(parents=True, exist_ok=True)
        arrays = {"landmarks": out.landmarks.astype(np.float32), "detected": out.detected}
        if audio is not None:
            arrays["audio"] = audio.astype(np.float32)
        (cdir / "track.json").write_text(json.dumps({"fps": fps, "sample_rate": sample_rate, "source": p.name,
                                                     "backend": tr.backend, "warnings": tr.warnings}))
        tmp = private_tmp(cdir / "track.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(cdir / "track.npz")  # last: its presence marks a complete entry
    return out

