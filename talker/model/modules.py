"""Building blocks of the audio-visual DiT.

The numerics deliberately follow F5-TTS v1 (layer-norm epsilons, tanh-GELU MLPs, interleaved
rotary pairs, sinusoid scale 1000, output zeroing at padding) because the audio stream must
reproduce its DiT exactly when loaded with its weights; the layout of parameters is our own and
:mod:`talker.model.f5_compat` translates the key names.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Drop = bool | torch.Tensor  # a batch-wide flag or a (B,) bool tensor (per-sample CFG dropout)


def drop_where(x: torch.Tensor, drop: Drop) -> torch.Tensor:
    """Zero ``x`` (B, ...) where ``drop`` says so; a Python bool avoids any work when False."""
    if isinstance(drop, bool):
        return torch.zeros_like(x) if drop else x
    keep = (~drop.to(device=x.device, dtype=torch.bool)).view(-1, *([1] * (x.dim() - 1)))
    return x * keep.to(x.dtype)


# --------------------------------------------------------------------------- time


class TimestepEmbedding(nn.Module):
    """Flow time t in [0, 1] -> conditioning vector; sinusoids at scale 1000 as in DiT/F5."""

    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def sinusoids(self, t: torch.Tensor, scale: float = 1000.0) -> torch.Tensor:
        half = self.freq_dim // 2
        rate = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device).float() * -rate)
        arg = scale * t.unsqueeze(1) * freqs.unsqueeze(0)
        return torch.cat((arg.sin(), arg.cos()), dim=-1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.sinusoids(t).to(t.dtype))


# --------------------------------------------------------------------------- text


def sinusoid_table(dim: int, length: int, theta: float = 10000.0) -> torch.Tensor:
    """(length, dim) absolute positions as [cos | sin] halves, added to text embeddings."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
    angles = torch.outer(torch.arange(length).float(), freqs)
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class GRN(nn.Module):
    """Global response normalisation (ConvNeXt-V2): rescales channels by their share of energy."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.norm(x, p=2, dim=1, keepdim=True)
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * n) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    def __init__(self, dim: int, hidden: int, kernel: int = 7) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, hidden)
        self.grn = GRN(hidden)
        self.pw2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x.transpose(1, 2)).transpose(1, 2)
        y = self.pw2(self.grn(F.gelu(self.pw1(self.norm(y)))))
        return x + y


class TextEmbedding(nn.Module):
    """Token ids (B, L), padded with -1 -> (B, N, text_dim) on the frame axis.

    The text is padded (or cut) to the frame count and refined by ConvNeXt-V2 blocks, so the
    transformer sees one text vector per frame without any explicit alignment: it learns where
    each token falls. Row 0 is the filler for padding; filler positions stay zero.
    """

    def __init__(self, num_embeds: int, dim: int, conv_layers: int = 4, conv_mult: int = 2, max_pos: int = 8192) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_embeds + 1, dim)
        self.max_pos = max_pos
        self.blocks = nn.ModuleList(ConvNeXtV2Block(dim, dim * conv_mult) for _ in range(conv_layers))
        self.register_buffer("positions", sinusoid_table(dim, max_pos), persistent=False)

    def reset_buffers(self) -> None:
        self.positions = sinusoid_table(self.embed.embedding_dim, self.max_pos)

    def forward(self, text: torch.Tensor, seq_len: int | torch.Tensor, drop: Drop = False) -> torch.Tensor:
        ids = text + 1
        lens = None
        if torch.is_tensor(seq_len):
            lens = seq_len.to(device=ids.device, dtype=torch.long)
            n = int(lens.max().item())
        else:
            n = int(seq_len)
        ids = ids[:, :n]
        ids = F.pad(ids, (0, n - ids.shape[1]), value=0)
        valid = None
        if lens is not None:
            valid = torch.arange(n, device=ids.device).unsqueeze(0) < lens.unsqueeze(1)
            ids = ids.masked_fill(~valid, 0)
        filler = (ids == 0).unsqueeze(-1)
        if isinstance(drop, bool):
            if drop:
                ids = torch.zeros_like(ids)
        else:
            ids = ids.masked_fill(drop.to(ids.device).view(-1, 1), 0)
        x = self.embed(ids)
        if valid is not None:
            x = x.masked_fill(~valid.unsqueeze(-1), 0.0)
        if len(self.blocks):
            pos = self.positions[:n] if n <= self.max_pos else self.positions[
                torch.arange(n, device=ids.device).clamp(max=self.max_pos - 1)]
            if valid is not None:
                pos = pos.unsqueeze(0) * valid.unsqueeze(-1).to(pos.dtype)
            x = (x + pos).masked_fill(filler, 0.0)
            for block in self.blocks:
                x = block(x).masked_fill(filler, 0.0)
        return x


# --------------------------------------------------------------------------- inputs


class ConvPositionEmbedding(nn.Module):
    """Two grouped wide convolutions: local relative position on top of rotary attention."""

    def __init__(self, dim: int, kernel: int = 31, groups: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
        self.conv2 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = x.transpose(1, 2)
        m = None if mask is None else ~mask.unsqueeze(1)
        if m is not None:
            h = h.masked_fill(m, 0.0)
        h = self.conv1(h)
        if m is not None:
            h = h.masked_fill(m, 0.0)
        h = self.conv2(F.mish(h))
        if m is not None:
            h = h.masked_fill(m, 0.0)
        return F.mish(h).transpose(1, 2)


class InputEmbedding(nn.Module):
    """[noisy sample | masked prompt | text (| extra)] -> model width, plus the convolutional position term.

    ``extra_dim`` > 0 takes more per-frame features (the motion stream hearing the audio)."""

    def __init__(self, data_dim: int, text_dim: int, dim: int, extra_dim: int = 0) -> None:
        super().__init__()
        self.extra_dim = extra_dim
        self.proj = nn.Linear(data_dim * 2 + text_dim + extra_dim, dim)
        self.conv_pos = ConvPositionEmbedding(dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, text: torch.Tensor, drop_cond: Drop = False,
                mask: torch.Tensor | None = None, extra: torch.Tensor | None = None) -> torch.Tensor:
        parts = [x, drop_where(cond, drop_cond), text]
        if self.extra_dim:
            if extra is None or extra.shape[-1] != self.extra_dim:
                raise ValueError(f"this input embedding needs {self.extra_dim} extra features per frame")
            parts.append(extra)
        h = self.proj(torch.cat(parts, dim=-1))
        return self.conv_pos(h, mask) + h


# --------------------------------------------------------------------------- rotary


class RotaryEmbedding(nn.Module):
    """Rotary positions over frames; pairs are interleaved (x0,x1), (x2,x3), ... as in x-transformers."""

    def __init__(self, dim_head: int, base: float = 10000.0) -> None:
        super().__init__()
        self.dim_head, self.base = dim_head, base
        self.register_buffer("inv_freq", self._inv_freq(), persistent=False)

    def _inv_freq(self) -> torch.Tensor:
        return 1.0 / (self.base ** (torch.arange(0, self.dim_head, 2).float() / self.dim_head))

    def reset_buffers(self) -> None:
        self.inv_freq = self._inv_freq()

    def forward(self, seq_len: int) -> torch.Tensor:
        t = torch.arange(seq_len, device=self.inv_freq.device).to(self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)
        return torch.stack((freqs, freqs), dim=-1).flatten(-2)  # (N, dim_head)


def apply_rotary(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """x: (B, H, N, D); freqs: (N, R) with R <= D (only the first R channels rotate)."""
    r = freqs.shape[-1]
    xr, rest = x[..., :r], x[..., r:]
    pairs = xr.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    out = xr * freqs.cos() + rotated * freqs.sin()
    return torch.cat((out, rest), dim=-1).to(x.dtype)


# --------------------------------------------------------------------------- adaLN-zero


class AdaLNZero(nn.Module):
    """Timestep -> shift/scale/gate for attention and MLP; zero-initialised so blocks start as identity."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim * 6)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor):
        shift_a, scale_a, gate_a, shift_f, scale_f, gate_f = self.linear(F.silu(t)).chunk(6, dim=1)
        h = self.norm(x) * (1 + scale_a[:, None]) + shift_a[:, None]
        return h, (gate_a, shift_f, scale_f, gate_f)


class AdaLNFinal(nn.Module):
    """Last modulation before a stream's output head (scale first, then shift, as in F5)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim * 2)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(F.silu(t)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale)[:, None, :] + shift[:, None, :]


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: float, dropout: float = 0.0) -> None:
        super().__init__()
        hidden = int(dim * mult)
        self.up = nn.Linear(dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.down = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.drop(F.gelu(self.up(x), approximate="tanh")))


# --------------------------------------------------------------------------- attention & blocks


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, H, N, D) scaled dot-product attention; ``key_mask`` (B, N) True = attend."""
    bias = None if key_mask is None else key_mask[:, None, None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)


class StreamLayer(nn.Module):
    """One modality's share of a transformer block: its own adaLN, q/k/v/out projections and MLP.

    A DiT block is one of these attending to itself; an MM-DiT joint block runs several and
    concatenates their keys and values so every modality attends over all of them.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, ff_mult: float, dropout: float = 0.0) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.ada = AdaLNZero(dim)
        self.q = nn.Linear(dim, inner)
        self.k = nn.Linear(dim, inner)
        self.v = nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)
        self.attn_drop = nn.Dropout(dropout)
        self.ff_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = FeedForward(dim, ff_mult, dropout)

    def project(self, x: torch.Tensor, t: torch.Tensor, rope: torch.Tensor | None):
        h, mod = self.ada(x, t)
        b = x.shape[0]
        q, k, v = (p(h).view(b, -1, self.heads, p.out_features // self.heads).transpose(1, 2)
                   for p in (self.q, self.k, self.v))
        if rope is not None:
            q, k = apply_rotary(q, rope), apply_rotary(k, rope)
        return q, k, v, mod

    def finish(self, x: torch.Tensor, attn: torch.Tensor, mod, mask: torch.Tensor | None) -> torch.Tensor:
        gate_a, shift_f, scale_f, gate_f = mod
        a = self.attn_drop(self.out(attn.transpose(1, 2).flatten(2)))
        if mask is not None:
            a = a.masked_fill(~mask.unsqueeze(-1), 0.0)
        x = x + gate_a.unsqueeze(1) * a
        h = self.ff_norm(x) * (1 + scale_f[:, None]) + shift_f[:, None]
        return x + gate_f.unsqueeze(1) * self.ff(h)


class DiTBlock(nn.Module):
    """Per-modality block: self-attention within one stream."""

    def __init__(self, dim: int, heads: int, dim_head: int, ff_mult: float, dropout: float = 0.0,
                 attn_mask: bool = False) -> None:
        super().__init__()
        self.layer = StreamLayer(dim, heads, dim_head, ff_mult, dropout)
        self.attn_mask = attn_mask

    def forward(self, x, t, mask=None, rope=None):
        q, k, v, mod = self.layer.project(x, t, rope)
        a = attention(q, k, v, mask if self.attn_mask else None)
        return self.layer.finish(x, a, mod, mask)


class JointBlock(nn.Module):
    """MM-DiT block: per-modality projections and MLPs, one attention over all streams' tokens.

    Streams share the frame axis, so each gets the same rotary positions: audio frame i and
    motion frame i are "at the same time" for attention. With one stream this is a DiT block.
    """

    def __init__(self, streams: dict[str, float], dim: int, heads: int, dim_head: int, dropout: float = 0.0,
                 attn_mask: bool = False) -> None:
        super().__init__()
        self.layers = nn.ModuleDict({name: StreamLayer(dim, heads, dim_head, mult, dropout)
                                     for name, mult in streams.items()})
        self.attn_mask = attn_mask

    def forward(self, xs: dict[str, torch.Tensor], t, mask=None, rope=None) -> dict[str, torch.Tensor]:
        names = [n for n in self.layers if n in xs]
        proj = {n: self.layers[n].project(xs[n], t, rope) for n in names}
        if len(names) == 1:
            q, k, v, _ = proj[names[0]]
            key_mask = mask
        else:
            q = torch.cat([proj[n][0] for n in names], dim=2)
            k = torch.cat([proj[n][1] for n in names], dim=2)
            v = torch.cat([proj[n][2] for n in names], dim=2)
            key_mask = None if mask is None else torch.cat([mask] * len(names), dim=1)
        a = attention(q, k, v, key_mask if self.attn_mask else None)
        sizes = [xs[n].shape[1] for n in names]
        outs = a.split(sizes, dim=2)
        return {n: self.layers[n].finish(xs[n], o, proj[n][3], mask) for n, o in zip(names, outs, strict=True)}
