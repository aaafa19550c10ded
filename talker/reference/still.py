"""A clip whose picture never moves (a photo with a soundtrack, a frozen GIF) is treated as a photo.

The clip renderer can only show the mouths and head poses the reference shows; a still shows
one, so it would give a frozen face. The photo renderer animates a single frame instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import MediaDecodeError
from ..media import decode
from ..paths import private_tmp
from .features import ReferenceFeatures

# Landmark travel over the clip, in face heights (95th percentile over landmarks). Measured:
# real talking clips 0.12–0.35, still images encoded as video 0.002–0.003 (compression jitter).
STILL_TRAVEL = 0.02


def landmark_travel(feats: ReferenceFeatures) -> float:
    """How far the face's landmarks move over the clip, in face heights."""
    det = np.asarray(feats.detected, dtype=bool)
    if feats.landmarks is None or det.sum() < 2:
        return 0.0
    lm = np.asarray(feats.landmarks)[det, :, :2]
    boxes = np.asarray(feats.boxes)[det]
    face_h = float(np.median(boxes[:, 3] - boxes[:, 1]))
    travel = np.linalg.norm(np.ptp(lm, axis=0), axis=1) / max(face_h, 1.0)
    return float(np.percentile(travel, 95))


def is_still(feats: ReferenceFeatures) -> bool:
    return feats.kind == "video" and landmark_travel(feats) < STILL_TRAVEL


def still_frame(feats: ReferenceFeatures, media: str | Path, out_dir: Path) -> Path:
    """The clip's face as a PNG (the middle frame with a face), named by the clip's content."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{feats.content_hash[:24]}.png"
    if out.is_file():
        return out
    det = np.flatnonzero(np.asarray(feats.detected, dtype=bool))
    k = int(det[det.size // 2]) if det.size else 0
    frame = _first_frame(media, feats.fps, feats.span[0] + k / feats.fps)
    if frame is None:  # a seek near the end can decode nothing
        frame = _first_frame(media, feats.fps, feats.span[0])
    if frame is None:
        raise MediaDecodeError(f"No picture could be read from '{Path(media).name}'.",
                               "Re-encode the clip to H.264 MP4, or use a photo.")
    tmp = private_tmp(out)
    cv2.imwrite(str(tmp), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    tmp.replace(out)
    return out


def _first_frame(media, fps: float, start: float | None):
    frames = decode.iter_frames(media, fps, start=start, duration=1.0)
    try:
        return next(frames, None)
    finally:
        frames.close()  # stops ffmpeg now rather than when the generator is collected


def as_photo(video: ReferenceFeatures, photo: ReferenceFeatures) -> ReferenceFeatures:
    """The still frame's features, keeping the clip's voice, transcript and name."""
    return dataclasses.replace(
        photo, source=video.source, audio=video.audio, sample_rate=video.sample_rate,
        transcript=video.transcript, transcript_source=video.transcript_source, language=video.language,
        words=list(video.words), speech_segments=list(video.speech_segments),
        warnings=[*video.warnings, f"'{video.source}' does not move, so it is animated as a photo."],
    )
