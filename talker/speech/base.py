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

import numpy as np

from ..audio.join import join_with_fades, limit_peak
from ..backends import BackendRegistry
from ..errors import InputError, ModelUnavailableError, TextError
from ..phones import IPA, Phone
from ..text.normalize import detect_script_language, has_speakable, normalize_text
from ..text.split import CLAUSE_PUNCT, SENTENCE_PUNCT, split_text
from .contract import Speech, SpeechBackend, VoiceInfo, append_phone

MAX_TEXT_CHARS = 5000
PIECE_CHARS = 400
MIN_SPEED, MAX_SPEED = 0.5, 2.0

# Pause inserted at a join, by how the earlier piece ends (seconds at speed 1).
_PAUSE_SENTENCE = 0.38
_PAUSE_CLAUSE = 0.22
_PAUSE_WORD = 0.08
_KEEP_QUIET = 0.02  # quiet audio kept at each side of a join, so fades act on near-silence
_FADE = 0.008


# --------------------------------------------------------------------------- backends


def _default_backends() -> list[SpeechBackend]:
    """Every known voice, best first. Imported lazily: none of them loads a model here."""
    from .espeak_backend import EspeakBackend
    from .kokoro_backend import KokoroBackend
    from .piper_backend import PiperBackend

    # English: Piper until a voice is named (choosing among Kokoro's voices per reference is #19's
    # next step); Mandarin: Kokoro (OVRL 3.41 against espeak-ng's 2.43), espeak-ng the last resort
    return [PiperBackend(), KokoroBackend(), EspeakBackend()]


_registry: BackendRegistry[SpeechBackend] = BackendRegistry(_default_backends)


def reset_backends() -> None:
    """Stop worker processes and forget backends (tests; after installing a voice)."""
    _registry.reset()


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
    for b in _registry.all():
        langs |= set(b.languages)
    return frozenset(langs)


def list_voices(language: str | None = None) -> list[VoiceInfo]:
    """Every voice installed now (of ``language``, or all), best backend first."""
    lang = canonical_language(language) or None
    return [v for b in _registry.all() if b.available() for v in b.voices(lang)]


def get_backend(language: str, voice: str | None = None) -> SpeechBackend:
    """The best backend that can speak ``language`` now (in ``voice``, when one is named);
    ModelUnavailableError naming what is missing, InputError listing the voices for an unknown one."""
    lang = canonical_language(language)
    if voice:
        for b in _registry.all():
            if lang in b.languages and b.available() and voice in {v.name for v in b.voices()}:
                return b
        known = list_voices()
        if any(v.name == voice for v in known):
            raise InputError(f"The voice '{voice}' cannot speak '{lang}'.",
                             "Voices for it: " + ", ".join(v.name for v in list_voices(lang)) + ".")
        raise InputError(f"Unknown voice '{voice}'.", "Installed voices: " + ", ".join(v.name for v in known) +
                         " (python -m talker voices list).")
    candidates = [b for b in _registry.all() if lang in b.languages]
    if not candidates:
        raise ModelUnavailableError(
            f"There is no voice for language '{language}'.",
            "Supported languages: " + ", ".join(sorted(supported_languages())) + ".",
        )
    for b in candidates:
        if b.available():
            return b
    missing = "; ".join(b.missing() for b in candidates)
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
            f"The text is {len(stripped):,} characters long; the limit is {max_chars:,} (the setting "
            "max_text_chars).", "Shorten it or make several clips from its parts.",
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
            out.append(Phone(p.symbol, s - start, e - start, p.alphabet))
    if not out:
        return [Phone("_", 0.0, end - start, IPA)] if end > start else []
    out[0].start = 0.0
    out[-1].end = end - start
    return out


def join_results(parts: list[Speech], speed: float = 1.0) -> tuple[np.ndarray, list[Phone]]:
    """Concatenate pieces with trimmed silences, a pause by punctuation and short fades."""
    if not parts:
        return np.zeros(0, dtype=np.float32), []
    sr = parts[0].sample_rate
    keep = int(_KEEP_QUIET * sr)
    audios = [np.asarray(p.audio, dtype=np.float32) for p in parts]
    edges = [_quiet_edges(a, sr) for a in audios]
    spans: list[tuple[int, int]] = []
    gaps: list[int] = []
    for i, (a, (lead, tail)) in enumerate(zip(audios, edges, strict=True)):
        lo = 0 if i == 0 else max(0, min(lead, len(a)) - keep)
        hi = len(a) if i == len(parts) - 1 else len(a) - max(0, tail - keep)
        spans.append((lo, max(hi, lo)))
        if i < len(parts) - 1:
            kept_quiet = min(tail, keep) + min(edges[i + 1][0], keep)
            gaps.append(max(0, int(_pause_after(parts[i].text, speed) * sr) - kept_quiet))
    audio, starts = join_with_fades([a[lo:hi] for a, (lo, hi) in zip(audios, spans, strict=True)], gaps,
                                    int(_FADE * sr))
    phones: list[Phone] = []
    for i, (part, (lo, hi)) in enumerate(zip(parts, spans, strict=True)):
        t = starts[i] / sr
        for p in _clip_phones(part.phones, lo / sr, hi / sr):
            append_phone(phones, p.shifted(t))
        if i < len(parts) - 1 and gaps[i]:
            append_phone(phones, Phone("_", (starts[i] + hi - lo) / sr, starts[i + 1] / sr, IPA))
    if phones:
        phones[-1].end = len(audio) / sr
    return audio, phones


def piece_for_joining(speech: Speech, *, trim_lead: bool, pause_after: float, pause_before: float = 0.0) -> Speech:
    """One piece of a longer speech made piece by piece, ready to be followed by the next: its
    quiet start cut to ``_KEEP_QUIET`` (``trim_lead``) and ``pause_before`` seconds of silence put
    before it, its quiet end cut the same way and a pause of ``pause_after`` seconds added (when
    > 0), faded at the cuts; ``join_results``'s joins, for pieces that never sit in memory together.
    A join's pause shared between the two pieces puts the join in the middle of the silence."""
    sr = speech.sample_rate
    a = np.asarray(speech.audio, dtype=np.float32)
    keep = int(_KEEP_QUIET * sr)
    lead, tail = _quiet_edges(a, sr)
    lo = max(0, min(lead, len(a)) - keep) if trim_lead else 0
    hi = len(a) - max(0, tail - keep) if pause_after > 0 else len(a)
    hi = max(hi, lo)
    gap = max(0, int(pause_after * sr) - min(tail, keep) - keep) if pause_after > 0 else 0
    x = a[lo:hi].copy()
    f = min(int(_FADE * sr), x.size)
    if f and lo > 0:
        x[:f] *= np.linspace(0.0, 1.0, f, dtype=np.float32)
    if f and hi < len(a):
        x[-f:] *= np.linspace(1.0, 0.0, f, dtype=np.float32)
    before = max(0, int(pause_before * sr) - keep) if trim_lead and pause_before > 0 else 0
    audio = np.concatenate([np.zeros(before, np.float32), x, np.zeros(gap, np.float32)])
    phones = _clip_phones(speech.phones, lo / sr, hi / sr)
    if before:
        shift = before / sr
        phones = [ph.shifted(shift) for ph in phones]
        phones.insert(0, Phone("_", 0.0, shift, IPA))
    if gap:
        append_phone(phones, Phone("_", (before + hi - lo) / sr, len(audio) / sr, IPA))
    if phones:
        phones[-1].end = len(audio) / sr
    return Speech(audio.astype(np.float32, copy=False), sr, phones, speech.text, speech.language, speech.backend,
                  list(speech.warnings), speech.motion, speech.source)


def pause_after(text: str, speed: float = 1.0) -> float:
    """The pause after ``text`` at a join, by how it ends (a sentence, a clause, a word)."""
    return _pause_after(text, speed)


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
               piece_chars: int = PIECE_CHARS, backend: SpeechBackend | None = None, seed: int = 0,
               voice: str | None = None) -> Speech:
    """Speech and aligned phones for ``text``; the same arguments give the same audio (``seed``
    picks the voice's rendition).

    ``language`` "auto" (or None) picks it from the script. Raises TextError / InputError for
    unusable input and ModelUnavailableError when no voice for the language is installed.
    """
    spoken, lang, warnings = prepare_text(text, language, speed, max_chars)
    engine = backend or get_backend(lang, voice)
    pieces = split_text(spoken, max(20, int(piece_chars)))
    results = [engine.synthesize(p, language=lang, speed=float(speed), seed=int(seed) + 7919 * i, voice=voice)
               for i, p in enumerate(pieces)]
    for r in results:
        for w in r.warnings:
            if w not in warnings:
                warnings.append(w)
    audio, phones = join_results(results, float(speed))
    if audio.size == 0:
        raise TextError("The voice produced no sound for this text.", "Check that the text has words in it.")
    audio = limit_peak(audio)
    return Speech(audio=audio.astype(np.float32, copy=False), sample_rate=results[0].sample_rate,
                        phones=phones, text=" ".join(pieces) if lang != "zh" else "".join(pieces),
                  language=lang, backend=results[0].backend, warnings=warnings)
