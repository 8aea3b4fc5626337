"""The executor behind ``TextCorpusExampleGen``: a custom executor of TFX's
``FileBasedExampleGen``.

TFX's driver has already resolved the input by the time ``Do`` runs: the one
input split's pattern has its ``{SPAN}``/``{VERSION}`` filled in (the latest
span unless a ``range_config`` says otherwise), and the input fingerprint
(size and modification time of the corpus file) is recorded, so that a
cached run is reused only while the file is unchanged.

The executor's parameters travel in ``custom_config`` as a
``google.protobuf.Struct`` (see ``make_custom_config``): ExampleGen's
``CustomConfig`` holds an ``Any``, and a Struct needs no proto of our own.

It reads the one corpus file with ``corpus.read_corpus`` (strict UTF-8, the
same checks and messages as ever), splits it by position and cuts every
split into chunks (``corpus.corpus_splits``), and hands the chunks to
ExampleGen's own writer (GZIP TFRecords, ``Split-<name>/data_tfrecord-*.gz``;
the writer shuffles, so a reader sorts a split's chunks by ``chunk_index``).
Integer custom properties: ``chunk_chars``, ``num_chars_<split>``,
``num_chunks_<split>`` and ``num_examples_<split>`` (= ``num_chunks``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from absl import logging
import apache_beam as beam
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs

from components.common import position_split
from components.text_corpus_example_gen import corpus as corpus_lib

# The executor's parameters and their defaults (the book's split).
PARAMETER_DEFAULTS: Dict[str, Any] = {
    "train_chars": corpus_lib.DEFAULT_TRAIN_CHARS,
    "eval_chars": corpus_lib.DEFAULT_EVAL_CHARS,
    "train_fraction": 0.0,  # with eval_fraction > 0: fractions, not chars
    "eval_fraction": 0.0,
    "max_chars": 0,
    "chunk_chars": corpus_lib.DEFAULT_CHUNK_CHARS,
}
_FLOAT_PARAMETERS = ("train_fraction", "eval_fraction")


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


def corpus_path(pattern: str) -> str:
  """The one file the resolved input ``pattern`` stands for (the pattern
  itself when nothing matches: ``read_corpus`` then says "not found").

  Raises:
    CorpusDataError: naming the pattern when it matches more than one path.
  """
  matches = sorted(fileio.glob(pattern))
  if len(matches) > 1:
    shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
    raise corpus_lib.CorpusDataError(
        f"{pattern}: {len(matches)} paths match ({shown}); expected one UTF-8 "
        "text file (per span)")
  return matches[0] if matches else pattern


def read_splits(path: str, parameters: Mapping[str, Any],
                ) -> tuple[str, Dict[str, List[corpus_lib.Chunk]]]:
  """The text of ``path`` and its train/eval/test chunks, as ``parameters``
  say.

  Raises:
    CorpusDataError: naming the file and the problem (see
      ``corpus.read_corpus`` and ``corpus.split_by_position``).
  """
  text = corpus_lib.read_corpus(path)
  by_fraction = parameters["train_fraction"] > 0.0
  splits = corpus_lib.corpus_splits(
      text, parameters["train_chars"], parameters["eval_chars"],
      train_fraction=parameters["train_fraction"] if by_fraction else None,
      eval_fraction=parameters["eval_fraction"] if by_fraction else None,
      max_chars=parameters["max_chars"], chunk_chars=parameters["chunk_chars"],
      source=path)
  max_chars = parameters["max_chars"]
  logging.info(
      "TextCorpusExampleGen: %s, %d characters%s, split by %s, "
      "chunk_chars=%d", path, len(text),
      f" (first {max_chars} kept)" if 0 < max_chars < len(text) else "",
      f"fractions {parameters['train_fraction']}/"
      f"{parameters['eval_fraction']}/rest" if by_fraction else
      f"{parameters['train_chars']}/{parameters['eval_chars']}/rest chars",
      parameters["chunk_chars"])
  return text, splits


def artifact_properties(splits: Mapping[str, Sequence[corpus_lib.Chunk]],
                        chunk_chars: int) -> Dict[str, int]:
  """``chunk_chars``, ``num_chars_<split>``, ``num_chunks_<split>`` and
  ``num_examples_<split>`` (= ``num_chunks_<split>``, the name the sibling
  ExampleGens use)."""
  properties = {"chunk_chars": chunk_chars}
  for name, chunks in splits.items():
    properties[f"num_chars_{name}"] = sum(len(text) for _, _, text in chunks)
    properties[f"num_chunks_{name}"] = len(chunks)
    properties[f"num_examples_{name}"] = len(chunks)
  return properties


class Executor(position_split.PositionSplitExecutor):
  """A text corpus -> train/eval/test chunks as tf.Examples.

  The book's split is by position (see ``position_split``): the corpus is
  read, cut and chunked here (1.1 MB for tiny Shakespeare), and each split's
  chunks go to ExampleGen's writer.
  """

  COMPONENT = "TextCorpusExampleGen"

  def generate_splits(self, pipeline: beam.Pipeline, pattern: str,
                      exec_properties: Dict[str, Any], splits: Sequence[str],
                      ) -> Dict[str, beam.pvalue.PCollection]:
    """Reads, splits and chunks the corpus; one PCollection per split."""
    parameters = read_custom_config(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY))
    logging.info("TextCorpusExampleGen: parameters %s", parameters)
    _, cut = read_splits(corpus_path(pattern), parameters)
    if list(cut) != list(splits):
      raise ValueError(f"output_config names the splits {list(splits)}, the "
                       f"corpus is cut into {list(cut)}")
    self.int_properties.update(
        artifact_properties(cut, parameters["chunk_chars"]))
    for name, chunks in cut.items():
      logging.info("TextCorpusExampleGen: split %s: %d characters from "
                   "offset %d, %d chunks", name,
                   sum(len(text) for _, _, text in chunks),
                   chunks[0][1] if chunks else 0, len(chunks))
    return {
        name: pipeline | f"CreateSplit[{name}]" >> beam.Create(
            [corpus_lib.to_example(*c).SerializeToString() for c in chunks],
            reshuffle=False)  # ExampleGen's writer reshuffles anyway
        for name, chunks in cut.items()
    }
