"""The executor behind ``CsvSeriesExampleGen``: a custom executor of TFX's
``FileBasedExampleGen``.

By the time ``Do`` runs, TFX's driver has resolved the input: ``{SPAN}`` /
``{VERSION}`` / date specs in the pattern are filled in (the latest span
unless a ``range_config`` names one) and the input fingerprint (sizes and
modification times of the matching files) is recorded, so a cached result
is reused only while the files are unchanged: a retraining job that finds
new bytes at the same path imports them again.

Every CSV file matching the resolved pattern is read (``series.read_series_csv``),
windowed and split by series or by time (``series.split_windows``); the
windows go through ExampleGen's own writer. Custom properties on the
``Examples`` artifact: ``n_steps``, ``horizon`` and ``num_examples_<split>``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from absl import logging
import apache_beam as beam
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs

from components.common import position_split
from components.series_example_gen import series as series_lib

PARAMETER_DEFAULTS: Dict[str, Any] = {
    "layout": "long",
    "n_steps": 50,
    "horizon": 10,
    "stride": 1,
    "split_by": "series",
    "seed": 42,
}
_STRING_PARAMETERS = ("layout", "split_by")

NUM_EXAMPLES_PROPERTY = "num_examples_{}"  # .format(split)


def make_custom_config(**parameters: Any) -> example_gen_pb2.CustomConfig:
  """ExampleGen's ``CustomConfig`` holding ``parameters`` (names of
  ``PARAMETER_DEFAULTS``) as a Struct."""
  return position_split.make_struct_config(parameters, PARAMETER_DEFAULTS)


def read_custom_config(custom_config: Optional[str]) -> Dict[str, Any]:
  """The parameters in ``custom_config``, defaults filled in and typed."""
  parameters = dict(PARAMETER_DEFAULTS)
  for name, value in position_split.read_struct_config(
      custom_config, PARAMETER_DEFAULTS).items():
    parameters[name] = (str(value) if name in _STRING_PARAMETERS
                        else position_split.struct_integer(name, value))
  return parameters


def input_files(pattern: str) -> List[str]:
  """The files matching ``pattern`` in path order; SeriesDataError naming
  the pattern when none does."""
  files = sorted(f for f in fileio.glob(pattern) if not fileio.isdir(f))
  if not files:
    raise series_lib.SeriesDataError(f"{pattern}: no CSV file matches")
  return files


def read_windows(files: Sequence[str], parameters: Dict[str, Any]
                 ) -> Dict[str, series_lib.WindowSet]:
  """Windows of every series in ``files``, split train/eval/test.

  A series id may appear in one file only: the same id in two files is
  ambiguous (two halves of one series, or two series?), so it is refused.
  """
  windows = series_lib.WindowList(source=files[0] if len(files) == 1 else
                                  f"{len(files)} files from {files[0]}")
  seen: Dict[str, str] = {}
  for path in files:
    table = series_lib.read_series_csv(path, parameters["layout"])
    for series_id in table:
      if series_id in seen:
        raise series_lib.SeriesDataError(
            f"{path}: series {series_id!r} also appears in {seen[series_id]}; "
            "each series must come from one file")
      seen[series_id] = path
    windows.extend(series_lib.window_series(
        table, parameters["n_steps"], parameters["horizon"], parameters["stride"]))
  return series_lib.split_windows(windows, split_by=parameters["split_by"],
                                  seed=parameters["seed"])


class Executor(position_split.PositionSplitExecutor):
  """CSV series -> train/eval/test windows as tf.Examples."""

  COMPONENT = "CsvSeriesExampleGen"

  def generate_splits(self, pipeline: beam.Pipeline, pattern: str,
                      exec_properties: Dict[str, Any], splits: Sequence[str],
                      ) -> Dict[str, beam.pvalue.PCollection]:
    parameters = read_custom_config(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
    files = input_files(pattern)
    cut = read_windows(files, parameters)
    self.int_properties.update(n_steps=parameters["n_steps"],
                               horizon=parameters["horizon"])
    self.int_properties.update(
        (NUM_EXAMPLES_PROPERTY.format(name), len(ws)) for name, ws in cut.items())
    logging.info("CsvSeriesExampleGen: %d file(s) %s, parameters %s, windows %s",
                 len(files), pattern, parameters,
                 {name: len(ws) for name, ws in cut.items()})
    # The windows are small (a CSV's worth), so they are serialized here and
    # handed to Beam as they are.
    return {name: pipeline | f"Create{name.capitalize()}" >> beam.Create(
        [series_lib.to_example(i, ws.series[k], ws.target[k]).SerializeToString()
         for k, i in enumerate(ws.ids)], reshuffle=False)
            for name, ws in cut.items()}
