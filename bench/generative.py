"""What the GAN and diffusion benchmarks share: scoring samples with the
pipeline's own frozen classifier, the metric's floor, and the figures."""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np

from bench import common


def real_images(pipeline_root: str, split: str, limit: int = 10_000) -> np.ndarray:
    """uint8 [n, 28, 28, 1] images of ExampleGen's `split`."""
    from components.sample_quality import executor
    from tfx.types import standard_artifacts

    examples = standard_artifacts.Examples()
    examples.uri = common.newest(f"{pipeline_root}/ExampleGen/examples/*")
    examples.split_names = json.dumps(["train", "eval", "test"])
    return executor.read_images(examples, split, (28, 28, 1), limit)


class Scorer:
    """The Evaluator's computation, callable on any images: features of the
    run's frozen classifier, against the test split's."""

    def __init__(self, row: dict):
        from components.sample_quality import component, executor, metrics

        self._metrics = metrics
        self.features = executor.FeatureModel(row["feature_model_dir"],
                                              component.FEATURE_SIGNATURE)
        self.real = real_images(row["pipeline_root"], "test")
        real_features, _ = self.features(self.real)
        self.real_stats = metrics.feature_statistics(real_features)

    def score(self, images: np.ndarray) -> dict:
        features, class_ids = self.features(images)
        return self._metrics.score(None, features, class_ids, self.features.num_classes,
                                   real_statistics=self.real_stats).as_dict()

    def floor(self, pipeline_root: str, n: int) -> dict:
        """The score of `n` real eval-split images: what a perfect generator
        would get at this sample size (the metric's noise floor)."""
        return self.score(real_images(pipeline_root, "eval", n))


def sample(model_dir: str, n: int, seed: int = 42, batch_size: int = 250,
           **generate_args) -> tuple[np.ndarray, float]:
    """`n` images from a model's `generate` signature, and the seconds taken."""
    from components.sample_quality import executor

    return executor.Generator(model_dir, generate_args).sample(n, seed, batch_size)


def copy_grid(row: dict, path: str) -> None:
    """The Evaluator's grid of the candidate's first 64 samples."""
    shutil.copyfile(os.path.join(row["evaluation_dir"], "samples.png"), path)


def grid_png(images: np.ndarray, path: str) -> None:
    import tensorflow as tf

    from components.sample_quality import executor

    with open(path, "wb") as f:
        f.write(tf.io.encode_png(executor.sample_grid(images)).numpy())


def plot_curves(rows: list[dict], keys: tuple[str, ...], path: str, title: str) -> None:
    """Per row, the training history's `keys` against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for row in rows:
            values = (row.get("history") or {}).get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", label=row["variant"])
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_):
        self.seconds = time.perf_counter() - self.start
