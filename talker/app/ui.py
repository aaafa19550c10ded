"""Gradio Blocks app over the same ``TalkerPipeline`` the CLI uses (run in a worker process).

The page has three tabs (text → video, audio → video, templates); every event is also a
named API endpoint for ``gradio_client``. Pipeline errors reach the visitor as one readable
line (``gr.Error``), warnings as ``gr.Warning``; a stack trace never leaves the server.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import gradio as gr

from ..errors import TalkerError
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
LANGUAGES = [("Auto (from the text)", "auto"), ("English", "en"), ("Chinese (Mandarin)", "zh")]
EXAMPLES = [
    ["astronaut", "Hello! I am a talking head made by talker from one photo and a line of text.", "auto"],
    ["astronaut", "你好，我是一个由文字驱动的数字人。", "auto"],
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
        from ..templates import store

        return store.list_templates(self.cfg.templates_path)

    def template_names(self) -> list[str]:
        return [t.name for t in self.templates()]

    def gallery_entries(self) -> list[tuple[str, str, str]]:
        """(thumbnail, caption, name) for templates that have a thumbnail, in gallery order."""
        items = []
        for t in self.templates():
            thumb = t.directory / "thumbnail.jpg" if t.directory else None
            if not (thumb and thumb.is_file()):
                continue
            lang = f" · {t.language}" if t.language else ""
            said = f" · “{_short(t.transcript, 60)}”" if t.transcript else ""
            items.append((str(thumb), f"{t.display_name} ({t.name}){lang}{said}", t.name))
        return items

    def gallery(self) -> list[tuple[str, str]]:
        return [(thumb, caption) for thumb, caption, _ in self.gallery_entries()]

    def table(self) -> list[list[str]]:
        return [[t.name, t.display_name, t.kind, t.language, _short(t.transcript, 120), t.license or "",
                 t.consent or ""] for t in self.templates()]

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

    def upload(self, path: str | None, what: str, max_seconds: float, *, need_audio: bool = False) -> str | None:
        """Accept a file only if Gradio's own upload put it in our upload folder; check its limits."""
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
        if info.duration > max_seconds:
            raise gr.Error(f"The {what} is {info.duration:.0f} s long; the limit here is {max_seconds:.0f} s. "
                           "Trim it and upload again.")
        if need_audio and not info.has_audio:
            raise gr.Error(f"The {what} has no sound. Upload a speech recording.")
        return str(p)

    def run(self, job: dict, progress) -> dict:
        def step(frac: float, desc: str) -> None:
            if progress is not None:
                progress(min(max(frac, 0.0), 1.0), desc=desc)

        step(0.0, "starting")
        return self.runner.run(job, step, self.cfg.job_timeout)


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


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def readable(fn):
    """Every failure becomes one line for the visitor; the trace goes to the server log only."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except TalkerError as e:
            raise gr.Error(e.message) from None
        except Exception as e:  # noqa: BLE001
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(e).__name__}). Try again; if it keeps failing, "
                           "report what you did.") from None

    return wrapper


def details_markdown(summary: dict) -> str:
    """One table: each stage, the model or backend that ran it, and its time."""
    eng, t = summary.get("engine", {}), summary.get("timings", {})
    what = {"reference": eng.get("tracker", ""), "speech": eng.get("speech", ""), "motion": eng.get("motion", ""),
            "render": eng.get("renderer", ""), "encode": "ffmpeg libx264 + aac"}
    rows = [f"Engine: **{eng['mode']}**\n"] if eng.get("mode") else []
    rows += ["| stage | what ran | seconds |", "|---|---|---:|"]
    for k, v in t.items():
        if k != "total":
            rows.append(f"| {k} | `{what.get(k, '')}` | {v:.2f} |")
    if "total" in t:
        rows.append(f"| **total** | on `{eng.get('device', 'cpu')}` | **{t['total']:.2f}** |")
    head = (f"**{summary.get('duration', 0):.1f} s** of video, {summary.get('frames', 0)} frames at "
            f"{summary.get('fps', 25):g} fps, language `{summary.get('language', '')}`, "
            f"real-time factor {summary.get('rtf', 0):.2f}.")
    return head + "\n\n" + "\n".join(rows)


def build_app(cfg: AppConfig | None = None, runner=None):
    """The Blocks app; ``demo.talker`` is the ``App`` (config, worker pool) behind it."""
    cfg = cfg or AppConfig.from_env()
    app = App(cfg, runner)
    from ..generate import GenerateOptions

    has_label = "label" in GenerateOptions.__dataclass_fields__
    engines = [ENGINE_OFFLINE] + ([ENGINE_NEURAL] if cfg.neural_available() else [])

    def options(language, speed, seed, size, label) -> dict:
        opt = {"language": None if language in (None, "", "auto") else language, "speed": float(speed or 1.0),
               "seed": int(seed or 0), "max_text_chars": cfg.max_text_chars,
               "max_audio_seconds": cfg.max_audio_seconds}
        if size == "crop":
            opt.update(crop=True, max_side=512)
        else:
            opt["max_side"] = int(size or 720)
        if has_label:
            opt["label"] = bool(label)
        return opt

    def reference_args(template, reference):
        ref = app.upload(reference, "reference clip", cfg.max_reference_seconds)
        if ref:
            return {"reference": ref, "template": None}
        if not template:
            raise gr.Error("Pick a template or upload a reference clip or photo.")
        from ..templates import store

        store.get_template(template, cfg.templates_path)  # readable error for unknown names
        return {"template": template, "reference": None}

    def outputs_of(res: dict):
        for w in res["summary"].get("warnings", []):
            gr.Warning(w)
        res["summary"].pop("video", None)  # a server path means nothing to the visitor
        return (res["video"], res["audio"], res["curves"], res["mel"], details_markdown(res["summary"]),
                res["summary"])

    @readable
    def generate(template, reference, reference_transcript, text, language, speed, steps, guidance, seed, size,
                 engine, label, progress=gr.Progress()):
        """Reference (template name or uploaded clip/photo) + text → video, speech, pictures, details."""
        if not (text or "").strip():
            raise gr.Error("Type the text the person should say.")
        if len(text) > cfg.max_text_chars:
            raise gr.Error(f"The text has {len(text)} characters; the limit here is {cfg.max_text_chars}.")
        if engine and engine not in engines:
            raise gr.Error(f"The engine '{engine}' is not available here. Available: {', '.join(engines)}.")
        job = {"kind": "generate", "out_dir": str(app.job_dir()), "text": text,
               "reference_transcript": reference_transcript or "",
               "options": {**options(language, speed, seed, size, label),
                           "engine": "neural" if engine == ENGINE_NEURAL else "offline",
                           "nfe_steps": int(steps or 32), "cfg_scale": float(guidance if guidance is not None else 2.0)},
               **reference_args(template, reference)}
        return outputs_of(app.run(job, progress))

    @readable
    def generate_from_audio(template, reference, audio, transcript, language, seed, size, label,
                            progress=gr.Progress()):
        """Reference + the user's own speech → lip-synced video."""
        wav = app.upload(audio, "audio", cfg.max_audio_seconds, need_audio=True)
        if not wav:
            raise gr.Error("Upload or record the speech to lip-sync.")
        job = {"kind": "generate", "out_dir": str(app.job_dir()), "audio": wav, "transcript": transcript or "",
               "options": options(language, 1.0, seed, size, label), **reference_args(template, reference)}
        return outputs_of(app.run(job, progress))

    @readable
    def transcribe_reference(reference, progress=gr.Progress()):
        """Analyse an uploaded reference: its transcript (ASR), language and tracked frames."""
        ref = app.upload(reference, "reference clip", cfg.max_reference_seconds)
        if not ref:
            return "", gr.update(value=None, visible=False), None
        res = app.run({"kind": "analyze", "reference": ref, "out_dir": str(app.job_dir())}, progress)
        for w in res["summary"].get("warnings", []):
            gr.Warning(w)
        return res["transcript"], gr.update(value=res["contact_sheet"], visible=True), res["summary"]

    def template_transcript(name):
        for t in app.templates():
            if t.name == name:
                return t.transcript
        return ""

    def refreshed(selected=None):
        names = app.template_names()
        value = selected if selected in names else (names[0] if names else None)
        return (gr.update(value=app.gallery()), gr.update(choices=names, value=value),
                gr.update(value=app.gallery()), gr.update(choices=names, value=value),
                gr.update(choices=names, value=None), app.table())

    @readable
    def add_template(media, name, display_name, transcript, language, source, licence, consent,
                     progress=gr.Progress()):
        """Upload → analysed template; returns its contact sheet and the new list."""
        if not consent:
            raise gr.Error("Confirm that you have the right to use this person's face and voice.")
        from ..templates import store

        store.check_name((name or "").strip())
        path = app.upload(media, "clip", cfg.max_reference_seconds)
        if not path:
            raise gr.Error("Upload a clip or a photo for the template.")
        res = app.run({"kind": "add_template", "media": path, "name": name.strip(), "display_name": display_name,
                       "transcript": transcript, "language": None if language in (None, "", "auto") else language,
                       "source": source or "", "license": licence or "",
                       "consent": "confirmed in the web app by the uploader", "out_dir": str(app.job_dir())},
                      progress)
        for w in res.get("warnings", []):
            gr.Warning(w)
        msg = f"Added template **{res['name']}** ({res['language'] or 'language unknown'})."
        return (res["contact_sheet"], msg, *refreshed(res["name"]))

    @readable
    def delete_template(name):
        """Delete a template you added (the bundled ones stay)."""
        from ..templates import store

        if not name:
            raise gr.Error("Choose the template to delete.")
        if name in bundled_names():
            raise gr.Error(f"'{name}' is a bundled template and cannot be deleted here.")
        store.delete_template(name, cfg.templates_path)
        return (f"Deleted template **{name}**.", *refreshed())

    def list_templates():
        """Every template: name, display name, kind, language, transcript, licence, consent."""
        return app.table()

    def example(template, text, language, progress=gr.Progress()):
        return generate(template, None, "", text, language, 1.0, 32, 2.0, 0, "720", ENGINE_OFFLINE, cfg.label,
                        progress=progress)

    names = app.template_names()
    default = "astronaut" if "astronaut" in names else (names[0] if names else None)
    theme = gr.themes.Soft()
    with gr.Blocks(title=TITLE, delete_cache=(3600, 3 * 3600), analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Tab("Text → video", id="text"):
            with gr.Row():
                with gr.Column(scale=5):
                    gallery = gr.Gallery(value=app.gallery(), label="Templates (click one)", columns=5, height=150,
                                         allow_preview=False, object_fit="cover", elem_id="tpl-gallery",
                                         fit_columns=False, interactive=False, buttons=[])
                    template = gr.Dropdown(choices=names, value=default, label="Template", elem_id="tpl-name",
                                           allow_custom_value=True)
                    reference = gr.File(label="…or upload your own reference clip / photo (used instead of the "
                                              "template)", file_types=["video", "image"], type="filepath",
                                        elem_id="ref-upload")
                    ref_sheet = gr.Image(label="Tracked reference", type="filepath", visible=False, height=200)
                    ref_transcript = gr.Textbox(label="What the reference says (filled by speech recognition; "
                                                      "edit if wrong)", lines=2, elem_id="ref-transcript")
                    text = gr.Textbox(label="Text to speak", lines=4, max_length=cfg.max_text_chars,
                                      placeholder="Type what the person should say…", elem_id="text-input")
                    language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                    with gr.Accordion("Advanced settings", open=False):
                        with gr.Row():
                            speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speaking speed")
                            seed = gr.Number(value=0, precision=0, label="Seed",
                                             info="The same seed repeats the voice's delivery and the motion; "
                                                  "another seed gives another take.")
                        with gr.Row():
                            size = gr.Dropdown(choices=SIZES, value="720", label="Output size")
                            engine = gr.Radio(choices=engines, value=ENGINE_OFFLINE, label="Engine",
                                              info=None if len(engines) > 1 else
                                              "The neural DiT engine appears here once its checkpoint is set "
                                              "(TALKER_DIT_CHECKPOINT).")
                        with gr.Row():
                            steps = gr.Slider(4, 64, value=32, step=1, label="Steps (NFE, neural engine)",
                                              interactive=len(engines) > 1)
                            guidance = gr.Slider(0.0, 5.0, value=2.0, step=0.1, label="Guidance (neural engine)",
                                                 interactive=len(engines) > 1)
                        label = gr.Checkbox(value=cfg.label, label="Visible “AI-generated” label on the video "
                                                                   "(the file metadata always says so)")
                    go = gr.Button("Generate video", variant="primary", elem_id="generate-btn")
                with gr.Column(scale=6):
                    video = gr.Video(label="Video", elem_id="out-video", autoplay=False)
                    audio_out = gr.Audio(label="Speech alone", type="filepath", elem_id="out-audio")
                    details = gr.Markdown(elem_id="out-details")
                    curves = gr.Image(label="Motion: jaw opening and head pose", type="filepath", show_label=False,
                                      elem_id="out-curves")
                    mel = gr.Image(label="Mel spectrogram of the speech", type="filepath", show_label=False,
                                   elem_id="out-mel")
                    with gr.Accordion("Details (JSON)", open=False):
                        summary = gr.JSON(label="Summary")
            outs = [video, audio_out, curves, mel, details, summary]
            gr.Examples(EXAMPLES, inputs=[template, text, language], outputs=outs, fn=example,
                        run_on_click=True, cache_examples=False, label="Examples (bundled template, offline)")

        with gr.Tab("Audio → video", id="audio"):
            with gr.Row():
                with gr.Column(scale=5):
                    gallery_a = gr.Gallery(value=app.gallery(), label="Templates (click one)", columns=5,
                                           height=150, allow_preview=False, object_fit="cover", fit_columns=False,
                                           interactive=False, buttons=[])
                    template_a = gr.Dropdown(choices=names, value=default, label="Template", allow_custom_value=True)
                    reference_a = gr.File(label="…or upload your own reference clip / photo (a muted clip works too: dubbing)",
                                          file_types=["video", "image"], type="filepath")
                    audio_in = gr.Audio(label="Your speech (upload or record)", type="filepath",
                                        sources=["upload", "microphone"])
                    transcript_a = gr.Textbox(label="What the speech says (optional; recognised otherwise)")
                    language_a = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                    with gr.Accordion("Advanced settings", open=False):
                        seed_a = gr.Number(value=0, precision=0, label="Seed", info="Repeats the motion.")
                        size_a = gr.Dropdown(choices=SIZES, value="720", label="Output size")
                        label_a = gr.Checkbox(value=cfg.label, label="Visible “AI-generated” label")
                    go_a = gr.Button("Lip-sync video", variant="primary")
                with gr.Column(scale=6):
                    video_a = gr.Video(label="Video")
                    audio_out_a = gr.Audio(label="Speech", type="filepath")
                    details_a = gr.Markdown()
                    curves_a = gr.Image(label="Motion: jaw opening and head pose", type="filepath", show_label=False)
                    mel_a = gr.Image(label="Mel spectrogram", type="filepath", show_label=False)
                    with gr.Accordion("Details (JSON)", open=False):
                        summary_a = gr.JSON(label="Summary")

        with gr.Tab("Templates", id="templates"):
            table = gr.Dataframe(value=app.table(), headers=["name", "display name", "kind", "language",
                                                              "transcript", "licence", "consent"],
                                 interactive=False, label="Templates")
            with gr.Row():
                with gr.Column():
                    gr.Markdown("### Add a template")
                    new_media = gr.File(label="Clip (3–60 s, one face, speaking) or photo",
                                        file_types=["video", "image"], type="filepath")
                    new_name = gr.Textbox(label="Name (lowercase letters, digits, - or _)")
                    new_display = gr.Textbox(label="Display name (optional)")
                    new_transcript = gr.Textbox(label="Transcript (optional; recognised otherwise)")
                    new_language = gr.Dropdown(choices=LANGUAGES, value="auto", label="Language")
                    new_source = gr.Textbox(label="Source (optional)")
                    new_licence = gr.Textbox(label="Licence (optional)")
                    new_consent = gr.Checkbox(label="I have the right to use this person's face and voice")
                    add = gr.Button("Analyse and add", variant="primary")
                    add_msg = gr.Markdown()
                with gr.Column():
                    sheet = gr.Image(label="Contact sheet (tracked landmarks)", type="filepath")
                    gr.Markdown("### Delete a template")
                    del_name = gr.Dropdown(choices=names, value=None, label="Template to delete", allow_custom_value=True)
                    delete = gr.Button("Delete", variant="stop")
                    del_msg = gr.Markdown()
        gr.Markdown(DISCLAIMER)

        worker = {"concurrency_id": "worker", "concurrency_limit": cfg.concurrency}
        go.click(generate, [template, reference, ref_transcript, text, language, speed, steps, guidance, seed,
                            size, engine, label], outs, api_name="generate", **worker)
        go_a.click(generate_from_audio, [template_a, reference_a, audio_in, transcript_a, language_a, seed_a,
                                         size_a, label_a],
                   [video_a, audio_out_a, curves_a, mel_a, details_a, summary_a], api_name="generate_from_audio",
                   **worker)
        reference.upload(transcribe_reference, reference, [ref_transcript, ref_sheet, summary],
                         api_name="transcribe_reference", **worker)
        reference.clear(lambda name: (template_transcript(name), gr.update(value=None, visible=False)), template,
                        [ref_transcript, ref_sheet], api_visibility="private", queue=False)
        template.change(template_transcript, template, ref_transcript, api_visibility="private", queue=False)
        lists = [gallery, template, gallery_a, template_a, del_name, table]
        add.click(add_template, [new_media, new_name, new_display, new_transcript, new_language, new_source,
                                 new_licence, new_consent], [sheet, add_msg, *lists], api_name="add_template",
                  **worker)
        delete.click(delete_template, del_name, [del_msg, *lists], api_name="delete_template", queue=False)
        table_btn = gr.Button(visible=False)
        table_btn.click(list_templates, None, table, api_name="list_templates", queue=False)

        def pick(evt: gr.SelectData):
            names_now = [name for _, _, name in app.gallery_entries()]
            return names_now[evt.index] if evt.index is not None and evt.index < len(names_now) else None

        gallery.select(pick, None, template, api_visibility="private", queue=False)
        gallery_a.select(pick, None, template_a, api_visibility="private", queue=False)
        # Light events skip the queue: a full queue must not stop the page from loading.
        demo.load(lambda: refreshed(default), None, lists, api_visibility="private", queue=False)

    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=cfg.concurrency)
    demo.talker = app
    demo.talker_theme = theme
    return demo


def launch(demo, cfg: AppConfig, **kwargs):
    """``demo.launch`` with the settings that keep the server's files private."""
    return demo.launch(server_name=cfg.host, server_port=int(cfg.port), share=cfg.share, show_error=False,
                       max_file_size=f"{int(cfg.max_upload_mb)}mb",
                       allowed_paths=[str(cfg.outputs_path), str(cfg.templates_path)],
                       theme=demo.talker_theme, footer_links=["api"], **kwargs)
