"""The neural engine: a trained checkpoint speaking new text in the reference's voice (and face).

Two kinds of checkpoint drive it:
- a talker DiT with a motion stream (``talker.train``): mel and 61-d motion come out together,
  so voice, lips and style are one sample; the motion goes to the shared renderer;
- an audio-only model (the public F5-TTS v1 Base, or a talker DiT trained without motion):
  zero-shot voice cloning; the pipeline then aligns the words in the new speech and the offline
  motion generator makes the face.
The reference's own audio, motion and transcript are the in-context prompt. Long text is spoken
piece by piece (each piece prompted by the reference), joined with short fades.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelUnavailableError


@dataclass
class NeuralConfig:
    checkpoint: str | None = None  # talker DiT: folder, .safetensors file or Hugging Face repo id
    f5_checkpoint: str | None = None  # F5-TTS (audio only), e.g. SWivid/F5-TTS or a local model_*.safetensors
    vocoder: str | None = "charactr/vocos-mel-24khz"  # None: the labelled Griffin-Lim fallback only
    device: str = "auto"  # "auto": CUDA when present
    max_prompt_seconds: float = 15.0  # longer references still work, slower; users are told to trim
    piece_chars: int = 160  # text per generated piece

    @classmethod
    def from_env(cls) -> NeuralConfig:
        """Checkpoints from $TALKER_DIT_CHECKPOINT / $TALKER_F5_CHECKPOINT, vocoder from $TALKER_VOCODER."""
        cfg = cls(checkpoint=os.environ.get("TALKER_DIT_CHECKPOINT") or None,
                  f5_checkpoint=os.environ.get("TALKER_F5_CHECKPOINT") or None)
        if "TALKER_VOCODER" in os.environ:
            cfg.vocoder = os.environ["TALKER_VOCODER"] or None
        return cfg

    @property
    def configured(self) -> bool:
        return bool(self.checkpoint or self.f5_checkpoint)


@dataclass
class NeuralSpeech:
    audio: np.ndarray  # 24 kHz mono float32
    sample_rate: int
    motion: np.ndarray | None  # (frames, 61) at 25 fps, or None for an audio-only model
    text: str  # what was spoken (normalised)
    language: str
    label: str  # which model and vocoder ran
    warnings: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class NeuralEngine:
    """Loads its checkpoint and vocoder once; ``speak`` is then called per request."""

    def __init__(self, config: NeuralConfig) -> None:
        if not config.configured:
            raise ModelUnavailableError("No neural checkpoint is configured.",
                                        "Set TALKER_DIT_CHECKPOINT (a talker DiT) or TALKER_F5_CHECKPOINT (F5-TTS), "
                                        "or pass --checkpoint.")
        self.config = config
        self.device = _device(config.device)
        self._model = None
        self._vocoder = None

    def _load(self):
        if self._model is None:
            if self.config.checkpoint:
                from .checkpoint import load_model

                model = load_model(self.config.checkpoint, device=self.device)
                self.source = f"talker DiT '{model.config.name}' ({_short(self.config.checkpoint)})"
            else:
                from .f5_compat import load_f5_checkpoint

                model = load_f5_checkpoint(self.config.f5_checkpoint).to(self.device)
                self.source = f"F5-TTS ({_short(self.config.f5_checkpoint)})"
            if self.device.type == "cuda":
                import torch

                model = model.to(torch.bfloat16)
            self._model = model
        if self._vocoder is None:
            from .vocoder import load_vocoder

            self._vocoder = load_vocoder(self.config.vocoder, allow_fallback=True, device=self.device)
        return self._model, self._vocoder

    @property
    def joint(self) -> bool:
        """True when the checkpoint also generates motion."""
        model, _ = self._load()
        return getattr(model, "motion", None) is not None

    def speak(self, feats, text: str, *, language: str | None = None, speed: float = 1.0, seed: int = 0,
              nfe_steps: int = 32, cfg_scale: float = 2.0, max_chars: int = 5000) -> NeuralSpeech:
        import time

        from ..speech.base import validate_text
        from ..text.normalize import has_speakable, normalize_text
        from ..text.split import split_text
        from ..video.encode import frames_for_audio
        from .dit import VIDEO_FPS
        from .infer import generate

        if feats.audio is None or feats.kind != "video":
            raise InputError("The neural engine needs a reference clip with speech: its voice is the prompt.",
                             "Use a video reference in which the person speaks, or the offline engine for photos.")
        stripped, lang = validate_text(text, language, speed, max_chars)
        spoken = normalize_text(stripped, lang)
        if not has_speakable(spoken):
            from ..errors import TextError

            raise TextError("The text has nothing to say once symbols and emoji are removed.",
                            "Type words for the person to say.")
        t = time.perf_counter()
        model, vocoder = self._load()
        seconds = {"load": time.perf_counter() - t}
        warnings: list[str] = []
        if getattr(vocoder, "is_fallback", False):
            warnings.append("Vocos weights are not available here, so speech is decoded by the Griffin-Lim "
                            "fallback vocoder (buzzy). Put charactr/vocos-mel-24khz in the Hugging Face cache for "
                            "proper audio.")
        prompt = self._prompt(feats, warnings)
        t = time.perf_counter()
        audios, motions = [], []
        for i, piece in enumerate(split_text(spoken, self.config.piece_chars)):
            res = generate(model, prompt, piece, speed=speed, nfe_steps=nfe_steps, cfg_scale=cfg_scale,
                           seed=seed + i, vocoder=vocoder)
            audios.append(np.asarray(res.audio, dtype=np.float32))
            if res.motion is not None:
                motions.append(res.motion)
        seconds["generate"] = time.perf_counter() - t
        audio = _join(audios, 24000)
        motion = None
        if motions:  # pieces' frame counts are rounded: stretch the whole to the joined audio's frames
            full = np.concatenate(motions, 0)
            n = frames_for_audio(audio.size, 24000, int(VIDEO_FPS))
            src = np.linspace(0, full.shape[0] - 1, n)
            motion = np.stack([np.interp(src, np.arange(full.shape[0]), full[:, c]) for c in range(full.shape[1])], 1)
            motion = motion.astype(np.float32)
        label = f"{self.source} + {getattr(vocoder, 'label', type(vocoder).__name__)}"
        return NeuralSpeech(audio, 24000, motion, spoken, lang, label, warnings, seconds)

    def _prompt(self, feats, warnings: list[str]):
        from .infer import prompt_from_features

        limit = self.config.max_prompt_seconds
        dur = feats.frames / feats.fps
        if dur > limit + 0.5:
            warnings.append(f"The reference is {dur:.0f} s long; the whole clip is used as the voice prompt, "
                            f"which is slower than the recommended ≤ {limit:.0f} s. Trim the clip for faster runs.")
        return prompt_from_features(feats)


def _short(source: str) -> str:
    """The last two parts of a path or repo id: enough to recognise, no server paths shown."""
    return "/".join(Path(str(source)).parts[-2:])


def _join(pieces: list[np.ndarray], sample_rate: int, fade_s: float = 0.01) -> np.ndarray:
    """Concatenate with short fades at the seams (no clicks); a little silence between pieces."""
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    k = int(fade_s * sample_rate)
    gap = np.zeros(int(0.12 * sample_rate), dtype=np.float32)
    out = []
    for i, p in enumerate(pieces):
        p = p.copy()
        m = min(k, p.size)
        if i > 0 and m:
            p[:m] *= np.linspace(0, 1, m, dtype=np.float32)
        if i < len(pieces) - 1 and m:
            p[-m:] *= np.linspace(1, 0, m, dtype=np.float32)
        out.append(p)
        if i < len(pieces) - 1:
            out.append(gap)
    audio = np.concatenate(out)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * np.float32(0.99 / peak) if peak > 0.99 else audio
