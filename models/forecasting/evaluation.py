"""TFMA metric that compares a forecaster with the naive forecast.

Keras metrics only see labels and predictions; "beat the naive forecast"
also needs the input window (its last value), so this is a TFMA metric whose
combiner reads the raw `series` feature alongside label and prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

NAIVE_FORECAST_SKILL = "naive_forecast_skill"
NAIVE_MSE = "naive_mean_squared_error"


class NaiveForecastSkill(metric_types.Metric):
    """Skill score 1 - MSE(model) / MSE(naive); > 0 means the model beats naive.

    The naive forecast repeats the last observed value of `series_key` for
    every step of the horizon. The combiner also reports the naive MSE itself
    (`naive_mean_squared_error`) so reports can show the baseline.
    """

    def __init__(self, name: str = NAIVE_FORECAST_SKILL, series_key: str = "series"):
        super().__init__(_naive_skill_computations, name=name, series_key=series_key)


def _naive_skill_computations(
    name: str = NAIVE_FORECAST_SKILL,
    series_key: str = "series",
    eval_config: config_pb2.EvalConfig | None = None,
    model_names: list[str] | None = None,
    output_names: list[str] | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            skill_key = metric_types.MetricKey(
                name=name, model_name=model_name, output_name=output_name,
                example_weighted=example_weighted)
            naive_key = metric_types.MetricKey(
                name=NAIVE_MSE, model_name=model_name, output_name=output_name,
                example_weighted=example_weighted)
            computations.append(metric_types.MetricComputation(
                keys=[skill_key, naive_key],
                preprocessors=[metric_types.FeaturePreprocessor(feature_keys=[series_key])],
                combiner=_NaiveSkillCombiner(
                    skill_key, naive_key, eval_config, series_key, example_weighted)))
    return computations


@dataclasses.dataclass
class _Accumulator:
    model_sse: float = 0.0
    naive_sse: float = 0.0
    weight: float = 0.0


class _NaiveSkillCombiner(beam.CombineFn):
    def __init__(self, skill_key: metric_types.MetricKey, naive_key: metric_types.MetricKey,
                 eval_config: config_pb2.EvalConfig | None, series_key: str,
                 example_weighted: bool):
        self._skill_key = skill_key
        self._naive_key = naive_key
        self._eval_config = eval_config
        self._series_key = series_key
        self._example_weighted = example_weighted

    def create_accumulator(self) -> _Accumulator:
        return _Accumulator()

    def add_input(self, acc: _Accumulator,
                  element: metric_types.StandardMetricInputs) -> _Accumulator:
        label, prediction, weight = next(metric_util.to_label_prediction_example_weight(
            element, eval_config=self._eval_config,
            model_name=self._skill_key.model_name,
            output_name=self._skill_key.output_name,
            example_weighted=self._example_weighted, flatten=False,
            require_single_example_weight=True))
        series = element.features.get(self._series_key)
        if series is None:
            raise ValueError(
                f"{NAIVE_FORECAST_SKILL} needs the raw feature '{self._series_key}' "
                f"in the evaluation examples; found {sorted(element.features)}")
        label = np.asarray(label, dtype=np.float64).reshape(-1)
        prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
        last_value = float(np.asarray(series, dtype=np.float64).reshape(-1)[-1])
        w = float(metric_util.safe_to_scalar(weight))
        acc.model_sse += w * float(np.mean((label - prediction) ** 2))
        acc.naive_sse += w * float(np.mean((label - last_value) ** 2))
        acc.weight += w
        return acc

    def merge_accumulators(self, accumulators: Iterable[_Accumulator]) -> _Accumulator:
        result = _Accumulator()
        for acc in accumulators:
            result.model_sse += acc.model_sse
            result.naive_sse += acc.naive_sse
            result.weight += acc.weight
        return result

    def extract_output(self, acc: _Accumulator) -> dict[metric_types.MetricKey, float]:
        if acc.weight == 0 or acc.naive_sse == 0:
            return {self._skill_key: float("nan"), self._naive_key: float("nan")}
        return {
            self._skill_key: 1.0 - acc.model_sse / acc.naive_sse,
            self._naive_key: acc.naive_sse / acc.weight,
        }


metric_types.register_metric(NaiveForecastSkill)
