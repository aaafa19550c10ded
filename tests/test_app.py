"""The demo app starts offline with the bundled template and answers through its API."""

from __future__ import annotations

import json
import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    import os

    os.environ["TALKER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    from talker.app.ui import build_app

    demo = build_app()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_analyze_default_template_through_api(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    summary, sheet, curves, transcript = client.predict("astronaut", None, "", api_name="/analyze")
    data = json.loads(summary)
    assert data["kind"] == "image" and data["face_found"] and data["motion_shape"] == [1, 61]
    from PIL import Image

    assert Image.open(sheet).size[0] >= 256 and Image.open(curves).size[0] > 500


def test_api_error_is_readable(app_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="template"):
        client.predict("no-such-template", None, "", api_name="/analyze")
