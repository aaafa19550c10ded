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
