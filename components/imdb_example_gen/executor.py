"""The executor behind ``ImdbExampleGen``: a custom executor of TFX's
``FileBasedExampleGen``.

TFX's driver has already resolved the input by the time ``Do`` runs: the one
input split's pattern has its ``{SPAN}``/``{VERSION}`` filled in (the latest
span unless a ``range_config`` says otherwise), and the input fingerprint
(number, sizes and modification times of the matching files: every file of
an aclImdb directory's class folders, or the archive) is recorded, so that
a cached run is reused only while the files are unchanged.

The executor's parameters travel in ``custom_config`` as a
``google.protobuf.Struct`` (see ``make_custom_config``): ExampleGen's
``CustomConfig`` holds an ``Any``, and a Struct needs no proto of our own.

It reads the directory or archive with ``reviews.read_reviews`` (the same
checks and bad-file counts as ever), splits it with ``reviews.split_reviews``
(train/eval by a hash of the review id, test from ``test/`` when the source
has one) and hands each split to ExampleGen's own writer (GZIP TFRecords,
``Split-<name>/data_tfrecord-*.gz``). The test split is optional
(``OPTIONAL_SPLITS``): without ``test/`` the artifact's ``split_names`` are
train and eval. Integer custom properties: ``num_examples_<split>`` and
``num_bad_<kind>`` for every kind of ``reviews.BAD_KINDS``.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from absl import logging
import apache_beam as beam
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs

from components.common import input_patterns
from components.common import position_split
from components.imdb_example_gen import reviews as reviews_lib

# The two source formats: a folder tree, or a tar(.gz) archive of one.
DIRECTORY = "directory"
ARCHIVE = "archive"
SOURCE_FORMATS = (DIRECTORY, ARCHIVE)
# What the input pattern adds to a directory source's data root: every file
# two folders down ({train,test}/{pos,neg}/<id>_<rating>.txt, and the rest of
# the aclImdb tree at that depth), so TFX's driver fingerprints them all.
DIRECTORY_PATTERN = "*/*/*"

# The executor's parameters and their defaults.
PARAMETER_DEFAULTS: Dict[str, Any] = {
    "source_format": ARCHIVE,  # one of SOURCE_FORMATS
    "eval_fraction": reviews_lib.DEFAULT_EVAL_FRACTION,
    "max_reviews_per_class": 0,
    "require_rating": 1,
    "seed": 42,
}
_FLOAT_PARAMETERS = ("eval_fraction",)

NUM_EXAMPLES_PROPERTY = "num_examples_{}"  # .format(split)


def bad_property_name(kind: str) -> str:
  """``"not UTF-8"`` -> ``"num_bad_not_utf_8"``."""
  return "num_bad_" + re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_")


def make_custom_config(**parameters: Any) -> example_gen_pb2.CustomConfig:
  """ExampleGen's ``CustomConfig`` holding ``parameters`` (names of
  ``PARAMETER_DEFAULTS``) as a Struct."""
  return position_split.make_struct_config(parameters, PARAMETER_DEFAULTS)


def read_custom_config(custom_config: Optional[str]) -> Dict[str, Any]:
  """The parameters in ``custom_config`` (ExampleGen's JSON form of
  ``CustomConfig``), defaults filled in and typed."""
  parameters = dict(PARAMETER_DEFAULTS)
  for name, value in position_split.read_struct_config(
      custom_config, PARAMETER_DEFAULTS).items():
    if name == "source_format":
      if value not in SOURCE_FORMATS:
        raise ValueError("custom_config parameter source_format must be one "
                         f"of {SOURCE_FORMATS}, got {value!r}")
      parameters[name] = value
    elif name in _FLOAT_PARAMETERS:
      parameters[name] = float(value)
    else:
      parameters[name] = position_split.struct_integer(name, value)
  return parameters


def source_path(pattern: str, source_format: str) -> str:
  """The one directory or archive that the resolved input ``pattern`` stands
  for: a directory source's pattern is ``<root>/*/*/*`` (``<root>`` may
  itself hold glob characters), an archive's is the archive.

  Raises:
    ReviewDataError: naming the pattern when it matches more than one
      directory or archive. Nothing there is left to ``read_reviews``, which
      says "not found".
  """
  if source_format == DIRECTORY:
    suffix = "/" + DIRECTORY_PATTERN
    root = pattern[:-len(suffix)] if pattern.endswith(suffix) else pattern
    if not input_patterns.is_pattern(root):
      return root
    matches = sorted(m for m in fileio.glob(root) if fileio.isdir(m))
    what = "directories"
  else:
    root = pattern
    matches = sorted(m for m in fileio.glob(pattern) if not fileio.isdir(m))
    what = "archives"
  if len(matches) > 1:
    shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
    raise reviews_lib.ReviewDataError(
        f"{root}: {len(matches)} {what} match ({shown}); expected one "
        "directory or .tar.gz archive of aclImdb-style reviews (per span)")
  return matches[0] if matches else root


def log_scan(scan: reviews_lib.ReviewScan) -> None:
  """Logs the per-folder counts and the per-kind bad-file report."""
  for line in scan.report().splitlines():
    if scan.num_bad and line.lstrip().startswith("bad ("):
      logging.warning("ImdbExampleGen: %s", line.strip())
    else:
      logging.info("ImdbExampleGen: %s", line.strip())


def read_splits(path: str, parameters: Mapping[str, Any],
                ) -> tuple[reviews_lib.ReviewScan,
                           Dict[str, List[reviews_lib.Review]]]:
  """The reviews of ``path`` (a directory or archive) and their splits
  train, eval[, test], subsampled when ``max_reviews_per_class`` > 0.

  Raises:
    ReviewDataError: naming the source and the problem (see
      ``reviews.read_reviews`` and ``reviews.split_reviews``).
  """
  scan = reviews_lib.read_reviews(
      path, require_rating=bool(parameters["require_rating"]))
  log_scan(scan)
  splits = reviews_lib.split_reviews(
      scan, eval_fraction=parameters["eval_fraction"], seed=parameters["seed"])
  if parameters["max_reviews_per_class"]:
    splits = reviews_lib.subsample(splits, parameters["max_reviews_per_class"],
                                   seed=parameters["seed"])
    logging.info("ImdbExampleGen: kept at most %d reviews per class per split",
                 parameters["max_reviews_per_class"])
  return scan, splits


def artifact_properties(scan: reviews_lib.ReviewScan,
                        splits: Mapping[str, Sequence[reviews_lib.Review]],
                        ) -> Dict[str, int]:
  """``num_examples_<split>`` and ``num_bad_<kind>`` (every kind, zeros too,
  so a reader can rely on them)."""
  properties = {NUM_EXAMPLES_PROPERTY.format(name): len(rs)
                for name, rs in splits.items()}
  properties.update((bad_property_name(kind), scan.bad_counts.get(kind, 0))
                    for kind in reviews_lib.BAD_KINDS)
  return properties


class Executor(position_split.PositionSplitExecutor):
  """aclImdb-style reviews -> train/eval[/test] splits of tf.Examples.

  The whole source is read here (a directory, or an archive streamed, never
  unpacked; see ``position_split``): the checks need every file (bad-file
  threshold, both classes), and the split and subset are by review id.
  """

  COMPONENT = "ImdbExampleGen"
  OPTIONAL_SPLITS = ("test",)

  def generate_splits(self, pipeline: beam.Pipeline, pattern: str,
                      exec_properties: Dict[str, Any], splits: Sequence[str],
                      ) -> Dict[str, beam.pvalue.PCollection]:
    """Reads and splits the reviews; one PCollection per split written."""
    parameters = read_custom_config(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
    logging.info("ImdbExampleGen: parameters %s", parameters)
    path = source_path(pattern, parameters["source_format"])
    scan, cut = read_splits(path, parameters)
    unexpected = [name for name in cut if name not in splits]
    if unexpected:
      raise ValueError(f"output_config names the splits {list(splits)}; the "
                       f"source has {list(cut)}")
    self.int_properties.update(artifact_properties(scan, cut))
    for name, rs in cut.items():
      n_pos = sum(r.label for r in rs)
      logging.info("ImdbExampleGen: split %s: %d reviews (%d pos, %d neg)",
                   name, len(rs), n_pos, len(rs) - n_pos)
    return {
        name: pipeline | f"CreateSplit[{name}]" >> beam.Create(
            [reviews_lib.to_example(r).SerializeToString() for r in cut[name]],
            reshuffle=False)  # ExampleGen's writer reshuffles anyway
        for name in splits if name in cut
    }
