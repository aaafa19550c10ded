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

from ..reference.takes import take_bounds
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


# A frame step of the style channels this many times their 95th percentile is a seam in the source
# (the GRID templates join three clips; their tracked head moves 0.2 between two frames there,
# where its 95th-percentile step is 0.075): chunks stop at it.
SEAM_STEPS = 3.0
# A candidate chunk's join cost goes up by this times how often its frames were used already, over
# the average: picking only the best-matching join, the sequence settled in one region of the clip
# (grid-s4-woman, seed 0: 8 s in one of its four sentences), the amplitude normalisation then asked
# for poses that region does not have, and the renderer's background frames moved 0.58x the clip's.
# At 10: 0.88x; over 3 seeds on 12 held-out clips of other people, 0.93x on average (min 0.78),
# against 0.92x (min 0.77).
USAGE_WEIGHT = 10.0
# A source joined from several takes plays on in one take for its average take's length, and at
# least this long, before moving to another (the renderer cuts there; with the chunk under way a
# stay lasts ~4 s). On the four GRID templates joined from 2-4 takes, 3 seeds each: 2.1 cuts per
# 10 s of output (1.0 once), their clips' own rate 1.7-2.5, against 3.1-6.2 without; head ratio
# 0.97x on average (min 0.77) against 0.94x (min 0.82). On clips none of this was chosen on
# (3 held-out clips joined from 3 reframed parts, 2 clips with cuts of their own): 1.0-3.1 cuts per
# 10 s, 26 in all against 29, head ratio 0.94x (min 0.75) against 0.92x (min 0.67).
TAKE_SECONDS = 3.0


def _seam_ends(src: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Sorted ends (exclusive) of the source's seamless stretches; the last is its length."""
    n = src.shape[0]
    if n < 3:
        return np.array([n])
    step = np.abs(np.diff(src, axis=0) / scale).max(axis=1)
    seams = np.flatnonzero(step > SEAM_STEPS * np.percentile(step, 95)) + 1
    return np.append(seams, n)


class Resequencer:
    """Crossfaded chunks of ``src`` (T, C), forwards or backwards, joined where the states match,
    handed out in pieces of any length that continue one another (``take``): a long video made
    chunk by chunk has no seam the one-piece sequence would not have.

    ``cuts``: frames where the source cuts to another take (``ReferenceFeatures.cuts``). Chunks
    then come from one take at a time and move to another only after a while (``TAKE_SECONDS``),
    so the renderer, whose frames follow this motion, cuts between takes about as often as the
    source does and not every time a pose of another take fits better."""

    def __init__(self, src: np.ndarray, rng: np.random.Generator, fps: float = FPS, fade: int = 6,
                 cuts: list[int] | None = None) -> None:
        self.src, self.rng, self.fps, self.fade = src, rng, fps, fade
        n = src.shape[0]
        self._scale = src.std(axis=0) + 1e-6
        self._left: np.ndarray | None = None  # rows made past the last piece handed out: its continuation
        # where the source jumps (a template made of several clips): no chunk runs across it
        self._seam_ends = np.union1d(_seam_ends(src, self._scale), [c for c in cuts or [] if 0 < c < n]).astype(int)
        self._used = np.zeros(n)
        takes = [(a, b) for a, b in take_bounds(cuts or [], n) if b - a >= 2 * fade + 2]
        self._takes = takes if len(takes) > 1 else []
        self._take: int | None = None  # the take being played (an index into ``_takes``)
        self._take_left = 0.0  # frames to play on in it before moving to another
        self._dwell = max(float(np.mean([b - a for a, b in takes])) if takes else 0.0, TAKE_SECONDS * fps)

    def _chunk(self, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        hi = self.src.shape[0] if hi is None else hi
        start, length = _chunks(hi - lo, self.rng, self.fps)
        start += lo
        end = min(start + length, int(self._seam_ends[np.searchsorted(self._seam_ends, start, side="right")]))
        return start, end

    def _candidate(self) -> tuple[int, int, int | None]:
        """(start, end, take) of a random chunk: of the take being played, or of another once it
        has played long enough (any chunk of a one-take source)."""
        if not self._takes:
            return (*self._chunk(), None)
        if self._take is None or self._take_left <= 0:
            others = [i for i in range(len(self._takes)) if i != self._take]
            take = int(others[self.rng.integers(len(others))])
        else:
            take = self._take
        return (*self._chunk(*self._takes[take]), take)

    def _play(self, take: int | None, frames: int) -> None:
        if take is None:
            return
        if take != self._take:
            self._take = take
            self._take_left = self._dwell * self.rng.uniform(0.8, 1.2)
        self._take_left -= frames

    @property
    def usable(self) -> bool:
        return self.src.shape[0] >= 2 * self.fade + 2

    def take(self, num_frames: int) -> np.ndarray:
        src, rng, fps, fade = self.src, self.rng, self.fps, self.fade
        if not self.usable:
            return np.repeat(src.mean(axis=0, keepdims=True), num_frames, axis=0)
        # room for whole chunks past the end: the rest of the last one is the next piece's start,
        # so a piece boundary is no chunk join (it once was, and the crossfade put a step of 0.5
        # where the head translation's 95th-percentile frame step is 0.075 at every piece join)
        want = num_frames + fade
        left = self._left if self._left is not None else np.zeros((0, src.shape[1]))
        out = np.empty((want + left.shape[0] + int(3.0 * fps) + fade + 1, src.shape[1]), dtype=np.float64)
        if self._left is None:
            a, b, t = self._candidate()
            piece = src[a:b]
            self._used[a:b] += 1
            self._play(t, b - a)
        else:
            piece = self._left
        pos = piece.shape[0]
        out[:pos] = piece
        while pos < want:
            # candidates: several random chunks, forwards or backwards; keep the best-matching join,
            # less the most-used frames
            best, best_cost, span = None, np.inf, (0, 0, None)
            mean_use = float(self._used.mean())
            for _ in range(8):
                a, b, t = self._candidate()
                cand = src[a:b]
                if rng.random() < 0.5:
                    cand = cand[::-1]
                # moving to another take, the video cuts whatever the states: only how much the
                # take was used counts, so the takes are visited evenly and the head spreads as in the source
                switch = t is not None and t != self._take and self._take is not None
                cost = 0.0 if switch else float(np.sum(((cand[0] - out[pos - 1]) / self._scale) ** 2))
                if mean_use > 0:
                    cost += USAGE_WEIGHT * float(self._used[a:b].mean()) / mean_use
                if cost < best_cost:
                    best, best_cost, span = cand, cost, (a, b, t)
            assert best is not None
            self._used[span[0]:span[1]] += 1
            k = min(fade, best.shape[0] - 1, pos)
            self._play(span[2], best.shape[0] - k)
            if k > 0:
                w = np.linspace(0, 1, k + 2)[1:-1][:, None]
                out[pos - k : pos] = (1 - w) * out[pos - k : pos] + w * best[:k]
            take = best.shape[0] - k
            out[pos : pos + take] = best[k : k + take]
            pos += take
        self._left = out[num_frames:pos].copy()
        return out[:num_frames]


def resequence(src: np.ndarray, num_frames: int, rng: np.random.Generator, fps: float = FPS,
               fade: int = 6, cuts: list[int] | None = None) -> np.ndarray:
    """New (num_frames, C) sequence made of crossfaded chunks of ``src`` (T, C)."""
    return Resequencer(src, rng, fps, fade, cuts).take(num_frames)


def _procedural_params(rng: np.random.Generator) -> list[list[tuple[float, float, float]]]:
    """(frequency, weight, phase) of each sine in each of the pitch, yaw and roll channels."""
    return [[(f * rng.uniform(0.8, 1.25), w, rng.uniform(0, 2 * np.pi)) for f, w in ((0.13, 1.0), (0.31, 0.5), (0.57, 0.25))]
            for _ in range(3)]


def procedural_head(num_frames: int, rng: np.random.Generator, fps: float = FPS, *, start: int = 0,
                    params=None) -> np.ndarray:
    """Gentle head motion for a still photo: smooth noise, a few degrees, in the 6 head channels.
    ``start`` frames into a motion whose sines are ``params`` (drawn from ``rng`` when None)."""
    params = params or _procedural_params(rng)
    t = (start + np.arange(num_frames)) / fps
    out = np.zeros((num_frames, 6))
    amps = np.radians([2.0, 2.5, 1.0])  # pitch, yaw, roll
    for c, amp in enumerate(amps):
        for f, w, phase in params[c]:
            out[:, c] += amp * w / 1.75 * np.sin(2 * np.pi * f * t + phase)
    return out


def generate_style(reference_motion: np.ndarray, num_frames: int, energy: np.ndarray | None = None, *,
                   seed: int = 0, fps: float = FPS, blink_rate: float = 1.0,
                   cuts: list[int] | None = None) -> np.ndarray:
    """(num_frames, 61) motion for the style channels and blinks; mouth channels left at 0.

    ``energy`` (num_frames,) in 0..1, e.g. the new speech's envelope, makes head motion livelier
    while talking and calmer in pauses, keeping the reference's overall amplitude. ``blink_rate``
    scales the reference's blinks per second (0: none). ``cuts``: where the reference cuts to
    another take (``ReferenceFeatures.cuts``).
    """
    stream = StyleStream(reference_motion, seed=seed, fps=fps, blink_rate=blink_rate, cuts=cuts)
    return stream.next(num_frames, energy, last=True)


RAMP_FRAMES = 25  # a later piece's amplitude normalisation eases in from the last piece's over this many frames


class StyleStream:
    """``generate_style`` in pieces that continue one another: the re-sequenced motion carries on
    from where the last piece stopped, the head keeps one centre and eases from one piece's
    amplitude normalisation into the next, and a blink never straddles a join (it moves to the next
    piece). One piece (``last=True``) is exactly ``generate_style``."""

    def __init__(self, reference_motion: np.ndarray, *, seed: int = 0, fps: float = FPS,
                 blink_rate: float = 1.0, cuts: list[int] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.fps = fps
        self.ref = np.asarray(reference_motion, dtype=np.float64)
        stats = style_stats(self.ref, fps)
        if blink_rate != 1.0:
            stats = replace(stats, blink_rate=stats.blink_rate * max(float(blink_rate), 0.0))
        self.stats = stats
        self.moving = self.ref.shape[0] >= 2 * fps  # enough history to re-sequence
        self._reseq = Resequencer(self.ref[:, STYLE_IDX], self.rng, fps, cuts=cuts) if self.moving else None
        self._procedural = None  # (freqs, phases) of a photo's head motion, drawn on first use
        self._t0 = 0  # frames handed out so far
        self._center: np.ndarray | None = None  # the head's centre, fixed by the first piece
        self._factor: np.ndarray | None = None  # the last piece's amplitude normalisation
        self._next_blink: float | None = None  # frames after the start of the next piece
        self._dev_sum, self._dev_sq, self._dev_n = np.zeros(6), np.zeros(6), 0  # the head's spread so far
        self._last_head: np.ndarray | None = None  # the last piece's final style row and step
        self._last_step: np.ndarray | None = None

    def next(self, num_frames: int, energy: np.ndarray | None = None, *, last: bool = False) -> np.ndarray:
        out = np.zeros((num_frames, MOTION_DIM), dtype=np.float64)
        ref, stats = self.ref, self.stats
        if self.moving:
            out[:, STYLE_IDX] = self._reseq.take(num_frames)
            head = out[:, HEAD]
        else:
            out[:, STYLE_IDX] = ref[:, STYLE_IDX].mean(axis=0)
            head = out[:, HEAD] + self._photo_head(num_frames)
        if energy is not None and energy.size == num_frames and ref.shape[0] >= 2:
            if self._center is None:
                self._center = head.mean(axis=0)
            mean = self._center
            # the energy's own edge values beyond its ends (not zeros): zeros calmed the head over a
            # piece's last and first 6 frames, and at a join the head then swerved (0.2 where the
            # translation's 95th-percentile frame step is 0.075)
            win = min(13, num_frames)
            padded = np.pad(np.clip(energy, 0, 1), (win // 2, win - 1 - win // 2), mode="edge")
            gain = 0.75 + 0.5 * np.convolve(padded, np.ones(win) / win, mode="valid")
            dev = (head - mean) * gain[:, None]
            # the spread so far, over every piece (one piece: its own): a short first piece's
            # spread alone swung the next piece's amplitude normalisation by up to 3x
            self._dev_sum += dev.sum(axis=0)
            self._dev_sq += np.square(dev).sum(axis=0)
            self._dev_n += num_frames
            spread = np.sqrt(np.maximum(self._dev_sq / self._dev_n - np.square(self._dev_sum / self._dev_n), 0.0))
            target = stats.head_std if self.moving else spread
            factor = target / (spread + 1e-9)
            if self._factor is None:
                dev *= factor[None, :]
            else:  # ease in from the last piece's factor, so the join shows no jump in amplitude
                k = min(RAMP_FRAMES, num_frames)
                w = np.ones(num_frames)
                w[:k] = np.linspace(0.0, 1.0, k + 1)[1:]
                dev *= self._factor[None, :] + w[:, None] * (factor - self._factor)[None, :]
            self._factor = factor
            head = mean + dev
        out[:, HEAD] = head
        out[:, STYLE_IDX] = self._join(out[:, STYLE_IDX])
        out[:, list(BLINK)] = self._blinks(num_frames, energy, last)[:, None]
        self._t0 += num_frames
        return out

    def _join(self, head: np.ndarray) -> np.ndarray:
        """A later piece starts where the last one's style channels (head, brows, gaze…) were going
        (its last row plus its last step) and eases into its own path over ``RAMP_FRAMES``: each
        piece's speech-energy gain is computed on that piece alone, and without this the gain's
        change put a jump of up to 0.7° (about 3x the reference's 95th-percentile frame step) in
        the head at joins."""
        if self._last_head is not None and head.shape[0]:
            delta = self._last_head + self._last_step - head[0]
            w = np.clip(1.0 - np.arange(head.shape[0]) / RAMP_FRAMES, 0.0, 1.0)
            head = head + w[:, None] * delta[None, :]
        if head.shape[0] >= 2:
            self._last_head, self._last_step = head[-1].copy(), head[-1] - head[-2]
        return head

    def _photo_head(self, num_frames: int) -> np.ndarray:
        if self._procedural is None:
            self._procedural = _procedural_params(self.rng)
        return procedural_head(num_frames, self.rng, self.fps, start=self._t0, params=self._procedural)

    def _blinks(self, num_frames: int, energy, last: bool) -> np.ndarray:
        stats, fps, rng = self.stats, self.fps, self.rng
        curve = np.full(num_frames, stats.blink_base)
        shape = stats.blink_shape * (stats.blink_peak - stats.blink_base)
        if stats.blink_rate <= 0:
            return curve  # no blinks asked for
        t = rng.exponential(1 / stats.blink_rate) * fps * 0.5 if self._next_blink is None else self._next_blink
        k = shape.size // 2
        if num_frames < shape.size:  # too short for a whole blink
            self._next_blink = max(t - num_frames, float(k))
            return curve
        while t < num_frames:
            c = int(t)
            if energy is not None and energy.size == num_frames:
                # nudge towards a nearby pause: people blink more between phrases
                lo, hi = max(0, c - 8), min(num_frames, c + 9)
                c = lo + int(np.argmin(energy[lo:hi])) if hi > lo else c
            if not last and c + (shape.size - k) > num_frames:
                t = float(max(c, k))  # it would straddle the join: the next piece starts with it
                break
            # whole blinks only: one cut by the end of the video leaves the eyes shut on its last frame
            c = min(max(c, k), num_frames - (shape.size - k))
            for j, v in enumerate(shape):
                f = c - k + j
                if 0 <= f < num_frames:
                    curve[f] = max(curve[f], stats.blink_base + v)
            t = c + max(1.5 * fps, rng.exponential(1 / stats.blink_rate) * fps)
        self._next_blink = max(t - num_frames, float(k))
        return curve
