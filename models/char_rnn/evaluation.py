"""TFMA metrics for the char-RNN family: next-character accuracy and bits
per character over a whole split.

The model's scoring signature (`serving_default`) returns, per example (a
chunk of text), how many next-character predictions it made, how many were
right and their total negative log2-likelihood; this metric sums them over
the split, so the result is exact however TFMA batches the examples.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.proto import config_pb2

NEXT_CHAR_ACCURACY = "next_char_accuracy"
BITS_PER_CHAR = "bits_per_char"

# Keys of the scoring signature's outputs.
SCORED = "scored_chars"
CORRECT = "correct_chars"
NLL_BITS = "nll_bits"


class NextCharMetrics(metric_types.Metric):
    """Accuracy of the most likely next character, and bits per character."""

    def __init__(self, name: str = NEXT_CHAR_ACCURACY):
        super().__init__(_computations, name=name)


def _computations(name: str = NEXT_CHAR_ACCURACY,
                  eval_config: config_pb2.EvalConfig | None = None,
                  model_names: list[str] | None = None,
                  output_names: list[str] | None = None,
                  example_weighted: bool = False) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        keys = [metric_types.MetricKey(name=n, model_name=model_name,
                                       example_weighted=example_weighted)
                for n in (name, BITS_PER_CHAR)]
        computations.append(metric_types.MetricComputation(
            keys=keys, preprocessors=None, combiner=_Combiner(keys, model_name)))
    return computations


@dataclasses.dataclass
class _Sums:
    scored: float = 0.0
    correct: float = 0.0
    nll_bits: float = 0.0


class _Combiner(beam.CombineFn):
    def __init__(self, keys: list[metric_types.MetricKey], model_name: str):
        self._accuracy_key, self._bpc_key = keys
        self._model_name = model_name

    def create_accumulator(self) -> _Sums:
        return _Sums()

    def add_input(self, acc: _Sums, element: metric_types.StandardMetricInputs) -> _Sums:
        prediction = element.prediction
        if self._model_name and isinstance(prediction, dict) and self._model_name in prediction:
            prediction = prediction[self._model_name]
        if not isinstance(prediction, dict) or not {SCORED, CORRECT, NLL_BITS} <= set(prediction):
            raise ValueError(f"{NEXT_CHAR_ACCURACY} needs the scoring signature's outputs "
                             f"{SCORED}, {CORRECT}, {NLL_BITS}; got {prediction!r:.200}")
        acc.scored += float(np.sum(prediction[SCORED]))
        acc.correct += float(np.sum(prediction[CORRECT]))
        acc.nll_bits += float(np.sum(prediction[NLL_BITS]))
        return acc

    def merge_accumulators(self, accumulators: Iterable[_Sums]) -> _Sums:
        total = _Sums()
        for acc in accumulators:
            total.scored += acc.scored
            total.correct += acc.correct
            total.nll_bits += acc.nll_bits
        return total

    def extract_output(self, acc: _Sums) -> dict[metric_types.MetricKey, float]:
        if acc.scored == 0:
            return {self._accuracy_key: float("nan"), self._bpc_key: float("nan")}
        return {self._accuracy_key: acc.correct / acc.scored,
                self._bpc_key: acc.nll_bits / acc.scored}


metric_types.register_metric(NextCharMetrics)
