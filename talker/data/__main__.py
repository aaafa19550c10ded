"""``python -m talker.data prepare VIDEO_DIR OUT_DIR`` and ``python -m talker.data stats OUT_DIR``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m talker.data", description="Prepare training shards.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="analyse a folder of talking-face clips and write shards + index.json")
    p.add_argument("video_dir")
    p.add_argument("out_dir")
    p.add_argument("--max-clips", type=int, default=None)
    p.add_argument("--min-seconds", type=float, default=2.0, help="shortest clip (and segment) kept")
    p.add_argument("--segment-seconds", type=float, default=12.0, help="cut longer clips at pauses")
    p.add_argument("--holdout", action="append", default=[], metavar="PATH",
                   help="clip or folder whose content must never enter the shards (repeatable)")
    p.add_argument("--face-model", default=None, help="face_landmarker.task (default: ../shared/models if present)")
    s = sub.add_parser("stats", help="print the summary of a prepared folder")
    s.add_argument("out_dir")
    args = ap.parse_args(argv)

    from .shards import load_index, prepare

    if args.cmd == "prepare":
        try:
            index = prepare(args.video_dir, args.out_dir, max_clips=args.max_clips, min_seconds=args.min_seconds,
                            segment_seconds=args.segment_seconds, holdout=args.holdout, face_model=args.face_model)
        except (RuntimeError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        index = load_index(args.out_dir)
    st = index["stats"]
    print(f"{st['clips']} clips, {st['segments']} segments, {st['minutes']:.2f} min, {st['speakers']} speakers; "
          f"by language (s): {json.dumps(st['seconds_by_language'])}; held out {len(index['held_out'])}, "
          f"skipped {len(index['skipped'])}")
    for sk in index["skipped"]:
        print(f"  skipped {sk['clip']}: {sk['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
