"""Inference with the audio-visual DiT: a reference clip + new text -> mel, 25 fps motion, audio.

The reference's own mel and motion are the prompt (the model continues that voice and that
face), its transcript is prepended to the new text as F5-TTS does, and the total length comes
from :func:`~talker.model.sampler.estimate_duration` unless given. Only the new part is
returned; ``keep_prompt`` returns prompt + continuation for inspection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..audio import SAMPLE_RATE
from .dit import MEL_FPS, VIDEO_FPS, motion_to_mel_rate, motion_to_video_rate
from .sampler import estimate_duration, sample
from .text import encode_batch, load_vocab


@dataclass
class Prompt:
    mel: torch.Tensor  # (P, 100) log-mel
    motion: torch.Tensor | None  # (P, 61) raw (not normalised) at the mel rate, or None
    text: str
    video_frames: int  # 25 fps frames the prompt spans

    @property
    def frames(self) -> int:
        return int(self.mel.shape[0])


@dataclass
class InferenceResult:
    mel: torch.Tensor  # (N, 100) generated log-mel, prompt excluded
    motion: np.ndarray | None  # (T, 61) at 25 fps, raw units, prompt excluded
    audio: np.ndarray | None  # 24 kHz mono of the new part when a vocoder was given
    sample_rate: int
    prompt_frames: int  # mel frames of the prompt
    total_frames: int  # mel frames of prompt + new part, as sampled
    vocoder: str = ""
    info: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.mel.shape[0] / MEL_FPS


def prompt_from_arrays(audio: np.ndarray, motion: np.ndarray | None, text: str) -> Prompt:
    """A prompt from 24 kHz audio and its 25 fps motion (the audio is cut to whole video frames)."""
    from .vocoder import mel_spectrogram

    n_video = int(motion.shape[0]) if motion is not None else int(len(audio) * VIDEO_FPS // SAMPLE_RATE)
    audio = np.asarray(audio, dtype=np.float32)[: n_video * 960]
    mel = mel_spectrogram(torch.from_numpy(np.ascontiguousarray(audio))).T.contiguous()
    mot = None
    if motion is not None:
        mot = motion_to_mel_rate(torch.as_tensor(np.asarray(motion), dtype=torch.float32), mel.shape[0])
    return Prompt(mel, mot, text, n_video)


def prompt_from_features(feats) -> Prompt:
    """The whole analysed reference (``ReferenceFeatures``) as the prompt."""
    if feats.audio is None:
        raise ValueError(f"reference '{feats.source}' has no audio: the DiT needs the voice as its prompt")
    return prompt_from_arrays(feats.audio, feats.motion, feats.transcript)


def _join(ref_text: str, gen_text: str) -> str:
    ref_text = ref_text.strip()
    if ref_text and ref_text[-1].isascii():
        ref_text += " "  # F5 pads an ASCII-ending reference text so words do not run together
    return ref_text + gen_text.strip()


@torch.no_grad()
def generate(model, prompt: Prompt, text: str, *, duration_frames: int | None = None, speed: float = 1.0,
             nfe_steps: int = 32, cfg_scale: float = 2.0, sway_coef: float | None = -1.0, seed: int | None = 0,
             vocoder=None, keep_prompt: bool = False, motion_after_speech: bool = False) -> InferenceResult:
    """Continue ``prompt`` saying ``text``.

    ``duration_frames`` is the number of NEW mel frames (default: estimated from the text
    length ratio); the model is used as given, so pass the EMA weights in eval mode.
    ``motion_after_speech`` samples the motion a second time with the finished speech as its
    audio condition (as :func:`animate` does), for checkpoints trained with ``audio_given_prob``
    whose jointly sampled motion follows its own speech less than audio-driven motion does.
    """
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    cfg = model.config
    vocab = load_vocab(cfg.vocab or None)
    p = prompt.frames
    if duration_frames is None:
        total = estimate_duration(p, prompt.text, text, speed)
    else:
        total = p + int(duration_frames)
    ids = encode_batch([_join(prompt.text, text)], vocab).to(device)
    mel_prompt = prompt.mel.to(device, dtype)[None]
    use_motion = getattr(model, "motion", None) is not None and prompt.motion is not None
    mot_prompt = model.normalize_motion(prompt.motion.to(device, dtype))[None] if use_motion else None
    mel, mot, lens = sample(model, ids, mel_prompt, total, motion_prompt=mot_prompt, nfe_steps=nfe_steps,
                            cfg_scale=cfg_scale, sway_coef=sway_coef, seed=seed)
    n = int(lens[0])
    start = 0 if keep_prompt else p
    mel_out = mel[0, start:n].float().cpu()
    motion_out = None
    n_video = int(round(n / MEL_FPS * VIDEO_FPS))
    if mot is not None and motion_after_speech:
        mot = _motion_for_mel(model, prompt, mel[0, p:n], _join(prompt.text, text), nfe_steps, cfg_scale,
                              sway_coef, seed)[None]
    if mot is not None:
        motion_out = _video_motion(model, mot[0, :n], n_video, prompt, keep_prompt)
    audio, label = None, ""
    if vocoder is not None:
        audio = vocoder.decode(mel_out.T[None]).squeeze().float().cpu().numpy()
        label = getattr(vocoder, "label", type(vocoder).__name__)
    info = {"nfe_steps": nfe_steps, "cfg_scale": cfg_scale, "seed": seed, "text": text,
            "estimated": duration_frames is None, "motion_after_speech": bool(motion_after_speech and mot is not None)}
    return InferenceResult(mel_out, motion_out, audio, SAMPLE_RATE, p, n, label, info)


def _video_motion(model, mot: torch.Tensor, n_video: int, prompt: Prompt, keep_prompt: bool) -> np.ndarray:
    """Sampled (normalised, mel-rate) motion -> raw 25 fps, the prompt's frames dropped unless kept."""
    video = motion_to_video_rate(model.denormalize_motion(mot).float().cpu(), n_video).numpy()
    return video if keep_prompt else video[min(prompt.video_frames, n_video):]


@torch.no_grad()
def animate(model, prompt: Prompt, audio: np.ndarray, text: str = "", *, nfe_steps: int = 32,
            cfg_scale: float = 2.0, sway_coef: float | None = -1.0, seed: int | None = 0,
            keep_prompt: bool = False) -> InferenceResult:
    """Motion for given speech (24 kHz): the audio-driven use of the joint model.

    The prompt's mel followed by the new speech's mel is the whole audio condition and only the
    motion after the prompt is sampled (training with ``CFMConfig.audio_given_prob`` teaches
    this). ``text`` is what the speech says, when known. The result has one motion row per
    25 fps frame of ``audio``; its mel is the given one.
    """
    if getattr(model, "motion", None) is None or prompt.motion is None:
        raise ValueError("animate needs a model with a motion stream and a prompt with motion")
    from .vocoder import mel_spectrogram

    audio = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    new_video = int(round(len(audio) * VIDEO_FPS / SAMPLE_RATE))
    new_mel = mel_spectrogram(torch.from_numpy(audio)).T
    mot = _motion_for_mel(model, prompt, new_mel, _join(prompt.text, text), nfe_steps, cfg_scale, sway_coef, seed)
    motion = _video_motion(model, mot, prompt.video_frames + new_video, prompt, keep_prompt)
    info = {"nfe_steps": nfe_steps, "cfg_scale": cfg_scale, "seed": seed, "text": text, "audio_given": True}
    return InferenceResult(new_mel.float(), motion, audio, SAMPLE_RATE, prompt.frames,
                           prompt.frames + int(new_mel.shape[0]), "", info)


def _motion_for_mel(model, prompt: Prompt, new_mel: torch.Tensor, full_text: str, nfe_steps: int, cfg_scale: float,
                    sway_coef: float | None, seed: int | None) -> torch.Tensor:
    """Normalised mel-rate motion (prompt + new part) sampled with prompt + ``new_mel`` as the whole audio condition."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    mel_all = torch.cat([prompt.mel.to(device, dtype), new_mel.to(device, dtype)])
    total = int(mel_all.shape[0])
    ids = encode_batch([full_text], load_vocab(model.config.vocab or None)).to(device)
    mot_prompt = model.normalize_motion(prompt.motion.to(device, dtype))[None]
    _, mot, _ = sample(model, ids, mel_all[None], total, motion_prompt=mot_prompt, nfe_steps=nfe_steps,
                       cfg_scale=cfg_scale, sway_coef=sway_coef, seed=seed)
    return mot[0, :total]
