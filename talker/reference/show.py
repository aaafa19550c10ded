"""Pictures of an analysis for people to check: a contact sheet with the tracked landmarks
drawn on real frames, and the motion curves that matter most for a talking head."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..media import decode
from ..motion.code import channel
from .features import ReferenceFeatures


def _pick(n_frames: int, count: int) -> list[int]:
    if n_frames <= count:
        return list(range(n_frames))
    return [int(round(i)) for i in np.linspace(0, n_frames - 1, count)]


def contact_sheet(feats: ReferenceFeatures, media_path: str | Path, *, count: int = 12, cols: int = 4,
                  thumb: int = 256) -> np.ndarray:
    """RGB image: ``count`` frames across the reference, landmarks and face box drawn."""
    import cv2

    wanted = _pick(feats.frames, count)
    picked: dict[int, np.ndarray] = {}
    if feats.kind == "image":
        picked[0] = decode.read_image(media_path)
    else:
        start, end = feats.span
        want = set(wanted)
        for i, frame in enumerate(decode.iter_frames(media_path, feats.fps, start=start, duration=end - start)):
            if i in want:
                picked[i] = frame.copy()
            if i >= wanted[-1]:
                break
    tiles = []
    for i in wanted:
        frame = picked.get(i)
        if frame is None:
            continue
        img = np.ascontiguousarray(frame)
        h, w = img.shape[:2]
        scale = thumb / max(h, w)
        img = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        colour = (0, 255, 0) if feats.detected[i] else (255, 160, 0)  # orange: interpolated frame
        for x, y, _ in feats.landmarks[i][::2]:
            cv2.circle(img, (int(x * scale), int(y * scale)), 1, colour, -1, lineType=cv2.LINE_AA)
        x0, y0, x1, y1 = (feats.boxes[i] * scale).astype(int)
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 255, 0), 1)
        jaw = channel(feats.motion, "jawOpen")[i]
        label = f"#{i} {i / feats.fps:.1f}s jaw {jaw:.2f}"
        cv2.putText(img, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        canvas = np.zeros((thumb, thumb, 3), np.uint8)
        canvas[: img.shape[0], : img.shape[1]] = img
        tiles.append(canvas)
    rows = [tiles[r : r + cols] for r in range(0, len(tiles), cols)]
    blank = np.zeros((thumb, thumb, 3), np.uint8)
    return np.vstack([np.hstack(row + [blank] * (cols - len(row))) for row in rows])


def motion_plot(feats: ReferenceFeatures, out_png: str | Path) -> Path:
    """PNG of jawOpen (with the speech envelope), head yaw/pitch/roll and blinks over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..audio.signal import speech_envelope
    from .sync import jaw_audio_sync

    t = np.arange(feats.frames) / feats.fps
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True)
    ax = axes[0]
    ax.plot(t, channel(feats.motion, "jawOpen"), label="jawOpen", color="tab:red")
    title = "Mouth"
    if feats.audio is not None and feats.frames > 2:
        env = speech_envelope(feats.audio, feats.sample_rate, feats.frames, feats.fps)
        env = (env - env.min()) / (np.ptp(env) + 1e-9)
        ax.plot(t, env * max(0.05, float(channel(feats.motion, "jawOpen").max())), color="0.6",
                lw=0.8, label="speech energy 0.3–3 kHz (scaled)")
        s = jaw_audio_sync(feats.motion, feats.audio, feats.sample_rate, feats.fps)
        title += f" — jaw/speech peak r={s['r']:.2f} at lag {s['lag_frames']:+d} frames (+ = jaw leads)"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[1]
    for name, col in (("headYaw", "tab:blue"), ("headPitch", "tab:green"), ("headRoll", "tab:purple")):
        ax.plot(t, np.degrees(channel(feats.motion, name)), label=name, color=col)
    ax.set_ylabel("degrees")
    ax.set_title("Head rotation", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[2]
    ax.plot(t, channel(feats.motion, "eyeBlinkLeft"), label="eyeBlinkLeft", color="tab:orange")
    ax.plot(t, channel(feats.motion, "eyeBlinkRight"), label="eyeBlinkRight", color="tab:brown", ls="--")
    ax.set_title("Blinks", fontsize=10)
    ax.set_xlabel(f"seconds ({feats.fps:g} fps)")
    ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{feats.source} — {feats.tracker_backend}", fontsize=11)
    fig.tight_layout()
    out = Path(out_png)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def show(feats: ReferenceFeatures, media_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    from PIL import Image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sheet = out / "contact_sheet.png"
    Image.fromarray(contact_sheet(feats, media_path)).save(sheet)
    curves = motion_plot(feats, out / "motion.png")
    return {"contact_sheet": sheet, "motion_plot": curves}
