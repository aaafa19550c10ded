"""Everything but the mouth, in the reference's own style.

Head pose, brows, gaze and blinks are not predictable from text, but a speaker has a style:
how much and how fast they move, how often they blink. We re-sequence chunks of the
reference's own tracked motion (forwards or backwards, joined where the states match,
crossfaded), so the statistics are the reference's while the sequence is new, then let the
amplitude follow the new speech's energy. Blinks are re-timed as events at the reference's
rate. A photo has no motion history: a gentle procedural default stands in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .code import BLENDSHAPE_NAMES, EYES, FPS, HEAD, MOTION_DIM, index

MOUTH_PREFIXES = ("jaw", "mouth", "cheekPuff")
BLINK = (index("eyeBlinkLeft"), index("eyeBlinkRight"))
# Style channels: head, eyes, brows, gaze, squint, sneer — everything the mouth model doesn't own.
STYLE_IDX = np.array(
    [i for i, n in enumerate(BLENDSHAPE_NAMES) if not n.startswith(MOUTH_PREFIXES) and i not in BLINK]
    + list(range(HEAD.start, HEAD.stop)) + list(range(EYES.start, EYES.stop))
)


@dataclass
class StyleStats:
    blink_rate: float  # blinks per second
    blink_shape: np.ndarray  # (K,) mean blink curve, 0..1 peak
    blink_base: float  # eyeBlink level with open eyes
    blink_peak: float
    head_std: np.ndarray  # (6,)


def detect_blinks(blink: np.ndarray, fps: float = FPS) -> list[int]:
    """Frame indices of blink peaks: local maxima clearly above the open-eye baseline."""
    if blink.size < 5:
        return []
    base = np.percentile(blink, 30)
    top = np.percentile(blink, 99)
    thr = base + 0.5 * max(top - base, 0.15)
    peaks = []
    last = -10**9
    for t in range(1, blink.size - 1):
        if blink[t] >= thr and blink[t] >= blink[t - 1] and blink[t] >= blink[t + 1] and t - last > 0.25 * fps:
            peaks.append(t)
            last = t
    return peaks


def style_stats(motion: np.ndarray, fps: float = FPS) -> StyleStats:
    blink = motion[:, list(BLINK)].mean(axis=1)
    peaks = detect_blinks(blink, fps)
    half = 4
    shapes = [blink[p - half : p + half + 1] for p in peaks if half <= p < blink.size - half]
    base = float(np.percentile(blink, 30)) if blink.size else 0.05
    if shapes:
        shape = np.mean(shapes, axis=0)
        peak = float(shape.max())
        shape = (shape - base) / max(peak - base, 1e-3)
    else:
        shape = np.array([0.0, 0.15, 0.5, 0.85, 1.0, 0.8, 0.45, 0.15, 0.0])
        peak = 0.75
    duration = motion.shape[0] / fps
    rate = len(peaks) / duration if duration >= 3 else 0.25
    rate = float(np.clip(rate, 0.1, 0.7)) if peaks else 0.25
    head_std = motion[:, HEAD].std(axis=0) if motion.shape[0] > 1 else np.zeros(6)
    return StyleStats(rate, np.clip(shape, 0, 1), base, max(peak, base + 0.3), head_std)


def _chunks(n_src: int, rng: np.random.Generator, fps: float) -> tuple[int, int]:
    length = int(rng.uniform(1.2, 3.0) * fps)
    length = min(length, n_src)
    start = int(rng.integers(0, max(1, n_src - length + 1)))
    return start, length


def resequence(src: np.ndarray, num_frames: int, rng: np.random.Generator, fps: float = FPS,
               fade: int = 6) -> np.ndarray:
    """New (num_frames, C) sequence made of crossfaded chunks of ``src`` (T, C)."""
    n = src.shape[0]
    if n < 2 * fade + 2:
        return np.repeat(src.mean(axis=0, keepdims=True), num_frames, axis=0)
    scale = src.std(axis=0) + 1e-6
    out = np.empty((num_frames + fade, src.shape[1]), dtype=np.float64)
    start, length = _chunks(n, rng, fps)
    piece = src[start : start + length]
    pos = min(length, out.shape[0])
    out[:pos] = piece[:pos]
    while pos < out.shape[0]:
        # candidates: several random chunks, forwards or backwards; keep the best-matching join
        best, best_cost = None, np.inf
        for _ in range(8):
            s, ln = _chunks(n, rng, fps)
            cand = src[s : s + ln]
            if rng.random() < 0.5:
                cand = cand[::-1]
            cost = float(np.sum(((cand[0] - out[pos - 1]) / scale) ** 2))
            if cost < best_cost:
                best, best_cost = cand, cost
        assert best is not None
        k = min(fade, best.shape[0] - 1, pos)
        if k > 0:
            w = np.linspace(0, 1, k + 2)[1:-1][:, None]
            out[pos - k : pos] = (1 - w) * out[pos - k : pos] + w * best[:k]
        take = min(best.shape[0] - k, out.shape[0] - pos)
        out[pos : pos + take] = best[k : k + take]
        pos += take
    return out[:num_frames]


def procedural_head(num_frames: int, rng: np.random.Generator, fps: float = FPS) -> np.ndarray:
    """Gentle head motion for a still photo: smooth noise, a few degrees, in the 6 head channels."""
    t = np.arange(num_frames) / fps
    out = np.zeros((num_frames, 6))
    amps = np.radians([2.0, 2.5, 1.0])  # pitch, yaw, roll
    for c, amp in enumerate(amps):
        for f, w in ((0.13, 1.0), (0.31, 0.5), (0.57, 0.25)):
            out[:, c] += amp * w / 1.75 * np.sin(2 * np.pi * (f * rng.uniform(0.8, 1.25)) * t + rng.uniform(0, 2 * np.pi))
    return out


def generate_style(reference_motion: np.ndarray, num_frames: int, energy: np.ndarray | None = None, *,
                   seed: int = 0, fps: float = FPS, blink_rate: float = 1.0) -> np.ndarray:
    """(num_frames, 61) motion for the style channels and blinks; mouth channels left at 0.

    ``energy`` (num_frames,) in 0..1, e.g. the new speech's envelope, makes head motion livelier
    while talking and calmer in pauses, keeping the reference's overall amplitude. ``blink_rate``
    scales the reference's blinks per second (0: none).
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((num_frames, MOTION_DIM), dtype=np.float64)
    ref = np.asarray(reference_motion, dtype=np.float64)
    stats = style_stats(ref, fps)
    if ref.shape[0] >= 2 * fps:
        seq = resequence(ref[:, STYLE_IDX], num_frames, rng, fps)
        out[:, STYLE_IDX] = seq
        head = out[:, HEAD]
    else:
        out[:, STYLE_IDX] = ref[:, STYLE_IDX].mean(axis=0)
        head = out[:, HEAD] + procedural_head(num_frames, rng, fps)
    if energy is not None and energy.size == num_frames and ref.shape[0] >= 2:
        mean = head.mean(axis=0)
        gain = 0.75 + 0.5 * np.convolve(np.clip(energy, 0, 1), np.ones(13) / 13, mode="same")
        dev = (head - mean) * gain[:, None]
        target = stats.head_std if ref.shape[0] >= 2 * fps else dev.std(axis=0)
        dev *= (target / (dev.std(axis=0) + 1e-9))[None, :]
        head = mean + dev
    out[:, HEAD] = head
    if blink_rate != 1.0:
        stats = replace(stats, blink_rate=stats.blink_rate * max(float(blink_rate), 0.0))
    out[:, list(BLINK)] = _blinks(num_frames, stats, rng, energy, fps)[:, None]
    return out


def _blinks(num_frames: int, stats: StyleStats, rng: np.random.Generator, energy, fps: float) -> np.ndarray:
    curve = np.full(num_frames, stats.blink_base)
    shape = stats.blink_shape * (stats.blink_peak - stats.blink_base)
    if num_frames < shape.size or stats.blink_rate <= 0:
        return curve  # too short for a whole blink, or no blinks asked for
    t = rng.exponential(1 / stats.blink_rate) * fps * 0.5
    while t < num_frames:
        c = int(t)
        if energy is not None and energy.size == num_frames:
            # nudge towards a nearby pause: people blink more between phrases
            lo, hi = max(0, c - 8), min(num_frames, c + 9)
            c = lo + int(np.argmin(energy[lo:hi])) if hi > lo else c
        k = shape.size // 2
        # whole blinks only: one cut by the end of the video leaves the eyes shut on its last frame
        c = min(max(c, k), num_frames - (shape.size - k))
        for j, v in enumerate(shape):
            f = c - k + j
            if 0 <= f < num_frames:
                curve[f] = max(curve[f], stats.blink_base + v)
        t = c + max(1.5 * fps, rng.exponential(1 / stats.blink_rate) * fps)
    return curve
