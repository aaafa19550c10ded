"""The one phone type and its conversions (talker.phones): what speech and alignment hand to the mouth."""

from __future__ import annotations

import pytest

from talker.phones import ARPABET, IPA, Phone, normalise_phones, to_arpabet, with_pauses


@pytest.mark.parametrize("symbol, arpabet", [
    ("p", "P"), ("ʃ", "SH"), ("ɑː", "AA"), ("ə", "AH"), ("j", "Y"),  # IPA as espeak/Piper write it
    ("AA1", "AA"), ("iy", "IY"), ("M", "M"),  # ARPAbet with stress digits, any case
    ("_", "SIL"), (" ", "SIL"), ("sp", "SIL"), (",", "SIL"),  # pauses of voices and aligners
])
def test_symbols_of_either_alphabet_map_to_arpabet(symbol, arpabet):
    assert to_arpabet(symbol) == arpabet


def test_modifiers_extend_the_previous_phone():
    """Length and stress marks are not sounds: they lengthen the phone before them."""
    assert to_arpabet("ː") is None and to_arpabet("ˈ") is None
    phones = [Phone("b", 0.0, 0.1, IPA), Phone("ɑ", 0.1, 0.2, IPA), Phone("ː", 0.2, 0.3, IPA),
              Phone("_", 0.3, 0.5, IPA), Phone(" ", 0.5, 0.6, IPA)]
    out = normalise_phones(phones)
    assert [(p.symbol, p.start, p.end) for p in out] == [("B", 0.0, 0.1), ("AA", 0.1, 0.3), ("SIL", 0.3, 0.6)]
    assert {p.alphabet for p in out} == {ARPABET}


def test_an_aligners_unlabelled_gap_becomes_a_pause():
    phones = [Phone("HH", 0.0, 0.1, ARPABET), Phone("AY", 0.1, 0.3, ARPABET), Phone("M", 0.5, 0.6, ARPABET)]
    out = normalise_phones(phones)
    assert [(p.symbol, p.start, p.end) for p in out] == [("HH", 0.0, 0.1), ("AY", 0.1, 0.3), ("SIL", 0.3, 0.5),
                                                         ("M", 0.5, 0.6)]


def test_empty_and_reversed_phones_are_dropped():
    out = normalise_phones([Phone("a", 0.2, 0.2, IPA), Phone("b", 0.5, 0.4, IPA), Phone("m", 0.5, 0.7, IPA)])
    assert [(p.symbol, p.start, p.end) for p in out] == [("M", 0.5, 0.7)]


def test_shifted_keeps_what_the_phone_is():
    p = Phone("AO", 1.0, 1.5, ARPABET, word_index=3, native="uo").shifted(-0.25)
    assert (p.symbol, p.start, p.end, p.alphabet, p.word_index, p.native) == ("AO", 0.75, 1.25, ARPABET, 3, "uo")
    assert p.duration == pytest.approx(0.5)


def test_pauses_inside_a_phone_cut_it_but_plosive_closures_stay():
    phones = [Phone("P", 0.0, 0.1, ARPABET), Phone("AA", 0.1, 0.9, ARPABET)]
    out = with_pauses(phones, [(0.0, 0.5)])
    assert [(p.symbol, p.start, p.end) for p in out] == [("P", 0.0, 0.1), ("AA", 0.1, 0.5), ("SIL", 0.5, 0.9)]


def test_pauses_cut_vowels_but_keep_silent_plosive_closures():
    phones = [Phone("P", 0.0, 0.08, ARPABET), Phone("AA", 0.08, 0.5, ARPABET), Phone("B", 0.5, 0.6, ARPABET),
              Phone("IY", 0.6, 1.2, ARPABET)]
    # voice activity hears nothing before 0.1 s (the /p/ closure is silent) and nothing after 0.9 s
    out = with_pauses(phones, [(0.1, 0.9)])
    assert (out[0].symbol, out[0].start, out[0].end) == ("P", 0.0, 0.08)  # kept: lips must still close
    assert [p.symbol for p in out] == ["P", "AA", "B", "IY", "SIL"]
    assert out[-2].end == pytest.approx(0.9) and out[-1].end == pytest.approx(1.2)
