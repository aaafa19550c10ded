"""The neural engine inside TalkerPipeline: a DiT checkpoint drives speech (and motion) of the video.

Tiny random-weight checkpoints stand in for trained ones: these tests check the wiring (which
path ran, frame counts, audio/video sync, messages), not speech quality.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talker.app.config import AppConfig
from talker.errors import InputError, ModelUnavailableError
from talker.media.probe import probe
from talker.model import TalkerDiT, get_config
from talker.model.checkpoint import save_model
from talker.model.engine import NeuralConfig, _join
from talker.pipeline import PipelineConfig, TalkerPipeline
from talker.request import GenerateOptions
from talker.video.encode import frames_for_audio

from .conftest import require_shared


def _checkpoint(folder, metadata=None, **overrides):
    torch.manual_seed(0)
    model = TalkerDiT(get_config("tiny", **overrides))
    with torch.no_grad():  # adaLN-zero heads start at zero; random weights make the outputs move
        for p in model.parameters():
            p.normal_(0, 0.05)
    return save_model(model, folder, metadata=metadata)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def _pipe(cache, **neural) -> TalkerPipeline:
    return TalkerPipeline(PipelineConfig(cache_dir=cache, neural=NeuralConfig(vocoder=None, **neural)))


def test_joint_checkpoint_drives_speech_and_motion(tmp_path, cache):
    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    pipe = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "joint")))
    res = pipe.generate(tmp_path / "out.mp4", reference=clip, text="Good morning. See you soon!",
                        options=GenerateOptions(engine="auto", nfe_steps=2))
    assert res.engine["mode"] == "neural (joint speech + motion)"
    assert "talker DiT 'tiny'" in res.engine["speech"] and "Griffin-Lim" in res.engine["speech"]
    assert res.engine["motion"].startswith("neural DiT")
    assert any("Griffin-Lim" in w for w in res.warnings)  # the fallback vocoder is named, not hidden
    assert res.frames == frames_for_audio(res.audio.size, 24000, 25)
    assert res.motion.shape == (res.frames, 61) and np.isfinite(res.motion).all()
    assert res.audio.size > 24000 * 0.5 and np.abs(res.audio).max() > 1e-3
    info = probe(res.video)
    assert info.has_audio and abs(info.duration - res.duration) < 0.1
    # The same request with the offline engine takes the offline path: the choice is the caller's.
    off = pipe.generate(tmp_path / "off.mp4", reference=clip, text="Good morning.",
                        options=GenerateOptions(engine="offline", voice_match=False))
    assert off.engine["mode"] == "offline" and "neural" not in off.engine["motion"]


def test_audio_only_checkpoint_uses_offline_motion(tmp_path, cache):
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    pipe = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "audio", motion_enabled=False, motion_depth=0)))
    res = pipe.generate(tmp_path / "out.mp4", reference=clip, text="Hello there.",
                        options=GenerateOptions(engine="neural", nfe_steps=2))
    assert res.engine["mode"] == "neural speech + offline motion"
    assert res.engine["motion"] == "offline visemes + reference style"
    assert res.motion.shape == (frames_for_audio(res.audio.size, 24000, 25), 61)


def test_user_audio_animated_by_an_audio_driven_checkpoint(tmp_path, cache):
    """Audio mode: a checkpoint trained with --audio-given makes the face from the user's speech;
    one trained without it is only used for that when asked, and an audio-only model cannot."""
    clip = require_shared("fixtures/video/en_woman_flag_8s.mp4")
    speech = require_shared("fixtures/audio/en_nature_5s.wav")
    said = "Some call me nature, others call me mother nature."
    pipe = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "ag", metadata={"audio_given": 0.5})))
    res = pipe.generate(tmp_path / "ag.mp4", reference=clip, audio=speech, transcript=said,
                        options=GenerateOptions(engine="auto", nfe_steps=2))
    assert res.engine["mode"] == "neural (motion from your audio)"
    assert "motion from the given speech" in res.engine["motion"] and res.engine["speech"] == "user audio"
    assert res.motion.shape == (res.frames, 61) and np.isfinite(res.motion).all()
    assert res.frames == frames_for_audio(res.audio.size, 24000, 25)
    assert abs(probe(res.video).duration - res.duration) < 0.1
    # the same speech drives the offline generator differently: the neural motion is really used
    off = pipe.generate(tmp_path / "off.mp4", reference=clip, audio=speech, transcript=said,
                        options=GenerateOptions(engine="offline"))
    assert off.engine["mode"] == "offline" and not np.allclose(off.motion, res.motion)

    plain = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "plain")))
    auto = plain.generate(tmp_path / "p.mp4", reference=clip, audio=speech, transcript=said,
                          options=GenerateOptions(engine="auto", nfe_steps=2))
    assert auto.engine["mode"] == "offline"  # not trained for the job: not used unasked
    asked = plain.generate(tmp_path / "q.mp4", reference=clip, audio=speech, transcript=said,
                           options=GenerateOptions(engine="neural", nfe_steps=2))
    assert asked.engine["mode"] == "neural (motion from your audio)"

    audio_only = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "ao", motion_enabled=False, motion_depth=0)))
    res = audio_only.generate(tmp_path / "ao.mp4", reference=clip, audio=speech, transcript=said,
                              options=GenerateOptions(engine="neural", nfe_steps=2))
    assert res.engine["mode"] == "offline" and any("no motion stream" in w for w in res.warnings)


def test_photo_reference_and_missing_checkpoint_messages(tmp_path, cache):
    pipe = _pipe(cache)  # nothing configured
    with pytest.raises(ModelUnavailableError, match="No neural checkpoint"):
        pipe.generate(tmp_path / "a.mp4", template="astronaut", text="Hi.", options=GenerateOptions(engine="neural"))
    with pytest.raises(InputError, match="Unknown engine"):
        pipe.generate(tmp_path / "b.mp4", template="astronaut", text="Hi.", options=GenerateOptions(engine="gpu"))
    pipe = _pipe(cache, checkpoint=str(_checkpoint(tmp_path / "ckpt")))
    # asked for explicitly, a photo (no voice to prompt with) is refused with the reason
    with pytest.raises(InputError, match="reference clip with speech"):
        pipe.generate(tmp_path / "c.mp4", template="astronaut", text="Hi.", options=GenerateOptions(engine="neural"))
    # on "auto" the photo falls back to the offline path and says so
    res = pipe.generate(tmp_path / "d.mp4", template="astronaut", text="Hi.", options=GenerateOptions(engine="auto"))
    assert res.engine["mode"] == "offline"
    assert any("needs a reference clip with speech" in w for w in res.warnings)
    # an offline machine asking for a Hub repo gets the download instructions, within seconds
    pipe = _pipe(cache, checkpoint="someone/not-cached-model")
    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    with pytest.raises(ModelUnavailableError, match="huggingface-cli download"):
        pipe.generate(tmp_path / "e.mp4", reference=clip, text="Hi.", options=GenerateOptions(engine="neural"))


def test_join_pieces_without_clicks_and_motion_on_its_words():
    a = np.full(2400, 0.5, np.float32)
    b = np.full(2400, -0.5, np.float32)
    out, none = _join([a, b], None)
    assert none is None
    assert out.size == 4800 + int(0.12 * 24000)
    assert abs(out[2399]) < 0.05 and abs(out[-2400]) < 0.05  # faded at the seam
    assert np.abs(np.diff(out)).max() < 0.06  # no step anywhere
    # two 1 s pieces whose motion is constant 1 and 2: each value stays on its own second of audio
    one, two = np.ones(24000, np.float32) * 0.1, np.ones(24000, np.float32) * 0.1
    audio, motion = _join([one, two], [np.ones((26, 61)), np.full((24, 61), 2.0)])
    assert motion.shape == (frames_for_audio(audio.size, 24000, 25), 61)
    assert (motion[:25] == 1).all() and (motion[25:28] == 1).all()  # held through the 0.12 s pause
    assert (motion[28:] == 2).all() and motion.shape[0] == 28 + 25


def test_app_offers_neural_engine_only_when_usable(tmp_path):
    ckpt = _checkpoint(tmp_path / "ckpt")
    assert not AppConfig().neural_available()
    assert AppConfig(dit_checkpoint=str(ckpt)).neural_available()  # a folder, as save_model writes
    assert not AppConfig(dit_checkpoint=str(tmp_path / "missing")).neural_available()
    assert AppConfig(f5_checkpoint="SWivid/F5-TTS").neural_available()  # fetched (or refused) on first use
    env = AppConfig(dit_checkpoint=str(ckpt), vocoder="/models/vocos").worker_env()
    assert env["TALKER_DIT_CHECKPOINT"] == str(ckpt) and env["TALKER_VOCODER"] == "/models/vocos"


def test_neural_config_from_env(monkeypatch):
    monkeypatch.setenv("TALKER_DIT_CHECKPOINT", "/ckpt")
    monkeypatch.setenv("TALKER_VOCODER", "")
    cfg = NeuralConfig.from_env()
    assert cfg.checkpoint == "/ckpt" and cfg.vocoder is None and cfg.configured
    monkeypatch.delenv("TALKER_DIT_CHECKPOINT")
    monkeypatch.delenv("TALKER_VOCODER")
    cfg = NeuralConfig.from_env()
    assert not cfg.configured and cfg.vocoder == "charactr/vocos-mel-24khz"


def test_training_run_folder_means_its_newest_ema(tmp_path):
    from talker.model.checkpoint import load_model, training_output

    run = tmp_path / "run"
    old = _checkpoint(run / "checkpoints" / "step_0000001" / "ema")
    new = _checkpoint(run / "checkpoints" / "step_0000002" / "ema")
    _checkpoint(run / "checkpoints" / "step_0000002" / "model")
    (run / "checkpoints" / "latest").write_text("step_0000002\n")
    assert training_output(run) == new and training_output(old.parent) == old
    assert training_output(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    assert load_model(run).config.name == "tiny"
