"""Speech synthesis: text in, audio and time-aligned phones out (see ``base.synthesize``).

The voices themselves (Piper, espeak-ng) are GPL programs and run in child processes; nothing
imported from this package loads them.
"""

from .base import (
    MAX_TEXT_CHARS,
    Phone,
    SpeechBackend,
    SpeechResult,
    canonical_language,
    get_backend,
    reset_backends,
    supported_languages,
    synthesize,
)

__all__ = [
    "MAX_TEXT_CHARS",
    "Phone",
    "SpeechBackend",
    "SpeechResult",
    "canonical_language",
    "get_backend",
    "reset_backends",
    "supported_languages",
    "synthesize",
]
