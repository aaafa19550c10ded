"""Training data: shards prepared from real clips, their names, segments, batches and padding."""

from __future__ import annotations

import json

import pytest

from talker.data.shards import (
    STD_FLOOR,
    FrameBatchSampler,
    ShardDataset,
    collate,
    language_hint,
    segment_words,
    speaker_of,
)
from talker.model import mel_frames_for_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_names():
    assert language_hint("en_grid_man_denim_3s.mp4") == "en"
    assert language_hint("xx_woman_coat_outdoor_10s.mp4") is None
    assert language_hint("clip.mp4") is None
    assert speaker_of("en_man_obama_hdtf_16s.mp4") == "en_man_obama_hdtf"


def test_segment_words_cuts_at_pauses():
    # 20 words of 0.4 s each, 0.1 s apart, with a long pause after word 9 (4.9 .. 6.0 s); stripped,
    # as the reference analysis stores Whisper's words
    words, t = [], 0.0
    for i in range(20):
        words.append({"text": f"w{i}", "start": t, "end": t + 0.4})
        t += 0.5 + (1.0 if i == 9 else 0.0)
    segs = segment_words(words, int(round(t * 25)), max_seconds=6.0, min_seconds=1.0)
    assert len(segs) == 2
    assert segs[0].end == segs[1].start == round(5.45 * 25)  # mid-pause
    assert segs[0].text == " ".join(f"w{i}" for i in range(10))
    assert segs[1].text == " ".join(f"w{i}" for i in range(10, 20))
    # word timings travel with the segment, counted from its own start
    assert segs[0].words[0] == [0.0, 0.4, "w0"]
    assert segs[1].words[0] == [pytest.approx(6.0 - 5.44), pytest.approx(6.4 - 5.44), "w10"]
    assert segment_words([], 100) == []


def test_old_shards_ask_to_be_prepared_again(tmp_path):
    (tmp_path / "index.json").write_text(json.dumps({"format": "talker-shards", "version": 1, "items": []}))
    with pytest.raises(ValueError, match="prepare the shards again"):
        ShardDataset(tmp_path)


def test_prepare_real_clips(shards):
    out, index = shards
    st = index["stats"]
    assert st["clips"] == 3 and st["speakers"] == 3 and st["segments"] >= 3
    assert len(index["motion_mean"]) == len(index["motion_std"]) == 61
    assert min(index["motion_std"]) >= STD_FLOOR - 1e-9
    assert json.loads((out / "index.json").read_text())["stats"] == st
    ds = ShardDataset(out)
    for i, it in enumerate(ds.items):
        item = ds[i]
        assert it["transcript"].strip() and item["text"].numel() == it["text_tokens"] > 0
        assert item["mel"].shape == (mel_frames_for_video(it["motion_frames"]), 100)
        assert item["motion"].shape == (item["mel"].shape[0], 61)
        assert -12 < float(item["mel"].mean()) < 3  # a log-mel, not raw magnitudes
        assert it["language"] == "en"
        # words are separated (version 1 ran them together) and each has its time inside the item
        assert len(it["transcript"].split()) == len(it["words"]) >= 3
        assert all(0.0 <= a <= b <= it["seconds"] + 1e-6 for a, b, _ in it["words"])
        assert [w for _, _, w in it["words"]] == it["transcript"].split()


def test_batches_and_padding(shards):
    out, _ = shards
    ds = ShardDataset(out)
    budget = max(ds.frames) * 2
    sampler = FrameBatchSampler(ds.frames, budget, seed=3)
    seen = sorted(i for b in sampler.epoch(0) for i in b)
    assert seen == list(range(len(ds)))
    for b in sampler.epoch(0):
        assert max(ds.frames[i] for i in b) * len(b) <= budget
    assert sampler.epoch(1) == FrameBatchSampler(ds.frames, budget, seed=3).epoch(1)
    # resuming mid-run yields the same (step, batch) stream
    full = [x for _, x in zip(range(7), sampler.iterate(0), strict=False)]
    tail = [x for _, x in zip(range(4), sampler.iterate(3), strict=False)]
    assert full[3:] == tail
    batch = collate([ds[i] for i in range(len(ds))])
    n = max(ds.frames)
    assert batch["mel"].shape == (len(ds), n, 100) and batch["motion"].shape == (len(ds), n, 61)
    assert batch["lens"].tolist() == ds.frames
    for k, length in enumerate(ds.frames):
        assert float(batch["mel"][k, length:].abs().sum()) == 0.0
        assert (batch["text"][k] >= 0).sum() == ds[k]["text"].numel()
    # two processes split the batches between them, equally
    r0 = FrameBatchSampler(ds.frames, ds.frames[0] + 1, seed=0, rank=0, world=2).epoch(0)
    r1 = FrameBatchSampler(ds.frames, ds.frames[0] + 1, seed=0, rank=1, world=2).epoch(0)
    assert len(r0) == len(r1) and not set(map(tuple, r0)) & set(map(tuple, r1))
