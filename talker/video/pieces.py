"""A video made in pieces: each piece is a playable MPEG-TS segment of its own (what the app
streams and the Python API hands out), and all of them go, as they come, into one growing
fragmented mp4 that plays while it is written, finished at the end as an ordinary mp4.

The growing file takes each piece's picture as it is (no second encode) and the whole audio as
one continuous stream (one AAC encode for the whole video): an AAC encoder restarted per piece
would put its start-up delay (1,024 samples) into every join.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from pathlib import Path

import numpy as np

from ..errors import TalkerError
from ..media import ffmpeg
from .encode import EncodeOptions, disclosure_args


class _PipeFeeder:
    """Bytes written to a pipe from a thread of its own: ffmpeg reads its two inputs in its own
    order, and a writer that blocked on one while ffmpeg waited on the other would stall both."""

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self._q: queue.Queue[bytes | None] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (data := self._q.get()) is not None:
                view = memoryview(data)
                while view:
                    n = os.write(self._fd, view)
                    view = view[n:]
        except BaseException as e:  # noqa: BLE001 - reported by close(); a dead ffmpeg ends the pipe
            self.error = e
            while self._q.get() is not None:  # drain, so put() never blocks the producer
                pass
        finally:
            os.close(self._fd)

    def put(self, data: bytes) -> None:
        self._q.put(data)

    def close(self, timeout: float = 600) -> None:
        self._q.put(None)
        self._thread.join(timeout)


class GrowingMp4:
    """One ffmpeg for the whole video: piece segments (their H.264, copied) and the audio
    (float32 mono, encoded once) in, a fragmented mp4 at ``live_path`` out, readable while it grows.
    ``finish`` remuxes it to ``out_path`` with the index at the front (+faststart) and the
    disclosure tags; ``abort`` kills it and removes what it wrote."""

    def __init__(self, live_path: str | Path, sample_rate: int, options: EncodeOptions | None = None) -> None:
        self.live_path = Path(live_path)
        self.sample_rate = sample_rate
        self.opt = options or EncodeOptions()
        self.live_path.parent.mkdir(parents=True, exist_ok=True)
        r_audio, w_audio = os.pipe()
        args = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
                # probe little: ffmpeg would otherwise wait for 5 MB of the first piece before writing
                "-probesize", "32768", "-analyzeduration", "0", "-f", "mpegts", "-i", "pipe:0",
                "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", f"pipe:{r_audio}",
                "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", self.opt.audio_bitrate,
                # a fragment every half second, each readable as soon as it is written
                "-movflags", "empty_moov+default_base_moof+frag_keyframe", "-frag_duration", "500000",
                "-flush_packets", "1", "-f", "mp4", str(self.live_path.resolve())]
        try:
            # the audio pipe keeps its number in the child (pass_fds), so ffmpeg reads it as pipe:N
            self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(r_audio,))
        finally:
            os.close(r_audio)
        assert self._proc.stdin is not None
        self._video = _PipeFeeder(os.dup(self._proc.stdin.fileno()), "talker-video-feed")
        self._proc.stdin.close()
        self._audio = _PipeFeeder(w_audio, "talker-audio-feed")
        self._stderr: list[bytes] = []
        self._err_thread = threading.Thread(target=self._read_err, daemon=True)
        self._err_thread.start()

    def _read_err(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)

    def add(self, segment: str | Path, audio: np.ndarray) -> None:
        """Append one piece: its segment file's picture and its audio (the same duration)."""
        self._video.put(Path(segment).read_bytes())
        self._audio.put(np.ascontiguousarray(audio, dtype="<f4").tobytes())

    def finish(self, out_path: str | Path, num_frames: int, audio_path: str | Path | None = None) -> Path:
        """The whole video at ``out_path``. ``audio_path``: the whole sound as raw float32, encoded
        again into the finished file, whose index says where the AAC encoder's 1,024 priming
        samples end (the fragmented file's does not: its sound played 43 ms, a frame, late), and
        its frames re-timed to n/fps."""
        self._video.close()
        self._audio.close()
        rc = self._proc.wait(timeout=600)
        self._err_thread.join(5)
        if rc != 0 or self._video.error or self._audio.error:
            err = b"".join(self._stderr).decode("utf-8", "replace").strip()[-300:]
            self.live_path.unlink(missing_ok=True)
            raise TalkerError(f"Video encoding failed: {err or self._video.error or self._audio.error}",
                              "Check free disk space and try again.")
        out = Path(out_path)
        part = out.with_name(out.stem + ".part.mp4")
        args = ["-y", "-loglevel", "error", "-i", ffmpeg.safe_input(self.live_path)]
        if audio_path is not None:
            # frame n at n/fps exactly: the fragmented file's pictures sit 43 ms (the AAC priming)
            # after its sound's start, and a piece's muxer moved the first piece's as much again
            args += ["-f", "f32le", "-ar", str(self.sample_rate), "-ac", "1", "-i", str(Path(audio_path).resolve()),
                     "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-bsf:v", f"setts=ts=N/({self.opt.fps}*TB)",
                     "-c:a", "aac", "-b:a", self.opt.audio_bitrate]
            args += ["-frames:v", str(num_frames)]
        else:
            args += ["-map", "0", "-c", "copy", "-t", f"{num_frames / self.opt.fps:.6f}"]
        args += disclosure_args(self.opt)
        proc = ffmpeg.run([*args, str(part.resolve())], timeout=600)
        if proc.returncode != 0:
            part.unlink(missing_ok=True)
            raise TalkerError(f"Writing the video failed: {proc.stderr.decode('utf-8', 'replace').strip()[-300:]}",
                              "Check free disk space and try again.")
        os.replace(part, out)
        if self.live_path.resolve() != out.resolve():
            self.live_path.unlink(missing_ok=True)
        return out

    def abort(self) -> None:
        """Stop at once and remove the growing file (a cancelled job)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._video.close(timeout=5)
        self._audio.close(timeout=5)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.live_path.unlink(missing_ok=True)
