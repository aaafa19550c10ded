"""Text tokens for the model: tone-numbered pinyin for Chinese, single characters for Latin script.

The token scheme follows F5-TTS's "pinyin" tokenizer so that its vocabulary and checkpoints
work unchanged: a Chinese word becomes ``" " + syllable`` per character (``"zhong1"``,
``"lv4"``, neutral tone without a digit), Latin-script text stays character by character,
and index 0 is the space, which also stands for any unknown token.

Vocabularies:
- ``talker/model/vocab.txt`` (bundled) is generated from pypinyin's syllable table plus
  ASCII, Latin letters and CJK punctuation (``python -m talker.model.text --write-vocab``).
- F5-TTS's ``vocab.txt`` (2545 lines, in the ``SWivid/F5-TTS`` repository beside each
  checkpoint) is not shipped here; to use their weights, download it and pass its path as
  ``ModelConfig.vocab`` / ``load_vocab(path)``. Token ids depend on the file, so a model must
  always be used with the vocabulary it was trained with.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from pathlib import Path

import torch

DEFAULT_VOCAB_PATH = Path(__file__).with_name("vocab.txt")
PAD_ID = -1  # batch padding; the text embedding turns it (id + 1 == 0) into its filler row

# F5-TTS maps these before tokenizing; doing the same keeps ids identical with their vocab
_PUNCT_MAP = str.maketrans({";": ",", "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CJK_PUNCT = "，。！？、；：（）《》〈〉「」『』【】〔〕…—～·．“”‘’"


def _is_han(ch: str) -> bool:
    # the same range F5-TTS uses (bopomofo up to the end of the CJK unified block)
    return "\u3100" <= ch <= "\u9fff"


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(text, style=Style.TONE3, tone_sandhi=True)


def tokenize(text: str) -> list[str]:
    """Token strings for one utterance (no vocabulary needed; see module docstring for the scheme)."""
    tokens: list[str] = []
    text = (text or "").translate(_PUNCT_MAP)
    if not text:
        return tokens
    for seg in _jieba().cut(text):
        nbytes = len(seg.encode("utf-8"))
        if nbytes == len(seg):  # ASCII letters, digits, symbols
            if tokens and nbytes > 1 and tokens[-1] not in " :'\"":
                tokens.append(" ")
            tokens.extend(seg)
        elif nbytes == 3 * len(seg):  # all 3-byte characters: a Chinese word (maybe with CJK punctuation)
            syllables = _pinyin(seg)
            if len(syllables) != len(seg):  # pypinyin merged non-Han runs: go character by character
                tokens.extend(_mixed(seg))
                continue
            for ch, syl in zip(seg, syllables, strict=True):
                if _is_han(ch):
                    tokens.append(" ")
                tokens.append(syl)
        else:
            tokens.extend(_mixed(seg))
    return tokens


def _mixed(seg: str) -> list[str]:
    out: list[str] = []
    for ch in seg:
        if ord(ch) < 256:
            out.append(ch)
        elif _is_han(ch):
            out.append(" ")
            out.extend(_pinyin(ch))
        else:
            out.append(ch)
    return out


class Vocab:
    """Token string <-> id. Id 0 must be the space: it doubles as the unknown token."""

    def __init__(self, tokens: list[str], source: str = "") -> None:
        if not tokens or tokens[0] != " ":
            raise ValueError(f"vocabulary {source or '(in memory)'} must start with a space token (id 0)")
        self.tokens = list(tokens)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError(f"vocabulary {source or '(in memory)'} has duplicate tokens")
        self.source = source

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def from_file(cls, path: str | Path) -> Vocab:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"vocabulary file not found: {path} (F5-TTS's vocab.txt sits beside its checkpoint in SWivid/F5-TTS)"
            )
        # one token per line; strip only the newline, a token may itself be a space
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls([ln[:-1] if ln.endswith("\r") else ln for ln in lines], source=str(path))

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.index.get(tok, 0) for tok in tokens]

    def decode(self, ids: list[int]) -> list[str]:
        return [self.tokens[i] for i in ids if 0 <= i < len(self.tokens)]

    def unknown(self, tokens: list[str]) -> list[str]:
        """Tokens this vocabulary does not know (they become id 0); useful to warn a user."""
        return sorted({t for t in tokens if t not in self.index})


@functools.lru_cache(maxsize=8)
def _load_cached(path: str) -> Vocab:
    return Vocab.from_file(path)


def load_vocab(path: str | Path | None = None) -> Vocab:
    """The vocabulary at ``path``, or the bundled one when ``path`` is empty."""
    return _load_cached(str(Path(path).resolve()) if path else str(DEFAULT_VOCAB_PATH))


def default_vocab_size() -> int:
    return len(load_vocab())


def encode_batch(texts: list[str], vocab: Vocab | None = None) -> torch.Tensor:
    """(B, L) long tensor of ids, padded with ``PAD_ID`` (the layout the text embedding expects)."""
    vocab = vocab or load_vocab()
    ids = [vocab.encode(tokenize(t)) for t in texts]
    width = max((len(x) for x in ids), default=0)
    out = torch.full((len(ids), max(width, 1)), PAD_ID, dtype=torch.long)
    for i, row in enumerate(ids):
        if row:
            out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def build_default_vocab() -> list[str]:
    """Space, printable ASCII, Latin letters, CJK punctuation, every pinyin syllable x tones 1-5 and bare."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    tokens = [" "]
    tokens += [chr(c) for c in range(33, 127)]
    tokens += [chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()]
    tokens += list(dict.fromkeys(_CJK_PUNCT))
    bases = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            base = to_normal(reading)
            if re.fullmatch(r"[a-zê]+", base):
                bases.add(base)
    for base in sorted(bases):
        tokens.append(base)
        tokens += [f"{base}{tone}" for tone in range(1, 6)]
    return list(dict.fromkeys(tokens))


def write_default_vocab(path: str | Path = DEFAULT_VOCAB_PATH) -> int:
    tokens = build_default_vocab()
    Path(path).write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    _load_cached.cache_clear()
    return len(tokens)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m talker.model.text", description=__doc__.split("\n")[0])
    ap.add_argument("--write-vocab", metavar="PATH", nargs="?", const=str(DEFAULT_VOCAB_PATH))
    ap.add_argument("--vocab", help="vocabulary file for --show (default: bundled)")
    ap.add_argument("--show", metavar="TEXT", help="print tokens and ids for TEXT")
    args = ap.parse_args(argv)
    if args.write_vocab:
        print(f"wrote {write_default_vocab(args.write_vocab)} tokens to {args.write_vocab}")
    if args.show is not None:
        vocab = load_vocab(args.vocab)
        toks = tokenize(args.show)
        print(toks)
        print(vocab.encode(toks))
        if vocab.unknown(toks):
            print("unknown:", vocab.unknown(toks), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
