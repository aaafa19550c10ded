"""Locating MediaPipe's ``face_landmarker.task`` bundle.

The bundle is not shipped in any wheel, so the tracker looks for it in a fixed order
(explicit path, ``$TALKER_FACE_LANDMARKER``, user cache) and only then tries one short
download. Offline it returns ``None`` quickly and the tracker falls back to the face-mesh
model bundled in the mediapipe wheel instead of failing.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path

from .. import paths

MODEL_FILENAME = "face_landmarker.task"
MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
MIN_BYTES = 1_000_000  # the real bundle is ~3.7 MB; anything smaller is an error page or a stub
DOWNLOAD_TIMEOUT_S = 10.0


def _usable(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > MIN_BYTES
    except OSError:
        return False


def _offline() -> bool:
    return os.environ.get("TALKER_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def download_face_landmarker(dest: Path, url: str = MODEL_URL, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path | None:
    """Fetch the bundle into ``dest`` atomically; ``None`` on any failure (never raises).

    A temp file in the same folder plus ``os.replace`` means an interrupted download never
    leaves a truncated model where the next run would trust it.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".face_landmarker.", suffix=".part", dir=str(dest.parent))
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https URL
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
        if tmp.stat().st_size <= MIN_BYTES:
            return None
        os.replace(tmp, dest)
        return dest
    except Exception:  # offline, refused, DNS, timeout, HTTP error: all mean "not available"
        return None
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass


def find_face_landmarker(explicit: str | os.PathLike | None = None, allow_download: bool | None = None) -> Path | None:
    """Path to a usable ``face_landmarker.task`` or ``None``.

    ``allow_download=None`` means "download unless ``TALKER_OFFLINE`` is set". An explicit
    path that does not hold a usable file is skipped rather than fatal so the caller can
    still fall back; the tracker reports which backend it ended up using.
    """
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit).expanduser())
    env = os.environ.get("TALKER_FACE_LANDMARKER")
    if env:
        candidates.append(Path(env).expanduser())
    cached = paths.models_dir() / MODEL_FILENAME
    candidates.append(cached)
    for cand in candidates:
        if _usable(cand):
            return cand
    if allow_download is None:
        allow_download = not _offline()
    if not allow_download:
        return None
    return download_face_landmarker(cached)
