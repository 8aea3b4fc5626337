"""Pipeline definitions: one factory, one spec per model family."""

from __future__ import annotations

from typing import Any

from pipelines.config import PipelineConfig


def build_pipeline(family: str, config: PipelineConfig | None = None, *,
                   variant: str | None = None, profile: str | None = None,
                   **options: Any):
    """The TFX pipeline for `family` (name → spec → factory)."""
    from pipelines.factory import create_pipeline
    from pipelines.families import family_module

    module = family_module(family)
    spec = module.build_spec(variant or module.DEFAULT_VARIANT,
                             profile or module.DEFAULT_PROFILE, **options)
    return create_pipeline(spec, config or PipelineConfig.local(spec.name))
