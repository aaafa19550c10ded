"""Typed errors that carry a user-facing message: what went wrong and what to do.

Every stage raises these instead of letting library exceptions escape, so the CLI, the
app and the API can show one readable line to a person and never a stack trace.
"""

from __future__ import annotations


class TalkerError(Exception):
    """Base class: ``problem`` says what is wrong, ``fix`` says what the user can do."""

    code = "talker_error"

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.problem} {self.fix}".strip()

    def to_dict(self) -> dict:
        return {"error": self.code, "problem": self.problem, "fix": self.fix}


class InputError(TalkerError):
    """The user's file or text cannot be used as given."""

    code = "bad_input"


class MediaNotFoundError(InputError):
    code = "file_not_found"


class MediaDecodeError(InputError):
    code = "unreadable_media"


class NoAudioError(InputError):
    code = "no_audio"


class SilentAudioError(InputError):
    code = "silent_audio"


class NoFaceError(InputError):
    code = "no_face"


class FaceTooSmallError(InputError):
    code = "face_too_small"


class ClipTooShortError(InputError):
    code = "too_short"


class TextError(InputError):
    code = "bad_text"


class ModelUnavailableError(TalkerError):
    """A model could not be found locally and could not be downloaded."""

    code = "model_unavailable"


class TemplateError(TalkerError):
    code = "template_error"
