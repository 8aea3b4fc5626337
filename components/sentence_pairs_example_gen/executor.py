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

import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

from absl import logging
import apache_beam as beam
import tensorflow as tf
from google.protobuf import struct_pb2
from tfx import types
from tfx.components.example_gen import utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

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
  unknown = sorted(set(parameters) - set(PARAMETER_DEFAULTS))
  if unknown:
    raise ValueError(f"unknown parameters {unknown}; known: "
                     f"{sorted(PARAMETER_DEFAULTS)}")
  struct = struct_pb2.Struct()
  struct.update(parameters)
  config = example_gen_pb2.CustomConfig()
  config.custom_config.Pack(struct)
  return config


def read_custom_config(custom_config: Optional[str]) -> Dict[str, Any]:
  """The parameters in ``custom_config`` (ExampleGen's JSON form of
  ``CustomConfig``), defaults filled in and typed."""
  parameters = dict(PARAMETER_DEFAULTS)
  if not custom_config:
    return parameters
  config = proto_utils.json_to_proto(custom_config,
                                     example_gen_pb2.CustomConfig())
  struct = struct_pb2.Struct()
  if config.HasField("custom_config") and not config.custom_config.Unpack(
      struct):
    raise ValueError("custom_config must hold a google.protobuf.Struct, got "
                     f"{config.custom_config.type_url}")
  for name, value in struct.items():
    if name not in PARAMETER_DEFAULTS:
      raise ValueError(f"unknown custom_config parameter {name!r}; known: "
                       f"{sorted(PARAMETER_DEFAULTS)}")
    if name in _FLOAT_PARAMETERS:
      parameters[name] = float(value)
    elif isinstance(value, float) and value.is_integer():
      parameters[name] = int(value)  # Struct numbers are doubles
    else:
      raise ValueError(f"custom_config parameter {name} must be an integer, "
                       f"got {value!r}")
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


class Executor(BaseExampleGenExecutor):
  """Sentence pairs -> shuffled train/eval[/test] splits of tf.Examples.

  The base executor reads each input split through
  ``GetInputSourceToExamplePTransform`` and, for output splits, assigns
  records to splits by a hash of the record. The book's split is by position
  after a seeded shuffle of the whole list, which a per-record hash cannot
  reproduce, so ``GenerateExamplesByBeam`` is overridden: it reads the one
  input split's file(s), shuffles and cuts them here, and hands each output
  split to Beam, whose ExampleGen writer does the rest. Reading outside Beam
  is fine for this data (the spa-eng pairs are ~8 MB) and needed anyway for
  a global shuffle.
  """

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    # Only reached through the base GenerateExamplesByBeam, overridden below.
    raise NotImplementedError(
        "SentencePairsExampleGen's executor splits by position after a "
        "shuffle in GenerateExamplesByBeam; it has no per-split transform")

  def GenerateExamplesByBeam(
      self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any],
  ) -> Dict[str, beam.pvalue.PCollection]:
    """Reads, shuffles and splits the pairs; one PCollection per split."""
    input_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
        example_gen_pb2.Input())
    output_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
        example_gen_pb2.Output())
    if len(input_config.splits) != 1:
      raise ValueError(
          "SentencePairsExampleGen needs exactly one input split (the pairs "
          "file(s)); the output splits come from the shuffle, got "
          f"{[s.name for s in input_config.splits]}")
    parameters = read_custom_config(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
    pattern = os.path.join(
        exec_properties[standard_component_specs.INPUT_BASE_KEY],
        input_config.splits[0].pattern)
    logging.info("SentencePairsExampleGen: reading %s (span %s) with %s",
                 pattern, exec_properties.get(utils.SPAN_PROPERTY_NAME),
                 parameters)
    pairs, report = read_input(
        pattern, source_column=parameters["source_column"],
        target_column=parameters["target_column"],
        max_words=parameters["max_words"], max_pairs=parameters["max_pairs"])
    logging.info("SentencePairsExampleGen: %s", report.format())
    splits = pairs_lib.split_pairs(
        pairs, train_pairs=parameters["train_pairs"],
        test_fraction=parameters["test_fraction"], seed=parameters["seed"],
        source=pattern)
    expected = utils.generate_output_split_names(input_config, output_config)
    if list(splits) != expected:
      raise ValueError(
          f"output_config names the splits {expected}, but test_fraction="
          f"{parameters['test_fraction']} gives {list(splits)}")
    for name, split in splits.items():
      logging.info("SentencePairsExampleGen: split %s: %d pairs", name,
                   len(split))
    self._properties = artifact_properties(report, splits)
    return {
        name: pipeline | f"CreateSplit[{name}]" >> beam.Create(
            [to_example(*pair).SerializeToString() for pair in split],
            reshuffle=False)  # ExampleGen's writer reshuffles anyway
        for name, split in splits.items()
    }

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    """ExampleGen's ``Do``, then the counts as integer custom properties."""
    self._properties: Dict[str, int] = {}
    super().Do(input_dict, output_dict, exec_properties)
    examples = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    for name, value in self._properties.items():
      examples.set_int_custom_property(name, value)
