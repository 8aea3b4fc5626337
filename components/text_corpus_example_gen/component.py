"""TFX component that writes a plain-text corpus into an ``Examples`` artifact.

``TextCorpusExampleGen`` reads one UTF-8 text file (tiny Shakespeare for the
char-RNN of Hands-On ML chapter 16, or any other corpus) from a path or a URL
(downloaded once into a cache by ``components.common.fetch``), splits
it by position and cuts every split into chunks, producing what TFX's own
ExampleGen produces, so StatisticsGen, SchemaGen, Transform and Trainer read
the output unchanged:

* ``<uri>/Split-train``, ``Split-eval`` (the book's "valid") and
  ``Split-test``, holding GZIP TFRecord files
  ``data_tfrecord-SSSSS-of-NNNNN.gz`` of serialized ``tf.train.Example``
  (features ``text`` [bytes, UTF-8], ``chunk_index`` [int64], ``start``
  [int64, offset of the chunk in the corpus]; see ``corpus.py``). A trainer
  sorts a split's chunks by ``chunk_index`` and concatenates them to get the
  split's text back exactly;
* ``split_names`` = ``["train", "eval", "test"]`` (JSON, via
  ``artifact_utils.encode_split_names``);
* custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
  ``file_format = "tfrecords_gzip"`` (the values ExampleGen sets), plus
  ``num_chars_<split>``, ``num_chunks_<split>``, ``num_examples_<split>``
  (= ``num_chunks_<split>``, the name the sibling ExampleGens use) and
  ``chunk_chars``.
"""

from absl import logging
from tfx.dsl.component.experimental.annotations import OutputArtifact
from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import artifacts
from components.common import fetch as fetch_lib
from components.text_corpus_example_gen import corpus as corpus_lib


def _check_min(name: str, value: int, minimum: int) -> None:
  if value < minimum:
    raise ValueError(f"parameter {name} must be >= {minimum}, got {value!r}")


def validate_parameters(*, source: str = "unused",
                        train_chars: int = corpus_lib.DEFAULT_TRAIN_CHARS,
                        eval_chars: int = corpus_lib.DEFAULT_EVAL_CHARS,
                        train_fraction: float = 0.0,
                        eval_fraction: float = 0.0, max_chars: int = 0,
                        chunk_chars: int = corpus_lib.DEFAULT_CHUNK_CHARS,
                        num_shards: int = 1) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not source.strip():
    raise ValueError("parameter source must be a file path or an http(s):// "
                     f"or file:// URL, got {source!r}")
  _check_min("train_chars", train_chars, 1)
  _check_min("eval_chars", eval_chars, 1)
  for name, value in (("train_fraction", train_fraction),
                      ("eval_fraction", eval_fraction)):
    if not 0.0 <= value < 1.0:
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
  _check_min("num_shards", num_shards, 1)


def resolve_source(source: str, cache_dir: str = "", sha256: str = "") -> str:
  """A local path for ``source`` via ``common.fetch`` (download once, check).

  Raises:
    CorpusDataError: naming the path or URL (missing file, failed download,
      sha256 mismatch).
    ValueError: for a malformed ``sha256``.
  """
  return fetch_lib.fetch(source, cache_dir, sha256 or None,
                         error_cls=corpus_lib.CorpusDataError,
                         expected="a UTF-8 text file")


def publish(examples: standard_artifacts.Examples,
            splits: dict, chunk_chars: int, num_shards: int) -> None:
  """Writes ``splits`` (name -> chunks) under ``examples.uri``; sets properties."""
  corpus_lib.write_examples(examples.uri, splits, num_shards=num_shards)
  props = {"chunk_chars": chunk_chars}
  for name, chunks in splits.items():
    n_chars = sum(len(text) for _, _, text in chunks)
    start = chunks[0][1] if chunks else 0
    props[f"num_chars_{name}"] = n_chars
    props[f"num_chunks_{name}"] = len(chunks)
    props[f"num_examples_{name}"] = len(chunks)
    logging.info("Split %s: %d characters from offset %d, %d chunks (%d "
                 "shards) -> %s/Split-%s", name, n_chars, start, len(chunks),
                 num_shards, examples.uri, name)
  artifacts.mark_tf_examples(examples, splits, props)


@component
def TextCorpusExampleGen(
    examples: OutputArtifact[standard_artifacts.Examples],
    source: Parameter[str],
    cache_dir: Parameter[str] = "",
    sha256: Parameter[str] = "",
    train_chars: Parameter[int] = 1_000_000,
    eval_chars: Parameter[int] = 60_000,
    train_fraction: Parameter[float] = 0.0,
    eval_fraction: Parameter[float] = 0.0,
    max_chars: Parameter[int] = 0,
    chunk_chars: Parameter[int] = 10_000,
    num_shards: Parameter[int] = 1,
) -> None:
  """Imports a UTF-8 text corpus; train/eval/test by position, in chunks.

  ``source``: a text file (any ``tf.io.gfile`` path), or an
  ``http(s)://``/``file://`` URL of one, downloaded once into ``cache_dir``
  (default ``~/.cache/keras_tfx_pipelines``) and checked against ``sha256``
  when given (``corpus.SHAKESPEARE_SHA256`` for ``corpus.SHAKESPEARE_URL``).

  train = the first ``train_chars`` characters, eval = the next
  ``eval_chars``, test = the rest (the book's 1,000,000 / 60,000 / 55,394 for
  tiny Shakespeare). ``train_fraction`` and ``eval_fraction``, when both > 0,
  replace the character counts by fractions of the corpus. ``max_chars`` > 0
  keeps only the corpus's first ``max_chars`` characters (smoke runs). Each
  split is cut into chunks of ``chunk_chars`` (>= 100) characters.

  Fails with ``corpus.CorpusDataError`` (naming the file and the problem) for
  a missing, empty, binary, non-UTF-8 or whitespace-only file, a failed
  download or checksum, or a corpus too short for the requested splits.
  """
  validate_parameters(source=source, train_chars=train_chars,
                      eval_chars=eval_chars, train_fraction=train_fraction,
                      eval_fraction=eval_fraction, max_chars=max_chars,
                      chunk_chars=chunk_chars, num_shards=num_shards)
  path = resolve_source(source, cache_dir, sha256)
  if path != source:
    logging.info("TextCorpusExampleGen: %s -> %s", source, path)
  text = corpus_lib.read_corpus(path)
  by_fraction = train_fraction > 0.0
  splits = corpus_lib.corpus_splits(
      text, train_chars, eval_chars,
      train_fraction=train_fraction if by_fraction else None,
      eval_fraction=eval_fraction if by_fraction else None,
      max_chars=max_chars, chunk_chars=chunk_chars, source=path)
  logging.info("TextCorpusExampleGen: %s, %d characters%s, split by %s, "
               "chunk_chars=%d", path, len(text),
               f" (first {max_chars} kept)" if 0 < max_chars < len(text)
               else "",
               f"fractions {train_fraction}/{eval_fraction}/rest"
               if by_fraction else f"{train_chars}/{eval_chars}/rest chars",
               chunk_chars)
  publish(examples, splits, chunk_chars, num_shards)
