"""Render a portrait with ``PhotoRenderer`` so a person can look at it: contact sheets and an mp4.

    python scripts/demo_photo_render.py                      # the astronaut template
    python scripts/demo_photo_render.py --image face.jpg --out /tmp/demo --seconds 6 --crop

Writes ``<name>_sheet.png`` (whole frames for a set of expressions), ``<name>_mouth.png``
(mouth close-ups at growing jaw opening, closed lips, smile, pucker), ``<name>_eyes.png``
(blink stages) and ``<name>.mp4`` (sine-driven jawOpen with lip closures, generated head
motion and blinks), and prints the rendering speed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talker.audio import SAMPLE_RATE  # noqa: E402
from talker.motion.code import FPS, index  # noqa: E402
from talker.motion.style import generate_style  # noqa: E402
from talker.pipeline import TalkerPipeline  # noqa: E402
from talker.render.base import RenderConfig  # noqa: E402
from talker.render.photo import PhotoRenderer  # noqa: E402
from talker.tracking import landmarks as L  # noqa: E402

CASES = [
    ("neutral", {}),
    ("jaw 0.2", {"jawOpen": 0.2}),
    ("jaw 0.4", {"jawOpen": 0.4}),
    ("jaw 0.6", {"jawOpen": 0.6}),
    ("closed (p b m)", {"jawOpen": 0.0, "mouthClose": 0.35, "mouthPressLeft": 0.6, "mouthPressRight": 0.6}),
    ("smile", {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "jawOpen": 0.1}),
    ("pucker", {"mouthPucker": 0.8, "mouthFunnel": 0.3}),
    ("blink", {"eyeBlinkLeft": 0.75, "eyeBlinkRight": 0.75}),
    ("turn + talk", {"+headYaw": 0.12, "+headPitch": 0.06, "+headRoll": 0.05, "jawOpen": 0.3}),
]


def case_row(neutral: np.ndarray, spec: dict) -> np.ndarray:
    row = neutral.astype(np.float64).copy()
    for k, v in spec.items():
        if k.startswith("+"):
            row[index(k[1:])] += v
        else:
            row[index(k)] = v
    return row


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = np.ascontiguousarray(img).copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def crop_around(frame: np.ndarray, centre, half_w: float, half_h: float, size: tuple[int, int]) -> np.ndarray:
    x0, y0 = int(round(centre[0] - half_w)), int(round(centre[1] - half_h))
    x1, y1 = int(round(centre[0] + half_w)), int(round(centre[1] + half_h))
    pad = max(0, -x0, -y0, x1 - frame.shape[1], y1 - frame.shape[0])
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
    return cv2.resize(frame[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)


def demo_motion(renderer: PhotoRenderer, frames: int, seed: int = 0) -> np.ndarray:
    """Style motion for the photo plus a speech-like jaw: syllables at ~4 Hz, a closure every ~1.2 s."""
    motion = generate_style(renderer.features.motion, frames, seed=seed)
    neutral = renderer.neutral
    t = np.arange(frames) / FPS
    jaw = 0.28 + 0.22 * np.sin(2 * np.pi * 3.7 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.45 * t))
    jaw = np.clip(jaw, 0.0, 0.6)
    for name in ("mouthSmileLeft", "mouthSmileRight", "mouthUpperUpLeft", "mouthUpperUpRight",
                 "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight"):
        motion[:, index(name)] = neutral[index(name)]
    closure = np.zeros(frames)
    for c in np.arange(0.8, t[-1] if frames else 0, 1.2):
        closure = np.maximum(closure, np.exp(-((t - c) / 0.06) ** 2))
    motion[:, index("jawOpen")] = jaw * (1 - closure)
    motion[:, index("mouthClose")] = 0.35 * closure
    for name in ("mouthPressLeft", "mouthPressRight"):
        motion[:, index(name)] = neutral[index(name)] + 0.5 * closure
    return motion.astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default="astronaut", help="a photo path, or a template name (default astronaut)")
    ap.add_argument("--out", default="/tmp/talker_photo_demo")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--crop", action="store_true", help="render the 512 face crop instead of the whole photo")
    ap.add_argument("--no-video", action="store_true")
    args = ap.parse_args()

    pipe = TalkerPipeline()
    if Path(args.image).is_file():
        image = Path(args.image)
        feats = pipe.analyze(image)
    else:
        tpl, feats = pipe.template(args.image)
        image = Path(tpl.media_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = image.stem if Path(args.image).is_file() else args.image
    t0 = time.perf_counter()
    r = PhotoRenderer(feats, image, RenderConfig(paste_back=not args.crop))
    print(f"setup {1000 * (time.perf_counter() - t0):.0f} ms, output {r.output_size}")

    lm = r.lm
    face_h = float(np.linalg.norm(lm[L.CHIN, :2] - lm[L.FOREHEAD, :2]))
    mouth_c = 0.5 * (lm[L.UPPER_INNER_LIP, :2] + lm[L.LOWER_INNER_LIP, :2])
    mouth_w = float(np.linalg.norm(lm[L.MOUTH_LEFT, :2] - lm[L.MOUTH_RIGHT, :2]))
    eyes_c = 0.5 * (lm[L.RIGHT_EYE_OUTER, :2] + lm[L.LEFT_EYE_OUTER, :2])
    eyes_w = float(np.linalg.norm(lm[L.LEFT_EYE_OUTER, :2] - lm[L.RIGHT_EYE_OUTER, :2]))
    face_c = lm[L.NOSE_TIP, :2]
    sheet, mouths, eyes = [], [], []
    times = []
    for title, spec in CASES:
        row = case_row(r.neutral, spec)
        t = time.perf_counter()
        frame = r.render_frame(row)
        times.append(time.perf_counter() - t)
        sheet.append(label(crop_around(frame, face_c, 0.95 * face_h, 1.05 * face_h, (300, 330)), title))
        mouths.append(label(crop_around(frame, mouth_c, 0.8 * mouth_w, 0.6 * mouth_w, (320, 240)), title))
        if "blink" in title or title == "neutral":
            for b in (0.25, 0.45, 0.75) if "blink" in title else (0.0,):
                rb = case_row(r.neutral, {"eyeBlinkLeft": b, "eyeBlinkRight": b})
                eyes.append(label(crop_around(r.render_frame(rb), eyes_c, 0.8 * eyes_w, 0.3 * eyes_w, (480, 180)),
                                  f"blink {b:.2f}"))
    write = lambda p, tiles: cv2.imwrite(str(p), cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))  # noqa: E731
    write(out / f"{name}_sheet.png", sheet)
    write(out / f"{name}_mouth.png", mouths)
    cv2.imwrite(str(out / f"{name}_eyes.png"),
                cv2.cvtColor(np.concatenate([np.concatenate(eyes[:2], 1), np.concatenate(eyes[2:4], 1)], 0),
                             cv2.COLOR_RGB2BGR))
    print(f"contact sheets in {out}: {name}_sheet.png, {name}_mouth.png, {name}_eyes.png")

    if not args.no_video:
        from talker.video.encode import mux

        frames = int(round(args.seconds * FPS))
        motion = demo_motion(r, frames)
        rendered = []
        t = time.perf_counter()
        for f in r.render(motion):
            rendered.append(f)
        spent = time.perf_counter() - t
        mp4 = mux(iter(rendered), None, SAMPLE_RATE, out / f"{name}.mp4", num_frames=frames)
        for k in (0, frames // 3, frames // 2, (2 * frames) // 3):
            cv2.imwrite(str(out / f"{name}_frame{k:03d}.png"), cv2.cvtColor(rendered[k], cv2.COLOR_RGB2BGR))
        print(f"video {mp4}: {frames} frames, {1000 * spent / frames:.1f} ms/frame")
    print(f"single frames: median {1000 * float(np.median(times)):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
