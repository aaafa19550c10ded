"""Mel features and mel -> waveform: Vocos (charactr/vocos-mel-24khz) or a labelled fallback.

The mel front end is the one F5-TTS trains on and Vocos was trained with: 24 kHz, n_fft 1024,
hop 256, window 1024, 100 HTK mel bins without filter normalisation, magnitude (power 1),
centred frames, natural log clamped at 1e-5.

Vocos weights come from a local folder/file, the Hugging Face cache or the Hub. The ``vocos``
package ships no config, so :data:`VOCOS_MEL_24KHZ` restates that checkpoint's hyper-parameters
to build the network when only ``pytorch_model.bin`` is at hand. Without any weights,
:func:`load_vocoder` returns Griffin-Lim phase reconstruction, labelled as the lower-quality
fallback it is, so a pipeline still produces audible (if buzzy) speech offline.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from ..audio import SAMPLE_RATE
from ..errors import ModelUnavailableError
from .config import HOP_LENGTH, N_FFT, N_MELS, WIN_LENGTH

LOG_FLOOR = 1e-5

VOCOS_REPO = "charactr/vocos-mel-24khz"
VOCOS_MEL_24KHZ = {
    "feature_extractor": {"sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop_length": HOP_LENGTH, "n_mels": N_MELS,
                          "padding": "center"},
    "backbone": {"input_channels": N_MELS, "dim": 512, "intermediate_dim": 1536, "num_layers": 8},
    "head": {"dim": 512, "n_fft": N_FFT, "hop_length": HOP_LENGTH, "padding": "center"},
}
FALLBACK_LABEL = "fallback vocoder (Griffin-Lim), lower quality"


class MelSpectrogram(nn.Module):
    """waveform (B, T) or (T,) at 24 kHz -> log-mel (B, 100, frames), frames = T // 256 + 1."""

    def __init__(self) -> None:
        super().__init__()
        import torchaudio

        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, win_length=WIN_LENGTH, hop_length=HOP_LENGTH, n_mels=N_MELS,
            power=1, center=True, normalized=False, norm=None,
        )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        squeeze = wav.dim() == 1
        if wav.dim() == 3:
            wav = wav.squeeze(1)
        mel = self.mel(wav.unsqueeze(0) if squeeze else wav).clamp(min=LOG_FLOOR).log()
        return mel[0] if squeeze else mel


@functools.lru_cache(maxsize=1)
def _mel_module() -> MelSpectrogram:
    return MelSpectrogram()


def mel_spectrogram(wav) -> torch.Tensor:
    """Log-mel of a 24 kHz waveform (numpy or torch), channels first like Vocos expects."""
    return _mel_module()(torch.as_tensor(wav, dtype=torch.float32))


class Vocoder:
    """mel (B, 100, N) or (100, N) log-mel -> waveform (B, T) or (T,) at 24 kHz."""

    name = "vocoder"
    is_fallback = False
    sample_rate = SAMPLE_RATE

    @property
    def label(self) -> str:
        return self.name

    def _decode(self, mel: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        mel = torch.as_tensor(mel, dtype=torch.float32)
        if mel.dim() == 2:
            return self._decode(mel.unsqueeze(0))[0]
        return self._decode(mel)

    __call__ = decode


class VocosVocoder(Vocoder):
    name = "vocos-mel-24khz"

    def __init__(self, model) -> None:
        self.model = model.eval()

    def _decode(self, mel):
        return self.model.decode(mel.to(next(self.model.parameters()).device))


class GriffinLimVocoder(Vocoder):
    """Magnitude from the mel by a non-negative pseudo-inverse of the filter bank, phase by Griffin-Lim."""

    name = "griffin-lim"
    is_fallback = True

    def __init__(self, n_iter: int = 32) -> None:
        import torchaudio

        fb = torchaudio.functional.melscale_fbanks(N_FFT // 2 + 1, 0.0, SAMPLE_RATE / 2, N_MELS, SAMPLE_RATE,
                                                   norm=None, mel_scale="htk")  # (freqs, mels)
        self.inverse = torch.linalg.pinv(fb)  # (mels, freqs)
        self.griffin_lim = torchaudio.transforms.GriffinLim(
            n_fft=N_FFT, n_iter=n_iter, win_length=WIN_LENGTH, hop_length=HOP_LENGTH, power=1.0, rand_init=False,
        )

    @property
    def label(self) -> str:
        return FALLBACK_LABEL

    def _decode(self, mel):
        mag = torch.einsum("bmn,mf->bfn", mel.exp(), self.inverse).clamp(min=0.0)
        return self.griffin_lim(mag)


def build_vocos(config: dict | None = None):
    """The vocos-mel-24khz network with random weights (for loading a bare ``pytorch_model.bin``)."""
    from vocos import Vocos
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    cfg = config or VOCOS_MEL_24KHZ
    return Vocos(MelSpectrogramFeatures(**cfg["feature_extractor"]), VocosBackbone(**cfg["backbone"]),
                 ISTFTHead(**cfg["head"]))


def _vocos_from_files(weights: Path, config_yaml: Path | None):
    from vocos import Vocos

    model = Vocos.from_hparams(str(config_yaml)) if config_yaml and config_yaml.is_file() else build_vocos()
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def load_vocos(source: str | Path = VOCOS_REPO):
    """Vocos from a folder/file or a repo id; raises ModelUnavailableError when not available."""
    src = Path(str(source)).expanduser()
    if src.is_file():
        return _vocos_from_files(src, src.parent / "config.yaml")
    if src.is_dir():
        weights = src / "pytorch_model.bin"
        if not weights.is_file():
            raise ModelUnavailableError(f"{src} has no pytorch_model.bin.", f"Download {VOCOS_REPO} into that folder.")
        return _vocos_from_files(weights, src / "config.yaml")
    from huggingface_hub import hf_hub_download

    try:  # the cache first: Vocos.from_pretrained would spend ~20 s retrying an unreachable Hub
        weights = Path(hf_hub_download(str(source), "pytorch_model.bin", local_files_only=True))
        try:
            cfg = Path(hf_hub_download(str(source), "config.yaml", local_files_only=True))
        except Exception:
            cfg = None
        return _vocos_from_files(weights, cfg)
    except ModelUnavailableError:
        raise
    except Exception:
        pass
    from .checkpoint import _hub_reachable

    fix = (f"Run `huggingface-cli download {source}` on a machine with network and pass the folder, "
           "or set HF_HOME to a cache that holds it.")
    if not _hub_reachable():
        raise ModelUnavailableError(f"Vocos weights '{source}' are not cached and the Hub cannot be reached (offline).",
                                    fix)
    try:
        from vocos import Vocos

        return Vocos.from_pretrained(str(source)).eval()
    except Exception as exc:
        raise ModelUnavailableError(f"Could not download Vocos '{source}': {type(exc).__name__}: {str(exc)[:200]}",
                                    fix) from exc


def load_vocoder(source: str | Path | None = VOCOS_REPO, allow_fallback: bool = True,
                 device: str | torch.device = "cpu") -> Vocoder:
    """Vocos when its weights can be had, else (if allowed) the labelled Griffin-Lim fallback.

    Check ``vocoder.is_fallback`` / ``vocoder.label`` to tell users which one they got.
    """
    if source:
        try:
            return VocosVocoder(load_vocos(source).to(device))
        except ModelUnavailableError:
            if not allow_fallback:
                raise
    elif not allow_fallback:
        raise ModelUnavailableError("No vocoder source given.", f"Pass a folder or '{VOCOS_REPO}'.")
    return GriffinLimVocoder()
