"""The result of analysing a reference: everything later stages need, nothing they must recompute."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..motion.code import FPS, MOTION_DIM
from ..paths import private_tmp

# 2: mouth_gap; 3: audio on the file clock (late audio is no longer early); 4: cuts
ANALYSIS_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)  # an older template still loads; it lacks what came later


def segments_mask(segments, fps: float, frames: int) -> np.ndarray:
    """(frames,) bool: the frames inside ``segments`` ((start, end) seconds)."""
    mask = np.zeros(frames, bool)
    for a, b in segments or []:
        mask[int(a * fps): int(np.ceil(b * fps))] = True
    return mask


@dataclass
class ReferenceFeatures:
    source: str  # file name of the clip or photo (no directories: it is shown to users)
    content_hash: str
    kind: str  # "video" or "image"
    motion: np.ndarray  # (T, 61) float32 at ``fps``
    landmarks: np.ndarray  # (T, 478, 3) float32, pixels of the source frame
    boxes: np.ndarray  # (T, 4) float32 face boxes x0, y0, x1, y1
    detected: np.ndarray  # (T,) bool, face seen in that frame before gap filling
    frame_size: tuple[int, int]  # (width, height) of the source frames
    fps: float = FPS
    span: tuple[float, float] = (0.0, 0.0)  # seconds of the source used as reference
    audio: np.ndarray | None = None  # mono float32 at ``sample_rate``, exactly frames / fps long
    sample_rate: int = SAMPLE_RATE
    transcript: str = ""
    language: str = ""
    transcript_source: str = "none"  # "user", "asr:<backend>" or "none"
    words: list[dict] = field(default_factory=list)  # {"text", "start", "end", "probability"}, seconds in the span
    speech_segments: list[tuple[float, float]] = field(default_factory=list)  # seconds in the span
    tracker_backend: str = ""
    max_faces: int = 1
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source_info: dict = field(default_factory=dict)
    version: int = ANALYSIS_VERSION
    # (T,) float32 lip gap / face height of each frame as shown (unsmoothed landmarks); None in
    # version-1 analyses
    mouth_gap: np.ndarray | None = None
    # frames that start a new take of a clip joined from several (``reference.takes``); None in
    # analyses before version 4 (``TalkerPipeline.template`` finds them in such a template's clip)
    cuts: list[int] | None = None

    @property
    def frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.kind == "video" else 0.0

    @property
    def speaking(self) -> np.ndarray:
        """(frames,) bool: the frames inside the speech segments (all False without speech)."""
        return segments_mask(self.speech_segments, self.fps, self.frames)

    @property
    def face_ratio(self) -> float:
        return float(np.mean(self.detected)) if self.detected.size else 0.0

    @property
    def face_found(self) -> bool:
        return bool(self.detected.any())

    def summary(self) -> dict:
        """The JSON a person or a script reads (``reference analyze --json``)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "duration": round(self.duration, 3),
            "fps": self.fps,
            "frames": self.frames,
            "motion_shape": list(self.motion.shape),
            "transcript": self.transcript,
            "language": self.language,
            "transcript_source": self.transcript_source,
            "face_found": self.face_found,
            "face_ratio": round(self.face_ratio, 4),
            "frame_size": list(self.frame_size),
            "span": [round(self.span[0], 3), round(self.span[1], 3)],
            "tracker_backend": self.tracker_backend,
            "max_faces": self.max_faces,
            "warnings": list(self.warnings),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "content_hash": self.content_hash,
            "cuts": self.cuts,
        }

    # -- persistence: one .npz for arrays, one .json for the rest ------------------------------
    _ARRAYS = ("motion", "landmarks", "boxes", "detected", "audio", "mouth_gap")

    def save(self, directory: str | Path, *, pcm16_audio: bool = False) -> None:
        """Arrays to ``features.npz``, the rest to ``features.json``. ``pcm16_audio`` stores the audio
        as 16-bit PCM, half the size (templates shipped in the repository: 12 s of float32 audio
        compresses to ~1 MB, as PCM to ~0.45 MB; the clip's own AAC is coarser than 16 bits)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k) for k in self._ARRAYS if getattr(self, k) is not None}
        arrays["landmarks"] = arrays["landmarks"].astype(np.float16)  # half the size, sub-pixel precise
        if pcm16_audio and "audio" in arrays:
            arrays["audio"] = np.round(np.clip(arrays["audio"], -1.0, 32767 / 32768) * 32768).astype(np.int16)
        tmp = private_tmp(d / "features.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(d / "features.npz")
        meta = {k: v for k, v in asdict(self).items() if k not in self._ARRAYS}
        tmp = private_tmp(d / "features.json")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        tmp.replace(d / "features.json")

    @classmethod
    def load(cls, directory: str | Path) -> ReferenceFeatures:
        d = Path(directory)
        meta = json.loads((d / "features.json").read_text())
        if meta.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"features version {meta.get('version')} is not one of {READABLE_VERSIONS}")
        with np.load(d / "features.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays["landmarks"] = arrays["landmarks"].astype(np.float32)
        if "audio" in arrays and arrays["audio"].dtype == np.int16:
            arrays["audio"] = arrays["audio"].astype(np.float32) / np.float32(32768)
        arrays.setdefault("audio", None)
        arrays.setdefault("mouth_gap", None)
        meta["frame_size"] = tuple(meta["frame_size"])
        meta["span"] = tuple(meta["span"])
        meta["speech_segments"] = [tuple(s) for s in meta["speech_segments"]]
        feats = cls(**meta, **arrays)
        assert feats.motion.shape[1] == MOTION_DIM
        return feats

    @staticmethod
    def exists(directory: str | Path) -> bool:
        d = Path(directory)
        return (d / "features.npz").is_file() and (d / "features.json").is_file()
