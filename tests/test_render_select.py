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


def _bare_mouth_bank(speaking_gaps):
    from talker.render.mouth import MouthBank

    r = object.__new__(MouthBank)
    r.speaking_gaps = np.sort(np.asarray(speaking_gaps, dtype=float))
    return r


def test_jaw_targets_map_onto_the_speakers_own_gaps():
    """The output opens as wide and varies as much as the speaker does, whatever scale the jaw
    channel has; inside the speaker's range the jaw's shape is kept (a line, not the speaker's
    histogram); a held jaw is a held mouth."""
    rng = np.random.default_rng(1)
    gaps = rng.gamma(2.0, 0.02, 400)
    r = _bare_mouth_bank(gaps)
    jaw = rng.random(300) * 0.05  # a speaker whose jawOpen barely moves
    want = r.gap_for_jaw(jaw)
    order = np.argsort(jaw)
    assert np.all(np.diff(want[order]) >= 0)  # monotone
    assert abs(want.mean() - gaps.mean()) < 0.1 * gaps.mean()
    assert abs(want.std() - gaps.std()) < 0.05 * gaps.std()  # clipping did not narrow it
    assert want.min() >= gaps.min() and want.max() <= gaps.max()
    inside = (want > gaps.min()) & (want < gaps.max())
    assert inside.mean() > 0.5 and np.corrcoef(jaw[inside], want[inside])[0, 1] > 0.999
    assert np.allclose(r.gap_for_jaw(jaw * 10 + 3), want)  # only the jaw's shape matters
    held = r.gap_for_jaw(np.full(50, 0.02))
    assert np.ptp(held) == 0


def test_jaw_warp_widens_the_gap_and_leaves_the_upper_face_alone():
    """A dark mouth gap between two lips: moving the jaw down by dy pixels makes the gap dy
    taller, moves the chin by dy, and changes nothing above the upper lip."""
    import cv2

    from talker.render.mouth import jaw_maps
    from talker.tracking.landmarks import CHIN, LOWER_INNER_LIP, MOUTH_LEFT, MOUTH_RIGHT, UPPER_INNER_LIP

    h = w = 200
    img = np.full((h, w, 3), 200, np.uint8)
    img[100:110, 70:130] = 20  # the gap, rows 100-109
    img[150:152, :] = 90  # a line on the chin
    lm = np.zeros((478, 2))
    lm[UPPER_INNER_LIP] = (100, 100)
    lm[LOWER_INNER_LIP] = (100, 110)
    lm[MOUTH_LEFT], lm[MOUTH_RIGHT] = (130, 105), (70, 105)
    lm[CHIN] = (100, 160)
    face_h = 150.0
    for dy in (6.0, -4.0):
        mx, my = jaw_maps(lm, dy, face_h, (h, w))
        out = cv2.remap(img, mx, my, cv2.INTER_LINEAR)
        dark = np.where(out[:140, 100, 0] < 60)[0]
        assert abs((dark.max() - dark.min() + 1) - (10 + dy)) <= 1.5, (dy, dark)
        line = 140 + np.where(np.abs(out[140:, 100, 0].astype(int) - 90) < 25)[0]
        assert abs(line.mean() - (150.5 + dy)) <= 1.5, (dy, line)
        assert np.array_equal(out[:99], img[:99])


def test_a_seam_in_the_source_costs_a_cut_and_a_resumed_path_plays_on():
    """A source made of two clips (a seam between frames 9 and 10) and a target that only wants to
    start at frame 5: without ``seams`` the path plays on through the seam for free; with them it
    turns back before the seam (a turn is cheaper than a cut). A path resumed from a state plays on
    from it for ``settle`` steps before cutting to where the target is."""
    n, t = 20, 12
    unary = np.zeros((t, n))
    unary[0, 5] = -10.0
    costs = PathCosts(forward=0.0, backward=0.0, turn=1.0, hold=5.0, jump=4.0)
    free = viterbi_path(unary, costs)
    assert free.tolist() == list(range(5, 5 + t))  # straight through 9 → 10
    seams = np.zeros(n - 1)
    seams[9] = costs.jump
    with_seam = viterbi_path(unary, costs, seams=seams)
    assert with_seam.max() <= 9, with_seam  # never crosses into the second clip
    assert np.all(np.abs(np.diff(with_seam)) == 1)  # by turning round, not by cutting
    target = np.zeros((6, n))
    target[:, 15] = -5.0
    resumed = viterbi_path(target, costs, start=(0, 3), settle=3)
    assert resumed[:3].tolist() == [4, 5, 6]  # plays on from frame 3 first
    assert resumed[-1] == 15  # then cuts to where the target is
