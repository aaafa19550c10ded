"""Checkpoint I/O: safetensors weights + a JSON config, from a folder or a Hugging Face repo id.

A checkpoint is a folder with ``model.safetensors`` and ``config.json``; the config is also
written into the safetensors header so a lone weights file still knows its architecture.
Sources resolve in this order: an existing local path, the local Hugging Face cache, then
the Hub (only when it answers; offline this fails within seconds with a
:class:`~talker.errors.ModelUnavailableError` saying what to download and where to put it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

from ..errors import ModelUnavailableError
from ..paths import is_repo_id
from .config import ModelConfig

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
VOCAB_NAME = "vocab.txt"  # a non-bundled vocabulary, saved beside the weights (config: "vocab": "vocab.txt")
FORMAT = "talker-dit"


def save_model(model, folder: str | Path, metadata: dict | None = None) -> Path:
    """Write ``folder/model.safetensors`` and ``folder/config.json``; returns the folder."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = model.config.to_dict()
    if cfg.get("vocab"):  # token ids mean nothing without their vocabulary: it travels with the weights
        src = Path(cfg["vocab"])
        if src.resolve() != (folder / VOCAB_NAME).resolve():
            shutil.copyfile(src, folder / VOCAB_NAME)
        cfg["vocab"] = VOCAB_NAME
    info = {"format": FORMAT, "config": cfg, **(metadata or {})}
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_NAME), metadata={"format": FORMAT, "config": json.dumps(cfg)})
    (folder / CONFIG_NAME).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors`` or a torch pickle (loaded with ``weights_only``)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(obj, dict):
        raise ValueError(f"{path.name}: expected a state dict, got {type(obj).__name__}")
    return obj


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe, so an offline machine fails in seconds instead of after minutes of retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_file(source: str | Path, filename: str, revision: str | None = None) -> Path:
    """Local path of ``filename`` from a folder, a file, or a Hugging Face repo id."""
    src = str(source)
    path = Path(src).expanduser()
    if path.is_file():
        return path if path.name == Path(filename).name or filename in ("", WEIGHTS_NAME) else path.parent / filename
    if path.is_dir():
        target = path / filename
        if target.is_file():
            return target
        raise ModelUnavailableError(f"{path} has no {filename}.", "Point to the folder that holds the checkpoint.")
    if not is_repo_id(src):
        raise ModelUnavailableError(
            f"Model '{src}' is neither an existing file or folder nor a Hugging Face repo id (owner/name).",
            "Check the path, or give a repo id such as SWivid/F5-TTS.",
        )
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(src, filename, revision=revision, local_files_only=True))
    except Exception:  # not cached; try the network below
        pass
    fix = (f"On a machine with network run `huggingface-cli download {src} {filename}` and copy the file "
           "here, then pass its local path (or set HF_HOME to a cache that holds it).")
    if not _hub_reachable():
        raise ModelUnavailableError(
            f"Model '{src}' ({filename}) is not in the local Hugging Face cache and the Hub cannot be reached (offline).",
            fix,
        )
    try:
        return Path(hf_hub_download(src, filename, revision=revision))
    except Exception as exc:
        raise ModelUnavailableError(
            f"Could not download '{filename}' from Hugging Face repo '{src}': {type(exc).__name__}: {str(exc)[:200]}",
            fix,
        ) from exc


def _read_info(weights: Path, source: str, revision: str | None) -> dict:
    """The checkpoint's config.json (model config plus training metadata such as ``step``)."""
    cfg_path = weights.parent / CONFIG_NAME
    data = None
    if cfg_path.is_file():
        data = json.loads(cfg_path.read_text(encoding="utf-8"))
    elif not Path(source).expanduser().exists():
        try:
            data = json.loads(resolve_file(source, CONFIG_NAME, revision).read_text(encoding="utf-8"))
        except ModelUnavailableError:
            data = None
    if data is None and weights.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
        if "config" in meta:
            data = {"config": json.loads(meta["config"])}
    if data is None or "config" not in data:
        raise ModelUnavailableError(f"No talker model config found for '{source}'.",
                                    f"Expected {CONFIG_NAME} beside {weights.name} (written by save_model).")
    if data.get("format", FORMAT) != FORMAT:
        raise ModelUnavailableError(f"'{source}' is a {data.get('format')!r} checkpoint, not a talker model.",
                                    "F5-TTS checkpoints load with talker.model.f5_compat.load_f5_checkpoint.")
    return data


def training_output(source: str | Path) -> str | Path:
    """A training run folder (``RUN``) or one of its step folders → the EMA weights to use.

    ``talker.train`` writes ``RUN/checkpoints/step_N/{ema,model}`` and names the newest step in
    ``RUN/checkpoints/latest``; anything else is returned unchanged.
    """
    path = Path(str(source)).expanduser()
    latest = path / "checkpoints" / "latest"
    if latest.is_file():
        path = path / "checkpoints" / latest.read_text(encoding="utf-8").strip()
    for sub in ("ema", "model"):
        if (path / sub / WEIGHTS_NAME).is_file() and not (path / WEIGHTS_NAME).is_file():
            return path / sub
    return source


def _config_of(info: dict, weights: Path, source, revision: str | None) -> ModelConfig:
    cfg = ModelConfig.from_dict(info["config"])
    if cfg.vocab and not Path(cfg.vocab).is_absolute():  # saved beside the weights
        local = weights.parent / cfg.vocab
        cfg = cfg.replace(vocab=str(local if local.is_file() else resolve_file(source, cfg.vocab, revision)))
    return cfg


def load_config(source: str | Path, revision: str | None = None) -> ModelConfig:
    """A checkpoint's model config (vocabulary path resolved) without reading its weights."""
    source = training_output(source)
    weights = resolve_file(source, WEIGHTS_NAME, revision)
    return _config_of(_read_info(weights, str(source), revision), weights, source, revision)


def load_model(source: str | Path, device: str | torch.device = "cpu", revision: str | None = None):
    """A :class:`~talker.model.dit.TalkerDiT` in eval mode from a folder, file, training run or repo id."""
    from .dit import TalkerDiT

    source = training_output(source)
    weights = resolve_file(source, WEIGHTS_NAME, revision)
    info = _read_info(weights, str(source), revision)
    cfg = _config_of(info, weights, source, revision)
    with torch.device("meta"):
        model = TalkerDiT(cfg)
    state = read_state_dict(weights)
    model.load_state_dict(state, strict=True, assign=True)
    # built on "meta" to skip a random init of up to 0.8 B weights; derived buffers are recomputed
    for mod in model.modules():
        if hasattr(mod, "reset_buffers"):
            mod.reset_buffers()
    model.info = {k: v for k, v in info.items() if k != "config"}  # step, audio_given, ... (training facts)
    return model.to(device).eval()
