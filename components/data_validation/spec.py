"""``DataValidator``'s inputs, outputs and parameters."""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Inputs
STATISTICS = "statistics"  # this run's (StatisticsGen's)
SCHEMA = "schema"  # the curated schema (ImportSchemaGen's) or an inferred one
BASELINE_STATISTICS = "baseline_statistics"  # the last validated span's (optional)
# Outputs
ANOMALIES = "anomalies"
VALIDATED_STATISTICS = "validated_statistics"  # this run's, once validated


class DataValidatorSpec(ComponentSpec):
    """See ``component.DataValidator`` for what each parameter means."""

    PARAMETERS = {
        "exclude_splits": ExecutionParameter(type=str),  # JSON list
        "drift_split": ExecutionParameter(type=str),
        "fail_on_anomalies": ExecutionParameter(type=int),
    }
    INPUTS = {
        STATISTICS: ChannelParameter(type=standard_artifacts.ExampleStatistics),
        SCHEMA: ChannelParameter(type=standard_artifacts.Schema),
        BASELINE_STATISTICS: ChannelParameter(type=standard_artifacts.ExampleStatistics,
                                              optional=True),
    }
    OUTPUTS = {
        ANOMALIES: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        VALIDATED_STATISTICS: ChannelParameter(type=standard_artifacts.ExampleStatistics),
    }
