"""``python -m talker eval``: the measurements of a generated video against its reference.

lip sync (bilabial closure at phone alignments, audio-visual offset and correlation, compared
with the same measure on the real reference), identity (dlib embedding distance), speech
(Whisper WER, resemblyzer speaker similarity) and head motion (rotation spread vs reference).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..motion.code import FPS, HEAD_ROTATION


def _sample(n: int, k: int) -> list[int]:
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, min(k, n))})


def _frames_at(path: Path, indices: list[int], fps: float, *, start: float = 0.0, duration: float | None = None
               ) -> tuple[list[int], list[np.ndarray]]:
    """The frames at ``indices`` (of the constant-rate decode from ``start``), and which were found."""
    from ..media import decode

    want, got = set(indices), {}
    for i, frame in enumerate(decode.iter_frames(path, fps, start=start, duration=duration)):
        if i in want:
            got[i] = frame.copy()
        if i >= max(indices):
            break
    found = [i for i in indices if i in got]
    return found, [got[i] for i in found]


def asr_language(text: str | None) -> str | None:
    """The language to hold Whisper to when scoring speech of ``text``: the script's language for
    Han, kana, Hangul and the like; None (Whisper detects it) for Latin script, which the script
    alone reads as English: held to English, Whisper translated a German clip's speech and its
    WER against the German words was 1.02."""
    from ..text.normalize import detect_script_language

    lang = detect_script_language(text) if text and text.strip() else ""
    return None if lang in ("", "en") else lang


def hear(audio: np.ndarray, sample_rate: int, text: str | None = None):
    """Whisper's transcript of the output, in the text's language. Latin script does not say
    which language it is, so Whisper detects it; if it hears anything but English, the English
    reading is tried too and the one closer to the text is kept: a transcript in the wrong
    language is never a fair reading of the speech."""
    from ..asr import transcribe
    from ..text.metrics import wer

    lang = asr_language(text)
    heard = transcribe(audio, sample_rate, language=lang)
    if lang is None and text and text.strip() and heard.language != "en":
        english = transcribe(audio, sample_rate, language="en")
        if wer(text, english.text) < wer(text, heard.text):
            heard = english
    return heard


def evaluate(reference: str | Path, video: str | Path, text: str | None = None, *, pipeline=None,
             face_model: str | None = None) -> dict:
    from ..align.phones import align
    from ..media import decode
    from ..media.probe import probe
    from ..pipeline import TalkerPipeline
    from ..text.metrics import wer
    from ..tracking.tracker import track_frames
    from .identity import embeddings, identity_distance
    from .lipsync import av_offset, bilabial_scores
    from .mouth import mouth_opening
    from .voice import speaker_similarity

    pipe = pipeline or TalkerPipeline()
    ref = pipe.analyze(reference)
    video = Path(video)
    info = probe(video)
    tr = track_frames(decode.iter_frames(video, FPS, info=info), FPS, model_path=face_model, smooth=False,
                      source_name=video.name)
    audio = decode.read_audio(video, SAMPLE_RATE, info=info)
    # the output's language is the text's, not the reference's (a German anchor can speak English)
    lang = asr_language(text)
    heard = hear(audio, SAMPLE_RATE, text)
    said = text if text and text.strip() else heard.text
    out: dict = {"video": video.name, "reference": Path(reference).name, "frames": tr.num_frames,
                 "face_ratio": round(tr.face_ratio, 4), "text": said, "heard": heard.text}

    mouth = mouth_opening(tr.landmarks)
    mouth[~tr.detected] = np.nan
    try:
        al = align(audio, SAMPLE_RATE, said, lang or heard.language or "en")
    except Exception as e:  # noqa: BLE001 - reported, the other measures still run
        al = None
        out["alignment_error"] = str(e)
    if al is not None:
        b = bilabial_scores(mouth, FPS, al)
        out.update(bilabial_closed=round(b["closed"], 4), bilabial_auc=round(b["auc"], 4),
                   bilabial_count=b["n_bilabial"], bilabial_failures=b["failures"])
    off = av_offset(mouth, audio, SAMPLE_RATE, FPS, alignment=al)
    # margin: peak r minus the best r more than 2 frames away; near 0 the lag is ambiguous (short or
    # repetitive speech can put a second, spurious peak at another lag)
    out.update(av_offset_frames=off.lag, mouth_audio_corr=round(off.r, 4), av_feature=off.feature,
               av_offset_margin=round(off.margin, 4))
    if ref.kind == "video" and ref.audio is not None:
        # the reference is measured the same way as the output: unsmoothed tracking of the file
        from .mouth import track_video

        vt = track_video(reference, FPS, sample_rate=SAMPLE_RATE)
        try:
            ref_al = align(vt.audio, SAMPLE_RATE, ref.transcript, ref.language or "en") if ref.transcript else None
        except Exception:  # noqa: BLE001 - the audio-only feature still gives a figure
            ref_al = None
        ref_off = av_offset(vt.mouth, vt.audio, SAMPLE_RATE, FPS, alignment=ref_al)
        out.update(reference_mouth_audio_corr=round(ref_off.r, 4), reference_av_offset_frames=ref_off.lag,
                   mouth_audio_corr_ratio=round(off.r / ref_off.r, 4) if ref_off.r > 1e-6 else None)
        out["speaker_similarity"] = round(speaker_similarity(audio, SAMPLE_RATE, ref.audio, ref.sample_rate), 4)
    else:
        out["speaker_similarity"] = None
    out.update(_speech_quality(audio))
    out.update(_head_motion(ref, tr.motion))
    out["wer"] = round(wer(said, heard.text), 4)

    idx_out, f_out = _frames_at(video, [i for i in _sample(tr.num_frames, 8) if tr.detected[i]], FPS)
    if ref.kind == "image":
        idx_ref, f_ref = [0], [decode.read_image(reference)]
    else:
        idx_ref, f_ref = _frames_at(Path(reference), _sample(ref.frames, 8), FPS, start=ref.span[0],
                                    duration=ref.span[1] - ref.span[0])
    e_out = embeddings(f_out, tr.boxes[idx_out])
    e_ref = embeddings(f_ref, ref.boxes[idx_ref])
    out["identity_distance"] = round(identity_distance(e_out, e_ref), 4)
    return out


def _speech_quality(audio: np.ndarray) -> dict:
    """DNSMOS of the output's speech: how clean and natural it sounds (not whether it is the right
    voice or the right words)."""
    from .quality import dnsmos

    try:
        q = dnsmos(audio, SAMPLE_RATE)
    except (ImportError, ValueError) as e:
        return {"dnsmos_p808": None, "dnsmos_ovrl": None, "dnsmos_error": str(e)}
    return {"dnsmos_p808": q["p808"], "dnsmos_ovrl": q["ovrl"]}


def _head_motion(ref, motion: np.ndarray) -> dict:
    """Head-rotation spread of the output over the reference's (a photo: the output's in degrees)."""
    from ..tracking.tracker import smooth_rotation

    out_std = smooth_rotation(motion[:, HEAD_ROTATION], FPS).std(0)
    if ref.kind != "video":
        return {"head_motion_deg": round(float(np.degrees(out_std).mean()), 3), "head_motion_ratio": None}
    # a muted clip still has head motion to compare with. The reference's rotation comes smoothed
    # from its analysis; the output's track is raw, and tracking jitter alone would add ~0.1 to the
    # ratio of a calm speaker: smooth it the same way
    ref_std = ref.motion[:, HEAD_ROTATION].std(0)
    return {"head_motion_ratio": round(float(np.mean(out_std / np.maximum(ref_std, np.radians(0.2)))), 4)}
