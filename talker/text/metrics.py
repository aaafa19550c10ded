"""Word and character error rates with a normalisation that scores words, not formatting.

ASR output differs from references in case, punctuation (ASCII vs full-width) and spacing; none
of that is a recognition error, so both sides are normalised the same way before jiwer runs.
CJK text has no spaces between words, so each CJK character counts as one word for WER and
spaces are ignored for CER.

Traditional vs simplified characters (對/对) are *not* unified: an ASR answer in traditional
script scores as wrong. The recogniser is prompted for simplified Chinese instead.
"""

from __future__ import annotations

import re
import unicodedata

import jiwer

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{_CJK}]")
_APOSTROPHES = "'\u2019\u02bc`"


def normalize(text: str) -> str:
    """Lowercase, NFKC, punctuation removed (apostrophes joined, others split), spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    for ch in _APOSTROPHES:
        text = text.replace(ch, "")
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join(text.split())


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text or ""))


def _words(text: str) -> str:
    """Normalised text with every CJK character standing alone as a word."""
    text = normalize(text)
    return " ".join(re.sub(f"([{_CJK}])", r" \1 ", text).split())


def _chars(text: str, cjk: bool) -> str:
    text = normalize(text)
    return text.replace(" ", "") if cjk else text


def _rate(ref: str, hyp: str, fn) -> float:
    if not ref:
        # jiwer refuses an empty reference; anything said against silence is all wrong.
        return 0.0 if not hyp else 1.0
    return float(fn(ref, hyp if hyp else ""))


def word_count(text: str) -> int:
    """Words as :func:`wer` counts them, so error rates can be pooled over many outputs."""
    return len(_words(text).split())


def wer(ref: str, hyp: str) -> float:
    """Word error rate after :func:`normalize`; CJK characters count as words."""
    return _rate(_words(ref), _words(hyp), jiwer.wer)


def cer(ref: str, hyp: str) -> float:
    """Character error rate after :func:`normalize`; spaces are ignored when either side is CJK."""
    cjk = has_cjk(ref) or has_cjk(hyp)
    return _rate(_chars(ref, cjk), _chars(hyp, cjk), jiwer.cer)


def join_words(words: list[str]) -> str:
    """ASR words (stripped) back into text: a space between words, none where either side is CJK."""
    out = ""
    for w in (str(x).strip() for x in words):
        if not w:
            continue
        if out and not (_CJK_RE.match(out[-1]) or _CJK_RE.match(w[0])):
            out += " "
        out += w
    return out
