"""Templates: a reference (clip or photo) with its metadata and analysed features, ready to use.

Layout: ``<root>/<name>/template.json`` + the media file (or an absolute path to it, so
development templates can point at clips that must not be copied) + ``features.*``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import TemplateError
from ..paths import templates_dir
from ..reference.features import ReferenceFeatures

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# What the app opens on: a real person's clip, so a visitor's first video shows the renderer that
# re-times the reference's own face, teeth and speaking style (the photo renderer can only warp).
DEFAULT_TEMPLATE = "grid-s4-woman"


@dataclass
class Template:
    name: str
    display_name: str
    media: str  # file name inside the template folder, or an absolute path
    kind: str  # "video" or "image"
    language: str = ""
    transcript: str = ""
    source: str = ""
    license: str = ""
    consent: str = ""
    notes: str = ""
    attribution: str = ""  # the line the licence asks to be shown wherever the media is (UI, README)
    # language → voice name, for a reference with no voice of its own (a photo): {"en": "af_heart"}
    voices: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    directory: Path | None = field(default=None, compare=False)

    @property
    def media_path(self) -> Path:
        p = Path(self.media)
        return p if p.is_absolute() else (self.directory or Path(".")) / p

    def features(self) -> ReferenceFeatures | None:
        if self.directory and ReferenceFeatures.exists(self.directory):
            return ReferenceFeatures.load(self.directory)
        return None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("directory")
        return d


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise TemplateError(
            f"'{name}' is not a valid template name.",
            "Use 1–64 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
        )
    return name


def load_template(directory: Path) -> Template:
    meta = json.loads((directory / "template.json").read_text(encoding="utf-8"))
    known = {k: meta[k] for k in Template.__dataclass_fields__ if k in meta and k != "directory"}
    return Template(**known, directory=directory)


def list_templates(root: str | Path | None = None) -> list[Template]:
    base = templates_dir(root)
    if not base.is_dir():
        return []
    out = []
    for d in sorted(base.iterdir()):
        if (d / "template.json").is_file():
            try:
                out.append(load_template(d))
            except (ValueError, TypeError, KeyError):
                continue  # a broken folder is skipped, not fatal to the listing
    return out


def get_template(name: str, root: str | Path | None = None) -> Template:
    check_name(name)
    d = templates_dir(root) / name
    if not (d / "template.json").is_file():
        names = ", ".join(t.name for t in list_templates(root)) or "none"
        raise TemplateError(f"No template named '{name}'.", f"Available templates: {names}.")
    return load_template(d)


def add_template(
    media: str | Path,
    name: str,
    *,
    root: str | Path | None = None,
    display_name: str | None = None,
    transcript: str | None = None,
    language: str | None = None,
    source: str = "",
    license: str = "",
    consent: str = "",
    attribution: str = "",
    notes: str = "",
    voices: dict | None = None,
    link: bool = False,
    overwrite: bool = False,
    analysis_config=None,
) -> tuple[Template, ReferenceFeatures]:
    """Analyse ``media`` and store it as template ``name`` (copied, or linked by absolute path)."""
    from ..reference.analysis import analyze_reference

    check_name(name)
    _check_voices(voices or {})
    media = Path(media)
    feats = analyze_reference(media, transcript=transcript, language=language, config=analysis_config)
    d = templates_dir(root) / name
    if d.exists():
        if not overwrite:
            raise TemplateError(f"A template named '{name}' already exists.", "Choose another name or delete it first.")
        shutil.rmtree(d)
    d.mkdir(parents=True)
    if link:
        media_ref = str(media.resolve())
    else:
        media_ref = "reference" + media.suffix.lower()
        shutil.copyfile(media, d / media_ref)
    tpl = Template(
        name=name, display_name=display_name or name.replace("_", " ").replace("-", " ").title(),
        media=media_ref, kind=feats.kind, language=feats.language or (language or ""),
        transcript=feats.transcript, source=source, license=license, consent=consent, notes=notes,
        attribution=attribution, voices=dict(voices or {}), directory=d,
    )
    (d / "template.json").write_text(json.dumps(tpl.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    feats.save(d, pcm16_audio=True)
    _thumbnail(tpl, feats)
    return tpl, feats


def _check_voices(voices: dict) -> None:
    """Every named voice exists and speaks its language (InputError listing the voices otherwise)."""
    from ..speech.base import get_backend

    for lang, voice in voices.items():
        get_backend(lang, voice)


def delete_template(name: str, root: str | Path | None = None) -> None:
    tpl = get_template(name, root)
    assert tpl.directory is not None
    shutil.rmtree(tpl.directory)


def _thumbnail(tpl: Template, feats: ReferenceFeatures, size: int = 256) -> Path:
    """A square face crop, for galleries."""
    import cv2
    from PIL import Image

    from ..media import decode

    if feats.kind == "image":
        frame, i = decode.read_image(tpl.media_path), 0
    else:
        i = int(feats.detected.argmax())
        frame = next(iter(decode.iter_frames(tpl.media_path, feats.fps, start=feats.span[0] + i / feats.fps, duration=1.0)))
    x0, y0, x1, y1 = feats.boxes[i]
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.9 * max(x1 - x0, y1 - y0)
    h, w = frame.shape[:2]
    a, b = int(max(0, cx - half)), int(max(0, cy - half))
    c, e = int(min(w, cx + half)), int(min(h, cy + half))
    crop = cv2.resize(frame[b:e, a:c], (size, size), interpolation=cv2.INTER_AREA)
    out = tpl.directory / "thumbnail.jpg"
    Image.fromarray(crop).save(out, quality=90)
    return out
