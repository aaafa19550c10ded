"""Issue #19's table: today's voice (Piper joe for English, espeak-ng for Mandarin, WORLD matching
on top) against the default (what the pipeline speaks with ``voice="auto"``), on sentences that no
voice choice or fitting saw.

For each reference (the 5 fixtures and 10 clips of ``../shared/data/talking``, both sexes, both
Mandarin clips) and each of three held-out sentences in its language, the speech is made by the
pipeline's own calls (``TalkerPipeline.speak`` and ``apply_reference_voice``, offline engine) and
scored: speaker similarity to the reference (resemblyzer, the evaluation's encoder), DNSMOS P.808
and OVRL (``talker.eval.quality``), Whisper's WER (CER for Mandarin), and the F0 check: the median
F0 of the outputs' voiced frames must lie within 1.3x the reference's F0 interquartile range of the
reference's median F0 (no voice of the other sex).

Bars (issue #19): similarity mean >= today's, >= today's + 0.04 on the female references; no
reference fails the F0 check; P.808 mean >= 4.0 on English outputs, OVRL mean >= 3.3 on Mandarin.

Usage: .venv/bin/python scripts/eval_voices.py [--shared ../shared] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Fresh sentences: the ones that chose af_heart (commit 3bfa845) and eval_voice_match.py's are not reused.
SENTENCES = {
    "en": ["She painted the old fence green before her parents arrived for lunch.",
           "How long does it take to walk from the harbor to the old castle?",
           "The library closed in 2011 and reopened with a new garden last spring."],
    "zh": ["请把窗户关上，外面开始下雨了。", "你周末打算去哪里玩？", "这家书店开业于1987年，每天接待三百多位读者。"],
}
REFERENCES = [
    "fixtures/video/en_woman_flag_8s.mp4", "fixtures/video/en_woman_blue_7s.mp4", "fixtures/video/en_man_map_5s.mp4",
    "fixtures/video/en_man_suit_vfr_6s.mp4", "fixtures/video/de_anchor_20s.mp4",
    "data/talking/en_woman_blackbg_hdtf_8s.mp4", "data/talking/en_woman_blonde_suit_7s.mp4",
    "data/talking/en_woman_window_hdtf_8s.mp4", "data/talking/en_vox_woman_brunette_4s.mp4",
    "data/talking/xx_woman_coat_outdoor_10s.mp4", "data/talking/en_man_obama_hdtf_16s.mp4",
    "data/talking/en_vox_man_suit_blue_12s.mp4", "data/talking/en_man_glasses_hdtf_8s.mp4",
    "data/talking/zh_man_actor_interview_3s.mp4", "data/talking/zh_man_spokesperson_podium_19s.mp4",
]
TODAY = {"en": "joe", "zh": "espeak-zh"}  # before #19: Piper joe, espeak-ng for Mandarin
SYSTEMS = ("today", "default")
F0_IQR_FACTOR = 1.3


def voiced_f0(audio: np.ndarray, sr: int) -> np.ndarray:
    """F0 (Hz) of the voiced frames, read as ``VoiceProfile`` reads a reference's (WORLD Harvest:
    DIO took one woman's 144 Hz voice for 75 Hz, which would hide a voice of the wrong sex)."""
    from talker.speech.voice_match import MIN_VOICED_FRAMES, _clean, _f0

    x = _clean(audio)
    if x.size < sr // 20:
        return np.zeros(0)
    f0 = _f0(x, sr, robust=True)[0]
    f0 = f0[f0 > 0]
    return f0 if f0.size >= MIN_VOICED_FRAMES else np.zeros(0)


def speak(pipe, feats, text: str, lang: str, system: str) -> tuple[np.ndarray, int, object, str, dict]:
    """(audio, rate, speech, voice, matching info) exactly as ``TalkerPipeline.generate`` makes the
    speech with ``voice`` = today's voice or "auto". The voice-match cache is keyed by content hash,
    so each system gets its own key: the warp is calibrated on its own voice, as in the product."""
    from talker.request import GenerateOptions

    opt = GenerateOptions(language=lang, engine="offline", voice=TODAY[lang] if system == "today" else "auto")
    feats = dataclasses.replace(feats, content_hash=f"{feats.content_hash}:{system}")
    voice = pipe._voice_for(text, feats, opt)
    speech = pipe.speak(text, feats, opt)
    if speech.source != "voice" or feats.audio is None:
        return speech.audio, speech.sample_rate, speech, voice or speech.backend, {"kept": "stock"}
    from talker.speech.voice_match import apply_reference_voice

    out, info = apply_reference_voice(speech.audio, speech.sample_rate, feats.audio, feats.sample_rate,
                                      key=feats.content_hash)
    return out, speech.sample_rate, speech, voice or speech.backend, info


def score(out: np.ndarray, sr: int, speech, feats, lang: str) -> dict:
    """Similarity, DNSMOS, error rate and median F0 of one output."""
    from talker.asr import transcribe
    from talker.eval.quality import dnsmos
    from talker.eval.voice import speaker_similarity
    from talker.text.metrics import cer, wer
    from talker.text.normalize import normalize_text

    # Whisper writes "1998" where the voice said the normalised words: spell it out too
    heard = normalize_text(transcribe(out, sr, language=lang).text, lang)
    mos = dnsmos(out, sr)
    f0 = voiced_f0(out, sr)
    return {"similarity": round(speaker_similarity(out, sr, feats.audio, feats.sample_rate), 4),
            "p808": mos["p808"], "ovrl": mos["ovrl"],
            "error_rate": round(cer(speech.text, heard) if lang == "zh" else wer(speech.text, heard), 4),
            "heard": heard, "f0_out": round(float(np.median(f0)), 1) if f0.size else None}


def evaluate_reference(pipe, shared: Path, rel: str) -> tuple[list[dict], list[dict]]:
    """Per-output rows and the two per-system table rows of one reference."""
    from talker.speech.sources import reference_sex

    feats = pipe.analyze(shared / rel)
    name = Path(rel).stem
    lang = "zh" if name.startswith("zh_") else "en"
    sex = reference_sex(feats.audio, feats.sample_rate) or "?"
    ref_f0 = voiced_f0(feats.audio, feats.sample_rate)
    q1, med, q3 = np.percentile(ref_f0, [25, 50, 75]) if ref_f0.size else (np.nan,) * 3
    rows, table = [], []
    for system in SYSTEMS:
        sel, pooled = [], []
        for i, text in enumerate(SENTENCES[lang]):
            out, sr, speech, voice, info = speak(pipe, feats, text, lang, system)
            row = {"reference": name, "language": lang, "sex": sex, "system": system, "voice": voice,
                   "sentence": i, "kept": info.get("kept"), **score(out, sr, speech, feats, lang)}
            pooled.append(voiced_f0(out, sr))
            sel.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        rows += sel
        f0_out = float(np.median(np.concatenate(pooled))) if sum(p.size for p in pooled) else float("nan")
        table.append({"reference": name, "language": lang, "sex": sex, "system": system, "voice": sel[0]["voice"],
                      **{k: round(float(np.mean([r[k] for r in sel])), 4)
                         for k in ("similarity", "p808", "ovrl", "error_rate")},
                      "f0_out": round(f0_out, 1), "f0_ref": round(float(med), 1), "f0_iqr": round(float(q3 - q1), 1),
                      "f0_pass": bool(abs(f0_out - med) <= F0_IQR_FACTOR * (q3 - q1))})
    return rows, table


def print_table(table: list[dict]) -> None:
    print(f"\n{'reference':30s} {'sex':6s} {'lang':4s} {'system':7s} {'voice':10s} {'sim':>6s} {'P.808':>5s} "
          f"{'OVRL':>5s} {'F0 out/ref/IQR':>15s} {'F0':4s} {'err':>5s}")
    for t in table:
        print(f"{t['reference']:30s} {t['sex']:6s} {t['language']:4s} {t['system']:7s} {t['voice']:10s} "
              f"{t['similarity']:6.3f} {t['p808']:5.2f} {t['ovrl']:5.2f} "
              f"{t['f0_out']:5.0f}/{t['f0_ref']:4.0f}/{t['f0_iqr']:4.0f} {'ok' if t['f0_pass'] else 'FAIL':4s} "
              f"{t['error_rate']:5.3f}")


def summarize(table: list[dict], rows: list[dict]) -> dict:
    """The bars' figures: similarity means (all, female, male), DNSMOS means, F0 failures."""
    def mean(xs):
        return round(float(np.mean(xs)), 4) if xs else None

    out = {}
    for system in SYSTEMS:
        t = [r for r in table if r["system"] == system]
        o = [r for r in rows if r["system"] == system]
        out[system] = {"similarity": mean([r["similarity"] for r in t]),
                       "similarity_female": mean([r["similarity"] for r in t if r["sex"] == "female"]),
                       "similarity_male": mean([r["similarity"] for r in t if r["sex"] == "male"]),
                       "p808_en": mean([r["p808"] for r in o if r["language"] == "en"]),
                       "ovrl_zh": mean([r["ovrl"] for r in o if r["language"] == "zh"]),
                       "f0_failures": [r["reference"] for r in t if not r["f0_pass"]]}
    return out


def print_summary(s: dict) -> None:
    today, new = s["today"], s["default"]
    for key, label in (("similarity", "all"), ("similarity_female", "female"), ("similarity_male", "male")):
        if today[key] is not None:
            print(f"similarity mean, {label:6s} references: today {today[key]:.3f}  default {new[key]:.3f}  "
                  f"difference {new[key] - today[key]:+.3f}")
    for key, label in (("p808_en", "DNSMOS P.808 mean, English outputs"), ("ovrl_zh", "DNSMOS OVRL mean, Mandarin outputs")):
        print(f"{label}: today {today[key]:.2f}  default {new[key]:.2f}")
    for system in SYSTEMS:
        fails = s[system]["f0_failures"]
        print(f"F0 check ({system}): {len(fails)} of 15 references fail {fails if fails else ''}")
    bars = {"similarity mean >= today": new["similarity"] >= today["similarity"],
            "female similarity >= today + 0.04": new["similarity_female"] - today["similarity_female"] >= 0.04,
            "no reference fails the F0 check": not new["f0_failures"],
            "P.808 >= 4.0 on English outputs": new["p808_en"] >= 4.0,
            "OVRL >= 3.3 on Mandarin outputs": new["ovrl_zh"] >= 3.3}
    for bar, ok in bars.items():
        print(f"bar: {bar:36s} {'PASS' if ok else 'FAIL'}")
    s["bars"] = bars


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--json")
    args = ap.parse_args()
    from talker.pipeline import TalkerPipeline

    pipe = TalkerPipeline()
    rows, table = [], []
    for rel in REFERENCES:
        r, t = evaluate_reference(pipe, Path(args.shared), rel)
        rows += r
        table += t
    print_table(table)
    summary = summarize(table, rows)
    print_summary(summary)
    if args.json:
        Path(args.json).write_text(json.dumps({"table": table, "summary": summary, "outputs": rows},
                                              indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
