"""Audio helpers shared by the stages (talker.audio): the speech joiner and the per-frame signal tools."""

from __future__ import annotations

import numpy as np
import pytest

from talker.audio import SAMPLE_RATE
from talker.audio.join import join_with_fades, limit_peak
from talker.audio.signal import peak, speech_envelope, xcorr


def test_pieces_join_with_gaps_and_fades_only_at_inner_edges():
    a, b, c = np.ones(100, np.float32), np.full(50, 0.5, np.float32), np.ones(80, np.float32)
    audio, starts = join_with_fades([a, b, c], [10, 0], fade=8)
    assert starts == [0, 110, 160] and audio.size == 240
    assert audio[0] == 1.0 and audio[-1] == 1.0  # the outer edges are left as they are
    assert audio[99] == 0.0 and audio[110] == 0.0  # faded out before the gap, in after it
    assert np.all(audio[100:110] == 0.0)
    assert np.abs(np.diff(audio)).max() <= 1.0 / 7 + 1e-6  # no step bigger than one fade step: no click


def test_a_piece_shorter_than_the_fade_is_faded_over_its_length():
    audio, starts = join_with_fades([np.ones(4, np.float32), np.ones(3, np.float32)], [0], fade=100)
    assert starts == [0, 4] and audio.size == 7 and audio[3] == 0.0 and audio[4] == 0.0


def test_peaks_are_limited_down_never_up():
    loud = np.array([0.5, -2.0, 1.0], np.float32)
    assert np.abs(limit_peak(loud)).max() == pytest.approx(0.99)
    quiet = np.array([0.1, -0.2], np.float32)
    assert limit_peak(quiet) is quiet


def test_envelope_and_lag_find_a_known_delay():
    """A tone burst train and the same train 3 frames later: xcorr's peak says lag 3."""
    fps, n = 25, 100
    t = np.arange(int(n / fps * SAMPLE_RATE)) / SAMPLE_RATE
    bursts = (np.sin(2 * np.pi * 1.3 * t) > 0.6) * np.sin(2 * np.pi * 800 * t)
    env = speech_envelope(bursts.astype(np.float32), SAMPLE_RATE, n, fps)
    later = np.roll(env, 3)
    lags, rs = xcorr(env, later, 6)
    lag_fine, r, lag = peak(lags, rs)
    assert lag == 3 and r > 0.9 and abs(lag_fine - 3) < 0.5
