"""Fit the voice-sex classifier the automatic voice choice uses (talker/speech/data/sex_classifier.json).

A logistic regression on the reference's speaker embedding (resemblyzer's 256-d utterance vector),
fitted on the clips of ../shared/data/talking whose names say "woman"/"girl" or "man" (41 clips,
10 female). Pitch alone was not enough: on 14 clips of known sex WORLD's median F0 called 3 of 7
women male, pYIN with a WORLD fallback 2, under background sound and music. The classifier is
checked leave-one-out on its own clips and on clips it never saw (the fixtures, the CREMA-D
template); it only says which sex's voice to use, it is never asked how alike two voices are.

Usage: .venv/bin/python scripts/fit_sex_classifier.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
OUT = Path(__file__).resolve().parents[1] / "talker" / "speech" / "data" / "sex_classifier.json"
HELD_OUT = {"fixtures/video/en_woman_flag_8s.mp4": "female", "fixtures/video/en_woman_blue_7s.mp4": "female",
            "fixtures/video/en_man_map_5s.mp4": "male", "fixtures/video/en_man_suit_vfr_6s.mp4": "male",
            "templates/en_cremad_1001_man_51_8s.mp4": "male"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = ap.parse_args()
    shared = Path(args.shared)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    from talker.audio.speaker import embed
    from talker.pipeline import TalkerPipeline

    pipe = TalkerPipeline()
    X, y, names = [], [], []
    for p in sorted((shared / "data" / "talking").glob("*.mp4")):
        m = re.search(r"_(woman|girl|man)_", p.name)
        feats = pipe.analyze(p) if m else None
        if feats is None or feats.audio is None:
            continue
        X.append(embed(feats.audio, feats.sample_rate))
        y.append(0 if m.group(1) == "man" else 1)
        names.append(p.name)
    X, y = np.array(X), np.array(y)

    def model():
        # balanced: 10 women to 31 men; C large: the embeddings are unit vectors, weakly spread
        return LogisticRegression(C=100.0, class_weight="balanced", max_iter=5000)

    loo = cross_val_predict(model(), X, y, cv=LeaveOneOut())
    print(f"fitted on {len(y)} clips ({int(y.sum())} female); leave-one-out errors: "
          f"{int((loo != y).sum())} {[n for n, a, b in zip(names, loo, y, strict=True) if a != b]}")
    clf = model().fit(X, y)
    errors = 0
    for rel, truth in HELD_OUT.items():
        feats = pipe.analyze(shared / rel)
        p = float(clf.predict_proba(embed(feats.audio, feats.sample_rate)[None])[0, 1])
        errors += (p >= 0.5) != (truth == "female")
        print(f"held out {rel:48s} {truth:6s} P(female) {p:.3f}")
    print(f"held-out errors: {errors} of {len(HELD_OUT)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"encoder": "resemblyzer VoiceEncoder utterance embedding (256)",
                               "fitted_on": f"{len(y)} clips of ../shared/data/talking", "positive": "female",
                               "weights": [round(float(w), 6) for w in clf.coef_[0]],
                               "bias": round(float(clf.intercept_[0]), 6)}, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
