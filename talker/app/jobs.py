"""What the worker does for each job: plain dicts in, plain dicts (paths + JSON) out.

Kept apart from the process plumbing so the same code runs in the worker process and, on
ZeroGPU, inside the ``spaces.GPU`` function of the app process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError

PICTURE_DPI = 90


def handle(pipe, job: dict, progress, emit=None) -> dict:
    """``emit``: called with each piece of a video as it is ready (``StreamChunk.event()``)."""
    kind = job.get("kind")
    if kind == "generate":
        return generate(pipe, job, progress, emit)
    if kind == "dub":
        return dub(pipe, job, progress)
    if kind == "analyze":
        return analyze(pipe, job, progress)
    if kind == "add_template":
        return add_template(pipe, job, progress)
    if kind == "warmup":
        return warmup()
    if kind == "preview_voice":
        return preview_voice(job)
    if kind == "ping":
        return {"device": device(), "pid": os.getpid()}
    raise InputError(f"Unknown job '{kind}'.", "This is a bug in the app.")


def device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # noqa: BLE001 - no torch means CPU
        return "cpu"


def warmup() -> dict:
    """Load the voices once so the first visitor does not wait for them: the English default and
    every automatic voice installed (the default template, a woman, speaks with Kokoro's af_heart)."""
    from ..speech.base import list_voices, synthesize
    from ..speech.sources import AUTO_VOICES

    installed = {v.name for v in list_voices("en")}
    auto = [v for (lang, _), v in AUTO_VOICES.items() if lang == "en" and v in installed]
    for voice in dict.fromkeys(auto) or [None]:  # None: the English default, when no automatic one is here
        synthesize("Hello.", language="en", voice=voice)
    return {"device": device()}


# what a voice's preview says, per language: one short neutral sentence
PREVIEW_TEXT = {"en": "Hello! This is how I sound when I read your text.",
                "zh": "你好！这是我朗读你的文字时的声音。"}


def preview_voice(job: dict) -> dict:
    """A few seconds of ``job["voice"]`` saying a neutral sentence in its language, as a WAV at ``job["path"]``."""
    from ..speech.base import synthesize
    from ..video.encode import write_wav

    voice, lang = job["voice"], job["language"]
    res = synthesize(PREVIEW_TEXT.get(lang, PREVIEW_TEXT["en"]), language=lang, voice=voice)
    path = Path(job["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.part.wav")
    write_wav(tmp, res.audio, res.sample_rate)
    tmp.replace(path)  # a preview another visitor asked for at the same time is never half-written
    return {"audio": str(path), "seconds": round(res.audio.size / res.sample_rate, 2)}


def _options(d: dict):
    from ..request import GenerateOptions

    known = GenerateOptions.__dataclass_fields__
    return GenerateOptions(**{k: v for k, v in d.items() if k in known})


# the speech and motion pictures show at most the first minute: a longer one is a blur at page width
PICTURE_SECONDS = 60.0


def generate(pipe, job: dict, progress, emit=None) -> dict:
    """Made piece by piece: each piece's playable segment (in ``live/``) is announced through
    ``emit`` as soon as it is ready, so the page plays the video while the rest is made."""
    from ..streaming import FIRST_PIECE_SECONDS

    out = Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    stream = pipe.stream(out / "talker.mp4", template=job.get("template") or None,
                         reference=job.get("reference") or None, text=job.get("text"), audio=job.get("audio"),
                         transcript=job.get("transcript") or None, options=_options(job.get("options", {})),
                         progress=lambda f, d: progress(0.9 * f, d), first_piece_seconds=FIRST_PIECE_SECONDS,
                         segments_dir=out / "live")
    try:
        with stream:  # leaving early (a cancel, a failure) stops the work and removes its files
            for chunk in stream:
                if emit is not None:
                    emit(chunk.event())
    except BaseException:
        import shutil

        shutil.rmtree(out / "live", ignore_errors=True)
        raise
    res = stream.result
    progress(0.92, "pictures")
    from ..video.encode import write_wav

    audio = write_wav(out / "speech.wav", res.audio, res.sample_rate)
    shown = int(PICTURE_SECONDS * res.fps)
    curves = motion_curves(res.motion[:shown], res.fps, out / "motion.png")
    mel = mel_picture(np.asarray(res.audio[: int(PICTURE_SECONDS * res.sample_rate)]), res.sample_rate,
                      out / "mel.png")
    summary = res.summary()
    summary["engine"] = {**summary.get("engine", {}), "device": device()}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    progress(1.0, "done")
    return {"video": str(res.video), "audio": str(audio), "curves": str(curves), "mel": str(mel), "summary": summary}


def _dub_options(d: dict):
    from ..request import DubOptions

    known = DubOptions.__dataclass_fields__
    return DubOptions(**{k: v for k, v in d.items() if k in known})


def dub(pipe, job: dict, progress) -> dict:
    """The video at ``job["video"]`` saying new words (``job["audio"]`` or ``job["text"]``): the
    whole mp4 when it is done, and the summary (frames kept, re-rendered, passed through)."""
    out = Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    res = pipe.dub(job["video"], out / "dubbed.mp4", audio=job.get("audio") or None, text=job.get("text") or None,
                   transcript=job.get("transcript") or None, options=_dub_options(job.get("options", {})),
                   progress=progress)
    summary = res.summary()
    summary["engine"] = {**summary.get("engine", {}), "device": device()}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    progress(1.0, "done")
    return {"video": str(res.video), "summary": summary}


def analyze(pipe, job: dict, progress) -> dict:
    from ..reference.show import show

    out = Path(job["out_dir"])
    feats = pipe.analyze(job["reference"], transcript=job.get("transcript") or None,
                         language=job.get("language") or None, progress=progress)
    pics = show(feats, job["reference"], out)
    summary = feats.summary()
    summary.pop("content_hash", None)
    summary.pop("source", None)  # a temp path means nothing to the visitor
    return {"transcript": feats.transcript, "language": feats.language, "summary": summary,
            "contact_sheet": str(pics["contact_sheet"]), "motion_plot": str(pics["motion_plot"])}


def add_template(pipe, job: dict, progress) -> dict:
    from ..reference.show import show

    progress(0.05, "analysing the clip")
    tpl, feats = pipe.add_template(job["media"], job["name"], display_name=job.get("display_name") or None,
                                   transcript=job.get("transcript") or None, language=job.get("language") or None,
                                   source=job.get("source", ""), license=job.get("license", ""),
                                   consent=job.get("consent", ""))
    progress(0.85, "contact sheet")
    pics = show(feats, tpl.media_path, Path(job["out_dir"]))
    return {"name": tpl.name, "transcript": feats.transcript, "language": feats.language,
            "contact_sheet": str(pics["contact_sheet"]), "warnings": list(feats.warnings)}


# -- pictures -----------------------------------------------------------------------------------
def motion_curves(motion: np.ndarray, fps: float, out_png: Path) -> Path:
    """Jaw opening and head pose over time: what a viewer checks when lips or head look off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..motion.code import channel

    t = np.arange(motion.shape[0]) / fps
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True)
    axes[0].plot(t, channel(motion, "jawOpen"), color="tab:red", label="jawOpen")
    axes[0].set_ylabel("0..1")
    axes[0].set_title("Mouth (jawOpen)", fontsize=10)
    for name, col in (("headYaw", "tab:blue"), ("headPitch", "tab:green"), ("headRoll", "tab:purple")):
        axes[1].plot(t, np.degrees(channel(motion, name)), color=col, label=name)
    axes[1].set_ylabel("degrees")
    axes[1].set_title("Head pose", fontsize=10)
    axes[1].set_xlabel(f"seconds ({fps:g} fps)")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_png, dpi=PICTURE_DPI)
    plt.close(fig)
    return out_png


def mel_spectrogram(audio: np.ndarray, sr: int, n_mels: int = 80, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Log-mel (dB) in the 24 kHz / 80-band / hop-256 layout the speech models use."""
    from scipy.signal import stft

    _, _, z = stft(audio.astype(np.float32), fs=sr, nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=True)
    power = np.abs(z) ** 2
    freqs = np.linspace(0, sr / 2, power.shape[0])

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    mels = np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2)
    edges = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bank = np.zeros((n_mels, freqs.size), np.float32)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        bank[i] = np.clip(np.minimum(up, down), 0, None)
    mel = bank @ power
    return 10 * np.log10(np.maximum(mel, 1e-10))


def mel_picture(audio: np.ndarray, sr: int, out_png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    db = mel_spectrogram(audio, sr)
    top = float(db.max()) if db.size else 0.0
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
              extent=(0, audio.size / sr, 0, db.shape[0]))
    ax.set_title(f"Mel spectrogram of the speech ({sr // 1000} kHz, 80 bands)", fontsize=10)
    ax.set_xlabel("seconds")
    ax.set_ylabel("mel band")
    fig.tight_layout()
    fig.savefig(out_png, dpi=PICTURE_DPI)
    plt.close(fig)
    return out_png
