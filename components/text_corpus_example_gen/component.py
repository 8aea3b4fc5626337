"""``TextCorpusExampleGen``: TFX's ``FileBasedExampleGen`` with the text
corpus executor (``executor.py``).

``TextCorpusExampleGen`` reads one UTF-8 text file (tiny Shakespeare for the
char-RNN of Hands-On ML chapter 16, or any other corpus) from a path, a path
pattern or a URL (downloaded once into a cache by ``components.common.fetch``
at pipeline construction), splits it by position and cuts every split into
chunks. Built on the file-based ExampleGen rather than as a component of our
own, so that TFX's driver does what it does for every file-based ExampleGen:

* it resolves ``{SPAN}``/``{VERSION}`` (and ``{YYYY}{MM}{DD}``) patterns to
  the latest span (or the one a ``range_config`` names) and records ``span``
  on the ``Examples`` artifact;
* it records the input fingerprint (size and modification time of the
  file), so with caching on, a run over an unchanged file reuses the last
  artifact and new bytes at the same path are imported again.

The output is what TFX's ExampleGen writes, so StatisticsGen, SchemaGen,
Transform and Trainer read it unchanged:

* ``<uri>/Split-train``, ``Split-eval`` (the book's "valid") and
  ``Split-test``, holding GZIP TFRecord files ``data_tfrecord-*.gz`` of
  serialized ``tf.train.Example`` (features ``text`` [bytes, UTF-8],
  ``chunk_index`` [int64], ``start`` [int64, offset of the chunk in the
  corpus]; see ``corpus.py``). A trainer sorts a split's chunks by
  ``chunk_index`` and concatenates them to get the split's text back
  exactly;
* ``split_names`` = ``["train", "eval", "test"]``;
* custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
  ``file_format = "tfrecords_gzip"``, ``num_chars_<split>``,
  ``num_chunks_<split>``, ``num_examples_<split>`` (= ``num_chunks_<split>``,
  the name the sibling ExampleGens use) and ``chunk_chars``, and ``span`` /
  ``input_fingerprint`` (the driver's).
"""

from __future__ import annotations

import os
from typing import Tuple

from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.common import fetch as fetch_lib
from components.common import input_patterns
from components.text_corpus_example_gen import corpus as corpus_lib
from components.text_corpus_example_gen import executor as executor_lib

COMPONENT_ID = "TextCorpusExampleGen"
INPUT_SPLIT = "corpus"  # the one input split: the corpus file
SPLITS = corpus_lib.SPLIT_NAMES  # train, eval, test


def _check_min(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int):
    raise ValueError(f"parameter {name} must be an integer >= {minimum}, got "
                     f"{value!r}")
  if value < minimum:
    raise ValueError(f"parameter {name} must be >= {minimum}, got {value!r}")


def validate_parameters(*, source: str = "unused",
                        train_chars: int = corpus_lib.DEFAULT_TRAIN_CHARS,
                        eval_chars: int = corpus_lib.DEFAULT_EVAL_CHARS,
                        train_fraction: float = 0.0,
                        eval_fraction: float = 0.0, max_chars: int = 0,
                        chunk_chars: int = corpus_lib.DEFAULT_CHUNK_CHARS,
                        ) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not isinstance(source, str) or not source.strip():
    raise ValueError("parameter source must be a file path, a path pattern "
                     "({SPAN}) or an http(s):// or file:// URL, got "
                     f"{source!r}")
  _check_min("train_chars", train_chars, 1)
  _check_min("eval_chars", eval_chars, 1)
  for name, value in (("train_fraction", train_fraction),
                      ("eval_fraction", eval_fraction)):
    if (isinstance(value, bool) or not isinstance(value, (int, float))
        or not 0.0 <= value < 1.0):
      raise ValueError(f"parameter {name} must be >= 0 and < 1 (0 = unused), "
                       f"got {value!r}")
  if (train_fraction > 0.0) != (eval_fraction > 0.0):
    raise ValueError(
        "parameters train_fraction and eval_fraction must both be > 0 (they "
        "replace train_chars/eval_chars) or both 0, got train_fraction="
        f"{train_fraction!r}, eval_fraction={eval_fraction!r}")
  if train_fraction + eval_fraction >= 1.0:
    raise ValueError(
        "parameters train_fraction + eval_fraction must be < 1 (the rest is "
        f"test), got {train_fraction!r} + {eval_fraction!r}")
  _check_min("max_chars", max_chars, 0)
  _check_min("chunk_chars", chunk_chars, corpus_lib.MIN_CHUNK_CHARS)


def resolve_source(source: str, cache_dir: str = "",
                   sha256: str = "") -> Tuple[str, str]:
  """``(input_base, pattern)`` for ``source``; a URL is downloaded once into
  ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``) now, at pipeline
  construction, checked against ``sha256`` when given, and then read as a
  local file. A local file is checked against ``sha256`` now when given.

  A plain local path is not required to exist yet (the run names it if it
  is still missing), unless ``sha256`` asks to check it.

  Raises:
    CorpusDataError: naming the path or URL (missing file with ``sha256``,
      failed download, sha256 mismatch, a directory).
    ValueError: ``sha256`` with a pattern; a malformed ``sha256``.
  """
  if fetch_lib.is_url(source):
    source = fetch_lib.fetch(source, cache_dir, sha256 or None,
                             error_cls=corpus_lib.CorpusDataError,
                             expected="a UTF-8 text file")
  elif input_patterns.is_pattern(source):
    if sha256:
      raise ValueError("parameter sha256 checks one file; source is a "
                       f"pattern: {source!r}")
  elif sha256:
    fetch_lib.fetch(source, cache_dir, sha256,
                    error_cls=corpus_lib.CorpusDataError,
                    expected="a UTF-8 text file")
  if not input_patterns.is_pattern(source) and os.path.isdir(source):
    raise corpus_lib.CorpusDataError(
        f"{source}: is a directory, expected a UTF-8 text file (or a "
        "pattern such as <dir>/span-{SPAN}/input.txt)")
  return input_patterns.split_source(source)


def output_config() -> example_gen_pb2.Output:
  """The output splits train, eval, test. ExampleGen requires hash buckets;
  the executor ignores them (it splits by position)."""
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
              for name in SPLITS]))


def TextCorpusExampleGen(  # pylint: disable=invalid-name
    source: str, *, cache_dir: str = "", sha256: str = "",
    train_chars: int = corpus_lib.DEFAULT_TRAIN_CHARS,
    eval_chars: int = corpus_lib.DEFAULT_EVAL_CHARS,
    train_fraction: float = 0.0, eval_fraction: float = 0.0,
    max_chars: int = 0, chunk_chars: int = corpus_lib.DEFAULT_CHUNK_CHARS,
) -> FileBasedExampleGen:
  """A ``FileBasedExampleGen`` importing a UTF-8 text corpus (id
  ``TextCorpusExampleGen``); train/eval/test by position, in chunks.

  ``source``: a text file (any ``tf.io.gfile`` path); a path pattern with
  ``{SPAN}``/``{VERSION}`` (e.g. ``/data/corpus/span-{SPAN}/input.txt``: the
  latest span is read; it must match one file); or an
  ``http(s)://``/``file://`` URL of a text file, downloaded once into
  ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``) and checked against
  ``sha256`` when given (``corpus.SHAKESPEARE_SHA256`` for
  ``corpus.SHAKESPEARE_URL``).

  train = the first ``train_chars`` characters, eval = the next
  ``eval_chars``, test = the rest (the book's 1,000,000 / 60,000 / 55,394 for
  tiny Shakespeare). ``train_fraction`` and ``eval_fraction``, when both > 0,
  replace the character counts by fractions of the corpus. ``max_chars`` > 0
  keeps only the corpus's first ``max_chars`` characters (smoke runs). Each
  split is cut into chunks of ``chunk_chars`` (>= 100) characters.

  Raises:
    ValueError: naming the first bad parameter and its value.
    CorpusDataError: for a URL that cannot be downloaded, a file failing its
      ``sha256``, a directory. Data problems found at run time (a missing,
      empty, binary, non-UTF-8 or whitespace-only file, a corpus too short
      for the requested splits) fail the component's run with it, naming
      the file and the problem.
  """
  validate_parameters(source=source, train_chars=train_chars,
                      eval_chars=eval_chars, train_fraction=train_fraction,
                      eval_fraction=eval_fraction, max_chars=max_chars,
                      chunk_chars=chunk_chars)
  input_base, pattern = resolve_source(source, cache_dir, sha256)
  custom_config = executor_lib.make_custom_config(
      train_chars=train_chars, eval_chars=eval_chars,
      train_fraction=float(train_fraction),
      eval_fraction=float(eval_fraction), max_chars=max_chars,
      chunk_chars=chunk_chars)
  return FileBasedExampleGen(
      input_base=input_base,
      input_config=example_gen_pb2.Input(splits=[
          example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]),
      output_config=output_config(),
      custom_config=custom_config,
      custom_executor_spec=executor_spec.BeamExecutorSpec(
          executor_lib.Executor),
  ).with_id(COMPONENT_ID)
