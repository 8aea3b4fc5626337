"""Expected calibration error: the combiner against a NumPy reference,
exact across batches and merges, binary predictions, example weights."""

from __future__ import annotations

import numpy as np
import pytest
from tensorflow_model_analysis.metrics import metric_types

from models.classifier import evaluation

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def reference_ece(labels, probabilities, num_bins=10, weights=None) -> float:
    """Guo et al.'s definition, written out independently of the metric."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, np.float64)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    ece = 0.0
    for b in range(num_bins):
        upper = confidence <= edges[b + 1] if b == num_bins - 1 else confidence < edges[b + 1]
        in_bin = (confidence >= edges[b]) & upper
        if weights[in_bin].sum() == 0:
            continue
        accuracy = np.average(correct[in_bin], weights=weights[in_bin])
        mean_confidence = np.average(confidence[in_bin], weights=weights[in_bin])
        ece += weights[in_bin].sum() / weights.sum() * abs(accuracy - mean_confidence)
    return ece


def _random(n=500, k=10, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # Labels that agree with the argmax more often than chance.
    labels = np.where(rng.random(n) < 0.6, probabilities.argmax(axis=1), rng.integers(0, k, n))
    return labels, probabilities


def _combiner(metric=None):
    (computation,) = (metric or evaluation.ExpectedCalibrationError()).computations()
    return computation.keys[0], computation.combiner


def _inputs(label, prediction, weight=None):
    extracts = {"labels": np.asarray([label]), "predictions": np.asarray(prediction)}
    if weight is not None:
        extracts["example_weights"] = np.asarray([weight], np.float32)
    return metric_types.StandardMetricInputs(extracts)


def _fold(combiner, elements):
    acc = combiner.create_accumulator()
    for element in elements:
        acc = combiner.add_input(acc, element)
    return acc


@pytest.mark.parametrize("num_bins", [1, 10, 15])
def test_ece_equals_the_numpy_reference_across_batches(num_bins):
    labels, probabilities = _random()
    key, combiner = _combiner(evaluation.ExpectedCalibrationError(num_bins=num_bins))
    elements = [_inputs(label, p) for label, p in zip(labels, probabilities)]
    # Three uneven partial results, merged in another order.
    parts = [_fold(combiner, elements[:7]), _fold(combiner, elements[7:300]),
             _fold(combiner, elements[300:])]
    merged = combiner.merge_accumulators([parts[2], combiner.create_accumulator(),
                                          combiner.merge_accumulators(parts[:2])])
    expected = reference_ece(labels, probabilities, num_bins)
    assert expected > 0.01
    assert combiner.extract_output(merged)[key] == pytest.approx(expected, rel=1e-9)


def test_perfectly_calibrated_and_overconfident_by_hand():
    key, combiner = _combiner()
    # Confidence 0.75 (bin 7), right 3 times out of 4: calibrated.
    calibrated = [_inputs(0, [0.75, 0.25]), _inputs(0, [0.75, 0.25]), _inputs(0, [0.75, 0.25]),
                  _inputs(1, [0.75, 0.25])]
    assert combiner.extract_output(_fold(combiner, calibrated))[key] == pytest.approx(0.0)
    # Confidence 0.95, right half the time: ECE 0.45.
    overconfident = [_inputs(0, [0.95, 0.05]), _inputs(1, [0.95, 0.05])]
    assert combiner.extract_output(_fold(combiner, overconfident))[key] == pytest.approx(0.45)
    assert np.isnan(combiner.extract_output(combiner.create_accumulator())[key])


def test_a_sigmoid_probability_is_the_probability_of_class_one():
    key, combiner = _combiner()
    p = np.array([0.9, 0.2, 0.65, 0.5])
    labels = np.array([1, 0, 0, 1])
    two_column = np.stack([1 - p, p], axis=1)
    single = combiner.extract_output(_fold(combiner, [_inputs(y, [q]) for y, q in zip(labels, p)]))
    assert single[key] == pytest.approx(reference_ece(labels, two_column))


def test_example_weights_count_when_weighted():
    labels, probabilities = _random(n=200, seed=3)
    weights = np.random.default_rng(4).integers(1, 5, size=200).astype(float)
    metric = evaluation.ExpectedCalibrationError()
    (computation,) = metric.computations(example_weighted=True)
    key, combiner = computation.keys[0], computation.combiner
    acc = _fold(combiner, [_inputs(y, p, w) for y, p, w in zip(labels, probabilities, weights)])
    assert key.example_weighted
    assert combiner.extract_output(acc)[key] == pytest.approx(
        reference_ece(labels, probabilities, weights=weights))


def test_registered_with_its_name_and_bad_bins():
    assert "ExpectedCalibrationError" in metric_types.registered_metrics()
    assert _combiner()[0].name == "expected_calibration_error"
    with pytest.raises(ValueError, match="num_bins must be >= 1"):
        evaluation.ExpectedCalibrationError(num_bins=0)
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        evaluation.confidence_and_correct(np.array([0, 1]), np.ones((3, 2)) / 2)
