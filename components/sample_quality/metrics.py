"""Sample-quality metrics of a generative model, on a frozen classifier's features.

Generative models have no accuracy to bless on, so their samples are scored
against real images of the same dataset in the feature space of a
classifier trained on it (the idea of FID, with this project's classifier in
the role of Inception, which cannot be downloaded here and was never trained
on 28x28 grey images anyway):

* ``frechet_distance``: the Fréchet (2-Wasserstein) distance between two
  Gaussians fitted to the features of real and of generated images:
  ``|μr − μg|² + Tr(Σr + Σg − 2 (Σr Σg)^½)``. 0 for identical statistics,
  large for noise. Lower is better.
* ``class_histogram`` / ``coverage``: what share of the samples the
  classifier assigns to each class; the coverage is the fraction of classes
  that receive at least half of a uniform share (mode collapse lowers it),
  and ``max_class_share`` the largest single share.

NumPy and SciPy only: the executor calls these on features it computed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    mean: np.ndarray  # [d]
    covariance: np.ndarray  # [d, d]
    count: int


def feature_statistics(features: np.ndarray) -> FeatureStatistics:
    """Mean and (unbiased) covariance of `features` [n, d], n >= 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need features of shape [n >= 2, d]; got {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain NaN or infinity (did the generator diverge?)")
    return FeatureStatistics(features.mean(axis=0), np.cov(features, rowvar=False),
                             features.shape[0])


def frechet_distance(a: FeatureStatistics, b: FeatureStatistics) -> float:
    """Fréchet distance between the Gaussians N(a.mean, a.cov) and N(b.mean, b.cov)."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape} vs {b.mean.shape}")
    diff = a.mean - b.mean
    covmean, _ = scipy.linalg.sqrtm(a.covariance @ b.covariance, disp=False)
    if not np.all(np.isfinite(covmean)):
        # A singular product (few samples, dead features): regularize slightly,
        # as the usual FID implementations do.
        eps = 1e-6 * np.eye(a.covariance.shape[0])
        covmean = scipy.linalg.sqrtm((a.covariance + eps) @ (b.covariance + eps))
    # The square root of a product of PSD matrices is real up to rounding.
    covmean = np.real(covmean)
    value = diff @ diff + np.trace(a.covariance) + np.trace(b.covariance) - 2 * np.trace(covmean)
    return float(max(value, 0.0))


def class_histogram(class_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """The share of `class_ids` in each of `num_classes` classes (sums to 1)."""
    class_ids = np.asarray(class_ids).reshape(-1)
    if class_ids.size == 0:
        raise ValueError("no class ids to count")
    if class_ids.min() < 0 or class_ids.max() >= num_classes:
        raise ValueError(f"class ids outside 0..{num_classes - 1}")
    return np.bincount(class_ids, minlength=num_classes) / class_ids.size


def coverage(histogram: np.ndarray) -> float:
    """Fraction of classes with at least half of a uniform share of the samples."""
    histogram = np.asarray(histogram, np.float64)
    return float(np.mean(histogram >= 0.5 / histogram.size))


@dataclasses.dataclass(frozen=True)
class SampleQuality:
    """The scores of one model's samples against the real images."""

    frechet_distance: float
    class_coverage: float
    max_class_share: float
    class_histogram: list[float]
    num_samples: int
    num_real: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def score(real_features: np.ndarray, generated_features: np.ndarray,
          generated_class_ids: np.ndarray, num_classes: int,
          real_statistics: FeatureStatistics | None = None) -> SampleQuality:
    """Every score of generated samples against real ones (`real_statistics`
    saves recomputing them when several models are scored)."""
    real = real_statistics or feature_statistics(real_features)
    generated = feature_statistics(generated_features)
    histogram = class_histogram(generated_class_ids, num_classes)
    return SampleQuality(frechet_distance=frechet_distance(real, generated),
                         class_coverage=coverage(histogram),
                         max_class_share=float(histogram.max()),
                         class_histogram=[float(h) for h in histogram],
                         num_samples=generated.count, num_real=real.count)
