"""Shared test helpers.

Real fixtures live in ``../shared`` beside the project root and are never copied into the
repository. On a developer machine without them the tests that need them skip; on CI
(``CI`` set) a missing fixture is a failure, so a broken checkout cannot pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from talker.align import Alignment

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


# The first ten seconds of fixtures/audio/en_printing_10s.wav (alignment and ASR-of-output tests).
PRINTING = ("Printing, in the only sense with which we are at present concerned, differs from most if not "
            "from all the arts and crafts represented in the Exhibition")


def one_word_per_phone(phones: list[tuple[str, float, float]], word: str = "w") -> Alignment:
    """An ``Alignment`` with one word per ``(symbol, start, end)`` phone, so failures name something."""
    from talker.align import AlignedWord, Alignment
    from talker.phones import ARPABET, Phone

    words = [AlignedWord(f"{word}{i}", s, e, [Phone(sym, s, e, ARPABET, i)]) for i, (sym, s, e) in enumerate(phones)]
    return Alignment(words, duration=max(e for _, _, e in phones))


# --------------------------------------------------------------------------- training data

TALKING_CLIPS = ["en_grid_man_denim_3s.mp4", "en_grid_woman_pinktop_3s.mp4", "en_lrs2_man_d_5s.mp4"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Several OpenMP threads on a loaded machine spin against each other (10x slower here)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    """Shards of three short real clips (analyses are cached by content, so this is quick); shared
    by the data and the training tests."""
    src = require_shared("data/talking")
    face = require_shared("models/face_landmarker.task")
    videos = tmp_path_factory.mktemp("videos")
    for name in TALKING_CLIPS:
        (videos / name).symlink_to(src / name)
    out = tmp_path_factory.mktemp("shards")
    from talker.data.shards import prepare

    index = prepare(videos, out, face_model=str(face), log=lambda *a: None)
    return out, index
