"""How a stage keeps its backends (talker.backends.BackendRegistry), and the two stages that use it."""

from __future__ import annotations

from talker.backends import BackendRegistry


class _Voice:
    def __init__(self, name: str, ok: bool, log: list) -> None:
        self.name, self.ok, self.log = name, ok, log

    def available(self) -> bool:
        return self.ok

    def close(self) -> None:
        self.log.append(f"close {self.name}")


def test_backends_are_built_once_on_first_use_and_listed_best_first():
    log: list = []
    built = []

    def factory():
        built.append(1)
        return [_Voice("best", False, log), _Voice("next", True, log)]

    reg = BackendRegistry(factory)
    assert not built  # creating the registry loads nothing
    assert [b.name for b in reg.all()] == ["best", "next"]
    assert [b.name for b in reg.available()] == ["next"]
    assert reg.all() is reg.all() and len(built) == 1


def test_reset_closes_every_backend_and_builds_them_again():
    log: list = []
    reg = BackendRegistry(lambda: [_Voice("a", True, log), _Voice("b", True, log)])
    first = reg.all()
    reg.reset()
    assert log == ["close a", "close b"]
    assert reg.all() is not first
    reg.reset()
    reg.reset()  # nothing built since: nothing to close twice
    assert log == ["close a", "close b", "close a", "close b"]


def test_speech_and_asr_backends_declare_the_whole_contract():
    """Every registered voice says what it misses and can be closed (callers no longer ask with
    hasattr); every recogniser can be closed."""
    from talker.asr import recognize
    from talker.speech import base
    from talker.speech.contract import SpeechBackend

    for voice in base._registry.all():
        assert isinstance(voice, SpeechBackend)
        assert isinstance(voice.missing(), str)
        assert voice.languages
    for asr in recognize._registry.all():
        assert isinstance(asr, recognize.ASRBackend)
        asr.close()
