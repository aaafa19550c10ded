"""The one phone type handed from speech (a voice's own timings) and alignment (sounds placed on
speech we did not make) to motion (the mouth follows them), and the ARPAbet inventory.

A voice speaks IPA as espeak writes it ("_" a pause, " " a word boundary, one symbol per
character); the aligner and the viseme model speak ARPAbet (upper case, no stress digit,
"SIL" a pause). Each phone says which: ``alphabet``. ``to_arpabet`` / ``normalise_phones``
convert where a voice hands its phones to the mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

IPA = "ipa"
ARPABET = "arpabet"

ARPABET_PHONES: tuple[str, ...] = (
    "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
BILABIAL = frozenset({"P", "B", "M"})
LABIODENTAL = frozenset({"F", "V"})
STOPS = frozenset({"P", "B", "T", "D", "K", "G"})
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
PAUSE_SYMBOLS = frozenset({"_", " "})  # IPA pauses as voices write them


@dataclass
class Phone:
    symbol: str
    start: float  # seconds from the start of the audio
    end: float
    alphabet: str  # IPA or ARPABET
    word_index: int = -1  # aligned phones: index into Alignment.words
    native: str = ""  # aligned phones of another language: its own unit (pinyin initial / final)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def shifted(self, seconds: float) -> Phone:
        return Phone(self.symbol, self.start + seconds, self.end + seconds, self.alphabet, self.word_index,
                     self.native)


# espeak/Piper IPA (one symbol per character) → ARPAbet. Modifiers (ː ˈ ˌ) and anything unknown
# extend the previous phone instead of starting a new one.
_IPA = {
    "p": "P", "b": "B", "m": "M", "f": "F", "v": "V", "θ": "TH", "ð": "DH", "t": "T", "d": "D", "n": "N",
    "l": "L", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "k": "K", "ɡ": "G", "g": "G", "ŋ": "NG", "h": "HH",
    "ɹ": "R", "r": "R", "w": "W", "j": "Y", "ʔ": "T", "ɾ": "D", "x": "HH", "ç": "HH", "ɬ": "L", "ʋ": "V",
    "ɑ": "AA", "a": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO", "ɒ": "AO", "ɛ": "EH",
    "e": "EY", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ᵻ": "IH", "ɪ": "IH", "i": "IY", "y": "UW", "ʊ": "UH",
    "u": "UW", "o": "OW", "ø": "OW", "œ": "EH", "ɯ": "UH", "ɨ": "IH", "ʏ": "UH",
    # Mandarin sounds (espeak-ng's and misaki's IPA), by the nearest English mouth shape: the
    # alveolo-palatal and retroflex fricatives spread and round the lips like /ʃ ʒ/, ɤ is open
    # like /ʌ/, ɥ rounds like /w/
    "ɕ": "SH", "ʂ": "SH", "ʐ": "ZH", "ɻ": "R", "ɤ": "AH", "ɥ": "W",
}
_PAUSE = {"_", " ", "^", "$", "SIL", "SP", "sil", "sp", "", ".", ",", "!", "?", ";", ":", "-", "…"}


def to_arpabet(symbol: str) -> str | None:
    """ARPAbet phone for an ARPAbet or IPA symbol; "SIL" for pauses; None: extends the previous.

    An upper-cased symbol that is an ARPAbet phone is taken as one before the IPA table is read,
    so IPA "y" (the rounded vowel of Mandarin ü) becomes the glide Y, not UW. Kept as fitted:
    the viseme model was fitted with this mapping, and Mandarin gets its own visemes in #19.
    """
    s = symbol.strip()
    if symbol in _PAUSE or s in _PAUSE:
        return "SIL"
    up = "".join(ch for ch in s.upper() if not ch.isdigit())
    if up in ARPABET_PHONES:
        return up
    if s and s[0] in _IPA:
        return _IPA[s[0]]
    return None


def normalise_phones(phones: list[Phone]) -> list[Phone]:
    """Phones of either alphabet → merged ARPAbet phones (pauses joined, aligner gaps as SIL)."""
    out: list[Phone] = []
    for p in phones:
        a = to_arpabet(p.symbol)
        start, end = float(p.start), float(p.end)
        if end <= start:
            continue
        if a is None or (out and a == out[-1].symbol and a == "SIL"):
            if out:
                out[-1].end = max(out[-1].end, end)
            continue
        if out and start - out[-1].end > 0.02:  # an aligner's unlabelled gap is a pause
            if out[-1].symbol == "SIL":
                out[-1].end = start
            else:
                out.append(Phone("SIL", out[-1].end, start, ARPABET))
        if a == "SIL" and out and out[-1].symbol == "SIL":
            out[-1].end = max(out[-1].end, end)
            continue
        out.append(Phone(a, start, end, ARPABET))
    return out


def with_pauses(phones: list[Phone], speech: list[tuple[float, float]], min_pause: float = 0.08) -> list[Phone]:
    """ARPAbet phones cut where voice activity says nobody speaks: aligners stretch a word's last
    phone over the pause after it, which would hold the mouth mid-word through the silence."""
    if not speech:
        return phones
    out: list[Phone] = []
    for p in phones:
        if p.symbol in STOPS:  # a plosive's closure is silent by nature: voice activity says nothing
            out.append(p)
            continue
        parts = [(max(p.start, a), min(p.end, b)) for a, b in speech if b > p.start and a < p.end]
        if p.symbol == "SIL" or not parts:
            out.append(Phone("SIL", p.start, p.end, ARPABET))
            continue
        # keep the phone over its voiced extent; gaps of at least min_pause become silence
        start, end = parts[0][0], parts[-1][1]
        if start - p.start >= min_pause:
            out.append(Phone("SIL", p.start, start, ARPABET))
        else:
            start = p.start
        out.append(Phone(p.symbol, start, end if p.end - end >= min_pause else p.end, ARPABET))
        if p.end - end >= min_pause:
            out.append(Phone("SIL", end, p.end, ARPABET))
    merged: list[Phone] = []
    for p in out:
        if merged and p.symbol == "SIL" and merged[-1].symbol == "SIL":
            merged[-1].end = p.end
        else:
            merged.append(p)
    return merged
