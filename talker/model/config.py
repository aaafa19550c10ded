"""Model configurations: ``tiny`` (CPU unit tests), ``small``, ``base`` (~0.8 B, as in OmniTalker).

One flat dataclass rather than nested ones so a checkpoint's ``config.json`` is readable by eye
and a command-line override is one ``key=value``.

Depth is split the way the model runs: ``joint_depth`` MM-DiT blocks fuse the two streams
first, then ``audio_depth`` and ``motion_depth`` per-modality DiT blocks. The audio stream
therefore has ``joint_depth + audio_depth`` layers; keeping that at 22 with dim 1024, 16 heads
and ff_mult 2 makes it layer-for-layer F5-TTS v1 Base, so its public checkpoint can initialise it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..motion.code import MOTION_DIM
from .text import default_vocab_size

CONFIG_VERSION = 1
# The mel front end F5-TTS trains on and Vocos was trained with, on audio at the pipeline's
# rate (talker.audio.SAMPLE_RATE, 24 kHz): the model's mel bins and the vocoder's STFT.
N_FFT = 1024
HOP_LENGTH = 256
WIN_LENGTH = 1024
N_MELS = 100


@dataclass
class ModelConfig:
    name: str = "custom"
    dim: int = 1024
    heads: int = 16
    dim_head: int = 64
    dropout: float = 0.1
    mel_dim: int = N_MELS
    motion_dim: int = MOTION_DIM
    motion_enabled: bool = True
    # text: ConvNeXt-V2 embedding per stream (F5-TTS v1: 512-d, 4 blocks, mult 2)
    text_num_embeds: int = field(default_factory=default_vocab_size)
    text_dim: int = 512
    conv_layers: int = 4
    conv_mult: int = 2
    text_max_pos: int = 8192
    vocab: str = ""  # vocabulary file; "" is the bundled talker/model/vocab.txt
    # depth and width per part
    joint_depth: int = 6
    audio_depth: int = 16
    motion_depth: int = 18
    ff_mult: float = 2.0  # audio stream (F5-TTS v1 uses 2)
    motion_ff_mult: float = 4.0  # motion is trained from scratch: it gets the wider MLP
    # the motion stream's input also takes the audio frames of its own instants (noisy mel + mel
    # prompt); off as in the paper (see talker.model.dit). `--set motion_hears_audio=true`
    motion_hears_audio: bool = False
    # F5-TTS v1 attends to padding and only zeroes outputs there; keep that default for parity
    attn_mask: bool = False
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.dim <= 0 or self.heads <= 0 or self.dim_head <= 0 or self.dim_head % 2:
            raise ValueError("dim, heads must be positive and dim_head a positive even number")
        if min(self.joint_depth, self.audio_depth, self.motion_depth) < 0:
            raise ValueError("depths must be >= 0")
        if self.joint_depth + self.audio_depth == 0:
            raise ValueError("the audio stream needs at least one block")
        if self.motion_enabled and self.joint_depth + self.motion_depth == 0:
            raise ValueError("the motion stream needs at least one block")
        if self.text_num_embeds <= 0 or self.text_dim <= 0:
            raise ValueError("text_num_embeds and text_dim must be positive")

    @property
    def audio_layers(self) -> int:
        return self.joint_depth + self.audio_depth

    @property
    def motion_layers(self) -> int:
        return self.joint_depth + self.motion_depth if self.motion_enabled else 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Unknown keys are an error: a config from a newer version must not load silently wrong."""
        known = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"unknown model config keys: {', '.join(extra)}")
        return cls(**data)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


def _tiny() -> ModelConfig:
    return ModelConfig(
        name="tiny", dim=64, heads=4, dim_head=16, dropout=0.0, text_dim=32, conv_layers=1,
        joint_depth=1, audio_depth=1, motion_depth=1, ff_mult=2.0, motion_ff_mult=2.0,
    )


def _small() -> ModelConfig:
    return ModelConfig(
        name="small", dim=512, heads=8, dim_head=64, text_dim=256, conv_layers=4,
        joint_depth=4, audio_depth=8, motion_depth=8, ff_mult=2.0, motion_ff_mult=4.0,
    )


def _base() -> ModelConfig:
    return ModelConfig(name="base")


def _f5_v1_base() -> ModelConfig:
    """Audio only, no joint blocks: exactly F5-TTS v1 Base (its 2545-entry vocabulary + filler)."""
    return ModelConfig(
        name="f5-v1-base", motion_enabled=False, joint_depth=0, audio_depth=22, motion_depth=0,
        text_num_embeds=2545,
    )


CONFIGS = {"tiny": _tiny, "small": _small, "base": _base, "f5-v1-base": _f5_v1_base}


def get_config(name: str, **overrides) -> ModelConfig:
    try:
        cfg = CONFIGS[name]()
    except KeyError:
        raise ValueError(f"unknown model config {name!r}; choose from {', '.join(CONFIGS)}") from None
    return cfg.replace(**overrides) if overrides else cfg
