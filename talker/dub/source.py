"""The video being dubbed, analysed once: every frame's face, which frames may be changed, and
the mouths it offers. Cached by content, so a second dub of the same video starts at once.

Unlike a reference (``talker.reference``), nothing is capped to a prompt: every frame is kept.
The frame rate is the source's own where it is a constant standard rate up to ``max_fps``
(each source frame is one output frame); a variable or odd rate is resampled to 25 fps and a
higher one halved (50/60 → 25/30), as the message says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, loudness, vad
from ..errors import InputError, NoFaceError
from ..media import decode
from ..media.probe import check_file, probe
from ..motion.code import HEAD_ROTATION
from ..paths import cache_dir, private_tmp
from ..reference.cache import content_hash
from ..reference.features import ReferenceFeatures, segments_mask
from ..render.base import even_size
from ..render.mouth import face_heights

DUB_VERSION = 3  # 2: unsmoothed landmarks; 3: frames between model frames interpolated or seen
STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0)
# analyses kept in the cache (each holds up to ``pool_bytes`` of frames): the oldest go first, so
# a public app's disk does not fill with every video ever uploaded
KEEP_ANALYSES = 6


@dataclass
class SourceConfig:
    max_seconds: float = 600.0  # a request dubs at most this much video (ten minutes)
    max_fps: float = 30.0
    max_side: int = 1280
    pool_seconds: float = 20.0  # frames kept to draw mouths from, spread over the video
    pool_bytes: int = 600 << 20  # ... and at most this much of them (a memory map in the cache)
    max_yaw_deg: float = 45.0  # a face turned further passes through untouched
    min_face_px: float = 40.0  # so does a face smaller than this (forehead to chin)
    # MediaPipe on every other frame, and on the frames between only where the head moves quickly
    # (``track_frames(skip_slow=True)``); mouths are drawn only from frames the model saw
    skip_slow: bool = True
    # landmarks are not smoothed: a mouth is painted where the face is in that very frame. The
    # tracker's smoothing (for driving a face) lags a quick head turn by several pixels, and the
    # mouths painted there slid off the face (frames at 30 dB outside the mouth on one clip)
    face: str = "largest"  # the face dubbed in a video showing several: "largest", "left" or "right"
    face_model: str | None = None
    tracker_backend: str = "auto"
    use_cache: bool = True


@dataclass
class SourceVideo:
    name: str
    content_hash: str
    fps: float
    size: tuple[int, int]  # (width, height) of the output frames
    landmarks: np.ndarray  # (n, 478, 2) float32, output pixels
    motion: np.ndarray  # (n, 61) float32
    detected: np.ndarray  # (n,) bool: a face found (before gap filling)
    gap: np.ndarray  # (n,) float32 lip gap / face height as shown
    usable: np.ndarray  # (n,) bool: the mouth of this frame may be changed
    audio: np.ndarray | None  # mono float32 at SAMPLE_RATE, n / fps long; None without sound
    speech_segments: list[tuple[float, float]]
    pool: np.ndarray  # (P,) source frames whose images are kept to draw mouths from
    pool_path: Path
    warnings: list[str] = field(default_factory=list)
    max_faces: int = 1
    timings: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    _pool_images: np.ndarray | None = field(default=None, repr=False)

    @property
    def frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def speaking(self) -> np.ndarray:
        return segments_mask(self.speech_segments, self.fps, self.frames)

    def pool_frames(self) -> np.ndarray:
        """The pool's pictures (P, H, W, 3), memory-mapped once: a cache entry pruned by another
        job meanwhile stays readable through the open map."""
        if self._pool_images is None:
            self._pool_images = np.load(self.pool_path, mmap_mode="r")
        return self._pool_images

    def reference(self, seconds: float = 30.0) -> ReferenceFeatures:
        """The first ``seconds`` as a reference: the speaker's mouth range and voice for the new
        speech (no transcript: nothing here needs one)."""
        n = min(self.frames, int(round(seconds * self.fps)))
        audio = None
        if self.audio is not None and self.speech_segments:
            audio = loudness.normalize(self.audio[: int(round(n * SAMPLE_RATE / self.fps))], SAMPLE_RATE)
        lm = np.concatenate([self.landmarks[:n], np.zeros((n, self.landmarks.shape[1], 1), np.float32)], axis=2)
        boxes = np.stack([lm[:, :, 0].min(1), lm[:, :, 1].min(1), lm[:, :, 0].max(1), lm[:, :, 1].max(1)], 1)
        segs = [(a, min(b, n / self.fps)) for a, b in self.speech_segments if a < n / self.fps]
        return ReferenceFeatures(source=self.name, content_hash=self.content_hash, kind="video",
                                 motion=self.motion[:n], landmarks=lm, boxes=boxes, detected=self.detected[:n],
                                 frame_size=self.size, fps=self.fps, span=(0.0, n / self.fps), audio=audio,
                                 speech_segments=segs, mouth_gap=self.gap[:n])


def output_rate(fps: float, max_fps: float = 30.0) -> tuple[float, str | None]:
    """The dub's frame rate for a source declared at ``fps``, and a note when it is not the source's."""
    if fps and fps > max_fps + 0.5:
        half = fps / 2
        r = min(STANDARD_RATES, key=lambda r: abs(half - r))
        if abs(half - r) < 0.02 * r and r <= max_fps + 1e-6:
            return r, f"The video's {fps:g} fps were resampled to {r:g} fps (at most {max_fps:g} fps are dubbed)."
        return float(max_fps), f"The video's {fps:g} fps were resampled to {max_fps:g} fps."
    r = min(STANDARD_RATES, key=lambda r: abs(fps - r)) if fps else 0.0
    if fps and abs(fps - r) < 0.002 * r:
        return r, None
    return 25.0, (f"The video's frame rate ({fps:.2f} fps on average) is variable or unusual: it was resampled to "
                  "25 fps, so some frames are repeated or dropped.")


def analyze_source(path: str | Path, config: SourceConfig | None = None, progress=None) -> SourceVideo:
    """Probe, refuse what cannot be dubbed (with the reason and the fix), then track every frame."""
    cfg = config or SourceConfig()
    p = check_file(path)
    info = probe(p)
    if info.is_image:
        raise InputError(f"'{p.name}' is a picture, not a video.",
                         "Dubbing keeps a video's frames and changes the mouth: give a video file. To make a photo "
                         "speak, use it as the reference (the Generate tab, or python -m talker generate).")
    if not info.has_video:
        raise InputError(f"'{p.name}' has sound but no picture.",
                         "Give the video to dub as the video, and new speech as --audio or --text.")
    if info.duration and info.duration > cfg.max_seconds + 0.5:
        raise InputError(f"'{p.name}' is {info.duration / 60:.1f} min long; at most {cfg.max_seconds / 60:.0f} min "
                         "are dubbed in one request.",
                         f"Cut it into parts of up to {cfg.max_seconds / 60:.0f} minutes and dub each.")
    fps, note = output_rate(info.fps, cfg.max_fps)
    size = even_size(info.width, info.height, cfg.max_side)
    notes = [note] if note else []
    if size != (info.width, info.height):
        notes.append(f"The video ({info.width}×{info.height}) was scaled to {size[0]}×{size[1]} "
                     f"(at most {cfg.max_side} px a side are dubbed).")
    digest = content_hash(p)
    from ..reference.analysis import AnalysisConfig, _face_model_id

    model_id = _face_model_id(AnalysisConfig(tracker_backend=cfg.tracker_backend, face_model=cfg.face_model))
    key = hashlib.sha256(f"{digest}|v{DUB_VERSION}|{fps}|{size}|{cfg.skip_slow}|{cfg.face}|{cfg.pool_seconds}|"
                         f"{cfg.pool_bytes}|{cfg.max_yaw_deg}|{cfg.min_face_px}|{model_id}".encode()).hexdigest()[:32]
    folder = cache_dir() / "dub" / key
    if cfg.use_cache and (folder / "done").is_file():
        try:
            src = _load(folder, p.name)
            os.utime(folder)  # used now: the last to be pruned
            src.warnings = notes + src.warnings
            return src
        except Exception:  # noqa: BLE001 - a torn or pruned entry is analysed again
            pass
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "done").unlink(missing_ok=True)
    _prune(folder.parent, keep=KEEP_ANALYSES, spare=folder)
    src = _analyze(p, info, digest, fps, size, cfg, folder, progress)
    src.pool_frames()  # mapped now: a later prune by another job cannot take it away
    if cfg.use_cache:
        _save(src, folder)
    src.warnings = notes + src.warnings
    return src


def _analyze(p: Path, info, digest: str, fps: float, size: tuple[int, int], cfg: SourceConfig, folder: Path,
             progress) -> SourceVideo:
    from ..tracking.tracker import track_frames

    timings: dict[str, float] = {}
    t = time.perf_counter()
    # a file that does not say how long it is (a browser recording, a raw stream) is sized as the
    # longest allowed and stopped there
    n_est = max(1, int(round((info.duration or cfg.max_seconds) * fps)) + 2)
    limit = int(round(cfg.max_seconds * fps)) + 1
    frame_bytes = size[0] * size[1] * 3
    cap = max(8, min(int(cfg.pool_seconds * fps), cfg.pool_bytes // frame_bytes))
    stride = 2 if cfg.skip_slow else 1
    every = stride * max(1, -(-n_est // (stride * cap)))  # pool frames are model frames
    rows = -(-n_est // every) + 1
    pool_path = folder / "pool.npy"
    tmp = private_tmp(pool_path)
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(rows, size[1], size[0], 3))
    kept: list[int] = []

    def frames():
        for i, frame in enumerate(decode.iter_frames(p, fps, info=info, size=size)):
            if i >= limit:
                raise InputError(f"'{p.name}' is longer than {cfg.max_seconds / 60:.0f} min; at most "
                                 f"{cfg.max_seconds / 60:.0f} min are dubbed in one request.",
                                 f"Cut it into parts of up to {cfg.max_seconds / 60:.0f} minutes and dub each.")
            if i % every == 0 and len(kept) < rows:
                arr[len(kept)] = frame
                kept.append(i)
            if progress is not None and i % 50 == 0:
                progress(min(0.9, i / n_est), "tracking the face in every frame")
            yield frame

    try:
        with contextlib.closing(frames()) as source:
            tr = track_frames(source, fps, model_path=cfg.face_model, backend=cfg.tracker_backend,
                              source_name=p.name, skip_slow=cfg.skip_slow, num_faces=2, threads=2,
                              smooth=False, face=cfg.face)
    except NoFaceError as e:
        arr = None
        tmp.unlink(missing_ok=True)
        raise NoFaceError(f"No face to dub: {e.problem}", "Give a video where the speaker's face is visible.") from None
    except BaseException:
        arr = None
        tmp.unlink(missing_ok=True)
        raise
    arr.flush()
    arr = None
    timings["decode_track"] = time.perf_counter() - t
    n = tr.num_frames
    kept_arr = _finish_pool(tmp, pool_path, np.array([k for k in kept if k < n], dtype=np.int64))
    warnings = list(tr.warnings)
    if tr.face_ratio < 0.05:
        raise NoFaceError(f"A face was found in only {tr.face_ratio:.0%} of the frames of '{p.name}'.",
                          "Give a video where the speaker's face is visible most of the time.")
    lm = tr.landmarks[:, :, :2].astype(np.float32)
    usable, why = _usable(tr, lm, cfg)
    if why:
        warnings.append(why)
    t = time.perf_counter()
    audio, segments = _source_audio(p, info, n, fps)
    timings["audio"] = time.perf_counter() - t
    return SourceVideo(name=p.name, content_hash=digest, fps=fps, size=size, landmarks=lm,
                       motion=tr.motion.astype(np.float32), detected=tr.detected, gap=tr.mouth_gap.astype(np.float32),
                       usable=usable, audio=audio, speech_segments=segments, pool=kept_arr, pool_path=pool_path,
                       warnings=warnings, max_faces=tr.max_faces, timings=timings,
                       info={"width": info.width, "height": info.height, "fps": info.fps, "duration": info.duration})


def _finish_pool(tmp: Path, pool_path: Path, kept: np.ndarray) -> np.ndarray:
    """Move the pool's pictures into place (only ``kept``'s rows, when fewer frames came than the
    container said); the source frames they are."""
    full = np.load(tmp, mmap_mode="r")
    if kept.size < full.shape[0]:
        tmp_small = private_tmp(pool_path.with_name("pool-small.npy"))
        small = np.lib.format.open_memmap(tmp_small, mode="w+", dtype=np.uint8, shape=(kept.size, *full.shape[1:]))
        small[:] = full[: kept.size]
        small.flush()
        del small, full
        tmp.unlink(missing_ok=True)
        tmp_small.replace(pool_path)
    else:
        del full
        tmp.replace(pool_path)
    return kept


def _source_audio(p: Path, info, n: int, fps: float):
    """The video's sound at SAMPLE_RATE, exactly ``n`` frames long, and its speech segments."""
    audio, segments = None, []
    if info.has_audio:
        audio = decode.read_audio(p, SAMPLE_RATE, info=info)
        want = int(round(n * SAMPLE_RATE / fps))
        audio = np.pad(audio[:want], (0, max(0, want - audio.size))).astype(np.float32)
        if loudness.rms_dbfs(audio) > -55.0:
            segments = [(s.start, s.end) for s in vad.speech_segments(audio, SAMPLE_RATE)]
    return audio, segments


def _usable(tr, lm: np.ndarray, cfg: SourceConfig) -> tuple[np.ndarray, str]:
    """Frames whose mouth may be changed: a face found (and the frames either side, where the
    track is least sure), turned at most ``max_yaw_deg``, at least ``min_face_px`` tall."""
    det = tr.detected.copy()
    lost = ~det
    near = lost.copy()
    near[1:] |= lost[:-1]
    near[:-1] |= lost[1:]
    yaw = np.degrees(np.abs(tr.motion[:, HEAD_ROTATION][:, 1]))
    turned = yaw > cfg.max_yaw_deg
    small = face_heights(lm) < cfg.min_face_px
    usable = ~(near | turned | small)
    parts = []
    n = usable.size
    for what, mask in (("no face was found", lost), ("the face is turned away", turned & det),
                       ("the face is too small", small & det)):
        if mask.any():
            parts.append(f"{what} in {int(mask.sum())}")
    why = ""
    if parts:
        why = (f"{int((~usable).sum())} of {n} frames pass through unchanged ({'; '.join(parts)}).")
    return usable, why


def _prune(root: Path, keep: int, spare: Path) -> None:
    """Remove the oldest analyses, all but the ``keep - 1`` latest and ``spare`` (``done`` first, so
    a half-removed entry is never taken for a whole one)."""
    import shutil

    def age(d: Path) -> float:
        try:
            return d.stat().st_mtime
        except OSError:  # removed by another job meanwhile
            return -1.0

    entries = sorted((d for d in root.iterdir() if d.is_dir() and d != spare), key=age)
    for old in entries[: max(0, len(entries) - (keep - 1))]:
        (old / "done").unlink(missing_ok=True)
        shutil.rmtree(old, ignore_errors=True)


_ARRAYS = ("landmarks", "motion", "detected", "gap", "usable", "pool")


def _save(src: SourceVideo, folder: Path) -> None:
    arrays = {k: getattr(src, k) for k in _ARRAYS}
    if src.audio is not None:
        arrays["audio"] = src.audio
    tmp = private_tmp(folder / "track.npz")
    np.savez(tmp, **arrays)
    tmp.replace(folder / "track.npz")
    meta = {"name": src.name, "content_hash": src.content_hash, "fps": src.fps, "size": list(src.size),
            "speech_segments": src.speech_segments, "warnings": src.warnings, "max_faces": src.max_faces,
            "timings": src.timings, "info": src.info}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "done").write_text("1")


def _load(folder: Path, name: str) -> SourceVideo:
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "track.npz") as z:
        arrays = {k: z[k] for k in z.files}
    images = np.load(folder / "pool.npy", mmap_mode="r")
    if images.shape[0] != arrays["pool"].size:
        raise ValueError("torn cache entry")
    return SourceVideo(_pool_images=images, name=name, content_hash=meta["content_hash"], fps=float(meta["fps"]),
                       size=tuple(meta["size"]), audio=arrays.pop("audio", None),
                       speech_segments=[tuple(s) for s in meta["speech_segments"]], pool_path=folder / "pool.npy",
                       warnings=list(meta["warnings"]), max_faces=int(meta["max_faces"]),
                       timings={"cache_load": 0.0}, info=meta["info"], **arrays)
