"""Forced alignment: text handling, exact checks on synthetic alignments, then a real recording."""

from __future__ import annotations

import numpy as np
import pytest

from talker.align import Alignment, AlignmentError, align
from talker.align.phones import english_words, letters_to_sound

from .conftest import PRINTING, require_shared
from .conftest import one_word_per_phone as _al

# --------------------------------------------------------------------------- text handling


def test_english_words_normalise_numbers_and_punctuation():
    got = [w for w, _ in english_words("It's 42% of the lip-sync, in 1999!")]
    assert got == ["it's", "forty", "two", "percent", "of", "the", "lip", "sync", "in", "nineteen", "ninety", "nine"]
    assert english_words("  ,.;  ") == []


def test_letters_to_sound_gives_arpabet():
    pron = letters_to_sound("zorblax").split()
    assert pron and all(p.isupper() and p.isalpha() for p in pron)
    assert pron[0] == "Z" and "B" in pron


def test_numbers_are_spelled_like_the_synthesiser_says_them():
    words = [w for w, _ in english_words("In 1984, 42 people paid $3.50 on the 21st.")]
    assert words == ["in", "nineteen", "eighty", "four", "forty", "two", "people", "paid", "dollars", "three",
                     "point", "five", "zero", "on", "the", "twenty", "first"]


# --------------------------------------------------------------------------- alignments


def test_alignment_shift_and_roundtrip():
    al = _al([("P", 0.1, 0.2), ("AA", 0.2, 0.4)])
    moved = al.shifted(0.5)
    assert [p.start for p in moved.phones] == pytest.approx([0.6, 0.7])
    assert [p.start for p in al.phones] == pytest.approx([0.1, 0.2])  # original untouched
    back = Alignment.from_dict(moved.to_dict())
    assert back.phones[0].symbol == "P" and back.words[1].end == pytest.approx(0.9)


def test_mandarin_fallback_from_given_word_times():
    pytest.importorskip("pypinyin")
    audio = np.zeros(16000 * 2, dtype=np.float32)
    words = [{"text": "爸爸", "start": 0.1, "end": 0.7}, {"text": "妈", "start": 0.8, "end": 1.1}]
    al = align(audio, 16000, "爸爸妈妈。", "zh", asr_words=words)
    assert al.precision == "approximate" and al.language == "zh"
    assert [w.text for w in al.words] == ["爸", "爸", "妈", "妈"]
    syms = [p.symbol for p in al.phones]
    assert syms == ["B", "AA", "B", "AA", "M", "AA", "M", "AA"]
    starts = [w.start for w in al.words]
    assert starts[:3] == pytest.approx([0.1, 0.4, 0.8]) and starts[3] >= 1.1 - 1e-6  # last one interpolated
    assert all(p.end > p.start for p in al.phones)
    assert any("approximate" in w for w in al.warnings)


def test_align_errors_are_typed():
    with pytest.raises(AlignmentError):
        align(np.zeros(16000, dtype=np.float32), 16000, "   ")
    with pytest.raises(AlignmentError):
        align(np.zeros(16000, dtype=np.float32), 16000, "hallo welt", "de")


# --------------------------------------------------------------------------- pauses


# --------------------------------------------------------------------------- real recordings


@pytest.mark.slow
def test_align_printing_fixture():
    import soundfile as sf

    wav = require_shared("fixtures/audio/en_printing_10s.wav")
    audio, sr = sf.read(str(wav), dtype="float32")
    duration = audio.shape[0] / sr
    al = align(audio, sr, PRINTING)
    expected = [w for w, _ in english_words(PRINTING)]
    assert [w.text for w in al.words] == expected
    assert al.words[0].text == "printing" and al.words[0].start < 0.15
    times = [(p.start, p.end) for p in al.phones]
    assert all(s < e for s, e in times)
    assert all(times[i][1] <= times[i + 1][0] + 1e-6 for i in range(len(times) - 1))
    assert al.words[-1].end <= duration + 0.02
    assert 85 <= len(al.phones) <= 130  # 27 words of this sentence have ~108 dictionary phones
    assert {p.symbol for p in al.phones} <= {
        "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
        "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
        "Z", "ZH"}
    # Out-of-vocabulary words get a guessed pronunciation and a warning, not a failure.
    odd = align(audio, sr, PRINTING.replace("crafts", "craftz"))
    craft = next(w for w in odd.words if w.source == "craftz")
    assert craft.pronunciation == "rules" and any("craftz" in w for w in odd.warnings)
    # Text that cannot fit the audio is a typed error, not a pocketsphinx crash.
    with pytest.raises(AlignmentError):
        align(audio[: sr // 2], sr, PRINTING)


@pytest.mark.slow
def test_a_long_recording_is_aligned_piece_by_piece_like_one_piece():
    """Over LONG_SECONDS the recording is cut in its pauses and the transcript shared out by what
    each piece is heard to say; the timings must be those of aligning it whole."""
    from talker.align.long import LONG_SECONDS
    from talker.align.phones import _align_english
    from talker.media.decode import read_audio

    sr = 16000
    printing = read_audio(require_shared("fixtures/audio/en_printing_10s.wav"), sr)
    nature = read_audio(require_shared("fixtures/audio/en_nature_5s.wav"), sr)
    nature_text = "Some call me nature, others call me mother nature."
    parts, texts, starts, t = [], [], [], 0.0
    for k in range(4):  # pauses of different lengths, so the pieces do not fall on a pattern
        for clip, text in ((printing, PRINTING), (nature, nature_text)):
            starts.append((t, text.split()[0].strip(",").lower()))
            gap = np.zeros(int(sr * (0.3 + 0.15 * k)), np.float32)
            parts += [clip, gap]
            texts.append(text)
            t += (clip.size + gap.size) / sr
    audio = np.concatenate(parts)
    transcript = " ".join(texts)
    assert audio.size / sr > LONG_SECONDS
    pieces = align(audio, sr, transcript, "en")
    whole = _align_english(audio, sr, transcript)
    assert "piece by piece" in pieces.method and "piece" not in whole.method
    assert [w.text for w in pieces.words] == [w.text for w in whole.words] == [w for w, _ in english_words(transcript)]
    diff = np.abs([a.start - b.start for a, b in zip(pieces.words, whole.words, strict=True)])
    assert np.percentile(diff, 95) <= 0.03 and diff.max() <= 0.15
    # every clip's first word where the clip was put, as far into it as when the clip is aligned alone
    lead = {"printing": align(printing, sr, PRINTING).words[0].start,
            "some": align(nature, sr, nature_text).words[0].start}
    firsts = [w for w in pieces.words if w.source in ("Printing,", "Some")]
    assert len(firsts) == len(starts)
    for w, (t0, word) in zip(firsts, starts, strict=True):
        assert w.text == word and abs(w.start - (t0 + lead[word])) <= 0.06
