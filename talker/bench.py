"""``python -m talker bench``: real-time factor per stage, and how cost grows with length.

Generates ~10 s and ~60 s of talking video from a reference on this machine and prints, per
stage, seconds and RTF (seconds per second of output), with a baseline measured in the same
run: decoding the generated video and encoding it again, the cost of frames in and out that any
renderer pays.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

SENTENCE = ("The quick brown fox jumps over the lazy dog, and then it keeps on running across the "
            "green hills until the evening sun goes down behind the old mill. ")


def _baseline(video: Path, out_dir: Path) -> float:
    """Decode the generated video and encode it again: the cost of frames in and frames out."""
    from .audio import SAMPLE_RATE
    from .media.decode import iter_frames, read_audio
    from .video.encode import mux

    t = time.perf_counter()
    audio = read_audio(video, SAMPLE_RATE)
    mux(iter_frames(video), audio, SAMPLE_RATE, out_dir / "baseline.mp4")
    return time.perf_counter() - t


def run_bench(template: str | None = "astronaut", reference: str | None = None, lengths=(10, 60),
              json_out: str | None = None) -> list[dict]:
    from .pipeline import TalkerPipeline

    pipe = TalkerPipeline()
    rows = []
    with tempfile.TemporaryDirectory(prefix="talker-bench-") as tmp:
        out_dir = Path(tmp)
        # warm-up: loads the voice, caches the reference, so the table shows steady-state costs
        pipe.generate(out_dir / "warm.mp4", template=template, reference=reference, text="Hello there.")
        for target in lengths:
            words = SENTENCE.split()
            n_words = int(target * 3.8)  # the stock voice speaks about 3.8 words a second
            text = " ".join((words * (n_words // len(words) + 1))[:n_words]) + "."
            res = pipe.generate(out_dir / f"bench_{target}.mp4", template=template, reference=reference, text=text)
            size = _size(res.video)
            base = _baseline(res.video, out_dir)
            row = {"target_s": target, "duration": round(res.duration, 2), "size": f"{size[0]}x{size[1]}",
                   "baseline_s": round(base, 3), **{k: round(v, 3) for k, v in res.timings.items()}}
            rows.append(row)
    _print(rows)
    if json_out:
        Path(json_out).write_text(json.dumps(rows, indent=1))
    return rows


def _size(path: Path) -> tuple[int, int]:
    from .media.probe import probe

    info = probe(path)
    return info.width, info.height


def _print(rows: list[dict]) -> None:
    stages = ["reference", "speech", "voice_match", "motion", "render", "encode", "total"]
    print(f"{'stage':10s}" + "".join(f"{str(r['target_s']) + ' s: sec':>14s}{'RTF':>7s}{'×base':>7s}" for r in rows))
    for st in stages + ["baseline_s"]:
        line = f"{st.replace('_s', ''):10s}"
        for r in rows:
            v = r.get(st, 0.0)
            line += f"{v:14.2f}{v / r['duration']:7.3f}{v / max(r['baseline_s'], 1e-6):7.2f}"
        print(line)
    print("(RTF: seconds per second of output video; ×base: relative to decoding + re-encoding the same video)")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        per_a = a["total"] / a["duration"]
        per_b = b["total"] / b["duration"]
        print(f"growth: {b['duration'] / a['duration']:.1f}× longer output took {b['total'] / a['total']:.2f}× the time "
              f"(per-second cost {per_b / per_a:.2f}× — 1.00 is linear)")
    for r in rows:
        print(f"{r['target_s']} s output: {r['duration']} s at {r['size']}")
