"""TFX components that write time-series windows into an ``Examples`` artifact.

``SyntheticSeriesExampleGen`` writes the Hands-On ML chapter-15 synthetic
series; ``CsvSeriesExampleGen`` imports ``wide`` or ``long`` CSV files
through TFX's file-based ExampleGen (spans, input fingerprints). Both
produce what TFX's own ExampleGen produces, so StatisticsGen, SchemaGen,
Transform and Trainer read the output unchanged:

* ``<uri>/Split-train``, ``Split-eval``, ``Split-test`` holding GZIP TFRecord
  files ``data_tfrecord-SSSSS-of-NNNNN.gz`` of serialized ``tf.train.Example``
  (features ``series`` [n_steps floats], ``target`` [horizon floats],
  ``series_id`` [bytes]);
* ``split_names`` = ``["train", "eval", "test"]`` (JSON, via
  ``artifact_utils.encode_split_names``);
* custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
  ``file_format = "tfrecords_gzip"`` (the values ExampleGen sets; both are also
  the defaults that ``tfx.components.util.examples_utils`` assumes when absent),
  plus ``n_steps`` and ``horizon`` for downstream code that needs the shapes.
"""

import os

from absl import logging
from tfx.components import FileBasedExampleGen
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.common import artifacts
from components.common import input_patterns
from components.series_example_gen import executor as executor_lib
from components.series_example_gen import series as series_lib

MIN_N_SERIES = 10
MIN_N_STEPS = 8


def _check_min(name: str, value: int, minimum: int) -> None:
  if value < minimum:
    raise ValueError(f"parameter {name} must be >= {minimum}, got {value!r}")


def _check_choice(name: str, value: str, choices) -> None:
  if value not in choices:
    raise ValueError(f"parameter {name} must be one of "
                     f"{', '.join(repr(c) for c in choices)}, got {value!r}")


def validate_parameters(*, n_series: int = MIN_N_SERIES,
                        n_steps: int = MIN_N_STEPS, horizon: int = 1,
                        stride: int = 1, num_shards: int = 1,
                        layout: str = "long",
                        split_by: str = "series") -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  _check_min("n_series", n_series, MIN_N_SERIES)
  _check_min("n_steps", n_steps, MIN_N_STEPS)
  _check_min("horizon", horizon, 1)
  _check_min("stride", stride, 1)
  _check_min("num_shards", num_shards, 1)
  _check_choice("layout", layout, series_lib.LAYOUTS)
  _check_choice("split_by", split_by, series_lib.SPLIT_BY)


def publish(examples: standard_artifacts.Examples,
            splits: dict, num_shards: int) -> None:
  """Writes ``splits`` under ``examples.uri`` and sets the artifact properties."""
  series_lib.write_examples(examples.uri, splits, num_shards=num_shards)
  first = next(iter(splits.values()))
  props = {"n_steps": first.n_steps, "horizon": first.horizon}
  props.update((f"num_examples_{name}", len(ws)) for name, ws in splits.items())
  artifacts.mark_tf_examples(examples, splits, props)
  for name, ws in splits.items():
    logging.info("Split %s: %d windows (%d shards) -> %s/Split-%s", name,
                 len(ws), num_shards, examples.uri, name)


@component
def SyntheticSeriesExampleGen(
    examples: OutputArtifact[standard_artifacts.Examples],
    n_series: Parameter[int] = 10000,
    n_steps: Parameter[int] = 50,
    horizon: Parameter[int] = 10,
    seed: Parameter[int] = 42,
    num_shards: Parameter[int] = 4,
) -> None:
  """Generates the book's synthetic series; train/eval/test = 70/20/10% of series."""
  validate_parameters(n_series=n_series, n_steps=n_steps, horizon=horizon,
                      num_shards=num_shards)
  splits = series_lib.synthetic_windows(n_series=n_series, n_steps=n_steps,
                                        horizon=horizon, seed=seed)
  logging.info("SyntheticSeriesExampleGen: %d series, n_steps=%d, horizon=%d, "
               "seed=%d", n_series, n_steps, horizon, seed)
  publish(examples, splits, num_shards)


COMPONENT_ID = "CsvSeriesExampleGen"
INPUT_SPLIT = "series"  # the one input split: the CSV file(s) to read


def CsvSeriesExampleGen(  # pylint: disable=invalid-name
    csv_path: str,
    layout: str = "long",
    n_steps: int = 50,
    horizon: int = 10,
    stride: int = 1,
    split_by: str = "series",
    seed: int = 42,
) -> FileBasedExampleGen:
  """Imports series from CSV (``wide`` or ``long`` layout) and windows them:
  TFX's ``FileBasedExampleGen`` with ``executor.Executor`` (id
  ``CsvSeriesExampleGen``).

  ``csv_path``: one CSV file, or a pattern with a glob or ``{SPAN}`` /
  ``{VERSION}`` / ``{YYYY}{MM}{DD}`` specs (``/data/sales/span-{SPAN}/*.csv``):
  the latest span is read, every matching file of it, and the span is
  recorded on the artifact. The driver fingerprints the matching files, so
  a cached run is reused only while they are unchanged.

  Raises ValueError naming the first bad parameter. Bad data fails the run
  with ``series.SeriesDataError`` naming file, row and problem (see
  ``series.read_series_csv`` and ``series.split_windows``).
  """
  validate_parameters(n_steps=n_steps, horizon=horizon, stride=stride,
                      layout=layout, split_by=split_by)
  if not isinstance(csv_path, str) or not csv_path.strip():
    raise ValueError(f"parameter csv_path must be a CSV path or pattern, got {csv_path!r}")
  if not input_patterns.is_pattern(csv_path) and os.path.isdir(csv_path):
    raise ValueError(f"parameter csv_path is a directory: {csv_path!r}; name the CSV "
                     "file, or a pattern such as <dir>/*.csv or <dir>/span-{SPAN}/*.csv")
  input_base, pattern = input_patterns.split_source(csv_path)
  return FileBasedExampleGen(
      input_base=input_base,
      input_config=example_gen_pb2.Input(splits=[
          example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]),
      # ExampleGen requires hash buckets; the executor splits by series or time.
      output_config=example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
          splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
                  for name in series_lib.SPLIT_NAMES])),
      custom_config=executor_lib.make_custom_config(
          layout=layout, n_steps=n_steps, horizon=horizon, stride=stride,
          split_by=split_by, seed=seed),
      custom_executor_spec=executor_spec.BeamExecutorSpec(executor_lib.Executor),
  ).with_id(COMPONENT_ID)
