"""The speech stage: text in, audio and time-aligned phones out (``base.synthesize``), or the
user's own recording in (``sources.user_speech``); either way a ``Speech``.

The voices themselves (Piper, espeak-ng) are GPL programs and run in child processes; nothing
imported from this package loads them.
"""

from .base import (
    MAX_TEXT_CHARS,
    canonical_language,
    get_backend,
    reset_backends,
    supported_languages,
    synthesize,
)
from .contract import Speech, SpeechBackend

__all__ = [
    "MAX_TEXT_CHARS",
    "SpeechBackend",
    "Speech",
    "canonical_language",
    "get_backend",
    "reset_backends",
    "supported_languages",
    "synthesize",
]
