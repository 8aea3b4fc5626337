"""Reading a pipeline run's outputs back, and finding the shared datasets,
for the end-to-end tests."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_dataset(*parts: str) -> str:
    """Path of a file under ../shared/datasets. Missing, the calling test
    module is skipped locally; in CI (CI set) that is an error."""
    path = os.path.join(REPO, "..", "shared", "datasets", *parts)
    if not os.path.exists(path):
        if os.environ.get("CI"):
            raise RuntimeError(f"CI needs the shared dataset at {path}")
        pytest.skip(f"shared dataset not found at {path}", allow_module_level=True)
    return path


def only(pattern: str) -> str:
    matches = glob.glob(pattern)
    assert matches, f"nothing matches {pattern}"
    # Output folders end in the MLMD execution id: the largest is the newest.
    return max(matches, key=lambda p: int(os.path.basename(p)) if os.path.basename(p).isdigit() else -1)


def read_examples(split_dir: str, spec: dict) -> dict[str, np.ndarray]:
    files = sorted(glob.glob(os.path.join(split_dir, "*")))
    assert files, f"no examples in {split_dir}"
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(100_000)
    batch = next(iter(ds.map(lambda s: tf.io.parse_example(s, spec))))
    return {k: v.numpy() for k, v in batch.items()}


def raw_examples(pipeline_root: str, split: str, n_steps: int = 50, horizon: int = 10):
    spec = {"series": tf.io.FixedLenFeature([n_steps], tf.float32),
            "target": tf.io.FixedLenFeature([horizon], tf.float32),
            "series_id": tf.io.FixedLenFeature([], tf.string)}
    return read_examples(os.path.join(only(f"{pipeline_root}/ExampleGen/examples/*"),
                                      f"Split-{split}"), spec)


def serialized_examples(pipeline_root: str, split: str) -> list[bytes]:
    split_dir = os.path.join(only(f"{pipeline_root}/ExampleGen/examples/*"), f"Split-{split}")
    files = sorted(glob.glob(os.path.join(split_dir, "*")))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def pushed_versions(serving_dir: str) -> list[str]:
    return sorted(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else []


def run_and_load_pushed(work: str, name: str, argv: list[str]) -> dict:
    """Runs `python -m pipelines.run` with `argv` under `work` (pipeline
    `name`), checks that exactly one model was pushed, and returns the paths
    and the loaded SavedModel: {"work", "root", "serving", "model_dir", "model"}."""
    from pipelines.run import main as run_pipeline

    code = run_pipeline([*argv, "--work-dir", str(work)])
    assert code == 0, f"pipeline {name} exited with {code}"
    serving = os.path.join(work, "serving_model", name)
    versions = pushed_versions(serving)
    assert len(versions) == 1, versions
    model_dir = os.path.join(serving, versions[0])
    return {"work": str(work), "root": os.path.join(work, "tfx_pipeline_output", name),
            "serving": serving, "model_dir": model_dir, "model": tf.saved_model.load(model_dir)}
