"""Splitting long text into pieces a voice can synthesise in one request.

Pieces end at sentence boundaries where possible, then at clause punctuation, then between
words (jieba segments Chinese, which has no spaces). Only a single "word" longer than the limit
(a long run with no space or punctuation) is ever cut inside.
"""

from __future__ import annotations

import re

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A sentence ends at . ! ? … (then a space) or at Chinese 。！？ (no space needed), with any
# closing quotes or brackets kept on the sentence they close; a newline always ends one.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])[”’」』）\]]*\s*|\s*\n\s*")

SENTENCE_PUNCT = ".!?…。！？"
CLAUSE_PUNCT = ",;:，；：、"


def split_sentences(text: str) -> list[str]:
    """Sentences in order, stripped, none empty."""
    parts, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        chunk = text[pos:m.end()].strip()
        if chunk:
            parts.append(chunk)
        pos = m.end()
    tail = text[pos:].strip()
    if tail:
        parts.append(tail)
    return parts


def _words(text: str) -> list[str]:
    """Tokens that may be joined back with "" and never cut: spaces stay attached to the left word."""
    tokens: list[str] = []
    for m in re.finditer(r"\S+\s*", text):
        tok = m.group(0)
        if re.search(f"[{_HAN}]", tok) and len(tok.strip()) > 1:
            tokens.extend(_han_words(tok))
        else:
            tokens.append(tok)
    return tokens


def _han_words(token: str) -> list[str]:
    try:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        return [w for w in jieba.cut(token, HMM=True) if w]
    except Exception:  # noqa: BLE001 - no jieba: one Han character is one unit
        return re.findall(f"[{_HAN}]|[^{_HAN}]+", token)


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one over-long sentence between words, at the last clause mark when one is near."""
    if len(sentence) <= max_chars:
        return [sentence]
    units: list[str] = []
    for w in _words(sentence):
        if len(w.strip()) > max_chars:  # one unbreakable run: cutting it is the only way
            units.extend(w[i:i + max_chars] for i in range(0, len(w), max_chars))
        else:
            units.append(w)

    def size(us: list[str]) -> int:
        return len("".join(us).strip())

    out: list[str] = []
    cur: list[str] = []
    for u in units:
        while cur and size(cur + [u]) > max_chars:
            clause_ends = [i + 1 for i, x in enumerate(cur) if x.rstrip() and x.rstrip()[-1] in CLAUSE_PUNCT]
            cut = clause_ends[-1] if clause_ends and size(cur[:clause_ends[-1]]) >= max_chars // 3 else len(cur)
            out.append("".join(cur[:cut]).strip())
            cur = cur[cut:]
        cur.append(u)
    if size(cur):
        out.append("".join(cur).strip())
    return [p for p in out if p]


def split_text(text: str, max_chars: int = 400) -> list[str]:
    """Pieces of at most ``max_chars`` characters, whole sentences packed together when they fit."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    units: list[str] = []
    for s in split_sentences(text or ""):
        units.extend(_split_long(s, max_chars))
    return _pack(units, max_chars, max_chars)


def _pack(units: list[str], first_limit: int, max_chars: int) -> list[str]:
    """Units joined in order into pieces; the first piece up to ``first_limit`` characters, each
    next one up to twice the last's limit, never above ``max_chars``."""
    out: list[str] = []
    cur = ""
    limit = first_limit
    for u in units:
        # Chinese sentences join without a space, others with one.
        joiner = "" if (cur and (cur[-1] in "。！？；：，、" or re.match(f"[{_HAN}]", u[0]))) else " "
        cand = (cur + joiner + u) if cur else u
        if len(cand) <= limit:
            cur = cand
        else:
            if cur:
                out.append(cur)
                limit = min(2 * limit, max_chars)
            cur = u
    if cur:
        out.append(cur)
    return out


def video_pieces(text: str, piece_chars: int = 400, first_chars: int | None = None) -> list[str]:
    """Text cut into the pieces of a video made piece by piece: whole sentences packed up to
    ``piece_chars``. ``first_chars``: the first piece is short (its first sentence, cut at a
    clause when longer), so it plays soon, and each next one may be twice as long as the last
    until ``piece_chars``, so each piece is made while the ones before it play."""
    if not first_chars:
        return split_text(text, piece_chars)
    first_chars = max(20, min(int(first_chars), piece_chars))
    units: list[str] = []
    for s in split_sentences(text or ""):
        units.extend(_split_long(s, piece_chars))
    if not units:
        return []
    units = _split_long(units[0], first_chars) + units[1:]
    return _pack(units, first_chars, piece_chars)
