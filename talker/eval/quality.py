"""Speech quality without a reference: DNSMOS (Microsoft's non-intrusive MOS models, MIT, bundled
as ONNX in the PyPI package ``speechmos``). P.808 is the overall opinion score the models were
trained to predict; OVRL, SIG and BAK are the P.835 scores (overall, speech signal, background).
They rate how clean and natural the speech sounds, not whether it is the right voice or the right
words: read them beside WER and speaker similarity, never alone.

Measured here (``../shared/notes/kokoro-offline.md``): P.808 Piper joe 3.81, Kokoro English voices
4.05–4.17, real recordings 3.72–4.12; Mandarin OVRL espeak-ng 2.43, Kokoro 3.41–3.42.
"""

from __future__ import annotations

import numpy as np

DNSMOS_RATE = 16000


def dnsmos(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    """{"p808", "ovrl", "sig", "bak"} for mono speech at any rate (at least a second of it)."""
    from speechmos import dnsmos as models

    from ..audio.resample import resample

    x = np.clip(resample(np.asarray(audio, dtype=np.float32), sample_rate, DNSMOS_RATE), -1.0, 1.0)
    if x.size < DNSMOS_RATE:
        raise ValueError("DNSMOS needs at least one second of audio")
    res = models.run(x, DNSMOS_RATE)
    return {"p808": round(float(res["p808_mos"]), 3), "ovrl": round(float(res["ovrl_mos"]), 3),
            "sig": round(float(res["sig_mos"]), 3), "bak": round(float(res["bak_mos"]), 3)}
