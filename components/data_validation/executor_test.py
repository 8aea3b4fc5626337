"""The DataValidator executor on statistics of small real datasets: a span
with a missing feature, one with a new label value and one with a drifted
distribution each stop the run with the anomaly named; a clean span passes
and publishes its statistics as the next baseline."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts

from components.data_validation import executor as executor_lib
from components.data_validation import spec


def _frame(seed: int, *, labels=("cat", "dog"), shift: float = 0.0, drop: str | None = None):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({"value": rng.normal(shift, 1.0, 500).astype(np.float32),
                          "label": rng.choice(list(labels), 500)})
    return frame.drop(columns=[drop]) if drop else frame


def _statistics(tmp_path, name: str, frame: pd.DataFrame) -> standard_artifacts.ExampleStatistics:
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(tmp_path / name)
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    stats = tfdv.generate_statistics_from_dataframe(frame)
    for split in ("train", "eval"):
        os.makedirs(os.path.join(artifact.uri, f"Split-{split}"))
        with open(os.path.join(artifact.uri, f"Split-{split}", "FeatureStats.pb"), "wb") as f:
            f.write(stats.SerializeToString())
    return artifact


def _schema_artifact(tmp_path) -> standard_artifacts.Schema:
    """A curated schema: both features required, the label's domain, drift
    of the value distribution (Jensen-Shannon) and of the label (L-inf)."""
    schema = tfdv.infer_schema(tfdv.generate_statistics_from_dataframe(_frame(0)))
    tfdv.get_feature(schema, "value").drift_comparator.jensen_shannon_divergence.threshold = 0.2
    tfdv.get_feature(schema, "label").drift_comparator.infinity_norm.threshold = 0.2
    for feature in schema.feature:
        feature.presence.min_fraction = 1.0
    artifact = standard_artifacts.Schema()
    artifact.uri = str(tmp_path / "schema")
    os.makedirs(artifact.uri)
    tfdv.write_schema_text(schema, os.path.join(artifact.uri, "schema.pbtxt"))
    return artifact


def _run(tmp_path, name, frame, baseline=None, fail=True, examples=None):
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = str(tmp_path / f"{name}-anomalies")
    validated = standard_artifacts.ExampleStatistics()
    validated.uri = str(tmp_path / f"{name}-validated")
    inputs = {spec.STATISTICS: [_statistics(tmp_path, name, frame)],
              spec.SCHEMA: [_schema_artifact(tmp_path / name)]}
    if baseline is not None:
        inputs[spec.BASELINE_STATISTICS] = [baseline]
    if examples is not None:
        inputs[spec.EXAMPLES] = [examples]
    executor_lib.Executor().Do(
        inputs, {spec.ANOMALIES: [anomalies], spec.VALIDATED_STATISTICS: [validated]},
        {"exclude_splits": "[]", "drift_split": "train", "fail_on_anomalies": int(fail)})
    return anomalies, validated


def test_clean_span_passes_and_becomes_the_baseline(tmp_path):
    anomalies, validated = _run(tmp_path, "clean", _frame(1))
    assert anomalies.get_json_value_custom_property("blessed") == {"train": 1, "eval": 1}
    assert os.path.exists(os.path.join(validated.uri, "Split-train", "FeatureStats.pb"))
    # The next clean span, compared with it, passes too.
    _run(tmp_path, "next", _frame(2), baseline=validated)


def test_the_validated_ingestion_is_recorded(tmp_path):
    examples = standard_artifacts.Examples()
    examples.id = 41
    examples.set_int_custom_property("span", 3)  # as ExampleGen's driver records it
    anomalies, validated = _run(tmp_path, "clean", _frame(1), examples=examples)
    for out in (anomalies, validated):
        assert out.get_int_custom_property(spec.EXAMPLES_ID_PROPERTY) == 41
        assert out.get_int_custom_property(spec.SPAN_PROPERTY) == 3


@pytest.mark.parametrize("frame, expected", [
    (_frame(3, drop="label"), r"feature 'label': Column dropped"),
    (_frame(4, labels=("cat", "dog", "emu")), r"feature 'label': Unexpected string values"),
])
def test_schema_anomalies_stop_the_run(tmp_path, frame, expected):
    with pytest.raises(executor_lib.DataValidationError, match=expected) as e:
        _run(tmp_path, "bad", frame)
    assert "train: " in str(e.value) and "eval: " in str(e.value)
    # The anomalies are on disk, as TFX's ExampleValidator writes them.
    assert os.path.exists(tmp_path / "bad-anomalies" / "Split-train" / "SchemaDiff.pb")


@pytest.mark.parametrize("frame, feature", [
    (_frame(5, shift=3.0), "value"),  # the values moved
    (_frame(6, labels=("cat", "cat", "cat", "dog")), "label"),  # the label mix changed
])
def test_drift_against_the_last_validated_span_stops_the_run(tmp_path, frame, feature):
    _, baseline = _run(tmp_path, "before", _frame(1))
    with pytest.raises(executor_lib.DataValidationError,
                       match=rf"train: feature '{feature}': .*(Jensen-Shannon|Linfty)") as e:
        _run(tmp_path, "after", frame, baseline=baseline)
    assert "eval: " not in str(e.value)  # drift is checked on the train split only
    assert str(baseline.uri) in str(e.value)


def test_drift_needs_a_baseline(tmp_path):
    _run(tmp_path, "alone", _frame(5, shift=3.0))  # the first span has nothing to drift from


def test_anomalies_recorded_without_failing_when_asked(tmp_path):
    anomalies, _ = _run(tmp_path, "lenient", _frame(3, drop="label"), fail=False)
    assert anomalies.get_json_value_custom_property("blessed") == {"train": 0, "eval": 0}


def test_describe_names_split_feature_and_reason():
    # The describe() lines name split and feature for any anomaly kind.
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    found = anomalies_pb2.Anomalies()
    found.anomaly_info["x"].reason.add(short_description="Out-of-range values",
                                       description="Unexpectedly large value: 9.")
    assert executor_lib.describe("test", found) == [
        "test: feature 'x': Out-of-range values: Unexpectedly large value: 9."]
