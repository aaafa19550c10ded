"""A long English recording aligned piece by piece, at flat memory.

pocketsphinx's alignment of one long utterance grows out of hand: 579 s of speech with its 1,740
words took 80 s and a peak of 9.1 GB in one piece, where 30 s took 1.3 s and 0.22 GB. So the
recording is cut in its pauses into pieces of up to ``PIECE_SECONDS`` (``audio.pieces.quiet_cuts``),
and the transcript is shared out by listening: each piece is decoded against a grammar that accepts
any beginning of the words still to come, and the words it hears are the piece's. Every piece is
then aligned on its own words and the pieces' timings are put end to end.

A word the grammar misplaces at a cut moves at most to the next piece, which begins with it (its
grammar has to start there), so an error stays at one join and never accumulates.
"""

from __future__ import annotations

import math

import numpy as np

from .phones import (
    _DECODER_LOCK,
    _SKIP,
    FRAME_S,
    AlignedWord,
    Alignment,
    AlignmentError,
    _align_english,
    _decode,
    _decoder,
    _pronounce,
    _to_pcm16,
    english_words,
)

LONG_SECONDS = 45.0  # a recording longer than this is aligned piece by piece
PIECE_SECONDS = 30.0
# At most this many words are offered to a piece's grammar per second of it (fast read speech is
# about 3.5 words per second), plus a few for short words.
MAX_WORDS_PER_SECOND = 6.0
# The piece is decoded with this much of the next one after it, so its last words are not at the
# very end of the decoded utterance (a safeguard; its effect alone was not measured).
LOOK_AHEAD_SECONDS = 3.0
_END_PROB = 0.05  # the grammar's chance of ending after any word: low, so it ends only when the audio does


def align_long(audio: np.ndarray, sample_rate: int, transcript: str,
               piece_seconds: float = PIECE_SECONDS) -> Alignment:
    from ..audio.pieces import quiet_cuts

    spoken = english_words(transcript)
    if not spoken:
        raise AlignmentError("The transcript has no words to align.", "Give the text that is spoken.")
    audio = np.asarray(audio, dtype=np.float32)
    cuts = quiet_cuts(audio, sample_rate, piece_seconds)
    words: list[AlignedWord] = []
    warnings: list[str] = []
    pos = 0
    for k, (s0, s1) in enumerate(cuts):
        piece = audio[s0:s1]
        if k == len(cuts) - 1:
            take = len(spoken) - pos
        else:
            # heard over the piece and a little of the next, so its last words are not at the end of an utterance
            ahead = audio[s0:min(audio.size, s1 + int(LOOK_AHEAD_SECONDS * sample_rate))]
            take = _words_heard(ahead, sample_rate, spoken[pos:], (s1 - s0) / sample_rate, audio.size - s0)
        mine, pos = spoken[pos:pos + take], pos + take
        if not mine:
            continue
        try:
            al = _align_english(piece, sample_rate, " ".join(src for _, src in mine), spoken=mine)
        except AlignmentError as e:
            warnings.append(f"{s0 / sample_rate:.0f}-{s1 / sample_rate:.0f} s could not be aligned ({e}).")
            continue
        warnings += [w for w in al.warnings if w not in warnings]
        words += al.shifted(s0 / sample_rate).words
    if not words:
        raise AlignmentError("No piece of the recording could be aligned to the transcript.",
                             "Check that the text is exactly what is said, in English, and that the audio is speech.")
    return Alignment(words, "en", "pocketsphinx, piece by piece", "phone", round(audio.size / sample_rate, 3),
                     " ".join(transcript.split()), warnings)


def _words_heard(audio: np.ndarray, sample_rate: int, rest: list[tuple[str, str]], seconds: float,
                 samples_left: int) -> int:
    """How many of the words ``rest`` (in order) are spoken in the first ``seconds`` of ``audio``:
    a prefix grammar decoded on it, the words counted that end before then; when the decoder finds
    no path, the share of the remaining words by duration."""
    offer = min(len(rest), int(math.ceil(MAX_WORDS_PER_SECOND * audio.size / sample_rate)) + 5)
    pcm, _ = _to_pcm16(audio, sample_rate)
    with _DECODER_LOCK:
        decoder = _decoder()
        states: list[str] = []  # the dictionary word of each grammar step
        index: list[int] = []  # which of ``rest`` it is (a word without any pronunciation is left out)
        for i, w in enumerate(rest[:offer]):
            entries, _ = _pronounce(decoder, [w])
            if entries:
                states.append(entries[0][0])
                index.append(i)
        heard = None
        if states:
            n = len(states)
            steps = [(i, i + 1, 1.0 - _END_PROB, word) for i, word in enumerate(states)]
            steps += [(i, n, _END_PROB) for i in range(1, n)]
            decoder.add_fsg("prefix", decoder.create_fsg("prefix", 0, n, steps))
            decoder.activate_search("prefix")  # set_fsg alone leaves the decoder without a search
            if _decode(decoder, pcm):
                cut = seconds / FRAME_S
                heard = sum(1 for seg in decoder.seg() if not _filler(seg.word)
                            and (seg.start_frame + seg.end_frame) / 2 < cut)
    if heard is None:
        return min(len(rest), int(round(len(rest) * seconds * sample_rate / max(samples_left, 1))))
    return index[heard - 1] + 1 if heard > 0 else 0


def _filler(word: str) -> bool:
    return word in _SKIP or word.startswith(("+", "["))
