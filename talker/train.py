"""Training entry point: ``python -m talker.train --config NAME [--dry-run]``.

``--dry-run`` builds the model (on PyTorch's "meta" device, so even ``base`` costs no memory),
prints its parameter counts in total and per stream, and exits. The training loop itself is
not written yet (it needs the data preparation of issue #5).
"""

from __future__ import annotations

import argparse
import json
import sys

from .model.config import CONFIGS, get_config


def _parse_override(item: str) -> tuple[str, object]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"override must be key=value, got {item!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def describe(config_name: str, overrides: dict | None = None) -> dict:
    import torch

    from .model.dit import TalkerDiT

    cfg = get_config(config_name, **(overrides or {}))
    with torch.device("meta"):
        model = TalkerDiT(cfg)
    counts = model.parameter_counts()
    return {"config": cfg.name, "counts": counts, "audio_layers": cfg.audio_layers,
            "motion_layers": cfg.motion_layers, "joint_depth": cfg.joint_depth, "dim": cfg.dim,
            "text_num_embeds": cfg.text_num_embeds}


def _fmt(n: int) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e9 else f"{n / 1e6:.2f} M"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m talker.train", description="Train the audio-visual DiT.")
    ap.add_argument("--config", default="base", choices=sorted(CONFIGS))
    ap.add_argument("--set", dest="overrides", action="append", default=[], type=_parse_override,
                    metavar="KEY=VALUE", help="override a config field (repeatable)")
    ap.add_argument("--dry-run", action="store_true", help="build the model, print parameter counts, exit")
    ap.add_argument("--json", action="store_true", help="print the dry-run summary as JSON")
    args = ap.parse_args(argv)
    try:
        info = describe(args.config, dict(args.overrides))
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            c = info["counts"]
            print(f"config {info['config']}: dim {info['dim']}, {info['joint_depth']} joint blocks, "
                  f"audio {info['audio_layers']} layers, motion {info['motion_layers']} layers")
            print(f"  total   {c['total']:>12,d}  ({_fmt(c['total'])})")
            print(f"  audio   {c['audio']:>12,d}  ({_fmt(c['audio'])})")
            print(f"  motion  {c['motion']:>12,d}  ({_fmt(c['motion'])})")
            print(f"  shared  {c['shared']:>12,d}  ({_fmt(c['shared'])})  timestep embedding")
        return 0
    print("The training loop is not implemented yet (data preparation comes first); use --dry-run.",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
