"""Mandarin (and fallback English) speech from espeak-ng, run in a child process.

No offline neural Mandarin voice is packaged anywhere we can install, so Chinese is spoken by
espeak-ng's formant synthesiser: robotic, but intelligible, offline and with exact phone times.
It needs the Debian package ``espeak-ng`` (which brings ``libespeak-ng1``).

Why pinyin: Debian's espeak-ng 1.51 ``cmn`` voice reads Han characters as pinyin *with the tone
digits spoken in English* ("ni three hao three"), so Han text is converted to numbered pinyin
here (pypinyin, which also picks readings of polyphonic characters from phrases) and spoken by
the ``cmn-latn-pinyin`` voice, which applies tone sandhi itself. Latin words inside Chinese text
are spoken by the English voice.

Why a child process: espeak-ng is GPL-3.0, so the core never loads it. The phone times come from
the library's phoneme events (exact sample positions), which the command-line tool does not
expose, so the child (``python -m talker.speech.espeak_backend``) loads ``libespeak-ng.so.1``
with ctypes, answers one request on stdin/stdout and exits.
"""

from __future__ import annotations

import base64
import ctypes.util
import json
import re
import shutil
import subprocess
import sys

import numpy as np

from ..errors import ModelUnavailableError, TextError
from ..phones import IPA, Phone
from .child import run_module
from .contract import Speech, VoiceInfo, append_phone, check_voice

APT_PACKAGE = "espeak-ng"
ZH_WARNING = "Chinese uses the robotic espeak-ng fallback voice (no offline neural Chinese voice exists)."
EN_WARNING = "English uses the robotic espeak-ng fallback voice because the Piper voice is not installed."

_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
ESPEAK_VOICES = (VoiceInfo("espeak-zh", "zh", "male", "", "espeak-ng"), VoiceInfo("espeak-en", "en", "male", "us", "espeak-ng"))
_BASE_WPM = {"zh": 130, "en": 165}
# Wider pitch range and a lower voice make espeak's weak Mandarin tones clearer: Whisper's
# character error on test sentences fell from about 0.7 to about 0.5 (range 50 -> 100, pitch 40).
_PROSODY = {"zh": {"range": 100, "pitch": 40}, "en": {}}
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PUNCT_MAP = {"，": ",", "、": ",", "；": ";", "：": ":", "。": ".", "！": "!", "？": "?", "（": ",", "）": ",",
              "“": "", "”": "", "‘": "", "’": "", "《": "", "》": "", "「": "", "」": "", "…": "...", "—": ","}
_PAUSE_MIN_S = 0.09  # an unnamed espeak phoneme at least this long is a pause, shorter is a word gap


def _library_name() -> str | None:
    return ctypes.util.find_library("espeak-ng")  # searches ldconfig; does not load it


def zh_segments(text: str) -> list[tuple[str, str]]:
    """(espeak voice, text) runs: Han as numbered pinyin for the pinyin voice, Latin for English."""
    from pypinyin import Style, lazy_pinyin

    segments: list[list[str]] = []

    def add(voice: str, part: str) -> None:
        if segments and segments[-1][0] == voice:
            segments[-1][1] += part
        else:
            segments.append([voice, part])

    for m in re.finditer(f"([{_HAN}]+)|([A-Za-z0-9][A-Za-z0-9'’.\\- ]*)|(.)", text, flags=re.S):
        han, latin, other = m.groups()
        if han:
            syllables = lazy_pinyin(han, style=Style.TONE3, neutral_tone_with_five=True, v_to_u=True)
            add(_VOICES["zh"], " " + " ".join(syllables) + " ")
        elif latin:
            add(_VOICES["en"], " " + latin.strip() + " ")
        elif other.isspace():
            continue
        else:
            mark = _PUNCT_MAP.get(other, other if other in ",.;:!?" else "")
            if mark and segments:
                segments[-1][1] = segments[-1][1].rstrip() + mark + " "
    return [(v, re.sub(r"\s+", " ", t).strip()) for v, t in segments if t.strip(" ,.;:!?")]


def phones_from_events(events: list, total: int, sample_rate: int) -> list[Phone]:
    """espeak's (phoneme, start sample) events to contiguous Phones covering ``total`` samples."""
    phones: list[Phone] = []
    events = sorted(((str(s), int(p)) for s, p in events), key=lambda e: e[1])
    bounds = [(s, min(max(p, 0), total)) for s, p in events]
    if not bounds or bounds[0][1] > 0:
        bounds.insert(0, ("", 0))
    for i, (symbol, start) in enumerate(bounds):
        end = bounds[i + 1][1] if i + 1 < len(bounds) else total
        if end <= start:
            continue
        if not symbol.strip():
            symbol = "_" if (end - start) / sample_rate >= _PAUSE_MIN_S or i == 0 or i == len(bounds) - 1 else " "
        append_phone(phones, Phone(symbol, start / sample_rate, end / sample_rate, IPA))
    if phones:
        phones[0].start = 0.0
        phones[-1].end = total / sample_rate
    elif total:
        phones.append(Phone("_", 0.0, total / sample_rate, IPA))
    return phones


class EspeakBackend:
    """espeak-ng in a one-shot child process per request."""

    languages = frozenset({"zh", "en"})

    def __init__(self, timeout: float = 60.0) -> None:
        self.name = "espeak-ng"
        self.timeout = timeout

    def missing(self) -> str:
        if shutil.which("espeak-ng") is None or _library_name() is None:
            return f"espeak-ng is not installed: install it with 'apt-get install {APT_PACKAGE}'"
        if _pypinyin_missing():
            return "pypinyin is not installed: pip install pypinyin"
        return ""

    def available(self) -> bool:
        return not self.missing()

    def close(self) -> None:
        """Nothing to stop: each request is its own process."""

    def voices(self, language: str | None = None) -> list[VoiceInfo]:
        ok = self.available()
        return [v for v in ESPEAK_VOICES if ok and language in (None, v.language)]

    def synthesize(self, text: str, *, language: str = "zh", speed: float = 1.0, seed: int = 0,
                   voice: str | None = None) -> Speech:
        """Speak ``text`` as given (already normalised); espeak-ng has no randomness, ``seed`` is unused."""
        problem = self.missing()
        if problem:
            raise ModelUnavailableError(f"The espeak-ng voice cannot run: {problem}.",
                                        f"Run 'apt-get install {APT_PACKAGE}' (Debian/Ubuntu).")
        if language not in self.languages:
            raise ModelUnavailableError(f"The espeak-ng backend here speaks {', '.join(sorted(self.languages))}, "
                                        f"not '{language}'.", "Use language 'zh' or 'en'.")
        check_voice(self, voice)
        segments = zh_segments(text) if language == "zh" else [(_VOICES["en"], text.strip())]
        if not segments:
            raise TextError("The text has nothing the voice can say.", "Type words for the person to say.")
        rate = int(min(450, max(80, round(_BASE_WPM[language] * float(speed)))))
        reply = self._run({"segments": segments, "rate": rate, **_PROSODY[language]})
        sr = int(reply["sample_rate"])
        audio = np.frombuffer(base64.b64decode(reply["audio_b64"]), dtype="<i2").astype(np.float32) / 32768.0
        phones = phones_from_events(reply["events"], audio.size, sr)
        return Speech(audio=audio, sample_rate=sr, phones=phones, text=text, language=language,
                            backend=self.name, warnings=[ZH_WARNING if language == "zh" else EN_WARNING])

    def _run(self, request: dict) -> dict:
        timeout = self.timeout + 0.2 * sum(len(t) for _, t in request["segments"])
        try:
            done = run_module("talker.speech.espeak_backend", json.dumps(request).encode("utf-8"), timeout)
        except subprocess.TimeoutExpired:
            raise ModelUnavailableError(f"espeak-ng did not finish within {timeout:.0f} s.",
                                        "Try a shorter text.") from None
        except OSError as exc:
            raise ModelUnavailableError(f"espeak-ng could not be started ({exc}).",
                                        f"Run 'apt-get install {APT_PACKAGE}'.") from exc
        try:
            reply = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
        except (ValueError, IndexError):
            reply = {"ok": False, "error": done.stderr.decode("utf-8", "replace")[-400:] or f"exit {done.returncode}"}
        if not reply.get("ok"):
            raise ModelUnavailableError(f"espeak-ng failed: {reply.get('error')}.",
                                        f"Reinstall it with 'apt-get install --reinstall {APT_PACKAGE}'.")
        return reply


def _pypinyin_missing() -> bool:
    import importlib.util

    return importlib.util.find_spec("pypinyin") is None


# --------------------------------------------------------------------------- child process


def _child_main() -> int:
    """Synthesise the request on stdin with libespeak-ng and print one JSON reply."""
    out = sys.stdout
    try:
        request = json.loads(sys.stdin.read())
        reply = _espeak_synth(request["segments"], int(request.get("rate", 165)), request.get("range"),
                              request.get("pitch"))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a typed error
        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(reply, ensure_ascii=False) + "\n")
    out.flush()
    return 0 if reply.get("ok") else 1


def _espeak_synth(segments: list, rate: int, pitch_range: int | None = None, pitch: int | None = None) -> dict:
    import array

    name = _library_name() or "libespeak-ng.so.1"
    lib = ctypes.CDLL(name)

    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    class _Event(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                    ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                    ("user_data", ctypes.c_void_p), ("id", _Id)]

    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.POINTER(_Event))
    synchronous, phoneme_events, phoneme_ipa, dont_exit = 2, 0x1, 0x2, 0x8000
    event_list_end, event_phoneme = 0, 7
    lib.espeak_Initialize.restype = ctypes.c_int
    sample_rate = lib.espeak_Initialize(synchronous, 0, None, phoneme_events | phoneme_ipa | dont_exit)
    if sample_rate <= 0:
        raise RuntimeError("espeak-ng could not initialise (is espeak-ng-data installed?)")

    audio = array.array("h")
    events: list[list] = []
    offset = [0]

    def on_audio(wav, n, ev):
        if wav and n > 0:
            audio.extend(wav[:n])
        i = 0
        while ev[i].type != event_list_end:
            if ev[i].type == event_phoneme:
                symbol = bytes(ev[i].id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                events.append([symbol, offset[0] + int(ev[i].sample)])
            i += 1
        return 0

    callback = callback_type(on_audio)
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetParameter(1, int(rate), 0)  # espeakRATE, words per minute
    for voice, text in segments:
        if lib.espeak_SetVoiceByName(str(voice).encode("utf-8")) != 0:
            raise RuntimeError(f"espeak-ng has no voice '{voice}'")
        lib.espeak_SetParameter(1, int(rate), 0)
        if pitch_range is not None:
            lib.espeak_SetParameter(4, int(pitch_range), 0)  # espeakRANGE, 0-100
        if pitch is not None:
            lib.espeak_SetParameter(3, int(pitch), 0)  # espeakPITCH, 0-100
        data = str(text).encode("utf-8")
        offset[0] = len(audio)
        lib.espeak_Synth(ctypes.c_char_p(data), len(data) + 1, 0, 1, 0, 1, None, None)  # POS_CHARACTER, UTF-8
        lib.espeak_Synchronize()
    lib.espeak_Terminate()
    return {"ok": True, "sample_rate": int(sample_rate), "num_samples": len(audio),
            "audio_b64": base64.b64encode(audio.tobytes()).decode("ascii"), "events": events}


if __name__ == "__main__":
    sys.exit(_child_main())
