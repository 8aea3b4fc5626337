"""Validates each split's statistics against the schema (TFDV), the drift
split also against the last validated span's statistics, and fails the run
on any anomaly, naming each one.

TFX's ExampleValidator records anomalies but lets the run go on, and it has
no input for a previous span, so the schema's drift comparators never fire
in it. This executor writes the same ``ExampleAnomalies`` layout
(``Split-<name>/SchemaDiff.pb``, the ``blessed`` custom property per split)
so TFX's tools read it, and then raises ``DataValidationError``: Transform,
which runs after it, never sees bad data, and nothing is trained or pushed.

On success it also publishes a copy of the statistics as
``validated_statistics``: the next run's drift baseline. Only a successful
execution publishes outputs, so a corrupted span can never become the
baseline a later span is compared with.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from absl import logging
import tensorflow_data_validation as tfdv
from tfx import types
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, writer_utils

from components.data_validation import spec
from tensorflow_metadata.proto.v0 import anomalies_pb2

SCHEMA_DIFF_FILE = "SchemaDiff.pb"  # TFX ExampleValidator's file name
BLESSED_PROPERTY = "blessed"  # per split: 1 no anomaly, 0 anomalies (as TFX's)


class DataValidationError(ValueError):
    """The data broke the schema or drifted; the message lists every anomaly."""


def describe(split: str, anomalies: anomalies_pb2.Anomalies) -> List[str]:
    """One line per anomaly: split, feature, short and long description."""
    lines = []
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        lines.append(f"{split}: dataset: {info.short_description or 'anomaly'}: "
                     f"{info.description}")
    for feature, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason)
        lines.append(f"{split}: feature {feature!r}: "
                     f"{reasons or info.short_description + ': ' + info.description}")
    return lines


def validate(statistics, schema, previous_statistics=None) -> anomalies_pb2.Anomalies:
    """TFDV's validation of one split's statistics (a
    ``DatasetFeatureStatisticsList``), with drift when a previous span's
    statistics are given."""
    return tfdv.validate_statistics(statistics=statistics, schema=schema,
                                    previous_statistics=previous_statistics)


class Executor(base_executor.BaseExecutor):
    """See the module docstring."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        stats = artifact_utils.get_single_instance(input_dict[spec.STATISTICS])
        baseline = (input_dict.get(spec.BASELINE_STATISTICS) or [None])[0]
        schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(
            artifact_utils.get_single_uri(input_dict[spec.SCHEMA])))
        exclude = json.loads(exec_properties.get("exclude_splits") or "[]")
        drift_split = exec_properties.get("drift_split") or ""
        fail = bool(exec_properties.get("fail_on_anomalies", 1))

        splits = [s for s in artifact_utils.decode_split_names(stats.split_names)
                  if s not in exclude]
        anomalies_artifact = artifact_utils.get_single_instance(output_dict[spec.ANOMALIES])
        anomalies_artifact.split_names = artifact_utils.encode_split_names(splits)
        anomalies_artifact.span = stats.span
        validated = artifact_utils.get_single_instance(output_dict[spec.VALIDATED_STATISTICS])
        examples = (input_dict.get(spec.EXAMPLES) or [None])[0]
        if examples is not None:
            span = spec.span_of(examples)
            for out in (anomalies_artifact, validated):
                out.set_int_custom_property(spec.EXAMPLES_ID_PROPERTY, int(examples.id))
                out.set_int_custom_property(spec.SPAN_PROPERTY, span)

        problems: List[str] = []
        blessed: Dict[str, int] = {}
        for split in splits:
            current = stats_artifact_utils.load_statistics(stats, split).proto()
            previous = None
            if baseline is not None and split == drift_split:
                if split in artifact_utils.decode_split_names(baseline.split_names):
                    previous = stats_artifact_utils.load_statistics(baseline, split).proto()
                    logging.info("DataValidator: drift of split %s against %s", split,
                                 baseline.uri)
            anomalies = validate(current, schema, previous)
            writer_utils.write_anomalies(
                os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split),
                             SCHEMA_DIFF_FILE), anomalies)
            found = describe(split, anomalies)
            blessed[split] = 0 if found else 1
            problems.extend(found)
        anomalies_artifact.set_json_value_custom_property(BLESSED_PROPERTY, blessed)

        if problems:
            message = ("data validation found anomalies (schema "
                       f"{artifact_utils.get_single_uri(input_dict[spec.SCHEMA])}"
                       + (f", drift against {baseline.uri}" if baseline is not None else "")
                       + "):\n  " + "\n  ".join(problems))
            if fail:
                raise DataValidationError(message)
            logging.warning("%s", message)

        # The validated statistics, for the next run's drift check.
        validated.split_names = stats.split_names
        validated.span = stats.span
        io_utils.copy_dir(stats.uri, validated.uri)
