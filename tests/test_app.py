"""The web app, launched for real (``python app.py`` on localhost), through its named API endpoints.

Other app tests (browser, queue) reuse ``AppServer`` from here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = "offline (visemes + renderer)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``app.py`` in a subprocess with its own work folder; the way a Space or a user starts it."""

    def __init__(self, tmp: Path, *flags: str, env: dict | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.work = tmp / "work"
        self.log_path = tmp / "app.log"
        from talker.paths import models_dir

        # a fresh cache (features, outputs) but the installed models: the Kokoro voices live there
        e = {**os.environ, "TALKER_CACHE_DIR": str(tmp / "cache"), "TALKER_MODELS_DIR": str(models_dir()),
             "TALKER_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
             "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
        e.pop("GRADIO_TEMP_DIR", None)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port), "--work-dir", str(self.work),
                                      *flags], cwd=ROOT, env=e, stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"app did not answer in {timeout:.0f} s:\n{self.log()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "gradio_api/info", timeout=10) as r:
                return r.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        import psutil

        out = []
        for child in psutil.Process(self.proc.pid).children(recursive=False):
            try:
                cmd = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "spawn_main" in cmd and "resource_tracker" not in cmd:
                out.append(child.pid)
        return out

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


def generate_args(text: str, *, template: str = "astronaut", reference=None, size: str = "512", label: bool = True,
                  voice: str = "auto"):
    return (template, reference, "", text, "auto", 1.0, 32, 2.0, 0, size, OFFLINE, label, voice)


def dub_args(video, *, audio=None, text: str = "", speech: str = "Audio", rest: str = "keep", label: bool = True):
    """The Dub tab's inputs in the /dub endpoint's order (video, new speech mode, audio, transcript, text,
    voice, rest, seed, label)."""
    return (video, speech, audio, "", text, "auto", rest, 0, label)


def probe_mp4(path: str | Path) -> str:
    """ffmpeg's description of the file (streams, duration, metadata) after a full decode."""
    from talker.media import ffmpeg

    proc = ffmpeg.run(["-i", str(path), "-f", "null", "-"], timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]
    return proc.stderr.decode("utf-8", "replace")


def assert_playable(path: str | Path, min_seconds: float = 0.5) -> str:
    info = probe_mp4(path)
    assert "Video: h264" in info and "Audio: aac" in info, info
    assert "AI-generated with talker" in info  # the disclosure travels in the container
    import re

    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()
    assert int(h) * 3600 + int(m) * 60 + float(s) >= min_seconds
    return info


@pytest.fixture(scope="session", name="server")
def server_fixture(tmp_path_factory):
    """One app for the API and browser tests (the queue tests start their own, differently sized)."""
    srv = AppServer(tmp_path_factory.mktemp("app"), "--queue-size", "8")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def test_api_lists_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/generate", "/generate_from_audio", "/transcribe_reference", "/add_template", "/delete_template",
            "/list_templates", "/preview_voice", "/dub"} <= names


def test_generate_from_template_text(client):
    t = time.perf_counter()
    _live, video, audio, curves, mel, details, summary = client.predict(
        *generate_args("Hello! This is the web app speaking for a test."), api_name="/generate")
    took = time.perf_counter() - t
    assert_playable(video, 1.0)
    from PIL import Image

    assert Image.open(curves).size[0] > 400 and Image.open(mel).size[0] > 400
    assert Path(audio).stat().st_size > 10_000
    assert summary["engine"]["device"] in ("cpu", "cuda") and "speech" in summary["timings"]
    assert summary["engine"]["mode"] == "offline" and "Engine: **offline**" in details
    assert "video" not in summary  # no server paths in the answer
    assert "| speech |" in details
    assert "af_heart" in summary["engine"]["speech"]  # the photo template's own voice: a woman's
    print(f"text→video via API: {took:.1f} s for {summary['duration']:.1f} s of video; timings {summary['timings']}")


def test_voice_picker_previews_a_voice_and_generates_with_it(client):
    """Any installed voice can be heard before generating (the preview is made once, then kept) and
    then chosen; an unknown name gets the list of voices, not a trace."""
    import wave

    from gradio_client.exceptions import AppError

    from talker.speech.kokoro_backend import KokoroBackend

    voice = "zf_xiaobei" if KokoroBackend().available() else "joe"
    t = time.perf_counter()
    first = client.predict(voice, api_name="/preview_voice")
    made = time.perf_counter() - t
    with wave.open(first) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 1.5 < seconds < 8.0
    t = time.perf_counter()
    again = client.predict(voice, api_name="/preview_voice")
    assert Path(again).read_bytes() == Path(first).read_bytes()
    print(f"preview of {voice}: made in {made:.2f} s, {seconds:.1f} s long; again in {time.perf_counter() - t:.2f} s")
    with pytest.raises(AppError, match="not in the list of choices|Unknown voice") as e:
        client.predict("../../etc/passwd", api_name="/preview_voice")
    assert "Traceback" not in str(e.value) and "joe" in str(e.value)  # the voices there are
    *_, summary = client.predict(*generate_args("Hello there.", voice="joe"), api_name="/generate")
    assert "joe" in summary["engine"]["speech"]
    assert not any("no voice of its own" in w for w in summary["warnings"])


def test_mandarin_example_on_a_video_template_runs_offline(client):
    """The examples table's Mandarin row on a clip template: a Mandarin voice of the person's sex
    (Kokoro where installed), a playable video, Mandarin heard back."""
    from talker.app.ui import EXAMPLES
    from talker.templates import store

    assert all(store.get_template(row[0]) for row in EXAMPLES)
    template, text, language = next(r for r in EXAMPLES if r[0] != "astronaut" and not r[1].isascii())
    assert store.get_template(template).kind == "video"
    _live, video, *_rest, summary = client.predict(template, None, "", text, language, 1.0, 32, 2.0, 0, "512", OFFLINE, True,
                                            "auto", api_name="/generate")
    assert_playable(video, 2.0)
    assert summary["language"] == "zh"
    from talker.speech.kokoro_backend import KokoroBackend

    if KokoroBackend().available() or os.environ.get("CI"):  # CI installs it: a man's Mandarin voice
        assert summary["engine"]["speech"].startswith("kokoro:zm_"), summary["engine"]


def test_reference_upload_and_audio_endpoints_on_a_real_clip(client):
    from gradio_client import handle_file

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    transcript, sheet, summary = client.predict(handle_file(str(clip)), api_name="/transcribe_reference")
    assert summary["face_found"] and len(transcript.split()) >= 3
    assert "source" not in summary

    _live, video, *_rest, summary = client.predict(
        *generate_args("Thanks for watching.", reference=handle_file(str(clip))), api_name="/generate")
    assert_playable(video, 0.5)
    assert summary["engine"]["renderer"] != "photo"

    # the clip's own speech lip-synced onto the bundled photo template
    _live, video, audio, curves, mel, details, summary = client.predict(
        "astronaut", None, handle_file(str(clip)), "", "auto", 0, "512", False, api_name="/generate_from_audio")
    info = assert_playable(video, 3.0)
    assert "AI-generated" in info  # metadata disclosure stays even with the visible label off


def test_templates_add_list_delete(client):
    from gradio_client import handle_file

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    with pytest.raises(Exception, match="right to use"):
        client.predict(handle_file(str(clip)), "tmpl-test", "", "", "auto", "", "", False, api_name="/add_template")
    sheet, msg, *_lists, table = client.predict(handle_file(str(clip)), "tmpl-test", "Test", "", "auto", "", "",
                                                True, api_name="/add_template")
    from PIL import Image

    assert Image.open(sheet).size[0] >= 512 and "tmpl-test" in msg
    names = [row[0] for row in client.predict(api_name="/list_templates")["data"]]
    assert {"astronaut", "tmpl-test"} <= set(names)
    msg, *_ = client.predict("tmpl-test", api_name="/delete_template")
    assert "Deleted" in msg
    assert "tmpl-test" not in [row[0] for row in client.predict(api_name="/list_templates")["data"]]
    with pytest.raises(Exception, match="bundled"):
        client.predict("astronaut", api_name="/delete_template")


def test_errors_are_readable(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Type the text"):
        client.predict(*generate_args("   "), api_name="/generate")
    with pytest.raises(AppError, match="template") as e:
        client.predict(*generate_args("Hi there.", template="no-such-template"), api_name="/generate")
    assert "Traceback" not in str(e.value)
    with pytest.raises(AppError, match="nothing to say"):
        client.predict(*generate_args("🙂 🙂 🙂"), api_name="/generate")
    from talker.app.config import AppConfig

    over = "word " * (AppConfig().max_text_chars // 5 + 1)
    with pytest.raises(AppError, match="TALKER_MAX_TEXT_CHARS"):  # the message names the setting to change
        client.predict(*generate_args(over), api_name="/generate")


SECRET = "root:"  # first field of /etc/passwd's first line


@pytest.mark.parametrize("evil", ["/etc/passwd", "../../../../../../etc/passwd", "file:///etc/passwd"])
def test_no_file_outside_the_app_can_be_read(client, server, evil):
    """Every file parameter refuses server paths; the file route does not serve them either."""
    assert Path("/etc/passwd").read_text().startswith(SECRET)
    fd = {"path": evil, "meta": {"_type": "gradio.FileData"}, "orig_name": "passwd"}
    calls = [
        ("/generate", generate_args("Hello.", reference=fd)),
        ("/dub", dub_args(fd, text="Hello.", speech="Text")),
        ("/dub", dub_args(None, audio=fd)),
        ("/transcribe_reference", (fd,)),
        ("/generate_from_audio", ("astronaut", None, fd, "", "auto", 0, "512", True)),
        ("/generate_from_audio", ("astronaut", fd, None, "", "auto", 0, "512", True)),
        ("/add_template", (fd, "evil", "", "", "auto", "", "", True)),
    ]
    for api, args in calls:
        with pytest.raises(Exception) as e:  # noqa: B017 - any refusal will do, as long as nothing leaks
            client.predict(*args, api_name=api)
        assert SECRET not in str(e.value), api
    import urllib.error
    import urllib.parse

    for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
        for path in (evil, urllib.parse.quote(evil, safe="")):
            try:
                with urllib.request.urlopen(server.url + route + path, timeout=10) as r:
                    body = r.read(200).decode(errors="replace")
            except urllib.error.HTTPError as e:
                body = e.read(200).decode(errors="replace")
            assert SECRET not in body, route + path
    assert server.healthy()


def test_template_names_cannot_escape(client):
    from gradio_client.exceptions import AppError

    for name in ("../../etc", "/etc/passwd", "..", "astronaut/../../x"):
        with pytest.raises(AppError) as e:
            client.predict(*generate_args("Hi.", template=name), api_name="/generate")
        assert SECRET not in str(e.value)


def test_readme_client_example_runs(server):
    """The ten-line client example in the README works against the real app as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Web app and API", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 10
    code = code.replace('"http://127.0.0.1:7860/"', repr(server.url))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert_playable(scope["video"], 0.5)


def test_config_from_env_and_flags():
    from talker.app.config import AppConfig

    cfg = AppConfig.from_args(["--port", "9000", "--no-label", "--queue-size", "3"],
                              env={"TALKER_PORT": "8000", "TALKER_JOB_TIMEOUT": "12.5", "SPACE_ID": "x/y"})
    assert cfg.port == 9000 and cfg.label is False and cfg.queue_size == 3 and cfg.job_timeout == 12.5
    assert cfg.host == "0.0.0.0"


def test_label_is_small_and_visible():
    import numpy as np

    from talker.video.label import draw_label

    frame = np.full((512, 512, 3), 128, np.uint8)
    out = draw_label(frame)
    changed = np.argwhere((out != frame).any(axis=2))
    assert changed.size and changed[:, 0].min() > 512 * 0.8 and changed[:, 1].min() > 512 * 0.5
    assert (frame == 128).all()  # the input frame is untouched


def test_mel_spectrogram_shape():
    import numpy as np

    from talker.app.jobs import mel_spectrogram

    sr = 24000
    t = np.arange(sr) / sr
    mel = mel_spectrogram(np.sin(2 * np.pi * 440 * t).astype(np.float32), sr)
    assert mel.shape[0] == 80 and 80 <= mel.shape[1] <= 100
    assert 5 < int(mel.mean(axis=1).argmax()) < 30  # 440 Hz sits low on the mel scale


def test_cli_generate_flags_come_from_generate_options():
    """``python -m talker generate``'s generation flags are GenerateOptions' fields, with its defaults."""
    from dataclasses import fields

    from talker.cli import build_parser, generate_options
    from talker.request import ENGINES, GenerateOptions

    def parse(*flags: str):
        return build_parser().parse_args(["generate", "--template", "t", "--text", "hi", "-o", "o.mp4", *flags])

    flagged = {f.metadata["flag"]: f.name for f in fields(GenerateOptions) if "flag" in f.metadata}
    assert flagged == {"--language": "language", "--speed": "speed", "--seed": "seed", "--crop": "crop",
                       "--no-voice-match": "voice_match", "--no-label": "label", "--engine": "engine",
                       "--nfe": "nfe_steps", "--cfg": "cfg_scale", "--voice": "voice", "--expression": "expression",
                       "--head-motion": "head_motion", "--mouth-opening": "mouth_opening", "--blink-rate": "blink_rate",
                       "--head-pitch": "head_pitch_deg", "--head-yaw": "head_yaw_deg"}
    assert generate_options(parse()) == GenerateOptions()
    opt = generate_options(parse("--language", "zh", "--speed", "1.2", "--seed", "3", "--crop", "--no-voice-match",
                                 "--no-label", "--engine", "neural", "--nfe", "8", "--cfg", "1.5", "--voice",
                                 "zm_yunjian"))
    assert opt == GenerateOptions(language="zh", speed=1.2, seed=3, crop=True, voice_match=False, label=False,
                                  engine="neural", nfe_steps=8, cfg_scale=1.5, voice="zm_yunjian")
    face = generate_options(parse("--head-motion", "0.5", "--blink-rate", "2", "--head-yaw", "-10"))
    assert (face.controls().head_motion, face.controls().blink_rate, face.controls().head_yaw_deg) == (0.5, 2.0, -10.0)
    assert [generate_options(parse("--engine", e)).engine for e in ENGINES] == list(ENGINES)
    with pytest.raises(SystemExit):
        parse("--engine", "bogus")


def test_page_defaults_come_from_generate_options(tmp_path, monkeypatch):
    """The Text and Audio tabs' controls start at GenerateOptions' defaults (the Dub tab's at DubOptions');
    the Text and Audio tabs have their template picker."""
    from talker.app.config import AppConfig
    from talker.app.ui import build_app
    from talker.request import DubOptions, GenerateOptions

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # the app sets it; restored after the test

    class NoRunner:
        def start(self) -> None:
            raise AssertionError("no worker without warm-up")

    demo = build_app(AppConfig(work_dir=str(tmp_path / "work"), warmup=False), NoRunner())
    comps = demo.get_config_file()["components"]
    value = {c["props"].get("label"): c["props"].get("value") for c in comps if c["type"] in ("slider", "number")}
    d = GenerateOptions()
    from talker.app.ui import FACE_CONTROLS

    face = {label: getattr(d, name) for name, label, *_ in FACE_CONTROLS}
    assert value == {"Speaking speed": d.speed, "Seed": d.seed, "Steps (NFE, neural engine)": d.nfe_steps,
                     "Guidance (neural engine)": d.cfg_scale, **face,
                     "Speaking speed (text)": DubOptions().speed}  # the Dub tab's own; its seed and mouth: above
    assert DubOptions().mouth_opening == d.mouth_opening and DubOptions().seed == d.seed
    assert set(face.values()) == {1.0, 0.0}  # the face controls start at the reference's own style
    seeds = [c["props"]["value"] for c in comps if c["type"] == "number" and c["props"].get("label") == "Seed"]
    assert seeds == [d.seed, d.seed, DubOptions().seed]  # Text, Audio and Dub tabs
    galleries = [c["props"] for c in comps if c["type"] == "gallery"]
    assert len(galleries) == 2 and galleries[0].get("elem_id") == "tpl-gallery" and galleries[1].get("elem_id") is None


LONG_TEXT = " ".join(f"Sentence number {i} is here to make the video long enough to need several pieces."
                     for i in range(30))


def test_video_plays_in_pieces_and_a_cancelled_job_frees_the_worker(client, server):
    """The live player gets its first piece long before the job is done; cancelling the job stops
    it (the next job starts at once) and removes its files."""
    from gradio_client.utils import Status

    outputs = server.work / "outputs"
    earlier = {d.name for d in outputs.iterdir()} if outputs.exists() else set()
    t = time.perf_counter()
    job = client.submit(*generate_args(LONG_TEXT), api_name="/generate")
    while not job.outputs() and not job.done() and time.perf_counter() - t < 120:
        time.sleep(0.1)
    first = time.perf_counter() - t
    outs = job.outputs()
    assert outs and not job.done(), job.status()
    assert str(outs[0][0]).endswith(".m3u8")  # an HLS playlist the page's player follows
    (mine,) = [d for d in outputs.iterdir() if d.name not in earlier]
    job.cancel()
    deadline = time.monotonic() + 30
    while job.status().code != Status.CANCELLED and time.monotonic() < deadline:
        time.sleep(0.2)
    # the long job is ~190 s of video (~2 minutes of work); the worker is free again long before
    t = time.perf_counter()
    _live, video, *_ = client.predict(*generate_args("Short one."), api_name="/generate")
    after_cancel = time.perf_counter() - t
    assert_playable(video, 0.5)
    assert after_cancel < 45, f"the next job waited {after_cancel:.0f} s: the cancelled one kept running"
    leftovers = list(mine.rglob("*"))
    assert not leftovers, leftovers  # no segments, no partial mp4, no temporary folder
    print(f"\nfirst piece on the API after {first:.1f} s; a job after a cancel took {after_cancel:.1f} s")


def decoded_frames(path: str | Path) -> int:
    """Frames ffmpeg decodes from the file (not what its header claims)."""
    import re

    return int(re.findall(r"frame=\s*(\d+)", probe_mp4(path))[-1])


def test_dub_keeps_every_frame_and_the_size_of_the_video(client):
    """A real clip dubbed with a real recording through /dub: an mp4 of the clip's size and frame rate
    that holds every one of its frames in order. The recording (5.33 s) is a little longer than the clip
    (5.0 s), so the clip's last frames play on back and forth after them: exactly ``extended_frames``."""
    from gradio_client import handle_file

    from talker.media.probe import probe

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    t = time.perf_counter()
    video, details, summary = client.predict(*dub_args(handle_file(str(clip)), audio=handle_file(str(speech))),
                                             api_name="/dub")
    took = time.perf_counter() - t
    assert_playable(video, 5.0)  # h264 + aac, the AI-generated disclosure in the metadata
    src, out = probe(clip), probe(video)
    assert (out.width, out.height, out.fps) == (src.width, src.height, src.fps)
    source_frames = decoded_frames(clip)
    assert summary["source_frames"] == source_frames
    assert summary["extended_frames"] == summary["frames"] - source_frames > 0
    assert decoded_frames(video) == summary["frames"]
    # the new speech covers the whole output: each frame got the new mouth or, faceless, passed through
    assert summary["dubbed_frames"] + summary["passed_through"] == summary["frames"]
    assert summary["dubbed_frames"] >= 0.9 * summary["frames"]  # the man's face is there throughout
    assert "nature" in summary["text"].lower()  # the recording's words, recognised
    assert "video" not in summary  # no server paths in the answer
    assert f"All **{source_frames}** frames of the video kept" in details and "| source |" in details
    print(f"\ndub via API: {took:.1f} s for {summary['duration']:.1f} s of video; timings {summary['timings']}")


def test_dub_refuses_a_picture_as_the_video_readably(client, server):
    """A photo uploaded as the video to dub: one line that says what to do, no trace; the app goes on."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    photo = require_shared("fixtures/images/man_frontal.png")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    with pytest.raises(AppError, match="is a picture, not a video") as e:
        client.predict(*dub_args(handle_file(str(photo)), audio=handle_file(str(speech))), api_name="/dub")
    assert "Audio → video" in str(e.value) and "Traceback" not in str(e.value)
    assert server.healthy()


def test_dub_over_the_app_limit_names_the_setting(tmp_path, monkeypatch):
    """A video longer than TALKER_MAX_DUB_SECONDS is refused before any work, naming the setting."""
    import shutil

    import gradio as gr

    from talker.app.config import AppConfig
    from talker.app.ui import App, Handlers

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # the app sets it; restored after the test

    class NoRunner:
        def run(self, *args, **kwargs):
            raise AssertionError("a refused upload must not reach the worker")

    cfg = AppConfig.from_env({"TALKER_MAX_DUB_SECONDS": "2"})
    cfg.work_dir, cfg.warmup = str(tmp_path / "work"), False
    h = Handlers(App(cfg, NoRunner()))
    upload = cfg.uploads_path / "clip.mp4"  # where Gradio's own upload would have put it
    shutil.copyfile(clip, upload)
    with pytest.raises(gr.Error, match="TALKER_MAX_DUB_SECONDS") as e:
        next(h.dub(str(upload), "Text", None, "", "Hello there.", "auto", "cut", 0, True))
    assert "5 s long; the limit here is 2 s" in str(e.value)
