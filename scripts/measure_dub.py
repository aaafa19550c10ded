"""Dubbing, measured: cross-dubs of real clips with another clip's speech and with text.

    python scripts/measure_dub.py OUT_DIR [--clips N] [--modes audio,text]

For each source clip (the 5 held-out fixtures and 5 clips of ../shared/data/talking) the script
dubs it with the next clip's own speech (audio mode; words by speech recognition) and with a
text (text mode, the video's "auto" voice), then measures each output:

- lip sync with ``talker eval``'s measures: bilabial closure (closed share, AUC), AV offset;
- identity distance (SFace) to the source;
- outside the mouth the output equals the source: PSNR per frame over the frame minus the
  mouth box (``talker.eval.dub``: the lower face, nose to below the chin, cheek to cheek, grown
  by 15 % of the face height on each side) against the source decoded at the same rate and
  size, over the frames both share; the visible label is off here;
- the tracked head pose of the output follows the source's (Pearson r of yaw and pitch, both
  tracked the same way, unsmoothed, over the shared length);

and writes a contact sheet and a mouth close-up strip per output to OUT_DIR. A table is printed
and saved as OUT_DIR/table.md with the raw figures in OUT_DIR/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLIPS = [
    "fixtures/video/en_woman_flag_8s.mp4", "fixtures/video/en_man_map_5s.mp4", "fixtures/video/en_woman_blue_7s.mp4",
    "fixtures/video/de_anchor_20s.mp4", "fixtures/video/en_man_suit_vfr_6s.mp4",
    "data/talking/en_man_obama_hdtf_16s.mp4", "data/talking/en_woman_blackbg_hdtf_8s.mp4",
    "data/talking/en_vox_man_suit_blue_12s.mp4", "data/talking/en_man_elderly_interview_7s.mp4",
    "data/talking/en_woman_blonde_suit_7s.mp4",
]
TEXT = ("Good morning, everyone. Before we begin, maybe one quick update: the numbers from last week came back "
        "better than expected, so thank you all for your patience.")
def pose_follow(src_path: Path, out_path: Path, fps: float, size) -> dict:
    """Pearson r, RMS difference and the source's spread of yaw and pitch, tracked the same way on
    source and output: MediaPipe's face transform ("pose_*") and a fit to the rigid points alone
    ("rigid_*": forehead, nose bridge, eye corners, cheekbones; ``tracking.geometry``), plus how
    much the transform's pitch follows the mouth in the source itself ("source_pitch_mouth_r": r
    of its difference from the rigid pitch with jawOpen)."""
    from talker.media import decode
    from talker.motion.code import HEAD_ROTATION, index
    from talker.tracking.geometry import head_pose_from_landmarks
    from talker.tracking.tracker import track_frames

    a = track_frames(decode.iter_frames(src_path, fps, size=size), fps, smooth=False)
    b = track_frames(decode.iter_frames(out_path, fps), fps, smooth=False)
    n = min(a.num_frames, b.num_frames)
    ok = a.detected[:n] & b.detected[:n]
    w, h = size

    def rigid(tr):
        return np.array([head_pose_from_landmarks(lm, w, h)[:2] for lm in tr.landmarks[:n][ok]])

    out = {}
    for name, ra, rb in (("pose", a.motion[:n, HEAD_ROTATION][ok][:, :2], b.motion[:n, HEAD_ROTATION][ok][:, :2]),
                         ("rigid", rigid(a), rigid(b))):
        r = [float(np.corrcoef(ra[:, k], rb[:, k])[0, 1]) for k in (0, 1)]
        rms = np.degrees(np.sqrt(((ra - rb) ** 2).mean(0)))
        sd = np.degrees(ra.std(0))
        out.update({f"{name}_r_pitch": round(r[0], 4), f"{name}_r_yaw": round(r[1], 4),
                    f"{name}_rms_deg_pitch": round(float(rms[0]), 3), f"{name}_rms_deg_yaw": round(float(rms[1]), 3),
                    f"{name}_source_sd_deg_pitch": round(float(sd[0]), 3),
                    f"{name}_source_sd_deg_yaw": round(float(sd[1]), 3)})
        if name == "rigid":
            pull = a.motion[:n, HEAD_ROTATION][ok][:, 0] - ra[:, 0]
            jaw = a.motion[:n, index("jawOpen")][ok]
            out["source_pitch_mouth_r"] = round(float(np.corrcoef(pull, jaw)[0, 1]), 3)
    out["source_sd_deg_pitch"], out["source_sd_deg_yaw"] = out["pose_source_sd_deg_pitch"], out["pose_source_sd_deg_yaw"]
    return out


def sheets(out_path: Path, folder: Path, stem: str, src) -> None:
    import cv2

    from talker.media import decode

    frames = list(decode.iter_frames(out_path, src.fps))
    if not frames:
        return
    idx = np.linspace(0, len(frames) - 1, 12).astype(int)
    h, w = frames[0].shape[:2]
    s = 200 / max(h, w)
    tiles = [cv2.resize(frames[i], (int(w * s), int(h * s))) for i in idx]
    rows = [np.concatenate(tiles[r * 6:(r + 1) * 6], 1) for r in range(2)]
    cv2.imwrite(str(folder / f"{stem}_sheet.png"), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    from talker.eval.dub import mouth_boxes

    boxes = mouth_boxes(src.landmarks, *src.size)
    mid = len(frames) // 2
    strip = []
    for i in range(max(0, mid - 6), min(len(frames), mid + 6)):
        x0, y0, x1, y1 = boxes[min(i, len(boxes) - 1)]
        crop = frames[i][y0:y1, x0:x1]
        strip.append(cv2.resize(crop, (120, int(120 * crop.shape[0] / max(crop.shape[1], 1)))))
    hmax = max(c.shape[0] for c in strip)
    strip = [np.pad(c, ((0, hmax - c.shape[0]), (0, 0), (0, 0))) for c in strip]
    cv2.imwrite(str(folder / f"{stem}_mouths.png"), cv2.cvtColor(np.concatenate(strip, 1), cv2.COLOR_RGB2BGR))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--clips", type=int, default=len(CLIPS))
    ap.add_argument("--modes", default="audio,text")
    ap.add_argument("--pose-only", action="store_true",
                    help="measure the head pose of the outputs already in OUT again (no new dubs)")
    args = ap.parse_args()
    if args.pose_only:
        return _pose_again(Path(args.out))
    from talker.dub.source import analyze_source
    from talker.eval.dub import outside_mouth_psnr
    from talker.eval.report import evaluate
    from talker.pipeline import TalkerPipeline
    from talker.request import DubOptions
    from talker.video.encode import write_wav

    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    pipe = TalkerPipeline()
    clips = [SHARED / c for c in CLIPS[: args.clips]]
    results = []
    for i, clip in enumerate(clips):
        donor = clips[(i + 1) % len(clips)]
        src = analyze_source(clip)
        for mode in args.modes.split(","):
            stem = f"{clip.stem}__{mode}"
            out = folder / f"{stem}.mp4"
            t = time.perf_counter()
            if mode == "audio":
                dsrc = analyze_source(donor)
                wav = write_wav(folder / f"{donor.stem}.wav", dsrc.audio, 24000)
                res = pipe.dub(clip, out, audio=wav, options=DubOptions(label=False))
                said = res.text
            else:
                res = pipe.dub(clip, out, text=TEXT, options=DubOptions(label=False))
                said = TEXT
            wall = time.perf_counter() - t
            psnr, _, share = outside_mouth_psnr(clip, out, src.landmarks, src.fps, src.size)
            ev = evaluate(clip, out, said, pipeline=pipe)
            row = {"clip": clip.name, "mode": mode, "donor": donor.name if mode == "audio" else "", "seconds": res.duration,
                   "fps": res.fps, "wall_s": round(wall, 2), "bilabial_closed": ev.get("bilabial_closed"),
                   "bilabial_auc": ev.get("bilabial_auc"), "bilabial_count": ev.get("bilabial_count"),
                   "av_offset_frames": ev.get("av_offset_frames"), "identity_distance": ev.get("identity_distance"),
                   "psnr_outside_min": round(float(psnr.min()), 2), "psnr_outside_mean": round(float(psnr.mean()), 2),
                   "mouth_box_share": round(share, 3), "passed_through": res.passed_through,
                   "extended_frames": res.extended_frames, "wer": ev.get("wer"),
                   "alignment_error": ev.get("alignment_error")}
            row.update(pose_follow(clip, out, src.fps, src.size))
            sheets(out, folder, stem, src)
            results.append(row)
            print(json.dumps(row), flush=True)
            (folder / "results.json").write_text(json.dumps(results, indent=1))
    cols = ["clip", "mode", "seconds", "bilabial_closed", "bilabial_auc", "av_offset_frames", "identity_distance",
            "psnr_outside_min", "psnr_outside_mean", "pose_r_yaw", "pose_r_pitch", "pose_rms_deg_yaw",
            "pose_rms_deg_pitch", "rigid_r_yaw", "rigid_r_pitch", "rigid_rms_deg_yaw", "rigid_rms_deg_pitch",
            "source_sd_deg_yaw", "source_sd_deg_pitch", "source_pitch_mouth_r", "wer", "passed_through"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        lines.append("| " + " | ".join(str(r.get(c)) for c in cols) + " |")
    table = "\n".join(lines)
    print(table)
    (folder / "table.md").write_text(table + "\n")
    return 0


def _pose_again(folder: Path) -> int:
    from talker.dub.source import analyze_source

    results = json.loads((folder / "results.json").read_text())
    for row in results:
        clip = next(SHARED / c for c in CLIPS if c.endswith("/" + row["clip"]))
        src = analyze_source(clip)
        row.update(pose_follow(clip, folder / f"{clip.stem}__{row['mode']}.mp4", src.fps, src.size))
        print(json.dumps({k: row[k] for k in ("clip", "mode", "pose_r_yaw", "pose_r_pitch", "rigid_r_yaw",
                                              "rigid_r_pitch", "rigid_rms_deg_yaw", "rigid_rms_deg_pitch",
                                              "source_pitch_mouth_r")}), flush=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
