"""Features cached by the content of the clip, so re-analysing the same clip is near-instant
whatever its file name or location."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ..paths import cache_dir
from .features import ANALYSIS_VERSION, ReferenceFeatures


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class FeatureCache:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else cache_dir() / "features"

    def key(self, digest: str, **options) -> str:
        opts = ",".join(f"{k}={options[k]}" for k in sorted(options))
        return hashlib.sha256(f"{digest}|v{ANALYSIS_VERSION}|{opts}".encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> ReferenceFeatures | None:
        d = self.path(key)
        if not ReferenceFeatures.exists(d):
            return None
        try:
            return ReferenceFeatures.load(d)
        except Exception:  # noqa: BLE001 - a stale or torn entry is recomputed, never fatal
            shutil.rmtree(d, ignore_errors=True)
            return None

    def put(self, key: str, feats: ReferenceFeatures) -> None:
        feats.save(self.path(key))
