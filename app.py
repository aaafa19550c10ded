"""Gradio demo: ``python app.py`` (also the Hugging Face Spaces entry point)."""

import argparse
import os

from talker.app.ui import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description="talker web demo")
    parser.add_argument("--host", default=os.environ.get("TALKER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TALKER_PORT", "7860")))
    parser.add_argument("--templates-dir", default=None, help="templates folder (or TALKER_TEMPLATES_DIR)")
    args = parser.parse_args()
    if args.templates_dir:
        os.environ["TALKER_TEMPLATES_DIR"] = args.templates_dir
    build_app().launch(server_name=args.host, server_port=args.port, show_error=False)


if __name__ == "__main__":
    main()
