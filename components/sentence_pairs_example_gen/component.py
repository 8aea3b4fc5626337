"""``SentencePairsExampleGen``: TFX's ``FileBasedExampleGen`` with the
sentence-pairs executor (``executor.py``).

Built on the file-based ExampleGen rather than as a component of our own, so
that TFX's driver does what it does for every file-based ExampleGen:

* it resolves ``{SPAN}``/``{VERSION}`` (and ``{YYYY}{MM}{DD}``) patterns to
  the latest span (or the one a ``range_config`` names) and records ``span``
  on the ``Examples`` artifact;
* it records the input fingerprint (number, sizes and modification times of
  the matching files), so with caching on, a run over unchanged files reuses
  the last artifact and new bytes at the same path are imported again.

The output is what TFX's ExampleGen writes (``Split-<name>/`` folders of GZIP
TFRecords of ``tf.train.Example``, ``payload_format``/``file_format``), so
StatisticsGen, Transform and Evaluator read it unchanged. Features:
``contract.SOURCE`` and ``contract.TARGET`` (bytes, UTF-8). Splits: train,
eval, and test when ``test_fraction`` > 0. Custom properties:
``num_examples_<split>``, ``num_bad_<kind>`` (see ``pairs.BAD_KINDS``).
"""

from __future__ import annotations

import os
from typing import Tuple

from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.common import fetch as fetch_lib
# split_source and is_pattern live in common (the image importer shares
# them); imported here too, as this module's own names.
from components.common.input_patterns import is_pattern
from components.common.input_patterns import split_source
from components.sentence_pairs_example_gen import executor as executor_lib
from components.sentence_pairs_example_gen import pairs as pairs_lib
from preprocessing import translation_contract as contract

COMPONENT_ID = "SentencePairsExampleGen"
INPUT_SPLIT = "pairs"  # the one input split: the file(s) to read


def _check_int(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(f"parameter {name} must be an integer >= {minimum}, got "
                     f"{value!r}")


def validate_parameters(*, source: str = "unused",
                        train_pairs: int = contract.TRAIN_PAIRS,
                        test_fraction: float = 0.0, source_column: int = 0,
                        target_column: int = 1,
                        max_words: int = contract.MAX_LENGTH,
                        max_pairs: int = 0,
                        seed: int = pairs_lib.DEFAULT_SEED) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not isinstance(source, str) or not source.strip():
    raise ValueError("parameter source must be a file path, a path pattern "
                     "(glob or {SPAN}) or an http(s):// or file:// URL, got "
                     f"{source!r}")
  _check_int("train_pairs", train_pairs, 1)
  if (isinstance(test_fraction, bool)
      or not isinstance(test_fraction, (int, float))
      or not 0.0 <= test_fraction < 1.0):
    raise ValueError("parameter test_fraction must be >= 0 and < 1 (0 = no "
                     f"test split), got {test_fraction!r}")
  _check_int("source_column", source_column, 0)
  _check_int("target_column", target_column, 0)
  if source_column == target_column:
    raise ValueError("parameters source_column and target_column must "
                     f"differ, both are {source_column!r}")
  _check_int("max_words", max_words, 0)
  _check_int("max_pairs", max_pairs, 0)
  if max_pairs and max_pairs <= train_pairs:
    raise ValueError(
        f"parameter max_pairs ({max_pairs}) must exceed train_pairs "
        f"({train_pairs}), or the eval split is empty; or 0 for all pairs")
  _check_int("seed", seed, 0)
  if seed >= 2**32:  # what np.random.RandomState accepts
    raise ValueError(f"parameter seed must be < 2**32, got {seed!r}")


def resolve_source(source: str, cache_dir: str = "",
                   sha256: str = "") -> Tuple[str, str]:
  """``(input_base, pattern)`` for ``source``; a URL is downloaded once into
  ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``) now, at pipeline
  construction, and then read as a local file.

  A plain local path is not required to exist yet (the driver and executor
  look at run time and name it if missing), unless ``sha256`` asks to check
  it.

  Raises:
    SentencePairsDataError: naming the path or URL (failed download,
      checksum mismatch, missing file with ``sha256``).
    ValueError: for a directory, ``sha256`` with a pattern, or a malformed
      ``sha256``.
  """
  if fetch_lib.is_url(source):
    source = fetch_lib.fetch(source, cache_dir, sha256 or None,
                             error_cls=pairs_lib.SentencePairsDataError,
                             expected="a pairs file or a .zip holding one")
  elif is_pattern(source):
    if sha256:
      raise ValueError("parameter sha256 checks one file; source is a "
                       f"pattern: {source!r}")
  elif sha256:
    fetch_lib.fetch(source, cache_dir, sha256,
                    error_cls=pairs_lib.SentencePairsDataError,
                    expected="a pairs file or a .zip holding one")
  if not is_pattern(source) and os.path.isdir(source):
    raise ValueError(f"parameter source is a directory: {source!r}; name the "
                     "pairs file, or a pattern such as <dir>/*.txt or "
                     "<dir>/span-{SPAN}/spa.txt")
  return split_source(source)


def output_config(test_fraction: float = 0.0) -> example_gen_pb2.Output:
  """The output splits train, eval[, test]. ExampleGen requires hash buckets;
  the executor ignores them (it splits by position after a shuffle)."""
  names = [contract.TRAIN, contract.EVAL]
  if test_fraction:
    names.append(contract.TEST)
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
              for name in names]))


def SentencePairsExampleGen(  # pylint: disable=invalid-name
    source: str, *, train_pairs: int = contract.TRAIN_PAIRS,
    test_fraction: float = 0.0, source_column: int = 0,
    target_column: int = 1, max_words: int = contract.MAX_LENGTH,
    max_pairs: int = 0, seed: int = pairs_lib.DEFAULT_SEED,
    cache_dir: str = "", sha256: str = "") -> FileBasedExampleGen:
  """A ``FileBasedExampleGen`` importing sentence pairs (id
  ``SentencePairsExampleGen``).

  ``source``: a pairs file (``english<TAB>spanish[<TAB>...]`` per line,
  UTF-8; .txt/.tsv) or a .zip holding one (``contract.SPA_ENG_MEMBER`` or its
  single .txt member); a path pattern with a glob or ``{SPAN}`` (e.g.
  ``/data/pairs/span-{SPAN}/spa.txt``: the latest span is read, and all
  matching files of it in path order); or an http(s)/file URL, downloaded
  once into ``cache_dir`` and checked against ``sha256`` when given.

  The book's preprocessing: ``contract.DROPPED_CHARACTERS`` removed, sides
  stripped, pairs shuffled by ``np.random.RandomState(seed)``; the first
  ``train_pairs`` are train, the rest eval, of which the last
  ``test_fraction`` (rounded) becomes test when > 0. ``source_column`` and
  ``target_column`` pick the sides (1, 0: Spanish to English). Lines with a
  side of more than ``max_words`` words (0: no limit), fewer columns, an
  empty side or bytes that are not UTF-8 are skipped and counted.
  ``max_pairs`` > 0 keeps only the file's first ``max_pairs`` valid pairs,
  before the shuffle (smoke runs).

  Raises:
    ValueError: naming the first bad parameter and its value.
    SentencePairsDataError: for a URL that cannot be downloaded or a file
      failing its ``sha256``. Data problems found at run time (missing file,
      no valid pair, too few pairs) fail the component's run with it.
  """
  validate_parameters(source=source, train_pairs=train_pairs,
                      test_fraction=test_fraction,
                      source_column=source_column,
                      target_column=target_column, max_words=max_words,
                      max_pairs=max_pairs, seed=seed)
  input_base, pattern = resolve_source(source, cache_dir, sha256)
  custom_config = executor_lib.make_custom_config(
      train_pairs=train_pairs, test_fraction=float(test_fraction),
      source_column=source_column, target_column=target_column,
      max_words=max_words, max_pairs=max_pairs, seed=seed)
  return FileBasedExampleGen(
      input_base=input_base,
      input_config=example_gen_pb2.Input(splits=[
          example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]),
      output_config=output_config(test_fraction),
      custom_config=custom_config,
      custom_executor_spec=executor_spec.BeamExecutorSpec(
          executor_lib.Executor),
  ).with_id(COMPONENT_ID)
