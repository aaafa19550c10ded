"""The joint audio-visual flow-matching DiT (issue #5): text -> mel + 61-d motion.

Names below load on first use (PEP 562), so importing ``talker.model.engine``'s config
does not pull in torch and the CLI and app start quickly.
"""

from importlib import import_module

_LAZY = {
    "CONFIGS": "config", "ModelConfig": "config", "get_config": "config",
    "MEL_FPS": "dit", "VIDEO_FPS": "dit", "TalkerDiT": "dit", "Velocity": "dit", "build_model": "dit",
    "mel_frames_for_video": "dit", "motion_to_mel_rate": "dit", "motion_to_video_rate": "dit",
    "resample_frames": "dit", "video_frames_for_mel": "dit",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
