"""What a user can ask of the face beyond the words: how much the head moves, how wide the mouth
opens, how often the eyes blink, how strong the expression is, and where the head points.

``MotionControls`` is applied by the motion stage to whatever generator made the motion
(``apply_controls``, a pure function of the codes), except the blink rate, which re-times blink
events and so acts inside the offline generator (``style.generate_style``). 1.0 / 0 everywhere
changes nothing, bit for bit.

How each shows in the video: the clip renderer picks the reference frames whose head pose, blinks
and brows match the codes, so head amplitude and offsets are bounded by the poses the clip has;
the photo renderer turns the head and moves the brows by the codes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .code import BLENDSHAPE_NAMES, HEAD, HEAD_ROTATION, index

# the mouth's opening, not its closure: scaling these leaves lip contact (mouthClose, mouthPress,
# mouthRoll) as the viseme model made it, so /p b m/ still close at any scale
OPENING = np.array([index(n) for n in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight",
                                       "mouthUpperUpLeft", "mouthUpperUpRight", "mouthFunnel")])
# expression: brows, eye squint and widening, cheek squint, nose sneer (not the mouth, not blinks)
EXPRESSION = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES)
                       if n.startswith(("brow", "eyeSquint", "eyeWide", "cheekSquint", "noseSneer"))])


@dataclass(frozen=True)
class MotionControls:
    """Each scale 1.0 and each offset 0 is the reference's own style. Ranges are what the page's
    sliders offer; the API clips to them."""

    expression: float = 1.0  # 0–2: brows/squint/sneer movement around the reference's average
    head_motion: float = 1.0  # 0–2: head rotation and translation around their average
    mouth_opening: float = 1.0  # 0.5–1.5: jaw and lip opening (closures untouched)
    blink_rate: float = 1.0  # 0–3: blinks per second relative to the reference's
    head_pitch_deg: float = 0.0  # −15…15: nod the whole take up (+) or down
    head_yaw_deg: float = 0.0  # −20…20: turn the whole take

    RANGES = {"expression": (0.0, 2.0), "head_motion": (0.0, 2.0), "mouth_opening": (0.5, 1.5),
              "blink_rate": (0.0, 3.0), "head_pitch_deg": (-15.0, 15.0), "head_yaw_deg": (-20.0, 20.0)}

    def clipped(self) -> MotionControls:
        """The same controls inside their ranges (an API client may send anything)."""
        vals = {}
        for f in fields(self):
            lo, hi = self.RANGES[f.name]
            v = float(getattr(self, f.name))
            vals[f.name] = float(np.clip(v if np.isfinite(v) else f.default, lo, hi))
        return MotionControls(**vals)

    @property
    def neutral(self) -> bool:
        return self == MotionControls()


def control_center(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the expression and head-motion scales scale around: the codes' mean expression and head pose."""
    codes = np.asarray(codes, dtype=np.float32)
    return codes[:, EXPRESSION].mean(axis=0), codes[:, HEAD].mean(axis=0)


def apply_controls(codes: np.ndarray, controls: MotionControls,
                   center: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(frames, 61) codes with ``controls`` applied (all but the blink rate); a new array.
    ``center`` (``control_center``): the means to scale around, default these codes' own; a video
    made in pieces passes its first piece's, so every piece scales around the same pose."""
    c = controls.clipped()
    out = np.array(codes, dtype=np.float32, copy=True)
    if c.neutral or out.shape[0] == 0:
        return out
    expr_mean, head_mean = center if center is not None else control_center(out)
    if c.expression != 1.0:
        out[:, EXPRESSION] = np.clip(expr_mean + (out[:, EXPRESSION] - expr_mean) * c.expression, 0.0, 1.0)
    if c.head_motion != 1.0:
        out[:, HEAD] = head_mean + (out[:, HEAD] - head_mean) * c.head_motion
    if c.mouth_opening != 1.0:
        out[:, OPENING] = np.clip(out[:, OPENING] * c.mouth_opening, 0.0, 1.0)
    pitch, yaw = HEAD_ROTATION.start, HEAD_ROTATION.start + 1
    out[:, pitch] += np.radians(c.head_pitch_deg)
    out[:, yaw] += np.radians(c.head_yaw_deg)
    return out
