#!/usr/bin/env python
"""Calibrate the lip-sync measures on real footage, and show the numbers behind the defaults.

For each clip: the mouth opening from unsmoothed landmarks, an offline-ASR transcript, a phone
alignment, then
  * bilabial closed / auc with the true alignment and with it shifted by ±``--shift`` s
    (a deliberately broken sync: a good measure must drop);
  * ``av_offset`` lag (frames, + = lips lead) and peak r for every feature variant;
  * the lag each variant finds when the video is moved by a known ``--probe`` frames, which
    shows whether it measures timing at all.
Everything slow is cached by content (``TALKER_CACHE_DIR`` or ~/.cache/talker), so reruns take
seconds. The clips are never copied anywhere.

    python scripts/calibrate_lipsync.py                 # default sample of ../shared clips
    python scripts/calibrate_lipsync.py a.mp4 b.mp4 --json out.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

DEFAULT_CLIPS = [
    "fixtures/video/en_woman_flag_8s.mp4",
    "fixtures/video/en_man_map_5s.mp4",
    "fixtures/video/en_woman_blue_7s.mp4",
    "fixtures/video/en_man_suit_vfr_6s.mp4",
    "fixtures/video/de_anchor_20s.mp4",
    "data/talking/en_grid_man_denim_3s.mp4",
    "data/talking/en_grid_woman_greentop_3s.mp4",
    "data/talking/en_man_address_flags_10s.mp4",
    "data/talking/en_man_obama_hdtf_16s.mp4",
    "data/talking/en_man_glasses_hdtf_8s.mp4",
    "data/talking/en_woman_blackbg_hdtf_8s.mp4",
    "data/talking/en_vox_man_suit_blue_12s.mp4",
    "data/talking/en_woman_blonde_suit_7s.mp4",
    "data/talking/en_man_elderly_interview_7s.mp4",
    "data/talking/en_lrs2_man_b_7s.mp4",
    "data/talking/zh_man_spokesperson_podium_19s.mp4",
]


def _transcript(audio: np.ndarray, sr: int, language: str | None = None) -> dict:
    """Offline ASR, cached by the audio's bytes (and the language hint)."""
    from talker.paths import cache_dir
    from talker.text import asr

    key = hashlib.sha256(audio.astype(np.float32).tobytes() + str(language).encode()).hexdigest()[:32]
    path = cache_dir() / "lipsync" / f"asr-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    tx = asr.transcribe(audio, sr, language=language)
    out = {"text": tx.text, "language": tx.language, "backend": tx.backend,
           "words": [{"text": w.text, "start": w.start, "end": w.end} for w in tx.words]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False))
    return out


def _shift_frames(x: np.ndarray, k: int) -> np.ndarray:
    """Video delayed by k frames (k > 0: lips now lag the audio by k more), edges held."""
    if k == 0:
        return x.copy()
    if k > 0:
        return np.concatenate([np.full(k, x[0]), x[:-k]])
    return np.concatenate([x[-k:], np.full(-k, x[-1])])


def _fmt(v, nd=2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "  -  "
    return f"{v:.{nd}f}"


PROBES = (-5, -3, 3, 5)


def analyse(path: Path, shift: float, features: list[str], smoothed: bool) -> dict:
    from talker.align import AlignmentError, align
    from talker.eval.lipsync import av_offset, bilabial_lag, bilabial_scores
    from talker.eval.mouth import track_video

    tr = track_video(path)
    mouth = tr.mouth
    row: dict = {"clip": path.name, "frames": tr.frames, "fps": tr.fps}
    # The shared clips' names start with their language (SOURCES.md); Whisper base misdetects
    # some (an LRS2 clip came out as Welsh), so a known prefix is passed as a hint.
    prefix = path.name[:3]
    tx = _transcript(tr.audio, tr.sample_rate, prefix[:2] if prefix in ("en_", "zh_", "de_") else None)
    row.update(language=tx["language"], transcript=tx["text"])
    alignment = None
    try:
        alignment = align(tr.audio, tr.sample_rate, tx["text"], tx["language"], asr_words=tx["words"])
        row["aligner"] = alignment.method
    except AlignmentError as exc:
        row["aligner"] = f"none ({exc.problem})"
    if alignment is not None:
        good = bilabial_scores(mouth, tr.fps, alignment)
        late = bilabial_scores(mouth, tr.fps, alignment.shifted(shift))
        early = bilabial_scores(mouth, tr.fps, alignment.shifted(-shift))
        row.update(n_bil=good["n_bilabial"], n_vow=good["n_vowel"], closed=good["closed"], auc=good["auc"],
                   closed_late=late["closed"], auc_late=late["auc"], closed_early=early["closed"],
                   auc_early=early["auc"], failures=good["failures"], plateau=bilabial_lag(mouth, tr.fps, alignment))
        if smoothed:
            ms = track_video(path, smooth=True).mouth
            row["closed_smoothed"] = bilabial_scores(ms, tr.fps, alignment)["closed"]
    row["offsets"] = {}
    for feat in features:
        if feat in ("phones", "phones_hp", "combined") and alignment is None:
            continue
        o = av_offset(mouth, tr.audio, tr.sample_rate, tr.fps, feature=feat, alignment=alignment)
        # The video delayed by k frames must read k frames less lead.
        errs = []
        for k in PROBES:
            p = av_offset(_shift_frames(mouth, k), tr.audio, tr.sample_rate, tr.fps, feature=feat, alignment=alignment)
            errs.append(abs(p.lag_fine - (o.lag_fine - k)))
        row["offsets"][feat] = {"lag": o.lag, "lag_fine": o.lag_fine, "r": o.r, "margin": o.margin,
                                "probe_err": max(errs)}
    return row


def main(argv=None) -> int:
    from talker.eval.lipsync import FEATURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="*", help="videos (default: a sample of ../shared)")
    ap.add_argument("--shift", type=float, default=0.5, help="seconds the alignment is moved for 'broken sync'")
    ap.add_argument("--features", default=",".join(FEATURES))
    ap.add_argument("--smoothed", action="store_true", help="also score with the tracker's smoothing on")
    ap.add_argument("--json", help="write all rows here")
    args = ap.parse_args(argv)
    if not os.environ.get("TALKER_FACE_LANDMARKER"):
        model = SHARED / "models" / "face_landmarker.task"
        if model.is_file():
            os.environ["TALKER_FACE_LANDMARKER"] = str(model)
    clips = [Path(c) for c in args.clips] or [SHARED / c for c in DEFAULT_CLIPS]
    clips = [c for c in clips if c.is_file()]
    if not clips:
        print("no clips found (is ../shared there?)", file=sys.stderr)
        return 2
    features = [f for f in args.features.split(",") if f]

    rows = []
    for c in clips:
        try:
            rows.append(analyse(c, args.shift, features, args.smoothed))
        except Exception as exc:  # noqa: BLE001 - one bad clip must not hide the table
            print(f"{c.name}: {type(exc).__name__}: {exc}", file=sys.stderr)

    s = args.shift
    print(f"\nBilabial closure (true alignment | shifted +{s}s | shifted -{s}s)")
    extra = "  sm.cl" if args.smoothed else ""
    print(f"{'clip':38s} {'lang':4s} {'#bil':>4s} {'#vow':>4s}  {'closed':>6s} {'auc':>5s} | "
          f"{'closed':>6s} {'auc':>5s} | {'closed':>6s} {'auc':>5s}{extra}")
    for r in rows:
        if "closed" not in r:
            print(f"{r['clip']:38s} {r['language']:4s} {r['aligner']}")
            continue
        line = (f"{r['clip']:38s} {r['language']:4s} {r['n_bil']:4d} {r['n_vow']:4d}  {_fmt(r['closed']):>6s} "
                f"{_fmt(r['auc']):>5s} | {_fmt(r['closed_late']):>6s} {_fmt(r['auc_late']):>5s} | "
                f"{_fmt(r['closed_early']):>6s} {_fmt(r['auc_early']):>5s}")
        if args.smoothed:
            line += f"  {_fmt(r.get('closed_smoothed')):>5s}"
        print(line)

    print("\nav_offset per feature: lag in frames (+ = lips lead), sub-frame lag, peak r, and the worst error "
          f"recovering known video delays of {PROBES} frames. 'bilabial' = lags where closure scores best.")
    print(f"{'clip':34s} {'bilabial':>12s} " + " ".join(f"{f:>19s}" for f in features))
    for r in rows:
        pl = r.get("plateau")
        cells = [f"{pl['center']:+5.1f} [{pl['lo']:+d},{pl['hi']:+d}]" if pl and pl["lo"] is not None else ""]
        for f in features:
            o = r["offsets"].get(f)
            cells.append("" if o is None else f"{o['lag']:+3d} {o['lag_fine']:+5.1f} r{o['r']:.2f} e{o['probe_err']:.1f}")
        print(f"{r['clip'][:34]:34s} {cells[0]:>12s} " + " ".join(f"{c:>19s}" for c in cells[1:]))

    print("\nSummary per feature (lags are sub-frame; 'inside' = within the bilabial-best range ±0.5)")
    print(f"{'feature':10s} {'n':>3s} {'median':>6s} {'min':>5s} {'max':>5s} {'IQR':>4s} {'|lag-bil|':>9s} "
          f"{'inside':>6s} {'mean r':>6s} {'probe err med/worst':>19s}")
    for f in features:
        got = [(r["offsets"][f], r.get("plateau")) for r in rows if f in r["offsets"]]
        if not got:
            continue
        lags = np.array([g["lag_fine"] for g, _ in got])
        errs = np.array([g["probe_err"] for g, _ in got])
        pl = [(g["lag_fine"], p) for g, p in got if p and p["lo"] is not None]
        dev = np.array([abs(lag - p["center"]) for lag, p in pl]) if pl else np.array([np.nan])
        inside = np.mean([p["lo"] - 0.5 <= lag <= p["hi"] + 0.5 for lag, p in pl]) if pl else float("nan")
        q1, q3 = np.percentile(lags, [25, 75])
        print(f"{f:10s} {len(got):3d} {np.median(lags):+6.1f} {lags.min():+5.1f} {lags.max():+5.1f} {q3 - q1:4.1f} "
              f"{np.median(dev):9.2f} {inside:6.0%} {np.mean([g['r'] for g, _ in got]):6.2f} "
              f"{np.median(errs):9.2f} / {errs.max():5.1f}")
    good = [r for r in rows if "closed" in r and not math.isnan(r["closed"])]
    if good:
        c = np.array([r["closed"] for r in good])
        a = np.array([r["auc"] for r in good])
        cl = np.array([min(r["closed_late"], r["closed_early"]) for r in good])
        print(f"\nBilabial over {len(good)} clips: closed {c.min():.2f}–{c.max():.2f} (median {np.median(c):.2f}), "
              f"auc {a.min():.2f}–{a.max():.2f}; shifted ±{s}s: closed (worse side) {cl.min():.2f}–{cl.max():.2f} "
              f"(median {np.median(cl):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
