"""Templates: the bundled default, and add / list / delete in a folder given by option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talker.errors import TemplateError
from talker.paths import DEFAULT_TEMPLATES_DIR
from talker.templates import store

from .conftest import require_shared


def test_bundled_default_template_is_offline_ready():
    tpls = store.list_templates(DEFAULT_TEMPLATES_DIR)
    assert tpls, "the repository must ship at least one template"
    default = store.get_template("astronaut", DEFAULT_TEMPLATES_DIR)
    assert default.media_path.is_file() and not Path(default.media).is_absolute()  # shipped, not linked
    assert default.license and default.source
    feats = default.features()
    assert feats is not None, "bundled templates ship their analysed features"
    assert feats.kind == "image" and feats.face_found and feats.motion.shape == (1, 61)
    assert (default.directory / "thumbnail.jpg").is_file()


def test_bundled_clip_templates_carry_licence_attribution_and_ready_features(capsys):
    """Twelve bundled templates, the default a real person's clip; each clip template ships its
    clip, a transcript, its licence and attribution line, a thumbnail and features that load
    without analysis (compact: 16-bit audio that reads back as float32 in [-1, 1])."""
    tpls = {t.name: t for t in store.list_templates(DEFAULT_TEMPLATES_DIR)}
    assert len(tpls) == 12 and store.DEFAULT_TEMPLATE in tpls
    clips = [t for t in tpls.values() if t.kind == "video"]
    assert len(clips) == 11 and tpls[store.DEFAULT_TEMPLATE].kind == "video"
    for t in clips:
        assert t.media_path.is_file() and not Path(t.media).is_absolute(), t.name
        assert t.language == "en" and t.transcript and t.license and t.consent and t.notes, t.name
        assert ("zenodo.3625687" in t.attribution) if t.name.startswith("grid") else ("CREMA-D" in t.attribution)
        assert (t.directory / "thumbnail.jpg").is_file()
        feats = t.features()
        assert feats is not None and feats.kind == "video" and feats.face_ratio == 1.0, t.name
        assert feats.audio.dtype.name == "float32" and 0.01 < float(abs(feats.audio).max()) <= 1.0
        assert feats.frames / feats.fps >= 2.0 and feats.transcript == t.transcript
    # the listing a deployer or a script reads gives the licence and attribution too
    from talker.cli import main

    assert main(["templates", "list", "--json"]) == 0
    listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert listed[store.DEFAULT_TEMPLATE]["license"].startswith("CC BY 4.0")
    assert "Cooke" in listed[store.DEFAULT_TEMPLATE]["attribution"]


def test_bundled_templates_fit_the_repository_budget():
    """Issue #20's budget: the bundled templates grow the repository by at most 15 MB."""
    total = sum(p.stat().st_size for p in DEFAULT_TEMPLATES_DIR.rglob("*") if p.is_file())
    astronaut = sum(p.stat().st_size for p in (DEFAULT_TEMPLATES_DIR / "astronaut").rglob("*") if p.is_file())
    assert total - astronaut <= 15_000_000, total - astronaut


@pytest.mark.slow
def test_small_sources_are_never_upscaled(tmp_path):
    """A 360×288 template comes out at its own size, and its face crop at the pixels the face
    has (~250 px), not blown up to 512; the large template's crop is the full 512."""
    from talker.pipeline import PipelineConfig, TalkerPipeline
    from talker.request import GenerateOptions

    pipe = TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "cache")))
    full = pipe.generate(tmp_path / "full.mp4", template="grid-man-glasses", text="Maybe.")
    crop = pipe.generate(tmp_path / "crop.mp4", template="grid-man-glasses", text="Maybe.",
                         options=GenerateOptions(crop=True))
    big = pipe.generate(tmp_path / "big.mp4", template=store.DEFAULT_TEMPLATE, text="Maybe.",
                        options=GenerateOptions(crop=True))
    from talker.media.probe import probe

    assert (probe(full.video).width, probe(full.video).height) == (360, 288)
    side = probe(crop.video).width
    assert probe(crop.video).height == side and 180 <= side < 360, side
    assert (probe(big.video).width, probe(big.video).height) == (512, 512)


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "UPPER", "x" * 65, "-lead", "name with space"])
def test_template_names_are_checked(bad, tmp_path):
    with pytest.raises(TemplateError):
        store.get_template(bad, tmp_path)


def test_add_list_delete_by_cli(tmp_path, monkeypatch, capsys):
    from talker.cli import main

    photo = require_shared("fixtures/images/woman_frontal.jpg")
    monkeypatch.setenv("TALKER_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "templates"
    assert main(["templates", "add", str(photo), "--name", "woman", "--templates-dir", str(root), "--link"]) == 0
    tpl = store.get_template("woman", root)
    assert tpl.media_path == photo.resolve() and tpl.kind == "image"
    assert not any(p.suffix in {".jpg", ".png"} and p.name != "thumbnail.jpg" for p in tpl.directory.iterdir())
    capsys.readouterr()
    assert main(["templates", "list", "--templates-dir", str(root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == ["woman"]
    # adding the same name again is refused with a message
    assert main(["templates", "add", str(photo), "--name", "woman", "--templates-dir", str(root)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["templates", "delete", "woman", "--templates-dir", str(root)]) == 0
    assert store.list_templates(root) == []


@pytest.mark.slow
def test_video_template_from_env_dir(tmp_path, monkeypatch):
    from talker.pipeline import TalkerPipeline

    clip = require_shared("fixtures/video/en_man_map_5s.mp4")
    monkeypatch.setenv("TALKER_TEMPLATES_DIR", str(tmp_path / "tpl"))
    monkeypatch.setenv("TALKER_CACHE_DIR", str(tmp_path / "cache"))
    pipe = TalkerPipeline()
    tpl, feats = pipe.add_template(clip, "map_man", link=True)
    assert tpl.kind == "video" and tpl.language == "en" and tpl.transcript
    again_tpl, again = pipe.template("map_man")
    assert again.frames == feats.frames and again_tpl.transcript == tpl.transcript


def test_bundled_templates_know_where_their_clips_cut_and_older_ones_learn_it(tmp_path):
    """The templates joined from several GRID sentences store their joins (what the head code
    and the renderer treat as cuts), as found again in their clips now; the single-take ones store
    none. A template analysed before cuts were stored gets them from its clip when loaded."""
    import shutil

    from talker.pipeline import PipelineConfig, TalkerPipeline
    from talker.reference.takes import clip_cuts

    joined = {"grid-s1-man": 3, "grid-s2-man": 1, "grid-s23-woman": 1, "grid-s4-woman": 3}
    for t in store.list_templates(DEFAULT_TEMPLATES_DIR):
        if t.kind != "video":
            continue
        feats = t.features()
        assert feats.cuts is not None and len(feats.cuts) == joined.get(t.name, 0), (t.name, feats.cuts)
        if t.name in joined:
            assert feats.cuts == clip_cuts(t.media_path, feats.span[0], feats.frames, feats.fps), t.name
    old = tmp_path / "tpl" / "grid-s2-man"
    shutil.copytree(DEFAULT_TEMPLATES_DIR / "grid-s2-man", old)
    meta = json.loads((old / "features.json").read_text())
    del meta["cuts"]
    meta["version"] = 3
    (old / "features.json").write_text(json.dumps(meta))
    assert store.get_template("grid-s2-man", tmp_path / "tpl").features().cuts is None
    pipe = TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "cache"), templates_dir=str(tmp_path / "tpl")))
    assert pipe.template("grid-s2-man")[1].cuts == store.get_template("grid-s2-man").features().cuts


@pytest.mark.slow
def test_bundled_clip_templates_carry_the_stock_voice_auto_picks_for_their_speaker(tmp_path):
    """Each clip template carries, per language, the stock voice ``--voice auto`` picks for its
    speaker's sex and pitch (until fitted voices exist), so choosing it needs no speaker analysis."""
    from talker.pipeline import PipelineConfig, TalkerPipeline

    pipe = TalkerPipeline(PipelineConfig(cache_dir=str(tmp_path / "cache")))
    for t in store.list_templates(DEFAULT_TEMPLATES_DIR):
        if t.kind != "video":
            continue
        assert set(t.voices) == {"en", "zh"}, t.name
        assert t.voices == pipe.stock_voices(t.features()), t.name
