"""Generation requests and results shared by the CLI, the app and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENGINES = ("auto", "offline", "neural")  # neural: a configured DiT checkpoint; auto: neural when it can run


def _flag(default, flag: str, help: str | None = None, **argparse_kwargs):
    """A field that ``python -m talker generate`` offers as ``flag``, with this default (see ``talker.cli``).

    A bool field's flag flips its default: ``--crop`` sets False to True, ``--no-label`` True to False.
    """
    return field(default=default, metadata={"flag": flag, "help": help, **argparse_kwargs})


@dataclass
class GenerateOptions:
    """How to generate. The fields with a flag are the CLI's options too, so the CLI, the app and the API
    share one set of defaults."""

    # None/"auto": from the text's script
    language: str | None = _flag(None, "--language", "language of the text (default: from its script)")
    speed: float = _flag(1.0, "--speed")
    seed: int = _flag(0, "--seed")
    # True: output the 512×512 face crop instead of the full frame
    crop: bool = _flag(False, "--crop", "output the 512x512 face crop, not the full frame")
    max_side: int = 1280
    # the CLI's and the API's limits: a video is made piece by piece at flat memory, so these only
    # stop a mistake (an hour of audio is 3,600 s; 60,000 characters about 65 minutes of English)
    max_text_chars: int = 60000
    max_audio_seconds: float = 3600.0
    # a voice by name (python -m talker voices list); "auto": a voice of the reference's sex and
    # pitch (talker.speech.sources.auto_voice), a photo template's own voice, else the language's default
    voice: str = _flag("auto", "--voice", "voice name, e.g. af_heart, zf_xiaobei, joe (python -m talker voices "
                       "list); auto: one of the reference's sex and pitch (a photo template's own voice)")
    # nudge the stock voice's pitch/formants toward the reference (not cloning)
    voice_match: bool = _flag(True, "--no-voice-match", "keep the stock offline voice as it is")
    # visible "AI-generated" mark on every frame (metadata disclosure is always on)
    label: bool = _flag(True, "--no-label", "no visible AI-generated mark (metadata stays)")
    engine: str = _flag("auto", "--engine", "neural: the DiT checkpoint (--checkpoint or TALKER_DIT_CHECKPOINT); "
                        "auto: neural when one is configured and the reference has speech", choices=ENGINES)
    nfe_steps: int = _flag(32, "--nfe", "neural engine: ODE steps")
    cfg_scale: float = _flag(2.0, "--cfg", "neural engine: guidance scale")  # classifier-free guidance
    # controls over the face (talker.motion.controls.MotionControls; 1.0 / 0 = the reference's own style)
    expression: float = _flag(1.0, "--expression", "expression intensity, 0-2 (brows, squint)")
    head_motion: float = _flag(1.0, "--head-motion", "head-motion amplitude, 0-2")
    mouth_opening: float = _flag(1.0, "--mouth-opening", "mouth-opening scale, 0.5-1.5")
    blink_rate: float = _flag(1.0, "--blink-rate", "blinks relative to the reference's rate, 0-3")
    head_pitch_deg: float = _flag(0.0, "--head-pitch", "head pitch offset in degrees, -15..15")
    head_yaw_deg: float = _flag(0.0, "--head-yaw", "head yaw offset in degrees, -20..20")

    def controls(self):
        """The face controls as the motion stage takes them, clipped to their ranges."""
        from .motion.controls import MotionControls

        return MotionControls(self.expression, self.head_motion, self.mouth_opening, self.blink_rate,
                              self.head_pitch_deg, self.head_yaw_deg).clipped()


@dataclass
class GenerationResult:
    video: Path
    audio: np.ndarray  # 24 kHz mono, as muxed
    sample_rate: int
    motion: np.ndarray  # (frames, 61)
    fps: float
    text: str
    language: str
    engine: dict = field(default_factory=dict)  # which backend ran for each stage
    timings: dict = field(default_factory=dict)  # seconds per stage
    warnings: list[str] = field(default_factory=list)
    phones: list = field(default_factory=list)

    @property
    def frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def summary(self) -> dict:
        total = sum(v for k, v in self.timings.items() if k != "total")
        total = self.timings.get("total", total)
        return {
            "video": str(self.video), "duration": round(self.duration, 3), "frames": self.frames, "fps": self.fps,
            "rtf": round(total / max(self.duration, 1e-6), 3), "text": self.text, "language": self.language,
            "engine": self.engine, "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": self.warnings,
        }


@dataclass
class StreamChunk:
    """One piece of a video made piece by piece (``TalkerPipeline.stream``), ready to play."""

    index: int
    start: float  # seconds into the whole video
    duration: float  # seconds
    frames: int
    segment: Path  # this piece alone: H.264/AAC MPEG-TS whose timestamps start at ``start``
    text: str  # what it says ("" when unknown)
    elapsed: float  # seconds from the request to this piece being ready
    pieces: int  # how many pieces the whole video has

    def event(self) -> dict:
        """The piece as ``python -m talker generate --json`` prints it."""
        return {"event": "chunk", "index": self.index, "of": self.pieces, "start": round(self.start, 3),
                "duration": round(self.duration, 3), "frames": self.frames, "segment": str(self.segment),
                "text": self.text, "elapsed": round(self.elapsed, 3)}


class GenerationStream:
    """The pieces of a video as they are made (iterate it), then ``result`` — the whole mp4's
    ``GenerationResult`` — once the last piece is out. ``close()`` (or leaving a ``with`` block
    early) cancels: the work stops after the piece under way and every temporary file goes."""

    def __init__(self, pieces) -> None:
        self._gen = pieces
        self.result: GenerationResult | None = None

    def __iter__(self):
        return self

    def __next__(self) -> StreamChunk:
        try:
            return next(self._gen)
        except StopIteration as stop:
            self.result = stop.value
            raise

    def run(self) -> GenerationResult:
        """Make every piece; the whole video's result."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        self._gen.close()

    def __enter__(self) -> GenerationStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


DUB_RESTS = ("cut", "keep")


@dataclass
class DubOptions:
    """How to dub a video (``TalkerPipeline.dub``; ``python -m talker dub``)."""

    # new speech shorter than the video: "cut" the video there, or "keep" the rest with its own
    # sound and mouth; longer: the video plays on back and forth over a calm stretch
    rest: str = "cut"
    language: str | None = None
    speed: float = 1.0
    seed: int = 0
    voice: str = "auto"  # text mode: a voice by name; auto: one of the video's speaker's sex and pitch
    voice_match: bool = True  # text mode: nudge the stock voice toward the video's speaker
    label: bool = True  # the visible "AI-generated" mark (metadata disclosure is always on)
    mouth_opening: float = 1.0  # 0.5-1.5
    face: str = "largest"  # the face dubbed when the video shows several: "largest", "left" or "right"
    max_text_chars: int = 60000
    max_audio_seconds: float = 3600.0
    max_video_seconds: float = 600.0  # ten minutes of video per request
    # x264 quality of the dub: outside the mouth the output must stay the source (measured
    # PSNR in the README's dubbing table)
    crf: int = 10

    def speech_options(self) -> GenerateOptions:
        return GenerateOptions(language=self.language, speed=self.speed, seed=self.seed, voice=self.voice,
                               voice_match=self.voice_match, label=self.label, engine="offline",
                               max_text_chars=self.max_text_chars, max_audio_seconds=self.max_audio_seconds)


@dataclass
class DubResult(GenerationResult):
    source_frames: int = 0  # frames of the source video
    dubbed_frames: int = 0  # output frames whose mouth was re-rendered
    passed_through: int = 0  # output frames inside the new speech shown untouched (no usable face)
    extended_frames: int = 0  # output frames past the source's end (played back and forth)

    def summary(self) -> dict:
        out = super().summary()
        out.update(source_frames=self.source_frames, dubbed_frames=self.dubbed_frames,
                   passed_through=self.passed_through, extended_frames=self.extended_frames)
        return out
