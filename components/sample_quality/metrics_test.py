"""The Fréchet distance and class coverage against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from components.sample_quality import metrics


def _gaussian(n: int, mean, std, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(mean, std, size=(n, len(mean)))


def test_distance_of_a_distribution_to_itself_is_zero():
    x = _gaussian(2000, [0.0] * 8, 1.0, seed=0)
    stats = metrics.feature_statistics(x)
    assert metrics.frechet_distance(stats, stats) == pytest.approx(0.0, abs=1e-6)


def test_two_samples_of_the_same_data_are_close_and_noise_is_far():
    same_a = metrics.feature_statistics(_gaussian(4000, [1.0] * 8, 1.0, seed=1))
    same_b = metrics.feature_statistics(_gaussian(4000, [1.0] * 8, 1.0, seed=2))
    noise = metrics.feature_statistics(_gaussian(4000, [4.0] * 8, 3.0, seed=3))
    close = metrics.frechet_distance(same_a, same_b)
    far = metrics.frechet_distance(same_a, noise)
    assert close < 0.05
    assert far > 100 * close


def test_closed_form_for_diagonal_gaussians():
    # For diagonal covariances the distance is |Δμ|² + Σ (σa − σb)².
    a = metrics.FeatureStatistics(np.array([0.0, 1.0]), np.diag([1.0, 4.0]), 100)
    b = metrics.FeatureStatistics(np.array([3.0, 1.0]), np.diag([4.0, 1.0]), 100)
    assert metrics.frechet_distance(a, b) == pytest.approx(9.0 + 1.0 + 1.0)


def test_singular_covariances_still_give_a_finite_distance():
    x = np.zeros((50, 4))
    x[:, 0] = np.arange(50)  # three dead features
    stats = metrics.feature_statistics(x)
    assert np.isfinite(metrics.frechet_distance(stats, stats))


def test_bad_features_are_named():
    with pytest.raises(ValueError, match="shape"):
        metrics.feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.feature_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="feature sizes differ"):
        metrics.frechet_distance(metrics.feature_statistics(np.eye(3)),
                                 metrics.feature_statistics(np.eye(4)))


def test_coverage_and_mode_collapse():
    balanced = metrics.class_histogram(np.arange(1000) % 10, 10)
    np.testing.assert_allclose(balanced, 0.1)
    assert metrics.coverage(balanced) == 1.0
    collapsed = metrics.class_histogram(np.array([3] * 95 + [4] * 5), 10)
    assert metrics.coverage(collapsed) == 0.2  # class 4's 5% is exactly half a share
    with pytest.raises(ValueError, match="outside"):
        metrics.class_histogram(np.array([10]), 10)


def test_score_reports_every_figure():
    real = _gaussian(500, [0.0] * 4, 1.0, seed=4)
    generated = _gaussian(300, [0.5] * 4, 1.0, seed=5)
    quality = metrics.score(real, generated, np.arange(300) % 2, num_classes=4)
    assert quality.num_real == 500 and quality.num_samples == 300
    assert quality.class_coverage == 0.5 and quality.max_class_share == 0.5
    assert quality.frechet_distance == pytest.approx(1.0, abs=0.35)  # |Δμ|² = 4 · 0.25
    assert set(quality.as_dict()) >= {"frechet_distance", "class_coverage", "class_histogram"}
