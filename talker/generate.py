"""Generation requests and results shared by the CLI, the app and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class GenerateOptions:
    language: str | None = None  # None/"auto": from the text's script
    speed: float = 1.0
    seed: int = 0
    crop: bool = False  # True: output the 512×512 face crop instead of the full frame
    max_side: int = 1280
    max_text_chars: int = 5000
    max_audio_seconds: float = 600.0
    voice_match: bool = True  # nudge the stock voice's pitch/formants toward the reference (not cloning)
    label: bool = True  # visible "AI-generated" mark on every frame (metadata disclosure is always on)
    engine: str = "auto"  # "offline", "neural" (a configured checkpoint) or "auto" (neural when it can run)
    nfe_steps: int = 32  # neural engine: ODE steps
    cfg_scale: float = 2.0  # neural engine: classifier-free guidance


@dataclass
class GenerationResult:
    video: Path
    audio: np.ndarray  # 24 kHz mono, as muxed
    sample_rate: int
    motion: np.ndarray  # (frames, 61)
    fps: float
    text: str
    language: str
    engine: dict = field(default_factory=dict)  # which backend ran for each stage
    timings: dict = field(default_factory=dict)  # seconds per stage
    warnings: list[str] = field(default_factory=list)
    phones: list = field(default_factory=list)

    @property
    def frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def summary(self) -> dict:
        total = sum(v for k, v in self.timings.items() if k != "total")
        total = self.timings.get("total", total)
        return {
            "video": str(self.video), "duration": round(self.duration, 3), "frames": self.frames, "fps": self.fps,
            "rtf": round(total / max(self.duration, 1e-6), 3), "text": self.text, "language": self.language,
            "engine": self.engine, "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": self.warnings,
        }
