"""A video made piece by piece: the stages of ``TalkerPipeline`` run once per piece, each piece
continuing the last, so a video of any length is made at flat memory and its first seconds play
while the rest is made.

    text  → sentences packed into pieces (``text.split.video_pieces``)
    audio → cut in pauses on frame boundaries (``audio.pieces.plan_pieces``)
    per piece: speech (made while the piece before renders) → motion (``motion`` streams carry on)
               → frames (``render(..., resume=True)``) → a playable segment → the growing mp4

Continuity at a join: the head, brows and gaze re-sequence on from the last piece's state, blinks
never straddle a join, the clip renderer's frame paths go on from where they stopped, the speech
pieces meet in a sentence pause with the offline voice's own pause length, and every piece is
whole video frames of audio, so the picture never drifts from the sound.
"""

from __future__ import annotations

import math
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .errors import InputError, SilentAudioError
from .motion.base import Motion
from .phones import Phone
from .request import GenerateOptions, GenerationResult, StreamChunk
from .speech.contract import Speech
from .templates import store

# A piece is at most this long (about 420 English characters): short enough that a piece's frames,
# codes and audio are a few MB, long enough that a short text is a single piece, made as before.
PIECE_SECONDS = 30.0
# The first piece's length when a caller wants the video to start playing soon (the CLI, the app,
# the bench): about one short clause.
FIRST_PIECE_SECONDS = 2.0
# Characters a voice speaks per second at speed 1, to size text pieces: Kokoro/Piper English read
# 14-16 characters per second; Mandarin about 4.5 Han characters.
CHARS_PER_SECOND = {"zh": 4.5, "ja": 6.0}
DEFAULT_CHARS_PER_SECOND = 14.0
# A result longer than this keeps its audio in a mapped file rather than in memory (10 minutes of
# 24 kHz float32 are 58 MB).
IN_MEMORY_AUDIO_SECONDS = 600.0


def chars_per_second(language: str) -> float:
    return CHARS_PER_SECOND.get(language, DEFAULT_CHARS_PER_SECOND)


class _SpeechPieces:
    """Each piece's speech, made in order in a background thread (the voice itself runs in a child
    process, so it truly runs while the main thread renders), joined to the last piece's end and
    cut to whole video frames."""

    def __init__(self, pipeline, feats, opt: GenerateOptions, fps: int, *, texts=None, audio_plan=None,
                 transcripts=None, voices=None, language: str | None = None) -> None:
        self.p, self.feats, self.opt, self.fps = pipeline, feats, opt, fps
        self.texts, self.plan, self.transcripts, self.voices = texts, audio_plan, transcripts, voices or {}
        self.language = language
        self.count = len(texts) if texts is not None else len(audio_plan.cuts)
        self.frames_done = 0  # frames of the pieces made so far (their audio is exactly as long)
        self.match: str | None = None  # the first piece's voice-matching verdict, kept for all
        self.match_message: str | None = None
        self.seconds = 0.0

    def make(self, k: int) -> tuple[Speech, int, int]:
        """(speech, frames, first frame) of piece ``k``; call in order."""
        t = time.perf_counter()
        last = k == self.count - 1
        if self.texts is not None:
            from .speech.base import pause_after, piece_for_joining

            sp = self.p.speak(self.texts[k], self.feats, self.opt, voices=self.voices)
            if self.count > 1:  # each join's pause shared by its two pieces: the join falls mid-silence
                speed = self.opt.speed
                sp = piece_for_joining(sp, trim_lead=k > 0,
                                       pause_before=pause_after(self.texts[k - 1], speed) / 2 if k else 0.0,
                                       pause_after=0.0 if last else pause_after(self.texts[k], speed) / 2)
        else:
            sp = self._user_piece(k)
        start = self.frames_done
        sp, frames = _whole_frames(sp, start, self.fps, exact_end=self.plan.cuts[k][1] if self.plan else None)
        self._match(sp)
        self.frames_done += frames
        self.seconds += time.perf_counter() - t
        return sp, frames, start

    def _user_piece(self, k: int) -> Speech:
        from .align.timing import timed_phones
        from .asr import transcribe

        wav = self.plan.read(k)
        given = self.transcripts[k] if self.transcripts else None
        lang = self.language
        if given is not None:
            text = given
        else:
            tx = transcribe(wav, SAMPLE_RATE, language=lang)
            text, lang = tx.text.strip(), tx.language
            self.language = self.language or lang  # the first piece's language holds for all
        phones, warnings = timed_phones(wav, SAMPLE_RATE, text, lang)
        return Speech(wav, SAMPLE_RATE, phones, text, lang or "", "user audio", warnings, source="user")

    def _match(self, sp: Speech) -> None:
        """WORLD matching toward the reference (``speech.voice_match``): the first piece decides,
        with the speaker encoder, whether it brings the voice closer; every later piece does the
        same, so the voice never changes at a join."""
        from .speech.voice_match import STOCK_NOTICE, apply_reference_voice

        if sp.source != "voice":
            return
        if not (self.opt.voice_match and self.feats.audio is not None):
            self.match, self.match_message = "stock", STOCK_NOTICE
            return
        if self.match == "stock":
            return
        first = self.match is None
        audio, vm = apply_reference_voice(sp.audio, sp.sample_rate, self.feats.audio, self.feats.sample_rate,
                                          key=self.feats.content_hash, check=first)
        if first:
            self.match, self.match_message = vm.get("kept", "stock"), vm["message"]
        if vm.get("kept") == "matched":
            matched = np.asarray(audio, dtype=np.float32)[: sp.audio.size]  # WORLD keeps the timing
            sp.audio = np.concatenate([matched, np.zeros(sp.audio.size - matched.size, np.float32)])
            sp.backend += " + WORLD pitch/formant matching"


def _whole_frames(sp: Speech, start_frame: int, fps: int, exact_end: int | None = None) -> tuple[Speech, int]:
    """The piece padded with silence (or cut) to whole video frames, counted from the start of the
    whole video so rounding never accumulates: frame f starts at sample round(f · rate / fps)."""
    sr = sp.sample_rate
    s0 = int(round(start_frame * sr / fps))
    if exact_end is not None:  # a recording's cut is already on a frame boundary
        frames = int(round(exact_end * fps / sr)) - start_frame
    else:
        frames = max(1, math.ceil((s0 + sp.audio.size) * fps / sr - 1e-6) - start_frame)
    want = int(round((start_frame + frames) * sr / fps)) - s0
    a = np.asarray(sp.audio, dtype=np.float32)
    if a.size < want:
        a = np.concatenate([a, np.zeros(want - a.size, np.float32)])
    sp.audio = a[:want]
    if sp.phones:
        sp.phones = [ph for ph in sp.phones if ph.start < want / sr]
        if sp.phones:
            sp.phones[-1].end = want / sr
    return sp, frames


def _split_transcript(transcript: str, weights: list[float]) -> list[str]:
    """A recording's transcript shared out over its pieces in proportion to ``weights`` (how much
    the recogniser heard in each), cut between words (between characters for Chinese)."""
    import re

    han = re.search(r"[\u3400-\u9fff]", transcript)
    units = list(transcript.replace(" ", "")) if han else transcript.split()
    total = sum(weights) or 1.0
    out, pos, acc = [], 0, 0.0
    for i, w in enumerate(weights):
        acc += w
        end = len(units) if i == len(weights) - 1 else int(round(len(units) * acc / total))
        out.append(("" if han else " ").join(units[pos:end]))
        pos = end
    return out


def make_pieces(pipeline, output, *, template, reference, text, audio, transcript, reference_transcript,
                opt: GenerateOptions, progress, first_piece_seconds: float | None, segments_dir):
    """The generator behind ``TalkerPipeline.stream``: yields ``StreamChunk``s, returns the result."""
    if (text is None) == (audio is None):
        raise InputError("Give either text to speak or an audio file, not both or neither.",
                         "Type the text, or upload the speech to lip-sync.")
    t_start = time.perf_counter()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    progress(0.02, "analysing the reference")
    feats, media = pipeline.reference(template=template, media=reference, transcript=reference_transcript)
    reference_s = time.perf_counter() - t_start
    voices = store.get_template(template, pipeline.config.templates_dir).voices if template else {}
    work = Path(tempfile.mkdtemp(prefix=".talker-pieces-", dir=output.parent))
    keep = Path(segments_dir) if segments_dir is not None else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    run = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="talker-speech")
    try:
        progress(0.05, "speech")
        speech = _plan(pipeline, feats, opt, int(feats.fps), text=text, audio=audio, transcript=transcript,
                       voices=voices, first_piece_seconds=first_piece_seconds, work=work)
        run = _Run(pipeline, feats, media, opt, speech, output, work, keep, t_start)
        run.timings["reference"] = reference_s
        future = pool.submit(speech.make, 0)
        for k in range(speech.count):
            t = time.perf_counter()
            sp, frames, start = future.result()
            run.add("speech_wait", t)
            if k + 1 < speech.count:
                future = pool.submit(speech.make, k + 1)  # made while this piece renders
            chunk = run.piece(k, sp, frames, start)
            progress(0.05 + 0.9 * (k + 1) / speech.count, f"piece {k + 1} of {speech.count}")
            yield chunk
            if keep is None:
                chunk.segment.unlink(missing_ok=True)
        result = run.finish()
        progress(1.0, "done")
        return result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if run is not None and not run.done:
            run.writer.abort()
        for f in work.glob("*"):
            f.unlink(missing_ok=True)
        work.rmdir()


class _Run:
    """The state a video made in pieces carries from one piece to the next."""

    def __init__(self, pipeline, feats, media, opt: GenerateOptions, speech: _SpeechPieces, output: Path,
                 work: Path, keep: Path | None, t_start: float) -> None:
        from .video.encode import EncodeOptions
        from .video.pieces import GrowingMp4

        self.p, self.feats, self.opt, self.speech = pipeline, feats, opt, speech
        self.fps = int(feats.fps)
        self.work, self.seg_dir, self.t_start = work, keep or work, t_start
        self.timings: dict[str, float] = {}
        self.renderer = pipeline._renderer(feats, media, opt)
        self.controls = opt.controls()
        self.center = None  # the controls' head centre, fixed by the first piece
        self.enc = EncodeOptions(fps=self.fps)
        self.writer = GrowingMp4(output, SAMPLE_RATE, self.enc)
        self.output = output
        self.audio_path = work / "audio.f32"
        self.codes: list[np.ndarray] = []
        self.phones: list[Phone] = []
        self.texts: list[str] = []
        self.warnings = list(feats.warnings)
        self.motion_stream = None
        self.engine: dict = {}
        self.done = False

    def add(self, stage: str, since: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - since

    def _motion(self, k: int, sp: Speech, frames: int) -> Motion:
        from .motion.controls import apply_controls, control_center

        if k == 0:
            gen = self.p._motion_generator(sp, self.feats, self.opt)
            if sp.motion is None and hasattr(gen, "stream"):
                self.motion_stream = gen.stream(self.feats, seed=self.opt.seed, controls=self.controls)
        if sp.motion is not None or self.motion_stream is None:
            motion = self.p.move(sp, self.feats, self.opt)  # the neural engine's: each piece on its own
        else:
            motion = self.motion_stream.next(sp, frames, last=k == self.speech.count - 1)
            if not self.controls.neutral:
                self.center = self.center if self.center is not None else control_center(motion.codes)
                motion.codes = apply_controls(motion.codes, self.controls, self.center)
        return _exact(motion, frames)

    def piece(self, k: int, sp: Speech, frames: int, start: int) -> StreamChunk:
        from .video.encode import mux

        t = time.perf_counter()
        motion = self._motion(k, sp, frames)
        self.add("motion", t)
        t = time.perf_counter()
        frames_it = self.renderer.render(motion.codes, resume=k > 0)
        if self.opt.label:
            from .video.label import draw_label

            frames_it = (draw_label(f) for f in frames_it)
        segment = mux(_Timed(frames_it, self.timings), sp.audio, SAMPLE_RATE, self.seg_dir / f"piece-{k:05d}.ts",
                      self.enc, num_frames=frames, segment_start=start / self.fps)
        self.writer.add(segment, sp.audio)
        with open(self.audio_path, "ab") as f:
            f.write(np.ascontiguousarray(sp.audio, dtype="<f4").tobytes())
        self.add("encode", t)
        self.codes.append(np.asarray(motion.codes, np.float32))
        offset = start / self.fps
        self.phones.extend(Phone(ph.symbol, ph.start + offset, ph.end + offset, ph.alphabet) for ph in sp.phones)
        self.texts.append(sp.text)
        for w in sp.warnings + motion.warnings:
            if w not in self.warnings:
                self.warnings.append(w)
        if k == 0:
            from .pipeline import _mode

            self.engine = {"mode": _mode(sp, motion), "speech": sp.backend, "motion": motion.engine,
                           "renderer": self.renderer.name, "tracker": self.feats.tracker_backend}
            self.timings["first_piece"] = time.perf_counter() - self.t_start
        return StreamChunk(k, start / self.fps, frames / self.fps, frames, segment, sp.text,
                           time.perf_counter() - self.t_start, self.speech.count)

    def finish(self) -> GenerationResult:
        sp, timings, fps = self.speech, self.timings, self.fps
        total_frames = sp.frames_done
        t = time.perf_counter()
        out = self.writer.finish(self.output, total_frames, audio_path=self.audio_path)
        self.add("encode", t)
        timings["render"] = timings.pop("_render", 0.0)
        timings["encode"] -= timings["render"]
        timings["speech"] = sp.seconds
        if sp.match_message and sp.match_message not in self.warnings:
            self.warnings.append(sp.match_message)
        if sp.match == "matched" and "WORLD" not in self.engine.get("speech", ""):
            self.engine["speech"] += " + WORLD pitch/formant matching"
        timings["total"] = time.perf_counter() - self.t_start
        if not total_frames:
            audio = np.zeros(0, np.float32)
        elif total_frames / fps > IN_MEMORY_AUDIO_SECONDS:
            # mapped, not read: a 30-minute result's audio (173 MB) stays out of the process's
            # memory until a caller reads it (the mapping outlives the file's removal)
            audio = np.memmap(self.audio_path, dtype="<f4", mode="r")
        else:
            audio = np.fromfile(self.audio_path, dtype="<f4")
        joiner = "" if sp.language == "zh" else " "
        self.done = True
        return GenerationResult(out, audio, SAMPLE_RATE, np.concatenate(self.codes), self.feats.fps,
                                joiner.join(t for t in self.texts if t), sp.language or "", self.engine, timings,
                                self.warnings, self.phones)


def _exact(motion: Motion, frames: int) -> Motion:
    """Exactly ``frames`` rows (a neural engine's own count may differ by a frame)."""
    c = motion.codes
    if c.shape[0] != frames:
        c = c[:frames] if c.shape[0] >= frames else np.concatenate([c, np.repeat(c[-1:], frames - c.shape[0], 0)])
        motion.codes = c
    return motion


class _Timed:
    """Adds the time spent producing frames (rendering, not encoding) to ``timings["_render"]``."""

    def __init__(self, it, timings: dict) -> None:
        self._it, self._t = iter(it), timings

    def __iter__(self):
        return self

    def __next__(self):
        t = time.perf_counter()
        try:
            return next(self._it)
        finally:
            self._t["_render"] = self._t.get("_render", 0.0) + time.perf_counter() - t


def _plan(pipeline, feats, opt: GenerateOptions, fps: int, *, text, audio, transcript, voices,
          first_piece_seconds, work: Path) -> _SpeechPieces:
    """The pieces of a text (sentences) or of a recording (cut in pauses)."""
    if text is not None:
        from .speech.base import prepare_text
        from .text.split import video_pieces

        if pipeline._use_neural(opt, feats)[0]:  # the neural engine normalises the text itself
            from .speech.base import validate_text

            spoken, lang = validate_text(text, opt.language, opt.speed, opt.max_text_chars)
        else:
            spoken, lang, _ = prepare_text(text, opt.language, opt.speed, opt.max_text_chars)
        rate = chars_per_second(lang) * opt.speed
        first = int(first_piece_seconds * rate) if first_piece_seconds else None
        texts = video_pieces(spoken, int(PIECE_SECONDS * rate), first)
        return _SpeechPieces(pipeline, feats, replace(opt, language=lang), fps, texts=texts, voices=voices,
                             language=lang)
    return _plan_audio(pipeline, feats, opt, fps, audio=audio, transcript=transcript,
                       first_piece_seconds=first_piece_seconds, work=work)


def _plan_audio(pipeline, feats, opt, fps, *, audio, transcript, first_piece_seconds, work):
    from .audio.pieces import plan_pieces
    from .media.decode import decode_audio_to_file
    from .media.probe import probe
    from .speech.sources import MIN_USER_AUDIO_S, SILENT_DBFS

    info = probe(audio)
    if not info.has_audio:
        raise InputError(f"'{Path(audio).name}' has no audio track.", "Upload a speech recording (WAV, MP3, M4A…).")
    if info.duration > opt.max_audio_seconds:
        raise InputError(f"The audio is {info.duration:.0f} s long; the limit is {opt.max_audio_seconds:.0f} s "
                         "(max_audio_seconds).", "Split it into shorter parts.")
    raw = work / "audio.in.f32"
    samples = decode_audio_to_file(audio, raw, SAMPLE_RATE, info=info)
    plan = plan_pieces(raw, SAMPLE_RATE, fps, piece_seconds=PIECE_SECONDS, first_seconds=first_piece_seconds)
    if samples < SAMPLE_RATE * MIN_USER_AUDIO_S or plan.rms_dbfs < SILENT_DBFS:
        raise SilentAudioError(f"The audio '{Path(audio).name}' is silent or too short.",
                               "Upload a recording in which someone speaks.")
    lang = opt.language if opt.language not in (None, "", "auto") else None
    transcripts = None
    if transcript and transcript.strip():
        if len(plan.cuts) == 1:
            transcripts = [transcript.strip()]
        else:  # which words fall in which piece: share them out by what the recogniser hears in each
            from .asr import transcribe

            heard = []
            for k in range(len(plan.cuts)):
                tx = transcribe(plan.read(k), SAMPLE_RATE, language=lang)
                lang = lang or tx.language
                heard.append(float(max(len(tx.text.strip()), 1)))
            transcripts = _split_transcript(transcript.strip(), heard)
    return _SpeechPieces(pipeline, feats, opt, fps, audio_plan=plan, transcripts=transcripts, language=lang)
