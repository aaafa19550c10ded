"""What a media file contains, read from ffmpeg's own description of it.

The bundled ffmpeg has no ffprobe, so the stream header that ``ffmpeg -i`` prints is parsed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import MediaDecodeError, MediaNotFoundError
from . import ffmpeg

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
IMAGE_CODECS = {"png", "mjpeg", "bmp", "webp", "tiff", "jpeg2000", "gif"}  # a one-frame GIF is a still


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float  # seconds; 0 for still images
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0  # average rate as the container declares it
    video_codec: str = ""
    audio_codec: str = ""
    audio_rate: int = 0
    audio_channels: int = 0
    is_image: bool = False


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_FPS = re.compile(r"([\d.]+)\s*(?:fps|tbr)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+).*?, (\d+) Hz, ([^,]+)")


def _channels(layout: str) -> int:
    layout = layout.strip()
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.1": 6, "5.1(side)": 6, "7.1": 8}
    if layout in named:
        return named[layout]
    m = re.match(r"(\d+) channels", layout)
    return int(m.group(1)) if m else 1


def check_file(path: str | os.PathLike) -> Path:
    """Raise a readable error for a missing, non-file or empty path."""
    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError(f"File not found: '{p.name}'.", "Check the path and upload the file again.")
    if not p.is_file():
        raise MediaNotFoundError(f"'{p.name}' is not a file.", "Give the path of a video, audio or image file.")
    if p.stat().st_size == 0:
        raise MediaDecodeError(f"'{p.name}' is empty (0 bytes).", "The upload or copy failed; provide the file again.")
    return p


def probe(path: str | os.PathLike) -> MediaInfo:
    p = check_file(path)
    proc = ffmpeg.run(["-i", ffmpeg.safe_input(p)], timeout=60)
    text = proc.stderr.decode("utf-8", "replace")
    if "Stream #" not in text:
        raise MediaDecodeError(
            f"'{p.name}' is not a readable video, audio or image file.",
            "Use a common format such as MP4 (H.264/AAC), MOV, WebM, WAV, MP3, JPG or PNG.",
        )
    duration = 0.0
    m = _DURATION.search(text)
    if m:
        h, mi, s = m.groups()
        duration = int(h) * 3600 + int(mi) * 60 + float(s)
    info = {"has_video": False, "has_audio": False}
    in_video = False  # inside the first video stream's lines (its side data: a phone's rotation)
    for line in text.splitlines():
        if in_video:
            if "Stream #" in line:
                in_video = False
            else:
                mr = _ROTATION.search(line)
                if mr and round(abs(float(mr.group(1)))) % 180 == 90:
                    # a portrait phone clip: ffmpeg decodes it turned upright, the other way round
                    info["width"], info["height"] = info["height"], info["width"]
                    in_video = False
        if not info["has_video"]:
            mv = _VIDEO.search(line)
            if mv and "attached pic" not in line:
                info.update(has_video=True, video_codec=mv.group(1), width=int(mv.group(2)), height=int(mv.group(3)))
                in_video = True
                mf = _FPS.search(line)
                info["fps"] = float(mf.group(1)) if mf else 0.0
        if not info["has_audio"]:
            ma = _AUDIO.search(line)
            if ma:
                info.update(
                    has_audio=True, audio_codec=ma.group(1), audio_rate=int(ma.group(2)),
                    audio_channels=_channels(ma.group(3)),
                )
    is_image = bool(info["has_video"]) and not info["has_audio"] and (
        p.suffix.lower() in IMAGE_SUFFIXES or info.get("video_codec") in IMAGE_CODECS and duration <= 0.05
    )
    if is_image:
        duration = 0.0
    return MediaInfo(path=str(p), duration=duration, is_image=is_image, **info)
