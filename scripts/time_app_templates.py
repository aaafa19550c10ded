"""Time from click to video in the running web app, per bundled template (warm worker).

Starts ``app.py`` on a free local port, makes one warm-up request, then asks ``/generate`` for each
template through the Gradio client, as the page does, and prints seconds per template.

Usage: .venv/bin/python scripts/time_app_templates.py [--text "..."] [--repeat 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXT = "Printing, in the only sense with which we are at present concerned, differs from most arts."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", default=TEXT)
    ap.add_argument("--repeat", type=int, default=3, help="requests per template; the median is printed")
    args = ap.parse_args()
    from gradio_client import Client

    from talker.paths import DEFAULT_TEMPLATES_DIR
    from talker.templates.store import list_templates

    port = free_port()
    work = tempfile.mkdtemp(prefix="talker-time-")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--work-dir", work], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):
            try:
                client = Client(url, verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        else:
            raise SystemExit("the app did not start")

        def click(template: str) -> float:
            t = time.perf_counter()
            client.predict(template, None, "", args.text, "auto", 1.0, 32, 2.0, 0, "720",
                           "offline (visemes + renderer)", True, api_name="/generate")
            return time.perf_counter() - t

        click("astronaut")  # warm-up: the voice worker and models
        print(f"{'template':24s} {'seconds (median of ' + str(args.repeat) + ')':>24s}")
        for t in list_templates(DEFAULT_TEMPLATES_DIR):
            times = [click(t.name) for _ in range(args.repeat)]
            print(f"{t.name:24s} {statistics.median(times):24.2f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
