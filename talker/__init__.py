"""talker: text-driven talking heads. A reference clip (or photo) and text (or your own speech) in,
speech and a lip-synced video of that person out.

Start here::

    from talker import TalkerPipeline, GenerateOptions
    res = TalkerPipeline().generate("out.mp4", template="astronaut", text="Hello there!",
                                    options=GenerateOptions(seed=1))

``TalkerPipeline.generate`` (``pipeline.py``) runs the stages below in order; the CLI
(``cli.py``), the web app (``app/``) and the Python API all call it. Each stage is one folder
with one typed hand-off, and the place to swap it:

reference → ``ReferenceFeatures`` (61-d motion, audio, transcript, …)
    folders ``reference/`` (analysis, cache), ``tracking/`` (faces), ``asr/`` (transcripts).
    Swap: ``reference.analysis.analyze_reference``; a speech recogniser is an ``asr.ASRBackend``
    registered in ``asr.recognize._default_backends``; the tracker backend in ``tracking.tracker``.

speech → ``speech.contract.Speech`` (audio, phones, text, language, engine label, warnings)
    folders ``speech/`` (voices, sources, voice matching), ``align/`` (timing speech we did not make).
    Swap: a voice is a ``speech.contract.SpeechBackend`` registered in
    ``speech.base._default_backends``; where speech comes from is ``TalkerPipeline.speak`` /
    ``listen`` (``speech.sources``); the neural voice is ``model.engine.NeuralEngine.speak``.

motion → ``motion.base.Motion`` (61-d codes, one row per video frame)
    folder ``motion/``.
    Swap: a ``motion.base.MotionGenerator`` (``OfflineMotion``, ``model.engine.NeuralMotion``),
    chosen in ``TalkerPipeline._motion_generator``.

render → RGB frames
    folder ``render/``.
    Swap: a ``render.base.Renderer`` (``ClipRenderer``, ``PhotoRenderer``), chosen in
    ``TalkerPipeline._renderer``.

encode → the mp4
    folder ``video/``: ``video.encode.mux``.

dub → an existing video saying new words (``TalkerPipeline.dub``, ``DubOptions`` / ``DubResult``)
    folder ``dub/``: ``source`` (every frame's face, cached), ``timeline`` (which source frame
    plays when), ``render`` (the video's own mouths painted on its frames; the choosing and
    painting is ``render.mouth.MouthBank``, shared with the clip renderer), ``run`` (the wiring).

Shared by the stages: ``phones.Phone`` (the one phone type: speech and alignment hand it to
motion), ``motion.code`` (the 61-d layout and the frame rate), ``audio.SAMPLE_RATE``,
``tracking.landmarks`` (face-mesh index sets), ``errors`` (typed errors that say the fix),
``request`` (``GenerateOptions`` / ``GenerationResult``), ``backends`` (how a stage lists its
backends). The neural DiT and its training live in ``model/``, ``data/`` and ``train.py``;
measurements in ``eval/`` (the product never imports it).

Names here load on first use, so ``import talker`` stays cheap (the voice workers import it).
"""

from importlib import import_module

_LAZY = {"TalkerPipeline": "pipeline", "PipelineConfig": "pipeline", "GenerateOptions": "request",
         "GenerationResult": "request", "DubOptions": "request", "DubResult": "request"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
