"""Helpers for the components' tests (not collected as tests themselves)."""

from __future__ import annotations

import glob

import tensorflow as tf
from tfx.types import standard_artifacts


def examples_artifact(uri) -> standard_artifacts.Examples:
    """An Examples artifact at `uri`, as the orchestrator would hand it over."""
    artifact = standard_artifacts.Examples()
    artifact.uri = str(uri)
    return artifact


def read_examples(pattern: str, spec: dict) -> list[dict]:
    """Every GZIP TFRecord matching `pattern` parsed with `spec`, in file order."""
    files = sorted(glob.glob(pattern))
    assert files, pattern
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.io.parse_single_example(r, spec) for r in records]


def pipeline(tmp_path, name: str, components: list):
    """A local pipeline of `components` with its own root and SQLite metadata."""
    from tfx.orchestration import metadata
    from tfx.orchestration import pipeline as tfx_pipeline

    return tfx_pipeline.Pipeline(
        pipeline_name=name,
        pipeline_root=str(tmp_path / name / "root"),
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            str(tmp_path / name / "metadata.sqlite")),
        components=components)
