"""The joint audio-visual flow-matching DiT (issue #5): text -> mel + 61-d motion.

Import what you need from the submodules; this package imports nothing heavy on its own
beyond torch, so ``talker`` stays quick to start.
"""

from .config import CONFIGS, ModelConfig, get_config
from .dit import (
    MEL_FPS,
    VIDEO_FPS,
    TalkerDiT,
    Velocity,
    build_model,
    mel_frames_for_video,
    motion_to_mel_rate,
    motion_to_video_rate,
    resample_frames,
    video_frames_for_mel,
)

__all__ = [
    "CONFIGS", "MEL_FPS", "VIDEO_FPS", "ModelConfig", "TalkerDiT", "Velocity", "build_model", "get_config",
    "mel_frames_for_video", "motion_to_mel_rate", "motion_to_video_rate", "resample_frames", "video_frames_for_mel",
]
