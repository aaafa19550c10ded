"""``python -m talker bench``: real-time factor per stage, and how cost grows with length.

Generates ~10 s and ~60 s of talking video from a reference on this machine and prints, per
stage, seconds and RTF (seconds per second of output), with a baseline measured in the same
run: decoding the generated video and encoding it again, the cost of frames in and out that any
renderer pays. Then the speech stage alone for each kind of voice (Piper, Kokoro in English and
Mandarin), warm, with Piper as the baseline.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

SENTENCE = ("The quick brown fox jumps over the lazy dog, and then it keeps on running across the "
            "green hills until the evening sun goes down behind the old mill. ")


def _baseline(video: Path, out_dir: Path) -> float:
    """Decode the generated video and encode it again: the cost of frames in and frames out."""
    from .audio import SAMPLE_RATE
    from .media.decode import iter_frames, read_audio
    from .video.encode import mux

    t = time.perf_counter()
    audio = read_audio(video, SAMPLE_RATE)
    mux(iter_frames(video), audio, SAMPLE_RATE, out_dir / "baseline.mp4")
    return time.perf_counter() - t


ZH_SENTENCE = "今天的天气很好，我们一起去公园散步，然后在湖边的小店喝一杯茶。"
# the speech stage's voices: Piper (the baseline), Kokoro's automatic English and Mandarin voices
VOICES = (("joe", "en"), ("af_heart", "en"), ("am_michael", "en"), ("zf_xiaobei", "zh"))


def run_bench(template: str | None = "grid-s4-woman", reference: str | None = None, lengths=(10, 60),
              json_out: str | None = None, voices: bool = True) -> list[dict]:
    from .pipeline import TalkerPipeline

    pipe = TalkerPipeline()
    rows = []
    with tempfile.TemporaryDirectory(prefix="talker-bench-") as tmp:
        out_dir = Path(tmp)
        # warm-up: loads the voice, caches the reference, so the table shows steady-state costs
        pipe.generate(out_dir / "warm.mp4", template=template, reference=reference, text="Hello there.")
        for target in lengths:
            text = _text_for(target, "en")
            res = pipe.generate(out_dir / f"bench_{target}.mp4", template=template, reference=reference, text=text)
            size = _size(res.video)
            base = _baseline(res.video, out_dir)
            row = {"target_s": target, "duration": round(res.duration, 2), "size": f"{size[0]}x{size[1]}",
                   "baseline_s": round(base, 3), **{k: round(v, 3) for k, v in res.timings.items()}}
            rows.append(row)
    _print(rows)
    first = _first_chunk(pipe, [t for t in dict.fromkeys([template, SECOND_TEMPLATE]) if t] if template else [None],
                         reference)
    speech = _speech_stage() if voices else []
    if json_out:
        Path(json_out).write_text(json.dumps({"stages": rows, "first_chunk": first, "voices": speech}, indent=1))
    return rows


# the time-to-first-chunk table's second template: a photo (the default one is a video template)
SECOND_TEMPLATE = "astronaut"
FIRST_CHUNK_WORDS = 60


def _first_chunk(pipe, templates: list, reference, repeats: int = 3) -> list[dict]:
    """Seconds from the request to the first playable piece and to the complete file, for a
    60-word text, warm (every template generated once before), the median of ``repeats``. The
    baseline, measured in the same run, is the same request made as one piece (as before
    streaming: nothing plays until the whole file is written)."""
    import statistics

    from .streaming import FIRST_PIECE_SECONDS

    words = SENTENCE.split()
    text = " ".join((words * 3)[:FIRST_CHUNK_WORDS]) + "."
    rows = []
    with tempfile.TemporaryDirectory(prefix="talker-bench-first-") as tmp:
        for tpl in templates:
            ref = None if tpl else reference
            try:
                pipe.generate(Path(tmp) / "warm.mp4", template=tpl, reference=ref, text="Hello there.")
            except Exception as e:  # noqa: BLE001 - a template that is not installed is skipped, said why
                print(f"first chunk: skipped {tpl} ({e})")
                continue
            row: dict = {"template": tpl or Path(reference).name}
            for mode, first_s in (("one piece", 0.0), ("streamed", FIRST_PIECE_SECONDS)):
                firsts, totals = [], []
                for _ in range(repeats):
                    t = time.perf_counter()
                    job = pipe.stream(Path(tmp) / "first.mp4", template=tpl, reference=ref, text=text,
                                      first_piece_seconds=first_s)
                    chunk = next(iter(job))
                    firsts.append(chunk.elapsed)
                    res = job.run()
                    totals.append(time.perf_counter() - t)
                row[mode] = {"first_s": round(statistics.median(firsts), 3),
                             "total_s": round(statistics.median(totals), 3), "duration": round(res.duration, 2),
                             "pieces": chunk.pieces}
            rows.append(row)
    print(f"\ntime to the first playable piece, {FIRST_CHUNK_WORDS}-word text, warm, median of {repeats} "
          "(baseline: the same request as one piece)")
    print(f"{'template':22s}{'video s':>8s}{'one piece':>10s}{'streamed':>10s}{'×base':>7s}{'pieces':>7s}"
          f"{'file, one':>10s}{'file, str':>10s}")
    for r in rows:
        a, b = r["one piece"], r["streamed"]
        print(f"{r['template']:22s}{b['duration']:8.2f}{a['first_s']:10.2f}{b['first_s']:10.2f}"
              f"{b['first_s'] / max(a['first_s'], 1e-6):7.2f}{b['pieces']:7d}{a['total_s']:10.2f}{b['total_s']:10.2f}")
    return rows


def _speech_stage(seconds: float = 10.0, repeats: int = 2) -> list[dict]:
    """Each installed voice of ``VOICES`` speaking ~``seconds`` of text, warm (loaded by one short
    request first), the fastest of ``repeats``; the ratio is to Piper's RTF in the same run."""
    from .speech.base import list_voices, synthesize

    installed = {v.name for v in list_voices()}
    rows = []
    for voice, lang in VOICES:
        if voice not in installed:
            continue
        synthesize("你好。" if lang == "zh" else "Hello.", language=lang, voice=voice)
        text = _text_for(seconds, lang)
        best, dur = float("inf"), 0.0
        for _ in range(repeats):
            t = time.perf_counter()
            res = synthesize(text, language=lang, voice=voice, max_chars=50_000)
            best, dur = min(best, time.perf_counter() - t), res.duration
        rows.append({"voice": voice, "language": lang, "backend": res.backend.split(":")[0],
                     "audio_s": round(dur, 2), "seconds": round(best, 3), "rtf": round(best / dur, 3)})
    base = next((r["rtf"] for r in rows if r["backend"] == "piper"), None)
    print(f"\nspeech stage alone (warm, fastest of {repeats}):")
    print(f"{'voice':12s}{'lang':>5s}{'backend':>9s}{'audio s':>9s}{'sec':>8s}{'RTF':>7s}{'×piper':>8s}")
    for r in rows:
        ratio = f"{r['rtf'] / base:8.2f}" if base else f"{'—':>8s}"
        print(f"{r['voice']:12s}{r['language']:>5s}{r['backend']:>9s}{r['audio_s']:9.2f}{r['seconds']:8.2f}"
              f"{r['rtf']:7.3f}{ratio}")
    return rows


def _text_for(seconds: float, lang: str) -> str:
    if lang == "zh":  # about 4.5 characters a second
        n = int(seconds * 4.5)
        return (ZH_SENTENCE * (n // len(ZH_SENTENCE) + 1))[:n].rstrip("，") + "。"
    words = SENTENCE.split()
    n_words = int(seconds * 3.8)  # the stock voices speak about 3.8 words a second
    return " ".join((words * (n_words // len(words) + 1))[:n_words]) + "."


def _size(path: Path) -> tuple[int, int]:
    from .media.probe import probe

    info = probe(path)
    return info.width, info.height


def _print(rows: list[dict]) -> None:
    # speech runs in the background while the last piece renders: speech_wait is what it held up
    stages = ["reference", "speech", "speech_wait", "motion", "render", "encode", "total"]
    print(f"{'stage':10s}" + "".join(f"{str(r['target_s']) + ' s: sec':>14s}{'RTF':>7s}{'×base':>7s}" for r in rows))
    for st in stages + ["baseline_s"]:
        line = f"{st.replace('_s', ''):10s}"
        for r in rows:
            v = r.get(st, 0.0)
            line += f"{v:14.2f}{v / r['duration']:7.3f}{v / max(r['baseline_s'], 1e-6):7.2f}"
        print(line)
    print("(RTF: seconds per second of output video; ×base: relative to decoding + re-encoding the same video)")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        per_a = a["total"] / a["duration"]
        per_b = b["total"] / b["duration"]
        print(f"growth: {b['duration'] / a['duration']:.1f}× longer output took {b['total'] / a['total']:.2f}× the time "
              f"(per-second cost {per_b / per_a:.2f}× — 1.00 is linear)")
    for r in rows:
        print(f"{r['target_s']} s output: {r['duration']} s at {r['size']}")
