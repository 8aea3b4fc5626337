"""Tests for common/tfrecords.py: shard names, round-robin and contiguous."""

import os

import pytest
import tensorflow as tf

from components.common import tfrecords


def _example(i):
  return tf.train.Example(features=tf.train.Features(feature={
      "i": tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))}))


def _read(path):
  return [tf.train.Example.FromString(r.numpy()).features.feature["i"]
          .int64_list.value[0]
          for r in tf.data.TFRecordDataset([path], compression_type="GZIP")]


def test_shard_name():
  assert tfrecords.shard_name(3, 12) == "data_tfrecord-00003-of-00012.gz"


@pytest.mark.parametrize("contiguous, want", [
    (False, [[0, 3, 6], [1, 4], [2, 5]]),
    (True, [[0, 1], [2, 3], [4, 5, 6]]),
])
def test_write_split(tmp_path, contiguous, want):
  examples = [_example(i) for i in range(7)]
  paths = tfrecords.write_split(str(tmp_path / "s"), examples, 3,
                                contiguous=contiguous)
  assert [os.path.basename(p) for p in paths] == [
      f"data_tfrecord-0000{i}-of-00003.gz" for i in range(3)]
  with open(paths[0], "rb") as f:
    assert f.read(2) == b"\x1f\x8b"  # GZIP magic
  assert [_read(p) for p in paths] == want


def test_write_examples_layout_and_bad_num_shards(tmp_path):
  paths = tfrecords.write_examples(str(tmp_path), {"train": [_example(1)],
                                                   "eval": []}, 2)
  assert list(paths) == ["train", "eval"]
  assert paths["eval"][1] == str(
      tmp_path / "Split-eval" / "data_tfrecord-00001-of-00002.gz")
  assert [_read(p) for p in paths["train"]] == [[1], []]
  for bad in (0, True, 1.5):
    with pytest.raises(ValueError, match="num_shards"):
      tfrecords.write_split(str(tmp_path / "x"), [], bad, contiguous=False)
