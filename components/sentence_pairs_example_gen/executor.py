"""The executor behind ``SentencePairsExampleGen``: a custom executor of TFX's
``FileBasedExampleGen``.

TFX's driver has already resolved the input by the time ``Do`` runs: the one
input split's pattern has its ``{SPAN}``/``{VERSION}`` filled in (the latest
span unless a ``range_config`` says otherwise), and the input fingerprint
(sizes and modification times of the matching files) is recorded, so that a
cached run is reused only while the files are unchanged.

The executor's parameters travel in ``custom_config`` as a
``google.protobuf.Struct`` (see ``make_custom_config``): ExampleGen's
``CustomConfig`` holds an ``Any``, and a Struct needs no proto of our own.

It writes ``tf.train.Example`` records with bytes features
``contract.SOURCE`` and ``contract.TARGET`` into the splits train, eval and
optionally test through ExampleGen's own writer (GZIP TFRecords,
``Split-<name>/data_tfrecord-*.gz``), and sets the integer custom properties
``num_examples_<split>`` and ``num_bad_<kind>`` (``pairs.BAD_KINDS``) on the
``Examples`` artifact.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from absl import logging
import apache_beam as beam
import tensorflow as tf
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs

from components.common import position_split
from components.sentence_pairs_example_gen import pairs as pairs_lib
from preprocessing import translation_contract as contract

# The executor's parameters and their defaults (the book's).
PARAMETER_DEFAULTS: Dict[str, Any] = {
    "train_pairs": contract.TRAIN_PAIRS,
    "test_fraction": 0.0,
    "source_column": 0,
    "target_column": 1,
    "max_words": contract.MAX_LENGTH,
    "max_pairs": 0,
    "seed": pairs_lib.DEFAULT_SEED,
}
_FLOAT_PARAMETERS = ("test_fraction",)

NUM_EXAMPLES_PROPERTY = "num_examples_{}"  # .format(split)
NUM_BAD_PROPERTY = "num_bad_{}"  # .format(kind)


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
    parameters[name] = (float(value) if name in _FLOAT_PARAMETERS
                        else position_split.struct_integer(name, value))
  return parameters


def to_example(source: str, target: str) -> tf.train.Example:
  """One pair as a ``tf.train.Example`` of UTF-8 bytes features."""
  def text(value: str) -> tf.train.Feature:
    return tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
  return tf.train.Example(features=tf.train.Features(feature={
      contract.SOURCE: text(source), contract.TARGET: text(target)}))


def input_files(pattern: str) -> List[str]:
  """The files matching ``pattern``, sorted (directories left out).

  Raises:
    SentencePairsDataError: naming the pattern when no file matches.
  """
  files = sorted(p for p in fileio.glob(pattern) if not fileio.isdir(p))
  if not files:
    raise pairs_lib.SentencePairsDataError(
        f"{pattern}: not found (no file matches; expected a pairs file "
        "'english<TAB>spanish' per line, or a .zip holding one)")
  return files


def read_input(pattern: str, *, source_column: int = 0,
               target_column: int = 1, max_words: int = contract.MAX_LENGTH,
               max_pairs: int = 0,
               ) -> Tuple[List[pairs_lib.Pair], pairs_lib.ParseReport]:
  """The valid pairs of every file matching ``pattern`` (any
  ``tfx.dsl.io.fileio`` path, text or zip), in path then line order.

  Raises:
    SentencePairsDataError: naming the pattern or file(s): nothing matches,
      a broken zip, no valid pair at all.
  """
  report = pairs_lib.ParseReport()
  pairs: List[pairs_lib.Pair] = []
  for path in input_files(pattern):
    with fileio.open(path, "rb") as f:
      data, name = pairs_lib.unpack(f.read(), path)
    more, _ = pairs_lib.parse_pairs(
        data, name, source_column=source_column, target_column=target_column,
        max_words=max_words, max_pairs=max_pairs, report=report)
    pairs.extend(more)
    if report.stopped_at_max_pairs:
      break
  pairs_lib.check_any_pairs(report)
  return pairs, report


def artifact_properties(report: pairs_lib.ParseReport,
                        splits: Mapping[str, List[pairs_lib.Pair]],
                        ) -> Dict[str, int]:
  """``num_examples_<split>`` and ``num_bad_<kind>`` (every kind, zeros too,
  so a reader can rely on them)."""
  properties = {NUM_EXAMPLES_PROPERTY.format(name): len(split)
                for name, split in splits.items()}
  properties.update({NUM_BAD_PROPERTY.format(kind): report.bad[kind]
                     for kind in pairs_lib.BAD_KINDS})
  return properties


class Executor(position_split.PositionSplitExecutor):
  """Sentence pairs -> shuffled train/eval[/test] splits of tf.Examples.

  The book's split is by position after a seeded shuffle of the whole list
  (see ``position_split``): the one input split's file(s) are read, shuffled
  and cut here, and each output split goes to ExampleGen's writer. Reading
  outside Beam is fine for this data (the spa-eng pairs are ~8 MB) and
  needed anyway for a global shuffle.
  """

  COMPONENT = "SentencePairsExampleGen"

  def generate_splits(self, pipeline: beam.Pipeline, pattern: str,
                      exec_properties: Dict[str, Any], splits: Sequence[str],
                      ) -> Dict[str, beam.pvalue.PCollection]:
    """Reads, shuffles and splits the pairs; one PCollection per split."""
    parameters = read_custom_config(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
    logging.info("SentencePairsExampleGen: parameters %s", parameters)
    pairs, report = read_input(
        pattern, source_column=parameters["source_column"],
        target_column=parameters["target_column"],
        max_words=parameters["max_words"], max_pairs=parameters["max_pairs"])
    logging.info("SentencePairsExampleGen: %s", report.format())
    cut = pairs_lib.split_pairs(
        pairs, train_pairs=parameters["train_pairs"],
        test_fraction=parameters["test_fraction"], seed=parameters["seed"],
        source=pattern)
    if list(cut) != list(splits):
      raise ValueError(
          f"output_config names the splits {list(splits)}, but test_fraction="
          f"{parameters['test_fraction']} gives {list(cut)}")
    for name, split in cut.items():
      logging.info("SentencePairsExampleGen: split %s: %d pairs", name,
                   len(split))
    self.int_properties.update(artifact_properties(report, cut))
    return {
        name: pipeline | f"CreateSplit[{name}]" >> beam.Create(
            [to_example(*pair).SerializeToString() for pair in split],
            reshuffle=False)  # ExampleGen's writer reshuffles anyway
        for name, split in cut.items()
    }
