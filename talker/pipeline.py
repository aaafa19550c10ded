"""``TalkerPipeline``: the one entry point that the CLI, the Gradio app and the Python API share.

Stages live in their own packages; this class only wires them and keeps loaded state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, SilentAudioError
from .generate import GenerateOptions, GenerationResult
from .model.engine import NeuralConfig
from .reference import still
from .reference.analysis import AnalysisConfig, analyze_reference
from .reference.cache import FeatureCache
from .reference.features import ReferenceFeatures
from .templates import store


@dataclass
class PipelineConfig:
    templates_dir: str | None = None  # None: $TALKER_TEMPLATES_DIR, else the bundled templates
    cache_dir: str | None = None  # None: the user cache
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    neural: NeuralConfig = field(default_factory=NeuralConfig.from_env)  # checkpoints for the neural engine

ENGINES = ("auto", "offline", "neural")


class TalkerPipeline:
    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.cache = FeatureCache(Path(self.config.cache_dir) / "features" if self.config.cache_dir else None)
        self._neural = None

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
        return tpl, feats

    def add_template(self, media: str | Path, name: str, **kwargs) -> tuple[store.Template, ReferenceFeatures]:
        return store.add_template(media, name, root=self.config.templates_dir,
                                  analysis_config=self.config.analysis, **kwargs)

    def delete_template(self, name: str) -> None:
        store.delete_template(name, self.config.templates_dir)

    # -- generation ---------------------------------------------------------------------------
    def reference(self, *, template: str | None = None, media: str | Path | None = None,
                  transcript: str | None = None, progress=None) -> tuple[ReferenceFeatures, Path]:
        if template:
            tpl, feats = self.template(template)
            media = tpl.media_path
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
        """
        from .motion.generator import generate_motion
        from .video.encode import EncodeOptions, attach_audio, frames_for_audio, mux

        opt = options or GenerateOptions()
        step = progress or (lambda frac, desc: None)
        if (text is None) == (audio is None):
            raise InputError("Give either text to speak or an audio file, not both or neither.",
                             "Type the text, or upload the speech to lip-sync.")
        timings: dict[str, float] = {}
        t_all = time.perf_counter()
        t = time.perf_counter()
        step(0.02, "analysing the reference")
        feats, media = self.reference(template=template, media=reference, transcript=reference_transcript,
                                      progress=None)
        timings["reference"] = time.perf_counter() - t

        step(0.15, "speech")
        t = time.perf_counter()
        matching = None
        neural_motion = animator = None
        engine_motion = "offline visemes + reference style"
        mode = "offline"  # not "path": gradio_client reads any {"path": …} in a JSON output as a file
        warnings: list[str] = []
        if text is not None and self._use_neural(opt, feats, warnings):
            ns = self.neural_engine().speak(feats, text, language=opt.language, speed=opt.speed, seed=opt.seed,
                                            nfe_steps=opt.nfe_steps, cfg_scale=opt.cfg_scale,
                                            max_chars=opt.max_text_chars)
            wav, sr, spoken, lang, engine_speech = ns.audio, ns.sample_rate, ns.text, ns.language, ns.label
            warnings += ns.warnings
            neural_motion = ns.motion
            mode = "neural (joint speech + motion)" if neural_motion is not None else "neural speech + offline motion"
            if neural_motion is not None:
                engine_motion = "neural DiT (generated with the speech)"
            phones = [] if neural_motion is not None else self._timings(wav, spoken, lang, warnings)
        elif text is not None:
            wav, sr, phones, spoken, lang, engine_speech, more = self._speak(text, opt)
            warnings += more
            if opt.voice_match and feats.audio is not None:
                # WORLD pitch/formant matching toward the reference, kept only where the speaker
                # encoder says it brought the voice closer (talker.speech.voice_match). It keeps the
                # timing, so it runs in a thread (WORLD releases the GIL) while the picture renders.
                from concurrent.futures import ThreadPoolExecutor

                from .speech.voice_match import apply_reference_voice

                pool = ThreadPoolExecutor(max_workers=1)
                matching = pool.submit(_timed_call, apply_reference_voice, wav, sr, feats.audio,
                                       feats.sample_rate, key=feats.content_hash)
                pool.shutdown(wait=False)
        else:
            wav, sr, phones, spoken, lang, engine_speech, more = self._listen(audio, transcript, opt)
            warnings += more
            if self._use_neural(opt, feats, warnings, quiet=True):
                engine = self.neural_engine()
                animator = engine if opt.engine == "neural" or engine.audio_driven else None
        timings["speech"] = time.perf_counter() - t

        step(0.35, "motion")
        t = time.perf_counter()
        n = frames_for_audio(wav.size, sr, int(feats.fps))
        if animator is not None:  # the user's speech, animated by the joint model
            neural_motion, label, more = animator.animate(feats, wav, sr, spoken, num_frames=n, seed=opt.seed,
                                                          nfe_steps=opt.nfe_steps, cfg_scale=opt.cfg_scale)
            warnings += more
            if neural_motion is not None:
                mode, engine_motion = "neural (motion from your audio)", f"neural DiT ({label})"
        if neural_motion is not None:
            motion = neural_motion  # the engine gives exactly the audio's frames
        else:
            motion = generate_motion(phones, wav, sr, feats, num_frames=n, seed=opt.seed)
        timings["motion"] = time.perf_counter() - t

        step(0.45, "rendering")
        t = time.perf_counter()
        renderer = self._renderer(feats, media, opt)
        frames = renderer.render(motion)
        if opt.label:
            from .video.label import draw_label

            frames = (draw_label(f) for f in frames)
        frames = _Timed(frames, lambda i: step(0.45 + 0.5 * i / max(n, 1), "rendering and encoding")
                        if i % 25 == 0 else None)
        enc = EncodeOptions(fps=int(feats.fps))
        if matching is None:
            out = mux(frames, wav, sr, output, enc, num_frames=n)
        else:
            silent = Path(output).with_name(Path(output).stem + ".video.mp4")
            try:
                mux(frames, None, sr, silent, enc, num_frames=n)
                t_wait = time.perf_counter()
                (wav, vm), timings["voice_match"] = matching.result()
                timings["voice_match_wait"] = time.perf_counter() - t_wait
                warnings = [w for w in warnings if not w.startswith("The voice is a stock offline voice")]
                warnings.append(vm["message"])
                if vm.get("kept") == "matched":
                    engine_speech += " + WORLD pitch/formant matching"
                out = attach_audio(silent, wav, sr, output, enc)
            finally:
                silent.unlink(missing_ok=True)
        timings["render"] = frames.seconds
        timings["encode"] = time.perf_counter() - t - frames.seconds - timings.get("voice_match_wait", 0.0)
        timings["total"] = time.perf_counter() - t_all
        step(1.0, "done")
        engine = {"mode": mode, "speech": engine_speech, "motion": engine_motion,
                  "renderer": renderer.name, "tracker": feats.tracker_backend}
        return GenerationResult(out, wav, sr, motion, feats.fps, spoken, lang, engine, timings,
                                list(feats.warnings) + warnings, phones)

    def neural_engine(self):
        """The neural engine over the configured checkpoint (loaded on first use, then kept)."""
        if self._neural is None:
            from .model.engine import NeuralEngine

            self._neural = NeuralEngine(self.config.neural)
        return self._neural

    def _use_neural(self, opt: GenerateOptions, feats: ReferenceFeatures, warnings: list[str],
                    quiet: bool = False) -> bool:
        if opt.engine not in ENGINES:
            raise InputError(f"Unknown engine '{opt.engine}'.", f"Use one of: {', '.join(ENGINES)}.")
        if opt.engine == "offline":
            return False
        if opt.engine == "neural":
            return True  # the engine itself says what is missing (checkpoint, a reference with speech)
        if not self.config.neural.configured:
            return False
        if feats.kind != "video" or feats.audio is None:
            if quiet:
                return False
            warnings.append("The neural engine needs a reference clip with speech (its voice is the prompt); this "
                            "reference uses the offline voice and motion.")
            return False
        return True

    def _speak(self, text: str, opt: GenerateOptions):
        from .audio.resample import resample
        from .speech.base import synthesize

        res = synthesize(text, language=opt.language, speed=opt.speed, max_chars=opt.max_text_chars, seed=opt.seed)
        wav = resample(res.audio, res.sample_rate, 24000)
        warnings = list(res.warnings)
        warnings.append("The voice is a stock offline voice, not a clone of the reference speaker.")
        return wav, 24000, res.phones, res.text, res.language, res.backend, warnings

    def _listen(self, audio: str | Path, transcript: str | None, opt: GenerateOptions):
        from .audio.loudness import normalize, rms_dbfs
        from .media.decode import read_audio
        from .media.probe import probe
        from .text.asr import transcribe

        info = probe(audio)
        if not info.has_audio:
            raise InputError(f"'{Path(audio).name}' has no audio track.", "Upload a speech recording (WAV, MP3, M4A…).")
        if info.duration > opt.max_audio_seconds:
            raise InputError(f"The audio is {info.duration:.0f} s long; the limit is {opt.max_audio_seconds:.0f} s.",
                             "Split it into shorter parts.")
        wav = read_audio(audio, 24000, info=info)
        if wav.size < 24000 * 0.3 or rms_dbfs(wav) < -55:
            raise SilentAudioError(f"The audio '{Path(audio).name}' is silent or too short.",
                                   "Upload a recording in which someone speaks.")
        wav = normalize(wav, 24000)
        warnings: list[str] = []
        if transcript and transcript.strip():
            text, lang = transcript.strip(), opt.language or None
        else:
            tx = transcribe(wav, 24000, language=opt.language if opt.language not in (None, "auto") else None)
            text, lang = tx.text.strip(), tx.language
        phones = self._timings(wav, text, lang, warnings)
        return wav, 24000, phones, text, lang or "", "user audio", warnings

    @staticmethod
    def _timings(wav: np.ndarray, text: str, lang: str | None, warnings: list[str]):
        """Phone timings of speech we did not synthesise: forced alignment, cut at pauses."""
        from .align.phones import align

        phones = []
        if text:
            try:
                phones = align(wav, 24000, text, lang).phones
            except Exception as e:  # noqa: BLE001 - lips then follow the audio energy alone
                warnings.append(f"Could not align the words to the audio ({e}); the mouth follows loudness only.")
        if phones:
            from .audio.vad import speech_segments
            from .motion.visemes import normalise_phones, with_pauses

            return with_pauses(normalise_phones(phones), [(g.start, g.end) for g in speech_segments(wav, 24000)])
        return _energy_phones(wav, 24000)

    def _renderer(self, feats: ReferenceFeatures, media: Path, opt: GenerateOptions):
        if feats.kind == "video":
            from .render.clip import ClipRenderConfig, ClipRenderer

            return ClipRenderer(feats, media, ClipRenderConfig(paste_back=not opt.crop, max_side=opt.max_side,
                                                               seed=opt.seed))
        from .render.base import RenderConfig
        from .render.photo import PhotoRenderer

        return PhotoRenderer(feats, media, RenderConfig(paste_back=not opt.crop, max_side=opt.max_side, seed=opt.seed))


def _timed_call(fn, *args, **kwargs):
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t


class _Timed:
    """Iterator wrapper that adds up the time spent producing items (rendering vs encoding)."""

    def __init__(self, it, on_item=None) -> None:
        self._it = iter(it)
        self.seconds = 0.0
        self.count = 0
        self._on_item = on_item

    def __iter__(self):
        return self

    def __next__(self):
        t = time.perf_counter()
        try:
            return next(self._it)
        finally:
            self.seconds += time.perf_counter() - t
            self.count += 1
            if self._on_item is not None:
                self._on_item(self.count)


def _energy_phones(audio: np.ndarray, sample_rate: int):
    """Without words, voiced stretches become open vowels and quiet ones pauses."""
    from .motion.visemes import TimedPhone
    from .reference.sync import speech_envelope

    n = int(audio.size / sample_rate * 25)
    env = speech_envelope(audio, sample_rate, n)
    thr = np.percentile(env, 40)
    phones = []
    for i, e in enumerate(env):
        phones.append(TimedPhone("AH" if e > thr else "SIL", i / 25, (i + 1) / 25))
    return phones
