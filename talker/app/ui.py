"""Gradio Blocks app over the same ``TalkerPipeline`` the CLI uses (run in a worker process).

The page has four tabs (text → video, audio → video, dub a video, templates); every event is
also a named API endpoint for ``gradio_client``. Pipeline errors reach the visitor as one readable
line (``gr.Error``), warnings as ``gr.Warning``; a stack trace never leaves the server.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import os
import queue
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..errors import TalkerError
from ..motion.code import FPS
from ..request import DUB_RESTS, DubOptions, GenerateOptions
from ..templates import store
from .config import AppConfig

log = logging.getLogger("talker.app")

TITLE = "talker — text-driven talking heads"
INTRO = (
    "Pick a template (or upload a short clip or one photo of a person), type what they should say, "
    "and **talker** makes the speech and a lip-synced video. Every video is marked as AI-generated."
)
DISCLAIMER = (
    "Everything this app produces is synthetic (AI-generated) media; each video says so in its file "
    "metadata and, unless switched off, with a visible label. Use only references of people who agreed."
)
ENGINE_OFFLINE = "offline (visemes + renderer)"
ENGINE_NEURAL = "neural DiT"
SIZES = [("Up to 1280 px", "1280"), ("Up to 720 px", "720"), ("Up to 512 px", "512"), ("Face crop 512×512", "crop")]
GALLERY_HEIGHT = 440  # px: three rows of four, so the 12 bundled templates show without scrolling
# Gallery captions wrap instead of being cut to "Woma…": name, language and licence must be legible.
CSS = (".tpl-gallery .caption-label {white-space: normal; max-width: 100%; left: 0; right: 0; "
       "font-size: 11px; line-height: 1.25;}")
DEFAULT_SIZE = "720"  # the page's output size; GenerateOptions.max_side (1280) is the CLI's
DEFAULTS = GenerateOptions()  # where the page's controls start, and what an empty one means (the CLI's too)
DUB_DEFAULTS = DubOptions()  # the same for the Dub tab
LANGUAGES = [("Auto (from text)", "auto"), ("English", "en"), ("Chinese (Mandarin)", "zh")]
LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin"}
VOICE_AUTO = ("Automatic: a voice of the reference's sex (a photo template's own voice)", "auto")
# Neutral lines only: the people in the clip templates are from research corpora and must not be
# shown endorsing anything.
EXAMPLES = [
    ["grid-s4-woman", "Hello! I am a talking head made by talker from a short clip and a line of text.", "auto"],
    ["grid-s2-man", "The train to Boston leaves from platform four at nine fifteen.", "auto"],
    ["cremad-1001-man", "Don't forget your umbrella: it might rain later today.", "auto"],
    ["grid-s23-woman", "Turn left at the second corner, and the museum is on your right.", "auto"],
    ["astronaut", "Hello! I am a talking head made by talker from one photo and a line of text.", "auto"],
    ["astronaut", "你好，我是一个由文字驱动的数字人。", "auto"],
    ["grid-s2-man", "今天的会议推迟到下午三点，请大家准时参加。", "auto"],
]


class App:
    """State shared by the handlers: config, worker pool and the app's folders."""

    def __init__(self, cfg: AppConfig, runner=None) -> None:
        from .worker import make_runner

        self.cfg = cfg
        cfg.work_path.mkdir(parents=True, exist_ok=True)
        for d in (cfg.outputs_path, cfg.uploads_path, cfg.templates_path):
            d.mkdir(parents=True, exist_ok=True)
        # Gradio keeps uploads here; outside it nothing is accepted as an input file.
        os.environ["GRADIO_TEMP_DIR"] = str(cfg.uploads_path)
        seed_templates(cfg.templates_path)
        self.runner = runner or make_runner(cfg.concurrency, cfg.worker_env(), cfg.warmup)
        if cfg.warmup:
            self.runner.start()

    # -- templates (read in the app process: JSON files only) ---------------------------------
    def templates(self):
        return store.list_templates(self.cfg.templates_path)

    def template_names(self) -> list[str]:
        return [t.name for t in self.templates()]

    def gallery_entries(self) -> list[tuple[str, str, str]]:
        """(thumbnail, caption, name) for templates that have a thumbnail, in gallery order: the
        default first, then clips (the renderer that re-times a person's own frames), then photos.
        The caption names the person, the language and the licence."""
        items = []
        order = sorted(self.templates(), key=lambda t: (t.name != store.DEFAULT_TEMPLATE, t.kind != "video", t.name))
        for t in order:
            thumb = t.directory / "thumbnail.jpg" if t.directory else None
            if not (thumb and thumb.is_file()):
                continue
            parts = [t.display_name, t.language or "", _licence_short(t.license)]
            items.append((str(thumb), " · ".join(p for p in parts if p), t.name))
        return items

    def credit(self, name: str | None) -> str:
        """What the picked template is, its licence and the attribution its licence asks for."""
        for t in self.templates():
            if t.name == name:
                said = f" says “{_short(t.transcript, 90)}”" if t.transcript else ""
                lines = [f"**{t.display_name}** (`{t.name}`, {t.kind}{said})",
                         f"Licence: {t.license or 'not stated'}. {t.attribution}".strip(), t.notes]
                return "  \n".join(x for x in lines if x)
        return ""

    def gallery(self) -> list[tuple[str, str]]:
        return [(thumb, caption) for thumb, caption, _ in self.gallery_entries()]

    def table(self) -> list[list[str]]:
        return [[t.name, t.display_name, t.kind, t.language, _short(t.transcript, 120), t.license or "",
                 t.attribution or "", t.consent or ""] for t in self.templates()]

    # -- files --------------------------------------------------------------------------------
    def job_dir(self) -> Path:
        self.sweep()
        d = self.cfg.outputs_path / uuid.uuid4().hex
        d.mkdir(parents=True)
        return d

    def sweep(self) -> None:
        """Delete outputs older than the keep time, so a long-running demo does not fill its disk."""
        limit = time.time() - self.cfg.keep_outputs_minutes * 60
        for d in self.cfg.outputs_path.iterdir():
            try:
                if d.stat().st_mtime < limit:
                    shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink()
            except OSError:
                continue

    def upload(self, path: str | None, what: str, limit: str, *, need_audio: bool = False,
               need_video: bool = False) -> str | None:
        """Accept a file only if Gradio's own upload put it in our upload folder; check its limits.
        ``limit``: the ``AppConfig`` field of its longest duration (its message names the setting);
        ``need_video``: a picture or a sound file is refused (what dubbing needs is moving pictures)."""
        from ..media.probe import probe

        if not path:
            return None
        p = Path(path).resolve()
        root = self.cfg.uploads_path.resolve()
        if root not in p.parents or not p.is_file():
            raise gr.Error(f"The {what} must be uploaded through the app.")
        size_mb = p.stat().st_size / 1e6
        if size_mb > self.cfg.max_upload_mb:
            raise gr.Error(f"The {what} is {size_mb:.0f} MB; the limit is {self.cfg.max_upload_mb} MB.")
        info = probe(p)
        max_seconds = float(getattr(self.cfg, limit))
        if info.duration > max_seconds:
            longer = {"max_audio_seconds": " or run the command line (python -m talker generate --audio), "
                                            "which takes up to an hour",
                      "max_dub_seconds": " or run the command line (python -m talker dub), which takes up to "
                                         f"{DubOptions().max_video_seconds / 60:.0f} minutes"}.get(limit, "")
            raise gr.Error(f"The {what} is {info.duration:.0f} s long; the limit here is {max_seconds:.0f} s "
                           f"(the app's setting {AppConfig.ENV[limit]}). Trim it and upload again{longer}.")
        if need_audio and not info.has_audio:
            raise gr.Error(f"The {what} has no sound. Upload a speech recording.")
        if need_video and info.is_image:
            raise gr.Error(f"The {what} is a picture, not a video: dubbing keeps a video's own frames. Upload a "
                           "video, or animate the picture in the “Audio → video” tab.")
        if need_video and not info.has_video:
            raise gr.Error(f"The {what} has sound but no picture. Upload a video of the person speaking.")
        return str(p)

    def run(self, job: dict, progress, **kwargs) -> dict:
        def step(frac: float, desc: str) -> None:
            if progress is not None:
                progress(min(max(frac, 0.0), 1.0), desc=desc)

        step(0.0, "starting")
        return self.runner.run(job, step, self.cfg.job_timeout, **kwargs)

    def run_streaming(self, job: dict, progress):
        """The job's pieces as they are ready (``StreamChunk.event()`` dicts), then its result
        (a dict with "summary"). Closing the iterator early — the visitor left or pressed stop —
        tells the worker to stop; it is free again after the piece under way."""
        events: queue.Queue = queue.Queue()
        cancel = threading.Event()
        box: dict = {}

        def work() -> None:
            try:
                box["result"] = self.run(job, progress, on_chunk=events.put, cancel=cancel)
            except BaseException as e:  # noqa: BLE001 - handed to the page's thread
                box["error"] = e
            finally:
                events.put(None)

        # the copied context keeps Gradio's progress bar working from the worker thread
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="talker-job",
                                  daemon=True)
        thread.start()
        try:
            while (event := events.get()) is not None:
                yield event
            thread.join()
            if "error" in box:
                raise box["error"]
            yield box["result"]
        finally:
            if thread.is_alive():
                cancel.set()


def seed_templates(root: Path) -> None:
    """Copy bundled templates the app's folder lacks, so the default one is always there."""
    from ..paths import DEFAULT_TEMPLATES_DIR

    if not DEFAULT_TEMPLATES_DIR.is_dir() or root.resolve() == DEFAULT_TEMPLATES_DIR.resolve():
        return
    for d in DEFAULT_TEMPLATES_DIR.iterdir():
        if (d / "template.json").is_file() and not (root / d.name).exists():
            shutil.copytree(d, root / d.name)


def bundled_names() -> set[str]:
    from ..paths import DEFAULT_TEMPLATES_DIR

    if not DEFAULT_TEMPLATES_DIR.is_dir():
        return set()
    return {d.name for d in DEFAULT_TEMPLATES_DIR.iterdir() if (d / "template.json").is_file()}


def voice_choices() -> list[tuple[str, str]]:
    """The Voice menu: automatic first, then every installed voice as "af_heart · English · female · Kokoro"."""
    from ..speech.base import list_voices

    return [VOICE_AUTO] + [(" · ".join(x for x in (v.name, LANGUAGE_NAMES.get(v.language, v.language), v.sex,
                                                   v.accent.upper(), v.backend) if x), v.name) for v in list_voices()]


def _licence_short(licence: str) -> str:
    """ "CC BY 4.0 (https://…)" → "CC BY 4.0": what fits under a thumbnail."""
    return (licence or "").split(" (")[0].strip()


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _visitor_error(fn, e: Exception) -> gr.Error:
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, TalkerError):
        return gr.Error(e.message)
    log.exception("handler %s failed", fn.__name__, exc_info=e)
    return gr.Error(f"Something went wrong ({type(e).__name__}). Try again; if it keeps failing, "
                    "report what you did.")


def readable(fn):
    """Every failure becomes one line for the visitor; the trace goes to the server log only.
    A generator (a handler that streams) keeps streaming."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def streaming(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                raise _visitor_error(fn, e) from None

        return streaming

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise _visitor_error(fn, e) from None

    return wrapper


def details_markdown(summary: dict) -> str:
    """One table: each stage, the model or backend that ran it, and its time."""
    eng, t = summary.get("engine", {}), summary.get("timings", {})
    what = {"reference": eng.get("tracker", ""), "speech": eng.get("speech", ""), "motion": eng.get("motion", ""),
            "render": eng.get("renderer", ""), "encode": "ffmpeg libx264 + aac",
            # a dub's stages (talker.dub.run)
            "source": "face tracking, every frame", "render_encode": f"{eng.get('render', '')} → ffmpeg libx264 + aac"}
    rows = [f"Engine: **{eng['mode']}**\n"] if eng.get("mode") else []
    rows += ["| stage | what ran | seconds |", "|---|---|---:|"]
    for k, v in t.items():
        if k != "total":
            ran = what.get(k, "")
            rows.append(f"| {k} | {f'`{ran}`' if ran else ''} | {v:.2f} |")
    if "total" in t:
        rows.append(f"| **total** | on `{eng.get('device', 'cpu')}` | **{t['total']:.2f}** |")
    head = (f"**{summary.get('duration', 0):.1f} s** of video, {summary.get('frames', 0)} frames at "
            f"{summary.get('fps', FPS):g} fps, language `{summary.get('language', '')}`, "
            f"real-time factor {summary.get('rtf', 0):.2f}.")
    return head + "\n\n" + "\n".join(rows)


def dub_markdown(summary: dict) -> str:
    """A dub's frame counts above the stage table: what was kept, changed, left alone and added."""
    passed, extended = summary.get("passed_through", 0), summary.get("extended_frames", 0)
    source, shown = summary.get("source_frames", 0), summary.get("frames", 0) - extended
    kept = (f"All **{source}** frames of the video kept" if shown >= source else
            f"The first **{shown}** of the video's **{source}** frames kept (cut where the new speech ends)")
    lines = [f"{kept}; the mouth re-rendered in **{summary.get('dubbed_frames', 0)}**."]
    if passed:
        lines.append(f"**{passed}** frames during the new speech had no usable face and pass through unchanged.")
    if extended:
        lines.append(f"**{extended}** frames added past the video's end (its last seconds played back and forth).")
    return " ".join(lines) + "\n\n" + details_markdown(summary)


class Handlers:
    """The page's events over one ``App`` (its config and worker pool). Each event's method is named as its
    ``api_name`` (Gradio takes it from there): ``generate``, ``add_template``… are what clients call."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.cfg = app.cfg
        # the neural engine is offered only where a checkpoint is set: a choice that can only fail is no choice
        self.engines = [ENGINE_OFFLINE] + ([ENGINE_NEURAL] if self.cfg.neural_available() else [])
        self.live = live_playback()

    # -- helpers ------------------------------------------------------------------------------
    def _options(self, language, speed, seed, size, label, voice="auto", face=()) -> dict:
        """``GenerateOptions`` fields from the page's controls; an empty control takes the default.
        ``face``: the face sliders' values in ``FACE_CONTROLS`` order."""
        opt = {"language": None if language in (None, "", "auto") else language, "voice": self._voice(voice),
               **{name: float(getattr(DEFAULTS, name) if v is None else v)
                  for (name, *_), v in zip(FACE_CONTROLS, face, strict=False)},
               "speed": float(speed or DEFAULTS.speed), "seed": int(seed or DEFAULTS.seed),
               "max_text_chars": self.cfg.max_text_chars, "max_audio_seconds": self.cfg.max_audio_seconds}
        if size == "crop":
            opt.update(crop=True, max_side=512)
        else:
            opt["max_side"] = int(size or DEFAULT_SIZE)
        opt["label"] = bool(label)
        return opt

    @staticmethod
    def _voice(voice) -> str:
        """A voice name the page (or an API client) chose, checked against the installed voices."""
        from ..speech.base import list_voices

        voice = (voice or "auto").strip()
        names = [v.name for v in list_voices()]
        if voice != "auto" and voice not in names:
            raise gr.Error(f"Unknown voice '{voice[:40]}'. Voices here: auto, {', '.join(names)}.")
        return voice

    def _check_text(self, text, command: str = "generate") -> None:
        """Text to speak: not empty, and within the app's TALKER_MAX_TEXT_CHARS (the message names it)."""
        if not (text or "").strip():
            raise gr.Error("Type the text the person should say.")
        if len(text) > self.cfg.max_text_chars:
            raise gr.Error(f"The text has {len(text):,} characters; the limit here is {self.cfg.max_text_chars:,} "
                           "(the app's setting TALKER_MAX_TEXT_CHARS). Shorten it, or run the command line "
                           f"(python -m talker {command} --text-file), which takes 60,000.")

    def _reference(self, template, reference) -> dict:
        """The job's reference: the upload when there is one, else the template (checked to exist)."""
        ref = self.app.upload(reference, "reference clip", "max_reference_seconds")
        if ref:
            return {"reference": ref, "template": None}
        if not template:
            raise gr.Error("Pick a template or upload a reference clip or photo.")
        store.get_template(template, self.cfg.templates_path)  # readable error for unknown names
        return {"template": template, "reference": None}

    @staticmethod
    def _outputs(res: dict):
        for w in res["summary"].get("warnings", []):
            gr.Warning(w)
        res["summary"].pop("video", None)  # a server path means nothing to the visitor
        return (res["video"], res["audio"], res["curves"], res["mel"], details_markdown(res["summary"]),
                res["summary"])

    def _streamed(self, job: dict, progress):
        """The live player's segments as they are made, then the complete outputs."""
        for item in self.app.run_streaming(job, progress):
            if "summary" in item:
                yield (gr.skip(), *self._outputs(item))
            elif self.live:
                yield (item["segment"], *(gr.skip() for _ in range(6)))

    # -- generation ---------------------------------------------------------------------------
    @readable
    def generate(self, template, reference, reference_transcript, text, language, speed, steps, guidance, seed,
                 size, engine, label, voice="auto", expression=1.0, head_motion=1.0, mouth_opening=1.0,
                 blink_rate=1.0, head_pitch_deg=0.0, head_yaw_deg=0.0, progress=gr.Progress()):
        """Reference (template name or uploaded clip/photo) + text → video, speech, pictures, details."""
        self._check_text(text)
        if engine and engine not in self.engines:
            raise gr.Error(f"The engine '{engine}' is not available here. Available: {', '.join(self.engines)}.")
        guidance = DEFAULTS.cfg_scale if guidance is None else guidance  # 0 is a valid guidance: no `or`
        job = {"kind": "generate", "out_dir": str(self.app.job_dir()), "text": text,
               "reference_transcript": reference_transcript or "",
               "options": {**self._options(language, speed, seed, size, label, voice,
                                           (expression, head_motion, mouth_opening, blink_rate, head_pitch_deg,
                                            head_yaw_deg)),
                           "engine": "neural" if engine == ENGINE_NEURAL else "offline",
                           "nfe_steps": int(steps or DEFAULTS.nfe_steps), "cfg_scale": float(guidance)},
               **self._reference(template, reference)}
        yield from self._streamed(job, progress)

    @readable
    def generate_from_audio(self, template, reference, audio, transcript, language, seed, size, label,
                            expression=1.0, head_motion=1.0, mouth_opening=1.0, blink_rate=1.0, head_pitch_deg=0.0,
                            head_yaw_deg=0.0, progress=gr.Progress()):
        """Reference + the user's own speech → lip-synced video."""
        wav = self.app.upload(audio, "audio", "max_audio_seconds", need_audio=True)
        if not wav:
            raise gr.Error("Upload or record the speech to lip-sync.")
        job = {"kind": "generate", "out_dir": str(self.app.job_dir()), "audio": wav, "transcript": transcript or "",
               "options": self._options(language, DEFAULTS.speed, seed, size, label, "auto",
                                        (expression, head_motion, mouth_opening, blink_rate, head_pitch_deg,
                                         head_yaw_deg)),
               **self._reference(template, reference)}
        yield from self._streamed(job, progress)

    @readable
    def dub(self, video, speech, audio, transcript, text, voice, rest, seed, label, language="auto",
            speed=DUB_DEFAULTS.speed, mouth_opening=DUB_DEFAULTS.mouth_opening, face=DUB_DEFAULTS.face,
            progress=gr.Progress()):
        """An uploaded video saying new words — the visitor's speech (``speech`` "Audio") or a text in a
        voice ("Text"): every frame kept, only the mouth re-rendered. The whole mp4, its details."""
        by_text = (speech or "Audio") == "Text"
        if by_text:
            self._check_text(text, "dub")
            voice = self._voice(voice)
        if rest not in DUB_RESTS:
            raise gr.Error(f"Unknown choice '{str(rest)[:20]}' for the rest of the video. Use one of: "
                           f"{', '.join(DUB_RESTS)}.")
        if (face or DUB_DEFAULTS.face) not in DUB_FACES:
            raise gr.Error(f"Unknown face choice '{str(face)[:20]}'. Use one of: {', '.join(DUB_FACES)}.")
        src = self.app.upload(video, "video to dub", "max_dub_seconds", need_video=True)
        if not src:
            raise gr.Error("Upload the video to dub.")
        job = {"kind": "dub", "video": src,
               "options": {"rest": rest, "language": None if language in (None, "", "auto") else language,
                           "speed": float(speed or DUB_DEFAULTS.speed), "seed": int(seed or DUB_DEFAULTS.seed),
                           "label": bool(label),
                           "mouth_opening": float(mouth_opening or DUB_DEFAULTS.mouth_opening),
                           "face": face or DUB_DEFAULTS.face,
                           "max_text_chars": self.cfg.max_text_chars, "max_audio_seconds": self.cfg.max_audio_seconds,
                           "max_video_seconds": self.cfg.max_dub_seconds}}
        if by_text:
            job.update(text=text, options={**job["options"], "voice": voice})
        else:
            wav = self.app.upload(audio, "audio", "max_audio_seconds", need_audio=True)
            if not wav:
                raise gr.Error("Upload or record the new speech (or choose “Text” and type it).")
            job.update(audio=wav, transcript=transcript or "")
        job["out_dir"] = str(self.app.job_dir())
        # run as a stream, though it sends no pieces: a visitor who leaves (or presses stop) frees the
        # worker at the dub's next progress step
        for item in self.app.run_streaming(job, progress):
            if "summary" in item:
                summary = item["summary"]
                for w in summary.get("warnings", []):
                    gr.Warning(w)
                summary.pop("video", None)  # a server path means nothing to the visitor
                yield item["video"], dub_markdown(summary), summary

    def example(self, template, text, language, progress=gr.Progress()):
        yield from self.generate(template, None, "", text, language, DEFAULTS.speed, DEFAULTS.nfe_steps,
                             DEFAULTS.cfg_scale, DEFAULTS.seed, DEFAULT_SIZE, ENGINE_OFFLINE, self.cfg.label,
                             "auto", progress=progress)

    @readable
    def preview_voice(self, voice, progress=gr.Progress()):
        """A few seconds of the chosen voice (made once per voice, then kept with the outputs)."""
        from ..speech.base import list_voices

        voice = self._voice(voice)
        if voice == "auto":
            gr.Info("The automatic voice depends on the reference: choose a voice by name to hear it.")
            return None
        info = next(v for v in list_voices() if v.name == voice)
        path = self.cfg.outputs_path / "voice-previews" / f"{voice}.wav"
        if path.is_file():
            return str(path)
        res = self.app.run({"kind": "preview_voice", "voice": voice, "language": info.language, "path": str(path)},
                           progress)
        return res["audio"]

    # -- reference ----------------------------------------------------------------------------
    @readable
    def transcribe_reference(self, reference, progress=gr.Progress()):
        """Analyse an uploaded reference: its transcript (ASR), language and tracked frames."""
        ref = self.app.upload(reference, "reference clip", "max_reference_seconds")
        if not ref:
            return "", gr.update(value=None, visible=False), None
        res = self.app.run({"kind": "analyze", "reference": ref, "out_dir": str(self.app.job_dir())}, progress)
        for w in res["summary"].get("warnings", []):
            gr.Warning(w)
        return res["transcript"], gr.update(value=res["contact_sheet"], visible=True), res["summary"]

    def template_transcript(self, name):
        for t in self.app.templates():
            if t.name == name:
                return t.transcript
        return ""

    def pick(self, evt: gr.SelectData):
        """The template a gallery click chose (the gallery lists only templates with a thumbnail)."""
        names_now = [name for _, _, name in self.app.gallery_entries()]
        return names_now[evt.index] if evt.index is not None and evt.index < len(names_now) else None

    # -- templates ----------------------------------------------------------------------------
    def refreshed(self, selected=None):
        """New values for both tabs' galleries and names, the delete list and the table (see ``wire``)."""
        app = self.app
        names = app.template_names()
        value = selected if selected in names else (names[0] if names else None)
        return (gr.update(value=app.gallery()), gr.update(choices=names, value=value),
                gr.update(value=app.gallery()), gr.update(choices=names, value=value),
                gr.update(choices=names, value=None), app.table())

    @readable
    def add_template(self, media, name, display_name, transcript, language, source, licence, consent,
                     progress=gr.Progress()):
        """Upload → analysed template; returns its contact sheet and the new list."""
        if not consent:
            raise gr.Error("Confirm that you have the right to use this person's face and voice.")
        store.check_name((name or "").strip())
        path = self.app.upload(media, "clip", "max_reference_seconds")
        if not path:
            raise gr.Error("Upload a clip or a photo for the template.")
        res = self.app.run({"kind": "add_template", "media": path, "name": name.strip(), "display_name": display_name,
                            "transcript": transcript, "language": None if language in (None, "", "auto") else language,
                            "source": source or "", "license": licence or "",
                            "consent": "confirmed in the web app by the uploader", "out_dir": str(self.app.job_dir())},
                           progress)
        for w in res.get("warnings", []):
            gr.Warning(w)
        msg = f"Added template **{res['name']}** ({res['language'] or 'language unknown'})."
        return (res["contact_sheet"], msg, *self.refreshed(res["name"]))

    @readable
    def delete_template(self, name):
        """Delete a template you added (the bundled ones stay)."""
        if not name:
            raise gr.Error("Choose the template to delete.")
        if name in bundled_names():
            raise gr.Error(f"'{name}' is a bundled template and cannot be deleted here.")
        store.delete_template(name, self.cfg.templates_path)
        return (f"Deleted template **{name}**.", *self.refreshed())

    def list_templates(self):
        """Every template: name, display name, kind, language, transcript, licence, consent."""
        return self.app.table()


# -- the page -------------------------------------------------------------------------------------
@dataclass
class Picker:
    """Where a tab's reference comes from: a template (gallery click or name) or the visitor's upload."""

    gallery: gr.Gallery
    template: gr.Dropdown
    credit: gr.Markdown  # the picked template's licence and attribution
    reference: gr.File


def reference_picker(app: App, names: list[str], default: str | None, upload_label: str,
                     elem_ids: tuple[str | None, str | None, str | None] = (None, None, None)) -> Picker:
    """Template gallery, template name and reference upload: the same picker on the Text and Audio tabs."""
    gallery_id, name_id, upload_id = elem_ids
    return Picker(
        gallery=gr.Gallery(value=app.gallery(), label="Templates (click one)", columns=4, height=GALLERY_HEIGHT,
                           allow_preview=False, object_fit="cover", elem_id=gallery_id, elem_classes=["tpl-gallery"],
                           fit_columns=False, interactive=False, buttons=[]),
        template=gr.Dropdown(choices=names, value=default, label="Template", elem_id=name_id, allow_custom_value=True),
        credit=gr.Markdown(app.credit(default), elem_id=f"{name_id}-credit" if name_id else None),
        reference=gr.File(label=upload_label, file_types=["video", "image"], type="filepath", elem_id=upload_id))


# The face sliders: (GenerateOptions field, label, min, max, step); the defaults are GenerateOptions'
FACE_CONTROLS = (("expression", "Expression intensity", 0.0, 2.0, 0.05),
                 ("head_motion", "Head-motion amplitude", 0.0, 2.0, 0.05),
                 ("mouth_opening", "Mouth opening", 0.5, 1.5, 0.05),
                 ("blink_rate", "Blink rate", 0.0, 3.0, 0.1),
                 ("head_pitch_deg", "Head pitch offset (°)", -15.0, 15.0, 1.0),
                 ("head_yaw_deg", "Head turn offset (°)", -20.0, 20.0, 1.0))


def face_sliders() -> list:
    """The face controls (``talker.motion.controls``), 1.0 / 0 = the reference's own style."""
    sliders = []
    with gr.Accordion("Face: expression, head motion, mouth, blinks", open=False):
        for i in range(0, len(FACE_CONTROLS), 2):
            with gr.Row():
                for name, label, lo, hi, step in FACE_CONTROLS[i:i + 2]:
                    sliders.append(gr.Slider(lo, hi, value=getattr(DEFAULTS, name), step=step, label=label,
                                             elem_id=f"face-{name.replace('_', '-')}"))
    return sliders


def live_playback() -> bool:
    """Gradio's streaming video re-packs each piece with ffmpeg and ffprobe from PATH (the
    pipeline's own bundled ffmpeg is not on PATH); without them the page shows the video when done."""
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def live_player(elem_id: str):
    """Plays the video while it is made: each piece (H.264/AAC MPEG-TS, ~2 s first, then longer)
    is appended as soon as the worker has it."""
    return gr.Video(label="Playing while it is made", elem_id=elem_id, streaming=True, autoplay=True,
                    interactive=False, visible=live_playback())


def text_settings(h: Handlers) -> SimpleNamespace:
    """The Text tab's advanced settings; every default is ``GenerateOptions``' own."""
    neural = len(h.engines) > 1  # steps and guidance only mean something to the neural engine
    with gr.Accordion("Advanced settings", open=False):
        with gr.Row():
            speed = gr.Slider(0.5, 2.0, value=DEFAULTS.speed, step=0.05, label="Speaking speed")
            seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed",
                             info="The same seed repeats the voice's delivery and the motion; "
                                  "another seed gives another take.")
        with gr.Row():
            size = gr.Dropdown(choices=SIZES, value=DEFAULT_SIZE, label="Output size")
            engine = gr.Radio(choices=h.engines, value=ENGINE_OFFLINE, label="Engine",
                              info=None if neural else
                              "The neural DiT engine appears here once its checkpoint is set (TALKER_DIT_CHECKPOINT).")
        with gr.Row():
            steps = gr.Slider(4, 64, value=DEFAULTS.nfe_steps, step=1, label="Steps (NFE, neural engine)",
                              interactive=neural)
            guidance = gr.Slider(0.0, 5.0, value=DEFAULTS.cfg_scale, step=0.1, label="Guidance (neural engine)",
                                 interactive=neural)
        label = gr.Checkbox(value=h.cfg.label, label="Visible “AI-generated” label on the video "
                                                     "(the file metadata always says so)")
    return SimpleNamespace(speed=speed, seed=seed, size=size, engine=engine, steps=steps, guidance=guidance,
                           label=label)


def text_tab(h: Handlers, names: list[str], default: str | None) -> SimpleNamespace:
    """Reference + text → video, with the bundled examples."""
    with gr.Tab("Text → video", id="text"):
        with gr.Row():
            with gr.Column(scale=5):
                pick = reference_picker(h.app, names, default, "…or upload your own reference clip / photo (used "
                                        "instead of the template)", ("tpl-gallery", "tpl-name", "ref-upload"))
                ref_sheet = gr.Image(label="Tracked reference", type="filepath", visible=False, height=200)
                ref_transcript = gr.Textbox(label="What the reference says (filled by speech recognition; "
                                                  "edit if wrong)", lines=2, elem_id="ref-transcript")
                text = gr.Textbox(label="Text to speak", lines=4, max_length=h.cfg.max_text_chars,
                                  placeholder="Type what the person should say…", elem_id="text-input")
                with gr.Row():
                    language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language", scale=1, min_width=170)
                    voice = gr.Dropdown(choices=voice_choices(), value="auto", label="Voice", scale=2, min_width=260,
                                        elem_id="voice-pick")
                with gr.Row(equal_height=True):
                    preview_btn = gr.Button("▶ Hear this voice", size="sm", scale=0, min_width=150,
                                            elem_id="voice-preview-btn")
                    preview = gr.Audio(label="Voice preview", type="filepath", autoplay=True, elem_id="voice-preview",
                                       interactive=False, scale=3, show_label=False)
                settings = text_settings(h)
                face = face_sliders()
                go = gr.Button("Generate video", variant="primary", elem_id="generate-btn")
            with gr.Column(scale=6):
                live = live_player("live-video")
                video = gr.Video(label="The whole video (mp4, when it is done)", elem_id="out-video", autoplay=False)
                audio_out = gr.Audio(label="Speech alone", type="filepath", elem_id="out-audio")
                details = gr.Markdown(elem_id="out-details")
                curves = gr.Image(label="Motion: jaw opening and head pose", type="filepath", show_label=False,
                                  elem_id="out-curves")
                mel = gr.Image(label="Mel spectrogram of the speech", type="filepath", show_label=False,
                               elem_id="out-mel")
                with gr.Accordion("Details (JSON)", open=False):
                    summary = gr.JSON(label="Summary")
        outs = [live, video, audio_out, curves, mel, details, summary]
        gr.Examples(EXAMPLES, inputs=[pick.template, text, language], outputs=outs, fn=h.example,
                    run_on_click=True, cache_examples=False, label="Examples (bundled templates, offline)")
    s = settings
    return SimpleNamespace(pick=pick, ref_sheet=ref_sheet, ref_transcript=ref_transcript, summary=summary, go=go,
                           voice=voice, preview_btn=preview_btn, preview=preview,
                           outs=outs, inputs=[pick.template, pick.reference, ref_transcript, text, language, s.speed,
                                              s.steps, s.guidance, s.seed, s.size, s.engine, s.label, voice, *face])


def audio_tab(h: Handlers, names: list[str], default: str | None) -> SimpleNamespace:
    """Reference + the visitor's own speech → lip-synced video."""
    with gr.Tab("Audio → video", id="audio"):
        with gr.Row():
            with gr.Column(scale=5):
                pick = reference_picker(h.app, names, default, "…or upload your own reference clip / photo (a muted "
                                        "clip works too: dubbing)")
                audio_in = gr.Audio(label="Your speech (upload or record)", type="filepath",
                                    sources=["upload", "microphone"])
                transcript = gr.Textbox(label="What the speech says (optional; recognised otherwise)")
                language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                with gr.Accordion("Advanced settings", open=False):
                    seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed", info="Repeats the motion.")
                    size = gr.Dropdown(choices=SIZES, value=DEFAULT_SIZE, label="Output size")
                    label = gr.Checkbox(value=h.cfg.label, label="Visible “AI-generated” label")
                face = face_sliders()
                go = gr.Button("Lip-sync video", variant="primary")
            with gr.Column(scale=6):
                live = live_player("live-video-audio")
                video = gr.Video(label="The whole video (mp4, when it is done)")
                audio_out = gr.Audio(label="Speech", type="filepath")
                details = gr.Markdown()
                curves = gr.Image(label="Motion: jaw opening and head pose", type="filepath", show_label=False)
                mel = gr.Image(label="Mel spectrogram", type="filepath", show_label=False)
                with gr.Accordion("Details (JSON)", open=False):
                    summary = gr.JSON(label="Summary")
    return SimpleNamespace(pick=pick, go=go, outs=[live, video, audio_out, curves, mel, details, summary],
                           inputs=[pick.template, pick.reference, audio_in, transcript, language, seed, size, label,
                                   *face])


DUB_HELP = (
    "Upload a video of a person speaking and give the new speech (your recording, or a text read in a voice). "
    "**Every frame of the video is kept**, in order (unless you choose to cut it where shorter new speech ends); "
    "only the mouth is re-rendered, from the video's own mouths, to match the new speech. Frames without a usable "
    "face (turned away, too small, none) pass through unchanged. New speech longer than the video: its last "
    "seconds play on back and forth. The result is labelled as AI-generated (in the file's metadata always, and "
    "on the picture unless switched off).")
SPEECH_MODES = ["Audio", "Text"]
RESTS = [("Cut the video there", "cut"), ("Keep the rest with its own sound", "keep")]
DUB_FACES = ["largest", "left", "right"]  # talker.tracking.tracker.FACE_CHOICES
DUB_VOICE_AUTO = ("Automatic: a voice of the video's speaker's sex and pitch", "auto")


def dub_tab(h: Handlers) -> SimpleNamespace:
    """An uploaded video + new speech (audio, or text in a voice) → the same video saying it."""
    with gr.Tab("Dub a video", id="dub"):
        gr.Markdown(DUB_HELP, elem_id="dub-help")
        with gr.Row():
            with gr.Column(scale=5):
                video_in = gr.Video(label=f"Video to dub (up to {h.cfg.max_dub_seconds:.0f} s, one face)",
                                    sources=["upload"], elem_id="dub-video")
                speech = gr.Radio(SPEECH_MODES, value="Audio", label="New speech", elem_id="dub-speech")
                with gr.Group(visible=True) as by_audio:
                    audio_in = gr.Audio(label="The new speech (upload or record)", type="filepath",
                                        sources=["upload", "microphone"], elem_id="dub-audio")
                    transcript = gr.Textbox(label="What it says (optional; recognised otherwise)",
                                            elem_id="dub-transcript")
                with gr.Group(visible=False) as by_text:
                    text = gr.Textbox(label="Text to speak", lines=3, max_length=h.cfg.max_text_chars,
                                      placeholder="Type what the person should say instead…", elem_id="dub-text")
                    voice = gr.Dropdown(choices=[DUB_VOICE_AUTO, *voice_choices()[1:]], value="auto", label="Voice",
                                        elem_id="dub-voice")
                rest = gr.Radio(RESTS, value=DUB_DEFAULTS.rest, label="When the new speech is shorter than the video",
                                elem_id="dub-rest")
                label = gr.Checkbox(value=h.cfg.label, label="Visible “AI-generated” label on the video "
                                                             "(the file metadata always says so)", elem_id="dub-label")
                with gr.Accordion("Advanced settings", open=False):
                    with gr.Row():
                        language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                        seed = gr.Number(value=DUB_DEFAULTS.seed, precision=0, label="Seed",
                                         info="Repeats the voice's delivery and the mouth's motion.")
                    with gr.Row():
                        speed = gr.Slider(0.5, 2.0, value=DUB_DEFAULTS.speed, step=0.05,
                                          label="Speaking speed (text)")
                        mouth = gr.Slider(0.5, 1.5, value=DUB_DEFAULTS.mouth_opening, step=0.05,
                                          label="Mouth opening")
                    face = gr.Radio(DUB_FACES, value=DUB_DEFAULTS.face, label="Face to dub when there are several",
                                    elem_id="dub-face")
                go = gr.Button("Dub", variant="primary", elem_id="dub-btn")
            with gr.Column(scale=6):
                video = gr.Video(label="The dubbed video (mp4, when it is done)", elem_id="dub-out-video",
                                 autoplay=False)
                details = gr.Markdown(elem_id="dub-details")
                with gr.Accordion("Details (JSON)", open=False):
                    summary = gr.JSON(label="Summary")
    return SimpleNamespace(go=go, speech=speech, by_audio=by_audio, by_text=by_text, outs=[video, details, summary],
                           inputs=[video_in, speech, audio_in, transcript, text, voice, rest, seed, label, language,
                                   speed, mouth, face])


def templates_tab(h: Handlers, names: list[str]) -> SimpleNamespace:
    """The template table; add one (analysed from an upload) or delete one the visitors added."""
    with gr.Tab("Templates", id="templates"):
        table = gr.Dataframe(value=h.app.table(), headers=["name", "display name", "kind", "language",
                                                            "transcript", "licence", "attribution", "consent"],
                             interactive=False, label="Templates")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Add a template")
                media = gr.File(label="Clip (2–60 s, one face, speaking; 3 s or more is better) or photo", file_types=["video", "image"],
                                type="filepath")
                name = gr.Textbox(label="Name (lowercase letters, digits, - or _)")
                display = gr.Textbox(label="Display name (optional)")
                transcript = gr.Textbox(label="Transcript (optional; recognised otherwise)")
                language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                source = gr.Textbox(label="Source (optional)")
                licence = gr.Textbox(label="Licence (optional)")
                consent = gr.Checkbox(label="I have the right to use this person's face and voice")
                add = gr.Button("Analyse and add", variant="primary")
                add_msg = gr.Markdown()
            with gr.Column():
                sheet = gr.Image(label="Contact sheet (tracked landmarks)", type="filepath")
                gr.Markdown("### Delete a template")
                del_name = gr.Dropdown(choices=names, value=None, label="Template to delete", allow_custom_value=True)
                delete = gr.Button("Delete", variant="stop")
                del_msg = gr.Markdown()
    return SimpleNamespace(table=table, add=add, add_msg=add_msg, sheet=sheet, del_name=del_name, delete=delete,
                           del_msg=del_msg,
                           add_inputs=[media, name, display, transcript, language, source, licence, consent])


def wire(demo: gr.Blocks, h: Handlers, text, audio, dub, tpl, default: str | None) -> None:
    """Every event of the page. Jobs share one concurrency group sized to the worker pool; light events
    skip the queue, so a full queue does not stop the page from loading."""
    worker = {"concurrency_id": "worker", "concurrency_limit": h.cfg.concurrency}
    text.go.click(h.generate, text.inputs, text.outs, api_name="generate", **worker)
    text.preview_btn.click(h.preview_voice, text.voice, text.preview, api_name="preview_voice", **worker)
    audio.go.click(h.generate_from_audio, audio.inputs, audio.outs, api_name="generate_from_audio", **worker)
    dub.go.click(h.dub, dub.inputs, dub.outs, api_name="dub", **worker)
    dub.speech.change(lambda mode: (gr.update(visible=mode != "Text"), gr.update(visible=mode == "Text")),
                      dub.speech, [dub.by_audio, dub.by_text], api_visibility="private", queue=False)
    ref = text.pick.reference
    ref.upload(h.transcribe_reference, ref, [text.ref_transcript, text.ref_sheet, text.summary],
               api_name="transcribe_reference", **worker)
    ref.clear(lambda name: (h.template_transcript(name), gr.update(value=None, visible=False)), text.pick.template,
              [text.ref_transcript, text.ref_sheet], api_visibility="private", queue=False)
    text.pick.template.change(h.template_transcript, text.pick.template, text.ref_transcript,
                              api_visibility="private", queue=False)
    # the order of Handlers.refreshed's values
    lists = [text.pick.gallery, text.pick.template, audio.pick.gallery, audio.pick.template, tpl.del_name, tpl.table]
    tpl.add.click(h.add_template, tpl.add_inputs, [tpl.sheet, tpl.add_msg, *lists], api_name="add_template", **worker)
    tpl.delete.click(h.delete_template, tpl.del_name, [tpl.del_msg, *lists], api_name="delete_template", queue=False)
    table_btn = gr.Button(visible=False)  # no visible control: an endpoint for clients only
    table_btn.click(h.list_templates, None, tpl.table, api_name="list_templates", queue=False)
    select = h.pick  # bound once: both galleries share one handler (and its concurrency id)
    for pick in (text.pick, audio.pick):
        pick.gallery.select(select, None, pick.template, api_visibility="private", queue=False)
        pick.template.change(h.app.credit, pick.template, pick.credit, api_visibility="private", queue=False)
    demo.load(lambda: h.refreshed(default), None, lists, api_visibility="private", queue=False)


def build_app(cfg: AppConfig | None = None, runner=None):
    """The Blocks app; ``demo.talker`` is the ``App`` (config, worker pool) behind it."""
    cfg = cfg or AppConfig.from_env()
    app = App(cfg, runner)
    h = Handlers(app)
    names = app.template_names()
    default = store.DEFAULT_TEMPLATE if store.DEFAULT_TEMPLATE in names else (names[0] if names else None)
    theme = gr.themes.Soft()
    with gr.Blocks(title=TITLE, delete_cache=(3600, 3 * 3600), analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        text = text_tab(h, names, default)
        audio = audio_tab(h, names, default)
        dub = dub_tab(h)
        tpl = templates_tab(h, names)
        gr.Markdown(DISCLAIMER)
        wire(demo, h, text, audio, dub, tpl, default)
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=cfg.concurrency)
    demo.talker = app
    demo.talker_theme = theme
    return demo


def launch(demo, cfg: AppConfig, **kwargs):
    """``demo.launch`` with the settings that keep the server's files private."""
    return demo.launch(server_name=cfg.host, server_port=int(cfg.port), share=cfg.share, show_error=False,
                       max_file_size=f"{int(cfg.max_upload_mb)}mb",
                       allowed_paths=[str(cfg.outputs_path), str(cfg.templates_path)],
                       theme=demo.talker_theme, css=CSS, footer_links=["api"], **kwargs)
