"""Real media files made by the tests themselves (bad inputs, edge cases), with the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talker.media import ffmpeg


def make(out: Path, *inputs_and_opts: str) -> Path:
    proc = ffmpeg.run(["-y", *inputs_and_opts, str(out)], timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-800:]
    return out


def still_video(image: Path, out: Path, seconds: float, audio: Path | None = None, size: int | None = None) -> Path:
    """A video of a still image (optionally scaled/padded), with ``audio`` or no audio track."""
    vf = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    if size:
        vf = f"scale={size}:-2"
    args = ["-loop", "1", "-t", f"{seconds}", "-i", str(image)]
    if audio:
        args += ["-i", str(audio), "-shortest", "-c:a", "aac"]
    return make(out, *args, "-vf", vf, "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast")


def write_png(img: np.ndarray, out: Path) -> Path:
    from PIL import Image

    Image.fromarray(img).save(out)
    return out
