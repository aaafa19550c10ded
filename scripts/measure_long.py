"""Measure issue #21's bars for long outputs ("any length, streamed").

For each mode (text, audio) an unmeasured 15 s warm-up (so that cold disk caches are not billed to
the baseline alone), a baseline output (``--baseline-minutes``, default 1) and a long output
(``--minutes``, default 30) are made with ``TalkerPipeline.stream``, each in a fresh child process
whose resident memory (the process and all its children, summed) is polled every 0.2 s. Then:

* memory: the long run's peak RSS <= 1.5 GB (10^9 bytes) and <= 1.2x the baseline's peak (the
  summed PSS, which counts a page shared between the process and its workers once, is shown too);
* cost: the long run's wall seconds per video second <= 1.1x the baseline's. Wall time is the
  generation's, from ``stream()`` to the result (model loading inside it included, the child's
  imports not); the cost after the first piece and the CPU seconds per video second are shown too
  (the CPU figure does not move when something else shares the machine);
* lip sync: the audio-visual offset (``talker.eval.lipsync.av_offset``, no alignment: the 'onset'
  feature) of 20 s windows at minutes 0, M//2 and M-1 (0, 15 and 29 for 30 minutes; start, middle and
  end for under 3 minutes), each within +-1 frame of the first window's. A window is the output's
  picture re-encoded from that frame (frame exact) with the same span of the output's soundtrack,
  tracked with ``talker.eval.mouth.track_video``;
* identity: dlib distance (``talker.eval.identity``) of 8 frames per minute (faces found by the
  tracker in image mode) to 8 of the reference's frames, per minute; spread (max - min) <= 0.05;
* head motion: std of the head rotation (degrees, mean over pitch/yaw/roll, from the result's
  motion codes) per minute; max/min <= 1.5 (a last minute under 30 s is left out of both);
* joins: at each frame where a new piece starts, the head-rotation step (degrees, L2 over
  pitch/yaw/roll of the motion codes) and the mean absolute difference of decoded frames (0-255),
  each the max over the three steps touching the join frame, <= the reference clip's own 95th
  percentile step (its analysed motion, its decoded frames). Shown for context: the output's own
  p95 away from joins, and the frame step at the encoder's other keyframes (every piece starts
  with one; a keyframe steps the picture's compression noise even where nothing moves).

The table of bars (measured value, limit, PASS/FAIL) is printed and, with every figure behind it,
written to OUT_DIR/results.json; the outputs (mp4, its text or wav, motion codes, run JSON) stay in
OUT_DIR. The exit status is 0 when every bar passes.

Usage: .venv/bin/python scripts/measure_long.py OUT_DIR [--minutes 30] [--baseline-minutes 1]
       [--modes text,audio] [--template NAME] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEMORY_MAX_BYTES = 1.5e9  # 1.5 GB (decimal)
MEMORY_RATIO_MAX = 1.2
COST_RATIO_MAX = 1.1
AV_TOLERANCE_FRAMES = 1
AV_WINDOW_SECONDS = 20.0
IDENTITY_SPREAD_MAX = 0.05  # dlib distance units; 0.6 is dlib's same-person threshold
HEAD_STD_RATIO_MAX = 1.5
IDENTITY_FRAMES_PER_MINUTE = 8
POLL_SECONDS = 0.2
CHARS_PER_SECOND = 17.0  # this script's text at speed 1 (measured: 868 characters spoke for 50.4 s)
WARMUP_MINUTES = 0.25
FIRST_PIECE_SECONDS = 2.0

# Varied English sentences (statements, questions, numbers, names, lists, short and long) for the
# long text; cycled in a different seeded order each round so no stretch repeats exactly.
SENTENCES = [
    "The morning train to the coast was late again, so we bought coffee and watched the rain.",
    "Have you ever wondered why bread smells so good when it comes out of the oven?",
    "Our library opens at nine on weekdays and at ten on Saturdays.",
    "She packed a map, two apples, a torch and a very old compass that still pointed north.",
    "Nobody expected the small team from the valley to win the final by three goals.",
    "Please remember to water the tomatoes before you leave for the weekend.",
    "The museum's new exhibition shows how people measured time before clocks were common.",
    "When the power went out, the whole street gathered outside to look at the stars.",
    "My grandfather built this table in nineteen seventy two, and it has never wobbled once.",
    "Could you tell me the quickest way to the harbour from here?",
    "Bees visit thousands of flowers every day, carrying pollen from one to the next.",
    "The report is due on Friday, but the figures from the northern office are still missing.",
    "A good soup needs patience, fresh herbs and a little more salt than you think.",
    "Despite the wind, the ferry left on time and reached the island before noon.",
    "I think the best part of the trip was the long walk through the pine forest.",
    "Mountains look close in clear air, yet the path to the top took us six hours.",
    "The children laughed when the puppy tried to catch its own tail.",
    "Our neighbours are painting their fence blue, which will brighten the whole lane.",
    "If you mix yellow and blue paint, you get green; add white and it turns pale.",
    "The old lighthouse has guided ships past these rocks for more than a century.",
    "Thank you all for coming tonight; it means a great deal to the whole village.",
    "He practised the piano every evening until the melody felt natural under his fingers.",
    "Why do cats always choose the one chair that someone else wants to sit on?",
    "The river rose quickly after the storm, and the bridge was closed for two days.",
    "At the market we found ripe peaches, fresh bread and a man selling handmade baskets.",
    "Learning a new language is easier when you read stories you actually enjoy.",
    "The recipe calls for three eggs, a cup of flour and a pinch of cinnamon.",
    "Our flight was cancelled, so we spent the night in a small hotel near the airport.",
    "The scientist explained that the ice cores hold air bubbles trapped thousands of years ago.",
    "It was quiet in the garden, except for a blackbird singing on the wall.",
    "Every spring the town holds a festival with music, dancing and far too much food.",
    "Remember that the meeting has moved from room four to the big hall upstairs.",
    "The detective noticed that the clock on the mantelpiece had stopped at a quarter past eight.",
    "Bicycles are the fastest way to get around the old city, with its narrow streets.",
    "The volunteers planted five hundred trees along the river bank last November.",
    "Is it true that octopuses can change both the colour and the texture of their skin?",
    "My sister writes songs about ordinary things, like buses, kettles and Monday mornings.",
    "The snow was so deep that the school closed, and everyone went sledging instead.",
    "A lighthouse keeper once told me that fog is quieter than any night.",
    "We need to finish the roof before winter, or the attic will fill with water.",
    "The orchestra tuned their instruments while the audience found their seats.",
    "Good maps show not only roads but also hills, rivers and the names of tiny villages.",
    "The baker starts work at four in the morning, long before the first customers arrive.",
    "After the lecture, several students stayed behind to ask about the final exam.",
    "The fox crossed the field at dusk, stopping now and then to listen.",
    "Some people prefer tea, some prefer coffee, and my uncle drinks hot water with lemon.",
    "The new bridge will carry trains, cars and bicycles across the bay by twenty thirty.",
    "I'm not sure the paint is dry yet, so please don't touch the door.",
    "The farmers hope for rain next week, because the wells are already low.",
    "Our guide pointed out a heron standing perfectly still in the shallow water.",
    "Write your name at the top of the page, then answer the questions in any order.",
    "The storm knocked down two old oaks, but nobody was hurt.",
    "The city council voted to turn the empty car park into a public garden.",
    "Her grandmother's letters, kept in a tin box, told the story of the whole family.",
    "How many stars can you count on a clear night far away from the city lights?",
    "Fresh fish arrives at the harbour every morning, and the restaurants buy it within the hour.",
    "The engineer checked every bolt twice before she signed the safety report.",
    "Thunder rolled over the hills while we waited in the barn for the rain to pass.",
    "It takes about eight minutes for sunlight to travel from the sun to the earth.",
    "The choir sang an old folk song that most of the audience knew by heart.",
]


# --------------------------------------------------------------------------- inputs


def build_text(chars: int, seed: int = 0) -> str:
    """Sentences from SENTENCES, in a new seeded order each round, in paragraphs, to ``chars``."""
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < chars:
        order = SENTENCES[:]
        rng.shuffle(order)
        for i, s in enumerate(order):
            if size >= chars:
                break
            sep = "\n\n" if out and i % 5 == 0 else (" " if out else "")
            out.append(sep + s)
            size += len(sep) + len(s)
    return "".join(out)


def speech_sources(shared: Path) -> list[Path]:
    """English recordings with speech: the fixtures' English audio and data/talking's English clips."""
    files = sorted((shared / "fixtures" / "audio").glob("en_*.wav"))
    files += sorted((shared / "data" / "talking").glob("en_*.mp4"))
    if not files:
        raise SystemExit(f"no English speech recordings found under {shared}")
    return files


def build_audio(shared: Path, seconds: float, dest: Path, gap: float = 0.4, seed: int = 0) -> float:
    """Real speech recordings, each levelled to the same RMS, with ``gap`` s of silence between
    them, cycled (in a new seeded order each round) to ``seconds``; a 16-bit mono WAV at ``dest``.
    Returns its duration."""
    import soundfile as sf

    from talker.audio import SAMPLE_RATE
    from talker.media.decode import read_audio

    clips = []
    for f in speech_sources(shared):
        a = read_audio(f, SAMPLE_RATE)
        rms = float(np.sqrt(np.mean(a.astype(np.float64) ** 2))) if a.size else 0.0
        if rms < 1e-4:
            continue
        clips.append(np.clip(a * (0.08 / rms), -0.99, 0.99).astype(np.float32))
    want = int(round(seconds * SAMPLE_RATE))
    silence = np.zeros(int(gap * SAMPLE_RATE), np.float32)
    rng = random.Random(seed)
    written = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(dest), "w", samplerate=SAMPLE_RATE, channels=1, subtype="PCM_16") as w:
        while written < want:
            order = list(range(len(clips)))
            rng.shuffle(order)
            for i in order:
                for part in (clips[i], silence):
                    take = part[: want - written]
                    w.write(take)
                    written += take.size
                    if written >= want:
                        break
                if written >= want:
                    break
    return written / SAMPLE_RATE


# --------------------------------------------------------------------------- one generation (child)


def run_one(args) -> None:
    """The child: one generation, its chunks, timings and motion codes written beside the mp4."""
    os.environ.setdefault("TALKER_FACE_LANDMARKER", str(Path(args.shared) / "models" / "face_landmarker.task"))
    t_proc = time.perf_counter()
    from talker.pipeline import TalkerPipeline
    from talker.request import GenerateOptions

    out = Path(args.out)
    pipe = TalkerPipeline()
    opt = GenerateOptions()
    if args.text_file:
        text = Path(args.text_file).read_text(encoding="utf-8")
        kw = {"text": text}
    else:
        kw = {"audio": args.audio}
    t0 = time.perf_counter()
    job = pipe.stream(out, template=args.template, options=opt, first_piece_seconds=FIRST_PIECE_SECONDS, **kw)
    chunks = []
    for ch in job:
        chunks.append({"index": ch.index, "start": ch.start, "duration": ch.duration, "frames": ch.frames,
                       "elapsed": round(ch.elapsed, 3), "pieces": ch.pieces, "chars": len(ch.text)})
        print(f"[{out.stem}] piece {ch.index + 1}/{ch.pieces} at {ch.start:7.1f} s, {ch.duration:5.1f} s, "
              f"ready after {ch.elapsed:7.1f} s", file=sys.stderr, flush=True)
    res = job.result
    gen_wall = time.perf_counter() - t0
    np.save(out.with_suffix(".motion.npy"), np.asarray(res.motion, np.float32))
    summary = res.summary()
    summary.pop("text", None)
    info = {"video": str(res.video), "frames": res.frames, "fps": res.fps, "duration": res.duration,
            "generation_wall_s": gen_wall, "child_setup_s": t0 - t_proc, "chunks": chunks,
            "summary": summary, "audio_samples": int(res.audio.size), "sample_rate": res.sample_rate}
    out.with_suffix(".run.json").write_text(json.dumps(info, indent=1))


# --------------------------------------------------------------------------- memory polling (parent)


def _tree(proc) -> list:
    import psutil

    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(proc) -> tuple[int, list]:
    """Summed RSS of ``proc`` and its descendants, and (pid, name, rss) of each."""
    import psutil

    total, each = 0, []
    for p in _tree(proc):
        try:
            rss = p.memory_info().rss
            each.append((p.pid, p.name(), rss))
            total += rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total, each


def tree_pss(proc) -> int:
    """Summed proportional set size (shared pages split between their users): context for the RSS sum,
    which counts a page shared by the process and its workers once per process."""
    import psutil

    total = 0
    for p in _tree(proc):
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, AttributeError):
            pass
    return total


def run_child(cmd: list[str]) -> dict:
    """Run ``cmd``: the peak summed RSS of it and its children (polled every POLL_SECONDS), the
    processes at that peak, the peak summed PSS (polled every 5th time), its wall and CPU seconds."""
    import resource

    import psutil

    load0 = os.getloadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=str(ROOT))
    proc = psutil.Process(child.pid)
    state = {"peak": 0, "at_peak": [], "pss": 0}
    trace = []
    stop = threading.Event()

    def poll():
        last_kept, k = -1e9, 0
        while not stop.is_set():
            rss, each = tree_rss(proc)
            if rss > state["peak"]:
                state["peak"], state["at_peak"] = rss, each
            if k % 5 == 0:
                state["pss"] = max(state["pss"], tree_pss(proc))
            k += 1
            now = time.perf_counter() - t0
            if now - last_kept >= 5.0:  # a coarse trace for the JSON
                trace.append((round(now, 1), rss))
                last_kept = now
            stop.wait(POLL_SECONDS)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    rc = child.wait()
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"returncode": rc, "peak_rss_bytes": state["peak"], "peak_pss_bytes": state["pss"],
            "processes_at_peak": [{"pid": p, "name": n, "rss_bytes": r} for p, n, r in state["at_peak"]],
            "process_wall_s": wall, "cpu_s": cpu, "loadavg_before": load0, "loadavg_after": os.getloadavg(),
            "rss_trace": trace}


# --------------------------------------------------------------------------- measures on an output


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else float("nan")


def rotation_steps_deg(motion: np.ndarray) -> np.ndarray:
    """|rot(t+1) - rot(t)| in degrees (L2 over pitch, yaw, roll), one per step t -> t+1."""
    from talker.motion.code import HEAD_ROTATION

    rot = np.degrees(np.asarray(motion, np.float64)[:, HEAD_ROTATION])
    return np.linalg.norm(np.diff(rot, axis=0), axis=1)


def frame_steps(path: Path, fps: float, *, start: float | None = None, duration: float | None = None,
                keep: set[int] | None = None) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Mean absolute difference (0-255) between consecutive decoded frames, one per step t -> t+1,
    and copies of the frames whose indices are in ``keep``."""
    import cv2

    from talker.media.decode import iter_frames

    keep = keep or set()
    steps, kept, prev = [], {}, None
    for i, f in enumerate(iter_frames(path, fps, start=start, duration=duration)):
        if prev is not None:
            steps.append(float(cv2.absdiff(f, prev).mean()))
        if i in keep:
            kept[i] = f.copy()
        prev = f
    return np.asarray(steps, np.float64), kept


def reference_measures(pipe, template: str) -> dict:
    from talker.eval.identity import embeddings

    tpl, feats = pipe.template(template)
    span = feats.span
    dur = span[1] - span[0] if span[1] > span[0] else None
    idx = sorted({int(round(i)) for i in np.linspace(0, feats.frames - 1, min(8, feats.frames))})
    steps, kept = frame_steps(Path(tpl.media_path), feats.fps, start=span[0], duration=dur, keep=set(idx))
    found = [i for i in idx if i in kept]
    emb = embeddings([kept[i] for i in found], feats.boxes[found])
    pose = rotation_steps_deg(feats.motion)
    head_std = float(np.degrees(feats.motion[:, _rot()].std(0)).mean())
    return {"media": str(tpl.media_path), "frames": feats.frames, "fps": feats.fps,
            "pose_step_p95_deg": _p95(pose), "frame_diff_p95": _p95(steps),
            "head_std_deg": head_std, "_embeddings": emb}


def _rot():
    from talker.motion.code import HEAD_ROTATION

    return HEAD_ROTATION


def cut_window(video: Path, start: float, seconds: float, dest: Path, fps: float, audio: np.ndarray,
               sample_rate: int) -> Path:
    """``seconds`` of ``video`` from ``start``: the picture re-encoded from that frame on (frame exact:
    a transcoding seek decodes up to ``start``), the sound the same span of ``audio`` (the whole
    output's soundtrack as ``talker.media.decode.read_audio`` reads it) as PCM. The sound is sliced
    from one decode of the whole file, not seeked: an AAC seek lands on 1,024-sample packets and
    moved a window's sound by up to a frame against the window at 0."""
    import imageio_ffmpeg

    a0 = int(round(start * sample_rate))
    clip = np.zeros(int(round(seconds * sample_rate)), np.float32)
    part = audio[a0:a0 + clip.size]
    clip[:part.size] = part
    raw = dest.with_suffix(".f32")
    clip.astype("<f4").tofile(raw)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
           "-ss", f"{start:.3f}", "-t", f"{seconds:.3f}", "-i", str(video),
           "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", str(raw),
           "-map", "0:v:0", "-map", "1:a:0", "-vf", f"fps={fps}:start_time=0",
           "-frames:v", str(int(round(seconds * fps))), "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(dest)]
    try:
        subprocess.run(cmd, check=True)
    finally:
        raw.unlink(missing_ok=True)
    return dest


def keyframes(video: Path, fps: float) -> list[int]:
    """Frame indices (on the constant-rate decode) of the video's keyframes: each piece starts with
    one, and the encoder puts more inside long pieces; a keyframe alone steps the picture a little
    (a new picture's compression noise), which tells codec steps from motion steps."""
    import re

    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-skip_frame", "nokey", "-i", str(video),
           "-an", "-vf", "showinfo", "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    return sorted({int(round(float(t) * fps)) for t in re.findall(r"pts_time:([0-9.]+)", err)})


def window_starts(duration: float, minutes: float) -> list[float]:
    """Window starts: minute 0, the middle minute and the last minute (0, 15, 29 for 30 minutes);
    for shorter outputs start, middle and end. Each kept inside the output."""
    last_ok = max(0.0, duration - AV_WINDOW_SECONDS)
    if minutes >= 3:
        starts = [0.0, float(int(minutes) // 2 * 60), float((int(round(minutes)) - 1) * 60)]
    else:
        starts = [0.0, duration / 2 - AV_WINDOW_SECONDS / 2, last_ok]
    return [round(min(max(s, 0.0), last_ok), 3) for s in starts]


def av_windows(video: Path, duration: float, minutes: float, fps: float, work: Path) -> list[dict]:
    from talker.audio import SAMPLE_RATE
    from talker.eval.lipsync import av_offset
    from talker.eval.mouth import track_video
    from talker.media.decode import read_audio

    audio = read_audio(video, SAMPLE_RATE)
    out = []
    for s in window_starts(duration, minutes):
        win = cut_window(video, s, AV_WINDOW_SECONDS, work / f"{video.stem}.win{int(s):05d}.mkv", fps, audio,
                         SAMPLE_RATE)
        vt = track_video(win, fps, sample_rate=SAMPLE_RATE, use_cache=False)
        off = av_offset(vt.mouth, vt.audio, SAMPLE_RATE, fps, alignment=None)
        out.append({"start_s": s, "frames": vt.frames, "face_ratio": round(float(vt.detected.mean()), 4),
                    **off.to_dict()})
        win.unlink(missing_ok=True)
    return out


def analyse(run: dict, ref: dict, minutes: float, work: Path, *, with_av: bool) -> dict:
    """Per-minute identity and head motion, the join steps and (``with_av``) the AV-offset windows."""
    from talker.eval.identity import embeddings, identity_distance
    from talker.tracking.tracker import track_frames

    video, fps = Path(run["video"]), float(run["fps"])
    motion = np.load(Path(run["out"]).with_suffix(".motion.npy"))
    n = motion.shape[0]
    per_min = int(round(60 * fps))
    n_min = max(1, int(np.ceil(n / per_min)))
    # identity frames: IDENTITY_FRAMES_PER_MINUTE evenly inside each minute
    sample = {}
    for m in range(n_min):
        a, b = m * per_min, min(n, (m + 1) * per_min)
        if b - a < per_min // 2 and m > 0:  # a short last minute joins the one before
            continue
        for i in np.linspace(a, b - 1, IDENTITY_FRAMES_PER_MINUTE + 2)[1:-1]:
            sample[int(round(i))] = m
    steps, kept = frame_steps(video, fps, keep=set(sample))
    idx = sorted(kept)
    tr = track_frames([kept[i] for i in idx], fps, image_mode=True, smooth=False, source_name=video.name)
    ident: dict[int, list] = {}
    for j, i in enumerate(idx):
        if tr.detected[j]:
            ident.setdefault(sample[i], []).append(j)
    identity = {}
    for m, js in sorted(ident.items()):
        e = embeddings([kept[idx[j]] for j in js], tr.boxes[js])
        identity[m] = round(identity_distance(e, ref["_embeddings"]), 4)
    # head-motion std per minute (degrees, mean over pitch/yaw/roll), from the result's codes
    rot = np.degrees(motion[:, _rot()].astype(np.float64))
    head = {}
    for m in range(n_min):
        a, b = m * per_min, min(n, (m + 1) * per_min)
        if b - a < per_min // 2 and m > 0:
            continue
        head[m] = round(float(rot[a:b].std(0).mean()), 4)
    # joins: the frame where each piece after the first starts
    joins, acc = [], 0
    for ch in run["chunks"][:-1]:
        acc += ch["frames"]
        joins.append(acc)
    pose = rotation_steps_deg(motion)  # pose[t]: step t -> t+1
    n_steps = min(pose.size, steps.size)
    near = np.zeros(n_steps, bool)
    join_rows = []
    for j in joins:
        lo, hi = max(0, j - 2), min(n_steps, j + 1)  # steps j-2->j-1, j-1->j, j->j+1
        near[max(0, j - 4):min(n_steps, j + 3)] = True
        if lo >= hi:
            continue
        join_rows.append({"frame": j, "pose_step_deg": round(float(pose[j - 1]), 4) if 0 < j <= pose.size else None,
                          "frame_diff": round(float(steps[j - 1]), 3) if 0 < j <= steps.size else None,
                          "pose_step_max_deg": round(float(pose[lo:hi].max()), 4),
                          "frame_diff_max": round(float(steps[lo:hi].max()), 3)})
    away = ~near
    keys = [k for k in keyframes(video, fps) if 0 < k <= n_steps and not near[k - 1]]
    key_steps = np.array([steps[k - 1] for k in keys])
    res = {
        "frames": n, "decoded_frame_steps": int(steps.size), "motion_frames": int(n),
        "identity_per_minute": identity, "head_std_deg_per_minute": head,
        "joins": join_rows,
        "join_pose_step_max_deg": max((r["pose_step_max_deg"] for r in join_rows), default=None),
        "join_frame_diff_max": max((r["frame_diff_max"] for r in join_rows), default=None),
        "pose_step_p95_away_deg": round(_p95(pose[:n_steps][away]), 4),
        "frame_diff_p95_away": round(_p95(steps[:n_steps][away]), 3),
        "keyframes_away_from_joins": len(keys),
        "frame_diff_at_keyframes_away_median": round(float(np.median(key_steps)), 3) if keys else None,
        "frame_diff_at_keyframes_away_max": round(float(key_steps.max()), 3) if keys else None,
    }
    if identity:
        v = list(identity.values())
        res["identity_spread"] = round(max(v) - min(v), 4)
    if head:
        v = list(head.values())
        res["head_std_spread_deg"] = round(max(v) - min(v), 4)
        res["head_std_ratio"] = round(max(v) / max(min(v), 1e-6), 4)
    if with_av:
        res["av_windows"] = av_windows(video, run["duration"], minutes, fps, work)
    return res


# --------------------------------------------------------------------------- bars and table


def bars(mode: str, base: dict, long: dict, ref: dict) -> list[tuple]:
    """(mode, bar, value, limit, pass) rows."""
    gb = 1e9
    rows = []
    pl, pb = long["peak_rss_bytes"], base["peak_rss_bytes"]
    rows.append((mode, "peak RSS (long)", f"{pl / gb:.3f} GB (PSS {long['peak_pss_bytes'] / gb:.3f} GB)", f"<= {MEMORY_MAX_BYTES / gb:.1f} GB",
                 pl <= MEMORY_MAX_BYTES))
    rows.append((mode, "peak RSS long / baseline", f"{pl / pb:.3f} ({pl / gb:.3f} / {pb / gb:.3f} GB)",
                 f"<= {MEMORY_RATIO_MAX}", pl / pb <= MEMORY_RATIO_MAX))
    cl, cb = long["cost_s_per_s"], base["cost_s_per_s"]
    rows.append((mode, "wall s per video s long / baseline", f"{cl / cb:.3f} ({cl:.3f} / {cb:.3f}; after the "
                 f"first piece {long['steady_cost_s_per_s']:.3f} / {base['steady_cost_s_per_s']:.3f}; CPU s/s "
                 f"{long['cpu_s_per_s']:.3f} / {base['cpu_s_per_s']:.3f})", f"<= {COST_RATIO_MAX}",
                 cl / cb <= COST_RATIO_MAX))
    a = long["analysis"]
    win = a.get("av_windows") or []
    if win:
        lags = [w["lag"] for w in win]
        dev = max(abs(x - lags[0]) for x in lags)
        where = ", ".join(f"{w['start_s'] / 60:.1f}m:{w['lag']:+d} (r {w['r']:.2f})" for w in win)
        rows.append((mode, "AV offset at start/middle/end (frames)", where,
                     f"each within +-{AV_TOLERANCE_FRAMES} of the first", dev <= AV_TOLERANCE_FRAMES))
    if "identity_spread" in a:
        v = a["identity_per_minute"]
        rows.append((mode, "identity distance per minute, spread", f"{a['identity_spread']:.4f} "
                     f"(min {min(v.values()):.3f}, max {max(v.values()):.3f})", f"<= {IDENTITY_SPREAD_MAX}",
                     a["identity_spread"] <= IDENTITY_SPREAD_MAX))
    if "head_std_ratio" in a:
        v = a["head_std_deg_per_minute"]
        rows.append((mode, "head-motion std per minute, max/min", f"{a['head_std_ratio']:.3f} "
                     f"(min {min(v.values()):.2f}, max {max(v.values()):.2f} deg)", f"<= {HEAD_STD_RATIO_MAX}",
                     a["head_std_ratio"] <= HEAD_STD_RATIO_MAX))
    jp, jf = a["join_pose_step_max_deg"], a["join_frame_diff_max"]
    n_j = len(a["joins"])
    if jp is not None:
        rows.append((mode, f"head-pose step at joins, max of {n_j} (deg)",
                     f"{jp:.3f} (output p95 away {a['pose_step_p95_away_deg']:.3f})",
                     f"<= ref p95 {ref['pose_step_p95_deg']:.3f}", jp <= ref["pose_step_p95_deg"]))
        kmed = a["frame_diff_at_keyframes_away_median"]
        rows.append((mode, f"frame difference at joins, max of {n_j}",
                     f"{jf:.2f} (output p95 away {a['frame_diff_p95_away']:.2f}"
                     + (f"; at other keyframes median {kmed:.2f}, max {a['frame_diff_at_keyframes_away_max']:.2f})"
                        if kmed is not None else ")"),
                     f"<= ref p95 {ref['frame_diff_p95']:.2f}", jf <= ref["frame_diff_p95"]))
    else:
        rows.append((mode, "joins", "none (one piece)", "-", True))
    return rows


def print_table(rows: list[tuple]) -> str:
    head = ("mode", "bar", "measured", "limit", "pass")
    cells = [head] + [(m, b, v, lim, "PASS" if ok else "FAIL") for m, b, v, lim, ok in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(5)]
    lines = []
    for k, c in enumerate(cells):
        lines.append(" | ".join(str(x).ljust(w) for x, w in zip(c, widths, strict=True)))
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


# --------------------------------------------------------------------------- main


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items() if not str(k).startswith("_")}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return o


def measure(args) -> int:
    os.environ.setdefault("TALKER_FACE_LANDMARKER", str(Path(args.shared) / "models" / "face_landmarker.task"))
    from talker.pipeline import TalkerPipeline

    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = out / "windows"
    work.mkdir(exist_ok=True)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = set(modes) - {"text", "audio"}
    if bad:
        raise SystemExit(f"unknown mode(s) {sorted(bad)}; use text, audio")
    pipe = TalkerPipeline()
    ref = reference_measures(pipe, args.template)
    print(f"reference {args.template}: pose step p95 {ref['pose_step_p95_deg']:.3f} deg, frame diff p95 "
          f"{ref['frame_diff_p95']:.2f}, head std {ref['head_std_deg']:.2f} deg", flush=True)
    results = {"template": args.template, "minutes": args.minutes, "baseline_minutes": args.baseline_minutes,
               "reference": ref, "runs": {}, "limits": {
                   "memory_max_bytes": MEMORY_MAX_BYTES, "memory_ratio_max": MEMORY_RATIO_MAX,
                   "cost_ratio_max": COST_RATIO_MAX, "av_tolerance_frames": AV_TOLERANCE_FRAMES,
                   "identity_spread_max": IDENTITY_SPREAD_MAX, "head_std_ratio_max": HEAD_STD_RATIO_MAX}}
    rows: list[tuple] = []

    def save():
        results["table"] = [{"mode": m, "bar": b, "measured": v, "limit": lim, "pass": bool(ok)}
                            for m, b, v, lim, ok in rows]
        (out / "results.json").write_text(json.dumps(_jsonable(results), indent=1))

    for mode in modes:
        per = {}
        rate = CHARS_PER_SECOND
        for tag, minutes in (("warmup", WARMUP_MINUTES), ("baseline", args.baseline_minutes), ("long", args.minutes)):
            # warm-up: a short unmeasured run, so the baseline does not pay for cold disk caches alone
            name = f"{mode}_{tag}_{minutes:g}min"
            mp4 = out / f"{name}.mp4"
            cmd = [sys.executable, str(Path(__file__).resolve()), "_one", "--out", str(mp4),
                   "--template", args.template, "--shared", str(args.shared)]
            if mode == "text":
                text = build_text(int(minutes * 60 * rate), seed=1 if tag == "warmup" else 0)
                tf = out / f"{name}.txt"
                tf.write_text(text, encoding="utf-8")
                cmd += ["--text-file", str(tf)]
                inp = {"chars": len(text), "text_file": str(tf)}
            else:
                wav = out / f"{name}.wav"
                secs = build_audio(Path(args.shared), minutes * 60, wav, seed=1 if tag == "warmup" else 0)
                cmd += ["--audio", str(wav)]
                inp = {"seconds": secs, "audio_file": str(wav)}
            print(f"== {name}: generating ({inp})", flush=True)
            mem = run_child(cmd)
            if mem["returncode"] != 0:
                print(f"!! {name} failed (exit {mem['returncode']})", flush=True)
                results["runs"][name] = {"input": inp, **mem, "error": "generation failed"}
                save()
                per = None
                break
            run = json.loads(mp4.with_suffix(".run.json").read_text())
            run.update(mem, input=inp, out=str(mp4))
            if mode == "text":  # the voice's real speaking rate sizes the next text
                rate = inp["chars"] / max(run["duration"], 1.0)
            if tag == "warmup":
                print(f"== {name}: warm-up done ({run['duration']:.1f} s in {run['process_wall_s']:.1f} s)", flush=True)
                for f in out.glob(f"{name}.*"):
                    f.unlink()
                continue
            run["cost_s_per_s"] = run["generation_wall_s"] / run["duration"]
            run["process_cost_s_per_s"] = run["process_wall_s"] / run["duration"]
            run["cpu_s_per_s"] = run["cpu_s"] / run["duration"]
            ch = run["chunks"]
            rest = run["duration"] - ch[0]["duration"]
            run["steady_cost_s_per_s"] = (ch[-1]["elapsed"] - ch[0]["elapsed"]) / rest if rest > 0 else run["cost_s_per_s"]
            print(f"== {name}: {run['duration']:.1f} s of video in {run['generation_wall_s']:.1f} s "
                  f"({run['cost_s_per_s']:.3f} s/s; process {run['process_wall_s']:.1f} s), "
                  f"peak RSS {run['peak_rss_bytes'] / 1e9:.3f} GB, {len(run['chunks'])} pieces; analysing",
                  flush=True)
            t = time.perf_counter()
            run["analysis"] = analyse(run, ref, minutes, work, with_av=True)
            run["analysis_s"] = round(time.perf_counter() - t, 1)
            results["runs"][name] = run
            per[tag] = run
            save()
        if per:
            rows += bars(mode, per["baseline"], per["long"], ref)
            save()
    print()
    results["table_text"] = print_table(rows) if rows else ""
    save()
    print(f"\nresults: {out / 'results.json'}")
    return 0 if rows and all(r[4] for r in rows) else 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from talker.templates.store import DEFAULT_TEMPLATE

    shared_default = str(ROOT.parent / "shared")
    if argv[:1] == ["_one"]:
        p = argparse.ArgumentParser(prog="measure_long.py _one")
        p.add_argument("--out", required=True)
        p.add_argument("--template", default=DEFAULT_TEMPLATE)
        p.add_argument("--shared", default=shared_default)
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--text-file")
        g.add_argument("--audio")
        run_one(p.parse_args(argv[1:]))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--minutes", type=float, default=30.0, help="length of the long outputs (default 30)")
    p.add_argument("--baseline-minutes", type=float, default=1.0, help="length of the baseline outputs (default 1)")
    p.add_argument("--modes", default="text,audio", help="comma-separated: text, audio (default both)")
    p.add_argument("--template", default=DEFAULT_TEMPLATE, help=f"template name (default {DEFAULT_TEMPLATE})")
    p.add_argument("--shared", default=shared_default, help="the shared data folder (default ../shared)")
    return measure(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
