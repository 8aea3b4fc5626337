"""GZIP TFRecord shards of ``tf.train.Example``, laid out as TFX expects.

Inside an ``Examples`` artifact every split is a folder ``<uri>/Split-<name>/``
of files ``data_tfrecord-SSSSS-of-NNNNN.gz``: the names TFX's own ExampleGen
writes; the ``.gz`` suffix is what makes readers (Beam's ReadFromTFRecord with
AUTO compression, tfx_bsl's dataset_util) treat the files as GZIP.

No TFX imports here (only TensorFlow).
"""

from __future__ import annotations

import os
from typing import Dict, List, Sequence

import tensorflow as tf

SHARD_PREFIX = "data_tfrecord"
SHARD_SUFFIX = ".gz"


def shard_name(index: int, num_shards: int) -> str:
  """``data_tfrecord-SSSSS-of-NNNNN.gz``."""
  return f"{SHARD_PREFIX}-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def split_dir(uri: str, name: str) -> str:
  """``<uri>/Split-<name>``: where a split lives in an ``Examples`` artifact."""
  return os.path.join(uri, f"Split-{name}")


def check_num_shards(num_shards: int) -> None:
  if (isinstance(num_shards, bool) or int(num_shards) != num_shards
      or num_shards < 1):
    raise ValueError(f"num_shards must be an integer >= 1, got {num_shards!r}")


def write_split(output_dir: str, examples: Sequence[tf.train.Example],
                num_shards: int, *, contiguous: bool) -> List[str]:
  """Writes ``examples`` as ``num_shards`` GZIP TFRecord shards; returns paths.

  ``contiguous=False``: round-robin, example ``i`` goes to shard
  ``i % num_shards``. ``contiguous=True``: shard ``i`` holds the ``i``-th
  contiguous block of examples, so reading the shards in name order gives the
  examples in order. Either way every shard is written, empty ones included
  (valid, zero records).

  Raises:
    ValueError: unless ``num_shards`` is an integer >= 1.
  """
  check_num_shards(num_shards)
  tf.io.gfile.makedirs(output_dir)
  n = len(examples)
  options = tf.io.TFRecordOptions(compression_type="GZIP")
  paths = []
  for i in range(num_shards):
    if contiguous:
      shard = examples[i * n // num_shards:(i + 1) * n // num_shards]
    else:
      shard = examples[i::num_shards]
    path = os.path.join(output_dir, shard_name(i, num_shards))
    with tf.io.TFRecordWriter(path, options=options) as writer:
      for example in shard:
        writer.write(example.SerializeToString())
    paths.append(path)
  return paths


def write_examples(uri: str, splits: Dict[str, Sequence[tf.train.Example]],
                   num_shards: int, *,
                   contiguous: bool = False) -> Dict[str, List[str]]:
  """Writes every split to ``<uri>/Split-<name>/`` (TFX's Examples layout).

  Returns ``{split name: shard paths}``; see ``write_split``.
  """
  return {name: write_split(split_dir(uri, name), examples, num_shards,
                            contiguous=contiguous)
          for name, examples in splits.items()}
