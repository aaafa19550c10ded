"""Speech recognition: the words (and their times) and the language of a reference's or a user's
speech. Backends (FunASR, faster-whisper base / tiny.en) sit behind ``ASRBackend``; ``transcribe``
picks the best one that can run now without the network (``recognize`` says how)."""

from .recognize import (
    ASRBackend,
    FunASRBackend,
    Transcript,
    WhisperBackend,
    Word,
    available_backends,
    detect_language,
    reset_backends,
    transcribe,
)

__all__ = ["ASRBackend", "FunASRBackend", "Transcript", "WhisperBackend", "Word", "available_backends",
           "detect_language", "reset_backends", "transcribe"]
