"""Nudge a stock voice toward the reference speaker with plain signal processing (WORLD vocoder).

This is *not* voice cloning. Offline we have one stock voice; what signal processing can honestly
move is the pitch (level and range of F0), the apparent vocal-tract length (a frequency warp of the
spectral envelope) and the long-term spectral balance (a smooth EQ). Accent, rhythm, voice quality
and everything else that makes a voice someone's stay the stock voice's.

The pieces:

* :class:`VoiceProfile` — F0 statistics (log domain, voiced frames) and the long-term average log
  spectral envelope of a recording; built once per reference (and once per utterance for the source).
* :func:`match_voice` — WORLD analysis (DIO + StoneMask, CheapTrick, D4C), then the chosen changes,
  then WORLD synthesis. WORLD keeps the time axis (one frame per ``FRAME_PERIOD_MS``) and the output
  is cut/padded to the input length, so phone timings stay valid sample for sample.
* :func:`calibrate_warp` — the warp factor chosen with the speaker encoder, once per reference.
* :func:`apply_reference_voice` — the call the pipeline makes: profile + calibration (cached per
  reference), the recommended settings, and a per-request check with the speaker encoder that
  keeps whichever audio is closer to the reference (the stock audio when matching does not help).

DIO is used rather than Harvest because it is several times faster on a CPU and the F0 statistics
(medians over hundreds of frames) do not need Harvest's per-frame robustness.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

FRAME_PERIOD_MS = 5.0
F0_FLOOR, F0_CEIL = 60.0, 600.0
# A reference's pitch is read with Harvest, not DIO: on en_woman_blonde_suit_7s (144 Hz by pYIN)
# DIO said 75 Hz, an octave down, and matching then moved a woman's stock voice to 76 Hz; searched
# in a woman's range (110–600 Hz) DIO said 287, an octave up. Harvest: 145 Hz; on four more clips
# within 4 % of pYIN (scripts/eval_voices.py). It costs ~0.2 s per second of audio, so it reads at
# most ROBUST_SECONDS, once per reference.
ROBUST_SECONDS = 10.0
# Common frequency grid for long-term envelopes, so profiles from different sample rates compare.
ENV_FREQS = np.linspace(0.0, 11000.0, 441)
WARP_RANGE = (0.85, 1.2)
EQ_LIMIT_DB = 9.0
MIN_VOICED_FRAMES = 20  # 0.1 s of voicing: fewer frames give meaningless statistics
NOTICE = ("The voice is a stock offline voice adjusted toward the reference (pitch and timbre by signal "
          "processing); it is not a clone of the reference speaker.")
STOCK_NOTICE = "The voice is a stock offline voice, not a clone of the reference speaker."
_MIN_SAMPLES_S = 0.05
CHECK_SECONDS = 8.0  # how much speech the keep-or-drop decision listens to
# WORLD re-synthesis costs naturalness: over 78 outputs of scripts/eval_voices.py those it kept
# scored DNSMOS P.808 3.96 / OVRL 3.22, those left stock 4.07 / 3.41. So matching is kept only
# when it brings the voice clearly closer, not by a hair.
MIN_GAIN = 0.02


@dataclass(frozen=True)
class MatchSettings:
    f0: bool = True  # move F0 level and range
    warp: bool = False  # vocal-tract-length warp of the envelope
    eq: bool = False  # smooth long-term spectral tilt/EQ
    warp_alpha: float | None = None  # fixed warp factor (from calibrate_warp); None: estimate_warp
    strength: float = 1.0  # 0 = unchanged, 1 = all the way to the target statistics


def recommended_settings(warp_alpha: float | None = None) -> MatchSettings:
    """What ``scripts/eval_voice_match.py`` found worth doing: F0 level and range always; the warp
    only with an encoder-calibrated factor (the long-term-envelope estimate was unstable); no EQ
    (no consistent gain, slightly more ASR errors)."""
    return MatchSettings(f0=True, warp=warp_alpha is not None, eq=False, warp_alpha=warp_alpha)


@dataclass
class VoiceProfile:
    sample_rate: int
    duration: float  # seconds analysed
    voiced_frames: int
    f0_log_median: float | None  # natural log of Hz over voiced frames; None when nothing is voiced
    f0_log_spread: float | None  # robust std of log F0 (10-90 % range / 2.563)
    envelope_db: np.ndarray | None = None  # mean log envelope of voiced frames on ENV_FREQS, dB
    embedding: np.ndarray | None = None  # speaker-encoder embedding, only when asked for
    seconds: float = 0.0  # analysis time

    @property
    def voiced(self) -> bool:
        return self.f0_log_median is not None

    @property
    def f0_median_hz(self) -> float | None:
        return float(np.exp(self.f0_log_median)) if self.voiced else None

    @classmethod
    def from_audio(cls, audio: np.ndarray, sample_rate: int, *, with_embedding: bool = False,
                   robust: bool = False) -> VoiceProfile:
        """``robust``: pitch by Harvest over the first ``ROBUST_SECONDS`` (a reference's, read once)
        instead of DIO over everything (each stock utterance's, where speed matters)."""
        t = time.perf_counter()
        whole = x = _clean(audio)
        if robust:
            x = x[: int(ROBUST_SECONDS * sample_rate)]
        if x.size < _MIN_SAMPLES_S * sample_rate:
            prof = cls(int(sample_rate), x.size / float(sample_rate or 1), 0, None, None)
        else:
            f0, t_axis = _f0(x, sample_rate, robust)
            sp = _envelope(x, f0, t_axis, sample_rate)
            prof = _profile(f0, sp, sample_rate, x.size)
        if with_embedding and prof.voiced:
            from ..audio.speaker import embed

            prof.embedding = embed(whole, sample_rate)
        prof.seconds = time.perf_counter() - t
        return prof

    def to_dict(self) -> dict:
        return {"sample_rate": self.sample_rate, "duration": round(self.duration, 3),
                "voiced_frames": self.voiced_frames,
                "f0_median_hz": None if not self.voiced else round(self.f0_median_hz, 1),
                "f0_log_spread": None if not self.voiced else round(self.f0_log_spread, 4)}


# --------------------------------------------------------------------------- WORLD pieces


def _clean(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def _f0(x: np.ndarray, fs: int, robust: bool = False) -> tuple[np.ndarray, np.ndarray]:
    import pyworld

    if robust:
        return pyworld.harvest(x, fs, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS)
    f0, t = pyworld.dio(x, fs, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS)
    return pyworld.stonemask(x, f0, t, fs), t


def _envelope(x: np.ndarray, f0: np.ndarray, t: np.ndarray, fs: int) -> np.ndarray:
    import pyworld

    return pyworld.cheaptrick(x, f0, t, fs, f0_floor=F0_FLOOR, fft_size=_fft_size(fs))


def _fft_size(fs: int) -> int:
    """One FFT size for CheapTrick and D4C (their defaults differ when f0_floor is set)."""
    import pyworld

    return int(pyworld.get_cheaptrick_fft_size(fs, F0_FLOOR))


def _bin_freqs(sp: np.ndarray, fs: int) -> np.ndarray:
    return np.arange(sp.shape[1]) * (fs / 2.0) / (sp.shape[1] - 1)


def _profile(f0: np.ndarray, sp: np.ndarray, fs: int, n_samples: int) -> VoiceProfile:
    voiced = f0 > 0
    dur = n_samples / float(fs)
    if int(voiced.sum()) < MIN_VOICED_FRAMES:
        return VoiceProfile(int(fs), dur, int(voiced.sum()), None, None)
    lf0 = np.log(f0[voiced])
    p10, p50, p90 = np.percentile(lf0, [10, 50, 90])
    spread = max(float(p90 - p10) / 2.563, 1e-3)
    mean_db = np.mean(10.0 * np.log10(sp[voiced] + 1e-12), axis=0)
    env = np.interp(ENV_FREQS, _bin_freqs(sp, fs), mean_db)  # edge-held beyond this rate's Nyquist
    return VoiceProfile(int(fs), dur, int(voiced.sum()), float(p50), spread, env.astype(np.float64))


# --------------------------------------------------------------------------- the changes


def _fit_band(a: VoiceProfile, b: VoiceProfile) -> tuple[float, float]:
    """The band both recordings really have; above ~5.5 kHz the envelope is noise and codec."""
    nyq = 0.5 * min(a.sample_rate, b.sample_rate)
    return 150.0, min(5500.0, 0.85 * nyq)


def _detrend_logf(env_db: np.ndarray, logf: np.ndarray) -> np.ndarray:
    """Remove a quadratic in log-frequency: the channel/tilt, leaving the formant pattern."""
    coef = np.polyfit(logf, env_db, 2)
    return env_db - np.polyval(coef, logf)


def estimate_warp(source: VoiceProfile, target: VoiceProfile) -> tuple[float, float]:
    """Warp factor alpha (source envelope at f/alpha moves to f) that best lines up the formant
    patterns of the long-term envelopes, and the correlation it reaches.

    A linear frequency warp is a shift on a log-frequency axis, so this is a 1-D search.
    """
    lo, hi = _fit_band(source, target)
    logf = np.linspace(np.log(lo), np.log(hi), 160)
    tgt = _detrend_logf(np.interp(np.exp(logf), ENV_FREQS, target.envelope_db), logf)
    best = (1.0, -2.0)
    for alpha in np.arange(WARP_RANGE[0], WARP_RANGE[1] + 1e-9, 0.005):
        src = _detrend_logf(np.interp(np.exp(logf) / alpha, ENV_FREQS, source.envelope_db), logf)
        r = float(np.corrcoef(src, tgt)[0, 1])
        if r > best[1]:
            best = (float(alpha), r)
    return best


def _warp_matrix(sp: np.ndarray, freqs: np.ndarray, alpha: float) -> np.ndarray:
    """Each frame's envelope read at f/alpha (linear interpolation, edge-held)."""
    df = freqs[1] - freqs[0]
    pos = np.clip(freqs / alpha / df, 0, len(freqs) - 1)
    i0 = np.minimum(pos.astype(int), len(freqs) - 2)
    w = pos - i0
    return sp[:, i0] * (1 - w) + sp[:, i0 + 1] * w


def eq_curve(source: VoiceProfile, target: VoiceProfile, alpha: float = 1.0, n_coef: int = 6) -> np.ndarray:
    """Smooth dB correction on ENV_FREQS taking the (warped) source's long-term envelope toward the
    target's: a low-order cosine series in log-frequency (no narrow peaks), zero mean, clipped."""
    lo, hi = _fit_band(source, target)
    logf = np.linspace(np.log(80.0), np.log(hi), 128)
    src = np.interp(np.exp(logf) / alpha, ENV_FREQS, source.envelope_db)
    diff = np.interp(np.exp(logf), ENV_FREQS, target.envelope_db) - src
    u = (logf - logf[0]) / (logf[-1] - logf[0])
    basis = np.cos(np.pi * np.outer(u, np.arange(n_coef)))
    coef, *_ = np.linalg.lstsq(basis, diff, rcond=None)
    smooth = basis @ coef
    smooth -= smooth.mean()
    smooth = np.clip(smooth, -EQ_LIMIT_DB, EQ_LIMIT_DB)
    f = np.clip(ENV_FREQS, 80.0, hi)
    return np.interp(np.log(f), logf, smooth)


def _map_f0(f0: np.ndarray, source: VoiceProfile, target: VoiceProfile, strength: float) -> tuple[np.ndarray, dict]:
    voiced = f0 > 0
    shift = strength * (target.f0_log_median - source.f0_log_median)
    ratio = float(np.clip(np.exp(strength * np.log(target.f0_log_spread / source.f0_log_spread)), 0.5, 2.0))
    out = np.zeros_like(f0)
    lf0 = np.log(f0[voiced])
    out[voiced] = np.exp(source.f0_log_median + shift + (lf0 - source.f0_log_median) * ratio)
    out[voiced] = np.clip(out[voiced], F0_FLOOR, 1000.0)
    return out, {"f0_source_hz": round(source.f0_median_hz, 1), "f0_target_hz": round(target.f0_median_hz, 1),
                 "f0_shift_semitones": round(12 * shift / np.log(2), 2), "f0_range_ratio": round(ratio, 3)}


def _render(x: np.ndarray, fs: int, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, source: VoiceProfile,
            target: VoiceProfile, st: MatchSettings, info: dict) -> np.ndarray:
    """Apply the chosen changes to one WORLD analysis and synthesise; ``info`` gets what was done."""
    import pyworld

    if st.f0:
        f0, f0_info = _map_f0(f0, source, target, st.strength)
        info.update(f0_info)
        info["applied"].append("f0")
    freqs = _bin_freqs(sp, fs)
    alpha = 1.0
    if st.warp:
        if st.warp_alpha is not None:
            alpha_full, r = float(np.clip(st.warp_alpha, *WARP_RANGE)), None
        else:
            alpha_full, r = estimate_warp(source, target)
        alpha = float(np.exp(st.strength * np.log(alpha_full)))
        if abs(alpha - 1.0) > 1e-3:
            sp = _warp_matrix(sp, freqs, alpha)
            ap = _warp_matrix(ap, freqs, alpha)
        info.update(warp_alpha=round(alpha, 3), warp_fit_r=None if r is None else round(r, 3))
        info["applied"].append("warp")
    if st.eq:
        curve = st.strength * np.interp(freqs, ENV_FREQS, eq_curve(source, target, alpha))
        sp = sp * (10.0 ** (curve / 10.0))[None, :]
        info["eq_max_db"] = round(float(np.max(np.abs(curve))), 2)
        info["applied"].append("eq")

    y = pyworld.synthesize(f0, np.ascontiguousarray(sp), np.ascontiguousarray(np.clip(ap, 0.0, 1.0)),
                           fs, FRAME_PERIOD_MS)
    y = np.nan_to_num(y)
    y = y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))  # WORLD: same frame grid
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    if rms_out > 1e-9:
        y *= rms_in / rms_out
    peak = float(np.max(np.abs(y)))
    limit = min(max(0.97, float(np.max(np.abs(x)))), 0.999)
    if peak > limit:
        y *= limit / peak
    return y.astype(np.float32)


def _prepare(audio, sample_rate, source_profile, target, st):
    """Shared checks and WORLD analysis: (x, f0, sp, ap, source) or the reason to skip."""
    import pyworld

    x = _clean(audio)
    if x.size < _MIN_SAMPLES_S * sample_rate or not np.any(x):
        return "audio too short or silent"
    if not target.voiced:
        return "the reference has too little voiced speech"
    if not (st.f0 or st.warp or st.eq) or st.strength == 0.0:
        return "nothing to change"
    f0, t = _f0(x, sample_rate)
    sp = _envelope(x, f0, t, sample_rate)
    own = _profile(f0, sp, sample_rate, x.size)
    if not own.voiced:
        return "the speech has too little voiced speech"
    source = own
    if source_profile is not None and source_profile.voiced:
        # F0 statistics settle within a sentence; the long-term envelope needs many varied phones.
        source = replace(source_profile, f0_log_median=own.f0_log_median, f0_log_spread=own.f0_log_spread)
    ap = pyworld.d4c(x, f0, t, sample_rate, fft_size=_fft_size(sample_rate))
    return x, f0, sp, ap, source


def _settings(settings: MatchSettings | None, strength: float) -> MatchSettings:
    st = settings or recommended_settings()
    if strength != 1.0:
        st = replace(st, strength=float(strength))
    return replace(st, strength=float(np.clip(st.strength, 0.0, 1.5)))


def _info(st: MatchSettings) -> dict:
    return {"applied": [], "notice": NOTICE,
            "settings": {"f0": st.f0, "warp": st.warp, "eq": st.eq, "strength": st.strength,
                         "warp_alpha": st.warp_alpha}}


def match_voice(audio: np.ndarray, sample_rate: int, source_profile: VoiceProfile | None, target: VoiceProfile,
                strength: float = 1.0, *, settings: MatchSettings | None = None) -> tuple[np.ndarray, dict]:
    """``audio`` moved toward ``target``: same length, same sample rate, same loudness (RMS).

    F0 statistics always come from ``audio`` itself (so the output's F0 lands on the target's);
    ``source_profile`` (e.g. the stock voice over many sentences) only supplies the long-term
    envelope for the warp estimate and the EQ, else ``audio`` does. ``settings`` picks the changes
    (default :func:`recommended_settings`); ``strength`` overrides ``settings.strength`` unless left
    at 1.0. Returns the input unchanged, with the reason in ``info["skipped"]``, when either side
    has too little voiced speech.
    """
    t0 = time.perf_counter()
    st = _settings(settings, strength)
    info = _info(st)
    prep = _prepare(audio, sample_rate, source_profile, target, st)
    if isinstance(prep, str):
        info["skipped"] = prep
        info["seconds"] = round(time.perf_counter() - t0, 3)
        return np.asarray(audio, dtype=np.float32).copy(), info
    x, f0, sp, ap, source = prep
    info["analysis_seconds"] = round(time.perf_counter() - t0, 3)
    y = _render(x, sample_rate, f0, sp, ap, source, target, st, info)
    info["seconds"] = round(time.perf_counter() - t0, 3)
    info["rtf"] = round(info["seconds"] / (x.size / sample_rate), 3)
    return y, info


# Men's references settled at 0.94-1.06 (flat), women's at the top; four renders cover both.
CALIBRATION_ALPHAS = (0.94, 1.0, 1.09, 1.18)


def calibrate_warp(audio: np.ndarray, sample_rate: int, target: VoiceProfile,
                   alphas: tuple[float, ...] = CALIBRATION_ALPHAS, *, f0: bool = True) -> tuple[float, dict]:
    """Warp factor that the speaker encoder finds closest to ``target``, tried on one calibration
    utterance (``audio``, the stock voice) and then fixed for that reference.

    The long-term-envelope fit (:func:`estimate_warp`) proved unstable on 5-20 s references, so this
    asks the same encoder that scores similarity. Only the check segment is analysed (see
    ``_check_segment``) and its winning render comes back in ``info["render"]``, so the first
    utterance is not analysed twice; its similarity is optimistic (best of four), so judge the
    warp's benefit on *other* utterances. Needs ``target.embedding``.
    """
    if target.embedding is None:
        raise ValueError("calibrate_warp needs a target profile built with_embedding=True")
    from ..audio.speaker import embed

    st = MatchSettings(f0=f0, warp=True, eq=False)
    seg = _check_segment(np.asarray(audio, dtype=np.float32), sample_rate)
    prep = _prepare(seg, sample_rate, None, target, st)
    if isinstance(prep, str):
        return 1.0, {"skipped": prep}
    x, f0_, sp, ap, source = prep
    ref = target.embedding / (np.linalg.norm(target.embedding) + 1e-9)
    scores, renders = {}, {}
    for a in alphas:
        info = _info(replace(st, warp_alpha=a))
        y = _render(x, sample_rate, f0_.copy(), sp, ap, source, target, replace(st, warp_alpha=a), info)
        e = embed(y, sample_rate)
        scores[float(a)] = float(np.dot(e, ref) / (np.linalg.norm(e) + 1e-9))
        renders[float(a)] = (y, info)
    best = max(scores, key=scores.get)
    # the winning render of the analysed segment: the caller need not match that segment again
    return best, {"scores": scores, "segment": seg.size, "render": renders[best]}


def _check_segment(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """What the keep-or-drop decision (and the calibration) listen to: the whole utterance up to
    1.5 × CHECK_SECONDS, else its first CHECK_SECONDS."""
    return audio if audio.size <= 1.5 * CHECK_SECONDS * sample_rate else audio[: int(CHECK_SECONDS * sample_rate)]


# --------------------------------------------------------------------------- pipeline entry


_cache_lock = threading.Lock()
_cache: dict[str, tuple[VoiceProfile, float | None]] = {}  # key -> (profile, calibrated warp or None)
_CACHE_SIZE = 8


def _cached(key: str | None) -> tuple[VoiceProfile, float | None] | None:
    with _cache_lock:
        return _cache.get(key) if key else None


def _remember(key: str | None, value: tuple[VoiceProfile, float | None]) -> None:
    if not key:
        return
    with _cache_lock:
        _cache.pop(key, None)
        while len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = value


def match_to_reference(audio: np.ndarray, sample_rate: int, reference: VoiceProfile, *,
                       settings: MatchSettings | None = None, check: bool = True,
                       matched_segment: tuple[np.ndarray, dict] | None = None) -> tuple[np.ndarray, dict]:
    """The matching, kept only if the speaker encoder says it brought the voice closer to the
    reference by ``MIN_GAIN`` (``check``; needs ``reference.embedding``). Never raises for audio reasons: on any
    failure the stock audio comes back with the reason in ``info``. ``matched_segment`` is the
    check segment already matched with ``settings`` (by the calibration), which is then reused."""
    audio = np.asarray(audio, dtype=np.float32)
    # Judge on the first CHECK_SECONDS only: when matching does not help, the long WORLD pass over
    # the whole text is never paid; when it does, short texts reuse the judged result.
    seg = _check_segment(audio, sample_rate)
    try:
        if matched_segment is not None and matched_segment[0].size == seg.size:
            out, info = matched_segment[0], dict(matched_segment[1])
        else:
            out, info = match_voice(seg, sample_rate, None, reference, settings=settings)
    except Exception as e:  # noqa: BLE001 - matching is an optional nicety; the stock voice still speaks
        return audio, {"applied": [], "skipped": f"matching failed: {e}", "notice": NOTICE, "kept": "stock"}
    info["kept"] = "matched" if info["applied"] else "stock"
    if not info["applied"]:
        return audio, info
    if check and reference.embedding is not None:
        from ..audio.speaker import embed

        t = time.perf_counter()
        ref = reference.embedding / (np.linalg.norm(reference.embedding) + 1e-9)
        sims = []
        for a in (seg, out):
            e = embed(a, sample_rate)
            sims.append(float(np.dot(e, ref) / (np.linalg.norm(e) + 1e-9)))
        info.update(similarity_stock=round(sims[0], 4), similarity_matched=round(sims[1], 4),
                    check_seconds=round(time.perf_counter() - t, 3))
        if sims[1] < sims[0] + MIN_GAIN:
            info["kept"] = "stock"
            return audio, info
    if seg.size < audio.size:
        try:
            out, _ = match_voice(audio, sample_rate, None, reference, settings=settings)
        except Exception as e:  # noqa: BLE001
            return audio, {**info, "kept": "stock", "skipped": f"matching failed: {e}"}
    return out, info


def reference_profile(audio: np.ndarray, sample_rate: int, key: str | None = None) -> VoiceProfile:
    """A reference's profile (Harvest pitch, speaker embedding), analysed once per ``key`` (the
    clip's content hash): the automatic voice choice and the matching share it."""
    entry = _cached(key)
    if entry is None:
        entry = (VoiceProfile.from_audio(audio, sample_rate, with_embedding=True, robust=True), None)
        _remember(key, entry)
    return entry[0]


def apply_reference_voice(audio: np.ndarray, sample_rate: int, reference_audio: np.ndarray | None,
                          reference_rate: int, *, key: str | None = None, check: bool = True
                          ) -> tuple[np.ndarray, dict]:
    """The pipeline's one call: stock speech in, speech nudged toward the reference out (or the
    stock speech, when matching does not bring it closer), with ``info["message"]`` to show users.

    Per reference (cached by ``key``, the clip's content hash): its profile and speaker embedding,
    and the warp factor calibrated with the encoder on the first utterance (see
    :func:`calibrate_warp`); later utterances reuse it. Never raises.
    """
    t0 = time.perf_counter()
    try:
        entry = _cached(key)
        if entry is None:
            if reference_audio is None or np.asarray(reference_audio).size == 0:
                return np.asarray(audio, dtype=np.float32), {"kept": "stock", "skipped": "no reference audio",
                                                             "message": STOCK_NOTICE}
            entry = (reference_profile(reference_audio, reference_rate, key), None)
        prof, alpha = entry
        cal_info: dict = {}
        if alpha is None and prof.voiced and prof.embedding is not None:
            alpha, cal_info = calibrate_warp(audio, sample_rate, prof)
            if "skipped" in cal_info:  # this utterance could not calibrate; try on the next one
                alpha = None
        _remember(key, (prof, alpha))
        st = recommended_settings(alpha)
        out, info = match_to_reference(audio, sample_rate, prof, settings=st, check=check,
                                       matched_segment=cal_info.get("render"))
    except Exception as e:  # noqa: BLE001 - never lose the speech over an optional step
        return np.asarray(audio, dtype=np.float32), {"kept": "stock", "skipped": f"matching failed: {e}",
                                                     "message": STOCK_NOTICE}
    if cal_info.get("scores"):
        info["calibration"] = {str(k): round(v, 4) for k, v in cal_info["scores"].items()}
    info["total_seconds"] = round(time.perf_counter() - t0, 3)
    info["message"] = NOTICE if info["kept"] == "matched" else STOCK_NOTICE
    return out, info
