"""TFMA metric of the autoencoders family: the reconstruction MSE over a split.

The model's scoring signature (``serving_default``: serialized raw
tf.Examples → per-example outputs) returns each image's mean squared error
between its pixels and their reconstruction, both in the scaled space the
model was trained in (pixels in [0, 1] with the default "unit" scaling: the
book's loss). ``ReconstructionMse`` is the mean of those per-image errors
over the split; every image has the same number of pixels, so this is also
the MSE over every pixel of the split. It keeps a sum and a count, so the
result is exact however TFMA batches or splits the examples. It ignores
example weights: every image counts once.
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.proto import config_pb2

RECONSTRUCTION_MSE = "reconstruction_mse"  # the metric's name and the signature's output key


def _per_example_errors(element: metric_types.StandardMetricInputs, model_name: str) -> np.ndarray:
    prediction = element.prediction
    if model_name and isinstance(prediction, dict) and model_name in prediction:
        prediction = prediction[model_name]
    if isinstance(prediction, dict):
        if RECONSTRUCTION_MSE not in prediction:
            raise ValueError(f"{RECONSTRUCTION_MSE} needs the scoring signature's output "
                             f"{RECONSTRUCTION_MSE!r}; got outputs {sorted(prediction)}")
        prediction = prediction[RECONSTRUCTION_MSE]
    if prediction is None:
        raise ValueError(f"{RECONSTRUCTION_MSE}: the example has no model output")
    # One example (a scalar or shape [1]) or a batch of them.
    return np.asarray(prediction, dtype=np.float64).reshape(-1)


class ReconstructionMse(metric_types.Metric):
    """Mean over the examples of the per-example reconstruction MSE."""

    def __init__(self, name: str = RECONSTRUCTION_MSE):
        super().__init__(_computations, name=name)


def _computations(name: str = RECONSTRUCTION_MSE,
                  eval_config: config_pb2.EvalConfig | None = None,
                  model_names: list[str] | None = None,
                  output_names: list[str] | None = None,
                  example_weighted: bool = False) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        key = metric_types.MetricKey(name=name, model_name=model_name,
                                     example_weighted=example_weighted)
        computations.append(metric_types.MetricComputation(
            keys=[key], preprocessors=None, combiner=_MseCombiner(key, model_name)))
    return computations


class _MseCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, model_name: str):
        self._key = key
        self._model_name = model_name

    def create_accumulator(self) -> list[float]:
        return [0.0, 0.0]  # sum of per-example errors, examples

    def add_input(self, acc: list[float], element: metric_types.StandardMetricInputs) -> list[float]:
        errors = _per_example_errors(element, self._model_name)
        acc[0] += float(np.sum(errors))
        acc[1] += errors.size
        return acc

    def merge_accumulators(self, accumulators: Iterable[list[float]]) -> list[float]:
        total = self.create_accumulator()
        for errors, count in accumulators:
            total[0] += errors
            total[1] += count
        return total

    def extract_output(self, acc: list[float]) -> dict[metric_types.MetricKey, Any]:
        errors, count = acc
        # NaN for no examples: nothing was evaluated, which is not an error of 0.
        return {self._key: errors / count if count else float("nan")}


metric_types.register_metric(ReconstructionMse)
