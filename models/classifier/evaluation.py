"""Expected calibration error (Guo et al., 2017) as a TFMA metric.

A classifier is calibrated when, among the examples it labels with
confidence p (its largest class probability), a fraction p is right. The
metric sorts examples into ``num_bins`` equal-width confidence bins over
[0, 1] and averages |accuracy − mean confidence| over the bins, weighted by
their share of the examples:

    ECE = Σ_b (n_b / N) · |acc_b − conf_b| = Σ_b |correct_b − confidence_b| / N

The combiner keeps, per bin, the (weighted) number of examples, the sum of
their confidences and the number right, and adds those up when TFMA merges
partial results, so the value is exact however the examples are batched or
split across workers. Predictions are the class probabilities [k] (or one
sigmoid probability, the probability of class 1); labels are class ids.
Example weights count when the metric is example-weighted.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

ECE = "expected_calibration_error"
DEFAULT_BINS = 10


def confidence_and_correct(labels: np.ndarray, probabilities: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, 1.0 where the most probable class is the label) per
    example, for probabilities [n, k] (k >= 2) or [n, 1] (a sigmoid's p)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if probabilities.ndim == 1:
        probabilities = probabilities.reshape(labels.shape[0], -1)
    if probabilities.shape[-1] == 1:
        probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=-1)
    if probabilities.shape[0] != labels.shape[0]:
        raise ValueError(f"{ECE}: {probabilities.shape[0]} predictions for {labels.shape[0]} labels")
    predicted = np.argmax(probabilities, axis=-1)
    return probabilities.max(axis=-1), (predicted == labels).astype(np.float64)


def bin_index(confidence: np.ndarray, num_bins: int) -> np.ndarray:
    """Equal-width bins over [0, 1]; confidence 1.0 falls in the last."""
    return np.clip(np.floor(np.asarray(confidence) * num_bins).astype(np.int64), 0, num_bins - 1)


class ExpectedCalibrationError(metric_types.Metric):
    """Expected calibration error of the top-class confidence (lower is better)."""

    def __init__(self, name: str = ECE, num_bins: int = DEFAULT_BINS):
        if int(num_bins) < 1:
            raise ValueError(f"{ECE}: num_bins must be >= 1, got {num_bins}")
        super().__init__(_ece_computations, name=name, num_bins=int(num_bins))


def _ece_computations(name: str = ECE, num_bins: int = DEFAULT_BINS,
                      eval_config: config_pb2.EvalConfig | None = None,
                      model_names: list[str] | None = None,
                      output_names: list[str] | None = None,
                      example_weighted: bool = False) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                         example_weighted=example_weighted)
            computations.append(metric_types.MetricComputation(
                keys=[key], preprocessors=None,
                combiner=_EceCombiner(key, eval_config, num_bins, example_weighted)))
    return computations


class _EceCombiner(beam.CombineFn):
    """Accumulator: float64 [3, num_bins] = weight, confidence sum, correct sum per bin."""

    def __init__(self, key: metric_types.MetricKey, eval_config: config_pb2.EvalConfig | None,
                 num_bins: int, example_weighted: bool):
        self._key = key
        self._eval_config = eval_config
        self._num_bins = num_bins
        self._example_weighted = example_weighted

    def create_accumulator(self) -> np.ndarray:
        return np.zeros((3, self._num_bins), np.float64)

    def add_input(self, acc: np.ndarray, element: metric_types.StandardMetricInputs) -> np.ndarray:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, example_weighted=self._example_weighted,
                flatten=False, squeeze=False, require_single_example_weight=True):
            label = np.asarray(label).reshape(-1)
            prediction = np.asarray(prediction, dtype=np.float64).reshape(label.shape[0], -1)
            confidence, correct = confidence_and_correct(label, prediction)
            weights = np.broadcast_to(np.asarray(weight, np.float64).reshape(-1), confidence.shape)
            bins = bin_index(confidence, self._num_bins)
            np.add.at(acc[0], bins, weights)
            np.add.at(acc[1], bins, weights * confidence)
            np.add.at(acc[2], bins, weights * correct)
        return acc

    def merge_accumulators(self, accumulators: Iterable[np.ndarray]) -> np.ndarray:
        total = self.create_accumulator()
        for acc in accumulators:
            total += acc
        return total

    def extract_output(self, acc: np.ndarray) -> dict[metric_types.MetricKey, float]:
        return {self._key: expected_calibration_error_from_bins(acc)}


def expected_calibration_error_from_bins(acc: np.ndarray) -> float:
    """ECE from per-bin (weight, confidence sum, correct sum); NaN for no examples."""
    total = float(acc[0].sum())
    if total <= 0:
        return float("nan")
    return float(np.abs(acc[2] - acc[1]).sum() / total)


metric_types.register_metric(ExpectedCalibrationError)
