"""The neural engine: a trained checkpoint speaking new text in the reference's voice (and face).

Two kinds of checkpoint drive it:
- a talker DiT with a motion stream (``talker.train``): mel and 61-d motion come out together,
  so voice, lips and style are one sample; the motion goes to the shared renderer;
- an audio-only model (the public F5-TTS v1 Base, or a talker DiT trained without motion):
  zero-shot voice cloning; the pipeline then aligns the words in the new speech and the offline
  motion generator makes the face.
The reference's own audio, motion and transcript are the in-context prompt. Long text is spoken
piece by piece (each piece prompted by the reference), joined with short fades.

With the user's own speech (audio mode) a joint checkpoint can also make the face alone: the
speech's mel is given whole and only the motion is sampled (``animate``; checkpoints trained
with ``--audio-given`` learned this job, others are only used for it when asked explicitly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..errors import InputError, ModelUnavailableError
from ..motion.base import Motion, MotionGenerator
from ..motion.code import stretch
from ..speech.contract import Speech


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
        model = self._load_model()
        if self._vocoder is None:
            from .vocoder import load_vocoder

            self._vocoder = load_vocoder(self.config.vocoder, allow_fallback=True, device=self.device)
        return model, self._vocoder

    def _load_model(self):
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
        return self._model

    def speak(self, feats, text: str, *, language: str | None = None, speed: float = 1.0, seed: int = 0,
              nfe_steps: int, cfg_scale: float, max_chars: int) -> Speech:
        """The text in the reference's voice (its clip is the prompt), with the face sampled jointly
        when the checkpoint has a motion stream (``Speech.motion``, else None)."""
        from ..speech.base import prepare_text
        from ..text.split import split_text
        from .infer import generate

        if feats.audio is None or feats.kind != "video":
            raise InputError("The neural engine needs a reference clip with speech: its voice is the prompt.",
                             "Use a video reference in which the person speaks, or the offline engine for photos.")
        spoken, lang, warnings = prepare_text(text, language, speed, max_chars)
        model, vocoder = self._load()
        if getattr(vocoder, "is_fallback", False):
            warnings.append("Vocos weights are not available here, so speech is decoded by the Griffin-Lim "
                            "fallback vocoder (buzzy). Put charactr/vocos-mel-24khz in the Hugging Face cache for "
                            "proper audio.")
        prompt = self._prompt(feats, warnings)
        pieces = [generate(model, prompt, piece, speed=speed, nfe_steps=nfe_steps, cfg_scale=cfg_scale,
                           seed=seed + i, vocoder=vocoder)
                  for i, piece in enumerate(split_text(spoken, self.config.piece_chars))]
        audio, motion = _join([np.asarray(p.audio, dtype=np.float32) for p in pieces],
                              [p.motion for p in pieces] if pieces and pieces[0].motion is not None else None)
        label = f"{self.source} + {getattr(vocoder, 'label', type(vocoder).__name__)}"
        return Speech(audio, SAMPLE_RATE, [], spoken, lang, label, warnings, motion, source="neural")

    @property
    def audio_driven(self) -> bool:
        """Whether the checkpoint was trained for the audio-driven job (and has a motion stream)."""
        model = self._load_model()  # the speech is given: no vocoder needed
        info = getattr(model, "info", {}) or {}
        return getattr(model, "motion", None) is not None and float(info.get("audio_given") or 0) > 0

    def animate(self, feats, audio: np.ndarray, sample_rate: int, text: str, *, num_frames: int, seed: int = 0,
                nfe_steps: int, cfg_scale: float, chunk_seconds: float = 15.0
                ) -> tuple[np.ndarray | None, str, list[str]]:
        """Motion (``num_frames`` at 25 fps) for the given speech: (motion or None, label, warnings).

        None with a warning when the checkpoint has no motion stream. Speech longer than
        ``chunk_seconds`` is animated chunk by chunk (each prompted by the reference), because
        attention cost grows with the square of the length.
        """
        from ..audio.resample import resample
        from .infer import animate

        if feats.audio is None or feats.kind != "video" or feats.motion is None:
            raise InputError("The neural engine needs a reference clip with speech: its voice and face are the prompt.",
                             "Use a video reference in which the person speaks, or the offline engine for photos.")
        model = self._load_model()
        warnings: list[str] = []
        if getattr(model, "motion", None) is None:
            warnings.append(f"{self.source} has no motion stream, so the offline motion generator drives the face.")
            return None, "", warnings
        prompt = self._prompt(feats, warnings)
        wav = resample(np.asarray(audio, dtype=np.float32), sample_rate, SAMPLE_RATE)
        step = int(chunk_seconds * SAMPLE_RATE)
        chunks = [wav[i: i + step] for i in range(0, max(wav.size, 1), step)]
        motions = [animate(model, prompt, c, text if len(chunks) == 1 else "", nfe_steps=nfe_steps,
                           cfg_scale=cfg_scale, seed=seed + i).motion for i, c in enumerate(chunks)]
        motion = stretch(np.concatenate(motions), num_frames)
        return motion.astype(np.float32), f"{self.source}, motion from the given speech", warnings

    def _prompt(self, feats, warnings: list[str]):
        from .infer import prompt_from_features

        limit = self.config.max_prompt_seconds
        dur = feats.frames / feats.fps
        if dur > limit + 0.5:
            warnings.append(f"The reference is {dur:.0f} s long; the whole clip is used as the voice prompt, "
                            f"which is slower than the recommended ≤ {limit:.0f} s. Trim the clip for faster runs.")
        return prompt_from_features(feats)


class NeuralMotion:
    """The motion stage over the joint model: the face for given speech (``NeuralEngine.animate``).
    A checkpoint without a motion stream hands the job to ``fallback`` (with a warning)."""

    def __init__(self, engine: NeuralEngine, fallback: MotionGenerator, *, nfe_steps: int, cfg_scale: float) -> None:
        self.engine, self.fallback = engine, fallback
        self.nfe_steps, self.cfg_scale = nfe_steps, cfg_scale
        self.name = "neural DiT"

    def generate(self, speech: Speech, reference, *, num_frames: int, seed: int = 0, controls=None) -> Motion:
        """``controls``' blink rate is not the joint model's to change (its blinks are sampled with
        the face); the pipeline applies the other controls to these codes as to any."""
        codes, label, warnings = self.engine.animate(reference, speech.audio, speech.sample_rate, speech.text,
                                                     num_frames=num_frames, seed=seed, nfe_steps=self.nfe_steps,
                                                     cfg_scale=self.cfg_scale)
        if codes is None:
            motion = self.fallback.generate(speech, reference, num_frames=num_frames, seed=seed, controls=controls)
            motion.warnings[:0] = warnings
            return motion
        return Motion(codes, f"{self.name} ({label})", warnings, neural=True)


def _short(source: str) -> str:
    """The last two parts of a path or repo id: enough to recognise, no server paths shown."""
    return "/".join(Path(str(source)).parts[-2:])


def _join(audios: list[np.ndarray], motions: list[np.ndarray] | None, fade_s: float = 0.01, gap_s: float = 0.12
          ) -> tuple[np.ndarray, np.ndarray | None]:
    """Pieces end to end with short fades (no clicks) and a little silence between them; each
    piece's motion is stretched to its own audio and held through the silence after it, so the
    face stays on the words. Nothing is trimmed (that would shift the motion against the audio).
    Returns (audio, motion with exactly ``frames_for_audio(len(audio))`` frames, or None)."""
    from ..audio.join import join_with_fades, limit_peak
    from ..video.encode import frames_for_audio
    from .dit import VIDEO_FPS

    fps = int(VIDEO_FPS)
    gap = int(gap_s * SAMPLE_RATE)
    audio, _ = join_with_fades(audios, [gap] * (len(audios) - 1), int(fade_s * SAMPLE_RATE))
    audio = limit_peak(audio)
    if not motions:
        return audio, None
    parts, done = [], 0
    for i, (a, mo) in enumerate(zip(audios, motions, strict=True)):
        end = done + a.size + (gap if i < len(audios) - 1 else 0)
        want = frames_for_audio(end, SAMPLE_RATE, fps) - frames_for_audio(done, SAMPLE_RATE, fps)
        speech = min(want, max(1, round(a.size * fps / SAMPLE_RATE)))
        stretched = stretch(mo, speech)
        parts += [stretched, np.repeat(stretched[-1:], want - speech, 0)]
        done = end
    return audio, np.concatenate(parts).astype(np.float32)
