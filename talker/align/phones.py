"""Phone-level forced alignment: a known transcript placed on the speech that says it.

English uses pocketsphinx's bundled en-us acoustic model and CMU dictionary (word search over
the transcript, then a state-level pass that splits every word into its phones). Words the
dictionary lacks get a pronunciation from compounding dictionary words or from simple letter
rules, so a name never stops the alignment. pocketsphinx has no Mandarin model: for Chinese
the characters are timed by Whisper and each character's span is split between its pinyin
initial and final — usable to find bilabial closures, but far coarser than a real aligner
(``Alignment.precision == "approximate"``).

Lip-sync scoring needs only coarse classes, so every phone is reported as an upper-case
ARPAbet symbol without stress (Mandarin sounds mapped to their nearest ARPAbet phone, the
pinyin kept in ``native``).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError, TalkerError
from ..phones import ARPABET, Phone

log = logging.getLogger(__name__)

ALIGN_RATE = 16000
FRAME_S = 0.01  # pocketsphinx frame shift (frate 100)



class AlignmentError(TalkerError):
    """The transcript could not be placed on the audio."""

    code = "alignment_failed"


# --------------------------------------------------------------------------- results


@dataclass
class AlignedWord:
    text: str  # the word as aligned (dictionary spelling, lower case; a character for Chinese)
    start: float
    end: float
    phones: list[Phone] = field(default_factory=list)  # ARPAbet
    source: str = ""  # the transcript token it came from ("Printing," → "printing"; "42" → "forty", "two")
    pronunciation: str = "dict"  # "dict", "compound", "rules" (letter-to-sound guess) or "pinyin"


@dataclass
class Alignment:
    words: list[AlignedWord]
    language: str = "en"
    method: str = "pocketsphinx"
    precision: str = "phone"  # "phone" (acoustic forced alignment) or "approximate" (ASR word times split)
    duration: float = 0.0  # seconds of audio aligned
    transcript: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def phones(self) -> list[Phone]:
        return [p for w in self.words for p in w.phones]

    def shifted(self, seconds: float) -> Alignment:
        """The same alignment moved in time (negative = earlier); used to simulate broken sync."""
        words = [
            AlignedWord(w.text, w.start + seconds, w.end + seconds,
                        [p.shifted(seconds) for p in w.phones], w.source, w.pronunciation)
            for w in self.words
        ]
        return Alignment(words, self.language, self.method, self.precision, self.duration, self.transcript,
                         list(self.warnings))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Alignment:
        words = [AlignedWord(**{**w, "phones": [Phone(**{"alphabet": ARPABET, **p}) for p in w.get("phones", [])]})
                 for w in data.get("words", [])]
        return cls(**{**data, "words": words})


# --------------------------------------------------------------------------- text → words

_SYMBOLS = {"%": "percent", "&": "and", "+": "plus", "@": "at", "$": "dollars", "€": "euros", "£": "pounds"}


def _number_token(tok: str) -> list[str]:
    """Digits spelled out with the speech normaliser's rules (years in pairs, decimals, ordinals),
    so aligner and synthesiser agree on what a numeral sounds like."""
    from ..text.normalize import number_en, ordinal_en, year_en

    digits = tok.replace(",", "")
    if re.fullmatch(r"\d+", digits):
        n = int(digits)
        if len(digits) == 4 and 1100 <= n <= 2099 and "," not in tok:
            return year_en(n).replace("-", " ").split()
        return number_en(digits).replace("-", " ").split()
    if re.fullmatch(r"\d+\.\d+", digits):
        return number_en(digits).replace("-", " ").split()
    m = re.fullmatch(r"(\d+)(st|nd|rd|th)", digits)
    if m:
        return ordinal_en(int(m.group(1))).replace("-", " ").split()
    # Mixed tokens such as "mp4" or "3d": letters and digit runs separately.
    out: list[str] = []
    for part in re.findall(r"\d+|[a-z']+", digits):
        out += number_en(part).replace("-", " ").split() if part.isdigit() else [part]
    return out


def english_words(text: str) -> list[tuple[str, str]]:
    """(spoken word, source token) pairs: lower case, punctuation dropped, digits spelled out."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\u2019", "'").replace("`", "'").replace("\u02bc", "'")
    out: list[tuple[str, str]] = []
    for token in text.split():
        for sym in _SYMBOLS:
            if sym in token and token != sym:
                token = token.replace(sym, f" {sym} ")
        for tok in token.split():
            if tok in _SYMBOLS:
                out.append((_SYMBOLS[tok], tok))
                continue
            core = tok.lower()
            # Hyphens and slashes join words that are spoken separately.
            for piece in re.split(r"[-/_–—]+", core):
                if any(ch.isdigit() for ch in piece):  # keep a decimal point inside numbers
                    piece = re.sub(r"[^\w'.,]+", "", piece).strip("'_.,")
                else:
                    piece = re.sub(r"[^\w']+", "", piece).strip("'_")
                if not piece:
                    continue
                if any(ch.isdigit() for ch in piece):
                    out += [(w, tok) for w in _number_token(piece)]
                else:
                    out.append((piece, tok))
    return out


# --------------------------------------------------------------------------- pronunciations

# Letter-to-sound rules for words missing from the dictionary: longest grapheme first. They are
# rough (English spelling is not regular), but a rough pronunciation still lets the aligner
# place the word and, more importantly, keeps the neighbouring words right.
_LTS = [
    ("tch", "CH"), ("sch", "S K"), ("igh", "AY"), ("ough", "AO"), ("tion", "SH AH N"), ("sion", "ZH AH N"),
    ("ture", "CH ER"), ("eigh", "EY"),
    ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"), ("qu", "K W"),
    ("gh", ""), ("kn", "N"), ("wr", "R"), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"),
    ("ai", "EY"), ("ay", "EY"), ("ei", "EY"), ("ey", "IY"), ("oa", "OW"), ("oi", "OY"), ("oy", "OY"), ("au", "AO"),
    ("aw", "AO"), ("ie", "IY"), ("ue", "UW"), ("ew", "UW"), ("er", "ER"), ("ir", "ER"), ("ur", "ER"), ("ar", "AA R"),
    ("or", "AO R"), ("x", "K S"), ("a", "AE"), ("e", "EH"), ("i", "IH"), ("o", "AA"), ("u", "AH"), ("b", "B"),
    ("d", "D"), ("f", "F"), ("h", "HH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("p", "P"),
    ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("v", "V"), ("w", "W"), ("z", "Z"),
]
_FOLD = str.maketrans("àáâãäåāèéêëēìíîïīòóôõöøōùúûüūñçýÿß", "aaaaaaaeeeeeiiiiiooooooouuuuuncyys")


def letters_to_sound(word: str) -> str:
    """A guessed ARPAbet pronunciation from spelling alone."""
    w = word.lower().translate(_FOLD)
    w = re.sub(r"[^a-z]", "", w)
    if not w:
        return ""
    if len(w) > 3 and w.endswith("e") and w[-2] not in "aeiouy":
        w = w[:-1]  # silent final e
    w = re.sub(r"([bdfgklmnprstvz])\1", r"\1", w)  # doubled consonants are one sound
    phones: list[str] = []
    i = 0
    while i < len(w):
        ch = w[i]
        nxt = w[i + 1] if i + 1 < len(w) else ""
        if ch == "c":
            phones.append("S" if nxt in ("e", "i", "y") else "K")
            i += 1
            continue
        if ch == "g":
            phones.append("JH" if nxt in ("e", "i", "y") and i > 0 else "G")
            i += 1
            continue
        if ch == "y":
            phones.append("Y" if i == 0 and nxt in "aeiou" else ("IY" if i == len(w) - 1 else "IH"))
            i += 1
            continue
        for graph, ph in _LTS:
            if w.startswith(graph, i):
                phones += ph.split()
                i += len(graph)
                break
        else:
            i += 1
    # Merge immediate repeats (e.g. "ck" after "c" rules) and keep it non-empty.
    out = [p for k, p in enumerate(phones) if k == 0 or p != phones[k - 1]]
    return " ".join(out) or "AH"


def _compound(word: str, lookup) -> str | None:
    """Pronunciation of a word made of dictionary words ("lipsync" → lip + sync), fewest pieces."""
    n = len(word)
    if n < 6:
        return None
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(3, n + 1):
        for start in range(0, end - 2):
            if best[start] is None:
                continue
            pron = lookup(word[start:end])
            if pron and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                best[end] = best[start] + [pron]
    return " ".join(best[n]) if best[n] and len(best[n]) <= 3 else None


# --------------------------------------------------------------------------- pocketsphinx

_DECODER_LOCK = threading.Lock()


def _decoder(wide: bool = False):
    try:
        from pocketsphinx import Decoder
    except ImportError as exc:
        raise AlignmentError("The phone aligner (pocketsphinx) is not installed.",
                             "Install the requirements (pip install pocketsphinx).") from exc
    kw = dict(lm=None, loglevel="FATAL")
    if wide:
        kw.update(beam=1e-80, wbeam=1e-60, pbeam=1e-80)
    return Decoder(**kw)


def _to_pcm16(audio: np.ndarray, sample_rate: int) -> tuple[bytes, float]:
    from ..audio.resample import resample

    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[1] <= x.shape[0] else 0)
    if x.ndim != 1:
        raise InputError("Audio must be mono or stereo samples.", "Pass a 1-D array of samples.")
    if sample_rate <= 0:
        raise InputError(f"Invalid sample rate {sample_rate}.", "Pass the rate the audio was decoded at.")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    x = resample(x, int(sample_rate), ALIGN_RATE)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0 and (peak < 0.1 or peak > 1.0):
        x = x * (0.7 / peak)  # quiet or over-range input: the front end wants a normal level
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return pcm, x.size / ALIGN_RATE


def _pronounce(decoder, words: list[tuple[str, str]]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(dictionary word, source token, how) per word, adding guessed pronunciations for OOV words."""
    warnings: list[str] = []
    out: list[tuple[str, str, str]] = []
    for word, src in words:
        if decoder.lookup_word(word):
            out.append((word, src, "dict"))
            continue
        bare = word.replace("'", "")
        if bare != word and decoder.lookup_word(bare):
            out.append((bare, src, "dict"))
            continue
        pron = _compound(bare, decoder.lookup_word)
        how = "compound"
        if not pron:
            pron, how = letters_to_sound(bare), "rules"
        if not pron:
            warnings.append(f"'{src}' has no pronunciation and was skipped in the alignment.")
            continue
        try:
            decoder.add_word(word, pron, True)
        except Exception:  # noqa: BLE001 - an unknown phone in a guess: skip the word, keep the rest
            warnings.append(f"'{src}' could not be added to the dictionary and was skipped in the alignment.")
            continue
        if how == "rules":
            warnings.append(f"'{word}' is not in the dictionary; its pronunciation was guessed ({pron}).")
        out.append((word, src, how))
    return out, warnings


def _decode(decoder, pcm: bytes, check_hyp: bool = True) -> bool:
    """One utterance; False when pocketsphinx finds no path (it raises on some of those).

    ``hyp()`` must not be called after the state-alignment pass: pocketsphinx 5.1 segfaults.
    """
    try:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    except RuntimeError:
        return False
    return decoder.hyp() is not None if check_hyp else True


def _run_alignment(pcm: bytes, spoken: list[tuple[str, str]], wide: bool):
    decoder = _decoder(wide)
    entries, warnings = _pronounce(decoder, spoken)
    if not entries:
        raise AlignmentError("The transcript has no words that can be aligned.", "Give the text that is spoken.")
    try:
        decoder.set_align_text(" ".join(w for w, _, _ in entries))
    except RuntimeError as exc:
        raise AlignmentError(f"The transcript could not be prepared for alignment ({exc}).",
                             "Check the text for unusual characters.") from exc
    if not _decode(decoder, pcm):  # pass 1: word boundaries
        return None, entries, warnings
    try:
        decoder.set_alignment()  # pass 2: phone and state boundaries inside the words found
    except RuntimeError:
        return None, entries, warnings
    if not _decode(decoder, pcm, check_hyp=False):
        return None, entries, warnings
    try:
        al = decoder.get_alignment()
    except RuntimeError:
        return None, entries, warnings
    if al is None:
        return None, entries, warnings
    rows = [(w.name, w.start, w.duration, [(p.name, p.start, p.duration) for p in w]) for w in al]
    return rows, entries, warnings


_SKIP = {"<s>", "</s>", "<sil>", "[NOISE]", "+NSN+", "+SPN+"}


def _align_english(audio: np.ndarray, sample_rate: int, transcript: str,
                   spoken: list[tuple[str, str]] | None = None) -> Alignment:
    """``spoken``: the transcript's words when the caller already has them (a piece of a long one)."""
    spoken = english_words(transcript) if spoken is None else spoken
    if not spoken:
        raise AlignmentError("The transcript has no words to align.", "Give the text that is spoken.")
    pcm, duration = _to_pcm16(audio, sample_rate)
    if duration < 0.1:
        raise AlignmentError("The audio is too short to align.", "Give at least a second of speech.")
    if not np.any(np.frombuffer(pcm, dtype="<i2")):
        raise AlignmentError("The audio is silent; there is no speech to align.", "Give audio with the words spoken.")
    with _DECODER_LOCK:  # pocketsphinx decoders are cheap but not meant to be shared across threads
        rows, entries, warnings = _run_alignment(pcm, spoken, wide=False)
        if rows is None:
            rows, entries, warnings = _run_alignment(pcm, spoken, wide=True)
    if rows is None:
        raise AlignmentError(
            "The transcript could not be aligned to the speech (the aligner found no path through all the words).",
            "Check that the text is exactly what is said, in English, and that the audio is speech.",
        )
    words: list[AlignedWord] = []
    k = 0
    for name, start, dur, phones in rows:
        if name in _SKIP or name.startswith("+") or name.startswith("["):
            continue
        base = re.sub(r"\(\d+\)$", "", name)
        src, how = (entries[k][1], entries[k][2]) if k < len(entries) else (base, "dict")
        k += 1
        wi = len(words)
        ph = [Phone(re.sub(r"\d", "", p).upper(), round(s * FRAME_S, 3), round((s + d) * FRAME_S, 3), ARPABET, wi)
              for p, s, d in phones if p.upper() != "SIL"]
        words.append(AlignedWord(base, round(start * FRAME_S, 3), round((start + dur) * FRAME_S, 3), ph, src, how))
    return Alignment(words, "en", "pocketsphinx", "phone", round(duration, 3), " ".join(transcript.split()),
                     warnings)


# --------------------------------------------------------------------------- Mandarin fallback

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Nearest ARPAbet phone of each pinyin initial; b p m are the ones lip sync cares about.
_ZH_INITIALS = {
    "b": "B", "p": "P", "m": "M", "f": "F", "d": "D", "t": "T", "n": "N", "l": "L", "g": "G", "k": "K",
    "h": "HH", "j": "JH", "q": "CH", "x": "SH", "zh": "JH", "ch": "CH", "sh": "SH", "r": "R", "z": "Z",
    "c": "S", "s": "S", "y": "Y", "w": "W",
}
# Nucleus of each final (medials i/u/ü dropped), as the vowel whose mouth shape is closest.
_ZH_NUCLEI = [
    ("iang", "AA"), ("uang", "AA"), ("iong", "UH"), ("ueng", "AH"), ("iao", "AW"), ("ian", "EH"), ("uai", "AY"),
    ("uan", "AA"), ("üan", "EH"), ("van", "EH"), ("ang", "AA"), ("eng", "AH"), ("ing", "IY"), ("ong", "UH"),
    ("ai", "AY"), ("ao", "AW"), ("an", "AA"), ("ei", "EY"), ("en", "AH"), ("er", "ER"), ("ia", "AA"),
    ("ie", "EH"), ("in", "IY"), ("iu", "OW"), ("ou", "OW"), ("ua", "AA"), ("ue", "EH"), ("üe", "EH"), ("ve", "EH"),
    ("ui", "EY"), ("un", "AH"), ("uo", "AO"), ("ün", "IY"), ("vn", "IY"), ("a", "AA"), ("e", "AH"), ("i", "IY"),
    ("o", "AO"), ("u", "UW"), ("ü", "UW"), ("v", "UW"),
]


def _pinyin_parts(char: str) -> tuple[str, str] | None:
    try:
        from pypinyin import Style, pinyin
    except ImportError:
        return None
    ini = pinyin(char, style=Style.INITIALS, strict=False, errors="ignore")
    fin = pinyin(char, style=Style.FINALS, strict=False, errors="ignore")
    if not fin or not fin[0]:
        return None
    return (ini[0][0] if ini and ini[0] else ""), fin[0][0]


def _final_phones(final: str) -> list[tuple[str, str]]:
    """(ARPAbet, part of the final) for the nucleus and a nasal coda."""
    coda = "NG" if final.endswith("ng") else ("N" if final.endswith("n") and final != "er" else "")
    vowel = next((v for graph, v in _ZH_NUCLEI if final.startswith(graph)), "AH")
    return [(vowel, final)] + ([(coda, final[-2:] if coda == "NG" else final[-1])] if coda else [])


def _char_times(transcript: str, asr_words: list) -> tuple[list[str], list[tuple[float, float]], list[str]]:
    """Each Han character of the transcript with a time span taken from the ASR's characters."""
    import difflib

    warnings: list[str] = []
    ref = _HAN.findall(transcript)
    hyp_chars: list[str] = []
    hyp_spans: list[tuple[float, float]] = []
    for w in asr_words:
        text, start, end = (w["text"], w["start"], w["end"]) if isinstance(w, dict) else (w.text, w.start, w.end)
        chars = _HAN.findall(text)
        if not chars:
            continue
        step = (end - start) / len(chars)
        for i, ch in enumerate(chars):
            hyp_chars.append(ch)
            hyp_spans.append((start + i * step, start + (i + 1) * step))
    if not ref:
        return [], [], warnings
    if not hyp_chars:
        raise AlignmentError("Speech recognition found no Chinese characters to time the transcript with.",
                             "Check that the audio is Mandarin speech.")
    spans: list[tuple[float, float] | None] = [None] * len(ref)
    sm = difflib.SequenceMatcher(a=ref, b=hyp_chars, autojunk=False)
    for a, b, size in sm.get_matching_blocks():
        for i in range(size):
            spans[a + i] = hyp_spans[b + i]
    matched = sum(s is not None for s in spans)
    if matched < len(ref):
        warnings.append(f"{len(ref) - matched} of {len(ref)} characters differ from what the recogniser heard; "
                        "their times were interpolated.")
    # Unmatched runs share the gap between their matched neighbours.
    i = 0
    while i < len(ref):
        if spans[i] is not None:
            i += 1
            continue
        j = i
        while j < len(ref) and spans[j] is None:
            j += 1
        lo = spans[i - 1][1] if i > 0 else hyp_spans[0][0]
        hi = spans[j][0] if j < len(ref) else hyp_spans[-1][1]
        if hi <= lo:
            hi = lo + 0.15 * (j - i)
        step = (hi - lo) / (j - i)
        for k in range(i, j):
            spans[k] = (lo + (k - i) * step, lo + (k - i + 1) * step)
        i = j
    return ref, [s for s in spans if s is not None], warnings


def _align_mandarin(audio: np.ndarray, sample_rate: int, transcript: str, asr_words=None) -> Alignment:
    try:
        import pypinyin  # noqa: F401
    except ImportError as exc:
        raise AlignmentError("Chinese alignment needs pypinyin, which is not installed.",
                             "Install the requirements (pip install pypinyin).") from exc
    duration = np.asarray(audio).shape[0] / float(sample_rate)
    if asr_words is None:
        from .. import asr

        asr_words = asr.transcribe(audio, sample_rate, language="zh").words
    chars, spans, warnings = _char_times(transcript, asr_words)
    if not chars:
        raise AlignmentError("The transcript has no Chinese characters to align.", "Give the text that is spoken.")
    warnings.insert(0, "Chinese alignment is approximate: character times come from speech recognition and "
                       "each character is split into its initial and final by rule (no acoustic phone model).")
    words: list[AlignedWord] = []
    for wi, (ch, (s, e)) in enumerate(zip(chars, spans, strict=True)):
        parts = _pinyin_parts(ch)
        phones: list[Phone] = []
        if parts:
            initial, final = parts
            units: list[tuple[str, str, float]] = []
            if initial in _ZH_INITIALS:
                # A consonant lasts ~60–100 ms whatever the syllable's length.
                units.append((_ZH_INITIALS[initial], initial, min(0.3, 0.09 / max(e - s, 1e-3))))
            fin = _final_phones(final)
            rest = 1.0 - sum(u[2] for u in units)
            if len(fin) == 2:
                units += [(fin[0][0], fin[0][1], rest * 0.75), (fin[1][0], fin[1][1], rest * 0.25)]
            else:
                units.append((fin[0][0], fin[0][1], rest))
            t = s
            for sym, native, share in units:
                t1 = t + share * (e - s)
                phones.append(Phone(sym, round(t, 3), round(t1, 3), ARPABET, wi, native))
                t = t1
        words.append(AlignedWord(ch, round(s, 3), round(e, 3), phones, ch, "pinyin"))
    return Alignment(words, "zh", "whisper+pypinyin", "approximate", round(duration, 3),
                     " ".join(transcript.split()), warnings)


# --------------------------------------------------------------------------- entry points


def _lang(language: str | None, transcript: str) -> str:
    lang = (language or "").strip().lower().replace("_", "-")
    if lang.startswith("zh") or lang in {"cmn", "yue", "chinese", "mandarin"}:
        return "zh"
    if lang.startswith("en") or lang == "english":
        return "en"
    if not lang:
        han = len(_HAN.findall(transcript))
        return "zh" if han > 0.3 * max(1, len(transcript.replace(" ", ""))) else "en"
    return lang


def align(audio: np.ndarray, sample_rate: int, transcript: str, language: str | None = "en",
          *, asr_words=None) -> Alignment:
    """Phones and words of ``transcript`` timed on ``audio`` (seconds from its first sample).

    ``asr_words`` (Mandarin only) are word timings already at hand (Whisper ``Word`` objects or
    ``{"text","start","end"}`` dicts), which saves a second recognition pass.
    Raises ``AlignmentError`` when the text cannot be placed or the language has no aligner.
    """
    if not transcript or not transcript.strip():
        raise AlignmentError("No transcript was given to align.", "Give the text that is spoken.")
    lang = _lang(language, transcript)
    if lang == "en":
        from .long import LONG_SECONDS, align_long

        if np.asarray(audio).shape[0] > LONG_SECONDS * sample_rate:
            return align_long(audio, sample_rate, transcript)
        return _align_english(audio, sample_rate, transcript)
    if lang == "zh":
        return _align_mandarin(audio, sample_rate, transcript, asr_words)
    raise AlignmentError(f"There is no phone aligner for language '{lang}'.",
                         "Phone alignment supports English (pocketsphinx) and Mandarin (approximate).")


def align_auto(audio: np.ndarray, sample_rate: int, transcript: str | None = None,
               language: str | None = None) -> Alignment:
    """``align`` with the transcript (and language) from offline ASR when none is given."""
    asr_words = None
    if not transcript or not transcript.strip():
        from .. import asr

        tx = asr.transcribe(audio, sample_rate, language=language)
        if tx.is_empty:
            raise AlignmentError("Speech recognition heard no words to align.", "Check that the audio has speech.")
        transcript, language, asr_words = tx.text, tx.language, tx.words
        out = align(audio, sample_rate, transcript, language, asr_words=asr_words)
        out.warnings.append(f"The transcript came from speech recognition ({tx.backend}); "
                            "recognition errors become alignment errors.")
        return out
    return align(audio, sample_rate, transcript, language)
