"""Settings of the web app, from environment variables with CLI flags on top.

One dataclass so that ``app.py``, the tests and a Space read the same knobs; every field
has a ``TALKER_*`` variable because Spaces and containers configure by environment.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path


def _bool(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


@dataclass
class AppConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    templates_dir: str | None = None  # None: <work_dir>/templates, seeded with the bundled ones
    work_dir: str | None = None  # None: <cache>/app; uploads, outputs and app templates live here
    models_dir: str | None = None  # exported as TALKER_MODELS_DIR for the worker
    cache_dir: str | None = None  # exported as TALKER_CACHE_DIR for the worker
    dit_checkpoint: str | None = None  # talker DiT (folder, file or repo id): offers the neural engine
    f5_checkpoint: str | None = None  # F5-TTS (audio only): neural voice with the offline face motion
    vocoder: str | None = None  # Vocos folder or repo id (default charactr/vocos-mel-24khz)
    queue_size: int = 16  # waiting jobs beyond this are refused with a message
    concurrency: int = 1  # jobs that run at once (one worker process each)
    job_timeout: float = 300.0  # seconds; a job over this is stopped and its worker restarted
    max_upload_mb: int = 200
    max_reference_seconds: float = 60.0
    # a shared Space's sizes (the CLI and the API take 60,000 characters / an hour): ~3.5 minutes of
    # video from a text, 5 minutes of lip-sync, each under the job time limit on 2 CPU cores
    max_audio_seconds: float = 300.0
    max_text_chars: int = 3000
    # the longest video the Dub tab takes (the CLI and the API take ten minutes). A warm dub of 30 s
    # of 512² video took 13.8 s on 2 cores (scripts/bench_dub.py), plus speech recognition when no
    # transcript is given; short clips cost more per second (models load, 5 s took ~9-13 s)
    max_dub_seconds: float = 120.0
    keep_outputs_minutes: float = 120.0  # generated files older than this are deleted
    label: bool = True  # default of the visible "AI-generated" label checkbox
    warmup: bool = True  # start the worker and load the voice when the app starts
    share: bool = False

    ENV = {
        "host": "TALKER_HOST", "port": "TALKER_PORT", "templates_dir": "TALKER_TEMPLATES_DIR",
        "work_dir": "TALKER_WORK_DIR", "models_dir": "TALKER_MODELS_DIR", "cache_dir": "TALKER_CACHE_DIR",
        "dit_checkpoint": "TALKER_DIT_CHECKPOINT", "f5_checkpoint": "TALKER_F5_CHECKPOINT",
        "vocoder": "TALKER_VOCODER", "queue_size": "TALKER_QUEUE_SIZE",
        "concurrency": "TALKER_CONCURRENCY", "job_timeout": "TALKER_JOB_TIMEOUT",
        "max_upload_mb": "TALKER_MAX_UPLOAD_MB", "max_reference_seconds": "TALKER_MAX_REFERENCE_SECONDS",
        "max_audio_seconds": "TALKER_MAX_AUDIO_SECONDS", "max_text_chars": "TALKER_MAX_TEXT_CHARS",
        "max_dub_seconds": "TALKER_MAX_DUB_SECONDS",
        "keep_outputs_minutes": "TALKER_KEEP_OUTPUTS_MINUTES", "label": "TALKER_LABEL",
        "warmup": "TALKER_WARMUP", "share": "TALKER_SHARE",
    }

    @classmethod
    def from_env(cls, env: dict | None = None) -> AppConfig:
        env = os.environ if env is None else env
        cfg = cls()
        if env.get("SPACE_ID") or env.get("MODELSCOPE_ENVIRONMENT"):
            cfg.host = "0.0.0.0"  # hosted: listen on every interface
        for f in fields(cls):
            raw = env.get(cls.ENV.get(f.name, ""))
            if raw is None or raw == "":
                continue
            setattr(cfg, f.name, _convert(f.name, getattr(cls, f.name, None), raw))
        return cfg

    @classmethod
    def from_args(cls, argv: list[str] | None = None, env: dict | None = None) -> AppConfig:
        """Environment first, then flags (``--queue-size 4``, ``--no-label``…) override it."""
        cfg = cls.from_env(env)
        p = argparse.ArgumentParser(description="talker web app (Gradio)")
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            if isinstance(getattr(cfg, f.name), bool):
                p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
            else:
                p.add_argument(flag, dest=f.name, default=None, help=f"(env {cls.ENV.get(f.name)})")
        args = p.parse_args(argv)
        for f in fields(cls):
            value = getattr(args, f.name)
            if value is not None:
                setattr(cfg, f.name, value if isinstance(value, bool) else _convert(f.name, getattr(cls, f.name), value))
        return cfg

    # -- derived folders ----------------------------------------------------------------------
    @property
    def work_path(self) -> Path:
        if self.work_dir:
            return Path(self.work_dir).resolve()
        from ..paths import cache_dir

        return (cache_dir() / "app").resolve()

    @property
    def templates_path(self) -> Path:
        return Path(self.templates_dir).resolve() if self.templates_dir else self.work_path / "templates"

    @property
    def outputs_path(self) -> Path:
        return self.work_path / "outputs"

    @property
    def uploads_path(self) -> Path:
        return self.work_path / "uploads"

    def neural_available(self) -> bool:
        """A checkpoint is set and is an existing path or looks like a Hugging Face repo id (which is
        fetched, or refused with a clear message offline, when a job first uses it)."""
        from ..paths import is_repo_id

        def usable(source: str | None) -> bool:
            return bool(source) and (Path(source).expanduser().exists() or is_repo_id(source))

        return usable(self.dit_checkpoint) or usable(self.f5_checkpoint)

    def worker_env(self) -> dict[str, str]:
        """Variables the worker process needs so that it finds the same models and caches."""
        env = {"TALKER_TEMPLATES_DIR": str(self.templates_path)}
        for name, var in (("dit_checkpoint", "TALKER_DIT_CHECKPOINT"), ("f5_checkpoint", "TALKER_F5_CHECKPOINT"),
                          ("vocoder", "TALKER_VOCODER")):
            if getattr(self, name):
                env[var] = str(getattr(self, name))
        if self.models_dir:
            env["TALKER_MODELS_DIR"] = str(self.models_dir)
        if self.cache_dir:
            env["TALKER_CACHE_DIR"] = str(self.cache_dir)
        return env


def _convert(name: str, default, raw: str):
    if isinstance(default, bool):
        return _bool(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
