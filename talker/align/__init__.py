"""Forced alignment: where each word and phone of a transcript is spoken (ARPAbet ``Phone``s)."""

from .phones import AlignedWord, Alignment, AlignmentError, align, align_auto

__all__ = ["AlignedWord", "Alignment", "AlignmentError", "align", "align_auto"]
