"""Save what the pipeline makes for a fixed set of requests, or compare it with a saved run.

A refactor that must not change behaviour is checked with it: ``save`` before the change,
``compare`` after. Each job is generated with a fresh feature cache (so the reference analysis
runs again too) and stores, per job, the reference's analysed motion, the output audio (as
muxed, float32), the 61-d motion, the phones the mouth followed, the decoded output frames'
digest and the result's summary without timings. ``compare`` exits 1 on any difference and
prints which array differs and by how much.

Usage:
  .venv/bin/python scripts/snapshot_outputs.py save DIR [--shared ../shared] [--only NAME]
  .venv/bin/python scripts/snapshot_outputs.py compare DIR NEW_DIR [--shared ../shared] [--only NAME]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT = ("Thanks for joining us. The new map goes live on Monday, and it covers 42 cities "
        "from Boston to Berlin.")
AUDIO = "fixtures/audio/en_printing_10s.wav"
AUDIO_TRANSCRIPT = ("Printing, in the only sense with which we are at present concerned, differs from most if not "
                    "from all the arts and crafts represented in the Exhibition")


def jobs(shared: Path) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for clip in sorted((shared / "fixtures" / "video").glob("*.mp4")):
        out.append((f"{clip.stem}__text", {"reference": clip, "text": TEXT}))
        out.append((f"{clip.stem}__audio", {"reference": clip, "audio": shared / AUDIO,
                                            "transcript": AUDIO_TRANSCRIPT}))
    # Whisper's transcript of the user's audio (no transcript given), and the Mandarin voice
    out.append(("en_man_map_5s__audio_asr", {"reference": shared / "fixtures/video/en_man_map_5s.mp4",
                                             "audio": shared / "fixtures/audio/en_nature_5s.wav"}))
    out.append(("en_woman_flag_8s__text_zh", {"reference": shared / "fixtures/video/en_woman_flag_8s.mp4",
                                              "text": "你好，欢迎来到我们的节目。"}))
    out.append(("woman_frontal__text", {"reference": shared / "fixtures/images/woman_frontal.jpg", "text": TEXT}))
    out.append(("template_astronaut__text", {"template": "astronaut", "text": TEXT}))
    out.append(("template_astronaut__audio", {"template": "astronaut", "audio": shared / AUDIO,
                                              "transcript": AUDIO_TRANSCRIPT}))
    return out


def frames_digest(video: Path) -> tuple[int, str]:
    from talker.media.decode import iter_frames

    h = hashlib.sha256()
    n = 0
    for f in iter_frames(video):
        h.update(np.ascontiguousarray(f).tobytes())
        n += 1
    return n, h.hexdigest()


def run(out: Path, shared: Path, only: str | None) -> None:
    from talker.pipeline import PipelineConfig, TalkerPipeline

    out.mkdir(parents=True, exist_ok=True)
    for name, kw in jobs(shared):
        if only and only not in name:
            continue
        with tempfile.TemporaryDirectory() as cache:
            pipe = TalkerPipeline(PipelineConfig(cache_dir=cache))
            res = pipe.generate(Path(cache) / f"{name}.mp4", **kw)
            ref = pipe.reference(template=kw.get("template"), media=kw.get("reference"))[0]
            n, digest = frames_digest(res.video)
        summary = res.summary()
        summary.pop("timings")
        summary.pop("rtf")
        summary.pop("video")
        summary["frames_decoded"], summary["frames_sha256"] = n, digest
        np.savez(out / f"{name}.npz", audio=res.audio, motion=res.motion, reference_motion=ref.motion,
                 phone_symbols=np.array([getattr(p, "symbol", None) or getattr(p, "phone", "") for p in res.phones]),
                 phone_times=np.array([(p.start, p.end) for p in res.phones], dtype=np.float64).reshape(-1, 2))
        (out / f"{name}.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False, default=str))
        print(f"{name}: {res.frames} frames, audio {res.audio.size} samples, sha {digest[:12]}", flush=True)


def compare(a: Path, b: Path, only: str | None = None) -> int:
    bad = 0
    names = sorted(p.stem for p in a.glob("*.npz") if not only or only in p.stem)
    if not names:
        print(f"no saved jobs in {a}")
        return 1
    for name in names:
        if not (b / f"{name}.npz").exists():
            print(f"{name}: MISSING in {b}")
            bad += 1
            continue
        x, y = np.load(a / f"{name}.npz"), np.load(b / f"{name}.npz")
        diffs = []
        for key in x.files:
            u, v = x[key], y[key]
            if u.shape != v.shape or u.dtype != v.dtype:
                diffs.append(f"{key} shape/dtype {u.shape}{u.dtype} vs {v.shape}{v.dtype}")
            elif u.tobytes() != v.tobytes():
                d = np.abs(u.astype(np.float64) - v.astype(np.float64)).max() if u.dtype.kind == "f" else "-"
                diffs.append(f"{key} differs (max abs {d})")
        ja, jb = json.loads((a / f"{name}.json").read_text()), json.loads((b / f"{name}.json").read_text())
        for key in sorted(set(ja) | set(jb)):
            if ja.get(key) != jb.get(key):
                diffs.append(f"summary[{key}]: {ja.get(key)!r} vs {jb.get(key)!r}")
        bad += bool(diffs)
        print(f"{name}: " + ("identical (audio bytes, motion, reference motion, phones, frames, summary)"
                             if not diffs else "DIFFERENT: " + "; ".join(diffs)))
    print(f"{len(names) - bad} of {len(names)} jobs identical")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["save", "compare"])
    ap.add_argument("dir")
    ap.add_argument("new_dir", nargs="?")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--only", help="run only jobs whose name contains this")
    args = ap.parse_args()
    shared = Path(args.shared)
    os.environ.setdefault("TALKER_FACE_LANDMARKER", str(shared / "models" / "face_landmarker.task"))
    if args.action == "save":
        run(Path(args.dir), shared, args.only)
        return 0
    if not args.new_dir:
        ap.error("compare needs DIR and NEW_DIR")
    run(Path(args.new_dir), shared, args.only)
    return compare(Path(args.dir), Path(args.new_dir), args.only)


if __name__ == "__main__":
    sys.exit(main())
