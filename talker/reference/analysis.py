"""Reference analysis: a clip or photo in, ``ReferenceFeatures`` out.

Steps: probe → audio at 24 kHz → usable speech span (VAD) → loudness → frames at a constant
25 fps → face tracking (61-d motion code) → transcript (user's, else ASR). Every failure a user
can cause becomes a typed error naming the problem and the fix.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from ..audio import loudness, vad
from ..errors import ClipTooShortError, InputError, NoFaceError
from ..media import decode
from ..media.probe import check_file, probe
from ..motion.code import FPS
from .cache import FeatureCache, content_hash
from .features import SAMPLE_RATE, ReferenceFeatures

log = logging.getLogger(__name__)


@dataclass
class AnalysisConfig:
    # A phone clip of 2–3 s is what people record; below 2 s there is too little voice and motion
    # to copy a style from. Between the two the reference is used with a warning.
    min_seconds: float = 2.0
    short_seconds: float = 3.0  # a span shorter than this (after padding with the clip) gets a warning
    max_seconds: float = 30.0  # longer ones are capped: the models take a prompt, not a film
    read_limit_seconds: float = 600.0  # never decode more than this of an absurdly long file
    silence_dbfs: float = -55.0  # whole-track RMS under this is silence
    min_speech_seconds: float = 1.0
    min_face_ratio: float = 0.5  # below this the clip cannot drive a face
    tracker_backend: str = "auto"  # "auto", "landmarker" or "face_mesh"
    face_model: str | None = None  # explicit face_landmarker.task
    asr_backend: str | None = None
    use_cache: bool = True


def _frames_to_samples(frames: int) -> int:
    return frames * SAMPLE_RATE // FPS


def analyze_reference(
    path: str | Path,
    *,
    transcript: str | None = None,
    language: str | None = None,
    config: AnalysisConfig | None = None,
    cache: FeatureCache | None = None,
    progress=None,
) -> ReferenceFeatures:
    """Analyse a reference clip or photo; cached by content (a user transcript overrides ASR)."""
    cfg = config or AnalysisConfig()
    p = check_file(path)
    name = p.name
    t0 = time.perf_counter()
    digest = content_hash(p)
    cache = cache or FeatureCache()
    # every option that changes what is analysed is in the key (a clip analysed with shorter
    # padding for training data once came back, from the cache, as a template's reference)
    key = cache.key(digest, tracker=cfg.tracker_backend, max_s=cfg.max_seconds, min_s=cfg.min_seconds,
                    short_s=cfg.short_seconds, face_model=_face_model_id(cfg))
    feats = cache.get(key) if cfg.use_cache else None
    if feats is not None:
        feats.source = name
        feats.timings = {"cache_load": time.perf_counter() - t0}
        if _apply_transcript(feats, transcript, language, cfg, progress) and cfg.use_cache:
            cache.put(key, feats)  # keep the new ASR result for next time
        return _with_user_transcript(feats, transcript, language)

    info = probe(p)
    _step(progress, 0.05, "reading media")
    if info.is_image:
        feats = _analyze_image(p, digest, cfg)
    elif not info.has_video:
        raise InputError(
            f"'{name}' has audio but no picture.",
            "A reference needs a face: give a video of the person speaking, or a photo.",
        )
    else:
        feats = _analyze_video(p, info, digest, cfg, progress)
    feats.source_info = {
        "width": info.width, "height": info.height, "fps": info.fps, "duration": info.duration,
        "video_codec": info.video_codec, "audio_codec": info.audio_codec, "audio_rate": info.audio_rate,
    }
    _apply_transcript(feats, transcript, language, cfg, progress)
    feats.timings["total"] = time.perf_counter() - t0
    if cfg.use_cache:
        cache.put(key, feats)
    return _with_user_transcript(feats, transcript, language)


def _face_model_id(cfg: AnalysisConfig) -> str:
    """Which face model would run, so features from the fallback are never served for the real model."""
    if cfg.tracker_backend == "face_mesh":
        return "face_mesh"
    from ..tracking.landmarker_model import find_face_landmarker

    found = find_face_landmarker(cfg.face_model, allow_download=False)
    return f"{found.name}:{found.stat().st_size}" if found else "face_mesh"


def _step(progress, frac: float, what: str) -> None:
    if progress is not None:
        progress(frac, what)


def _analyze_image(p: Path, digest: str, cfg: AnalysisConfig) -> ReferenceFeatures:
    from ..tracking.tracker import track_frames

    t = time.perf_counter()
    img = decode.read_image(p)
    tr = track_frames([img], FPS, model_path=cfg.face_model, image_mode=True,
                      backend=cfg.tracker_backend, source_name=p.name)
    return ReferenceFeatures(
        source=p.name, content_hash=digest, kind="image", motion=tr.motion, landmarks=tr.landmarks,
        boxes=tr.boxes, detected=tr.detected, frame_size=tr.frame_size, tracker_backend=tr.backend,
        max_faces=tr.max_faces, warnings=list(tr.warnings), timings={"track": time.perf_counter() - t},
        mouth_gap=tr.mouth_gap,
    )


def _analyze_video(p: Path, info, digest: str, cfg: AnalysisConfig, progress) -> ReferenceFeatures:
    timings: dict[str, float] = {}
    warnings: list[str] = []
    name = p.name
    read_len = _read_length(name, info, cfg, warnings)
    audio, mute = _decode_audio(p, info, read_len, cfg, timings)
    segments, start, end, mute = _speech_span(name, audio, mute, info, cfg, timings, warnings, progress)
    tr, cuts = _track_span(p, info, start, end, cfg, timings, warnings, progress)
    n = tr.motion.shape[0]
    span_audio = _span_audio(audio, start, n) if audio is not None and not mute else None
    segs = [(max(0.0, s.start - start), min(n / FPS, s.end - start)) for s in segments if s.end > start and s.start < end]
    return ReferenceFeatures(
        source=name, content_hash=digest, kind="video", motion=tr.motion, landmarks=tr.landmarks,
        boxes=tr.boxes, detected=tr.detected, frame_size=tr.frame_size, span=(start, start + n / FPS),
        audio=span_audio, speech_segments=segs, tracker_backend=tr.backend, max_faces=tr.max_faces,
        warnings=warnings, timings=timings, mouth_gap=tr.mouth_gap, cuts=[c for c in cuts if c < n],
    )


def _read_length(name: str, info, cfg: AnalysisConfig, warnings: list[str]) -> float | None:
    """Refuse a clip shorter than ``min_seconds``; how much of it to decode (None: all of it)."""
    if info.duration and info.duration < cfg.min_seconds:
        raise ClipTooShortError(
            f"'{name}' is {info.duration:.1f} s long; a reference needs at least {cfg.min_seconds:.0f} s of speech.",
            f"Use a clip of {cfg.short_seconds:.0f}–{cfg.max_seconds:.0f} s with the person talking "
            f"(at least {cfg.min_seconds:.0f} s).",
        )
    read_len = None
    if info.duration > cfg.read_limit_seconds:
        read_len = cfg.read_limit_seconds
        warnings.append(
            f"The clip is {info.duration / 60:.0f} min long; only its first {cfg.read_limit_seconds / 60:.0f} min were searched for speech."
        )
    return read_len


def _decode_audio(p: Path, info, read_len: float | None, cfg: AnalysisConfig, timings: dict):
    """(audio at SAMPLE_RATE or None, why its voice cannot be used or "")."""
    t = time.perf_counter()
    audio, mute = None, ""
    if info.has_audio:
        audio = decode.read_audio(p, SAMPLE_RATE, duration=read_len, info=info)
        if loudness.rms_dbfs(audio) < cfg.silence_dbfs:
            mute = "its audio is silent"
    else:
        mute = "it has no audio track"
    timings["decode_audio"] = time.perf_counter() - t
    return audio, mute


def _speech_span(name: str, audio, mute: str, info, cfg: AnalysisConfig, timings: dict, warnings: list[str],
                 progress):
    """(speech segments, start, end, mute) of the part of the clip used: its usable speech, or,
    without speech, its start (segments then empty, ``mute`` saying why)."""
    segments = []
    if not mute:
        _step(progress, 0.15, "finding speech")
        t = time.perf_counter()
        total = audio.size / SAMPLE_RATE
        segments = vad.speech_segments(audio, SAMPLE_RATE)
        timings["vad"] = time.perf_counter() - t
        speech = sum(s.duration for s in segments)
        if speech < cfg.min_speech_seconds:
            mute = f"no speech was found in it, {speech:.1f} s of voice"
    if mute:
        # A muted clip still has a face worth animating (dubbing a video, or the stock voice);
        # only what needs the person's speech (voice matching, transcript, neural prompt) is off.
        total = info.duration or cfg.max_seconds
        start, end = 0.0, min(total, cfg.max_seconds)  # the length was checked above
        warnings.append(f"'{name}' has no usable speech ({mute}): its face is used, its voice is not.")
        return [], start, end, mute
    start, end, capped = vad.usable_span(segments, total, max_len=cfg.max_seconds)
    if end - start < cfg.short_seconds:
        # Pad a short utterance with the clip around it: more frames to copy motion from.
        grow = (cfg.short_seconds - (end - start)) / 2
        start, end = max(0.0, start - grow), min(total, end + grow)
    if end - start < cfg.min_seconds - 1e-3:
        raise ClipTooShortError(
            f"'{name}' has only {end - start:.1f} s of usable speech; at least {cfg.min_seconds:.0f} s is needed.",
            f"Use a clip of {cfg.short_seconds:.0f}–{cfg.max_seconds:.0f} s with the person talking "
            f"(at least {cfg.min_seconds:.0f} s).",
        )
    if end - start < cfg.short_seconds - 1e-3:
        warnings.append(f"The reference has only {end - start:.1f} s of speech: its speaking style and voice come "
                        f"from little material. A clip of {cfg.short_seconds:.0f} s or more gives a better likeness.")
    if capped:
        warnings.append(f"The reference was capped to {end - start:.1f} s (at most {cfg.max_seconds:.0f} s are used).")
    return segments, start, end, mute


def _track_span(p: Path, info, start: float, end: float, cfg: AnalysisConfig, timings: dict, warnings: list[str],
                progress):
    """Decode the span's frames at FPS and track the face in them; refuse a clip with too little
    face. Returns the tracking and the frames where the clip cuts to another take."""
    from ..tracking.tracker import track_frames
    from .takes import CutWatcher

    _step(progress, 0.25, "tracking the face")
    t = time.perf_counter()
    # ffmpeg's fps filter may emit one frame past the span; the span decides the count
    frames = islice(decode.iter_frames(p, FPS, start=start, duration=end - start, info=info),
                    int(round((end - start) * FPS)))
    watcher = CutWatcher()
    tr = track_frames(watcher.watch(frames), FPS, model_path=cfg.face_model, backend=cfg.tracker_backend,
                      source_name=p.name)
    timings["decode_track"] = time.perf_counter() - t
    warnings += tr.warnings
    if tr.face_ratio < cfg.min_face_ratio:
        raise NoFaceError(
            f"A face was found in only {tr.face_ratio:.0%} of the frames of '{p.name}'.",
            "Use a clip where one face is visible and frontal most of the time.",
        )
    return tr, watcher.cuts


def _span_audio(audio: np.ndarray, start: float, n: int) -> np.ndarray:
    """The audio of the ``n`` tracked frames from ``start``, zero-padded to their length, loudness-normalised."""
    i0 = int(round(start * SAMPLE_RATE))
    span_audio = audio[i0 : i0 + _frames_to_samples(n)]
    span_audio = np.pad(span_audio, (0, max(0, _frames_to_samples(n) - span_audio.size)))
    return loudness.normalize(span_audio, SAMPLE_RATE)


def _with_user_transcript(feats: ReferenceFeatures, transcript, language) -> ReferenceFeatures:
    """A user transcript wins over ASR; it is applied after caching so the cache keeps ASR's."""
    if transcript is not None and transcript.strip():
        feats.transcript = " ".join(transcript.split())
        feats.transcript_source = "user"
        feats.words = []
        feats.language = language or _guess_language(feats.transcript)
    elif language and not feats.language:
        feats.language = language
    return feats


def _apply_transcript(feats: ReferenceFeatures, transcript, language, cfg: AnalysisConfig, progress=None) -> bool:
    """Run ASR once per clip unless the user gave a transcript; True when it ran."""
    if transcript is not None and transcript.strip():
        return False
    if feats.kind != "video" or feats.audio is None:
        return False
    if feats.transcript_source.startswith("asr") and (not language or language == feats.language):
        return False  # cached ASR stands unless the caller names another language
    from .. import asr

    _step(progress, 0.8, "transcribing")
    t = time.perf_counter()
    tx = asr.transcribe(feats.audio, feats.sample_rate, language=language, backend=cfg.asr_backend)
    feats.timings["asr"] = time.perf_counter() - t
    feats.transcript = tx.text.strip()
    feats.language = tx.language
    feats.transcript_source = f"asr:{tx.backend}"
    feats.words = [{"text": w.text, "start": w.start, "end": w.end, "probability": w.probability} for w in tx.words]
    if not feats.transcript:
        feats.warnings.append("Speech recognition produced no text; give the transcript yourself for better results.")
    return True


def _guess_language(text: str) -> str:
    """Script-based guess for user transcripts: Han characters → zh, else en."""
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if han > 0.3 * max(1, len(text.replace(" ", ""))) else "en"
