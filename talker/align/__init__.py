"""Forced alignment: where each word and phone of a transcript is spoken."""

from .phones import (
    BILABIALS,
    VOWELS,
    AlignedPhone,
    AlignedWord,
    Alignment,
    AlignmentError,
    align,
    align_auto,
)

__all__ = ["BILABIALS", "VOWELS", "AlignedPhone", "AlignedWord", "Alignment", "AlignmentError", "align", "align_auto"]
