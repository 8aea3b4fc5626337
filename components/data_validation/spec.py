"""``DataValidator``'s inputs, outputs and parameters."""

from __future__ import annotations

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Inputs
STATISTICS = "statistics"  # this run's (StatisticsGen's)
SCHEMA = "schema"  # the curated schema (ImportSchemaGen's) or an inferred one
BASELINE_STATISTICS = "baseline_statistics"  # the last validated span's (optional)
EXAMPLES = "examples"  # the ingestion the statistics describe (optional; recorded, not read)
# Custom properties of both outputs when EXAMPLES is given: which Examples
# artifact (ML Metadata id) and span were validated. StatisticsGen copies the
# Examples' span *property*, which TFX 1.16's ExampleGen leaves unset (it
# records the span as a custom property), so the statistics cannot say.
EXAMPLES_ID_PROPERTY = "examples_id"
SPAN_PROPERTY = "span"


def span_of(artifact) -> int:
    """An artifact's span: the ``span`` custom property (int, or a string
    as TFX's ExampleGen driver also writes it), else the ``span`` property."""
    value = artifact.mlmd_artifact.custom_properties.get(SPAN_PROPERTY)
    if value is not None:
        if value.HasField("string_value"):
            return int(value.string_value)
        if value.HasField("int_value"):
            return int(value.int_value)
    return int(getattr(artifact, "span", 0) or 0)

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
        EXAMPLES: ChannelParameter(type=standard_artifacts.Examples, optional=True),
    }
    OUTPUTS = {
        ANOMALIES: ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        VALIDATED_STATISTICS: ChannelParameter(type=standard_artifacts.ExampleStatistics),
    }
