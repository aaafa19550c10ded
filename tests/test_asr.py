"""ASR on the shared fixture clips with the bundled offline models, plus exact metric checks."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from talker import asr
from talker.asr import recognize
from talker.errors import InputError, ModelUnavailableError
from talker.text.metrics import cer, wer

from .conftest import require_shared

AUDIO = "fixtures/audio"
CLIPS = {
    "en_nature_5s.wav": ("en", "Some call me nature, others call me mother nature."),
    "en_printing_10s.wav": ("en", "Printing, in the only sense with which we are at present concerned, differs from "
                                  "most if not from all the arts and crafts represented in the Exhibition"),
    "zh_taiyi_7s.wav": ("zh", "对，这就是我，万人敬仰的太乙真人。"),
}
# Whisper base gets 2 of 14 characters wrong (敬→仅, 乙→以): CER 0.14. Leave headroom for
# int8 / thread-count differences between machines.
ZH_CER_MAX = 0.30


_shared = require_shared


def _read(name: str, rate: int = 16000) -> np.ndarray:
    from talker.media.decode import read_audio

    return read_audio(_shared(f"{AUDIO}/{name}"), rate)


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[asr.Transcript, float]]:
    out = {}
    for name in CLIPS:
        x = _read(name)
        out[name] = (asr.transcribe(x, 16000), x.size / 16000)
    return out


# --------------------------------------------------------------------------- metrics


# --------------------------------------------------------------------------- decoding


def test_read_audio_gives_mono_float_at_rate():
    x = _read("en_nature_5s.wav", 16000)
    assert x.dtype == np.float32 and x.ndim == 1
    assert 4.5 < x.size / 16000 < 5.5
    assert 0.01 < float(np.abs(x).max()) <= 1.0


# --------------------------------------------------------------------------- recognition


@pytest.mark.slow
def test_offline_backends_listed():
    names = [b.name for b in asr.available_backends()]
    assert "faster-whisper:base" in names and "faster-whisper:tiny.en" in names
    assert names.index("faster-whisper:base") < names.index("faster-whisper:tiny.en")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["en_nature_5s.wav", "en_printing_10s.wav"])
def test_english_wer_and_language(results, name):
    tr, _ = results[name]
    lang, ref = CLIPS[name]
    assert tr.language == lang
    assert tr.language_probability > 0.8
    assert wer(ref, tr.text) <= 0.15, tr.text


@pytest.mark.slow
def test_chinese_language_and_cer(results):
    tr, _ = results["zh_taiyi_7s.wav"]
    assert tr.language == "zh"
    score = cer(CLIPS["zh_taiyi_7s.wav"][1], tr.text)
    print(f"zh CER {score:.3f}: {tr.text}")
    assert score <= ZH_CER_MAX, tr.text
    assert "這" not in tr.text  # prompted towards simplified script


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CLIPS))
def test_word_timestamps_monotonic_inside_clip(results, name):
    tr, duration = results[name]
    assert tr.words
    starts = [w.start for w in tr.words]
    assert starts == sorted(starts)
    for a, b in pairwise(tr.words):
        assert a.end <= b.end
    for w in tr.words:
        assert 0.0 <= w.start <= w.end <= duration + 1e-6
        assert 0.0 <= w.probability <= 1.0
    assert tr.words[0].start < 1.0 and tr.words[-1].end > 0.6 * duration


@pytest.mark.slow
def test_detect_language_on_chinese():
    lang, prob = asr.detect_language(_read("zh_taiyi_7s.wav"), 16000)
    assert lang == "zh" and prob > 0.8


@pytest.mark.slow
def test_tiny_en_handles_any_rate_and_stereo():
    x = _read("en_nature_5s.wav", 44100)
    stereo = np.stack([x, x], axis=1)
    tr = asr.transcribe(stereo, 44100, language="en", backend="tiny.en")
    assert tr.backend == "faster-whisper:tiny.en"
    assert wer(CLIPS["en_nature_5s.wav"][1], tr.text) <= 0.15, tr.text


@pytest.mark.slow
def test_english_only_model_refuses_other_language():
    with pytest.raises(ModelUnavailableError):
        asr.transcribe(np.full(16000, 0.1, np.float32), 16000, language="zh", backend="tiny.en")


def test_unknown_backend_is_input_error():
    with pytest.raises(InputError):
        asr.transcribe(np.zeros(16000, np.float32), 16000, backend="no-such-asr")


@pytest.mark.slow
@pytest.mark.parametrize("audio", [np.zeros(0, np.float32), np.zeros(32000, np.float32)])
def test_silence_gives_empty_transcript(audio):
    tr = asr.transcribe(audio, 16000)
    assert tr.text == "" and tr.words == [] and tr.is_empty
    assert asr.detect_language(audio, 16000) == ("", 0.0)


def test_transcript_round_trip():
    tr = asr.Transcript("hi there", "en", [asr.Word("hi", 0.1, 0.3, 0.9)], "faster-whisper:base", 0.97)
    data = json.loads(json.dumps(tr.to_dict()))
    assert asr.Transcript.from_dict(data) == tr


def test_funasr_only_offered_with_local_model(monkeypatch, tmp_path):
    monkeypatch.delenv("TALKER_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setattr(recognize, "_funasr_cached", lambda name: None)  # ignore any real HF cache
    monkeypatch.setenv("TALKER_FUNASR_MODEL", "paraformer-zh")
    assert not asr.FunASRBackend().available()  # a hub name without downloads: never tried
    model_dir = tmp_path / "SenseVoiceSmall"
    model_dir.mkdir()
    (model_dir / "config.yaml").write_text("model: SenseVoiceSmall\n")
    monkeypatch.setenv("TALKER_FUNASR_MODEL", str(model_dir))
    backend = asr.FunASRBackend()
    assert backend.available()
    assert backend.supports("en") and not backend.supports("de")


def test_funasr_timestamps_parsed_from_ms():
    # Paraformer: one [start_ms, end_ms] per character; punctuation has no stamp.
    res = {"text": "对，这是", "timestamp": [[100, 300], [500, 700], [700, 900]]}
    words = asr.FunASRBackend._words(res, "对，这是", 2.0)
    assert [(w.text, w.start, w.end) for w in words] == [("对", 0.1, 0.3), ("这", 0.5, 0.7), ("是", 0.7, 0.9)]
    # Count mismatch: spread evenly over the stamped span, still inside the clip.
    words = asr.FunASRBackend._words({"timestamp": [[0, 400], [400, 1600]]}, "hello big world", 1.5)
    assert [w.text for w in words] == ["hello", "big", "world"]
    assert words[0].start == 0.0 and words[-1].end == 1.5


def test_invented_words_after_the_speech_are_dropped_and_words_inside_it_kept():
    """Whisper's made-up tail (作词 after the sentence, or a near-certain-wrong word running on into
    the silence) goes; a sure word, or any word inside the speech, stays."""
    from talker.asr.recognize import Word, drop_invented_tail

    said = [Word("比分", 2.0, 2.4, 0.9), Word("是3比2。", 2.4, 3.4, 0.98)]
    assert drop_invented_tail(said + [Word("作词", 3.42, 4.5, 0.01)], 3.46) == said  # runs on, unlikely
    assert drop_invented_tail(said + [Word("作曲", 3.6, 3.6, 0.5)], 3.46) == said  # starts after the speech
    assert drop_invented_tail(said + [Word("字", 3.4, 3.4, 0.05)], None) == said  # no time, unlikely
    quiet_last = [Word("好", 2.0, 2.3, 0.9), Word("吗", 2.3, 2.6, 0.1)]  # unsure but inside the speech
    assert drop_invented_tail(quiet_last, 2.66) == quiet_last


@pytest.mark.slow
def test_mandarin_transcripts_are_simplified_and_end_with_the_speech():
    """Real Mandarin speech (Kokoro) read by Whisper base: no words after the last sound, no
    traditional characters (these sentences came back as 明天上午9點…開會。作詞作曲 before)."""
    from talker.asr import transcribe
    from talker.asr.recognize import simplified
    from talker.speech import synthesize
    from talker.speech.kokoro_backend import KokoroBackend

    if not KokoroBackend().available():
        pytest.skip("Kokoro voices not installed (run scripts/setup.sh)")
    for text in ("明天上午9点在三楼会议室开会。", "这场比赛的最终比分是3比2。"):
        speech = synthesize(text, language="zh", voice="zf_xiaobei")
        heard = transcribe(speech.audio, speech.sample_rate, language="zh").text
        assert heard == simplified(heard), heard
        assert heard.rstrip("。.!！?？").endswith(("会", "2", "二")), heard
    assert simplified("明天上午9點在三樓會議室開會") == "明天上午9点在三楼会议室开会"
