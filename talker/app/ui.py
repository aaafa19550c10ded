"""Gradio Blocks UI over ``TalkerPipeline``.

For now the page covers reference analysis and templates; generation tabs join it as the
pipeline grows. Every pipeline error becomes a ``gr.Error`` with its readable message.
"""


import json
import os
import tempfile
from pathlib import Path

from ..errors import TalkerError
from ..pipeline import PipelineConfig, TalkerPipeline

TITLE = "talker — text-driven talking heads"
INTRO = (
    "Give a short clip (or one photo) of a person; **talker** analyses it into the inputs of its "
    "speech + face models: 24 kHz audio, the transcript, and a 61-d facial motion code per frame "
    "(51 ARKit blendshapes, head pose, gaze). Pick the bundled template or upload your own reference. "
    "Generation of new speech and video from text is being built on top of this stage."
)


def build_app(pipeline: TalkerPipeline | None = None):
    import gradio as gr

    pipe = pipeline or TalkerPipeline(PipelineConfig())
    work = Path(tempfile.mkdtemp(prefix="talker-app-"))

    def gallery_items():
        items = []
        for t in pipe.templates():
            thumb = t.directory / "thumbnail.jpg" if t.directory else None
            caption = f"{t.display_name} ({t.name})"
            items.append((str(thumb) if thumb and thumb.is_file() else str(t.media_path), caption))
        return items

    def analyze(template_name: str, upload: str | None, transcript: str, progress=gr.Progress()):
        from ..reference.show import show

        try:
            if upload:
                media, feats = upload, pipe.analyze(upload, transcript=transcript or None,
                                                    progress=lambda f, d: progress(f, desc=d))
            elif template_name:
                tpl, feats = pipe.template(template_name)
                media = tpl.media_path
            else:
                raise gr.Error("Pick a template or upload a clip first.")
            out = Path(tempfile.mkdtemp(dir=work))
            pics = show(feats, media, out)
            summary = feats.summary()
            summary.pop("content_hash", None)
            return (json.dumps(summary, ensure_ascii=False, indent=1), str(pics["contact_sheet"]),
                    str(pics["motion_plot"]), feats.transcript)
        except TalkerError as e:
            raise gr.Error(e.message) from None

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Tab("Reference analysis"):
            with gr.Row():
                with gr.Column():
                    names = [t.name for t in pipe.templates()]
                    gallery = gr.Gallery(value=gallery_items(), label="Templates", columns=4, height=220,
                                         allow_preview=False)
                    template = gr.Dropdown(choices=names, value=names[0] if names else None, label="Template")
                    upload = gr.File(label="…or upload a clip / photo", file_types=["video", "image"], type="filepath")
                    transcript = gr.Textbox(label="Transcript of the reference (optional; ASR otherwise)")
                    run = gr.Button("Analyse", variant="primary")
                with gr.Column():
                    summary = gr.Code(label="Analysis", language="json")
                    sheet = gr.Image(label="Tracked landmarks", type="filepath")
                    curves = gr.Image(label="Motion curves", type="filepath")
                    asr_text = gr.Textbox(label="Transcript used")

            def pick(evt: gr.SelectData):
                return names[evt.index] if names and evt.index < len(names) else None

            gallery.select(pick, None, template)
            run.click(analyze, [template, upload, transcript], [summary, sheet, curves, asr_text],
                      api_name="analyze")
        gr.Markdown("Every output of this project is AI-generated media; use references you have the right to use.")
    demo.queue(max_size=int(os.environ.get("TALKER_QUEUE_SIZE", "16")), default_concurrency_limit=1)
    return demo
