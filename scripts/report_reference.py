"""Per-clip figures for reference analysis on the real clips in ../shared.

Prints a table: frames vs duration × 25, face ratio, jaw/speech sync (peak r and lag),
transcript, ingest seconds per clip second, cached re-run time; then ASR WER/CER on the
speech fixtures. Usage: .venv/bin/python scripts/report_reference.py [--shared ../shared] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talker.audio.loudness import rms_dbfs  # noqa: E402
from talker.media.decode import read_audio  # noqa: E402
from talker.motion.code import FPS  # noqa: E402
from talker.pipeline import PipelineConfig, TalkerPipeline  # noqa: E402
from talker.reference.analysis import AnalysisConfig  # noqa: E402
from talker.reference.sync import jaw_audio_sync  # noqa: E402

AUDIO_TRUTH = {
    "en_nature_5s.wav": "Some call me nature, others call me mother nature.",
    "en_printing_10s.wav": "Printing, in the only sense with which we are at present concerned, differs from most "
    "if not from all the arts and crafts represented in the Exhibition",
    "zh_taiyi_7s.wav": "对，这就是我，万人敬仰的太乙真人。",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--tracker", default="auto")
    ap.add_argument("--json", help="write all figures to this JSON file")
    args = ap.parse_args()
    shared = Path(args.shared)
    clips = sorted((shared / "fixtures" / "video").glob("*.mp4"))
    if not clips:
        print(f"no clips under {shared}/fixtures/video", file=sys.stderr)
        return 1
    face_model = shared / "models" / "face_landmarker.task"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = AnalysisConfig(tracker_backend=args.tracker, face_model=str(face_model) if face_model.exists() else None)
        pipe = TalkerPipeline(PipelineConfig(cache_dir=tmp, analysis=cfg))
        for clip in clips:
            t = time.perf_counter()
            f = pipe.analyze(clip)
            first = time.perf_counter() - t
            t = time.perf_counter()
            pipe.analyze(clip)
            cached = time.perf_counter() - t
            s = jaw_audio_sync(f.motion, f.audio, f.sample_rate)
            rows.append({
                "clip": clip.name, "duration": round(f.duration, 2), "frames": f.frames,
                "frames_expected": round(f.duration * FPS, 1), "face_ratio": round(f.face_ratio, 3),
                "jaw_r": s["r"], "jaw_lag": s["lag_frames"], "language": f.language,
                "transcript": f.transcript, "ingest_s": round(first, 2),
                "ingest_per_clip_s": round(first / max(f.duration, 1e-6), 3), "cached_s": round(cached, 3),
                "tracker": f.tracker_backend, "timings": {k: round(v, 2) for k, v in f.timings.items()},
            })
    hdr = f"{'clip':26s} {'dur':>5s} {'frames':>6s} {'face':>5s} {'jaw r':>6s} {'lag':>4s} {'lang':>4s} {'s/clip-s':>8s} {'cached':>7s}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['clip']:26s} {r['duration']:5.2f} {r['frames']:6d} {r['face_ratio']:5.2f} {r['jaw_r']:6.2f} "
              f"{r['jaw_lag']:+4d} {r['language']:>4s} {r['ingest_per_clip_s']:8.2f} {r['cached_s']:7.3f}")
    print("(lag > 0: the jaw leads the audio; s/clip-s: ingest seconds per second of clip on this machine)")
    for r in rows:
        print(f"  {r['clip']}: \"{r['transcript']}\"  timings {r['timings']}")

    from talker.text import asr
    from talker.text.metrics import cer, wer

    asr_rows = []
    for name, truth in AUDIO_TRUTH.items():
        path = shared / "fixtures" / "audio" / name
        if not path.exists():
            continue
        audio = read_audio(path, 16000)
        t = time.perf_counter()
        tx = asr.transcribe(audio, 16000)
        dt = time.perf_counter() - t
        asr_rows.append({"clip": name, "backend": tx.backend, "language": tx.language, "hyp": tx.text,
                         "wer": round(wer(truth, tx.text), 4), "cer": round(cer(truth, tx.text), 4),
                         "rtf": round(dt / (audio.size / 16000), 3), "level_dbfs": round(rms_dbfs(audio), 1)})
    print()
    print(f"{'audio':22s} {'lang':>4s} {'WER':>6s} {'CER':>6s} {'RTF':>6s}  backend / hypothesis")
    for r in asr_rows:
        print(f"{r['clip']:22s} {r['language']:>4s} {r['wer']:6.3f} {r['cer']:6.3f} {r['rtf']:6.3f}  {r['backend']}: {r['hyp']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"clips": rows, "asr": asr_rows}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
