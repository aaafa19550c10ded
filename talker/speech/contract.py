"""What a voice is (``SpeechBackend``) and what every speech source hands on (``Speech``).

The voices (``piper_backend``, ``espeak_backend``) import only this module of the package, so
the registry in ``base`` can list them without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..phones import PAUSE_SYMBOLS, Phone


@dataclass
class Speech:
    """The speech stage's hand-off, whatever made it: a voice, the neural engine or the user's own
    recording. The motion stage reads the phones (or takes ``motion`` when the speech came with
    it), the muxer the audio."""

    audio: np.ndarray  # mono float32
    sample_rate: int
    phones: list[Phone]  # a voice's: contiguous from 0 to the end; others': aligned (ARPAbet), maybe empty
    text: str  # the normalised text that was spoken
    language: str
    backend: str  # what made it, as users see it ("piper:…", "user audio", "F5-TTS (…) + Vocos")
    warnings: list[str] = field(default_factory=list)
    motion: np.ndarray | None = None  # (frames, 61): a joint model's face, sampled with the speech
    source: str = "voice"  # "voice" (an offline voice), "neural" (the neural engine) or "user" (a recording)

    @property
    def duration(self) -> float:
        return len(self.audio) / float(self.sample_rate) if self.sample_rate else 0.0


@dataclass(frozen=True)
class VoiceInfo:
    """One voice a backend offers, as users pick it (``--voice NAME``, the app's voice picker)."""

    name: str
    language: str  # "en" or "zh"
    sex: str  # "female" or "male": the app never gives a woman's reference a man's voice unasked
    accent: str = ""  # "us" / "gb" for English voices
    backend: str = ""


@runtime_checkable
class SpeechBackend(Protocol):
    """A voice. Registered in ``base._default_backends``; the first that can speak the language and is
    ``available()`` is used. The GPL voices run in child processes (``child``)."""

    name: str
    languages: frozenset[str]

    def available(self) -> bool:
        """Whether it can speak now (its model and programs are installed); loads nothing."""
        ...

    def missing(self) -> str:
        """What to install for it to become available (shown when no voice can speak)."""
        ...

    def voices(self, language: str | None = None) -> list[VoiceInfo]:
        """The voices it can speak with now (of ``language``, or all)."""
        ...

    def synthesize(self, text: str, *, language: str = "en", speed: float = 1.0, seed: int = 0,
                   voice: str | None = None) -> Speech:
        """``text`` (normalised) in ``voice`` (one of ``voices()``; None: its default)."""
        ...

    def close(self) -> None:
        """Stop its worker process, if it has one (it starts again on the next request)."""
        ...


def append_phone(phones: list[Phone], phone: Phone) -> None:
    """Append, merging runs of pauses (a join's silence next to the voice's own)."""
    if phone.end - phone.start <= 0:
        return
    if phones and phones[-1].symbol in PAUSE_SYMBOLS and phone.symbol in PAUSE_SYMBOLS:
        phones[-1].end = phone.end
        if phone.symbol == "_":
            phones[-1].symbol = "_"
        return
    phones.append(phone)


def check_voice(backend: SpeechBackend, voice: str | None) -> None:
    """InputError naming the backend's voices when ``voice`` is not one of them (None: the default)."""
    if voice is None:
        return
    names = [v.name for v in backend.voices()]
    if voice not in names:
        from ..errors import InputError

        raise InputError(f"The voice '{voice}' is not one of {backend.name}'s.", "Voices: " + ", ".join(names) + ".")
