"""What the file-based ExampleGen executors that split by position share.

TFX's base ExampleGen executor reads each input split through a PTransform
and assigns records to output splits by a hash of the record. The book's
splits are by position (the first N pairs after a seeded shuffle, the last
5,000 training images), which a per-record hash cannot reproduce. An
executor of this kind reads its one input split (every data file of the
source, so TFX's driver fingerprints them all) and returns one PCollection
per output split; ExampleGen's own writer does the rest.

Also here: executor parameters as a ``google.protobuf.Struct`` inside
ExampleGen's ``CustomConfig`` (its ``Any`` needs no proto of our own), and
custom properties set on the ``Examples`` artifact after the run.
"""

from __future__ import annotations

import abc
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from absl import logging
import apache_beam as beam
from google.protobuf import struct_pb2
from tfx import types
from tfx.components.example_gen import utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils


def make_struct_config(parameters: Mapping[str, Any],
                       defaults: Mapping[str, Any],
                       ) -> example_gen_pb2.CustomConfig:
  """ExampleGen's ``CustomConfig`` holding ``parameters`` (names of
  ``defaults``) as a Struct; sequences become lists."""
  unknown = sorted(set(parameters) - set(defaults))
  if unknown:
    raise ValueError(f"unknown parameters {unknown}; known: {sorted(defaults)}")
  struct = struct_pb2.Struct()
  struct.update({name: list(value) if isinstance(value, (list, tuple)) else value
                 for name, value in parameters.items()})
  config = example_gen_pb2.CustomConfig()
  config.custom_config.Pack(struct)
  return config


def read_struct_config(custom_config: Optional[str],
                       defaults: Mapping[str, Any]) -> Dict[str, Any]:
  """The Struct's items in ``custom_config`` (ExampleGen's JSON form of
  ``CustomConfig``) as given, names checked against ``defaults``; the
  caller types the values (Struct numbers are doubles)."""
  if not custom_config:
    return {}
  config = proto_utils.json_to_proto(custom_config, example_gen_pb2.CustomConfig())
  struct = struct_pb2.Struct()
  if config.HasField("custom_config") and not config.custom_config.Unpack(struct):
    raise ValueError("custom_config must hold a google.protobuf.Struct, got "
                     f"{config.custom_config.type_url}")
  items = dict(struct.items())
  unknown = sorted(set(items) - set(defaults))
  if unknown:
    raise ValueError(f"unknown custom_config parameter {unknown[0]!r}; known: "
                     f"{sorted(defaults)}")
  return items


def struct_integer(name: str, value: Any) -> int:
  """A Struct number that must be an integer (Struct numbers are doubles)."""
  if isinstance(value, float) and value.is_integer():
    return int(value)
  raise ValueError(f"custom_config parameter {name} must be an integer, got {value!r}")


class PositionSplitExecutor(BaseExampleGenExecutor, abc.ABC):
  """A custom executor of TFX's FileBasedExampleGen that reads its one input
  split itself and splits by position (``generate_splits``)."""

  # The component id, for messages and logs.
  COMPONENT = "ExampleGen"
  # Output splits that ``generate_splits`` may leave out (e.g. a test split
  # only a source with test data has); the artifact's ``split_names`` then
  # lists the splits written. Empty (the default): every output split of the
  # output config must be written.
  OPTIONAL_SPLITS: Tuple[str, ...] = ()

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    # Only reached through the base GenerateExamplesByBeam, overridden below.
    raise NotImplementedError(
        f"{self.COMPONENT}'s executor splits by position in "
        "GenerateExamplesByBeam; it has no per-split transform")

  @abc.abstractmethod
  def generate_splits(self, pipeline: beam.Pipeline, pattern: str,
                      exec_properties: Dict[str, Any], splits: Sequence[str],
                      ) -> Dict[str, beam.pvalue.PCollection]:
    """One PCollection of serialized examples per name in ``splits`` (the
    output config's, in order; those of ``OPTIONAL_SPLITS`` may be left
    out), read from the files matching ``pattern``; may fill
    ``self.int_properties`` and ``self.string_properties``."""

  def GenerateExamplesByBeam(
      self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any],
  ) -> Dict[str, beam.pvalue.PCollection]:
    input_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
        example_gen_pb2.Input())
    output_config = proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
        example_gen_pb2.Output())
    if len(input_config.splits) != 1:
      raise ValueError(
          f"{self.COMPONENT} needs exactly one input split (the data files); "
          "the output splits come from positions, got "
          f"{[s.name for s in input_config.splits]}")
    pattern = os.path.join(
        exec_properties[standard_component_specs.INPUT_BASE_KEY],
        input_config.splits[0].pattern)
    logging.info("%s: reading %s (span %s)", self.COMPONENT, pattern,
                 exec_properties.get(utils.SPAN_PROPERTY_NAME))
    expected = utils.generate_output_split_names(input_config, output_config)
    collections = self.generate_splits(pipeline, pattern, exec_properties, expected)
    written = [name for name in expected if name in collections]
    left_out = [name for name in expected if name not in collections]
    if (list(collections) != written
        or any(name not in self.OPTIONAL_SPLITS for name in left_out)):
      raise ValueError(f"output_config names the splits {expected}, the "
                       f"executor writes {list(collections)}")
    self.written_splits = written
    return collections

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    """ExampleGen's ``Do``, then the properties the splits recorded as
    custom properties of the ``Examples`` artifact (and, when an optional
    split was left out, ``split_names`` = the splits written)."""
    self.int_properties: Dict[str, int] = {}
    self.string_properties: Dict[str, str] = {}
    self.written_splits: Optional[List[str]] = None
    super().Do(input_dict, output_dict, exec_properties)
    examples = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    if (self.written_splits is not None and self.written_splits !=
        artifact_utils.decode_split_names(examples.split_names)):
      examples.split_names = artifact_utils.encode_split_names(
          self.written_splits)
    for name, value in self.int_properties.items():
      examples.set_int_custom_property(name, value)
    for name, value in self.string_properties.items():
      examples.set_string_custom_property(name, value)
