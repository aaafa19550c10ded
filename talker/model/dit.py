"""The joint audio-visual DiT: a mel stream and a motion stream on one frame axis.

Both streams live at the mel frame rate (24 kHz / hop 256 = 93.75 fps). The 61-d motion code
(25 fps, :mod:`talker.motion.code`) is resampled up for the model and back down for rendering
with :func:`motion_to_mel_rate` / :func:`motion_to_video_rate`, so frame i of each stream
describes the same instant and one set of rotary positions and padding masks serves both.

Layout::

    time t ──> TimestepEmbedding ──────────────────────────────┐ (adaLN-zero everywhere)
    audio:  [x_mel | prompt_mel | text_a] -> InputEmbedding ─┐  │
    motion: [x_mot | prompt_mot | text_m] -> InputEmbedding ─┤  │
                                joint_depth x JointBlock (MM-DiT)
                     ┌─────────────────────────┴──────────────┐
          audio_depth x DiTBlock                  motion_depth x DiTBlock
          AdaLNFinal -> Linear -> mel velocity    AdaLNFinal -> Linear -> motion velocity

``motion_hears_audio`` (off by default, as in the paper) also feeds the motion stream the
audio frames of its own instants (noisy mel + mel prompt, standardised by the prompt's
statistics: :func:`heard_audio`). Joint attention must otherwise learn to find "the same
instant" through rotary positions: on synthetic data where the jaw *is* the mel's energy at the
same frame, ``tiny`` did not learn that in 1500 steps, and with this input it did in 100
(``scripts/probe_dit_alignment.py``).

With the motion stream disabled the joint blocks hold only the audio layer and the model is
F5-TTS's DiT, layer for layer (see :mod:`talker.model.f5_compat`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..audio import SAMPLE_RATE
from ..motion.code import FPS
from .config import HOP_LENGTH, ModelConfig
from .modules import (
    AdaLNFinal,
    DiTBlock,
    Drop,
    InputEmbedding,
    JointBlock,
    RotaryEmbedding,
    TextEmbedding,
    TimestepEmbedding,
    drop_where,
)

MEL_FPS = SAMPLE_RATE / HOP_LENGTH  # 93.75
VIDEO_FPS = float(FPS)  # 25.0


# --------------------------------------------------------------------------- frame-rate conversion


def _interp(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of (..., T, C) at fractional frame positions, clamped at the ends."""
    n = x.shape[-2]
    pos = pos.clamp(0, n - 1)
    lo = pos.floor().long().clamp(max=n - 1)
    hi = (lo + 1).clamp(max=n - 1)
    w = (pos - lo.to(pos.dtype)).unsqueeze(-1).to(x.dtype)
    return x[..., lo, :] * (1 - w) + x[..., hi, :] * w


def resample_frames(x, src_fps: float, dst_fps: float, n_out: int | None = None, antialias: bool = True):
    """Resample a (..., T, C) frame sequence; frame i of a sequence sits at time i / fps.

    Going down in rate, ``antialias`` averages the source over each output frame's period
    (box filter, 8 taps) so fast motion folds into the mean instead of aliasing. Accepts and
    returns numpy arrays or torch tensors.
    """
    is_np = isinstance(x, np.ndarray)
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        t = t.float()
    n_in = t.shape[-2]
    if n_out is None:
        n_out = max(1, int(round((n_in - 1) * dst_fps / src_fps)) + 1) if n_in else 0
    if n_in == 0 or n_out == 0:
        out = t.new_zeros(*t.shape[:-2], n_out, t.shape[-1])
    else:
        ratio = src_fps / dst_fps
        centres = torch.arange(n_out, dtype=torch.float64) * ratio
        if antialias and ratio > 1:
            taps = 8
            offs = (torch.arange(taps, dtype=torch.float64) + 0.5) / taps - 0.5
            pos = (centres[:, None] + offs[None, :] * ratio).flatten()
            out = _interp(t, pos.to(t.dtype if t.dtype == torch.float64 else torch.float32))
            out = out.unflatten(-2, (n_out, taps)).mean(dim=-2)
        else:
            out = _interp(t, centres.to(torch.float64 if t.dtype == torch.float64 else torch.float32))
    return out.numpy() if is_np else out


def mel_frames_for_video(n_video: int) -> int:
    """Mel frames (centred STFT) covering ``n_video`` frames of 25 fps audio: samples // hop + 1."""
    return int(n_video) * int(SAMPLE_RATE / VIDEO_FPS) // HOP_LENGTH + 1


def video_frames_for_mel(n_mel: int) -> int:
    return max(0, int(round((int(n_mel) - 1) * HOP_LENGTH * VIDEO_FPS / SAMPLE_RATE)))


def motion_to_mel_rate(motion, n_mel: int | None = None):
    """(…, T, 61) at 25 fps -> (…, n_mel, 61) at 93.75 fps (default length: the clip's mel frames)."""
    n = mel_frames_for_video(np.shape(motion)[-2]) if n_mel is None else n_mel
    return resample_frames(motion, VIDEO_FPS, MEL_FPS, n)


def motion_to_video_rate(motion, n_video: int | None = None, antialias: bool = True):
    """(…, N, 61) at 93.75 fps -> (…, n_video, 61) at 25 fps."""
    n = video_frames_for_mel(np.shape(motion)[-2]) if n_video is None else n_video
    return resample_frames(motion, MEL_FPS, VIDEO_FPS, n, antialias=antialias)


# --------------------------------------------------------------------------- model


def heard_audio(mel: torch.Tensor, mel_cond: torch.Tensor, time: torch.Tensor,
                mask: torch.Tensor | None = None, eps: float = 1e-2) -> torch.Tensor:
    """The mel the motion stream hears, standardised per item and band by its prompt's statistics.

    Log-mel level and spread differ by microphone and room far more than by how wide the mouth
    is; on the training clips a ridge regression from mel to jawOpen held out by clip reached
    r 0.07 on raw bands and 0.28 on per-clip standardised ones. The prompt frames (non-zero in
    ``mel_cond``) give mean and spread; the noisy sample is shifted by ``t`` times the mean,
    the part of it that is data. Items with no prompt (dropped for guidance) pass unchanged.
    """
    present = (mel_cond != 0).any(dim=-1)
    if mask is not None:
        present = present & mask
    w = present.unsqueeze(-1).to(mel_cond.dtype)
    count = w.sum(dim=1)  # (B, 1)
    mean = (mel_cond * w).sum(dim=1) / count.clamp(min=1)
    var = ((mel_cond - mean.unsqueeze(1)) ** 2 * w).sum(dim=1) / count.clamp(min=1)
    has = count > 1
    mean = torch.where(has, mean, torch.zeros_like(mean))
    std = torch.where(has, (var + eps).sqrt(), torch.ones_like(var))
    t = time.to(mel.dtype).view(-1, 1, 1)
    cond_n = (mel_cond - mean.unsqueeze(1)) / std.unsqueeze(1) * w
    mel_n = (mel - t * mean.unsqueeze(1)) / ((1 - t) + t * std.unsqueeze(1))
    return torch.cat((mel_n, cond_n), dim=-1)


class Velocity(NamedTuple):
    mel: torch.Tensor  # (B, N, mel_dim)
    motion: torch.Tensor | None  # (B, N, motion_dim) or None when the stream is off


class Stream(nn.Module):
    """Everything one modality owns outside the joint blocks."""

    def __init__(self, data_dim: int, depth: int, ff_mult: float, cfg: ModelConfig, extra_dim: int = 0) -> None:
        super().__init__()
        self.text_embed = TextEmbedding(cfg.text_num_embeds, cfg.text_dim, cfg.conv_layers, cfg.conv_mult,
                                        cfg.text_max_pos)
        self.input = InputEmbedding(data_dim, cfg.text_dim, cfg.dim, extra_dim)
        self.blocks = nn.ModuleList(
            DiTBlock(cfg.dim, cfg.heads, cfg.dim_head, ff_mult, cfg.dropout, cfg.attn_mask) for _ in range(depth)
        )
        self.norm_out = AdaLNFinal(cfg.dim)
        self.proj_out = nn.Linear(cfg.dim, data_dim)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def embed(self, x, cond, text, drop_cond: Drop, drop_text: Drop, mask, extra=None):
        seq_len = x.shape[1] if mask is None else mask.sum(dim=1)
        txt = self.text_embed(text, seq_len, drop=drop_text)
        if txt.shape[1] < x.shape[1]:  # per-sample lengths shorter than the padded batch
            txt = nn.functional.pad(txt, (0, 0, 0, x.shape[1] - txt.shape[1]))
        return self.input(x, cond, txt, drop_cond, mask, extra)

    def head(self, h, t):
        return self.proj_out(self.norm_out(h, t))


class TalkerDiT(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = cfg = config
        self.time_embed = TimestepEmbedding(cfg.dim)
        self.rotary = RotaryEmbedding(cfg.dim_head)
        self.audio = Stream(cfg.mel_dim, cfg.audio_depth, cfg.ff_mult, cfg)
        streams = {"audio": cfg.ff_mult}
        if cfg.motion_enabled:
            self.motion = Stream(cfg.motion_dim, cfg.motion_depth, cfg.motion_ff_mult, cfg,
                                 extra_dim=2 * cfg.mel_dim if cfg.motion_hears_audio else 0)
            streams["motion"] = cfg.motion_ff_mult
            # data statistics so the flow sees ~unit-variance motion; set by data prep, saved with weights
            self.register_buffer("motion_mean", torch.zeros(cfg.motion_dim))
            self.register_buffer("motion_std", torch.ones(cfg.motion_dim))
        else:
            self.motion = None
        self.joint_blocks = nn.ModuleList(
            JointBlock(streams, cfg.dim, cfg.heads, cfg.dim_head, cfg.dropout, cfg.attn_mask)
            for _ in range(cfg.joint_depth)
        )

    # ------------------------------------------------------------------ motion normalisation
    def normalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        return (motion - self.motion_mean) / self.motion_std

    def denormalize_motion(self, motion: torch.Tensor) -> torch.Tensor:
        return motion * self.motion_std + self.motion_mean

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        mel: torch.Tensor,
        mel_cond: torch.Tensor,
        text: torch.Tensor,
        time: torch.Tensor,
        motion: torch.Tensor | None = None,
        motion_cond: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        drop_audio_cond: Drop = False,
        drop_motion_cond: Drop = False,
        drop_text: Drop = False,
    ) -> Velocity:
        """Flow velocity of each stream.

        mel, mel_cond: (B, N, mel_dim) noisy sample and masked prompt; motion, motion_cond:
        (B, N, motion_dim) normalised, same N; text: (B, L) ids padded with -1; time: (B,) or
        scalar in [0, 1]; mask: (B, N) True on real frames (None = all). ``drop_*`` are bools
        or (B,) bool tensors for classifier-free guidance.
        """
        b, n = mel.shape[:2]
        if time.ndim == 0:
            time = time.repeat(b)
        t = self.time_embed(time)
        rope = self.rotary(n)
        xs = {"audio": self.audio.embed(mel, mel_cond, text, drop_audio_cond, drop_text, mask)}
        use_motion = self.motion is not None and motion is not None
        if use_motion:
            if motion.shape[:2] != (b, n):
                raise ValueError(f"motion {tuple(motion.shape)} must share batch and frames with mel {tuple(mel.shape)}")
            if motion_cond is None:
                motion_cond = torch.zeros_like(motion)
            heard = None
            if self.config.motion_hears_audio:  # the mel prompt is dropped with the audio prompt (CFG)
                heard = heard_audio(mel, drop_where(mel_cond, drop_audio_cond), time, mask)
            xs["motion"] = self.motion.embed(motion, motion_cond, text, drop_motion_cond, drop_text, mask, heard)
        for block in self.joint_blocks:
            xs = block(xs, t, mask, rope)
        h = xs["audio"]
        for block in self.audio.blocks:
            h = block(h, t, mask, rope)
        out_mel = self.audio.head(h, t)
        out_motion = None
        if use_motion:
            h = xs["motion"]
            for block in self.motion.blocks:
                h = block(h, t, mask, rope)
            out_motion = self.motion.head(h, t)
        return Velocity(out_mel, out_motion)

    # ------------------------------------------------------------------ bookkeeping
    def parameter_counts(self) -> dict[str, int]:
        """Total and per-stream parameter counts; the shared part is the timestep embedding."""
        counts = {"total": 0, "audio": 0, "motion": 0, "shared": 0}
        for name, p in self.named_parameters():
            k = p.numel()
            counts["total"] += k
            if name.startswith("audio.") or ".layers.audio." in name:
                counts["audio"] += k
            elif name.startswith("motion.") or ".layers.motion." in name:
                counts["motion"] += k
            else:
                counts["shared"] += k
        return counts


def build_model(config: ModelConfig | str, device: str | torch.device | None = None, **overrides) -> TalkerDiT:
    from .config import get_config

    cfg = get_config(config, **overrides) if isinstance(config, str) else (config.replace(**overrides) if overrides else config)
    if device is None:
        return TalkerDiT(cfg)
    with torch.device(device):
        return TalkerDiT(cfg)
