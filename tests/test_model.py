"""The audio-visual DiT: shapes and masks, sampler maths, checkpoints, F5-TTS key compatibility."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from talker.errors import ModelUnavailableError
from talker.model import (
    TalkerDiT,
    get_config,
    mel_frames_for_video,
    motion_to_mel_rate,
    motion_to_video_rate,
    resample_frames,
    video_frames_for_mel,
)
from talker.model import sampler as S
from talker.model.cfm import CFMConfig, flow_matching_loss, infill_mask, lens_to_mask, span_mask
from talker.model.checkpoint import load_model, save_model
from talker.model.dit import heard_audio
from talker.model.sampler import estimate_duration
from talker.model.text import PAD_ID, Vocab, encode_batch, load_vocab, tokenize

ROOT = Path(__file__).resolve().parents[1]
F5_DEPS = ROOT / ".cache" / "f5deps"
F5_PACKAGES = ["f5-tts==1.1.22", "x_transformers", "torchdiffeq", "ema_pytorch", "einops", "einx", "loguru",
               "frozendict", "torch_einops_utils"]


def _tiny(**kw) -> TalkerDiT:
    torch.manual_seed(0)
    model = TalkerDiT(get_config("tiny", **kw))
    with torch.no_grad():  # adaLN-zero starts every block (and the heads) at zero: randomise to test anything
        for p in model.parameters():
            p.normal_(0, 0.1)
    return model.eval()


def _batch(b=2, n=30, mel_dim=100, motion_dim=61, seed=1):
    g = torch.Generator().manual_seed(seed)
    mel = torch.randn(b, n, mel_dim, generator=g)
    motion = torch.randn(b, n, motion_dim, generator=g)
    text = encode_batch(["ni hao", "你好，世界"][:b] + ["x"] * max(0, b - 2))
    return mel, motion, text


# --------------------------------------------------------------------------- text


def test_tokenize_pinyin_and_letters():
    assert tokenize("你好") == [" ", "ni2", " ", "hao3"]  # third-tone sandhi, as F5-TTS
    assert tokenize("Hi!") == ["H", "i", "!"]
    assert tokenize("女孩") == [" ", "nv3", " ", "hai2"]  # ü written v, as in F5-TTS's vocab
    mixed = tokenize("我用Python")
    assert mixed[:2] == [" ", "wo3"] and mixed[-6:] == list("Python")


def test_vocab_file_and_batch_encoding(tmp_path):
    vocab = load_vocab()
    assert vocab.tokens[0] == " " and len(vocab) == get_config("tiny").text_num_embeds
    assert {"zhong1", "lv4", "de", "a", "Z", "，"} <= set(vocab.tokens)
    ids = encode_batch(["ab", "a"], vocab)
    assert ids.shape == (2, 2) and ids[1, 1].item() == PAD_ID
    assert ids[0].tolist() == vocab.encode(["a", "b"])
    # an external vocabulary (e.g. F5-TTS's vocab.txt) loads from a path; unknown tokens map to 0
    (tmp_path / "v.txt").write_text(" \na\nb\n", encoding="utf-8")
    ext = load_vocab(tmp_path / "v.txt")
    assert len(ext) == 3 and ext.encode(["b", "a", "q"]) == [2, 1, 0] and ext.unknown(["q"]) == ["q"]
    with pytest.raises(ValueError):
        Vocab(["a", " "])


# --------------------------------------------------------------------------- frame rates


def test_motion_resampling_rates_and_round_trip():
    assert mel_frames_for_video(25) == 94  # 1 s: 24000 // 256 + 1
    assert video_frames_for_mel(94) == 25
    t = np.arange(50) / 25.0
    motion = np.stack([np.sin(2 * np.pi * 1.5 * t + k) for k in range(61)], axis=1).astype(np.float32)
    up = motion_to_mel_rate(motion)
    assert isinstance(up, np.ndarray) and up.shape == (mel_frames_for_video(50), 61)
    # frame 0 and every 4th video frame (i * 3.75 = 15 at i = 4) fall on mel frames exactly
    np.testing.assert_allclose(up[0], motion[0], atol=1e-6)
    np.testing.assert_allclose(up[15], motion[4], atol=1e-6)
    back = motion_to_video_rate(up, 50, antialias=False)
    assert back.shape == motion.shape
    np.testing.assert_allclose(back, motion, atol=2e-2)
    smooth = motion_to_video_rate(up, 50)  # box antialias: slight loss at 1.5 Hz only
    assert np.abs(smooth[2:-2] - motion[2:-2]).max() < 0.05
    x = torch.arange(10, dtype=torch.float32).view(10, 1)
    np.testing.assert_allclose(resample_frames(x, 1.0, 2.0, 5, antialias=False)[:, 0].numpy(), [0, 0.5, 1, 1.5, 2])


# --------------------------------------------------------------------------- model


def test_forward_shapes_masks_and_parameter_split():
    model = _tiny()
    mel, motion, text = _batch()
    out = model(mel, mel, text, torch.tensor([0.3, 0.7]), motion=motion, motion_cond=motion)
    assert out.mel.shape == mel.shape and out.motion.shape == motion.shape
    assert torch.isfinite(out.mel).all() and torch.isfinite(out.motion).all()
    # F5 parity by default: no attention mask, padding only zeroed at the convolutions and block outputs
    assert model.config.attn_mask is False
    # with the attention mask on, real frames are fully independent of what the padding holds
    mask = lens_to_mask(torch.tensor([30, 20]), 30)
    mel2, motion2 = mel.clone(), motion.clone()
    mel2[1, 20:] = 5.0
    motion2[1, 20:] = -3.0
    masked = _tiny(attn_mask=True)
    a = masked(mel, mel, text, torch.tensor([0.3, 0.7]), motion=motion, motion_cond=motion, mask=mask)
    b = masked(mel2, mel2, text, torch.tensor([0.3, 0.7]), motion=motion2, motion_cond=motion2, mask=mask)
    torch.testing.assert_close(a.mel[1, :20], b.mel[1, :20])
    torch.testing.assert_close(a.motion[1, :20], b.motion[1, :20])
    assert not torch.allclose(a.mel[1, 20:], b.mel[1, 20:])
    # the joint blocks really couple the streams: motion changes the mel velocity
    o3 = model(mel, mel, text, torch.tensor([0.3, 0.7]), motion=motion * 2, motion_cond=motion)
    assert not torch.allclose(o3.mel, out.mel)
    # audio-only call: no motion output
    assert model(mel, mel, text, torch.tensor(0.5)).motion is None
    counts = model.parameter_counts()
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["total"] == counts["audio"] + counts["motion"] + counts["shared"]


def test_cfg_dropout_flags_match_zeroed_inputs():
    model = _tiny()
    mel, motion, text = _batch()
    t = torch.tensor([0.2, 0.9])
    drop = torch.tensor([True, False])
    per = model(mel, mel, text, t, motion=motion, motion_cond=motion, drop_audio_cond=drop, drop_motion_cond=drop,
                drop_text=drop)
    full = model(mel, mel, text, t, motion=motion, motion_cond=motion, drop_audio_cond=True, drop_motion_cond=True,
                 drop_text=True)
    none = model(mel, mel, text, t, motion=motion, motion_cond=motion)
    torch.testing.assert_close(per.mel[0], full.mel[0])
    torch.testing.assert_close(per.mel[1], none.mel[1])
    torch.testing.assert_close(per.motion[0], full.motion[0])
    # dropping the prompt equals passing a zero prompt
    zero = model(mel, torch.zeros_like(mel), text, t, motion=motion, motion_cond=torch.zeros_like(motion))
    both = model(mel, mel, text, t, motion=motion, motion_cond=motion, drop_audio_cond=True, drop_motion_cond=True)
    torch.testing.assert_close(zero.mel, both.mel)


def test_motion_stream_can_hear_the_audio_at_the_same_frames():
    """With ``motion_hears_audio`` the motion input takes the mel of its own frames (a local path),
    standardised by the prompt so a louder recording is heard the same, and the mel prompt is
    dropped with the audio prompt for guidance."""
    model = _tiny(motion_hears_audio=True)
    seen = []
    model.motion.input.register_forward_hook(lambda m, a, out: seen.append(out.detach().clone()))
    mel, motion, text = _batch(n=120)
    other = mel.clone()
    other[:, 10] += 3.0  # the mel prompt differs at frame 10 only
    t = torch.tensor([0.5, 0.5])
    for cond in (mel, other):
        model(mel, cond, text, t, motion=motion, motion_cond=motion)
    diff = (seen[0] - seen[1]).abs().amax(dim=(0, 2))
    assert diff[10] > 5 * diff[60:].max()  # elsewhere only through the prompt's mean and spread
    # a gain change (a constant in log-mel) on the prompt and the data part of the noisy sample
    loud = mel + 2.0
    model(mel + 0.5 * 2.0, loud, text, t, motion=motion, motion_cond=motion)
    torch.testing.assert_close(seen[2], seen[0], atol=1e-5, rtol=1e-4)
    for cond in (mel, other):
        model(mel, cond, text, t, motion=motion, motion_cond=motion, drop_audio_cond=True)
    torch.testing.assert_close(seen[3], seen[4])
    # without the option the motion input never sees the mel prompt
    plain, seen_plain = _tiny(), []
    plain.motion.input.register_forward_hook(lambda m, a, out: seen_plain.append(out.detach().clone()))
    for cond in (mel, other):
        plain(mel, cond, text, t, motion=motion, motion_cond=motion)
    torch.testing.assert_close(seen_plain[0], seen_plain[1])


def test_heard_audio_is_standardised_on_the_prompt_frames_only():
    g = torch.Generator().manual_seed(0)
    mel = torch.randn(2, 50, 100, generator=g) * 3 - 6
    cond = mel.clone()
    cond[:, 20:] = 0.0  # frames 20.. are to be generated
    cond[1] = 0.0  # item 1: prompt dropped
    out = heard_audio(mel, cond, torch.tensor([1.0, 1.0]))
    c = out[0, :20, 100:]
    torch.testing.assert_close(c.mean(0), torch.zeros(100), atol=1e-5, rtol=0)
    assert torch.allclose(c.std(0, unbiased=False), torch.ones(100), atol=2e-3)
    assert (out[0, 20:, 100:] == 0).all()  # nothing heard where the prompt is empty
    torch.testing.assert_close(out[1, :, :100], mel[1])  # no prompt: the sample passes unchanged
    # at t = 1 the sample is the data and is standardised like the prompt
    torch.testing.assert_close(out[0, :20, :100], c, atol=1e-5, rtol=1e-4)


def test_motion_hearing_is_off_in_saved_configs_that_predate_it():
    cfg_dict = get_config("tiny").to_dict()
    del cfg_dict["motion_hears_audio"]  # a config.json written before the option existed
    cfg = type(get_config("tiny")).from_dict(cfg_dict)
    assert not cfg.motion_hears_audio
    plain, hearing = TalkerDiT(cfg), TalkerDiT(get_config("tiny", motion_hears_audio=True))
    assert plain.motion.input.proj.in_features == 2 * 61 + cfg.text_dim
    assert hearing.motion.input.proj.in_features == 2 * 61 + cfg.text_dim + 2 * 100
    # the audio stream is the same either way, so F5-TTS weights still map onto it
    assert plain.audio.input.proj.in_features == hearing.audio.input.proj.in_features


def test_infill_masks():
    lens = torch.tensor([100, 60])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        m = infill_mask(lens, (0.7, 1.0), 100, generator=g)
        assert m.shape == (2, 100) and not m[1, 60:].any()
        for i, n in enumerate(lens.tolist()):
            k = int(m[i].sum())
            assert int(0.7 * n) <= k <= n
            idx = m[i].nonzero().flatten()
            assert (idx.diff() == 1).all()  # one contiguous span
    exact = span_mask(torch.tensor([10]), torch.tensor([0.5]), 10, generator=torch.Generator().manual_seed(0))
    assert int(exact.sum()) == 5


def test_loss_forward_backward_tiny():
    model = _tiny().train()
    mel, motion, text = _batch()
    g = torch.Generator().manual_seed(3)
    out = flow_matching_loss(model, mel, text, motion=motion, lens=torch.tensor([30, 24]),
                             motion_valid=torch.tensor([True, False]), cfg=CFMConfig(), generator=g)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None for g in grads.values())
    assert grads["motion.proj_out.weight"].abs().sum() > 0 and grads["audio.proj_out.weight"].abs().sum() > 0
    assert not out["span"][1, 24:].any()
    torch.optim.AdamW(model.parameters(), lr=1e-4).step()


def test_audio_given_items_see_their_whole_mel_and_train_motion_only():
    """The audio-driven objective: the given items' mel condition is the unmasked mel, their mel
    loss is not counted, and their audio prompt is never dropped."""
    model = _tiny().train()
    seen = {}
    forward = model.forward

    def spy(*args, **kw):
        seen["mel_cond"], seen["drop_audio"] = args[1].clone(), kw["drop_audio_cond"].clone()
        seen["motion_cond"] = kw["motion_cond"].clone()
        return forward(*args, **kw)

    model.forward = spy
    mel, motion, text = _batch()
    cfg = CFMConfig(audio_given_prob=1.0, audio_drop_prob=1.0)
    out = flow_matching_loss(model, mel, text, motion=motion, cfg=cfg, generator=torch.Generator().manual_seed(3))
    assert out["audio_given"].all()
    torch.testing.assert_close(seen["mel_cond"], mel)  # nothing hidden in the speech
    assert not seen["drop_audio"].any()  # 'drop the audio prompt' is overridden for given items
    assert (seen["motion_cond"][out["span"]] == 0).all()  # the motion is still infilled
    assert out["audio"].item() == 0.0 and out["motion"].item() > 0
    out["loss"].backward()
    assert model.motion.proj_out.weight.grad.abs().sum() > 0
    # probability 0 is the plain objective: the mel is hidden on the span and scored there
    out0 = flow_matching_loss(model, mel, text, motion=motion, cfg=CFMConfig(),
                              generator=torch.Generator().manual_seed(3))
    assert not out0["audio_given"].any() and out0["audio"].item() > 0
    assert (seen["mel_cond"][out0["span"]] == 0).all()


def test_sample_with_given_speech_infills_only_motion():
    model = _tiny()
    mel, motion, text = _batch(n=20)
    mel_out, mot_out, lens = S.sample(model, text, mel, 20, motion_prompt=motion[:, :6], nfe_steps=2,
                                      cfg_scale=1.0, seed=1)
    assert lens.tolist() == [20, 20] and mot_out.shape == (2, 20, 61)
    torch.testing.assert_close(mel_out, mel)  # the speech is the condition, returned as given
    torch.testing.assert_close(mot_out[:, :6], motion[:, :6])
    assert not torch.allclose(mot_out[:, 6:], motion[:, 6:])
    # the motion after the prompt depends on the speech it is given
    _, mot_other, _ = S.sample(model, text, mel.flip(1), 20, motion_prompt=motion[:, :6], nfe_steps=2,
                               cfg_scale=1.0, seed=1)
    assert not torch.allclose(mot_other[:, 6:], mot_out[:, 6:])


def test_animate_gives_one_motion_row_per_video_frame_of_the_audio():
    from talker.model.infer import animate, prompt_from_arrays

    model = _tiny()
    rng = np.random.default_rng(0)
    prompt = prompt_from_arrays(rng.normal(0, 0.1, 24000).astype(np.float32),
                                rng.normal(0, 0.1, (25, 61)).astype(np.float32), "hello there")
    speech = rng.normal(0, 0.1, int(24000 * 1.52)).astype(np.float32)
    res = animate(model, prompt, speech, "new words", nfe_steps=2, cfg_scale=0.0)
    assert res.motion.shape == (38, 61) and np.isfinite(res.motion).all()
    assert res.info["audio_given"] and res.prompt_frames == prompt.frames
    assert res.mel.shape[1] == 100 and abs(res.mel.shape[0] - 1.52 * 24000 / 256) < 2
    with pytest.raises(ValueError, match="motion"):
        animate(model, prompt_from_arrays(speech, None, "x"), speech)


def test_generate_can_sample_the_motion_again_from_the_finished_speech():
    """motion_after_speech: the motion is what the model gives for the generated mel as audio
    condition (the audio-driven path), not the jointly sampled one; speech is unchanged."""
    from talker.model.infer import _motion_for_mel, _video_motion, generate, prompt_from_arrays

    model = _tiny()
    rng = np.random.default_rng(0)
    prompt = prompt_from_arrays(rng.normal(0, 0.1, 24000).astype(np.float32),
                                rng.normal(0, 0.1, (25, 61)).astype(np.float32), "hello there")
    kw = dict(duration_frames=60, nfe_steps=2, cfg_scale=0.0, seed=3)
    joint = generate(model, prompt, "new words", **kw)
    after = generate(model, prompt, "new words", motion_after_speech=True, **kw)
    torch.testing.assert_close(after.mel, joint.mel)
    assert after.motion.shape == joint.motion.shape and after.info["motion_after_speech"]
    assert not np.allclose(after.motion, joint.motion)
    mot = _motion_for_mel(model, prompt, after.mel, "hello there new words", 2, 0.0, -1.0, 3)
    n_video = int(round(after.total_frames / 93.75 * 25))
    np.testing.assert_allclose(after.motion, _video_motion(model, mot, n_video, prompt, False), atol=1e-5)


# --------------------------------------------------------------------------- sampler maths


def test_sway_and_time_grid_exact_numbers():
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    s = S.sway(t, -1.0)  # t - (cos(pi t / 2) - 1 + t) = 1 - cos(pi t / 2)
    torch.testing.assert_close(s, torch.tensor([0.0, 1 - math.cos(math.pi / 4), 1.0], dtype=torch.float64))
    assert abs(s[1].item() - 0.29289321881345254) < 1e-12
    grid = S.time_grid(4, sway_coef=None)
    torch.testing.assert_close(grid, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    g = S.time_grid(32, -1.0)
    assert g[0] == 0 and abs(g[-1].item() - 1) < 1e-6 and (g.diff() > 0).all()
    assert g.diff()[0] < g.diff()[-1]  # sway < 0 crowds steps near noise
    torch.testing.assert_close(S.time_grid(5, None, epss=True), torch.tensor([0, 2, 4, 8, 16, 32]) / 32.0)


def test_cfg_combine_exact():
    c, u = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 3.0])
    torch.testing.assert_close(S.cfg_combine(c, u, 2.0), torch.tensor([2.0, 0.0]))  # c + 2 (c - u)
    torch.testing.assert_close(S.cfg_combine(c, u, 0.0), c)


def test_ode_steppers_exact():
    fn = lambda t, x: (x[0],)  # noqa: E731  dx/dt = x
    ts = torch.tensor([0.0, 0.5, 1.0])
    (e,) = S.integrate(fn, (torch.tensor([1.0]),), ts, "euler")
    assert e.item() == pytest.approx(1.5 ** 2)
    (m,) = S.integrate(fn, (torch.tensor([1.0]),), ts, "midpoint")
    assert m.item() == pytest.approx((1 + 0.5 + 0.125) ** 2)
    lin = lambda t, x: (torch.ones_like(x[0]) * 3,)  # noqa: E731  constant velocity: Euler is exact
    (y,) = S.integrate(lin, (torch.zeros(2),), S.time_grid(7, -1.0), "euler")
    torch.testing.assert_close(y, torch.full((2,), 3.0))
    assert len(S.integrate(fn, (torch.ones(1),), ts, trajectory=True)) == 3


def test_duration_estimate():
    # F5-TTS rule: ref + ref / len(ref bytes) * len(gen bytes) / speed
    assert S.estimate_duration(300, "a" * 30, "b" * 60) == 300 + 600
    assert S.estimate_duration(300, "a" * 30, "b" * 60, speed=2.0) == 300 + 300
    assert S.estimate_duration(100, "你好", "你好你好") == 300  # 6 bytes of reference, 12 new
    with pytest.raises(ValueError):
        S.estimate_duration(100, "a", "b", speed=0)


def test_sample_is_pure_and_keeps_prompt():
    model = _tiny()
    mel, motion, text = _batch(n=12)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    kw = dict(motion_prompt=motion, prompt_lens=torch.tensor([12, 8]), nfe_steps=3, cfg_scale=2.0, seed=7)
    a_mel, a_mot, lens = S.sample(model, text, mel, [20, 18], **kw)
    b_mel, b_mot, _ = S.sample(model, text, mel, [20, 18], **kw)
    assert a_mel.shape == (2, 20, 100) and a_mot.shape == (2, 20, 61) and lens.tolist() == [20, 18]
    torch.testing.assert_close(a_mel, b_mel)
    torch.testing.assert_close(a_mot, b_mot)
    torch.testing.assert_close(a_mel[0, :12], mel[0])
    torch.testing.assert_close(a_mel[1, :8], mel[1, :8])
    torch.testing.assert_close(a_mot[1, :8], motion[1, :8])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    c_mel, _, _ = S.sample(model, text, mel, 20, **{**kw, "method": "midpoint", "seed": 8})
    assert not torch.allclose(c_mel, a_mel)


# --------------------------------------------------------------------------- checkpoints


def test_save_load_identical_output(tmp_path):
    model = _tiny()
    model.motion_std.fill_(2.0)
    mel, motion, text = _batch()
    t = torch.tensor([0.4, 0.6])
    ref = model(mel, mel, text, t, motion=motion, motion_cond=motion)
    save_model(model, tmp_path / "ckpt", metadata={"step": 3})
    assert (tmp_path / "ckpt" / "model.safetensors").is_file() and (tmp_path / "ckpt" / "config.json").is_file()
    loaded = load_model(tmp_path / "ckpt")
    assert loaded.config == model.config and torch.equal(loaded.motion_std, model.motion_std)
    out = loaded(mel, mel, text, t, motion=motion, motion_cond=motion)
    assert torch.equal(out.mel, ref.mel) and torch.equal(out.motion, ref.motion)
    # a lone weights file still knows its config (stored in the safetensors header)
    (tmp_path / "ckpt" / "config.json").unlink()
    again = load_model(tmp_path / "ckpt" / "model.safetensors")
    assert torch.equal(again(mel, mel, text, t, motion=motion, motion_cond=motion).mel, ref.mel)


def test_missing_checkpoint_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelUnavailableError, match="offline"):
        load_model("someone/not-cached-model")
    with pytest.raises(ModelUnavailableError, match="neither an existing file"):
        load_model(str(tmp_path / "nope" / "x"))
    with pytest.raises(ModelUnavailableError, match="has no model.safetensors"):
        load_model(tmp_path)


def test_vocoder_fallback_and_mel_front_end(tmp_path, monkeypatch):
    from talker.model.vocoder import build_vocos, load_vocoder, mel_spectrogram

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    wav = 0.3 * torch.sin(torch.arange(12000) / 24000 * 2 * math.pi * 220)
    mel = mel_spectrogram(wav)
    assert mel.shape == (100, 12000 // 256 + 1) and mel.min() >= math.log(1e-5) - 1e-6
    voc = load_vocoder()
    assert voc.is_fallback and "fallback vocoder (Griffin-Lim), lower quality" in voc.label
    out = voc.decode(mel)
    assert out.ndim == 1 and abs(out.numel() - 12000) <= 256 and torch.isfinite(out).all()
    with pytest.raises(ModelUnavailableError):
        load_vocoder(allow_fallback=False)
    # the architecture is built offline from hyper-parameters; a saved state dict loads back into it
    vocos = build_vocos()
    assert sum(p.numel() for p in vocos.parameters()) == 13_531_650
    torch.save(vocos.state_dict(), tmp_path / "pytorch_model.bin")
    real = load_vocoder(tmp_path)
    assert not real.is_fallback and real.decode(mel[None]).shape[0] == 1


def test_dry_run_prints_counts():
    from talker.train import describe, main

    info = describe("base")
    assert 0.75e9 < info["counts"]["total"] < 0.85e9 and info["audio_layers"] == 22
    assert describe("f5-v1-base")["counts"]["total"] == 337_096_804  # F5-TTS v1 Base: 337.1 M
    assert main(["--config", "tiny", "--dry-run"]) == 0


# --------------------------------------------------------------------------- F5-TTS compatibility


def _import_f5_dit():
    """F5-TTS's DiT class from a side folder, without running its package __init__ (trainer, wandb)."""
    if not (F5_DEPS / "f5_tts").is_dir():
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(F5_DEPS),
                            *F5_PACKAGES], check=True, capture_output=True, timeout=300)
        except Exception as exc:  # offline, no pip, timeout
            pytest.skip(f"f5-tts not importable: could not create {F5_DEPS} ({type(exc).__name__})")
    if str(F5_DEPS) not in sys.path:
        sys.path.insert(0, str(F5_DEPS))
    for name, sub in (("f5_tts", ""), ("f5_tts.model", "model")):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__path__ = [str(F5_DEPS / "f5_tts" / sub)]
            sys.modules[name] = mod
    sys.modules.setdefault("rjieba", types.ModuleType("rjieba"))  # only its text utilities use it
    try:
        return importlib.import_module("f5_tts.model.backbones.dit").DiT
    except Exception as exc:
        pytest.skip(f"f5-tts DiT not importable from {F5_DEPS}: {type(exc).__name__}: {exc}")


def _random_f5(DiT, f5_kwargs: dict):
    """F5's DiT with N(0, 0.02) weights; built on "meta" to skip its own (discarded) init."""
    from f5_tts.model.modules import precompute_freqs_cis
    from x_transformers.x_transformers import RotaryEmbedding

    with torch.device("meta"):
        f5 = DiT(**f5_kwargs)
    f5 = f5.to_empty(device="cpu")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in f5.parameters():
            p.normal_(0, 0.02)
    # to_empty leaves buffers uninitialised: recompute them with F5's own code
    f5.rotary_embed.inv_freq.copy_(RotaryEmbedding(f5_kwargs.get("dim_head", 64)).inv_freq)
    if hasattr(f5.text_embed, "freqs_cis"):
        f5.text_embed.freqs_cis = precompute_freqs_cis(f5_kwargs["text_dim"], f5.text_embed.precompute_max_pos)
    return f5.eval()


def _compare_with_f5(f5_kwargs: dict, our_config, n: int, masked: bool, drops=(False, True)) -> float:
    from talker.model.f5_compat import export_f5_state, load_f5_state_into

    f5 = _random_f5(_import_f5_dit(), f5_kwargs)
    f5_state = f5.state_dict()
    with torch.device("meta"):
        ours = TalkerDiT(our_config)
    assert load_f5_state_into(ours, {f"ema_model.transformer.{k}": v for k, v in f5_state.items()}) == []
    ours.eval()
    exported = export_f5_state(ours)
    assert set(f5_state) - set(exported) == {"rotary_embed.inv_freq"} and set(exported) <= set(f5_state)
    g = torch.Generator().manual_seed(1)
    b = 2 if masked else 1
    x, cond = torch.randn(b, n, 100, generator=g), torch.randn(b, n, 100, generator=g)
    text = torch.randint(0, f5_kwargs["text_num_embeds"], (b, n // 3), generator=g)
    t = torch.rand(b, generator=g)
    mask = lens_to_mask(torch.tensor([n, n - 7]), n) if masked else None
    if masked:
        text[1, -4:] = -1
    diff = 0.0
    with torch.no_grad():
        for drop in drops:
            ref = f5(x, cond, text, t, mask=mask, drop_audio_cond=drop, drop_text=drop)
            got = ours(x, cond, text, t, mask=mask, drop_audio_cond=drop, drop_text=drop).mel
            assert ref.abs().max() > 0.1
            diff = max(diff, (ref - got).abs().max().item())
    return diff


def test_f5_key_compat_small():
    from talker.model.f5_compat import config_from_f5

    kw = dict(dim=64, depth=3, heads=4, dim_head=16, ff_mult=2, text_dim=32, conv_layers=2, text_num_embeds=50,
              mel_dim=100)
    assert _compare_with_f5(kw, config_from_f5(**kw), n=40, masked=True) < 1e-5


@pytest.mark.slow
def test_f5_v1_base_key_compat_full_size():
    """F5-TTS v1 Base with random weights: our f5-v1-base config gives the same mel velocity."""
    from talker.model.f5_compat import F5_V1_BASE_ARGS

    diff = _compare_with_f5(F5_V1_BASE_ARGS, get_config("f5-v1-base"), n=48, masked=False,
                            drops=(False,))
    assert diff < 1e-4


def test_f5_weights_initialise_joint_model_audio_stream():
    """F5 block i goes to joint block i (< joint_depth) or audio block i - joint_depth, both ways."""
    from talker.model.f5_compat import f5_to_ours, ours_to_f5

    assert f5_to_ours("transformer_blocks.1.attn.to_q.weight", 2) == "joint_blocks.1.layers.audio.q.weight"
    assert f5_to_ours("transformer_blocks.5.ff.ff.0.0.bias", 2) == "audio.blocks.3.layer.ff.up.bias"
    assert f5_to_ours("text_embed.text_blocks.0.grn.gamma", 0) == "audio.text_embed.blocks.0.grn.gamma"
    assert ours_to_f5("audio.blocks.3.layer.ff.up.bias", 2) == "transformer_blocks.5.ff.ff.0.0.bias"
    assert ours_to_f5("joint_blocks.0.layers.motion.q.weight", 2) is None
    model = _tiny()
    from talker.model.f5_compat import export_f5_state, load_f5_state_into

    f5_state = {k: torch.randn_like(v) for k, v in export_f5_state(model).items()}
    untouched = load_f5_state_into(model, f5_state)
    assert untouched and all(k.startswith("motion") or ".layers.motion." in k for k in untouched)
    torch.testing.assert_close(model.joint_blocks[0].layers["audio"].q.weight, f5_state["transformer_blocks.0.attn.to_q.weight"])


@pytest.mark.parametrize("method", ["euler", "midpoint"])
def test_sampler_matches_f5_cfm_sample(method):
    """Same weights, seed, NFE, sway and guidance: our pure sampler reproduces F5-TTS's CFM.sample."""
    from talker.model.f5_compat import config_from_f5, load_f5_state_into

    DiT = _import_f5_dit()
    try:
        CFM = importlib.import_module("f5_tts.model.cfm").CFM
    except Exception as exc:
        pytest.skip(f"f5-tts CFM not importable: {type(exc).__name__}: {exc}")
    kw = dict(dim=64, depth=2, heads=4, dim_head=16, ff_mult=2, text_dim=32, conv_layers=1, text_num_embeds=50,
              mel_dim=100)
    f5 = _random_f5(DiT, kw)
    cfm = CFM(f5, odeint_kwargs=dict(method=method)).eval()
    ours = TalkerDiT(config_from_f5(**kw))
    load_f5_state_into(ours, f5.state_dict())
    ours.eval()
    g = torch.Generator().manual_seed(0)
    cond, text = torch.randn(1, 20, 100, generator=g), torch.randint(0, 50, (1, 9), generator=g)
    ref, _ = cfm.sample(cond, text, 35, steps=8, cfg_strength=2.0, sway_sampling_coef=-1.0, seed=5, use_epss=False)
    got, motion, lens = S.sample(ours, text, cond, 35, nfe_steps=8, cfg_scale=2.0, sway_coef=-1.0, seed=5,
                                 method=method)
    assert motion is None and lens.tolist() == [35]
    assert (ref - got).abs().max().item() < 1e-5


def test_eval_dtw_warp_undoes_a_different_rhythm():
    """scripts/eval_dit.py scores text-mode motion after a DTW of the mels: a generation that says
    the same thing in another rhythm must score as agreeing, and better than a plain stretch."""
    spec = importlib.util.spec_from_file_location("eval_dit", ROOT / "scripts" / "eval_dit.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    rng = np.random.default_rng(0)
    n_true = 750  # 8 s of mel frames
    k = np.convolve(rng.standard_normal(n_true + 40), np.ones(15) / 15, "valid")[:n_true]
    true_mel = np.outer(k, np.linspace(1, 2, 100)) + 0.05 * rng.standard_normal((n_true, 100))
    # the generation: first half slower, second half faster, 10 % longer overall
    src = np.concatenate([np.linspace(0, 375, 550), np.linspace(375, n_true - 1, 275)[1:]])
    gen_mel = np.stack([np.interp(src, np.arange(n_true), true_mel[:, c]) for c in range(100)], 1)
    n_video = 200
    true_jaw = np.interp(np.arange(n_video) * 3.75, np.arange(n_true), k)
    gen_jaw = np.interp(np.arange(int(len(src) / 3.75)) * 3.75, np.arange(len(src)), np.interp(src, np.arange(n_true), k))
    gen_motion = np.stack([gen_jaw, -gen_jaw], 1)
    warped = ev.dtw_warp(gen_motion, gen_mel, true_mel, n_video)
    assert warped.shape == (n_video, 2)
    from talker.motion.code import stretch

    r_dtw = ev.pearson(warped[:, 0], true_jaw)
    r_stretch = ev.pearson(stretch(gen_motion, n_video)[:, 0], true_jaw)
    assert r_dtw > 0.9 and r_dtw > r_stretch + 0.2
    # the path comes from the mel alone: motion that disagrees with its speech stays disagreeing
    shuffled = ev.dtw_warp(gen_motion[::-1].copy(), gen_mel, true_mel, n_video)
    assert abs(ev.pearson(shuffled[:, 0], true_jaw)) < 0.5


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
