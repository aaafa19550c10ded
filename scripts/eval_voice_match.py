"""Does WORLD voice matching bring the stock Piper voice closer to the reference speaker?

For each reference clip and each held-out sentence: speak the sentence with the stock voice, apply
each matching variant, and measure (a) resemblyzer speaker similarity to the reference's own speech
and (b) Whisper-base WER of the result against the sentence, so a variant that sounds "closer" but
less intelligible shows up. Real speaker-vs-speaker similarities are printed as the scale: what
"different person" scores on this encoder.

This measures signal-processing matching, not voice cloning.

Usage:
    TALKER_FACE_LANDMARKER=/work/shared/models/face_landmarker.task \\
        .venv/bin/python scripts/eval_voice_match.py [--clips 'GLOB'] [--no-wer] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talker.audio import SAMPLE_RATE  # noqa: E402
from talker.audio.resample import resample  # noqa: E402
from talker.audio.speaker import embed  # noqa: E402
from talker.speech.voice_match import (  # noqa: E402
    MatchSettings,
    VoiceProfile,
    calibrate_warp,
    match_voice,
    recommended_settings,
)

SENTENCES = [
    "Please remember to bring your notes to the meeting on Thursday afternoon.",
    "The weather was warm and bright, so we walked along the river until sunset.",
    "Our small team built a new library for the village, and everyone helped to paint it.",
]
# Long-term envelope of the stock voice, from text other than the test sentences.
CALIBRATION_TEXT = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
                    "It is easy to tell the depth of a well. These days a chicken leg is a rare dish. "
                    "Rice is often served in round bowls. The juice of lemons makes fine punch. "
                    "The box was thrown beside the parked truck. Four hours of steady work faced us.")
RATE = SAMPLE_RATE  # the pipeline matches after resampling Piper's 22.05 kHz to 24 kHz
VARIANTS: dict[str, MatchSettings | None] = {
    "piper": None,
    "world_only": MatchSettings(f0=False, warp=False, eq=False),  # vocoder round trip, no change
    "f0": MatchSettings(f0=True, warp=False, eq=False),
    "f0+warp": MatchSettings(f0=True, warp=True, eq=False),
    "f0+warp+eq": MatchSettings(f0=True, warp=True, eq=True),
    "f0+eq": MatchSettings(f0=True, warp=False, eq=True),
    # Warp factor chosen by the speaker encoder on a *different* sentence (cross-fitted), see calibrate_warp.
    "f0+warp(cal)": MatchSettings(f0=True, warp=True, eq=False),
    "f0+warp(cal)+eq": MatchSettings(f0=True, warp=True, eq=True),
}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def _world_roundtrip(x: np.ndarray, sr: int) -> np.ndarray:
    """Analysis + synthesis with nothing changed: separates vocoder damage from the matching."""
    import pyworld

    from talker.speech import voice_match as vm

    xd = x.astype(np.float64)
    f0, t = vm._f0(xd, sr)
    sp = vm._envelope(xd, f0, t, sr)
    ap = pyworld.d4c(xd, f0, t, sr, fft_size=vm._fft_size(sr))
    y = pyworld.synthesize(f0, sp, ap, sr, vm.FRAME_PERIOD_MS)[: x.size]
    return np.pad(y, (0, x.size - y.size)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", default="/work/shared/fixtures/video/*.mp4")
    ap.add_argument("--no-wer", action="store_true", help="skip Whisper (faster)")
    ap.add_argument("--json", help="write all numbers here")
    args = ap.parse_args()
    os.environ.setdefault("TALKER_FACE_LANDMARKER", "/work/shared/models/face_landmarker.task")

    from talker.pipeline import TalkerPipeline
    from talker.speech.base import synthesize

    clips = sorted(glob.glob(args.clips))
    if not clips:
        print(f"no clips match {args.clips}", file=sys.stderr)
        return 2
    pipe = TalkerPipeline()
    refs: dict[str, tuple[np.ndarray, VoiceProfile, np.ndarray]] = {}
    for clip in clips:
        feats = pipe.analyze(clip)
        name = Path(clip).stem
        prof = VoiceProfile.from_audio(feats.audio, feats.sample_rate, with_embedding=True)
        refs[name] = (feats.audio, prof, prof.embedding)
        print(f"{name}: {prof.to_dict()} lang={feats.language} profile {prof.seconds:.2f}s", flush=True)

    print("\nReal speaker vs real speaker (the scale for 'a different person'):")
    pairs = {}
    for a, b in itertools.combinations(refs, 2):
        pairs[f"{a}|{b}"] = s = _cos(refs[a][2], refs[b][2])
        print(f"  {a:22s} {b:22s} {s:.3f}")
    # Same speaker, different excerpt: first vs second half of each reference.
    halves = {}
    for name, (audio, _, _) in refs.items():
        h = audio.size // 2
        halves[name] = s = _cos(embed(audio[:h], RATE), embed(audio[h:], RATE))
    print("Same speaker, other half of the clip:", {k: round(v, 3) for k, v in halves.items()})

    speech = []
    for text in SENTENCES:
        r = synthesize(text, language="en")
        speech.append((text, resample(r.audio, r.sample_rate, RATE)))

    r = synthesize(CALIBRATION_TEXT, language="en")
    stock_prof = VoiceProfile.from_audio(resample(r.audio, r.sample_rate, RATE), RATE)
    print(f"stock voice over {stock_prof.duration:.1f}s of other text: {stock_prof.to_dict()}")

    wer_fn = None
    if not args.no_wer:
        from talker.asr import transcribe
        from talker.text.metrics import wer

        def wer_fn(audio, text):  # noqa: E306
            hyp = transcribe(audio, RATE, language="en", backend="base").text
            return wer(text, hyp), hyp

    rows, timings = [], {"match_s": [], "match_rtf": [], "embed_s": [], "calibrate_s": []}
    alphas: dict[tuple[str, int], float] = {}
    for name, (_a, prof, _e) in refs.items():
        for si, (_text, stock) in enumerate(speech):
            t = time.perf_counter()
            alphas[(name, si)], cal = calibrate_warp(stock, RATE, prof)
            timings["calibrate_s"].append(time.perf_counter() - t)
            print(f"  calibrate {name} on s{si}: alpha={alphas[(name, si)]} "
                  f"{ {k: round(v, 3) for k, v in cal.get('scores', {}).items()} }", flush=True)
    wer_cache: dict[tuple[int, str], tuple[float, str]] = {}
    for name, (_ref_audio, prof, ref_emb) in refs.items():
        for si, (text, stock) in enumerate(speech):
            for var, st in VARIANTS.items():
                info: dict = {}
                if var == "piper":
                    y = stock
                elif var == "world_only":
                    y = _world_roundtrip(stock, RATE)
                else:
                    if "(cal)" in var:  # alpha from the next sentence, never from this one
                        st = replace(st, warp_alpha=alphas[(name, (si + 1) % len(speech))])
                    y, info = match_voice(stock, RATE, stock_prof, prof, settings=st)
                    timings["match_s"].append(info.get("seconds", 0.0))
                    timings["match_rtf"].append(info.get("rtf", 0.0))
                t = time.perf_counter()
                sim = _cos(embed(y, RATE), ref_emb)
                timings["embed_s"].append(time.perf_counter() - t)
                key = (si, var)
                w, hyp = None, None
                if wer_fn is not None:
                    # Stock and round-trip audio are the same for every reference: transcribe once.
                    if var in ("piper", "world_only"):
                        if key not in wer_cache:
                            wer_cache[key] = wer_fn(y, text)
                        w, hyp = wer_cache[key]
                    else:
                        w, hyp = wer_fn(y, text)
                rows.append({"clip": name, "sentence": si, "variant": var, "similarity": sim, "wer": w, "asr": hyp,
                             "alpha": info.get("warp_alpha"), "f0_shift_st": info.get("f0_shift_semitones"),
                             "eq_max_db": info.get("eq_max_db")})
                print(f"  {name:22s} s{si} {var:12s} sim={sim:.3f} wer={'-' if w is None else f'{w:.3f}'} "
                      f"{ {k: info[k] for k in ('f0_shift_semitones', 'warp_alpha', 'warp_fit_r', 'eq_max_db') if k in info} }",
                      flush=True)

    # ----- summary: mean over sentences per clip and variant
    print("\nSimilarity to the reference (mean of sentences) / WER, per clip:")
    names = list(refs)
    header = f"{'variant':12s} " + " ".join(f"{n[:16]:>16s}" for n in names) + f" {'mean':>7s} {'wins':>5s} {'sent':>5s} {'WER':>6s}"
    print(header)
    print("(wins: clips where the mean beats piper; sent: clip-sentence pairs that beat piper, of "
          f"{len(names) * len(SENTENCES)})")
    base = {n: np.mean([r["similarity"] for r in rows if r["clip"] == n and r["variant"] == "piper"]) for n in names}
    summary = {}
    for var in VARIANTS:
        sims = {n: float(np.mean([r["similarity"] for r in rows if r["clip"] == n and r["variant"] == var])) for n in names}
        wers = [r["wer"] for r in rows if r["variant"] == var and r["wer"] is not None]
        wins = int(sum(sims[n] > base[n] for n in names))
        pw = {(r["clip"], r["sentence"]): r["similarity"] for r in rows if r["variant"] == "piper"}
        pairs_won = sum(r["similarity"] > pw[(r["clip"], r["sentence"])] for r in rows if r["variant"] == var)
        mean_wer = float(np.mean(wers)) if wers else None
        summary[var] = {"similarity": sims, "mean_similarity": float(np.mean(list(sims.values()))), "wins": wins,
                        "mean_wer": mean_wer, "sentences_won": int(pairs_won)}
        print(f"{var:12s} " + " ".join(f"{sims[n]:16.3f}" for n in names)
              + f" {np.mean(list(sims.values())):7.3f} {wins:5d} {pairs_won:5d} {'-' if mean_wer is None else f'{mean_wer:6.3f}'}")
    # The per-request check: keep whichever of stock / recommended is closer (selection on the metric itself).
    # recommended_settings(alpha) with the calibrated alpha is the "f0+warp(cal)" row.
    rec_var = "f0+warp(cal)" if recommended_settings(1.0).warp else "f0"
    if rec_var in VARIANTS:
        chk = {n: float(np.mean([max(a["similarity"], b["similarity"]) for a, b in zip(
            [r for r in rows if r["clip"] == n and r["variant"] == "piper"],
            [r for r in rows if r["clip"] == n and r["variant"] == rec_var], strict=True)])) for n in names}
        print(f"{'checked':12s} " + " ".join(f"{chk[n]:16.3f}" for n in names)
              + f" {np.mean(list(chk.values())):7.3f}   (recommended={rec_var}, kept only where closer)")
    print(f"calibrate_warp: {np.mean(timings['calibrate_s']):.2f}s per reference (6 warps + embeddings)")
    print(f"\nmatch_voice: mean {np.mean(timings['match_s']):.2f}s per sentence, RTF {np.mean(timings['match_rtf']):.3f}; "
          f"resemblyzer embed {np.mean(timings['embed_s']):.2f}s per call")
    print("Note: signal-processing matching of pitch and timbre; this is not voice cloning.")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary, "pairs": pairs, "halves": halves,
                                               "timings": {k: float(np.mean(v)) for k, v in timings.items() if v}},
                                              indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
