"""Conditional flow matching with infilling: the training objective of both streams.

Per item a contiguous span covering 70-100 % of the frames is hidden; what is left is the
prompt (same frames in both streams, so the prompt is a real audio-visual clip). The model
sees x_t = (1 - t) x0 + t x1 with x0 ~ N(0, I) and learns the velocity x1 - x0, scored only
inside the hidden span. Classifier-free-guidance dropout is per item: sometimes the prompts
alone are removed, sometimes text and prompts together (the unconditional case the sampler
uses for guidance).

With ``audio_given_prob`` > 0 some items see their whole mel as the audio condition and are
scored on motion only: the model also learns the audio-driven job (user speech in, face out),
which is infilling too, and which makes the audio-to-motion coupling of the joint blocks
testable long before the text-to-speech side is trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class CFMConfig:
    frac_lengths: tuple[float, float] = (0.7, 1.0)  # share of frames to infill
    audio_drop_prob: float = 0.3  # drop the mel prompt
    motion_drop_prob: float = 0.3  # drop the motion prompt
    cond_drop_prob: float = 0.2  # drop text and both prompts (unconditional)
    motion_weight: float = 1.0  # loss weight of the motion stream
    audio_given_prob: float = 0.0  # items whose whole mel is the condition (motion-only loss)


def lens_to_mask(lens: torch.Tensor, length: int | None = None) -> torch.Tensor:
    length = int(lens.max()) if length is None else length
    return torch.arange(length, device=lens.device)[None] < lens[:, None]


def span_mask(lens: torch.Tensor, frac: torch.Tensor, length: int | None = None,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, N) True on one random contiguous span of ``frac * len`` frames inside each item."""
    span = (frac * lens).long()
    start = (torch.rand(lens.shape, generator=generator, device=lens.device) * (lens - span)).long().clamp(min=0)
    frames = torch.arange(int(lens.max()) if length is None else length, device=lens.device)[None]
    return (frames >= start[:, None]) & (frames < (start + span)[:, None])


def infill_mask(lens: torch.Tensor, frac_range: tuple[float, float] = (0.7, 1.0), length: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    lo, hi = frac_range
    frac = lo + (hi - lo) * torch.rand(lens.shape, generator=generator, device=lens.device)
    return span_mask(lens, frac, length, generator) & lens_to_mask(lens, length)


def cfg_dropout(batch: int, cfg: CFMConfig, device=None, generator: torch.Generator | None = None):
    """Per-item drop flags (audio prompt, motion prompt, text); 'uncond' items drop all three."""
    r = torch.rand(4, batch, generator=generator, device=device)
    uncond = r[0] < cfg.cond_drop_prob
    return uncond | (r[1] < cfg.audio_drop_prob), uncond | (r[2] < cfg.motion_drop_prob), uncond


def flow_matching_loss(
    model,
    mel: torch.Tensor,
    text: torch.Tensor,
    *,
    motion: torch.Tensor | None = None,
    lens: torch.Tensor | None = None,
    motion_valid: torch.Tensor | None = None,
    cfg: CFMConfig | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Loss for one batch; returns ``loss`` (to backprop), ``audio``, ``motion`` and the span mask.

    mel: (B, N, mel_dim) log-mel; motion: (B, N, motion_dim) already normalised and at the mel
    frame rate; lens: (B,) real frames; motion_valid: (B,) False for items without tracked
    motion (audio-only data), which then train only the audio stream.
    """
    cfg = cfg or CFMConfig()
    b, n = mel.shape[:2]
    device = mel.device
    lens = torch.full((b,), n, device=device, dtype=torch.long) if lens is None else lens.to(device)
    mask = lens_to_mask(lens, n)
    span = infill_mask(lens, cfg.frac_lengths, n, generator)
    use_motion = motion is not None and getattr(model, "motion", None) is not None

    def noisy(x1):
        x0 = torch.randn(x1.shape, generator=generator, device=device, dtype=x1.dtype)
        return x0, x1

    t = torch.rand(b, generator=generator, device=device, dtype=mel.dtype)
    tt = t[:, None, None]
    x0, x1 = noisy(mel)
    mel_t, mel_flow = (1 - tt) * x0 + tt * x1, x1 - x0
    given = torch.zeros(b, dtype=torch.bool, device=device)
    if use_motion and cfg.audio_given_prob > 0:
        given = torch.rand(b, generator=generator, device=device) < cfg.audio_given_prob
    mel_span = span & ~given[:, None]
    mel_cond = mel.masked_fill(mel_span.unsqueeze(-1), 0.0)
    mot_t = mot_cond = mot_flow = None
    if use_motion:
        m0, m1 = noisy(motion)
        mot_t, mot_flow = (1 - tt) * m0 + tt * m1, m1 - m0
        mot_cond = motion.masked_fill(span.unsqueeze(-1), 0.0)
    drop_audio, drop_motion, drop_text = cfg_dropout(b, cfg, device, generator)
    drop_audio = drop_audio & ~given  # the given speech is the point of those items

    out = model(mel_t, mel_cond, text, t, motion=mot_t, motion_cond=mot_cond, mask=mask,
                drop_audio_cond=drop_audio, drop_motion_cond=drop_motion, drop_text=drop_text)
    per_mel = F.mse_loss(out.mel, mel_flow, reduction="none")[mel_span]
    audio_loss = per_mel.mean() if per_mel.numel() else out.mel.sum() * 0.0
    result = {"audio": audio_loss, "span": span, "t": t, "audio_given": given}
    loss = audio_loss
    if use_motion:
        m_span = span if motion_valid is None else span & motion_valid.to(device)[:, None]
        per = F.mse_loss(out.motion, mot_flow, reduction="none")[m_span]
        motion_loss = per.mean() if per.numel() else out.motion.sum() * 0.0
        result["motion"] = motion_loss
        loss = loss + cfg.motion_weight * motion_loss
    result["loss"] = loss
    return result
