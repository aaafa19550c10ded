"""Style motion: blinks re-timed at the reference's rate, whole, never cut by the video's ends."""

from __future__ import annotations

import numpy as np

from talker.motion.code import FPS, MOTION_DIM
from talker.motion.style import BLINK, detect_blinks, generate_style, style_stats


def _reference_with_blinks(seconds: float = 12.0, every: float = 2.5) -> np.ndarray:
    n = int(seconds * FPS)
    ref = np.zeros((n, MOTION_DIM))
    ref[:, list(BLINK)] = 0.05
    bump = np.array([0.2, 0.6, 0.9, 0.6, 0.2])
    for c in np.arange(every, seconds - 1, every) * FPS:
        c = int(c)
        ref[c - 2:c + 3, list(BLINK)] = 0.05 + bump[:, None] * 0.7
    return ref


def test_blinks_keep_the_reference_rate_and_never_end_the_video_shut():
    ref = _reference_with_blinks()
    stats = style_stats(ref)
    assert len(detect_blinks(ref[:, BLINK[0]])) == 4
    shut = stats.blink_base + 0.5 * (stats.blink_peak - stats.blink_base)
    counts = []
    for seed in range(40):
        n = int(FPS * (3 + seed % 7))
        # speech that falls silent at the very end: blinks are drawn to pauses, i.e. to the last frame
        energy = np.ones(n)
        energy[-6:] = 0.0
        energy[:4] = 0.0
        blink = generate_style(ref, n, energy, seed=seed)[:, BLINK[0]]
        assert blink[0] < shut and blink[-1] < shut, (seed, n)
        counts.append(len(detect_blinks(np.r_[stats.blink_base, blink, stats.blink_base])) / (n / FPS))
    # the reference blinks every 2.5 s (0.4/s); re-timed blinks keep that order of rate
    assert 0.15 < np.mean(counts) < 0.8
