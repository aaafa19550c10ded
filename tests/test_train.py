"""The training loop: loss going down, exact resume, EMA, the schedule, F5 initialisation, two processes."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from talker.data.shards import FrameBatchSampler, ShardDataset, collate
from talker.model import TalkerDiT, get_config
from talker.train import EMA, compute_loss, lr_at, step_generator
from talker.train import main as train_main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
