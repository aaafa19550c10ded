"""Command line: ``python -m talker <group> <command> ...`` over ``TalkerPipeline``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import fields
from pathlib import Path

from .errors import TalkerError


def _pipeline(args):
    from .pipeline import PipelineConfig, TalkerPipeline
    from .reference.analysis import AnalysisConfig

    analysis = AnalysisConfig(
        tracker_backend=getattr(args, "tracker", "auto") or "auto",
        face_model=getattr(args, "face_model", None),
        use_cache=not getattr(args, "no_cache", False),
    )
    from .model.engine import NeuralConfig

    neural = NeuralConfig.from_env()
    if getattr(args, "checkpoint", None):
        neural.checkpoint = args.checkpoint
    if getattr(args, "f5_checkpoint", None):
        neural.f5_checkpoint = args.f5_checkpoint
    if getattr(args, "vocoder", None) is not None:
        neural.vocoder = args.vocoder or None
    return TalkerPipeline(PipelineConfig(templates_dir=getattr(args, "templates_dir", None), analysis=analysis,
                                         neural=neural))


def _add_analysis_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracker", choices=["auto", "landmarker", "face_mesh"], default="auto",
                   help="face tracker backend (auto: MediaPipe face_landmarker.task if found, else the bundled face mesh)")
    p.add_argument("--face-model", help="path to MediaPipe face_landmarker.task (or set TALKER_FACE_LANDMARKER)")
    p.add_argument("--no-cache", action="store_true", help="analyse again even if cached")


def _emit(result: dict, as_json: bool, width: int = 18) -> None:
    """A result as one JSON object, or as aligned ``key value`` lines for people."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            print(f"{k:{width}s} {v}")


def cmd_reference_analyze(args) -> int:
    feats = _pipeline(args).analyze(args.clip, transcript=args.transcript, language=args.language)
    _emit(feats.summary(), args.json)
    return 0


def cmd_reference_show(args) -> int:
    from .reference.show import show

    feats = _pipeline(args).analyze(args.clip, transcript=args.transcript)
    out = show(feats, args.clip, args.output)
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


def cmd_templates_list(args) -> int:
    tpls = _pipeline(args).templates()
    if args.json:
        print(json.dumps([t.to_json() | {"name": t.name} for t in tpls], ensure_ascii=False))
        return 0
    if not tpls:
        print("no templates")
    for t in tpls:
        print(f"{t.name:24s} {t.kind:6s} {t.language or '-':4s} {t.display_name}  — {t.transcript[:60]}")
    return 0


def cmd_templates_add(args) -> int:
    tpl, feats = _pipeline(args).add_template(
        args.clip, args.name, display_name=args.display_name, transcript=args.transcript,
        language=args.language, source=args.source or "", license=args.license or "",
        consent=args.consent or "", attribution=args.attribution or "", notes=args.notes or "",
        voices=_voice_pairs(args.voice), link=args.link, overwrite=args.overwrite,
    )
    print(f"added template '{tpl.name}' in {tpl.directory} ({feats.kind}, {feats.frames} frames)")
    for w in feats.warnings:
        print(f"warning: {w}")
    return 0


def _voice_pairs(pairs: list[str] | None) -> dict[str, str]:
    """["en=af_heart", "zh=zf_xiaoxiao"] → {"en": "af_heart", "zh": "zf_xiaoxiao"}."""
    out = {}
    for pair in pairs or []:
        lang, sep, voice = pair.partition("=")
        if not (sep and lang.strip() and voice.strip()):
            raise SystemExit(f"--voice takes LANGUAGE=VOICE (e.g. en=af_heart), not '{pair}'")
        out[lang.strip()] = voice.strip()
    return out


def cmd_templates_delete(args) -> int:
    _pipeline(args).delete_template(args.name)
    print(f"deleted template '{args.name}'")
    return 0


def _add_generation_opts(p: argparse.ArgumentParser) -> None:
    """One flag per ``GenerateOptions`` field that names one, so the CLI's defaults are the dataclass's."""
    from .request import GenerateOptions

    for f in fields(GenerateOptions):
        meta = dict(f.metadata)
        flag = meta.pop("flag", None)
        if flag is None:
            continue  # a limit the app sets (max_side…), not a CLI option
        if isinstance(f.default, bool):  # the flag flips the default: --crop, --no-label
            p.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", default=f.default,
                           **meta)
            continue
        # the metavar follows the flag (--nfe NFE), as argparse would name it without a dest
        metavar = None if "choices" in meta else flag.lstrip("-").replace("-", "_").upper()
        p.add_argument(flag, dest=f.name, type=str if f.default is None else type(f.default), default=f.default,
                       metavar=metavar, **meta)


def generate_options(args):
    """The ``GenerateOptions`` that ``_add_generation_opts``'s flags parsed into."""
    from .request import GenerateOptions

    return GenerateOptions(**{f.name: getattr(args, f.name) for f in fields(GenerateOptions) if "flag" in f.metadata})


def _read_text_file(path: str) -> str:
    """The text to speak from a UTF-8 file, or standard input for "-" (long texts do not fit a
    command line: the system refuses arguments over ~128 KB)."""
    from .errors import InputError

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read the text file '{Path(path).name}' ({e.strerror}).",
                         "Check the path, or pass the text with --text.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"The text file '{Path(path).name}' is not UTF-8 text.",
                         "Save it as UTF-8 (plain text) and try again.") from None


def cmd_generate(args) -> int:
    """Made piece by piece: the output is a fragmented mp4 that plays while it grows, and with
    ``--json`` each piece is announced as it is ready (one JSON object per line), then the summary."""
    pipe = _pipeline(args)
    text = _read_text_file(args.text_file) if args.text_file else args.text
    job = pipe.stream(args.output, template=args.template, reference=args.reference, text=text, audio=args.audio,
                      transcript=args.transcript, options=generate_options(args),
                      first_piece_seconds=args.first_piece_seconds, segments_dir=args.segments_dir)
    with job:  # Ctrl-C closes it: the work stops, temporary files and the partial output go
        for chunk in job:
            if args.json:
                event = chunk.event()
                if args.segments_dir is None:  # the piece's file goes once the next is made: name none
                    event.pop("segment")
                print(json.dumps(event, ensure_ascii=False), flush=True)
            elif chunk.pieces > 1:
                print(f"piece {chunk.index + 1}/{chunk.pieces}: {chunk.start:.1f}-{chunk.start + chunk.duration:.1f} s "
                      f"ready after {chunk.elapsed:.1f} s", flush=True)
    res = job.result
    if args.json:
        print(json.dumps({"event": "done", **res.summary()}, ensure_ascii=False))
    else:
        s = res.summary()
        print(f"wrote {s['video']}: {s['duration']} s, {s['frames']} frames at {s['fps']} fps, RTF {s['rtf']}")
        print("stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in s["timings"].items()))
        for w in res.warnings:
            print(f"note: {w}")
    return 0


def cmd_dub(args) -> int:
    """An existing video saying new words: every frame kept, only the mouth re-rendered."""
    from .request import DubOptions

    pipe = _pipeline(args)
    text = _read_text_file(args.text_file) if args.text_file else args.text
    opt = DubOptions(rest=args.rest, language=args.language, speed=args.speed, seed=args.seed, voice=args.voice,
                     voice_match=args.voice_match, label=args.label, mouth_opening=args.mouth_opening,
                     face=args.face)
    out = Path(args.output)
    try:
        res = pipe.dub(args.video, out, audio=args.audio, text=text, transcript=args.transcript, options=opt)
    except KeyboardInterrupt:
        out.with_name(out.stem + ".part.mp4").unlink(missing_ok=True)
        raise
    s = res.summary()
    if args.json:
        print(json.dumps({"event": "done", **s}, ensure_ascii=False))
    else:
        print(f"wrote {s['video']}: {s['duration']} s, {s['frames']} frames at {s['fps']} fps, RTF {s['rtf']}; "
              f"mouth re-rendered in {s['dubbed_frames']} frames, {s['passed_through']} passed through unchanged")
        print("stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in s["timings"].items()))
        for w in res.warnings:
            print(f"note: {w}")
    return 0


def _add_dub_cmd(groups) -> None:
    p = groups.add_parser("dub", help="an existing video saying new words (every frame kept, only the mouth changed)")
    p.add_argument("--video", required=True, help="the video to dub")
    _add_speech_args(p, "the new words, spoken by --voice", "the new speech")
    p.add_argument("--rest", choices=["cut", "keep"], default="cut",
                   help="new speech shorter than the video: cut the video there, or keep the rest with its own "
                        "sound (default: cut). Longer speech: the video plays on back and forth.")
    p.add_argument("--voice", default="auto", help="voice for --text (python -m talker voices list); auto: one of "
                   "the video's speaker's sex and pitch")
    p.add_argument("--language", default=None)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mouth-opening", type=float, default=1.0, help="mouth-opening scale, 0.5-1.5")
    p.add_argument("--face", choices=["largest", "left", "right"], default="largest",
                   help="the face to dub when the video shows several (default: the largest)")
    p.add_argument("--no-voice-match", dest="voice_match", action="store_false",
                   help="keep the stock voice as it is (no nudge toward the video's speaker)")
    p.add_argument("--no-label", dest="label", action="store_false", help="no visible AI-generated mark (metadata stays)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _add_analysis_opts(p)
    p.set_defaults(func=cmd_dub)


def cmd_eval(args) -> int:
    from .eval.report import evaluate

    res = evaluate(args.reference, args.video, args.text, pipeline=_pipeline(args), face_model=args.face_model)
    _emit(res, args.json, 28)
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    lengths = tuple(int(x) for x in args.lengths.split(","))
    from .templates.store import DEFAULT_TEMPLATE

    run_bench(template=None if args.reference else (args.template or DEFAULT_TEMPLATE), reference=args.reference,
              lengths=lengths, json_out=args.json_out, voices=not args.no_voices)
    return 0


def _add_reference_cmds(groups) -> None:
    ref = groups.add_parser("reference", help="analyse reference clips").add_subparsers(dest="cmd", required=True)
    p = ref.add_parser("analyze", help="turn a clip or photo into cached features")
    p.add_argument("clip")
    p.add_argument("--transcript", help="what is said in the clip (skips speech recognition)")
    p.add_argument("--language", help="language code of the speech, e.g. en, zh (default: detected)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_analysis_opts(p)
    p.set_defaults(func=cmd_reference_analyze)
    p = ref.add_parser("show", help="contact sheet and motion curves as PNGs")
    p.add_argument("clip")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--transcript")
    _add_analysis_opts(p)
    p.set_defaults(func=cmd_reference_show)


def _add_speech_args(p: argparse.ArgumentParser, text_help: str, audio_help: str) -> None:
    """What is said (--text, --text-file or --audio with its --transcript) and the output file."""
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help=text_help)
    what.add_argument("--text-file", help=f"read {text_help.split(',')[0]} from a UTF-8 file ('-': standard input)")
    what.add_argument("--audio", help=audio_help)
    p.add_argument("--transcript", help="words of --audio (skips speech recognition)")
    p.add_argument("-o", "--output", required=True, help="output .mp4")


def _add_generate_cmd(groups) -> None:
    p = groups.add_parser("generate", help="reference + text (or audio) → talking video")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--template", help="name of a template")
    src.add_argument("--reference", help="reference clip or photo")
    _add_speech_args(p, "what the person should say", "speech to lip-sync instead of text")
    _add_generation_opts(p)
    p.add_argument("--checkpoint", help="talker DiT checkpoint: folder, .safetensors or Hugging Face repo id")
    p.add_argument("--f5-checkpoint", help="F5-TTS checkpoint for voice cloning with the offline face motion")
    p.add_argument("--vocoder", help="Vocos folder or repo id ('' = the Griffin-Lim fallback)")
    p.add_argument("--templates-dir")
    p.add_argument("--first-piece-seconds", type=float, default=2.0, metavar="S",
                   help="make the first ~S seconds as a piece of their own, so the file starts playing soon "
                        "(0: pieces of equal length)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per line: an 'event': 'chunk' for each piece as it is ready, "
                        "then 'event': 'done' with the summary")
    p.add_argument("--segments-dir", metavar="DIR",
                   help="keep each piece as a playable MPEG-TS file in DIR (named in --json's chunk events); "
                        "without it a piece's file is removed once the next piece is made")
    _add_analysis_opts(p)
    p.set_defaults(func=cmd_generate)


def _add_eval_and_bench_cmds(groups) -> None:
    p = groups.add_parser("eval", help="measure a generated video against its reference")
    p.add_argument("--reference", required=True)
    p.add_argument("--video", required=True)
    p.add_argument("--text", help="the text the video was asked to say")
    p.add_argument("--json", action="store_true")
    _add_analysis_opts(p)
    p.set_defaults(func=cmd_eval)

    p = groups.add_parser("bench", help="real-time factor per stage (10 s and 60 s outputs)")
    p.add_argument("--template", default=None, help="template (default: the bundled default template)")
    p.add_argument("--reference", help="a reference clip instead of the template")
    p.add_argument("--no-voices", action="store_true", help="skip the speech stage's table of voices")
    p.add_argument("--lengths", default="10,60", help="output lengths in seconds, comma-separated")
    p.add_argument("--json-out")
    p.set_defaults(func=cmd_bench)


def _add_templates_cmds(groups) -> None:
    tpl = groups.add_parser("templates", help="manage templates").add_subparsers(dest="cmd", required=True)
    for sub in ("list", "add", "delete"):
        p = tpl.add_parser(sub)
        p.add_argument("--templates-dir", help="templates folder (default: $TALKER_TEMPLATES_DIR or the bundled ones)")
        if sub == "list":
            p.add_argument("--json", action="store_true")
            p.set_defaults(func=cmd_templates_list)
        elif sub == "add":
            p.add_argument("clip")
            p.add_argument("--name", required=True)
            p.add_argument("--display-name")
            p.add_argument("--transcript")
            p.add_argument("--language")
            p.add_argument("--source", help="where the media comes from")
            p.add_argument("--license", help="licence of the media")
            p.add_argument("--consent", help="consent note for the person shown")
            p.add_argument("--attribution", help="the attribution line the licence asks for (shown in the app)")
            p.add_argument("--notes", help="a usage note shown with the template")
            p.add_argument("--voice", action="append", metavar="LANG=VOICE",
                           help="the voice a photo speaks with in a language, e.g. en=af_heart (repeatable; "
                                "python -m talker voices list)")
            p.add_argument("--link", action="store_true", help="refer to the clip by absolute path instead of copying it")
            p.add_argument("--overwrite", action="store_true")
            _add_analysis_opts(p)
            p.set_defaults(func=cmd_templates_add)
        else:
            p.add_argument("name")
            p.set_defaults(func=cmd_templates_delete)


def cmd_voices_list(args) -> int:
    from .speech.base import list_voices

    voices = list_voices(args.language)
    if args.json:
        print(json.dumps([{"name": v.name, "language": v.language, "sex": v.sex, "accent": v.accent,
                           "backend": v.backend} for v in voices], ensure_ascii=False))
        return 0
    for v in voices:
        print(f"{v.name:14s} {v.language:3s} {v.accent or '-':3s} {v.sex:7s} {v.backend}")
    if not voices:
        print("no voices installed (run scripts/setup.sh)")
    return 0


def _add_voices_cmds(groups) -> None:
    voices = groups.add_parser("voices", help="the installed voices").add_subparsers(dest="cmd", required=True)
    p = voices.add_parser("list", help="every voice --voice accepts")
    p.add_argument("--language", help="only voices of this language (en, zh)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_voices_list)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m talker", description="Text-driven talking heads.")
    parser.add_argument("-v", "--verbose", action="store_true")
    groups = parser.add_subparsers(dest="group", required=True)
    _add_reference_cmds(groups)
    _add_generate_cmd(groups)
    _add_dub_cmd(groups)
    _add_eval_and_bench_cmds(groups)
    _add_templates_cmds(groups)
    _add_voices_cmds(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        return args.func(args)
    except TalkerError as e:
        if getattr(args, "json", False):
            print(json.dumps(e.to_dict(), ensure_ascii=False))
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
