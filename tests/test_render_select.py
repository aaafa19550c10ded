"""Choosing reference frames: the Viterbi path, and cuts that land where the head already is."""

from __future__ import annotations

import numpy as np

from talker.render import select
from talker.render.select import PathCosts, viterbi_path


def test_free_cuts_match_the_plain_path():
    rng = np.random.default_rng(0)
    for _ in range(20):
        unary = rng.random((30, 12)) * 3
        plain = viterbi_path(unary, PathCosts(jump=1.0))
        with_zero = viterbi_path(unary, PathCosts(jump=1.0), np.zeros((12, 12)))
        assert np.array_equal(plain, with_zero)


def test_a_cut_goes_to_the_frame_nearest_the_current_one(monkeypatch):
    """Frames 0–9 are wanted first, then either 20–29 or 40–49 equally; 40 looks like 9, 20 does
    not. Without cut costs either is fine; with them the cut must land near 40."""
    n, t = 50, 30
    unary = np.full((t, n), 5.0)
    unary[np.arange(10), np.arange(10)] = 0.0
    for k in range(10, t):
        unary[k, 20 + (k - 10) % 10] = 0.0
        unary[k, 40 + (k - 10) % 10] = 0.0
    pos = np.arange(n, dtype=float)
    pos[40:] = pos[40:] - 31.0  # frame 40 sits where frame 9 is
    extra = np.abs(pos[:, None] - pos[None, :])
    for sources in (48, 3):  # exact (every frame a candidate) and the nearest-few shortcut
        monkeypatch.setattr(select, "JUMP_SOURCES", sources)
        path = viterbi_path(unary, PathCosts(jump=2.0), extra)
        cut = int(np.flatnonzero(np.abs(np.diff(path)) > 1)[0]) + 1
        assert path[cut - 1] == 9 and path[cut] == 40, (sources, path)
