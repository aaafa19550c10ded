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
        e = {**os.environ, "TALKER_CACHE_DIR": str(tmp / "cache"), "TALKER_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
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


def generate_args(text: str, *, template: str = "astronaut", reference=None, size: str = "512", label: bool = True):
    return (template, reference, "", text, "auto", 1.0, 32, 2.0, 0, size, OFFLINE, label)


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
            "/list_templates"} <= names


def test_generate_from_template_text(client):
    t = time.perf_counter()
    video, audio, curves, mel, details, summary = client.predict(
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
    print(f"text→video via API: {took:.1f} s for {summary['duration']:.1f} s of video; timings {summary['timings']}")


def test_reference_upload_and_audio_endpoints_on_a_real_clip(client):
    from gradio_client import handle_file

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    transcript, sheet, summary = client.predict(handle_file(str(clip)), api_name="/transcribe_reference")
    assert summary["face_found"] and len(transcript.split()) >= 3
    assert "source" not in summary

    video, *_rest, summary = client.predict(*generate_args("Thanks for watching.", reference=handle_file(str(clip))),
                                            api_name="/generate")
    assert_playable(video, 0.5)
    assert summary["engine"]["renderer"] != "photo"

    # the clip's own speech lip-synced onto the bundled photo template
    video, audio, curves, mel, details, summary = client.predict(
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


SECRET = "root:"  # first field of /etc/passwd's first line


@pytest.mark.parametrize("evil", ["/etc/passwd", "../../../../../../etc/passwd", "file:///etc/passwd"])
def test_no_file_outside_the_app_can_be_read(client, server, evil):
    """Every file parameter refuses server paths; the file route does not serve them either."""
    assert Path("/etc/passwd").read_text().startswith(SECRET)
    fd = {"path": evil, "meta": {"_type": "gradio.FileData"}, "orig_name": "passwd"}
    calls = [
        ("/generate", generate_args("Hello.", reference=fd)),
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
                       "--nfe": "nfe_steps", "--cfg": "cfg_scale", "--voice": "voice"}
    assert generate_options(parse()) == GenerateOptions()
    opt = generate_options(parse("--language", "zh", "--speed", "1.2", "--seed", "3", "--crop", "--no-voice-match",
                                 "--no-label", "--engine", "neural", "--nfe", "8", "--cfg", "1.5", "--voice",
                                 "zm_yunjian"))
    assert opt == GenerateOptions(language="zh", speed=1.2, seed=3, crop=True, voice_match=False, label=False,
                                  engine="neural", nfe_steps=8, cfg_scale=1.5, voice="zm_yunjian")
    assert [generate_options(parse("--engine", e)).engine for e in ENGINES] == list(ENGINES)
    with pytest.raises(SystemExit):
        parse("--engine", "bogus")


def test_page_defaults_come_from_generate_options(tmp_path, monkeypatch):
    """The Text and Audio tabs' controls start at GenerateOptions' defaults; each tab has its template picker."""
    from talker.app.config import AppConfig
    from talker.app.ui import build_app
    from talker.request import GenerateOptions

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # the app sets it; restored after the test

    class NoRunner:
        def start(self) -> None:
            raise AssertionError("no worker without warm-up")

    demo = build_app(AppConfig(work_dir=str(tmp_path / "work"), warmup=False), NoRunner())
    comps = demo.get_config_file()["components"]
    value = {c["props"].get("label"): c["props"].get("value") for c in comps if c["type"] in ("slider", "number")}
    d = GenerateOptions()
    assert value == {"Speaking speed": d.speed, "Seed": d.seed, "Steps (NFE, neural engine)": d.nfe_steps,
                     "Guidance (neural engine)": d.cfg_scale}
    seeds = [c["props"]["value"] for c in comps if c["type"] == "number" and c["props"].get("label") == "Seed"]
    assert seeds == [d.seed, d.seed]  # Text and Audio tabs
    galleries = [c["props"] for c in comps if c["type"] == "gallery"]
    assert len(galleries) == 2 and galleries[0].get("elem_id") == "tpl-gallery" and galleries[1].get("elem_id") is None
