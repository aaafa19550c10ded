"""How a stage keeps its interchangeable backends: a list, best first, built on first use (so
importing a stage loads no model), read by every request, and reset by closing each one.
Speech synthesis (``talker.speech``) and speech recognition (``talker.asr``) both register
their backends here; a new backend is one more entry in its stage's factory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    name: str

    def available(self) -> bool: ...

    def close(self) -> None: ...


B = TypeVar("B", bound=Closable)


class BackendRegistry(Generic[B]):
    def __init__(self, factory: Callable[[], list[B]]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._backends: list[B] | None = None

    def all(self) -> list[B]:
        """Every known backend, best first (built now if this is the first call)."""
        with self._lock:
            if self._backends is None:
                self._backends = list(self._factory())
            return self._backends

    def available(self) -> list[B]:
        """Backends that can run now, best first; nothing is loaded or downloaded here."""
        return [b for b in self.all() if b.available()]

    def reset(self) -> None:
        """Close every backend (worker processes stop, models are let go) and forget them; the
        next call builds them again, re-reading the environment."""
        with self._lock:
            for b in self._backends or []:
                b.close()
            self._backends = None
