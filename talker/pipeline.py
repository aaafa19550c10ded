"""``TalkerPipeline``: the one entry point that the CLI, the Gradio app and the Python API share.

Stages live in their own packages; this class only wires them and keeps loaded state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .reference.analysis import AnalysisConfig, analyze_reference
from .reference.cache import FeatureCache
from .reference.features import ReferenceFeatures
from .templates import store


@dataclass
class PipelineConfig:
    templates_dir: str | None = None  # None: $TALKER_TEMPLATES_DIR, else the bundled templates
    cache_dir: str | None = None  # None: the user cache
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)


class TalkerPipeline:
    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.cache = FeatureCache(Path(self.config.cache_dir) / "features" if self.config.cache_dir else None)

    # -- references ---------------------------------------------------------------------------
    def analyze(self, media: str | Path, *, transcript: str | None = None, language: str | None = None,
                progress=None) -> ReferenceFeatures:
        return analyze_reference(media, transcript=transcript, language=language,
                                 config=self.config.analysis, cache=self.cache, progress=progress)

    # -- templates ----------------------------------------------------------------------------
    def templates(self) -> list[store.Template]:
        return store.list_templates(self.config.templates_dir)

    def template(self, name: str) -> tuple[store.Template, ReferenceFeatures]:
        """A template and its features (analysed now if the folder has none yet)."""
        tpl = store.get_template(name, self.config.templates_dir)
        feats = tpl.features()
        if feats is None:
            feats = self.analyze(tpl.media_path, transcript=tpl.transcript or None, language=tpl.language or None)
        return tpl, feats

    def add_template(self, media: str | Path, name: str, **kwargs) -> tuple[store.Template, ReferenceFeatures]:
        return store.add_template(media, name, root=self.config.templates_dir,
                                  analysis_config=self.config.analysis, **kwargs)

    def delete_template(self, name: str) -> None:
        store.delete_template(name, self.config.templates_dir)
