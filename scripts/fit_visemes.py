"""Fit the viseme model (talker/motion/data/visemes.json) on real talking-face footage.

For each English clip: tracked mouth blendshapes (reference analysis), its transcript (ASR),
phones by forced alignment. Mouth channels are normalised per speaker; for a grid of
coarticulation settings (lead, dominance width, strengths) the per-phone targets are solved
by ridge least squares, settings are chosen by clip-level cross-validation, and the result is
scored on the held-out clips (../shared/fixtures/video) against a hand-made table. A second
stage fits the loudness gain (louder syllables open the jaw wider) on top of the chosen visemes,
its ridge strength and context chosen the same way, and keeps it only if it predicts the
held-out clips' tracked jaw better than the visemes alone.

Usage: .venv/bin/python scripts/fit_visemes.py [--shared ../shared] [--write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talker.align.phones import align  # noqa: E402
from talker.motion.code import FPS  # noqa: E402
from talker.motion.generator import speech_energy  # noqa: E402
from talker.motion.visemes import JAW, MOUTH_CHANNELS, LoudnessGain, SpeakerMouth, VisemeModel  # noqa: E402
from talker.phones import ARPABET_PHONES as PHONES  # noqa: E402
from talker.phones import BILABIAL, LABIODENTAL, normalise_phones  # noqa: E402
from talker.phones import VOWELS as VOWEL  # noqa: E402
from talker.pipeline import PipelineConfig, TalkerPipeline  # noqa: E402
from talker.reference.analysis import AnalysisConfig  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "talker" / "motion" / "data" / "visemes.json"


def hand_table() -> np.ndarray:
    """A phonetics-textbook table, the baseline the fit must beat."""
    T = np.zeros((len(PHONES), len(MOUTH_CHANNELS)))
    c = {n: i for i, n in enumerate(MOUTH_CHANNELS)}
    openness = {"AA": 1.0, "AE": 0.85, "AH": 0.7, "AO": 0.85, "AW": 0.85, "AY": 0.85, "EH": 0.6, "ER": 0.4,
                "EY": 0.5, "IH": 0.4, "IY": 0.3, "OW": 0.6, "OY": 0.6, "UH": 0.4, "UW": 0.3, "HH": 0.5,
                "K": 0.35, "G": 0.35, "NG": 0.3, "T": 0.25, "D": 0.25, "N": 0.25, "L": 0.3, "S": 0.15, "Z": 0.15,
                "TH": 0.25, "DH": 0.25, "SH": 0.2, "ZH": 0.2, "CH": 0.2, "JH": 0.2, "R": 0.3, "Y": 0.25,
                "W": 0.2, "F": 0.1, "V": 0.1}
    for p, v in openness.items():
        T[PHONES.index(p), c["jawOpen"]] = v
    for p in ("UW", "OW", "W", "UH", "OY", "SH", "ZH", "CH", "JH", "R"):
        T[PHONES.index(p), c["mouthPucker"]] = 0.6
        T[PHONES.index(p), c["mouthFunnel"]] = 0.3
    for p in BILABIAL:
        T[PHONES.index(p), c["mouthClose"]] = 0.3
        T[PHONES.index(p), c["mouthPressLeft"]] = T[PHONES.index(p), c["mouthPressRight"]] = 0.4
    for p in LABIODENTAL:
        T[PHONES.index(p), c["mouthRollLower"]] = 0.5
    return T


def strengths(bilabial: float) -> np.ndarray:
    s = np.ones(len(PHONES))
    for i, p in enumerate(PHONES):
        if p in BILABIAL:
            s[i] = bilabial
        elif p in LABIODENTAL:
            s[i] = 0.5 * (1 + bilabial)
        elif p in VOWEL:
            s[i] = 1.0
        elif p == "SIL":
            s[i] = 0.6
        else:
            s[i] = 0.7
    return s


CLOSING = ("mouthClose", "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")


def lip_closers_only(T: np.ndarray) -> np.ndarray:
    """Press / roll / close belong to the lip-closing phones. MediaPipe's blendshapes entangle
    them with smiling, so the free fit gives vowels lip pressing too, which a renderer reads as
    "shut the lips" mid-vowel; they are zeroed outside /p b m f v/ and pauses."""
    T = T.copy()
    cols = [MOUTH_CHANNELS.index(c) for c in CLOSING]
    for i, p in enumerate(PHONES):
        if p not in BILABIAL and p not in LABIODENTAL and p != "SIL":
            T[i, cols] = np.minimum(T[i, cols], 0.0)
    return T


def collect(paths: list[Path], pipe: TalkerPipeline) -> list[dict]:
    data = []
    for path in paths:
        try:
            hint = path.name.split("_")[0]
            f = pipe.analyze(path, language=hint if hint in ("en", "zh", "de") else None)
        except Exception as e:  # noqa: BLE001 - a clip that cannot be analysed is skipped, reported
            print(f"skip {path.name}: {e}")
            continue
        if f.language != "en" or len(f.transcript.split()) < 3:
            print(f"skip {path.name}: language {f.language!r}")
            continue
        try:
            al = align(f.audio, f.sample_rate, f.transcript, "en")
        except Exception as e:  # noqa: BLE001
            print(f"skip {path.name}: alignment failed: {e}")
            continue
        phones = normalise_phones(al.phones)
        n = f.frames
        speaking = np.zeros(n, bool)
        for p in phones:
            if p.symbol != "SIL":
                speaking[int(p.start * FPS): int(np.ceil(p.end * FPS))] = True
        spk = SpeakerMouth.from_motion(f.motion, 0.3, speaking[:n])
        data.append({"name": path.name, "phones": phones, "Y": spk.normalise(f.motion), "n": n, "scale": spk.scale,
                     "energy": speech_energy(f.audio, f.sample_rate, n)})
    return data


def design(model: VisemeModel, clip: dict) -> np.ndarray:
    return model.weights(clip["phones"], np.arange(clip["n"]) / FPS)


def solve(clips: list[dict], model: VisemeModel, lam: float = 0.5) -> np.ndarray:
    W = np.vstack([design(model, c) for c in clips])
    Y = np.vstack([c["Y"] for c in clips])
    A = W.T @ W + lam * np.eye(W.shape[1])
    return np.linalg.solve(A, W.T @ Y)


def loudness_design(model: VisemeModel, clip: dict, offsets: np.ndarray) -> np.ndarray:
    v = model.trajectory(clip["phones"], clip["n"])[:, JAW]
    idx = np.clip(np.arange(clip["n"])[:, None] + offsets[None, :], 0, clip["n"] - 1)
    return np.hstack([v[:, None], v[:, None] * clip["energy"][idx], np.ones((clip["n"], 1))])


def fit_loudness(clips: list[dict], model: VisemeModel, offsets: np.ndarray, lam: float) -> LoudnessGain:
    X = np.vstack([loudness_design(model, c, offsets) for c in clips])
    y = np.concatenate([c["Y"][:, JAW] for c in clips])
    w = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)
    return LoudnessGain(offsets, w[1:-1], float(w[0]), float(w[-1]))


def score(clips: list[dict], model: VisemeModel) -> tuple[float, list[float]]:
    """Mean squared error over all mouth channels, and jawOpen r per clip."""
    errs, rs = [], []
    for c in clips:
        pred = model.trajectory(c["phones"], c["n"], energy=c.get("energy"))
        errs.append(float(np.mean((pred - c["Y"]) ** 2)))
        a, b = pred[:, JAW], c["Y"][:, JAW]
        rs.append(float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0)
    return float(np.mean(errs)), rs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--write", action="store_true", help="write talker/motion/data/visemes.json")
    args = ap.parse_args()
    shared = Path(args.shared)
    face = shared / "models" / "face_landmarker.task"
    pipe = TalkerPipeline(PipelineConfig(analysis=AnalysisConfig(min_seconds=2.0, face_model=str(face))))
    train = collect(sorted((shared / "data" / "talking").glob("*.mp4")), pipe)
    held = collect(sorted((shared / "fixtures" / "video").glob("en_*.mp4")), pipe)
    print(f"train clips: {len(train)}, held-out clips: {len(held)}")
    rng = np.random.default_rng(0)
    folds = np.array_split(rng.permutation(len(train)), 5)
    best = None
    for lead, width, floor, bil in itertools.product((0.0, 0.02, 0.04, 0.06), (0.3, 0.6, 1.0), (0.03, 0.05),
                                                     (1.5, 3.0, 6.0)):
        m = VisemeModel(np.zeros((len(PHONES), len(MOUTH_CHANNELS))), strengths(bil), width, floor, lead, 0.3)
        cv = []
        for k in range(5):
            tr = [train[i] for i in range(len(train)) if i not in folds[k]]
            te = [train[i] for i in folds[k]]
            m.targets = lip_closers_only(solve(tr, m))
            cv.append(score(te, m)[0])
        err = float(np.mean(cv))
        if best is None or err < best[0]:
            best = (err, lead, width, floor, bil)
        print(f"lead {lead:.2f} width {width:.1f} floor {floor:.2f} bilabial {bil:.1f}: cv mse {err:.4f}")
    assert best is not None
    err, lead, width, floor, bil = best
    model = VisemeModel(np.zeros((len(PHONES), len(MOUTH_CHANNELS))), strengths(bil), width, floor, lead, 0.3)
    model.targets = lip_closers_only(solve(train, model))
    vis_mse, vis_r = score(held, model)
    # second stage: the loudness gain on top of the chosen visemes
    best_gain = None
    for reach, lam in itertools.product((2, 4, 6), (1.0, 10.0, 30.0, 100.0)):
        offsets = np.arange(-reach, reach + 1)
        cv = []
        for k in range(5):
            tr = [train[i] for i in range(len(train)) if i not in folds[k]]
            te = [train[i] for i in folds[k]]
            m = VisemeModel(model.targets, model.strength, width, floor, lead, 0.3,
                            loudness=fit_loudness(tr, model, offsets, lam))
            cv += score(te, m)[1]
        r = float(np.mean(cv))
        print(f"loudness gain ±{reach} frames, ridge {lam:g}: cv jaw r {r:.3f}")
        if best_gain is None or r > best_gain[0]:
            best_gain = (r, offsets, lam)
    assert best_gain is not None
    loud = fit_loudness(train, model, best_gain[1], best_gain[2])
    with_gain = VisemeModel(model.targets, model.strength, width, floor, lead, 0.3, loudness=loud)
    gain_mse, gain_r = score(held, with_gain)
    print(f"loudness gain chosen: ±{best_gain[1][-1]} frames, ridge {best_gain[2]:g}; held-out jaw r "
          f"{np.mean(vis_r):.3f} → {np.mean(gain_r):.3f}")
    keep_gain = float(np.mean(gain_r)) > float(np.mean(vis_r))
    population = float(np.median([c["scale"] for c in train]))
    hand = VisemeModel(hand_table(), strengths(3.0), 0.6, 0.04, 0.02, 0.3)
    fit_mse, fit_r = (gain_mse, gain_r) if keep_gain else (vis_mse, vis_r)
    hand_mse, hand_r = score(held, hand)
    print(f"\nchosen: lead {lead} s, width {width}, floor {floor} s, bilabial strength {bil} (cv mse {err:.4f})")
    print(f"{'held-out clip':28s} {'fit r(jaw)':>10s} {'visemes only':>12s} {'hand r(jaw)':>11s}")
    for c, a, v, b in zip(held, fit_r, vis_r, hand_r, strict=True):
        print(f"{c['name']:28s} {a:10.3f} {v:12.3f} {b:11.3f}")
    print(f"{'mean':28s} {np.mean(fit_r):10.3f} {np.mean(vis_r):12.3f} {np.mean(hand_r):11.3f}   "
          f"(mse fit {fit_mse:.4f}, hand {hand_mse:.4f})")
    if args.write:
        table = {p: {ch: round(float(model.targets[i, j]), 4) for j, ch in enumerate(MOUTH_CHANNELS)}
                 for i, p in enumerate(PHONES)}
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps({
            "fitted_on": f"{len(train)} English clips of ../shared/data/talking; held-out jaw r "
                         f"{np.mean(fit_r):.3f} (visemes alone {np.mean(vis_r):.3f}, hand table {np.mean(hand_r):.3f})",
            **({"loudness": loud.to_json()} if keep_gain else {}),
            "lead": lead, "width": width, "floor": floor, "population_jaw_range": round(population, 4),
            "strength": {p: float(s) for p, s in zip(PHONES, strengths(bil), strict=True)},
            "targets": table,
        }, indent=1) + "\n")
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
