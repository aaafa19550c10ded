"""Web demo and API: ``python app.py`` (also the Hugging Face Spaces / ModelScope entry point).

Settings come from ``TALKER_*`` environment variables and the flags below (``--help``).
"""

import logging
import sys

from talker.app.config import AppConfig


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = AppConfig.from_args(argv)
    from talker.app.ui import build_app, launch

    demo = build_app(cfg)
    launch(demo, cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
