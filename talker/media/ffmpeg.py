"""Locating and running the ffmpeg binary.

imageio-ffmpeg ships a static ffmpeg in its wheel, so decoding works on a fresh machine
without a system install; a system ffmpeg is used only when the wheel's is missing.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import TalkerError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    env = os.environ.get("TALKER_FFMPEG")
    if env:
        return env
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - any failure means "not bundled", fall through
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise TalkerError("ffmpeg was not found.", "Install the requirements (imageio-ffmpeg bundles ffmpeg).")


def safe_input(path: str | os.PathLike) -> str:
    """An ffmpeg input argument that can't be read as an option or a protocol.

    Absolute paths start with '/', so a hostile name like '-y' or 'http:x' stays a file name.
    """
    return str(Path(path).resolve())


def run(args: list[str], *, timeout: float = 600, input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, input=input_bytes, check=False)
