"""Text to speech with time-aligned phones: the audio track and the mouth timing of a clip.

:func:`synthesize` is the entry point. It validates and normalises the text, picks the best
voice for the language, cuts long text at sentence boundaries (each request stays short, so a
slow or crashed voice loses little), and joins the pieces with a natural pause and short fades so
there is no click at a join. Phone times are shifted with the audio, so they always cover it.

Limits: text up to ``MAX_TEXT_CHARS`` (5,000) characters is spoken whole; longer text is refused
with a message naming both lengths, because a clip of several minutes is not what a talking head
is for and would tie up a CPU for long.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import InputError, ModelUnavailableError, TextError
from ..text.normalize import detect_script_language, has_speakable, normalize_text
from ..text.split import CLAUSE_PUNCT, SENTENCE_PUNCT, split_text

MAX_TEXT_CHARS = 5000
PIECE_CHARS = 400
MIN_SPEED, MAX_SPEED = 0.5, 2.0

PAUSE_SYMBOLS = frozenset({"_", " "})
# Pause inserted at a join, by how the earlier piece ends (seconds at speed 1).
_PAUSE_SENTENCE = 0.38
_PAUSE_CLAUSE = 0.22
_PAUSE_WORD = 0.08
_KEEP_QUIET = 0.02  # quiet audio kept at each side of a join, so fades act on near-silence
_FADE = 0.008


@dataclass
class Phone:
    symbol: str  # IPA as the backend gives it; "_" is a pause, " " a word boundary
    start: float  # seconds
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class SpeechResult:
    audio: np.ndarray  # mono float32
    sample_rate: int
    phones: list[Phone]  # contiguous, from 0 to the end of the audio
    text: str  # the normalised text that was spoken
    language: str
    backend: str
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / float(self.sample_rate) if self.sample_rate else 0.0

    def to_dict(self, include_audio: bool = False) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "audio"}
        d["duration"] = self.duration
        if include_audio:
            d["audio"] = self.audio.tolist()
        return d


@runtime_checkable
class SpeechBackend(Protocol):
    name: str
    languages: frozenset[str]

    def available(self) -> bool: ...

    def synthesize(self, text: str, *, language: str = "en", speed: float = 1.0, seed: int = 0) -> SpeechResult: ...


# --------------------------------------------------------------------------- backends

_registry_lock = threading.Lock()
_registry: list[SpeechBackend] | None = None


def _backends() -> list[SpeechBackend]:
    """Every known backend, best first. Imported lazily: none of them loads a model here."""
    global _registry
    with _registry_lock:
        if _registry is None:
            from .espeak_backend import EspeakBackend
            from .piper_backend import PiperBackend

            _registry = [PiperBackend(), EspeakBackend()]
        return _registry


def reset_backends() -> None:
    """Stop worker processes and forget backends (tests; after installing a voice)."""
    global _registry
    with _registry_lock:
        for b in _registry or []:
            close = getattr(b, "close", None)
            if close:
                close()
        _registry = None


def canonical_language(language: str | None) -> str:
    """"zh-CN", "cmn", "zh_Hans" -> "zh"; "en-US" -> "en"; "" / "auto" -> ""."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang in ("", "auto"):
        return ""
    lang = lang.split("-")[0]
    return {"cmn": "zh", "chi": "zh", "zho": "zh", "eng": "en", "mandarin": "zh", "chinese": "zh",
            "english": "en"}.get(lang, lang)


def supported_languages() -> frozenset[str]:
    langs: set[str] = set()
    for b in _backends():
        langs |= set(b.languages)
    return frozenset(langs)


def get_backend(language: str) -> SpeechBackend:
    """The best voice that can speak ``language`` now; ModelUnavailableError naming what is missing."""
    lang = canonical_language(language)
    candidates = [b for b in _backends() if lang in b.languages]
    if not candidates:
        raise ModelUnavailableError(
            f"There is no voice for language '{language}'.",
            "Supported languages: " + ", ".join(sorted(supported_languages())) + ".",
        )
    for b in candidates:
        if b.available():
            return b
    missing = "; ".join(b.missing() if hasattr(b, "missing") else b.name for b in candidates)
    raise ModelUnavailableError(f"No voice for '{lang}' is installed ({missing}).",
                                "Install one of them as described, then try again.")


# --------------------------------------------------------------------------- validation


def validate_text(text, language: str | None, speed: float, max_chars: int) -> tuple[str, str]:
    if not isinstance(text, str):
        raise TextError(f"The text must be a string, not {type(text).__name__}.", "Pass the words to say as text.")
    stripped = text.strip()
    if not stripped:
        raise TextError("The text is empty.", "Type what the person should say.")
    if len(stripped) > max_chars:
        raise TextError(
            f"The text is {len(stripped):,} characters long; the limit is {max_chars:,}.",
            "Shorten it or make several clips from its parts.",
        )
    if not has_speakable(stripped):
        raise TextError("The text has nothing to say: it has no letters or digits, only emoji, symbols or "
                        "punctuation.", "Type words for the person to say.")
    try:
        speed = float(speed)
    except (TypeError, ValueError):
        speed = float("nan")
    if not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise InputError(f"The speaking speed must be between {MIN_SPEED} and {MAX_SPEED} (got {speed}).",
                         "Use 1.0 for the voice's natural speed.")
    lang = canonical_language(language) or detect_script_language(stripped) or "en"
    return stripped, lang


# --------------------------------------------------------------------------- joining


def _quiet_edges(audio: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """Samples of near-silence at the start and at the end (10 ms frames under -40 dB of the peak)."""
    n = len(audio)
    if n == 0:
        return 0, 0
    hop = max(1, sample_rate // 100)
    frames = math.ceil(n / hop)
    pad = np.zeros(frames * hop, dtype=np.float32)
    pad[:n] = np.abs(audio)
    env = pad.reshape(frames, hop).max(axis=1)
    loud = np.flatnonzero(env > max(1e-3, 0.01 * float(env.max())))
    if loud.size == 0:
        return n, 0
    return int(loud[0]) * hop, n - min(n, (int(loud[-1]) + 1) * hop)


def _pause_after(text: str, speed: float) -> float:
    end = text.rstrip()[-1:] if text.strip() else ""
    base = _PAUSE_SENTENCE if end in SENTENCE_PUNCT else _PAUSE_CLAUSE if end in CLAUSE_PUNCT else _PAUSE_WORD
    return base / speed


def _clip_phones(phones: list[Phone], start: float, end: float) -> list[Phone]:
    """Phones within [start, end], shifted to start at 0; the first and last are stretched to the edges."""
    out: list[Phone] = []
    for p in phones:
        s, e = max(p.start, start), min(p.end, end)
        if e - s > 1e-9:
            out.append(Phone(p.symbol, s - start, e - start))
    if not out:
        return [Phone("_", 0.0, end - start)] if end > start else []
    out[0].start = 0.0
    out[-1].end = end - start
    return out


def _append_phone(phones: list[Phone], phone: Phone) -> None:
    """Append, merging runs of pauses (a join's silence next to the voice's own)."""
    if phone.end - phone.start <= 0:
        return
    if phones and phones[-1].symbol in PAUSE_SYMBOLS and phone.symbol in PAUSE_SYMBOLS:
        phones[-1].end = phone.end
        if phone.symbol == "_":
            phones[-1].symbol = "_"
        return
    phones.append(phone)


def join_results(parts: list[SpeechResult], speed: float = 1.0) -> tuple[np.ndarray, list[Phone]]:
    """Concatenate pieces with trimmed silences, a pause by punctuation and short fades."""
    if not parts:
        return np.zeros(0, dtype=np.float32), []
    sr = parts[0].sample_rate
    keep = int(_KEEP_QUIET * sr)
    fade = int(_FADE * sr)
    chunks: list[np.ndarray] = []
    phones: list[Phone] = []
    audios = [np.asarray(p.audio, dtype=np.float32) for p in parts]
    edges = [_quiet_edges(a, sr) for a in audios]
    t = 0.0
    total = 0
    for i, part in enumerate(parts):
        a = audios[i]
        lead, tail = edges[i]
        lo = 0 if i == 0 else max(0, min(lead, len(a)) - keep)
        hi = len(a) if i == len(parts) - 1 else len(a) - max(0, tail - keep)
        hi = max(hi, lo)
        seg = a[lo:hi].copy()
        if i > 0 and seg.size:
            k = min(fade, seg.size)
            seg[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
        if i < len(parts) - 1 and seg.size:
            k = min(fade, seg.size)
            seg[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
        for p in _clip_phones(part.phones, lo / sr, hi / sr):
            _append_phone(phones, Phone(p.symbol, t + p.start, t + p.end))
        chunks.append(seg)
        total += seg.size
        t = total / sr
        if i < len(parts) - 1:
            kept_quiet = min(tail, keep) + min(edges[i + 1][0], keep)
            gap = max(0, int(_pause_after(part.text, speed) * sr) - kept_quiet)
            if gap:
                chunks.append(np.zeros(gap, dtype=np.float32))
                total += gap
                _append_phone(phones, Phone("_", t, total / sr))
                t = total / sr
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if phones:
        phones[-1].end = len(audio) / sr
    return audio, phones


def prepare_text(text, language: str | None, speed: float, max_chars: int) -> tuple[str, str, list[str]]:
    """Validated, normalised text to speak, its language, and warnings: what every voice (the
    offline backends and the neural engine) starts from."""
    stripped, lang = validate_text(text, language, speed, max_chars)
    warnings: list[str] = []
    script = detect_script_language(stripped)
    if script and script != lang and not (script == "en" and lang != "en"):
        warnings.append(f"The text looks like '{script}' but is spoken with the '{lang}' voice.")
    spoken = normalize_text(stripped, lang)
    if not has_speakable(spoken):
        raise TextError("The text has nothing to say once symbols and emoji are removed.",
                        "Type words for the person to say.")
    return spoken, lang, warnings


# --------------------------------------------------------------------------- entry point


def synthesize(text: str, language: str | None = "en", speed: float = 1.0, max_chars: int = MAX_TEXT_CHARS,
               piece_chars: int = PIECE_CHARS, backend: SpeechBackend | None = None, seed: int = 0) -> SpeechResult:
    """Speech and aligned phones for ``text``; the same arguments give the same audio (``seed``
    picks the voice's rendition).

    ``language`` "auto" (or None) picks it from the script. Raises TextError / InputError for
    unusable input and ModelUnavailableError when no voice for the language is installed.
    """
    spoken, lang, warnings = prepare_text(text, language, speed, max_chars)
    voice = backend or get_backend(lang)
    pieces = split_text(spoken, max(20, int(piece_chars)))
    results = [voice.synthesize(p, language=lang, speed=float(speed), seed=int(seed) + 7919 * i)
               for i, p in enumerate(pieces)]
    for r in results:
        for w in r.warnings:
            if w not in warnings:
                warnings.append(w)
    audio, phones = join_results(results, float(speed))
    if audio.size == 0:
        raise TextError("The voice produced no sound for this text.", "Check that the text has words in it.")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0.99:
        audio = audio * np.float32(0.99 / peak)
    return SpeechResult(audio=audio.astype(np.float32, copy=False), sample_rate=results[0].sample_rate,
                        phones=phones, text=" ".join(pieces) if lang != "zh" else "".join(pieces),
                        language=lang, backend=voice.name, warnings=warnings)
