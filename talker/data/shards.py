"""Training shards: one ``.safetensors`` per utterance plus an ``index.json`` that describes them all.

Why this layout: a shard is small and self-contained (log-mel, 25 fps motion, text ids), so a
dataset of any size is read lazily and a broken clip costs one file; the index carries what a
sampler needs without opening shards (frames, speaker, language) and the motion statistics
the model normalises with, computed once over the training set.

Long clips are cut at pauses between Whisper words so every segment keeps its own exact
transcript and batches stay short enough to pad cheaply.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio import SAMPLE_RATE
from ..model.config import HOP_LENGTH, N_MELS
from ..model.dit import mel_frames_for_video, motion_to_mel_rate
from ..model.text import PAD_ID, encode_batch, load_vocab
from ..motion.code import FPS
from ..text.metrics import join_words

INDEX_NAME = "index.json"
SHARD_DIR = "shards"
FORMAT = "talker-shards"
FORMAT_VERSION = 2  # 2: spaces between Latin-script words (v1 ran them together) and per-item word timings
VIDEO_FPS = FPS  # 25: an int, as the index's "motion_fps" has always recorded it
SAMPLES_PER_VIDEO_FRAME = SAMPLE_RATE // VIDEO_FPS  # 960
STD_FLOOR = 1e-2  # near-constant channels must not blow up to huge normalised values
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".m4v"}
_LANG_PREFIX = re.compile(r"^([a-z]{2})_")
_DURATION_SUFFIX = re.compile(r"_\d+(?:\.\d+)?s$")


# --------------------------------------------------------------------------- naming


def language_hint(name: str) -> str | None:
    """``en_`` / ``zh_`` / ``hi_`` … prefix of a file name; ``xx_`` (undetermined) gives None."""
    m = _LANG_PREFIX.match(Path(name).name)
    if not m or m.group(1) == "xx":
        return None
    return m.group(1)


def speaker_of(name: str) -> str:
    """Speaker id from a file name in a flat folder: the stem without a trailing duration (``_10s``)."""
    return _DURATION_SUFFIX.sub("", Path(name).stem)


def list_videos(folder: str | Path) -> list[Path]:
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS)


# --------------------------------------------------------------------------- segmentation


@dataclass
class Segment:
    start: int  # video frames
    end: int
    text: str
    words: list[list] = field(default_factory=list)  # [start_s, end_s, text], seconds from the segment start


def _inside(t, t0: float, t1: float) -> float:
    """Seconds from ``t0``, kept inside ``[t0, t1]``."""
    return round(min(max(float(t), t0), t1) - t0, 3)


def segment_words(words: list[dict], n_frames: int, max_seconds: float = 12.0,
                  min_seconds: float = 2.0, fps: float = VIDEO_FPS) -> list[Segment]:
    """Cut a clip at the widest pauses so no segment exceeds ``max_seconds`` (when pauses allow).

    A segment's text is the words whose centre falls inside it; cuts sit mid-pause so no
    word is split between two segments.
    """
    total = n_frames / fps
    words = [w for w in words if str(w.get("text", "")).strip()]
    if not words:
        return []
    cuts = [0.0]
    while total - cuts[-1] > max_seconds:
        start = cuts[-1]
        gaps = []
        for a, b in zip(words[:-1], words[1:], strict=True):
            mid = (float(a["end"]) + float(b["start"])) / 2
            if start + min_seconds <= mid <= start + max_seconds and total - mid >= min_seconds:
                gaps.append((float(b["start"]) - float(a["end"]), mid))
        late = [g for g in gaps if g[1] >= start + max_seconds / 2]
        pool = late or gaps
        if not pool:
            break
        cuts.append(max(pool)[1])
    cuts.append(total)
    segs = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        inside = [w for w in words if a <= (float(w["start"]) + float(w["end"])) / 2 < b]
        text = join_words([w["text"] for w in inside])
        fa, fb = int(round(a * fps)), min(n_frames, int(round(b * fps)))
        if text and fb > fa:
            t0, t1 = fa / fps, fb / fps
            timed = [[_inside(w["start"], t0, t1), _inside(w["end"], t0, t1), str(w["text"]).strip()] for w in inside]
            segs.append(Segment(fa, fb, re.sub(r"\s+", " ", text), timed))
    return segs


# --------------------------------------------------------------------------- writing


def _mel_of(audio: np.ndarray) -> torch.Tensor:
    from ..model.vocoder import mel_spectrogram

    return mel_spectrogram(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))).T.contiguous()


def write_shard(path: Path, mel: torch.Tensor, motion: np.ndarray, text: str) -> int:
    from safetensors.torch import save_file

    ids = encode_batch([text])[0]
    ids = ids[ids != PAD_ID]
    save_file({"mel": mel.float().contiguous(), "motion": torch.from_numpy(np.ascontiguousarray(motion, np.float32)),
               "text": ids.long().contiguous()}, str(path))
    return int(ids.numel())


def motion_stats(motions: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over all frames (float64 sums, std floored at ``STD_FLOOR``)."""
    allm = np.concatenate([m.astype(np.float64) for m in motions], axis=0)
    mean = allm.mean(axis=0)
    std = np.maximum(allm.std(axis=0), STD_FLOOR)
    return mean.astype(np.float32), std.astype(np.float32)


def prepare(video_dir: str | Path, out_dir: str | Path, *, max_clips: int | None = None, min_seconds: float = 2.0,
            segment_seconds: float = 12.0, holdout: list[str | Path] | None = None, face_model: str | None = None,
            log=print) -> dict:
    """Analyse every clip under ``video_dir`` (cached by content) and write shards + index."""
    from ..pipeline import PipelineConfig, TalkerPipeline
    from ..reference.analysis import AnalysisConfig

    out = Path(out_dir)
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    held_hashes = _held_out_hashes(holdout)
    if face_model is None:
        face_model = _default_face_model()
    # short_seconds = min_seconds: a training item is the clip's own speech, not padded to the
    # 3 s a reference is grown to
    pipe = TalkerPipeline(PipelineConfig(analysis=AnalysisConfig(min_seconds=min_seconds, short_seconds=min_seconds,
                                                                 face_model=face_model)))
    vocab = load_vocab()
    items, skipped, held = [], [], []
    motions = []
    videos = list_videos(video_dir)
    root = Path(video_dir)
    t0 = time.perf_counter()
    for k, vid in enumerate(videos):
        if max_clips is not None and len({it["clip"] for it in items}) >= max_clips:
            break
        rel = vid.relative_to(root)
        step = f"[{k + 1}/{len(videos)}] {rel}"
        found = _analyse_clip(pipe, vid, rel, held_hashes, held, skipped, step, segment_seconds, min_seconds, log)
        if found is None:
            continue
        feats, segs = found
        _write_clip_shards(out, vid, rel, feats, segs, vocab, items, motions)
        log(f"{step}: {feats.duration:.1f} s, {len(segs)} segment(s), "
            f"lang {feats.language or '?'}, {len(feats.transcript)} chars")
    if not items:
        raise RuntimeError(f"no usable clips under {video_dir} ({len(skipped)} skipped)")
    return _write_index(out, video_dir, vocab, motions, held, skipped, items, t0)


def _held_out_hashes(holdout: list[str | Path] | None) -> dict[str, str]:
    """Content hash -> file name of every held-out clip (a folder stands for the videos in it)."""
    from ..reference.cache import content_hash

    held_hashes: dict[str, str] = {}
    for h in holdout or []:
        for p in (list_videos(h) if Path(h).is_dir() else [Path(h)]):
            held_hashes[content_hash(p)] = p.name
    return held_hashes


def _default_face_model() -> str | None:
    """``shared/models/face_landmarker.task`` beside the project, when it is there."""
    default = Path(__file__).resolve().parents[3] / "shared" / "models" / "face_landmarker.task"
    return str(default) if default.is_file() else None


def _analyse_clip(pipe, vid: Path, rel: Path, held_hashes: dict[str, str], held: list[dict], skipped: list[dict],
                  step: str, segment_seconds: float, min_seconds: float, log):
    """``(features, segments)`` of one clip, or None when it is held out or unusable (noted in
    ``held`` / ``skipped``)."""
    from ..reference.cache import content_hash

    digest = content_hash(vid)
    if digest in held_hashes:
        held.append({"clip": str(rel), "same_as": held_hashes[digest]})
        log(f"{step}: held out (same content as {held_hashes[digest]})")
        return None
    try:
        feats = pipe.analyze(vid, language=language_hint(vid.name))
    except Exception as exc:  # noqa: BLE001 - one bad clip must not stop a dataset build
        skipped.append({"clip": str(rel), "reason": f"{type(exc).__name__}: {str(exc)[:160]}"})
        log(f"{step}: skipped ({skipped[-1]['reason']})")
        return None
    if feats.kind != "video" or feats.audio is None:
        skipped.append({"clip": str(rel), "reason": "no video or no audio"})
        return None
    segs = segment_words(feats.words, feats.frames, segment_seconds, min_seconds)
    if not segs and feats.transcript.strip():
        segs = [Segment(0, feats.frames, feats.transcript.strip())]
    if not segs:
        skipped.append({"clip": str(rel), "reason": "no transcript"})
        log(f"{step}: skipped (no transcript)")
        return None
    return feats, segs


def _write_clip_shards(out: Path, vid: Path, rel: Path, feats, segs: list[Segment], vocab, items: list[dict],
                       motions: list[np.ndarray]) -> None:
    """One shard per segment of a clip; its index entries go to ``items``, its usable motion to ``motions``."""
    # flat folder: one person per file; VoxCeleb/HDTF trees: the top folder is the person
    speaker = speaker_of(vid.name) if rel.parent == Path(".") else rel.parts[0]
    for j, seg in enumerate(segs):
        motion = feats.motion[seg.start:seg.end]
        audio = feats.audio[seg.start * SAMPLES_PER_VIDEO_FRAME: seg.end * SAMPLES_PER_VIDEO_FRAME]
        mel = _mel_of(audio)
        assert mel.shape[0] == mel_frames_for_video(motion.shape[0]), (mel.shape, motion.shape)
        sid = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', rel.with_suffix('').as_posix())}_{j:03d}"
        n_tok = write_shard(out / SHARD_DIR / f"{sid}.safetensors", mel, motion, seg.text)
        unknown = vocab.unknown(_tokens(seg.text))
        items.append({
            "id": sid, "file": f"{SHARD_DIR}/{sid}.safetensors", "clip": str(rel), "speaker": speaker,
            "language": feats.language or language_hint(vid.name) or "", "transcript": seg.text,
            "text_tokens": n_tok, "unknown_tokens": unknown, "mel_frames": int(mel.shape[0]),
            "motion_frames": int(motion.shape[0]), "seconds": round(motion.shape[0] / VIDEO_FPS, 3),
            "span_frames": [seg.start, seg.end], "words": seg.words, "face_ratio": round(float(feats.face_ratio), 4),
            "motion_valid": bool(feats.face_ratio >= 0.5),
        })
        if items[-1]["motion_valid"]:
            motions.append(motion)


def _write_index(out: Path, video_dir: str | Path, vocab, motions: list[np.ndarray], held: list[dict],
                 skipped: list[dict], items: list[dict], t0: float) -> dict:
    """Write ``index.json`` (with the training set's motion statistics) and return it."""
    mean, std = motion_stats(motions)
    index = {
        "format": FORMAT, "version": FORMAT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "source_dir": str(Path(video_dir).resolve()), "mel": {"sample_rate": SAMPLE_RATE, "hop": HOP_LENGTH, "bins": N_MELS},
        "motion_fps": VIDEO_FPS, "vocab": str(vocab.source), "vocab_size": len(vocab),
        "motion_mean": mean.tolist(), "motion_std": std.tolist(),
        "stats": summarize(items), "held_out": held, "skipped": skipped, "items": items,
        "prepare_seconds": round(time.perf_counter() - t0, 1),
    }
    (out / INDEX_NAME).write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return index


def _tokens(text: str) -> list[str]:
    from ..model.text import tokenize

    return tokenize(text)


def summarize(items: list[dict]) -> dict:
    secs = sum(it["seconds"] for it in items)
    langs: dict[str, float] = {}
    for it in items:
        langs[it["language"] or "?"] = round(langs.get(it["language"] or "?", 0.0) + it["seconds"], 2)
    return {"segments": len(items), "clips": len({it["clip"] for it in items}),
            "speakers": len({it["speaker"] for it in items}), "minutes": round(secs / 60, 2),
            "mel_frames": sum(it["mel_frames"] for it in items), "seconds_by_language": langs,
            "longest_seconds": max((it["seconds"] for it in items), default=0.0)}


# --------------------------------------------------------------------------- reading


def load_index(data_dir: str | Path) -> dict:
    path = Path(data_dir) / INDEX_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m talker.data prepare VIDEO_DIR {data_dir}` first")
    index = json.loads(path.read_text(encoding="utf-8"))
    if index.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} index")
    if index.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: {FORMAT} v{index.get('version')}, this version reads v{FORMAT_VERSION} "
                         f"(v1 ran English words together); prepare the shards again")
    return index


class ShardDataset(torch.utils.data.Dataset):
    """Items as dicts: ``mel`` (N, 100), ``motion`` (N, 61) raw at the mel rate, ``text`` ids, ``motion_valid``.

    Motion is resampled here (not at prepare time) so shards stay at the tracker's 25 fps and
    a later change of model frame rate needs no re-preparation.
    """

    def __init__(self, data_dir: str | Path, preload: bool = True, items: list[dict] | None = None,
                 vocab=None) -> None:
        self.root = Path(data_dir)
        self.index = load_index(self.root)
        self.items = list(self.index["items"] if items is None else items)
        self._cache: dict[int, dict] | None = {} if preload else None
        # Shards hold ids of the vocabulary they were prepared with (the bundled one). A model with
        # another vocabulary (F5-TTS's, when its weights start the training) must see its own ids,
        # so the transcripts are tokenised again with it.
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.items)

    @property
    def frames(self) -> list[int]:
        return [int(it["mel_frames"]) for it in self.items]

    def motion_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.tensor(self.index["motion_mean"], dtype=torch.float32),
                torch.tensor(self.index["motion_std"], dtype=torch.float32))

    def token_ids(self, item: dict) -> torch.Tensor:
        """The item's transcript as ids of ``self.vocab`` (or the bundled vocabulary)."""
        ids = encode_batch([item["transcript"]], self.vocab)[0]
        return ids[ids != PAD_ID].long()

    def unknown_tokens(self) -> dict[str, list[str]]:
        """Per item id, the tokens ``self.vocab`` does not know (they would be read as id 0)."""
        vocab = self.vocab or load_vocab()
        out = {}
        for it in self.items:
            unknown = vocab.unknown(_tokens(it["transcript"]))
            if unknown:
                out[it["id"]] = unknown
        return out

    def __getitem__(self, i: int) -> dict:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        from safetensors.torch import load_file

        it = self.items[i]
        t = load_file(str(self.root / it["file"]))
        mel = t["mel"].float()
        text = t["text"].long() if self.vocab is None else self.token_ids(it)
        item = {"mel": mel, "motion": motion_to_mel_rate(t["motion"].float(), mel.shape[0]), "text": text,
                "motion_valid": bool(it.get("motion_valid", True)), "id": it["id"]}
        if self._cache is not None:
            self._cache[i] = item
        return item


def collate(items: list[dict]) -> dict:
    """Pad to the longest item; text is padded with ``PAD_ID`` as the text embedding expects."""
    n = max(it["mel"].shape[0] for it in items)
    l_txt = max(1, max(it["text"].numel() for it in items))
    b = len(items)
    mel = torch.zeros(b, n, items[0]["mel"].shape[1])
    motion = torch.zeros(b, n, items[0]["motion"].shape[1])
    text = torch.full((b, l_txt), PAD_ID, dtype=torch.long)
    lens = torch.zeros(b, dtype=torch.long)
    for k, it in enumerate(items):
        m = it["mel"].shape[0]
        mel[k, :m] = it["mel"]
        motion[k, :m] = it["motion"]
        text[k, : it["text"].numel()] = it["text"]
        lens[k] = m
    return {"mel": mel, "motion": motion, "text": text, "lens": lens,
            "motion_valid": torch.tensor([it["motion_valid"] for it in items]), "ids": [it["id"] for it in items]}


@dataclass
class FrameBatchSampler:
    """Length-bucketed batches of at most ``batch_frames`` padded frames, reshuffled per epoch.

    Items are sorted by length and packed greedily so padding stays small; the batch order is
    a function of (seed, epoch) alone, which makes a resumed run see exactly the batches the
    uninterrupted one would. With several processes each takes every ``world``-th batch
    (truncated to equal counts so no rank waits on a missing step).
    """

    frames: list[int]
    batch_frames: int
    seed: int = 0
    rank: int = 0
    world: int = 1
    max_items: int = 64
    _batches: list[list[int]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        order = sorted(range(len(self.frames)), key=lambda i: (self.frames[i], i))
        batches, cur, longest = [], [], 0
        for i in order:
            f = self.frames[i]
            new_longest = max(longest, f)
            if cur and (new_longest * (len(cur) + 1) > self.batch_frames or len(cur) >= self.max_items):
                batches.append(cur)
                cur, new_longest = [], f
            cur.append(i)
            longest = new_longest
        if cur:
            batches.append(cur)
        self._batches = batches

    def epoch(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.seed * 1_000_003 + epoch)
        batches = [list(b) for b in self._batches]
        rng.shuffle(batches)
        per_rank = len(batches) // self.world if self.world > 1 else len(batches)
        mine = batches[self.rank::self.world][:per_rank]
        return mine

    def __len__(self) -> int:
        return len(self._batches) // self.world if self.world > 1 else len(self._batches)

    def iterate(self, start_step: int = 0) -> Iterator[tuple[int, int, list[int]]]:
        """Endless (step, epoch, indices) from global step ``start_step`` on."""
        per = max(1, len(self))
        step = start_step
        while True:
            epoch, pos = divmod(step, per)
            batches = self.epoch(epoch)
            for b in batches[pos:]:
                yield step, epoch, b
                step += 1


def split_train_val(items: list[dict], val_fraction: float = 0.0, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Hold out whole speakers (never segments of a training speaker) for validation."""
    if val_fraction <= 0:
        return list(items), []
    speakers = sorted({it["speaker"] for it in items})
    random.Random(seed).shuffle(speakers)
    n_val = max(1, int(math.ceil(len(speakers) * val_fraction)))
    val = set(speakers[:n_val])
    return [it for it in items if it["speaker"] not in val], [it for it in items if it["speaker"] in val]
