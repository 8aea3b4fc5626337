"""``DataValidator``: the pipeline's ExampleValidator, one that stops the run.

Wiring (``pipelines.factory``): StatisticsGen's statistics and the schema
in, plus ``baseline_statistics`` from a resolver that picks the latest
``validated_statistics`` this component published in an earlier run (the
last span that passed); Transform is ordered after it, so an anomaly stops
the run before anything is transformed, trained or pushed.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel_utils, standard_artifacts

from components.data_validation import executor, spec


class DataValidator(base_component.BaseComponent):
    """Validates statistics against a schema and stops the run on anomalies.

    Args:
      statistics: this run's ExampleStatistics.
      schema: the schema, with its value domains and, for drift, the
        ``drift_comparator`` of each feature to watch.
      baseline_statistics: the last validated span's statistics (optional;
        without them the drift comparators are skipped).
      examples: the Examples the statistics describe (optional): their id
        and span are recorded on both outputs, so a resolver can tell which
        ingestion passed (``span_window``); their data is not read.
      exclude_splits: splits not to validate.
      drift_split: the split compared with the baseline's same split.
      fail_on_anomalies: False records anomalies and lets the run go on
        (what TFX's ExampleValidator does).
    """

    SPEC_CLASS = spec.DataValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel,
                 baseline_statistics: Optional[types.BaseChannel] = None,
                 examples: Optional[types.BaseChannel] = None, *,
                 exclude_splits: Sequence[str] = (), drift_split: str = "train",
                 fail_on_anomalies: bool = True):
        super().__init__(spec.DataValidatorSpec(
            statistics=statistics, schema=schema, baseline_statistics=baseline_statistics,
            examples=examples,
            exclude_splits=json.dumps(list(exclude_splits)), drift_split=drift_split,
            fail_on_anomalies=int(bool(fail_on_anomalies)),
            anomalies=channel_utils.as_channel([standard_artifacts.ExampleAnomalies()]),
            validated_statistics=channel_utils.as_channel(
                [standard_artifacts.ExampleStatistics()])))


def baseline_resolver(component_id: str = "ExampleValidator") -> "types.BaseNode":
    """A Resolver of the latest ``validated_statistics`` published by the
    node ``component_id`` (this component in an earlier run); id
    ``latest_validated_statistics_resolver``."""
    from tfx import v1 as tfx

    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
        statistics=tfx.dsl.Channel(type=standard_artifacts.ExampleStatistics,
                                   producer_component_id=component_id,
                                   output_key=spec.VALIDATED_STATISTICS),
    ).with_id("latest_validated_statistics_resolver")
