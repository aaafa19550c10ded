"""Shared test helpers.

Real fixtures live in ``../shared`` beside the project root and are never copied into the
repository. On a developer machine without them the tests that need them skip; on CI
(``CI`` set) a missing fixture is a failure, so a broken checkout cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


def pytest_configure(config):
    """Tests never try a download, and use MediaPipe's real face model when ../shared has it
    (tests of the bundled fallback force ``backend="face_mesh"`` themselves)."""
    os.environ.setdefault("TALKER_OFFLINE", "1")
    model = SHARED_DIR / "models" / "face_landmarker.task"
    if model.exists():
        os.environ.setdefault("TALKER_FACE_LANDMARKER", str(model))


def require_shared(relpath: str = "") -> Path:
    """Path under ``../shared``; skip (or fail on CI) when it is absent."""
    path = SHARED_DIR / relpath if relpath else SHARED_DIR
    if not path.exists():
        msg = f"shared fixture not available: {path}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def shared_path():
    """``require_shared`` as a fixture, for test modules (conftest is not importable by name)."""
    return require_shared
