"""``TalkerPipeline``: the one entry point that the CLI, the Gradio app and the Python API share.

``generate`` is the list of stages, each with a typed hand-off:

    reference  → ReferenceFeatures   (``reference``: analysis, cached per clip)
    speech     → Speech              (``speak``: a voice or the neural engine; ``listen``: the user's audio)
    motion     → Motion              (``move``: the offline generator or the neural engine's)
    render     → RGB frames          (``talker.render``: the clip or the photo renderer)
    encode     → the mp4             (``talker.video.encode``; voice matching joins here)

``dub`` makes an existing video say new words with the same stages (``talker.dub``).

Stages live in their own packages; this class only wires them and keeps loaded state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError
from .model.engine import NeuralConfig
from .motion.base import Motion, MotionGenerator, OfflineMotion
from .reference import still
from .reference.analysis import AnalysisConfig, analyze_reference
from .reference.cache import FeatureCache
from .reference.features import ReferenceFeatures
from .request import ENGINES, DubOptions, DubResult, GenerateOptions, GenerationResult, GenerationStream
from .speech.contract import Speech
from .templates import store


@dataclass
class PipelineConfig:
    templates_dir: str | None = None  # None: $TALKER_TEMPLATES_DIR, else the bundled templates
    cache_dir: str | None = None  # None: the user cache
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    neural: NeuralConfig = field(default_factory=NeuralConfig.from_env)  # checkpoints for the neural engine


class TalkerPipeline:
    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.cache = FeatureCache(Path(self.config.cache_dir) / "features" if self.config.cache_dir else None)
        self._neural = None
        self._speakers: dict[str, tuple] = {}  # reference content hash → ("female" / "male", median F0 Hz)

    # -- references ---------------------------------------------------------------------------
    def analyze(self, media: str | Path, *, transcript: str | None = None, language: str | None = None,
                progress=None) -> ReferenceFeatures:
        return analyze_reference(media, transcript=transcript, language=language,
                                 config=self.config.analysis, cache=self.cache, progress=progress)

    # -- templates ----------------------------------------------------------------------------
    def templates(self) -> list[store.Template]:
        return store.list_templates(self.config.templates_dir)

    def template(self, name: str) -> tuple[store.Template, ReferenceFeatures]:
        """A template and its features (analysed now if the folder has none yet)."""
        tpl = store.get_template(name, self.config.templates_dir)
        feats = tpl.features()
        if feats is None:
            feats = self.analyze(tpl.media_path, transcript=tpl.transcript or None, language=tpl.language or None)
        elif feats.kind == "video" and feats.cuts is None:  # analysed before cuts were stored
            from .reference.takes import clip_cuts

            feats = replace(feats, cuts=clip_cuts(tpl.media_path, feats.span[0], feats.frames, feats.fps))
        return tpl, feats

    def add_template(self, media: str | Path, name: str, **kwargs) -> tuple[store.Template, ReferenceFeatures]:
        return store.add_template(media, name, root=self.config.templates_dir,
                                  analysis_config=self.config.analysis, **kwargs)

    def delete_template(self, name: str) -> None:
        store.delete_template(name, self.config.templates_dir)

    # -- generation ---------------------------------------------------------------------------
    def reference(self, *, template: str | None = None, media: str | Path | None = None,
                  transcript: str | None = None, progress=None) -> tuple[ReferenceFeatures, Path]:
        """The reference's features and the media to render from (a still frame for a video that
        never moves). A template's analysis warnings were shown to whoever added it
        (``templates add``); its users are not the ones who can act on them."""
        if template:
            tpl, feats = self.template(template)
            feats, media = replace(feats, warnings=[]), tpl.media_path
        elif media is None:
            raise InputError("No reference was given.", "Pick a template or give a reference clip or photo.")
        else:
            feats, media = self.analyze(media, transcript=transcript, progress=progress), Path(media)
        if still.is_still(feats):  # a photo with a soundtrack: the photo renderer animates it
            png = still.still_frame(feats, media, self.cache.root.parent / "stills")
            feats, media = still.as_photo(feats, self.analyze(png)), png
        return feats, Path(media)

    def generate(self, output: str | Path, *, template: str | None = None, reference: str | Path | None = None,
                 text: str | None = None, audio: str | Path | None = None, transcript: str | None = None,
                 reference_transcript: str | None = None, options: GenerateOptions | None = None,
                 progress=None) -> GenerationResult:
        """Reference + (text | audio) → talking video at ``output``.

        ``transcript`` is what ``audio`` says; ``reference_transcript`` what the reference says.
        ``progress(fraction, description)`` is called as the stages go. Long inputs are made piece
        by piece (``stream``) at flat memory; a short one is one piece.
        """
        return self.stream(output, template=template, reference=reference, text=text, audio=audio,
                           transcript=transcript, reference_transcript=reference_transcript, options=options,
                           progress=progress).run()

    def stream(self, output: str | Path, *, template: str | None = None, reference: str | Path | None = None,
               text: str | None = None, audio: str | Path | None = None, transcript: str | None = None,
               reference_transcript: str | None = None, options: GenerateOptions | None = None, progress=None,
               first_piece_seconds: float | None = None, segments_dir: str | Path | None = None
               ) -> GenerationStream:
        """``generate``, handing out each piece of the video as soon as it is made::

            job = pipeline.stream("out.mp4", template="astronaut", text=long_text, first_piece_seconds=2)
            for chunk in job:          # StreamChunk: chunk.segment plays on its own
                ...
            result = job.result        # the whole mp4 at out.mp4

        ``output`` grows while the pieces come (a fragmented mp4 any player can open) and is an
        ordinary mp4 at the end. ``first_piece_seconds``: make the first piece about that short,
        so it is ready soon (each next piece twice as long, up to ``PIECE_SECONDS``). ``segments_dir``:
        keep each piece's segment there (else each is removed once the next is asked for).
        ``job.close()`` cancels: nothing is left behind.
        """
        from .streaming import make_pieces

        return GenerationStream(make_pieces(self, output, template=template, reference=reference, text=text,
                                            audio=audio, transcript=transcript,
                                            reference_transcript=reference_transcript,
                                            opt=options or GenerateOptions(), progress=progress or _no_progress,
                                            first_piece_seconds=first_piece_seconds, segments_dir=segments_dir))

    def dub(self, video: str | Path, output: str | Path, *, audio: str | Path | None = None, text: str | None = None,
            transcript: str | None = None, options: DubOptions | None = None, progress=None) -> DubResult:
        """An existing video saying new words (``audio``, or ``text`` in a voice): every frame of
        ``video`` is kept in order and only the mouth is re-rendered, from the video's own mouths.
        ``transcript``: what ``audio`` says (else speech recognition). See ``talker.dub``."""
        from .dub.run import dub_video

        return dub_video(self, video, output, audio=audio, text=text, transcript=transcript, options=options,
                         progress=progress)

    # -- stages -------------------------------------------------------------------------------
    def speak(self, text: str, feats: ReferenceFeatures, opt: GenerateOptions,
              voices: dict[str, str] | None = None) -> Speech:
        """The text as speech: the neural engine in the reference's voice when it can run (see
        ``_use_neural``), else the best offline voice for the language. ``voices`` (language → voice
        name) is what a template says a reference without a voice of its own speaks with."""
        use_neural, note = self._use_neural(opt, feats)
        if use_neural:
            speech = self.neural_engine().speak(feats, text, language=opt.language, speed=opt.speed,
                                                seed=opt.seed, nfe_steps=opt.nfe_steps, cfg_scale=opt.cfg_scale,
                                                max_chars=opt.max_text_chars)
            if speech.motion is None:  # an audio-only model: the offline generator needs phone timings
                from .align.timing import timed_phones

                speech.phones, more = timed_phones(speech.audio, speech.sample_rate, speech.text, speech.language)
                speech.warnings += more
            return speech
        from .speech.sources import offline_speech

        voice = self._voice_for(text, feats, opt, voices)
        speech = offline_speech(text, language=opt.language, speed=opt.speed, seed=opt.seed,
                                max_chars=opt.max_text_chars, voice=voice)
        if voice is None and feats.kind != "video" and opt.voice in (None, "", "auto"):
            # never silently: a photo's default voice may be of the other sex than the person shown
            speech.warnings.append(f"A photo has no voice of its own; it speaks with the default voice "
                                   f"({speech.backend}). Choose one with --voice or the app's Voice menu "
                                   "(python -m talker voices list).")
        speech.warnings[:0] = [note] if note else []
        return speech

    def _voice_for(self, text: str, feats: ReferenceFeatures, opt: GenerateOptions,
                   voices: dict[str, str] | None = None) -> str | None:
        """The voice asked for; for "auto" the template's voice for the language (``voices``), else
        the measured best of the reference's sex and pitch (``speech.sources.auto_voice``); None: the
        language's default voice (a photo without a template voice, or a voice not installed)."""
        if opt.voice not in (None, "", "auto"):
            return opt.voice
        from .speech.base import canonical_language, list_voices
        from .text.normalize import detect_script_language

        lang = canonical_language(opt.language) or detect_script_language(text.strip()) or "en"
        if (voices or {}).get(lang) in {v.name for v in list_voices(lang)}:  # else: the photo's warning names the default
            return voices[lang]
        return self.stock_voices(feats, (lang,)).get(lang)

    def stock_voices(self, feats: ReferenceFeatures, languages: tuple[str, ...] = ("en", "zh")) -> dict[str, str]:
        """Language → the installed stock voice ``--voice auto`` picks for this reference (sex and
        pitch), for a template to carry: choosing it then needs no speaker analysis."""
        from .speech.base import list_voices
        from .speech.sources import auto_voice

        if feats.audio is None or feats.kind != "video":
            return {}
        picks = {lang: auto_voice(lang, *self._speaker(feats), {v.name for v in list_voices(lang)}) for lang in languages}
        return {lang: v for lang, v in picks.items() if v}

    def _speaker(self, feats: ReferenceFeatures) -> tuple[str | None, float | None]:
        """The reference speaker's sex (``speech.sources.reference_sex``) and median pitch in Hz,
        once per clip, from the profile voice matching reads too (one pitch analysis, one embedding)."""
        if feats.audio is None:
            return None, None
        if feats.content_hash not in self._speakers:
            from .speech.sources import reference_sex
            from .speech.voice_match import reference_profile

            prof = reference_profile(feats.audio, feats.sample_rate, key=feats.content_hash)
            sex = reference_sex(feats.audio, feats.sample_rate, embedding=prof.embedding)
            self._speakers[feats.content_hash] = sex, prof.f0_median_hz
        return self._speakers[feats.content_hash]

    def listen(self, audio: str | Path, transcript: str | None, opt: GenerateOptions) -> Speech:
        """The user's recording as speech: its words (``transcript`` or speech recognition) timed on it."""
        from .speech.sources import user_speech

        return user_speech(audio, transcript=transcript, language=opt.language, max_seconds=opt.max_audio_seconds)

    def move(self, speech: Speech, feats: ReferenceFeatures, opt: GenerateOptions) -> Motion:
        """61-d motion with one row per video frame of ``speech``."""
        from .motion.controls import apply_controls
        from .video.encode import frames_for_audio

        controls = opt.controls()
        if speech.motion is not None:  # the joint model made the face with the speech, frame-exact
            motion = Motion(speech.motion, "neural DiT (generated with the speech)", neural=True)
        else:
            n = frames_for_audio(speech.audio.size, speech.sample_rate, int(feats.fps))
            motion = self._motion_generator(speech, feats, opt).generate(speech, feats, num_frames=n, seed=opt.seed,
                                                                         controls=controls)
        if not controls.neutral:
            motion.codes = apply_controls(motion.codes, controls)
        return motion

    def _motion_generator(self, speech: Speech, feats: ReferenceFeatures, opt: GenerateOptions) -> MotionGenerator:
        """The joint model animates speech it did not make (the user's) when asked to, or when its
        checkpoint was trained for that job; otherwise the offline generator."""
        offline = OfflineMotion()
        if speech.source == "neural" or not self._use_neural(opt, feats)[0]:
            return offline
        engine = self.neural_engine()
        if opt.engine != "neural" and not engine.audio_driven:
            return offline
        from .model.engine import NeuralMotion

        return NeuralMotion(engine, offline, nfe_steps=opt.nfe_steps, cfg_scale=opt.cfg_scale)

    # -- engines ------------------------------------------------------------------------------
    def neural_engine(self):
        """The neural engine over the configured checkpoint (loaded on first use, then kept)."""
        if self._neural is None:
            from .model.engine import NeuralEngine

            self._neural = NeuralEngine(self.config.neural)
        return self._neural

    def _use_neural(self, opt: GenerateOptions, feats: ReferenceFeatures) -> tuple[bool, str | None]:
        """(whether the neural engine runs, a note for the user when "auto" cannot use it)."""
        if opt.engine not in ENGINES:
            raise InputError(f"Unknown engine '{opt.engine}'.", f"Use one of: {', '.join(ENGINES)}.")
        if opt.engine == "offline":
            return False, None
        if opt.engine == "neural":
            return True, None  # the engine itself says what is missing (checkpoint, a reference with speech)
        if not self.config.neural.configured:
            return False, None
        if feats.kind != "video" or feats.audio is None:
            return False, ("The neural engine needs a reference clip with speech (its voice is the prompt); this "
                           "reference uses the offline voice and motion.")
        return True, None

    def _renderer(self, feats: ReferenceFeatures, media: Path, opt: GenerateOptions):
        if feats.kind == "video":
            from .render.clip import ClipRenderConfig, ClipRenderer

            return ClipRenderer(feats, media, ClipRenderConfig(paste_back=not opt.crop, max_side=opt.max_side,
                                                               seed=opt.seed))
        from .render.base import RenderConfig
        from .render.photo import PhotoRenderer

        return PhotoRenderer(feats, media, RenderConfig(paste_back=not opt.crop, max_side=opt.max_side, seed=opt.seed))


def _mode(speech: Speech, motion: Motion) -> str:
    """Which engines made the result, as the summary reports it."""
    if speech.source == "neural":
        return "neural (joint speech + motion)" if speech.motion is not None else "neural speech + offline motion"
    return "neural (motion from your audio)" if motion.neural else "offline"


def _no_progress(fraction: float, description: str) -> None:
    pass
