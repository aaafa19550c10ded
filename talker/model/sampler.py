"""Sampling by integrating the learned flow from noise (t=0) to data (t=1).

Everything here is a pure function: no module state, randomness only through an explicit
``torch.Generator`` or seed, so the same inputs give the same outputs and each piece (time
grid, guidance, ODE step) can be tested with exact numbers.

Defaults follow F5-TTS inference: 32 function evaluations, Euler steps, sway coefficient -1
(more steps early, where the coarse structure is decided), guidance scale 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

State = tuple[torch.Tensor, ...]  # one tensor per stream (mel, motion)
VelocityFn = Callable[[torch.Tensor, State], State]

# Empirically pruned step sampling (F5-TTS v1): hand-picked grids on 1/32 steps for low NFE
_EPSS = {
    5: (0, 2, 4, 8, 16, 32),
    6: (0, 2, 4, 6, 8, 16, 32),
    7: (0, 2, 4, 6, 8, 16, 24, 32),
    10: (0, 2, 4, 6, 8, 12, 16, 20, 24, 28, 32),
    12: (0, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32),
    16: (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32),
}


def sway(t: torch.Tensor, coef: float) -> torch.Tensor:
    """Sway sampling: t + s (cos(pi t / 2) - 1 + t). s < 0 packs steps near t=0; ends stay fixed."""
    return t + coef * (torch.cos(math.pi / 2 * t) - 1 + t)


def time_grid(nfe_steps: int, sway_coef: float | None = -1.0, epss: bool = False,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``nfe_steps + 1`` increasing times from 0 to 1 (uniform, or EPSS for the few step counts it defines)."""
    if nfe_steps < 1:
        raise ValueError("nfe_steps must be >= 1")
    if epss and nfe_steps in _EPSS:
        t = torch.tensor(_EPSS[nfe_steps], dtype=torch.float64) / 32
    else:
        t = torch.linspace(0, 1, nfe_steps + 1, dtype=torch.float64)
    if sway_coef is not None and sway_coef != 0:
        t = sway(t, sway_coef)
    return t.to(dtype)


def cfg_combine(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: cond + scale (cond - uncond); scale 0 is the plain conditional."""
    return cond + (cond - uncond) * scale


def _axpy(x: State, a: float | torch.Tensor, v: State) -> State:
    return tuple(xi + a * vi for xi, vi in zip(x, v, strict=True))


def euler_step(fn: VelocityFn, t0: torch.Tensor, t1: torch.Tensor, x: State) -> State:
    return _axpy(x, t1 - t0, fn(t0, x))


def midpoint_step(fn: VelocityFn, t0: torch.Tensor, t1: torch.Tensor, x: State) -> State:
    """Second order: the velocity at the half step decides the whole step (2 evaluations)."""
    dt = t1 - t0
    half = _axpy(x, dt / 2, fn(t0, x))
    return _axpy(x, dt, fn(t0 + dt / 2, half))


STEPPERS = {"euler": euler_step, "midpoint": midpoint_step}


def integrate(fn: VelocityFn, x0: State, ts: torch.Tensor, method: str = "euler",
              trajectory: bool = False) -> State | list[State]:
    """Fixed-grid ODE solve of dx/dt = fn(t, x) over ``ts``; the last state (or all of them)."""
    try:
        step = STEPPERS[method]
    except KeyError:
        raise ValueError(f"unknown ODE method {method!r}; use one of {', '.join(STEPPERS)}") from None
    x = tuple(x0)
    states = [x]
    for t0, t1 in zip(ts[:-1], ts[1:], strict=True):
        x = step(fn, t0, t1, x)
        if trajectory:
            states.append(x)
    return states if trajectory else x


def estimate_duration(ref_frames: int, ref_text: str, gen_text: str, speed: float = 1.0) -> int:
    """Total frames (prompt + new) from the text-length ratio, as F5-TTS does.

    The reference says how many frames its text took; new text of a given UTF-8 byte length
    gets the same rate (bytes weigh a Chinese character ~3 letters, roughly its spoken length).
    ``speed`` > 1 speaks faster.
    """
    if speed <= 0:
        raise ValueError("speed must be > 0")
    ref_len = max(1, len(ref_text.encode("utf-8")))
    gen_len = len(gen_text.encode("utf-8"))
    return int(ref_frames) + int(ref_frames / ref_len * gen_len / speed)


def guided_velocity(model, text: torch.Tensor, conds: Sequence[torch.Tensor], mask: torch.Tensor | None,
                    cfg_scale: float, with_motion: bool, dtype: torch.dtype) -> VelocityFn:
    """The model's velocity as the ODE's right-hand side, for :func:`integrate`.

    ``conds`` are the prompts (mel, and motion when ``with_motion``), zero outside them. With
    ``cfg_scale`` > 1e-5 the conditional pass and the unconditional one (audio, motion and text
    dropped) run as one batch of 2B and are combined by :func:`cfg_combine`.
    """
    b = conds[0].shape[0]
    device = conds[0].device
    guided = cfg_scale > 1e-5
    text_in = torch.cat([text, text]) if guided else text
    conds_in = tuple(torch.cat([c, c]) for c in conds) if guided else tuple(conds)
    mask_in = (torch.cat([mask, mask]) if mask is not None else None) if guided else mask
    drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)]).to(device) if guided else False

    def velocity(t, x):
        xin = tuple(torch.cat([xi, xi]) for xi in x) if guided else x
        out = model(
            xin[0], conds_in[0], text_in, t.to(dtype).expand(xin[0].shape[0]),
            motion=xin[1] if with_motion else None, motion_cond=conds_in[1] if with_motion else None,
            mask=mask_in, drop_audio_cond=drop, drop_motion_cond=drop, drop_text=drop,
        )
        v = (out.mel, out.motion) if with_motion else (out.mel,)
        if not guided:
            return v
        return tuple(cfg_combine(vi[:b], vi[b:], cfg_scale) for vi in v)

    return velocity


@torch.no_grad()
def sample(
    model,
    text: torch.Tensor,
    mel_prompt: torch.Tensor,
    duration: int | Sequence[int] | torch.Tensor,
    *,
    motion_prompt: torch.Tensor | None = None,
    prompt_lens: torch.Tensor | None = None,
    motion_prompt_lens: torch.Tensor | None = None,
    nfe_steps: int = 32,
    cfg_scale: float = 2.0,
    sway_coef: float | None = -1.0,
    method: str = "euler",
    epss: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    max_duration: int = 65536,
):
    """Generate mel (and motion) continuing the prompts; returns (mel, motion, lens).

    mel_prompt: (B, P, mel_dim); motion_prompt: (B, P, motion_dim) normalised, or None for an
    audio-only model or call; prompt_lens: (B,) real prompt frames (default P); duration: total
    frames per item including the prompt. Outputs are (B, max duration, dim) with the prompt
    frames copied back in; ``lens`` gives each item's length. ``model`` is only called, never
    changed, so put it in eval mode first (dropout).
    """
    device = mel_prompt.device
    dtype = mel_prompt.dtype
    b, p = mel_prompt.shape[:2]
    lens = torch.full((b,), p, dtype=torch.long, device=device) if prompt_lens is None else prompt_lens.to(device)
    dur = torch.as_tensor(duration, dtype=torch.long, device=device)
    dur = dur.expand(b) if dur.ndim == 0 else dur
    text = text.to(device)
    with_motion = motion_prompt is not None and getattr(model, "motion", None) is not None
    mot_lens = lens
    if with_motion:
        own = torch.full((b,), motion_prompt.shape[1], dtype=torch.long, device=device)
        mot_lens = torch.minimum(lens, own if motion_prompt_lens is None else motion_prompt_lens.to(device))
    # at least one new frame, and never fewer frames than text tokens (F5's rule)
    dur = torch.maximum(torch.maximum((text != -1).sum(dim=-1), mot_lens) + 1, dur).clamp(max=max_duration)
    n = int(dur.max())
    frame = torch.arange(n, device=device)
    prompt_mask = (frame[None] < lens[:, None]).unsqueeze(-1)
    masks = [prompt_mask]
    mask = (frame[None] < dur[:, None]) if b > 1 else None  # F5 skips the mask for one item

    def pad(x):
        return torch.nn.functional.pad(x, (0, 0, 0, n - x.shape[1])) if x.shape[1] < n else x[:, :n]

    conds = [pad(mel_prompt).masked_fill(~prompt_mask, 0.0)]
    if with_motion:
        masks.append((frame[None] < mot_lens[:, None]).unsqueeze(-1))
        conds.append(pad(motion_prompt.to(dtype)).masked_fill(~masks[1], 0.0))

    if generator is None:
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed) if seed is not None else int(torch.seed() % (2**63)))
    x0 = tuple(torch.randn(c.shape, generator=generator, device=device, dtype=dtype) for c in conds)
    if mask is not None:
        x0 = tuple(x.masked_fill(~mask.unsqueeze(-1), 0.0) for x in x0)

    velocity = guided_velocity(model, text, conds, mask, cfg_scale, with_motion, dtype)
    ts = time_grid(nfe_steps, sway_coef, epss, dtype=torch.float32).to(device)
    x1 = integrate(velocity, x0, ts, method)
    outs = [torch.where(m, c, xi) for m, c, xi in zip(masks, conds, x1, strict=True)]
    return outs[0], (outs[1] if with_motion else None), dur
