"""Dub a video: source analysis → new speech → mouth motion → timeline → render → encode."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..errors import InputError, TalkerError
from ..motion.code import HEAD
from ..motion.visemes import MOUTH_COLS
from ..request import DUB_RESTS, DubOptions, DubResult
from ..tracking.tracker import FACE_CHOICES
from .source import SourceConfig, SourceVideo, analyze_source
from .timeline import plan_timeline

CROSSFADE_SECONDS = 0.04  # where the new speech hands over to the video's own sound (rest="keep")


def dub_video(pipe, video: str | Path, output: str | Path, *, audio: str | Path | None = None,
              text: str | None = None, transcript: str | None = None, options: DubOptions | None = None,
              progress=None) -> DubResult:
    opt = options or DubOptions()
    progress = progress or (lambda f, d: None)
    has_text = _check_request(video, output, audio, text, opt)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    src, feats, speech, warnings = _source_and_speech(pipe, video, audio, text if has_text else None, transcript,
                                                      opt, progress, timings)

    t = time.perf_counter()
    fps = src.fps
    speech_frames = max(1, math.ceil(speech.audio.size * fps / speech.sample_rate - 1e-6))
    timeline = plan_timeline(src.frames, speech_frames, rest=opt.rest, fps=fps, head_speed=_head_speed(src))
    motion = _mouth_motion(speech, feats, src, timeline, opt)
    timings["motion"] = time.perf_counter() - t

    progress(0.55, "painting the new mouth")
    t = time.perf_counter()
    from ..video.encode import EncodeOptions, mux
    from ..video.label import draw_label
    from .render import DubRenderer, blend_weights

    renderer = DubRenderer(src)
    frames = renderer.render(motion, timeline, _timeline_frames(video, src, timeline))
    if opt.label:
        frames = (draw_label(f) for f in frames)
    track = _soundtrack(speech, src, timeline)
    out = Path(output)
    mux(_counted(frames, timeline.frames, progress), track, SAMPLE_RATE, out,
        EncodeOptions(fps=fps, crf=opt.crf, metadata={"talker_mode": "dub"}), num_frames=timeline.frames)
    timings["render_encode"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    weights = blend_weights(timeline, src.usable) * renderer.painted(timeline.frames)
    passed = int((timeline.dubbed & (weights <= 0)).sum())
    if renderer.covered:
        warnings.append(f"{len(renderer.covered)} frames with something in front of the mouth (a hand, a "
                        "microphone) pass through unchanged.")
    if timeline.extended:
        warnings.append(f"The new speech is {timeline.extended / fps:.1f} s longer than the video: the video's last "
                        "seconds play on back and forth.")
    progress(1.0, "done")
    return DubResult(video=out, audio=track, sample_rate=SAMPLE_RATE, motion=motion, fps=fps, text=speech.text,
                     language=speech.language, engine={"speech": speech.backend, "render": renderer.name},
                     timings=timings, warnings=warnings, phones=speech.phones, source_frames=src.frames,
                     dubbed_frames=int((weights > 0).sum()), passed_through=passed,
                     extended_frames=timeline.extended)


def _check_request(video, output, audio, text, opt: DubOptions) -> bool:
    """Refuse what cannot be done before any work; whether the new speech is a text."""
    if opt.rest not in DUB_RESTS:
        raise InputError(f"Unknown rest option '{opt.rest}'.", f"Use one of: {', '.join(DUB_RESTS)}.")
    if opt.face not in FACE_CHOICES:
        raise InputError(f"Unknown face choice '{opt.face}'.", f"Use one of: {', '.join(FACE_CHOICES)}.")
    has_text = bool(text and text.strip())
    if (audio is None) == (not has_text):
        raise InputError("Dubbing needs new speech: either an audio file or a text, not both and not neither.",
                         "Give --audio NEW.wav, or --text \"...\" (with --voice to choose the voice).")
    if Path(output).resolve() == Path(video).resolve():
        raise InputError("The output file is the video being dubbed.", "Give another output name (-o).")
    if not has_text:
        _check_audio(audio, opt)  # before minutes of video analysis, not after
    return has_text


def _source_and_speech(pipe, video, audio, text, transcript, opt: DubOptions, progress, timings: dict):
    """The video analysed and the new speech: a recording is read while the video is analysed (it
    needs nothing from it); a text is spoken after, in a voice chosen for the video's speaker."""
    gen = opt.speech_options()
    t0 = time.perf_counter()
    heard = None
    side = ThreadPoolExecutor(1)
    failed = True
    try:
        if text is None:
            heard = side.submit(_timed, pipe.listen, audio, transcript, gen)
        progress(0.02, "analysing the video")
        ana = pipe.config.analysis  # the tracker and the cache as analysis is told to use them
        src = analyze_source(video, SourceConfig(max_seconds=opt.max_video_seconds, face=opt.face,
                                                 tracker_backend=ana.tracker_backend, face_model=ana.face_model,
                                                 use_cache=ana.use_cache),
                             progress=lambda f, d: progress(0.02 + 0.4 * f, d))
        failed = False
    finally:
        # on a failure the recording's reading is waited for, so it never runs on into the next job
        side.shutdown(wait=failed, cancel_futures=True)
    timings["source"] = time.perf_counter() - t0
    warnings = list(src.warnings)
    feats = src.reference()
    progress(0.45, "reading the speech" if text is None else "making the speech")
    if text is None:
        speech, timings["speech"] = heard.result()  # its time overlapped the video's analysis
    else:
        speech, timings["speech"] = _timed(pipe.speak, text, feats, gen)
        warnings += _match_voice(speech, feats, opt)
    warnings += [w for w in speech.warnings if w not in warnings]
    return src, feats, speech, warnings


def _check_audio(audio, opt: DubOptions) -> None:
    from ..media.probe import probe

    info = probe(audio)
    if not info.has_audio:
        raise InputError(f"'{Path(audio).name}' has no sound.", "Give the new speech as an audio file (WAV, MP3, M4A…).")
    if info.duration > opt.max_audio_seconds:
        raise InputError(f"The new speech is {info.duration:.0f} s long; the limit is {opt.max_audio_seconds:.0f} s.",
                         "Split it into shorter parts.")


def _timed(fn, *args):
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _match_voice(speech, feats, opt: DubOptions) -> list[str]:
    """Text mode: the stock voice nudged toward the video's speaker, as generation does."""
    from ..speech.voice_match import apply_reference_voice

    if not opt.voice_match or feats.audio is None or speech.source != "voice":
        return []
    matched, info = apply_reference_voice(speech.audio, speech.sample_rate, feats.audio, feats.sample_rate,
                                          key=feats.content_hash)
    if info.get("kept") == "matched":
        m = np.asarray(matched, dtype=np.float32)[: speech.audio.size]
        speech.audio = np.concatenate([m, np.zeros(speech.audio.size - m.size, np.float32)])
        speech.backend += " + WORLD pitch/formant matching"
    return []


def _head_speed(src: SourceVideo) -> np.ndarray:
    rot = src.motion[:, HEAD].astype(np.float64)
    step = np.zeros(src.frames)
    if src.frames > 1:
        step[1:] = np.linalg.norm(np.diff(rot, axis=0), axis=1)
    return step


def _mouth_motion(speech, feats, src: SourceVideo, timeline, opt: DubOptions) -> np.ndarray:
    """(T, 61): the source's own motion, with the new speech's mouth where it plays."""
    from ..motion.generator import speaker_mouth, speech_energy
    from ..motion.visemes import VisemeModel, mouth_motion

    s = timeline.speech_frames
    model = VisemeModel.load()
    energy = speech_energy(speech.audio, speech.sample_rate, s, src.fps)
    mouth = mouth_motion(speech.phones, s, speaker_mouth(feats, model), model, src.fps, energy)
    motion = src.motion[timeline.source].astype(np.float64)
    k = min(s, timeline.frames)
    motion[:k, MOUTH_COLS] = mouth[:k, MOUTH_COLS]
    if abs(opt.mouth_opening - 1.0) > 1e-6:
        from ..motion.controls import MotionControls, apply_controls

        motion[:k] = apply_controls(motion[:k], MotionControls(mouth_opening=opt.mouth_opening).clipped())
    return motion.astype(np.float32)


def _soundtrack(speech, src: SourceVideo, timeline) -> np.ndarray:
    """The new speech, to whole frames; with rest="keep", the video's own sound after it."""
    total = int(round(timeline.frames * SAMPLE_RATE / src.fps))
    audio = np.asarray(speech.audio, dtype=np.float32)
    if speech.sample_rate != SAMPLE_RATE:
        from ..audio.resample import resample

        audio = resample(audio, speech.sample_rate, SAMPLE_RATE).astype(np.float32)
    out = np.zeros(total, np.float32)
    k = min(total, audio.size)
    out[:k] = audio[:k]
    if timeline.frames > timeline.speech_frames and src.audio is not None:
        start = int(round(timeline.speech_frames * SAMPLE_RATE / src.fps))
        own = src.audio[start:total]
        fade = min(int(CROSSFADE_SECONDS * SAMPLE_RATE), own.size)
        ramp = np.ones(own.size, np.float32)
        ramp[:fade] = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[start:start + own.size] += own * ramp
    return out


def _timeline_frames(video, src: SourceVideo, timeline):
    """The source frames the timeline shows, in its order: decoded once, in order; the frames of
    the back-and-forth stretch are kept in memory when they pass."""
    from ..media import decode

    n = src.frames
    total = timeline.frames
    wanted = set(int(i) for i in timeline.source[n:]) if timeline.extended else set()
    kept: dict[int, np.ndarray] = {}
    last = None
    shown = 0
    stop = min(n, total)
    gen = decode.iter_frames(video, src.fps, size=src.size)
    try:
        for i, frame in enumerate(gen):
            if i >= n:
                break
            if i in wanted:
                kept[i] = frame
            last = frame
            if shown < stop:
                yield frame
                shown += 1
            elif not wanted or i >= max(wanted):
                break
    finally:
        gen.close()
    if last is None:
        raise TalkerError("The video gave no frames on the second read.", "Try again; if it persists, re-encode it.")
    while shown < stop:  # the decoder gave fewer frames than the analysis: hold the last
        yield last
        shown += 1
    for t in range(n, total):
        yield kept.get(int(timeline.source[t]), last)


def _counted(frames, total: int, progress):
    for i, f in enumerate(frames):
        if i % 25 == 0:
            progress(0.55 + 0.44 * i / max(total, 1), "painting the new mouth")
        yield f
