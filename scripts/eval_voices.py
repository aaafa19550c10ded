"""Which stock voice for which reference: today's path (Piper joe + WORLD matching) against the
Kokoro voice of the reference's sex (+ the same WORLD matching), on sentences no choice saw.

For each reference (the 5 fixtures and 10 clips of ``../shared/data/talking``, both sexes, both
Mandarin clips) and each of three held-out sentences in its language, the speech is made as the
pipeline makes it and scored: speaker similarity to the reference (resemblyzer, the evaluation's
encoder: the choice itself uses only the reference's median pitch, never this encoder), the
output's median F0 against the reference's (no voice of the other sex), and Whisper's WER/CER.

Usage: .venv/bin/python scripts/eval_voices.py [--shared ../shared] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCES = {
    "en": ["Our train leaves at half past nine, so please be on time.",
           "Did you remember to bring the tickets for Friday's concert?",
           "The museum opened in 1998 and now welcomes over two million visitors a year."],
    "zh": ["今天的会议推迟到下午三点。", "你知道最近的地铁站在哪里吗？", "这座桥建于1958年，全长二百五十米。"],
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


def median_f0(audio: np.ndarray, sr: int) -> float | None:
    from talker.speech.voice_match import VoiceProfile

    prof = VoiceProfile.from_audio(audio, sr)
    return prof.f0_median_hz if prof.voiced else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--json")
    args = ap.parse_args()
    shared = Path(args.shared)
    from talker.asr import transcribe
    from talker.eval.voice import speaker_similarity
    from talker.pipeline import TalkerPipeline
    from talker.speech.kokoro_backend import DEFAULT_VOICES
    from talker.speech.sources import offline_speech, reference_sex
    from talker.speech.voice_match import apply_reference_voice
    from talker.text.metrics import cer, wer
    from talker.text.normalize import normalize_text

    pipe = TalkerPipeline()
    rows = []
    for rel in REFERENCES:
        feats = pipe.analyze(shared / rel)
        lang = "zh" if Path(rel).name.startswith("zh_") else "en"
        sex = reference_sex(feats.audio, feats.sample_rate) or "female"
        ref_f0 = median_f0(feats.audio, feats.sample_rate)
        systems = {"kokoro": DEFAULT_VOICES[(lang, sex)]}
        if lang == "en":
            systems = {"piper": "joe", **systems}
        else:
            systems = {"espeak": "espeak-zh", **systems}
        for system, voice in systems.items():
            for i, text in enumerate(SENTENCES[lang]):
                speech = offline_speech(text, language=lang, speed=1.0, seed=0, max_chars=5000, voice=voice)
                out, info = apply_reference_voice(speech.audio, speech.sample_rate, feats.audio, feats.sample_rate,
                                                  key=feats.content_hash + system)
                # Whisper writes "1998" where the voice said the normalised words: spell it out too
                heard = normalize_text(transcribe(out, speech.sample_rate, language=lang).text, lang)
                err = cer(speech.text, heard) if lang == "zh" else wer(speech.text, heard)
                row = {"reference": Path(rel).stem, "language": lang, "sex": sex, "system": system, "voice": voice,
                       "sentence": i, "similarity": round(speaker_similarity(out, speech.sample_rate, feats.audio,
                                                                             feats.sample_rate), 4),
                       "error_rate": round(err, 4), "kept": info.get("kept"),
                       "f0_out": round(median_f0(out, speech.sample_rate) or 0, 1), "f0_ref": round(ref_f0 or 0, 1)}
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    print(f"\n{'reference':32s} {'sex':6s} {'system':7s} {'voice':11s} {'similarity':>10s} {'err':>6s} {'F0 out/ref':>12s}")
    for ref in dict.fromkeys(r["reference"] for r in rows):
        for system in dict.fromkeys(r["system"] for r in rows if r["reference"] == ref):
            sel = [r for r in rows if r["reference"] == ref and r["system"] == system]
            print(f"{ref:32s} {sel[0]['sex']:6s} {system:7s} {sel[0]['voice']:11s} "
                  f"{np.mean([r['similarity'] for r in sel]):10.3f} {np.mean([r['error_rate'] for r in sel]):6.3f} "
                  f"{np.median([r['f0_out'] for r in sel]):6.0f}/{sel[0]['f0_ref']:<5.0f}")
    for sex in ("female", "male"):
        for system in ("piper", "kokoro"):
            sel = [r["similarity"] for r in rows if r["sex"] == sex and r["system"] == system and r["language"] == "en"]
            if sel:
                print(f"English {sex:6s} references, {system:6s}: mean similarity {np.mean(sel):.3f} over {len(sel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
