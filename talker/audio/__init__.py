"""Audio helpers shared by every stage: the pipeline's sample rate, loudness, resampling, voice
activity, per-frame features (``signal``), the speaker embedding (``speaker``) and the joiner of
speech pieces (``join``)."""

SAMPLE_RATE = 24000  # Hz: every stage hands audio on at this rate (the vocoder's and the DiT's mel rate)
