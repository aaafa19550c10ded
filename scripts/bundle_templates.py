"""Build the bundled video templates in assets/templates/ from the licence-clean clips in
../shared/templates (GRID, CC BY 4.0; CREMA-D, ODbL/DbCL; see its SOURCES.md).

Each template gets its clip, the analysed features (so first use is instant), a thumbnail, the
known transcript (GRID sentences follow from the file names of the corpus; CREMA-D's "DFA" is
"Don't forget a jacket"), the licence and the attribution line the licence asks for, and the
nearest stock voice per language (what `--voice auto` picks for its speaker). The known
transcripts are checked against what Whisper hears in each clip (WER printed).

Usage: .venv/bin/python scripts/bundle_templates.py [--shared ../shared] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID_LICENSE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
GRID_SOURCE = "GRID audio-visual sentence corpus (Cooke, Barker, Cunningham, Shao; University of Sheffield)"
GRID_ATTRIBUTION = (
    "Contains video from the GRID audio-visual corpus: Cooke, M., Barker, J., Cunningham, S., & Shao, X. (2006). "
    "The Grid Audio-Visual Speech Corpus (1.0) [Data set]. Zenodo. https://doi.org/10.5281/zenodo.3625687, "
    "licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Modified: clips joined and re-encoded.")
CREMAD_LICENSE = "ODbL 1.0 (database) / DbCL 1.0 (contents)"
CREMAD_SOURCE = "CREMA-D (Cao, Cooper, Keutmann, Gur, Nenkova, Verma, 2014)"
CREMAD_ATTRIBUTION = (
    "Contains clips from CREMA-D (Cao et al., IEEE Trans. Affective Computing 5(4), 2014; "
    "github.com/CheyneyComputerScience/CREMA-D), made available under the ODbL v1.0; contents under the DbCL v1.0. "
    "Modified: 4 clips joined and re-encoded.")
CONSENT = ("Recorded for a research corpus with the speakers' consent to that corpus; no consent to or endorsement "
           "of this project is implied.")
NOTES = ("A real person from a research corpus: do not present them as endorsing anything, and label what you "
         "make with them as AI-generated (the output is labelled).")

# file in ../shared/templates → (template name, display name, transcript); GRID sentences from
# the corpus's file names (command, colour, preposition, letter, digit, adverb).
TEMPLATES = {
    "en_grid_s4_woman_greycurly_hq_12s.mp4": (
        "grid-s4-woman", "Woman, grey curls",
        "Bin green in M eight soon. Bin green in N zero again. Bin green with O two again. Bin red with T one now."),
    "en_grid_s1_man_denim_12s.mp4": (
        "grid-s1-man", "Man, denim shirt",
        "Bin blue at F two now. Bin blue at L six now. Bin blue at S one soon. Bin blue at Z four now."),
    "en_grid_s2_man_greyhair_6s.mp4": (
        "grid-s2-man", "Man, grey hair", "Set white with P two soon. Place white in J three please."),
    "en_grid_s23_woman_greentop_6s.mp4": (
        "grid-s23-woman", "Woman, green top", "Lay red with P nine again. Place red in A zero now."),
    "en_grid_woman_darkhair_3s.mp4": ("grid-woman-darkhair", "Woman, long hair",
                                      "Bin red by K seven now."),
    "en_grid_woman_pinktop_3s.mp4": ("grid-woman-pinktop", "Woman, pink top", "Lay blue by C two again."),
    "en_grid_man_glasses_3s.mp4": ("grid-man-glasses", "Man, glasses", "Lay blue at X four now."),
    "en_grid_man_darktop_3s.mp4": ("grid-man-darktop", "Man, black T-shirt", "Set blue in A one again."),
    "en_grid_man_whiteshirt_3s.mp4": ("grid-man-whiteshirt", "Man, white shirt", "Set blue with E five now."),
    "en_grid_man_black_redshirt_3s.mp4": ("grid-man-redshirt", "Man, red shirt", "Set white in Z three now."),
    "en_cremad_1001_man_51_8s.mp4": (
        "cremad-1001-man", "Man, green screen",
        "Don't forget a jacket. Don't forget a jacket. Don't forget a jacket. Don't forget a jacket."),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--only", help="build only templates whose name contains this")
    args = ap.parse_args()
    shared = Path(args.shared)
    os.environ.setdefault("TALKER_FACE_LANDMARKER", str(shared / "models" / "face_landmarker.task"))
    from talker.asr import transcribe
    from talker.paths import DEFAULT_TEMPLATES_DIR
    from talker.pipeline import TalkerPipeline
    from talker.templates.store import add_template
    from talker.text.metrics import wer
    from talker.text.normalize import normalize_text

    pipe = TalkerPipeline()
    for file, (name, display, transcript) in TEMPLATES.items():
        if args.only and args.only not in name:
            continue
        grid = "grid" in file
        tpl, feats = add_template(
            shared / "templates" / file, name, root=DEFAULT_TEMPLATES_DIR, display_name=display,
            transcript=transcript, language="en", source=GRID_SOURCE if grid else CREMAD_SOURCE,
            license=GRID_LICENSE if grid else CREMAD_LICENSE, consent=CONSENT,
            attribution=GRID_ATTRIBUTION if grid else CREMAD_ATTRIBUTION, notes=NOTES, overwrite=True)
        # the nearest stock voice per language, until a fitted one exists (issue 20)
        tpl.voices = pipe.stock_voices(feats)
        (tpl.directory / "template.json").write_text(json.dumps(tpl.to_json(), ensure_ascii=False, indent=2) + "\n",
                                                     encoding="utf-8")
        heard = transcribe(feats.audio, feats.sample_rate, language="en")
        print(json.dumps({"template": name, "frames": feats.frames, "span": feats.span, "size": feats.frame_size,
                          "face_ratio": round(float(feats.detected.mean()), 3), "warnings": feats.warnings,
                          "whisper": heard.text, "wer_vs_known": round(wer(transcript, normalize_text(re.sub(r"([A-Za-z])(\d)", r"\1 \2", heard.text), "en")), 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
