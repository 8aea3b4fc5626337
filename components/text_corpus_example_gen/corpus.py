"""A plain-text corpus -> TFRecord files of ``tf.train.Example`` chunks.

Pure logic behind ``TextCorpusExampleGen`` (no TFX imports here), for the
char-RNN family (Geron, *Hands-On Machine Learning*, chapter 16: tiny
Shakespeare):

* ``read_corpus``: reads a file through ``tf.io.gfile`` and decodes it as
  strict UTF-8; missing, empty, binary (NUL bytes), non-UTF-8 and
  whitespace-only files raise ``CorpusDataError`` naming the file, the
  problem and, where there is one, the byte offset and line.
* ``split_by_position``: the book's split by position -- train is the first
  1,000,000 characters, eval (the book's "valid") the next 60,000, test the
  rest -- or fractions of the corpus for other corpora.
* ``chunk``: cuts a split into contiguous chunks of ``chunk_chars``
  characters that keep their offset in the corpus.
* ``to_example``: one chunk as a ``tf.train.Example`` (what the executor
  hands to ExampleGen's writer).
* ``write_split`` / ``write_examples``: GZIP TFRecord shards laid out the way
  TFX expects inside an ``Examples`` artifact (``<uri>/Split-<name>/*.gz``;
  written by ``components.common.tfrecords``, in contiguous blocks), for
  writing examples outside a pipeline; the component writes through
  ExampleGen.

Offsets and sizes are in characters (Unicode code points) of the decoded
text, which is kept exactly as in the file (line endings included); only a
leading UTF-8 byte-order mark is dropped. Concatenating a split's chunks in
``chunk_index`` order gives back the split's text exactly.

Every written ``tf.train.Example`` has three features:

``text``         bytes_list, the chunk as UTF-8
``chunk_index``  int64_list, 0, 1, 2, ... within the split
``start``        int64_list, the chunk's first character's offset in the
                 corpus (after ``max_chars`` truncation, which keeps a prefix)
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from components.common import tfrecords
# Re-exported: part of this module's API (same names in the sibling packages).
from components.common.tfrecords import shard_name  # pylint: disable=unused-import

# Tiny Shakespeare (Karpathy's char-rnn; the book's https://homl.info/shakespeare
# redirects here): 1,115,394 characters of ASCII text.
SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/"
                   "data/tinyshakespeare/input.txt")
SHAKESPEARE_NUM_CHARS = 1_115_394
SHAKESPEARE_SHA1 = "04486597058d11dcc2c556b1d0433891eb639d2e"
SHAKESPEARE_SHA256 = (
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")

SPLIT_NAMES: Tuple[str, str, str] = ("train", "eval", "test")
# The book's split: train = [:1_000_000], valid = [1_000_000:1_060_000],
# test = the rest.
DEFAULT_TRAIN_CHARS = 1_000_000
DEFAULT_EVAL_CHARS = 60_000
DEFAULT_CHUNK_CHARS = 10_000
MIN_CHUNK_CHARS = 100

# Feature keys of the written tf.train.Example records.
TEXT_FEATURE = "text"
CHUNK_INDEX_FEATURE = "chunk_index"
START_FEATURE = "start"

_IN_MEMORY = "<in-memory corpus>"
_UTF8_BOM = b"\xef\xbb\xbf"

# (chunk_index, start offset in the corpus, text)
Chunk = Tuple[int, int, str]


class CorpusDataError(ValueError):
  """Bad input data. The message names the file (or URL) and the problem."""


def _data_error(source: Optional[str], problem: str) -> CorpusDataError:
  return CorpusDataError(f"{source or _IN_MEMORY}: {problem}")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _decode_utf8(path: str, data: bytes) -> str:
  """Strict UTF-8; the error gives the byte offset and line of the bad byte."""
  skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
  try:
    return data[skip:].decode("utf-8")
  except UnicodeDecodeError as e:
    offset = skip + e.start
    line = data.count(b"\n", 0, offset) + 1
    bad = data[offset:skip + e.end]
    raise _data_error(
        path, f"not valid UTF-8: byte(s) {bad!r} at byte offset {offset} "
        f"(line {line}): {e.reason}; save the file as UTF-8") from None


def read_corpus(path: str) -> str:
  """Returns the text of ``path`` (any ``tf.io.gfile`` path), strict UTF-8.

  The text is returned unmodified except for a leading byte-order mark.

  Raises:
    CorpusDataError: naming ``path``: not found, a directory, unreadable,
      empty, binary (with the byte offset of the first NUL byte), not valid
      UTF-8 (with the byte offset and line of the first bad byte), or only
      whitespace.
  """
  if not tf.io.gfile.exists(path):
    raise _data_error(path, "not found (expected a UTF-8 text file)")
  if tf.io.gfile.isdir(path):
    raise _data_error(path, "is a directory, expected a UTF-8 text file")
  try:
    with tf.io.gfile.GFile(path, "rb") as f:
      data = f.read()
  except (OSError, tf.errors.OpError) as e:
    raise _data_error(path, f"cannot read the file: {e}") from None
  if not data:
    raise _data_error(path, "empty file (0 bytes)")
  nul = data.find(b"\x00")
  if nul >= 0:
    line = data.count(b"\n", 0, nul) + 1
    raise _data_error(
        path, f"binary file: NUL byte at byte offset {nul} (line {line}); "
        "expected plain UTF-8 text")
  text = _decode_utf8(path, data)
  if not text.strip():
    raise _data_error(
        path, f"only whitespace ({len(text)} characters), no text")
  return text


# --------------------------------------------------------------------------
# Splits and chunks
# --------------------------------------------------------------------------


def _check_int(name: str, value, minimum: int) -> None:
  if (isinstance(value, bool) or int(value) != value or value < minimum):
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_fractions(train_fraction: Optional[float],
                     eval_fraction: Optional[float]) -> bool:
  """True for fractions mode; raises ValueError for bad or half-set values."""
  if train_fraction is None and eval_fraction is None:
    return False
  if train_fraction is None or eval_fraction is None:
    raise ValueError(
        "train_fraction and eval_fraction must be given together, got "
        f"train_fraction={train_fraction!r}, eval_fraction={eval_fraction!r}")
  for name, value in (("train_fraction", train_fraction),
                      ("eval_fraction", eval_fraction)):
    if not 0.0 < value < 1.0:
      raise ValueError(f"{name} must be > 0 and < 1, got {value!r}")
  if train_fraction + eval_fraction >= 1.0:
    raise ValueError(
        "train_fraction + eval_fraction must be < 1 (the rest is test), got "
        f"{train_fraction!r} + {eval_fraction!r} = "
        f"{train_fraction + eval_fraction!r}")
  return True


def split_by_position(text: str, train_chars: int = DEFAULT_TRAIN_CHARS,
                      eval_chars: int = DEFAULT_EVAL_CHARS, *,
                      train_fraction: Optional[float] = None,
                      eval_fraction: Optional[float] = None,
                      max_chars: int = 0,
                      source: Optional[str] = None
                      ) -> Dict[str, Tuple[int, str]]:
  """``{"train"|"eval"|"test": (start_offset, text)}``, split by position.

  train = ``text[:train_chars]``, eval = the next ``eval_chars`` characters,
  test = the rest (the book's 1,000,000 / 60,000 / rest). With
  ``train_fraction`` and ``eval_fraction`` (both, 0 < f, sum < 1) the sizes
  are ``round(f * len(text))`` instead. ``max_chars`` > 0 first keeps only
  the first ``max_chars`` characters (smoke runs). ``source`` names the
  corpus in error messages.

  Raises:
    ValueError: for bad arguments.
    CorpusDataError: (naming ``source`` and the sizes) if the corpus is
      shorter than ``train_chars + eval_chars + 1``, or a fraction leaves a
      split empty.
  """
  _check_int("train_chars", train_chars, 1)
  _check_int("eval_chars", eval_chars, 1)
  _check_int("max_chars", max_chars, 0)
  by_fraction = _check_fractions(train_fraction, eval_fraction)
  n_file = len(text)
  if max_chars and max_chars < n_file:
    text = text[:max_chars]
  n = len(text)
  of = (f"{n} characters (the first max_chars={max_chars} of {n_file})"
        if n < n_file else f"{n} characters")
  if by_fraction:
    n_train = int(round(train_fraction * n))
    n_eval = int(round(eval_fraction * n))
    sizes = {"train": n_train, "eval": n_eval, "test": n - n_train - n_eval}
    for name in SPLIT_NAMES:
      if sizes[name] < 1:
        raise _data_error(
            source, f"split {name!r} would be empty: {of} with "
            f"train_fraction={train_fraction}, eval_fraction={eval_fraction} "
            f"gives {sizes['train']} train, {sizes['eval']} eval, "
            f"{sizes['test']} test characters; use a larger corpus (or "
            "max_chars) or other fractions")
  else:
    needed = train_chars + eval_chars + 1
    if n < needed:
      raise _data_error(
          source, f"corpus too short: {of}, but train_chars={train_chars} + "
          f"eval_chars={eval_chars} + at least 1 test character needs "
          f"{needed}; lower train_chars/eval_chars or use train_fraction/"
          "eval_fraction")
    n_train, n_eval = train_chars, eval_chars
  eval_end = n_train + n_eval
  return {"train": (0, text[:n_train]),
          "eval": (n_train, text[n_train:eval_end]),
          "test": (eval_end, text[eval_end:])}


def chunk(split_text: str, start_offset: int,
          chunk_chars: int = DEFAULT_CHUNK_CHARS) -> List[Chunk]:
  """Contiguous ``(chunk_index, start, text)`` pieces of ``split_text``.

  ``start`` is the offset in the corpus (``start_offset`` + offset in the
  split); every chunk has ``chunk_chars`` characters except possibly the last.
  An empty ``split_text`` gives no chunks.
  """
  _check_int("chunk_chars", chunk_chars, MIN_CHUNK_CHARS)
  _check_int("start_offset", start_offset, 0)
  return [(i, start_offset + pos, split_text[pos:pos + chunk_chars])
          for i, pos in enumerate(range(0, len(split_text), chunk_chars))]


def reassemble(chunks: Sequence[Chunk]) -> str:
  """The split's text back from its chunks, in any order (sorted by index)."""
  return "".join(text for _, _, text in sorted(chunks, key=lambda c: c[0]))


# --------------------------------------------------------------------------
# TFRecord output
# --------------------------------------------------------------------------


def to_example(chunk_index: int, start: int, text: str) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      TEXT_FEATURE: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[text.encode("utf-8")])),
      CHUNK_INDEX_FEATURE: tf.train.Feature(int64_list=tf.train.Int64List(
          value=[int(chunk_index)])),
      START_FEATURE: tf.train.Feature(int64_list=tf.train.Int64List(
          value=[int(start)])),
  }))


def _examples(chunks: Sequence[Chunk]) -> List[tf.train.Example]:
  return [to_example(*c) for c in chunks]


def write_split(output_dir: str, chunks: Sequence[Chunk],
                num_shards: int) -> List[str]:
  """Writes ``chunks`` as GZIP TFRecord shards; returns the paths.

  Shard ``i`` holds the ``i``-th contiguous block of chunks (in order), so
  reading the shards in name order gives the chunks in order. Shards beyond
  the number of chunks are written empty (valid, zero records).
  """
  return tfrecords.write_split(output_dir, _examples(chunks), num_shards,
                               contiguous=True)


def write_examples(uri: str, splits: Dict[str, Sequence[Chunk]],
                   num_shards: int = 1) -> Dict[str, List[str]]:
  """Writes every split to ``<uri>/Split-<name>/`` (TFX's Examples layout)."""
  return tfrecords.write_examples(
      uri, {name: _examples(cs) for name, cs in splits.items()}, num_shards,
      contiguous=True)


def corpus_splits(text: str, train_chars: int = DEFAULT_TRAIN_CHARS,
                  eval_chars: int = DEFAULT_EVAL_CHARS, *,
                  train_fraction: Optional[float] = None,
                  eval_fraction: Optional[float] = None, max_chars: int = 0,
                  chunk_chars: int = DEFAULT_CHUNK_CHARS,
                  source: Optional[str] = None) -> Dict[str, List[Chunk]]:
  """``split_by_position`` -> ``chunk`` for every split."""
  splits = split_by_position(text, train_chars, eval_chars,
                             train_fraction=train_fraction,
                             eval_fraction=eval_fraction, max_chars=max_chars,
                             source=source)
  return {name: chunk(split_text, start, chunk_chars)
          for name, (start, split_text) in splits.items()}
