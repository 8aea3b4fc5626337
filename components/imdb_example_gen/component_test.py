"""Tests for ImdbExampleGen (direct calls and LocalDagRunner)."""

import glob
import hashlib
import json
import os
import urllib.request

import pytest

from components.common import testing as testing_lib
import tensorflow as tf
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.util import examples_utils
from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx_bsl.tfxio import dataset_util

from components.common import fetch as fetch_lib
from components.imdb_example_gen import ImdbExampleGen
from components.imdb_example_gen import ReviewDataError
from components.imdb_example_gen import component as component_lib
from components.imdb_example_gen import reviews as rv
from components.imdb_example_gen import testing
from tensorflow_metadata.proto.v0 import statistics_pb2

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "rating": tf.io.FixedLenFeature([], tf.int64),
    "review_id": tf.io.FixedLenFeature([], tf.string),
    "length_bucket": tf.io.FixedLenFeature([], tf.string),
}

_BAD_FILES = {
    "train/pos/900_8.txt": b"",
    "train/neg/901_2.txt": b"\xff\xfe not utf-8",
    "train/pos/902.txt": "no rating",
    "train/neg/903_9.txt": "nine stars in neg",
    "train/pos/1_9.txt": "duplicate of 1_8.txt",
}


def _archive(tmp_path, name="aclImdb_v1.tar.gz", n=300, n_test=20, bad=True):
  files = dict(testing.review_files(n, n))
  if n_test:
    files.update(testing.review_files(n_test, n_test, split_dir="test",
                                      start=5000))
  if bad:
    files.update(_BAD_FILES)  # 5 of 645 files: 0.8% < 1%
  files.update(testing.EXTRA_FILES)
  return testing.write_archive(tmp_path / name, files)


def test_bad_property_names():
  assert [component_lib.bad_property_name(k) for k in rv.BAD_KINDS] == [
      "num_bad_empty_file", "num_bad_not_utf_8", "num_bad_no_rating_in_file_name",
      "num_bad_rating_inconsistent_with_folder", "num_bad_duplicate_review_id"]


@pytest.mark.parametrize("kwargs, name, value", [
    ({"eval_fraction": 0.0}, "eval_fraction", "0.0"),
    ({"eval_fraction": 1.0}, "eval_fraction", "1.0"),
    ({"eval_fraction": -0.2}, "eval_fraction", "-0.2"),
    ({"max_reviews_per_class": -1}, "max_reviews_per_class", "-1"),
    ({"num_shards": 0}, "num_shards", "0"),
    ({"require_rating": 2}, "require_rating", "2"),
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  with pytest.raises(ValueError) as e:
    ImdbExampleGen.test_call(examples=testing_lib.examples_artifact(tmp_path),
                             source=str(tmp_path / "unused"), **kwargs)
  assert f"parameter {name}" in str(e.value) and value in str(e.value)


def test_direct_call_sets_artifact(tmp_path):
  source = _archive(tmp_path)
  examples = testing_lib.examples_artifact(tmp_path / "out")
  ImdbExampleGen.test_call(examples=examples, source=source, num_shards=2)
  assert json.loads(examples.split_names) == ["train", "eval", "test"]
  # What downstream components resolve from the artifact.
  assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
  assert examples_utils.get_file_format(examples) == "tfrecords_gzip"
  sizes = {}
  for split in examples.splits:
    [pattern] = examples_utils.get_split_file_patterns([examples], split)
    assert dataset_util.detect_compression_type([pattern]).numpy() == b"GZIP"
    assert len(glob.glob(pattern)) == 2
    parsed = testing_lib.read_examples(pattern, _SPEC)
    sizes[split] = len(parsed)
    assert examples.get_int_custom_property(f"num_examples_{split}") == len(
        parsed)
    labels = [int(p["label"]) for p in parsed]
    assert 0 < sum(labels) < len(labels)
  assert sizes["test"] == 40
  assert sizes["train"] + sizes["eval"] == 600
  assert 30 <= sizes["eval"] <= 90
  for kind in rv.BAD_KINDS:
    assert examples.get_int_custom_property(
        component_lib.bad_property_name(kind)) == 1


def test_directory_without_test_and_unrated_names(tmp_path):
  files = dict(testing.review_files(40, 40))
  files.update({"train/pos/my_favourite.txt": "Loved it.",
                "train/neg/worst_ever.txt": "Hated it."})
  source = tmp_path / "mine"
  testing.write_tree(source, files)
  examples = testing_lib.examples_artifact(tmp_path / "out")
  ImdbExampleGen.test_call(examples=examples, source=str(source),
                           require_rating=0, eval_fraction=0.25, num_shards=1)
  assert examples.splits == ["train", "eval"]
  parsed = (testing_lib.read_examples(str(tmp_path / "out" / "Split-train" / "*"), _SPEC) +
            testing_lib.read_examples(str(tmp_path / "out" / "Split-eval" / "*"), _SPEC))
  ratings = {p["review_id"].numpy().decode(): int(p["rating"]) for p in parsed}
  assert len(ratings) == 82
  assert ratings["train/pos/my_favourite"] == -1
  assert ratings["train/neg/worst_ever"] == -1
  # With the default require_rating=1 the two files are bad: 2.4% > 1%.
  with pytest.raises(ReviewDataError, match="no rating in file name: 2"):
    ImdbExampleGen.test_call(examples=testing_lib.examples_artifact(tmp_path / "out2"),
                             source=str(source))


def test_local_dag_runner_pipeline(tmp_path):
  archive = _archive(tmp_path)
  digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
  url = "file://" + urllib.request.pathname2url(archive)
  cache = tmp_path / "cache"
  folder = tmp_path / "folder"
  testing.write_tree(folder, testing.review_files(50, 50), prefix="aclImdb")

  from_url = ImdbExampleGen(source=url, cache_dir=str(cache), sha256=digest,
                            max_reviews_per_class=10, num_shards=2,
                            seed=7).with_id("from_url")
  from_dir = ImdbExampleGen(source=str(folder), num_shards=1,
                            eval_fraction=0.2).with_id("from_dir")
  stats = StatisticsGen(examples=from_url.outputs["examples"])
  pipe = testing_lib.pipeline(tmp_path, "imdb", [from_url, from_dir, stats])
  LocalDagRunner().run(pipe)

  # Downloaded once into the cache.
  assert os.listdir(cache) == [
      os.path.basename(fetch_lib.cache_path(url, str(cache)))]
  root = tmp_path / "imdb" / "root"

  def split(component_id, name):
    return testing_lib.read_examples(
        str(root / component_id / "examples" / "*" / f"Split-{name}" / "*"), _SPEC)

  for name in ("train", "eval", "test"):
    parsed = split("from_url", name)
    assert sorted(int(p["label"]) for p in parsed) == [0] * 10 + [1] * 10
  dir_train, dir_eval = split("from_dir", "train"), split("from_dir", "eval")
  assert len(dir_train) + len(dir_eval) == 100
  assert 8 <= len(dir_eval) <= 35
  assert not glob.glob(str(root / "from_dir" / "examples" / "*" /
                           "Split-test"))

  # The artifacts as recorded in MLMD.
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    artifacts = m.store.get_artifacts_by_type("Examples")
  assert len(artifacts) == 2
  by_splits = {a.properties["split_names"].string_value: a for a in artifacts}
  assert sorted(json.loads(s) for s in by_splits) == [
      ["train", "eval"], ["train", "eval", "test"]]
  for a in artifacts:
    props = a.custom_properties
    assert props["payload_format"].string_value == "FORMAT_TF_EXAMPLE"
    assert props["file_format"].string_value == "tfrecords_gzip"
  url_props = by_splits['["train", "eval", "test"]'].custom_properties
  assert url_props["num_examples_test"].int_value == 20
  assert url_props["num_bad_empty_file"].int_value == 1
  assert url_props["num_bad_duplicate_review_id"].int_value == 1
  dir_props = by_splits['["train", "eval"]'].custom_properties
  assert dir_props["num_examples_train"].int_value == len(dir_train)
  assert dir_props["num_bad_not_utf_8"].int_value == 0

  # StatisticsGen read every split and saw the five features.
  for name in ("train", "eval", "test"):
    [stats_file] = glob.glob(str(root / "StatisticsGen" / "statistics" / "*" /
                                 f"Split-{name}" / "FeatureStats.pb"))
    stats_list = statistics_pb2.DatasetFeatureStatisticsList()
    stats_list.ParseFromString(open(stats_file, "rb").read())
    dataset = stats_list.datasets[0]
    assert dataset.num_examples == 20
    features = {f.path.step[0] for f in dataset.features}
    assert features == {"text", "label", "rating", "review_id",
                        "length_bucket"}


def test_local_dag_runner_data_error_fails_the_run(tmp_path):
  folder = tmp_path / "half"
  testing.write_tree(folder, testing.review_files(20, 0), prefix="aclImdb")
  gen = ImdbExampleGen(source=str(folder))
  with pytest.raises(ReviewDataError) as e:
    LocalDagRunner().run(testing_lib.pipeline(tmp_path, "bad", [gen]))
  assert str(folder) in str(e.value)
  assert "no train/neg folder" in str(e.value)
  assert not glob.glob(str(tmp_path / "bad" / "root" / "ImdbExampleGen" /
                           "examples" / "*" / "Split-*" / "*"))
