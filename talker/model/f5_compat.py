"""F5-TTS v1 checkpoints <-> our audio stream, by a table of key names.

F5-TTS's DiT and our audio stream compute the same function; only parameter names differ.
F5 block i lands in joint block i (audio layer) while i < joint_depth, else in audio block
i - joint_depth, so F5 weights can initialise the audio side of the joint model as well as the
audio-only ``f5-v1-base`` configuration.

Their checkpoints (``SWivid/F5-TTS``, ``F5TTS_v1_Base/model_1250000.safetensors``) hold the EMA
weights of the CFM wrapper: keys ``ema_model.transformer.<dit key>`` plus ``initted``/``step``
and mel-spectrogram buffers. ``.pt`` files keep them under ``ema_model_state_dict``. Their
token ids come from their ``vocab.txt`` (2545 tokens), which must be passed as the vocabulary.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import ModelUnavailableError
from .config import ModelConfig, get_config

F5_REPO = "SWivid/F5-TTS"
F5_V1_BASE_FILE = "F5TTS_v1_Base/model_1250000.safetensors"
F5_V1_BASE_VOCAB = "F5TTS_v1_Base/vocab.txt"
F5_V1_BASE_ARGS = dict(dim=1024, depth=22, heads=16, ff_mult=2, text_dim=512, conv_layers=4,
                       text_num_embeds=2545, mel_dim=100)

# F5 key (relative to the DiT) -> ours. {i}: an index kept as is; {p}: the parameter name.
GLOBAL_KEYS: list[tuple[str, str]] = [
    ("time_embed.time_mlp.0.{p}", "time_embed.mlp.0.{p}"),
    ("time_embed.time_mlp.2.{p}", "time_embed.mlp.2.{p}"),
    ("text_embed.text_embed.weight", "audio.text_embed.embed.weight"),
    ("text_embed.text_blocks.{i}.dwconv.{p}", "audio.text_embed.blocks.{i}.dwconv.{p}"),
    ("text_embed.text_blocks.{i}.norm.{p}", "audio.text_embed.blocks.{i}.norm.{p}"),
    ("text_embed.text_blocks.{i}.pwconv1.{p}", "audio.text_embed.blocks.{i}.pw1.{p}"),
    ("text_embed.text_blocks.{i}.grn.{p}", "audio.text_embed.blocks.{i}.grn.{p}"),
    ("text_embed.text_blocks.{i}.pwconv2.{p}", "audio.text_embed.blocks.{i}.pw2.{p}"),
    ("input_embed.proj.{p}", "audio.input.proj.{p}"),
    ("input_embed.conv_pos_embed.conv1d.0.{p}", "audio.input.conv_pos.conv1.{p}"),
    ("input_embed.conv_pos_embed.conv1d.2.{p}", "audio.input.conv_pos.conv2.{p}"),
    ("norm_out.linear.{p}", "audio.norm_out.linear.{p}"),
    ("proj_out.{p}", "audio.proj_out.{p}"),
]
# inside F5 ``transformer_blocks.{b}.`` -> inside one of our stream layers
BLOCK_KEYS: list[tuple[str, str]] = [
    ("attn_norm.linear.{p}", "ada.linear.{p}"),
    ("attn.to_q.{p}", "q.{p}"),
    ("attn.to_k.{p}", "k.{p}"),
    ("attn.to_v.{p}", "v.{p}"),
    ("attn.to_out.0.{p}", "out.{p}"),
    ("ff.ff.0.0.{p}", "ff.up.{p}"),
    ("ff.ff.2.{p}", "ff.down.{p}"),
]
# present in F5 state dicts, recomputed or irrelevant here
IGNORED_F5_KEYS = re.compile(r"^(rotary_embed\.inv_freq|text_embed\.freqs_cis)$")


def _pattern(template: str) -> re.Pattern:
    rx = re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias|gamma|beta)")
    return re.compile(f"^{rx}$")


def _rewrite(rules, key: str) -> str | None:
    """The first matching rule's template filled with the key's groups; None when none matches."""
    for rx, template in rules:
        m = rx.match(key)
        if m:
            return template.format(**m.groupdict())
    return None


_G_F5 = [(_pattern(a), b) for a, b in GLOBAL_KEYS]
_G_OURS = [(_pattern(b), a) for a, b in GLOBAL_KEYS]
_B_F5 = [(_pattern(a), b) for a, b in BLOCK_KEYS]
_B_OURS = [(_pattern(b), a) for a, b in BLOCK_KEYS]
_F5_BLOCK = re.compile(r"^transformer_blocks\.(\d+)\.(.+)$")
_OUR_BLOCK = re.compile(r"^(?:joint_blocks\.(\d+)\.layers\.audio|audio\.blocks\.(\d+)\.layer)\.(.+)$")


def f5_to_ours(key: str, joint_depth: int) -> str | None:
    """Our name for an F5 DiT key, or None when the key has no counterpart."""
    m = _F5_BLOCK.match(key)
    if m:
        i, rest = int(m.group(1)), m.group(2)
        prefix = f"joint_blocks.{i}.layers.audio" if i < joint_depth else f"audio.blocks.{i - joint_depth}.layer"
        name = _rewrite(_B_F5, rest)
        return f"{prefix}.{name}" if name else None
    return _rewrite(_G_F5, key)


def ours_to_f5(key: str, joint_depth: int) -> str | None:
    """F5's name for one of our audio-stream keys (None for motion / joint-only parts)."""
    m = _OUR_BLOCK.match(key)
    if m:
        i = int(m.group(1)) if m.group(1) is not None else joint_depth + int(m.group(2))
        name = _rewrite(_B_OURS, m.group(3))
        return f"transformer_blocks.{i}.{name}" if name else None
    return _rewrite(_G_OURS, key)


def config_from_f5(*, dim: int, depth: int, heads: int = 8, dim_head: int = 64, ff_mult: float = 4,
                   mel_dim: int = 100, text_num_embeds: int = 256, text_dim: int | None = None,
                   conv_layers: int = 0, dropout: float = 0.1, vocab: str = "", **unsupported) -> ModelConfig:
    """Our audio-only config for F5 ``DiT(**kwargs)``; options we do not implement are refused."""
    bad = {k: v for k, v in unsupported.items() if v not in (None, False, "torch", True) or
           (k == "text_mask_padding" and v is not True)}
    if bad:
        raise ValueError(f"F5 DiT options not supported: {bad}")
    return ModelConfig(
        name="f5-compat", dim=dim, heads=heads, dim_head=dim_head, dropout=dropout, mel_dim=mel_dim,
        motion_enabled=False, text_num_embeds=text_num_embeds, text_dim=text_dim or mel_dim,
        conv_layers=conv_layers, joint_depth=0, audio_depth=depth, motion_depth=0, ff_mult=float(ff_mult),
        vocab=vocab,
    )


def extract_dit_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The DiT's tensors from any F5 checkpoint layout (EMA or plain, CFM-wrapped or bare)."""
    for key in ("ema_model_state_dict", "model_state_dict"):
        if key in state and isinstance(state[key], dict):
            state = state[key]
            break
    state = {(k[len("ema_model."):] if k.startswith("ema_model.") else k): v for k, v in state.items()
             if k not in ("initted", "step")}
    if any(k.startswith("transformer.") for k in state):
        state = {k[len("transformer."):]: v for k, v in state.items() if k.startswith("transformer.")}
    return state


def convert_f5_state(f5_state: dict[str, torch.Tensor], joint_depth: int = 0) -> dict[str, torch.Tensor]:
    """F5 DiT tensors -> our key names; unknown keys are an error (a different F5 variant)."""
    out, unknown = {}, []
    for k, v in f5_state.items():
        if IGNORED_F5_KEYS.match(k):
            continue
        ours = f5_to_ours(k, joint_depth)
        if ours is None:
            unknown.append(k)
        else:
            out[ours] = v
    if unknown:
        raise ValueError(f"F5 checkpoint keys with no counterpart ({len(unknown)}): {unknown[:8]}")
    return out


def load_f5_state_into(model, f5_state: dict[str, torch.Tensor]) -> list[str]:
    """Load F5 weights into the audio stream (and the shared time embedding) of ``model``.

    Every audio-stream parameter must be covered and every shape must match; returns the
    names left as they were (the motion stream and its joint-block layers).
    """
    cfg = model.config
    ours = convert_f5_state(extract_dit_state(f5_state), cfg.joint_depth)
    own = model.state_dict()
    audio_keys = {k for k in own if ours_to_f5(k, cfg.joint_depth) is not None}
    missing = sorted(audio_keys - set(ours))
    extra = sorted(set(ours) - set(own))
    if missing or extra:
        raise ValueError(f"F5 weights do not fit this model: missing {missing[:6]}, unexpected {extra[:6]} "
                         f"(audio layers here: {cfg.audio_layers})")
    for k, v in ours.items():
        if own[k].shape != v.shape:
            hint = ""
            if k.endswith("text_embed.embed.weight"):
                hint = (f" - the checkpoint's vocabulary has {v.shape[0] - 1} tokens; set text_num_embeds="
                        f"{v.shape[0] - 1} and vocab= the checkpoint's vocab.txt")
            raise ValueError(f"shape mismatch for {k}: model {tuple(own[k].shape)} vs F5 {tuple(v.shape)}{hint}")
    on_meta = any(p.is_meta for p in model.parameters())
    model.load_state_dict(ours, strict=False, assign=on_meta)
    if on_meta:  # built on "meta" to skip a pointless random init: recompute derived buffers
        for mod in model.modules():
            if hasattr(mod, "reset_buffers"):
                mod.reset_buffers()
        still = [n for n, t in model.state_dict().items() if t.is_meta]
        if still:
            raise ValueError(f"model built on 'meta' has parts F5 does not cover ({still[:4]}...); "
                             "build it on a real device")
    return sorted(set(own) - set(ours))


def export_f5_state(model) -> dict[str, torch.Tensor]:
    """Our audio stream under F5 DiT key names (e.g. to run it in F5-TTS's own code)."""
    cfg = model.config
    out = {}
    for k, v in model.state_dict().items():
        f5 = ours_to_f5(k, cfg.joint_depth)
        if f5 is not None:
            out[f5] = v
    return out


def resolve_f5_files(source: str | Path = F5_REPO, filename: str = F5_V1_BASE_FILE, revision: str | None = None,
                     *, with_vocab: bool = True) -> tuple[Path, Path | None]:
    """Local paths of an F5-TTS checkpoint's weights and of the ``vocab.txt`` its token ids come from.

    ``source`` is the weights file itself (vocab.txt beside it), a folder laid out as the repo,
    or a repo id (local Hugging Face cache, then the Hub; offline a ModelUnavailableError says
    what to download).
    """
    from .checkpoint import resolve_file

    src = Path(str(source)).expanduser()
    if src.is_file():
        if with_vocab and not (src.parent / "vocab.txt").is_file():
            raise ModelUnavailableError(
                f"No vocab.txt beside {src.name}: F5-TTS token ids mean nothing without the vocabulary they index.",
                f"Put the checkpoint's vocab.txt ({F5_V1_BASE_VOCAB} in {F5_REPO}) in {src.parent}.")
        return src, (src.parent / "vocab.txt" if with_vocab else None)
    weights = resolve_file(source, filename, revision)
    if not with_vocab:
        return weights, None
    parent = Path(filename).parent
    vocab_name = str(parent / "vocab.txt") if parent != Path(".") else "vocab.txt"
    return weights, resolve_file(source, vocab_name, revision)


def load_f5_checkpoint(source: str | Path = F5_REPO, filename: str = F5_V1_BASE_FILE, *,
                       vocab: str | Path | None = None, config: ModelConfig | None = None,
                       revision: str | None = None):
    """A model whose audio stream holds F5-TTS weights (default: v1 Base from the Hub or cache).

    ``vocab`` is F5's vocab.txt; without it the bundled vocabulary would give wrong token ids,
    so it is fetched beside the checkpoint when the source is a repo id or folder.
    """
    from .checkpoint import read_state_dict
    from .dit import TalkerDiT

    if vocab is None:
        weights, vocab = resolve_f5_files(source, filename, revision)
    else:
        weights = resolve_f5_files(source, filename, revision, with_vocab=False)[0]
    cfg = config or get_config("f5-v1-base")
    cfg = cfg.replace(vocab=str(vocab))
    with torch.device("cpu" if cfg.motion_enabled else "meta"):  # motion needs a real init
        model = TalkerDiT(cfg)
    load_f5_state_into(model, read_state_dict(weights))
    return model.eval()
