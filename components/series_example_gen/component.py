"""TFX components that write time-series windows into an ``Examples`` artifact.

``SyntheticSeriesExampleGen`` writes the Hands-On ML chapter-15 synthetic
series; ``CsvSeriesExampleGen`` imports a ``wide`` or ``long`` CSV file. Both
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

from absl import logging
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import artifacts
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


@component
def CsvSeriesExampleGen(
    examples: OutputArtifact[standard_artifacts.Examples],
    csv_path: Parameter[str],
    layout: Parameter[str] = "long",
    n_steps: Parameter[int] = 50,
    horizon: Parameter[int] = 10,
    stride: Parameter[int] = 1,
    split_by: Parameter[str] = "series",
    num_shards: Parameter[int] = 4,
) -> None:
  """Imports series from a CSV file (``wide`` or ``long`` layout) and windows them.

  Fails with ``series.SeriesDataError`` (naming file, row and problem) on bad
  data; see ``series.read_series_csv`` and ``series.split_windows``.
  """
  validate_parameters(n_steps=n_steps, horizon=horizon, stride=stride,
                      num_shards=num_shards, layout=layout, split_by=split_by)
  splits = series_lib.csv_splits(csv_path, layout=layout, n_steps=n_steps,
                                 horizon=horizon, stride=stride,
                                 split_by=split_by)
  logging.info("CsvSeriesExampleGen: %s (%s layout), n_steps=%d, horizon=%d, "
               "stride=%d, split_by=%s", csv_path, layout, n_steps, horizon,
               stride, split_by)
  publish(examples, splits, num_shards)
