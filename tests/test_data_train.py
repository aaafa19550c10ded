"""Training data and the training loop: shards from real clips, loss going down, exact resume, EMA, inference."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from talker.data.shards import (
    STD_FLOOR,
    FrameBatchSampler,
    ShardDataset,
    collate,
    language_hint,
    segment_words,
    speaker_of,
)
from talker.model import TalkerDiT, get_config, mel_frames_for_video
from talker.model.sampler import estimate_duration
from talker.text.metrics import join_words
from talker.train import EMA, compute_loss, lr_at, step_generator
from talker.train import main as train_main

from .conftest import require_shared

CLIPS = ["en_grid_man_denim_3s.mp4", "en_grid_woman_pinktop_3s.mp4", "en_lrs2_man_d_5s.mp4"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Several OpenMP threads on a loaded machine spin against each other (10x slower here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Shards of three short real clips (analyses are cached by content, so this is quick)."""
    src = require_shared("data/talking")
    face = require_shared("models/face_landmarker.task")
    videos = tmp_path_factory.mktemp("videos")
    for name in CLIPS:
        (videos / name).symlink_to(src / name)
    out = tmp_path_factory.mktemp("shards")
    from talker.data.shards import prepare

    index = prepare(videos, out, face_model=str(face), log=lambda *a: None)
    return out, index


# --------------------------------------------------------------------------- data


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


def test_join_words_spaces_latin_not_cjk():
    assert join_words(["Set", "white", "in", "Z3,", "no."]) == "Set white in Z3, no."
    assert join_words(["和", "家", "欢", "乐,", "吃", "饱"]) == "和家欢乐,吃饱"
    assert join_words(["我", "用", "Python", "写", "code"]) == "我用Python写code"
    assert join_words([" a ", "", "b"]) == "a b"


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


# --------------------------------------------------------------------------- optimisation pieces


def test_ema_math():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.9)
    expected = 0.0
    for n, value in enumerate([1.0, 2.0, 3.0, 4.0, 5.0] + [10.0] * 30):
        with torch.no_grad():
            model.weight.fill_(value)
        d = min(0.9, (1 + n) / (10 + n))
        assert ema.current_decay() == pytest.approx(d)
        ema.update(model)
        expected = d * expected + (1 - d) * value
        assert float(ema.model.weight) == pytest.approx(expected, rel=1e-6)
    state = ema.state_dict()
    other = EMA(torch.nn.Linear(1, 1, bias=False), decay=0.5)
    other.load_state_dict(state)
    assert other.updates == 35 and other.decay == 0.9 and float(other.model.weight) == pytest.approx(expected)
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_lr_schedule():
    assert lr_at(0, 1.0, 10, 100) == pytest.approx(0.1)
    assert lr_at(9, 1.0, 10, 100) == pytest.approx(1.0)
    assert lr_at(10, 1.0, 10, 100) == pytest.approx(1.0)
    assert lr_at(100, 1.0, 10, 100) == pytest.approx(0.1)
    vals = [lr_at(s, 1.0, 10, 100) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(vals, vals[1:], strict=False))


def _fixed_loss(model, batch, seeds=range(6)) -> float:
    model.eval()
    with torch.no_grad():
        return float(np.mean([float(compute_loss(model, batch, step_generator(123, s, 0, "cpu"))["loss"])
                              for s in seeds]))


def test_training_steps_reduce_loss(shards):
    out, _ = shards
    ds = ShardDataset(out)
    batch = collate([ds[i] for i in range(len(ds))])
    torch.manual_seed(0)
    model = TalkerDiT(get_config("tiny"))
    mean, std = ds.motion_stats()
    model.motion_mean.copy_(mean)
    model.motion_std.copy_(std)
    before = _fixed_loss(model, batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(30):
        model.train()
        res = compute_loss(model, batch, step_generator(0, step, 0, "cpu"))
        opt.zero_grad()
        res["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    after = _fixed_loss(model, batch)
    assert math.isfinite(after) and after < 0.8 * before, (before, after)


def _log(path) -> dict[int, float]:
    with open(path, newline="") as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f)}


def test_checkpoint_resume_is_exact(shards, tmp_path):
    data, _ = shards
    common = ["--config", "tiny", "--data", str(data), "--max-steps", "4", "--log-every", "1", "--lr", "1e-3",
              "--warmup", "2", "--batch-frames", "800", "--seed", "7", "--threads", "1", "--save-every", "2"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert train_main(common + ["--out", str(a)]) == 0
    assert train_main(common + ["--out", str(b), "--stop-after", "2"]) == 0
    assert (b / "checkpoints" / "latest").read_text().strip() == "step_0000002"
    assert train_main(common + ["--out", str(b), "--resume", "auto"]) == 0
    la, lb = _log(a / "log.csv"), _log(b / "log.csv")
    assert sorted(la) == sorted(lb) == [1, 2, 3, 4]
    for s in (3, 4):
        assert lb[s] == pytest.approx(la[s], rel=1e-5, abs=1e-6)
    from talker.model.checkpoint import load_model

    ma, mb = load_model(a / "checkpoints" / "step_0000004" / "ema"), load_model(b / "checkpoints" / "step_0000004" / "ema")
    for (k, va), vb in zip(ma.state_dict().items(), mb.state_dict().values(), strict=True):
        assert torch.allclose(va, vb, atol=1e-6), k
    assert (a / "loss.png").is_file()


def test_training_from_f5_weights_takes_their_vocabulary(shards, tmp_path, capsys, monkeypatch):
    """--init-f5: F5's token ids index its own vocab.txt, so the model takes that vocabulary, the
    shards' transcripts are tokenised again with it, and the checkpoints carry it (a run resumes
    and loads with the F5 folder gone)."""
    import shutil

    from safetensors.torch import save_file

    from talker.model.checkpoint import load_model
    from talker.model.f5_compat import export_f5_state
    from talker.model.text import load_vocab, tokenize

    data, index = shards
    bundled = load_vocab()
    f5_dir = tmp_path / "F5TTS_v1_Base"
    f5_dir.mkdir()
    # another vocabulary: the same tokens in another order, so every id but the space's differs
    (f5_dir / "vocab.txt").write_text("\n".join([" "] + bundled.tokens[:0:-1]) + "\n", encoding="utf-8")
    f5_vocab = load_vocab(f5_dir / "vocab.txt")
    torch.manual_seed(3)
    teacher = TalkerDiT(get_config("tiny", vocab=str(f5_dir / "vocab.txt"), text_num_embeds=len(f5_vocab)))
    f5_state = {f"ema_model.transformer.{k}": v.clone() for k, v in export_f5_state(teacher).items()}
    save_file(f5_state, str(f5_dir / "model_1250000.safetensors"))

    # the dataset's ids follow the vocabulary it is given; with the bundled one they are the stored ids
    item = index["items"][0]
    reread = ShardDataset(data, vocab=f5_vocab)[0]["text"]
    assert reread.tolist() == f5_vocab.encode(tokenize(item["transcript"]))
    assert ShardDataset(data, vocab=bundled)[0]["text"].tolist() == ShardDataset(data)[0]["text"].tolist()
    assert reread.tolist() != ShardDataset(data)[0]["text"].tolist()

    run = tmp_path / "run"
    common = ["--config", "tiny", "--data", str(data), "--out", str(run), "--batch-frames", "800", "--threads", "1",
              "--lr", "1e-7", "--warmup", "1", "--save-every", "1", "--log-every", "1"]
    assert train_main(common + ["--max-steps", "1", "--init-f5", str(f5_dir / "model_1250000.safetensors")]) == 0
    assert "initialised the audio stream" in capsys.readouterr().out
    ema = run / "checkpoints" / "step_0000001" / "ema"
    assert json.loads((ema / "config.json").read_text())["config"]["vocab"] == "vocab.txt"
    assert (ema / "vocab.txt").read_text(encoding="utf-8") == (f5_dir / "vocab.txt").read_text(encoding="utf-8")

    shutil.rmtree(f5_dir)  # the run no longer needs the F5 folder
    moved = tmp_path / "elsewhere"
    shutil.copytree(ema, moved)
    model = load_model(moved)
    assert load_vocab(model.config.vocab).tokens == f5_vocab.tokens
    emb = "audio.text_embed.embed.weight"
    assert torch.allclose(model.state_dict()[emb], teacher.state_dict()[emb], atol=1e-4)  # F5's rows, kept
    assert train_main(common + ["--max-steps", "2", "--resume", "auto"]) == 0

    # what a user is told when the weights cannot be had
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    assert train_main(common[:6] + ["--out", str(tmp_path / "r2"), "--init-f5", "SWivid/F5-TTS"]) == 2
    assert "huggingface-cli download SWivid/F5-TTS" in capsys.readouterr().err
    lone = tmp_path / "lone" / "model.safetensors"
    lone.parent.mkdir()
    save_file({"x": torch.zeros(1)}, str(lone))
    assert train_main(common[:6] + ["--out", str(tmp_path / "r3"), "--init-f5", str(lone)]) == 2
    assert "No vocab.txt beside model.safetensors" in capsys.readouterr().err


# --------------------------------------------------------------------------- inference


def test_infer_shapes_and_durations():
    from talker.model.infer import generate, prompt_from_arrays
    from talker.model.vocoder import GriffinLimVocoder

    torch.manual_seed(0)
    model = TalkerDiT(get_config("tiny")).eval()
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(24000)).astype(np.float32)
    motion = rng.standard_normal((25, 61)).astype(np.float32)
    prompt = prompt_from_arrays(audio, motion, "hello there")
    assert prompt.frames == mel_frames_for_video(25) and prompt.motion.shape == (prompt.frames, 61)
    res = generate(model, prompt, "how are you", duration_frames=94, nfe_steps=2, seed=0,
                   vocoder=GriffinLimVocoder(n_iter=2))
    assert res.mel.shape == (94, 100) and res.total_frames == prompt.frames + 94
    assert res.motion.shape[1] == 61
    assert abs(res.motion.shape[0] - 94 / 93.75 * 25) <= 1.5
    assert abs(res.audio.size - 94 * 256) <= 256 and res.sample_rate == 24000
    est = generate(model, prompt, "how are you doing today", nfe_steps=1, seed=0)
    total = estimate_duration(prompt.frames, "hello there", "how are you doing today")
    assert est.total_frames == total and est.mel.shape[0] == total - prompt.frames
    again = generate(model, prompt, "how are you doing today", nfe_steps=1, seed=0)
    assert torch.equal(est.mel, again.mel)


def test_data_parallel_training_with_two_processes(shards, tmp_path):
    """DDP through accelerate (gloo on CPU, as torchrun starts it): two processes split the data,
    synchronise gradients (checked by weight checksums at every save) and write one checkpoint."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    data, index = shards
    run = tmp_path / "ddp"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "talker.train", "--cpu", "--config", "tiny", "--data", str(data), "--out", str(run),
           "--max-steps", "4", "--save-every", "2", "--log-every", "1", "--batch-frames", "800",
           "--warmup", "1", "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=root)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "2 process(es)" in out
    assert out.count("replicas' weights are identical") == 2, out[-3000:]
    assert sorted(_log(run / "log.csv")) == [1, 2, 3, 4]
    from talker.model.checkpoint import load_model

    model = load_model(run / "checkpoints" / "step_0000004" / "ema")
    assert model.info.get("step") == 4
    # each process drew its own share of the items: rank 0 and rank 1 batches never overlap
    s0 = FrameBatchSampler(ShardDataset(data).frames, 800, seed=0, rank=0, world=2)
    s1 = FrameBatchSampler(ShardDataset(data).frames, 800, seed=0, rank=1, world=2)
    first0 = {i for _, _, idx in [next(s0.iterate(0))] for i in idx}
    first1 = {i for _, _, idx in [next(s1.iterate(0))] for i in idx}
    assert first0 and first1 and not first0 & first1
