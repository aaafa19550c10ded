"""Dubbing speed: wall seconds per second of video, against decoding and re-encoding the same video.

    python scripts/bench_dub.py VIDEO AUDIO [--transcript TEXT] [--repeats 2]

The baseline is what any dub must do at least: decode every frame of VIDEO at the dub's rate and
size and encode it again with the dub's settings (ffmpeg's H.264, the same crf and preset), timed
in this run. The dub is timed warm (imports and models loaded by a first dub of the same inputs,
as the app's worker is) with the video's analysis not cached
(its cache entry removed), so tracking every frame is in the figure. Give the transcript to leave speech recognition out
(it is the same cost as in audio mode of ``generate``, reported on its own line).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from talker.dub import source as dub_source  # noqa: E402
from talker.media import decode  # noqa: E402
from talker.media.probe import probe  # noqa: E402
from talker.paths import cache_dir  # noqa: E402
from talker.pipeline import TalkerPipeline  # noqa: E402
from talker.request import DubOptions  # noqa: E402
from talker.video.encode import EncodeOptions, mux  # noqa: E402


def baseline(video: Path, out: Path, crf: int) -> float:
    info = probe(video)
    fps, _ = dub_source.output_rate(info.fps)
    size = dub_source.even_size(info.width, info.height, dub_source.SourceConfig().max_side)
    audio = decode.read_audio(video, 24000, info=info)
    t = time.perf_counter()
    n = int(round(info.duration * fps))
    mux(decode.iter_frames(video, fps, info=info, size=size), audio, 24000, out,
        EncodeOptions(fps=fps, crf=crf), num_frames=n)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video")
    ap.add_argument("audio")
    ap.add_argument("--transcript", default=None)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    video, audio = Path(args.video), Path(args.audio)
    pipe = TalkerPipeline()
    opt = DubOptions(label=True)
    with tempfile.TemporaryDirectory(prefix="talker-bench-dub-") as tmp:
        tmp = Path(tmp)
        pipe.dub(video, tmp / "warm.mp4", audio=audio, transcript=args.transcript, options=opt)  # warm-up
        base, dub, parts = [], [], []
        for i in range(args.repeats):
            base.append(baseline(video, tmp / f"base{i}.mp4", opt.crf))
            shutil.rmtree(cache_dir() / "dub", ignore_errors=True)  # every run tracks the video again
            t = time.perf_counter()
            res = pipe.dub(video, tmp / f"dub{i}.mp4", audio=audio, transcript=args.transcript, options=opt)
            dub.append(time.perf_counter() - t)
            parts.append(res.timings)
        seconds = res.duration
    b, d = statistics.median(base), statistics.median(dub)
    print(f"video: {video.name}  new speech: {audio.name}  output: {seconds:.1f} s, {res.frames} frames at "
          f"{res.fps:g} fps  (median of {args.repeats})")
    print()
    print("| | wall s | s per video s (RTF) | x baseline |")
    print("|---|---|---|---|")
    print(f"| baseline: decode + re-encode (crf {opt.crf}) | {b:.2f} | {b / seconds:.3f} | 1.00 |")
    print(f"| dub (track every frame, speech, render, encode) | {d:.2f} | {d / seconds:.3f} | {d / b:.2f} |")
    names = {"source": "source: decode + track every frame", "speech": "speech (audio mode: alongside the source)",
             "motion": "mouth motion", "render_encode": "paint + decode + encode"}
    for k, name in names.items():
        v = statistics.median(p.get(k, np.nan) for p in parts)
        print(f"| - {name} | {v:.2f} | {v / seconds:.3f} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
