# SPDX-License-Identifier: GPL-3.0-or-later  (this program alone imports piper-tts; the rest of talker is Apache-2.0)
"""Piper voice worker: ``python -m talker.speech.piper_worker --model VOICE.onnx``.

piper-tts is GPL-3.0-or-later and the talker core is Apache-2.0, so piper is only ever imported
in this separate program; the core talks to it over pipes (see ``piper_backend``). It loads the
voice once and answers requests until its stdin closes.

Protocol (``talker.speech.worker``), one JSON object per line:

* first line out: ``{"event": "ready", "sample_rate": 22050, "load_s": 4.9, "pid": 123}``
  (or ``{"event": "error", "error": "..."}`` and exit 2 when the voice cannot load);
* in: ``{"id": 1, "text": "Hello.", "length_scale": 1.0, "seed": 0}``;
* out: ``{"id": 1, "ok": true, "sample_rate": 22050, "num_samples": N, "audio_b64": <float32 LE>,
  "phonemes": [["^", 512, 512], ["h", 256, 256], ...], "approximate": false, "seeded": true, "synth_s": 0.1}``
  with [phoneme, its samples, samples of the blank after it]; all counts add up to ``num_samples``; or ``{"id": 1, "ok": false, "error": "..."}``.

Only stdout carries the protocol: anything a library prints goes to stderr.

The voice's variation is seeded per request (``talker.speech.seeded_onnx``): the same request
gives the same audio whatever the worker said before, and another seed another rendition.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time


def _phonemes_of_chunk(voice, chunk) -> tuple[list[list], bool]:
    """[phoneme, own samples, samples of the blank after it] for each phoneme, BOS and EOS included.

    Piper puts a blank id after every phoneme and predicts a duration for each id. The blanks
    are reported separately because which neighbour they belong to is the caller's decision.
    The counts add up to the chunk's audio length. Without model alignments the length is spread
    evenly and marked approximate.
    """
    from piper.const import BOS, EOS, PAD

    n = len(chunk.audio_float_array)
    ids = list(chunk.phoneme_ids)
    samples = chunk.phoneme_id_samples
    id_map = voice.config.phoneme_id_map
    pad = list(id_map.get(PAD, []))
    out: list[list] = []
    ok = samples is not None and len(samples) == len(ids)
    pos = 0
    if ok:
        for phoneme in [BOS, *chunk.phonemes, EOS]:
            own = list(id_map.get(phoneme, []))
            if not own:  # piper drops phonemes missing from the voice's map
                continue
            if ids[pos:pos + len(own)] != own:
                ok = False
                break
            own_samples = int(sum(samples[pos:pos + len(own)]))
            pos += len(own)
            pad_samples = 0
            if phoneme != EOS and pad and ids[pos:pos + len(pad)] == pad:
                pad_samples = int(sum(samples[pos:pos + len(pad)]))
                pos += len(pad)
            out.append([phoneme, own_samples, pad_samples])
        ok = ok and pos == len(ids)
    approximate = not ok
    if approximate:
        symbols = [BOS, *chunk.phonemes, EOS]
        step = n // max(1, len(symbols))
        out = [[sym, step, 0] for sym in symbols]
    diff = n - sum(o[1] + o[2] for o in out)
    if out and diff:
        # Durations are whole hops and the audio is exactly their sum; guard anyway.
        out[-1][1] = max(0, out[-1][1] + diff)
        approximate = approximate or abs(diff) > 256
    return out, approximate


def load_voice(model_path: str, config_path: str | None = None):
    """The Piper voice with its alignment output and seeded noise (its session a SeededSession).

    Falls back to piper's own loader (noise unseeded) if the graph cannot be patched."""
    import onnx
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    from talker.speech.seeded_onnx import SeededSession, seed_noise

    # unseeded noise (a fallback voice) at least repeats from the worker's start
    onnxruntime.set_seed(0)
    try:
        model = onnx.load(model_path)
        try:
            add_alignment_output(model)
        except ValueError:  # already patched, or no such tensor: piper then reports approximate timings
            pass
        seeded = seed_noise(model) > 0
        with open(config_path or f"{model_path}.json", encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - an unusual graph: piper's own loader still speaks
        print(f"piper_worker: cannot seed the voice's noise ({type(exc).__name__}: {exc})", file=sys.stderr)
        return PiperVoice.load(model_path, config_path=config_path, include_alignments=True)
    return PiperVoice(config=config, session=SeededSession(session) if seeded else session)


def _synthesize(voice, request: dict) -> dict:
    import numpy as np
    from piper import SynthesisConfig

    from talker.speech.seeded_onnx import SeededSession

    text = str(request.get("text", ""))
    config = SynthesisConfig(
        length_scale=float(request.get("length_scale", 1.0)),
        noise_scale=request.get("noise_scale"),
        noise_w_scale=request.get("noise_w_scale"),
        normalize_audio=False,  # a fixed gain keeps sentences at one level across requests
    )
    t0 = time.perf_counter()
    seeded = isinstance(voice.session, SeededSession)
    if seeded:
        voice.session.start(int(request.get("seed", 0) or 0))
    audio_parts, phonemes, approximate = [], [], False
    for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):  # one per sentence
        audio_parts.append(np.asarray(chunk.audio_float_array, dtype="<f4"))
        pairs, approx = _phonemes_of_chunk(voice, chunk)
        phonemes.extend(pairs)
        approximate = approximate or approx
    audio = np.concatenate(audio_parts) if audio_parts else np.zeros(0, dtype="<f4")
    return {
        "ok": True,
        "sample_rate": int(voice.config.sample_rate),
        "num_samples": int(audio.size),
        "audio_b64": base64.b64encode(audio.astype("<f4").tobytes()).decode("ascii"),
        "phonemes": phonemes,
        "approximate": approximate,
        "seeded": seeded,
        "synth_s": round(time.perf_counter() - t0, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="Piper voice .onnx")
    parser.add_argument("--config", default=None, help="voice .onnx.json (default: MODEL.json)")
    args = parser.parse_args(argv)
    from talker.speech.worker import serve

    def load():
        voice = load_voice(args.model, args.config)
        return voice, {"sample_rate": int(voice.config.sample_rate)}

    return serve(load, _synthesize)


if __name__ == "__main__":
    sys.exit(main())
