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


def pipeline(tmp_path, name: str, components: list, enable_cache: bool = False):
    """A local pipeline of `components` with its own root and SQLite metadata."""
    from tfx.orchestration import metadata
    from tfx.orchestration import pipeline as tfx_pipeline

    return tfx_pipeline.Pipeline(
        pipeline_name=name,
        pipeline_root=str(tmp_path / name / "root"),
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            str(tmp_path / name / "metadata.sqlite")),
        components=components, enable_cache=enable_cache)


def examples_artifacts(pipe) -> list:
    """Every Examples artifact in `pipe`'s metadata, oldest first."""
    from tfx.orchestration import metadata

    with metadata.Metadata(pipe.metadata_connection_config) as m:
        return sorted(m.store.get_artifacts_by_type("Examples"), key=lambda a: a.id)


def last_execution_state(pipe) -> int:
    """The state (metadata_store_pb2.Execution.State) of `pipe`'s newest execution."""
    from tfx.orchestration import metadata

    with metadata.Metadata(pipe.metadata_connection_config) as m:
        executions = sorted(m.store.get_executions(), key=lambda e: e.id)
    return executions[-1].last_known_state


def rewrite(path, data: bytes) -> None:
    """Writes `data` to `path` and moves its mtime 10 s on: TFX's input
    fingerprint is sizes and mtimes in whole seconds, so a rewrite within
    the second of the first write would otherwise look unchanged."""
    import os

    with open(path, "wb") as f:
        f.write(data)
    mtime = os.stat(path).st_mtime + 10
    os.utime(path, (mtime, mtime))
