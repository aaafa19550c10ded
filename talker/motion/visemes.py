"""Mouth motion from timed phones: visemes with coarticulation.

Each phone pulls the mouth channels towards its target with a dominance that decays with
distance from the phone's centre (Cohen–Massaro style), so neighbouring sounds blend the way
real lips do, and lips lead the sound slightly. Targets, dominance strengths, widths and the
lead come from ``data/visemes.json``, fitted on real talking-face footage by least squares
(``scripts/fit_visemes.py``). Values are in speaker-normalised units (0 = the speaker's
closed rest, 1 = their typical wide-open jaw) and are mapped back to each reference's own range,
so a reserved speaker stays reserved.

Visemes say *which* shape a phone wants, not how far a speaker goes: loud, stressed syllables
open the jaw wider than the same vowel said softly. ``LoudnessGain`` scales the viseme jaw by the
speech loudness around each frame, with weights fitted on the same footage.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..phones import ARPABET_PHONES as PHONES
from ..phones import BILABIAL, Phone, normalise_phones
from .code import FPS, MOTION_DIM, index

MOUTH_CHANNELS: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft", "mouthPressRight", "mouthRollLower",
    "mouthRollUpper", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "mouthShrugLower", "mouthShrugUpper", "jawForward",
)
MOUTH_COLS = np.array([index(n) for n in MOUTH_CHANNELS])
JAW = 0  # position of jawOpen in MOUTH_CHANNELS


@dataclass
class LoudnessGain:
    """jaw = base·v + v·Σ_k gain_k·e(t + offset_k) + bias, for the viseme jaw v and speech loudness e
    (0..1). Multiplicative in v, so a closure (v ≤ 0) stays a closure. Kept because it predicts the
    tracked jaw of held-out clips better than visemes alone (r 0.41 → 0.45), not because it raises a
    sync score: a regression on the audio alone scored higher on audio-visual correlation while
    predicting the real jaw worse, which is the envelope-driven mouth this avoids."""

    offsets: np.ndarray  # (K,) frames
    gain: np.ndarray  # (K,)
    base: float
    bias: float

    def apply(self, jaw: np.ndarray, energy: np.ndarray) -> np.ndarray:
        n = jaw.size
        e = np.zeros(n)
        m = min(n, energy.size)
        e[:m] = np.clip(energy[:m], 0.0, 1.0)
        if m < n and m:
            e[m:] = e[m - 1]
        idx = np.clip(np.arange(n)[:, None] + self.offsets[None, :], 0, n - 1)
        return self.base * jaw + jaw * (e[idx] @ self.gain) + self.bias

    def to_json(self) -> dict:
        return {"offsets": [int(o) for o in self.offsets], "gain": [round(float(g), 5) for g in self.gain],
                "base": round(float(self.base), 5), "bias": round(float(self.bias), 5)}

    @classmethod
    def from_json(cls, d: dict) -> LoudnessGain:
        return cls(np.asarray(d["offsets"], dtype=int), np.asarray(d["gain"], dtype=np.float64),
                   float(d["base"]), float(d["bias"]))


@dataclass
class VisemeModel:
    targets: np.ndarray  # (len(PHONES), len(MOUTH_CHANNELS)) normalised units
    strength: np.ndarray  # (len(PHONES),) dominance at the phone's centre
    width: float  # dominance decay, as a fraction of the phone's duration (plus a floor)
    floor: float  # seconds
    lead: float  # seconds the lips lead the sound
    population_jaw_range: float  # typical jawOpen range (p95 − p5), for references without speech
    fitted_on: str = ""
    loudness: LoudnessGain | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> VisemeModel:
        return _load(str(path or Path(__file__).parent / "data" / "visemes.json"))

    def weights(self, phones: list[Phone], times: np.ndarray) -> np.ndarray:
        """(len(times), len(PHONES)) normalised dominance of each phone class at each time."""
        W = np.zeros((times.size, len(PHONES)))
        total = np.full(times.size, 1e-6)
        for p in phones:
            k = PHONES.index(p.symbol)
            centre = 0.5 * (p.start + p.end) - self.lead
            tau = max(self.floor, self.width * (p.end - p.start))
            d = self.strength[k] * np.exp(-np.abs(times - centre) / tau)
            W[:, k] += d
            total += d
        return W / total[:, None]

    def trajectory(self, phones: list[Phone], num_frames: int, fps: float = FPS,
                   energy: np.ndarray | None = None) -> np.ndarray:
        """(num_frames, len(MOUTH_CHANNELS)) normalised mouth trajectory; bilabials close. With the
        speech loudness per frame (``energy``, 0..1) the jaw follows the syllables' strength."""
        times = np.arange(num_frames) / fps
        if not phones:
            return np.zeros((num_frames, len(MOUTH_CHANNELS)))
        traj = self.weights(phones, times) @ self.targets
        if energy is not None and self.loudness is not None:
            traj[:, JAW] = self.loudness.apply(traj[:, JAW], np.asarray(energy, dtype=np.float64))
        # Lips must meet on /p b m/: hold the jaw at rest over the closure, whatever the neighbours.
        # Closure shape: /m/'s lips, the jaw at the speaker's rest. Real closures often keep the jaw
        # a little open, but MediaPipe's mouthClose hardly registers it, so a renderer can only
        # tell "lips shut" from a resting jaw.
        close = self.targets[PHONES.index("M")].copy()
        close[JAW] = min(close[JAW], 0.0)
        for p in phones:
            if p.symbol in BILABIAL:
                a = int(np.floor((p.start - self.lead) * fps))
                b = int(np.ceil((p.end - self.lead) * fps))
                mid = int(round((0.5 * (p.start + p.end) - self.lead) * fps))
                for f in range(max(0, min(a, mid)), min(num_frames, max(b, mid + 1))):
                    traj[f] = close
        return traj


@functools.lru_cache(maxsize=4)
def _load(path: str) -> VisemeModel:
    data = json.loads(Path(path).read_text())
    targets = np.array([[data["targets"][p][c] for c in MOUTH_CHANNELS] for p in PHONES], dtype=np.float64)
    strength = np.array([data["strength"].get(p, 1.0) for p in PHONES], dtype=np.float64)
    loud = LoudnessGain.from_json(data["loudness"]) if data.get("loudness") else None
    return VisemeModel(targets, strength, float(data["width"]), float(data["floor"]), float(data["lead"]),
                       float(data["population_jaw_range"]), data.get("fitted_on", ""), loud)


@dataclass
class SpeakerMouth:
    """How a speaker's mouth channels map to normalised units: rest + scale × value."""

    rest: np.ndarray  # (len(MOUTH_CHANNELS),)
    scale: float  # the speaker's jawOpen range

    @classmethod
    def from_motion(cls, motion: np.ndarray, fallback_scale: float, speaking: np.ndarray | None = None) -> SpeakerMouth:
        m = motion[:, MOUTH_COLS]
        if m.shape[0] < 10:  # a photo: its own mouth is the rest, the population gives the range
            return cls(m.mean(0), fallback_scale)
        rest = np.percentile(m, 5, axis=0)
        sel = m[speaking] if speaking is not None and speaking.sum() > 10 else m
        rng = float(np.percentile(sel[:, JAW], 95) - rest[JAW])
        return cls(rest, max(rng, 0.3 * fallback_scale))

    def normalise(self, motion: np.ndarray) -> np.ndarray:
        return (motion[:, MOUTH_COLS] - self.rest) / self.scale

    def denormalise(self, norm: np.ndarray) -> np.ndarray:
        return np.clip(self.rest + self.scale * norm, 0.0, 1.0)


def mouth_motion(phones: list[Phone], num_frames: int, speaker: SpeakerMouth, model: VisemeModel | None = None,
                 fps: float = FPS, energy: np.ndarray | None = None) -> np.ndarray:
    """(num_frames, 61) with only the mouth channels filled, in the speaker's own range."""
    model = model or VisemeModel.load()
    traj = model.trajectory(normalise_phones(phones), num_frames, fps, energy)
    out = np.zeros((num_frames, MOTION_DIM))
    out[:, MOUTH_COLS] = speaker.denormalise(traj)
    return out
