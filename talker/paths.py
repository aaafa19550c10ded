"""Where the project keeps user-level state (caches, downloaded models).

One place decides this so that tests can redirect everything with ``TALKER_CACHE_DIR``.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
DEFAULT_TEMPLATES_DIR = ASSETS_DIR / "templates"


def cache_dir() -> Path:
    """User cache root: ``$TALKER_CACHE_DIR``, else ``$XDG_CACHE_HOME/talker``, else ``~/.cache/talker``."""
    env = os.environ.get("TALKER_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "talker"
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    path = Path(os.environ["TALKER_MODELS_DIR"]) if os.environ.get("TALKER_MODELS_DIR") else cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def templates_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Templates root: explicit argument, else ``$TALKER_TEMPLATES_DIR``, else the bundled ones."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("TALKER_TEMPLATES_DIR")
    return Path(env) if env else DEFAULT_TEMPLATES_DIR


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_repo_id(source: str) -> bool:
    """``owner/name`` as the Hugging Face Hub spells repositories (and not a relative path)."""
    return not source.startswith((".", "/", "~")) and _REPO_ID.match(source) is not None


def private_tmp(path: str | os.PathLike) -> Path:
    """A temp name beside ``path``, private to this process and thread, keeping its suffix.

    Cache entries are written to a temp file and renamed into place; with one shared temp name,
    two runs analysing the same clip at once (two CLI jobs, app workers) rename each other's
    file away and one fails. The suffix stays last because numpy and OpenCV choose by it.
    """
    p = Path(path)
    return p.with_name(f".{p.name}.{os.getpid()}-{threading.get_ident()}.tmp{p.suffix}")
