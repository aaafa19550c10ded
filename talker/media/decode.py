"""Decoding: video to constant-rate RGB frames, audio to mono float PCM, stills to RGB.

ffmpeg's ``fps`` filter resamples variable-frame-rate input onto a constant grid, which is
what every later stage (motion at 25 fps, the renderer, the mux) assumes.

Both streams are put on the file's own clock: frame ``i`` is the picture at ``i / fps`` and
sample ``n`` the sound at ``n / sample_rate``, counted from the start of the file (or of the
span asked for). A late video start is held on its first picture (``start_time=0``; ffmpeg's
constant-rate output did this already, now it does not hang on a muxer default). Audio that
starts late, as in a clip remuxed with an offset, used to come out early against its pictures
by that offset; silence is now put in front of it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..errors import MediaDecodeError, NoAudioError
from ..motion.code import FPS
from . import ffmpeg
from .probe import MediaInfo, check_file, probe


def _span_args(start: float | None, duration: float | None) -> list[str]:
    args: list[str] = []
    if start:
        args += ["-ss", f"{start:.3f}"]
    if duration:
        args += ["-t", f"{duration:.3f}"]
    return args


def read_audio(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    *,
    start: float | None = None,
    duration: float | None = None,
    info: MediaInfo | None = None,
) -> np.ndarray:
    """Mono float32 samples in [-1, 1] at ``sample_rate``."""
    proc = _decode_audio(path, sample_rate, info, [*_span_args(start, duration)], "pipe:1", timeout=600)
    if not proc.stdout:
        raise _undecodable(path)
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def _decode_audio(path, sample_rate: int, info: MediaInfo | None, before: list[str], dest: str, timeout: float):
    """ffmpeg decoding ``path``'s sound to mono float32 at ``sample_rate`` into ``dest``."""
    info = info or probe(path)
    if not info.has_audio:
        raise NoAudioError(
            f"'{Path(path).name}' has no audio track.",
            "Use a file that contains the sound you mean (e.g. the speech to lip-sync).",
        )
    args = [*before, "-i", ffmpeg.safe_input(path), "-vn", "-ac", "1", "-ar", str(sample_rate),
            "-af", "aresample=async=1:first_pts=0", "-f", "f32le", "-acodec", "pcm_f32le", dest]
    proc = ffmpeg.run(args, timeout=timeout)
    if proc.returncode != 0:
        raise _undecodable(path)
    return proc


def _undecodable(path) -> MediaDecodeError:
    return MediaDecodeError(f"The audio of '{Path(path).name}' could not be decoded.",
                            "Re-encode it to a common codec (AAC, MP3, PCM WAV) and try again.")


def decode_audio_to_file(path: str | os.PathLike, dest: str | os.PathLike, sample_rate: int = SAMPLE_RATE, *,
                         info: MediaInfo | None = None) -> int:
    """``read_audio`` written to ``dest`` as raw float32 instead of returned: an hour of speech is
    345 MB of samples, which a video made in pieces reads a piece at a time. Returns the samples."""
    dest = Path(dest)
    try:
        _decode_audio(path, sample_rate, info, ["-y"], str(dest.resolve()), timeout=3600)
    except MediaDecodeError:
        dest.unlink(missing_ok=True)
        raise
    size = dest.stat().st_size if dest.exists() else 0
    if size == 0:
        dest.unlink(missing_ok=True)
        raise _undecodable(path)
    return size // 4


def iter_frames(
    path: str | os.PathLike,
    fps: float = float(FPS),
    *,
    start: float | None = None,
    duration: float | None = None,
    info: MediaInfo | None = None,
    size: tuple[int, int] | None = None,
) -> Iterator[np.ndarray]:
    """RGB uint8 frames (H, W, 3) resampled to a constant ``fps``, streamed from ffmpeg;
    ``size`` (width, height): scaled to it (area resampling) by ffmpeg."""
    info = info or probe(path)
    if not info.has_video:
        raise MediaDecodeError(f"'{Path(path).name}' has no video track.", "Give a video clip or a photo.")
    w, h = size if size else (info.width, info.height)
    vf = f"fps={fps}:start_time=0" + (f",scale={w}:{h}:flags=area" if size else "")
    args = [*_span_args(start, duration), "-i", ffmpeg.safe_input(path), "-an",
            "-vf", vf, "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    frame_bytes = w * h * 3
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = 0
    try:
        assert proc.stdout is not None
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            got += 1
            yield np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    if got == 0:
        raise MediaDecodeError(
            f"No video frames could be decoded from '{Path(path).name}' ({err.decode('utf-8', 'replace').strip()[-200:]}).",
            "The codec may be unsupported: re-encode to H.264 MP4 and try again.",
        )


MAX_IMAGE_PIXELS = 64_000_000  # 8000 × 8000: larger is a mistake or a decompression bomb


def read_image(path: str | os.PathLike) -> np.ndarray:
    """RGB uint8 image as people see it: EXIF rotation applied, 16-bit scaled (not clipped),
    transparency laid on white, CMYK/palette/greyscale converted, a GIF's first frame.

    One reader for every stage, so analysis and rendering never see two versions of a photo.
    The bytes are read here, so any file name works.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    p = check_file(path)
    try:
        with Image.open(io.BytesIO(p.read_bytes())) as im:  # header only: pixels decode below
            if im.width * im.height > MAX_IMAGE_PIXELS:  # below PIL's own bomb limits
                raise Image.DecompressionBombError("too many pixels")
            im.seek(0)
            return _to_rgb8(ImageOps.exif_transpose(im))
    except Image.DecompressionBombError:
        raise MediaDecodeError(f"'{p.name}' is too large an image (over {MAX_IMAGE_PIXELS // 1_000_000} megapixels).",
                               "Resize the photo to a few thousand pixels a side.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise MediaDecodeError(f"'{p.name}' is not a readable image ({type(e).__name__}).",
                               "Use a JPG or PNG photo.") from None


def _to_rgb8(im) -> np.ndarray:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        peak = float(a.max()) if a.size else 0.0
        top = 65535.0 if im.mode.startswith("I;16") or peak > 255 else 1.0 if im.mode == "F" and peak <= 1 else 255.0
        g = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")).copy()
    return np.asarray(im.convert("RGB")).copy()
